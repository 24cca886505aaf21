//! The numbers the labs and READMEs show, tested against the catalog and
//! exercises.toml: check counts, the exercise table's order and counts. Cost:
//! well under a second, no root.

mod labtext;

use labtext::{read, repo};

/// labs/README.md's table (both languages) lists every exercise of
/// exercises.toml in order, with its number of checks.
#[test]
fn the_lab_table_follows_exercises_toml() {
    let m = exercises::manifest().unwrap();
    let text = read("exercises/labs/README.md");
    for (half, lang) in [labtext::halves(&text).0, labtext::halves(&text).1]
        .into_iter()
        .zip(["en", "ko"])
    {
        let rows: Vec<(String, usize)> = half
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let id = cells[2].split('`').nth(1).unwrap_or_default().to_owned();
                (id, cells[cells.len() - 2].parse().unwrap_or(usize::MAX))
            })
            .collect();
        let want: Vec<(String, usize)> = m.exercises.iter().map(|e| (e.id.clone(), e.checks.len())).collect();
        assert_eq!(
            rows, want,
            "labs/README.md ({lang}): the table's (exercise, checks) vs exercises.toml"
        );
    }
}

/// Each lab's header says its exercise's points and number of checks.
#[test]
fn every_lab_header_counts_its_checks() {
    let m = exercises::manifest().unwrap();
    for e in &m.exercises {
        let f = format!("exercises/labs/{}.md", e.id);
        let n = e.checks.len();
        let checks = if n == 1 {
            "1 check".to_owned()
        } else {
            format!("{n} checks")
        };
        let want = format!(
            "Exercise `{}` · topic {} · {} points · {checks}",
            e.id, e.topic, e.points
        );
        assert!(read(&f).contains(&want), "{f}: expected the header {want:?}");
    }
}

/// README.md's figures: the total and each topic's count of checks.
#[test]
fn the_readme_counts_the_catalog() {
    let all = checks::catalog();
    // Prose only (a fenced block shows a program's output), line breaks as blanks.
    let raw = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let text = raw
        .split("\n```")
        .step_by(2)
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\n', " ");
    let want = format!("Topics so far, {} checks", all.len());
    assert!(text.contains(&want), "README.md: expected {want:?}");
    for topic in ["namespaces", "cgroups", "overlay", "security"] {
        let n = all.iter().filter(|c| c.topic == topic).count();
        let want = format!("`{topic}` ({n} checks");
        assert!(text.contains(&want), "README.md: expected {want:?}");
    }
    // Any other "(N checks" is a measurement of its time and says so ("when the catalog had N").
    for (i, _) in text.match_indices(" checks") {
        let before = &text[..i];
        let n: String = before.chars().rev().take_while(char::is_ascii_digit).collect();
        if n.is_empty()
            || !(before[..before.len() - n.len()].ends_with('(') || before.ends_with(&format!("the catalog had {n}")))
        {
            continue;
        }
        let n: usize = n.chars().rev().collect::<String>().parse().unwrap();
        let topic_counts: Vec<usize> = ["namespaces", "cgroups", "overlay", "security"]
            .iter()
            .map(|t| all.iter().filter(|c| c.topic == *t).count())
            .collect();
        let dated = before.ends_with(&format!("the catalog had {n}"));
        assert!(
            n == all.len() || topic_counts.contains(&n) || dated,
            "README.md: \"{n} checks\" is neither the catalog's {} nor a topic's {topic_counts:?} (write \"when the catalog had {n} checks\" for a dated measurement)",
            all.len()
        );
    }
}
