//! monitoring: `stats` agrees with the cgroup files.

#[allow(unused_imports)]
use super::*;

/// Pass: `stats` lies within the cgroup files read just before and after it, and
/// the cgroup holds the probe's 64 MiB. Fail: otherwise. The files are the control.
pub(super) fn stats_match(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "memory")?;
    let name = ctx.unique("mon-", 30);
    let sp = holding_memory(ctx, &name)?;
    let before = (
        parent.read(&name, "memory.current"),
        parent.read(&name, "cpu.stat:usage_usec"),
        parent.read(&name, "pids.current"),
    );
    let stats = stats_json(ctx, &name);
    let after = (
        parent.read(&name, "memory.current"),
        parent.read(&name, "cpu.stat:usage_usec"),
        parent.read(&name, "pids.current"),
    );
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
            before.0,
            after.0,
            before.1,
            after.1,
            before.2,
            after.2
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
        crate::t!(
            "cgroup {name}'s memory.current to hold the probe's 64 MiB",
            "cgroup {name}의 memory.current에 probe의 64 MiB가 들어 있음"
        ),
        crate::t!(
            "{:?} bytes: the container is not in its cgroup",
            "{:?}바이트: 컨테이너가 자기 cgroup에 없습니다",
            before.0
        ),
        &run,
    )
}
