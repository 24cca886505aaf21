//! Where a checker makes its own cgroups on cgroup v2, and why.
//!
//! cgroup v2 lets a cgroup give controllers to its children only while it holds no
//! process (the root excepted). A checker started in the root cgroup (a VM, many
//! containers) makes its cgroups beside itself. On a systemd host it is usually in a
//! service's cgroup that holds processes and delegates nothing (a GitHub-hosted
//! runner's job: `/system.slice/hosted-compute-agent.service`): cgroups made there
//! get no controllers, so no limit and no guard would hold. There it asks systemd
//! for a transient scope with `Delegate=yes` and keeps the delegation rules inside
//! it, as runc's and crun's systemd drivers and podman do: the scope holds no
//! process of its own, the checker moves into a leaf `checker` below it, and the
//! scope gives the controllers to the checker's cgroups. Without systemd it makes
//! them directly under the hierarchy's root, as runc's CI, LTP and the kernel
//! selftests do. At the root of a cgroup namespace (inside a container), which reads
//! `/` as the real root does, [`enable_root`] tells the two apart by the kernel's
//! refusal and makes room as moby's dind does.
//!
//! Nothing here is trusted blindly: the caller checks afterwards that the controllers
//! it needs are really available in the chosen place (fail closed).

use std::path::{Path, PathBuf};

/// Set (to `1`) in the environment of a checker that re-executed itself in a
/// delegated scope: it prepares the scope instead of asking for another.
pub const SCOPE_ENV: &str = "LAB_CHECKER_SCOPE";
/// The leaf the checker moves into inside its delegated scope.
pub const CHECKER_LEAF: &str = "checker";
/// Controllers the checker gives its cgroups where the kernel offers them.
pub const WANTED: [&str; 5] = ["memory", "pids", "cpu", "io", "cpuset"];

/// The leaf the processes of a cgroup namespace's root move into, so that the root
/// may give controllers (the name moby's dind script and kind use).
pub const NS_ROOT_LEAF: &str = "init";

/// How the place was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The caller is in the root cgroup: its cgroups go beside it.
    Root,
    /// The caller was at the root of a cgroup namespace (a container's), which is an
    /// ordinary cgroup: its processes moved into the leaf [`NS_ROOT_LEAF`], and the
    /// checker's cgroups go beside that leaf.
    NamespaceRoot,
    /// A transient systemd scope with `Delegate=yes` the checker runs in.
    DelegatedScope,
    /// Directly under the hierarchy's root: the caller's cgroup cannot delegate and
    /// no systemd can be asked.
    HierarchyRoot,
}

impl How {
    pub fn name(self) -> &'static str {
        match self {
            How::Root => "root cgroup",
            How::NamespaceRoot => "root of the cgroup namespace",
            How::DelegatedScope => "delegated systemd scope",
            How::HierarchyRoot => "directly under the hierarchy root",
        }
    }
}

/// What the host looks like, as far as the choice goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The caller's cgroup as /proc/self/cgroup names it (`/system.slice/x.service`).
    pub own: String,
    /// [`SCOPE_ENV`] is set: the caller is the re-executed checker in its scope.
    pub in_scope: bool,
    /// systemd is PID 1 (/run/systemd/system exists, as sd_booted(3) tests).
    pub systemd: bool,
    /// A systemd-run the caller may use (found, and the caller is root).
    pub systemd_run: Option<PathBuf>,
}

/// What to do, decided from [`Facts`] alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Use this cgroup (a path as /proc/self/cgroup names it) for the checker's cgroups.
    Use { how: How, path: String, why: String },
    /// Re-execute under `systemd-run --scope -p Delegate=yes` and decide again there.
    EnterScope { systemd_run: PathBuf, why: String },
}

fn parent_of(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/".into(),
        Some((p, _)) => p.into(),
    }
}

