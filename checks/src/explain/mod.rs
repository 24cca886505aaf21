//! `--explain`: the lecture's three pictures, drawn from the learner's own container.
//!
//! One container is started through the contract with every feature the course
//! teaches (every namespace, a cgroup with limits and a weight, an overlay of two
//! layers), and a second beside it (its own cgroup and upper directory over the same
//! layers). Both are looked at from inside (the probe's `scene` line) and from the
//! host (/proc, the cgroup files, the upper directory), never through what the
//! runtime says. What the runtime does not do yet shows as it is: a namespace the
//! container shares with the host, a limit that did not reach its file, a root that
//! is no overlay. Those parts are drawn greyed, with the exercise that teaches them.
//!
//! A runtime that cannot start everything at once still gets its pictures: the
//! container is started again without the user namespace, then one container per
//! picture, and each picture says which container it came from.

pub mod draw;
pub mod sample;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use labkit::probe::Scene;
use serde::Serialize;

use crate::cgview::{ScratchParent, Version};
use crate::ctx::Ctx;
use crate::outcome::Outcome;
use crate::runtime::{Runtime, Spawned};
use crate::text::Text;

/// The namespace types in the lecture's order, with the exercise that makes each.
pub const NAMESPACES: [(&str, &str); 8] = [
    ("pid", "ns-pid"),
    ("uts", "ns-uts"),
    ("mnt", "ns-mount"),
    ("ipc", "ns-ipc"),
    ("net", "ns-net"),
    ("user", "ns-user"),
    ("cgroup", "ns-cgroup-time"),
    ("time", "ns-cgroup-time"),
];

/// Every exercise a greyed part can point at (a unit test of `exercises` checks
/// that each is in the manifest).
pub const EXERCISES: [&str; 13] = [
    "ns-pid",
    "ns-uts",
    "ns-mount",
    "ns-ipc",
    "ns-net",
    "ns-user",
    "ns-cgroup-time",
    "cg-memory",
    "cg-cpu",
    "cg-pids",
    "cg-guarantee",
    "ufs-layers",
    "ufs-sharing",
];

/// The two containers of the lecture's cgroup picture: A 50% of a CPU, B 30%,
/// and weights 500:300 (its 1 GB and 512 MB, scaled down to what a grader has).
pub const A: Plan = Plan {
    label: "A",
    memory: 64 << 20,
    cpu_quota: 50_000,
    weight: 500,
    pids: 32,
};
pub const B: Plan = Plan {
    label: "B",
    memory: 32 << 20,
    cpu_quota: 30_000,
    weight: 300,
    pids: 16,
};
/// The CPU period of both, in microseconds.
pub const CPU_PERIOD: u64 = 100_000;
/// What container A allocates and holds, to have a usage to draw.
pub const A_ALLOCATES: u64 = 8 << 20;
/// Wall-clock seconds container A spins, to have CPU time and throttled periods to
/// draw: at 50% of a CPU, about three periods of 100 ms.
const A_SPINS: &str = "0.3";
/// How long the containers hold while the host looks: far more than the look takes;
/// they are stopped as soon as it is done.
const HOLD_SECS: &str = "120";
/// How long a container may take to say what it saw.
const START: Duration = Duration::from_secs(30);

/// One container's cgroup settings.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub label: &'static str,
    pub memory: u64,
    pub cpu_quota: u64,
    pub weight: u64,
    pub pids: u64,
}

/// A part the runtime does not do yet (or that could not be observed), and the
/// exercise that teaches it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing {
    pub why: Text,
    pub exercise: String,
}

/// The three pictures and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The runtime's command.
    pub runtime: String,
    /// Every container started, in order: the command line, and why it gave no
    /// picture where it did not.
    pub commands: Vec<Started>,
    /// What had to be done another way (a container started again without a
    /// feature), shown above the pictures.
    pub notes: Vec<Text>,
    pub namespaces: Namespaces,
    pub cgroups: Cgroups,
    pub layers: Layers,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Started {
    pub command: String,
    pub failed: Option<Text>,
}

