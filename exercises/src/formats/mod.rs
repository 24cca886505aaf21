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

mod annotations;
mod classroom;
mod classroom50;
mod gradescope;
mod html;
mod junit;
mod markdown;
mod tap;

use serde_json::{json, Value};

use crate::model::{CheckGrade, ExerciseResult, GradeResult, Lang, Status};

pub use annotations::github_annotations;
pub use classroom::{classroom, classroom_base64};
pub use classroom50::{classroom50, Submission};
pub use gradescope::gradescope;
pub use html::html;
pub use junit::junit;
pub use markdown::markdown;
pub use tap::tap;

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

/// Text safe inside a table cell or a list item: one line, pipes escaped.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

// ---------------------------------------------------------------------------
// The summaries' words (Markdown and HTML)
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
    ungradable: " cannot be graded on this host (skipped): they are not in the maximum.",
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
    ungradable: "은 이 호스트에서 채점할 수 없어(건너뜀) 만점에 들어가지 않습니다.",
    interrupted: "채점이 중단되어 일부 검사가 실행되지 않았습니다.",
    exercise: "실습",
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

/// An exercise's status word in the summaries.
fn exercise_status(e: &ExerciseResult, w: &Words) -> &'static str {
    if e.checks.iter().any(|c| c.status == Status::Fail) {
        w.failing
    } else if e.ungradable() + e.unfinished() > 0 && e.checks.iter().any(|c| c.status == Status::Pass) {
        w.partly
    } else if e.ungradable() + e.unfinished() > 0 || e.checks.is_empty() {
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
