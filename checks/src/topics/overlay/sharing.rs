//! `overlay.sharing.*`: containers on the same layers: their writes isolated, the
//! layers on disk once.

use std::os::unix::fs::MetadataExt;

use labkit::probe::{IoRun, Stat, WriteFile};

use super::support::{disk_bytes, pattern, probe_in, refs, Layers};
use crate::ctx::{js, Ctx};
use crate::host;
use crate::outcome::{broken, control_fail, ensure, CheckResult, Outcome};

fn sleeper(ctx: &Ctx, opts: &[String], name: &str) -> Result<(crate::runtime::Spawned, i32), Outcome> {
    ctx.sleeper(&refs(opts), "/bin/probe", name)
}

/// The probe run from the host inside the mount namespace and root of `pid`.
fn probe_at<T: serde::de::DeserializeOwned>(pid: i32, args: &[&str]) -> Result<T, Outcome> {
    host::in_namespaces_of(pid, &["-m", "-r"], "/bin/probe", args)
}

/// Pass: two containers on the same layers with their own uppers do not see each
/// other's writes, the shared file has one inode in the layer, the layers stay
/// unchanged. Fail: otherwise; or the control run (a container on A's upper layer)
/// not seeing A's write.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
pub(super) fn sharing_isolated(ctx: &Ctx) -> CheckResult {
    let layers = Layers::new(ctx, &[&[("/shared/file", b"shared")]])?;
    let (oa, ua) = layers.options(ctx, "a")?;
    let (ob, ub) = layers.options(ctx, "b")?;
    let (sa, pa) = sleeper(ctx, &oa, "a")?;
    let (sb, pb) = sleeper(ctx, &ob, "b")?;
    let observed = (|| -> Result<_, Outcome> {
        let wa: WriteFile = probe_at(pa, &["write-file", "/written-by-a", "--content", "a"])?;
        let seen_in_b: Stat = probe_at(pb, &["stat", "/written-by-a"])?;
        let sta: Stat = probe_at(pa, &["stat", "/shared/file"])?;
        let stb: Stat = probe_at(pb, &["stat", "/shared/file"])?;
        Ok((wa, seen_in_b, sta, stb))
    })();
    let ra = sa.stop();
    let _ = sb.stop();
    let (wa, seen_in_b, sta, stb) = observed?;
    ensure(
        wa.attempt.ok,
        crate::t!("container A to write /written-by-a", "컨테이너 A가 /written-by-a를 씀"),
        js(&wa),
        &ra,
    )?;
    ensure(
        !seen_in_b.attempt.ok && ua.join("written-by-a").exists() && !ub.join("written-by-a").exists(),
        crate::t!(
            "A's write in A's upper layer only, invisible to B",
            "A가 쓴 파일이 A의 upper 레이어에만 있고 B에게는 보이지 않음"
        ),
        crate::t!(
            "visible in B: {}, in A's upper: {}, in B's upper: {}",
            "B에서 보임: {}, A의 upper에: {}, B의 upper에: {}",
            crate::text::yes_no(seen_in_b.attempt.ok),
            crate::text::yes_no(ua.join("written-by-a").exists()),
            crate::text::yes_no(ub.join("written-by-a").exists())
        ),
        &ra,
    )?;
    let lower = std::fs::metadata(layers.top().join("shared/file")).map_err(broken)?;
    // Each overlay has its own st_dev; the inode number is the layer file's own in
    // both, so both read one file, not copies.
    ensure(
        sta.ino == Some(lower.ino()) && stb.ino == Some(lower.ino()),
        crate::t!(
            "both containers to see the layer's file, inode {}",
            "두 컨테이너 모두 레이어의 파일(inode {})을 봄",
            lower.ino()
        ),
        crate::t!(
            "inode {} in A, {} in B",
            "A에서 inode {}, B에서 {}",
            js(&sta.ino),
            js(&stb.ino)
        ),
        &ra,
    )?;
    layers.verify_unchanged(&ra)?;
    // Control: a container on A's upper layer does see A's write.
    let (crun, c) = {
        let mut o = vec!["--ns".to_string(), "mnt".to_string()];
        for d in &layers.dirs {
            o.extend(["--layer".into(), d.display().to_string()]);
        }
        let work = ctx.dir("a2-work")?;
        o.extend([
            "--upper".into(),
            ua.display().to_string(),
            "--work".into(),
            work.display().to_string(),
        ]);
        crate::outcome::as_control(
            "on A's upper layer",
            probe_in::<Stat>(ctx, &o, &["stat", "/written-by-a"]),
        )?
    };
    if !c.attempt.ok {
        return Err(control_fail(
            "on A's upper layer",
            crate::t!(
                "a container on A's upper layer to see A's write /written-by-a",
                "A의 upper 레이어 위의 컨테이너가 A가 쓴 /written-by-a를 봄"
            ),
            js(&c),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: N containers on one lower layer each use about what they wrote (the layer
/// is on disk once). Control: one more container that appends to the layer's 16 MiB
/// file: its upper then holds a whole copy (the measure sees a copy when there is
/// one). Fail: an upper holds more than its write plus 256 KiB; or the control's
/// upper holds less than the 16 MiB it copied up.
pub(super) fn disk_used_once(ctx: &Ctx) -> CheckResult {
    const N: usize = 5;
    const MIB: u64 = 1 << 20;
    let base = pattern(16 * MIB as usize);
    let layers = Layers::new(ctx, &[&[("/base/blob", &base)]])?;
    let lower_bytes: u64 = layers.dirs.iter().map(|d| disk_bytes(d)).sum();
    let mut uppers = Vec::new();
    let mut last = None;
    for i in 0..N {
        let (opts, upper) = layers.options(ctx, &format!("n{i}"))?;
        // Each container writes 1 MiB of its own.
        let (run, w): (_, IoRun) = probe_in(ctx, &opts, &["write", "/own-data", "--bytes", "1M"])?;
        ensure(
            w.bytes == MIB,
            crate::t!("each container to write 1 MiB", "컨테이너마다 1 MiB를 씀"),
            js(&w),
            &run,
        )?;
        uppers.push(upper);
        last = Some(run);
    }
    let run = last.expect("N > 0");
    let per: Vec<u64> = uppers.iter().map(|u| disk_bytes(u)).collect();
    let total = lower_bytes + per.iter().sum::<u64>();
    ctx.note(format!(
        "layers {:.1} MiB once, uppers {:?} KiB, total {:.1} MiB for {N} containers (full copies would take {:.1} MiB)",
        lower_bytes as f64 / MIB as f64,
        per.iter().map(|b| b / 1024).collect::<Vec<_>>(),
        total as f64 / MIB as f64,
        (N as u64 * (lower_bytes + MIB)) as f64 / MIB as f64
    ));
    // Tolerance: an upper holds the 1 MiB file plus directory blocks; 256 KiB covers them.
    ensure(
        per.iter().all(|b| *b <= MIB + 256 * 1024),
        crate::t!(
            "each container's upper layer to hold its own 1 MiB and no copy of the 16 MiB layer",
            "컨테이너마다 upper 레이어에 자기 1 MiB만 있고 16 MiB 레이어의 복사본은 없음"
        ),
        crate::t!(
            "upper layers of {} KiB",
            "upper 레이어 {} KiB",
            crate::text::list(per.iter().map(|b| b / 1024))
        ),
        &run,
    )?;
    ensure(
        total <= lower_bytes + N as u64 * (MIB + 256 * 1024),
        crate::t!(
            "the layers once plus {N} x 1 MiB on disk",
            "디스크에 레이어 한 벌과 {N} x 1 MiB"
        ),
        format!("{:.1} MiB", total as f64 / MIB as f64),
        &run,
    )?;
    layers.verify_unchanged(&run)?;
    const WITHOUT: &str = "a container that writes to the shared file";
    let (opts, upper) = layers.options(ctx, "copied")?;
    let (crun, w): (_, WriteFile) = crate::outcome::as_control(
        WITHOUT,
        probe_in(ctx, &opts, &["write-file", "/base/blob", "--content", "x", "--append"]),
    )?;
    let copied = disk_bytes(&upper);
    if !w.attempt.ok || copied < 16 * MIB {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "its upper layer to hold a copy of the 16 MiB file it appended to",
                "덧붙여 쓴 16 MiB 파일의 복사본이 upper 레이어에 있음"
            ),
            crate::t!("{} KiB; {}", "{} KiB; {}", copied / 1024, js(&w)),
            &crun,
        ));
    }
    Ok(())
}
