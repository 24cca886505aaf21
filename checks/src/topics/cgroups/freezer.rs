//! freezer: `pause` stops the processes, `resume` lets them go on.

#[allow(unused_imports)]
use super::*;

/// `(count, CLOCK_MONOTONIC ns when the probe printed it)` lines read from `sp`
/// until `enough` holds for what was read, or `limit` passes.
fn counts_until(
    sp: &crate::runtime::Spawned,
    limit: Duration,
    enough: impl Fn(&[(i64, u64)]) -> bool,
) -> Vec<(i64, u64)> {
    let end = Instant::now() + limit;
    let mut v = Vec::new();
    while !enough(&v) {
        let Some(left) = end.checked_duration_since(Instant::now()) else {
            break;
        };
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
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
pub(super) fn freezer(ctx: &Ctx) -> CheckResult {
    freeze_and_thaw(ctx, false)
}

/// Pass: as [`freezer`], with a probe that forks and reaps children without pause
/// between its counts (runc#2753: a fork storm kept v1's freezer FREEZING): after
/// `pause` the kernel reports the cgroup frozen, no count is stamped while it is,
/// and the cgroup's processes are the same set twice, 400 ms apart (no new PID
/// appears while frozen); after `resume` the counts (and forks) go on. Fail and
/// control as there.
pub(super) fn freezer_forking(ctx: &Ctx) -> CheckResult {
    freeze_and_thaw(ctx, true)
}

/// The processes of cgroup `name` (its cgroup.procs, sorted).
fn procs(parent: &ScratchParent, name: &str) -> Option<Vec<u32>> {
    let controller = match parent.tree.version {
        Version::V1 => "freezer",
        Version::V2 => "cgroup",
    };
    let text = std::fs::read_to_string(parent.dir(controller, name)?.join("cgroup.procs")).ok()?;
    let mut v: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    v.sort_unstable();
    Some(v)
}

// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
fn freeze_and_thaw(ctx: &Ctx, forking: bool) -> CheckResult {
    let parent = parent_with(ctx, "freezer")?;
    let name = ctx.unique(if forking { "frzf-" } else { "frz-" }, 30);
    let mut args = vec![ctx.probe(), "count", "--interval-ms", "10"];
    if forking {
        args.push("--fork");
    }
    let sp = ctx.spawn(&["--ns", "pid", "--cgroup", &name], &args)?;
    // The container may take a while to start (a second or more in an emulated VM):
    // the windows below open once the probe counts.
    let first = counts_until(&sp, Duration::from_secs(20), |v| v.len() >= 3);
    if first.len() < 3 {
        let run = sp.stop();
        let got = match run.status {
            Some(_) if !run.timed_out => crate::t!(
                "the runtime ended ({}) after {} counts",
                "런타임이 {}, 셈 {}번 뒤에 끝났습니다",
                run.ending(),
                first.len()
            ),
            _ => crate::t!(
                "{} counts within 20 s of the start",
                "시작하고 20초 안에 셈 {}번",
                first.len()
            ),
        };
        return Err(fail(
            crate::t!("the probe to count every 10 ms", "probe가 10ms마다 셈"),
            got,
            &run,
        ));
    }
    let p = ctx.contract("pause", &name);
    let paused_at = mono_ns();
    if p.code() != Some(0) {
        let _ = sp.stop();
        return Err(fail(
            crate::t!("`pause {name}` to exit 0", "`pause {name}`의 종료 상태 0"),
            p.ending(),
            &p,
        ));
    }
    let frozen = parent.frozen(&name);
    let procs_before = procs(parent, &name);
    std::thread::sleep(Duration::from_millis(400));
    let procs_after = procs(parent, &name);
    std::thread::sleep(Duration::from_millis(100));
    let resumed_at = mono_ns();
    let r = ctx.contract("resume", &name);
    // Everything printed so far, and then counts until three are stamped after the resume.
    let lines = counts_until(&sp, Duration::from_secs(10), |v| {
        v.iter().filter(|(_, t)| *t > resumed_at).count() >= 3
    });
    let run = sp.stop();
    ensure(
        frozen == Some(true),
        crate::t!(
            "the kernel to report the cgroup frozen (freezer.state FROZEN / cgroup.events frozen 1)",
            "커널이 cgroup을 얼었다고 보고(freezer.state FROZEN / cgroup.events frozen 1)"
        ),
        crate::ctx::js(&frozen),
        &p,
    )?;
    let during: Vec<i64> = lines
        .iter()
        .filter(|(_, t)| *t > paused_at && *t < resumed_at)
        .map(|(c, _)| *c)
        .collect();
    ensure(
        during.is_empty(),
        crate::t!(
            "no count stamped between `pause` returning and `resume`",
            "`pause`가 돌아온 뒤 `resume` 전까지 찍힌 셈이 없음"
        ),
        crate::t!(
            "{} counts: {}",
            "셈 {}번: {}",
            during.len(),
            crate::ctx::js(&during[..during.len().min(5)])
        ),
        &p,
    )?;
    ensure(
        procs_before.is_some() && procs_before == procs_after,
        crate::t!(
            "the same processes in cgroup {name} twice, 400 ms apart while frozen: no new PID",
            "언 동안 400 ms 간격으로 두 번 읽은 cgroup {name}의 프로세스가 같음: 새 PID 없음"
        ),
        crate::t!(
            "{}, then {}",
            "{}, 그다음 {}",
            crate::ctx::js(&procs_before),
            crate::ctx::js(&procs_after)
        ),
        &p,
    )?;
    ensure(
        r.code() == Some(0),
        crate::t!("`resume {name}` to exit 0", "`resume {name}`의 종료 상태 0"),
        r.ending(),
        &r,
    )?;
    let after = lines.iter().filter(|(_, t)| *t > resumed_at).count();
    ensure(
        after >= 3,
        crate::t!("counting to go on after resume", "resume 뒤에 세기가 이어짐"),
        crate::t!(
            "{after} counts within 10 s of the resume",
            "resume 뒤 10초 안에 셈 {after}번"
        ),
        &run,
    )?;
    Ok(())
}
