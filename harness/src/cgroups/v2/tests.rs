//! The v2 driver against a fake cgroupfs in a temporary directory.

use std::fs;
use std::path::PathBuf;

use rstest::rstest;

use crate::cgroups::common::fake;
use crate::cgroups::{
    open, CgroupError, CgroupVersion, CpuMax, DeviceKind, DeviceRule, Hierarchies, IoLimit, Limits, Stats, V2Hierarchy,
};

/// What the kernel makes in a new cgroup whose parent enabled every controller.
const NEW_CGROUP: &[(&str, &str)] = &[
    ("cgroup.procs", ""),
    ("cgroup.controllers", ""),
    ("cgroup.subtree_control", ""),
    ("cgroup.freeze", "0\n"),
    ("cgroup.events", "populated 0\nfrozen 0\n"),
    ("cgroup.kill", ""),
    ("cpu.max", "max 100000\n"),
    (
        "cpu.stat",
        "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
    ),
    ("memory.max", "max\n"),
    ("memory.low", "0\n"),
    ("cpu.weight", "100\n"),
    ("memory.swap.max", "max\n"),
    ("memory.current", "0\n"),
    ("memory.peak", "0\n"),
    (
        "memory.events",
        "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
    ),
    ("pids.max", "max\n"),
    ("pids.current", "0\n"),
    ("io.max", ""),
    ("io.bfq.weight", "default 100\n"),
    ("cpuset.cpus", "\n"),
    ("cpuset.mems", "\n"),
];

/// A fake pure-v2 host with the caller at `/me`.
struct Fake {
    _dir: tempfile::TempDir,
    me: PathBuf,
    h: Hierarchies,
}

impl Fake {
    fn new(controllers: &str, subtree_control: &str) -> Fake {
        Fake::with_files(controllers, subtree_control, NEW_CGROUP)
    }

    fn with_files(controllers: &str, subtree_control: &str, files: &[(&str, &str)]) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let me = dir.path().join("me");
        fs::create_dir(&me).unwrap();
        fs::write(me.join("cgroup.controllers"), controllers).unwrap();
        fs::write(me.join("cgroup.subtree_control"), subtree_control).unwrap();
        fs::write(me.join("cpuset.mems.effective"), "0\n").unwrap();
        fs::write(me.join("cgroup.procs"), "").unwrap();
        fake::register(dir.path(), files);
        let h = Hierarchies::new(
            Vec::new(),
            Some(V2Hierarchy {
                mount: dir.path().to_path_buf(),
                root: "/".to_string(),
                own: "/me".to_string(),
            }),
        );
        Fake { _dir: dir, me, h }
    }

    fn read(&self, name: &str, file: &str) -> String {
        fs::read_to_string(self.me.join(name).join(file)).unwrap()
    }

    fn subtree_control(&self) -> String {
        fs::read_to_string(self.me.join("cgroup.subtree_control")).unwrap()
    }
}

const ALL: &str = "cpuset cpu io memory hugetlb pids rdma misc\n";

#[test]
fn create_writes_every_limit() {
    let f = Fake::new(ALL, "");
    assert_eq!(f.h.version(), CgroupVersion::V2);
    let cg = open(&f.h, None, "box").unwrap();
    assert_eq!(cg.version(), CgroupVersion::V2);
    assert_eq!(cg.paths(), vec![f.me.join("box")]);
    let limits = Limits {
        memory: Some(64 << 20),
        memory_low: Some(16 << 20),
        cpu: Some(CpuMax {
            quota_us: 20000,
            period_us: 100000,
        }),
        cpu_weight: Some(250),
        io_weight: Some(300),
        pids: Some(16),
        io_wbps: vec![IoLimit {
            major: 7,
            minor: 0,
            bps: 1 << 20,
        }],
        io_rbps: vec![
            IoLimit {
                major: 8,
                minor: 16,
                bps: 4096,
            },
            IoLimit {
                major: 7,
                minor: 0,
                bps: 2 << 20,
            },
        ],
        cpuset: Some("0-1".to_string()),
        deny_devices: Vec::new(),
        net_classid: None,
    };
    cg.create(&limits).unwrap();
    assert_eq!(f.subtree_control(), "+cpuset +cpu +io +memory +pids");
    assert_eq!(f.read("box", "cpu.max"), "20000 100000");
    assert_eq!(f.read("box", "cpu.weight"), "250");
    assert_eq!(f.read("box", "io.bfq.weight"), "300");
    assert_eq!(f.read("box", "memory.low"), (16u64 << 20).to_string());
    assert_eq!(f.read("box", "memory.max"), "67108864");
    assert_eq!(f.read("box", "memory.swap.max"), "0");
    assert_eq!(f.read("box", "pids.max"), "16");
    assert_eq!(
        f.read("box", "io.max"),
        "7:0 rbps=2097152 wbps=1048576\n8:16 rbps=4096\n"
    );
    assert_eq!(f.read("box", "cpuset.cpus"), "0-1");
    assert_eq!(f.read("box", "cpuset.mems"), "0");
    cg.destroy().unwrap();
    assert!(!cg.exists());
    cg.destroy().unwrap();
}

