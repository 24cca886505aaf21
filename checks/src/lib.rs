//! Conformance checks for container runtimes.
//!
//! A check talks to the runtime under test only through the runtime contract
//! (exercises/CONTRACT.md), observes from inside with the probe and from the host
//! with /proc, mountinfo and cgroup files, and never trusts what the runtime says
//! about itself. Every isolation check carries a control: the same observation
//! without the feature must show the difference.

// A check returns its Outcome (expected, got, the command line, the stderr tail)
// once per run: the size of the Err variant costs nothing worth boxing every
// failure for, and `?` on it reads as the verdict rules do.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod catalog;
pub mod cause;
pub mod cgview;
pub mod check;
pub mod ctx;
pub mod explain;
pub mod host;
pub mod incident;
pub mod oci;
pub mod outcome;
pub mod report;
pub mod runner;
pub mod runtime;
pub mod schedule;
pub mod scratch;
pub mod select;
pub mod state;
pub mod text;
pub mod topics;
pub mod watch;

pub use catalog::{catalog, select, Check, Requirement};
pub use outcome::{CheckResult, Failure, Outcome};
pub use runner::{run_all, run_check, CheckReport};
pub use runtime::Runtime;