impl Started {
    /// The command line, and under it why it gave no picture.
    pub fn lines(&self, lang: crate::text::Lang) -> String {
        match &self.failed {
            None => self.command.clone(),
            Some(why) => format!(
                "{}\n    -> {}",
                self.command,
                crate::t!("no picture from it: {why}", "그림 없음: {why}").get(lang)
            ),
        }
    }
}

/// Picture 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Namespaces {
    /// The container never said what it saw.
    pub missing: Option<Missing>,
    pub kinds: Vec<NsKind>,
    pub host_hostname: String,
    pub hostname: Option<String>,
    /// The container's processes as the host sees them, the runtime first.
    pub tree: Vec<Proc>,
    /// How many processes the host has, and how many the container sees.
    pub host_pids: usize,
    pub visible_pids: usize,
}

/// One namespace type: the host's inode and the container's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NsKind {
    pub name: String,
    pub host: Option<u64>,
    pub inside: Option<u64>,
    pub exercise: String,
}

impl NsKind {
    /// Whether the container has its own (another inode than the host's).
    pub fn own(&self) -> bool {
        self.inside.is_some() && self.host.is_some() && self.inside != self.host
    }
}

/// A process of the container (or the runtime above it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proc {
    pub host_pid: i32,
    /// Its PID in the container's PID namespace (None: the runtime, outside).
    pub inside_pid: Option<u64>,
    pub name: String,
    /// Depth in the host's process tree, the runtime at 0.
    pub depth: usize,
}

/// Picture 2.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cgroups {
    pub version: u8,
    /// The parent the containers' cgroups are made in (`LAB_CGROUP_PARENT`).
    pub parent: String,
    pub containers: Vec<CgContainer>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CgContainer {
    pub label: String,
    pub name: String,
    /// No cgroup of its own (or the container did not start).
    pub missing: Option<Missing>,
    /// Its cgroup as the host's /proc/PID/cgroup names it (v1: the memory hierarchy).
    pub path: Option<String>,
    /// The same as the container sees it (`/` with a cgroup namespace).
    pub inside_path: Option<String>,
    pub limits: Vec<Limit>,
    pub usage: Vec<Usage>,
    pub counters: Vec<Counter>,
}

/// One flag: what was asked, and what its cgroup file holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limit {
    pub flag: String,
    pub file: String,
    pub asked: String,
    pub read: Option<String>,
    pub exercise: String,
}

impl Limit {
    pub fn applied(&self) -> bool {
        self.read.as_deref() == Some(self.asked.as_str())
    }
}

/// A figure against its limit (a bar).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    pub what: String,
    pub current: u64,
    pub limit: Option<u64>,
    pub bytes: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counter {
    pub name: String,
    pub value: Option<u64>,
}

/// Picture 3.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layers {
    pub missing: Option<Missing>,
    /// Bottom first.
    pub lowers: Vec<LayerDir>,
    pub upper: LayerDir,
    pub work: String,
    /// The file system of `/` inside.
    pub root_fstype: Option<String>,
    /// Paths (from the root) in the upper directory after the container's writes.
    pub copied_up: Vec<String>,
    pub whiteouts: Vec<String>,
    pub created: Vec<String>,
    pub sharing: Sharing,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerDir {
    pub name: String,
    pub path: String,
    pub files: u64,
    pub bytes: u64,
}

/// One file of the base layer, seen by two containers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sharing {
    pub missing: Option<Missing>,
    pub file: String,
    pub file_bytes: u64,
    pub host_ino: Option<u64>,
    pub a_ino: Option<u64>,
    pub b_ino: Option<u64>,
    /// The second container's upper directory.
    pub upper_b: Option<LayerDir>,
}

impl Sharing {
    pub fn shared(&self) -> bool {
        self.host_ino.is_some() && self.a_ino == self.host_ino && self.b_ino == self.host_ino
    }
}

/// A running container and what it said.
struct Stage {
    sp: Spawned,
    scene: Scene,
}

impl Stage {
    fn stop(self) {
        let _ = self.sp.stop();
    }
}

fn outcome_text(o: Outcome) -> Text {
    match o {
        Outcome::Pass => Text::from("passed"),
        Outcome::Fail(f) => f.got,
        Outcome::Skip(t) | Outcome::Broken(t) => t,
    }
}

