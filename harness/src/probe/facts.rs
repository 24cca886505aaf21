//! `probe facts`: one JSON object describing what the process sees.
//!
//! Every field comes from a system call or a file under /proc; whatever is
//! missing or unreadable is reported as `null` instead of failing.

use std::collections::BTreeMap;
use std::fs;

pub use labkit::cgroups::parse_cgroup;
use labkit::mountinfo::parse_mountinfo;
use labkit::probe::{Capabilities, Facts, IfAddr, Interface, RootStat, Uptime};
use nix::sys::stat::stat;
use nix::unistd;

use crate::out::{dev_major, dev_minor, emit, PResult};

/// Namespace links that are always reported (value `null` when unreadable).
pub const NS_NAMES: &[&str] = &[
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

use harness::caps::CAP_NAMES;

/// Inode number of a namespace link text such as `pid:[4026531836]`.
pub fn parse_ns_link(text: &str) -> Option<u64> {
    let open = text.find('[')?;
    let close = text[open..].find(']')? + open;
    text[open + 1..close].parse().ok()
}

/// Lines of a uid_map/gid_map file as `[inside, outside, count]`.
/// Lines that do not have three numbers are skipped.
pub fn parse_id_map(text: &str) -> Vec<[u64; 3]> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace().map(|f| f.parse::<u64>());
            let a = it.next()?.ok()?;
            let b = it.next()?.ok()?;
            let c = it.next()?.ok()?;
            if it.next().is_some() {
                return None;
            }
            Some([a, b, c])
        })
        .collect()
}

/// Value of a `Key:\tvalue` line of /proc/self/status, trimmed.
pub fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

/// Names of the capabilities set in a hex mask such as `000001ffffffffff`.
/// Bits without a known name come out as `CAP_<bit>`.
pub fn decode_caps(hex: &str) -> Option<Vec<String>> {
    let mask = u64::from_str_radix(hex.trim(), 16).ok()?;
    Some(
        (0..64)
            .filter(|bit| mask & (1u64 << bit) != 0)
            .map(|bit| match CAP_NAMES.get(bit as usize) {
                Some(name) => name.to_string(),
                None => format!("CAP_{bit}"),
            })
            .collect(),
    )
}

/// Numbers of a whitespace-separated list such as the NSpid value.
pub fn parse_num_list(s: &str) -> Option<Vec<u64>> {
    s.split_whitespace().map(|f| f.parse().ok()).collect()
}

/// First number of /proc/uptime (seconds since boot, time-namespace aware).
pub fn parse_uptime(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// Interface names from /proc/net/dev (after the two header lines).
pub fn parse_proc_net_dev(text: &str) -> Vec<String> {
    text.lines()
        .skip(2)
        .filter_map(|l| Some(l.split_once(':')?.0.trim().to_string()))
        .filter(|n| !n.is_empty())
        .collect()
}

/// Prefix length of a netmask given as bytes.
pub fn prefix_len(mask: &[u8]) -> u32 {
    mask.iter().map(|b| b.count_ones()).sum()
}

fn read(path: &str) -> Option<String> {
    fs::read_to_string(path).ok()
}

fn ns_map() -> BTreeMap<String, Option<u64>> {
    let mut names: Vec<String> = NS_NAMES.iter().map(|n| n.to_string()).collect();
    if let Ok(dir) = fs::read_dir("/proc/self/ns") {
        names.extend(dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()));
    }
    names
        .into_iter()
        .map(|name| {
            let link = fs::read_link(format!("/proc/self/ns/{name}")).ok();
            let ino = link.and_then(|l| parse_ns_link(&l.to_string_lossy()));
            (name, ino)
        })
        .collect()
}

fn capabilities(status: Option<&str>) -> Capabilities {
    let field = |k: &str| status.and_then(|s| status_field(s, k)).map(str::to_string);
    let eff = field("CapEff");
    Capabilities {
        effective_names: eff.as_deref().and_then(decode_caps),
        effective: eff,
        permitted: field("CapPrm"),
        inheritable: field("CapInh"),
        bounding: field("CapBnd"),
        ambient: field("CapAmb"),
    }
}

fn clock_secs(clock: libc::clockid_t) -> Option<f64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid pointer to a timespec.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    (r == 0).then(|| ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
}

fn mac_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

