//! The checker's state file: every scratch directory, cgroup, loop device, nftables
//! table and runtime process group a checker makes is written down *before* it is
//! made, and crossed out once it is gone. A checker killed with SIGKILL leaves its
//! file behind; `harness cleanup` reads it and removes exactly what it lists (LTP
//! keeps such a state across invocations too). Nothing is found by guessing names.
//!
//! One file per checker process, `<dir>/checker-<pid>-<starttime>.jsonl`, one JSON
//! object per line: `{"op":"owner",...}` first, then `{"op":"add","item":...}` and
//! `{"op":"done","item":...}`. The file is removed when nothing is left in it.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The environment variable naming the state directory.
pub const STATE_DIR_ENV: &str = "LAB_STATE_DIR";
/// On tmpfs: a reboot ends every checker and every leftover but directories.
pub const DEFAULT_STATE_DIR: &str = "/run/lab-check";

pub fn state_dir() -> PathBuf {
    std::env::var_os(STATE_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| DEFAULT_STATE_DIR.into())
}

/// Something a checker makes on the host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Item {
    /// A scratch directory: removed with whatever is mounted below it.
    Dir { path: PathBuf },
    /// A cgroup directory: its processes are killed, then it is removed with its subtree.
    Cgroup { path: PathBuf },
    /// A cgroup in a v1 hierarchy the host has not mounted (the checker mounted it in
    /// a private mount namespace): `rel` from the hierarchy's root.
    HiddenCgroup { controller: String, rel: PathBuf },
    /// A loop device over this backing file (the device is found from the file).
    Loop { backing: PathBuf },
    /// An nftables table.
    NftTable { family: String, name: String },
    /// A process group leader (a runtime call), identified by pid and start time.
    Process { pid: i32, start: u64 },
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Dir { path } => write!(f, "directory {}", path.display()),
            Item::Cgroup { path } => write!(f, "cgroup {}", path.display()),
            Item::HiddenCgroup { controller, rel } => {
                write!(f, "cgroup {} of the unmounted {controller} hierarchy", rel.display())
            }
            Item::Loop { backing } => write!(f, "loop device over {}", backing.display()),
            Item::NftTable { family, name } => write!(f, "nftables table {family} {name}"),
            Item::Process { pid, .. } => write!(f, "process group {pid}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Line {
    Owner { pid: i32, start: u64 },
    Add { item: Item },
    Done { item: Item },
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("failed to read the state directory {}: {source}", path.display())]
    ReadDir { path: PathBuf, source: std::io::Error },
    #[error("failed to read the state file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the state file {} is not a checker's state: line {line}: {reason}", path.display())]
    Parse { path: PathBuf, line: usize, reason: String },
    #[error("failed to write {item} to the state file {}: {source}", path.display())]
    Write {
        item: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Start time of a process (clock ticks after boot, /proc/PID/stat field 22): with
/// the pid, it names one process even after its pid is reused.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

fn alive(pid: i32, start: u64) -> bool {
    start_time(pid) == Some(start)
}

/// The owner of a state file holds an exclusive flock(2) on it for as long as it
/// lives (the kernel drops it with the process): unlike its pid, that is seen from
/// every PID namespace. A checker that is PID 1 of a container writes the pid its
/// own namespace gave it, which on the host names some other process.
fn lock_as_owner(f: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function borrows; no memory is passed.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether a live checker holds the state file at `path` (see [`lock_as_owner`]).
fn locked_by_its_owner(path: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(f) = File::open(path) else { return false };
    // SAFETY: flock on the descriptor opened above; no memory is passed.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EWOULDBLOCK)
}

/// The writing side, one per checker process.
pub struct Journal {
    dir: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    file: Option<File>,
    live: Vec<Item>,
}

impl Journal {
    pub fn new(dir: impl Into<PathBuf>) -> Journal {
        Journal {
            dir: dir.into(),
            inner: Mutex::new(Inner {
                file: None,
                live: Vec::new(),
            }),
        }
    }

    pub fn path(&self) -> PathBuf {
        let pid = std::process::id() as i32;
        self.dir
            .join(format!("checker-{pid}-{}.jsonl", start_time(pid).unwrap_or(0)))
    }

    /// Writes `item` down; call it before making the thing.
    pub fn add(&self, item: &Item) -> Result<(), StateError> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Known to this process even when the file cannot be written.
        inner.live.push(item.clone());
        let path = self.path();
        let err = |source| StateError::Write {
            item: item.to_string(),
            path: path.clone(),
            source,
        };
        if inner.file.is_none() {
            std::fs::create_dir_all(&self.dir).map_err(err)?;
            // Made under another name, locked, then renamed into place: `harness
            // cleanup` never sees the file unlocked while its checker lives.
            let making = self.dir.join(format!(
                ".making-{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ));
            let mut f = File::options()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&making)
                .map_err(err)?;
            lock_as_owner(&f).map_err(err)?;
            let pid = std::process::id() as i32;
            writeln!(
                f,
                "{}",
                serde_json::to_string(&Line::Owner {
                    pid,
                    start: start_time(pid).unwrap_or(0)
                })
                .expect("serialises")
            )
            .map_err(err)?;
            std::fs::rename(&making, &path).map_err(err)?;
            inner.file = Some(f);
        }
        let line = serde_json::to_string(&Line::Add { item: item.clone() }).expect("serialises");
        // One write per line, so a kill can cut the file only between lines.
        inner
            .file
            .as_mut()
            .expect("opened above")
            .write_all(format!("{line}\n").as_bytes())
            .map_err(err)?;
        Ok(())
    }

    /// Crosses `item` out once it is gone; the file goes when nothing is left in it.
    pub fn done(&self, item: &Item) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Some(i) = inner.live.iter().position(|x| x == item) else {
            return;
        };
        inner.live.remove(i);
        if inner.live.is_empty() {
            if inner.file.take().is_some() {
                let _ = std::fs::remove_file(self.path());
            }
        } else if let Some(f) = inner.file.as_mut() {
            let line = serde_json::to_string(&Line::Done { item: item.clone() }).expect("serialises");
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }

    /// What is written down and not crossed out.
    pub fn live(&self) -> Vec<Item> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).live.clone()
    }
}

