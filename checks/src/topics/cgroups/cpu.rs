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
    // 12 periods of 100 ms: the quota shows from the first, and one period of slack
    // is under a tenth of the spin.
    const SPIN: &str = "1.2";
    let name = ctx.unique("cpu-", 30);
    let name2 = ctx.unique("cpux-", 30);
    let sp = ctx.spawn(
        &["--cgroup", &name, "--cpus", "20000/100000"],
        &[ctx.probe(), "cpu", "--secs", SPIN],
    )?;
    let control = ctx.spawn(&["--cgroup", &name2], &[ctx.probe(), "cpu", "--secs", SPIN])?;
    // The counters are read half-way into the spin, whenever it started: a runtime
    // that takes a second to start (runc under an emulated CPU) must not be read
    // before its probe ever ran.
    let _ = sp.next_as::<Spinning>(Duration::from_secs(20));
    let _ = control.next_as::<Spinning>(Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(600));
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
            "the probe to spin {SPIN} s and exit 0",
            "probe가 {SPIN}초 동안 CPU를 쓰고 종료 상태 0"
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
                "the probe to spin {SPIN} s and exit 0",
                "probe가 {SPIN}초 동안 CPU를 쓰고 종료 상태 0"
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
                "nr_throttled {}, while the control beside it got {free:.3} of a CPU",
                "nr_throttled {}, 옆의 대조 실험은 CPU {free:.3}개분을 받음",
                crate::text::opt(throttled)
            ),
            &run,
        ));
    }
    Err(host_too_busy(crate::t!(
        "under the quota the probe got {limited:.3} of a CPU and was never throttled, and the control without a quota got {free:.3}: \
         the probe never asked for more than its quota",
        "할당량 아래의 probe는 CPU {limited:.3}개분을 받고 한 번도 스로틀되지 않았고, 할당량 없는 대조 실험은 {free:.3}개분을 받았습니다. \
         probe가 할당량보다 많이 요구한 적이 없습니다"
    )))
}

/// What pinned spinners got: the CPU time of each one's cgroup over one window.
struct Contest {
    /// Usage (µs) of each container's cgroup over the window, in the order started.
    usage: Vec<u64>,
    window_usec: u64,
    runs: Vec<crate::runtime::Run>,
}

impl Contest {
    /// Usage of container `a` over that of container `b`.
    fn ratio(&self, a: usize, b: usize) -> f64 {
        self.usage[a] as f64 / self.usage[b].max(1) as f64
    }
}

/// The first CPU the checker may run on: every spinner is pinned there.
fn first_allowed_cpu() -> u32 {
    nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .ok()
        .and_then(|set| (0..nix::sched::CpuSet::count()).find(|&c| set.is_set(c).unwrap_or(false)))
        .unwrap_or(0) as u32
}

