//! memory: a limit that OOM-kills near it, and usage that `stats` reports.

#[allow(unused_imports)]
use super::*;

/// Pass: allocating past a 32 MiB limit is killed with 137 between 16 and 36 MiB,
/// the cgroup's oom_kill counter rises, and 256 MiB under a 512 MiB limit complete.
/// Fail: otherwise; or the control run (no --memory) not completing 256 MiB.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
pub(super) fn oom_kill_at_limit(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "memory")?;
    const LIMIT: u64 = 32 * MIB;
    const STEP: u64 = 4 * MIB;
    let name = ctx.unique("oom-", 30);
    let run = ctx.run(
        &["--cgroup", &name, "--memory", "32M"],
        &[ctx.probe(), "mem", "--total", "256M", "--step", "4M"],
    )?;
    let reached = allocated(&run);
    ctx.note(format!(
        "32 MiB limit: last progress at {} MiB, {}",
        reached / MIB,
        run.ending()
    ));
    ensure(
        run.code() == Some(137),
        crate::t!(
            "the probe OOM-killed: exit status 137",
            "probe가 OOM으로 죽음: 종료 상태 137"
        ),
        crate::t!("{}; allocated {} MiB", "{}; {} MiB 할당함", run.ending(), reached / MIB),
        &run,
    )?;
    // Tolerance: the kill comes within the step that crosses the limit; the probe's
    // own pages (binary, stack, page tables) count too, so it may come earlier, but
    // not before half the limit.
    ensure(
        (LIMIT / 2..=LIMIT + STEP).contains(&reached),
        crate::t!(
            "the kill between {} and {} MiB of allocation",
            "할당량이 {}에서 {} MiB 사이일 때 죽음",
            LIMIT / 2 / MIB,
            (LIMIT + STEP) / MIB
        ),
        crate::t!("the last progress at {} MiB", "마지막 진행 {} MiB", reached / MIB),
        &run,
    )?;
    // The kernel's own count: the container stays up (a shell waits) after the
    // probe is killed, so its cgroup can be read.
    let name2 = ctx.unique("oomc-", 30);
    let script = r#""$0" mem --total 256M --step 4M; echo "{\"child_exit\": $?}"; exec "$0" sleep 20"#;
    let sp = ctx.spawn(
        &["--cgroup", &name2, "--memory", "32M"],
        &["/bin/sh", "-c", script, ctx.probe()],
    )?;
    let child = sp.next_as::<ChildExit>(Duration::from_secs(20));
    let kills = parent.read(&name2, "memory.events:oom_kill");
    let run2 = sp.stop();
    ensure(
        child.as_ref().is_some_and(|c| c.child_exit == 137),
        crate::t!(
            "the allocating probe killed by SIGKILL (137) inside a container that lives on",
            "할당하던 probe가 SIGKILL(137)로 죽고 컨테이너는 계속 살아 있음"
        ),
        crate::ctx::js(&child),
        &run2,
    )?;
    ensure(
        kills.unwrap_or(0) >= 1,
        crate::t!(
            "the cgroup's OOM-kill counter (memory.events oom_kill / v1 memory.oom_control oom_kill) at 1 or more",
            "cgroup의 OOM kill 횟수(memory.events oom_kill / v1 memory.oom_control oom_kill)가 1 이상"
        ),
        crate::ctx::js(&kills),
        &run2,
    )?;
    // The same allocation below a limit completes (a limit in the wrong unit would not).
    let name4 = ctx.unique("oomb-", 30);
    let brun = ctx.run(
        &["--cgroup", &name4, "--memory", "512M"],
        &[ctx.probe(), "mem", "--total", "256M", "--step", "8M"],
    )?;
    ensure(
        brun.code() == Some(0) && allocated(&brun) == 256 * MIB,
        crate::t!(
            "256 MiB allocated under a 512 MiB limit, exit 0",
            "512 MiB 제한 아래에서 256 MiB를 할당하고 종료 상태 0"
        ),
        crate::t!(
            "{}; allocated {} MiB",
            "{}; {} MiB 할당함",
            brun.ending(),
            allocated(&brun) / MIB
        ),
        &brun,
    )?;
    // Control: the same allocation without a memory limit completes.
    let name3 = ctx.unique("oomx-", 30);
    let crun = ctx.run(
        &["--cgroup", &name3],
        &[ctx.probe(), "mem", "--total", "256M", "--step", "4M"],
    )?;
    if crun.code() != Some(0) || allocated(&crun) != 256 * MIB {
        return Err(control_fail(
            "without --memory",
            crate::t!(
                "256 MiB allocated, exit 0: no memory limit without --memory",
                "256 MiB를 할당하고 종료 상태 0: --memory가 없으면 메모리 제한도 없음"
            ),
            crate::t!(
                "{}; allocated {} MiB",
                "{}; {} MiB 할당함",
                crun.ending(),
                allocated(&crun) / MIB
            ),
            &crun,
        ));
    }
    Ok(())
}

