//! Bad input, table by table: every contract option of `run` with a missing,
//! malformed or out-of-range value, the contract verbs with a missing or bad NAME,
//! and the grader's own flags.
//!
//! The runtime must answer exit 125 and one line on stderr, `runtime error: ...`,
//! naming the option and the reason, and leave nothing behind: no new cgroup under
//! the caller's own in any hierarchy, no mount, no network interface, no
//! /tmp/harness-root-* directory (snapshots taken before and after every case). The
//! grader must answer exit 2 with a message naming what was wrong.
//!
//! `cargo test -p harness --test bad_input -- --ignored` as root, after
//! `cargo build --bins` (the grader binary is found next to `harness`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;

fn harness() -> Command {
    let mut c = Command::cargo_bin("harness").expect("harness binary");
    c.env_remove("LAB_CGROUP_PARENT")
        .env_remove("HARNESS_TEST_FAULT")
        .stdin(Stdio::null());
    c
}

/// The grader, built next to the harness (target/<triple>/debug/grade).
fn grade_bin() -> PathBuf {
    let h = assert_cmd::cargo::cargo_bin("harness");
    let g = h.parent().expect("harness has a directory").join("grade");
    assert!(
        g.is_file(),
        "{} is not built: run `cargo build --bins` first",
        g.display()
    );
    g
}

fn name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------- what a run may leave behind

/// The host state a refused run must not change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Host {
    /// Every cgroup directory below the caller's own, in every hierarchy.
    cgroups: BTreeSet<PathBuf>,
    /// (mount point, fstype, source) of every mount in the caller's mount namespace.
    mounts: Vec<(String, String, String)>,
    links: BTreeSet<String>,
    roots: BTreeSet<PathBuf>,
}

/// The directory of the caller's own cgroup in each mounted hierarchy.
fn own_cgroup_dirs() -> Vec<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut dirs = Vec::new();
    for line in mountinfo.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(dash) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        let (root, point, fstype, opts) = (f[3], f[4], f[dash + 1], f.get(dash + 3).copied().unwrap_or(""));
        let path = match fstype {
            "cgroup2" => own.lines().find_map(|l| l.strip_prefix("0::")),
            "cgroup" => {
                let ctrls: Vec<&str> = opts
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('=') || o.starts_with("name="))
                    .collect();
                own.lines().find_map(|l| {
                    let mut p = l.splitn(3, ':');
                    let (_, c, path) = (p.next()?, p.next()?, p.next()?);
                    let cs: Vec<&str> = c.split(',').collect();
                    (!cs.is_empty() && cs.iter().all(|c| ctrls.contains(c))).then_some(path)
                })
            }
            _ => None,
        };
        let Some(path) = path else { continue };
        // The mount shows the hierarchy from `root` down.
        let rel = path.strip_prefix(root).unwrap_or(path).trim_start_matches('/');
        let dir = Path::new(point).join(rel);
        if dir.is_dir() && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

fn walk(dir: &Path, depth: usize, out: &mut BTreeSet<PathBuf>) {
    if depth == 0 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            let p = e.path();
            // systemd's own units come and go on their own.
            let n = e.file_name().to_string_lossy().into_owned();
            if [".scope", ".service", ".slice", ".mount", ".socket"]
                .iter()
                .any(|s| n.ends_with(s))
            {
                continue;
            }
            walk(&p, depth - 1, out);
            out.insert(p);
        }
    }
}

impl Host {
    fn snapshot() -> Host {
        let mut cgroups = BTreeSet::new();
        for d in own_cgroup_dirs() {
            walk(&d, 4, &mut cgroups);
        }
        let mut mounts: Vec<(String, String, String)> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                let dash = f.iter().position(|x| *x == "-")?;
                Some((
                    f[4].to_string(),
                    f.get(dash + 1)?.to_string(),
                    f.get(dash + 2)?.to_string(),
                ))
            })
            .collect();
        mounts.sort();
        let links = std::fs::read_dir("/sys/class/net")
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let roots = std::fs::read_dir(std::env::temp_dir())
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("harness-root-"))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        Host {
            cgroups,
            mounts,
            links,
            roots,
        }
    }

    /// What `after` has that `self` had not.
    fn left_behind(&self, after: &Host) -> Vec<String> {
        let mut v = Vec::new();
        v.extend(
            after
                .cgroups
                .difference(&self.cgroups)
                .map(|p| format!("cgroup {}", p.display())),
        );
        let mut before = self.mounts.clone();
        for m in &after.mounts {
            match before.iter().position(|b| b == m) {
                Some(i) => {
                    before.remove(i);
                }
                None => v.push(format!("mount {} ({} from {})", m.0, m.1, m.2)),
            }
        }
        v.extend(after.links.difference(&self.links).map(|l| format!("interface {l}")));
        v.extend(
            after
                .roots
                .difference(&self.roots)
                .map(|p| format!("directory {}", p.display())),
        );
        v
    }
}

