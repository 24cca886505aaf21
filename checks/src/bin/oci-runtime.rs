//! `oci-runtime`: the runtime contract (exercises/CONTRACT.md) on top of an OCI
//! runtime (runc, crun, youki, ...), named by `LAB_OCI_RUNTIME` (default `runc`).
//!
//! ```text
//! oci-runtime run [OPTIONS] -- COMMAND   # an OCI bundle, run with `RUNTIME run`
//! oci-runtime pause|resume NAME          # `RUNTIME pause|resume NAME`
//! oci-runtime stats NAME                 # `RUNTIME events --stats NAME`, plus the cgroup files
//! oci-runtime unsupported                # what the OCI runtime cannot provide (JSON)
//! ```
//!
//! `run` works in a private mount namespace of its own: there it mounts the
//! container's root (`bundle/root`: a bind of `/` or of `--rootfs`, or the overlay
//! of the layers), writes `config.json` ([`checks::oci::config`]) and runs the OCI
//! runtime in the foreground (it forwards signals to the container; the adapter
//! forwards SIGTERM, SIGINT and SIGHUP to it). Afterwards it deletes the container,
//! unmounts, removes the bundle, the veth and cgroup directories the runtime made
//! outside the contract's hierarchies. Two hidden subcommands run on the adapter's
//! behalf: `__init` (the container's first process) and `__hook` (the
//! `createRuntime` hook: pid file and veth).
//!
//! This binary must stay single-threaded: `run` unshares its mount namespace.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{exit, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use serde_json::Value;

use checks::cgview::{Tree, Version};
use checks::oci::config::{self, RootSource};
use checks::oci::{stats, support, OCI_RUNTIME_ENV};

use labkit::contract::{CGROUP_PARENT_ENV, EXIT_RUNTIME};
/// Bundles live here while their container runs.
const BUNDLES: &str = "/run/oci-runtime";
/// The v1 controllers the contract names: hierarchies holding one of them are the
/// caller's business; in the others (name=systemd, a hybrid host's cgroup2) the
/// OCI runtime makes directories of its own, removed here afterwards.
const CONTRACT_V1: &[&str] = labkit::cgroups::V1_CONTROLLERS;

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("runtime error: {msg}");
    exit(EXIT_RUNTIME)
}

fn oci_command() -> String {
    std::env::var(OCI_RUNTIME_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "runc".into())
}

const USAGE: &str =
    "usage: oci-runtime run [OPTIONS] -- COMMAND [ARG...] | pause NAME | resume NAME | stats NAME | unsupported
The runtime contract (exercises/CONTRACT.md) on top of the OCI runtime named by LAB_OCI_RUNTIME (default runc).";

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let first = args.first().and_then(|a| a.to_str()).unwrap_or("").to_string();
    let code = match first.as_str() {
        config::INIT_SUBCOMMAND => init_main(&args[1..]),
        config::HOOK_SUBCOMMAND => hook_main(&args[1..]),
        "run" => run_main(&args[1..]),
        "pause" | "resume" | "stats" => {
            let name = match &args[1..] {
                [n] => n.to_string_lossy().into_owned(),
                _ => fail(format!("{first}: expected exactly one NAME")),
            };
            if let Err(e) = labkit::cgroups::validate_name(&name) {
                fail(format!("{first} {name}: {e}"));
            }
            match first.as_str() {
                "stats" => stats_main(&name),
                verb => pause_resume(verb, &name),
            }
        }
        "unsupported" => {
            println!(
                "{}",
                checks::oci::render_unsupported(&support::unsupported(&oci_command()))
            );
            0
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            0
        }
        "" => {
            eprintln!("{USAGE}");
            EXIT_RUNTIME
        }
        other => fail(format!(
            "unknown subcommand {other:?} (run, pause, resume, stats, unsupported)"
        )),
    };
    exit(code)
}

// ---------------------------------------------------------------- run

/// Signals to forward to the OCI runtime, and what arrived before it ran.
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);
static PENDING: AtomicI32 = AtomicI32::new(0);
static FORWARDED: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let p = FORWARD_TO.load(Ordering::SeqCst);
    if p > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(p, sig) };
        FORWARDED.store(sig, Ordering::SeqCst);
    } else {
        PENDING.store(sig, Ordering::SeqCst);
    }
}

