//! The whole suite inside a real Docker Engine, where many of its users run it
//! (Docker Desktop, Codespaces, GitLab's and Kubernetes' runners): the image the
//! project's `Dockerfile` builds, run `--privileged` in the variants that broke the
//! checker of before (cgroup namespace host and private; the checker as PID 1 and under
//! a shell; /tmp on the container's overlay and on Docker's noexec `--tmpfs`), the
//! OCI adapter with runc inside, and an unprivileged `docker run` that must stop at
//! once with exit 2 and the ways on; and .devcontainer/devcontainer.json as the
//! devcontainers CLI reads it.
//!
//! The engine is the test's own and leaves nothing: dockerd (Debian's docker.io) runs
//! in mount and cgroup namespaces of its own (`unshare -m -C`), its /run and
//! /etc/docker on tmpfs there, the cgroup hierarchies mounted afresh so that its
//! `--cgroup-parent /lab-docker-PID` lies under the caller's own cgroup of each
//! hierarchy; its socket and data root under target/docker; no bridge, no iptables
//! (the containers' network is a macvlan over a veth of the test's own, so they
//! have an interface besides lo, as Docker's bridge gives them). Where the machine's
//! capability bounding set lacks CAP_SYS_RESOURCE, runc fails a privileged container
//! ("unable to apply caps"): the engine's runtime is then a wrapper that takes it out
//! of the OCI config first. The base image (`debian:bookworm-slim`, which the
//! Dockerfile starts FROM) is made offline by mmdebstrap from Debian's packages.
//! The leak audit compares the host before and after.
//!
//! `LAB_DOCKER_VARIANTS=all` (make check-docker) runs every combination; the default
//! (make test) runs three that cover each value of each dimension once and runc;
//! `none` only builds the image, which `LAB_DOCKER_SAVE=TAR` writes for `make check-vm
//! CGROUP=docker`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use checks::audit::Snapshot;
use checks::runtime::bin_dir;

const IMAGE: &str = "lab-check:test";
const BASE: &str = "debian:bookworm-slim";
const NETWORK: &str = "labnet";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `cmd` under coreutils' `timeout`, its output captured; panics naming it when it
/// cannot be started.
fn run_limited(limit: Duration, cmd: &mut Command) -> Output {
    let mut t = Command::new("timeout");
    t.args(["--kill-after=5", &format!("{}", limit.as_secs())])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            t.env(k, v);
        }
    }
    // A killed test ends its commands too: timeout passes the SIGTERM on.
    // SAFETY: prctl is async-signal-safe.
    unsafe { t.pre_exec(die_with_the_test) };
    t.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

/// Between fork and exec: SIGTERM when the test's thread ends (killed before its
/// Drop could stop what it started). Only a syscall.
fn die_with_the_test() -> std::io::Result<()> {
    // SAFETY: prctl with an integer argument.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn ok_or_panic(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether the capability bounding set holds CAP_SYS_RESOURCE.
fn bounding_set_has_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    labkit::caps::cap_bnd(&status).is_some_and(|b| b & labkit::caps::CAP_SYS_RESOURCE != 0)
}

/// dockerd's runtime where the bounding set lacks CAP_SYS_RESOURCE: runc, after taking
/// it out of the container's OCI config (runc would fail "unable to apply caps").
const RUNC_WRAPPER: &str = r#"#!/bin/sh
# Written by checks/tests/docker.rs: runc without CAP_SYS_RESOURCE, which this
# machine's capability bounding set lacks.
drop() { sed -i 's/"CAP_SYS_RESOURCE",\{0,1\}//g; s/,\]/]/g' "$1/config.json"; }
prev=
for a in "$@"; do
  case $prev in --bundle|-b) drop "$a" ;; esac
  case $a in --bundle=*) drop "${a#--bundle=}" ;; esac
  prev=$a
done
exec runc "$@"
"#;

/// The test's own Docker Engine; stopped, and everything it made removed, when dropped.
struct Engine {
    dir: PathBuf,
    sock: PathBuf,
    daemon: Child,
    cli: PathBuf,
    parent_link: String,
    cgroup_parent: String,
}

