//! Small single-operation helpers: open, stat, touch, write-file, cat,
//! mount-tmpfs, chdir-up, hostname, kill, affinity.
//!
//! Each of them tries one operation and reports its outcome with
//! `"ok"`, `"errno"`, `"error"`: a refused operation is a result, not a
//! probe failure (exit 0).

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use labkit::probe::{
    Affinity, Attempt, Cat, ChdirUp, Chmod, ChrootEscape, DevIno, DevNode, DevNodes, Domainname, Fds, Hostname,
    Keyring, Kill, LoadModule, Ls, Open, OpenFd, PathAttempt, Raising, Refused, Rewrite, SetDomainname, SetHostname,
    Stat, Survived, WriteFile,
};
use nix::errno::Errno;
use nix::fcntl::{open as nix_open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{lstat, stat as nix_stat, FileStat, Mode};
use serde::Serialize;

use crate::out::{dev_major, dev_minor, emit, errno_name, io_errno, sleep_secs, PResult, ProbeError};

fn report(line: impl Serialize) -> PResult {
    emit(&line);
    Ok(())
}

fn attempt(errno: Option<i32>) -> Attempt {
    Attempt::from_errno(errno)
}

fn path_attempt(path: &str, errno: Option<i32>) -> PathAttempt {
    PathAttempt {
        path: path.to_string(),
        attempt: attempt(errno),
    }
}

/// File type name of a `st_mode`.
pub fn file_type(mode: u32) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "file",
        libc::S_IFDIR => "dir",
        libc::S_IFLNK => "symlink",
        libc::S_IFCHR => "char",
        libc::S_IFBLK => "block",
        libc::S_IFIFO => "fifo",
        libc::S_IFSOCK => "socket",
        _ => "unknown",
    }
}

fn stat_line(path: &str, st: &FileStat) -> Stat {
    let mode = st.st_mode;
    let ty = file_type(mode);
    let is_dev = ty == "char" || ty == "block";
    Stat {
        path: path.to_string(),
        file_type: Some(ty.to_string()),
        mode: Some(mode),
        perm: Some(format!("{:04o}", mode & 0o7777)),
        dev: Some(st.st_dev),
        dev_major: Some(dev_major(st.st_dev)),
        dev_minor: Some(dev_minor(st.st_dev)),
        ino: Some(st.st_ino),
        nlink: Some(st.st_nlink),
        uid: Some(st.st_uid),
        gid: Some(st.st_gid),
        size: Some(st.st_size as u64),
        rdev_major: is_dev.then(|| dev_major(st.st_rdev)),
        rdev_minor: is_dev.then(|| dev_minor(st.st_rdev)),
        attempt: attempt(None),
    }
}

/// `open`: open read-only (or write-only with `write`) and close again.
pub fn open(path: &str, write: bool) -> PResult {
    let mut flags = OFlag::O_CLOEXEC | OFlag::O_NOCTTY | OFlag::O_NONBLOCK;
    flags |= if write { OFlag::O_WRONLY } else { OFlag::O_RDONLY };
    let r = nix_open(path, flags, Mode::empty());
    if let Ok(fd) = r {
        let _ = nix::unistd::close(fd);
    }
    report(Open {
        path: path.to_string(),
        write,
        attempt: attempt(r.err().map(|e| e as i32)),
    })
}

/// `stat`: stat (or lstat with `nofollow`) a path.
pub fn stat(path: &str, nofollow: bool) -> PResult {
    report(stat_of(path, nofollow))
}

/// The `stat` line of `path`.
pub fn stat_of(path: &str, nofollow: bool) -> Stat {
    let r = if nofollow { lstat(path) } else { nix_stat(path) };
    match r {
        Ok(st) => stat_line(path, &st),
        Err(e) => Stat {
            path: path.to_string(),
            attempt: attempt(Some(e as i32)),
            ..Default::default()
        },
    }
}

