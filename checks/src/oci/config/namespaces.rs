//! The container's namespaces: those asked for, plus always a mount namespace (see
//! the module notes of [`super`]).

use serde_json::{json, Value};

use labkit::spec::{Namespace, RunSpec};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::config::config;
    use crate::oci::config::tests::{plan, spec};

    fn types(v: &Value) -> Vec<String> {
        v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap().to_string())
            .collect()
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
}
