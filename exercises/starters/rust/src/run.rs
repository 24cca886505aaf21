//! The given part of `run`: the order of the steps, the start of the
//! container's first process, the "go" handshake, `--pid-file`, signal
//! forwarding, the exit status and the clean-up. The steps themselves are in
//! `steps/`; this file only calls the ones the options ask for.
//!
//! ```text
//! HOST SIDE (the runtime)                      CONTAINER SIDE (container_main)
//! cgroup: create it, write the limits
//! clone(2) with the namespaces' flags   ---->  first process (PID 1 with pid):
//! join the cgroup, write uid/gid maps,           parent-death signal, then waits
//! mount the overlay (--layer) into the           for "go" on a pipe ...
//! child's mount namespace, set up the veth,
//! write --pid-file, then "go"           ---->  ... become root (user), unshare
//!                                                cgroup/time, set the host name,
//! wait, forwarding SIGTERM/SIGINT/SIGHUP         mounts and pivot_root (mnt),
//! clean up, exit with COMMAND's status           then init (pid) or exec COMMAND
//! ```
//!
//! Fork safety: this runtime is single-threaded (no threads, ever), so the
//! cloned child may do anything until it executes COMMAND (allocate, print,
//! run steps). If you ever add a thread, only async-signal-safe calls are
//! allowed between clone(2)/fork(2) and execve(2) (see signal-safety(7)).

use std::convert::Infallible;
use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{pipe2, Pid};

use crate::spec::{Namespace, RootFs, RunSpec};
use crate::steps::cgroups::{self, Cgroup};
use crate::steps::{namespaces, overlay};

/// Stack of the cloned child (it gets its own copy of memory: no CLONE_VM).
const STACK_SIZE: usize = 8 << 20;

/// Runs the container and returns COMMAND's exit status (128+N for signal N).
/// An error is a runtime failure: `runtime error: ...`, exit status 125.
pub fn run(spec: &RunSpec) -> Result<i32> {
    let cgroup = match &spec.cgroup {
        Some(name) => Some(cgroups::create(name)?),
        None => None,
    };
    let mut made = Made::default();
    let result = start_and_wait(spec, cgroup.as_ref(), &mut made);
    cleanup(spec, cgroup.as_ref(), &made);
    result
}

/// What this run made on the host, so that cleanup removes exactly that and
/// nothing that was there before (a veth of the same name is someone else's).
#[derive(Default)]
pub struct Made {
    /// Set by `namespaces::net_setup` once it has created the veth pair.
    pub veth: bool,
    /// The overlay's mount point, an empty directory on the host (the overlay
    /// is mounted on it inside the container's mount namespace only: see
    /// `in_mount_namespace`).
    pub root_dir: Option<PathBuf>,
}