/// Observes the runtime: the three pictures.
pub fn explain(rt: &Runtime) -> Result<Explanation, Text> {
    let ctx = Ctx::new(rt.clone()).map_err(outcome_text)?;
    observe(&ctx).map_err(outcome_text)
}

/// The files the layers hold: base (the probe's root file system and two files),
/// app (the application).
struct Image {
    base: PathBuf,
    app: PathBuf,
}

const BASE_FILES: [(&str, &str); 2] = [("etc/motd", "base layer\n"), ("etc/old.conf", "legacy=1\n")];
const APP_FILES: [(&str, &str); 2] = [("app/version", "1.0\n"), ("app/config", "debug=off\n")];
/// What container A does to them: one copy-up, one new file, one whiteout.
pub const A_WRITES: [(&str, &str); 2] = [("/app/config", "debug=on"), ("/app/log.txt", "started")];
pub const A_REMOVES: &str = "/etc/old.conf";
/// The base layer's file both containers look at.
pub const SHARED_FILE: &str = "/bin/probe";

fn image(ctx: &Ctx) -> Result<Image, Outcome> {
    let base = ctx.rootfs()?.to_path_buf();
    let app = ctx.dir("layer-app")?;
    for (dir, files) in [(&base, &BASE_FILES[..]), (&app, &APP_FILES[..])] {
        for (rel, text) in files {
            let p = dir.join(rel);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(crate::outcome::broken)?;
            }
            std::fs::write(&p, text).map_err(crate::outcome::broken)?;
        }
    }
    Ok(Image { base, app })
}

fn cgroup_opts(plan: &Plan, name: &str) -> Vec<String> {
    [
        "--cgroup".to_string(),
        name.to_string(),
        "--memory".into(),
        plan.memory.to_string(),
        "--cpus".into(),
        format!("{}/{CPU_PERIOD}", plan.cpu_quota),
        "--cpu-weight".into(),
        plan.weight.to_string(),
        "--pids".into(),
        plan.pids.to_string(),
    ]
    .to_vec()
}

fn layer_opts(ctx: &Ctx, img: &Image, tag: &str) -> Result<Vec<String>, Outcome> {
    let s = |p: &Path| p.to_string_lossy().into_owned();
    Ok(vec![
        "--layer".into(),
        s(&img.base),
        "--layer".into(),
        s(&img.app),
        "--upper".into(),
        s(&ctx.dir(&format!("{tag}-upper"))?),
        "--work".into(),
        s(&ctx.dir(&format!("{tag}-work"))?),
    ])
}

fn scene_a(probe: &str) -> Vec<String> {
    let mut v = vec![probe.to_string(), "scene".into()];
    for (p, t) in A_WRITES {
        v.extend(["--write".into(), format!("{p}={t}")]);
    }
    v.extend(["--rm".into(), A_REMOVES.into()]);
    v.extend(["--mem".into(), A_ALLOCATES.to_string(), "--spin".into(), A_SPINS.into()]);
    v.extend(["--stat".into(), SHARED_FILE.into(), "--hold".into(), HOLD_SECS.into()]);
    v
}

/// Starts a container and waits for its `scene` line; every attempt is listed in
/// `log`, and a failure says how the runtime ended and its last stderr line.
fn start(ctx: &Ctx, opts: &[String], cmd: &[String], log: &mut Vec<Started>) -> Result<Stage, Text> {
    let o: Vec<&str> = opts.iter().map(String::as_str).collect();
    let c: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let rt = ctx.runtime();
    let sp = match rt.spawn(&o, &c) {
        Ok(sp) => sp,
        Err(e) => {
            let why = Text::from(e);
            log.push(Started {
                command: format!("{} run {}", rt.path.display(), o.join(" ")),
                failed: Some(why.clone()),
            });
            return Err(why);
        }
    };
    let command = sp.command_line();
    match sp.next_as::<Scene>(START) {
        Some(scene) => {
            log.push(Started { command, failed: None });
            Ok(Stage { sp, scene })
        }
        None => {
            let run = sp.stop();
            let tail = run.stderr_tail(1);
            let tail = tail.trim();
            // The runtime's own words, verbatim in both languages.
            let why = if tail.is_empty() {
                run.ending()
            } else {
                crate::t!("{}: `{tail}`", "{}: `{tail}`", run.ending())
            };
            log.push(Started {
                command,
                failed: Some(why.clone()),
            });
            Err(why)
        }
    }
}