const FORWARDED_SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

fn install_forwarding(handler: extern "C" fn(libc::c_int)) {
    for sig in FORWARDED_SIGNALS {
        // SAFETY: a plain sigaction with an async-signal-safe handler.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn generated_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("lab-oci-{}-{nanos:x}", std::process::id())
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// A cgroup hierarchy of this process: mount point, mount root, own path, and
/// whether it holds a controller the contract names.
#[derive(Debug)]
struct Hierarchy {
    mount: PathBuf,
    root: String,
    own: String,
    contract: bool,
}

fn hierarchies() -> Vec<Hierarchy> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mounts = labkit::cgroups::hierarchies::cgroup_mounts(&mountinfo, &cgroup);
    let names_contract = |m: &labkit::cgroups::hierarchies::CgroupMount| {
        !m.v2 && m.options.iter().any(|c| CONTRACT_V1.contains(&c.as_str()))
    };
    // On a hybrid host the cgroup2 mount is not the contract's: the v1 controllers are.
    let v1_resources = mounts.iter().any(names_contract);
    mounts
        .iter()
        .map(|m| Hierarchy {
            mount: m.mount.clone(),
            root: m.root.clone(),
            own: m.own.clone(),
            contract: if m.v2 { !v1_resources } else { names_contract(m) },
        })
        .collect()
}

impl Hierarchy {
    /// The directory of `cgroups_path` here (relative: under this process's own
    /// cgroup; absolute: from the hierarchy's root), and the directory it is under.
    fn dir_of(&self, cgroups_path: &str) -> (PathBuf, PathBuf) {
        let strip = |p: &str| -> String {
            let p = p.strip_prefix(self.root.as_str()).unwrap_or(p);
            p.trim_start_matches('/').to_string()
        };
        if cgroups_path.starts_with('/') {
            (self.mount.join(strip(cgroups_path)), self.mount.clone())
        } else {
            let base = self.mount.join(strip(&self.own));
            (base.join(cgroups_path), base)
        }
    }
}

/// What `run` made, undone in reverse when dropped.
struct Made {
    oci: String,
    id: String,
    bundle: Option<PathBuf>,
    root_mounted: bool,
    overlay_work: Option<PathBuf>,
    veth_host: Option<String>,
    container: bool,
    cgroups_path: Option<String>,
}

impl Made {
    fn root(&self) -> Option<PathBuf> {
        self.bundle.as_ref().map(|b| b.join("root"))
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        if self.container {
            let _ = Command::new(&self.oci)
                .args(["delete", "--force", &self.id])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if self.root_mounted {
            if let Some(root) = self.root() {
                if umount2(&root, MntFlags::empty()).is_err() {
                    let _ = umount2(&root, MntFlags::MNT_DETACH);
                }
            }
        }
        if let Some(work) = &self.overlay_work {
            // `volatile` leaves WORK/work/incompat/volatile and refuses to mount while it
            // is there: removed, the directories can be used again.
            let _ = std::fs::remove_dir_all(work.join("work/incompat"));
        }
        if let Some(v) = &self.veth_host {
            if link_exists(v) {
                let _ = Command::new("ip")
                    .args(["link", "del", v])
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        if let Some(b) = &self.bundle {
            remove_bundle(b);
        }
        if let (true, Some(cp)) = (self.container, &self.cgroups_path) {
            for h in hierarchies() {
                let (dir, base) = h.dir_of(cp);
                let _ = std::fs::remove_dir(&dir);
                if h.contract {
                    continue;
                }
                // Parents the OCI runtime made (mkdir -p) where the caller made none.
                let mut d = dir.parent().map(Path::to_path_buf);
                while let Some(p) = d {
                    if !p.starts_with(&base) || p == base || std::fs::remove_dir(&p).is_err() {
                        break;
                    }
                    d = p.parent().map(Path::to_path_buf);
                }
            }
        }
    }
}

/// Never a recursive removal: the root may still be a mount of `/`.
fn remove_bundle(b: &Path) {
    for f in ["config.json", "runtime.log"] {
        let _ = std::fs::remove_file(b.join(f));
    }
    let _ = std::fs::remove_dir(b.join("root"));
    let _ = std::fs::remove_dir(b);
    // Empty, BUNDLES goes too.
    let _ = std::fs::remove_dir(BUNDLES);
}

fn metacopy_supported() -> bool {
    Path::new("/sys/module/overlay/parameters/metacopy").exists()
}

fn os_err(e: Errno) -> String {
    format!("{} ({e:?})", e.desc())
}

/// The last error the OCI runtime logged (`--log-format json`).
fn logged_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| matches!(v.get("level").and_then(Value::as_str), Some("error" | "fatal")))
        .filter_map(|v| v.get("msg").and_then(Value::as_str).map(String::from))
        .next_back()
}

/// The contract's errors for a name in use, before anything is made.
fn refuse_taken_names(spec: &labkit::spec::RunSpec, cgroups_path: &str, parent: Option<&str>) {
    if let Some(v) = &spec.veth {
        if link_exists(&v.host_if) {
            fail(format!("--veth: host interface {} already exists", v.host_if));
        }
    }
    let Some(name) = &spec.cgroup else { return };
    for h in hierarchies().iter().filter(|h| h.contract) {
        let (dir, _) = h.dir_of(cgroups_path);
        if dir.exists() {
            fail(format!(
                "--cgroup {name}: cgroup {name} already exists at {}",
                dir.display()
            ));
        }
        if parent.is_some() && !dir.parent().is_some_and(Path::is_dir) {
            let p = dir.parent().map(|p| p.display().to_string()).unwrap_or_default();
            fail(format!(
                "--cgroup {name}: the parent cgroup {p} (LAB_CGROUP_PARENT) does not exist"
            ));
        }
    }
}

/// A mount namespace of our own: the root is mounted there, never on the host.
fn private_mounts() {
    labkit::mountinfo::enter_private_namespace().unwrap_or_else(|e| fail(e));
}

/// BUNDLES/ID, made afresh; a stale one (left by a killed adapter whose container
/// the OCI runtime no longer knows) is replaced.
fn make_bundle(id: &str) -> PathBuf {
    let bundle = Path::new(BUNDLES).join(id);
    let mut created = Err(std::io::ErrorKind::NotFound.into());
    // BUNDLES goes when its last bundle does: another adapter may remove it between
    // the two calls.
    for _ in 0..5 {
        let _ = std::fs::create_dir_all(BUNDLES);
        let _ = std::fs::set_permissions(BUNDLES, std::fs::Permissions::from_mode(0o711));
        created = std::fs::create_dir(&bundle);
        if !matches!(&created, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            break;
        }
    }
    if let Err(e) = created {
        let stale = e.kind() == std::io::ErrorKind::AlreadyExists && oci_output(&["state", id]).is_err();
        if stale {
            remove_bundle(&bundle);
            let _ = std::fs::create_dir_all(BUNDLES);
        }
        if !stale || std::fs::create_dir(&bundle).is_err() {
            fail(format!(
                "container {id}: bundle {}: {e} (is a container of that name running?)",
                bundle.display()
            ));
        }
    }
    // Traversable, so that the root of a user namespace reaches the root below.
    let _ = std::fs::set_permissions(&bundle, std::fs::Permissions::from_mode(0o711));
    bundle
}

/// The container's root at `root`: the host's /, a --rootfs or an overlay.
fn mount_root(root: &Path, source: &RootSource) -> Result<(), String> {
    let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    match source {
        RootSource::Host => mount(Some("/"), root, None::<&str>, bind, None::<&str>)
            .map_err(|e| format!("binding / to {}: {}", root.display(), os_err(e))),
        RootSource::Dir(d) => mount(Some(d.as_path()), root, None::<&str>, bind, None::<&str>)
            .map_err(|e| format!("--rootfs {}: {}", d.display(), os_err(e))),
        RootSource::Overlay(opts) => mount(
            Some("overlay"),
            root,
            Some("overlay"),
            MsFlags::empty(),
            Some(opts.as_str()),
        )
        .map_err(|e| format!("--layer: mounting overlay ({opts}): {}", os_err(e))),
    }
}

/// `OCI --log LOG run --bundle BUNDLE --preserve-fds N ID`, with `passed` (from, to)
/// descriptors moved in place in the child; the OCI runtime gets SIGTERM if the
/// adapter dies.
fn oci_command_line(
    oci: &str,
    log: &Path,
    bundle: &Path,
    spec: &labkit::spec::RunSpec,
    id: &str,
    passed: Vec<(RawFd, RawFd)>,
) -> Command {
    let mut cmd = Command::new(oci);
    cmd.arg("--log")
        .arg(log)
        .args(["--log-format", "json", "run", "--bundle"])
        .arg(bundle)
        .args(["--preserve-fds", &config::preserved_fds(spec).to_string(), id]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Out of the way first (a source may sit on a target number), then in place.
            let mut high = [-1; 3];
            for ((from, _), h) in passed.iter().zip(high.iter_mut()) {
                *h = libc::fcntl(*from, libc::F_DUPFD_CLOEXEC, 100);
                if *h < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (h, (_, to)) in high.iter().zip(&passed) {
                if libc::dup2(*h, *to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong);
            Ok(())
        });
    }
    cmd
}

/// The contract's exit status from how `OCI run` ended and whether the container
/// said it started: its command's status, or a runtime error naming why not.
fn exit_status(
    oci: &str,
    started: bool,
    status: std::io::Result<std::process::ExitStatus>,
    error: Option<String>,
) -> i32 {
    let status = status.unwrap_or_else(|e| fail(format!("waiting for `{oci} run`: {e}")));
    let code = status.code().or_else(|| status.signal().map(|s| 128 + s));
    match (started, code) {
        (true, Some(c)) => c,
        (false, Some(c)) if c > 128 && FORWARDED.load(Ordering::SeqCst) == c - 128 => c,
        (false, c) => {
            let why = error.unwrap_or_else(|| {
                format!(
                    "`{oci} run` ended ({}) before the container started",
                    c.map_or("no status".into(), |c| format!("status {c}"))
                )
            });
            fail(format!("{oci} run: {why}"))
        }
        (true, None) => fail(format!("`{oci} run` ended without a status")),
    }
}

/// `run`: a bundle with the root mounted and the config written, then `OCI run`,
/// whose exit status becomes the contract's; everything made is undone (`Made`).
// Long: the lifecycle in order (bundle, root, config, OCI run, status); every undo is in `Made`.
fn run_main(args: &[OsString]) -> i32 {
    let mut spec = config::parse_run(args).unwrap_or_else(|e| fail(e));
    let oci = oci_command();
    let id = spec.cgroup.clone().unwrap_or_else(generated_id);
    let parent = std::env::var(CGROUP_PARENT_ENV).ok();
    let cgroups_path = config::cgroups_path(parent.as_deref(), spec.cgroup.as_deref(), &id);
    let mut made = Made {
        oci: oci.clone(),
        id: id.clone(),
        bundle: None,
        root_mounted: false,
        overlay_work: None,
        veth_host: None,
        container: false,
        cgroups_path: None,
    };
    refuse_taken_names(&spec, &cgroups_path, parent.as_deref());
    let self_exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("finding the adapter binary: {e}")));
    let self_file = File::open(&self_exe).unwrap_or_else(|e| fail(format!("opening {}: {e}", self_exe.display())));
    let caller_mounts = config::rejoins_caller_mounts(&spec)
        .then(|| File::open("/proc/self/ns/mnt").unwrap_or_else(|e| fail(format!("opening /proc/self/ns/mnt: {e}"))));
    let root_source = config::root_source(&spec, metacopy_supported()).unwrap_or_else(|e| fail(e));
    let cgroup_v2 = Tree::read().map(|t| t.version == Version::V2).unwrap_or(false);
    private_mounts();
    let bundle = make_bundle(&id);
    made.bundle = Some(bundle.clone());
    let root = bundle.join("root");
    if let Err(e) = std::fs::create_dir(&root) {
        drop(made);
        fail(format!("creating {}: {e}", root.display()));
    }
    if let Err(e) = mount_root(&root, &root_source) {
        drop(made);
        fail(e);
    }
    made.root_mounted = true;
    if let Some(labkit::spec::RootFs::Overlay { work, .. }) = &spec.root {
        made.overlay_work = Some(work.clone());
    }
    if let Some(p) = &spec.pid_file {
        // The hook runs with another working directory.
        spec.pid_file = Some(std::path::absolute(p).unwrap_or_else(|_| p.clone()));
    }
    let cap_mask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| config::bounding_mask(&s))
        .unwrap_or(u64::MAX);
    let plan = config::Plan {
        root,
        adapter: self_exe,
        cgroups_path: cgroups_path.clone(),
        cgroup_v2,
        cap_mask,
    };
    let cfg = config::config(&spec, &plan);
    if let Err(e) = std::fs::write(
        bundle.join("config.json"),
        serde_json::to_vec_pretty(&cfg).unwrap_or_default(),
    ) {
        drop(made);
        fail(format!("writing {}: {e}", bundle.join("config.json").display()));
    }

    // The container's first process says "started" on this pipe.
    let (started_r, started_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap_or_else(|e| fail(format!("pipe2: {}", os_err(e))));
    let mut passed = vec![
        (self_file.as_raw_fd(), config::SELF_FD),
        (started_w.as_raw_fd(), config::STARTED_FD),
    ];
    if let Some(m) = &caller_mounts {
        passed.push((m.as_raw_fd(), config::MOUNT_NS_FD));
    }
    let log = bundle.join("runtime.log");
    install_forwarding(forward);
    let mut cmd = oci_command_line(&oci, &log, &bundle, &spec, &id, passed);
    made.container = true;
    made.cgroups_path = Some(cgroups_path);
    made.veth_host = spec.veth.as_ref().map(|v| v.host_if.clone());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            made.container = false;
            drop(made);
            fail(format!("starting the OCI runtime `{oci}`: {e}"));
        }
    };
    FORWARD_TO.store(child.id() as i32, Ordering::SeqCst);
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 {
        // SAFETY: plain kill of our child.
        unsafe { libc::kill(child.id() as i32, pending) };
        FORWARDED.store(pending, Ordering::SeqCst);
    }
    drop(started_w);
    drop(self_file);
    drop(caller_mounts);
    let status = child.wait();
    FORWARD_TO.store(0, Ordering::SeqCst);
    let started = {
        let _ = nix::fcntl::fcntl(
            started_r.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        let mut b = [0u8; 1];
        matches!(File::from(started_r).read(&mut b), Ok(1))
    };
    let error = logged_error(&log);
    drop(made);
    exit_status(&oci, started, status, error)
}

