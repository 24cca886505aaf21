//! The pictures as a terminal's plain text (dim where greyed when in colour), and
//! the whole explanation for a terminal.

use std::fmt::Write as _;

use super::{
    answer_cgroups, answer_layers, answer_namespaces, bar, ino, limit_value, not_yet, not_yet_short, own_pid, question,
    size,
};
use crate::explain::{CgContainer, Cgroups, Explanation, Layers, Namespaces};
use crate::text::{Lang, Text};

/// Greyed lines in a terminal: dim.
struct Style {
    color: bool,
}

impl Style {
    fn grey(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Picture 1 as text.
pub fn text_namespaces(n: &Namespaces, lang: Lang, color: bool) -> String {
    let st = Style { color };
    let mut s = String::new();
    let head = crate::t!(
        "  namespace   host         container    ",
        "  네임스페이스 호스트       컨테이너     "
    );
    if let Some(m) = &n.missing {
        let _ = writeln!(s, "{}", st.grey(&format!("  · {}", not_yet(m).get(lang))));
        return s;
    }
    let _ = writeln!(s, "{}", head.get(lang));
    for k in &n.kinds {
        let line = format!("  {:<11} {:<12} {:<12} ", k.name, ino(k.host), ino(k.inside));
        if k.own() {
            let _ = writeln!(s, "{line}{}", crate::t!("own", "자기 것").get(lang));
        } else {
            let _ = writeln!(
                s,
                "{}",
                st.grey(&format!(
                    "{line}{} · {}",
                    crate::t!("shared", "공유").get(lang),
                    not_yet_short(&k.exercise).get(lang)
                ))
            );
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{}",
        crate::t!(
            "  process tree                host PID   PID inside",
            "  프로세스 트리               호스트 PID 안의 PID"
        )
        .get(lang)
    );
    let own = own_pid(n);
    for p in &n.tree {
        let indent = if p.depth == 0 {
            String::new()
        } else {
            format!("{}└─ ", "   ".repeat(p.depth - 1))
        };
        let name = format!("{indent}{}", p.name);
        let inside = match p.inside_pid {
            None => "-".to_string(),
            Some(v) => v.to_string(),
        };
        let line = format!("  {name:<27} {:<10} {inside}", p.host_pid);
        if p.inside_pid.is_some() && !own {
            let _ = writeln!(
                s,
                "{}",
                st.grey(&format!("{line} · {}", not_yet_short("ns-pid").get(lang)))
            );
        } else {
            let _ = writeln!(s, "{line}");
        }
    }
    let _ = writeln!(
        s,
        "{}",
        crate::t!(
            "  the container sees {} processes; the host has {}",
            "  컨테이너에 보이는 프로세스 {}개, 호스트에는 {}개",
            n.visible_pids,
            n.host_pids
        )
        .get(lang)
    );
    let uts_own = n.kinds.iter().any(|k| k.name == "uts" && k.own());
    let host_line = crate::t!(
        "  host name: `{}` inside, `{}` on the host",
        "  호스트 이름: 안에서 `{}`, 호스트에서 `{}`",
        n.hostname.as_deref().unwrap_or("?"),
        n.host_hostname
    );
    if uts_own {
        let _ = writeln!(s, "{}", host_line.get(lang));
    } else {
        let _ = writeln!(
            s,
            "{}",
            st.grey(&format!(
                "{} · {}",
                host_line.get(lang),
                not_yet_short("ns-uts").get(lang)
            ))
        );
    }
    let _ = st.bold("");
    s
}

fn text_cg_container(c: &CgContainer, lang: Lang, st: &Style, s: &mut String) {
    let _ = writeln!(
        s,
        "{}",
        st.bold(&format!(
            "  {} {}",
            crate::t!("container", "컨테이너").get(lang),
            c.label
        ))
    );
    if let Some(m) = &c.missing {
        let _ = writeln!(s, "{}", st.grey(&format!("    · {}", not_yet(m).get(lang))));
        return;
    }
    let _ = writeln!(s, "    cgroup: {}", c.path.as_deref().unwrap_or("?"));
    if let Some(p) = &c.inside_path {
        let _ = writeln!(
            s,
            "    {}",
            crate::t!("seen inside as {p}", "안에서 보이는 경로: {p}").get(lang)
        );
    }
    for l in &c.limits {
        let line = format!("    {:<22} {} = {}", l.flag, l.file, limit_value(l));
        if l.applied() {
            let _ = writeln!(s, "{line}  ✓");
        } else {
            let _ = writeln!(
                s,
                "{}",
                st.grey(&format!(
                    "{line}  ({} {}) · {}",
                    crate::t!("asked", "요청").get(lang),
                    l.asked,
                    not_yet_short(&l.exercise).get(lang)
                ))
            );
        }
    }
    for u in &c.usage {
        let _ = writeln!(s, "    {:<7} {}", u.what, bar(u, 20));
    }
    let counters: Vec<String> = c
        .counters
        .iter()
        .map(|k| format!("{} {}", k.name, k.value.map_or("-".into(), |v| v.to_string())))
        .collect();
    let _ = writeln!(s, "    {}", counters.join(", "));
}

/// Picture 2 as text: A and B side by side, one after the other.
pub fn text_cgroups(c: &Cgroups, lang: Lang, color: bool) -> String {
    let st = Style { color };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "  {}",
        crate::t!("parent: {} (cgroup v{})", "부모: {} (cgroup v{})", c.parent, c.version).get(lang)
    );
    for k in &c.containers {
        text_cg_container(k, lang, &st, &mut s);
    }
    s
}

/// Picture 3 as text: the stack, top first.
pub fn text_layers(l: &Layers, lang: Lang, color: bool) -> String {
    let st = Style { color };
    let mut s = String::new();
    let ro = crate::t!("read-only, shared", "읽기 전용, 공유").get(lang).to_string();
    let line = |name: &str, files: u64, bytes: u64, what: &str| {
        format!(
            "  │ {name:<10} {:>5} {} {:>9}  {what}",
            files,
            crate::t!("files", "파일").get(lang),
            size(bytes)
        )
    };
    let body = {
        let mut b = String::new();
        let _ = writeln!(
            b,
            "  {}   {}",
            crate::t!("container A: /", "컨테이너 A: /").get(lang),
            l.root_fstype.as_deref().map(|f| format!("({f})")).unwrap_or_default()
        );
        let _ = writeln!(
            b,
            "{}",
            line(
                "upper A",
                l.upper.files,
                l.upper.bytes,
                crate::t!("writable", "쓰기 가능").get(lang)
            )
        );
        for d in l.lowers.iter().rev() {
            let _ = writeln!(b, "{}", line(&d.name, d.files, d.bytes, &ro));
        }
        let _ = writeln!(
            b,
            "  {} {}",
            crate::t!("work directory (overlay's own):", "작업 디렉터리(overlay 전용):").get(lang),
            l.work
        );
        let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
        let _ = writeln!(
            b,
            "  {} {}",
            crate::t!("copied up:", "위로 복사됨:").get(lang),
            list(&l.copied_up)
        );
        let _ = writeln!(b, "  {} {}", crate::t!("new:", "새 파일:").get(lang), list(&l.created));
        let _ = writeln!(
            b,
            "  {} {}",
            crate::t!("whiteouts:", "whiteout:").get(lang),
            list(&l.whiteouts)
        );
        b
    };
    match &l.missing {
        Some(m) => {
            for ln in body.lines() {
                let _ = writeln!(s, "{}", st.grey(ln));
            }
            let _ = writeln!(s, "{}", st.grey(&format!("  · {}", not_yet(m).get(lang))));
        }
        None => s.push_str(&body),
    }
    let sh = &l.sharing;
    let share = crate::t!(
        "  {}: inode {} in A, {} in B, {} in the base layer ({})",
        "  {}: inode A {}, B {}, 기반 레이어 {} ({})",
        sh.file,
        ino(sh.a_ino),
        ino(sh.b_ino),
        ino(sh.host_ino),
        size(sh.file_bytes)
    );
    let disk = match &sh.upper_b {
        Some(ub) => crate::t!(
            "  on disk: the layers once ({}), upper A {}, upper B {}",
            "  디스크: 레이어 한 번({}), 상위 A {}, 상위 B {}",
            size(l.lowers.iter().map(|d| d.bytes).sum()),
            size(l.upper.bytes),
            size(ub.bytes)
        ),
        None => Text::default(),
    };
    match &sh.missing {
        None => {
            let _ = writeln!(s, "{}", share.get(lang));
            let _ = writeln!(s, "{}", disk.get(lang));
        }
        Some(m) => {
            let _ = writeln!(s, "{}", st.grey(share.get(lang)));
            // Said once when it is the whole picture's reason.
            if l.missing.as_ref() != Some(m) {
                let _ = writeln!(s, "{}", st.grey(&format!("  · {}", not_yet(m).get(lang))));
            }
        }
    }
    s
}

/// Wraps an answer at about `width` columns, indented.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + w.chars().count() > width {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
    out
}

/// The whole explanation for a terminal.
pub fn text(e: &Explanation, lang: Lang, color: bool) -> String {
    text_wrapped(e, lang, color, 100)
}

/// [`text`] with the notes and answers wrapped at `width` columns.
pub fn text_wrapped(e: &Explanation, lang: Lang, color: bool, width: usize) -> String {
    let st = Style { color };
    let mut s = String::new();
    for n in &e.notes {
        s.push_str(&wrap(n.get(lang), width, "note: "));
    }
    let pictures = [
        (
            text_namespaces(&e.namespaces, lang, color),
            answer_namespaces(&e.namespaces),
        ),
        (text_cgroups(&e.cgroups, lang, color), answer_cgroups(&e.cgroups)),
        (text_layers(&e.layers, lang, color), answer_layers(&e.layers)),
    ];
    for (i, (pic, answer)) in pictures.iter().enumerate() {
        let _ = writeln!(s, "\n{}", st.bold(&format!("== {}", question(i + 1).get(lang))));
        s.push_str(pic);
        let _ = writeln!(s);
        s.push_str(&wrap(answer.get(lang), width, "  "));
    }
    let _ = writeln!(
        s,
        "\n{}",
        crate::t!("containers observed:", "관찰한 컨테이너:").get(lang)
    );
    for c in &e.commands {
        let _ = writeln!(s, "  {}", c.lines(lang));
    }
    s
}
