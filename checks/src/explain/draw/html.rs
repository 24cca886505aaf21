//! The pictures as inline SVG in a self-contained HTML page.

use std::fmt::Write as _;

use super::{
    answer_cgroups, answer_layers, answer_namespaces, figure, ino, limit_value, not_yet, not_yet_short, own_pid,
    question, size,
};
use crate::explain::{Cgroups, Explanation, Layers, Namespaces};
use crate::text::Lang;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Width of one character of the pictures' 12 px monospace font, in pixels (a
/// little more than most fonts' 0.6 em, so that a line never leaves its box).
const CHAR_PX: f64 = 7.4;

/// `s` cut to what `px` pixels hold, with an ellipsis; a path keeps its end (its
/// last part names the thing), a sentence its beginning. Korean takes two columns.
fn fit(s: &str, px: u32) -> String {
    let max = ((px as f64) / CHAR_PX) as usize;
    let cols = |c: char| if c.is_ascii() { 1 } else { 2 };
    let n: usize = s.chars().map(cols).sum();
    if n <= max || max < 2 {
        return s.to_string();
    }
    let path_tail = s
        .split_whitespace()
        .last()
        .is_some_and(|w| w.starts_with('/') && w.len() > max / 2);
    let mut kept = Vec::new();
    let mut used = 1;
    let chars: Vec<char> = if path_tail {
        s.chars().rev().collect()
    } else {
        s.chars().collect()
    };
    for c in chars {
        if used + cols(c) > max {
            break;
        }
        used += cols(c);
        kept.push(c);
    }
    if path_tail {
        format!("…{}", kept.into_iter().rev().collect::<String>())
    } else {
        format!("{}…", kept.into_iter().collect::<String>())
    }
}

/// A box with lines of text, in an SVG; its height.
fn svg_box(s: &mut String, x: u32, y: u32, w: u32, lines: &[String], class: &str) -> u32 {
    let h = 10 + 16 * lines.len() as u32;
    let _ = write!(
        s,
        "<g class=\"{class}\"><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"6\"/>"
    );
    for (i, l) in lines.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            x + 8,
            y + 18 + 16 * i as u32,
            esc(&fit(l, w.saturating_sub(16)))
        );
    }
    let _ = write!(s, "</g>");
    h
}

fn svg_arrow(s: &mut String, x1: u32, y1: u32, x2: u32, y2: u32) {
    let _ = write!(
        s,
        "<line class=\"arrow\" x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" marker-end=\"url(#arrowhead)\"/>"
    );
}

/// The pictures' width in pixels.
const SVG_W: u32 = 780;

/// A whole SVG: its body drawn down to `bottom`.
fn svg_doc(id: &str, title: &str, bottom: u32, body: &str) -> String {
    let h = bottom + 10;
    format!(
        "<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {SVG_W} {h}\" width=\"{SVG_W}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title><defs><marker id=\"{id}-arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\"/></marker></defs>{}</svg>",
        body.replace("url(#arrowhead)", &format!("url(#{id}-arrow)")),
        t = esc(title)
    )
}

/// One line of text, cut to `px`.
fn svg_text(s: &mut String, x: u32, y: u32, px: u32, text: &str, class: &str) {
    let _ = write!(
        s,
        "<text class=\"{class}\" x=\"{x}\" y=\"{y}\">{}</text>",
        // Backticks mark code in the answers; a drawing has no code font to switch to.
        esc(&fit(&text.replace('`', ""), px))
    );
}

