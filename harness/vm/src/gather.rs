//! What the VM is made of, found on the host: the workspace's binaries, busybox and
//! its applets, the host tools, the kernel's modules, the runtime under test and the
//! command's environment.

use super::*;

/// The workspace binaries the initramfs holds (/lab/bin).
/// (`oci-runtime` is the adapter for `LAB_RUNTIME=oci:NAME`.)
pub const LAB_BINARIES: [&str; 5] = ["harness", "probe", "labcheck", "grade", "oci-runtime"];

/// Tools the checks (or the runtime) call that are taken from the host with their
/// shared libraries, each with the reason busybox's applet will not do. Busybox's
/// applets of these names are left out, so a tool missing on the host is missing in
/// the VM too and the checks that need it skip saying so.
pub const HOST_TOOLS: [(&str, &str); 9] = [
    (
        "sh",
        "busybox sh runs its own applets before PATH (FEATURE_SH_STANDALONE): a script's unshare would be busybox's",
    ),
    ("nsenter", "busybox nsenter has no -C (cgroup namespace)"),
    ("unshare", "busybox unshare has no --fork"),
    (
        "setpriv",
        "busybox setpriv has no --pdeathsig, --reuid or --clear-groups (the shell starter's)",
    ),
    ("losetup", "busybox losetup has no --find --show --direct-io"),
    ("ip", "busybox ip cannot add a veth pair"),
    ("nft", "not in busybox"),
    ("ldd", "not in busybox (harness rootfs calls it)"),
    ("bash", "ldd is a bash script"),
];

/// Modules the checks need; built-in ones are skipped. `zram` is the VM's swap
/// (init.sh), with `lzo-rle`, its default compressor (a soft dependency, which
/// modinfo's `depends` does not list); `bfq` the I/O scheduler that honours io
/// weights.
pub const MODULES: [&str; 9] = [
    "overlay",
    "loop",
    "veth",
    "nf_tables",
    "dummy",
    "lzo-rle",
    "zram",
    "bfq",
    // --cgroup docker: the containers' interface, over lab0 (no bridge, no iptables).
    "macvlan",
];

/// The Docker Engine of `--cgroup docker`, taken from the host (Debian's docker.io):
/// (name in the VM, candidates on the host).
const DOCKER_TOOLS: [(&str, &[&str]); 5] = [
    ("dockerd", &["/usr/sbin/dockerd", "/usr/bin/dockerd"]),
    ("containerd", &["/usr/bin/containerd"]),
    ("containerd-shim-runc-v2", &["/usr/bin/containerd-shim-runc-v2"]),
    ("runc", &["/usr/sbin/runc", "/usr/bin/runc"]),
    // The CLI of the same package (a newer one elsewhere on PATH may want BuildKit's plugin).
    ("docker", &["/usr/bin/docker", "/usr/local/bin/docker"]),
];

pub(crate) type Env = Vec<(String, String)>;

/// Variables passed on to the command, and the runtime file to copy in.
pub(crate) fn command_env(args: &VmArgs) -> Result<(Env, Option<PathBuf>)> {
    let mut env = Vec::new();
    let mut runtime = None;
    for k in ["LANG", "LC_ALL", "LC_MESSAGES", "RUST_BACKTRACE", "HARNESS_TEST_FAULT"] {
        if let Ok(v) = std::env::var(k) {
            env.push((k.to_string(), v));
        }
    }
    let mut explicit: Vec<(String, String)> = Vec::new();
    for kv in &args.env {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                explicit.push((k.to_string(), v.to_string()))
            }
            _ => return err(format!("--env {kv}: expected KEY=VALUE")),
        }
    }
    let lab_runtime = explicit
        .iter()
        .rev()
        .find(|(k, _)| k == "LAB_RUNTIME")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("LAB_RUNTIME").ok());
    explicit.retain(|(k, _)| k != "LAB_RUNTIME");
    if let Some(v) = lab_runtime.filter(|v| !v.is_empty()) {
        // A file (or `oci:` and a file or a program on PATH) is copied in.
        let (prefix, target) = match v.strip_prefix("oci:") {
            Some(t) => ("oci:", t),
            None => ("", v.as_str()),
        };
        let file = if target.contains('/') {
            Some(PathBuf::from(target))
        } else if prefix.is_empty() {
            None
        } else {
            which(target)
        };
        match file.filter(|f| f.is_file() && v != "reference") {
            Some(f) => {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "runtime".into());
                env.push(("LAB_RUNTIME".into(), format!("{prefix}/lab/runtime/{name}")));
                runtime = Some(f);
            }
            None => env.push(("LAB_RUNTIME".into(), v)),
        }
    }
    env.retain(|(k, _)| !explicit.iter().any(|(e, _)| e == k));
    env.extend(explicit);
    Ok((env, runtime))
}