/// Which container each picture comes from.
struct Staged {
    ns: Result<Stage, Text>,
    cg: Option<Result<Stage, Text>>,
    layers: Option<Result<Stage, Text>>,
}

fn observe(ctx: &Ctx) -> Result<Explanation, Outcome> {
    let img = image(ctx)?;
    let parent = ctx.cgroup_parent()?.clone();
    let name_a = ctx.unique("explain-a-", 40);
    let name_b = ctx.unique("explain-b-", 40);
    let all_ns = NAMESPACES.map(|(n, _)| n).join(",");
    let no_user = NAMESPACES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "user")
        .collect::<Vec<_>>()
        .join(",");
    let map = ["--uid-map", "0:0:65536", "--gid-map", "0:0:65536"].map(String::from);
    let mut notes = Vec::new();
    let mut commands = Vec::new();

    let a_layers = layer_opts(ctx, &img, "a")?;
    let whole = |ns: &str, user: bool| -> Vec<String> {
        let mut o = vec![
            "--ns".to_string(),
            ns.to_string(),
            "--hostname".into(),
            "container-a".into(),
        ];
        if user {
            o.extend(map.iter().cloned());
        }
        o.extend(a_layers.iter().cloned());
        o.extend(cgroup_opts(&A, &name_a));
        o
    };
    let inside = scene_a("/bin/probe");
    let mut staged = match start(ctx, &whole(&all_ns, true), &inside, &mut commands) {
        Ok(s) => Staged {
            ns: Ok(s),
            cg: None,
            layers: None,
        },
        Err(first) => match start(ctx, &whole(&no_user, false), &inside, &mut commands) {
            Ok(s) => {
                notes.push(crate::t!(
                    "The container did not start with a user namespace ({first}); it was started again without one.",
                    "사용자 네임스페이스와 함께는 컨테이너가 시작되지 않아({first}) 그것 없이 다시 시작했습니다."
                ));
                Staged {
                    ns: Ok(s),
                    cg: None,
                    layers: None,
                }
            }
            Err(_) => {
                notes.push(crate::t!(
                    "The container did not start with everything at once ({first}); each picture comes from a container of its own.",
                    "모든 기능을 한 번에 켠 컨테이너가 시작되지 않아({first}) 그림마다 따로 컨테이너를 띄웠습니다."
                ));
                let host_probe = scene_a(ctx.probe());
                let ns_only = vec![
                    "--ns".to_string(),
                    no_user.clone(),
                    "--hostname".into(),
                    "container-a".into(),
                ];
                let ns = start(ctx, &ns_only, &host_probe, &mut commands);
                let cg = start(ctx, &cgroup_opts(&A, &name_a), &host_probe, &mut commands);
                let mut lo = vec!["--ns".to_string(), "mnt".into()];
                lo.extend(a_layers.iter().cloned());
                let layers = start(ctx, &lo, &inside, &mut commands);
                Staged {
                    ns,
                    cg: Some(cg),
                    layers: Some(layers),
                }
            }
        },
    };
    // Container B: its own cgroup and upper directory over the same layers.
    let mut b_opts = vec!["--ns".to_string(), "mnt".into()];
    b_opts.extend(layer_opts(ctx, &img, "b")?);
    b_opts.extend(cgroup_opts(&B, &name_b));
    let b_cmd: Vec<String> = ["/bin/probe", "scene", "--stat", SHARED_FILE, "--hold", HOLD_SECS]
        .map(String::from)
        .to_vec();
    let b = start(ctx, &b_opts, &b_cmd, &mut commands);

    let ns_stage = staged.ns.as_ref();
    let cg_stage = staged.cg.as_ref().unwrap_or(&staged.ns).as_ref();
    let layer_stage = staged.layers.as_ref().unwrap_or(&staged.ns).as_ref();

    let namespaces = namespaces(ns_stage);
    let cgroups = Cgroups {
        version: match parent.tree.version {
            Version::V1 => 1,
            Version::V2 => 2,
        },
        parent: parent.rel.clone(),
        containers: vec![
            cg_container(&parent, &A, &name_a, cg_stage),
            cg_container(&parent, &B, &name_b, b.as_ref()),
        ],
    };
    let layers = layers(
        &img,
        &ctx.scratch().join("a-upper"),
        &ctx.scratch().join("a-work"),
        layer_stage,
        b.as_ref(),
        &ctx.scratch().join("b-upper"),
    );

    // Stopped only now: everything above was read while they ran.
    for s in [Some(staged.ns), staged.cg.take(), staged.layers.take(), Some(b)]
        .into_iter()
        .flatten()
        .flatten()
    {
        s.stop();
    }
    Ok(Explanation {
        runtime: ctx.runtime().path.display().to_string(),
        commands,
        notes,
        namespaces,
        cgroups,
        layers,
    })
}

