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
            format!("{}; {}", run.ending(), run.stdout_text().trim()),
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
        format!("{current:?}"),
        &run,
    )?;
    ensure(
        events.unwrap_or(0) >= 1,
        crate::t!("pids.events max at 1 or more", "pids.events의 max가 1 이상"),
        format!("{events:?}"),
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
