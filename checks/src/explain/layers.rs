//! Picture 3: the layers under the container's root, what its writes left in the
//! upper directory, and one file of the base layer shared by two containers.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Missing, Stage};
use crate::ctx::Ctx;
use crate::outcome::Outcome;
use crate::text::Text;

/// Picture 3.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layers {
    pub missing: Option<Missing>,
    /// Bottom first.
    pub lowers: Vec<LayerDir>,
    pub upper: LayerDir,
    pub work: String,
    /// The file system of `/` inside.
    pub root_fstype: Option<String>,
    /// Paths (from the root) in the upper directory after the container's writes.
    pub copied_up: Vec<String>,
    pub whiteouts: Vec<String>,
    pub created: Vec<String>,
    pub sharing: Sharing,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerDir {
    pub name: String,
    pub path: String,
    pub files: u64,
    pub bytes: u64,
}

/// One file of the base layer, seen by two containers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sharing {
    pub missing: Option<Missing>,
    pub file: String,
    pub file_bytes: u64,
    pub host_ino: Option<u64>,
    pub a_ino: Option<u64>,
    pub b_ino: Option<u64>,
    /// The second container's upper directory.
    pub upper_b: Option<LayerDir>,
}

impl Sharing {
    pub fn shared(&self) -> bool {
        self.host_ino.is_some() && self.a_ino == self.host_ino && self.b_ino == self.host_ino
    }
}

/// The files the layers hold: base (the probe's root file system and two files),
/// app (the application).
pub(super) struct Image {
    base: PathBuf,
    app: PathBuf,
}

const BASE_FILES: [(&str, &str); 2] = [("etc/motd", "base layer\n"), ("etc/old.conf", "legacy=1\n")];
const APP_FILES: [(&str, &str); 2] = [("app/version", "1.0\n"), ("app/config", "debug=off\n")];
/// What container A does to them: one copy-up, one new file, one whiteout.
pub const A_WRITES: [(&str, &str); 2] = [("/app/config", "debug=on"), ("/app/log.txt", "started")];
pub const A_REMOVES: &str = "/etc/old.conf";
/// The base layer's file both containers look at.
pub const SHARED_FILE: &str = "/bin/probe";

pub(super) fn image(ctx: &Ctx) -> Result<Image, Outcome> {
    let base = ctx.rootfs()?.to_path_buf();
    let app = ctx.dir("layer-app")?;
    for (dir, files) in [(&base, &BASE_FILES[..]), (&app, &APP_FILES[..])] {
        for (rel, text) in files {
            let p = dir.join(rel);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(crate::outcome::broken)?;
            }
            std::fs::write(&p, text).map_err(crate::outcome::broken)?;
        }
    }
    Ok(Image { base, app })
}

pub(super) fn layer_opts(ctx: &Ctx, img: &Image, tag: &str) -> Result<Vec<String>, Outcome> {
    let s = |p: &Path| p.to_string_lossy().into_owned();
    Ok(vec![
        "--layer".into(),
        s(&img.base),
        "--layer".into(),
        s(&img.app),
        "--upper".into(),
        s(&ctx.dir(&format!("{tag}-upper"))?),
        "--work".into(),
        s(&ctx.dir(&format!("{tag}-work"))?),
    ])
}

/// Files and bytes below `dir` (apparent sizes; a directory counts no bytes).
fn du(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(md) = e.path().symlink_metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                bytes += md.len();
            }
        }
    }
    (files, bytes)
}

fn layer_dir(name: &str, path: &Path) -> LayerDir {
    let (files, bytes) = du(path);
    LayerDir {
        name: name.into(),
        path: path.display().to_string(),
        files,
        bytes,
    }
}

pub(super) fn layers(
    img: &Image,
    upper: &Path,
    work: &Path,
    stage: Result<&Stage, &Text>,
    b: Result<&Stage, &Text>,
    upper_b: &Path,
) -> Layers {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut l = Layers {
        missing: None,
        lowers: vec![layer_dir("base", &img.base), layer_dir("app", &img.app)],
        upper: layer_dir("upper", upper),
        work: work.display().to_string(),
        root_fstype: None,
        copied_up: Vec::new(),
        whiteouts: Vec::new(),
        created: Vec::new(),
        sharing: Sharing {
            missing: None,
            file: SHARED_FILE.into(),
            file_bytes: 0,
            host_ino: None,
            a_ino: None,
            b_ino: None,
            upper_b: None,
        },
    };
    let shared_rel = SHARED_FILE.trim_start_matches('/');
    if let Ok(md) = img.base.join(shared_rel).metadata() {
        l.sharing.host_ino = Some(md.ino());
        l.sharing.file_bytes = md.len();
    }
    let s = match stage {
        Ok(s) => s,
        Err(why) => {
            l.missing = Some(Missing {
                why: why.clone(),
                exercise: "ufs-layers".into(),
            });
            l.sharing.missing = l.missing.clone();
            return l;
        }
    };
    l.root_fstype = s
        .scene
        .facts
        .mounts
        .as_ref()
        .and_then(|m| m.iter().rev().find(|m| m.mount_point == "/").map(|m| m.fstype.clone()));
    if l.root_fstype.as_deref() != Some("overlay") {
        l.missing = Some(Missing {
            why: crate::t!(
                "`/` inside is {}, not an overlay of the layers",
                "안의 `/`는 레이어의 overlay가 아니라 {}임",
                l.root_fstype.as_deref().unwrap_or("?")
            ),
            exercise: "ufs-layers".into(),
        });
    }
    // What the container's writes left in the upper directory, read from the host.
    let mut stack = vec![upper.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(md) = p.symlink_metadata() else { continue };
            let rel = format!("/{}", p.strip_prefix(upper).unwrap_or(&p).display());
            if md.is_dir() {
                stack.push(p);
            } else if md.file_type().is_char_device() && md.rdev() == 0 {
                l.whiteouts.push(rel);
            } else if [&img.base, &img.app]
                .iter()
                .any(|lo| lo.join(rel.trim_start_matches('/')).exists())
            {
                l.copied_up.push(rel);
            } else {
                l.created.push(rel);
            }
        }
    }
    for v in [&mut l.whiteouts, &mut l.copied_up, &mut l.created] {
        v.sort();
    }
    l.sharing.a_ino = s.scene.stats.first().and_then(|st| st.ino);
    match b {
        Ok(b) => {
            l.sharing.b_ino = b.scene.stats.first().and_then(|st| st.ino);
            l.sharing.upper_b = Some(layer_dir("upper B", upper_b));
        }
        Err(why) => {
            l.sharing.missing = Some(Missing {
                why: why.clone(),
                exercise: "ufs-sharing".into(),
            })
        }
    }
    if l.sharing.missing.is_none() && !l.sharing.shared() {
        l.sharing.missing = Some(Missing {
            why: crate::t!(
                "{SHARED_FILE} is inode {} in A and {} in B, {} in the base layer: not one file",
                "{SHARED_FILE}의 inode가 A에서 {}, B에서 {}, 기반 레이어에서 {}: 한 파일이 아님",
                crate::text::opt(l.sharing.a_ino),
                crate::text::opt(l.sharing.b_ino),
                crate::text::opt(l.sharing.host_ino)
            ),
            exercise: "ufs-sharing".into(),
        });
    }
    l
}
