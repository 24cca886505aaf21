//! The cgroup v2 driver: one directory in the unified hierarchy.

pub mod bpf;
mod cpu;
mod cpuset;
mod devices;
mod freezer;
mod io;
mod memory;
mod pids;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::common::{self, kill_all, make_dir, read_file, remove_tree, write_file, TIMEOUT};
use super::{Cgroup, CgroupError, CgroupVersion, Controller, Limits, Stats};
use crate::fault::{self, Fault};

/// The v2 controllers this driver enables in the parent's
/// `cgroup.subtree_control` when the limits need them.
pub const CONTROLLERS: &[&str] = labkit::cgroups::V2_CONTROLLERS;

type ApplyFn = fn(&Path, &Limits) -> Result<(), CgroupError>;
type StatsFn = fn(&Path, &mut Stats) -> Result<(), CgroupError>;

struct Entry {
    name: &'static str,
    /// A real controller (enabled in subtree_control) or a core feature.
    controller: bool,
    needed: fn(&Limits) -> bool,
    apply: ApplyFn,
    stats: StatsFn,
}

macro_rules! entry {
    ($t:ty, $controller:expr) => {
        Entry {
            name: <$t as Controller>::NAME,
            controller: $controller,
            needed: <$t as Controller>::needed,
            apply: <$t as Controller>::apply,
            stats: <$t as Controller>::stats,
        }
    };
}

const TABLE: &[Entry] = &[
    entry!(cpuset::Cpuset, true),
    entry!(cpu::Cpu, true),
    entry!(io::Io, true),
    entry!(memory::Memory, true),
    entry!(pids::Pids, true),
    entry!(devices::Devices, false),
];

#[derive(Debug)]
pub struct V2Cgroup {
    name: String,
    path: PathBuf,
}

/// The tokens of a `cgroup.controllers` / `cgroup.subtree_control` file.
fn controller_set(path: &Path) -> Result<BTreeSet<String>, CgroupError> {
    Ok(read_file(path)?
        .split_whitespace()
        .map(|c| c.trim_start_matches('+').to_string())
        .collect())
}

impl V2Cgroup {
    pub fn new(name: &str, path: PathBuf) -> V2Cgroup {
        V2Cgroup {
            name: name.to_string(),
            path,
        }
    }

    fn parent(&self) -> &Path {
        self.path.parent().unwrap_or(&self.path)
    }

    /// The controllers `limits` need, checked against the parent's
    /// `cgroup.controllers`; returns those still to enable in its
    /// `cgroup.subtree_control`.
    fn controllers_to_enable(&self, limits: &Limits) -> Result<Vec<&'static str>, CgroupError> {
        let needed: Vec<&'static str> = TABLE
            .iter()
            .filter(|e| e.controller && (e.needed)(limits))
            .map(|e| e.name)
            .collect();
        if needed.is_empty() {
            return Ok(needed);
        }
        let available_file = self.parent().join("cgroup.controllers");
        let available = controller_set(&available_file)?;
        if let Some(missing) = needed.iter().find(|c| !available.contains(**c)) {
            return Err(CgroupError::ControllerNotAvailable {
                controller: missing.to_string(),
                detail: format!(
                    "in {} (has: {})",
                    available_file.display(),
                    available.iter().cloned().collect::<Vec<_>>().join(" ")
                ),
            });
        }
        let enabled = controller_set(&self.parent().join("cgroup.subtree_control"))?;
        Ok(needed.into_iter().filter(|c| !enabled.contains(*c)).collect())
    }

    fn enable(&self, controllers: &[&str]) -> Result<(), CgroupError> {
        if controllers.is_empty() {
            return Ok(());
        }
        let data = controllers
            .iter()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        let file = self.parent().join("cgroup.subtree_control");
        write_file(&file, &data).map_err(|e| match &e {
            CgroupError::Write { source, .. } if source.raw_os_error() == Some(libc::EBUSY) => CgroupError::Hint {
                source: Box::new(e),
                hint: format!(
                    "{} has processes of its own, and cgroup v2 enables controllers only \
                     for the children of a cgroup without processes: choose a parent without processes",
                    self.parent().display()
                ),
            },
            _ => e,
        })
    }

    /// Turns off what `create` turned on, unless another cgroup now lives
    /// beside ours (it may rely on them).
    fn disable_if_alone(&self, controllers: &[&str]) {
        if controllers.is_empty() {
            return;
        }
        let siblings = fs::read_dir(self.parent())
            .map(|rd| rd.flatten().any(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false)))
            .unwrap_or(true);
        if !siblings {
            let data = controllers
                .iter()
                .map(|c| format!("-{c}"))
                .collect::<Vec<_>>()
                .join(" ");
            let _ = write_file(&self.parent().join("cgroup.subtree_control"), &data);
        }
    }

    fn pid_set(&self) -> Result<BTreeSet<i32>, CgroupError> {
        let mut s = BTreeSet::new();
        common::pids_recursive(&self.path, &mut s)?;
        Ok(s)
    }
}

