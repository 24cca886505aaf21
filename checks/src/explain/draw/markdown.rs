//! The pictures in Markdown: Mermaid blocks with a table of the namespaces, and,
//! for a grader that renders no Mermaid, the terminal pictures in code blocks.

use std::fmt::Write as _;

use super::{
    answer_cgroups, answer_layers, answer_namespaces, bar, ino, limit_value, not_yet, not_yet_short, own_pid, question,
    size,
};
use super::{text_cgroups, text_layers, text_namespaces};
use crate::explain::{Cgroups, Explanation, Layers, Namespaces};
use crate::text::Lang;

/// A Mermaid node label: quotes and angle brackets would end it or become markup;
/// the line breaks this module puts in (`<br/>`) stay.
fn mm(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace("#lt;br/#gt;", "<br/>")
}

const MERMAID_CLASSES: &str = "  classDef own fill:#e6f4ea,stroke:#1e8e3e,color:#0d3b1e\n  classDef grey fill:#f1f3f4,stroke:#9aa0a6,color:#80868b,stroke-dasharray:4 3\n";

/// Picture 1 in Mermaid.
pub fn mermaid_namespaces(n: &Namespaces, lang: Lang) -> String {
    let mut s = String::from("flowchart LR\n");
    if let Some(m) = &n.missing {
        let _ = writeln!(s, "  none[\"{}\"]:::grey", mm(not_yet(m).get(lang)));
        s.push_str(MERMAID_CLASSES);
        return s;
    }
    let own = own_pid(n);
    let pidns = n.kinds.iter().find(|k| k.name == "pid").and_then(|k| k.inside);
    let _ = writeln!(s, "  subgraph host[\"{}\"]", mm(crate::t!("host", "호스트").get(lang)));
    for p in n.tree.iter().filter(|p| p.inside_pid.is_none()) {
        let _ = writeln!(s, "    p{}[\"{}<br/>PID {}\"]", p.host_pid, mm(&p.name), p.host_pid);
    }
    let title = if own {
        crate::t!(
            "container: PID namespace {}",
            "컨테이너: PID 네임스페이스 {}",
            ino(pidns)
        )
    } else {
        crate::t!(
            "container: the host's PID namespace",
            "컨테이너: 호스트의 PID 네임스페이스"
        )
    };
    let _ = writeln!(s, "    subgraph ctr[\"{}\"]", mm(title.get(lang)));
    for p in n.tree.iter().filter(|p| p.inside_pid.is_some()) {
        let label = crate::t!(
            "{}<br/>host PID {} = PID {} inside",
            "{}<br/>호스트 PID {} = 안의 PID {}",
            p.name,
            p.host_pid,
            ino(p.inside_pid)
        );
        let class = if own { ":::own" } else { ":::grey" };
        let _ = writeln!(s, "      p{}[\"{}\"]{class}", p.host_pid, mm(label.get(lang)));
    }
    let _ = writeln!(s, "    end\n  end");
    for p in &n.tree {
        if let Some(parent) = n
            .tree
            .iter()
            .rev()
            .find(|q| q.depth + 1 == p.depth && q.host_pid != p.host_pid)
        {
            let _ = writeln!(s, "  p{} --> p{}", parent.host_pid, p.host_pid);
        }
    }
    s.push_str(MERMAID_CLASSES);
    s
}

/// Picture 1's namespaces as a Markdown table (eight nodes in a row would make the
/// diagram too wide to read): each type's inodes, own or shared.
pub fn markdown_namespace_table(n: &Namespaces, lang: Lang) -> String {
    if n.missing.is_some() {
        return String::new();
    }
    let mut s = crate::t!(
        "| namespace | host inode | container inode | |\n|---|---:|---:|---|\n",
        "| 네임스페이스 | 호스트 inode | 컨테이너 inode | |\n|---|---:|---:|---|\n"
    )
    .get(lang)
    .to_string();
    for k in &n.kinds {
        let what = if k.own() {
            format!("✅ {}", crate::t!("own", "자기 것").get(lang))
        } else {
            format!(
                "⚪ {} · {}",
                crate::t!("shared", "공유").get(lang),
                not_yet_short(&k.exercise).get(lang)
            )
        };
        let _ = writeln!(s, "| `{}` | {} | {} | {what} |", k.name, ino(k.host), ino(k.inside));
    }
    s
}

