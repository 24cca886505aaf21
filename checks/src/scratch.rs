//! Where the checker prepares its files: root file systems, layers, the overlay
//! upper and work directories it hands to the runtime, loop files, the probe's
//! copies. They go on a file system the kernel accepts for all of them, or the
//! runtime would be graded for the checker's placement.
//!
//! The temporary directory is used when it fits. Inside a container it often does
//! not: Docker's /tmp is on the container's overlay root (the kernel refuses an
//! overlay upper layer there), and `--tmpfs /tmp` is mounted noexec (the probe cannot
//! run). Then the checker mounts a tmpfs of its own, in a mount namespace of its own,
//! so nothing of it outlives the run; or the user names a directory in `LAB_SCRATCH`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use labkit::state::Item;

/// The environment variable naming the directory the checker prepares its files in.
pub const SCRATCH_ENV: &str = "LAB_SCRATCH";

/// The least free space the checks need (a loop file of 80 MiB, layers, uppers,
/// several checks at once), with room to spare.
pub const MIN_FREE: u64 = 256 << 20;

const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;

static BASE: OnceLock<PathBuf> = OnceLock::new();
static OWN_TMPFS: OnceLock<PathBuf> = OnceLock::new();

/// The directory the checker's scratch directories go in: what [`place`] chose, or
/// the temporary directory where it was not called (unit tests, listings).
pub fn base() -> PathBuf {
    BASE.get().cloned().unwrap_or_else(std::env::temp_dir)
}

/// What the checker saw of a directory it might prepare its files in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// `f_type` of statfs(2).
    pub fs_magic: i64,
    pub read_only: bool,
    pub noexec: bool,
    /// Bytes free (`f_bavail` × `f_frsize`).
    pub free: u64,
    /// The kernel's answer to a trial overlay whose upper and work directories are
    /// in it: `None` when it mounted, else the error.
    pub overlay_refused: Option<String>,
}

/// Why the directory cannot hold the checker's files; empty when it can.
pub fn unfit_reasons(seen: &Seen) -> Vec<String> {
    let mut why = Vec::new();
    if seen.read_only {
        why.push("it is mounted read-only".to_string());
    }
    if seen.noexec {
        why.push("it is mounted noexec, so the probe copied there could not run".to_string());
    }
    if seen.fs_magic == OVERLAYFS_SUPER_MAGIC {
        why.push("it is on an overlay, which the kernel refuses as an overlay's upper layer".to_string());
    } else if let Some(e) = &seen.overlay_refused {
        why.push(format!("the kernel refuses an overlay upper layer there ({e})"));
    }
    if seen.free < MIN_FREE {
        why.push(format!(
            "{} MiB free, under the {} MiB the checks need",
            seen.free >> 20,
            MIN_FREE >> 20
        ));
    }
    why
}

/// Looks at `dir`: its file system, its mount flags, its free space, and whether the
/// kernel mounts an overlay with its upper layer there (tried in a child of its own
/// mount namespace, so no mount outlives the trial).
pub fn look(dir: &Path) -> Result<Seen, String> {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let vfs = statvfs(dir).map_err(|e| format!("statvfs {}: {e}", dir.display()))?;
    let fs = nix::sys::statfs::statfs(dir).map_err(|e| format!("statfs {}: {e}", dir.display()))?;
    let mut seen = Seen {
        fs_magic: fs.filesystem_type().0 as i64,
        read_only: vfs.flags().contains(FsFlags::ST_RDONLY),
        noexec: vfs.flags().contains(FsFlags::ST_NOEXEC),
        free: vfs.blocks_available() as u64 * vfs.fragment_size() as u64,
        overlay_refused: None,
    };
    if !seen.read_only && seen.fs_magic != OVERLAYFS_SUPER_MAGIC {
        seen.overlay_refused = trial_overlay(dir)?;
    }
    Ok(seen)
}

