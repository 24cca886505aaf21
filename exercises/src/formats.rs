//! Machine-readable outputs of a grading run: GitHub Classroom, Classroom 50,
//! Gradescope, JUnit XML, TAP 14, a Markdown summary for `$GITHUB_STEP_SUMMARY` and
//! GitHub Actions annotations.
//!
//! Every function is pure: the same [`GradeResult`] always renders to the same
//! bytes (no clock, no environment, no random ids).
//!
//! One rule in every format: a check that could not be graded costs no points and
//! is not in the maximum (the maximum is the points of the checks that passed or
//! failed). A skip (the host cannot run the check) never shows as failing; a check
//! the host or the checker broke (or that an interrupted run never ran) never shows
//! as passed, and never as the student's failure:
//!
//! | format     | graded fail            | skip                                     | broken / not run                                        |
//! |------------|------------------------|------------------------------------------|---------------------------------------------------------|
//! | Classroom  | `"fail"`, score 0      | `"pass"`, score 0, message "Skipped"     | `"error"`, score 0; the run's status `"error"`          |
//! | Classroom 50 | `passed: false`, 0/max | `passed: true`, 0/0, reason in the name | `passed: false`, 0/0, reason in the name  |
//! | Gradescope | `"failed"`, 0/max      | 0/0, no `status`, tag `not-graded`       | `"failed"`, 0/0, tag `not-graded`, a line in `output`   |
//! | JUnit      | `<failure>`            | `<skipped>`                              | `<error type="environment">` (not run: `<skipped type="not-run">`) |
//! | TAP 14     | `not ok`               | `ok … # SKIP <reason>`                   | `not ok … # TODO broken: …` (`# TODO not run: …`)       |
//! | Markdown   | failing-check section  | "not graded" list                        | "not graded" list                                       |

use std::fmt::Write as _;

use base64::Engine as _;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde_json::{json, Value};

use crate::model::{CheckGrade, Environment, ExerciseResult, GradeResult, Lang, Status};

/// The longest message one check carries into the results: a runtime's output tail
/// (up to 1 MiB) must not push a result past what its service takes. 49 such
/// messages stay far below GitHub's 1 MiB for a job's outputs (the Classroom result
/// is base64 in one) and its step summary.
pub const MESSAGE_CAP: usize = 4 << 10;
/// GitHub's limit on one step summary (`$GITHUB_STEP_SUMMARY`).
pub const SUMMARY_CAP: usize = 1 << 20;

/// `text` cut to at most `cap` bytes (at a character boundary), saying how much went:
/// `… (N bytes cut)`.
pub fn capped(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_string();
    }
    let note_room = 32;
    let mut end = cap.saturating_sub(note_room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &text[..end], text.len() - end)
}

/// The environment as a JSON object (the same keys as the JUnit properties).
fn environment_json(r: &GradeResult) -> Value {
    Value::Object(
        r.environment
            .pairs()
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// Shared wording
// ---------------------------------------------------------------------------

/// A status as one lower-case word (`not run` is two).
fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Skip => "skipped",
        Status::Broken => "broken",
        Status::NotRun => "not run",
    }
}

fn hint(c: &CheckGrade, lang: Lang) -> &str {
    match lang {
        Lang::En => c.hint.0.trim(),
        Lang::Ko => c.hint.1.trim(),
    }
}

/// The failure message followed by the English hint.
fn failure_text(c: &CheckGrade) -> String {
    let mut s = c.message.trim_end().to_string();
    let h = hint(c, Lang::En);
    if !h.is_empty() {
        if !s.is_empty() {
            s.push_str("\n\n");
        }
        s.push_str("Hint: ");
        s.push_str(h);
    }
    s
}

/// Why a check was not graded, as one line.
fn reason_line(c: &CheckGrade) -> String {
    reason_line_in(c, Lang::En)
}

fn reason_line_in(c: &CheckGrade, lang: Lang) -> String {
    let r: Vec<&str> = c
        .message(lang)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if r.is_empty() {
        "no reason given".to_string()
    } else {
        r.join("; ")
    }
}

/// A check the host or the checker kept from being graded: broken, or not run.
fn host_problem(s: Status) -> bool {
    matches!(s, Status::Broken | Status::NotRun)
}

