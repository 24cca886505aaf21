//! Where the cgroup hierarchies are mounted and where the caller sits in each,
//! from /proc/self/mountinfo and /proc/self/cgroup.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::{common, CgroupError, CgroupVersion, V1_CONTROLLERS, V2_CONTROLLERS};

/// Every v1 controller the kernel can have; named hierarchies (`name=systemd`)
/// and mount options are not controllers.
const KNOWN_V1: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "blkio",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// One mounted cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// The controllers mounted together here, e.g. `["cpu", "cpuacct"]`.
    pub controllers: Vec<String>,
    /// Where the hierarchy is mounted.
    pub mount: PathBuf,
    /// The hierarchy path shown at `mount` (mountinfo's root field), usually `/`.
    pub root: String,
    /// The caller's cgroup relative to `root`, starting with `/`.
    pub own: String,
}

/// The mounted cgroup2 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Hierarchy {
    pub mount: PathBuf,
    /// The hierarchy path shown at `mount`, usually `/`.
    pub root: String,
    /// The caller's cgroup relative to `root`, starting with `/`.
    pub own: String,
}

impl V1Hierarchy {
    /// The caller's own cgroup directory in this hierarchy.
    pub fn own_dir(&self) -> PathBuf {
        join_cgroup_path(&self.mount, &self.own)
    }
}

impl V2Hierarchy {
    pub fn own_dir(&self) -> PathBuf {
        join_cgroup_path(&self.mount, &self.own)
    }
}

/// `mount` + a cgroup path such as `/a/b` (or `/` for the mount itself).
pub fn join_cgroup_path(mount: &Path, cgroup: &str) -> PathBuf {
    let mut p = mount.to_path_buf();
    p.extend(cgroup.split('/').filter(|c| !c.is_empty()));
    p
}

/// Where the cgroup hierarchies are and where the caller sits in each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchies {
    v1: Vec<V1Hierarchy>,
    v2: Option<V2Hierarchy>,
}

impl Hierarchies {
    /// By hand, e.g. pointing at a fake cgroupfs in a test.
    pub fn new(v1: Vec<V1Hierarchy>, v2: Option<V2Hierarchy>) -> Hierarchies {
        Hierarchies { v1, v2 }
    }

    /// From the real /proc/self/mountinfo and /proc/self/cgroup.
    pub fn detect() -> Result<Hierarchies, CgroupError> {
        let mountinfo = common::read_file(Path::new("/proc/self/mountinfo"))?;
        let cgroup = common::read_file(Path::new("/proc/self/cgroup"))?;
        Hierarchies::from_proc_text(&mountinfo, &cgroup)
    }