/// Mounts an overlay whose upper and work directories are in `dir`, in a forked
/// child that first takes a mount namespace of its own; `Some(error)` when the
/// kernel refuses. The caller is single-threaded (see [`place`]), so the child may
/// run Rust.
fn trial_overlay(dir: &Path) -> Result<Option<String>, String> {
    use nix::mount::{mount, MsFlags};
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    let trial = dir.join(format!("lab-scratch-trial-{}", std::process::id()));
    let item = Item::Dir { path: trial.clone() };
    crate::state::add(&item);
    let made = ["l", "u", "w", "m"]
        .iter()
        .try_for_each(|d| std::fs::create_dir_all(trial.join(d)));
    let result = match made {
        Err(e) => Ok(Some(format!("making {}: {e}", trial.display()))),
        // SAFETY: the process is single-threaded here (checked by `place`).
        Ok(()) => match unsafe { fork() } {
            Err(e) => Err(format!("fork for the trial overlay: {e}")),
            Ok(ForkResult::Child) => {
                // A slave of every mount: the trial's overlay reaches no other namespace.
                let code = match labkit::mountinfo::enter_private_namespace() {
                    Err(_) => nix::errno::Errno::EPERM as i32,
                    Ok(()) => {
                        let opts = format!(
                            "lowerdir={},upperdir={},workdir={}",
                            trial.join("l").display(),
                            trial.join("u").display(),
                            trial.join("w").display()
                        );
                        mount(
                            Some("overlay"),
                            &trial.join("m"),
                            Some("overlay"),
                            MsFlags::empty(),
                            Some(opts.as_str()),
                        )
                        .map_or_else(|e| e as i32, |()| 0)
                    }
                };
                // SAFETY: ends the child without running the parent's destructors.
                unsafe { libc::_exit(code) }
            }
            Ok(ForkResult::Parent { child }) => match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, 0)) => Ok(None),
                Ok(WaitStatus::Exited(_, errno)) => Ok(Some(nix::errno::Errno::from_raw(errno).to_string())),
                other => Err(format!("the trial overlay's child ended as {other:?}")),
            },
        },
    };
    let _ = std::fs::remove_dir_all(&trial);
    crate::state::done(&item);
    result
}

fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().eq(["Threads:", "1"]))
}

/// Chooses where the checker prepares its files, before the first check. Must run
/// before any thread (it may fork and take a mount namespace). `Ok(Some(line))`
/// says what it chose when that is not the plain temporary directory; `Err` names a
/// directory that cannot serve and why (the caller exits 2).
pub fn place() -> Result<Option<crate::text::Text>, String> {
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_default();
    let unprivileged = !nix::unistd::geteuid().is_root()
        || !crate::cgview::unprivileged_reasons(
            &read("/proc/self/status"),
            &read("/proc/self/uid_map"),
            &read("/proc/self/mountinfo"),
        )
        .is_empty();
    if unprivileged {
        // Nothing to mount with: the preflight refuses such a place with its own message.
        return Ok(None);
    }
    if !single_threaded() {
        return Err("the scratch must be placed before any thread starts (a bug of the checker)".to_string());
    }
    if let Some(named) = std::env::var_os(SCRATCH_ENV) {
        let dir = PathBuf::from(&named);
        if !dir.is_absolute() || !dir.is_dir() {
            return Err(format!(
                "{SCRATCH_ENV}={}: not an existing directory given by its absolute path",
                dir.display()
            ));
        }
        refuse_unfit(&dir, &format!("{SCRATCH_ENV}={}", dir.display()))?;
        let _ = BASE.set(dir.clone());
        return Ok(Some(crate::t!(
            "scratch: {SCRATCH_ENV}={}",
            "검사기 작업 영역: {SCRATCH_ENV}={}",
            dir.display()
        )));
    }
    let tmp = std::env::temp_dir();
    let why = unfit_reasons(&look(&tmp)?);
    if why.is_empty() {
        let _ = BASE.set(tmp);
        return Ok(None);
    }
    let own = own_tmpfs(&tmp)?;
    let _ = BASE.set(own.clone());
    // The reasons are the host's details, given in English only.
    let (tmp, why, own) = (tmp.display(), why.join("; "), own.display());
    Ok(Some(crate::t!(
        "scratch: {tmp} cannot hold the checker's files ({why}): they go in a tmpfs of the checker's own at {own}, in its own mount namespace ({SCRATCH_ENV}=DIR names another place)",
        "검사기 작업 영역: {tmp}에는 검사기의 파일을 둘 수 없어 검사기 자신의 마운트 네임스페이스 안의 tmpfs {own}에 둡니다(다른 곳은 {SCRATCH_ENV}=DIR로 정합니다)"
    )))
}

