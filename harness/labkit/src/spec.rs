//! What one `run` asks for, validated: the single value the container setup reads.

use std::ffi::OsString;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::cgroups::Limits;

/// A contract-level failure: the flag or thing that was wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {why}")]
pub struct SpecError {
    pub what: String,
    pub why: String,
}

impl SpecError {
    pub fn new(what: impl Into<String>, why: impl Into<String>) -> Self {
        SpecError {
            what: what.into(),
            why: why.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Namespace {
    Pid,
    Uts,
    Mnt,
    Net,
    Ipc,
    User,
    Cgroup,
    Time,
}

impl Namespace {
    pub const ALL: [Namespace; 8] = [
        Namespace::Pid,
        Namespace::Uts,
        Namespace::Mnt,
        Namespace::Net,
        Namespace::Ipc,
        Namespace::User,
        Namespace::Cgroup,
        Namespace::Time,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Namespace::Pid => "pid",
            Namespace::Uts => "uts",
            Namespace::Mnt => "mnt",
            Namespace::Net => "net",
            Namespace::Ipc => "ipc",
            Namespace::User => "user",
            Namespace::Cgroup => "cgroup",
            Namespace::Time => "time",
        }
    }
}

impl FromStr for Namespace {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Namespace::ALL
            .into_iter()
            .find(|n| n.name() == s)
            .ok_or_else(|| format!("unknown namespace {s:?} (known: pid,uts,mnt,net,ipc,user,cgroup,time)"))
    }
}

/// `--ns LIST`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsSet(pub Vec<Namespace>);

impl NsSet {
    pub fn has(&self, n: Namespace) -> bool {
        self.0.contains(&n)
    }
}

impl FromStr for NsSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(format!("empty namespace name in {s:?}"));
            }
            let n: Namespace = part.parse()?;
            if !v.contains(&n) {
                v.push(n);
            }
        }
        v.sort();
        Ok(NsSet(v))
    }
}

/// `--uid-map` / `--gid-map IN:OUT:COUNT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl FromStr for IdMap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let p: Vec<&str> = s.split(':').collect();
        if p.len() != 3 {
            return Err(format!("expected IN:OUT:COUNT, got {s:?}"));
        }
        let num = |what: &str, t: &str| {
            t.parse::<u32>()
                .map_err(|_| format!("{what} must be an integer from 0 to 4294967295, got {t:?}"))
        };
        let m = IdMap {
            inside: num("IN", p[0])?,
            outside: num("OUT", p[1])?,
            count: num("COUNT", p[2])?,
        };
        if m.count == 0 {
            return Err("COUNT must be at least 1".into());
        }
        if m.inside.checked_add(m.count - 1).is_none() || m.outside.checked_add(m.count - 1).is_none() {
            return Err(format!("range {s:?} runs past 4294967295"));
        }
        Ok(m)
    }
}

impl fmt::Display for IdMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.inside, self.outside, self.count)
    }
}

/// Refuses maps whose inside or outside ranges overlap: the kernel rejects them too,
/// but only after the container is half built.
pub fn check_maps(flag: &str, maps: &[IdMap]) -> Result<(), SpecError> {
    let overlaps = |a0: u32, b0: u32, n1: u32, n2: u32| {
        let (a1, b1) = (a0 as u64 + n1 as u64, b0 as u64 + n2 as u64);
        (a0 as u64) < b1 && (b0 as u64) < a1
    };
    if maps.len() > 340 {
        return Err(SpecError::new(flag, "at most 340 ranges are allowed"));
    }
    for (i, a) in maps.iter().enumerate() {
        for b in &maps[i + 1..] {
            if overlaps(a.inside, b.inside, a.count, b.count) {
                return Err(SpecError::new(flag, format!("inside ranges of {a} and {b} overlap")));
            }
            if overlaps(a.outside, b.outside, a.count, b.count) {
                return Err(SpecError::new(flag, format!("outside ranges of {a} and {b} overlap")));
            }
        }
    }
    Ok(())
}

