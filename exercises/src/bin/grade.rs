//! `grade`: grades the runtime named by `LAB_RUNTIME` against the exercises and
//! writes the report and the result files graders consume.
//!
//! Exit status: 0 when every graded check passes, 1 when any fails, 2 when the
//! host cannot grade (with the reason). The result files are rewritten after every
//! check and on SIGINT/SIGTERM/SIGHUP, so they are complete whatever happens.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use nix::sys::signal::{SigSet, Signal};

use checks::runner::run_all_limited;
use checks::{catalog, CheckReport, Runtime};
use exercises::{self as grade, formats, human, GradeResult, Lang};

#[derive(Parser, Clone)]
#[command(
    name = "grade",
    version,
    about = "Grade a container runtime against the lab exercises"
)]
struct Args {
    /// Only the exercises of this topic (namespaces, cgroups, overlay, security).
    #[arg(long)]
    topic: Option<String>,
    /// Only this exercise (its id, e.g. ns-pid).
    #[arg(long)]
    exercise: Option<String>,
    /// Language of titles and hints (default: from LANG; ko for Korean).
    #[arg(long, value_parser = ["en", "ko"])]
    lang: Option<String>,
    /// Checks run at the same time.
    #[arg(long, short = 'j', default_value_t = 4)]
    jobs: usize,
    /// Seconds a check may take in all.
    #[arg(long, default_value_t = 180)]
    check_timeout: u64,
    /// Seconds one runtime call may take before its process group is killed.
    #[arg(long, default_value_t = 30)]
    process_timeout: u64,
    /// GitHub Classroom runner result (JSON); its base64 also goes to $GITHUB_OUTPUT as `result`.
    #[arg(long, value_name = "FILE")]
    classroom: Option<PathBuf>,
    /// Classroom 50 result.json (schema classroom50/result/v1; the submission from
    /// the runner's CLASSROOM, ASSIGNMENT, SUBMISSION_TAG, COMMIT_URL, RELEASE_URL,
    /// REVIEW_URL).
    #[arg(long, value_name = "FILE")]
    classroom50: Option<PathBuf>,
    /// Gradescope results.json.
    #[arg(long, value_name = "FILE")]
    gradescope: Option<PathBuf>,
    /// JUnit XML.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// TAP version 14.
    #[arg(long, value_name = "FILE")]
    tap: Option<PathBuf>,
    /// Markdown summary (also appended to $GITHUB_STEP_SUMMARY when it is set).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// One self-contained HTML page (no script, no network): the grade, and with
    /// --explain the pictures as inline SVG.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// After grading, start one container with every feature the course teaches
    /// (and a second beside it), look at them from inside and from the host, and
    /// draw the lecture's three pictures with their answers: in the report, the
    /// Markdown summary (Mermaid), the HTML page and Gradescope's output. Parts the
    /// runtime does not do yet are greyed, with the exercise that teaches them.
    #[arg(long)]
    explain: bool,
    /// The report without expected/got details (stable output).
    #[arg(long)]
    brief: bool,
}

/// How long the grader waits, at its end, for checks past their time limit to
/// clean up before it kills their runtimes itself (then 10 s more at most).
const SETTLE_GRACE: Duration = Duration::from_secs(20);

struct Outputs {
    args: Args,
    lang: Lang,
}

