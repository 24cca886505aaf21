//! What namespaces do not isolate: observations of the kernel behind every
//! container, each with the verdict the kernel gives. A namespace wraps some global
//! resources (PIDs, names, mounts, network stacks); everything else is still the
//! host's: the memory and CPU figures in /proc, the kernel itself, the `kernel.*`
//! sysctls, the wall clock. Each check states what the kernel does and fails when a
//! run shows otherwise (a runtime that hides a figure without saying how, or claims
//! an isolation it did not make); each contrasts what is shared with what is not, in
//! the same run.

use labkit::probe::{Affinity, Cat, Facts, Keyring, WriteFile};

use super::*;

pub fn checks() -> Vec<Check> {
    vec![
        check!(
            "namespaces.limits.meminfo-is-the-hosts",
            "/proc/meminfo inside a 64 MiB container shows the host's memory, not the limit (why lxcfs exists)",
            uses = ["--ns pid,mnt", "--cgroup", "--memory"],
            requires = [R::Namespace("pid"), R::Namespace("mnt"), R::Command("sh")],
            meminfo_is_the_hosts
        ),
        check!(
            "namespaces.limits.cpu-count-is-the-hosts",
            "with --cpuset 0 the CPU mask is one CPU but sysconf still counts the host's CPUs",
            uses = ["--cgroup", "--cpuset"],
            requires = [],
            cpu_count_is_the_hosts
        ),
        check!(
            "namespaces.limits.kernel-is-the-hosts",
            "inside a container with a root file system of its own the kernel release is the host's",
            uses = ["--ns pid,mnt,uts", "--rootfs"],
            requires = [R::Namespace("pid"), R::Namespace("mnt"), R::Namespace("uts")],
            kernel_is_the_hosts
        ),
        check!(
            "namespaces.limits.net-sysctls-per-namespace-kernel-global",
            "a net.* sysctl written in a network namespace stays there; kernel.* ones read the host's",
            uses = ["--ns net"],
            requires = [R::Namespace("net"), R::Command("sh")],
            sysctls_net_vs_kernel
        ),
        check!(
            "namespaces.limits.realtime-clock-is-shared",
            "a time namespace moves CLOCK_MONOTONIC but CLOCK_REALTIME stays the host's",
            uses = ["--ns time", "--time-offset"],
            requires = [R::Namespace("time")],
            realtime_is_shared
        ),
        check!(
            "namespaces.limits.keyring-shared-without-user-ns",
            "a key the host keeps in root's user keyring is readable in a container of every namespace but user; a user namespace has a keyring of its own",
            uses = ["--ns pid,mnt,uts,ipc,net,cgroup", "--ns user", "--uid-map", "--gid-map"],
            requires = [
                R::Namespace("pid"),
                R::Namespace("mnt"),
                R::Namespace("uts"),
                R::Namespace("ipc"),
                R::Namespace("net"),
                R::Namespace("cgroup"),
                R::Namespace("user")
            ],
            keyring_shared_without_user_ns
        ),
    ]
}

