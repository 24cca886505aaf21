//! The veth pair of `--veth`, made with iproute2's `ip` from the host side.
//!
//! The container end is configured by running `ip` inside the container's network
//! namespace (setns in the forked `ip` before exec), so the container itself needs
//! no tools.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::unistd::Pid;

use crate::fault::{self, Fault};
use crate::spec::VethSpec;

pub(super) struct VethError {
    pub message: String,
    /// The host name was taken before we started: the link is not ours to delete.
    pub host_link_exists_before: bool,
}

fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

fn ip(args: &[&str], netns: Option<&File>) -> Result<(), String> {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    if let Some(f) = netns {
        let fd = f.as_raw_fd();
        // SAFETY: setns is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let out = cmd
        .output()
        .map_err(|e| format!("running ip {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

pub(super) fn setup_veth(child: Pid, v: &VethSpec) -> Result<(), VethError> {
    let fail = |message: String| VethError {
        message,
        host_link_exists_before: false,
    };
    if link_exists(&v.host_if) {
        return Err(VethError {
            message: format!("host interface {} already exists", v.host_if),
            host_link_exists_before: true,
        });
    }
    let pid = child.to_string();
    ip(
        &[
            "link", "add", &v.host_if, "type", "veth", "peer", "name", &v.cont_if, "netns", &pid,
        ],
        None,
    )
    .map_err(fail)?;
    ip(&["addr", "add", &v.host_addr.to_string(), "dev", &v.host_if], None).map_err(fail)?;
    ip(&["link", "set", &v.host_if, "up"], None).map_err(fail)?;
    let ns_path = format!("/proc/{child}/ns/net");
    let ns = File::open(&ns_path).map_err(|e| fail(format!("opening {ns_path}: {e}")))?;
    ip(&["addr", "add", &v.cont_addr.to_string(), "dev", &v.cont_if], Some(&ns)).map_err(fail)?;
    if !fault::active(Fault::VethDown) {
        ip(&["link", "set", &v.cont_if, "up"], Some(&ns)).map_err(fail)?;
    }
    ip(&["link", "set", "lo", "up"], Some(&ns)).map_err(fail)?;
    Ok(())
}

/// Deletes the host end (which takes the peer with it); gone already is fine,
/// since the pair dies with the container's network namespace.
pub(super) fn delete_link(name: &str) -> Result<(), String> {
    if !link_exists(name) {
        return Ok(());
    }
    match ip(&["link", "del", name], None) {
        Ok(()) => Ok(()),
        Err(_) if !link_exists(name) => Ok(()),
        Err(e) => Err(e),
    }
}
