//! TAP version 14, with YAML diagnostics.

use std::fmt::Write as _;

use serde_json::json;

use crate::model::{GradeResult, Lang, Status};

use super::{hint, reason_line, status_word};

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
