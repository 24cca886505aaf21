//! GitHub Actions annotations.

use exercises::formats;
use exercises::Status;

use crate::synthetic::{count, synthetic};

/// GitHub Actions annotations: one per failing check (error) and per check the host
/// kept from being graded (warning), none for passes and skips; every line one
/// workflow command whose data cannot break out of it.
#[test]
fn github_annotations_name_failures_and_host_problems_only() {
    let r = synthetic();
    let text = formats::github_annotations(&r);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("::error title=")).count(),
        count(&r, Status::Fail)
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("::warning title=")).count(),
        count(&r, Status::Broken) + count(&r, Status::NotRun)
    );
    assert_eq!(
        lines.len(),
        count(&r, Status::Fail) + count(&r, Status::Broken) + count(&r, Status::NotRun)
    );
    let uts = lines
        .iter()
        .find(|l| l.contains("namespaces.uts.hostname-set"))
        .unwrap();
    assert!(
        uts.starts_with("::error title=namespaces.uts.hostname-set (3 points)::expected: hostname"),
        "{uts}"
    );
    assert!(
        uts.contains("%0A") && uts.ends_with("Hint: English hint for namespaces.uts.hostname-set."),
        "{uts}"
    );
    assert!(!text.contains("namespaces.pid.init-is-pid-1") && !text.contains("offset-moves-clocks"));
}
