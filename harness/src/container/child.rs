//! The child's half of a container's setup, top to bottom:
//! wait for "go" → credentials → mounts (root, /proc, /dev, pivot_root) → hostname
//! → lo → wait for "cgroup" and join it → cgroup ns → time ns → init or exec.
//!
//! Every failure is sent to the parent over the report pipe (`S` + message) and
//! ends the child with 125; a failed exec sends `E` + message and ends with 126/127.

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{symlink, DirBuilderExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{chdir, close, execvp, pivot_root, setgroups, sethostname, setresgid, setresuid, Gid, Uid};

use super::{init, raw_write_all, reset_signals_for_exec, ChildPlan};
use crate::fault::{self, Fault};
use crate::spec::{Namespace, RootFs};

/// Device nodes of the minimal /dev, bind-mounted from the host's.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

pub(super) struct Reporter(pub i32);

impl Reporter {
    pub fn fail(&self, msg: impl AsRef<str>) -> ! {
        let mut b = vec![b'S'];
        b.extend_from_slice(msg.as_ref().as_bytes());
        raw_write_all(self.0, &b);
        // SAFETY: _exit is async-signal-safe and ends this cloned child at once.
        unsafe { libc::_exit(super::EXIT_RUNTIME) }
    }

    pub fn exec_failed(&self, program: &CString, err: Errno) -> ! {
        let msg = format!("E{}: cannot execute: {}", program.to_string_lossy(), err.desc());
        raw_write_all(self.0, msg.as_bytes());
        let code = labkit::contract::exec_failure_status(err as i32);
        // SAFETY: _exit is async-signal-safe and ends this cloned child at once.
        unsafe { libc::_exit(code) }
    }
}

trait OrFail<T> {
    fn or_fail(self, rep: &Reporter, what: impl FnOnce() -> String) -> T;
}

impl<T, E: std::fmt::Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, rep: &Reporter, what: impl FnOnce() -> String) -> T {
        match self {
            Ok(v) => v,
            Err(e) => rep.fail(format!("{}: {e}", what())),
        }
    }
}

