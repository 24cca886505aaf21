//! pids: a fork limit.

#[allow(unused_imports)]
use super::*;

/// Pass: fork is refused with EAGAIN before 10 tasks, pids.current is 10 and
/// pids.events max rises. Fail: otherwise; or the control run (a limit of 1000) not
/// forking 50.
pub(super) fn pids_limit(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "pids")?;
    let name = ctx.unique("pids-", 30);
    let sp = ctx.spawn(
        &["--cgroup", &name, "--pids", "10"],
        &[ctx.probe(), "forks", "--max", "100", "--hold", "20"],
    )?;
    let report = sp.next_as::<Forks>(Duration::from_secs(15));
    let events = parent.read(&name, "pids.events:max");
    let current = parent.read(&name, "pids.current");
    let run = sp.stop();
    let report = report.ok_or_else(|| {
        fail(
            crate::t!("the probe to report its forks", "probe가 fork 결과를 보고"),
            crate::t!("{}; {}", "{}; {}", run.ending(), run.stdout_text().trim()),
            &run,
        )
    })?;
    let forked = report.forked;
    ensure(
        report.error.as_deref() == Some("EAGAIN") && forked < 10,
        crate::t!(
            "fork refused with EAGAIN before 10 processes exist in the cgroup",
            "cgroup에 프로세스가 10개가 되기 전에 fork가 EAGAIN으로 거부됨"
        ),
        crate::t!(
            "forked {forked}, error {}",
            "fork {forked}번, 오류 {}",
            js(&report.error)
        ),
        &run,
    )?;
    ensure(
        current == Some(10),
        crate::t!("pids.current at the limit, 10", "pids.current가 제한값 10"),
        crate::ctx::js(&current),
        &run,
    )?;
    ensure(
        events.unwrap_or(0) >= 1,
        crate::t!("pids.events max at 1 or more", "pids.events의 max가 1 이상"),
        crate::ctx::js(&events),
        &run,
    )?;
    let name2 = ctx.unique("pidsx-", 30);
    const WITHOUT: &str = "with --pids 1000";
    let (crun, c): (_, Forks) = ctx.control_probe_json(
        WITHOUT,
        &["--cgroup", &name2, "--pids", "1000"],
        &["forks", "--max", "50"],
    )?;
    if c.forked != 50 {
        return Err(control_fail(
            WITHOUT,
            crate::t!("50 forks under a limit of 1000", "제한 1000 아래에서 fork 50번"),
            crate::t!("forked {}, error {}", "fork {}번, 오류 {}", c.forked, js(&c.error)),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: threads (not processes) are refused with EAGAIN before 10 tasks exist
/// in a cgroup with `--pids 10`, and pids.current is 10: the pids controller counts
/// tasks, every thread one. Fail: otherwise; or the control run (a limit of 1000)
/// not starting 50 threads.
pub(super) fn pids_count_threads(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "pids")?;
    let name = ctx.unique("pidt-", 30);
    let sp = ctx.spawn(
        &["--cgroup", &name, "--pids", "10"],
        &[ctx.probe(), "threads", "--max", "100", "--hold", "20"],
    )?;
    let report = sp.next_as::<Forks>(Duration::from_secs(15));
    let current = parent.read(&name, "pids.current");
    let run = sp.stop();
    let report = report.ok_or_else(|| {
        fail(
            crate::t!("the probe to report its threads", "probe가 스레드 결과를 보고"),
            crate::t!("{}; {}", "{}; {}", run.ending(), run.stdout_text().trim()),
            &run,
        )
    })?;
    let started = report.forked;
    ensure(
        report.error.as_deref() == Some("EAGAIN") && started < 10 && current == Some(10),
        crate::t!(
            "thread creation refused with EAGAIN before 10 tasks exist, pids.current 10: a thread is a task",
            "태스크가 10개가 되기 전에 스레드 생성이 EAGAIN으로 거부되고 pids.current가 10: 스레드도 태스크"
        ),
        crate::t!(
            "{started} threads started, error {}, pids.current {}",
            "스레드 {started}개 시작, 오류 {}, pids.current {}",
            js(&report.error),
            crate::text::opt(current)
        ),
        &run,
    )?;
    let name2 = ctx.unique("pidtx-", 30);
    const WITHOUT: &str = "with --pids 1000";
    let (crun, c): (_, Forks) = ctx.control_probe_json(
        WITHOUT,
        &["--cgroup", &name2, "--pids", "1000"],
        &["threads", "--max", "50"],
    )?;
    if c.forked != 50 {
        return Err(control_fail(
            WITHOUT,
            crate::t!("50 threads under a limit of 1000", "제한 1000 아래에서 스레드 50개"),
            crate::t!("started {}, error {}", "{}개 시작, 오류 {}", c.forked, js(&c.error)),
            &crun,
        ));
    }
    Ok(())
}
