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
//!
//! Here the containers are started and the observation put together; what each
//! picture holds and how it is observed is in `namespaces.rs`, `cgroups.rs` and
//! `layers.rs`, how it is drawn in `draw/`.

pub mod draw;
pub mod sample;

mod cgroups;
mod layers;
mod namespaces;

pub use cgroups::{CgContainer, Cgroups, Counter, Limit, Usage};
pub use layers::{LayerDir, Layers, Sharing, A_REMOVES, A_WRITES, SHARED_FILE};
pub use namespaces::{Namespaces, NsKind, Proc};

use std::time::Duration;

use labkit::probe::Scene;
use serde::Serialize;

use self::cgroups::{cg_container, cgroup_opts};
use self::layers::{image, layer_opts, layers};
use self::namespaces::namespaces;
use crate::cgview::Version;
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

/// Which container each picture comes from: `cg` and `layers` None when the
/// namespaces' container serves (layers: the cgroups' one when it is there).
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
                // The user namespace may work alone and fail only with layers (a
                // runtime that mounts the overlay where the mapped root may not write):
                // then the namespaces come from a container with every namespace and
                // no layers, and the user namespace is not greyed as undone.
                let mut every_ns = vec![
                    "--ns".to_string(),
                    all_ns.clone(),
                    "--hostname".into(),
                    "container-a".into(),
                ];
                every_ns.extend(map.iter().cloned());
                match start(ctx, &every_ns, &scene_a(ctx.probe()), &mut commands) {
                    Ok(ns) => {
                        notes.push(crate::t!(
                            "The container did not start with a user namespace and layers together ({first}); the namespaces come from a container with every namespace and no layers, the rest from one without the user namespace.",
                            "user 네임스페이스와 레이어를 함께 주면 컨테이너가 시작되지 않아({first}), 네임스페이스 그림은 레이어 없이 모든 네임스페이스를 켠 컨테이너에서, 나머지는 user 네임스페이스 없이 시작한 컨테이너에서 왔습니다."
                        ));
                        Staged {
                            ns: Ok(ns),
                            cg: Some(Ok(s)),
                            layers: None,
                        }
                    }
                    Err(_) => {
                        notes.push(crate::t!(
                            "The container did not start with a user namespace ({first}); it was started again without one.",
                            "user 네임스페이스와 함께는 컨테이너가 시작되지 않아({first}) 그것 없이 다시 시작했습니다."
                        ));
                        Staged {
                            ns: Ok(s),
                            cg: None,
                            layers: None,
                        }
                    }
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
    // Without a container of its own the layers come from the cgroups' one (started
    // with the layers), else from the namespaces' one.
    let layer_stage = staged
        .layers
        .as_ref()
        .or(staged.cg.as_ref())
        .unwrap_or(&staged.ns)
        .as_ref();

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
