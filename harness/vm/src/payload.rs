//! What goes into the VM: the workspace's binaries, busybox, the host tools with
//! their libraries, and the script that runs the command.

#[allow(unused_imports)]
use super::*;

/// `path` on $PATH, or in the sbin directories a normal user's PATH may lack.
pub fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|p| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// A host executable at `dest` and every shared library `ldd` names at its own path.
pub(crate) fn add_host_binary(fs: &mut Initramfs, src: &Path, dest: &str) -> Result<()> {
    fs.file(
        dest,
        Source::Path(std::fs::canonicalize(src).unwrap_or_else(|_| src.to_path_buf())),
        0o755,
    );
    let libs = labkit::rootfs::shared_libraries(src).map_err(|e| VmError(e.to_string()))?;
    for lib in libs {
        let real = std::fs::canonicalize(&lib).unwrap_or_else(|_| lib.clone());
        fs.file(&lib.to_string_lossy(), Source::Path(real), 0o755);
    }
    Ok(())
}

/// Single-quoted for sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// /lab/command.sh: the variables, then `exec` of the command.
pub fn command_script(env: &[(String, String)], command: &[String]) -> String {
    let mut s = String::from("# written by harness vm\n");
    for (k, v) in env {
        let _ = writeln!(s, "export {k}={}", sh_quote(v));
    }
    let words: Vec<String> = command.iter().map(|w| sh_quote(w)).collect();
    let _ = writeln!(s, "exec {}", words.join(" "));
    s
}

/// The files of the initramfs that come from the host, found before anything is written.
pub struct Inputs {
    pub bin_dir: PathBuf,
    pub busybox: PathBuf,
    /// Applets busybox offers (`busybox --list`).
    pub applets: Vec<String>,
    /// Host tools found, by name.
    pub host_tools: Vec<(String, PathBuf)>,
    /// Modules in load order with their uncompressed bytes.
    pub modules: ModuleList,
    /// The runtime under test when it is a file: (host path, name).
    pub runtime: Option<PathBuf>,
    /// For `--cgroup systemd`: the unpacked systemd packages.
    pub systemd: Option<PathBuf>,
    /// For `--cgroup docker`: the image tarball (`docker save`).
    pub docker_image: Option<PathBuf>,
}

/// Per run: the nonce, the cgroup mode and the command.
pub struct RunConfig {
    pub nonce: String,
    pub cgroup: CgroupMode,
    pub env: Vec<(String, String)>,
    pub command: Vec<String>,
}

/// Strips debug info into `stage` (the debug binaries are five times their code);
/// the original when `strip` is missing or fails.
pub(crate) fn stripped(src: &Path, stage: &Path) -> PathBuf {
    let dest = stage.join(src.file_name().unwrap_or_default());
    let ok = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&dest)
        .arg(src)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        dest
    } else {
        src.to_path_buf()
    }
}

