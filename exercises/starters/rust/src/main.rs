//! my-runtime: a container runtime for the lab's runtime contract
//! (exercises/CONTRACT.md), the Rust starter kit of the container-internals course.
//!
//! ```text
//! my-runtime run [OPTIONS] -- COMMAND [ARG...]
//! my-runtime pause NAME | resume NAME | stats NAME
//! ```
//!
//! Given and complete: the command line (this file, `spec.rs`), the start of a
//! container without isolation, the exit statuses, `--pid-file` and signal
//! forwarding (`run.rs`), and where cgroups go (`cgpath.rs`).
//!
//! Yours: the steps in `steps/` (one function per step, each a `todo!()` naming
//! its exercise). When an exercise's steps are written, add its id to
//! `steps::DONE`: until then any option that needs it is refused with
//! `runtime error: <option> needs exercise <id> (not implemented yet)` and exit
//! status 125, so the checks see a clean failure, not a panic.

mod cgpath;
mod run;
mod spec;
mod steps;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use spec::{
    parse_bytes, parse_cgroup_name, parse_classid, parse_cpu_list, CpuMax, DeviceRule, IdMap,
    IoLimit, Limits, Namespace, NsSet, RootFs, RunSpec, TimeOffsets, Veth,
};

/// Exit status of `run` when the runtime itself fails, bad usage included.
pub const RUNTIME_FAILED: u8 = 125;

#[derive(Debug, Parser)]
#[command(
    name = "my-runtime",
    version,
    about = "A container runtime for the lab's runtime contract"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Run COMMAND in a new container.
    Run(RunArgs),
    /// Freeze every process of cgroup NAME.
    Pause {
        #[arg(value_parser = parse_cgroup_name)]
        name: String,
    },
    /// Thaw cgroup NAME.
    Resume {
        #[arg(value_parser = parse_cgroup_name)]
        name: String,
    },
    /// Print one JSON object (one line) about cgroup NAME.
    Stats {
        #[arg(value_parser = parse_cgroup_name)]
        name: String,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Namespaces to create: comma list of pid,uts,mnt,net,ipc,user,cgroup,time.
    #[arg(long, value_name = "LIST")]
    ns: Option<NsSet>,
    /// Root file system directory (needs mnt; not with --layer).
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    /// Overlay layer, bottom layer first (repeatable; needs mnt, --upper, --work).
    #[arg(long, value_name = "DIR")]
    layer: Vec<PathBuf>,
    /// OCI layer tarball above every --layer, bottom first (repeatable; needs --layer-store).
    #[arg(long = "layer-tar", value_name = "TAR")]
    layer_tar: Vec<PathBuf>,
    /// Where --layer-tar tarballs are unpacked, once each, by SHA-256 digest.
    #[arg(long = "layer-store", value_name = "DIR")]
    layer_store: Option<PathBuf>,
    /// Overlay upper directory (needs --layer).
    #[arg(long, value_name = "DIR")]
    upper: Option<PathBuf>,
    /// Overlay work directory, same file system as --upper (needs --layer).
    #[arg(long, value_name = "DIR")]
    work: Option<PathBuf>,
    /// Host name inside, at most 64 bytes (needs uts).
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// One line of uid_map (repeatable; needs user).
    #[arg(long = "uid-map", value_name = "IN:OUT:COUNT")]
    uid_map: Vec<IdMap>,
    /// One line of gid_map (repeatable; needs user).
    #[arg(long = "gid-map", value_name = "IN:OUT:COUNT")]
    gid_map: Vec<IdMap>,
    /// A veth pair, IPv4 addresses (needs net).
    #[arg(long, value_name = "HOSTIF=HOSTIP/PFX,CONTIF=CONTIP/PFX")]
    veth: Option<Veth>,
    /// Clock offsets in signed seconds (needs time).
    #[arg(
        long = "time-offset",
        value_name = "monotonic=SECS,boottime=SECS",
        allow_hyphen_values = true
    )]
    time_offset: Option<TimeOffsets>,
    /// The container's cgroup, created under $LAB_CGROUP_PARENT.
    #[arg(long, value_name = "NAME", value_parser = parse_cgroup_name)]
    cgroup: Option<String>,
    /// Memory limit: bytes, or a number with K, M or G (needs --cgroup).
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    memory: Option<u64>,
    /// CPU quota (needs --cgroup).
    #[arg(long, value_name = "QUOTA_US/PERIOD_US")]
    cpus: Option<CpuMax>,
    /// CPU weight when cgroups compete, 1..=10000 (needs --cgroup).
    #[arg(long = "cpu-weight", value_name = "W", value_parser = clap::value_parser!(u64).range(1..=10000))]
    cpu_weight: Option<u64>,
    /// Memory protected from reclaim: bytes, or a number with K, M or G (needs --cgroup).
    #[arg(long = "memory-low", value_name = "BYTES", value_parser = parse_bytes)]
    memory_low: Option<u64>,
    /// Block I/O weight when cgroups compete for a device, 1..=1000 (needs --cgroup).
    #[arg(long = "io-weight", value_name = "W", value_parser = clap::value_parser!(u64).range(1..=1000))]
    io_weight: Option<u64>,
    /// Maximum number of tasks (needs --cgroup).
    #[arg(long, value_name = "N")]
    pids: Option<u64>,
    /// Write limit (repeatable; needs --cgroup).
    #[arg(long = "io-wbps", value_name = "MAJ:MIN:BPS")]
    io_wbps: Vec<IoLimit>,
    /// Read limit (repeatable; needs --cgroup).
    #[arg(long = "io-rbps", value_name = "MAJ:MIN:BPS")]
    io_rbps: Vec<IoLimit>,
    /// CPUs the container may use, a kernel cpu list (needs --cgroup).
    #[arg(long, value_name = "CPUS", value_parser = parse_cpu_list)]
    cpuset: Option<String>,
    /// Deny a device (repeatable; needs --cgroup).
    #[arg(long = "deny-device", value_name = "c|b:MAJ:MIN")]
    deny_device: Vec<DeviceRule>,
    /// net_cls class id, decimal or 0x hex; cgroup v1 only (needs --cgroup).
    #[arg(long = "net-classid", value_name = "ID", value_parser = parse_classid)]
    net_classid: Option<u32>,
    /// Where to write the host PID of the container's first process.
    #[arg(long = "pid-file", value_name = "PATH")]
    pid_file: Option<PathBuf>,
    /// The command and its arguments, after `--`.
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