/// The memory.low squeeze: the limit of the parent the three containers share,
/// what each reader reads into its page cache (clean, so reclaimable without swap:
/// the checker's parent has none), and the anonymous memory the third one takes.
const SQUEEZE_PARENT_MAX: u64 = 200 * MIB;
const CACHE: &str = "64M";
const PRESSURE: &str = "112M";
/// What the protected container may lose (its own anonymous pages, rounding), and
/// what reclaim must take from the unprotected one for the squeeze to count.
const KEPT_SLACK: u64 = 8 * MIB;
const RECLAIMED_MIN: u64 = 16 * MIB;

/// Page cache (memory.stat `file`) of the two readers before and after the squeeze.
struct Squeeze {
    a: (u64, u64),
    b: (u64, u64),
    run_a: crate::runtime::Run,
}

/// A memory cgroup of the checker's own under the scratch parent, with the files
/// given written in order; removed when dropped (after its processes are gone).
struct OwnCgroup {
    dir: std::path::PathBuf,
    rel: String,
}

impl OwnCgroup {
    fn make(parent: &ScratchParent, rel: String, files: &[(&str, String)]) -> Result<OwnCgroup, Outcome> {
        let Some(dir) = parent.dir("memory", &rel) else {
            return Err(crate::outcome::broken(
                "no memory cgroup directory for a cgroup of the checker's own",
            ));
        };
        crate::state::add(&labkit::state::Item::Cgroup { path: dir.clone() });
        let me = OwnCgroup { dir, rel };
        std::fs::create_dir(&me.dir).map_err(|e| {
            crate::outcome::broken(crate::t!("making {}: {e}", "{} 만들기 실패: {e}", me.dir.display()))
        })?;
        for (file, value) in files {
            std::fs::write(me.dir.join(file), value).map_err(|e| {
                crate::outcome::broken(crate::t!(
                    "writing {value} to {}: {e}",
                    "{}에 {value} 쓰기 실패: {e}",
                    me.dir.join(file).display()
                ))
            })?;
        }
        Ok(me)
    }
}

impl Drop for OwnCgroup {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        labkit::state::kill_cgroup_tree(&self.dir, deadline);
        if labkit::state::remove_cgroup_tree(&self.dir, deadline).is_ok() {
            crate::state::done(&labkit::state::Item::Cgroup { path: self.dir.clone() });
        }
    }
}

/// The squeeze's parent: a cgroup v2 of the checker's own, +memory for its
/// children, a memory.max, and no swap (the squeeze must reclaim page cache, not
/// swap the third container's pages out where the host has swap).
struct SqueezeParent {
    cg: OwnCgroup,
    /// `LAB_CGROUP_PARENT` for the runtime: the squeeze parent's absolute path.
    env: String,
}

impl SqueezeParent {
    fn make(parent: &ScratchParent, rel: String) -> Result<SqueezeParent, Outcome> {
        let Some(base) = parent.env_value() else {
            return Err(crate::outcome::broken("the squeeze parent needs cgroup v2"));
        };
        let mut files = vec![
            ("cgroup.subtree_control", "+memory".to_string()),
            ("memory.max", SQUEEZE_PARENT_MAX.to_string()),
        ];
        if parent
            .dir("memory", "")
            .is_some_and(|d| d.join("memory.swap.max").exists())
        {
            files.push(("memory.swap.max", "0".to_string()));
        }
        let env = format!("{base}/{rel}");
        Ok(SqueezeParent {
            cg: OwnCgroup::make(parent, rel, &files)?,
            env,
        })
    }
}

