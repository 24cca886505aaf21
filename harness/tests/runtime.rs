//! Root tests of the reference runtime: real containers, started the way every
//! check starts them (fork+exec of the `harness` binary), observed from inside
//! with the probe and from the host with /proc and cgroup files.
//!
//! `cargo test -p harness -- --ignored` as root. Each isolation test carries its
//! control: the same observation without the feature must show the difference.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use tempfile::TempDir;

fn harness() -> Command {
    Command::cargo_bin("harness").expect("harness binary")
}

fn probe_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("probe")
}

/// A fresh root file system made by `harness rootfs`, removed on drop.
fn rootfs() -> TempDir {
    let t = tempfile::Builder::new()
        .prefix("harness-test-rootfs")
        .tempdir()
        .unwrap();
    let out = harness().arg("rootfs").arg(t.path()).output().unwrap();
    assert!(
        out.status.success(),
        "harness rootfs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t
}

fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

struct Run {
    argv: String,
    out: Output,
}

impl Run {
    fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// The JSON lines the probe printed.
    fn lines(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
    fn last(&self) -> Value {
        self.lines()
            .pop()
            .unwrap_or_else(|| panic!("no JSON from `{}`; stderr: {}", self.argv, self.stderr()))
    }
}

fn run(args: &[&str]) -> Run {
    let mut c = harness();
    c.arg("run").args(args);
    let argv = format!("harness run {}", args.join(" "));
    let out = c.stdin(Stdio::null()).output().unwrap();
    Run { argv, out }
}

fn run_ok(args: &[&str]) -> Value {
    let r = run(args);
    assert_eq!(
        r.code(),
        0,
        "expected exit 0 from `{}`, got {}; stderr: {}",
        r.argv,
        r.code(),
        r.stderr()
    );
    r.last()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
#[ignore = "needs root"]
fn init_is_pid_1() {
    let r = rootfs();
    let f = run_ok(&["--ns", "pid,mnt", "--rootfs", s(r.path()), "--", "/bin/probe", "facts"]);
    // The reference runtime's init is PID 1 and the command its child, PID 2.
    assert_eq!(
        (f["pid"].as_i64(), f["ppid"].as_i64()),
        (Some(2), Some(1)),
        "pid/ppid inside: {}",
        f["pid"]
    );
    assert_eq!(
        f["pids"],
        serde_json::json!([1, 2]),
        "a fresh /proc lists only the container's processes"
    );
    // Control: without a PID namespace the probe is an ordinary host process among many.
    let f = run_ok(&["--ns", "mnt", "--rootfs", s(r.path()), "--", "/bin/probe", "facts"]);
    assert!(
        f["pid"].as_i64().unwrap() > 2,
        "without --ns pid the probe has a host pid: {}",
        f["pid"]
    );
    assert!(
        f["pids"].as_array().unwrap().len() > 10,
        "without --ns pid /proc shows the host's processes"
    );
}

#[test]
#[ignore = "needs root"]
fn hostname_is_set_inside_only() {
    let host = nix::unistd::gethostname().unwrap();
    let name = unique("box");
    let f = run_ok(&["--ns", "uts", "--hostname", &name, "--", s(&probe_bin()), "facts"]);
    assert_eq!(f["hostname"].as_str(), Some(name.as_str()));
    assert_eq!(nix::unistd::gethostname().unwrap(), host, "the host's hostname changed");
    // Control: without a UTS namespace the runtime refuses rather than renaming the host.
    let r = run(&["--hostname", &name, "--", s(&probe_bin()), "facts"]);
    assert_eq!(r.code(), 125);
    assert!(r.stderr().contains("runtime error: --hostname"), "{}", r.stderr());
}

#[test]
#[ignore = "needs root"]
fn pivot_root_hides_the_host() {
    let r = rootfs();
    let marker = tempfile::NamedTempFile::new().unwrap();
    let path = s(marker.path());
    let st = run_ok(&[
        "--ns",
        "pid,mnt",
        "--rootfs",
        s(r.path()),
        "--",
        "/bin/probe",
        "stat",
        path,
    ]);
    assert_eq!(st["ok"], false, "host marker {path} visible inside: {st}");
    // Control: the same probe on the host finds it.
    let out = Command::new(probe_bin()).args(["stat", path]).output().unwrap();
    let host: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(host["ok"], true, "{host}");

    let f = run_ok(&["--ns", "pid,mnt", "--rootfs", s(r.path()), "--", "/bin/probe", "facts"]);
    let mounts: Vec<&str> = f["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["mount_point"].as_str())
        .collect();
    assert_eq!(mounts.first(), Some(&"/"), "{mounts:?}");
    // The container's own: its root, /proc with the contract's masks and read-only
    // knobs over it (1.2), /dev and what is in it.
    let masks: Vec<String> = labkit::contract::MASKED_PROC_FILES
        .iter()
        .chain(&labkit::contract::MASKED_PROC_DIRS)
        .chain(&labkit::contract::READ_ONLY_PROC)
        .map(|n| format!("/proc/{n}"))
        .collect();
    for m in &mounts {
        assert!(
            ["/", "/proc", "/dev", "/dev/shm"].contains(m) || m.starts_with("/dev/") || masks.iter().any(|k| k == m),
            "host mount {m} visible after pivot_root: {mounts:?}"
        );
    }
    assert!(
        mounts.contains(&"/proc/keys") && mounts.contains(&"/proc/sys"),
        "/proc/keys masked and /proc/sys read-only (contract 1.2): {mounts:?}"
    );
    // The root file system holds the probe alone: no host library is visible inside.
    let libc = run_ok(&[
        "--ns",
        "pid,mnt",
        "--rootfs",
        s(r.path()),
        "--",
        "/bin/probe",
        "stat",
        "/lib/x86_64-linux-gnu/libc.so.6",
    ]);
    assert_eq!(libc["ok"], false, "a host library is visible inside: {libc}");
    let up = run_ok(&[
        "--ns",
        "pid,mnt",
        "--rootfs",
        s(r.path()),
        "--",
        "/bin/probe",
        "chdir-up",
    ]);
    assert_eq!(up["same"], true, "`..` from / left the root: {up}");
}

#[test]
#[ignore = "needs root"]
fn overlay_root_writes_go_to_upper() {
    let r = rootfs();
    let t = TempDir::new().unwrap();
    let (up, wk) = (t.path().join("upper"), t.path().join("work"));
    std::fs::create_dir(&up).unwrap();
    std::fs::create_dir(&wk).unwrap();
    run_ok(&[
        "--ns",
        "pid,mnt",
        "--layer",
        s(r.path()),
        "--upper",
        s(&up),
        "--work",
        s(&wk),
        "--",
        "/bin/probe",
        "write-file",
        "/etc/written",
        "--content",
        "hello",
    ]);
    assert_eq!(std::fs::read_to_string(up.join("etc/written")).unwrap(), "hello");
    assert!(!r.path().join("etc/written").exists(), "the lower layer was written");
}

#[test]
#[ignore = "needs root"]
fn oom_kill_at_memory_limit() {
    let name = unique("oom");
    let probe = probe_bin();
    let r = run(&[
        "--cgroup",
        &name,
        "--memory",
        "32M",
        "--",
        s(&probe),
        "mem",
        "--total",
        "256M",
        "--step",
        "4M",
    ]);
    assert_eq!(
        r.code(),
        137,
        "expected an OOM kill (137) from `{}`, got {}; stderr {}",
        r.argv,
        r.code(),
        r.stderr()
    );
    let reached = r
        .lines()
        .iter()
        .filter_map(|l| l["allocated_bytes"].as_u64())
        .max()
        .unwrap_or(0);
    // Tolerance: the kill comes within one step past the limit (page cache and the
    // probe's own pages count too, so it may come earlier, but not before half).
    assert!(
        (16 << 20..=36 << 20).contains(&reached),
        "OOM kill at {reached} bytes for a 32M limit"
    );
    assert!(
        cgroup_dirs_named(&name).is_empty(),
        "cgroup {name} left behind: {:?}",
        cgroup_dirs_named(&name)
    );
    // Control: the same allocation under a larger limit completes.
    let name2 = unique("oom-ctl");
    let r = run(&[
        "--cgroup",
        &name2,
        "--memory",
        "512M",
        "--",
        s(&probe),
        "mem",
        "--total",
        "256M",
        "--step",
        "4M",
    ]);
    assert_eq!(r.code(), 0, "control `{}` failed: {}", r.argv, r.stderr());
    assert!(cgroup_dirs_named(&name2).is_empty(), "cgroup {name2} left behind");
}

#[test]
#[ignore = "needs root"]
fn cgroup_is_joined_and_removed() {
    let name = unique("cg");
    let f = run_ok(&["--cgroup", &name, "--pids", "50", "--", s(&probe_bin()), "facts"]);
    let lines = f["cgroup"].as_array().unwrap();
    let mem = lines
        .iter()
        .find(|l| {
            l["controllers"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "memory"))
                || l["hierarchy_id"] == 0
        })
        .unwrap();
    assert!(
        mem["path"].as_str().unwrap().ends_with(&format!("/{name}")),
        "not in cgroup {name}: {lines:?}"
    );
    // Every v1 hierarchy with a controller was joined, not only memory.
    for l in lines.iter().filter(|l| l["hierarchy_id"] != 0) {
        let ctrls = l["controllers"].as_array().unwrap();
        if ctrls.iter().any(|c| !c.as_str().unwrap().starts_with("name=")) {
            assert!(
                l["path"].as_str().unwrap().ends_with(&format!("/{name}")),
                "hierarchy {l} not joined"
            );
        }
    }
    assert!(
        cgroup_dirs_named(&name).is_empty(),
        "cgroup {name} left behind: {:?}",
        cgroup_dirs_named(&name)
    );
}

#[test]
#[ignore = "needs root"]
fn cgroup_namespace_shows_root() {
    let name = unique("cgns");
    let f = run_ok(&["--ns", "cgroup", "--cgroup", &name, "--", s(&probe_bin()), "facts"]);
    for l in f["cgroup"].as_array().unwrap() {
        let ctrls = l["controllers"].as_array().map(|c| c.len()).unwrap_or(0);
        if ctrls > 0 {
            assert_eq!(l["path"], "/", "cgroup namespace root is not /: {l}");
        }
    }
}

#[test]
#[ignore = "needs root"]
fn exit_statuses_follow_the_contract() {
    let p = probe_bin();
    assert_eq!(run(&["--ns", "pid", "--", s(&p), "exit", "3"]).code(), 3);
    assert_eq!(run(&["--", s(&p), "exit", "4"]).code(), 4);
    let r = run(&["--ns", "pid", "--", "/nonexistent/cmd"]);
    assert_eq!(r.code(), 127);
    assert!(
        r.stderr().contains("runtime error:") && r.stderr().contains("/nonexistent/cmd"),
        "{}",
        r.stderr()
    );
    let not_exec = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(run(&["--ns", "pid", "--", s(not_exec.path())]).code(), 126);
    let r = run(&["--ns", "pid", "--", s(&p), "kill", "1", "--signal", "9"]);
    // PID 1 cannot be killed from inside its own namespace: the probe reports, exit 0.
    assert_eq!(r.code(), 0, "{}", r.stderr());
}

#[test]
#[ignore = "needs root"]
fn sigterm_to_runtime_reaches_the_command() {
    let p = probe_bin();
    let mut child = harness()
        .args(["run", "--ns", "pid", "--", s(&p), "sleep", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(143), "expected 128+SIGTERM, got {st:?}");
}

#[test]
#[ignore = "needs root"]
fn pid_file_names_the_host_pid_of_init() {
    let t = TempDir::new().unwrap();
    let pf = t.path().join("pid");
    let mut child = harness()
        .args([
            "run",
            "--ns",
            "pid",
            "--pid-file",
            s(&pf),
            "--",
            s(&probe_bin()),
            "sleep",
            "5",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let pid = loop {
        if let Ok(t) = std::fs::read_to_string(&pf) {
            if t.ends_with('\n') {
                break t.trim().parse::<i32>().unwrap();
            }
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no pid file");
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    let ids: Vec<&str> = nspid.split_whitespace().skip(1).collect();
    assert_eq!(ids, vec![pid.to_string().as_str(), "1"], "{nspid}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    child.wait().unwrap();
}

#[test]
#[ignore = "needs root"]
fn user_namespace_maps_root_to_the_given_uid() {
    let r = rootfs();
    let t = TempDir::new().unwrap();
    let (up, wk) = (t.path().join("upper"), t.path().join("work"));
    std::fs::create_dir(&up).unwrap();
    std::fs::create_dir(&wk).unwrap();
    let args = [
        "--ns",
        "user,mnt,pid",
        "--uid-map",
        "0:100000:65536",
        "--gid-map",
        "0:100000:65536",
        "--layer",
        s(r.path()),
        "--upper",
        s(&up),
        "--work",
        s(&wk),
        "--",
    ];
    let mut a = args.to_vec();
    a.extend(["/bin/probe", "facts"]);
    let f = run_ok(&a);
    assert_eq!(f["uid"], 0, "{f}");
    assert_eq!(f["uid_map"], serde_json::json!([[0, 100000, 65536]]));
    let mut a = args.to_vec();
    a.extend(["/bin/probe", "write-file", "/tmp/owned", "--content", "x"]);
    run_ok(&a);
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(up.join("tmp/owned")).unwrap();
    assert_eq!(
        (m.uid(), m.gid()),
        (100000, 100000),
        "file made by root inside is not owned by the mapped uid"
    );
}

#[test]
#[ignore = "needs root"]
fn network_namespace_has_only_lo_and_veth_works() {
    let p = probe_bin();
    let f = run_ok(&["--ns", "net", "--", s(&p), "facts"]);
    let names: Vec<&str> = f["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    let mut uniq = names.clone();
    uniq.dedup();
    assert_eq!(uniq, vec!["lo"], "{names:?}");
    let h = unique("h").replace('-', "").chars().rev().take(8).collect::<String>();
    let (hif, cif) = (format!("vh{h}"), format!("vc{h}"));
    let spec = format!("{hif}=10.231.7.1/24,{cif}=10.231.7.2/24");
    let f = run_ok(&["--ns", "net", "--veth", &spec, "--", s(&p), "facts"]);
    let ifs = f["interfaces"].as_array().unwrap();
    let c = ifs
        .iter()
        .find(|i| i["name"] == cif.as_str())
        .unwrap_or_else(|| panic!("{cif} missing: {ifs:?}"));
    assert_eq!(c["up"], true);
    assert!(c["addresses"].to_string().contains("10.231.7.2"), "{c}");
    assert!(
        !Path::new("/sys/class/net").join(&hif).exists(),
        "host veth {hif} left behind"
    );
}

#[test]
#[ignore = "needs root"]
fn time_namespace_moves_boottime() {
    let p = probe_bin();
    let f = run_ok(&[
        "--ns",
        "time",
        "--time-offset",
        "monotonic=100000,boottime=100000",
        "--",
        s(&p),
        "facts",
    ]);
    let inside = f["uptime"]["boottime"]
        .as_f64()
        .unwrap_or_else(|| panic!("no uptime.boottime in {f}"));
    let host = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).unwrap();
    let host = host.tv_sec() as f64;
    assert!(inside - host > 99_000.0, "boottime inside {inside}, host {host}");
}

#[test]
#[ignore = "needs root"]
fn bad_input_is_refused_and_leaves_nothing() {
    let name = unique("bad");
    for (args, needle) in [
        (
            vec!["--cgroup", name.as_str(), "--memory", "lots", "--", "true"],
            "--memory",
        ),
        (vec!["--ns", "pid,nope", "--", "true"], "--ns"),
        (
            vec!["--ns", "mnt", "--rootfs", "/nonexistent/rootfs", "--", "true"],
            "--rootfs",
        ),
        (vec!["--cgroup", "../escape", "--", "true"], "escape"),
        (
            vec![
                "--ns",
                "uts",
                "--hostname",
                "x",
                "--cgroup",
                name.as_str(),
                "--cpus",
                "10/100000",
                "--",
                "true",
            ],
            "--cpus",
        ),
    ] {
        let r = run(&args);
        assert_eq!(r.code(), 125, "`{}`: {}", r.argv, r.stderr());
        assert!(
            r.stderr().starts_with("runtime error:") && r.stderr().contains(needle),
            "`{}`: {}",
            r.argv,
            r.stderr()
        );
    }
    assert!(cgroup_dirs_named(&name).is_empty());
}

/// Every directory named `name` in any cgroup hierarchy (v1 and v2), under the
/// caller's own cgroup of each.
fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mut found = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next(), f.next().unwrap(), f.next().unwrap());
        let mount = match ctrl {
            "" => "unified".to_string(),
            c => c
                .split(',')
                .find(|c| !c.starts_with("name="))
                .unwrap_or("systemd")
                .to_string(),
        };
        for base in [
            Path::new("/sys/fs/cgroup").join(&mount),
            PathBuf::from("/sys/fs/cgroup"),
        ] {
            let p = base.join(path.trim_start_matches('/')).join(name);
            if p.exists() {
                found.push(p);
            }
        }
    }
    found
}

fn wait_for_file(p: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(t) = std::fs::read_to_string(p) {
            if t.ends_with('\n') {
                return t;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            p.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn contract(cmd: &str, name: &str) -> Run {
    let out = harness().args([cmd, name]).output().unwrap();
    Run {
        argv: format!("harness {cmd} {name}"),
        out,
    }
}

#[test]
#[ignore = "needs root"]
fn pause_resume_and_stats_act_on_the_cgroup() {
    use std::io::{BufRead, BufReader};
    use std::sync::{Arc, Mutex};
    let name = unique("frz");
    let t = TempDir::new().unwrap();
    let pf = t.path().join("pid");
    let mut child = harness()
        .args([
            "run",
            "--ns",
            "pid",
            "--cgroup",
            &name,
            "--pids",
            "64",
            "--pid-file",
            s(&pf),
            "--",
        ])
        .arg(probe_bin())
        .args(["count", "--interval-ms", "10"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // A reader thread keeps every count the probe printed.
    let counts = Arc::new(Mutex::new(Vec::<i64>::new()));
    let out = child.stdout.take().unwrap();
    let sink = counts.clone();
    let reader = std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(c) = serde_json::from_str::<Value>(&l).ok().and_then(|v| v["count"].as_i64()) {
                sink.lock().unwrap().push(c);
            }
        }
    });
    let seen = || counts.lock().unwrap().clone();
    wait_for_file(&pf);
    while seen().len() < 3 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let freezer = cgroup_dirs_named(&name)
        .into_iter()
        .find(|d| d.starts_with("/sys/fs/cgroup/freezer"));

    let r = contract("pause", &name);
    assert_eq!(r.code(), 0, "{}: {}", r.argv, r.stderr());
    if let Some(f) = &freezer {
        assert_eq!(
            std::fs::read_to_string(f.join("freezer.state")).unwrap().trim(),
            "FROZEN"
        );
    }
    // Lines printed before the freeze may still be in flight; then nothing moves.
    std::thread::sleep(Duration::from_millis(200));
    let frozen_at = seen();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(seen(), frozen_at, "the probe kept counting while paused");

    let stats = contract("stats", &name);
    assert_eq!(stats.code(), 0, "{}", stats.stderr());
    let st: Value = stats.last();
    assert_eq!(st["name"], name.as_str());
    assert_eq!(st["pids_current"], 2, "init and the probe: {st}");
    assert!(st["memory_current_bytes"].as_u64().unwrap() > 0, "{st}");

    let r = contract("resume", &name);
    assert_eq!(r.code(), 0, "{}: {}", r.argv, r.stderr());
    std::thread::sleep(Duration::from_millis(300));
    let resumed = seen();
    assert!(resumed.len() > frozen_at.len(), "the probe did not go on after resume");
    assert_eq!(
        resumed[frozen_at.len()],
        frozen_at.last().unwrap() + 1,
        "counts: {resumed:?}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    assert!(
        cgroup_dirs_named(&name).is_empty(),
        "left behind: {:?}",
        cgroup_dirs_named(&name)
    );
    // Control: the contract commands refuse a cgroup that does not exist.
    let r = contract("pause", &name);
    assert_eq!(r.code(), 125);
    assert!(r.stderr().starts_with("runtime error:"), "{}", r.stderr());
}

#[test]
#[ignore = "needs root"]
fn init_reaps_orphans() {
    // A fresh /proc (mnt) so the probe looks up the orphan in its own PID namespace.
    let f = run(&[
        "--ns",
        "pid,mnt",
        "--",
        s(&probe_bin()),
        "orphan",
        "--delay-ms",
        "50",
        "--wait-ms",
        "400",
    ]);
    assert_eq!(f.code(), 0, "{}", f.stderr());
    let last = f.last();
    assert_eq!(last["state"], "gone", "the orphan was not reaped by init: {last}");
    // Control: with the probe itself as PID 1 (no reaper), the orphan stays a zombie.
    let out = Command::new("unshare")
        .args(["--fork", "--pid", "--mount-proc"])
        .arg(probe_bin())
        .args(["orphan", "--delay-ms", "50", "--wait-ms", "400"])
        .output()
        .unwrap();
    let last: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["state"], "zombie", "control without a reaping init: {last}");
}

#[test]
#[ignore = "needs root"]
fn runtime_error_midway_leaves_nothing() {
    let r = rootfs();
    let t = TempDir::new().unwrap();
    let (up, wk) = (t.path().join("upper"), t.path().join("work"));
    std::fs::create_dir(&up).unwrap();
    std::fs::create_dir(&wk).unwrap();
    let name = unique("mid");
    // `lo` exists on the host, so the veth step fails after clone, overlay and maps.
    let out = run(&[
        "--ns",
        "pid,mnt,net,user",
        "--uid-map",
        "0:100000:65536",
        "--gid-map",
        "0:100000:65536",
        "--layer",
        s(r.path()),
        "--upper",
        s(&up),
        "--work",
        s(&wk),
        "--cgroup",
        &name,
        "--memory",
        "64M",
        "--veth",
        "lo=10.9.9.1/24,c0=10.9.9.2/24",
        "--",
        "/bin/probe",
        "exit",
        "0",
    ]);
    assert_eq!(out.code(), 125, "{}", out.stderr());
    assert!(
        out.stderr().contains("--veth") && out.stderr().contains("lo"),
        "{}",
        out.stderr()
    );
    assert!(
        cgroup_dirs_named(&name).is_empty(),
        "cgroup left: {:?}",
        cgroup_dirs_named(&name)
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(s(&up)), "overlay left mounted");
    assert!(Path::new("/sys/class/net/lo").exists(), "the host's lo was touched");
    let roots: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("harness-root-"))
        .filter(|e| {
            std::fs::read_dir(e.path())
                .map(|mut d| d.next().is_none())
                .unwrap_or(false)
        })
        .map(|e| e.path())
        .collect();
    // Other tests run containers at the same time; ours is named by the runtime's pid,
    // which has exited, so only a directory of an ended runtime would be a leak. In that
    // order: a runtime may remove its directory and exit between the listing and the
    // look at /proc, so the directory must still be there once its owner is gone.
    for dir in roots {
        let pid: i32 = dir.file_name().unwrap().to_string_lossy()["harness-root-".len()..]
            .parse()
            .unwrap();
        let owner_gone = !Path::new(&format!("/proc/{pid}")).exists();
        assert!(!(owner_gone && dir.exists()), "leftover {}", dir.display());
    }
}

#[test]
#[ignore = "needs root"]
fn doctor_reports_every_namespace() {
    let out = harness().args(["doctor", "--json"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "doctor found an essential piece missing: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["key"].as_str())
        .collect();
    for ns in ["pid", "uts", "mnt", "net", "ipc", "user", "cgroup", "time"] {
        assert!(
            keys.contains(&format!("ns.{ns}").as_str()),
            "no line for ns.{ns}: {keys:?}"
        );
    }
    for k in ["root", "overlay", "cgroup.version", "cgroup.memory", "probe"] {
        assert!(keys.contains(&k), "no line for {k}: {keys:?}");
    }
}

/// A runtime killed with SIGKILL leaves its empty overlay mount point behind; the
/// next runtime that mounts an overlay (and `harness cleanup`) removes those whose
/// runtime is gone, and nothing else: not a live runtime's, not a non-empty one.
#[test]
#[ignore = "needs root"]
fn stale_overlay_mount_points_are_swept() {
    let tmp = std::env::temp_dir();
    let gone = {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    };
    let stale = tmp.join(format!("harness-root-{gone}"));
    let live = tmp.join(format!("harness-root-{}", std::process::id()));
    let full = tmp.join(format!("harness-root-{}", gone + 1_000_000));
    for d in [&stale, &live, &full] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(full.join("keep"), "x").unwrap();
    let r = rootfs();
    let t = TempDir::new().unwrap();
    let (up, wk) = (t.path().join("upper"), t.path().join("work"));
    std::fs::create_dir(&up).unwrap();
    std::fs::create_dir(&wk).unwrap();
    let out = run(&[
        "--ns",
        "mnt",
        "--layer",
        s(r.path()),
        "--upper",
        s(&up),
        "--work",
        s(&wk),
        "--",
        "/bin/probe",
        "exit",
        "0",
    ]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert!(!stale.exists(), "the dead runtime's mount point is still there");
    assert!(
        live.exists() && full.exists(),
        "a live runtime's or a non-empty directory was removed"
    );
    std::fs::remove_dir(&live).unwrap();
    std::fs::remove_dir_all(&full).unwrap();
}
