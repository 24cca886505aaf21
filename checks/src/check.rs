//! What a check is: its id, the contract options it uses, the host features it
//! requires and the function that runs it. The topics define checks; the catalog
//! lists them; the runner runs them (none of them needs the others).

use std::path::Path;

use crate::ctx::Ctx;
use crate::outcome::CheckResult;

/// The `serial` key of a check that runs with no other check at all.
pub const EXCLUSIVE_KEY: &str = "exclusive";

/// A host feature a check needs; missing, the check is skipped with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Root,
    /// `/proc/self/ns/<name>` exists.
    Namespace(&'static str),
    Overlay,
    /// A program on PATH (observing from the host, e.g. `nsenter`).
    Command(&'static str),
}

impl Requirement {
    /// `Err(reason)` when this host lacks it.
    pub fn check(&self) -> Result<(), crate::outcome::Text> {
        use crate::t;
        match self {
            Requirement::Root => {
                if nix::unistd::geteuid().is_root() {
                    Ok(())
                } else {
                    Err(t!("needs root", "root 권한이 필요합니다"))
                }
            }
            Requirement::Namespace(ns) => {
                if Path::new("/proc/self/ns").join(ns).exists() {
                    Ok(())
                } else {
                    Err(t!(
                        "this kernel has no {ns} namespace (/proc/self/ns/{ns} missing)",
                        "이 커널에는 {ns} 네임스페이스가 없습니다(/proc/self/ns/{ns} 없음)"
                    ))
                }
            }
            Requirement::Overlay => {
                let fs = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
                if fs.lines().any(|l| l.split_whitespace().last() == Some("overlay")) {
                    Ok(())
                } else {
                    Err(t!(
                        "overlay is not in /proc/filesystems",
                        "/proc/filesystems에 overlay가 없습니다"
                    ))
                }
            }
            Requirement::Command(c) => {
                let found = std::env::var_os("PATH")
                    .map(|p| std::env::split_paths(&p).any(|d| d.join(c).is_file()))
                    .unwrap_or(false);
                if found {
                    Ok(())
                } else {
                    Err(t!(
                        "`{c}` is not installed on this host",
                        "이 호스트에 `{c}`가 설치되어 있지 않습니다"
                    ))
                }
            }
        }
    }
}

/// One check. `id` is stable: graders and filters key on it.
#[derive(Clone, Copy)]
pub struct Check {
    /// `topic.area.property`, e.g. `namespaces.pid.init-is-pid-1`.
    pub id: &'static str,
    pub topic: &'static str,
    pub title: &'static str,
    /// The contract options the check passes (what a runtime must implement for it).
    pub uses: &'static [&'static str],
    pub requires: &'static [Requirement],
    /// Checks with the same key never run at the same time (shared kernel state);
    /// the key `exclusive` runs the check with no other check at all.
    pub serial: Option<&'static str>,
    pub run: fn(&Ctx) -> CheckResult,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("id", &self.id).finish()
    }
}
