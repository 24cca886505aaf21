//! cgroups: the limits a runtime sets are enforced by the kernel, observed by
//! workloads inside (the probe) and by the cgroup files on the host, read through
//! the checker's own v2-named view (aliased to v1). Reading back what the runtime
//! wrote is never enough. Every check has a control without the limit.
//!
//! Verdict rules (each check's comment adds its own): a control is a run through the
//! runtime without the limit, so it is the runtime's: a control that shows a limit
//! nobody asked for fails the check, naming the control run. Timing verdicts rest on
//! the kernel's own counters (throttling, frozen state, timestamps the probe took)
//! rather than on how much CPU a busy host happened to give; when the host is too
//! busy to decide, the check is `broken` ("host too busy: ..."), never failed.

use std::time::{Duration, Instant};

use labkit::cgroups::Stats;
use labkit::probe::{Affinity, Count, CpuSpin, Forks, MemStep, Open};

use crate::catalog::{Check, Requirement as R};
use crate::cgview::{ScratchParent, Version};
use crate::ctx::{js, Ctx};
use crate::outcome::{control_fail, ensure, fail, host_too_busy, skip, CheckResult, Outcome};

const MIB: u64 = 1 << 20;

macro_rules! check {
    ($id:literal, $title:literal, uses = [$($u:literal),*], requires = [$($r:expr),*], serial = $s:expr, $f:path) => {
        Check {
            id: $id,
            topic: "cgroups",
            title: $title,
            uses: &[$($u),*],
            requires: &[R::Root, $($r),*],
            serial: $s,
            run: $f,
        }
    };
}

pub fn checks() -> Vec<Check> {
    let mut v = vec![
        check!("cgroups.memory.oom-kill-at-limit", "allocating past --memory is OOM-killed (137) near the limit and oom_kill rises; below it completes",
            uses = ["--cgroup", "--memory"], requires = [R::Command("sh")], serial = None, oom_kill_at_limit),
        check!("cgroups.memory.usage-matches-allocation", "memory use reported by `stats` matches what the probe allocated",
            uses = ["--cgroup", "--memory", "stats"], requires = [], serial = None, usage_matches),
        check!("cgroups.cpu.quota-throttles", "with a 20% CPU quota a busy probe is throttled to about 20% of a CPU",
            uses = ["--cgroup", "--cpus"], requires = [], serial = Some(crate::runner::EXCLUSIVE_KEY), cpu_quota),
        check!("cgroups.pids.fork-limit", "forking past --pids fails with EAGAIN and pids.events max rises",
            uses = ["--cgroup", "--pids"], requires = [], serial = None, pids_limit),
        check!("cgroups.freezer.pause-stops-processes", "`pause` freezes a counting probe and `resume` lets it go on",
            uses = ["--cgroup", "pause", "resume"], requires = [], serial = None, freezer),
        check!("cgroups.devices.deny-blocks-open", "with --deny-device c:1:3 opening /dev/null fails with EPERM, other devices open",
            uses = ["--cgroup", "--deny-device"], requires = [], serial = None, devices_deny),
        check!("cgroups.cpuset.pins-to-cpus", "with --cpuset 0 the probe may run on CPU 0 only",
            uses = ["--cgroup", "--cpuset"], requires = [], serial = None, cpuset_pins),
        check!("cgroups.monitoring.stats-match-files", "`stats` of a running container matches the cgroup files",
            uses = ["--cgroup", "stats"], requires = [], serial = None, stats_match),
    ];
    v.extend(crate::topics::cgroups_io::checks());
    v
}

/// The checker's parent, and skip unless the host offers `controller` (v1 name;
/// for v2 the matching v2 controller or core feature).
fn parent_with<'a>(ctx: &'a Ctx, controller: &str) -> Result<&'a ScratchParent, Outcome> {
    let p = ctx.cgroup_parent()?;
    let v2_name = match controller {
        "cpuacct" => "cpu",
        "blkio" => "io",
        other => other,
    };
    let has = match p.tree.version {
        Version::V1 => p.tree.has(controller),
        Version::V2 => p.tree.has(v2_name),
    };
    if !has {
        let v = if p.tree.version == Version::V1 { "v1" } else { "v2" };
        return Err(skip(crate::t!("cgroup {v} {v2_name} controller not available to the checker's cgroup", "검사기의 cgroup에서 cgroup {v} {v2_name} 컨트롤러를 쓸 수 없습니다")));
    }
    Ok(p)
}

