//! The numbers and paths the labs and READMEs show, tested against the catalog,
//! exercises.toml and the checks' sources: the exercise table's order and counts,
//! README's check counts, the probe arguments a lab says a check passes, one
//! `LAB_RUNTIME` path for a student, no hard-coded target triple. (Each lab's
//! header and the table's rows are also tested in exercises/src/lib.rs.) Cost:
//! well under a second, no root.

mod labtext;

use labtext::{halves, lab_ids, read, repo};

/// labs/README.md's table (both languages) lists every exercise of
/// exercises.toml, in order and no other, with its number of checks.
#[test]
fn the_lab_table_follows_exercises_toml() {
    let m = exercises::manifest().unwrap();
    let want: Vec<(String, usize)> = m.exercises.iter().map(|e| (e.id.clone(), e.checks.len())).collect();
    let text = read("exercises/labs/README.md");
    let (en, ko) = halves(&text);
    for (half, lang) in [(en, "en"), (ko, "ko")] {
        let rows: Vec<(String, usize)> = half
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let id = cells[2].split('`').nth(1).unwrap_or_default().to_owned();
                (id, cells[cells.len() - 2].parse().unwrap_or(usize::MAX))
            })
            .collect();
        assert_eq!(
            rows, want,
            "labs/README.md ({lang}): the table's (exercise, checks) vs exercises.toml"
        );
    }
}

/// README.md's prose (fenced blocks show a program's output) with line breaks as blanks.
fn readme_prose() -> String {
    let raw = read("README.md");
    raw.split("\n```")
        .step_by(2)
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\n', " ")
}

/// README.md's figures: the total and each topic's count of checks; any other
/// "(N checks" is a dated measurement and says so ("when the catalog had N checks").
#[test]
fn the_readme_counts_the_catalog() {
    let all = checks::catalog();
    let text = readme_prose();
    let topics = ["namespaces", "cgroups", "overlay", "security"];
    let counts: Vec<usize> = topics
        .iter()
        .map(|t| all.iter().filter(|c| c.topic == *t).count())
        .collect();
    assert_eq!(
        counts.iter().sum::<usize>(),
        all.len(),
        "a topic of the catalog is missing here"
    );
    let want = format!("Topics so far, {} checks", all.len());
    assert!(text.contains(&want), "README.md: expected {want:?}");
    for (topic, n) in topics.iter().zip(&counts) {
        let want = format!("`{topic}` ({n} checks");
        assert!(text.contains(&want), "README.md: expected {want:?}");
    }
    for (i, _) in text.match_indices(" checks") {
        let before = &text[..i];
        let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let n = &before[before.len() - digits..];
        let opened = before[..before.len() - digits].ends_with('(');
        if n.is_empty() || !opened {
            continue;
        }
        let n: usize = n.parse().unwrap();
        assert!(
            n == all.len() || counts.contains(&n),
            "README.md: \"({n} checks\" is neither the catalog's {} nor a topic's {counts:?} \
             (a dated measurement says \"when the catalog had {n} checks\")",
            all.len()
        );
    }
}

/// The source files a lab's header links (`source: [..](../../checks/src/...)`).
fn lab_sources(lab: &str) -> String {
    let header = lab
        .lines()
        .find(|l| l.starts_with("source:") || l.starts_with("소스:"))
        .expect("a source: line");
    header
        .split("](../../")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap())
        .filter(|p| p.ends_with(".rs"))
        .map(read)
        .collect()
}

/// `--flag VALUE` pairs (VALUE a number or size such as 2000, 1.2, 256M) in the
/// backticked `probe ...` commands of a lab's section on what the checks observe.
fn probe_arguments(lab: &str) -> Vec<(String, String, String)> {
    let section = lab
        .split("## What the checks observe")
        .nth(1)
        .or_else(|| lab.split("## 검사가 보는 것").nth(1))
        .unwrap_or_default();
    let mut out = Vec::new();
    for span in section.split('`').skip(1).step_by(2) {
        let span = span.split_whitespace().collect::<Vec<_>>().join(" ");
        if !(span.starts_with("probe ") || span.starts_with("/bin/probe ")) {
            continue;
        }
        let words: Vec<&str> = span.split(' ').collect();
        for w in words.windows(2) {
            // A number, a decimal, or a size with its unit (2000, 1.2, 256M); not a
            // placeholder such as 10.X.Y.1.
            let digits = w[1].trim_end_matches(['K', 'M', 'G']);
            let value_like = !digits.is_empty()
                && digits.starts_with(|c: char| c.is_ascii_digit())
                && digits.chars().all(|c| c.is_ascii_digit() || c == '.');
            if w[0].starts_with("--") && value_like {
                out.push((span.clone(), w[0].to_owned(), w[1].to_owned()));
            }
        }
    }
    out
}

