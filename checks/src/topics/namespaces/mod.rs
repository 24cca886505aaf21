//! Namespaces: each check observes isolation from inside (the probe) and from the
//! host, and runs a control (the same observation without the namespace) that must
//! show the sharing, so the check is proven able to tell the difference.
//!
//! Verdict rules shared by every check here (each check's comment adds its own):
//! - a control run through the runtime is the runtime's: the contract says what a
//!   run without the flag gives (§1: every namespace is opt-in), so a control that
//!   contradicts it fails the check, naming the control run and its command;
//! - a control the checker runs itself (unshare, chroot, the host's own figures)
//!   that does not show the difference is `broken`: nobody's fault but the host's;
//! - a runtime stricter than the contract (capabilities dropped, /proc read-only)
//!   loses nothing: where a refusal (EPERM, EACCES, EROFS) means the property holds
//!   the check passes with a note, and what needs a capability inside is done by the
//!   checker from the host instead (nsenter into the container's namespaces).
//!
//! One file per namespace, named as the checks' ids name it (`namespaces.pid.*` in
//! `pid.rs`); this one holds the catalog entries and what several files share.

use std::time::Duration;

use crate::check::{Check, Requirement as R};
use crate::ctx::Ctx;
use crate::ctx::{js, refused};
use crate::host;
use crate::outcome::{broken, control_fail, ensure, fail, fail_host, host_control_failed, skip, CheckResult, Outcome};

macro_rules! check {
    ($id:literal, $title:literal, uses = [$($u:literal),*], requires = [$($r:expr),*], $f:path) => {
        Check {
            id: $id,
            topic: "namespaces",
            title: $title,
            uses: &[$($u),*],
            requires: &[R::Root, $($r),*],
            serial: None,
            run: $f,
        }
    };
}

mod cgroup;
mod ipc;
mod limits;
mod mnt;
mod net;
mod pid;
mod time;
mod user;
mod uts;

