//! v2 freezer: `cgroup.freeze` (a core file, no controller to enable); the
//! kernel freezes asynchronously and reports `frozen 1` in `cgroup.events`.

use std::path::Path;

use crate::cgroups::common::{poll, read_file, write_file, TIMEOUT};
use crate::cgroups::CgroupError;

/// The `frozen` value of `cgroup.events`.
pub(crate) fn frozen(path: &Path) -> Result<bool, CgroupError> {
    let events = path.join("cgroup.events");
    let text = read_file(&events)?;
    Ok(text
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["frozen", "1"]))
}

fn set_and_wait(path: &Path, freeze: bool) -> Result<bool, CgroupError> {
    write_file(&path.join("cgroup.freeze"), if freeze { "1" } else { "0" })?;
    poll(|| Ok(frozen(path)? == freeze))
}

/// On timeout the cgroup is thawed again and an error returned.
pub(crate) fn freeze(path: &Path) -> Result<(), CgroupError> {
    if set_and_wait(path, true)? {
        return Ok(());
    }
    let _ = write_file(&path.join("cgroup.freeze"), "0");
    Err(CgroupError::Timeout {
        what: "cgroup.events to read frozen 1".to_string(),
        path: path.join("cgroup.events"),
        secs: TIMEOUT.as_secs(),
    })
}

pub(crate) fn thaw(path: &Path) -> Result<(), CgroupError> {
    if set_and_wait(path, false)? {
        return Ok(());
    }
    Err(CgroupError::Timeout {
        what: "cgroup.events to read frozen 0".to_string(),
        path: path.join("cgroup.events"),
        secs: TIMEOUT.as_secs(),
    })
}
