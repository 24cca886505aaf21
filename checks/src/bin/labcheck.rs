//! `labcheck`: runs the checks against `LAB_RUNTIME` and prints the per-check
//! table and the summary line. `make check` and `make check-<topic>` call it.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use checks::catalog::{select, TOPICS};
use checks::report::{render_in, Tally};
use checks::text::Lang;
use checks::{run_all, Runtime};

#[derive(Parser)]
#[command(name = "labcheck", version, about = "Conformance checks for container runtimes")]
struct Args {
    /// Only this topic.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(TOPICS))]
    topic: Option<String>,
    /// Only checks whose id contains one of these strings.
    filter: Vec<String>,
    /// Checks run at the same time.
    #[arg(long, short = 'j', default_value_t = 4)]
    jobs: usize,
    /// List the checks instead of running them.
    #[arg(long)]
    list: bool,
    /// Run the selected checks N times in a row and print every check whose
    /// outcome varied (a flake), and the figure "N runs, M varied".
    #[arg(long, value_name = "N")]
    soak: Option<usize>,
    /// Run the checks against each of these runtimes (comma list, e.g.
    /// reference,oci:runc,oci:crun) and print a Markdown table check x runtime.
    #[arg(long, value_name = "RUNTIMES", value_delimiter = ',')]
    table: Vec<String>,
    /// Instead of the checks: start one container with every feature the course
    /// teaches (and a second beside it), look at them from inside and from the host,
    /// and draw the lecture's three pictures (namespaces, cgroups, layers), each
    /// with its answer. Parts the runtime does not do yet are greyed.
    #[arg(long)]
    explain: bool,
    /// With --explain: also write the pictures as one self-contained HTML page.
    #[arg(long, value_name = "FILE", requires = "explain")]
    html: Option<std::path::PathBuf>,
    /// With --explain: also write them as Markdown with Mermaid blocks.
    #[arg(long, value_name = "FILE", requires = "explain")]
    markdown: Option<std::path::PathBuf>,
    /// Instead of the checks: watch the running container of cgroup NAME (made by
    /// `RUNTIME run --cgroup NAME`, under the same LAB_CGROUP_PARENT): its CPU %,
    /// memory against its limit, tasks, I/O rates and throttling, read through
    /// `RUNTIME stats NAME` and refreshed until it ends or Ctrl-C.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["explain", "table", "soak", "list"])]
    watch: Option<String>,
    /// With --watch: seconds between readings.
    #[arg(long, value_name = "SECS", default_value_t = 1.0, requires = "watch")]
    interval: f64,
    /// With --watch: stop after this many readings (default: until the container ends).
    #[arg(long, value_name = "N", requires = "watch")]
    count: Option<usize>,
    /// Language of the report, the pictures and the lines on stderr (default: from LANG; ko for Korean).
    #[arg(long, value_parser = ["en", "ko"])]
    lang: Option<String>,
}

/// The Markdown table of outcomes, one column per runtime; skips carry their reason.
fn table(checks: &[checks::Check], columns: &[(String, Vec<checks::CheckReport>)]) -> String {
    use checks::Outcome;
    let mut s = format!(
        "| check | {} |\n|---|{}\n",
        columns
            .iter()
            .map(|(n, _)| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(columns.len())
    );
    for (i, c) in checks.iter().enumerate() {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, reports)| match &reports[i].outcome {
                Outcome::Pass => "pass".to_string(),
                Outcome::Fail(_) => "**fail**".to_string(),
                Outcome::Broken(_) => "broken".to_string(),
                Outcome::Skip(why) => {
                    // The first clause, cut at a word: the full reason is in labcheck's report.
                    let first = why.en.split([';', '(']).next().unwrap_or(&why.en).trim();
                    let mut short = String::new();
                    for w in first.split_whitespace() {
                        if short.len() + w.len() > 60 {
                            short.push_str(" …");
                            break;
                        }
                        short.push_str(if short.is_empty() { "" } else { " " });
                        short.push_str(w);
                    }
                    format!("skip: {}", short.replace('|', "/"))
                }
            })
            .collect();
        s.push_str(&format!("| `{}` | {} |\n", c.id, cells.join(" | ")));
    }
    s
}