/// The whole initramfs: pure given its inputs (the files are read when written).
pub fn plan_initramfs(inp: &Inputs, run: &RunConfig, binaries: &[(String, PathBuf)]) -> Result<Initramfs> {
    let mut fs = Initramfs::default();
    for d in [
        "newroot", "proc", "sys", "dev", "tmp", "run", "root", "sbin", "usr/sbin", "lib64", "lab/out",
    ] {
        fs.dir(d);
    }
    fs.add("dev/console", Node::CharDev(5, 1));
    fs.text("init", INIT_SCRIPT, 0o755);
    fs.text("lab/init", INIT_SCRIPT, 0o755);
    fs.file("bin/busybox", Source::Path(inp.busybox.clone()), 0o755);
    let host_names: BTreeSet<&str> = HOST_TOOLS.iter().map(|(n, _)| *n).collect();
    for a in &inp.applets {
        if a.is_empty() || a.contains('/') || a == "busybox" || host_names.contains(a.as_str()) {
            continue;
        }
        fs.symlink(&format!("bin/{a}"), "busybox");
    }
    for (name, path) in &inp.host_tools {
        add_host_binary(&mut fs, path, &format!("usr/bin/{name}"))?;
        // Scripts name /bin/sh and /bin/bash; busybox's applet of the name is left out.
        fs.symlink(&format!("bin/{name}"), &format!("/usr/bin/{name}"));
    }
    if !fs.has("usr/bin/env") {
        fs.symlink("usr/bin/env", "/bin/busybox");
    }
    for (name, path) in binaries {
        fs.file(&format!("lab/bin/{name}"), Source::Path(path.clone()), 0o755);
    }
    if let Some(rt) = &inp.runtime {
        let name = rt
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "runtime".into());
        add_host_binary(&mut fs, rt, &format!("lab/runtime/{name}"))?;
    }
    let mut order = String::new();
    for (name, bytes) in &inp.modules {
        fs.file(&format!("lab/modules/{name}.ko"), Source::Bytes(bytes.clone()), 0o644);
        let _ = writeln!(order, "{name}.ko");
    }
    if !order.is_empty() {
        fs.text("lab/modules/order", &order, 0o644);
    }
    if let Some(root) = &inp.systemd {
        add_systemd(&mut fs, root)?;
    }
    if let Some(image) = &inp.docker_image {
        fs.file("lab/docker/image.tar", Source::Path(image.clone()), 0o644);
    }
    fs.text(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        0o644,
    );
    fs.text("etc/group", "root:x:0:\nnogroup:x:65534:\n", 0o644);
    fs.text("etc/hosts", "127.0.0.1 localhost lab-vm\n::1 localhost\n", 0o644);
    fs.text(
        "lab/run.conf",
        &format!(
            "LAB_NONCE={}\nLAB_CGROUP={}\nLAB_HEARTBEAT={HEARTBEAT_SECS}\n",
            run.nonce,
            run.cgroup.name()
        ),
        0o644,
    );
    fs.text("lab/command.sh", &command_script(&run.env, &run.command), 0o644);
    Ok(fs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            bin_dir: "/t".into(),
            busybox: "/bin/busybox".into(),
            applets: ["sh", "mount", "ip", "nsenter", "chroot", "cp"]
                .map(String::from)
                .to_vec(),
            host_tools: vec![("nsenter".into(), "/bin/true".into())],
            modules: vec![
                ("nfnetlink".into(), b"m1".to_vec()),
                ("nf_tables".into(), b"m2".to_vec()),
            ],
            runtime: None,
            systemd: None,
            docker_image: None,
        }
    }

    #[test]
    fn initramfs_holds_init_tools_binaries_and_modules_in_order() {
        let run = RunConfig {
            nonce: "n1".into(),
            cgroup: CgroupMode::V1,
            env: vec![("LANG".into(), "ko".into())],
            command: vec!["grade".into(), "--topic".into(), "it's".into()],
        };
        let fs = plan_initramfs(&inputs(), &run, &[("labcheck".into(), "/t/labcheck".into())]).unwrap();
        for p in [
            "init",
            "lab/init",
            "dev/console",
            "newroot",
            "bin/busybox",
            "bin/mount",
            "bin/chroot",
            "bin/cp",
            "usr/bin/nsenter",
            "lab/bin/labcheck",
            "lab/out",
        ] {
            assert!(fs.has(p), "{p} missing");
        }
        // busybox's ip and nsenter are not installed: the host's or none.
        assert!(!fs.has("bin/ip"));
        assert_eq!(fs.entries["bin/nsenter"], Node::Symlink("/usr/bin/nsenter".into()));
        // /bin/true's libraries came along (ldd).
        assert!(
            fs.entries.keys().any(|k| k.contains("libc.so")),
            "{:?}",
            fs.entries.keys().collect::<Vec<_>>()
        );
        let text = |p: &str| match &fs.entries[p] {
            Node::File {
                src: Source::Bytes(b), ..
            } => String::from_utf8(b.clone()).unwrap(),
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(text("lab/modules/order"), "nfnetlink.ko\nnf_tables.ko\n");
        assert_eq!(text("lab/run.conf"), "LAB_NONCE=n1\nLAB_CGROUP=v1\nLAB_HEARTBEAT=5\n");
        assert!(text("lab/command.sh").ends_with("export LANG='ko'\nexec 'grade' '--topic' 'it'\\''s'\n"));
        assert_eq!(text("init"), INIT_SCRIPT);
    }

    #[test]
    fn docker_mode_carries_the_image_and_says_so() {
        let run = RunConfig {
            nonce: "n2".into(),
            cgroup: CgroupMode::Docker,
            env: vec![],
            command: vec!["labcheck".into()],
        };
        let mut inp = inputs();
        inp.docker_image = Some("/x/lab-check.tar".into());
        let fs = plan_initramfs(&inp, &run, &[]).unwrap();
        assert_eq!(
            fs.entries["lab/docker/image.tar"],
            Node::File {
                src: Source::Path("/x/lab-check.tar".into()),
                mode: 0o644
            }
        );
        match &fs.entries["lab/run.conf"] {
            Node::File {
                src: Source::Bytes(b), ..
            } => assert!(String::from_utf8_lossy(b).contains("LAB_CGROUP=docker\n")),
            other => panic!("run.conf: {other:?}"),
        }
        // The init script has a branch for the mode.
        assert!(INIT_SCRIPT.contains("\ndocker)\n"));
    }

    #[test]
    fn quoting_survives_the_shell() {
        let word = "a b'c\"$HOME`x`\\";
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote(word)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), word);
    }
}
