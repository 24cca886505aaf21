//! PID namespaces, and the duties of the PID 1 inside one: exit statuses,
//! signals, orphans.

use labkit::probe::{Facts, Kill, OrphanState};

use crate::cause::Cause;

use super::*;

/// Pass: the probe is PID 1 (ppid 0) or the child of a PID 1 it can see. Fail:
/// anything else, or the control run (without --ns pid) showing PID 1 or 2.
pub(super) fn init_is_pid_1(ctx: &Ctx) -> CheckResult {
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
            "pid {pid}, ppid {ppid}, visible pids {}",
            "pid {pid}, ppid {ppid}, 보이는 PID {}",
            crate::text::list(&pids)
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
/// run (mnt only) whose /proc does not list a host process the check started (its
/// pid above 64, `Ctx::host_witness`: where the checker is PID 1 of a container, the
/// host's own PIDs are small too). A read-only /proc lists the same PIDs: strictness
/// changes nothing here.
pub(super) fn fresh_proc(ctx: &Ctx) -> CheckResult {
    let witness = ctx.host_witness()?;
    let me = u64::from(witness.pid());
    let (run, f): (_, Facts) = ctx.probe_json(&["--ns", "pid,mnt"], &["facts"])?;
    let pids = f.pids.unwrap_or_default();
    ensure(
        !pids.is_empty() && pids.len() <= 4 && pids.iter().all(|p| *p <= 8),
        crate::t!(
            "/proc inside to list only the container's few processes (pids 1..8)",
            "컨테이너 안의 /proc에 컨테이너의 프로세스 몇 개만(PID 1..8) 보임"
        ),
        crate::t!(
            "{} pids listed: {}",
            "PID {}개가 보임: {}",
            pids.len(),
            crate::text::list(&pids[..pids.len().min(12)])
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
                "/proc to list the host process's pid {me} (the host's PID namespace)",
                "/proc에 호스트 프로세스의 PID {me}이(가) 보임(호스트의 PID 네임스페이스)"
            ),
            crate::t!("{} pids, not {me}", "PID {}개, {me}은(는) 없음", host_pids.len()),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: kill(checker, 0) inside fails with ESRCH (the PID does not exist there).
/// Fail: any other answer; or the control run (no --ns pid) answering ESRCH. In the
/// control EPERM counts as reachable (the PID exists, a stricter runtime just may
/// not signal it), so strictness loses nothing.
pub(super) fn host_pid_unreachable(ctx: &Ctx) -> CheckResult {
    let witness = ctx.host_witness()?;
    let me = witness.pid().to_string();
    let (run, k): (_, Kill) = ctx.probe_json(&["--ns", "pid"], &["kill", &me, "--signal", "0"])?;
    ensure(
        k.attempt.refused_with("ESRCH"),
        crate::t!(
            "kill({me}, 0) of a host process (pid {me}, started by the check) to fail with ESRCH",
            "호스트 프로세스(검사가 시작한 PID {me})로 kill({me}, 0)을 하면 ESRCH로 실패"
        ),
        crate::t!(
            "ok {}, error {}",
            "성공 {}, 오류 {}",
            crate::text::yes_no(k.attempt.ok),
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
                "kill({me}, 0) to find the host process (ok, or EPERM)",
                "kill({me}, 0)이 호스트 프로세스를 찾음(성공 또는 EPERM)"
            ),
            js(&c),
            &crun,
        ));
    }
    Ok(())
}

/// The two ways the PID checks run a command: in the caller's PID namespace, and
/// in one of its own (where an init stands between the runtime and the command).
/// The two ways the signal checks run: options, and the label in English and Korean.
const PID_CONFIGS: [(&[&str], &str, &str); 2] = [
    (&[], "without --ns pid", "--ns pid 없이"),
    (&["--ns", "pid"], "with --ns pid", "--ns pid로"),
];

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
    .map_err(|o| o.because(Cause::NoPidNamespace))
}

