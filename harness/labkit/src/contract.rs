//! The runtime contract's command line (exercises/CONTRACT.md): `RUNTIME run
//! [OPTIONS] -- COMMAND`, its options as typed values and its exit statuses. The
//! reference runtime and the OCI adapter parse the same options with the same
//! parser, so they cannot drift apart.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cgroups::{
    parse_bytes, parse_cpu_list, parse_cpu_weight, parse_io_weight, CpuMax, DeviceRule, IoLimit, Limits,
};
use crate::spec::{IdMap, NsSet, RootFs, RunSpec, TimeOffsets, VethSpec};

/// With a root file system, /proc files that show the host's kernel to whoever may
/// read them (kernel memory, every key's description, timers and scheduler state
/// of all processes): masked, a bind of /dev/null over each (contract 1.2; runc's
/// default set). Those the kernel has not got are nothing to hide.
pub const MASKED_PROC_FILES: [&str; 5] = ["kcore", "keys", "timer_list", "sched_debug", "latency_stats"];
/// With a root file system, /proc directories of the host's hardware: masked, an
/// empty read-only tmpfs over each.
pub const MASKED_PROC_DIRS: [&str; 2] = ["acpi", "scsi"];
/// With a root file system, knobs of the whole machine in /proc: read-only
/// (one byte to sysrq-trigger crashes or reboots the machine).
pub const READ_ONLY_PROC: [&str; 5] = ["sysrq-trigger", "sys", "irq", "bus", "fs"];
/// With a root file system and a sysfs mounted, its firmware directory (ACPI
/// tables, EFI variables, whose removal can brick a machine): masked.
pub const MASKED_SYS_DIRS: [&str; 1] = ["firmware"];

/// The runtime could not run the command (bad option, setup failure): stderr has
/// one `runtime error: ...` line.
pub const EXIT_RUNTIME: i32 = 125;
/// COMMAND was found but could not be executed (a directory, no permission).
pub const EXIT_CANNOT_EXEC: i32 = 126;
/// COMMAND was not found in the container.
pub const EXIT_NOT_FOUND: i32 = 127;
/// The exit status when COMMAND cannot be executed: 127 when it is not there
/// (ENOENT, or a path through a non-directory), 126 when it is but cannot run
/// (a directory, no permission, not an executable format), as shells do.
pub fn exec_failure_status(errno: i32) -> i32 {
    if errno == libc::ENOENT || errno == libc::ENOTDIR {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_EXEC
    }
}

/// The environment variable naming the parent of every container cgroup.
pub const CGROUP_PARENT_ENV: &str = "LAB_CGROUP_PARENT";

/// `RUNTIME run ...` alone, for runtimes that parse the contract's run line.
#[derive(Debug, Parser)]
#[command(name = "runtime")]
struct ContractLine {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    Run(RunArgs),
}

/// Parses the arguments after `run` into a spec; the error is one line naming the flag.
pub fn parse_run(args: &[OsString]) -> Result<RunSpec, String> {
    let argv = ["runtime".into(), "run".into()]
        .into_iter()
        .chain(args.iter().cloned())
        .collect::<Vec<OsString>>();
    match ContractLine::try_parse_from(argv) {
        Ok(ContractLine { verb: Verb::Run(r) }) => Ok(r.into_spec()),
        Err(e) => Err(one_line(&e)),
    }
}

/// net_cls class ids are usually written 0xMMMMmmmm (major:minor of a tc class).
fn class_id(s: &str) -> Result<u32, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse::<u32>(),
    };
    r.map_err(|_| format!("expected a 32-bit class id, decimal or 0x hex, got {s:?}"))
}

fn cpu_list(s: &str) -> Result<String, String> {
    parse_cpu_list(s)
        .map(|_| s.trim().to_string())
        .map_err(|e| e.to_string())
}

