//! Proof that every check can fail, against runtimes nobody tuned for the checks:
//! - the mutation matrix: the reference runtime with its test-only faults
//!   (harness/src/fault.rs, built by tests/support with `--features faults`) fails
//!   exactly the checks tests/mutations.toml names for each;
//! - naive runtimes (tests/fixtures/exec-runtime, unshare-runtime) pass exactly
//!   the checks tests/naive.toml says their features deserve.
//!
//! Everything runs in a private UTS namespace (one thread's, inherited by the
//! checks and the runtimes they start): the `hostname-outside-uts` fault renames
//! the namespace it runs in, which must not be the host's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use checks::{catalog, run_all, CheckReport, Outcome, Runtime};
use serde::Deserialize;

mod support;

#[derive(Debug, Deserialize)]
struct Fault {
    #[serde(default)]
    serial: bool,
    caught: Vec<String>,
    #[serde(default)]
    broken: Vec<String>,
    /// Checks that catch the fault only where this host lacks something the VM of
    /// `make check-vm` has (swap, BFQ): run there by `faults_caught_in_the_vm`.
    #[serde(default)]
    caught_in_vm: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Naive {
    passes: Vec<String>,
}

fn matrix() -> BTreeMap<String, Fault> {
    toml::from_str(include_str!("mutations.toml")).unwrap()
}

fn naive() -> BTreeMap<String, Naive> {
    toml::from_str(include_str!("naive.toml")).unwrap()
}

/// The README's rendering of the matrix.
fn render() -> String {
    let mut s = String::from("| fault | what it removes | caught by |\n|---|---|---|\n");
    for support::Fault { name, what } in support::faults() {
        let f = &matrix()[&name];
        let mut ids: Vec<String> = f.caught.iter().map(|c| format!("`{c}`")).collect();
        ids.extend(f.caught_in_vm.iter().map(|c| format!("`{c}` (in the VM)")));
        s.push_str(&format!("| `{name}` | {what} | {} |\n", ids.join(", ")));
    }
    s
}

#[test]
fn matrix_covers_every_fault_with_known_checks() {
    let m = matrix();
    let names: BTreeSet<String> = support::faults().into_iter().map(|f| f.name).collect();
    assert_eq!(m.keys().cloned().collect::<BTreeSet<_>>(), names);
    let ids: BTreeSet<&str> = catalog().iter().map(|c| c.id).collect();
    for (fault, f) in &m {
        assert!(
            !f.caught.is_empty() || !f.caught_in_vm.is_empty(),
            "fault {fault} is caught by no check: add one"
        );
        for c in f.caught.iter().chain(&f.broken).chain(&f.caught_in_vm) {
            assert!(ids.contains(c.as_str()), "fault {fault} names unknown check {c}");
        }
    }
    for (rt, n) in naive() {
        for c in &n.passes {
            assert!(ids.contains(c.as_str()), "{rt} names unknown check {c}");
        }
    }
}

/// The jobs of a small made-up matrix: each fault alone against the checks it names,
/// each check once with the rest at once, the serial fault alone against everything.
#[test]
fn matrix_jobs_pair_faults_with_their_checks_and_mix_the_rest() {
    let all = catalog();
    let (c0, c1, c2) = (all[0], all[1], all[2]);
    let fault = |caught: &[&str], broken: &[&str], serial: bool| Fault {
        serial,
        caught: caught.iter().map(|c| c.to_string()).collect(),
        broken: broken.iter().map(|c| c.to_string()).collect(),
        caught_in_vm: Vec::new(),
    };
    let m: BTreeMap<String, Fault> = [
        ("a".to_string(), fault(&[c0.id], &[], false)),
        ("b".to_string(), fault(&[], &[c1.id], false)),
        ("s".to_string(), fault(&[c2.id], &[], true)),
    ]
    .into_iter()
    .collect();
    let show = |jobs: &[Job]| -> Vec<String> {
        jobs.iter()
            .map(|j| format!("{} {} {:?}", j.check.id, j.faults.join("+"), j.expect))
            .collect()
    };
    let (pool, serial) = matrix_jobs(&m, &[c0, c1, c2], false);
    assert_eq!(
        show(&pool),
        [
            format!("{} a Fail", c0.id),
            format!("{} b Unharmed", c0.id),
            format!("{} b Broken", c1.id),
            format!("{} a Unharmed", c1.id),
            format!("{} a+b Unharmed", c2.id),
        ]
    );
    assert_eq!(
        show(&serial),
        [
            format!("{} s Unharmed", c0.id),
            format!("{} s Unharmed", c1.id),
            format!("{} s Fail", c2.id),
        ]
    );
    let (full, _) = matrix_jobs(&m, &[c0, c1, c2], true);
    assert_eq!(
        full.len(),
        6,
        "full: each pooled fault alone against each check\n{:#?}",
        show(&full)
    );
    assert!(full.iter().all(|j| j.faults.len() == 1));
    // A leak: the mixed run of a check that noticed a fault differs from the matrix.
    let mixed = &pool[4];
    let report = |outcome| CheckReport {
        id: mixed.check.id.into(),
        topic: mixed.check.topic.into(),
        title: mixed.check.title.into(),
        outcome,
        duration: std::time::Duration::ZERO,
        notes: Vec::new(),
    };
    assert!(mismatch(mixed, &report(Outcome::Pass)).is_none());
    let why = mismatch(mixed, &report(Outcome::Broken("seen".into()))).expect("a leak is a mismatch");
    assert!(why.contains("a,b"), "{why}");
    assert!(
        mismatch(&pool[0], &report(Outcome::Pass)).is_some(),
        "a fault its check missed"
    );
}

#[test]
fn readme_shows_the_matrix() {
    let readme = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let table = render();
    assert!(
        readme.contains(&table),
        "README.md must contain the mutation matrix; render:\n{table}"
    );
}

/// `f` on a thread of its own in a private UTS namespace, which the checks and the
/// runtimes they start inherit.
fn in_own_uts<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS).expect("unshare(CLONE_NEWUTS)");
            f()
        })
        .join()
        .unwrap()
    })
}

