//! The Korean texts follow exercises/GLOSSARY.ko.md: no line with Korean in it
//! (labs, READMEs, the contract, hints, the manifest, the starters and the code's
//! strings and comments) uses a variant the glossary rejects. No root, no run:
//! a read of the repository's texts (well under a second).

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The rejected variants: every backticked string in the third column of the
/// glossary's term table, with the term to use instead.
fn rejected(glossary: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_terms = false;
    for line in glossary.lines() {
        if line.starts_with("## ") {
            in_terms = line.trim() == "## 용어";
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | English | 쓰는 말 | 쓰지 않는 말 |: cells[0] and cells[4] are the empty edges.
        if !in_terms || cells.len() != 5 || cells[1] == "English" || cells[1].starts_with("---") {
            continue;
        }
        for variant in cells[3].split('`').skip(1).step_by(2) {
            out.push((variant.to_string(), cells[2].to_string()));
        }
    }
    out
}

/// The files whose Korean lines the glossary governs.
fn korean_texts(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [
        "README.md",
        "exercises/CONTRACT.ko.md",
        "exercises/hints.toml",
        "exercises/exercises.toml",
        "exercises/labs/README.md",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    let mut walk = vec![
        root.join("exercises/labs"),
        root.join("exercises/starters"),
        root.join("exercises/src"),
        root.join("checks/src"),
        root.join("harness/src"),
        root.join("harness/labkit/src"),
    ];
    while let Some(dir) = walk.pop() {
        for e in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
        {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if name != "target" {
                    walk.push(p);
                }
            } else if name.ends_with(".ko.md") || name.ends_with(".rs") || name.ends_with(".sh") {
                files.push(p);
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

fn is_korean(line: &str) -> bool {
    line.chars().any(|c| ('가'..='힣').contains(&c))
}

#[test]
fn glossary_lists_rejected_variants() {
    let g = std::fs::read_to_string(repo().join("exercises/GLOSSARY.ko.md")).unwrap();
    let r = rejected(&g);
    for (variant, _) in [("과제", ""), ("채점기", ""), ("대조군", ""), ("아이노드", "")] {
        assert!(r.iter().any(|(v, _)| v == variant), "{variant} not rejected: {r:?}");
    }
}

#[test]
fn korean_texts_use_the_glossary_terms() {
    let root = repo();
    let g = std::fs::read_to_string(root.join("exercises/GLOSSARY.ko.md")).unwrap();
    let rejected = rejected(&g);
    let mut found = Vec::new();
    for f in korean_texts(&root) {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for (n, line) in text.lines().enumerate().filter(|(_, l)| is_korean(l)) {
            for (variant, term) in &rejected {
                if line.contains(variant.as_str()) {
                    found.push(format!(
                        "{}:{}: `{variant}` (the glossary's term: {term})",
                        f.strip_prefix(&root).unwrap().display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} Korean lines use a variant exercises/GLOSSARY.ko.md rejects:\n{}",
        found.len(),
        found.join("\n")
    );
}
