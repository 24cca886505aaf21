//! devices: a deny rule the kernel enforces on open.

#[allow(unused_imports)]
use super::*;

/// Pass: /dev/null (c 1:3) fails to open with EPERM and /dev/zero still opens.
/// Fail: otherwise; or the control run (no --deny-device) not opening /dev/null.
pub(super) fn devices_deny(ctx: &Ctx) -> CheckResult {
    parent_with(ctx, "devices")?;
    let name = ctx.unique("dev-", 30);
    let opts = ["--cgroup", name.as_str(), "--deny-device", "c:1:3"];
    let (run, null): (_, Open) = ctx.probe_json(&opts, &["open", "/dev/null", "--write"])?;
    ensure(
        null.attempt.refused_with("EPERM"),
        crate::t!(
            "opening /dev/null (c 1:3) to fail with EPERM",
            "/dev/null(c 1:3) 열기가 EPERM으로 실패"
        ),
        crate::t!(
            "ok {}, error {}",
            "성공 {}, 오류 {}",
            crate::text::yes_no(null.attempt.ok),
            js(&null.attempt.error)
        ),
        &run,
    )?;
    let name2 = ctx.unique("dev-", 30);
    let (run, zero): (_, Open) =
        ctx.probe_json(&["--cgroup", &name2, "--deny-device", "c:1:3"], &["open", "/dev/zero"])?;
    ensure(
        zero.attempt.ok,
        crate::t!("/dev/zero (c 1:5) still to open", "/dev/zero(c 1:5)는 여전히 열림"),
        js(&zero),
        &run,
    )?;
    let name3 = ctx.unique("devx-", 30);
    const WITHOUT: &str = "without --deny-device";
    let (crun, c): (_, Open) =
        ctx.control_probe_json(WITHOUT, &["--cgroup", &name3], &["open", "/dev/null", "--write"])?;
    if !c.attempt.ok {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/dev/null to open: every device allowed",
                "/dev/null이 열림: 모든 장치가 허용됨"
            ),
            js(&c),
            &crun,
        ));
    }
    Ok(())
}
