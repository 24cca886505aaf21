//! Reliability, as root: the leak audit (checks::audit) is empty after a full check
//! run, after a grader killed with SIGKILL at a random point and `harness cleanup`,
//! and after grading each hostile runtime; each hostile runtime is contained (the
//! grader ends within its limits, the machine answers, the result file is whole,
//! the report names what happened in one line).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use checks::audit::Snapshot;
use checks::runtime::bin_dir;

/// Time for killed processes, and the namespaces they held, to go.
const SETTLE: Duration = Duration::from_secs(15);

fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

fn assert_no_leaks(before: &Snapshot, what: &str) {
    let d = before.diff_settled(SETTLE);
    assert!(d.is_empty(), "{what} left the host changed:\n{}", d.join("\n"));
}

fn sh(cmd: &str) {
    let st = Command::new("sh").args(["-c", cmd]).status().unwrap();
    assert!(st.success(), "{cmd}");
}

/// The control: each kind of leftover, made by hand, shows in the audit.
#[test]
#[ignore = "needs root"]
#[serial_test::serial(host)]
fn the_audit_sees_every_kind_of_leftover() {
    let before = Snapshot::take();
    let dir = tempfile::Builder::new().prefix("lab-audit-").tempdir().unwrap();
    let d = dir.path().display().to_string();
    let own_pids = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .find_map(|l| l.split_once(":pids:").map(|(_, p)| p.to_string()))
        .expect("a pids hierarchy");
    let cg = format!("/sys/fs/cgroup/pids{}/lab-audit", own_pids.trim_end_matches('/'));
    // Removed however the test ends.
    struct Undo(String);
    impl Drop for Undo {
        fn drop(&mut self) {
            let _ = Command::new("sh").args(["-c", &self.0]).status();
        }
    }
    let undo = Undo(format!(
        "umount {d}/m; losetup -j {d}/img -O NAME -n | xargs -r -n1 losetup -d; rmdir {cg}; ip link del labaudit0; nft delete table inet labaudit"
    ));
    sh(&format!("mkdir {d}/m && mount -t tmpfs lab-audit {d}/m"));
    sh(&format!("mkdir {cg}"));
    sh(&format!("truncate -s 1M {d}/img && losetup --find {d}/img"));
    sh("ip link add labaudit0 type veth peer name labaudit1");
    sh("nft add table inet labaudit");
    let mut netns = Command::new("unshare").args(["--net", "sleep", "60"]).spawn().unwrap();
    let mut pidns = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child", "sleep", "60"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let d2 = before.diff(&Snapshot::take()).join("\n");
    netns.kill().unwrap();
    pidns.kill().unwrap();
    let _ = (netns.wait(), pidns.wait());
    drop(undo);
    drop(dir);
    for kind in [
        "+ mount:",
        "+ cgroup:",
        "+ loop device:",
        "+ network interface:",
        "+ nftables:",
        "+ scratch directory:",
        "+ network namespace:",
        "+ process:",
    ] {
        assert!(d2.contains(kind), "the audit missed a {kind} leftover:\n{d2}");
    }
    assert_no_leaks(&before, "the audit's own control");
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(host)]
fn a_full_check_run_leaves_nothing() {
    let before = Snapshot::take();
    let out = Command::new(bin("labcheck")).output().expect("running labcheck");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "labcheck (the job of `make check`) failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("containment:"),
        "the reference runtime needed containing:\n{text}"
    );
    assert_no_leaks(&before, "labcheck");
}

