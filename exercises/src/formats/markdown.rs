//! The Markdown summary for `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write as _;

use crate::model::{CheckGrade, ExerciseResult, GradeResult, Lang, Status};

use super::{capped, exercise_status, explain_failed, hint, md_cell, reason_line_in, EN, KO, SUMMARY_CAP};

/// A Markdown summary for `$GITHUB_STEP_SUMMARY`: a heading with the total, a
/// table exercise | points | status, a section per failing check (expected/got in
/// a code block, the hint in `lang`) and a list of the checks that could not be
/// graded with their reason.
// Long: the report's sections one after another, in the order they are printed.
pub fn markdown(r: &GradeResult, lang: Lang) -> String {
    let w = match lang {
        Lang::En => &EN,
        Lang::Ko => &KO,
    };
    let pts = |earned: u32, max: u32| match lang {
        Lang::En => format!("{earned}/{max} {}", w.points),
        Lang::Ko => format!("{earned}/{max}{}", w.points),
    };
    let n_pts = |n: u32| match lang {
        Lang::En if n == 1 => "1 point".to_string(),
        Lang::En => format!("{n} {}", w.points),
        Lang::Ko => format!("{n}{}", w.points),
    };
    let mut out = String::new();
    let _ = writeln!(out, "## {}: {}\n", w.heading, pts(r.earned(), r.gradable_points()));
    let _ = writeln!(out, "{}: `{}`\n", w.runtime, r.runtime.replace('`', "'"));
    let env = if lang == Lang::Ko {
        r.environment.line_ko()
    } else {
        r.environment.line()
    };
    let _ = writeln!(out, "<sub>{}</sub>\n", md_cell(&env));
    if r.ungradable() > 0 {
        let n = r.checks().filter(|c| c.status == Status::Skip).count();
        let checks = match lang {
            Lang::En if n == 1 => "1 check".to_string(),
            Lang::En => format!("{n} checks"),
            Lang::Ko => format!("검사 {n}개"),
        };
        let _ = writeln!(out, "> {checks} ({}){}\n", n_pts(r.ungradable()), w.ungradable);
    }
    if r.interrupted {
        let _ = writeln!(out, "> {}\n", w.interrupted);
    }
    let _ = writeln!(out, "| {} | {} | {} |", w.exercise, w.points_col, w.status);
    out.push_str("|---|---:|---|\n");
    for e in &r.exercises {
        let status = exercise_status(e, w);
        let _ = writeln!(
            out,
            "| {} (`{}`) | {}/{} | {} |",
            md_cell(e.title(lang)),
            e.id,
            e.earned(),
            e.max_points() - e.ungradable(),
            status
        );
    }
    let failing: Vec<(&ExerciseResult, &CheckGrade)> = r
        .exercises
        .iter()
        .flat_map(|e| e.checks.iter().map(move |c| (e, c)))
        .filter(|(_, c)| c.status == Status::Fail)
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\n### {}", w.failing_checks);
        for (e, c) in failing {
            let _ = writeln!(
                out,
                "\n#### `{}` — {} ({}, {})\n",
                c.id,
                md_cell(c.title(lang)),
                e.id,
                pts(c.earned, c.max_points)
            );
            let body = c.message(lang).trim_end();
            let fence = "`".repeat(longest_backtick_run(body).max(2) + 1);
            let _ = writeln!(out, "{fence}text\n{body}\n{fence}");
            let h = hint(c, lang);
            if !h.is_empty() {
                let _ = writeln!(
                    out,
                    "\n> **{}:** {}",
                    w.hint,
                    h.lines().collect::<Vec<_>>().join("\n> ")
                );
            }
        }
    }
    let ungradable: Vec<&CheckGrade> = r.checks().filter(|c| !c.status.graded()).collect();
    if !ungradable.is_empty() {
        let _ = writeln!(out, "\n### {}\n", w.not_graded_checks);
        for c in ungradable {
            let kind = match c.status {
                Status::Skip => w.kinds[0],
                Status::Broken => w.kinds[1],
                _ => w.kinds[2],
            };
            let _ = writeln!(
                out,
                "- `{}` ({}, {}): {}",
                c.id,
                kind,
                n_pts(c.max_points),
                md_cell(&reason_line_in(c, lang))
            );
        }
    }
    if let Some(ex) = &r.explained {
        out.push('\n');
        match &ex.pictures {
            Ok(e) => out.push_str(&checks::explain::draw::markdown(e, ex.lang)),
            Err(why) => {
                let _ = writeln!(out, "> {}", md_cell(&explain_failed(why, ex.lang)));
            }
        }
    }
    capped(&out, SUMMARY_CAP)
}

fn longest_backtick_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        if ch == '`' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}
