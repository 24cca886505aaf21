//! Which contract options an OCI runtime cannot provide: our own knowledge, in a
//! static table keyed by the runtime's name and version (never the runtime's own
//! claims), plus, for a runtime known to refuse some hosts, one trial container
//! that confirms the refusal and quotes it.
//!
//! An entry's option is matched against a check's `uses` by [`crate::oci::uses_option`];
//! `*` stands for every option (the runtime cannot run containers here at all).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A release `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The version in a `--version` text: the first word after `version` that starts
/// with digits (`runc version 1.1.5+ds1`, `crun version 1.8.1`, `youki version 0.3.3`).
pub fn parse_version(text: &str) -> Option<Version> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = words.iter().position(|w| w.eq_ignore_ascii_case("version"))?;
    let w = words.get(at + 1)?.trim_start_matches('v');
    let mut nums = w
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse::<u32>().ok());
    let major = nums.next()??;
    let minor = nums.next().flatten().unwrap_or(0);
    let patch = nums.next().flatten().unwrap_or(0);
    Some(Version(major, minor, patch))
}

/// The table's key: the runtime command's file name (`runc`, `/usr/bin/crun` → `crun`).
pub fn runtime_name(command: &str) -> String {
    Path::new(command)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| command.to_string())
}

/// One known gap: `option` (as in a check's `uses`) is missing in `runtime` from
/// `since` (inclusive) up to `until` (exclusive; `None`: every later version too).
struct Gap {
    runtime: &'static str,
    since: Version,
    until: Option<Version>,
    option: &'static str,
    /// `{name}` and `{version}` are filled in.
    reason: &'static str,
}

const GAPS: &[Gap] = &[
    Gap {
        runtime: "runc",
        since: Version(0, 0, 0),
        until: Some(Version(1, 2, 0)),
        option: "--ns time",
        reason: "{name} {version} has no time namespace (runc supports it from 1.2.0)",
    },
    Gap {
        runtime: "runc",
        since: Version(0, 0, 0),
        until: Some(Version(1, 2, 0)),
        option: "--time-offset",
        reason: "{name} {version} has no time namespace, so no clock offsets (runc supports them from 1.2.0)",
    },
    // Seen on runc 1.1.5: libcontainer's specconv appends its default device rules
    // (allow /dev/null, zero, full, random, urandom, tty, console, ptmx and pts)
    // after the config's own, so a deny rule for one of them is undone; the check
    // denies /dev/null. Kept for later versions until one is seen to differ.
    Gap {
        runtime: "runc",
        since: Version(0, 0, 0),
        until: None,
        option: "--deny-device",
        reason: "{name} {version} appends its default device allow rules (/dev/null, /dev/zero, /dev/full, \
                 /dev/random, /dev/urandom, /dev/tty, /dev/ptmx) after the config's: --deny-device denies other \
                 devices but cannot deny those",
    },
    // Seen on crun 1.8.1 in the cgroup v2 VM: the same as runc's (its default
    // devices are allowed after the config's rules), so treated alike.
    Gap {
        runtime: "crun",
        since: Version(0, 0, 0),
        until: None,
        option: "--deny-device",
        reason: "{name} {version} allows its default devices (/dev/null, /dev/zero, /dev/full, /dev/random, \
                 /dev/urandom, /dev/tty, /dev/ptmx) after the config's rules: --deny-device denies other devices \
                 but cannot deny those",
    },
    // Seen on crun 1.8.1: it makes the time namespace but leaves the clocks where
    // they are; it took offsets from an annotation of its own before the OCI
    // spec had linux.timeOffsets (crun#257).
    Gap {
        runtime: "crun",
        since: Version(0, 0, 0),
        until: None,
        option: "--time-offset",
        reason: "{name} {version} makes the time namespace but ignores the OCI linux.timeOffsets (it read offsets \
                 from an annotation of its own, crun#257): the clocks stay the host's",
    },
];

/// What the table says `name` at `version` lacks. An unknown version is taken as
/// the oldest (the table errs on the side of skipping).
pub fn known_gaps(name: &str, version: Option<Version>) -> Vec<(String, String)> {
    let v = version.unwrap_or(Version(0, 0, 0));
    let shown = version
        .map(|v| v.to_string())
        .unwrap_or_else(|| "(unknown version)".into());
    GAPS.iter()
        .filter(|g| g.runtime == name && v >= g.since && g.until.is_none_or(|u| v < u))
        .map(|g| {
            (
                g.option.to_string(),
                g.reason.replace("{name}", name).replace("{version}", &shown),
            )
        })
        .collect()
}

/// Runtimes known to refuse hosts whose cgroups are v1 with a cgroup2 mount that
/// holds controllers (a "hybrid" host), confirmed by a trial container.
const REFUSE_HYBRID: &[&str] = &["crun"];

/// The host's cgroup layout, when it is a hybrid: v1 controller hierarchies plus a
/// cgroup2 mount whose root offers controllers. `Some(controllers on v2)`.
pub fn hybrid_v2_controllers() -> Option<Vec<String>> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut v1 = false;
    let mut v2_mount = None;
    for m in labkit::mountinfo::parse_mountinfo(&mountinfo) {
        match m.fstype.as_str() {
            "cgroup" => v1 = true,
            "cgroup2" => v2_mount = Some(m.mount_point),
            _ => {}
        }
    }
    let dir = v2_mount.filter(|_| v1)?;
    let ctrls = std::fs::read_to_string(Path::new(&dir).join("cgroup.controllers")).ok()?;
    let v: Vec<String> = ctrls.split_whitespace().map(String::from).collect();
    (!v.is_empty()).then_some(v)
}

