//! monitoring: `stats` agrees with the cgroup files.

#[allow(unused_imports)]
use super::*;
use crate::text::opt;

/// Pass: while one container holds 64 MiB and another 8 MiB, `stats` of the first
/// lies within its cgroup files read just before and after it, reports 64 to 80 MiB
/// in use and a peak of at least 64 MiB (where the kernel keeps one), its limits as
/// its files hold them (`memory_max_bytes` 512 MiB, `pids_max` null: contract 1.3),
/// and `stats` of the second (the control) reports at least 40 MiB less: the figures
/// follow the container they name. Fail: otherwise.
// Long: two containers, the reads around `stats` and the verdicts, in that order.
pub(super) fn stats_match(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "memory")?;
    let name = ctx.unique("mon-", 30);
    let small = ctx.unique("mons-", 30);
    let sp = holding_memory(ctx, &name)?;
    let sp_small = ctx.spawn(
        &["--cgroup", &small, "--memory", "512M"],
        &[ctx.probe(), "mem", "--total", "8M", "--step", "8M", "--hold", "20"],
    )?;
    let small_ready = wait_done(&sp_small);
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
    // Its limits as the files hold them: "max" (v2) and v1's "unlimited" number are no
    // limit, null in `stats` (none for pids: no --pids).
    let limit = |v: Option<u64>| v.filter(|v| *v < labkit::cgroups::common::UNLIMITED_FROM);
    let limits_file = (
        limit(parent.read(&name, "memory.max")),
        limit(parent.read(&name, "pids.max")),
    );
    let small_stats = stats_json(ctx, &small);
    let run = sp.stop();
    let run_small = sp_small.stop();
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
            "stats within the cgroup files read around it: memory {}..{}, cpu usec {}..{}, pids {}..{}",
            "stats가 앞뒤로 읽은 cgroup 파일 값 사이: 메모리 {}..{}, cpu usec {}..{}, pids {}..{}",
            opt(before.0),
            opt(after.0),
            opt(before.1),
            opt(after.1),
            opt(before.2),
            opt(after.2)
        ),
        crate::t!(
            "memory {}, cpu usec {}, pids {}",
            "메모리 {}, cpu usec {}, pids {}",
            opt(st.memory_current_bytes),
            opt(st.cpu_usage_usec),
            opt(st.pids_current)
        ),
        &srun,
    )?;
    // Tolerance: the probe's own pages, its page tables and the init add a few MiB
    // to the 64 MiB it touched; 16 MiB covers them with room.
    let used = st.memory_current_bytes;
    ensure(
        used.is_some_and(|u| (64 * MIB..=80 * MIB).contains(&u)),
        crate::t!(
            "memory_current_bytes between 64 and 80 MiB while the probe holds 64 MiB (else the container is not in cgroup {name})",
            "probe가 64 MiB를 쥐고 있는 동안 memory_current_bytes가 64에서 80 MiB 사이(아니면 컨테이너가 cgroup {name}에 없음)"
        ),
        crate::ctx::js(&used),
        &srun,
    )?;
    ensure(
        st.memory_peak_bytes.is_none_or(|p| p >= 64 * MIB),
        crate::t!(
            "memory_peak_bytes at least the 64 MiB the probe allocated (or null where the kernel keeps no peak)",
            "memory_peak_bytes가 probe가 할당한 64 MiB 이상(커널이 최고치를 안 남기면 null)"
        ),
        crate::ctx::js(&st.memory_peak_bytes),
        &srun,
    )?;
    // Contract 1.3: the limits it runs under, as its cgroup files hold them.
    ensure(
        (st.memory_max_bytes, st.pids_max) == limits_file && limits_file.0 == Some(512 * MIB),
        crate::t!(
            "memory_max_bytes 536870912 (the --memory 512M it was given) and pids_max null (no --pids), as its cgroup files hold them",
            "memory_max_bytes 536870912(받은 --memory 512M)와 pids_max null(--pids 없음), cgroup 파일 값 그대로"
        ),
        crate::t!(
            "stats: {} and {}; the files: {} and {}",
            "`stats`: {}, {}; 파일: {}, {}",
            js(&st.memory_max_bytes),
            js(&st.pids_max),
            js(&limits_file.0),
            js(&limits_file.1)
        ),
        &srun,
    )?;
    const OTHER: &str = "another container holding 8 MiB";
    let (small_run, small_st) = crate::outcome::as_control(OTHER, small_stats)?;
    let small_used = small_st.memory_current_bytes;
    if !small_ready || small_used.is_none_or(|s| s + 40 * MIB > used.unwrap_or(0)) {
        return Err(control_fail(
            OTHER,
            crate::t!(
                "`stats {small}` at least 40 MiB below `stats {name}`'s {}: each container's own figures",
                "`stats {small}`의 값이 `stats {name}`의 {}보다 40 MiB 이상 적음: 컨테이너마다 자기 수치",
                opt(used)
            ),
            crate::t!(
                "{} ({})",
                "{}({})",
                opt(small_used),
                if small_ready {
                    run_small.ending()
                } else {
                    small_run.ending()
                }
            ),
            &small_run,
        ));
    }
    let _ = run;
    Ok(())
}

