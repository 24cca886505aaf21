//! `run`: the parent side of a container's life.
//!
//! The runtime binary is single-threaded, so the cloned child may run ordinary
//! Rust until it executes the command. Callers that are multithreaded (test
//! runners) must start the runtime with fork+exec, never call [`run`] in-process.
//!
//! Sequence (parent):  validate → clone(namespaces) → uid/gid maps → overlay →
//! veth → "go" → cgroup (while the child mounts) → pid file → "cgroup" →
//! wait for exec → forward signals, wait → clean up.  The child's half is in [`child`].

mod child;
mod init;
mod net;

use std::ffi::CString;
use std::fs;
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{close, pipe2, Pid};

use crate::cgroups::{self, Cgroup, CgroupError, Hierarchies};
use crate::fault::{self, Fault};
use crate::spec::{IdMap, Namespace, RootFs, RunSpec, SpecError};

/// Environment variable naming the parent of containers' cgroups.
pub use labkit::contract::CGROUP_PARENT_ENV;

/// Exit status when the runtime itself fails.
pub const EXIT_RUNTIME: i32 = labkit::contract::EXIT_RUNTIME;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error("{op}: {err}")]
    Sys { op: String, err: Errno },
    #[error("{op}: {err}")]
    Io { op: String, err: std::io::Error },
    #[error("{0}")]
    Setup(String),
}

fn sys(op: impl Into<String>) -> impl FnOnce(Errno) -> RuntimeError {
    let op = op.into();
    move |err| RuntimeError::Sys { op, err }
}

/// What a child's wait status means as a contract exit status.
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(..) if fault::active(Fault::SignalStatusLost) => Some(1),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// The signals the runtime forwards to the container, plus SIGCHLD to learn of its end.
fn forwarded_signals() -> SigSet {
    let mut s = SigSet::empty();
    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGCHLD] {
        s.add(sig);
    }
    s
}

/// Everything the run created, undone in reverse whatever happened.
#[derive(Default)]
struct Created {
    child: Option<Pid>,
    cgroup: Option<Box<dyn Cgroup>>,
    veth_host: Option<String>,
    root_mountpoint: Option<PathBuf>,
    /// The --work directory of a volatile overlay, whose marker must go.
    overlay_work: Option<PathBuf>,
}

impl Created {
    fn cleanup(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        if let Some(pid) = self.child.take() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Some(cg) = self.cgroup.take() {
            if let Err(e) = cg.destroy() {
                errors.push(format!("removing cgroup: {e}"));
            }
        }
        if let Some(ifname) = self.veth_host.take() {
            if let Err(e) = net::delete_link(&ifname) {
                errors.push(e);
            }
        }
        if let Some(dir) = self.root_mountpoint.take() {
            if let Err(e) = fs::remove_dir(&dir) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    errors.push(format!("removing {}: {e}", dir.display()));
                }
            }
        }
        if let Some(work) = self.overlay_work.take() {
            // A volatile overlay leaves work/incompat/volatile, and refuses to mount
            // the same work directory again while it is there. The container has
            // ended cleanly (its mount namespace is gone), so nothing is at risk.
            let marker = work.join("work/incompat");
            if let Err(e) = fs::remove_dir_all(&marker) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    errors.push(format!("removing {}: {e}", marker.display()));
                }
            }
        }
        errors
    }
}

/// The cgroup named NAME under `LAB_CGROUP_PARENT`, as `pause`, `resume` and `stats` find it.
pub fn existing_cgroup(name: &str) -> Result<Box<dyn Cgroup>, RuntimeError> {
    let h = Hierarchies::detect()?;
    let parent = std::env::var(CGROUP_PARENT_ENV).ok().filter(|s| !s.is_empty());
    let cg = cgroups::open(&h, parent.as_deref(), name)?;
    if !cg.exists() {
        return Err(RuntimeError::Setup(format!(
            "no cgroup named {name:?} (looked at {:?})",
            cg.paths()
        )));
    }
    Ok(cg)
}

