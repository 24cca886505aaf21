//! Namespace steps: exercises ns-pid, ns-uts, ns-mount, ns-ipc, ns-net,
//! ns-user and ns-cgroup-time. "Host side" steps run in the runtime, "container
//! side" steps in the cloned first process (see the diagram in run.rs).
//! Man pages: namespaces(7) and the page of each namespace, clone(2),
//! unshare(2). nix: `nix::sched`, `nix::mount`, `nix::unistd`.

// The parameters are there for you: unused until you write the bodies.
#![allow(unused_variables, unused_imports)]

use std::convert::Infallible;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{chdir, fork, pivot_root, sethostname, ForkResult, Pid};

use crate::spec::{IdMap, Namespace, TimeOffsets, Veth};

/// Host side, before the start: the clone(2) flag that makes namespace `ns`
/// for the container's first process. `run.rs` ORs the flags of every `--ns`
/// name and passes them to `nix::sched::clone`.
pub fn clone_flag(ns: Namespace) -> CloneFlags {
    match ns {
        // The first process is PID 1 of the new namespace (pid_namespaces(7)).
        Namespace::Pid => {
            todo!("ns-pid: return the clone flag of a new PID namespace (CloneFlags::CLONE_NEW...)")
        }
        // Part of ns-pid: a fresh /proc (`--ns pid,mnt`) needs a mount namespace.
        Namespace::Mnt => todo!("ns-pid: return the clone flag of a new mount namespace"),
        Namespace::Uts => todo!("ns-uts: return the clone flag of a new UTS namespace"),
        Namespace::Ipc => todo!("ns-ipc: return the clone flag of a new IPC namespace"),
        Namespace::Net => todo!("ns-net: return the clone flag of a new network namespace"),
        // The other namespaces of the clone are then owned by the new user namespace.
        Namespace::User => todo!("ns-user: return the clone flag of a new user namespace"),
        // The process must join --cgroup NAME before its cgroup namespace is
        // made, and the runtime joins it only after the clone: so no flag here
        // (CloneFlags::empty()); unshare_cgroup does it after "go".
        Namespace::Cgroup => {
            todo!("ns-cgroup-time: no clone flag for cgroup (return CloneFlags::empty())")
        }
        // clone(2) cannot make a time namespace (only clone3 and unshare can):
        // no flag here (CloneFlags::empty()); unshare_time does it.
        Namespace::Time => {
            todo!("ns-cgroup-time: no clone flag for time (return CloneFlags::empty())")
        }
    }
}

// ------------------------------------------------------------------ ns-pid

/// Container side, with `mnt` (part of ns-pid, used again by ns-mount): make
/// every mount private, recursively, so no mount made from here on reaches the
/// host (the host's / is often shared: mount_namespaces(7)), and so
/// pivot_root(2) will accept the new root (EINVAL on a shared mount):
/// `mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)`.
/// Read: mount_namespaces(7) ("Shared subtrees"), mount(2).
pub fn make_mounts_private() -> Result<()> {
    todo!("ns-pid: mount(None, \"/\", None, MS_REC | MS_PRIVATE, None)")
}

/// Container side, with `--ns pid,mnt` and no root file system, after
/// make_mounts_private: mount a fresh /proc of the new PID namespace over
/// /proc: `mount(Some("proc"), "/proc", Some("proc"), MS_NOSUID | MS_NODEV | MS_NOEXEC, None::<&str>)`.
/// It lists only the container's processes. (Never do this without a private
/// mount namespace: it would hide the host's own /proc.)
/// Read: pid_namespaces(7) ("/proc and PID namespaces"), proc(5).
pub fn mount_fresh_proc() -> Result<()> {
    todo!("ns-pid: mount a new proc on /proc")
}

/// Container side, with `pid` (and with `time`, whose offsets apply only to
/// children): this process is PID 1 of the new namespace. Be a small init:
/// - fork (`unsafe { nix::unistd::fork() }`); the child runs
///   `crate::run::exec_command(command, old_mask)`, which restores the signal
///   mask and executes COMMAND (it becomes PID 2);
/// - forward SIGTERM, SIGINT and SIGHUP to the child. They are still blocked
///   here (the runtime blocked them before the clone): take them with
///   `SigSet::wait()` (sigwait(2)), as `run.rs::wait_forwarding` does. PID 1
///   gets no signal it has no handler for, but a *blocked* signal is queued;
///   SIGCHLD is blocked too, so it tells you when to reap;
/// - reap orphans: on SIGCHLD, call `waitpid(Pid::from_raw(-1), WNOHANG)`
///   until it returns StillAlive or ECHILD; every child re-parented to PID 1
///   is yours to reap, or it stays a zombie;
/// - when COMMAND's process is reaped, exit with its status, or 128+N if
///   signal N killed it (`std::process::exit`). The kernel then kills what is
///   left in the namespace.
///
/// Read: pid_namespaces(7) ("The namespace init process"), waitpid(2), sigwait(3).
pub fn run_init(command: &[OsString], old_mask: &SigSet) -> Result<Infallible> {
    todo!("ns-pid: fork COMMAND, forward SIGTERM/SIGINT/SIGHUP, reap every child, exit with COMMAND's status")
}

