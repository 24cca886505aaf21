//! The Markdown summary.

use exercises::formats;
use exercises::{Lang, Status};

use crate::synthetic::synthetic;

#[test]
fn markdown_has_the_total_a_row_per_exercise_and_hints_in_the_language() {
    let r = synthetic();
    let en = formats::markdown(&r, Lang::En);
    assert!(en.starts_with("## Grade: 6/14 points\n"), "{en}");
    let rows: Vec<&str> = en
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Exercise"))
        .collect();
    assert_eq!(rows.len(), r.exercises.len());
    for (row, e) in rows.iter().zip(&r.exercises) {
        assert!(
            row.contains(&format!("`{}`", e.id))
                && row.contains(&format!("{}/{}", e.earned(), e.max_points() - e.ungradable())),
            "{row}"
        );
        assert_eq!(row.matches(" | ").count(), 2, "three cells: {row}");
    }
    for c in r.checks().filter(|c| c.status == Status::Fail) {
        assert!(en.contains(&format!("#### `{}`", c.id)));
        assert!(en.contains(&c.hint.0) && !en.contains(&c.hint.1));
        // expected/got inside a code block whose fence the message cannot close.
        let at = en.find(c.message.lines().next().unwrap()).unwrap();
        assert!(en[..at].ends_with("```text\n"), "{en}");
    }
    for c in r.checks().filter(|c| !c.status.graded()) {
        assert!(
            en.contains(&format!("- `{}`", c.id)),
            "{} not listed as not graded",
            c.id
        );
    }

    let ko = formats::markdown(&r, Lang::Ko);
    assert!(ko.starts_with("## 채점 결과: 6/14점\n"), "{ko}");
    for c in r.checks().filter(|c| c.status == Status::Fail) {
        assert!(ko.contains(&c.hint.1) && !ko.contains(&c.hint.0));
    }
    assert!(ko.contains("PID와 UTS 네임스페이스"));
}

/// A broken check stays in the maximum, unearned: an exercise with one is never shown
/// complete, also when every graded check passed.
#[test]
fn an_exercise_with_a_broken_check_is_not_complete() {
    let mut r = synthetic();
    r.exercises.truncate(1);
    let id = r.exercises[0].id.clone();
    for (i, c) in r.exercises[0].checks.iter_mut().enumerate() {
        c.status = if i == 0 { Status::Broken } else { Status::Pass };
        c.earned = if i == 0 { 0 } else { c.max_points };
    }
    let md = formats::markdown(&r, Lang::En);
    let row = md.lines().find(|l| l.contains(&format!("`{id}`"))).unwrap();
    assert!(row.contains("partly graded") && !row.contains("complete"), "{row}");
    let text = exercises::human::render(&r, Lang::En, false);
    assert!(!text.contains(" ✓ "), "{text}");
}
