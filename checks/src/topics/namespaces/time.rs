//! Time namespaces: clock offsets.

use labkit::probe::Facts;

use super::*;

/// Pass: CLOCK_BOOTTIME and CLOCK_MONOTONIC inside are 7 days ahead of the host's
/// (±10 s) and the host's clock did not jump. Fail: otherwise; or the control run
/// (--ns time, no offsets) not reading the host's boottime.
pub(super) fn time_offset(ctx: &Ctx) -> CheckResult {
    const OFFSET: f64 = 7.0 * 86400.0;
    // Tolerance: the host reads its clocks right after the container's probe read
    // its own, within one container run (well under 10 s even on a loaded machine).
    const TOL: f64 = 10.0;
    let host_before = host::boottime();
    let (run, f): (_, Facts) = ctx.probe_json(
        &["--ns", "time", "--time-offset", "monotonic=604800,boottime=604800"],
        &["facts"],
    )?;
    let (host_boot, host_mono) = (host::boottime(), host::monotonic());
    let boot = f.uptime.boottime.unwrap_or(0.0);
    let mono = f.uptime.monotonic.unwrap_or(0.0);
    ensure(
        (boot - host_boot - OFFSET).abs() < TOL && (mono - host_mono - OFFSET).abs() < TOL,
        crate::t!(
            "boottime and monotonic inside {OFFSET:.0} s ahead of the host's ({host_boot:.0} s, {host_mono:.0} s)",
            "안의 boottime과 monotonic이 호스트({host_boot:.0}초, {host_mono:.0}초)보다 {OFFSET:.0}초 앞섬"
        ),
        crate::t!(
            "boottime {boot:.0} s, monotonic {mono:.0} s",
            "boottime {boot:.0}초, monotonic {mono:.0}초"
        ),
        &run,
    )?;
    if host::boottime() - host_before > 60.0 {
        return Err(fail_host(
            crate::t!("the host's clock unchanged", "호스트의 시계는 그대로"),
            crate::t!("it jumped", "시계가 건너뛰었습니다"),
            "clock_gettime(CLOCK_BOOTTIME) on the host",
        ));
    }
    // Control: a time namespace without offsets reads the host's clock.
    const WITHOUT: &str = "without --time-offset";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &["--ns", "time"], &["facts"])?;
    let cboot = c.uptime.boottime.unwrap_or(0.0);
    let hboot = host::boottime();
    if (cboot - hboot).abs() > TOL {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "boottime inside within {TOL} s of the host's ({hboot:.0} s)",
                "안의 boottime이 호스트({hboot:.0}초)와 {TOL}초 안"
            ),
            crate::t!("{cboot:.0} s", "{cboot:.0}초"),
            &crun,
        ));
    }
    Ok(())
}
