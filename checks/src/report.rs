//! The human report of a run: a per-check table, the details of every failure,
//! skip and breakage, and the summary line `N passed, N failed, N broken, N skipped`.

use std::fmt::Write;

use crate::outcome::Outcome;
use crate::runner::CheckReport;
use crate::text::Lang;

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
        self.summary_line_in(Lang::En)
    }

    pub fn summary_line_in(&self, lang: Lang) -> String {
        match lang {
            Lang::En => format!(
                "{} passed, {} failed, {} broken, {} skipped",
                self.passed, self.failed, self.broken, self.skipped
            ),
            Lang::Ko => format!(
                "통과 {}, 실패 {}, 검사 오류 {}, 건너뜀 {}",
                self.passed, self.failed, self.broken, self.skipped
            ),
        }
    }
}

/// The Korean title of each check, from the course's hints (exercises/hints.toml,
/// `title_ko`): the checks themselves carry only the English one.
pub fn title_ko(id: &str) -> Option<String> {
    static TITLES: std::sync::OnceLock<std::collections::BTreeMap<String, String>> = std::sync::OnceLock::new();
    TITLES
        .get_or_init(|| {
            let table: toml::Table = toml::from_str(include_str!("../../exercises/hints.toml")).unwrap_or_default();
            table
                .into_iter()
                .filter_map(|(id, v)| Some((id, v.get("title_ko")?.as_str()?.to_string())))
                .collect()
        })
        .get(id)
        .cloned()
}

pub fn render(runtime: &str, reports: &[CheckReport]) -> String {
    render_in(Lang::En, runtime, reports)
}

/// The report with its words, titles and failures in `lang`. The checks' notes are
/// the checker's own measurements for the suite's developers, in English only: a
/// Korean report counts them and says where to read them.
// Long: the report's sections one after another, in the order they are printed.
pub fn render_in(lang: Lang, runtime: &str, reports: &[CheckReport]) -> String {
    let ko = lang == Lang::Ko;
    let mut s = String::new();
    let _ = writeln!(s, "{}: {runtime}", if ko { "런타임" } else { "runtime" });
    let width = reports.iter().map(|r| r.id.len()).max().unwrap_or(10).max(10);
    let (check, result, time, title) = if ko {
        ("검사", "결과", "시간", "제목")
    } else {
        ("check", "result", "time", "title")
    };
    let _ = writeln!(s, "{check:<width$}  {result:<7} {time:>8}  {title}");
    let title_of = |r: &CheckReport| match lang {
        Lang::Ko => title_ko(&r.id).unwrap_or_else(|| r.title.clone()),
        Lang::En => r.title.clone(),
    };
    for r in reports {
        let _ = writeln!(
            s,
            "{:<width$}  {:<7} {:>7.2}{}  {}",
            r.id,
            r.outcome.label_in(lang),
            r.duration.as_secs_f64(),
            if ko { "초" } else { "s" },
            title_of(r)
        );
    }
    let details: Vec<&CheckReport> = reports.iter().filter(|r| r.outcome != Outcome::Pass).collect();
    if !details.is_empty() {
        let _ = writeln!(s);
    }
    for r in details {
        let label = r.outcome.label_in(lang);
        match &r.outcome {
            Outcome::Fail(f) => {
                let _ = writeln!(s, "{label} {}: {}", r.id, title_of(r));
                for line in f.render(lang).lines() {
                    let _ = writeln!(s, "    {line}");
                }
            }
            Outcome::Skip(why) | Outcome::Broken(why) => {
                let _ = writeln!(s, "{label} {}: {}", r.id, why.get(lang));
            }
            Outcome::Pass => {}
        }
    }
    let noted: Vec<&CheckReport> = reports.iter().filter(|r| !r.notes.is_empty()).collect();
    if !noted.is_empty() {
        let _ = writeln!(s);
    }
    if ko && !noted.is_empty() {
        let n: usize = noted.iter().map(|r| r.notes.len()).sum();
        let _ = writeln!(s, "검사기의 측정 기록 {n}개는 영어로만 있습니다(--lang en으로 봅니다)");
    } else {
        for r in noted {
            for n in &r.notes {
                let _ = writeln!(s, "note {}: {n}", r.id);
            }
        }
    }
    let t = Tally::of(reports);
    let _ = writeln!(s);
    if t.broken > 0 {
        let _ = match lang {
            Lang::En => writeln!(
                s,
                "{} broken (the check or the host failed; not counted against the runtime)",
                t.broken
            ),
            Lang::Ko => writeln!(
                s,
                "검사 오류 {}개(검사나 호스트의 문제이므로 런타임의 실패로 치지 않음)",
                t.broken
            ),
        };
    }
    let _ = writeln!(s, "{}", t.summary_line_in(lang));
    s
}