/// An interface address `IP/PFX` (IPv4 or IPv6), kept as text for `ip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    pub ip: std::net::IpAddr,
    pub prefix: u8,
}

impl FromStr for IfAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, pfx) = s
            .split_once('/')
            .ok_or_else(|| format!("expected IP/PREFIX, got {s:?}"))?;
        let ip: std::net::IpAddr = ip.parse().map_err(|_| format!("{ip:?} is not an IP address"))?;
        let prefix: u8 = pfx.parse().map_err(|_| format!("prefix {pfx:?} is not a number"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!("prefix {prefix} is larger than {max}"));
        }
        Ok(IfAddr { ip, prefix })
    }
}

impl fmt::Display for IfAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ip, self.prefix)
    }
}

fn check_ifname(s: &str) -> Result<(), String> {
    // IFNAMSIZ is 16 with the NUL; the kernel also refuses '/', ':' and white space.
    if s.is_empty() || s.len() > 15 || s.contains(['/', ':', ' ', '\t', '\n']) || s == "." || s == ".." {
        return Err(format!(
            "interface name {s:?} must be 1 to 15 characters without '/', ':' or spaces"
        ));
    }
    Ok(())
}

/// `--veth HOSTIF=HOSTIP/PFX,CONTIF=CONTIP/PFX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethSpec {
    pub host_if: String,
    pub host_addr: IfAddr,
    pub cont_if: String,
    pub cont_addr: IfAddr,
}

impl FromStr for VethSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (h, c) = s
            .split_once(',')
            .ok_or_else(|| format!("expected HOSTIF=HOSTIP/PFX,CONTIF=CONTIP/PFX, got {s:?}"))?;
        let side = |t: &str| -> Result<(String, IfAddr), String> {
            let (n, a) = t
                .split_once('=')
                .ok_or_else(|| format!("expected NAME=IP/PFX, got {t:?}"))?;
            check_ifname(n)?;
            Ok((n.to_string(), a.parse()?))
        };
        let (host_if, host_addr) = side(h)?;
        let (cont_if, cont_addr) = side(c)?;
        if host_if == cont_if {
            return Err(format!("host and container interfaces are both named {host_if:?}"));
        }
        if host_addr.ip.is_ipv4() != cont_addr.ip.is_ipv4() {
            return Err("host and container addresses must be of the same IP version".into());
        }
        Ok(VethSpec {
            host_if,
            host_addr,
            cont_if,
            cont_addr,
        })
    }
}

/// `--time-offset monotonic=SECS,boottime=SECS`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeOffsets {
    pub monotonic: i64,
    pub boottime: i64,
}

impl FromStr for TimeOffsets {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut t = TimeOffsets::default();
        for part in s.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("expected CLOCK=SECS, got {part:?}"))?;
            let secs: i64 = v
                .parse()
                .map_err(|_| format!("{k} offset must be whole seconds, got {v:?}"))?;
            // The kernel keeps offsets within +-KTIME_SEC_MAX/2 (about 146 years); refuse early.
            if secs.unsigned_abs() > 4_000_000_000 {
                return Err(format!("{k} offset {secs} is out of range"));
            }
            match k {
                "monotonic" => t.monotonic = secs,
                "boottime" => t.boottime = secs,
                other => return Err(format!("unknown clock {other:?} (known: monotonic, boottime)")),
            }
        }
        Ok(t)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootFs {
    Dir(PathBuf),
    Overlay {
        layers: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
    },
}

/// Everything `run` was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSpec {
    pub ns: NsSet,
    pub root: Option<RootFs>,
    pub hostname: Option<String>,
    pub uid_maps: Vec<IdMap>,
    pub gid_maps: Vec<IdMap>,
    pub veth: Option<VethSpec>,
    pub time_offsets: Option<TimeOffsets>,
    pub cgroup: Option<String>,
    pub limits: Limits,
    pub pid_file: Option<PathBuf>,
    /// OCI layer tarballs stacked above `--layer`s, bottom first (`--layer-tar`).
    pub layer_tars: Vec<PathBuf>,
    /// Where the tarballs are unpacked, by digest (`--layer-store`).
    pub layer_store: Option<PathBuf>,
    pub command: Vec<OsString>,
}