// ---------------------------------------------------------------- __init

/// The container's first process: re-enters the caller's mount namespace if told,
/// then executes COMMAND, or (as PID 1) forks it, reaps every child and forwards
/// SIGTERM, SIGINT and SIGHUP to it.
// Long: the container's first process is one linear sequence between the OCI runtime's setup and exec.
fn init_main(args: &[OsString]) -> ! {
    let mut pid1 = false;
    let mut fds: [Option<RawFd>; 3] = [None; 3]; // rejoin, started, self
    let mut i = 0;
    let num = |a: Option<&OsString>| -> RawFd {
        a.and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| fail("__init: bad descriptor"))
    };
    while i < args.len() {
        match args[i].to_str() {
            Some("--pid1") => pid1 = true,
            Some("--rejoin-mnt") => {
                fds[0] = Some(num(args.get(i + 1)));
                i += 1;
            }
            Some("--started") => {
                fds[1] = Some(num(args.get(i + 1)));
                i += 1;
            }
            Some("--self") => {
                fds[2] = Some(num(args.get(i + 1)));
                i += 1;
            }
            Some("--") => {
                i += 1;
                break;
            }
            _ => fail(format!("__init: unexpected argument {:?}", args[i])),
        }
        i += 1;
    }
    let command: Vec<CString> = args[i..]
        .iter()
        .map(|a| CString::new(a.as_encoded_bytes()).unwrap_or_else(|_| fail("COMMAND holds a NUL byte")))
        .collect();
    if command.is_empty() {
        fail("COMMAND: missing");
    }
    if let Some(fd) = fds[0] {
        // SAFETY: the descriptor was passed to us for this.
        let ns = unsafe { OwnedFd::from_raw_fd(fd) };
        if let Err(e) = nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNS) {
            fail(format!("re-entering the caller's mount namespace: {}", os_err(e)));
        }
    }
    if let Some(fd) = fds[2] {
        let _ = nix::unistd::close(fd);
    }
    let _ = std::env::set_current_dir("/");
    let say_started = |fd: Option<RawFd>| {
        if let Some(fd) = fd {
            // SAFETY: write to and close our own descriptor.
            unsafe {
                libc::write(fd, b"S".as_ptr().cast(), 1);
                libc::close(fd);
            }
        }
    };
    if !pid1 {
        say_started(fds[1]);
        exec_command(&command);
    }
    // PID 1: forward signals to the command, reap everything.
    install_forwarding(forward);
    let mut block = nix::sys::signal::SigSet::empty();
    for s in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGHUP,
    ] {
        block.add(s);
    }
    let _ = block.thread_block();
    // The OCI runtime's own threads took the first PIDs of the namespace: the
    // command becomes PID 2 again (ns_last_pid applies to the writer's own PID
    // namespace; failing, it just gets a higher PID).
    let _ = std::fs::write("/proc/sys/kernel/ns_last_pid", "1");
    say_started(fds[1]);
    // SAFETY: this process is single-threaded.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            for sig in FORWARDED_SIGNALS {
                // SAFETY: back to the default disposition before exec.
                unsafe { libc::signal(sig, libc::SIG_DFL) };
            }
            let _ = block.thread_unblock();
            exec_command(&command);
        }
        Ok(ForkResult::Parent { child }) => {
            FORWARD_TO.store(child.as_raw(), Ordering::SeqCst);
            let pending = PENDING.swap(0, Ordering::SeqCst);
            let _ = block.thread_unblock();
            if pending != 0 {
                let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::try_from(pending).ok());
            }
            loop {
                match waitpid(None::<Pid>, None) {
                    Ok(WaitStatus::Exited(p, c)) if p == child => exit(c),
                    Ok(WaitStatus::Signaled(p, s, _)) if p == child => exit(128 + s as i32),
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => fail(format!("init: waitpid: {}", os_err(e))),
                }
            }
        }
        Err(e) => fail(format!("init: fork: {}", os_err(e))),
    }
}