/// The `rm` line of `path`, after removing it.
pub fn rm_of(path: &str) -> PathAttempt {
    path_attempt(
        path,
        fs::remove_file(path).err().map(|e| io_errno(&e).unwrap_or(libc::EIO)),
    )
}

/// `touch`: create the file if needed and set its times to now.
pub fn touch(path: &str) -> PResult {
    let r = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path);
    let errno = match r {
        // SAFETY: valid fd; NULL times means "now".
        Ok(f) => match unsafe { libc::futimens(f.as_raw_fd(), std::ptr::null()) } {
            0 => None,
            _ => Some(Errno::last_raw()),
        },
        Err(e) => io_errno(&e).or(Some(libc::EIO)),
    };
    report(path_attempt(path, errno))
}

/// `write-file`: create/truncate (or append to) a file and write `content`.
pub fn write_file(path: &str, content: &str, append: bool) -> PResult {
    report(write_file_of(path, content, append))
}

/// The `write-file` line, after writing.
pub fn write_file_of(path: &str, content: &str, append: bool) -> WriteFile {
    let mut o = OpenOptions::new();
    o.write(true).create(true).mode(0o644);
    if append {
        o.append(true);
    } else {
        o.truncate(true);
    }
    let t0 = std::time::Instant::now();
    let r = o.open(path).and_then(|mut f| f.write_all(content.as_bytes()));
    let usec = t0.elapsed().as_micros() as u64;
    let ok = r.is_ok();
    WriteFile {
        path: path.to_string(),
        bytes: if ok { content.len() as u64 } else { 0 },
        usec: Some(usec),
        attempt: attempt(r.err().map(|e| io_errno(&e).unwrap_or(libc::EIO))),
    }
}

/// `cat`: read up to `max` bytes of a file as (lossy UTF-8) text.
pub fn cat(path: &str, max: u64) -> PResult {
    let r = fs::File::open(path).and_then(|f| {
        let mut buf = Vec::new();
        f.take(max.saturating_add(1)).read_to_end(&mut buf)?;
        Ok(buf)
    });
    match r {
        Ok(mut buf) => {
            let truncated = buf.len() as u64 > max;
            buf.truncate(max as usize);
            report(Cat {
                path: path.to_string(),
                content: Some(String::from_utf8_lossy(&buf).into_owned()),
                bytes: Some(buf.len() as u64),
                truncated: Some(truncated),
                attempt: attempt(None),
            })
        }
        Err(e) => report(Cat {
            path: path.to_string(),
            content: None,
            bytes: None,
            truncated: None,
            attempt: attempt(Some(io_errno(&e).unwrap_or(libc::EIO))),
        }),
    }
}

/// `mount-tmpfs`: mount a fresh tmpfs at `path` (created if missing), then
/// hold it for `hold` seconds.
pub fn mount_tmpfs(path: &str, size: Option<u64>, hold: f64) -> PResult {
    if hold > 0.0 {
        crate::out::block_stop_signals();
    }
    let _ = fs::create_dir_all(path);
    let data = size.map(|s| format!("size={s}"));
    let r = mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::empty(), data.as_deref());
    let ok = r.is_ok();
    report(path_attempt(path, r.err().map(|e| e as i32)))?;
    if ok {
        sleep_secs(hold);
    }
    Ok(())
}

fn dev_ino(path: &str) -> PResult<(u64, u64)> {
    let st = nix_stat(path).map_err(|e| ProbeError::errno("stat", e))?;
    Ok((st.st_dev, st.st_ino))
}

