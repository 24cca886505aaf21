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
        // TODO(ns-pid)
        Namespace::Pid => {
            todo!("ns-pid: return the clone flag of a new PID namespace (CloneFlags::CLONE_NEW...)")
        }
        // Part of ns-pid: a fresh /proc (`--ns pid,mnt`) needs a mount namespace.
        // TODO(ns-pid)
        Namespace::Mnt => todo!("ns-pid: return the clone flag of a new mount namespace"),
        // TODO(ns-uts)
        Namespace::Uts => todo!("ns-uts: return the clone flag of a new UTS namespace"),
        // TODO(ns-ipc)
        Namespace::Ipc => todo!("ns-ipc: return the clone flag of a new IPC namespace"),
        // TODO(ns-net)
        Namespace::Net => todo!("ns-net: return the clone flag of a new network namespace"),
        // The other namespaces of the clone are then owned by the new user namespace.
        // TODO(ns-user)
        Namespace::User => todo!("ns-user: return the clone flag of a new user namespace"),
        // The process must join --cgroup NAME before its cgroup namespace is
        // made, and the runtime joins it only after the clone: so no flag here
        // (CloneFlags::empty()); unshare_cgroup does it after "go".
        // TODO(ns-cgroup-time)
        Namespace::Cgroup => {
            todo!("ns-cgroup-time: no clone flag for cgroup (return CloneFlags::empty())")
        }
        // clone(2) cannot make a time namespace (only clone3 and unshare can):
        // no flag here (CloneFlags::empty()); unshare_time does it.
        // TODO(ns-cgroup-time)
        Namespace::Time => {
            todo!("ns-cgroup-time: no clone flag for time (return CloneFlags::empty())")
        }
    }
}

// ------------------------------------------------------------------ ns-pid

/// TODO(ns-pid). Container side, with `mnt` (part of ns-pid, used again by ns-mount): make
/// every mount private, recursively, so no mount made from here on reaches the
/// host (the host's / is often shared: mount_namespaces(7)), and so
/// pivot_root(2) will accept the new root (EINVAL on a shared mount):
/// `mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)`.
/// Read: mount_namespaces(7) ("Shared subtrees"), mount(2).
///
/// 컨테이너 쪽, `mnt`가 있을 때(ns-pid의 일부이고 ns-mount에서 다시 씀): 모든
/// 마운트를 재귀적으로 private으로 만드세요. 그래야 여기서부터 만드는 마운트가
/// 호스트에 닿지 않고(호스트의 /는 흔히 shared입니다: mount_namespaces(7)),
/// pivot_root(2)가 새 루트를 받아들입니다(shared 마운트에서는 EINVAL). 위의 mount
/// 호출이 그것입니다. 읽을거리: mount_namespaces(7) ("Shared subtrees"), mount(2).
pub fn make_mounts_private() -> Result<()> {
    todo!("ns-pid: mount(None, \"/\", None, MS_REC | MS_PRIVATE, None)")
}

/// TODO(ns-pid). Container side, with `--ns pid,mnt` and no root file system, after
/// make_mounts_private: mount a fresh /proc of the new PID namespace over
/// /proc: `mount(Some("proc"), "/proc", Some("proc"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC, None::<&str>)`.
/// It lists only the container's processes. (Never do this without a private
/// mount namespace: it would hide the host's own /proc.)
/// Read: pid_namespaces(7) ("/proc and PID namespaces"), proc(5).
///
/// 컨테이너 쪽, `--ns pid,mnt`이고 루트 파일 시스템이 없을 때, make_mounts_private
/// 뒤: 새 PID 네임스페이스의 proc을 /proc 위에 새로 마운트하세요(위의 mount 호출).
/// 컨테이너의 프로세스만 보입니다. (private 마운트 네임스페이스 없이 하면 절대
/// 안 됩니다. 호스트 자신의 /proc을 가리게 됩니다.)
/// 읽을거리: pid_namespaces(7) ("/proc and PID namespaces"), proc(5).
pub fn mount_fresh_proc() -> Result<()> {
    todo!("ns-pid: mount a new proc on /proc")
}

