//! v1 devices: one `TYPE MAJ:MIN rwm` rule per write to `devices.deny`. A new
//! cgroup inherits its parent's list (on a host, allow everything), so only
//! the denials are written.

use std::path::Path;

use crate::cgroups::common::append_line;
use crate::cgroups::{CgroupError, Controller, Limits};
use crate::fault::{self, Fault};

pub(crate) struct Devices;

impl Controller for Devices {
    const NAME: &'static str = "devices";

    fn needed(limits: &Limits) -> bool {
        !limits.deny_devices.is_empty()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        if fault::active(Fault::NoDeviceRule) {
            return Ok(());
        }
        let deny = path.join("devices.deny");
        for r in &limits.deny_devices {
            append_line(&deny, &format!("{} {}:{} rwm", r.kind.letter(), r.major, r.minor))?;
        }
        Ok(())
    }
}
