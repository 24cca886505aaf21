//! JUnit XML, read back with an XML parser.

use exercises::formats;
use exercises::Status;
use quick_xml::events::Event;

use crate::synthetic::{count, synthetic};

#[derive(Debug, Default, PartialEq)]
pub(crate) struct Suite {
    pub(crate) name: String,
    attrs: Vec<(String, String)>,
    cases: Vec<Case>,
    pub(crate) properties: Vec<(String, String)>,
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
pub(crate) fn parse_junit(xml: &str) -> (Vec<(String, String)>, Vec<Suite>) {
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
