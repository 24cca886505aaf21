//! v1 pids: `pids.max`, `pids.current`.

use std::path::Path;

use crate::cgroups::common::{read_limit_optional, read_u64_optional, write_file};
use crate::cgroups::{CgroupError, Controller, Limits, Stats};

pub(crate) struct Pids;

/// Shared with v2, whose files have the same names and meaning. 0 is written
/// as is: the kernel takes it (no fork at all); runc and youki write 1 only
/// because systemd cannot express 0, and this runtime does not go through systemd.
pub(crate) fn apply_pids_max(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
    match limits.pids {
        Some(n) => write_file(&path.join("pids.max"), &n.to_string()),
        None => Ok(()),
    }
}

pub(crate) fn pids_current(path: &Path, stats: &mut Stats) -> Result<(), CgroupError> {
    stats.pids_current = read_u64_optional(&path.join("pids.current"))?;
    stats.pids_max = read_limit_optional(&path.join("pids.max"))?;
    Ok(())
}

impl Controller for Pids {
    const NAME: &'static str = "pids";

    fn needed(limits: &Limits) -> bool {
        limits.pids.is_some()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        apply_pids_max(path, limits)
    }

    fn stats(path: &Path, stats: &mut Stats) -> Result<(), CgroupError> {
        pids_current(path, stats)
    }
}