/// `MemTotal` in kB from a /proc/meminfo text.
fn mem_total_kb(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Pass: inside a container with `--memory 64M` and a fresh /proc, /proc/meminfo's
/// MemTotal is the host's, while the cgroup on the host holds the 64 MiB limit (the
/// contrast: what binds the container is not what it is shown). A runtime that
/// shows the limit instead (an lxcfs-like /proc) passes with a note. Fail: MemTotal
/// neither the host's nor the limit; or no 64 MiB limit on the container's cgroup.
fn meminfo_is_the_hosts(ctx: &Ctx) -> CheckResult {
    let parent = ctx.cgroup_parent()?;
    let name = ctx.unique("lim-mem-", 30);
    let host_kb = mem_total_kb(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default());
    let sp = ctx.spawn(
        &["--ns", "pid,mnt", "--cgroup", &name, "--memory", "64M"],
        &[
            "/bin/sh",
            "-c",
            r#""$0" cat /proc/meminfo && exec "$0" sleep 20"#,
            ctx.probe(),
        ],
    )?;
    let seen = sp.next_as::<Cat>(Duration::from_secs(10));
    let limit = parent.read(&name, "memory.max");
    let run = sp.stop();
    let inside_kb = seen.as_ref().and_then(|c| c.content.as_deref()).and_then(mem_total_kb);
    ctx.note(format!(
        "MemTotal inside {inside_kb:?} kB, host {host_kb:?} kB, the container's memory.max {limit:?}"
    ));
    ensure(
        limit == Some(64 << 20),
        crate::t!(
            "the container's cgroup limited to 64 MiB (memory.max on the host)",
            "컨테이너의 cgroup이 64 MiB로 제한됨(호스트의 memory.max)"
        ),
        crate::ctx::js(&limit),
        &run,
    )?;
    if inside_kb == Some(64 << 10) {
        ctx.note(
            "the runtime shows the limit in /proc/meminfo (an lxcfs-like /proc): the kernel's own shows the host's",
        );
        return Ok(());
    }
    ensure(
        inside_kb.is_some() && inside_kb == host_kb,
        crate::t!(
            "MemTotal inside the host's {} kB: /proc/meminfo is not namespaced",
            "안의 MemTotal이 호스트의 {} kB: /proc/meminfo는 네임스페이스로 나뉘지 않음",
            crate::text::opt(host_kb)
        ),
        crate::t!("{} kB", "{} kB", crate::text::opt(inside_kb)),
        &run,
    )
}

/// Pass: with `--cpuset 0` the probe's CPU mask (what `nproc` counts) is CPU 0
/// alone, while sysconf(_SC_NPROCESSORS_ONLN) inside still counts the host's online
/// CPUs: a program sizing its thread pool from the latter oversubscribes. Fail: the
/// mask is not CPU 0 (the cpuset did not apply), or sysconf differs from the host's.
/// Skip: the cpuset controller is not available.
fn cpu_count_is_the_hosts(ctx: &Ctx) -> CheckResult {
    let p = ctx.cgroup_parent()?;
    if !p.tree.has("cpuset") {
        return Err(skip(crate::t!(
            "the cpuset controller is not available to the checker's cgroup",
            "검사기의 cgroup에서 cpuset 컨트롤러를 쓸 수 없습니다"
        )));
    }
    let name = ctx.unique("lim-cpu-", 30);
    let (run, a): (_, Affinity) = ctx.probe_json(&["--cgroup", &name, "--cpuset", "0"], &["affinity"])?;
    // SAFETY: sysconf has no preconditions.
    let host = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) } as i64;
    ctx.note(format!("mask {:?}, sysconf online {:?}, host {host}", a.cpus, a.online));
    ensure(
        a.cpus == [0] && a.online == Some(host),
        crate::t!(
            "the mask CPU 0 alone (the cpuset), and sysconf counting the host's {host} CPUs",
            "마스크는 CPU 0 하나(cpuset), sysconf는 호스트의 CPU {host}개를 셈"
        ),
        crate::t!(
            "mask {}, sysconf {}",
            "마스크 {}, sysconf {}",
            crate::text::list(&a.cpus),
            crate::text::opt(a.online)
        ),
        &run,
    )
}

/// Pass: in a container with a root file system of its own (its own /etc, its own
/// libraries) and its own UTS namespace, the kernel release is the host's: a
/// container is processes on the host's kernel, never a kernel of its own. The
/// Fail: another release (a runtime that fakes uname, or not a container at all).
fn kernel_is_the_hosts(ctx: &Ctx) -> CheckResult {
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let host = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let (run, c): (_, Cat) = ctx.json_of(
        &["--ns", "pid,mnt,uts", "--rootfs", &root],
        &["/bin/probe", "cat", "/proc/sys/kernel/osrelease"],
    )?;
    let inside = c.content.as_deref().map(str::trim).unwrap_or_default().to_string();
    ensure(
        inside == host,
        crate::t!(
            "the host's kernel release {host:?} inside a root file system of the container's own",
            "컨테이너 자신의 루트 파일 시스템 안에서도 호스트의 커널 릴리스 {host:?}"
        ),
        crate::t!("{inside:?}", "{inside:?}"),
        &run,
    )
}

