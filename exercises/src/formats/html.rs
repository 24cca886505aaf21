//! `report.html`, the self-contained page.

use std::fmt::Write as _;

use crate::model::{CheckGrade, GradeResult, Lang, Status};

use super::{exercise_status, explain_failed, hint, reason_line_in, EN, KO};

/// `report.html`: one self-contained page (no script, no network): the points, the
/// exercises, the failing checks with their hints, what could not be graded, and
/// with `--explain` the three pictures as inline SVG.
pub fn html(r: &GradeResult, lang: Lang) -> String {
    use checks::explain::draw::{esc, html_page, html_section};
    let w = match lang {
        Lang::En => &EN,
        Lang::Ko => &KO,
    };
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<p><strong>{}: {}/{}</strong> · {}: <code>{}</code></p>",
        esc(w.heading),
        r.earned(),
        r.gradable_points(),
        esc(w.runtime),
        esc(&r.runtime)
    );
    let env = if lang == Lang::Ko {
        r.environment.line_ko()
    } else {
        r.environment.line()
    };
    let _ = writeln!(b, "<p><small>{}</small></p>", esc(&env));
    if r.interrupted {
        let _ = writeln!(b, "<p class=\"note\">{}</p>", esc(w.interrupted));
    }
    let _ = writeln!(
        b,
        "<table id=\"exercises\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(w.exercise),
        esc(w.points_col),
        esc(w.status)
    );
    for e in &r.exercises {
        let _ = writeln!(
            b,
            "<tr><td>{} (<code>{}</code>)</td><td>{}/{}</td><td>{}</td></tr>",
            esc(e.title(lang)),
            esc(&e.id),
            e.earned(),
            e.max_points() - e.ungradable(),
            esc(exercise_status(e, w))
        );
    }
    b.push_str("</table>\n");
    let failing: Vec<&CheckGrade> = r.checks().filter(|c| c.status == Status::Fail).collect();
    if !failing.is_empty() {
        let _ = writeln!(b, "<h2>{}</h2>", esc(w.failing_checks));
        for c in failing {
            let _ = writeln!(
                b,
                "<details><summary><code>{}</code> — {}</summary><pre>{}</pre><p><strong>{}:</strong> {}</p></details>",
                esc(&c.id),
                esc(c.title(lang)),
                esc(c.message(lang).trim_end()),
                esc(w.hint),
                esc(hint(c, lang))
            );
        }
    }
    let ungradable: Vec<&CheckGrade> = r.checks().filter(|c| !c.status.graded()).collect();
    if !ungradable.is_empty() {
        let _ = writeln!(b, "<h2>{}</h2><ul>", esc(w.not_graded_checks));
        for c in ungradable {
            let _ = writeln!(
                b,
                "<li><code>{}</code>: {}</li>",
                esc(&c.id),
                esc(&reason_line_in(c, lang))
            );
        }
        b.push_str("</ul>\n");
    }
    if let Some(ex) = &r.explained {
        match &ex.pictures {
            Ok(e) => b.push_str(&html_section(e, ex.lang)),
            Err(why) => {
                let _ = writeln!(b, "<p class=\"note\">{}</p>", esc(&explain_failed(why, ex.lang)));
            }
        }
    }
    html_page(&format!("{} — {}", w.heading, r.runtime), &b, lang)
}
