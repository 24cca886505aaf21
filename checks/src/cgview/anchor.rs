//! Where the checker's cgroups are made on cgroup v2: the anchor, and the re-execution
//! in a delegated scope that makes one possible.

use std::path::{Path, PathBuf};

use labkit::cgroups::anchor::{self, How};

use super::{Tree, Version};

/// Where the checker's cgroups are made on cgroup v2 (chosen once per process: see
/// labkit::cgroups::anchor), and why.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub how: How,
    /// The directory the checker's cgroups are made in.
    pub dir: PathBuf,
    /// The same as /proc/self/cgroup names it (`/`, `/system.slice/lab-check-7.scope`).
    pub path: String,
    pub why: String,
}

impl Anchor {
    /// One line for reports: where, and why.
    pub fn describe(&self) -> String {
        format!(
            "cgroup parent: {} ({}): {}",
            self.dir.display(),
            self.how.name(),
            self.why
        )
    }

    /// The same line for a student: where, and which kind of place (the reasons, the
    /// host's own details, only in English).
    pub fn describe_text(&self) -> crate::text::Text {
        let how_ko = match self.how {
            How::Root => "루트 cgroup",
            How::NamespaceRoot => "cgroup 네임스페이스의 루트",
            How::DelegatedScope => "위임받은 systemd scope",
            How::HierarchyRoot => "계층의 루트 바로 아래",
        };
        crate::text::Text {
            en: self.describe(),
            ko: format!("검사기의 cgroup 부모: {} ({how_ko})", self.dir.display()),
        }
    }
}

pub(super) static ANCHOR: std::sync::OnceLock<Anchor> = std::sync::OnceLock::new();

/// The anchor of a v2 tree whose caller's cgroup is `own_dir` (`own_path` as
/// /proc/self/cgroup names it): chosen and prepared on first use.
pub(super) fn v2_anchor(own_dir: &Path, own_path: &str) -> Anchor {
    ANCHOR
        .get_or_init(|| {
            let root_dir = own_dir
                .to_str()
                .and_then(|d| d.strip_suffix(own_path.trim_end_matches('/')))
                .map(|d| Path::new(d).components().collect::<PathBuf>())
                .unwrap_or_else(|| own_dir.to_path_buf());
            let at_root = |how: How, why: String| {
                let why = match anchor::enable(&root_dir) {
                    Ok(()) => why,
                    Err(e) => format!("{why} ({e})"),
                };
                Anchor {
                    how,
                    dir: root_dir.clone(),
                    path: "/".into(),
                    why,
                }
            };
            match anchor::plan(&anchor::facts(own_path)) {
                anchor::Plan::Use {
                    how: How::DelegatedScope,
                    path,
                    why,
                } => {
                    let dir = root_dir.join(path.trim_start_matches('/'));
                    match anchor::prepare_scope(&dir) {
                        Ok(()) => Anchor {
                            how: How::DelegatedScope,
                            dir,
                            path,
                            why,
                        },
                        Err(e) => at_root(
                            How::HierarchyRoot,
                            format!(
                                "preparing the delegated scope {path} failed ({e}): directly under the hierarchy root"
                            ),
                        ),
                    }
                }
                anchor::Plan::Use {
                    how: How::Root, why, ..
                } => match anchor::enable_root(&root_dir) {
                    Ok(anchor::RootEnabled::Given) => Anchor {
                        how: How::Root,
                        dir: root_dir.clone(),
                        path: "/".into(),
                        why,
                    },
                    Ok(anchor::RootEnabled::Moved { leaf, pids }) => Anchor {
                        how: How::NamespaceRoot,
                        dir: root_dir.clone(),
                        path: "/".into(),
                        why: format!(
                            "the checker runs at the root of a cgroup namespace (a container's), not the hierarchy's: \
                             the kernel gave no controllers there while it held processes (EBUSY), which only the \
                             real root may; moved its {} processes ({}) into {} and gave them, as moby's dind does",
                            pids.len(),
                            pids.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" "),
                            leaf.display()
                        ),
                    },
                    Err(e) => Anchor {
                        how: How::Root,
                        dir: root_dir.clone(),
                        path: "/".into(),
                        why: format!("{why} ({e})"),
                    },
                },
                anchor::Plan::Use { how, why, .. } => at_root(how, why),
                // Only a program's main re-executes itself (enter_delegated_scope).
                anchor::Plan::EnterScope { why, .. } => at_root(
                    How::HierarchyRoot,
                    format!("{why}; not done in this process: directly under the hierarchy root"),
                ),
            }
        })
        .clone()
}

/// Called first by a checker's main (before any thread): on a cgroup v2 host whose
/// caller's cgroup cannot delegate and whose PID 1 is systemd, re-executes the program
/// in a transient scope with `Delegate=yes` (it does not return then). Returns why it
/// did not, if it had to and could not.
pub fn enter_delegated_scope() -> Option<String> {
    let tree = Tree::read().ok()?;
    if tree.version != Version::V2 {
        return None;
    }
    let anchor::Plan::EnterScope { systemd_run, .. } = anchor::plan(&anchor::facts(&tree.v2_path)) else {
        return None;
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return Some(format!(
                "cannot name this program to re-execute it in a delegated scope: {e}"
            ))
        }
    };
    // Tried first with /bin/true: once this process is replaced, a systemd-run that
    // cannot make the scope (no bus, a policy) would end the run instead of falling back.
    let unit = format!("lab-check-{}", std::process::id());
    let trial = anchor::scope_command(&systemd_run, &format!("{unit}-trial"), Path::new("/bin/true"), &[]);
    match std::process::Command::new(&trial[0])
        .args(&trial[1..])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Some(format!(
                "{} --scope -p Delegate=yes failed ({}): {}",
                systemd_run.display(),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
        Err(e) => return Some(format!("{} --scope -p Delegate=yes: {e}", systemd_run.display())),
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let argv = anchor::scope_command(&systemd_run, &unit, &exe, &args);
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .env(anchor::SCOPE_ENV, "1")
        .exec();
    Some(format!("{} --scope -p Delegate=yes: {e}", systemd_run.display()))
}
