//! `probe`: the small program that conformance checks run inside containers.
//!
//! Every subcommand prints machine-readable output only: one JSON object per
//! line on stdout, flushed line by line. A failure of the probe itself is the
//! line `{"error": "...", "errno": N|null, "op": "..."}` and exit code 1; bad
//! usage is clap's message on stderr and exit code 2. See PROBE.md.

mod facts;
mod ipc;
mod net;
mod out;
mod sys;
mod workloads;

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::out::{emit, parse_secs, parse_size, PResult};

#[derive(Debug, Parser)]
#[command(
    name = "probe",
    version,
    about = "In-container probe for runtime conformance checks; prints one JSON object per line"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Everything the process sees: ids, namespaces, maps, cgroup, mounts,
    /// root, interfaces, capabilities, clocks, visible pids
    Facts,
    /// Allocate and touch memory in steps, reporting progress after each step
    Mem {
        /// Total bytes to allocate (K/M/G/T suffixes, powers of 1024)
        #[arg(long, value_parser = parse_size)]
        total: u64,
        /// Bytes per step
        #[arg(long, value_parser = parse_size, default_value = "1M")]
        step: u64,
        /// Seconds to hold the memory after the last step
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        hold: f64,
    },
    /// Spin on the CPU for a wall-clock duration
    Cpu {
        /// Wall-clock seconds to spin (float)
        #[arg(long, value_parser = parse_secs, default_value = "1")]
        secs: f64,
        /// Number of spinning threads
        #[arg(long, default_value_t = 1)]
        threads: u32,
        /// Run on this CPU only (sched_setaffinity), so that spinners compete
        #[arg(long, value_name = "CPU")]
        pin: Option<u32>,
        /// Start spinning only once this file exists (60 s at most), so that
        /// several spinners start together
        #[arg(long, value_name = "PATH")]
        go_file: Option<String>,
    },
    /// Fork blocked children until fork fails or --max is reached, then kill
    /// and reap them all
    Forks {
        /// Stop after this many children
        #[arg(long, default_value_t = 10_000)]
        max: u64,
        /// Seconds to keep the children alive before killing them
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        hold: f64,
    },
    /// Start parked threads until thread creation fails or --max is reached
    Threads {
        /// Stop after this many threads
        #[arg(long, default_value_t = 10_000)]
        max: u64,
        /// Seconds to keep them before exiting
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        hold: f64,
    },
    /// Write bytes to a file in blocks, then fsync
    Write {
        path: String,
        /// Bytes to write (K/M/G/T suffixes)
        #[arg(long, value_parser = parse_size)]
        bytes: u64,
        /// Bytes per write call
        #[arg(long, value_parser = parse_size, default_value = "64K")]
        block: u64,
        /// Open with O_DIRECT (buffer is page aligned)
        #[arg(long)]
        direct: bool,
        /// Skip the final fsync
        #[arg(long)]
        no_fsync: bool,
    },
    /// Read bytes from a file in blocks
    Read {
        path: String,
        /// Bytes to read at most (default: until end of file)
        #[arg(long, value_parser = parse_size)]
        bytes: Option<u64>,
        /// Bytes per read call
        #[arg(long, value_parser = parse_size, default_value = "64K")]
        block: u64,
        /// Open with O_DIRECT (buffer is page aligned)
        #[arg(long)]
        direct: bool,
        /// Start at this offset (a multiple of the block with --direct)
        #[arg(long, value_parser = parse_size, default_value = "0")]
        offset: u64,
    },
    /// Write files, remove files, allocate memory, stat paths, then print one
    /// line with all of it and the facts, and stay alive for --hold seconds
    Scene {
        /// PATH=TEXT: write TEXT to PATH (created or truncated); repeatable
        #[arg(long, value_name = "PATH=TEXT")]
        write: Vec<String>,
        /// Remove the file PATH; repeatable
        #[arg(long, value_name = "PATH")]
        rm: Vec<String>,
        /// Allocate and touch this much anonymous memory (K/M/G suffixes)
        #[arg(long, value_parser = parse_size, default_value = "0")]
        mem: u64,
        /// Stat PATH after the writes and removals; repeatable
        #[arg(long, value_name = "PATH")]
        stat: Vec<String>,
        /// Spin on the CPU for this many wall-clock seconds before the line
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        spin: f64,
        /// Seconds to stay alive after the line
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        hold: f64,
    },
    /// Sleep for SECS seconds (float)
    Sleep {
        #[arg(value_parser = parse_secs)]
        secs: f64,
    },
    /// Die by SIGNAL's default action (a name such as TERM, or a number)
    Raise {
        #[arg(value_parser = parse_signal)]
        signal: i32,
    },
    /// List this process's open file descriptors
    Fds,
    /// Exit with status CODE (0-255)
    Exit {
        #[arg(value_parser = clap::value_parser!(i32).range(0..=255))]
        code: i32,
    },
    /// Print an increasing counter every interval
    Count {
        /// Milliseconds between lines
        #[arg(long, default_value_t = 50)]
        interval_ms: u64,
        /// Stop after this many lines (default: forever)
        #[arg(long)]
        limit: Option<u64>,
        /// Between lines, fork and reap children without pause
        #[arg(long)]
        fork: bool,
    },
    /// SysV shared memory, SysV message queues, POSIX message queues
    Ipc {
        #[command(subcommand)]
        op: IpcCmd,
    },
    /// Listen on a TCP port; serve connections by echoing what they send
    Listen {
        /// Port (0 picks a free one; the bound port is reported)
        #[arg(long)]
        port: u16,
        /// Address to bind
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
        addr: IpAddr,
        /// Serve exactly one connection, then exit
        #[arg(long)]
        once: bool,
        /// Seconds to keep serving (with --once: to wait for the connection);
        /// default forever
        #[arg(long, value_parser = parse_secs)]
        hold: Option<f64>,
    },
    /// Connect over TCP, send text, half-close, read the reply to EOF
    Connect {
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        addr: IpAddr,
        #[arg(long)]
        port: u16,
        /// Text to send
        #[arg(long)]
        send: Option<String>,
        /// Connect timeout in seconds
        #[arg(long, value_parser = parse_secs, default_value = "5")]
        timeout: f64,
    },
    /// Bind and listen on a TCP port, report success or errno, then hold
    BindOnly {
        #[arg(long)]
        port: u16,
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
        addr: IpAddr,
        /// Seconds to keep the port bound after success
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        hold: f64,
    },
    /// Try to open a file or device
    Open {
        path: String,
        /// Open write-only instead of read-only
        #[arg(long)]
        write: bool,
    },
    /// Send a signal to a pid (default 0: existence check)
    Kill {
        #[arg(allow_negative_numbers = true)]
        pid: i32,
        /// Signal number or name (TERM, SIGTERM, 15)
        #[arg(long, value_parser = parse_signal, default_value = "0")]
        signal: i32,
    },
    /// Create an orphan grandchild and check whether init reaps it
    Orphan {
        /// Milliseconds the grandchild lives after its parent exits
        #[arg(long, default_value_t = 100)]
        delay_ms: u64,
        /// Milliseconds to wait before checking the grandchild's state
        #[arg(long)]
        wait_ms: Option<u64>,
    },
    /// Report the hostname, or try to set it
    Hostname {
        #[arg(long)]
        set: Option<String>,
        /// Seconds to stay alive after reporting (so the host can look meanwhile)
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        hold: f64,
    },
    /// Report the NIS domain name, or try to set it
    Domainname {
        #[arg(long)]
        set: Option<String>,
        /// Seconds to stay alive after reporting
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        hold: f64,
    },
    /// List every entry below DIR and the device nodes among them
    DevNodes { dir: String },
    /// Search the user keyring (@u) for a `user` key named DESC and read it
    Keyring {
        #[arg(long)]
        find: String,
    },
    /// stat a path
    Stat {
        path: String,
        /// Use lstat (do not follow a final symlink)
        #[arg(long)]
        nofollow: bool,
    },
    /// Create a file if missing and set its times to now
    Touch { path: String },
    /// Write text to a file (create/truncate, or append)
    WriteFile {
        path: String,
        #[arg(long)]
        content: String,
        #[arg(long)]
        append: bool,
    },
    /// Print a file's content
    Cat {
        path: String,
        /// Bytes to read at most (K/M/G suffixes)
        #[arg(long, value_parser = parse_size, default_value = "1M")]
        max: u64,
    },
    /// The classic chroot breakout (chroot into a subdirectory, climb out with
    /// "..", chroot "."): reports whether it reached a different root
    ChrootEscape {
        /// After the breakout, stat this path (e.g. a host-only file) and report it
        #[arg(long, value_name = "PATH")]
        stat: Option<String>,
    },
    /// Try to load a kernel module that cannot be one (an empty image, or
    /// /dev/null with --finit) and report the errno: EPERM without
    /// CAP_SYS_MODULE in the initial user namespace
    LoadModule {
        /// finit_module(2) on /dev/null instead of init_module(2) with an empty image
        #[arg(long)]
        finit: bool,
    },
    /// Read a file and write the same bytes back in one write (a sysctl or
    /// sysfs knob: tests write permission without changing anything)
    Rewrite { path: String },
    /// Remove a file (unlink)
    Rm { path: String },
    /// Make a directory (mode 0755)
    Mkdir { path: String },
    /// Remove an empty directory
    Rmdir { path: String },
    /// rename(2) FROM to TO
    Rename { from: String, to: String },
    /// link(2): a hard link TO for the file FROM
    Link { from: String, to: String },
    /// chmod PATH to an octal MODE
    Chmod { path: String, mode: String },
    /// List a directory's entries (sorted)
    Ls { path: String },
    /// Mount a tmpfs at PATH (created if missing)
    MountTmpfs {
        path: String,
        /// tmpfs size (K/M/G suffixes); default the kernel's
        #[arg(long, value_parser = parse_size)]
        size: Option<u64>,
        /// Seconds to hold after mounting
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        hold: f64,
    },
    /// chdir("/") then chdir("..") repeatedly; compare "." with "/"
    ChdirUp {
        #[arg(long, default_value_t = 10)]
        times: u32,
    },
    /// CPUs this process may run on (sched_getaffinity)
    Affinity,
}

