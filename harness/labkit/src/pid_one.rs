//! A checker started as PID 1 of its PID namespace (a container's entrypoint:
//! `docker run --privileged IMAGE labcheck`) has two duties nobody else does there:
//! every orphan in the namespace becomes its child, so whatever a runtime leaves
//! running ends as its zombie unless it reaps it, and the kernel delivers PID 1 no
//! signal it has not asked for, so a `docker stop` (SIGTERM) would be lost. So the
//! checker forks first thing: the child does the work and PID 1 stays a tiny init,
//! as tini and docker-init are: it reaps whatever ends, forwards SIGTERM, SIGINT and
//! SIGHUP to the worker, and exits with the worker's status.

use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getpid, ForkResult, Pid};

/// The signals PID 1 passes on to the worker.
const FORWARDED: [Signal; 3] = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP];

/// When the caller is PID 1 of its PID namespace: forks, returns in the child (the
/// worker, which goes on with the program) and never returns in PID 1, which reaps
/// and forwards until the worker ends, then exits with its status (128+N if a signal
/// N ended it). Anywhere else it does nothing. Returns why it could not fork, if so
/// (the program then goes on as PID 1, without an init).
///
/// Must be called before the program starts any thread: the worker is a fork of it.
pub fn stand_in_if_pid_one() -> Option<String> {
    if getpid().as_raw() != 1 {
        return None;
    }
    let mut set = SigSet::empty();
    for s in FORWARDED.iter().chain([&Signal::SIGCHLD]) {
        set.add(*s);
    }
    let mut old = SigSet::empty();
    // Blocked before the fork: a signal that comes between the fork and the wait
    // loop waits in the queue instead of being dropped.
    if let Err(e) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)) {
        return Some(format!("blocking signals as PID 1: {e}"));
    }
    // SAFETY: the caller has started no thread yet, so the child may run ordinary
    // Rust (it is the whole program from here on).
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
            None
        }
        Ok(ForkResult::Parent { child }) => std::process::exit(reap_and_forward(child, &set)),
        Err(e) => {
            let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
            Some(format!("forking a worker as PID 1 ({e}): going on without an init"))
        }
    }
}

/// PID 1's loop: the worker's status once it has ended.
fn reap_and_forward(worker: Pid, set: &SigSet) -> i32 {
    loop {
        match set.wait() {
            Ok(Signal::SIGCHLD) => {
                if let Some(code) = reap(worker) {
                    return code;
                }
            }
            Ok(sig) => {
                let _ = kill(worker, sig);
            }
            Err(_) => {}
        }
    }
}

/// Reaps every child that has ended; the worker's exit status if it is one of them.
fn reap(worker: Pid) -> Option<i32> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == worker => return Some(code),
            Ok(WaitStatus::Signaled(p, sig, _)) if p == worker => return Some(128 + sig as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
