//! The grader: the exercises of exercises/exercises.toml, scored from check
//! outcomes. Skipped and broken checks cost no points; they are listed with their
//! reason and counted as "could not be graded".

pub mod formats;
pub mod human;
pub mod model;

use std::collections::BTreeMap;

use serde::Deserialize;

use checks::catalog::{catalog, Check};
use checks::outcome::Outcome;
use checks::runner::CheckReport;
pub use model::{CheckGrade, Environment, ExerciseResult, Explained, GradeResult, Lang, Status};

/// The runtime contract's version, as the first line of exercises/CONTRACT.md says
/// (`Contract version 1`).
pub fn contract_version() -> &'static str {
    include_str!("../CONTRACT.md")
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("Contract version "))
        .unwrap_or("?")
        .trim()
}

/// This suite and this host: the version, the contract, the kernel, the cgroup
/// version and `cgroup_parent` (where the checker's cgroups went, and why).
pub fn environment(cgroup_parent: &str) -> Environment {
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let cgroup = match checks::cgview::Tree::read().map(|t| t.version) {
        Ok(checks::cgview::Version::V1) => "v1",
        Ok(checks::cgview::Version::V2) => "v2",
        Err(_) => "none",
    };
    Environment {
        suite: env!("CARGO_PKG_VERSION").to_string(),
        contract: contract_version().to_string(),
        kernel,
        cgroup: cgroup.to_string(),
        cgroup_parent: cgroup_parent.to_string(),
    }
}

/// The manifest and hints, compiled in so the grader carries them.
pub const MANIFEST: &str = include_str!("../exercises.toml");
pub const HINTS: &str = include_str!("../hints.toml");
pub const CAUSES: &str = include_str!("../causes.toml");

/// A hint for an observed cause (`checks::cause::Cause`), in both languages.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct CauseHint {
    pub en: String,
    pub ko: String,
}

/// Cause id → hint: every cause the checks can observe has one (tested).
pub fn causes() -> Result<BTreeMap<String, CauseHint>, String> {
    toml::from_str(CAUSES).map_err(|e| format!("exercises/causes.toml: {e}"))
}

/// The hint for a check's outcome: the one for what the check saw go wrong first
/// (`Failure::cause`), else the check's own.
fn hint_for(id: &str, outcome: Option<&Outcome>, hints: &Hints) -> (String, String) {
    let cause = match outcome {
        Some(Outcome::Fail(f)) => f.cause,
        _ => None,
    };
    let own = hints.get(id).map(|h| (h.en.clone(), h.ko.clone())).unwrap_or_default();
    // Parsed once: compiled in, and every cause's hint is there (tested).
    static CAUSES: std::sync::OnceLock<BTreeMap<String, CauseHint>> = std::sync::OnceLock::new();
    let all = CAUSES.get_or_init(|| causes().expect("exercises/causes.toml parses (tested)"));
    let Some((cause, hint)) = cause.and_then(|c| Some((c, all.get(c.id())?.clone()))) else {
        return own;
    };
    match cause {
        // A refusal says only that setup stopped; its line may be the tested step's.
        checks::cause::Cause::Refused => (format!("{} {}", hint.en, own.0), format!("{} {}", hint.ko, own.1)),
        _ => (hint.en, hint.ko),
    }
}

pub use checks::outcome::Text;

/// A check's hint in both languages, and its title in Korean (the English title is
/// the catalog's).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Hint {
    pub en: String,
    pub ko: String,
    pub title_ko: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Exercise {
    pub id: String,
    pub topic: String,
    pub title: Text,
    pub points: u32,
    pub checks: Vec<String>,
    /// The contract options (`--ns pid`, `--rootfs`, `pause`) this exercise's
    /// starter steps implement: its checks may use only these and earlier ones.
    #[serde(default)]
    pub introduces: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub version: u32,
    #[serde(rename = "exercise")]
    pub exercises: Vec<Exercise>,
}

