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

use labkit::probe::{
    BindOnly, Cat, ChdirUp, ChrootEscape, Connect, Facts, Hostname, IpcCreated, IpcLookup, Kill, OrphanState,
    PathAttempt, Stat, WriteFile,
};

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

// Long: the catalog is a table, one entry per check.
mod limits;

pub fn checks() -> Vec<Check> {
    let mut v = vec![
        check!(
            "namespaces.pid.init-is-pid-1",
            "the container's first process is PID 1 of a new PID namespace",
            uses = ["--ns pid", "--pid-file"],
            requires = [R::Namespace("pid")],
            init_is_pid_1
        ),
        check!(
            "namespaces.pid.fresh-proc",
            "a fresh /proc lists only the container's processes",
            uses = ["--ns pid,mnt"],
            requires = [R::Namespace("pid"), R::Namespace("mnt")],
            fresh_proc
        ),
        check!(
            "namespaces.pid.host-pid-unreachable",
            "a host PID cannot be signalled from inside (ESRCH)",
            uses = ["--ns pid"],
            requires = [R::Namespace("pid")],
            host_pid_unreachable
        ),
        check!(
            "namespaces.pid.orphans-reaped",
            "an orphan inside is reaped, no zombie is left",
            uses = ["--ns pid,mnt"],
            requires = [R::Namespace("pid"), R::Command("unshare")],
            orphans_reaped
        ),
        check!(
            "namespaces.pid.exit-status-is-128-plus-signal",
            "a command killed by signal N makes `run` exit 128+N, with and without a PID namespace",
            uses = ["--ns pid"],
            requires = [R::Namespace("pid")],
            exit_status_follows_signal
        ),
        check!(
            "namespaces.pid.signals-reach-the-command",
            "SIGTERM and SIGINT sent to the runtime reach the command, with and without a PID namespace",
            uses = ["--ns pid"],
            requires = [R::Namespace("pid")],
            signals_reach_command
        ),
        check!(
            "namespaces.pid.orphans-killed-at-exit",
            "when the command exits, what it left running in its PID namespace is killed",
            uses = ["--ns pid", "--pid-file"],
            requires = [R::Namespace("pid"), R::Command("sh")],
            orphans_killed_at_exit
        ),
        check!(
            "namespaces.pid.host-sees-other-pids",
            "the host sees the container's processes under other PIDs (NSpid)",
            uses = ["--ns pid", "--pid-file"],
            requires = [R::Namespace("pid")],
            host_sees_other_pids
        ),
        check!(
            "namespaces.uts.hostname-set",
            "the hostname inside is the one requested",
            uses = ["--ns uts", "--hostname"],
            requires = [R::Namespace("uts")],
            hostname_set
        ),
        check!(
            "namespaces.uts.host-hostname-unchanged",
            "two containers hold their own hostnames at once while the host's stays unchanged",
            uses = ["--ns uts", "--hostname", "--pid-file"],
            requires = [R::Namespace("uts"), R::Command("nsenter")],
            host_hostname_unchanged
        ),
        check!(
            "namespaces.uts.domainname-isolated",
            "a NIS domain name set inside leaves the host's unchanged",
            uses = ["--ns uts"],
            requires = [R::Namespace("uts"), R::Command("nsenter")],
            domainname_isolated
        ),
        check!(
            "namespaces.mnt.mount-invisible-on-host",
            "a mount made inside is absent from the host's mount table",
            uses = ["--ns mnt"],
            requires = [R::Namespace("mnt")],
            mount_invisible
        ),
        check!(
            "namespaces.mnt.host-files-unreachable",
            "after pivot_root host files cannot be reached, not even by a chroot breakout",
            uses = ["--ns mnt", "--rootfs"],
            requires = [R::Namespace("mnt"), R::Command("chroot")],
            host_files_unreachable
        ),
        check!(
            "namespaces.mnt.root-is-given-rootfs",
            "the container's root is the given rootfs, or the overlay of the given layers",
            uses = ["--ns mnt", "--rootfs", "--layer", "--upper", "--work"],
            requires = [R::Namespace("mnt"), R::Overlay],
            root_is_given
        ),
        check!(
            "namespaces.net.only-loopback",
            "only `lo` exists inside, and it is up",
            uses = ["--ns net"],
            requires = [R::Namespace("net")],
            only_loopback
        ),
        check!(
            "namespaces.net.host-addresses-invisible",
            "no host interface or address is visible inside",
            uses = ["--ns net"],
            requires = [R::Namespace("net")],
            host_addresses_invisible
        ),
        check!(
            "namespaces.net.veth-carries-traffic",
            "host and container exchange data over the veth pair",
            uses = ["--ns net", "--veth"],
            requires = [R::Namespace("net")],
            veth_traffic
        ),
        check!(
            "namespaces.net.same-port-twice",
            "two containers bind the same port at the same time",
            uses = ["--ns net"],
            requires = [R::Namespace("net")],
            same_port_twice
        ),
        check!(
            "namespaces.ipc.sysv-invisible",
            "SysV shared memory and message queues made inside are invisible outside",
            uses = ["--ns ipc"],
            requires = [R::Namespace("ipc")],
            sysv_invisible
        ),
        check!(
            "namespaces.ipc.posix-mq-invisible",
            "a POSIX message queue made inside is invisible outside",
            uses = ["--ns ipc"],
            requires = [R::Namespace("ipc")],
            posix_mq_invisible
        ),
        check!(
            "namespaces.user.root-maps-to-host-uid",
            "uid 0 inside is the mapped uid on the host",
            uses = ["--ns user", "--uid-map", "--gid-map", "--pid-file"],
            requires = [R::Namespace("user")],
            root_maps
        ),
        check!(
            "namespaces.user.files-owned-by-mapped-uid",
            "a file created inside is owned by the mapped uid on the host",
            uses = ["--ns user,mnt", "--uid-map", "--gid-map", "--rootfs"],
            requires = [R::Namespace("user")],
            files_owned
        ),
        check!(
            "namespaces.user.host-root-files-protected",
            "root inside cannot write a file owned by host root",
            uses = ["--ns user", "--uid-map", "--gid-map"],
            requires = [R::Namespace("user")],
            host_root_protected
        ),
        check!(
            "namespaces.user.unmapped-ids-overflow",
            "ids without a mapping show as the overflow id (65534)",
            uses = ["--ns user", "--uid-map", "--gid-map"],
            requires = [R::Namespace("user")],
            unmapped_overflow
        ),
        check!(
            "namespaces.cgroup.root-is-own-cgroup",
            "inside a cgroup namespace the container's cgroup is /",
            uses = ["--ns cgroup", "--cgroup", "--pid-file"],
            requires = [R::Namespace("cgroup"), R::Command("nsenter")],
            cgroup_root
        ),
        check!(
            "namespaces.time.offset-moves-clocks",
            "--time-offset moves CLOCK_BOOTTIME and CLOCK_MONOTONIC inside only",
            uses = ["--ns time", "--time-offset"],
            requires = [R::Namespace("time")],
            time_offset
        ),
    ];
    v.extend(limits::checks());
    v
}

/// uid/gid the user checks map root to: far from any real account.
const MAPPED: u32 = 231_072;

// ---------------------------------------------------------------- PID

/// Pass: the probe is PID 1 (ppid 0) or the child of a PID 1 it can see. Fail:
/// anything else, or the control run (without --ns pid) showing PID 1 or 2.
fn init_is_pid_1(ctx: &Ctx) -> CheckResult {
    let (run, f): (_, Facts) = ctx.probe_json(&["--ns", "pid,mnt"], &["facts"])?;
    let (pid, ppid) = (f.pid, f.ppid);
    let pids = f.pids.unwrap_or_default();
    // The command is PID 1 itself (then its parent is outside: ppid 0), or the child of an init that is PID 1.
    let ok = (pid == 1 && ppid == 0) || (ppid == 1 && pids.contains(&1));
    ensure(
        ok,
        crate::t!(
            "the probe to be PID 1 with ppid 0, or a child of PID 1",
            "probe가 PID 1(ppid 0)이거나 PID 1의 자식"
        ),
        crate::t!(
            "pid {pid:?}, ppid {ppid:?}, visible pids {pids:?}",
            "pid {pid:?}, ppid {ppid:?}, 보이는 PID {pids:?}"
        ),
        &run,
    )?;
    // Control: without a PID namespace the probe has an ordinary host pid.
    const WITHOUT: &str = "without --ns pid";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &["--ns", "mnt"], &["facts"])?;
    if c.pid <= 2 {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "an ordinary host PID (above 2): no PID namespace without --ns pid",
                "보통의 호스트 PID(2보다 큼): --ns pid가 없으면 PID 네임스페이스도 없음"
            ),
            format!("pid {}", c.pid),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: /proc inside lists 1 to 4 PIDs, all at most 8. Fail: more, or the control
