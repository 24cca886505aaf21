//! Gradescope: `/autograder/results/results.json`.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::model::{GradeResult, Lang, Status};

use super::{
    environment_json, explain_failed, failure_text, host_problem, md_cell, skipped_text, status_word, ungradable_text,
};

/// Gradescope's `/autograder/results/results.json`, per the autograder
/// specification (gradescope-autograders.readthedocs.io/en/latest/specs/, source
/// `gradescope/autograder_samples` `docs/specs.md`): top-level `score` (overrides
/// the total of the tests), `output`, `visibility`, `extra_data`; each test
/// `score`, `max_score`, `status` (`"passed"` or `"failed"`, optional), `name`,
/// `number`, `output`, `tags`, `visibility`, `extra_data`.
///
/// Ungradable checks (skipped, broken, not run) get `score` 0 **and `max_score` 0**
/// so they take nothing from the student's total, the tag `not-graded`, and an
/// output that says why. A skip has no `status` (0/0 shows as passed: the host
/// cannot run it, nobody failed); a broken or not-run check has `"failed"` (a 0/0
/// test without it would read as passed) with the reason, and the top-level output
/// says in one line that the grading host, not the runtime, kept those checks from
/// being graded. The specification has no top-level maximum (the assignment's total
/// is set on Gradescope); the grader's totals are in the top-level `extra_data`.
pub fn gradescope(r: &GradeResult) -> Value {
    let mut tests = Vec::new();
    for (ei, e) in r.exercises.iter().enumerate() {
        for (ci, c) in e.checks.iter().enumerate() {
            let mut t = serde_json::Map::new();
            let graded = c.status.graded();
            t.insert("score".into(), json!(c.earned));
            t.insert(
                "max_score".into(),
                json!(if c.status.in_maximum() { c.max_points } else { 0 }),
            );
            if graded || host_problem(c.status) {
                let s = if c.status == Status::Pass { "passed" } else { "failed" };
                t.insert("status".into(), json!(s));
            }
            t.insert("name".into(), json!(format!("{} ({})", c.id, c.title)));
            t.insert("number".into(), json!(format!("{}.{}", ei + 1, ci + 1)));
            let output = match c.status {
                Status::Pass => c.notes.join("\n"),
                Status::Fail => failure_text(c),
                Status::Skip => skipped_text(c),
                _ => ungradable_text(c),
            };
            t.insert("output".into(), json!(output));
            let mut tags = vec![json!(e.topic), json!(e.id)];
            if !graded {
                tags.push(json!("not-graded"));
            }
            t.insert("tags".into(), Value::Array(tags));
            t.insert("visibility".into(), json!("visible"));
            t.insert(
                "extra_data".into(),
                json!({ "check": c.id, "exercise": e.id, "result": status_word(c.status), "points": c.max_points }),
            );
            tests.push(Value::Object(t));
        }
    }
    // With the pictures, the output is Markdown (Gradescope renders it; no Mermaid
    // there, so the pictures are the terminal's, in code blocks).
    let (output, format) = match &r.explained {
        Some(ex) => {
            let pictures = match &ex.pictures {
                Ok(e) => checks::explain::draw::markdown_plain(e, ex.lang),
                Err(why) => format!("> {}\n", md_cell(&explain_failed(why, ex.lang))),
            };
            (
                format!("{}\n\n{pictures}", gradescope_output(r).replace('\n', "\n\n")),
                Some("md"),
            )
        }
        None => (gradescope_output(r), None),
    };
    let mut v = json!({
        "score": r.earned(),
        "output": output,
        "visibility": "visible",
        "extra_data": {
            "runtime": r.runtime,
            "earned_points": r.earned(),
            "max_points": r.max_points(),
            "ungradable_points": r.ungradable(),
            "interrupted": r.interrupted,
            "environment": environment_json(r),
        },
        "tests": tests,
    });
    if let Some(f) = format {
        v["output_format"] = json!(f);
    }
    v
}

fn gradescope_output(r: &GradeResult) -> String {
    let mut s = format!("Points: {}/{}", r.earned(), r.max_points() - r.ungradable());
    if r.ungradable() > 0 {
        let _ = write!(
            s,
            " of the points this host can grade ({} in all).\n{} points are of checks this host cannot run (skipped): they are not in the maximum.",
            r.max_points(),
            r.ungradable()
        );
    }
    let broken: Vec<&str> = r
        .checks()
        .filter(|c| host_problem(c.status))
        .map(|c| c.id.as_str())
        .collect();
    if !broken.is_empty() {
        let _ = write!(
            s,
            "\nThe grading host, not your runtime, kept {} {} from being graded on this run ({} points in the maximum, not earned; run the grader again): {}.",
            broken.len(),
            if broken.len() == 1 { "check" } else { "checks" },
            r.unfinished(),
            broken.join(", ")
        );
    }
    if r.interrupted {
        s.push_str("\nThe grader was interrupted before every check ran.");
    }
    if let Some(e) = r.next_exercise() {
        let _ = write!(s, "\nNext exercise to work on: {} ({}).", e.id, e.title(Lang::En));
    }
    s
}