impl Cgroup for V2Cgroup {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V2
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }

    fn exists(&self) -> bool {
        self.path.exists()
    }

    fn create(&self, limits: &Limits) -> Result<(), CgroupError> {
        if self.path.exists() {
            return Err(CgroupError::AlreadyExists {
                name: self.name.clone(),
                path: self.path.clone(),
            });
        }
        if limits.net_classid.is_some() {
            return Err(CgroupError::Unsupported(
                "net_cls has no cgroup v2 controller: a net_cls class id can only be set on a cgroup v1 host"
                    .to_string(),
            ));
        }
        let to_enable = self.controllers_to_enable(limits)?;
        self.enable(&to_enable)?;
        if let Err(e) = make_dir(&self.path) {
            self.disable_if_alone(&to_enable);
            return Err(e);
        }
        let applied = TABLE.iter().try_for_each(|e| (e.apply)(&self.path, limits));
        if applied.is_err() {
            let _ = remove_tree(&self.path, Instant::now() + TIMEOUT);
            self.disable_if_alone(&to_enable);
        }
        applied
    }

    fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        write_file(&self.path.join("cgroup.procs"), &pid.to_string())
    }

    fn self_attach_files(&self) -> Result<Vec<std::fs::File>, CgroupError> {
        // v2 has no per-thread file for domain cgroups; cgroup.procs moves the whole process.
        Ok(vec![super::open_for_write(&self.path.join("cgroup.procs"))?])
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze(&self.path)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw(&self.path)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats {
            name: self.name.clone(),
            cgroup_version: 2,
            ..Default::default()
        };
        for e in TABLE {
            (e.stats)(&self.path, &mut s)?;
        }
        Ok(s)
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        Ok(self.pid_set()?.into_iter().collect())
    }

    /// `cgroup.kill` (5.14+) kills the whole subtree at once, frozen or not;
    /// without it, SIGKILL each listed process until none is left (a frozen
    /// v2 task still dies of SIGKILL). Then rmdir, deepest first.
    fn destroy(&self) -> Result<(), CgroupError> {
        let left_by_fault = fault::active(Fault::CgroupOutsideParent);
        if !left_by_fault && common::rmdir_if_idle(&self.path) {
            return Ok(());
        }
        if !self.path.exists() {
            return Ok(());
        }
        let deadline = Instant::now() + TIMEOUT;
        // cgroup.kill also catches processes forked meanwhile; without it,
        // each round kills what is listed.
        let kill = self.path.join("cgroup.kill");
        let kill_file = kill.exists();
        loop {
            let pids = self.pid_set()?;
            if pids.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(CgroupError::Timeout {
                    what: format!("processes {pids:?} to leave the cgroup"),
                    path: self.path.clone(),
                    secs: TIMEOUT.as_secs(),
                });
            }
            if !(kill_file && write_file(&kill, "1").is_ok()) {
                kill_all(&pids);
            }
            thread::sleep(Duration::from_millis(10));
        }
        if fault::active(Fault::CgroupOutsideParent) {
            return Ok(());
        }
        remove_tree(&self.path, Instant::now() + TIMEOUT)
    }
}

#[cfg(test)]
mod tests;