/// Containers with `weights` in sibling cgroups, each a busy probe pinned to CPU
/// `cpu`; all wait, pinned, for one go file (so that none starts while another is
/// still being set up: the checker's CPU cap would starve its runtime), then spin
/// together while their cgroups' usage is read on the host over a window. The
/// kernel shares one CPU between sibling cgroups in proportion to their weights,
/// however many there are. `control` is the index of the control run (what it leaves
/// out): a failure of that run is a control failure.
// Long: start, window and verdicts on the runs read as one sequence.
fn contest(ctx: &Ctx, weights: &[u64], cpu: u32, control: (usize, &str)) -> Result<Contest, Outcome> {
    // Each probe spins SPIN from the go file; the window starts SETTLE after it and
    // must end 0.3 s before the spin does (or the host was too slow to tell).
    const SPIN: Duration = Duration::from_millis(1600);
    const SETTLE: Duration = Duration::from_millis(200);
    const WINDOW: Duration = Duration::from_millis(1000);
    let parent = parent_with(ctx, "cpuacct")?;
    let names: Vec<String> = weights.iter().map(|_| ctx.unique("cpuw-", 30)).collect();
    let go = ctx.scratch().join(format!("{}.go", names[0]));
    let (pin, go_s) = (cpu.to_string(), go.to_string_lossy().into_owned());
    let secs = format!("{:.1}", SPIN.as_secs_f64());
    let probe_args = [ctx.probe(), "cpu", "--secs", &secs, "--pin", &pin, "--go-file", &go_s];
    let as_control = |i: usize, o: Outcome| {
        if i == control.0 {
            crate::outcome::as_control::<()>(control.1, Err(o)).unwrap_err()
        } else {
            o
        }
    };
    let mut spawned = Vec::new();
    for (name, w) in names.iter().zip(weights) {
        spawned.push(ctx.spawn(&["--cgroup", name, "--cpu-weight", &w.to_string()], &probe_args)?);
    }
    if let Some(bad) = spawned
        .iter()
        .position(|sp| sp.next_as::<Spinning>(Duration::from_secs(30)).is_none())
    {
        let mut runs: Vec<_> = spawned.into_iter().map(|sp| sp.stop()).collect();
        let run = runs.swap_remove(bad);
        return Err(as_control(
            bad,
            fail(
                crate::t!(
                    "each probe to print its `spinning` line, pinned to CPU {cpu}",
                    "각 probe가 CPU {cpu}에 고정된 뒤 `spinning` 줄을 출력"
                ),
                crate::t!("{}; {}", "{}; {}", run.ending(), run.stdout_text().trim()),
                &run,
            ),
        ));
    }
    std::fs::write(&go, b"go")
        .map_err(|e| crate::outcome::broken(crate::t!("writing {}: {e}", "{} 쓰기 실패: {e}", go.display())))?;
    let t_go = Instant::now();
    std::thread::sleep(SETTLE);
    let read = |n: &String| parent.read(n, "cpu.stat:usage_usec");
    let before: Vec<Option<u64>> = names.iter().map(read).collect();
    let t0 = Instant::now();
    std::thread::sleep(WINDOW);
    let after: Vec<Option<u64>> = names.iter().map(read).collect();
    let window_usec = t0.elapsed().as_micros() as u64;
    let late = t_go.elapsed() + Duration::from_millis(300) > SPIN;
    let runs: Vec<_> = spawned.into_iter().map(|sp| sp.wait(Duration::from_secs(30))).collect();
    for (i, r) in runs.iter().enumerate() {
        if r.code() != Some(0) {
            return Err(as_control(
                i,
                fail(
                    crate::t!(
                        "the pinned probe to spin {secs} s and exit 0",
                        "고정된 probe가 {secs}초 동안 CPU를 쓰고 종료 상태 0"
                    ),
                    r.ending(),
                    r,
                ),
            ));
        }
    }
    if late {
        return Err(host_too_busy(crate::t!(
            "the checker read the window's end {:.1} s after the start: the probes may have stopped spinning",
            "검사기가 시작 {:.1}초 뒤에야 구간의 끝을 읽었습니다. probe가 이미 멈췄을 수 있습니다",
            t_go.elapsed().as_secs_f64()
        )));
    }
    let mut usage = Vec::new();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let (Some(b), Some(a)) = (b, a) else {
            return Err(as_control(
                i,
                fail(
                    crate::t!(
                        "cpu usage readable in the container's cgroup {} (the runtime makes it)",
                        "컨테이너의 cgroup {}에서 CPU 사용량을 읽을 수 있음(런타임이 만든 cgroup)",
                        names[i]
                    ),
                    crate::t!(
                        "before {}, after {}",
                        "앞 {}, 뒤 {}",
                        crate::ctx::js(&before),
                        crate::ctx::js(&after)
                    ),
                    &runs[i],
                ),
            ));
        };
        usage.push(a.saturating_sub(*b));
    }
    // The probe's own getrusage says it spun; a cgroup that counted (almost) none of
    // it does not hold the probe (a runtime that left it in the parent).
    for (i, (r, u)) in runs.iter().zip(&usage).enumerate() {
        let spun = r.lines_as::<CpuSpin>().pop().map_or(0, |c| c.cpu_usec);
        let n = &names[i];
        if spun >= 200_000 && u * 100 < window_usec {
            return Err(as_control(
                i,
                fail(
                    crate::t!(
                        "cgroup {n} to count the CPU time of the probe running in it",
                        "cgroup {n}의 CPU 시간이 그 안에서 도는 probe의 CPU 시간을 포함함"
                    ),
                    crate::t!(
                        "{u} us in a {window_usec} us window, while the probe spun {spun} us",
                        "{window_usec} us 구간에 {u} us, probe는 {spun} us 동안 돎"
                    ),
                    r,
                ),
            ));
        }
    }
    Ok(Contest {
        usage,
        window_usec,
        runs,
    })
}

