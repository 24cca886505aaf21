//! `harness doctor --json`'s output: one finding per piece of the host the suite
//! needs, read back by the grader to say what a host lacks.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Finding {
    /// Short stable key, e.g. `root`, `ns.time`, `cgroup.memory`, `overlay`.
    pub key: String,
    pub ok: bool,
    /// What was seen, or what is missing and what that costs.
    pub detail: String,
}

/// Keys a host must have for the core of the suite; others only cost the checks that use them.
pub fn essential(key: &str) -> bool {
    matches!(
        key,
        "root" | "capabilities" | "ns.pid" | "ns.uts" | "ns.mnt" | "overlay" | "cgroup.version"
    )
}
