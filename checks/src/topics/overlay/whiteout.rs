//! `overlay.whiteout.*`: deleting through layers: whiteouts, opaque directories,
//! rmdir and rename of lower directories.

use std::os::unix::fs::MetadataExt;

use labkit::probe::{Cat, Ls, PathAttempt, Stat, WriteFile};

use super::support::{entries, is_whiteout, overlay_xattr, probe_in, Layers};
use crate::ctx::{js, Ctx};
use crate::outcome::{broken, control_fail, ensure, fail, CheckResult};

/// Pass: deleting a lower file leaves a whiteout (char device 0:0) in the upper
/// layer, the file is gone inside and still in the layer. Fail: otherwise; or the
/// control run (deleting a file the container made) leaving anything behind.
pub(super) fn delete_whiteout(ctx: &Ctx) -> CheckResult {
    let layers = Layers::new(ctx, &[&[("/data/gone", b"delete me")]])?;
    let (opts, upper) = layers.options(ctx, "d")?;
    let (run, r): (_, PathAttempt) = probe_in(ctx, &opts, &["rm", "/data/gone"])?;
    ensure(
        r.attempt.ok,
        crate::t!("the delete inside to succeed", "안에서 지우기 성공"),
        js(&r),
        &run,
    )?;
    let wo = std::fs::symlink_metadata(upper.join("data/gone")).ok();
    let is_whiteout = wo.as_ref().is_some_and(|m| {
        use std::os::unix::fs::FileTypeExt;
        m.file_type().is_char_device() && m.rdev() == 0
    });
    ensure(
        is_whiteout,
        crate::t!(
            "a whiteout in the upper layer: data/gone as a character device 0:0",
            "upper 레이어의 whiteout: 문자 장치 0:0인 data/gone"
        ),
        match &wo {
            None => crate::t!(
                "nothing at data/gone in the upper layer",
                "upper 레이어의 data/gone에 아무것도 없음"
            ),
            Some(m) => crate::t!(
                "a file of mode {:o} with rdev {}",
                "모드 {:o}, rdev {}인 파일",
                std::os::unix::fs::PermissionsExt::mode(&m.permissions()),
                m.rdev()
            ),
        },
        &run,
    )?;
    let (run2, st): (_, Stat) = probe_in(ctx, &opts, &["stat", "/data/gone"])?;
    ensure(
        st.attempt.refused_with("ENOENT"),
        crate::t!("the file gone inside", "안에서는 파일이 사라짐"),
        js(&st),
        &run2,
    )?;
    ensure(
        layers.top().join("data/gone").exists(),
        crate::t!("the file still in the lower layer", "lower 레이어에는 파일이 그대로"),
        crate::t!("it is gone", "사라졌습니다"),
        &run,
    )?;
    layers.verify_unchanged(&run)?;
    // Control: deleting a file the container made itself leaves no whiteout.
    const WITHOUT: &str = "deleting a file only the upper layer has";
    crate::outcome::as_control(
        WITHOUT,
        probe_in::<WriteFile>(ctx, &opts, &["write-file", "/data/mine", "--content", "x"]),
    )?;
    let (crun, _) = crate::outcome::as_control(WITHOUT, probe_in::<PathAttempt>(ctx, &opts, &["rm", "/data/mine"]))?;
    if upper.join("data/mine").symlink_metadata().is_ok() {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "nothing left at data/mine in the upper layer (no whiteout needed)",
                "upper 레이어의 data/mine에 아무것도 남지 않음(whiteout이 필요 없음)"
            ),
            crate::t!("something is there", "무언가 남아 있습니다"),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: a lower directory removed and made again is empty inside (opaque). Fail:
/// otherwise; or the control run (before the removal) not listing the lower entries.
pub(super) fn opaque_directory(ctx: &Ctx) -> CheckResult {
    let layers = Layers::new(ctx, &[&[("/dir/a", b"a"), ("/dir/b", b"b")]])?;
    let (opts, upper) = layers.options(ctx, "op")?;
    // Control first: the directory shows its lower entries.
    const WITHOUT: &str = "before the directory is removed";
    let (crun, before) = crate::outcome::as_control(WITHOUT, probe_in::<Ls>(ctx, &opts, &["ls", "/dir"]))?;
    if entries(&before) != ["a", "b"] {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/dir to list the lower entries a and b",
                "/dir에 lower의 항목 a와 b가 보임"
            ),
            crate::ctx::js(&entries(&before)),
            &crun,
        ));
    }
    for step in [
        &["rm", "/dir/a"][..],
        &["rm", "/dir/b"],
        &["rmdir", "/dir"],
        &["mkdir", "/dir"],
    ] {
        let (run, r): (_, PathAttempt) = probe_in(ctx, &opts, step)?;
        ensure(
            r.attempt.ok,
            crate::t!("`probe {}` to succeed inside", "안에서 `probe {}` 성공", step.join(" ")),
            js(&r),
            &run,
        )?;
    }
    let (run, after): (_, Ls) = probe_in(ctx, &opts, &["ls", "/dir"])?;
    ensure(
        entries(&after).is_empty(),
        crate::t!(
            "the directory made again to be empty: the lower entries hidden",
            "다시 만든 디렉터리가 비어 있음: lower 항목이 가려짐"
        ),
        crate::ctx::js(&entries(&after)),
        &run,
    )?;
    let opaque = overlay_xattr(&upper.join("dir"), "opaque");
    ensure(
        opaque.as_deref() == Some(b"y"),
        crate::t!(
            "the upper directory marked opaque (overlay.opaque = y)",
            "upper 디렉터리에 opaque 표시(overlay.opaque = y)"
        ),
        crate::ctx::js(&opaque.map(|o| String::from_utf8_lossy(&o).into_owned())),
        &run,
    )?;
    layers.verify_unchanged(&run)
}