/// A container under the squeeze parent.
fn spawn_under(ctx: &Ctx, sq: &SqueezeParent, opts: &[&str], cmd: &[&str]) -> Result<crate::runtime::Spawned, Outcome> {
    let mut rt = ctx.runtime();
    rt.env.retain(|(k, _)| k != labkit::contract::CGROUP_PARENT_ENV);
    rt.env
        .push((labkit::contract::CGROUP_PARENT_ENV.into(), sq.env.clone()));
    rt.spawn(opts, cmd).map_err(crate::outcome::broken)
}

/// A container that reads `CACHE` of block device `dev` into its page cache and
/// then sleeps until stopped; returns once it sleeps.
fn cache_reader(
    ctx: &Ctx,
    sq: &SqueezeParent,
    name: &str,
    low: Option<&str>,
    dev: &str,
) -> Result<crate::runtime::Spawned, Outcome> {
    let mut opts = vec!["--cgroup", name];
    if let Some(l) = low {
        opts.extend(["--memory-low", l]);
    }
    let script = format!(
        "{p} read {dev} --bytes {CACHE} && exec {p} sleep 120",
        p = crate::runtime::shell_quote(ctx.probe())
    );
    let sp = spawn_under(ctx, sq, &opts, &["/bin/sh", "-c", &script])?;
    if sp.next_as::<labkit::probe::Sleeping>(Duration::from_secs(30)).is_none() {
        let run = sp.stop();
        return Err(fail(
            crate::t!(
                "the probe to read {CACHE} of {dev} and then sleep",
                "probe가 {dev}에서 {CACHE}를 읽은 뒤 잠듦"
            ),
            crate::t!("{}; {}", "{}; {}", run.ending(), run.stdout_text().trim()),
            &run,
        ));
    }
    Ok(sp)
}

/// Two readers (the first with `--memory-low low`), then a third container whose
/// allocation pushes their shared parent over its limit; page cache before and after.
// Long: setup, the squeeze and the teardown read as one sequence.
fn squeeze(ctx: &Ctx, parent: &ScratchParent, low: Option<&str>, tag: &str) -> Result<Squeeze, Outcome> {
    let mut devs = Vec::new();
    for n in ["a", "b"] {
        let img = ctx.scratch().join(format!("low-{tag}-{n}.img"));
        std::fs::File::create(&img)
            .and_then(|f| f.set_len(80 * MIB))
            .map_err(|e| crate::outcome::broken(crate::t!("making {}: {e}", "{} 만들기 실패: {e}", img.display())))?;
        devs.push(super::io::LoopDevice::attach(&img)?);
    }
    // The last close of a block device drops its page cache: the checker keeps each
    // open, so what a reader read stays cached (and charged to the reader's cgroup).
    let _open: Vec<std::fs::File> = devs.iter().filter_map(|d| std::fs::File::open(&d.path).ok()).collect();
    let sq = SqueezeParent::make(parent, ctx.unique(&format!("squeeze{tag}-"), 30))?;
    let (na, nb, nc) = (
        ctx.unique(&format!("low{tag}a-"), 30),
        ctx.unique(&format!("low{tag}b-"), 30),
        ctx.unique(&format!("low{tag}c-"), 30),
    );
    let a = cache_reader(ctx, &sq, &na, low, &devs[0].path)?;
    let b = cache_reader(ctx, &sq, &nb, None, &devs[1].path)?;
    let file = |n: &str| {
        parent
            .read(&format!("{}/{n}", sq.cg.rel), "memory.stat:file")
            .unwrap_or(0)
    };
    let before = (file(&na), file(&nb));
    let c = spawn_under(
        ctx,
        &sq,
        &["--cgroup", &nc],
        &[ctx.probe(), "mem", "--total", PRESSURE, "--step", "8M", "--hold", "2"],
    )?;
    let pressed = wait_done(&c);
    let after = (file(&na), file(&nb));
    let run_c = c.stop();
    let run_a = a.stop();
    drop(b.stop());
    if !pressed {
        return Err(fail(
            crate::t!(
                "a third container to allocate {PRESSURE} while the parent's page cache is reclaimed",
                "세 번째 컨테이너가 {PRESSURE}를 할당하고 그동안 부모의 페이지 캐시가 회수됨"
            ),
            crate::t!("{}; {}", "{}; {}", run_c.ending(), run_c.stdout_text().trim()),
            &run_c,
        ));
    }
    ctx.note(format!(
        "{}: page cache {} MiB -> {} MiB (--memory-low {}), {} MiB -> {} MiB (none)",
        if low.is_some() { "protected" } else { "control" },
        before.0 / MIB,
        after.0 / MIB,
        low.unwrap_or("none"),
        before.1 / MIB,
        after.1 / MIB
    ));
    Ok(Squeeze {
        a: (before.0, after.0),
        b: (before.1, after.1),
        run_a,
    })
}

