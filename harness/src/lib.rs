//! The reference container runtime: containers built from namespaces, cgroups
//! and an overlay root file system, driven through the runtime contract.

pub mod caps;
pub mod cgroups;
pub mod cli;
pub mod container;
pub mod doctor;
pub mod fault;
pub mod rootfs;
pub mod spec;
pub mod state;
pub mod vm;
