//! The synthetic result: two exercises and a check in every status.

use std::time::Duration;

use exercises::{CheckGrade, ExerciseResult, GradeResult, Status};

fn check(id: &str, max: u32, status: Status, message: &str, ms: u64) -> CheckGrade {
    CheckGrade {
        id: id.into(),
        title: format!("title of {id}"),
        title_ko: format!("{id}의 제목"),
        max_points: max,
        earned: if status == Status::Pass { max } else { 0 },
        status,
        message: message.into(),
        message_ko: format!("(한국어) {message}"),
        notes: if id.ends_with("init-is-pid-1") {
            vec!["figure: 0.19 of a CPU".into()]
        } else {
            vec![]
        },
        hint: (format!("English hint for {id}."), format!("{id} 에 대한 한국어 힌트.")),
        duration: Duration::from_millis(ms),
        source: exercises::source_file(id),
    }
}

const FAIL_UTS: &str = "expected: hostname \"lab-4242x0\" inside\ngot:      \"vm\"\ncommand:  /opt/rt run --ns uts --hostname lab-4242x0 -- /work/probe hostname\nstderr:   warning: uts ignored\n          second line";
const FAIL_MEM: &str =
    "expected: memory.max = 33554432 | the `limit` # set\ngot:      memory.max = max\ncommand:  /opt/rt run --memory 32M -- /work/probe cgroup";

pub(crate) fn synthetic() -> GradeResult {
    GradeResult {
        runtime: "student (/work/target/debug/runtime)".into(),
        exercises: vec![
            ExerciseResult {
                id: "ns-pid".into(),
                topic: "namespaces".into(),
                title: ("PID and UTS namespaces".into(), "PID와 UTS 네임스페이스".into()),
                checks: vec![
                    check("namespaces.pid.init-is-pid-1", 4, Status::Pass, "", 31),
                    check("namespaces.uts.hostname-set", 3, Status::Fail, FAIL_UTS, 1234),
                    check(
                        "namespaces.time.offset-moves-clocks",
                        3,
                        Status::Skip,
                        "this kernel has no time namespace",
                        0,
                    ),
                ],
            },
            ExerciseResult {
                id: "cg-memory".into(),
                topic: "cgroups".into(),
                title: ("Memory limit".into(), "메모리 제한".into()),
                checks: vec![
                    check("cgroups.memory.max-set", 2, Status::Pass, "", 12),
                    check("cgroups.memory.oom-kills", 2, Status::Fail, FAIL_MEM, 250),
                    check(
                        "cgroups.memory.swap-off",
                        2,
                        Status::Broken,
                        "binding a host listener: EACCES\nsecond line",
                        5,
                    ),
                    check(
                        "cgroups.memory.events",
                        1,
                        Status::NotRun,
                        "interrupted before it ran",
                        0,
                    ),
                ],
            },
        ],
        interrupted: true,
        environment: exercises::Environment {
            suite: "0.1.0".into(),
            contract: "1".into(),
            kernel: "6.18.0-test".into(),
            cgroup: "v2".into(),
            cgroup_parent:
                "cgroup parent: /sys/fs/cgroup/system.slice/lab-check-7.scope (delegated systemd scope): why".into(),
        },
        left_outside: vec![],
        explained: None,
    }
}

/// A result in which every check has `status`.
pub(crate) fn all(status: Status) -> GradeResult {
    let mut r = synthetic();
    r.interrupted = false;
    for e in &mut r.exercises {
        for c in &mut e.checks {
            c.status = status;
            c.earned = if status == Status::Pass { c.max_points } else { 0 };
            if status == Status::Pass {
                c.message.clear();
            }
        }
    }
    r
}

pub(crate) fn count(r: &GradeResult, s: Status) -> usize {
    r.checks().filter(|c| c.status == s).count()
}

#[test]
fn the_synthetic_result_covers_every_status() {
    let r = synthetic();
    for s in [Status::Pass, Status::Fail, Status::Skip, Status::Broken, Status::NotRun] {
        assert!(count(&r, s) > 0, "no {s:?} check");
    }
    assert_eq!(
        (r.earned(), r.max_points(), r.ungradable(), r.unfinished()),
        (6, 17, 3, 3)
    );
}
