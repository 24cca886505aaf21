//! v1 cpuacct: total CPU time in `cpuacct.usage` (nanoseconds).

use std::path::Path;

use crate::cgroups::common::read_u64_optional;
use crate::cgroups::{CgroupError, Controller, Limits, Stats};

pub(crate) struct CpuAcct;

impl Controller for CpuAcct {
    const NAME: &'static str = "cpuacct";

    fn needed(_limits: &Limits) -> bool {
        false
    }

    fn apply(_path: &Path, _limits: &Limits) -> Result<(), CgroupError> {
        Ok(())
    }

    fn stats(path: &Path, stats: &mut Stats) -> Result<(), CgroupError> {
        stats.cpu_usage_usec = read_u64_optional(&path.join("cpuacct.usage"))?.map(|ns| ns / 1000);
        Ok(())
    }
}