#[derive(Debug, Args)]
struct IpcTarget {
    /// Object kind
    #[arg(long, value_enum)]
    kind: ipc::Kind,
    /// SysV key (decimal or 0x hex), for shm and msg
    #[arg(long, value_parser = ipc::parse_key, allow_negative_numbers = true)]
    key: Option<i32>,
    /// POSIX queue name (a leading '/' is added if missing), for mq
    #[arg(long)]
    name: Option<String>,
}

#[derive(Debug, Subcommand)]
enum IpcCmd {
    /// Create the object exclusively; removed at the end unless --keep
    Create {
        #[command(flatten)]
        t: IpcTarget,
        /// Segment size for shm
        #[arg(long, value_parser = parse_size, default_value = "4K")]
        size: u64,
        /// Seconds to hold the object before removing it
        #[arg(long, value_parser = parse_secs, default_value = "0")]
        hold: f64,
        /// Leave the object in place
        #[arg(long)]
        keep: bool,
    },
    /// Report whether the object exists
    Lookup {
        #[command(flatten)]
        t: IpcTarget,
    },
    /// Remove an object (e.g. one created with --keep)
    Remove {
        #[command(flatten)]
        t: IpcTarget,
    },
}

/// Signal as a number (`15`) or a name (`TERM`, `SIGTERM`).
fn parse_signal(s: &str) -> Result<i32, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        if (0..=64).contains(&n) {
            return Ok(n);
        }
        return Err(format!("invalid signal {s:?}"));
    }
    let up = t.to_ascii_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    nix::sys::signal::Signal::from_str(&name)
        .map(|sig| sig as i32)
        .map_err(|_| format!("invalid signal {s:?}"))
}

