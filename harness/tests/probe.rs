//! Runs the built `probe` binary (no root needed) and checks its JSON output.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

fn probe_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("probe")
}

fn probe() -> Command {
    Command::new(probe_path())
}

/// Parse stdout: every line must be one JSON object.
fn lines(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).expect("stdout is UTF-8");
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}"));
            assert!(v.is_object(), "not an object: {l}");
            v
        })
        .collect()
}

/// Run the probe, expect exit code `code`, return its JSON lines.
fn run(args: &[&str], code: i32) -> Vec<Value> {
    let out = probe().args(args).timeout(Duration::from_secs(60)).assert().code(code);
    lines(&out.get_output().stdout)
}

/// Run, expect success and exactly one line.
fn one(args: &[&str]) -> Value {
    let mut v = run(args, 0);
    assert_eq!(v.len(), 1, "expected one line from {args:?}: {v:?}");
    v.remove(0)
}

/// A key unlikely to clash with another test run.
fn unique_key(salt: i32) -> i32 {
    0x5000_0000 | ((std::process::id() as i32 & 0xffff) << 8) | salt
}

#[test]
fn facts_has_expected_keys() {
    let f = one(&["facts"]);
    for k in [
        "pid",
        "ppid",
        "uid",
        "gid",
        "euid",
        "egid",
        "groups",
        "hostname",
        "domainname",
        "ns",
        "uid_map",
        "gid_map",
        "setgroups",
        "cgroup",
        "mounts",
        "root",
        "cwd",
        "interfaces",
        "capabilities",
        "no_new_privs",
        "seccomp",
        "nspid",
        "uptime",
        "oom_score_adj",
        "pids",
    ] {
        assert!(f.get(k).is_some(), "missing {k}");
    }
    let pid = f["pid"].as_u64().unwrap();
    assert!(f["ns"]["pid"].as_u64().unwrap() > 0);
    assert!(f["ns"].get("pid_for_children").is_some());
    assert!(f["ns"].get("time_for_children").is_some());
    assert!(f["pids"].as_array().unwrap().iter().any(|p| p.as_u64() == Some(pid)));
    assert_eq!(f["nspid"].as_array().unwrap().last().unwrap().as_u64(), Some(pid));
    // SAFETY: getuid has no preconditions.
    assert_eq!(f["uid"].as_u64().unwrap() as u32, unsafe { libc::getuid() });
    let map = f["uid_map"].as_array().unwrap();
    assert!(map.iter().all(|e| e.as_array().unwrap().len() == 3));
    let mounts = f["mounts"].as_array().unwrap();
    assert!(mounts
        .iter()
        .any(|m| m["mount_point"] == "/proc" || m["fstype"] == "proc"));
    for m in mounts {
        for k in ["mount_point", "fstype", "source", "options"] {
            assert!(m.get(k).is_some(), "mount lacks {k}");
        }
    }
    for c in f["cgroup"].as_array().unwrap() {
        assert!(c["hierarchy_id"].is_u64() && c["controllers"].is_array() && c["path"].is_string());
    }
    assert!(f["root"]["ino"].as_u64().is_some());
    assert!(f["root"]["dev"].as_u64().is_some());
    assert!(f["capabilities"]["effective"].is_string());
    assert!(f["capabilities"]["effective_names"].is_array());
    assert!(f["uptime"]["monotonic"].as_f64().unwrap() > 0.0);
    assert!(f["uptime"]["boottime"].as_f64().unwrap() > 0.0);
    let ifs = f["interfaces"].as_array().unwrap();
    assert!(ifs.iter().any(|i| i["loopback"] == true));
}

#[test]
fn exit_code_is_passed_through() {
    let v = run(&["exit", "3"], 3);
    assert_eq!(v, vec![serde_json::json!({"exit": 3})]);
    run(&["exit", "0"], 0);
}

#[test]
fn bad_usage_exits_2_with_empty_stdout() {
    let out = probe().args(["exit", "999"]).assert().code(2);
    assert!(out.get_output().stdout.is_empty());
    assert!(!out.get_output().stderr.is_empty());
    probe().args(["no-such-command"]).assert().code(2);
    probe().args(["mem", "--total", "8X"]).assert().code(2);
    // Inconsistent arguments found after parsing are usage errors too.
    probe()
        .args(["ipc", "lookup", "--kind", "mq", "--key", "1"])
        .assert()
        .code(2);
}

#[test]
fn probe_error_is_a_json_line_and_exit_1() {
    let v = run(&["write", "/nonexistent-dir-for-probe/x", "--bytes", "1"], 1);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["op"], "open");
    assert_eq!(v[0]["errno"], libc::ENOENT);
    assert!(v[0]["error"].is_string());
}