fn need_ns(spec: &RunSpec, flag: &str, ns: Namespace) -> Result<(), SpecError> {
    if spec.ns.has(ns) {
        Ok(())
    } else {
        Err(SpecError::new(flag, format!("needs --ns {}", ns.name())))
    }
}

fn need_dir(flag: &str, p: &Path) -> Result<std::fs::Metadata, SpecError> {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => Ok(m),
        Ok(_) => Err(SpecError::new(flag, format!("{} is not a directory", p.display()))),
        Err(e) => Err(SpecError::new(flag, format!("{}: {e}", p.display()))),
    }
}

impl RunSpec {
    /// Unpacks every `--layer-tar` into the `--layer-store` (once per digest) and
    /// stacks the layers above the `--layer`s; afterwards the root is a plain overlay
    /// of directories. Call after [`RunSpec::validate`].
    pub fn resolve_layer_tars(mut self, how: crate::layers::Unpack) -> Result<RunSpec, crate::layers::LayerError> {
        let tars = std::mem::take(&mut self.layer_tars);
        if let (Some(store), Some(RootFs::Overlay { layers, .. })) = (&self.layer_store, &mut self.root) {
            for t in &tars {
                layers.push(crate::layers::unpack_into_store(store, t, how)?);
            }
        }
        Ok(self)
    }