impl Outputs {
    fn write(&self, r: &GradeResult, final_write: bool) {
        let put = |path: &Option<PathBuf>, text: String| {
            if let Some(p) = path {
                if let Err(e) = std::fs::write(p, text) {
                    eprintln!("grade: writing {}: {e}", p.display());
                }
            }
        };
        put(
            &self.args.classroom,
            serde_json::to_string_pretty(&formats::classroom(r)).unwrap_or_default(),
        );
        put(
            &self.args.gradescope,
            serde_json::to_string_pretty(&formats::gradescope(r)).unwrap_or_default(),
        );
        if self.args.classroom50.is_some() {
            put(
                &self.args.classroom50,
                serde_json::to_string_pretty(&formats::classroom50(r, &submission_from_env())).unwrap_or_default(),
            );
        }
        put(&self.args.junit, formats::junit(r));
        put(&self.args.tap, formats::tap(r));
        put(&self.args.markdown, formats::markdown(r, self.lang));
        put(&self.args.html, formats::html(r, self.lang));
        if final_write {
            append_env_file("GITHUB_STEP_SUMMARY", &formats::markdown(r, self.lang));
            if self.args.classroom.is_some() {
                append_env_file("GITHUB_OUTPUT", &format!("result={}\n", formats::classroom_base64(r)));
            }
        }
    }
}

/// Classroom 50's runner describes the submission in the environment.
fn submission_from_env() -> formats::Submission {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    formats::Submission {
        classroom: var("CLASSROOM"),
        assignment: var("ASSIGNMENT"),
        submission: var("SUBMISSION_TAG"),
        commit: var("COMMIT_URL"),
        release: var("RELEASE_URL"),
        review: var("REVIEW_URL"),
        datetime: utc_now(),
    }
}

/// Now, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn append_env_file(var: &str, text: &str) {
    if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        use std::io::Write;
        if let Err(e) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .and_then(|mut f| f.write_all(text.as_bytes()))
        {
            eprintln!("grade: appending to ${var}: {e}");
        }
    }
}

/// What `harness doctor` finds missing: (key, essential, detail).
fn host_findings() -> Result<Vec<(String, bool, String)>, String> {
    let doctor = checks::runtime::bin_dir().join("harness");
    let out = std::process::Command::new(&doctor)
        .args(["doctor", "--json"])
        .output()
        .map_err(|e| format!("{}: {e}", doctor.display()))?;
    let findings: Vec<labkit::doctor::Finding> =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("harness doctor --json: {e}"))?;
    Ok(findings
        .into_iter()
        .filter(|f| !f.ok)
        .map(|f| (f.key.clone(), labkit::doctor::essential(&f.key), f.detail))
        .collect())
}

/// Where this run grades (set once the checker's cgroup parent is chosen).
static ENVIRONMENT: std::sync::OnceLock<grade::Environment> = std::sync::OnceLock::new();

/// [`grade::score`] with this run's environment.
fn scored(
    runtime: &str,
    exercises: &[&grade::Exercise],
    reports: &[CheckReport],
    hints: &grade::Hints,
    interrupted: bool,
) -> GradeResult {
    let mut r = grade::score(runtime, exercises, reports, hints, interrupted);
    r.environment = ENVIRONMENT.get().cloned().unwrap_or_default();
    r
}

fn host_problem(lang: Lang, why: impl std::fmt::Display) -> ExitCode {
    match lang {
        Lang::En => eprintln!("grade: this host cannot grade: {why}"),
        Lang::Ko => eprintln!("grade: 이 호스트에서는 채점할 수 없습니다: {why}"),
    }
    ExitCode::from(2)
}

/// One line on stderr in the student's language.
fn say(lang: Lang, t: checks::text::Text) {
    eprintln!("grade: {}", t.get(lang));
}

/// Every requested check broken with `why`: a host that cannot grade still gets
/// every requested file (a Gradescope run must always find results.json).
fn all_broken(exercises: &[&grade::Exercise], hints: &grade::Hints, why: &str) -> GradeResult {
    let outcome = checks::Outcome::Broken(checks::t!(
        "this host cannot grade: {why}",
        "이 호스트에서는 채점할 수 없습니다: {why}"
    ));
    every_check(exercises, hints, &outcome)
}

