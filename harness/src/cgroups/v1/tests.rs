//! The v1 driver against a fake cgroupfs in a temporary directory.

use std::fs;
use std::path::PathBuf;

use rstest::rstest;

use crate::cgroups::common::fake;
use crate::cgroups::{
    open, CgroupError, CgroupVersion, CpuMax, DeviceKind, DeviceRule, Hierarchies, IoLimit, Limits, V1Hierarchy,
};

/// The files a new cgroup of each controller gets in the fake tree.
fn files_of(controller: &str) -> Vec<(&'static str, &'static str)> {
    match controller {
        "memory" => vec![
            ("memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory.memsw.limit_in_bytes", "9223372036854771712\n"),
            ("memory.swappiness", "60\n"),
            ("memory.usage_in_bytes", "0\n"),
            ("memory.max_usage_in_bytes", "0\n"),
            ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"),
            ("memory.soft_limit_in_bytes", "9223372036854771712\n"),
        ],
        "cpu" => vec![
            ("cpu.cfs_quota_us", "-1\n"),
            ("cpu.cfs_period_us", "100000\n"),
            ("cpu.shares", "1024\n"),
            ("cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"),
        ],
        "cpuacct" => vec![("cpuacct.usage", "0\n")],
        "cpuset" => vec![("cpuset.cpus", "\n"), ("cpuset.mems", "\n")],
        "pids" => vec![("pids.max", "max\n"), ("pids.current", "0\n")],
        "blkio" => vec![
            ("blkio.throttle.write_bps_device", ""),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.bfq.weight", "100\n"),
        ],
        "devices" => vec![
            ("devices.deny", ""),
            ("devices.allow", ""),
            ("devices.list", "a *:* rwm\n"),
        ],
        "freezer" => vec![("freezer.state", "THAWED\n")],
        "net_cls" => vec![("net_cls.classid", "0\n")],
        _ => vec![],
    }
}

/// A fake v1 host: one mount per entry of `hierarchies` (e.g. "cpu,cpuacct")
/// under `root`, with the caller at `/me` in each.
struct Fake {
    _dir: tempfile::TempDir,
    root: PathBuf,
    h: Hierarchies,
}

impl Fake {
    fn new(hierarchies: &[&str]) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let mut v1 = Vec::new();
        for h in hierarchies {
            let mount = root.join(h);
            let me = mount.join("me");
            fs::create_dir_all(&me).unwrap();
            let mut files = vec![("cgroup.procs", ""), ("tasks", "")];
            for c in h.split(',') {
                files.extend(files_of(c));
            }
            for (f, c) in &files {
                fs::write(me.join(f), c).unwrap();
            }
            if h.split(',').any(|c| c == "cpuset") {
                fs::write(me.join("cpuset.cpus"), "0-3\n").unwrap();
                fs::write(me.join("cpuset.mems"), "0\n").unwrap();
            }
            fake::register(&mount, &files);
            v1.push(V1Hierarchy {
                controllers: h.split(',').map(str::to_string).collect(),
                mount,
                root: "/".to_string(),
                own: "/me".to_string(),
            });
        }
        Fake {
            _dir: dir,
            root,
            h: Hierarchies::new(v1, None),
        }
    }

    /// The file `file` of cgroup `name` in hierarchy `h`.
    fn read(&self, h: &str, name: &str, file: &str) -> String {
        fs::read_to_string(self.root.join(h).join("me").join(name).join(file)).unwrap()
    }
}

const ALL: &[&str] = &[
    "cpu,cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "net_cls",
];
/// This host: cpu and cpuacct apart, no net_cls.
const THIS_HOST: &[&str] = &[
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
];

fn full_limits() -> Limits {
    Limits {
        memory: Some(64 << 20),
        memory_low: Some(16 << 20),
        cpu: Some(CpuMax {
            quota_us: 20000,
            period_us: 100000,
        }),
        cpu_weight: Some(250),
        io_weight: Some(300),
        pids: Some(32),
        io_wbps: vec![IoLimit {
            major: 7,
            minor: 0,
            bps: 1 << 20,
        }],
        io_rbps: vec![
            IoLimit {
                major: 7,
                minor: 0,
                bps: 2 << 20,
            },
            IoLimit {
                major: 8,
                minor: 16,
                bps: 4096,
            },
        ],
        cpuset: Some("1".to_string()),
        deny_devices: vec![
            DeviceRule {
                kind: DeviceKind::Char,
                major: 1,
                minor: 3,
            },
            DeviceRule {
                kind: DeviceKind::Block,
                major: 7,
                minor: 0,
            },
        ],
        net_classid: Some(0x100001),
    }
}