    /// Cross-flag rules and the file system facts the flags name, checked before
    /// anything is created so that bad input leaves nothing behind.
    // Long: one rule per flag, in the contract's order.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.command.is_empty() {
            return Err(SpecError::new("COMMAND", "missing: give it after `--`"));
        }
        match &self.root {
            Some(RootFs::Dir(d)) => {
                need_ns(self, "--rootfs", Namespace::Mnt)?;
                need_dir("--rootfs", d)?;
            }
            Some(RootFs::Overlay { layers, upper, work }) => {
                need_ns(self, "--layer", Namespace::Mnt)?;
                for l in layers {
                    need_dir("--layer", l)?;
                }
                for t in &self.layer_tars {
                    match std::fs::metadata(t) {
                        Ok(m) if m.is_file() => {}
                        Ok(_) => return Err(SpecError::new("--layer-tar", format!("{} is not a file", t.display()))),
                        Err(e) => return Err(SpecError::new("--layer-tar", format!("{}: {e}", t.display()))),
                    }
                }
                if !self.layer_tars.is_empty() {
                    match &self.layer_store {
                        Some(s) => {
                            need_dir("--layer-store", s)?;
                        }
                        None => return Err(SpecError::new("--layer-tar", "needs --layer-store DIR")),
                    }
                }
                let u = need_dir("--upper", upper)?;
                let w = need_dir("--work", work)?;
                if u.dev() != w.dev() {
                    return Err(SpecError::new(
                        "--upper",
                        format!(
                            "{} and --work {} must be on the same file system",
                            upper.display(),
                            work.display()
                        ),
                    ));
                }
                let (cu, cw) = (canonical(upper), canonical(work));
                if cu.starts_with(&cw) || cw.starts_with(&cu) {
                    return Err(SpecError::new("--work", "must not be inside --upper or contain it"));
                }
            }
            None => {}
        }
        if self.root.is_some() && self.ns.has(Namespace::User) {
            // Setting up /dev creates files in a tmpfs of the new user namespace, which
            // the kernel refuses (EOVERFLOW) to an id it cannot map.
            let zero = |m: &[IdMap]| m.iter().any(|m| m.inside == 0);
            if !zero(&self.uid_maps) || !zero(&self.gid_maps) {
                return Err(SpecError::new(
                    "--ns user",
                    "with a root file system, --uid-map and --gid-map must map id 0 (root inside creates /dev)",
                ));
            }
        }
        if let Some(h) = &self.hostname {
            need_ns(self, "--hostname", Namespace::Uts)?;
            if h.is_empty() || h.len() > 64 || h.contains(['\0', '/']) {
                return Err(SpecError::new("--hostname", format!("{h:?} must be 1 to 64 bytes")));
            }
        }
        if !self.uid_maps.is_empty() {
            need_ns(self, "--uid-map", Namespace::User)?;
            check_maps("--uid-map", &self.uid_maps)?;
        }
        if !self.gid_maps.is_empty() {
            need_ns(self, "--gid-map", Namespace::User)?;
            check_maps("--gid-map", &self.gid_maps)?;
        }
        if self.veth.is_some() {
            need_ns(self, "--veth", Namespace::Net)?;
        }
        if self.time_offsets.is_some() {
            need_ns(self, "--time-offset", Namespace::Time)?;
        }
        if let Some(name) = &self.cgroup {
            // Checked here, before anything exists, and named after the flag.
            crate::cgroups::validate_name(name).map_err(|e| SpecError::new("--cgroup", e.to_string()))?;
        }
        if self.cgroup.is_none() {
            let l = &self.limits;
            let flag = [
                (l.memory.is_some(), "--memory"),
                (l.cpu.is_some(), "--cpus"),
                (l.cpu_weight.is_some(), "--cpu-weight"),
                (l.memory_low.is_some(), "--memory-low"),
                (l.io_weight.is_some(), "--io-weight"),
                (l.pids.is_some(), "--pids"),
                (!l.io_wbps.is_empty(), "--io-wbps"),
                (!l.io_rbps.is_empty(), "--io-rbps"),
                (l.cpuset.is_some(), "--cpuset"),
                (!l.deny_devices.is_empty(), "--deny-device"),
                (l.net_classid.is_some(), "--net-classid"),
            ]
            .into_iter()
            .find(|(set, _)| *set);
            if let Some((_, f)) = flag {
                return Err(SpecError::new(f, "needs --cgroup NAME"));
            }
        }
        if let Some(p) = &self.pid_file {
            let parent = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            need_dir("--pid-file", parent)?;
        }
        Ok(())
    }
}

/// `--cpuset`: every CPU asked for must be online (the kernel refuses the write to
/// `cpuset.cpus` with ERANGE or EINVAL, after the cgroup was made). A host that
/// does not say which CPUs are online (no `online` file) is not second-guessed.
fn check_cpus_online(cpus: &str, online_file: &Path) -> Result<(), SpecError> {
    let Ok(text) = std::fs::read_to_string(online_file) else {
        return Ok(());
    };
    let Ok(online) = crate::cgroups::parse_cpu_list(text.trim()) else {
        return Ok(());
    };
    let wanted = crate::cgroups::parse_cpu_list(cpus).map_err(|e| SpecError::new("--cpuset", e.to_string()))?;
    match wanted.iter().find(|c| !online.contains(c)) {
        Some(c) => Err(SpecError::new(
            "--cpuset",
            format!("CPU {c} is not online on this host (online: {})", text.trim()),
        )),
        None => Ok(()),
    }
}

/// `--io-wbps`/`--io-rbps`: MAJ:MIN must be a block device of this host (the kernel
/// refuses the limit with ENODEV, after the cgroup was made). Without
/// `/sys/dev/block` (no sysfs) the kernel is left to judge.
fn check_block_device(flag: &str, major: u32, minor: u32, sys_dev_block: &Path) -> Result<(), SpecError> {
    if !sys_dev_block.is_dir() || sys_dev_block.join(format!("{major}:{minor}")).exists() {
        return Ok(());
    }
    Err(SpecError::new(
        flag,
        format!(
            "{major}:{minor} is not a block device of this host (no {}/{major}:{minor})",
            sys_dev_block.display()
        ),
    ))
}

