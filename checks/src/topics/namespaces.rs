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

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use serde_json::Value;

use crate::catalog::{Check, Requirement as R};
use crate::ctx::Ctx;
use crate::host;
use crate::ctx::refused;
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

pub fn checks() -> Vec<Check> {
    vec![
        check!("namespaces.pid.init-is-pid-1", "the container's first process is PID 1 of a new PID namespace",
            uses = ["--ns pid", "--pid-file"], requires = [R::Namespace("pid")], init_is_pid_1),
        check!("namespaces.pid.fresh-proc", "a fresh /proc lists only the container's processes",
            uses = ["--ns pid,mnt"], requires = [R::Namespace("pid"), R::Namespace("mnt")], fresh_proc),
        check!("namespaces.pid.host-pid-unreachable", "a host PID cannot be signalled from inside (ESRCH)",
            uses = ["--ns pid"], requires = [R::Namespace("pid")], host_pid_unreachable),
        check!("namespaces.pid.orphans-reaped", "an orphan inside is reaped, no zombie is left",
            uses = ["--ns pid,mnt"], requires = [R::Namespace("pid"), R::Command("unshare")], orphans_reaped),
        check!("namespaces.pid.host-sees-other-pids", "the host sees the container's processes under other PIDs (NSpid)",
            uses = ["--ns pid", "--pid-file"], requires = [R::Namespace("pid")], host_sees_other_pids),
        check!("namespaces.uts.hostname-set", "the hostname inside is the one requested",
            uses = ["--ns uts", "--hostname"], requires = [R::Namespace("uts")], hostname_set),
        check!("namespaces.uts.host-hostname-unchanged", "the host's hostname is unchanged during and after",
            uses = ["--ns uts", "--hostname", "--pid-file"], requires = [R::Namespace("uts"), R::Command("nsenter")],
            host_hostname_unchanged),
        check!("namespaces.uts.two-containers-differ", "two containers hold different hostnames at the same time",
            uses = ["--ns uts", "--hostname", "--pid-file"], requires = [R::Namespace("uts"), R::Command("nsenter")],
            two_hostnames),
        check!("namespaces.mnt.mount-invisible-on-host", "a mount made inside is absent from the host's mount table",
            uses = ["--ns mnt"], requires = [R::Namespace("mnt")], mount_invisible),
        check!("namespaces.mnt.host-files-unreachable", "after pivot_root host files cannot be reached, not even by a chroot breakout",
            uses = ["--ns mnt", "--rootfs"], requires = [R::Namespace("mnt"), R::Command("chroot")], host_files_unreachable),
        check!("namespaces.mnt.root-is-given-rootfs", "the container's root is the given rootfs, or the overlay of the given layers",
            uses = ["--ns mnt", "--rootfs", "--layer", "--upper", "--work"], requires = [R::Namespace("mnt"), R::Overlay],
            root_is_given),
        check!("namespaces.net.only-loopback", "only `lo` exists inside, and it is up",
            uses = ["--ns net"], requires = [R::Namespace("net")], only_loopback),
        check!("namespaces.net.host-addresses-invisible", "no host interface or address is visible inside",
            uses = ["--ns net"], requires = [R::Namespace("net")], host_addresses_invisible),
        check!("namespaces.net.veth-carries-traffic", "host and container exchange data over the veth pair",
            uses = ["--ns net", "--veth"], requires = [R::Namespace("net")], veth_traffic),
        check!("namespaces.net.same-port-twice", "two containers bind the same port at the same time",
            uses = ["--ns net"], requires = [R::Namespace("net")], same_port_twice),
        check!("namespaces.ipc.sysv-invisible", "SysV shared memory and message queues made inside are invisible outside",
            uses = ["--ns ipc"], requires = [R::Namespace("ipc")], sysv_invisible),
        check!("namespaces.ipc.posix-mq-invisible", "a POSIX message queue made inside is invisible outside",
            uses = ["--ns ipc"], requires = [R::Namespace("ipc")], posix_mq_invisible),
        check!("namespaces.user.root-maps-to-host-uid", "uid 0 inside is the mapped uid on the host",
            uses = ["--ns user", "--uid-map", "--gid-map", "--pid-file"], requires = [R::Namespace("user")], root_maps),
        check!("namespaces.user.files-owned-by-mapped-uid", "a file created inside is owned by the mapped uid on the host",
            uses = ["--ns user,mnt", "--uid-map", "--gid-map", "--rootfs"], requires = [R::Namespace("user")], files_owned),
        check!("namespaces.user.host-root-files-protected", "root inside cannot write a file owned by host root",
            uses = ["--ns user", "--uid-map", "--gid-map"], requires = [R::Namespace("user")], host_root_protected),
        check!("namespaces.user.unmapped-ids-overflow", "ids without a mapping show as the overflow id (65534)",
            uses = ["--ns user", "--uid-map", "--gid-map"], requires = [R::Namespace("user")], unmapped_overflow),
        check!("namespaces.cgroup.root-is-own-cgroup", "inside a cgroup namespace the container's cgroup is /",
            uses = ["--ns cgroup", "--cgroup", "--pid-file"], requires = [R::Namespace("cgroup"), R::Command("nsenter")],
            cgroup_root),
        check!("namespaces.time.offset-moves-clocks", "--time-offset moves CLOCK_BOOTTIME and CLOCK_MONOTONIC inside only",
            uses = ["--ns time", "--time-offset"], requires = [R::Namespace("time")], time_offset),
    ]
}

/// uid/gid the user checks map root to: far from any real account.
const MAPPED: u32 = 231_072;

