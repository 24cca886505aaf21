//! The scratch parent cgroup the checker makes for a check: its guards, the files a
//! runtime joins it by, and its cgroups' files read by their v2 names.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Tree, Version};

/// A scratch parent cgroup the checker made; containers' cgroups appear inside.
#[derive(Debug, Clone)]
pub struct ScratchParent {
    pub tree: Tree,
    /// Name of the parent, relative to the checker's own cgroup (the value of `LAB_CGROUP_PARENT`).
    pub rel: String,
}

fn write(path: &Path, data: &str) -> Result<(), String> {
    std::fs::write(path, data).map_err(|e| format!("failed to write {data} to {}: {e}", path.display()))
}

/// Tasks a check's runtime and containers may have at once: a fork bomb stops here.
pub const PIDS_GUARD: u64 = 256;
/// Memory a check's runtime and containers may use at once: a memory hog is
/// OOM-killed here, not the machine.
pub const MEMORY_GUARD: u64 = 1 << 30;
/// The CPU a check's runtime and containers may use at once, in microseconds per
/// 100 ms period: every CPU but one (three quarters of a lone CPU), so that a
/// spinning runtime leaves the host room. A cap, not a low weight: with a weight
/// below an ordinary process's every check starved as soon as anything else on the
/// host was busy, and timing verdicts turned with the host's load.
pub fn cpu_guard_quota() -> u64 {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1);
    if cpus <= 1 {
        75_000
    } else {
        (cpus - 1) * CPU_GUARD_PERIOD
    }
}

/// The period of the CPU guard, in microseconds.
pub const CPU_GUARD_PERIOD: u64 = 100_000;
/// v2: the leaf the runtime process runs in (a cgroup that delegates controllers
/// may hold no process). No check names a container so.
pub const RUNTIME_LEAF: &str = "checker.runtime";

impl ScratchParent {
    /// Makes the parent in every hierarchy, each directory written to the checker's
    /// state file first, with the pids and memory guards set.
    pub fn create(rel: &str) -> Result<ScratchParent, String> {
        let tree = Tree::detect()?;
        let me = ScratchParent {
            tree,
            rel: rel.to_string(),
        };
        if let Err(e) = me.make() {
            // Made in part: what was made is removed (and crossed out of the state file).
            let _ = me.remove();
            return Err(e);
        }
        Ok(me)
    }

