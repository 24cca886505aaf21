//! v1 net_cls: `net_cls.classid` (cgroup v2 has no net_cls controller).

use std::path::Path;

use crate::cgroups::common::write_file;
use crate::cgroups::{CgroupError, Controller, Limits};

pub(crate) struct NetCls;

impl Controller for NetCls {
    const NAME: &'static str = "net_cls";

    fn needed(limits: &Limits) -> bool {
        limits.net_classid.is_some()
    }

    fn apply(path: &Path, limits: &Limits) -> Result<(), CgroupError> {
        match limits.net_classid {
            Some(id) => write_file(&path.join("net_cls.classid"), &id.to_string()),
            None => Ok(()),
        }
    }
}
