//! The labs are tested like code: every command block a student is told to run
//! (exercises/labs/*.md, labs/README.md, README.md) runs here against the
//! reference runtime, or is marked as an illustration (the rule is at the top of
//! exercises/labs/README.md). The English and the Korean text of one lab hold the
//! same commands.
//!
//! Each runnable block runs as root with `$H` and `$PROBE` set, `sudo` allowed,
//! under `bash -e` from a scratch directory whose `target/*/debug` is the built
//! binaries, in namespaces of its own: a mount namespace with a fresh tmpfs on
//! /tmp (so that concurrent runs never meet in /tmp/lab-*), a PID namespace, and a
//! cgroup namespace rooted at a cgroup the test makes under its own in each
//! hierarchy (the labs' `/sys/fs/cgroup/.../lab-try` lands there). It must exit 0
//! and leave nothing behind: no process, mount, file in /tmp, network namespace,
//! interface or nftables table named in the block, or cgroup. Cost: about 8 s of
//! `make test` on 2 cores (the pages run 4 at a time; cg-cpu's is the longest, 4.5 s).
//! `LAB_BLOCKS=ns-net` runs only the pages whose path holds it, with their output.
//! Not run, and listed on stderr: blocks for the other cgroup version, and on a
//! cgroup v2 host every block that makes cgroups (the test's own cgroup holds
//! processes, so none below it gets controllers; `make check-vm` is v2's place).

mod labtext;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use labtext::{blocks, halves, lab_ids, read, Block, TAGS};

/// Every commands block of the course's texts, English first.
fn student_blocks() -> Vec<Block> {
    let mut all = Vec::new();
    for id in lab_ids() {
        for lang in ["", ".ko"] {
            let f = format!("exercises/labs/{id}{lang}.md");
            all.extend(blocks(&f, &read(&f)));
        }
    }
    for f in ["exercises/labs/README.md", "README.md"] {
        all.extend(blocks(f, &read(f)));
    }
    all.into_iter().filter(Block::is_commands).collect()
}

