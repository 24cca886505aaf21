//! The human report of a run: a per-check table, the details of every failure,
//! skip and breakage, and the summary line `N passed, N failed, N broken, N skipped`.

use std::fmt::Write;

use crate::outcome::Outcome;
use crate::runner::CheckReport;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub broken: usize,
}

impl Tally {
    pub fn of(reports: &[CheckReport]) -> Tally {
        let mut t = Tally::default();
        for r in reports {
            match r.outcome {
                Outcome::Pass => t.passed += 1,
                Outcome::Fail(_) => t.failed += 1,
                Outcome::Skip(_) => t.skipped += 1,
                Outcome::Broken(_) => t.broken += 1,
            }
        }
        t
    }

    /// Broken checks are the suite's or the host's problem, not the runtime's:
    /// they are reported apart, never as the runtime's failures.
    pub fn summary_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} broken, {} skipped",
            self.passed, self.failed, self.broken, self.skipped
        )
    }
}

pub fn render(runtime: &str, reports: &[CheckReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "runtime: {runtime}");
    let width = reports.iter().map(|r| r.id.len()).max().unwrap_or(10).max(10);
    let _ = writeln!(s, "{:<width$}  {:<7} {:>8}  title", "check", "result", "time");
    for r in reports {
        let _ = writeln!(
            s,
            "{:<width$}  {:<7} {:>7.2}s  {}",
            r.id,
            r.outcome.label(),
            r.duration.as_secs_f64(),
            r.title
        );
    }
    let details: Vec<&CheckReport> = reports.iter().filter(|r| r.outcome != Outcome::Pass).collect();
    if !details.is_empty() {
        let _ = writeln!(s);
    }
    for r in details {
        match &r.outcome {
            Outcome::Fail(f) => {
                let _ = writeln!(s, "FAIL {}: {}", r.id, r.title);
                for line in f.to_string().lines() {
                    let _ = writeln!(s, "    {line}");
                }
            }
            Outcome::Skip(why) => {
                let _ = writeln!(s, "skip {}: {why}", r.id);
            }
            Outcome::Broken(why) => {
                let _ = writeln!(s, "BROKEN {}: {why}", r.id);
            }
            Outcome::Pass => {}
        }
    }
    let noted: Vec<&CheckReport> = reports.iter().filter(|r| !r.notes.is_empty()).collect();
    if !noted.is_empty() {
        let _ = writeln!(s);
    }
    for r in noted {
        for n in &r.notes {
            let _ = writeln!(s, "note {}: {n}", r.id);
        }
    }
    let t = Tally::of(reports);
    let _ = writeln!(s);
    if t.broken > 0 {
        let _ = writeln!(
            s,
            "{} broken (the check or the host failed; not counted against the runtime)",
            t.broken
        );
    }
    let _ = writeln!(s, "{}", t.summary_line());
    s
}