/// `chdir-up`: chdir("/") then chdir("..") `times` times; compare "." to "/".
pub fn chdir_up(times: u32) -> PResult {
    nix::unistd::chdir("/").map_err(|e| ProbeError::errno("chdir", e))?;
    for _ in 0..times {
        nix::unistd::chdir("..").map_err(|e| ProbeError::errno("chdir", e))?;
    }
    let (rdev, rino) = dev_ino("/")?;
    let (cdev, cino) = dev_ino(".")?;
    emit(&ChdirUp {
        times,
        root: DevIno { dev: rdev, ino: rino },
        cwd: DevIno { dev: cdev, ino: cino },
        same: rdev == cdev && rino == cino,
        cwd_path: std::env::current_dir().ok().map(|p| p.to_string_lossy().into_owned()),
    });
    Ok(())
}

fn current_hostname() -> Option<String> {
    nix::unistd::gethostname()
        .ok()
        .map(|h| h.to_string_lossy().into_owned())
}

/// `hostname`: report it, or try to set it (`set`) and report the outcome.
pub fn hostname(set: Option<&str>) -> PResult {
    match set {
        None => {
            emit(&Hostname {
                hostname: current_hostname(),
            });
            Ok(())
        }
        Some(name) => {
            let r = nix::unistd::sethostname(name);
            // Which UTS namespace answered: a refusal in a namespace of its own is a
            // missing capability, in the host's one the namespace is missing.
            let uts_ns = fs::read_link("/proc/self/ns/uts")
                .ok()
                .map(|l| l.to_string_lossy().into_owned());
            report(SetHostname {
                requested: name.to_string(),
                hostname: current_hostname(),
                uts_ns,
                attempt: attempt(r.err().map(|e| e as i32)),
            })
        }
    }
}

/// `domainname`: the NIS domain name of this UTS namespace, or an attempt to set it.
pub fn domainname(set: Option<&str>) -> PResult {
    let current = || {
        nix::sys::utsname::uname()
            .ok()
            .map(|u| u.domainname().to_string_lossy().into_owned())
    };
    match set {
        None => {
            emit(&Domainname { domainname: current() });
            Ok(())
        }
        Some(name) => {
            // SAFETY: the pointer and length describe `name`'s bytes, which outlive the call.
            let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
            let errno = (r != 0).then(Errno::last_raw);
            let uts_ns = fs::read_link("/proc/self/ns/uts")
                .ok()
                .map(|l| l.to_string_lossy().into_owned());
            report(SetDomainname {
                requested: name.to_string(),
                domainname: current(),
                uts_ns,
                attempt: attempt(errno),
            })
        }
    }
}

/// `dev-nodes DIR`: a walk that never follows a symlink (`/dev/fd` leads into
/// /proc), at most four levels deep.
pub fn dev_nodes(dir: &str) -> PResult {
    fn walk(dir: &std::path::Path, depth: u32, nodes: &mut Vec<DevNode>, entries: &mut Vec<String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(st) = lstat(&p) else { continue };
            let path = p.display().to_string();
            let ty = file_type(st.st_mode);
            if ty == "char" || ty == "block" {
                nodes.push(DevNode {
                    path: path.clone(),
                    file_type: ty.to_string(),
                    major: dev_major(st.st_rdev),
                    minor: dev_minor(st.st_rdev),
                });
            }
            entries.push(path);
            if ty == "dir" && depth < 4 {
                walk(&p, depth + 1, nodes, entries);
            }
        }
    }
    let (mut nodes, mut entries) = (Vec::new(), Vec::new());
    let errno = match fs::read_dir(dir) {
        Ok(_) => {
            walk(std::path::Path::new(dir), 1, &mut nodes, &mut entries);
            None
        }
        Err(e) => io_errno(&e).or(Some(libc::EIO)),
    };
    nodes.sort_by(|a, b| a.path.cmp(&b.path));
    entries.sort();
    report(DevNodes {
        dir: dir.to_string(),
        nodes,
        entries,
        attempt: attempt(errno),
    })
}

