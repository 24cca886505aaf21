//! `probe ipc`: SysV shared memory, SysV message queues and POSIX message
//! queues, to show whether IPC objects are shared between containers.

use std::ffi::CString;

use clap::ValueEnum;
use labkit::probe::{Attempt, IpcCreated, IpcLookup, IpcObject, IpcRemoved};
use nix::errno::Errno;

use crate::out::{block_stop_signals, emit, errno_name, exit_on_signal, PResult, ProbeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// SysV shared memory segment (shmget)
    Shm,
    /// SysV message queue (msgget)
    Msg,
    /// POSIX message queue (mq_open)
    Mq,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Shm => "shm",
            Kind::Msg => "msg",
            Kind::Mq => "mq",
        }
    }
}

/// Which object: a SysV key or a POSIX queue name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Key(i32),
    Name(String),
}

/// Parse a SysV IPC key: decimal (`1234`, `-5`) or hex (`0x4d2`). Values up
/// to 0xffffffff are accepted and reinterpreted as the 32-bit key_t.
pub fn parse_key(s: &str) -> Result<i32, String> {
    let t = s.trim();
    let v: i64 = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).map_err(|_| format!("invalid key {s:?}"))?
    } else {
        t.parse().map_err(|_| format!("invalid key {s:?}"))?
    };
    if v < i32::MIN as i64 || v > u32::MAX as i64 {
        return Err(format!("invalid key {s:?}: out of range"));
    }
    Ok(v as u32 as i32)
}

/// POSIX queue names must start with exactly one '/'.
pub fn normalize_mq_name(name: &str) -> String {
    format!("/{}", name.trim_start_matches('/'))
}

/// Check that the kind and the given key/name fit together.
pub fn target(kind: Kind, key: Option<i32>, name: Option<&str>) -> PResult<Target> {
    match (kind, key, name) {
        (Kind::Mq, _, Some(n)) => Ok(Target::Name(normalize_mq_name(n))),
        (Kind::Mq, _, None) => Err(ProbeError::msg("args", "--kind mq needs --name")),
        (_, Some(k), _) => Ok(Target::Key(k)),
        (_, None, _) => Err(ProbeError::msg("args", "--kind shm|msg needs --key")),
    }
}

fn base(kind: Kind, t: &Target) -> IpcObject {
    let (key, name) = match t {
        Target::Key(k) => (Some(*k), None),
        Target::Name(n) => (None, Some(n.clone())),
    };
    IpcObject {
        kind: kind.as_str().to_string(),
        key,
        name,
    }
}

fn cname(n: &str) -> PResult<CString> {
    CString::new(n).map_err(|_| ProbeError::msg("args", "name contains a NUL byte"))
}

/// Result of a raw call: non-negative value or errno.
fn check(r: i64) -> Result<i64, Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

fn op_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Shm => "shmget",
        Kind::Msg => "msgget",
        Kind::Mq => "mq_open",
    }
}

fn do_create(kind: Kind, t: &Target, size: u64) -> Result<i64, Errno> {
    let perms = 0o600;
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        match (kind, t) {
            (Kind::Shm, Target::Key(k)) => {
                check(libc::shmget(*k, size as usize, libc::IPC_CREAT | libc::IPC_EXCL | perms) as i64)
            }
            (Kind::Msg, Target::Key(k)) => check(libc::msgget(*k, libc::IPC_CREAT | libc::IPC_EXCL | perms) as i64),
            (Kind::Mq, Target::Name(n)) => {
                let c = CString::new(n.as_str()).map_err(|_| Errno::EINVAL)?;
                check(libc::mq_open(
                    c.as_ptr(),
                    libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC,
                    perms as libc::mode_t,
                    std::ptr::null_mut::<libc::mq_attr>(),
                ) as i64)
            }
            _ => Err(Errno::EINVAL),
        }
    }
}

fn do_lookup(kind: Kind, t: &Target) -> Result<i64, Errno> {
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        match (kind, t) {
            (Kind::Shm, Target::Key(k)) => check(libc::shmget(*k, 0, 0) as i64),
            (Kind::Msg, Target::Key(k)) => check(libc::msgget(*k, 0) as i64),
            (Kind::Mq, Target::Name(n)) => {
                let c = CString::new(n.as_str()).map_err(|_| Errno::EINVAL)?;
                let fd = check(libc::mq_open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) as i64)?;
                libc::mq_close(fd as libc::mqd_t);
                Ok(fd)
            }
            _ => Err(Errno::EINVAL),
        }
    }
}

