//! Output and error plumbing shared by every subcommand.
//!
//! Everything the probe prints on stdout is one JSON object per line, flushed
//! as soon as it is written so a check reading a pipe sees it at once.

use std::io::{self, Write};
use std::time::Duration;

use labkit::probe::{ErrorLine, StopSignal};
use nix::errno::Errno;
use serde::Serialize;

/// Print one JSON object as a line on stdout and flush it.
///
/// If stdout is gone (the reader closed the pipe) there is nobody left to
/// tell anything, so the process exits with code 1 at once.
pub fn emit(v: &impl Serialize) {
    let mut line = serde_json::to_string(v).unwrap_or_else(|_| "{}".to_string());
    line.push('\n');
    let mut out = io::stdout().lock();
    if out.write_all(line.as_bytes()).and_then(|_| out.flush()).is_err() {
        std::process::exit(1);
    }
}

/// A failure of the probe itself: printed as
/// `{"error": "...", "errno": N|null, "op": "..."}` and exit code 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeError {
    pub op: String,
    pub errno: Option<i32>,
    pub msg: String,
}

impl ProbeError {
    /// A failure that carries no errno (bad argument, parse failure...).
    pub fn msg(op: &str, msg: impl Into<String>) -> Self {
        ProbeError {
            op: op.to_string(),
            errno: None,
            msg: msg.into(),
        }
    }

    /// A failed system call.
    pub fn errno(op: &str, e: Errno) -> Self {
        ProbeError {
            op: op.to_string(),
            errno: Some(e as i32),
            msg: format!("{}: {}", errno_name(e as i32), e.desc()),
        }
    }

    /// A failed std I/O operation; keeps the errno when there is one.
    pub fn io(op: &str, e: &io::Error) -> Self {
        ProbeError {
            op: op.to_string(),
            errno: io_errno(e),
            msg: e.to_string(),
        }
    }

    pub fn line(&self) -> ErrorLine {
        ErrorLine {
            error: self.msg.clone(),
            errno: self.errno,
            op: self.op.clone(),
        }
    }
}

pub type PResult<T = ()> = Result<T, ProbeError>;

/// Errno of a std I/O error, mapping a timeout without errno to ETIMEDOUT.
pub fn io_errno(e: &io::Error) -> Option<i32> {
    match e.raw_os_error() {
        Some(n) => Some(n),
        None if e.kind() == io::ErrorKind::TimedOut => Some(libc::ETIMEDOUT),
        None => None,
    }
}

pub use labkit::probe::errno_name;

/// Signals that end a hold early: SIGTERM, SIGINT, SIGHUP.
pub const STOP_SIGNALS: [i32; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

fn stop_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data initialised by sigemptyset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in STOP_SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Block the stop signals in this thread so that they queue (even when the
/// probe is a PID namespace's init, which would otherwise drop them) and can
/// be collected by [`wait_stop_signal`].
pub fn block_stop_signals() {
    let set = stop_set();
    // SAFETY: valid set; old mask not needed.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Wait up to `timeout` (forever with `None`) for a blocked stop signal.
/// Returns the signal number, or `None` when the time is up.
pub fn wait_stop_signal(timeout: Option<Duration>) -> Option<i32> {
    let set = stop_set();
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    loop {
        let r = match deadline {
            // SAFETY: a valid set pointer; no siginfo wanted.
            None => unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) },
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                let ts = libc::timespec {
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_nsec: left.subsec_nanos() as libc::c_long,
                };
                // SAFETY: valid set and timespec pointers for the duration of the call.
                unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &ts) }
            }
        };
        if r > 0 {
            return Some(r);
        }
        if Errno::last() != Errno::EINTR {
            return None;
        }
    }
}

/// Hold for `secs` seconds; a SIGTERM/SIGINT/SIGHUP ends the hold early and
/// is returned so the caller can clean up and call [`exit_on_signal`].
pub fn hold(secs: f64) -> Option<i32> {
    block_stop_signals();
    wait_stop_signal(Some(Duration::from_secs_f64(secs)))
}

/// Report a stop signal received during a hold and exit with 128 + signal.
pub fn exit_on_signal(sig: i32) -> ! {
    emit(&StopSignal {
        signal: sig,
        signal_name: signal_name(sig),
    });
    std::process::exit(128 + sig);
}

