//! The grader's report for people, rustlings-like: exercises in order with their
//! points, the total, the next exercise to work on, and for each failure the
//! expected/got, the command line, the hint and the check's source.

use std::fmt::Write;

use crate::model::{GradeResult, Lang, Status};

struct Words {
    grading: &'static str,
    total: &'static str,
    next: &'static str,
    done: &'static str,
    failures: &'static str,
    hint: &'static str,
    source: &'static str,
    lab: &'static str,
    interrupted: &'static str,
    ungraded_checks: &'static str,
    contained: &'static str,
    points: &'static str,
    left_outside: &'static str,
}

/// "1 check (2 points) not graded" / "검사 1개(2점) 채점하지 못함".
fn not_graded(lang: Lang, checks: usize, points: u32) -> String {
    match lang {
        Lang::En => format!(
            "{checks} check{} ({points} point{}) not graded",
            if checks == 1 { "" } else { "s" },
            if points == 1 { "" } else { "s" }
        ),
        Lang::Ko => format!("검사 {checks}개({points}점) 채점하지 못함"),
    }
}

const EN: Words = Words {
    grading: "Grading",
    total: "Total",
    next: "Next exercise",
    done: "Every graded exercise is complete.",
    failures: "Failures",
    hint: "hint",
    source: "source",
    lab: "lab",
    interrupted: "The grader was interrupted: checks that did not run are not graded.",
    ungraded_checks:
        "Not graded (skipped: this host cannot run them, out of the maximum; broken: a new run grades them)",
    contained: "The runtime misbehaved; the grader contained it",
    points: "points",
    left_outside:
        "New outside the checker's scratch since the run began (the runtime's, or another program's; not removed)",
};

const KO: Words = Words {
    grading: "채점 대상",
    total: "합계",
    next: "다음 실습",
    done: "채점한 실습을 모두 마쳤습니다.",
    failures: "실패한 검사",
    hint: "힌트",
    source: "검사 코드",
    lab: "실습 문서",
    interrupted: "채점이 중간에 멈췄습니다. 실행되지 않은 검사는 채점하지 않았습니다.",
    ungraded_checks:
        "채점하지 못한 검사 (건너뜀: 이 호스트에서는 돌릴 수 없어 만점에서 빠짐, 검사 오류: 다시 채점하면 채점됨)",
    contained: "런타임이 잘못 동작했고, 검사기가 이를 막았습니다",
    points: "점",
    left_outside:
        "채점이 시작된 뒤 검사기 작업 영역 밖에 새로 생긴 것(런타임이나 다른 프로그램이 만든 것, 지우지 않음)",
};

fn mark(e: &crate::model::ExerciseResult) -> char {
    let graded: Vec<_> = e.checks.iter().filter(|c| c.status.graded()).collect();
    // A broken or not-run check's points are in the maximum, unearned: not complete.
    let unfinished = e.unfinished() > 0;
    if graded.is_empty() {
        '~'
    } else if graded.iter().any(|c| c.status == Status::Fail) {
        '✗'
    } else if unfinished {
        '~'
    } else if graded.iter().all(|c| c.status == Status::Pass) {
        '✓'
    } else {
        '✗'
    }
}