fn run(cmd: Cmd) -> PResult {
    match cmd {
        Cmd::Facts => facts::run(),
        Cmd::Mem { total, step, hold } => workloads::mem(total, step, hold),
        Cmd::Cpu {
            secs,
            threads,
            pin,
            go_file,
        } => workloads::cpu(secs, threads, pin, go_file.as_deref()),
        Cmd::Forks { max, hold } => workloads::forks(max, hold),
        Cmd::Threads { max, hold } => workloads::threads(max, hold),
        Cmd::Write {
            path,
            bytes,
            block,
            direct,
            no_fsync,
        } => workloads::write(&path, bytes, block, direct, !no_fsync),
        Cmd::Read {
            path,
            bytes,
            block,
            direct,
            offset,
        } => workloads::read(&path, bytes, block, direct, offset),
        Cmd::Sleep { secs } => workloads::sleep(secs),
        Cmd::Scene {
            write,
            rm,
            mem,
            stat,
            spin,
            hold,
        } => workloads::scene(&write, &rm, mem, &stat, spin, hold),
        Cmd::Raise { signal } => sys::raise(signal),
        Cmd::Fds => sys::fds(),
        Cmd::Exit { code } => {
            emit(&labkit::probe::Exit { exit: code });
            std::process::exit(code);
        }
        Cmd::Count {
            interval_ms,
            limit,
            fork,
        } => workloads::count(interval_ms, limit, fork),
        Cmd::Ipc { op } => match op {
            IpcCmd::Create { t, size, hold, keep } => ipc::create(t.kind, t.key, t.name.as_deref(), size, hold, keep),
            IpcCmd::Lookup { t } => ipc::lookup(t.kind, t.key, t.name.as_deref()),
            IpcCmd::Remove { t } => ipc::remove(t.kind, t.key, t.name.as_deref()),
        },
        Cmd::Listen { port, addr, once, hold } => net::listen(addr, port, once, hold),
        Cmd::Connect {
            addr,
            port,
            send,
            timeout,
        } => net::connect(addr, port, send.as_deref(), timeout),
        Cmd::BindOnly { port, addr, hold } => net::bind_only(addr, port, hold),
        Cmd::Open { path, write } => sys::open(&path, write),
        Cmd::Kill { pid, signal } => sys::kill(pid, signal),
        Cmd::Orphan { delay_ms, wait_ms } => workloads::orphan(delay_ms, wait_ms),
        Cmd::Hostname { set, hold } => sys::hostname(set.as_deref()).and_then(|_| sys::hold(hold)),
        Cmd::Domainname { set, hold } => sys::domainname(set.as_deref()).and_then(|_| sys::hold(hold)),
        Cmd::Keyring { find } => sys::keyring(&find),
        Cmd::DevNodes { dir } => sys::dev_nodes(&dir),
        Cmd::Stat { path, nofollow } => sys::stat(&path, nofollow),
        Cmd::Touch { path } => sys::touch(&path),
        Cmd::WriteFile { path, content, append } => sys::write_file(&path, &content, append),
        Cmd::Cat { path, max } => sys::cat(&path, max),
        Cmd::Rm { path } => sys::fs_op(&path, || std::fs::remove_file(&path)),
        Cmd::Mkdir { path } => sys::fs_op(&path, || std::fs::create_dir(&path)),
        Cmd::Rmdir { path } => sys::fs_op(&path, || std::fs::remove_dir(&path)),
        Cmd::Rename { from, to } => sys::fs_op(&from, || std::fs::rename(&from, &to)),
        Cmd::Link { from, to } => sys::fs_op(&to, || std::fs::hard_link(&from, &to)),
        Cmd::Chmod { path, mode } => sys::chmod(&path, &mode),
        Cmd::Ls { path } => sys::ls(&path),
        Cmd::MountTmpfs { path, size, hold } => sys::mount_tmpfs(&path, size, hold),
        Cmd::ChdirUp { times } => sys::chdir_up(times),
        Cmd::ChrootEscape { stat } => sys::chroot_escape(stat.as_deref()),
        Cmd::LoadModule { finit } => sys::load_module(finit),
        Cmd::Rewrite { path } => sys::rewrite(&path),
        Cmd::Affinity => sys::affinity(),
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli.cmd) {
        if e.op == "args" {
            // Inconsistent arguments clap could not catch: usage error, exit 2.
            Cli::command()
                .error(clap::error::ErrorKind::ArgumentConflict, e.msg)
                .exit();
        }
        emit(&e.line());
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("0"), Ok(0));
        assert_eq!(parse_signal("15"), Ok(15));
        assert_eq!(parse_signal("TERM"), Ok(libc::SIGTERM));
        assert_eq!(parse_signal("sigkill"), Ok(libc::SIGKILL));
        assert_eq!(parse_signal("SIGUSR1"), Ok(libc::SIGUSR1));
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("-1").is_err());
    }

    #[test]
    fn parses_examples() {
        let p = |args: &[&str]| Cli::try_parse_from(std::iter::once("probe").chain(args.iter().copied()));
        assert!(p(&["facts"]).is_ok());
        assert!(p(&["mem", "--total", "8M", "--step", "1M"]).is_ok());
        assert!(p(&["exit", "256"]).is_err());
        assert!(p(&["kill", "-1", "--signal", "TERM"]).is_ok());
        assert!(p(&["ipc", "create", "--kind", "msg", "--key", "0x1234", "--keep"]).is_ok());
        assert!(p(&["ipc", "lookup", "--kind", "mq", "--name", "q"]).is_ok());
        assert!(p(&["listen", "--port", "0", "--once", "--addr", "::1"]).is_ok());
        assert!(p(&["write-file", "/tmp/x", "--content", "hi"]).is_ok());
        assert!(p(&["mount-tmpfs", "/mnt", "--size", "1M", "--hold", "0.5"]).is_ok());
        assert!(p(&["bind-only", "--port", "80"]).is_ok());
        assert!(p(&["chdir-up"]).is_ok());
        assert!(p(&["chroot-escape", "--stat", "/etc/hostname"]).is_ok());
        assert!(p(&["load-module", "--finit"]).is_ok());
        assert!(p(&["load-module", "/lib/modules/x.ko"]).is_err());
        assert!(p(&["rewrite", "/proc/sys/kernel/domainname"]).is_ok());
        assert!(p(&["sleep", "-1"]).is_err());
    }
}