#[test]
fn mem_prints_one_line_per_step() {
    let v = run(&["mem", "--total", "8M", "--step", "1M"], 0);
    assert_eq!(v.len(), 9, "{v:?}");
    for (i, line) in v[..8].iter().enumerate() {
        assert_eq!(line["allocated_bytes"].as_u64(), Some((i as u64 + 1) << 20));
    }
    assert_eq!(v[8]["done"], true);
    assert_eq!(v[8]["allocated_bytes"].as_u64(), Some(8 << 20));
}

#[test]
fn mem_partial_last_step() {
    let v = run(&["mem", "--total", "2500K", "--step", "1M"], 0);
    let got: Vec<u64> = v.iter().map(|l| l["allocated_bytes"].as_u64().unwrap()).collect();
    assert_eq!(got, vec![1 << 20, 2 << 20, 2500 << 10, 2500 << 10]);
}

/// A private copy of the probe binary, so that processes of other tests
/// running in parallel are not counted. Written by labkit's exec_file: a copy written
/// here could be open for writing in a child another test thread forks (ETXTBSY).
fn private_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join(name);
    labkit::exec_file::copy_executable(&probe_path(), &exe, 0o755).unwrap();
    let exe = exe.canonicalize().unwrap();
    (dir, exe)
}

/// All live processes whose executable is `exe`.
fn processes_running(exe: &Path) -> Vec<u32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/exe")).ok().as_deref() == Some(exe) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn forks_reaps_every_child() {
    let (_dir, exe) = private_copy("probe-forks");
    let out = StdCommand::new(&exe)
        .args(["forks", "--max", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = lines(&out.stdout);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["forked"], 5);
    assert_eq!(v[0]["reaped"], 5);
    assert_eq!(v[0]["errno"], Value::Null);
    assert_eq!(v[0]["error"], Value::Null);
    assert!(processes_running(&exe).is_empty(), "children left behind");
}

