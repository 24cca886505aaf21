//! Every check of the catalog as one libtest test, named by its id, against
//! `LAB_RUNTIME` (default: the reference runtime). The checks need root, so they
//! are marked ignored: `cargo test -- --ignored` runs them, `cargo test` does not,
//! and `cargo test -- --ignored namespaces.pid` filters as usual.
//!
//! A skip (the host cannot run the check) shows as `ignored (reason)`, never as a pass.

use checks::{catalog, run_check, Outcome, Runtime};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

fn main() -> std::process::ExitCode {
    // First, before any thread: a systemd service's cgroup cannot delegate.
    if let Some(why) = checks::cgview::enter_delegated_scope() {
        eprintln!("checks: {why}");
    }
    let args = Arguments::from_args();
    let runtime = Runtime::from_env();
    let trials = catalog()
        .into_iter()
        .map(|check| {
            let rt = runtime.clone();
            Trial::ignorable_test(check.id, move || {
                let rt = rt.map_err(|e| Failed::from(format!("BROKEN: {e}")))?;
                let report = run_check(&check, &rt);
                for n in &report.notes {
                    println!("note: {n}");
                }
                match report.outcome {
                    Outcome::Pass => Ok(Completion::Completed),
                    Outcome::Skip(why) => Ok(Completion::ignored_with(format!("skipped: {why}"))),
                    Outcome::Fail(f) => Err(Failed::from(format!("{}\n{f}", check.title))),
                    Outcome::Broken(why) => Err(Failed::from(format!("BROKEN (not the runtime's fault): {why}"))),
                }
            })
            .with_kind(check.topic)
            .with_ignored_flag(true)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