fn allocated(run: &crate::runtime::Run) -> u64 {
    run.lines_as::<MemStep>().iter().map(|l| l.allocated_bytes).max().unwrap_or(0)
}

/// The line the OOM check's shell prints after the probe ends.
#[derive(Debug, serde::Deserialize)]
struct ChildExit {
    child_exit: i32,
}

// ---------------------------------------------------------------- memory

/// Pass: allocating past a 32 MiB limit is killed with 137 between 16 and 36 MiB,
/// the cgroup's oom_kill counter rises, and 256 MiB under a 512 MiB limit complete.
/// Fail: otherwise; or the control run (no --memory) not completing 256 MiB.
fn oom_kill_at_limit(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "memory")?;
    const LIMIT: u64 = 32 * MIB;
    const STEP: u64 = 4 * MIB;
    let name = ctx.unique("oom-", 30);
    let run = ctx.run(&["--cgroup", &name, "--memory", "32M"], &[ctx.probe(), "mem", "--total", "256M", "--step", "4M"])?;
    let reached = allocated(&run);
    ctx.note(format!("32 MiB limit: last progress at {} MiB, {}", reached / MIB, run.ending()));
    ensure(run.code() == Some(137), crate::t!("the probe OOM-killed: exit status 137", "probe가 OOM으로 죽음: 종료 상태 137"), crate::t!("{}; allocated {} MiB", "{}; {} MiB 할당함", run.ending(), reached / MIB), &run)?;
    // Tolerance: the kill comes within the step that crosses the limit; the probe's
    // own pages (binary, stack, page tables) count too, so it may come earlier, but
    // not before half the limit.
    ensure(
        reached >= LIMIT / 2 && reached <= LIMIT + STEP,
        crate::t!("the kill between {} and {} MiB of allocation", "할당량이 {}에서 {} MiB 사이일 때 죽음", LIMIT / 2 / MIB, (LIMIT + STEP) / MIB),
        crate::t!("the last progress at {} MiB", "마지막 진행 {} MiB", reached / MIB),
        &run,
    )?;
    // The kernel's own count: the container stays up (a shell waits) after the
    // probe is killed, so its cgroup can be read.
    let name2 = ctx.unique("oomc-", 30);
    let script = r#""$0" mem --total 256M --step 4M; echo "{\"child_exit\": $?}"; exec "$0" sleep 20"#;
    let sp = ctx.spawn(&["--cgroup", &name2, "--memory", "32M"], &["/bin/sh", "-c", script, ctx.probe()])?;
    let child = sp.next_as::<ChildExit>(Duration::from_secs(20));
    let kills = parent.read(&name2, "memory.events:oom_kill");
    let run2 = sp.stop();
    ensure(
        child.as_ref().is_some_and(|c| c.child_exit == 137),
        crate::t!("the allocating probe killed by SIGKILL (137) inside a container that lives on", "할당하던 probe가 SIGKILL(137)로 죽고 컨테이너는 계속 살아 있음"),
        format!("{child:?}"),
        &run2,
    )?;
    ensure(
        kills.unwrap_or(0) >= 1,
        crate::t!("the cgroup's OOM-kill counter (memory.events oom_kill / v1 memory.oom_control oom_kill) at 1 or more", "cgroup의 OOM kill 횟수(memory.events oom_kill / v1 memory.oom_control oom_kill)가 1 이상"),
        format!("{kills:?}"),
        &run2,
    )?;
    // The same allocation below a limit completes (a limit in the wrong unit would not).
    let name4 = ctx.unique("oomb-", 30);
    let brun = ctx.run(&["--cgroup", &name4, "--memory", "512M"], &[ctx.probe(), "mem", "--total", "256M", "--step", "8M"])?;
    ensure(
        brun.code() == Some(0) && allocated(&brun) == 256 * MIB,
        crate::t!("256 MiB allocated under a 512 MiB limit, exit 0", "512 MiB 제한 아래에서 256 MiB를 할당하고 종료 상태 0"),
        crate::t!("{}; allocated {} MiB", "{}; {} MiB 할당함", brun.ending(), allocated(&brun) / MIB),
        &brun,
    )?;
    // Control: the same allocation without a memory limit completes.
    let name3 = ctx.unique("oomx-", 30);
    let crun = ctx.run(&["--cgroup", &name3], &[ctx.probe(), "mem", "--total", "256M", "--step", "4M"])?;
    if crun.code() != Some(0) || allocated(&crun) != 256 * MIB {
        return Err(control_fail(
            "without --memory",
            crate::t!("256 MiB allocated, exit 0: no memory limit without --memory", "256 MiB를 할당하고 종료 상태 0: --memory가 없으면 메모리 제한도 없음"),
            crate::t!("{}; allocated {} MiB", "{}; {} MiB 할당함", crun.ending(), allocated(&crun) / MIB),
            &crun,
        ));
    }
    Ok(())
}

