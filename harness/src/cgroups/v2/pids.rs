//! v2 pids: the same files as v1.

use std::path::Path;

use crate::cgroups::v1::{apply_pids_max, pids_current};
use crate::cgroups::{CgroupError, Controller, Limits, Stats};

pub(crate) struct Pids;

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
