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

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use labkit::spec::{Namespace, RootFs, RunSpec};

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

/// The OCI namespace type of a contract namespace.
pub fn oci_namespace(n: Namespace) -> &'static str {
    match n {
        Namespace::Pid => "pid",
        Namespace::Uts => "uts",
        Namespace::Mnt => "mount",
        Namespace::Net => "network",
        Namespace::Ipc => "ipc",
        Namespace::User => "user",
        Namespace::Cgroup => "cgroup",
        Namespace::Time => "time",
    }
}

/// The requested namespaces, plus always a mount namespace (see the module notes).
pub fn namespaces(spec: &RunSpec) -> Vec<Value> {
    let mut v: Vec<Value> = spec.ns.0.iter().map(|n| json!({ "type": oci_namespace(*n) })).collect();
    if !spec.ns.has(Namespace::Mnt) {
        v.push(json!({ "type": "mount" }));
    }
    v
}

/// Without `--ns mnt` (and without `user`, whose root could not) the first process
/// re-enters the caller's mount namespace.
pub fn rejoins_caller_mounts(spec: &RunSpec) -> bool {
    !spec.ns.has(Namespace::Mnt) && !spec.ns.has(Namespace::User)
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

/// The mounts on top of the root the adapter prepared.
pub fn mounts(spec: &RunSpec) -> Vec<Value> {
    let pid = spec.ns.has(Namespace::Pid);
    let user = spec.ns.has(Namespace::User);
    let fresh_proc =
        json!({ "destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"] });
    // The host's /dev again, over the recursive bind of `/`: an OCI runtime then
    // creates no device nodes in it (in the host's devtmpfs).
    let host_dev = json!({ "destination": "/dev", "type": "bind", "source": "/dev", "options": ["rbind"] });
    match &spec.root {
        None if !spec.ns.has(Namespace::Mnt) => {
            // The caller's mounts (re-entered, or a private copy under `user`).
            vec![host_dev]
        }
        None => {
            let mut v = vec![host_dev];
            if pid {
                v.insert(0, fresh_proc);
            }
            v
        }
        Some(_) => {
            let mut v = vec![];
            if pid || !user {
                v.push(fresh_proc);
            } else {
                // A user namespace that does not own the PID namespace may not mount
                // a proc of it: the host's, bound.
                v.push(json!({ "destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"] }));
            }
            v.push(json!({ "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] }));
            v.push(json!({ "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] }));
            if spec.ns.has(Namespace::Ipc) {
                v.push(json!({ "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"] }));
            }
            v
        }
    }
}

/// `linux.resources`: always an allow-all device rule first; the limits only with
/// `--cgroup` (the contract refuses them without).
pub fn resources(spec: &RunSpec, cgroup_v2: bool) -> Value {
    let l = &spec.limits;
    let mut devices = vec![json!({ "allow": true, "access": "rwm" })];
    for d in &l.deny_devices {
        devices.push(json!({
            "allow": false,
            "type": d.kind.letter().to_string(),
            "major": d.major,
            "minor": d.minor,
            "access": "rwm",
        }));
    }
    let mut r = json!({ "devices": devices });
    if l.memory.is_some() || l.memory_low.is_some() {
        let mut mem = json!({});
        if let Some(m) = l.memory {
            // OCI `swap` is memory plus swap: equal to the limit, no swap at all.
            mem["limit"] = json!(m);
            mem["swap"] = json!(m);
            if !cgroup_v2 {
                mem["swappiness"] = json!(0);
            }
        }
        // runc and crun write `reservation` to v2 memory.low (v1: the soft limit).
        if let Some(low) = l.memory_low {
            mem["reservation"] = json!(low);
        }
        r["memory"] = mem;
    }
    if let Some(w) = l.cpu_weight {
        if cgroup_v2 {
            // OCI has only v1 shares, which runc and crun convert to a weight by
            // formulas that changed in 2025 (runc 1.3.2, crun 1.23) and do not keep
            // ratios: the weight goes in as it is, through `unified`.
            r["unified"] = json!({ "cpu.weight": w.to_string() });
        } else {
            r["cpu"] = json!({ "shares": labkit::cgroups::cpu_weight_to_shares(w) });
        }
    }
    if l.cpu.is_some() || l.cpuset.is_some() {
        let mut cpu = r.get("cpu").cloned().unwrap_or_else(|| json!({}));
        if let Some(c) = l.cpu {
            cpu["quota"] = json!(c.quota_us);
            cpu["period"] = json!(c.period_us);
        }
        if let Some(s) = &l.cpuset {
            cpu["cpus"] = json!(s);
        }
        r["cpu"] = cpu;
    }
    if let Some(p) = l.pids {
        r["pids"] = json!({ "limit": p });
    }
    if !l.io_wbps.is_empty() || !l.io_rbps.is_empty() || l.io_weight.is_some() {
        let rate = |v: &[labkit::cgroups::IoLimit]| -> Vec<Value> {
            v.iter()
                .map(|i| json!({ "major": i.major, "minor": i.minor, "rate": i.bps }))
                .collect()
        };
        let mut io = json!({});
        if !l.io_wbps.is_empty() {
            io["throttleWriteBpsDevice"] = json!(rate(&l.io_wbps));
        }
        if !l.io_rbps.is_empty() {
            io["throttleReadBpsDevice"] = json!(rate(&l.io_rbps));
        }
        // BFQ's scale, as OCI's: runc and crun write it to io.bfq.weight (v1
        // blkio.bfq.weight, or blkio.weight where CFQ's file exists).
        if let Some(w) = l.io_weight {
            io["weight"] = json!(w);
        }
        r["blockIO"] = io;
    }
    if let Some(id) = l.net_classid {
        r["network"] = json!({ "classID": id });
    }
    r
}

/// `linux.cgroupsPath`: NAME under LAB_CGROUP_PARENT. A relative path is relative
/// to the OCI runtime's own cgroup (runc), which is the caller's: the contract's
/// relative parent. Without `--cgroup` the runtime still makes one, named `id`.
pub fn cgroups_path(parent: Option<&str>, cgroup: Option<&str>, id: &str) -> String {
    let Some(name) = cgroup else {
        return id.to_string();
    };
    let parent = parent.unwrap_or("").trim();
    let parts: Vec<&str> = parent
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .chain([name])
        .collect();
    format!("{}{}", if parent.starts_with('/') { "/" } else { "" }, parts.join("/"))
}

/// The overlay mount options: `lowerdir=` top-most first, then `upperdir=`,
/// `workdir=`; `volatile`, and `metacopy=on` where the kernel has it.
pub fn overlay_options(layers: &[PathBuf], upper: &Path, work: &Path, metacopy: bool) -> Result<String, String> {
    let esc = |flag: &str, p: &Path| -> Result<String, String> {
        let s = p.to_str().ok_or_else(|| format!("{flag} {}: not UTF-8", p.display()))?;
        if s.contains([',', ':', '\\']) {
            return Err(format!(
                "{flag} {s}: paths holding ',', ':' or '\\' cannot be passed to overlay"
            ));
        }
        Ok(s.to_string())
    };
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|l| esc("--layer", l))
        .collect::<Result<_, _>>()?;
    let mut o = format!(
        "lowerdir={},upperdir={},workdir={},volatile",
        lower.join(":"),
        esc("--upper", upper)?,
        esc("--work", work)?
    );
    if metacopy {
        o.push_str(",metacopy=on");
    }
    Ok(o)
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

/// The root the adapter prepares on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// No root file system asked for: the caller's `/`, recursively bound.
    Host,
    Dir(PathBuf),
    Overlay(String),
}

pub fn root_source(spec: &RunSpec, metacopy: bool) -> Result<RootSource, String> {
    Ok(match &spec.root {
        None => RootSource::Host,
        Some(RootFs::Dir(d)) => RootSource::Dir(d.clone()),
        Some(RootFs::Overlay { layers, upper, work }) => {
            RootSource::Overlay(overlay_options(layers, upper, work, metacopy)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(args: &[&str]) -> RunSpec {
        let a: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse_run(&a).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn plan() -> Plan {
        Plan {
            root: "/run/oci-runtime/c1/root".into(),
            adapter: "/bin/oci-runtime".into(),
            cgroups_path: "lab/c1".into(),
            cgroup_v2: false,
            cap_mask: u64::MAX,
        }
    }

    fn types(v: &Value) -> Vec<String> {
        v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn memory_limit_turns_swap_off() {
        let c = config(
            &spec(&["--cgroup", "c1", "--memory", "32M", "--", "/bin/true"]),
            &plan(),
        );
        let m = &c["linux"]["resources"]["memory"];
        assert_eq!(m["limit"], 33554432);
        assert_eq!(m["swap"], 33554432);
        assert_eq!(m["swappiness"], 0);
        // v2 has no swappiness; memory.swap.max = 0 follows from swap == limit.
        let v2 = resources(&spec(&["--cgroup", "c1", "--memory", "32M", "--", "/bin/true"]), true);
        assert_eq!(v2["memory"], json!({ "limit": 33554432u64, "swap": 33554432u64 }));
    }

    #[test]
    fn deny_device_follows_an_allow_all() {
        let r = resources(
            &spec(&[
                "--cgroup",
                "c1",
                "--deny-device",
                "c:1:3",
                "--deny-device",
                "b:7:0",
                "--",
                "/bin/true",
            ]),
            false,
        );
        assert_eq!(
            r["devices"],
            json!([
                { "allow": true, "access": "rwm" },
                { "allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm" },
                { "allow": false, "type": "b", "major": 7, "minor": 0, "access": "rwm" },
            ])
        );
        // Without any limit every device stays allowed.
        assert_eq!(
            resources(&spec(&["--", "/bin/true"]), false),
            json!({ "devices": [{ "allow": true, "access": "rwm" }] })
        );
    }

    #[test]
    fn cpu_quota_period_and_cpuset() {
        let r = resources(
            &spec(&[
                "--cgroup",
                "c1",
                "--cpus",
                "20000/100000",
                "--cpuset",
                "0-1",
                "--",
                "/bin/true",
            ]),
            false,
        );
        assert_eq!(r["cpu"], json!({ "quota": 20000, "period": 100000, "cpus": "0-1" }));
    }

    #[test]
    fn weight_goes_in_as_shares_on_v1_and_unified_on_v2() {
        let args = [
            "--cgroup",
            "c1",
            "--cpu-weight",
            "500",
            "--cpus",
            "20000/100000",
            "--",
            "/bin/true",
        ];
        let v1 = resources(&spec(&args), false);
        assert_eq!(v1["cpu"], json!({ "shares": 5120, "quota": 20000, "period": 100000 }));
        assert!(v1.get("unified").is_none());
        let v2 = resources(&spec(&args), true);
        assert_eq!(v2["unified"], json!({ "cpu.weight": "500" }));
        assert_eq!(v2["cpu"], json!({ "quota": 20000, "period": 100000 }));
    }

    #[test]
    fn memory_low_is_the_reservation() {
        let r = resources(
            &spec(&["--cgroup", "c1", "--memory-low", "64M", "--", "/bin/true"]),
            true,
        );
        assert_eq!(r["memory"], json!({ "reservation": 64u64 << 20 }));
        let r = resources(
            &spec(&[
                "--cgroup",
                "c1",
                "--memory-low",
                "1M",
                "--memory",
                "2M",
                "--",
                "/bin/true",
            ]),
            false,
        );
        assert_eq!(
            r["memory"],
            json!({ "reservation": 1u64 << 20, "limit": 2u64 << 20, "swap": 2u64 << 20, "swappiness": 0 })
        );
    }

    #[test]
    fn pids_io_and_classid() {
        let r = resources(
            &spec(&[
                "--cgroup",
                "c1",
                "--pids",
                "16",
                "--io-wbps",
                "7:0:1M",
                "--io-rbps",
                "8:0:512K",
                "--io-wbps",
                "8:16:2048",
                "--io-weight",
                "500",
                "--net-classid",
                "0x100001",
                "--",
                "/bin/true",
            ]),
            false,
        );
        assert_eq!(r["pids"], json!({ "limit": 16 }));
        assert_eq!(
            r["blockIO"],
            json!({
                "throttleWriteBpsDevice": [{ "major": 7, "minor": 0, "rate": 1048576 }, { "major": 8, "minor": 16, "rate": 2048 }],
                "throttleReadBpsDevice": [{ "major": 8, "minor": 0, "rate": 524288 }],
                "weight": 500,
            })
        );
        assert_eq!(r["network"], json!({ "classID": 0x100001 }));
    }

    #[test]
    fn namespaces_are_opt_in_plus_a_mount_namespace() {
        let c = config(&spec(&["--ns", "pid,uts,net,ipc,cgroup", "--", "/bin/true"]), &plan());
        assert_eq!(types(&c), ["pid", "uts", "network", "ipc", "cgroup", "mount"]);
        let c = config(
            &spec(&[
                "--ns",
                "mnt,user",
                "--uid-map",
                "0:100000:65536",
                "--gid-map",
                "0:100000:65536",
                "--",
                "/bin/true",
            ]),
            &plan(),
        );
        assert_eq!(types(&c), ["mount", "user"]);
        let c = config(&spec(&["--", "/bin/true"]), &plan());
        assert_eq!(types(&c), ["mount"]);
        let c = config(
            &spec(&[
                "--ns",
                "time",
                "--time-offset",
                "monotonic=86400,boottime=-60",
                "--",
                "/bin/true",
            ]),
            &plan(),
        );
        assert_eq!(types(&c), ["time", "mount"]);
        assert_eq!(c["linux"]["timeOffsets"]["monotonic"]["secs"], 86400);
        assert_eq!(c["linux"]["timeOffsets"]["boottime"]["secs"], -60);
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
    fn mounts_follow_the_root() {
        let dests = |s: &RunSpec| -> Vec<(String, String)> {
            mounts(s)
                .iter()
                .map(|m| {
                    (
                        m["destination"].as_str().unwrap().into(),
                        m["type"].as_str().unwrap().into(),
                    )
                })
                .collect()
        };
        let d = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
        };
        assert_eq!(dests(&spec(&["--", "/x"])), d(&[("/dev", "bind")]));
        assert_eq!(dests(&spec(&["--ns", "mnt", "--", "/x"])), d(&[("/dev", "bind")]));
        assert_eq!(
            dests(&spec(&["--ns", "pid,mnt", "--", "/x"])),
            d(&[("/proc", "proc"), ("/dev", "bind")])
        );
        let dir = std::env::temp_dir();
        let r = dir.to_str().unwrap();
        assert_eq!(
            dests(&spec(&["--ns", "mnt,ipc", "--rootfs", r, "--", "/x"])),
            d(&[
                ("/proc", "proc"),
                ("/dev", "tmpfs"),
                ("/dev/shm", "tmpfs"),
                ("/dev/mqueue", "mqueue")
            ])
        );
        assert_eq!(
            dests(&spec(&[
                "--ns",
                "mnt,user",
                "--uid-map",
                "0:1000:10",
                "--gid-map",
                "0:1000:10",
                "--rootfs",
                r,
                "--",
                "/x"
            ])),
            d(&[("/proc", "bind"), ("/dev", "tmpfs"), ("/dev/shm", "tmpfs")])
        );
    }

    #[test]
    fn cgroup_path_is_name_under_the_parent() {
        assert_eq!(cgroups_path(Some("lab-check-1"), Some("c1"), "id"), "lab-check-1/c1");
        assert_eq!(cgroups_path(Some("/lab//x/"), Some("c1"), "id"), "/lab/x/c1");
        assert_eq!(cgroups_path(Some("./a"), Some("c1"), "id"), "a/c1");
        assert_eq!(cgroups_path(Some("/"), Some("c1"), "id"), "/c1");
        assert_eq!(cgroups_path(None, Some("c1"), "id"), "c1");
        assert_eq!(cgroups_path(Some("lab"), None, "lab-oci-1"), "lab-oci-1");
    }

    #[test]
    fn overlay_lists_layers_top_most_first() {
        let o = overlay_options(
            &["/l/base".into(), "/l/app".into()],
            Path::new("/u"),
            Path::new("/w"),
            true,
        )
        .unwrap();
        assert_eq!(o, "lowerdir=/l/app:/l/base,upperdir=/u,workdir=/w,volatile,metacopy=on");
        let o = overlay_options(&["/l/base".into()], Path::new("/u"), Path::new("/w"), false).unwrap();
        assert_eq!(o, "lowerdir=/l/base,upperdir=/u,workdir=/w,volatile");
        let e = overlay_options(&["/l/a,b".into()], Path::new("/u"), Path::new("/w"), false).unwrap_err();
        assert!(e.contains("--layer"), "{e}");
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
