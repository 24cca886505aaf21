//! User namespaces: uid and gid maps.

use std::os::unix::fs::MetadataExt;

use labkit::probe::{Facts, Stat, WriteFile};

use super::*;

/// Pass: uid 0 inside, and the mapped uid on the host (status Uid). Fail: otherwise;
/// or the control run (no --ns user) not running as host uid 0 (the command runs as
/// the caller, contract §1).
pub(super) fn root_maps(ctx: &Ctx) -> CheckResult {
    let opts = with(&["--ns", "user"], &map_opts(65536));
    let (run, f): (_, Facts) = ctx.probe_json(&refs(&opts), &["facts"])?;
    ensure(
        f.uid == 0 && f.euid == 0,
        crate::t!("uid 0 inside", "안에서 uid 0"),
        format!("uid {}, euid {}", f.uid, f.euid),
        &run,
    )?;
    let (sp, pid) = sleeper(ctx, &refs(&opts), "userns")?;
    let uids = host::status_field(pid, "Uid").unwrap_or_default();
    let run = sp.stop();
    ensure(
        !uids.is_empty() && uids.iter().all(|u| u == &MAPPED.to_string()),
        crate::t!(
            "the container's process to run as uid {MAPPED} on the host",
            "컨테이너의 프로세스가 호스트에서 uid {MAPPED}로 실행됨"
        ),
        format!("Uid: {}", uids.join(" ")),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (sp, pid) = crate::outcome::as_control(WITHOUT, sleeper(ctx, &[], "userns-control"))?;
    let uids = host::status_field(pid, "Uid").unwrap_or_default();
    let crun = sp.stop();
    if uids.first().map(String::as_str) != Some("0") {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the command to run as the caller, host uid 0",
                "명령이 호출한 쪽과 같은 호스트 uid 0으로 실행됨"
            ),
            format!("Uid: {}", uids.join(" ")),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: a file root makes inside is owned by the mapped uid and gid on the host.
/// Fail: otherwise; or the control run (no --ns user) whose file is not owned by 0.
pub(super) fn files_owned(ctx: &Ctx) -> CheckResult {
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let opts = with(&["--ns", "user,mnt", "--rootfs", &root], &map_opts(65536));
    let (run, w): (_, WriteFile) = ctx.json_of(
        &refs(&opts),
        &["/bin/probe", "write-file", "/tmp/made-inside", "--content", "x"],
    )?;
    ensure(
        w.attempt.ok,
        crate::t!(
            "root inside to create /tmp/made-inside",
            "안의 root가 /tmp/made-inside를 만듦"
        ),
        js(&w),
        &run,
    )?;
    let m = std::fs::metadata(ctx.rootfs()?.join("tmp/made-inside"))
        .map_err(|e| broken(crate::t!("stat on the host: {e}", "호스트에서 stat 실패: {e}")))?;
    ensure(
        m.uid() == MAPPED && m.gid() == MAPPED,
        crate::t!(
            "the file owned by {MAPPED}:{MAPPED} on the host",
            "호스트에서 파일 주인이 {MAPPED}:{MAPPED}"
        ),
        crate::t!("owned by {}:{}", "주인 {}:{}", m.uid(), m.gid()),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (crun, w): (_, WriteFile) = ctx.control_json_of(
        WITHOUT,
        &["--ns", "mnt", "--rootfs", &root],
        &["/bin/probe", "write-file", "/tmp/made-control", "--content", "x"],
    )?;
    let w = js(&w);
    let c = std::fs::metadata(ctx.rootfs()?.join("tmp/made-control"));
    if c.as_ref().map(|c| c.uid()).ok() != Some(0) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/tmp/made-control owned by uid 0 on the host (the caller's uid)",
                "호스트에서 /tmp/made-control의 주인이 uid 0(호출한 쪽의 uid)"
            ),
            match c {
                Ok(c) => crate::t!("owned by {}", "주인 {}", c.uid()),
                Err(e) => crate::t!(
                    "no file on the host ({e}); the write said {w}",
                    "호스트에 파일이 없음({e}); 쓰기 결과 {w}"
                ),
            },
            &crun,
        ));
    }
    Ok(())
}

/// Pass: root inside is refused writing host root's file, which is unchanged.
/// Fail: it was written; or the control run (no --ns user) failing otherwise than
/// by a refusal. Stricter runtime: a control refused too (EPERM, EACCES, EROFS)
/// shows a runtime that keeps even host root from the file: a pass with a note.
pub(super) fn host_root_protected(ctx: &Ctx) -> CheckResult {
    let f = ctx.host_root_file()?;
    let opts = with(&["--ns", "user"], &map_opts(65536));
    let (run, w): (_, WriteFile) = ctx.probe_json(&refs(&opts), &["write-file", &f, "--content", "overwritten"])?;
    let content = std::fs::read_to_string(&f).unwrap_or_default();
    ensure(
        !w.attempt.ok && content == "host root's",
        crate::t!(
            "root inside to be refused writing {f} (EACCES)",
            "안의 root가 {f}에 쓰려다 거부됨(EACCES)"
        ),
        crate::t!(
            "write ok {}, error {}, file now {content:?}",
            "쓰기 성공 {}, 오류 {}, 지금 파일 내용 {content:?}",
            crate::text::yes_no(w.attempt.ok),
            js(&w.attempt.error)
        ),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (crun, c): (_, WriteFile) =
        ctx.control_probe_json(WITHOUT, &[], &["write-file", &f, "--content", "overwritten"])?;
    if refused(&c.attempt) {
        ctx.stricter(format!(
            "host root may not write its own file under this runtime either ({})",
            c.attempt.error.as_deref().unwrap_or("?")
        ));
    } else if !c.attempt.ok {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "host root to write its own file {f}",
                "호스트 root가 자기 파일 {f}에 씀"
            ),
            js(&c),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: host root's file shows as the overflow id inside (uid 0 unmapped). Fail:
/// otherwise; or the control run (no --ns user) not showing uid 0.
pub(super) fn unmapped_overflow(ctx: &Ctx) -> CheckResult {
    let f = ctx.host_root_file()?;
    let overflow: u32 = std::fs::read_to_string("/proc/sys/kernel/overflowuid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65534);
    let opts = with(&["--ns", "user"], &map_opts(1));
    let (run, st): (_, Stat) = ctx.probe_json(&refs(&opts), &["stat", &f])?;
    ensure(
        st.uid == Some(overflow) && st.gid == Some(overflow),
        crate::t!(
            "host root's file to show as {overflow}:{overflow} inside (uid 0 is not mapped)",
            "호스트 root의 파일이 안에서 {overflow}:{overflow}(으)로 보임(uid 0이 매핑되지 않음)"
        ),
        crate::t!("{}:{}", "{}:{}", js(&st.uid), js(&st.gid)),
        &run,
    )?;
    const WITHOUT: &str = "without --ns user";
    let (crun, c): (_, Stat) = ctx.control_probe_json(WITHOUT, &[], &["stat", &f])?;
    if c.uid != Some(0) {
        return Err(control_fail(
            WITHOUT,
            crate::t!("host root's file owned by uid 0", "호스트 root의 파일 주인이 uid 0"),
            crate::t!("uid {}", "uid {}", js(&c.uid)),
            &crun,
        ));
    }
    Ok(())
}
