//! `harness rootfs DIR`: a minimal root file system holding the probe and the
//! shared libraries it needs, so a container sees nothing of the host's files.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("the probe was not found at {0} (build it with `cargo build --bins`)")]
    NoProbe(PathBuf),
    #[error("ldd {path} failed: {why}")]
    Ldd { path: PathBuf, why: String },
    #[error("--busybox {0}: not a statically linked executable")]
    NotStatic(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RootfsError + '_ {
    move |err| RootfsError::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// The probe binary built next to the running executable (target/<profile>/probe).
pub fn probe_path() -> Result<PathBuf, RootfsError> {
    let exe = std::env::current_exe().map_err(io(Path::new("/proc/self/exe")))?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    // Test binaries live one level down, in target/<profile>/deps.
    if dir.ends_with("deps") {
        dir.pop();
    }
    let p = dir.join("probe");
    if p.is_file() {
        Ok(p)
    } else {
        Err(RootfsError::NoProbe(p))
    }
}

/// The shared objects `ldd` lists for `bin`, as absolute paths (none for a static binary).
pub fn shared_libraries(bin: &Path) -> Result<Vec<PathBuf>, RootfsError> {
    shared_libraries_with(bin, None)
}

/// [`shared_libraries`], the loader also searching `lib_path` (LD_LIBRARY_PATH): for
/// a binary unpacked from a package whose own libraries are not installed.
pub fn shared_libraries_with(bin: &Path, lib_path: Option<&Path>) -> Result<Vec<PathBuf>, RootfsError> {
    let mut ldd = Command::new("ldd");
    if let Some(p) = lib_path {
        ldd.env("LD_LIBRARY_PATH", p);
    }
    let out = ldd.arg(bin).output().map_err(|e| RootfsError::Ldd {
        path: bin.to_path_buf(),
        why: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        if text.contains("not a dynamic executable")
            || String::from_utf8_lossy(&out.stderr).contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        return Err(RootfsError::Ldd {
            path: bin.to_path_buf(),
            why: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    // A copy without one of its libraries would only fail where it is run.
    let missing: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_suffix("=> not found"))
        .map(str::trim)
        .collect();
    if !missing.is_empty() {
        return Err(RootfsError::Ldd {
            path: bin.to_path_buf(),
            why: format!("needs {}, not found on this host", missing.join(", ")),
        });
    }
    Ok(parse_ldd(&text))
}

/// Parses `ldd` output: `name => /path (0x..)` and `/path (0x..)` lines; the vDSO has no file.
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        }
    }
    libs
}

fn copy_into(root: &Path, src: &Path, dest_in_root: &Path, mode: u32) -> Result<PathBuf, RootfsError> {
    let dest = root.join(dest_in_root.strip_prefix("/").unwrap_or(dest_in_root));
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    // Containers exec these files while the checker's other threads fork: written the
    // ordinary way, one could still be open for writing in such a child (ETXTBSY). The
    // copy follows symlinks, so versioned library links become plain files.
    crate::exec_file::copy_executable(src, &dest, mode).map_err(io(&dest))?;
    Ok(dest)
}

/// Fills `dir`; returns the files it installed (paths inside the root).
pub fn write_rootfs(dir: &Path, probe: &Path, busybox: Option<&Path>) -> Result<Vec<PathBuf>, RootfsError> {
    let mut installed = Vec::new();
    for d in ["bin", "proc", "dev", "sys", "tmp", "etc", "root"] {
        let p = dir.join(d);
        fs::create_dir_all(&p).map_err(io(&p))?;
    }
    let tmp = dir.join("tmp");
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).map_err(io(&tmp))?;
    for (name, text) in [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    ] {
        let p = dir.join(name);
        fs::write(&p, text).map_err(io(&p))?;
    }

    copy_into(dir, probe, Path::new("/bin/probe"), 0o755)?;
    installed.push(PathBuf::from("/bin/probe"));
    for lib in shared_libraries(probe)? {
        copy_into(dir, &lib, &lib, 0o755)?;
        installed.push(lib);
    }

    if let Some(bb) = busybox {
        if !bb.is_file() {
            return Err(RootfsError::Io {
                path: bb.to_path_buf(),
                err: std::io::ErrorKind::NotFound.into(),
            });
        }
        if !shared_libraries(bb)?.is_empty() {
            return Err(RootfsError::NotStatic(bb.to_path_buf()));
        }
        copy_into(dir, bb, Path::new("/bin/busybox"), 0o755)?;
        installed.push(PathBuf::from("/bin/busybox"));
        let list = Command::new(bb).arg("--list").output().map_err(io(bb))?;
        for applet in String::from_utf8_lossy(&list.stdout).lines().map(str::trim) {
            if applet.is_empty() || applet.contains('/') || applet == "busybox" {
                continue;
            }
            let link = dir.join("bin").join(applet);
            if link.symlink_metadata().is_err() {
                symlink("busybox", &link).map_err(io(&link))?;
            }
        }
    }
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_is_parsed() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
        assert!(parse_ldd("\tstatically linked\n").is_empty());
    }

    #[test]
    fn rootfs_holds_the_binary_and_its_libraries() {
        // Any dynamically linked host binary stands in for the probe here.
        let bin = Path::new("/bin/true");
        let t = tempfile::tempdir().unwrap();
        let files = write_rootfs(t.path(), bin, None).unwrap();
        assert!(t.path().join("bin/probe").is_file());
        assert!(files.len() >= 2, "{files:?}");
        for f in &files {
            assert!(t.path().join(f.strip_prefix("/").unwrap()).is_file(), "{f:?} missing");
        }
        let mode = fs::metadata(t.path().join("tmp")).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o1777);
    }
}
