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
    /// cgroup v2 with a Docker Engine inside (the host's docker.io binaries): the
    /// command runs in a privileged container of --docker-image, in a private cgroup
    /// namespace, its /tmp on the container's overlay, as on Docker Desktop.
    Docker,
}

impl CgroupMode {
    pub fn name(self) -> &'static str {
        match self {
            CgroupMode::V2 => "v2",
            CgroupMode::V1 => "v1",
            CgroupMode::Systemd => "systemd",
            CgroupMode::Docker => "docker",
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
    /// For --cgroup docker: the image the command runs in, as `docker save` wrote it
    /// (make check-vm CGROUP=docker builds it from the Dockerfile); its first tag is run.
    #[arg(long, value_name = "TAR")]
    pub docker_image: Option<PathBuf>,
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
mod gather;
mod kernel;
mod payload;
mod qemu;
mod run;

pub use console::*;
pub use cpio::*;
pub use gather::*;
pub use kernel::*;
pub use payload::*;
pub use qemu::*;
pub(crate) use run::*;

mod accel;
pub use accel::{qemu_failure, AccelKind, Known, Plan, Store, Verdict};

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
