//! GitHub Classroom: the result object of a runner, and its base64 step output.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::model::{GradeResult, Status};

use super::{environment_json, failure_text, host_problem, skipped_text, ungradable_text};

/// The result object of a GitHub Classroom runner, as
/// `classroom-resources/autograding-command-grader` writes it (`generateResult`:
/// `{version: 1, status, max_score, tests: [{name, status, score, message,
/// test_code, filename, line_no, duration}]}`, duration in milliseconds).
///
/// What `classroom-resources/autograding-grading-reporter` reads from it:
/// - `src/main.js`: top-level `status` — any runner with `"fail"` fails the step
///   ("Some tests failed."), else any with `"error"` ("Some tests errored.");
/// - `src/notify-classroom.js` and `src/helpers/test-helpers.js`: top-level
///   `max_score` (a runner with a falsy one is left out) and the sum of every
///   `tests[].score` — the grade is "Points {sum of scores}/{sum of max_score}";
/// - `src/console-results.js`: `tests[].name`, `tests[].status` (`"pass"` counts
///   as passed, `"error"` prints the `message`, anything else is a failure),
///   `tests[].line_no` (shown when not 0) and `tests[].test_code` (shown when not
///   empty).
///
/// Points are integers. `max_score` is the points of the checks that were graded
/// (passed or failed). A skipped check has status `"pass"` with score 0 and a message
/// saying it was skipped (the reporter fails the step on `"error"`, and a host that
/// cannot run a check is nobody's failure); a broken or not-run check has status
/// `"error"`, score 0 and the reason, never `"fail"`. The run's status is `"fail"` if
/// any check failed, else `"error"` if any check broke or did not run (or the run
/// was interrupted), else `"pass"`.
pub fn classroom(r: &GradeResult) -> Value {
    let tests: Vec<Value> = r
        .checks()
        .map(|c| {
            let (status, message) = match c.status {
                Status::Pass => ("pass", c.notes.join("\n")),
                Status::Fail => ("fail", failure_text(c)),
                Status::Skip => ("pass", skipped_text(c)),
                Status::Broken | Status::NotRun => ("error", ungradable_text(c)),
            };
            json!({
                "name": c.id,
                "status": status,
                "score": c.earned,
                "message": message,
                "test_code": "",
                "filename": c.source,
                "line_no": 0,
                "duration": u64::try_from(c.duration.as_millis()).unwrap_or(u64::MAX),
            })
        })
        .collect();
    let status = if r.any_failed() {
        "fail"
    } else if r.interrupted || r.checks().any(|c| host_problem(c.status)) {
        "error"
    } else {
        "pass"
    };
    json!({
        "version": 1,
        "status": status,
        "max_score": r.gradable_points(),
        "tests": tests,
        "environment": environment_json(r),
    })
}

/// Standard base64 (with padding) of the compact JSON of [`classroom`]: the value
/// of the runner's step output `result`, which the workflow passes to the reporter
/// as the environment variable `<RUNNER_ID>_RESULTS` (the reporter decodes it with
/// `Buffer.from(value, "base64")` and `JSON.parse`).
pub fn classroom_base64(r: &GradeResult) -> String {
    base64::engine::general_purpose::STANDARD.encode(classroom(r).to_string())
}
