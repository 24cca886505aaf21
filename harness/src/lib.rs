//! The reference container runtime: containers built from namespaces, cgroups
//! and an overlay root file system, driven through the runtime contract.

pub mod cgroups;
pub mod cli;
pub mod container;
pub mod doctor;
pub mod fault;

// The shared vocabulary, under the names the runtime's modules use.
pub use labkit::{caps, rootfs, spec, state};