// ------------------------------------------------------------------ ns-uts

/// Container side, with --hostname NAME: set the host name of the new UTS
/// namespace (`nix::unistd::sethostname`). The host's name stays unchanged.
/// Read: uts_namespaces(7), sethostname(2).
pub fn set_hostname(name: &str) -> Result<()> {
    todo!("ns-uts: sethostname(name)")
}

// ------------------------------------------------------------------ ns-mount

/// Container side, with --rootfs DIR: bind-mount DIR onto itself (pivot_root
/// needs the new root to be a mount point: MS_BIND | MS_REC) and return it.
/// Read: mount(2) ("Creating a bind mount").
pub fn bind_rootfs(dir: &Path) -> Result<PathBuf> {
    todo!("ns-mount: bind-mount the rootfs onto itself and return its path")
}

/// Container side, with a new root, before pivoting (host paths still work):
/// - a fresh `proc` on NEW_ROOT/proc (of the container's PID namespace);
/// - NEW_ROOT/dev: a small `tmpfs` (mode 755) holding null, zero, full, random
///   and urandom, each an empty file with the host's /dev/X bind-mounted on it
///   (bind mounts, not mknod, so this also works in a user namespace);
///   /dev/shm (a tmpfs); the symlinks fd -> /proc/self/fd, stdin ->
///   /proc/self/fd/0, stdout -> /proc/self/fd/1, stderr -> /proc/self/fd/2
///   (`std::os::unix::fs::symlink`).
///
/// nix: `mount`, `MsFlags::{MS_BIND, MS_NOSUID, MS_NODEV, MS_NOEXEC}`.
/// Read: CONTRACT.md section 2.2, proc(5), tmpfs(5).
pub fn mount_proc_and_dev(new_root: &Path) -> Result<()> {
    todo!("ns-mount: mount proc and a minimal /dev (tmpfs, bind-mounted devices, shm, symlinks) in the new root")
}

/// Container side, last mount step: enter NEW_ROOT with pivot_root(2), not
/// chroot. Idiom: `chdir(new_root)`, `pivot_root(".", ".")` (the old root is
/// then stacked on top), `umount2(".", MNT_DETACH)` to detach the old root,
/// then `chdir("/")`. Afterwards the old root is in no mountinfo and no path
/// leads to it. Read: pivot_root(2) (NOTES), umount2(2).
pub fn pivot_into(new_root: &Path) -> Result<()> {
    todo!("ns-mount: chdir(new_root); pivot_root(\".\", \".\"); umount2(\".\", MNT_DETACH); chdir(\"/\")")
}

// ------------------------------------------------------------------ sec-escape

/// sec-escape, container side, with a new root, after mount_proc_and_dev
/// (contract 1.2): hide what shows the host's kernel, as runc does.
/// - NEW_ROOT/proc/{kcore,keys,timer_list,sched_debug,latency_stats}: bind
///   /dev/null over each (MS_BIND);
/// - NEW_ROOT/proc/{acpi,scsi}: an empty read-only tmpfs over each;
/// - NEW_ROOT/proc/{sysrq-trigger,sys,irq,bus,fs}: read-only, a bind mount onto
///   itself, then a remount with MS_BIND | MS_REMOUNT | MS_RDONLY and the
///   proc mount's own MS_NOSUID | MS_NODEV | MS_NOEXEC (in a user namespace the
///   kernel refuses a remount that drops them).
///
/// Skip a path this kernel has not got. Until you write it this does nothing,
/// so the earlier exercises still run. Read: proc(5) (kcore, keys,
/// sysrq-trigger), mount(2) ("Remounting an existing mount").
pub fn mask_kernel_files(new_root: &Path) -> Result<()> {
    Ok(())
}