/// Whether `src` passes `flag` with `value`: as two literals, through a `&str`
/// constant holding the value, inside a command line of a shell, or (`--secs`) as
/// a `Duration` constant in milliseconds that the check formats.
fn source_passes(src: &str, flag: &str, value: &str) -> bool {
    let compact: String = src.split_whitespace().collect::<Vec<_>>().join(" ");
    if compact.contains(&format!("\"{flag}\", \"{value}\"")) || compact.contains(&format!("{flag} {value}")) {
        return true;
    }
    if flag == "--secs" {
        let ms = value.parse::<f64>().map(|s| (s * 1000.0).round() as u64);
        if ms.is_ok_and(|ms| compact.contains(&format!("Duration = Duration::from_millis({ms})"))) {
            return true;
        }
    }
    compact.match_indices(&format!("\"{flag}\", ")).any(|(i, m)| {
        let rest = &compact[i + m.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        !name.is_empty() && compact.contains(&format!("{name}: &str = \"{value}\""))
    })
}

/// A lab that says a check runs `probe ... --wait-ms 500` while the check passes
/// 2000 misleads the student who reproduces it: every number a lab gives for a
/// check's probe arguments is the one in that check's source.
#[test]
fn probe_arguments_in_the_labs_are_the_checks() {
    let mut wrong = Vec::new();
    for id in lab_ids() {
        for f in [format!("exercises/labs/{id}.md"), format!("exercises/labs/{id}.ko.md")] {
            let lab = read(&f);
            let src = lab_sources(&lab);
            for (span, flag, value) in probe_arguments(&lab) {
                if !source_passes(&src, &flag, &value) {
                    wrong.push(format!("{f}: `{span}`: the check's source passes no {flag} {value}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The Markdown texts of `dirs` (and `files`), sorted.
fn markdown_in(files: &[&str], dirs: &[&str]) -> Vec<String> {
    let mut files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    for dir in dirs {
        for e in std::fs::read_dir(repo().join(dir)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".md") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    files
}

/// One student path: the starter copied to ~/my-runtime, LAB_RUNTIME its
/// runtime.sh (or the Rust starter's binary), the same in every text; no
/// `./my-runtime` that the copy never made; no target triple written out (the
/// binaries are under target/<host triple>/: a glob or `make` finds them).
fn student_path_mistakes(files: &[String]) -> Vec<String> {
    let allowed = [
        "$HOME/my-runtime/runtime.sh",
        "$HOME/my-runtime/target/debug/my-runtime",
        "$LAB_RUNTIME",
    ];
    let mut wrong = Vec::new();
    for f in files {
        let text = read(f);
        for (n, line) in text.lines().enumerate() {
            if line.contains("target/x86_64-") || line.contains("target/aarch64-") {
                wrong.push(format!("{f}:{}: a hard-coded target triple: {line}", n + 1));
            }
            for (i, _) in line.match_indices("LAB_RUNTIME=") {
                let value: String = line[i + "LAB_RUNTIME=".len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '`' && *c != '"' && *c != ')')
                    .collect();
                let student = value.contains("my-runtime") || value.starts_with("./");
                if student && !allowed.contains(&value.as_str()) {
                    wrong.push(format!(
                        "{f}:{}: LAB_RUNTIME={value} (the student path is one of {allowed:?})",
                        n + 1
                    ));
                }
            }
            if line.contains("cp -r exercises/starters/") && !line.contains("~/my-runtime") {
                wrong.push(format!(
                    "{f}:{}: a starter copied elsewhere than ~/my-runtime: {line}",
                    n + 1
                ));
            }
        }
    }
    wrong
}

#[test]
fn the_course_texts_give_one_portable_student_path() {
    let files = markdown_in(
        &["README.md", "exercises/CONTRACT.md", "exercises/CONTRACT.ko.md"],
        &["exercises/labs"],
    );
    let wrong = student_path_mistakes(&files);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_starter_readmes_give_the_same_student_path() {
    let files = markdown_in(&[], &["exercises/starters/shell", "exercises/starters/rust"]);
    assert!(files.len() >= 4, "the starters' READMEs (en, ko): {files:?}");
    let wrong = student_path_mistakes(&files);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
