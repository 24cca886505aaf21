//! io (v1 blkio): `--io-wbps` observed where the kernel applies it, in the
//! throughput of direct writes to a real (loop) block device, with a control
//! without the limit that must be much faster.

use std::path::Path;
use std::process::{Command, Stdio};

use labkit::probe::IoRun;

use super::*;
use crate::outcome::broken;

/// MiB as a float, for rates.
const MIB_F: f64 = 1024.0 * 1024.0;

/// The limit the container gets, and the amount it writes or reads.
const WBPS: &str = "1M";
const IO_BYTES: &str = "3M";
const IO_BYTES_N: u64 = 3 << 20;
/// Tolerance. blk-throttle lets a cgroup dispatch at most one slice's worth
/// (bps × throtl_slice, 20–100 ms: ≤ ~100 KiB at 1 MiB/s) ahead of the rate, so
/// 3 MiB at 1 MiB/s takes ≥ ~2.9 s, i.e. ≤ ~1.05 MiB/s (3.01 s, 0.998 MiB/s seen).
/// Only a burst over 1.1 MiB (more than ten slices) could push the average past
/// 1.6 MiB/s, and one over 1.5 MiB the time under 1.5 s.
const MAX_MIB_PER_SEC: f64 = 1.6;
const MIN_SECS: f64 = 1.5;
/// The unthrottled control must be at least this much faster (lopsided on purpose:
/// a loop device over a page cache does hundreds of MiB/s even on a busy machine).
const CONTROL_FACTOR: f64 = 5.0;

/// A loop device the check attached; detached when dropped (also on failure or panic).
pub(super) struct LoopDevice {
    pub(super) path: String,
    /// In the checker's state file from before the attach until after the detach.
    item: labkit::state::Item,
}

