//! Running checks: requirements first (skip), a fresh context, the check, its
//! cleanup; panics become `Broken`. Checks sharing a serial key take turns.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::check::Check;
use crate::ctx::Ctx;
use crate::outcome::{Outcome, Text};
use crate::runtime::Runtime;

/// The result of one check against one runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub id: String,
    pub topic: String,
    pub title: String,
    pub outcome: Outcome,
    pub duration: Duration,
    /// Figures the check measured, whatever its outcome.
    pub notes: Vec<String>,
}

/// One line per finished check for logs that are no terminal (CI):
/// `[12/49] namespaces.pid.init-is-pid-1 pass 0.4 s`.
pub fn progress_line(done: usize, total: usize, r: &CheckReport) -> String {
    progress_line_in(crate::text::Lang::En, done, total, r)
}

/// [`progress_line`] with the verdict and the unit in `lang`.
pub fn progress_line_in(lang: crate::text::Lang, done: usize, total: usize, r: &CheckReport) -> String {
    let secs = r.duration.as_secs_f64();
    let (label, took) = (
        r.outcome.label_in(lang),
        match lang {
            crate::text::Lang::En => format!("{secs:.1} s"),
            crate::text::Lang::Ko => format!("{secs:.1}초"),
        },
    );
    format!("[{done}/{total}] {} {label} {took}", r.id)
}

pub use crate::check::EXCLUSIVE_KEY;

fn serial_lock(key: &str) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut map = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.entry(key.to_string()).or_default().clone()
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Set when the run is being stopped (the grader got a signal): no further check starts.
pub static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Checks running right now (their cleanup included).
pub static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Stops the run: no new check starts; waits up to `grace` for the checks in
/// flight to end (and so to clean up after themselves). True when they all did.
pub fn stop_and_drain(grace: Duration) -> bool {
    use std::sync::atomic::Ordering;
    STOP.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + grace;
    while IN_FLIGHT.load(Ordering::SeqCst) > 0 {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// For a process about to exit: waits up to `grace` for the checks still in flight
/// (a check past its time limit goes on in the background) to end and clean up
/// after themselves; past it kills their containers and runtimes, and past 10 s
/// more removes what they made. A grader must not exit with a runtime running.
pub fn settle(grace: Duration) {
    if stop_and_drain(grace) {
        return;
    }
    crate::ctx::kill_live_containers();
    if !stop_and_drain(Duration::from_secs(10)) {
        crate::ctx::cleanup_live();
    }
}

pub fn run_check(check: &Check, rt: &Runtime) -> CheckReport {
    use std::sync::atomic::Ordering;
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _done = Done;
    let start = Instant::now();
    // A thread of its own: it gets a mount namespace of its own (see `contained`).
    let (outcome, notes, waited) = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name(check.id.into())
            .spawn_scoped(s, || contained(check, rt))
            .map(|t| {
                t.join()
                    .unwrap_or_else(|p| (Outcome::Broken(panicked(p)), Vec::new(), Duration::ZERO))
            })
            .unwrap_or_else(|e| {
                (
                    Outcome::Broken(crate::t!(
                        "starting the check's thread: {e}",
                        "검사 스레드를 시작하지 못했습니다: {e}"
                    )),
                    Vec::new(),
                    Duration::ZERO,
                )
            })
    });
    CheckReport {
        id: check.id.into(),
        topic: check.topic.into(),
        title: check.title.into(),
        outcome,
        // The check's own time: not its wait for its turn (another check of its
        // serial key, an exclusive check running).
        duration: start.elapsed().saturating_sub(waited),
        notes,
    }
}

/// Notes starting with this say what the checker had to contain (one line each).
pub const INCIDENT_PREFIX: &str = "containment: ";

/// Runs the check in a private mount namespace of the calling thread (a slave of
/// the host's: host mounts still propagate in, nothing propagates out). The runtime
/// calls inherit it, so whatever a runtime mounts and leaves, wherever, goes with
/// the namespace when the check's thread and processes end, even after a SIGKILL
/// of the checker. Checks read "the host's" mount table from this thread
/// (/proc/thread-self), which is the table a runtime without `--ns mnt` writes to.
/// The outcome, the notes, and how long the check waited for its turn.
fn contained(check: &Check, rt: &Runtime) -> (Outcome, Vec<String>, Duration) {
    if nix::unistd::geteuid().is_root() {
        if let Err(e) = labkit::mountinfo::enter_private_namespace() {
            return (
                Outcome::Broken(crate::t!(
                    "a private mount namespace for the check: {e}",
                    "검사용 개인 마운트 네임스페이스를 만들지 못했습니다: {e}"
                )),
                Vec::new(),
                Duration::ZERO,
            );
        }
    }
    outcome_of(check, rt)
}