/// Values the child needs, computed before clone so the child only acts.
pub(crate) struct ChildPlan<'a> {
    pub spec: &'a RunSpec,
    /// The child's end of the control socket (see [`MSG_GO`], [`MSG_CGROUP`]).
    pub control: RawFd,
    pub report_write: RawFd,
    pub parent_ends: [RawFd; 2],
    /// Where the overlay is mounted before pivot_root (None for --rootfs).
    pub root_mountpoint: Option<PathBuf>,
    pub uid0_mapped: bool,
    pub gid0_mapped: bool,
    pub may_setgroups: bool,
    pub command: Vec<CString>,
}

fn maps_zero(maps: &[IdMap]) -> bool {
    maps.iter().any(|m| m.inside == 0)
}

fn escape_overlay_path(flag: &str, p: &Path) -> Result<String, RuntimeError> {
    let abs = fs::canonicalize(p).map_err(|err| RuntimeError::Io {
        op: format!("{flag} {}", p.display()),
        err,
    })?;
    let s = abs
        .to_str()
        .ok_or_else(|| SpecError::new(flag, format!("{} is not valid UTF-8", abs.display())))?;
    // Overlay splits its options on ',' and layer lists on ':'; refuse rather than guess at escaping.
    if s.contains([',', ':', '\\']) {
        return Err(SpecError::new(
            flag,
            format!("{s} contains ',', ':' or '\\', which overlay options cannot carry"),
        )
        .into());
    }
    Ok(s.to_string())
}

fn overlay_options(spec: &RunSpec) -> Result<Option<String>, RuntimeError> {
    let Some(RootFs::Overlay { layers, upper, work }) = &spec.root else {
        return Ok(None);
    };
    let mut lower = Vec::new();
    for l in layers.iter().rev() {
        lower.push(escape_overlay_path("--layer", l)?);
    }
    // volatile: no syncs of the upper file system. A container's writable layer is
    // scratch space, and the sync at unmount (a journal commit) was the largest and
    // most variable part of a container's end. Readers on the host see the page cache.
    let mut opts = format!(
        "lowerdir={},upperdir={},workdir={},volatile",
        lower.join(":"),
        escape_overlay_path("--upper", upper)?,
        escape_overlay_path("--work", work)?
    );
    if metacopy_supported() && !fault::active(Fault::NoMetacopy) {
        // Metadata-only copy-up (a chmod copies no data); it brings redirect_dir,
        // so renaming a lower directory works instead of failing with EXDEV.
        opts.push_str(",metacopy=on");
    }
    Ok(Some(opts))
}

/// The fault `layers-copied`: what a runtime that unpacks its image at every start
/// pays, a copy of every layer (next to the upper layer, removed again).
fn copy_layers_for_fault(spec: &RunSpec) {
    fn copy(from: &Path, to: &Path) {
        let _ = fs::create_dir_all(to);
        for e in fs::read_dir(from).into_iter().flatten().flatten() {
            let (src, dst) = (e.path(), to.join(e.file_name()));
            match e.file_type() {
                Ok(t) if t.is_dir() => copy(&src, &dst),
                Ok(t) if t.is_file() => {
                    let _ = fs::copy(&src, &dst);
                }
                _ => {}
            }
        }
    }
    if let Some(RootFs::Overlay { layers, upper, .. }) = &spec.root {
        let to = upper.with_extension("fault-copy");
        for (i, l) in layers.iter().enumerate() {
            copy(l, &to.join(i.to_string()));
        }
        let _ = fs::remove_dir_all(&to);
    }
}

fn metacopy_supported() -> bool {
    Path::new("/sys/module/overlay/parameters/metacopy").exists()
}

fn command_cstrings(spec: &RunSpec) -> Result<Vec<CString>, RuntimeError> {
    use std::os::unix::ffi::OsStrExt;
    spec.command
        .iter()
        .map(|a| {
            CString::new(a.as_bytes())
                .map_err(|_| SpecError::new("COMMAND", format!("{a:?} contains a NUL byte")).into())
        })
        .collect()
}