/// `stats` after the events it counts, and the cgroup files' counters read just
/// before and after it.
struct Counted {
    stats: Stats,
    oom_file: (Option<u64>, Option<u64>),
    throttled_file: (Option<u64>, Option<u64>),
    /// `cpu_usage_usec` of `stats` when the workload was let go (with a go file).
    usage_at_go: Option<u64>,
    /// From the go (or the runtime's start) to the workload's end (the `sleep` line).
    busy: Duration,
    run: crate::runtime::Run,
}

impl Counted {
    /// A counter of `stats` between the file's readings around it.
    fn agrees(v: Option<u64>, (a, b): (Option<u64>, Option<u64>)) -> bool {
        match (v, a, b) {
            (Some(v), Some(a), Some(b)) => a <= v && v <= b,
            _ => false,
        }
    }
}

/// Starts `script` (the probe as $0, `go` as $1) in cgroup `name` with `options`;
/// with `go`, waits for the probe's `spinning` line, reads `stats` and creates the go
/// file; then waits for the `sleep` line, reads `stats` between two reads of the
/// files, and stops it.
// Long: one container's sequence of waits and reads.
fn after_events(
    ctx: &Ctx,
    name: &str,
    options: &[&str],
    script: &str,
    go: Option<&std::path::Path>,
) -> Result<Counted, Outcome> {
    let parent = ctx.cgroup_parent()?;
    let mut opts = vec!["--cgroup", name];
    opts.extend_from_slice(options);
    let go_s = go.map(|g| g.to_string_lossy().into_owned()).unwrap_or_default();
    let mut t0 = Instant::now();
    let sp = ctx.spawn(&opts, &["/bin/sh", "-c", script, ctx.probe(), &go_s])?;
    let mut usage_at_go = None;
    if let Some(g) = go {
        if sp.next_as::<Spinning>(Duration::from_secs(30)).is_some() {
            usage_at_go = stats_json(ctx, name).ok().and_then(|(_, s)| s.cpu_usage_usec);
        }
        let _ = std::fs::write(g, b"go");
        t0 = Instant::now();
    }
    let asleep = sp.next_as::<labkit::probe::Sleeping>(Duration::from_secs(30)).is_some();
    let busy = t0.elapsed();
    let files = || {
        (
            parent.read(name, "memory.events:oom_kill"),
            parent.read(name, "cpu.stat:nr_throttled"),
        )
    };
    let before = files();
    let stats = stats_json(ctx, name);
    let after = files();
    let run = sp.stop();
    if !asleep {
        return Err(fail(
            crate::t!(
                "the workload to end and the container to sleep on",
                "작업이 끝나고 컨테이너는 계속 잠들어 있음"
            ),
            crate::t!("{}; {}", "{}; {}", run.ending(), run.stdout_text().trim()),
            &run,
        ));
    }
    let (_, stats) = stats?;
    Ok(Counted {
        stats,
        oom_file: (before.0, after.0),
        throttled_file: (before.1, after.1),
        usage_at_go,
        busy,
        run,
    })
}

