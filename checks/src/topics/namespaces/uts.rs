//! UTS namespaces: host and NIS domain names.
//!
//! Every UTS check starts the runtime in a UTS namespace of the check's own (a copy
//! of the host's, made by the checker and held by a descriptor): a runtime that
//! renames "its caller" renames only that copy, which the check reads there. So no
//! runtime, however broken, renames the machine it is graded on.

use labkit::probe::Hostname;

use super::*;

/// Pass: the probe reads the requested name. Fail: another name; or the control run
/// (--ns uts, no --hostname) not reading the host's name: a new UTS namespace starts
/// as a copy of the caller's (contract §2, `--hostname`), and a runtime that names
/// it anyway breaks that.
pub(super) fn hostname_set(ctx: &Ctx) -> CheckResult {
    let ns = host::PrivateNs::new(ctx.probe(), host::NsKind::Uts)?;
    let rt = ctx.runtime_in(&ns);
    let name = ctx.unique("lab-", 30);
    let (run, f): (_, Hostname) =
        crate::ctx::json_of(&rt, &["--ns", "uts", "--hostname", &name], &[ctx.probe(), "hostname"])?;
    ensure(
        f.hostname.as_deref() == Some(name.as_str()),
        crate::t!("hostname {name:?} inside", "컨테이너 안의 호스트 이름 {name:?}"),
        js(&f.hostname),
        &run,
    )?;
    const WITHOUT: &str = "without --hostname";
    let (crun, c): (_, Hostname) = crate::outcome::as_control(
        WITHOUT,
        crate::ctx::json_of(&rt, &["--ns", "uts"], &[ctx.probe(), "hostname"]),
    )?;
    let host_name = host::hostname();
    if c.hostname.as_deref() != Some(host_name.as_str()) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the host's name {host_name:?} inside: a new UTS namespace starts as a copy of the caller's",
                "안에서도 호스트의 이름 {host_name:?}: 새 UTS 네임스페이스는 호출한 쪽 이름의 복사본으로 시작함"
            ),
            js(&c.hostname),
            &crun,
        ));
    }
    Ok(())
}

/// The hostname seen by a probe run in the UTS namespace of `pid` (from the host, via nsenter).
fn hostname_of(ctx: &Ctx, pid: i32) -> Result<String, Outcome> {
    let v: Hostname = host::in_namespaces_of(pid, &["-u"], ctx.probe(), &["hostname"])?;
    Ok(v.hostname.unwrap_or_default())
}

/// One of the two names a UTS namespace holds.
#[derive(Clone, Copy)]
enum UtsName {
    Host,
    Domain,
}

/// What `probe hostname|domainname --set` reports, read alike.
#[derive(serde::Deserialize)]
struct SetUtsName {
    #[serde(alias = "hostname", alias = "domainname")]
    now: Option<String>,
    #[serde(flatten)]
    attempt: labkit::probe::Attempt,
}

impl UtsName {
    fn verb(self) -> &'static str {
        match self {
            UtsName::Host => "hostname",
            UtsName::Domain => "domainname",
        }
    }

    /// The checker's own (the host's) name.
    fn of_host(self) -> String {
        match self {
            UtsName::Host => host::hostname(),
            UtsName::Domain => nix::sys::utsname::uname()
                .map(|u| u.domainname().to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// The name in the check's own UTS namespace `ns` (where its runtimes run).
    fn of_ns(self, ctx: &Ctx, ns: &host::PrivateNs) -> Result<String, Outcome> {
        let v: serde_json::Value = ns.probe(ctx.probe(), &[self.verb()])?;
        Ok(v.get(self.verb())
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_string())
    }
}

/// The control of the UTS checks: a run **without** `--ns uts` whose command sets
/// the name. The runtime is started in a UTS namespace of the check's own (a copy of
/// the host's), so the rename reaches that namespace, not the machine's.
/// Ok(true): the caller's name changed, as it must without a namespace; Ok(false):
/// the command was refused (a stricter runtime: nothing to compare, noted).
fn uts_control(ctx: &Ctx, which: UtsName) -> Result<bool, Outcome> {
    const WITHOUT: &str = "without --ns uts";
    let value = ctx.unique("lab-ctl-", 30);
    let ns = host::PrivateNs::new(ctx.probe(), host::NsKind::Uts)?;
    let sp = ctx
        .runtime_in(&ns)
        .spawn(&[], &[ctx.probe(), which.verb(), "--set", &value, "--hold", "20"])
        .map_err(broken)?;
    let line = sp.next_as::<SetUtsName>(Duration::from_secs(10));
    let caller = which.of_ns(ctx, &ns);
    let run = sp.stop();
    let Some(line) = line else {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the probe to report setting the {} to {value:?}",
                "probe가 {}을(를) {value:?} 값으로 바꾼 결과를 보고",
                which.verb()
            ),
            run.ending(),
            &run,
        ));
    };
    if refused(&line.attempt) {
        ctx.stricter(format!("`{} --set` refused without --ns uts", which.verb()));
        return Ok(false);
    }
    let caller = caller?;
    if caller != value {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "without a UTS namespace the command's {} {value:?} to be its caller's too",
                "UTS 네임스페이스가 없으면 명령이 바꾼 {} 값({value:?})이 호출한 쪽에서도 보임",
                which.verb()
            ),
            crate::t!(
                "the caller's UTS namespace holds {caller:?} (inside: {})",
                "호출한 쪽의 UTS 네임스페이스는 {caller:?} (안: {})",
                js(&line.now)
            ),
            &run,
        ));
    }
    Ok(true)
}

