//! Cgroups a runtime made outside the check's parent: where they would be, and a
//! watch that sees one made and removed again during a check.

use std::path::PathBuf;

use super::tree::{join_cgroup, V1_CONTROLLERS};

/// Where a runtime that ignored `LAB_CGROUP_PARENT` would have made cgroup `name`:
/// in every mounted hierarchy (v1 controllers, named ones, v2), at its root and in
/// every cgroup from there down to the caller's own (so beside it and in it too).
/// From the text of /proc/self/mountinfo and /proc/self/cgroup.
pub fn misplaced_candidates(mountinfo: &str, cgroup: &str, names: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in misplaced_search_dirs(mountinfo, cgroup) {
        for n in names {
            let p = dir.join(n);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// A mounted cgroup hierarchy and the caller's own cgroup in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountedHierarchy {
    pub v2: bool,
    /// The mount's super options (v1: its controllers or `name=`).
    pub options: Vec<String>,
    pub point: PathBuf,
    /// The caller's own cgroup directory, when /proc/self/cgroup names one here.
    pub own: Option<PathBuf>,
}

/// Every cgroup hierarchy mounted, from the text of /proc/self/mountinfo and
/// /proc/self/cgroup.
pub fn mounted_hierarchies(mountinfo: &str, cgroup: &str) -> Vec<MountedHierarchy> {
    let mut out = Vec::new();
    for m in labkit::mountinfo::parse_mountinfo(mountinfo) {
        if !(m.fstype == "cgroup" || m.fstype == "cgroup2") {
            continue;
        }
        let (root, point) = (m.root, m.mount_point);
        let v2 = m.fstype == "cgroup2";
        let options = m.super_options;
        // The caller's line for this hierarchy: v2 is `0::/path`; a v1 line names
        // the controllers (or name=) the mount carries.
        let own = labkit::cgroups::parse_cgroup(cgroup).into_iter().find_map(|c| {
            let matches = if v2 {
                c.controllers.is_empty()
            } else {
                !c.controllers.is_empty() && c.controllers.iter().all(|ctl| options.contains(ctl))
            };
            matches.then(|| join_cgroup(&point, &root, &c.path))
        });
        out.push(MountedHierarchy {
            v2,
            options,
            point: PathBuf::from(point),
            own,
        });
    }
    out
}

/// The directories [`misplaced_candidates`] looks in: every mounted hierarchy's
/// root and every cgroup from there down to the caller's own.
pub fn misplaced_search_dirs(mountinfo: &str, cgroup: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for h in mounted_hierarchies(mountinfo, cgroup) {
        // Only where the contract puts a container's cgroup: v1 hierarchies of its
        // controllers, and a v2 tree that has them (not a hybrid host's v2 mount, which
        // holds hugetlb at most, nor named hierarchies such as name=systemd: runc makes
        // its cgroup in both too, and nothing there is a limit).
        let counts = if h.v2 {
            let ctrls = std::fs::read_to_string(h.point.join("cgroup.controllers")).unwrap_or_default();
            ctrls
                .split_whitespace()
                .any(|c| ["memory", "cpu", "pids", "io", "cpuset"].contains(&c))
        } else {
            h.options.iter().any(|o| V1_CONTROLLERS.contains(&o.as_str()))
        };
        if !counts {
            continue;
        }
        let own_dir = h.own.clone().unwrap_or_else(|| h.point.clone());
        let mut dirs = vec![own_dir.clone()];
        let mut d = own_dir.as_path();
        while let Some(up) = d.parent() {
            if !up.starts_with(&h.point) {
                break;
            }
            dirs.push(up.to_path_buf());
            d = up;
        }
        for dir in dirs {
            if !out.contains(&dir) {
                out.push(dir);
            }
        }
    }
    out
}

/// Watches the directories of [`misplaced_search_dirs`] for new entries during a
/// check (inotify `IN_CREATE`), so that a cgroup a runtime made outside its parent
/// and removed again before the check ended is still seen.
pub struct MisplacedWatch {
    inotify: Option<nix::sys::inotify::Inotify>,
    dirs: std::collections::HashMap<nix::sys::inotify::WatchDescriptor, PathBuf>,
}

impl MisplacedWatch {
    pub fn start() -> MisplacedWatch {
        let mountinfo = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap_or_default();
        let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        MisplacedWatch::on(misplaced_search_dirs(&mountinfo, &cgroup))
    }

    /// Watches `search` (a fake cgroupfs in tests).
    pub fn on(search: Vec<PathBuf>) -> MisplacedWatch {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        let Ok(inotify) = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) else {
            return MisplacedWatch {
                inotify: None,
                dirs: Default::default(),
            };
        };
        let mut dirs = std::collections::HashMap::new();
        for d in search {
            if let Ok(wd) = inotify.add_watch(&d, AddWatchFlags::IN_CREATE | AddWatchFlags::IN_ONLYDIR) {
                dirs.insert(wd, d);
            }
        }
        MisplacedWatch {
            inotify: Some(inotify),
            dirs,
        }
    }

    /// Directories named in `names` that were made in a watched place since the start.
    pub fn created(&self, names: &[String]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Some(inotify) = &self.inotify else { return out };
        while let Ok(events) = inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for e in events {
                let (Some(name), Some(dir)) = (e.name, self.dirs.get(&e.wd)) else {
                    continue;
                };
                let name = name.to_string_lossy().into_owned();
                if names.contains(&name) {
                    let p = dir.join(&name);
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }
}

/// Cgroups named `names` that exist outside the check's parent (see
/// [`misplaced_candidates`]), as this process sees the tree.
pub fn misplaced_cgroups(names: &[String]) -> Vec<PathBuf> {
    if names.is_empty() {
        return Vec::new();
    }
    let mountinfo = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap_or_default();
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    misplaced_candidates(&mountinfo, &cgroup, names)
        .into_iter()
        .filter(|p| p.is_dir())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_cover_root_beside_and_own_cgroup_of_every_hierarchy() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let mountinfo = format!(
            "30 25 0:26 / {d}/cpu rw - cgroup cgroup rw,cpu\n\
             31 25 0:27 / {d}/memory rw - cgroup cgroup rw,memory\n\
             32 25 0:28 / {d}/unified rw - cgroup2 cgroup2 rw\n\
             33 25 0:29 / /tmp rw - tmpfs tmpfs rw\n\
             34 25 0:30 / {d}/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        );
        std::fs::create_dir_all(dir.path().join("unified")).unwrap();
        std::fs::write(dir.path().join("unified/cgroup.controllers"), "memory pids\n").unwrap();
        let cgroup = "5:cpu:/ci/job\n4:memory:/ci/job\n0::/\n";
        let names = vec!["demo".to_string()];
        let c = misplaced_candidates(&mountinfo, cgroup, &names);
        for want in [
            "cpu/demo",
            "cpu/ci/demo",
            "cpu/ci/job/demo",
            "memory/ci/job/demo",
            "unified/demo",
        ] {
            assert!(c.contains(&dir.path().join(want)), "{want} missing from {c:?}");
        }
        assert!(
            !c.contains(&PathBuf::from("/tmp/demo")),
            "a tmpfs is no cgroup hierarchy"
        );
        assert!(
            !c.iter().any(|p| p.starts_with(dir.path().join("systemd"))),
            "name=systemd holds no controller"
        );
        // A hybrid host's v2 mount without the contract's controllers (hugetlb at most) is no
        // place for a container's cgroup either.
        std::fs::write(dir.path().join("unified/cgroup.controllers"), "hugetlb\n").unwrap();
        let hybrid = misplaced_candidates(&mountinfo, cgroup, &names);
        assert!(
            !hybrid.iter().any(|p| p.starts_with(dir.path().join("unified"))),
            "{hybrid:?}"
        );
        // Only what exists is reported, against a fake tree in a tempdir.
        std::fs::create_dir_all(dir.path().join("cpu/demo")).unwrap();
        std::fs::create_dir_all(dir.path().join("memory/ci/job/other")).unwrap();
        let found: Vec<&PathBuf> = c.iter().filter(|p| p.is_dir()).collect();
        assert_eq!(found, vec![&dir.path().join("cpu/demo")]);
    }

    #[test]
    fn a_cgroup_made_and_removed_again_is_still_seen() {
        let dir = tempfile::tempdir().unwrap();
        let w = MisplacedWatch::on(vec![dir.path().to_path_buf()]);
        std::fs::create_dir(dir.path().join("demo")).unwrap();
        std::fs::remove_dir(dir.path().join("demo")).unwrap();
        std::fs::create_dir(dir.path().join("someone-elses")).unwrap();
        assert_eq!(w.created(&["demo".to_string()]), vec![dir.path().join("demo")]);
        assert!(w.created(&["demo".to_string()]).is_empty(), "events are read once");
    }
}
