//! cgroup v1 and v2 drivers behind one trait.
//!
//! [`Hierarchies`] says where the hierarchies are mounted and where the caller
//! sits in each; [`open`] names the container's cgroup under a parent; the
//! returned [`Cgroup`] creates it with [`Limits`], takes processes, freezes,
//! reports [`Stats`] and destroys it. Every function that touches the tree
//! works on paths it is given, so the unit tests run against a fake cgroupfs
//! in a temporary directory.

pub use labkit::cgroups::{
    anchor, common, hierarchies, limits, parse_parent, validate_name, CgroupError, CgroupVersion, Hierarchies, Stats,
    V1Hierarchy, V2Hierarchy,
};
pub use limits::*;

pub mod v1;
pub mod v2;

#[cfg(test)]
mod root_tests;

use crate::fault::{self, Fault};
use std::path::{Path, PathBuf};

/// The container's cgroup, one directory per v1 hierarchy or one on v2.
pub trait Cgroup: Send + Sync {
    fn version(&self) -> CgroupVersion;
    fn name(&self) -> &str;
    /// Every directory of this cgroup (one per joined v1 hierarchy, one on v2).
    fn paths(&self) -> Vec<PathBuf>;
    /// True when any of its directories exists (a half-made cgroup counts, so
    /// that `destroy` is called for it).
    fn exists(&self) -> bool;
    /// Makes the cgroup and applies `limits`; refuses one that exists; on any
    /// error removes what it made.
    fn create(&self, limits: &Limits) -> Result<(), CgroupError>;
    fn add_process(&self, pid: i32) -> Result<(), CgroupError>;
    /// Files, opened for writing, through which a process joins the cgroup by
    /// writing "0" (itself). On v1 these are the per-thread `tasks` files: a thread
    /// moving itself skips the global threadgroup lock, whose every take costs an
    /// RCU grace period (about 10 ms here) — the largest part of a container's start.
    /// Only a single-threaded process joins wholly this way.
    fn self_attach_files(&self) -> Result<Vec<std::fs::File>, CgroupError>;
    fn freeze(&self) -> Result<(), CgroupError>;
    fn thaw(&self) -> Result<(), CgroupError>;
    fn stats(&self) -> Result<Stats, CgroupError>;
    /// Every process in the cgroup and its descendants, sorted.
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// Kills what is left, waits until empty and removes every directory.
    /// Idempotent: missing directories are fine.
    fn destroy(&self) -> Result<(), CgroupError>;
}

/// One controller's driver: the files it writes for [`Limits`] and reads for
/// [`Stats`]. Every function takes the cgroup directory it works on.
pub(crate) trait Controller {
    /// The controller's name as the kernel spells it.
    const NAME: &'static str;
    /// Whether `limits` asks anything of this controller.
    fn needed(limits: &Limits) -> bool;
    /// Writes the limits into the cgroup directory `path`.
    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError>;
    /// Fills in what this controller reports.
    fn stats(_path: &Path, _stats: &mut Stats) -> Result<(), CgroupError> {
        Ok(())
    }
}

/// The container's cgroup `name` under `parent`: relative text is relative to
/// the caller's own cgroup in each hierarchy, absolute text to each
/// hierarchy's root, `None` is the caller's own cgroup. The parent must exist.
// Long: v1 and v2 resolve the parent side by side so that they stay the same.
pub fn open(h: &Hierarchies, parent: Option<&str>, name: &str) -> Result<Box<dyn Cgroup>, CgroupError> {
    validate_name(name)?;
    let parsed = parent.map(parse_parent).transpose()?;
    let resolve = |mount: &Path, root: &str, own: &str| -> Result<PathBuf, CgroupError> {
        let (absolute, parts) = match &parsed {
            None => (false, Vec::new()),
            Some((a, p)) => (*a, p.clone()),
        };
        if absolute {
            // Absolute text names a path from the hierarchy's root; through a
            // mount of a subtree only paths under that subtree are visible.
            let (_, root_parts) = parse_parent(root)?;
            if !parts.starts_with(&root_parts) {
                return Err(CgroupError::InvalidParent {
                    parent: parent.unwrap_or_default().to_string(),
                    reason: format!(
                        "not under {root}, the part of the hierarchy mounted at {}",
                        mount.display()
                    ),
                });
            }
            let mut d = mount.to_path_buf();
            d.extend(&parts[root_parts.len()..]);
            return Ok(d);
        }
        let mut dir = hierarchies::join_cgroup_path(mount, own);
        dir.extend(&parts);
        Ok(dir)
    };
    match h.version() {
        CgroupVersion::V1 => {
            let mut dirs = Vec::new();
            for hier in h.v1_hierarchies() {
                let controllers: Vec<String> = hier
                    .controllers
                    .iter()
                    .filter(|c| v1::CONTROLLERS.contains(&c.as_str()))
                    .cloned()
                    .collect();
                if controllers.is_empty() {
                    continue;
                }
                let mut parent_dir = resolve(&hier.mount, &hier.root, &hier.own)?;
                if controllers.iter().any(|c| c == "cpu") && fault::active(Fault::CgroupOutsideParent) {
                    parent_dir = hier.mount.clone();
                }
                if !parent_dir.is_dir() {
                    return Err(CgroupError::ParentMissing {
                        hierarchy: hier.controllers.join(","),
                        path: parent_dir,
                    });
                }
                dirs.push(v1::V1Dir {
                    controllers,
                    path: parent_dir.join(name),
                });
            }
            if dirs.is_empty() {
                return Err(CgroupError::ControllerNotAvailable {
                    controller: v1::CONTROLLERS.join(","),
                    detail: "(no cgroup v1 controller hierarchy is mounted)".to_string(),
                });
            }
            Ok(Box::new(v1::V1Cgroup::new(name, dirs)))
        }
        CgroupVersion::V2 => {
            let hier = h.v2_hierarchy().ok_or_else(|| CgroupError::ControllerNotAvailable {
                controller: "cgroup2".to_string(),
                detail: "(no cgroup2 file system is mounted)".to_string(),
            })?;
            let mut parent_dir = resolve(&hier.mount, &hier.root, &hier.own)?;
            if fault::active(Fault::CgroupOutsideParent) {
                parent_dir = hier.mount.clone();
            }
            if !parent_dir.is_dir() {
                return Err(CgroupError::ParentMissing {
                    hierarchy: "cgroup2".to_string(),
                    path: parent_dir,
                });
            }
            Ok(Box::new(v2::V2Cgroup::new(name, parent_dir.join(name))))
        }
    }
}

/// Opens `path` for writing, for [`Cgroup::self_attach_files`].
pub(crate) fn open_for_write(path: &Path) -> Result<std::fs::File, CgroupError> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|source| CgroupError::Write {
            path: path.to_path_buf(),
            data: "0".into(),
            source,
        })
}