    fn make(&self) -> Result<(), String> {
        for own in self.tree.own_dirs() {
            let dir = own.join(&self.rel);
            crate::state::add(&labkit::state::Item::Cgroup { path: dir.clone() });
            std::fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            if self.tree.version == Version::V1 && dir.join("cpuset.cpus").exists() {
                // A new v1 cpuset is empty and refuses tasks until cpus and mems are set.
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    let v = std::fs::read_to_string(own.join(f)).unwrap_or_default();
                    write(&dir.join(f), v.trim())?;
                }
            }
            if self.tree.version == Version::V2 {
                let avail = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
                let want: Vec<String> = avail
                    .split_whitespace()
                    .filter(|c| ["memory", "cpu", "pids", "io", "cpuset"].contains(c))
                    .map(|c| format!("+{c}"))
                    .collect();
                if !want.is_empty() {
                    write(&dir.join("cgroup.subtree_control"), &want.join(" "))?;
                }
                std::fs::create_dir(dir.join(RUNTIME_LEAF))
                    .map_err(|e| format!("creating {}/{RUNTIME_LEAF}: {e}", dir.display()))?;
            }
        }
        self.set_guards()
    }

    fn set_guards(&self) -> Result<(), String> {
        let files: &[(&str, &str, u64)] = match self.tree.version {
            Version::V1 => &[
                ("pids", "pids.max", PIDS_GUARD),
                ("memory", "memory.limit_in_bytes", MEMORY_GUARD),
                // Swap may add as much again (absent without swap accounting); twice, so
                // that the memory counter, whose hits are counted, meets its limit first.
                ("memory", "memory.memsw.limit_in_bytes", 2 * MEMORY_GUARD),
            ],
            Version::V2 => &[
                ("pids", "pids.max", PIDS_GUARD),
                ("memory", "memory.max", MEMORY_GUARD),
                // Swap as much again, as on v1: a runtime's own swap limit is what
                // cgroups.memory.swap-does-not-escape-limit observes, which a parent
                // without swap would hide.
                ("memory", "memory.swap.max", MEMORY_GUARD),
            ],
        };
        for (ctrl, file, value) in files {
            if let Some(d) = self.dir(ctrl, "") {
                let f = d.join(file);
                if f.exists() {
                    write(&f, &value.to_string())?;
                }
            }
        }
        // The CPU cap is best effort: a parent with a smaller quota of its own caps
        // the check already (the kernel refuses a child quota above it on v1).
        if let Some(d) = self.dir("cpu", "") {
            let quota = cpu_guard_quota();
            match self.tree.version {
                Version::V1 if d.join("cpu.cfs_quota_us").exists() => {
                    let _ = write(&d.join("cpu.cfs_period_us"), &CPU_GUARD_PERIOD.to_string())
                        .and_then(|_| write(&d.join("cpu.cfs_quota_us"), &quota.to_string()));
                }
                Version::V2 if d.join("cpu.max").exists() => {
                    let _ = write(&d.join("cpu.max"), &format!("{quota} {CPU_GUARD_PERIOD}"));
                }
                _ => {}
            }
        }
        // Fail closed: without its guards a check's runtime could take the machine down.
        // (v1 hierarchies that are not mounted are the host's choice, and v2's swap
        // file is absent without swap accounting.)
        if self.tree.version == Version::V2 {
            for (ctrl, file) in [("pids", "pids.max"), ("memory", "memory.max")] {
                let top = self
                    .tree
                    .own_dirs()
                    .first()
                    .map(|d| d.join(&self.rel))
                    .unwrap_or_default();
                if !top.join(file).exists() {
                    let why = Tree::anchor().map(|a| a.describe()).unwrap_or_default();
                    return Err(format!(
                        "the checker's guards cannot be set: no {file} in {} (the {ctrl} controller is not given there; {why})",
                        top.display()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The files a runtime process writes `0` to, before it executes, to join this
    /// parent (v1: the per-thread `tasks` file of every hierarchy, which needs no
    /// process-wide lock; v2: the runtime leaf's `cgroup.procs`).
    pub fn join_files(&self) -> Vec<PathBuf> {
        self.tree
            .own_dirs()
            .into_iter()
            .map(|own| match self.tree.version {
                Version::V1 => own.join(&self.rel).join("tasks"),
                Version::V2 => own.join(&self.rel).join(RUNTIME_LEAF).join("cgroup.procs"),
            })
            .collect()
    }

    /// `LAB_CGROUP_PARENT` for a runtime that joined: unset on v1 (the runtime's own
    /// cgroup is the parent), the parent's absolute path on v2 (the runtime sits in a
    /// leaf below it; v2 has a single hierarchy, so an absolute path is unambiguous).
    pub fn env_value(&self) -> Option<String> {
        match self.tree.version {
            Version::V1 => None,
            Version::V2 => Some(format!("{}/{}", self.tree.v2_path.trim_end_matches('/'), self.rel)),
        }
    }

    /// Whether the guards were reached: (the pids guard; how often memory use met
    /// the memory guard). Read at the parent itself: a container's own
    /// `--pids`/`--memory` limit counts in its own cgroup.
    pub fn guard_hits(&self) -> (bool, u64) {
        let text = |ctrl: &str, file: &str| {
            self.dir(ctrl, "")
                .and_then(|d| std::fs::read_to_string(d.join(file)).ok())
                .unwrap_or_default()
        };
        let number = |ctrl: &str, file: &str| text(ctrl, file).trim().parse::<u64>().unwrap_or(0);
        let pids = number("pids", "pids.peak") >= PIDS_GUARD;
        // Refused charges at this very counter (the guard), or a peak at the guard.
        let (failed, mem_peak) = match self.tree.version {
            Version::V1 => (
                number("memory", "memory.failcnt"),
                number("memory", "memory.max_usage_in_bytes"),
            ),
            Version::V2 => {
                let events = text("memory", "memory.events.local");
                let max = events
                    .lines()
                    .find_map(|l| l.strip_prefix("max "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                (max, number("memory", "memory.peak"))
            }
        };
        let memory = failed.max(u64::from(mem_peak + (4 << 20) >= MEMORY_GUARD));
        (pids, memory)
    }

    /// The directory of cgroup `name` (inside this parent) for `controller`.
    pub fn dir(&self, controller: &str, name: &str) -> Option<PathBuf> {
        self.tree.own.get(controller).map(|own| own.join(&self.rel).join(name))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.tree
            .own_dirs()
            .iter()
            .any(|d| d.join(&self.rel).join(name).exists())
    }

    /// Every leftover below this parent (cgroups a runtime did not remove), also
    /// those a runtime made in its own cgroup (on v2, the runtime leaf).
    pub fn leftovers(&self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        for own in self.tree.own_dirs() {
            let top = own.join(&self.rel);
            for dir in [top.clone(), top.join(RUNTIME_LEAF)] {
                if let Ok(rd) = std::fs::read_dir(dir) {
                    v.extend(
                        rd.flatten()
                            .filter(|e| {
                                e.file_type().map(|t| t.is_dir()).unwrap_or(false) && e.file_name() != RUNTIME_LEAF
                            })
                            .map(|e| e.path()),
                    );
                }
            }
        }
        v
    }

    /// Reads a v2-named file of cgroup `name`, aliased to v1 where needed; a
    /// `file:key` reads one key of a keyed file. None when the host lacks it.
    pub fn read(&self, name: &str, what: &str) -> Option<u64> {
        let (file, key) = match what.split_once(':') {
            Some((f, k)) => (f, Some(k)),
            None => (what, None),
        };
        let (controller, path, key, scale): (&str, &str, Option<&str>, u64) = match (self.tree.version, file, key) {
            (Version::V2, f, k) => (f.split('.').next().unwrap_or(f), f, k, 1),
            (Version::V1, "memory.current", _) => ("memory", "memory.usage_in_bytes", None, 1),
            (Version::V1, "memory.peak", _) => ("memory", "memory.max_usage_in_bytes", None, 1),
            (Version::V1, "memory.max", _) => ("memory", "memory.limit_in_bytes", None, 1),
            (Version::V1, "memory.events", Some("oom_kill")) => ("memory", "memory.oom_control", Some("oom_kill"), 1),
            (Version::V1, "cpu.stat", Some("usage_usec")) => ("cpuacct", "cpuacct.usage", None, 1000),
            (Version::V1, "cpu.stat", Some("throttled_usec")) => ("cpu", "cpu.stat", Some("throttled_time"), 1000),
            (Version::V1, "cpu.stat", Some(k)) => ("cpu", "cpu.stat", Some(k), 1),
            (Version::V1, f, k) if f.starts_with("pids.") => ("pids", f, k, 1),
            _ => return None,
        };
        let text = std::fs::read_to_string(self.dir(controller, name)?.join(path)).ok()?;
        let value = match key {
            None => text.trim().parse::<u64>().ok()?,
            Some(k) => text
                .lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(' ')))
                .and_then(|v| v.trim().parse::<u64>().ok())?,
        };
        Some(value / scale)
    }

    /// Whether the kernel reports cgroup `name` frozen (v1 freezer.state, v2 cgroup.events).
    pub fn frozen(&self, name: &str) -> Option<bool> {
        match self.tree.version {
            Version::V1 => {
                let s = std::fs::read_to_string(self.dir("freezer", name)?.join("freezer.state")).ok()?;
                Some(s.trim() == "FROZEN")
            }
            Version::V2 => {
                let s = std::fs::read_to_string(self.dir("cgroup", name)?.join("cgroup.events")).ok()?;
                Some(s.lines().any(|l| l.trim() == "frozen 1"))
            }
        }
    }

    /// Kills whatever is left below the parent and removes it (deepest first).
    pub fn remove(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last_err = None;
        let mut tops: Vec<PathBuf> = self.tree.own_dirs().iter().map(|own| own.join(&self.rel)).collect();
        labkit::state::freezer_first(&mut tops);
        for top in &tops {
            labkit::state::kill_cgroup_tree(top, deadline);
        }
        for top in tops {
            match labkit::state::remove_cgroup_tree(&top, deadline) {
                Ok(()) => crate::state::done(&labkit::state::Item::Cgroup { path: top }),
                Err(e) => last_err = Some(e),
            }
        }
        last_err.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn fake(version: Version, ctrls: &[&str]) -> (tempfile::TempDir, ScratchParent) {
        let t = tempfile::tempdir().unwrap();
        let mut own = BTreeMap::new();
        for c in ctrls {
            let d = match version {
                Version::V1 => t.path().join(c),
                Version::V2 => t.path().to_path_buf(),
            };
            std::fs::create_dir_all(d.join("lab/c1")).unwrap();
            own.insert(c.to_string(), d);
        }
        (
            t,
            ScratchParent {
                tree: Tree {
                    version,
                    own,
                    v2_path: "/".into(),
                },
                rel: "lab".into(),
            },
        )
    }

    fn put(p: &ScratchParent, ctrl: &str, file: &str, text: &str) {
        std::fs::write(p.dir(ctrl, "c1").unwrap().join(file), text).unwrap();
    }

    /// Fail closed: a v2 parent whose pids or memory guard file is missing (the
    /// controller is not given there) is refused with the file named; with both it is
    /// accepted and both guards are written.
    #[test]
    fn v2_guards_that_cannot_be_set_refuse_the_parent() {
        let (_t, p) = fake(Version::V2, &["pids", "memory"]);
        let top = p.dir("pids", "").unwrap();
        std::fs::write(top.join("pids.max"), "max").unwrap();
        let e = p.set_guards().unwrap_err();
        assert!(
            e.starts_with("the checker's guards cannot be set: no memory.max in ")
                && e.contains("the memory controller is not given there"),
            "{e}"
        );
        std::fs::write(top.join("memory.max"), "max").unwrap();
        p.set_guards().unwrap();
        assert_eq!(
            std::fs::read_to_string(top.join("pids.max")).unwrap(),
            PIDS_GUARD.to_string()
        );
        assert_eq!(
            std::fs::read_to_string(top.join("memory.max")).unwrap(),
            MEMORY_GUARD.to_string()
        );
        // v1: a hierarchy the host does not mount is its choice, not a refusal.
        let (_t, p1) = fake(Version::V1, &["pids"]);
        p1.set_guards().unwrap();
    }

    #[test]
    fn the_runtime_joins_the_parent_itself_on_v1_and_a_leaf_on_v2() {
        let (_t, p1) = fake(Version::V1, &["memory", "pids"]);
        let files = p1.join_files();
        assert_eq!(files.len(), 2);
        assert!(files.iter().all(|f| f.ends_with("lab/tasks")), "{files:?}");
        assert_eq!(p1.env_value(), None, "v1: the runtime's own cgroup is the parent");
        let (_t, p2) = fake(Version::V2, &["memory", "pids"]);
        assert_eq!(p2.join_files().len(), 1);
        assert!(p2.join_files()[0].ends_with(format!("lab/{RUNTIME_LEAF}/cgroup.procs")));
        assert_eq!(p2.env_value().as_deref(), Some("/lab"));
    }

    #[test]
    fn leftovers_include_what_a_runtime_made_in_its_leaf_but_not_the_leaf() {
        let (_t, p) = fake(Version::V2, &["memory"]);
        let top = p.dir("memory", "").unwrap();
        std::fs::create_dir_all(top.join(RUNTIME_LEAF).join("sneaky")).unwrap();
        let mut names: Vec<String> = p
            .leftovers()
            .iter()
            .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["c1", "sneaky"]);
    }

    #[test]
    fn guard_hits_are_read_at_the_parent() {
        let (_t, p) = fake(Version::V1, &["memory", "pids"]);
        let top = |c: &str| p.dir(c, "").unwrap();
        assert_eq!(p.guard_hits(), (false, 0), "no files, no hits");
        std::fs::write(top("pids").join("pids.peak"), format!("{}\n", PIDS_GUARD - 1)).unwrap();
        std::fs::write(top("memory").join("memory.failcnt"), "0\n").unwrap();
        std::fs::write(top("memory").join("memory.max_usage_in_bytes"), "4096\n").unwrap();
        assert_eq!(p.guard_hits(), (false, 0), "below the guards");
        std::fs::write(top("pids").join("pids.peak"), format!("{PIDS_GUARD}\n")).unwrap();
        std::fs::write(top("memory").join("memory.failcnt"), "7\n").unwrap();
        assert_eq!(p.guard_hits(), (true, 7));
        // A container's own limit is counted in its own cgroup, not here.
        put(&p, "memory", "memory.failcnt", "99\n");
        assert_eq!(p.guard_hits().1, 7);
    }

    #[test]
    fn v1_files_answer_to_v2_names() {
        let (_t, p) = fake(Version::V1, &["memory", "cpu", "cpuacct", "pids", "freezer"]);
        put(&p, "memory", "memory.usage_in_bytes", "4096\n");
        put(
            &p,
            "memory",
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
        );
        put(&p, "cpuacct", "cpuacct.usage", "5000000\n");
        put(
            &p,
            "cpu",
            "cpu.stat",
            "nr_periods 10\nnr_throttled 4\nthrottled_time 99\n",
        );
        put(&p, "pids", "pids.events", "max 2\n");
        put(&p, "freezer", "freezer.state", "FROZEN\n");
        assert_eq!(p.read("c1", "memory.current"), Some(4096));
        assert_eq!(p.read("c1", "memory.events:oom_kill"), Some(3));
        assert_eq!(p.read("c1", "cpu.stat:usage_usec"), Some(5000));
        assert_eq!(p.read("c1", "cpu.stat:nr_throttled"), Some(4));
        assert_eq!(p.read("c1", "pids.events:max"), Some(2));
        assert_eq!(p.read("c1", "memory.swap.current"), None);
        assert_eq!(p.frozen("c1"), Some(true));
    }

    #[test]
    fn v2_files_are_read_as_named() {
        let (_t, p) = fake(Version::V2, &["memory", "cpu", "pids", "cgroup"]);
        put(&p, "memory", "memory.current", "8192\n");
        put(
            &p,
            "memory",
            "memory.events",
            "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n",
        );
        put(&p, "cpu", "cpu.stat", "usage_usec 777\nnr_throttled 2\n");
        put(&p, "cgroup", "cgroup.events", "populated 1\nfrozen 0\n");
        assert_eq!(p.read("c1", "memory.current"), Some(8192));
        // `oom` must not be taken for `oom_kill`, nor `max` for anything else.
        assert_eq!(p.read("c1", "memory.events:oom_kill"), Some(1));
        assert_eq!(p.read("c1", "memory.events:oom"), Some(1));
        assert_eq!(p.read("c1", "cpu.stat:usage_usec"), Some(777));
        assert_eq!(p.frozen("c1"), Some(false));
    }
}
