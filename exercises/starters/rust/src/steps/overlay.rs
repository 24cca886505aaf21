//! Overlay steps: exercises ufs-layers, ufs-copy-up, ufs-whiteout,
//! ufs-sharing and ufs-images. Read: Documentation/filesystems/overlayfs.rst (kernel.org),
//! mount(8) ("Mount options for overlay").
//!
//! TODO(ufs-whiteout), TODO(ufs-sharing): no code of their own: a real overlay
//! mount passes them. Read about whiteouts, opaque directories and
//! redirect_dir to understand what their checks observe.

// The parameters are there for you: unused until you write the bodies.
#![allow(unused_variables, unused_imports)]

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::{mount, MsFlags};

/// TODO(ufs-images). ufs-images, host side, before the container starts: unpack the OCI layer
/// tarball `tar` into `store/sha256/HEX` (HEX: the SHA-256 of the tarball's bytes,
/// e.g. from `sha256sum`) unless that directory exists already, and return it.
/// Unpack to a temporary directory inside `store` (rename(2) needs the same
/// file system) and rename when done; remove it if anything fails, so a failed
/// run leaves nothing behind. An entry `.wh.NAME` becomes a
/// whiteout for NAME (a character device 0:0:
/// `nix::sys::stat::mknod(&path, SFlag::S_IFCHR, Mode::empty(), 0)`), an entry
/// `.wh..wh..opq` makes its directory opaque (nix has no xattr calls:
/// `unsafe { libc::setxattr(dir_c.as_ptr(), c"trusted.overlay.opaque".as_ptr(), b"y".as_ptr().cast(), 1, 0) }`
/// with `dir_c` the directory as a `CString`); refuse entries that would leave the layer.
/// Read: the OCI image spec, layer.md ("Whiteouts"); tar(5).
///
/// 호스트 쪽, 컨테이너가 시작하기 전: OCI 레이어 tarball `tar`를
/// `store/sha256/HEX`(HEX: tarball 바이트의 SHA-256, 예를 들어 `sha256sum`으로)에
/// 푸세요. 그 디렉터리가 이미 있으면 풀지 않고 그것을 돌려줍니다. `store` 안의 임시
/// 디렉터리에 풀고(rename(2)은 같은 파일 시스템이어야 합니다) 다 되면 이름을
/// 바꾸세요. 무엇이든 실패하면 임시 디렉터리를 지워서 실패한 실행도 아무것도
/// 남기지 않게 합니다. `.wh.NAME` 항목은 NAME의 whiteout(문자 장치 0:0:
/// `nix::sys::stat::mknod(&path, SFlag::S_IFCHR, Mode::empty(), 0)`)이 되고,
/// `.wh..wh..opq` 항목은 그 디렉터리를 opaque로 만듭니다(nix에는 xattr 호출이 없으니
/// `unsafe { libc::setxattr(dir_c.as_ptr(), c"trusted.overlay.opaque".as_ptr(), b"y".as_ptr().cast(), 1, 0) }`,
/// `dir_c`는 디렉터리를 담은 `CString`). 레이어 밖으로 나가는
/// 항목은 거부하세요. 읽을거리: OCI image spec의 layer.md ("Whiteouts"), tar(5).
pub fn unpack_layer_tar(store: &Path, tar: &Path) -> Result<PathBuf> {
    todo!("ufs-images: unpack once into store/sha256/<digest>, applying .wh. whiteouts and .wh..wh..opq")
}

/// TODO(ufs-layers). HOST side, after the start, before "go", with
/// --layer/--upper/--work: mount an overlay on `target`. `run.rs` calls this
/// inside the container's mount namespace (`in_mount_namespace`: setns(2),
/// mounts made private first) with the runtime's own privileges, and with
/// absolute paths. Why not on the container side: with --ns user, the
/// container is root of a new user namespace, and that root cannot mount it:
/// metacopy=on is refused (EPERM), and it may not create the work directory
/// in a --work owned by host root, so the overlay comes up read-only (EROFS).
/// `target` is an empty directory `run.rs` made on the host (and removes at
/// the end: a directory you made elsewhere would be found by nobody); it
/// becomes the new root.
/// `mount(Some("overlay"), target, Some("overlay"), MsFlags::empty(), Some(options.as_str()))`
/// with options `lowerdir=` the layers TOP-MOST FIRST (`layers` is bottom
/// first, as given, so reverse it, joined by ':'), `,upperdir=UPPER`,
/// `,workdir=WORK`. The reference runtime also adds `volatile` (no syncs:
/// a container's writable layer is scratch space).
/// TODO(ufs-copy-up): add `metacopy=on` where the kernel has it
/// (/sys/module/overlay/parameters/metacopy exists): a chmod then copies up
/// metadata only.
///
/// 호스트 쪽, 시작 뒤 "go" 전, --layer/--upper/--work가 있을 때: `target`에
/// overlay를 마운트하세요. `run.rs`가 이 함수를 컨테이너의 마운트 네임스페이스
/// 안에서(`in_mount_namespace`: setns(2), 먼저 마운트를 private으로) 런타임 자신의
/// 권한과 절대 경로로 부릅니다. 컨테이너 쪽에서 하지 않는 까닭: --ns user가 있으면
/// 컨테이너는 새 user 네임스페이스의 root이고, 그 root는 overlay를 마운트하지
/// 못합니다. metacopy=on은 거부되고(EPERM), 호스트 root 소유의 --work 안에 work
/// 디렉터리를 만들 수 없어서 overlay가 읽기 전용(EROFS)으로 올라옵니다. `target`은
/// `run.rs`가 호스트에 만든 빈 디렉터리이고 끝에 지웁니다(다른 곳에 만든
/// 디렉터리는 아무도 찾지 못합니다). 그것이 새 루트가 됩니다. 옵션은 `lowerdir=`
/// 레이어를 맨 위부터(`layers`는 맨 아래부터이니 뒤집어서 ':'로 이음),
/// `,upperdir=UPPER`, `,workdir=WORK`입니다. 참조 런타임은 `volatile`도 더합니다.
/// ufs-copy-up: 커널에 있으면(/sys/module/overlay/parameters/metacopy가 있으면)
/// `metacopy=on`을 더하세요. 그러면 chmod는 메타데이터만 copy-up합니다.
pub fn mount_overlay(layers: &[PathBuf], upper: &Path, work: &Path, target: &Path) -> Result<()> {
    todo!("ufs-layers: mount overlay lowerdir=<layers top-most first>,upperdir=UPPER,workdir=WORK on target")
}

/// TODO(ufs-layers). Host side, at the end, with --layer: a `volatile` mount leaves
/// WORK/work/incompat behind, and the next mount with the same directories
/// would fail: remove it if it is there (`std::fs::remove_dir_all`).
///
/// 호스트 쪽, 끝에서, --layer가 있을 때: `volatile` 마운트는 WORK/work/incompat을
/// 남기고, 같은 디렉터리로 하는 다음 마운트는 실패합니다. 있으면 지우세요
/// (`std::fs::remove_dir_all`).
pub fn cleanup(work: &Path) -> Result<()> {
    todo!("ufs-layers: remove WORK/work/incompat if the volatile mount left it")
}
