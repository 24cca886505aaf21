//! v1 blkio: one `MAJ:MIN BPS` rule per write to
//! `blkio.throttle.write_bps_device` / `read_bps_device`.

use std::path::Path;

use crate::cgroups::common::{append_line, io_bytes, read_optional, write_bfq_weight};
use crate::cgroups::{CgroupError, Controller, IoLimit, Limits, Stats};
use crate::fault::{self, Fault};

pub(crate) struct Blkio;

fn rules(file: &Path, limits: &[IoLimit]) -> Result<(), CgroupError> {
    for l in limits {
        append_line(file, &format!("{}:{} {}", l.major, l.minor, l.bps))?;
    }
    Ok(())
}

impl Controller for Blkio {
    const NAME: &'static str = "blkio";

    fn needed(limits: &Limits) -> bool {
        !limits.io_wbps.is_empty() || !limits.io_rbps.is_empty() || limits.io_weight.is_some()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        if let Some(w) = limits.io_weight {
            if !fault::active(Fault::IoWeightIgnored) {
                write_bfq_weight(path, "blkio.bfq.weight", w)?;
            }
        }
        rules(&path.join("blkio.throttle.write_bps_device"), &limits.io_wbps)?;
        rules(&path.join("blkio.throttle.read_bps_device"), &limits.io_rbps)
    }

    /// The throttle layer's byte counts, the one v1 count every scheduler has; it
    /// counts only I/O to devices that have a throttle rule in the cgroup.
    fn stats(path: &Path, stats: &mut Stats) -> Result<(), CgroupError> {
        if let Some(text) = read_optional(&path.join("blkio.throttle.io_service_bytes_recursive"))? {
            let (r, w) = io_bytes(&text);
            stats.io_read_bytes = Some(r);
            stats.io_write_bytes = Some(w);
        }
        Ok(())
    }
}
