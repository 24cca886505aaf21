//! `harness vm`: runs the checks (or the grader, or any of the workspace's binaries)
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
pub const INIT_SCRIPT: &str = include_str!("vm/init.sh");

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
pub const HOST_TOOLS: [(&str, &str); 8] = [
    ("sh", "busybox sh runs its own applets before PATH (FEATURE_SH_STANDALONE): a script's unshare would be busybox's"),
    ("nsenter", "busybox nsenter has no -C (cgroup namespace)"),
    ("unshare", "busybox unshare has no --fork"),
    ("losetup", "busybox losetup has no --find --show --direct-io"),
    ("ip", "busybox ip cannot add a veth pair"),
    ("nft", "not in busybox"),
    ("ldd", "not in busybox (harness rootfs calls it)"),
    ("bash", "ldd is a bash script"),
];

/// Modules the checks need; built-in ones are skipped.
pub const MODULES: [&str; 5] = ["overlay", "loop", "veth", "nf_tables", "dummy"];

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

// ---------------------------------------------------------------- cpio (newc)

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File { src: Source, mode: u32 },
    Symlink(String),
    /// A character device (major, minor): an archive entry, no mknod on the host.
    CharDev(u32, u32),
}

/// The initramfs as a map of archive paths (no leading `/`) to nodes; parents are
/// added as directories, and the writer emits them first (the kernel needs that).
#[derive(Debug, Default)]
pub struct Initramfs {
    pub entries: BTreeMap<String, Node>,
}

fn clean(path: &str) -> String {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").collect::<Vec<_>>().join("/")
}

impl Initramfs {
    pub fn add(&mut self, path: &str, node: Node) {
        let p = clean(path);
        let mut parent = String::new();
        for comp in p.split('/').collect::<Vec<_>>().iter().rev().skip(1).rev() {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(comp);
            self.entries.entry(parent.clone()).or_insert(Node::Dir);
        }
        if !p.is_empty() {
            self.entries.insert(p, node);
        }
    }

    pub fn dir(&mut self, path: &str) {
        self.add(path, Node::Dir);
    }

    pub fn file(&mut self, path: &str, src: Source, mode: u32) {
        self.add(path, Node::File { src, mode });
    }

    pub fn text(&mut self, path: &str, text: &str, mode: u32) {
        self.file(path, Source::Bytes(text.as_bytes().to_vec()), mode);
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        self.add(path, Node::Symlink(target.to_string()));
    }

    pub fn has(&self, path: &str) -> bool {
        self.entries.contains_key(&clean(path))
    }

    /// Writes the newc archive; returns the bytes written. Parents come before their
    /// children because the map is ordered and `a` sorts before `a/b`.
    pub fn write(&self, out: &mut impl Write) -> Result<u64> {
        let mut w = CpioWriter { out, written: 0, ino: 1 };
        let mut names: Vec<&String> = self.entries.keys().collect();
        // "a/b" must follow "a" even where "a-x" sorts between: order by components.
        names.sort_by(|a, b| a.split('/').cmp(b.split('/')));
        for name in names {
            match &self.entries[name] {
                Node::Dir => w.entry(name, 0o040755, 2, 0, &[])?,
                Node::File { src, mode } => {
                    let data = match src {
                        Source::Bytes(b) => std::borrow::Cow::Borrowed(b.as_slice()),
                        Source::Path(p) => std::borrow::Cow::Owned(std::fs::read(p).map_err(io_err(p.display()))?),
                    };
                    w.entry(name, 0o100000 | (mode & 0o7777), 1, 0, &data)?
                }
                Node::Symlink(t) => w.entry(name, 0o120777, 1, 0, t.as_bytes())?,
                Node::CharDev(maj, min) => w.entry(name, 0o020600, 1, (u64::from(*maj) << 32) | u64::from(*min), &[])?,
            }
        }
        w.entry("TRAILER!!!", 0, 1, 0, &[])?;
        Ok(w.written)
    }
}

struct CpioWriter<'a, W: Write> {
    out: &'a mut W,
    written: u64,
    ino: u32,
}

impl<W: Write> CpioWriter<'_, W> {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.out.write_all(b).map_err(io_err("writing the initramfs"))?;
        self.written += b.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> Result<()> {
        let n = (4 - (self.written % 4) as usize) % 4;
        self.put(&[0u8; 3][..n])
    }

    /// One newc entry; `rdev` is major << 32 | minor.
    fn entry(&mut self, name: &str, mode: u32, nlink: u32, rdev: u64, data: &[u8]) -> Result<()> {
        let trailer = name == "TRAILER!!!";
        let ino = if trailer { 0 } else { self.ino };
        self.ino += 1;
        let mut h = String::from("070701");
        let (rmaj, rmin) = ((rdev >> 32) as u32, rdev as u32);
        for v in [ino, mode, 0, 0, nlink, 0, data.len() as u32, 0, 0, rmaj, rmin, name.len() as u32 + 1, 0] {
            let _ = write!(h, "{v:08x}");
        }
        self.put(h.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad()?;
        self.put(data)?;
        self.pad()
    }
}

// ---------------------------------------------------------------- kernel and modules

/// The version string a bzImage carries (setup header field `kernel_version`).
pub fn bzimage_version(image: &[u8]) -> Option<String> {
    if image.len() < 0x210 || &image[0x202..0x206] != b"HdrS" {
        return None;
    }
    let off = u16::from_le_bytes([image[0x20e], image[0x20f]]) as usize + 0x200;
    let s = image.get(off..)?;
    let end = s.iter().position(|&b| b == 0 || b == b' ')?;
    std::str::from_utf8(&s[..end]).ok().filter(|v| !v.is_empty()).map(String::from)
}

