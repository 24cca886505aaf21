//! `overlay.copy-up.*`: a write to a lower file copies it up whole, a read copies
//! nothing, O_TRUNC leaves only the new data, a hard link shares one copy.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use labkit::probe::{Cat, Open, PathAttempt, Stat, WriteFile};

use super::support::{pattern, probe_in, Layers};
use crate::ctx::{js, Ctx};
use crate::outcome::{broken, control_fail, ensure, CheckResult, Outcome};

/// Pass: appending to a lower file puts the whole file (lower data + text) in the
/// upper layer and leaves the layer byte-identical. Fail: otherwise; or the control
/// run (the same tree as a plain --rootfs) whose write does not land in it.
pub(super) fn write_copies_up(ctx: &Ctx) -> CheckResult {
    let original = pattern(100 * 1024);
    let layers = Layers::new(ctx, &[&[("/data/file", &original)]])?;
    let (opts, upper) = layers.options(ctx, "c")?;
    let (run, w): (_, WriteFile) = probe_in(
        ctx,
        &opts,
        &["write-file", "/data/file", "--content", "APPENDED", "--append"],
    )?;
    ensure(
        w.attempt.ok,
        crate::t!("the append inside to succeed", "안에서 덧붙이기 성공"),
        js(&w),
        &run,
    )?;
    let up = std::fs::read(upper.join("data/file")).ok();
    let mut want = original.clone();
    want.extend_from_slice(b"APPENDED");
    ensure(
        up.as_deref() == Some(&want[..]),
        crate::t!(
            "the upper layer to hold the whole file: 100 KiB of lower data plus the appended text",
            "upper 레이어에 파일 전체가 있음: lower의 100 KiB 데이터와 덧붙인 글"
        ),
        match &up {
            None => crate::t!("no data/file in the upper layer", "upper 레이어에 data/file이 없음"),
            Some(u) => crate::t!(
                "{} bytes, {}",
                "{}바이트, {}",
                u.len(),
                if u.ends_with(b"APPENDED") {
                    crate::t!("ending in the text", "덧붙인 글로 끝남")
                } else {
                    crate::t!("not ending in the text", "덧붙인 글로 끝나지 않음")
                }
            ),
        },
        &run,
    )?;
    let lower = std::fs::read(layers.top().join("data/file")).unwrap_or_default();
    ensure(
        lower == original,
        crate::t!("the lower file byte-identical", "lower 파일이 한 바이트도 바뀌지 않음"),
        crate::t!("{} bytes, changed", "{}바이트, 바뀜", lower.len()),
        &run,
    )?;
    layers.verify_unchanged(&run)?;
    // Control: with the same directory as a plain --rootfs the write lands in it.
    let plain = ctx.dir("plain")?;
    copy_tree(ctx.rootfs()?, &plain)?;
    copy_tree(layers.top(), &plain)?;
    let p = plain.display().to_string();
    const WITHOUT: &str = "without overlay (the same tree as --rootfs)";
    let (crun, _): (_, WriteFile) = ctx.control_json_of(
        WITHOUT,
        &["--ns", "mnt", "--rootfs", &p],
        &["/bin/probe", "write-file", "/data/file", "--content", "X", "--append"],
    )?;
    if std::fs::read(plain.join("data/file"))
        .map(|c| c == original)
        .unwrap_or(true)
    {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the write to land in the --rootfs directory itself",
                "쓰기가 --rootfs 디렉터리 자체에 반영됨"
            ),
            crate::t!("the directory's file is unchanged", "디렉터리의 파일이 그대로입니다"),
            &crun,
        ));
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), Outcome> {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .map_err(broken)?;
    if st.success() {
        Ok(())
    } else {
        Err(broken(crate::t!(
            "cp -a {} {} failed",
            "cp -a {} {} 실패",
            from.display(),
            to.display()
        )))
    }
}

