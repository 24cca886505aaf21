//! What a grading run produced: the data every output format is rendered from.

use std::time::Duration;

pub use checks::outcome::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// The host cannot run the check: no points lost.
    Skip,
    /// The check or the host failed: no points lost.
    Broken,
    /// The grader was interrupted before the check ran: no points lost.
    NotRun,
}

impl Status {
    /// Whether the check was graded (its points count in the total).
    pub fn graded(self) -> bool {
        matches!(self, Status::Pass | Status::Fail)
    }
    /// Whether its points are in the maximum: every check but a skipped one (a
    /// broken or not-run check is this run's loss; the maximum stays the host's).
    pub fn in_maximum(self) -> bool {
        self != Status::Skip
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckGrade {
    pub id: String,
    pub title: String,
    /// The title in Korean (exercises/hints.toml).
    pub title_ko: String,
    pub max_points: u32,
    pub earned: u32,
    pub status: Status,
    /// Expected/got, command line and stderr tail for a failure; the reason for a
    /// skip or breakage; empty for a pass.
    pub message: String,
    /// The same in Korean (ids, commands, figures and the runtime's own words as they are).
    pub message_ko: String,
    /// Figures the check measured.
    pub notes: Vec<String>,
    /// (English, Korean).
    pub hint: (String, String),
    pub duration: Duration,
    /// The check's source file, relative to the repository.
    pub source: String,
}

impl CheckGrade {
    pub fn title(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.title,
            Lang::Ko => &self.title_ko,
        }
    }

    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.message,
            Lang::Ko => &self.message_ko,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExerciseResult {
    pub id: String,
    pub topic: String,
    /// (English, Korean).
    pub title: (String, String),
    pub checks: Vec<CheckGrade>,
}

impl ExerciseResult {
    pub fn max_points(&self) -> u32 {
        self.checks.iter().map(|c| c.max_points).sum()
    }
    pub fn earned(&self) -> u32 {
        self.checks.iter().map(|c| c.earned).sum()
    }
    /// Points of checks this host cannot grade (skipped): out of the maximum. Only a
    /// property of the host (or of the kernel) skips a check, so the maximum a student
    /// sees is the same from run to run on one host.
    pub fn ungradable(&self) -> u32 {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Skip)
            .map(|c| c.max_points)
            .sum()
    }
    /// Points of checks this run did not grade (broken, not run): in the maximum,
    /// not earned, and named as this run's loss, to be graded by running again.
    pub fn unfinished(&self) -> u32 {
        self.checks
            .iter()
            .filter(|c| matches!(c.status, Status::Broken | Status::NotRun))
            .map(|c| c.max_points)
            .sum()
    }
    pub fn complete(&self) -> bool {
        self.earned() + self.ungradable() == self.max_points() && self.checks.iter().any(|c| c.status == Status::Pass)
    }
    pub fn title(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.title.0,
            Lang::Ko => &self.title.1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GradeResult {
    pub runtime: String,
    pub exercises: Vec<ExerciseResult>,
    pub interrupted: bool,
    /// Where it was graded, so that an instructor can tell environments apart.
    pub environment: Environment,
    /// Files and directories new outside the checker's scratch after the run
    /// (the runtime's, or another program's): named, not removed.
    pub left_outside: Vec<String>,
    /// `grade --explain`: the three pictures of the learner's container, in the
    /// report's language, or why they could not be drawn.
    pub explained: Option<Explained>,
}

/// The pictures (checks::explain) and the language they are drawn in.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub pictures: Result<checks::explain::Explanation, checks::text::Text>,
    pub lang: Lang,
}

/// The suite, the contract and the host a result came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// This suite's version (`grade --version`).
    pub suite: String,
    /// The runtime contract's version (first line of exercises/CONTRACT.md).
    pub contract: String,
    /// The host kernel's release.
    pub kernel: String,
    /// `v1` or `v2`.
    pub cgroup: String,
    /// Where the checker's cgroups went, and why.
    pub cgroup_parent: String,
}

impl Environment {
    /// One line: `lab 0.1.0, contract 1, kernel 6.18.1, cgroup v2; cgroup parent: …`.
    pub fn line(&self) -> String {
        format!(
            "lab {}, contract {}, kernel {}, cgroup {}; {}",
            self.suite, self.contract, self.kernel, self.cgroup, self.cgroup_parent
        )
    }

    /// The same in Korean, without the parent's English description (the result
    /// files carry it).
    pub fn line_ko(&self) -> String {
        format!(
            "lab {}, 계약 {}, 커널 {}, cgroup {}",
            self.suite, self.contract, self.kernel, self.cgroup
        )
    }

    /// The pairs written as properties or extra data, in order.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("lab.version", self.suite.as_str()),
            ("lab.contract", self.contract.as_str()),
            ("host.kernel", self.kernel.as_str()),
            ("host.cgroup", self.cgroup.as_str()),
            ("host.cgroup-parent", self.cgroup_parent.as_str()),
        ]
    }
}

impl GradeResult {
    pub fn max_points(&self) -> u32 {
        self.exercises.iter().map(ExerciseResult::max_points).sum()
    }
    pub fn earned(&self) -> u32 {
        self.exercises.iter().map(ExerciseResult::earned).sum()
    }
    pub fn ungradable(&self) -> u32 {
        self.exercises.iter().map(ExerciseResult::ungradable).sum()
    }
    pub fn unfinished(&self) -> u32 {
        self.exercises.iter().map(ExerciseResult::unfinished).sum()
    }
    /// The maximum in every format: the points of every check this host can grade
    /// (all but the skipped ones), whether this run graded it or broke.
    pub fn gradable_points(&self) -> u32 {
        self.max_points() - self.ungradable()
    }
    pub fn checks(&self) -> impl Iterator<Item = &CheckGrade> {
        self.exercises.iter().flat_map(|e| e.checks.iter())
    }
    pub fn any_failed(&self) -> bool {
        self.checks().any(|c| c.status == Status::Fail)
    }
    /// The first exercise in order that is not yet complete.
    pub fn next_exercise(&self) -> Option<&ExerciseResult> {
        self.exercises
            .iter()
            .find(|e| e.checks.iter().any(|c| c.status == Status::Fail))
    }
}