/// The `depends=` of a module's `.modinfo` ELF section (empty if none).
pub fn modinfo_depends(ko: &[u8]) -> Vec<String> {
    modinfo(ko)
        .into_iter()
        .find_map(|(k, v)| (k == "depends").then_some(v))
        .map(|v| v.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

/// `key=value` pairs of the `.modinfo` section of a 64-bit little-endian ELF file.
pub fn modinfo(ko: &[u8]) -> Vec<(String, String)> {
    let u16at = |o: usize| ko.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32at = |o: usize| ko.get(o..o + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize);
    let u64at = |o: usize| ko.get(o..o + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize);
    let section = || -> Option<&[u8]> {
        if ko.get(..5)? != b"\x7fELF\x02" {
            return None;
        }
        let (shoff, shentsize, shnum, shstrndx) = (u64at(0x28)?, u16at(0x3a)?, u16at(0x3c)?, u16at(0x3e)?);
        let sh = |i: usize| shoff + i * shentsize;
        let strtab = u64at(sh(shstrndx) + 0x18)?;
        for i in 0..shnum {
            let name_off = strtab + u32at(sh(i))?;
            let name = ko.get(name_off..)?;
            let name = &name[..name.iter().position(|&b| b == 0)?];
            if name == b".modinfo" {
                let (off, size) = (u64at(sh(i) + 0x18)?, u64at(sh(i) + 0x20)?);
                return ko.get(off..off + size);
            }
        }
        None
    };
    section()
        .map(|s| {
            s.split(|&b| b == 0)
                .filter_map(|kv| std::str::from_utf8(kv).ok()?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Module names are the same with `-` and `_`.
fn module_key(name: &str) -> String {
    name.replace('-', "_")
}

/// The module name of a file `name.ko[.xz|.zst|.gz]`.
pub fn module_name(file: &str) -> Option<String> {
    let stem = file.strip_suffix(".xz").or_else(|| file.strip_suffix(".zst")).or_else(|| file.strip_suffix(".gz")).unwrap_or(file);
    stem.strip_suffix(".ko").map(module_key)
}

/// Reads a module file, decompressing .xz/.zst/.gz with the host's tool.
fn read_module(path: &Path) -> Result<Vec<u8>> {
    let name = path.to_string_lossy();
    let tool = if name.ends_with(".xz") {
        Some("xz")
    } else if name.ends_with(".zst") {
        Some("zstd")
    } else if name.ends_with(".gz") {
        Some("gzip")
    } else {
        None
    };
    match tool {
        None => std::fs::read(path).map_err(io_err(path.display())),
        Some(t) => {
            let out = Command::new(t).arg("-dc").arg(path).output().map_err(io_err(format!("{t} -dc {}", path.display())))?;
            if !out.status.success() {
                return err(format!("{t} -dc {}: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim()));
            }
            Ok(out.stdout)
        }
    }
}

/// Modules in load order: (name, uncompressed bytes).
pub type ModuleList = Vec<(String, Vec<u8>)>;

/// Modules to load in order (dependencies first), as (name, uncompressed bytes).
/// `builtin` names modules built into the kernel (skipped with their dependencies).
pub fn resolve_modules(
    index: &BTreeMap<String, PathBuf>,
    builtin: &BTreeSet<String>,
    wanted: &[&str],
    read: &mut dyn FnMut(&Path) -> Result<Vec<u8>>,
) -> Result<(ModuleList, Vec<String>)> {
    fn visit(
        name: &str,
        index: &BTreeMap<String, PathBuf>,
        builtin: &BTreeSet<String>,
        read: &mut dyn FnMut(&Path) -> Result<Vec<u8>>,
        seen: &mut BTreeSet<String>,
        order: &mut ModuleList,
        missing: &mut Vec<String>,
    ) -> Result<()> {
        let key = module_key(name);
        if builtin.contains(&key) || !seen.insert(key.clone()) {
            return Ok(());
        }
        let Some(path) = index.get(&key) else {
            missing.push(key);
            return Ok(());
        };
        let bytes = read(path)?;
        for dep in modinfo_depends(&bytes) {
            visit(&dep, index, builtin, read, seen, order, missing)?;
        }
        order.push((key, bytes));
        Ok(())
    }
    let (mut seen, mut order, mut missing) = (BTreeSet::new(), Vec::new(), Vec::new());
    for w in wanted {
        visit(w, index, builtin, read, &mut seen, &mut order, &mut missing)?;
    }
    Ok((order, missing))
}

/// Every module file below `dir` by module name, and the names in modules.builtin.
fn index_modules(dir: &Path) -> (BTreeMap<String, PathBuf>, BTreeSet<String>) {
    let mut index = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            } else if let Some(n) = module_name(&e.file_name().to_string_lossy()) {
                index.entry(n).or_insert(p);
            }
        }
    }
    let builtin = std::fs::read_to_string(dir.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| module_name(l.rsplit('/').next().unwrap_or(l)))
        .collect();
    (index, builtin)
}

/// A kernel to boot.
#[derive(Debug)]
pub struct Kernel {
    pub image: PathBuf,
    pub version: Option<String>,
    pub modules: Option<PathBuf>,
    /// Where it came from, for the log.
    pub origin: String,
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<Vec<u8>> {
    let out = cmd.stdin(Stdio::null()).output().map_err(io_err(format!("running {what}")))?;
    if !out.status.success() {
        return err(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(out.stdout)
}

/// The package a metapackage `.deb` depends on first (`linux-image-6.1.0-56-cloud-amd64`).
pub fn first_dependency(depends: &str) -> Option<String> {
    let first = depends.split([',', '|']).next()?.trim();
    let name = first.split([' ', '(']).next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// `apt-get download NAME` into `dir`: the path of the .deb. A fresh machine may have
/// no package lists, or stale ones naming a version the mirror no longer has: root
/// refreshes them once and tries again.
fn apt_download(dir: &Path, name: &str) -> Result<PathBuf> {
    let download = || run_tool(Command::new("apt-get").arg("download").arg(name).current_dir(dir), &format!("apt-get download {name}"));
    if let Err(e) = download() {
        if !nix::unistd::geteuid().is_root() {
            return err(format!("{e} (as root, `apt-get update` may help)"));
        }
        say(format!("{e}; running apt-get update and trying again"));
        run_tool(Command::new("apt-get").args(["update", "-qq"]), "apt-get update")?;
        download()?;
    }
    std::fs::read_dir(dir)
        .map_err(io_err(dir.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().map(|f| f.to_string_lossy().starts_with(&format!("{name}_"))).unwrap_or(false))
        .ok_or_else(|| VmError(format!("apt-get download {name} left no {name}_*.deb")))
}

/// The distribution's systemd, downloaded and unpacked once into `cache/systemd/root`
/// (the `systemd` package and the shared library it is built on); nothing is
/// installed on the host.
fn debian_systemd(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("systemd");
    let root = dir.join("root");
    if root.join(".complete").is_file() {
        return Ok(root);
    }
    let dl = dir.join("download");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dl).map_err(io_err(dl.display()))?;
    say(format!("fetching systemd with apt-get download into {}", dl.display()));
    let tmp = dir.join("root.unpacking");
    for package in ["systemd", "libsystemd-shared"] {
        let deb = apt_download(&dl, package)?;
        run_tool(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp), "dpkg-deb -x")?;
    }
    std::fs::rename(&tmp, &root).map_err(io_err(root.display()))?;
    std::fs::write(root.join(".complete"), "").map_err(io_err(root.display()))?;
    let _ = std::fs::remove_dir_all(&dl);
    Ok(root)
}

/// Units of the systemd VM: lab.target starts lab-run.service (init.sh stage 3); the
/// targets a service depends on by default exist, empty, so that systemd-run's
/// transient service can start.
const SYSTEMD_UNITS: [(&str, &str); 6] = [
    ("lab.target", "[Unit]\nDescription=lab: run the command as a runner would\nWants=lab-run.service\n"),
    (
        "lab-run.service",
        "[Unit]\nDescription=lab: the command in a runner-like service\nDefaultDependencies=no\n\n[Service]\nType=oneshot\nExecStart=/lab/init stage3\n",
    ),
    ("sysinit.target", "[Unit]\nDescription=System Initialization\nDefaultDependencies=no\n"),
    ("basic.target", "[Unit]\nDescription=Basic System\nDefaultDependencies=no\n"),
    ("shutdown.target", "[Unit]\nDescription=System Shutdown\nDefaultDependencies=no\n"),
    ("system.slice", "[Unit]\nDescription=System Slice\nDefaultDependencies=no\n"),
];

/// systemd (PID 1), systemctl and systemd-run from the unpacked packages, with the
/// host's libraries they need, and the units above.
fn add_systemd(fs: &mut Initramfs, root: &Path) -> Result<()> {
    let libdir = ["usr/lib/x86_64-linux-gnu/systemd", "lib/x86_64-linux-gnu/systemd"].iter().map(|d| root.join(d)).find(|d| d.is_dir());
    let libdir = libdir.ok_or_else(|| VmError(format!("no lib/x86_64-linux-gnu/systemd in {}", root.display())))?;
    for e in std::fs::read_dir(&libdir).map_err(io_err(libdir.display()))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".so") {
            fs.file(&format!("usr/lib/x86_64-linux-gnu/systemd/{name}"), Source::Path(e.path()), 0o755);
        }
    }
    for (dest, candidates) in [
        ("lib/systemd/systemd", ["lib/systemd/systemd", "usr/lib/systemd/systemd"]),
        ("usr/bin/systemctl", ["bin/systemctl", "usr/bin/systemctl"]),
        ("usr/bin/systemd-run", ["usr/bin/systemd-run", "bin/systemd-run"]),
    ] {
        let src = candidates.iter().map(|c| root.join(c)).find(|p| p.is_file()).ok_or_else(|| VmError(format!("no {} in {}", candidates[0], root.display())))?;
        fs.file(dest, Source::Path(src.clone()), 0o755);
        // The host's loader finds the packages' own libraries through this path; the
        // rest come from the host.
        let libs = crate::rootfs::shared_libraries_with(&src, Some(&libdir)).map_err(|e| VmError(e.to_string()))?;
        for lib in libs.iter().filter(|l| !l.starts_with(&libdir)) {
            let real = std::fs::canonicalize(lib).unwrap_or_else(|_| lib.clone());
            fs.file(&lib.to_string_lossy(), Source::Path(real), 0o755);
        }
    }
    fs.symlink("usr/bin/systemd", "/lib/systemd/systemd");
    for (name, text) in SYSTEMD_UNITS {
        fs.text(&format!("etc/systemd/system/{name}"), text, 0o644);
    }
    fs.text("etc/os-release", "ID=lab-vm\nNAME=\"lab VM\"\nPRETTY_NAME=\"lab VM (harness vm --cgroup systemd)\"\n", 0o644);
    fs.text("etc/machine-id", "", 0o444);
    Ok(())
}

/// The distribution's kernel: downloaded and unpacked once into `cache/kernel`.
fn debian_kernel(cache: &Path, package: &str) -> Result<Kernel> {
    let kdir = cache.join("kernel");
    let current = kdir.join(format!("{package}.current"));
    if let Ok(name) = std::fs::read_to_string(&current) {
        if let Ok(k) = unpacked_kernel(&kdir.join(name.trim()), name.trim()) {
            return Ok(k);
        }
    }
    std::fs::create_dir_all(&kdir).map_err(io_err(kdir.display()))?;
    let dl = kdir.join("download");
    let _ = std::fs::remove_dir_all(&dl);
    std::fs::create_dir_all(&dl).map_err(io_err(dl.display()))?;
    say(format!("fetching {package} with apt-get download into {}", dl.display()));
    let mut name = package.to_string();
    // Follow metapackages (no vmlinuz of their own) to the real image package.
    for _ in 0..4 {
        let deb = apt_download(&dl, &name)?;
        let list = run_tool(Command::new("dpkg-deb").arg("-c").arg(&deb), "dpkg-deb -c")?;
        if String::from_utf8_lossy(&list).contains("/boot/vmlinuz-") {
            let dest = kdir.join(&name);
            let tmp = kdir.join(format!("{name}.unpacking"));
            let _ = std::fs::remove_dir_all(&tmp);
            run_tool(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp), "dpkg-deb -x")?;
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::rename(&tmp, &dest).map_err(io_err(dest.display()))?;
            let _ = std::fs::remove_dir_all(&dl);
            std::fs::write(&current, &name).map_err(io_err(current.display()))?;
            return unpacked_kernel(&dest, &name);
        }
        let depends = run_tool(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Depends"), "dpkg-deb -f")?;
        name = first_dependency(&String::from_utf8_lossy(&depends))
            .ok_or_else(|| VmError(format!("{name} holds no kernel and depends on nothing")))?;
    }
    err(format!("{package}: no kernel image found following its dependencies"))
}

fn unpacked_kernel(dir: &Path, package: &str) -> Result<Kernel> {
    let boot = dir.join("boot");
    let image = std::fs::read_dir(&boot)
        .map_err(io_err(boot.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().map(|f| f.to_string_lossy().starts_with("vmlinuz-")).unwrap_or(false))
        .ok_or_else(|| VmError(format!("no vmlinuz-* in {}", boot.display())))?;
    let version = image.file_name().unwrap().to_string_lossy().trim_start_matches("vmlinuz-").to_string();
    let modules = dir.join("lib/modules").join(&version);
    Ok(Kernel { image, modules: modules.is_dir().then_some(modules), origin: format!("package {package}"), version: Some(version) })
}

fn chosen_kernel(args: &VmArgs, cache: &Path) -> Result<Kernel> {
    let mut k = match &args.kernel {
        Some(image) => {
            let bytes = std::fs::read(image).map_err(io_err(format!("--kernel {}", image.display())))?;
            let version = bzimage_version(&bytes);
            let modules = version.as_ref().map(|v| Path::new("/lib/modules").join(v)).filter(|d| d.is_dir());
            Kernel { image: image.clone(), version, modules, origin: "--kernel".into() }
        }
        None => debian_kernel(cache, &args.kernel_package)?,
    };
    if let Some(m) = &args.modules {
        k.modules = Some(m.clone());
    }
    Ok(k)
}

// ---------------------------------------------------------------- what goes into the VM

/// `path` on $PATH, or in the sbin directories a normal user's PATH may lack.
pub fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|p| std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false))
}

/// A host executable at `dest` and every shared library `ldd` names at its own path.
fn add_host_binary(fs: &mut Initramfs, src: &Path, dest: &str) -> Result<()> {
    fs.file(dest, Source::Path(std::fs::canonicalize(src).unwrap_or_else(|_| src.to_path_buf())), 0o755);
    let libs = crate::rootfs::shared_libraries(src).map_err(|e| VmError(e.to_string()))?;
    for lib in libs {
        let real = std::fs::canonicalize(&lib).unwrap_or_else(|_| lib.clone());
        fs.file(&lib.to_string_lossy(), Source::Path(real), 0o755);
    }
    Ok(())
}

/// Single-quoted for sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// /lab/command.sh: the variables, then `exec` of the command.
pub fn command_script(env: &[(String, String)], command: &[String]) -> String {
    let mut s = String::from("# written by harness vm\n");
    for (k, v) in env {
        let _ = writeln!(s, "export {k}={}", sh_quote(v));
    }
    let words: Vec<String> = command.iter().map(|w| sh_quote(w)).collect();
    let _ = writeln!(s, "exec {}", words.join(" "));
    s
}

/// The files of the initramfs that come from the host, found before anything is written.
pub struct Inputs {
    pub bin_dir: PathBuf,
    pub busybox: PathBuf,
    /// Applets busybox offers (`busybox --list`).
    pub applets: Vec<String>,
    /// Host tools found, by name.
    pub host_tools: Vec<(String, PathBuf)>,
    /// Modules in load order with their uncompressed bytes.
    pub modules: ModuleList,
    /// The runtime under test when it is a file: (host path, name).
    pub runtime: Option<PathBuf>,
    /// For `--cgroup systemd`: the unpacked systemd packages.
    pub systemd: Option<PathBuf>,
}

/// Per run: the nonce, the cgroup mode and the command.
pub struct RunConfig {
    pub nonce: String,
    pub cgroup: CgroupMode,
    pub env: Vec<(String, String)>,
    pub command: Vec<String>,
}

/// Strips debug info into `stage` (the debug binaries are five times their code);
/// the original when `strip` is missing or fails.
fn stripped(src: &Path, stage: &Path) -> PathBuf {
    let dest = stage.join(src.file_name().unwrap_or_default());
    let ok = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&dest)
        .arg(src)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        dest
    } else {
        src.to_path_buf()
    }
}

/// The whole initramfs: pure given its inputs (the files are read when written).
pub fn plan_initramfs(inp: &Inputs, run: &RunConfig, binaries: &[(String, PathBuf)]) -> Result<Initramfs> {
    let mut fs = Initramfs::default();
    for d in ["newroot", "proc", "sys", "dev", "tmp", "run", "root", "sbin", "usr/sbin", "lib64", "lab/out"] {
        fs.dir(d);
    }
    fs.add("dev/console", Node::CharDev(5, 1));
    fs.text("init", INIT_SCRIPT, 0o755);
    fs.text("lab/init", INIT_SCRIPT, 0o755);
    fs.file("bin/busybox", Source::Path(inp.busybox.clone()), 0o755);
    let host_names: BTreeSet<&str> = HOST_TOOLS.iter().map(|(n, _)| *n).collect();
    for a in &inp.applets {
        if a.is_empty() || a.contains('/') || a == "busybox" || host_names.contains(a.as_str()) {
            continue;
        }
        fs.symlink(&format!("bin/{a}"), "busybox");
    }
    for (name, path) in &inp.host_tools {
        add_host_binary(&mut fs, path, &format!("usr/bin/{name}"))?;
        // Scripts name /bin/sh and /bin/bash; busybox's applet of the name is left out.
        fs.symlink(&format!("bin/{name}"), &format!("/usr/bin/{name}"));
    }
    if !fs.has("usr/bin/env") {
        fs.symlink("usr/bin/env", "/bin/busybox");
    }
    for (name, path) in binaries {
        fs.file(&format!("lab/bin/{name}"), Source::Path(path.clone()), 0o755);
    }
    if let Some(rt) = &inp.runtime {
        let name = rt.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| "runtime".into());
        add_host_binary(&mut fs, rt, &format!("lab/runtime/{name}"))?;
    }
    let mut order = String::new();
    for (name, bytes) in &inp.modules {
        fs.file(&format!("lab/modules/{name}.ko"), Source::Bytes(bytes.clone()), 0o644);
        let _ = writeln!(order, "{name}.ko");
    }
    if !order.is_empty() {
        fs.text("lab/modules/order", &order, 0o644);
    }
    if let Some(root) = &inp.systemd {
        add_systemd(&mut fs, root)?;
    }
    fs.text("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", 0o644);
    fs.text("etc/group", "root:x:0:\nnogroup:x:65534:\n", 0o644);
    fs.text("etc/hosts", "127.0.0.1 localhost lab-vm\n::1 localhost\n", 0o644);
    fs.text("lab/run.conf", &format!("LAB_NONCE={}\nLAB_CGROUP={}\nLAB_HEARTBEAT={HEARTBEAT_SECS}\n", run.nonce, run.cgroup.name()), 0o644);
    fs.text("lab/command.sh", &command_script(&run.env, &run.command), 0o644);
    Ok(fs)
}

// ---------------------------------------------------------------- results

/// What the results port said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The init is running.
    Boot,
    /// One line of the command's output (without its newline).
    Line(Vec<u8>),
    /// The command ended with this status.
    End(i32),
    File { name: String, data: Vec<u8> },
    /// A file whose base64 did not decode.
    BadFile(String),
    /// Everything was sent.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Before,
    Output,
    After,
    InFile(String, Vec<u8>),
}

