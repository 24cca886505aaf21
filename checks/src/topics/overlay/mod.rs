//! The union file system: read-only layers under one writable layer, copy-up on
//! write, whiteouts, layer sharing, space efficiency. Every check inspects the
//! layers on disk from the host, and every check ends by proving the lower layers
//! unchanged (a fingerprint of each taken before and after).
//!
//! One file per behaviour, named for the second segment of its checks' ids
//! (`overlay.copy-up.*` in `copy_up.rs`, `overlay.images.*` in `images.rs`); this one
//! holds the catalog, `support.rs` what several files share (the layers and their
//! fingerprints).

mod copy_up;
mod cost;
mod images;
mod layers;
mod metacopy;
mod sharing;
mod support;
mod whiteout;

use crate::check::{Check, Requirement as R};

macro_rules! check {
    ($id:literal, $title:literal, requires = [$($r:expr),*], $f:path) => {
        check!($id, $title, requires = [$($r),*], serial = None, $f)
    };
    ($id:literal, $title:literal, requires = [$($r:expr),*], serial = $s:expr, $f:path) => {
        check!($id, $title, uses = ["--ns mnt", "--layer", "--upper", "--work"], requires = [$($r),*], serial = $s, $f)
    };
    ($id:literal, $title:literal, uses = [$($u:literal),*], requires = [$($r:expr),*], serial = $s:expr, $f:path) => {
        Check {
            id: $id,
            topic: "overlay",
            title: $title,
            uses: &[$($u),*],
            requires: &[R::Root, R::Overlay, R::Namespace("mnt"), $($r),*],
            serial: $s,
            run: $f,
        }
    };
}

pub fn checks() -> Vec<Check> {
    vec![
        check!(
            "overlay.copy-up.write-copies-up",
            "a write to a lower file copies it up whole; the lower file stays byte-identical",
            requires = [],
            copy_up::write_copies_up
        ),
        check!(
            "overlay.copy-up.read-leaves-lower",
            "reading a lower file does not copy it up",
            requires = [],
            copy_up::read_leaves_lower
        ),
        check!(
            "overlay.copy-up.truncate-replaces-lower-data",
            "opening a lower file with O_TRUNC leaves only the new data in the upper layer",
            requires = [],
            copy_up::truncate_lower_file
        ),
        check!(
            "overlay.copy-up.hard-link-shares-the-copy",
            "a hard link to a lower file copies it up once: both names are one upper inode, a write through one is read through the other",
            requires = [],
            copy_up::hard_link_shares_copy
        ),
        check!(
            "overlay.layers.symlink-in-lower-resolves-inside",
            "a symlink shipped in a layer stays a symlink, resolves inside the container, and a write through it copies up only its target",
            requires = [],
            layers::symlink_in_lower
        ),
        check!(
            "overlay.layers.user-namespace-root-writes-upper",
            "root of a user namespace writes to a root file system of layers: the write lands in the upper layer, owned by the mapped uid",
            uses = ["--ns user", "--ns mnt", "--uid-map", "--gid-map", "--layer", "--upper", "--work"],
            requires = [R::Namespace("user")],
            serial = None,
            layers::user_namespace_root_writes_upper
        ),
        check!(
            "overlay.layers.upper-most-wins",
            "with two layers holding one path the upper-most is seen; bottom-only files are visible",
            requires = [],
            layers::upper_most_wins
        ),
        check!(
            "overlay.whiteout.delete-leaves-whiteout",
            "deleting a lower file leaves a whiteout (char 0:0) in the upper layer",
            requires = [],
            whiteout::delete_whiteout
        ),
        check!(
            "overlay.whiteout.opaque-directory",
            "a lower directory removed and made again is opaque: lower entries hidden",
            requires = [],
            whiteout::opaque_directory
        ),
        check!(
            "overlay.whiteout.rmdir-non-empty-refused",
            "rmdir of a directory with lower entries fails with ENOTEMPTY; an empty one leaves a whiteout",
            requires = [],
            whiteout::rmdir_non_empty
        ),
        check!(
            "overlay.whiteout.rename-lower-directory",
            "renaming a lower directory fails with EXDEV or leaves a redirect",
            requires = [],
            whiteout::rename_lower_dir
        ),
        check!(
            "overlay.sharing.writes-isolated",
            "two containers on the same layers see neither each other's writes nor copies",
            requires = [R::Command("nsenter")],
            sharing::sharing_isolated
        ),
        check!(
            "overlay.sharing.disk-used-once",
            "five containers cost the layers once plus each one's own writes",
            // Writing and hashing tens of MiB keeps a CPU busy: never next to the CPU quota check.
            requires = [],
            serial = Some("cpu"),
            sharing::disk_used_once
        ),
        check!(
            "overlay.metacopy.chmod-copies-metadata-only",
            "a chmod copies up metadata without data (metacopy)",
            requires = [],
            metacopy::metacopy_chmod
        ),
        check!(
            "overlay.cost.copy-up-grows-with-size",
            "the first write to a 64 MiB lower file costs more than to a 1 MiB one",
            requires = [],
            serial = Some("cpu"),
            cost::copy_up_cost
        ),
        check!(
            "overlay.images.tar-whiteouts-applied",
            "a layer tarball's .wh.NAME deletes NAME and .wh..wh..opq makes its directory opaque",
            uses = [
                "--ns mnt",
                "--layer",
                "--layer-tar",
                "--layer-store",
                "--upper",
                "--work"
            ],
            requires = [],
            serial = None,
            images::tar_whiteouts_applied
        ),
        check!(
            "overlay.images.new-version-stores-only-its-layer",
            "deploying a new image version stores only the layer that changed (content-addressed)",
            uses = [
                "--ns mnt",
                "--layer",
                "--layer-tar",
                "--layer-store",
                "--upper",
                "--work"
            ],
            requires = [],
            serial = None,
            images::new_version_stores_only_its_layer
        ),
        check!(
            "overlay.images.rollback-to-the-previous-layer",
            "the image minus its top layer shows the previous version, and the store is untouched",
            uses = [
                "--ns mnt",
                "--layer",
                "--layer-tar",
                "--layer-store",
                "--upper",
                "--work"
            ],
            requires = [],
            serial = None,
            images::rollback_to_previous_layer
        ),
        check!(
            "overlay.cost.start-independent-of-image-size",
            "a container on a 256 MiB layer starts about as fast as one on a 1 MiB layer: the lower is never copied",
            requires = [],
            serial = Some("cpu"),
            cost::start_independent_of_size
        ),
    ]
}
