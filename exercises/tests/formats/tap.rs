//! TAP 14, read back with a strict parser.

use exercises::formats;
use exercises::{Lang, Status};
use yaml_rust2::{Yaml, YamlLoader};

use crate::junit::parse_junit;
use crate::synthetic::{all, count, synthetic};

#[derive(Debug)]
struct TestPoint {
    ok: bool,
    number: usize,
    description: String,
    /// ("SKIP" | "TODO", reason).
    directive: Option<(String, String)>,
    yaml: Option<Yaml>,
}

#[derive(Debug)]
pub(crate) struct Tap {
    plan: usize,
    points: Vec<TestPoint>,
    pub(crate) comments: Vec<String>,
}

/// Splits a test point's rest ("- desc # SKIP reason") at the first unescaped `#`,
/// unescaping `\#` and `\\` in the description.
fn split_directive(rest: &str) -> (String, Option<(String, String)>) {
    let mut desc = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '\\' => desc.push(chars.next().map(|(_, c)| c).expect("dangling backslash")),
            '#' => {
                let d = rest[i + 1..].trim_start();
                let word: String = d.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
                let kind = word.to_ascii_uppercase();
                assert!(
                    kind.starts_with("SKIP") || kind.starts_with("TODO"),
                    "unknown directive {d:?}"
                );
                let reason = d[word.len()..].trim().to_string();
                return (desc.trim().to_string(), Some((kind[..4].to_string(), reason)));
            }
            _ => desc.push(ch),
        }
    }
    (desc.trim().to_string(), None)
}

/// A strict TAP 14 parser for what a producer may emit at the top level: the
/// version line, one plan, test points, YAML diagnostics after a test point,
/// comments and blank lines. Anything else fails.
pub(crate) fn parse_tap(text: &str) -> Tap {
    let mut lines = text.lines().peekable();
    assert_eq!(lines.next(), Some("TAP version 14"), "the version line comes first");
    let (mut plan, mut points, mut comments) = (None, Vec::<TestPoint>::new(), Vec::new());
    while let Some(line) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            comments.push(c.trim().to_string());
        } else if let Some(p) = line.strip_prefix("1..") {
            assert!(plan.is_none(), "a second plan");
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            let tail = p[digits.len()..].trim();
            assert!(tail.is_empty() || tail.starts_with('#'), "bad plan {line:?}");
            plan = Some(digits.parse::<usize>().expect("plan count"));
        } else if line.starts_with("ok") || line.starts_with("not ok") {
            let ok = line.starts_with("ok");
            let rest = line.strip_prefix(if ok { "ok" } else { "not ok" }).unwrap();
            assert!(rest.is_empty() || rest.starts_with(' '), "bad test point {line:?}");
            let rest = rest.trim_start();
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let number = digits.parse().expect("producers number every test point");
            let rest = rest[digits.len()..].trim_start();
            let rest = rest.strip_prefix("- ").or(rest.strip_prefix('-')).unwrap_or(rest);
            let (description, directive) = split_directive(rest);
            let mut yaml = None;
            if lines.peek() == Some(&"  ---") {
                lines.next();
                let mut block = String::new();
                loop {
                    let l = lines.next().expect("a YAML block ends with `  ...`");
                    if l == "  ..." {
                        break;
                    }
                    let l = if l.is_empty() {
                        l
                    } else {
                        l.strip_prefix("  ").expect("YAML indented two spaces")
                    };
                    block.push_str(l);
                    block.push('\n');
                }
                let mut docs = YamlLoader::load_from_str(&block).unwrap_or_else(|e| panic!("YAML {e}:\n{block}"));
                assert_eq!(docs.len(), 1);
                yaml = Some(docs.remove(0));
            }
            points.push(TestPoint {
                ok,
                number,
                description,
                directive,
                yaml,
            });
        } else if line.starts_with("  ") && line.trim() == "---" {
            panic!("a YAML block not after a test point");
        } else {
            panic!("not TAP: {line:?}");
        }
    }
    Tap {
        plan: plan.expect("a plan"),
        points,
        comments,
    }
}

