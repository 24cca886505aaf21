//! Cgroup namespaces: the container's cgroup as /.

use labkit::probe::{Cat, Facts};

use super::*;

/// (hierarchy, path) of every controller line of a /proc/PID/cgroup text.
fn cgroup_paths(text: &str) -> Vec<(String, String)> {
    labkit::cgroups::parse_cgroup(text)
        .into_iter()
        .filter(|l| !l.controllers.iter().any(|c| c.starts_with("name=")))
        .map(|l| {
            let hierarchy = if l.controllers.is_empty() {
                "unified".to_string()
            } else {
                l.controllers.join(",")
            };
            (hierarchy, l.path)
        })
        .collect()
}

/// Pass: the container's process is in cgroup NAME (host view) and sees that cgroup
/// as / (read in its cgroup namespace). Control: a run with `--cgroup` and no
/// `--ns cgroup` reads its own /proc/self/cgroup with the whole path to its cgroup.
/// Fail: otherwise; or the control showing / (a cgroup namespace nobody asked for).
pub(super) fn cgroup_root(ctx: &Ctx) -> CheckResult {
    ctx.cgroup_parent()?;
    let name = ctx.unique("lab-cgns-", 40);
    let (sp, pid) = sleeper(ctx, &["--ns", "cgroup", "--cgroup", &name], "cgns")?;
    let host_view = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    // Read by a process in the container's cgroup namespace, paths are relative to its root.
    let inside: Result<Cat, _> =
        host::in_namespaces_of(pid, &["-C"], ctx.probe(), &["cat", &format!("/proc/{pid}/cgroup")]);
    let run = sp.stop();
    let inside = inside?;
    let host_paths = cgroup_paths(&host_view);
    let suffix = format!("/{name}");
    // v1 hierarchies the runtime does not use (or the empty v2 mount of a hybrid host) stay where they were.
    let joined: Vec<&(String, String)> = host_paths.iter().filter(|(_, p)| p.ends_with(&suffix)).collect();
    ensure(
        !joined.is_empty(),
        crate::t!(
            "the container's process in cgroup {name} (host view)",
            "컨테이너의 프로세스가 cgroup {name} 안에 있음(호스트에서 본 모습)"
        ),
        crate::ctx::js(&host_paths),
        &run,
    )?;
    let inside_paths = cgroup_paths(inside.content.as_deref().unwrap_or_default());
    let not_root: Vec<&(String, String)> = inside_paths
        .iter()
        .filter(|(h, p)| joined.iter().any(|(jh, _)| jh == h) && p != "/")
        .collect();
    ensure(
        not_root.is_empty() && !inside_paths.is_empty(),
        crate::t!(
            "cgroup {name} to show as / inside",
            "안에서 cgroup {name}의 경로가 /로 보임"
        ),
        crate::ctx::js(&inside_paths),
        &run,
    )?;
    const WITHOUT: &str = "without --ns cgroup";
    let control = ctx.unique("lab-cgctl-", 40);
    let (crun, facts): (_, Facts) = ctx.control_probe_json(WITHOUT, &["--cgroup", &control], &["facts"])?;
    let lines = facts.cgroup.unwrap_or_default();
    let suffix = format!("/{control}");
    if !lines.iter().any(|l| l.path.ends_with(&suffix)) {
        return Err(control_fail(
            WITHOUT,
            crate::t!(
                "the whole path to cgroup {control} in /proc/self/cgroup, as the host names it",
                "/proc/self/cgroup에 호스트가 부르는 대로 cgroup {control}까지의 전체 경로"
            ),
            js(&lines),
            &crun,
        ));
    }
    Ok(())
}