fn clone_flags(spec: &RunSpec) -> CloneFlags {
    let mut f = CloneFlags::empty();
    for (ns, flag) in [
        (Namespace::Pid, CloneFlags::CLONE_NEWPID),
        (Namespace::Uts, CloneFlags::CLONE_NEWUTS),
        (Namespace::Mnt, CloneFlags::CLONE_NEWNS),
        (Namespace::Net, CloneFlags::CLONE_NEWNET),
        (Namespace::Ipc, CloneFlags::CLONE_NEWIPC),
        (Namespace::User, CloneFlags::CLONE_NEWUSER),
    ] {
        let dropped = (ns == Namespace::Pid && fault::active(Fault::NoPidNs))
            || (ns == Namespace::Uts && fault::active(Fault::HostnameOutsideUts))
            || (ns == Namespace::User && fault::active(Fault::NoUserNs));
        if spec.ns.has(ns) && !dropped {
            f |= flag;
        }
    }
    // cgroup and time namespaces are entered by the child later: the first only
    // after it sits in its cgroup, the second only affects the child's children.
    f
}

fn write_id_maps(pid: Pid, spec: &RunSpec, privileged: bool) -> Result<(), RuntimeError> {
    let write = |file: &str, data: &str| -> Result<(), RuntimeError> {
        let path = format!("/proc/{pid}/{file}");
        fs::write(&path, data).map_err(|err| RuntimeError::Io {
            op: format!("writing {data:?} to {path}"),
            err,
        })
    };
    let render = |maps: &[IdMap]| maps.iter().map(|m| format!("{m}\n")).collect::<String>();
    if !spec.uid_maps.is_empty() {
        write("uid_map", &render(&spec.uid_maps))?;
    }
    if !spec.gid_maps.is_empty() {
        if !privileged {
            write("setgroups", "deny")?;
        }
        write("gid_map", &render(&spec.gid_maps))?;
    }
    Ok(())
}

/// Mounts the overlay root into the child's mount namespace with the runtime's own
/// credentials. Mounted by root of a new user namespace it would need write access
/// to --work as the mapped uid (else the kernel mounts it read-only) and would keep
/// its metadata in user.* xattrs: a different overlay than without `user`.
///
/// The runtime steps into the child's mount namespace and back (it is
/// single-threaded, which setns requires), restoring its working directory.
fn mount_overlay_into(child: Pid, target: &Path, opts: &str) -> Result<(), RuntimeError> {
    use nix::mount::{mount, MsFlags};
    use nix::sched::setns;
    let open = |p: &str| {
        fs::File::open(p).map_err(|err| RuntimeError::Io {
            op: format!("opening {p}"),
            err,
        })
    };
    let own = open("/proc/self/ns/mnt")?;
    let cwd = open(".")?;
    let theirs = open(&format!("/proc/{child}/ns/mnt"))?;
    setns(&theirs, CloneFlags::CLONE_NEWNS).map_err(sys(format!("setns into /proc/{child}/ns/mnt")))?;
    let none: Option<&str> = None;
    // Private first, or the overlay would propagate to the host's mount namespace.
    let mounted = mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(sys("making the container's mounts private"))
        .and_then(|()| {
            if fault::active(Fault::OverlayAsBind) {
                // The top-most layer is the first of lowerdir=.
                let top = opts
                    .trim_start_matches("lowerdir=")
                    .split([':', ','])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                return mount(Some(top.as_str()), target, none, MsFlags::MS_BIND, none)
                    .map_err(sys("fault overlay-as-bind"));
            }
            let flags = if fault::active(Fault::UpperReadonly) {
                MsFlags::MS_RDONLY
            } else {
                MsFlags::empty()
            };
            mount(Some("overlay"), target, Some("overlay"), flags, Some(opts))
                .map_err(sys(format!("--layer: mount -t overlay -o {opts} {}", target.display())))
        });
    setns(&own, CloneFlags::CLONE_NEWNS).map_err(sys("setns back into the runtime's mount namespace"))?;
    nix::unistd::fchdir(cwd.as_raw_fd()).map_err(sys("restoring the working directory"))?;
    mounted
}

fn read_report(fd: RawFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    out
}