/// Parses the results port incrementally; only markers with this run's nonce count.
pub struct ResultParser {
    nonce: String,
    pending: Vec<u8>,
    state: State,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl ResultParser {
    pub fn new(nonce: &str) -> ResultParser {
        ResultParser { nonce: nonce.to_string(), pending: Vec::new(), state: State::Before }
    }

    /// Whether the command's output has started and not ended (a partial line is then output).
    pub fn in_output(&self) -> bool {
        self.state == State::Output
    }

    /// Whether the command's output has begun (its BEGIN marker came).
    pub fn began(&self) -> bool {
        self.state != State::Before
    }

    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.pending.drain(..=nl).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.line(line, &mut events);
        }
        events
    }

    /// The end of the stream: a partial last line of output is output.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.line(line, &mut events);
        }
        events
    }

    fn marker(&self, kind: &str) -> Vec<u8> {
        format!("@@LAB-{kind} {}", self.nonce).into_bytes()
    }

    fn line(&mut self, line: Vec<u8>, events: &mut Vec<Event>) {
        let file_end = self.marker("FILE-END");
        match &mut self.state {
            State::Before => {
                if find(&line, &self.marker("BOOT")).is_some() {
                    events.push(Event::Boot);
                } else if find(&line, &self.marker("BEGIN")).is_some() {
                    self.state = State::Output;
                }
            }
            State::Output => {
                let m = self.marker("END");
                match find(&line, &m) {
                    Some(at) => {
                        // Output without a final newline ends right before the marker.
                        if at > 0 {
                            events.push(Event::Line(line[..at].to_vec()));
                        }
                        let rest = String::from_utf8_lossy(&line[at + m.len()..]).into_owned();
                        let rc = rest.trim().strip_prefix("rc=").and_then(|r| r.trim_end_matches('@').parse::<i32>().ok());
                        events.push(Event::End(rc.unwrap_or(EXIT_VM)));
                        self.state = State::After;
                    }
                    None => events.push(Event::Line(line)),
                }
            }
            State::After => {
                let (fm, dm) = (self.marker("FILE"), self.marker("DONE"));
                if let Some(at) = find(&line, &fm) {
                    let name = String::from_utf8_lossy(&line[at + fm.len()..]).trim().trim_end_matches("@@").to_string();
                    self.state = State::InFile(name, Vec::new());
                } else if find(&line, &dm).is_some() {
                    events.push(Event::Done);
                }
            }
            State::InFile(name, b64) => {
                if find(&line, &file_end).is_some() {
                    let name = std::mem::take(name);
                    events.push(match base64_decode(b64) {
                        Some(data) => Event::File { name, data },
                        None => Event::BadFile(name),
                    });
                    self.state = State::After;
                } else {
                    b64.extend_from_slice(&line);
                }
            }
        }
    }
}

