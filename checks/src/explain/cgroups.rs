//! Picture 2: the cgroups of containers A and B, their limits as the cgroup files
//! hold them, and what they use.

use serde::Serialize;

use super::namespaces::{host_pid_of, host_procs};
use super::{Missing, Plan, Stage, CPU_PERIOD};
use crate::cgview::{ScratchParent, Version};
use crate::text::Text;

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

pub(super) fn cgroup_opts(plan: &Plan, name: &str) -> Vec<String> {
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

pub(super) fn cg_container(
    parent: &ScratchParent,
    plan: &Plan,
    name: &str,
    stage: Result<&Stage, &Text>,
) -> CgContainer {
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
                exercise: "ns-cgroup-time".into(),
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
                "프로세스가 자기 cgroup {name}이(가) 아니라 {}에 있음",
                c.path.as_deref().unwrap_or("?")
            ),
            exercise: "ns-cgroup-time".into(),
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
