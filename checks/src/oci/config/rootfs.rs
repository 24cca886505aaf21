//! The root and what is mounted on it: the root the adapter prepares on the host (a
//! bind of `/` or of `--rootfs DIR`, or the overlay of the layers) and the mounts on
//! top of it.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use labkit::spec::{Namespace, RootFs, RunSpec};

/// The mounts on top of the root the adapter prepared.
pub fn mounts(spec: &RunSpec) -> Vec<Value> {
    let pid = spec.ns.has(Namespace::Pid);
    let user = spec.ns.has(Namespace::User);
    let fresh_proc =
        json!({ "destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"] });
    // The host's /dev again, over the recursive bind of `/`: an OCI runtime then
    // creates no device nodes in it (in the host's devtmpfs).
    let host_dev = json!({ "destination": "/dev", "type": "bind", "source": "/dev", "options": ["rbind"] });
    match &spec.root {
        None if !spec.ns.has(Namespace::Mnt) => {
            // The caller's mounts (re-entered, or a private copy under `user`).
            vec![host_dev]
        }
        None => {
            let mut v = vec![host_dev];
            if pid {
                v.insert(0, fresh_proc);
            }
            v
        }
        Some(_) => {
            let mut v = vec![];
            if pid || !user {
                v.push(fresh_proc);
            } else {
                // A user namespace that does not own the PID namespace may not mount
                // a proc of it: the host's, bound.
                v.push(json!({ "destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"] }));
            }
            v.push(json!({ "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] }));
            v.push(json!({ "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] }));
            if spec.ns.has(Namespace::Ipc) {
                v.push(json!({ "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"] }));
            }
            v
        }
    }
}

/// The overlay mount options: `lowerdir=` top-most first, then `upperdir=`,
/// `workdir=`; `volatile`, and `metacopy=on` where the kernel has it.
pub fn overlay_options(layers: &[PathBuf], upper: &Path, work: &Path, metacopy: bool) -> Result<String, String> {
    let esc = |flag: &str, p: &Path| -> Result<String, String> {
        let s = p.to_str().ok_or_else(|| format!("{flag} {}: not UTF-8", p.display()))?;
        if s.contains([',', ':', '\\']) {
            return Err(format!(
                "{flag} {s}: paths holding ',', ':' or '\\' cannot be passed to overlay"
            ));
        }
        Ok(s.to_string())
    };
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|l| esc("--layer", l))
        .collect::<Result<_, _>>()?;
    let mut o = format!(
        "lowerdir={},upperdir={},workdir={},volatile",
        lower.join(":"),
        esc("--upper", upper)?,
        esc("--work", work)?
    );
    if metacopy {
        o.push_str(",metacopy=on");
    }
    Ok(o)
}

/// The root the adapter prepares on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// No root file system asked for: the caller's `/`, recursively bound.
    Host,
    Dir(PathBuf),
    Overlay(String),
}

pub fn root_source(spec: &RunSpec, metacopy: bool) -> Result<RootSource, String> {
    Ok(match &spec.root {
        None => RootSource::Host,
        Some(RootFs::Dir(d)) => RootSource::Dir(d.clone()),
        Some(RootFs::Overlay { layers, upper, work }) => {
            RootSource::Overlay(overlay_options(layers, upper, work, metacopy)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::config::tests::spec;

    #[test]
    fn mounts_follow_the_root() {
        let dests = |s: &RunSpec| -> Vec<(String, String)> {
            mounts(s)
                .iter()
                .map(|m| {
                    (
                        m["destination"].as_str().unwrap().into(),
                        m["type"].as_str().unwrap().into(),
                    )
                })
                .collect()
        };
        let d = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
        };
        assert_eq!(dests(&spec(&["--", "/x"])), d(&[("/dev", "bind")]));
        assert_eq!(dests(&spec(&["--ns", "mnt", "--", "/x"])), d(&[("/dev", "bind")]));
        assert_eq!(
            dests(&spec(&["--ns", "pid,mnt", "--", "/x"])),
            d(&[("/proc", "proc"), ("/dev", "bind")])
        );
        let dir = std::env::temp_dir();
        let r = dir.to_str().unwrap();
        assert_eq!(
            dests(&spec(&["--ns", "mnt,ipc", "--rootfs", r, "--", "/x"])),
            d(&[
                ("/proc", "proc"),
                ("/dev", "tmpfs"),
                ("/dev/shm", "tmpfs"),
                ("/dev/mqueue", "mqueue")
            ])
        );
        assert_eq!(
            dests(&spec(&[
                "--ns",
                "mnt,user",
                "--uid-map",
                "0:1000:10",
                "--gid-map",
                "0:1000:10",
                "--rootfs",
                r,
                "--",
                "/x"
            ])),
            d(&[("/proc", "bind"), ("/dev", "tmpfs"), ("/dev/shm", "tmpfs")])
        );
    }

    #[test]
    fn overlay_lists_layers_top_most_first() {
        let o = overlay_options(
            &["/l/base".into(), "/l/app".into()],
            Path::new("/u"),
            Path::new("/w"),
            true,
        )
        .unwrap();
        assert_eq!(o, "lowerdir=/l/app:/l/base,upperdir=/u,workdir=/w,volatile,metacopy=on");
        let o = overlay_options(&["/l/base".into()], Path::new("/u"), Path::new("/w"), false).unwrap();
        assert_eq!(o, "lowerdir=/l/base,upperdir=/u,workdir=/w,volatile");
        let e = overlay_options(&["/l/a,b".into()], Path::new("/u"), Path::new("/w"), false).unwrap_err();
        assert!(e.contains("--layer"), "{e}");
    }
}