pub fn plan(f: &Facts) -> Plan {
    let own = if f.own.is_empty() { "/" } else { f.own.as_str() };
    if own == "/" {
        return Plan::Use {
            how: How::Root,
            path: "/".into(),
            why: "the checker runs in the root cgroup, which may hold processes and give controllers alike \
                  (the root of a cgroup namespace may not: its processes then move into a leaf, see enable_root)"
                .into(),
        };
    }
    if f.in_scope {
        // Already in the leaf of a scope prepared before (a second checker process of
        // the same run), or in the fresh scope itself.
        let scope = if own.rsplit('/').next() == Some(CHECKER_LEAF) {
            parent_of(own)
        } else {
            own.to_string()
        };
        return Plan::Use {
            how: How::DelegatedScope,
            path: scope.clone(),
            why: format!(
                "the checker runs in the transient scope {scope} with Delegate=yes, in its leaf {CHECKER_LEAF}"
            ),
        };
    }
    let cannot = format!("the caller's cgroup {own} holds processes, and cgroup v2 lets such a cgroup give no controllers to cgroups below it");
    match (&f.systemd, &f.systemd_run) {
        (true, Some(run)) => Plan::EnterScope { systemd_run: run.clone(), why: format!("{cannot}; systemd is PID 1: asking it for a transient scope with Delegate=yes") },
        (true, None) => Plan::Use { how: How::HierarchyRoot, path: "/".into(), why: format!("{cannot}; systemd is PID 1 but systemd-run cannot be used (not found, or not root): directly under the hierarchy root") },
        (false, _) => Plan::Use { how: How::HierarchyRoot, path: "/".into(), why: format!("{cannot}; systemd is not PID 1: directly under the hierarchy root") },
    }
}

