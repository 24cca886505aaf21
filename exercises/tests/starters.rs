//! The starter kits against the course: each README's exercise table has one row
//! per exercise of exercises.toml, in order, and names only functions that carry
//! that exercise's `TODO(<id>)` tag; and every exercise can be done with its own
//! and earlier steps (its checks use only the contract options that it and the
//! exercises before it introduce). Cheap: files and the catalog, no container
//! (well under a second); the root test at the end checks the same on the
//! reference runtime's real invocations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use exercises::{manifest, Exercise};
use rstest::rstest;

fn starters() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("starters")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The backticked words of a table cell.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// The exercise table of a README: (exercise id, functions the row names).
fn table(readme: &Path) -> Vec<(String, Vec<String>)> {
    let text = read(readme);
    let mut lines = text.lines().skip_while(|l| {
        let first = l.trim_start_matches('|').split('|').next().unwrap_or("").trim();
        !(l.starts_with('|') && (first == "Exercise" || first == "실습"))
    });
    assert!(
        lines.next().is_some(),
        "{}: no table headed `| Exercise |` / `| 실습 |`",
        readme.display()
    );
    lines
        .skip(1) // |---|---|
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').collect();
            let id = ticked(cells[0]).join("");
            let functions = ticked(cells.get(1).copied().unwrap_or(""))
                .into_iter()
                .filter(|w| {
                    w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
                .collect();
            (id, functions)
        })
        .collect()
}

/// The `TODO(<id>)` tags of a text.
fn tags(text: &str) -> BTreeSet<String> {
    text.match_indices("TODO(")
        .filter_map(|(i, _)| {
            let rest = &text[i + 5..];
            let id = &rest[..rest.find(')')?];
            // `TODO(<exercise id>)` in prose is no tag.
            let tag = !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            tag.then(|| id.to_string())
        })
        .collect()
}

/// A starter's functions with their tags, and its files with their text.
type Starter = (BTreeMap<String, BTreeSet<String>>, Vec<(PathBuf, String)>);

/// Each function of a starter and the tags of its part of the file: the
/// comments above it (since the end of the previous item) and its body.
fn functions(kit: &str) -> Starter {
    let dir = starters().join(kit);
    let files: Vec<PathBuf> = if kit == "shell" {
        vec![dir.join("runtime.sh")]
    } else {
        let mut v = Vec::new();
        let mut stack = vec![dir.join("src")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    v.push(p);
                }
            }
        }
        v
    };
    let mut fns = BTreeMap::new();
    let mut texts = Vec::new();
    for f in files {
        let text = read(&f);
        let lines: Vec<&str> = text.lines().collect();
        let mut start = 0;
        for (i, l) in lines.iter().enumerate() {
            let name = if kit == "shell" {
                l.strip_suffix("() {").filter(|n| !n.contains(' ')).map(str::to_string)
            } else {
                l.strip_prefix("pub fn ")
                    .or_else(|| l.strip_prefix("fn "))
                    .and_then(|r| r.split(['(', '<']).next())
                    .map(str::to_string)
            };
            if l.starts_with('}') {
                start = i + 1;
            }
            if let Some(name) = name {
                let end = (i..lines.len())
                    .find(|&j| lines[j].starts_with('}'))
                    .unwrap_or(lines.len());
                fns.insert(name, tags(&lines[start..end].join("\n")));
            }
        }
        texts.push((f, text));
    }
    (fns, texts)
}

#[rstest]
fn readme_table_has_every_exercise_and_names_tagged_functions(
    #[values("shell", "rust")] kit: &str,
    #[values("README.md", "README.ko.md")] readme: &str,
) {
    let m = manifest().unwrap();
    let path = starters().join(kit).join(readme);
    let rows = table(&path);
    let want: Vec<&str> = m.exercises.iter().map(|e| e.id.as_str()).collect();
    let got: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        got,
        want,
        "{}: the exercise table's rows, in the order of exercises.toml",
        path.display()
    );

    let (fns, texts) = functions(kit);
    for (id, names) in &rows {
        for name in names {
            let t = fns.get(name).unwrap_or_else(|| {
                panic!(
                    "{}: row {id} names `{name}`, which is no function of the {kit} starter",
                    path.display()
                )
            });
            assert!(
                t.contains(id),
                "{}: row {id} names `{name}`, whose comments carry no TODO({id}) (they carry {t:?})",
                path.display()
            );
        }
    }
    for (name, t) in &fns {
        for id in t {
            let row = rows.iter().find(|(r, _)| r == id);
            assert!(
                row.is_some(),
                "{kit}: `{name}` carries TODO({id}), an exercise the table of {readme} lacks"
            );
            let (_, names) = row.unwrap();
            assert!(
                names.is_empty() || names.contains(name),
                "{}: `{name}` carries TODO({id}) but row {id} does not name it (it names {names:?})",
                path.display()
            );
        }
    }
    for (file, text) in &texts {
        for id in tags(text) {
            assert!(
                want.contains(&id.as_str()),
                "{}: TODO({id}) names no exercise of exercises.toml",
                file.display()
            );
        }
    }
}

/// `--ns pid,mnt` -> ["--ns pid", "--ns mnt"]; `--rootfs` -> ["--rootfs"].
fn options_of(used: &str) -> Vec<String> {
    match used.trim().split_once(' ') {
        Some(("--ns", list)) => list.split(',').map(|n| format!("--ns {}", n.trim())).collect(),
        _ => vec![used.trim().to_string()],
    }
}

