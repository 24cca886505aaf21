//! Where the checker prepares its files. Inside a container the temporary directory
//! is often a place the kernel refuses for them: Docker's /tmp is on the container's
//! overlay root (no overlay upper layer there) and `--tmpfs /tmp` is noexec (the probe
//! cannot run). Both are made here in a mount namespace of the test's own
//! (`unshare -m`), TMPDIR pointing there, and the checks that use the scratch most
//! (overlays, root file systems, the probe run from them) must pass, the checker
//! saying where it put its files instead, and leave nothing there. The control: the
//! same place named in LAB_SCRATCH is refused with exit 2 and the reason, so the
//! place really is unfit, and the run above passed because the checker avoided it.

use std::process::{Command, Output};

use checks::runtime::bin_dir;

/// Checks that put layers, uppers and root file systems in the scratch and run the
/// probe from there.
const CHECKS: [&str; 4] = [
    "overlay.copy-up",
    "overlay.whiteout",
    "namespaces.mnt",
    "security.dev.only-minimal-nodes",
];

/// Runs labcheck with TMPDIR on a place `mount_args` makes (in `dir/m`, in a mount
/// namespace of its own), then lists what is left in that place after the run.
fn labcheck_with_tmp_on(mount_args: &str, env: &[(&str, &str)], dir: &std::path::Path) -> (Output, String) {
    let script = format!(
        r#"set -e
d=$1; shift
mkdir -p "$d/l" "$d/u" "$d/w" "$d/m"
{mount_args} "$d/m"
export TMPDIR="$d/m"
set +e
"$@"; st=$?
echo "LEFT: $(ls -A "$d/m" | tr '\n' ' ')"
exit $st"#
    );
    let state = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"])
        .arg(dir)
        .arg(bin_dir().join("labcheck"))
        .args(CHECKS)
        .env(labkit::state::STATE_DIR_ENV, state.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t = std::time::Instant::now();
    let out = cmd.output().expect("running unshare (util-linux)");
    eprintln!("{mount_args} {env:?}: exit {} in {:?}", out.status, t.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let left = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LEFT:"))
        .unwrap_or("(no listing: the script failed before it)")
        .trim()
        .to_string();
    let state_left: Vec<_> = std::fs::read_dir(state.path()).unwrap().flatten().collect();
    assert!(state_left.is_empty(), "{mount_args}: left state behind: {state_left:?}");
    (out, left)
}

fn avoided_and_refused_when_named(mount_args: &str, reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (out, left) = labcheck_with_tmp_on(mount_args, &[], dir.path());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains(" 0 failed, 0 broken"),
        "TMPDIR on `{mount_args}`: expected every check to pass with the checker's files elsewhere, got {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains(reason) && stderr.contains("a tmpfs of the checker's own"),
        "TMPDIR on `{mount_args}`: expected the checker to say {reason:?} and where it put its files instead:\n{stderr}"
    );
    assert!(left.is_empty(), "TMPDIR on `{mount_args}`: left behind there: {left}");

    // The control: the same place named by the user is refused, with the reason.
    let dir = tempfile::tempdir().unwrap();
    let named = format!("{}/m", dir.path().display());
    let (out, left) = labcheck_with_tmp_on(mount_args, &[("LAB_SCRATCH", &named)], dir.path());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.code() == Some(2)
            && stderr.contains(&format!("LAB_SCRATCH={named} cannot hold"))
            && stderr.contains(reason),
        "LAB_SCRATCH on `{mount_args}`: expected exit 2 naming it and {reason:?}, got {}\n{stderr}",
        out.status
    );
    assert!(
        !stdout.contains("pass") && !stdout.contains("FAIL"),
        "LAB_SCRATCH on `{mount_args}`: graded something:\n{stdout}"
    );
    assert!(
        left.is_empty(),
        "LAB_SCRATCH on `{mount_args}`: left behind there: {left}"
    );
}

#[test]
#[ignore = "needs root"]
fn an_overlay_tmp_is_detected_and_avoided() {
    avoided_and_refused_when_named(
        r#"mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w""#,
        "it is on an overlay",
    );
}

#[test]
#[ignore = "needs root"]
fn a_noexec_tmp_is_detected_and_avoided() {
    avoided_and_refused_when_named("mount -t tmpfs -o noexec,nosuid,nodev tmpfs", "it is mounted noexec");
}

#[test]
#[ignore = "needs root"]
fn a_fit_lab_scratch_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let named = format!("{}/m", dir.path().display());
    let (out, left) = labcheck_with_tmp_on("mount -t tmpfs tmpfs", &[("LAB_SCRATCH", &named)], dir.path());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains(" 0 failed, 0 broken") && stderr.contains(&format!("scratch: LAB_SCRATCH={named}")),
        "LAB_SCRATCH on a tmpfs: expected the checks to pass there and the checker to say so, got {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(left.is_empty(), "LAB_SCRATCH on a tmpfs: left behind there: {left}");
}
