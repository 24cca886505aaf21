//! The machine-readable outputs of the grader, on a synthetic result with two
//! exercises and a check in every status. Each format is read back the way its
//! consumer reads it (base64 + JSON for GitHub Classroom, the results.json spec for
//! Gradescope, an XML parser for JUnit, a TAP 14 parser for TAP) and snapshotted.

use std::time::Duration;

use base64::Engine as _;
use exercises::formats;
use exercises::{CheckGrade, ExerciseResult, GradeResult, Lang, Status};
use quick_xml::events::Event;
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

// ---------------------------------------------------------------------------
// The synthetic result
// ---------------------------------------------------------------------------

fn check(id: &str, max: u32, status: Status, message: &str, ms: u64) -> CheckGrade {
    CheckGrade {
        id: id.into(),
        title: format!("title of {id}"),
        title_ko: format!("{id}의 제목"),
        max_points: max,
        earned: if status == Status::Pass { max } else { 0 },
        status,
        message: message.into(),
        message_ko: format!("(한국어) {message}"),
        notes: if id.ends_with("init-is-pid-1") {
            vec!["figure: 0.19 of a CPU".into()]
        } else {
            vec![]
        },
        hint: (format!("English hint for {id}."), format!("{id} 에 대한 한국어 힌트.")),
        duration: Duration::from_millis(ms),
        source: exercises::source_file(id),
    }
}

const FAIL_UTS: &str = "expected: hostname \"lab-4242x0\" inside\ngot:      \"vm\"\ncommand:  /opt/rt run --ns uts --hostname lab-4242x0 -- /work/probe hostname\nstderr:   warning: uts ignored\n          second line";
const FAIL_MEM: &str =
    "expected: memory.max = 33554432 | the `limit` # set\ngot:      memory.max = max\ncommand:  /opt/rt run --memory 32M -- /work/probe cgroup";

fn synthetic() -> GradeResult {
    GradeResult {
        runtime: "student (/work/target/debug/runtime)".into(),
        exercises: vec![
            ExerciseResult {
                id: "ns-pid".into(),
                topic: "namespaces".into(),
                title: ("PID and UTS namespaces".into(), "PID와 UTS 네임스페이스".into()),
                checks: vec![
                    check("namespaces.pid.init-is-pid-1", 4, Status::Pass, "", 31),
                    check("namespaces.uts.hostname-set", 3, Status::Fail, FAIL_UTS, 1234),
                    check(
                        "namespaces.time.offset-moves-clocks",
                        3,
                        Status::Skip,
                        "this kernel has no time namespace",
                        0,
                    ),
                ],
            },
            ExerciseResult {
                id: "cg-memory".into(),
                topic: "cgroups".into(),
                title: ("Memory limit".into(), "메모리 제한".into()),
                checks: vec![
                    check("cgroups.memory.max-set", 2, Status::Pass, "", 12),
                    check("cgroups.memory.oom-kills", 2, Status::Fail, FAIL_MEM, 250),
                    check(
                        "cgroups.memory.swap-off",
                        2,
                        Status::Broken,
                        "binding a host listener: EACCES\nsecond line",
                        5,
                    ),
                    check(
                        "cgroups.memory.events",
                        1,
                        Status::NotRun,
                        "interrupted before it ran",
                        0,
                    ),
                ],
            },
        ],
        interrupted: true,
        environment: exercises::Environment {
            suite: "0.1.0".into(),
            contract: "1".into(),
            kernel: "6.18.0-test".into(),
            cgroup: "v2".into(),
            cgroup_parent:
                "cgroup parent: /sys/fs/cgroup/system.slice/lab-check-7.scope (delegated systemd scope): why".into(),
        },
        left_outside: vec![],
        explained: None,
    }
}

/// A result in which every check has `status`.
fn all(status: Status) -> GradeResult {
    let mut r = synthetic();
    r.interrupted = false;
    for e in &mut r.exercises {
        for c in &mut e.checks {
            c.status = status;
            c.earned = if status == Status::Pass { c.max_points } else { 0 };
            if status == Status::Pass {
                c.message.clear();
            }
        }
    }
    r
}

fn count(r: &GradeResult, s: Status) -> usize {
    r.checks().filter(|c| c.status == s).count()
}

