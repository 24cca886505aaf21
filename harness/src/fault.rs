//! Test-only faults: each disables exactly one isolation step, so the test suite
//! can prove that some check catches its absence (the mutation matrix in
//! checks/tests/mutations.rs). Compiled only with the cargo feature `faults`,
//! which the mutation tests build (`cargo build -p harness --features faults`);
//! without it [`active`] and [`strict`] are constant `false`, every faulty branch
//! is dead code, and neither the names nor the environment variables are in the
//! binary. With it, a fault is injected only through the environment variable
//! `HARNESS_TEST_FAULT` (a comma list), never by default; an unknown name is a
//! runtime error, so a typo cannot pass for a fault. Call sites name a variant of
//! [`Fault`], so a misspelt fault does not compile.

/// Every fault: one isolation step the reference runtime leaves out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    NoPidNs,
    NoFreshProc,
    ChrootNotPivot,
    HostnameOutsideUts,
    MemoryNotWritten,
    LimitWrongCgroup,
    OverlayAsBind,
    UpperReadonly,
    NoUidMap,
    VethDown,
    FreezerNoop,
    NoDeviceRule,
    DefaultHostname,
    CgroupOutsideParent,
    CpuWeightIgnored,
    MemoryLowIgnored,
    FdsLeaked,
    SignalsNotForwarded,
    SignalStatusLost,
    LayersCopied,
    TarWhiteoutsKept,
    LayersUnpackedEachTime,
    NoUserNs,
    PathsUnmasked,
    HostDev,
    SwapAllowed,
    IoWeightIgnored,
    StatsWithoutLimits,
    NoMetacopy,
    UserNsLayersRefused,
}

#[cfg(feature = "faults")]
pub use imp::*;

#[cfg(feature = "faults")]
mod imp {
    use super::Fault;

    /// The environment variable naming the faults to inject.
    pub const ENV: &str = "HARNESS_TEST_FAULT";

    /// The environment variable that makes the reference runtime stricter than the
    /// contract asks (the strict fixture of checks/tests): every capability dropped
    /// before exec, /proc read-only in a mount namespace of its own. Not a fault: a
    /// stricter runtime must lose no point for it.
    pub const STRICT_ENV: &str = "HARNESS_TEST_STRICT";

    /// Every fault, in the order of the README's matrix.
    pub const ALL: [Fault; 30] = [
        Fault::NoPidNs,
        Fault::NoFreshProc,
        Fault::ChrootNotPivot,
        Fault::HostnameOutsideUts,
        Fault::MemoryNotWritten,
        Fault::LimitWrongCgroup,
        Fault::OverlayAsBind,
        Fault::UpperReadonly,
        Fault::NoUidMap,
        Fault::VethDown,
        Fault::FreezerNoop,
        Fault::NoDeviceRule,
        Fault::DefaultHostname,
        Fault::CgroupOutsideParent,
        Fault::CpuWeightIgnored,
        Fault::MemoryLowIgnored,
        Fault::FdsLeaked,
        Fault::SignalsNotForwarded,
        Fault::SignalStatusLost,
        Fault::LayersCopied,
        Fault::TarWhiteoutsKept,
        Fault::LayersUnpackedEachTime,
        Fault::NoUserNs,
        Fault::PathsUnmasked,
        Fault::HostDev,
        Fault::SwapAllowed,
        Fault::IoWeightIgnored,
        Fault::StatsWithoutLimits,
        Fault::NoMetacopy,
        Fault::UserNsLayersRefused,
    ];

    impl Fault {
        /// The name `HARNESS_TEST_FAULT` takes.
        pub fn name(self) -> &'static str {
            match self {
                Fault::NoPidNs => "no-pid-ns",
                Fault::NoFreshProc => "no-fresh-proc",
                Fault::ChrootNotPivot => "chroot-not-pivot",
                Fault::HostnameOutsideUts => "hostname-outside-uts",
                Fault::MemoryNotWritten => "memory-not-written",
                Fault::LimitWrongCgroup => "limit-wrong-cgroup",
                Fault::OverlayAsBind => "overlay-as-bind",
                Fault::UpperReadonly => "upper-readonly",
                Fault::NoUidMap => "no-uid-map",
                Fault::VethDown => "veth-down",
                Fault::FreezerNoop => "freezer-noop",
                Fault::NoDeviceRule => "no-device-rule",
                Fault::DefaultHostname => "default-hostname",
                Fault::CgroupOutsideParent => "cgroup-outside-parent",
                Fault::CpuWeightIgnored => "cpu-weight-ignored",
                Fault::MemoryLowIgnored => "memory-low-ignored",
                Fault::FdsLeaked => "fds-leaked",
                Fault::SignalsNotForwarded => "signals-not-forwarded",
                Fault::SignalStatusLost => "signal-status-lost",
                Fault::LayersCopied => "layers-copied",
                Fault::TarWhiteoutsKept => "tar-whiteouts-kept",
                Fault::LayersUnpackedEachTime => "layers-unpacked-each-time",
                Fault::NoUserNs => "no-user-ns",
                Fault::PathsUnmasked => "paths-unmasked",
                Fault::HostDev => "host-dev",
                Fault::SwapAllowed => "swap-allowed",
                Fault::IoWeightIgnored => "io-weight-ignored",
                Fault::StatsWithoutLimits => "stats-without-limits",
                Fault::NoMetacopy => "no-metacopy",
                Fault::UserNsLayersRefused => "user-ns-layers-refused",
            }
        }