/// Executes COMMAND; on failure the contract's 127 (not found) or 126.
fn exec_command(command: &[CString]) -> ! {
    let e = nix::unistd::execvp(&command[0], command).unwrap_err();
    eprintln!("runtime error: COMMAND {}: {}", command[0].to_string_lossy(), os_err(e));
    exit(labkit::contract::exec_failure_status(e as i32))
}

// ---------------------------------------------------------------- __hook

fn ip(args: &[&str], netns: Option<RawFd>) -> Result<(), String> {
    let mut cmd = Command::new("ip");
    cmd.args(args).stdin(Stdio::null());
    if let Some(fd) = netns {
        // SAFETY: setns is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let out = cmd
        .output()
        .map_err(|e| format!("running ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn setup_veth(pid: i32, v: &labkit::spec::VethSpec) -> Result<(), String> {
    let pid_s = pid.to_string();
    ip(
        &[
            "link", "add", &v.host_if, "type", "veth", "peer", "name", &v.cont_if, "netns", &pid_s,
        ],
        None,
    )?;
    let netns = File::open(format!("/proc/{pid}/ns/net")).map_err(|e| format!("opening /proc/{pid}/ns/net: {e}"))?;
    let (ha, ca) = (v.host_addr.to_string(), v.cont_addr.to_string());
    ip(&["addr", "add", &ha, "dev", &v.host_if], None)?;
    ip(&["link", "set", &v.host_if, "up"], None)?;
    let fd = Some(netns.as_raw_fd());
    ip(&["addr", "add", &ca, "dev", &v.cont_if], fd)?;
    ip(&["link", "set", &v.cont_if, "up"], fd)?;
    ip(&["link", "set", "lo", "up"], fd)
}

/// The `createRuntime` hook: the OCI state on stdin; `--veth` set up, then the pid
/// written to `--pid-file` (a whole line, renamed into place).
fn hook_main(args: &[OsString]) -> i32 {
    let mut pid_file = None;
    let mut veth = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--pid-file") => pid_file = it.next().map(PathBuf::from),
            Some("--veth") => veth = it.next().and_then(|v| v.to_str()).map(String::from),
            _ => {
                eprintln!("oci-runtime hook: unexpected argument {a:?}");
                return 1;
            }
        }
    }
    let mut state = String::new();
    let _ = std::io::stdin().read_to_string(&mut state);
    let Some(pid) = serde_json::from_str::<Value>(&state)
        .ok()
        .and_then(|v| v.get("pid").and_then(Value::as_i64))
    else {
        eprintln!("oci-runtime hook: no pid in the state on stdin: {state:?}");
        return 1;
    };
    if let Some(v) = veth {
        let spec: labkit::spec::VethSpec = match v.parse() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("--veth: {e}");
                return 1;
            }
        };
        if let Err(e) = setup_veth(pid as i32, &spec) {
            eprintln!("--veth: {e}");
            return 1;
        }
    }
    if let Some(p) = pid_file {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = p.with_file_name(format!(".{name}.{}", std::process::id()));
        let r = std::fs::write(&tmp, format!("{pid}\n")).and_then(|_| std::fs::rename(&tmp, &p));
        if let Err(e) = r {
            let _ = std::fs::remove_file(&tmp);
            eprintln!("--pid-file {}: {e}", p.display());
            return 1;
        }
    }
    0
}

