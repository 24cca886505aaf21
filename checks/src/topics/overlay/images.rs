//! `overlay.images.*`: images as OCI layer tarballs unpacked into a
//! content-addressed store: whiteouts applied, a new version stores only its layer,
//! a rollback drops the top layer.

use std::path::{Path, PathBuf};

use labkit::probe::{Cat, Ls, Stat};

use super::support::{disk_bytes, entries, fingerprint, is_whiteout, overlay_xattr, pattern, probe_in};
use crate::ctx::{js, Ctx};
use crate::outcome::{broken, control_fail, ensure, CheckResult, Outcome};
use crate::runtime::Run;

/// An OCI layer tarball of (path, content) entries in `dir` (see
/// `labkit::layers::write_tarball`).
fn tarball(dir: &Path, name: &str, entries: &[(&str, &[u8])]) -> Result<PathBuf, Outcome> {
    let p = dir.join(name);
    labkit::layers::write_tarball(&p, entries).map_err(|e| {
        broken(crate::t!(
            "writing the layer tarball {}: {e}",
            "레이어 tarball {} 쓰기 실패: {e}",
            p.display()
        ))
    })?;
    Ok(p)
}

/// Options for a container on the rootfs plus the layer tarballs `tars` (bottom
/// first), unpacked into `store`, with its own upper and work.
fn image_options(ctx: &Ctx, tars: &[&Path], store: &Path, name: &str) -> Result<Vec<String>, Outcome> {
    let (upper, work) = (ctx.dir(&format!("{name}-upper"))?, ctx.dir(&format!("{name}-work"))?);
    let mut o = vec![
        "--ns".to_string(),
        "mnt".into(),
        "--layer".into(),
        ctx.rootfs()?.display().to_string(),
    ];
    for t in tars {
        o.push("--layer-tar".into());
        o.push(t.display().to_string());
    }
    for (k, v) in [("--layer-store", store), ("--upper", &upper), ("--work", &work)] {
        o.push(k.into());
        o.push(v.display().to_string());
    }
    Ok(o)
}

/// The store's directory of a tarball: `STORE/sha256/HEX`.
fn stored(store: &Path, tar: &Path) -> Result<PathBuf, Outcome> {
    labkit::layers::digest(tar)
        .map(|hex| labkit::layers::layer_dir(store, &hex))
        .map_err(|e| {
            broken(crate::t!(
                "hashing {}: {e}",
                "{}의 해시를 내지 못했습니다: {e}",
                tar.display()
            ))
        })
}

