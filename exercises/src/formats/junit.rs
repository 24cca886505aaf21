//! JUnit XML: a suite per exercise, a test case per check.

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::model::{Environment, ExerciseResult, GradeResult, Lang, Status};

use super::{failure_text, first_line, reason_line, ungradable_text};

/// JUnit XML: one `<testsuite>` per exercise (properties: topic, title, points),
/// one `<testcase>` per check (`name` = check id, `classname` = exercise id,
/// properties: points). A failure is `<failure>` (message: its first line; text:
/// the whole message and the hint), a broken check `<error>`, a skipped or
/// not-run check `<skipped>` with the reason. Each suite also carries a `skipped`
/// count. No timestamps or ids, so the output is deterministic.
pub fn junit(r: &GradeResult) -> String {
    let mut report = Report::new(format!("grade {}", r.runtime));
    for e in &r.exercises {
        report.add_test_suite(junit_suite(e, &r.environment));
    }
    report.set_time(r.checks().map(|c| c.duration).sum());
    report
        .to_string()
        .expect("a JUnit report of in-memory strings serializes")
}

fn junit_suite(e: &ExerciseResult, env: &Environment) -> TestSuite {
    let mut suite = TestSuite::new(e.id.as_str());
    suite.add_properties([
        Property::new("topic", e.topic.as_str()),
        Property::new("title", e.title(Lang::En)),
        Property::new("points.earned", e.earned().to_string()),
        Property::new("points.max", e.max_points().to_string()),
        Property::new("points.ungradable", e.ungradable().to_string()),
    ]);
    suite.add_properties(env.pairs().map(|(k, v)| Property::new(k, v)));
    for c in &e.checks {
        let status = match c.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(first_line(&c.message))
                    .set_type("fail")
                    .set_description(failure_text(c));
                s
            }
            Status::Broken => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(first_line(&c.message))
                    .set_type("environment")
                    .set_description(ungradable_text(c));
                s
            }
            Status::Skip | Status::NotRun => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(reason_line(c))
                    .set_type(if c.status == Status::Skip { "skip" } else { "not-run" });
                s
            }
        };
        let mut tc = TestCase::new(c.id.as_str(), status);
        tc.set_classname(e.id.as_str()).set_time(c.duration);
        tc.add_properties([
            Property::new("title", c.title.as_str()),
            Property::new("points.earned", c.earned.to_string()),
            Property::new("points.max", c.max_points.to_string()),
        ]);
        if !c.notes.is_empty() {
            tc.set_system_out(c.notes.join("\n"));
        }
        suite.add_test_case(tc);
    }
    // (quick-junit counts the skipped cases itself.) The suite's time is its checks'.
    suite.set_time(e.checks.iter().map(|c| c.duration).sum());
    suite
}