/// One state file as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFile {
    pub path: PathBuf,
    pub owner_pid: i32,
    pub owner_start: u64,
    /// Added and not crossed out, in the order they were added.
    pub items: Vec<Item>,
}

impl StateFile {
    /// Its checker still runs: it holds the file's lock (from any PID namespace), or
    /// (a file written before the lock) its pid and start time still name a process.
    pub fn owner_alive(&self) -> bool {
        locked_by_its_owner(&self.path) || alive(self.owner_pid, self.owner_start)
    }
}

pub fn read_state(path: &Path) -> Result<StateFile, StateError> {
    let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
        path: path.into(),
        source,
    })?;
    let mut owner = None;
    let mut items: Vec<Item> = Vec::new();
    for (n, l) in text.lines().enumerate() {
        // A checker killed mid-write leaves at most one cut last line.
        if l.trim().is_empty() || (n + 1 == text.lines().count() && !text.ends_with('\n')) {
            continue;
        }
        let line: Line = serde_json::from_str(l).map_err(|e| StateError::Parse {
            path: path.into(),
            line: n + 1,
            reason: e.to_string(),
        })?;
        match line {
            Line::Owner { pid, start } => owner = Some((pid, start)),
            Line::Add { item } => items.push(item),
            Line::Done { item } => {
                if let Some(i) = items.iter().position(|x| *x == item) {
                    items.remove(i);
                }
            }
        }
    }
    let (owner_pid, owner_start) = owner.ok_or_else(|| StateError::Parse {
        path: path.into(),
        line: 1,
        reason: "no owner line".into(),
    })?;
    Ok(StateFile {
        path: path.into(),
        owner_pid,
        owner_start,
        items,
    })
}