/// run (mnt only) whose /proc does not list the checker's own PID. A read-only
/// /proc lists the same PIDs: strictness changes nothing here.
fn fresh_proc(ctx: &Ctx) -> CheckResult {
    let (run, f): (_, Facts) = ctx.probe_json(&["--ns", "pid,mnt"], &["facts"])?;
    let pids = f.pids.unwrap_or_default();
    let me = u64::from(std::process::id());
    ensure(
        !pids.is_empty() && pids.len() <= 4 && pids.iter().all(|p| *p <= 8),
        crate::t!(
            "/proc inside to list only the container's few processes (pids 1..8)",
            "컨테이너 안의 /proc에 컨테이너의 프로세스 몇 개만(PID 1..8) 보임"
        ),
        crate::t!(
            "{} pids listed: {:?}",
            "PID {}개가 보임: {:?}",
            pids.len(),
            &pids[..pids.len().min(12)]
        ),
        &run,
    )?;
    const WITHOUT: &str = "without --ns pid";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &["--ns", "mnt"], &["facts"])?;
    let host_pids = c.pids.unwrap_or_default();
    if !host_pids.contains(&me) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/proc to list the checker's pid {me} (the host's PID namespace)",
                "/proc에 검사기의 PID {me}가 보임(호스트의 PID 네임스페이스)"
            ),
            crate::t!("{} pids, not {me}", "PID {}개, {me}는 없음", host_pids.len()),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: kill(checker, 0) inside fails with ESRCH (the PID does not exist there).
/// Fail: any other answer; or the control run (no --ns pid) answering ESRCH. In the
/// control EPERM counts as reachable (the PID exists, a stricter runtime just may
/// not signal it), so strictness loses nothing.
fn host_pid_unreachable(ctx: &Ctx) -> CheckResult {
    let me = std::process::id().to_string();
    let (run, k): (_, Kill) = ctx.probe_json(&["--ns", "pid"], &["kill", &me, "--signal", "0"])?;
    ensure(
        k.attempt.refused_with("ESRCH"),
        crate::t!(
            "kill({me}, 0) of the checker's host pid to fail with ESRCH",
            "검사기의 호스트 PID로 kill({me}, 0)을 하면 ESRCH로 실패"
        ),
        crate::t!(
            "ok {}, error {}",
            "성공 {}, 오류 {}",
            k.attempt.ok,
            js(&k.attempt.error)
        ),
        &run,
    )?;
    const WITHOUT: &str = "without --ns pid";
    let (crun, c): (_, Kill) = ctx.control_probe_json(WITHOUT, &[], &["kill", &me, "--signal", "0"])?;
    if !c.attempt.ok && !c.attempt.refused_with("EPERM") {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "kill({me}, 0) to find the checker (ok, or EPERM)",
                "kill({me}, 0)이 검사기를 찾음(성공 또는 EPERM)"
            ),
            js(&c),
            &crun,
        ));
    }
    Ok(())
}

/// The two ways the PID checks run a command: in the caller's PID namespace, and
/// in one of its own (where an init stands between the runtime and the command).
const PID_CONFIGS: [(&[&str], &str); 2] = [(&[], "without --ns pid"), (&["--ns", "pid"], "with --ns pid")];

/// The half of a check that runs `with --ns pid` means something only in a PID
/// namespace: the probe's NSpid must name two namespaces.
fn pid_namespace_made(ctx: &Ctx) -> CheckResult {
    let (run, f): (_, Facts) = ctx.probe_json(&["--ns", "pid"], &["facts"])?;
    ensure(
        f.nspid.as_ref().is_some_and(|n| n.len() >= 2),
        crate::t!(
            "a PID namespace for --ns pid (NSpid with two PIDs): half of this check runs in one",
            "--ns pid에 PID 네임스페이스(PID가 둘인 NSpid): 이 검사의 절반이 그 안에서 돎"
        ),
        crate::t!("NSpid {}", "NSpid {}", js(&f.nspid)),
        &run,
    )
}

/// Pass: for SIGKILL, SIGTERM, SIGINT, SIGHUP and SIGUSR1, a command that dies by the
/// signal makes `run` exit 128+N, with and without `--ns pid` (contract 2.7).
/// Control: a command that exits 3 makes `run` exit 3 (a runtime that reports every
/// end as one status fails it). Fail: another status; and a command that outlived its
/// own signal is named: it ran as PID 1, which the kernel shields from its own
/// signals, instead of as the child of an init.
fn exit_status_follows_signal(ctx: &Ctx) -> CheckResult {
    use labkit::probe::Survived;
    pid_namespace_made(ctx)?;
    for (opts, label) in PID_CONFIGS {
        for (sig, name) in [(9, "KILL"), (15, "TERM"), (2, "INT"), (1, "HUP"), (10, "USR1")] {
            let run = ctx.run(opts, &[ctx.probe(), "raise", name])?;
            let survived = run.lines_as::<Survived>().pop().is_some();
            ensure(
                run.code() == Some(128 + sig),
                crate::t!(
                    "exit status {} ({label}): the command died by SIG{name}",
                    "종료 상태 {}({label}): 명령이 SIG{name}로 죽음",
                    128 + sig
                ),
                if survived {
                    crate::t!(
                        "{}; the command outlived its own SIG{name}: it ran as PID 1 of the namespace",
                        "{}; 명령이 자기 SIG{name}를 견뎠습니다: 네임스페이스의 PID 1로 돌았다는 뜻",
                        run.ending()
                    )
                } else {
                    run.ending()
                },
                &run,
            )?;
        }
        let without = format!("a command that exits 3, {label}");
        let crun = ctx.run(opts, &[ctx.probe(), "exit", "3"])?;
        if crun.code() != Some(3) {
            return Err(control_fail(
                &without,
                crate::t!("exit status 3, the command's own", "명령 자신의 종료 상태 3"),
                crun.ending(),
                &crun,
            ));
        }
    }
    Ok(())
}

/// Pass: SIGTERM and SIGINT sent to the runtime's process reach the sleeping probe
/// (it reports the signal) and `run` exits 128+N, with and without `--ns pid`
/// (contract 2.7; youki#3500 lost them). Control: before the signal, the probe
/// sleeps on (it does not end by itself). Fail: otherwise.
fn signals_reach_command(ctx: &Ctx) -> CheckResult {
    use labkit::probe::{Sleeping, StopSignal};
    pid_namespace_made(ctx)?;
    for (opts, label) in PID_CONFIGS {
        for (sig, signal) in [
            (15, nix::sys::signal::Signal::SIGTERM),
            (2, nix::sys::signal::Signal::SIGINT),
        ] {
            let sp = ctx.spawn(opts, &[ctx.probe(), "sleep", "20"])?;
            if sp.next_as::<Sleeping>(Duration::from_secs(10)).is_none() {
                let run = sp.stop();
                return Err(fail(
                    crate::t!("the probe to start and sleep", "probe가 시작해서 잠듦"),
                    run.ending(),
                    &run,
                ));
            }
            let early = sp.next_line(Duration::from_millis(300));
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(sp.pid()), signal);
            let run = sp.wait(Duration::from_secs(15));
            if let Some(line) = early {
                return Err(control_fail(
                    &format!("before the signal, {label}"),
                    crate::t!("the probe still asleep", "probe가 아직 잠들어 있음"),
                    line,
                    &run,
                ));
            }
            let got = run.lines_as::<StopSignal>().pop();
            ensure(
                got.as_ref().is_some_and(|g| g.signal == sig) && run.code() == Some(128 + sig),
                crate::t!(
                    "{signal} sent to the runtime ({label}) to reach the command, and exit status {}",
                    "런타임에 보낸 {signal}({label})이 명령에 닿고 종료 상태 {}",
                    128 + sig
                ),
                crate::t!(
                    "{}; the probe reported {}",
                    "{}; probe가 보고한 것 {}",
                    run.ending(),
                    js(&got)
                ),
                &run,
            )?;
        }
    }
    Ok(())
}

/// Host PIDs of every process in PID namespace `ns` (a `pid:[…]` link text).
fn pids_in_namespace(ns: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|l| l.to_string_lossy() == ns))
        .collect()
}