/// Picture 2 in Mermaid: the parent and A, B beside each other.
pub fn mermaid_cgroups(c: &Cgroups, lang: Lang) -> String {
    let mut s = String::from("flowchart TB\n");
    let _ = writeln!(s, "  parent[\"{} (cgroup v{})\"]", mm(&c.parent), c.version);
    for k in &c.containers {
        let mut lines = vec![format!("{} {}", crate::t!("container", "컨테이너").get(lang), k.label)];
        let class = match &k.missing {
            Some(m) => {
                lines.push(not_yet_short(&m.exercise).get(lang).to_string());
                "grey"
            }
            None => {
                for l in &k.limits {
                    let v = limit_value(l);
                    if l.applied() {
                        lines.push(format!("{} = {}", l.file, v));
                    } else {
                        lines.push(format!("{} = {} ({})", l.file, v, not_yet_short(&l.exercise).get(lang)));
                    }
                }
                for u in &k.usage {
                    lines.push(format!("{} {}", u.what, bar(u, 10)));
                }
                "own"
            }
        };
        let _ = writeln!(s, "  c{}[\"{}\"]:::{class}", k.label, mm(&lines.join("<br/>")));
        let _ = writeln!(s, "  parent --> c{}", k.label);
    }
    s.push_str(MERMAID_CLASSES);
    s
}

/// Picture 3 in Mermaid: the layers at the bottom, each container's upper above them.
pub fn mermaid_layers(l: &Layers, lang: Lang) -> String {
    let mut s = String::from("flowchart BT\n");
    let ro = crate::t!("read-only", "읽기 전용");
    let grey_all = l.missing.is_some();
    let class = |ok: bool| if ok { "own" } else { "grey" };
    let mut below = None::<String>;
    for (i, d) in l.lowers.iter().enumerate() {
        let label = format!("{} ({})<br/>{} files, {}", d.name, ro.get(lang), d.files, size(d.bytes));
        let _ = writeln!(s, "  l{i}[\"{}\"]:::{}", mm(&label), class(!grey_all));
        if let Some(b) = &below {
            let _ = writeln!(s, "  {b} --> l{i}");
        }
        below = Some(format!("l{i}"));
    }
    let top = below.unwrap_or_else(|| "l0".into());
    let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
    let ua = format!(
        "upper A ({})<br/>{}: {}<br/>{}: {}<br/>whiteout: {}",
        crate::t!("writable", "쓰기 가능").get(lang),
        crate::t!("copied up", "위로 복사").get(lang),
        list(&l.copied_up),
        crate::t!("new", "새 파일").get(lang),
        list(&l.created),
        list(&l.whiteouts)
    );
    let _ = writeln!(s, "  ua[\"{}\"]:::{}", mm(&ua), class(!grey_all));
    let root = match &l.missing {
        Some(m) => format!(
            "{}<br/>{}",
            crate::t!("container A: /", "컨테이너 A: /").get(lang),
            not_yet_short(&m.exercise).get(lang)
        ),
        None => format!(
            "{} ({})",
            crate::t!("container A: /", "컨테이너 A: /").get(lang),
            l.root_fstype.as_deref().unwrap_or("?")
        ),
    };
    let _ = writeln!(s, "  ca[\"{}\"]:::{}", mm(&root), class(!grey_all));
    let _ = writeln!(s, "  {top} --> ua --> ca");
    let sh = &l.sharing;
    let ub = sh.upper_b.as_ref().map_or(Default::default(), |u| size(u.bytes));
    let _ = writeln!(s, "  ub[\"upper B<br/>{ub}\"]:::{}", class(sh.missing.is_none()));
    let b_label = match &sh.missing {
        None => crate::t!(
            "container B: /<br/>{} = inode {}, as in A",
            "컨테이너 B: /<br/>{} = inode {}, A와 같음",
            sh.file,
            ino(sh.b_ino)
        ),
        Some(m) => crate::t!(
            "container B: /<br/>{}",
            "컨테이너 B: /<br/>{}",
            not_yet_short(&m.exercise)
        ),
    };
    let _ = writeln!(
        s,
        "  cb[\"{}\"]:::{}",
        mm(b_label.get(lang)),
        class(sh.missing.is_none())
    );
    let _ = writeln!(s, "  {top} --> ub --> cb");
    s.push_str(MERMAID_CLASSES);
    s
}