/// Every state file in `dir` (none when the directory does not exist).
pub fn read_dir(dir: &Path) -> Result<Vec<StateFile>, StateError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StateError::ReadDir {
                path: dir.into(),
                source,
            })
        }
    };
    let mut paths: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("checker-"))
        })
        .collect();
    paths.sort();
    paths.iter().map(|p| read_state(p)).collect()
}

/// What a cleanup did, one line each.
#[derive(Debug, Default)]
pub struct Cleanup {
    pub done: Vec<String>,
    pub failed: Vec<String>,
    /// State files of checkers still running, left alone.
    pub running: Vec<(PathBuf, i32)>,
}

/// Removes what the dead checkers of `dir` left (checkers still running are left
/// alone), then their state files.
pub fn cleanup_dir(dir: &Path) -> Result<Cleanup, StateError> {
    let mut c = Cleanup::default();
    for f in read_dir(dir)? {
        if f.owner_alive() {
            c.running.push((f.path.clone(), f.owner_pid));
            continue;
        }
        cleanup_items(&f.items, &mut c);
        if c.failed.is_empty() {
            let _ = std::fs::remove_file(&f.path);
        }
    }
    Ok(c)
}

/// Undoes `items`: processes first (every process in a listed cgroup, every listed
/// process group), so that the mount namespaces they hold go; then mounts below the
/// listed directories, loop devices, nftables tables, cgroups, directories.
// Long: one kind of leftover after another, in the order they must go (processes, mounts, cgroups, the rest).
pub fn cleanup_items(items: &[Item], c: &mut Cleanup) {
    use nix::sys::signal::{kill, killpg, Signal};
    use nix::unistd::Pid;
    let mut cgroups: Vec<PathBuf> = items
        .iter()
        .filter_map(|i| {
            if let Item::Cgroup { path } = i {
                Some(path.clone())
            } else {
                None
            }
        })
        .collect();
    freezer_first(&mut cgroups);
    for item in items {
        if let Item::Process { pid, start } = item {
            if alive(*pid, *start) {
                let _ = killpg(Pid::from_raw(*pid), Signal::SIGKILL);
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
                c.done.push(format!("killed process group {pid}"));
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for cg in &cgroups {
        let n = kill_cgroup_tree(cg, deadline);
        if n > 0 {
            c.done.push(format!("killed {n} processes in cgroup {}", cg.display()));
        }
    }
    for item in items {
        if let Item::Dir { path } = item {
            for m in unmount_below(path) {
                c.done.push(format!("unmounted {m}"));
            }
        }
    }
    for item in items.iter().rev() {
        match item {
            Item::Loop { backing } => {
                for dev in loops_over(backing) {
                    match detach_loop(&dev) {
                        Ok(()) => c
                            .done
                            .push(format!("detached {} ({})", dev.display(), backing.display())),
                        Err(e) => c.failed.push(format!("detaching {}: {e}", dev.display())),
                    }
                }
            }
            Item::NftTable { family, name } => {
                let exists = std::process::Command::new("nft")
                    .args(["list", "table", family, name])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if exists {
                    match std::process::Command::new("nft")
                        .args(["delete", "table", family, name])
                        .output()
                    {
                        Ok(o) if o.status.success() => c.done.push(format!("deleted nftables table {family} {name}")),
                        Ok(o) => c.failed.push(format!(
                            "nft delete table {family} {name}: {}",
                            String::from_utf8_lossy(&o.stderr).trim()
                        )),
                        Err(e) => c.failed.push(format!("running nft: {e}")),
                    }
                }
            }
            _ => {}
        }
    }
    for cg in cgroups.iter().rev() {
        if cg.exists() {
            match remove_cgroup_tree(cg, deadline) {
                Ok(()) => c.done.push(format!("removed cgroup {}", cg.display())),
                Err(e) => c.failed.push(e),
            }
        }
    }
    let hidden: Vec<(&String, &PathBuf)> = items
        .iter()
        .filter_map(|i| {
            if let Item::HiddenCgroup { controller, rel } = i {
                Some((controller, rel))
            } else {
                None
            }
        })
        .collect();
    if !hidden.is_empty() {
        match remove_hidden_cgroups(&hidden, deadline) {
            Ok(done) => c.done.extend(done),
            Err(e) => c.failed.push(e),
        }
    }
    for item in items.iter().rev() {
        if let Item::Dir { path } = item {
            if path.exists() {
                match std::fs::remove_dir_all(path) {
                    Ok(()) => c.done.push(format!("removed directory {}", path.display())),
                    Err(e) => c.failed.push(format!("removing {}: {e}", path.display())),
                }
            }
        }
    }
}

/// Mounts each hierarchy in a private mount namespace of a short-lived thread,
/// removes the listed cgroups there, and lets the namespace go. An unmounted v1 hierarchy lives on while it has cgroups; mounting
/// the same controller again reaches it.
fn remove_hidden_cgroups(hidden: &[(&String, &PathBuf)], deadline: Instant) -> Result<Vec<String>, String> {
    let owned: Vec<(String, PathBuf)> = hidden.iter().map(|(c, r)| ((*c).clone(), (*r).clone())).collect();
    std::thread::spawn(move || -> Result<Vec<String>, String> {
        use nix::mount::{mount, umount2, MntFlags, MsFlags};
        crate::mountinfo::enter_private_namespace()?;
        let mut done = Vec::new();
        for (controller, rel) in owned {
            // Only mounted while the hierarchy is still there: a fresh mount would make it.
            let alive = std::fs::read_to_string("/proc/cgroups")
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() >= 2 && f[0] == controller && f[1] != "0"
                });
            if !alive {
                continue;
            }
            let mnt = tempfile_dir()?;
            mount(
                Some("cgroup"),
                &mnt,
                Some("cgroup"),
                MsFlags::empty(),
                Some(controller.as_str()),
            )
            .map_err(|e| format!("mounting the {controller} hierarchy on {}: {e}", mnt.display()))?;
            let dir = mnt.join(&rel);
            // The kernel destroys a v1 hierarchy at unmount only if its root has no child
            // then, and a removed cgroup stays a child until it is released: unmounting
            // at once could leave the hierarchy behind for good. So wait for the count.
            let before = proc_cgroups_count(&controller);
            let removed = cgroup_dirs_in(&dir);
            let r = if dir.exists() {
                remove_cgroup_tree(&dir, deadline)
            } else {
                Ok(())
            };
            if let (Some(before), Ok(())) = (before, &r) {
                while proc_cgroups_count(&controller).is_some_and(|c| c + removed > before) && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            let _ = umount2(&mnt, MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir(&mnt);
            r?;
            done.push(format!(
                "removed cgroup {} of the unmounted {controller} hierarchy",
                rel.display()
            ));
        }
        Ok(done)
    })
    .join()
    .unwrap_or_else(|_| Err("the thread removing hidden cgroups panicked".into()))
}

/// How many cgroups /proc/cgroups counts in `controller`'s hierarchy (released ones
/// leave the count late).
pub fn proc_cgroups_count(controller: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/cgroups").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() >= 3 && f[0] == controller)
            .then(|| f[2].parse().ok())
            .flatten()
    })
}

/// Cgroup directories at and below `dir` (0 when it is gone).
fn cgroup_dirs_in(dir: &Path) -> u64 {
    if !dir.is_dir() {
        return 0;
    }
    1 + std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| cgroup_dirs_in(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}

fn tempfile_dir() -> Result<PathBuf, String> {
    let p = std::env::temp_dir().join(format!("lab-cleanup-{}", std::process::id()));
    std::fs::create_dir_all(&p).map_err(|e| format!("creating {}: {e}", p.display()))?;
    Ok(p)
}

/// Every pid in `dir` and below (nothing for a tree that is gone or unreadable).
fn pids_in_tree(dir: &Path) -> BTreeSet<i32> {
    let mut pids = BTreeSet::new();
    let _ = crate::cgroups::common::pids_recursive(dir, &mut pids);
    pids
}

/// Writes to every cgroup directory at and below `dir` (a freezer file, say).
fn write_in_tree(dir: &Path, file: &str, data: &str) {
    let _ = std::fs::write(dir.join(file), data);
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
            write_in_tree(&e.path(), file, data);
        }
    }
}

