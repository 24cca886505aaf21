//! The checker's own view of the cgroup tree, independent of any runtime's code.
//!
//! Checks read cgroup v2 names (`memory.current`, `memory.events:oom_kill`,
//! `cpu.stat:nr_throttled`, ...); on a v1 host each is aliased to its v1 file, as
//! LTP's tst_cgroup does. The checker owns a scratch parent cgroup (nested under
//! its own cgroup of every hierarchy), passes it to the runtime as
//! `LAB_CGROUP_PARENT`, and removes it with anything left inside.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use labkit::cgroups::anchor::{self, How};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// Where each controller's tree is, and the checker's own cgroup in it.
#[derive(Debug, Clone)]
pub struct Tree {
    pub version: Version,
    /// v1: controller → the checker's own cgroup directory in that hierarchy.
    /// v2: every available controller → the checker's own cgroup directory.
    pub own: BTreeMap<String, PathBuf>,
    /// v2: the checker's own cgroup as /proc/self/cgroup names it (`/a/b`).
    pub v2_path: String,
}

/// The v1 controllers the checks read: the contract's.
const V1_CONTROLLERS: &[&str] = labkit::cgroups::V1_CONTROLLERS;

/// Where the checker's cgroups are made on cgroup v2 (chosen once per process: see
/// labkit::cgroups::anchor), and why.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub how: How,
    /// The directory the checker's cgroups are made in.
    pub dir: PathBuf,
    /// The same as /proc/self/cgroup names it (`/`, `/system.slice/lab-check-7.scope`).
    pub path: String,
    pub why: String,
}

impl Anchor {
    /// One line for reports: where, and why.
    pub fn describe(&self) -> String {
        format!(
            "cgroup parent: {} ({}): {}",
            self.dir.display(),
            self.how.name(),
            self.why
        )
    }
}

static ANCHOR: std::sync::OnceLock<Anchor> = std::sync::OnceLock::new();

/// The anchor of a v2 tree whose caller's cgroup is `own_dir` (`own_path` as
/// /proc/self/cgroup names it): chosen and prepared on first use.
fn v2_anchor(own_dir: &Path, own_path: &str) -> Anchor {
    ANCHOR
        .get_or_init(|| {
            let root_dir = own_dir
                .to_str()
                .and_then(|d| d.strip_suffix(own_path.trim_end_matches('/')))
                .map(|d| Path::new(d).components().collect::<PathBuf>())
                .unwrap_or_else(|| own_dir.to_path_buf());
            let at_root = |how: How, why: String| {
                let why = match anchor::enable(&root_dir) {
                    Ok(()) => why,
                    Err(e) => format!("{why} ({e})"),
                };
                Anchor {
                    how,
                    dir: root_dir.clone(),
                    path: "/".into(),
                    why,
                }
            };
            match anchor::plan(&anchor::facts(own_path)) {
                anchor::Plan::Use {
                    how: How::DelegatedScope,
                    path,
                    why,
                } => {
                    let dir = root_dir.join(path.trim_start_matches('/'));
                    match anchor::prepare_scope(&dir) {
                        Ok(()) => Anchor {
                            how: How::DelegatedScope,
                            dir,
                            path,
                            why,
                        },
                        Err(e) => at_root(
                            How::HierarchyRoot,
                            format!(
                                "preparing the delegated scope {path} failed ({e}): directly under the hierarchy root"
                            ),
                        ),
                    }
                }
                anchor::Plan::Use { how, why, .. } => at_root(how, why),
                // Only a program's main re-executes itself (enter_delegated_scope).
                anchor::Plan::EnterScope { why, .. } => at_root(
                    How::HierarchyRoot,
                    format!("{why}; not done in this process: directly under the hierarchy root"),
                ),
            }
        })
        .clone()
}

