//! The cgroup v1 driver: one directory per mounted controller hierarchy.

mod blkio;
mod cpu;
mod cpuacct;
mod cpuset;
mod devices;
mod freezer;
mod memory;
mod net_cls;
mod pids;

pub(crate) use pids::{apply_pids_max, pids_current};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::common::{self, kill_all, make_dir, remove_tree, write_file, TIMEOUT};
use super::{Cgroup, CgroupError, CgroupVersion, Controller, Limits, Stats};
use crate::fault::{self, Fault};

/// The v1 controllers this driver joins, in the order it sets them up.
pub const CONTROLLERS: &[&str] = labkit::cgroups::V1_CONTROLLERS;

type ApplyFn = fn(&Path, &Limits) -> Result<(), CgroupError>;
type StatsFn = fn(&Path, &mut Stats) -> Result<(), CgroupError>;

struct Entry {
    name: &'static str,
    needed: fn(&Limits) -> bool,
    apply: ApplyFn,
    stats: StatsFn,
}

macro_rules! entry {
    ($t:ty) => {
        Entry {
            name: <$t as Controller>::NAME,
            needed: <$t as Controller>::needed,
            apply: <$t as Controller>::apply,
            stats: <$t as Controller>::stats,
        }
    };
}

/// Same order as `CONTROLLERS`.
const TABLE: &[Entry] = &[
    entry!(cpuset::Cpuset),
    entry!(cpu::Cpu),
    entry!(cpuacct::CpuAcct),
    entry!(memory::Memory),
    entry!(devices::Devices),
    entry!(freezer::Freezer),
    entry!(blkio::Blkio),
    entry!(pids::Pids),
    entry!(net_cls::NetCls),
];

/// The cgroup's directory in one hierarchy and the driven controllers
/// mounted there (several when co-mounted, e.g. cpu,cpuacct).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Dir {
    pub controllers: Vec<String>,
    pub path: PathBuf,
}

#[derive(Debug)]
pub struct V1Cgroup {
    name: String,
    dirs: Vec<V1Dir>,
}

impl V1Cgroup {
    pub fn new(name: &str, dirs: Vec<V1Dir>) -> V1Cgroup {
        V1Cgroup {
            name: name.to_string(),
            dirs,
        }
    }

    /// The directory of the hierarchy that mounts `controller`.
    pub fn controller_dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.controllers.iter().any(|c| c == controller))
            .map(|d| d.path.as_path())
    }

    fn freezer_dir(&self) -> Result<&Path, CgroupError> {
        self.controller_dir("freezer")
            .ok_or_else(|| CgroupError::ControllerNotAvailable {
                controller: "freezer".to_string(),
                detail: "(no cgroup v1 hierarchy mounts it on this host)".to_string(),
            })
    }

    /// Every controller the limits need must be mounted; checked before
    /// anything is made.
    fn check_controllers(&self, limits: &Limits) -> Result<(), CgroupError> {
        for e in TABLE {
            if (e.needed)(limits) && self.controller_dir(e.name).is_none() {
                if e.name == "net_cls" {
                    return Err(CgroupError::Unsupported(
                        "net_cls controller is not mounted on this host".to_string(),
                    ));
                }
                return Err(CgroupError::ControllerNotAvailable {
                    controller: e.name.to_string(),
                    detail: "(no cgroup v1 hierarchy mounts it on this host)".to_string(),
                });
            }
        }
        Ok(())
    }

    fn make_and_apply(&self, limits: &Limits, made: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
        for d in &self.dirs {
            make_dir(&d.path)?;
            made.push(d.path.clone());
        }
        for e in TABLE {
            if let Some(dir) = self.controller_dir(e.name) {
                (e.apply)(dir, limits)?;
            }
        }
        Ok(())
    }

    fn pid_set(&self) -> Result<BTreeSet<i32>, CgroupError> {
        let mut s = BTreeSet::new();
        for d in &self.dirs {
            common::pids_recursive(&d.path, &mut s)?;
        }
        Ok(s)
    }
}

impl Cgroup for V1Cgroup {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V1
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.path.clone()).collect()
    }

    fn exists(&self) -> bool {
        self.dirs.iter().any(|d| d.path.exists())
    }

    fn create(&self, limits: &Limits) -> Result<(), CgroupError> {
        if let Some(d) = self.dirs.iter().find(|d| d.path.exists()) {
            return Err(CgroupError::AlreadyExists {
                name: self.name.clone(),
                path: d.path.clone(),
            });
        }
        self.check_controllers(limits)?;
        let mut made = Vec::new();
        let r = self.make_and_apply(limits, &mut made);
        if r.is_err() {
            // Nothing has joined yet, so the directories are empty.
            let deadline = Instant::now() + TIMEOUT;
            for p in made.iter().rev() {
                let _ = remove_tree(p, deadline);
            }
        }
        r
    }

    fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        for d in &self.dirs {
            write_file(&d.path.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn self_attach_files(&self) -> Result<Vec<std::fs::File>, CgroupError> {
        self.dirs
            .iter()
            .map(|d| super::open_for_write(&d.path.join("tasks")))
            .collect()
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze(self.freezer_dir()?)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw(self.freezer_dir()?)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats {
            name: self.name.clone(),
            cgroup_version: 1,
            ..Default::default()
        };
        for e in TABLE {
            if let Some(dir) = self.controller_dir(e.name) {
                (e.stats)(dir, &mut s)?;
            }
        }
        Ok(s)
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        Ok(self.pid_set()?.into_iter().collect())
    }

    /// Freeze (so nothing forks or exits and pids stay valid), SIGKILL every
    /// process, thaw (a frozen v1 task does not die before it thaws), then
    /// loop until every hierarchy is empty; rmdir deepest first.
    fn destroy(&self) -> Result<(), CgroupError> {
        // After a container with a PID namespace ends, its cgroup is empty: one
        // rmdir per hierarchy is all it takes.
        let left_by_fault =
            |d: &V1Dir| d.controllers.iter().any(|c| c == "cpu") && fault::active(Fault::CgroupOutsideParent);
        if self
            .dirs
            .iter()
            .map(|d| left_by_fault(d) || common::rmdir_if_idle(&d.path))
            .fold(true, |a, b| a & b)
        {
            return Ok(());
        }
        if !self.exists() {
            return Ok(());
        }
        let freezer = self.controller_dir("freezer").filter(|p| p.exists());
        let pids = self.pid_set()?;
        if !pids.is_empty() {
            let frozen = freezer.map(|p| freezer::freeze(p).is_ok()).unwrap_or(false);
            kill_all(&self.pid_set()?);
            if let Some(p) = freezer {
                if frozen || freezer::state(p).map(|s| s != "THAWED").unwrap_or(false) {
                    freezer::thaw(p)?;
                }
            }
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let pids = self.pid_set()?;
            if pids.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(CgroupError::Timeout {
                    what: format!("processes {pids:?} to leave the cgroup"),
                    path: self.dirs[0].path.clone(),
                    secs: TIMEOUT.as_secs(),
                });
            }
            kill_all(&pids);
            thread::sleep(Duration::from_millis(10));
        }
        let mut first_err = None;
        for d in &self.dirs {
            if left_by_fault(d) {
                continue;
            }
            if let Err(e) = remove_tree(&d.path, Instant::now() + TIMEOUT) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests;