/// TODO(ns-pid). Container side, with `pid` (and with `time`, whose offsets apply only to
/// children): this process is PID 1 of the new namespace. Be a small init:
/// - fork (`unsafe { nix::unistd::fork() }`); the child runs
///   `crate::run::exec_command(command, old_mask)`, which restores the signal
///   mask and executes COMMAND (it becomes PID 2);
/// - forward SIGTERM, SIGINT and SIGHUP to the child. They are still blocked
///   here (the runtime blocked them before the clone): take them with
///   `SigSet::wait()` (sigwait(2)), as `run.rs::wait_forwarding` does. PID 1
///   gets no signal it has no handler for, but a *blocked* signal is queued;
///   SIGCHLD is blocked too, so it tells you when to reap;
/// - reap orphans: on SIGCHLD, call `nix::sys::wait::waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG))`
///   until it returns StillAlive or ECHILD; every child re-parented to PID 1
///   is yours to reap, or it stays a zombie;
/// - when COMMAND's process is reaped, exit with its status, or 128+N if
///   signal N killed it (`std::process::exit`). The kernel then kills what is
///   left in the namespace.
///
/// Read: pid_namespaces(7) ("The namespace init process"), waitpid(2), sigwait(3).
///
/// 컨테이너 쪽, `pid`가 있을 때(오프셋이 자식에게만 적용되는 `time`일 때도): 이
/// 프로세스가 새 네임스페이스의 PID 1입니다. 작은 init이 되세요.
/// - fork하고(`unsafe { nix::unistd::fork() }`) 자식은
///   `crate::run::exec_command(command, old_mask)`를 실행합니다. 그것이 시그널
///   마스크를 되돌리고 COMMAND를 실행합니다(PID 2가 됩니다).
/// - SIGTERM, SIGINT, SIGHUP을 자식에게 전달합니다. 여기서는 아직 막혀 있으니
///   (런타임이 clone 전에 막았습니다) `run.rs::wait_forwarding`처럼
///   `SigSet::wait()`(sigwait(2))로 받으세요. PID 1은 핸들러가 없는 시그널을 받지
///   않지만 *막힌* 시그널은 대기열에 쌓입니다. SIGCHLD도 막혀 있어서 거둘 때를
///   알려 줍니다.
/// - 고아를 거둡니다. SIGCHLD가 오면 `nix::sys::wait::waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG))`를
///   StillAlive나 ECHILD가 나올 때까지 부르세요. PID 1에게 넘어온 자식은 모두
///   여러분이 거둬야 하고, 아니면 좀비로 남습니다.
/// - COMMAND의 프로세스를 거두면 그 상태로, 시그널 N으로 죽었으면 128+N으로
///   종료합니다(`std::process::exit`). 그러면 커널이 네임스페이스에 남은 것을
///   죽입니다.
///
/// 읽을거리: pid_namespaces(7) ("The namespace init process"), waitpid(2), sigwait(3).
pub fn run_init(command: &[OsString], old_mask: &SigSet) -> Result<Infallible> {
    todo!("ns-pid: fork COMMAND, forward SIGTERM/SIGINT/SIGHUP, reap every child, exit with COMMAND's status")
}

// ------------------------------------------------------------------ ns-uts

/// TODO(ns-uts). Container side, with --hostname NAME: set the host name of the new UTS
/// namespace (`nix::unistd::sethostname`). The host's name stays unchanged.
/// Read: uts_namespaces(7), sethostname(2).
///
/// 컨테이너 쪽, --hostname NAME이 있을 때: 새 UTS 네임스페이스의 호스트 이름을
/// 정하세요(`nix::unistd::sethostname`). 호스트의 이름은 그대로입니다.
/// 읽을거리: uts_namespaces(7), sethostname(2).
pub fn set_hostname(name: &str) -> Result<()> {
    todo!("ns-uts: sethostname(name)")
}

// ------------------------------------------------------------------ ns-mount

/// TODO(ns-mount). Container side, with --rootfs DIR: bind-mount DIR onto itself (pivot_root
/// needs the new root to be a mount point: MS_BIND | MS_REC) and return it.
/// ns-mount needs only --rootfs: --layer is exercise ufs-layers.
/// Read: mount(2) ("Creating a bind mount").
///
/// 컨테이너 쪽, --rootfs DIR이 있을 때: DIR을 자기 자신 위에 bind 마운트하고
/// (pivot_root는 새 루트가 마운트 지점이어야 합니다: MS_BIND | MS_REC) 그 경로를
/// 돌려주세요. ns-mount에는 --rootfs만 있으면 됩니다. --layer는 ufs-layers
/// 실습입니다. 읽을거리: mount(2) ("Creating a bind mount").
pub fn bind_rootfs(dir: &Path) -> Result<PathBuf> {
    todo!("ns-mount: bind-mount the rootfs onto itself and return its path")
}

