//! Root tests against the real cgroup tree of this machine, `#[ignore]`d:
//! `cargo test -p harness --lib -- --ignored cgroups`.
//!
//! Every cgroup is made under the caller's own cgroup of each hierarchy,
//! named `harness-unit-<pid>-<n>`, and destroyed by a guard even when an
//! assertion fails. Child processes join only cgroups made here.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique_name() -> String {
    format!(
        "harness-unit-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Destroys the cgroup when dropped, also after a failed assertion.
struct Guard(Box<dyn Cgroup>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = self.0.destroy() {
            eprintln!("cleanup of cgroup {} failed: {e}", self.0.name());
        }
    }
}

impl std::ops::Deref for Guard {
    type Target = dyn Cgroup;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// Kills and reaps the child when dropped, unless the test already waited.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn pid(&self) -> i32 {
        self.0.as_ref().unwrap().id() as i32
    }
    fn wait(&mut self) -> std::process::ExitStatus {
        self.0.take().unwrap().wait().unwrap()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A command that joins the cgroups `dirs` (writing 0 to their
/// cgroup.procs moves the writer) between fork and exec, so it runs
/// confined from its first instruction. Only raw open/write after fork.
fn joining(mut cmd: Command, dirs: &[PathBuf]) -> Command {
    let files: Vec<CString> = dirs
        .iter()
        .map(|d| CString::new(d.join("cgroup.procs").as_os_str().as_bytes()).unwrap())
        .collect();
    // SAFETY: the hook only calls open, write and close (async-signal-safe)
    // on strings made before the fork.
    unsafe {
        cmd.pre_exec(move || {
            for f in &files {
                let fd = libc::open(f.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let r = libc::write(fd, b"0".as_ptr() as *const libc::c_void, 1);
                libc::close(fd);
                if r != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn v1_or_skip() -> Option<Hierarchies> {
    if !is_root() {
        eprintln!("skipped: needs root");
        return None;
    }
    let h = Hierarchies::detect().unwrap();
    if h.version() != CgroupVersion::V1 {
        eprintln!("skipped: this host is not cgroup v1");
        return None;
    }
    Some(h)
}

/// The v1 driver end to end: limits read back, a process joins, freeze,
/// thaw, stats, destroy kills it and removes every directory.
#[test]
#[ignore = "needs root and the cgroup v1 tree of the test machine"]
fn v1_lifecycle() {
    let Some(h) = v1_or_skip() else { return };
    let name = unique_name();
    let cg = Guard(open(&h, None, &name).unwrap());
    let limits = Limits {
        memory: Some((64 << 20) + 123),
        memory_low: Some(16 << 20),
        cpu: Some(CpuMax {
            quota_us: 20000,
            period_us: 50000,
        }),
        cpu_weight: Some(250),
        // This machine has no BFQ: the weight file is absent (a runtime error).
        io_weight: None,
        pids: Some(32),
        io_wbps: vec![IoLimit {
            major: 7,
            minor: 0,
            bps: 1 << 20,
        }],
        io_rbps: vec![IoLimit {
            major: 7,
            minor: 0,
            bps: 2 << 20,
        }],
        cpuset: Some("0".to_string()),
        deny_devices: vec![DeviceRule {
            kind: DeviceKind::Char,
            major: 1,
            minor: 3,
        }],
        net_classid: None,
    };
    cg.create(&limits).unwrap();
    let dir = |c: &str| h.controller_path(c).unwrap().join(&name);
    for p in cg.paths() {
        assert!(p.is_dir(), "{}", p.display());
    }
    // memory.limit_in_bytes reads back rounded down to the page size.
    assert_eq!(
        read(&dir("memory").join("memory.limit_in_bytes")).trim(),
        (64u64 << 20).to_string()
    );
    if dir("memory").join("memory.memsw.limit_in_bytes").exists() {
        assert_eq!(
            read(&dir("memory").join("memory.memsw.limit_in_bytes")).trim(),
            (64u64 << 20).to_string()
        );
    }
    assert_eq!(read(&dir("memory").join("memory.swappiness")).trim(), "0");
    assert_eq!(read(&dir("cpu").join("cpu.cfs_quota_us")).trim(), "20000");
    assert_eq!(read(&dir("cpu").join("cpu.shares")).trim(), "2560");
    assert_eq!(
        read(&dir("memory").join("memory.soft_limit_in_bytes")).trim(),
        (16u64 << 20).to_string()
    );
    assert_eq!(read(&dir("cpu").join("cpu.cfs_period_us")).trim(), "50000");
    assert_eq!(read(&dir("pids").join("pids.max")).trim(), "32");
    assert_eq!(read(&dir("cpuset").join("cpuset.cpus")).trim(), "0");
    assert_eq!(
        read(&dir("cpuset").join("cpuset.mems")).trim(),
        read(&h.controller_path("cpuset").unwrap().join("cpuset.mems")).trim()
    );
    assert_eq!(
        read(&dir("blkio").join("blkio.throttle.write_bps_device")).trim(),
        "7:0 1048576"
    );
    assert_eq!(
        read(&dir("blkio").join("blkio.throttle.read_bps_device")).trim(),
        "7:0 2097152"
    );

    let mut child = ChildGuard(Some(
        Command::new("sleep").arg("30").stdin(Stdio::null()).spawn().unwrap(),
    ));
    let pid = child.pid();
    cg.add_process(pid).unwrap();
    let own = read(Path::new(&format!("/proc/{pid}/cgroup")));
    assert!(
        own.lines()
            .any(|l| l.contains(":memory:") && l.ends_with(&format!("/{name}"))),
        "{own}"
    );
    assert_eq!(cg.pids().unwrap(), vec![pid]);

    cg.freeze().unwrap();
    assert_eq!(read(&dir("freezer").join("freezer.state")).trim(), "FROZEN");
    assert!(Path::new(&format!("/proc/{pid}/status")).exists());
    cg.thaw().unwrap();
    assert_eq!(read(&dir("freezer").join("freezer.state")).trim(), "THAWED");

    let s = cg.stats().unwrap();
    assert_eq!(s.name, name);
    assert_eq!(s.cgroup_version, 1);
    assert_eq!(s.pids_current, Some(1));
    assert!(s.memory_current_bytes.is_some() && s.memory_peak_bytes.is_some());
    assert!(s.cpu_usage_usec.is_some() && s.cpu_nr_periods.is_some());
    assert_eq!(s.oom_kills, Some(0));

    cg.destroy().unwrap();
    for p in cg.paths() {
        assert!(!p.exists(), "{} is still there", p.display());
    }
    let status = child.wait();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    cg.destroy().unwrap(); // idempotent
}

/// Destroy while frozen: v1 tasks die only after a thaw.
#[test]
#[ignore = "needs root and the cgroup v1 tree of the test machine"]
fn v1_destroy_frozen_with_several_processes() {
    let Some(h) = v1_or_skip() else { return };
    let cg = Guard(open(&h, None, &unique_name()).unwrap());
    cg.create(&Limits {
        pids: Some(10),
        ..Default::default()
    })
    .unwrap();
    let mut sh = Command::new("sh");
    sh.args(["-c", "sleep 30 & sleep 30 & wait"]).stdin(Stdio::null());
    let mut child = ChildGuard(Some(joining(sh, &cg.paths()).spawn().unwrap()));
    // Wait for both sleeps to start.
    for _ in 0..200 {
        if cg.pids().unwrap().len() == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(cg.pids().unwrap().len(), 3);
    assert_eq!(cg.stats().unwrap().pids_current, Some(3));
    cg.freeze().unwrap();
    cg.destroy().unwrap();
    assert!(!cg.exists());
    assert_eq!(child.wait().signal(), Some(libc::SIGKILL));
}

/// A denied device cannot be opened from inside; others can.
#[test]
#[ignore = "needs root and the cgroup v1 tree of the test machine"]
fn v1_devices_deny() {
    let Some(h) = v1_or_skip() else { return };
    let cg = Guard(open(&h, None, &unique_name()).unwrap());
    let deny = vec![DeviceRule {
        kind: DeviceKind::Char,
        major: 1,
        minor: 3,
    }];
    cg.create(&Limits {
        deny_devices: deny,
        ..Default::default()
    })
    .unwrap();
    let out = device_probe(&cg.paths());
    assert_eq!(out.0, "1\nnull-rc=1\n", "stderr: {}", out.1);
    assert!(out.1.contains("Operation not permitted"), "{}", out.1);
}

/// Runs, confined to `dirs`: read a byte of /dev/zero (allowed), then
/// open /dev/null (denied). Returns (stdout, stderr).
fn device_probe(dirs: &[PathBuf]) -> (String, String) {
    let mut sh = Command::new("sh");
    sh.args(["-c", "head -c1 /dev/zero | wc -c; cat /dev/null; echo null-rc=$?"]);
    sh.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = joining(sh, dirs).output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// This host's cgroup2 mount alone, as a v2 host: no controllers there, but
/// the core files (cgroup.freeze, cgroup.kill, cpu.stat) and the BPF device
/// filter work on any cgroup2 cgroup.
fn unified_or_skip() -> Option<Hierarchies> {
    if !is_root() {
        eprintln!("skipped: needs root");
        return None;
    }
    let h = Hierarchies::detect().unwrap();
    let Some(v2) = h.v2_hierarchy().cloned() else {
        eprintln!("skipped: no cgroup2 mount");
        return None;
    };
    if !v2.own_dir().join("cgroup.procs").exists() {
        eprintln!("skipped: the caller's cgroup2 directory is not visible");
        return None;
    }
    let only = Hierarchies::new(Vec::new(), Some(v2));
    assert_eq!(only.version(), CgroupVersion::V2);
    Some(only)
}

#[test]
#[ignore = "needs root and a cgroup2 mount"]
fn v2_device_filter_on_the_unified_mount() {
    let Some(h) = unified_or_skip() else { return };
    let cg = Guard(open(&h, None, &unique_name()).unwrap());
    let deny = vec![
        DeviceRule {
            kind: DeviceKind::Char,
            major: 1,
            minor: 3,
        },
        DeviceRule {
            kind: DeviceKind::Block,
            major: 7,
            minor: 0,
        },
    ];
    cg.create(&Limits {
        deny_devices: deny,
        ..Default::default()
    })
    .unwrap();
    let out = device_probe(&cg.paths());
    assert_eq!(out.0, "1\nnull-rc=1\n", "stderr: {}", out.1);
    assert!(out.1.contains("Operation not permitted"), "{}", out.1);
}

#[test]
#[ignore = "needs root and a cgroup2 mount"]
fn v2_lifecycle_on_the_unified_mount() {
    let Some(h) = unified_or_skip() else { return };
    let name = unique_name();
    let cg = Guard(open(&h, None, &name).unwrap());
    // No controller is enabled there: a limit needing one is refused, and
    // nothing is left behind.
    let e = cg
        .create(&Limits {
            pids: Some(3),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(e, CgroupError::ControllerNotAvailable { .. }), "{e}");
    assert!(!cg.exists());
    cg.create(&Limits::default()).unwrap();
    let mut child = ChildGuard(Some(
        Command::new("sleep").arg("30").stdin(Stdio::null()).spawn().unwrap(),
    ));
    let pid = child.pid();
    cg.add_process(pid).unwrap();
    assert_eq!(cg.pids().unwrap(), vec![pid]);
    cg.freeze().unwrap();
    let events = read(&cg.paths()[0].join("cgroup.events"));
    assert!(events.contains("frozen 1"), "{events}");
    assert!(Path::new(&format!("/proc/{pid}/status")).exists());
    cg.thaw().unwrap();
    let s = cg.stats().unwrap();
    assert_eq!(s.cgroup_version, 2);
    assert!(s.cpu_usage_usec.is_some());
    // Destroy while frozen: cgroup.kill gets through.
    cg.freeze().unwrap();
    cg.destroy().unwrap();
    assert!(!cg.exists());
    assert_eq!(child.wait().signal(), Some(libc::SIGKILL));
}