/// Standard base64 (white space ignored); None when malformed.
pub fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let clean: Vec<u8> = text.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
    if clean.len() & 3 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for (i, chunk) in clean.chunks(4).enumerate() {
        let last = i + 1 == clean.len() / 4;
        let pads = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pads > 2 || (pads > 0 && !last) {
            return None;
        }
        let mut n: u32 = 0;
        for &c in &chunk[..4 - pads] {
            n = n << 6 | u32::from(val(c)?);
        }
        n <<= 6 * pads as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pads]);
    }
    Some(out)
}

/// A file name the VM sent is written only if it is a plain name.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

// ---------------------------------------------------------------- accelerator

mod accel;
pub use accel::{qemu_failure, AccelKind, Known, Plan, Store, Verdict};

// ---------------------------------------------------------------- qemu

/// The kernel command line.
pub fn kernel_cmdline() -> String {
    // mitigations=off: page-table isolation costs a lot under TCG, and this VM runs
    // nothing but the checks. tsc=reliable: under TCG the TSC sync test fails (the
    // vCPUs are emulated slowly), the kernel then takes HPET for wall time while CPU
    // time still comes from the TSC, and a miscalibrated TSC would skew every
    // CPU-time/wall-time ratio the checks measure; with it both come from the TSC.
    "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init mitigations=off tsc=reliable".into()
}