/// Starts `probe mem --total 64M --hold 20` in cgroup `name` and waits until done.
fn holding_memory(ctx: &Ctx, name: &str) -> Result<crate::runtime::Spawned, Outcome> {
    let sp = ctx.spawn(&["--cgroup", name, "--memory", "512M"], &[ctx.probe(), "mem", "--total", "64M", "--step", "8M", "--hold", "20"])?;
    if !wait_done(&sp) {
        let run = sp.stop();
        return Err(fail(crate::t!("the probe to allocate 64 MiB and hold it", "probe가 64 MiB를 할당해서 쥐고 있음"), format!("{}; {}", run.ending(), run.stdout_text().trim()), &run));
    }
    Ok(sp)
}

/// Waits (20 s at most) for the `mem` line that says the allocation is done.
fn wait_done(sp: &crate::runtime::Spawned) -> bool {
    let end = Instant::now() + Duration::from_secs(20);
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match sp.next_as::<MemStep>(left) {
            Some(MemStep { done: Some(true), .. }) => return true,
            Some(_) => {}
            None => return false,
        }
    }
    false
}

/// The runtime's `stats NAME`: one JSON object of the contract's figures.
fn stats_json(ctx: &Ctx, name: &str) -> Result<(crate::runtime::Run, Stats), Outcome> {
    let run = ctx.contract("stats", name);
    let last = run.json_lines().pop();
    match (run.code(), last.clone().map(serde_json::from_value::<Stats>)) {
        (Some(0), Some(Ok(s))) => Ok((run, s)),
        (_, _) => Err(fail(crate::t!("`stats {name}` to print one JSON object and exit 0", "`stats {name}`이(가) JSON 객체 하나를 출력하고 종료 상태 0"), format!("{}; {last:?}", run.ending()), &run)),
    }
}

/// Pass: `stats` reports 64 to 80 MiB while the probe holds 64 MiB. Fail:
/// otherwise. The probe's own allocation is the reference.
fn usage_matches(ctx: &Ctx) -> CheckResult {
    parent_with(ctx, "memory")?;
    let name = ctx.unique("use-", 30);
    let sp = holding_memory(ctx, &name)?;
    let stats = stats_json(ctx, &name);
    let run = sp.stop();
    let (srun, st) = stats?;
    let used = st.memory_current_bytes;
    // Tolerance: the probe's own pages, its page tables and the init add a few MiB
    // to the 64 MiB it touched; 16 MiB covers them with room.
    ensure(
        used.map_or(false, |u| (64 * MIB..=80 * MIB).contains(&u)),
        crate::t!("memory_current_bytes between 64 and 80 MiB while the probe holds 64 MiB", "probe가 64 MiB를 쥐고 있는 동안 memory_current_bytes가 64에서 80 MiB 사이"),
        format!("{used:?}"),
        &srun,
    )?;
    let _ = run;
    Ok(())
}

// ---------------------------------------------------------------- cpu