/// The Markdown section's heading and the notes above the pictures.
fn markdown_heading(e: &Explanation, lang: Lang) -> String {
    let mut s = format!(
        "## {}\n\n",
        crate::t!("Your container, drawn", "여러분의 컨테이너 그림").get(lang)
    );
    for n in &e.notes {
        let _ = writeln!(s, "> {}\n", n.get(lang));
    }
    s
}

/// The Markdown section: each picture as a Mermaid block and a table or list of its
/// figures, then its answer.
pub fn markdown(e: &Explanation, lang: Lang) -> String {
    let mut s = markdown_heading(e, lang);
    let blocks = [
        (
            mermaid_namespaces(&e.namespaces, lang),
            answer_namespaces(&e.namespaces),
        ),
        (mermaid_cgroups(&e.cgroups, lang), answer_cgroups(&e.cgroups)),
        (mermaid_layers(&e.layers, lang), answer_layers(&e.layers)),
    ];
    for (i, (mermaid, answer)) in blocks.iter().enumerate() {
        let _ = writeln!(s, "### {}\n", question(i + 1).get(lang));
        let _ = writeln!(s, "```mermaid\n{mermaid}```\n");
        if i == 0 {
            let _ = writeln!(s, "{}", markdown_namespace_table(&e.namespaces, lang));
        }
        let _ = writeln!(s, "{}\n", answer.get(lang));
    }
    let _ = writeln!(
        s,
        "<details><summary>{}</summary>\n\n```\n{}```\n</details>\n",
        crate::t!("The containers observed", "관찰한 컨테이너").get(lang),
        e.commands
            .iter()
            .map(|c| format!("{}\n", c.lines(lang)))
            .collect::<String>()
    );
    s
}

/// The Mermaid blocks of a Markdown text, for a parser test.
pub fn mermaid_blocks(md: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match (&mut cur, line.trim()) {
            (None, "```mermaid") => cur = Some(String::new()),
            (Some(_), "```") => v.push(cur.take().unwrap_or_default()),
            (Some(c), _) => {
                c.push_str(line);
                c.push('\n');
            }
            _ => {}
        }
    }
    v
}

/// For a grader that renders Markdown but no Mermaid (Gradescope): the terminal
/// pictures in code blocks, each with its answer.
pub fn markdown_plain(e: &Explanation, lang: Lang) -> String {
    let mut s = markdown_heading(e, lang);
    let pictures = [
        (
            text_namespaces(&e.namespaces, lang, false),
            answer_namespaces(&e.namespaces),
        ),
        (text_cgroups(&e.cgroups, lang, false), answer_cgroups(&e.cgroups)),
        (text_layers(&e.layers, lang, false), answer_layers(&e.layers)),
    ];
    for (i, (pic, answer)) in pictures.iter().enumerate() {
        let _ = writeln!(
            s,
            "### {}\n\n```\n{pic}```\n\n{}\n",
            question(i + 1).get(lang),
            answer.get(lang)
        );
    }
    s
}
