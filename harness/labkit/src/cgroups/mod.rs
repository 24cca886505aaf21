//! What both sides know of cgroups: the hierarchies and where the caller sits in
//! them ([`Hierarchies`], [`anchor`]), the contract's limits ([`Limits`]), the
//! errors, names and the tree helpers that kill and remove a cgroup subtree.
//! The drivers that write limits live in the reference runtime (harness).

pub mod anchor;
pub mod common;
pub mod hierarchies;
pub mod limits;
pub use limits::*;

pub use hierarchies::{Hierarchies, V1Hierarchy, V2Hierarchy};

use std::io;

pub use crate::probe::CgroupLine;
use std::path::PathBuf;

/// The v1 controllers the contract names, in the order the reference runtime sets
/// them up (cpuset first: a v1 cpuset cgroup takes no task before it has cpus and mems).
pub const V1_CONTROLLERS: &[&str] = &[
    "cpuset", "cpu", "cpuacct", "memory", "devices", "freezer", "blkio", "pids", "net_cls",
];
/// The v2 controllers the contract uses.
pub const V2_CONTROLLERS: &[&str] = &["cpuset", "cpu", "io", "memory", "pids"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Usage counters of one cgroup; `None` where this host does not report the value.
/// The contract's `stats NAME` prints it (exercises/CONTRACT.md); a runtime that
/// prints only some of the fields leaves the others `None`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
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
    /// The memory limit; `None` without one (contract 1.3).
    pub memory_max_bytes: Option<u64>,
    /// The task limit; `None` without one (contract 1.3).
    pub pids_max: Option<u64>,
    /// Bytes read and written on block devices (contract 1.3).
    pub io_read_bytes: Option<u64>,
    pub io_write_bytes: Option<u64>,
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
    Timeout { what: String, path: PathBuf, secs: u64 },
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
pub fn parse_parent(parent: &str) -> Result<(bool, Vec<&str>), CgroupError> {
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

/// Lines of /proc/self/cgroup (`ID:controllers:path`). Controllers are split
/// on commas; cgroup v2's `0::/path` has an empty list.
pub fn parse_cgroup(text: &str) -> Vec<CgroupLine> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let hierarchy_id = it.next()?.trim().parse().ok()?;
            let controllers = it
                .next()?
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            let path = it.next()?.to_string();
            Some(CgroupLine {
                hierarchy_id,
                controllers,
                path,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_v2_and_v1() {
        assert_eq!(
            parse_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n"),
            vec![CgroupLine {
                hierarchy_id: 0,
                controllers: vec![],
                path: "/user.slice/user-1000.slice/session-2.scope".into()
            }]
        );
        let v1 = "12:cpu,cpuacct:/docker/abc\n1:name=systemd:/init.scope\n3:pids:/a:b\n";
        let got = parse_cgroup(v1);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].hierarchy_id, 12);
        assert_eq!(got[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(got[0].path, "/docker/abc");
        assert_eq!(got[1].controllers, vec!["name=systemd"]);
        // a ':' inside the path stays in the path
        assert_eq!(got[2].path, "/a:b");
        assert!(parse_cgroup("garbage\nx:y:z\n").is_empty());
    }
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
        assert_eq!(parse_parent("/lab//x/./").unwrap(), (true, vec!["lab", "x"]));
        assert_eq!(parse_parent("/").unwrap(), (true, vec![]));
        assert!(parse_parent("a/../b").is_err());
    }
}