/// Pass: for SIGKILL, SIGTERM, SIGINT, SIGHUP and SIGUSR1, a command that dies by the
/// signal makes `run` exit 128+N, with and without `--ns pid` (contract 2.7).
/// Control: a command that exits 3 makes `run` exit 3 (a runtime that reports every
/// end as one status fails it). Fail: another status; and a command that outlived its
/// own signal is named: it ran as PID 1, which the kernel shields from its own
/// signals, instead of as the child of an init.
pub(super) fn exit_status_follows_signal(ctx: &Ctx) -> CheckResult {
    use labkit::probe::Survived;
    pid_namespace_made(ctx)?;
    for (opts, label, label_ko) in PID_CONFIGS {
        for (sig, name) in [(9, "KILL"), (15, "TERM"), (2, "INT"), (1, "HUP"), (10, "USR1")] {
            let run = ctx.run(opts, &[ctx.probe(), "raise", name])?;
            let survived = run.lines_as::<Survived>().pop().is_some();
            ensure(
                run.code() == Some(128 + sig),
                crate::t!(
                    "exit status {} ({label}): the command died by SIG{name}",
                    "종료 상태 {}({label_ko}): 명령이 SIG{name}(으)로 죽음",
                    128 + sig
                ),
                if survived {
                    crate::t!(
                        "{}; the command outlived its own SIG{name}: it ran as PID 1 of the namespace",
                        "{}; 명령이 자기 SIG{name}을(를) 견뎠습니다: 네임스페이스의 PID 1로 돌았다는 뜻",
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
pub(super) fn signals_reach_command(ctx: &Ctx) -> CheckResult {
    use labkit::probe::{Sleeping, StopSignal};
    pid_namespace_made(ctx)?;
    for (opts, label, label_ko) in PID_CONFIGS {
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
                    "런타임에 보낸 {signal}({label_ko})이(가) 명령에 닿고 종료 상태 {}",
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
pub(super) fn orphans_killed_at_exit(ctx: &Ctx) -> CheckResult {
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
            "namespace {} holding {} host PIDs: {}",
            "네임스페이스 {}, 호스트 PID {}개: {}",
            crate::text::opt(ns.as_deref()),
            members.len(),
            crate::text::list(&members[..members.len().min(12)])
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
            "the sleeper of the same shell run directly did not outlive it (orphan {})",
            "직접 실행한 같은 셸의 sleeper가 셸보다 오래 살지 않았습니다(고아 {})",
            crate::text::opt(orphan)
        )));
    }
    Ok(())
}

/// Pass: the orphan, in a PID namespace of its own, is gone (reaped) within 2 s.
/// Fail: it lived in the host's PID namespace, or it stays a zombie or is
/// adopted elsewhere. The control is the checker's own (the probe as a PID 1 that
/// does not reap, under unshare): without a zombie there it is broken.
pub(super) fn orphans_reaped(ctx: &Ctx) -> CheckResult {
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
    )
    .map_err(|o| o.because(Cause::NoPidNamespace))?;
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
        .map_err(|e| broken(crate::t!("running unshare: {e}", "unshare 실행 실패: {e}")))?;
    let last: Option<OrphanState> = host::last_line_as(&out.stdout);
    if last.as_ref().map(|o| o.state != "zombie").unwrap_or(true) {
        return Err(host_control_failed(crate::t!(
            "an orphan under a non-reaping PID 1 (unshare) was not seen as a zombie: {}",
            "거두지 않는 PID 1(unshare) 아래의 고아가 좀비로 보이지 않았습니다: {}",
            crate::ctx::js(&last)
        )));
    }
    Ok(())
}

/// Pass: NSpid of the container's first process is "HOSTPID 1". Fail: otherwise, or
/// the control run (no --ns pid) with more than one NSpid level.
pub(super) fn host_sees_other_pids(ctx: &Ctx) -> CheckResult {
    let (sp, pid) = sleeper(ctx, &["--ns", "pid"], "nspid")?;
    let nspid = host::status_field(pid, "NSpid").unwrap_or_default();
    let run = sp.stop();
    ensure(
        nspid.len() >= 2 && nspid[0] == pid.to_string() && nspid.last().map(String::as_str) == Some("1"),
        crate::t!(
            "host pid {pid} to be PID 1 of a nested namespace (NSpid: {pid} 1)",
            "호스트 PID {pid}이(가) 중첩된 네임스페이스의 PID 1(NSpid: {pid} 1)"
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