fn interfaces() -> Option<Vec<Interface>> {
    use nix::ifaddrs::getifaddrs;
    use nix::net::if_::{if_nametoindex, InterfaceFlags};

    let Ok(addrs) = getifaddrs() else {
        // Without getifaddrs only the names are known.
        return read("/proc/net/dev").map(|text| {
            parse_proc_net_dev(&text)
                .into_iter()
                .map(|name| Interface {
                    index: if_nametoindex(name.as_str()).ok(),
                    name,
                    up: None,
                    running: None,
                    loopback: None,
                    mac: None,
                    addresses: None,
                })
                .collect()
        });
    };
    // In the order getifaddrs first names each interface.
    let mut list: Vec<Interface> = Vec::new();
    for a in addrs {
        let i = match list.iter().position(|i| i.name == a.interface_name) {
            Some(i) => i,
            None => {
                list.push(Interface {
                    name: a.interface_name.clone(),
                    index: if_nametoindex(a.interface_name.as_str()).ok(),
                    up: Some(a.flags.contains(InterfaceFlags::IFF_UP)),
                    running: Some(a.flags.contains(InterfaceFlags::IFF_RUNNING)),
                    loopback: Some(a.flags.contains(InterfaceFlags::IFF_LOOPBACK)),
                    mac: None,
                    addresses: Some(Vec::new()),
                });
                list.len() - 1
            }
        };
        let m = &mut list[i];
        let Some(addr) = a.address.as_ref() else {
            continue;
        };
        let mask = a.netmask.as_ref();
        let address = if let Some(v4) = addr.as_sockaddr_in() {
            let prefix = mask
                .and_then(|m| m.as_sockaddr_in())
                .map(|m| prefix_len(&m.ip().octets()));
            Some(IfAddr {
                family: "inet".into(),
                address: v4.ip().to_string(),
                prefix,
            })
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            let prefix = mask
                .and_then(|m| m.as_sockaddr_in6())
                .map(|m| prefix_len(&m.ip().octets()));
            Some(IfAddr {
                family: "inet6".into(),
                address: v6.ip().to_string(),
                prefix,
            })
        } else {
            if let Some(mac) = addr.as_link_addr().and_then(|l| l.addr()) {
                m.mac = Some(mac_string(&mac));
            }
            None
        };
        if let (Some(address), Some(list)) = (address, m.addresses.as_mut()) {
            list.push(address);
        }
    }
    Some(list)
}

fn visible_pids() -> Option<Vec<u64>> {
    let dir = fs::read_dir("/proc").ok()?;
    let mut pids: Vec<u64> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Some(pids)
}