/// Check id → hint.
pub type Hints = BTreeMap<String, Hint>;

pub fn manifest() -> Result<Manifest, String> {
    toml::from_str(MANIFEST).map_err(|e| format!("exercises/exercises.toml: {e}"))
}

pub fn hints() -> Result<Hints, String> {
    toml::from_str(HINTS).map_err(|e| format!("exercises/hints.toml: {e}"))
}

/// Integer points of each check: the exercise's points spread evenly, the first
/// checks taking the remainder.
pub fn split_points(points: u32, n: usize) -> Vec<u32> {
    if n == 0 {
        return Vec::new();
    }
    let base = points / n as u32;
    let extra = (points % n as u32) as usize;
    (0..n).map(|i| base + u32::from(i < extra)).collect()
}

/// The manifest's consistency with the catalog: every check in exactly one
/// exercise, every exercise's checks known, every check with a hint in both languages.
pub fn validate(m: &Manifest, hints: &Hints, all: &[Check]) -> Result<(), String> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for e in &m.exercises {
        if e.checks.is_empty() || e.points < e.checks.len() as u32 {
            return Err(format!(
                "exercise {} needs at least one check and one point per check",
                e.id
            ));
        }
        for c in &e.checks {
            if !all.iter().any(|k| k.id == c) {
                return Err(format!("exercise {} names unknown check {c}", e.id));
            }
            if let Some(other) = seen.insert(c, &e.id) {
                return Err(format!("check {c} is in exercises {other} and {}", e.id));
            }
            match hints.get(c) {
                Some(h) if !h.en.trim().is_empty() && !h.ko.trim().is_empty() && !h.title_ko.trim().is_empty() => {}
                _ => {
                    return Err(format!(
                        "check {c} has no hint in English and Korean and no Korean title (exercises/hints.toml)"
                    ))
                }
            }
        }
    }
    for k in all {
        if !seen.contains_key(k.id) {
            return Err(format!("check {} is in no exercise", k.id));
        }
    }
    Ok(())
}

/// Which exercises a run grades: all, one topic, or one exercise id.
pub fn select<'a>(m: &'a Manifest, topic: Option<&str>, exercise: Option<&str>) -> Result<Vec<&'a Exercise>, String> {
    let v: Vec<&Exercise> = m
        .exercises
        .iter()
        .filter(|e| topic.is_none_or(|t| e.topic == t) && exercise.is_none_or(|x| e.id == x))
        .collect();
    if v.is_empty() {
        return Err(match (topic, exercise) {
            (_, Some(x)) => format!("no exercise {x:?}"),
            (Some(t), _) => format!("no topic {t:?}"),
            _ => "the manifest has no exercises".into(),
        });
    }
    Ok(v)
}

