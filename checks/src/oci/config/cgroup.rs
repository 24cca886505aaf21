//! The container's cgroup: `linux.resources` (devices and the limits) and
//! `linux.cgroupsPath`.

use serde_json::{json, Value};

use labkit::spec::RunSpec;

/// `linux.resources`: always an allow-all device rule first; the limits only with
/// `--cgroup` (the contract refuses them without).
pub fn resources(spec: &RunSpec, cgroup_v2: bool) -> Value {
    let l = &spec.limits;
    let mut devices = vec![json!({ "allow": true, "access": "rwm" })];
    for d in &l.deny_devices {
        devices.push(json!({
            "allow": false,
            "type": d.kind.letter().to_string(),
            "major": d.major,
            "minor": d.minor,
            "access": "rwm",
        }));
    }
    let mut r = json!({ "devices": devices });
    if l.memory.is_some() || l.memory_low.is_some() {
        let mut mem = json!({});
        if let Some(m) = l.memory {
            // OCI `swap` is memory plus swap: equal to the limit, no swap at all.
            mem["limit"] = json!(m);
            mem["swap"] = json!(m);
            if !cgroup_v2 {
                mem["swappiness"] = json!(0);
            }
        }
        // runc and crun write `reservation` to v2 memory.low (v1: the soft limit).
        if let Some(low) = l.memory_low {
            mem["reservation"] = json!(low);
        }
        r["memory"] = mem;
    }
    if let Some(w) = l.cpu_weight {
        if cgroup_v2 {
            // OCI has only v1 shares, which runc and crun convert to a weight by
            // formulas that changed in 2025 (runc 1.3.2, crun 1.23) and do not keep
            // ratios: the weight goes in as it is, through `unified`.
            r["unified"] = json!({ "cpu.weight": w.to_string() });
        } else {
            r["cpu"] = json!({ "shares": labkit::cgroups::cpu_weight_to_shares(w) });
        }
    }
    if l.cpu.is_some() || l.cpuset.is_some() {
        let mut cpu = r.get("cpu").cloned().unwrap_or_else(|| json!({}));
        if let Some(c) = l.cpu {
            cpu["quota"] = json!(c.quota_us);
            cpu["period"] = json!(c.period_us);
        }
        if let Some(s) = &l.cpuset {
            cpu["cpus"] = json!(s);
        }
        r["cpu"] = cpu;
    }
    if let Some(p) = l.pids {
        r["pids"] = json!({ "limit": p });
    }
    if !l.io_wbps.is_empty() || !l.io_rbps.is_empty() || l.io_weight.is_some() {
        let rate = |v: &[labkit::cgroups::IoLimit]| -> Vec<Value> {
            v.iter()
                .map(|i| json!({ "major": i.major, "minor": i.minor, "rate": i.bps }))
                .collect()
        };
        let mut io = json!({});
        if !l.io_wbps.is_empty() {
            io["throttleWriteBpsDevice"] = json!(rate(&l.io_wbps));
        }
        if !l.io_rbps.is_empty() {
            io["throttleReadBpsDevice"] = json!(rate(&l.io_rbps));
        }
        // BFQ's scale, as OCI's: runc and crun write it to io.bfq.weight (v1
        // blkio.bfq.weight, or blkio.weight where CFQ's file exists).
        if let Some(w) = l.io_weight {
            io["weight"] = json!(w);
        }
        r["blockIO"] = io;
    }
    if let Some(id) = l.net_classid {
        r["network"] = json!({ "classID": id });
    }
    r
}

