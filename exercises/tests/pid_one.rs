//! The checker as PID 1 of its PID namespace, as `docker run --privileged IMAGE
//! labcheck` (or `grade`) starts it: `labcheck` (and `grade`, by the same call) forks a worker and
//! stays PID 1 as a tiny init (labkit::pid_one), and no check takes the checker's own
//! pid for "a host process" (which, as 1, a container of its own would find).
//! `unshare --fork --pid --mount-proc` makes the same place on any host.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use checks::runtime::bin_dir;

/// `labcheck ARGS` as PID 1 of a new PID namespace (with its own /proc), its state
/// file in `state` (a container has a /run of its own; the host's would hold pids of
/// another PID namespace, which the host's `harness cleanup` would take for its own).
fn labcheck_as_pid_one(args: &[&str], state: &std::path::Path) -> Command {
    let mut c = Command::new("unshare");
    c.args(["--fork", "--pid", "--mount-proc"])
        .arg(bin_dir().join("labcheck"))
        .args(args)
        .env(labkit::state::STATE_DIR_ENV, state);
    c
}

/// The checks that look for a host process from inside pass with the checker as PID 1:
/// each starts a witness of its own (before, `kill(1, 0)` inside the container found the
/// container's init, and these failed). The worker's end also proves the reaping: PID 1
/// learns of it only by reaping every child that ended (waitpid(-1)), its orphans too.
#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn labcheck_as_pid_one_passes_the_pid_checks() {
    let state = tempfile::tempdir().unwrap();
    let out = labcheck_as_pid_one(&["namespaces.pid", "security.pid"], state.path())
        .output()
        .expect("running unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(" 0 failed, 0 broken"),
        "expected labcheck as PID 1 to pass namespaces.pid and security.pid, got {}\n{stdout}\n{stderr}",
        out.status
    );
    for id in [
        "namespaces.pid.host-pid-unreachable",
        "namespaces.pid.fresh-proc",
        "security.pid.cannot-see-or-signal-host",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(id) && l.contains(" pass ")),
            "{id} did not pass:\n{stdout}"
        );
    }
}

/// SIGTERM to a PID 1 checker reaches it (`docker stop`): PID 1 forwards it to the
/// worker, which stops its checks, removes what they made and ends by it; PID 1 exits
/// 128+15, and `harness cleanup` finds nothing of it left. (The kernel drops a signal PID 1
/// has no handler for: without the init, labcheck ran on to its end and exited 0.)
#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn sigterm_to_a_pid_one_labcheck_reaches_it_and_leaves_nothing() {
    let state = tempfile::tempdir().unwrap();
    let mut child = labcheck_as_pid_one(&["cgroups.cpu", "namespaces.pid.orphans"], state.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running unshare (util-linux)");
    // A progress line: the init and its worker run, and the worker watches signals.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.lines().any(|l| l.starts_with("[1/")) {
        if err.read_line(&mut seen).unwrap() == 0 {
            panic!("labcheck ended before its first check:\n{seen}");
        }
    }
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap();
    let pid_one: i32 = children
        .split_whitespace()
        .next()
        .expect("unshare's child")
        .parse()
        .unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid_one), nix::sys::signal::Signal::SIGTERM).unwrap();
    let _ = std::io::Read::read_to_string(&mut err, &mut seen);
    let st = child.wait().unwrap();
    assert!(
        st.code() == Some(143) && seen.contains("labcheck: interrupted by SIGTERM"),
        "expected the PID 1 labcheck to end by the SIGTERM (exit 143, \"interrupted by SIGTERM\"), got {st}\n{seen}"
    );
    // Nothing of it left for `harness cleanup`: no state file of a checker that is gone.
    let out = Command::new(bin_dir().join("harness"))
        .args(["cleanup", "--dry-run", "--state-dir"])
        .arg(state.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "expected no state file left by the interrupted labcheck, got {}:\n{said}",
        out.status
    );
}
