//! Image layers as they are shipped: OCI layer tarballs, unpacked once each into a
//! content-addressed store and stacked as overlay lower layers.
//!
//! A tarball is stored under `STORE/sha256/HEX`, HEX being the SHA-256 of the
//! tarball's bytes (its digest, as an OCI manifest names it). A tarball already
//! there is not unpacked again: a new image version that changes one layer costs
//! that layer only. Unpacking follows the OCI image spec's layer rules: `.wh.NAME`
//! deletes NAME of the layers below (an overlay whiteout, a character device 0:0),
//! `.wh..wh..opq` makes its directory opaque (the xattr `trusted.overlay.opaque` =
//! `y`); neither marker is kept as a file. Nothing may land outside the layer.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Why a tarball could not become a layer; each names the tarball.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("--layer-tar {}: {source}", tar.display())]
    Read { tar: PathBuf, source: io::Error },
    #[error("--layer-tar {}: entry {entry:?}: {reason}", tar.display())]
    Entry {
        tar: PathBuf,
        entry: String,
        reason: String,
    },
    #[error("--layer-store {}: {source}", store.display())]
    Store { store: PathBuf, source: io::Error },
}

/// The hex SHA-256 of a file's bytes.
pub fn digest(path: &Path) -> io::Result<String> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// How a tarball becomes a layer: as the OCI image spec says (both true), or not
/// (the reference runtime's test-only faults turn one rule off).
#[derive(Debug, Clone, Copy)]
pub struct Unpack {
    /// `.wh.` entries become whiteouts and opaque markers, not files.
    pub apply_whiteouts: bool,
    /// A tarball already in the store is used as it is, not unpacked again.
    pub reuse_stored: bool,
}

impl Default for Unpack {
    fn default() -> Self {
        Unpack {
            apply_whiteouts: true,
            reuse_stored: true,
        }
    }
}

/// Writes an uncompressed layer tarball at `path` from (path, content) entries, in
/// order; a path ending in '/' is a directory, an empty `.wh.NAME` a whiteout marker.
/// Owners root, modes 0644/0755, one fixed mtime: the same entries give the same
/// bytes, so the same digest (what the checks and the tests build images from).
pub fn write_tarball(path: &Path, entries: &[(&str, &[u8])]) -> io::Result<()> {
    let mut b = tar::Builder::new(fs::File::create(path)?);
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        if name.ends_with('/') {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
        } else {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
        }
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append_data(&mut h, name, *data)?;
    }
    b.into_inner()?.sync_all()
}

/// The store directory of the layer with digest `hex`.
pub fn layer_dir(store: &Path, hex: &str) -> PathBuf {
    store.join("sha256").join(hex)
}