/// A small xorshift generator: the seed is printed, and LAB_AUDIT_SEED replays it.
fn random_delays(n: usize, max_ms: u64) -> (u64, Vec<u64>) {
    let seed = std::env::var("LAB_AUDIT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut x = seed;
    let delays = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            300 + x % max_ms
        })
        .collect();
    (seed, delays)
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(host)]
fn a_sigkilled_grader_is_cleaned_up_from_its_state_file() {
    // The whole grade takes ~10 s here (more on a busy machine): kill it anywhere in
    // its first 8 s.
    let (seed, delays) = random_delays(4, 7_700);
    eprintln!("kill points (LAB_AUDIT_SEED={seed}): {delays:?} ms");
    let before = Snapshot::take();
    let mut left_something = 0;
    for ms in delays {
        let mut grader = Command::new(bin("grade"))
            .args(["--brief"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the grader");
        std::thread::sleep(Duration::from_millis(ms));
        let finished = grader.try_wait().expect("polling the grader").is_some();
        grader.kill().expect("SIGKILL to the grader");
        grader.wait().expect("reaping the grader");
        let state = labkit::state::state_dir().join(format!("checker-{}-", grader.id()));
        let had_state = std::fs::read_dir(labkit::state::state_dir())
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.path().to_string_lossy().starts_with(&*state.to_string_lossy()))
            })
            .unwrap_or(false);
        // The control: a kill mid-run leaves something that only the cleanup removes.
        let killed_mid_run = !finished && !before.diff(&Snapshot::take()).is_empty();
        left_something += usize::from(killed_mid_run);
        let out = Command::new(bin("harness"))
            .arg("cleanup")
            .output()
            .expect("running harness cleanup");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "harness cleanup after a kill at {ms} ms failed:\n{said}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "killed at {ms} ms (finished already: {finished}, state file: {had_state}); harness cleanup said:\n{said}"
        );
        if had_state {
            assert!(
                !said.contains("nothing to clean up"),
                "a state file was there, yet cleanup found nothing: {said}"
            );
        }
        assert_no_leaks(
            &before,
            &format!("a grader SIGKILLed at {ms} ms (LAB_AUDIT_SEED={seed}) and harness cleanup"),
        );
    }
    assert!(
        left_something > 0,
        "no kill left anything to clean up (LAB_AUDIT_SEED={seed}): the test proved nothing"
    );
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(host)]
fn cleanup_leaves_a_running_checkers_state_alone() {
    // Started in this process: the state file's owner is alive.
    let dir = tempfile::tempdir().unwrap();
    let mine = tempfile::tempdir().unwrap();
    let j = labkit::state::Journal::new(dir.path());
    let item = labkit::state::Item::Dir {
        path: mine.path().to_path_buf(),
    };
    j.add(&item).unwrap();
    let out = Command::new(bin("harness"))
        .args(["cleanup", "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("left alone") && said.contains("is still running"),
        "{said}"
    );
    assert!(mine.path().exists(), "cleanup removed a running checker's directory");
    j.done(&item);
}

/// The leftover rule can fail a check: the reference runtime passes the UTS checks
/// (the control), and the same runtime wrapped by a fixture that leaves a mount and a
/// cgroup on every call fails each of them, naming both.
#[test]
#[ignore = "needs root"]
#[serial_test::serial(host)]
fn leftovers_fail_checks_the_runtime_otherwise_passes() {
    use checks::{catalog, run_all, Outcome, Runtime};
    let before = Snapshot::take();
    let chosen: Vec<_> = catalog()
        .into_iter()
        .filter(|c| c.id.starts_with("namespaces.uts."))
        .collect();
    assert!(chosen.len() >= 2, "{} UTS checks", chosen.len());
    let reference = Runtime::named("reference").unwrap();
    for r in run_all(&chosen, &reference, 2, |_| {}) {
        assert_eq!(
            r.outcome,
            Outcome::Pass,
            "control: {} against the reference runtime",
            r.id
        );
    }
    let mut leaky = Runtime::named(fixture("leaves-mount-and-cgroup").to_str().unwrap()).unwrap();
    leaky
        .env
        .push(("LAB_WRAPPED".into(), bin("harness").display().to_string()));
    for r in run_all(&chosen, &leaky, 2, |_| {}) {
        match &r.outcome {
            Outcome::Fail(f) => assert!(
                f.got.contains("mount /mnt") && f.got.contains("cgroup /") && f.got.contains("/hostile-leak-"),
                "{}: the failure does not name the leftovers: {f:?}",
                r.id
            ),
            other => panic!(
                "{}: a runtime leaving a mount and a cgroup must fail, got {other:?}",
                r.id
            ),
        }
    }
    assert_no_leaks(&before, "the wrapped reference runtime");
}

struct Hostile {
    name: &'static str,
    /// The report's one line about it.
    line: &'static str,
}

const HOSTILE: &[Hostile] = &[
    Hostile {
        name: "fork-bomb",
        line: "reached the checker's guard of 256 tasks",
    },
    Hostile {
        name: "memory-hog",
        line: "reached the checker's memory guard",
    },
    Hostile {
        name: "hang",
        line: "did not end within the time limit of a runtime call",
    },
    Hostile {
        name: "chatty",
        line: "printed more than 1 MiB on standard output",
    },
    Hostile {
        name: "ignores-sigterm",
        line: "ignored SIGTERM",
    },
    Hostile {
        name: "leaves-mount-and-cgroup",
        line: "left cgroups or mounts behind",
    },
    Hostile {
        name: "no-pid-file",
        line: "exited 0 before writing its --pid-file",
    },
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile")
        .join(name)
}

/// Grades one exercise (its checks: runs, a pid file, orphans, signals) with short limits.
const EXERCISE: &str = "ns-pid";

/// How many checks the exercise has, as the course's manifest says.
fn exercise_checks() -> usize {
    exercises::manifest()
        .unwrap()
        .exercises
        .iter()
        .find(|e| e.id == EXERCISE)
        .map(|e| e.checks.len())
        .expect("the exercise is in the manifest")
}
const JOBS: usize = 4;
const PROCESS_TIMEOUT: u64 = 5;
const CHECK_TIMEOUT: u64 = 30;

/// What grading one hostile runtime showed.
struct Graded {
    took: Duration,
    probes: usize,
    out: std::process::Output,
    gradescope: String,
}

/// Grades the exercise against hostile runtime `h`, starting host processes meanwhile.
fn grade_hostile(h: &Hostile) -> Graded {
    let dir = tempfile::tempdir().unwrap();
    let gradescope = dir.path().join("results.json");
    let mut grader = Command::new(bin("grade"))
        .env("LAB_RUNTIME", fixture(h.name))
        .args(["--exercise", EXERCISE, "-j", &JOBS.to_string()])
        .args([
            "--process-timeout",
            &PROCESS_TIMEOUT.to_string(),
            "--check-timeout",
            &CHECK_TIMEOUT.to_string(),
        ])
        .arg("--gradescope")
        .arg(&gradescope)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The machine stays usable: the host keeps starting processes while it runs.
    let started = Instant::now();
    let mut probes = 0;
    while grader.try_wait().unwrap().is_none() {
        let ok = Command::new("true").status().is_ok_and(|s| s.success());
        assert!(ok, "{}: the host could not start /bin/true while grading it", h.name);
        probes += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let took = started.elapsed();
    let out = grader.wait_with_output().unwrap();
    let gradescope = std::fs::read_to_string(&gradescope).unwrap_or_default();
    Graded {
        took,
        probes,
        out,
        gradescope,
    }
}

/// Every hostile runtime graded at once, each by a grader of its own (its own scratch,
/// cgroup parent and guards): they mostly wait on their time limits, and the machine
/// must stay usable under all of them together. Nothing is left once they all ended.
#[test]
#[ignore = "needs root"]
#[serial_test::serial(host)]
fn hostile_runtimes_are_contained() {
    assert!(fixture("fork-bomb").is_file(), "fixtures missing");
    let before = Snapshot::take();
    let graded: Vec<Graded> = std::thread::scope(|s| {
        let handles: Vec<_> = HOSTILE.iter().map(|h| s.spawn(move || grade_hostile(h))).collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (h, g) in HOSTILE.iter().zip(&graded) {
        let report = String::from_utf8_lossy(&g.out.stdout).into_owned();
        // Within its limits: checks in rounds of JOBS, each bounded by the check limit,
        // then at most the grader's settling (20 s of grace and 10 s of killing) for a
        // check past its limit, and 15 s for the rest (doctor, start, results).
        let checks = exercise_checks();
        let rounds = checks.div_ceil(JOBS) as u64;
        let bound = Duration::from_secs(rounds * CHECK_TIMEOUT + 20 + 10 + 15);
        let took = g.took;
        assert!(
            took < bound,
            "{}: the grader took {took:?}, over its limits ({bound:?})\n{report}",
            h.name
        );
        assert_eq!(
            g.out.status.code(),
            Some(1),
            "{}: expected exit 1 (checks failed)\n{report}\n{}",
            h.name,
            String::from_utf8_lossy(&g.out.stderr)
        );
        // The result file is whole: every check of the exercise, graded.
        let v: serde_json::Value = serde_json::from_str(&g.gradescope).unwrap();
        let tests = v["tests"].as_array().expect("tests in results.json");
        assert_eq!(tests.len(), checks, "{}: {v}", h.name);
        assert!(tests.iter().all(|t| t["status"] == "failed"), "{}: {v}", h.name);
        // One line in the report says what happened.
        let lines: Vec<&str> = report.lines().filter(|l| l.contains(h.line)).collect();
        assert_eq!(
            lines.len(),
            1,
            "{}: expected one line with {:?} in the report:\n{report}",
            h.name,
            h.line
        );
        // What was left is named, under that line.
        if h.name == "leaves-mount-and-cgroup" {
            assert!(
                report.contains("mount /mnt") && report.contains("/hostile-leak-"),
                "{}: the leftovers are not named:\n{report}",
                h.name
            );
        }
        eprintln!(
            "{}: {took:.1?}, {} host processes started meanwhile; {}",
            h.name,
            g.probes,
            lines[0].trim()
        );
    }
    let names: Vec<&str> = HOSTILE.iter().map(|h| h.name).collect();
    assert_no_leaks(&before, &format!("grading {}", names.join(", ")));
}

/// Directories a runtime leaves outside every scratch area (nsjail's
/// /run/user/nsjail.0.root) are named in the report, in both languages, and left
/// where they are: the grader cannot know whose they are.
#[test]
#[ignore = "needs root"]
#[serial_test::serial(host)]
fn files_left_outside_the_scratch_are_named() {
    let left = ["/run/lab-fixture-left.root", "/run/lab-fixture-left.tmp"];
    for d in left {
        let _ = std::fs::remove_dir(d);
    }
    for (lang, heading) in [
        ("en", "New outside the checker's scratch"),
        ("ko", "검사기 작업 영역 밖에 새로 생긴 것"),
    ] {
        let out = Command::new(bin("grade"))
            .env("LAB_RUNTIME", fixture("leaves-files"))
            .args(["--exercise", "ns-uts", "--lang", lang])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(report.contains(heading), "{report}");
        for d in left {
            assert!(report.contains(&format!(" ! {d}")), "{d} not named:\n{report}");
            assert!(Path::new(d).is_dir(), "{d} was removed: not the grader's to remove");
            std::fs::remove_dir(d).unwrap();
        }
    }
}
