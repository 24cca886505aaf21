//! Observations from the host side: /proc, mountinfo, interfaces, the probe run
//! directly on the host (not through the runtime), and pid files.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use serde::de::DeserializeOwned;

use crate::outcome::{broken, Outcome};

/// A field of /proc/PID/status, split on white space (e.g. `NSpid`, `Uid`).
pub fn status_field(pid: i32, field: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    Some(line.split_whitespace().skip(1).map(String::from).collect())
}

/// Waits until the runtime wrote a whole line to its `--pid-file`; returns the pid.
pub fn wait_pid_file(path: &Path, timeout: Duration) -> Result<i32, Outcome> {
    let start = Instant::now();
    loop {
        if let Ok(t) = std::fs::read_to_string(path) {
            if t.ends_with('\n') {
                return t.trim().parse::<i32>().map_err(|_| {
                    crate::outcome::fail_host(
                        "a decimal pid and a newline in --pid-file",
                        format!("{t:?}"),
                        format!("reading {}", path.display()),
                    )
                });
            }
        }
        if start.elapsed() > timeout {
            return Err(crate::outcome::fail_host(
                format!("--pid-file {} written before the command runs", path.display()),
                format!("no complete line after {} s", timeout.as_secs()),
                format!("reading {}", path.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Mount points of the calling thread's mount namespace (unescaped): a check runs
/// in a mount namespace of its own, which its runtime calls inherit.
pub fn mount_points() -> Vec<String> {
    labkit::state::mount_points()
}

/// Names of the host's network interfaces.
pub fn interfaces() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// CLOCK_BOOTTIME of the host in seconds.
pub fn boottime() -> f64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).expect("CLOCK_BOOTTIME");
    t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9
}

/// CLOCK_MONOTONIC of the host in seconds.
pub fn monotonic() -> f64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC");
    t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9
}

/// CLOCK_REALTIME of the host in seconds since the epoch.
pub fn realtime() -> f64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME).expect("CLOCK_REALTIME");
    t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9
}

/// Runs the probe directly on the host and returns its last JSON object.
pub fn probe<T: DeserializeOwned>(probe: &str, args: &[&str]) -> Result<T, Outcome> {
    let out = Command::new(probe)
        .args(args)
        .output()
        .map_err(|e| broken(crate::t!("running {probe}: {e}", "{probe} 실행 실패: {e}")))?;
    last_line_as(&out.stdout).ok_or_else(|| {
        broken(crate::t!(
            "host probe {} printed no JSON",
            "호스트에서 돌린 probe {}이(가) JSON을 출력하지 않았습니다",
            args.join(" ")
        ))
    })
}

/// The last line of `stdout` that parses as a `T`.
pub fn last_line_as<T: DeserializeOwned>(stdout: &[u8]) -> Option<T> {
    String::from_utf8_lossy(stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<T>(l).ok())
}

/// Runs `program args` on the host inside the namespaces of `pid` named by
/// `nsenter` flags (e.g. `-u` for UTS): an observation from outside the container.
pub fn in_namespaces_of<T: DeserializeOwned>(
    pid: i32,
    ns_flags: &[&str],
    program: &str,
    args: &[&str],
) -> Result<T, Outcome> {
    let out = Command::new("nsenter")
        .arg("-t")
        .arg(pid.to_string())
        .args(ns_flags)
        .arg(program)
        .args(args)
        .output()
        .map_err(|e| broken(crate::t!("running nsenter: {e}", "nsenter를 실행하지 못했습니다: {e}")))?;
    last_line_as(&out.stdout).ok_or_else(|| {
        broken(crate::t!(
            "nsenter -t {pid} {}: {}",
            "nsenter -t {pid} {}: {}",
            ns_flags.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    })
}

/// The kinds of namespace the checker makes for itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsKind {
    /// A copy of the host's names.
    Uts,
    /// A new network stack: only a loopback, every sysctl at its default.
    Net,
}

impl NsKind {
    pub fn flag(self) -> i32 {
        match self {
            NsKind::Uts => libc::CLONE_NEWUTS,
            NsKind::Net => libc::CLONE_NEWNET,
        }
    }

    fn name(self) -> &'static str {
        match self {
            NsKind::Uts => "uts",
            NsKind::Net => "net",
        }
    }
}

/// A `user` key in the checker's user keyring (`@u`), the check's own: invalidated
/// when dropped, and given a timeout so that the kernel removes it even if the
/// checker is killed first.
pub struct UserKey {
    pub serial: i64,
}

impl UserKey {
    const KEY_SPEC_USER_KEYRING: libc::c_long = -4;

    /// Adds the key, readable by its uid (not only by whoever possesses it, as
    /// by default); an errno when the kernel (or a seccomp profile around the
    /// checker) refuses.
    pub fn add(desc: &str, payload: &str, timeout_secs: u32) -> Result<UserKey, Errno> {
        const KEYCTL_SETPERM: libc::c_long = 5;
        const KEYCTL_LINK: libc::c_long = 8;
        const KEYCTL_SET_TIMEOUT: libc::c_long = 15;
        const KEY_SPEC_PROCESS_KEYRING: libc::c_long = -2;
        // Possessor: everything; user: view, read and search.
        const PERM: libc::c_long = 0x3f0b_0000;
        let c_desc = std::ffi::CString::new(desc).map_err(|_| Errno::EINVAL)?;
        // Made in the checker's process keyring, so that the checker possesses it:
        // setting its rights and timeout and invalidating it take possession, and @u
        // is not always reachable from the session keyring (systemd's
        // KeyringMode=private). Children never inherit a process keyring. Then
        // linked into @u, which its uid may write.
        // SAFETY: NUL-terminated type and description, and a payload pointer with
        // its length; the kernel copies all of them.
        let serial = unsafe {
            libc::syscall(
                libc::SYS_add_key,
                c"user".as_ptr(),
                c_desc.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                KEY_SPEC_PROCESS_KEYRING,
            )
        };
        if serial < 0 {
            return Err(Errno::last());
        }
        let key = UserKey { serial };
        // SAFETY: keyctl(SETPERM | SET_TIMEOUT | LINK, ...) take integers only.
        let failed = unsafe {
            libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, serial, PERM) < 0
                || libc::syscall(
                    libc::SYS_keyctl,
                    KEYCTL_SET_TIMEOUT,
                    serial,
                    timeout_secs as libc::c_long,
                ) < 0
                || libc::syscall(libc::SYS_keyctl, KEYCTL_LINK, serial, Self::KEY_SPEC_USER_KEYRING) < 0
        };
        if failed {
            return Err(Errno::last());
        }
        Ok(key)
    }

    /// The serial of the checker's own `@u`.
    pub fn user_keyring() -> Option<i64> {
        // SAFETY: keyctl(GET_KEYRING_ID, id, create=0) takes no pointers.
        let r = unsafe { libc::syscall(libc::SYS_keyctl, 0 as libc::c_long, Self::KEY_SPEC_USER_KEYRING, 0) };
        (r >= 0).then_some(r)
    }
}

