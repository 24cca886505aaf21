//! `harness vm` (this crate's `harness-vm`, which `harness vm` runs): runs the checks (or the grader, or any of the workspace's binaries)
//! inside a Linux VM under qemu, with cgroup v2 or v1 mounted as asked, and brings
//! the output, the exit status and the result files back to the host.
//!
//! The VM boots a kernel (by default the distribution's `linux-image-cloud-amd64`,
//! fetched with `apt-get download` into a cache under target/ and unpacked with
//! `dpkg-deb -x`; nothing is installed on the host) with an initramfs written here
//! as a newc cpio: the static workspace binaries, busybox-static for the simple
//! tools, the host's own binaries (with the libraries `ldd` names) where busybox
//! lacks an option the checks use, the kernel modules the checks need, and
//! `vm/init.sh` as PID 1. No root is needed on the host: the initramfs holds its one
//! device node (`/dev/console`) as an archive entry, and the VM mounts devtmpfs.
//!
//! The command's output comes back over the second serial port, between markers
//! carrying a nonce of this run (`@@LAB-BEGIN n@@`, `@@LAB-END n rc=N@@`), followed
//! by the files it left in its working directory (base64). The kernel's console is
//! the first serial port, kept in `<cache>/console.log`; the init also writes a
//! heartbeat there, so a VM that stops answering is told from a slow one. KVM is used
//! only once a boot under it has reached the init ([`accel`]): any other end of a KVM
//! start falls back to TCG, saying why, and the verdict is remembered for the host.
//! A VM that cannot run at all is an environment problem (exit [`EXIT_VM`]), never a
//! check result. A host-side time limit kills qemu.
//!
//! Single-threaded like the rest of this binary: qemu is polled, not waited for.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

/// PID 1 of the VM.
pub const INIT_SCRIPT: &str = include_str!("init.sh");

/// A KVM boot that has not reached the init by then is taken for a hung KVM (it
/// takes about a second where KVM works).
pub const KVM_BOOT_SECS: u64 = 10;
/// Under TCG the init is reached in a few seconds; this much means the boot failed.
pub const TCG_BOOT_SECS: u64 = 120;
/// The init writes a heartbeat to the console every [`HEARTBEAT_SECS`]; a booted VM
/// that writes nothing (console or results) for this long has stopped: under KVM,
/// which has been seen to hang a guest, a few missed beats are enough ...
pub const KVM_STALL_SECS: u64 = 30;
/// ... under TCG a loaded host can delay the beat, so it takes much longer.
pub const TCG_STALL_SECS: u64 = 180;
/// How often the init says it is alive (vm/init.sh, `lab-vm: alive`).
pub const HEARTBEAT_SECS: u64 = 5;
/// The heartbeat line, left out of the console tails shown.
const HEARTBEAT_LINE: &str = "lab-vm: alive";

/// Exit status when the VM could not be built, booted or did not report.
pub const EXIT_VM: i32 = 2;
/// Exit status when the host-side time limit ended the VM (as timeout(1)).
pub const EXIT_TIMEOUT: i32 = 124;

/// The workspace binaries the initramfs holds (/lab/bin).
/// (`oci-runtime` is the adapter for `LAB_RUNTIME=oci:NAME`.)
pub const LAB_BINARIES: [&str; 5] = ["harness", "probe", "labcheck", "grade", "oci-runtime"];

/// Tools the checks (or the runtime) call that are taken from the host with their
/// shared libraries, each with the reason busybox's applet will not do. Busybox's
/// applets of these names are left out, so a tool missing on the host is missing in
/// the VM too and the checks that need it skip saying so.
pub const HOST_TOOLS: [(&str, &str); 9] = [
    (
        "sh",
        "busybox sh runs its own applets before PATH (FEATURE_SH_STANDALONE): a script's unshare would be busybox's",
    ),
    ("nsenter", "busybox nsenter has no -C (cgroup namespace)"),
    ("unshare", "busybox unshare has no --fork"),
    (
        "setpriv",
        "busybox setpriv has no --pdeathsig, --reuid or --clear-groups (the shell starter's)",
    ),
    ("losetup", "busybox losetup has no --find --show --direct-io"),
    ("ip", "busybox ip cannot add a veth pair"),
    ("nft", "not in busybox"),
    ("ldd", "not in busybox (harness rootfs calls it)"),
    ("bash", "ldd is a bash script"),
];

