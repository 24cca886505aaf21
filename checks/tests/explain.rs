//! `--explain`: the three pictures. Every form of a fixed explanation is pinned by
//! a snapshot (no root); as root, the pictures of real runtimes: the reference's all
//! drawn from what was observed, a runtime with only the PID and UTS exercises done
//! greyed beyond them, and one with no isolation at all greyed everywhere (the
//! control: a picture can show a runtime that does not isolate).

use std::path::PathBuf;

use checks::explain::draw;
use checks::explain::sample::sample;
use checks::explain::{explain, Explanation, A, A_ALLOCATES, B, SHARED_FILE};
use checks::text::Lang;
use checks::Runtime;

mod support;

fn snapshot(name: &str, text: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.bind(|| insta::assert_snapshot!(name, text));
}

/// What is not Korean in a Korean text: English sentences, debug forms, particles
/// written both ways (`exercises::human::korean_problems`).
fn english_in(korean: &str) -> Vec<String> {
    exercises::human::korean_problems(korean)
}

/// Every Korean form of a real runtime's pictures is Korean through (the text form
/// unwrapped: a line broken inside a code span would hide where it ends).
fn assert_korean(e: &Explanation, what: &str) {
    let ko = [
        draw::text_wrapped(e, Lang::Ko, false, usize::MAX),
        draw::markdown(e, Lang::Ko),
        draw::markdown_plain(e, Lang::Ko),
        exercises::human::html_text(&draw::html_section(e, Lang::Ko)),
    ]
    .join("\n");
    let found = english_in(&ko);
    assert!(
        found.is_empty(),
        "{what}: the Korean pictures are not Korean through:\n{}",
        found.join("\n")
    );
}

/// A runtime with only the PID and UTS exercises done: every later part greyed, each
/// with its exercise.
fn assert_greyed_beyond_pid_and_uts(text: &str) {
    for ex in ["ns-ipc", "ns-net", "ns-user", "ns-cgroup-time", "ufs-layers"] {
        assert!(
            text.contains(&format!("not implemented yet: see exercise {ex}")),
            "{ex}:\n{text}"
        );
    }
}

