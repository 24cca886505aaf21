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