#[test]
fn the_synthetic_result_covers_every_status() {
    let r = synthetic();
    for s in [Status::Pass, Status::Fail, Status::Skip, Status::Broken, Status::NotRun] {
        assert!(count(&r, s) > 0, "no {s:?} check");
    }
    assert_eq!((r.earned(), r.max_points(), r.ungradable()), (6, 17, 6));
}

// ---------------------------------------------------------------------------
// GitHub Classroom
// ---------------------------------------------------------------------------

/// What the reporter does with `<RUNNER>_RESULTS`: base64-decode, JSON.parse.
fn reporter_decode(env_value: &str) -> Value {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(env_value)
        .expect("standard base64");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// The reporter's total: the sum of every test's score over the runner's max_score.
fn reporter_points(v: &Value) -> (u64, u64) {
    let sum = v["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_u64().unwrap())
        .sum();
    (sum, v["max_score"].as_u64().unwrap())
}

#[test]
fn classroom_round_trips_through_base64_with_the_reporters_totals() {
    let r = synthetic();
    let v = reporter_decode(&formats::classroom_base64(&r));
    assert_eq!(v, formats::classroom(&r));
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], "fail");
    assert_eq!(
        reporter_points(&v),
        (u64::from(r.earned()), u64::from(r.gradable_points()))
    );

    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), r.checks().count());
    for (t, c) in tests.iter().zip(r.checks()) {
        let o = t.as_object().unwrap();
        let keys: Vec<&str> = o.keys().map(String::as_str).collect();
        for k in [
            "name",
            "status",
            "score",
            "message",
            "test_code",
            "filename",
            "line_no",
            "duration",
        ] {
            assert!(keys.contains(&k), "{} lacks {k}", c.id);
        }
        assert_eq!(o.len(), 8, "{keys:?}");
        assert_eq!(t["name"], c.id.as_str());
        assert!(t["score"].is_u64() && t["line_no"].is_u64() && t["duration"].is_u64());
        assert!(t["message"].is_string() && t["test_code"].is_string() && t["filename"].is_string());
        let want = match c.status {
            Status::Pass | Status::Skip => "pass",
            Status::Fail => "fail",
            Status::Broken | Status::NotRun => "error",
        };
        assert_eq!(t["status"], want, "{}", c.id);
        if !c.status.graded() {
            assert_eq!(t["score"], 0);
            let start = if c.status == Status::Skip {
                "Skipped, not graded"
            } else {
                "Could not be graded"
            };
            assert!(t["message"].as_str().unwrap().starts_with(start), "{t}");
        }
        if c.status == Status::Fail {
            let m = t["message"].as_str().unwrap();
            assert!(
                m.starts_with("expected: ") && m.contains("got:") && m.contains("command:"),
                "{m}"
            );
            assert!(m.ends_with(&format!("Hint: {}", c.hint.0)), "{m}");
        }
    }
    // The compact JSON is what gets encoded (one line, no pretty-printing).
    let raw = base64::engine::general_purpose::STANDARD
        .decode(formats::classroom_base64(&r))
        .unwrap();
    assert!(!raw.contains(&b'\n'));
}

#[test]
fn classroom_status_blames_only_failures() {
    let mut r = all(Status::Pass);
    assert_eq!(formats::classroom(&r)["status"], "pass");
    r.exercises[1].checks[2].status = Status::Skip;
    r.exercises[1].checks[2].earned = 0;
    let v = formats::classroom(&r);
    assert_eq!(
        v["status"], "pass",
        "a skipped check is nobody's failure: the reporter fails the step on \"error\""
    );
    assert_eq!(
        reporter_points(&v),
        (u64::from(r.earned()), u64::from(r.gradable_points())),
        "a skipped check is not in the maximum"
    );
    assert!(r.gradable_points() < r.max_points());
    r.exercises[1].checks[3].status = Status::Broken;
    r.exercises[1].checks[3].earned = 0;
    assert_eq!(
        formats::classroom(&r)["status"],
        "error",
        "a broken check never shows as passed"
    );
    assert_eq!(formats::classroom(&all(Status::Broken))["status"], "error");
    assert_eq!(formats::classroom(&all(Status::Fail))["status"], "fail");
}

