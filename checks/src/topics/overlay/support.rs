//! What several overlay files share: the layers of one check with their
//! fingerprints (taken before and compared after), the probe run on them, the
//! patterned lower files, and readings of upper entries (whiteouts, overlay xattrs,
//! blocks on disk).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use labkit::probe::Ls;

use crate::ctx::Ctx;
use crate::outcome::{broken, fail, CheckResult, Outcome};
use crate::runtime::Run;

/// Layers for one check: the probe's root file system at the bottom, then data
/// layers, each with a fingerprint taken before the containers ran.
pub(super) struct Layers {
    pub(super) dirs: Vec<PathBuf>,
    prints: Vec<BTreeMap<String, String>>,
}

/// Path, type, mode, owner, size and a content hash of every entry below `dir`.
pub(super) fn fingerprint(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            let h = if m.is_file() {
                xxhash_rust::xxh3::xxh3_128(&std::fs::read(&p).unwrap_or_default())
            } else if m.file_type().is_symlink() {
                xxhash_rust::xxh3::xxh3_128(
                    std::fs::read_link(&p)
                        .unwrap_or_default()
                        .as_os_str()
                        .as_encoded_bytes(),
                )
            } else {
                0
            };
            out.insert(
                rel,
                format!("{:o} {}:{} {} {h:032x}", m.mode(), m.uid(), m.gid(), m.len()),
            );
            if m.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

impl Layers {
    /// The rootfs plus one data layer per entry of `data` (bottom first), each a
    /// list of (path, content); a path ending in `/` is a directory, and a path
    /// `LINK -> TARGET` a symlink (its content unused).
    pub(super) fn new(ctx: &Ctx, data: &[&[(&str, &[u8])]]) -> Result<Layers, Outcome> {
        Self::named(ctx, "layer", data)
    }

    /// [`Layers::new`] with the layer directories named `{prefix}{i}`, for a check
    /// that needs two sets of layers side by side.
    pub(super) fn named(ctx: &Ctx, prefix: &str, data: &[&[(&str, &[u8])]]) -> Result<Layers, Outcome> {
        let mut dirs = vec![ctx.rootfs()?.to_path_buf()];
        for (i, files) in data.iter().enumerate() {
            let d = ctx.dir(&format!("{prefix}{i}"))?;
            for (path, content) in files.iter() {
                if let Some((link, target)) = path.split_once(" -> ") {
                    let p = d.join(link.trim_start_matches('/'));
                    std::fs::create_dir_all(p.parent().unwrap()).map_err(broken)?;
                    std::os::unix::fs::symlink(target, &p).map_err(broken)?;
                    continue;
                }
                let p = d.join(path.trim_start_matches('/'));
                if path.ends_with('/') {
                    std::fs::create_dir_all(&p).map_err(broken)?;
                } else {
                    std::fs::create_dir_all(p.parent().unwrap()).map_err(broken)?;
                    std::fs::write(&p, content).map_err(broken)?;
                }
            }
            dirs.push(d);
        }
        let prints = dirs.iter().map(|d| fingerprint(d)).collect();
        Ok(Layers { dirs, prints })
    }

    /// The data layers (not the probe's root file system) owned by `uid`:`gid` all
    /// through, as an image store for a user namespace keeps them (Docker's
    /// userns-remap, a rootless podman's store): root of the namespace may write only
    /// where the inode's owner is mapped. Fingerprinted again, as the layers' state
    /// before any container.
    pub(super) fn owned_by(mut self, uid: u32, gid: u32) -> Result<Layers, Outcome> {
        fn chown_all(p: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
            std::os::unix::fs::lchown(p, Some(uid), Some(gid))?;
            if std::fs::symlink_metadata(p)?.is_dir() {
                for e in std::fs::read_dir(p)? {
                    chown_all(&e?.path(), uid, gid)?;
                }
            }
            Ok(())
        }
        for d in &self.dirs[1..] {
            chown_all(d, uid, gid).map_err(broken)?;
        }
        self.prints = self.dirs.iter().map(|d| fingerprint(d)).collect();
        Ok(self)
    }

    pub(super) fn top(&self) -> &Path {
        self.dirs.last().expect("at least the rootfs")
    }

    /// Options for a container on these layers with its own fresh upper and work.
    pub(super) fn options(&self, ctx: &Ctx, name: &str) -> Result<(Vec<String>, PathBuf), Outcome> {
        self.options_ordered(ctx, name, &self.dirs)
    }

    pub(super) fn options_ordered(
        &self,
        ctx: &Ctx,
        name: &str,
        order: &[PathBuf],
    ) -> Result<(Vec<String>, PathBuf), Outcome> {
        let upper = ctx.dir(&format!("{name}-upper"))?;
        let work = ctx.dir(&format!("{name}-work"))?;
        let mut o = vec!["--ns".to_string(), "mnt".to_string()];
        for d in order {
            o.push("--layer".into());
            o.push(d.display().to_string());
        }
        o.extend([
            "--upper".into(),
            upper.display().to_string(),
            "--work".into(),
            work.display().to_string(),
        ]);
        Ok((o, upper))
    }

    /// The lower layers must be unchanged by anything the containers did.
    pub(super) fn verify_unchanged(&self, run: &Run) -> CheckResult {
        for (d, before) in self.dirs.iter().zip(&self.prints) {
            let after = fingerprint(d);
            if &after != before {
                let changed: Vec<&String> = before
                    .keys()
                    .chain(after.keys())
                    .filter(|k| before.get(*k) != after.get(*k))
                    .take(5)
                    .collect();
                return Err(fail(
                    crate::t!("layer {} unchanged", "그대로인 레이어 {}", d.display()),
                    crate::t!("changed entries: {changed:?}", "바뀐 항목: {changed:?}"),
                    run,
                ));
            }
        }
        Ok(())
    }
}

pub(super) fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Runs the probe (/bin/probe in the layers) in a container with `opts`.
pub(super) fn probe_in<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    opts: &[String],
    args: &[&str],
) -> Result<(Run, T), Outcome> {
    let mut cmd = vec!["/bin/probe"];
    cmd.extend_from_slice(args);
    ctx.json_of(&refs(opts), &cmd)
}

