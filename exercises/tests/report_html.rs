//! `grade --explain`'s report as a reader meets it: `report.html` opened in a real
//! headless browser (Debian's Chromium, driven by playwright-core) with no console
//! error, no request beyond the page and the three pictures drawn; the Markdown's
//! Mermaid blocks parsed and rendered by Mermaid's own code. Controls: a page with a
//! console error and an outside request, and a broken Mermaid block, must be caught.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `node check.mjs ARGS`: what the browser met, as JSON.
fn browse(args: &[&Path]) -> Value {
    let dir = repo().join("exercises/tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir() && dir.join("node_modules/mermaid").is_dir(),
        "the browser test's packages are not installed: run `make browser-deps` (npm ci in {})",
        dir.display()
    );
    let out = Command::new("node")
        .arg(dir.join("check.mjs"))
        .args(args)
        .output()
        .expect("node (Debian's nodejs) runs the browser test: make browser-deps");
    assert!(
        out.status.success(),
        "check.mjs failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
#[ignore = "needs root, Debian's chromium and the browser test's packages (make browser-deps)"]
#[serial_test::serial(suite)]
fn explained_report_opens_clean_in_a_browser_with_three_pictures() {
    let t = tempfile::tempdir().unwrap();
    let f = |n: &str| t.path().join(n);
    let bin = checks::runtime::bin_dir();
    // The pictures do not depend on which exercises were graded: one keeps it short.
    let out = Command::new(bin.join("grade"))
        .env("LAB_RUNTIME", "reference")
        .args(["--exercise", "ns-uts", "--explain", "--brief"])
        .arg("--html")
        .arg(f("report.html"))
        .arg("--markdown")
        .arg(f("report.md"))
        .arg("--gradescope")
        .arg(f("results.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for q in [
        "== 1. Namespaces",
        "== 2. Cgroups",
        "== 3. Layers",
        "PID 1 inside is host PID",
    ] {
        assert!(stdout.contains(q), "{q} missing from the report:\n{stdout}");
    }
    let gradescope: Value = serde_json::from_slice(&std::fs::read(f("results.json")).unwrap()).unwrap();
    assert_eq!(gradescope["output_format"], "md");
    // A runtime with only the PID and UTS exercises done: greyed pictures.
    let partial = repo().join("checks/tests/fixtures/partial-runtime");
    let out = Command::new(bin.join("labcheck"))
        .env("LAB_RUNTIME", &partial)
        .arg("--explain")
        .arg("--html")
        .arg(f("partial.html"))
        .arg("--markdown")
        .arg(f("partial.md"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    for html in ["report.html", "partial.html"] {
        let v = browse(&[&f(html), &f("report.md"), &f("partial.md")]);
        assert_eq!(v["console_errors"], Value::Array(vec![]), "{html}: {v}");
        assert_eq!(v["page_errors"], Value::Array(vec![]), "{html}: {v}");
        assert_eq!(v["requests"], Value::Array(vec![]), "{html} is not self-contained: {v}");
        let pictures = v["pictures"].as_array().unwrap();
        let names: Vec<&str> = pictures.iter().map(|p| p["picture"].as_str().unwrap()).collect();
        assert_eq!(names, ["namespaces", "cgroups", "layers"], "{v}");
        for p in pictures {
            assert!(
                p["width"].as_u64() > Some(300) && p["height"].as_u64() > Some(100),
                "{html}: {p}"
            );
            assert!(p["texts"].as_u64() >= Some(5), "{html}: {p}");
            assert!(!p["caption"].as_str().unwrap().is_empty(), "{html}: {p}");
        }
        let grey: u64 = pictures.iter().map(|p| p["grey"].as_u64().unwrap()).sum();
        if html == "report.html" {
            assert_eq!(grey, 0, "the reference has nothing greyed: {v}");
        } else {
            assert!(grey > 0, "the partial runtime's missing parts are greyed: {v}");
        }
        let mermaid = v["mermaid"].as_array().unwrap();
        assert_eq!(mermaid.len(), 6, "three blocks in each Markdown: {v}");
        for m in mermaid {
            assert_eq!(m["ok"], true, "Mermaid refused a block: {m}");
            assert!(m["svg_bytes"].as_u64() > Some(1000), "{m}");
        }
    }

    // Controls: what the test must catch, it catches.
    std::fs::write(
        f("bad.html"),
        "<!DOCTYPE html><html><body><figure class=\"picture\" data-picture=\"x\"></figure>\
         <img src=\"http://127.0.0.1:9/x.png\"><script>console.error('broken')</script></body></html>",
    )
    .unwrap();
    std::fs::write(f("broken.md"), "```mermaid\nflowchart LR\n  a[\"unclosed --> b\n```\n").unwrap();
    let v = browse(&[&f("bad.html"), &f("broken.md")]);
    assert!(
        v["console_errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("broken")),
        "{v}"
    );
    assert!(!v["requests"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["pictures"][0]["svg_id"], Value::Null, "{v}");
    assert_eq!(v["mermaid"][0]["ok"], false, "a broken block must not parse: {v}");
}
