//! Workloads that exercise resource limits: memory, CPU, process count,
//! block I/O, plus sleep/exit/count and the orphan-reaping probe.
//!
//! Code that runs in a forked child uses raw libc calls only (no allocation,
//! no locks, no Rust std I/O) so it stays async-signal-safe.

use std::alloc::{alloc, dealloc, Layout};
use std::fs;
use std::hint::black_box;
use std::time::{Duration, Instant};

use labkit::probe::{Count, CpuSpin, Forks, IoRun, MemStep, OrphanState, Orphaned, Sleeping, Slept, Spinning};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::stat::Mode;

use crate::out::{
    block_stop_signals, emit, errno_name, exit_on_signal, mono_ns, sleep_secs, wait_stop_signal, PResult, ProbeError,
};

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

fn usec(d: Duration) -> u64 {
    d.as_micros().min(u64::MAX as u128) as u64
}

/// `mem`: map and touch `total` bytes in `step`-sized pieces, reporting the
/// running total after each piece, then optionally hold the memory.
pub fn mem(total: u64, step: u64, hold: f64) -> PResult {
    if step == 0 {
        return Err(ProbeError::msg("args", "--step must be > 0"));
    }
    let mut allocated: u64 = 0;
    while allocated < total {
        let n = step.min(total - allocated) as usize;
        touch_new_memory(n)?;
        allocated += n as u64;
        emit(&MemStep {
            done: None,
            allocated_bytes: allocated,
        });
    }
    if hold > 0.0 {
        block_stop_signals();
    }
    emit(&MemStep {
        done: Some(true),
        allocated_bytes: allocated,
    });
    sleep_secs(hold);
    Ok(())
}

/// Maps `n` bytes of anonymous memory and touches every page; the mapping is
/// deliberately never unmapped: it is held until exit.
fn touch_new_memory(n: usize) -> PResult {
    if n == 0 {
        return Ok(());
    }
    // SAFETY: anonymous private mapping; checked for MAP_FAILED below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            n,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(ProbeError::errno("mmap", Errno::last()));
    }
    let base = p as *mut u8;
    let mut off = 0;
    while off < n {
        // SAFETY: off < n, inside the mapping just created.
        unsafe { std::ptr::write_volatile(base.add(off), 0xa5) };
        off += page_size();
    }
    Ok(())
}

/// `scene`: the explanation's container does its few things, says what it did and
/// saw in one line, and stays alive while the host looks at it.
pub fn scene(writes: &[String], rms: &[String], mem: u64, stats: &[String], spin_secs: f64, hold: f64) -> PResult {
    let mut written = Vec::new();
    for w in writes {
        let (path, text) = w
            .split_once('=')
            .ok_or_else(|| ProbeError::msg("args", format!("--write {w}: expected PATH=TEXT")))?;
        written.push(crate::sys::write_file_of(path, text, false));
    }
    let removed = rms.iter().map(|p| crate::sys::rm_of(p)).collect();
    touch_new_memory(mem as usize)?;
    if spin_secs > 0.0 {
        black_box(spin(Instant::now() + Duration::from_secs_f64(spin_secs)));
    }
    emit(&labkit::probe::Scene {
        writes: written,
        removed,
        allocated_bytes: mem,
        stats: stats.iter().map(|p| crate::sys::stat_of(p, false)).collect(),
        facts: crate::facts::collect(),
    });
    sleep_secs(hold);
    Ok(())
}

fn spin(deadline: Instant) -> u64 {
    let mut x: u64 = 1;
    let mut rounds = 0u64;
    loop {
        for _ in 0..20_000 {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407));
        }
        rounds += 1;
        if Instant::now() >= deadline {
            return rounds ^ (x & 1);
        }
    }
}

