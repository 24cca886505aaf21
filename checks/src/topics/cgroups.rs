//! cgroups: the limits a runtime sets are enforced by the kernel, observed by
//! workloads inside (the probe) and by the cgroup files on the host, read through
//! the checker's own v2-named view (aliased to v1). Reading back what the runtime
//! wrote is never enough. Every check has a control without the limit.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::catalog::{Check, Requirement as R};
use crate::cgview::{ScratchParent, Version};
use crate::ctx::Ctx;
use crate::outcome::{control_failed, ensure, fail, skip, CheckResult, Outcome};

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

pub fn checks() -> Vec<Check> {
    let mut v = vec![
        check!("cgroups.memory.oom-kill-at-limit", "allocating past --memory is OOM-killed (137) near the limit and oom_kill rises; below it completes",
            uses = ["--cgroup", "--memory"], requires = [R::Command("sh")], serial = None, oom_kill_at_limit),
        check!("cgroups.memory.usage-matches-allocation", "memory use reported by `stats` matches what the probe allocated",
            uses = ["--cgroup", "--memory", "stats"], requires = [], serial = None, usage_matches),
        check!("cgroups.cpu.quota-throttles", "with a 20% CPU quota a busy probe is throttled to about 20% of a CPU",
            uses = ["--cgroup", "--cpus"], requires = [], serial = Some(crate::runner::EXCLUSIVE_KEY), cpu_quota),
        check!("cgroups.pids.fork-limit", "forking past --pids fails with EAGAIN and pids.events max rises",
            uses = ["--cgroup", "--pids"], requires = [], serial = None, pids_limit),
        check!("cgroups.freezer.pause-stops-processes", "`pause` freezes a counting probe and `resume` lets it go on",
            uses = ["--cgroup", "pause", "resume"], requires = [], serial = None, freezer),
        check!("cgroups.devices.deny-blocks-open", "with --deny-device c:1:3 opening /dev/null fails with EPERM, other devices open",
            uses = ["--cgroup", "--deny-device"], requires = [], serial = None, devices_deny),
        check!("cgroups.cpuset.pins-to-cpus", "with --cpuset 0 the probe may run on CPU 0 only",
            uses = ["--cgroup", "--cpuset"], requires = [], serial = None, cpuset_pins),
        check!("cgroups.monitoring.stats-match-files", "`stats` of a running container matches the cgroup files",
            uses = ["--cgroup", "stats"], requires = [], serial = None, stats_match),
    ];
    v.extend(crate::topics::cgroups_io::checks());
    v
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
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
        return Err(skip(format!("cgroup {v} {v2_name} controller not available to the checker's cgroup")));
    }
    Ok(p)
}

fn allocated(run: &crate::runtime::Run) -> u64 {
    run.json_lines().iter().filter_map(|l| l.get("allocated_bytes").and_then(Value::as_u64)).max().unwrap_or(0)
}

// ---------------------------------------------------------------- memory

fn oom_kill_at_limit(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "memory")?;
    const LIMIT: u64 = 32 * MIB;
    const STEP: u64 = 4 * MIB;
    let name = ctx.unique("oom-", 30);
    let run = ctx.run(&["--cgroup", &name, "--memory", "32M"], &[ctx.probe(), "mem", "--total", "256M", "--step", "4M"])?;
    let reached = allocated(&run);
    ctx.note(format!("32 MiB limit: last progress at {} MiB, {}", reached / MIB, run.ending()));
    ensure(run.code() == Some(137), "the probe OOM-killed: exit status 137", format!("{}; allocated {} MiB", run.ending(), reached / MIB), &run)?;
    // Tolerance: the kill comes within the step that crosses the limit; the probe's
    // own pages (binary, stack, page tables) count too, so it may come earlier, but
    // not before half the limit.
    ensure(
        reached >= LIMIT / 2 && reached <= LIMIT + STEP,
        format!("the kill between {} and {} MiB of allocation", LIMIT / 2 / MIB, (LIMIT + STEP) / MIB),
        format!("the last progress at {} MiB", reached / MIB),
        &run,
    )?;
    // The kernel's own count: the container stays up (a shell waits) after the
    // probe is killed, so its cgroup can be read.
    let name2 = ctx.unique("oomc-", 30);
    let script = r#""$0" mem --total 256M --step 4M; echo "{\"child_exit\": $?}"; exec "$0" sleep 20"#;
    let sp = ctx.spawn(&["--cgroup", &name2, "--memory", "32M"], &["/bin/sh", "-c", script, ctx.probe()])?;
    let child = sp.next_json_with("child_exit", Duration::from_secs(20));
    let kills = parent.read(&name2, "memory.events:oom_kill");
    let run2 = sp.stop();
    ensure(
        child.as_ref().map(|c| field(c, "child_exit") == 137).unwrap_or(false),
        "the allocating probe killed by SIGKILL (137) inside a container that lives on",
        format!("{child:?}"),
        &run2,
    )?;
    ensure(
        kills.unwrap_or(0) >= 1,
        "the cgroup's OOM-kill counter (memory.events oom_kill / v1 memory.oom_control oom_kill) at 1 or more",
        format!("{kills:?}"),
        &run2,
    )?;
    // The same allocation below a limit completes (a limit in the wrong unit would not).
    let name4 = ctx.unique("oomb-", 30);
    let brun = ctx.run(&["--cgroup", &name4, "--memory", "512M"], &[ctx.probe(), "mem", "--total", "256M", "--step", "8M"])?;
    ensure(
        brun.code() == Some(0) && allocated(&brun) == 256 * MIB,
        "256 MiB allocated under a 512 MiB limit, exit 0",
        format!("{}; allocated {} MiB", brun.ending(), allocated(&brun) / MIB),
        &brun,
    )?;
    // Control: the same allocation without a memory limit completes.
    let name3 = ctx.unique("oomx-", 30);
    let crun = ctx.run(&["--cgroup", &name3], &[ctx.probe(), "mem", "--total", "256M", "--step", "4M"])?;
    if crun.code() != Some(0) || allocated(&crun) != 256 * MIB {
        return Err(control_failed(format!("without --memory: {}, allocated {} MiB", crun.ending(), allocated(&crun) / MIB), &crun));
    }
    Ok(())
}