/// TODO(ns-mount). Container side, with a new root, before pivoting (host paths still work):
/// - a fresh `proc` on NEW_ROOT/proc (of the container's PID namespace). With
///   `user` but without `pid` the kernel refuses it (EPERM: the PID namespace
///   is the host's, not owned by the new user namespace): then bind the host's
///   /proc instead (`MsFlags::MS_BIND | MsFlags::MS_REC`), as the reference
///   runtime does;
/// - NEW_ROOT/dev: a small `tmpfs` (mode 755) holding null, zero, full, random
///   and urandom, each an empty file with the host's /dev/X bind-mounted on it
///   (bind mounts, not mknod, so this also works in a user namespace);
///   /dev/shm (a tmpfs); the symlinks fd -> /proc/self/fd, stdin ->
///   /proc/self/fd/0, stdout -> /proc/self/fd/1, stderr -> /proc/self/fd/2
///   (`std::os::unix::fs::symlink`).
///
/// nix: `mount`, `MsFlags::{MS_BIND, MS_NOSUID, MS_NODEV, MS_NOEXEC}`.
/// Read: CONTRACT.md section 2.2, proc(5), tmpfs(5).
///
/// 컨테이너 쪽, 새 루트가 있을 때 pivot 전(호스트 경로가 아직 통함):
/// - NEW_ROOT/proc에 컨테이너의 PID 네임스페이스의 새 `proc`. `user`는 있고
///   `pid`가 없으면 커널이 거부합니다(EPERM: PID 네임스페이스가 호스트의 것이라
///   새 user 네임스페이스의 소유가 아닙니다). 그때는 참조 런타임처럼 호스트의
///   /proc을 bind 마운트합니다(`MsFlags::MS_BIND | MsFlags::MS_REC`).
/// - NEW_ROOT/dev: 작은 `tmpfs`(mode 755)에 null, zero, full, random, urandom을
///   두는데, 각각 빈 파일 위에 호스트의 /dev/X를 bind 마운트합니다(mknod가 아니라
///   bind라서 user 네임스페이스에서도 됩니다). /dev/shm(tmpfs), 심볼릭 링크
///   fd -> /proc/self/fd, stdin -> /proc/self/fd/0, stdout -> /proc/self/fd/1,
///   stderr -> /proc/self/fd/2(`std::os::unix::fs::symlink`).
///
/// 읽을거리: CONTRACT.ko.md 2.2절, proc(5), tmpfs(5).
pub fn mount_proc_and_dev(new_root: &Path) -> Result<()> {
    todo!("ns-mount: mount proc and a minimal /dev (tmpfs, bind-mounted devices, shm, symlinks) in the new root")
}

/// TODO(ns-mount). Container side, last mount step: enter NEW_ROOT with pivot_root(2), not
/// chroot. Idiom: `chdir(new_root)`, `pivot_root(".", ".")` (the old root is
/// then stacked on top), `umount2(".", MNT_DETACH)` to detach the old root,
/// then `chdir("/")`. Afterwards the old root is in no mountinfo and no path
/// leads to it. Read: pivot_root(2) (NOTES), umount2(2).
///
/// 컨테이너 쪽, 마지막 마운트 단계: chroot가 아니라 pivot_root(2)로 NEW_ROOT에
/// 들어가세요. 관용구: `chdir(new_root)`, `pivot_root(".", ".")`(옛 루트가 위에
/// 쌓입니다), `umount2(".", MntFlags::MNT_DETACH)`로 옛 루트를 떼어 내고
/// `chdir("/")`. 그러면 옛 루트는 어느 mountinfo에도 없고 어떤 경로로도 닿지
/// 않습니다. 읽을거리: pivot_root(2) (NOTES), umount2(2).
pub fn pivot_into(new_root: &Path) -> Result<()> {
    todo!("ns-mount: chdir(new_root); pivot_root(\".\", \".\"); umount2(\".\", MNT_DETACH); chdir(\"/\")")
}

// ------------------------------------------------------------------ sec-escape

