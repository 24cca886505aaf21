//! File helpers shared by the v1 and v2 drivers.
//!
//! Every helper takes the full path it works on and every error names that
//! path (and, for writes, the data), so a failing limit reads like
//! `failed to write 20000 100000 to /sys/fs/cgroup/x/cpu.max: Invalid argument`.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::CgroupError;

/// How long freeze, thaw and destroy wait for the kernel.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Writes `data` to an existing control file in one `write(2)` (cgroupfs
/// parses each write separately). Never creates the file: on cgroupfs a
/// missing file means the controller is not there, and that must be an error.
pub fn write_file(path: &Path, data: &str) -> Result<(), CgroupError> {
    let werr = |source: io::Error| CgroupError::Write {
        path: path.to_path_buf(),
        data: data.to_string(),
        source,
    };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(werr)?;
    f.write_all(data.as_bytes()).map_err(werr)
}

/// Adds one rule line to a list file such as `devices.deny` or
/// `blkio.throttle.write_bps_device`. The kernel takes one rule per write and
/// keeps the others; the file is opened for appending and the line ends in a
/// newline (as `echo` writes it) so a fake tree in a test keeps every rule too.
pub fn append_line(path: &Path, line: &str) -> Result<(), CgroupError> {
    let werr = |source: io::Error| CgroupError::Write {
        path: path.to_path_buf(),
        data: line.to_string(),
        source,
    };
    let mut f = fs::OpenOptions::new().append(true).open(path).map_err(werr)?;
    f.write_all(format!("{line}\n").as_bytes()).map_err(werr)
}

pub fn read_file(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a file that may legitimately be absent (a controller file the kernel
/// does not have, such as `memory.peak` before 5.19): `Ok(None)` then.
pub fn read_optional(path: &Path) -> Result<Option<String>, CgroupError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CgroupError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

pub fn parse_u64(path: &Path, text: &str) -> Result<u64, CgroupError> {
    let t = text.trim();
    t.parse::<u64>().map_err(|e| CgroupError::Parse {
        path: path.to_path_buf(),
        value: t.to_string(),
        reason: e.to_string(),
    })
}

/// A single-number file, `None` when the file does not exist.
pub fn read_u64_optional(path: &Path) -> Result<Option<u64>, CgroupError> {
    match read_optional(path)? {
        Some(s) => parse_u64(path, &s).map(Some),
        None => Ok(None),
    }
}

/// Above this a v1 limit means "none" (the kernel's PAGE_COUNTER_MAX in bytes,
/// 9223372036854771712 on 4 KiB pages, is what an unlimited cgroup reads).
pub const UNLIMITED_FROM: u64 = 1 << 62;

/// A limit file: its number, `None` when it is absent, reads `max` (v2) or a v1
/// "no limit" value.
pub fn read_limit_optional(path: &Path) -> Result<Option<u64>, CgroupError> {
    match read_optional(path)? {
        Some(s) if s.trim() == "max" => Ok(None),
        Some(s) => parse_u64(path, &s).map(|v| (v < UNLIMITED_FROM).then_some(v)),
        None => Ok(None),
    }
}

/// Bytes read and written, summed over devices: v2 `io.stat` lines
/// (`8:0 rbytes=N wbytes=N rios=…`) or v1 `blkio.*io_service_bytes*` lines
/// (`8:0 Read N`, `8:0 Write N`; the `Total` lines left out).
pub fn io_bytes(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0u64, 0u64);
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some(dev) = it.next() else { continue };
        if !dev.contains(':') {
            continue;
        }
        let rest: Vec<&str> = it.collect();
        match rest.as_slice() {
            ["Read", n] => r = r.saturating_add(n.parse().unwrap_or(0)),
            ["Write", n] => w = w.saturating_add(n.parse().unwrap_or(0)),
            fields => {
                for f in fields {
                    if let Some(n) = f.strip_prefix("rbytes=") {
                        r = r.saturating_add(n.parse().unwrap_or(0));
                    } else if let Some(n) = f.strip_prefix("wbytes=") {
                        w = w.saturating_add(n.parse().unwrap_or(0));
                    }
                }
            }
        }
    }
    (r, w)
}

/// One key of a flat keyed file (`key value` per line: cpu.stat,
/// memory.events, memory.oom_control). `Ok(None)` when the file or key is absent.
pub fn read_keyed(path: &Path, key: &str) -> Result<Option<u64>, CgroupError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    keyed_value(path, &text, key)
}