/// `details`: expected/got and command lines of failures (volatile: pids, paths);
/// without them the report is stable enough to snapshot.
// Long: the report's sections one after another, in the order they are printed.
pub fn render(r: &GradeResult, lang: Lang, details: bool) -> String {
    let w = if lang == Lang::Ko { &KO } else { &EN };
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}\n", w.grading, r.runtime);
    let width = r.exercises.iter().map(|e| e.id.len()).max().unwrap_or(8);
    for e in &r.exercises {
        let ungraded = e.ungradable();
        let n = e.checks.iter().filter(|c| c.status == Status::Skip).count();
        let extra = if n > 0 {
            format!("  ({})", not_graded(lang, n, ungraded))
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            " {} {:<width$}  {:>3}/{:<3} {}{extra}",
            mark(e),
            e.id,
            e.earned(),
            e.max_points() - ungraded,
            e.title(lang)
        );
    }
    let _ = writeln!(s);
    // The maximum of every format: what this host can grade (skipped checks are not
    // in it; broken ones are, so that it does not move between runs).
    let _ = write!(s, "{}: {}/{}", w.total, r.earned(), r.gradable_points());
    let n = r.checks().filter(|c| c.status == Status::Skip).count();
    if n > 0 {
        let _ = write!(s, " ({})", not_graded(lang, n, r.ungradable()));
    }
    let _ = writeln!(s);
    // Broken checks stay in the maximum (it must not move between runs on one host):
    // their points are this run's loss, not a verdict, and a new run grades them.
    if r.unfinished() > 0 {
        let p = r.unfinished();
        let _ = writeln!(
            s,
            "{}",
            match lang {
                Lang::En => format!(
                    "{p} point{} not graded this run (broken or not run, not your runtime's fault): run the grader again",
                    if p == 1 { "" } else { "s" }
                ),
                Lang::Ko => format!(
                    "이번 실행에서 채점하지 못한 {p}점이 있습니다(검사 오류이거나 실행되지 않음, 여러분 런타임의 잘못이 아님). 다시 채점하세요."
                ),
            }
        );
    }
    if r.interrupted {
        let _ = writeln!(s, "{}", w.interrupted);
    }
    // What the checker had to contain, one line per kind, however many checks it hit,
    // then what each check's runtime left, by name.
    type Kind<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>);
    let mut incidents: Vec<Kind> = Vec::new();
    for c in r.checks() {
        for n in c
            .notes
            .iter()
            .filter_map(|n| n.strip_prefix(checks::runner::INCIDENT_PREFIX))
        {
            let (text, detail) = checks::incident::split_detail(n);
            let at = match incidents.iter().position(|(t, _, _)| *t == text) {
                Some(i) => i,
                None => {
                    incidents.push((text, Vec::new(), Vec::new()));
                    incidents.len() - 1
                }
            };
            incidents[at].1.push(&c.id);
            if let Some(d) = detail {
                incidents[at].2.push((&c.id, d));
            }
        }
    }
    if !incidents.is_empty() {
        let _ = writeln!(s, "{}:", w.contained);
        for (text, ids, details) in incidents {
            let kind = checks::incident::Incident::from_en(text);
            let shown = match (lang, kind) {
                (Lang::Ko, Some(i)) => i.ko(),
                _ => text.to_string(),
            };
            let _ = writeln!(s, " ! {shown} ({})", ids.join(", "));
            for (id, detail) in details {
                let detail = match (lang, kind) {
                    (Lang::Ko, Some(checks::incident::Incident::Leftovers)) => checks::incident::leftovers_ko(detail),
                    _ => detail.to_string(),
                };
                let _ = writeln!(s, "     {id}: {detail}");
            }
        }
    }
    if !r.left_outside.is_empty() {
        let _ = writeln!(s, "{}:", w.left_outside);
        for p in &r.left_outside {
            let _ = writeln!(s, " ! {p}");
        }
    }
    match r.next_exercise() {
        Some(e) => {
            let lab = if lang == Lang::Ko {
                format!("exercises/labs/{}.ko.md", e.id)
            } else {
                format!("exercises/labs/{}.md", e.id)
            };
            let _ = writeln!(s, "{}: {} — {} ({}: {lab})", w.next, e.id, e.title(lang), w.lab);
        }
        None => {
            let _ = writeln!(s, "{}", w.done);
        }
    }
    let failing: Vec<_> = r
        .exercises
        .iter()
        .flat_map(|e| {
            e.checks
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(move |c| (e, c))
        })
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(s, "\n{}:", w.failures);
    }
    for (e, c) in failing {
        // "2 points", "2점": Korean writes the counter word without a space.
        let points = match lang {
            Lang::En => format!("{} {}", c.max_points, w.points),
            Lang::Ko => format!("{}{}", c.max_points, w.points),
        };
        let _ = writeln!(s, "✗ {} ({}, {points}) — {}", c.id, e.id, c.title(lang));
        if details {
            for line in c.message(lang).lines() {
                let _ = writeln!(s, "    {line}");
            }
        }
        let hint = if lang == Lang::Ko { &c.hint.1 } else { &c.hint.0 };
        let _ = writeln!(s, "    {}: {hint}", w.hint);
        let _ = writeln!(s, "    {}: {}", w.source, c.source);
    }
    let ungraded: Vec<_> = r.checks().filter(|c| !c.status.graded()).collect();
    if !ungraded.is_empty() {
        let _ = writeln!(s, "\n{}:", w.ungraded_checks);
        for c in ungraded {
            let _ = writeln!(s, "~ {}: {}", c.id, c.message(lang).lines().next().unwrap_or(""));
        }
    }
    s
}

