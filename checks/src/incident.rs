//! What the checker had to contain around a check's runtime calls: one line each in
//! the report (English in the result files, translated in the Korean report).

use crate::cgview::{MEMORY_GUARD, PIDS_GUARD};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incident {
    PidsGuard,
    MemoryGuard,
    TimeLimit,
    IgnoredSigterm,
    OutputStdout,
    OutputStderr,
    Leftovers,
    NoPidFile,
    Outlived,
    Misplaced,
}

impl Incident {
    pub const ALL: [Incident; 10] = [
        Incident::PidsGuard,
        Incident::MemoryGuard,
        Incident::TimeLimit,
        Incident::IgnoredSigterm,
        Incident::OutputStdout,
        Incident::OutputStderr,
        Incident::Leftovers,
        Incident::NoPidFile,
        Incident::Outlived,
        Incident::Misplaced,
    ];

    /// Stable texts (no counts): the report folds equal lines of many checks into one.
    pub fn en(self) -> String {
        let cap = crate::incident::OUTPUT_CAP >> 20;
        match self {
            Incident::PidsGuard => format!("reached the checker's guard of {PIDS_GUARD} tasks (a fork bomb?): further forks were refused"),
            Incident::MemoryGuard => format!(
                "reached the checker's memory guard of {} MiB (a memory hog?): the kernel reclaimed or OOM-killed in the check's cgroup",
                MEMORY_GUARD >> 20
            ),
            Incident::TimeLimit => "did not end within the time limit of a runtime call: the checker ended its process group".into(),
            Incident::IgnoredSigterm => "ignored SIGTERM for 2 s: the checker killed its process group with SIGKILL".into(),
            Incident::OutputStdout => {
                format!("printed more than {cap} MiB on standard output: the checker kept the first {cap} MiB and drained the rest")
            }
            Incident::OutputStderr => {
                format!("printed more than {cap} MiB on standard error: the checker kept the first {cap} MiB and drained the rest")
            }
            Incident::Leftovers => "left cgroups or mounts behind after it ended: the checker removed them".into(),
            Incident::NoPidFile => "exited 0 before writing its --pid-file: the checker did not wait for it".into(),
            Incident::Outlived => {
                "exited while processes it started still held its output: the checker killed its process group".into()
            }
            Incident::Misplaced => {
                "made cgroups outside LAB_CGROUP_PARENT (outside the checker's guards): the checker named them and removed what was left".into()
            }
        }
    }

    pub fn ko(self) -> String {
        let cap = crate::incident::OUTPUT_CAP >> 20;
        match self {
            Incident::PidsGuard => format!("검사기의 태스크 보호 한도 {PIDS_GUARD}개에 닿았습니다(fork 폭탄?). 더 이상의 fork는 거부되었습니다"),
            Incident::MemoryGuard => format!(
                "검사기의 메모리 보호 한도 {} MiB에 닿았습니다(메모리를 삼키는 프로세스?). 커널이 검사의 cgroup 안에서 회수하거나 OOM으로 종료했습니다",
                MEMORY_GUARD >> 20
            ),
            Incident::TimeLimit => "런타임 호출의 시간 제한 안에 끝나지 않아 검사기가 프로세스 그룹을 종료했습니다".into(),
            Incident::IgnoredSigterm => "SIGTERM을 2초 동안 무시해서 검사기가 프로세스 그룹을 SIGKILL로 종료했습니다".into(),
            Incident::OutputStdout => format!("표준 출력에 {cap} MiB 넘게 출력했습니다. 검사기는 처음 {cap} MiB만 보관하고 나머지는 읽어서 버렸습니다"),
            Incident::OutputStderr => format!("표준 오류에 {cap} MiB 넘게 출력했습니다. 검사기는 처음 {cap} MiB만 보관하고 나머지는 읽어서 버렸습니다"),
            Incident::Leftovers => "끝난 뒤 cgroup이나 마운트를 남겼습니다. 검사기가 지웠습니다".into(),
            Incident::NoPidFile => "--pid-file을 쓰기 전에 0으로 종료했습니다. 검사기는 기다리지 않았습니다".into(),
            Incident::Outlived => "런타임이 끝났는데 그것이 띄운 프로세스들이 출력을 계속 붙잡고 있어서 검사기가 프로세스 그룹을 종료했습니다".into(),
            Incident::Misplaced => "LAB_CGROUP_PARENT 밖(검사기의 보호 장치 바깥)에 cgroup을 만들었습니다. 검사기가 이름을 적고 남은 것을 지웠습니다".into(),
        }
    }

    /// The incident an English line names, for the report in another language.
    pub fn from_en(text: &str) -> Option<Incident> {
        Incident::ALL.into_iter().find(|i| i.en() == text)
    }

    /// The line of a check's note: the stable text, then what it concerns (the
    /// leftovers by name), so that a report folds the kind and still names each.
    pub fn with_detail(self, detail: &str) -> String {
        format!("{}{DETAIL_SEP}{detail}", self.en())
    }
}

/// Between an incident's stable text and its detail in a note.
pub const DETAIL_SEP: &str = " — ";

/// A note's incident line split into its stable text and its detail, if any.
pub fn split_detail(line: &str) -> (&str, Option<&str>) {
    match line.split_once(DETAIL_SEP) {
        Some((text, detail)) => (text, Some(detail)),
        None => (line, None),
    }
}

/// A leftover as `leftover_names` writes it (`cgroup PATH`, `mount POINT`), in
/// Korean: the kind's word translated, the names as they are.
pub fn leftovers_ko(detail: &str) -> String {
    detail
        .split(", ")
        .map(|item| match item.strip_prefix("mount ") {
            Some(point) => format!("마운트 {point}"),
            None => item.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How much of a runtime's stdout and stderr the checker keeps (the rest is read
/// and dropped, and said as an incident).
pub const OUTPUT_CAP: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detail_rides_after_the_stable_text() {
        let line = Incident::Leftovers.with_detail("cgroup /sys/fs/cgroup/pids/x/leak-1, mount /mnt");
        let (text, detail) = split_detail(&line);
        assert_eq!(Incident::from_en(text), Some(Incident::Leftovers));
        assert_eq!(
            leftovers_ko(detail.unwrap()),
            "cgroup /sys/fs/cgroup/pids/x/leak-1, 마운트 /mnt"
        );
    }

    #[test]
    fn every_incident_has_two_distinct_texts_that_read_back() {
        for i in Incident::ALL {
            assert_eq!(Incident::from_en(&i.en()), Some(i));
            assert_ne!(i.en(), i.ko());
        }
    }
}
