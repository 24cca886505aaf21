//! Classroom 50: `result.json`, and the submission its runner describes.

use serde_json::{json, Value};

use crate::model::{GradeResult, Status};

use super::{reason_line, status_word};

/// What Classroom 50's runner tells an assignment's `autograder.py` about the
/// submission (its environment: CLASSROOM, ASSIGNMENT, SUBMISSION_TAG, COMMIT_URL,
/// RELEASE_URL, REVIEW_URL), and when the grading ended (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    pub classroom: String,
    pub assignment: String,
    pub submission: String,
    pub commit: String,
    pub release: String,
    /// REVIEW_URL, or the commit's when the runner gives none.
    pub review: String,
    pub datetime: String,
}

/// `result.json` of Classroom 50 (`foundation50/classroom50`, schema
/// `classroom50/result/v1`): exactly the keys its collector checks — schema,
/// classroom, assignment, submission, commit, release, review, datetime, score,
/// `max-score`, tests (the runner stamps owner and assignment type itself) — each
/// test `{test-name, passed, score, max-score}`; `score` and `max-score` are the sums
/// of the tests'. The schema has no message, so a check that could not be graded
/// says why in its name; a skip has 0/0 points (not in the maximum), a broken or not-run
/// check 0 of its points (the maximum stays the host's), `passed` true for a
/// skip (nobody failed) and false for a broken or not-run check (never passed).
pub fn classroom50(r: &GradeResult, s: &Submission) -> Value {
    let tests: Vec<Value> = r
        .checks()
        .map(|c| {
            let name = match c.status {
                Status::Pass | Status::Fail => c.id.clone(),
                _ => format!("{} ({}, not graded: {})", c.id, status_word(c.status), reason_line(c)),
            };
            json!({
                "test-name": name,
                "passed": matches!(c.status, Status::Pass | Status::Skip),
                "score": c.earned,
                "max-score": if c.status.in_maximum() { c.max_points } else { 0 },
            })
        })
        .collect();
    json!({
        "schema": "classroom50/result/v1",
        "classroom": s.classroom,
        "assignment": s.assignment,
        "submission": s.submission,
        "commit": s.commit,
        "release": s.release,
        "review": if s.review.is_empty() { &s.commit } else { &s.review },
        "datetime": s.datetime,
        "score": r.earned(),
        "max-score": r.gradable_points(),
        "tests": tests,
    })
}