fn c_chars(field: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = field.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn domainname() -> Option<String> {
    // SAFETY: utsname is plain old data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    Some(c_chars(&u.domainname))
}

fn root_stat() -> Option<RootStat> {
    let st = stat("/").ok()?;
    Some(RootStat {
        dev: st.st_dev,
        dev_major: dev_major(st.st_dev),
        dev_minor: dev_minor(st.st_dev),
        ino: st.st_ino,
    })
}

/// Gather every fact.
pub fn collect() -> Facts {
    let status = read("/proc/self/status");
    let status_num = |k: &str| {
        status
            .as_deref()
            .and_then(|s| status_field(s, k))
            .and_then(|v| v.parse::<i64>().ok())
    };
    Facts {
        pid: unistd::getpid().as_raw(),
        ppid: unistd::getppid().as_raw(),
        uid: unistd::getuid().as_raw(),
        gid: unistd::getgid().as_raw(),
        euid: unistd::geteuid().as_raw(),
        egid: unistd::getegid().as_raw(),
        groups: unistd::getgroups()
            .ok()
            .map(|g| g.into_iter().map(|g| g.as_raw()).collect()),
        hostname: unistd::gethostname().ok().map(|h| h.to_string_lossy().into_owned()),
        domainname: domainname(),
        ns: ns_map(),
        uid_map: read("/proc/self/uid_map").map(|t| parse_id_map(&t)),
        gid_map: read("/proc/self/gid_map").map(|t| parse_id_map(&t)),
        setgroups: read("/proc/self/setgroups").map(|t| t.trim().to_string()),
        cgroup: read("/proc/self/cgroup").map(|t| parse_cgroup(&t)),
        mounts: read("/proc/self/mountinfo").map(|t| parse_mountinfo(&t)),
        root: root_stat(),
        cwd: std::env::current_dir().ok().map(|p| p.to_string_lossy().into_owned()),
        interfaces: interfaces(),
        capabilities: capabilities(status.as_deref()),
        no_new_privs: status_num("NoNewPrivs"),
        seccomp: status_num("Seccomp"),
        nspid: status
            .as_deref()
            .and_then(|s| status_field(s, "NSpid"))
            .and_then(parse_num_list),
        uptime: Uptime {
            proc: read("/proc/uptime").and_then(|t| parse_uptime(&t)),
            monotonic: clock_secs(libc::CLOCK_MONOTONIC),
            boottime: clock_secs(libc::CLOCK_BOOTTIME),
            realtime: clock_secs(libc::CLOCK_REALTIME),
        },
        oom_score_adj: read("/proc/self/oom_score_adj").and_then(|t| t.trim().parse::<i64>().ok()),
        pids: visible_pids(),
    }
}

pub fn run() -> PResult {
    emit(&collect());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_link() {
        assert_eq!(parse_ns_link("pid:[4026531836]"), Some(4026531836));
        assert_eq!(parse_ns_link("time_for_children:[4026531834]"), Some(4026531834));
        assert_eq!(parse_ns_link("pid:[]"), None);
        assert_eq!(parse_ns_link("pid:[abc]"), None);
        assert_eq!(parse_ns_link("pid"), None);
        assert_eq!(parse_ns_link("pid:[12"), None);
    }

    #[test]
    fn id_map() {
        let text = "         0       1000          1\n         1     100000      65536\n";
        assert_eq!(parse_id_map(text), vec![[0, 1000, 1], [1, 100000, 65536]]);
        assert_eq!(
            parse_id_map("         0          0 4294967295\n"),
            vec![[0, 0, 4294967295]]
        );
        assert_eq!(parse_id_map(""), Vec::<[u64; 3]>::new());
        assert_eq!(parse_id_map("1 2\nx y z\n1 2 3 4\n5 6 7"), vec![[5, 6, 7]]);
    }

    #[test]
    fn status_and_caps() {
        let status =
            "Name:\tprobe\nNSpid:\t4242\t1\nCapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\nNoNewPrivs:\t1\n";
        assert_eq!(status_field(status, "Name"), Some("probe"));
        assert_eq!(status_field(status, "CapEff"), Some("00000000a80425fb"));
        assert_eq!(status_field(status, "Cap"), None);
        assert_eq!(
            parse_num_list(status_field(status, "NSpid").unwrap()),
            Some(vec![4242, 1])
        );
        assert_eq!(parse_num_list("1 x"), None);

        // Docker's default set.
        let names = decode_caps("00000000a80425fb").unwrap();
        assert_eq!(
            names,
            vec![
                "CAP_CHOWN",
                "CAP_DAC_OVERRIDE",
                "CAP_FOWNER",
                "CAP_FSETID",
                "CAP_KILL",
                "CAP_SETGID",
                "CAP_SETUID",
                "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE",
                "CAP_NET_RAW",
                "CAP_SYS_CHROOT",
                "CAP_MKNOD",
                "CAP_AUDIT_WRITE",
                "CAP_SETFCAP"
            ]
        );
        assert_eq!(decode_caps("0000000000000000").unwrap(), Vec::<String>::new());
        let all = decode_caps("000001ffffffffff").unwrap();
        assert_eq!(all.len(), 41);
        assert_eq!(all.last().unwrap(), "CAP_CHECKPOINT_RESTORE");
        assert_eq!(decode_caps("0000020000000000").unwrap(), vec!["CAP_41"]);
        assert_eq!(decode_caps("zz"), None);
    }

    #[test]
    fn small_parsers() {
        assert_eq!(parse_uptime("12345.67 23456.78\n"), Some(12345.67));
        assert_eq!(parse_uptime(""), None);
        let dev = "Inter-|   Receive\n face |bytes\n    lo: 1 2 3\n  eth0: 4 5 6\n";
        assert_eq!(parse_proc_net_dev(dev), vec!["lo", "eth0"]);
        assert_eq!(prefix_len(&[255, 255, 255, 0]), 24);
        assert_eq!(prefix_len(&[255, 0, 0, 0]), 8);
        assert_eq!(prefix_len(&[0xff; 16]), 128);
    }

    #[test]
    fn collect_has_keys() {
        let facts = collect();
        assert_eq!(facts.pid as u32, std::process::id());
        for ns in NS_NAMES {
            assert!(facts.ns.contains_key(*ns), "missing ns {ns}");
        }
        // The printed line has every documented key (PROBE.md).
        let v = serde_json::to_value(&facts).unwrap();
        for k in [
            "pid",
            "ppid",
            "uid",
            "gid",
            "euid",
            "egid",
            "groups",
            "hostname",
            "ns",
            "uid_map",
            "gid_map",
            "cgroup",
            "mounts",
            "root",
            "cwd",
            "interfaces",
            "capabilities",
            "nspid",
            "uptime",
            "pids",
        ] {
            assert!(v.get(k).is_some(), "missing key {k}");
        }
    }
}