/// Pass: in a container with `--ns net`, writing `net.ipv4.ip_local_port_range`
/// (a per-network-namespace sysctl) changes it there and leaves its caller's as it
/// was, while `kernel.random.boot_id` (a `kernel.*` one) reads the host's. The
/// runtime runs in a network namespace the checker made, its "host": a runtime that
/// ignores `--ns net` writes there, never to the machine. Fail: the caller's range
/// changed, the write did not hold inside, or the boot id differs. A runtime
/// stricter than the contract (a read-only /proc/sys) is noted.
fn sysctls_net_vs_kernel(ctx: &Ctx) -> CheckResult {
    const RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";
    const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";
    let words = |t: Option<&str>| t.unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    let ns = host::PrivateNs::new(ctx.probe(), host::NsKind::Net)?;
    let caller_range = |ns: &host::PrivateNs| -> Result<String, Outcome> {
        let c: Cat = ns.probe(ctx.probe(), &["cat", RANGE])?;
        Ok(words(c.content.as_deref()))
    };
    let before = caller_range(&ns)?;
    let host_boot = words(std::fs::read_to_string(BOOT_ID).ok().as_deref());
    // A range the caller does not have, inside the kernel's limits.
    let wanted = if before == "20000 30000" {
        "21000 31000"
    } else {
        "20000 30000"
    };
    let script =
        format!("\"$0\" write-file {RANGE} --content '{wanted}' && \"$0\" cat {RANGE} && exec \"$0\" cat {BOOT_ID}");
    let run = ctx
        .runtime_in(&ns)
        .run(&["--ns", "net"], &["/bin/sh", "-c", &script, ctx.probe()]);
    let after = caller_range(&ns)?;
    ensure(
        after == before,
        crate::t!(
            "the caller's {RANGE} unchanged ({before:?}) by a write in the container's network namespace",
            "컨테이너의 네트워크 네임스페이스 안의 쓰기로 호출한 쪽의 {RANGE}가 바뀌지 않음({before:?})"
        ),
        crate::t!("{after:?}", "{after:?}"),
        &run,
    )?;
    let w = run.lines_as::<WriteFile>().pop();
    if w.as_ref().is_some_and(|w| crate::ctx::refused(&w.attempt)) {
        ctx.stricter("/proc/sys/net is read-only inside");
        return Ok(());
    }
    // A write line reads as a Cat without content: only the reads count.
    let cats: Vec<Cat> = run
        .lines_as::<Cat>()
        .into_iter()
        .filter(|c| c.content.is_some())
        .collect();
    let (range_in, boot_in) = (
        words(cats.first().and_then(|c| c.content.as_deref())),
        words(cats.get(1).and_then(|c| c.content.as_deref())),
    );
    ensure(
        range_in == wanted && boot_in == host_boot,
        crate::t!(
            "inside: the range written ({wanted:?}) held there, and kernel.random.boot_id the host's {host_boot:?}",
            "안: 쓴 범위({wanted:?})가 그대로이고, kernel.random.boot_id는 호스트의 {host_boot:?}"
        ),
        crate::t!(
            "range {range_in:?}, boot id {boot_in:?}; {}",
            "범위 {range_in:?}, boot id {boot_in:?}; {}",
            run.ending()
        ),
        &run,
    )
}