/// The facts of this process.
pub fn facts(own: &str) -> Facts {
    let root = nix::unistd::geteuid().is_root();
    let systemd_run = ["/usr/bin/systemd-run", "/bin/systemd-run", "/usr/local/bin/systemd-run"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .filter(|_| root);
    Facts {
        own: own.to_string(),
        in_scope: std::env::var_os(SCOPE_ENV).is_some(),
        systemd: Path::new("/run/systemd/system").is_dir(),
        systemd_run,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("failed to create {}: {source}", path.display())]
    Create { path: PathBuf, source: std::io::Error },
    #[error("failed to write {data} to {}: {source}", path.display())]
    Write {
        data: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The cgroup files as the kernel answers them: the real cgroupfs, or in tests a fake
/// one that plays the kernel's rules.
pub trait CgroupFiles {
    fn read(&self, path: &Path) -> std::io::Result<String>;
    fn write(&self, path: &Path, data: &str) -> std::io::Result<()>;
    fn make_dir(&self, path: &Path) -> std::io::Result<()>;
}

/// The real cgroupfs.
pub struct Kernel;

impl CgroupFiles for Kernel {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn write(&self, path: &Path, data: &str) -> std::io::Result<()> {
        std::fs::write(path, data)
    }
    fn make_dir(&self, path: &Path) -> std::io::Result<()> {
        std::fs::create_dir(path)
    }
}

fn write_with(fs: &dyn CgroupFiles, path: &Path, data: &str) -> Result<(), AnchorError> {
    fs.write(path, data).map_err(|source| AnchorError::Write {
        data: data.to_string(),
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, data: &str) -> Result<(), AnchorError> {
    write_with(&Kernel, path, data)
}

/// In a fresh delegated scope at `scope` (a directory): the calling process moves into
/// the leaf [`CHECKER_LEAF`], then the scope gives the [`WANTED`] controllers it has
/// to its children. Idempotent: a scope prepared before is left as it is.
pub fn prepare_scope(scope: &Path) -> Result<(), AnchorError> {
    let leaf = scope.join(CHECKER_LEAF);
    if !leaf.is_dir() {
        std::fs::create_dir(&leaf).map_err(|source| AnchorError::Create {
            path: leaf.clone(),
            source,
        })?;
    }
    // `0` moves the writing process (with all its threads).
    write(&leaf.join("cgroup.procs"), "0")?;
    enable(scope)
}

/// Gives the [`WANTED`] controllers `dir` has (cgroup.controllers) and does not give
/// yet to its children.
pub fn enable(dir: &Path) -> Result<(), AnchorError> {
    enable_with(&Kernel, dir)
}

/// What [`enable_root`] had to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootEnabled {
    /// The controllers were given at once: the hierarchy's real root, or a namespace
    /// root that held no process.
    Given,
    /// The kernel refused (EBUSY) while the root held processes, so it is the root of
    /// a cgroup namespace: these processes moved into the leaf, then it gave them.
    Moved { leaf: PathBuf, pids: Vec<i32> },
}

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error(transparent)]
    Anchor(#[from] AnchorError),
    #[error("{} still holds processes {pids:?} after {rounds} rounds of moving them into {}", root.display(), leaf.display())]
    KeepsProcesses {
        root: PathBuf,
        leaf: PathBuf,
        pids: Vec<i32>,
        rounds: usize,
    },
}

/// Rounds of moving a namespace root's processes: each round moves what it reads, and
/// a process forked meanwhile shows in the next.
const MOVE_ROUNDS: usize = 20;

/// Gives the [`WANTED`] controllers at `root`, the root of the caller's view of a
/// cgroup v2 hierarchy (/proc/self/cgroup says `0::/`). Paths cannot tell the
/// hierarchy's real root from the root of a cgroup namespace (a container's: Docker
/// on cgroup v2, Docker Desktop, Kubernetes): both read `/`. The kernel can. Only the
/// real root is exempt from the rule that a cgroup holding processes gives no
/// controllers, so EBUSY while the root holds processes is the proof of a namespace
/// root. Then, as moby's dind script and kind do, every process of the root (the
/// caller's included) moves into the leaf [`NS_ROOT_LEAF`] and the controllers are
/// given again. Nothing else of the container is touched; any other refusal is
/// returned as it came.
pub fn enable_root(root: &Path) -> Result<RootEnabled, RootError> {
    enable_root_with(&Kernel, root)
}

pub fn enable_root_with(fs: &dyn CgroupFiles, root: &Path) -> Result<RootEnabled, RootError> {
    let refused = match enable_with(fs, root) {
        Ok(()) => return Ok(RootEnabled::Given),
        Err(e) => e,
    };
    let busy = matches!(&refused, AnchorError::Write { source, .. } if source.raw_os_error() == Some(libc::EBUSY));
    let procs = |dir: &Path| -> Vec<i32> {
        fs.read(&dir.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    if !busy || procs(root).is_empty() {
        return Err(refused.into());
    }
    let leaf = root.join(NS_ROOT_LEAF);
    match fs.make_dir(&leaf) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => return Err(AnchorError::Create { path: leaf, source }.into()),
    }
    let mut moved = Vec::new();
    for _ in 0..MOVE_ROUNDS {
        let left = procs(root);
        if left.is_empty() {
            enable_with(fs, root)?;
            moved.sort_unstable();
            moved.dedup();
            return Ok(RootEnabled::Moved { leaf, pids: moved });
        }
        for pid in left {
            match fs.write(&leaf.join("cgroup.procs"), &pid.to_string()) {
                Ok(()) => moved.push(pid),
                // It exited between the read and the move.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(source) => {
                    return Err(AnchorError::Write {
                        data: pid.to_string(),
                        path: leaf.join("cgroup.procs"),
                        source,
                    }
                    .into())
                }
            }
        }
    }
    Err(RootError::KeepsProcesses {
        pids: procs(root),
        root: root.to_path_buf(),
        leaf,
        rounds: MOVE_ROUNDS,
    })
}

fn enable_with(fs: &dyn CgroupFiles, dir: &Path) -> Result<(), AnchorError> {
    let read = |f: &str| fs.read(&dir.join(f)).unwrap_or_default();
    let (has, given) = (read("cgroup.controllers"), read("cgroup.subtree_control"));
    let missing: Vec<String> = WANTED
        .iter()
        .filter(|c| has.split_whitespace().any(|h| h == **c) && !given.split_whitespace().any(|g| g == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write_with(fs, &dir.join("cgroup.subtree_control"), &missing.join(" "))
}

/// The argv that runs `exe args` in the transient scope `unit` with `Delegate=yes`.
pub fn scope_command(
    systemd_run: &Path,
    unit: &str,
    exe: &Path,
    args: &[std::ffi::OsString],
) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = vec![
        systemd_run.into(),
        "--scope".into(),
        "--quiet".into(),
        "--collect".into(),
        "-p".into(),
        "Delegate=yes".into(),
        format!("--unit={unit}").into(),
        "--".into(),
        exe.into(),
    ];
    v.extend(args.iter().cloned());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(own: &str) -> Facts {
        Facts {
            own: own.into(),
            ..Facts::default()
        }
    }

    #[test]
    fn the_root_cgroup_is_used_as_it_is() {
        match plan(&facts("/")) {
            Plan::Use { how, path, .. } => assert_eq!((how, path.as_str()), (How::Root, "/")),
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn a_service_under_systemd_asks_for_a_delegated_scope() {
        let f = Facts {
            systemd: true,
            systemd_run: Some("/usr/bin/systemd-run".into()),
            ..facts("/system.slice/runner.service")
        };
        match plan(&f) {
            Plan::EnterScope { systemd_run, why } => {
                assert_eq!(systemd_run, PathBuf::from("/usr/bin/systemd-run"));
                assert!(
                    why.contains("/system.slice/runner.service holds processes") && why.contains("Delegate=yes"),
                    "{why}"
                );
            }
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn inside_the_scope_the_scope_is_used_also_from_its_leaf() {
        for own in [
            "/system.slice/lab-check-7.scope",
            "/system.slice/lab-check-7.scope/checker",
        ] {
            let f = Facts {
                in_scope: true,
                systemd: true,
                systemd_run: Some("/x".into()),
                ..facts(own)
            };
            match plan(&f) {
                Plan::Use { how, path, .. } => assert_eq!(
                    (how, path.as_str()),
                    (How::DelegatedScope, "/system.slice/lab-check-7.scope")
                ),
                p => panic!("{own}: {p:?}"),
            }
        }
    }

    #[test]
    fn without_systemd_or_systemd_run_the_hierarchy_root() {
        for f in [
            facts("/docker/abc"),
            Facts {
                systemd: true,
                ..facts("/system.slice/x.service")
            },
        ] {
            match plan(&f) {
                Plan::Use { how, path, why } => {
                    assert_eq!((how, path.as_str()), (How::HierarchyRoot, "/"));
                    assert!(why.contains("holds processes"), "{why}");
                }
                p => panic!("{p:?}"),
            }
        }
    }

    #[test]
    fn a_scope_is_prepared_leaf_first_then_controllers_given() {
        let t = tempfile::tempdir().unwrap();
        let scope = t.path();
        std::fs::write(
            scope.join("cgroup.controllers"),
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        )
        .unwrap();
        std::fs::write(scope.join("cgroup.subtree_control"), "memory\n").unwrap();
        // A fake cgroupfs makes no files in a new directory: the leaf's is written as a plain file.
        prepare_scope(scope).unwrap();
        assert_eq!(
            std::fs::read_to_string(scope.join("checker/cgroup.procs")).unwrap(),
            "0"
        );
        assert_eq!(
            std::fs::read_to_string(scope.join("cgroup.subtree_control")).unwrap(),
            "+pids +cpu +io +cpuset"
        );
        // Everything given already: nothing is written.
        std::fs::write(scope.join("cgroup.subtree_control"), "cpuset cpu io memory pids\n").unwrap();
        enable(scope).unwrap();
        assert_eq!(
            std::fs::read_to_string(scope.join("cgroup.subtree_control")).unwrap(),
            "cpuset cpu io memory pids\n"
        );
    }

    #[test]
    fn a_failed_write_names_the_file_and_the_value() {
        let e = enable(Path::new("/nonexistent-cgroup")).map(|_| ()).err();
        assert!(e.is_none(), "no controllers listed: nothing to write");
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("cgroup.controllers"), "pids").unwrap();
        std::fs::create_dir(t.path().join("cgroup.subtree_control")).unwrap();
        let e = enable(t.path()).unwrap_err().to_string();
        assert!(
            e.starts_with("failed to write +pids to ") && e.contains("cgroup.subtree_control"),
            "{e}"
        );
    }

    /// A fake cgroupfs in a tempdir that plays the kernel's rules the namespace-root
    /// case rests on: a pid written to a cgroup.procs leaves the cgroup.procs it was
    /// in; a cgroup holding processes may not give controllers (EBUSY) unless it is
    /// the hierarchy's real root; `gone` pids have exited (ESRCH); each move of
    /// `forker` makes a child appear in the root once.
    struct FakeKernel {
        root: PathBuf,
        real_root: bool,
        gone: Vec<i32>,
        forker: Option<i32>,
        forked: std::cell::Cell<bool>,
    }

    impl FakeKernel {
        fn new(root: &Path, real_root: bool, procs: &str) -> FakeKernel {
            std::fs::write(root.join("cgroup.controllers"), "cpuset cpu io memory pids\n").unwrap();
            std::fs::write(root.join("cgroup.subtree_control"), "").unwrap();
            std::fs::write(root.join("cgroup.procs"), procs).unwrap();
            FakeKernel {
                root: root.to_path_buf(),
                real_root,
                gone: Vec::new(),
                forker: None,
                forked: std::cell::Cell::new(false),
            }
        }

        fn procs(&self, dir: &Path) -> Vec<String> {
            std::fs::read_to_string(dir.join("cgroup.procs"))
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect()
        }
    }

    impl CgroupFiles for FakeKernel {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            std::fs::read_to_string(path)
        }
        fn write(&self, path: &Path, data: &str) -> std::io::Result<()> {
            let dir = path.parent().unwrap();
            match path.file_name().and_then(|n| n.to_str()) {
                Some("cgroup.subtree_control") => {
                    if dir == self.root && !self.real_root && !self.procs(dir).is_empty() {
                        return Err(std::io::Error::from_raw_os_error(libc::EBUSY));
                    }
                    std::fs::write(path, data)
                }
                Some("cgroup.procs") => {
                    let pid: i32 = data.trim().parse().unwrap();
                    let mut left = self.procs(&self.root);
                    left.retain(|p| *p != data.trim());
                    if self.gone.contains(&pid) {
                        // It exited: gone from every cgroup.procs.
                        std::fs::write(self.root.join("cgroup.procs"), left.join("\n")).unwrap();
                        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                    }
                    if self.forker == Some(pid) && !self.forked.replace(true) {
                        left.push("999".into());
                    }
                    std::fs::write(self.root.join("cgroup.procs"), left.join("\n")).unwrap();
                    let mut there = self.procs(dir);
                    there.push(data.trim().into());
                    std::fs::write(path, there.join("\n"))
                }
                _ => std::fs::write(path, data),
            }
        }
        fn make_dir(&self, path: &Path) -> std::io::Result<()> {
            std::fs::create_dir(path)
        }
    }

    #[test]
    fn a_namespace_root_moves_its_processes_into_init_then_gives_controllers() {
        let t = tempfile::tempdir().unwrap();
        let mut k = FakeKernel::new(t.path(), false, "1\n7\n12\n");
        k.gone = vec![12];
        k.forker = Some(7);
        let r = enable_root_with(&k, t.path()).unwrap();
        assert_eq!(
            r,
            RootEnabled::Moved {
                leaf: t.path().join("init"),
                pids: vec![1, 7, 999]
            }
        );
        assert!(k.procs(t.path()).is_empty(), "the root holds no process");
        assert_eq!(k.procs(&t.path().join("init")), ["1", "7", "999"]);
        assert_eq!(
            std::fs::read_to_string(t.path().join("cgroup.subtree_control")).unwrap(),
            "+memory +pids +cpu +io +cpuset"
        );
    }

    #[test]
    fn the_real_root_gives_controllers_and_keeps_its_processes() {
        let t = tempfile::tempdir().unwrap();
        let k = FakeKernel::new(t.path(), true, "1\n7\n");
        assert_eq!(enable_root_with(&k, t.path()).unwrap(), RootEnabled::Given);
        assert_eq!(k.procs(t.path()), ["1", "7"], "nothing moved");
        assert!(!t.path().join("init").exists(), "no leaf made");
    }

    #[test]
    fn another_refusal_is_returned_as_it_came_and_nothing_moves() {
        let t = tempfile::tempdir().unwrap();
        let k = FakeKernel::new(t.path(), true, "1\n");
        // EISDIR, not EBUSY: not the namespace-root refusal.
        std::fs::remove_file(t.path().join("cgroup.subtree_control")).unwrap();
        std::fs::create_dir(t.path().join("cgroup.subtree_control")).unwrap();
        let e = enable_root_with(&k, t.path()).unwrap_err().to_string();
        assert!(
            e.starts_with("failed to write +memory +pids +cpu +io +cpuset to"),
            "{e}"
        );
        assert_eq!(k.procs(t.path()), ["1"]);
        assert!(!t.path().join("init").exists());
    }

    #[test]
    fn a_root_that_keeps_filling_is_given_up_with_its_pids() {
        struct Endless(FakeKernel);
        impl CgroupFiles for Endless {
            fn read(&self, path: &Path) -> std::io::Result<String> {
                // A fork storm: the root always shows a process.
                if path == self.0.root.join("cgroup.procs") {
                    return Ok("42\n".into());
                }
                self.0.read(path)
            }
            fn write(&self, path: &Path, data: &str) -> std::io::Result<()> {
                self.0.write(path, data)
            }
            fn make_dir(&self, path: &Path) -> std::io::Result<()> {
                self.0.make_dir(path)
            }
        }
        let t = tempfile::tempdir().unwrap();
        let k = Endless(FakeKernel::new(t.path(), false, "42\n"));
        let e = enable_root_with(&k, t.path()).unwrap_err().to_string();
        assert!(e.contains("still holds processes [42] after 20 rounds"), "{e}");
    }

    #[test]
    fn the_scope_command_reexecutes_the_same_program() {
        let v = scope_command(
            Path::new("/usr/bin/systemd-run"),
            "lab-check-7",
            Path::new("/t/labcheck"),
            &["--topic".into(), "cgroups".into()],
        );
        let s: Vec<String> = v.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            s[..6],
            [
                "/usr/bin/systemd-run",
                "--scope",
                "--quiet",
                "--collect",
                "-p",
                "Delegate=yes"
            ]
        );
        assert_eq!(
            s[s.len() - 5..],
            ["--unit=lab-check-7", "--", "/t/labcheck", "--topic", "cgroups"]
        );
    }
}