/// Pass: under a 20% quota the busy probe got at most 0.30 of a CPU and the kernel
/// throttled its cgroup (cpu.stat nr_throttled above 0): the kernel's own evidence,
/// whatever else the host runs.
/// Fail: more than 0.30 of a CPU (a busy host only ever lowers it); or a cgroup
/// never throttled while the control beside it got at least 0.40 of a CPU (there
/// was CPU to take); or the control run (no --cpus) throttled: a quota nobody asked
/// for.
/// Broken, "host too busy": never throttled, and the control also got less than
/// 0.40 of a CPU: the probe never asked for more than its quota, nothing decides.
fn cpu_quota(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "cpu")?;
    // Tolerances: a 20% quota must keep the probe at or under 30% of a CPU (its
    // first period and the scheduler's slack); without it the probe shows it can
    // take more by getting at least 40%. The control spins at the same time as the
    // limited probe: together they ask for 1.2 CPUs, inside the checker's CPU guard.
    const LIMITED_MAX: f64 = 0.30;
    const FREE_MIN: f64 = 0.40;
    const WITHOUT: &str = "without --cpus";
    let name = ctx.unique("cpu-", 30);
    let name2 = ctx.unique("cpux-", 30);
    let sp = ctx.spawn(&["--cgroup", &name, "--cpus", "20000/100000"], &[ctx.probe(), "cpu", "--secs", "2"])?;
    let control = ctx.spawn(&["--cgroup", &name2], &[ctx.probe(), "cpu", "--secs", "2"])?;
    std::thread::sleep(Duration::from_millis(1500));
    let throttled = parent.read(&name, "cpu.stat:nr_throttled");
    let throttled_usec = parent.read(&name, "cpu.stat:throttled_usec");
    let control_throttled = parent.read(&name2, "cpu.stat:nr_throttled");
    let run = sp.wait(Duration::from_secs(30));
    let crun = control.wait(Duration::from_secs(30));
    let r = run.lines_as::<CpuSpin>().pop();
    let ratio = |r: &Option<CpuSpin>| r.map_or(f64::NAN, |r| r.cpu_usec as f64 / r.wall_usec as f64);
    ensure(run.code() == Some(0), crate::t!("the probe to spin 2 s and exit 0", "probe가 2초 동안 CPU를 쓰고 종료 상태 0"), run.ending(), &run)?;
    let limited = ratio(&r);
    ctx.note(format!("20% quota: {limited:.3} of a CPU, nr_throttled {throttled:?}, throttled_usec {throttled_usec:?}"));
    ensure(
        limited <= LIMITED_MAX,
        crate::t!("CPU time / wall time at most {LIMITED_MAX} under a 20% quota", "20% 할당량 아래에서 CPU 시간 / 경과 시간이 {LIMITED_MAX} 이하"),
        crate::t!("{limited:.3} (cpu {} us over {} us)", "{limited:.3}({}us 동안 cpu {}us)", js(&r.map(|r| r.cpu_usec)), js(&r.map(|r| r.wall_usec))),
        &run,
    )?;
    if crun.code() != Some(0) {
        return Err(control_fail(WITHOUT, crate::t!("the probe to spin 2 s and exit 0", "probe가 2초 동안 CPU를 쓰고 종료 상태 0"), crun.ending(), &crun));
    }
    let free = ratio(&crun.lines_as::<CpuSpin>().pop());
    ctx.note(format!("no quota: {free:.3} of a CPU, nr_throttled {control_throttled:?}"));
    if control_throttled.unwrap_or(0) > 0 {
        return Err(control_fail(
            WITHOUT,
            crate::t!("a cgroup without a quota never throttled (nr_throttled 0)", "할당량이 없는 cgroup은 한 번도 스로틀되지 않음(nr_throttled 0)"),
            crate::t!("nr_throttled {control_throttled:?}, {free:.3} of a CPU", "nr_throttled {control_throttled:?}, CPU {free:.3}개분"),
            &crun,
        ));
    }
    if throttled.unwrap_or(0) > 0 {
        if free < FREE_MIN {
            ctx.note(format!("the host was busy (the control got {free:.3} of a CPU): the kernel's throttling counter decided"));
        }
        return Ok(());
    }
    if free >= FREE_MIN && free >= 1.5 * limited {
        return Err(fail(
            crate::t!("nr_throttled above 0 in the cgroup's cpu.stat: the kernel enforcing the quota", "cgroup의 cpu.stat에서 nr_throttled가 0보다 큼: 커널이 할당량을 지키게 함"),
            crate::t!("{throttled:?}, while the control beside it got {free:.3} of a CPU", "{throttled:?}, 옆의 대조군은 CPU {free:.3}개분을 받음"),
            &run,
        ));
    }
    Err(host_too_busy(crate::t!(
        "under the quota the probe got {limited:.3} of a CPU and was never throttled, and the control without a quota got {free:.3}: \
         the probe never asked for more than its quota",
        "할당량 아래의 probe는 CPU {limited:.3}개분을 받고 한 번도 스로틀되지 않았고, 할당량 없는 대조군은 {free:.3}개분을 받았습니다. \
         probe가 할당량보다 많이 요구한 적이 없습니다"
    )))
}

