//! `harness`: the reference runtime. `run`, `pause`, `resume` and `stats` are the
//! runtime contract (exercises/CONTRACT.md); `rootfs` and `doctor` are extras.
//!
//! This binary must stay single-threaded: `run` clones children that continue in Rust.

use std::process::exit;

use clap::error::ErrorKind;
use clap::Parser;

use harness::cli::{one_line, Cli, Command};
use harness::container::{self, EXIT_RUNTIME};
use harness::fault::{self, Fault};
use harness::{doctor, rootfs};

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("runtime error: {msg}");
    exit(EXIT_RUNTIME)
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            exit(0)
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            exit(EXIT_RUNTIME)
        }
        Err(e) => fail(one_line(&e)),
    };
    let code = match cli.command {
        Command::Run(args) => match container::run(&args.into_spec()) {
            Ok(code) => code,
            Err(e) => fail(e),
        },
        Command::Pause { name } => {
            let cg = container::existing_cgroup(&name).unwrap_or_else(|e| fail(e));
            if !fault::active(Fault::FreezerNoop) {
                cg.freeze().unwrap_or_else(|e| fail(format!("pause {name}: {e}")));
            }
            0
        }
        Command::Resume { name } => {
            let cg = container::existing_cgroup(&name).unwrap_or_else(|e| fail(e));
            cg.thaw().unwrap_or_else(|e| fail(format!("resume {name}: {e}")));
            0
        }
        Command::Stats { name } => {
            let cg = container::existing_cgroup(&name).unwrap_or_else(|e| fail(e));
            let mut stats = cg.stats().unwrap_or_else(|e| fail(format!("stats {name}: {e}")));
            if fault::active(Fault::StatsWithoutLimits) {
                stats.memory_max_bytes = None;
                stats.pids_max = None;
                stats.io_read_bytes = None;
                stats.io_write_bytes = None;
            }
            println!("{}", serde_json::to_string(&stats).expect("stats serialise"));
            0
        }
        Command::Rootfs(args) => {
            let probe = rootfs::probe_path().unwrap_or_else(|e| fail(e));
            let files = rootfs::write_rootfs(&args.dir, &probe, args.busybox.as_deref())
                .unwrap_or_else(|e| fail(format!("rootfs {}: {e}", args.dir.display())));
            for f in files {
                println!("{}", f.display());
            }
            0
        }
        Command::Doctor { json } => {
            let findings = doctor::examine();
            if json {
                println!("{}", serde_json::to_string(&findings).expect("findings serialise"));
            } else {
                print!("{}", doctor::render(&findings));
            }
            if findings.iter().any(|f| !f.ok && doctor::essential(&f.key)) {
                1
            } else {
                0
            }
        }
        #[cfg(feature = "faults")]
        Command::Faults => {
            print!("{}", fault::list());
            0
        }
        Command::Vm { args } => vm(&args),
        Command::Cleanup { state_dir, dry_run } => {
            cleanup(state_dir.unwrap_or_else(harness::state::state_dir), dry_run)
        }
    };
    exit(code)
}

/// `harness vm ARGS`: `harness-vm ARGS`, from beside this binary (the VM runner is a
/// crate of its own, harness/vm, so the runtime carries none of it).
fn vm(args: &[std::ffi::OsString]) -> i32 {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("vm: /proc/self/exe: {e}")));
    let runner = exe.with_file_name("harness-vm");
    let err = std::process::Command::new(&runner).args(args).exec();
    eprintln!(
        "vm: cannot run {}: {err} (build it: cargo build -p harness-vm)",
        runner.display()
    );
    2
}

/// `harness cleanup`: one line per thing removed; exit 1 when something could not be.
fn cleanup(dir: std::path::PathBuf, dry_run: bool) -> i32 {
    use harness::state;
    if dry_run {
        let files = state::read_dir(&dir).unwrap_or_else(|e| fail(e));
        for f in files {
            let whose = if f.owner_alive() { "running" } else { "dead" };
            println!("{} (checker {}, {whose}):", f.path.display(), f.owner_pid);
            for i in &f.items {
                println!("  {i}");
            }
        }
        return 0;
    }
    let c = state::cleanup_dir(&dir).unwrap_or_else(|e| fail(e));
    for l in &c.done {
        println!("{l}");
    }
    // The reference runtime's own leftovers when it was killed with SIGKILL.
    let swept = harness::container::sweep_stale_roots(&std::env::temp_dir());
    for p in &swept {
        println!("removed {} (its runtime is gone)", p.display());
    }
    for (p, pid) in &c.running {
        println!("left alone: {} (checker {pid} is still running)", p.display());
    }
    for l in &c.failed {
        eprintln!("cleanup: could not finish: {l}");
    }
    if c.done.is_empty() && c.running.is_empty() && c.failed.is_empty() && swept.is_empty() {
        println!("nothing to clean up in {}", dir.display());
    }
    i32::from(!c.failed.is_empty())
}
