//! Network namespaces: interfaces, addresses, a veth pair, ports.

use labkit::probe::{BindOnly, Connect, Facts};

use super::*;

fn interface_names(f: &Facts) -> Vec<String> {
    let mut v: Vec<String> = f.interfaces.iter().flatten().map(|i| i.name.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// Pass: only `lo` inside, up. Fail: otherwise; or the control run (no --ns net)
/// not seeing the host's interfaces. Skip: the host itself has no interface but lo
/// (the checker's own view), so nothing can tell a namespace apart.
pub(super) fn only_loopback(ctx: &Ctx) -> CheckResult {
    // The probe looks the moment it starts, in ROUNDS rounds of two containers started
    // together (each one's setup is the other's load): a runtime that brings `lo` up
    // beside the command instead of before it loses that race in some round, where a
    // single quiet start would let it pass by luck.
    const ROUNDS: usize = 3;
    let mut looks = Vec::new();
    for _ in 0..ROUNDS {
        let started: Vec<_> = (0..2)
            .map(|_| ctx.spawn(&["--ns", "net"], &[ctx.probe(), "facts"]))
            .collect::<Result<_, _>>()?;
        let pair: Vec<Result<(crate::runtime::Run, Facts), Outcome>> = started
            .into_iter()
            .map(|sp| {
                let run = sp.wait(Duration::from_secs(30));
                match run.lines_as::<Facts>().pop() {
                    Some(f) => Ok((run, f)),
                    None => Err(fail(
                        crate::t!("the probe's facts line", "probe의 facts 줄"),
                        run.ending(),
                        &run,
                    )),
                }
            })
            .collect();
        for r in pair {
            let (run, f) = r?;
            let names = interface_names(&f);
            let lo_up = f
                .interfaces
                .iter()
                .flatten()
                .any(|i| i.name == "lo" && i.up == Some(true));
            if names != ["lo"] {
                return Err(fail(
                    crate::t!("only `lo` inside", "안에는 `lo`만 있음"),
                    crate::t!("interfaces {}", "인터페이스 {}", crate::text::list(&names)),
                    &run,
                ));
            }
            looks.push((run, lo_up));
        }
    }
    // Down every time: never brought up (the check's own hint). Down only sometimes:
    // brought up beside the command, a race (its cause, which names it).
    let down = looks.iter().filter(|(_, up)| !up).count();
    if let Some((run, _)) = looks.iter().find(|(_, up)| !up) {
        let n = looks.len();
        let verdict = fail(
            crate::t!(
                "`lo` inside up from the command's first instant, in each of {n} starts (two containers started together, {ROUNDS} times)",
                "명령이 시작하는 순간부터 안의 `lo`가 켜져 있음, {n}번 시작할 때마다(컨테이너 둘을 함께 시작하기를 {ROUNDS}번)"
            ),
            crate::t!("`lo` down in {down} of {n} starts", "{n}번 중 {down}번 `lo`가 꺼져 있음"),
            run,
        );
        return Err(if down < n {
            verdict.because(crate::cause::Cause::LoopbackDown)
        } else {
            verdict
        });
    }
    let host_if: Vec<String> = host::interfaces().into_iter().filter(|i| i != "lo").collect();
    if host_if.is_empty() {
        return Err(skip(crate::t!(
            "the host has no network interface but lo: a network namespace cannot be told apart",
            "호스트에 lo 말고는 네트워크 인터페이스가 없어서 네트워크 네임스페이스를 구별할 수 없습니다"
        )));
    }
    const WITHOUT: &str = "without --ns net";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &[], &["facts"])?;
    if !interface_names(&c).iter().any(|i| host_if.contains(i)) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the host's interfaces {host_if:?}: no network namespace without --ns net",
                "호스트의 인터페이스 {host_if:?}: --ns net이 없으면 네트워크 네임스페이스도 없음"
            ),
            crate::ctx::js(&interface_names(&c)),
            &crun,
        ));
    }
    Ok(())
}

fn addresses(f: &Facts) -> Vec<String> {
    f.interfaces
        .iter()
        .flatten()
        .filter(|i| i.loopback != Some(true))
        .flat_map(|i| i.addresses.iter().flatten().map(|a| a.address.clone()))
        .collect()
}

