//! Mount namespaces: mounts, the root file system, pivot_root.

use std::os::unix::fs::MetadataExt;

use labkit::probe::{ChdirUp, ChrootEscape, Facts, PathAttempt, Stat};

use super::*;

/// Pass: a tmpfs mounted in the container's mount namespace is absent from the
/// host's table. Fail: it is there; or the control run (no --ns mnt) whose mount does
/// not reach the host's table (a mount namespace nobody asked for).
///
/// Stricter runtime: mounting needs CAP_SYS_ADMIN. When the command inside is refused
/// (EPERM, EACCES), the checker makes the same mount itself in the container's mount
/// namespace (nsenter from the host, with its own capabilities), so the verdict is
/// about the namespace, not the capability. A refused control is taken the same way.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
pub(super) fn mount_invisible(ctx: &Ctx) -> CheckResult {
    let target = ctx.dir("mnt-inside")?;
    let t = target.to_string_lossy().into_owned();
    let sp = ctx.spawn(&["--ns", "mnt"], &[ctx.probe(), "mount-tmpfs", &t, "--hold", "20"])?;
    let mounted: Option<PathAttempt> = sp.next_as(Duration::from_secs(10));
    let on_host = host::mount_points().contains(&t);
    let run = sp.stop();
    let mounted = mounted.ok_or_else(|| {
        fail(
            crate::t!(
                "the probe to report its tmpfs mount",
                "probe가 tmpfs 마운트 결과를 보고"
            ),
            crate::t!("no report", "보고 없음"),
            &run,
        )
    })?;
    let on_host = if refused(&mounted.attempt) {
        ctx.stricter(format!("the command inside may not mount ({}): the checker mounted from the host, in the container's mount namespace", mounted.attempt.error.as_deref().unwrap_or("?")));
        let (sp, pid) = sleeper(ctx, &["--ns", "mnt"], "mnt-inside")?;
        let by_host: Result<PathAttempt, _> = host::in_namespaces_of(pid, &["-m"], ctx.probe(), &["mount-tmpfs", &t]);
        let seen = host::mount_points().contains(&t);
        let run = sp.stop();
        let by_host = by_host?;
        if !by_host.attempt.ok {
            let by_host = js(&by_host);
            return Err(broken(crate::t!(
                "the checker could not mount a tmpfs in the container's mount namespace: {by_host}",
                "검사기가 컨테이너의 마운트 네임스페이스에 tmpfs를 마운트하지 못했습니다: {by_host}"
            )));
        }
        ensure(
            !seen,
            crate::t!(
                "{t}, mounted in the container's namespace, absent from the host's mountinfo",
                "컨테이너의 네임스페이스에 마운트한 {t}이(가) 호스트의 mountinfo에 없음"
            ),
            crate::t!("it is in the host's mount table", "호스트의 마운트 테이블에 있습니다"),
            &run,
        )?;
        seen
    } else {
        ensure(
            mounted.attempt.ok,
            crate::t!("a tmpfs mounted on {t} inside", "안에서 {t}에 tmpfs가 마운트됨"),
            js(&mounted),
            &run,
        )?;
        on_host
    };
    ensure(
        !on_host,
        crate::t!(
            "{t} absent from the host's mountinfo",
            "호스트의 mountinfo에 {t}이(가) 없음"
        ),
        crate::t!(
            "the container's mount is in the host's mount table",
            "컨테이너의 마운트가 호스트의 마운트 테이블에 있습니다"
        ),
        &run,
    )?;
    // Control: the same mount without a mount namespace lands in the host's table
    // (the check's scratch cleanup unmounts it).
    const WITHOUT: &str = "without --ns mnt";
    let target2 = ctx.dir("mnt-control")?;
    let t2 = target2.to_string_lossy().into_owned();
    let (crun, c): (_, PathAttempt) = ctx.control_probe_json(WITHOUT, &[], &["mount-tmpfs", &t2])?;
    let seen = host::mount_points().contains(&t2);
    let _ = nix::mount::umount2(t2.as_str(), nix::mount::MntFlags::MNT_DETACH);
    if refused(&c.attempt) {
        // The runtime may not mount either: the host's table shows the checker's own.
        let own: PathAttempt = host::probe(ctx.probe(), &["mount-tmpfs", &t2])?;
        let seen = host::mount_points().contains(&t2);
        let _ = nix::mount::umount2(t2.as_str(), nix::mount::MntFlags::MNT_DETACH);
        if !own.attempt.ok || !seen {
            let own = js(&own);
            return Err(host_control_failed(crate::t!(
                "a tmpfs the checker mounted on {t2} was not seen in its mount table: {own}",
                "검사기가 {t2}에 마운트한 tmpfs가 자기 마운트 테이블에 보이지 않았습니다: {own}"
            )));
        }
        return Ok(());
    }
    if !c.attempt.ok || !seen {
        let c = js(&c);
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the tmpfs on {t2} in the host's mount table: no mount namespace without --ns mnt",
                "{t2}의 tmpfs가 호스트의 마운트 테이블에 있음: --ns mnt가 없으면 마운트 네임스페이스도 없음"
            ),
            crate::t!(
                "mount {c}; in the host's table: {seen}",
                "마운트 {c}; 호스트 테이블에 있음: {seen}"
            ),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: a host file is not found inside, `..` from / stays in /, and the chroot
/// breakout ends in the container's own root. Fail: any of them reaches the host;
/// or the control run (no --rootfs) not finding the host's file. The bare-chroot
/// control is the checker's own (broken if the breakout does not work there).
///
/// Stricter runtime: a breakout refused at its first chroot(2) (no CAP_SYS_CHROOT)
/// cannot start, so the root stays the container's: a pass, with a note.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
pub(super) fn host_files_unreachable(ctx: &Ctx) -> CheckResult {
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let marker = ctx.scratch().join("host-only-marker");
    std::fs::write(&marker, "host")
        .map_err(|e| broken(crate::t!("writing the marker: {e}", "표식 파일을 쓰지 못했습니다: {e}")))?;
    let m = marker.to_string_lossy().into_owned();
    let opts = ["--ns", "pid,mnt", "--rootfs", root.as_str()];
    let (run, st): (_, Stat) = ctx.json_of(&opts, &["/bin/probe", "stat", &m])?;
    let found = js(&st);
    ensure(
        !st.attempt.ok,
        crate::t!("host file {m} not found inside", "안에서 호스트 파일 {m}의 흔적 없음"),
        crate::t!("found: {found}", "보임: {found}"),
        &run,
    )?;
    let (run, up): (_, ChdirUp) = ctx.json_of(&opts, &["/bin/probe", "chdir-up"])?;
    ensure(
        up.same,
        crate::t!("`..` from / to stay in /", "/에서 `..`으로 가도 / 그대로"),
        crate::t!(
            "cwd {} after chdir(\"..\"), root {}",
            "chdir(\"..\") 뒤 cwd {}, 루트 {}",
            js(&up.cwd),
            js(&up.root)
        ),
        &run,
    )?;
    // pivot_root, not chroot: the classic breakout climbs to the namespace's real
    // root, which must be the container's own (the old root detached).
    let (run, esc): (_, ChrootEscape) = ctx.json_of(&opts, &["/bin/probe", "chroot-escape"])?;
    ensure(
        !esc.escaped,
        crate::t!(
            "the chroot breakout to end in the container's own root (pivot_root, old root detached)",
            "chroot 탈출 시도가 컨테이너 자신의 루트에서 끝남(pivot_root, 옛 루트 분리)"
        ),
        crate::t!(
            "it reached another root: {} -> {}",
            "다른 루트에 닿았습니다: {} -> {}",
            js(&esc.root_before),
            js(&esc.root_after)
        ),
        &run,
    )?;
    if let Some(r) = &esc.refused {
        ctx.stricter(crate::t!(
            "the breakout could not start: {} refused with {}",
            "탈출 시도를 시작할 수 없었습니다: {}이(가) {}(으)로 거부됨",
            r.op,
            r.error
        ));
    }
    // Control: under a bare chroot the same breakout reaches the host's root.
    let out = std::process::Command::new("chroot")
        .arg(&root)
        .args(["/bin/probe", "chroot-escape"])
        .output()
        .map_err(|e| broken(crate::t!("running chroot: {e}", "chroot를 실행하지 못했습니다: {e}")))?;
    let c: Option<ChrootEscape> = host::last_line_as(&out.stdout);
    if !c.as_ref().is_some_and(|c| c.escaped) {
        let c = js(&c);
        return Err(host_control_failed(crate::t!(
            "the breakout did not leave a bare chroot: {c}",
            "그냥 chroot에서도 탈출 시도가 빠져나가지 못했습니다: {c}"
        )));
    }
    // Control: without a root file system the host's file is right there.
    const WITHOUT: &str = "without --rootfs";
    let (crun, c): (_, Stat) = ctx.control_probe_json(WITHOUT, &["--ns", "pid,mnt"], &["stat", &m])?;
    if !c.attempt.ok {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the host's file {m} found: without --rootfs the root is the host's",
                "안에서 호스트 파일 {m}의 내용이 보임: --rootfs가 없으면 루트는 호스트의 것"
            ),
            js(&c),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: / inside is the given rootfs (same dev and inode). Fail: otherwise; or the
/// control run (no --rootfs) whose / is not the host's. An overlay root from layers is
/// exercise ufs-layers' (`overlay.*`): ns-mount needs nothing of a later exercise.
pub(super) fn root_is_given(ctx: &Ctx) -> CheckResult {
    let rootfs = ctx.rootfs()?.to_path_buf();
    let r = rootfs.to_string_lossy().into_owned();
    let meta = std::fs::metadata(&rootfs).map_err(|e| broken(crate::t!("stat {r}: {e}", "{r} stat 실패: {e}")))?;
    let (run, f): (_, Facts) = ctx.json_of(&["--ns", "mnt", "--rootfs", &r], &["/bin/probe", "facts"])?;
    let root = f.root;
    ensure(
        root.is_some_and(|root| root.ino == meta.ino() && root.dev == meta.dev()),
        crate::t!(
            "/ inside to be {r} (dev {} ino {})",
            "안의 /가 {r}(dev {} ino {})",
            meta.dev(),
            meta.ino()
        ),
        crate::t!(
            "dev {} ino {}",
            "dev {} ino {}",
            js(&root.map(|r| r.dev)),
            js(&root.map(|r| r.ino))
        ),
        &run,
    )?;
    // Control: without a root file system / is the host's.
    let host_root = std::fs::metadata("/").map_err(|e| broken(crate::t!("stat /: {e}", "/ stat 실패: {e}")))?;
    const WITHOUT: &str = "without --rootfs";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &["--ns", "mnt"], &["facts"])?;
    if c.root.map(|r| r.ino) != Some(host_root.ino()) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/ to be the host's (inode {})",
                "/가 호스트의 것(inode {})",
                host_root.ino()
            ),
            js(&c.root),
            &crun,
        ));
    }
    Ok(())
}
