//! The four outcomes of a check, never fewer (LTP's TPASS/TFAIL/TCONF/TBROK).

use std::fmt;

use crate::runtime::Run;
pub use crate::text::{in_korean, Lang, Text};

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// The runtime is wrong.
    Fail(Failure),
    /// This host cannot run the check; never counts against the runtime.
    Skip(Text),
    /// The check itself or the host failed; never counts against the runtime.
    Broken(Text),
}

impl Outcome {
    /// A failure whose cause the check observed itself (no PID namespace, `lo` down):
    /// it replaces what the run's stderr suggested.
    pub fn because(self, cause: crate::cause::Cause) -> Outcome {
        match self {
            Outcome::Fail(mut f) => {
                f.cause = Some(cause);
                Outcome::Fail(f)
            }
            other => other,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "skip",
            Outcome::Broken(_) => "BROKEN",
        }
    }

    /// The verdict's word in `lang` (the glossary's 통과, 실패, 건너뜀, 검사 오류).
    pub fn label_in(&self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::En, _) => self.label(),
            (Lang::Ko, Outcome::Pass) => "통과",
            (Lang::Ko, Outcome::Fail(_)) => "실패",
            (Lang::Ko, Outcome::Skip(_)) => "건너뜀",
            (Lang::Ko, Outcome::Broken(_)) => "검사 오류",
        }
    }
}

/// Expected versus got, with the run that showed it, its command line and the
/// runtime's stderr tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub expected: Text,
    pub got: Text,
    /// Which run showed it: the tested run, a control run (and what it leaves out),
    /// or the host's own view.
    pub run: RunRole,
    pub command: String,
    pub stderr_tail: String,
    /// The runtime refused the run itself (exit 125): its `runtime error:` line, so
    /// that a hint does not talk about what the probe saw when it never ran.
    pub refused: Option<String>,
    /// What the check saw go wrong before the step it tests, which picks the hint
    /// (`crate::cause`): from the run's exit status and stderr, or set by the check.
    pub cause: Option<crate::cause::Cause>,
}

/// What a control run leaves out, in Korean (the checks' phrases; flags as they are).
pub fn control_ko(without: &str) -> String {
    let fixed = [
        ("writing instead of reading", "읽는 대신 쓰기"),
        ("with the layers swapped", "레이어 순서를 바꿔서"),
        (
            "deleting a file only the upper layer has",
            "upper 레이어에만 있는 파일을 지우기",
        ),
        ("before the directory is removed", "디렉터리를 지우기 전"),
        ("on A's upper layer", "A의 upper 레이어 위에서"),
        ("a data write instead of chmod", "chmod 대신 데이터 쓰기"),
        (
            "without overlay (the same tree as --rootfs)",
            "overlay 없이(같은 트리를 --rootfs로)",
        ),
        ("with a UTS namespace of its own", "자기 UTS 네임스페이스를 주고"),
        (
            "a container that writes to the shared file",
            "공유 파일에 쓰는 컨테이너",
        ),
        ("a directory only in the upper layer", "upper 레이어에만 있는 디렉터리"),
        ("a fresh container on the same layers", "같은 레이어 위의 새 컨테이너"),
        ("a quiet container with --memory 32M", "--memory 32M인 조용한 컨테이너"),
        ("a second write, after the copy-up", "copy-up 뒤의 두 번째 쓰기"),
        ("an empty lower directory", "빈 lower 디렉터리"),
        ("an image on a changed base", "바뀐 베이스 위의 이미지"),
        ("another container holding 8 MiB", "8 MiB를 잡고 있는 다른 컨테이너"),
        ("image v2 again", "이미지 v2를 다시"),
        ("the lower tarball alone", "lower tarball만으로"),
        ("with equal weights", "같은 가중치로"),
        ("with --ns user too", "--ns user도 주고"),
    ];
    if let Some((_, ko)) = fixed.iter().find(|(en, _)| *en == without) {
        return ko.to_string();
    }
    // The signal checks' controls: "a command that exits 3, with --ns pid".
    for (en, ko) in [
        ("a command that exits 3, ", "3으로 끝나는 명령, "),
        ("before the signal, ", "시그널 전, "),
    ] {
        if let Some(rest) = without.strip_prefix(en) {
            return format!("{ko}{}", control_ko(rest));
        }
    }
    if let Some(rest) = without.strip_prefix("without ") {
        return format!("{rest} 없이");
    }
    if let Some(rest) = without.strip_prefix("with ") {
        return crate::text::josa(rest, "로");
    }
    without.to_string()
}

