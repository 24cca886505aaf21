//! The container's init: the first process of its PID namespace.
//!
//! PID 1 gets no default signal actions, inherits every orphan, and takes the
//! namespace down when it exits. So it starts the command as its child, reaps
//! whatever exits, forwards SIGTERM/SIGINT/SIGHUP to the command, and exits with
//! the command's status as soon as the command ends.

use std::ffi::CString;

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{close, fork, ForkResult, Pid};

use super::child::{exec_command, Reporter};
use super::{exit_code, forwarded_signals};

pub(super) fn run(command: &[CString], rep: &Reporter) -> ! {
    // The signals stay blocked (inherited from the runtime); sigwait collects them.
    let signals = forwarded_signals();
    // SAFETY: single-threaded process; the child goes straight to exec.
    let cmd = match unsafe { fork() } {
        Ok(ForkResult::Child) => exec_command(command, rep),
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => rep.fail(format!("init: fork: {e}")),
    };
    // Only the command's exec may still report; our copy would hold the pipe open.
    let _ = close(rep.0);
    if nix::unistd::getpid().as_raw() != 1 {
        // Without a PID namespace, still adopt the command's orphans.
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    }
    loop {
        let sig = match signals.wait() {
            Ok(s) => s,
            Err(_) => continue,
        };
        if sig != Signal::SIGCHLD {
            let _ = kill(cmd, sig);
            continue;
        }
        if let Some(code) = reap(cmd) {
            // SAFETY: _exit ends the init at once; its children die with the namespace.
            unsafe { libc::_exit(code) }
        }
    }
}

/// Reaps every exited child; returns the command's status once it has ended.
fn reap(cmd: Pid) -> Option<i32> {
    let mut result = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return result,
            Ok(st) => {
                if st.pid() == Some(cmd) {
                    result = exit_code(st);
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => return result,
        }
    }
}
