//! cpuset: pinning to CPUs.

#[allow(unused_imports)]
use super::*;

/// Pass: with --cpuset 0 the probe's affinity is CPU 0 only. Fail: otherwise; or the
/// control run (no --cpuset) pinned to fewer CPUs than the checker has. Skip: the
/// checker itself has one CPU (its own affinity), nothing to tell apart.
pub(super) fn cpuset_pins(ctx: &Ctx) -> CheckResult {
    parent_with(ctx, "cpuset")?;
    let name = ctx.unique("cpus-", 30);
    let (run, a): (_, Affinity) = ctx.probe_json(&["--cgroup", &name, "--cpuset", "0"], &["affinity"])?;
    ensure(
        a.cpus == [0],
        crate::t!("affinity CPU 0 only", "affinity가 CPU 0뿐"),
        js(&a.cpus),
        &run,
    )?;
    let name2 = ctx.unique("cpusx-", 30);
    let mine = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map(|set| {
            (0..nix::sched::CpuSet::count())
                .filter(|i| set.is_set(*i).unwrap_or(false))
                .count()
        })
        .unwrap_or(0);
    if mine < 2 {
        return Err(skip(crate::t!(
            "the host gives the checker {mine} CPU: pinning cannot be told apart",
            "호스트가 검사기에 CPU {mine}개만 줍니다. 고정(pinning)을 구별할 수 없습니다"
        )));
    }
    const WITHOUT: &str = "without --cpuset";
    let (crun, c): (_, Affinity) = ctx.control_probe_json(WITHOUT, &["--cgroup", &name2], &["affinity"])?;
    if c.cpus.len() < mine {
        return Err(control_fail(
            WITHOUT,
            crate::t!("the checker's {mine} CPUs", "검사기의 CPU {mine}개"),
            js(&c.cpus),
            &crun,
        ));
    }
    Ok(())
}