/// Runs the whole catalog in a private UTS namespace.
fn run_isolated(rt: Runtime, jobs: usize) -> Vec<CheckReport> {
    in_own_uts(|| run_all(&catalog(), &rt, jobs, |_| {}))
}

/// The Korean report of `reports`, with every failure's details, holds no English
/// sentence (ids, commands, paths and the runtime's own words aside), no debug form
/// and no particle written both ways.
fn assert_korean(reports: &[CheckReport], what: &str) {
    use exercises::{self as grade, human, Lang};
    let m = grade::manifest().unwrap();
    let h = grade::hints().unwrap();
    let exercises = grade::select(&m, None, None).unwrap();
    let r = grade::score("rt", &exercises, reports, &h, false);
    let text = human::render(&r, Lang::Ko, true) + &grade::formats::markdown(&r, Lang::Ko);
    let left = human::korean_problems(&text);
    assert!(
        left.is_empty(),
        "{what}: the Korean report is not Korean through:\n{}",
        left.join("\n")
    );
}

/// Every directory at the root of every mounted cgroup hierarchy.
fn hierarchy_roots() -> BTreeSet<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mountinfo
        .lines()
        .filter(|l| l.contains(" - cgroup"))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .filter_map(|p| std::fs::read_dir(p).ok())
        .flat_map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.path())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn ids_with(reports: &[CheckReport], pick: impl Fn(&Outcome) -> bool) -> BTreeSet<String> {
    reports
        .iter()
        .filter(|r| pick(&r.outcome))
        .map(|r| r.id.clone())
        .collect()
}

fn describe(reports: &[CheckReport]) -> String {
    reports
        .iter()
        .filter(|r| r.outcome != Outcome::Pass)
        .map(|r| format!("{} {}: {:?}", r.outcome.label(), r.id, r.outcome))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks running at once in the matrix's pool: the pool's checks mostly wait on
/// their containers, so more fit beside each other than labcheck's 4, and the
/// exclusive ones still run alone.
const MATRIX_JOBS: usize = 6;

/// What a run of the matrix must show.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// The check catches the fault.
    Fail,
    /// The fault leaves the check's control unable to show a difference.
    Broken,
    /// The faults are none of the check's business: its outcome without them.
    Unharmed,
}

