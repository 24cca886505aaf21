//! Picture 1: the namespaces the container has of its own, and its processes as
//! the host sees them (from /proc) beside what it sees itself.

use std::collections::BTreeMap;

use labkit::probe::Scene;
use serde::Serialize;

use super::{Missing, Stage, NAMESPACES};
use crate::text::Text;

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

/// `/proc/PID/ns/NAME`'s inode.
fn ns_inode(pid: &str, name: &str) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{name}")).ok()?;
    let s = link.to_string_lossy();
    s.rsplit_once('[')?.1.trim_end_matches(']').parse().ok()
}

/// Every process of the host: pid → (ppid, name, NSpid, pid namespace inode).
pub(super) struct HostProc {
    ppid: i32,
    name: String,
    nspid: Vec<u64>,
    pid_ns: Option<u64>,
}

pub(super) fn host_procs() -> BTreeMap<i32, HostProc> {
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
pub(super) fn host_pid_of(procs: &BTreeMap<i32, HostProc>, scene: &Scene) -> Option<i32> {
    let pid_ns = scene.facts.ns.get("pid").copied().flatten();
    let inside = scene.facts.pid as u64;
    procs
        .iter()
        .find(|(_, p)| p.pid_ns == pid_ns && p.nspid.last() == Some(&inside) && p.name == "probe")
        .map(|(pid, _)| *pid)
}

pub(super) fn namespaces(stage: Result<&Stage, &Text>) -> Namespaces {
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