// Long: the container's setup is one linear sequence (namespaces, cgroup, mounts, pivot_root, /proc, exec), read top to bottom as bubblewrap's is.
pub(super) fn main(plan: &ChildPlan) -> isize {
    let rep = Reporter(plan.report_write);
    let spec = plan.spec;
    // If the runtime dies, so does the container (the go pipe covers the window before this call).
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) };
    for fd in plan.parent_ends {
        let _ = close(fd);
    }
    match super::recv_control(plan.control) {
        Some((super::MSG_GO, _)) => {}
        // The parent gave up (and said why itself).
        // SAFETY: _exit is async-signal-safe and ends this cloned child at once.
        _ => unsafe { libc::_exit(super::EXIT_RUNTIME) },
    }

    if spec.ns.has(Namespace::User) {
        // Take on the mapped root's identity: a process that kept its host credentials
        // could still use them on host files.
        if plan.gid0_mapped {
            setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0)).or_fail(&rep, || "setresgid(0)".into());
            if plan.may_setgroups {
                setgroups(&[]).or_fail(&rep, || "setgroups([])".into());
            }
        }
        if plan.uid0_mapped {
            setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).or_fail(&rep, || "setresuid(0)".into());
        }
        // Changing credentials clears the dumpable flag, which hands /proc/self/* to the
        // host's root (unmapped here), so timens_offsets and friends could not be written.
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    }

    if spec.ns.has(Namespace::Mnt) {
        setup_mounts(plan, &rep);
        if fault::strict() {
            // The strict variant: /proc read-only, in this mount namespace only.
            let none: Option<&str> = None;
            mount(
                none,
                "/proc",
                none,
                MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
                none,
            )
            .or_fail(&rep, || "strict: remounting /proc read-only".into());
        }
    }

    if let Some(h) = &spec.hostname {
        sethostname(h).or_fail(&rep, || format!("--hostname {h}: sethostname"));
    } else if spec.ns.has(Namespace::Uts) && fault::active(Fault::DefaultHostname) {
        sethostname("container").or_fail(&rep, || "sethostname".into());
    }

    if spec.ns.has(Namespace::Net) {
        loopback_up().or_fail(&rep, || "bringing lo up".into());
    }

    // Join the cgroup before anything of the command runs, and before the cgroup
    // namespace is made so that its root is the container's cgroup.
    let Some((super::MSG_CGROUP, attach)) = super::recv_control(plan.control) else {
        // SAFETY: _exit is async-signal-safe and ends this cloned child at once.
        unsafe { libc::_exit(super::EXIT_RUNTIME) }
    };
    let _ = close(plan.control);
    for fd in attach {
        // SAFETY: fd came over the control socket and stays open until the close below.
        if let Err(e) = nix::unistd::write(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, b"0") {
            rep.fail(format!(
                "--cgroup: joining the cgroup (writing 0 to its tasks file): {e}"
            ));
        }
        let _ = close(fd);
    }
    if spec.ns.has(Namespace::Cgroup) {
        unshare(CloneFlags::CLONE_NEWCGROUP).or_fail(&rep, || "unshare(CLONE_NEWCGROUP)".into());
    }

    if spec.ns.has(Namespace::Time) {
        // SAFETY: unshare with a flag only (nix 0.29 has no CLONE_NEWTIME).
        if unsafe { libc::unshare(libc::CLONE_NEWTIME) } != 0 {
            rep.fail(format!("unshare(CLONE_NEWTIME): {}", Errno::last().desc()));
        }
        // Offsets can only be set before the first process enters the namespace.
        if let Some(t) = &spec.time_offsets {
            let offsets = format!("monotonic {} 0\nboottime {} 0\n", t.monotonic, t.boottime);
            fs::write("/proc/self/timens_offsets", &offsets).or_fail(&rep, || {
                format!("--time-offset: writing {offsets:?} to /proc/self/timens_offsets")
            });
        }
    }

    // Nothing the runtime inherited or opened may reach the container, its init
    // included (CVE-2024-21626: a leaked directory descriptor let a container reach
    // the host's root through /proc/self/fd). Only 0-2 and the report pipe (closed
    // on exec) stay open.
    if !fault::active(Fault::FdsLeaked) {
        close_inherited_fds(rep.0);
    }

    // A PID namespace needs a reaper as PID 1; a time namespace only applies to
    // children. Otherwise this process becomes the command itself.
    if spec.ns.has(Namespace::Pid) || spec.ns.has(Namespace::Time) {
        init::run(&plan.command, &rep)
    }
    exec_command(&plan.command, &rep)
}

/// Closes every descriptor from 3 up but `keep`: close_range(2) (Linux 5.9), or one
/// close(2) per possible number where it is missing. System calls only.
fn close_inherited_fds(keep: i32) {
    let close_range = |first: u32, last: u32| -> bool {
        // SAFETY: close_range takes plain integers and touches no memory.
        unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) == 0 }
    };
    let keep = keep.max(0) as u32;
    let below = keep <= 3 || close_range(3, keep - 1);
    if below && close_range(keep + 1, u32::MAX) {
        return;
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given; close takes an integer.
    unsafe {
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur.min(1 << 20) as u32
        } else {
            1024
        };
        for fd in 3..max {
            if fd != keep {
                libc::close(fd as i32);
            }
        }
    }
}