// ---------------------------------------------------------------- scratch files

/// Directories and files the cases name, plus a tmpfs (a second file system for
/// --upper), unmounted and removed on drop.
struct Scratch {
    dir: tempfile::TempDir,
    tmpfs: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::Builder::new().prefix("harness-bad-input").tempdir().unwrap();
        for d in ["rootfs", "layer", "upper", "work", "upper/inner", "tmpfs", "pid-dir"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("a-file"), "not a directory").unwrap();
        let tmpfs = dir.path().join("tmpfs");
        nix::mount::mount(
            Some("tmpfs"),
            &tmpfs,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("size=1m"),
        )
        .unwrap();
        std::fs::create_dir(tmpfs.join("upper")).unwrap();
        Scratch { dir, tmpfs }
    }

    fn p(&self, rel: &str) -> String {
        self.dir.path().join(rel).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.tmpfs, nix::mount::MntFlags::MNT_DETACH);
    }
}

// ---------------------------------------------------------------- the cases

/// One refused call: the arguments after `harness`, extra environment, and the
/// texts the error line must contain (the option and the reason).
struct Case {
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    needles: Vec<String>,
}

fn case(args: &[&str], needles: &[&str]) -> Case {
    Case {
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        needles: needles.iter().map(|s| s.to_string()).collect(),
    }
}

/// `run ARGS -- true`
fn run_case(args: &[&str], needles: &[&str]) -> Case {
    let mut v = vec!["run"];
    v.extend_from_slice(args);
    v.extend(["--", "true"]);
    case(&v, needles)
}

