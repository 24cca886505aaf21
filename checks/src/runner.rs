//! Running checks: requirements first (skip), a fresh context, the check, its
//! cleanup; panics become `Broken`. Checks sharing a serial key take turns.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::catalog::Check;
use crate::ctx::Ctx;
use crate::outcome::Outcome;
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

fn serial_lock(key: &str) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut map = LOCKS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    map.entry(key.to_string()).or_default().clone()
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

pub fn run_check(check: &Check, rt: &Runtime) -> CheckReport {
    let start = Instant::now();
    let (outcome, notes) = outcome_of(check, rt);
    CheckReport {
        id: check.id.into(),
        topic: check.topic.into(),
        title: check.title.into(),
        outcome,
        duration: start.elapsed(),
        notes,
    }
}

fn outcome_of(check: &Check, rt: &Runtime) -> (Outcome, Vec<String>) {
    for r in check.requires {
        if let Err(why) = r.check() {
            return (Outcome::Skip(why), Vec::new());
        }
    }
    let lock = check.serial.map(serial_lock);
    let _turn = lock.as_ref().map(|l| l.lock().unwrap_or_else(|p| p.into_inner()));
    let ctx = match Ctx::new(rt.clone()) {
        Ok(c) => c,
        Err(o) => return (o, Vec::new()),
    };
    let result = catch_unwind(AssertUnwindSafe(|| (check.run)(&ctx)));
    let notes = ctx.take_notes();
    drop(ctx);
    let outcome = match result {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(o)) => o,
        Err(p) => Outcome::Broken(format!("the check panicked: {}", panic_text(p))),
    };
    (outcome, notes)
}

/// Runs `checks` with up to `jobs` at a time; reports come back in catalog order.
pub fn run_all(checks: &[Check], rt: &Runtime, jobs: usize, mut progress: impl FnMut(&CheckReport) + Send) -> Vec<CheckReport> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<CheckReport>>> = Mutex::new(vec![None; checks.len()]);
    let progress = Mutex::new(&mut progress);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(check) = checks.get(i) else { break };
                let report = run_check(check, rt);
                (progress.lock().unwrap())(&report);
                results.lock().unwrap()[i] = Some(report);
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(|r| r.expect("every check ran")).collect()
}
