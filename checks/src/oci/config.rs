//! The contract's `run` options turned into an OCI `config.json`: pure functions,
//! no I/O (the adapter binary does the mounts, the hooks and the runtime calls).
//!
//! Choices, and why (each one is what a check observes):
//!
//! - **A mount namespace always.** An OCI runtime sets up the root (recursive bind of
//!   the root onto itself, `/proc`, device nodes) in whatever mount namespace the
//!   container gets; without one of its own that is the caller's, and runc then
//!   stacks a bind of the root over the host's `/` (seen on runc 1.1.5). So the
//!   container always gets one, and without `--ns mnt` the container's first
//!   process re-enters the caller's mount namespace (`setns` on an inherited
//!   descriptor) before the command runs — unless a user namespace was asked for,
//!   whose root has no privilege over the caller's mount namespace: then the
//!   container keeps a private copy of the caller's mount table.
//! - **The root is always a mount the adapter made** in a private mount namespace of
//!   its own (`bundle/root`): a recursive bind of `/` (no root file system asked for:
//!   `pivot_root` cannot enter the root it already is), of `--rootfs DIR`, or the
//!   overlay of the layers. The bundle directory is traversable (0711), so the root
//!   of a user namespace reaches it even when DIR sits in a 0700 directory.
//! - **A privileged container**: uid 0, every capability the adapter itself holds
//!   (its bounding set, as bounding, effective and permitted set), `noNewPrivileges`
//!   false, no seccomp, no AppArmor/SELinux label, a writable root. The checks
//!   mount (`CAP_SYS_ADMIN`), chroot (`CAP_SYS_CHROOT`), signal, bind ports and make
//!   IPC objects inside; a default `runc spec` set (three capabilities, a read-only
//!   root) would break those observations rather than the isolation under test.
//!   The masked and read-only `/proc` paths are the contract's (1.2: with a root
//!   file system only, as `maskedPaths` and `readonlyPaths`).
//! - **Devices**: one allow-all rule first (the contract restricts nothing unless
//!   asked), then a deny rule per `--deny-device`. runc appends its own default
//!   allow rules after these (see `support`).
//! - **The first process is the adapter itself** (`/proc/self/fd/3`, an inherited
//!   descriptor of the adapter binary, so it needs no file in the root): as PID 1 of
//!   a PID namespace it is the contract's init (reaps orphans, forwards SIGTERM,
//!   SIGINT and SIGHUP, exits with the command's status; it resets `ns_last_pid` so
//!   the command is PID 2, not the PID after the OCI runtime's threads); otherwise it
//!   only executes the command. Either way it reports 126/127 for a command that cannot be
//!   executed, as the contract words them.
//! - **`--pid-file` and `--veth`** are done by a `createRuntime` hook that executes the
//!   adapter (`__hook`): it runs on the host once the container's namespaces exist
//!   and before the command runs, and gets the container's pid on stdin.

mod cgroup;
mod namespaces;
mod process;
mod rootfs;

use std::ffi::OsString;
use std::path::PathBuf;

use serde_json::{json, Value};

use labkit::spec::{Namespace, RunSpec};

pub use cgroup::{cgroups_path, resources};
pub use namespaces::{namespaces, oci_namespace, rejoins_caller_mounts};
pub use process::{bounding_mask, capabilities_in, hooks, preserved_fds, process_args};
pub use rootfs::{mounts, overlay_options, root_source, RootSource};

/// Descriptors the container's first process inherits (`--preserve-fds`).
pub const SELF_FD: i32 = 3;
/// Write end of a pipe: the first process writes one byte to it just before it
/// executes the command (or forks it), so the adapter can tell the container's own
/// exit status from a runtime failure.
pub const STARTED_FD: i32 = 4;
/// The caller's mount namespace, to re-enter without `--ns mnt`.
pub const MOUNT_NS_FD: i32 = 5;

/// The hidden subcommands of the adapter binary.
pub const INIT_SUBCOMMAND: &str = "__init";
pub const HOOK_SUBCOMMAND: &str = "__hook";

