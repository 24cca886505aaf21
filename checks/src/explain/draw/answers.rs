//! The answers to the three questions, the same in every form: each cites the
//! figures its picture shows.

use super::{not_yet, own_pid, size};
use crate::explain::{Cgroups, Layers, Limit, Namespaces, A_REMOVES, A_WRITES, CPU_PERIOD};
use crate::text::Text;

/// The container's PID 1 as the host sees it.
fn init(n: &Namespaces) -> Option<i32> {
    n.tree.iter().find(|p| p.inside_pid == Some(1)).map(|p| p.host_pid)
}

/// The answer to question 1, citing the observed figures.
pub fn answer_namespaces(n: &Namespaces) -> Text {
    if let Some(m) = &n.missing {
        return crate::t!(
            "No picture: the container did not start ({}). A namespace gives a process its own view of one kind of kernel resource; see exercise ns-pid.",
            "그림 없음: 컨테이너가 시작되지 않았습니다({}). 네임스페이스는 프로세스에게 커널 자원 한 종류를 자기 것으로 보여 줍니다. 실습 `ns-pid`를 보세요.",
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
                format!(". 아직 호스트의 것: `{}`", shared.join("`, `"))
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
            "자기 PID 네임스페이스가 없어서 호스트의 프로세스 {}개가 보이고, 호스트의 PID가 그대로 그 PID입니다(실습 `ns-pid`).",
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
pub fn answer_cgroups(c: &Cgroups) -> Text {
    let Some(a) = c.containers.first() else {
        return Text::default();
    };
    if let Some(m) = &a.missing {
        return crate::t!(
            "Container A is not in a cgroup of its own ({}): nothing limits what it uses yet. A cgroup is where the kernel counts and caps a group of processes; see exercise {}.",
            "컨테이너 A는 자기 cgroup에 있지 않습니다({}). 아직 아무것도 사용량을 제한하지 않습니다. cgroup은 커널이 프로세스 묶음의 사용량을 세고 제한하는 곳입니다. 실습 `{}`에서 다룹니다.",
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
                "커널이 {} = {}(으)로 묶어 두고 지금 {}을(를) 씁니다({pct:.0}%)",
                l.file,
                size(l.asked.parse().unwrap_or(0)),
                size(u.current)
            )
        }
        _ => crate::t!(
            "its memory limit did not reach its file (see exercise cg-memory)",
            "메모리 제한이 파일에 닿지 않았습니다(실습 `cg-memory`)"
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
            "; CPU 할당량은 아직 없음(실습 `cg-cpu`)"
        ),
    };
    let weights: Vec<(&str, &Limit)> = c
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
            " 이것들은 제한, 곧 상한입니다. 보장(컨테이너끼리 다툴 때 몫을 정하는 가중치)은 아직 설정되지 않았습니다(실습 `cg-guarantee`)."
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
            "컨테이너의 루트가 레이어의 overlay가 아닙니다({}). 그러면 컨테이너마다 이미지 전체를 복사해야 합니다. 실습 `{}`에서 다룹니다.",
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
            " 두 컨테이너 모두 {}을(를) 기반 레이어의 파일 그대로 inode {ino}(으)로 봅니다. 그 {}은(는) 디스크에 한 번만 있고, 컨테이너마다 자기 상위 디렉터리({}, {})만 더합니다.",
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