// Numeric values take `allow_hyphen_values`: a negative number such as `--pids -1`
// is then refused by the flag's own parser, naming the flag, instead of being
// taken for an unknown option.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("layers").args(["layer", "layer_tar"]).multiple(true)))]
pub struct RunArgs {
    /// Namespaces to create: comma list of pid,uts,mnt,net,ipc,user,cgroup,time.
    #[arg(long, value_name = "LIST")]
    pub ns: Option<NsSet>,
    /// Root file system directory, entered with pivot_root.
    #[arg(long, value_name = "DIR", conflicts_with = "layers")]
    pub rootfs: Option<PathBuf>,
    /// Read-only overlay layer, bottom layer first (repeatable).
    #[arg(long, value_name = "DIR", requires_all = ["upper", "work"])]
    pub layer: Vec<PathBuf>,
    /// OCI layer tarball stacked above every --layer, bottom first (repeatable).
    #[arg(long = "layer-tar", value_name = "TAR", requires_all = ["layer_store", "upper", "work"])]
    pub layer_tar: Vec<PathBuf>,
    /// Where --layer-tar tarballs are unpacked, once each, by SHA-256 digest.
    #[arg(long = "layer-store", value_name = "DIR", requires = "layer_tar")]
    pub layer_store: Option<PathBuf>,
    /// Writable overlay layer.
    #[arg(long, value_name = "DIR", requires_all = ["layers", "work"])]
    pub upper: Option<PathBuf>,
    /// Overlay work directory, on the same file system as --upper.
    #[arg(long, value_name = "DIR", requires_all = ["layers", "upper"])]
    pub work: Option<PathBuf>,
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    #[arg(long = "uid-map", value_name = "IN:OUT:COUNT", allow_hyphen_values = true)]
    pub uid_map: Vec<IdMap>,
    #[arg(long = "gid-map", value_name = "IN:OUT:COUNT", allow_hyphen_values = true)]
    pub gid_map: Vec<IdMap>,
    #[arg(long, value_name = "HOSTIF=HOSTIP/PFX,CONTIF=CONTIP/PFX")]
    pub veth: Option<VethSpec>,
    #[arg(long = "time-offset", value_name = "monotonic=SECS,boottime=SECS")]
    pub time_offset: Option<TimeOffsets>,
    /// Name of the container's cgroup, created under $LAB_CGROUP_PARENT.
    #[arg(long, value_name = "NAME")]
    pub cgroup: Option<String>,
    /// Hard memory limit (bytes, or K/M/G); swap is turned off.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, allow_hyphen_values = true)]
    pub memory: Option<u64>,
    #[arg(long, value_name = "QUOTA_US/PERIOD_US", allow_hyphen_values = true)]
    pub cpus: Option<CpuMax>,
    /// Memory the kernel protects from reclaim (v2 memory.low).
    #[arg(long = "memory-low", value_name = "BYTES", value_parser = parse_bytes, allow_hyphen_values = true)]
    pub memory_low: Option<u64>,
    /// CPU weight, 1..=10000 (v2 cpu.weight; v1 cpu.shares = W * 1024 / 100).
    #[arg(long = "cpu-weight", value_name = "W", value_parser = parse_cpu_weight, allow_hyphen_values = true)]
    pub cpu_weight: Option<u64>,
    /// Block I/O weight, 1..=1000 (v2 io.bfq.weight, v1 blkio.bfq.weight: BFQ's).
    #[arg(long = "io-weight", value_name = "W", value_parser = parse_io_weight, allow_hyphen_values = true)]
    pub io_weight: Option<u64>,
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids: Option<u64>,
    #[arg(long = "io-wbps", value_name = "MAJ:MIN:BPS", allow_hyphen_values = true)]
    pub io_wbps: Vec<IoLimit>,
    #[arg(long = "io-rbps", value_name = "MAJ:MIN:BPS", allow_hyphen_values = true)]
    pub io_rbps: Vec<IoLimit>,
    #[arg(long, value_name = "CPUS", value_parser = cpu_list, allow_hyphen_values = true)]
    pub cpuset: Option<String>,
    #[arg(long = "deny-device", value_name = "c|b:MAJ:MIN", allow_hyphen_values = true)]
    pub deny_device: Vec<DeviceRule>,
    #[arg(long = "net-classid", value_name = "ID", value_parser = class_id, allow_hyphen_values = true)]
    pub net_classid: Option<u32>,
    /// Write the host PID of the container's first process here before the command runs.
    #[arg(long = "pid-file", value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

impl RunArgs {
    pub fn into_spec(self) -> RunSpec {
        let layered = !self.layer.is_empty() || !self.layer_tar.is_empty();
        let root = match (self.rootfs, !layered) {
            (Some(d), _) => Some(RootFs::Dir(d)),
            (None, false) => Some(RootFs::Overlay {
                layers: self.layer,
                upper: self.upper.unwrap_or_default(),
                work: self.work.unwrap_or_default(),
            }),
            (None, true) => None,
        };
        RunSpec {
            ns: self.ns.unwrap_or_default(),
            root,
            hostname: self.hostname,
            uid_maps: self.uid_map,
            gid_maps: self.gid_map,
            veth: self.veth,
            time_offsets: self.time_offset,
            cgroup: self.cgroup,
            limits: Limits {
                memory: self.memory,
                cpu: self.cpus,
                cpu_weight: self.cpu_weight,
                memory_low: self.memory_low,
                io_weight: self.io_weight,
                pids: self.pids,
                io_wbps: self.io_wbps,
                io_rbps: self.io_rbps,
                cpuset: self.cpuset,
                deny_devices: self.deny_device,
                net_classid: self.net_classid,
            },
            pid_file: self.pid_file,
            layer_tars: self.layer_tar,
            layer_store: self.layer_store,
            command: self.command,
        }
    }
}

/// clap's message, folded into the one line the contract wants after `runtime error:`.
pub fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    if parts.is_empty() {
        return "bad usage".into();
    }
    parts.join(" ").trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Namespace;

