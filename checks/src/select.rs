//! Which runtime is under test: the reference runtime, a path, or `oci:NAME` (the
//! OCI adapter driving runc, crun or another OCI runtime). Apart from runtime.rs so
//! that the contract driver knows nothing of the OCI adapter built on it.

use std::path::{Path, PathBuf};

use crate::runtime::{bin_dir, Runtime, RUNTIME_ENV};
use crate::text::Text;

/// Why no runtime could be chosen: the student's (a `LAB_RUNTIME` naming nothing
/// runnable: said in their language, with the path tried and what to do), or the
/// checker's own installation's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRuntime {
    Yours(Text),
    Host(String),
}

impl NoRuntime {
    pub fn en(&self) -> String {
        match self {
            NoRuntime::Yours(t) => t.en.clone(),
            NoRuntime::Host(s) => s.clone(),
        }
    }
}

impl std::fmt::Display for NoRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en())
    }
}

/// `LAB_RUNTIME=name` names no executable file: which path was tried (a relative one
/// resolved against the working directory) and what to do.
fn not_runnable(name: &str, path: &Path, e: Option<std::io::Error>) -> NoRuntime {
    let cwd = std::env::current_dir().unwrap_or_default();
    // `./my-runtime` tried as /dir/my-runtime: the form to paste back.
    let tried: PathBuf = cwd.join(
        path.components()
            .filter(|c| *c != std::path::Component::CurDir)
            .collect::<PathBuf>(),
    );
    let resolved = if path.is_absolute() {
        crate::t!("", "")
    } else {
        crate::t!(
            " (a relative path is taken from the directory the checker was started in, {})",
            "(상대 경로는 검사기를 시작한 디렉터리 {} 기준)",
            cwd.display()
        )
    };
    let what = match e {
        Some(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::t!("nothing is there", "그런 파일이 없습니다",)
        }
        Some(e) => crate::t!("it cannot be read: {e}", "읽을 수 없습니다: {e}"),
        None => crate::t!("it is not an executable file", "실행 파일이 아닙니다"),
    };
    NoRuntime::Yours(crate::t!(
        "{RUNTIME_ENV}={name}: no runtime at {}{resolved}: {what}. Set {RUNTIME_ENV} to the path of your runtime (an absolute path is safest, e.g. {RUNTIME_ENV}=$HOME/my-runtime/runtime.sh) and make it executable (chmod +x).",
        "{RUNTIME_ENV}={name}: {}{resolved}에 런타임이 없습니다. {what}. {RUNTIME_ENV}에 여러분 런타임의 경로를 주고(절대 경로가 가장 안전합니다. 예: {RUNTIME_ENV}=$HOME/my-runtime/runtime.sh) 실행 권한을 주세요(chmod +x).",
        tried.display()
    ))
}

impl Runtime {
    /// `LAB_RUNTIME` unset or `reference`: the reference runtime built next to this
    /// executable; otherwise a path to any executable implementing the contract.
    pub fn from_env() -> Result<Runtime, NoRuntime> {
        let v = std::env::var(RUNTIME_ENV).unwrap_or_default();
        Runtime::chosen(if v.is_empty() { "reference" } else { &v })
    }

    pub fn named(name: &str) -> Result<Runtime, String> {
        Runtime::chosen(name).map_err(|e| e.en())
    }

    /// The runtime `name` names (`reference`, `oci:NAME` or a path), or whose fault
    /// it is that there is none.
    pub fn chosen(name: &str) -> Result<Runtime, NoRuntime> {
        // `oci:runc`, `oci:crun`, `oci:/path/to/youki`: the OCI adapter driving it.
        if let Some(oci) = name.strip_prefix("oci:") {
            return crate::oci::runtime(name, oci).map_err(NoRuntime::Host);
        }
        let path = if name == "reference" {
            bin_dir().join("harness")
        } else {
            PathBuf::from(name)
        };
        let meta = std::fs::metadata(&path).map_err(|e| {
            if name == "reference" {
                NoRuntime::Host(format!(
                    "the reference runtime is not built at {} ({e}): run `cargo build --bins`",
                    path.display()
                ))
            } else {
                not_runnable(name, &path, Some(e))
            }
        })?;
        use std::os::unix::fs::PermissionsExt;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(not_runnable(name, &path, None));
        }
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        Ok(Runtime::at(name, path))
    }

    /// Contract options this runtime cannot provide, each with the reason: the runner
    /// skips a check that uses one. Computed for `oci:*` runtimes by the OCI adapter
    /// (a table keyed by the OCI runtime's name and version); empty for the others.
    pub fn unsupported(&self) -> Vec<(String, String)> {
        crate::oci::unsupported(self)
    }
}