/// The programs `oci:NAME` in the command's `--table` list names (a path is left alone).
pub(crate) fn table_runtimes(command: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    let mut it = command.iter();
    while let Some(a) = it.next() {
        let list = match a.strip_prefix("--table=") {
            Some(l) => Some(l.to_string()),
            None if a == "--table" => it.next().cloned(),
            None => None,
        };
        for item in list.iter().flat_map(|l| l.split(',')) {
            if let Some(n) = item.trim().strip_prefix("oci:") {
                if !n.is_empty() && !n.contains('/') && !names.iter().any(|x| x == n) {
                    names.push(n.to_string());
                }
            }
        }
    }
    names
}

/// The inputs, the workspace binaries (name, stripped copy) and notes for the log.
pub(crate) type Gathered = (Inputs, Vec<(String, PathBuf)>, Vec<String>);

// Long: one input of the VM after another.
pub(crate) fn gather(args: &VmArgs, cache: &Path, kernel: &Kernel, stage: &Path) -> Result<Gathered> {
    let mut notes = Vec::new();
    let bin_dir = labkit::rootfs::probe_path()
        .map_err(|e| VmError(e.to_string()))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut binaries = Vec::new();
    for b in LAB_BINARIES {
        let p = bin_dir.join(b);
        if p.is_file() {
            binaries.push((b.to_string(), stripped(&p, stage)));
        } else if b == "harness" || b == "probe" || args.command.first().map(|c| c == b).unwrap_or(b == "labcheck") {
            return err(format!(
                "{} is not built: run `cargo build --workspace --bins`",
                p.display()
            ));
        }
    }
    let busybox = match &args.busybox {
        Some(p) => p.clone(),
        None => which("busybox")
            .ok_or_else(|| VmError("busybox is not installed: apt-get install busybox-static".into()))?,
    };
    if !labkit::rootfs::shared_libraries(&busybox)
        .map_err(|e| VmError(e.to_string()))?
        .is_empty()
    {
        return err(format!(
            "{} is linked dynamically: apt-get install busybox-static (or pass --busybox)",
            busybox.display()
        ));
    }
    let list = run_tool(Command::new(&busybox).arg("--list"), "busybox --list")?;
    let applets: Vec<String> = String::from_utf8_lossy(&list)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    let mut host_tools = Vec::new();
    for (name, why) in HOST_TOOLS {
        match which(name) {
            Some(p) => host_tools.push((name.to_string(), p)),
            None => notes.push(format!(
                "{name} is not on this host ({why}): the checks that need it will skip"
            )),
        }
    }
    // The OCI runtimes of a `labcheck --table` go in as host tools: inside, `oci:runc`
    // names the same program, so the table's columns read as they do on the host.
    for name in table_runtimes(&args.command) {
        if host_tools.iter().any(|(n, _)| *n == name) {
            continue;
        }
        match which(&name) {
            Some(p) => host_tools.push((name, p)),
            None => notes.push(format!(
                "{name} is not on this host: its column of the table will say it is not installed"
            )),
        }
    }
    let mut modules = Vec::new();
    match &kernel.modules {
        Some(dir) => {
            let (index, builtin) = index_modules(dir);
            let (order, missing) = resolve_modules(&index, &builtin, &MODULES, &mut |p| read_module(p))?;
            for m in missing {
                notes.push(format!(
                    "module {m} not found in {}: it must be built into the kernel",
                    dir.display()
                ));
            }
            modules = order;
        }
        None => notes.push(format!(
            "no modules directory for this kernel: {} must be built in",
            MODULES.join(", ")
        )),
    }
    let (_, runtime) = command_env(args)?;
    let docker_image = if args.cgroup == CgroupMode::Docker {
        for (name, candidates) in DOCKER_TOOLS {
            let found = candidates
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    VmError(format!(
                        "--cgroup docker: {name} is not on this host ({}): apt-get install docker.io",
                        candidates.join(", ")
                    ))
                })?;
            host_tools.retain(|(n, _)| n != name);
            host_tools.push((name.to_string(), found));
        }
        let image = args.docker_image.clone().ok_or_else(|| {
            VmError("--cgroup docker needs --docker-image TAR (make check-vm CGROUP=docker builds it)".into())
        })?;
        if !image.is_file() {
            return err(format!("--docker-image {}: no such file", image.display()));
        }
        Some(image)
    } else {
        None
    };
    let systemd = match args.cgroup {
        CgroupMode::Systemd => Some(debian_systemd(cache)?),
        _ => None,
    };
    Ok((
        Inputs {
            bin_dir,
            busybox,
            applets,
            host_tools,
            modules,
            runtime,
            systemd,
            docker_image,
        },
        binaries,
        notes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_runtimes_are_the_oci_programs_of_the_table() {
        let cmd = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            table_runtimes(&cmd(&[
                "labcheck",
                "--table",
                "reference,oci:runc,oci:crun,oci:/x/youki"
            ])),
            ["runc", "crun"]
        );
        assert_eq!(
            table_runtimes(&cmd(&["labcheck", "--table=oci:runc,oci:runc"])),
            ["runc"]
        );
        assert!(table_runtimes(&cmd(&["labcheck", "oci:runc"])).is_empty());
    }
}
