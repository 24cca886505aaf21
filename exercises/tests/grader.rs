//! The grader's self-tests (root: they start containers). The reference runtime
//! scores every gradable point; each unmodified starter kit scores 0 with a hint
//! for every exercise; the partly solved fixture scores exactly its exercises; the
//! grade binary writes every output format, also when interrupted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use checks::{catalog, run_all, Runtime};
use exercises::{self as grade, human, GradeResult, Lang, Status};

#[path = "../../checks/tests/support/mod.rs"]
mod support;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn grade_with(rt: &Runtime) -> GradeResult {
    let m = grade::manifest().unwrap();
    let h = grade::hints().unwrap();
    let exercises = grade::select(&m, None, None).unwrap();
    let all = catalog();
    let checks: Vec<_> = exercises
        .iter()
        .flat_map(|e| e.checks.iter())
        .map(|id| *all.iter().find(|c| c.id == id).unwrap())
        .collect();
    let reports = run_all(&checks, rt, 4, |_| {});
    grade::score(&rt.name, &exercises, &reports, &h, false)
}

fn runtime_at(p: &Path) -> Runtime {
    let mut rt = Runtime::named(p.to_str().unwrap()).unwrap();
    rt.name = p.file_name().unwrap().to_string_lossy().into_owned();
    rt
}

fn snapshot(name: &str, text: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    s.set_prepend_module_to_snapshot(false);
    // Container names carry the checker's pid (refusals quote them).
    s.add_filter(r"-\d+x\d+", "-[pid]x[n]");
    // The checker's loop device is whichever is free (others may hold loop0).
    s.add_filter(r"/dev/loop\d+", "/dev/loop[n]");
    // A leftover is named by its path in the checker's scratch.
    s.add_filter(r"lab-check-\d+-\d+", "lab-check-[pid]-[n]");
    s.bind(|| insta::assert_snapshot!(name, text));
}

/// Every Korean form of `r` (the report with its details, the Markdown summary, the
/// HTML page) is Korean through: no debug form, no particle written both ways, no
/// English sentence (see `human::korean_problems`).
fn assert_korean_output(r: &GradeResult, what: &str) {
    let text = [
        human::render(r, Lang::Ko, true),
        grade::formats::markdown(r, Lang::Ko),
        human::html_text(&grade::formats::html(r, Lang::Ko)),
    ]
    .join("\n");
    let found = human::korean_problems(&text);
    assert!(
        found.is_empty(),
        "{what}: the Korean output is not Korean through:\n{}",
        found.join("\n")
    );
}