/// qemu's file chardev path, with commas doubled as its option syntax wants.
fn chardev_path(p: &Path) -> String {
    p.to_string_lossy().replace(',', ",,")
}

pub fn qemu_args(args: &VmArgs, accel: AccelKind, kernel: &Path, initrd: &Path, console: &Path, results: &Path) -> Vec<OsString> {
    let mut v: Vec<OsString> = Vec::new();
    let mut push = |s: &str| v.push(OsString::from(s));
    match accel {
        AccelKind::Kvm => {
            push("-accel");
            push("kvm");
            push("-cpu");
            push("host");
        }
        AccelKind::Tcg => {
            push("-accel");
            push("tcg,thread=multi");
            push("-cpu");
            push("max");
        }
    }
    for s in ["-machine", "pc", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-monitor", "none"] {
        push(s);
    }
    push("-m");
    push(&args.memory.to_string());
    push("-smp");
    push(&args.cpus.to_string());
    push("-chardev");
    push(&format!("file,id=console,path={}", chardev_path(console)));
    push("-serial");
    push("chardev:console");
    push("-chardev");
    push(&format!("file,id=results,path={}", chardev_path(results)));
    push("-serial");
    push("chardev:results");
    push("-append");
    push(&kernel_cmdline());
    v.push("-kernel".into());
    v.push(kernel.into());
    v.push("-initrd".into());
    v.push(initrd.into());
    v
}

/// How one boot ended.
enum Outcome {
    /// The command ended (status), with the files it sent.
    Finished { rc: i32, files: Vec<(String, Vec<u8>)>, complete: bool },
    /// The boot did not reach the init in time.
    NoBoot,
    /// The booted VM wrote nothing for the stall limit (no heartbeat, no output).
    Stalled,
    TimedOut,
    /// qemu ended without a result: the reason ([`qemu_failure`]).
    Died(String),
}