/// Picture 1 as SVG: the host's process tree beside the container's, then the
/// namespace table.
pub fn svg_namespaces(n: &Namespaces, lang: Lang) -> String {
    let title = question(1);
    let mut s = String::new();
    if let Some(m) = &n.missing {
        let h = svg_box(&mut s, 20, 10, SVG_W - 40, &[not_yet(m).get(lang).to_string()], "grey");
        return svg_doc("picture-namespaces", title.get(lang), 10 + h, &s);
    }
    let own = own_pid(n);
    let right = 420;
    svg_text(
        &mut s,
        20,
        24,
        360,
        crate::t!("host: process tree", "호스트: 프로세스 트리").get(lang),
        "head",
    );
    svg_text(
        &mut s,
        right,
        24,
        340,
        crate::t!("inside the container", "컨테이너 안").get(lang),
        "head",
    );
    let mut y = 36;
    for p in &n.tree {
        let x = 20 + 24 * p.depth as u32;
        let w = 360u32.saturating_sub(24 * p.depth as u32).max(120);
        svg_box(&mut s, x, y, w, &[format!("{} · PID {}", p.name, p.host_pid)], "proc");
        if let Some(inside) = p.inside_pid {
            let class = if own { "own" } else { "grey" };
            let label = if own {
                format!("PID {inside}")
            } else {
                format!("PID {inside} · {}", not_yet_short("ns-pid").get(lang))
            };
            svg_box(&mut s, right, y, SVG_W - 20 - right, &[label], class);
            svg_arrow(&mut s, x + w, y + 13, right - 2, y + 13);
        }
        y += 36;
    }
    y += 16;
    svg_text(
        &mut s,
        20,
        y,
        SVG_W - 40,
        crate::t!(
            "namespace: host inode → container inode",
            "네임스페이스: 호스트 inode → 컨테이너 inode"
        )
        .get(lang),
        "head",
    );
    y += 10;
    for k in &n.kinds {
        let (class, what) = if k.own() {
            ("own", crate::t!("own", "자기 것").get(lang).to_string())
        } else {
            (
                "grey",
                format!(
                    "{} · {}",
                    crate::t!("shared", "공유").get(lang),
                    not_yet_short(&k.exercise).get(lang)
                ),
            )
        };
        let _ = write!(
            s,
            "<g class=\"{class}\"><rect x=\"20\" y=\"{y}\" width=\"{}\" height=\"22\" rx=\"4\"/><text x=\"28\" y=\"{}\">{}</text><text x=\"100\" y=\"{}\">{} → {}</text><text x=\"300\" y=\"{}\">{}</text></g>",
            SVG_W - 40,
            y + 16,
            esc(&k.name),
            y + 16,
            ino(k.host),
            ino(k.inside),
            y + 16,
            esc(&fit(&what, SVG_W - 330))
        );
        y += 26;
    }
    let host = crate::t!(
        "host name: `{}` inside, `{}` on the host",
        "호스트 이름: 안에서 `{}`, 호스트에서 `{}`",
        n.hostname.as_deref().unwrap_or("?"),
        n.host_hostname
    );
    let uts_own = n.kinds.iter().any(|k| k.name == "uts" && k.own());
    y += 14;
    svg_text(
        &mut s,
        20,
        y,
        SVG_W - 40,
        host.get(lang),
        if uts_own { "" } else { "grey-text" },
    );
    svg_doc("picture-namespaces", title.get(lang), y + 4, &s)
}

/// Picture 2 as SVG: the parent, and A and B side by side with their bars.
pub fn svg_cgroups(c: &Cgroups, lang: Lang) -> String {
    let title = question(2);
    let mut s = String::new();
    let col = (SVG_W - 60) / 2;
    svg_box(
        &mut s,
        SVG_W / 2 - 170,
        10,
        340,
        &[format!("{} · cgroup v{}", c.parent, c.version)],
        "proc",
    );
    let mut bottom = 40;
    for (i, k) in c.containers.iter().enumerate() {
        let x = 20 + (col + 20) * i as u32;
        svg_arrow(&mut s, SVG_W / 2, 36, x + col / 2, 66);
        let mut lines = vec![format!(
            "{} {} · {}",
            crate::t!("container", "컨테이너").get(lang),
            k.label,
            k.name
        )];
        let class = match &k.missing {
            Some(m) => {
                lines.push(not_yet_short(&m.exercise).get(lang).to_string());
                "grey"
            }
            None => {
                lines.push(k.path.clone().unwrap_or_default());
                "own"
            }
        };
        let mut y = 68;
        y += svg_box(&mut s, x, y, col, &lines, class) + 8;
        if k.missing.is_none() {
            for l in &k.limits {
                let v = limit_value(l);
                let (class, text) = if l.applied() {
                    ("own-text", format!("{} = {v}", l.file))
                } else {
                    (
                        "grey-text",
                        format!("{} = {v} · {}", l.file, not_yet_short(&l.exercise).get(lang)),
                    )
                };
                svg_text(&mut s, x + 8, y + 12, col - 16, &text, class);
                y += 18;
            }
            for u in &k.usage {
                let frac = u
                    .limit
                    .filter(|l| *l > 0)
                    .map_or(0.0, |l| (u.current as f64 / l as f64).min(1.0));
                let label = match u.limit {
                    Some(l) => format!(
                        "{} {} / {} ({:.0}%)",
                        u.what,
                        figure(u, u.current),
                        figure(u, l),
                        frac * 100.0
                    ),
                    None => format!("{} {}", u.what, figure(u, u.current)),
                };
                svg_text(&mut s, x + 8, y + 12, col - 16, &label, "");
                y += 16;
                let _ = write!(
                    s,
                    "<rect class=\"bar-bg\" x=\"{}\" y=\"{y}\" width=\"{}\" height=\"10\"/><rect class=\"bar\" x=\"{}\" y=\"{y}\" width=\"{:.0}\" height=\"10\"/>",
                    x + 8,
                    col - 16,
                    x + 8,
                    (col - 16) as f64 * frac
                );
                y += 18;
            }
            for k2 in &k.counters {
                let text = format!("{} {}", k2.name, k2.value.map_or("-".into(), |v| v.to_string()));
                svg_text(&mut s, x + 8, y + 12, col - 16, &text, "");
                y += 18;
            }
        }
        bottom = bottom.max(y);
    }
    svg_doc("picture-cgroups", title.get(lang), bottom, &s)
}