// ---------------------------------------------------------------- pids

/// Pass: fork is refused with EAGAIN before 10 tasks, pids.current is 10 and
/// pids.events max rises. Fail: otherwise; or the control run (a limit of 1000) not
/// forking 50.
fn pids_limit(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "pids")?;
    let name = ctx.unique("pids-", 30);
    let sp = ctx.spawn(&["--cgroup", &name, "--pids", "10"], &[ctx.probe(), "forks", "--max", "100", "--hold", "20"])?;
    let report = sp.next_as::<Forks>(Duration::from_secs(15));
    let events = parent.read(&name, "pids.events:max");
    let current = parent.read(&name, "pids.current");
    let run = sp.stop();
    let report = report.ok_or_else(|| fail(crate::t!("the probe to report its forks", "probe가 fork 결과를 보고"), format!("{}; {}", run.ending(), run.stdout_text().trim()), &run))?;
    let forked = report.forked;
    ensure(
        report.error.as_deref() == Some("EAGAIN") && forked < 10,
        crate::t!("fork refused with EAGAIN before 10 processes exist in the cgroup", "cgroup에 프로세스가 10개가 되기 전에 fork가 EAGAIN으로 거부됨"),
        crate::t!("forked {forked}, error {}", "fork {forked}번, 오류 {}", js(&report.error)),
        &run,
    )?;
    ensure(current == Some(10), crate::t!("pids.current at the limit, 10", "pids.current가 제한값 10"), format!("{current:?}"), &run)?;
    ensure(events.unwrap_or(0) >= 1, crate::t!("pids.events max at 1 or more", "pids.events의 max가 1 이상"), format!("{events:?}"), &run)?;
    let name2 = ctx.unique("pidsx-", 30);
    const WITHOUT: &str = "with --pids 1000";
    let (crun, c): (_, Forks) = ctx.control_probe_json(WITHOUT, &["--cgroup", &name2, "--pids", "1000"], &["forks", "--max", "50"])?;
    if c.forked != 50 {
        return Err(control_fail(WITHOUT, crate::t!("50 forks under a limit of 1000", "제한 1000 아래에서 fork 50번"), crate::t!("forked {}, error {}", "fork {}번, 오류 {}", c.forked, js(&c.error)), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- freezer

/// `(count, CLOCK_MONOTONIC ns when the probe printed it)` lines read from `sp`
/// until `enough` holds for what was read, or `limit` passes.
fn counts_until(sp: &crate::runtime::Spawned, limit: Duration, enough: impl Fn(&[(i64, u64)]) -> bool) -> Vec<(i64, u64)> {
    let end = Instant::now() + limit;
    let mut v = Vec::new();
    while !enough(&v) {
        let Some(left) = end.checked_duration_since(Instant::now()) else { break };
        match sp.next_line(left) {
            Some(l) => {
                if let Ok(c) = serde_json::from_str::<Count>(&l) {
                    v.push((c.count as i64, c.mono_ns));
                }
            }
            None => break,
        }
    }
    v
}

fn mono_ns() -> u64 {
    (crate::host::monotonic() * 1e9) as u64
}

/// Pass: after `pause` returns the kernel reports the cgroup frozen and the probe
/// prints no count stamped (with its own CLOCK_MONOTONIC) between the pause and the
/// resume; after `resume` it counts again. Fail: a count stamped while frozen, the
/// kernel not reporting it frozen, a verb not exiting 0, or no count within 10 s of
/// the resume. The control is the same probe before the pause (it must count).
/// The timestamps make the verdict independent of the host's load: a slow reader
/// or a starved probe changes when lines arrive, never when they were written.
fn freezer(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "freezer")?;
    let name = ctx.unique("frz-", 30);
    let sp = ctx.spawn(&["--ns", "pid", "--cgroup", &name], &[ctx.probe(), "count", "--interval-ms", "10"])?;
    // The container may take a while to start (a second or more in an emulated VM):
    // the windows below open once the probe counts.
    let first = counts_until(&sp, Duration::from_secs(20), |v| v.len() >= 3);
    if first.len() < 3 {
        let run = sp.stop();
        let got = match run.status {
            Some(_) if !run.timed_out => crate::t!("the runtime ended ({}) after {} counts", "런타임이 {}, 셈 {}번 뒤에 끝났습니다", run.ending(), first.len()),
            _ => crate::t!("{} counts within 20 s of the start", "시작하고 20초 안에 셈 {}번", first.len()),
        };
        return Err(fail(crate::t!("the probe to count every 10 ms", "probe가 10ms마다 셈"), got, &run));
    }
    let p = ctx.contract("pause", &name);
    let paused_at = mono_ns();
    if p.code() != Some(0) {
        let _ = sp.stop();
        return Err(fail(crate::t!("`pause {name}` to exit 0", "`pause {name}`이(가) 종료 상태 0"), p.ending(), &p));
    }
    let frozen = parent.frozen(&name);
    std::thread::sleep(Duration::from_millis(500));
    let resumed_at = mono_ns();
    let r = ctx.contract("resume", &name);
    // Everything printed so far, and then counts until three are stamped after the resume.
    let lines = counts_until(&sp, Duration::from_secs(10), |v| v.iter().filter(|(_, t)| *t > resumed_at).count() >= 3);
    let run = sp.stop();
    ensure(frozen == Some(true), crate::t!("the kernel to report the cgroup frozen (freezer.state FROZEN / cgroup.events frozen 1)", "커널이 cgroup을 얼었다고 보고(freezer.state FROZEN / cgroup.events frozen 1)"), format!("{frozen:?}"), &p)?;
    let during: Vec<i64> = lines.iter().filter(|(_, t)| *t > paused_at && *t < resumed_at).map(|(c, _)| *c).collect();
    ensure(
        during.is_empty(),
        crate::t!("no count stamped between `pause` returning and `resume`", "`pause`가 돌아온 뒤 `resume` 전까지 찍힌 셈이 없음"),
        crate::t!("{} counts: {:?}", "셈 {}번: {:?}", during.len(), &during[..during.len().min(5)]),
        &p,
    )?;
    ensure(r.code() == Some(0), crate::t!("`resume {name}` to exit 0", "`resume {name}`이(가) 종료 상태 0"), r.ending(), &r)?;
    let after = lines.iter().filter(|(_, t)| *t > resumed_at).count();
    ensure(after >= 3, crate::t!("counting to go on after resume", "resume 뒤에 세기가 이어짐"), crate::t!("{after} counts within 10 s of the resume", "resume 뒤 10초 안에 셈 {after}번"), &run)?;
    Ok(())
}

// ---------------------------------------------------------------- devices

/// Pass: /dev/null (c 1:3) fails to open with EPERM and /dev/zero still opens.
/// Fail: otherwise; or the control run (no --deny-device) not opening /dev/null.
fn devices_deny(ctx: &Ctx) -> CheckResult {
    parent_with(ctx, "devices")?;
    let name = ctx.unique("dev-", 30);
    let opts = ["--cgroup", name.as_str(), "--deny-device", "c:1:3"];
    let (run, null): (_, Open) = ctx.probe_json(&opts, &["open", "/dev/null", "--write"])?;
    ensure(
        null.attempt.refused_with("EPERM"),
        crate::t!("opening /dev/null (c 1:3) to fail with EPERM", "/dev/null(c 1:3) 열기가 EPERM으로 실패"),
        crate::t!("ok {}, error {}", "성공 {}, 오류 {}", null.attempt.ok, js(&null.attempt.error)),
        &run,
    )?;
    let name2 = ctx.unique("dev-", 30);
    let (run, zero): (_, Open) = ctx.probe_json(&["--cgroup", &name2, "--deny-device", "c:1:3"], &["open", "/dev/zero"])?;
    ensure(zero.attempt.ok, crate::t!("/dev/zero (c 1:5) still to open", "/dev/zero(c 1:5)는 여전히 열림"), js(&zero), &run)?;
    let name3 = ctx.unique("devx-", 30);
    const WITHOUT: &str = "without --deny-device";
    let (crun, c): (_, Open) = ctx.control_probe_json(WITHOUT, &["--cgroup", &name3], &["open", "/dev/null", "--write"])?;
    if !c.attempt.ok {
        return Err(control_fail(WITHOUT, crate::t!("/dev/null to open: every device allowed", "/dev/null이 열림: 모든 장치가 허용됨"), js(&c), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- cpuset

/// Pass: with --cpuset 0 the probe's affinity is CPU 0 only. Fail: otherwise; or the
/// control run (no --cpuset) pinned to fewer CPUs than the checker has. Skip: the
/// checker itself has one CPU (its own affinity), nothing to tell apart.
fn cpuset_pins(ctx: &Ctx) -> CheckResult {
    parent_with(ctx, "cpuset")?;
    let name = ctx.unique("cpus-", 30);
    let (run, a): (_, Affinity) = ctx.probe_json(&["--cgroup", &name, "--cpuset", "0"], &["affinity"])?;
    ensure(a.cpus == [0], crate::t!("affinity CPU 0 only", "affinity가 CPU 0뿐"), js(&a.cpus), &run)?;
    let name2 = ctx.unique("cpusx-", 30);
    let mine = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map(|set| (0..nix::sched::CpuSet::count()).filter(|i| set.is_set(*i).unwrap_or(false)).count())
        .unwrap_or(0);
    if mine < 2 {
        return Err(skip(crate::t!("the host gives the checker {mine} CPU: pinning cannot be told apart", "호스트가 검사기에 CPU {mine}개만 줍니다. 고정(pinning)을 구별할 수 없습니다")));
    }
    const WITHOUT: &str = "without --cpuset";
    let (crun, c): (_, Affinity) = ctx.control_probe_json(WITHOUT, &["--cgroup", &name2], &["affinity"])?;
    if c.cpus.len() < mine {
        return Err(control_fail(WITHOUT, crate::t!("the checker's {mine} CPUs", "검사기의 CPU {mine}개"), js(&c.cpus), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- monitoring

/// Pass: `stats` lies within the cgroup files read just before and after it, and
/// the cgroup holds the probe's 64 MiB. Fail: otherwise. The files are the control.
fn stats_match(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "memory")?;
    let name = ctx.unique("mon-", 30);
    let sp = holding_memory(ctx, &name)?;
    let before = (parent.read(&name, "memory.current"), parent.read(&name, "cpu.stat:usage_usec"), parent.read(&name, "pids.current"));
    let stats = stats_json(ctx, &name);
    let after = (parent.read(&name, "memory.current"), parent.read(&name, "cpu.stat:usage_usec"), parent.read(&name, "pids.current"));
    let run = sp.stop();
    let (srun, st) = stats?;

    let within = |v: Option<u64>, a: Option<u64>, b: Option<u64>, slack: u64| match (v, a, b) {
        (Some(v), Some(a), Some(b)) => v + slack >= a.min(b) && v <= a.max(b) + slack,
        (_, None, None) => true,
        _ => false,
    };
    // Tolerance: figures move between the reads; memory may differ by 1 MiB, cpu by 10 ms.
    let mem_ok = within(st.memory_current_bytes, before.0, after.0, MIB);
    let cpu_ok = within(st.cpu_usage_usec, before.1, after.1, 10_000);
    let pids_ok = within(st.pids_current, before.2, after.2, 0);
    ensure(
        mem_ok && cpu_ok && pids_ok,
        crate::t!(
            "stats within the cgroup files read around it: memory {:?}..{:?}, cpu usec {:?}..{:?}, pids {:?}..{:?}",
            "stats가 앞뒤로 읽은 cgroup 파일 값 사이: 메모리 {:?}..{:?}, cpu usec {:?}..{:?}, pids {:?}..{:?}",
            before.0, after.0, before.1, after.1, before.2, after.2
        ),
        crate::t!(
            "memory {:?}, cpu usec {:?}, pids {:?}",
            "메모리 {:?}, cpu usec {:?}, pids {:?}",
            st.memory_current_bytes,
            st.cpu_usage_usec,
            st.pids_current
        ),
        &srun,
    )?;
    // The figures must describe this container: its 64 MiB are in its cgroup.
    ensure(
        before.0.unwrap_or(0) >= 64 * MIB,
        crate::t!("cgroup {name}'s memory.current to hold the probe's 64 MiB", "cgroup {name}의 memory.current에 probe의 64 MiB가 들어 있음"),
        crate::t!("{:?} bytes: the container is not in its cgroup", "{:?}바이트: 컨테이너가 자기 cgroup에 없습니다", before.0),
        &run,
    )
}
