//! v1 cpu: CFS bandwidth in `cpu.cfs_period_us` and `cpu.cfs_quota_us`, the
//! weight in `cpu.shares`; throttling counters from `cpu.stat`.

use std::path::Path;

use crate::cgroups::common::{read_keyed, read_optional, write_file};
use crate::cgroups::{cpu_weight_to_shares, CgroupError, Controller, Limits, Stats};
use crate::fault::{self, Fault};

pub(crate) struct Cpu;

impl Controller for Cpu {
    const NAME: &'static str = "cpu";

    fn needed(limits: &Limits) -> bool {
        limits.cpu.is_some() || limits.cpu_weight.is_some()
    }

    /// The kernel checks each write against the other file's current value
    /// (and v1 refuses a quota/period ratio above the parent's or below a
    /// child's). With the quota unlimited (-1, as in a new cgroup) any period
    /// is valid, so: quota to -1 if it is not already, then period, then quota.
    /// No intermediate pair is ever invalid; an existing limit is lifted only
    /// between two writes.
    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        if let Some(w) = limits.cpu_weight.filter(|_| !fault::active(Fault::CpuWeightIgnored)) {
            write_file(&path.join("cpu.shares"), &cpu_weight_to_shares(w).to_string())?;
        }
        let Some(cpu) = limits.cpu else {
            return Ok(());
        };
        let quota = path.join("cpu.cfs_quota_us");
        let period = path.join("cpu.cfs_period_us");
        let current = read_optional(&quota)?.unwrap_or_default();
        if current.trim() != "-1" {
            write_file(&quota, "-1")?;
        }
        write_file(&period, &cpu.period_us.to_string())?;
        write_file(&quota, &cpu.quota_us.to_string())
    }

    fn stats(path: &Path, stats: &mut Stats) -> Result<(), CgroupError> {
        let stat = path.join("cpu.stat");
        stats.cpu_nr_periods = read_keyed(&stat, "nr_periods")?;
        stats.cpu_nr_throttled = read_keyed(&stat, "nr_throttled")?;
        stats.cpu_throttled_usec = read_keyed(&stat, "throttled_time")?.map(|ns| ns / 1000);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::CpuMax;
    use std::fs;

    #[test]
    fn fresh_cgroup_period_then_quota() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("cpu.cfs_quota_us"), "-1\n").unwrap();
        fs::write(d.path().join("cpu.cfs_period_us"), "100000\n").unwrap();
        let l = Limits {
            cpu: Some(CpuMax {
                quota_us: 20000,
                period_us: 50000,
            }),
            ..Default::default()
        };
        Cpu::apply(d.path(), &l).unwrap();
        assert_eq!(fs::read_to_string(d.path().join("cpu.cfs_quota_us")).unwrap(), "20000");
        assert_eq!(fs::read_to_string(d.path().join("cpu.cfs_period_us")).unwrap(), "50000");
    }

    #[test]
    fn an_existing_quota_is_lifted_before_the_period_changes() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("cpu.cfs_quota_us"), "5000\n").unwrap();
        // Without a period file the period write fails: the quota was
        // already set to -1 by then.
        let l = Limits {
            cpu: Some(CpuMax {
                quota_us: 20000,
                period_us: 50000,
            }),
            ..Default::default()
        };
        let e = Cpu::apply(d.path(), &l).unwrap_err().to_string();
        assert!(
            e.contains("failed to write 50000 to") && e.contains("cpu.cfs_period_us"),
            "{e}"
        );
        assert_eq!(fs::read_to_string(d.path().join("cpu.cfs_quota_us")).unwrap(), "-1");
    }

    #[test]
    fn weight_is_written_as_shares() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("cpu.shares"), "1024\n").unwrap();
        let l = Limits {
            cpu_weight: Some(500),
            ..Default::default()
        };
        assert!(Cpu::needed(&l));
        Cpu::apply(d.path(), &l).unwrap();
        assert_eq!(fs::read_to_string(d.path().join("cpu.shares")).unwrap(), "5120");
        assert!(!d.path().join("cpu.cfs_quota_us").exists());
    }

    #[test]
    fn stats_convert_ns() {
        let d = tempfile::tempdir().unwrap();
        fs::write(
            d.path().join("cpu.stat"),
            "nr_periods 10\nnr_throttled 4\nthrottled_time 2500000\nnr_bursts 0\nburst_time 0\n",
        )
        .unwrap();
        let mut s = Stats::default();
        Cpu::stats(d.path(), &mut s).unwrap();
        assert_eq!(
            (s.cpu_nr_periods, s.cpu_nr_throttled, s.cpu_throttled_usec),
            (Some(10), Some(4), Some(2500))
        );
    }
}