/// Pass (cgroup v2): under a parent limited to 200 MiB, container A
/// (`--memory-low 100M`) and container B (none) each hold 64 MiB of page cache;
/// a third container allocates 112 MiB. A keeps its cache (loses at most 8 MiB)
/// while reclaim takes at least 16 MiB from B. Control: the same without
/// `--memory-low`: A loses at least 8 MiB, so the protection made the difference.
/// Fail: A lost more than 8 MiB under its protection, or kept it all in the control
/// (a protection nobody asked for). Broken: reclaim never took 16 MiB from B (no
/// pressure came). Skip on cgroup v1: no memory.low (its soft limit is another
/// mechanism).
pub(super) fn memory_low_protects(ctx: &Ctx) -> CheckResult {
    let parent = parent_with(ctx, "memory")?;
    if parent.tree.version == Version::V1 {
        return Err(skip(crate::t!(
            "cgroup v1 has no memory.low: its soft limit is another mechanism (reclaimed first, not protected)",
            "cgroup v1에는 memory.low가 없습니다. soft limit는 다른 메커니즘입니다(보호가 아니라 먼저 회수됨)"
        )));
    }
    let with = squeeze(ctx, parent, Some("100M"), "p")?;
    if with.b.0.saturating_sub(with.b.1) < RECLAIMED_MIN {
        return Err(crate::outcome::broken(crate::t!(
            "no squeeze: the unprotected container's page cache went from {} to {} MiB",
            "압박이 없었습니다: 보호받지 않는 컨테이너의 페이지 캐시가 {} MiB에서 {} MiB로 바뀌었습니다",
            with.b.0 / MIB,
            with.b.1 / MIB
        )));
    }
    ensure(
        with.a.1 + KEPT_SLACK >= with.a.0,
        crate::t!(
            "the container with --memory-low 100M to keep its {} MiB of page cache (within {} MiB) while its sibling was reclaimed",
            "--memory-low 100M인 컨테이너가 형제가 회수되는 동안 페이지 캐시 {} MiB를 지킴({} MiB 이내)",
            with.a.0 / MIB,
            KEPT_SLACK / MIB
        ),
        crate::t!(
            "{} MiB left (the sibling: {} -> {} MiB)",
            "{} MiB 남음(형제: {} -> {} MiB)",
            with.a.1 / MIB,
            with.b.0 / MIB,
            with.b.1 / MIB
        ),
        &with.run_a,
    )?;
    let without = crate::outcome::as_control("without --memory-low", squeeze(ctx, parent, None, "c"))?;
    if without.a.1 + KEPT_SLACK >= without.a.0 {
        return Err(control_fail(
            "without --memory-low",
            crate::t!(
                "the same container without --memory-low to lose more than {} MiB of page cache",
                "--memory-low 없는 같은 컨테이너가 페이지 캐시를 {} MiB보다 많이 잃음",
                KEPT_SLACK / MIB
            ),
            crate::t!("{} -> {} MiB", "{} -> {} MiB", without.a.0 / MIB, without.a.1 / MIB),
            &without.run_a,
        ));
    }
    Ok(())
}

