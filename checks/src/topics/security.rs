//! Security: the classic ways out of a container, tried from inside, each with a
//! control that shows the same attempt succeeding without the protection (so the
//! check is proven able to tell). Nothing here may change the host: the hostname
//! and sysctl attempts write the value already there, the module attempt hands the
//! kernel an image that cannot be a module.
//!
//! Verdict rules (each check's comment adds its own): a control run through the
//! runtime is the runtime's, and one that contradicts the contract fails the check,
//! naming the control run. A control the checker runs itself is `broken` when it
//! does not show the difference. A runtime stricter than the contract (capabilities
//! dropped, /proc read-only) loses nothing: when the control through it is refused
//! the same way (EPERM, EACCES, EROFS), the attack could not work there at all, the
//! checker proves the attempt works on the host itself, and the check passes with a
//! note.

use labkit::probe::{
    Attempt, Cat, ChrootEscape, DevNodes, Facts, Fds, Kill, LoadModule, Ls, Open, Rewrite, SetHostname, Stat, WriteFile,
};

use crate::check::{Check, Requirement as R};
use crate::ctx::Ctx;
use crate::ctx::{js, refused};
use crate::host;
use crate::outcome::Text;
use crate::outcome::{broken, control_fail, ensure, fail, fail_host, host_control_failed, skip, CheckResult, Outcome};
use crate::runtime::Run;

macro_rules! check {
    ($id:literal, $title:literal, uses = [$($u:literal),*], requires = [$($r:expr),*], $f:path) => {
        Check {
            id: $id,
            topic: "security",
            title: $title,
            uses: &[$($u),*],
            requires: &[R::Root, $($r),*],
            serial: None,
            run: $f,
        }
    };
}

pub fn checks() -> Vec<Check> {
    vec![
        check!(
            "security.chroot.breakout-stays-inside",
            "the chroot breakout after pivot_root stays in the container and reaches no host file",
            uses = ["--ns mnt,pid", "--rootfs"],
            requires = [R::Namespace("mnt"), R::Namespace("pid"), R::Command("chroot")],
            breakout_stays_inside
        ),
        check!(
            "security.userns.cannot-write-host-root-files",
            "root in a user namespace cannot write a file owned by host root (EACCES)",
            uses = ["--ns user", "--uid-map", "--gid-map"],
            requires = [R::Namespace("user")],
            cannot_write_host_root_files
        ),
        check!(
            "security.userns.cannot-load-modules",
            "root in a user namespace cannot load a kernel module (EPERM)",
            uses = ["--ns user", "--uid-map", "--gid-map"],
            requires = [R::Namespace("user")],
            cannot_load_modules
        ),
        check!(
            "security.userns.cannot-rename-host",
            "root in a user namespace without its own UTS namespace cannot set the host's hostname (EPERM)",
            uses = ["--ns user,uts", "--uid-map", "--gid-map"],
            requires = [R::Namespace("user"), R::Namespace("uts")],
            cannot_rename_host
        ),
        check!(
            "security.pid.cannot-see-or-signal-host",
            "in a PID namespace host processes are absent from /proc and cannot be signalled (ESRCH)",
            uses = ["--ns pid,mnt"],
            requires = [R::Namespace("pid"), R::Namespace("mnt")],
            cannot_see_or_signal_host
        ),
        check!(
            "security.proc.sys-not-writable",
            "/proc/sys and /sys cannot be written by root of a user namespace",
            uses = ["--ns user,mnt,pid", "--uid-map", "--gid-map"],
            requires = [R::Namespace("user"), R::Namespace("mnt"), R::Namespace("pid")],
            sys_not_writable
        ),
        check!(
            "security.fds.no-host-descriptor-leaks",
            "a descriptor the runtime inherits (a host directory) is not open in the container: only 0, 1 and 2",
            uses = ["--ns mnt,pid", "--rootfs"],
            requires = [R::Namespace("mnt"), R::Namespace("pid")],
            no_descriptor_leaks
        ),
        check!(
            "security.proc.kernel-files-masked",
            "with a root file system /proc/kcore, /proc/keys and /sys/firmware show nothing and /proc/sysrq-trigger cannot be opened for writing",
            uses = ["--ns mnt,pid", "--rootfs"],
            requires = [R::Namespace("mnt"), R::Namespace("pid")],
            kernel_files_masked
        ),
        check!(
            "security.dev.only-minimal-nodes",
            "with a root file system /dev holds no device but null, zero, full, random, urandom and terminals",
            uses = ["--ns mnt,pid", "--rootfs"],
            requires = [R::Namespace("mnt"), R::Namespace("pid")],
            dev_only_minimal_nodes
        ),
    ]
}

