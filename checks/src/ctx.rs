//! What a check works with: the runtime under test, the probe, and a scratch
//! directory it owns (removed afterwards, with anything a runtime left mounted in it).

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::cgview::ScratchParent;
use crate::outcome::{broken, fail, Outcome};
use crate::runtime::{bin_dir, Run, Runtime, Spawned};

pub struct Ctx {
    pub rt: Runtime,
    probe: PathBuf,
    scratch: tempfile::TempDir,
    rootfs: OnceCell<PathBuf>,
    cgroup_parent: OnceCell<ScratchParent>,
    notes: std::cell::RefCell<Vec<String>>,
}

/// Scratch directories and parent cgroups of the checks in flight, so that a run
/// ended by a signal (the grader's) can still remove them: [`cleanup_live`].
static LIVE: std::sync::Mutex<Vec<(PathBuf, Option<ScratchParent>)>> = std::sync::Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<(PathBuf, Option<ScratchParent>)>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Kills the containers of the checks in flight (every process in their parent
/// cgroups), so that those checks end quickly and clean up after themselves.
pub fn kill_live_containers() {
    let parents: Vec<ScratchParent> = live().iter().filter_map(|(_, p)| p.clone()).collect();
    for p in parents {
        for d in p.tree.own_dirs() {
            kill_below(&d.join(&p.rel));
        }
    }
}

fn kill_below(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                kill_below(&e.path());
            }
        }
    }
    let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
    if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// Removes what the checks in flight made (their containers are killed through
/// their parent cgroups; the runtimes then clean up after themselves). For a
/// process about to exit without running the checks' own cleanup.
pub fn cleanup_live() {
    let entries: Vec<_> = live().drain(..).collect();
    for (scratch, parent) in entries {
        if let Some(p) = parent {
            let _ = p.remove();
        }
        unmount_below(&scratch);
        let _ = std::fs::remove_dir_all(&scratch);
    }
}

fn unmount_below(root: &Path) {
    let root = root.to_string_lossy().into_owned();
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else { return };
    let mut points: Vec<String> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(unescape_mount_path))
        .filter(|p| p.starts_with(&root))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = nix::mount::umount2(p.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
}

/// The environment variable naming the parent of containers' cgroups (the contract).
pub const CGROUP_PARENT_ENV: &str = "LAB_CGROUP_PARENT";

/// Overlay directories for `--layer/--upper/--work`.
pub struct OverlayDirs {
    pub lower: PathBuf,
    pub upper: PathBuf,
    pub work: PathBuf,
}

impl OverlayDirs {
    pub fn options(&self) -> Vec<String> {
        vec![
            "--layer".into(),
            self.lower.display().to_string(),
            "--upper".into(),
            self.upper.display().to_string(),
            "--work".into(),
            self.work.display().to_string(),
        ]
    }
}

/// The probe built next to the checks (a static binary: it runs in any root).
pub fn probe_path() -> Result<PathBuf, String> {
    let p = bin_dir().join("probe");
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!("the probe is not built at {}: run `cargo build --bins`", p.display()))
    }
}

impl Ctx {
    pub fn new(rt: Runtime) -> Result<Ctx, Outcome> {
        let probe = probe_path().map_err(broken)?;
        let scratch = tempfile::Builder::new()
            .prefix("lab-check-")
            .tempdir()
            .map_err(|e| broken(format!("creating a scratch directory: {e}")))?;
        live().push((scratch.path().to_path_buf(), None));
        Ok(Ctx { rt, probe, scratch, rootfs: OnceCell::new(), cgroup_parent: OnceCell::new(), notes: Default::default() })
    }