/// One boot: how it ended, how long it took, when the init was reached, and whether
/// the command's output had begun (a start over would then repeat it).
struct Ran {
    outcome: Outcome,
    took: Duration,
    booted: Option<Duration>,
    output_began: bool,
}

/// Time limits of one boot.
struct Limits {
    /// To reach the init.
    boot: Duration,
    /// Without a byte from a booted VM.
    stall: Duration,
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads what was appended to `f` since the last call.
fn read_new(f: &mut std::fs::File, pos: &mut u64) -> Vec<u8> {
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(*pos)).is_ok() && f.read_to_end(&mut buf).is_ok() {
        *pos += buf.len() as u64;
    }
    buf
}

struct Boot<'a> {
    args: &'a VmArgs,
    kernel: &'a Path,
    initrd: &'a Path,
    console: PathBuf,
    results: PathBuf,
    nonce: &'a str,
}

impl Boot<'_> {
    fn run(&self, accel: AccelKind, limits: &Limits, deadline: Instant) -> Result<Ran> {
        for p in [&self.console, &self.results] {
            std::fs::write(p, b"").map_err(io_err(p.display()))?;
        }
        let mut cmd = Command::new(&self.args.qemu);
        cmd.args(qemu_args(self.args, accel, self.kernel, self.initrd, &self.console, &self.results));
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe. qemu dies with us, so nothing is left running.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(io_err(format!("starting {} (apt-get install qemu-system-x86)", self.args.qemu.display())))?;
        // qemu's stderr is drained as it comes (a qemu stuck on a full pipe would look
        // hung), and kept up to 64 KiB: the reason a failed start gives is in its first lines.
        let said = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let drain = child.stderr.take().map(|mut e| {
            let said = said.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = e.read(&mut buf) {
                    let mut s = said.lock().unwrap_or_else(|p| p.into_inner());
                    let room = (64usize << 10).saturating_sub(s.len());
                    s.extend_from_slice(&buf[..n.min(room)]);
                }
            })
        });
        let mut results = std::fs::File::open(&self.results).map_err(io_err(self.results.display()))?;
        let mut console = std::fs::File::open(&self.console).map_err(io_err(self.console.display()))?;
        let (mut rpos, mut cpos) = (0u64, 0u64);
        let mut parser = ResultParser::new(self.nonce);
        let mut booted: Option<Duration> = None;
        let mut rc: Option<i32> = None;
        let mut files = Vec::new();
        let mut done = false;
        let mut last_sign = Instant::now();
        let mut console_len = 0u64;
        let stdout = std::io::stdout();
        let handle = |events: Vec<Event>, booted: &mut Option<Duration>, rc: &mut Option<i32>, files: &mut Vec<(String, Vec<u8>)>, done: &mut bool| {
            let mut out = stdout.lock();
            for e in events {
                match e {
                    Event::Boot => *booted = Some(started.elapsed()),
                    Event::Line(l) => {
                        let _ = out.write_all(&l);
                        let _ = out.write_all(b"\n");
                    }
                    Event::End(c) => *rc = Some(c),
                    Event::File { name, data } => files.push((name, data)),
                    Event::BadFile(name) => say(format!("the VM sent {name} garbled; not written")),
                    Event::Done => *done = true,
                }
            }
            let _ = out.flush();
        };
        let mut ended_early = None;
        let status = loop {
            let new = read_new(&mut results, &mut rpos);
            if !new.is_empty() {
                last_sign = Instant::now();
                handle(parser.feed(&new), &mut booted, &mut rc, &mut files, &mut done);
            }
            if self.args.console {
                let c = read_new(&mut console, &mut cpos);
                let _ = std::io::stderr().write_all(&c);
            }
            let len = std::fs::metadata(&self.console).map(|m| m.len()).unwrap_or(0);
            if len != console_len {
                console_len = len;
                last_sign = Instant::now();
            }
            if let Ok(Some(st)) = child.try_wait() {
                break Some(st);
            }
            if done {
                // Everything arrived: qemu is powering off; give it a moment.
                let end = Instant::now() + Duration::from_secs(5);
                while Instant::now() < end {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                kill(&mut child);
                break None;
            }
            if booted.is_none() && started.elapsed() > limits.boot {
                kill(&mut child);
                ended_early = Some(Outcome::NoBoot);
                break None;
            }
            if booted.is_some() && last_sign.elapsed() > limits.stall {
                kill(&mut child);
                ended_early = Some(Outcome::Stalled);
                break None;
            }
            if Instant::now() > deadline {
                kill(&mut child);
                ended_early = Some(Outcome::TimedOut);
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let new = read_new(&mut results, &mut rpos);
        handle(parser.feed(&new), &mut booted, &mut rc, &mut files, &mut done);
        if ended_early.is_none() {
            handle(parser.finish(), &mut booted, &mut rc, &mut files, &mut done);
        }
        if self.args.console {
            let _ = std::io::stderr().write_all(&read_new(&mut console, &mut cpos));
        }
        // Whatever qemu left running may hold its stderr open: the reader is not waited
        // for past a moment.
        if let Some(t) = drain {
            let end = Instant::now() + Duration::from_secs(1);
            while !t.is_finished() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let said = String::from_utf8_lossy(&said.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
        let took = started.elapsed();
        if let Some(b) = booted {
            say(format!("booted in {:.1} s", b.as_secs_f64()));
        }
        let outcome = match (ended_early, rc) {
            (Some(o), _) => o,
            (None, Some(rc)) => Outcome::Finished { rc, files, complete: done },
            (None, None) => Outcome::Died(match status {
                Some(st) => qemu_failure(&said, Some(st)),
                None => format!("the VM sent no result{}", if said.trim().is_empty() { String::new() } else { format!("; {}", qemu_failure(&said, None)) }),
            }),
        };
        Ok(Ran { outcome, took, booted, output_began: parser.began() })
    }
}

fn console_tail(path: &Path, lines: usize) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).replace('\r', "");
    let all: Vec<&str> = text.lines().filter(|l| l.trim() != HEARTBEAT_LINE).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// target/vm, found from the running binary (target/<triple>/<profile>/harness).
fn default_cache() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|a| a.file_name().map(|n| n == "target").unwrap_or(false))
        .map(|t| t.join("vm"))
        .unwrap_or_else(|| std::env::temp_dir().join("harness-vm"))
}

