//! cpu: a quota the kernel enforces by throttling.

#[allow(unused_imports)]
use super::*;

/// Pass: under a 20% quota the busy probe got at most 0.30 of a CPU and the kernel
/// throttled its cgroup (cpu.stat nr_throttled above 0): the kernel's own evidence,
/// whatever else the host runs.
/// Fail: more than 0.30 of a CPU (a busy host only ever lowers it); or a cgroup
/// never throttled while the control beside it got at least 0.40 of a CPU (there
/// was CPU to take); or the control run (no --cpus) throttled: a quota nobody asked
/// for.
/// Broken, "host too busy": never throttled, and the control also got less than
/// 0.40 of a CPU: the probe never asked for more than its quota, nothing decides.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
pub(super) fn cpu_quota(ctx: &Ctx) -> CheckResult {
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
    let sp = ctx.spawn(
        &["--cgroup", &name, "--cpus", "20000/100000"],
        &[ctx.probe(), "cpu", "--secs", "2"],
    )?;
    let control = ctx.spawn(&["--cgroup", &name2], &[ctx.probe(), "cpu", "--secs", "2"])?;
    // The counters are read a second into the spin, whenever it started: a runtime
    // that takes a second to start (runc under an emulated CPU) must not be read
    // before its probe ever ran.
    let _ = sp.next_as::<Spinning>(Duration::from_secs(20));
    let _ = control.next_as::<Spinning>(Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1000));
    let throttled = parent.read(&name, "cpu.stat:nr_throttled");
    let throttled_usec = parent.read(&name, "cpu.stat:throttled_usec");
    let control_throttled = parent.read(&name2, "cpu.stat:nr_throttled");
    let run = sp.wait(Duration::from_secs(30));
    let crun = control.wait(Duration::from_secs(30));
    let r = run.lines_as::<CpuSpin>().pop();
    let ratio = |r: &Option<CpuSpin>| r.map_or(f64::NAN, |r| r.cpu_usec as f64 / r.wall_usec as f64);
    ensure(
        run.code() == Some(0),
        crate::t!(
            "the probe to spin 2 s and exit 0",
            "probe가 2초 동안 CPU를 쓰고 종료 상태 0"
        ),
        run.ending(),
        &run,
    )?;
    let limited = ratio(&r);
    ctx.note(format!(
        "20% quota: {limited:.3} of a CPU, nr_throttled {throttled:?}, throttled_usec {throttled_usec:?}"
    ));
    ensure(
        limited <= LIMITED_MAX,
        crate::t!(
            "CPU time / wall time at most {LIMITED_MAX} under a 20% quota",
            "20% 할당량 아래에서 CPU 시간 / 경과 시간이 {LIMITED_MAX} 이하"
        ),
        crate::t!(
            "{limited:.3} (cpu {} us over {} us)",
            "{limited:.3}({}us 동안 cpu {}us)",
            js(&r.map(|r| r.cpu_usec)),
            js(&r.map(|r| r.wall_usec))
        ),
        &run,
    )?;
    if crun.code() != Some(0) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the probe to spin 2 s and exit 0",
                "probe가 2초 동안 CPU를 쓰고 종료 상태 0"
            ),
            crun.ending(),
            &crun,
        ));
    }
    let free = ratio(&crun.lines_as::<CpuSpin>().pop());
    ctx.note(format!(
        "no quota: {free:.3} of a CPU, nr_throttled {control_throttled:?}"
    ));
    if control_throttled.unwrap_or(0) > 0 {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "a cgroup without a quota never throttled (nr_throttled 0)",
                "할당량이 없는 cgroup은 한 번도 스로틀되지 않음(nr_throttled 0)"
            ),
            crate::t!(
                "nr_throttled {control_throttled:?}, {free:.3} of a CPU",
                "nr_throttled {control_throttled:?}, CPU {free:.3}개분"
            ),
            &crun,
        ));
    }
    if throttled.unwrap_or(0) > 0 {
        if free < FREE_MIN {
            ctx.note(format!(
                "the host was busy (the control got {free:.3} of a CPU): the kernel's throttling counter decided"
            ));
        }
        return Ok(());
    }
    if free >= FREE_MIN && free >= 1.5 * limited {
        return Err(fail(
            crate::t!(
                "nr_throttled above 0 in the cgroup's cpu.stat: the kernel enforcing the quota",
                "cgroup의 cpu.stat에서 nr_throttled가 0보다 큼: 커널이 할당량을 지키게 함"
            ),
            crate::t!(
                "{throttled:?}, while the control beside it got {free:.3} of a CPU",
                "{throttled:?}, 옆의 대조군은 CPU {free:.3}개분을 받음"
            ),
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

/// What one pair of pinned spinners got: CPU time of each cgroup over one window.
struct Contest {
    /// Usage (µs) of the first and second container's cgroup over the window.
    usage: (u64, u64),
    window_usec: u64,
    first: crate::runtime::Run,
}

impl Contest {
    fn ratio(&self) -> f64 {
        self.usage.0 as f64 / self.usage.1.max(1) as f64
    }
}

/// The first CPU the checker may run on: both spinners are pinned there.
fn first_allowed_cpu() -> u32 {
    nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .ok()
        .and_then(|set| (0..nix::sched::CpuSet::count()).find(|&c| set.is_set(c).unwrap_or(false)))
        .unwrap_or(0) as u32
}

/// Two containers with weights `w` in sibling cgroups, each a busy probe pinned to
/// CPU `cpu`; both wait, pinned, for one go file (so that neither starts while the
/// other is still being set up: the checker's CPU cap would starve its runtime), then
/// spin together while their cgroups' usage is read on the host over a window.
/// `without` names the run as a control (a failure there is a control failure).
// Long: start, window and verdicts on the runs read as one sequence.
fn contest(ctx: &Ctx, w: (u64, u64), cpu: u32, without: Option<&str>) -> Result<Contest, Outcome> {
    // Each probe spins SPIN s from the go file; the window starts SETTLE after it.
    const SPIN: Duration = Duration::from_secs(3);
    const SETTLE: Duration = Duration::from_millis(300);
    const WINDOW: Duration = Duration::from_secs(2);
    let parent = parent_with(ctx, "cpuacct")?;
    let names = (ctx.unique("cpuw-a-", 30), ctx.unique("cpuw-b-", 30));
    let go = ctx.scratch().join(format!("{}.go", names.0));
    let (wa, wb, pin, go_s) = (
        w.0.to_string(),
        w.1.to_string(),
        cpu.to_string(),
        go.to_string_lossy().into_owned(),
    );
    let secs = SPIN.as_secs().to_string();
    let probe_args = [ctx.probe(), "cpu", "--secs", &secs, "--pin", &pin, "--go-file", &go_s];
    let as_control = |o: Outcome| match without {
        Some(wo) => crate::outcome::as_control::<()>(wo, Err(o)).unwrap_err(),
        None => o,
    };
    let a = ctx.spawn(&["--cgroup", &names.0, "--cpu-weight", &wa], &probe_args)?;
    let b = ctx.spawn(&["--cgroup", &names.1, "--cpu-weight", &wb], &probe_args)?;
    let ready_a = a.next_as::<Spinning>(Duration::from_secs(30)).is_some();
    let ready_b = b.next_as::<Spinning>(Duration::from_secs(30)).is_some();
    if !(ready_a && ready_b) {
        let (ra, rb) = (a.stop(), b.stop());
        let bad = if ready_a { rb } else { ra };
        return Err(as_control(fail(
            crate::t!(
                "each probe to print its `spinning` line, pinned to CPU {cpu}",
                "각 probe가 CPU {cpu}에 고정된 뒤 `spinning` 줄을 출력"
            ),
            format!("{}; {}", bad.ending(), bad.stdout_text().trim()),
            &bad,
        )));
    }
    std::fs::write(&go, b"go").map_err(|e| {
        crate::outcome::broken(crate::t!(
            "writing {}: {e}",
            "{}을(를) 쓰지 못했습니다: {e}",
            go.display()
        ))
    })?;
    let t_go = Instant::now();
    std::thread::sleep(SETTLE);
    let read = |n: &str| parent.read(n, "cpu.stat:usage_usec");
    let before = (read(&names.0), read(&names.1));
    let t0 = Instant::now();
    std::thread::sleep(WINDOW);
    let after = (read(&names.0), read(&names.1));
    let window_usec = t0.elapsed().as_micros() as u64;
    let late = t_go.elapsed() + Duration::from_millis(300) > SPIN;
    let (ra, rb) = (a.wait(Duration::from_secs(30)), b.wait(Duration::from_secs(30)));
    for r in [&ra, &rb] {
        if r.code() != Some(0) {
            return Err(as_control(fail(
                crate::t!(
                    "the pinned probe to spin {} s and exit 0",
                    "고정된 probe가 {}초 동안 CPU를 쓰고 종료 상태 0",
                    SPIN.as_secs()
                ),
                r.ending(),
                r,
            )));
        }
    }
    if late {
        return Err(host_too_busy(crate::t!(
            "the checker read the window's end {:.1} s after the start: the probes may have stopped spinning",
            "검사기가 시작 {:.1}초 뒤에야 구간의 끝을 읽었습니다. probe가 이미 멈췄을 수 있습니다",
            t_go.elapsed().as_secs_f64()
        )));
    }
    let (Some(a0), Some(b0), Some(a1), Some(b1)) = (before.0, before.1, after.0, after.1) else {
        return Err(as_control(fail(
            crate::t!(
                "cpu usage readable in both containers' cgroups {} and {} (the runtime makes them)",
                "두 컨테이너의 cgroup {}와 {}에서 CPU 사용량을 읽을 수 있음(런타임이 만든 cgroup)",
                names.0,
                names.1
            ),
            crate::t!("before {before:?}, after {after:?}", "앞 {before:?}, 뒤 {after:?}"),
            &ra,
        )));
    };
    let usage = (a1.saturating_sub(a0), b1.saturating_sub(b0));
    // The probe's own getrusage says it spun; a cgroup that counted (almost) none of
    // it does not hold the probe (a runtime that left it in the parent).
    for (r, u, n) in [(&ra, usage.0, &names.0), (&rb, usage.1, &names.1)] {
        let spun = r.lines_as::<CpuSpin>().pop().map_or(0, |c| c.cpu_usec);
        if spun >= 500_000 && u * 100 < window_usec {
            return Err(as_control(fail(
                crate::t!(
                    "cgroup {n} to count the CPU time of the probe running in it",
                    "cgroup {n}이(가) 그 안에서 도는 probe의 CPU 시간을 셈"
                ),
                crate::t!(
                    "{u} us in a {window_usec} us window, while the probe spun {spun} us",
                    "{window_usec} us 구간에 {u} us, probe는 {spun} us 동안 돎"
                ),
                r,
            )));
        }
    }
    Ok(Contest {
        usage,
        window_usec,
        first: ra,
    })
}

/// Pass: two sibling containers, `--cpu-weight 500` and `--cpu-weight 300`, each a
/// busy probe pinned to the same CPU, used CPU time (their cgroups' usage, read on
/// the host over a 2 s window in which both spun) in a ratio within
/// [`WEIGHTED`] (5:3 is 1.67); and the control pair, both `--cpu-weight 300`, within
/// [`EQUAL`] of 1:1.
/// Fail: the weighted pair outside its band (a runtime that writes no weight shares
/// 1:1); or the control outside its band (a weight nobody asked for; the control is
/// a run through the runtime, so it is the runtime's).
/// Broken, "host too busy": the pair together got less than half of the window
/// (the CPU was not theirs to share), or they did not overlap.
pub(super) fn cpu_weight_shares(ctx: &Ctx) -> CheckResult {
    parent_with(ctx, "cpu")?;
    let cpu = first_allowed_cpu();
    let weighted = contest(ctx, (500, 300), cpu, None)?;
    let equal = contest(ctx, (300, 300), cpu, Some("with equal weights"))?;
    for (c, what) in [(&weighted, "500:300"), (&equal, "300:300")] {
        ctx.note(format!(
            "{what} on CPU {cpu}: {:.3} ({} us : {} us over a {} us window)",
            c.ratio(),
            c.usage.0,
            c.usage.1,
            c.window_usec
        ));
        if ((c.usage.0 + c.usage.1) as f64) < 0.5 * c.window_usec as f64 {
            return Err(host_too_busy(crate::t!(
                "the two pinned containers ({what}) together got {} us of CPU {cpu} in a {} us window",
                "고정된 두 컨테이너({what})가 {} us 구간에서 CPU {cpu}를 합쳐 {} us만 받았습니다",
                c.usage.0 + c.usage.1,
                c.window_usec
            )));
        }
    }
    let r = equal.ratio();
    if !(EQUAL.0..=EQUAL.1).contains(&r) {
        return Err(control_fail(
            "with equal weights",
            crate::t!(
                "two containers with --cpu-weight 300 each to share the CPU about 1:1 ({} to {})",
                "--cpu-weight 300인 두 컨테이너가 CPU를 약 1:1로 나눔({} ~ {})",
                EQUAL.0,
                EQUAL.1
            ),
            format!("{r:.3} ({} us : {} us)", equal.usage.0, equal.usage.1),
            &equal.first,
        ));
    }
    let r = weighted.ratio();
    ensure(
        (WEIGHTED.0..=WEIGHTED.1).contains(&r),
        crate::t!(
            "--cpu-weight 500 and 300 to share one CPU about 5:3 (a ratio from {} to {})",
            "--cpu-weight 500과 300이 CPU 하나를 약 5:3으로 나눔(비율 {} ~ {})",
            WEIGHTED.0,
            WEIGHTED.1
        ),
        crate::t!(
            "{r:.3} ({} us : {} us of cgroup CPU usage over {} us)",
            "{r:.3}({} us 동안 cgroup CPU 사용량 {} us : {} us)",
            weighted.usage.0,
            weighted.usage.1,
            weighted.window_usec
        ),
        &weighted.first,
    )
}

/// Tolerances of the weight check, as ratios of CPU time. 5:3 is 1.667 and the band
/// about ±15% of it; 1:1 within +25%/-20%, so that neither band reaches the other.
/// 20 runs here (cgroup v1, 2 CPUs): 1.658–1.674 and 0.999–1.001.
const WEIGHTED: (f64, f64) = (1.42, 1.92);
const EQUAL: (f64, f64) = (0.80, 1.25);