#[test]
fn every_block_is_marked_with_a_known_tag() {
    let bad: Vec<String> = student_blocks()
        .iter()
        .flat_map(|b| {
            b.tags
                .iter()
                .filter(|t| !TAGS.contains(&t.as_str()))
                .map(move |t| format!("{}: unknown tag {t:?} (known: {TAGS:?})", b.at()))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The same commands, tags and order in a lab's English and Korean text, and in
/// each bilingual README's two halves; only comments differ.
#[test]
fn english_and_korean_hold_the_same_commands() {
    let mut pairs: Vec<(String, Vec<Block>, Vec<Block>)> = Vec::new();
    for id in lab_ids() {
        let (en, ko) = (format!("exercises/labs/{id}.md"), format!("exercises/labs/{id}.ko.md"));
        pairs.push((id, blocks(&en, &read(&en)), blocks(&ko, &read(&ko))));
    }
    let f = "exercises/labs/README.md";
    let text = read(f);
    let (en, ko) = halves(&text);
    pairs.push((f.into(), blocks(f, en), blocks(f, ko)));
    let mut diffs = Vec::new();
    for (what, en, ko) in pairs {
        let shape = |bs: &[Block]| bs.iter().map(|b| (b.lang.clone(), b.tags.clone())).collect::<Vec<_>>();
        if shape(&en) != shape(&ko) {
            diffs.push(format!("{what}: blocks en {:?}, ko {:?}", shape(&en), shape(&ko)));
            continue;
        }
        for (e, k) in en.iter().zip(&ko) {
            // A Korean text may ask for Korean output; nothing else may differ.
            let ko_code = k.code.replace(" --lang ko", "");
            let (ce, ck) = (labtext::commands(&e.code), labtext::commands(&ko_code));
            if ce != ck {
                let first = ce.iter().zip(&ck).find(|(a, b)| a != b);
                diffs.push(format!(
                    "{} and {}: commands differ; first difference: {first:?} (lines en {}, ko {})",
                    e.at(),
                    k.at(),
                    ce.len(),
                    ck.len()
                ));
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// A block that is not run here (an illustration, or for the other cgroup
/// version) still parses as shell: `bash -n` over every commands block.
#[test]
fn every_block_parses_as_shell() {
    let bad: Vec<String> = student_blocks()
        .iter()
        .filter_map(|b| {
            let out = Command::new("bash")
                .args(["-n", "-c", &b.code])
                .output()
                .expect("running bash -n");
            (!out.status.success()).then(|| format!("{}: bash -n: {}", b.at(), String::from_utf8_lossy(&out.stderr)))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The cgroup version of this host: v1 (legacy or hybrid: controllers on v1
/// hierarchies) or v2 (/sys/fs/cgroup is cgroup2).
fn host_cgroup_v1() -> bool {
    read_mounts().iter().any(|m| m.fstype == "cgroup")
}

struct Mount {
    point: String,
    fstype: String,
    opts: String,
}

fn read_mounts() -> Vec<Mount> {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() > 3).then(|| Mount {
                point: f[1].into(),
                fstype: f[2].into(),
                opts: f[3].into(),
            })
        })
        .collect()
}

/// One cgroup hierarchy as the test sets it up for a block: the cgroup made
/// under the test's own, and how to mount the hierarchy again inside the
/// block's cgroup namespace.
struct Hierarchy {
    mount: Mount,
    made: PathBuf,
}

/// The test's own cgroup in the hierarchy mounted with `opts` (v1: the line of
/// /proc/self/cgroup whose controllers are among the mount's options).
fn own_cgroup(m: &Mount) -> Option<String> {
    let opts: BTreeSet<&str> = m.opts.split(',').collect();
    std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
            let ours = if m.fstype == "cgroup2" {
                ctrl.is_empty()
            } else {
                !ctrl.is_empty() && ctrl.split(',').all(|c| opts.contains(c))
            };
            ours.then(|| path.to_owned())
        })
}

/// A cgroup `name` under the test's own in every mounted hierarchy; cpuset's
/// cpus and mems copied from the parent (an empty cpuset takes no task).
fn make_cgroups(name: &str) -> Vec<Hierarchy> {
    let mut made = Vec::new();
    for m in read_mounts()
        .into_iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
    {
        let Some(own) = own_cgroup(&m) else { continue };
        let parent = Path::new(&m.point).join(own.trim_start_matches('/'));
        let dir = parent.join(name);
        if let Err(e) = std::fs::create_dir(&dir) {
            panic!("making the block's cgroup {}: {e}", dir.display());
        }
        for f in ["cpuset.cpus", "cpuset.mems"] {
            if let Ok(v) = std::fs::read_to_string(parent.join(f)) {
                std::fs::write(dir.join(f), v.trim()).unwrap_or_else(|e| panic!("{}/{f}: {e}", dir.display()));
            }
        }
        made.push(Hierarchy { mount: m, made: dir });
    }
    made
}

/// Removes the block's cgroups, leaves first; names every cgroup the block left
/// in them.
fn remove_cgroups(hs: &[Hierarchy]) -> Vec<String> {
    let mut left = Vec::new();
    for h in hs {
        let mut dirs = Vec::new();
        let mut stack = vec![h.made.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
            dirs.push(d);
        }
        for d in dirs.iter().rev() {
            if *d != h.made {
                left.push(format!("cgroup {}", d.display()));
            }
            // A cgroup keeps its processes' pids a moment after they died.
            let mut tries = 0;
            while let Err(e) = std::fs::remove_dir(d) {
                tries += 1;
                assert!(tries < 200, "removing {}: {e}", d.display());
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
    left
}

/// The host's nftables tables ("inet labtry"): a lab that makes one must delete it.
fn nft_tables() -> BTreeSet<String> {
    let out = Command::new("nft").args(["list", "tables"]).output();
    out.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim_start_matches("table ").to_owned())
            .collect()
    })
    .unwrap_or_default()
}

fn links() -> BTreeSet<String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("ip -o link show");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split(": ")
                .nth(1)
                .map(|n| n.split('@').next().unwrap_or(n).to_owned())
        })
        .collect()
}

/// The wrapper the block runs in. $1: the block's script (read before /tmp is
/// covered), $2: the binaries'
/// directory, $3...: "TYPE OPTIONS MOUNTPOINT" of each cgroup hierarchy to mount
/// again inside the cgroup namespace. Prints "LEFT: ..." for each leftover and
/// exits 99 when there is one; else the block's status.
const INNER: &str = r#"
set -u
code=$(cat "$1") bins=$2; shift 2
# The binaries are held open here: the tmpfs below covers /tmp, and a repository
# cloned under /tmp (as CI's fresh clones are) would vanish with it.
exec 9<"$bins"
# A hierarchy cannot be mounted on itself: a fresh tmpfs holds the new mounts.
[ $# = 0 ] || mount -t tmpfs lab-blocks-cgroups /sys/fs/cgroup
for h in "$@"; do
  set -- $h
  mkdir -p "$3"
  if [ "$1" = cgroup2 ]; then mount -t cgroup2 lab-blocks-cg2 "$3"; else mount -t cgroup -o "$2" lab-blocks-cg "$3"; fi
done
mount -t tmpfs lab-blocks /tmp
# Which file system is this page's /tmp: a loop device backed by a file in it is the
# page's (the test detaches it after the page, however the page ended).
echo "TMPDEV: $(stat -c '%Hd:%Ld' /tmp)"
mkdir -p /tmp/scratch/target/host/debug && mount --bind /proc/self/fd/9 /tmp/scratch/target/host/debug
exec 9<&- && cd /tmp/scratch
bins=/tmp/scratch/target/host/debug
sudo() { env "$@"; }; export -f sudo
export H=$bins/harness PROBE=$bins/probe
mounts() { awk '{ print $5 }' /proc/self/mountinfo | sort; }
before=$(mounts); nets=$(ip netns list 2>/dev/null)
bash -e -c "$code" lab-block; st=$?
left=0
for p in /proc/[0-9]*; do
  n=${p#/proc/}; [ "$n" = 1 ] || [ "$n" = $$ ] && continue
  s=$(awk '/^State:/ { print $2 }' "$p/status" 2>/dev/null) || continue
  [ -z "$s" ] || [ "$s" = Z ] || { echo "LEFT: process $n: $(tr '\0' ' ' < "$p/cmdline")"; left=1; }
done
extra=$(comm -13 <(echo "$before") <(mounts)); [ -z "$extra" ] || { echo "LEFT: mounts: $extra"; left=1; }
[ "$(ip netns list 2>/dev/null)" = "$nets" ] || { echo "LEFT: network namespaces: $(ip netns list)"; left=1; }
files=$(cd /tmp && ls -A | grep -vx scratch); [ -z "$files" ] || { echo "LEFT: in /tmp: $files"; left=1; }
files=$(ls -A /tmp/scratch | grep -vx target); [ -z "$files" ] || { echo "LEFT: in the scratch dir: $files"; left=1; }
[ $left = 0 ] || exit 99
exit $st
"#;

/// One file's runnable blocks, run in order in one shell as a student runs them
/// (a later block uses what an earlier one made).
/// Inside a cgroup namespace no new v1 hierarchy may be made, and net_cls is
/// usually unmounted: the lab that mounts it finds it made here, in the block's
/// own mount namespace (it goes with it). Only for a page that mounts net_cls:
/// the hierarchy's root is shared with every other run.
const NET_CLS: &str = "mount -t cgroup -o net_cls lab-blocks-net_cls /mnt 2>/dev/null || true";

fn text_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Detaches every loop device backed by a file of the page's /tmp (its `TMPDEV:`
/// line), and names each as a leftover. Loop devices are the kernel's, not the
/// page's: they outlive its namespaces and its tmpfs, also when the page failed or
/// was killed before its own `losetup -d`.
fn detach_loops(page_output: &str) -> Vec<String> {
    let Some(dev) = page_output.lines().find_map(|l| l.strip_prefix("TMPDEV: ")) else {
        return Vec::new();
    };
    let list = Command::new("losetup")
        .args(["--list", "--noheadings", "-O", "NAME,BACK-MAJ:MIN"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    list.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (name, back) = (w.next()?, w.next()?);
            (back == dev.trim()).then(|| name.to_owned())
        })
        .map(|name| {
            let detached = Command::new("losetup").args(["-d", &name]).status();
            match detached {
                Ok(s) if s.success() => format!("loop device {name} (detached by the test)"),
                _ => format!("loop device {name} (could not be detached: losetup -d {name})"),
            }
        })
        .collect()
}

/// The most a page may take; the slowest takes a few seconds.
const PAGE_SECS: u64 = 240;

struct Ran {
    file: String,
    script: String,
    status: Option<i32>,
    out: String,
    left: Vec<String>,
}

fn run_file(file: &str, blocks: &[Block], seq: usize) -> Ran {
    let bins = checks::runtime::bin_dir();
    let dir = tempfile::tempdir().expect("a temporary directory for the block's scripts");
    let (script, inner) = (dir.path().join("block.sh"), dir.path().join("inner.sh"));
    let code: String = blocks
        .iter()
        .map(|b| format!("echo '== {}' >&2\n{}", b.at(), b.code))
        .collect();
    std::fs::write(&script, &code).unwrap();
    std::fs::write(&inner, INNER).unwrap();
    let name = format!("lab-blocks-{}x{seq}", std::process::id());
    let t0 = std::time::Instant::now();
    let hs = make_cgroups(&name);
    let (links_before, tables_before) = (links(), nft_tables());
    let net_cls = if code.contains("-o net_cls") { NET_CLS } else { "true" };
    // A wait in a block that never ends (an event that never comes) is a failure
    // with the page named, not a test that hangs: the page is killed after PAGE_SECS
    // (its namespaces go with it: unshare --kill-child).
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "10", &PAGE_SECS.to_string(), "sh"]);
    // The child joins the block's cgroups, then enters its own namespaces.
    let joins: String = hs
        .iter()
        .map(|h| format!("echo $$ > '{}/cgroup.procs' && ", h.made.display()))
        .collect();
    cmd.arg("-c")
        .arg(format!(
            "{joins}exec unshare --mount --propagation private sh -c '{net_cls}; exec unshare --cgroup --pid --fork --mount-proc --kill-child bash \"$@\"' sh \"$@\""
        ))
        .arg("sh")
        .arg(&inner)
        .arg(&script)
        .arg(&bins);
    for h in &hs {
        cmd.arg(format!("{} {} {}", h.mount.fstype, h.mount.opts, h.mount.point));
    }
    let out = cmd.output().expect("running sh");
    let mut left: Vec<String> = links()
        .difference(&links_before)
        .filter(|n| code.contains(n.as_str()))
        .map(|n| format!("interface {n}"))
        .collect();
    left.extend(
        nft_tables()
            .difference(&tables_before)
            .filter(|t| t.split(' ').next_back().is_some_and(|name| code.contains(name)))
            .map(|t| format!("nftables table {t}")),
    );
    left.extend(remove_cgroups(&hs));
    left.extend(detach_loops(&text_of(&out)));
    let text = text_of(&out);
    left.extend(text.lines().filter_map(|l| l.strip_prefix("LEFT: ")).map(str::to_owned));
    eprintln!("lab blocks: {file}: {:.1} s", t0.elapsed().as_secs_f64());
    Ran {
        file: file.to_owned(),
        script: code,
        status: out.status.code(),
        out: text,
        left,
    }
}

#[test]
#[ignore = "needs root"]
fn lab_blocks_run_against_the_reference_runtime() {
    let bins = checks::runtime::bin_dir();
    for b in ["harness", "probe"] {
        assert!(
            bins.join(b).is_file(),
            "{} is missing: the labs run the built binaries (cargo build --workspace --bins, or make build)",
            bins.join(b).display()
        );
    }
    let v1 = host_cgroup_v1();
    // LAB_BLOCKS=ns-net runs only the pages whose path holds it (while writing a lab).
    let only = std::env::var("LAB_BLOCKS").unwrap_or_default();
    let (mut run, mut not_run) = (Vec::<(String, Vec<Block>)>::new(), Vec::new());
    // The Korean blocks hold the same commands (the test above): run the English ones.
    for b in student_blocks().into_iter().filter(|b| !b.file.ends_with(".ko.md")) {
        let (file, line) = (b.file.clone(), b.line);
        let readme_ko = b.file.ends_with("README.md") && {
            let text = read(&b.file);
            let (en, _) = halves(&text);
            line > en.lines().count()
        };
        if b.has("illustration") || readme_ko || !file.contains(&only) {
            continue;
        }
        if b.has("cgroup-v2") && v1 {
            not_run.push(format!("{file}:{line} (cgroup v2 only; this host is v1)"));
        } else if b.has("cgroup-v1") && !v1 {
            not_run.push(format!("{file}:{line} (cgroup v1 only; this host is v2)"));
        } else if !v1 && (b.has("cgroup-v2") || b.code.contains("--cgroup") || b.code.contains("/sys/fs/cgroup")) {
            // On v2 the test's own cgroup holds processes, so a cgroup it makes below
            // gets no controllers (no internal processes): these blocks need a
            // delegated parent, as the checker's anchor makes (make check-vm).
            not_run.push(format!(
                "{file}:{line} (cgroups on v2 need a delegated parent: make check-vm)"
            ));
        } else {
            match run.last_mut() {
                Some((f, bs)) if *f == file => bs.push(b),
                _ => run.push((file, vec![b])),
            }
        }
    }
    let t0 = std::time::Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Ran> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some((f, bs)) = run.get(i) else { break mine };
                        mine.push(run_file(f, bs, i));
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let blocks: usize = run.iter().map(|(_, bs)| bs.len()).sum();
    eprintln!(
        "lab blocks: {blocks} blocks of {} files run in {:.1} s",
        run.len(),
        t0.elapsed().as_secs_f64()
    );
    for n in &not_run {
        eprintln!("lab blocks: not run here: {n}");
    }
    let failed: Vec<String> = results
        .iter()
        .inspect(|r| {
            if !only.is_empty() {
                eprintln!("{}:\n{}", r.file, r.out);
            }
        })
        .filter(|r| r.status != Some(0) || !r.left.is_empty())
        .map(|r| {
            let timed_out = if r.status == Some(124) {
                format!(" (killed after {PAGE_SECS} s: a wait that never ended)")
            } else {
                String::new()
            };
            format!(
                "{}: expected exit 0 and nothing left behind, got exit {:?}{timed_out}, left {:?}; the blocks (bash -e):\n{}\noutput (the last '== FILE:LINE' names the block):\n{}",
                r.file, r.status, r.left, r.script, r.out
            )
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
    assert!(blocks > 0, "no runnable block found");
}