/// Name of a signal number, e.g. 15 -> "SIGTERM".
pub fn signal_name(sig: i32) -> Option<String> {
    nix::sys::signal::Signal::try_from(sig)
        .ok()
        .map(|s| s.as_str().to_string())
}

/// Sleep for a non-negative number of seconds (float). Stop signals end it:
/// the probe then prints `{"signal": N, "signal_name": "..."}` and exits
/// with 128 + N.
pub fn sleep_secs(secs: f64) {
    if let Some(sig) = hold(secs) {
        exit_on_signal(sig);
    }
}

/// Parse a byte size with an optional binary suffix: `4096`, `8K`, `8M`,
/// `1G`, `2T` (also `8k`, `8MB`, `8MiB`). Suffixes are powers of 1024.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits_end);
    if num.is_empty() {
        return Err(format!(
            "invalid size {s:?}: expected a number with optional K/M/G/T suffix"
        ));
    }
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: number too large"))?;
    let suffix = suffix.to_ascii_uppercase();
    let unit: u64 = match suffix.as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return Err(format!("invalid size {s:?}: unknown suffix {suffix:?}")),
    };
    n.checked_mul(unit)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

/// Parse a non-negative, finite number of seconds (float).
pub fn parse_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("invalid seconds {s:?}"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("invalid seconds {s:?}: must be finite and >= 0"));
    }
    Ok(v)
}

/// Major number of a Linux `dev_t` (glibc encoding).
pub fn dev_major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)
}

/// Minor number of a Linux `dev_t` (glibc encoding).
pub fn dev_minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid pointer to a timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("8K"), Ok(8 * 1024));
        assert_eq!(parse_size("8k"), Ok(8 * 1024));
        assert_eq!(parse_size("8M"), Ok(8 << 20));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("8mb"), Ok(8 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
        assert_eq!(parse_size("12B"), Ok(12));
        assert!(parse_size("").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("1.5M").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("8X").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("9999999999999G").is_err());
    }

    #[test]
    fn secs() {
        assert_eq!(parse_secs("1.5"), Ok(1.5));
        assert_eq!(parse_secs("0"), Ok(0.0));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("inf").is_err());
        assert!(parse_secs("NaN").is_err());
        assert!(parse_secs("x").is_err());
    }

    #[test]
    fn dev_numbers() {
        // makedev(8, 1)
        assert_eq!(dev_major(0x801), 8);
        assert_eq!(dev_minor(0x801), 1);
        // makedev(1, 3) = /dev/null
        assert_eq!(dev_major(0x103), 1);
        assert_eq!(dev_minor(0x103), 3);
        // large numbers: makedev(0x12345, 0x6789a)
        let (ma, mi): (u64, u64) = (0x12345, 0x6789a);
        let dev = ((ma & 0xfffff000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffffff00) << 12) | (mi & 0xff);
        assert_eq!(dev_major(dev), ma);
        assert_eq!(dev_minor(dev), mi);
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::EACCES), "EACCES");
        assert_eq!(errno_name(libc::EAGAIN), "EAGAIN");
        assert_eq!(errno_name(libc::ESRCH), "ESRCH");
        assert_eq!(errno_name(99999), "E99999");
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(15).as_deref(), Some("SIGTERM"));
        assert_eq!(signal_name(9).as_deref(), Some("SIGKILL"));
        assert_eq!(signal_name(0), None);
    }

    #[test]
    fn hold_times_out() {
        let t = std::time::Instant::now();
        assert_eq!(hold(0.05), None);
        assert!(t.elapsed() >= Duration::from_millis(45));
        assert_eq!(hold(0.0), None);
    }

    #[test]
    fn error_line() {
        let e = ProbeError::errno("open", Errno::EACCES).line();
        assert_eq!((e.errno, e.op.as_str()), (Some(13), "open"));
        assert!(e.error.starts_with("EACCES"));
        let v = serde_json::to_value(ProbeError::msg("parse", "bad").line()).unwrap();
        assert_eq!(v, serde_json::json!({"error": "bad", "errno": null, "op": "parse"}));
    }
}