// ------------------------------------------------------------------ host side

/// `/proc/PID/ns/NAME`'s inode.
fn ns_inode(pid: &str, name: &str) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{name}")).ok()?;
    let s = link.to_string_lossy();
    s.rsplit_once('[')?.1.trim_end_matches(']').parse().ok()
}

/// Every process of the host: pid → (ppid, name, NSpid, pid namespace inode).
struct HostProc {
    ppid: i32,
    name: String,
    nspid: Vec<u64>,
    pid_ns: Option<u64>,
}

fn host_procs() -> BTreeMap<i32, HostProc> {
    let mut m = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir("/proc") else { return m };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let field = |k: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')))
                .map(|v| v.trim().to_string())
        };
        m.insert(
            pid,
            HostProc {
                ppid: field("PPid").and_then(|v| v.parse().ok()).unwrap_or(0),
                name: field("Name").unwrap_or_default(),
                nspid: field("NSpid")
                    .map(|v| v.split_whitespace().filter_map(|n| n.parse().ok()).collect())
                    .unwrap_or_default(),
                pid_ns: ns_inode(&pid.to_string(), "pid"),
            },
        );
    }
    m
}

/// The host PID of the process that printed `scene`: in its PID namespace, with
/// its PID there.
fn host_pid_of(procs: &BTreeMap<i32, HostProc>, scene: &Scene) -> Option<i32> {
    let pid_ns = scene.facts.ns.get("pid").copied().flatten();
    let inside = scene.facts.pid as u64;
    procs
        .iter()
        .find(|(_, p)| p.pid_ns == pid_ns && p.nspid.last() == Some(&inside) && p.name == "probe")
        .map(|(pid, _)| *pid)
}

