//! net_cls: `--net-classid` observed where the kernel applies it, in nftables
//! counters of packets whose socket carries the class id, with a control from a
//! cgroup without one.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use labkit::probe::Connect;

use super::*;
use crate::cgview::Tree;
use crate::ctx::json_of as run_json;
use crate::outcome::{broken, Text};
use crate::runtime::Runtime;

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// The class id passed (as the contract's example: class 10:1) and its value.
const CLASSID_ARG: &str = "0x100001";
const CLASSID: u32 = 0x0010_0001;

/// net_cls in /proc/cgroups: `Some(hierarchy id)` (0: bound to no hierarchy),
/// `None` when the kernel has no enabled net_cls controller.
fn net_cls_hierarchy() -> Option<u32> {
    let text = std::fs::read_to_string("/proc/cgroups").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() >= 4 && f[0] == "net_cls" && f[3] == "1")
            .then(|| f[1].parse().ok())
            .flatten()
    })
}

/// Cgroups in the net_cls hierarchy (its root included) per /proc/cgroups.
fn net_cls_cgroup_count() -> Option<u64> {
    labkit::state::proc_cgroups_count("net_cls")
}

/// Pass: a container with --net-classid sends packets nftables counts as that class
/// (`meta cgroup`). Fail: no packet carries it; or the control run (no
/// --net-classid) failing to connect or carrying the class id. Broken: nftables
/// counted no packet at all (the host's rule, not the runtime). Skip: no net_cls.
pub(super) fn classid_tags_traffic(ctx: &Ctx) -> CheckResult {
    let tree = Tree::detect().map_err(|e| {
        broken(crate::t!(
            "reading the cgroup tree: {e}",
            "cgroup 트리를 읽지 못했습니다: {e}"
        ))
    })?;
    if tree.version == Version::V2 {
        return Err(skip(crate::t!(
            "net_cls has no cgroup v2 controller",
            "net_cls에는 cgroup v2 컨트롤러가 없습니다"
        )));
    }
    let names = Names {
        probe: ctx.probe().to_string(),
        tagged: ctx.unique("lab-ncls-", 40),
        control: ctx.unique("lab-ncls-ctl-", 40),
        table: ctx.unique("lab_ncls_", 30),
    };
    if tree.has("net_cls") {
        // Mounted on this host: the checker's parent is made in it like in the others.
        let parent = ctx.cgroup_parent()?;
        match parent.dir("net_cls", "") {
            Some(d) if d.is_dir() => {}
            d => {
                return Err(broken(crate::t!(
                    "the checker's parent cgroup is missing in the net_cls hierarchy ({})",
                    "net_cls 계층에 검사기의 부모 cgroup이 없습니다({})",
                    crate::text::opt(d.as_ref().map(|d| d.display()))
                )))
            }
        }
        let notes = Notes::default();
        let r = observe_classid(&ctx.runtime(), &names, &notes);
        notes.into_ctx(ctx);
        return r;
    }
    let Some(hierarchy) = net_cls_hierarchy() else {
        return Err(skip(crate::t!(
            "this kernel has no enabled net_cls controller (/proc/cgroups)",
            "이 커널에는 켜진 net_cls 컨트롤러가 없습니다(/proc/cgroups)"
        )));
    };
    // Not mounted here: mount it, but only in a private mount namespace of one thread
    // of the checker, which the runtime it starts inherits. Mounted host-wide it would
    // leak into the cgroups of checks running at the same time (their parents and
    // containers would be made in it, and outlive the unmount).
    let mnt = ctx.dir("net_cls-hierarchy")?;
    let parent_rel = ctx.cgroup_parent()?.rel.clone();
    let rt = ctx.runtime();
    let notes = Notes::default();
    notes.add("net_cls mounted by the check, in a private mount namespace");
    let r = std::thread::scope(|s| {
        let t = std::thread::Builder::new()
            .name("net_cls-mount".into())
            .spawn_scoped(s, || {
                let mounted = NetClsMount::private(&mnt, &parent_rel, hierarchy == 0)?;
                // The runtime joins the check's parent in this hierarchy too, as in the others.
                let mut rt = rt.clone();
                rt.join.extend(mounted.parent.as_ref().map(|p| p.join("tasks")));
                observe_classid(&rt, &names, &notes)
            })
            .map_err(|e| broken(crate::t!("starting a thread: {e}", "스레드를 시작하지 못했습니다: {e}")))?;
        t.join().unwrap_or_else(|p| {
            let why = panic_text(p);
            Err(broken(crate::t!(
                "the check panicked: {why}",
                "검사 코드가 패닉했습니다: {why}"
            )))
        })
    });
    notes.into_ctx(ctx);
    r
}