impl RunSpec {
    /// Values this host cannot take, which the kernel would refuse only once the
    /// cgroup exists (and then in words naming a cgroup file, not the flag):
    /// `--cpuset` CPUs that are not online, `--io-wbps`/`--io-rbps` devices that
    /// do not exist. Kept apart from [`RunSpec::validate`], which judges the
    /// command line alone.
    pub fn check_host(&self) -> Result<(), SpecError> {
        if let Some(cpus) = &self.limits.cpuset {
            check_cpus_online(cpus, Path::new("/sys/devices/system/cpu/online"))?;
        }
        for (flag, limits) in [("--io-wbps", &self.limits.io_wbps), ("--io-rbps", &self.limits.io_rbps)] {
            for l in limits {
                check_block_device(flag, l.major, l.minor, Path::new("/sys/dev/block"))?;
            }
        }
        Ok(())
    }
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn ns_list_parses_sorted_and_deduplicated() {
        let s: NsSet = "uts,pid,uts".parse().unwrap();
        assert_eq!(s.0, vec![Namespace::Pid, Namespace::Uts]);
        let all: NsSet = "pid,uts,mnt,net,ipc,user,cgroup,time".parse().unwrap();
        assert_eq!(all.0.len(), 8);
    }

    #[rstest]
    #[case("bogus", "unknown namespace \"bogus\"")]
    #[case("pid,", "empty namespace name")]
    fn ns_list_refuses(#[case] s: &str, #[case] msg: &str) {
        let e = s.parse::<NsSet>().unwrap_err();
        assert!(e.contains(msg), "{e}");
    }

    #[test]
    fn id_maps_parse_and_overlaps_are_refused() {
        let a: IdMap = "0:100000:65536".parse().unwrap();
        assert_eq!(
            a,
            IdMap {
                inside: 0,
                outside: 100000,
                count: 65536
            }
        );
        assert!("0:1".parse::<IdMap>().is_err());
        assert!("0:1:0".parse::<IdMap>().is_err());
        assert!("x:1:1".parse::<IdMap>().is_err());
        assert!("4294967295:0:2".parse::<IdMap>().is_err());
        let b: IdMap = "1000:200000:10".parse().unwrap();
        let e = check_maps("--uid-map", &[a, b]).unwrap_err();
        assert!(e.why.contains("inside ranges"), "{e}");
        let c: IdMap = "70000:100005:1".parse().unwrap();
        let e = check_maps("--uid-map", &[a, c]).unwrap_err();
        assert!(e.why.contains("outside ranges"), "{e}");
        let d: IdMap = "70000:500000:1".parse().unwrap();
        assert!(check_maps("--uid-map", &[a, d]).is_ok());
    }

