//! The leak audit: what of the host a checker could leave behind, taken before and
//! after a run; the difference must be empty.
//!
//! Seen from the host (this process's main thread, never a check's namespace):
//! the mount table; every cgroup hierarchy (v1 and v2) from the caller's own
//! cgroup down, and /proc/cgroups (an unmounted v1 hierarchy that lives on shows
//! only there); network namespaces (/run/netns and those processes hold);
//! network interfaces; loop devices; nftables tables; scratch directories
//! (`lab-*` in the temporary directory); checker state files; and processes that
//! are the checker's doing: in another PID namespace, in a `lab-check-` cgroup, or
//! running a file of this workspace (other processes of the machine come and go
//! on their own and are not counted).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub mounts: BTreeSet<String>,
    pub cgroups: BTreeSet<String>,
    pub hierarchies: BTreeSet<String>,
    pub netns: BTreeSet<String>,
    pub links: BTreeSet<String>,
    pub loops: BTreeSet<String>,
    pub nft: BTreeSet<String>,
    pub scratch: BTreeSet<String>,
    pub state_files: BTreeSet<String>,
    pub processes: BTreeSet<String>,
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn names(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every directory at and below `dir`.
fn walk(dir: &Path, out: &mut BTreeSet<String>) {
    out.insert(dir.display().to_string());
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&e.path(), out);
            }
        }
    }
}

/// The caller's own cgroup in every cgroup hierarchy.
fn own_cgroups() -> Vec<PathBuf> {
    crate::cgview::mounted_hierarchies(&read("/proc/self/mountinfo"), &read("/proc/self/cgroup"))
        .into_iter()
        .filter_map(|h| h.own)
        .collect()
}

fn ours(pid: &str, my_pidns: &str, workspace: &str) -> bool {
    let pidns = std::fs::read_link(format!("/proc/{pid}/ns/pid"))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let cmdline = read(format!("/proc/{pid}/cmdline")).replace('\0', " ");
    if cmdline.is_empty() {
        return false; // a kernel thread
    }
    (!pidns.is_empty() && pidns != my_pidns)
        || read(format!("/proc/{pid}/cgroup")).contains("lab-check-")
        || cmdline.contains(workspace)
}

impl Snapshot {
    pub fn take() -> Snapshot {
        let me = std::process::id().to_string();
        let mut s = Snapshot::default();
        for m in labkit::mountinfo::parse_mountinfo(&read("/proc/self/mountinfo")) {
            s.mounts.insert(format!("{} {} {}", m.mount_point, m.fstype, m.source));
        }
        for own in own_cgroups() {
            walk(&own, &mut s.cgroups);
        }
        // Hierarchy id and cgroup count of unmounted controllers (mounted ones are walked).
        for l in read("/proc/cgroups").lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() >= 3 && !s.cgroups.iter().any(|c| c.contains(&format!("/{}", f[0]))) {
                s.hierarchies
                    .insert(format!("{} hierarchy {} cgroups {}", f[0], f[1], f[2]));
            }
        }
        s.netns = names("/run/netns")
            .into_iter()
            .map(|n| format!("/run/netns/{n}"))
            .collect();
        let my_pidns = std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let workspace = env!("CARGO_MANIFEST_DIR").trim_end_matches("/checks").to_string();
        for pid in names("/proc")
            .into_iter()
            .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        {
            if pid == me {
                continue;
            }
            if let Ok(ns) = std::fs::read_link(format!("/proc/{pid}/ns/net")) {
                s.netns.insert(ns.display().to_string());
            }
            if ours(&pid, &my_pidns, &workspace) {
                let cmd = read(format!("/proc/{pid}/cmdline")).replace('\0', " ");
                s.processes.insert(format!("{pid} {}", cmd.trim()));
            }
        }
        s.links = names("/sys/class/net");
        for dev in names("/sys/block").into_iter().filter(|n| n.starts_with("loop")) {
            let b = read(format!("/sys/block/{dev}/loop/backing_file"));
            if !b.trim().is_empty() {
                s.loops.insert(format!("{dev} {}", b.trim()));
            }
        }
        if let Ok(o) = std::process::Command::new("nft").args(["list", "tables"]).output() {
            s.nft = String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect();
        }
        s.scratch = names(&std::env::temp_dir().to_string_lossy())
            .into_iter()
            .filter(|n| n.starts_with("lab-"))
            .collect();
        s.state_files = names(&labkit::state::state_dir().to_string_lossy());
        s
    }

    /// What `after` has that `self` had not, and what it lost, one line each.
    pub fn diff(&self, after: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        let parts: [(&str, &BTreeSet<String>, &BTreeSet<String>); 10] = [
            ("mount", &self.mounts, &after.mounts),
            ("cgroup", &self.cgroups, &after.cgroups),
            ("cgroup hierarchy", &self.hierarchies, &after.hierarchies),
            ("network namespace", &self.netns, &after.netns),
            ("network interface", &self.links, &after.links),
            ("loop device", &self.loops, &after.loops),
            ("nftables", &self.nft, &after.nft),
            ("scratch directory", &self.scratch, &after.scratch),
            ("state file", &self.state_files, &after.state_files),
            ("process", &self.processes, &after.processes),
        ];
        for (what, a, b) in parts {
            out.extend(b.difference(a).map(|x| format!("+ {what}: {x}")));
            out.extend(a.difference(b).map(|x| format!("- {what}: {x}")));
        }
        out
    }

    /// Takes snapshots until none differs from `self` or `settle` has passed (a
    /// killed process takes a moment to go, and its namespaces with it); returns the
    /// last difference.
    pub fn diff_settled(&self, settle: Duration) -> Vec<String> {
        let deadline = Instant::now() + settle;
        loop {
            let d = self.diff(&Snapshot::take());
            if d.is_empty() || Instant::now() > deadline {
                return d;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_names_what_came_and_went() {
        let a = Snapshot {
            mounts: ["/a tmpfs x".to_string()].into(),
            ..Default::default()
        };
        let b = Snapshot {
            mounts: ["/b tmpfs x".to_string()].into(),
            loops: ["loop3 /tmp/f".to_string()].into(),
            ..Default::default()
        };
        assert_eq!(
            a.diff(&b),
            vec![
                "+ mount: /b tmpfs x",
                "- mount: /a tmpfs x",
                "+ loop device: loop3 /tmp/f"
            ]
        );
        assert!(b.diff(&b).is_empty());
    }

    #[test]
    fn two_snapshots_in_a_row_agree() {
        // Nothing happens in between: the audit itself must not see noise.
        let a = Snapshot::take();
        assert!(!a.mounts.is_empty() && !a.links.is_empty(), "{a:?}");
        assert_eq!(a.diff_settled(Duration::from_secs(5)), Vec::<String>::new());
    }
}