fn run_cases(s: &Scratch) -> Vec<Case> {
    let cg = name("bad");
    let cg = cg.as_str();
    let long = "x".repeat(65);
    let (rootfs, layer, upper, work, file) = (s.p("rootfs"), s.p("layer"), s.p("upper"), s.p("work"), s.p("a-file"));
    let tmpfs_upper = s.tmpfs.join("upper").to_string_lossy().into_owned();
    let inner = s.p("upper/inner");
    let pid_dir = s.p("pid-dir");
    let mut v = vec![
        // --memory
        run_case(&["--cgroup", cg, "--memory", "lots"], &["--memory", "lots"]),
        run_case(&["--cgroup", cg, "--memory", "-5"], &["--memory", "-5"]),
        run_case(
            &["--cgroup", cg, "--memory", "99999999999999999999G"],
            &["--memory", "99999999999999999999G"],
        ),
        run_case(&["--cgroup", cg, "--memory", ""], &["--memory", "empty"]),
        case(&["run", "--cgroup", cg, "--memory"], &["--memory", "value is required"]),
        // --cpus
        run_case(&["--cgroup", cg, "--cpus", "999/100000"], &["--cpus", "at least 1000"]),
        run_case(&["--cgroup", cg, "--cpus", "0/100000"], &["--cpus", "at least 1000"]),
        run_case(&["--cgroup", cg, "--cpus", "20000/999"], &["--cpus", "period"]),
        run_case(&["--cgroup", cg, "--cpus", "20000/2000000"], &["--cpus", "period"]),
        run_case(&["--cgroup", cg, "--cpus", "-1000/100000"], &["--cpus", "-1000"]),
        run_case(&["--cgroup", cg, "--cpus", "20000"], &["--cpus", "QUOTA_US/PERIOD_US"]),
        run_case(
            &["--cgroup", cg, "--cpus", "99999999999999999999/100000"],
            &["--cpus", "quota"],
        ),
        // --pids
        run_case(&["--cgroup", cg, "--pids", "-1"], &["--pids", "-1"]),
        run_case(&["--cgroup", cg, "--pids", "many"], &["--pids", "many"]),
        run_case(
            &["--cgroup", cg, "--pids", "99999999999999999999"],
            &["--pids", "too large"],
        ),
        // --io-wbps / --io-rbps
        run_case(&["--cgroup", cg, "--io-wbps", "8:0"], &["--io-wbps", "MAJ:MIN:BPS"]),
        run_case(
            &["--cgroup", cg, "--io-wbps", "8:0:0"],
            &["--io-wbps", "greater than 0"],
        ),
        run_case(&["--cgroup", cg, "--io-rbps", "a:b:1M"], &["--io-rbps", "major"]),
        run_case(&["--cgroup", cg, "--io-rbps", "8:0:lots"], &["--io-rbps", "lots"]),
        run_case(
            &["--cgroup", cg, "--io-wbps", "4095:4095:1M"],
            &["--io-wbps", "4095:4095", "block device"],
        ),
        // --cpuset
        run_case(&["--cgroup", cg, "--cpuset", "3-1"], &["--cpuset", "backwards"]),
        run_case(&["--cgroup", cg, "--cpuset", "x"], &["--cpuset", "\"x\""]),
        run_case(&["--cgroup", cg, "--cpuset", ""], &["--cpuset", "empty"]),
        run_case(
            &["--cgroup", cg, "--cpuset", "4096"],
            &["--cpuset", "4096", "not online"],
        ),
        // --deny-device
        run_case(
            &["--cgroup", cg, "--deny-device", "x:1:3"],
            &["--deny-device", "c or b"],
        ),
        run_case(
            &["--cgroup", cg, "--deny-device", "c:1"],
            &["--deny-device", "c|b:MAJ:MIN"],
        ),
        run_case(
            &["--cgroup", cg, "--deny-device", "c:1:-3"],
            &["--deny-device", "minor"],
        ),
        // --net-classid
        run_case(&["--cgroup", cg, "--net-classid", "0xzz"], &["--net-classid", "0xzz"]),
        run_case(
            &["--cgroup", cg, "--net-classid", "4294967296"],
            &["--net-classid", "32-bit"],
        ),
        run_case(&["--cgroup", cg, "--net-classid", "-1"], &["--net-classid", "-1"]),
        // --cgroup
        run_case(&["--cgroup", "../escape"], &["--cgroup", "../escape", "not allowed"]),
        run_case(&["--cgroup", "a/b"], &["--cgroup", "a/b", "not allowed"]),
        run_case(&["--cgroup", ".."], &["--cgroup", "\"..\""]),
        run_case(&["--cgroup", &long], &["--cgroup", "1 to 64"]),
        run_case(&["--cgroup", ""], &["--cgroup", "1 to 64"]),
        // limits without a cgroup
        run_case(&["--memory", "64M"], &["--memory", "--cgroup"]),
        run_case(&["--cpus", "20000/100000"], &["--cpus", "--cgroup"]),
        run_case(&["--pids", "10"], &["--pids", "--cgroup"]),
        run_case(&["--io-wbps", "7:0:1M"], &["--io-wbps", "--cgroup"]),
        run_case(&["--io-rbps", "7:0:1M"], &["--io-rbps", "--cgroup"]),
        run_case(&["--cpuset", "0"], &["--cpuset", "--cgroup"]),
        run_case(&["--deny-device", "c:1:3"], &["--deny-device", "--cgroup"]),
        run_case(&["--net-classid", "16"], &["--net-classid", "--cgroup"]),
        // --ns
        run_case(&["--ns", "pid,bogus"], &["--ns", "bogus"]),
        run_case(&["--ns", ""], &["--ns", "empty namespace name"]),
        run_case(&["--ns", "pid,"], &["--ns", "empty namespace name"]),
        // --uid-map / --gid-map
        run_case(
            &[
                "--ns",
                "user",
                "--uid-map",
                "0:100000:65536",
                "--uid-map",
                "1000:200000:10",
            ],
            &["--uid-map", "overlap"],
        ),
        run_case(
            &["--ns", "user", "--uid-map", "0:100000:10", "--uid-map", "10:100005:10"],
            &["--uid-map", "outside ranges", "overlap"],
        ),
        run_case(
            &["--ns", "user", "--gid-map", "0:100000:65536", "--gid-map", "5:300000:1"],
            &["--gid-map", "overlap"],
        ),
        run_case(&["--ns", "user", "--uid-map", "0:1"], &["--uid-map", "IN:OUT:COUNT"]),
        run_case(&["--ns", "user", "--uid-map", "0:1:0"], &["--uid-map", "COUNT"]),
        run_case(
            &["--ns", "user", "--uid-map", "4294967295:0:2"],
            &["--uid-map", "4294967295"],
        ),
        run_case(&["--ns", "user", "--uid-map", "-1:0:1"], &["--uid-map", "-1"]),
        run_case(&["--ns", "user", "--gid-map", "0:x:1"], &["--gid-map", "OUT"]),
        run_case(&["--uid-map", "0:100000:1"], &["--uid-map", "--ns user"]),
        run_case(&["--gid-map", "0:100000:1"], &["--gid-map", "--ns user"]),
        run_case(&["--ns", "user,mnt", "--rootfs", &rootfs], &["--ns user", "map id 0"]),
        // --veth
        run_case(&["--ns", "net", "--veth", "h0,c0"], &["--veth", "NAME=IP/PFX"]),
        run_case(
            &["--ns", "net", "--veth", "h0=10.0.0.1/24"],
            &["--veth", "HOSTIF=HOSTIP/PFX,CONTIF=CONTIP/PFX"],
        ),
        run_case(
            &["--ns", "net", "--veth", "h0=10.0.0.1/33,c0=10.0.0.2/24"],
            &["--veth", "prefix 33"],
        ),
        run_case(
            &["--ns", "net", "--veth", "h0=10.0.0.1/x,c0=10.0.0.2/24"],
            &["--veth", "prefix \"x\""],
        ),
        run_case(
            &["--ns", "net", "--veth", "h0=10.0.0.1,c0=10.0.0.2/24"],
            &["--veth", "IP/PREFIX"],
        ),
        run_case(
            &["--ns", "net", "--veth", "h0=10.0.0.300/24,c0=10.0.0.2/24"],
            &["--veth", "not an IP address"],
        ),
        run_case(
            &["--ns", "net", "--veth", "h0=10.0.0.1/24,h0=10.0.0.2/24"],
            &["--veth", "both named"],
        ),
        run_case(
            &[
                "--ns",
                "net",
                "--veth",
                "averyveryverylongname=10.0.0.1/24,c0=10.0.0.2/24",
            ],
            &["--veth", "1 to 15"],
        ),
        run_case(&["--veth", "h0=10.0.0.1/24,c0=10.0.0.2/24"], &["--veth", "--ns net"]),
        // Found only after the namespaces exist: the host already has `lo`.
        run_case(
            &[
                "--ns",
                "net,pid,mnt",
                "--cgroup",
                cg,
                "--pids",
                "10",
                "--veth",
                "lo=10.231.9.1/24,c0=10.231.9.2/24",
            ],
            &["--veth", "lo"],
        ),
        // --time-offset
        run_case(
            &["--ns", "time", "--time-offset", "realtime=5"],
            &["--time-offset", "unknown clock", "realtime"],
        ),
        run_case(
            &["--ns", "time", "--time-offset", "monotonic=1.5"],
            &["--time-offset", "whole seconds"],
        ),
        run_case(
            &["--ns", "time", "--time-offset", "monotonic=5000000000"],
            &["--time-offset", "out of range"],
        ),
        run_case(
            &["--ns", "time", "--time-offset", "monotonic"],
            &["--time-offset", "CLOCK=SECS"],
        ),
        run_case(&["--time-offset", "monotonic=5"], &["--time-offset", "--ns time"]),
        // --rootfs
        run_case(
            &["--ns", "mnt", "--rootfs", "/nonexistent/rootfs"],
            &["--rootfs", "/nonexistent/rootfs", "No such file"],
        ),
        run_case(&["--ns", "mnt", "--rootfs", &file], &["--rootfs", "not a directory"]),
        run_case(&["--rootfs", &rootfs], &["--rootfs", "--ns mnt"]),
        case(&["run", "--ns", "mnt", "--rootfs"], &["--rootfs", "value is required"]),
        run_case(
            &[
                "--ns", "mnt", "--rootfs", &rootfs, "--layer", &layer, "--upper", &upper, "--work", &work,
            ],
            &["--rootfs", "--layer"],
        ),
        // --layer / --upper / --work
        run_case(
            &[
                "--ns",
                "mnt",
                "--layer",
                "/nonexistent/layer",
                "--upper",
                &upper,
                "--work",
                &work,
            ],
            &["--layer", "/nonexistent/layer"],
        ),
        run_case(
            &[
                "--ns",
                "mnt",
                "--layer",
                &layer,
                "--upper",
                "/nonexistent/upper",
                "--work",
                &work,
            ],
            &["--upper", "/nonexistent/upper"],
        ),
        run_case(
            &["--ns", "mnt", "--layer", &layer, "--upper", &upper, "--work", &file],
            &["--work", "not a directory"],
        ),
        run_case(&["--ns", "mnt", "--layer", &layer], &["--upper", "--work"]),
        run_case(
            &[
                "--ns",
                "mnt",
                "--layer",
                &layer,
                "--upper",
                &tmpfs_upper,
                "--work",
                &work,
            ],
            &["--upper", "same file system"],
        ),
        run_case(
            &["--ns", "mnt", "--layer", &layer, "--upper", &upper, "--work", &inner],
            &["--work", "inside --upper"],
        ),
        run_case(
            &["--layer", &layer, "--upper", &upper, "--work", &work],
            &["--layer", "--ns mnt"],
        ),
        // --hostname
        run_case(&["--hostname", "box"], &["--hostname", "--ns uts"]),
        run_case(&["--ns", "uts", "--hostname", &long], &["--hostname", "1 to 64"]),
        run_case(&["--ns", "uts", "--hostname", ""], &["--hostname", "1 to 64"]),
        // --pid-file
        run_case(
            &["--pid-file", "/nonexistent-dir/c.pid"],
            &["--pid-file", "/nonexistent-dir", "No such file"],
        ),
        // Found only when it is written, after the container is made: everything must go again.
        run_case(
            &[
                "--ns",
                "pid,mnt,net",
                "--cgroup",
                cg,
                "--pids",
                "10",
                "--pid-file",
                &pid_dir,
            ],
            &["--pid-file", "Is a directory"],
        ),
        // the command, unknown flags
        case(&["run", "--ns", "pid"], &["COMMAND", "missing"]),
        case(&["run", "--ns", "pid", "--"], &["COMMAND", "missing"]),
        run_case(&["--bogus"], &["--bogus"]),
        run_case(&["-z"], &["-z"]),
    ];
    // LAB_CGROUP_PARENT, the contract's environment for --cgroup.
    let mut c = run_case(&["--cgroup", cg], &["/nonexistent-lab-parent", "does not exist"]);
    c.env.push(("LAB_CGROUP_PARENT", "/nonexistent-lab-parent".into()));
    v.push(c);
    let mut c = run_case(&["--cgroup", cg], &["\"../up\"", ".."]);
    c.env.push(("LAB_CGROUP_PARENT", "../up".into()));
    v.push(c);
    v
}