fn num(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

// ---------------------------------------------------------------- PID

/// Pass: the probe is PID 1 (ppid 0) or the child of a PID 1 it can see. Fail:
/// anything else, or the control run (without --ns pid) showing PID 1 or 2.
fn init_is_pid_1(ctx: &Ctx) -> CheckResult {
    let (run, f) = ctx.probe_json(&["--ns", "pid,mnt"], &["facts"])?;
    let (pid, ppid) = (num(&f, "pid"), num(&f, "ppid"));
    let pids: Vec<i64> = field(&f, "pids").as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default();
    // The command is PID 1 itself (then its parent is outside: ppid 0), or the child of an init that is PID 1.
    let ok = (pid == Some(1) && ppid == Some(0)) || (ppid == Some(1) && pids.contains(&1));
    ensure(
        ok,
        "the probe to be PID 1 with ppid 0, or a child of PID 1",
        format!("pid {pid:?}, ppid {ppid:?}, visible pids {pids:?}"),
        &run,
    )?;
    // Control: without a PID namespace the probe has an ordinary host pid.
    const WITHOUT: &str = "without --ns pid";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &["--ns", "mnt"], &["facts"])?;
    if num(&c, "pid").unwrap_or(1) <= 2 {
        return Err(control_fail(WITHOUT, "an ordinary host PID (above 2): no PID namespace without --ns pid", format!("pid {:?}", num(&c, "pid")), &crun));
    }
    Ok(())
}

/// Pass: /proc inside lists 1 to 4 PIDs, all at most 8. Fail: more, or the control
/// run (mnt only) whose /proc does not list the checker's own PID. A read-only
/// /proc lists the same PIDs: strictness changes nothing here.
fn fresh_proc(ctx: &Ctx) -> CheckResult {
    let (run, f) = ctx.probe_json(&["--ns", "pid,mnt"], &["facts"])?;
    let pids: Vec<i64> = field(&f, "pids").as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default();
    let me = std::process::id() as i64;
    ensure(
        !pids.is_empty() && pids.len() <= 4 && pids.iter().all(|p| *p <= 8),
        "/proc inside to list only the container's few processes (pids 1..8)",
        format!("{} pids listed: {:?}", pids.len(), &pids[..pids.len().min(12)]),
        &run,
    )?;
    const WITHOUT: &str = "without --ns pid";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &["--ns", "mnt"], &["facts"])?;
    let host_pids: Vec<i64> = field(&c, "pids").as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default();
    if !host_pids.contains(&me) {
        return Err(control_fail(WITHOUT, format!("/proc to list the checker's pid {me} (the host's PID namespace)"), format!("{} pids, not {me}", host_pids.len()), &crun));
    }
    Ok(())
}

/// Pass: kill(checker, 0) inside fails with ESRCH (the PID does not exist there).
/// Fail: any other answer; or the control run (no --ns pid) answering ESRCH. In the
/// control EPERM counts as reachable (the PID exists, a stricter runtime just may
/// not signal it), so strictness loses nothing.
fn host_pid_unreachable(ctx: &Ctx) -> CheckResult {
    let me = std::process::id().to_string();
    let (run, k) = ctx.probe_json(&["--ns", "pid"], &["kill", &me, "--signal", "0"])?;
    ensure(
        field(&k, "error") == "ESRCH",
        format!("kill({me}, 0) of the checker's host pid to fail with ESRCH"),
        format!("ok {}, error {}", field(&k, "ok"), field(&k, "error")),
        &run,
    )?;
    const WITHOUT: &str = "without --ns pid";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &[], &["kill", &me, "--signal", "0"])?;
    if field(&c, "ok") != true && field(&c, "error") != "EPERM" {
        return Err(control_fail(WITHOUT, format!("kill({me}, 0) to find the checker (ok, or EPERM)"), format!("{c}"), &crun));
    }
    Ok(())
}

/// Pass: the orphan is gone (reaped) within 2 s. Fail: it stays a zombie or is
/// adopted elsewhere. The control is the checker's own (the probe as a PID 1 that
/// does not reap, under unshare): without a zombie there it is broken.
fn orphans_reaped(ctx: &Ctx) -> CheckResult {
    // The probe reports as soon as the orphan is gone, at the latest after 2 s: a
    // reaper slowed by a busy host is not a failure, a zombie for 2 s is.
    let args = ["orphan", "--delay-ms", "50", "--wait-ms", "2000"];
    let (run, o) = ctx.probe_json(&["--ns", "pid,mnt"], &args)?;
    ensure(
        field(&o, "state") == "gone",
        "the orphan reaped by the container's init (state gone)",
        format!("state {}, process state {}, adopted by pid {}", field(&o, "state"), field(&o, "stat_state"), field(&o, "ppid")),
        &run,
    )?;
    // Control: a PID 1 that does not reap (the probe itself under unshare) leaves a zombie.
    let out = std::process::Command::new("unshare")
        .args(["--fork", "--pid", "--mount-proc", ctx.probe()])
        .args(args)
        .output()
        .map_err(|e| broken(format!("running unshare: {e}")))?;
    let last = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).last();
    if last.as_ref().map(|v| field(v, "state") != "zombie").unwrap_or(true) {
        return Err(host_control_failed(format!("an orphan under a non-reaping PID 1 (unshare) was not seen as a zombie: {last:?}")));
    }
    Ok(())
}


fn sleeper(ctx: &Ctx, options: &[&str], name: &str) -> Result<(crate::runtime::Spawned, i32), Outcome> {
    ctx.sleeper(options, ctx.probe(), name)
}