/// Pass: a command in a PID namespace that leaves a sleeper behind (a background
/// job of its shell) and exits: once `run` has returned, no process of that
/// namespace is left (contract 2.7: when init exits, the kernel kills the rest).
/// Control (the checker's own): the same shell run directly leaves its sleeper
/// alive (the checker then ends it by its PID); broken if not. Fail: a process of
/// the namespace alive 2 s after `run` returned.
// Long: the run, the namespace's processes and the control, in that order.
fn orphans_killed_at_exit(ctx: &Ctx) -> CheckResult {
    // The sleeper ignores SIGHUP (a console's hangup at the shell's exit is not what
    // is tested) and holds no descriptor of the run's output (the run must end
    // when the command does, not when the sleeper closes its stdout). It sleeps 6 s:
    // past the 1 s run and the 2 s wait, and gone by itself soon after, should the
    // checker be killed meanwhile (its direct control runs outside any cgroup).
    let script = r#"trap '' HUP; "$0" sleep 6 >/dev/null 2>&1 </dev/null & echo "{\"orphan\": $!}"; exec "$0" sleep 1"#;
    let pf = ctx.scratch().join("orphan-exit.pid");
    let pf_s = pf.to_string_lossy().into_owned();
    let sp = ctx.spawn(
        &["--ns", "pid", "--pid-file", &pf_s],
        &["/bin/sh", "-c", script, ctx.probe()],
    )?;
    let first = host::wait_pid_file(&pf, Duration::from_secs(10));
    let ns = first
        .as_ref()
        .ok()
        .and_then(|pid| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok())
        .map(|l| l.to_string_lossy().into_owned());
    // The sleeper starts right after the first process: wait for its line.
    let _ = sp.next_line(Duration::from_secs(10));
    let members = ns.as_deref().map(pids_in_namespace).unwrap_or_default();
    let run = sp.wait(Duration::from_secs(20));
    first?;
    let host_ns = std::fs::read_link("/proc/self/ns/pid")
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default();
    ensure(
        ns.as_deref().is_some_and(|n| n != host_ns) && members.len() >= 2,
        crate::t!(
            "the command and its sleeper in a PID namespace of their own",
            "명령과 그 sleeper가 자기 PID 네임스페이스에 있음"
        ),
        crate::t!(
            "namespace {ns:?} holding host PIDs {members:?}",
            "네임스페이스 {ns:?}, 호스트 PID {members:?}"
        ),
        &run,
    )?;
    let in_ns = |pid: &i32| {
        std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|l| ns.as_deref() == Some(&*l.to_string_lossy()))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    let mut left: Vec<i32> = members.iter().copied().filter(in_ns).collect();
    while !left.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        left.retain(in_ns);
    }
    for pid in &left {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
    }
    ensure(
        left.is_empty(),
        crate::t!(
            "no process of the container's PID namespace alive 2 s after `run` returned",
            "`run`이 돌아오고 2초 뒤 컨테이너의 PID 네임스페이스에 살아 있는 프로세스가 없음"
        ),
        crate::t!("still alive: host PIDs {left:?}", "아직 살아 있음: 호스트 PID {left:?}"),
        &run,
    )?;
    // Control (the checker's own): the same shell started directly leaves its
    // sleeper alive, an ordinary orphan. Through a runtime without --ns pid it may
    // die too: a runtime that ends whatever its container left (a cgroup of its own,
    // cleaned up) is stricter than the contract, which this check does not judge.
    #[derive(serde::Deserialize)]
    struct Orphan {
        orphan: i32,
    }
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", script, ctx.probe()])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| broken(crate::t!("running /bin/sh: {e}", "/bin/sh를 실행하지 못했습니다: {e}")))?;
    let orphan = host::last_line_as::<Orphan>(&out.stdout).map(|o| o.orphan);
    let alive = orphan.is_some_and(|p| nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok());
    if let Some(p) = orphan {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGKILL);
    }
    if !alive {
        return Err(host_control_failed(crate::t!(
            "the sleeper of the same shell run directly did not outlive it (orphan {orphan:?})",
            "직접 실행한 같은 셸의 sleeper가 셸보다 오래 살지 않았습니다(고아 {orphan:?})"
        )));
    }
    Ok(())
}

/// Pass: the orphan, in a PID namespace of its own, is gone (reaped) within 2 s.
/// Fail: it lived in the host's PID namespace, or it stays a zombie or is
/// adopted elsewhere. The control is the checker's own (the probe as a PID 1 that
/// does not reap, under unshare): without a zombie there it is broken.
fn orphans_reaped(ctx: &Ctx) -> CheckResult {
    // The probe reports as soon as the orphan is gone, at the latest after 2 s: a
    // reaper slowed by a busy host is not a failure, a zombie for 2 s is.
    let args = ["orphan", "--delay-ms", "50", "--wait-ms", "2000"];
    let (run, o): (_, OrphanState) = ctx.probe_json(&["--ns", "pid,mnt"], &args)?;
    // Reaped by the host's init instead proves nothing about the container's.
    let host_ns = std::fs::read_link("/proc/self/ns/pid")
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default();
    ensure(
        o.pid_ns.as_deref() != Some(host_ns.as_str()),
        crate::t!(
            "the orphan in a PID namespace of its own, reaped by the container's init",
            "고아 프로세스가 자기 PID 네임스페이스에 있고 컨테이너의 init이 거둠"
        ),
        crate::t!(
            "it lived in the host's PID namespace {host_ns}",
            "호스트의 PID 네임스페이스 {host_ns}에 있었습니다"
        ),
        &run,
    )?;
    ensure(
        o.state == "gone",
        crate::t!(
            "the orphan reaped by the container's init (state gone)",
            "고아 프로세스를 컨테이너의 init이 거둠(상태 gone)"
        ),
        crate::t!(
            "state {}, process state {}, adopted by pid {}",
            "상태 {}, 프로세스 상태 {}, 입양한 PID {}",
            js(&o.state),
            js(&o.stat_state),
            js(&o.ppid)
        ),
        &run,
    )?;
    // Control: a PID 1 that does not reap (the probe itself under unshare) leaves a zombie.
    let out = std::process::Command::new("unshare")
        .args(["--fork", "--pid", "--mount-proc", ctx.probe()])
        .args(args)
        .output()
        .map_err(|e| broken(crate::t!("running unshare: {e}", "unshare를 실행하지 못했습니다: {e}")))?;
    let last: Option<OrphanState> = host::last_line_as(&out.stdout);
    if last.as_ref().map(|o| o.state != "zombie").unwrap_or(true) {
        return Err(host_control_failed(crate::t!(
            "an orphan under a non-reaping PID 1 (unshare) was not seen as a zombie: {last:?}",
            "거두지 않는 PID 1(unshare) 아래의 고아가 좀비로 보이지 않았습니다: {last:?}"
        )));
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
        crate::t!(
            "host pid {pid} to be PID 1 of a nested namespace (NSpid: {pid} 1)",
            "호스트 PID {pid}가 중첩된 네임스페이스의 PID 1(NSpid: {pid} 1)"
        ),
        format!("NSpid: {}", nspid.join(" ")),
        &run,
    )?;
    const WITHOUT: &str = "without --ns pid";
    let (sp, pid) = crate::outcome::as_control(WITHOUT, sleeper(ctx, &[], "nspid-control"))?;
    let nspid = host::status_field(pid, "NSpid").unwrap_or_default();
    let crun = sp.stop();
    if nspid.len() != 1 {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "one NSpid level (the host's PID namespace)",
                "NSpid 단계 하나(호스트의 PID 네임스페이스)"
            ),
            format!("NSpid: {}", nspid.join(" ")),
            &crun,
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- UTS
//
// Every UTS check starts the runtime in a UTS namespace of the check's own (a copy
// of the host's, made by the checker and held by a descriptor): a runtime that
// renames "its caller" renames only that copy, which the check reads there. So no
// runtime, however broken, renames the machine it is graded on.

/// Pass: the probe reads the requested name. Fail: another name; or the control run
/// (--ns uts, no --hostname) not reading the host's name: a new UTS namespace starts
/// as a copy of the caller's (contract §2, `--hostname`), and a runtime that names
/// it anyway breaks that.
fn hostname_set(ctx: &Ctx) -> CheckResult {
    let ns = host::PrivateNs::new(ctx.probe(), host::NsKind::Uts)?;
    let rt = ctx.runtime_in(&ns);
    let name = ctx.unique("lab-", 30);
    let (run, f): (_, Hostname) =
        crate::ctx::json_of(&rt, &["--ns", "uts", "--hostname", &name], &[ctx.probe(), "hostname"])?;
    ensure(
        f.hostname.as_deref() == Some(name.as_str()),
        crate::t!("hostname {name:?} inside", "컨테이너 안의 호스트 이름 {name:?}"),
        js(&f.hostname),
        &run,
    )?;
    const WITHOUT: &str = "without --hostname";
    let (crun, c): (_, Hostname) = crate::outcome::as_control(
        WITHOUT,
        crate::ctx::json_of(&rt, &["--ns", "uts"], &[ctx.probe(), "hostname"]),
    )?;
    let host_name = host::hostname();
    if c.hostname.as_deref() != Some(host_name.as_str()) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the host's name {host_name:?} inside: a new UTS namespace starts as a copy of the caller's",
                "안에서도 호스트의 이름 {host_name:?}: 새 UTS 네임스페이스는 호출한 쪽 이름의 복사본으로 시작함"
            ),
            js(&c.hostname),
            &crun,
        ));
    }
    Ok(())
}

