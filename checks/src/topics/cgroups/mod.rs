//! cgroups: the limits a runtime sets are enforced by the kernel, observed by
//! workloads inside (the probe) and by the cgroup files on the host, read through
//! the checker's own v2-named view (aliased to v1). Reading back what the runtime
//! wrote is never enough. Every check has a control without the limit.
//!
//! Verdict rules (each check's comment adds its own): a control is a run through the
//! runtime without the limit, so it is the runtime's: a control that shows a limit
//! nobody asked for fails the check, naming the control run. Timing verdicts rest on
//! the kernel's own counters (throttling, frozen state, timestamps the probe took)
//! rather than on how much CPU a busy host happened to give; when the host is too
//! busy to decide, the check is `broken` ("host too busy: ..."), never failed.
//!
//! One file per controller, as youki's libcgroups and the kernel's selftests split
//! them; this one holds the catalog entries and what several controllers share.

mod cpu;
mod cpuset;
mod devices;
mod freezer;
mod io;
mod memory;
mod monitoring;
mod net_cls;
mod pids;

use std::time::{Duration, Instant};

use labkit::cgroups::Stats;
use labkit::probe::{Affinity, Count, CpuSpin, Forks, MemStep, Open, Spinning};

use crate::cgview::{ScratchParent, Version};
use crate::check::{Check, Requirement as R};
use crate::ctx::{js, Ctx};
use crate::outcome::{control_fail, ensure, fail, host_too_busy, skip, CheckResult, Outcome};

const MIB: u64 = 1 << 20;

macro_rules! check {
    ($id:literal, $title:literal, uses = [$($u:literal),*], requires = [$($r:expr),*], serial = $s:expr, $f:path) => {
        Check {
            id: $id,
            topic: "cgroups",
            title: $title,
            uses: &[$($u),*],
            requires: &[R::Root, $($r),*],
            serial: $s,
            run: $f,
        }
    };
}

// Long: the catalog is a table, one entry per check.
pub fn checks() -> Vec<Check> {
    let mut v = vec![
        check!(
            "cgroups.memory.oom-kill-at-limit",
            "allocating past --memory is OOM-killed (137) near the limit and oom_kill rises; below it completes",
            uses = ["--cgroup", "--memory"],
            requires = [R::Command("sh")],
            // Under a runtime that lets a container swap, both fill the host's swap
            // (the VM's 256 MiB of zram): side by side, one's control or kill point
            // would hang on how far the other got.
            serial = Some("swap"),
            memory::oom_kill_at_limit
        ),
        check!(
            "cgroups.memory.swap-does-not-escape-limit",
            "with swap on the host, allocating three times --memory is still OOM-killed: the limit holds swap too",
            uses = ["--cgroup", "--memory"],
            requires = [R::Command("sh")],
            serial = Some("swap"),
            memory::swap_does_not_escape
        ),
        check!(
            "cgroups.memory.low-protects-from-reclaim",
            "under a parent's memory pressure --memory-low keeps a container's page cache while its sibling is reclaimed",
            uses = ["--cgroup", "--memory-low"],
            requires = [R::Command("sh"), R::Command("losetup")],
            serial = None,
            memory::memory_low_protects
        ),
        check!(
            "cgroups.cpu.quota-throttles",
            "with a 20% CPU quota a busy probe is throttled to about 20% of a CPU",
            uses = ["--cgroup", "--cpus"],
            requires = [],
            serial = Some(crate::check::EXCLUSIVE_KEY),
            cpu::cpu_quota
        ),
        check!(
            "cgroups.cpu.weight-shares-contended-cpu",
            "with --cpu-weight 500 and 300 two busy containers on one CPU share it about 5:3",
            uses = ["--cgroup", "--cpu-weight"],
            requires = [],
            serial = Some(crate::check::EXCLUSIVE_KEY),
            cpu::cpu_weight_shares
        ),
        check!(
            "cgroups.pids.fork-limit",
            "forking past --pids fails with EAGAIN and pids.events max rises",
            uses = ["--cgroup", "--pids"],
            requires = [],
            serial = None,
            pids::pids_limit
        ),
        check!(
            "cgroups.pids.threads-count",
            "threads count against --pids as processes do: the tenth task cannot be a thread either",
            uses = ["--cgroup", "--pids"],
            requires = [],
            serial = None,
            pids::pids_count_threads
        ),
        check!(
            "cgroups.freezer.pause-stops-processes",
            "`pause` freezes a counting probe and `resume` lets it go on",
            uses = ["--cgroup", "pause", "resume"],
            requires = [],
            serial = None,
            freezer::freezer
        ),
        check!(
            "cgroups.freezer.pause-stops-a-fork-storm",
            "`pause` freezes a probe that forks without pause whole: no new PID while frozen; `resume` lets it go on",
            uses = ["--cgroup", "pause", "resume"],
            requires = [],
            serial = None,
            freezer::freezer_forking
        ),
        check!(
            "cgroups.devices.deny-blocks-open",
            "with --deny-device c:1:3 opening /dev/null fails with EPERM, other devices open",
            uses = ["--cgroup", "--deny-device"],
            requires = [],
            serial = None,
            devices::devices_deny
        ),
        check!(
            "cgroups.cpuset.pins-to-cpus",
            "with --cpuset 0 the probe may run on CPU 0 only",
            uses = ["--cgroup", "--cpuset"],
            requires = [],
            serial = None,
            cpuset::cpuset_pins
        ),
        check!(
            "cgroups.monitoring.stats-match-files",
            "`stats` of a running container matches the cgroup files",
            uses = ["--cgroup", "stats"],
            requires = [],
            serial = None,
            monitoring::stats_match
        ),
        check!(
            "cgroups.monitoring.events-counted",
            "after an OOM kill and a throttled burn `stats` counts them as the cgroup files do",
            uses = ["--cgroup", "--memory", "--cpus", "stats"],
            requires = [R::Command("sh")],
            serial = None,
            monitoring::events_counted
        ),
    ];
    v.extend([
        Check {
            id: "cgroups.io.write-bps-throttled",
            topic: "cgroups",
            title: "direct writes are throttled to --io-wbps",
            uses: &["--cgroup", "--io-wbps"],
            requires: &[R::Root, R::Command("losetup")],
            // It measures throughput: never next to another I/O check.
            serial: Some("io"),
            run: io::write_bps_throttled,
        },
        Check {
            id: "cgroups.io.read-bps-throttled",
            topic: "cgroups",
            title: "direct reads are throttled to --io-rbps",
            uses: &["--cgroup", "--io-rbps"],
            requires: &[R::Root, R::Command("losetup")],
            serial: Some("io"),
            run: io::read_bps_throttled,
        },
        Check {
            id: "cgroups.io.weight-shares-contended-device",
            topic: "cgroups",
            title: "with --io-weight 500 and 100 two readers of one BFQ device share it at least 2:1",
            uses: &["--cgroup", "--io-weight"],
            requires: &[R::Root, R::Command("losetup"), R::Command("sh")],
            // A ratio of throughputs: alone, as the CPU weight check.
            serial: Some(crate::check::EXCLUSIVE_KEY),
            run: io::io_weight_shares,
        },
        Check {
            id: "cgroups.net-cls.classid-tags-traffic",
            topic: "cgroups",
            title: "with --net-classid a socket's traffic carries the class id",
            uses: &["--cgroup", "--net-classid"],
            requires: &[R::Root, R::Command("nft")],
            // It may mount the (host-wide) net_cls hierarchy.
            serial: Some("net_cls"),
            run: net_cls::classid_tags_traffic,
        },
    ]);
    v
}