/// `keyring --find DESC`: keyrings are not namespaced but per user (and, since
/// Linux 5.3, per user namespace), so `@u` is what a container shares with the
/// host's processes of its uid.
pub fn keyring(desc: &str) -> PResult {
    const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
    const KEYCTL_SEARCH: libc::c_long = 10;
    const KEYCTL_READ: libc::c_long = 11;
    const KEY_SPEC_USER_KEYRING: libc::c_long = -4;
    let find = |e: Option<i32>, serial, payload| Keyring {
        user_keyring: None,
        find: desc.to_string(),
        serial,
        payload,
        attempt: attempt(e),
    };
    let Ok(c_desc) = std::ffi::CString::new(desc) else {
        return report(find(Some(libc::EINVAL), None, None));
    };
    // SAFETY: keyctl(GET_KEYRING_ID, id, create=0) takes no pointers.
    let ring = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0) };
    // SAFETY: NUL-terminated type and description; dest keyring 0 links nothing.
    let serial = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SEARCH,
            KEY_SPEC_USER_KEYRING,
            c"user".as_ptr(),
            c_desc.as_ptr(),
            0,
        )
    };
    let mut out = if serial < 0 {
        find(Some(Errno::last_raw()), None, None)
    } else {
        let mut buf = vec![0u8; 4096];
        // SAFETY: the buffer and its length describe `buf`, which outlives the call.
        let n = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_READ, serial, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            find(Some(Errno::last_raw()), Some(serial), None)
        } else {
            buf.truncate((n as usize).min(buf.len()));
            find(None, Some(serial), Some(String::from_utf8_lossy(&buf).into_owned()))
        }
    };
    out.user_keyring = (ring >= 0).then_some(ring);
    report(out)
}

/// `--hold SECS`: stays alive after the report (output is flushed line by line); a
/// stop signal ends the hold as it ends `sleep`.
pub fn hold(secs: f64) -> PResult {
    if secs > 0.0 {
        sleep_secs(secs);
    }
    Ok(())
}

/// `raise SIGNAL`: the signal's default action on this process (a death by that
/// signal where the default is to terminate). Prints a line first, and another if it
/// is still alive after (PID 1 of a namespace ignores its own signals).
pub fn raise(signal: i32) -> PResult {
    emit(&Raising { raising: signal });
    // SAFETY: signal(2) with SIG_DFL and raise(3) take plain integers; the mask is
    // cleared so that a blocked signal is delivered at once.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    emit(&Survived { survived: signal });
    Ok(())
}

/// `fds`: the open file descriptors of this process and what each refers to.
pub fn fds() -> PResult {
    let rd = fs::read_dir("/proc/self/fd").map_err(|e| ProbeError::io("/proc/self/fd", &e))?;
    // The directory stream's own descriptor is open while it is read: it is the one
    // whose link names /proc/<pid>/fd.
    let own = format!("/proc/{}/fd", std::process::id());
    let mut fds: Vec<OpenFd> = rd
        .flatten()
        .filter_map(|e| {
            let fd = e.file_name().to_str()?.parse::<i32>().ok()?;
            let target = fs::read_link(e.path()).ok()?.to_string_lossy().into_owned();
            (target != own && !target.ends_with("/fd")).then_some(OpenFd { fd, target })
        })
        .collect();
    fds.sort_by_key(|f| f.fd);
    emit(&Fds { fds });
    Ok(())
}

/// `kill`: send `signal` (0 = existence check) to `pid`.
pub fn kill(pid: i32, signal: i32) -> PResult {
    // SAFETY: kill has no memory-safety preconditions.
    let r = unsafe { libc::kill(pid, signal) };
    let errno = (r != 0).then(Errno::last_raw);
    report(Kill {
        pid,
        signal,
        attempt: attempt(errno),
    })
}

/// `affinity`: CPUs this process may run on.
pub fn affinity() -> PResult {
    use nix::sched::{sched_getaffinity, CpuSet};
    let set =
        sched_getaffinity(nix::unistd::Pid::from_raw(0)).map_err(|e| ProbeError::errno("sched_getaffinity", e))?;
    let cpus: Vec<usize> = (0..CpuSet::count())
        .filter(|&i| set.is_set(i).unwrap_or(false))
        .collect();
    // SAFETY: sysconf has no preconditions.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    emit(&Affinity {
        count: cpus.len(),
        cpus,
        online: (online > 0).then_some(online as i64),
    });
    Ok(())
}