/// Notes gathered on another thread (the context stays on the check's own).
#[derive(Default)]
struct Notes(std::sync::Mutex<Vec<String>>);

impl Notes {
    fn add(&self, text: impl Into<String>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(text.into());
    }

    fn into_ctx(self, ctx: &Ctx) {
        for n in self.0.into_inner().unwrap_or_else(|p| p.into_inner()) {
            ctx.note(n);
        }
    }
}

struct Names {
    probe: String,
    tagged: String,
    control: String,
    table: String,
}

/// The net_cls v1 hierarchy mounted in a new mount namespace of the calling thread,
/// with the checker's parent cgroup made in it. Dropped (on the same thread): the
/// parent and anything left below it removed, the hierarchy unmounted; the namespace
/// ends with the thread.
///
/// The kernel destroys a v1 hierarchy at unmount only if its root has no child then,
/// and a removed cgroup stays a child until the kernel has released it (after an RCU
/// grace period): unmounting right after `rmdir` would leave the hierarchy behind,
/// invisible, for good. So the drop waits for /proc/cgroups to count no more cgroups
/// than at the mount, and (if the check made the hierarchy) for it to be gone.
struct NetClsMount {
    mnt: PathBuf,
    parent: Option<PathBuf>,
    /// net_cls cgroups counted by /proc/cgroups right after the mount.
    baseline: u64,
    /// net_cls was bound to no hierarchy before (id 0): the check made it.
    fresh: bool,
    /// The parent, in the state file while it exists (a fresh hierarchy only).
    hidden: Option<labkit::state::Item>,
}