/// The hostname seen by a probe run in the UTS namespace of `pid` (from the host, via nsenter).
fn hostname_of(ctx: &Ctx, pid: i32) -> Result<String, Outcome> {
    let v: Hostname = host::in_namespaces_of(pid, &["-u"], ctx.probe(), &["hostname"])?;
    Ok(v.hostname.unwrap_or_default())
}

/// One of the two names a UTS namespace holds.
#[derive(Clone, Copy)]
enum UtsName {
    Host,
    Domain,
}

/// What `probe hostname|domainname --set` reports, read alike.
#[derive(serde::Deserialize)]
struct SetUtsName {
    #[serde(alias = "hostname", alias = "domainname")]
    now: Option<String>,
    #[serde(flatten)]
    attempt: labkit::probe::Attempt,
}

impl UtsName {
    fn verb(self) -> &'static str {
        match self {
            UtsName::Host => "hostname",
            UtsName::Domain => "domainname",
        }
    }

    /// The checker's own (the host's) name.
    fn of_host(self) -> String {
        match self {
            UtsName::Host => host::hostname(),
            UtsName::Domain => nix::sys::utsname::uname()
                .map(|u| u.domainname().to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// The name in the check's own UTS namespace `ns` (where its runtimes run).
    fn of_ns(self, ctx: &Ctx, ns: &host::PrivateNs) -> Result<String, Outcome> {
        let v: serde_json::Value = ns.probe(ctx.probe(), &[self.verb()])?;
        Ok(v.get(self.verb())
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_string())
    }
}

/// The control of the UTS checks: a run **without** `--ns uts` whose command sets
/// the name. The runtime is started in a UTS namespace of the check's own (a copy of
/// the host's), so the rename reaches that namespace, not the machine's.
/// Ok(true): the caller's name changed, as it must without a namespace; Ok(false):
/// the command was refused (a stricter runtime: nothing to compare, noted).
fn uts_control(ctx: &Ctx, which: UtsName) -> Result<bool, Outcome> {
    const WITHOUT: &str = "without --ns uts";
    let value = ctx.unique("lab-ctl-", 30);
    let ns = host::PrivateNs::new(ctx.probe(), host::NsKind::Uts)?;
    let sp = ctx
        .runtime_in(&ns)
        .spawn(&[], &[ctx.probe(), which.verb(), "--set", &value, "--hold", "20"])
        .map_err(broken)?;
    let line = sp.next_as::<SetUtsName>(Duration::from_secs(10));
    let caller = which.of_ns(ctx, &ns);
    let run = sp.stop();
    let Some(line) = line else {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the probe to report setting the {} to {value:?}",
                "probe가 {}을(를) {value:?}로 바꾼 결과를 보고",
                which.verb()
            ),
            run.ending(),
            &run,
        ));
    };
    if refused(&line.attempt) {
        ctx.stricter(format!("`{} --set` refused without --ns uts", which.verb()));
        return Ok(false);
    }
    let caller = caller?;
    if caller != value {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "without a UTS namespace the command's {} {value:?} to be its caller's too",
                "UTS 네임스페이스가 없으면 명령이 바꾼 {} {value:?}가 호출한 쪽에서도 보임",
                which.verb()
            ),
            crate::t!(
                "the caller's UTS namespace holds {caller:?} (inside: {:?})",
                "호출한 쪽의 UTS 네임스페이스는 {caller:?} (안: {:?})",
                line.now
            ),
            &run,
        ));
    }
    Ok(true)
}

/// Pass: a command in a container with `--ns uts` sets the NIS domain name (or is
/// refused: a stricter runtime) and sees it, while its caller (the UTS namespace the
/// checker made, a copy of the host's, where the runtime runs) keeps its name.
/// Control: the same command without `--ns uts` changes its caller's name.
/// Fail: the caller's domain name changed; or the command's own name is not the one
/// it set; or the control run did not change its caller's name (a UTS namespace
/// nobody asked for).
fn domainname_isolated(ctx: &Ctx) -> CheckResult {
    let which = UtsName::Domain;
    let before = which.of_host();
    let value = ctx.unique("lab-dom-", 30);
    let ns = host::PrivateNs::new(ctx.probe(), host::NsKind::Uts)?;
    let sp = ctx
        .runtime_in(&ns)
        .spawn(
            &["--ns", "uts"],
            &[ctx.probe(), "domainname", "--set", &value, "--hold", "20"],
        )
        .map_err(broken)?;
    let line = sp.next_as::<SetUtsName>(Duration::from_secs(10));
    let caller = which.of_ns(ctx, &ns);
    let run = sp.stop();
    let Some(line) = line else {
        return Err(fail(
            crate::t!(
                "the probe to report setting the domain name to {value:?}",
                "probe가 도메인 이름을 {value:?}로 바꾼 결과를 보고"
            ),
            run.ending(),
            &run,
        ));
    };
    let caller = caller?;
    if refused(&line.attempt) {
        ctx.stricter("`domainname --set` refused inside");
    } else {
        ensure(
            line.now.as_deref() == Some(value.as_str()),
            crate::t!(
                "the domain name {value:?} inside after setting it",
                "안에서 바꾼 뒤의 도메인 이름 {value:?}"
            ),
            js(&line.now),
            &run,
        )?;
    }
    ensure(
        caller == before,
        crate::t!(
            "the caller's domain name {before:?} unchanged while the container set {value:?}",
            "컨테이너가 {value:?}로 바꾸는 동안 호출한 쪽의 도메인 이름 {before:?} 유지"
        ),
        crate::t!("{caller:?}", "{caller:?}"),
        &run,
    )?;
    uts_control(ctx, which).map(|_| ())
}

