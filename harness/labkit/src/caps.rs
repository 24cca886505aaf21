//! Linux capability names, shared by the probe (decoding CapEff) and the OCI
//! adapter (a privileged container's capability list).

/// Capability names by bit number (Linux 6.x, 0..=40).
pub const CAP_NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// CAP_SYS_ADMIN as a bit of a capability set.
pub const CAP_SYS_ADMIN: u64 = 1 << 21;

pub const CAP_SYS_RESOURCE: u64 = 1 << 24;

/// The effective capability set from the text of /proc/PID/status (`CapEff:`).
pub fn cap_eff(status: &str) -> Option<u64> {
    cap_set(status, "CapEff:")
}

/// The capability bounding set from the text of /proc/PID/status (`CapBnd:`).
pub fn cap_bnd(status: &str) -> Option<u64> {
    cap_set(status, "CapBnd:")
}

fn cap_set(status: &str, field: &str) -> Option<u64> {
    let v = status.lines().find_map(|l| l.strip_prefix(field))?;
    u64::from_str_radix(v.trim(), 16).ok()
}
