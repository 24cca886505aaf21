//! IPC namespaces: SysV and POSIX IPC objects.

use labkit::probe::{IpcCreated, IpcLookup};

use super::*;

/// Creates the object inside a container (held), looks it up from the host and
/// from a sibling container; returns (found on host, found in sibling, run).
fn ipc_seen(
    ctx: &Ctx,
    options: &[&str],
    kind: &str,
    id_flag: &str,
    id: &str,
) -> Result<(bool, bool, crate::runtime::Run), Outcome> {
    let holder = ctx.spawn(
        options,
        &[
            ctx.probe(),
            "ipc",
            "create",
            "--kind",
            kind,
            id_flag,
            id,
            "--hold",
            "20",
        ],
    )?;
    let created = holder.next_as::<IpcCreated>(Duration::from_secs(10));
    if created.is_none() {
        let run = holder.stop();
        return Err(fail(
            crate::t!(
                "the probe to create {kind} {id} inside",
                "probe가 안에서 {kind} {id}을(를) 만듦"
            ),
            crate::t!("{}; {}", "{}; {}", run.ending(), run.stdout_text().trim()),
            &run,
        ));
    }
    let on_host = host::probe::<IpcLookup>(ctx.probe(), &["ipc", "lookup", "--kind", kind, id_flag, id]);
    let sibling = ctx.probe_json::<IpcLookup>(options, &["ipc", "lookup", "--kind", kind, id_flag, id]);
    let run = holder.stop();
    let on_host = on_host?;
    let (_, sibling) = sibling?;
    Ok((on_host.found, sibling.found, run))
}

/// Pass: the object made inside is found neither on the host nor in a sibling
/// container. Fail: it is; or the control runs (no --ns ipc) where host and sibling
/// do not both find it (one IPC namespace for all).
fn ipc_check(ctx: &Ctx, kind: &str, id_flag: &str, id: &str) -> CheckResult {
    let (host_sees, sibling_sees, run) = ipc_seen(ctx, &["--ns", "ipc"], kind, id_flag, id)?;
    if host_sees || sibling_sees {
        return Err(fail(
            crate::t!(
                "{kind} {id} made inside to be invisible on the host and in a sibling container",
                "안에서 만든 {kind} {id}이(가) 호스트에서도 이웃 컨테이너에서도 보이지 않음"
            ),
            crate::t!(
                "visible on the host: {}, in the sibling: {}",
                "호스트에서 보임: {}, 이웃에서 보임: {}",
                crate::text::yes_no(host_sees),
                crate::text::yes_no(sibling_sees)
            ),
            &run,
        ));
    }
    // Control: without an IPC namespace both see it.
    const WITHOUT: &str = "without --ns ipc";
    let (h, s, crun) = crate::outcome::as_control(WITHOUT, ipc_seen(ctx, &[], kind, id_flag, id))?;
    if !(h && s) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "{kind} {id} made in the container found on the host and in a sibling (one IPC namespace)",
                "컨테이너에서 만든 {kind} {id}이(가) 호스트와 이웃 컨테이너에서 보임(IPC 네임스페이스 하나)"
            ),
            crate::t!(
                "found on the host: {}, in the sibling: {}",
                "호스트에서 보임: {}, 이웃에서 보임: {}",
                crate::text::yes_no(h),
                crate::text::yes_no(s)
            ),
            &crun,
        ));
    }
    Ok(())
}

fn ipc_key(ctx: &Ctx) -> String {
    let n: u32 = ctx
        .unique("", 9)
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(1);
    format!("{}", 0x4c_00_00_00u32 + (std::process::id() % 0xffff) * 64 + n % 64)
}

/// SysV shared memory and a message queue, each by the rules of `ipc_check`.
pub(super) fn sysv_invisible(ctx: &Ctx) -> CheckResult {
    ipc_check(ctx, "shm", "--key", &ipc_key(ctx))?;
    ipc_check(ctx, "msg", "--key", &ipc_key(ctx))
}

/// A POSIX message queue, by the rules of `ipc_check`.
pub(super) fn posix_mq_invisible(ctx: &Ctx) -> CheckResult {
    ipc_check(ctx, "mq", "--name", &format!("/{}", ctx.unique("lab-mq-", 40)))
}