impl RunArgs {
    /// The "Needs" column of the contract, and the rest of what is not syntax.
    fn into_spec(self) -> Result<RunSpec, String> {
        let ns = self.ns.unwrap_or_default();
        let need = |cond: bool, msg: &str| if cond { Ok(()) } else { Err(msg.to_string()) };
        need(
            self.command.first().is_some_and(|c| !c.is_empty()),
            "COMMAND: missing: give it after `--`",
        )?;
        need(
            self.layer_tar.is_empty() || self.layer_store.is_some(),
            "--layer-tar needs --layer-store DIR",
        )?;
        // A tarball is a layer as a --layer is: the rules below hold for both.
        let mut layer = self.layer;
        let tars_given = !self.layer_tar.is_empty();
        if tars_given && layer.is_empty() {
            // The tarballs' directories are only known once unpacked (in dispatch).
            layer.push(PathBuf::new());
        }
        let layer_given = !layer.is_empty();
        need(
            self.rootfs.is_none() || !layer_given,
            "--rootfs and --layer exclude each other",
        )?;
        need(
            self.rootfs.is_none() || ns.has(Namespace::Mnt),
            "--rootfs needs --ns mnt",
        )?;
        if layer_given {
            need(ns.has(Namespace::Mnt), "--layer needs --ns mnt")?;
            need(
                self.upper.is_some() && self.work.is_some(),
                "--layer needs --upper and --work",
            )?;
        }
        need(
            self.upper.is_none() || layer_given,
            "--upper needs --layer",
        )?;
        need(
            self.work.is_none() || layer_given,
            "--work needs --layer",
        )?;
        if let Some(h) = &self.hostname {
            need(ns.has(Namespace::Uts), "--hostname needs --ns uts")?;
            need(
                (1..=64).contains(&h.len()),
                &format!("--hostname: {h:?} must be 1 to 64 bytes"),
            )?;
        }
        need(
            self.uid_map.is_empty() || ns.has(Namespace::User),
            "--uid-map needs --ns user",
        )?;
        need(
            self.gid_map.is_empty() || ns.has(Namespace::User),
            "--gid-map needs --ns user",
        )?;
        need(
            self.veth.is_none() || ns.has(Namespace::Net),
            "--veth needs --ns net",
        )?;
        need(
            self.time_offset.is_none() || ns.has(Namespace::Time),
            "--time-offset needs --ns time",
        )?;
        let limits = Limits {
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
        };
        if self.cgroup.is_none() {
            for (given, flag) in [
                (limits.memory.is_some(), "--memory"),
                (limits.cpu.is_some(), "--cpus"),
                (limits.cpu_weight.is_some(), "--cpu-weight"),
                (limits.memory_low.is_some(), "--memory-low"),
                (limits.io_weight.is_some(), "--io-weight"),
                (limits.pids.is_some(), "--pids"),
                (!limits.io_wbps.is_empty(), "--io-wbps"),
                (!limits.io_rbps.is_empty(), "--io-rbps"),
                (limits.cpuset.is_some(), "--cpuset"),
                (!limits.deny_devices.is_empty(), "--deny-device"),
                (limits.net_classid.is_some(), "--net-classid"),
            ] {
                need(!given, &format!("{flag} needs --cgroup NAME"))?;
            }
        }
        let layer: Vec<PathBuf> = layer.into_iter().filter(|l| !l.as_os_str().is_empty()).collect();
        let root = match (self.rootfs, !layer_given) {
            (Some(d), _) => Some(RootFs::Dir(d)),
            (None, false) => Some(RootFs::Overlay {
                layers: layer,
                upper: self.upper.unwrap_or_default(),
                work: self.work.unwrap_or_default(),
            }),
            (None, true) => None,
        };
        // With a root file system, root inside creates the files of /dev: id 0 must be mapped.
        if ns.has(Namespace::User) && root.is_some() {
            let zero = |maps: &[IdMap]| maps.iter().any(|m| m.inside == 0);
            need(
                zero(&self.uid_map) && zero(&self.gid_map),
                "--ns user with a root file system needs --uid-map and --gid-map that map id 0",
            )?;
        }
        match &root {
            Some(RootFs::Dir(d)) => check_dir("--rootfs", d)?,
            Some(RootFs::Overlay {
                layers,
                upper,
                work,
            }) => {
                for (flag, d) in layers
                    .iter()
                    .map(|l| ("--layer", l))
                    .chain([("--upper", upper), ("--work", work)])
                {
                    check_dir(flag, d)?;
                    if d.to_string_lossy().contains([',', ':', '\\']) {
                        return Err(format!(
                            "{flag} {}: a path holding ',', ':' or '\\' cannot be passed in overlay options",
                            d.display()
                        ));
                    }
                }
            }
            None => {}
        }
        Ok(RunSpec {
            ns,
            root,
            hostname: self.hostname,
            uid_maps: self.uid_map,
            gid_maps: self.gid_map,
            veth: self.veth,
            time_offsets: self.time_offset,
            cgroup: self.cgroup,
            limits,
            pid_file: self.pid_file,
            layer_tars: self.layer_tar,
            layer_store: self.layer_store,
            command: self.command,
        })
    }
}

