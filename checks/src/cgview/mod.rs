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
    preflight_text().map(|t| t.en)
}

/// [`preflight`], its line in both languages.
pub fn preflight_text() -> Result<crate::text::Text, String> {
    // Checked first: in a user namespace the cgroup files may still be writable (root
    // mapped to root), and the checks would then fail for the checker's own lack of
    // privilege, not the runtime's.
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_default();
    let why = unprivileged_reasons(
        &read("/proc/self/status"),
        &read("/proc/self/uid_map"),
        &read("/proc/self/mountinfo"),
    );
    if !why.is_empty() {
        return Err(unprivileged_ways_on(&why));
    }
    Tree::detect()?;
    let line = match Tree::anchor() {
        Some(a) => a.describe_text(),
        None => crate::t!(
            "cgroup parent: nested under the checker's own cgroup of each v1 hierarchy",
            "검사기의 cgroup 부모: v1 계층마다 검사기 자신의 cgroup 아래"
        ),
    };
    let rel = format!("lab-preflight-{}", std::process::id());
    let p = ScratchParent::create(&rel).map_err(|e| format!("{e} ({})", line.en))?;
    p.remove()
        .map_err(|e| format!("removing the checker's trial cgroup: {e}"))?;
    Ok(line)
}

/// What makes this process an unprivileged container's, from /proc/self/status,
/// /proc/self/uid_map and /proc/self/mountinfo: no CAP_SYS_ADMIN, a user namespace
/// (root mapped from another uid), cgroupfs mounted read-only. Empty: none of them.
pub fn unprivileged_reasons(status: &str, uid_map: &str, mountinfo: &str) -> Vec<String> {
    let mut why = Vec::new();
    if labkit::caps::cap_eff(status).is_some_and(|c| c & labkit::caps::CAP_SYS_ADMIN == 0) {
        why.push("no CAP_SYS_ADMIN".to_string());
    }
    let map: Vec<&str> = uid_map.split_whitespace().collect();
    if !map.is_empty() && map != ["0", "0", "4294967295"] {
        why.push(format!("a user namespace (uid_map {})", map.join(" ")));
    }
    let ro = labkit::mountinfo::parse_mountinfo(mountinfo)
        .into_iter()
        .any(|m| m.fstype.starts_with("cgroup") && m.options.iter().any(|o| o == "ro"));
    if ro {
        why.push("the cgroup file system mounted read-only".to_string());
    }
    why
}

/// The two ways on for an unprivileged container, with what showed it.
pub fn unprivileged_ways_on(why: &[String]) -> String {
    format!(
        "This looks like an unprivileged container ({}): run it with `docker run --privileged` (on cgroup v2 \
         with `--cgroupns=private`), or, with no privileges at all, in a VM of its own: `make check-vm` \
         (`harness vm`)",
        why.join(", ")
    )
}

#[cfg(test)]
mod unprivileged_tests {
    use super::*;

    const ROOT_MAP: &str = "         0          0 4294967295\n";
    const RW: &str =
        "35 27 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids\n";
    const RO: &str = "35 27 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw\n";

    #[test]
    fn a_privileged_host_shows_nothing() {
        let status = "Name:\tlabcheck\nCapEff:\t000001ffffffffff\n";
        assert!(unprivileged_reasons(status, ROOT_MAP, RW).is_empty());
    }

    #[test]
    fn an_unprivileged_container_names_what_showed_it_and_the_ways_on() {
        // Docker's default set: no CAP_SYS_ADMIN (bit 21).
        let status = "CapEff:\t00000000a80425fb\n";
        let why = unprivileged_reasons(status, ROOT_MAP, RO);
        assert_eq!(why, ["no CAP_SYS_ADMIN", "the cgroup file system mounted read-only"]);
        let userns = unprivileged_reasons("CapEff:\t000001ffffffffff\n", "0 1000 1\n", RW);
        assert_eq!(userns, ["a user namespace (uid_map 0 1000 1)"]);
        let s = unprivileged_ways_on(&why);
        assert!(s.contains("--privileged") && s.contains("make check-vm"), "{s}");
    }
}