/// Modules the checks need; built-in ones are skipped. `zram` is the VM's swap
/// (init.sh), with `lzo-rle`, its default compressor (a soft dependency, which
/// modinfo's `depends` does not list); `bfq` the I/O scheduler that honours io
/// weights.
pub const MODULES: [&str; 8] = [
    "overlay",
    "loop",
    "veth",
    "nf_tables",
    "dummy",
    "lzo-rle",
    "zram",
    "bfq",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CgroupMode {
    /// Pure cgroup2 at /sys/fs/cgroup, every controller enabled for children.
    V2,
    /// Every controller on its own v1 hierarchy under /sys/fs/cgroup.
    V1,
    /// cgroup v2 under systemd as PID 1 (the distribution's, fetched like the kernel),
    /// the command in an ordinary non-delegated service (runner.service), as a job
    /// runs on a GitHub-hosted runner.
    Systemd,
}

impl CgroupMode {
    pub fn name(self) -> &'static str {
        match self {
            CgroupMode::V2 => "v2",
            CgroupMode::V1 => "v1",
            CgroupMode::Systemd => "systemd",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Accel {
    /// KVM when it works (found by trying), TCG otherwise.
    Auto,
    Kvm,
    Tcg,
}

#[derive(Debug, Args)]
pub struct VmArgs {
    /// cgroup mode inside the VM.
    #[arg(long, value_enum, default_value = "v2")]
    pub cgroup: CgroupMode,
    /// A kernel image (bzImage) instead of the distribution's cloud kernel.
    #[arg(long, value_name = "BZIMAGE")]
    pub kernel: Option<PathBuf>,
    /// The kernel's modules directory (lib/modules/VERSION); default for --kernel:
    /// /lib/modules/VERSION when it exists, else none (the features must be built in).
    #[arg(long, value_name = "DIR")]
    pub modules: Option<PathBuf>,
    /// Distribution package whose kernel is booted by default (a metapackage is followed).
    #[arg(long, value_name = "PACKAGE", default_value = "linux-image-cloud-amd64")]
    pub kernel_package: String,
    /// auto: KVM once a boot under it has reached the init (remembered for this host),
    /// else TCG; kvm: KVM or fail saying why; tcg: never touches /dev/kvm.
    #[arg(long, value_enum, default_value = "auto")]
    pub accel: Accel,
    /// The KVM device looked at by --accel auto (tests point it elsewhere).
    #[arg(long, value_name = "PATH", default_value = "/dev/kvm", hide = true)]
    pub kvm_device: PathBuf,
    /// Seconds without a sign from a booted VM under KVM before it counts as stopped
    /// (tests shorten it).
    #[arg(long, value_name = "SECS", default_value_t = KVM_STALL_SECS, hide = true)]
    pub kvm_stall_secs: u64,
    /// Seconds the whole VM run may take before qemu is killed.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub timeout: u64,
    /// Memory of the VM in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub memory: u64,
    /// Virtual CPUs.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub cpus: u32,
    /// Cache directory (kernel, initramfs, console log); default target/vm.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Where files the command wrote to its working directory are put.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// A variable for the command (repeatable). LANG, LC_ALL, RUST_BACKTRACE,
    /// HARNESS_TEST_FAULT and LAB_RUNTIME are passed on anyway; a LAB_RUNTIME that is a
    /// file, or `oci:` and a file or a program on PATH (oci:crun), is copied into the VM
    /// with its libraries.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The statically linked busybox to install.
    #[arg(long, value_name = "PATH")]
    pub busybox: Option<PathBuf>,
    #[arg(long, value_name = "PATH", default_value = "qemu-system-x86_64")]
    pub qemu: PathBuf,
    /// Copy the kernel's console to stderr as it comes.
    #[arg(long)]
    pub console: bool,
    /// The command, one of the workspace's binaries with its arguments (default: labcheck).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug)]
pub struct VmError(pub String);

impl std::fmt::Display for VmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, VmError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(VmError(msg.into()))
}

fn io_err(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> VmError {
    move |e| VmError(format!("{what}: {e}"))
}

fn say(msg: impl std::fmt::Display) {
    eprintln!("vm: {msg}");
}

mod console;
mod cpio;
mod kernel;
mod payload;
mod qemu;

pub use console::*;
pub use cpio::*;
pub use kernel::*;
pub use payload::*;
pub use qemu::*;

mod accel;
pub use accel::{qemu_failure, AccelKind, Known, Plan, Store, Verdict};

pub(crate) fn console_tail(path: &Path, lines: usize) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).replace('\r', "");
    let all: Vec<&str> = text.lines().filter(|l| l.trim() != HEARTBEAT_LINE).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// target/vm, found from the running binary (target/<triple>/<profile>/harness).
pub(crate) fn default_cache() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|a| a.file_name().map(|n| n == "target").unwrap_or(false))
        .map(|t| t.join("vm"))
        .unwrap_or_else(|| std::env::temp_dir().join("harness-vm"))
}

pub(crate) fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{:x}{:x}",
        t.as_nanos() as u64 ^ u64::from(std::process::id()) << 40,
        std::process::id()
    )
}

pub(crate) type Env = Vec<(String, String)>;