/// Pass: after an OOM kill in one container (`--memory 32M`, 256 MiB asked for)
/// `stats` counts `oom_kills` ≥ 1, equal to the cgroup's own counter; after a 1 s
/// burn under a 20% quota in another, `stats` counts `cpu_nr_throttled` ≥ 1, equal
/// to cpu.stat's, and `cpu_usage_usec` between what the probe burnt and quota × the
/// time the container was busy.
/// Control: a third container (`--memory 32M`, no quota) that only sleeps counts 0 and 0.
/// Fail: otherwise (a figure from the wrong file, a constant, another cgroup).
// Long: three containers and one verdict each.
pub(super) fn events_counted(ctx: &Ctx) -> CheckResult {
    const QUIET: &str = "a quiet container with --memory 32M";
    parent_with(ctx, "memory")?;
    parent_with(ctx, "cpu")?;
    let limits = ["--memory", "32M", "--cpus", "20000/100000"];
    let oom = after_events(
        ctx,
        &ctx.unique("monk-", 30),
        &limits,
        r#""$0" mem --total 256M --step 4M; exec "$0" sleep 20"#,
        None,
    )?;
    // The burn starts at a go file: what a runtime does in the cgroup before its
    // quota is written (runc's init) is not the burn's.
    let burn_name = ctx.unique("mont-", 30);
    let go = ctx.scratch().join(format!("{burn_name}.go"));
    let burn = after_events(
        ctx,
        &burn_name,
        &limits,
        r#""$0" cpu --secs 1 --go-file "$1"; exec "$0" sleep 20"#,
        Some(&go),
    )?;
    // The quiet one has no quota: its start (a shell, an exec; slow in an emulated
    // VM) must not be throttled by chance.
    let quiet = crate::outcome::as_control(
        QUIET,
        after_events(
            ctx,
            &ctx.unique("monq-", 30),
            &["--memory", "32M"],
            r#"exec "$0" sleep 20"#,
            None,
        ),
    )?;
    ctx.note(format!(
        "oom_kills {:?} (file {:?}); nr_throttled {:?} (file {:?}), usage {:?} us; quiet: {:?}, {:?}",
        oom.stats.oom_kills,
        oom.oom_file,
        burn.stats.cpu_nr_throttled,
        burn.throttled_file,
        burn.stats.cpu_usage_usec,
        quiet.stats.oom_kills,
        quiet.stats.cpu_nr_throttled
    ));
    ensure(
        oom.stats.oom_kills.is_some_and(|k| k >= 1) && Counted::agrees(oom.stats.oom_kills, oom.oom_file),
        crate::t!(
            "after an OOM kill, `stats` oom_kills at 1 or more and within the cgroup's counter {}",
            "OOM kill 뒤 `stats`의 oom_kills가 1 이상이고 cgroup의 카운터 {} 사이",
            js(&oom.oom_file)
        ),
        opt(oom.stats.oom_kills),
        &oom.run,
    )?;
    // Usage against quota × time, over the burn (from the go file to the sleep): at
    // least what the probe itself measured it burnt (getrusage), at most 20% of that
    // time plus two periods (the quota's granularity) and 10 ms for the reads.
    let spun = burn.run.lines_as::<CpuSpin>().pop().map_or(0, |c| c.cpu_usec);
    let cap = burn.busy.as_micros() as u64 / 5 + 2 * 20_000 + 10_000;
    let usage = burn
        .stats
        .cpu_usage_usec
        .zip(burn.usage_at_go)
        .map(|(u, u0)| u.saturating_sub(u0));
    ensure(
        burn.stats.cpu_nr_throttled.is_some_and(|t| t >= 1)
            && Counted::agrees(burn.stats.cpu_nr_throttled, burn.throttled_file)
            && usage.is_some_and(|u| u >= spun && u <= cap),
        crate::t!(
            "after 1 s of spinning under a 20% quota, `stats` cpu_nr_throttled at 1 or more and within cpu.stat's {}, and cpu_usage_usec grown by {spun} (what the probe burnt) to {cap} (20% of the {} ms of the burn, and two periods)",
            "20% 할당량 아래에서 1초 동안 돈 뒤 `stats`의 cpu_nr_throttled가 1 이상이고 cpu.stat의 {} 사이이며, cpu_usage_usec가 {spun}(probe가 쓴 만큼)에서 {cap}(CPU를 쓴 {} ms의 20%와 두 주기)만큼 늘어남",
            js(&burn.throttled_file),
            burn.busy.as_millis()
        ),
        crate::t!(
            "cpu_nr_throttled {}, cpu_usage_usec grew by {}",
            "cpu_nr_throttled {}, cpu_usage_usec 증가 {}",
            opt(burn.stats.cpu_nr_throttled),
            opt(usage)
        ),
        &burn.run,
    )?;
    if quiet.stats.oom_kills.unwrap_or(0) != 0 || quiet.stats.cpu_nr_throttled.unwrap_or(0) != 0 {
        return Err(control_fail(
            QUIET,
            crate::t!(
                "`stats` oom_kills and cpu_nr_throttled at 0 for a container that did neither",
                "아무 일도 안 한 컨테이너의 `stats` oom_kills와 cpu_nr_throttled가 0"
            ),
            format!(
                "oom_kills {:?}, cpu_nr_throttled {:?}",
                quiet.stats.oom_kills, quiet.stats.cpu_nr_throttled
            ),
            &quiet.run,
        ));
    }
    Ok(())
}