/// Runs a container; returns the contract exit status. Errors are runtime failures (125).
pub fn run(spec: &RunSpec) -> Result<i32, RuntimeError> {
    spec.validate()?;
    spec.check_host()?;
    fault::configured().map_err(RuntimeError::Setup)?;
    // The store is the user's (a layer stored once stays for the next run): what
    // it unpacks is not undone by the cleanup; a failed unpack leaves nothing.
    let how = labkit::layers::Unpack {
        apply_whiteouts: !fault::active(Fault::TarWhiteoutsKept),
        reuse_stored: !fault::active(Fault::LayersUnpackedEachTime),
    };
    let spec = &spec
        .clone()
        .resolve_layer_tars(how)
        .map_err(|e| RuntimeError::Setup(e.to_string()))?;
    let mut created = Created::default();
    let result = run_created(spec, &mut created);
    let errors = created.cleanup();
    match (result, errors.is_empty()) {
        (Ok(code), true) => Ok(code),
        (Ok(_), false) => Err(RuntimeError::Setup(format!("cleanup failed: {}", errors.join("; ")))),
        (Err(e), true) => Err(e),
        (Err(e), false) => Err(RuntimeError::Setup(format!(
            "{e} (and cleanup failed: {})",
            errors.join("; ")
        ))),
    }
}

// Long: the parent's side of the setup is one linear sequence (maps, cgroup, veth, go, wait), read top to bottom as bubblewrap's is.
fn run_created(spec: &RunSpec, created: &mut Created) -> Result<i32, RuntimeError> {
    // Blocked before anything is made, so that a SIGTERM during setup waits for the
    // wait loop (and the cleanup after it) instead of killing the runtime with its
    // root directory left behind, and before clone so that no signal is lost between
    // clone and the wait loop; the child inherits the mask and its init collects them
    // with sigwait.
    let signals = forwarded_signals();
    signals.thread_block().map_err(sys("sigprocmask"))?;
    let command = command_cstrings(spec)?;
    let overlay = overlay_options(spec)?;
    if fault::active(Fault::UserNsLayersRefused) && spec.ns.has(Namespace::User) && overlay.is_some() {
        return Err(RuntimeError::Setup(
            "--layer with --ns user: not supported (fault user-ns-layers-refused)".into(),
        ));
    }
    if fault::active(Fault::LayersCopied) {
        copy_layers_for_fault(spec);
    }

    // Name and parent are checked now; the cgroup itself is made while the child
    // sets up its mounts (the two cores work at once).
    let cgroup = match &spec.cgroup {
        Some(name) => {
            let h = Hierarchies::detect()?;
            let parent = std::env::var(CGROUP_PARENT_ENV).ok().filter(|s| !s.is_empty());
            Some(cgroups::open(&h, parent.as_deref(), name)?)
        }
        None => None,
    };

    if overlay.is_some() {
        sweep_stale_roots(&std::env::temp_dir());
        let dir = std::env::temp_dir().join(format!("{ROOT_DIR_PREFIX}{}", std::process::id()));
        fs::create_dir(&dir).map_err(|err| RuntimeError::Io {
            op: format!("creating {}", dir.display()),
            err,
        })?;
        created.root_mountpoint = Some(dir);
        if let Some(RootFs::Overlay { work, .. }) = &spec.root {
            created.overlay_work = Some(work.clone());
        }
    }

    let (ctl_parent, ctl_child) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(sys("socketpair"))?;
    let (rep_r, rep_w) = pipe2(OFlag::O_CLOEXEC).map_err(sys("pipe2"))?;
    let (ctl_p, ctl_c, rep_r, rep_w) = (
        ctl_parent.into_raw_fd(),
        ctl_child.into_raw_fd(),
        rep_r.into_raw_fd(),
        rep_w.into_raw_fd(),
    );

    let privileged = nix::unistd::geteuid().is_root();
    let plan = ChildPlan {
        spec,
        control: ctl_c,
        report_write: rep_w,
        parent_ends: [ctl_p, rep_r],
        root_mountpoint: created.root_mountpoint.clone(),
        uid0_mapped: maps_zero(&spec.uid_maps),
        gid0_mapped: maps_zero(&spec.gid_maps),
        may_setgroups: privileged,
        command,
    };

    let mut stack = vec![0u8; 8 << 20];
    // SAFETY: this process is single-threaded (the runtime binary never spawns
    // threads), so the child may run ordinary Rust; it never returns into our frames.
    let child = unsafe {
        nix::sched::clone(
            Box::new(|| child::main(&plan)),
            &mut stack,
            clone_flags(spec),
            Some(Signal::SIGCHLD as i32),
        )
    }
    .map_err(sys("clone"))?;
    created.child = Some(child);
    let _ = close(ctl_c);
    let _ = close(rep_w);

    let outcome = (|| -> Result<(), RuntimeError> {
        if spec.ns.has(Namespace::User) && !fault::active(Fault::NoUidMap) && !fault::active(Fault::NoUserNs) {
            write_id_maps(child, spec, privileged)?;
        }
        if let (Some(target), Some(opts)) = (&created.root_mountpoint, &overlay) {
            mount_overlay_into(child, target, opts)?;
        }
        if let Some(v) = &spec.veth {
            created.veth_host = Some(v.host_if.clone());
            if let Err(e) = net::setup_veth(child, v) {
                // The name may belong to someone else's interface: only delete what we made.
                if e.host_link_exists_before {
                    created.veth_host = None;
                }
                return Err(RuntimeError::Setup(format!("--veth: {}", e.message)));
            }
        }
        // A failed send means the child has ended; its report says why.
        if send_control(ctl_p, MSG_GO, &[]).is_err() {
            return Ok(());
        }
        let attach = match cgroup {
            Some(cg) => {
                let cg = created.cgroup.insert(cg);
                cg.create(&spec.limits)?;
                if fault::active(Fault::LimitWrongCgroup) {
                    let parents: Result<Vec<fs::File>, RuntimeError> = cg
                        .paths()
                        .iter()
                        .map(|p| {
                            let t = p.parent().unwrap_or(p).join("tasks");
                            let t = if t.exists() {
                                t
                            } else {
                                p.parent().unwrap_or(p).join("cgroup.procs")
                            };
                            fs::OpenOptions::new()
                                .write(true)
                                .open(&t)
                                .map_err(|err| RuntimeError::Io {
                                    op: format!("opening {}", t.display()),
                                    err,
                                })
                        })
                        .collect();
                    parents?
                } else {
                    cg.self_attach_files()?
                }
            }
            None => Vec::new(),
        };
        if let Some(p) = &spec.pid_file {
            fs::write(p, format!("{child}\n")).map_err(|err| RuntimeError::Io {
                op: format!("--pid-file {}", p.display()),
                err,
            })?;
        }
        let fds: Vec<RawFd> = attach.iter().map(|f| f.as_raw_fd()).collect();
        let _ = send_control(ctl_p, MSG_CGROUP, &fds);
        Ok(())
    })();
    let _ = close(ctl_p);
    if let Err(e) = outcome {
        let _ = close(rep_r);
        return Err(e);
    }

    let report = read_report(rep_r);
    let _ = close(rep_r);
    let sfd = SignalFd::with_flags(&signals, SfdFlags::SFD_CLOEXEC).map_err(sys("signalfd"))?;
    let status = wait_forwarding(child, &sfd)?;
    created.child = None;

    match report.split_first() {
        Some((b'S', msg)) => Err(RuntimeError::Setup(String::from_utf8_lossy(msg).into_owned())),
        Some((b'E', msg)) => {
            // The command could not be executed; its status (126/127) still comes through init.
            eprintln!("runtime error: {}", String::from_utf8_lossy(msg));
            Ok(status)
        }
        _ => Ok(status),
    }
}