#[rstest]
#[case::nothing(Limits::default(), "", "")]
#[case::memory(Limits { memory: Some(1 << 20), ..Default::default() }, "", "+memory")]
#[case::already_on(Limits { memory: Some(1 << 20), ..Default::default() }, "memory pids\n", "memory pids\n")]
#[case::one_more(Limits { memory: Some(1), pids: Some(3), ..Default::default() }, "memory\n", "+pids")]
#[case::write_bps(Limits { io_wbps: vec![IoLimit { major: 7, minor: 0, bps: 1048576 }], ..Default::default() }, "", "+io")]
fn only_needed_controllers_are_enabled(#[case] l: Limits, #[case] before: &str, #[case] after: &str) {
    let f = Fake::new(ALL, before);
    let cg = open(&f.h, None, "c").unwrap();
    cg.create(&l).unwrap();
    assert_eq!(f.subtree_control(), after);
    cg.destroy().unwrap();
}

#[test]
fn io_max_single_device() {
    let f = Fake::new(ALL, "");
    let cg = open(&f.h, None, "io").unwrap();
    cg.create(&Limits {
        io_wbps: vec![IoLimit {
            major: 7,
            minor: 0,
            bps: 1048576,
        }],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(f.read("io", "io.max"), "7:0 wbps=1048576\n");
    cg.destroy().unwrap();
}

#[test]
fn swap_max_only_when_present() {
    let files: Vec<(&str, &str)> = NEW_CGROUP
        .iter()
        .copied()
        .filter(|(n, _)| *n != "memory.swap.max")
        .collect();
    let f = Fake::with_files(ALL, "", &files);
    let cg = open(&f.h, None, "m").unwrap();
    cg.create(&Limits {
        memory: Some(8192),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(f.read("m", "memory.max"), "8192");
    assert!(!f.me.join("m/memory.swap.max").exists());
    cg.destroy().unwrap();
}

#[test]
fn io_weight_without_bfq_is_named() {
    let files: Vec<(&str, &str)> = NEW_CGROUP
        .iter()
        .copied()
        .filter(|(n, _)| *n != "io.bfq.weight")
        .collect();
    let f = Fake::with_files(ALL, "", &files);
    let cg = open(&f.h, None, "w").unwrap();
    let e = cg
        .create(&Limits {
            io_weight: Some(500),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--io-weight") && e.contains("io.bfq.weight") && e.contains("BFQ"),
        "{e}"
    );
    let _ = cg.destroy();
}

#[test]
fn missing_controller_is_named_and_nothing_made() {
    let f = Fake::new("cpu io memory\n", "");
    let cg = open(&f.h, None, "p").unwrap();
    let e = cg
        .create(&Limits {
            memory: Some(1),
            pids: Some(5),
            ..Default::default()
        })
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, CgroupError::ControllerNotAvailable { controller, .. } if controller == "pids"),
        "{msg}"
    );
    assert!(
        msg.contains("me/cgroup.controllers") && msg.contains("has: cpu io memory"),
        "{msg}"
    );
    assert!(!cg.exists());
    assert_eq!(f.subtree_control(), "");
}

#[test]
fn net_cls_has_no_v2_controller() {
    let f = Fake::new(ALL, "");
    let cg = open(&f.h, None, "n").unwrap();
    let e = cg
        .create(&Limits {
            net_classid: Some(7),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("net_cls has no cgroup v2 controller"), "{e}");
    assert!(!cg.exists());
}

/// A device filter cannot be attached to a directory of a fake tree (as
/// root the program loads, but the directory is not a cgroup; otherwise
/// loading is refused): the failure removes the cgroup and turns off the
/// controller it enabled.
#[test]
fn failed_create_removes_what_it_made() {
    let f = Fake::new(ALL, "");
    let cg = open(&f.h, None, "bad").unwrap();
    let l = Limits {
        memory: Some(1 << 20),
        deny_devices: vec![DeviceRule {
            kind: DeviceKind::Char,
            major: 1,
            minor: 3,
        }],
        ..Default::default()
    };
    let e = cg.create(&l).unwrap_err();
    assert!(matches!(e, CgroupError::Bpf { .. }), "{e}");
    assert!(e.to_string().contains(&f.me.join("bad").display().to_string()), "{e}");
    assert!(!cg.exists());
    assert_eq!(f.subtree_control(), "-memory");
}

#[test]
fn failed_write_keeps_controllers_a_sibling_may_use() {
    let files: Vec<(&str, &str)> = NEW_CGROUP.iter().copied().filter(|(n, _)| *n != "pids.max").collect();
    let f = Fake::with_files(ALL, "", &files);
    fs::create_dir(f.me.join("sibling")).unwrap();
    let cg = open(&f.h, None, "bad").unwrap();
    let e = cg
        .create(&Limits {
            pids: Some(9),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "failed to write 9 to {}: No such file or directory (os error 2)",
            f.me.join("bad/pids.max").display()
        )
    );
    assert!(!cg.exists());
    assert_eq!(f.subtree_control(), "+pids");
}

#[test]
fn already_exists_and_parents() {
    let f = Fake::new(ALL, "");
    let cg = open(&f.h, None, "dup").unwrap();
    cg.create(&Limits::default()).unwrap();
    let e = open(&f.h, None, "dup")
        .unwrap()
        .create(&Limits::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("cgroup dup already exists at {}", f.me.join("dup").display())
    );
    assert!(cg.exists());
    cg.destroy().unwrap();

    let e = open(&f.h, Some("lab/sub"), "x").err().unwrap().to_string();
    assert_eq!(
        e,
        format!(
            "parent cgroup {} does not exist (hierarchy cgroup2)",
            f.me.join("lab/sub").display()
        )
    );
    fs::create_dir_all(f.me.join("lab/sub")).unwrap();
    assert_eq!(
        open(&f.h, Some("lab/sub"), "x").unwrap().paths(),
        vec![f.me.join("lab/sub/x")]
    );
    assert_eq!(
        open(&f.h, Some("/me/lab"), "x").unwrap().paths(),
        vec![f.me.join("lab/x")]
    );
}

#[test]
fn processes_freezer_and_stats() {
    let f = Fake::new(ALL, "");
    let cg = open(&f.h, None, "s").unwrap();
    cg.create(&Limits::default()).unwrap();
    cg.add_process(4242).unwrap();
    assert_eq!(f.read("s", "cgroup.procs"), "4242");
    // The fake kernel reports frozen at once.
    fs::write(f.me.join("s/cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
    cg.freeze().unwrap();
    assert_eq!(f.read("s", "cgroup.freeze"), "1");
    fs::write(f.me.join("s/cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
    cg.thaw().unwrap();
    assert_eq!(f.read("s", "cgroup.freeze"), "0");

    let w = |file: &str, text: &str| fs::write(f.me.join("s").join(file), text).unwrap();
    w("memory.current", "1048576\n");
    w("memory.peak", "3145728\n");
    w("memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n");
    w(
        "cpu.stat",
        "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\nnr_periods 20\nnr_throttled 5\nthrottled_usec 777\n",
    );
    w("pids.current", "1\n");
    w("pids.max", "max\n");
    w("memory.max", "67108864\n");
    w("io.stat", "7:3 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
    assert_eq!(
        cg.stats().unwrap(),
        Stats {
            name: "s".to_string(),
            cgroup_version: 2,
            memory_current_bytes: Some(1 << 20),
            memory_peak_bytes: Some(3 << 20),
            cpu_usage_usec: Some(5000),
            cpu_nr_periods: Some(20),
            cpu_nr_throttled: Some(5),
            cpu_throttled_usec: Some(777),
            pids_current: Some(1),
            oom_kills: Some(1),
            memory_max_bytes: Some(64 << 20),
            pids_max: None,
            io_read_bytes: Some(4096),
            io_write_bytes: Some(8192),
        }
    );
    // An older kernel: no memory.peak; no cpu controller: usage only.
    fs::remove_file(f.me.join("s/memory.peak")).unwrap();
    w("cpu.stat", "usage_usec 6000\nuser_usec 4000\nsystem_usec 2000\n");
    // No io controller enabled: no io.stat, no byte counts (not zero).
    fs::remove_file(f.me.join("s/io.stat")).unwrap();
    w("pids.max", "16\n");
    let s = cg.stats().unwrap();
    assert_eq!(
        (s.memory_peak_bytes, s.cpu_usage_usec, s.cpu_nr_periods),
        (None, Some(6000), None)
    );
    assert_eq!((s.io_read_bytes, s.pids_max), (None, Some(16)));

    // Fake pids: the cgroup must not be destroyed while it lists them.
    fs::create_dir(f.me.join("s/inner")).unwrap();
    fs::write(f.me.join("s/inner/cgroup.procs"), "4243\n4242\n").unwrap();
    assert_eq!(cg.pids().unwrap(), vec![4242, 4243]);
    w("cgroup.procs", "");
    fs::write(f.me.join("s/inner/cgroup.procs"), "").unwrap();
    cg.destroy().unwrap();
    assert!(!f.me.join("s").exists());
}