fn namespaces(stage: Result<&Stage, &Text>) -> Namespaces {
    let host_hostname = crate::host::hostname();
    let procs = host_procs();
    let mut n = Namespaces {
        missing: None,
        kinds: NAMESPACES
            .iter()
            .map(|(name, ex)| NsKind {
                name: name.to_string(),
                host: ns_inode("self", name),
                inside: None,
                exercise: ex.to_string(),
            })
            .collect(),
        host_hostname,
        hostname: None,
        tree: Vec::new(),
        host_pids: procs.len(),
        visible_pids: 0,
    };
    let s = match stage {
        Ok(s) => s,
        Err(why) => {
            n.missing = Some(Missing {
                why: why.clone(),
                exercise: "ns-pid".into(),
            });
            return n;
        }
    };
    let facts = &s.scene.facts;
    let host_pid = host_pid_of(&procs, &s.scene);
    for k in &mut n.kinds {
        // The host's reading of the container's process, where it was found; its own
        // word otherwise (the two agree: the same kernel object).
        k.inside = host_pid
            .and_then(|p| ns_inode(&p.to_string(), &k.name))
            .or_else(|| facts.ns.get(&k.name).copied().flatten());
    }
    n.hostname = facts.hostname.clone();
    n.visible_pids = facts.pids.as_ref().map_or(0, Vec::len);
    // The tree: the runtime, then every process in the container's PID namespace
    // (only the probe itself when it has none of its own).
    let pid_ns = facts.ns.get("pid").copied().flatten();
    let own_pid_ns = n.kinds.iter().any(|k| k.name == "pid" && k.own());
    let members: Vec<i32> = procs
        .iter()
        .filter(|(pid, p)| {
            if own_pid_ns {
                p.pid_ns == pid_ns
            } else {
                Some(**pid) == host_pid
            }
        })
        .map(|(pid, _)| *pid)
        .collect();
    // With the processes between the runtime and them (unshare, runc init: not in
    // the container's PID namespace, so with no PID inside), as one tree.
    let runtime_pid = s.sp.pid();
    let mut shown: std::collections::BTreeSet<i32> = members.iter().copied().collect();
    for m in &members {
        let mut p = procs.get(m).map_or(0, |x| x.ppid);
        let mut hops = 0;
        while p != runtime_pid && p > 1 && hops < 16 {
            shown.insert(p);
            p = procs.get(&p).map_or(0, |x| x.ppid);
            hops += 1;
        }
        if p != runtime_pid {
            // Not below the runtime (a runtime that hands the container to a daemon):
            // the member alone, under the runtime.
            let mut q = procs.get(m).map_or(0, |x| x.ppid);
            while q != runtime_pid && q > 1 && shown.remove(&q) {
                q = procs.get(&q).map_or(0, |x| x.ppid);
            }
        }
    }
    let inside_of = |pid: i32| -> Option<u64> {
        let p = procs.get(&pid)?;
        if !own_pid_ns {
            return members.contains(&pid).then_some(pid as u64);
        }
        (p.pid_ns == pid_ns).then(|| p.nspid.last().copied()).flatten()
    };
    let parent_of = |pid: i32| -> i32 {
        let pp = procs.get(&pid).map_or(0, |x| x.ppid);
        if shown.contains(&pp) {
            pp
        } else {
            runtime_pid
        }
    };
    fn visit(pid: i32, depth: usize, kids: &BTreeMap<i32, Vec<i32>>, out: &mut Vec<(i32, usize)>) {
        out.push((pid, depth));
        if depth < 16 {
            for k in kids.get(&pid).into_iter().flatten() {
                visit(*k, depth + 1, kids, out);
            }
        }
    }
    let mut kids: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for pid in &shown {
        kids.entry(parent_of(*pid)).or_default().push(*pid);
    }
    for v in kids.values_mut() {
        v.sort_by_key(|p| (inside_of(*p).unwrap_or(0), *p));
    }
    let mut order = Vec::new();
    visit(runtime_pid, 0, &kids, &mut order);
    n.tree = order
        .into_iter()
        .map(|(pid, depth)| Proc {
            host_pid: pid,
            inside_pid: if pid == runtime_pid { None } else { inside_of(pid) },
            name: procs.get(&pid).map_or_else(|| "?".into(), |p| p.name.clone()),
            depth,
        })
        .collect();
    n
}

/// A cgroup file of `name`, trimmed, for the controller that holds it.
fn cg_file(parent: &ScratchParent, name: &str, file: &str) -> Option<String> {
    let dir = match parent.tree.version {
        // One directory holds every controller's files.
        Version::V2 => parent.tree.own_dirs().first()?.join(&parent.rel).join(name),
        Version::V1 => parent.dir(file.split('.').next()?, name)?,
    };
    std::fs::read_to_string(dir.join(file))
        .ok()
        .map(|s| s.trim().to_string())
}