/// Pass: with `--ns time --time-offset monotonic=86400`, CLOCK_MONOTONIC inside is a
/// day ahead of the host's while CLOCK_REALTIME is the host's (within 10 s): time
/// namespaces offset the monotonic and boot clocks only; the wall clock, and with it
/// certificates and log times, is shared. Fail: otherwise.
fn realtime_is_shared(ctx: &Ctx) -> CheckResult {
    // Tolerance: the host reads its clocks right after the probe read its own.
    const TOL: f64 = 10.0;
    let (run, f): (_, Facts) = ctx.probe_json(&["--ns", "time", "--time-offset", "monotonic=86400"], &["facts"])?;
    let (host_mono, host_real) = (host::monotonic(), host::realtime());
    let mono = f.uptime.monotonic.unwrap_or(0.0);
    let real = f.uptime.realtime.unwrap_or(0.0);
    ensure(
        (mono - host_mono - 86400.0).abs() < TOL && (real - host_real).abs() < TOL,
        crate::t!(
            "CLOCK_MONOTONIC a day ahead of the host's ({host_mono:.0} s), CLOCK_REALTIME the host's ({host_real:.0} s)",
            "CLOCK_MONOTONIC은 호스트({host_mono:.0}초)보다 하루 앞서고, CLOCK_REALTIME은 호스트의 것({host_real:.0}초)"
        ),
        crate::t!(
            "monotonic {mono:.0} s, realtime {real:.0} s",
            "monotonic {mono:.0}초, realtime {real:.0}초"
        ),
        &run,
    )
}

/// Pass: a `user` key the checker puts in root's user keyring (`@u`), readable by
/// uid 0, is found and read by a probe in a container with pid, mnt, uts, ipc, net and cgroup
/// namespaces: keyrings belong to a uid (and, since Linux 5.3, to a user namespace),
/// none of those namespaces, so whatever a host service keeps there (a token, a
/// disk key) is the container's too. That is why Docker's seccomp profile blocks
/// `keyctl` (runc's session keyring of each container's own only keeps keys that
/// are readable by their possessor alone out of reach). Control:
/// with `--ns user` as well (uid 0 mapped to an unprivileged uid) the container's
/// `@u` is another keyring, without the key. A runtime that blocks keyctl (EPERM or
/// ENOSYS: a seccomp profile) is stricter than the contract: noted, and a pass.
/// Fail: the key is not found without a user namespace (a runtime that claims an
/// isolation the kernel has not got), or found with one. Skip: the checker itself
/// may not add a key.
fn keyring_shared_without_user_ns(ctx: &Ctx) -> CheckResult {
    let desc = ctx.unique("labcheck-key-", 40);
    let secret = format!("secret-{desc}");
    // The key outlives the check only if the checker dies, and then by a minute.
    let key = host::UserKey::add(&desc, &secret, 60).map_err(|e| {
        skip(crate::t!(
            "the checker may not add a key to its user keyring, or set its rights ({e})",
            "검사기가 자기 사용자 키링에 키를 넣거나 그 권한을 정할 수 없습니다({e})"
        ))
    })?;
    let (run, k): (_, Keyring) =
        ctx.probe_json(&["--ns", "pid,mnt,uts,ipc,net,cgroup"], &["keyring", "--find", &desc])?;
    ctx.note(format!(
        "the checker's @u {:?}, the container's {:?}",
        host::UserKey::user_keyring(),
        k.user_keyring
    ));
    if k.attempt.refused_with("EPERM") || k.attempt.refused_with("ENOSYS") {
        ctx.note("the runtime blocks keyctl (a seccomp profile, as Docker's): the keyring is shared but out of reach");
        return Ok(());
    }
    ensure(
        k.serial == Some(key.serial) && k.payload.as_deref() == Some(secret.as_str()),
        crate::t!(
            "the host's key {} ({desc}) found in @u and read inside: keyrings are not namespaced",
            "호스트의 키 {} ({desc})를 안에서 @u에서 찾아 읽음: 키링은 네임스페이스로 나뉘지 않음",
            key.serial
        ),
        js(&k),
        &run,
    )?;
    const WITHOUT: &str = "with --ns user too";
    let opts = with(&["--ns", "user,pid,mnt,uts,ipc,net,cgroup"], &map_opts(1));
    let (crun, c): (_, Keyring) = ctx.control_probe_json(WITHOUT, &refs(&opts), &["keyring", "--find", &desc])?;
    if c.serial.is_some() || c.user_keyring == k.user_keyring {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "a user keyring of the user namespace's own, without the host's key",
                "user 네임스페이스만의 사용자 키링, 호스트의 키 없음"
            ),
            js(&c),
            &crun,
        ));
    }
    drop(key);
    Ok(())
}