/// Pass: none of the host's interfaces or addresses inside. Fail: one is; or the
/// control run (no --ns net) not seeing them. Skip: the host has none but lo.
pub(super) fn host_addresses_invisible(ctx: &Ctx) -> CheckResult {
    let host_if: Vec<String> = host::interfaces().into_iter().filter(|i| i != "lo").collect();
    if host_if.is_empty() {
        return Err(skip(crate::t!(
            "the host has no network interface but lo: a network namespace cannot be told apart",
            "호스트에 lo 말고는 네트워크 인터페이스가 없어서 네트워크 네임스페이스를 구별할 수 없습니다"
        )));
    }
    let host_addr = addresses(&host::probe(ctx.probe(), &["facts"])?);
    let (run, f): (_, Facts) = ctx.probe_json(&["--ns", "net"], &["facts"])?;
    let seen_if: Vec<String> = interface_names(&f)
        .into_iter()
        .filter(|i| host_if.contains(i))
        .collect();
    let seen_addr: Vec<String> = addresses(&f).into_iter().filter(|a| host_addr.contains(a)).collect();
    ensure(
        seen_if.is_empty() && seen_addr.is_empty(),
        crate::t!(
            "none of the host's interfaces or addresses inside",
            "안에서 호스트의 인터페이스도 주소도 보이지 않음"
        ),
        crate::t!(
            "interfaces {}, addresses {}",
            "인터페이스 {}, 주소 {}",
            crate::text::list(&seen_if),
            crate::text::list(&seen_addr)
        ),
        &run,
    )?;
    const WITHOUT: &str = "without --ns net";
    let (crun, c): (_, Facts) = ctx.control_probe_json(WITHOUT, &[], &["facts"])?;
    if !interface_names(&c).iter().any(|i| host_if.contains(i)) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the host's interfaces {host_if:?}: no network namespace without --ns net",
                "호스트의 인터페이스 {host_if:?}: --ns net이 없으면 네트워크 네임스페이스도 없음"
            ),
            crate::ctx::js(&interface_names(&c)),
            &crun,
        ));
    }
    Ok(())
}

/// A /24 no other run of this checker uses at the same time.
fn subnet(ctx: &Ctx) -> String {
    let n: u32 = ctx
        .unique("", 9)
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    format!("10.{}.{}", 150 + std::process::id() % 90, n % 250 + 1)
}

/// Pass: the container reaches the host's end of the pair and gets its text back,
/// the host sees it come from the container's address, and the host's end is gone
/// afterwards. Fail: otherwise; or the control run (--ns net, no --veth) reaching
/// the host's address (a network namespace holds only lo).
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
pub(super) fn veth_traffic(ctx: &Ctx) -> CheckResult {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("0.0.0.0:0").map_err(|e| {
        broken(crate::t!(
            "binding a host listener: {e}",
            "호스트 쪽 리스너를 bind하지 못했습니다: {e}"
        ))
    })?;
    let port = listener.local_addr().map_err(broken)?.port().to_string();
    listener.set_nonblocking(true).map_err(broken)?;
    let net = subnet(ctx);
    let (hif, cif) = (ctx.unique("lh", 15), ctx.unique("lc", 15));
    let veth = format!("{hif}={net}.1/24,{cif}={net}.2/24");
    let host_ip = format!("{net}.1");
    // The host side echoes one connection back, for at most 15 s.
    let server = std::thread::spawn(move || -> Option<(String, String)> {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, peer)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut got = String::new();
                    let _ = s.read_to_string(&mut got);
                    let _ = s.write_all(got.as_bytes());
                    return Some((got, peer.ip().to_string()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        None
    });
    let r = ctx.probe_json::<Connect>(
        &["--ns", "net", "--veth", &veth],
        &[
            "connect",
            "--addr",
            &host_ip,
            "--port",
            &port,
            "--send",
            "ping-over-veth",
        ],
    );
    // If the container never connected, release the server thread with a connection
    // of our own (it then reports text from 127.0.0.1, which fails the check below).
    let _ = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap_or(0)));
    let served = server.join().unwrap_or(None);
    let (run, c) = r?;
    ensure(
        c.reply.as_deref() == Some("ping-over-veth"),
        crate::t!(
            "the container to reach {host_ip}:{port} over the veth and get its text echoed",
            "컨테이너가 veth로 {host_ip}:{port}에 닿아 보낸 글을 되돌려 받음"
        ),
        crate::t!(
            "connected {}, error {}, reply {}",
            "연결 {}, 오류 {}, 응답 {}",
            crate::text::yes_no(c.connected),
            js(&c.attempt.error),
            js(&c.reply)
        ),
        &run,
    )?;
    let (got, peer) = served.unwrap_or_default();
    ensure(
        got == "ping-over-veth" && peer == format!("{net}.2"),
        crate::t!(
            "the host to receive the text from {net}.2",
            "호스트가 {net}.2에서 글을 받음"
        ),
        crate::t!("{got:?} from {peer:?}", "{peer:?}에서 {got:?}"),
        &run,
    )?;
    if std::path::Path::new("/sys/class/net").join(&hif).exists() {
        return Err(fail(
            crate::t!(
                "host interface {hif} removed when the container ended",
                "컨테이너가 끝나면 호스트 인터페이스 {hif}이(가) 지워짐"
            ),
            crate::t!("it is still there", "아직 남아 있습니다"),
            &run,
        ));
    }
    // Control: a network namespace without the pair cannot reach the host address.
    const WITHOUT: &str = "without --veth";
    let (crun, c): (_, Connect) = ctx.control_probe_json(
        WITHOUT,
        &["--ns", "net"],
        &["connect", "--addr", &host_ip, "--port", &port, "--timeout", "1"],
    )?;
    if c.connected {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "no way to {host_ip}: a new network namespace holds only lo",
                "{host_ip}(으)로 갈 길이 없음: 새 네트워크 네임스페이스에는 lo만 있음"
            ),
            crate::t!("it connected", "연결되었습니다"),
            &crun,
        ));
    }
    Ok(())
}