/// Every requested check failed because `LAB_RUNTIME` names no runtime: the
/// student's error, not the host's (the files are still written).
fn all_failed_without_runtime(
    exercises: &[&grade::Exercise],
    hints: &grade::Hints,
    why: &checks::text::Text,
) -> GradeResult {
    let outcome = checks::Outcome::Fail(checks::Failure {
        expected: checks::t!(
            "an executable runtime at LAB_RUNTIME",
            "LAB_RUNTIME에 실행할 수 있는 런타임"
        ),
        got: why.clone(),
        run: checks::outcome::RunRole::Host,
        command: format!("LAB_RUNTIME={}", std::env::var("LAB_RUNTIME").unwrap_or_default()),
        stderr_tail: String::new(),
        refused: None,
        cause: Some(checks::cause::Cause::NoRuntime),
    });
    every_check(exercises, hints, &outcome)
}

fn every_check(exercises: &[&grade::Exercise], hints: &grade::Hints, outcome: &checks::Outcome) -> GradeResult {
    let label = std::env::var("LAB_RUNTIME")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "reference".into());
    let all = catalog();
    let reports: Vec<CheckReport> = exercises
        .iter()
        .flat_map(|e| e.checks.iter())
        .map(|id| CheckReport {
            id: id.clone(),
            topic: id.split('.').next().unwrap_or_default().to_string(),
            title: all
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.title.to_string())
                .unwrap_or_default(),
            outcome: outcome.clone(),
            duration: Duration::ZERO,
            notes: Vec::new(),
        })
        .collect();
    let mut r = grade::score(&label, exercises, &reports, hints, false);
    r.environment = grade::environment("cgroup parent: none (the host could not be graded)");
    r
}

/// The host, before any check: one explanation for a missing piece instead of a
/// wall of failures; the checker's cgroup parent chosen; what an earlier checker
/// killed on this host left removed.
fn prepare_host(lang: Lang, placed: Result<Option<checks::text::Text>, String>) -> Result<(), String> {
    match host_findings() {
        Ok(missing) => {
            // Pieces only some checks need are left to those checks, which skip (or
            // set the piece up themselves, as net_cls does) with their own reason.
            let essential: Vec<String> = missing
                .into_iter()
                .filter(|(_, essential, _)| *essential)
                .map(|(k, _, d)| format!("{k}: {d}"))
                .collect();
            if !essential.is_empty() {
                return Err(essential.join("; "));
            }
        }
        Err(e) => say(
            lang,
            checks::t!(
                "note: could not examine the host ({e}); going on",
                "참고: 호스트를 살펴보지 못했습니다({e}). 계속합니다"
            ),
        ),
    }
    let line = checks::cgview::preflight_text()?;
    say(lang, line.clone());
    if let Some(scratch) = placed? {
        say(lang, scratch);
    }
    let _ = ENVIRONMENT.set(grade::environment(&line.en));
    match labkit::state::cleanup_dir(&labkit::state::state_dir()) {
        Ok(c) => {
            for l in &c.done {
                say(
                    lang,
                    checks::t!(
                        "left by a killed checker, removed: {l}",
                        "죽은 검사기가 남긴 것을 지웠습니다: {l}"
                    ),
                );
            }
            for l in &c.failed {
                say(
                    lang,
                    checks::t!(
                        "left by a killed checker, could not remove: {l}",
                        "죽은 검사기가 남긴 것을 지우지 못했습니다: {l}"
                    ),
                );
            }
        }
        Err(e) => say(lang, checks::t!("note: {e}", "참고: {e}")),
    }
    Ok(())
}

/// What the signal thread needs to write complete results.
struct Run {
    done: Arc<Mutex<Vec<CheckReport>>>,
    outputs: Arc<Outputs>,
    exercises: Vec<grade::Exercise>,
    hints: grade::Hints,
    name: String,
}

impl Run {
    fn result(&self, interrupted: bool) -> GradeResult {
        let refs: Vec<&grade::Exercise> = self.exercises.iter().collect();
        scored(
            &self.name,
            &refs,
            &self.done.lock().unwrap_or_else(|p| p.into_inner()),
            &self.hints,
            interrupted,
        )
    }
}