pub fn keyed_value(path: &Path, text: &str, key: &str) -> Result<Option<u64>, CgroupError> {
    for line in text.lines() {
        let mut it = line.split_whitespace();
        if it.next() == Some(key) {
            let v = it.next().unwrap_or("");
            return parse_u64(path, v).map(Some);
        }
    }
    Ok(None)
}

/// Creates one cgroup directory (its parent must exist).
pub fn make_dir(path: &Path) -> Result<(), CgroupError> {
    fs::create_dir(path).map_err(|source| CgroupError::Mkdir {
        path: path.to_path_buf(),
        source,
    })?;
    fake::populate(path);
    Ok(())
}

/// Every pid in `cgroup.procs` of `dir` and of its descendant cgroups.
/// A directory that vanished meanwhile contributes nothing.
pub fn pids_recursive(dir: &Path, out: &mut BTreeSet<i32>) -> Result<(), CgroupError> {
    let procs = dir.join("cgroup.procs");
    if let Some(text) = read_optional(&procs)? {
        for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let pid = l.parse::<i32>().map_err(|e| CgroupError::Parse {
                path: procs.clone(),
                value: l.to_string(),
                reason: e.to_string(),
            })?;
            out.insert(pid);
        }
    }
    for sub in subdirs(dir)? {
        pids_recursive(&sub, out)?;
    }
    Ok(())
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut v = Vec::new();
    for e in rd.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            v.push(e.path());
        }
    }
    Ok(v)
}

