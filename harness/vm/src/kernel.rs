//! The guest kernel and its modules: the distribution's cloud kernel fetched with
//! `apt-get download` and unpacked, the modules the checks need resolved with their
//! dependencies, and systemd for `--cgroup systemd`.

#[allow(unused_imports)]
use super::*;

/// The version string a bzImage carries (setup header field `kernel_version`).
pub fn bzimage_version(image: &[u8]) -> Option<String> {
    if image.len() < 0x210 || &image[0x202..0x206] != b"HdrS" {
        return None;
    }
    let off = u16::from_le_bytes([image[0x20e], image[0x20f]]) as usize + 0x200;
    let s = image.get(off..)?;
    let end = s.iter().position(|&b| b == 0 || b == b' ')?;
    std::str::from_utf8(&s[..end])
        .ok()
        .filter(|v| !v.is_empty())
        .map(String::from)
}

/// The `depends=` of a module's `.modinfo` ELF section (empty if none).
pub fn modinfo_depends(ko: &[u8]) -> Vec<String> {
    modinfo(ko)
        .into_iter()
        .find_map(|(k, v)| (k == "depends").then_some(v))
        .map(|v| v.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

/// `key=value` pairs of the `.modinfo` section of a 64-bit little-endian ELF file.
pub fn modinfo(ko: &[u8]) -> Vec<(String, String)> {
    let u16at = |o: usize| ko.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32at = |o: usize| {
        ko.get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    let u64at = |o: usize| {
        ko.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    let section = || -> Option<&[u8]> {
        if ko.get(..5)? != b"\x7fELF\x02" {
            return None;
        }
        let (shoff, shentsize, shnum, shstrndx) = (u64at(0x28)?, u16at(0x3a)?, u16at(0x3c)?, u16at(0x3e)?);
        let sh = |i: usize| shoff + i * shentsize;
        let strtab = u64at(sh(shstrndx) + 0x18)?;
        for i in 0..shnum {
            let name_off = strtab + u32at(sh(i))?;
            let name = ko.get(name_off..)?;
            let name = &name[..name.iter().position(|&b| b == 0)?];
            if name == b".modinfo" {
                let (off, size) = (u64at(sh(i) + 0x18)?, u64at(sh(i) + 0x20)?);
                return ko.get(off..off + size);
            }
        }
        None
    };
    section()
        .map(|s| {
            s.split(|&b| b == 0)
                .filter_map(|kv| {
                    std::str::from_utf8(kv)
                        .ok()?
                        .split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Module names are the same with `-` and `_`.
pub(crate) fn module_key(name: &str) -> String {
    name.replace('-', "_")
}

/// The module name of a file `name.ko[.xz|.zst|.gz]`.
pub fn module_name(file: &str) -> Option<String> {
    let stem = file
        .strip_suffix(".xz")
        .or_else(|| file.strip_suffix(".zst"))
        .or_else(|| file.strip_suffix(".gz"))
        .unwrap_or(file);
    stem.strip_suffix(".ko").map(module_key)
}

/// Reads a module file, decompressing .xz/.zst/.gz with the host's tool.
pub(crate) fn read_module(path: &Path) -> Result<Vec<u8>> {
    let name = path.to_string_lossy();
    let tool = if name.ends_with(".xz") {
        Some("xz")
    } else if name.ends_with(".zst") {
        Some("zstd")
    } else if name.ends_with(".gz") {
        Some("gzip")
    } else {
        None
    };
    match tool {
        None => std::fs::read(path).map_err(io_err(path.display())),
        Some(t) => {
            let out = Command::new(t)
                .arg("-dc")
                .arg(path)
                .output()
                .map_err(io_err(format!("{t} -dc {}", path.display())))?;
            if !out.status.success() {
                return err(format!(
                    "{t} -dc {}: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(out.stdout)
        }
    }
}

/// Modules in load order: (name, uncompressed bytes).
pub type ModuleList = Vec<(String, Vec<u8>)>;

/// Modules to load in order (dependencies first), as (name, uncompressed bytes).
/// `builtin` names modules built into the kernel (skipped with their dependencies).
pub fn resolve_modules(
    index: &BTreeMap<String, PathBuf>,
    builtin: &BTreeSet<String>,
    wanted: &[&str],
    read: &mut dyn FnMut(&Path) -> Result<Vec<u8>>,
) -> Result<(ModuleList, Vec<String>)> {
    fn visit(
        name: &str,
        index: &BTreeMap<String, PathBuf>,
        builtin: &BTreeSet<String>,
        read: &mut dyn FnMut(&Path) -> Result<Vec<u8>>,
        seen: &mut BTreeSet<String>,
        order: &mut ModuleList,
        missing: &mut Vec<String>,
    ) -> Result<()> {
        let key = module_key(name);
        if builtin.contains(&key) || !seen.insert(key.clone()) {
            return Ok(());
        }
        let Some(path) = index.get(&key) else {
            missing.push(key);
            return Ok(());
        };
        let bytes = read(path)?;
        for dep in modinfo_depends(&bytes) {
            visit(&dep, index, builtin, read, seen, order, missing)?;
        }
        order.push((key, bytes));
        Ok(())
    }
    let (mut seen, mut order, mut missing) = (BTreeSet::new(), Vec::new(), Vec::new());
    for w in wanted {
        visit(w, index, builtin, read, &mut seen, &mut order, &mut missing)?;
    }
    Ok((order, missing))
}

/// Every module file below `dir` by module name, and the names in modules.builtin.
pub(crate) fn index_modules(dir: &Path) -> (BTreeMap<String, PathBuf>, BTreeSet<String>) {
    let mut index = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            } else if let Some(n) = module_name(&e.file_name().to_string_lossy()) {
                index.entry(n).or_insert(p);
            }
        }
    }
    let builtin = std::fs::read_to_string(dir.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| module_name(l.rsplit('/').next().unwrap_or(l)))
        .collect();
    (index, builtin)
}

/// A kernel to boot.
#[derive(Debug)]
pub struct Kernel {
    pub image: PathBuf,
    pub version: Option<String>,
    pub modules: Option<PathBuf>,
    /// Where it came from, for the log.
    pub origin: String,
}

pub(crate) fn run_tool(cmd: &mut Command, what: &str) -> Result<Vec<u8>> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("running {what}")))?;
    if !out.status.success() {
        return err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// The package a metapackage `.deb` depends on first (`linux-image-6.1.0-56-cloud-amd64`).
pub fn first_dependency(depends: &str) -> Option<String> {
    let first = depends.split([',', '|']).next()?.trim();
    let name = first.split([' ', '(']).next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// `apt-get download NAME` into `dir`: the path of the .deb. A fresh machine may have
/// no package lists, or stale ones naming a version the mirror no longer has: root
/// refreshes them once and tries again.
pub(crate) fn apt_download(dir: &Path, name: &str) -> Result<PathBuf> {
    let download = || {
        run_tool(
            Command::new("apt-get").arg("download").arg(name).current_dir(dir),
            &format!("apt-get download {name}"),
        )
    };
    if let Err(e) = download() {
        if !nix::unistd::geteuid().is_root() {
            return err(format!("{e} (as root, `apt-get update` may help)"));
        }
        say(format!("{e}; running apt-get update and trying again"));
        run_tool(Command::new("apt-get").args(["update", "-qq"]), "apt-get update")?;
        download()?;
    }
    std::fs::read_dir(dir)
        .map_err(io_err(dir.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .map(|f| f.to_string_lossy().starts_with(&format!("{name}_")))
                .unwrap_or(false)
        })
        .ok_or_else(|| VmError(format!("apt-get download {name} left no {name}_*.deb")))
}

/// The distribution's systemd, downloaded and unpacked once into `cache/systemd/root`
/// (the `systemd` package and the shared library it is built on); nothing is
/// installed on the host.
pub(crate) fn debian_systemd(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("systemd");
    let root = dir.join("root");
    if root.join(".complete").is_file() {
        return Ok(root);
    }
    let dl = dir.join("download");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dl).map_err(io_err(dl.display()))?;
    say(format!("fetching systemd with apt-get download into {}", dl.display()));
    let tmp = dir.join("root.unpacking");
    for package in ["systemd", "libsystemd-shared"] {
        let deb = apt_download(&dl, package)?;
        run_tool(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp), "dpkg-deb -x")?;
    }
    std::fs::rename(&tmp, &root).map_err(io_err(root.display()))?;
    std::fs::write(root.join(".complete"), "").map_err(io_err(root.display()))?;
    let _ = std::fs::remove_dir_all(&dl);
    Ok(root)
}

/// Units of the systemd VM: lab.target starts lab-run.service (init.sh stage 3); the
/// targets a service depends on by default exist, empty, so that systemd-run's
/// transient service can start.
pub(crate) const SYSTEMD_UNITS: [(&str, &str); 6] = [
    ("lab.target", "[Unit]\nDescription=lab: run the command as a runner would\nWants=lab-run.service\n"),
    (
        "lab-run.service",
        "[Unit]\nDescription=lab: the command in a runner-like service\nDefaultDependencies=no\n\n[Service]\nType=oneshot\nExecStart=/lab/init stage3\n",
    ),
    ("sysinit.target", "[Unit]\nDescription=System Initialization\nDefaultDependencies=no\n"),
    ("basic.target", "[Unit]\nDescription=Basic System\nDefaultDependencies=no\n"),
    ("shutdown.target", "[Unit]\nDescription=System Shutdown\nDefaultDependencies=no\n"),
    ("system.slice", "[Unit]\nDescription=System Slice\nDefaultDependencies=no\n"),
];

/// systemd (PID 1), systemctl and systemd-run from the unpacked packages, with the
/// host's libraries they need, and the units above.
pub(crate) fn add_systemd(fs: &mut Initramfs, root: &Path) -> Result<()> {
    let libdir = ["usr/lib/x86_64-linux-gnu/systemd", "lib/x86_64-linux-gnu/systemd"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.is_dir());
    let libdir = libdir.ok_or_else(|| VmError(format!("no lib/x86_64-linux-gnu/systemd in {}", root.display())))?;
    for e in std::fs::read_dir(&libdir).map_err(io_err(libdir.display()))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".so") {
            fs.file(
                &format!("usr/lib/x86_64-linux-gnu/systemd/{name}"),
                Source::Path(e.path()),
                0o755,
            );
        }
    }
    for (dest, candidates) in [
        (
            "lib/systemd/systemd",
            ["lib/systemd/systemd", "usr/lib/systemd/systemd"],
        ),
        ("usr/bin/systemctl", ["bin/systemctl", "usr/bin/systemctl"]),
        ("usr/bin/systemd-run", ["usr/bin/systemd-run", "bin/systemd-run"]),
    ] {
        let src = candidates
            .iter()
            .map(|c| root.join(c))
            .find(|p| p.is_file())
            .ok_or_else(|| VmError(format!("no {} in {}", candidates[0], root.display())))?;
        fs.file(dest, Source::Path(src.clone()), 0o755);
        // The host's loader finds the packages' own libraries through this path; the
        // rest come from the host.
        let libs = labkit::rootfs::shared_libraries_with(&src, Some(&libdir)).map_err(|e| VmError(e.to_string()))?;
        for lib in libs.iter().filter(|l| !l.starts_with(&libdir)) {
            let real = std::fs::canonicalize(lib).unwrap_or_else(|_| lib.clone());
            fs.file(&lib.to_string_lossy(), Source::Path(real), 0o755);
        }
    }
    fs.symlink("usr/bin/systemd", "/lib/systemd/systemd");
    for (name, text) in SYSTEMD_UNITS {
        fs.text(&format!("etc/systemd/system/{name}"), text, 0o644);
    }
    fs.text(
        "etc/os-release",
        "ID=lab-vm\nNAME=\"lab VM\"\nPRETTY_NAME=\"lab VM (harness vm --cgroup systemd)\"\n",
        0o644,
    );
    fs.text("etc/machine-id", "", 0o444);
    Ok(())
}

/// The distribution's kernel: downloaded and unpacked once into `cache/kernel`.
pub(crate) fn debian_kernel(cache: &Path, package: &str) -> Result<Kernel> {
    let kdir = cache.join("kernel");
    let current = kdir.join(format!("{package}.current"));
    if let Ok(name) = std::fs::read_to_string(&current) {
        if let Ok(k) = unpacked_kernel(&kdir.join(name.trim()), name.trim()) {
            return Ok(k);
        }
    }
    std::fs::create_dir_all(&kdir).map_err(io_err(kdir.display()))?;
    let dl = kdir.join("download");
    let _ = std::fs::remove_dir_all(&dl);
    std::fs::create_dir_all(&dl).map_err(io_err(dl.display()))?;
    say(format!(
        "fetching {package} with apt-get download into {}",
        dl.display()
    ));
    let mut name = package.to_string();
    // Follow metapackages (no vmlinuz of their own) to the real image package.
    for _ in 0..4 {
        let deb = apt_download(&dl, &name)?;
        let list = run_tool(Command::new("dpkg-deb").arg("-c").arg(&deb), "dpkg-deb -c")?;
        if String::from_utf8_lossy(&list).contains("/boot/vmlinuz-") {
            let dest = kdir.join(&name);
            let tmp = kdir.join(format!("{name}.unpacking"));
            let _ = std::fs::remove_dir_all(&tmp);
            run_tool(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp), "dpkg-deb -x")?;
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::rename(&tmp, &dest).map_err(io_err(dest.display()))?;
            let _ = std::fs::remove_dir_all(&dl);
            std::fs::write(&current, &name).map_err(io_err(current.display()))?;
            return unpacked_kernel(&dest, &name);
        }
        let depends = run_tool(
            Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Depends"),
            "dpkg-deb -f",
        )?;
        name = first_dependency(&String::from_utf8_lossy(&depends))
            .ok_or_else(|| VmError(format!("{name} holds no kernel and depends on nothing")))?;
    }
    err(format!("{package}: no kernel image found following its dependencies"))
}

pub(crate) fn unpacked_kernel(dir: &Path, package: &str) -> Result<Kernel> {
    let boot = dir.join("boot");
    let image = std::fs::read_dir(&boot)
        .map_err(io_err(boot.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .map(|f| f.to_string_lossy().starts_with("vmlinuz-"))
                .unwrap_or(false)
        })
        .ok_or_else(|| VmError(format!("no vmlinuz-* in {}", boot.display())))?;
    let version = image
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("vmlinuz-")
        .to_string();
    let modules = dir.join("lib/modules").join(&version);
    Ok(Kernel {
        image,
        modules: modules.is_dir().then_some(modules),
        origin: format!("package {package}"),
        version: Some(version),
    })
}

pub(crate) fn chosen_kernel(args: &VmArgs, cache: &Path) -> Result<Kernel> {
    let mut k = match &args.kernel {
        Some(image) => {
            let bytes = std::fs::read(image).map_err(io_err(format!("--kernel {}", image.display())))?;
            let version = bzimage_version(&bytes);
            let modules = version
                .as_ref()
                .map(|v| Path::new("/lib/modules").join(v))
                .filter(|d| d.is_dir());
            Kernel {
                image: image.clone(),
                version,
                modules,
                origin: "--kernel".into(),
            }
        }
        None => debian_kernel(cache, &args.kernel_package)?,
    };
    if let Some(m) = &args.modules {
        k.modules = Some(m.clone());
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 with a .modinfo section.
    fn elf_with_modinfo(modinfo: &[u8]) -> Vec<u8> {
        let shstr = b"\0.shstrtab\0.modinfo\0";
        let mut f = vec![0u8; 64];
        f[..5].copy_from_slice(b"\x7fELF\x02");
        let modinfo_off = f.len();
        f.extend_from_slice(modinfo);
        let shstr_off = f.len();
        f.extend_from_slice(shstr);
        let shoff = f.len();
        let sh = |name: u32, off: usize, size: usize| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[0x18..0x20].copy_from_slice(&(off as u64).to_le_bytes());
            h[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
            h
        };
        let headers = [
            sh(0, 0, 0),
            sh(1, shstr_off, shstr.len()),
            sh(11, modinfo_off, modinfo.len()),
        ]
        .concat();
        f.extend_from_slice(&headers);
        f[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        f[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        f[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
        f
    }

    #[test]
    fn modinfo_depends_are_read_from_the_elf_section() {
        let ko = elf_with_modinfo(b"license=GPL\0depends=nfnetlink,libcrc32c\0name=nf_tables\0");
        assert_eq!(modinfo_depends(&ko), vec!["nfnetlink", "libcrc32c"]);
        assert!(modinfo_depends(&elf_with_modinfo(b"depends=\0")).is_empty());
        assert!(modinfo_depends(b"not an elf").is_empty());
    }

    #[test]
    fn modules_load_dependencies_first_and_skip_builtins() {
        let files: BTreeMap<&str, Vec<u8>> = [
            ("nf_tables", elf_with_modinfo(b"depends=nfnetlink,libcrc32c\0")),
            ("nfnetlink", elf_with_modinfo(b"depends=\0")),
            ("libcrc32c", elf_with_modinfo(b"depends=crc32c_generic\0")),
            ("veth", elf_with_modinfo(b"depends=\0")),
        ]
        .into_iter()
        .collect();
        let index: BTreeMap<String, PathBuf> = files
            .keys()
            .map(|k| (k.to_string(), PathBuf::from(format!("/m/{k}.ko"))))
            .collect();
        let builtin: BTreeSet<String> = ["crc32c_generic".to_string(), "loop".to_string()].into();
        let mut read =
            |p: &Path| Ok(files[module_name(&p.file_name().unwrap().to_string_lossy()).unwrap().as_str()].clone());
        let (order, missing) = resolve_modules(
            &index,
            &builtin,
            &["nf-tables", "loop", "veth", "overlay", "nfnetlink"],
            &mut read,
        )
        .unwrap();
        let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["nfnetlink", "libcrc32c", "nf_tables", "veth"]);
        assert_eq!(missing, ["overlay"]);
        assert_eq!(module_name("veth.ko.xz").as_deref(), Some("veth"));
        assert_eq!(module_name("nf-tables.ko").as_deref(), Some("nf_tables"));
        assert_eq!(module_name("modules.order"), None);
    }

    #[test]
    fn bzimage_version_is_read_from_the_setup_header() {
        let mut img = vec![0u8; 0x400];
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x20e..0x210].copy_from_slice(&0x100u16.to_le_bytes());
        img[0x300..0x320].copy_from_slice(b"6.1.0-56-cloud-amd64 (debian-ke\0");
        assert_eq!(bzimage_version(&img).as_deref(), Some("6.1.0-56-cloud-amd64"));
        assert_eq!(bzimage_version(&img[..0x100]), None);
    }

    #[test]
    fn metapackage_dependency_is_the_image_package() {
        assert_eq!(
            first_dependency("linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)").as_deref(),
            Some("linux-image-6.1.0-56-cloud-amd64")
        );
        assert_eq!(first_dependency("a | b, c").as_deref(), Some("a"));
        assert_eq!(first_dependency(""), None);
    }
}