/// The line of a failure's text that quotes the runtime's refusal.
pub const REFUSED_PREFIX: &str = "refused:  the runtime refused this run before the command ran: ";
/// The same line in Korean.
pub const REFUSED_PREFIX_KO: &str = "거부:     런타임이 명령을 실행하기 전에 이 실행을 거부했습니다: ";

/// Who ran what a failure was seen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRole {
    /// A run of the runtime with the feature under test.
    Tested,
    /// A run of the runtime without the feature (the text says what it leaves out):
    /// its contract holds there too, so a wrong answer is the runtime's failure.
    Control(String),
    /// The checker's own look at the host (after or beside the runs).
    Host,
}

impl RunRole {
    pub fn describe(&self) -> String {
        match self {
            RunRole::Tested => "the tested run".into(),
            RunRole::Control(without) => format!("the control run, {without}"),
            RunRole::Host => "the host's view".into(),
        }
    }

    pub fn describe_ko(&self) -> String {
        match self {
            RunRole::Tested => "검사 대상".into(),
            RunRole::Control(without) => format!("대조 실험({})", control_ko(without)),
            RunRole::Host => "호스트 쪽 관찰".into(),
        }
    }
}

impl Failure {
    /// Expected, got, the run and its command, the refusal and the stderr tail, with
    /// labels in `lang` (ids, commands and the runtime's own words as they are).
    pub fn render(&self, lang: Lang) -> String {
        let (expected, got, run, refused, stderr) = match lang {
            Lang::En => ("expected: ", "got:      ", "run:      ", REFUSED_PREFIX, "stderr:   "),
            Lang::Ko => (
                "기대:     ",
                "실제:     ",
                "실행:     ",
                REFUSED_PREFIX_KO,
                "표준오류: ",
            ),
        };
        let role = match lang {
            Lang::En => self.run.describe(),
            Lang::Ko => self.run.describe_ko(),
        };
        let mut s = format!(
            "{expected}{}\n{got}{}\n{run}{role}: {}",
            self.expected.get(lang),
            self.got.get(lang),
            self.command
        );
        if let Some(line) = &self.refused {
            s.push_str(&format!("\n{refused}{line}"));
        }
        if !self.stderr_tail.trim().is_empty() {
            s.push_str(&format!(
                "\n{stderr}{}",
                self.stderr_tail.trim_end().replace('\n', "\n          ")
            ));
        }
        s
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

/// What a check function returns: `Ok(())` is a pass; `Err` carries any other outcome,
/// so helpers can be chained with `?`.
pub type CheckResult = Result<(), Outcome>;

/// A failure observed on `run` (a tested run).
pub fn fail(expected: impl Into<Text>, got: impl Into<Text>, run: &Run) -> Outcome {
    let mut f = Failure {
        expected: expected.into(),
        got: got.into(),
        run: RunRole::Tested,
        command: String::new(),
        stderr_tail: String::new(),
        refused: None,
        cause: None,
    };
    f.seen_on(run);
    Outcome::Fail(f)
}

impl Failure {
    /// What `run` shows of itself: its command line, stderr tail, refusal and the
    /// cause its exit status and stderr tell (one place, so no path forgets one).
    pub fn seen_on(&mut self, run: &Run) {
        self.command = run.command_line();
        self.stderr_tail = run.stderr_tail(8);
        self.refused = refusal(run);
        self.cause = crate::cause::Cause::from_run(run.code(), &String::from_utf8_lossy(&run.stderr), &self.command);
    }
}

/// The `runtime error:` line of a run the runtime refused (exit 125).
pub fn refusal(run: &Run) -> Option<String> {
    if run.code() != Some(125) {
        return None;
    }
    let text = String::from_utf8_lossy(&run.stderr).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("runtime error:"))
        .map(str::to_string);
    Some(line.unwrap_or_else(|| "exit 125 without a `runtime error:` line".into()))
}

/// A failure observed from the host, outside any one run.
pub fn fail_host(expected: impl Into<Text>, got: impl Into<Text>, what: impl Into<String>) -> Outcome {
    Outcome::Fail(Failure {
        expected: expected.into(),
        got: got.into(),
        run: RunRole::Host,
        command: what.into(),
        stderr_tail: String::new(),
        refused: None,
        cause: None,
    })
}

/// A control run through the runtime under test that broke the contract: the
/// runtime's failure, naming the control run. `without` says what the control left
/// out ("without --hostname").
pub fn control_fail(without: &str, expected: impl Into<Text>, got: impl Into<Text>, run: &Run) -> Outcome {
    as_control_outcome(without, fail(expected, got, run))
}

/// Marks a failure that came out of a control run (the runtime refused it, the
/// probe saw no output...) as the control run's.
pub fn as_control<T>(without: &str, r: Result<T, Outcome>) -> Result<T, Outcome> {
    r.map_err(|o| as_control_outcome(without, o))
}

fn as_control_outcome(without: &str, o: Outcome) -> Outcome {
    match o {
        Outcome::Fail(mut f) if f.run == RunRole::Tested => {
            f.run = RunRole::Control(without.to_string());
            Outcome::Fail(f)
        }
        other => other,
    }
}

pub fn broken(why: impl Into<Text>) -> Outcome {
    Outcome::Broken(why.into())
}

pub fn skip(why: impl Into<Text>) -> Outcome {
    Outcome::Skip(why.into())
}

/// `cond` or a failure saying expected/got.
pub fn ensure(cond: bool, expected: impl Into<Text>, got: impl Into<Text>, run: &Run) -> CheckResult {
    if cond {
        Ok(())
    } else {
        Err(fail(expected, got, run))
    }
}

/// A control the checker runs itself, without the runtime (a bare chroot, unshare,
/// the host's own figures), that did not show the difference: the check cannot
/// tell, and neither the runtime nor the student is to blame.
pub fn host_control_failed(what: impl Into<Text>) -> Outcome {
    let w = what.into();
    Outcome::Broken(Text {
        en: format!(
            "the checker's own control on the host did not show the difference: {}",
            w.en
        ),
        ko: format!(
            "검사기가 호스트에서 직접 돌린 대조 실험이 차이를 보여 주지 못했습니다: {}",
            w.ko
        ),
    })
}

/// A failure whose run could not execute a file because it was open for writing
/// (ETXTBSY) is the checker's: every file a container executes is one the checker
/// wrote (the probe in a root file system), and a copy still open in some process is
/// its own race, never the runtime's fault. The checker writes them so that this cannot
/// happen (labkit::exec_file); should it happen all the same, the verdict is broken.
pub fn checker_busy_file(outcome: Outcome) -> Outcome {
    let Outcome::Fail(f) = &outcome else {
        return outcome;
    };
    let busy = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.contains("text file busy") || s.contains("etxtbsy")
    };
    let line = f
        .stderr_tail
        .lines()
        .chain(f.got.en.lines())
        .chain(f.refused.iter().map(String::as_str))
        .find(|l| busy(l));
    match line {
        Some(line) => Outcome::Broken(crate::t!(
            "a file the checker prepared was still open for writing when the container executed it (ETXTBSY: the checker's fault, not the runtime's): {line}",
            "검사기가 준비한 파일이 컨테이너가 실행할 때 아직 쓰기용으로 열려 있었습니다(ETXTBSY: 런타임이 아니라 검사기의 잘못): {line}"
        )),
        None => outcome,
    }
}