#[test]
fn forks_hold_keeps_children_then_reaps() {
    let (_dir, exe) = private_copy("probe-forks-hold");
    let mut child = StdCommand::new(&exe)
        .args(["forks", "--max", "3", "--hold", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut rd = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    rd.read_line(&mut line).unwrap();
    let first: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(first["forked"], 3);
    assert_eq!(first["holding"], 1.0);
    // the probe plus its three children
    assert_eq!(processes_running(&exe).len(), 4);
    line.clear();
    rd.read_line(&mut line).unwrap();
    let last: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(last["reaped"], 3);
    assert!(child.wait().unwrap().success());
    assert!(processes_running(&exe).is_empty(), "children left behind");
}

#[test]
fn cpu_spins_for_the_duration() {
    let v = run(&["cpu", "--secs", "0.2", "--threads", "2"], 0);
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(v[0]["spinning"], 2);
    assert!(v[0]["pinned"].is_null());
    assert_eq!(v[1]["threads"], 2);
    assert!(v[1]["wall_usec"].as_u64().unwrap() >= 200_000);
    assert!(v[1]["cpu_usec"].as_u64().unwrap() > 0);
}

#[test]
fn cpu_pins_and_waits_for_its_go_file() {
    let d = tempfile::tempdir().unwrap();
    let go = d.path().join("go");
    let mut child = StdCommand::new(probe_path())
        .args(["cpu", "--secs", "0.1", "--pin", "0", "--go-file"])
        .arg(&go)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Still waiting: no CPU burnt before the file exists.
    assert!(child.try_wait().unwrap().is_none());
    std::fs::write(&go, "go").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v = lines(&out.stdout);
    assert_eq!(v[0]["pinned"], 0);
    assert_eq!(v[0]["waiting_for"], go.to_str().unwrap());
    assert!(v[1]["wall_usec"].as_u64().unwrap() >= 100_000);
    assert!(
        v[1]["wall_usec"].as_u64().unwrap() < 250_000,
        "the spin starts at the go file: {v:?}"
    );
}

#[test]
fn domainname_reports_the_nis_domain() {
    let v = one(&["domainname"]);
    assert!(v["domainname"].is_string(), "{v}");
}

#[test]
fn count_with_limit() {
    let v = run(&["count", "--interval-ms", "10", "--limit", "3"], 0);
    assert_eq!(v.len(), 3);
    for (i, l) in v.iter().enumerate() {
        assert_eq!(l["count"].as_u64(), Some(i as u64));
    }
    assert!(v[2]["mono_ns"].as_u64() > v[0]["mono_ns"].as_u64());
}

#[test]
fn sleep_ends_early_on_sigterm() {
    let mut child = StdCommand::new(probe_path())
        .args(["sleep", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut rd = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    rd.read_line(&mut line).unwrap();
    let first: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(first["sleeping"], 30.0);
    let start = Instant::now();
    // SAFETY: kill with a pid of our own child and a signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    line.clear();
    rd.read_line(&mut line).unwrap();
    let sig: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(sig["signal"], 15);
    assert_eq!(sig["signal_name"], "SIGTERM");
    assert_eq!(child.wait().unwrap().code(), Some(143));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn sleep_reports_duration() {
    let v = run(&["sleep", "0.1"], 0);
    assert_eq!(v.len(), 2);
    assert!(v[1]["slept_usec"].as_u64().unwrap() >= 100_000);
}

#[test]
fn write_then_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("data");
    let ps = p.to_str().unwrap();
    let w = one(&["write", ps, "--bytes", "1M", "--block", "64K"]);
    assert_eq!(w["bytes"].as_u64(), Some(1 << 20));
    assert_eq!(w["direct"], false);
    assert!(w["usec"].is_u64() && w["bytes_per_sec"].is_u64());
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 1 << 20);
    let r = one(&["read", ps, "--block", "100K"]);
    assert_eq!(r["bytes"].as_u64(), Some(1 << 20));
    let r = one(&["read", ps, "--bytes", "1000"]);
    assert_eq!(r["bytes"].as_u64(), Some(1000));
    let r = one(&["read", "/dev/zero", "--bytes", "256K"]);
    assert_eq!(r["bytes"].as_u64(), Some(256 << 10));
}

#[test]
fn ipc_msg_create_lookup_remove() {
    let key = unique_key(1).to_string();
    let c = one(&["ipc", "create", "--kind", "msg", "--key", &key, "--keep"]);
    assert_eq!(c["created"], true);
    assert_eq!(c["kind"], "msg");
    let id = c["id"].as_i64().unwrap();
    let l = one(&["ipc", "lookup", "--kind", "msg", "--key", &key]);
    assert_eq!(l["found"], true);
    assert_eq!(l["id"].as_i64(), Some(id));
    let r = one(&["ipc", "remove", "--kind", "msg", "--key", &key]);
    assert_eq!(r["removed"], true);
    let l = one(&["ipc", "lookup", "--kind", "msg", "--key", &key]);
    assert_eq!(l["found"], false);
    assert_eq!(l["errno"], libc::ENOENT);
    assert_eq!(l["error"], "ENOENT");
}

#[test]
fn ipc_shm_removed_without_keep() {
    let key = unique_key(2).to_string();
    let v = run(&["ipc", "create", "--kind", "shm", "--key", &key, "--size", "8K"], 0);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["created"], true);
    assert_eq!(v[1]["removed"], true);
    let l = one(&["ipc", "lookup", "--kind", "shm", "--key", &key]);
    assert_eq!(l["found"], false);
}

#[test]
fn ipc_mq_create_lookup_remove() {
    let name = format!("probe-test-{}", std::process::id());
    let c = one(&["ipc", "create", "--kind", "mq", "--name", &name, "--keep"]);
    assert_eq!(c["name"], format!("/{name}"));
    // creating again is exclusive: a probe error
    let e = run(&["ipc", "create", "--kind", "mq", "--name", &name], 1);
    assert_eq!(e[0]["errno"], libc::EEXIST);
    assert_eq!(e[0]["op"], "mq_open");
    let l = one(&["ipc", "lookup", "--kind", "mq", "--name", &name]);
    assert_eq!(l["found"], true);
    let r = one(&["ipc", "remove", "--kind", "mq", "--name", &name]);
    assert_eq!(r["removed"], true);
    let l = one(&["ipc", "lookup", "--kind", "mq", "--name", &name]);
    assert_eq!(l["found"], false);
}

#[test]
fn listen_once_and_connect() {
    let mut server = StdCommand::new(probe_path())
        .args(["listen", "--addr", "127.0.0.1", "--port", "0", "--once", "--hold", "20"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut rd = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    rd.read_line(&mut line).unwrap();
    let l: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(l["listening"], true);
    let port = l["port"].as_u64().unwrap().to_string();
    let c = one(&["connect", "--addr", "127.0.0.1", "--port", &port, "--send", "ping pong"]);
    assert_eq!(c["connected"], true);
    assert_eq!(c["reply"], "ping pong");
    line.clear();
    rd.read_line(&mut line).unwrap();
    let r: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(r["received"], "ping pong");
    assert!(server.wait().unwrap().success());
}

#[test]
fn connect_refused_is_a_result() {
    // Bind a port, free it, then connect to it: refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = one(&["connect", "--port", &port.to_string(), "--send", "x"]);
    assert_eq!(c["connected"], false);
    assert_eq!(c["errno"], libc::ECONNREFUSED);
    assert_eq!(c["error"], "ECONNREFUSED");
}

#[test]
fn bind_only_reports_in_use() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let v = one(&["bind-only", "--addr", "127.0.0.1", "--port", &port]);
    assert_eq!(v["ok"], false);
    assert_eq!(v["errno"], libc::EADDRINUSE);
    drop(l);
    let v = one(&["bind-only", "--addr", "127.0.0.1", "--port", "0"]);
    assert_eq!(v["ok"], true);
}

#[test]
fn open_kill_stat() {
    let v = one(&["open", "/dev/null", "--write"]);
    assert_eq!(v["ok"], true);
    let v = one(&["open", "/definitely/not/here"]);
    assert_eq!(v["ok"], false);
    assert_eq!(v["errno"], libc::ENOENT);
    let v = one(&["kill", "2147483647"]);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"], "ESRCH");
    let me = std::process::id().to_string();
    let v = one(&["kill", &me, "--signal", "0"]);
    assert_eq!(v["ok"], true);
    let v = one(&["stat", "/dev/null"]);
    assert_eq!(v["type"], "char");
    assert_eq!(v["rdev_major"], 1);
    assert_eq!(v["rdev_minor"], 3);
    let v = one(&["stat", "/"]);
    assert_eq!(v["type"], "dir");
    assert!(v["ino"].is_u64() && v["dev_major"].is_u64());
}

#[test]
fn file_helpers() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f.txt");
    let fs = f.to_str().unwrap();
    assert_eq!(one(&["touch", fs])["ok"], true);
    assert!(f.exists());
    let v = one(&["write-file", fs, "--content", "hello"]);
    assert_eq!(v["bytes"], 5);
    one(&["write-file", fs, "--content", " world", "--append"]);
    let v = one(&["cat", fs]);
    assert_eq!(v["content"], "hello world");
    assert_eq!(v["truncated"], false);
    let v = one(&["cat", fs, "--max", "5"]);
    assert_eq!(v["content"], "hello");
    assert_eq!(v["truncated"], true);
    let v = one(&["cat", dir.path().join("missing").to_str().unwrap()]);
    assert_eq!(v["ok"], false);
    assert_eq!(v["content"], Value::Null);
}

#[test]
fn chdir_up_stays_at_root() {
    let v = one(&["chdir-up", "--times", "5"]);
    assert_eq!(v["same"], true);
    assert_eq!(v["cwd_path"], "/");
}

#[test]
fn orphan_reports_grandchild() {
    let v = run(&["orphan", "--delay-ms", "10", "--wait-ms", "300"], 0);
    assert_eq!(v.len(), 2);
    let gc = v[0]["grandchild"].as_i64().unwrap();
    assert!(gc > 0);
    assert_eq!(v[1]["grandchild"].as_i64(), Some(gc));
    let state = v[1]["state"].as_str().unwrap();
    assert!(["gone", "zombie", "alive", "unknown"].contains(&state), "{state}");
}

#[test]
fn hostname_and_affinity() {
    let v = one(&["hostname"]);
    assert!(v["hostname"].is_string());
    let v = one(&["affinity"]);
    assert!(v["count"].as_u64().unwrap() >= 1);
    assert_eq!(v["cpus"].as_array().unwrap().len() as u64, v["count"].as_u64().unwrap());
}

#[test]
fn rewrite_writes_the_same_bytes_back() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("knob");
    std::fs::write(&f, "42\n").unwrap();
    let v = one(&["rewrite", f.to_str().unwrap()]);
    assert_eq!(
        (v["ok"].clone(), v["value"].clone(), v["stage"].clone()),
        (Value::Bool(true), "42\n".into(), Value::Null)
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "42\n");
    let v = one(&["rewrite", dir.path().join("missing").to_str().unwrap()]);
    assert_eq!(
        (v["ok"].clone(), v["stage"].clone(), v["error"].clone()),
        (Value::Bool(false), "read".into(), "ENOENT".into())
    );
}

#[test]
fn load_module_never_loads_anything() {
    // EPERM without CAP_SYS_MODULE, ENOEXEC/EINVAL past it, ENOSYS without module support.
    for args in [&["load-module"][..], &["load-module", "--finit"][..]] {
        let v = one(args);
        assert_eq!(v["ok"], false, "{v}");
        let e = v["error"].as_str().unwrap();
        assert!(["EPERM", "ENOEXEC", "EINVAL", "ENOSYS"].contains(&e), "{v}");
    }
}