fn free_port() -> Result<String, Outcome> {
    let l = std::net::TcpListener::bind("0.0.0.0:0")
        .map_err(|e| broken(crate::t!("finding a free port: {e}", "빈 포트를 찾지 못했습니다: {e}")))?;
    Ok(l.local_addr().map_err(broken)?.port().to_string())
}

fn bind_twice(ctx: &Ctx, options: &[&str], port: &str) -> Result<(BindOnly, BindOnly, crate::runtime::Run), Outcome> {
    let args = [ctx.probe(), "bind-only", "--port", port, "--hold", "20"];
    let a = ctx.spawn(options, &args)?;
    let first = a.next_as::<BindOnly>(Duration::from_secs(10));
    let b = ctx.spawn(options, &args)?;
    let second = b.next_as::<BindOnly>(Duration::from_secs(10));
    let rb = b.stop();
    let ra = a.stop();
    let first = first.ok_or_else(|| {
        fail(
            crate::t!("the first probe to report its bind", "첫 번째 probe가 bind 결과를 보고"),
            crate::t!("no report", "보고 없음"),
            &ra,
        )
    })?;
    let second = second.ok_or_else(|| {
        fail(
            crate::t!(
                "the second probe to report its bind",
                "두 번째 probe가 bind 결과를 보고"
            ),
            crate::t!("no report", "보고 없음"),
            &rb,
        )
    })?;
    Ok((first, second, rb))
}

/// Pass: two containers bind the same port at once. Fail: otherwise; or the control
/// runs (no --ns net) where the second bind is not refused with EADDRINUSE.
pub(super) fn same_port_twice(ctx: &Ctx) -> CheckResult {
    let port = free_port()?;
    let (a, b, run) = bind_twice(ctx, &["--ns", "net"], &port)?;
    ensure(
        a.attempt.ok && b.attempt.ok,
        crate::t!(
            "both containers to bind port {port}",
            "두 컨테이너가 모두 포트 {port}에 bind"
        ),
        crate::t!(
            "first {}, second {}",
            "첫 번째 {}, 두 번째 {}",
            js(&a.attempt.error),
            js(&b.attempt.error)
        ),
        &run,
    )?;
    let port = free_port()?;
    const WITHOUT: &str = "without --ns net";
    let (a, b, crun) = crate::outcome::as_control(WITHOUT, bind_twice(ctx, &[], &port))?;
    if !(a.attempt.ok && b.attempt.refused_with("EADDRINUSE")) {
        let (a, b) = (js(&a), js(&b));
        return Err(control_fail(WITHOUT, crate::t!("the first bind of port {port} to succeed and the second to fail with EADDRINUSE (one network namespace)", "포트 {port}의 첫 bind는 성공하고 두 번째는 EADDRINUSE로 실패(네트워크 네임스페이스 하나)"), crate::t!("first {a}, second {b}", "첫 번째 {a}, 두 번째 {b}"), &crun));
    }
    Ok(())
}