/// Pass: two containers, each `--ns uts --hostname NAME`, hold their two names at
/// the same time (each its own namespace, not one shared) while their caller (the
/// UTS namespace the checker made, a copy of the host's, where both runtimes run)
/// keeps the host's name. Control: a command without `--ns uts` that sets the hostname renames
/// its caller. Fail: otherwise, or the control not renaming its caller.
fn host_hostname_unchanged(ctx: &Ctx) -> CheckResult {
    let before = host::hostname();
    let ns = host::PrivateNs::new(ctx.probe(), host::NsKind::Uts)?;
    let rt = ctx.runtime_in(&ns);
    let (a, b) = (ctx.unique("lab-a-", 30), ctx.unique("lab-b-", 30));
    let (sa, pa) = ctx.sleeper_on(&rt, &["--ns", "uts", "--hostname", &a], ctx.probe(), "uts-a")?;
    let (sb, pb) = ctx.sleeper_on(&rt, &["--ns", "uts", "--hostname", &b], ctx.probe(), "uts-b")?;
    let (ha, hb) = (hostname_of(ctx, pa), hostname_of(ctx, pb));
    let caller = UtsName::Host.of_ns(ctx, &ns);
    let ra = sa.stop();
    let _rb = sb.stop();
    let (ha, hb) = (ha?, hb?);
    let caller = caller?;
    ensure(
        ha == a && hb == b && caller == before,
        crate::t!(
            "{a:?} and {b:?} inside the two containers at the same time while their caller keeps {before:?}",
            "두 컨테이너 안에서 동시에 {a:?}와 {b:?}, 그동안 호출한 쪽은 {before:?} 유지"
        ),
        crate::t!(
            "inside {ha:?} and {hb:?}, the caller {caller:?}",
            "안 {ha:?}, {hb:?}, 호출한 쪽 {caller:?}"
        ),
        &ra,
    )?;
    uts_control(ctx, UtsName::Host).map(|_| ())
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
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
fn mount_invisible(ctx: &Ctx) -> CheckResult {
    let target = ctx.dir("mnt-inside")?;
    let t = target.to_string_lossy().into_owned();
    let sp = ctx.spawn(&["--ns", "mnt"], &[ctx.probe(), "mount-tmpfs", &t, "--hold", "20"])?;
    let mounted: Option<PathAttempt> = sp.next_as(Duration::from_secs(10));
    let on_host = host::mount_points().contains(&t);
    let run = sp.stop();
    let mounted = mounted.ok_or_else(|| {
        fail(
            crate::t!(
                "the probe to report its tmpfs mount",
                "probe가 tmpfs 마운트 결과를 보고"
            ),
            crate::t!("no report", "보고 없음"),
            &run,
        )
    })?;
    let on_host = if refused(&mounted.attempt) {
        ctx.stricter(format!("the command inside may not mount ({}): the checker mounted from the host, in the container's mount namespace", mounted.attempt.error.as_deref().unwrap_or("?")));
        let (sp, pid) = sleeper(ctx, &["--ns", "mnt"], "mnt-inside")?;
        let by_host: Result<PathAttempt, _> = host::in_namespaces_of(pid, &["-m"], ctx.probe(), &["mount-tmpfs", &t]);
        let seen = host::mount_points().contains(&t);
        let run = sp.stop();
        let by_host = by_host?;
        if !by_host.attempt.ok {
            let by_host = js(&by_host);
            return Err(broken(crate::t!(
                "the checker could not mount a tmpfs in the container's mount namespace: {by_host}",
                "검사기가 컨테이너의 마운트 네임스페이스에 tmpfs를 마운트하지 못했습니다: {by_host}"
            )));
        }
        ensure(
            !seen,
            crate::t!(
                "{t}, mounted in the container's namespace, absent from the host's mountinfo",
                "컨테이너의 네임스페이스에 마운트한 {t}가 호스트의 mountinfo에 없음"
            ),
            crate::t!("it is in the host's mount table", "호스트의 마운트 테이블에 있습니다"),
            &run,
        )?;
        seen
    } else {
        ensure(
            mounted.attempt.ok,
            crate::t!("a tmpfs mounted on {t} inside", "안에서 {t}에 tmpfs가 마운트됨"),
            js(&mounted),
            &run,
        )?;
        on_host
    };
    ensure(
        !on_host,
        crate::t!(
            "{t} absent from the host's mountinfo",
            "호스트의 mountinfo에 {t}가 없음"
        ),
        crate::t!(
            "the container's mount is in the host's mount table",
            "컨테이너의 마운트가 호스트의 마운트 테이블에 있습니다"
        ),
        &run,
    )?;
    // Control: the same mount without a mount namespace lands in the host's table
    // (the check's scratch cleanup unmounts it).
    const WITHOUT: &str = "without --ns mnt";
    let target2 = ctx.dir("mnt-control")?;
    let t2 = target2.to_string_lossy().into_owned();
    let (crun, c): (_, PathAttempt) = ctx.control_probe_json(WITHOUT, &[], &["mount-tmpfs", &t2])?;
    let seen = host::mount_points().contains(&t2);
    let _ = nix::mount::umount2(t2.as_str(), nix::mount::MntFlags::MNT_DETACH);
    if refused(&c.attempt) {
        // The runtime may not mount either: the host's table shows the checker's own.
        let own: PathAttempt = host::probe(ctx.probe(), &["mount-tmpfs", &t2])?;
        let seen = host::mount_points().contains(&t2);
        let _ = nix::mount::umount2(t2.as_str(), nix::mount::MntFlags::MNT_DETACH);
        if !own.attempt.ok || !seen {
            let own = js(&own);
            return Err(host_control_failed(crate::t!(
                "a tmpfs the checker mounted on {t2} was not seen in its mount table: {own}",
                "검사기가 {t2}에 마운트한 tmpfs가 자기 마운트 테이블에 보이지 않았습니다: {own}"
            )));
        }
        return Ok(());
    }
    if !c.attempt.ok || !seen {
        let c = js(&c);
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the tmpfs on {t2} in the host's mount table: no mount namespace without --ns mnt",
                "{t2}의 tmpfs가 호스트의 마운트 테이블에 있음: --ns mnt가 없으면 마운트 네임스페이스도 없음"
            ),
            crate::t!(
                "mount {c}; in the host's table: {seen}",
                "마운트 {c}; 호스트 테이블에 있음: {seen}"
            ),
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
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
fn host_files_unreachable(ctx: &Ctx) -> CheckResult {
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let marker = ctx.scratch().join("host-only-marker");
    std::fs::write(&marker, "host")
        .map_err(|e| broken(crate::t!("writing the marker: {e}", "표식 파일을 쓰지 못했습니다: {e}")))?;
    let m = marker.to_string_lossy().into_owned();
    let opts = ["--ns", "pid,mnt", "--rootfs", root.as_str()];
    let (run, st): (_, Stat) = ctx.json_of(&opts, &["/bin/probe", "stat", &m])?;
    let found = js(&st);
    ensure(
        !st.attempt.ok,
        crate::t!(
            "host file {m} not found inside",
            "호스트 파일 {m}이(가) 안에서 보이지 않음"
        ),
        crate::t!("found: {found}", "보임: {found}"),
        &run,
    )?;
    let (run, up): (_, ChdirUp) = ctx.json_of(&opts, &["/bin/probe", "chdir-up"])?;
    ensure(
        up.same,
        crate::t!("`..` from / to stay in /", "/에서 `..`으로 가도 / 그대로"),
        crate::t!(
            "cwd {} after chdir(\"..\"), root {}",
            "chdir(\"..\") 뒤 cwd {}, 루트 {}",
            js(&up.cwd),
            js(&up.root)
        ),
        &run,
    )?;
    // pivot_root, not chroot: the classic breakout climbs to the namespace's real
    // root, which must be the container's own (the old root detached).
    let (run, esc): (_, ChrootEscape) = ctx.json_of(&opts, &["/bin/probe", "chroot-escape"])?;
    ensure(
        !esc.escaped,
        crate::t!(
            "the chroot breakout to end in the container's own root (pivot_root, old root detached)",
            "chroot 탈출 시도가 컨테이너 자신의 루트에서 끝남(pivot_root, 옛 루트 분리)"
        ),
        crate::t!(
            "it reached another root: {} -> {}",
            "다른 루트에 닿았습니다: {} -> {}",
            js(&esc.root_before),
            js(&esc.root_after)
        ),
        &run,
    )?;
    if let Some(r) = &esc.refused {
        ctx.stricter(crate::t!(
            "the breakout could not start: {} refused with {}",
            "탈출 시도를 시작할 수 없었습니다: {}가 {}로 거부됨",
            r.op,
            r.error
        ));
    }
    // Control: under a bare chroot the same breakout reaches the host's root.
    let out = std::process::Command::new("chroot")
        .arg(&root)
        .args(["/bin/probe", "chroot-escape"])
        .output()
        .map_err(|e| broken(crate::t!("running chroot: {e}", "chroot를 실행하지 못했습니다: {e}")))?;
    let c: Option<ChrootEscape> = host::last_line_as(&out.stdout);
    if !c.as_ref().is_some_and(|c| c.escaped) {
        let c = js(&c);
        return Err(host_control_failed(crate::t!(
            "the breakout did not leave a bare chroot: {c}",
            "그냥 chroot에서도 탈출 시도가 빠져나가지 못했습니다: {c}"
        )));
    }
    // Control: without a root file system the host's file is right there.
    const WITHOUT: &str = "without --rootfs";
    let (crun, c): (_, Stat) = ctx.control_probe_json(WITHOUT, &["--ns", "pid,mnt"], &["stat", &m])?;
    if !c.attempt.ok {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the host's file {m} found: without --rootfs the root is the host's",
                "호스트 파일 {m}이(가) 보임: --rootfs가 없으면 루트는 호스트의 것"
            ),
            js(&c),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: / inside is the given rootfs (same dev and inode); with layers, an overlay
/// whose writes land in --upper only. Fail: otherwise; or the control run (no
/// --rootfs) whose / is not the host's.
fn root_is_given(ctx: &Ctx) -> CheckResult {
    let rootfs = ctx.rootfs()?.to_path_buf();
    let r = rootfs.to_string_lossy().into_owned();
    let meta = std::fs::metadata(&rootfs).map_err(|e| broken(crate::t!("stat {r}: {e}", "{r} stat 실패: {e}")))?;
    let (run, f): (_, Facts) = ctx.json_of(&["--ns", "mnt", "--rootfs", &r], &["/bin/probe", "facts"])?;
    let root = f.root;
    ensure(
        root.is_some_and(|root| root.ino == meta.ino() && root.dev == meta.dev()),
        crate::t!(
            "/ inside to be {r} (dev {} ino {})",
            "안의 /가 {r}(dev {} ino {})",
            meta.dev(),
            meta.ino()
        ),
        format!("dev {} ino {}", js(&root.map(|r| r.dev)), js(&root.map(|r| r.ino))),
        &run,
    )?;
    // With layers: the root is an overlay whose writes land in --upper only.
    let ov = ctx.overlay("root")?;
    let mut opts = vec!["--ns".to_string(), "mnt".to_string()];
    opts.extend(ov.options());
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let (run, _): (_, WriteFile) = ctx.json_of(
        &opts,
        &["/bin/probe", "write-file", "/lab-written", "--content", "upper"],
    )?;
    let upper = std::fs::read_to_string(ov.upper.join("lab-written")).ok();
    ensure(
        upper.as_deref() == Some("upper") && !ov.lower.join("lab-written").exists(),
        crate::t!(
            "a file written to / inside to appear in --upper and not in the layer",
            "안에서 /에 쓴 파일이 --upper에 생기고 레이어에는 없음"
        ),
        crate::t!(
            "in upper: {upper:?}, in layer: {}",
            "upper에: {upper:?}, 레이어에: {}",
            ov.lower.join("lab-written").exists()
        ),
        &run,
    )?;
    let (run, f): (_, Facts) = ctx.json_of(&opts, &["/bin/probe", "facts"])?;
    let root_fs = f
        .mounts
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.mount_point == "/")
        .map(|m| m.fstype);
    ensure(
        root_fs.as_deref() == Some("overlay"),
        crate::t!("/ inside to be an overlay mount", "안의 /가 overlay 마운트"),
        format!("fstype {root_fs:?}"),
        &run,
    )?;
    // Control: without a root file system / is the host's.
    let host_root = std::fs::metadata("/").map_err(|e| broken(crate::t!("stat /: {e}", "/ stat 실패: {e}")))?;
    const WITHOUT: &str = "without --rootfs";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &["--ns", "mnt"], &["facts"])?;
    if c.root.map(|r| r.ino) != Some(host_root.ino()) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/ to be the host's (inode {})",
                "/가 호스트의 것(inode {})",
                host_root.ino()
            ),
            js(&c.root),
            &crun,
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- network

fn interface_names(f: &Facts) -> Vec<String> {
    let mut v: Vec<String> = f.interfaces.iter().flatten().map(|i| i.name.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// Pass: only `lo` inside, up. Fail: otherwise; or the control run (no --ns net)
/// not seeing the host's interfaces. Skip: the host itself has no interface but lo
/// (the checker's own view), so nothing can tell a namespace apart.
fn only_loopback(ctx: &Ctx) -> CheckResult {
    let (run, f): (_, Facts) = ctx.probe_json(&["--ns", "net"], &["facts"])?;
    let names = interface_names(&f);
    let lo_up = f
        .interfaces
        .iter()
        .flatten()
        .any(|i| i.name == "lo" && i.up == Some(true));
    ensure(
        names == ["lo"] && lo_up,
        crate::t!("only `lo` inside, up", "안에는 `lo`만 있고 켜져 있음"),
        crate::t!(
            "interfaces {names:?}, lo up: {lo_up}",
            "인터페이스 {names:?}, lo 켜짐: {lo_up}"
        ),
        &run,
    )?;
    let host_if: Vec<String> = host::interfaces().into_iter().filter(|i| i != "lo").collect();
    if host_if.is_empty() {
        return Err(skip(crate::t!(
            "the host has no network interface but lo: a network namespace cannot be told apart",
            "호스트에 lo 말고는 네트워크 인터페이스가 없어서 네트워크 네임스페이스를 구별할 수 없습니다"
        )));
    }
    const WITHOUT: &str = "without --ns net";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &[], &["facts"])?;
    if !interface_names(&c).iter().any(|i| host_if.contains(i)) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the host's interfaces {host_if:?}: no network namespace without --ns net",
                "호스트의 인터페이스 {host_if:?}: --ns net이 없으면 네트워크 네임스페이스도 없음"
            ),
            format!("{:?}", interface_names(&c)),
            &crun,
        ));
    }
    Ok(())
}