/// SwapFree of /proc/meminfo, in bytes.
fn swap_free() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("SwapFree:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// Pass: on a host with swap, allocating three times `--memory 32M` is OOM-killed
/// (137): the limit holds memory and swap together (v2 `memory.swap.max` 0, v1
/// `memory.memsw.limit_in_bytes`), so the container cannot page its excess out and
/// go on. Control (the checker's own): the same probe in a cgroup the checker makes
/// with the same 32 MiB memory limit and swap allowed completes the 96 MiB, the
/// excess in swap: here a limit without swap would be escaped. Fail: the container
/// completed, or got past the limit by more than a step before it was killed (it
/// swapped until the swap ran short). Broken: the control could not use the swap. Skip: under 128 MiB of
/// free swap (the VM of `make check-vm` has 256 MiB of zram), or v1 without swap
/// accounting, where no runtime can keep a cgroup from swapping.
pub(super) fn swap_does_not_escape(ctx: &Ctx) -> CheckResult {
    const TOTAL: &str = "96M";
    const LIMIT: u64 = 32 * MIB;
    const STEP: u64 = 8 * MIB;
    let parent = parent_with(ctx, "memory")?;
    let free = swap_free();
    if free < 128 * MIB {
        return Err(skip(crate::t!(
            "{} MiB of free swap on this host: there is no swap to escape into (the VM of make check-vm has 256 MiB)",
            "이 호스트의 여유 스왑은 {} MiB입니다. 빠져나갈 스왑이 없습니다(make check-vm의 VM에는 256 MiB가 있음)",
            free / MIB
        )));
    }
    let own_dir = parent.dir("memory", "").unwrap_or_default();
    let (limit_file, swap_files): (&str, Vec<(&str, String)>) = match parent.tree.version {
        Version::V2 => ("memory.max", vec![("memory.swap.max", "max".to_string())]),
        Version::V1 if own_dir.join("memory.memsw.limit_in_bytes").exists() => ("memory.limit_in_bytes", vec![]),
        Version::V1 => {
            return Err(skip(crate::t!(
                "cgroup v1 without swap accounting (no memory.memsw.*; swapaccount=1 on the kernel command line): no runtime can keep a cgroup from swapping here",
                "스왑 계정이 없는 cgroup v1입니다(memory.memsw.* 없음, 커널 명령줄의 swapaccount=1). 여기서는 어떤 런타임도 cgroup의 스왑을 막을 수 없습니다"
            )))
        }
    };
    // The control first: whether swap lets 96 MiB through a 32 MiB limit here at all.
    let mut files = vec![(limit_file, (32 * MIB).to_string())];
    files.extend(swap_files);
    let own = OwnCgroup::make(parent, ctx.unique("swapx-", 30), &files)?;
    let out = std::process::Command::new("/bin/sh")
        .args([
            "-c",
            r#"echo $$ > "$0/cgroup.procs" && exec "$1" mem --total "$2" --step 8M"#,
            &own.dir.display().to_string(),
            ctx.probe(),
            TOTAL,
        ])
        .output()
        .map_err(crate::outcome::broken)?;
    let last: Option<MemStep> = crate::host::last_line_as(&out.stdout);
    drop(own);
    let completed = last.is_some_and(|s| s.done == Some(true));
    if !completed {
        return Err(crate::outcome::host_control_failed(crate::t!(
            "in a cgroup of the checker's own limited to 32 MiB with swap allowed, {TOTAL} could not be allocated ({}, last {}): the swap cannot take the excess, so the check cannot tell",
            "검사기 자신의 cgroup(32 MiB 제한, 스왑 허용)에서 {TOTAL} 할당 실패({}, 마지막 {}). 스왑이 초과분을 받지 못하니 검사가 차이를 볼 수 없습니다",
            out.status,
            crate::text::opt(last.map(|s| s.allocated_bytes))
        )));
    }
    let name = ctx.unique("swap-", 30);
    let run = ctx.run(
        &["--cgroup", &name, "--memory", "32M"],
        &[ctx.probe(), "mem", "--total", TOTAL, "--step", "8M"],
    )?;
    ctx.note(format!(
        "{} MiB of free swap; with swap allowed the checker's own 32 MiB cgroup allocated {TOTAL}; the container: {}, {} MiB",
        free / MIB,
        run.ending(),
        allocated(&run) / MIB
    ));
    // Tolerance: the kill comes within the step that crosses the limit, as in
    // oom_kill_at_limit. A kill further on is no pass: the container paged out
    // past its limit and stopped only when the host's swap ran short.
    let reached = allocated(&run);
    ensure(
        run.code() == Some(137) && reached <= LIMIT + STEP,
        crate::t!(
            "the probe OOM-killed (137) by {} MiB of allocation: --memory holds swap too (memory.swap.max 0; v1 memory.memsw.limit_in_bytes)",
            "probe가 할당량 {} MiB 이내에서 OOM으로 죽음(137): --memory는 스왑도 막음(memory.swap.max 0, v1 memory.memsw.limit_in_bytes)",
            (LIMIT + STEP) / MIB
        ),
        crate::t!(
            "{}; allocated {} MiB of {TOTAL}",
            "{}; {TOTAL} 중 {} MiB 할당함",
            run.ending(),
            reached / MIB
        ),
        &run,
    )
}
