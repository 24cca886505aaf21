//! Which runtime is under test: the reference runtime, a path, or `oci:NAME` (the
//! OCI adapter driving runc, crun or another OCI runtime). Apart from runtime.rs so
//! that the contract driver knows nothing of the OCI adapter built on it.

use std::path::PathBuf;

use crate::runtime::{bin_dir, Runtime, RUNTIME_ENV};

impl Runtime {
    /// `LAB_RUNTIME` unset or `reference`: the reference runtime built next to this
    /// executable; otherwise a path to any executable implementing the contract.
    pub fn from_env() -> Result<Runtime, String> {
        let v = std::env::var(RUNTIME_ENV).unwrap_or_default();
        Runtime::named(if v.is_empty() { "reference" } else { &v })
    }

    pub fn named(name: &str) -> Result<Runtime, String> {
        // `oci:runc`, `oci:crun`, `oci:/path/to/youki`: the OCI adapter driving it.
        if let Some(oci) = name.strip_prefix("oci:") {
            return crate::oci::runtime(name, oci);
        }
        let path = if name == "reference" {
            bin_dir().join("harness")
        } else {
            PathBuf::from(name)
        };
        let meta = std::fs::metadata(&path).map_err(|e| {
            if name == "reference" {
                format!(
                    "the reference runtime is not built at {} ({e}): run `cargo build --bins`",
                    path.display()
                )
            } else {
                format!("{RUNTIME_ENV}={name}: {e}")
            }
        })?;
        use std::os::unix::fs::PermissionsExt;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(format!(
                "{RUNTIME_ENV}={name}: {} is not an executable file",
                path.display()
            ));
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