/// Signals are taken by one thread (blocked everywhere else, before any thread
/// starts), which writes complete result files and ends the run: no check starts
/// any more, the containers of those running are killed so that they end soon and
/// clean up after themselves (loop devices, nft tables, mounts, cgroups), and what
/// is still left after the grace period is removed here.
fn watch_signals(signals: SigSet, run: Run) {
    std::thread::spawn(move || {
        let Ok(sig) = signals.wait() else { return };
        checks::runner::STOP.store(true, std::sync::atomic::Ordering::SeqCst);
        run.outputs.write(&run.result(true), false);
        checks::ctx::kill_live_containers();
        let drained = checks::runner::stop_and_drain(Duration::from_secs(20));
        if !drained {
            checks::ctx::cleanup_live();
        }
        checks::scratch::remove_own();
        let r = run.result(true);
        run.outputs.write(&r, true);
        let n = r.checks().filter(|c| c.status.graded()).count();
        eprintln!();
        say(
            run.outputs.lang,
            checks::t!(
                "interrupted by {sig}; wrote the results of {n} checks",
                "{sig}(으)로 중단되었습니다. 검사 {n}개의 결과를 썼습니다"
            ),
        );
        std::process::exit(128 + sig as i32);
    });
}

fn main() -> ExitCode {
    let code = run();
    // The checker's own tmpfs, if it needed one: its checks have removed what they made in it.
    checks::scratch::remove_own();
    code
}

fn run() -> ExitCode {
    // First of all, before any thread: as PID 1 of a container, an init stays PID 1.
    if let Some(why) = labkit::pid_one::stand_in_if_pid_one() {
        eprintln!("grade: {why}");
    }
    // Then: a systemd service's cgroup cannot delegate.
    if let Some(why) = checks::cgview::enter_delegated_scope() {
        eprintln!("grade: {why}");
    }
    // Also before any thread (it may take a mount namespace); reported with the host's findings.
    let placed = checks::scratch::place();
    let args = Args::parse();
    let lang = match args.lang.as_deref() {
        Some("ko") => Lang::Ko,
        Some(_) => Lang::En,
        None => Lang::from_env(),
    };
    let (manifest, hints) = match (grade::manifest(), grade::hints()) {
        (Ok(m), Ok(h)) => (m, h),
        (Err(e), _) | (_, Err(e)) => return host_problem(lang, e),
    };
    if let Err(e) = grade::validate(&manifest, &hints, &catalog()) {
        return host_problem(lang, format!("the exercise manifest is inconsistent: {e}"));
    }
    let exercises = match grade::select(&manifest, args.topic.as_deref(), args.exercise.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("grade: {e}");
            return ExitCode::from(2);
        }
    };
    // From here on a host that cannot grade still gets every requested file.
    let cannot_grade = |why: String| -> ExitCode {
        Outputs {
            args: args.clone(),
            lang,
        }
        .write(&all_broken(&exercises, &hints, &why), true);
        host_problem(lang, why)
    };
    if !nix::unistd::geteuid().is_root() {
        return cannot_grade("the checks start containers and need root (run it with sudo)".into());
    }
    let rt = match Runtime::from_env() {
        Ok(rt) => rt,
        Err(checks::select::NoRuntime::Host(e)) => return cannot_grade(e),
        Err(checks::select::NoRuntime::Yours(why)) => {
            Outputs {
                args: args.clone(),
                lang,
            }
            .write(&all_failed_without_runtime(&exercises, &hints, &why), true);
            say(lang, why);
            return ExitCode::from(2);
        }
    };
    if let Err(e) = prepare_host(lang, placed) {
        return cannot_grade(e);
    }
    checks::runtime::set_process_timeout(Duration::from_secs(args.process_timeout));
    let mut signals = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        signals.add(s);
    }
    if let Err(e) = signals.thread_block() {
        return cannot_grade(format!("blocking signals: {e}"));
    }
    let name = if rt.path.to_string_lossy() == rt.name {
        rt.name.clone()
    } else {
        format!("{} ({})", rt.name, rt.path.display())
    };
    let run = Run {
        done: Arc::default(),
        outputs: Arc::new(Outputs { args, lang }),
        exercises: exercises.iter().map(|e| (*e).clone()).collect(),
        hints,
        name,
    };
    watch_signals(
        signals,
        Run {
            done: run.done.clone(),
            outputs: run.outputs.clone(),
            exercises: run.exercises.clone(),
            hints: run.hints.clone(),
            name: run.name.clone(),
        },
    );
    grade_all(&rt, &run)
}