/// uid/gid the user-namespace checks map root to: far from any real account.
const MAPPED: u32 = 231_072;

/// `--uid-map 0:MAPPED:65536 --gid-map 0:MAPPED:65536` after `base`.
fn mapped(base: &[&str]) -> Vec<String> {
    let m = format!("0:{MAPPED}:65536");
    base.iter()
        .map(|s| s.to_string())
        .chain(["--uid-map".into(), m.clone(), "--gid-map".into(), m])
        .collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// "ok true" or "EACCES" for a "got" text.
fn attempt(v: &Attempt) -> Text {
    if v.ok {
        crate::t!("it succeeded", "성공했습니다")
    } else {
        match v.error.as_deref() {
            Some(e) => crate::t!("refused with {e}", "{e}(으)로 거부됨"),
            None => crate::t!("refused with no errno", "errno 없이 거부됨"),
        }
    }
}

// ---------------------------------------------------------------- chroot

/// Pass: after pivot_root the chroot breakout ends in the container's own root and
/// the host's file stays out of reach. Fail: it reaches another root or the file.
/// The bare-chroot control is the checker's own (broken if the breakout does not
/// work there). Stricter runtime: a breakout refused at its first chroot(2) cannot
/// start: a pass with a note.
fn breakout_stays_inside(ctx: &Ctx) -> CheckResult {
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let marker = ctx.scratch().join("host-only-marker");
    std::fs::write(&marker, "host")
        .map_err(|e| broken(crate::t!("writing the marker: {e}", "표식 파일을 쓰지 못했습니다: {e}")))?;
    let m = marker.to_string_lossy().into_owned();
    let escape = ["/bin/probe", "chroot-escape", "--stat", m.as_str()];
    let (run, esc): (_, ChrootEscape) = ctx.json_of(&["--ns", "mnt,pid", "--rootfs", &root], &escape)?;
    let after_ok = esc.stat_after.as_ref().map(|s| s.attempt.ok);
    ensure(
        !esc.escaped && after_ok == Some(false),
        crate::t!(
            "the chroot breakout to end in the container's own root, with the host file {m} still out of reach",
            "chroot 탈출 시도가 컨테이너 자신의 루트에서 끝나고, 호스트 파일 {m}에는 여전히 닿지 못함"
        ),
        crate::t!(
            "escaped {} (root {} -> {}), host file reachable after it: {}",
            "탈출 {}(루트 {} -> {}), 그 뒤 호스트 파일에 닿음: {}",
            crate::text::yes_no(esc.escaped),
            js(&esc.root_before),
            js(&esc.root_after),
            js(&after_ok)
        ),
        &run,
    )?;
    if let Some(r) = &esc.refused {
        ctx.stricter(crate::t!(
            "the breakout could not start: {} refused with {}",
            "탈출 시도를 시작할 수 없었습니다: {}이(가) {}(으)로 거부됨",
            r.op,
            r.error
        ));
    }
    // Control: under a bare chroot of the same root the same breakout reaches the
    // host's root, and the marker with it.
    let out = std::process::Command::new("chroot")
        .arg(&root)
        .args(escape)
        .output()
        .map_err(|e| broken(crate::t!("running chroot: {e}", "chroot를 실행하지 못했습니다: {e}")))?;
    let c: Option<ChrootEscape> = host::last_line_as(&out.stdout);
    if !c
        .as_ref()
        .is_some_and(|c| c.escaped && c.stat_after.as_ref().is_some_and(|s| s.attempt.ok))
    {
        let c = js(&c);
        return Err(host_control_failed(crate::t!(
            "the breakout did not leave a bare chroot of {root}: {c}",
            "{root}의 그냥 chroot에서도 탈출 시도가 빠져나가지 못했습니다: {c}"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------- user namespace

/// Pass: root of a user namespace is refused writing host root's file, which stays
/// unchanged. Fail: it was written; or the control run (no --ns user) failing other
/// than by a refusal. Stricter runtime: a refused control is a pass with a note.
fn cannot_write_host_root_files(ctx: &Ctx) -> CheckResult {
    let f = ctx.host_root_file()?;
    let opts = mapped(&["--ns", "user"]);
    let (run, w): (_, WriteFile) = ctx.probe_json(&refs(&opts), &["write-file", &f, "--content", "overwritten"])?;
    let content = std::fs::read_to_string(&f).unwrap_or_default();
    ensure(
        !w.attempt.ok && content == "host root's",
        crate::t!(
            "root inside (host uid {MAPPED}) to be refused writing {f}, owned by host root (EACCES)",
            "안의 root(호스트 uid {MAPPED})가 호스트 root 소유의 {f}에 쓰려다 거부됨(EACCES)"
        ),
        crate::t!(
            "{}; the file now holds {content:?}",
            "{}; 지금 파일 내용 {content:?}",
            attempt(&w.attempt)
        ),
        &run,
    )?;
    // Control: root without a user namespace writes its own file.
    const WITHOUT: &str = "without --ns user";
    let (crun, c): (_, WriteFile) =
        ctx.control_probe_json(WITHOUT, &[], &["write-file", &f, "--content", "overwritten"])?;
    if refused(&c.attempt) {
        ctx.stricter(format!(
            "host root may not write its own file under this runtime either ({})",
            c.attempt.error.as_deref().unwrap_or("?")
        ));
    } else if !c.attempt.ok {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "host root to write its own file {f}",
                "호스트 root가 자기 파일 {f}에 씀"
            ),
            attempt(&c.attempt),
            &crun,
        ));
    }
    Ok(())
}

/// Pass: init_module(2) from root of a user namespace is refused with EPERM. Fail:
/// any other answer; or the control run (no --ns user) succeeding or failing with
/// anything but a refusal. Skip: module loading is off for everyone. The checker's
/// own attempt on the host proves the permission check can be passed; a control
/// refused with EPERM by a runtime without CAP_SYS_MODULE is stricter: a pass with a
/// note.
fn cannot_load_modules(ctx: &Ctx) -> CheckResult {
    let disabled = std::fs::read_to_string("/proc/sys/kernel/modules_disabled").unwrap_or_default();
    if disabled.trim() == "1" {
        return Err(skip(crate::t!(
            "kernel.modules_disabled is 1: module loading is refused to everyone, the control cannot tell",
            "kernel.modules_disabled가 1입니다. 모듈 적재가 모두에게 거부되어 대조 실험이 차이를 보일 수 없습니다"
        )));
    }
    // A kernel without module support answers ENOSYS to everyone.
    let on_host: LoadModule = host::probe(ctx.probe(), &["load-module"])?;
    if on_host.attempt.refused_with("ENOSYS") {
        return Err(skip(crate::t!(
            "this kernel has no loadable module support (CONFIG_MODULES off): init_module is ENOSYS for everyone",
            "이 커널은 모듈 적재를 지원하지 않습니다(CONFIG_MODULES 꺼짐). init_module은 누구에게나 ENOSYS입니다"
        )));
    }
    let opts = mapped(&["--ns", "user"]);
    let (run, l): (_, LoadModule) = ctx.probe_json(&refs(&opts), &["load-module"])?;
    ensure(
        l.attempt.refused_with("EPERM"),
        crate::t!("init_module(2) from root of a user namespace to be refused with EPERM (no CAP_SYS_MODULE in the initial user namespace)", "user 네임스페이스의 root가 부른 init_module(2)이 EPERM으로 거부됨(초기 user 네임스페이스의 CAP_SYS_MODULE이 없음)"),
        crate::t!("{} (an empty image: past the permission check the kernel refuses it as no module)", "{}(빈 이미지: 권한 검사를 통과하면 커널이 모듈이 아니라며 거부함)", attempt(&l.attempt)),
        &run,
    )?;
    // Control: host root gets past the permission check; the empty image is then
    // refused for what it is (ENOEXEC, EINVAL...), never with EPERM.
    if on_host.attempt.refused_with("EPERM") || on_host.attempt.ok {
        let on_host = js(&on_host);
        return Err(host_control_failed(crate::t!(
            "init_module(2) as the checker (host root): {on_host}",
            "검사기(호스트 root)가 부른 init_module(2): {on_host}"
        )));
    }
    const WITHOUT: &str = "without --ns user";
    let (crun, c): (_, LoadModule) = ctx.control_probe_json(WITHOUT, &[], &["load-module"])?;
    if c.attempt.refused_with("EPERM") {
        ctx.stricter("init_module(2) is refused with EPERM even without a user namespace (no CAP_SYS_MODULE)");
    } else if c.attempt.ok {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "an empty module image refused (ENOEXEC, EINVAL...)",
                "빈 모듈 이미지가 거부됨(ENOEXEC, EINVAL 등)"
            ),
            crate::t!("the kernel accepted it", "커널이 받아들였습니다"),
            &crun,
        ));
    }
    Ok(())
}