fn cg_container(parent: &ScratchParent, plan: &Plan, name: &str, stage: Result<&Stage, &Text>) -> CgContainer {
    let mut c = CgContainer {
        label: plan.label.into(),
        name: name.into(),
        missing: None,
        path: None,
        inside_path: None,
        limits: Vec::new(),
        usage: Vec::new(),
        counters: Vec::new(),
    };
    let s = match stage {
        Ok(s) => s,
        Err(why) => {
            c.missing = Some(Missing {
                why: why.clone(),
                exercise: "cg-memory".into(),
            });
            return c;
        }
    };
    let procs = host_procs();
    let host_pid = host_pid_of(&procs, &s.scene);
    let v1 = parent.tree.version == Version::V1;
    let line_of = |text: &str| -> Option<String> {
        text.lines().find_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, ctrls, path) = (it.next()?, it.next()?, it.next()?);
            let hit = if v1 {
                ctrls.split(',').any(|c| c == "memory")
            } else {
                ctrls.is_empty()
            };
            hit.then(|| path.to_string())
        })
    };
    c.path = host_pid
        .and_then(|p| std::fs::read_to_string(format!("/proc/{p}/cgroup")).ok())
        .and_then(|t| line_of(&t));
    c.inside_path = s.scene.facts.cgroup.as_ref().and_then(|lines| {
        lines
            .iter()
            .find(|l| {
                if v1 {
                    l.controllers.iter().any(|c| c == "memory")
                } else {
                    l.controllers.is_empty()
                }
            })
            .map(|l| l.path.clone())
    });
    let own = c.path.as_deref().is_some_and(|p| p.ends_with(&format!("/{name}")));
    if !own {
        c.missing = Some(Missing {
            why: crate::t!(
                "its process is in {}, not in a cgroup {name} of its own",
                "프로세스가 자기 cgroup {name}이 아니라 {}에 있음",
                c.path.as_deref().unwrap_or("?")
            ),
            exercise: "cg-memory".into(),
        });
        return c;
    }
    let limit = |flag: String, file: &str, asked: String, read: Option<String>, ex: &str| Limit {
        flag,
        file: file.into(),
        asked,
        read,
        exercise: ex.into(),
    };
    let mem_file = if v1 { "memory.limit_in_bytes" } else { "memory.max" };
    c.limits.push(limit(
        format!("--memory {}", plan.memory),
        mem_file,
        plan.memory.to_string(),
        cg_file(parent, name, mem_file),
        "cg-memory",
    ));
    let cpus = format!("{} {CPU_PERIOD}", plan.cpu_quota);
    if v1 {
        let q = cg_file(parent, name, "cpu.cfs_quota_us");
        let p = cg_file(parent, name, "cpu.cfs_period_us");
        c.limits.push(limit(
            format!("--cpus {}/{CPU_PERIOD}", plan.cpu_quota),
            "cpu.cfs_{quota,period}_us",
            cpus,
            q.zip(p).map(|(q, p)| format!("{q} {p}")),
            "cg-cpu",
        ));
        c.limits.push(limit(
            format!("--cpu-weight {}", plan.weight),
            "cpu.shares",
            (plan.weight * 1024 / 100).to_string(),
            cg_file(parent, name, "cpu.shares"),
            "cg-guarantee",
        ));
    } else {
        c.limits.push(limit(
            format!("--cpus {}/{CPU_PERIOD}", plan.cpu_quota),
            "cpu.max",
            cpus,
            cg_file(parent, name, "cpu.max"),
            "cg-cpu",
        ));
        c.limits.push(limit(
            format!("--cpu-weight {}", plan.weight),
            "cpu.weight",
            plan.weight.to_string(),
            cg_file(parent, name, "cpu.weight"),
            "cg-guarantee",
        ));
    }
    c.limits.push(limit(
        format!("--pids {}", plan.pids),
        "pids.max",
        plan.pids.to_string(),
        cg_file(parent, name, "pids.max"),
        "cg-pids",
    ));
    let mem_limit = c.limits[0].read.as_deref().and_then(|v| v.parse().ok());
    if let Some(cur) = parent.read(name, "memory.current") {
        c.usage.push(Usage {
            what: "memory".into(),
            current: cur,
            limit: mem_limit.filter(|l: &u64| *l < 1 << 60),
            bytes: true,
        });
    }
    if let Some(cur) = parent.read(name, "pids.current") {
        c.usage.push(Usage {
            what: "pids".into(),
            current: cur,
            limit: parent.read(name, "pids.max"),
            bytes: false,
        });
    }
    for (label, what) in [
        ("cpu usage_usec", "cpu.stat:usage_usec"),
        ("cpu nr_periods", "cpu.stat:nr_periods"),
        ("cpu nr_throttled", "cpu.stat:nr_throttled"),
        ("oom_kill", "memory.events:oom_kill"),
    ] {
        c.counters.push(Counter {
            name: label.into(),
            value: parent.read(name, what),
        });
    }
    c
}