/// A tmpfs at `parent/lab-scratch-PID`, mounted in a new mount namespace of the
/// checker's. The mount holding the mount point becomes a slave first, so the tmpfs
/// does not propagate back to the namespace the checker came from; the tmpfs itself
/// is shared, so a runtime's mount namespace copied from the checker's stays its
/// peer (a runtime that does not make its mounts private shows, as on a host).
fn own_tmpfs(parent: &Path) -> Result<PathBuf, String> {
    use nix::mount::{mount, MsFlags};
    let dir = parent.join(format!("lab-scratch-{}", std::process::id()));
    let item = Item::Dir { path: dir.clone() };
    crate::state::add(&item);
    let made = (|| {
        std::fs::create_dir(&dir).map_err(|e| format!("making {}: {e}", dir.display()))?;
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .map_err(|e| format!("taking a mount namespace of the checker's own: {e}"))?;
        let holder = holding_mount(&dir);
        mount(
            None::<&str>,
            holder.as_str(),
            None::<&str>,
            MsFlags::MS_SLAVE,
            None::<&str>,
        )
        .map_err(|e| format!("making the mount {holder} a slave in the checker's namespace: {e}"))?;
        mount(Some("tmpfs"), &dir, Some("tmpfs"), MsFlags::empty(), Some("mode=0755"))
            .map_err(|e| format!("mounting a tmpfs on {}: {e}", dir.display()))?;
        mount(None::<&str>, &dir, None::<&str>, MsFlags::MS_SHARED, None::<&str>)
            .map_err(|e| format!("making {} shared: {e}", dir.display()))?;
        refuse_unfit(&dir, &format!("the checker's own tmpfs at {}", dir.display()))?;
        Ok(())
    })();
    match made {
        Ok(()) => {
            let _ = OWN_TMPFS.set(dir.clone());
            Ok(dir)
        }
        Err(e) => {
            remove(&item);
            Err(e)
        }
    }
}

/// `Err` saying why `what` (naming `dir`) cannot hold the checker's files.
fn refuse_unfit(dir: &Path, what: &str) -> Result<(), String> {
    let why = unfit_reasons(&look(dir)?);
    if why.is_empty() {
        Ok(())
    } else {
        Err(format!("{what} cannot hold the checker's files: {}", why.join("; ")))
    }
}

/// The mount point of the mount that holds `path` (the longest that is a prefix).
fn holding_mount(path: &Path) -> String {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    labkit::mountinfo::parse_mountinfo(&text)
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| path.starts_with(p))
        .max_by_key(|p| p.len())
        .unwrap_or_else(|| "/".to_string())
}

fn remove(item: &Item) {
    let mut c = labkit::state::Cleanup::default();
    labkit::state::cleanup_items(std::slice::from_ref(item), &mut c);
    for l in &c.failed {
        eprintln!("warning: {l}");
    }
    crate::state::done(item);
}

/// Unmounts and removes the checker's own tmpfs, if [`place`] made one. Called when
/// the run ends, normally or by a signal.
pub fn remove_own() {
    if let Some(dir) = OWN_TMPFS.get() {
        remove(&Item::Dir { path: dir.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit() -> Seen {
        Seen {
            fs_magic: 0x0102_1994, // tmpfs
            free: 1 << 30,
            ..Seen::default()
        }
    }

    #[test]
    fn a_tmpfs_with_room_fits() {
        assert!(unfit_reasons(&fit()).is_empty());
    }

    #[test]
    fn an_overlay_is_refused_as_the_upper_layers_home() {
        let why = unfit_reasons(&Seen {
            fs_magic: OVERLAYFS_SUPER_MAGIC,
            ..fit()
        });
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(why[0].contains("on an overlay"), "{why:?}");
    }

    #[test]
    fn noexec_read_only_small_and_refused_each_name_their_cause() {
        let why = unfit_reasons(&Seen {
            read_only: true,
            noexec: true,
            free: 10 << 20,
            overlay_refused: Some("EINVAL: Invalid argument".into()),
            ..fit()
        });
        let joined = why.join(" | ");
        for want in [
            "read-only",
            "noexec",
            "refuses an overlay upper layer there (EINVAL",
            "10 MiB free",
        ] {
            assert!(joined.contains(want), "expected {want:?} in {joined}");
        }
    }

    #[test]
    fn base_is_the_temporary_directory_until_placed() {
        assert_eq!(base(), std::env::temp_dir());
    }

    #[test]
    fn the_holding_mount_is_the_longest_prefix() {
        // "/" holds everything; /proc is a mount point of its own on any Linux.
        assert_eq!(holding_mount(Path::new("/proc/self")), "/proc");
        assert_eq!(holding_mount(Path::new("/")), "/");
    }
}