    fn parse(args: &[&str]) -> Result<RunSpec, String> {
        parse_run(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn full_run_line_parses() {
        let s = parse(&[
            "--ns",
            "pid,mnt,uts",
            "--hostname",
            "box",
            "--layer",
            "/a",
            "--layer",
            "/b",
            "--upper",
            "/u",
            "--work",
            "/w",
            "--cgroup",
            "c1",
            "--memory",
            "64M",
            "--cpus",
            "20000/100000",
            "--pids",
            "10",
            "--io-wbps",
            "7:0:1M",
            "--deny-device",
            "c:1:3",
            "--cpuset",
            "0",
            "--pid-file",
            "/tmp/p",
            "--",
            "/bin/probe",
            "facts",
            "--flag",
        ])
        .unwrap();
        assert_eq!(s.ns.0, vec![Namespace::Pid, Namespace::Uts, Namespace::Mnt]);
        assert_eq!(
            s.root,
            Some(RootFs::Overlay {
                layers: vec!["/a".into(), "/b".into()],
                upper: "/u".into(),
                work: "/w".into()
            })
        );
        assert_eq!(s.limits.memory, Some(64 << 20));
        assert_eq!(s.limits.pids, Some(10));
        assert_eq!(s.limits.cpuset.as_deref(), Some("0"));
        assert_eq!(
            s.command,
            vec![OsString::from("/bin/probe"), "facts".into(), "--flag".into()]
        );
    }

    #[test]
    fn errors_name_the_flag() {
        let e = parse(&["--memory", "lots", "--", "true"]).unwrap_err();
        assert!(e.contains("--memory") && e.contains("lots"), "{e}");
        let e = parse(&["--ns", "pid,bogus", "--", "true"]).unwrap_err();
        assert!(e.contains("--ns") && e.contains("bogus"), "{e}");
        let e = parse(&[
            "--rootfs", "/r", "--layer", "/a", "--upper", "/u", "--work", "/w", "--", "true",
        ])
        .unwrap_err();
        assert!(e.contains("--rootfs") || e.contains("--layer"), "{e}");
        let e = parse(&["--layer", "/a", "--", "true"]).unwrap_err();
        assert!(e.contains("--upper") || e.contains("--work"), "{e}");
        let e = parse(&["--cpuset", "3-1", "--", "true"]).unwrap_err();
        assert!(e.contains("--cpuset"), "{e}");
        assert!(!e.contains('\n'));
        for (flag, value) in [
            ("--memory", "-5"),
            ("--pids", "-1"),
            ("--cpus", "-1000/100000"),
            ("--cpu-weight", "0"),
            ("--cpu-weight", "10001"),
            ("--memory-low", "-1"),
            ("--uid-map", "-1:0:1"),
        ] {
            let e = parse(&["--ns", "user", "--cgroup", "c", flag, value, "--", "true"]).unwrap_err();
            assert!(e.contains(flag) && e.contains(value), "{flag} {value}: {e}");
        }
    }

    #[test]
    fn layer_tarballs_need_a_store_and_stack_above_the_layers() {
        let e = parse(&[
            "--ns",
            "mnt",
            "--layer-tar",
            "/t.tar",
            "--upper",
            "/u",
            "--work",
            "/w",
            "--",
            "true",
        ])
        .unwrap_err();
        assert!(e.contains("--layer-store"), "{e}");
        let s = parse(&[
            "--ns",
            "mnt",
            "--layer",
            "/base",
            "--layer-tar",
            "/a.tar",
            "--layer-tar",
            "/b.tar",
            "--layer-store",
            "/s",
            "--upper",
            "/u",
            "--work",
            "/w",
            "--",
            "true",
        ])
        .unwrap();
        assert_eq!(s.layer_tars, [PathBuf::from("/a.tar"), PathBuf::from("/b.tar")]);
        assert_eq!(s.layer_store, Some(PathBuf::from("/s")));
        assert!(matches!(s.root, Some(RootFs::Overlay { ref layers, .. }) if layers == &[PathBuf::from("/base")]));
        // Tarballs alone are enough for --upper and --work, and exclude --rootfs.
        assert!(parse(&[
            "--ns",
            "mnt",
            "--layer-tar",
            "/a.tar",
            "--layer-store",
            "/s",
            "--upper",
            "/u",
            "--work",
            "/w",
            "--",
            "true"
        ])
        .is_ok());
        let e = parse(&[
            "--rootfs",
            "/r",
            "--layer-tar",
            "/a.tar",
            "--layer-store",
            "/s",
            "--upper",
            "/u",
            "--work",
            "/w",
            "--",
            "true",
        ])
        .unwrap_err();
        assert!(e.contains("--rootfs") || e.contains("--layer-tar"), "{e}");
    }

    #[test]
    fn exec_failures_map_as_shells_do() {
        assert_eq!(exec_failure_status(libc::ENOENT), 127);
        assert_eq!(exec_failure_status(libc::ENOTDIR), 127);
        assert_eq!(exec_failure_status(libc::EACCES), 126);
        assert_eq!(exec_failure_status(libc::ENOEXEC), 126);
    }

    #[test]
    fn class_ids_take_decimal_and_hex() {
        assert_eq!(class_id("0x100001"), Ok(0x100001));
        assert_eq!(class_id("16"), Ok(16));
        assert!(class_id("0xzz").is_err());
        assert!(class_id("-1").is_err());
    }

    #[test]
    fn unknown_flags_are_not_taken_for_the_command() {
        let e = parse(&["--bogus", "--", "true"]).unwrap_err();
        assert!(e.contains("--bogus"), "{e}");
        let s = parse(&["--", "--weird-name", "-x"]).unwrap();
        assert_eq!(s.command, vec![OsString::from("--weird-name"), "-x".into()]);
    }

    #[test]
    fn command_without_separator_is_taken_whole() {
        let s = parse(&["--ns", "pid", "echo", "-n", "hi"]).unwrap();
        assert_eq!(s.command, vec![OsString::from("echo"), "-n".into(), "hi".into()]);
    }
}
