//! cgroup v1 and v2 drivers behind one trait.
//!
//! [`Hierarchies`] says where the hierarchies are mounted and where the caller
//! sits in each; [`open`] names the container's cgroup under a parent; the
//! returned [`Cgroup`] creates it with [`Limits`], takes processes, freezes,
//! reports [`Stats`] and destroys it. Every function that touches the tree
//! works on paths it is given, so the unit tests run against a fake cgroupfs
//! in a temporary directory.

pub mod anchor;
pub mod limits;
pub use limits::*;

pub(crate) mod common;
mod hierarchies;
pub mod v1;
pub mod v2;

#[cfg(test)]
mod root_tests;

pub use hierarchies::{Hierarchies, V1Hierarchy, V2Hierarchy};

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Usage counters of one cgroup; `None` where this host does not report the value.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    pub name: String,
    pub cgroup_version: u8,
    pub memory_current_bytes: Option<u64>,
    pub memory_peak_bytes: Option<u64>,
    pub cpu_usage_usec: Option<u64>,
    pub cpu_nr_periods: Option<u64>,
    pub cpu_nr_throttled: Option<u64>,
    pub cpu_throttled_usec: Option<u64>,
    pub pids_current: Option<u64>,
    pub oom_kills: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("failed to write {data} to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        data: String,
        #[source]
        source: io::Error,
    },
    #[error("failed to read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to parse {value:?} read from {}: {reason}", path.display())]
    Parse {
        path: PathBuf,
        value: String,
        reason: String,
    },
    #[error("failed to create cgroup directory {}: {source}", path.display())]
    Mkdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to remove cgroup directory {}: {source}", path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cgroup {name} already exists at {}", path.display())]
    AlreadyExists { name: String, path: PathBuf },
    #[error("invalid cgroup name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("invalid cgroup parent {parent:?}: {reason}")]
    InvalidParent { parent: String, reason: String },
    #[error("parent cgroup {} does not exist (hierarchy {hierarchy})", path.display())]
    ParentMissing { hierarchy: String, path: PathBuf },
    /// `detail` says where it was looked for, e.g. "in /sys/fs/cgroup/x/cgroup.controllers (has: cpu io)".
    #[error("controller {controller} is not available {detail}")]
    ControllerNotAvailable { controller: String, detail: String },
    /// A limit this cgroup version cannot express (net_cls on v2).
    #[error("{0}")]
    Unsupported(String),
    /// A cgroup that cannot be set up as asked, e.g. an empty parent cpuset.
    #[error("{0}")]
    Setup(String),
    #[error("timed out after {secs} s waiting for {what} at {}", path.display())]
    Timeout {
        what: String,
        path: PathBuf,
        secs: u64,
    },
    #[error("bpf {op} for {}: {source}{log}", path.display())]
    Bpf {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
        /// The verifier's log, prefixed with a newline, when there is one.
        log: String,
    },
    /// /proc/self/mountinfo or /proc/self/cgroup text that does not parse.
    #[error("cannot parse {what}: {reason}")]
    ProcParse { what: String, reason: String },
    #[error("{source}; {hint}")]
    Hint {
        #[source]
        source: Box<CgroupError>,
        hint: String,
    },
}

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

/// Checks a cgroup name: `[A-Za-z0-9_.-]{1,64}`, not `.` or `..`.
pub fn validate_name(name: &str) -> Result<(), CgroupError> {
    let bad = |reason: &str| {
        Err(CgroupError::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() || name.len() > 64 {
        return bad("must be 1 to 64 characters long");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return bad(&format!("{c:?} is not allowed (only A-Z a-z 0-9 _ . -)"));
    }
    if name == "." || name == ".." {
        return bad("must not be . or ..");
    }
    Ok(())
}

/// The components of a LAB_CGROUP_PARENT value: `(absolute, components)`.
/// Empty and `.` components are dropped; `..` is refused.
fn parse_parent(parent: &str) -> Result<(bool, Vec<&str>), CgroupError> {
    let absolute = parent.starts_with('/');
    let mut parts = Vec::new();
    for c in parent.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(CgroupError::InvalidParent {
                    parent: parent.to_string(),
                    reason: "must not contain ..".to_string(),
                })
            }
            c => parts.push(c),
        }
    }
    Ok((absolute, parts))
}

/// The container's cgroup `name` under `parent`: relative text is relative to
/// the caller's own cgroup in each hierarchy, absolute text to each
/// hierarchy's root, `None` is the caller's own cgroup. The parent must exist.
pub fn open(
    h: &Hierarchies,
    parent: Option<&str>,
    name: &str,
) -> Result<Box<dyn Cgroup>, CgroupError> {
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
                if controllers.iter().any(|c| c == "cpu") && crate::fault::active("cgroup-outside-parent") {
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
            let hier = h
                .v2_hierarchy()
                .ok_or_else(|| CgroupError::ControllerNotAvailable {
                    controller: "cgroup2".to_string(),
                    detail: "(no cgroup2 file system is mounted)".to_string(),
                })?;
            let mut parent_dir = resolve(&hier.mount, &hier.root, &hier.own)?;
            if crate::fault::active("cgroup-outside-parent") {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("web")]
    #[case("harness-unit-12-0")]
    #[case("a.b_c-D9")]
    #[case("...")]
    #[case(&"x".repeat(64))]
    fn names_accepted(#[case] name: &str) {
        validate_name(name).unwrap();
    }

    #[rstest]
    #[case("")]
    #[case(".")]
    #[case("..")]
    #[case("a/b")]
    #[case("a b")]
    #[case("caf\u{e9}")]
    #[case(&"x".repeat(65))]
    fn names_refused(#[case] name: &str) {
        let e = validate_name(name).unwrap_err();
        assert!(matches!(e, CgroupError::InvalidName { .. }), "{e}");
        assert!(e.to_string().starts_with("invalid cgroup name"), "{e}");
    }

    #[test]
    fn parents_parse() {
        assert_eq!(parse_parent("a/b").unwrap(), (false, vec!["a", "b"]));
        assert_eq!(
            parse_parent("/lab//x/./").unwrap(),
            (true, vec!["lab", "x"])
        );
        assert_eq!(parse_parent("/").unwrap(), (true, vec![]));
        assert!(parse_parent("a/../b").is_err());
    }
}

/// Opens `path` for writing, for [`Cgroup::self_attach_files`].
pub(crate) fn open_for_write(path: &Path) -> Result<std::fs::File, CgroupError> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|source| CgroupError::Write { path: path.to_path_buf(), data: "0".into(), source })
}
