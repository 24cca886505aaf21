//! The probe's output, one type per line it prints (harness/PROBE.md). The probe
//! serialises these and the checks deserialise them, so a renamed field is a
//! compile error on both sides instead of a check that quietly reads `null`.
//!
//! Fields the probe may not be able to read are `Option`s (printed as `null`);
//! fields that only some lines of a verb carry are left out when `None`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Symbolic name of an errno value, e.g. 13 -> "EACCES" (`E<n>` when unknown).
pub fn errno_name(n: i32) -> String {
    let e = nix::errno::Errno::from_raw(n);
    if e == nix::errno::Errno::UnknownErrno {
        format!("E{n}")
    } else {
        format!("{e:?}")
    }
}

/// What every attempt carries: a refusal is a result (exit 0), not a probe error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub ok: bool,
    pub errno: Option<i32>,
    /// The symbolic name, e.g. `"EACCES"`.
    pub error: Option<String>,
}

impl Attempt {
    /// Success without an errno, a refusal with one.
    pub fn from_errno(errno: Option<i32>) -> Attempt {
        Attempt {
            ok: errno.is_none(),
            errno,
            error: errno.map(errno_name),
        }
    }

    /// Whether the attempt failed with `name` (`"EPERM"`).
    pub fn refused_with(&self, name: &str) -> bool {
        !self.ok && self.error.as_deref() == Some(name)
    }
}

/// A failure of the probe itself (exit 1): the only line with an `op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorLine {
    pub error: String,
    pub errno: Option<i32>,
    pub op: String,
}

/// A stop signal ended a hold (exit 128 + N).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopSignal {
    pub signal: i32,
    pub signal_name: Option<String>,
}

// ---------------------------------------------------------------- facts

/// One line of /proc/self/cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupLine {
    pub hierarchy_id: u32,
    pub controllers: Vec<String>,
    pub path: String,
}

/// One line of /proc/self/mountinfo (octal escapes decoded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountLine {
    pub mount_id: u64,
    pub parent_id: u64,
    /// "major:minor" of the file system's device.
    pub dev: String,
    /// Root of the mount inside its file system (not "/" for bind mounts).
    pub root: String,
    pub mount_point: String,
    /// Per-mount options, e.g. ["rw", "nosuid", "relatime"].
    pub options: Vec<String>,
    /// Optional fields, e.g. ["shared:1"] or ["master:3"].
    pub propagation: Vec<String>,
    pub fstype: String,
    pub source: String,
    /// Per-superblock options, e.g. ["rw", "size=65536k"].
    pub super_options: Vec<String>,
}

/// A device and inode pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevIno {
    pub dev: u64,
    pub ino: u64,
}

/// stat of `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootStat {
    pub dev: u64,
    pub dev_major: u64,
    pub dev_minor: u64,
    pub ino: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfAddr {
    /// `inet` or `inet6`.
    pub family: String,
    pub address: String,
    pub prefix: Option<u32>,
}

/// A network interface; from /proc/net/dev only the name and index are known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub index: Option<u32>,
    pub up: Option<bool>,
    pub running: Option<bool>,
    pub loopback: Option<bool>,
    pub mac: Option<String>,
    pub addresses: Option<Vec<IfAddr>>,
}

/// Capability sets as hex strings, as /proc/self/status has them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub effective: Option<String>,
    pub permitted: Option<String>,
    pub inheritable: Option<String>,
    pub bounding: Option<String>,
    pub ambient: Option<String>,
    /// The effective set by name (`CAP_<bit>` for unknown bits).
    pub effective_names: Option<Vec<String>>,
}

/// Seconds since boot as a time namespace shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Uptime {
    pub proc: Option<f64>,
    pub monotonic: Option<f64>,
    pub boottime: Option<f64>,
    /// CLOCK_REALTIME, seconds since the epoch (no time namespace moves it).
    #[serde(default)]
    pub realtime: Option<f64>,
}

/// `probe facts`: what the process sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub groups: Option<Vec<u32>>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// Namespace name → inode of /proc/self/ns/NAME.
    pub ns: BTreeMap<String, Option<u64>>,
    pub uid_map: Option<Vec<[u64; 3]>>,
    pub gid_map: Option<Vec<[u64; 3]>>,
    pub setgroups: Option<String>,
    pub cgroup: Option<Vec<CgroupLine>>,
    pub mounts: Option<Vec<MountLine>>,
    pub root: Option<RootStat>,
    pub cwd: Option<String>,
    pub interfaces: Option<Vec<Interface>>,
    pub capabilities: Capabilities,
    pub no_new_privs: Option<i64>,
    pub seccomp: Option<i64>,
    /// NSpid, outermost namespace first.
    pub nspid: Option<Vec<u64>>,
    pub uptime: Uptime,
    pub oom_score_adj: Option<i64>,
    /// The pids this process can see in /proc.
    pub pids: Option<Vec<u64>>,
}