    #[test]
    fn veth_parses() {
        let v: VethSpec = "h0=10.0.0.1/24,c0=10.0.0.2/24".parse().unwrap();
        assert_eq!(v.host_if, "h0");
        assert_eq!(v.cont_addr.to_string(), "10.0.0.2/24");
        for bad in [
            "h0=10.0.0.1/24",
            "h0=10.0.0.1/33,c0=10.0.0.2/24",
            "h0=10.0.0.1,c0=10.0.0.2/24",
            "averyveryverylongname=10.0.0.1/24,c0=10.0.0.2/24",
            "h0=10.0.0.1/24,h0=10.0.0.2/24",
            "h0=10.0.0.1/24,c0=fd00::2/64",
        ] {
            assert!(bad.parse::<VethSpec>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn time_offsets_parse() {
        let t: TimeOffsets = "monotonic=86400,boottime=-5".parse().unwrap();
        assert_eq!(
            t,
            TimeOffsets {
                monotonic: 86400,
                boottime: -5
            }
        );
        let t: TimeOffsets = "boottime=7".parse().unwrap();
        assert_eq!(
            t,
            TimeOffsets {
                monotonic: 0,
                boottime: 7
            }
        );
        assert!("realtime=5".parse::<TimeOffsets>().is_err());
        assert!("monotonic=1.5".parse::<TimeOffsets>().is_err());
    }

    fn spec(ns: &str) -> RunSpec {
        RunSpec {
            ns: ns.parse().unwrap_or_default(),
            command: vec!["true".into()],
            ..Default::default()
        }
    }

    #[test]
    fn flags_that_need_a_namespace_say_which() {
        let mut s = spec("pid");
        s.hostname = Some("box".into());
        assert_eq!(
            s.validate().unwrap_err(),
            SpecError::new("--hostname", "needs --ns uts")
        );
        let mut s = spec("pid");
        s.root = Some(RootFs::Dir("/".into()));
        assert_eq!(s.validate().unwrap_err().what, "--rootfs");
        let mut s = spec("mnt");
        s.limits.memory = Some(1 << 20);
        assert_eq!(
            s.validate().unwrap_err(),
            SpecError::new("--memory", "needs --cgroup NAME")
        );
    }

    #[test]
    fn user_namespace_with_a_root_needs_root_mapped() {
        let mut s = spec("user,mnt");
        s.root = Some(RootFs::Dir("/".into()));
        assert_eq!(s.validate().unwrap_err().what, "--ns user");
        s.uid_maps = vec!["0:100000:1".parse().unwrap()];
        s.gid_maps = vec!["1:100000:1".parse().unwrap()];
        assert_eq!(s.validate().unwrap_err().what, "--ns user");
        s.gid_maps = vec!["0:100000:1".parse().unwrap()];
        s.validate().unwrap();
    }

    #[test]
    fn overlay_dirs_are_checked() {
        let t = tempfile::tempdir().unwrap();
        let (l, u, w) = (t.path().join("l"), t.path().join("u"), t.path().join("w"));
        for d in [&l, &u, &w] {
            std::fs::create_dir(d).unwrap();
        }
        let mut s = spec("mnt");
        s.root = Some(RootFs::Overlay {
            layers: vec![l.clone()],
            upper: u.clone(),
            work: w.clone(),
        });
        s.validate().unwrap();
        s.root = Some(RootFs::Overlay {
            layers: vec![t.path().join("missing")],
            upper: u,
            work: w,
        });
        let e = s.validate().unwrap_err();
        assert_eq!(e.what, "--layer");
        assert!(e.why.contains("missing"), "{e}");
    }

    #[test]
    fn cgroup_names_cpus_and_devices_are_checked_before_anything_exists() {
        let mut s = spec("");
        s.cgroup = Some("../escape".into());
        let e = s.validate().unwrap_err();
        assert_eq!(e.what, "--cgroup");
        assert!(e.why.contains("../escape"), "{e}");
        let t = tempfile::tempdir().unwrap();
        let online = t.path().join("online");
        std::fs::write(&online, "0-1\n").unwrap();
        check_cpus_online("0-1", &online).unwrap();
        let e = check_cpus_online("0,4096", &online).unwrap_err();
        assert!(
            e.what == "--cpuset" && e.why.contains("CPU 4096") && e.why.contains("0-1"),
            "{e}"
        );
        check_cpus_online("4096", &t.path().join("missing")).unwrap();
        std::fs::create_dir(t.path().join("7:0")).unwrap();
        check_block_device("--io-wbps", 7, 0, t.path()).unwrap();
        let e = check_block_device("--io-rbps", 4095, 4095, t.path()).unwrap_err();
        assert!(e.what == "--io-rbps" && e.why.contains("4095:4095"), "{e}");
        check_block_device("--io-wbps", 4095, 4095, &t.path().join("no-sysfs")).unwrap();
    }

    #[test]
    fn empty_command_is_refused() {
        let mut s = spec("");
        s.command.clear();
        assert_eq!(s.validate().unwrap_err().what, "COMMAND");
    }
}