/// TODO(sec-escape). sec-escape, container side, with a new root, after mount_proc_and_dev
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
///
/// 컨테이너 쪽, 새 루트가 있을 때 mount_proc_and_dev 뒤(계약 1.2): runc처럼 호스트의
/// 커널을 보여 주는 것을 가리세요.
/// - NEW_ROOT/proc/{kcore,keys,timer_list,sched_debug,latency_stats}: 각각 위에
///   /dev/null을 bind 마운트(MS_BIND).
/// - NEW_ROOT/proc/{acpi,scsi}: 각각 위에 비어 있는 읽기 전용 tmpfs.
/// - NEW_ROOT/proc/{sysrq-trigger,sys,irq,bus,fs}: 읽기 전용. 자기 자신 위에 bind
///   마운트한 뒤 MS_BIND | MS_REMOUNT | MS_RDONLY와 proc 마운트 자신의
///   MS_NOSUID | MS_NODEV | MS_NOEXEC로 다시 마운트합니다(user 네임스페이스에서는
///   그 플래그를 빼는 remount를 커널이 거부합니다).
///
/// 이 커널에 없는 경로는 건너뜁니다. 쓰기 전까지는 아무것도 하지 않으므로 앞의
/// 실습은 그대로 돕니다. 읽을거리: proc(5) (kcore, keys, sysrq-trigger), mount(2)
/// ("Remounting an existing mount").
pub fn mask_kernel_files(new_root: &Path) -> Result<()> {
    Ok(())
}

/// TODO(sec-escape). Container side, before init and COMMAND: close every
/// descriptor above 2. Whatever started the runtime may have left some open
/// (the check passes a directory of the host), and a descriptor of a host
/// directory is a way out of any root file system (CVE-2024-21626: runc
/// leaked one, and /proc/self/fd/N led to the host's files). close_range(2)
/// closes them in one call:
/// `if unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) } != 0 { return Err(nix::errno::Errno::last()).context("close_range") }`.
/// Until you write it this does nothing, so the earlier exercises still run.
/// Read: close_range(2), proc(5) (/proc/PID/fd).
///
/// 컨테이너 쪽, init과 COMMAND 전: 2보다 큰 디스크립터를 모두 닫으세요. 런타임을
/// 시작한 쪽이 무언가를 열어 둔 채 넘겼을 수 있고(검사는 호스트의 디렉터리를
/// 넘깁니다), 호스트 디렉터리의 디스크립터는 어떤 루트 파일 시스템에서도
/// 빠져나갈 길입니다(CVE-2024-21626: runc가 하나를 흘렸고 /proc/self/fd/N이
/// 호스트의 파일로 이어졌습니다). close_range(2) 한 번으로 닫을 수 있습니다(위의
/// 코드). 쓰기 전까지는 아무것도 하지 않으므로 앞의 실습은 그대로 돕니다.
/// 읽을거리: close_range(2), proc(5) (/proc/PID/fd).
pub fn close_inherited_fds() -> Result<()> {
    Ok(())
}

// ------------------------------------------------------------------ ns-ipc

/// TODO(ns-ipc). Container side, with a new root and `ipc`: mount an `mqueue` file system
/// of the new IPC namespace on NEW_ROOT/dev/mqueue (create the directory).
/// Read: ipc_namespaces(7), mq_overview(7) ("Mounting the message queue file system").
///
/// 컨테이너 쪽, 새 루트와 `ipc`가 있을 때: 새 IPC 네임스페이스의 `mqueue` 파일
/// 시스템을 NEW_ROOT/dev/mqueue에 마운트하세요(디렉터리를 만드세요).
/// 읽을거리: ipc_namespaces(7), mq_overview(7) ("Mounting the message queue file system").
pub fn mount_mqueue(new_root: &Path) -> Result<()> {
    todo!("ns-ipc: mount an mqueue file system on NEW_ROOT/dev/mqueue")
}

// ------------------------------------------------------------------ ns-net