/// A lower file of `len` bytes whose content shows truncation or corruption.
pub(super) fn pattern(len: usize) -> Vec<u8> {
    // Whole 251-byte blocks copied (not a byte at a time: 64 MiB of unoptimised
    // iteration took seconds in the TCG VM).
    let block: Vec<u8> = (0..251u8).collect();
    let mut v = Vec::with_capacity(len + block.len());
    while v.len() < len {
        v.extend_from_slice(&block);
    }
    v.truncate(len);
    v
}

/// Whether `p` is a whiteout: a character device 0:0.
pub(super) fn is_whiteout(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == 0)
}

/// An overlay xattr of an upper entry, trusted.* or (user namespace mounts) user.*.
pub(super) fn overlay_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    for prefix in ["trusted.overlay.", "user.overlay."] {
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
        let c_name = std::ffi::CString::new(format!("{prefix}{name}")).ok()?;
        let mut buf = vec![0u8; 4096];
        // SAFETY: NUL-terminated path and name, and a buffer of the length passed.
        let n = unsafe { libc::lgetxattr(c_path.as_ptr(), c_name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf.truncate(n as usize);
            return Some(buf);
        }
    }
    None
}

pub(super) fn entries(v: &Ls) -> Vec<String> {
    v.entries.clone().unwrap_or_default()
}

/// Bytes allocated on disk below `dir` (st_blocks, each inode once).
pub(super) fn disk_bytes(dir: &Path) -> u64 {
    fn walk(dir: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
        let mut sum = 0;
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if let Ok(m) = e.path().symlink_metadata() {
                    if seen.insert((m.dev(), m.ino())) {
                        sum += m.blocks() * 512;
                    }
                    if m.is_dir() {
                        sum += walk(&e.path(), seen);
                    }
                }
            }
        }
        sum
    }
    walk(dir, &mut Default::default())
}
