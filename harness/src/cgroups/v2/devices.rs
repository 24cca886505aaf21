//! v2 devices: no controller and no list files; a BPF_PROG_TYPE_CGROUP_DEVICE
//! program (see `bpf.rs`) attached to the cgroup denies the devices.

use std::path::Path;

use super::bpf;
use crate::cgroups::{CgroupError, Controller, Limits};
use crate::fault::{self, Fault};

pub(crate) struct Devices;

impl Controller for Devices {
    /// Not a v2 controller name: never written to cgroup.subtree_control.
    const NAME: &'static str = "devices";

    fn needed(limits: &Limits) -> bool {
        !limits.deny_devices.is_empty()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        if fault::active(Fault::NoDeviceRule) {
            return Ok(());
        }
        if limits.deny_devices.is_empty() {
            return Ok(());
        }
        bpf::attach_device_filter(path, &limits.deny_devices)
    }
}