/// Pass: reading and opening a lower file read-only copies nothing up. Fail:
/// otherwise; or the control run (a write to another file) not copying that one up.
pub(super) fn read_leaves_lower(ctx: &Ctx) -> CheckResult {
    let layers = Layers::new(ctx, &[&[("/data/file", b"read me"), ("/data/other", b"write me")]])?;
    let (opts, upper) = layers.options(ctx, "r")?;
    let (run, c): (_, Cat) = probe_in(ctx, &opts, &["cat", "/data/file"])?;
    ensure(
        c.content.as_deref() == Some("read me"),
        crate::t!("the lower file's content inside", "안에서 lower 파일의 내용"),
        js(&c.content),
        &run,
    )?;
    let (run2, o): (_, Open) = probe_in(ctx, &opts, &["open", "/data/file"])?;
    ensure(
        o.attempt.ok,
        crate::t!("the lower file to open read-only", "lower 파일이 읽기 전용으로 열림"),
        js(&o),
        &run2,
    )?;
    ensure(
        !upper.join("data/file").exists(),
        crate::t!(
            "no data/file in the upper layer after reading it",
            "읽은 뒤에도 upper 레이어에 data/file이 없음"
        ),
        crate::t!(
            "the upper layer holds {}",
            "upper 레이어에 있음: {}",
            upper.join("data/file").display()
        ),
        &run,
    )?;
    layers.verify_unchanged(&run)?;
    // Control: a write to the other file does copy it up.
    const WITHOUT: &str = "writing instead of reading";
    let (crun, _) = crate::outcome::as_control(
        WITHOUT,
        probe_in::<WriteFile>(ctx, &opts, &["write-file", "/data/other", "--content", "w", "--append"]),
    )?;
    if !upper.join("data/other").exists() {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the written file data/other copied up",
                "쓴 파일 data/other가 copy-up됨"
            ),
            crate::t!("no data/other in the upper layer", "upper 레이어에 data/other가 없음"),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: opening a 1 MiB lower file with O_TRUNC and writing 3 bytes leaves a
/// 3-byte file in the upper layer and inside, the lower file unchanged. Control: a
/// fresh container on the same layers reads the whole 1 MiB (the truncation was the
/// first container's upper layer, not the image). Fail: otherwise.
pub(super) fn truncate_lower_file(ctx: &Ctx) -> CheckResult {
    let big = pattern(1 << 20);
    let layers = Layers::new(ctx, &[&[("/data/big", &big)]])?;
    let (opts, upper) = layers.options(ctx, "tr")?;
    let (run, w): (_, WriteFile) = probe_in(ctx, &opts, &["write-file", "/data/big", "--content", "new"])?;
    let (run2, st): (_, Stat) = probe_in(ctx, &opts, &["stat", "/data/big"])?;
    let up = std::fs::symlink_metadata(upper.join("data/big")).ok().map(|m| m.len());
    ensure(
        w.attempt.ok && st.size == Some(3) && up == Some(3),
        crate::t!(
            "after O_TRUNC and a 3-byte write: 3 bytes inside and a 3-byte data/big in the upper layer",
            "O_TRUNC와 3바이트 쓰기 뒤: 안에서 3바이트, upper 레이어에 3바이트짜리 data/big"
        ),
        crate::t!(
            "write {}, size inside {}, upper {}",
            "쓰기 {}, 안의 크기 {}, upper {}",
            js(&w.attempt),
            js(&st.size),
            crate::text::opt(up)
        ),
        &run2,
    )?;
    layers.verify_unchanged(&run)?;
    const WITHOUT: &str = "a fresh container on the same layers";
    let (fresh, _) = layers.options(ctx, "tr-fresh")?;
    let (crun, f): (_, Stat) = crate::outcome::as_control(WITHOUT, probe_in(ctx, &fresh, &["stat", "/data/big"]))?;
    if f.size != Some(1 << 20) {
        return Err(control_fail(
            WITHOUT,
            crate::t!("the whole 1 MiB of /data/big", "/data/big 1 MiB 전체"),
            js(&f),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: `link /data/orig /data/alias` inside succeeds; a write through the alias
/// is read through the original name in a later container on the same upper
/// layer; the upper layer holds both names as one inode with two links (overlay
/// copied the file up once and linked the copy); the lower file is unchanged.
/// Control: a fresh container on the same layers has no alias and reads the lower
/// content. Fail: otherwise.
pub(super) fn hard_link_shares_copy(ctx: &Ctx) -> CheckResult {
    let layers = Layers::new(ctx, &[&[("/data/orig", b"lower\n")]])?;
    let (opts, upper) = layers.options(ctx, "hl")?;
    let (run, l): (_, PathAttempt) = probe_in(ctx, &opts, &["link", "/data/orig", "/data/alias"])?;
    ensure(
        l.attempt.ok,
        crate::t!(
            "a hard link to the lower file /data/orig to be made inside",
            "안에서 lower 파일 /data/orig의 하드 링크를 만들 수 있음"
        ),
        js(&l),
        &run,
    )?;
    let (wrun, w): (_, WriteFile) = probe_in(
        ctx,
        &opts,
        &["write-file", "/data/alias", "--content", "+alias", "--append"],
    )?;
    ensure(
        w.attempt.ok,
        crate::t!(
            "the append through /data/alias to succeed",
            "/data/alias를 통한 덧붙이기 성공"
        ),
        js(&w),
        &wrun,
    )?;
    let (crun, c): (_, Cat) = probe_in(ctx, &opts, &["cat", "/data/orig"])?;
    ensure(
        c.content.as_deref() == Some("lower\n+alias"),
        crate::t!(
            "the write through /data/alias read through /data/orig: \"lower\\n+alias\"",
            "/data/alias로 쓴 내용을 /data/orig로 읽음: \"lower\\n+alias\""
        ),
        js(&c.content),
        &crun,
    )?;
    let meta = |name: &str| std::fs::symlink_metadata(upper.join(name)).ok();
    let (o, a) = (meta("data/orig"), meta("data/alias"));
    let same = match (&o, &a) {
        (Some(o), Some(a)) => o.is_file() && (o.dev(), o.ino()) == (a.dev(), a.ino()) && o.nlink() == 2,
        _ => false,
    };
    ensure(
        same,
        crate::t!(
            "data/orig and data/alias in the upper layer to be one regular file with two links",
            "upper 레이어의 data/orig와 data/alias가 링크 둘을 가진 하나의 일반 파일"
        ),
        crate::t!(
            "orig {}, alias {}",
            "orig {}, alias {}",
            crate::text::opt(o.as_ref().map(|m| format!("ino {} nlink {}", m.ino(), m.nlink()))),
            crate::text::opt(a.as_ref().map(|m| format!("ino {} nlink {}", m.ino(), m.nlink())))
        ),
        &crun,
    )?;
    layers.verify_unchanged(&crun)?;
    const WITHOUT: &str = "a fresh container on the same layers";
    let (fresh, _) = layers.options(ctx, "hl-fresh")?;
    let (frun, (f, st)): (_, (Cat, Stat)) = crate::outcome::as_control(WITHOUT, {
        probe_in::<Cat>(ctx, &fresh, &["cat", "/data/orig"])
            .and_then(|(_, f)| probe_in::<Stat>(ctx, &fresh, &["stat", "/data/alias"]).map(|(r, st)| (r, (f, st))))
    })?;
    if f.content.as_deref() != Some("lower\n") || !st.attempt.refused_with("ENOENT") {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/data/orig reads \"lower\\n\" and /data/alias does not exist",
                "/data/orig는 \"lower\\n\"이고 /data/alias는 없음"
            ),
            crate::t!(
                "orig {}, alias {}",
                "orig {}, alias {}",
                js(&f.content),
                js(&st.attempt)
            ),
            &frun,
        ));
    }
    Ok(())
}
