//! Your part: one function per step of a container start, grouped by topic.
//! Each body is `todo!("<exercise id>: <what to do>")`. Do the exercises in
//! the order of exercises/exercises.toml:
//!
//! | exercise        | module          | steps |
//! |-----------------|-----------------|-------|
//! | ns-pid          | `namespaces`    | `clone_flag` (Pid, Mnt), `make_mounts_private`, `mount_fresh_proc`, `run_init` |
//! | ns-uts          | `namespaces`    | `clone_flag` (Uts), `set_hostname` |
//! | ns-mount        | `namespaces`    | `bind_rootfs`, `mount_proc_and_dev`, `pivot_into` (only --rootfs: --layer is ufs-layers) |
//! | ns-ipc          | `namespaces`    | `clone_flag` (Ipc), `mount_mqueue` |
//! | ns-net          | `namespaces`    | `clone_flag` (Net), `net_setup`, `net_cleanup` |
//! | ns-user         | `namespaces`    | `clone_flag` (User), `write_id_maps`, `become_root` |
//! | ns-cgroup-time  | `namespaces`, `cgroups` | `clone_flag` (Cgroup, Time), `unshare_cgroup`, `unshare_time`; the container's cgroup: `create`, `join`, `remove` |
//! | ns-limits       |                 | nothing new: the checks show what namespaces leave shared |
//! | cg-memory       | `cgroups`       | `limit_memory` |
//! | cg-cpu ... cg-net-cls | `cgroups` | `limit_cpu`, `guarantee`, `limit_pids`, `limit_cpuset`, `limit_io`, `limit_devices`, `limit_net_classid` |
//! | cg-freezer      | `cgroups`       | `pause`, `resume` |
//! | cg-monitoring   | `cgroups`       | `stats` |
//! | ufs-layers ...  | `overlay`       | `mount_overlay`, `cleanup` |
//! | ufs-images      | `overlay`       | `unpack_layer_tar` |
//! | sec-escape      | `namespaces`    | `mask_kernel_files`, `close_inherited_fds` |
//!
//! `run.rs` calls a step only when the options ask for it, and `main.rs`
//! refuses an option whose exercise is not in [`DONE`] yet (exit status 125,
//! `runtime error: --ns pid needs exercise ns-pid (not implemented yet)`).
//! So: write an exercise's steps, add its id to `DONE`, then run its checks.
//!
//! **Fork safety.** The runtime is single-threaded, and must stay so: then the
//! process cloned by `run.rs` may do anything (allocate, print, run
//! `std::process::Command`) until it executes COMMAND. In a multithreaded
//! process only async-signal-safe calls are allowed between fork/clone and
//! exec (signal-safety(7)), and unshare(CLONE_NEWUSER) fails with EINVAL. So
//! start no thread, and do not use a crate that does.
//!
//! Errors: return `anyhow::Error`s with context that names the flag, the path
//! and the errno (nix errors print as `EACCES: Permission denied`): `main`
//! prints them as `runtime error: ...` and exits 125.

pub mod cgroups;
pub mod namespaces;
pub mod overlay;

/// The exercises whose steps are written. Add each id when you are done with
/// it, for example `&["ns-pid", "ns-uts"]`.
pub const DONE: &[&str] = &[];

pub fn is_done(exercise: &str) -> bool {
    DONE.contains(&exercise)
}