/// `cpu`: burn CPU with `threads` threads for `secs` seconds of wall time, on
/// CPU `pin` only when given (threads inherit the mask), from when `go_file` exists.
pub fn cpu(secs: f64, threads: u32, pin: Option<u32>, go_file: Option<&str>) -> PResult {
    if threads == 0 {
        return Err(ProbeError::msg("args", "--threads must be >= 1"));
    }
    if let Some(c) = pin {
        let mut set = nix::sched::CpuSet::new();
        set.set(c as usize).map_err(|e| ProbeError::errno("--pin", e))?;
        nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
            .map_err(|e| ProbeError::errno("sched_setaffinity", e))?;
    }
    emit(&Spinning {
        spinning: threads,
        pinned: pin,
        waiting_for: go_file.map(str::to_string),
    });
    if let Some(f) = go_file {
        let give_up = Instant::now() + Duration::from_secs(60);
        while !std::path::Path::new(f).exists() {
            if Instant::now() > give_up {
                return Err(ProbeError::msg("--go-file", format!("{f} did not appear within 60 s")));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // CPU time over the same interval as the wall time: the probe's own start (exec,
    // page faults; 0.1-0.2 s in an emulated VM) is not part of the workload.
    let ru0 = getrusage(UsageWho::RUSAGE_SELF).map_err(|e| ProbeError::errno("getrusage", e))?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut handles = Vec::new();
    for _ in 1..threads {
        let h = std::thread::Builder::new()
            .spawn(move || spin(deadline))
            .map_err(|e| ProbeError::io("thread", &e))?;
        handles.push(h);
    }
    black_box(spin(deadline));
    for h in handles {
        let _ = h.join();
    }
    let wall = start.elapsed();
    let ru = getrusage(UsageWho::RUSAGE_SELF).map_err(|e| ProbeError::errno("getrusage", e))?;
    let tv_usec = |tv: nix::sys::time::TimeVal| tv.tv_sec() as u64 * 1_000_000 + tv.tv_usec() as u64;
    let user = tv_usec(ru.user_time()).saturating_sub(tv_usec(ru0.user_time()));
    let sys = tv_usec(ru.system_time()).saturating_sub(tv_usec(ru0.system_time()));
    emit(&CpuSpin {
        wall_usec: usec(wall),
        cpu_usec: user + sys,
        user_usec: user,
        sys_usec: sys,
        threads,
    });
    Ok(())
}

/// `threads`: start parked threads until pthread_create fails or `max` exist, then
/// report (a `forks` line: `forked` counts threads) and hold; exiting ends them all.
pub fn threads(max: u64, hold: f64) -> PResult {
    // Blocked before any thread starts, so that every thread inherits the mask and
    // the hold's sigwait gets the stop signals.
    block_stop_signals();
    let mut started = 0usize;
    let mut fail: Option<i32> = None;
    while (started as u64) < max {
        match std::thread::Builder::new().stack_size(64 * 1024).spawn(|| loop {
            std::thread::park();
        }) {
            Ok(_) => started += 1,
            Err(e) => {
                fail = Some(e.raw_os_error().unwrap_or(libc::EAGAIN));
                break;
            }
        }
    }
    emit(&Forks {
        forked: started,
        errno: fail,
        error: fail.map(errno_name),
        holding: (hold > 0.0).then_some(hold),
        reaped: None,
    });
    if let Some(sig) = crate::out::hold(hold) {
        exit_on_signal(sig);
    }
    Ok(())
}

/// Body of a `forks` child: die with the parent, otherwise block forever.
/// Only raw async-signal-safe calls.
///
/// # Safety
/// Call only in a freshly forked child: it never returns.
unsafe fn fork_child_body(parent: libc::pid_t) -> ! {
    // SAFETY: prctl, getppid, _exit and pause take plain integers and are
    // async-signal-safe, as a child of a multithreaded fork needs.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        loop {
            libc::pause();
        }
    }
}

/// `forks`: fork paused children until fork fails or `max` is reached,
/// optionally hold them, then kill and reap every one of them.
pub fn forks(max: u64, hold: f64) -> PResult {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let mut kids: Vec<libc::pid_t> = Vec::with_capacity(max.min(65_536) as usize);
    let mut fail: Option<i32> = None;
    while (kids.len() as u64) < max {
        // SAFETY: the child only runs fork_child_body (raw syscalls).
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            fail = Some(Errno::last_raw());
            break;
        }
        if pid == 0 {
            // SAFETY: in the child right after fork.
            unsafe { fork_child_body(parent) };
        }
        kids.push(pid);
    }
    let forked = kids.len();
    if hold > 0.0 {
        block_stop_signals();
        emit(&Forks {
            forked,
            errno: fail,
            error: fail.map(errno_name),
            holding: Some(hold),
            reaped: None,
        });
    }
    let sig = if hold > 0.0 { crate::out::hold(hold) } else { None };
    for &pid in &kids {
        // SAFETY: plain kill of our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let mut reaped = 0usize;
    for &pid in &kids {
        loop {
            let mut status = 0;
            // SAFETY: status is a valid pointer.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            if r == pid {
                reaped += 1;
                break;
            }
            if r < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            break;
        }
    }
    emit(&Forks {
        forked,
        errno: fail,
        error: fail.map(errno_name),
        holding: None,
        reaped: Some(reaped),
    });
    if let Some(sig) = sig {
        exit_on_signal(sig);
    }
    Ok(())
}

