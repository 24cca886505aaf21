//! The checker's own view of the cgroup tree, independent of any runtime's code.
//!
//! Checks read cgroup v2 names (`memory.current`, `memory.events:oom_kill`,
//! `cpu.stat:nr_throttled`, ...); on a v1 host each is aliased to its v1 file, as
//! LTP's tst_cgroup does. The checker owns a scratch parent cgroup (nested under
//! its own cgroup of every hierarchy), passes it to the runtime as
//! `LAB_CGROUP_PARENT`, and removes it with anything left inside.
//!
//! `tree.rs` finds the hierarchies and the checker's own cgroup in them, `anchor.rs`
//! where on cgroup v2 the checker's cgroups are made, `parent.rs` the scratch parent
//! (its guards, its files read by v2 names), `misplaced.rs` cgroups a runtime made
//! outside it.

mod anchor;
mod misplaced;
mod parent;
mod tree;

pub use anchor::{enter_delegated_scope, Anchor};
pub use misplaced::{
    misplaced_candidates, misplaced_cgroups, misplaced_search_dirs, mounted_hierarchies, MisplacedWatch,
    MountedHierarchy,
};
pub use parent::{cpu_guard_quota, ScratchParent, CPU_GUARD_PERIOD, MEMORY_GUARD, PIDS_GUARD, RUNTIME_LEAF};
pub use tree::{Tree, Version};

/// Before any check: the checker's cgroups can be made here with their guards (a
/// throw-away parent is made and removed). Ok: the line that says where and why;
/// Err: why the host cannot be graded (an environment problem, exit 2).
pub fn preflight() -> Result<String, String> {
    Tree::detect()?;
    let line = match Tree::anchor() {
        Some(a) => a.describe(),
        None => "cgroup parent: nested under the checker's own cgroup of each v1 hierarchy".to_string(),
    };
    let rel = format!("lab-preflight-{}", std::process::id());
    let p = ScratchParent::create(&rel).map_err(|e| format!("{e} ({line})"))?;
    p.remove()
        .map_err(|e| format!("removing the checker's trial cgroup: {e}"))?;
    Ok(line)
}