/// Parent → child: namespaces are set up from outside (maps, overlay, veth); go on.
pub(crate) const MSG_GO: u8 = b'G';
/// Parent → child: the cgroup is made; join it through these files, then run the command.
pub(crate) const MSG_CGROUP: u8 = b'C';

fn send_control(fd: RawFd, msg: u8, fds: &[RawFd]) -> Result<(), Errno> {
    let iov = [std::io::IoSlice::new(std::slice::from_ref(&msg))];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    loop {
        match sendmsg::<()>(fd, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Err(Errno::EINTR) => continue,
            other => return other.map(|_| ()),
        }
    }
}

/// Child side of [`send_control`]: the message byte and any files passed with it;
/// None when the parent closed the channel.
pub(crate) fn recv_control(fd: RawFd) -> Option<(u8, Vec<RawFd>)> {
    let mut byte = [0u8; 1];
    let mut cmsg = nix::cmsg_space!([RawFd; 32]);
    loop {
        let mut iov = [std::io::IoSliceMut::new(&mut byte)];
        match recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(Errno::EINTR) => continue,
            Err(_) => return None,
            Ok(m) if m.bytes == 0 => return None,
            Ok(m) => {
                let mut fds = Vec::new();
                if let Ok(cmsgs) = m.cmsgs() {
                    for c in cmsgs {
                        if let ControlMessageOwned::ScmRights(v) = c {
                            fds.extend(v);
                        }
                    }
                }
                return Some((byte[0], fds));
            }
        }
    }
}

