//! Overlay steps: exercises ufs-layers, ufs-copy-up, ufs-whiteout,
//! ufs-sharing and ufs-images. Read: Documentation/filesystems/overlayfs.rst (kernel.org),
//! mount(8) ("Mount options for overlay").
//!
//! ufs-whiteout and ufs-sharing need no code of their own: a real overlay
//! mount passes them. Read about whiteouts, opaque directories and
//! redirect_dir to understand what their checks observe.

// The parameters are there for you: unused until you write the bodies.
#![allow(unused_variables, unused_imports)]

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::{mount, MsFlags};

/// ufs-images, host side, before the container starts: unpack the OCI layer
/// tarball `tar` into `store/sha256/HEX` (HEX: the SHA-256 of the tarball's bytes,
/// e.g. from `sha256sum`) unless that directory exists already, and return it.
/// Unpack to a temporary name and rename when done. An entry `.wh.NAME` becomes a
/// whiteout for NAME (a character device 0:0: `mknod(path, S_IFCHR, 0)`), an entry
/// `.wh..wh..opq` makes its directory opaque (`setxattr(dir,
/// "trusted.overlay.opaque", "y")`); refuse entries that would leave the layer.
/// Read: the OCI image spec, layer.md ("Whiteouts"); tar(5).
pub fn unpack_layer_tar(store: &Path, tar: &Path) -> Result<PathBuf> {
    todo!("ufs-images: unpack once into store/sha256/<digest>, applying .wh. whiteouts and .wh..wh..opq")
}

/// Container side (in the new mount namespace, after make_mounts_private),
/// with --layer/--upper/--work: mount an overlay on a directory of your own
/// (for example a new directory under std::env::temp_dir()) and return it;
/// it becomes the new root.
/// `mount(Some("overlay"), target, Some("overlay"), MsFlags::empty(), Some(options))`
/// with options `lowerdir=` the layers TOP-MOST FIRST (`layers` is bottom
/// first, as given, so reverse it, joined by ':'), `,upperdir=UPPER`,
/// `,workdir=WORK`. The reference runtime also adds `volatile` (no syncs:
/// a container's writable layer is scratch space).
/// ufs-copy-up: add `metacopy=on` where the kernel has it
/// (/sys/module/overlay/parameters/metacopy exists): a chmod then copies up
/// metadata only.
pub fn mount_overlay(layers: &[PathBuf], upper: &Path, work: &Path) -> Result<PathBuf> {
    todo!("ufs-layers: mount overlay lowerdir=<layers top-most first>,upperdir=UPPER,workdir=WORK and return the mount point")
}

/// Host side, at the end, with --layer: a `volatile` mount leaves
/// WORK/work/incompat behind, and the next mount with the same directories
/// would fail: remove it if it is there (`std::fs::remove_dir_all`).
pub fn cleanup(work: &Path) -> Result<()> {
    todo!("ufs-layers: remove WORK/work/incompat if the volatile mount left it")
}