/// English sentences left in a Korean report: runs of three or more English words
/// outside what stays as it is in every language (ids, flags, paths, commands and the
/// runtime's own output after `실행:`, `거부:` and `표준오류:`, quoted and backticked
/// text, JSON). Empty when the report is Korean through.
pub fn english_sentences(report: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in our_lines(report) {
        let t = line.trim_start();
        if t.starts_with("source:") || t.starts_with("검사 코드:") {
            continue;
        }
        let cleaned = strip_verbatim(t);
        let mut run: Vec<&str> = Vec::new();
        for token in cleaned.split_whitespace() {
            let w = token.trim_matches(|c: char| c.is_ascii_punctuation());
            let english = w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic() || c == '\'');
            if english {
                run.push(w);
                if run.len() == 3 {
                    found.push(format!("{}  <- {line}", run.join(" ")));
                }
            } else {
                run.clear();
            }
        }
    }
    found
}

/// What must not reach a student in a Korean text: Rust's debug forms of a missing
/// or wrapped value (`Some(…)`, `None`, `Ok(`, `Err(`), particles written both ways
/// (`이(가)`: [`checks::text::josa`] picks one), raw JSON after `실제:`, and English
/// sentences ([`english_sentences`]). Each found as `what  <- line`; empty when clean.
pub fn korean_problems(text: &str) -> Vec<String> {
    const TEMPLATES: [&str; 9] = ["(가)", "(는)", "(를)", "(이)", "(을)", "(은)", "(와)", "(과)", "(으)"];
    let mut found = english_sentences(text);
    for line in our_lines(text) {
        let t = line.trim_start();
        let mut say = |what: &str| found.push(format!("{what}  <- {line}"));
        for debug in ["Some(", "Ok(", "Err("] {
            if t.contains(debug) {
                say(debug);
            }
        }
        if has_word(t, "None") {
            say("None");
        }
        // A boolean as Rust prints it: a person writes 예 / 아니요.
        let plain_words = strip_verbatim(t);
        for b in ["true", "false"] {
            if has_word(&plain_words, b) {
                say(b);
            }
        }
        for p in TEMPLATES {
            if t.contains(p) {
                say(p);
            }
        }
        if t.starts_with("실제:") && t.contains("{\"") {
            say("raw JSON");
        }
        // English words that slip through in pairs, outside code spans.
        let plain = strip_verbatim(t);
        for english in ["exit status", "killed by", "timed out"] {
            if plain.contains(english) {
                say(english);
            }
        }
        if t.contains("(with --") {
            say("(with --");
        }
    }
    found
}

/// What a reader sees of an HTML page, for [`korean_problems`]: no style sheet, no
/// pictures (their labels repeat the text forms, which are checked), `<code>` as
/// backticks, every other tag a line break (a `<pre>` stays its own line), entities
/// read.
pub fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let tag = &rest[open..];
        let end_of = |close: &str| tag.find(close).map(|i| i + close.len());
        let skip_to = if tag.starts_with("<style") {
            end_of("</style>")
        } else if tag.starts_with("<svg") {
            end_of("</svg>")
        } else {
            end_of(">")
        };
        let is_code = tag.starts_with("<code>") || tag.starts_with("</code>");
        out.push(if is_code { '`' } else { '\n' });
        rest = skip_to.map_or("", |i| &tag[i..]);
    }
    out.push_str(rest);
    out.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The lines of a Korean text that are ours to translate: not the runtime's own