/// Scores `exercises` from the check reports (a check without a report was not run).
pub fn score(
    runtime: &str,
    exercises: &[&Exercise],
    reports: &[CheckReport],
    hints: &Hints,
    interrupted: bool,
) -> GradeResult {
    let all = catalog();
    let mut out = Vec::new();
    for e in exercises {
        let pts = split_points(e.points, e.checks.len());
        let checks = e
            .checks
            .iter()
            .zip(pts)
            .map(|(id, max)| {
                let report = reports.iter().find(|r| &r.id == id);
                let title = all
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.title)
                    .unwrap_or_default()
                    .to_string();
                let (status, message): (Status, Text) = match report.map(|r| &r.outcome) {
                    Some(Outcome::Pass) => (Status::Pass, Text::default()),
                    Some(Outcome::Fail(f)) => (
                        Status::Fail,
                        Text {
                            en: f.render(Lang::En),
                            ko: f.render(Lang::Ko),
                        },
                    ),
                    Some(Outcome::Skip(why)) => (Status::Skip, why.clone()),
                    Some(Outcome::Broken(why)) => (Status::Broken, why.clone()),
                    None if interrupted => (
                        Status::NotRun,
                        checks::t!("interrupted before it ran", "실행되기 전에 채점이 중단되었습니다"),
                    ),
                    None => (Status::NotRun, checks::t!("not run", "실행되지 않았습니다")),
                };
                CheckGrade {
                    id: id.clone(),
                    title_ko: hints
                        .get(id)
                        .map(|h| h.title_ko.clone())
                        .unwrap_or_else(|| title.clone()),
                    title,
                    max_points: max,
                    earned: if status == Status::Pass { max } else { 0 },
                    status,
                    // Capped once here, so that every format carries the same text.
                    message: formats::capped(&message.en, formats::MESSAGE_CAP),
                    message_ko: formats::capped(&message.ko, formats::MESSAGE_CAP),
                    notes: report.map(|r| r.notes.clone()).unwrap_or_default(),
                    hint: hint_for(id, report.map(|r| &r.outcome), hints),
                    duration: report.map(|r| r.duration).unwrap_or_default(),
                    source: source_file(id),
                }
            })
            .collect();
        out.push(ExerciseResult {
            id: e.id.clone(),
            topic: e.topic.clone(),
            title: (e.title.en.clone(), e.title.ko.clone()),
            checks,
        });
    }
    GradeResult {
        runtime: runtime.to_string(),
        exercises: out,
        interrupted,
        environment: Default::default(),
        left_outside: Vec::new(),
        explained: None,
    }
}

/// The file, relative to the repository, that holds check `id`: its topic's module,
/// for cgroups its controller's (`cgroups.net-cls.*` in `cgroups/net_cls.rs`), for
/// namespaces its namespace's (`namespaces.mnt.*` in `namespaces/mnt.rs`), for overlay its
/// behaviour's (`overlay.copy-up.*` in `overlay/copy_up.rs`).
pub fn source_file(id: &str) -> String {
    let mut parts = id.split('.');
    let topic = parts.next().unwrap_or_default();
    match (topic, parts.next().unwrap_or_default()) {
        ("cgroups" | "overlay", part) => format!("checks/src/topics/{topic}/{}.rs", part.replace('-', "_")),
        ("namespaces", namespace) => format!("checks/src/topics/namespaces/{namespace}.rs"),
        _ => format!("checks/src/topics/{topic}.rs"),
    }
}

#[cfg(test)]
mod tests {

    /// A greyed part of a picture points at an exercise: it must be one.
    #[test]
    fn pictures_point_at_exercises_that_exist() {
        let m = manifest().unwrap();
        let named: Vec<&str> = checks::explain::EXERCISES
            .iter()
            .copied()
            .chain(checks::explain::NAMESPACES.iter().map(|(_, e)| *e))
            .collect();
        for id in named {
            assert!(
                m.exercises.iter().any(|e| e.id == id),
                "{id} is no exercise of the manifest"
            );
            assert!(
                checks::explain::EXERCISES.contains(&id),
                "{id} missing from explain::EXERCISES"
            );
        }
    }

    /// Every cause a check can observe has its hint, in both languages, and the file
    /// holds no hint for a cause that does not exist.
    #[test]
    fn every_cause_has_a_hint_in_both_languages() {
        let c = causes().unwrap();
        for cause in checks::cause::Cause::ALL {
            let h = c
                .get(cause.id())
                .unwrap_or_else(|| panic!("causes.toml: no [{}]", cause.id()));
            assert!(!h.en.is_empty() && !h.ko.is_empty(), "{}: empty hint", cause.id());
        }
        let ids: Vec<&str> = checks::cause::Cause::ALL.iter().map(|c| c.id()).collect();
        for k in c.keys() {
            assert!(
                ids.contains(&k.as_str()),
                "causes.toml: [{k}] is no cause of checks::cause"
            );
        }
    }