/// Every exercise of a starter scores 0 and shows a hint for each failing check;
/// checks the host cannot run are listed, not failed.
fn assert_zero_with_hints(r: &GradeResult) {
    assert_eq!(
        r.earned(),
        0,
        "a starter earned points:\n{}",
        human::render(r, Lang::En, true)
    );
    for e in &r.exercises {
        let failing: Vec<_> = e.checks.iter().filter(|c| c.status == Status::Fail).collect();
        assert!(
            !failing.is_empty() || e.ungradable() == e.max_points(),
            "exercise {} neither fails nor is ungradable",
            e.id
        );
        for c in failing {
            assert!(
                !c.hint.0.is_empty() && !c.hint.1.is_empty(),
                "{} fails without a hint",
                c.id
            );
        }
    }
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn reference_runtime_scores_every_gradable_point() {
    let r = grade_with(&Runtime::named("reference").unwrap());
    assert!(r.max_points() >= 200);
    assert_eq!(
        r.earned() + r.ungradable(),
        r.max_points(),
        "{}",
        human::render(&r, Lang::En, true)
    );
    assert!(!r.any_failed());
    assert_korean_output(&r, "the reference runtime");
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn shell_starter_scores_zero_with_hints() {
    let r = grade_with(&runtime_at(&repo().join("exercises/starters/shell/runtime.sh")));
    assert_zero_with_hints(&r);
    snapshot("grade_shell_starter", &human::render(&r, Lang::En, false));
    snapshot("grade_shell_starter_ko", &human::render(&r, Lang::Ko, false));
    assert_korean_output(&r, "the shell starter");
}

#[test]
#[ignore = "needs root; builds the Rust starter"]
#[serial_test::serial(suite)]
fn rust_starter_scores_zero_with_hints() {
    let dir = repo().join("exercises/starters/rust");
    let target = repo().join("target/starter-rust");
    let st = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(st.success(), "the Rust starter does not build");
    let bin = ["debug/my-runtime", "x86_64-unknown-linux-gnu/debug/my-runtime"]
        .iter()
        .map(|p| target.join(p))
        .filter(|p| p.exists())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .expect("my-runtime built");
    let r = grade_with(&runtime_at(&bin));
    assert_zero_with_hints(&r);
    snapshot("grade_rust_starter", &human::render(&r, Lang::En, false));
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn partial_fixture_scores_exactly_pid_and_uts() {
    let r = grade_with(&runtime_at(&repo().join("checks/tests/fixtures/partial-runtime")));
    let m = grade::manifest().unwrap();
    // sec-escape attacks what the earlier exercises built: its PID check needs no more than ns-pid.
    let sec_deserved = ["security.pid.cannot-see-or-signal-host"];
    let sec_points: u32 = r
        .exercises
        .iter()
        .flat_map(|e| &e.checks)
        .filter(|c| sec_deserved.contains(&c.id.as_str()))
        .map(|c| c.max_points)
        .sum();
    let want: u32 = m
        .exercises
        .iter()
        .filter(|e| e.id == "ns-pid" || e.id == "ns-uts")
        .map(|e| e.points)
        .sum::<u32>()
        + sec_points;
    assert_eq!(r.earned(), want, "{}", human::render(&r, Lang::En, true));
    assert_korean_output(&r, "the partial fixture");
    for e in &r.exercises {
        let full = e.earned() == e.max_points();
        assert_eq!(
            full,
            e.id == "ns-pid" || e.id == "ns-uts",
            "exercise {}: {}/{}",
            e.id,
            e.earned(),
            e.max_points()
        );
    }
    let sec = r
        .exercises
        .iter()
        .find(|e| e.id == "sec-escape")
        .expect("sec-escape graded");
    for c in &sec.checks {
        assert_eq!(
            c.earned == c.max_points,
            sec_deserved.contains(&c.id.as_str()),
            "{}: {}/{}",
            c.id,
            c.earned,
            c.max_points
        );
    }
}

fn grade_bin() -> PathBuf {
    checks::runtime::bin_dir().join("grade")
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn grade_binary_writes_every_format_and_exits_by_outcome() {
    let t = tempfile::tempdir().unwrap();
    let f = |n: &str| t.path().join(n);
    let gh_out = f("github_output");
    let summary = f("summary.md");
    let run = |runtime: &str, exercise: &str| {
        Command::new(grade_bin())
            .env("LAB_RUNTIME", runtime)
            .env("GITHUB_OUTPUT", &gh_out)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .args(["--exercise", exercise, "--brief"])
            .arg("--classroom")
            .arg(f("classroom.json"))
            .arg("--gradescope")
            .arg(f("results.json"))
            .arg("--junit")
            .arg(f("junit.xml"))
            .arg("--tap")
            .arg(f("results.tap"))
            .arg("--markdown")
            .arg(f("summary-file.md"))
            .output()
            .unwrap()
    };
    let fixture = repo().join("checks/tests/fixtures/exec-runtime");
    let out = run(fixture.to_str().unwrap(), "ns-uts");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let classroom: serde_json::Value = serde_json::from_slice(&std::fs::read(f("classroom.json")).unwrap()).unwrap();
    assert_eq!(classroom["max_score"], 10);
    assert_eq!(classroom["tests"].as_array().unwrap().len(), 3);
    let gradescope: serde_json::Value = serde_json::from_slice(&std::fs::read(f("results.json")).unwrap()).unwrap();
    assert_eq!(gradescope["tests"].as_array().unwrap().len(), 3);
    assert!(std::fs::read_to_string(f("junit.xml")).unwrap().contains("<testsuites"));
    assert!(std::fs::read_to_string(f("results.tap"))
        .unwrap()
        .starts_with("TAP version 14\n1..3\n"));
    assert!(std::fs::read_to_string(&gh_out).unwrap().starts_with("result="));
    assert!(!std::fs::read_to_string(&summary).unwrap().is_empty());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Next exercise: ns-uts"), "{text}");

    let out = run("reference", "ns-uts");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    let out = Command::new(grade_bin()).args(["--topic", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
    // No runtime at LAB_RUNTIME: exit 2, and still every requested file, each check
    // failed with the student's error (Gradescope must always find its results.json).
    for name in [
        "classroom.json",
        "results.json",
        "junit.xml",
        "results.tap",
        "summary-file.md",
    ] {
        let _ = std::fs::remove_file(f(name));
    }
    let out = run("/nonexistent/runtime", "ns-uts");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no runtime at /nonexistent/runtime") && !stderr.contains("host"),
        "{stderr}"
    );
    let gradescope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f("results.json")).expect("results.json on exit 2")).unwrap();
    let tests = gradescope["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 3);
    for t in tests {
        assert_eq!((&t["status"], &t["score"]), (&"failed".into(), &0.into()), "{t}");
        assert!(
            t["output"]
                .as_str()
                .unwrap()
                .contains("LAB_RUNTIME=/nonexistent/runtime: no runtime at"),
            "{t}"
        );
    }
    assert!(
        !gradescope["output"].as_str().unwrap().contains("The grading host"),
        "the student's error blamed on the host: {gradescope}"
    );
    for name in ["classroom.json", "junit.xml", "results.tap"] {
        assert!(f(name).exists(), "{name} on exit 2");
    }
    assert!(std::fs::read_to_string(f("summary-file.md"))
        .unwrap()
        .contains("/nonexistent/runtime"));
}

/// `grade --lang ko` and `labcheck --lang ko` speak Korean on stdout and stderr too
/// (the host's lines, progress, verdicts, the exit status), on a runtime that fails
/// (the exec fixture: no isolation at all) the three checks of one exercise.
#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn grade_and_labcheck_speak_korean_through() {
    let fixture = repo().join("checks/tests/fixtures/exec-runtime");
    let grade = Command::new(grade_bin())
        .env("LAB_RUNTIME", &fixture)
        .args(["--exercise", "ns-uts", "--lang", "ko"])
        .output()
        .unwrap();
    let labcheck = Command::new(checks::runtime::bin_dir().join("labcheck"))
        .env("LAB_RUNTIME", &fixture)
        .args(["--lang", "ko", "namespaces.uts"])
        .output()
        .unwrap();
    for (tool, out) in [("grade", &grade), ("labcheck", &labcheck)] {
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{tool}:\n{stdout}\n{stderr}");
        let found = human::korean_problems(&format!("{stdout}\n{stderr}"));
        assert!(
            found.is_empty(),
            "{tool} --lang ko is not Korean through:\n{}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            found.join("\n")
        );
        assert!(
            stderr.contains("실패"),
            "{tool}: no Korean verdict on stderr:\n{stderr}"
        );
    }
    assert!(String::from_utf8_lossy(&grade.stderr).contains("종료 상태 1"));
    assert!(String::from_utf8_lossy(&labcheck.stdout).contains("통과 0, 실패 3"));
}

/// A runtime that leaves a mount and a cgroup behind (the hostile fixture) is told
/// which in Korean too: the cgroup's path and the mount point, under the line that
/// says the checker removed them (the English report: checks/tests/containment.rs).
#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn leftovers_are_named_in_korean() {
    let out = Command::new(grade_bin())
        .env(
            "LAB_RUNTIME",
            repo().join("checks/tests/fixtures/hostile/leaves-mount-and-cgroup"),
        )
        .args(["--exercise", "ns-uts", "--brief", "--lang", "ko"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("cgroup이나 마운트를 남겼습니다"),
        "no leftover line:\n{report}"
    );
    let named = report.lines().any(|l| {
        l.trim_start().starts_with("namespaces.uts.")
            && l.contains("마운트 /mnt")
            && l.contains("cgroup /sys/fs/cgroup/")
            && l.contains("/hostile-leak-")
    });
    assert!(named, "the leftovers are not named:\n{report}");
    let found = human::korean_problems(&report);
    assert!(found.is_empty(), "{found:?}\n{report}");
}

/// A mistyped LAB_RUNTIME is the student's error, said in their language: the path
/// tried, made absolute against the directory the grader was started in, and what to
/// do; exit 2 before any check runs.
#[test]
#[ignore = "needs root"]
fn mistyped_lab_runtime_is_the_students_error_in_their_language() {
    let dir = tempfile::tempdir().unwrap();
    let run = |lang: &str| {
        Command::new(grade_bin())
            .current_dir(dir.path())
            .env("LAB_RUNTIME", "./my-runtime")
            .args(["--exercise", "ns-uts", "--brief", "--lang", lang])
            .output()
            .unwrap()
    };
    let tried = dir.path().join("my-runtime");
    let tried = tried.display();
    let cwd = dir.path().display();
    let en = run("en");
    let stderr = String::from_utf8_lossy(&en.stderr);
    assert_eq!(en.status.code(), Some(2), "{stderr}");
    for want in [
        format!("LAB_RUNTIME=./my-runtime: no runtime at {tried}"),
        format!("taken from the directory the checker was started in, {cwd}"),
        "nothing is there".to_string(),
        "Set LAB_RUNTIME to the path of your runtime".to_string(),
    ] {
        assert!(stderr.contains(&want), "{want:?} not in:\n{stderr}");
    }
    assert!(!stderr.contains("host"), "blames the host:\n{stderr}");
    let ko = run("ko");
    let stderr = String::from_utf8_lossy(&ko.stderr);
    assert_eq!(ko.status.code(), Some(2), "{stderr}");
    for want in [
        format!(
            "LAB_RUNTIME=./my-runtime: {tried}(상대 경로는 검사기를 시작한 디렉터리 {cwd} 기준)에 런타임이 없습니다"
        ),
        "그런 파일이 없습니다".to_string(),
        "실행 권한을 주세요".to_string(),
    ] {
        assert!(stderr.contains(&want), "{want:?} not in:\n{stderr}");
    }
    assert!(
        human::korean_problems(&stderr).is_empty(),
        "{:?}",
        human::korean_problems(&stderr)
    );
}

/// What the checker makes and must remove: scratch directories and parent cgroups.
fn checker_leftovers() -> std::collections::BTreeSet<PathBuf> {
    let mut v = std::collections::BTreeSet::new();
    let mut scan = |dir: &Path| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with("lab-check-") {
                    v.insert(e.path());
                }
            }
        }
    };
    scan(&std::env::temp_dir());
    let tree = checks::cgview::Tree::detect().unwrap();
    for d in tree.own_dirs() {
        scan(&d);
    }
    v
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn interrupted_grader_still_writes_complete_results() {
    let before = checker_leftovers();
    let t = tempfile::tempdir().unwrap();
    let classroom = t.path().join("classroom.json");
    let tap = t.path().join("results.tap");
    let mut child = Command::new(grade_bin())
        .env("LAB_RUNTIME", "reference")
        .arg("--classroom")
        .arg(&classroom)
        .arg("--tap")
        .arg(&tap)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(128 + 15));
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&classroom).unwrap()).unwrap();
    let n = catalog().len();
    assert_eq!(
        c["tests"].as_array().unwrap().len(),
        n,
        "every check is listed, run or not"
    );
    let tap = std::fs::read_to_string(&tap).unwrap();
    assert!(tap.contains(&format!("1..{n}")), "{tap}");
    // Nothing of the interrupted checks is left (the runtimes finish their own
    // cleanup once their containers are killed: allow them a few seconds).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left: Vec<_> = checker_leftovers().difference(&before).cloned().collect();
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "left behind by the interrupted grader: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A runtime that names a UTS namespace nobody asked to name (nsjail's "NSJAIL",
/// here the fault default-hostname) breaks the contract on the control run: the
/// check fails, naming the control run, and the grader exits 1, never 0 with the
/// points "not graded".
#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn hostname_without_request_fails_the_grade() {
    let out = Command::new(grade_bin())
        .args(["--exercise", "ns-uts"])
        .env(support::FAULT_ENV, "default-hostname")
        .env("LAB_RUNTIME", support::harness())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("namespaces.uts.hostname-set"), "{text}");
    assert!(text.contains("the control run, without --hostname"), "{text}");
    assert!(!text.contains("not graded"), "{text}");
}