/// Called first by a checker's main (before any thread): on a cgroup v2 host whose
/// caller's cgroup cannot delegate and whose PID 1 is systemd, re-executes the program
/// in a transient scope with `Delegate=yes` (it does not return then). Returns why it
/// did not, if it had to and could not.
pub fn enter_delegated_scope() -> Option<String> {
    let tree = Tree::read().ok()?;
    if tree.version != Version::V2 {
        return None;
    }
    let anchor::Plan::EnterScope { systemd_run, .. } = anchor::plan(&anchor::facts(&tree.v2_path)) else {
        return None;
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return Some(format!(
                "cannot name this program to re-execute it in a delegated scope: {e}"
            ))
        }
    };
    // Tried first with /bin/true: once this process is replaced, a systemd-run that
    // cannot make the scope (no bus, a policy) would end the run instead of falling back.
    let unit = format!("lab-check-{}", std::process::id());
    let trial = anchor::scope_command(&systemd_run, &format!("{unit}-trial"), Path::new("/bin/true"), &[]);
    match std::process::Command::new(&trial[0])
        .args(&trial[1..])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Some(format!(
                "{} --scope -p Delegate=yes failed ({}): {}",
                systemd_run.display(),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
        Err(e) => return Some(format!("{} --scope -p Delegate=yes: {e}", systemd_run.display())),
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let argv = anchor::scope_command(&systemd_run, &unit, &exe, &args);
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .env(anchor::SCOPE_ENV, "1")
        .exec();
    Some(format!("{} --scope -p Delegate=yes: {e}", systemd_run.display()))
}

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

impl Tree {
    /// The checker's tree: on cgroup v2 its own cgroup is replaced by the [`Anchor`]
    /// where its cgroups are made, with the controllers given there.
    pub fn detect() -> Result<Tree, String> {
        let mut tree = Tree::read()?;
        if tree.version == Version::V2 {
            let own = tree.own.get("cgroup").cloned().unwrap_or_default();
            let a = v2_anchor(&own, &tree.v2_path);
            let given = std::fs::read_to_string(a.dir.join("cgroup.subtree_control")).unwrap_or_default();
            tree.own = given
                .split_whitespace()
                .chain(["freezer", "devices", "cgroup"])
                .map(|c| (c.to_string(), a.dir.clone()))
                .collect();
            tree.v2_path = a.path.clone();
        }
        Ok(tree)
    }

    /// Where the calling process sits, as /proc/self says.
    pub fn read() -> Result<Tree, String> {
        let mountinfo =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("reading mountinfo: {e}"))?;
        let cgroup =
            std::fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("reading /proc/self/cgroup: {e}"))?;
        Tree::from_text(&mountinfo, &cgroup)
    }

    /// The v2 anchor, after [`Tree::detect`] chose it (None on v1 or before).
    pub fn anchor() -> Option<Anchor> {
        ANCHOR.get().cloned()
    }

    /// From the text of /proc/self/mountinfo and /proc/self/cgroup.
    pub fn from_text(mountinfo: &str, cgroup: &str) -> Result<Tree, String> {
        // hierarchy key (v1: sorted controller list; v2: "") → (mount point, mount root)
        let mut mounts: BTreeMap<String, (String, String)> = BTreeMap::new();
        for m in labkit::mountinfo::parse_mountinfo(mountinfo) {
            let (root, point) = (m.root, m.mount_point);
            match m.fstype.as_str() {
                "cgroup2" => {
                    mounts.entry(String::new()).or_insert((point, root));
                }
                "cgroup" => {
                    let mut ctrls: Vec<&str> = m
                        .super_options
                        .iter()
                        .map(String::as_str)
                        .filter(|o| V1_CONTROLLERS.contains(o))
                        .collect();
                    ctrls.sort();
                    if !ctrls.is_empty() {
                        mounts.entry(ctrls.join(",")).or_insert((point, root));
                    }
                }
                _ => {}
            }
        }
        let mut own_v1 = BTreeMap::new();
        let mut own_v2: Option<PathBuf> = None;
        let mut v2_path = String::new();
        for line in labkit::cgroups::parse_cgroup(cgroup) {
            let path = line.path.as_str();
            let mut list: Vec<&str> = line
                .controllers
                .iter()
                .map(String::as_str)
                .filter(|c| V1_CONTROLLERS.contains(c))
                .collect();
            list.sort();
            let key = list.join(",");
            if line.controllers.is_empty() {
                if let Some((point, root)) = mounts.get("") {
                    own_v2 = Some(join_cgroup(point, root, path));
                    v2_path = path.to_string();
                }
            } else if let Some((point, root)) = mounts.get(&key) {
                for c in list {
                    own_v1.insert(c.to_string(), join_cgroup(point, root, path));
                }
            }
        }
        // A v2 tree whose root offers the resource controllers wins; a hybrid host's
        // empty cgroup2 mount does not.
        if let Some(dir) = own_v2 {
            let ctrls = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
            let has: Vec<&str> = ctrls.split_whitespace().collect();
            if has.iter().any(|c| ["memory", "cpu", "pids", "io"].contains(c)) || own_v1.is_empty() {
                let mut own = BTreeMap::new();
                for c in has.iter().chain(["freezer", "devices"].iter()) {
                    own.insert(c.to_string(), dir.clone());
                }
                own.insert("cgroup".into(), dir);
                return Ok(Tree {
                    version: Version::V2,
                    own,
                    v2_path,
                });
            }
        }
        if own_v1.is_empty() {
            return Err("no cgroup hierarchy with a resource controller is mounted".into());
        }
        Ok(Tree {
            version: Version::V1,
            own: own_v1,
            v2_path: String::new(),
        })
    }

    pub fn has(&self, controller: &str) -> bool {
        self.own.contains_key(controller)
    }

    /// Directories of the checker's own cgroup, one per hierarchy (deduplicated).
    pub fn own_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.own.values().cloned().collect();
        v.sort();
        v.dedup();
        v
    }
}