impl Engine {
    fn start() -> Engine {
        let dir = workspace().join("target/docker");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let sock = dir.join("docker.sock");
        let cgroup_parent = format!("lab-docker-{}", std::process::id());
        let mut args = vec![
            format!("--host=unix://{}", sock.display()),
            format!("--data-root={}", dir.join("data").display()),
            "--exec-root=/run/docker-exec".to_string(),
            "--pidfile=/run/docker.pid".to_string(),
            "--bridge=none".to_string(),
            "--iptables=false".to_string(),
            "--ip6tables=false".to_string(),
            "--ip-masq=false".to_string(),
            "--exec-opt=native.cgroupdriver=cgroupfs".to_string(),
            format!("--cgroup-parent=/{cgroup_parent}"),
        ];
        if !bounding_set_has_sys_resource() {
            let wrapper = dir.join("runc-without-sys-resource");
            labkit::exec_file::write_executable(&wrapper, RUNC_WRAPPER.as_bytes(), 0o755).unwrap();
            args.push(format!("--add-runtime=lab-runc={}", wrapper.display()));
            args.push("--default-runtime=lab-runc".to_string());
        }
        // In the engine's cgroup namespace the hierarchies mounted afresh have the
        // caller's own cgroups as their roots. A tmpfs over /sys/fs/cgroup first, as
        // dind does: the kernel refuses a hierarchy on the very mount it is on.
        let mut script = String::from(
            "set -e\nmount -t tmpfs -o mode=0755 lab-docker-run /run\nmount -t tmpfs -o mode=0755 lab-docker-etc /etc/docker\nmount -t tmpfs -o mode=0755 lab-docker-cgroups /sys/fs/cgroup\n",
        );
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        for m in labkit::mountinfo::parse_mountinfo(&mountinfo) {
            if m.fstype == "cgroup" || m.fstype == "cgroup2" {
                let opts: Vec<&str> = m
                    .super_options
                    .iter()
                    .map(String::as_str)
                    .filter(|o| *o != "rw" && *o != "ro")
                    .collect();
                let o = if opts.is_empty() {
                    String::new()
                } else {
                    format!("-o {} ", opts.join(","))
                };
                assert!(
                    m.mount_point.starts_with("/sys/fs/cgroup"),
                    "a cgroup hierarchy outside /sys/fs/cgroup ({}): the engine's namespace cannot remount it",
                    m.mount_point
                );
                script.push_str(&format!(
                    "mkdir -p '{0}'\nmount -t {1} {o}lab-docker-cgroup '{0}'\n",
                    m.mount_point, m.fstype
                ));
            }
        }
        script.push_str("exec dockerd \"$@\"\n");
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let mut daemon = Command::new("unshare");
        // If the test is killed before its Drop can stop the engine, the engine stops
        // itself (SIGTERM: dockerd ends its containers and containerd; its mounts go
        // with its namespace). Only a syscall between fork and exec.
        // SAFETY: prctl is async-signal-safe.
        unsafe { daemon.pre_exec(die_with_the_test) };
        let daemon = daemon
            .args([
                "--mount",
                "--cgroup",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
                "sh",
            ])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting dockerd (apt-get install docker.io)");
        let cli = ["/usr/bin/docker", "/usr/local/bin/docker"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .unwrap_or_else(|| "docker".into());
        let parent_link = format!("labdk{}", std::process::id());
        let mut e = Engine {
            dir,
            sock,
            daemon,
            cli,
            parent_link,
            cgroup_parent,
        };
        e.wait_ready();
        e
    }

    fn docker(&self) -> Command {
        let mut c = Command::new(&self.cli);
        c.arg("--host").arg(format!("unix://{}", self.sock.display()));
        c
    }

    /// Until the daemon answers (or ends: its log then says why).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(st)) = self.daemon.try_wait() {
                panic!("dockerd ended ({st}):\n{}", self.log());
            }
            let out = self
                .docker()
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if out.is_ok_and(|s| s.success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer in 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// A network whose containers get an interface besides lo, with no bridge and no
    /// iptables rule: a macvlan over a veth of the test's own (its peer unused; a
    /// kernel may lack dummy links).
    fn make_network(&self) {
        let peer = format!("{}p", self.parent_link);
        for args in [
            vec!["link", "add", &self.parent_link, "type", "veth", "peer", "name", &peer],
            vec!["link", "set", &self.parent_link, "up"],
        ] {
            ok_or_panic(
                &format!("ip {args:?}"),
                &run_limited(Duration::from_secs(10), Command::new("ip").args(&args)),
            );
        }
        let out = run_limited(
            Duration::from_secs(30),
            self.docker().args([
                "network",
                "create",
                "--driver=macvlan",
                &format!("--opt=parent={}", self.parent_link),
                "--subnet=10.213.77.0/24",
                NETWORK,
            ]),
        );
        ok_or_panic("docker network create", &out);
    }

    /// The base image, from Debian's packages (no registry is reachable), and the
    /// project's Dockerfile built on it with the binaries of this build.
    fn build_image(&self) {
        let t = Instant::now();
        let tar = self.dir.join("bookworm.tar");
        let out = run_limited(
            Duration::from_secs(600),
            Command::new("mmdebstrap")
                .args(["--variant=apt", "--format=tar", "--quiet", "bookworm"])
                .arg(&tar),
        );
        ok_or_panic("mmdebstrap (apt-get install mmdebstrap)", &out);
        let out = run_limited(
            Duration::from_secs(300),
            self.docker().arg("import").arg(&tar).arg(BASE),
        );
        ok_or_panic("docker import", &out);
        let _ = std::fs::remove_file(&tar);
        let staged = workspace().join("target/image");
        let _ = std::fs::remove_dir_all(&staged);
        std::fs::create_dir_all(&staged).unwrap();
        for b in ["labcheck", "grade", "harness", "probe", "oci-runtime"] {
            // Without debug info (a debug build's binaries are five times their code).
            let out = run_limited(
                Duration::from_secs(60),
                Command::new("strip")
                    .arg("--strip-debug")
                    .arg("-o")
                    .arg(staged.join(b))
                    .arg(bin_dir().join(b)),
            );
            if !out.status.success() {
                std::fs::copy(bin_dir().join(b), staged.join(b)).unwrap_or_else(|e| panic!("staging {b}: {e}"));
            }
        }
        let out = run_limited(
            Duration::from_secs(900),
            self.docker()
                .env("DOCKER_BUILDKIT", "1")
                .args([
                    "build",
                    "--network=host",
                    "--build-arg=BINARIES=prebuilt",
                    "--tag",
                    IMAGE,
                ])
                .arg(workspace()),
        );
        ok_or_panic("docker build (the project's Dockerfile)", &out);
        eprintln!(
            "docker: base image from Debian's packages and the Dockerfile built in {:.1?}",
            t.elapsed()
        );
    }

    /// The image for `make check-vm CGROUP=docker` (harness vm --docker-image), as
    /// `docker save` writes it.
    fn save_image(&self, dest: &Path) {
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let tmp = dest.with_extension("tar.part");
        let out = run_limited(
            Duration::from_secs(300),
            self.docker().args(["save", "-o"]).arg(&tmp).arg(IMAGE),
        );
        ok_or_panic("docker save", &out);
        std::fs::rename(&tmp, dest).unwrap();
        eprintln!(
            "docker: {IMAGE} saved to {} ({} MiB)",
            dest.display(),
            std::fs::metadata(dest).unwrap().len() >> 20
        );
    }

    fn run(&self, opts: &[&str], cmd: &[&str]) -> (Output, Duration) {
        let t = Instant::now();
        let out = run_limited(
            Duration::from_secs(600),
            self.docker()
                .args(["run", "--rm", "--network", NETWORK])
                .args(opts)
                .arg(IMAGE)
                .args(cmd),
        );
        (out, t.elapsed())
    }
}

impl Engine {
    /// The devcontainers CLI (npm @devcontainers/cli, which make browser-deps installs)
    /// reads .devcontainer/devcontainer.json against this engine: privileged, a private
    /// cgroup namespace, the Dockerfile's `dev` stage. (`devcontainer up` would need
    /// the rust:1-bookworm image from a registry, which is not reachable here.)
    fn devcontainer_is_read(&self) -> Result<(), String> {
        let cli = workspace().join("exercises/tests/browser/node_modules/.bin/devcontainer");
        if !cli.exists() {
            return Err(format!("{} is not installed: make browser-deps", cli.display()));
        }
        let out = run_limited(
            Duration::from_secs(120),
            Command::new(&cli)
                .env("DOCKER_HOST", format!("unix://{}", self.sock.display()))
                .args(["read-configuration", "--docker-path"])
                .arg(&self.cli)
                .arg("--workspace-folder")
                .arg(workspace()),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "devcontainer read-configuration: {} ({e}):\n{text}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let c = &v["configuration"];
        let run_args: Vec<&str> = c["runArgs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .collect();
        let dockerfile = std::fs::read_to_string(workspace().join("Dockerfile")).unwrap_or_default();
        let ok = c["privileged"] == true
            && run_args.contains(&"--cgroupns=private")
            && c["build"]["target"] == "dev"
            && c["build"]["dockerfile"] == "../Dockerfile"
            && dockerfile
                .lines()
                .any(|l| l.starts_with("FROM ") && l.ends_with(" AS dev"));
        eprintln!(
            "docker: devcontainer read-configuration: privileged {}, runArgs {run_args:?}, target {}",
            c["privileged"], c["build"]["target"]
        );
        if ok {
            Ok(())
        } else {
            Err(format!(
                "devcontainer: expected privileged, --cgroupns=private and the Dockerfile's dev stage, got {c}"
            ))
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Ok(o) = self.docker().args(["ps", "-aq"]).output() {
            let ids: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let _ = self.docker().args(["rm", "-f"]).args(&ids).output();
            }
        }
        let pid = nix::unistd::Pid::from_raw(self.daemon.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.daemon.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.daemon.kill();
                let _ = self.daemon.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // containerd and its shims end with the daemon; any that would not are the
        // engine's (their command lines name its directories), ended by pid.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = engine_processes(&self.dir);
            if left.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                for p in left {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGKILL);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.parent_link])
            .stderr(Stdio::null())
            .status();
        // Its mounts were in its own mount namespace, gone with its last process.
        let _ = std::fs::remove_dir_all(&self.dir);
        remove_cgroup_trees(&self.cgroup_parent);
    }
}

/// The veths of earlier runs that were killed (SIGKILL leaves no time for Drop; their
/// engines stopped themselves): `labdkPID` whose test process is gone.
fn sweep_stale_links() {
    let Ok(rd) = std::fs::read_dir("/sys/class/net") else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("labdk").and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let alive = std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| {
            exe.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with("docker-"))
        });
        if !alive {
            let _ = Command::new("ip")
                .args(["link", "del", &name])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Processes whose command line names the engine's directory or its private /run.
fn engine_processes(dir: &Path) -> Vec<i32> {
    let want = dir.display().to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            let c = std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .unwrap_or_default()
                .replace('\0', " ");
            c.contains(&want) || c.contains("/run/docker-exec")
        })
        .collect()
}

