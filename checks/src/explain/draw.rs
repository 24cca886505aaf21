//! The three pictures in four forms (a terminal's plain text, Markdown with Mermaid
//! blocks, a self-contained HTML page with inline SVG, and the text form inside
//! Markdown for graders that render no Mermaid), each followed by its answer.
//!
//! Every figure in a picture or an answer is one the observation holds: nothing here
//! measures, so a snapshot of a fixed [`Explanation`] pins every form.

use std::fmt::Write as _;

use super::{CgContainer, Explanation, Layers, Missing, Namespaces, Usage, A_REMOVES, A_WRITES, CPU_PERIOD};
use crate::text::{Lang, Text};

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
        "아직 구현되지 않음: 연습 문제 {}을(를) 보세요({})",
        m.exercise,
        m.why
    )
}

fn not_yet_short(exercise: &str) -> Text {
    crate::t!(
        "not implemented yet: see exercise {exercise}",
        "아직 구현되지 않음: 연습 문제 {exercise}"
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

// ------------------------------------------------------------------ answers

/// The container's PID 1 as the host sees it.
fn init(n: &Namespaces) -> Option<i32> {
    n.tree.iter().find(|p| p.inside_pid == Some(1)).map(|p| p.host_pid)
}

fn own_pid(n: &Namespaces) -> bool {
    n.kinds.iter().any(|k| k.name == "pid" && k.own())
}

/// The answer to question 1, citing the observed figures.
pub fn answer_namespaces(n: &Namespaces) -> Text {
    if let Some(m) = &n.missing {
        return crate::t!(
            "No picture: the container did not start ({}). A namespace gives a process its own view of one kind of kernel resource; see exercise ns-pid.",
            "그림 없음: 컨테이너가 시작되지 않았습니다({}). 네임스페이스는 프로세스에게 커널 자원 한 종류를 자기 것으로 보여 줍니다. 연습 문제 `ns-pid`를 보세요.",
            m.why
        );
    }
    let own: Vec<&str> = n.kinds.iter().filter(|k| k.own()).map(|k| k.name.as_str()).collect();
    let shared: Vec<&str> = n.kinds.iter().filter(|k| !k.own()).map(|k| k.name.as_str()).collect();
    let (all, mine) = (n.kinds.len(), own.len());
    let count = Text {
        en: format!(
            "{mine} of {all} namespaces are its own ({}){}.",
            if own.is_empty() {
                "none".to_string()
            } else {
                own.join(", ")
            },
            if shared.is_empty() {
                String::new()
            } else {
                format!("; {} still the host's", shared.join(", "))
            }
        ),
        ko: format!(
            "네임스페이스 {all}개 중 {mine}개가 자기 것입니다({}){}.",
            if own.is_empty() {
                "없음".to_string()
            } else {
                format!("`{}`", own.join("`, `"))
            },
            if shared.is_empty() {
                String::new()
            } else {
                format!(". `{}`은(는) 아직 호스트의 것입니다", shared.join("`, `"))
            }
        ),
    };
    let (visible, host) = (n.visible_pids, n.host_pids);
    let pid = match (own_pid(n), init(n)) {
        (true, Some(h)) => crate::t!(
            "PID 1 inside is host PID {h}: the PID namespace gives the container its own numbering, and it sees {visible} processes where the host has {host}.",
            "안의 PID 1은 호스트의 PID {h}입니다. PID 네임스페이스가 컨테이너에 자기 번호를 주어, 호스트에는 프로세스가 {host}개 있어도 컨테이너에는 {visible}개만 보입니다."
        ),
        _ => crate::t!(
            "Without a PID namespace of its own it sees the host's {} processes, and the host's PIDs are its PIDs (see exercise ns-pid).",
            "자기 PID 네임스페이스가 없어서 호스트의 프로세스 {}개가 보이고, 호스트의 PID가 그대로 그 PID입니다(연습 문제 `ns-pid`).",
            n.visible_pids
        ),
    };
    let uts = match (&n.hostname, n.kinds.iter().any(|k| k.name == "uts" && k.own())) {
        (Some(h), true) => crate::t!(
            " Its host name is `{h}` while the host's stays `{}`.",
            " 컨테이너의 호스트 이름은 `{h}`이고 호스트의 이름은 `{}` 그대로입니다.",
            n.host_hostname
        ),
        _ => Text::default(),
    };
    Text {
        en: format!("{} {}{}", pid.en, count.en, uts.en),
        ko: format!("{} {}{}", pid.ko, count.ko, uts.ko),
    }
}

/// The answer to question 2.
pub fn answer_cgroups(c: &super::Cgroups) -> Text {
    let Some(a) = c.containers.first() else {
        return Text::default();
    };
    if let Some(m) = &a.missing {
        return crate::t!(
            "Container A is not in a cgroup of its own ({}): nothing limits what it uses yet. A cgroup is where the kernel counts and caps a group of processes; see exercise {}.",
            "컨테이너 A는 자기 cgroup에 있지 않습니다({}). 아직 아무것도 사용량을 제한하지 않습니다. cgroup은 커널이 프로세스 묶음의 사용량을 세고 제한하는 곳입니다. 연습 문제 `{}`을(를) 보세요.",
            m.why,
            m.exercise
        );
    }
    let path = a.path.as_deref().unwrap_or("?");
    let mem = a.usage.iter().find(|u| u.what == "memory");
    let mem_text = match (a.limits.first(), mem) {
        (Some(l), Some(u)) if l.applied() => {
            let pct = u.limit.map_or(0.0, |lim| u.current as f64 * 100.0 / lim as f64);
            crate::t!(
                "the kernel holds it to {} = {} and it uses {} now ({pct:.0}%)",
                "커널이 {} = {}로 묶어 두고 지금 {}를 씁니다({pct:.0}%)",
                l.file,
                size(l.asked.parse().unwrap_or(0)),
                size(u.current)
            )
        }
        _ => crate::t!(
            "its memory limit did not reach its file (see exercise cg-memory)",
            "메모리 제한이 파일에 닿지 않았습니다(연습 문제 `cg-memory`)"
        ),
    };
    let counter = |n: &str| a.counters.iter().find(|c| c.name == n).and_then(|c| c.value);
    let cpu = a.limits.iter().find(|l| l.exercise == "cg-cpu");
    let cpu_text = match cpu {
        Some(l) if l.applied() => {
            let (file, asked) = (&l.file, &l.asked);
            let quota: u64 = asked.split(' ').next().and_then(|q| q.parse().ok()).unwrap_or(0);
            let pct = quota * 100 / CPU_PERIOD;
            let shown = |n: &str| counter(n).map_or("?".to_string(), |v| v.to_string());
            let (throttled, periods) = (shown("cpu nr_throttled"), shown("cpu nr_periods"));
            crate::t!(
                "; {file} = {asked}, {pct}% of one CPU (throttled in {throttled} of {periods} periods so far)",
                "; {file} = {asked}, CPU 하나의 {pct}%(지금까지 {periods}번 중 {throttled}번 제한됨)"
            )
        }
        _ => crate::t!(
            "; no CPU quota yet (see exercise cg-cpu)",
            "; CPU 할당량은 아직 없음(연습 문제 `cg-cpu`)"
        ),
    };
    let weights: Vec<(&str, &super::Limit)> = c
        .containers
        .iter()
        .filter_map(|c| {
            c.limits
                .iter()
                .find(|l| l.exercise == "cg-guarantee")
                .map(|l| (c.label.as_str(), l))
        })
        .collect();
    let guarantee = if weights.len() == 2 && weights.iter().all(|(_, l)| l.applied()) {
        crate::t!(
            " These are limits, upper bounds the kernel enforces even on an idle machine; the weights of A and B ({} = {} and {}) are guarantees: shares that count only when the two compete for a CPU.",
            " 이것들은 제한, 곧 한가한 기계에서도 커널이 지키는 상한입니다. A와 B의 가중치({} = {}, {})는 보장입니다. 둘이 CPU를 두고 다툴 때에만 몫을 정합니다.",
            weights[0].1.file,
            weights[0].1.asked,
            weights[1].1.asked
        )
    } else {
        crate::t!(
            " These are limits, upper bounds; the guarantees (weights that decide shares when containers compete) are not set yet (see exercise cg-guarantee).",
            " 이것들은 제한, 곧 상한입니다. 보장(컨테이너끼리 다툴 때 몫을 정하는 가중치)은 아직 설정되지 않았습니다(연습 문제 `cg-guarantee`)."
        )
    };
    crate::t!(
        "Container A runs in cgroup `{path}`: {mem_text}{cpu_text}.{guarantee}",
        "컨테이너 A는 cgroup `{path}`에서 돕니다. {mem_text}{cpu_text}.{guarantee}"
    )
}

/// The answer to question 3.
pub fn answer_layers(l: &Layers) -> Text {
    if let Some(m) = &l.missing {
        return crate::t!(
            "The container's root is no overlay of the layers ({}): every container would need its own full copy of the image. See exercise {}.",
            "컨테이너의 루트가 레이어의 overlay가 아닙니다({}). 그러면 컨테이너마다 이미지 전체를 복사해야 합니다. 연습 문제 `{}`을(를) 보세요.",
            m.why,
            m.exercise
        );
    }
    let lowers: Vec<String> = l
        .lowers
        .iter()
        .map(|d| format!("{} {} in {} files", d.name, size(d.bytes), d.files))
        .collect();
    let lowers_ko: Vec<String> = l
        .lowers
        .iter()
        .map(|d| format!("`{}` 파일 {}개 {}", d.name, d.files, size(d.bytes)))
        .collect();
    let first = crate::t!(
        "The container's `/` is an overlay of {} read-only layers ({}) under a writable upper directory.",
        "컨테이너의 `/`는 읽기 전용 레이어 {}개({}) 위에 쓰기 가능한 상위 디렉터리를 얹은 overlay입니다.",
        l.lowers.len(),
        lowers.join(", ")
    );
    let first = Text {
        ko: crate::text::in_korean(|| {
            format!(
                "컨테이너의 `/`는 읽기 전용 레이어 {}개({}) 위에 쓰기 가능한 상위 디렉터리를 얹은 overlay입니다.",
                l.lowers.len(),
                lowers_ko.join(", ")
            )
        }),
        ..first
    };
    let written = A_WRITES[0].0;
    let second = crate::t!(
        " Writing {written} copied it up and removing {A_REMOVES} left a whiteout: the upper holds {} ({} copied up, {} new, {} whiteout), and the layers are unchanged.",
        " {written}에 쓰자 파일이 위로 복사되었고(copy-up) {A_REMOVES}를 지우자 whiteout이 남았습니다. 상위 디렉터리에는 {}(복사 {}개, 새 파일 {}개, whiteout {}개)만 있고 레이어는 그대로입니다.",
        size(l.upper.bytes),
        l.copied_up.len(),
        l.created.len(),
        l.whiteouts.len()
    );
    let s = &l.sharing;
    let third = match (&s.missing, s.host_ino, &s.upper_b) {
        (None, Some(ino), Some(ub)) => crate::t!(
            " Both containers see {} as inode {ino}, the base layer's own file: its {} are on disk once, and each container adds only its upper directory ({} and {}).",
            " 두 컨테이너 모두 {}를 기반 레이어의 파일 그대로 아이노드 {ino}로 봅니다. 그 {}는 디스크에 한 번만 있고, 컨테이너마다 자기 상위 디렉터리({}, {})만 더합니다.",
            s.file,
            size(s.file_bytes),
            size(l.upper.bytes),
            size(ub.bytes)
        ),
        (Some(m), _, _) => crate::t!(
            " Sharing the base layer between two containers was not seen: {}.",
            " 두 컨테이너가 기반 레이어를 나눠 쓰는 것은 보이지 않았습니다: {}.",
            not_yet(m)
        ),
        _ => Text::default(),
    };
    Text {
        en: format!("{}{}{}", first.en, second.en, third.en),
        ko: format!("{}{}{}", first.ko, second.ko, third.ko),
    }
}

// ------------------------------------------------------------------ plain text

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

fn ino(v: Option<u64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
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
pub fn text_cgroups(c: &super::Cgroups, lang: Lang, color: bool) -> String {
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
        "  {}: 아이노드 A {}, B {}, 기반 레이어 {} ({})",
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

// ------------------------------------------------------------------ Markdown + Mermaid

/// A Mermaid node label: quotes and angle brackets would end it or become markup;
/// the line breaks this module puts in (`<br/>`) stay.
fn mm(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace("#lt;br/#gt;", "<br/>")
}

/// A limit's file content, with the size spelt out for a byte count.
fn limit_value(l: &super::Limit) -> String {
    let v = l.read.as_deref().unwrap_or("?");
    match v.parse::<u64>() {
        Ok(n) if l.file.starts_with("memory.") && (1024..1 << 60).contains(&n) => format!("{v} ({})", size(n)),
        _ => v.to_string(),
    }
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
        "| 네임스페이스 | 호스트 아이노드 | 컨테이너 아이노드 | |\n|---|---:|---:|---|\n"
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
pub fn mermaid_cgroups(c: &super::Cgroups, lang: Lang) -> String {
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
            "컨테이너 B: /<br/>{} = 아이노드 {}, A와 같음",
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

// ------------------------------------------------------------------ HTML + SVG

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
            "네임스페이스: 호스트 아이노드 → 컨테이너 아이노드"
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
pub fn svg_cgroups(c: &super::Cgroups, lang: Lang) -> String {
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
            "컨테이너 B: / · {} = 아이노드 {}",
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
            "{}는 A, B, 기반 레이어 모두에서 아이노드 {}: 한 번만 저장됨",
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