/// Picture 3 as SVG: the layers at the bottom, two uppers and two containers above.
pub fn svg_layers(l: &Layers, lang: Lang) -> String {
    let title = question(3);
    let mut s = String::new();
    let ok = l.missing.is_none();
    let class = |ok: bool| if ok { "own" } else { "grey" };
    let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
    let col = (SVG_W - 60) / 2;
    let (ax, bx) = (20, 40 + col);
    let a_root = match &l.missing {
        None => format!(
            "{} ({})",
            crate::t!("container A: /", "컨테이너 A: /").get(lang),
            l.root_fstype.as_deref().unwrap_or("?")
        ),
        Some(m) => format!(
            "{} · {}",
            crate::t!("container A: /", "컨테이너 A: /").get(lang),
            not_yet_short(&m.exercise).get(lang)
        ),
    };
    svg_box(&mut s, ax, 10, col, &[a_root], class(ok));
    let sh = &l.sharing;
    let b_ok = sh.missing.is_none() && ok;
    let b_root = match &sh.missing {
        None => crate::t!(
            "container B: / · {} = inode {}",
            "컨테이너 B: / · {} = inode {}",
            sh.file,
            ino(sh.b_ino)
        )
        .get(lang)
        .to_string(),
        Some(m) => format!(
            "{} · {}",
            crate::t!("container B: /", "컨테이너 B: /").get(lang),
            not_yet_short(&m.exercise).get(lang)
        ),
    };
    svg_box(&mut s, bx, 10, col, &[b_root], class(b_ok));
    let ua = [
        format!(
            "upper A ({}) · {}",
            crate::t!("writable", "쓰기 가능").get(lang),
            size(l.upper.bytes)
        ),
        format!(
            "{}: {}",
            crate::t!("copied up", "위로 복사").get(lang),
            list(&l.copied_up)
        ),
        format!("{}: {}", crate::t!("new", "새 파일").get(lang), list(&l.created)),
        format!("whiteout: {}", list(&l.whiteouts)),
    ];
    svg_arrow(&mut s, ax + col / 2, 76, ax + col / 2, 38);
    let ua_h = svg_box(&mut s, ax, 78, col, &ua, class(ok));
    let ub = [format!(
        "upper B ({}) · {}",
        crate::t!("writable", "쓰기 가능").get(lang),
        sh.upper_b.as_ref().map_or("?".into(), |u| size(u.bytes))
    )];
    svg_arrow(&mut s, bx + col / 2, 76, bx + col / 2, 38);
    let ub_h = svg_box(&mut s, bx, 78, col, &ub, class(b_ok));
    let mut y = 78 + ua_h + 24;
    let mut first = true;
    for d in l.lowers.iter().rev() {
        if first {
            svg_arrow(&mut s, ax + col / 2, y - 2, ax + col / 2, 80 + ua_h);
            svg_arrow(&mut s, bx + col / 2, y - 2, bx + col / 2, 80 + ub_h);
            first = false;
        }
        let h = svg_box(
            &mut s,
            20,
            y,
            SVG_W - 40,
            &[format!(
                "{} · {} · {} {}, {}",
                d.name,
                crate::t!("read-only, shared by A and B", "읽기 전용, A와 B가 공유").get(lang),
                d.files,
                crate::t!("files", "파일").get(lang),
                size(d.bytes)
            )],
            class(ok),
        );
        y += h + 6;
    }
    let share = match &sh.missing {
        None => crate::t!(
            "{} is inode {} in A, in B and in the base layer: stored once",
            "{}은(는) A, B, 기반 레이어 모두에서 inode {}: 한 번만 저장됨",
            sh.file,
            ino(sh.host_ino)
        ),
        Some(m) => not_yet(m),
    };
    y += 16;
    svg_text(
        &mut s,
        20,
        y,
        SVG_W - 40,
        share.get(lang),
        if b_ok { "own-text" } else { "grey-text" },
    );
    svg_doc("picture-layers", title.get(lang), y + 4, &s)
}