/// Pass: rmdir of a merged directory whose lower layer has entries fails with
/// ENOTEMPTY (the union is not empty although the upper layer has nothing there),
/// the entries stay visible and the layer unchanged. Control: rmdir of an empty lower
/// directory in the same container succeeds and leaves a whiteout. Fail: otherwise.
pub(super) fn rmdir_non_empty(ctx: &Ctx) -> CheckResult {
    let layers = Layers::new(ctx, &[&[("/full/kept", b"kept"), ("/empty/", b"")]])?;
    let (opts, upper) = layers.options(ctx, "rd")?;
    let (run, r): (_, PathAttempt) = probe_in(ctx, &opts, &["rmdir", "/full"])?;
    ensure(
        r.attempt.refused_with("ENOTEMPTY"),
        crate::t!(
            "rmdir of a directory with entries in the lower layer to fail with ENOTEMPTY",
            "lower 레이어에 항목이 있는 디렉터리의 rmdir이 ENOTEMPTY로 실패"
        ),
        js(&r),
        &run,
    )?;
    let (run2, c): (_, Cat) = probe_in(ctx, &opts, &["cat", "/full/kept"])?;
    ensure(
        c.content.as_deref() == Some("kept"),
        crate::t!(
            "/full/kept still readable inside",
            "안에서 /full/kept를 여전히 읽을 수 있음"
        ),
        js(&c.content),
        &run2,
    )?;
    layers.verify_unchanged(&run)?;
    const WITHOUT: &str = "an empty lower directory";
    let (crun, e): (_, PathAttempt) = crate::outcome::as_control(WITHOUT, probe_in(ctx, &opts, &["rmdir", "/empty"]))?;
    if !e.attempt.ok || !is_whiteout(&upper.join("empty")) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "rmdir of the empty lower directory to succeed and leave a whiteout for it",
                "비어 있는 lower 디렉터리의 rmdir이 성공하고 whiteout을 남김"
            ),
            js(&e),
            &crun,
        ));
    }
    layers.verify_unchanged(&crun)
}

/// Pass: renaming a lower directory gives EXDEV (or works, through a redirect) and
/// the layer stays unchanged. Control: a directory that is only in the upper layer
/// renames plainly in the same container (so the EXDEV or the redirect belongs to
/// the lower directory). Fail: anything else, or the control's rename failing.
pub(super) fn rename_lower_dir(ctx: &Ctx) -> CheckResult {
    let layers = Layers::new(ctx, &[&[("/olddir/inner", b"kept")]])?;
    let (opts, upper) = layers.options(ctx, "mv")?;
    std::fs::create_dir(upper.join("upperdir")).map_err(broken)?;
    const WITHOUT: &str = "a directory only in the upper layer";
    let (crun, c): (_, PathAttempt) =
        crate::outcome::as_control(WITHOUT, probe_in(ctx, &opts, &["rename", "/upperdir", "/upperdir2"]))?;
    if !c.attempt.ok
        || !upper.join("upperdir2").is_dir()
        || overlay_xattr(&upper.join("upperdir2"), "redirect").is_some()
    {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "a plain rename of the upper-only directory: upperdir2 in the upper layer, no redirect",
                "upper에만 있는 디렉터리는 그냥 이름이 바뀜: upper 레이어에 upperdir2, redirect 없음"
            ),
            js(&c),
            &crun,
        ));
    }
    let (run, r): (_, PathAttempt) = probe_in(ctx, &opts, &["rename", "/olddir", "/newdir"])?;
    let exdev = r.attempt.refused_with("EXDEV");
    let outcome = if exdev {
        Ok(())
    } else if r.attempt.ok {
        // With redirect_dir the rename works: the new name leads to the lower contents.
        let redirect = overlay_xattr(&upper.join("newdir"), "redirect");
        let (_, c): (_, Cat) = probe_in(ctx, &opts, &["cat", "/newdir/inner"])?;
        ensure(
            redirect.is_some() && c.content.as_deref() == Some("kept"),
            crate::t!("after a successful rename: an overlay.redirect on the upper directory and the lower contents under the new name", "이름 바꾸기가 성공했다면: upper 디렉터리에 overlay.redirect가 있고 새 이름 아래에 lower 내용이 보임"),
            crate::t!("redirect {}, /newdir/inner {}", "redirect {}, /newdir/inner {}", crate::text::opt(redirect.as_ref().map(|r| String::from_utf8_lossy(r).into_owned())), js(&c.content)),
            &run,
        )
    } else {
        Err(fail(
            crate::t!("EXDEV, or success with a redirect", "EXDEV, 또는 redirect가 있는 성공"),
            js(&r),
            &run,
        ))
    };
    outcome?;
    ctx.note(format!(
        "renaming a lower directory: {}",
        if exdev { "EXDEV" } else { "redirect" }
    ));
    layers.verify_unchanged(&run)
}