/// The explanation given for a skipped check.
fn skipped_text(c: &CheckGrade) -> String {
    format!(
        "Skipped, not graded: {}\nThis host cannot run this check; its {} {} cost nothing and are not in the maximum.",
        reason_line(c),
        c.max_points,
        if c.max_points == 1 { "point" } else { "points" },
    )
}

/// The explanation given for a check that could not be graded.
fn ungradable_text(c: &CheckGrade) -> String {
    format!(
        "Could not be graded ({}): {}\nThis is not a failure of your runtime; {} {} of this check could not be awarded on this run.",
        status_word(c.status),
        reason_line(c),
        c.max_points,
        if c.max_points == 1 { "point" } else { "points" },
    )
}

fn first_line(s: &str) -> &str {
    s.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("")
}

// ---------------------------------------------------------------------------
// GitHub Classroom
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// GitHub Actions annotations
// ---------------------------------------------------------------------------

/// One workflow command a failing or broken check: `::error title=ID (N points)::…`
/// for a failure (its expected/got), `::warning title=…::…` for a check the host kept
/// from being graded; skips and passes say nothing. Data escaped as the runner wants
/// (`%`, CR, LF; in properties also `:` and `,`).
pub fn github_annotations(r: &GradeResult) -> String {
    fn data(s: &str) -> String {
        s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
    }
    fn prop(s: &str) -> String {
        data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for c in r.checks() {
        let (kind, text) = match c.status {
            Status::Fail => ("error", failure_text(c)),
            Status::Broken | Status::NotRun => ("warning", ungradable_text(c)),
            _ => continue,
        };
        let title = format!(
            "{} ({} {})",
            c.id,
            c.max_points,
            if c.max_points == 1 { "point" } else { "points" }
        );
        let _ = writeln!(out, "::{kind} title={}::{}", prop(&title), data(text.trim_end()));
    }
    out
}

// ---------------------------------------------------------------------------
// Classroom 50
// ---------------------------------------------------------------------------

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
/// says why in its name; it has 0/0 points (not in the maximum), `passed` true for a
/// skip (nobody failed) and false for a broken or not-run check (never passed).
pub fn classroom50(r: &GradeResult, s: &Submission) -> Value {
    let tests: Vec<Value> = r
        .checks()
        .map(|c| {
            let graded = c.status.graded();
            let name = match c.status {
                Status::Pass | Status::Fail => c.id.clone(),
                _ => format!("{} ({}, not graded: {})", c.id, status_word(c.status), reason_line(c)),
            };
            json!({
                "test-name": name,
                "passed": matches!(c.status, Status::Pass | Status::Skip),
                "score": c.earned,
                "max-score": if graded { c.max_points } else { 0 },
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

// ---------------------------------------------------------------------------
// Gradescope
// ---------------------------------------------------------------------------

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
            t.insert("max_score".into(), json!(if graded { c.max_points } else { 0 }));
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
            " of the points that could be graded ({} in all).\n{} points could not be graded on this run (skipped, broken or not run); they are not counted against you.",
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
            "\nThe grading host, not your runtime, kept {} {} from being graded (marked failed with 0/0 points): {}.",
            broken.len(),
            if broken.len() == 1 { "check" } else { "checks" },
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

// ---------------------------------------------------------------------------
// JUnit XML
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// TAP 14
// ---------------------------------------------------------------------------

/// TAP version 14: the version line, the plan `1..N`, one test point per check in
/// order (`ok N - id` / `not ok N - id`), each followed by a YAML diagnostics block
/// indented two spaces between `---` and `...` (exercise, points; for a failure
/// the expected/got message and the hint; otherwise the reason). A skipped check is
/// `ok N - id # SKIP reason`; a broken one `not ok N - id # TODO broken: reason` and
/// a not-run one `not ok N - id # TODO not run: reason` (not passed, yet no failure
/// of the runtime: TAP does not count a TODO point as failing). Comment lines name
/// each exercise and the total of the graded points.
pub fn tap(r: &GradeResult) -> String {
    let n = r.checks().count();
    let mut out = String::from("TAP version 14\n");
    let _ = writeln!(out, "1..{n}");
    let _ = writeln!(out, "# environment: {}", tap_escape(&r.environment.line()));
    let mut i = 0;
    for e in &r.exercises {
        let _ = writeln!(
            out,
            "# {}: {}/{} points",
            e.id,
            e.earned(),
            e.max_points() - e.ungradable()
        );
        for c in &e.checks {
            i += 1;
            let desc = tap_escape(&c.id);
            let _ = match c.status {
                Status::Pass => writeln!(out, "ok {i} - {desc}"),
                Status::Fail => writeln!(out, "not ok {i} - {desc}"),
                Status::Skip => writeln!(out, "ok {i} - {desc} # SKIP {}", reason_line(c)),
                Status::Broken => {
                    writeln!(out, "not ok {i} - {desc} # TODO broken: {}", reason_line(c))
                }
                Status::NotRun => {
                    writeln!(out, "not ok {i} - {desc} # TODO not run: {}", reason_line(c))
                }
            };
            out.push_str("  ---\n");
            yaml_field(&mut out, "exercise", &e.id);
            yaml_field(&mut out, "title", &c.title);
            yaml_field(&mut out, "result", status_word(c.status));
            let _ = writeln!(out, "  points: {{earned: {}, max: {}}}", c.earned, c.max_points);
            match c.status {
                Status::Pass => {}
                Status::Fail => {
                    yaml_field(&mut out, "message", c.message.trim_end());
                    if !hint(c, Lang::En).is_empty() {
                        yaml_field(&mut out, "hint", hint(c, Lang::En));
                    }
                }
                _ => yaml_field(&mut out, "reason", c.message.trim_end()),
            }
            if !c.notes.is_empty() {
                out.push_str("  notes:\n");
                for note in &c.notes {
                    let _ = writeln!(out, "    - {}", json!(note));
                }
            }
            out.push_str("  ...\n");
        }
    }
    let _ = write!(out, "# total: {}/{} points", r.earned(), r.gradable_points());
    if r.ungradable() > 0 {
        let _ = write!(out, ", {} not graded", r.ungradable());
    }
    out.push('\n');
    out
}

/// A TAP description: `\` and `#` escaped, on one line.
fn tap_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('#', "\\#").replace(['\n', '\r'], " ")
}

/// `  key: value` in the diagnostics block: a literal block (`|-`) for readable
/// multi-line text, else a double-quoted scalar (JSON strings are valid YAML).
fn yaml_field(out: &mut String, key: &str, value: &str) {
    let literal_ok = value.contains('\n')
        && !value.ends_with('\n')
        && value
            .lines()
            .next()
            .is_some_and(|l| !l.is_empty() && !l.starts_with([' ', '\t']))
        && !value.chars().any(|ch| ch.is_control() && ch != '\n' && ch != '\t')
        && !value.contains('\u{feff}');
    if literal_ok {
        let _ = writeln!(out, "  {key}: |-");
        for line in value.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "    {line}");
            }
        }
    } else {
        let _ = writeln!(out, "  {key}: {}", json!(value));
    }
}

// ---------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------

struct Words {
    heading: &'static str,
    points: &'static str,
    points_col: &'static str,
    runtime: &'static str,
    ungradable: &'static str,
    interrupted: &'static str,
    exercise: &'static str,
    status: &'static str,
    complete: &'static str,
    failing: &'static str,
    partly: &'static str,
    not_graded: &'static str,
    failing_checks: &'static str,
    hint: &'static str,
    not_graded_checks: &'static str,
    kinds: [&'static str; 3],
}

const EN: Words = Words {
    heading: "Grade",
    points: "points",
    points_col: "Points",
    runtime: "Runtime",
    ungradable: " could not be graded on this run (skipped, broken or not run); they are not counted as failures.",
    interrupted: "The grader was interrupted before every check ran.",
    exercise: "Exercise",
    status: "Status",
    complete: "✅ complete",
    failing: "❌ failing",
    partly: "⚠️ partly graded",
    not_graded: "⚠️ not graded",
    failing_checks: "Failing checks",
    hint: "Hint",
    not_graded_checks: "Not graded",
    kinds: ["skipped", "broken", "not run"],
};

const KO: Words = Words {
    heading: "채점 결과",
    points: "점",
    points_col: "점수",
    runtime: "런타임",
    ungradable:
        "은 이번 실행에서 채점할 수 없었습니다(건너뜀, 검사 오류 또는 실행되지 않음). 실패로 계산되지 않습니다.",
    interrupted: "채점이 중단되어 일부 검사가 실행되지 않았습니다.",
    exercise: "연습 문제",
    status: "상태",
    complete: "✅ 완료",
    failing: "❌ 실패",
    partly: "⚠️ 일부만 채점됨",
    not_graded: "⚠️ 채점 불가",
    failing_checks: "실패한 검사",
    hint: "힌트",
    not_graded_checks: "채점하지 못한 검사",
    kinds: ["건너뜀", "검사 오류", "실행되지 않음"],
};

/// A Markdown summary for `$GITHUB_STEP_SUMMARY`: a heading with the total, a
/// table exercise | points | status, a section per failing check (expected/got in
/// a code block, the hint in `lang`) and a list of the checks that could not be
/// graded with their reason.
// Long: the report's sections one after another, in the order they are printed.
pub fn markdown(r: &GradeResult, lang: Lang) -> String {
    let w = match lang {
        Lang::En => &EN,
        Lang::Ko => &KO,
    };
    let pts = |earned: u32, max: u32| match lang {
        Lang::En => format!("{earned}/{max} {}", w.points),
        Lang::Ko => format!("{earned}/{max}{}", w.points),
    };
    let n_pts = |n: u32| match lang {
        Lang::En if n == 1 => "1 point".to_string(),
        Lang::En => format!("{n} {}", w.points),
        Lang::Ko => format!("{n}{}", w.points),
    };
    let mut out = String::new();
    let _ = writeln!(out, "## {}: {}\n", w.heading, pts(r.earned(), r.gradable_points()));
    let _ = writeln!(out, "{}: `{}`\n", w.runtime, r.runtime.replace('`', "'"));
    let env = if lang == Lang::Ko {
        r.environment.line_ko()
    } else {
        r.environment.line()
    };
    let _ = writeln!(out, "<sub>{}</sub>\n", md_cell(&env));
    if r.ungradable() > 0 {
        let n = r.checks().filter(|c| !c.status.graded()).count();
        let checks = match lang {
            Lang::En if n == 1 => "1 check".to_string(),
            Lang::En => format!("{n} checks"),
            Lang::Ko => format!("검사 {n}개"),
        };
        let _ = writeln!(out, "> {checks} ({}){}\n", n_pts(r.ungradable()), w.ungradable);
    }
    if r.interrupted {
        let _ = writeln!(out, "> {}\n", w.interrupted);
    }
    let _ = writeln!(out, "| {} | {} | {} |", w.exercise, w.points_col, w.status);
    out.push_str("|---|---:|---|\n");
    for e in &r.exercises {
        let status = exercise_status(e, w);
        let _ = writeln!(
            out,
            "| {} (`{}`) | {}/{} | {} |",
            md_cell(e.title(lang)),
            e.id,
            e.earned(),
            e.max_points() - e.ungradable(),
            status
        );
    }
    let failing: Vec<(&ExerciseResult, &CheckGrade)> = r
        .exercises
        .iter()
        .flat_map(|e| e.checks.iter().map(move |c| (e, c)))
        .filter(|(_, c)| c.status == Status::Fail)
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\n### {}", w.failing_checks);
        for (e, c) in failing {
            let _ = writeln!(
                out,
                "\n#### `{}` — {} ({}, {})\n",
                c.id,
                md_cell(c.title(lang)),
                e.id,
                pts(c.earned, c.max_points)
            );
            let body = c.message(lang).trim_end();
            let fence = "`".repeat(longest_backtick_run(body).max(2) + 1);
            let _ = writeln!(out, "{fence}text\n{body}\n{fence}");
            let h = hint(c, lang);
            if !h.is_empty() {
                let _ = writeln!(
                    out,
                    "\n> **{}:** {}",
                    w.hint,
                    h.lines().collect::<Vec<_>>().join("\n> ")
                );
            }
        }
    }
    let ungradable: Vec<&CheckGrade> = r.checks().filter(|c| !c.status.graded()).collect();
    if !ungradable.is_empty() {
        let _ = writeln!(out, "\n### {}\n", w.not_graded_checks);
        for c in ungradable {
            let kind = match c.status {
                Status::Skip => w.kinds[0],
                Status::Broken => w.kinds[1],
                _ => w.kinds[2],
            };
            let _ = writeln!(
                out,
                "- `{}` ({}, {}): {}",
                c.id,
                kind,
                n_pts(c.max_points),
                md_cell(&reason_line_in(c, lang))
            );
        }
    }
    if let Some(ex) = &r.explained {
        out.push('\n');
        match &ex.pictures {
            Ok(e) => out.push_str(&checks::explain::draw::markdown(e, ex.lang)),
            Err(why) => {
                let _ = writeln!(out, "> {}", md_cell(&explain_failed(why, ex.lang)));
            }
        }
    }
    capped(&out, SUMMARY_CAP)
}

/// An exercise's status word in the summaries.
fn exercise_status(e: &ExerciseResult, w: &Words) -> &'static str {
    if e.checks.iter().any(|c| c.status == Status::Fail) {
        w.failing
    } else if e.ungradable() > 0 && e.checks.iter().any(|c| c.status == Status::Pass) {
        w.partly
    } else if e.ungradable() > 0 || e.checks.is_empty() {
        w.not_graded
    } else {
        w.complete
    }
}

/// Why `--explain` drew no pictures.
pub fn explain_failed(why: &checks::text::Text, lang: Lang) -> String {
    match lang {
        Lang::En => format!("The pictures of your container could not be drawn: {}", why.en),
        Lang::Ko => format!("컨테이너 그림을 그리지 못했습니다: {}", why.ko),
    }
}

/// `report.html`: one self-contained page (no script, no network): the points, the
/// exercises, the failing checks with their hints, what could not be graded, and
/// with `--explain` the three pictures as inline SVG.
pub fn html(r: &GradeResult, lang: Lang) -> String {
    use checks::explain::draw::{esc, html_page, html_section};
    let w = match lang {
        Lang::En => &EN,
        Lang::Ko => &KO,
    };
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<p><strong>{}: {}/{}</strong> · {}: <code>{}</code></p>",
        esc(w.heading),
        r.earned(),
        r.gradable_points(),
        esc(w.runtime),
        esc(&r.runtime)
    );
    let env = if lang == Lang::Ko {
        r.environment.line_ko()
    } else {
        r.environment.line()
    };
    let _ = writeln!(b, "<p><small>{}</small></p>", esc(&env));
    if r.interrupted {
        let _ = writeln!(b, "<p class=\"note\">{}</p>", esc(w.interrupted));
    }
    let _ = writeln!(
        b,
        "<table id=\"exercises\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(w.exercise),
        esc(w.points_col),
        esc(w.status)
    );
    for e in &r.exercises {
        let _ = writeln!(
            b,
            "<tr><td>{} (<code>{}</code>)</td><td>{}/{}</td><td>{}</td></tr>",
            esc(e.title(lang)),
            esc(&e.id),
            e.earned(),
            e.max_points() - e.ungradable(),
            esc(exercise_status(e, w))
        );
    }
    b.push_str("</table>\n");
    let failing: Vec<&CheckGrade> = r.checks().filter(|c| c.status == Status::Fail).collect();
    if !failing.is_empty() {
        let _ = writeln!(b, "<h2>{}</h2>", esc(w.failing_checks));
        for c in failing {
            let _ = writeln!(
                b,
                "<details><summary><code>{}</code> — {}</summary><pre>{}</pre><p><strong>{}:</strong> {}</p></details>",
                esc(&c.id),
                esc(c.title(lang)),
                esc(c.message(lang).trim_end()),
                esc(w.hint),
                esc(hint(c, lang))
            );
        }
    }
    let ungradable: Vec<&CheckGrade> = r.checks().filter(|c| !c.status.graded()).collect();
    if !ungradable.is_empty() {
        let _ = writeln!(b, "<h2>{}</h2><ul>", esc(w.not_graded_checks));
        for c in ungradable {
            let _ = writeln!(
                b,
                "<li><code>{}</code>: {}</li>",
                esc(&c.id),
                esc(&reason_line_in(c, lang))
            );
        }
        b.push_str("</ul>\n");
    }
    if let Some(ex) = &r.explained {
        match &ex.pictures {
            Ok(e) => b.push_str(&html_section(e, ex.lang)),
            Err(why) => {
                let _ = writeln!(b, "<p class=\"note\">{}</p>", esc(&explain_failed(why, ex.lang)));
            }
        }
    }
    html_page(&format!("{} — {}", w.heading, r.runtime), &b, lang)
}

/// Text safe inside a table cell or a list item: one line, pipes escaped.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn longest_backtick_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        if ch == '`' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}