fn addresses(f: &Facts) -> Vec<String> {
    f.interfaces
        .iter()
        .flatten()
        .filter(|i| i.loopback != Some(true))
        .flat_map(|i| i.addresses.iter().flatten().map(|a| a.address.clone()))
        .collect()
}

/// Pass: none of the host's interfaces or addresses inside. Fail: one is; or the
/// control run (no --ns net) not seeing them. Skip: the host has none but lo.
fn host_addresses_invisible(ctx: &Ctx) -> CheckResult {
    let host_if: Vec<String> = host::interfaces().into_iter().filter(|i| i != "lo").collect();
    if host_if.is_empty() {
        return Err(skip(crate::t!(
            "the host has no network interface but lo: a network namespace cannot be told apart",
            "호스트에 lo 말고는 네트워크 인터페이스가 없어서 네트워크 네임스페이스를 구별할 수 없습니다"
        )));
    }
    let host_addr = addresses(&host::probe(ctx.probe(), &["facts"])?);
    let (run, f): (_, Facts) = ctx.probe_json(&["--ns", "net"], &["facts"])?;
    let seen_if: Vec<String> = interface_names(&f)
        .into_iter()
        .filter(|i| host_if.contains(i))
        .collect();
    let seen_addr: Vec<String> = addresses(&f).into_iter().filter(|a| host_addr.contains(a)).collect();
    ensure(
        seen_if.is_empty() && seen_addr.is_empty(),
        crate::t!(
            "none of the host's interfaces or addresses inside",
            "안에서 호스트의 인터페이스도 주소도 보이지 않음"
        ),
        crate::t!(
            "interfaces {seen_if:?}, addresses {seen_addr:?}",
            "인터페이스 {seen_if:?}, 주소 {seen_addr:?}"
        ),
        &run,
    )?;
    const WITHOUT: &str = "without --ns net";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &[], &["facts"])?;
    if !interface_names(&c).iter().any(|i| host_if.contains(i)) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the host's interfaces {host_if:?}: no network namespace without --ns net",
                "호스트의 인터페이스 {host_if:?}: --ns net이 없으면 네트워크 네임스페이스도 없음"
            ),
            format!("{:?}", interface_names(&c)),
            &crun,
        ));
    }
    Ok(())
}

/// A /24 no other run of this checker uses at the same time.
fn subnet(ctx: &Ctx) -> String {
    let n: u32 = ctx
        .unique("", 9)
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    format!("10.{}.{}", 150 + std::process::id() % 90, n % 250 + 1)
}

/// Pass: the container reaches the host's end of the pair and gets its text back,
/// the host sees it come from the container's address, and the host's end is gone
/// afterwards. Fail: otherwise; or the control run (--ns net, no --veth) reaching
/// the host's address (a network namespace holds only lo).
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
fn veth_traffic(ctx: &Ctx) -> CheckResult {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("0.0.0.0:0").map_err(|e| {
        broken(crate::t!(
            "binding a host listener: {e}",
            "호스트 쪽 리스너를 bind하지 못했습니다: {e}"
        ))
    })?;
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
    let r = ctx.probe_json::<Connect>(
        &["--ns", "net", "--veth", &veth],
        &[
            "connect",
            "--addr",
            &host_ip,
            "--port",
            &port,
            "--send",
            "ping-over-veth",
        ],
    );
    // If the container never connected, release the server thread with a connection
    // of our own (it then reports text from 127.0.0.1, which fails the check below).
    let _ = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap_or(0)));
    let served = server.join().unwrap_or(None);
    let (run, c) = r?;
    ensure(
        c.reply.as_deref() == Some("ping-over-veth"),
        crate::t!(
            "the container to reach {host_ip}:{port} over the veth and get its text echoed",
            "컨테이너가 veth로 {host_ip}:{port}에 닿아 보낸 글을 되돌려 받음"
        ),
        crate::t!(
            "connected {}, error {}, reply {}",
            "연결 {}, 오류 {}, 응답 {}",
            c.connected,
            js(&c.attempt.error),
            js(&c.reply)
        ),
        &run,
    )?;
    let (got, peer) = served.unwrap_or_default();
    ensure(
        got == "ping-over-veth" && peer == format!("{net}.2"),
        crate::t!(
            "the host to receive the text from {net}.2",
            "호스트가 {net}.2에서 글을 받음"
        ),
        crate::t!("{got:?} from {peer:?}", "{peer:?}에서 {got:?}"),
        &run,
    )?;
    if std::path::Path::new("/sys/class/net").join(&hif).exists() {
        return Err(fail(
            crate::t!(
                "host interface {hif} removed when the container ended",
                "컨테이너가 끝나면 호스트 인터페이스 {hif}가 지워짐"
            ),
            crate::t!("it is still there", "아직 남아 있습니다"),
            &run,
        ));
    }
    // Control: a network namespace without the pair cannot reach the host address.
    const WITHOUT: &str = "without --veth";
    let (crun, c): (_, Connect) = ctx.control_probe_json(
        WITHOUT,
        &["--ns", "net"],
        &["connect", "--addr", &host_ip, "--port", &port, "--timeout", "1"],
    )?;
    if c.connected {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "no way to {host_ip}: a new network namespace holds only lo",
                "{host_ip}로 갈 길이 없음: 새 네트워크 네임스페이스에는 lo만 있음"
            ),
            crate::t!("it connected", "연결되었습니다"),
            &crun,
        ));
    }
    Ok(())
}

