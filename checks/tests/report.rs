//! The human report, snapshot-tested on synthetic results (no root needed).
//! Durations, pids and scratch paths are filtered out of the snapshot.

use std::time::Duration;

use checks::outcome::Failure;
use checks::report::{render, Tally};
use checks::{CheckReport, Outcome};

fn report(id: &str, outcome: Outcome, ms: u64) -> CheckReport {
    CheckReport {
        id: id.into(),
        topic: id.split('.').next().unwrap().into(),
        title: format!("title of {id}"),
        outcome,
        duration: Duration::from_millis(ms),
        notes: if ms == 31 {
            vec!["figure: 0.19 of a CPU".into()]
        } else {
            vec![]
        },
    }
}

fn synthetic() -> Vec<CheckReport> {
    vec![
        report("namespaces.pid.init-is-pid-1", Outcome::Pass, 31),
        report(
            "namespaces.uts.hostname-set",
            Outcome::Fail(Failure {
                expected: "hostname \"lab-4242x0\" inside".into(),
                got: "\"vm\"".into(),
                command: "/opt/rt run --ns uts --hostname lab-4242x0 --pid-file /tmp/lab-check-AbC123/uts.pid -- /work/probe hostname".into(),
                stderr_tail: "warning: uts ignored\nsecond line".into(),
                run: checks::outcome::RunRole::Tested,
                refused: None,
                cause: None,
            }),
            1234,
        ),
        report("namespaces.time.offset-moves-clocks", Outcome::Skip("this kernel has no time namespace".into()), 0),
        report("namespaces.net.veth-carries-traffic", Outcome::Broken("binding a host listener: EACCES".into()), 5),
    ]
}

#[test]
fn report_table_details_and_summary() {
    let text = render("reference (/work/target/debug/harness)", &synthetic());
    let mut settings = insta::Settings::clone_current();
    // Absolute, so it does not depend on insta finding the workspace through cargo.
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"\d+\.\d+s", "[time]");
    settings.add_filter(r"/tmp/lab-check-[A-Za-z0-9]+", "[scratch]");
    settings.add_filter(r"lab-\d+x\d+", "lab-[pid]x[n]");
    settings.bind(|| insta::assert_snapshot!("report_table_details_and_summary", text));
}

#[test]
fn summary_counts_broken_apart() {
    let t = Tally::of(&synthetic());
    assert_eq!(
        t,
        Tally {
            passed: 1,
            failed: 1,
            skipped: 1,
            broken: 1
        }
    );
    // Every check is in the line: a broken one is neither hidden nor a failure.
    assert_eq!(t.summary_line(), "1 passed, 1 failed, 1 broken, 1 skipped");
    let text = render("x", &synthetic());
    assert!(text.ends_with("1 passed, 1 failed, 1 broken, 1 skipped\n"), "{text}");
    assert!(text.contains("1 broken (the check or the host failed; not counted against the runtime)"));
}

/// `labcheck --lang ko`: the same report in Korean, the checks' titles from the
/// course's hints, the verdicts and the summary in the glossary's words.
#[test]
fn korean_report_is_korean_through() {
    let text = checks::report::render_in(checks::text::Lang::Ko, "x", &synthetic());
    for want in [
        "런타임: x",
        "실패 namespaces.uts.hostname-set: 안의 호스트 이름은 요청한 이름이다",
        "기대:     hostname",
        "검사 오류 1개(검사나 호스트의 문제이므로 런타임의 실패로 치지 않음)",
        "통과 1, 실패 1, 검사 오류 1, 건너뜀 1\n",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    assert!(!text.contains("title of namespaces.uts.hostname-set"), "{text}");
}