/// words (the stderr tail after `표준오류:`, its continuation lines indented under
/// it, the refusal after `거부:`) nor the command lines (after `실행:`, or a line that
/// is one: `PATH run …`).
fn our_lines(text: &str) -> Vec<&str> {
    let mut ours = Vec::new();
    let mut in_stderr = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("표준오류:") {
            in_stderr = true;
            continue;
        }
        if in_stderr && line.starts_with("          ") {
            continue;
        }
        in_stderr = false;
        let mut words = t.split_whitespace();
        let command = words.next().is_some_and(|w| w.contains('/')) && words.next() == Some("run");
        if !(command || t.starts_with("실행:") || t.starts_with("거부:")) {
            ours.push(line);
        }
    }
    ours
}

/// Whether `word` stands alone in `text` (no letter, digit or `_` either side).
fn has_word(text: &str, word: &str) -> bool {
    let part = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(word)
        .any(|(i, _)| !part(text[..i].chars().next_back()) && !part(text[i + word.len()..].chars().next()))
}

/// The line without what is verbatim in every language.
fn strip_verbatim(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' | '"' => {
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
                out.push(' ');
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                let mut depth = 1;
                for d in chars.by_ref() {
                    if d == c {
                        depth += 1;
                    } else if d == close {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                }
                out.push(' ');
            }
            '/' | '-' if out.ends_with(' ') || out.is_empty() => {
                // A path or a flag: up to the next space.
                while chars.peek().is_some_and(|d| !d.is_whitespace()) {
                    chars.next();
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod english_tests {
    use super::english_sentences;

    #[test]
    fn finds_english_sentences_and_spares_what_is_verbatim() {
        assert_eq!(english_sentences("기대:     the probe to be PID 1").len(), 1);
        assert!(english_sentences("기대:     probe가 PID 1(ppid 0)").is_empty());
        assert!(english_sentences("실행:     검사 대상 실행: /opt/rt run --ns uts -- /work/probe hostname").is_empty());
        assert!(english_sentences("실제:     \"no such thing at all\" `make it so now`").is_empty());
        assert!(english_sentences("실제:     {\"error\": \"some long english text\"}").is_empty());
        assert!(english_sentences(
            "표준오류: runtime error: --ns pid needs exercise ns-pid\n          second line of it"
        )
        .is_empty());
        assert_eq!(english_sentences("~ x.y: host too busy: under the quota").len(), 1);
    }

    #[test]
    fn finds_debug_forms_templates_and_raw_json() {
        use super::korean_problems;
        for bad in [
            "실제:     Some(\"pid:[4026531836]\")",
            "실제:     None",
            "sysconf Some(2)",
            "앞 (None, None), 뒤 (None, None)",
            "`user`은(는) 그대로",
            "실제:     {\"memory\": 1}",
        ] {
            assert!(!korean_problems(bad).is_empty(), "{bad}");
        }
        for good in [
            "실제:     없음",
            "실제:     pid:[4026531836]",
            "NoneSuch는 이름입니다",
            "실행:     /opt/rt run --ns pid -- probe Some(1)",
            "표준오류: Err(None) from the runtime itself",
        ] {
            assert!(korean_problems(good).is_empty(), "{good}: {:?}", korean_problems(good));
        }
        let page = "<html><style>body{font-family:system-ui,sans-serif}</style><p>실제: &quot;x&quot; None</p></html>";
        assert_eq!(super::html_text(page).trim(), "실제: \"x\" None");
        assert_eq!(korean_problems(&super::html_text(page)).len(), 1);
    }
}