/// Pass: three sibling containers, `--cpu-weight 500`, `300` and `300`, each a busy
/// probe pinned to the same CPU, used CPU time (their cgroups' usage, read on the
/// host over a 1 s window in which all spun) with the first over the second within
/// [`WEIGHTED`] (5:3 is 1.67), and the second over the third (the control: equal
/// weights) within [`EQUAL`] of 1:1.
/// Fail: the weighted pair outside its band (a runtime that writes no weight shares
/// 1:1); or the control outside its band (a weight nobody asked for; the control is
/// a run through the runtime, so it is the runtime's).
/// Broken, "host too busy": together they got less than a quarter of the window (the
/// CPU was not theirs to share), or they did not overlap.
pub(super) fn cpu_weight_shares(ctx: &Ctx) -> CheckResult {
    const WITHOUT: &str = "with equal weights";
    parent_with(ctx, "cpu")?;
    let cpu = first_allowed_cpu();
    let c = contest(ctx, &[500, 300, 300], cpu, (2, WITHOUT))?;
    let (u, window) = (&c.usage, c.window_usec);
    ctx.note(format!(
        "500:300:300 on CPU {cpu}: {:.3} and {:.3} ({} us : {} us : {} us over a {window} us window)",
        c.ratio(0, 1),
        c.ratio(1, 2),
        u[0],
        u[1],
        u[2]
    ));
    let total: u64 = u.iter().sum();
    if (total as f64) < 0.25 * window as f64 {
        return Err(host_too_busy(crate::t!(
            "the three pinned containers together got {total} us of CPU {cpu} in a {window} us window",
            "고정된 세 컨테이너가 {window} us 구간에서 CPU {cpu}을(를) 합쳐 {total} us만 받았습니다"
        )));
    }
    let r = c.ratio(1, 2);
    if !(EQUAL.0..=EQUAL.1).contains(&r) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "two containers with --cpu-weight 300 each to share the CPU about 1:1 ({} to {})",
                "--cpu-weight 300인 두 컨테이너가 CPU를 약 1:1로 나눔({} ~ {})",
                EQUAL.0,
                EQUAL.1
            ),
            format!("{r:.3} ({} us : {} us)", u[1], u[2]),
            &c.runs[2],
        ));
    }
    let r = c.ratio(0, 1);
    ensure(
        (WEIGHTED.0..=WEIGHTED.1).contains(&r),
        crate::t!(
            "--cpu-weight 500 and 300 to share one CPU about 5:3 (a ratio from {} to {})",
            "--cpu-weight 500과 300이 CPU 하나를 약 5:3으로 나눔(비율 {} ~ {})",
            WEIGHTED.0,
            WEIGHTED.1
        ),
        crate::t!(
            "{r:.3} ({} us : {} us of cgroup CPU usage over {window} us)",
            "{r:.3}({window} us 동안 cgroup CPU 사용량 {} us : {} us)",
            u[0],
            u[1]
        ),
        &c.runs[0],
    )
}

/// Tolerances of the weight check, as ratios of CPU time. 5:3 is 1.667 and the band
/// about ±15% of it; 1:1 within +25%/-20%, so that neither band reaches the other.
/// 20 runs here (cgroup v1, 2 CPUs): 1.658–1.674 and 0.999–1.001.
const WEIGHTED: (f64, f64) = (1.42, 1.92);
const EQUAL: (f64, f64) = (0.80, 1.25);
