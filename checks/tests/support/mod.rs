//! The reference runtime with its test-only faults (harness/src/fault.rs). A
//! normal build of `harness` has none, so the tests that inject faults build one
//! of their own, once, into target/faults with `--features faults`; the checks
//! never link the runtime, they run it.

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The variable naming the faults to inject (the harness's `fault::ENV`).
pub const FAULT_ENV: &str = "HARNESS_TEST_FAULT";

/// One fault as `harness faults` lists it.
#[derive(Debug, serde::Deserialize)]
pub struct Fault {
    pub name: String,
    pub what: String,
}

/// The fault-enabled `harness`: target/faults/<triple>/debug/harness, built on first use.
pub fn harness() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let bin_dir = checks::runtime::bin_dir();
        // bin_dir is target/<triple>/<profile>; the faults build goes beside it.
        let profile_dir = bin_dir.parent().expect("target/<triple>");
        let triple = profile_dir.file_name().expect("a target triple").to_owned();
        let target = profile_dir.parent().expect("target").join("faults");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(&cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "harness",
                "--bin",
                "harness",
                "--features",
                "faults",
                "--target-dir",
            ])
            .arg(&target)
            .arg("--manifest-path")
            .arg(workspace.join("Cargo.toml"))
            .status()
            .expect("running cargo to build the fault-enabled harness");
        assert!(st.success(), "cargo build -p harness --features faults failed ({st})");
        let bin = target.join(triple).join("debug/harness");
        assert!(bin.is_file(), "the fault-enabled harness is not at {}", bin.display());
        // The probe and the rest stay the workspace's: the runtime finds the probe
        // beside itself, so link it in.
        let probe = bin.with_file_name("probe");
        let _ = std::fs::remove_file(&probe);
        std::os::unix::fs::symlink(bin_dir.join("probe"), &probe).expect("linking the probe beside the faults harness");
        bin
    })
}

/// Every fault the fault-enabled harness knows, in its order.
pub fn faults() -> Vec<Fault> {
    let out = Command::new(harness()).arg("faults").output().expect("harness faults");
    assert!(
        out.status.success(),
        "harness faults: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("harness faults printed {l:?}: {e}")))
        .collect()
}