/// A heap buffer aligned for O_DIRECT.
struct AlignedBuf {
    ptr: *mut u8,
    layout: Layout,
}

impl AlignedBuf {
    fn new(size: usize, align: usize, fill: u8) -> PResult<Self> {
        let layout =
            Layout::from_size_align(size.max(1), align).map_err(|e| ProbeError::msg("alloc", e.to_string()))?;
        // SAFETY: layout has non-zero size.
        let ptr = unsafe { alloc(layout) };
        if ptr.is_null() {
            return Err(ProbeError::errno("alloc", Errno::ENOMEM));
        }
        // SAFETY: ptr is valid for layout.size() bytes.
        unsafe { std::ptr::write_bytes(ptr, fill, layout.size()) };
        Ok(AlignedBuf { ptr, layout })
    }

    fn slice(&mut self, n: usize) -> &mut [u8] {
        // SAFETY: n is clamped to the allocation, which is initialised.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, n.min(self.layout.size())) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout in new().
        unsafe { dealloc(self.ptr, self.layout) };
    }
}

/// Closes a raw fd on drop.
struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        let _ = nix::unistd::close(self.0);
    }
}

fn open_fd(path: &str, flags: OFlag, mode: Mode) -> PResult<Fd> {
    open(path, flags | OFlag::O_CLOEXEC, mode)
        .map(Fd)
        .map_err(|e| ProbeError::errno("open", e))
}

fn rate(bytes: u64, d: Duration) -> u64 {
    let us = usec(d).max(1) as u128;
    (bytes as u128 * 1_000_000 / us).min(u64::MAX as u128) as u64
}

/// `write`: write `bytes` to `path` in `block`-sized writes, then fsync.
pub fn write(path: &str, bytes: u64, block: u64, direct: bool, fsync: bool) -> PResult {
    if block == 0 {
        return Err(ProbeError::msg("args", "--block must be > 0"));
    }
    let mut flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC;
    if direct {
        flags |= OFlag::O_DIRECT;
    }
    let mut buf = AlignedBuf::new(block as usize, page_size().max(4096), 0xa5)?;
    let start = Instant::now();
    let fd = open_fd(path, flags, Mode::from_bits_truncate(0o644))?;
    let mut done: u64 = 0;
    while done < bytes {
        let n = block.min(bytes - done) as usize;
        let chunk = buf.slice(n);
        // SAFETY: chunk is a valid buffer of chunk.len() bytes.
        let r = unsafe { libc::write(fd.0, chunk.as_ptr() as *const libc::c_void, chunk.len()) };
        if r < 0 {
            let e = Errno::last();
            if e == Errno::EINTR {
                continue;
            }
            return Err(ProbeError::errno("write", e));
        }
        if r == 0 {
            return Err(ProbeError::msg("write", "write returned 0"));
        }
        done += r as u64;
    }
    if fsync {
        nix::unistd::fsync(fd.0).map_err(|e| ProbeError::errno("fsync", e))?;
    }
    drop(fd);
    let d = start.elapsed();
    emit(&IoRun {
        path: path.to_string(),
        bytes: done,
        usec: usec(d),
        bytes_per_sec: rate(done, d),
        direct,
        fsync: Some(fsync),
    });
    Ok(())
}

/// `read`: read up to `bytes` (or to EOF) from `path` in `block`-sized reads.
pub fn read(path: &str, bytes: Option<u64>, block: u64, direct: bool, offset: u64) -> PResult {
    if block == 0 {
        return Err(ProbeError::msg("args", "--block must be > 0"));
    }
    let mut flags = OFlag::O_RDONLY;
    if direct {
        flags |= OFlag::O_DIRECT;
    }
    let mut buf = AlignedBuf::new(block as usize, page_size().max(4096), 0)?;
    let start = Instant::now();
    let fd = open_fd(path, flags, Mode::empty())?;
    if offset > 0 {
        nix::unistd::lseek(fd.0, offset as libc::off_t, nix::unistd::Whence::SeekSet)
            .map_err(|e| ProbeError::errno("lseek", e))?;
    }
    let limit = bytes.unwrap_or(u64::MAX);
    let mut done: u64 = 0;
    while done < limit {
        // With O_DIRECT always ask for whole blocks; the count is clamped below.
        let n = if direct {
            block as usize
        } else {
            block.min(limit - done) as usize
        };
        let chunk = buf.slice(n);
        // SAFETY: chunk is a valid buffer of chunk.len() bytes.
        let r = unsafe { libc::read(fd.0, chunk.as_mut_ptr() as *mut libc::c_void, chunk.len()) };
        if r < 0 {
            let e = Errno::last();
            if e == Errno::EINTR {
                continue;
            }
            return Err(ProbeError::errno("read", e));
        }
        if r == 0 {
            break;
        }
        done = (done + r as u64).min(limit);
    }
    drop(fd);
    let d = start.elapsed();
    emit(&IoRun {
        path: path.to_string(),
        bytes: done,
        usec: usec(d),
        bytes_per_sec: rate(done, d),
        direct,
        fsync: None,
    });
    Ok(())
}