impl NetClsMount {
    fn private(mnt: &Path, parent_rel: &str, fresh: bool) -> Result<NetClsMount, Outcome> {
        use nix::mount::{mount, MsFlags};
        // Nothing mounted here may propagate to the host.
        labkit::mountinfo::enter_private_namespace().map_err(|e| {
            broken(crate::t!(
                "a private mount namespace on the check's thread: {e}",
                "검사 스레드의 개인 마운트 네임스페이스를 만들지 못했습니다: {e}"
            ))
        })?;
        mount(Some("cgroup"), mnt, Some("cgroup"), MsFlags::empty(), Some("net_cls")).map_err(|e| {
            // EPERM with CAP_SYS_ADMIN: a cgroup namespace other than the host's, where the
            // kernel mounts only hierarchies that are mounted somewhere already.
            let why = if e == nix::errno::Errno::EPERM {
                crate::t!(
                    " (in a cgroup namespace other than the host's the kernel mounts only v1 hierarchies mounted elsewhere already, and net_cls is mounted nowhere)",
                    " (호스트의 것이 아닌 cgroup 네임스페이스에서는 이미 다른 곳에 마운트된 v1 계층만 마운트할 수 있는데, net_cls는 어디에도 마운트되어 있지 않습니다)"
                )
            } else {
                crate::t!("", "")
            };
            skip(crate::t!(
                "cannot mount the net_cls v1 hierarchy on {}: {e}{why}",
                "{}에 net_cls v1 계층을 마운트할 수 없습니다: {e}{why}",
                mnt.display()
            ))
        })?;
        let mut me = NetClsMount {
            mnt: mnt.to_path_buf(),
            parent: None,
            baseline: net_cls_cgroup_count().unwrap_or(1),
            fresh,
            hidden: None,
        };
        // This thread's own cgroup in the new hierarchy (the root of a fresh one), as the
        // runtime will read it from its /proc/self/cgroup.
        let own = std::fs::read_to_string("/proc/thread-self/cgroup")
            .ok()
            .and_then(|t| {
                labkit::cgroups::parse_cgroup(&t)
                    .into_iter()
                    .find(|l| l.controllers.iter().any(|c| c == "net_cls"))
            })
            .map(|l| l.path)
            .ok_or_else(|| {
                broken(crate::t!(
                    "no net_cls line in /proc/thread-self/cgroup after mounting net_cls",
                    "net_cls를 마운트한 뒤에도 /proc/thread-self/cgroup에 net_cls 줄이 없습니다"
                ))
            })?;
        let rel = Path::new(own.trim_start_matches('/')).join(parent_rel);
        let dir = mnt.join(&rel);
        if fresh {
            // Not reachable from the host's mount table: `harness cleanup` mounts it again.
            let item = labkit::state::Item::HiddenCgroup {
                controller: "net_cls".into(),
                rel,
            };
            crate::state::add(&item);
            me.hidden = Some(item);
        }
        std::fs::create_dir(&dir)
            .map_err(|e| broken(crate::t!("creating {}: {e}", "{} 만들기 실패: {e}", dir.display())))?;
        me.parent = Some(dir);
        Ok(me)
    }
}

impl Drop for NetClsMount {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        if let Some(p) = &self.parent {
            labkit::state::kill_cgroup_tree(p, deadline);
            if let Err(e) = labkit::state::remove_cgroup_tree(p, deadline) {
                eprintln!("warning: {e}");
                // Left in the state file: `harness cleanup` mounts the hierarchy again.
                self.hidden = None;
            }
        }
        let count = || net_cls_cgroup_count().unwrap_or(0);
        while count() > self.baseline && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Err(e) = nix::mount::umount2(&self.mnt, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("warning: unmounting {}: {e}", self.mnt.display());
        }
        if self.fresh {
            // The kernel destroys the hierarchy asynchronously: leave the host as found.
            let deadline = Instant::now() + Duration::from_secs(5);
            while net_cls_hierarchy().unwrap_or(0) != 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if net_cls_hierarchy().unwrap_or(0) != 0 {
                eprintln!(
                    "warning: the net_cls hierarchy the check mounted outlived its unmount \
                     ({} cgroups in it)",
                    count()
                );
            }
        }
        // Crossed out only now: a checker killed before the unmount (while the removed
        // parent was still being released) can leave the hierarchy alive, unmounted;
        // `harness cleanup` then mounts it again, which lets it go.
        if let Some(i) = &self.hidden {
            crate::state::done(i);
        }
    }
}