/// Puts the host's hostname back if a runtime changed it; returns the name it found.
fn put_back_hostname(before: &str) -> Option<String> {
    let now = host::hostname();
    if now == before {
        return None;
    }
    let _ = nix::unistd::sethostname(before);
    Some(now)
}

fn renamed_host(before: &str, now: &str, run: &Run) -> Outcome {
    fail(
        crate::t!(
            "the host's hostname to stay {before:?}",
            "호스트의 호스트 이름이 {before:?} 그대로"
        ),
        crate::t!(
            "the container renamed the host to {now:?} (now restored to {:?})",
            "컨테이너가 호스트 이름을 {now:?} 값으로 바꿨습니다(지금은 {:?} 값으로 되돌림)",
            host::hostname()
        ),
        run,
    )
}

/// Pass: sethostname(2) from root of a user namespace, in the host's UTS namespace,
/// is refused with EPERM, and the host keeps its name. Fail: the host was renamed
/// (it is put back at once) or another answer; or the control run (--ns user,uts)
/// giving a name other than asked. Stricter runtime: a control refused with EPERM
/// (capabilities dropped in the user namespace) is a pass with a note.
fn cannot_rename_host(ctx: &Ctx) -> CheckResult {
    let before = host::hostname();
    if before.is_empty() {
        return Err(broken(crate::t!(
            "cannot read the host's hostname",
            "호스트의 호스트 이름을 읽을 수 없습니다"
        )));
    }
    // The host's own name is asked for: sethostname(2) checks the permission first,
    // so the attempt says the same, and a runtime that wrongly allows it renames nothing.
    // Whatever happens, the host's name is put back before anything else.
    let opts = mapped(&["--ns", "user"]);
    let r = ctx.probe_json::<SetHostname>(&refs(&opts), &["hostname", "--set", &before]);
    let renamed = put_back_hostname(&before);
    let (run, h) = r?;
    if let Some(now) = renamed {
        return Err(renamed_host(&before, &now, &run));
    }
    ensure(
        h.attempt.refused_with("EPERM"),
        crate::t!(
            "sethostname(2) from root of a user namespace, in the host's UTS namespace, to be refused with EPERM",
            "user 네임스페이스의 root가 호스트의 UTS 네임스페이스에서 부른 sethostname(2)이 EPERM으로 거부됨"
        ),
        attempt(&h.attempt),
        &run,
    )?;
    // Control: with a UTS namespace of its own (owned by its user namespace) root
    // inside may name it, and the host keeps its name.
    let name = ctx.unique("lab-sec-", 30);
    let opts = mapped(&["--ns", "user,uts"]);
    const WITHOUT: &str = "with a UTS namespace of its own";
    let r = ctx.control_probe_json::<SetHostname>(WITHOUT, &refs(&opts), &["hostname", "--set", &name]);
    let renamed = put_back_hostname(&before);
    let (crun, c) = r?;
    if let Some(now) = renamed {
        return Err(renamed_host(&before, &now, &crun));
    }
    let host_uts = std::fs::read_link("/proc/thread-self/ns/uts")
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default();
    if c.uts_ns.as_deref() == Some(host_uts.as_str()) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "a UTS namespace of its own with --ns uts",
                "--ns uts를 주면 자기 UTS 네임스페이스가 생김"
            ),
            crate::t!("the host's {host_uts}", "호스트의 {host_uts}"),
            &crun,
        ));
    }
    if refused(&c.attempt) {
        ctx.stricter(format!(
            "root may not name even its own UTS namespace ({})",
            c.attempt.error.as_deref().unwrap_or("?")
        ));
    } else if !c.attempt.ok || c.hostname.as_deref() != Some(name.as_str()) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "root of the user namespace to name its own UTS namespace {name:?}",
                "user 네임스페이스의 root가 자기 UTS 네임스페이스의 이름을 {name:?} 값으로 정함"
            ),
            js(&c),
            &crun,
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- PID namespace

