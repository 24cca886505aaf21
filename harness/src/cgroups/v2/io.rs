//! v2 io: one `io.max` line per device, read and write limits merged
//! (`MAJ:MIN rbps=N wbps=N`); the kernel takes one device per write.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cgroups::common::{append_line, io_bytes, read_optional, write_bfq_weight};
use crate::cgroups::{CgroupError, Controller, Limits, Stats};
use crate::fault::{self, Fault};

pub(crate) struct Io;

/// The `io.max` lines for `limits`, one per device, in device order. A
/// device named twice for the same direction keeps the last value.
pub(crate) fn io_max_lines(limits: &Limits) -> Vec<String> {
    let mut devs: BTreeMap<(u32, u32), (Option<u64>, Option<u64>)> = BTreeMap::new();
    for l in &limits.io_rbps {
        devs.entry((l.major, l.minor)).or_default().0 = Some(l.bps);
    }
    for l in &limits.io_wbps {
        devs.entry((l.major, l.minor)).or_default().1 = Some(l.bps);
    }
    devs.into_iter()
        .map(|((maj, min), (r, w))| {
            let mut line = format!("{maj}:{min}");
            if let Some(r) = r {
                line.push_str(&format!(" rbps={r}"));
            }
            if let Some(w) = w {
                line.push_str(&format!(" wbps={w}"));
            }
            line
        })
        .collect()
}

impl Controller for Io {
    const NAME: &'static str = "io";

    fn needed(limits: &Limits) -> bool {
        !limits.io_wbps.is_empty() || !limits.io_rbps.is_empty() || limits.io_weight.is_some()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        if let Some(w) = limits.io_weight {
            if !fault::active(Fault::IoWeightIgnored) {
                write_bfq_weight(path, "io.bfq.weight", w)?;
            }
        }
        let file = path.join("io.max");
        for line in io_max_lines(limits) {
            append_line(&file, &line)?;
        }
        Ok(())
    }

    /// `io.stat`, there when the io controller is enabled for the cgroup.
    fn stats(path: &Path, stats: &mut Stats) -> Result<(), CgroupError> {
        if let Some(text) = read_optional(&path.join("io.stat"))? {
            let (r, w) = io_bytes(&text);
            stats.io_read_bytes = Some(r);
            stats.io_write_bytes = Some(w);
        }
        Ok(())
    }
}
