//! What the adapter executes around the container: the first process (the adapter
//! as init or exec wrapper, with every capability of its bounding set) and the
//! `createRuntime` hook.

use std::path::Path;

use serde_json::{json, Value};

use labkit::spec::{Namespace, RunSpec};

use super::{
    rejoins_caller_mounts, CAPABILITIES, HOOK_SUBCOMMAND, INIT_SUBCOMMAND, MOUNT_NS_FD, PATH_ENV, SELF_FD, STARTED_FD,
};

/// The capabilities of `CAPABILITIES` whose bit is set in `mask` (a `CapBnd` of
/// /proc/PID/status): a privileged container gets what its runtime may hand out.
pub fn capabilities_in(mask: u64) -> Vec<&'static str> {
    CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// The `CapBnd` mask of a /proc/PID/status text.
pub fn bounding_mask(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// The container's first process: the adapter as init (with `pid`) or as a plain
/// exec wrapper, then `--`, then COMMAND.
pub fn process_args(spec: &RunSpec) -> Vec<String> {
    let mut a = vec![format!("/proc/self/fd/{SELF_FD}"), INIT_SUBCOMMAND.to_string()];
    if spec.ns.has(Namespace::Pid) {
        a.push("--pid1".into());
    }
    if rejoins_caller_mounts(spec) {
        a.extend(["--rejoin-mnt".into(), MOUNT_NS_FD.to_string()]);
    }
    a.extend([
        "--started".into(),
        STARTED_FD.to_string(),
        "--self".into(),
        SELF_FD.to_string(),
        "--".into(),
    ]);
    a.extend(spec.command.iter().map(|c| c.to_string_lossy().into_owned()));
    a
}

/// How many descriptors from 3 on `runc run --preserve-fds` passes.
pub fn preserved_fds(spec: &RunSpec) -> i32 {
    if rejoins_caller_mounts(spec) {
        MOUNT_NS_FD - 2
    } else {
        STARTED_FD - 2
    }
}

/// The `createRuntime` hook (pid file, veth), when one is needed.
pub fn hooks(spec: &RunSpec, adapter: &Path) -> Option<Value> {
    let mut args = vec!["oci-runtime".to_string(), HOOK_SUBCOMMAND.to_string()];
    if let Some(p) = &spec.pid_file {
        args.extend(["--pid-file".into(), p.display().to_string()]);
    }
    if let Some(v) = &spec.veth {
        args.extend([
            "--veth".into(),
            format!("{}={},{}={}", v.host_if, v.host_addr, v.cont_if, v.cont_addr),
        ]);
    }
    if args.len() == 2 {
        return None;
    }
    Some(
        json!({ "createRuntime": [{ "path": adapter.display().to_string(), "args": args, "env": [PATH_ENV], "timeout": 30 }] }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::config::config;
    use crate::oci::config::tests::{plan, spec};

    #[test]
    fn capabilities_are_those_of_the_bounding_set() {
        // A host whose bounding set lacks CAP_SYS_RESOURCE (bit 24).
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\n";
        let mask = bounding_mask(status).unwrap();
        assert_eq!(mask, 0x1fffeffffff);
        let caps = capabilities_in(mask);
        assert_eq!(caps.len(), 40);
        assert!(
            !caps.contains(&"CAP_SYS_RESOURCE")
                && caps.contains(&"CAP_SYS_ADMIN")
                && caps.contains(&"CAP_CHECKPOINT_RESTORE")
        );
        assert_eq!(capabilities_in(u64::MAX).len(), CAPABILITIES.len());
        assert_eq!(CAPABILITIES[21], "CAP_SYS_ADMIN");
        assert_eq!(CAPABILITIES[40], "CAP_CHECKPOINT_RESTORE");
    }

    #[test]
    fn first_process_is_the_adapter_then_the_command() {
        let c = config(&spec(&["--ns", "pid,mnt", "--", "/bin/probe", "facts", "--x"]), &plan());
        assert_eq!(
            c["process"]["args"],
            json!([
                "/proc/self/fd/3",
                "__init",
                "--pid1",
                "--started",
                "4",
                "--self",
                "3",
                "--",
                "/bin/probe",
                "facts",
                "--x"
            ])
        );
        // Without mnt (and without user) it re-enters the caller's mount namespace.
        let s = spec(&["--cgroup", "c1", "--", "/bin/probe"]);
        assert_eq!(
            process_args(&s),
            [
                "/proc/self/fd/3",
                "__init",
                "--rejoin-mnt",
                "5",
                "--started",
                "4",
                "--self",
                "3",
                "--",
                "/bin/probe"
            ]
        );
        assert_eq!(preserved_fds(&s), 3);
        let s = spec(&[
            "--ns",
            "user",
            "--uid-map",
            "0:1000:1",
            "--gid-map",
            "0:1000:1",
            "--",
            "/bin/probe",
        ]);
        assert!(!rejoins_caller_mounts(&s));
        assert_eq!(preserved_fds(&s), 2);
    }

    #[test]
    fn hooks_carry_the_pid_file_and_the_veth() {
        assert!(hooks(&spec(&["--", "/x"]), Path::new("/a")).is_none());
        let h = hooks(
            &spec(&[
                "--ns",
                "net",
                "--veth",
                "lab0=10.200.0.1/24,eth0=10.200.0.2/24",
                "--pid-file",
                "/tmp/c.pid",
                "--",
                "/x",
            ]),
            Path::new("/bin/oci-runtime"),
        )
        .unwrap();
        let hook = &h["createRuntime"][0];
        assert_eq!(hook["path"], "/bin/oci-runtime");
        assert_eq!(
            hook["args"],
            json!([
                "oci-runtime",
                "__hook",
                "--pid-file",
                "/tmp/c.pid",
                "--veth",
                "lab0=10.200.0.1/24,eth0=10.200.0.2/24"
            ])
        );
    }
}
