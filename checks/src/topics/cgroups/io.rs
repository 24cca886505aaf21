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
const IO_BYTES: &str = "1M";
const IO_BYTES_N: u64 = 1 << 20;
/// Tolerance. blk-throttle lets a cgroup dispatch at most one slice's worth
/// (bps × throtl_slice, 20–100 ms: ≤ ~100 KiB at 1 MiB/s) ahead of the rate, so
/// 1 MiB at 1 MiB/s takes ≥ ~0.9 s, i.e. ≤ ~1.1 MiB/s. Only a burst over 0.37 MiB
/// (nearly four slices) could push the average past 1.6 MiB/s or the time under
/// 0.6 s; an unthrottled loop device does the MiB in milliseconds.
const MAX_MIB_PER_SEC: f64 = 1.6;
const MIN_SECS: f64 = 0.6;
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
        let v = std::fs::read_to_string(&f).map_err(|e| broken(crate::t!("reading {f}: {e}", "{f} 읽기 실패: {e}")))?;
        let v = v.trim().to_string();
        if v.split(':').count() != 2 {
            return Err(broken(crate::t!(
                "{f} holds {v:?}, not MAJ:MIN",
                "{f}의 내용이 MAJ:MIN이 아니라 {v:?}입니다"
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

/// The checker's parent, if it has the io controller (v1 blkio), and a loop device
/// over a sparse file of `size` bytes in the scratch directory, with its `MAJ:MIN`.
fn io_device<'a>(ctx: &'a Ctx, file: &str, size: u64) -> Result<(&'a ScratchParent, LoopDevice, String), Outcome> {
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
    let backing = ctx.scratch().join(file);
    std::fs::File::create(&backing)
        .and_then(|f| f.set_len(size))
        .map_err(|e| broken(crate::t!("creating {}: {e}", "{} 만들기 실패: {e}", backing.display())))?;
    let dev = LoopDevice::attach(&backing)?;
    let majmin = dev.dev_number()?;
    Ok((parent, dev, majmin))
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

/// Pass: direct writes of 1 MiB to a loop device under a 1 MiB/s limit take at
/// least 0.6 s at at most 1.6 MiB/s. Fail: faster. The control run (no --io-wbps)
/// must be 5x faster; when it is not, the host's disk cannot tell a limit apart:
/// `broken` (host too busy), since the device is the host's.
pub(super) fn write_bps_throttled(ctx: &Ctx) -> CheckResult {
    direct_io_throttled(ctx, &WRITES)
}

/// Pass: direct reads of 1 MiB from a loop device under a 1 MiB/s `--io-rbps`
/// limit, as the write check with reads. Fail and control as there.
pub(super) fn read_bps_throttled(ctx: &Ctx) -> CheckResult {
    direct_io_throttled(ctx, &READS)
}

/// The I/O checks: 1 MiB of O_DIRECT I/O on a loop device with a 1 MiB/s limit in
/// direction `d`, then the same without the limit.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
fn direct_io_throttled(ctx: &Ctx, d: &Direction) -> CheckResult {
    // A sparse 64 MiB file as a real block device: the throttle acts on block devices only.
    let (_, dev, majmin) = io_device(ctx, &format!("io-{}.img", d.verb), 64 << 20)?;
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
            "{}({majmin})에서 {IO_BYTES}의 direct {ko}이(가) 1 MiB/s로 제한됨: 최대 {MAX_MIB_PER_SEC} MiB/s, \
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
            "{flag} 없는 대조 실행의 {ko}이(가) {crate_:.2} MiB/s({csecs:.2}초)여서, 제한된 {rate:.2} MiB/s의 {CONTROL_FACTOR}배가 \
             되지 않았습니다. 호스트의 디스크가 너무 느리거나 바빠서 제한을 구별할 수 없습니다(명령: {cmd})"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------- io weight

/// The weights of the contended run and of its control (BFQ's scale, default 100).
const HEAVY: &str = "500";
const LIGHT: &str = "100";
/// Tolerances. BFQ shares a device by budgets of sectors proportional to the
/// weights while both queues are backlogged: 5:1 showed as 3.8–5.2 in the TCG VM
/// (readers in separate halves, low_latency off), equal weights as 0.97–1.03. About
/// one run in eight gave 1.0 for 5:1 (BFQ serving both alike for the whole window,
/// cause unknown): a second pair of readers is started then, and a runtime that
/// writes no weight fails both. At least 2:1 is asked; equal weights must stay
/// within 1.5:1 either way.
const MIN_WEIGHTED_RATIO: f64 = 2.0;
const MAX_EQUAL_RATIO: f64 = 1.5;
/// The window over which both readers' bytes are counted, after both have started.
/// With strict guarantees BFQ serves one queue at a time in slices; 5 s gave equal
/// weights 0.84-1.50:1 under TCG, too few slices for the 1.5 bound.
const WINDOW: Duration = Duration::from_secs(10);

/// Bytes read from `majmin` by cgroup `name`: v2 `io.stat` rbytes, v1
/// `blkio.bfq.io_service_bytes` Read (BFQ's own count: v1's throttle counters stay
/// at 0 in a cgroup with no throttle rule).
fn read_bytes(parent: &ScratchParent, name: &str, majmin: &str) -> Option<u64> {
    let (ctrl, file) = match parent.tree.version {
        Version::V2 => ("io", "io.stat"),
        Version::V1 => ("blkio", "blkio.bfq.io_service_bytes"),
    };
    let text = std::fs::read_to_string(parent.dir(ctrl, name)?.join(file)).ok()?;
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        if w.next() != Some(majmin) {
            return None;
        }
        match parent.tree.version {
            Version::V2 => w.find_map(|f| f.strip_prefix("rbytes=")).and_then(|v| v.parse().ok()),
            Version::V1 => (w.next() == Some("Read")).then(|| w.next()?.parse().ok()).flatten(),
        }
    })
}

/// Two containers with `--io-weight a` and `b`, each reading the device in a loop;
/// the bytes each read in [`WINDOW`] once both run, and the first run (for its
/// command line).
fn weighted_reads(
    ctx: &Ctx,
    parent: &ScratchParent,
    dev: &LoopDevice,
    majmin: &str,
    weights: (&str, &str),
    tag: &str,
) -> Result<(u64, u64, crate::runtime::Run), Outcome> {
    // Each in a half of its own: BFQ merges the queues of processes that read
    // close sectors (cooperating readers), and a merged queue has one weight.
    let script = |offset: &str| {
        format!(
            "while :; do {p} read {d} --offset {offset} --bytes 2G --block 64K --direct >/dev/null || exit 1; done",
            p = crate::runtime::shell_quote(ctx.probe()),
            d = dev.path
        )
    };
    let (na, nb) = (
        ctx.unique(&format!("iow{tag}a-"), 30),
        ctx.unique(&format!("iow{tag}b-"), 30),
    );
    let a = ctx.spawn(
        &["--cgroup", &na, "--io-weight", weights.0],
        &["/bin/sh", "-c", &script("0")],
    )?;
    let b = ctx.spawn(
        &["--cgroup", &nb, "--io-weight", weights.1],
        &["/bin/sh", "-c", &script("2G")],
    )?;
    let bytes = |n: &str| read_bytes(parent, n, majmin).unwrap_or(0);
    // Both reading (and a second of it), or the time is up.
    let deadline = Instant::now() + Duration::from_secs(20);
    while (bytes(&na) == 0 || bytes(&nb) == 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let (a0, b0) = (bytes(&na), bytes(&nb));
    std::thread::sleep(WINDOW);
    let (a1, b1) = (bytes(&na), bytes(&nb));
    let run_a = a.stop();
    let run_b = b.stop();
    for run in [&run_a, &run_b] {
        if run.spawn_error.is_some() || run.code() == Some(labkit::contract::EXIT_RUNTIME) {
            return Err(fail(
                crate::t!(
                    "two readers with --io-weight {} and {} to run",
                    "--io-weight {}과(와) {}인 두 읽기 컨테이너가 실행됨",
                    weights.0,
                    weights.1
                ),
                crate::t!("{}; {}", "{}; {}", run.ending(), run.stderr_tail(3)),
                run,
            ));
        }
    }
    Ok((a1.saturating_sub(a0), b1.saturating_sub(b0), run_a))
}

/// Pass: two containers read the same loop device (BFQ its scheduler) with direct
/// I/O, `--io-weight 500` and `--io-weight 100`; over 10 s the first reads at least
/// twice as much (cgroup byte counters, not the runtime's word), in the first pair
/// of readers or a second one. Control: both at
/// weight 100 read within 1.5:1, in the first pair or a second one. Fail: otherwise, or a runtime error. Broken: a
/// reader read nothing in the window. Skip: no io controller, or no BFQ, the only
/// Linux I/O scheduler that honours weights (mq-deadline, kyber and none ignore them).
// Long: setup, the contended run, its control and the verdicts read as one sequence.
pub(super) fn io_weight_shares(ctx: &Ctx) -> CheckResult {
    // Sparse, and large enough that neither reader reaches its end (and starts a
    // new process, whose new BFQ queue starts from nothing) during the window.
    let (parent, dev, majmin) = io_device(ctx, "io-weight.img", 4 << 30)?;
    // The scheduler of the checker's own device: BFQ if this kernel has it.
    let queue = format!("/sys/block/{}/queue", dev.path.trim_start_matches("/dev/"));
    let schedulers = std::fs::read_to_string(format!("{queue}/scheduler")).unwrap_or_default();
    if !schedulers
        .split_whitespace()
        .any(|s| s.trim_matches(['[', ']']) == "bfq")
    {
        return Err(skip(crate::t!(
            "no BFQ I/O scheduler on this kernel ({}: {}; modprobe bfq): no other scheduler honours io weights",
            "이 커널에는 BFQ I/O 스케줄러가 없습니다({}: `{}`; `modprobe bfq`). 다른 스케줄러는 io 가중치를 따르지 않습니다",
            dev.path,
            schedulers.trim()
        )));
    }
    std::fs::write(format!("{queue}/scheduler"), "bfq").map_err(|e| {
        broken(crate::t!(
            "choosing bfq for {}: {e}",
            "{}에 bfq를 고르지 못했습니다: {e}",
            dev.path
        ))
    })?;
    // BFQ's low-latency heuristics raise a queue that looks interactive for a
    // while; two identical readers need none of that to share by weight.
    let _ = std::fs::write(format!("{queue}/iosched/low_latency"), "0");
    // A loop device is non-rotational with a deep queue: without strict guarantees
    // BFQ may keep both queues' requests in flight at once and not idle for the heavy
    // one, and the share then hangs on timing (a fresh CI run once saw 508 : 489 MiB
    // at 500:100, both pairs: as if BFQ counted one group with requests, which some
    // 6.1 kernels miscount). Strict guarantees make BFQ idle and dispatch by weight.
    let _ = std::fs::write(format!("{queue}/iosched/strict_guarantees"), "1");

    let (mut a, mut b, mut run) = weighted_reads(ctx, parent, &dev, &majmin, (HEAVY, LIGHT), "w")?;
    if b > 0 && (a as f64) < MIN_WEIGHTED_RATIO * b as f64 {
        ctx.note(format!(
            "weights {HEAVY}:{LIGHT}, first pair: {} : {} MiB; a second pair of readers",
            a / MIB,
            b / MIB
        ));
        (a, b, run) = weighted_reads(ctx, parent, &dev, &majmin, (HEAVY, LIGHT), "v")?;
    }
    if a == 0 || b == 0 {
        return Err(host_too_busy(crate::t!(
            "a reader read nothing in {} s (weight {HEAVY}: {a} bytes, {LIGHT}: {b} bytes)",
            "{}초 동안 한 컨테이너가 아무것도 읽지 못했습니다(가중치 {HEAVY}: {a}바이트, {LIGHT}: {b}바이트)",
            WINDOW.as_secs()
        )));
    }
    let ratio = a as f64 / b as f64;
    ctx.note(format!(
        "weights {HEAVY}:{LIGHT}: {} : {} MiB in {} s, ratio {ratio:.2}",
        a / MIB,
        b / MIB,
        WINDOW.as_secs()
    ));
    ensure(
        ratio >= MIN_WEIGHTED_RATIO,
        crate::t!(
            "the container with --io-weight {HEAVY} to read at least {MIN_WEIGHTED_RATIO} times as much as the one with {LIGHT} from one BFQ device",
            "--io-weight {HEAVY}인 컨테이너가 같은 BFQ 장치에서 {LIGHT}인 컨테이너의 {MIN_WEIGHTED_RATIO}배 이상을 읽음"
        ),
        crate::t!(
            "{} MiB : {} MiB in {} s, ratio {ratio:.2}",
            "{}초 동안 {} MiB : {} MiB, 비율 {ratio:.2}",
            a / MIB,
            b / MIB,
            WINDOW.as_secs()
        ),
        &run,
    )?;
    const WITHOUT: &str = "with equal weights";
    let (mut ca, mut cb, mut crun) =
        crate::outcome::as_control(WITHOUT, weighted_reads(ctx, parent, &dev, &majmin, (LIGHT, LIGHT), "c"))?;
    // A second pair, as for the weighted one: BFQ serves one queue at a time in
    // slices, so a share over a window is a count of slices, with its noise.
    let equal = |a: u64, b: u64| b > 0 && (1.0 / MAX_EQUAL_RATIO..=MAX_EQUAL_RATIO).contains(&(a as f64 / b as f64));
    if !equal(ca, cb) {
        ctx.note(format!(
            "weights {LIGHT}:{LIGHT}, first pair: {} : {} MiB; a second pair of readers",
            ca / MIB,
            cb / MIB
        ));
        (ca, cb, crun) =
            crate::outcome::as_control(WITHOUT, weighted_reads(ctx, parent, &dev, &majmin, (LIGHT, LIGHT), "d"))?;
    }
    if ca == 0 || cb == 0 {
        return Err(host_too_busy(crate::t!(
            "a reader of the control read nothing in {} s ({ca} and {cb} bytes)",
            "대조 실행의 한 컨테이너가 {}초 동안 아무것도 읽지 못했습니다({ca}, {cb}바이트)",
            WINDOW.as_secs()
        )));
    }
    let cratio = ca as f64 / cb as f64;
    ctx.note(format!("weights {LIGHT}:{LIGHT}: ratio {cratio:.2}"));
    if !(1.0 / MAX_EQUAL_RATIO..=MAX_EQUAL_RATIO).contains(&cratio) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "two readers at --io-weight {LIGHT} within {MAX_EQUAL_RATIO}:1 of each other",
                "--io-weight {LIGHT}인 두 컨테이너가 서로 {MAX_EQUAL_RATIO}:1 이내로 읽음"
            ),
            crate::t!(
                "{} MiB : {} MiB, ratio {cratio:.2}",
                "{} MiB : {} MiB, 비율 {cratio:.2}",
                ca / MIB,
                cb / MIB
            ),
            &crun,
        ));
    }
    Ok(())
}