/// One run of the matrix: a check against the reference runtime with `faults` on.
struct Job {
    check: checks::Check,
    faults: Vec<String>,
    expect: Expect,
}

/// The runs that prove the matrix. Each fault runs against every check that must
/// catch it (or break under it), where it must show; then each check runs once more
/// with every other fault on at once (those that must neither catch nor break it),
/// and must not notice: a fault that leaks into a check it is not listed for fails
/// that run. That is about 200 runs instead of the whole catalog once per fault
/// (about 2,000), with the same contract: exactly the listed checks fail. Only a
/// fault that both leaked into a check and was undone there by another fault would
/// hide; `LAB_MATRIX=full` runs every fault alone against the whole catalog.
///
/// A `serial` fault (it renames the UTS namespace it runs in, which the checks beside
/// it would see) is never mixed: it runs alone against the whole catalog, one check at
/// a time (`serial_jobs`).
fn matrix_jobs(m: &BTreeMap<String, Fault>, all: &[checks::Check], full: bool) -> (Vec<Job>, Vec<Job>) {
    let expect_of = |f: &Fault, id: &str| {
        if f.caught.iter().any(|c| c == id) {
            Expect::Fail
        } else if f.broken.iter().any(|c| c == id) {
            Expect::Broken
        } else {
            Expect::Unharmed
        }
    };
    let alone = |name: &String, c: &checks::Check| Job {
        check: *c,
        faults: vec![name.clone()],
        expect: expect_of(&m[name], c.id),
    };
    let (serial, pooled): (Vec<_>, Vec<_>) = m.iter().partition(|(_, f)| f.serial);
    let serial_jobs = serial
        .iter()
        .flat_map(|(name, _)| all.iter().map(|c| alone(name, c)))
        .collect();
    let mut pool = Vec::new();
    for c in all {
        for (name, f) in &pooled {
            if full || expect_of(f, c.id) != Expect::Unharmed {
                pool.push(alone(name, c));
            }
        }
        if !full {
            let others: Vec<String> = pooled
                .iter()
                .filter(|(_, f)| expect_of(f, c.id) == Expect::Unharmed)
                .map(|(name, _)| (*name).clone())
                .collect();
            pool.push(Job {
                check: *c,
                faults: others,
                expect: Expect::Unharmed,
            });
        }
    }
    (pool, serial_jobs)
}

/// The reference runtime with `faults` injected.
fn faulty(faults: &[String]) -> Runtime {
    let mut rt = Runtime::at("reference", support::harness());
    rt.env.push((support::FAULT_ENV.into(), faults.join(",")));
    rt
}

/// Runs `jobs` `parallel` at a time in a private UTS namespace.
fn run_jobs(jobs: &[Job], parallel: usize) -> Vec<CheckReport> {
    let pairs: Vec<(checks::Check, Runtime)> = jobs.iter().map(|j| (j.check, faulty(&j.faults))).collect();
    let reports = in_own_uts(|| checks::runner::run_pairs(&pairs, parallel, None, |_| {}));
    assert_eq!(reports.len(), jobs.len(), "every job of the matrix ran");
    reports
}

/// The faults of a run, as the pool's timings show them.
fn faults_label(job: &Job) -> String {
    match job.faults.as_slice() {
        [one] => format!("[{one}]"),
        many => format!("[the {} faults it is not listed for, at once]", many.len()),
    }
}