fn free_port() -> Result<String, Outcome> {
    let l = std::net::TcpListener::bind("0.0.0.0:0")
        .map_err(|e| broken(crate::t!("finding a free port: {e}", "빈 포트를 찾지 못했습니다: {e}")))?;
    Ok(l.local_addr().map_err(broken)?.port().to_string())
}

fn bind_twice(ctx: &Ctx, options: &[&str], port: &str) -> Result<(BindOnly, BindOnly, crate::runtime::Run), Outcome> {
    let args = [ctx.probe(), "bind-only", "--port", port, "--hold", "20"];
    let a = ctx.spawn(options, &args)?;
    let first = a.next_as::<BindOnly>(Duration::from_secs(10));
    let b = ctx.spawn(options, &args)?;
    let second = b.next_as::<BindOnly>(Duration::from_secs(10));
    let rb = b.stop();
    let ra = a.stop();
    let first = first.ok_or_else(|| {
        fail(
            crate::t!("the first probe to report its bind", "첫 번째 probe가 bind 결과를 보고"),
            crate::t!("no report", "보고 없음"),
            &ra,
        )
    })?;
    let second = second.ok_or_else(|| {
        fail(
            crate::t!(
                "the second probe to report its bind",
                "두 번째 probe가 bind 결과를 보고"
            ),
            crate::t!("no report", "보고 없음"),
            &rb,
        )
    })?;
    Ok((first, second, rb))
}

/// Pass: two containers bind the same port at once. Fail: otherwise; or the control
/// runs (no --ns net) where the second bind is not refused with EADDRINUSE.
fn same_port_twice(ctx: &Ctx) -> CheckResult {
    let port = free_port()?;
    let (a, b, run) = bind_twice(ctx, &["--ns", "net"], &port)?;
    ensure(
        a.attempt.ok && b.attempt.ok,
        crate::t!(
            "both containers to bind port {port}",
            "두 컨테이너가 모두 포트 {port}에 bind"
        ),
        crate::t!(
            "first {}, second {}",
            "첫 번째 {}, 두 번째 {}",
            js(&a.attempt.error),
            js(&b.attempt.error)
        ),
        &run,
    )?;
    let port = free_port()?;
    const WITHOUT: &str = "without --ns net";
    let (a, b, crun) = crate::outcome::as_control(WITHOUT, bind_twice(ctx, &[], &port))?;
    if !(a.attempt.ok && b.attempt.refused_with("EADDRINUSE")) {
        let (a, b) = (js(&a), js(&b));
        return Err(control_fail(WITHOUT, crate::t!("the first bind of port {port} to succeed and the second to fail with EADDRINUSE (one network namespace)", "포트 {port}의 첫 bind는 성공하고 두 번째는 EADDRINUSE로 실패(네트워크 네임스페이스 하나)"), crate::t!("first {a}, second {b}", "첫 번째 {a}, 두 번째 {b}"), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- IPC

/// Creates the object inside a container (held), looks it up from the host and
/// from a sibling container; returns (found on host, found in sibling, run).
fn ipc_seen(
    ctx: &Ctx,
    options: &[&str],
    kind: &str,
    id_flag: &str,
    id: &str,
) -> Result<(bool, bool, crate::runtime::Run), Outcome> {
    let holder = ctx.spawn(
        options,
        &[
            ctx.probe(),
            "ipc",
            "create",
            "--kind",
            kind,
            id_flag,
            id,
            "--hold",
            "20",
        ],
    )?;
    let created = holder.next_as::<IpcCreated>(Duration::from_secs(10));
    if created.is_none() {
        let run = holder.stop();
        return Err(fail(
            crate::t!(
                "the probe to create {kind} {id} inside",
                "probe가 안에서 {kind} {id}를 만듦"
            ),
            format!("{}; {}", run.ending(), run.stdout_text().trim()),
            &run,
        ));
    }
    let on_host = host::probe::<IpcLookup>(ctx.probe(), &["ipc", "lookup", "--kind", kind, id_flag, id]);
    let sibling = ctx.probe_json::<IpcLookup>(options, &["ipc", "lookup", "--kind", kind, id_flag, id]);
    let run = holder.stop();
    let on_host = on_host?;
    let (_, sibling) = sibling?;
    Ok((on_host.found, sibling.found, run))
}

/// Pass: the object made inside is found neither on the host nor in a sibling
/// container. Fail: it is; or the control runs (no --ns ipc) where host and sibling
/// do not both find it (one IPC namespace for all).
fn ipc_check(ctx: &Ctx, kind: &str, id_flag: &str, id: &str) -> CheckResult {
    let (host_sees, sibling_sees, run) = ipc_seen(ctx, &["--ns", "ipc"], kind, id_flag, id)?;
    if host_sees || sibling_sees {
        return Err(fail(
            crate::t!(
                "{kind} {id} made inside to be invisible on the host and in a sibling container",
                "안에서 만든 {kind} {id}가 호스트에서도 이웃 컨테이너에서도 보이지 않음"
            ),
            crate::t!(
                "visible on the host: {host_sees}, in the sibling: {sibling_sees}",
                "호스트에서 보임: {host_sees}, 이웃에서 보임: {sibling_sees}"
            ),
            &run,
        ));
    }
    // Control: without an IPC namespace both see it.
    const WITHOUT: &str = "without --ns ipc";
    let (h, s, crun) = crate::outcome::as_control(WITHOUT, ipc_seen(ctx, &[], kind, id_flag, id))?;
    if !(h && s) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "{kind} {id} made in the container found on the host and in a sibling (one IPC namespace)",
                "컨테이너에서 만든 {kind} {id}가 호스트와 이웃 컨테이너에서 보임(IPC 네임스페이스 하나)"
            ),
            crate::t!(
                "found on the host: {h}, in the sibling: {s}",
                "호스트에서 보임: {h}, 이웃에서 보임: {s}"
            ),
            &crun,
        ));
    }
    Ok(())
}

