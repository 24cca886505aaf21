//! Test-only faults: each disables exactly one isolation step, so the test suite
//! can prove that some check catches its absence (the mutation matrix in
//! checks/tests/mutations.rs). Enabled only through the environment variable
//! `HARNESS_TEST_FAULT` (a comma list), which the tests set; never by default.
//! An unknown name is a runtime error, so a typo cannot pass for a fault.

/// The environment variable naming the faults to inject.
pub const ENV: &str = "HARNESS_TEST_FAULT";

/// Every fault, with the isolation step it removes.
pub const FAULTS: &[(&str, &str)] = &[
    ("no-pid-ns", "the PID namespace is not created"),
    ("no-fresh-proc", "a PID namespace, but the host's /proc instead of a fresh one"),
    ("chroot-not-pivot", "chroot into the root instead of pivot_root and detaching the old root"),
    ("hostname-outside-uts", "the hostname is set without a UTS namespace"),
    ("memory-not-written", "the memory limit is not written"),
    ("limit-wrong-cgroup", "the container joins the parent cgroup instead of its own"),
    ("overlay-as-bind", "the top layer is bind-mounted instead of an overlay"),
    ("upper-readonly", "the overlay is mounted read-only"),
    ("no-uid-map", "the uid and gid maps are not written"),
    ("veth-down", "the container end of the veth pair is left down"),
    ("freezer-noop", "pause reports success without freezing"),
    ("no-device-rule", "device deny rules are not applied"),
    ("default-hostname", "a UTS namespace without --hostname is named \"container\" anyway"),
    (
        "cgroup-outside-parent",
        "the cgroup is made at the hierarchy's root (v1: the cpu hierarchy) instead of under LAB_CGROUP_PARENT, and left there",
    ),
];

/// The faults named in the environment; an unknown name is an error.
pub fn configured() -> Result<Vec<&'static str>, String> {
    let Ok(v) = std::env::var(ENV) else { return Ok(Vec::new()) };
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            FAULTS
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(f, _)| *f)
                .ok_or_else(|| format!("{ENV}: unknown fault {name:?}"))
        })
        .collect()
}

/// The environment variable that makes the reference runtime stricter than the
/// contract asks (the strict fixture of checks/tests): every capability dropped
/// before exec, /proc read-only in a mount namespace of its own. Not a fault: a
/// stricter runtime must lose no point for it.
pub const STRICT_ENV: &str = "HARNESS_TEST_STRICT";

/// Whether this run is the strict variant.
pub fn strict() -> bool {
    std::env::var_os(STRICT_ENV).is_some_and(|v| v == "1")
}

/// Whether `name` is injected in this run.
pub fn active(name: &str) -> bool {
    debug_assert!(FAULTS.iter().any(|(f, _)| *f == name), "unknown fault {name}");
    std::env::var(ENV).map_or(false, |v| v.split(',').any(|f| f.trim() == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[serial_test::serial(fault_env)]
    fn faults_are_off_unless_named() {
        std::env::remove_var(ENV);
        assert!(!active("no-pid-ns"));
        assert_eq!(configured().unwrap(), Vec::<&str>::new());
        std::env::set_var(ENV, "no-pid-ns,veth-down");
        assert!(active("no-pid-ns") && active("veth-down") && !active("freezer-noop"));
        std::env::set_var(ENV, "no-such-fault");
        assert!(configured().unwrap_err().contains("no-such-fault"));
        std::env::remove_var(ENV);
    }
}