/// Pass: an image of two layer tarballs, the upper one deleting `/app/old` with
/// `.wh.old` and making `/dir` opaque with `.wh..wh..opq` (the OCI layer format):
/// inside, `/app/old` is gone (ENOENT), `/app/keep` still reads, `/dir` lists only
/// the upper tarball's entry; in the store, the upper layer holds a whiteout
/// (character device 0:0) for `app/old`, no `.wh.` file, and an opaque `dir`.
/// Control: the lower tarball alone shows `/app/old` and both entries of `/dir`.
/// Fail: otherwise.
// Long: the image, three observations inside, the store, and the control.
pub(super) fn tar_whiteouts_applied(ctx: &Ctx) -> CheckResult {
    let dir = ctx.dir("tars")?;
    let store = ctx.dir("store")?;
    let base = tarball(
        &dir,
        "base.tar",
        &[
            ("app/", b""),
            ("app/old", b"old"),
            ("app/keep", b"keep"),
            ("dir/", b""),
            ("dir/a", b"a"),
            ("dir/b", b"b"),
        ],
    )?;
    let top = tarball(
        &dir,
        "top.tar",
        &[
            ("app/", b""),
            ("app/.wh.old", b""),
            ("dir/", b""),
            ("dir/.wh..wh..opq", b""),
            ("dir/c", b"c"),
        ],
    )?;
    let opts = image_options(ctx, &[&base, &top], &store, "img")?;
    let (run, st): (_, Stat) = probe_in(ctx, &opts, &["stat", "/app/old"])?;
    let (_, keep): (_, Cat) = probe_in(ctx, &opts, &["cat", "/app/keep"])?;
    let (_, ls): (_, Ls) = probe_in(ctx, &opts, &["ls", "/dir"])?;
    ensure(
        st.attempt.refused_with("ENOENT") && keep.content.as_deref() == Some("keep") && entries(&ls) == ["c"],
        crate::t!(
            "inside: /app/old gone (ENOENT, deleted by .wh.old), /app/keep reading \"keep\", /dir holding only c (opaque)",
            "안: /app/old는 사라지고(ENOENT, .wh.old가 지움), /app/keep은 \"keep\"을 읽고, /dir에는 c만 있음(opaque)"
        ),
        crate::t!(
            "stat {}, /app/keep {}, /dir {:?}",
            "stat {}, /app/keep {}, /dir {:?}",
            js(&st.attempt),
            js(&keep.content),
            entries(&ls)
        ),
        &run,
    )?;
    let layer = stored(&store, &top)?;
    let marker_left = layer.join("app/.wh.old").exists() || layer.join("dir/.wh..wh..opq").exists();
    let opaque = overlay_xattr(&layer.join("dir"), "opaque");
    ensure(
        is_whiteout(&layer.join("app/old")) && !marker_left && opaque.as_deref() == Some(b"y"),
        crate::t!(
            "in the store's {}: app/old a whiteout (character device 0:0), no .wh. file, dir opaque (overlay.opaque y)",
            "저장소의 {}: app/old는 whiteout(문자 장치 0:0), .wh. 파일 없음, dir은 opaque(overlay.opaque y)",
            layer.display()
        ),
        crate::t!(
            "whiteout {}, a .wh. file left {}, opaque {}",
            "whiteout {}, 남은 .wh. 파일 {}, opaque {}",
            crate::text::yes_no(is_whiteout(&layer.join("app/old"))),
            crate::text::yes_no(marker_left),
            crate::text::opt(opaque.as_ref().map(|o| String::from_utf8_lossy(o).into_owned()))
        ),
        &run,
    )?;
    const WITHOUT: &str = "the lower tarball alone";
    let copts = image_options(ctx, &[&base], &store, "img-base")?;
    let (crun, c): (_, Cat) = crate::outcome::as_control(WITHOUT, probe_in(ctx, &copts, &["cat", "/app/old"]))?;
    let (_, cls): (_, Ls) = crate::outcome::as_control(WITHOUT, probe_in(ctx, &copts, &["ls", "/dir"]))?;
    if c.content.as_deref() != Some("old") || entries(&cls) != ["a", "b"] {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/app/old reading \"old\" and /dir holding a and b",
                "/app/old가 \"old\"를 읽고 /dir에 a와 b"
            ),
            crate::t!("{} and {:?}", "{}, {:?}", js(&c.content), entries(&cls)),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: the lecture's fast deploy. Image v1 (an 8 MiB base tarball and an app
/// tarball) is run, then image v2 (the same base, a new app tarball): the store grows
/// by the new app layer only (under 256 KiB), not by another copy of the base, and
/// holds one directory per digest; each image reads its own version. Control: an
/// image on a changed base (another digest) grows the store by the base's 8 MiB
/// (the measure sees a new layer when there is one). Fail: otherwise.
// Long: two deploys, their store figures, and the control deploy.
pub(super) fn new_version_stores_only_its_layer(ctx: &Ctx) -> CheckResult {
    const MIB: u64 = 1 << 20;
    let dir = ctx.dir("tars")?;
    let store = ctx.dir("store")?;
    let big = pattern(8 << 20);
    let base = tarball(&dir, "base.tar", &[("lib/", b""), ("lib/big", &big)])?;
    let app1 = tarball(&dir, "app1.tar", &[("app/", b""), ("app/version", b"v1")])?;
    let app2 = tarball(&dir, "app2.tar", &[("app/", b""), ("app/version", b"v2")])?;
    let read_version = |tars: &[&Path], name: &str| -> Result<(Run, Option<String>), Outcome> {
        let opts = image_options(ctx, tars, &store, name)?;
        let (run, c): (_, Cat) = probe_in(ctx, &opts, &["cat", "/app/version"])?;
        Ok((run, c.content))
    };
    let (run1, v1) = read_version(&[&base, &app1], "v1")?;
    let s1 = disk_bytes(&store);
    let (run2, v2) = read_version(&[&base, &app2], "v2")?;
    let s2 = disk_bytes(&store);
    let layers = std::fs::read_dir(store.join("sha256")).map(|d| d.count()).unwrap_or(0);
    ctx.note(format!(
        "store after v1 {:.2} MiB, after v2 {:.2} MiB (+{} KiB), {layers} layers",
        s1 as f64 / MIB as f64,
        s2 as f64 / MIB as f64,
        s2.saturating_sub(s1) / 1024
    ));
    ensure(
        v1.as_deref() == Some("v1") && v2.as_deref() == Some("v2"),
        crate::t!(
            "image v1 reading v1 and image v2 reading v2",
            "이미지 v1은 v1을, v2는 v2를 읽음"
        ),
        crate::t!("{} and {}", "{}, {}", js(&v1), js(&v2)),
        &run2,
    )?;
    ensure(
        s1 >= 8 * MIB && s2.saturating_sub(s1) < 256 * 1024 && layers == 3,
        crate::t!(
            "deploying v2 to add only its app layer to the store (under 256 KiB), three layers stored in all",
            "v2 배포가 저장소에 자기 앱 레이어만 더함(256 KiB 미만), 저장된 레이어는 모두 셋"
        ),
        crate::t!(
            "{} KiB after v1, +{} KiB after v2, {layers} layers",
            "v1 뒤 {} KiB, v2 뒤 +{} KiB, 레이어 {layers}개",
            s1 / 1024,
            s2.saturating_sub(s1) / 1024
        ),
        &run1,
    )?;
    const WITHOUT: &str = "an image on a changed base";
    let mut big2 = big;
    big2[0] ^= 1;
    let base2 = tarball(&dir, "base2.tar", &[("lib/", b""), ("lib/big", &big2)])?;
    let (crun, _) = crate::outcome::as_control(WITHOUT, read_version(&[&base2, &app2], "v2b"))?;
    let s3 = disk_bytes(&store);
    if s3.saturating_sub(s2) < 8 * MIB {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the store to grow by the new base's 8 MiB",
                "저장소가 새 베이스의 8 MiB만큼 커짐"
            ),
            crate::t!("+{} KiB", "+{} KiB", s3.saturating_sub(s2) / 1024),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: the lecture's rollback. Image v2 is v1's layers plus one tarball that
/// changes `/app/version`: run, it reads v2; the same container started from the
/// image minus that top tarball reads v1, and nothing in the store changed (every
/// layer's fingerprint, and no new layer). Control: image v2 again reads v2 (the
/// rollback took nothing away). Fail: otherwise.
pub(super) fn rollback_to_previous_layer(ctx: &Ctx) -> CheckResult {
    let dir = ctx.dir("tars")?;
    let store = ctx.dir("store")?;
    let base = tarball(
        &dir,
        "base.tar",
        &[("app/", b""), ("app/version", b"v1"), ("app/data", b"kept")],
    )?;
    let patch = tarball(&dir, "patch.tar", &[("app/", b""), ("app/version", b"v2")])?;
    let read = |tars: &[&Path], name: &str| -> Result<(Run, Option<String>), Outcome> {
        let opts = image_options(ctx, tars, &store, name)?;
        let (run, c): (_, Cat) = probe_in(ctx, &opts, &["cat", "/app/version"])?;
        Ok((run, c.content))
    };
    let (_, v2) = read(&[&base, &patch], "new")?;
    let before = fingerprint(&store);
    let (run, back) = read(&[&base], "rolled-back")?;
    let after = fingerprint(&store);
    ensure(
        v2.as_deref() == Some("v2") && back.as_deref() == Some("v1"),
        crate::t!(
            "image v2 reading v2, and the image minus its top layer reading v1",
            "이미지 v2는 v2를, 맨 위 레이어를 뺀 이미지는 v1을 읽음"
        ),
        crate::t!("{} and {}", "{}, {}", js(&v2), js(&back)),
        &run,
    )?;
    ensure(
        before == after,
        crate::t!(
            "the store untouched by the rollback (every layer's fingerprint, no new layer)",
            "롤백이 저장소를 건드리지 않음(모든 레이어의 지문 그대로, 새 레이어 없음)"
        ),
        crate::t!(
            "{} entries before, {} after",
            "전 {}개 항목, 후 {}개",
            before.len(),
            after.len()
        ),
        &run,
    )?;
    const WITHOUT: &str = "image v2 again";
    let (crun, again) = crate::outcome::as_control(WITHOUT, read(&[&base, &patch], "again"))?;
    if again.as_deref() != Some("v2") {
        return Err(control_fail(
            WITHOUT,
            crate::t!("v2 again", "다시 v2"),
            js(&again),
            &crun,
        ));
    }
    Ok(())
}