/// `rm`, `mkdir`, `rmdir`, `rename`: one file-system call, reported as an attempt.
pub fn fs_op(path: &str, op: impl FnOnce() -> std::io::Result<()>) -> PResult {
    let errno = op().err().map(|e| io_errno(&e).unwrap_or(libc::EIO));
    report(path_attempt(path, errno))
}

/// `chmod PATH MODE` with an octal mode.
pub fn chmod(path: &str, mode: &str) -> PResult {
    let Ok(m) = u32::from_str_radix(mode.trim_start_matches("0o"), 8) else {
        return report(Chmod {
            path: path.to_string(),
            mode: mode.to_string(),
            attempt: attempt(Some(libc::EINVAL)),
        });
    };
    use std::os::unix::fs::PermissionsExt;
    let errno = fs::set_permissions(path, fs::Permissions::from_mode(m))
        .err()
        .map(|e| io_errno(&e).unwrap_or(libc::EIO));
    report(Chmod {
        path: path.to_string(),
        mode: format!("{m:04o}"),
        attempt: attempt(errno),
    })
}

/// `ls PATH`: the entries of a directory, sorted (null on failure).
pub fn ls(path: &str) -> PResult {
    match fs::read_dir(path) {
        Ok(rd) => {
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            report(Ls {
                path: path.to_string(),
                entries: Some(names),
                attempt: attempt(None),
            })
        }
        Err(e) => report(Ls {
            path: path.to_string(),
            entries: None,
            attempt: attempt(Some(io_errno(&e).unwrap_or(libc::EIO))),
        }),
    }
}

/// `chroot-escape`: after a chroot, the working directory may lie outside the new
/// root, and ".." from there is not stopped. Behind pivot_root with the old root
/// detached, climbing ends at the container's own root; behind a bare chroot it
/// ends at the host's.
pub fn chroot_escape(stat_after: Option<&str>) -> PResult {
    let before = dev_ino("/")?;
    // Any directory below / will do (the climb works because the cwd stays outside
    // the new root); a read-only root gets an existing one.
    let made = fs::create_dir("/.probe-escape").is_ok();
    let dir = if made { "/.probe-escape" } else { "/bin" };
    nix::unistd::chdir("/").map_err(|e| ProbeError::errno("chdir", e))?;
    if let Err(e) = nix::unistd::chroot(dir) {
        if made {
            let _ = fs::remove_dir(dir);
        }
        if matches!(e, Errno::EPERM | Errno::EACCES) {
            // A runtime stricter than the contract (no CAP_SYS_CHROOT): the breakout
            // cannot even start. Reported, not an error: the root stayed where it was.
            let root = DevIno {
                dev: before.0,
                ino: before.1,
            };
            return report(ChrootEscape {
                root_before: root,
                root_after: root,
                escaped: false,
                refused: Some(Refused {
                    op: "chroot".into(),
                    error: errno_name(e as i32),
                }),
                stat_after: stat_after.map(|p| path_attempt(p, nix_stat(p).err().map(|e| e as i32))),
            });
        }
        return Err(ProbeError::errno("chroot", e));
    }
    let result = (|| -> Result<(u64, u64), ProbeError> {
        for _ in 0..256 {
            nix::unistd::chdir("..").map_err(|e| ProbeError::errno("chdir", e))?;
        }
        nix::unistd::chroot(".").map_err(|e| ProbeError::errno("chroot", e))?;
        dev_ino("/")
    })();
    if made {
        // Removed through whichever root we ended in; best effort.
        let _ = fs::remove_dir(dir);
    }
    let after = result?;
    report(ChrootEscape {
        root_before: DevIno {
            dev: before.0,
            ino: before.1,
        },
        root_after: DevIno {
            dev: after.0,
            ino: after.1,
        },
        escaped: before != after,
        refused: None,
        // Seen from whichever root the climb ended in.
        stat_after: stat_after.map(|p| path_attempt(p, nix_stat(p).err().map(|e| e as i32))),
    })
}