/// `--watch NAME`: one reading of `stats NAME` per interval, as a refreshing screen on
/// a terminal and as one line per reading otherwise (a log, a CI job).
fn watch(rt: &Runtime, name: &str, args: &Args) -> ExitCode {
    use checks::watch::{line, row, screen, HEADER};
    if !(args.interval.is_finite() && args.interval > 0.0) {
        eprintln!(
            "labcheck: --interval {}: expected a number of seconds above 0",
            args.interval
        );
        return ExitCode::from(2);
    }
    let interval = std::time::Duration::from_secs_f64(args.interval);
    let tty = std::io::stdout().is_terminal();
    let mut prev: Option<(labkit::cgroups::Stats, std::time::Instant)> = None;
    let mut n = 0;
    loop {
        let run = rt.contract("stats", name);
        let at = std::time::Instant::now();
        let stats = run
            .lines_as::<labkit::cgroups::Stats>()
            .pop()
            .filter(|_| run.code() == Some(0));
        let Some(cur) = stats else {
            let why = run.stderr_tail(1);
            return if prev.is_some() {
                println!(
                    "{name}: `stats` stopped answering ({}; {}): the container has ended",
                    run.ending(),
                    why.trim()
                );
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "labcheck: `{}` gave no stats ({}; {}): is a container running with --cgroup {name}, under the same LAB_CGROUP_PARENT?",
                    run.command_line(),
                    run.ending(),
                    why.trim()
                );
                ExitCode::from(2)
            };
        };
        let r = row(
            prev.as_ref().map(|(s, _)| s),
            &cur,
            prev.as_ref().map_or_else(Default::default, |(_, t)| at - *t),
        );
        if tty {
            print!("{}", screen(&r, interval));
        } else {
            if n == 0 {
                println!("{HEADER}");
            }
            println!("{}", line(&r));
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        prev = Some((cur, at));
        n += 1;
        if args.count.is_some_and(|c| n >= c) {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(interval);
    }
}

/// `--explain`: the pictures on stdout, and in the files asked for.
fn explain(rt: &Runtime, args: &Args) -> ExitCode {
    use checks::explain::draw;
    let lang = lang_of(args);
    if !nix::unistd::geteuid().is_root() {
        eprintln!("labcheck: --explain starts containers and reads their cgroups: it needs root (sudo), or a VM: make check-vm VM_CMD=\"labcheck --explain\"");
        return ExitCode::from(2);
    }
    let e = match checks::explain::explain(rt) {
        Ok(e) => e,
        Err(why) => {
            eprintln!(
                "labcheck: cannot draw the pictures (an environment problem): {}",
                why.get(lang)
            );
            return ExitCode::from(2);
        }
    };
    print!("{}", draw::text(&e, lang, std::io::stdout().is_terminal()));
    let title = if rt.path.to_string_lossy() == rt.name {
        format!("labcheck --explain: {}", rt.name)
    } else {
        format!("labcheck --explain: {} ({})", rt.name, rt.path.display())
    };
    let mut status = ExitCode::SUCCESS;
    for (path, text) in [
        (&args.html, draw::html_page(&title, &draw::html_section(&e, lang), lang)),
        (&args.markdown, draw::markdown(&e, lang)),
    ] {
        if let Some(p) = path {
            if let Err(err) = std::fs::write(p, text) {
                eprintln!("labcheck: writing {}: {err}", p.display());
                status = ExitCode::from(2);
            }
        }
    }
    status
}

/// `--lang`, else from LANG: the language of the report, the pictures and the lines
/// on stderr of a run.
fn lang_of(args: &Args) -> Lang {
    match args.lang.as_deref() {
        Some("ko") => Lang::Ko,
        Some(_) => Lang::En,
        None => Lang::from_env(),
    }
}

/// One line on stderr in `lang`.
fn say(lang: Lang, t: checks::text::Text) {
    eprintln!("labcheck: {}", t.get(lang));
}

/// The host cannot be checked at all (exit 2).
fn cannot_check(lang: Lang, e: &str) -> ExitCode {
    say(
        lang,
        checks::t!(
            "cannot check on this host (an environment problem, not a check result): {e}",
            "이 호스트에서는 검사할 수 없습니다(검사 결과가 아니라 환경의 문제): {e}"
        ),
    );
    ExitCode::from(2)
}

/// SIGINT, SIGTERM and SIGHUP (Ctrl-C, `docker stop`) are taken by one thread
/// (blocked everywhere else, before any thread starts): no check starts any more, the
/// containers of those in flight are killed so that they end soon and clean up after
/// themselves, what is still left after the grace is removed here, and the process
/// exits 128+N.
fn stop_cleanly_on_signals(lang: Lang) -> Result<(), String> {
    use nix::sys::signal::{SigSet, Signal};
    let mut signals = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        signals.add(s);
    }
    signals.thread_block().map_err(|e| format!("blocking signals: {e}"))?;
    std::thread::spawn(move || {
        let Ok(sig) = signals.wait() else { return };
        checks::ctx::kill_live_containers();
        if !checks::runner::stop_and_drain(std::time::Duration::from_secs(20)) {
            checks::ctx::cleanup_live();
        }
        checks::scratch::remove_own();
        eprintln!();
        say(
            lang,
            checks::t!(
                "interrupted by {sig}: the checks in flight were stopped and what they made removed",
                "{sig}(으)로 중단되었습니다. 돌던 검사를 멈추고 그 검사들이 만든 것을 지웠습니다"
            ),
        );
        std::process::exit(128 + sig as i32);
    });
    Ok(())
}