fn join_cgroup(point: &str, root: &str, path: &str) -> PathBuf {
    let rel = path.strip_prefix(root).unwrap_or(path);
    Path::new(point).join(rel.trim_start_matches('/'))
}

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
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
30 23 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw
31 30 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct
34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
35 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
";
    const HYBRID_CGROUP: &str = "4:memory:/process_api/abc\n1:cpu:/\n2:cpuacct:/\n9:name=systemd:/\n0::/\n";

    #[test]
    fn hybrid_host_is_v1_with_the_callers_own_cgroups() {
        let t = Tree::from_text(HYBRID_MOUNTINFO, HYBRID_CGROUP).unwrap();
        assert_eq!(t.version, Version::V1);
        assert_eq!(t.own["memory"], PathBuf::from("/sys/fs/cgroup/memory/process_api/abc"));
        assert_eq!(t.own["cpu"], PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(t.own["cpuacct"], PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(!t.has("net_cls"));
    }

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

    #[test]
    fn nothing_mounted_is_an_error() {
        assert!(Tree::from_text("", "0::/\n").is_err());
    }
}

/// Where a runtime that ignored `LAB_CGROUP_PARENT` would have made cgroup `name`:
/// in every mounted hierarchy (v1 controllers, named ones, v2), at its root and in
/// every cgroup from there down to the caller's own (so beside it and in it too).
/// From the text of /proc/self/mountinfo and /proc/self/cgroup.
pub fn misplaced_candidates(mountinfo: &str, cgroup: &str, names: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in misplaced_search_dirs(mountinfo, cgroup) {
        for n in names {
            let p = dir.join(n);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// A mounted cgroup hierarchy and the caller's own cgroup in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountedHierarchy {
    pub v2: bool,
    /// The mount's super options (v1: its controllers or `name=`).
    pub options: Vec<String>,
    pub point: PathBuf,
    /// The caller's own cgroup directory, when /proc/self/cgroup names one here.
    pub own: Option<PathBuf>,
}

/// Every cgroup hierarchy mounted, from the text of /proc/self/mountinfo and
/// /proc/self/cgroup.
pub fn mounted_hierarchies(mountinfo: &str, cgroup: &str) -> Vec<MountedHierarchy> {
    let mut out = Vec::new();
    for m in labkit::mountinfo::parse_mountinfo(mountinfo) {
        if !(m.fstype == "cgroup" || m.fstype == "cgroup2") {
            continue;
        }
        let (root, point) = (m.root, m.mount_point);
        let v2 = m.fstype == "cgroup2";
        let options = m.super_options;
        // The caller's line for this hierarchy: v2 is `0::/path`; a v1 line names
        // the controllers (or name=) the mount carries.
        let own = labkit::cgroups::parse_cgroup(cgroup).into_iter().find_map(|c| {
            let matches = if v2 {
                c.controllers.is_empty()
            } else {
                !c.controllers.is_empty() && c.controllers.iter().all(|ctl| options.contains(ctl))
            };
            matches.then(|| join_cgroup(&point, &root, &c.path))
        });
        out.push(MountedHierarchy {
            v2,
            options,
            point: PathBuf::from(point),
            own,
        });
    }
    out
}

/// The directories [`misplaced_candidates`] looks in: every mounted hierarchy's
/// root and every cgroup from there down to the caller's own.
pub fn misplaced_search_dirs(mountinfo: &str, cgroup: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for h in mounted_hierarchies(mountinfo, cgroup) {
        // Only where the contract puts a container's cgroup: v1 hierarchies of its
        // controllers, and a v2 tree that has them (not a hybrid host's v2 mount, which
        // holds hugetlb at most, nor named hierarchies such as name=systemd: runc makes
        // its cgroup in both too, and nothing there is a limit).
        let counts = if h.v2 {
            let ctrls = std::fs::read_to_string(h.point.join("cgroup.controllers")).unwrap_or_default();
            ctrls
                .split_whitespace()
                .any(|c| ["memory", "cpu", "pids", "io", "cpuset"].contains(&c))
        } else {
            h.options.iter().any(|o| V1_CONTROLLERS.contains(&o.as_str()))
        };
        if !counts {
            continue;
        }
        let own_dir = h.own.clone().unwrap_or_else(|| h.point.clone());
        let mut dirs = vec![own_dir.clone()];
        let mut d = own_dir.as_path();
        while let Some(up) = d.parent() {
            if !up.starts_with(&h.point) {
                break;
            }
            dirs.push(up.to_path_buf());
            d = up;
        }
        for dir in dirs {
            if !out.contains(&dir) {
                out.push(dir);
            }
        }
    }
    out
}

/// Watches the directories of [`misplaced_search_dirs`] for new entries during a
/// check (inotify `IN_CREATE`), so that a cgroup a runtime made outside its parent
/// and removed again before the check ended is still seen.
pub struct MisplacedWatch {
    inotify: Option<nix::sys::inotify::Inotify>,
    dirs: std::collections::HashMap<nix::sys::inotify::WatchDescriptor, PathBuf>,
}

impl MisplacedWatch {
    pub fn start() -> MisplacedWatch {
        let mountinfo = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap_or_default();
        let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        MisplacedWatch::on(misplaced_search_dirs(&mountinfo, &cgroup))
    }

    /// Watches `search` (a fake cgroupfs in tests).
    pub fn on(search: Vec<PathBuf>) -> MisplacedWatch {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        let Ok(inotify) = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) else {
            return MisplacedWatch {
                inotify: None,
                dirs: Default::default(),
            };
        };
        let mut dirs = std::collections::HashMap::new();
        for d in search {
            if let Ok(wd) = inotify.add_watch(&d, AddWatchFlags::IN_CREATE | AddWatchFlags::IN_ONLYDIR) {
                dirs.insert(wd, d);
            }
        }
        MisplacedWatch {
            inotify: Some(inotify),
            dirs,
        }
    }

    /// Directories named in `names` that were made in a watched place since the start.
    pub fn created(&self, names: &[String]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Some(inotify) = &self.inotify else { return out };
        while let Ok(events) = inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for e in events {
                let (Some(name), Some(dir)) = (e.name, self.dirs.get(&e.wd)) else {
                    continue;
                };
                let name = name.to_string_lossy().into_owned();
                if names.contains(&name) {
                    let p = dir.join(&name);
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }
}

/// Cgroups named `names` that exist outside the check's parent (see
/// [`misplaced_candidates`]), as this process sees the tree.
pub fn misplaced_cgroups(names: &[String]) -> Vec<PathBuf> {
    if names.is_empty() {
        return Vec::new();
    }
    let mountinfo = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap_or_default();
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    misplaced_candidates(&mountinfo, &cgroup, names)
        .into_iter()
        .filter(|p| p.is_dir())
        .collect()
}

#[cfg(test)]
mod misplaced_tests {
    use super::*;

    #[test]
    fn candidates_cover_root_beside_and_own_cgroup_of_every_hierarchy() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let mountinfo = format!(
            "30 25 0:26 / {d}/cpu rw - cgroup cgroup rw,cpu\n\
             31 25 0:27 / {d}/memory rw - cgroup cgroup rw,memory\n\
             32 25 0:28 / {d}/unified rw - cgroup2 cgroup2 rw\n\
             33 25 0:29 / /tmp rw - tmpfs tmpfs rw\n\
             34 25 0:30 / {d}/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        );
        std::fs::create_dir_all(dir.path().join("unified")).unwrap();
        std::fs::write(dir.path().join("unified/cgroup.controllers"), "memory pids\n").unwrap();
        let cgroup = "5:cpu:/ci/job\n4:memory:/ci/job\n0::/\n";
        let names = vec!["demo".to_string()];
        let c = misplaced_candidates(&mountinfo, cgroup, &names);
        for want in [
            "cpu/demo",
            "cpu/ci/demo",
            "cpu/ci/job/demo",
            "memory/ci/job/demo",
            "unified/demo",
        ] {
            assert!(c.contains(&dir.path().join(want)), "{want} missing from {c:?}");
        }
        assert!(
            !c.contains(&PathBuf::from("/tmp/demo")),
            "a tmpfs is no cgroup hierarchy"
        );
        assert!(
            !c.iter().any(|p| p.starts_with(dir.path().join("systemd"))),
            "name=systemd holds no controller"
        );
        // A hybrid host's v2 mount without the contract's controllers (hugetlb at most) is no
        // place for a container's cgroup either.
        std::fs::write(dir.path().join("unified/cgroup.controllers"), "hugetlb\n").unwrap();
        let hybrid = misplaced_candidates(&mountinfo, cgroup, &names);
        assert!(
            !hybrid.iter().any(|p| p.starts_with(dir.path().join("unified"))),
            "{hybrid:?}"
        );
        // Only what exists is reported, against a fake tree in a tempdir.
        std::fs::create_dir_all(dir.path().join("cpu/demo")).unwrap();
        std::fs::create_dir_all(dir.path().join("memory/ci/job/other")).unwrap();
        let found: Vec<&PathBuf> = c.iter().filter(|p| p.is_dir()).collect();
        assert_eq!(found, vec![&dir.path().join("cpu/demo")]);
    }

    #[test]
    fn a_cgroup_made_and_removed_again_is_still_seen() {
        let dir = tempfile::tempdir().unwrap();
        let w = MisplacedWatch::on(vec![dir.path().to_path_buf()]);
        std::fs::create_dir(dir.path().join("demo")).unwrap();
        std::fs::remove_dir(dir.path().join("demo")).unwrap();
        std::fs::create_dir(dir.path().join("someone-elses")).unwrap();
        assert_eq!(w.created(&["demo".to_string()]), vec![dir.path().join("demo")]);
        assert!(w.created(&["demo".to_string()]).is_empty(), "events are read once");
    }
}