/// Why a run differs from what the matrix says, if it does.
fn mismatch(job: &Job, r: &CheckReport) -> Option<String> {
    let ok = match job.expect {
        // A check this host cannot run (no swap, no BFQ) skips under every fault.
        Expect::Fail => matches!(r.outcome, Outcome::Fail(_) | Outcome::Skip(_)),
        Expect::Broken => matches!(r.outcome, Outcome::Broken(_) | Outcome::Skip(_)),
        Expect::Unharmed => matches!(r.outcome, Outcome::Pass | Outcome::Skip(_)),
    };
    (!ok).then(|| {
        format!(
            "{} with {} ({}): expected {:?}, got {} {:?}",
            r.id,
            faults_label(job),
            job.faults.join(","),
            job.expect,
            r.outcome.label(),
            r.outcome
        )
    })
}

/// Every fault is caught by exactly the checks tests/mutations.toml names (see
/// `matrix_jobs`). The pool and the serial fault's run go at once; every mismatch is
/// gathered, then reported together.
#[test]
#[ignore = "needs root; runs every check under the faults"]
#[serial_test::serial(suite)]
fn every_fault_is_caught_by_the_expected_checks() {
    let m = matrix();
    let full = std::env::var_os("LAB_MATRIX").is_some_and(|v| v == "full");
    let (pool, serial) = matrix_jobs(&m, &catalog(), full);
    let roots_before = hierarchy_roots();
    let (pool_reports, serial_reports) = std::thread::scope(|s| {
        let serial = s.spawn(|| run_jobs(&serial, 1));
        (run_jobs(&pool, MATRIX_JOBS), serial.join().unwrap())
    });
    // Where the pool's time goes (shown with --nocapture or on failure).
    let mut slow: Vec<(&Job, &CheckReport)> = pool.iter().zip(&pool_reports).collect();
    slow.sort_by_key(|b| std::cmp::Reverse(b.1.duration));
    for (job, r) in slow.iter().take(10) {
        eprintln!("pool: {} {} {:.1} s", r.id, faults_label(job), r.duration.as_secs_f64());
    }
    // A fault that leaves cgroups outside the parent: the checker removed them all.
    let left: Vec<_> = hierarchy_roots().difference(&roots_before).cloned().collect();
    assert!(left.is_empty(), "left at the hierarchies' roots: {left:?}");
    let jobs = pool.iter().chain(&serial);
    let reports: Vec<CheckReport> = pool_reports.into_iter().chain(serial_reports).collect();
    let mut wrong: Vec<String> = jobs.clone().zip(&reports).filter_map(|(j, r)| mismatch(j, r)).collect();
    // A mixed run that noticed a fault: each of its faults alone says which leaked.
    let leaks: Vec<Job> = jobs
        .clone()
        .zip(&reports)
        .filter(|(j, r)| j.faults.len() > 1 && mismatch(j, r).is_some())
        .flat_map(|(j, _)| {
            j.faults.iter().map(|f| Job {
                check: j.check,
                faults: vec![f.clone()],
                expect: Expect::Unharmed,
            })
        })
        .collect();
    if !leaks.is_empty() {
        let alone = run_jobs(&leaks, MATRIX_JOBS);
        let named: Vec<String> = leaks.iter().zip(&alone).filter_map(|(j, r)| mismatch(j, r)).collect();
        if named.is_empty() {
            wrong.push("  no fault alone does it: two of them together do (run LAB_MATRIX=full)".into());
        }
        wrong.extend(
            named
                .into_iter()
                .map(|why| format!("  alone, so mutations.toml misses it: {why}")),
        );
    }
    // Every fault's failures, explained in Korean, hold no English sentence.
    let failed: Vec<CheckReport> = jobs
        .zip(&reports)
        .filter(|(j, _)| j.expect != Expect::Unharmed)
        .map(|(_, r)| r.clone())
        .collect();
    assert_korean(&failed, "the faults' failures");
    assert!(
        wrong.is_empty(),
        "{} runs differ from the matrix:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The pool ran each fault against each check it names.
    for (name, f) in &m {
        for id in f.caught.iter().chain(&f.broken) {
            let ran = pool
                .iter()
                .chain(&serial)
                .any(|j| j.check.id == id && j.faults == [name.clone()]);
            assert!(ran, "fault {name} never ran against {id}");
        }
    }
}

/// The faults this host cannot show (no swap, no BFQ here) are caught in the cgroup
/// v2 VM of `make check-vm` (256 MiB of zram swap, BFQ loaded): the fault-enabled
/// harness goes in as the runtime, the fault by its variable, and each check named
/// must fail there.
#[test]
#[ignore = "boots a VM (qemu-system-x86 and busybox-static must be installed)"]
#[serial_test::serial(suite)]
fn faults_caught_in_the_vm() {
    let harness = checks::runtime::bin_dir().join("harness");
    for (name, f) in matrix() {
        if f.caught_in_vm.is_empty() {
            continue;
        }
        let out = std::process::Command::new(&harness)
            .args(["vm", "--cgroup", "v2", "--env"])
            .arg(format!("LAB_RUNTIME={}", support::harness().display()))
            .args(["--env", &format!("{}={name}", support::FAULT_ENV), "--", "labcheck"])
            .args(&f.caught_in_vm)
            .output()
            .expect("running harness vm");
        let stdout = String::from_utf8_lossy(&out.stdout);
        for id in &f.caught_in_vm {
            let failed = stdout.lines().any(|l| {
                let mut w = l.split_whitespace();
                w.next() == Some(id.as_str()) && w.next() == Some("FAIL")
            });
            assert!(
                failed,
                "fault {name}: {id} did not fail in the VM\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn naive_runtimes_pass_exactly_what_they_deserve() {
    for (name, n) in naive() {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(&name);
        let reports = run_isolated(Runtime::named(p.to_str().unwrap()).unwrap(), 4);
        assert_korean(&reports, &name);
        let passed = ids_with(&reports, |o| *o == Outcome::Pass);
        // A check this host cannot run (e.g. module loading on a kernel without modules) is not expected to pass.
        let skipped = ids_with(&reports, |o| matches!(o, Outcome::Skip(_)));
        let want: BTreeSet<String> = n.passes.iter().filter(|c| !skipped.contains(*c)).cloned().collect();
        assert_eq!(passed, want, "{name}: passing checks differ\n{}", describe(&reports));
        let others = ids_with(&reports, |o| {
            !matches!(o, Outcome::Pass | Outcome::Fail(_) | Outcome::Skip(_))
        });
        assert!(
            others.is_empty(),
            "{name}: checks neither pass nor fail: {others:?}\n{}",
            describe(&reports)
        );
    }
}

/// A runtime stricter than the contract (tests/fixtures/strict-runtime: every
/// capability dropped before exec, /proc read-only) loses no point for it: every
/// check the reference passes passes, and none fails or breaks. The notes say
/// where the strictness was seen.
#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn strict_runtime_loses_nothing() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/strict-runtime");
    let mut rt = Runtime::named(p.to_str().unwrap()).unwrap();
    rt.env
        .push(("LAB_HARNESS".into(), support::harness().display().to_string()));
    let strict = run_isolated(rt, 4);
    assert_korean(&strict, "the strict runtime");
    let reference = run_isolated(Runtime::named("reference").unwrap(), 4);
    let passed = |r: &[CheckReport]| ids_with(r, |o| *o == Outcome::Pass);
    let strict_passed = passed(&strict);
    let lost: Vec<String> = passed(&reference)
        .into_iter()
        .filter(|c| !strict_passed.contains(c))
        .collect();
    assert!(
        lost.is_empty(),
        "the strict runtime lost {lost:?}:\n{}",
        describe(&strict)
    );
    assert!(
        ids_with(&strict, |o| matches!(o, Outcome::Fail(_) | Outcome::Broken(_))).is_empty(),
        "{}",
        describe(&strict)
    );
    // The strictness was met, and said: the capability-dependent checks noted it.
    let noted: BTreeSet<String> = strict
        .iter()
        .filter(|r| r.notes.iter().any(|n| n.starts_with("stricter than the contract")))
        .map(|r| r.id.clone())
        .collect();
    for id in [
        "namespaces.mnt.mount-invisible-on-host",
        "security.chroot.breakout-stays-inside",
        "security.proc.sys-not-writable",
    ] {
        assert!(noted.contains(id), "{id} did not note the strictness: {noted:?}");
    }
}
