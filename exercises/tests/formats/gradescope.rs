//! Gradescope's results.json, against its specification.

use exercises::formats;
use exercises::Status;
use serde_json::Value;

use crate::synthetic::synthetic;

const VISIBILITY: [&str; 4] = ["hidden", "after_due_date", "after_published", "visible"];

/// The keys and types of gradescope-autograders.readthedocs.io/en/latest/specs/.
pub(crate) fn assert_gradescope_schema(v: &Value) {
    let top = v.as_object().expect("an object");
    let allowed = [
        "score",
        "execution_time",
        "output",
        "output_format",
        "test_output_format",
        "test_name_format",
        "visibility",
        "stdout_visibility",
        "extra_data",
        "tests",
        "leaderboard",
    ];
    for k in top.keys() {
        assert!(allowed.contains(&k.as_str()), "unknown top-level key {k}");
    }
    let tests = v["tests"].as_array().expect("tests is an array");
    // "score: optional, but required if not on each test case".
    assert!(v["score"].is_number() || tests.iter().all(|t| t["score"].is_number()));
    assert!(v["output"].is_string());
    assert!(VISIBILITY.contains(&v["visibility"].as_str().unwrap()));
    assert!(v["extra_data"].is_object());
    let test_keys = [
        "score",
        "max_score",
        "status",
        "name",
        "name_format",
        "number",
        "output",
        "output_format",
        "tags",
        "visibility",
        "extra_data",
    ];
    for t in tests {
        for k in t.as_object().expect("a test is an object").keys() {
            assert!(test_keys.contains(&k.as_str()), "unknown test key {k}");
        }
        assert!(t["score"].is_number() && t["max_score"].is_number(), "{t}");
        assert!(t["score"].as_f64() <= t["max_score"].as_f64(), "{t}");
        assert!(t["name"].is_string() && t["output"].is_string() && t["number"].is_string());
        if let Some(s) = t.get("status") {
            assert!(s == "passed" || s == "failed", "{t}");
        }
        assert!(t["tags"].as_array().unwrap().iter().all(Value::is_string));
        assert!(VISIBILITY.contains(&t["visibility"].as_str().unwrap()));
    }
}

#[test]
fn gradescope_follows_the_spec_and_ungradable_checks_cost_nothing() {
    let r = synthetic();
    let v = formats::gradescope(&r);
    assert_gradescope_schema(&v);
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), r.checks().count());
    let score_sum: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
    let max_sum: u64 = tests.iter().map(|t| t["max_score"].as_u64().unwrap()).sum();
    assert_eq!(v["score"].as_u64(), Some(score_sum));
    assert_eq!(score_sum, u64::from(r.earned()));
    assert_eq!(max_sum, u64::from(r.max_points() - r.ungradable()));
    assert_eq!(v["extra_data"]["max_points"], r.max_points());
    assert_eq!(v["extra_data"]["ungradable_points"], r.ungradable());
    for (t, c) in tests.iter().zip(r.checks()) {
        assert!(t["name"].as_str().unwrap().starts_with(&c.id));
        match c.status {
            Status::Pass => assert_eq!(t["status"], "passed"),
            Status::Fail => {
                assert_eq!(t["status"], "failed");
                assert_eq!(t["score"], 0);
                assert!(t["output"].as_str().unwrap().contains(&c.hint.0));
            }
            _ => {
                // A skip is out of the maximum; a broken or not-run check stays in it.
                let max = if c.status == Status::Skip { 0 } else { c.max_points };
                assert_eq!(
                    (&t["score"], &t["max_score"]),
                    (&Value::from(0), &Value::from(max)),
                    "{t}"
                );
                if c.status == Status::Skip {
                    assert!(t.get("status").is_none(), "a skip shows as 0/0, never failed: {t}");
                } else {
                    assert_eq!(
                        t["status"], "failed",
                        "a broken check never reads as passed (0/0 would): {t}"
                    );
                    assert!(
                        v["output"].as_str().unwrap().contains(&c.id),
                        "the top-level output names {}",
                        c.id
                    );
                }
                assert!(t["tags"].as_array().unwrap().contains(&Value::from("not-graded")));
                let start = if c.status == Status::Skip {
                    "Skipped, not graded"
                } else {
                    "Could not be graded"
                };
                assert!(t["output"].as_str().unwrap().starts_with(start), "{t}");
            }
        }
    }
}
