//! Where containers' cgroups go (given, complete). The contract, section 2.6:
//! the parent is named by `LAB_CGROUP_PARENT`; a relative path is taken
//! relative to the caller's own cgroup in each hierarchy (as /proc/self/cgroup
//! shows it), an absolute path relative to each hierarchy's root, and unset
//! means the caller's own cgroup. The parent must exist.
//!
//! cgroup v1: one hierarchy per controller (or per co-mounted group such as
//! `cpu,cpuacct`); v2: one hierarchy for every controller.

// Used by your cgroup steps: unused until you write them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The v1 controllers the contract uses.
pub const V1_CONTROLLERS: [&str; 9] = [
    "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "net_cls", "pids",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

#[derive(Debug, Clone)]
pub struct CgroupParent {
    pub version: Version,
    /// controller (v1 names: memory, cpu, ...; on v2 also io, and "cgroup"
    /// for the core files) -> the parent directory in its hierarchy.
    pub dirs: BTreeMap<String, PathBuf>,
}

impl CgroupParent {
    /// Finds the parent from /proc/self/mountinfo, /proc/self/cgroup and
    /// `LAB_CGROUP_PARENT`; fails if it does not exist.
    pub fn find() -> Result<CgroupParent> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .context("reading /proc/self/mountinfo")?;
        let cgroup =
            std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
        let parent = std::env::var("LAB_CGROUP_PARENT").unwrap_or_default();
        let found = Self::from_text(&mountinfo, &cgroup, &parent)?;
        for d in found.all_dirs() {
            if !d.is_dir() {
                bail!("LAB_CGROUP_PARENT={parent}: parent cgroup {}: No such file or directory (ENOENT)", d.display());
            }
        }
        Ok(found)
    }

    pub fn from_text(mountinfo: &str, cgroup: &str, parent: &str) -> Result<CgroupParent> {
        // hierarchy key ("" for v2, else the sorted v1 controllers) -> (mount point, mount root)
        let mut mounts: BTreeMap<String, (String, String)> = BTreeMap::new();
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            if l.len() < 5 || r.len() < 3 {
                continue;
            }
            let key = match r[0] {
                "cgroup2" => String::new(),
                "cgroup" => match v1_key(r[2]) {
                    Some(k) => k,
                    None => continue,
                },
                _ => continue,
            };
            mounts
                .entry(key)
                .or_insert((unescape(l[4]), unescape(l[3])));
        }
        let mut own: BTreeMap<String, PathBuf> = BTreeMap::new();
        for line in cgroup.lines() {
            let mut it = line.splitn(3, ':');
            let (Some(_), Some(ctrls), Some(path)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let key = if ctrls.is_empty() {
                Some(String::new())
            } else {
                v1_key(ctrls)
            };
            let Some((point, root)) = key.as_ref().and_then(|k| mounts.get(k)) else {
                continue;
            };
            let strip = |p: &str| {
                p.strip_prefix(root.as_str())
                    .unwrap_or(p)
                    .trim_start_matches('/')
                    .to_string()
            };
            let rel = if parent.is_empty() {
                strip(path)
            } else if parent.starts_with('/') {
                strip(parent)
            } else {
                format!("{}/{parent}", strip(path))
            };
            own.insert(
                key.unwrap_or_default(),
                Path::new(point).join(rel.trim_start_matches('/')),
            );
        }
        let has_v1 = own.keys().any(|k| !k.is_empty());
        if let Some(v2) = own.get("") {
            let ctrls =
                std::fs::read_to_string(Path::new(&mounts[""].0).join("cgroup.controllers"))
                    .unwrap_or_default();
            if !has_v1
                || ctrls
                    .split_whitespace()
                    .any(|c| ["memory", "cpu", "pids", "io"].contains(&c))
            {
                let dirs = [
                    "cgroup", "memory", "cpu", "cpuset", "io", "pids", "freezer", "devices",
                ]
                .into_iter()
                .map(|c| (c.to_string(), v2.clone()))
                .collect();
                return Ok(CgroupParent {
                    version: Version::V2,
                    dirs,
                });
            }
        }
        if !has_v1 {
            bail!("no cgroup hierarchy with a resource controller is mounted");
        }
        let mut dirs = BTreeMap::new();
        for (key, dir) in own.iter().filter(|(k, _)| !k.is_empty()) {
            for c in key.split(',') {
                dirs.insert(c.to_string(), dir.clone());
            }
        }
        Ok(CgroupParent {
            version: Version::V1,
            dirs,
        })
    }

    /// The parent directory in `controller`'s hierarchy, if that is mounted.
    pub fn dir_of(&self, controller: &str) -> Option<&Path> {
        self.dirs.get(controller).map(PathBuf::as_path)
    }

    /// Every parent directory once (v2: one; v1: one per hierarchy).
    pub fn all_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.dirs.values().cloned().collect();
        v.sort();
        v.dedup();
        v
    }
}

/// "rw,cpu,cpuacct" -> Some("cpu,cpuacct"): the known controllers, sorted.
fn v1_key(list: &str) -> Option<String> {
    let mut c: Vec<&str> = list
        .split(',')
        .filter(|c| V1_CONTROLLERS.contains(c))
        .collect();
    c.sort();
    (!c.is_empty()).then(|| c.join(","))
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push(u8::from_str_radix(&s[i + 1..i + 4], 8).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