    /// Pure parser of mountinfo and /proc/self/cgroup text. A mount whose
    /// root does not contain the caller's cgroup (a bind mount of another
    /// subtree) is skipped; the first usable mount of each hierarchy wins.
    pub fn from_proc_text(mountinfo: &str, proc_self_cgroup: &str) -> Result<Hierarchies, CgroupError> {
        let memberships = parse_proc_cgroup(proc_self_cgroup)?;
        let mut v1: Vec<V1Hierarchy> = Vec::new();
        let mut v2: Option<V2Hierarchy> = None;
        for (n, line) in mountinfo.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let m = crate::mountinfo::parse_mountinfo_line(line).ok_or_else(|| CgroupError::ProcParse {
                what: "mountinfo".to_string(),
                reason: format!("line {} is malformed: {line:?}", n + 1),
            })?;
            match m.fstype.as_str() {
                "cgroup" => {
                    let mut controllers: Vec<String> = m
                        .super_options
                        .iter()
                        .filter(|o| KNOWN_V1.contains(&o.as_str()))
                        .cloned()
                        .collect();
                    if controllers.is_empty() {
                        continue; // a named hierarchy such as name=systemd
                    }
                    controllers.sort();
                    controllers.dedup();
                    if v1.iter().any(|h| h.controllers == controllers) {
                        continue;
                    }
                    let set: BTreeSet<&str> = controllers.iter().map(String::as_str).collect();
                    let Some(path) = memberships
                        .iter()
                        .find(|(c, _)| !c.is_empty() && c.iter().map(String::as_str).collect::<BTreeSet<_>>() == set)
                        .map(|(_, p)| p.as_str())
                    else {
                        continue;
                    };
                    let Some(own) = strip_root(path, &m.root) else {
                        continue;
                    };
                    v1.push(V1Hierarchy {
                        controllers,
                        mount: PathBuf::from(m.mount_point),
                        root: m.root,
                        own,
                    });
                }
                "cgroup2" if v2.is_none() => {
                    let Some(path) = memberships.iter().find(|(c, _)| c.is_empty()).map(|(_, p)| p.as_str()) else {
                        continue;
                    };
                    let Some(own) = strip_root(path, &m.root) else {
                        continue;
                    };
                    v2 = Some(V2Hierarchy {
                        mount: PathBuf::from(m.mount_point),
                        root: m.root,
                        own,
                    });
                }
                _ => {}
            }
        }
        if v1.is_empty() && v2.is_none() {
            return Err(CgroupError::ProcParse {
                what: "mountinfo".to_string(),
                reason: "no cgroup or cgroup2 mount shows the caller's cgroups".to_string(),
            });
        }
        Ok(Hierarchies { v1, v2 })
    }

    pub fn v1_hierarchies(&self) -> &[V1Hierarchy] {
        &self.v1
    }

    pub fn v2_hierarchy(&self) -> Option<&V2Hierarchy> {
        self.v2.as_ref()
    }

    /// V2 when the cgroup2 mount has any controller this runtime drives
    /// (cpu, memory, pids, io, cpuset) in its root `cgroup.controllers`, or no
    /// v1 controller hierarchy that this runtime drives is mounted; otherwise
    /// V1. A hybrid host, whose cgroup2 mount has no such controller (at most
    /// leftovers like hugetlb that no v1 hierarchy took), is V1.
    pub fn version(&self) -> CgroupVersion {
        let v1_driven = self
            .v1
            .iter()
            .any(|h| h.controllers.iter().any(|c| V1_CONTROLLERS.contains(&c.as_str())));
        let Some(h2) = &self.v2 else {
            return CgroupVersion::V1;
        };
        if !v1_driven {
            return CgroupVersion::V2;
        }
        let root_controllers = fs::read_to_string(h2.mount.join("cgroup.controllers")).unwrap_or_default();
        if root_controllers.split_whitespace().any(|c| V2_CONTROLLERS.contains(&c)) {
            CgroupVersion::V2
        } else {
            CgroupVersion::V1
        }
    }

    /// What child cgroups can use: v1 the mounted controllers, v2 the
    /// `cgroup.controllers` of the caller's own cgroup. Sorted.
    pub fn available_controllers(&self) -> Vec<String> {
        let mut v: Vec<String> = match self.version() {
            CgroupVersion::V1 => self.v1.iter().flat_map(|h| h.controllers.iter().cloned()).collect(),
            CgroupVersion::V2 => match &self.v2 {
                Some(h) => fs::read_to_string(h.own_dir().join("cgroup.controllers"))
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
                None => Vec::new(),
            },
        };
        v.sort();
        v.dedup();
        v
    }

    /// The caller's own cgroup directory for `controller`: on v1 in the
    /// hierarchy that mounts it (None when not mounted), on v2 the one directory.
    pub fn controller_path(&self, controller: &str) -> Option<PathBuf> {
        match self.version() {
            CgroupVersion::V1 => self
                .v1
                .iter()
                .find(|h| h.controllers.iter().any(|c| c == controller))
                .map(V1Hierarchy::own_dir),
            CgroupVersion::V2 => self.v2.as_ref().map(V2Hierarchy::own_dir),
        }
    }
}

/// `(controllers without name=..., path)` per line of /proc/self/cgroup; the
/// v2 line (`0::/path`) has no controllers. Named-only lines are dropped.
fn parse_proc_cgroup(text: &str) -> Result<Vec<(Vec<String>, String)>, CgroupError> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut it = line.splitn(3, ':');
        let (Some(id), Some(ctrl), Some(path)) = (it.next(), it.next(), it.next()) else {
            return Err(CgroupError::ProcParse {
                what: "/proc/self/cgroup".to_string(),
                reason: format!("expected ID:CONTROLLERS:PATH, got {line:?}"),
            });
        };
        if id.parse::<u32>().is_err() || !path.starts_with('/') {
            return Err(CgroupError::ProcParse {
                what: "/proc/self/cgroup".to_string(),
                reason: format!("expected ID:CONTROLLERS:PATH, got {line:?}"),
            });
        }
        let controllers: Vec<String> = ctrl
            .split(',')
            .filter(|c| !c.is_empty() && !c.starts_with("name="))
            .map(str::to_string)
            .collect();
        if controllers.is_empty() && !ctrl.is_empty() {
            continue; // name=systemd and the like
        }
        out.push((controllers, path.to_string()));
    }
    Ok(out)
}

