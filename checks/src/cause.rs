//! Why a check failed, as far as what it saw tells: the fact a hint is chosen by.
//!
//! A check's own hint (exercises/hints.toml) assumes the step it tests was tried. When
//! the check saw that something earlier went wrong (no PID namespace at all, the
//! runtime refused the run, the runtime's stderr names a known refusal of the kernel)
//! the hint for that fact is the useful one (exercises/causes.toml), whatever the
//! check. A cause is set only from an observation: the check's own (`because`), or the
//! runtime's exit status and stderr (`from_run`).

/// One observed reason for a failure. Its id keys exercises/causes.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The runtime refused the run (exit 125) before the command ran.
    Refused,
    /// `--ns pid` made no PID namespace: the probe's NSpid names one namespace.
    NoPidNamespace,
    /// Mounting a fresh /proc was refused (EPERM): in a user namespace without a PID
    /// namespace of its own, the PID namespace is not the user namespace's.
    ProcMountRefused,
    /// A process could not join a cgroup: ENOSPC, which cgroup v1 gives for a cpuset
    /// cgroup whose cpuset.cpus or cpuset.mems is still empty.
    CgroupJoinNoSpace,
    /// The network namespace was made but `lo` was still down when the command ran.
    LoopbackDown,
    /// LAB_RUNTIME names no executable file: no check could start the runtime.
    NoRuntime,
    /// A host tool was not found after the root changed (`command not found` after
    /// pivot_root: the old root and its tools are gone).
    ToolGoneAfterPivot,
}

impl Cause {
    pub const ALL: [Cause; 7] = [
        Cause::NoRuntime,
        Cause::Refused,
        Cause::NoPidNamespace,
        Cause::ProcMountRefused,
        Cause::CgroupJoinNoSpace,
        Cause::LoopbackDown,
        Cause::ToolGoneAfterPivot,
    ];

    /// The key of its hint in exercises/causes.toml.
    pub fn id(self) -> &'static str {
        match self {
            Cause::Refused => "refused",
            Cause::NoRuntime => "no-runtime",
            Cause::NoPidNamespace => "no-pid-namespace",
            Cause::ProcMountRefused => "proc-mount-refused",
            Cause::CgroupJoinNoSpace => "cgroup-join-no-space",
            Cause::LoopbackDown => "loopback-down",
            Cause::ToolGoneAfterPivot => "tool-gone-after-pivot",
        }
    }

    /// The cause a run shows by itself: its exit status 125, or one line of its stderr
    /// naming a refusal the kernel is known to give for one missing step. The specific
    /// one wins over the refusal, since a refusal is how it ended. `command` is the
    /// run's command line: ENOSPC means the cgroup join only for a run with a cgroup.
    pub fn from_run(exit_code: Option<i32>, stderr: &str, command: &str) -> Option<Cause> {
        let lines: Vec<String> = stderr.lines().map(str::to_lowercase).collect();
        if lines
            .iter()
            .any(|l| l.contains("mount") && denied_line(l) && names_proc_mount_point(l))
        {
            return Some(Cause::ProcMountRefused);
        }
        if command.contains("--cgroup ")
            && lines
                .iter()
                .any(|l| l.contains("no space left on device") || l.contains("enospc"))
        {
            return Some(Cause::CgroupJoinNoSpace);
        }
        if lines
            .iter()
            .any(|l| l.contains("command not found") && ["umount", "mount", "pivot_root"].iter().any(|t| l.contains(t)))
        {
            return Some(Cause::ToolGoneAfterPivot);
        }
        (exit_code == Some(125)).then_some(Cause::Refused)
    }
}

fn denied_line(l: &str) -> bool {
    l.contains("operation not permitted") || l.contains("permission denied") || l.contains("eperm")
}

/// A word of the line that is a proc mount point: `/proc`, or a root file system's
/// `…/proc` (not `/proc/sys`, which a runtime masks or remounts).
fn names_proc_mount_point(l: &str) -> bool {
    l.split(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == '`' || c == '\'')
        .map(|w| w.trim_end_matches('.'))
        .any(|w| w == "/proc" || w.ends_with("/proc"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_mount_refused_is_told_from_the_stderr() {
        let e = "mount: /proc: permission denied.\n       dmesg(1) may have more information after failed mount system call.";
        assert_eq!(
            Cause::from_run(Some(125), e, "rt run --ns user,mnt"),
            Some(Cause::ProcMountRefused)
        );
        let e = "runtime error: mounting proc on /proc: EPERM: Operation not permitted";
        assert_eq!(
            Cause::from_run(Some(125), e, "rt run --ns user,mnt"),
            Some(Cause::ProcMountRefused)
        );
    }

    #[test]
    fn enospc_is_the_empty_cpuset() {
        let e = "runtime.sh: line 310: echo: write error: No space left on device";
        assert_eq!(
            Cause::from_run(Some(1), e, "rt run --cgroup c1 --memory 32M -- probe"),
            Some(Cause::CgroupJoinNoSpace)
        );
        // Without a cgroup it is some other full file system (an overlay copy-up).
        assert_eq!(Cause::from_run(Some(1), e, "rt run --ns mnt --layer L -- probe"), None);
    }

    #[test]
    fn a_bare_refusal_is_refused_and_a_clean_failure_has_no_cause() {
        assert_eq!(
            Cause::from_run(
                Some(125),
                "runtime error: --cgroup: not implemented",
                "rt run --cgroup c"
            ),
            Some(Cause::Refused)
        );
        assert_eq!(Cause::from_run(Some(0), "", "rt run"), None);
        assert_eq!(Cause::from_run(Some(1), "some other complaint", "rt run"), None);
        // Masking /proc/sys is not the /proc mount.
        let e = "mount: /tmp/r/proc/sys: permission denied.";
        assert_eq!(Cause::from_run(Some(1), e, "rt run --ns mnt"), None);
    }

    #[test]
    fn command_not_found_after_the_pivot() {
        let e = "runtime.sh: line 420: umount: command not found";
        assert_eq!(
            Cause::from_run(Some(1), e, "rt run --ns mnt --rootfs R"),
            Some(Cause::ToolGoneAfterPivot)
        );
        // Two unrelated lines are not one cause.
        let e = "grep: command not found\nmount: done";
        assert_eq!(Cause::from_run(Some(1), e, "rt run"), None);
    }
}