#[test]
fn tap_parses_back_with_numbering_directives_and_yaml() {
    let r = synthetic();
    let text = formats::tap(&r);
    let tap = parse_tap(&text);
    let n = r.checks().count();
    assert_eq!(tap.plan, n);
    assert_eq!(tap.points.len(), n);
    for (i, (p, c)) in tap.points.iter().zip(r.checks()).enumerate() {
        assert_eq!(p.number, i + 1);
        assert_eq!(p.description, c.id);
        let y = p.yaml.as_ref().expect("every test point has diagnostics");
        assert_eq!(y["points"]["max"].as_i64(), Some(i64::from(c.max_points)));
        assert_eq!(y["points"]["earned"].as_i64(), Some(i64::from(c.earned)));
        match c.status {
            Status::Pass => assert!(p.ok && p.directive.is_none()),
            Status::Fail => {
                assert!(!p.ok && p.directive.is_none());
                assert_eq!(y["message"].as_str(), Some(c.message.as_str()));
                assert_eq!(y["hint"].as_str(), Some(c.hint.0.as_str()));
            }
            Status::Skip => {
                assert!(p.ok, "a skip is not a failure");
                let (kind, reason) = p.directive.as_ref().expect("a SKIP directive");
                assert_eq!((kind.as_str(), reason.as_str()), ("SKIP", c.message.as_str()));
                assert_eq!(y["reason"].as_str(), Some(c.message.as_str()));
            }
            Status::Broken | Status::NotRun => {
                // Never passed, and (a TODO point) no failure of the runtime.
                assert!(!p.ok, "a broken or not-run check never shows as passed");
                let (kind, reason) = p.directive.as_ref().expect("a TODO directive");
                assert_eq!(kind, "TODO");
                let prefix = if c.status == Status::Broken {
                    "broken: "
                } else {
                    "not run: "
                };
                assert!(reason.starts_with(prefix), "{reason}");
                assert_eq!(y["reason"].as_str(), Some(c.message.as_str()));
            }
        }
    }
    // A TAP consumer counts a `not ok` without a TODO as failed.
    let failed = tap.points.iter().filter(|p| !p.ok && p.directive.is_none()).count();
    let todo = tap
        .points
        .iter()
        .filter(|p| p.directive.as_ref().is_some_and(|d| d.0 == "TODO"))
        .count();
    assert_eq!(failed, count(&r, Status::Fail));
    assert_eq!(todo, count(&r, Status::Broken) + count(&r, Status::NotRun));
    assert!(
        tap.comments.iter().any(|c| c == "total: 6/14 points, 3 not graded"),
        "{:?}",
        tap.comments
    );
}

#[test]
fn tap_escapes_hashes_in_descriptions() {
    let mut r = all(Status::Pass);
    r.exercises[0].checks[0].id = "odd#id\\x".into();
    let tap = parse_tap(&formats::tap(&r));
    assert_eq!(tap.points[0].description, "odd#id\\x");
    assert!(tap.points[0].directive.is_none());
}

#[test]
fn awkward_messages_stay_valid_yaml_and_markdown() {
    let mut r = all(Status::Fail);
    let awkward = [
        " leading space\nsecond",
        "bell \x07 and \x1b[31mcolour\x1b[0m\nx",
        "trailing newline\n",
        "```\nfenced\n````",
    ];
    for (c, m) in r.exercises[1].checks.iter_mut().zip(awkward) {
        c.message = m.into();
    }
    let tap = parse_tap(&formats::tap(&r));
    for (p, m) in tap.points[3..].iter().zip(awkward) {
        assert_eq!(p.yaml.as_ref().unwrap()["message"].as_str(), Some(m.trim_end()));
    }
    let md = formats::markdown(&r, Lang::En);
    assert!(md.contains("`````text\n```\nfenced\n````\n`````\n"), "{md}");
    parse_junit(&formats::junit(&r));
}