/// Pass: a command in a container with `--ns uts` sets the NIS domain name (or is
/// refused: a stricter runtime) and sees it, while its caller (the UTS namespace the
/// checker made, a copy of the host's, where the runtime runs) keeps its name.
/// Control: the same command without `--ns uts` changes its caller's name.
/// Fail: the caller's domain name changed; or the command's own name is not the one
/// it set; or the control run did not change its caller's name (a UTS namespace
/// nobody asked for).
pub(super) fn domainname_isolated(ctx: &Ctx) -> CheckResult {
    let which = UtsName::Domain;
    let before = which.of_host();
    let value = ctx.unique("lab-dom-", 30);
    let ns = host::PrivateNs::new(ctx.probe(), host::NsKind::Uts)?;
    let sp = ctx
        .runtime_in(&ns)
        .spawn(
            &["--ns", "uts"],
            &[ctx.probe(), "domainname", "--set", &value, "--hold", "20"],
        )
        .map_err(broken)?;
    let line = sp.next_as::<SetUtsName>(Duration::from_secs(10));
    let caller = which.of_ns(ctx, &ns);
    let run = sp.stop();
    let Some(line) = line else {
        return Err(fail(
            crate::t!(
                "the probe to report setting the domain name to {value:?}",
                "probe가 도메인 이름을 {value:?} 값으로 바꾼 결과를 보고"
            ),
            run.ending(),
            &run,
        ));
    };
    let caller = caller?;
    if refused(&line.attempt) {
        ctx.stricter("`domainname --set` refused inside");
    } else {
        ensure(
            line.now.as_deref() == Some(value.as_str()),
            crate::t!(
                "the domain name {value:?} inside after setting it",
                "안에서 바꾼 뒤의 도메인 이름 {value:?}"
            ),
            js(&line.now),
            &run,
        )?;
    }
    ensure(
        caller == before,
        crate::t!(
            "the caller's domain name {before:?} unchanged while the container set {value:?}",
            "컨테이너가 {value:?} 값으로 바꾸는 동안 호출한 쪽의 도메인 이름 {before:?} 유지"
        ),
        crate::t!("{caller:?}", "{caller:?}"),
        &run,
    )?;
    uts_control(ctx, which).map(|_| ())
}

/// Pass: two containers, each `--ns uts --hostname NAME`, hold their two names at
/// the same time (each its own namespace, not one shared) while their caller (the
/// UTS namespace the checker made, a copy of the host's, where both runtimes run)
/// keeps the host's name. Control: a command without `--ns uts` that sets the hostname renames
/// its caller. Fail: otherwise, or the control not renaming its caller.
pub(super) fn host_hostname_unchanged(ctx: &Ctx) -> CheckResult {
    let before = host::hostname();
    let ns = host::PrivateNs::new(ctx.probe(), host::NsKind::Uts)?;
    let rt = ctx.runtime_in(&ns);
    let (a, b) = (ctx.unique("lab-a-", 30), ctx.unique("lab-b-", 30));
    let (sa, pa) = ctx.sleeper_on(&rt, &["--ns", "uts", "--hostname", &a], ctx.probe(), "uts-a")?;
    let (sb, pb) = ctx.sleeper_on(&rt, &["--ns", "uts", "--hostname", &b], ctx.probe(), "uts-b")?;
    let (ha, hb) = (hostname_of(ctx, pa), hostname_of(ctx, pb));
    let caller = UtsName::Host.of_ns(ctx, &ns);
    let ra = sa.stop();
    let _rb = sb.stop();
    let (ha, hb) = (ha?, hb?);
    let caller = caller?;
    ensure(
        ha == a && hb == b && caller == before,
        crate::t!(
            "{a:?} and {b:?} inside the two containers at the same time while their caller keeps {before:?}",
            "두 컨테이너 안에서 동시에 {a:?}, {b:?}, 그동안 호출한 쪽은 {before:?} 유지"
        ),
        crate::t!(
            "inside {ha:?} and {hb:?}, the caller {caller:?}",
            "안 {ha:?}, {hb:?}, 호출한 쪽 {caller:?}"
        ),
        &ra,
    )?;
    uts_control(ctx, UtsName::Host).map(|_| ())
}