/// Kills every process in `dir` and below until none is left; returns how many
/// were signalled. A fork bomb forks while it is being killed, so the tree is
/// frozen first where the kernel can (v1 freezer hierarchy; v2 has cgroup.kill,
/// which kills the whole tree at once), killed, then thawed so the kills land.
pub fn kill_cgroup_tree(dir: &Path, deadline: Instant) -> usize {
    use crate::cgroups::common::kill_all;
    let mut killed = 0;
    if dir.join("freezer.state").exists() && !pids_in_tree(dir).is_empty() {
        let _ = std::fs::write(dir.join("freezer.state"), "FROZEN");
        let until = Instant::now() + Duration::from_secs(2);
        while std::fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() != "FROZEN")
            && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let pids = pids_in_tree(dir);
        kill_all(&pids);
        killed += pids.len();
    }
    loop {
        // Frozen tasks cannot die: thaw (v1 freezer, v2 cgroup.freeze).
        write_in_tree(dir, "freezer.state", "THAWED");
        write_in_tree(dir, "cgroup.freeze", "0");
        if dir.join("cgroup.kill").exists() {
            let _ = std::fs::write(dir.join("cgroup.kill"), "1");
        }
        let pids = pids_in_tree(dir);
        kill_all(&pids);
        killed += pids.len();
        if pids.is_empty() || Instant::now() > deadline {
            return killed;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Cgroup directories with those of the v1 freezer hierarchy first: killing there
/// (frozen) ends a fork bomb at once; the other hierarchies then hold only the dying.
pub fn freezer_first(dirs: &mut [PathBuf]) {
    dirs.sort_by_key(|d| !d.join("freezer.state").exists());
}

/// Kills what is left in `dir` and below, then removes the tree deepest first
/// (rmdir waits out tasks still exiting until `deadline`).
pub fn remove_cgroup_tree(dir: &Path, deadline: Instant) -> Result<(), String> {
    kill_cgroup_tree(dir, deadline);
    crate::cgroups::common::remove_tree(dir, deadline).map_err(|e| e.to_string())
}

/// Mount points of the calling thread's mount namespace.
pub fn mount_points() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap_or_default();
    crate::mountinfo::parse_mountinfo(&text)
        .into_iter()
        .map(|m| m.mount_point)
        .collect()
}

/// Unmounts (lazily, deepest first) everything mounted at or below `root` in the
/// calling thread's mount namespace; returns the mount points.
pub fn unmount_below(root: &Path) -> Vec<String> {
    let root = root.to_string_lossy().into_owned();
    let mut points: Vec<String> = mount_points()
        .into_iter()
        .filter(|p| p == &root || p.starts_with(&format!("{}/", root.trim_end_matches('/'))))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in &points {
        let _ = nix::mount::umount2(p.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
    points
}

/// Loop devices whose backing file is `backing` (sysfs shows the path, with
/// " (deleted)" once the file is gone).
pub fn loops_over(backing: &Path) -> Vec<PathBuf> {
    let want = backing.to_string_lossy().into_owned();
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/sys/block") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("loop") {
                continue;
            }
            let Ok(b) = std::fs::read_to_string(e.path().join("loop/backing_file")) else {
                continue;
            };
            let b = b.trim_end_matches('\n');
            if b == want || b.strip_suffix(" (deleted)") == Some(want.as_str()) {
                v.push(PathBuf::from("/dev").join(name));
            }
        }
    }
    v
}

