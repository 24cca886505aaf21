//! v1 cpuset. A new v1 cpuset cgroup starts with empty `cpuset.cpus` and
//! `cpuset.mems` and refuses tasks until both are set, so the parent's values
//! are copied in first; then `--cpuset` narrows `cpuset.cpus`.

use std::path::Path;

use crate::cgroups::common::{read_file, write_file};
use crate::cgroups::{CgroupError, Controller, Limits};

pub(crate) struct Cpuset;

impl Controller for Cpuset {
    const NAME: &'static str = "cpuset";

    fn needed(limits: &Limits) -> bool {
        limits.cpuset.is_some()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        let parent = path.parent().unwrap_or(path);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let ours = path.join(file);
            if !read_file(&ours)?.trim().is_empty() {
                continue; // cgroup.clone_children already copied it
            }
            let from = parent.join(file);
            let value = read_file(&from)?;
            let value = value.trim();
            if value.is_empty() {
                return Err(CgroupError::Setup(format!(
                    "cannot set up cpuset {}: the parent's {} is empty",
                    path.display(),
                    from.display()
                )));
            }
            write_file(&ours, value)?;
        }
        if let Some(cpus) = &limits.cpuset {
            write_file(&path.join("cpuset.cpus"), cpus)?;
        }
        Ok(())
    }
}
