//! The four outcomes of a check, never fewer (LTP's TPASS/TFAIL/TCONF/TBROK).

use std::fmt;

use crate::runtime::Run;

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// The runtime is wrong.
    Fail(Failure),
    /// This host cannot run the check; never counts against the runtime.
    Skip(String),
    /// The check itself or the host failed; never counts against the runtime.
    Broken(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "skip",
            Outcome::Broken(_) => "BROKEN",
        }
    }
}

/// Expected versus got, with the command line run and the runtime's stderr tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub expected: String,
    pub got: String,
    pub command: String,
    pub stderr_tail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "expected: {}", self.expected)?;
        writeln!(f, "got:      {}", self.got)?;
        write!(f, "command:  {}", self.command)?;
        if !self.stderr_tail.trim().is_empty() {
            write!(f, "\nstderr:   {}", self.stderr_tail.trim_end().replace('\n', "\n          "))?;
        }
        Ok(())
    }
}

/// What a check function returns: `Ok(())` is a pass; `Err` carries any other outcome,
/// so helpers can be chained with `?`.
pub type CheckResult = Result<(), Outcome>;

/// A failure observed on `run`.
pub fn fail(expected: impl Into<String>, got: impl Into<String>, run: &Run) -> Outcome {
    Outcome::Fail(Failure {
        expected: expected.into(),
        got: got.into(),
        command: run.command_line(),
        stderr_tail: run.stderr_tail(8),
    })
}

/// A failure observed from the host, outside any one run.
pub fn fail_host(expected: impl Into<String>, got: impl Into<String>, what: impl Into<String>) -> Outcome {
    Outcome::Fail(Failure { expected: expected.into(), got: got.into(), command: what.into(), stderr_tail: String::new() })
}

pub fn broken(why: impl fmt::Display) -> Outcome {
    Outcome::Broken(why.to_string())
}

pub fn skip(why: impl Into<String>) -> Outcome {
    Outcome::Skip(why.into())
}

/// `cond` or a failure saying expected/got.
pub fn ensure(cond: bool, expected: impl Into<String>, got: impl Into<String>, run: &Run) -> CheckResult {
    if cond {
        Ok(())
    } else {
        Err(fail(expected, got, run))
    }
}

/// A control (the same observation without the feature) that did not show the
/// difference: the check cannot tell, so the check or the host is broken.
pub fn control_failed(what: impl fmt::Display, run: &Run) -> Outcome {
    Outcome::Broken(format!("control did not show the difference: {what} (command: {})", run.command_line()))
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
