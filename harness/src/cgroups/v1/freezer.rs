//! v1 freezer: `freezer.state` goes THAWED -> FREEZING -> FROZEN.

use std::path::Path;

use crate::cgroups::common::{poll, read_file, write_file, TIMEOUT};
use crate::cgroups::{CgroupError, Controller, Limits};

pub(crate) struct Freezer;

impl Controller for Freezer {
    const NAME: &'static str = "freezer";

    fn needed(_limits: &Limits) -> bool {
        false
    }

    fn apply(_path: &Path, _limits: &Limits) -> Result<(), CgroupError> {
        Ok(())
    }
}

pub(crate) fn state(path: &Path) -> Result<String, CgroupError> {
    Ok(read_file(&path.join("freezer.state"))?.trim().to_string())
}

fn set_and_wait(path: &Path, want: &str) -> Result<bool, CgroupError> {
    let file = path.join("freezer.state");
    write_file(&file, want)?;
    poll(|| Ok(state(path)? == want))
}

/// Writes FROZEN and waits until the state reads FROZEN (it passes through
/// FREEZING while tasks are stopped). On timeout it thaws again and fails.
pub(crate) fn freeze(path: &Path) -> Result<(), CgroupError> {
    if set_and_wait(path, "FROZEN")? {
        return Ok(());
    }
    let _ = write_file(&path.join("freezer.state"), "THAWED");
    Err(CgroupError::Timeout {
        what: "freezer.state to read FROZEN".to_string(),
        path: path.join("freezer.state"),
        secs: TIMEOUT.as_secs(),
    })
}

pub(crate) fn thaw(path: &Path) -> Result<(), CgroupError> {
    if set_and_wait(path, "THAWED")? {
        return Ok(());
    }
    Err(CgroupError::Timeout {
        what: "freezer.state to read THAWED".to_string(),
        path: path.join("freezer.state"),
        secs: TIMEOUT.as_secs(),
    })
}