fn interrupted() -> bool {
    checks::runner::STOP.load(std::sync::atomic::Ordering::SeqCst)
}

/// After a run a signal stopped: its reports are partial (checks killed under it), so
/// nothing is printed; the signal thread cleans up and ends the process.
fn leave_to_the_signal_thread_if_interrupted() {
    if interrupted() {
        loop {
            std::thread::park();
        }
    }
}

fn main() -> ExitCode {
    let code = run();
    // The checker's own tmpfs, if it needed one: its checks have removed what they made in it.
    checks::scratch::remove_own();
    code
}

// Long: one branch per mode of the command line (list, table, soak, run).
fn run() -> ExitCode {
    // First of all, before any thread: as PID 1 of a container, an init stays PID 1.
    if let Some(why) = labkit::pid_one::stand_in_if_pid_one() {
        eprintln!("labcheck: {why}");
    }
    let args = Args::parse();
    let lang = lang_of(&args);
    // Before any thread: a systemd service's cgroup cannot delegate (not for a listing).
    // Not for --watch either: it must find NAME from the cgroup the user's `run` had.
    if !args.list && args.watch.is_none() {
        if let Some(why) = checks::cgview::enter_delegated_scope() {
            eprintln!("labcheck: {why}");
        }
        // Also before any thread: it may take a mount namespace for a tmpfs of its own.
        match checks::scratch::place() {
            Ok(Some(line)) => say(lang, line),
            Ok(None) => {}
            Err(e) => return cannot_check(lang, &e),
        }
        if let Err(e) = stop_cleanly_on_signals(lang) {
            eprintln!("labcheck: {e}");
            return ExitCode::from(2);
        }
    }
    let checks: Vec<_> = select(args.topic.as_deref())
        .into_iter()
        .filter(|c| args.filter.is_empty() || args.filter.iter().any(|f| c.id.contains(f.as_str())))
        .collect();
    if args.list {
        for c in &checks {
            let title = match lang {
                Lang::Ko => checks::report::title_ko(c.id).unwrap_or_else(|| c.title.to_string()),
                Lang::En => c.title.to_string(),
            };
            println!("{:<48} {title}", c.id);
        }
        return ExitCode::SUCCESS;
    }
    if !args.table.is_empty() {
        let mut columns = Vec::new();
        for name in &args.table {
            let rt = match Runtime::named(name) {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("labcheck: {e}");
                    return ExitCode::from(2);
                }
            };
            eprintln!("labcheck: running {} checks against {name}", checks.len());
            columns.push((name.clone(), run_all(&checks, &rt, args.jobs, |_| {})));
            leave_to_the_signal_thread_if_interrupted();
        }
        print!("{}", table(&checks, &columns));
        // A cell says only "fail" or "broken": why, on stderr, so that a difference
        // between runtimes can be reported as a finding.
        for (name, reports) in &columns {
            for r in reports {
                match &r.outcome {
                    checks::Outcome::Fail(f) => {
                        eprintln!("labcheck: {name}: FAIL {}\n{}", r.id, f.render(checks::text::Lang::En))
                    }
                    checks::Outcome::Broken(why) => eprintln!("labcheck: {name}: BROKEN {}: {}", r.id, why.en),
                    _ => {}
                }
            }
        }
        return ExitCode::SUCCESS;
    }
    let rt = match Runtime::from_env() {
        Ok(rt) => rt,
        Err(checks::select::NoRuntime::Yours(why)) => {
            say(lang, why);
            return ExitCode::from(2);
        }
        Err(checks::select::NoRuntime::Host(e)) => return cannot_check(lang, &e),
    };
    if let Some(name) = &args.watch {
        return watch(&rt, name, &args);
    }
    if let Some(n) = args.soak {
        let mut seen: Vec<std::collections::BTreeMap<&'static str, usize>> = vec![Default::default(); checks.len()];
        for round in 1..=n {
            let reports = run_all(&checks, &rt, args.jobs, |_| {});
            leave_to_the_signal_thread_if_interrupted();
            for (i, r) in reports.iter().enumerate() {
                *seen[i].entry(r.outcome.label()).or_default() += 1;
                // The figures of every round: a tolerance is judged on their spread.
                for n in &r.notes {
                    eprintln!("labcheck: soak run {round}: {}: {n}", r.id);
                }
            }
            eprintln!("labcheck: soak run {round}/{n}: {}", Tally::of(&reports).summary_line());
        }
        let varied: Vec<String> = checks
            .iter()
            .zip(&seen)
            .filter(|(_, s)| s.len() > 1)
            .map(|(c, s)| {
                format!(
                    "{}: {}",
                    c.id,
                    s.iter()
                        .map(|(k, v)| format!("{k} x{v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        for v in &varied {
            println!("varied {v}");
        }
        let always_pass = seen.iter().all(|s| s.len() == 1 && s.contains_key("pass"));
        println!(
            "{n} runs of {} checks, {} varied{}",
            checks.len(),
            varied.len(),
            if always_pass { ", all passed every time" } else { "" }
        );
        return if varied.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    if nix::unistd::geteuid().is_root() {
        match checks::cgview::preflight_text() {
            Ok(line) => say(lang, line),
            Err(e) => return cannot_check(lang, &e),
        }
    }
    if args.explain {
        return explain(&rt, &args);
    }

    let tty = std::io::stderr().is_terminal();
    let total = checks.len();
    let mut done = 0;
    let foreign = checks::runner::ForeignFiles::snapshot();
    let reports = run_all(&checks, &rt, args.jobs, |r| {
        done += 1;
        if interrupted() {
            // A check its containers were killed under: the signal thread tells.
        } else if tty {
            eprint!("\r\x1b[K[{done}/{total}] {} {}", r.outcome.label_in(lang), r.id);
        } else {
            eprintln!("{}", checks::runner::progress_line_in(lang, done, total, r));
        }
    });
    if tty {
        eprint!("\r\x1b[K");
    }
    leave_to_the_signal_thread_if_interrupted();
    print!(
        "{}",
        render_in(lang, &format!("{} ({})", rt.name, rt.path.display()), &reports)
    );
    let left = foreign.new_since();
    if !left.is_empty() {
        let left = left.join(", ");
        let t = checks::t!(
            "containment: new outside the checker's scratch since the run began (the runtime's, or another program's): {left}",
            "격리: 실행이 시작된 뒤 검사기 작업 영역 밖에 새로 생긴 것(런타임이나 다른 프로그램이 만든 것): {left}"
        );
        println!("{}", t.get(lang));
    }
    let t = Tally::of(&reports);
    ExitCode::from(checks::outcome::exit_status(t.failed > 0, t.broken > 0))
}