/// (run of facts, visible pids, run of kill, kill result) with `options`.
fn look_and_signal(ctx: &Ctx, options: &[&str], me: &str) -> Result<(Run, Vec<u64>, Run, Kill), Outcome> {
    let (frun, f): (_, Facts) = ctx.probe_json(options, &["facts"])?;
    let (krun, k): (_, Kill) = ctx.probe_json(options, &["kill", me, "--signal", "0"])?;
    Ok((frun, f.pids.unwrap_or_default(), krun, k))
}

/// Pass: /proc inside lists the container's processes but not a host process the
/// check started (`Ctx::host_witness`: the checker may be PID 1 of a container), and
/// kill(it, 0) fails with ESRCH. Fail: otherwise; or the control runs (no --ns pid)
/// not listing it or answering ESRCH (EPERM counts as found: a stricter runtime
/// loses nothing).
fn cannot_see_or_signal_host(ctx: &Ctx) -> CheckResult {
    let witness = ctx.host_witness()?;
    let me = witness.pid();
    let me_s = me.to_string();
    let (frun, pids, krun, k) = look_and_signal(ctx, &["--ns", "pid,mnt"], &me_s)?;
    ensure(
        !pids.is_empty() && !pids.contains(&u64::from(me)),
        crate::t!(
            "/proc inside to list the container's processes but not a host process's pid {me} (started by the check)",
            "안의 /proc에 컨테이너의 프로세스는 보이지만 호스트 프로세스(검사가 시작한 PID {me})는 보이지 않음"
        ),
        crate::t!(
            "{} pids listed: {}",
            "PID {}개가 보임: {}",
            pids.len(),
            crate::text::list(&pids[..pids.len().min(12)])
        ),
        &frun,
    )?;
    ensure(
        k.attempt.refused_with("ESRCH"),
        crate::t!(
            "kill({me}, 0) of a host process (pid {me}, started by the check) to fail with ESRCH",
            "호스트 프로세스(검사가 시작한 PID {me})로 kill({me}, 0)을 하면 ESRCH로 실패"
        ),
        attempt(&k.attempt),
        &krun,
    )?;
    // Control: without a PID namespace the host process is listed and can be signalled.
    const WITHOUT: &str = "without --ns pid";
    let (crun, cpids, ckrun, ck) = crate::outcome::as_control(WITHOUT, look_and_signal(ctx, &["--ns", "mnt"], &me_s))?;
    if !cpids.contains(&u64::from(me)) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "/proc to list the host process's pid {me}",
                "/proc에 호스트 프로세스의 PID {me}이(가) 보임"
            ),
            crate::t!("{} pids, not {me}", "PID {}개, {me}은(는) 없음", cpids.len()),
            &crun,
        ));
    }
    if !ck.attempt.ok && !ck.attempt.refused_with("EPERM") {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "kill({me}, 0) to find the host process (ok, or EPERM)",
                "kill({me}, 0)이 호스트 프로세스를 찾음(성공 또는 EPERM)"
            ),
            attempt(&ck.attempt),
            &ckrun,
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- /proc/sys, /sys