fn verb_cases() -> Vec<Case> {
    let missing = name("nosuch");
    let long = "x".repeat(65);
    let mut v = Vec::new();
    for verb in ["pause", "resume", "stats"] {
        v.extend([
            case(&[verb], &["NAME", "not provided"]),
            case(&[verb, &missing], &[&missing, "no cgroup"]),
            case(&[verb, "../x"], &["\"../x\"", "not allowed"]),
            case(&[verb, "a/b"], &["\"a/b\"", "not allowed"]),
            case(&[verb, ".."], &["\"..\"", "must not be"]),
            case(&[verb, &long], &["1 to 64"]),
            case(&[verb, ""], &["\"\"", "1 to 64"]),
            case(&[verb, "a", "b"], &["'b'"]),
        ]);
    }
    v
}

fn describe(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs every case; returns what went wrong, one entry per bad case.
fn check_refusals(cases: &[Case]) -> Vec<String> {
    let mut problems = Vec::new();
    for c in cases {
        let before = Host::snapshot();
        let mut cmd = harness();
        cmd.args(&c.args);
        for (k, v) in &c.env {
            cmd.env(k, v);
        }
        let out: Output = cmd.output().unwrap();
        let after = Host::snapshot();
        let argv = format!(
            "{}harness {}",
            c.env.iter().map(|(k, v)| format!("{k}={v} ")).collect::<String>(),
            describe(&c.args)
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let lines: Vec<&str> = err.lines().collect();
        let mut wrong = Vec::new();
        if out.status.code() != Some(125) {
            wrong.push(format!("exit {:?}, not 125", out.status.code()));
        }
        if lines.len() != 1 || !lines[0].starts_with("runtime error: ") {
            wrong.push("stderr is not one `runtime error:` line".to_string());
        }
        let missing: Vec<&String> = c.needles.iter().filter(|n| !err.contains(n.as_str())).collect();
        if !missing.is_empty() {
            wrong.push(format!("the error does not name {missing:?}"));
        }
        if !out.stdout.is_empty() {
            wrong.push(format!(
                "the command ran: stdout {:?}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        let left = before.left_behind(&after);
        if !left.is_empty() {
            wrong.push(format!("left behind: {}", left.join(", ")));
        }
        if !wrong.is_empty() {
            problems.push(format!(
                "`{argv}`: {}\n    stderr: {}",
                wrong.join("; "),
                err.trim_end().replace('\n', "\n            ")
            ));
        }
    }
    problems
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(bad_input)]
fn run_refuses_bad_options_and_leaves_nothing() {
    assert!(
        is_root(),
        "run as root: cargo test -p harness --test bad_input -- --ignored"
    );
    let s = Scratch::new();
    let cases = run_cases(&s);
    let problems = check_refusals(&cases);
    assert!(
        problems.is_empty(),
        "{} of {} cases went wrong:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(bad_input)]
fn pause_resume_stats_refuse_missing_and_bad_names() {
    assert!(
        is_root(),
        "run as root: cargo test -p harness --test bad_input -- --ignored"
    );
    let cases = verb_cases();
    let problems = check_refusals(&cases);
    assert!(
        problems.is_empty(),
        "{} of {} cases went wrong:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(bad_input)]
fn grader_refuses_bad_flags_and_runtimes() {
    assert!(
        is_root(),
        "run as root: cargo test -p harness --test bad_input -- --ignored"
    );
    let t = tempfile::tempdir().unwrap();
    let not_exec = t.path().join("not-executable");
    std::fs::write(&not_exec, "#!/bin/sh\nexit 0\n").unwrap();
    let (ne, dir) = (
        not_exec.to_string_lossy().into_owned(),
        t.path().to_string_lossy().into_owned(),
    );
    let cases: Vec<(Vec<&str>, Option<&str>, Vec<&str>)> = vec![
        (vec!["--topic", "nope"], None, vec!["nope"]),
        (vec!["--exercise", "nope"], None, vec!["nope"]),
        (vec!["--lang", "xx"], None, vec!["--lang", "xx"]),
        (vec!["--jobs", "x"], None, vec!["--jobs", "'x'"]),
        (vec!["--jobs"], None, vec!["--jobs"]),
        (vec!["--bogus"], None, vec!["--bogus"]),
        (
            vec!["--exercise", "ns-uts"],
            Some("/nonexistent/runtime"),
            vec!["LAB_RUNTIME", "/nonexistent/runtime"],
        ),
        (
            vec!["--exercise", "ns-uts"],
            Some(&ne),
            vec!["LAB_RUNTIME", &ne, "not an executable"],
        ),
        (
            vec!["--exercise", "ns-uts"],
            Some(&dir),
            vec!["LAB_RUNTIME", &dir, "not an executable"],
        ),
    ];
    let mut problems = Vec::new();
    for (args, runtime, needles) in &cases {
        let before = Host::snapshot();
        let mut cmd = Command::new(grade_bin());
        cmd.args(args)
            .env_remove("LAB_RUNTIME")
            .env_remove("HARNESS_TEST_FAULT")
            .env_remove("GITHUB_STEP_SUMMARY");
        cmd.env_remove("GITHUB_OUTPUT").stdin(Stdio::null());
        if let Some(r) = runtime {
            cmd.env("LAB_RUNTIME", r);
        }
        let out = cmd.output().unwrap();
        let left = before.left_behind(&Host::snapshot());
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let argv = format!(
            "{}grade {}",
            runtime.map(|r| format!("LAB_RUNTIME={r} ")).unwrap_or_default(),
            args.join(" ")
        );
        let mut wrong = Vec::new();
        if out.status.code() != Some(2) {
            wrong.push(format!("exit {:?}, not 2", out.status.code()));
        }
        let missing: Vec<&&str> = needles.iter().filter(|n| !err.contains(**n)).collect();
        if !missing.is_empty() {
            wrong.push(format!("the message does not name {missing:?}"));
        }
        if !left.is_empty() {
            wrong.push(format!("left behind: {}", left.join(", ")));
        }
        if !wrong.is_empty() {
            problems.push(format!(
                "`{argv}`: {}\n    stderr: {}",
                wrong.join("; "),
                err.trim_end().replace('\n', "\n            ")
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases went wrong:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}
