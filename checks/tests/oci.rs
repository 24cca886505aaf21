//! OCI runtimes through the adapter (`LAB_RUNTIME=oci:runc`, `oci:crun`).
//!
//! The root tests start real containers: `cargo test --test oci -- --ignored`.
//! Against runc every check passes, except those using an option the adapter's
//! table says runc lacks, which are skipped naming it; crun, where it refuses the
//! host (a cgroup v1 hybrid) or is not installed, has every check skipped saying so.

use std::process::Command;

use checks::oci::{support, uses_option, OCI_RUNTIME_ENV};
use checks::{catalog, run_all, run_check, CheckReport, Outcome, Runtime};

/// What a skip reason must mention for an unsupported option: `--ns time` → `time`,
/// `--deny-device` → `deny-device`.
fn feature_word(option: &str) -> String {
    option.trim_start_matches("--ns ").trim_start_matches("--").to_string()
}

fn summary(reports: &[CheckReport]) -> String {
    reports
        .iter()
        .map(|r| format!("{} {}", r.outcome.label(), r.id))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The containers, bundles and mounts of this test process's checks are gone: the
/// checks name their containers `...<pid>x<n>`.
fn assert_nothing_left(oci: &str) {
    let mine = format!("{}x", std::process::id());
    let list = Command::new(oci)
        .args(["list", "-q"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let left: Vec<&str> = list.lines().filter(|l| l.contains(&mine)).collect();
    assert!(left.is_empty(), "containers left in `{oci} list`: {left:?}");
    let bundles: Vec<String> = std::fs::read_dir("/run/oci-runtime")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(&mine))
                .collect()
        })
        .unwrap_or_default();
    assert!(bundles.is_empty(), "bundles left in /run/oci-runtime: {bundles:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let ours: Vec<&str> = mounts.lines().filter(|l| l.contains("/run/oci-runtime/")).collect();
    assert!(ours.is_empty(), "mounts left on the host: {ours:?}");
}

#[test]
fn oci_runtimes_are_the_adapter_with_the_runtime_named() {
    let rt = Runtime::named("oci:runc").unwrap();
    assert_eq!(rt.name, "oci:runc");
    assert!(rt.path.ends_with("oci-runtime"), "{}", rt.path.display());
    assert_eq!(rt.env, vec![(OCI_RUNTIME_ENV.to_string(), "runc".to_string())]);
    assert!(Runtime::named("oci:").is_err());
    // Other runtimes have nothing unsupported.
    assert!(Runtime::named("reference")
        .map(|r| r.unsupported().is_empty())
        .unwrap_or(true));
}

#[test]
fn a_missing_oci_runtime_skips_everything() {
    let rt = Runtime::named("oci:/nonexistent/bin/youki").unwrap();
    let u = rt.unsupported();
    assert_eq!(u.len(), 1, "{u:?}");
    assert_eq!(u[0].0, "*");
    assert!(u[0].1.contains("youki is not installed"), "{}", u[0].1);
}

#[test]
#[ignore = "needs root and runc"]
#[serial_test::serial(suite)]
fn runc_passes_every_check_it_supports_and_skips_the_rest() {
    if !nix::unistd::geteuid().is_root() {
        panic!("run as root");
    }
    let rt = Runtime::named("oci:runc").unwrap();
    let unsupported = rt.unsupported();
    assert!(
        !unsupported.iter().any(|(o, _)| o == "*"),
        "runc cannot run here at all: {unsupported:?}"
    );
    let checks = catalog();
    let mut reports = run_all(&checks, &rt, 4, |_| {});
    // A check broken by a busy host (a control that could not show the difference)
    // gets one more go, alone.
    for (check, r) in checks.iter().zip(reports.iter_mut()) {
        if matches!(r.outcome, Outcome::Broken(_)) {
            *r = run_check(check, &rt);
        }
    }
    let mut passed = 0;
    for (check, r) in checks.iter().zip(&reports) {
        match &r.outcome {
            Outcome::Pass => passed += 1,
            Outcome::Skip(why) => {
                assert!(!why.en.trim().is_empty(), "{}: a skip without a reason", r.id);
                // A skip for a gap of runc's names the option's feature.
                let gaps: Vec<&(String, String)> = unsupported
                    .iter()
                    .filter(|(o, _)| check.uses.iter().any(|u| uses_option(u, o)))
                    .collect();
                if let Some((option, reason)) = gaps.first() {
                    assert_eq!(&why.en, reason, "{}", r.id);
                    assert!(
                        why.contains(&feature_word(option)),
                        "{}: {why:?} does not name {option}",
                        r.id
                    );
                }
            }
            other => panic!("{} against oci:runc: {other:?}\n{}", r.id, summary(&reports)),
        }
    }
    assert!(passed >= 30, "only {passed} checks passed:\n{}", summary(&reports));
    // What the table says of runc 1.1 shows here.
    let version = Command::new("runc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| support::parse_version(&String::from_utf8_lossy(&o.stdout)));
    if version.is_some_and(|v| v < support::Version(1, 2, 0)) {
        let time = reports
            .iter()
            .find(|r| r.id == "namespaces.time.offset-moves-clocks")
            .unwrap();
        assert!(
            matches!(&time.outcome, Outcome::Skip(w) if w.contains("time namespace")),
            "{:?}",
            time.outcome
        );
    }
    assert_nothing_left("runc");
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn crun_on_a_hybrid_host_or_missing_skips_every_check() {
    if !nix::unistd::geteuid().is_root() {
        panic!("run as root");
    }
    let rt = Runtime::named("oci:crun").unwrap();
    let installed = Command::new("crun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let refused = installed && support::hybrid_v2_controllers().is_some() && support::trial_run("crun").is_err();
    let reports = run_all(&catalog(), &rt, 4, |_| {});
    if !installed || refused {
        let want = if installed { "hybrid" } else { "crun is not installed" };
        for r in &reports {
            match &r.outcome {
                Outcome::Skip(why) => assert!(
                    why.contains(want) && why.contains("crun"),
                    "{}: {why:?} does not say {want:?}",
                    r.id
                ),
                other => panic!(
                    "{} against oci:crun ({}): {other:?}",
                    r.id,
                    if installed {
                        "refusing this host"
                    } else {
                        "not installed"
                    }
                ),
            }
        }
        if installed {
            assert!(rt.unsupported()[0].1.contains("cgroup v1"), "{:?}", rt.unsupported());
        }
    } else {
        // crun runs here: the same bar as runc.
        for r in &reports {
            assert!(
                matches!(&r.outcome, Outcome::Pass | Outcome::Skip(_)),
                "{} against oci:crun: {:?}",
                r.id,
                r.outcome
            );
        }
        assert_nothing_left("crun");
    }
}