fn nonce() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{:x}{:x}", t.as_nanos() as u64 ^ u64::from(std::process::id()) << 40, std::process::id())
}

type Env = Vec<(String, String)>;

/// Variables passed on to the command, and the runtime file to copy in.
fn command_env(args: &VmArgs) -> Result<(Env, Option<PathBuf>)> {
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
    let lab_runtime = explicit.iter().rev().find(|(k, _)| k == "LAB_RUNTIME").map(|(_, v)| v.clone()).or_else(|| std::env::var("LAB_RUNTIME").ok());
    explicit.retain(|(k, _)| k != "LAB_RUNTIME");
    if let Some(v) = lab_runtime.filter(|v| !v.is_empty()) {
        // A file (or `oci:` and a file or a program on PATH) is copied in.
        let (prefix, target) = match v.strip_prefix("oci:") {
            Some(t) => ("oci:", t),
            None => ("", v.as_str()),
        };
        let file = if target.contains('/') { Some(PathBuf::from(target)) } else if prefix.is_empty() { None } else { which(target) };
        match file.filter(|f| f.is_file() && v != "reference") {
            Some(f) => {
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "runtime".into());
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

/// The inputs, the workspace binaries (name, stripped copy) and notes for the log.
type Gathered = (Inputs, Vec<(String, PathBuf)>, Vec<String>);

fn gather(args: &VmArgs, cache: &Path, kernel: &Kernel, stage: &Path) -> Result<Gathered> {
    let mut notes = Vec::new();
    let bin_dir = crate::rootfs::probe_path()
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
            return err(format!("{} is not built: run `cargo build --workspace --bins`", p.display()));
        }
    }
    let busybox = match &args.busybox {
        Some(p) => p.clone(),
        None => which("busybox").ok_or_else(|| VmError("busybox is not installed: apt-get install busybox-static".into()))?,
    };
    if !crate::rootfs::shared_libraries(&busybox).map_err(|e| VmError(e.to_string()))?.is_empty() {
        return err(format!("{} is linked dynamically: apt-get install busybox-static (or pass --busybox)", busybox.display()));
    }
    let list = run_tool(Command::new(&busybox).arg("--list"), "busybox --list")?;
    let applets: Vec<String> = String::from_utf8_lossy(&list).lines().map(|l| l.trim().to_string()).collect();
    let mut host_tools = Vec::new();
    for (name, why) in HOST_TOOLS {
        match which(name) {
            Some(p) => host_tools.push((name.to_string(), p)),
            None => notes.push(format!("{name} is not on this host ({why}): the checks that need it will skip")),
        }
    }
    let mut modules = Vec::new();
    match &kernel.modules {
        Some(dir) => {
            let (index, builtin) = index_modules(dir);
            let (order, missing) = resolve_modules(&index, &builtin, &MODULES, &mut |p| read_module(p))?;
            for m in missing {
                notes.push(format!("module {m} not found in {}: it must be built into the kernel", dir.display()));
            }
            modules = order;
        }
        None => notes.push(format!("no modules directory for this kernel: {} must be built in", MODULES.join(", "))),
    }
    let (_, runtime) = command_env(args)?;
    let systemd = match args.cgroup {
        CgroupMode::Systemd => Some(debian_systemd(cache)?),
        _ => None,
    };
    Ok((Inputs { bin_dir, busybox, applets, host_tools, modules, runtime, systemd }, binaries, notes))
}

/// `harness vm`: returns the exit status (the command's own, or [`EXIT_VM`], [`EXIT_TIMEOUT`]).
pub fn main(args: &VmArgs) -> i32 {
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            say(format!("cannot run the VM: {e} (an environment problem, not a check result)"));
            EXIT_VM
        }
    }
}