impl LoopDevice {
    pub(super) fn attach(file: &Path) -> Result<LoopDevice, Outcome> {
        let item = labkit::state::Item::Loop {
            backing: file.to_path_buf(),
        };
        crate::state::add(&item);
        let out = Command::new("losetup")
            .args(["--find", "--show", "--direct-io=off"])
            .arg(file)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| broken(crate::t!("running losetup: {e}", "losetup을 실행하지 못했습니다: {e}")))?;
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && path.starts_with("/dev/loop") {
            return Ok(LoopDevice { path, item });
        }
        if path.starts_with("/dev/loop") {
            // Attached but reported a failure: detach what it made.
            drop(LoopDevice { path, item });
        } else {
            crate::state::done(&item);
        }
        Err(broken(crate::t!(
            "losetup --find --show --direct-io=off {}: {}",
            "losetup --find --show --direct-io=off {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }

    /// `MAJ:MIN` from sysfs.
    fn dev_number(&self) -> Result<String, Outcome> {
        let name = self.path.trim_start_matches("/dev/");
        let f = format!("/sys/class/block/{name}/dev");
        let v = std::fs::read_to_string(&f)
            .map_err(|e| broken(crate::t!("reading {f}: {e}", "{f}을(를) 읽지 못했습니다: {e}")))?;
        let v = v.trim().to_string();
        if v.split(':').count() != 2 {
            return Err(broken(crate::t!(
                "{f} holds {v:?}, not MAJ:MIN",
                "{f}에 MAJ:MIN이 아니라 {v:?}가 있습니다"
            )));
        }
        Ok(v)
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        // A device still open is detached by the kernel on its last close (autoclear).
        match Command::new("losetup")
            .args(["-d", &self.path])
            .stdin(Stdio::null())
            .output()
        {
            Ok(o) if o.status.success() => crate::state::done(&self.item),
            Ok(o) => eprintln!(
                "warning: losetup -d {}: {}",
                self.path,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("warning: losetup -d {}: {e}", self.path),
        }
    }
}

/// (MiB/s, seconds) the probe's `write` or `read` reported.
fn io_figures(w: &IoRun) -> (f64, f64) {
    (w.bytes_per_sec as f64 / MIB_F, w.usec as f64 / 1e6)
}

/// One direction of block I/O: the probe's verb, the contract's flag, words.
struct Direction {
    verb: &'static str,
    flag: &'static str,
    en: &'static str,
    ko: &'static str,
}

const WRITES: Direction = Direction {
    verb: "write",
    flag: "--io-wbps",
    en: "writes",
    ko: "쓰기",
};

const READS: Direction = Direction {
    verb: "read",
    flag: "--io-rbps",
    en: "reads",
    ko: "읽기",
};

/// Pass: direct writes of 3 MiB to a loop device under a 1 MiB/s limit take at
/// least 1.5 s at at most 1.6 MiB/s. Fail: faster. The control run (no --io-wbps)
/// must be 5x faster; when it is not, the host's disk cannot tell a limit apart:
/// `broken` (host too busy), since the device is the host's.
pub(super) fn write_bps_throttled(ctx: &Ctx) -> CheckResult {
    direct_io_throttled(ctx, &WRITES)
}

/// Pass: direct reads of 3 MiB from a loop device under a 1 MiB/s `--io-rbps`
/// limit, as the write check with reads. Fail and control as there.
pub(super) fn read_bps_throttled(ctx: &Ctx) -> CheckResult {
    direct_io_throttled(ctx, &READS)
}

/// The I/O checks: 3 MiB of O_DIRECT I/O on a loop device with a 1 MiB/s limit in
/// direction `d`, then the same without the limit.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
fn direct_io_throttled(ctx: &Ctx, d: &Direction) -> CheckResult {
    let parent = ctx.cgroup_parent()?;
    let controller = match parent.tree.version {
        Version::V1 => "blkio",
        Version::V2 => "io",
    };
    if !parent.tree.has(controller) {
        return Err(skip(crate::t!(
            "the {controller} controller is not available to the checker's cgroup",
            "검사기의 cgroup에서 {controller} 컨트롤러를 쓸 수 없습니다"
        )));
    }
    // A sparse 64 MiB file as a real block device: the throttle acts on block devices only.
    let backing = ctx.scratch().join(format!("io-{}.img", d.verb));
    std::fs::File::create(&backing)
        .and_then(|f| f.set_len(64 << 20))
        .map_err(|e| {
            broken(crate::t!(
                "creating {}: {e}",
                "{}을(를) 만들지 못했습니다: {e}",
                backing.display()
            ))
        })?;
    let dev = LoopDevice::attach(&backing)?;
    let majmin = dev.dev_number()?;
    let limit = format!("{majmin}:{WBPS}");
    // O_DIRECT: the bios are submitted by the process itself, so they are charged to
    // its cgroup (buffered writeback is not throttled on cgroup v1, and buffered
    // reads would come from the page cache).
    let io = [
        ctx.probe(),
        d.verb,
        dev.path.as_str(),
        "--bytes",
        IO_BYTES,
        "--block",
        "64K",
        "--direct",
    ];
    let (en, ko, flag) = (d.en, d.ko, d.flag);

    let name = ctx.unique("lab-io-", 40);
    let (run, w): (_, IoRun) = ctx.json_of(&["--cgroup", &name, flag, &limit], &io)?;
    ensure(
        w.bytes == IO_BYTES_N,
        crate::t!(
            "the probe's {en} of {IO_BYTES_N} bytes on {}",
            "probe가 {}에서 {IO_BYTES_N}바이트 {ko}",
            dev.path
        ),
        js(&w),
        &run,
    )?;
    let (rate, secs) = io_figures(&w);
    let wall = run.duration.as_secs_f64();
    ctx.note(format!(
        "1 MiB/s limit: {rate:.3} MiB/s, {secs:.2} s for {IO_BYTES} of {en}"
    ));
    ensure(
        rate <= MAX_MIB_PER_SEC && secs >= MIN_SECS && wall >= MIN_SECS,
        crate::t!(
            "direct {en} of {IO_BYTES} on {} ({majmin}) throttled to 1 MiB/s: at most {MAX_MIB_PER_SEC} MiB/s, \
             taking at least {MIN_SECS} s",
            "{}({majmin})에서 {IO_BYTES}의 direct {ko}가 1 MiB/s로 제한됨: 최대 {MAX_MIB_PER_SEC} MiB/s, \
             최소 {MIN_SECS}초",
            dev.path
        ),
        crate::t!(
            "{rate:.2} MiB/s in {secs:.2} s (the whole run {wall:.2} s)",
            "{rate:.2} MiB/s, {secs:.2}초(실행 전체 {wall:.2}초)"
        ),
        &run,
    )?;

    // Control: the same I/O in a cgroup without the limit is much faster.
    let cname = ctx.unique("lab-io-ctl-", 40);
    let (crun, c): (_, IoRun) = ctx.json_of(&["--cgroup", &cname], &io)?;
    let (crate_, csecs) = io_figures(&c);
    ctx.note(format!(
        "no limit: {crate_:.1} MiB/s, {csecs:.3} s for {IO_BYTES} of {en}"
    ));
    if crate_ < CONTROL_FACTOR * rate {
        // The device is the host's (a loop device on its disk): a slow or busy disk
        // cannot tell a limit apart, so this is the host's, not the runtime's.
        let cmd = crun.command_line();
        return Err(host_too_busy(crate::t!(
            "the control run without {flag} did its {en} at {crate_:.2} MiB/s ({csecs:.2} s), not {CONTROL_FACTOR}x the \
             throttled {rate:.2} MiB/s: the host's disk is too slow or busy to tell a limit apart (command: {cmd})",
            "{flag} 없는 대조 실행의 {ko}가 {crate_:.2} MiB/s({csecs:.2}초)여서, 제한된 {rate:.2} MiB/s의 {CONTROL_FACTOR}배가 \
             되지 않았습니다. 호스트의 디스크가 너무 느리거나 바빠서 제한을 구별할 수 없습니다(명령: {cmd})"
        )));
    }
    Ok(())
}