/// The engine's cgroups: `name` under the caller's own cgroup of every hierarchy.
fn remove_cgroup_trees(name: &str) {
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(10);
    for h in checks::cgview::mounted_hierarchies(&read("/proc/self/mountinfo"), &read("/proc/self/cgroup")) {
        if let Some(own) = h.own {
            let _ = labkit::cgroups::common::remove_tree(&own.join(name), deadline);
        }
    }
}

/// One `docker run --privileged` of the suite.
struct Variant {
    cgroupns: &'static str,
    pid_one: bool,
    tmpfs_tmp: bool,
    runtime: Option<&'static str>,
}

impl Variant {
    fn describe(&self) -> String {
        format!(
            "cgroupns={}, labcheck {}, /tmp on {}{}",
            self.cgroupns,
            if self.pid_one { "as PID 1" } else { "under a shell" },
            if self.tmpfs_tmp {
                "--tmpfs (noexec)"
            } else {
                "the container's overlay"
            },
            self.runtime.map(|r| format!(", LAB_RUNTIME={r}")).unwrap_or_default()
        )
    }
}

fn variants() -> Vec<Variant> {
    let which = std::env::var("LAB_DOCKER_VARIANTS").unwrap_or_default();
    if which == "none" {
        // make check-vm CGROUP=docker: only the image (and the engine's own checks).
        return Vec::new();
    }
    let all = which == "all";
    let mut v = Vec::new();
    if all {
        for cgroupns in ["host", "private"] {
            for pid_one in [true, false] {
                for tmpfs_tmp in [false, true] {
                    v.push(Variant {
                        cgroupns,
                        pid_one,
                        tmpfs_tmp,
                        runtime: None,
                    });
                }
            }
        }
    } else {
        // Each value of each dimension once: the places the checker of before failed in.
        v.push(Variant {
            cgroupns: "private",
            pid_one: true,
            tmpfs_tmp: false,
            runtime: None,
        });
        v.push(Variant {
            cgroupns: "host",
            pid_one: false,
            tmpfs_tmp: true,
            runtime: None,
        });
    }
    v.push(Variant {
        cgroupns: "private",
        pid_one: true,
        tmpfs_tmp: false,
        runtime: Some("oci:runc"),
    });
    v
}