/// LOOP_CLR_FD: a device still open is detached by the kernel on its last close.
pub fn detach_loop(dev: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
    let f = File::open(dev)?;
    // SAFETY: LOOP_CLR_FD takes no argument and touches no memory of ours.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), LOOP_CLR_FD as _, 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_written_down_and_crossed_out_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        let a = Item::Dir { path: "/tmp/a".into() };
        let b = Item::Cgroup {
            path: "/sys/fs/cgroup/pids/x".into(),
        };
        let c = Item::NftTable {
            family: "inet".into(),
            name: "t".into(),
        };
        j.add(&a).unwrap();
        j.add(&b).unwrap();
        j.add(&c).unwrap();
        j.done(&b);
        let files = read_dir(dir.path()).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].items, vec![a.clone(), c.clone()]);
        assert_eq!(files[0].owner_pid, std::process::id() as i32);
        assert!(files[0].owner_alive(), "this process owns it");
        j.done(&a);
        j.done(&c);
        assert!(
            read_dir(dir.path()).unwrap().is_empty(),
            "the file goes with its last item"
        );
    }

    #[test]
    fn a_cut_last_line_is_ignored_and_garbage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checker-1-1.jsonl");
        std::fs::write(&p, "{\"op\":\"owner\",\"pid\":1,\"start\":1}\n{\"op\":\"add\",\"item\":{\"kind\":\"dir\",\"path\":\"/x\"}}\n{\"op\":\"ad").unwrap();
        let f = read_state(&p).unwrap();
        assert_eq!(f.items, vec![Item::Dir { path: "/x".into() }]);
        std::fs::write(&p, "not json\n").unwrap();
        let e = read_state(&p).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains(&p.display().to_string()), "{e}");
    }

    /// A checker in another PID namespace (PID 1 of a container) wrote a pid that names
    /// no process here: its lock says it lives, and once the lock is gone it is dead.
    #[test]
    fn an_owner_in_another_pid_namespace_is_alive_by_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checker-2-1.jsonl");
        std::fs::write(&p, "{\"op\":\"owner\",\"pid\":2,\"start\":1}\n").unwrap();
        let held = File::open(&p).unwrap();
        lock_as_owner(&held).unwrap();
        let f = read_state(&p).unwrap();
        assert!(
            f.owner_alive(),
            "locked: its checker lives, whatever its pid names here"
        );
        let c = cleanup_dir(dir.path()).unwrap();
        assert_eq!(c.running.len(), 1, "left alone: {c:?}");
        drop(held);
        assert!(!f.owner_alive(), "the lock went with its owner");
        // And a journal's own file is locked from its first line.
        let j = Journal::new(dir.path().join("j"));
        j.add(&Item::Dir {
            path: "/nonexistent".into(),
        })
        .unwrap();
        let files = read_dir(&dir.path().join("j")).unwrap();
        assert!(files.len() == 1 && locked_by_its_owner(&files[0].path), "{files:?}");
        assert!(
            std::fs::read_dir(dir.path().join("j")).unwrap().count() == 1,
            "no .making- file left"
        );
    }

    #[test]
    fn a_dead_owner_is_told_from_a_reused_pid() {
        let me = std::process::id() as i32;
        let start = start_time(me).unwrap();
        assert!(alive(me, start));
        assert!(!alive(me, start + 1), "same pid, other start time: another process");
    }

    #[test]
    fn cleanup_removes_listed_directories_and_leaves_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let listed = dir.path().join("listed");
        let other = dir.path().join("other");
        std::fs::create_dir_all(listed.join("deep")).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir_all(&state).unwrap();
        // A dead owner: pid 1 with a start time it never had.
        std::fs::write(
            state.join("checker-1-999999999.jsonl"),
            format!(
                "{{\"op\":\"owner\",\"pid\":1,\"start\":999999999}}\n{}\n",
                serde_json::to_string(&Line::Add {
                    item: Item::Dir { path: listed.clone() }
                })
                .unwrap()
            ),
        )
        .unwrap();
        let c = cleanup_dir(&state).unwrap();
        assert!(c.failed.is_empty(), "{:?}", c.failed);
        assert!(!listed.exists() && other.exists());
        assert_eq!(c.done, vec![format!("removed directory {}", listed.display())]);
        assert!(read_dir(&state).unwrap().is_empty(), "the state file is removed");
    }
}
