//! `make bench`: container start-to-exit time of `harness run` next to runc and
//! the `unshare` floor, measured in one run, reported as ratios of medians.
//!
//! Targets (issue: reference runtime): harness median <= 0.2 x runc median, and
//! <= 2 x the median of `unshare -fpmuin --mount-proc true`. Root only.
//!
//! All three with the options the checks use most: five namespaces (pid, uts, mnt, net,
//! ipc), and for the two runtimes a root file system and a cgroup with a memory limit
//! (harness: an overlay of the rootfs with a fresh upper). Rounds interleave the three
//! commands so drift on a busy machine hits all alike.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

fn target_dir() -> PathBuf {
    // target/release/deps/startup-HASH → target/release
    let exe = std::env::current_exe().expect("current_exe");
    let mut d = exe.parent().unwrap().to_path_buf();
    if d.ends_with("deps") {
        d.pop();
    }
    d
}

fn time_once(cmd: &mut Command) -> Result<Duration> {
    let t = Instant::now();
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("spawning")?;
    let d = t.elapsed();
    if !out.status.success() {
        bail!(
            "{:?} failed with {}: {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(d)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn runc_bundle(dir: &Path, rootfs: &Path) -> Result<()> {
    let st = Command::new("runc")
        .arg("spec")
        .current_dir(dir)
        .status()
        .context("runc spec (is runc installed?)")?;
    if !st.success() {
        bail!("runc spec failed");
    }
    let path = dir.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    cfg["process"]["terminal"] = false.into();
    cfg["process"]["args"] = serde_json::json!(["/bin/probe", "exit", "0"]);
    cfg["root"] = serde_json::json!({"path": rootfs, "readonly": false});
    // The same five namespaces as the harness run and unshare -fpmuin, and the same
    // memory limit.
    cfg["linux"]["namespaces"] = serde_json::json!([
        {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
    ]);
    cfg["linux"]["resources"]["memory"] = serde_json::json!({"limit": 268435456});
    std::fs::write(&path, serde_json::to_vec_pretty(&cfg)?)?;
    Ok(())
}

fn main() -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        bail!("the startup benchmark needs root");
    }
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let bin = target_dir();
    let harness = bin.join("harness");
    let work = tempfile::tempdir()?;
    let rootfs = work.path().join("rootfs");
    let st = Command::new(&harness)
        .arg("rootfs")
        .arg(&rootfs)
        .stdout(Stdio::null())
        .status()?;
    if !st.success() {
        bail!("harness rootfs failed");
    }
    let bundle = work.path().join("bundle");
    std::fs::create_dir(&bundle)?;
    runc_bundle(&bundle, &rootfs)?;

    let mut h = Vec::new();
    let mut r = Vec::new();
    let mut u = Vec::new();
    for i in 0..rounds + 3 {
        let upper = work.path().join(format!("upper{i}"));
        let wdir = work.path().join(format!("work{i}"));
        std::fs::create_dir(&upper)?;
        std::fs::create_dir(&wdir)?;
        let dh = time_once(
            Command::new(&harness)
                .args(["run", "--ns", "pid,uts,mnt,net,ipc"])
                .arg("--layer")
                .arg(&rootfs)
                .arg("--upper")
                .arg(&upper)
                .arg("--work")
                .arg(&wdir)
                .args([
                    "--cgroup",
                    &format!("bench-h-{}-{i}", std::process::id()),
                    "--memory",
                    "256M",
                ])
                .args(["--", "/bin/probe", "exit", "0"]),
        )?;
        let dr = time_once(
            Command::new("runc")
                .arg("run")
                .arg("--bundle")
                .arg(&bundle)
                .arg(format!("bench-r-{}-{i}", std::process::id())),
        )?;
        let du = time_once(Command::new("unshare").args(["-fpmuin", "--mount-proc", "true"]))?;
        std::fs::remove_dir_all(&upper).ok();
        std::fs::remove_dir_all(&wdir).ok();
        if i >= 3 {
            // The first rounds warm the page cache and are not counted.
            h.push(dh);
            r.push(dr);
            u.push(du);
        }
    }
    let (mh, mr, mu) = (median(&mut h), median(&mut r), median(&mut u));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("startup to exit, median of {rounds} interleaved rounds:");
    println!("  harness run (5 namespaces, overlay, memory)  {:8.2} ms", ms(mh));
    println!("  runc run (5 namespaces, same rootfs, memory) {:8.2} ms", ms(mr));
    println!("  unshare -fpmuin --mount-proc true            {:8.2} ms", ms(mu));
    let vs_runc = mh.as_secs_f64() / mr.as_secs_f64();
    let vs_floor = mh.as_secs_f64() / mu.as_secs_f64();
    println!(
        "harness/runc    = {vs_runc:.3}  (target <= 0.2) {}",
        if vs_runc <= 0.2 { "met" } else { "MISSED" }
    );
    println!(
        "harness/unshare = {vs_floor:.3}  (target <= 2.0) {}",
        if vs_floor <= 2.0 { "met" } else { "MISSED" }
    );
    if vs_runc > 0.2 || vs_floor > 2.0 {
        std::process::exit(1);
    }
    Ok(())
}