/// TODO(ns-net). Host side, after the start, with `net`: bring `lo` up inside the
/// container's network namespace (this runs before "go": lo is up before
/// COMMAND starts). The child is in its namespace from the clone on, so no
/// wait is needed here (a runtime that makes it later, as `unshare` does,
/// must wait until /proc/PID/ns/net differs from its own). With --veth:
/// create the pair (host end `veth.host_if`, container end `veth.cont_if`
/// moved into the namespace of `child`), give each end its address and
/// prefix, and bring both up. A host_if that already exists is an error, and
/// not yours: set `*created = true` only once `ip link add` succeeded, so
/// that cleanup deletes only a pair this run made. The simplest way from Rust is
/// ip(8) through `std::process::Command` (the runtime is single-threaded, so
/// that is safe): `ip link add H type veth peer name C netns PID`,
/// `ip addr add`, `ip link set ... up`, and `nsenter -t PID -n ip ...` for the
/// container side. (Netlink sockets by hand are the other way.)
/// Read: network_namespaces(7), veth(4), ip-link(8), ip-address(8), nsenter(1).
///
/// 호스트 쪽, 시작 뒤, `net`이 있을 때: 컨테이너의 네트워크 네임스페이스 안에서
/// `lo`를 올리세요(이 함수는 "go" 전에 실행되므로 COMMAND가 시작하기 전에 lo가
/// 올라가 있습니다). 자식은 clone 때부터 네임스페이스 안에 있으므로 여기서는
/// 기다릴 필요가 없습니다(`unshare`처럼 나중에 만드는 런타임은
/// /proc/PID/ns/net이 자기 것과 달라질 때까지 기다려야 합니다). --veth가 있으면
/// 쌍을 만들고(호스트 끝 `veth.host_if`, 컨테이너 끝 `veth.cont_if`는 `child`의
/// 네임스페이스로 옮김) 양 끝에 주소와 prefix를 주고 둘 다 올립니다. host_if가
/// 이미 있으면 오류이고, 그것은 여러분의 것이 아닙니다. `ip link add`가 성공한
/// 뒤에만 `*created = true`로 두어서 cleanup이 이 실행이 만든 쌍만 지우게 하세요.
/// Rust에서 가장 쉬운 길은 `std::process::Command`로 ip(8)를 부르는 것입니다.
/// 읽을거리: network_namespaces(7), veth(4), ip-link(8), ip-address(8), nsenter(1).
pub fn net_setup(child: Pid, veth: Option<&Veth>, created: &mut bool) -> Result<()> {
    todo!("ns-net: bring lo up inside; with --veth create the pair, address both ends, bring them up")
}

/// TODO(ns-net). Host side, at the end, called only when net_setup created the pair
/// (`run.rs` keeps track): the pair must be gone once `run` returns. Delete the
/// host end if it is still there (it goes with the namespace, but not always at
/// once). Never delete an interface this run did not create.
///
/// 호스트 쪽, 끝에서, net_setup이 쌍을 만들었을 때만 불립니다(`run.rs`가 기록해
/// 둡니다). `run`이 돌아올 때 쌍은 없어야 합니다. 호스트 끝이 아직 있으면
/// 지우세요(네임스페이스와 함께 사라지지만 늘 바로 사라지지는 않습니다). 이
/// 실행이 만들지 않은 인터페이스는 절대 지우지 마세요.
pub fn net_cleanup(veth: &Veth) -> Result<()> {
    todo!("ns-net: delete the host end of the veth pair if it still exists")
}

// ------------------------------------------------------------------ ns-user

/// TODO(ns-user). Host side, after the start, with `user`: write the maps of `child` from
/// outside. uid_maps to /proc/PID/uid_map and gid_maps to /proc/PID/gid_map,
/// one line `IN OUT COUNT` per map, ALL lines of a file in ONE write(2) (the
/// kernel accepts one write per file: build the text, then `std::fs::write`).
/// When the runtime is not privileged, write "deny" to /proc/PID/setgroups
/// before gid_map. With no maps, write nothing (ids show as 65534).
/// Read: user_namespaces(7) ("User and group ID mappings").
///
/// 호스트 쪽, 시작 뒤, `user`가 있을 때: `child`의 맵을 밖에서 쓰세요. uid_maps는
/// /proc/PID/uid_map에, gid_maps는 /proc/PID/gid_map에, 맵마다 `IN OUT COUNT` 한 줄,
/// 한 파일의 모든 줄을 한 번의 write(2)로 씁니다(커널은 파일마다 write 한 번만
/// 받습니다: 글을 다 만든 뒤 `std::fs::write`). 권한 없는 런타임은 gid_map 전에
/// /proc/PID/setgroups에 "deny"를 씁니다. 맵이 없으면 아무것도 쓰지 않습니다(id는
/// 65534로 보입니다). 읽을거리: user_namespaces(7) ("User and group ID mappings").
pub fn write_id_maps(child: Pid, uid_maps: &[IdMap], gid_maps: &[IdMap]) -> Result<()> {
    todo!("ns-user: write uid_map and gid_map of the child from outside, each in a single write")
}

