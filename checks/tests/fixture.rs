//! The checks' own proof: a runtime with no isolation at all (tests/fixtures/exec-runtime,
//! a shell script that executes the command in place and supports neither pause,
//! resume nor stats) must fail every check, with a readable expected/got; the
//! reference runtime must pass them all.

use std::path::PathBuf;

use checks::{catalog, run_all, select, Outcome, Runtime};

fn fixture(name: &str) -> Runtime {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    Runtime::named(p.to_str().unwrap()).unwrap()
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn exec_runtime_fails_every_check() {
    let rt = fixture("exec-runtime");
    let checks = catalog();
    assert!(checks.len() >= 30, "only {} checks", checks.len());
    for r in run_all(&checks, &rt, 4, |_| {}) {
        match &r.outcome {
            Outcome::Fail(f) => {
                assert!(
                    !f.expected.is_empty() && !f.got.is_empty(),
                    "{}: empty expected/got: {f:?}",
                    r.id
                );
                assert!(
                    f.command.contains("exec-runtime"),
                    "{}: the command line is missing: {f:?}",
                    r.id
                );
            }
            // A host that lacks the feature cannot tell either way.
            Outcome::Skip(why) => assert!(!why.is_empty(), "{}: a skip without a reason", r.id),
            other => panic!("{} must fail against a runtime without isolation, got {other:?}", r.id),
        }
    }
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn reference_runtime_passes_every_check() {
    let rt = Runtime::named("reference").unwrap();
    for r in run_all(&catalog(), &rt, 4, |_| {}) {
        match &r.outcome {
            Outcome::Pass => {}
            // Every kernel the suite supports has all eight namespaces: no skip there.
            Outcome::Skip(why) if r.topic != "namespaces" => {
                assert!(!why.is_empty(), "{}: a skip without a reason", r.id)
            }
            other => panic!("{} against the reference runtime: {other:?}", r.id),
        }
    }
    assert!(select(Some("namespaces")).len() >= 20);
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn copy_runtime_fails_the_union_checks() {
    let rt = fixture("copy-runtime");
    let must_fail = [
        "overlay.copy-up.read-leaves-lower",
        "overlay.whiteout.delete-leaves-whiteout",
        "overlay.whiteout.opaque-directory",
        "overlay.whiteout.rename-lower-directory",
        "overlay.sharing.writes-isolated",
        "overlay.sharing.disk-used-once",
        "overlay.metacopy.chmod-copies-metadata-only",
        "overlay.whiteout.rmdir-non-empty-refused",
        "overlay.cost.start-independent-of-image-size",
    ];
    let checks: Vec<_> = select(Some("overlay"))
        .into_iter()
        .filter(|c| must_fail.contains(&c.id))
        .collect();
    assert_eq!(checks.len(), must_fail.len());
    for r in run_all(&checks, &rt, 4, |_| {}) {
        match &r.outcome {
            Outcome::Fail(f) => assert!(f.command.contains("copy-runtime"), "{}: {f:?}", r.id),
            other => panic!(
                "{} must fail against a runtime that copies layers into one directory, got {other:?}",
                r.id
            ),
        }
    }
}

/// The partial fixture is the shell starter with five functions filled in: a starter
/// that gains an option must not leave the fixture refusing it (it once did, and
/// every check with `--cpu-weight` failed it for that alone).
#[test]
fn partial_runtime_is_the_starter_with_pid_and_uts_filled_in() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let starter = std::fs::read_to_string(root.join("../exercises/starters/shell/runtime.sh")).unwrap();
    let fixture = std::fs::read_to_string(root.join("tests/fixtures/partial-runtime")).unwrap();
    const FILLED: [&str; 5] = [
        "pid_unshare_args",
        "pid_find_init",
        "pid_become_init",
        "uts_unshare_args",
        "uts_set_hostname",
    ];
    // Each filled function's body, and the fixture's own header comment, left out.
    let without = |text: &str, header: bool| -> (String, usize) {
        let mut out = String::new();
        let mut skipping = false;
        let mut bodies = 0;
        for (i, line) in text.lines().enumerate() {
            if header && i > 0 && i < 8 {
                assert!(
                    line.starts_with('#'),
                    "the fixture's header is 7 comment lines after the shebang: {line}"
                );
                continue;
            }
            if FILLED.iter().any(|f| line == format!("{f}() {{")) {
                skipping = true;
                bodies += 1;
                out.push_str(line);
                out.push('\n');
                continue;
            }
            if skipping {
                if line == "}" {
                    skipping = false;
                } else {
                    continue;
                }
            }
            out.push_str(line);
            out.push('\n');
        }
        (out, bodies)
    };
    let (s, sn) = without(&starter, false);
    let (f, fn_) = without(&fixture, true);
    assert_eq!((sn, fn_), (5, 5), "each filled function once in both");
    if s != f {
        let first = s.lines().zip(f.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "checks/tests/fixtures/partial-runtime drifted from the shell starter beyond its five functions; first difference at line {}:\nstarter: {:?}\nfixture: {:?}",
            first + 1,
            s.lines().nth(first),
            f.lines().nth(first)
        );
    }
    assert_ne!(starter, fixture, "the fixture fills the five functions in");
}
