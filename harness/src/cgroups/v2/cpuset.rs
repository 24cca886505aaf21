//! v2 cpuset: `cpuset.cpus`. An empty `cpuset.mems` means "the parent's" on
//! v2; it is still filled from the parent's `cpuset.mems.effective` so the
//! cgroup reads the same on every host.

use std::path::Path;

use crate::cgroups::common::{read_file, read_optional, write_file};
use crate::cgroups::{CgroupError, Controller, Limits};

pub(crate) struct Cpuset;

impl Controller for Cpuset {
    const NAME: &'static str = "cpuset";

    fn needed(limits: &Limits) -> bool {
        limits.cpuset.is_some()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        let Some(cpus) = &limits.cpuset else {
            return Ok(());
        };
        write_file(&path.join("cpuset.cpus"), cpus)?;
        let mems = path.join("cpuset.mems");
        if mems.exists() && read_file(&mems)?.trim().is_empty() {
            let parent = path.parent().unwrap_or(path).join("cpuset.mems.effective");
            if let Some(p) = read_optional(&parent)? {
                let p = p.trim();
                if !p.is_empty() {
                    write_file(&mems, p)?;
                }
            }
        }
        Ok(())
    }
}