/// The checker's parent, and skip unless the host offers `controller` (v1 name;
/// for v2 the matching v2 controller or core feature).
fn parent_with<'a>(ctx: &'a Ctx, controller: &str) -> Result<&'a ScratchParent, Outcome> {
    let p = ctx.cgroup_parent()?;
    let v2_name = match controller {
        "cpuacct" => "cpu",
        "blkio" => "io",
        other => other,
    };
    let has = match p.tree.version {
        Version::V1 => p.tree.has(controller),
        Version::V2 => p.tree.has(v2_name),
    };
    if !has {
        let v = if p.tree.version == Version::V1 { "v1" } else { "v2" };
        return Err(skip(crate::t!(
            "cgroup {v} {v2_name} controller not available to the checker's cgroup",
            "검사기의 cgroup에서 cgroup {v} {v2_name} 컨트롤러를 쓸 수 없습니다"
        )));
    }
    Ok(p)
}

fn allocated(run: &crate::runtime::Run) -> u64 {
    run.lines_as::<MemStep>()
        .iter()
        .map(|l| l.allocated_bytes)
        .max()
        .unwrap_or(0)
}

/// The line the OOM check's shell prints after the probe ends.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct ChildExit {
    child_exit: i32,
}

/// Starts `probe mem --total 64M --hold 20` in cgroup `name` and waits until done.
pub(super) fn holding_memory(ctx: &Ctx, name: &str) -> Result<crate::runtime::Spawned, Outcome> {
    let sp = ctx.spawn(
        &["--cgroup", name, "--memory", "512M"],
        &[ctx.probe(), "mem", "--total", "64M", "--step", "8M", "--hold", "20"],
    )?;
    if !wait_done(&sp) {
        let run = sp.stop();
        return Err(fail(
            crate::t!(
                "the probe to allocate 64 MiB and hold it",
                "probe가 64 MiB를 할당해서 쥐고 있음"
            ),
            crate::t!("{}; {}", "{}; {}", run.ending(), run.stdout_text().trim()),
            &run,
        ));
    }
    Ok(sp)
}

/// Waits (20 s at most) for the `mem` line that says the allocation is done.
pub(super) fn wait_done(sp: &crate::runtime::Spawned) -> bool {
    let end = Instant::now() + Duration::from_secs(20);
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match sp.next_as::<MemStep>(left) {
            Some(MemStep { done: Some(true), .. }) => return true,
            Some(_) => {}
            None => return false,
        }
    }
    false
}

/// The runtime's `stats NAME`: one JSON object of the contract's figures.
pub(super) fn stats_json(ctx: &Ctx, name: &str) -> Result<(crate::runtime::Run, Stats), Outcome> {
    let run = ctx.contract("stats", name);
    let last = run.json_lines().pop();
    match (run.code(), last.clone().map(serde_json::from_value::<Stats>)) {
        (Some(0), Some(Ok(s))) => Ok((run, s)),
        (_, _) => Err(fail(
            crate::t!(
                "`stats {name}` to print one JSON object and exit 0",
                "`stats {name}`의 출력은 JSON 객체 하나, 종료 상태는 0"
            ),
            crate::t!("{}; output {}", "{}; 출력 {}", run.ending(), crate::ctx::js(&last)),
            &run,
        )),
    }
}