/// Starts `probe mem --total 64M --hold 20` in cgroup `name` and waits until done.
fn holding_memory(ctx: &Ctx, name: &str) -> Result<crate::runtime::Spawned, Outcome> {
    let sp = ctx.spawn(&["--cgroup", name, "--memory", "512M"], &[ctx.probe(), "mem", "--total", "64M", "--step", "8M", "--hold", "20"])?;
    if sp.next_json_with("done", Duration::from_secs(20)).is_none() {
        let run = sp.stop();
        return Err(fail("the probe to allocate 64 MiB and hold it", format!("{}; {}", run.ending(), run.stdout_text().trim()), &run));
    }
    Ok(sp)
}

fn stats_json(ctx: &Ctx, name: &str) -> Result<(crate::runtime::Run, Value), Outcome> {
    let run = ctx.contract("stats", name);
    match (run.code(), run.json_lines().pop()) {
        (Some(0), Some(v)) => Ok((run, v)),
        (_, v) => Err(fail(format!("`stats {name}` to print one JSON object and exit 0"), format!("{}; {v:?}", run.ending()), &run)),
    }
}

fn usage_matches(ctx: &Ctx) -> CheckResult {
    parent_with(ctx, "memory")?;
    let name = ctx.unique("use-", 30);
    let sp = holding_memory(ctx, &name)?;
    let stats = stats_json(ctx, &name);
    let run = sp.stop();
    let (srun, st) = stats?;
    let used = field(&st, "memory_current_bytes").as_u64();
    // Tolerance: the probe's own pages, its page tables and the init add a few MiB
    // to the 64 MiB it touched; 16 MiB covers them with room.
    ensure(
        used.map_or(false, |u| (64 * MIB..=80 * MIB).contains(&u)),
        "memory_current_bytes between 64 and 80 MiB while the probe holds 64 MiB",
        format!("{used:?}"),
        &srun,
    )?;
    let _ = run;
    Ok(())
}

// ---------------------------------------------------------------- cpu