/// TODO(ns-user). Container side, after "go" (the maps are written): if id 0 is mapped,
/// switch to uid 0 and gid 0 inside: `setgroups(&[])` (where allowed),
/// `setresgid(0, 0, 0)`, `setresuid(0, 0, 0)` (nix::unistd). A process that
/// kept its host root credentials could still write root's files on the host.
/// Careful: changing credentials clears the parent-death signal: set it again
/// (`nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)`).
/// Read: user_namespaces(7), setresuid(2), prctl(2) (PR_SET_PDEATHSIG).
///
/// 컨테이너 쪽, "go" 뒤(맵이 쓰여 있음): id 0이 맵에 있으면 안에서 uid 0, gid 0으로
/// 바꾸세요: `setgroups(&[])`(허용될 때), `setresgid(0, 0, 0)`, `setresuid(0, 0, 0)`
/// (nix::unistd). 호스트의 root 자격 증명을 그대로 가진 프로세스는 호스트에서
/// root의 파일을 쓸 수 있습니다. 주의: 자격 증명을 바꾸면 부모가 죽을 때의 시그널이
/// 지워지니 다시 설정하세요(`nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)`).
/// 읽을거리: user_namespaces(7), setresuid(2), prctl(2) (PR_SET_PDEATHSIG).
pub fn become_root(uid_maps: &[IdMap], gid_maps: &[IdMap]) -> Result<()> {
    todo!("ns-user: setgroups, setresgid(0,0,0), setresuid(0,0,0) when 0 is mapped; set the parent-death signal again")
}

// ------------------------------------------------------------------ ns-cgroup-time

/// TODO(ns-cgroup-time). Container side, after "go" (the runtime has put this process in
/// --cgroup NAME: `cgroups::join`): `unshare(CloneFlags::CLONE_NEWCGROUP)`. Inside,
/// /proc/self/cgroup then shows `/`.
/// Read: cgroup_namespaces(7).
///
/// 컨테이너 쪽, "go" 뒤(런타임이 이 프로세스를 --cgroup NAME에 넣었음: `cgroups::join`):
/// `unshare(CloneFlags::CLONE_NEWCGROUP)`. 그러면 안에서 /proc/self/cgroup이 `/`를
/// 보여 줍니다. 읽을거리: cgroup_namespaces(7).
pub fn unshare_cgroup() -> Result<()> {
    todo!("ns-cgroup-time: unshare(CLONE_NEWCGROUP)")
}

/// TODO(ns-cgroup-time). Container side, with `time`: a new time namespace (Linux
/// 5.6+; on an older kernel a runtime error). nix 0.29 has no CLONE_NEWTIME,
/// so call libc: `if unsafe { libc::unshare(libc::CLONE_NEWTIME) } != 0 { return Err(nix::errno::Errno::last()).context("unshare(CLONE_NEWTIME)") }`.
/// Then write the offsets to
/// /proc/self/timens_offsets (`monotonic SECS 0` and `boottime SECS 0`, one
/// line each) before any child is created: the kernel refuses them after.
/// The new namespace applies to children only; run.rs then runs `run_init`,
/// whose child executes COMMAND.
/// Read: time_namespaces(7).
///
/// 컨테이너 쪽, `time`이 있을 때: 새 time 네임스페이스(Linux 5.6 이상, 더 오래된
/// 커널에서는 런타임 오류). nix 0.29에는 CLONE_NEWTIME이 없으니 위의 코드처럼
/// libc를 부르세요. 그다음 자식을 만들기 전에 오프셋을 /proc/self/timens_offsets에
/// 쓰세요(`monotonic SECS 0`과 `boottime SECS 0`, 한 줄씩). 자식이 생긴 뒤에는
/// 커널이 거부합니다. 새 네임스페이스는 자식에게만 적용됩니다. 그래서 run.rs는
/// 다음에 `run_init`을 실행하고, 그 자식이 COMMAND를 실행합니다.
/// 읽을거리: time_namespaces(7).
pub fn unshare_time(offsets: TimeOffsets) -> Result<()> {
    todo!("ns-cgroup-time: unshare(CLONE_NEWTIME), then write /proc/self/timens_offsets")
}
