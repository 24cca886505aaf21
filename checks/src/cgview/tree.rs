//! Where each controller's hierarchy is mounted and the checker's own cgroup in it,
//! from /proc/self/mountinfo and /proc/self/cgroup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::anchor::{v2_anchor, Anchor, ANCHOR};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// Where each controller's tree is, and the checker's own cgroup in it.
#[derive(Debug, Clone)]
pub struct Tree {
    pub version: Version,
    /// v1: controller → the checker's own cgroup directory in that hierarchy.
    /// v2: every available controller → the checker's own cgroup directory.
    pub own: BTreeMap<String, PathBuf>,
    /// v2: the checker's own cgroup as /proc/self/cgroup names it (`/a/b`).
    pub v2_path: String,
}

/// The v1 controllers the checks read: the contract's.
pub(super) const V1_CONTROLLERS: &[&str] = labkit::cgroups::V1_CONTROLLERS;

impl Tree {
    /// The checker's tree: on cgroup v2 its own cgroup is replaced by the [`Anchor`]
    /// where its cgroups are made, with the controllers given there.
    pub fn detect() -> Result<Tree, String> {
        let mut tree = Tree::read()?;
        if tree.version == Version::V2 {
            let own = tree.own.get("cgroup").cloned().unwrap_or_default();
            let a = v2_anchor(&own, &tree.v2_path);
            let given = std::fs::read_to_string(a.dir.join("cgroup.subtree_control")).unwrap_or_default();
            tree.own = given
                .split_whitespace()
                .chain(["freezer", "devices", "cgroup"])
                .map(|c| (c.to_string(), a.dir.clone()))
                .collect();
            tree.v2_path = a.path.clone();
        }
        Ok(tree)
    }

    /// Where the calling process sits, as /proc/self says.
    pub fn read() -> Result<Tree, String> {
        let mountinfo =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("reading mountinfo: {e}"))?;
        let cgroup =
            std::fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("reading /proc/self/cgroup: {e}"))?;
        Tree::from_text(&mountinfo, &cgroup)
    }

    /// The v2 anchor, after [`Tree::detect`] chose it (None on v1 or before).
    pub fn anchor() -> Option<Anchor> {
        ANCHOR.get().cloned()
    }

    /// From the text of /proc/self/mountinfo and /proc/self/cgroup.
    pub fn from_text(mountinfo: &str, cgroup: &str) -> Result<Tree, String> {
        // hierarchy key (v1: sorted controller list; v2: "") → (mount point, mount root)
        let mut mounts: BTreeMap<String, (String, String)> = BTreeMap::new();
        for m in labkit::mountinfo::parse_mountinfo(mountinfo) {
            let (root, point) = (m.root, m.mount_point);
            match m.fstype.as_str() {
                "cgroup2" => {
                    mounts.entry(String::new()).or_insert((point, root));
                }
                "cgroup" => {
                    let mut ctrls: Vec<&str> = m
                        .super_options
                        .iter()
                        .map(String::as_str)
                        .filter(|o| V1_CONTROLLERS.contains(o))
                        .collect();
                    ctrls.sort();
                    if !ctrls.is_empty() {
                        mounts.entry(ctrls.join(",")).or_insert((point, root));
                    }
                }
                _ => {}
            }
        }
        let mut own_v1 = BTreeMap::new();
        let mut own_v2: Option<PathBuf> = None;
        let mut v2_path = String::new();
        for line in labkit::cgroups::parse_cgroup(cgroup) {
            let path = line.path.as_str();
            let mut list: Vec<&str> = line
                .controllers
                .iter()
                .map(String::as_str)
                .filter(|c| V1_CONTROLLERS.contains(c))
                .collect();
            list.sort();
            let key = list.join(",");
            if line.controllers.is_empty() {
                if let Some((point, root)) = mounts.get("") {
                    own_v2 = Some(join_cgroup(point, root, path));
                    v2_path = path.to_string();
                }
            } else if let Some((point, root)) = mounts.get(&key) {
                for c in list {
                    own_v1.insert(c.to_string(), join_cgroup(point, root, path));
                }
            }
        }
        // A v2 tree whose root offers the resource controllers wins; a hybrid host's
        // empty cgroup2 mount does not.
        if let Some(dir) = own_v2 {
            let ctrls = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
            let has: Vec<&str> = ctrls.split_whitespace().collect();
            if has.iter().any(|c| ["memory", "cpu", "pids", "io"].contains(c)) || own_v1.is_empty() {
                let mut own = BTreeMap::new();
                for c in has.iter().chain(["freezer", "devices"].iter()) {
                    own.insert(c.to_string(), dir.clone());
                }
                own.insert("cgroup".into(), dir);
                return Ok(Tree {
                    version: Version::V2,
                    own,
                    v2_path,
                });
            }
        }
        if own_v1.is_empty() {
            return Err("no cgroup hierarchy with a resource controller is mounted".into());
        }
        Ok(Tree {
            version: Version::V1,
            own: own_v1,
            v2_path: String::new(),
        })
    }

    pub fn has(&self, controller: &str) -> bool {
        self.own.contains_key(controller)
    }

    /// Directories of the checker's own cgroup, one per hierarchy (deduplicated).
    pub fn own_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.own.values().cloned().collect();
        v.sort();
        v.dedup();
        v
    }
}

pub(super) fn join_cgroup(point: &str, root: &str, path: &str) -> PathBuf {
    let rel = path.strip_prefix(root).unwrap_or(path);
    Path::new(point).join(rel.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
30 23 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw
31 30 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct
34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
35 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
";
    const HYBRID_CGROUP: &str = "4:memory:/process_api/abc\n1:cpu:/\n2:cpuacct:/\n9:name=systemd:/\n0::/\n";

    #[test]
    fn hybrid_host_is_v1_with_the_callers_own_cgroups() {
        let t = Tree::from_text(HYBRID_MOUNTINFO, HYBRID_CGROUP).unwrap();
        assert_eq!(t.version, Version::V1);
        assert_eq!(t.own["memory"], PathBuf::from("/sys/fs/cgroup/memory/process_api/abc"));
        assert_eq!(t.own["cpu"], PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(t.own["cpuacct"], PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(!t.has("net_cls"));
    }

    #[test]
    fn nothing_mounted_is_an_error() {
        assert!(Tree::from_text("", "0::/\n").is_err());
    }
}