/// Mount ids and points of the calling thread's mount namespace.
fn mounts() -> Vec<(String, String)> {
    let text = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap_or_default();
    labkit::mountinfo::parse_mountinfo(&text)
        .into_iter()
        .map(|m| (m.mount_id.to_string(), m.mount_point))
        .collect()
}

/// Removes cgroups a runtime made outside the parent it was given (freezer
/// hierarchies first), and says for each where it was and who removed it.
fn remove_misplaced(mut misplaced: Vec<std::path::PathBuf>) -> Vec<Text> {
    labkit::state::freezer_first(&mut misplaced);
    let mut out = Vec::new();
    for dir in &misplaced {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(5);
        let (removed, removed_ko) = if !dir.exists() {
            (
                "since removed by the runtime".to_string(),
                "그 뒤 런타임이 지움".to_string(),
            )
        } else {
            match labkit::state::remove_cgroup_tree(dir, deadline) {
                Ok(()) => ("removed by the checker".to_string(), "검사기가 지움".to_string()),
                Err(e) => (
                    format!("the checker could not remove it: {e}"),
                    format!("검사기가 지우지 못함: {e}"),
                ),
            }
        };
        let at = dir.display();
        out.push(Text {
            en: format!("cgroup {name} created outside LAB_CGROUP_PARENT, at {at} ({removed})"),
            ko: format!("LAB_CGROUP_PARENT 밖, {at}에 만들어진 cgroup {name}({removed_ko})"),
        });
    }
    out
}

/// After the check: what its runtime left (cgroups in the check's parent, mounts in
/// its namespace), and whether the guards stopped anything. Leftovers of a runtime
/// that ended by itself fail a passing check: the contract says nothing is left.
// Long: every kind of leftover in turn (guards, cgroups in the parent, cgroups outside it, mounts), each with its verdict.
fn audit(
    ctx: &Ctx,
    before: &[(String, String)],
    cgroup_watch: &crate::cgview::MisplacedWatch,
    outcome: Outcome,
    notes: &mut Vec<String>,
) -> Outcome {
    use crate::incident::Incident;
    let watched = ctx.rt.watch.get();
    let mut incidents = watched.incidents.clone();
    let mut left: Vec<String> = Vec::new();
    if let Ok(p) = ctx.cgroup_parent() {
        let (pids, memory) = p.guard_hits();
        if pids {
            incidents.push(Incident::PidsGuard.en());
        }
        if memory > 0 {
            incidents.push(Incident::MemoryGuard.en());
        }
        // One path per name: on v1 the same name may stand in several hierarchies.
        let mut seen = std::collections::BTreeSet::new();
        for d in p.leftovers() {
            if d.file_name().is_some_and(|n| seen.insert(n.to_os_string())) {
                left.push(format!("cgroup {}", d.display()));
            }
        }
    }
    // A cgroup the runtime made outside the parent it was given escaped every guard
    // and the leftover count above: a contract break, whoever ended the runtime.
    let mut misplaced: Vec<std::path::PathBuf> = crate::cgview::misplaced_cgroups(&watched.cgroup_names);
    // Made outside and removed again before the check ended: seen by the watch only.
    for p in cgroup_watch.created(&watched.cgroup_names) {
        if !misplaced.contains(&p) {
            misplaced.push(p);
        }
    }
    let outside = remove_misplaced(misplaced);
    if !outside.is_empty() {
        incidents.push(Incident::Misplaced.en());
    }
    let known: std::collections::HashSet<&String> = before.iter().map(|(id, _)| id).collect();
    left.extend(
        mounts()
            .into_iter()
            .filter(|(id, _)| !known.contains(id))
            .map(|(_, point)| format!("mount {point}")),
    );
    let mut outcome = outcome;
    if !left.is_empty() {
        let what = left.join(", ");
        let what_ko = crate::incident::leftovers_ko(&what);
        if watched.killed {
            notes.push(format!(
                "after the checker killed the runtime, it removed what was left: {what}"
            ));
        } else {
            incidents.push(Incident::Leftovers.with_detail(&what));
            if outcome == Outcome::Pass {
                outcome = Outcome::Fail(crate::outcome::Failure {
                    expected: crate::t!(
                        "nothing left behind once the runtime exits (no cgroup, no mount)",
                        "런타임이 끝나면 아무것도 남지 않음(cgroup도, 마운트도)"
                    ),
                    got: crate::t!("left {what}", "남은 것: {what_ko}"),
                    run: crate::outcome::RunRole::Tested,
                    command: watched.last_command.clone(),
                    stderr_tail: String::new(),
                    refused: None,
                    cause: None,
                });
            }
        }
    }
    if !outside.is_empty() {
        let what = outside.iter().map(|t| t.en.clone()).collect::<Vec<_>>().join("; ");
        let what_ko: Vec<String> = outside.iter().map(|t| t.ko.clone()).collect();
        if matches!(outcome, Outcome::Fail(_)) {
            notes.push(what);
        } else {
            outcome = Outcome::Fail(crate::outcome::Failure {
                expected: crate::t!(
                    "every container cgroup made under LAB_CGROUP_PARENT (contract §2: Where)",
                    "모든 컨테이너 cgroup이 LAB_CGROUP_PARENT 아래에 만들어짐(계약 §2: Where)"
                ),
                got: Text {
                    en: what.clone(),
                    ko: what_ko.join("; "),
                },
                run: crate::outcome::RunRole::Tested,
                command: watched.last_command.clone(),
                stderr_tail: String::new(),
                refused: None,
                cause: None,
            });
        }
    }
    notes.extend(incidents.into_iter().map(|i| format!("{INCIDENT_PREFIX}{i}")));
    outcome
}

