//! The fenced command blocks of the labs and READMEs, as the lab-blocks and
//! lab-facts tests read them. The marking rule is documented at the top of
//! exercises/labs/README.md: a block's info string is `sh` (run by the test),
//! `sh illustration` (shown, never run), or `sh cgroup-v1` / `sh cgroup-v2`
//! (run only on a host of that cgroup version).

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};

/// The info-string words after the language that the rule knows.
pub const TAGS: &[&str] = &["illustration", "cgroup-v1", "cgroup-v2"];
/// Languages whose blocks are commands (everything else is output or data).
pub const SHELLS: &[&str] = &["sh", "bash", "shell", "console"];

#[derive(Debug, Clone)]
pub struct Block {
    /// The file, relative to the repository root, and the line of the opening fence.
    pub file: String,
    pub line: usize,
    pub lang: String,
    pub tags: Vec<String>,
    pub code: String,
}

impl Block {
    pub fn is_commands(&self) -> bool {
        SHELLS.contains(&self.lang.as_str())
    }
    pub fn has(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
    pub fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn read(rel: &str) -> String {
    let p = repo().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Every fenced block of `text` (fences at the start of a line, ``` only).
pub fn blocks(file: &str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let Some(info) = line.strip_prefix("```") else {
            if let Some(b) = open.as_mut() {
                b.code.push_str(line);
                b.code.push('\n');
            }
            continue;
        };
        match open.take() {
            Some(b) => out.push(b),
            None => {
                let mut words = info.split_whitespace().map(str::to_owned);
                open = Some(Block {
                    file: file.to_owned(),
                    line: i + 1,
                    lang: words.next().unwrap_or_default(),
                    tags: words.collect(),
                    code: String::new(),
                });
            }
        }
    }
    assert!(open.is_none(), "{file}: a fenced block is never closed");
    out
}

/// The exercise ids that have a lab, in file-name order.
pub fn lab_ids() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(repo().join("exercises/labs"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let id = name.strip_suffix(".md")?;
            (!id.ends_with(".ko") && id != "README").then(|| id.to_owned())
        })
        .collect();
    ids.sort();
    ids
}

/// The English and the Korean half of a bilingual README (split at "## 한국어").
pub fn halves(text: &str) -> (&str, &str) {
    text.split_once("\n## 한국어").unwrap_or((text, ""))
}

/// A block's commands without comments and blank lines: what must be the same in
/// both languages (comments are translated, commands are not).
pub fn commands(code: &str) -> Vec<String> {
    code.lines()
        .map(|l| strip_comment(l).trim_end().to_owned())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// `l` up to a `#` that starts a comment: at the start or after a blank, and
/// followed by a blank or the end. Comments inside a multi-line `sh -c '...'`
/// are translated too, so quotes are not followed (no command of a lab has
/// a ` # ` of its own).
fn strip_comment(l: &str) -> &str {
    let b = l.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let after_blank = i == 0 || b[i - 1].is_ascii_whitespace();
        let before_blank = b.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
        if c == b'#' && after_blank && before_blank {
            return &l[..i];
        }
    }
    l
}