// ---------------------------------------------------------------------------
// Gradescope
// ---------------------------------------------------------------------------

const VISIBILITY: [&str; 4] = ["hidden", "after_due_date", "after_published", "visible"];

/// The keys and types of gradescope-autograders.readthedocs.io/en/latest/specs/.
fn assert_gradescope_schema(v: &Value) {
    let top = v.as_object().expect("an object");
    let allowed = [
        "score",
        "execution_time",
        "output",
        "output_format",
        "test_output_format",
        "test_name_format",
        "visibility",
        "stdout_visibility",
        "extra_data",
        "tests",
        "leaderboard",
    ];
    for k in top.keys() {
        assert!(allowed.contains(&k.as_str()), "unknown top-level key {k}");
    }
    let tests = v["tests"].as_array().expect("tests is an array");
    // "score: optional, but required if not on each test case".
    assert!(v["score"].is_number() || tests.iter().all(|t| t["score"].is_number()));
    assert!(v["output"].is_string());
    assert!(VISIBILITY.contains(&v["visibility"].as_str().unwrap()));
    assert!(v["extra_data"].is_object());
    let test_keys = [
        "score",
        "max_score",
        "status",
        "name",
        "name_format",
        "number",
        "output",
        "output_format",
        "tags",
        "visibility",
        "extra_data",
    ];
    for t in tests {
        for k in t.as_object().expect("a test is an object").keys() {
            assert!(test_keys.contains(&k.as_str()), "unknown test key {k}");
        }
        assert!(t["score"].is_number() && t["max_score"].is_number(), "{t}");
        assert!(t["score"].as_f64() <= t["max_score"].as_f64(), "{t}");
        assert!(t["name"].is_string() && t["output"].is_string() && t["number"].is_string());
        if let Some(s) = t.get("status") {
            assert!(s == "passed" || s == "failed", "{t}");
        }
        assert!(t["tags"].as_array().unwrap().iter().all(Value::is_string));
        assert!(VISIBILITY.contains(&t["visibility"].as_str().unwrap()));
    }
}