// ---------------------------------------------------------------- pause, resume, stats

fn oci_output(args: &[&str]) -> Result<String, String> {
    let oci = oci_command();
    let out = Command::new(&oci)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running `{oci} {}`: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or("no message")
            .to_string();
        // runc logs as `time=... level=error msg="..."`: keep the message.
        let msg = line
            .split_once("msg=")
            .map(|(_, m)| m.trim_matches('"').to_string())
            .unwrap_or(line);
        Err(format!("`{oci} {}`: {msg}", args.join(" ")))
    }
}

/// `RUNTIME state NAME` (status, pid), or the contract's "no such" error.
fn state(verb: &str, name: &str) -> Value {
    match oci_output(&["state", name]) {
        Ok(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| fail(format!("{verb} {name}: the state of {name} is not JSON: {e}"))),
        Err(e) => fail(format!("{verb} {name}: no such container ({e})")),
    }
}

fn pause_resume(verb: &str, name: &str) -> i32 {
    let st = state(verb, name);
    let status = st.get("status").and_then(Value::as_str).unwrap_or("");
    // Pausing a frozen container, or resuming a thawed one, succeeds.
    if (verb == "pause" && status == "paused") || (verb == "resume" && status == "running") {
        return 0;
    }
    match oci_output(&[verb, name]) {
        Ok(_) => 0,
        Err(e) => fail(format!("{verb} {name}: {e}")),
    }
}

fn stats_main(name: &str) -> i32 {
    let st = state("stats", name);
    let pid = st.get("pid").and_then(Value::as_i64).unwrap_or(0);
    // A runtime without `events --stats` (crun has none) leaves every figure to the
    // cgroup files of the container's first process.
    let data = match oci_output(&["events", "--stats", name]) {
        Ok(events) => events
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v.get("type").and_then(Value::as_str) == Some("stats"))
            .and_then(|v| v.get("data").cloned())
            .unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    if pid <= 0 && data.is_null() {
        fail(format!(
            "stats {name}: neither `events --stats` nor a pid in the state of {name}"
        ));
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let tree = Tree::from_text(&mountinfo, &cgroup).ok();
    let v2 = tree.as_ref().is_some_and(|t| t.version == Version::V2);
    let file = |key: &str| -> Option<u64> {
        let (ctrl, file, field, scale) = stats::file_source(key, v2)?;
        let dir = tree.as_ref()?.own.get(ctrl)?;
        let text = std::fs::read_to_string(dir.join(file)).ok()?;
        stats::parse_file_value(&text, field).map(|v| v / scale)
    };
    println!("{}", stats::contract_stats(name, v2, &data, &file));
    0
}