/// Runs `command args` with a time limit; (success, stdout + stderr).
fn output_within(command: &str, args: &[&str], limit: Duration) -> Result<(bool, String), String> {
    let mut child = Command::new(command)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                break;
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// One trial container (an empty root, a command that does not exist, a mount
/// namespace and a cgroup): `Ok` when the runtime got as far as executing the
/// command, `Err(what it said)` when it refused before.
pub fn trial_run(command: &str) -> Result<(), String> {
    let dir = tempfile::Builder::new()
        .prefix("oci-runtime-trial-")
        .tempdir()
        .map_err(|e| format!("a trial bundle: {e}"))?;
    let root = dir.path().join("root");
    std::fs::create_dir(&root).map_err(|e| format!("a trial root: {e}"))?;
    let missing = "/oci-runtime-trial-command";
    let id = format!("oci-runtime-trial-{}", std::process::id());
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": { "terminal": false, "user": { "uid": 0, "gid": 0 }, "args": [missing], "env": [super::config::PATH_ENV], "cwd": "/" },
        "root": { "path": root.display().to_string() },
        "mounts": [],
        "linux": { "namespaces": [{ "type": "mount" }], "cgroupsPath": id },
    });
    std::fs::write(dir.path().join("config.json"), config.to_string())
        .map_err(|e| format!("writing the trial config: {e}"))?;
    let bundle = dir.path().display().to_string();
    let r = output_within(command, &["run", "--bundle", &bundle, &id], Duration::from_secs(20));
    let _ = output_within(command, &["delete", "--force", &id], Duration::from_secs(10));
    let (ok, text) = r.map_err(|e| format!("`{command} run` could not be started: {e}"))?;
    let text = text.trim().to_string();
    if ok || text.contains(missing) {
        Ok(())
    } else {
        Err(text.lines().last().unwrap_or("no message").trim().to_string())
    }
}

/// Everything `command` (an OCI runtime, by name on PATH or by path) cannot provide
/// on this host.
pub fn unsupported(command: &str) -> Vec<(String, String)> {
    let name = runtime_name(command);
    let version = match output_within(command, &["--version"], Duration::from_secs(10)) {
        Ok((true, text)) => parse_version(&text),
        Ok((false, text)) => {
            return vec![(
                "*".into(),
                format!(
                    "`{command} --version` failed: {}",
                    text.trim().lines().last().unwrap_or("")
                ),
            )];
        }
        Err(e) if e.contains("No such file") => {
            return vec![(
                "*".into(),
                format!("{name} is not installed (`{command}` not found: {e})"),
            )];
        }
        Err(e) => return vec![("*".into(), format!("`{command} --version` could not be run: {e}"))],
    };
    if REFUSE_HYBRID.contains(&name.as_str()) && nix::unistd::geteuid().is_root() {
        if let Some(v2) = hybrid_v2_controllers() {
            if let Err(said) = trial_run(command) {
                let shown = version.map(|v| v.to_string()).unwrap_or_default();
                return vec![(
                    "*".into(),
                    format!(
                        "{name} {shown} refuses this cgroup v1 hybrid host (v1 controller hierarchies plus a cgroup2 \
                         mount holding {}): {said}",
                        v2.join(",")
                    ),
                )];
            }
        }
    }
    known_gaps(&name, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_version_texts() {
        let runc = "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\n";
        assert_eq!(parse_version(runc), Some(Version(1, 1, 5)));
        assert_eq!(
            parse_version("crun version 1.8.1\ncommit: f8a0\nrundir: /run/crun\n"),
            Some(Version(1, 8, 1))
        );
        assert_eq!(
            parse_version("youki version 0.3.3\ncommit: 0.3.3-0-g\n"),
            Some(Version(0, 3, 3))
        );
        assert_eq!(parse_version("runc version 1.2.0-rc.1"), Some(Version(1, 2, 0)));
        assert_eq!(parse_version("something else"), None);
    }

    #[test]
    fn names_are_file_names() {
        assert_eq!(runtime_name("runc"), "runc");
        assert_eq!(runtime_name("/usr/local/bin/youki"), "youki");
    }

    #[test]
    fn runc_1_1_lacks_the_time_namespace_and_device_denials() {
        let gaps = known_gaps("runc", Some(Version(1, 1, 5)));
        let opts: Vec<&str> = gaps.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(opts, ["--ns time", "--time-offset", "--deny-device"]);
        assert!(
            gaps[0].1.contains("runc 1.1.5") && gaps[0].1.contains("time namespace"),
            "{}",
            gaps[0].1
        );
        assert!(gaps[2].1.contains("/dev/null"));
        // 1.2 has time namespaces.
        let later: Vec<String> = known_gaps("runc", Some(Version(1, 2, 0)))
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        assert_eq!(later, ["--deny-device"]);
        // Other runtimes: nothing we know of.
        assert!(known_gaps("youki", Some(Version(0, 3, 3))).is_empty());
    }

    #[test]
    fn crun_1_8_lacks_clock_offsets_and_device_denials_as_runc_does() {
        let gaps = known_gaps("crun", Some(Version(1, 8, 1)));
        let opts: Vec<&str> = gaps.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(opts, ["--deny-device", "--time-offset"]);
        assert!(
            gaps[0].1.contains("crun 1.8.1") && gaps[0].1.contains("/dev/null"),
            "{}",
            gaps[0].1
        );
        assert!(gaps[1].1.contains("timeOffsets"), "{}", gaps[1].1);
    }

    #[test]
    fn a_missing_runtime_is_unsupported_as_a_whole() {
        let u = unsupported("/nonexistent/oci-runtime-xyz");
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].0, "*");
        assert!(u[0].1.contains("not installed"), "{}", u[0].1);
    }
}