#[test]
fn every_form_of_the_pictures() {
    let full = sample(false);
    let partial = sample(true);
    snapshot("explain_text_en", &draw::text(&full, Lang::En, false));
    snapshot("explain_text_ko", &draw::text(&full, Lang::Ko, false));
    snapshot("explain_text_partial_en", &draw::text(&partial, Lang::En, false));
    snapshot("explain_text_partial_ko", &draw::text(&partial, Lang::Ko, false));
    snapshot("explain_markdown_en", &draw::markdown(&full, Lang::En));
    snapshot("explain_markdown_partial_ko", &draw::markdown(&partial, Lang::Ko));
    snapshot("explain_markdown_plain_en", &draw::markdown_plain(&full, Lang::En));
    snapshot(
        "explain_html_partial_en",
        &draw::html_page("labcheck --explain", &draw::html_section(&partial, Lang::En), Lang::En),
    );
    for e in [&full, &partial] {
        let md = draw::markdown(e, Lang::En);
        assert_eq!(draw::mermaid_blocks(&md).len(), 3, "{md}");
        let html = draw::html_section(e, Lang::En);
        for id in ["picture-namespaces", "picture-cgroups", "picture-layers"] {
            assert_eq!(html.matches(&format!("<svg id=\"{id}\"")).count(), 1, "{id} in {html}");
        }
        assert!(!html.contains("<script"), "a report with a script: {html}");
        assert!(
            !html.contains("http://")
                || html
                    .matches("http://")
                    .all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        );
    }
    // The Korean forms are Korean through (names, paths and the runtime's words in code).
    for e in [&full, &partial] {
        let ko = format!(
            "{}\n{}\n{}",
            draw::text(e, Lang::Ko, false),
            draw::markdown(e, Lang::Ko),
            draw::markdown_plain(e, Lang::Ko)
        );
        let found = english_in(&ko);
        assert!(
            found.is_empty(),
            "English left in the Korean pictures:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn answers_cite_the_figures_observed() {
    let e = sample(false);
    let ns = draw::answer_namespaces(&e.namespaces);
    assert!(ns.en.contains("PID 1 inside is host PID 48213"), "{}", ns.en);
    assert!(ns.en.contains("sees 2 processes where the host has 131"), "{}", ns.en);
    assert!(ns.en.contains("8 of 8 namespaces"), "{}", ns.en);
    assert!(
        ns.en.contains("`container-a` while the host's stays `lab-host`"),
        "{}",
        ns.en
    );
    assert!(
        ns.ko.contains("호스트의 PID 48213") && ns.ko.contains("131개") && ns.ko.contains("2개만"),
        "{}",
        ns.ko
    );
    let cg = draw::answer_cgroups(&e.cgroups);
    assert!(
        cg.en.contains("memory.max = 64 MiB and it uses 9.8 MiB now (15%)"),
        "{}",
        cg.en
    );
    assert!(
        cg.en
            .contains("cpu.max = 50000 100000, 50% of one CPU (throttled in 3 of 4 periods"),
        "{}",
        cg.en
    );
    assert!(cg.en.contains("cpu.weight = 500 and 300"), "{}", cg.en);
    assert!(cg.ko.contains("4번 중 3번"), "{}", cg.ko);
    let ly = draw::answer_layers(&e.layers);
    assert!(ly.en.contains("overlay of 2 read-only layers"), "{}", ly.en);
    assert!(
        ly.en
            .contains("Writing /app/config copied it up and removing /etc/old.conf left a whiteout"),
        "{}",
        ly.en
    );
    assert!(ly.en.contains("/bin/probe as inode 10019098"), "{}", ly.en);
    // Greyed: each names its exercise, and no picture claims what was not seen.
    let p = sample(true);
    let text = draw::text(&p, Lang::En, false);
    assert_greyed_beyond_pid_and_uts(&text);
    for own in ["ns-pid", "ns-uts", "ns-mount"] {
        assert!(
            !text.contains(&format!("see exercise {own}")),
            "{own} greyed in\n{text}"
        );
    }
    assert!(draw::answer_cgroups(&p.cgroups)
        .en
        .contains("not in a cgroup of its own"));
    assert!(draw::answer_layers(&p.layers).en.contains("no overlay of the layers"));
    let md = draw::markdown(&p, Lang::En);
    assert!(
        md.contains("| `ipc` | 4026531837 | 4026531837 | ⚪ shared · not implemented yet: see exercise ns-ipc |"),
        "{md}"
    );
    assert!(md.contains(":::grey"), "{md}");
    let html = draw::html_section(&p, Lang::En);
    assert!(html.contains("class=\"grey\""), "{html}");
    // Colour only on a terminal.
    assert!(draw::text(&p, Lang::En, true).contains("\x1b[2m"));
    assert!(!text.contains('\x1b'));
}

#[test]
fn sizes_and_bars_read_as_a_person_would() {
    assert_eq!(draw::size(14), "14 B");
    assert_eq!(draw::size(1536), "1.5 KiB");
    assert_eq!(draw::size(64 << 20), "64 MiB");
    assert_eq!(draw::size(10_223_616), "9.8 MiB");
    let u = checks::explain::Usage {
        what: "memory".into(),
        current: 16 << 20,
        limit: Some(64 << 20),
        bytes: true,
    };
    assert_eq!(draw::bar(&u, 8), "[██░░░░░░] 16 MiB / 64 MiB (25%)");
    let over = checks::explain::Usage {
        current: 80 << 20,
        ..u.clone()
    };
    assert_eq!(draw::bar(&over, 4), "[████] 80 MiB / 64 MiB (100%)");
}

// ------------------------------------------------------------------ real runtimes

fn fixture(name: &str) -> Runtime {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    Runtime::named(p.to_str().unwrap()).unwrap()
}

fn drawn(rt: &Runtime) -> Explanation {
    if let Some(why) = checks::cgview::enter_delegated_scope() {
        eprintln!("{why}");
    }
    checks::cgview::preflight().expect("this host can check");
    explain(rt).unwrap_or_else(|why| panic!("no pictures: {}", why.en))
}

fn own(e: &Explanation) -> Vec<&str> {
    e.namespaces
        .kinds
        .iter()
        .filter(|k| k.own())
        .map(|k| k.name.as_str())
        .collect()
}

/// A text picture with what differs from run to run and machine to machine
/// redacted: numbers (PIDs, inodes, sizes), bars, the host's name, and every path
/// above the checker's own files; column padding follows the numbers' widths.
fn snapshot_redacted(name: &str, text: &str) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let text = text
        .replace(&repo.display().to_string(), "[repo]")
        .replace(&format!("`{}`", checks::host::hostname()), "`[host]`");
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(r"[^ `(]*/(lab-check-\d+x)", "[cgroup]/$1");
    s.add_filter(r"\[[█░]+\]", "[bar]");
    s.add_filter(r"\d+(\.\d+)?", "N");
    s.add_filter(r"(\S) {2,}", "$1 ");
    s.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn reference_runtime_draws_every_picture_from_what_it_observed() {
    let e = drawn(&Runtime::named("reference").unwrap());
    assert!(e.notes.is_empty(), "{:?}", e.notes);
    assert_eq!(own(&e).len(), 8, "{:?}", e.namespaces.kinds);
    let init = e
        .namespaces
        .tree
        .iter()
        .find(|p| p.inside_pid == Some(1))
        .expect("a PID 1");
    assert!(init.host_pid > 1);
    assert!(e
        .namespaces
        .tree
        .iter()
        .any(|p| p.name == "probe" && p.inside_pid.is_some()));
    assert!(e.namespaces.visible_pids < e.namespaces.host_pids);
    assert_eq!(e.namespaces.hostname.as_deref(), Some("container-a"));
    for (c, plan) in e.cgroups.containers.iter().zip([A, B]) {
        assert!(c.missing.is_none(), "{c:?}");
        assert!(c.path.as_deref().unwrap().ends_with(&c.name), "{c:?}");
        for l in &c.limits {
            assert!(l.applied(), "{}: {l:?}", plan.label);
        }
        let mem = c.usage.iter().find(|u| u.what == "memory").unwrap();
        assert_eq!(mem.limit, Some(plan.memory));
        assert!(mem.current > 0 && mem.current < plan.memory);
    }
    let a = &e.cgroups.containers[0];
    assert_eq!(a.inside_path.as_deref(), Some("/"), "A has a cgroup namespace");
    assert!(
        a.usage[0].current >= A_ALLOCATES,
        "A holds what it allocated: {:?}",
        a.usage
    );
    let periods = a
        .counters
        .iter()
        .find(|c| c.name == "cpu nr_periods")
        .and_then(|c| c.value);
    assert!(
        periods.is_some_and(|p| p > 0),
        "A spun under its quota: {:?}",
        a.counters
    );
    let l = &e.layers;
    assert!(l.missing.is_none(), "{l:?}");
    assert_eq!(l.root_fstype.as_deref(), Some("overlay"));
    assert_eq!(l.copied_up, ["/app/config"]);
    assert_eq!(l.created, ["/app/log.txt"]);
    assert_eq!(l.whiteouts, ["/etc/old.conf"]);
    assert!(l.sharing.shared() && l.sharing.missing.is_none(), "{:?}", l.sharing);
    assert_eq!(l.sharing.file, SHARED_FILE);
    // Nothing was copied up but the written file: the base layer's bytes stay once.
    assert!(l.upper.bytes < 64 && l.lowers[0].bytes > 1 << 20, "{l:?}");
    assert_korean(&e, "the reference runtime");
    let text = draw::text(&e, Lang::En, false);
    assert!(!text.contains("not implemented yet"), "{text}");
    // Unwrapped: where a line breaks depends on the numbers' widths.
    let text = draw::text_wrapped(&e, Lang::En, false, usize::MAX);
    let version = e.cgroups.version;
    snapshot_redacted(&format!("explain_reference_v{version}_redacted"), &text);
    snapshot_redacted(
        &format!("explain_reference_v{version}_markdown_redacted"),
        &draw::markdown(&e, Lang::En),
    );
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn partial_runtime_draws_pid_and_uts_and_greys_the_rest() {
    let e = drawn(&fixture("partial-runtime"));
    assert_korean(&e, "the partial fixture");
    // unshare --mount-proc makes a mount namespace for the PID namespace's /proc:
    // its own, truly, though no exercise of the mount namespace is done.
    assert_eq!(own(&e), ["pid", "uts", "mnt"], "{:?}", e.namespaces.kinds);
    assert!(e.namespaces.tree.iter().any(|p| p.inside_pid == Some(1)));
    for c in &e.cgroups.containers {
        assert_eq!(
            c.missing.as_ref().map(|m| m.exercise.as_str()),
            Some("ns-cgroup-time"),
            "{c:?}"
        );
    }
    assert_eq!(
        e.layers.missing.as_ref().map(|m| m.exercise.as_str()),
        Some("ufs-layers")
    );
    let text = draw::text(&e, Lang::En, false);
    assert_greyed_beyond_pid_and_uts(&text);
    assert!(text.contains("PID 1 inside is host PID"), "{text}");
}

/// A runtime whose user namespace works alone but not with layers (as a runtime that
/// mounts the overlay where the mapped root may not write) keeps its user namespace
/// in the picture: it did exercise ns-user, and only the combination is greyed in a
/// note. Before, the picture came from a container without the user namespace and
/// greyed it "not done: ns-user" for a runtime that scored ns-user in full.
#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn user_namespace_that_fails_only_with_layers_is_still_drawn_as_its_own() {
    let mut rt = Runtime::at("reference", support::harness());
    rt.env
        .push((support::FAULT_ENV.into(), "user-ns-layers-refused".into()));
    let e = drawn(&rt);
    assert!(own(&e).contains(&"user"), "{:?}", e.namespaces.kinds);
    assert!(
        e.layers.missing.is_none(),
        "the layers are drawn too: {:?}",
        e.layers.missing
    );
    assert!(
        e.notes
            .iter()
            .any(|n| n.en.contains("user namespace and layers together")),
        "{:?}",
        e.notes
    );
}

#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn runtime_without_isolation_draws_nothing_as_its_own() {
    let e = drawn(&fixture("exec-runtime"));
    assert_korean(&e, "the runtime without isolation");
    assert!(own(&e).is_empty(), "{:?}", e.namespaces.kinds);
    assert!(e
        .namespaces
        .tree
        .iter()
        .all(|p| p.inside_pid.is_none() || p.inside_pid == Some(p.host_pid as u64)));
    assert!(e.cgroups.containers.iter().all(|c| c.missing.is_some()));
    assert!(e.layers.missing.is_some());
    let answer = draw::answer_namespaces(&e.namespaces);
    assert!(answer.en.contains("0 of 8 namespaces are its own"), "{}", answer.en);
    assert!(
        answer.en.contains("Without a PID namespace of its own"),
        "{}",
        answer.en
    );
}

// ------------------------------------------------------------------ --watch

/// `labcheck --watch` on a container held to half a CPU: the CPU % it reads through
/// `stats` stays near the quota, with the memory and task limits beside the usage;
/// a name with no container is a clear error.
#[test]
#[ignore = "needs root"]
#[serial_test::serial(suite)]
fn watch_reads_a_quota_bound_container_through_stats() {
    use std::process::{Command, Stdio};
    if let Some(why) = checks::cgview::enter_delegated_scope() {
        eprintln!("{why}");
    }
    let rel = format!("lab-check-watch-{}", std::process::id());
    let parent = checks::cgview::ScratchParent::create(&rel).unwrap();
    // As a user would: the same LAB_CGROUP_PARENT for `run` and for `--watch`.
    let env = parent.env_value().unwrap_or_else(|| rel.clone());
    let bin = checks::runtime::bin_dir();
    let name = "watched";
    let mut run = Command::new(bin.join("harness"))
        .env("LAB_CGROUP_PARENT", &env)
        .args([
            "run",
            "--cgroup",
            name,
            "--memory",
            "64M",
            "--pids",
            "16",
            "--cpus",
            "50000/100000",
            "--",
        ])
        .arg(bin.join("probe"))
        .args(["cpu", "--secs", "6"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The probe's first line says it spins: the container is in its cgroup with its
    // limits written (before that, `stats` can meet a cgroup just made, empty and
    // unlimited: seen once in CI).
    {
        use std::io::BufRead;
        let mut first = String::new();
        let out = run.stdout.take().unwrap();
        let mut reader = std::io::BufReader::new(out);
        reader.read_line(&mut first).unwrap();
        assert!(first.contains("spinning"), "the probe's first line: {first:?}");
        // Keep draining so that the probe never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
    }
    let watch = |extra: &[&str]| {
        Command::new(bin.join("labcheck"))
            .env("LAB_CGROUP_PARENT", &env)
            .arg("--watch")
            .arg(name)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = watch(&["--count", "4", "--interval", "1"]);
    let _ = run.wait();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = parent.remove();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "a header and four readings:\n{text}");
    assert!(lines[0].starts_with("NAME"), "{text}");
    for l in &lines[1..] {
        assert!(
            l.starts_with(name) && l.contains(" / 64 MiB") && l.contains(" / 16"),
            "{l}"
        );
    }
    // Tolerance: a 50 ms quota per 100 ms period, read over 1 s: about 50%; the
    // reading can straddle a period's edge (a few % more), and a busy host can give
    // less. Above 62% the quota was not what held it; below 5% nothing ran.
    for l in &lines[2..] {
        let cpu: f64 = l
            .split_whitespace()
            .nth(1)
            .unwrap()
            .trim_end_matches('%')
            .parse()
            .unwrap();
        assert!((5.0..=62.0).contains(&cpu), "CPU % of a container held to 50%: {l}");
        let throttled: u64 = l
            .split(" of ")
            .next()
            .unwrap()
            .split_whitespace()
            .last()
            .unwrap()
            .parse()
            .unwrap();
        assert!(throttled > 0, "a spinning container under a quota is throttled: {l}");
    }
    // Once it has ended: a clear error naming the command, and status 2.
    let out = watch(&["--count", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stats watched") && err.contains("--cgroup watched"),
        "{err}"
    );
}