/// Remove an object; `id` is the SysV id or an open mq descriptor to close.
fn do_remove(kind: Kind, t: &Target, id: Option<i64>) -> Result<(), Errno> {
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        match (kind, t) {
            (Kind::Shm, _) => {
                let id = match id {
                    Some(i) => i,
                    None => do_lookup(kind, t)?,
                };
                check(libc::shmctl(id as i32, libc::IPC_RMID, std::ptr::null_mut()) as i64).map(|_| ())
            }
            (Kind::Msg, _) => {
                let id = match id {
                    Some(i) => i,
                    None => do_lookup(kind, t)?,
                };
                check(libc::msgctl(id as i32, libc::IPC_RMID, std::ptr::null_mut()) as i64).map(|_| ())
            }
            (Kind::Mq, Target::Name(n)) => {
                if let Some(fd) = id {
                    libc::mq_close(fd as libc::mqd_t);
                }
                let c = CString::new(n.as_str()).map_err(|_| Errno::EINVAL)?;
                check(libc::mq_unlink(c.as_ptr()) as i64).map(|_| ())
            }
            _ => Err(Errno::EINVAL),
        }
    }
}

fn removed_line(kind: Kind, t: &Target, r: Result<(), Errno>) -> IpcRemoved {
    let errno = r.err().map(|e| e as i32);
    IpcRemoved {
        object: base(kind, t),
        removed: errno.is_none(),
        errno,
        error: errno.map(errno_name),
    }
}

/// `ipc create`: create the object (exclusively), report it, hold, then
/// remove it unless `keep`.
pub fn create(kind: Kind, key: Option<i32>, name: Option<&str>, size: u64, hold: f64, keep: bool) -> PResult {
    let t = target(kind, key, name)?;
    if let Target::Name(n) = &t {
        cname(n)?;
    }
    if hold > 0.0 {
        block_stop_signals();
    }
    let id = do_create(kind, &t, size).map_err(|e| ProbeError::errno(op_name(kind), e))?;
    emit(&IpcCreated {
        object: base(kind, &t),
        id,
        created: true,
    });
    let sig = crate::out::hold(hold);
    if !keep {
        emit(&removed_line(kind, &t, do_remove(kind, &t, Some(id))));
    } else if kind == Kind::Mq {
        // SAFETY: closing our descriptor; the queue itself stays.
        unsafe { libc::mq_close(id as libc::mqd_t) };
    }
    if let Some(sig) = sig {
        exit_on_signal(sig);
    }
    Ok(())
}

/// `ipc lookup`: does the object exist in this IPC namespace?
pub fn lookup(kind: Kind, key: Option<i32>, name: Option<&str>) -> PResult {
    let t = target(kind, key, name)?;
    let r = do_lookup(kind, &t);
    let errno = r.err().map(|e| e as i32);
    // For mq the descriptor was closed already; only SysV ids are stable.
    let id = match (kind, r) {
        (Kind::Mq, _) => None,
        (_, r) => r.ok(),
    };
    emit(&IpcLookup {
        object: base(kind, &t),
        found: errno.is_none(),
        id,
        attempt: Attempt::from_errno(errno),
    });
    Ok(())
}

/// `ipc remove`: remove an object left behind by `create --keep`.
pub fn remove(kind: Kind, key: Option<i32>, name: Option<&str>) -> PResult {
    let t = target(kind, key, name)?;
    emit(&removed_line(kind, &t, do_remove(kind, &t, None)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(parse_key("1234"), Ok(1234));
        assert_eq!(parse_key("0x4d2"), Ok(1234));
        assert_eq!(parse_key("0X4D2"), Ok(1234));
        assert_eq!(parse_key("-5"), Ok(-5));
        assert_eq!(parse_key("0xffffffff"), Ok(-1));
        assert!(parse_key("0x1ffffffff").is_err());
        assert!(parse_key("abc").is_err());
        assert!(parse_key("").is_err());
    }

    #[test]
    fn names_and_targets() {
        assert_eq!(normalize_mq_name("q"), "/q");
        assert_eq!(normalize_mq_name("/q"), "/q");
        assert_eq!(normalize_mq_name("//q"), "/q");
        assert_eq!(target(Kind::Mq, None, Some("x")), Ok(Target::Name("/x".into())));
        assert!(target(Kind::Mq, Some(1), None).is_err());
        assert_eq!(target(Kind::Shm, Some(7), None), Ok(Target::Key(7)));
        assert!(target(Kind::Msg, None, Some("x")).is_err());
    }
}
