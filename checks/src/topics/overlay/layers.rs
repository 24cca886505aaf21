//! `overlay.layers.*`: what a stack of layers shows inside: a symlink shipped in a
//! layer, and the upper-most layer winning.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use labkit::probe::{Cat, Facts, Stat, WriteFile};

use super::support::{probe_in, Layers};
use crate::ctx::{js, Ctx};
use crate::outcome::{control_fail, ensure, CheckResult};
use crate::topics::namespaces::{map_opts, MAPPED};

/// Pass: a layer ships `/data/target`, `/data/rel -> target` and `/data/abs ->
/// /data/target`; inside, `/data/abs` is a symlink (lstat) and reads the target
/// (an absolute link resolves in the container's root, not the host's); an append
/// through `/data/rel` lands in the target, which is copied up as a regular file
/// while neither link is; the layer is unchanged. Control: a fresh container on the
/// same layers reads the lower content through the link. Fail: otherwise (a
/// runtime that copies layers with links dereferenced shows a regular file).
pub(super) fn symlink_in_lower(ctx: &Ctx) -> CheckResult {
    let layers = Layers::new(
        ctx,
        &[&[
            ("/data/target", b"lower target"),
            ("/data/rel -> target", b""),
            ("/data/abs -> /data/target", b""),
        ]],
    )?;
    let (opts, upper) = layers.options(ctx, "sl")?;
    let (run, st): (_, Stat) = probe_in(ctx, &opts, &["stat", "--nofollow", "/data/abs"])?;
    ensure(
        st.file_type.as_deref() == Some("symlink"),
        crate::t!(
            "/data/abs inside to be a symlink (lstat)",
            "안에서 /data/abs가 심볼릭 링크(lstat)"
        ),
        js(&st),
        &run,
    )?;
    let (run, c): (_, Cat) = probe_in(ctx, &opts, &["cat", "/data/abs"])?;
    ensure(
        c.content.as_deref() == Some("lower target"),
        crate::t!(
            "/data/abs -> /data/target to read the layer's /data/target inside",
            "/data/abs -> /data/target가 안에서 레이어의 /data/target을 읽음"
        ),
        js(&c),
        &run,
    )?;
    let (run, w): (_, WriteFile) = probe_in(
        ctx,
        &opts,
        &["write-file", "/data/rel", "--content", "+rel", "--append"],
    )?;
    ensure(
        w.attempt.ok,
        crate::t!(
            "the append through /data/rel to succeed",
            "/data/rel을 통한 덧붙이기 성공"
        ),
        js(&w),
        &run,
    )?;
    let (crun, c): (_, Cat) = probe_in(ctx, &opts, &["cat", "/data/target"])?;
    ensure(
        c.content.as_deref() == Some("lower target+rel"),
        crate::t!(
            "the append through /data/rel to land in /data/target: \"lower target+rel\"",
            "/data/rel을 통한 덧붙이기가 /data/target에 들어감: \"lower target+rel\""
        ),
        js(&c.content),
        &crun,
    )?;
    let kind = |name: &str| {
        std::fs::symlink_metadata(upper.join(name)).ok().map(|m| {
            if m.file_type().is_symlink() {
                "symlink"
            } else if m.is_file() {
                "file"
            } else {
                "other"
            }
        })
    };
    let (t, r, a) = (kind("data/target"), kind("data/rel"), kind("data/abs"));
    ensure(
        t == Some("file") && r.is_none() && a.is_none(),
        crate::t!(
            "the upper layer to hold data/target as a regular file and neither link",
            "upper 레이어에 data/target은 일반 파일로 있고 두 링크는 없음"
        ),
        crate::t!(
            "target {}, rel {}, abs {}",
            "target {}, rel {}, abs {}",
            crate::text::opt(t),
            crate::text::opt(r),
            crate::text::opt(a)
        ),
        &crun,
    )?;
    layers.verify_unchanged(&crun)?;
    const WITHOUT: &str = "a fresh container on the same layers";
    let (fresh, _) = layers.options(ctx, "sl-fresh")?;
    let (frun, f): (_, Cat) = crate::outcome::as_control(WITHOUT, probe_in(ctx, &fresh, &["cat", "/data/rel"]))?;
    if f.content.as_deref() != Some("lower target") {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/data/rel to read \"lower target\"",
                "/data/rel이 \"lower target\"을 읽음"
            ),
            js(&f.content),
            &frun,
        ));
    }
    Ok(())
}