/// Files and bytes below `dir` (apparent sizes; a directory counts no bytes).
fn du(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(md) = e.path().symlink_metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                bytes += md.len();
            }
        }
    }
    (files, bytes)
}

fn layer_dir(name: &str, path: &Path) -> LayerDir {
    let (files, bytes) = du(path);
    LayerDir {
        name: name.into(),
        path: path.display().to_string(),
        files,
        bytes,
    }
}

fn layers(
    img: &Image,
    upper: &Path,
    work: &Path,
    stage: Result<&Stage, &Text>,
    b: Result<&Stage, &Text>,
    upper_b: &Path,
) -> Layers {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut l = Layers {
        missing: None,
        lowers: vec![layer_dir("base", &img.base), layer_dir("app", &img.app)],
        upper: layer_dir("upper", upper),
        work: work.display().to_string(),
        root_fstype: None,
        copied_up: Vec::new(),
        whiteouts: Vec::new(),
        created: Vec::new(),
        sharing: Sharing {
            missing: None,
            file: SHARED_FILE.into(),
            file_bytes: 0,
            host_ino: None,
            a_ino: None,
            b_ino: None,
            upper_b: None,
        },
    };
    let shared_rel = SHARED_FILE.trim_start_matches('/');
    if let Ok(md) = img.base.join(shared_rel).metadata() {
        l.sharing.host_ino = Some(md.ino());
        l.sharing.file_bytes = md.len();
    }
    let s = match stage {
        Ok(s) => s,
        Err(why) => {
            l.missing = Some(Missing {
                why: why.clone(),
                exercise: "ufs-layers".into(),
            });
            l.sharing.missing = l.missing.clone();
            return l;
        }
    };
    l.root_fstype = s
        .scene
        .facts
        .mounts
        .as_ref()
        .and_then(|m| m.iter().rev().find(|m| m.mount_point == "/").map(|m| m.fstype.clone()));
    if l.root_fstype.as_deref() != Some("overlay") {
        l.missing = Some(Missing {
            why: crate::t!(
                "`/` inside is {}, not an overlay of the layers",
                "안의 `/`는 레이어의 overlay가 아니라 {}임",
                l.root_fstype.as_deref().unwrap_or("?")
            ),
            exercise: "ufs-layers".into(),
        });
    }
    // What the container's writes left in the upper directory, read from the host.
    let mut stack = vec![upper.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(md) = p.symlink_metadata() else { continue };
            let rel = format!("/{}", p.strip_prefix(upper).unwrap_or(&p).display());
            if md.is_dir() {
                stack.push(p);
            } else if md.file_type().is_char_device() && md.rdev() == 0 {
                l.whiteouts.push(rel);
            } else if [&img.base, &img.app]
                .iter()
                .any(|lo| lo.join(rel.trim_start_matches('/')).exists())
            {
                l.copied_up.push(rel);
            } else {
                l.created.push(rel);
            }
        }
    }
    for v in [&mut l.whiteouts, &mut l.copied_up, &mut l.created] {
        v.sort();
    }
    l.sharing.a_ino = s.scene.stats.first().and_then(|st| st.ino);
    match b {
        Ok(b) => {
            l.sharing.b_ino = b.scene.stats.first().and_then(|st| st.ino);
            l.sharing.upper_b = Some(layer_dir("upper B", upper_b));
        }
        Err(why) => {
            l.sharing.missing = Some(Missing {
                why: why.clone(),
                exercise: "ufs-sharing".into(),
            })
        }
    }
    if l.sharing.missing.is_none() && !l.sharing.shared() {
        l.sharing.missing = Some(Missing {
            why: crate::t!(
                "{SHARED_FILE} is inode {:?} in A and {:?} in B, {:?} in the base layer: not one file",
                "{SHARED_FILE}의 아이노드가 A에서 {:?}, B에서 {:?}, 기반 레이어에서 {:?}: 한 파일이 아님",
                l.sharing.a_ino,
                l.sharing.b_ino,
                l.sharing.host_ino
            ),
            exercise: "ufs-sharing".into(),
        });
    }
    l
}
