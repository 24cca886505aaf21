//! memory: a limit that OOM-kills near it, and usage that `stats` reports.

#[allow(unused_imports)]
use super::*;

/// Pass: allocating past a 32 MiB limit is killed with 137 between 16 and 36 MiB,
/// the cgroup's oom_kill counter rises, and 256 MiB under a 512 MiB limit complete.
/// Fail: otherwise; or the control run (no --memory) not completing 256 MiB.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
pub(super) fn oom_kill_at_limit(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "memory")?;
    const LIMIT: u64 = 32 * MIB;
    const STEP: u64 = 4 * MIB;
    let name = ctx.unique("oom-", 30);
    let run = ctx.run(
        &["--cgroup", &name, "--memory", "32M"],
        &[ctx.probe(), "mem", "--total", "256M", "--step", "4M"],
    )?;
    let reached = allocated(&run);
    ctx.note(format!(
        "32 MiB limit: last progress at {} MiB, {}",
        reached / MIB,
        run.ending()
    ));
    ensure(
        run.code() == Some(137),
        crate::t!(
            "the probe OOM-killed: exit status 137",
            "probe가 OOM으로 죽음: 종료 상태 137"
        ),
        crate::t!("{}; allocated {} MiB", "{}; {} MiB 할당함", run.ending(), reached / MIB),
        &run,
    )?;
    // Tolerance: the kill comes within the step that crosses the limit; the probe's
    // own pages (binary, stack, page tables) count too, so it may come earlier, but
    // not before half the limit.
    ensure(
        (LIMIT / 2..=LIMIT + STEP).contains(&reached),
        crate::t!(
            "the kill between {} and {} MiB of allocation",
            "할당량이 {}에서 {} MiB 사이일 때 죽음",
            LIMIT / 2 / MIB,
            (LIMIT + STEP) / MIB
        ),
        crate::t!("the last progress at {} MiB", "마지막 진행 {} MiB", reached / MIB),
        &run,
    )?;
    // The kernel's own count: the container stays up (a shell waits) after the
    // probe is killed, so its cgroup can be read.
    let name2 = ctx.unique("oomc-", 30);
    let script = r#""$0" mem --total 256M --step 4M; echo "{\"child_exit\": $?}"; exec "$0" sleep 20"#;
    let sp = ctx.spawn(
        &["--cgroup", &name2, "--memory", "32M"],
        &["/bin/sh", "-c", script, ctx.probe()],
    )?;
    let child = sp.next_as::<ChildExit>(Duration::from_secs(20));
    let kills = parent.read(&name2, "memory.events:oom_kill");
    let run2 = sp.stop();
    ensure(
        child.as_ref().is_some_and(|c| c.child_exit == 137),
        crate::t!(
            "the allocating probe killed by SIGKILL (137) inside a container that lives on",
            "할당하던 probe가 SIGKILL(137)로 죽고 컨테이너는 계속 살아 있음"
        ),
        format!("{child:?}"),
        &run2,
    )?;
    ensure(
        kills.unwrap_or(0) >= 1,
        crate::t!(
            "the cgroup's OOM-kill counter (memory.events oom_kill / v1 memory.oom_control oom_kill) at 1 or more",
            "cgroup의 OOM kill 횟수(memory.events oom_kill / v1 memory.oom_control oom_kill)가 1 이상"
        ),
        format!("{kills:?}"),
        &run2,
    )?;
    // The same allocation below a limit completes (a limit in the wrong unit would not).
    let name4 = ctx.unique("oomb-", 30);
    let brun = ctx.run(
        &["--cgroup", &name4, "--memory", "512M"],
        &[ctx.probe(), "mem", "--total", "256M", "--step", "8M"],
    )?;
    ensure(
        brun.code() == Some(0) && allocated(&brun) == 256 * MIB,
        crate::t!(
            "256 MiB allocated under a 512 MiB limit, exit 0",
            "512 MiB 제한 아래에서 256 MiB를 할당하고 종료 상태 0"
        ),
        crate::t!(
            "{}; allocated {} MiB",
            "{}; {} MiB 할당함",
            brun.ending(),
            allocated(&brun) / MIB
        ),
        &brun,
    )?;
    // Control: the same allocation without a memory limit completes.
    let name3 = ctx.unique("oomx-", 30);
    let crun = ctx.run(
        &["--cgroup", &name3],
        &[ctx.probe(), "mem", "--total", "256M", "--step", "4M"],
    )?;
    if crun.code() != Some(0) || allocated(&crun) != 256 * MIB {
        return Err(control_fail(
            "without --memory",
            crate::t!(
                "256 MiB allocated, exit 0: no memory limit without --memory",
                "256 MiB를 할당하고 종료 상태 0: --memory가 없으면 메모리 제한도 없음"
            ),
            crate::t!(
                "{}; allocated {} MiB",
                "{}; {} MiB 할당함",
                crun.ending(),
                allocated(&crun) / MIB
            ),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: `stats` reports 64 to 80 MiB while the probe holds 64 MiB. Fail:
/// otherwise. The probe's own allocation is the reference.
pub(super) fn usage_matches(ctx: &Ctx) -> CheckResult {
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
        used.is_some_and(|u| (64 * MIB..=80 * MIB).contains(&u)),
        crate::t!(
            "memory_current_bytes between 64 and 80 MiB while the probe holds 64 MiB",
            "probe가 64 MiB를 쥐고 있는 동안 memory_current_bytes가 64에서 80 MiB 사이"
        ),
        format!("{used:?}"),
        &srun,
    )?;
    let _ = run;
    Ok(())
}