fn start_and_wait(spec: &RunSpec, cgroup: Option<&Cgroup>, made: &mut Made) -> Result<i32> {
    // Before the start.
    if let Some(cg) = cgroup {
        cgroups::set_limits(cg, &spec.limits)?;
    }
    let mut flags = CloneFlags::empty();
    for ns in &spec.ns.0 {
        flags |= namespaces::clone_flag(*ns);
    }
    if let Some(RootFs::Overlay { .. }) = &spec.root {
        // Made here, where cleanup finds it again (not in the container).
        let dir = std::env::temp_dir().join(format!("my-runtime-root-{}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        made.root_dir = Some(dir);
    }
    let (go_r, go_w) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    // The forwarded signals and SIGCHLD are blocked and taken with sigwait(2):
    // no signal handlers. The child restores the old mask before it executes COMMAND.
    let mut handled = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGCHLD] {
        handled.add(s);
    }
    let old_mask = handled.thread_swap_mask(SigmaskHow::SIG_BLOCK).context("sigprocmask")?;
    let (r, w) = (go_r.as_raw_fd(), go_w.as_raw_fd());
    let root_dir = made.root_dir.clone();
    let child = spawn(flags, || container_main(spec, r, w, &old_mask, root_dir.as_deref()))?;
    drop(go_r);

    // After the start, before COMMAND runs.
    if let Err(e) = after_start(spec, cgroup, child, &go_w, made) {
        // Killed before the pipe closes: the runtime's own line says why, alone.
        let _ = kill(child, Signal::SIGKILL);
        let _ = waitpid(child, None);
        return Err(e);
    }
    drop(go_w);
    wait_forwarding(child, &handled)
}

fn after_start(spec: &RunSpec, cgroup: Option<&Cgroup>, child: Pid, go_w: &OwnedFd, made: &mut Made) -> Result<()> {
    if let Some(cg) = cgroup {
        cgroups::join(cg, child)?;
    }
    if spec.ns.has(Namespace::User) {
        namespaces::write_id_maps(child, &spec.uid_maps, &spec.gid_maps)?;
    }
    if let (Some(RootFs::Overlay { layers, upper, work }), Some(target)) = (&spec.root, &made.root_dir) {
        // From the host side, with the runtime's privileges: root of a new
        // user namespace cannot mount it (see overlay::mount_overlay). Absolute
        // paths, since setns(2) leaves us at the namespace's `/`.
        let abs =
            |p: &Path| std::fs::canonicalize(p).with_context(|| format!("--layer/--upper/--work {}", p.display()));
        let layers = layers.iter().map(|l| abs(l)).collect::<Result<Vec<_>>>()?;
        let (upper, work) = (abs(upper)?, abs(work)?);
        in_mount_namespace(child, || overlay::mount_overlay(&layers, &upper, &work, target))?;
    }
    if spec.ns.has(Namespace::Net) {
        namespaces::net_setup(child, spec.veth.as_ref(), &mut made.veth)?;
    }
    if let Some(path) = &spec.pid_file {
        std::fs::write(path, format!("{child}\n")).with_context(|| format!("--pid-file {}", path.display()))?;
    }
    nix::unistd::write(go_w, b"g").context("telling the container to go on")?;
    Ok(())
}

/// Runs `f` in the mount namespace of `child` (setns(2) into
/// /proc/PID/ns/mnt), then comes back to the runtime's own namespace and
/// working directory. The child is in its namespace from the clone on: no wait.
fn in_mount_namespace(child: Pid, f: impl FnOnce() -> Result<()>) -> Result<()> {
    use nix::mount::{mount, MsFlags};
    let open = |p: String| File::open(&p).with_context(|| format!("opening {p}"));
    let own = open("/proc/self/ns/mnt".into())?;
    let cwd = open(".".into())?;
    let theirs = open(format!("/proc/{child}/ns/mnt"))?;
    nix::sched::setns(&theirs, CloneFlags::CLONE_NEWNS).with_context(|| format!("setns into /proc/{child}/ns/mnt"))?;
    // Private first: the clone copied the host's shared mounts, and the
    // container makes them private only after "go"; until then a mount here
    // would propagate to the host.
    let none: Option<&str> = None;
    let done = mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .context("making the container's mounts private")
        .and_then(|()| f());
    nix::sched::setns(&own, CloneFlags::CLONE_NEWNS).context("setns back into the runtime's mount namespace")?;
    nix::unistd::fchdir(cwd.as_raw_fd()).context("restoring the working directory")?;
    done
}

/// Starts `f` in a new process, in the namespaces of `flags` (none: a plain fork).
fn spawn<'a>(flags: CloneFlags, f: impl FnMut() -> isize + 'a) -> Result<Pid> {
    let mut stack = vec![0u8; STACK_SIZE];
    // SAFETY: the runtime is single-threaded (see the top of this file), and
    // without CLONE_VM the child runs on its own copy of `stack`.
    let pid = unsafe { nix::sched::clone(Box::new(f), &mut stack, flags, Some(libc::SIGCHLD)) };
    pid.with_context(|| format!("clone({flags:?})"))
}

/// Waits for the container's first process, forwarding SIGTERM, SIGINT and
/// SIGHUP to it. Returns its exit status, or 128+N if signal N killed it.
fn wait_forwarding(child: Pid, handled: &SigSet) -> Result<i32> {
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("waitpid"),
        }
        match handled.wait().context("sigwait")? {
            Signal::SIGCHLD => {}
            sig => {
                let _ = kill(child, sig);
            }
        }
    }
}

fn cleanup(spec: &RunSpec, cgroup: Option<&Cgroup>, made: &Made) {
    let report = |what: &str, r: Result<()>| {
        if let Err(e) = r {
            eprintln!("runtime error: cleaning up {what}: {e:#}");
        }
    };
    if let (Some(v), true) = (&spec.veth, made.veth) {
        report("--veth", namespaces::net_cleanup(v));
    }
    if let Some(cg) = cgroup {
        report("--cgroup", cgroups::remove(cg));
    }
    if let Some(RootFs::Overlay { work, .. }) = &spec.root {
        report("--work", overlay::cleanup(work));
    }
    if let Some(dir) = &made.root_dir {
        // Empty: the overlay was mounted on it in the container's namespace only.
        report(
            "the overlay's mount point",
            std::fs::remove_dir(dir).with_context(|| format!("removing {}", dir.display())),
        );
    }
}

