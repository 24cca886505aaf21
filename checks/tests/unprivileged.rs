//! The checker in an unprivileged container (`docker run` without `--privileged`,
//! Gradescope) or a user namespace: it stops at once with exit 2 and one message that
//! names what showed it and the two ways on, grades nothing (the checks would fail
//! for the checker's own lack of privilege) and leaves nothing. `unshare --user
//! --map-root-user` (root mapped to root: the cgroup files stay writable, so only the
//! privilege test stops it) and `setpriv` without CAP_SYS_ADMIN make both places here.

use std::process::Command;

use checks::runtime::bin_dir;

fn labcheck_in(wrapper: &[&str], state: &std::path::Path) -> std::process::Output {
    let t = std::time::Instant::now();
    let out = Command::new(wrapper[0])
        .args(&wrapper[1..])
        .arg(bin_dir().join("labcheck"))
        .env(labkit::state::STATE_DIR_ENV, state)
        .output()
        .expect("running the wrapper (util-linux)");
    eprintln!("{wrapper:?}: exit {} in {:?}", out.status, t.elapsed());
    out
}

#[test]
#[ignore = "needs root"]
fn an_unprivileged_place_gets_exit_2_the_reason_and_the_ways_on() {
    for (wrapper, shows) in [
        (
            &["unshare", "--user", "--map-root-user"][..],
            "a user namespace (uid_map 0 0 1)",
        ),
        (
            &["setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin"][..],
            "no CAP_SYS_ADMIN",
        ),
    ] {
        let state = tempfile::tempdir().unwrap();
        let out = labcheck_in(wrapper, state.path());
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.code() == Some(2)
                && stderr.contains(shows)
                && stderr.contains("docker run --privileged")
                && stderr.contains("make check-vm"),
            "{wrapper:?}: expected exit 2 naming {shows:?} and the ways on, got {}\n{stderr}",
            out.status
        );
        assert!(stdout.is_empty(), "{wrapper:?}: graded something:\n{stdout}");
        let left: Vec<_> = std::fs::read_dir(state.path()).unwrap().flatten().collect();
        assert!(left.is_empty(), "{wrapper:?}: left state behind: {left:?}");
    }
}