pub(super) fn exec_command(command: &[CString], rep: &Reporter) -> ! {
    reset_signals_for_exec();
    if fault::strict() {
        drop_all_capabilities(rep);
    }
    if std::env::var_os("PATH").is_none() {
        std::env::set_var("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    }
    let err = execvp(&command[0], command).unwrap_err();
    rep.exec_failed(&command[0], err)
}

/// The strict variant: no capability survives the exec, not even for uid 0 (an
/// empty bounding set and no inheritable or ambient capabilities leave root's
/// permitted set empty after execve).
fn drop_all_capabilities(rep: &Reporter) {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    for cap in 0..64 {
        // SAFETY: prctl with integer arguments only; EINVAL past the last capability.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
    }
    // SAFETY: integer arguments only.
    unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) };
    let mut h = Header {
        version: VERSION_3,
        pid: 0,
    };
    let d = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: a valid header and two data structs, as capset(2) version 3 reads them.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) };
    if r != 0 {
        Err::<(), _>(nix::errno::Errno::last()).or_fail(rep, || "strict: capset to nothing".into());
    }
}

fn mkdir_p(p: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o755).create(p)
}

fn setup_mounts(plan: &ChildPlan, rep: &Reporter) {
    let spec = plan.spec;
    let none: Option<&str> = None;
    // Nothing mounted from here on may propagate back to the host.
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .or_fail(rep, || "making / private (mount MS_REC|MS_PRIVATE)".into());

    let root: PathBuf = match &spec.root {
        None => {
            if spec.ns.has(Namespace::Pid) {
                mount_proc(Path::new("/proc"), rep);
            }
            if spec.ns.has(Namespace::Ipc) && Path::new("/dev/mqueue").is_dir() {
                mount(
                    Some("mqueue"),
                    "/dev/mqueue",
                    Some("mqueue"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                    none,
                )
                .or_fail(rep, || "mounting mqueue on /dev/mqueue".into());
            }
            return;
        }
        Some(RootFs::Dir(d)) => {
            // pivot_root needs the new root to be a mount point.
            mount(Some(d), d, none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
                .or_fail(rep, || format!("--rootfs {}: bind mount onto itself", d.display()));
            d.clone()
        }
        // The runtime mounted it already, from the host side (see mount_overlay_into).
        Some(RootFs::Overlay { .. }) => plan.root_mountpoint.clone().expect("overlay has a mount point"),
    };

    let proc_dir = root.join("proc");
    mkdir_p(&proc_dir).or_fail(rep, || format!("creating {}", proc_dir.display()));
    mount_proc(&proc_dir, rep);
    if !fault::active(Fault::PathsUnmasked) {
        mask_proc(&proc_dir, rep);
    }
    if fault::active(Fault::HostDev) {
        let dev = root.join("dev");
        mkdir_p(&dev).or_fail(rep, || format!("creating {}", dev.display()));
        mount(Some("/dev"), &dev, none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
            .or_fail(rep, || "fault host-dev".into());
    } else {
        setup_dev(&root.join("dev"), spec.ns.has(Namespace::Ipc), rep);
    }

    if fault::active(Fault::ChrootNotPivot) {
        nix::unistd::chroot(&root).or_fail(rep, || "fault chroot-not-pivot".into());
        chdir("/").or_fail(rep, || "chdir /".into());
        return;
    }
    chdir(&root).or_fail(rep, || format!("chdir {}", root.display()));
    // The idiom from pivot_root(2): stack the old root under the new one, then detach it.
    pivot_root(".", ".").or_fail(rep, || format!("pivot_root {}", root.display()));
    umount2(".", MntFlags::MNT_DETACH).or_fail(rep, || "detaching the old root".into());
    chdir("/").or_fail(rep, || "chdir /".into());
}

fn mount_proc(target: &Path, rep: &Reporter) {
    let none: Option<&str> = None;
    if fault::active(Fault::NoFreshProc) {
        if target != Path::new("/proc") {
            mount(Some("/proc"), target, none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
                .or_fail(rep, || "fault no-fresh-proc".into());
        }
        return;
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    match mount(Some("proc"), target, Some("proc"), flags, none) {
        Ok(()) => {}
        // A user namespace without its own PID namespace may not mount proc; show the host's instead.
        Err(Errno::EPERM) if target != Path::new("/proc") => {
            mount(Some("/proc"), target, none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
                .or_fail(rep, || format!("bind-mounting /proc on {}", target.display()));
        }
        Err(e) => rep.fail(format!("mounting proc on {}: {e}", target.display())),
    }
}

/// The contract's masked and read-only /proc paths (labkit::contract). The
/// reference mounts no sysfs, so MASKED_SYS_DIRS has nothing to mask here.
fn mask_proc(proc: &Path, rep: &Reporter) {
    use labkit::contract::{MASKED_PROC_DIRS, MASKED_PROC_FILES, READ_ONLY_PROC};
    let none: Option<&str> = None;
    // A proc mounted in a user namespace has these flags locked: a remount that
    // drops them is refused.
    let locked = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    // A file or directory this kernel has not got is nothing to hide.
    let exists = |p: &Path| fs::symlink_metadata(p).is_ok();
    for name in MASKED_PROC_FILES {
        let target = proc.join(name);
        if exists(&target) {
            mount(Some("/dev/null"), &target, none, MsFlags::MS_BIND, none)
                .or_fail(rep, || format!("masking /proc/{name} with /dev/null"));
        }
    }
    for name in MASKED_PROC_DIRS {
        let target = proc.join(name);
        if exists(&target) {
            mount(
                Some("tmpfs"),
                &target,
                Some("tmpfs"),
                locked | MsFlags::MS_RDONLY,
                Some("size=0"),
            )
            .or_fail(rep, || format!("masking /proc/{name} with an empty tmpfs"));
        }
    }
    for name in READ_ONLY_PROC {
        let target = proc.join(name);
        if exists(&target) {
            mount(Some(&target), &target, none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
                .or_fail(rep, || format!("binding /proc/{name} onto itself"));
            mount(
                none,
                &target,
                none,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked,
                none,
            )
            .or_fail(rep, || format!("making /proc/{name} read-only"));
        }
    }
}

fn setup_dev(dev: &Path, ipc: bool, rep: &Reporter) {
    let none: Option<&str> = None;
    mkdir_p(dev).or_fail(rep, || format!("creating {}", dev.display()));
    mount(
        Some("tmpfs"),
        dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )
    .or_fail(rep, || format!("mounting tmpfs on {}", dev.display()));
    for name in DEVICES {
        let target = dev.join(name);
        fs::File::create(&target).or_fail(rep, || format!("creating {}", target.display()));
        let source = Path::new("/dev").join(name);
        mount(Some(&source), &target, none, MsFlags::MS_BIND, none).or_fail(rep, || {
            format!("bind-mounting {} on {}", source.display(), target.display())
        });
    }
    for (name, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlink(to, dev.join(name)).or_fail(rep, || format!("symlink /dev/{name}"));
    }
    let shm = dev.join("shm");
    mkdir_p(&shm).or_fail(rep, || format!("creating {}", shm.display()));
    mount(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777,size=65536k"),
    )
    .or_fail(rep, || format!("mounting tmpfs on {}", shm.display()));
    if ipc {
        let mq = dev.join("mqueue");
        mkdir_p(&mq).or_fail(rep, || format!("creating {}", mq.display()));
        mount(
            Some("mqueue"),
            &mq,
            Some("mqueue"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            none,
        )
        .or_fail(rep, || format!("mounting mqueue on {}", mq.display()));
    }
}

/// `ip link set lo up` without needing `ip` inside the container.
fn loopback_up() -> Result<(), Errno> {
    // SAFETY: a socket this function owns and closes, and an ifreq it zeroes and
    // fills with a NUL-terminated name before each ioctl.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(Errno::last());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let mut r = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
        if r == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            r = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        }
        let err = Errno::last();
        libc::close(fd);
        if r != 0 {
            return Err(err);
        }
    }
    Ok(())
}