/// SIGKILL for each pid; a pid that is already gone (ESRCH) is fine.
pub fn kill_all(pids: &BTreeSet<i32>) {
    for &pid in pids {
        if pid > 0 {
            // SAFETY: kill(2) with a positive pid only signals that process.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Removes a cgroup directory and its descendant cgroups, deepest first. On a
/// real cgroupfs `rmdir` removes the control files with the directory; a
/// directory that is already gone is fine. EBUSY (a process still exiting)
/// is retried until `deadline`.
/// Removes an empty, idle cgroup directory in one call; false when it is busy
/// or has children (the caller then takes the slow path of killing and waiting).
pub fn rmdir_if_idle(dir: &Path) -> bool {
    match fs::remove_dir(dir) {
        Ok(()) => true,
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

pub fn remove_tree(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    for sub in subdirs(dir)? {
        remove_tree(&sub, deadline)?;
    }
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) && fake::is_fake(dir) => {
                // A fake tree keeps its control files as regular files.
                fs::remove_dir_all(dir).map_err(|source| CgroupError::Remove {
                    path: dir.to_path_buf(),
                    source,
                })?;
                return Ok(());
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Polls `check` until it returns true or `TIMEOUT` passes.
pub fn poll(mut check: impl FnMut() -> Result<bool, CgroupError>) -> Result<bool, CgroupError> {
    let deadline = Instant::now() + TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        if check()? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// A fake cgroupfs for unit tests: a test registers a tempdir root and the
/// control files (with their initial contents) that the kernel would make in a
/// new cgroup there; `make_dir` then creates them, as cgroupfs does on mkdir.
/// Registration is per thread, so parallel tests do not see each other. It is
/// compiled in (not `cfg(test)`) because the drivers' unit tests live in another
/// crate; outside tests nothing registers a root and it is a thread-local lookup.
pub mod fake {
    use std::cell::RefCell;
    use std::fs;
    use std::path::{Path, PathBuf};

    /// A registered root and the (file name, content) pairs of its new cgroups.
    type Root = (PathBuf, Vec<(String, String)>);

    thread_local! {
        static ROOTS: RefCell<Vec<Root>> = const { RefCell::new(Vec::new()) };
    }

    /// New cgroups anywhere under `root` get `files` (name, content).
    pub fn register(root: &Path, files: &[(&str, &str)]) {
        ROOTS.with(|r| {
            r.borrow_mut().push((
                root.to_path_buf(),
                files.iter().map(|(n, c)| (n.to_string(), c.to_string())).collect(),
            ))
        });
    }

    pub fn is_fake(path: &Path) -> bool {
        ROOTS.with(|r| r.borrow().iter().any(|(root, _)| path.starts_with(root)))
    }

    pub fn populate(dir: &Path) {
        ROOTS.with(|r| {
            // The longest registered root wins, so a test can give one
            // hierarchy its own file set.
            let roots = r.borrow();
            let best = roots
                .iter()
                .filter(|(root, _)| dir.starts_with(root))
                .max_by_key(|(root, _)| root.as_os_str().len());
            if let Some((_, files)) = best {
                for (name, content) in files {
                    fs::write(dir.join(name), content).unwrap();
                }
            }
        });
    }
}

/// `--io-weight`: BFQ's weight file (`io.bfq.weight` on v2, `blkio.bfq.weight` on
/// v1), the only one a weight acts through (v2's `io.weight` needs iocost set up
/// on each device by the host's root, v1's `blkio.weight` was CFQ's, gone since
/// Linux 5.0). Without BFQ the file is absent, and the runtime says so.
pub fn write_bfq_weight(dir: &Path, file: &str, weight: u64) -> Result<(), CgroupError> {
    let path = dir.join(file);
    if !path.exists() {
        return Err(CgroupError::Unsupported(format!(
            "--io-weight: no {} (BFQ, the I/O scheduler that honours weights, is not loaded: modprobe bfq)",
            path.display()
        )));
    }
    write_file(&path, &weight.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_bytes_sum_devices_in_either_format() {
        let v2 = "8:0 rbytes=1000 wbytes=20 rios=3 wios=1 dbytes=0 dios=0\n7:1 rbytes=5 wbytes=7 rios=1 wios=1\n";
        assert_eq!(io_bytes(v2), (1005, 27));
        let v1 = "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Async 4608\n8:0 Total 4608\n7:0 Read 4\nTotal 4612\n";
        assert_eq!(io_bytes(v1), (4100, 512));
        assert_eq!(io_bytes(""), (0, 0));
    }

    #[test]
    fn a_limit_reads_none_when_there_is_none() {
        let d = tempfile::tempdir().unwrap();
        let f = |text: &str| {
            let p = d.path().join("limit");
            std::fs::write(&p, text).unwrap();
            read_limit_optional(&p).unwrap()
        };
        assert_eq!(f("max\n"), None);
        assert_eq!(f("9223372036854771712\n"), None);
        assert_eq!(f("67108864\n"), Some(64 << 20));
        assert_eq!(read_limit_optional(&d.path().join("absent")).unwrap(), None);
        let p = d.path().join("bad");
        std::fs::write(&p, "lots").unwrap();
        assert!(read_limit_optional(&p).unwrap_err().to_string().contains("lots"));
    }

    #[test]
    fn write_errors_name_path_and_data() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cpu.max");
        let e = write_file(&p, "20000 100000").unwrap_err().to_string();
        assert!(e.contains("20000 100000"), "{e}");
        assert!(e.contains(&p.display().to_string()), "{e}");
        fs::write(&p, "max 100000").unwrap();
        write_file(&p, "20000 100000").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "20000 100000");
    }

    #[test]
    fn read_errors_name_path() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nope");
        let e = read_file(&p).unwrap_err().to_string();
        assert!(e.starts_with("failed to read"), "{e}");
        assert!(e.contains(&p.display().to_string()), "{e}");
        assert_eq!(read_optional(&p).unwrap(), None);
        assert_eq!(read_u64_optional(&p).unwrap(), None);
    }

    #[test]
    fn append_keeps_each_rule() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("devices.deny");
        fs::write(&p, "").unwrap();
        append_line(&p, "c 1:3 rwm").unwrap();
        append_line(&p, "b 7:0 rwm").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "c 1:3 rwm\nb 7:0 rwm\n");
    }

    #[test]
    fn keyed_files_parse() {
        let p = Path::new("/x/cpu.stat");
        let t = "usage_usec 100\nnr_periods 7\nnr_throttled 2\n";
        assert_eq!(keyed_value(p, t, "nr_periods").unwrap(), Some(7));
        assert_eq!(keyed_value(p, t, "nr_periods_x").unwrap(), None);
        let e = keyed_value(p, "nr_periods x\n", "nr_periods").unwrap_err().to_string();
        assert!(e.contains("/x/cpu.stat") && e.contains("\"x\""), "{e}");
    }

    #[test]
    fn pids_are_collected_from_descendants() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("cgroup.procs"), "5\n7\n").unwrap();
        fs::create_dir(d.path().join("sub")).unwrap();
        fs::write(d.path().join("sub/cgroup.procs"), "9\n5\n").unwrap();
        let mut s = BTreeSet::new();
        pids_recursive(d.path(), &mut s).unwrap();
        assert_eq!(s.into_iter().collect::<Vec<_>>(), vec![5, 7, 9]);
    }
}