fn wait_forwarding(child: Pid, sfd: &SignalFd) -> Result<i32, RuntimeError> {
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(st) => {
                if let Some(code) = exit_code(st) {
                    return Ok(code);
                }
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(sys("waitpid")(e)),
        }
        match sfd.read_signal() {
            Ok(Some(info)) => {
                let signo = info.ssi_signo as i32;
                if signo != Signal::SIGCHLD as i32 && !fault::active(Fault::SignalsNotForwarded) {
                    if let Ok(sig) = Signal::try_from(signo) {
                        let _ = kill(child, sig);
                    }
                }
            }
            Ok(None) | Err(Errno::EINTR) => {}
            Err(e) => return Err(sys("reading signalfd")(e)),
        }
    }
}

/// Restores the signal state a command expects: nothing blocked, SIGPIPE default
/// (the Rust runtime ignores SIGPIPE, and ignored signals survive exec).
pub(crate) fn reset_signals_for_exec() {
    let _ = SigSet::empty().thread_set_mask();
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // SAFETY: restoring the default disposition installs no handler.
    unsafe {
        let _ = nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl);
    }
}

pub(crate) fn raw_write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: the caller owns fd and keeps it open for the call.
        match nix::unistd::write(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}

/// The overlay root's mount point of a runtime is `<tmp>/harness-root-<its pid>`.
pub const ROOT_DIR_PREFIX: &str = "harness-root-";

/// Removes the empty overlay mount points of runtimes that are gone: a runtime
/// killed by SIGKILL (a grader's time limit, `harness cleanup`) cannot remove its
/// own. Only empty directories of this name whose runtime no longer exists; rmdir
/// refuses anything else. Returns what was removed.
pub fn sweep_stale_roots(tmp: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(rd) = fs::read_dir(tmp) else { return removed };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(ROOT_DIR_PREFIX).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if fs::remove_dir(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        let p = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(p, 0)), Some(0));
        assert_eq!(exit_code(WaitStatus::Exited(p, 3)), Some(3));
        assert_eq!(exit_code(WaitStatus::Signaled(p, Signal::SIGKILL, false)), Some(137));
        assert_eq!(exit_code(WaitStatus::Signaled(p, Signal::SIGTERM, true)), Some(143));
        assert_eq!(exit_code(WaitStatus::StillAlive), None);
    }

    #[test]
    fn overlay_options_list_layers_top_most_first() {
        let t = tempfile::tempdir().unwrap();
        let mk = |n: &str| {
            let p = t.path().join(n);
            fs::create_dir(&p).unwrap();
            p
        };
        let (a, b, u, w) = (mk("a"), mk("b"), mk("u"), mk("w"));
        let spec = RunSpec {
            ns: "mnt".parse().unwrap(),
            root: Some(RootFs::Overlay {
                layers: vec![a.clone(), b.clone()],
                upper: u.clone(),
                work: w.clone(),
            }),
            command: vec!["true".into()],
            ..Default::default()
        };
        let c = |p: &Path| fs::canonicalize(p).unwrap().display().to_string();
        let meta = if metacopy_supported() { ",metacopy=on" } else { "" };
        assert_eq!(
            overlay_options(&spec).unwrap().unwrap(),
            format!(
                "lowerdir={}:{},upperdir={},workdir={},volatile{meta}",
                c(&b),
                c(&a),
                c(&u),
                c(&w)
            )
        );
        let bad = mk("x,y");
        let spec = RunSpec {
            root: Some(RootFs::Overlay {
                layers: vec![bad],
                upper: u,
                work: w,
            }),
            ..spec
        };
        let e = overlay_options(&spec).unwrap_err().to_string();
        assert!(e.starts_with("--layer") && e.contains("x,y"), "{e}");
    }
}
