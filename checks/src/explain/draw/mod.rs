//! The three pictures in four forms (a terminal's plain text, Markdown with Mermaid
//! blocks, a self-contained HTML page with inline SVG, and the text form inside
//! Markdown for graders that render no Mermaid), each followed by its answer.
//!
//! Every figure in a picture or an answer is one the observation holds: nothing here
//! measures, so a snapshot of a fixed [`Explanation`](super::Explanation) pins every form.
//!
//! One file per form: `text.rs` (the terminal), `markdown.rs` (Mermaid blocks, and
//! the terminal pictures in code blocks for graders), `html.rs` (inline SVG); the
//! answers, the same in every form, in `answers.rs`; what they share here.

mod answers;
mod html;
mod markdown;
mod text;

pub use answers::{answer_cgroups, answer_layers, answer_namespaces};
pub use html::{esc, html_page, html_section, svg_cgroups, svg_layers, svg_namespaces, HTML_STYLE};
pub use markdown::{
    markdown, markdown_namespace_table, markdown_plain, mermaid_blocks, mermaid_cgroups, mermaid_layers,
    mermaid_namespaces,
};
pub use text::{text, text_cgroups, text_layers, text_namespaces, text_wrapped};

use super::{Missing, Namespaces, Usage};
use crate::text::Text;

/// The three questions the lecture ends with.
pub fn question(n: usize) -> Text {
    match n {
        1 => crate::t!(
            "1. Namespaces: how does a container get isolated?",
            "1. 네임스페이스: 컨테이너는 어떻게 격리되는가?"
        ),
        2 => crate::t!(
            "2. Cgroups: how is its resource use limited?",
            "2. cgroup: 자원 사용은 어떻게 제한되는가?"
        ),
        _ => crate::t!(
            "3. Layers: why is an image space-efficient?",
            "3. 레이어: 이미지는 왜 공간 효율적인가?"
        ),
    }
}

/// "not implemented yet: see exercise X".
pub fn not_yet(m: &Missing) -> Text {
    crate::t!(
        "not implemented yet: see exercise {} ({})",
        "아직 구현되지 않음: 실습 {} 참고({})",
        m.exercise,
        m.why
    )
}

fn not_yet_short(exercise: &str) -> Text {
    crate::t!(
        "not implemented yet: see exercise {exercise}",
        "아직 구현되지 않음: 실습 {exercise}"
    )
}

/// 1536 → "1.5 KiB".
pub fn size(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else if v >= 10.0 || (v - v.round()).abs() < 0.05 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn figure(u: &Usage, v: u64) -> String {
    if u.bytes {
        size(v)
    } else {
        v.to_string()
    }
}

/// `[████░░░░░░░░░░░░░░░░] 9 MiB of 64 MiB (14%)`
pub fn bar(u: &Usage, width: usize) -> String {
    match u.limit.filter(|l| *l > 0) {
        Some(l) => {
            let frac = (u.current as f64 / l as f64).min(1.0);
            let full = (frac * width as f64).round() as usize;
            format!(
                "[{}{}] {} / {} ({:.0}%)",
                "█".repeat(full),
                "░".repeat(width - full),
                figure(u, u.current),
                figure(u, l),
                frac * 100.0
            )
        }
        None => format!("{} (no limit)", figure(u, u.current)),
    }
}

fn own_pid(n: &Namespaces) -> bool {
    n.kinds.iter().any(|k| k.name == "pid" && k.own())
}

fn ino(v: Option<u64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}

/// A limit's file content, with the size spelt out for a byte count.
fn limit_value(l: &super::Limit) -> String {
    let v = l.read.as_deref().unwrap_or("?");
    match v.parse::<u64>() {
        Ok(n) if l.file.starts_with("memory.") && (1024..1 << 60).contains(&n) => format!("{v} ({})", size(n)),
        _ => v.to_string(),
    }
}
