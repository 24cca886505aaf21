//! The checks' own proof: a runtime with no isolation at all (tests/fixtures/exec-runtime,
//! a shell script that executes the command in place) must fail every namespace check,
//! with a readable expected/got; the reference runtime must pass them all, none skipped.

use std::path::PathBuf;

use checks::{run_all, select, Outcome, Runtime};

fn fixture(name: &str) -> Runtime {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    Runtime::named(p.to_str().unwrap()).unwrap()
}

#[test]
#[ignore = "needs root"]
fn exec_runtime_fails_every_namespace_check() {
    let rt = fixture("exec-runtime");
    let checks = select(Some("namespaces"));
    assert!(checks.len() >= 20, "only {} namespace checks", checks.len());
    for r in run_all(&checks, &rt, 4, |_| {}) {
        match &r.outcome {
            Outcome::Fail(f) => {
                assert!(!f.expected.is_empty() && !f.got.is_empty(), "{}: empty expected/got: {f:?}", r.id);
                assert!(f.command.contains("exec-runtime"), "{}: the command line is missing: {f:?}", r.id);
            }
            other => panic!("{} must fail against a runtime without isolation, got {other:?}", r.id),
        }
    }
}

#[test]
#[ignore = "needs root"]
fn reference_runtime_passes_every_namespace_check_unskipped() {
    let rt = Runtime::named("reference").unwrap();
    for r in run_all(&select(Some("namespaces")), &rt, 4, |_| {}) {
        assert_eq!(r.outcome, Outcome::Pass, "{} against the reference runtime", r.id);
    }
}