const SYSCTL: &str = "/proc/sys/kernel/domainname";

/// sysfs knobs holding a plain value that root may write (the first one this host has).
const SYSFS_KNOBS: &[&str] = &[
    "/sys/kernel/mm/ksm/pages_to_scan",
    "/sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan",
    "/sys/kernel/mm/ksm/sleep_millisecs",
];

fn rewrite_got(v: &Rewrite) -> Text {
    let error = js(&v.attempt.error);
    match v.stage.as_deref() {
        Some("read") => crate::t!(
            "it could not even be read inside ({error})",
            "안에서 읽지도 못했습니다({error})"
        ),
        Some(stage) => crate::t!(
            "refused at {stage} with {error}",
            "{stage} 단계에서 {error}(으)로 거부됨"
        ),
        None if v.attempt.ok => crate::t!(
            "root inside wrote it (value {})",
            "안의 root가 썼습니다(값 {})",
            js(&v.value)
        ),
        None => js(v),
    }
}

/// A refusal after the value was read: the write itself was refused.
fn write_refused(w: &Rewrite) -> bool {
    refused(&w.attempt) && w.stage.as_deref() != Some("read")
}

/// Pass: writing a /proc/sys knob (and a /sys one, when sysfs is mounted) back with
/// its own value is refused to root of a user namespace (EACCES, EPERM or EROFS,
/// after reading it), and the host's value is unchanged. Fail: it was written or
/// could not even be read; or the control run (no --ns user) failing other than by
/// a refusal. Stricter runtime: a control refused too (a read-only /proc) is a pass
/// with a note, once the checker has written the knob back itself on the host.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
fn sys_not_writable(ctx: &Ctx) -> CheckResult {
    let host_before = std::fs::read_to_string(SYSCTL).map_err(|e| {
        broken(crate::t!(
            "reading {SYSCTL} on the host: {e}",
            "호스트에서 {SYSCTL} 읽기 실패: {e}"
        ))
    })?;
    // No root file system: with one, the contract makes /proc/sys read-only for
    // everyone (1.2), which would hide whether the user namespace refuses the write.
    let opts = mapped(&["--ns", "user,mnt,pid"]);
    let (run, w): (_, Rewrite) = ctx.probe_json(&refs(&opts), &["rewrite", SYSCTL])?;
    ensure(
        write_refused(&w),
        crate::t!("writing {SYSCTL} (its own value back) from root of a user namespace (host uid {MAPPED}) to be refused (EACCES, EPERM or EROFS)", "user 네임스페이스의 root(호스트 uid {MAPPED})가 {SYSCTL}에 (원래 값을 다시) 쓰려다 거부됨(EACCES, EPERM 또는 EROFS)"),
        rewrite_got(&w),
        &run,
    )?;
    let host_after = std::fs::read_to_string(SYSCTL).unwrap_or_default();
    if host_after != host_before {
        return Err(fail_host(
            crate::t!("{SYSCTL} unchanged on the host", "호스트의 {SYSCTL} 값이 그대로"),
            crate::t!(
                "{host_before:?} became {host_after:?}",
                "앞 {host_before:?}, 뒤 {host_after:?}: 바뀜"
            ),
            run.command_line(),
        ));
    }
    // /sys (the host's sysfs, seen from the private mount namespace): a knob the
    // host has, written back.
    let (_, sys): (_, Stat) = ctx.probe_json(&refs(&opts), &["stat", "/sys/kernel"])?;
    if sys.attempt.ok {
        let knob = SYSFS_KNOBS.iter().find(|k| std::path::Path::new(k).exists());
        if let Some(knob) = knob {
            let (run, w): (_, Rewrite) = ctx.probe_json(&refs(&opts), &["rewrite", knob])?;
            ensure(
                write_refused(&w),
                crate::t!(
                    "writing {knob} (its own value back) from root of a user namespace to be refused",
                    "user 네임스페이스의 root가 {knob}에 (원래 값을 다시) 쓰려다 거부됨"
                ),
                rewrite_got(&w),
                &run,
            )?;
        }
    }
    // Control: host root without a user namespace may write the same knob (the same
    // value, so nothing changes).
    const WITHOUT: &str = "without --ns user";
    let (crun, c): (_, Rewrite) = ctx.control_probe_json(WITHOUT, &["--ns", "mnt,pid"], &["rewrite", SYSCTL])?;
    if refused(&c.attempt) {
        let own: Rewrite = host::probe(ctx.probe(), &["rewrite", SYSCTL])?;
        if !own.attempt.ok {
            let own = js(&own);
            return Err(host_control_failed(crate::t!(
                "the checker could not write {SYSCTL} back on the host: {own}",
                "검사기가 호스트에서 {SYSCTL}에 원래 값을 다시 쓰지 못했습니다: {own}"
            )));
        }
        ctx.stricter(format!(
            "host root may not write {SYSCTL} under this runtime either ({})",
            rewrite_got(&c)
        ));
    } else if !c.attempt.ok {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "host root to write {SYSCTL} back",
                "호스트 root가 {SYSCTL}에 원래 값을 다시 씀"
            ),
            rewrite_got(&c),
            &crun,
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- descriptors

/// Pass: the runtime is started with one more descriptor than 0–2, inherited (not
/// close-on-exec) and open on a host directory, as a careless caller or a runtime's
/// own leak would leave it (CVE-2024-21626: runc leaked such a descriptor, and a
/// container reached the host's root through /proc/self/fd). Inside a container, with
/// and without its own root, only 0, 1 and 2 are open. Control (the checker's own):
/// the probe started directly the same way lists the descriptor, so the leak was
/// there to pass on; broken if not. Fail: any other descriptor inside.
fn no_descriptor_leaks(ctx: &Ctx) -> CheckResult {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(ctx.scratch()).map_err(|e| {
        broken(crate::t!(
            "opening the scratch directory: {e}",
            "작업 디렉터리를 열지 못했습니다: {e}"
        ))
    })?;
    let leaked = crate::runtime::LEAKED_FD;
    let mut rt = ctx.runtime();
    rt.inherit_fd = Some(dir.as_raw_fd());
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    for (opts, probe) in [
        (vec![], ctx.probe()),
        (vec!["--ns", "mnt,pid", "--rootfs", root.as_str()], "/bin/probe"),
    ] {
        let run = rt.run(&opts, &[probe, "fds"]);
        let fds: Option<Fds> = run.lines_as::<Fds>().pop();
        let extra: Vec<String> = fds
            .iter()
            .flat_map(|f| f.fds.iter())
            .filter(|f| f.fd > 2)
            .map(|f| format!("{} -> {}", f.fd, f.target))
            .collect();
        ensure(
            run.code() == Some(0) && fds.is_some() && extra.is_empty(),
            crate::t!(
                "only descriptors 0, 1 and 2 open inside, though the runtime was started with {leaked} open on {}",
                "런타임이 {}에 대해 열린 {leaked}번을 물려받았어도 안에는 0, 1, 2번만 열려 있음",
                ctx.scratch().display()
            ),
            crate::t!(
                "{}; also open: {}",
                "{}; 그 밖에 열린 것: {}",
                run.ending(),
                crate::text::list(&extra)
            ),
            &run,
        )?;
    }
    // Control: the same descriptor reaches a program started directly.
    // SAFETY: only inherit_as (dup2(2) or fcntl(2)) runs between fork and exec;
    // `dir` outlives the spawn.
    let out = unsafe {
        use std::os::unix::process::CommandExt;
        let fd = dir.as_raw_fd();
        std::process::Command::new(ctx.probe())
            .arg("fds")
            .pre_exec(move || crate::runtime::inherit_as(fd, leaked))
            .output()
    }
    .map_err(|e| broken(crate::t!("running the probe: {e}", "probe를 실행하지 못했습니다: {e}")))?;
    let direct: Option<Fds> = host::last_line_as(&out.stdout);
    if !direct.as_ref().is_some_and(|f| f.fds.iter().any(|f| f.fd == leaked)) {
        return Err(host_control_failed(crate::t!(
            "the probe started directly with descriptor {leaked} did not list it: {}",
            "{leaked}번을 물려받고 바로 시작한 probe가 그것을 보여 주지 않았습니다: {}",
            js(&direct)
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------- masked paths and /dev

/// A probe answer cut for a message: /proc/keys lists every key.
fn short(t: Text) -> Text {
    let cut = |s: String| match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    };
    Text {
        en: cut(t.en),
        ko: cut(t.ko),
    }
}

/// What a process sees of one kernel file: whether it shows the host's kernel, and
/// the probe's answer for a "got" text. Never a write: sysrq-trigger is only opened.
fn kernel_file_exposed(ctx: &Ctx, options: Option<&[&str]>, item: &str) -> Result<(bool, Text, Option<Run>), Outcome> {
    fn observe<T: serde::de::DeserializeOwned + serde::Serialize>(
        ctx: &Ctx,
        options: Option<&[&str]>,
        args: &[&str],
        exposed: impl Fn(&T) -> bool,
    ) -> Result<(bool, Text, Option<Run>), Outcome> {
        match options {
            // Inside: the probe of the root file system.
            Some(o) => {
                let cmd: Vec<&str> = std::iter::once("/bin/probe").chain(args.iter().copied()).collect();
                let (run, v): (_, T) = ctx.json_of(o, &cmd)?;
                Ok((exposed(&v), short(js(&v)), Some(run)))
            }
            None => {
                let v: T = host::probe(ctx.probe(), args)?;
                Ok((exposed(&v), short(js(&v)), None))
            }
        }
    }
    let shows = |c: &Cat| c.attempt.ok && c.bytes.unwrap_or(0) > 0;
    match item {
        "/proc/kcore" => observe(ctx, options, &["cat", item, "--max", "16"], shows),
        "/proc/keys" => observe(ctx, options, &["cat", item, "--max", "4K"], shows),
        "/proc/sysrq-trigger" => observe(ctx, options, &["open", item, "--write"], |o: &Open| o.attempt.ok),
        _ => observe(ctx, options, &["ls", item], |l: &Ls| {
            l.attempt.ok && l.entries.as_ref().is_some_and(|e| !e.is_empty())
        }),
    }
}

/// Pass: in a container with a root file system, /proc/kcore (the kernel's memory)
/// and /proc/keys (every key the uid may view) read nothing, /sys/firmware lists
/// nothing (absent, empty or unreadable), and /proc/sysrq-trigger (one byte crashes
/// or reboots the machine) cannot be opened for writing: contract 1.2, runc's
/// defaults. Only an item that shows something on the host counts: the checker's
/// own look at each is the control (kcore's first 16 bytes, the key list, the
/// firmware directory, sysrq-trigger opened for writing and closed, never written).
/// Fail: an item shows inside what it shows on the host. Skip: the host shows
/// none of them. A runtime stricter than the contract (no capability to read kcore)
/// loses nothing.
fn kernel_files_masked(ctx: &Ctx) -> CheckResult {
    const ITEMS: [&str; 4] = ["/proc/kcore", "/proc/keys", "/proc/sysrq-trigger", "/sys/firmware"];
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let opts = ["--ns", "mnt,pid", "--rootfs", root.as_str()];
    let mut compared = 0;
    for item in ITEMS {
        let (on_host, host_got, _) = kernel_file_exposed(ctx, None, item)?;
        if !on_host {
            ctx.note(format!("{item}: nothing to hide on this host ({host_got})"));
            continue;
        }
        compared += 1;
        let (inside, got, run) = kernel_file_exposed(ctx, Some(&opts), item)?;
        ensure(
            !inside,
            crate::t!(
                "{item} masked or read-only inside (it shows the host's kernel: {host_got})",
                "안에서 {item}의 내용이 가려지거나 읽기 전용(호스트의 커널을 보여 줌: {host_got})"
            ),
            got,
            run.as_ref().expect("an inside run"),
        )?;
    }
    if compared == 0 {
        return Err(skip(crate::t!(
            "this host shows nothing through {}: nothing to mask",
            "이 호스트에서는 {}의 어느 것도 보이는 내용이 없습니다. 가릴 것이 없습니다",
            ITEMS.join(", ")
        )));
    }
    Ok(())
}

/// Whether a device node belongs in a container's minimal /dev: the five the
/// contract names with their numbers, and terminals (`tty`, the pty multiplexer,
/// the container's own ptys, which an OCI runtime adds).
fn allowed_node(n: &labkit::probe::DevNode) -> bool {
    const NAMED: [(&str, u64, u64); 7] = [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
        ("/dev/ptmx", 5, 2),
    ];
    let pty = (136..=143).contains(&n.major);
    n.file_type == "char"
        && (NAMED.contains(&(n.path.as_str(), n.major, n.minor))
            || (n.path == "/dev/pts/ptmx" && (n.major, n.minor) == (5, 2))
            || (n.path.starts_with("/dev/pts/") && pty)
            || (n.path == "/dev/console" && pty))
}

/// Pass: in a container with a root file system, every device node under /dev is
/// one of null, zero, full, random, urandom (with their own numbers: a `null` that
/// is 1:1 is /dev/mem) or a terminal; no block device, no `kmsg`, no `mem`, no
/// host disk. Control: the checker's own /dev holds nodes beyond those (else the
/// check cannot tell, and is broken). Fail: any other node inside.
fn dev_only_minimal_nodes(ctx: &Ctx) -> CheckResult {
    let root = ctx.rootfs()?.to_string_lossy().into_owned();
    let (run, d): (_, DevNodes) = ctx.json_of(
        &["--ns", "mnt,pid", "--rootfs", &root],
        &["/bin/probe", "dev-nodes", "/dev"],
    )?;
    let extra: Vec<String> = d
        .nodes
        .iter()
        .filter(|n| !allowed_node(n))
        .map(|n| format!("{} {} {}:{}", n.path, n.file_type, n.major, n.minor))
        .collect();
    ctx.note(format!("{} device nodes inside /dev", d.nodes.len()));
    ensure(
        d.attempt.ok && extra.is_empty(),
        crate::t!(
            "no device inside /dev but null, zero, full, random, urandom and terminals",
            "안의 /dev에 `null`, `zero`, `full`, `random`, `urandom`과 터미널 말고는 장치가 없음"
        ),
        crate::t!(
            "{} more: {}",
            "그 밖의 장치 {}개: {}",
            extra.len(),
            extra.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
        ),
        &run,
    )?;
    let host: DevNodes = host::probe(ctx.probe(), &["dev-nodes", "/dev"])?;
    let host_extra = host.nodes.iter().filter(|n| !allowed_node(n)).count();
    if host_extra == 0 {
        return Err(host_control_failed(crate::t!(
            "the host's own /dev holds no device beyond the minimal set: the check cannot tell",
            "호스트의 /dev에도 최소 집합 밖의 장치가 없습니다. 검사가 차이를 볼 수 없습니다"
        )));
    }
    ctx.note(format!("the host's /dev: {host_extra} devices beyond the minimal set"));
    Ok(())
}
