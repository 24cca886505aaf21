//! GitHub Classroom (read back as its reporter reads it) and Classroom 50.

use base64::Engine as _;
use exercises::formats;
use exercises::Status;
use serde_json::Value;

use crate::synthetic::{all, synthetic};

/// What the reporter does with `<RUNNER>_RESULTS`: base64-decode, JSON.parse.
fn reporter_decode(env_value: &str) -> Value {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(env_value)
        .expect("standard base64");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// The reporter's total: the sum of every test's score over the runner's max_score.
pub(crate) fn reporter_points(v: &Value) -> (u64, u64) {
    let sum = v["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_u64().unwrap())
        .sum();
    (sum, v["max_score"].as_u64().unwrap())
}

#[test]
fn classroom_round_trips_through_base64_with_the_reporters_totals() {
    let r = synthetic();
    let v = reporter_decode(&formats::classroom_base64(&r));
    assert_eq!(v, formats::classroom(&r));
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], "fail");
    assert_eq!(
        reporter_points(&v),
        (u64::from(r.earned()), u64::from(r.gradable_points()))
    );

    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), r.checks().count());
    for (t, c) in tests.iter().zip(r.checks()) {
        let o = t.as_object().unwrap();
        let keys: Vec<&str> = o.keys().map(String::as_str).collect();
        for k in [
            "name",
            "status",
            "score",
            "message",
            "test_code",
            "filename",
            "line_no",
            "duration",
        ] {
            assert!(keys.contains(&k), "{} lacks {k}", c.id);
        }
        assert_eq!(o.len(), 8, "{keys:?}");
        assert_eq!(t["name"], c.id.as_str());
        assert!(t["score"].is_u64() && t["line_no"].is_u64() && t["duration"].is_u64());
        assert!(t["message"].is_string() && t["test_code"].is_string() && t["filename"].is_string());
        let want = match c.status {
            Status::Pass | Status::Skip => "pass",
            Status::Fail => "fail",
            Status::Broken | Status::NotRun => "error",
        };
        assert_eq!(t["status"], want, "{}", c.id);
        if !c.status.graded() {
            assert_eq!(t["score"], 0);
            let start = if c.status == Status::Skip {
                "Skipped, not graded"
            } else {
                "Could not be graded"
            };
            assert!(t["message"].as_str().unwrap().starts_with(start), "{t}");
        }
        if c.status == Status::Fail {
            let m = t["message"].as_str().unwrap();
            assert!(
                m.starts_with("expected: ") && m.contains("got:") && m.contains("command:"),
                "{m}"
            );
            assert!(m.ends_with(&format!("Hint: {}", c.hint.0)), "{m}");
        }
    }
    // The compact JSON is what gets encoded (one line, no pretty-printing).
    let raw = base64::engine::general_purpose::STANDARD
        .decode(formats::classroom_base64(&r))
        .unwrap();
    assert!(!raw.contains(&b'\n'));
}

#[test]
fn classroom_status_blames_only_failures() {
    let mut r = all(Status::Pass);
    assert_eq!(formats::classroom(&r)["status"], "pass");
    r.exercises[1].checks[2].status = Status::Skip;
    r.exercises[1].checks[2].earned = 0;
    let v = formats::classroom(&r);
    assert_eq!(
        v["status"], "pass",
        "a skipped check is nobody's failure: the reporter fails the step on \"error\""
    );
    assert_eq!(
        reporter_points(&v),
        (u64::from(r.earned()), u64::from(r.gradable_points())),
        "a skipped check is not in the maximum"
    );
    assert!(r.gradable_points() < r.max_points());
    r.exercises[1].checks[3].status = Status::Broken;
    r.exercises[1].checks[3].earned = 0;
    assert_eq!(
        formats::classroom(&r)["status"],
        "error",
        "a broken check never shows as passed"
    );
    assert_eq!(formats::classroom(&all(Status::Broken))["status"], "error");
    assert_eq!(formats::classroom(&all(Status::Fail))["status"], "fail");
}

/// Classroom 50's result.json: exactly the keys of `classroom50/result/v1` (the
/// runner stamps owner and assignment type), the submission as the runner gave it,
/// the sums of the tests; skipped and broken checks 0/0, a skip passed, a broken
/// check not, each saying why in its name.
#[test]
fn classroom50_has_the_schema_and_the_same_points() {
    let r = synthetic();
    let s = formats::Submission {
        classroom: "cs-lab".into(),
        assignment: "runtime".into(),
        submission: "submit/2026-12-05T10-00-00Z-abc".into(),
        commit: "https://example.invalid/commit/abc".into(),
        release: "https://example.invalid/release".into(),
        review: String::new(),
        datetime: "2026-12-05T10:00:00Z".into(),
    };
    let v = formats::classroom50(&r, &s);
    let keys: std::collections::BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let want: std::collections::BTreeSet<&str> = [
        "schema",
        "classroom",
        "assignment",
        "submission",
        "commit",
        "release",
        "review",
        "datetime",
        "score",
        "max-score",
        "tests",
    ]
    .into();
    assert_eq!(keys, want);
    assert_eq!(v["schema"], "classroom50/result/v1");
    assert_eq!(v["review"], s.commit.as_str(), "no REVIEW_URL: the commit");
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), r.checks().count());
    let sum = |k: &str| tests.iter().map(|t| t[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (v["score"].as_u64().unwrap(), v["max-score"].as_u64().unwrap()),
        (sum("score"), sum("max-score"))
    );
    assert_eq!(
        (sum("score"), sum("max-score")),
        (u64::from(r.earned()), u64::from(r.gradable_points()))
    );
    for (t, c) in tests.iter().zip(r.checks()) {
        let k: std::collections::BTreeSet<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(k, ["max-score", "passed", "score", "test-name"].into());
        assert_eq!(t["passed"], matches!(c.status, Status::Pass | Status::Skip), "{t}");
        let name = t["test-name"].as_str().unwrap();
        if c.status.graded() {
            assert_eq!(name, c.id);
        } else {
            assert!(name.starts_with(&c.id) && name.contains("not graded:"), "{name}");
            let max = if c.status == Status::Skip { 0 } else { c.max_points };
            assert_eq!(t["max-score"], max, "{t}");
        }
    }
}