fn panicked(p: Box<dyn std::any::Any + Send>) -> Text {
    let why = panic_text(p);
    crate::t!("the check panicked: {why}", "검사 코드가 패닉했습니다: {why}")
}

fn outcome_of(check: &Check, rt: &Runtime) -> (Outcome, Vec<String>, Duration) {
    for r in check.requires {
        if let Err(why) = r.check() {
            return (Outcome::Skip(why), Vec::new(), Duration::ZERO);
        }
    }
    // What the runtime under test cannot provide (an OCI runtime's known gaps).
    let unsupported = rt.unsupported();
    if let Some((_, why)) = unsupported
        .iter()
        .find(|(opt, _)| check.uses.iter().any(|u| crate::oci::uses_option(u, opt)))
    {
        return (
            Outcome::Skip(Text {
                en: why.clone(),
                ko: format!("런타임이 지원하지 않는다고 밝혔습니다: {why}"),
            }),
            Vec::new(),
            Duration::ZERO,
        );
    }
    // A check keyed "exclusive" (one that measures CPU time) runs alone; every
    // other check shares the run, taking turns with those of the same key.
    static EXCLUSIVE: std::sync::RwLock<()> = std::sync::RwLock::new(());
    let waiting = Instant::now();
    let _alone = (check.serial == Some(EXCLUSIVE_KEY)).then(|| EXCLUSIVE.write().unwrap_or_else(|p| p.into_inner()));
    let _shared = (check.serial != Some(EXCLUSIVE_KEY)).then(|| EXCLUSIVE.read().unwrap_or_else(|p| p.into_inner()));
    let lock = check.serial.filter(|k| *k != EXCLUSIVE_KEY).map(serial_lock);
    let _turn = lock.as_ref().map(|l| l.lock().unwrap_or_else(|p| p.into_inner()));
    let waited = waiting.elapsed();
    // The check's own watch (shared by the clones of the runtime it makes).
    let mut rt = rt.clone();
    rt.watch = Default::default();
    let ctx = match Ctx::new(rt) {
        Ok(c) => c,
        Err(o) => return (o, Vec::new(), waited),
    };
    let before = mounts();
    let cgroup_watch = crate::cgview::MisplacedWatch::start();
    let result = catch_unwind(AssertUnwindSafe(|| (check.run)(&ctx)));
    let mut notes = ctx.take_notes();
    let outcome = match result {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(o)) => o,
        Err(p) => Outcome::Broken(panicked(p)),
    };
    let outcome = crate::outcome::checker_busy_file(outcome);
    let outcome = audit(&ctx, &before, &cgroup_watch, outcome, &mut notes);
    drop(ctx);
    (outcome, notes, waited)
}

