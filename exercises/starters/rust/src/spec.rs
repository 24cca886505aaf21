//! What `run` was asked to do, parsed and checked: the values of every option
//! of the runtime contract (exercises/CONTRACT.md, section 2). Given, complete:
//! you should not need to change this file.

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;

// ------------------------------------------------------------------ namespaces

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// `--ns LIST`: the namespaces asked for, each once, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsSet(pub Vec<Namespace>);

impl NsSet {
    pub fn has(&self, ns: Namespace) -> bool {
        self.0.contains(&ns)
    }
}

impl FromStr for NsSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut set = Vec::new();
        for item in s.split(',') {
            if item.is_empty() {
                return Err(format!("empty namespace name in {s:?}"));
            }
            let ns = Namespace::ALL
                .into_iter()
                .find(|n| n.name() == item)
                .ok_or_else(|| {
                    format!(
                        "unknown namespace {item:?} (known: pid,uts,mnt,net,ipc,user,cgroup,time)"
                    )
                })?;
            if !set.contains(&ns) {
                set.push(ns);
            }
        }
        Ok(NsSet(set))
    }
}

// ------------------------------------------------------------------ user

/// One line of uid_map or gid_map: `IN:OUT:COUNT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl FromStr for IdMap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 3 {
            return Err(format!("expected IN:OUT:COUNT, got {s:?}"));
        }
        let num = |t: &str| {
            t.parse::<u32>()
                .map_err(|_| format!("{t:?} is not a number from 0 to 4294967295"))
        };
        let (inside, outside, count) = (num(parts[0])?, num(parts[1])?, num(parts[2])?);
        if count == 0 {
            return Err("COUNT must be at least 1".into());
        }
        if inside as u64 + count as u64 > 1 << 32 || outside as u64 + count as u64 > 1 << 32 {
            return Err(format!("range {s:?} runs past 4294967295"));
        }
        Ok(IdMap {
            inside,
            outside,
            count,
        })
    }
}

// ------------------------------------------------------------------ net

/// `--veth HOSTIF=HOSTIP/PFX,CONTIF=CONTIP/PFX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veth {
    pub host_if: String,
    pub host_ip: Ipv4Addr,
    pub host_prefix: u8,
    pub cont_if: String,
    pub cont_ip: Ipv4Addr,
    pub cont_prefix: u8,
}

fn veth_end(s: &str) -> Result<(String, Ipv4Addr, u8), String> {
    let (name, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("expected IF=IP/PFX, got {s:?}"))?;
    if name.is_empty()
        || name.len() > 15
        || name.contains(['/', ':'])
        || name.contains(char::is_whitespace)
    {
        return Err(format!(
            "interface name {name:?} must be 1 to 15 characters without '/', ':' or spaces"
        ));
    }
    let (ip, pfx) = addr
        .split_once('/')
        .ok_or_else(|| format!("expected IP/PFX, got {addr:?}"))?;
    let ip: Ipv4Addr = ip
        .parse()
        .map_err(|_| format!("{ip:?} is not an IPv4 address"))?;
    let pfx: u8 = pfx
        .parse()
        .map_err(|_| format!("prefix {pfx:?} is not a number"))?;
    if pfx > 32 {
        return Err(format!("prefix {pfx} is larger than 32"));
    }
    Ok((name.to_string(), ip, pfx))
}

impl FromStr for Veth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (h, c) = s
            .split_once(',')
            .ok_or_else(|| format!("expected HOSTIF=HOSTIP/PFX,CONTIF=CONTIP/PFX, got {s:?}"))?;
        let (host_if, host_ip, host_prefix) = veth_end(h)?;
        let (cont_if, cont_ip, cont_prefix) = veth_end(c)?;
        if host_if == cont_if {
            return Err(format!(
                "host and container interfaces are both named {host_if:?}"
            ));
        }
        Ok(Veth {
            host_if,
            host_ip,
            host_prefix,
            cont_if,
            cont_ip,
            cont_prefix,
        })
    }
}

// ------------------------------------------------------------------ time

/// `--time-offset monotonic=SECS,boottime=SECS`, either key may be left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeOffsets {
    pub monotonic: Option<i64>,
    pub boottime: Option<i64>,
}

impl FromStr for TimeOffsets {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut t = TimeOffsets::default();
        for item in s.split(',') {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("expected monotonic=SECS,boottime=SECS, got {s:?}"))?;
            let secs: i64 = v
                .parse()
                .map_err(|_| format!("{k} offset must be whole seconds, got {v:?}"))?;
            let slot = match k {
                "monotonic" => &mut t.monotonic,
                "boottime" => &mut t.boottime,
                other => {
                    return Err(format!(
                        "unknown clock {other:?} (known: monotonic, boottime)"
                    ))
                }
            };
            if slot.replace(secs).is_some() {
                return Err(format!("{k} given twice"));
            }
        }
        Ok(t)
    }
}

// ------------------------------------------------------------------ cgroups