// ------------------------------------------------------------------ container side

/// The container's first process. Never returns: it executes COMMAND (or
/// becomes init), or exits 125 after a `runtime error:` line.
fn container_main(spec: &RunSpec, go_r: RawFd, go_w: RawFd, old_mask: &SigSet, root_dir: Option<&Path>) -> isize {
    let e = match container_steps(spec, go_r, go_w, old_mask, root_dir) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    eprintln!("runtime error: {e:#}");
    // SAFETY: ends this process only.
    unsafe { libc::_exit(125) }
}

fn container_steps(
    spec: &RunSpec,
    go_r: RawFd,
    go_w: RawFd,
    old_mask: &SigSet,
    root_dir: Option<&Path>,
) -> Result<Infallible> {
    // If the runtime dies, the container is killed.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).context("prctl(PR_SET_PDEATHSIG)")?;
    let _ = nix::unistd::close(go_w); // so that the read below sees EOF if the runtime dies
    wait_for_go(go_r)?;
    let _ = nix::unistd::close(go_r);

    let ns = &spec.ns;
    if ns.has(Namespace::User) {
        namespaces::become_root(&spec.uid_maps, &spec.gid_maps)?;
    }
    if ns.has(Namespace::Cgroup) {
        namespaces::unshare_cgroup()?;
    }
    if ns.has(Namespace::Time) {
        namespaces::unshare_time(spec.time_offsets.unwrap_or_default())?;
    }
    if let Some(name) = &spec.hostname {
        namespaces::set_hostname(name)?;
    }
    if ns.has(Namespace::Mnt) {
        namespaces::make_mounts_private()?;
        match &spec.root {
            Some(root) => {
                let new_root = match root {
                    RootFs::Dir(dir) => namespaces::bind_rootfs(dir)?,
                    // Mounted there already, from the host side (after_start).
                    RootFs::Overlay { .. } => root_dir.context("no mount point for the overlay")?.to_path_buf(),
                };
                namespaces::mount_proc_and_dev(&new_root)?;
                namespaces::mask_kernel_files(&new_root)?;
                if ns.has(Namespace::Ipc) {
                    namespaces::mount_mqueue(&new_root)?;
                }
                namespaces::pivot_into(&new_root)?;
            }
            None if ns.has(Namespace::Pid) => namespaces::mount_fresh_proc()?,
            None => {}
        }
    }
    namespaces::close_inherited_fds()?;
    if ns.has(Namespace::Pid) || ns.has(Namespace::Time) {
        // PID 1 of a PID namespace (or the parent that a time namespace needs).
        return namespaces::run_init(&spec.command, old_mask);
    }
    exec_command(&spec.command, old_mask)
}

fn wait_for_go(fd: RawFd) -> Result<()> {
    let mut b = [0u8; 1];
    loop {
        match nix::unistd::read(fd, &mut b) {
            Ok(1) => return Ok(()),
            // The runtime gave up and says why itself: one line, not two.
            // SAFETY: ends this process only.
            Ok(_) => unsafe { libc::_exit(125) },
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("reading the go pipe"),
        }
    }
}

/// Executes COMMAND in this process, after restoring the signal mask the
/// runtime had (`old_mask`). Only returns to exit: 127 with a `runtime error:`
/// line if COMMAND is not found, 126 if it cannot be executed.
pub fn exec_command(command: &[OsString], old_mask: &SigSet) -> ! {
    let _ = old_mask.thread_set_mask();
    let args: Vec<CString> = command
        .iter()
        .map(|a| CString::new(a.as_bytes()).unwrap_or_default())
        .collect();
    let err = match nix::unistd::execvp(&args[0], &args) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let status = if matches!(err, Errno::ENOENT | Errno::ENOTDIR) {
        127
    } else {
        126
    };
    eprintln!(
        "runtime error: {}: {} ({err:?})",
        command[0].to_string_lossy(),
        err.desc()
    );
    // SAFETY: ends this process only.
    unsafe { libc::_exit(status) }
}