/// `sleep`: announce, sleep, report.
pub fn sleep(secs: f64) -> PResult {
    // Block stop signals before announcing, so one sent right after the
    // announcement is reported rather than killing the probe.
    block_stop_signals();
    emit(&Sleeping {
        sleeping: secs,
        pid: std::process::id(),
    });
    let start = Instant::now();
    sleep_secs(secs);
    emit(&Slept {
        slept_usec: usec(start.elapsed()),
    });
    Ok(())
}

/// `count`: print an increasing counter every `interval_ms`; with `fork`, fork and
/// reap short-lived children without pause in between (a fork storm to freeze).
pub fn count(interval_ms: u64, limit: Option<u64>, fork: bool) -> PResult {
    block_stop_signals();
    let mut n: u64 = 0;
    loop {
        emit(&Count {
            count: n,
            mono_ns: mono_ns(),
        });
        n += 1;
        if limit.is_some_and(|l| n >= l) {
            return Ok(());
        }
        if !fork {
            if let Some(sig) = wait_stop_signal(Some(Duration::from_millis(interval_ms))) {
                exit_on_signal(sig);
            }
            continue;
        }
        let tick = Instant::now() + Duration::from_millis(interval_ms);
        while Instant::now() < tick {
            // SAFETY: the child calls _exit at once (async-signal-safe); the parent
            // reaps it with a valid status pointer.
            unsafe {
                let pid = libc::fork();
                if pid == 0 {
                    libc::_exit(0);
                }
                if pid > 0 {
                    let mut status = 0;
                    libc::waitpid(pid, &mut status, 0);
                }
            }
            if let Some(sig) = wait_stop_signal(Some(Duration::ZERO)) {
                exit_on_signal(sig);
            }
        }
    }
}

/// Sleep in a forked process using only nanosleep.
///
/// # Safety
/// Async-signal-safe: it may run in a forked child of a multithreaded process.
unsafe fn raw_sleep_ms(ms: u64) {
    let mut req = libc::timespec {
        tv_sec: (ms / 1000) as libc::time_t,
        tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long,
    };
    let mut rem = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid timespec pointers; errno is this thread's own.
    while unsafe { libc::nanosleep(&req, &mut rem) != 0 && *libc::__errno_location() == libc::EINTR } {
        req = rem;
    }
}

/// Process state letter from the text of /proc/PID/stat (field after the
/// command name in parentheses).
pub fn stat_state(text: &str) -> Option<char> {
    let close = text.rfind(')')?;
    text[close + 1..].trim_start().chars().next()
}

/// Parent pid from the text of /proc/PID/stat (the field after the state).
pub fn stat_ppid(text: &str) -> Option<i64> {
    let close = text.rfind(')')?;
    text[close + 1..].split_whitespace().nth(1)?.parse().ok()
}

