//! The resource limits of the runtime contract, as parsed values.
//!
//! Each type parses from exactly the text the contract's flag takes, so the
//! command line, the drivers and the unit tests share one encoding.

use std::fmt;
use std::str::FromStr;

/// Why a limit's text was refused; the caller adds the flag name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LimitParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, LimitParseError> {
    Err(LimitParseError(msg.into()))
}

fn parse_u64(what: &str, s: &str) -> Result<u64, LimitParseError> {
    s.parse::<u64>()
        .map_err(|_| LimitParseError(format!("{what} must be a non-negative integer, got {s:?}")))
}

fn parse_u32(what: &str, s: &str) -> Result<u32, LimitParseError> {
    s.parse::<u32>()
        .map_err(|_| LimitParseError(format!("{what} must be an integer from 0 to 4294967295, got {s:?}")))
}

/// A memory size: plain bytes, or with a K/M/G suffix (powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, LimitParseError> {
    let t = s.trim();
    if t.is_empty() {
        return err("empty size");
    }
    let (num, mult) = match t.as_bytes()[t.len() - 1].to_ascii_uppercase() {
        b'K' => (&t[..t.len() - 1], 1u64 << 10),
        b'M' => (&t[..t.len() - 1], 1u64 << 20),
        b'G' => (&t[..t.len() - 1], 1u64 << 30),
        _ => (t, 1u64),
    };
    let n = num
        .parse::<u64>()
        .map_err(|_| LimitParseError(format!("size must be bytes or a number with K, M or G, got {s:?}")))?;
    n.checked_mul(mult)
        .ok_or_else(|| LimitParseError(format!("size {s:?} overflows 64 bits")))
}

/// `--cpus QUOTA_US/PERIOD_US`: CFS bandwidth, both in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuMax {
    pub quota_us: u64,
    pub period_us: u64,
}

impl FromStr for CpuMax {
    type Err = LimitParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (q, p) = s
            .split_once('/')
            .ok_or_else(|| LimitParseError(format!("expected QUOTA_US/PERIOD_US, got {s:?}")))?;
        let quota_us = parse_u64("quota", q)?;
        let period_us = parse_u64("period", p)?;
        // The kernel refuses quotas and periods under 1 ms and periods over 1 s.
        if !(1000..=1_000_000).contains(&period_us) {
            return err(format!("period must be 1000..=1000000 us, got {period_us}"));
        }
        if quota_us < 1000 {
            return err(format!("quota must be at least 1000 us, got {quota_us}"));
        }
        Ok(CpuMax { quota_us, period_us })
    }
}

impl fmt::Display for CpuMax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.quota_us, self.period_us)
    }
}

/// `--cpu-weight W`: a CPU share on cgroup v2's scale, 1..=10000 (100 is the default).
pub fn parse_cpu_weight(s: &str) -> Result<u64, LimitParseError> {
    let w = parse_u64("weight", s.trim())?;
    if !(1..=10_000).contains(&w) {
        return err(format!("weight must be 1..=10000 (cgroup v2 cpu.weight), got {w}"));
    }
    Ok(w)
}

/// `--io-weight W`: a block I/O share on BFQ's scale, 1..=1000 (100 is the default).
pub fn parse_io_weight(s: &str) -> Result<u64, LimitParseError> {
    let w = parse_u64("weight", s.trim())?;
    if !(1..=1000).contains(&w) {
        return err(format!("weight must be 1..=1000 (BFQ's io.bfq.weight), got {w}"));
    }
    Ok(w)
}

/// A v2 weight as v1 `cpu.shares`: systemd's conversion, weight × 1024 / 100,
/// clamped to the kernel's 2..=262144. It keeps ratios (500:300 stays 5:3) and maps
/// the defaults onto each other (100 ↔ 1024). The OCI runtimes' older linear map,
/// 1 + (shares − 2) × 9999 / 262142, sends 1024 to 39 (runc#4772, crun#1721); their
/// newer one is a curve on log2(shares), which keeps neither ratios nor distances.
pub fn cpu_weight_to_shares(weight: u64) -> u64 {
    (weight.saturating_mul(1024) / 100).clamp(2, 262_144)
}

/// `--io-wbps` / `--io-rbps MAJ:MIN:BPS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoLimit {
    pub major: u32,
    pub minor: u32,
    pub bps: u64,
}

impl FromStr for IoLimit {
    type Err = LimitParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 3 {
            return err(format!("expected MAJ:MIN:BPS, got {s:?}"));
        }
        let bps = parse_bytes(parts[2])?;
        if bps == 0 {
            return err("bytes per second must be greater than 0");
        }
        Ok(IoLimit {
            major: parse_u32("major", parts[0])?,
            minor: parse_u32("minor", parts[1])?,
            bps,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Char,
    Block,
}

impl DeviceKind {
    pub fn letter(self) -> char {
        match self {
            DeviceKind::Char => 'c',
            DeviceKind::Block => 'b',
        }
    }
}

/// `--deny-device c|b:MAJ:MIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub kind: DeviceKind,
    pub major: u32,
    pub minor: u32,
}

impl FromStr for DeviceRule {
    type Err = LimitParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 3 {
            return err(format!("expected c|b:MAJ:MIN, got {s:?}"));
        }
        let kind = match parts[0] {
            "c" => DeviceKind::Char,
            "b" => DeviceKind::Block,
            other => return err(format!("device type must be c or b, got {other:?}")),
        };
        Ok(DeviceRule {
            kind,
            major: parse_u32("major", parts[1])?,
            minor: parse_u32("minor", parts[2])?,
        })
    }
}

impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.kind.letter(), self.major, self.minor)
    }
}

/// `--cpuset CPUS`: a kernel cpu list such as `0`, `0-1` or `0,2-3`.
pub fn parse_cpu_list(s: &str) -> Result<Vec<u32>, LimitParseError> {
    let mut cpus = Vec::new();
    if s.trim().is_empty() {
        return err("empty cpu list");
    }
    for part in s.trim().split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse_u32("cpu", a)?, parse_u32("cpu", b)?);
                if a > b {
                    return err(format!("cpu range {part:?} runs backwards"));
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(parse_u32("cpu", part)?),
        }
    }
    Ok(cpus)
}

/// Every limit the contract can ask for. `None`/empty means "leave the kernel default".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Hard memory limit in bytes; swap is turned off with it.
    pub memory: Option<u64>,
    pub cpu: Option<CpuMax>,
    /// CPU weight on v2's scale (v1: cpu.shares by [`cpu_weight_to_shares`]).
    pub cpu_weight: Option<u64>,
    /// Memory protected from reclaim (v2 memory.low; no v1 counterpart).
    pub memory_low: Option<u64>,
    /// Block I/O weight on BFQ's scale (v2 io.bfq.weight, v1 blkio.bfq.weight).
    pub io_weight: Option<u64>,
    pub pids: Option<u64>,
    pub io_wbps: Vec<IoLimit>,
    pub io_rbps: Vec<IoLimit>,
    /// Validated cpu list text, written as is.
    pub cpuset: Option<String>,
    pub deny_devices: Vec<DeviceRule>,
    /// net_cls class id; cgroup v1 only.
    pub net_classid: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("1024", 1024)]
    #[case("64M", 64 << 20)]
    #[case("2k", 2048)]
    #[case("1G", 1 << 30)]
    fn bytes_parse(#[case] s: &str, #[case] want: u64) {
        assert_eq!(parse_bytes(s).unwrap(), want);
    }

    #[rstest]
    #[case("")]
    #[case("12x")]
    #[case("-5")]
    #[case("M")]
    #[case("99999999999999999999G")]
    fn bytes_refuse(#[case] s: &str) {
        assert!(parse_bytes(s).is_err(), "{s:?} should be refused");
    }

    #[test]
    fn cpu_max_parses_and_validates() {
        assert_eq!(
            "20000/100000".parse::<CpuMax>().unwrap(),
            CpuMax {
                quota_us: 20000,
                period_us: 100000
            }
        );
        for bad in ["20000", "500/100000", "20000/500", "20000/2000000", "a/b"] {
            assert!(bad.parse::<CpuMax>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn io_and_device_rules_parse() {
        assert_eq!(
            "7:0:1M".parse::<IoLimit>().unwrap(),
            IoLimit {
                major: 7,
                minor: 0,
                bps: 1 << 20
            }
        );
        assert!("7:0".parse::<IoLimit>().is_err());
        assert!("7:0:0".parse::<IoLimit>().is_err());
        let r: DeviceRule = "c:1:3".parse().unwrap();
        assert_eq!(
            r,
            DeviceRule {
                kind: DeviceKind::Char,
                major: 1,
                minor: 3
            }
        );
        assert_eq!(r.to_string(), "c:1:3");
        assert!("x:1:3".parse::<DeviceRule>().is_err());
        assert!("c:1".parse::<DeviceRule>().is_err());
    }

    #[rstest]
    #[case(1, 10)]
    #[case(100, 1024)]
    #[case(500, 5120)]
    #[case(300, 3072)]
    #[case(10_000, 102_400)]
    fn weights_convert_to_shares(#[case] w: u64, #[case] shares: u64) {
        assert_eq!(cpu_weight_to_shares(w), shares);
    }

    #[test]
    fn weights_refuse_out_of_range() {
        assert_eq!(parse_cpu_weight("10000"), Ok(10_000));
        assert_eq!(parse_io_weight("1000"), Ok(1000));
        for bad in ["0", "1001", "x", ""] {
            assert!(parse_io_weight(bad).is_err(), "{bad:?} should be refused");
        }
        for bad in ["0", "10001", "-1", "x", ""] {
            assert!(parse_cpu_weight(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(parse_cpu_list("0").unwrap(), vec![0]);
        assert_eq!(parse_cpu_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_cpu_list("2-1").is_err());
        assert!(parse_cpu_list("").is_err());
    }
}