fn ipc_key(ctx: &Ctx) -> String {
    let n: u32 = ctx
        .unique("", 9)
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(1);
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
    base.iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Pass: uid 0 inside, and the mapped uid on the host (status Uid). Fail: otherwise;
/// or the control run (no --ns user) not running as host uid 0 (the command runs as
/// the caller, contract §1).
fn root_maps(ctx: &Ctx) -> CheckResult {
    let opts = with(&["--ns", "user"], &map_opts(65536));
    let (run, f): (_, Facts) = ctx.probe_json(&refs(&opts), &["facts"])?;
    ensure(
        f.uid == 0 && f.euid == 0,
        crate::t!("uid 0 inside", "안에서 uid 0"),
        format!("uid {}, euid {}", f.uid, f.euid),
        &run,
    )?;
    let (sp, pid) = sleeper(ctx, &refs(&opts), "userns")?;
    let uids = host::status_field(pid, "Uid").unwrap_or_default();
    let run = sp.stop();
    ensure(
        !uids.is_empty() && uids.iter().all(|u| u == &MAPPED.to_string()),
        crate::t!(
            "the container's process to run as uid {MAPPED} on the host",
            "컨테이너의 프로세스가 호스트에서 uid {MAPPED}로 실행됨"
        ),
        format!("Uid: {}", uids.join(" ")),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (sp, pid) = crate::outcome::as_control(WITHOUT, sleeper(ctx, &[], "userns-control"))?;
    let uids = host::status_field(pid, "Uid").unwrap_or_default();
    let crun = sp.stop();
    if uids.first().map(String::as_str) != Some("0") {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the command to run as the caller, host uid 0",
                "명령이 호출한 쪽과 같은 호스트 uid 0으로 실행됨"
            ),
            format!("Uid: {}", uids.join(" ")),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: a file root makes inside is owned by the mapped uid and gid on the host.
/// Fail: otherwise; or the control run (no --ns user) whose file is not owned by 0.
fn files_owned(ctx: &Ctx) -> CheckResult {
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let opts = with(&["--ns", "user,mnt", "--rootfs", &root], &map_opts(65536));
    let (run, w): (_, WriteFile) = ctx.json_of(
        &refs(&opts),
        &["/bin/probe", "write-file", "/tmp/made-inside", "--content", "x"],
    )?;
    ensure(
        w.attempt.ok,
        crate::t!(
            "root inside to create /tmp/made-inside",
            "안의 root가 /tmp/made-inside를 만듦"
        ),
        js(&w),
        &run,
    )?;
    let m = std::fs::metadata(ctx.rootfs()?.join("tmp/made-inside"))
        .map_err(|e| broken(crate::t!("stat on the host: {e}", "호스트에서 stat 실패: {e}")))?;
    ensure(
        m.uid() == MAPPED && m.gid() == MAPPED,
        crate::t!(
            "the file owned by {MAPPED}:{MAPPED} on the host",
            "호스트에서 파일 주인이 {MAPPED}:{MAPPED}"
        ),
        crate::t!("owned by {}:{}", "주인 {}:{}", m.uid(), m.gid()),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (crun, w): (_, WriteFile) = ctx.control_json_of(
        WITHOUT,
        &["--ns", "mnt", "--rootfs", &root],
        &["/bin/probe", "write-file", "/tmp/made-control", "--content", "x"],
    )?;
    let w = js(&w);
    let c = std::fs::metadata(ctx.rootfs()?.join("tmp/made-control"));
    if c.as_ref().map(|c| c.uid()).ok() != Some(0) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/tmp/made-control owned by uid 0 on the host (the caller's uid)",
                "호스트에서 /tmp/made-control의 주인이 uid 0(호출한 쪽의 uid)"
            ),
            match c {
                Ok(c) => crate::t!("owned by {}", "주인 {}", c.uid()),
                Err(e) => crate::t!(
                    "no file on the host ({e}); the write said {w}",
                    "호스트에 파일이 없음({e}); 쓰기 결과 {w}"
                ),
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
    let (run, w): (_, WriteFile) = ctx.probe_json(&refs(&opts), &["write-file", &f, "--content", "overwritten"])?;
    let content = std::fs::read_to_string(&f).unwrap_or_default();
    ensure(
        !w.attempt.ok && content == "host root's",
        crate::t!(
            "root inside to be refused writing {f} (EACCES)",
            "안의 root가 {f}에 쓰려다 거부됨(EACCES)"
        ),
        crate::t!(
            "write ok {}, error {}, file now {content:?}",
            "쓰기 성공 {}, 오류 {}, 지금 파일 내용 {content:?}",
            w.attempt.ok,
            js(&w.attempt.error)
        ),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (crun, c): (_, WriteFile) =
        ctx.control_probe_json(WITHOUT, &[], &["write-file", &f, "--content", "overwritten"])?;
    if refused(&c.attempt) {
        ctx.stricter(format!(
            "host root may not write its own file under this runtime either ({})",
            c.attempt.error.as_deref().unwrap_or("?")
        ));
    } else if !c.attempt.ok {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "host root to write its own file {f}",
                "호스트 root가 자기 파일 {f}에 씀"
            ),
            js(&c),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: host root's file shows as the overflow id inside (uid 0 unmapped). Fail:
/// otherwise; or the control run (no --ns user) not showing uid 0.
fn unmapped_overflow(ctx: &Ctx) -> CheckResult {
    let f = ctx.host_root_file()?;
    let overflow: u32 = std::fs::read_to_string("/proc/sys/kernel/overflowuid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65534);
    let opts = with(&["--ns", "user"], &map_opts(1));
    let (run, st): (_, Stat) = ctx.probe_json(&refs(&opts), &["stat", &f])?;
    ensure(
        st.uid == Some(overflow) && st.gid == Some(overflow),
        crate::t!(
            "host root's file to show as {overflow}:{overflow} inside (uid 0 is not mapped)",
            "호스트 root의 파일이 안에서 {overflow}:{overflow}로 보임(uid 0이 매핑되지 않음)"
        ),
        format!("{}:{}", js(&st.uid), js(&st.gid)),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (crun, c): (_, Stat) = ctx.control_probe_json(WITHOUT, &[], &["stat", &f])?;
    if c.uid != Some(0) {
        return Err(control_fail(
            WITHOUT,
            crate::t!("host root's file owned by uid 0", "호스트 root의 파일 주인이 uid 0"),
            format!("uid {}", js(&c.uid)),
            &crun,
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- cgroup

/// (hierarchy, path) of every controller line of a /proc/PID/cgroup text.
fn cgroup_paths(text: &str) -> Vec<(String, String)> {
    labkit::cgroups::parse_cgroup(text)
        .into_iter()
        .filter(|l| !l.controllers.iter().any(|c| c.starts_with("name=")))
        .map(|l| {
            let hierarchy = if l.controllers.is_empty() {
                "unified".to_string()
            } else {
                l.controllers.join(",")
            };
            (hierarchy, l.path)
        })
        .collect()
}

/// Pass: the container's process is in cgroup NAME (host view) and sees that cgroup
/// as / (read in its cgroup namespace). Control: a run with `--cgroup` and no
/// `--ns cgroup` reads its own /proc/self/cgroup with the whole path to its cgroup.
/// Fail: otherwise; or the control showing / (a cgroup namespace nobody asked for).
fn cgroup_root(ctx: &Ctx) -> CheckResult {
    ctx.cgroup_parent()?;
    let name = ctx.unique("lab-cgns-", 40);
    let (sp, pid) = sleeper(ctx, &["--ns", "cgroup", "--cgroup", &name], "cgns")?;
    let host_view = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    // Read by a process in the container's cgroup namespace, paths are relative to its root.
    let inside: Result<Cat, _> =
        host::in_namespaces_of(pid, &["-C"], ctx.probe(), &["cat", &format!("/proc/{pid}/cgroup")]);
    let run = sp.stop();
    let inside = inside?;
    let host_paths = cgroup_paths(&host_view);
    let suffix = format!("/{name}");
    // v1 hierarchies the runtime does not use (or the empty v2 mount of a hybrid host) stay where they were.
    let joined: Vec<&(String, String)> = host_paths.iter().filter(|(_, p)| p.ends_with(&suffix)).collect();
    ensure(
        !joined.is_empty(),
        crate::t!(
            "the container's process in cgroup {name} (host view)",
            "컨테이너의 프로세스가 cgroup {name} 안에 있음(호스트에서 본 모습)"
        ),
        format!("{host_paths:?}"),
        &run,
    )?;
    let inside_paths = cgroup_paths(inside.content.as_deref().unwrap_or_default());
    let not_root: Vec<&(String, String)> = inside_paths
        .iter()
        .filter(|(h, p)| joined.iter().any(|(jh, _)| jh == h) && p != "/")
        .collect();
    ensure(
        not_root.is_empty() && !inside_paths.is_empty(),
        crate::t!(
            "cgroup {name} to show as / inside",
            "cgroup {name}이(가) 안에서 /로 보임"
        ),
        format!("{inside_paths:?}"),
        &run,
    )?;
    const WITHOUT: &str = "without --ns cgroup";
    let control = ctx.unique("lab-cgctl-", 40);
    let (crun, facts): (_, Facts) = ctx.control_probe_json(WITHOUT, &["--cgroup", &control], &["facts"])?;
    let lines = facts.cgroup.unwrap_or_default();
    let suffix = format!("/{control}");
    if !lines.iter().any(|l| l.path.ends_with(&suffix)) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the whole path to cgroup {control} in /proc/self/cgroup, as the host names it",
                "/proc/self/cgroup에 호스트가 부르는 대로 cgroup {control}까지의 전체 경로"
            ),
            js(&lines),
            &crun,
        ));
    }
    Ok(())
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
    let (run, f): (_, Facts) = ctx.probe_json(
        &["--ns", "time", "--time-offset", "monotonic=604800,boottime=604800"],
        &["facts"],
    )?;
    let (host_boot, host_mono) = (host::boottime(), host::monotonic());
    let boot = f.uptime.boottime.unwrap_or(0.0);
    let mono = f.uptime.monotonic.unwrap_or(0.0);
    ensure(
        (boot - host_boot - OFFSET).abs() < TOL && (mono - host_mono - OFFSET).abs() < TOL,
        crate::t!(
            "boottime and monotonic inside {OFFSET:.0} s ahead of the host's ({host_boot:.0} s, {host_mono:.0} s)",
            "안의 boottime과 monotonic이 호스트({host_boot:.0}초, {host_mono:.0}초)보다 {OFFSET:.0}초 앞섬"
        ),
        crate::t!(
            "boottime {boot:.0} s, monotonic {mono:.0} s",
            "boottime {boot:.0}초, monotonic {mono:.0}초"
        ),
        &run,
    )?;
    if host::boottime() - host_before > 60.0 {
        return Err(fail_host(
            crate::t!("the host's clock unchanged", "호스트의 시계는 그대로"),
            crate::t!("it jumped", "시계가 건너뛰었습니다"),
            "clock_gettime(CLOCK_BOOTTIME) on the host",
        ));
    }
    // Control: a time namespace without offsets reads the host's clock.
    const WITHOUT: &str = "without --time-offset";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &["--ns", "time"], &["facts"])?;
    let cboot = c.uptime.boottime.unwrap_or(0.0);
    let hboot = host::boottime();
    if (cboot - hboot).abs() > TOL {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "boottime inside within {TOL} s of the host's ({hboot:.0} s)",
                "안의 boottime이 호스트({hboot:.0}초)와 {TOL}초 안"
            ),
            crate::t!("{cboot:.0} s", "{cboot:.0}초"),
            &crun,
        ));
    }
    Ok(())
}