/// `linux.cgroupsPath`: NAME under LAB_CGROUP_PARENT. A relative path is relative
/// to the OCI runtime's own cgroup (runc), which is the caller's: the contract's
/// relative parent. Without `--cgroup` the runtime still makes one, named `id`.
pub fn cgroups_path(parent: Option<&str>, cgroup: Option<&str>, id: &str) -> String {
    let Some(name) = cgroup else {
        return id.to_string();
    };
    let parent = parent.unwrap_or("").trim();
    let parts: Vec<&str> = parent
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .chain([name])
        .collect();
    format!("{}{}", if parent.starts_with('/') { "/" } else { "" }, parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::config::config;
    use crate::oci::config::tests::{plan, spec};

    #[test]
    fn memory_limit_turns_swap_off() {
        let c = config(
            &spec(&["--cgroup", "c1", "--memory", "32M", "--", "/bin/true"]),
            &plan(),
        );
        let m = &c["linux"]["resources"]["memory"];
        assert_eq!(m["limit"], 33554432);
        assert_eq!(m["swap"], 33554432);
        assert_eq!(m["swappiness"], 0);
        // v2 has no swappiness; memory.swap.max = 0 follows from swap == limit.
        let v2 = resources(&spec(&["--cgroup", "c1", "--memory", "32M", "--", "/bin/true"]), true);
        assert_eq!(v2["memory"], json!({ "limit": 33554432u64, "swap": 33554432u64 }));
    }

    #[test]
    fn deny_device_follows_an_allow_all() {
        let r = resources(
            &spec(&[
                "--cgroup",
                "c1",
                "--deny-device",
                "c:1:3",
                "--deny-device",
                "b:7:0",
                "--",
                "/bin/true",
            ]),
            false,
        );
        assert_eq!(
            r["devices"],
            json!([
                { "allow": true, "access": "rwm" },
                { "allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm" },
                { "allow": false, "type": "b", "major": 7, "minor": 0, "access": "rwm" },
            ])
        );
        // Without any limit every device stays allowed.
        assert_eq!(
            resources(&spec(&["--", "/bin/true"]), false),
            json!({ "devices": [{ "allow": true, "access": "rwm" }] })
        );
    }

    #[test]
    fn cpu_quota_period_and_cpuset() {
        let r = resources(
            &spec(&[
                "--cgroup",
                "c1",
                "--cpus",
                "20000/100000",
                "--cpuset",
                "0-1",
                "--",
                "/bin/true",
            ]),
            false,
        );
        assert_eq!(r["cpu"], json!({ "quota": 20000, "period": 100000, "cpus": "0-1" }));
    }

    #[test]
    fn weight_goes_in_as_shares_on_v1_and_unified_on_v2() {
        let args = [
            "--cgroup",
            "c1",
            "--cpu-weight",
            "500",
            "--cpus",
            "20000/100000",
            "--",
            "/bin/true",
        ];
        let v1 = resources(&spec(&args), false);
        assert_eq!(v1["cpu"], json!({ "shares": 5120, "quota": 20000, "period": 100000 }));
        assert!(v1.get("unified").is_none());
        let v2 = resources(&spec(&args), true);
        assert_eq!(v2["unified"], json!({ "cpu.weight": "500" }));
        assert_eq!(v2["cpu"], json!({ "quota": 20000, "period": 100000 }));
    }

    #[test]
    fn memory_low_is_the_reservation() {
        let r = resources(
            &spec(&["--cgroup", "c1", "--memory-low", "64M", "--", "/bin/true"]),
            true,
        );
        assert_eq!(r["memory"], json!({ "reservation": 64u64 << 20 }));
        let r = resources(
            &spec(&[
                "--cgroup",
                "c1",
                "--memory-low",
                "1M",
                "--memory",
                "2M",
                "--",
                "/bin/true",
            ]),
            false,
        );
        assert_eq!(
            r["memory"],
            json!({ "reservation": 1u64 << 20, "limit": 2u64 << 20, "swap": 2u64 << 20, "swappiness": 0 })
        );
    }

    #[test]
    fn pids_io_and_classid() {
        let r = resources(
            &spec(&[
                "--cgroup",
                "c1",
                "--pids",
                "16",
                "--io-wbps",
                "7:0:1M",
                "--io-rbps",
                "8:0:512K",
                "--io-wbps",
                "8:16:2048",
                "--io-weight",
                "500",
                "--net-classid",
                "0x100001",
                "--",
                "/bin/true",
            ]),
            false,
        );
        assert_eq!(r["pids"], json!({ "limit": 16 }));
        assert_eq!(
            r["blockIO"],
            json!({
                "throttleWriteBpsDevice": [{ "major": 7, "minor": 0, "rate": 1048576 }, { "major": 8, "minor": 16, "rate": 2048 }],
                "throttleReadBpsDevice": [{ "major": 8, "minor": 0, "rate": 524288 }],
                "weight": 500,
            })
        );
        assert_eq!(r["network"], json!({ "classID": 0x100001 }));
    }

    #[test]
    fn cgroup_path_is_name_under_the_parent() {
        assert_eq!(cgroups_path(Some("lab-check-1"), Some("c1"), "id"), "lab-check-1/c1");
        assert_eq!(cgroups_path(Some("/lab//x/"), Some("c1"), "id"), "/lab/x/c1");
        assert_eq!(cgroups_path(Some("./a"), Some("c1"), "id"), "a/c1");
        assert_eq!(cgroups_path(Some("/"), Some("c1"), "id"), "/c1");
        assert_eq!(cgroups_path(None, Some("c1"), "id"), "c1");
        assert_eq!(cgroups_path(Some("lab"), None, "lab-oci-1"), "lab-oci-1");
    }
}