        /// The isolation step it removes.
        pub fn what(self) -> &'static str {
            match self {
                Fault::NoPidNs => "the PID namespace is not created",
                Fault::NoFreshProc => "a PID namespace, but the host's /proc instead of a fresh one",
                Fault::ChrootNotPivot => "chroot into the root instead of pivot_root and detaching the old root",
                Fault::HostnameOutsideUts => "the hostname is set without a UTS namespace",
                Fault::MemoryNotWritten => "the memory limit is not written",
                Fault::LimitWrongCgroup => "the container joins the parent cgroup instead of its own",
                Fault::OverlayAsBind => "the top layer is bind-mounted instead of an overlay",
                Fault::UpperReadonly => "the overlay is mounted read-only",
                Fault::NoUidMap => "the uid and gid maps are not written",
                Fault::VethDown => "the container end of the veth pair is left down",
                Fault::FreezerNoop => "pause reports success without freezing",
                Fault::NoDeviceRule => "device deny rules are not applied",
                Fault::DefaultHostname => "a UTS namespace without --hostname is named \"container\" anyway",
                Fault::CgroupOutsideParent => {
                    "the cgroup is made at the hierarchy's root (v1: the cpu hierarchy) instead of under LAB_CGROUP_PARENT, and left there"
                }
                Fault::CpuWeightIgnored => "--cpu-weight is accepted but never written",
                Fault::MemoryLowIgnored => "--memory-low is accepted but never written",
                Fault::FdsLeaked => "descriptors the runtime inherited stay open in the container",
                Fault::SignalsNotForwarded => "SIGTERM, SIGINT and SIGHUP sent to the runtime are swallowed",
                Fault::SignalStatusLost => "a command killed by a signal makes `run` exit 1",
                Fault::LayersCopied => "every layer is copied at each start, as an image unpacked each time",
                Fault::TarWhiteoutsKept => "a layer tarball's .wh. markers are unpacked as files, not applied",
                Fault::LayersUnpackedEachTime => "a layer tarball already in the store is unpacked again, under a new name",
                Fault::NoUserNs => "the user namespace is not created (nor its maps written): the command runs as host root",
                Fault::PathsUnmasked => "with a root file system, /proc's kernel files are neither masked nor read-only",
                Fault::HostDev => "with a root file system, the host's /dev is bound instead of a minimal one",
                Fault::SwapAllowed => "--memory limits memory but not swap (no memory.swap.max 0, no memsw)",
                Fault::IoWeightIgnored => "--io-weight is accepted but never written",
                Fault::StatsWithoutLimits => "`stats` prints contract 1.2's keys only: no limits, no I/O bytes (null)",
                Fault::NoMetacopy => "the overlay is mounted without metacopy=on where the kernel has it",
                Fault::UserNsLayersRefused => "a run with both a user namespace and layers is refused (exit 125)",
            }
        }
    }

    /// The faults named in the environment; an unknown name is an error.
    pub fn configured() -> Result<Vec<Fault>, String> {
        let Ok(v) = std::env::var(ENV) else {
            return Ok(Vec::new());
        };
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| {
                ALL.into_iter()
                    .find(|f| f.name() == name)
                    .ok_or_else(|| format!("{ENV}: unknown fault {name:?}"))
            })
            .collect()
    }

    /// Whether `fault` is injected in this run.
    pub fn active(fault: Fault) -> bool {
        std::env::var(ENV).is_ok_and(|v| v.split(',').any(|f| f.trim() == fault.name()))
    }

    /// Whether this run is the strict variant.
    pub fn strict() -> bool {
        std::env::var_os(STRICT_ENV).is_some_and(|v| v == "1")
    }

    /// `harness faults`: every fault as one JSON line `{"name", "what"}`, read by the
    /// mutation tests (which then need no link to this crate).
    pub fn list() -> String {
        ALL.iter()
            .map(|f| serde_json::json!({"name": f.name(), "what": f.what()}).to_string() + "\n")
            .collect()
    }
}

/// Without the `faults` feature nothing is ever injected.
#[cfg(not(feature = "faults"))]
pub fn active(_fault: Fault) -> bool {
    false
}

/// Without the `faults` feature the runtime is never the strict variant.
#[cfg(not(feature = "faults"))]
pub fn strict() -> bool {
    false
}

/// Without the `faults` feature there is nothing to configure.
#[cfg(not(feature = "faults"))]
pub fn configured() -> Result<Vec<Fault>, String> {
    Ok(Vec::new())
}

#[cfg(all(test, feature = "faults"))]
mod tests {
    use super::*;

    #[test]
    #[serial_test::serial(fault_env)]
    fn faults_are_off_unless_named() {
        std::env::remove_var(ENV);
        assert!(!active(Fault::NoPidNs));
        assert!(configured().unwrap().is_empty());
        std::env::set_var(ENV, "no-pid-ns,veth-down");
        assert!(active(Fault::NoPidNs) && active(Fault::VethDown) && !active(Fault::FreezerNoop));
        std::env::set_var(ENV, "no-such-fault");
        assert!(configured().err().unwrap().contains("no-such-fault"));
        std::env::remove_var(ENV);
    }

    #[test]
    fn names_are_unique_and_listed() {
        let names: std::collections::BTreeSet<_> = ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(list().lines().count(), ALL.len());
    }
}