/// Each exercise with the options it and every earlier exercise introduce.
fn cumulative(exercises: &[Exercise]) -> Vec<(&Exercise, BTreeSet<String>)> {
    let mut known = BTreeSet::new();
    exercises
        .iter()
        .map(|e| {
            known.extend(e.introduces.iter().cloned());
            (e, known.clone())
        })
        .collect()
}

#[test]
fn introduced_options_are_contract_options_each_introduced_once() {
    let m = manifest().unwrap();
    let mut seen = BTreeMap::new();
    for e in &m.exercises {
        for o in &e.introduces {
            if let Some(first) = seen.insert(o.clone(), e.id.clone()) {
                panic!("{o} is introduced by {first} and again by {}", e.id);
            }
        }
    }
    let used: BTreeSet<String> = checks::catalog()
        .iter()
        .flat_map(|c| c.uses.iter().flat_map(|u| options_of(u)))
        .collect();
    let introduced: BTreeSet<String> = seen.keys().cloned().collect();
    assert_eq!(
        introduced, used,
        "exercises.toml `introduces` (left) against every option the catalog's checks use (right)"
    );
}

#[test]
fn every_exercise_needs_only_its_own_and_earlier_steps() {
    let m = manifest().unwrap();
    let catalog = checks::catalog();
    let mut wrong = Vec::new();
    for (e, known) in cumulative(&m.exercises) {
        for id in &e.checks {
            let c = catalog
                .iter()
                .find(|c| c.id == id)
                .unwrap_or_else(|| panic!("{id}: not in the catalog"));
            for o in c.uses.iter().flat_map(|u| options_of(u)) {
                if !known.contains(&o) {
                    wrong.push(format!("{} (exercise {}) uses {o}, introduced later", c.id, e.id));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "checks that need a later exercise's steps:\n{}",
        wrong.join("\n")
    );
}

/// The options of one runtime invocation as `introduces` names them: `run`'s
/// flags (`--ns` split by namespace), or the subcommand (`pause`, `stats`).
fn invocation_options(argv: &[&str]) -> Vec<String> {
    let Some((&sub, rest)) = argv.split_first() else {
        return vec!["(no arguments)".into()];
    };
    if sub != "run" {
        return vec![sub.to_string()];
    }
    let mut v = Vec::new();
    let mut it = rest.iter();
    while let Some(&a) = it.next() {
        if a == "--" || !a.starts_with("--") {
            break;
        }
        let (flag, value) = match a.split_once('=') {
            Some((f, val)) => (f, val),
            None => (a, it.next().copied().unwrap_or_default()),
        };
        if flag == "--ns" {
            v.extend(options_of(&format!("--ns {value}")));
        } else {
            v.push(flag.to_string());
        }
    }
    v
}

/// The same on the runtime's real command lines: each exercise's checks run
/// against the reference runtime through a wrapper that logs its arguments;
/// every option they pass is introduced by the exercise or an earlier one.
/// Costs a full run of the catalog (minutes): root, ignored like grader.rs.
#[test]
#[ignore = "needs root; runs every check"]
#[serial_test::serial(suite)]
fn every_exercise_needs_only_its_own_and_earlier_steps_on_real_invocations() {
    use std::os::unix::fs::PermissionsExt;
    let m = manifest().unwrap();
    let catalog = checks::catalog();
    let harness = checks::runtime::bin_dir().join("harness");
    let t = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for (e, known) in cumulative(&m.exercises) {
        let log = t.path().join(format!("{}.log", e.id));
        let wrapper = t.path().join(format!("runtime-{}", e.id));
        // One write per invocation (printf -v first): the checks run in parallel.
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/bash\nprintf -v line '%s\\x1f' \"$@\"\nprintf '%s\\n' \"$line\" >>'{}'\nexec '{}' \"$@\"\n",
                log.display(),
                harness.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rt = checks::Runtime::named(wrapper.to_str().unwrap()).unwrap();
        let selected: Vec<_> = e
            .checks
            .iter()
            .map(|id| *catalog.iter().find(|c| c.id == id).unwrap())
            .collect();
        let reports = checks::run_all(&selected, &rt, 4, |_| {});
        // The wrapper changes nothing: every option a check passes was passed,
        // and a check that stopped early would hide the rest of its commands.
        let failed: Vec<String> = reports
            .iter()
            .filter(|r| matches!(r.outcome, checks::Outcome::Fail(_)))
            .map(|r| format!("{}: {}", r.id, r.outcome.label()))
            .collect();
        assert!(
            failed.is_empty(),
            "the reference runtime failed through the wrapper: {failed:?}"
        );
        let ran = reports
            .iter()
            .filter(|r| matches!(r.outcome, checks::Outcome::Pass))
            .count();
        println!("{}: {ran} of {} checks passed through the wrapper", e.id, reports.len());
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            !text.is_empty(),
            "{}: the checks never started the runtime (wrapper {})",
            e.id,
            wrapper.display()
        );
        for line in text.lines() {
            let argv: Vec<&str> = line.split('\x1f').filter(|a| !a.is_empty()).collect();
            for o in invocation_options(&argv) {
                if !known.contains(&o) {
                    wrong.push(format!(
                        "exercise {}: `{}` passes {o}, introduced later",
                        e.id,
                        argv.join(" ")
                    ));
                }
            }
        }
    }
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "invocations that need a later exercise's steps:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn invocation_options_split_run_flags_and_subcommands() {
    let got = invocation_options(&[
        "run",
        "--ns",
        "pid,mnt",
        "--rootfs=/r",
        "--pid-file",
        "/p",
        "--",
        "sh",
        "--x",
    ]);
    assert_eq!(got, ["--ns pid", "--ns mnt", "--rootfs", "--pid-file"]);
    assert_eq!(invocation_options(&["pause", "c1"]), ["pause"]);
}