/// Variables passed on to the command, and the runtime file to copy in.
pub(crate) fn command_env(args: &VmArgs) -> Result<(Env, Option<PathBuf>)> {
    let mut env = Vec::new();
    let mut runtime = None;
    for k in ["LANG", "LC_ALL", "LC_MESSAGES", "RUST_BACKTRACE", "HARNESS_TEST_FAULT"] {
        if let Ok(v) = std::env::var(k) {
            env.push((k.to_string(), v));
        }
    }
    let mut explicit: Vec<(String, String)> = Vec::new();
    for kv in &args.env {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                explicit.push((k.to_string(), v.to_string()))
            }
            _ => return err(format!("--env {kv}: expected KEY=VALUE")),
        }
    }
    let lab_runtime = explicit
        .iter()
        .rev()
        .find(|(k, _)| k == "LAB_RUNTIME")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("LAB_RUNTIME").ok());
    explicit.retain(|(k, _)| k != "LAB_RUNTIME");
    if let Some(v) = lab_runtime.filter(|v| !v.is_empty()) {
        // A file (or `oci:` and a file or a program on PATH) is copied in.
        let (prefix, target) = match v.strip_prefix("oci:") {
            Some(t) => ("oci:", t),
            None => ("", v.as_str()),
        };
        let file = if target.contains('/') {
            Some(PathBuf::from(target))
        } else if prefix.is_empty() {
            None
        } else {
            which(target)
        };
        match file.filter(|f| f.is_file() && v != "reference") {
            Some(f) => {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "runtime".into());
                env.push(("LAB_RUNTIME".into(), format!("{prefix}/lab/runtime/{name}")));
                runtime = Some(f);
            }
            None => env.push(("LAB_RUNTIME".into(), v)),
        }
    }
    env.retain(|(k, _)| !explicit.iter().any(|(e, _)| e == k));
    env.extend(explicit);
    Ok((env, runtime))
}

/// The programs `oci:NAME` in the command's `--table` list names (a path is left alone).
pub(crate) fn table_runtimes(command: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    let mut it = command.iter();
    while let Some(a) = it.next() {
        let list = match a.strip_prefix("--table=") {
            Some(l) => Some(l.to_string()),
            None if a == "--table" => it.next().cloned(),
            None => None,
        };
        for item in list.iter().flat_map(|l| l.split(',')) {
            if let Some(n) = item.trim().strip_prefix("oci:") {
                if !n.is_empty() && !n.contains('/') && !names.iter().any(|x| x == n) {
                    names.push(n.to_string());
                }
            }
        }
    }
    names
}

/// The inputs, the workspace binaries (name, stripped copy) and notes for the log.
pub(crate) type Gathered = (Inputs, Vec<(String, PathBuf)>, Vec<String>);

// Long: one input of the VM after another.
pub(crate) fn gather(args: &VmArgs, cache: &Path, kernel: &Kernel, stage: &Path) -> Result<Gathered> {
    let mut notes = Vec::new();
    let bin_dir = labkit::rootfs::probe_path()
        .map_err(|e| VmError(e.to_string()))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut binaries = Vec::new();
    for b in LAB_BINARIES {
        let p = bin_dir.join(b);
        if p.is_file() {
            binaries.push((b.to_string(), stripped(&p, stage)));
        } else if b == "harness" || b == "probe" || args.command.first().map(|c| c == b).unwrap_or(b == "labcheck") {
            return err(format!(
                "{} is not built: run `cargo build --workspace --bins`",
                p.display()
            ));
        }
    }
    let busybox = match &args.busybox {
        Some(p) => p.clone(),
        None => which("busybox")
            .ok_or_else(|| VmError("busybox is not installed: apt-get install busybox-static".into()))?,
    };
    if !labkit::rootfs::shared_libraries(&busybox)
        .map_err(|e| VmError(e.to_string()))?
        .is_empty()
    {
        return err(format!(
            "{} is linked dynamically: apt-get install busybox-static (or pass --busybox)",
            busybox.display()
        ));
    }
    let list = run_tool(Command::new(&busybox).arg("--list"), "busybox --list")?;
    let applets: Vec<String> = String::from_utf8_lossy(&list)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    let mut host_tools = Vec::new();
    for (name, why) in HOST_TOOLS {
        match which(name) {
            Some(p) => host_tools.push((name.to_string(), p)),
            None => notes.push(format!(
                "{name} is not on this host ({why}): the checks that need it will skip"
            )),
        }
    }
    // The OCI runtimes of a `labcheck --table` go in as host tools: inside, `oci:runc`
    // names the same program, so the table's columns read as they do on the host.
    for name in table_runtimes(&args.command) {
        if host_tools.iter().any(|(n, _)| *n == name) {
            continue;
        }
        match which(&name) {
            Some(p) => host_tools.push((name, p)),
            None => notes.push(format!(
                "{name} is not on this host: its column of the table will say it is not installed"
            )),
        }
    }
    let mut modules = Vec::new();
    match &kernel.modules {
        Some(dir) => {
            let (index, builtin) = index_modules(dir);
            let (order, missing) = resolve_modules(&index, &builtin, &MODULES, &mut |p| read_module(p))?;
            for m in missing {
                notes.push(format!(
                    "module {m} not found in {}: it must be built into the kernel",
                    dir.display()
                ));
            }
            modules = order;
        }
        None => notes.push(format!(
            "no modules directory for this kernel: {} must be built in",
            MODULES.join(", ")
        )),
    }
    let (_, runtime) = command_env(args)?;
    let systemd = match args.cgroup {
        CgroupMode::Systemd => Some(debian_systemd(cache)?),
        _ => None,
    };
    Ok((
        Inputs {
            bin_dir,
            busybox,
            applets,
            host_tools,
            modules,
            runtime,
            systemd,
        },
        binaries,
        notes,
    ))
}