// ---------------------------------------------------------------- workloads

/// `scene`: what one container did and saw, in one line, before it holds (the
/// explanation's container: `labcheck --explain`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// The `--write` files, in order.
    pub writes: Vec<WriteFile>,
    /// The `--rm` files, in order.
    pub removed: Vec<PathAttempt>,
    /// Anonymous memory allocated and touched (`--mem`), held until exit.
    pub allocated_bytes: u64,
    /// The `--stat` paths, after the writes and removals.
    pub stats: Vec<Stat>,
    /// Everything else it sees, last.
    pub facts: Facts,
}

/// `mem`: one line per step; the last has `done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
    pub allocated_bytes: u64,
}

/// `cpu`: the first line, once pinned (with `--pin`): about to spin, or with
/// `--go-file` about to wait for that file first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spinning {
    pub spinning: u32,
    #[serde(default)]
    pub pinned: Option<u32>,
    #[serde(default)]
    pub waiting_for: Option<String>,
}

/// `cpu`: CPU time over wall time of the spinning threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuSpin {
    pub wall_usec: u64,
    pub cpu_usec: u64,
    pub user_usec: u64,
    pub sys_usec: u64,
    pub threads: u32,
}

/// `forks`: how many children until fork failed; `holding` on the line before the
/// hold, `reaped` on the last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forks {
    pub forked: usize,
    pub errno: Option<i32>,
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holding: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaped: Option<usize>,
}

/// `write` and `read`: bytes moved and how long it took (`fsync` only for `write`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoRun {
    pub path: String,
    pub bytes: u64,
    pub usec: u64,
    pub bytes_per_sec: u64,
    pub direct: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsync: Option<bool>,
}

/// `sleep`: the first line, at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sleeping {
    pub sleeping: f64,
    pub pid: u32,
}

/// `sleep`: the last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slept {
    pub slept_usec: u64,
}

/// `exit CODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    pub exit: i32,
}

/// `count`: one line per interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub count: u64,
    pub mono_ns: u64,
}

/// `orphan`: the first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphaned {
    pub grandchild: i32,
    pub child: i32,
}

/// `orphan --wait-ms`: what became of the orphan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrphanState {
    pub grandchild: i32,
    /// `gone`, `zombie`, `alive` or `unknown`.
    pub state: String,
    pub stat_state: Option<String>,
    pub ppid: Option<i64>,
    /// The PID namespace the orphan lived in (whose init should reap it).
    pub pid_ns: Option<String>,
}

// ---------------------------------------------------------------- single operations

/// An attempt on a path (`touch`, `rm`, `mkdir`, `rmdir`, `mount-tmpfs`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathAttempt {
    pub path: String,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `open PATH [--write]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    pub path: String,
    pub write: bool,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `stat PATH`: on failure every field but `path` is null.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub path: String,
    /// `file`, `dir`, `symlink`, `char`, `block`, `fifo` or `socket`.
    #[serde(rename = "type")]
    pub file_type: Option<String>,
    pub mode: Option<u32>,
    /// Permission bits in octal, e.g. `"0644"`.
    pub perm: Option<String>,
    pub dev: Option<u64>,
    pub dev_major: Option<u64>,
    pub dev_minor: Option<u64>,
    pub ino: Option<u64>,
    pub nlink: Option<u64>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    /// Only for char and block devices.
    pub rdev_major: Option<u64>,
    pub rdev_minor: Option<u64>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `write-file PATH --content TEXT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteFile {
    pub path: String,
    pub bytes: u64,
    /// How long open, write and close took (a copy-up happens in the open).
    #[serde(default)]
    pub usec: Option<u64>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `cat PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cat {
    pub path: String,
    /// Lossy UTF-8.
    pub content: Option<String>,
    pub bytes: Option<u64>,
    pub truncated: Option<bool>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `chmod PATH MODE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chmod {
    pub path: String,
    pub mode: String,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `ls PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ls {
    pub path: String,
    pub entries: Option<Vec<String>>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `chdir-up`: where climbing `..` from `/` ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChdirUp {
    pub times: u32,
    pub root: DevIno,
    pub cwd: DevIno,
    pub same: bool,
    pub cwd_path: Option<String>,
}

/// The operation a strict runtime refused (`chroot-escape` without CAP_SYS_CHROOT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub op: String,
    pub error: String,
}

/// `chroot-escape`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChrootEscape {
    pub root_before: DevIno,
    pub root_after: DevIno,
    pub escaped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refused>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat_after: Option<PathAttempt>,
}

/// `hostname` without `--set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hostname {
    pub hostname: Option<String>,
}

/// `hostname --set NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetHostname {
    pub requested: String,
    /// The name after the attempt.
    pub hostname: Option<String>,
    /// Which UTS namespace answered (`uts:[4026531838]`).
    pub uts_ns: Option<String>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `domainname` without `--set`: the NIS domain name of the UTS namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domainname {
    pub domainname: Option<String>,
}

/// One device node of `dev-nodes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevNode {
    pub path: String,
    /// `char` or `block`.
    #[serde(rename = "type")]
    pub file_type: String,
    pub major: u64,
    pub minor: u64,
}

/// `dev-nodes DIR`: every entry below DIR (symlinks not followed, other mounts
/// included), and the device nodes among them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevNodes {
    pub dir: String,
    pub nodes: Vec<DevNode>,
    /// Every entry's path, sorted.
    pub entries: Vec<String>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `keyring --find DESC`: the calling user's keyring (`@u`) and a `user` key
/// searched for in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    /// The serial of `@u`, as KEYCTL_GET_KEYRING_ID gives it (null: refused).
    pub user_keyring: Option<i64>,
    pub find: String,
    /// The serial of the key found, and its payload (lossy UTF-8).
    pub serial: Option<i64>,
    pub payload: Option<String>,
    /// The search's (or the read's) outcome: ENOKEY when `@u` has no such key.
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `domainname --set NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDomainname {
    pub requested: String,
    /// The name after the attempt.
    pub domainname: Option<String>,
    /// Which UTS namespace answered.
    pub uts_ns: Option<String>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `raise SIGNAL`: the first line, before the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raising {
    pub raising: i32,
}

/// `raise SIGNAL`: printed only if the process lived through its own signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survived {
    pub survived: i32,
}

/// One entry of `fds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenFd {
    pub fd: i32,
    /// The link's target: a path, or `pipe:[…]`, `socket:[…]`, `anon_inode:…`.
    pub target: String,
}

/// `fds`: the process's open descriptors (the listing's own left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fds {
    pub fds: Vec<OpenFd>,
}