// ------------------------------------------------------------------ ns-ipc

/// Container side, with a new root and `ipc`: mount an `mqueue` file system
/// of the new IPC namespace on NEW_ROOT/dev/mqueue (create the directory).
/// Read: ipc_namespaces(7), mq_overview(7) ("Mounting the message queue file system").
pub fn mount_mqueue(new_root: &Path) -> Result<()> {
    todo!("ns-ipc: mount an mqueue file system on NEW_ROOT/dev/mqueue")
}

// ------------------------------------------------------------------ ns-net

/// Host side, after the start, with `net`: bring `lo` up inside the
/// container's network namespace. With --veth: create the pair (host end
/// `veth.host_if`, container end `veth.cont_if` moved into the namespace of
/// `child`), give each end its address and prefix, and bring both up. A
/// host_if that already exists is an error. The simplest way from Rust is
/// ip(8) through `std::process::Command` (the runtime is single-threaded, so
/// that is safe): `ip link add H type veth peer name C netns PID`,
/// `ip addr add`, `ip link set ... up`, and `nsenter -t PID -n ip ...` for the
/// container side. (Netlink sockets by hand are the other way.)
/// Read: network_namespaces(7), veth(4), ip-link(8), ip-address(8), nsenter(1).
pub fn net_setup(child: Pid, veth: Option<&Veth>) -> Result<()> {
    todo!(
        "ns-net: bring lo up inside; with --veth create the pair, address both ends, bring them up"
    )
}

/// Host side, at the end: the pair must be gone once `run` returns. Delete the
/// host end if it is still there (it goes with the namespace, but not always at once).
pub fn net_cleanup(veth: &Veth) -> Result<()> {
    todo!("ns-net: delete the host end of the veth pair if it still exists")
}

// ------------------------------------------------------------------ ns-user

/// Host side, after the start, with `user`: write the maps of `child` from
/// outside. uid_maps to /proc/PID/uid_map and gid_maps to /proc/PID/gid_map,
/// one line `IN OUT COUNT` per map, ALL lines of a file in ONE write(2) (the
/// kernel accepts one write per file: build the text, then `std::fs::write`).
/// When the runtime is not privileged, write "deny" to /proc/PID/setgroups
/// before gid_map. With no maps, write nothing (ids show as 65534).
/// Read: user_namespaces(7) ("User and group ID mappings").
pub fn write_id_maps(child: Pid, uid_maps: &[IdMap], gid_maps: &[IdMap]) -> Result<()> {
    todo!("ns-user: write uid_map and gid_map of the child from outside, each in a single write")
}

/// Container side, after "go" (the maps are written): if id 0 is mapped,
/// switch to uid 0 and gid 0 inside: `setgroups(&[])` (where allowed),
/// `setresgid(0, 0, 0)`, `setresuid(0, 0, 0)` (nix::unistd). A process that
/// kept its host root credentials could still write root's files on the host.
/// Careful: changing credentials clears the parent-death signal: set it again
/// (`nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)`).
/// Read: user_namespaces(7), setresuid(2), prctl(2) (PR_SET_PDEATHSIG).
pub fn become_root(uid_maps: &[IdMap], gid_maps: &[IdMap]) -> Result<()> {
    todo!("ns-user: setgroups, setresgid(0,0,0), setresuid(0,0,0) when 0 is mapped; set the parent-death signal again")
}

// ------------------------------------------------------------------ ns-cgroup-time

/// Container side, after "go" (the runtime has put this process in
/// --cgroup NAME): `unshare(CloneFlags::CLONE_NEWCGROUP)`. Inside,
/// /proc/self/cgroup then shows `/`.
/// Read: cgroup_namespaces(7).
pub fn unshare_cgroup() -> Result<()> {
    todo!("ns-cgroup-time: unshare(CLONE_NEWCGROUP)")
}

/// Container side, with `time`: `unshare(CloneFlags::CLONE_NEWTIME)` (Linux
/// 5.6+; on an older kernel a runtime error), then write the offsets to
/// /proc/self/timens_offsets (`monotonic SECS 0` and `boottime SECS 0`, one
/// line each) before any child is created: the kernel refuses them after.
/// The new namespace applies to children only; run.rs then runs `run_init`,
/// whose child executes COMMAND.
/// Read: time_namespaces(7).
pub fn unshare_time(offsets: TimeOffsets) -> Result<()> {
    todo!("ns-cgroup-time: unshare(CLONE_NEWTIME), then write /proc/self/timens_offsets")
}