/// `harness vm`: returns the exit status (the command's own, or [`EXIT_VM`], [`EXIT_TIMEOUT`]).
pub fn main(args: &VmArgs) -> i32 {
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            say(format!(
                "cannot run the VM: {e} (an environment problem, not a check result)"
            ));
            EXIT_VM
        }
    }
}

pub(crate) fn run(args: &VmArgs) -> Result<i32> {
    let t0 = Instant::now();
    let cache = args.cache.clone().unwrap_or_else(default_cache);
    std::fs::create_dir_all(&cache).map_err(io_err(cache.display()))?;
    let kernel = chosen_kernel(args, &cache)?;
    // Files of this run in a directory of its own (runs may go on side by side); the
    // console log is kept as <cache>/console.log afterwards.
    remove_stale_runs(&cache);
    let work = cache.join(format!("run-{}", std::process::id()));
    let stage = work.join("stage");
    std::fs::create_dir_all(&stage).map_err(io_err(stage.display()))?;
    let r = run_in(args, &cache, &work, &kernel, t0);
    let console = work.join("console.log");
    if console.exists() {
        let _ = std::fs::rename(&console, cache.join("console.log"));
    }
    let _ = std::fs::remove_dir_all(&work);
    r
}

/// Removes the run directories of harness processes that are gone.
pub(crate) fn remove_stale_runs(cache: &Path) {
    let Ok(rd) = std::fs::read_dir(cache) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("run-").and_then(|p| p.parse::<u32>().ok()) {
            if !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// The initramfs written to WORK/initramfs.cpio; its path and size.
fn write_initramfs(fs: &Initramfs, work: &Path) -> Result<(PathBuf, u64)> {
    let initrd = work.join("initramfs.cpio");
    let f = std::fs::File::create(&initrd).map_err(io_err(initrd.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let n = fs.write(&mut w)?;
    w.flush().map_err(io_err(initrd.display()))?;
    Ok((initrd, n))
}

/// How long a boot and a silence may last under `accel`, said once.
fn limits_for(accel: AccelKind, args: &VmArgs, proving: bool) -> Limits {
    match accel {
        AccelKind::Kvm => {
            say(if proving {
                format!("accelerator: KVM, to be proven: the VM must reach its init within {KVM_BOOT_SECS} s")
            } else {
                "accelerator: KVM (proven on this host)".to_string()
            });
            Limits {
                boot: Duration::from_secs(KVM_BOOT_SECS),
                stall: Duration::from_secs(args.kvm_stall_secs),
            }
        }
        AccelKind::Tcg => {
            say(if args.accel == Accel::Tcg {
                "accelerator: TCG (--accel tcg)"
            } else {
                "accelerator: TCG"
            });
            Limits {
                boot: Duration::from_secs(TCG_BOOT_SECS),
                stall: Duration::from_secs(TCG_STALL_SECS),
            }
        }
    }
}

/// Why a run under KVM shows KVM unusable here, if it does.
fn kvm_failure(ran: &Ran, limits: &Limits) -> Option<String> {
    match &ran.outcome {
        Outcome::NoBoot => Some(format!(
            "the VM did not reach its init within {KVM_BOOT_SECS} s under KVM"
        )),
        Outcome::Stalled => Some(format!(
            "the VM stopped answering for {} s under KVM",
            limits.stall.as_secs()
        )),
        Outcome::Died(why) => Some(why.clone()),
        Outcome::TimedOut | Outcome::Finished { .. } => None,
    }
}

/// Keeps what a KVM run proved (or disproved) for the next run on this host.
fn keep_verdict(store: Option<&Store>, failure: Option<&String>, ran: &Ran, proving: bool) {
    let verdict = match (failure, ran.booted) {
        (Some(why), _) => Some((false, why.clone())),
        (None, Some(b)) if proving => Some((
            true,
            format!("a VM reached its init under KVM in {:.1} s", b.as_secs_f64()),
        )),
        _ => None,
    };
    if let (Some((kvm, why)), Some(s)) = (verdict, store) {
        if let Err(e) = s.save(kvm, &why) {
            say(format!(
                "the accelerator verdict was not kept ({e}): the next run proves it again"
            ));
        }
    }
}

/// The end of a run that was not abandoned: the command's files written and its
/// status, or what kept it from ending (an environment problem, not a check result).
fn conclude(
    ran: Ran,
    limits: &Limits,
    args: &VmArgs,
    command: &str,
    t0: Instant,
    boot: &Boot,
    console_log: &Path,
) -> Result<i32> {
    let env_problem = "an environment problem, not a check result";
    let (what, code) = match ran.outcome {
        Outcome::NoBoot => (
            format!(
                "the VM did not reach its init within {} s ({env_problem})",
                limits.boot.as_secs()
            ),
            EXIT_VM,
        ),
        Outcome::Stalled => (
            format!(
                "the VM stopped answering: nothing from it for {} s ({env_problem})",
                limits.stall.as_secs()
            ),
            EXIT_VM,
        ),
        Outcome::TimedOut => (
            format!("time limit of {} s reached: qemu killed", args.timeout),
            EXIT_TIMEOUT,
        ),
        Outcome::Died(why) => (format!("the VM could not run: {why} ({env_problem})"), EXIT_VM),
        Outcome::Finished { rc, files, complete } => {
            std::fs::create_dir_all(&args.out).map_err(io_err(args.out.display()))?;
            for (name, data) in files {
                if !safe_name(&name) {
                    say(format!("the VM sent a file named {name:?}: not written"));
                    continue;
                }
                let p = args.out.join(&name);
                std::fs::write(&p, data).map_err(io_err(p.display()))?;
                say(format!("wrote {}", p.display()));
            }
            if !complete {
                say("the VM stopped before all its files were sent");
            }
            say(format!(
                "{command} exited {rc}; VM {:.1} s, all {:.1} s",
                ran.took.as_secs_f64(),
                t0.elapsed().as_secs_f64()
            ));
            return Ok(rc);
        }
    };
    say(format!(
        "{what}; console ({}):\n{}",
        console_log.display(),
        console_tail(&boot.console, 30)
    ));
    Ok(code)
}

// Long: the run in order: initramfs, accelerator plan, each boot and its verdict.
pub(crate) fn run_in(args: &VmArgs, cache: &Path, work: &Path, kernel: &Kernel, t0: Instant) -> Result<i32> {
    let deadline = t0 + Duration::from_secs(args.timeout);
    let stage = work.join("stage");
    let (inputs, binaries, notes) = gather(args, cache, kernel, &stage)?;
    for n in &notes {
        say(n);
    }
    let (env, _) = command_env(args)?;
    let command = if args.command.is_empty() {
        vec!["labcheck".to_string()]
    } else {
        args.command.clone()
    };
    let run = RunConfig {
        nonce: nonce(),
        cgroup: args.cgroup,
        env,
        command,
    };
    let (initrd, size) = write_initramfs(&plan_initramfs(&inputs, &run, &binaries)?, work)?;
    let _ = std::fs::remove_dir_all(&stage);
    let mut store = None;
    let plan = accel::plan(args.accel, || {
        if let Err(why) = accel::device_opens(&args.kvm_device) {
            return Known::NoDevice(why);
        }
        let s = Store::new(cache, accel::key(&args.qemu, kernel.version.as_deref(), &kernel.image));
        let known = s.load().map(Known::Cached).unwrap_or(Known::Unproven);
        store = Some(s);
        known
    });
    let modules: Vec<&str> = inputs.modules.iter().map(|(n, _)| n.as_str()).collect();
    say(format!(
        "kernel {} ({}), cgroup {}, {} CPUs, {} MiB, initramfs {:.1} MiB, modules: {}",
        kernel.version.as_deref().unwrap_or("?"),
        kernel.origin,
        args.cgroup.name(),
        args.cpus,
        args.memory,
        size as f64 / (1 << 20) as f64,
        if modules.is_empty() {
            "none".to_string()
        } else {
            modules.join(" ")
        },
    ));
    if let Some(why) = &plan.why_not_kvm {
        say(format!("KVM unusable here ({why}), using TCG"));
    }
    let boot = Boot {
        args,
        kernel: &kernel.image,
        initrd: &initrd,
        console: work.join("console.log"),
        results: work.join("results.log"),
        nonce: &run.nonce,
    };
    let console_log = cache.join("console.log");
    for (i, accel) in plan.tries.iter().enumerate() {
        let fallback = i + 1 < plan.tries.len();
        let limits = limits_for(*accel, args, plan.proving);
        let ran = boot.run(*accel, &limits, deadline)?;
        if *accel == AccelKind::Kvm {
            let failure = kvm_failure(&ran, &limits);
            keep_verdict(store.as_ref(), failure.as_ref(), &ran, plan.proving);
            if let Some(why) = failure {
                let kvm_console = cache.join("console-kvm.log");
                let _ = std::fs::copy(&boot.console, &kvm_console);
                if fallback {
                    say(format!("KVM unusable here ({why}), using TCG"));
                    if ran.output_began {
                        say("the output above came from the abandoned KVM run: the command starts over under TCG");
                    }
                    continue;
                }
                say(format!(
                    "KVM unusable here ({why}); console ({}):\n{}",
                    kvm_console.display(),
                    console_tail(&boot.console, 30)
                ));
                return Ok(EXIT_VM);
            }
        }
        return conclude(ran, &limits, args, &run.command[0], t0, &boot, &console_log);
    }
    Ok(EXIT_VM)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a newc archive back: (name, mode, rdev major, rdev minor, data).
    fn read_cpio(mut b: &[u8]) -> Vec<(String, u32, u32, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut off = 0usize;
        loop {
            assert_eq!(&b[..6], b"070701", "magic at {off}");
            let f =
                |i: usize| u32::from_str_radix(std::str::from_utf8(&b[6 + i * 8..14 + i * 8]).unwrap(), 16).unwrap();
            let (mode, size, rmaj, rmin, namesize) = (f(1), f(6) as usize, f(9), f(10), f(11) as usize);
            let name = std::str::from_utf8(&b[110..110 + namesize - 1]).unwrap().to_string();
            assert_eq!(b[110 + namesize - 1], 0);
            let data_at = (110 + namesize + 3) & !3;
            let data = b[data_at..data_at + size].to_vec();
            let next = (data_at + size + 3) & !3;
            assert_eq!((off + data_at) % 4, 0);
            off += next;
            b = &b[next..];
            if name == "TRAILER!!!" {
                assert!(b.is_empty());
                return out;
            }
            out.push((name, mode, rmaj, rmin, data));
        }
    }

    #[test]
    fn table_runtimes_are_the_oci_programs_of_the_table() {
        let cmd = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            table_runtimes(&cmd(&[
                "labcheck",
                "--table",
                "reference,oci:runc,oci:crun,oci:/x/youki"
            ])),
            ["runc", "crun"]
        );
        assert_eq!(
            table_runtimes(&cmd(&["labcheck", "--table=oci:runc,oci:runc"])),
            ["runc"]
        );
        assert!(table_runtimes(&cmd(&["labcheck", "oci:runc"])).is_empty());
    }

    #[test]
    fn cpio_entries_are_newc_aligned_with_parents_first() {
        let mut fs = Initramfs::default();
        fs.text("a/b/file", "hello", 0o644);
        fs.text("a-x", "dash", 0o755);
        fs.symlink("bin/sh", "busybox");
        fs.add("dev/console", Node::CharDev(5, 1));
        let mut buf = Vec::new();
        let n = fs.write(&mut buf).unwrap();
        assert_eq!(n as usize, buf.len());
        assert_eq!(buf.len() % 4, 0);
        let e = read_cpio(&buf);
        let names: Vec<&str> = e.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names,
            ["a", "a/b", "a/b/file", "a-x", "bin", "bin/sh", "dev", "dev/console"]
        );
        let get = |n: &str| e.iter().find(|x| x.0 == n).unwrap();
        assert_eq!(get("a/b/file").1, 0o100644);
        assert_eq!(get("a/b/file").4, b"hello");
        assert_eq!(get("a-x").1, 0o100755);
        assert_eq!(get("a").1, 0o040755);
        assert_eq!(
            (get("bin/sh").1, get("bin/sh").4.as_slice()),
            (0o120777, b"busybox".as_slice())
        );
        assert_eq!(
            (get("dev/console").1, get("dev/console").2, get("dev/console").3),
            (0o020600, 5, 1)
        );
    }

    #[test]
    fn cpio_is_read_by_the_cpio_tool_when_installed() {
        if which("cpio").is_none() {
            return;
        }
        let mut fs = Initramfs::default();
        fs.text("x/y", "1", 0o644);
        let mut buf = Vec::new();
        fs.write(&mut buf).unwrap();
        let mut child = Command::new("cpio")
            .arg("-it")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&buf).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "x\nx/y\n");
    }

    fn inputs() -> Inputs {
        Inputs {
            bin_dir: "/t".into(),
            busybox: "/bin/busybox".into(),
            applets: ["sh", "mount", "ip", "nsenter", "chroot", "cp"]
                .map(String::from)
                .to_vec(),
            host_tools: vec![("nsenter".into(), "/bin/true".into())],
            modules: vec![
                ("nfnetlink".into(), b"m1".to_vec()),
                ("nf_tables".into(), b"m2".to_vec()),
            ],
            runtime: None,
            systemd: None,
        }
    }

    #[test]
    fn initramfs_holds_init_tools_binaries_and_modules_in_order() {
        let run = RunConfig {
            nonce: "n1".into(),
            cgroup: CgroupMode::V1,
            env: vec![("LANG".into(), "ko".into())],
            command: vec!["grade".into(), "--topic".into(), "it's".into()],
        };
        let fs = plan_initramfs(&inputs(), &run, &[("labcheck".into(), "/t/labcheck".into())]).unwrap();
        for p in [
            "init",
            "lab/init",
            "dev/console",
            "newroot",
            "bin/busybox",
            "bin/mount",
            "bin/chroot",
            "bin/cp",
            "usr/bin/nsenter",
            "lab/bin/labcheck",
            "lab/out",
        ] {
            assert!(fs.has(p), "{p} missing");
        }
        // busybox's ip and nsenter are not installed: the host's or none.
        assert!(!fs.has("bin/ip"));
        assert_eq!(fs.entries["bin/nsenter"], Node::Symlink("/usr/bin/nsenter".into()));
        // /bin/true's libraries came along (ldd).
        assert!(
            fs.entries.keys().any(|k| k.contains("libc.so")),
            "{:?}",
            fs.entries.keys().collect::<Vec<_>>()
        );
        let text = |p: &str| match &fs.entries[p] {
            Node::File {
                src: Source::Bytes(b), ..
            } => String::from_utf8(b.clone()).unwrap(),
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(text("lab/modules/order"), "nfnetlink.ko\nnf_tables.ko\n");
        assert_eq!(text("lab/run.conf"), "LAB_NONCE=n1\nLAB_CGROUP=v1\nLAB_HEARTBEAT=5\n");
        assert!(text("lab/command.sh").ends_with("export LANG='ko'\nexec 'grade' '--topic' 'it'\\''s'\n"));
        assert_eq!(text("init"), INIT_SCRIPT);
    }

    #[test]
    fn quoting_survives_the_shell() {
        let word = "a b'c\"$HOME`x`\\";
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote(word)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), word);
    }

    #[test]
    fn results_are_parsed_between_markers_of_this_run_only() {
        let mut p = ResultParser::new("abc");
        let mut ev = p.feed(b"junk\r\n@@LAB-BOOT abc@@\r\n@@LAB-BEGIN other@@\n@@LAB-BEGIN abc@@\nline 1\r\n@@LAB-END other rc=0@@\nlast");
        ev.extend(p.feed(b" part@@LAB-END abc rc=3@@\n@@LAB-FILE abc r.xml@@\naGVs\nbG8=\n@@LAB-FILE-END abc@@\n"));
        ev.extend(p.feed(b"@@LAB-FILE abc bad@@\n!!\n@@LAB-FILE-END abc@@\n@@LAB-DONE abc@@\n"));
        assert_eq!(
            ev,
            vec![
                Event::Boot,
                Event::Line(b"line 1".to_vec()),
                Event::Line(b"@@LAB-END other rc=0@@".to_vec()),
                Event::Line(b"last part".to_vec()),
                Event::End(3),
                Event::File {
                    name: "r.xml".into(),
                    data: b"hello".to_vec()
                },
                Event::BadFile("bad".into()),
                Event::Done,
            ]
        );
    }

    #[test]
    fn a_cut_stream_has_no_end() {
        let mut p = ResultParser::new("n");
        let mut ev = p.feed(b"@@LAB-BOOT n@@\n@@LAB-BEGIN n@@\npartial");
        assert!(p.in_output());
        ev.extend(p.finish());
        assert_eq!(ev, vec![Event::Boot, Event::Line(b"partial".to_vec())]);
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_decode(b"").unwrap(), b"");
        assert_eq!(base64_decode(b"Zg==").unwrap(), b"f");
        assert_eq!(base64_decode(b"Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode(b"Zm9v\nYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode(b"/+8=").unwrap(), [0xff, 0xef]);
        assert!(base64_decode(b"Zm9").is_none());
        assert!(base64_decode(b"Zg==Zg==").is_none());
        assert!(base64_decode(b"Z!==").is_none());
    }

    #[test]
    fn only_plain_file_names_are_written() {
        assert!(safe_name("junit.xml"));
        for bad in ["", ".", "..", "../x", "/etc/passwd", "a/b"] {
            assert!(!safe_name(bad), "{bad}");
        }
    }

    /// A minimal ELF64 with a .modinfo section.
    fn elf_with_modinfo(modinfo: &[u8]) -> Vec<u8> {
        let shstr = b"\0.shstrtab\0.modinfo\0";
        let mut f = vec![0u8; 64];
        f[..5].copy_from_slice(b"\x7fELF\x02");
        let modinfo_off = f.len();
        f.extend_from_slice(modinfo);
        let shstr_off = f.len();
        f.extend_from_slice(shstr);
        let shoff = f.len();
        let sh = |name: u32, off: usize, size: usize| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[0x18..0x20].copy_from_slice(&(off as u64).to_le_bytes());
            h[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
            h
        };
        let headers = [
            sh(0, 0, 0),
            sh(1, shstr_off, shstr.len()),
            sh(11, modinfo_off, modinfo.len()),
        ]
        .concat();
        f.extend_from_slice(&headers);
        f[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        f[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        f[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
        f
    }

    #[test]
    fn modinfo_depends_are_read_from_the_elf_section() {
        let ko = elf_with_modinfo(b"license=GPL\0depends=nfnetlink,libcrc32c\0name=nf_tables\0");
        assert_eq!(modinfo_depends(&ko), vec!["nfnetlink", "libcrc32c"]);
        assert!(modinfo_depends(&elf_with_modinfo(b"depends=\0")).is_empty());
        assert!(modinfo_depends(b"not an elf").is_empty());
    }

    #[test]
    fn modules_load_dependencies_first_and_skip_builtins() {
        let files: BTreeMap<&str, Vec<u8>> = [
            ("nf_tables", elf_with_modinfo(b"depends=nfnetlink,libcrc32c\0")),
            ("nfnetlink", elf_with_modinfo(b"depends=\0")),
            ("libcrc32c", elf_with_modinfo(b"depends=crc32c_generic\0")),
            ("veth", elf_with_modinfo(b"depends=\0")),
        ]
        .into_iter()
        .collect();
        let index: BTreeMap<String, PathBuf> = files
            .keys()
            .map(|k| (k.to_string(), PathBuf::from(format!("/m/{k}.ko"))))
            .collect();
        let builtin: BTreeSet<String> = ["crc32c_generic".to_string(), "loop".to_string()].into();
        let mut read =
            |p: &Path| Ok(files[module_name(&p.file_name().unwrap().to_string_lossy()).unwrap().as_str()].clone());
        let (order, missing) = resolve_modules(
            &index,
            &builtin,
            &["nf-tables", "loop", "veth", "overlay", "nfnetlink"],
            &mut read,
        )
        .unwrap();
        let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["nfnetlink", "libcrc32c", "nf_tables", "veth"]);
        assert_eq!(missing, ["overlay"]);
        assert_eq!(module_name("veth.ko.xz").as_deref(), Some("veth"));
        assert_eq!(module_name("nf-tables.ko").as_deref(), Some("nf_tables"));
        assert_eq!(module_name("modules.order"), None);
    }

    #[test]
    fn bzimage_version_is_read_from_the_setup_header() {
        let mut img = vec![0u8; 0x400];
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x20e..0x210].copy_from_slice(&0x100u16.to_le_bytes());
        img[0x300..0x320].copy_from_slice(b"6.1.0-56-cloud-amd64 (debian-ke\0");
        assert_eq!(bzimage_version(&img).as_deref(), Some("6.1.0-56-cloud-amd64"));
        assert_eq!(bzimage_version(&img[..0x100]), None);
    }

    #[test]
    fn metapackage_dependency_is_the_image_package() {
        assert_eq!(
            first_dependency("linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)").as_deref(),
            Some("linux-image-6.1.0-56-cloud-amd64")
        );
        assert_eq!(first_dependency("a | b, c").as_deref(), Some("a"));
        assert_eq!(first_dependency(""), None);
    }

    #[test]
    fn qemu_gets_two_serial_files_and_the_accelerator() {
        let args = VmArgs {
            cgroup: CgroupMode::V2,
            kernel: None,
            modules: None,
            kernel_package: "p".into(),
            accel: Accel::Auto,
            kvm_device: "/dev/kvm".into(),
            kvm_stall_secs: KVM_STALL_SECS,
            timeout: 1,
            memory: 1024,
            cpus: 2,
            cache: None,
            out: ".".into(),
            env: vec![],
            busybox: None,
            qemu: "q".into(),
            console: false,
            command: vec![],
        };
        let v: Vec<String> = qemu_args(
            &args,
            AccelKind::Tcg,
            Path::new("/k"),
            Path::new("/i"),
            Path::new("/c,1"),
            Path::new("/r"),
        )
        .into_iter()
        .map(|s| s.into_string().unwrap())
        .collect();
        let s = v.join(" ");
        assert!(s.contains("-accel tcg,thread=multi -cpu max"), "{s}");
        assert!(
            s.contains("file,id=console,path=/c,,1") && s.contains("file,id=results,path=/r"),
            "{s}"
        );
        assert!(
            s.contains("-m 1024 -smp 2") && s.contains("-kernel /k -initrd /i"),
            "{s}"
        );
        assert!(v.iter().position(|a| a == "chardev:console") < v.iter().position(|a| a == "chardev:results"));
        let k = qemu_args(
            &args,
            AccelKind::Kvm,
            Path::new("/k"),
            Path::new("/i"),
            Path::new("/c"),
            Path::new("/r"),
        );
        assert!(k.iter().any(|a| a == "kvm"));
    }
}