/// Unpacks `tar` into `store` unless a layer of the same digest is there already;
/// returns the layer's directory. A half-done unpack never takes the name: it goes
/// to a temporary directory renamed when complete, removed on error.
pub fn unpack_into_store(store: &Path, tar: &Path, how: Unpack) -> Result<PathBuf, LayerError> {
    let hex = digest(tar).map_err(|source| LayerError::Read {
        tar: tar.to_path_buf(),
        source,
    })?;
    let mut dir = layer_dir(store, &hex);
    if dir.is_dir() {
        if how.reuse_stored {
            return Ok(dir);
        }
        dir = store.join("sha256").join(format!("{hex}-{}", std::process::id()));
    }
    let store_err = |source| LayerError::Store {
        store: store.to_path_buf(),
        source,
    };
    fs::create_dir_all(store.join("sha256")).map_err(store_err)?;
    let tmp = store.join("sha256").join(format!(".{hex}.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir(&tmp).map_err(store_err)?;
    if let Err(e) = unpack(tar, &tmp, how.apply_whiteouts) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    match fs::rename(&tmp, &dir) {
        Ok(()) => Ok(dir),
        // Another run stored the same layer meanwhile: theirs is as good.
        Err(_) if dir.is_dir() => {
            let _ = fs::remove_dir_all(&tmp);
            Ok(dir)
        }
        Err(source) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(store_err(source))
        }
    }
}

/// A tar entry's path made relative and checked: no root, no `..`. The layer's
/// root itself (`./`, as `tar -C DIR -cf X .` writes it first) is the empty path.
fn safe_relative(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

// Long: one branch per kind of entry the OCI layer format has.
fn unpack(tar: &Path, dst: &Path, apply_whiteouts: bool) -> Result<(), LayerError> {
    let f = fs::File::open(tar).map_err(|source| LayerError::Read {
        tar: tar.to_path_buf(),
        source,
    })?;
    let mut archive = tar::Archive::new(f);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_unpack_xattrs(true);
    archive.set_overwrite(true);
    let entries = archive.entries().map_err(|source| LayerError::Read {
        tar: tar.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let mut entry = entry.map_err(|source| LayerError::Read {
            tar: tar.to_path_buf(),
            source,
        })?;
        let raw = entry
            .path()
            .map(|p| p.into_owned())
            .map_err(|source| LayerError::Read {
                tar: tar.to_path_buf(),
                source,
            })?;
        let bad = |reason: &str| LayerError::Entry {
            tar: tar.to_path_buf(),
            entry: raw.display().to_string(),
            reason: reason.to_string(),
        };
        let Some(rel) = safe_relative(&raw) else {
            return Err(bad("an absolute path or one with '..' would land outside the layer"));
        };
        if rel.as_os_str().is_empty() {
            // The layer's root: the store made that directory already.
            continue;
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = dst.join(rel.parent().unwrap_or(Path::new("")));
        if name == ".wh..wh..opq" && apply_whiteouts {
            fs::create_dir_all(&parent).map_err(|e| bad(&e.to_string()))?;
            set_opaque(&parent).map_err(|e| bad(&format!("making the directory opaque: {e}")))?;
            continue;
        }
        if let Some(hidden) = name.strip_prefix(".wh.").filter(|_| apply_whiteouts) {
            if hidden.is_empty() || hidden.contains('/') {
                return Err(bad("a whiteout must name an entry"));
            }
            fs::create_dir_all(&parent).map_err(|e| bad(&e.to_string()))?;
            whiteout(&parent.join(hidden)).map_err(|e| bad(&format!("making the whiteout: {e}")))?;
            continue;
        }
        // tar's own unpack_in refuses paths that leave `dst` (links included).
        match entry.unpack_in(dst) {
            Ok(true) => {}
            Ok(false) => return Err(bad("it would land outside the layer")),
            Err(e) => {
                // tar's error says which path; its cause is the inner error.
                let cause = e
                    .get_ref()
                    .and_then(|i| i.source())
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                return Err(bad(&format!("{e}{cause}")));
            }
        }
    }
    Ok(())
}

/// An overlay whiteout: a character device 0:0 (replacing what the layer had there).
fn whiteout(p: &Path) -> nix::Result<()> {
    use nix::sys::stat::{mknod, Mode, SFlag};
    let _ = fs::remove_file(p);
    let _ = fs::remove_dir_all(p);
    mknod(p, SFlag::S_IFCHR, Mode::from_bits_truncate(0o000), 0)
}

/// Overlay's opaque marker on a directory.
fn set_opaque(dir: &Path) -> io::Result<()> {
    let c_path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())?;
    // SAFETY: both strings are NUL-terminated and live across the call; the value
    // pointer and length describe one byte.
    let r = unsafe {
        libc::setxattr(
            c_path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(dir: &Path, name: &str, entries: &[(&str, &[u8])]) -> PathBuf {
        let p = dir.join(name);
        write_tarball(&p, entries).unwrap();
        p
    }

    #[test]
    fn unpacks_once_by_digest() {
        let d = tempfile::tempdir().unwrap();
        let store = d.path().join("store");
        let t = tarball(d.path(), "a.tar", &[("app/", b""), ("app/file", b"hello")]);
        let first = unpack_into_store(&store, &t, Unpack::default()).unwrap();
        assert_eq!(first, layer_dir(&store, &digest(&t).unwrap()));
        assert_eq!(fs::read_to_string(first.join("app/file")).unwrap(), "hello");
        // Stored once: a second unpack finds it and writes nothing.
        fs::write(first.join("app/marker"), "kept").unwrap();
        let again = unpack_into_store(&store, &t, Unpack::default()).unwrap();
        assert_eq!(again, first);
        assert!(again.join("app/marker").exists());
        assert_eq!(fs::read_dir(store.join("sha256")).unwrap().count(), 1);
    }

    #[test]
    fn refuses_entries_outside_the_layer_and_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let store = d.path().join("store");
        // tar::Builder refuses '..' itself: write the header's name by hand.
        let p = d.path().join("evil.tar");
        let mut b = tar::Builder::new(fs::File::create(&p).unwrap());
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..11].copy_from_slice(b"../escaped\0");
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(1);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        b.finish().unwrap();
        let e = unpack_into_store(&store, &p, Unpack::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("evil.tar") && e.contains("outside"), "{e}");
        assert!(!d.path().join("escaped").exists());
        assert_eq!(fs::read_dir(store.join("sha256")).unwrap().count(), 0);
    }

    /// `tar -C DIR -cf X .` names every entry `./...`, the first one `./` itself:
    /// inside the layer, not outside it.
    #[test]
    fn entries_under_dot_slash_are_inside_the_layer() {
        let d = tempfile::tempdir().unwrap();
        let store = d.path().join("store");
        let t = tarball(
            d.path(),
            "dot.tar",
            &[("./", b""), ("./app/", b""), ("./app/file", b"hello")],
        );
        let layer = unpack_into_store(&store, &t, Unpack::default()).unwrap();
        assert_eq!(fs::read_to_string(layer.join("app/file")).unwrap(), "hello");
    }

    #[test]
    fn digests_are_sha256_hex() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        fs::write(&p, "abc").unwrap();
        assert_eq!(
            digest(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