/// Pass: NSpid of the container's first process is "HOSTPID 1". Fail: otherwise, or
/// the control run (no --ns pid) with more than one NSpid level.
fn host_sees_other_pids(ctx: &Ctx) -> CheckResult {
    let (sp, pid) = sleeper(ctx, &["--ns", "pid"], "nspid")?;
    let nspid = host::status_field(pid, "NSpid").unwrap_or_default();
    let run = sp.stop();
    ensure(
        nspid.len() >= 2 && nspid[0] == pid.to_string() && nspid.last().map(String::as_str) == Some("1"),
        format!("host pid {pid} to be PID 1 of a nested namespace (NSpid: {pid} 1)"),
        format!("NSpid: {}", nspid.join(" ")),
        &run,
    )?;
    const WITHOUT: &str = "without --ns pid";
    let (sp, pid) = crate::outcome::as_control(WITHOUT, sleeper(ctx, &[], "nspid-control"))?;
    let nspid = host::status_field(pid, "NSpid").unwrap_or_default();
    let crun = sp.stop();
    if nspid.len() != 1 {
        return Err(control_fail(WITHOUT, "one NSpid level (the host's PID namespace)", format!("NSpid: {}", nspid.join(" ")), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- UTS

/// Pass: the probe reads the requested name. Fail: another name; or the control run
/// (--ns uts, no --hostname) not reading the host's name: a new UTS namespace starts
/// as a copy of the caller's (contract §2, `--hostname`), and a runtime that names
/// it anyway breaks that.
fn hostname_set(ctx: &Ctx) -> CheckResult {
    let name = ctx.unique("lab-", 30);
    let (run, f) = ctx.probe_json(&["--ns", "uts", "--hostname", &name], &["hostname"])?;
    ensure(field(&f, "hostname") == name.as_str(), format!("hostname {name:?} inside"), format!("{}", field(&f, "hostname")), &run)?;
    const WITHOUT: &str = "without --hostname";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &["--ns", "uts"], &["hostname"])?;
    let host_name = host::hostname();
    if field(&c, "hostname") != host_name.as_str() {
        return Err(control_fail(
            WITHOUT,
            format!("the host's name {host_name:?} inside: a new UTS namespace starts as a copy of the caller's"),
            format!("{}", field(&c, "hostname")),
            &crun,
        ));
    }
    Ok(())
}

/// The hostname seen by a probe run in the UTS namespace of `pid` (from the host, via nsenter).
fn hostname_of(ctx: &Ctx, pid: i32) -> Result<String, Outcome> {
    let v = host::in_namespaces_of(pid, &["-u"], ctx.probe(), &["hostname"])?;
    Ok(field(&v, "hostname").as_str().unwrap_or_default().to_string())
}

/// Pass: the name inside is the requested one while the host keeps its own, during
/// and after. Fail: otherwise. The host's name is its own control.
fn host_hostname_unchanged(ctx: &Ctx) -> CheckResult {
    let before = host::hostname();
    let name = ctx.unique("lab-", 30);
    let (sp, pid) = sleeper(ctx, &["--ns", "uts", "--hostname", &name], "uts")?;
    let inside = hostname_of(ctx, pid);
    let during = host::hostname();
    let run = sp.stop();
    let inside = inside?;
    let after = host::hostname();
    ensure(
        inside == name && during == before && after == before,
        format!("{name:?} inside while the host keeps {before:?}"),
        format!("inside {inside:?}, host during {during:?}, host after {after:?}"),
        &run,
    )
}

/// Pass: two containers hold their two names at the same time. Fail: otherwise (each
/// name is the other's control).
fn two_hostnames(ctx: &Ctx) -> CheckResult {
    let (a, b) = (ctx.unique("lab-a-", 30), ctx.unique("lab-b-", 30));
    let (sa, pa) = sleeper(ctx, &["--ns", "uts", "--hostname", &a], "uts-a")?;
    let (sb, pb) = sleeper(ctx, &["--ns", "uts", "--hostname", &b], "uts-b")?;
    let (ha, hb) = (hostname_of(ctx, pa), hostname_of(ctx, pb));
    let ra = sa.stop();
    let _rb = sb.stop();
    let (ha, hb) = (ha?, hb?);
    ensure(
        ha == a && hb == b,
        format!("{a:?} and {b:?} held at the same time"),
        format!("{ha:?} and {hb:?}"),
        &ra,
    )
}

// ---------------------------------------------------------------- mount

/// Pass: a tmpfs mounted in the container's mount namespace is absent from the
/// host's table. Fail: it is there; or the control run (no --ns mnt) whose mount does
/// not reach the host's table (a mount namespace nobody asked for).
///
/// Stricter runtime: mounting needs CAP_SYS_ADMIN. When the command inside is refused
/// (EPERM, EACCES), the checker makes the same mount itself in the container's mount
/// namespace (nsenter from the host, with its own capabilities), so the verdict is
/// about the namespace, not the capability. A refused control is taken the same way.
fn mount_invisible(ctx: &Ctx) -> CheckResult {
    let target = ctx.dir("mnt-inside")?;
    let t = target.to_string_lossy().into_owned();
    let sp = ctx.spawn(&["--ns", "mnt"], &[ctx.probe(), "mount-tmpfs", &t, "--hold", "20"])?;
    let mounted = sp.next_json_with("ok", Duration::from_secs(10));
    let on_host = host::mount_points().contains(&t);
    let run = sp.stop();
    let mounted = mounted.ok_or_else(|| fail("the probe to report its tmpfs mount", "no report", &run))?;
    let on_host = if refused(&mounted) {
        ctx.stricter(format!("the command inside may not mount ({}): the checker mounted from the host, in the container's mount namespace", field(&mounted, "error").as_str().unwrap_or("?")));
        let (sp, pid) = sleeper(ctx, &["--ns", "mnt"], "mnt-inside")?;
        let by_host = host::in_namespaces_of(pid, &["-m"], ctx.probe(), &["mount-tmpfs", &t]);
        let seen = host::mount_points().contains(&t);
        let run = sp.stop();
        let by_host = by_host?;
        if field(&by_host, "ok") != true {
            return Err(broken(format!("the checker could not mount a tmpfs in the container's mount namespace: {by_host}")));
        }
        ensure(!seen, format!("{t}, mounted in the container's namespace, absent from the host's mountinfo"), "it is in the host's mount table", &run)?;
        seen
    } else {
        ensure(field(&mounted, "ok") == true, format!("a tmpfs mounted on {t} inside"), mounted.to_string(), &run)?;
        on_host
    };
    ensure(!on_host, format!("{t} absent from the host's mountinfo"), "the container's mount is in the host's mount table", &run)?;
    // Control: the same mount without a mount namespace lands in the host's table
    // (the check's scratch cleanup unmounts it).
    const WITHOUT: &str = "without --ns mnt";
    let target2 = ctx.dir("mnt-control")?;
    let t2 = target2.to_string_lossy().into_owned();
    let (crun, c) = ctx.control_probe_json(WITHOUT, &[], &["mount-tmpfs", &t2])?;
    let seen = host::mount_points().contains(&t2);
    let _ = nix::mount::umount2(t2.as_str(), nix::mount::MntFlags::MNT_DETACH);
    if refused(&c) {
        // The runtime may not mount either: the host's table shows the checker's own.
        let own = host::probe(ctx.probe(), &["mount-tmpfs", &t2])?;
        let seen = host::mount_points().contains(&t2);
        let _ = nix::mount::umount2(t2.as_str(), nix::mount::MntFlags::MNT_DETACH);
        if field(&own, "ok") != true || !seen {
            return Err(host_control_failed(format!("a tmpfs the checker mounted on {t2} was not seen in its mount table: {own}")));
        }
        return Ok(());
    }
    if field(&c, "ok") != true || !seen {
        return Err(control_fail(
            WITHOUT,
            format!("the tmpfs on {t2} in the host's mount table: no mount namespace without --ns mnt"),
            format!("mount {c}; in the host's table: {seen}"),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: a host file is not found inside, `..` from / stays in /, and the chroot
/// breakout ends in the container's own root. Fail: any of them reaches the host;
/// or the control run (no --rootfs) not finding the host's file. The bare-chroot
/// control is the checker's own (broken if the breakout does not work there).
///
/// Stricter runtime: a breakout refused at its first chroot(2) (no CAP_SYS_CHROOT)
/// cannot start, so the root stays the container's: a pass, with a note.
fn host_files_unreachable(ctx: &Ctx) -> CheckResult {
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let marker = ctx.scratch().join("host-only-marker");
    std::fs::write(&marker, "host").map_err(|e| broken(format!("writing the marker: {e}")))?;
    let m = marker.to_string_lossy().into_owned();
    let opts = ["--ns", "pid,mnt", "--rootfs", root.as_str()];
    let (run, st) = ctx.json_of(&opts, &["/bin/probe", "stat", &m])?;
    ensure(field(&st, "ok") == false, format!("host file {m} not found inside"), format!("found: {st}"), &run)?;
    let (run, up) = ctx.json_of(&opts, &["/bin/probe", "chdir-up"])?;
    ensure(field(&up, "same") == true, "`..` from / to stay in /", format!("cwd {} after chdir(\"..\"), root {}", field(&up, "cwd"), field(&up, "root")), &run)?;
    // pivot_root, not chroot: the classic breakout climbs to the namespace's real
    // root, which must be the container's own (the old root detached).
    let (run, esc) = ctx.json_of(&opts, &["/bin/probe", "chroot-escape"])?;
    ensure(
        field(&esc, "escaped") == false,
        "the chroot breakout to end in the container's own root (pivot_root, old root detached)",
        format!("it reached another root: {} -> {}", field(&esc, "root_before"), field(&esc, "root_after")),
        &run,
    )?;
    if !field(&esc, "refused").is_null() {
        ctx.stricter(format!("the breakout could not start: {} refused with {}", field(field(&esc, "refused"), "op").as_str().unwrap_or("?"), field(field(&esc, "refused"), "error").as_str().unwrap_or("?")));
    }
    // Control: under a bare chroot the same breakout reaches the host's root.
    let out = std::process::Command::new("chroot")
        .arg(&root)
        .args(["/bin/probe", "chroot-escape"])
        .output()
        .map_err(|e| broken(format!("running chroot: {e}")))?;
    let c: Value = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).last().unwrap_or(Value::Null);
    if field(&c, "escaped") != true {
        return Err(host_control_failed(format!("the breakout did not leave a bare chroot: {c}")));
    }
    // Control: without a root file system the host's file is right there.
    const WITHOUT: &str = "without --rootfs";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &["--ns", "pid,mnt"], &["stat", &m])?;
    if field(&c, "ok") != true {
        return Err(control_fail(WITHOUT, format!("the host's file {m} found: without --rootfs the root is the host's"), format!("{c}"), &crun));
    }
    Ok(())
}

/// Pass: / inside is the given rootfs (same dev and inode); with layers, an overlay
/// whose writes land in --upper only. Fail: otherwise; or the control run (no
/// --rootfs) whose / is not the host's.
fn root_is_given(ctx: &Ctx) -> CheckResult {
    let rootfs = ctx.rootfs()?.to_path_buf();
    let r = rootfs.to_string_lossy().into_owned();
    let meta = std::fs::metadata(&rootfs).map_err(|e| broken(format!("stat {r}: {e}")))?;
    let (run, f) = ctx.json_of(&["--ns", "mnt", "--rootfs", &r], &["/bin/probe", "facts"])?;
    let root = field(&f, "root");
    ensure(
        root.get("ino").and_then(Value::as_u64) == Some(meta.ino()) && root.get("dev").and_then(Value::as_u64) == Some(meta.dev()),
        format!("/ inside to be {r} (dev {} ino {})", meta.dev(), meta.ino()),
        format!("dev {} ino {}", field(root, "dev"), field(root, "ino")),
        &run,
    )?;
    // With layers: the root is an overlay whose writes land in --upper only.
    let ov = ctx.overlay("root")?;
    let mut opts = vec!["--ns".to_string(), "mnt".to_string()];
    opts.extend(ov.options());
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let (run, _) = ctx.json_of(&opts, &["/bin/probe", "write-file", "/lab-written", "--content", "upper"])?;
    let upper = std::fs::read_to_string(ov.upper.join("lab-written")).ok();
    ensure(
        upper.as_deref() == Some("upper") && !ov.lower.join("lab-written").exists(),
        "a file written to / inside to appear in --upper and not in the layer",
        format!("in upper: {upper:?}, in layer: {}", ov.lower.join("lab-written").exists()),
        &run,
    )?;
    let (run, f) = ctx.json_of(&opts, &["/bin/probe", "facts"])?;
    let root_fs = field(&f, "mounts").as_array().and_then(|m| m.iter().find(|m| field(m, "mount_point") == "/")).map(|m| field(m, "fstype").clone());
    ensure(root_fs == Some(Value::from("overlay")), "/ inside to be an overlay mount", format!("fstype {root_fs:?}"), &run)?;
    // Control: without a root file system / is the host's.
    let host_root = std::fs::metadata("/").map_err(|e| broken(format!("stat /: {e}")))?;
    const WITHOUT: &str = "without --rootfs";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &["--ns", "mnt"], &["facts"])?;
    if field(field(&c, "root"), "ino").as_u64() != Some(host_root.ino()) {
        return Err(control_fail(WITHOUT, format!("/ to be the host's (inode {})", host_root.ino()), format!("{}", field(&c, "root")), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- network

fn interface_names(f: &Value) -> Vec<String> {
    let mut v: Vec<String> = field(f, "interfaces")
        .as_array()
        .map(|a| a.iter().filter_map(|i| i.get("name").and_then(Value::as_str).map(String::from)).collect())
        .unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

/// Pass: only `lo` inside, up. Fail: otherwise; or the control run (no --ns net)
/// not seeing the host's interfaces. Skip: the host itself has no interface but lo
/// (the checker's own view), so nothing can tell a namespace apart.
fn only_loopback(ctx: &Ctx) -> CheckResult {
    let (run, f) = ctx.probe_json(&["--ns", "net"], &["facts"])?;
    let names = interface_names(&f);
    let lo_up = field(&f, "interfaces").as_array().map_or(false, |a| a.iter().any(|i| field(i, "name") == "lo" && field(i, "up") == true));
    ensure(names == ["lo"] && lo_up, "only `lo` inside, up", format!("interfaces {names:?}, lo up: {lo_up}"), &run)?;
    let host_if: Vec<String> = host::interfaces().into_iter().filter(|i| i != "lo").collect();
    if host_if.is_empty() {
        return Err(skip("the host has no network interface but lo: a network namespace cannot be told apart"));
    }
    const WITHOUT: &str = "without --ns net";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &[], &["facts"])?;
    if !interface_names(&c).iter().any(|i| host_if.contains(i)) {
        return Err(control_fail(WITHOUT, format!("the host's interfaces {host_if:?}: no network namespace without --ns net"), format!("{:?}", interface_names(&c)), &crun));
    }
    Ok(())
}

fn addresses(f: &Value) -> Vec<String> {
    field(f, "interfaces")
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|i| field(i, "loopback") != true)
                .flat_map(|i| field(i, "addresses").as_array().cloned().unwrap_or_default())
                .filter_map(|ad| ad.get("address").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Pass: none of the host's interfaces or addresses inside. Fail: one is; or the
/// control run (no --ns net) not seeing them. Skip: the host has none but lo.
fn host_addresses_invisible(ctx: &Ctx) -> CheckResult {
    let host_if: Vec<String> = host::interfaces().into_iter().filter(|i| i != "lo").collect();
    if host_if.is_empty() {
        return Err(skip("the host has no network interface but lo: a network namespace cannot be told apart"));
    }
    let host_addr = addresses(&host::probe(ctx.probe(), &["facts"])?);
    let (run, f) = ctx.probe_json(&["--ns", "net"], &["facts"])?;
    let seen_if: Vec<String> = interface_names(&f).into_iter().filter(|i| host_if.contains(i)).collect();
    let seen_addr: Vec<String> = addresses(&f).into_iter().filter(|a| host_addr.contains(a)).collect();
    ensure(
        seen_if.is_empty() && seen_addr.is_empty(),
        "none of the host's interfaces or addresses inside",
        format!("interfaces {seen_if:?}, addresses {seen_addr:?}"),
        &run,
    )?;
    const WITHOUT: &str = "without --ns net";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &[], &["facts"])?;
    if !interface_names(&c).iter().any(|i| host_if.contains(i)) {
        return Err(control_fail(WITHOUT, format!("the host's interfaces {host_if:?}: no network namespace without --ns net"), format!("{:?}", interface_names(&c)), &crun));
    }
    Ok(())
}

/// A /24 no other run of this checker uses at the same time.
fn subnet(ctx: &Ctx) -> String {
    let n: u32 = ctx.unique("", 9).chars().filter(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0);
    format!("10.{}.{}", 150 + std::process::id() % 90, n % 250 + 1)
}

/// Pass: the container reaches the host's end of the pair and gets its text back,
/// the host sees it come from the container's address, and the host's end is gone
/// afterwards. Fail: otherwise; or the control run (--ns net, no --veth) reaching
/// the host's address (a network namespace holds only lo).
fn veth_traffic(ctx: &Ctx) -> CheckResult {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("0.0.0.0:0").map_err(|e| broken(format!("binding a host listener: {e}")))?;
    let port = listener.local_addr().map_err(broken)?.port().to_string();
    listener.set_nonblocking(true).map_err(broken)?;
    let net = subnet(ctx);
    let (hif, cif) = (ctx.unique("lh", 15), ctx.unique("lc", 15));
    let veth = format!("{hif}={net}.1/24,{cif}={net}.2/24");
    let host_ip = format!("{net}.1");
    // The host side echoes one connection back, for at most 15 s.
    let server = std::thread::spawn(move || -> Option<(String, String)> {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, peer)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut got = String::new();
                    let _ = s.read_to_string(&mut got);
                    let _ = s.write_all(got.as_bytes());
                    return Some((got, peer.ip().to_string()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        None
    });
    let r = ctx.probe_json(&["--ns", "net", "--veth", &veth], &["connect", "--addr", &host_ip, "--port", &port, "--send", "ping-over-veth"]);
    // If the container never connected, release the server thread with a connection
    // of our own (it then reports text from 127.0.0.1, which fails the check below).
    let _ = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap_or(0)));
    let served = server.join().unwrap_or(None);
    let (run, c) = r?;
    ensure(
        field(&c, "reply") == "ping-over-veth",
        format!("the container to reach {host_ip}:{port} over the veth and get its text echoed"),
        format!("connected {}, error {}, reply {}", field(&c, "connected"), field(&c, "error"), field(&c, "reply")),
        &run,
    )?;
    let (got, peer) = served.unwrap_or_default();
    ensure(
        got == "ping-over-veth" && peer == format!("{net}.2"),
        format!("the host to receive the text from {net}.2"),
        format!("{got:?} from {peer:?}"),
        &run,
    )?;
    if std::path::Path::new("/sys/class/net").join(&hif).exists() {
        return Err(fail(format!("host interface {hif} removed when the container ended"), "it is still there", &run));
    }
    // Control: a network namespace without the pair cannot reach the host address.
    const WITHOUT: &str = "without --veth";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &["--ns", "net"], &["connect", "--addr", &host_ip, "--port", &port, "--timeout", "1"])?;
    if field(&c, "connected") == true {
        return Err(control_fail(WITHOUT, format!("no way to {host_ip}: a new network namespace holds only lo"), "it connected", &crun));
    }
    Ok(())
}

fn free_port() -> Result<String, Outcome> {
    let l = std::net::TcpListener::bind("0.0.0.0:0").map_err(|e| broken(format!("finding a free port: {e}")))?;
    Ok(l.local_addr().map_err(broken)?.port().to_string())
}

fn bind_twice(ctx: &Ctx, options: &[&str], port: &str) -> Result<(Value, Value, crate::runtime::Run), Outcome> {
    let args = [ctx.probe(), "bind-only", "--port", port, "--hold", "20"];
    let a = ctx.spawn(options, &args)?;
    let first = a.next_json_with("ok", Duration::from_secs(10));
    let b = ctx.spawn(options, &args)?;
    let second = b.next_json_with("ok", Duration::from_secs(10));
    let rb = b.stop();
    let ra = a.stop();
    let first = first.ok_or_else(|| fail("the first probe to report its bind", "no report", &ra))?;
    let second = second.ok_or_else(|| fail("the second probe to report its bind", "no report", &rb))?;
    Ok((first, second, rb))
}

/// Pass: two containers bind the same port at once. Fail: otherwise; or the control
/// runs (no --ns net) where the second bind is not refused with EADDRINUSE.
fn same_port_twice(ctx: &Ctx) -> CheckResult {
    let port = free_port()?;
    let (a, b, run) = bind_twice(ctx, &["--ns", "net"], &port)?;
    ensure(
        field(&a, "ok") == true && field(&b, "ok") == true,
        format!("both containers to bind port {port}"),
        format!("first {}, second {}", field(&a, "error"), field(&b, "error")),
        &run,
    )?;
    let port = free_port()?;
    const WITHOUT: &str = "without --ns net";
    let (a, b, crun) = crate::outcome::as_control(WITHOUT, bind_twice(ctx, &[], &port))?;
    if !(field(&a, "ok") == true && field(&b, "error") == "EADDRINUSE") {
        return Err(control_fail(WITHOUT, format!("the first bind of port {port} to succeed and the second to fail with EADDRINUSE (one network namespace)"), format!("first {a}, second {b}"), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- IPC

/// Creates the object inside a container (held), looks it up from the host and
/// from a sibling container; returns (found on host, found in sibling, run).
fn ipc_seen(ctx: &Ctx, options: &[&str], kind: &str, id_flag: &str, id: &str) -> Result<(bool, bool, crate::runtime::Run), Outcome> {
    let holder = ctx.spawn(options, &[ctx.probe(), "ipc", "create", "--kind", kind, id_flag, id, "--hold", "20"])?;
    let created = holder.next_json_with("created", Duration::from_secs(10));
    if created.is_none() {
        let run = holder.stop();
        return Err(fail(format!("the probe to create {kind} {id} inside"), format!("{}; {}", run.ending(), run.stdout_text().trim()), &run));
    }
    let on_host = host::probe(ctx.probe(), &["ipc", "lookup", "--kind", kind, id_flag, id]);
    let sibling = ctx.probe_json(options, &["ipc", "lookup", "--kind", kind, id_flag, id]);
    let run = holder.stop();
    let on_host = on_host?;
    let (_, sibling) = sibling?;
    Ok((field(&on_host, "found") == true, field(&sibling, "found") == true, run))
}

/// Pass: the object made inside is found neither on the host nor in a sibling
/// container. Fail: it is; or the control runs (no --ns ipc) where host and sibling
/// do not both find it (one IPC namespace for all).
fn ipc_check(ctx: &Ctx, kind: &str, id_flag: &str, id: &str) -> CheckResult {
    let (host_sees, sibling_sees, run) = ipc_seen(ctx, &["--ns", "ipc"], kind, id_flag, id)?;
    if host_sees || sibling_sees {
        return Err(fail(
            format!("{kind} {id} made inside to be invisible on the host and in a sibling container"),
            format!("visible on the host: {host_sees}, in the sibling: {sibling_sees}"),
            &run,
        ));
    }
    // Control: without an IPC namespace both see it.
    const WITHOUT: &str = "without --ns ipc";
    let (h, s, crun) = crate::outcome::as_control(WITHOUT, ipc_seen(ctx, &[], kind, id_flag, id))?;
    if !(h && s) {
        return Err(control_fail(
            WITHOUT,
            format!("{kind} {id} made in the container found on the host and in a sibling (one IPC namespace)"),
            format!("found on the host: {h}, in the sibling: {s}"),
            &crun,
        ));
    }
    Ok(())
}

fn ipc_key(ctx: &Ctx) -> String {
    let n: u32 = ctx.unique("", 9).chars().filter(char::is_ascii_digit).collect::<String>().parse().unwrap_or(1);
    format!("{}", 0x4c_00_00_00u32 + (std::process::id() % 0xffff) * 64 + n % 64)
}

/// SysV shared memory and a message queue, each by the rules of `ipc_check`.
fn sysv_invisible(ctx: &Ctx) -> CheckResult {
    ipc_check(ctx, "shm", "--key", &ipc_key(ctx))?;
    ipc_check(ctx, "msg", "--key", &ipc_key(ctx))
}

/// A POSIX message queue, by the rules of `ipc_check`.
fn posix_mq_invisible(ctx: &Ctx) -> CheckResult {
    ipc_check(ctx, "mq", "--name", &format!("/{}", ctx.unique("lab-mq-", 40)))
}

// ---------------------------------------------------------------- user

fn map_opts(count: u32) -> Vec<String> {
    let m = format!("0:{MAPPED}:{count}");
    vec!["--uid-map".into(), m.clone(), "--gid-map".into(), m]
}

fn with(base: &[&str], extra: &[String]) -> Vec<String> {
    base.iter().map(|s| s.to_string()).chain(extra.iter().cloned()).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Pass: uid 0 inside, and the mapped uid on the host (status Uid). Fail: otherwise;
/// or the control run (no --ns user) not running as host uid 0 (the command runs as
/// the caller, contract §1).
fn root_maps(ctx: &Ctx) -> CheckResult {
    let opts = with(&["--ns", "user"], &map_opts(65536));
    let (run, f) = ctx.probe_json(&refs(&opts), &["facts"])?;
    ensure(
        num(&f, "uid") == Some(0) && num(&f, "euid") == Some(0),
        "uid 0 inside",
        format!("uid {}, euid {}", field(&f, "uid"), field(&f, "euid")),
        &run,
    )?;
    let (sp, pid) = sleeper(ctx, &refs(&opts), "userns")?;
    let uids = host::status_field(pid, "Uid").unwrap_or_default();
    let run = sp.stop();
    ensure(
        !uids.is_empty() && uids.iter().all(|u| u == &MAPPED.to_string()),
        format!("the container's process to run as uid {MAPPED} on the host"),
        format!("Uid: {}", uids.join(" ")),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (sp, pid) = crate::outcome::as_control(WITHOUT, sleeper(ctx, &[], "userns-control"))?;
    let uids = host::status_field(pid, "Uid").unwrap_or_default();
    let crun = sp.stop();
    if uids.first().map(String::as_str) != Some("0") {
        return Err(control_fail(WITHOUT, "the command to run as the caller, host uid 0", format!("Uid: {}", uids.join(" ")), &crun));
    }
    Ok(())
}

/// Pass: a file root makes inside is owned by the mapped uid and gid on the host.
/// Fail: otherwise; or the control run (no --ns user) whose file is not owned by 0.
fn files_owned(ctx: &Ctx) -> CheckResult {
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let opts = with(&["--ns", "user,mnt", "--rootfs", &root], &map_opts(65536));
    let (run, w) = ctx.json_of(&refs(&opts), &["/bin/probe", "write-file", "/tmp/made-inside", "--content", "x"])?;
    ensure(field(&w, "ok") == true, "root inside to create /tmp/made-inside", w.to_string(), &run)?;
    let m = std::fs::metadata(ctx.rootfs()?.join("tmp/made-inside")).map_err(|e| broken(format!("stat on the host: {e}")))?;
    ensure(
        m.uid() == MAPPED && m.gid() == MAPPED,
        format!("the file owned by {MAPPED}:{MAPPED} on the host"),
        format!("owned by {}:{}", m.uid(), m.gid()),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (crun, w) = ctx.control_json_of(WITHOUT, &["--ns", "mnt", "--rootfs", &root], &["/bin/probe", "write-file", "/tmp/made-control", "--content", "x"])?;
    let c = std::fs::metadata(ctx.rootfs()?.join("tmp/made-control"));
    if c.as_ref().map(|c| c.uid()).ok() != Some(0) {
        return Err(control_fail(
            WITHOUT,
            "/tmp/made-control owned by uid 0 on the host (the caller's uid)",
            match c {
                Ok(c) => format!("owned by {}", c.uid()),
                Err(e) => format!("no file on the host ({e}); the write said {w}"),
            },
            &crun,
        ));
    }
    Ok(())
}

/// Pass: root inside is refused writing host root's file, which is unchanged.
/// Fail: it was written; or the control run (no --ns user) failing otherwise than
/// by a refusal. Stricter runtime: a control refused too (EPERM, EACCES, EROFS)
/// shows a runtime that keeps even host root from the file: a pass with a note.
fn host_root_protected(ctx: &Ctx) -> CheckResult {
    let f = ctx.host_root_file()?;
    let opts = with(&["--ns", "user"], &map_opts(65536));
    let (run, w) = ctx.probe_json(&refs(&opts), &["write-file", &f, "--content", "overwritten"])?;
    let content = std::fs::read_to_string(&f).unwrap_or_default();
    ensure(
        field(&w, "ok") == false && content == "host root's",
        format!("root inside to be refused writing {f} (EACCES)"),
        format!("write ok {}, error {}, file now {content:?}", field(&w, "ok"), field(&w, "error")),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &[], &["write-file", &f, "--content", "overwritten"])?;
    if refused(&c) {
        ctx.stricter(format!("host root may not write its own file under this runtime either ({})", field(&c, "error").as_str().unwrap_or("?")));
    } else if field(&c, "ok") != true {
        return Err(control_fail(WITHOUT, format!("host root to write its own file {f}"), format!("{c}"), &crun));
    }
    Ok(())
}

/// Pass: host root's file shows as the overflow id inside (uid 0 unmapped). Fail:
/// otherwise; or the control run (no --ns user) not showing uid 0.
fn unmapped_overflow(ctx: &Ctx) -> CheckResult {
    let f = ctx.host_root_file()?;
    let overflow: i64 = std::fs::read_to_string("/proc/sys/kernel/overflowuid").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(65534);
    let opts = with(&["--ns", "user"], &map_opts(1));
    let (run, st) = ctx.probe_json(&refs(&opts), &["stat", &f])?;
    ensure(
        num(&st, "uid") == Some(overflow) && num(&st, "gid") == Some(overflow),
        format!("host root's file to show as {overflow}:{overflow} inside (uid 0 is not mapped)"),
        format!("{}:{}", field(&st, "uid"), field(&st, "gid")),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &[], &["stat", &f])?;
    if num(&c, "uid") != Some(0) {
        return Err(control_fail(WITHOUT, "host root's file owned by uid 0", format!("uid {}", field(&c, "uid")), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- cgroup

/// (hierarchy, path) of every controller line of a /proc/PID/cgroup text.
fn cgroup_paths(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ':');
            let (_, ctrl, path) = (p.next()?, p.next()?, p.next()?);
            if ctrl.starts_with("name=") {
                return None;
            }
            Some((if ctrl.is_empty() { "unified".to_string() } else { ctrl.to_string() }, path.to_string()))
        })
        .collect()
}

/// Pass: the container's process is in cgroup NAME (host view) and sees that cgroup
/// as / (read in its cgroup namespace). Fail: otherwise. The host view is the control.
fn cgroup_root(ctx: &Ctx) -> CheckResult {
    ctx.cgroup_parent()?;
    let name = ctx.unique("lab-cgns-", 40);
    let (sp, pid) = sleeper(ctx, &["--ns", "cgroup", "--cgroup", &name], "cgns")?;
    let host_view = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    // Read by a process in the container's cgroup namespace, paths are relative to its root.
    let inside = host::in_namespaces_of(pid, &["-C"], ctx.probe(), &["cat", &format!("/proc/{pid}/cgroup")]);
    let run = sp.stop();
    let inside = inside?;
    let host_paths = cgroup_paths(&host_view);
    let suffix = format!("/{name}");
    // v1 hierarchies the runtime does not use (or the empty v2 mount of a hybrid host) stay where they were.
    let joined: Vec<&(String, String)> = host_paths.iter().filter(|(_, p)| p.ends_with(&suffix)).collect();
    ensure(
        !joined.is_empty(),
        format!("the container's process in cgroup {name} (host view)"),
        format!("{host_paths:?}"),
        &run,
    )?;
    let inside_paths = cgroup_paths(field(&inside, "content").as_str().unwrap_or_default());
    let not_root: Vec<&(String, String)> =
        inside_paths.iter().filter(|(h, p)| joined.iter().any(|(jh, _)| jh == h) && p != "/").collect();
    ensure(
        not_root.is_empty() && !inside_paths.is_empty(),
        format!("cgroup {name} to show as / inside"),
        format!("{inside_paths:?}"),
        &run,
    )
}

// ---------------------------------------------------------------- time

/// Pass: CLOCK_BOOTTIME and CLOCK_MONOTONIC inside are 7 days ahead of the host's
/// (±10 s) and the host's clock did not jump. Fail: otherwise; or the control run
/// (--ns time, no offsets) not reading the host's boottime.
fn time_offset(ctx: &Ctx) -> CheckResult {
    const OFFSET: f64 = 7.0 * 86400.0;
    // Tolerance: the host reads its clocks right after the container's probe read
    // its own, within one container run (well under 10 s even on a loaded machine).
    const TOL: f64 = 10.0;
    let host_before = host::boottime();
    let (run, f) = ctx.probe_json(&["--ns", "time", "--time-offset", "monotonic=604800,boottime=604800"], &["facts"])?;
    let (host_boot, host_mono) = (host::boottime(), host::monotonic());
    let boot = field(field(&f, "uptime"), "boottime").as_f64().unwrap_or(0.0);
    let mono = field(field(&f, "uptime"), "monotonic").as_f64().unwrap_or(0.0);
    ensure(
        (boot - host_boot - OFFSET).abs() < TOL && (mono - host_mono - OFFSET).abs() < TOL,
        format!("boottime and monotonic inside {OFFSET:.0} s ahead of the host's ({host_boot:.0} s, {host_mono:.0} s)"),
        format!("boottime {boot:.0} s, monotonic {mono:.0} s"),
        &run,
    )?;
    if host::boottime() - host_before > 60.0 {
        return Err(fail_host("the host's clock unchanged", "it jumped", "reading CLOCK_BOOTTIME on the host"));
    }
    // Control: a time namespace without offsets reads the host's clock.
    const WITHOUT: &str = "without --time-offset";
    let (crun, c) = ctx.control_probe_json(WITHOUT, &["--ns", "time"], &["facts"])?;
    let cboot = field(field(&c, "uptime"), "boottime").as_f64().unwrap_or(0.0);
    let hboot = host::boottime();
    if (cboot - hboot).abs() > TOL {
        return Err(control_fail(WITHOUT, format!("boottime inside within {TOL} s of the host's ({hboot:.0} s)"), format!("{cboot:.0} s"), &crun));
    }
    Ok(())
}
