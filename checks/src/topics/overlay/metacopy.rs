//! `overlay.metacopy.*`: a chmod copies up metadata without data.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use labkit::probe::{Chmod, Facts, Stat, WriteFile};

use super::support::{overlay_xattr, pattern, probe_in, Layers};
use crate::ctx::{js, Ctx};
use crate::outcome::{control_fail, ensure, skip, CheckResult};

/// Pass: with metacopy, chmod of a 1 MiB lower file copies up metadata only (an
/// overlay.metacopy xattr, under 64 KiB allocated). Fail: otherwise; or the control
/// run (a data write) not copying the whole file up; or an overlay mounted without
/// metacopy=on (contract 2.5: the runtime's choice). Skip: the kernel lacks metacopy.
pub(super) fn metacopy_chmod(ctx: &Ctx) -> CheckResult {
    if !Path::new("/sys/module/overlay/parameters/metacopy").exists() {
        return Err(skip(crate::t!(
            "this kernel's overlay has no metacopy (/sys/module/overlay/parameters/metacopy missing)",
            "이 커널의 overlay에는 metacopy가 없습니다(/sys/module/overlay/parameters/metacopy 없음)"
        )));
    }
    let big = pattern(1 << 20);
    let layers = Layers::new(ctx, &[&[("/data/big", &big), ("/data/big2", &big)]])?;
    let (opts, upper) = layers.options(ctx, "m")?;
    let (run, f): (_, Facts) = probe_in(ctx, &opts, &["facts"])?;
    let root = f.mounts.unwrap_or_default().into_iter().find(|m| m.mount_point == "/");
    let root_fs = root.as_ref().map(|m| m.fstype.clone()).unwrap_or_default();
    let root_opts = js(&root.as_ref().map(|m| m.super_options.clone()).unwrap_or_default());
    ensure(
        root_fs == "overlay",
        crate::t!("/ inside to be an overlay mount", "안의 /가 overlay 마운트"),
        crate::t!("fstype {}", "fstype {}", js(&root_fs)),
        &run,
    )?;
    // The contract asks for metacopy=on where the kernel has it: leaving it off is the
    // runtime's choice, never the host's, so it costs the check's points. The kernel
    // shows the option only where it differs from the module's default: with the
    // default on, a mount with metacopy=on lists neither, and only metacopy=off shows.
    let default_on = std::fs::read_to_string("/sys/module/overlay/parameters/metacopy").is_ok_and(|v| v.trim() == "Y");
    let has = |o: &str| root.as_ref().is_some_and(|m| m.super_options.iter().any(|x| x == o));
    ensure(
        has("metacopy=on") || (default_on && !has("metacopy=off")),
        crate::t!(
            "the overlay mounted with the option metacopy=on (this kernel has it: /sys/module/overlay/parameters/metacopy)",
            "overlay가 metacopy=on 옵션으로 마운트됨(이 커널에는 있음: /sys/module/overlay/parameters/metacopy)"
        ),
        crate::t!(
            "no metacopy=on among the overlay's options {root_opts}",
            "overlay의 옵션 {root_opts}에 metacopy=on이 없음"
        ),
        &run,
    )?;
    let (run2, c): (_, Chmod) = probe_in(ctx, &opts, &["chmod", "/data/big", "600"])?;
    ensure(
        c.attempt.ok,
        crate::t!("chmod inside to succeed", "안에서 chmod 성공"),
        js(&c),
        &run2,
    )?;
    let m = std::fs::symlink_metadata(upper.join("data/big")).ok();
    let meta = overlay_xattr(&upper.join("data/big"), "metacopy");
    ensure(
        m.as_ref().is_some_and(|m| m.blocks() * 512 < 64 * 1024 && m.mode() & 0o777 == 0o600) && meta.is_some(),
        crate::t!("an upper data/big with mode 0600, an overlay.metacopy xattr and no data blocks (under 64 KiB for a 1 MiB file)", "upper의 data/big이 모드 0600, overlay.metacopy xattr가 있고 데이터 블록은 없음(1 MiB 파일에 64 KiB 미만)"),
        crate::t!(
            "{}; metacopy xattr: {}",
            "{}; metacopy xattr: {}",
            m.as_ref().map_or(crate::t!("no upper file", "upper 파일 없음"), |m| crate::t!("mode {:o}, {} KiB allocated", "모드 {:o}, {} KiB 할당됨", m.mode() & 0o777, m.blocks() / 2)),
            crate::text::yes_no(meta.is_some())
        ),
        &run2,
    )?;
    let (run3, cat): (_, Stat) = probe_in(ctx, &opts, &["stat", "/data/big"])?;
    ensure(
        cat.size == Some(1 << 20),
        crate::t!("the file still 1 MiB inside", "안에서 파일이 여전히 1 MiB"),
        js(&cat),
        &run3,
    )?;
    layers.verify_unchanged(&run)?;
    // Control: a data write copies the data up.
    const WITHOUT: &str = "a data write instead of chmod";
    let (crun, _) = crate::outcome::as_control(
        WITHOUT,
        probe_in::<WriteFile>(ctx, &opts, &["write-file", "/data/big2", "--content", "x", "--append"]),
    )?;
    let full = std::fs::symlink_metadata(upper.join("data/big2"))
        .map(|m| m.blocks() * 512)
        .unwrap_or(0);
    if full < 1 << 20 {
        return Err(control_fail(
            WITHOUT,
            crate::t!("the whole 1 MiB data copied up", "1 MiB 데이터 전체가 copy-up됨"),
            crate::t!(
                "{full} bytes allocated in the upper layer",
                "upper 레이어에 {full}바이트 할당됨"
            ),
            &crun,
        ));
    }
    Ok(())
}