fn check_dir(flag: &str, d: &std::path::Path) -> Result<(), String> {
    match std::fs::metadata(d) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("{flag} {}: Not a directory (ENOTDIR)", d.display())),
        Err(e) => {
            let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0));
            Err(format!(
                "{flag} {}: {} ({errno:?})",
                d.display(),
                errno.desc()
            ))
        }
    }
}

/// Which exercise each requested option needs, in course order: (option, id).
fn needed_exercises(spec: &RunSpec) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = Vec::new();
    for ns in &spec.ns.0 {
        let id = match ns {
            Namespace::Pid => "ns-pid",
            Namespace::Uts => "ns-uts",
            // The mount namespace itself is made in ns-pid (a fresh /proc needs
            // one); ns-mount adds the root file system (--rootfs, below).
            Namespace::Mnt => "ns-pid",
            Namespace::Ipc => "ns-ipc",
            Namespace::Net => "ns-net",
            Namespace::User => "ns-user",
            Namespace::Cgroup | Namespace::Time => "ns-cgroup-time",
        };
        v.push((format!("--ns {}", ns.name()), id));
    }
    let mut opt = |given: bool, flag: &str, id: &'static str| {
        if given {
            v.push((flag.to_string(), id));
        }
    };
    opt(
        matches!(spec.root, Some(RootFs::Dir(_))),
        "--rootfs",
        "ns-mount",
    );
    opt(
        matches!(spec.root, Some(RootFs::Overlay { .. })),
        "--layer",
        "ns-mount",
    );
    opt(
        matches!(spec.root, Some(RootFs::Overlay { .. })),
        "--layer",
        "ufs-layers",
    );
    opt(!spec.layer_tars.is_empty(), "--layer-tar", "ufs-images");
    opt(spec.hostname.is_some(), "--hostname", "ns-uts");
    opt(spec.veth.is_some(), "--veth", "ns-net");
    opt(!spec.uid_maps.is_empty(), "--uid-map", "ns-user");
    opt(!spec.gid_maps.is_empty(), "--gid-map", "ns-user");
    opt(
        spec.time_offsets.is_some(),
        "--time-offset",
        "ns-cgroup-time",
    );
    let l = &spec.limits;
    // A cgroup namespace needs a cgroup of its own: the cgroup comes with it.
    opt(spec.cgroup.is_some(), "--cgroup", "ns-cgroup-time");
    opt(l.memory.is_some(), "--memory", "cg-memory");
    opt(l.cpu.is_some(), "--cpus", "cg-cpu");
    opt(l.cpu_weight.is_some(), "--cpu-weight", "cg-guarantee");
    opt(l.memory_low.is_some(), "--memory-low", "cg-guarantee");
    opt(l.io_weight.is_some(), "--io-weight", "cg-guarantee");
    opt(l.pids.is_some(), "--pids", "cg-pids");
    opt(l.cpuset.is_some(), "--cpuset", "cg-cpuset");
    opt(!l.io_wbps.is_empty(), "--io-wbps", "cg-io");
    opt(!l.io_rbps.is_empty(), "--io-rbps", "cg-io");
    opt(!l.deny_devices.is_empty(), "--deny-device", "cg-devices");
    opt(l.net_classid.is_some(), "--net-classid", "cg-net-cls");
    v
}

