//! `labcheck`: runs the checks against `LAB_RUNTIME` and prints the per-check
//! table and the summary line. `make check` and `make check-<topic>` call it.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use checks::catalog::{select, TOPICS};
use checks::report::{render, Tally};
use checks::{run_all, Runtime};

#[derive(Parser)]
#[command(name = "labcheck", about = "Conformance checks for container runtimes")]
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
}

fn main() -> ExitCode {
    let args = Args::parse();
    let checks: Vec<_> = select(args.topic.as_deref())
        .into_iter()
        .filter(|c| args.filter.is_empty() || args.filter.iter().any(|f| c.id.contains(f.as_str())))
        .collect();
    if args.list {
        for c in &checks {
            println!("{:<48} {}", c.id, c.title);
        }
        return ExitCode::SUCCESS;
    }
    let rt = match Runtime::from_env() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("labcheck: {e}");
            return ExitCode::from(2);
        }
    };
    let tty = std::io::stderr().is_terminal();
    let total = checks.len();
    let mut done = 0;
    let reports = run_all(&checks, &rt, args.jobs, |r| {
        done += 1;
        if tty {
            eprint!("\r\x1b[K[{done}/{total}] {} {}", r.outcome.label(), r.id);
        }
    });
    if tty {
        eprint!("\r\x1b[K");
    }
    print!("{}", render(&format!("{} ({})", rt.name, rt.path.display()), &reports));
    let t = Tally::of(&reports);
    if t.failed > 0 || t.broken > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