/// Runs one check with a time limit: past it the check is graded as failed
/// ("timed out after N s") and left to end on its own (every runtime call it makes
/// has its own limit, after which the runtime's process group is killed).
pub fn run_check_limited(check: &Check, rt: &Runtime, limit: Duration) -> CheckReport {
    let (tx, rx) = std::sync::mpsc::channel();
    let (c, r) = (*check, rt.clone());
    std::thread::spawn(move || {
        let _ = tx.send(run_check(&c, &r));
    });
    match rx.recv_timeout(limit) {
        Ok(report) => report,
        Err(_) => CheckReport {
            id: check.id.into(),
            topic: check.topic.into(),
            title: check.title.into(),
            outcome: Outcome::Fail(crate::outcome::Failure {
                expected: {
                    let secs = limit.as_secs();
                    crate::t!("the check to finish within {secs} s", "검사가 {secs}초 안에 끝남")
                },
                got: {
                    let secs = limit.as_secs();
                    crate::t!("timed out after {secs} s", "{secs}초가 지나도록 끝나지 않았습니다")
                },
                run: crate::outcome::RunRole::Tested,
                command: format!("{} (a runtime call that does not end)", rt.path.display()),
                stderr_tail: String::new(),
                refused: None,
                cause: None,
            }),
            duration: limit,
            notes: Vec::new(),
        },
    }
}

/// Runs `checks` with up to `jobs` at a time; reports come back in catalog order.
pub fn run_all(
    checks: &[Check],
    rt: &Runtime,
    jobs: usize,
    progress: impl FnMut(&CheckReport) + Send,
) -> Vec<CheckReport> {
    run_all_limited(checks, rt, jobs, None, progress)
}

pub fn run_all_limited(
    checks: &[Check],
    rt: &Runtime,
    jobs: usize,
    limit: Option<Duration>,
    progress: impl FnMut(&CheckReport) + Send,
) -> Vec<CheckReport> {
    let pairs: Vec<(Check, Runtime)> = checks.iter().map(|c| (*c, rt.clone())).collect();
    run_pairs(&pairs, jobs, limit, progress)
}

/// Each check against its own runtime (the mutation matrix: one check under its
/// faults), `jobs` at a time in the order of [`crate::schedule::Queue`]; the reports
/// in the order given.
pub fn run_pairs(
    pairs: &[(Check, Runtime)],
    jobs: usize,
    limit: Option<Duration>,
    mut progress: impl FnMut(&CheckReport) + Send,
) -> Vec<CheckReport> {
    let queue = crate::schedule::Queue::new(pairs.iter().map(|(c, _)| c.serial).collect());
    let results: Mutex<Vec<Option<CheckReport>>> = Mutex::new(vec![None; pairs.len()]);
    let progress = Mutex::new(&mut progress);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                while let Some(i) = queue.next() {
                    if STOP.load(std::sync::atomic::Ordering::SeqCst) {
                        queue.done(i);
                        break;
                    }
                    let (check, rt) = &pairs[i];
                    let report = match limit {
                        Some(l) => run_check_limited(check, rt, l),
                        None => run_check(check, rt),
                    };
                    queue.done(i);
                    (progress.lock().unwrap())(&report);
                    results.lock().unwrap()[i] = Some(report);
                }
            });
        }
    });
    // A stopped run returns the checks that ran.
    results.into_inner().unwrap().into_iter().flatten().collect()
}

/// The places where runtimes keep files of their own (nsjail leaves
/// `/run/user/nsjail.0.root`): their top-level entries before a run, to name what
/// is new after it. Only named, never removed: they may be another program's.
const FOREIGN_DIRS: [&str; 5] = ["/run", "/run/user", "/tmp", "/var/tmp", "/dev/shm"];

#[derive(Debug, Clone, Default)]
pub struct ForeignFiles(std::collections::BTreeSet<std::path::PathBuf>);

impl ForeignFiles {
    pub fn snapshot() -> ForeignFiles {
        ForeignFiles(Self::entries())
    }

    fn entries() -> std::collections::BTreeSet<std::path::PathBuf> {
        FOREIGN_DIRS
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|rd| rd.flatten().map(|e| e.path()))
            .collect()
    }

    /// What is new since the snapshot, the checker's own scratch and state aside.
    pub fn new_since(&self) -> Vec<String> {
        Self::entries()
            .into_iter()
            .filter(|p| !self.0.contains(p))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("lab-check"))
            })
            .map(|p| p.display().to_string())
            .collect()
    }
}