#[test]
fn create_writes_every_limit() {
    let f = Fake::new(ALL);
    let cg = open(&f.h, None, "box").unwrap();
    assert_eq!(cg.version(), CgroupVersion::V1);
    assert_eq!(cg.paths().len(), ALL.len());
    assert!(!cg.exists());
    cg.create(&full_limits()).unwrap();
    assert!(cg.exists());
    let r = |h: &str, file: &str| f.read(h, "box", file);
    assert_eq!(r("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(r("memory", "memory.memsw.limit_in_bytes"), "67108864");
    assert_eq!(r("memory", "memory.swappiness"), "0");
    assert_eq!(r("cpu,cpuacct", "cpu.cfs_quota_us"), "20000");
    assert_eq!(r("cpu,cpuacct", "cpu.shares"), "2560");
    assert_eq!(r("memory", "memory.soft_limit_in_bytes"), (16u64 << 20).to_string());
    assert_eq!(r("cpu,cpuacct", "cpu.cfs_period_us"), "100000");
    assert_eq!(r("pids", "pids.max"), "32");
    assert_eq!(r("blkio", "blkio.throttle.write_bps_device").trim(), "7:0 1048576");
    assert_eq!(r("blkio", "blkio.bfq.weight").trim(), "300");
    assert_eq!(r("blkio", "blkio.throttle.read_bps_device"), "7:0 2097152\n8:16 4096\n");
    assert_eq!(r("cpuset", "cpuset.cpus"), "1");
    assert_eq!(r("cpuset", "cpuset.mems"), "0");
    assert_eq!(r("devices", "devices.deny"), "c 1:3 rwm\nb 7:0 rwm\n");
    assert_eq!(r("net_cls", "net_cls.classid"), "1048577");
    assert_eq!(r("freezer", "freezer.state"), "THAWED\n");
    cg.destroy().unwrap();
    assert!(!cg.exists());
    cg.destroy().unwrap(); // idempotent
}

#[rstest]
#[case::no_limits(None, "0-3")]
#[case::narrowed(Some("2-3"), "2-3")]
fn cpuset_copies_the_parent_first(#[case] cpuset: Option<&str>, #[case] cpus: &str) {
    let f = Fake::new(&["cpuset"]);
    let cg = open(&f.h, None, "c").unwrap();
    cg.create(&Limits {
        cpuset: cpuset.map(str::to_string),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(f.read("cpuset", "c", "cpuset.cpus"), cpus);
    assert_eq!(f.read("cpuset", "c", "cpuset.mems"), "0");
}

#[test]
fn empty_parent_cpuset_is_an_error_and_nothing_is_left() {
    let f = Fake::new(THIS_HOST);
    fs::write(f.root.join("cpuset/me/cpuset.mems"), "\n").unwrap();
    let cg = open(&f.h, None, "c").unwrap();
    let e = cg.create(&Limits::default()).unwrap_err().to_string();
    assert!(e.contains("cpuset.mems is empty"), "{e}");
    assert!(!cg.exists());
}

#[rstest]
#[case::memory_only(Limits { memory: Some(4096), ..Default::default() }, "memory", "memory.limit_in_bytes", "4096")]
#[case::cpu(Limits { cpu: Some(CpuMax { quota_us: 50000, period_us: 250000 }), ..Default::default() }, "cpu", "cpu.cfs_quota_us", "50000")]
#[case::pids(Limits { pids: Some(0), ..Default::default() }, "pids", "pids.max", "0")]
#[case::write_bps(Limits { io_wbps: vec![IoLimit { major: 7, minor: 0, bps: 1048576 }], ..Default::default() }, "blkio", "blkio.throttle.write_bps_device", "7:0 1048576\n")]
#[case::deny(Limits { deny_devices: vec![DeviceRule { kind: DeviceKind::Char, major: 10, minor: 200 }], ..Default::default() }, "devices", "devices.deny", "c 10:200 rwm\n")]
fn one_limit_on_this_hosts_layout(#[case] l: Limits, #[case] h: &str, #[case] file: &str, #[case] want: &str) {
    let f = Fake::new(THIS_HOST);
    let cg = open(&f.h, None, "one").unwrap();
    cg.create(&l).unwrap();
    assert_eq!(f.read(h, "one", file), want);
    // Untouched controllers keep the kernel's defaults.
    if h != "memory" {
        assert_eq!(f.read("memory", "one", "memory.swappiness"), "60\n");
    }
    if h != "pids" {
        assert_eq!(f.read("pids", "one", "pids.max"), "max\n");
    }
    cg.destroy().unwrap();
    assert!(cg.paths().iter().all(|p| !p.exists()));
}

#[test]
fn net_cls_not_mounted() {
    let f = Fake::new(THIS_HOST);
    let cg = open(&f.h, None, "n").unwrap();
    let e = cg
        .create(&Limits {
            net_classid: Some(1),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.to_string(), "net_cls controller is not mounted on this host");
    assert!(!cg.exists());
}

#[test]
fn missing_controller_is_named() {
    let f = Fake::new(&["memory", "freezer"]);
    let cg = open(&f.h, None, "p").unwrap();
    let e = cg
        .create(&Limits {
            pids: Some(5),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(&e, CgroupError::ControllerNotAvailable { controller, .. } if controller == "pids"),
        "{e}"
    );
    assert!(!cg.exists());
}

#[test]
fn already_exists() {
    let f = Fake::new(THIS_HOST);
    let cg = open(&f.h, None, "dup").unwrap();
    cg.create(&Limits::default()).unwrap();
    let again = open(&f.h, None, "dup").unwrap();
    let e = again.create(&Limits::default()).unwrap_err().to_string();
    assert!(e.starts_with("cgroup dup already exists at "), "{e}");
    assert!(e.contains(&f.root.display().to_string()), "{e}");
    // The refused create removed nothing of the first one.
    assert!(cg.paths().iter().all(|p| p.is_dir()));
    cg.destroy().unwrap();
}

#[test]
fn a_partly_existing_cgroup_counts_as_existing() {
    let f = Fake::new(THIS_HOST);
    fs::create_dir(f.root.join("pids/me/half")).unwrap();
    let cg = open(&f.h, None, "half").unwrap();
    assert!(cg.exists());
    let e = cg.create(&Limits::default()).unwrap_err().to_string();
    assert!(e.contains("pids/me/half"), "{e}");
    cg.destroy().unwrap();
    assert!(!cg.exists());
}

#[test]
fn failed_create_removes_what_it_made() {
    let f = Fake::new(THIS_HOST);
    // The kernel refusing a value looks like a failed write: here the blkio
    // file is missing in new cgroups, after every other directory was made
    // and several limits were written.
    fake::register(&f.root.join("blkio"), &[("cgroup.procs", "")]);
    let cg = open(&f.h, None, "bad").unwrap();
    let e = cg.create(&full_limits_this_host()).unwrap_err().to_string();
    assert!(e.starts_with("failed to write 7:0 1048576 to "), "{e}");
    assert!(e.contains("blkio.throttle.write_bps_device"), "{e}");
    assert!(!cg.exists());
    for h in THIS_HOST {
        assert!(!f.root.join(h).join("me/bad").exists(), "{h}");
        assert!(f.root.join(h).join("me").is_dir());
    }
}

/// What this machine can take: no net_cls hierarchy, no BFQ.
fn full_limits_this_host() -> Limits {
    Limits {
        net_classid: None,
        io_weight: None,
        ..full_limits()
    }
}

#[test]
fn parents() {
    let f = Fake::new(&["memory", "pids"]);
    let e = open(&f.h, Some("nope"), "x").err().unwrap();
    assert!(matches!(e, CgroupError::ParentMissing { .. }));
    let msg = e.to_string();
    assert!(
        msg.starts_with("parent cgroup ") && msg.contains("memory/me/nope") && msg.contains("does not exist"),
        "{msg}"
    );
    // Relative: under the caller's own cgroup.
    for h in ["memory", "pids"] {
        fs::create_dir_all(f.root.join(h).join("me/lab")).unwrap();
        fs::create_dir_all(f.root.join(h).join("top/lab")).unwrap();
    }
    let cg = open(&f.h, Some("lab"), "x").unwrap();
    assert_eq!(cg.paths()[0], f.root.join("memory/me/lab/x"));
    // Absolute: from each hierarchy's root.
    let cg = open(&f.h, Some("/top/lab"), "x").unwrap();
    assert_eq!(
        cg.paths(),
        vec![f.root.join("memory/top/lab/x"), f.root.join("pids/top/lab/x")]
    );
    assert!(open(&f.h, Some("../escape"), "x").is_err());
    assert!(matches!(
        open(&f.h, None, "..").err().unwrap(),
        CgroupError::InvalidName { .. }
    ));
}

#[test]
fn processes_freezer_and_stats() {
    let f = Fake::new(ALL);
    let cg = open(&f.h, None, "s").unwrap();
    cg.create(&Limits::default()).unwrap();
    cg.add_process(4242).unwrap();
    for h in ALL {
        assert_eq!(f.read(h, "s", "cgroup.procs"), "4242", "{h}");
    }
    cg.freeze().unwrap();
    assert_eq!(f.read("freezer", "s", "freezer.state"), "FROZEN");
    cg.thaw().unwrap();
    assert_eq!(f.read("freezer", "s", "freezer.state"), "THAWED");

    let w = |h: &str, file: &str, text: &str| fs::write(f.root.join(h).join("me/s").join(file), text).unwrap();
    w("memory", "memory.usage_in_bytes", "1048576\n");
    w("memory", "memory.max_usage_in_bytes", "2097152\n");
    w(
        "memory",
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    );
    w("cpu,cpuacct", "cpuacct.usage", "123456789\n");
    w(
        "cpu,cpuacct",
        "cpu.stat",
        "nr_periods 50\nnr_throttled 7\nthrottled_time 9000000\n",
    );
    w("pids", "pids.current", "2\n");
    w("pids", "pids.max", "max\n");
    w("memory", "memory.limit_in_bytes", "9223372036854771712\n");
    w(
        "blkio",
        "blkio.throttle.io_service_bytes_recursive",
        "7:3 Read 4096\n7:3 Write 512\n7:3 Sync 0\n7:3 Async 4608\n7:3 Total 4608\nTotal 4608\n",
    );
    let s = cg.stats().unwrap();
    assert_eq!(
        s,
        crate::cgroups::Stats {
            name: "s".to_string(),
            cgroup_version: 1,
            memory_current_bytes: Some(1 << 20),
            memory_peak_bytes: Some(2 << 20),
            cpu_usage_usec: Some(123456),
            cpu_nr_periods: Some(50),
            cpu_nr_throttled: Some(7),
            cpu_throttled_usec: Some(9000),
            pids_current: Some(2),
            oom_kills: Some(3),
            memory_max_bytes: None,
            pids_max: None,
            io_read_bytes: Some(4096),
            io_write_bytes: Some(512),
        }
    );
    // Pids of every hierarchy and of descendant cgroups, without repeats.
    // (These are fake pids: the cgroup must not be destroyed while it lists them.)
    fs::create_dir(f.root.join("pids/me/s/inner")).unwrap();
    fs::write(f.root.join("pids/me/s/inner/cgroup.procs"), "4243\n").unwrap();
    assert_eq!(cg.pids().unwrap(), vec![4242, 4243]);
    for h in ALL {
        w(h, "cgroup.procs", "");
    }
    fs::write(f.root.join("pids/me/s/inner/cgroup.procs"), "").unwrap();
    cg.destroy().unwrap();
    assert!(!f.root.join("pids/me/s").exists());
}

#[test]
fn stats_on_a_host_without_some_files() {
    let f = Fake::new(&["memory"]);
    fake::register(
        &f.root.join("memory"),
        &[("cgroup.procs", ""), ("memory.usage_in_bytes", "10\n")],
    );
    let cg = open(&f.h, None, "m").unwrap();
    cg.create(&Limits::default()).unwrap();
    let s = cg.stats().unwrap();
    assert_eq!(s.memory_current_bytes, Some(10));
    assert_eq!(
        (s.memory_peak_bytes, s.cpu_usage_usec, s.pids_current, s.oom_kills),
        (None, None, None, None)
    );
    assert!(matches!(
        cg.freeze().unwrap_err(),
        CgroupError::ControllerNotAvailable { .. }
    ));
    cg.destroy().unwrap();
}

#[test]
fn kernel_refusal_names_path_and_value() {
    let f = Fake::new(&["pids"]);
    let cg = open(&f.h, None, "k").unwrap();
    cg.create(&Limits::default()).unwrap();
    // A missing file fails the write as a kernel refusal would.
    let p = f.root.join("pids/me/k");
    fs::remove_file(p.join("cgroup.procs")).unwrap();
    let e = cg.add_process(77).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "failed to write 77 to {}: No such file or directory (os error 2)",
            p.join("cgroup.procs").display()
        )
    );
    cg.destroy().unwrap();
}