#[test]
fn gradescope_follows_the_spec_and_ungradable_checks_cost_nothing() {
    let r = synthetic();
    let v = formats::gradescope(&r);
    assert_gradescope_schema(&v);
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), r.checks().count());
    let score_sum: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
    let max_sum: u64 = tests.iter().map(|t| t["max_score"].as_u64().unwrap()).sum();
    assert_eq!(v["score"].as_u64(), Some(score_sum));
    assert_eq!(score_sum, u64::from(r.earned()));
    assert_eq!(max_sum, u64::from(r.max_points() - r.ungradable()));
    assert_eq!(v["extra_data"]["max_points"], r.max_points());
    assert_eq!(v["extra_data"]["ungradable_points"], r.ungradable());
    for (t, c) in tests.iter().zip(r.checks()) {
        assert!(t["name"].as_str().unwrap().starts_with(&c.id));
        match c.status {
            Status::Pass => assert_eq!(t["status"], "passed"),
            Status::Fail => {
                assert_eq!(t["status"], "failed");
                assert_eq!(t["score"], 0);
                assert!(t["output"].as_str().unwrap().contains(&c.hint.0));
            }
            _ => {
                assert_eq!(
                    (&t["score"], &t["max_score"]),
                    (&Value::from(0), &Value::from(0)),
                    "{t}"
                );
                if c.status == Status::Skip {
                    assert!(t.get("status").is_none(), "a skip shows as 0/0, never failed: {t}");
                } else {
                    assert_eq!(
                        t["status"], "failed",
                        "a broken check never reads as passed (0/0 would): {t}"
                    );
                    assert!(
                        v["output"].as_str().unwrap().contains(&c.id),
                        "the top-level output names {}",
                        c.id
                    );
                }
                assert!(t["tags"].as_array().unwrap().contains(&Value::from("not-graded")));
                let start = if c.status == Status::Skip {
                    "Skipped, not graded"
                } else {
                    "Could not be graded"
                };
                assert!(t["output"].as_str().unwrap().starts_with(start), "{t}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// JUnit XML
// ---------------------------------------------------------------------------

#[derive(Debug, Default, PartialEq)]
struct Suite {
    name: String,
    attrs: Vec<(String, String)>,
    cases: Vec<Case>,
    properties: Vec<(String, String)>,
}

#[derive(Debug, Default, PartialEq)]
struct Case {
    name: String,
    classname: String,
    /// "failure", "error", "skipped" or "" for a pass.
    outcome: String,
    message: String,
    text: String,
    properties: Vec<(String, String)>,
}

impl Suite {
    fn attr(&self, k: &str) -> usize {
        self.attrs
            .iter()
            .find(|(a, _)| a == k)
            .unwrap_or_else(|| panic!("suite {} has no {k}", self.name))
            .1
            .parse()
            .unwrap()
    }
    fn count(&self, outcome: &str) -> usize {
        self.cases.iter().filter(|c| c.outcome == outcome).count()
    }
}

fn attrs(e: &quick_xml::events::BytesStart) -> Vec<(String, String)> {
    e.attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute");
            (
                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                a.unescape_value().unwrap().into_owned(),
            )
        })
        .collect()
}

fn get(attrs: &[(String, String)], k: &str) -> String {
    attrs
        .iter()
        .find(|(a, _)| a == k)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Parses JUnit XML with a real XML parser, failing on any malformed input.
fn parse_junit(xml: &str) -> (Vec<(String, String)>, Vec<Suite>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let (mut root, mut suites) = (Vec::new(), Vec::<Suite>::new());
    let mut in_case = false;
    let mut in_outcome = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testsuites" => root = attrs(&e),
            Event::Start(e) if e.name().as_ref() == b"testsuite" => {
                let a = attrs(&e);
                suites.push(Suite {
                    name: get(&a, "name"),
                    attrs: a,
                    ..Suite::default()
                });
            }
            ref ev @ (Event::Start(ref e) | Event::Empty(ref e)) if e.name().as_ref() == b"testcase" => {
                let a = attrs(e);
                suites.last_mut().unwrap().cases.push(Case {
                    name: get(&a, "name"),
                    classname: get(&a, "classname"),
                    ..Case::default()
                });
                in_case = matches!(ev, Event::Start(_));
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => in_case = false,
            ref ev @ (Event::Start(ref e) | Event::Empty(ref e))
                if matches!(e.name().as_ref(), b"failure" | b"error" | b"skipped") =>
            {
                assert!(in_case, "outcome outside a testcase");
                let c = suites.last_mut().unwrap().cases.last_mut().unwrap();
                assert!(c.outcome.is_empty(), "two outcomes for {}", c.name);
                c.outcome = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                c.message = get(&attrs(e), "message");
                in_outcome = matches!(ev, Event::Start(_));
            }
            Event::End(e) if matches!(e.name().as_ref(), b"failure" | b"error" | b"skipped") => in_outcome = false,
            Event::Text(t) if in_outcome => {
                let c = suites.last_mut().unwrap().cases.last_mut().unwrap();
                c.text.push_str(&t.decode().unwrap());
            }
            Event::GeneralRef(r) if in_outcome => {
                let c = suites.last_mut().unwrap().cases.last_mut().unwrap();
                let name = r.decode().unwrap();
                let ch = match name.as_ref() {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unknown entity {other}"),
                };
                c.text.push(ch);
            }
            Event::Empty(e) if e.name().as_ref() == b"property" => {
                let a = attrs(&e);
                let s = suites.last_mut().unwrap();
                let p = (get(&a, "name"), get(&a, "value"));
                if in_case {
                    s.cases.last_mut().unwrap().properties.push(p);
                } else {
                    s.properties.push(p);
                }
            }
            _ => {}
        }
    }
    (root, suites)
}

#[test]
fn junit_parses_back_with_the_right_counts() {
    let r = synthetic();
    let xml = formats::junit(&r);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let (root, suites) = parse_junit(&xml);

    assert_eq!(get(&root, "tests"), r.checks().count().to_string());
    assert_eq!(get(&root, "failures"), count(&r, Status::Fail).to_string());
    assert_eq!(get(&root, "errors"), count(&r, Status::Broken).to_string());

    assert_eq!(suites.len(), r.exercises.len());
    let cases: Vec<&Case> = suites.iter().flat_map(|s| &s.cases).collect();
    assert_eq!(cases.len(), r.checks().count());
    let n = |o: &str| cases.iter().filter(|c| c.outcome == o).count();
    assert_eq!(n("failure"), count(&r, Status::Fail));
    assert_eq!(n("error"), count(&r, Status::Broken));
    assert_eq!(n("skipped"), count(&r, Status::Skip) + count(&r, Status::NotRun));
    assert_eq!(n(""), count(&r, Status::Pass));

    for (s, e) in suites.iter().zip(&r.exercises) {
        assert_eq!(s.name, e.id);
        assert_eq!(s.attr("tests"), s.cases.len());
        assert_eq!(s.attr("failures"), s.count("failure"));
        assert_eq!(s.attr("errors"), s.count("error"));
        assert_eq!(s.attr("skipped"), s.count("skipped"));
        assert!(s
            .properties
            .contains(&("points.max".into(), e.max_points().to_string())));
        assert!(s.properties.contains(&("points.earned".into(), e.earned().to_string())));
        for (case, c) in s.cases.iter().zip(&e.checks) {
            assert_eq!(
                (case.name.as_str(), case.classname.as_str()),
                (c.id.as_str(), e.id.as_str())
            );
            assert!(case
                .properties
                .contains(&("points.max".into(), c.max_points.to_string())));
            assert!(case
                .properties
                .contains(&("points.earned".into(), c.earned.to_string())));
            match c.status {
                Status::Fail => {
                    assert_eq!(case.message, c.message.lines().next().unwrap());
                    assert!(case.text.starts_with(&c.message), "{}", case.text);
                    assert!(case.text.ends_with(&format!("Hint: {}", c.hint.0)));
                }
                Status::Broken => assert_eq!(case.message, "binding a host listener: EACCES"),
                Status::Skip | Status::NotRun => assert_eq!(case.message, c.message),
                Status::Pass => assert!(case.message.is_empty()),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// TAP 14
// ---------------------------------------------------------------------------

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
struct Tap {
    plan: usize,
    points: Vec<TestPoint>,
    comments: Vec<String>,
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
fn parse_tap(text: &str) -> Tap {
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
        tap.comments.iter().any(|c| c == "total: 6/11 points, 6 not graded"),
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

// ---------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------

#[test]
fn markdown_has_the_total_a_row_per_exercise_and_hints_in_the_language() {
    let r = synthetic();
    let en = formats::markdown(&r, Lang::En);
    assert!(en.starts_with("## Grade: 6/11 points\n"), "{en}");
    let rows: Vec<&str> = en
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Exercise"))
        .collect();
    assert_eq!(rows.len(), r.exercises.len());
    for (row, e) in rows.iter().zip(&r.exercises) {
        assert!(
            row.contains(&format!("`{}`", e.id))
                && row.contains(&format!("{}/{}", e.earned(), e.max_points() - e.ungradable())),
            "{row}"
        );
        assert_eq!(row.matches(" | ").count(), 2, "three cells: {row}");
    }
    for c in r.checks().filter(|c| c.status == Status::Fail) {
        assert!(en.contains(&format!("#### `{}`", c.id)));
        assert!(en.contains(&c.hint.0) && !en.contains(&c.hint.1));
        // expected/got inside a code block whose fence the message cannot close.
        let at = en.find(c.message.lines().next().unwrap()).unwrap();
        assert!(en[..at].ends_with("```text\n"), "{en}");
    }
    for c in r.checks().filter(|c| !c.status.graded()) {
        assert!(
            en.contains(&format!("- `{}`", c.id)),
            "{} not listed as not graded",
            c.id
        );
    }

    let ko = formats::markdown(&r, Lang::Ko);
    assert!(ko.starts_with("## 채점 결과: 6/11점\n"), "{ko}");
    for c in r.checks().filter(|c| c.status == Status::Fail) {
        assert!(ko.contains(&c.hint.1) && !ko.contains(&c.hint.0));
    }
    assert!(ko.contains("PID와 UTS 네임스페이스"));
}

// ---------------------------------------------------------------------------
// Determinism and snapshots
// ---------------------------------------------------------------------------

#[test]
fn every_format_is_deterministic() {
    let (a, b) = (synthetic(), synthetic());
    assert_eq!(formats::classroom_base64(&a), formats::classroom_base64(&b));
    assert_eq!(formats::gradescope(&a), formats::gradescope(&b));
    assert_eq!(formats::junit(&a), formats::junit(&b));
    assert_eq!(formats::tap(&a), formats::tap(&b));
    assert_eq!(formats::markdown(&a, Lang::Ko), formats::markdown(&b, Lang::Ko));
}

fn snapshot(name: &str, text: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    s.set_prepend_module_to_snapshot(false);
    // Durations: Classroom's milliseconds, JUnit's seconds.
    s.add_filter(r#""duration": \d+"#, r#""duration": "[ms]""#);
    s.add_filter(r#"time="\d+(\.\d+)?""#, r#"time="[s]""#);
    s.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn snapshots_of_every_format() {
    let r = synthetic();
    snapshot(
        "formats_classroom",
        &serde_json::to_string_pretty(&formats::classroom(&r)).unwrap(),
    );
    snapshot(
        "formats_gradescope",
        &serde_json::to_string_pretty(&formats::gradescope(&r)).unwrap(),
    );
    snapshot("formats_junit", &formats::junit(&r));
    snapshot("formats_tap", &formats::tap(&r));
    snapshot("formats_markdown_en", &formats::markdown(&r, Lang::En));
    snapshot("formats_markdown_ko", &formats::markdown(&r, Lang::Ko));
}

/// One grading, the same points everywhere: what was earned over what could be
/// graded (a skipped, broken or not-run check costs nothing and is not in the
/// maximum), read back from each format the way its consumer reads it.
#[test]
fn every_format_gives_the_same_points() {
    let r = synthetic();
    let want = (u64::from(r.earned()), u64::from(r.gradable_points()));
    assert_eq!(want, (6, 11), "the synthetic result: 17 points, 6 of them not gradable");
    assert_eq!(
        reporter_points(&formats::classroom(&r)),
        want,
        "Classroom, as the reporter sums it"
    );
    let g = formats::gradescope(&r);
    let tests = g["tests"].as_array().unwrap();
    let sum = |k: &str| tests.iter().map(|t| t[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (sum("score"), sum("max_score")),
        want,
        "Gradescope, as it totals the tests"
    );
    assert_eq!(g["score"].as_u64(), Some(want.0));
    let (_, suites) = parse_junit(&formats::junit(&r));
    let prop = |s: &Suite, k: &str| {
        s.properties
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.parse::<u64>().unwrap())
            .unwrap()
    };
    let junit = suites.iter().fold((0, 0), |(e, m), s| {
        (
            e + prop(s, "points.earned"),
            m + prop(s, "points.max") - prop(s, "points.ungradable"),
        )
    });
    assert_eq!(junit, want, "JUnit, from the suites' properties");
    let tap = parse_tap(&formats::tap(&r));
    assert!(
        tap.comments
            .iter()
            .any(|c| c.starts_with(&format!("total: {}/{} points", want.0, want.1))),
        "TAP: {:?}",
        tap.comments
    );
    for lang in [Lang::En, Lang::Ko] {
        let md = formats::markdown(&r, lang);
        assert!(
            md.contains(&format!("{}/{}", want.0, want.1)),
            "Markdown ({lang:?}):\n{md}"
        );
        let human = exercises::human::render(&r, lang, false);
        assert!(
            human.contains(&format!(": {}/{}", want.0, want.1)),
            "the report ({lang:?}):\n{human}"
        );
    }
}

/// Classroom 50's result.json: exactly the keys of `classroom50/result/v1` (the
/// runner stamps owner and assignment type), the submission as the runner gave it,
/// the sums of the tests; skipped and broken checks 0/0, a skip passed, a broken
/// check not, each saying why in its name.
#[test]
fn classroom50_has_the_schema_and_the_same_points() {
    let r = synthetic();
    let s = formats::Submission {
        classroom: "cs-lab".into(),
        assignment: "runtime".into(),
        submission: "submit/2026-12-05T10-00-00Z-abc".into(),
        commit: "https://example.invalid/commit/abc".into(),
        release: "https://example.invalid/release".into(),
        review: String::new(),
        datetime: "2026-12-05T10:00:00Z".into(),
    };
    let v = formats::classroom50(&r, &s);
    let keys: std::collections::BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let want: std::collections::BTreeSet<&str> = [
        "schema",
        "classroom",
        "assignment",
        "submission",
        "commit",
        "release",
        "review",
        "datetime",
        "score",
        "max-score",
        "tests",
    ]
    .into();
    assert_eq!(keys, want);
    assert_eq!(v["schema"], "classroom50/result/v1");
    assert_eq!(v["review"], s.commit.as_str(), "no REVIEW_URL: the commit");
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), r.checks().count());
    let sum = |k: &str| tests.iter().map(|t| t[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (v["score"].as_u64().unwrap(), v["max-score"].as_u64().unwrap()),
        (sum("score"), sum("max-score"))
    );
    assert_eq!(
        (sum("score"), sum("max-score")),
        (u64::from(r.earned()), u64::from(r.gradable_points()))
    );
    for (t, c) in tests.iter().zip(r.checks()) {
        let k: std::collections::BTreeSet<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(k, ["max-score", "passed", "score", "test-name"].into());
        assert_eq!(t["passed"], matches!(c.status, Status::Pass | Status::Skip), "{t}");
        let name = t["test-name"].as_str().unwrap();
        if c.status.graded() {
            assert_eq!(name, c.id);
        } else {
            assert!(name.starts_with(&c.id) && name.contains("not graded:"), "{name}");
            assert_eq!(t["max-score"], 0);
        }
    }
}

/// GitHub Actions annotations: one per failing check (error) and per check the host
/// kept from being graded (warning), none for passes and skips; every line one
/// workflow command whose data cannot break out of it.
#[test]
fn github_annotations_name_failures_and_host_problems_only() {
    let r = synthetic();
    let text = formats::github_annotations(&r);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("::error title=")).count(),
        count(&r, Status::Fail)
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("::warning title=")).count(),
        count(&r, Status::Broken) + count(&r, Status::NotRun)
    );
    assert_eq!(
        lines.len(),
        count(&r, Status::Fail) + count(&r, Status::Broken) + count(&r, Status::NotRun)
    );
    let uts = lines
        .iter()
        .find(|l| l.contains("namespaces.uts.hostname-set"))
        .unwrap();
    assert!(
        uts.starts_with("::error title=namespaces.uts.hostname-set (3 points)::expected: hostname"),
        "{uts}"
    );
    assert!(
        uts.contains("%0A") && uts.ends_with("Hint: English hint for namespaces.uts.hostname-set."),
        "{uts}"
    );
    assert!(!text.contains("namespaces.pid.init-is-pid-1") && !text.contains("offset-moves-clocks"));
}

/// Every result says where it was graded (suite and contract versions, kernel,
/// cgroup version and parent), so that an instructor can tell environments apart.
/// (Classroom 50's schema admits no other key: its runner records the environment.)
#[test]
fn every_result_names_its_environment() {
    let r = synthetic();
    let env = &r.environment;
    for (k, v) in env.pairs() {
        assert_eq!(formats::classroom(&r)["environment"][k], v, "Classroom {k}");
        assert_eq!(
            formats::gradescope(&r)["extra_data"]["environment"][k],
            v,
            "Gradescope {k}"
        );
    }
    let (_, suites) = parse_junit(&formats::junit(&r));
    for s in &suites {
        for (k, v) in env.pairs() {
            assert!(
                s.properties.contains(&(k.to_string(), v.to_string())),
                "JUnit suite {} lacks {k}",
                s.name
            );
        }
    }
    let tap = parse_tap(&formats::tap(&r));
    assert!(
        tap.comments
            .iter()
            .any(|c| c == &format!("environment: {}", env.line())),
        "{:?}",
        tap.comments
    );
    assert!(formats::markdown(&r, Lang::En).contains(&env.line()));
    // The Korean summary keeps the figures and leaves the parent's English description to the result files.
    assert!(formats::markdown(&r, Lang::Ko).contains(&env.line_ko()));
    assert!(env
        .line()
        .starts_with("lab 0.1.0, contract 1, kernel 6.18.0-test, cgroup v2; cgroup parent: "));
    assert_eq!(
        exercises::contract_version(),
        "1.3",
        "the first line of exercises/CONTRACT.md"
    );
}

/// Size caps: a message is cut saying how much went, at a character boundary, and no
/// result grows past what its service takes however long the runtime's output was.
#[test]
fn long_messages_are_cut_saying_so() {
    assert_eq!(formats::capped("short", 100), "short");
    let long = "é".repeat(5000); // 10 000 bytes, two per character
    let cut = formats::capped(&long, formats::MESSAGE_CAP);
    assert!(cut.len() <= formats::MESSAGE_CAP, "{}", cut.len());
    assert!(cut.ends_with(" bytes cut)"), "{}", &cut[cut.len() - 40..]);
    let kept = cut.split('…').next().unwrap();
    let said: usize = cut
        .rsplit('(')
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(kept.len() + said, long.len(), "the count is what was cut");
    // A whole grading whose every check failed with 1 MiB of output (as score() caps
    // them): the Classroom output and the step summary stay under GitHub's 1 MiB.
    let mut r = all(Status::Fail);
    for e in &mut r.exercises {
        for c in &mut e.checks {
            c.message = formats::capped(&"x".repeat(1 << 20), formats::MESSAGE_CAP);
        }
    }
    assert!(formats::classroom_base64(&r).len() < 1 << 20);
    assert!(formats::markdown(&r, Lang::En).len() <= formats::SUMMARY_CAP);
    let huge = "y".repeat(3 << 20);
    assert!(formats::capped(&huge, formats::SUMMARY_CAP).len() <= formats::SUMMARY_CAP);
}

// ---------------------------------------------------------------------------
// --explain: the pictures in the report formats
// ---------------------------------------------------------------------------

fn explained(partial: bool, lang: Lang) -> GradeResult {
    let mut r = synthetic();
    r.explained = Some(exercises::Explained {
        pictures: Ok(checks::explain::sample::sample(partial)),
        lang,
    });
    r
}

#[test]
fn pictures_reach_markdown_html_and_gradescope() {
    let r = explained(false, Lang::En);
    let md = formats::markdown(&r, Lang::En);
    assert_eq!(checks::explain::draw::mermaid_blocks(&md).len(), 3, "{md}");
    assert!(md.contains("### 1. Namespaces: how does a container get isolated?"));
    // Without --explain, nothing of it.
    assert!(checks::explain::draw::mermaid_blocks(&formats::markdown(&synthetic(), Lang::En)).is_empty());

    let g = formats::gradescope(&r);
    assert_gradescope_schema(&g);
    assert_eq!(g["output_format"], "md");
    let out = g["output"].as_str().unwrap();
    assert!(out.starts_with("Points: "), "{out}");
    assert!(
        out.contains("```\n  namespace"),
        "the text pictures in code blocks: {out}"
    );
    assert!(!out.contains("```mermaid"), "Gradescope renders no Mermaid");
    assert!(formats::gradescope(&synthetic()).get("output_format").is_none());

    let html = formats::html(&r, Lang::En);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<figure class=\"picture\"").count(), 3);
    assert!(html.contains("<table id=\"exercises\">"));
    assert!(!html.contains("<script") && !html.contains("<link"), "self-contained");
    // A runtime whose pictures could not be drawn says so, in every form.
    let mut failed = synthetic();
    failed.explained = Some(exercises::Explained {
        pictures: Err(checks::t!("no cgroup parent", "cgroup 부모 없음")),
        lang: Lang::Ko,
    });
    assert!(formats::markdown(&failed, Lang::Ko).contains("컨테이너 그림을 그리지 못했습니다: cgroup 부모 없음"));
    assert!(formats::html(&failed, Lang::Ko).contains("컨테이너 그림을 그리지 못했습니다"));
    let out = formats::gradescope(&failed)["output"].as_str().unwrap().to_string();
    assert!(out.contains("cgroup 부모 없음"), "{out}");
}

#[test]
fn snapshots_of_the_explained_formats() {
    let r = explained(true, Lang::En);
    snapshot(
        "formats_gradescope_explained",
        &serde_json::to_string_pretty(&formats::gradescope(&r)).unwrap(),
    );
    snapshot(
        "formats_html_explained",
        &formats::html(&explained(false, Lang::Ko), Lang::Ko),
    );
}
