//! v2 cpu: `cpu.max` takes "QUOTA PERIOD" in one write (a single number would
//! set the quota only), `cpu.weight` the share; `cpu.stat` has usage and throttling.

use std::path::Path;

use crate::cgroups::common::{read_keyed, write_file};
use crate::cgroups::{CgroupError, Controller, Limits, Stats};
use crate::fault::{self, Fault};

pub(crate) struct Cpu;

impl Controller for Cpu {
    const NAME: &'static str = "cpu";

    fn needed(limits: &Limits) -> bool {
        limits.cpu.is_some() || limits.cpu_weight.is_some()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        if let Some(w) = limits.cpu_weight.filter(|_| !fault::active(Fault::CpuWeightIgnored)) {
            write_file(&path.join("cpu.weight"), &w.to_string())?;
        }
        match limits.cpu {
            Some(c) => write_file(&path.join("cpu.max"), &format!("{} {}", c.quota_us, c.period_us)),
            None => Ok(()),
        }
    }

    /// `cpu.stat` exists in every cgroup (usage); the throttling keys only
    /// where the cpu controller is enabled.
    fn stats(path: &Path, stats: &mut Stats) -> Result<(), CgroupError> {
        let stat = path.join("cpu.stat");
        stats.cpu_usage_usec = read_keyed(&stat, "usage_usec")?;
        stats.cpu_nr_periods = read_keyed(&stat, "nr_periods")?;
        stats.cpu_nr_throttled = read_keyed(&stat, "nr_throttled")?;
        stats.cpu_throttled_usec = read_keyed(&stat, "throttled_usec")?;
        Ok(())
    }
}