/// `path` relative to the mount's `root`, or None when it is not under it.
fn strip_root(path: &str, root: &str) -> Option<String> {
    let root = root.trim_end_matches('/');
    if root.is_empty() {
        return Some(path.to_string());
    }
    if path == root {
        return Some("/".to_string());
    }
    path.strip_prefix(root)
        .filter(|rest| rest.starts_with('/'))
        .map(str::to_string)
}

/// A cgroup or cgroup2 mount and the caller's cgroup path in its hierarchy (as
/// /proc/self/cgroup has it, not stripped of the mount's root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// The mount's super options: the controllers, or `name=systemd`; empty for cgroup2.
    pub options: Vec<String>,
    pub v2: bool,
    pub mount: PathBuf,
    pub root: String,
    pub own: String,
}

/// Every hierarchy the caller is in that some mount shows, named ones
/// (name=systemd) and an empty cgroup2 included: where a runtime that makes
/// cgroups of its own (an OCI runtime) may leave directories.
pub fn cgroup_mounts(mountinfo: &str, proc_self_cgroup: &str) -> Vec<CgroupMount> {
    let mounts: Vec<(Vec<String>, bool, PathBuf, String)> = crate::mountinfo::parse_mountinfo(mountinfo)
        .into_iter()
        .filter_map(|m| match m.fstype.as_str() {
            "cgroup2" => Some((Vec::new(), true, PathBuf::from(m.mount_point), m.root)),
            "cgroup" => Some((m.super_options, false, PathBuf::from(m.mount_point), m.root)),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for line in super::parse_cgroup(proc_self_cgroup) {
        let found = mounts.iter().find(|(opts, v2, ..)| {
            if line.controllers.is_empty() {
                *v2
            } else {
                !v2 && line.controllers.iter().all(|c| opts.contains(c))
            }
        });
        if let Some((options, v2, mount, root)) = found {
            out.push(CgroupMount {
                options: options.clone(),
                v2: *v2,
                mount: mount.clone(),
                root: root.clone(),
                own: line.path,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// This host: v1 hierarchies with cpu and cpuacct apart, a named systemd
    /// hierarchy and an (almost) empty cgroup2 at /sys/fs/cgroup/unified.
    const HYBRID_MOUNTINFO: &str = "\
24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/02437cb880e5c40480d20fe0f9e7d7e0
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    #[test]
    fn hybrid_host_like_this_one() {
        let h = Hierarchies::from_proc_text(HYBRID_MOUNTINFO, HYBRID_CGROUP).unwrap();
        let names: Vec<String> = h.v1_hierarchies().iter().map(|h| h.controllers.join(",")).collect();
        assert_eq!(
            names,
            ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"]
        );
        assert_eq!(
            h.controller_path("memory").unwrap(),
            Path::new("/sys/fs/cgroup/memory/process_api/02437cb880e5c40480d20fe0f9e7d7e0")
        );
        assert_eq!(h.controller_path("cpu").unwrap(), Path::new("/sys/fs/cgroup/cpu"));
        assert_eq!(h.controller_path("net_cls"), None);
        let v2 = h.v2_hierarchy().unwrap();
        assert_eq!(v2.mount, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(v2.own, "/");
        // /sys/fs/cgroup/unified/cgroup.controllers of the real mount has no
        // controller this runtime drives (or does not exist where this runs).
        assert_eq!(h.version(), CgroupVersion::V1);
        assert_eq!(
            h.available_controllers(),
            ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"]
        );
    }

    #[test]
    fn pure_v2() {
        let mi = "\
25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
        let h = Hierarchies::from_proc_text(mi, "0::/user.slice/user-0.slice/session-3.scope\n").unwrap();
        assert!(h.v1_hierarchies().is_empty());
        assert_eq!(h.version(), CgroupVersion::V2);
        assert_eq!(
            h.controller_path("memory").unwrap(),
            Path::new("/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope")
        );
    }

    #[test]
    fn co_mounted_and_named_hierarchies() {
        let mi = "\
30 25 0:26 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,name=systemd
33 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpuacct,cpu
34 25 0:30 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
35 25 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
";
        let pc = "\
12:net_cls,net_prio:/
4:cpu,cpuacct:/user.slice
3:memory:/user.slice/x
1:name=systemd:/user.slice/user-0.slice/session-1.scope
";
        let h = Hierarchies::from_proc_text(mi, pc).unwrap();
        let v1 = h.v1_hierarchies();
        assert_eq!(v1.len(), 3);
        assert_eq!(v1[0].controllers, ["cpu", "cpuacct"]);
        assert_eq!(v1[0].own_dir(), Path::new("/sys/fs/cgroup/cpu,cpuacct/user.slice"));
        assert_eq!(v1[1].controllers, ["net_cls", "net_prio"]);
        assert_eq!(
            h.controller_path("cpuacct").unwrap(),
            Path::new("/sys/fs/cgroup/cpu,cpuacct/user.slice")
        );
        assert_eq!(
            h.controller_path("net_cls").unwrap(),
            Path::new("/sys/fs/cgroup/net_cls,net_prio")
        );
        assert_eq!(h.version(), CgroupVersion::V1);
        assert!(h.v2_hierarchy().is_none());
    }

    #[test]
    fn mount_of_a_subtree_and_escapes() {
        // A container that sees the host's hierarchy through a bind mount of
        // its own subtree, at a mount point with a space in it.
        let mi = "\
50 40 0:32 /docker/abc /sys/fs/cgroup/mem\\040ory ro,nosuid - cgroup cgroup rw,memory
51 40 0:32 /other /elsewhere ro,nosuid - cgroup cgroup rw,memory
";
        let h = Hierarchies::from_proc_text(mi, "4:memory:/docker/abc/inner\n").unwrap();
        let m = &h.v1_hierarchies()[0];
        assert_eq!(m.mount, Path::new("/sys/fs/cgroup/mem ory"));
        assert_eq!(m.root, "/docker/abc");
        assert_eq!(m.own, "/inner");
        assert_eq!(m.own_dir(), Path::new("/sys/fs/cgroup/mem ory/inner"));
        // A mount of an unrelated subtree alone shows nothing of ours.
        let e = Hierarchies::from_proc_text(mi.lines().nth(1).unwrap(), "4:memory:/docker/abc\n");
        assert!(e.is_err());
    }

    #[test]
    fn v2_version_follows_the_root_controllers() {
        let d = tempfile::tempdir().unwrap();
        let mi = format!(
            "32 31 0:29 / {0}/memory rw - cgroup cgroup rw,memory\n41 31 0:38 / {0}/unified rw - cgroup2 cgroup2 rw\n",
            d.path().display()
        );
        fs::create_dir_all(d.path().join("unified")).unwrap();
        fs::write(d.path().join("unified/cgroup.controllers"), "hugetlb\n").unwrap();
        let h = Hierarchies::from_proc_text(&mi, "4:memory:/\n0::/\n").unwrap();
        assert_eq!(h.version(), CgroupVersion::V1);
        fs::write(d.path().join("unified/cgroup.controllers"), "cpu io pids\n").unwrap();
        assert_eq!(h.version(), CgroupVersion::V2);
        assert_eq!(h.available_controllers(), ["cpu", "io", "pids"]);
    }

    #[test]
    fn malformed_text_is_refused() {
        assert!(Hierarchies::from_proc_text("garbage line\n", "0::/\n").is_err());
        assert!(Hierarchies::from_proc_text(HYBRID_MOUNTINFO, "not a cgroup line\n").is_err());
        assert!(Hierarchies::from_proc_text("", "0::/\n").is_err());
    }

    #[test]
    fn detect_reads_this_process() {
        // Wherever the tests run, /proc/self has some cgroup mount.
        let h = Hierarchies::detect().unwrap();
        assert!(!h.v1_hierarchies().is_empty() || h.v2_hierarchy().is_some());
    }

    #[test]
    fn cgroup_mounts_include_named_and_empty_v2() {
        let m = cgroup_mounts(HYBRID_MOUNTINFO, HYBRID_CGROUP);
        assert!(m.iter().any(|h| h.options == ["rw", "name=systemd"] && !h.v2), "{m:?}");
        assert!(
            m.iter().any(|h| h.v2 && h.mount == Path::new("/sys/fs/cgroup/unified")),
            "{m:?}"
        );
        assert!(m.iter().any(|h| h.options.iter().any(|o| o == "memory")), "{m:?}");
    }
}
