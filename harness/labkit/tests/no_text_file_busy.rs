//! The checker writes the files its containers execute (the probe in every root file
//! system) while other threads start runtimes. A file written the ordinary way can still
//! be open for writing in a child another thread forked meanwhile, and its exec fails with
//! ETXTBSY: a FAIL of the runtime by chance (it once failed CI). These tests run that
//! scene, with children that linger between fork and exec as the checker's do (setns,
//! cgroup joins), and prove the race is seen with `std::fs::copy` (so the scene can catch
//! it) and never with the rootfs writer.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Threads forking children that wait 10 ms before they exec (a loaded machine
/// deschedules the checker's children for as long), as long as the scene lasts.
struct Forkers {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl Forkers {
    fn start(n: usize) -> Forkers {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut forks = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let mut c = Command::new("/bin/true");
                        // SAFETY: nanosleep is async-signal-safe.
                        unsafe {
                            c.pre_exec(|| {
                                let ts = libc::timespec {
                                    tv_sec: 0,
                                    tv_nsec: 10_000_000,
                                };
                                libc::nanosleep(&ts, std::ptr::null_mut());
                                Ok(())
                            });
                        }
                        c.status().expect("forking /bin/true");
                        forks += 1;
                    }
                    forks
                })
            })
            .collect();
        Forkers { stop, threads }
    }

    /// How many children were forked in all; at least one each, or the scene was empty.
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let counts: Vec<u64> = self.threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(
            counts.iter().all(|&n| n > 0),
            "a forking thread never forked: {counts:?}"
        );
        counts.iter().sum()
    }
}

/// `writers` threads, each writing an executable with `write` into a new directory and
/// executing it at once, `rounds` times, while children linger between fork and exec.
/// Returns how many execs failed with ETXTBSY, and how many ran.
fn scene(writers: usize, rounds: usize, write: fn(&Path) -> PathBuf) -> (usize, usize) {
    let forkers = Forkers::start(2);
    let results: Vec<(usize, usize)> = (0..writers)
        .map(|_| {
            std::thread::spawn(move || {
                let (mut busy, mut ran) = (0, 0);
                for _ in 0..rounds {
                    let dir = tempfile::tempdir().unwrap();
                    let exe = write(dir.path());
                    match Command::new(&exe).stdout(Stdio::null()).status() {
                        Ok(st) => {
                            assert!(st.success(), "{}: {st}", exe.display());
                            ran += 1;
                        }
                        Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => busy += 1,
                        Err(e) => panic!("executing {}: {e}", exe.display()),
                    }
                }
                (busy, ran)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let forks = forkers.finish();
    let busy = results.iter().map(|r| r.0).sum();
    let ran = results.iter().map(|r| r.1).sum();
    eprintln!("{busy} ETXTBSY, {ran} ran, {forks} lingering children forked meanwhile");
    (busy, ran)
}

/// An executable the size of the probe (a few MiB: /bin/true padded, which the ELF
/// loader ignores), so that a copy takes as long as the checker's; written once, before
/// any scene forks.
/// It lives in cargo's scratch directory for tests, not in a temporary directory: a
/// static is never dropped, and each run left a 4 MiB directory in /tmp.
fn source() -> &'static Path {
    static SOURCE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-text-file-busy-big-true");
        let mut bytes = std::fs::read("/bin/true").unwrap();
        bytes.resize(bytes.len() + (4 << 20), 0);
        labkit::exec_file::write_executable(&p, &bytes, 0o755).unwrap();
        p
    })
}

#[test]
fn the_scene_catches_the_race_of_an_ordinary_copy() {
    // The control: if this stops failing, the scene below proves nothing. 400 rounds
    // (about a second); the race shows within the first few dozen here.
    let (busy, _) = scene(4, 100, |dir| {
        let exe = dir.join("probe");
        std::fs::copy(source(), &exe).unwrap();
        exe
    });
    assert!(busy > 0, "no ETXTBSY in 400 execs of files written with std::fs::copy");
}

#[test]
fn a_root_file_system_is_never_busy_when_a_container_execs_its_probe() {
    let (busy, ran) = scene(4, 100, |dir| {
        labkit::rootfs::write_rootfs(dir, source(), None).unwrap();
        dir.join("bin/probe")
    });
    assert_eq!((busy, ran), (0, 400), "execs of bin/probe that failed with ETXTBSY");
}

#[test]
fn an_executable_written_by_exec_file_is_never_busy() {
    let (busy, ran) = scene(4, 100, |dir| {
        let exe = dir.join("script");
        labkit::exec_file::write_executable(&exe, b"#!/bin/sh\nexit 0\n", 0o755).unwrap();
        exe
    });
    assert_eq!((busy, ran), (0, 400), "execs of a script that failed with ETXTBSY");
}