fn not_done(option: &str, id: &str) -> anyhow::Error {
    anyhow::anyhow!("{option} needs exercise {id} (not implemented yet)")
}

fn dispatch(cmd: Command) -> anyhow::Result<u8> {
    match cmd {
        Command::Run(args) => {
            let mut spec = args.into_spec().map_err(anyhow::Error::msg)?;
            if let Some((option, id)) = needed_exercises(&spec)
                .into_iter()
                .find(|(_, id)| !steps::is_done(id))
            {
                return Err(not_done(&option, id));
            }
            // Host side, before anything else: the tarballs become layer directories.
            if let (Some(store), Some(RootFs::Overlay { layers, .. })) = (&spec.layer_store, &mut spec.root) {
                for t in &spec.layer_tars {
                    layers.push(steps::overlay::unpack_layer_tar(store, t)?);
                }
            }
            let status = run::run(&spec)?;
            Ok(status.clamp(0, 255) as u8)
        }
        Command::Pause { name } => {
            if !steps::is_done("cg-freezer") {
                return Err(not_done("pause", "cg-freezer"));
            }
            steps::cgroups::pause(&name)?;
            Ok(0)
        }
        Command::Resume { name } => {
            if !steps::is_done("cg-freezer") {
                return Err(not_done("resume", "cg-freezer"));
            }
            steps::cgroups::resume(&name)?;
            Ok(0)
        }
        Command::Stats { name } => {
            if !steps::is_done("cg-monitoring") {
                return Err(not_done("stats", "cg-monitoring"));
            }
            println!("{}", steps::cgroups::stats(&name)?);
            Ok(0)
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!(
                "runtime error: missing subcommand: run, pause, resume or stats (see --help)"
            );
            return ExitCode::from(RUNTIME_FAILED);
        }
        Err(e) => {
            // clap's message, folded into the one line the contract asks for.
            let text = e.render().to_string();
            let parts: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                .collect();
            let line = if parts.is_empty() {
                "bad usage".to_string()
            } else {
                parts.join(" ")
            };
            eprintln!("runtime error: {}", line.trim_start_matches("error: "));
            return ExitCode::from(RUNTIME_FAILED);
        }
    };
    match dispatch(cli.command) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("runtime error: {e:#}");
            ExitCode::from(RUNTIME_FAILED)
        }
    }
}
