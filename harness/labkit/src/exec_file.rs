//! Files that a container will execute, written so that the checker cannot race itself.
//!
//! `execve` fails with ETXTBSY while any process holds the file open for writing. A
//! multi-threaded checker that writes an executable in one thread while another thread
//! forks (to start a runtime) hands a copy of the writable descriptor to that child, which
//! keeps it until it execs: close-on-exec does not help during the child's window between
//! fork and exec, which the checks' own children make long (setns, cgroup joins). The
//! container that then execs the file fails, and a runtime would be blamed for it.
//!
//! So the writable descriptor never exists in the caller's process: a forked child opens,
//! writes and closes the file and exits, and only then does this call return. Another
//! thread's fork copies the caller's descriptor table, which never held it. The child does
//! nothing but system calls on buffers prepared before the fork (async-signal-safe), so it
//! is sound in a multi-threaded process.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Copies `src` to `dest` (replaced if it exists) with permissions `mode`. Symlinks in
/// `src` are followed, as `std::fs::copy` does.
pub fn copy_executable(src: &Path, dest: &Path, mode: u32) -> io::Result<()> {
    // The source is opened here: its errors name the source, and a read-only descriptor
    // in the caller's table is harmless.
    let from = std::fs::File::open(src).map_err(|e| with_path(e, src))?;
    write_in_child(dest, mode, Content::Fd(std::os::fd::AsRawFd::as_raw_fd(&from)))
}

/// Writes `data` to `dest` (replaced if it exists) with permissions `mode`: a script.
pub fn write_executable(dest: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    write_in_child(dest, mode, Content::Bytes(data))
}

enum Content<'a> {
    Fd(libc::c_int),
    Bytes(&'a [u8]),
}

fn with_path(e: io::Error, p: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

fn write_in_child(dest: &Path, mode: u32, content: Content<'_>) -> io::Result<()> {
    let path = CString::new(dest.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: a NUL byte in the path", dest.display()),
        )
    })?;
    // Unlinked first: an old file of the same name may be running, and O_TRUNC on it
    // would itself fail with ETXTBSY.
    match std::fs::remove_file(dest) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(with_path(e, dest)),
    }
    // SAFETY: the child runs only async-signal-safe system calls on memory prepared
    // above and leaves by _exit; the parent waits for it.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let errno = child_write(&path, mode, &content);
        // SAFETY: leaves the child without running the parent's exit handlers.
        unsafe { libc::_exit(errno) };
    }
    let mut status = 0;
    loop {
        // SAFETY: waits for the child forked above, which no one else reaps.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => Ok(()),
            errno => Err(with_path(io::Error::from_raw_os_error(errno), dest)),
        }
    } else {
        Err(io::Error::other(format!(
            "{}: the process writing it ended abnormally (wait status {status:#x})",
            dest.display()
        )))
    }
}

/// The calling thread's errno.
fn errno() -> libc::c_int {
    // SAFETY: __errno_location always returns this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// In the forked child: 0, or the errno of the first call that failed (exit statuses
/// hold errno values, which are all below 256). Only system calls from here on.
fn child_write(path: &CString, mode: u32, content: &Content<'_>) -> libc::c_int {
    // SAFETY: a NUL-terminated path prepared before the fork.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd < 0 {
        return errno();
    }
    let written = match content {
        Content::Fd(src) => copy_fd(*src, fd),
        Content::Bytes(data) => write_all(fd, data),
    };
    if written != 0 {
        return written;
    }
    // fchmod after writing: the umask does not cut the mode, as set_permissions would not.
    // SAFETY: plain system calls on the descriptor opened above.
    if unsafe { libc::fchmod(fd, mode as libc::mode_t) } != 0 || unsafe { libc::close(fd) } != 0 {
        return errno();
    }
    0
}

fn copy_fd(src: libc::c_int, dest: libc::c_int) -> libc::c_int {
    // From the source's beginning whatever its offset.
    let mut off: libc::off_t = 0;
    loop {
        // SAFETY: two open descriptors and an offset on this stack.
        let n = unsafe { libc::sendfile(dest, src, &mut off, 1 << 30) };
        match n {
            0 => return 0,
            n if n > 0 => {}
            _ => match errno() {
                libc::EINTR => {}
                libc::EINVAL | libc::ENOSYS => return copy_by_reading(src, dest, off),
                e => return e,
            },
        }
    }
}

/// For sources sendfile refuses; the buffer lives on the child's stack.
fn copy_by_reading(src: libc::c_int, dest: libc::c_int, mut off: libc::off_t) -> libc::c_int {
    let mut buf = [0u8; 16384];
    loop {
        // SAFETY: reads into the buffer above, at most its length.
        let n = unsafe { libc::pread(src, buf.as_mut_ptr().cast(), buf.len(), off) };
        match n {
            0 => return 0,
            n if n > 0 => {
                let e = write_all(dest, &buf[..n as usize]);
                if e != 0 {
                    return e;
                }
                off += n as libc::off_t;
            }
            _ => match errno() {
                libc::EINTR => {}
                e => return e,
            },
        }
    }
}

fn write_all(fd: libc::c_int, mut data: &[u8]) -> libc::c_int {
    while !data.is_empty() {
        // SAFETY: writes from a live slice, at most its length.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n >= 0 {
            data = &data[n as usize..];
        } else if errno() != libc::EINTR {
            return errno();
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_copy_has_the_bytes_and_the_mode_whatever_the_umask() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("true");
        std::fs::write(&dest, "an old file in the way").unwrap();
        copy_executable(Path::new("/bin/true"), &dest, 0o755).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read("/bin/true").unwrap());
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755);
        assert!(std::process::Command::new(&dest).status().unwrap().success());
    }

    #[test]
    fn a_script_is_written_and_runs() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("s");
        write_executable(&dest, b"#!/bin/sh\nexit 3\n", 0o700).unwrap();
        let st = std::process::Command::new(&dest).status().unwrap();
        assert_eq!(st.code(), Some(3));
    }

    #[test]
    fn errors_name_the_path() {
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("no-such-file");
        let e = copy_executable(&missing, &t.path().join("x"), 0o755).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("no-such-file"), "{e}");
        let e = write_executable(&t.path().join("no-dir/x"), b"", 0o755).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("no-dir/x"), "{e}");
    }
}