/// Runs the exercises' checks, writing the result files after each one, and
/// prints the report; the exit status says whether anything failed or broke.
fn grade_all(rt: &Runtime, run: &Run) -> ExitCode {
    let all = catalog();
    let checks: Vec<_> = run
        .exercises
        .iter()
        .flat_map(|e| e.checks.iter())
        .filter_map(|id| all.iter().find(|c| c.id == id).copied())
        .collect();
    let refs: Vec<&grade::Exercise> = run.exercises.iter().collect();
    let args = &run.outputs.args;
    let tty = std::io::stderr().is_terminal();
    let total = checks.len();
    let limit = Some(Duration::from_secs(args.check_timeout));
    let foreign = checks::runner::ForeignFiles::snapshot();
    let reports = run_all_limited(&checks, rt, args.jobs, limit, |report| {
        let mut d = run.done.lock().unwrap_or_else(|p| p.into_inner());
        d.push(report.clone());
        run.outputs
            .write(&scored(&run.name, &refs, &d, &run.hints, false), false);
        if tty {
            let label = report.outcome.label_in(run.outputs.lang);
            eprint!("\r\x1b[K[{}/{total}] {label} {}", d.len(), report.id);
        } else {
            eprintln!(
                "{}",
                checks::runner::progress_line_in(run.outputs.lang, d.len(), total, report)
            );
        }
    });
    if tty {
        eprint!("\r\x1b[K");
    }
    if checks::runner::STOP.load(std::sync::atomic::Ordering::SeqCst) {
        // Interrupted: the signal thread writes the results and ends the process.
        loop {
            std::thread::park();
        }
    }
    // A check past its limit is still cleaning up in the background: not without it.
    checks::runner::settle(SETTLE_GRACE);
    let mut result = scored(&run.name, &refs, &reports, &run.hints, false);
    result.left_outside = foreign.new_since();
    if args.explain {
        say(
            run.outputs.lang,
            checks::t!(
                "drawing the pictures of your container (--explain)",
                "컨테이너 그림을 그립니다(--explain)"
            ),
        );
        result.explained = Some(grade::Explained {
            pictures: checks::explain::explain(rt),
            lang: run.outputs.lang,
        });
    }
    run.outputs.write(&result, true);
    print!("{}", human::render(&result, run.outputs.lang, !args.brief));
    if let Some(ex) = &result.explained {
        match &ex.pictures {
            Ok(e) => print!(
                "{}",
                checks::explain::draw::text(e, ex.lang, std::io::stdout().is_terminal())
            ),
            Err(why) => println!("\n{}", formats::explain_failed(why, ex.lang)),
        }
    }
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        print!("{}", formats::github_annotations(&result));
    }
    let broken = result
        .checks()
        .any(|c| matches!(c.status, grade::Status::Broken | grade::Status::NotRun));
    let status = checks::outcome::exit_status(result.any_failed(), broken);
    if status != 0 {
        say(
            run.outputs.lang,
            checks::t!(
                "exit status {status} (1: a check failed; 2: a check could not be graded)",
                "종료 상태 {status} (1: 실패한 검사가 있음, 2: 채점하지 못한 검사가 있음)"
            ),
        );
    }
    ExitCode::from(status)
}