/// Pass: a file in two layers reads from the upper-most, and a bottom-only file is
/// visible. Fail: otherwise; or the control run (the layers swapped) not reading
/// the other file.
pub(super) fn upper_most_wins(ctx: &Ctx) -> CheckResult {
    let layers = Layers::new(
        ctx,
        &[
            &[("/etc/layer", b"bottom"), ("/bottom-only", b"b")],
            &[("/etc/layer", b"top")],
        ],
    )?;
    let (opts, _) = layers.options(ctx, "o")?;
    let (run, c): (_, Cat) = probe_in(ctx, &opts, &["cat", "/etc/layer"])?;
    ensure(
        c.content.as_deref() == Some("top"),
        crate::t!(
            "/etc/layer from the upper-most layer (\"top\")",
            "/etc/layer를 가장 위 레이어에서 읽음(\"top\")"
        ),
        js(&c.content),
        &run,
    )?;
    let (run, b): (_, Cat) = probe_in(ctx, &opts, &["cat", "/bottom-only"])?;
    ensure(
        b.content.as_deref() == Some("b"),
        crate::t!(
            "/bottom-only from the bottom data layer visible",
            "맨 아래 데이터 레이어의 /bottom-only가 보임"
        ),
        js(&b),
        &run,
    )?;
    layers.verify_unchanged(&run)?;
    // Control: the layers in the other order show the other file.
    let mut reversed = layers.dirs.clone();
    let n = reversed.len();
    reversed.swap(n - 1, n - 2);
    let (copts, _) = layers.options_ordered(ctx, "o2", &reversed)?;
    const WITHOUT: &str = "with the layers swapped";
    let (crun, c) = crate::outcome::as_control(WITHOUT, probe_in::<Cat>(ctx, &copts, &["cat", "/etc/layer"]))?;
    if c.content.as_deref() != Some("bottom") {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/etc/layer from the now upper-most layer (\"bottom\")",
                "/etc/layer를 이제 가장 위가 된 레이어에서 읽음(\"bottom\")"
            ),
            js(&c.content),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: with `--ns user,mnt`, a uid map and layers (what every rootless runtime
/// starts), `/` inside is an overlay, root inside writes `/data/made-inside`, and the
/// file lands in `--upper` owned by the mapped uid and gid on the host; the layer is
/// unchanged. The data layer is owned by the mapped uid, as an image store for user
/// namespaces keeps it. Control: the same layers without `--ns user` write a file owned by host
/// root (contract 1: the command runs as the caller). Fail: otherwise: an overlay the
/// mapped root may not write (its upper and work directories left to host root gives
/// EACCES), a start refused, or the layers copied instead of mounted.
pub(super) fn user_namespace_root_writes_upper(ctx: &Ctx) -> CheckResult {
    // The data layer is the mapped root's, as a user namespace's image store keeps it;
    // the probe's root file system below stays host root's (read and exec only).
    let layers = Layers::new(ctx, &[&[("/data/lower", b"lower")]])?;
    // /data writable by anyone: the control's host root may have dropped every
    // capability (a stricter runtime), and must still write where 231072 owns.
    std::fs::set_permissions(layers.top().join("data"), std::fs::Permissions::from_mode(0o777))
        .map_err(crate::outcome::broken)?;
    let layers = layers.owned_by(MAPPED, MAPPED)?;
    let (base, upper) = layers.options(ctx, "userns")?;
    let mut opts = base.clone();
    // The layers' own `--ns mnt` becomes `--ns user,mnt`.
    if let Some(ns) = opts.iter_mut().find(|o| o.as_str() == "mnt") {
        *ns = "user,mnt".into();
    }
    opts.extend(map_opts(65536));
    let (run, f): (_, Facts) = probe_in(ctx, &opts, &["facts"])?;
    let root_fs = f
        .mounts
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.mount_point == "/")
        .map(|m| m.fstype);
    ensure(
        f.uid == 0 && root_fs.as_deref() == Some("overlay"),
        crate::t!(
            "uid 0 inside and / an overlay mount",
            "안에서 uid 0이고 /가 overlay 마운트"
        ),
        crate::t!(
            "uid {}, / of type {}",
            "uid {}, /의 종류 {}",
            f.uid,
            crate::text::opt(root_fs.as_deref())
        ),
        &run,
    )?;
    let (run, w): (_, WriteFile) = probe_in(ctx, &opts, &["write-file", "/data/made-inside", "--content", "x"])?;
    ensure(
        w.attempt.ok,
        crate::t!(
            "root inside to create /data/made-inside on the overlay",
            "안의 root가 overlay 위에 /data/made-inside를 만듦"
        ),
        js(&w),
        &run,
    )?;
    let (owner, seen) = made_inside_owner(&upper);
    ensure(
        owner == Some((MAPPED, MAPPED)),
        crate::t!(
            "data/made-inside in --upper, owned by {MAPPED}:{MAPPED} on the host",
            "--upper에 data/made-inside가 있고 호스트에서 주인이 {MAPPED}:{MAPPED}"
        ),
        seen,
        &run,
    )?;
    layers.verify_unchanged(&run)?;
    const WITHOUT: &str = "without --ns user";
    let (cbase, cupper) = layers.options(ctx, "userns-control")?;
    let (crun, _) = crate::outcome::as_control(
        WITHOUT,
        probe_in::<WriteFile>(ctx, &cbase, &["write-file", "/data/made-inside", "--content", "x"]),
    )?;
    let (owner, seen) = made_inside_owner(&cupper);
    if owner != Some((0, 0)) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "data/made-inside in --upper owned by host root (0:0)",
                "--upper의 data/made-inside 주인이 호스트 root(0:0)"
            ),
            seen,
            &crun,
        ));
    }
    Ok(())
}

/// The owner (uid, gid) of `data/made-inside` in an upper directory, and how a
/// failure shows it.
fn made_inside_owner(upper: &std::path::Path) -> (Option<(u32, u32)>, crate::text::Text) {
    let owner = std::fs::symlink_metadata(upper.join("data/made-inside"))
        .ok()
        .map(|m| (m.uid(), m.gid()));
    let seen = match owner {
        Some((u, g)) => crate::t!("owned by {u}:{g}", "주인 {u}:{g}"),
        None => crate::t!("no data/made-inside in --upper", "--upper에 data/made-inside 없음"),
    };
    (owner, seen)
}
