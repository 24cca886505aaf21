//! GitHub Actions annotations: a workflow command a failing or broken check.

use std::fmt::Write as _;

use crate::model::{GradeResult, Status};

use super::{failure_text, ungradable_text};

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