/// `load-module`: init_module(2) with an empty image, or finit_module(2) on
/// /dev/null. Neither can ever load anything: past the permission check
/// (CAP_SYS_MODULE in the initial user namespace) the kernel refuses the image
/// (ENOEXEC, EINVAL...); without the capability the answer is EPERM; a kernel
/// without module support says ENOSYS to everyone.
pub fn load_module(finit: bool) -> PResult {
    let params = c"";
    let (call, path, r) = if finit {
        let fd = nix_open("/dev/null", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| ProbeError::errno("open", e))?;
        // SAFETY: a valid fd and a NUL-terminated parameter string.
        let r = unsafe { libc::syscall(libc::SYS_finit_module, fd, params.as_ptr(), 0) };
        let errno = (r != 0).then(Errno::last_raw);
        let _ = nix::unistd::close(fd);
        ("finit_module", Some("/dev/null"), errno)
    } else {
        let image = [0u8; 0];
        // SAFETY: a zero-length image (the kernel reads nothing) and a NUL-terminated string.
        let r = unsafe { libc::syscall(libc::SYS_init_module, image.as_ptr(), 0usize, params.as_ptr()) };
        ("init_module", None, (r != 0).then(Errno::last_raw))
    };
    report(LoadModule {
        call: call.to_string(),
        path: path.map(str::to_string),
        attempt: attempt(r),
    })
}

/// `rewrite PATH`: read the file and write the very same bytes back in one
/// write(2). For a sysctl or sysfs knob that is a write permission test that
/// changes nothing. `stage` says which step failed (`read`, `open`, `write`).
pub fn rewrite(path: &str) -> PResult {
    let value = match fs::read(path) {
        Ok(v) => v,
        Err(e) => {
            return report(Rewrite {
                path: path.to_string(),
                value: None,
                stage: Some("read".into()),
                attempt: attempt(Some(io_errno(&e).unwrap_or(libc::EIO))),
            })
        }
    };
    let text = String::from_utf8_lossy(&value).into_owned();
    let f = match OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            return report(Rewrite {
                path: path.to_string(),
                value: Some(text),
                stage: Some("open".into()),
                attempt: attempt(Some(io_errno(&e).unwrap_or(libc::EIO))),
            })
        }
    };
    let r = nix::unistd::write(&f, &value);
    let errno = match r {
        Ok(n) if n == value.len() => None,
        Ok(_) => Some(libc::EIO),
        Err(e) => Some(e as i32),
    };
    report(Rewrite {
        path: path.to_string(),
        value: Some(text),
        stage: errno.map(|_| "write".into()),
        attempt: attempt(errno),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_types() {
        assert_eq!(file_type(libc::S_IFREG | 0o644), "file");
        assert_eq!(file_type(libc::S_IFDIR | 0o755), "dir");
        assert_eq!(file_type(libc::S_IFCHR | 0o666), "char");
        assert_eq!(file_type(libc::S_IFBLK), "block");
        assert_eq!(file_type(libc::S_IFLNK), "symlink");
        assert_eq!(file_type(libc::S_IFIFO), "fifo");
        assert_eq!(file_type(libc::S_IFSOCK), "socket");
    }

    #[test]
    fn dev_null_stat() {
        let st = nix_stat("/dev/null").unwrap();
        let v = stat_line("/dev/null", &st);
        assert_eq!(v.file_type.as_deref(), Some("char"));
        assert_eq!((v.rdev_major, v.rdev_minor), (Some(1), Some(3)));
        assert_eq!(v.perm.as_deref(), Some("0666"));
    }
}
