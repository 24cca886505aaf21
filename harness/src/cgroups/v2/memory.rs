//! v2 memory: `memory.max`, swap off with `memory.swap.max`; usage from
//! `memory.current`, `memory.peak` (5.19+) and `memory.events` oom_kill.

use std::path::Path;

use crate::cgroups::common::{read_keyed, read_limit_optional, read_u64_optional, write_file};
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
            if !fault::active(Fault::MemoryLowIgnored) {
                write_file(&path.join("memory.low"), &low.to_string())?;
            }
        }
        if fault::active(Fault::MemoryNotWritten) {
            return Ok(());
        }
        let Some(bytes) = limits.memory else {
            return Ok(());
        };
        write_file(&path.join("memory.max"), &bytes.to_string())?;
        // Absent without swap accounting (CONFIG_SWAP off or swapaccount=0).
        let swap = path.join("memory.swap.max");
        if swap.exists() && !fault::active(Fault::SwapAllowed) {
            write_file(&swap, "0")?;
        }
        Ok(())
    }

    fn stats(path: &Path, stats: &mut Stats) -> Result<(), CgroupError> {
        stats.memory_current_bytes = read_u64_optional(&path.join("memory.current"))?;
        stats.memory_peak_bytes = read_u64_optional(&path.join("memory.peak"))?;
        stats.memory_max_bytes = read_limit_optional(&path.join("memory.max"))?;
        // `oom_kill`, not `oom`: `oom` counts reaching the limit, not kills.
        stats.oom_kills = read_keyed(&path.join("memory.events"), "oom_kill")?;
        Ok(())
    }
}