/// A TCP server on 127.0.0.1 that echoes each connection (read to EOF) until dropped.
struct EchoServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EchoServer {
    fn start() -> Result<EchoServer, Outcome> {
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| {
            broken(crate::t!(
                "listening on 127.0.0.1: {e}",
                "127.0.0.1에서 listen하지 못했습니다: {e}"
            ))
        })?;
        l.set_nonblocking(true).map_err(broken)?;
        let port = l.local_addr().map_err(broken)?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut got = Vec::new();
                        let _ = s.read_to_end(&mut got);
                        let _ = s.write_all(&got);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(EchoServer {
            port,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn nft(args: &[&str], stdin: Option<&str>) -> Result<String, Text> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| crate::t!("running nft: {e}", "nft를 실행하지 못했습니다: {e}"))?;
    if let (Some(text), Some(mut w)) = (stdin, child.stdin.take()) {
        let _ = w.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| crate::t!("running nft: {e}", "nft를 실행하지 못했습니다: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Text::from(format!(
            "nft {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// An nftables table of the check's own (inet family, an output chain), deleted when dropped.
struct NftTable {
    name: String,
}

const NFT_ALL: &str = "lab-all";
const NFT_TAGGED: &str = "lab-tagged";

impl NftTable {
    /// Counts every packet the host sends to 127.0.0.1:`port`, and those whose socket
    /// carries the class id.
    fn counting(name: &str, port: u16) -> Result<NftTable, Outcome> {
        crate::state::add(&Self::item(name));
        let script = format!(
            "add table inet {name}\n\
             add chain inet {name} out {{ type filter hook output priority 0 ; policy accept ; }}\n\
             add rule inet {name} out ip daddr 127.0.0.1 tcp dport {port} counter comment \"{NFT_ALL}\"\n"
        );
        nft(&["-f", "-"], Some(&script)).map_err(|e| {
            crate::state::done(&Self::item(name));
            if e.contains("Operation not supported") || e.contains("No such file or directory") {
                skip(crate::t!(
                    "this kernel cannot run nftables rules: {e}",
                    "이 커널은 nftables 규칙을 실행할 수 없습니다: {e}"
                ))
            } else {
                broken(e)
            }
        })?;
        let t = NftTable { name: name.to_string() };
        let rule = format!(
            "add rule inet {name} out ip daddr 127.0.0.1 tcp dport {port} meta cgroup {CLASSID} counter comment \
             \"{NFT_TAGGED}\"\n"
        );
        // The plain rule went in, so a refusal here is about the class id match.
        nft(&["-f", "-"], Some(&rule)).map_err(|e| {
            skip(crate::t!(
                "nftables cannot match the socket's class id (meta cgroup): {e}",
                "nftables가 소켓의 class id를 가려낼 수 없습니다(meta cgroup): {e}"
            ))
        })?;
        Ok(t)
    }

    /// (tagged, all) packets counted so far.
    fn counters(&self) -> Result<(u64, u64), Outcome> {
        let out = nft(&["-j", "list", "chain", "inet", &self.name, "out"], None).map_err(broken)?;
        // nft's own JSON (libnftables-json(5)), not a probe line.
        let v: serde_json::Value = serde_json::from_str(&out)
            .map_err(|e| broken(crate::t!("nft -j output: {e}", "nft -j 출력을 읽지 못했습니다: {e}")))?;
        let count = |comment: &str| -> Option<u64> {
            v.get("nftables")?.as_array()?.iter().find_map(|item| {
                let rule = item.get("rule")?;
                if rule.get("comment")?.as_str() != Some(comment) {
                    return None;
                }
                rule.get("expr")?
                    .as_array()?
                    .iter()
                    .find_map(|e| e.get("counter")?.get("packets")?.as_u64())
            })
        };
        match (count(NFT_TAGGED), count(NFT_ALL)) {
            (Some(t), Some(a)) => Ok((t, a)),
            _ => Err(broken(crate::t!(
                "no counters in nft's listing of table {}: {out}",
                "nft가 보여 준 테이블 {}에 카운터가 없습니다: {out}",
                self.name
            ))),
        }
    }
}

impl NftTable {
    fn item(name: &str) -> labkit::state::Item {
        labkit::state::Item::NftTable {
            family: "inet".into(),
            name: name.into(),
        }
    }
}

impl Drop for NftTable {
    fn drop(&mut self) {
        match nft(&["delete", "table", "inet", &self.name], None) {
            Ok(_) => crate::state::done(&Self::item(&self.name)),
            Err(e) => eprintln!("warning: {e}"),
        }
    }
}

/// A container without a network namespace connects to a listener of the check on
/// 127.0.0.1; an nftables rule in the host's OUTPUT hook counts its packets by class id.
// Long: the observations, their tolerances and the control read as one sequence, in the order the verdict rules above give.
fn observe_classid(rt: &Runtime, n: &Names, notes: &Notes) -> CheckResult {
    let server = EchoServer::start()?;
    let port = server.port.to_string();
    let table = NftTable::counting(&n.table, server.port)?;
    let connect = [
        n.probe.as_str(),
        "connect",
        "--port",
        &port,
        "--send",
        "tagged-by-net-classid",
    ];

    let (run, c): (_, Connect) = run_json(rt, &["--cgroup", &n.tagged, "--net-classid", CLASSID_ARG], &connect)?;
    ensure(
        c.connected,
        crate::t!(
            "the container to connect to 127.0.0.1:{port} (the host's network namespace)",
            "컨테이너가 127.0.0.1:{port}에 연결(호스트의 네트워크 네임스페이스)"
        ),
        crate::t!(
            "connected {}, error {}",
            "연결 {}, 오류 {}",
            crate::text::yes_no(c.connected),
            js(&c.attempt.error)
        ),
        &run,
    )?;
    let (tagged, all) = table.counters()?;
    notes.add(format!(
        "--net-classid {CLASSID_ARG}: {tagged} of {all} packets carried the class id"
    ));
    if all == 0 {
        return Err(broken(crate::t!(
            "the connection to 127.0.0.1:{port} was made, but nftables counted no packet to it",
            "127.0.0.1:{port}에 연결은 되었지만 nftables가 그리로 간 패킷을 하나도 세지 못했습니다"
        )));
    }
    ensure(
        tagged > 0,
        crate::t!(
            "the container's packets to 127.0.0.1:{port} to carry class id {CLASSID_ARG} (10:1), counted by nftables \
             `meta cgroup {CLASSID}`",
            "127.0.0.1:{port}(으)로 가는 컨테이너의 패킷에 class id {CLASSID_ARG}(10:1)가 붙음, nftables \
             `meta cgroup {CLASSID}`로 셈"
        ),
        crate::t!(
            "{tagged} of {all} packets carried it",
            "패킷 {all}개 중 {tagged}개에 붙어 있었습니다"
        ),
        &run,
    )?;

    // Control: the same connection from a cgroup without a class id is not counted.
    const WITHOUT: &str = "without --net-classid";
    let (crun, c) = crate::outcome::as_control(WITHOUT, run_json::<Connect>(rt, &["--cgroup", &n.control], &connect))?;
    if !c.connected {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the container to connect to 127.0.0.1:{port} (the host's network namespace)",
                "컨테이너가 127.0.0.1:{port}에 연결(호스트의 네트워크 네임스페이스)"
            ),
            crate::t!(
                "connected {}, error {}",
                "연결 {}, 오류 {}",
                crate::text::yes_no(c.connected),
                js(&c.attempt.error)
            ),
            &crun,
        ));
    }
    let (ctagged, call) = table.counters()?;
    notes.add(format!(
        "no class id: {} of {} packets carried it",
        ctagged.saturating_sub(tagged),
        call.saturating_sub(all)
    ));
    if call == all {
        return Err(broken(crate::t!(
            "the control connection to 127.0.0.1:{port} was made, but nftables counted no packet to it",
            "대조 실험의 127.0.0.1:{port} 연결은 되었지만 nftables가 그리로 간 패킷을 하나도 세지 못했습니다"
        )));
    }
    if ctagged != tagged {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "no packet carrying class id {CLASSID_ARG}: no class id without --net-classid",
                "class id {CLASSID_ARG}가 붙은 패킷이 없음: --net-classid가 없으면 class id도 없음"
            ),
            crate::t!(
                "{} of {} packets carried it",
                "패킷 {1}개 중 {0}개에 붙어 있었습니다",
                ctagged.saturating_sub(tagged),
                call.saturating_sub(all)
            ),
            &crun,
        ));
    }
    Ok(())
}
