//! What the reference runtime (`harness`), the checks (`checks`) and the course
//! (`exercises`) all speak: the runtime contract's options and exit statuses,
//! the probe's output types, the cgroup-hierarchy and mountinfo readers, the
//! state file and the cleanup of what a killed checker left. No container is
//! started here; nothing here depends on the other crates of the workspace.

pub mod caps;
pub mod cgroups;
pub mod contract;
pub mod doctor;
pub mod exec_file;
pub mod layers;
pub mod mountinfo;
pub mod pid_one;
pub mod probe;
pub mod rootfs;
pub mod spec;
pub mod state;