    #[test]
    fn every_check_names_a_source_file_that_exists() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for c in checks::catalog() {
            let f = source_file(c.id);
            assert!(repo.join(&f).is_file(), "{}: {f} does not exist", c.id);
        }
    }
    use super::*;

    /// Each exercise's lab texts (en, ko) state its points and number of checks in
    /// their first lines and describe every one of its checks; the labs' index lists
    /// it, in order, with that number, in both languages.
    #[test]
    fn labs_describe_every_check_and_the_index_counts_them() {
        let labs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
        let index = std::fs::read_to_string(labs.join("README.md")).unwrap();
        for (i, e) in manifest().unwrap().exercises.iter().enumerate() {
            let n = e.checks.len();
            let en = std::fs::read_to_string(labs.join(format!("{}.md", e.id))).unwrap();
            let ko = std::fs::read_to_string(labs.join(format!("{}.ko.md", e.id))).unwrap();
            let checks_en = if n == 1 {
                "1 check".to_string()
            } else {
                format!("{n} checks")
            };
            let head_en = format!(
                "Exercise `{}` · topic {} · {} points · {checks_en} ·",
                e.id, e.topic, e.points
            );
            let head_ko = format!("실습 `{}` · 주제 {} · {}점 · 검사 {n}개 ·", e.id, e.topic, e.points);
            assert!(en.contains(&head_en), "labs/{}.md: no line {head_en:?}", e.id);
            assert!(ko.contains(&head_ko), "labs/{}.ko.md: no line {head_ko:?}", e.id);
            for c in &e.checks {
                assert!(en.contains(&format!("`{c}`")), "labs/{}.md does not describe {c}", e.id);
                assert!(
                    ko.contains(&format!("`{c}`")),
                    "labs/{}.ko.md does not describe {c}",
                    e.id
                );
            }
            for title in [&e.title.en, &e.title.ko] {
                let row = format!("| {} | `{}` {title} |", i + 1, e.id);
                let line = index.lines().find(|l| l.starts_with(&row));
                assert!(
                    line.is_some_and(|l| l.trim_end().ends_with(&format!("| {n} |"))),
                    "labs/README.md: no row {row:?} ending in | {n} |: {line:?}"
                );
            }
        }
    }

    #[test]
    fn points_split_into_integers_that_add_up() {
        assert_eq!(split_points(10, 3), vec![4, 3, 3]);
        assert_eq!(split_points(10, 5), vec![2, 2, 2, 2, 2]);
        assert_eq!(split_points(10, 4), vec![3, 3, 2, 2]);
        assert_eq!(split_points(7, 1), vec![7]);
        for n in 1..=10 {
            assert_eq!(split_points(10, n).iter().sum::<u32>(), 10);
        }
    }

    #[test]
    fn manifest_covers_the_catalog_with_hints() {
        let m = manifest().unwrap();
        let h = hints().unwrap();
        validate(&m, &h, &catalog()).unwrap();
        assert_eq!(m.version, 1);
        let topics: Vec<&str> = m.exercises.iter().map(|e| e.topic.as_str()).collect();
        // Taught in order: namespaces, then cgroups, then the union file system, then escapes.
        let mut sorted = topics.clone();
        sorted.dedup();
        assert_eq!(sorted, vec!["namespaces", "cgroups", "overlay", "security"]);
    }

    #[test]
    fn selection_by_topic_and_exercise() {
        let m = manifest().unwrap();
        assert!(select(&m, Some("cgroups"), None)
            .unwrap()
            .iter()
            .all(|e| e.topic == "cgroups"));
        assert_eq!(select(&m, None, Some("ns-pid")).unwrap().len(), 1);
        assert!(select(&m, Some("nope"), None).unwrap_err().contains("nope"));
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let m: Manifest = toml::from_str(
            "version = 1\n[[exercise]]\nid = \"x\"\ntopic = \"namespaces\"\ntitle = { en = \"X\", ko = \"엑스\" }\npoints = 1\nchecks = [\"no.such.check\"]\n",
        )
        .unwrap();
        assert!(validate(&m, &Hints::new(), &catalog())
            .unwrap_err()
            .contains("no.such.check"));
    }
}