impl Drop for UserKey {
    fn drop(&mut self) {
        const KEYCTL_INVALIDATE: libc::c_long = 21;
        // SAFETY: keyctl(INVALIDATE, serial) takes no pointers.
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_INVALIDATE, self.serial) };
    }
}

/// A namespace of the checker's own, kept by a descriptor: runtimes started in it
/// (`Ctx::runtime_in`) may change "their caller" without changing the machine, and
/// the probe reads it through [`PrivateNs::probe`].
pub struct PrivateNs {
    fd: std::os::fd::OwnedFd,
    pub kind: NsKind,
}

impl PrivateNs {
    /// Makes the namespace: a probe unshares it and sleeps; its namespace link is
    /// opened; the probe is ended (by its PID).
    pub fn new(probe: &str, kind: NsKind) -> Result<PrivateNs, Outcome> {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let flag = kind.flag();
        // SAFETY: only unshare(2), async-signal-safe, runs between fork and exec.
        let mut child = unsafe {
            Command::new(probe)
                .args(["sleep", "30"])
                .stdout(std::process::Stdio::piped())
                .pre_exec(move || {
                    if libc::unshare(flag) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                })
                .spawn()
        }
        .map_err(|e| {
            broken(crate::t!(
                "making a namespace: {e}",
                "네임스페이스를 만들지 못했습니다: {e}"
            ))
        })?;
        // The probe's first line says it runs (its namespace is made).
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        let ns = std::fs::File::open(format!("/proc/{}/ns/{}", child.id(), kind.name()));
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = child.wait();
        let fd = ns
            .map_err(|e| {
                broken(crate::t!(
                    "opening a namespace: {e}",
                    "네임스페이스를 열지 못했습니다: {e}"
                ))
            })?
            .into();
        Ok(PrivateNs { fd, kind })
    }

    /// The descriptor, for `Runtime::enter_ns`.
    pub fn raw(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    /// The probe run in this namespace; its last line as `T`.
    pub fn probe<T: DeserializeOwned>(&self, program: &str, args: &[&str]) -> Result<T, Outcome> {
        use std::os::unix::process::CommandExt;
        let (fd, flag) = (self.raw(), self.kind.flag());
        // SAFETY: only setns(2), async-signal-safe, runs between fork and exec; the
        // descriptor lives as long as `self`.
        let out = unsafe {
            Command::new(program)
                .args(args)
                .pre_exec(move || {
                    if libc::setns(fd, flag) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                })
                .output()
        }
        .map_err(|e| broken(crate::t!("running the probe: {e}", "probe를 실행하지 못했습니다: {e}")))?;
        last_line_as(&out.stdout).ok_or_else(|| {
            broken(crate::t!(
                "{program} {} in the checker's namespace: {}",
                "검사기의 네임스페이스에서 {program} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        })
    }
}
