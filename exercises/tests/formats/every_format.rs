//! What every format says alike: the points, the environment, and the size caps.

use exercises::formats;
use exercises::{Lang, Status};

use crate::classroom::reporter_points;
use crate::junit::{parse_junit, Suite};
use crate::synthetic::{all, synthetic};
use crate::tap::parse_tap;

/// One grading, the same points everywhere: what was earned over what could be
/// graded (a skipped check is not in the maximum; a broken or not-run one is, not
/// earned, so the maximum stays the host's from run to run), read back from each format the way its consumer reads it.
#[test]
fn every_format_gives_the_same_points() {
    let r = synthetic();
    let want = (u64::from(r.earned()), u64::from(r.gradable_points()));
    assert_eq!(want, (6, 14), "the synthetic result: 17 points, 3 of them skipped");
    assert_eq!(
        reporter_points(&formats::classroom(&r)),
        want,
        "Classroom, as the reporter sums it"
    );
    let g = formats::gradescope(&r);
    let tests = g["tests"].as_array().unwrap();
    let sum = |k: &str| tests.iter().map(|t| t[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (sum("score"), sum("max_score")),
        want,
        "Gradescope, as it totals the tests"
    );
    assert_eq!(g["score"].as_u64(), Some(want.0));
    let (_, suites) = parse_junit(&formats::junit(&r));
    let prop = |s: &Suite, k: &str| {
        s.properties
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.parse::<u64>().unwrap())
            .unwrap()
    };
    let junit = suites.iter().fold((0, 0), |(e, m), s| {
        (
            e + prop(s, "points.earned"),
            m + prop(s, "points.max") - prop(s, "points.ungradable"),
        )
    });
    assert_eq!(junit, want, "JUnit, from the suites' properties");
    let tap = parse_tap(&formats::tap(&r));
    assert!(
        tap.comments
            .iter()
            .any(|c| c.starts_with(&format!("total: {}/{} points", want.0, want.1))),
        "TAP: {:?}",
        tap.comments
    );
    for lang in [Lang::En, Lang::Ko] {
        let md = formats::markdown(&r, lang);
        assert!(
            md.contains(&format!("{}/{}", want.0, want.1)),
            "Markdown ({lang:?}):\n{md}"
        );
        let human = exercises::human::render(&r, lang, false);
        assert!(
            human.contains(&format!(": {}/{}", want.0, want.1)),
            "the report ({lang:?}):\n{human}"
        );
    }
}

/// Every result says where it was graded (suite and contract versions, kernel,
/// cgroup version and parent), so that an instructor can tell environments apart.
/// (Classroom 50's schema admits no other key: its runner records the environment.)
#[test]
fn every_result_names_its_environment() {
    let r = synthetic();
    let env = &r.environment;
    for (k, v) in env.pairs() {
        assert_eq!(formats::classroom(&r)["environment"][k], v, "Classroom {k}");
        assert_eq!(
            formats::gradescope(&r)["extra_data"]["environment"][k],
            v,
            "Gradescope {k}"
        );
    }
    let (_, suites) = parse_junit(&formats::junit(&r));
    for s in &suites {
        for (k, v) in env.pairs() {
            assert!(
                s.properties.contains(&(k.to_string(), v.to_string())),
                "JUnit suite {} lacks {k}",
                s.name
            );
        }
    }
    let tap = parse_tap(&formats::tap(&r));
    assert!(
        tap.comments
            .iter()
            .any(|c| c == &format!("environment: {}", env.line())),
        "{:?}",
        tap.comments
    );
    assert!(formats::markdown(&r, Lang::En).contains(&env.line()));
    // The Korean summary keeps the figures and leaves the parent's English description to the result files.
    assert!(formats::markdown(&r, Lang::Ko).contains(&env.line_ko()));
    assert!(env
        .line()
        .starts_with("lab 0.1.0, contract 1, kernel 6.18.0-test, cgroup v2; cgroup parent: "));
    assert_eq!(
        exercises::contract_version(),
        "1.3",
        "the first line of exercises/CONTRACT.md"
    );
}

/// Size caps: a message is cut saying how much went, at a character boundary, and no
/// result grows past what its service takes however long the runtime's output was.
#[test]
fn long_messages_are_cut_saying_so() {
    assert_eq!(formats::capped("short", 100), "short");
    let long = "é".repeat(5000); // 10 000 bytes, two per character
    let cut = formats::capped(&long, formats::MESSAGE_CAP);
    assert!(cut.len() <= formats::MESSAGE_CAP, "{}", cut.len());
    assert!(cut.ends_with(" bytes cut)"), "{}", &cut[cut.len() - 40..]);
    let kept = cut.split('…').next().unwrap();
    let said: usize = cut
        .rsplit('(')
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(kept.len() + said, long.len(), "the count is what was cut");
    // A whole grading whose every check failed with 1 MiB of output (as score() caps
    // them): the Classroom output and the step summary stay under GitHub's 1 MiB.
    let mut r = all(Status::Fail);
    for e in &mut r.exercises {
        for c in &mut e.checks {
            c.message = formats::capped(&"x".repeat(1 << 20), formats::MESSAGE_CAP);
        }
    }
    assert!(formats::classroom_base64(&r).len() < 1 << 20);
    assert!(formats::markdown(&r, Lang::En).len() <= formats::SUMMARY_CAP);
    let huge = "y".repeat(3 << 20);
    assert!(formats::capped(&huge, formats::SUMMARY_CAP).len() <= formats::SUMMARY_CAP);
}