/// `kill PID [--signal SIG]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    pub pid: i32,
    pub signal: i32,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `affinity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affinity {
    pub cpus: Vec<usize>,
    pub count: usize,
    pub online: Option<i64>,
}

/// `load-module [--finit]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadModule {
    /// `init_module` or `finit_module`.
    pub call: String,
    pub path: Option<String>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `rewrite PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    pub path: String,
    pub value: Option<String>,
    /// The step that failed: `read`, `open` or `write`.
    pub stage: Option<String>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

// ---------------------------------------------------------------- network

/// `listen`: bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listening {
    pub listening: bool,
    pub addr: String,
    pub port: u16,
}

/// `listen`: one connection served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    pub received: String,
    pub bytes: u64,
    pub peer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_errno: Option<i32>,
}

/// `connect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connect {
    pub connected: bool,
    pub addr: String,
    pub port: u16,
    pub reply: Option<String>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// `bind-only`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindOnly {
    pub addr: String,
    pub port: u16,
    #[serde(flatten)]
    pub attempt: Attempt,
}

// ---------------------------------------------------------------- ipc

/// Which IPC object: SysV `shm`/`msg` by key, POSIX `mq` by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcObject {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `ipc create`: made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcCreated {
    #[serde(flatten)]
    pub object: IpcObject,
    /// The SysV id, or the mq descriptor.
    pub id: i64,
    pub created: bool,
}

/// `ipc create` (after the hold) and `ipc remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcRemoved {
    #[serde(flatten)]
    pub object: IpcObject,
    pub removed: bool,
    pub errno: Option<i32>,
    pub error: Option<String>,
}

/// `ipc lookup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcLookup {
    #[serde(flatten)]
    pub object: IpcObject,
    pub found: bool,
    /// SysV only (null for mq).
    pub id: Option<i64>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_flatten_into_their_line() {
        let line = PathAttempt {
            path: "/x".into(),
            attempt: Attempt::from_errno(Some(libc::ENOENT)),
        };
        let v = serde_json::to_value(&line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"path": "/x", "ok": false, "errno": 2, "error": "ENOENT"})
        );
        assert_eq!(serde_json::from_value::<PathAttempt>(v).unwrap(), line);
        assert!(line.attempt.refused_with("ENOENT"));
    }

    #[test]
    fn lines_of_one_verb_are_told_apart() {
        let step: serde_json::Value = serde_json::json!({"allocated_bytes": 4096});
        assert_eq!(serde_json::from_value::<MemStep>(step.clone()).unwrap().done, None);
        assert!(serde_json::from_value::<Sleeping>(step).is_err());
        let sleeping = serde_json::json!({"sleeping": 20.0, "pid": 1});
        assert!(serde_json::from_value::<Count>(sleeping.clone()).is_err());
        assert_eq!(serde_json::from_value::<Sleeping>(sleeping).unwrap().pid, 1);
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::EACCES), "EACCES");
        assert_eq!(errno_name(99999), "E99999");
    }
}