fn run(args: &VmArgs) -> Result<i32> {
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
fn remove_stale_runs(cache: &Path) {
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

fn run_in(args: &VmArgs, cache: &Path, work: &Path, kernel: &Kernel, t0: Instant) -> Result<i32> {
    let deadline = t0 + Duration::from_secs(args.timeout);
    let stage = work.join("stage");
    let (inputs, binaries, notes) = gather(args, cache, kernel, &stage)?;
    for n in &notes {
        say(n);
    }
    let (env, _) = command_env(args)?;
    let command = if args.command.is_empty() { vec!["labcheck".to_string()] } else { args.command.clone() };
    let run = RunConfig { nonce: nonce(), cgroup: args.cgroup, env, command };
    let fs = plan_initramfs(&inputs, &run, &binaries)?;
    let initrd = work.join("initramfs.cpio");
    let size = {
        let f = std::fs::File::create(&initrd).map_err(io_err(initrd.display()))?;
        let mut w = std::io::BufWriter::new(f);
        let n = fs.write(&mut w)?;
        w.flush().map_err(io_err(initrd.display()))?;
        n
    };
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
    say(format!(
        "kernel {} ({}), cgroup {}, {} CPUs, {} MiB, initramfs {:.1} MiB, modules: {}",
        kernel.version.as_deref().unwrap_or("?"),
        kernel.origin,
        args.cgroup.name(),
        args.cpus,
        args.memory,
        size as f64 / (1 << 20) as f64,
        if inputs.modules.is_empty() { "none".to_string() } else { inputs.modules.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(" ") },
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
        let limits = match accel {
            AccelKind::Kvm => {
                say(if plan.proving {
                    format!("accelerator: KVM, to be proven: the VM must reach its init within {KVM_BOOT_SECS} s")
                } else {
                    "accelerator: KVM (proven on this host)".to_string()
                });
                Limits { boot: Duration::from_secs(KVM_BOOT_SECS), stall: Duration::from_secs(args.kvm_stall_secs) }
            }
            AccelKind::Tcg => {
                say(if args.accel == Accel::Tcg { "accelerator: TCG (--accel tcg)" } else { "accelerator: TCG" });
                Limits { boot: Duration::from_secs(TCG_BOOT_SECS), stall: Duration::from_secs(TCG_STALL_SECS) }
            }
        };
        let ran = boot.run(*accel, &limits, deadline)?;
        if *accel == AccelKind::Kvm {
            let failure = match &ran.outcome {
                Outcome::NoBoot => Some(format!("the VM did not reach its init within {KVM_BOOT_SECS} s under KVM")),
                Outcome::Stalled => Some(format!("the VM stopped answering for {} s under KVM", limits.stall.as_secs())),
                Outcome::Died(why) => Some(why.clone()),
                Outcome::TimedOut | Outcome::Finished { .. } => None,
            };
            let verdict = match (&failure, ran.booted) {
                (Some(why), _) => Some((false, why.clone())),
                (None, Some(b)) if plan.proving => Some((true, format!("a VM reached its init under KVM in {:.1} s", b.as_secs_f64()))),
                _ => None,
            };
            if let (Some((kvm, why)), Some(s)) = (verdict, &store) {
                if let Err(e) = s.save(kvm, &why) {
                    say(format!("the accelerator verdict was not kept ({e}): the next run proves it again"));
                }
            }
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
                say(format!("KVM unusable here ({why}); console ({}):\n{}", kvm_console.display(), console_tail(&boot.console, 30)));
                return Ok(EXIT_VM);
            }
        }
        let env_problem = "an environment problem, not a check result";
        let (what, code) = match ran.outcome {
            Outcome::NoBoot => (format!("the VM did not reach its init within {} s ({env_problem})", limits.boot.as_secs()), EXIT_VM),
            Outcome::Stalled => (format!("the VM stopped answering: nothing from it for {} s ({env_problem})", limits.stall.as_secs()), EXIT_VM),
            Outcome::TimedOut => (format!("time limit of {} s reached: qemu killed", args.timeout), EXIT_TIMEOUT),
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
                say(format!("{} exited {rc}; VM {:.1} s, all {:.1} s", run.command[0], ran.took.as_secs_f64(), t0.elapsed().as_secs_f64()));
                return Ok(rc);
            }
        };
        say(format!("{what}; console ({}):\n{}", console_log.display(), console_tail(&boot.console, 30)));
        return Ok(code);
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
            let f = |i: usize| u32::from_str_radix(std::str::from_utf8(&b[6 + i * 8..14 + i * 8]).unwrap(), 16).unwrap();
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
        assert_eq!(names, ["a", "a/b", "a/b/file", "a-x", "bin", "bin/sh", "dev", "dev/console"]);
        let get = |n: &str| e.iter().find(|x| x.0 == n).unwrap();
        assert_eq!(get("a/b/file").1, 0o100644);
        assert_eq!(get("a/b/file").4, b"hello");
        assert_eq!(get("a-x").1, 0o100755);
        assert_eq!(get("a").1, 0o040755);
        assert_eq!((get("bin/sh").1, get("bin/sh").4.as_slice()), (0o120777, b"busybox".as_slice()));
        assert_eq!((get("dev/console").1, get("dev/console").2, get("dev/console").3), (0o020600, 5, 1));
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
        let mut child = Command::new("cpio").arg("-it").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(&buf).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "x\nx/y\n");
    }

    fn inputs() -> Inputs {
        Inputs {
            bin_dir: "/t".into(),
            busybox: "/bin/busybox".into(),
            applets: ["sh", "mount", "ip", "nsenter", "chroot", "cp"].map(String::from).to_vec(),
            host_tools: vec![("nsenter".into(), "/bin/true".into())],
            modules: vec![("nfnetlink".into(), b"m1".to_vec()), ("nf_tables".into(), b"m2".to_vec())],
            runtime: None,
            systemd: None,
        }
    }

    #[test]
    fn initramfs_holds_init_tools_binaries_and_modules_in_order() {
        let run = RunConfig { nonce: "n1".into(), cgroup: CgroupMode::V1, env: vec![("LANG".into(), "ko".into())], command: vec!["grade".into(), "--topic".into(), "it's".into()] };
        let fs = plan_initramfs(&inputs(), &run, &[("labcheck".into(), "/t/labcheck".into())]).unwrap();
        for p in ["init", "lab/init", "dev/console", "newroot", "bin/busybox", "bin/mount", "bin/chroot", "bin/cp", "usr/bin/nsenter", "lab/bin/labcheck", "lab/out"] {
            assert!(fs.has(p), "{p} missing");
        }
        // busybox's ip and nsenter are not installed: the host's or none.
        assert!(!fs.has("bin/ip"));
        assert_eq!(fs.entries["bin/nsenter"], Node::Symlink("/usr/bin/nsenter".into()));
        // /bin/true's libraries came along (ldd).
        assert!(fs.entries.keys().any(|k| k.contains("libc.so")), "{:?}", fs.entries.keys().collect::<Vec<_>>());
        let text = |p: &str| match &fs.entries[p] {
            Node::File { src: Source::Bytes(b), .. } => String::from_utf8(b.clone()).unwrap(),
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
        let out = Command::new("sh").arg("-c").arg(format!("printf %s {}", sh_quote(word))).output().unwrap();
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
                Event::File { name: "r.xml".into(), data: b"hello".to_vec() },
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
        let headers = [sh(0, 0, 0), sh(1, shstr_off, shstr.len()), sh(11, modinfo_off, modinfo.len())].concat();
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
        let index: BTreeMap<String, PathBuf> = files.keys().map(|k| (k.to_string(), PathBuf::from(format!("/m/{k}.ko")))).collect();
        let builtin: BTreeSet<String> = ["crc32c_generic".to_string(), "loop".to_string()].into();
        let mut read = |p: &Path| Ok(files[module_name(&p.file_name().unwrap().to_string_lossy()).unwrap().as_str()].clone());
        let (order, missing) = resolve_modules(&index, &builtin, &["nf-tables", "loop", "veth", "overlay", "nfnetlink"], &mut read).unwrap();
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
        assert_eq!(first_dependency("linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)").as_deref(), Some("linux-image-6.1.0-56-cloud-amd64"));
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
        let v: Vec<String> = qemu_args(&args, AccelKind::Tcg, Path::new("/k"), Path::new("/i"), Path::new("/c,1"), Path::new("/r"))
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        let s = v.join(" ");
        assert!(s.contains("-accel tcg,thread=multi -cpu max"), "{s}");
        assert!(s.contains("file,id=console,path=/c,,1") && s.contains("file,id=results,path=/r"), "{s}");
        assert!(s.contains("-m 1024 -smp 2") && s.contains("-kernel /k -initrd /i"), "{s}");
        assert!(v.iter().position(|a| a == "chardev:console") < v.iter().position(|a| a == "chardev:results"));
        let k = qemu_args(&args, AccelKind::Kvm, Path::new("/k"), Path::new("/i"), Path::new("/c"), Path::new("/r"));
        assert!(k.iter().any(|a| a == "kvm"));
    }
}