/// The Gradescope path for a student with a shell runtime: `harness vm` grading it on
/// cgroup v2 with `--explain` (exercises/ci/gradescope/run_autograder). The VM once
/// had busybox's setpriv, which the shell starter calls and which knows none of its
/// options: every check failed there, whatever the student wrote.
#[test]
#[ignore = "needs root, boots a VM (qemu-system-x86, busybox-static)"]
#[serial_test::serial(suite)]
fn shell_runtime_grades_and_is_drawn_in_the_vm() {
    let t = tempfile::tempdir().unwrap();
    let partial = repo().join("checks/tests/fixtures/partial-runtime");
    let out = Command::new(checks::runtime::bin_dir().join("harness"))
        .args(["vm", "--cgroup", "v2", "--out"])
        .arg(t.path())
        .arg("--env")
        .arg(format!("LAB_RUNTIME={}", partial.display()))
        .args([
            "--",
            "grade",
            "--exercise",
            "ns-uts",
            "--explain",
            "--gradescope",
            "results.json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(t.path().join("results.json")).unwrap()).unwrap();
    let tests = v["tests"].as_array().unwrap();
    assert!(!tests.is_empty());
    for test in tests {
        assert_eq!(
            test["score"], test["max_score"],
            "ns-uts is done in the partial runtime: {test}"
        );
    }
    let output = v["output"].as_str().unwrap();
    assert!(
        output.contains("3 of 8 namespaces are its own (pid, uts, mnt)"),
        "{output}"
    );
    assert!(
        output.contains("not implemented yet: see exercise ns-cgroup-time"),
        "{output}"
    );
}