// Long: the catalog is a table, one entry per check.
pub fn checks() -> Vec<Check> {
    let mut v = vec![
        check!(
            "namespaces.pid.init-is-pid-1",
            "the container's first process is PID 1 of a new PID namespace",
            uses = ["--ns pid", "--pid-file"],
            requires = [R::Namespace("pid")],
            pid::init_is_pid_1
        ),
        check!(
            "namespaces.pid.fresh-proc",
            "a fresh /proc lists only the container's processes",
            uses = ["--ns pid,mnt"],
            requires = [R::Namespace("pid"), R::Namespace("mnt")],
            pid::fresh_proc
        ),
        check!(
            "namespaces.pid.host-pid-unreachable",
            "a host PID cannot be signalled from inside (ESRCH)",
            uses = ["--ns pid"],
            requires = [R::Namespace("pid")],
            pid::host_pid_unreachable
        ),
        check!(
            "namespaces.pid.orphans-reaped",
            "an orphan inside is reaped, no zombie is left",
            uses = ["--ns pid,mnt"],
            requires = [R::Namespace("pid"), R::Command("unshare")],
            pid::orphans_reaped
        ),
        check!(
            "namespaces.pid.exit-status-is-128-plus-signal",
            "a command killed by signal N makes `run` exit 128+N, with and without a PID namespace",
            uses = ["--ns pid"],
            requires = [R::Namespace("pid")],
            pid::exit_status_follows_signal
        ),
        check!(
            "namespaces.pid.signals-reach-the-command",
            "SIGTERM and SIGINT sent to the runtime reach the command, with and without a PID namespace",
            uses = ["--ns pid"],
            requires = [R::Namespace("pid")],
            pid::signals_reach_command
        ),
        check!(
            "namespaces.pid.orphans-killed-at-exit",
            "when the command exits, what it left running in its PID namespace is killed",
            uses = ["--ns pid", "--pid-file"],
            requires = [R::Namespace("pid"), R::Command("sh")],
            pid::orphans_killed_at_exit
        ),
        check!(
            "namespaces.pid.host-sees-other-pids",
            "the host sees the container's processes under other PIDs (NSpid)",
            uses = ["--ns pid", "--pid-file"],
            requires = [R::Namespace("pid")],
            pid::host_sees_other_pids
        ),
        check!(
            "namespaces.uts.hostname-set",
            "the hostname inside is the one requested",
            uses = ["--ns uts", "--hostname"],
            requires = [R::Namespace("uts")],
            uts::hostname_set
        ),
        check!(
            "namespaces.uts.host-hostname-unchanged",
            "two containers hold their own hostnames at once while the host's stays unchanged",
            uses = ["--ns uts", "--hostname", "--pid-file"],
            requires = [R::Namespace("uts"), R::Command("nsenter")],
            uts::host_hostname_unchanged
        ),
        check!(
            "namespaces.uts.domainname-isolated",
            "a NIS domain name set inside leaves the host's unchanged",
            uses = ["--ns uts"],
            requires = [R::Namespace("uts"), R::Command("nsenter")],
            uts::domainname_isolated
        ),
        check!(
            "namespaces.mnt.mount-invisible-on-host",
            "a mount made inside is absent from the host's mount table",
            uses = ["--ns mnt"],
            requires = [R::Namespace("mnt")],
            mnt::mount_invisible
        ),
        check!(
            "namespaces.mnt.host-files-unreachable",
            "after pivot_root host files cannot be reached, not even by a chroot breakout",
            uses = ["--ns mnt", "--rootfs"],
            requires = [R::Namespace("mnt"), R::Command("chroot")],
            mnt::host_files_unreachable
        ),
        check!(
            "namespaces.mnt.root-is-given-rootfs",
            "the container's root is the given rootfs",
            uses = ["--ns mnt", "--rootfs"],
            requires = [R::Namespace("mnt")],
            mnt::root_is_given
        ),
        check!(
            "namespaces.net.only-loopback",
            "only `lo` exists inside, and it is up",
            uses = ["--ns net"],
            requires = [R::Namespace("net")],
            net::only_loopback
        ),
        check!(
            "namespaces.net.host-addresses-invisible",
            "no host interface or address is visible inside",
            uses = ["--ns net"],
            requires = [R::Namespace("net")],
            net::host_addresses_invisible
        ),
        check!(
            "namespaces.net.veth-carries-traffic",
            "host and container exchange data over the veth pair",
            uses = ["--ns net", "--veth"],
            requires = [R::Namespace("net")],
            net::veth_traffic
        ),
        check!(
            "namespaces.net.same-port-twice",
            "two containers bind the same port at the same time",
            uses = ["--ns net"],
            requires = [R::Namespace("net")],
            net::same_port_twice
        ),
        check!(
            "namespaces.ipc.sysv-invisible",
            "SysV shared memory and message queues made inside are invisible outside",
            uses = ["--ns ipc"],
            requires = [R::Namespace("ipc")],
            ipc::sysv_invisible
        ),
        check!(
            "namespaces.ipc.posix-mq-invisible",
            "a POSIX message queue made inside is invisible outside",
            uses = ["--ns ipc"],
            requires = [R::Namespace("ipc")],
            ipc::posix_mq_invisible
        ),
        check!(
            "namespaces.user.root-maps-to-host-uid",
            "uid 0 inside is the mapped uid on the host",
            uses = ["--ns user", "--uid-map", "--gid-map", "--pid-file"],
            requires = [R::Namespace("user")],
            user::root_maps
        ),
        check!(
            "namespaces.user.files-owned-by-mapped-uid",
            "a file created inside is owned by the mapped uid on the host",
            uses = ["--ns user,mnt", "--uid-map", "--gid-map", "--rootfs"],
            requires = [R::Namespace("user")],
            user::files_owned
        ),
        check!(
            "namespaces.user.host-root-files-protected",
            "root inside cannot write a file owned by host root",
            uses = ["--ns user", "--uid-map", "--gid-map"],
            requires = [R::Namespace("user")],
            user::host_root_protected
        ),
        check!(
            "namespaces.user.unmapped-ids-overflow",
            "ids without a mapping show as the overflow id (65534)",
            uses = ["--ns user", "--uid-map", "--gid-map"],
            requires = [R::Namespace("user")],
            user::unmapped_overflow
        ),
        check!(
            "namespaces.cgroup.root-is-own-cgroup",
            "inside a cgroup namespace the container's cgroup is /",
            uses = ["--ns cgroup", "--cgroup", "--pid-file"],
            requires = [R::Namespace("cgroup"), R::Command("nsenter")],
            cgroup::cgroup_root
        ),
        check!(
            "namespaces.time.offset-moves-clocks",
            "--time-offset moves CLOCK_BOOTTIME and CLOCK_MONOTONIC inside only",
            uses = ["--ns time", "--time-offset"],
            requires = [R::Namespace("time")],
            time::time_offset
        ),
    ];
    v.extend(limits::checks());
    v
}

// Below: what several namespaces' files share (limits.rs maps ids as user.rs does).

/// uid/gid the user checks map root to: far from any real account.
/// The host uid and gid the user-namespace checks map container root to.
pub(crate) const MAPPED: u32 = 231_072;

fn sleeper(ctx: &Ctx, options: &[&str], name: &str) -> Result<(crate::runtime::Spawned, i32), Outcome> {
    ctx.sleeper(options, ctx.probe(), name)
}

/// `--uid-map` and `--gid-map` mapping container root (and `count` ids) to [`MAPPED`].
pub(crate) fn map_opts(count: u32) -> Vec<String> {
    let m = format!("0:{MAPPED}:{count}");
    vec!["--uid-map".into(), m.clone(), "--gid-map".into(), m]
}

fn with(base: &[&str], extra: &[String]) -> Vec<String> {
    base.iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
