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
    std::thread::sleep(Duration::from_millis(1500));
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