fn cpu_quota(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "cpu")?;
    // Tolerances, lopsided so that a busy 2-core machine never flakes: a 20% quota
    // must keep the probe at or under 30% of a CPU; without it the probe must get
    // at least 40% and half as much again as under the quota. The check runs with
    // no other check beside it (serial key "exclusive"); the control spins at the
    // same time as the limited probe: together they ask for 1.2 CPUs, which even a
    // single CPU's share leaves the control far above its minimum, and the check
    // holds the machine half as long.
    const LIMITED_MAX: f64 = 0.30;
    const FREE_MIN: f64 = 0.40;
    let name = ctx.unique("cpu-", 30);
    let name2 = ctx.unique("cpux-", 30);
    let sp = ctx.spawn(&["--cgroup", &name, "--cpus", "20000/100000"], &[ctx.probe(), "cpu", "--secs", "2"])?;
    let control = ctx.spawn(&["--cgroup", &name2], &[ctx.probe(), "cpu", "--secs", "2"])?;
    std::thread::sleep(Duration::from_millis(1500));
    let throttled = parent.read(&name, "cpu.stat:nr_throttled");
    let run = sp.wait(Duration::from_secs(30));
    let r = run.json_lines().pop().unwrap_or(Value::Null);
    let ratio = |r: &Value| field(r, "cpu_usec").as_f64().unwrap_or(f64::NAN) / field(r, "wall_usec").as_f64().unwrap_or(f64::NAN);
    ensure(run.code() == Some(0), "the probe to spin 2 s and exit 0", run.ending(), &run)?;
    let limited = ratio(&r);
    ctx.note(format!("20% quota: {limited:.3} of a CPU, nr_throttled {throttled:?}"));
    ensure(
        limited <= LIMITED_MAX,
        format!("CPU time / wall time at most {LIMITED_MAX} under a 20% quota"),
        format!("{limited:.3} (cpu {} us over {} us)", field(&r, "cpu_usec"), field(&r, "wall_usec")),
        &run,
    )?;
    ensure(
        throttled.unwrap_or(0) > 0,
        "nr_throttled above 0 in the cgroup's cpu.stat",
        format!("{throttled:?}"),
        &run,
    )?;
    let crun = control.wait(Duration::from_secs(30));
    let free = ratio(&crun.json_lines().pop().unwrap_or(Value::Null));
    ctx.note(format!("no quota: {free:.3} of a CPU"));
    if !(free >= FREE_MIN && free >= 1.5 * limited) {
        return Err(control_failed(format!("without a quota the probe got {free:.3} of a CPU"), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- pids

fn pids_limit(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "pids")?;
    let name = ctx.unique("pids-", 30);
    let sp = ctx.spawn(&["--cgroup", &name, "--pids", "10"], &[ctx.probe(), "forks", "--max", "100", "--hold", "20"])?;
    let report = sp.next_json_with("holding", Duration::from_secs(15));
    let events = parent.read(&name, "pids.events:max");
    let current = parent.read(&name, "pids.current");
    let run = sp.stop();
    let report = report.ok_or_else(|| fail("the probe to report its forks", format!("{}; {}", run.ending(), run.stdout_text().trim()), &run))?;
    let forked = field(&report, "forked").as_u64().unwrap_or(0);
    ensure(
        field(&report, "error") == "EAGAIN" && forked < 10,
        "fork refused with EAGAIN before 10 processes exist in the cgroup",
        format!("forked {forked}, error {}", field(&report, "error")),
        &run,
    )?;
    ensure(current == Some(10), "pids.current at the limit, 10", format!("{current:?}"), &run)?;
    ensure(events.unwrap_or(0) >= 1, "pids.events max at 1 or more", format!("{events:?}"), &run)?;
    let name2 = ctx.unique("pidsx-", 30);
    let (crun, c) = ctx.probe_json(&["--cgroup", &name2, "--pids", "1000"], &["forks", "--max", "50"])?;
    if field(&c, "forked") != 50 {
        return Err(control_failed(format!("under a limit of 1000 the probe forked {}", field(&c, "forked")), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- freezer

/// Counts printed by `sp` within `window`.
fn counts_within(sp: &crate::runtime::Spawned, window: Duration) -> Vec<i64> {
    let end = Instant::now() + window;
    let mut v = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match sp.next_line(left) {
            Some(l) => {
                if let Some(c) = serde_json::from_str::<Value>(&l).ok().and_then(|j| j.get("count").and_then(Value::as_i64)) {
                    v.push(c);
                }
            }
            None => break,
        }
    }
    v
}

fn freezer(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "freezer")?;
    let name = ctx.unique("frz-", 30);
    let sp = ctx.spawn(&["--ns", "pid", "--cgroup", &name], &[ctx.probe(), "count", "--interval-ms", "10"])?;
    // The container may take a while to start (a second or more in an emulated VM):
    // the windows below open once the probe counts.
    if sp.next_json_with("count", Duration::from_secs(20)).is_none() {
        let run = sp.stop();
        return Err(fail("the probe to count every 10 ms", "no count within 20 s of the start", &run));
    }
    // Control first: unpaused, the count advances.
    let before = counts_within(&sp, Duration::from_millis(300));
    if before.len() < 3 {
        let run = sp.stop();
        return Err(fail("the probe to count every 10 ms", format!("{} counts in 300 ms", before.len()), &run));
    }
    let p = ctx.contract("pause", &name);
    if p.code() != Some(0) {
        let _ = sp.stop();
        return Err(fail(format!("`pause {name}` to exit 0"), p.ending(), &p));
    }
    let frozen = parent.frozen(&name);
    // Lines written before the freeze may still be in the pipe: drain, then watch.
    let _ = counts_within(&sp, Duration::from_millis(100));
    let during = counts_within(&sp, Duration::from_millis(500));
    let r = ctx.contract("resume", &name);
    let after = counts_within(&sp, Duration::from_millis(300));
    let run = sp.stop();
    ensure(frozen == Some(true), "the kernel to report the cgroup frozen (freezer.state FROZEN / cgroup.events frozen 1)", format!("{frozen:?}"), &p)?;
    ensure(during.is_empty(), "no count while paused", format!("{} counts: {:?}", during.len(), &during[..during.len().min(5)]), &p)?;
    ensure(r.code() == Some(0), format!("`resume {name}` to exit 0"), r.ending(), &r)?;
    ensure(after.len() >= 3, "counting to go on after resume", format!("{} counts in 300 ms", after.len()), &run)?;
    Ok(())
}

// ---------------------------------------------------------------- devices

fn devices_deny(ctx: &Ctx) -> CheckResult {
    parent_with(ctx, "devices")?;
    let name = ctx.unique("dev-", 30);
    let opts = ["--cgroup", name.as_str(), "--deny-device", "c:1:3"];
    let (run, null) = ctx.probe_json(&opts, &["open", "/dev/null", "--write"])?;
    ensure(
        field(&null, "error") == "EPERM",
        "opening /dev/null (c 1:3) to fail with EPERM",
        format!("ok {}, error {}", field(&null, "ok"), field(&null, "error")),
        &run,
    )?;
    let name2 = ctx.unique("dev-", 30);
    let (run, zero) = ctx.probe_json(&["--cgroup", &name2, "--deny-device", "c:1:3"], &["open", "/dev/zero"])?;
    ensure(field(&zero, "ok") == true, "/dev/zero (c 1:5) still to open", zero.to_string(), &run)?;
    let name3 = ctx.unique("devx-", 30);
    let (crun, c) = ctx.probe_json(&["--cgroup", &name3], &["open", "/dev/null", "--write"])?;
    if field(&c, "ok") != true {
        return Err(control_failed(format!("without --deny-device /dev/null did not open: {c}"), &crun));
    }
    Ok(())
}

// ---------------------------------------------------------------- cpuset

fn cpuset_pins(ctx: &Ctx) -> CheckResult {
    parent_with(ctx, "cpuset")?;
    let name = ctx.unique("cpus-", 30);
    let (run, a) = ctx.probe_json(&["--cgroup", &name, "--cpuset", "0"], &["affinity"])?;
    ensure(field(&a, "cpus") == &Value::from(vec![0]), "affinity CPU 0 only", field(&a, "cpus").to_string(), &run)?;
    let name2 = ctx.unique("cpusx-", 30);
    let (crun, c) = ctx.probe_json(&["--cgroup", &name2], &["affinity"])?;
    if field(&c, "cpus").as_array().map_or(0, Vec::len) < 2 {
        return Err(skip(format!(
            "the host gives the checker one CPU only ({}): pinning cannot be told apart (control: {})",
            field(&c, "cpus"),
            crun.command_line()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------- monitoring

fn stats_match(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "memory")?;
    let name = ctx.unique("mon-", 30);
    let sp = holding_memory(ctx, &name)?;
    let before = (parent.read(&name, "memory.current"), parent.read(&name, "cpu.stat:usage_usec"), parent.read(&name, "pids.current"));
    let stats = stats_json(ctx, &name);
    let after = (parent.read(&name, "memory.current"), parent.read(&name, "cpu.stat:usage_usec"), parent.read(&name, "pids.current"));
    let run = sp.stop();
    let (srun, st) = stats?;
    let got = |k: &str| field(&st, k).as_u64();
    let within = |v: Option<u64>, a: Option<u64>, b: Option<u64>, slack: u64| match (v, a, b) {
        (Some(v), Some(a), Some(b)) => v + slack >= a.min(b) && v <= a.max(b) + slack,
        (_, None, None) => true,
        _ => false,
    };
    // Tolerance: figures move between the reads; memory may differ by 1 MiB, cpu by 10 ms.
    let mem_ok = within(got("memory_current_bytes"), before.0, after.0, MIB);
    let cpu_ok = within(got("cpu_usage_usec"), before.1, after.1, 10_000);
    let pids_ok = within(got("pids_current"), before.2, after.2, 0);
    ensure(
        mem_ok && cpu_ok && pids_ok,
        format!(
            "stats within the cgroup files read around it: memory {:?}..{:?}, cpu usec {:?}..{:?}, pids {:?}..{:?}",
            before.0, after.0, before.1, after.1, before.2, after.2
        ),
        format!(
            "memory {:?}, cpu usec {:?}, pids {:?}",
            got("memory_current_bytes"),
            got("cpu_usage_usec"),
            got("pids_current")
        ),
        &srun,
    )?;
    // The figures must describe this container: its 64 MiB are in its cgroup.
    ensure(
        before.0.unwrap_or(0) >= 64 * MIB,
        format!("cgroup {name}'s memory.current to hold the probe's 64 MiB"),
        format!("{:?} bytes: the container is not in its cgroup", before.0),
        &run,
    )
}