/// `--memory`, `--io-*bps`: bytes, or a number with K, M or G (powers of 1024, any case).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let bad = || format!("size must be bytes or a number with K, M or G, got {s:?}");
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1u64 << 20),
        Some('G') => (&s[..s.len() - 1], 1u64 << 30),
        _ => (s, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// `--cgroup NAME`: `[A-Za-z0-9_.-]{1,64}`, not `.` or `..`.
pub fn parse_cgroup_name(s: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && s != "."
        && s != "..";
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "cgroup name {s:?} must be 1 to 64 of A-Z a-z 0-9 _ . - (not . or ..)"
        ))
    }
}

/// `--cpus QUOTA_US/PERIOD_US`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuMax {
    pub quota_us: u64,
    pub period_us: u64,
}

impl FromStr for CpuMax {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (q, p) = s
            .split_once('/')
            .ok_or_else(|| format!("expected QUOTA_US/PERIOD_US, got {s:?}"))?;
        let quota_us: u64 = q
            .parse()
            .map_err(|_| format!("quota {q:?} is not a number"))?;
        let period_us: u64 = p
            .parse()
            .map_err(|_| format!("period {p:?} is not a number"))?;
        if !(1000..=1_000_000).contains(&period_us) {
            return Err(format!(
                "PERIOD_US must be from 1000 to 1000000, got {period_us}"
            ));
        }
        if quota_us < 1000 {
            return Err(format!("QUOTA_US must be at least 1000, got {quota_us}"));
        }
        Ok(CpuMax {
            quota_us,
            period_us,
        })
    }
}

/// `--io-wbps` / `--io-rbps MAJ:MIN:BPS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoLimit {
    pub major: u32,
    pub minor: u32,
    pub bps: u64,
}

impl FromStr for IoLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut it = s.splitn(3, ':');
        let (Some(ma), Some(mi), Some(b)) = (it.next(), it.next(), it.next()) else {
            return Err(format!("expected MAJ:MIN:BPS, got {s:?}"));
        };
        let major = ma
            .parse()
            .map_err(|_| format!("major {ma:?} is not a number"))?;
        let minor = mi
            .parse()
            .map_err(|_| format!("minor {mi:?} is not a number"))?;
        let bps = parse_bytes(b)?;
        if bps == 0 {
            return Err("BPS must be greater than 0".into());
        }
        Ok(IoLimit { major, minor, bps })
    }
}

/// `--cpuset CPUS`: a kernel cpu list (`0`, `0-1`, `0,2`), kept as text.
pub fn parse_cpu_list(s: &str) -> Result<String, String> {
    let bad = || format!("expected a cpu list such as 0, 0-1 or 0,2, got {s:?}");
    for part in s.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: u32 = a.parse().map_err(|_| bad())?;
        let b: u32 = b.parse().map_err(|_| bad())?;
        if a > b {
            return Err(format!("cpu range {part:?} runs backwards"));
        }
    }
    Ok(s.to_string())
}

/// `--deny-device c|b:MAJ:MIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    /// 'c' (character) or 'b' (block).
    pub kind: char,
    pub major: u32,
    pub minor: u32,
}

impl FromStr for DeviceRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected c|b:MAJ:MIN, got {s:?}");
        let parts: Vec<&str> = s.split(':').collect();
        let [k, ma, mi] = parts[..] else {
            return Err(bad());
        };
        let kind = match k {
            "c" => 'c',
            "b" => 'b',
            _ => return Err(bad()),
        };
        Ok(DeviceRule {
            kind,
            major: ma.parse().map_err(|_| bad())?,
            minor: mi.parse().map_err(|_| bad())?,
        })
    }
}

/// `--net-classid ID`: decimal or 0x hex, 32 bits.
pub fn parse_classid(s: &str) -> Result<u32, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse::<u32>(),
    };
    r.map_err(|_| format!("expected a 32-bit class id, decimal or 0x hex, got {s:?}"))
}

/// Every limit; `None`/empty = not asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory: Option<u64>,
    pub cpu: Option<CpuMax>,
    /// 1..=10000, cgroup v2's scale.
    pub cpu_weight: Option<u64>,
    pub memory_low: Option<u64>,
    /// 1..=1000, BFQ's scale.
    pub io_weight: Option<u64>,
    pub pids: Option<u64>,
    pub io_wbps: Vec<IoLimit>,
    pub io_rbps: Vec<IoLimit>,
    pub cpuset: Option<String>,
    pub deny_devices: Vec<DeviceRule>,
    pub net_classid: Option<u32>,
}

// ------------------------------------------------------------------ the whole run

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootFs {
    /// `--rootfs DIR`
    Dir(PathBuf),
    /// `--layer` (bottom first, as given) `--upper` `--work`
    Overlay {
        layers: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    pub ns: NsSet,
    pub root: Option<RootFs>,
    pub hostname: Option<String>,
    pub uid_maps: Vec<IdMap>,
    pub gid_maps: Vec<IdMap>,
    pub veth: Option<Veth>,
    pub time_offsets: Option<TimeOffsets>,
    pub cgroup: Option<String>,
    pub limits: Limits,
    pub pid_file: Option<PathBuf>,
    /// OCI layer tarballs above the --layers, bottom first, and where they go.
    pub layer_tars: Vec<PathBuf>,
    pub layer_store: Option<PathBuf>,
    pub command: Vec<OsString>,
}
