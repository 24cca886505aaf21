//! v1 memory: `memory.limit_in_bytes`, swap off through
//! `memory.memsw.limit_in_bytes` and `memory.swappiness`.

use std::path::Path;

use crate::cgroups::common::{read_keyed, read_limit_optional, read_optional, read_u64_optional, write_file};
use crate::cgroups::{CgroupError, Controller, Limits, Stats};
use crate::fault::{self, Fault};

pub(crate) struct Memory;

impl Controller for Memory {
    const NAME: &'static str = "memory";

    fn needed(limits: &Limits) -> bool {
        limits.memory.is_some() || limits.memory_low.is_some()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        if let Some(low) = limits.memory_low {
            // v1 has no protection from reclaim: the soft limit is what runc writes for
            // the same request (OCI memory.reservation), a level that global reclaim
            // pushes the cgroup back down to first — the opposite direction.
            if !fault::active(Fault::MemoryLowIgnored) {
                write_file(&path.join("memory.soft_limit_in_bytes"), &low.to_string())?;
            }
        }
        if fault::active(Fault::MemoryNotWritten) {
            return Ok(());
        }
        let Some(bytes) = limits.memory else {
            return Ok(());
        };
        let value = bytes.to_string();
        let limit = path.join("memory.limit_in_bytes");
        let memsw = path.join("memory.memsw.limit_in_bytes");
        // memsw (memory+swap) must never be below the memory limit, so when
        // the new value is above the current memsw, raise memsw first;
        // otherwise (a fresh cgroup: memsw is unlimited) lower the memory
        // limit first. The file is absent when swap accounting is off.
        match read_optional(&memsw)?.filter(|_| !fault::active(Fault::SwapAllowed)) {
            Some(current) => {
                let current = current.trim().parse::<u64>().unwrap_or(u64::MAX);
                if bytes > current {
                    write_file(&memsw, &value)?;
                    write_file(&limit, &value)?;
                } else {
                    write_file(&limit, &value)?;
                    write_file(&memsw, &value)?;
                }
            }
            None => write_file(&limit, &value)?,
        }
        // Kernels before 4.x refused swappiness with EINVAL on a cgroup whose
        // parent used hierarchical accounting; current ones (memcontrol-v1
        // mem_cgroup_swappiness_write) take any value up to 200 on any cgroup.
        // EINVAL is ignored for those old kernels: memsw above already keeps
        // the workload from swapping where swap accounting is on.
        let swappiness = path.join("memory.swappiness");
        if swappiness.exists() {
            match write_file(&swappiness, "0") {
                Err(CgroupError::Write { source, .. }) if source.raw_os_error() == Some(libc::EINVAL) => {}
                r => r?,
            }
        }
        Ok(())
    }

    fn stats(path: &Path, stats: &mut Stats) -> Result<(), CgroupError> {
        stats.memory_current_bytes = read_u64_optional(&path.join("memory.usage_in_bytes"))?;
        stats.memory_peak_bytes = read_u64_optional(&path.join("memory.max_usage_in_bytes"))?;
        stats.memory_max_bytes = read_limit_optional(&path.join("memory.limit_in_bytes"))?;
        // Not hierarchical on v1: kills in descendant cgroups are not counted.
        stats.oom_kills = read_keyed(&path.join("memory.oom_control"), "oom_kill")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn dir(memsw: Option<&str>) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("memory.limit_in_bytes"), "9223372036854771712").unwrap();
        fs::write(d.path().join("memory.swappiness"), "60").unwrap();
        if let Some(m) = memsw {
            fs::write(d.path().join("memory.memsw.limit_in_bytes"), m).unwrap();
        }
        d
    }

    fn limits(bytes: u64) -> Limits {
        Limits {
            memory: Some(bytes),
            ..Default::default()
        }
    }

    #[test]
    fn limit_memsw_and_swappiness() {
        let d = dir(Some("9223372036854771712\n"));
        Memory::apply(d.path(), &limits(64 << 20)).unwrap();
        let r = |f: &str| fs::read_to_string(d.path().join(f)).unwrap();
        assert_eq!(r("memory.limit_in_bytes"), "67108864");
        assert_eq!(r("memory.memsw.limit_in_bytes"), "67108864");
        assert_eq!(r("memory.swappiness"), "0");
    }

    #[test]
    fn without_swap_accounting_only_the_limit() {
        let d = dir(None);
        Memory::apply(d.path(), &limits(1 << 20)).unwrap();
        assert_eq!(
            fs::read_to_string(d.path().join("memory.limit_in_bytes")).unwrap(),
            "1048576"
        );
        assert!(!d.path().join("memory.memsw.limit_in_bytes").exists());
    }

    /// Raising above the current memsw writes memsw first: make the limit
    /// file unwritable to see which one was attempted first.
    #[test]
    fn raising_writes_memsw_first() {
        let d = dir(Some("1048576"));
        fs::remove_file(d.path().join("memory.limit_in_bytes")).unwrap();
        let e = Memory::apply(d.path(), &limits(2 << 20)).unwrap_err();
        assert!(e.to_string().contains("memory.limit_in_bytes"), "{e}");
        assert_eq!(
            fs::read_to_string(d.path().join("memory.memsw.limit_in_bytes")).unwrap(),
            "2097152"
        );
        // Lowering touches the limit first, so memsw stays as it was.
        let d = dir(Some("4194304"));
        fs::remove_file(d.path().join("memory.limit_in_bytes")).unwrap();
        assert!(Memory::apply(d.path(), &limits(2 << 20)).is_err());
        assert_eq!(
            fs::read_to_string(d.path().join("memory.memsw.limit_in_bytes")).unwrap(),
            "4194304"
        );
    }

    #[test]
    fn nothing_without_a_limit() {
        let d = dir(Some("9223372036854771712"));
        Memory::apply(d.path(), &Limits::default()).unwrap();
        assert_eq!(fs::read_to_string(d.path().join("memory.swappiness")).unwrap(), "60");
    }
}
