//! Proof that every check can fail, against runtimes nobody tuned for the checks:
//! - the mutation matrix: the reference runtime with one test-only fault at a time
//!   (harness/src/fault.rs, built by tests/support with `--features faults`) fails exactly the checks tests/mutations.toml names;
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

#[test]
fn readme_shows_the_matrix() {
    let readme = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let table = render();
    assert!(
        readme.contains(&table),
        "README.md must contain the mutation matrix; render:\n{table}"
    );
}

/// Runs the whole catalog in a private UTS namespace.
fn run_isolated(rt: Runtime, jobs: usize) -> Vec<CheckReport> {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS).expect("unshare(CLONE_NEWUTS)");
        run_all(&catalog(), &rt, jobs, |_| {})
    })
    .join()
    .unwrap()
}

/// The Korean report of `reports`, with every failure's details, holds no English
/// sentence (ids, commands, paths and the runtime's own words aside).
fn assert_korean(reports: &[CheckReport], what: &str) {
    use exercises::{self as grade, human, Lang};
    let m = grade::manifest().unwrap();
    let h = grade::hints().unwrap();
    let exercises = grade::select(&m, None, None).unwrap();
    let r = grade::score("rt", &exercises, reports, &h, false);
    let text = human::render(&r, Lang::Ko, true) + &grade::formats::markdown(&r, Lang::Ko);
    let left = human::english_sentences(&text);
    assert!(
        left.is_empty(),
        "{what}: English left in the Korean report:\n{}",
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

/// Checks running at once in the matrix's pool: each fault's run used 4 before the
/// pool; the pool's checks mostly wait on their containers, so more fit beside each
/// other, and the exclusive ones still run alone.
const MATRIX_JOBS: usize = 6;

/// Every fault against the whole catalog, as one pool of (check, fault) pairs: one
/// fault's slow check no longer holds up the rest. A fault marked `serial` (it
/// renames the UTS namespace it runs in) gets a namespace of its own and one check
/// at a time, beside the pool. Every fault's mismatches are gathered, then reported
/// together.
#[test]
#[ignore = "needs root; runs the suite once per fault"]
#[serial_test::serial(suite)]
fn every_fault_is_caught_by_the_expected_checks() {
    let faults = support::faults();
    let m = matrix();
    let checks = catalog();
    let runtime_for = |name: &str| {
        let mut rt = Runtime::at("reference", support::harness());
        rt.env.push((support::FAULT_ENV.into(), name.to_string()));
        rt
    };
    let roots_before = hierarchy_roots();
    let (serial, pooled): (Vec<_>, Vec<_>) = faults.iter().partition(|f| m[&f.name].serial);
    let serial_runs: Vec<_> = serial
        .iter()
        .map(|f| {
            let (name, rt) = (f.name.clone(), runtime_for(&f.name));
            std::thread::spawn(move || (name, run_isolated(rt, 1)))
        })
        .collect();
    let pairs: Vec<(checks::Check, Runtime)> = pooled
        .iter()
        .flat_map(|f| checks.iter().map(|c| (*c, runtime_for(&f.name))))
        .collect();
    let pool = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS).expect("unshare(CLONE_NEWUTS)");
        checks::runner::run_pairs(&pairs, MATRIX_JOBS, None, |_| {})
    })
    .join()
    .unwrap();
    assert_eq!(pool.len(), pooled.len() * checks.len(), "the pool ran every pair");
    // Where the pool's time goes (shown with --nocapture or on failure): each check's
    // time summed over the faults.
    let mut spent: BTreeMap<&str, f64> = BTreeMap::new();
    for r in &pool {
        *spent.entry(r.id.as_str()).or_default() += r.duration.as_secs_f64();
    }
    let mut spent: Vec<_> = spent.into_iter().collect();
    spent.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (id, secs) in spent.iter().take(10) {
        eprintln!("pool: {id} {secs:.1} s over {} faults", pooled.len());
    }
    let mut by_fault: Vec<(String, Vec<CheckReport>)> = pooled
        .iter()
        .zip(pool.chunks(checks.len()))
        .map(|(f, reports)| (f.name.clone(), reports.to_vec()))
        .collect();
    by_fault.extend(serial_runs.into_iter().map(|t| t.join().unwrap()));
    // A fault that leaves cgroups outside the parent: the checker removed them all.
    let left: Vec<_> = hierarchy_roots().difference(&roots_before).cloned().collect();
    assert!(left.is_empty(), "left at the hierarchies' roots: {left:?}");
    let mut wrong = Vec::new();
    for (name, reports) in &by_fault {
        let want = &m[name];
        let skipped = ids_with(reports, |o| matches!(o, Outcome::Skip(_)));
        let expect = |v: &Vec<String>| {
            v.iter()
                .filter(|c| !skipped.contains(*c))
                .cloned()
                .collect::<BTreeSet<_>>()
        };
        let failed = ids_with(reports, |o| matches!(o, Outcome::Fail(_)));
        let broken = ids_with(reports, |o| matches!(o, Outcome::Broken(_)));
        if failed != expect(&want.caught) || broken != expect(&want.broken) {
            wrong.push(format!(
                "fault {name}: failing {failed:?} (expected {:?}), broken {broken:?} (expected {:?})\n{}",
                expect(&want.caught),
                expect(&want.broken),
                describe(reports)
            ));
        }
        assert_korean(reports, &format!("fault {name}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
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