/// The host is too busy (or too slow) for the observation to decide anything.
pub fn host_too_busy(what: impl Into<Text>) -> Outcome {
    let w = what.into();
    Outcome::Broken(Text {
        en: format!("host too busy: {}", w.en),
        ko: format!("호스트가 너무 바쁩니다: {}", w.ko),
    })
}

/// The exit status of `labcheck` and `grade` alike (README, "Exit status"): 0 when no
/// check failed or broke (skips allowed: the host cannot run them, nobody failed), 1
/// when a check failed, 2 when none failed but one broke (the host or the checker, not
/// the runtime); 2 also for a host or usage problem before any check runs.
pub fn exit_status(any_failed: bool, any_broken: bool) -> u8 {
    match (any_failed, any_broken) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    }
}

#[cfg(test)]
mod control_tests {
    use super::control_ko;

    /// Every control a check names (its `const ...: &str` labels and the literals
    /// passed to `as_control`/`control_fail`) has Korean words: no English left.
    #[test]
    fn every_control_label_reads_in_korean() {
        let topics = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/topics");
        let mut dirs = vec![topics];
        let mut labels = Vec::new();
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                    continue;
                }
                let src = std::fs::read_to_string(&p).unwrap();
                for line in src.lines() {
                    let t = line.trim();
                    let quoted = t.split('"').nth(1);
                    let label = t.starts_with("const ") && t.contains(": &str = \"")
                        || t.starts_with("as_control(\"")
                        || t.starts_with("control_fail(\"");
                    // A label is a phrase; the other constants are figures and paths.
                    if let (true, Some(q)) = (label, quoted.filter(|q| q.contains(' '))) {
                        labels.push(q.to_string());
                    }
                }
            }
        }
        assert!(labels.len() > 20, "{labels:?}");
        let english: Vec<String> = labels
            .iter()
            .map(|l| (l, control_ko(l)))
            .filter(|(_, ko)| !ko.chars().any(|c| ('가'..='힣').contains(&c)))
            .map(|(l, ko)| format!("{l:?} -> {ko:?}"))
            .collect();
        assert!(english.is_empty(), "controls without Korean:\n{}", english.join("\n"));
        assert_eq!(
            control_ko("a command that exits 3, with --ns pid"),
            "3으로 끝나는 명령, --ns pid로"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(got: &str, stderr_tail: &str) -> Outcome {
        Outcome::Fail(Failure {
            expected: crate::t!("a probe line", "probe 줄"),
            got: Text::from(got),
            run: RunRole::Tested,
            command: "harness run --rootfs /tmp/x -- /bin/probe ns".into(),
            stderr_tail: stderr_tail.into(),
            refused: None,
            cause: None,
        })
    }

    #[test]
    fn an_exec_that_met_a_busy_file_is_the_checkers_fault() {
        for (got, tail) in [
            (
                "exit status 126",
                "runtime error: /bin/probe: cannot execute: Text file busy (exit 126)",
            ),
            ("runtime error: exec /bin/probe: ETXTBSY", ""),
            ("exit status 1", "exec failed: exec: \"/bin/probe\": text file busy"),
        ] {
            match checker_busy_file(failure(got, tail)) {
                Outcome::Broken(why) => {
                    assert!(why.en.contains("ETXTBSY: the checker's fault"), "{why:?}");
                    assert!(why.ko.contains("검사기의 잘못"), "{why:?}");
                }
                other => panic!("{got} / {tail}: expected broken, got {other:?}"),
            }
        }
    }

    #[test]
    fn other_failures_stay_the_runtimes() {
        let f = failure("exit status 126", "runtime error: /bin/probe: Permission denied");
        assert_eq!(checker_busy_file(f.clone()), f);
        assert_eq!(checker_busy_file(Outcome::Pass), Outcome::Pass);
    }
}
