//! The machine-readable outputs of the grader, on a synthetic result with two
//! exercises and a check in every status. Each format is read back the way its
//! consumer reads it (base64 + JSON for GitHub Classroom, the results.json spec for
//! Gradescope, an XML parser for JUnit, a TAP 14 parser for TAP) and snapshotted.

// The read-back tests, a module a format, are in tests/formats/ (the root of a test
// target finds its modules beside itself, hence the paths). The snapshots are taken
// here: insta records this file as their source.
#[path = "formats/annotations.rs"]
mod annotations;
#[path = "formats/classroom.rs"]
mod classroom;
#[path = "formats/every_format.rs"]
mod every_format;
#[path = "formats/gradescope.rs"]
mod gradescope;
#[path = "formats/junit.rs"]
mod junit;
#[path = "formats/markdown.rs"]
mod markdown;
#[path = "formats/synthetic.rs"]
mod synthetic;
#[path = "formats/tap.rs"]
mod tap;

use exercises::formats;
use exercises::{GradeResult, Lang};

use crate::gradescope::assert_gradescope_schema;
use crate::synthetic::synthetic;

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