/// "N passed, N failed, N broken, N skipped" of labcheck's last line.
fn summary(stdout: &str) -> Option<[u32; 4]> {
    let line = stdout.lines().rev().find(|l| l.contains(" passed, "))?;
    let n: Vec<u32> = line
        .split(", ")
        .filter_map(|p| p.split_whitespace().next()?.parse().ok())
        .collect();
    n.try_into().ok()
}

#[test]
#[ignore = "needs root, docker.io and mmdebstrap"]
fn the_suite_passes_inside_privileged_docker_containers() {
    // Before the audit's first look: they are an earlier run's, not this one's.
    sweep_stale_links();
    let before = Snapshot::take();
    let mut bad = Vec::new();
    let mut reasons = std::collections::BTreeSet::new();
    {
        let engine = Engine::start();
        engine.make_network();
        engine.build_image();
        if let Some(dest) = std::env::var_os("LAB_DOCKER_SAVE").map(PathBuf::from) {
            engine.save_image(&dest);
        }
        for v in variants() {
            let mut opts = vec!["--privileged".to_string(), format!("--cgroupns={}", v.cgroupns)];
            if v.tmpfs_tmp {
                opts.push("--tmpfs=/tmp".into());
            }
            if let Some(r) = v.runtime {
                opts.push(format!("--env=LAB_RUNTIME={r}"));
            }
            let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
            let cmd: &[&str] = if v.pid_one {
                &["labcheck"]
            } else {
                &["sh", "-c", "labcheck; exit $?"]
            };
            let (out, took) = engine.run(&opts, cmd);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let s = summary(&stdout);
            let line = match s {
                Some([p, f, b, sk]) => format!("{p} passed, {f} failed, {b} broken, {sk} skipped"),
                None => "no summary line".to_string(),
            };
            let skipped: Vec<&str> = stdout
                .lines()
                .filter_map(|l| l.strip_prefix("skip ")?.split(':').next())
                .collect();
            reasons.extend(stdout.lines().filter(|l| l.starts_with("skip ")).map(str::to_string));
            eprintln!(
                "docker: {}: {line} ({took:.1?}); skipped: {}",
                v.describe(),
                skipped.join(" ")
            );
            if !(out.status.success() && s.is_some_and(|[p, f, b, _]| p > 0 && f == 0 && b == 0)) {
                bad.push(format!(
                    "{}: expected exit 0 and 0 failed, 0 broken; got {}, {line}\n{stdout}\n{}",
                    v.describe(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        if let Err(e) = engine.devcontainer_is_read() {
            bad.push(e);
        }
        // Without --privileged: exit 2 at once, the reason and the ways on, nothing graded.
        let (out, took) = engine.run(&[], &["labcheck"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "docker: unprivileged: {} in {took:.1?}: {}",
            out.status,
            stderr.lines().last().unwrap_or("")
        );
        if !(out.status.code() == Some(2)
            && stderr.contains("docker run --privileged")
            && stderr.contains("make check-vm")
            && out.stdout.is_empty())
        {
            bad.push(format!(
                "unprivileged: expected exit 2 naming docker run --privileged and make check-vm, nothing graded; got {}\n{}\n{stderr}",
                out.status,
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    eprintln!("docker: the reasons of the skips:");
    for r in &reasons {
        eprintln!("  {r}");
    }
    let left = before.diff_settled(Duration::from_secs(10));
    let engine_left = engine_processes(&workspace().join("target/docker"));
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    assert!(left.is_empty(), "the engine left behind:\n{}", left.join("\n"));
    assert!(engine_left.is_empty(), "engine processes left: {engine_left:?}");
}

#[test]
fn the_summary_line_is_read() {
    assert_eq!(
        summary("x\n72 passed, 0 failed, 0 broken, 4 skipped\n"),
        Some([72, 0, 0, 4])
    );
    assert_eq!(summary("no line"), None);
}