pub const HTML_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:820px;margin:2em auto;color:#202124}\
figure{margin:1.5em 0;border:1px solid #dadce0;border-radius:8px;padding:12px}\
svg{font-family:ui-monospace,monospace;font-size:12px;max-width:100%;height:auto}\
svg rect{fill:#fff;stroke:#5f6368}\
svg .own rect{fill:#e6f4ea;stroke:#1e8e3e}\
svg .grey rect{fill:#f1f3f4;stroke:#9aa0a6;stroke-dasharray:4 3}\
svg .grey text,svg .grey-text{fill:#80868b}\
svg .own-text{fill:#0d3b1e}\
svg .proc rect{fill:#e8f0fe;stroke:#1a73e8}\
svg .head{font-weight:bold}\
svg .arrow{stroke:#5f6368;stroke-width:1.2}\
svg .bar-bg{fill:#f1f3f4;stroke:none}\
svg .bar{fill:#1a73e8;stroke:none}\
figcaption{margin-top:8px;line-height:1.5}\
.note{background:#fef7e0;padding:8px;border-radius:6px}\
code,pre{font-family:ui-monospace,monospace;font-size:12px}\
table{border-collapse:collapse}td,th{border:1px solid #dadce0;padding:4px 8px;text-align:left}";

/// The HTML section: three figures, each an inline SVG and its answer.
pub fn html_section(e: &Explanation, lang: Lang) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<section id=\"explain\"><h2>{}</h2>",
        esc(crate::t!("Your container, drawn", "여러분의 컨테이너 그림").get(lang))
    );
    for n in &e.notes {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(n.get(lang)));
    }
    let figures = [
        (
            "namespaces",
            svg_namespaces(&e.namespaces, lang),
            answer_namespaces(&e.namespaces),
        ),
        ("cgroups", svg_cgroups(&e.cgroups, lang), answer_cgroups(&e.cgroups)),
        ("layers", svg_layers(&e.layers, lang), answer_layers(&e.layers)),
    ];
    for (i, (id, svg, answer)) in figures.iter().enumerate() {
        let _ = writeln!(
            s,
            "<figure class=\"picture\" data-picture=\"{id}\"><h3>{}</h3>{svg}<figcaption>{}</figcaption></figure>",
            esc(question(i + 1).get(lang)),
            code_spans(&esc(answer.get(lang)))
        );
    }
    let _ = writeln!(
        s,
        "<details><summary>{}</summary><pre>{}</pre></details></section>",
        esc(crate::t!("The containers observed", "관찰한 컨테이너").get(lang)),
        esc(&e.commands.iter().map(|c| c.lines(lang)).collect::<Vec<_>>().join("\n"))
    );
    s
}

/// Backticked spans of escaped text as `<code>`.
fn code_spans(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A whole page: `body` (HTML already escaped) in one self-contained document.
pub fn html_page(title: &str, body: &str, lang: Lang) -> String {
    let code = match lang {
        Lang::En => "en",
        Lang::Ko => "ko",
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{HTML_STYLE}</style></head><body>\n<h1>{}</h1>\n{body}</body></html>\n",
        esc(title),
        esc(title)
    )
}