pub const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Every capability of Linux 5.9+ (CAP_CHOWN .. CAP_CHECKPOINT_RESTORE), as a
/// privileged container has them.
pub use labkit::caps::CAP_NAMES as CAPABILITIES;

/// Parses `run`'s arguments (after `run`) as the contract defines them, with the
/// reference runtime's own parser (labkit::contract), and checks the cross-flag rules.
/// `Err` is the text for a `runtime error:` line.
pub fn parse_run(args: &[OsString]) -> Result<RunSpec, String> {
    let spec = labkit::contract::parse_run(args)?;
    spec.validate().map_err(|e| e.to_string())?;
    // OCI runtimes take directories: the adapter unpacks layer tarballs itself,
    // into the store the contract names, as the reference runtime does.
    spec.resolve_layer_tars(labkit::layers::Unpack::default())
        .map_err(|e| e.to_string())
}

/// What the adapter prepared for one container, besides the options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The root on the host (the mount the adapter made in its own namespace).
    pub root: PathBuf,
    /// The adapter binary, for the hook.
    pub adapter: PathBuf,
    pub cgroups_path: String,
    pub cgroup_v2: bool,
    /// The adapter's own bounding set (`CapBnd`): the container gets all of it.
    pub cap_mask: u64,
}

/// The whole `config.json`.
pub fn config(spec: &RunSpec, plan: &Plan) -> Value {
    let caps = json!(capabilities_in(plan.cap_mask));
    let mut linux = json!({
        "namespaces": namespaces(spec),
        "cgroupsPath": plan.cgroups_path,
        "resources": resources(spec, plan.cgroup_v2),
        "rootfsPropagation": "rprivate",
    });
    let map = |m: &[labkit::spec::IdMap]| -> Vec<Value> {
        m.iter()
            .map(|m| json!({ "containerID": m.inside, "hostID": m.outside, "size": m.count }))
            .collect()
    };
    if spec.ns.has(Namespace::User) {
        linux["uidMappings"] = json!(map(&spec.uid_maps));
        linux["gidMappings"] = json!(map(&spec.gid_maps));
    }
    if spec.root.is_some() {
        use labkit::contract::{MASKED_PROC_DIRS, MASKED_PROC_FILES, MASKED_SYS_DIRS, READ_ONLY_PROC};
        let under = |dir: &str, names: &[&str]| names.iter().map(|n| format!("/{dir}/{n}")).collect::<Vec<_>>();
        let mut masked = under("proc", &MASKED_PROC_FILES);
        masked.extend(under("proc", &MASKED_PROC_DIRS));
        masked.extend(under("sys", &MASKED_SYS_DIRS));
        linux["maskedPaths"] = json!(masked);
        linux["readonlyPaths"] = json!(under("proc", &READ_ONLY_PROC));
    }
    if let Some(t) = spec.time_offsets {
        linux["timeOffsets"] = json!({
            "monotonic": { "secs": t.monotonic, "nanosecs": 0 },
            "boottime": { "secs": t.boottime, "nanosecs": 0 },
        });
    }
    let mut c = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": process_args(spec),
            "env": [PATH_ENV],
            "cwd": "/",
            "capabilities": { "bounding": caps, "effective": caps, "permitted": caps },
            "noNewPrivileges": false,
        },
        "root": { "path": plan.root.display().to_string(), "readonly": false },
        "mounts": mounts(spec),
        "linux": linux,
    });
    if let Some(h) = &spec.hostname {
        c["hostname"] = json!(h);
    }
    if let Some(h) = hooks(spec, &plan.adapter) {
        c["hooks"] = h;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn spec(args: &[&str]) -> RunSpec {
        let a: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse_run(&a).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    pub(super) fn plan() -> Plan {
        Plan {
            root: "/run/oci-runtime/c1/root".into(),
            adapter: "/bin/oci-runtime".into(),
            cgroups_path: "lab/c1".into(),
            cgroup_v2: false,
            cap_mask: u64::MAX,
        }
    }

    #[test]
    fn id_maps_become_mappings() {
        let c = config(
            &spec(&[
                "--ns",
                "user",
                "--uid-map",
                "0:100000:65536",
                "--uid-map",
                "70000:300000:1",
                "--gid-map",
                "0:200000:10",
                "--",
                "/bin/true",
            ]),
            &plan(),
        );
        assert_eq!(
            c["linux"]["uidMappings"],
            json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }, { "containerID": 70000, "hostID": 300000, "size": 1 }])
        );
        assert_eq!(
            c["linux"]["gidMappings"],
            json!([{ "containerID": 0, "hostID": 200000, "size": 10 }])
        );
        assert!(config(&spec(&["--", "/bin/true"]), &plan())["linux"]
            .get("uidMappings")
            .is_none());
    }

    #[test]
    fn masked_and_read_only_paths_with_a_root_file_system() {
        let dir = std::env::temp_dir();
        let c = config(
            &spec(&["--ns", "mnt", "--rootfs", dir.to_str().unwrap(), "--", "/bin/true"]),
            &plan(),
        );
        let masked = c["linux"]["maskedPaths"].as_array().unwrap();
        for p in ["/proc/kcore", "/proc/keys", "/proc/acpi", "/sys/firmware"] {
            assert!(masked.contains(&json!(p)), "{p} not masked: {masked:?}");
        }
        let ro = c["linux"]["readonlyPaths"].as_array().unwrap();
        for p in ["/proc/sysrq-trigger", "/proc/sys"] {
            assert!(ro.contains(&json!(p)), "{p} not read-only: {ro:?}");
        }
    }

    #[test]
    fn hostname_only_when_given() {
        let c = config(&spec(&["--ns", "uts", "--hostname", "box", "--", "/bin/true"]), &plan());
        assert_eq!(c["hostname"], "box");
        assert!(config(&spec(&["--ns", "uts", "--", "/bin/true"]), &plan())
            .get("hostname")
            .is_none());
    }

    #[test]
    fn a_privileged_process_without_a_terminal() {
        let c = config(&spec(&["--", "/bin/probe", "facts"]), &plan());
        let p = &c["process"];
        assert_eq!(p["terminal"], false);
        assert_eq!(p["user"], json!({ "uid": 0, "gid": 0 }));
        assert_eq!(p["noNewPrivileges"], false);
        for set in ["bounding", "effective", "permitted"] {
            let caps = p["capabilities"][set].as_array().unwrap();
            for needed in [
                "CAP_SYS_ADMIN",
                "CAP_NET_ADMIN",
                "CAP_SYS_TIME",
                "CAP_SYS_CHROOT",
                "CAP_KILL",
            ] {
                assert!(caps.contains(&json!(needed)), "{set} lacks {needed}");
            }
        }
        assert!(c["linux"].get("seccomp").is_none());
        // No root file system: nothing masked (contract 1.2 masks with one).
        assert!(c["linux"].get("maskedPaths").is_none());
        assert!(c["linux"].get("readonlyPaths").is_none());
        assert_eq!(
            c["root"],
            json!({ "path": "/run/oci-runtime/c1/root", "readonly": false })
        );
        assert_eq!(c["linux"]["cgroupsPath"], "lab/c1");
    }

    #[test]
    fn contract_errors_name_the_flag() {
        let e = parse_run(&["--memory".into(), "lots".into(), "--".into(), "/x".into()]).unwrap_err();
        assert!(e.contains("--memory"), "{e}");
        let e = parse_run(&["--hostname".into(), "box".into(), "--".into(), "/x".into()]).unwrap_err();
        assert!(e.contains("--hostname") && e.contains("--ns uts"), "{e}");
        let e = parse_run(&["--pids".into(), "3".into(), "--".into(), "/x".into()]).unwrap_err();
        assert!(e.contains("--cgroup"), "{e}");
    }
}