/// `orphan`: fork a child that forks a grandchild and exits at once; the
/// grandchild exits after `delay_ms`. Reports the grandchild pid, then after
/// `wait_ms` whether it is gone (reaped by init) or a zombie.
// Long: fork, fork again and watch: the raw async-signal-safe steps stay in one place so their order can be checked.
pub fn orphan(delay_ms: u64, wait_ms: Option<u64>) -> PResult {
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(ProbeError::errno("pipe2", Errno::last()));
    }
    // SAFETY: the child and grandchild use raw syscalls only.
    let child = unsafe { libc::fork() };
    if child < 0 {
        let e = Errno::last();
        // SAFETY: both ends are this process's own, closed once.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        return Err(ProbeError::errno("fork", e));
    }
    if child == 0 {
        // SAFETY: in the forked child: raw syscalls only.
        unsafe {
            libc::close(fds[0]);
            let gc = libc::fork();
            if gc == 0 {
                libc::close(fds[1]);
                raw_sleep_ms(delay_ms);
                libc::_exit(0);
            }
            let val: i32 = if gc < 0 { -*libc::__errno_location() } else { gc };
            libc::write(fds[1], &val as *const i32 as *const libc::c_void, 4);
            libc::_exit(if gc < 0 { 1 } else { 0 });
        }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(fds[1]) };
    let mut val: i32 = 0;
    let mut got = 0usize;
    while got < 4 {
        // SAFETY: reading into the remaining bytes of val.
        let r = unsafe {
            libc::read(
                fds[0],
                (&mut val as *mut i32 as *mut u8).add(got) as *mut libc::c_void,
                4 - got,
            )
        };
        if r < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        if r <= 0 {
            break;
        }
        got += r as usize;
    }
    // SAFETY: fds[0] is this process's own read end, closed once.
    unsafe { libc::close(fds[0]) };
    let mut status = 0;
    loop {
        // SAFETY: status is a valid pointer.
        let r = unsafe { libc::waitpid(child, &mut status, 0) };
        if r < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        break;
    }
    if got < 4 {
        return Err(ProbeError::msg("orphan", "child did not report the grandchild pid"));
    }
    if val < 0 {
        return Err(ProbeError::errno("fork", Errno::from_raw(-val)));
    }
    let gc = val;
    emit(&Orphaned { grandchild: gc, child });
    let Some(wait) = wait_ms else {
        return Ok(());
    };
    // `wait` is the longest the reaper may take: the state is looked at every
    // 10 ms and reported as soon as the orphan is gone, so a reaper slowed by a
    // busy host still counts, and only a zombie (or a live orphan) takes it all.
    let deadline = std::time::Instant::now() + Duration::from_millis(wait);
    let (state, letter, ppid) = loop {
        let stat_text = fs::read_to_string(format!("/proc/{gc}/stat")).ok();
        let letter = stat_text.as_deref().and_then(stat_state);
        let ppid = stat_text.as_deref().and_then(stat_ppid);
        let state = match letter {
            Some('Z') => "zombie",
            Some('X') => "gone",
            Some(_) => "alive",
            None => {
                // No /proc entry: gone, unless /proc is not usable at all and the
                // pid still answers signals.
                // SAFETY: signal 0 only checks for existence.
                let alive = unsafe { libc::kill(gc, 0) } == 0;
                if alive {
                    "unknown"
                } else {
                    "gone"
                }
            }
        };
        if state == "gone" || std::time::Instant::now() >= deadline {
            break (state, letter, ppid);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Whose reaping it was: the PID namespace the orphan lived in.
    let pid_ns = fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|l| l.to_string_lossy().into_owned());
    emit(&OrphanState {
        grandchild: gc,
        state: state.to_string(),
        stat_state: letter.map(|c| c.to_string()),
        ppid,
        pid_ns,
    });
    // If the orphan was re-parented to us (we are the pid namespace's init),
    // reap it now that it has been observed.
    let mut st = 0;
    // SAFETY: status is a valid pointer; ECHILD if it is not ours.
    unsafe { libc::waitpid(gc, &mut st, libc::WNOHANG) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_state() {
        assert_eq!(stat_state("123 (probe) S 1 123 123 0"), Some('S'));
        assert_eq!(stat_state("7 (we) ird) Z 1 7"), Some('Z'));
        assert_eq!(stat_state("garbage"), None);
        assert_eq!(stat_state("1 (x)"), None);
        assert_eq!(stat_ppid("123 (probe) S 1 123 123 0"), Some(1));
        assert_eq!(stat_ppid("7 (we) ird) Z 42 7"), Some(42));
        assert_eq!(stat_ppid("7 (x) Z"), None);
    }

    #[test]
    fn aligned_buffer() {
        let mut b = AlignedBuf::new(8192, 4096, 7).unwrap();
        assert_eq!(b.ptr as usize % 4096, 0);
        assert_eq!(b.slice(100).len(), 100);
        assert!(b.slice(8192).iter().all(|x| *x == 7));
        assert_eq!(b.slice(1 << 20).len(), 8192);
    }

    #[test]
    fn rates() {
        assert_eq!(rate(1_000_000, Duration::from_secs(1)), 1_000_000);
        assert_eq!(rate(10, Duration::ZERO), 10_000_000);
    }
}