    /// A figure the check measured (a throughput, a ratio), shown in the report
    /// whatever the outcome.
    pub fn note(&self, text: impl Into<String>) {
        self.notes.borrow_mut().push(text.into());
    }

    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut self.notes.borrow_mut())
    }

    /// The probe's path on the host, for containers without a root file system.
    pub fn probe(&self) -> &str {
        self.probe.to_str().expect("probe path is UTF-8")
    }

    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// A new empty directory in the scratch area.
    pub fn dir(&self, name: &str) -> Result<PathBuf, Outcome> {
        let p = self.scratch().join(name);
        std::fs::create_dir_all(&p).map_err(|e| broken(format!("creating {}: {e}", p.display())))?;
        Ok(p)
    }

    /// A file owned by host root (0644, "host root's") in directories everyone may
    /// enter, so that a refusal to write it is about the file itself.
    pub fn host_root_file(&self) -> Result<String, Outcome> {
        use std::os::unix::fs::PermissionsExt;
        let d = self.dir("open")?;
        for dir in [self.scratch(), d.as_path()] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(broken)?;
        }
        let f = d.join("root-owned");
        std::fs::write(&f, "host root's").map_err(broken)?;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).map_err(broken)?;
        Ok(f.to_string_lossy().into_owned())
    }

    /// A root file system holding only the probe (as `harness rootfs` makes it),
    /// built once per check.
    pub fn rootfs(&self) -> Result<&Path, Outcome> {
        if self.rootfs.get().is_none() {
            let dir = self.dir("rootfs")?;
            harness::rootfs::write_rootfs(&dir, &self.probe, None)
                .map_err(|e| broken(format!("building a root file system: {e}")))?;
            let _ = self.rootfs.set(dir);
        }
        Ok(self.rootfs.get().expect("set above"))
    }

    /// The rootfs as the single lower layer, with fresh upper and work directories.
    pub fn overlay(&self, name: &str) -> Result<OverlayDirs, Outcome> {
        let lower = self.rootfs()?.to_path_buf();
        Ok(OverlayDirs { lower, upper: self.dir(&format!("{name}-upper"))?, work: self.dir(&format!("{name}-work"))? })
    }

    /// A name no other check or run uses, at most `max` bytes long (interface names
    /// are limited to 15).
    pub fn unique(&self, prefix: &str, max: usize) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let tail = format!("{}x{n}", std::process::id());
        let room = max.saturating_sub(prefix.len()).max(1);
        format!("{prefix}{}", &tail[tail.len().saturating_sub(room)..])
    }

    /// The checker's scratch parent cgroup, made on first use and passed to the
    /// runtime as `LAB_CGROUP_PARENT` from then on; removed with the context.
    pub fn cgroup_parent(&self) -> Result<&ScratchParent, Outcome> {
        if self.cgroup_parent.get().is_none() {
            let rel = self.unique("lab-check-", 40);
            let p = ScratchParent::create(&rel).map_err(|e| broken(format!("making the checker's parent cgroup: {e}")))?;
            if let Some(entry) = live().iter_mut().find(|(s, _)| s == self.scratch.path()) {
                entry.1 = Some(p.clone());
            }
            let _ = self.cgroup_parent.set(p);
        }
        Ok(self.cgroup_parent.get().expect("set above"))
    }

    /// The runtime under test, with `LAB_CGROUP_PARENT` once the check made a parent.
    pub fn runtime(&self) -> Runtime {
        let mut rt = self.rt.clone();
        if let Some(p) = self.cgroup_parent.get() {
            rt.env.push((CGROUP_PARENT_ENV.into(), p.rel.clone()));
        }
        rt
    }

    /// `run` waited for; a runtime that cannot even be started is a host problem.
    pub fn run(&self, options: &[&str], command: &[&str]) -> Result<Run, Outcome> {
        self.run_timeout(options, command, crate::runtime::process_timeout())
    }

    pub fn run_timeout(&self, options: &[&str], command: &[&str], timeout: std::time::Duration) -> Result<Run, Outcome> {
        let rt = self.runtime();
        let r = rt.run_timeout(options, command, timeout);
        if let Some(e) = &r.spawn_error {
            return Err(broken(format!("cannot start the runtime {}: {e}", rt.path.display())));
        }
        Ok(r)
    }

    pub fn spawn(&self, options: &[&str], command: &[&str]) -> Result<Spawned, Outcome> {
        self.runtime().spawn(options, command).map_err(broken)
    }

    /// `RUNTIME pause|resume|stats NAME`.
    pub fn contract(&self, verb: &str, name: &str) -> Run {
        self.runtime().contract(verb, name)
    }

    /// Runs the probe (host path) and returns its last JSON object; anything but
    /// exit 0 with probe output is the runtime's failure.
    pub fn probe_json(&self, options: &[&str], probe_args: &[&str]) -> Result<(Run, Value), Outcome> {
        let mut cmd = vec![self.probe()];
        cmd.extend_from_slice(probe_args);
        self.json_of(options, &cmd)
    }

    /// Runs `command` and returns the last JSON object it printed.
    pub fn json_of(&self, options: &[&str], command: &[&str]) -> Result<(Run, Value), Outcome> {
        let r = self.run(options, command)?;
        let last = r.json_lines().pop();
        match (r.code(), last) {
            (Some(0), Some(v)) => Ok((r, v)),
            (_, last) => {
                let got = match last {
                    Some(v) => format!("{}; last output {v}", r.ending()),
                    None => format!("{}; no probe output", r.ending()),
                };
                Err(fail(format!("the command `{}` to run and exit 0", command.join(" ")), got, &r))
            }
        }
    }

    /// Unmounts anything left mounted under the scratch area (by a runtime that
    /// let a container's mount reach the host), so the scratch can be removed.
    fn unmount_leftovers(&self) {
        unmount_below(self.scratch());
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal.
pub fn unescape_mount_path(s: &str) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = u8::from_str_radix(&s[i + 1..i + 4], 8).unwrap_or(b'?');
            out.push(v as char);
            i += 4;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

impl Drop for Ctx {
    fn drop(&mut self) {
        live().retain(|(s, _)| s != self.scratch.path());
        self.unmount_leftovers();
        if let Some(p) = self.cgroup_parent.get() {
            if let Err(e) = p.remove() {
                eprintln!("warning: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(unescape_mount_path("/tmp/a\\040b"), "/tmp/a b");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
    }
}
