//! One run of the VM: a work directory of its own, the initramfs, the accelerator
//! plan, each boot and its verdict, and the end of the run.

use super::*;

pub(crate) fn console_tail(path: &Path, lines: usize) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).replace('\r', "");
    let all: Vec<&str> = text.lines().filter(|l| l.trim() != HEARTBEAT_LINE).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// target/vm, found from the running binary (target/<triple>/<profile>/harness).
pub(crate) fn default_cache() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|a| a.file_name().map(|n| n == "target").unwrap_or(false))
        .map(|t| t.join("vm"))
        .unwrap_or_else(|| std::env::temp_dir().join("harness-vm"))
}

pub(crate) fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{:x}{:x}",
        t.as_nanos() as u64 ^ u64::from(std::process::id()) << 40,
        std::process::id()
    )
}

pub(crate) fn run(args: &VmArgs) -> Result<i32> {
    let t0 = Instant::now();
    let cache = args.cache.clone().unwrap_or_else(default_cache);
    std::fs::create_dir_all(&cache).map_err(io_err(cache.display()))?;
    let kernel = chosen_kernel(args, &cache)?;
    // Files of this run in a directory of its own (runs may go on side by side); the
    // console log is kept as <cache>/console.log afterwards.
    remove_stale_runs(&cache);
    let work = cache.join(format!("run-{}", std::process::id()));
    let stage = work.join("stage");
    std::fs::create_dir_all(&stage).map_err(io_err(stage.display()))?;
    let r = run_in(args, &cache, &work, &kernel, t0);
    let console = work.join("console.log");
    if console.exists() {
        let _ = std::fs::rename(&console, cache.join("console.log"));
    }
    let _ = std::fs::remove_dir_all(&work);
    r
}

/// Removes the run directories of harness processes that are gone.
pub(crate) fn remove_stale_runs(cache: &Path) {
    let Ok(rd) = std::fs::read_dir(cache) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("run-").and_then(|p| p.parse::<u32>().ok()) {
            if !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// The initramfs written to WORK/initramfs.cpio; its path and size.
fn write_initramfs(fs: &Initramfs, work: &Path) -> Result<(PathBuf, u64)> {
    let initrd = work.join("initramfs.cpio");
    let f = std::fs::File::create(&initrd).map_err(io_err(initrd.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let n = fs.write(&mut w)?;
    w.flush().map_err(io_err(initrd.display()))?;
    Ok((initrd, n))
}

/// How long a boot and a silence may last under `accel`, said once.
fn limits_for(accel: AccelKind, args: &VmArgs, proving: bool) -> Limits {
    match accel {
        AccelKind::Kvm => {
            say(if proving {
                format!("accelerator: KVM, to be proven: the VM must reach its init within {KVM_BOOT_SECS} s")
            } else {
                "accelerator: KVM (proven on this host)".to_string()
            });
            Limits {
                boot: Duration::from_secs(KVM_BOOT_SECS),
                stall: Duration::from_secs(args.kvm_stall_secs),
            }
        }
        AccelKind::Tcg => {
            say(if args.accel == Accel::Tcg {
                "accelerator: TCG (--accel tcg)"
            } else {
                "accelerator: TCG"
            });
            Limits {
                boot: Duration::from_secs(TCG_BOOT_SECS),
                stall: Duration::from_secs(TCG_STALL_SECS),
            }
        }
    }
}

/// Why a run under KVM shows KVM unusable here, if it does.
fn kvm_failure(ran: &Ran, limits: &Limits) -> Option<String> {
    match &ran.outcome {
        Outcome::NoBoot => Some(format!(
            "the VM did not reach its init within {KVM_BOOT_SECS} s under KVM"
        )),
        Outcome::Stalled => Some(format!(
            "the VM stopped answering for {} s under KVM",
            limits.stall.as_secs()
        )),
        Outcome::Died(why) => Some(why.clone()),
        Outcome::TimedOut | Outcome::Finished { .. } => None,
    }
}

/// Keeps what a KVM run proved (or disproved) for the next run on this host.
fn keep_verdict(store: Option<&Store>, failure: Option<&String>, ran: &Ran, proving: bool) {
    let verdict = match (failure, ran.booted) {
        (Some(why), _) => Some((false, why.clone())),
        (None, Some(b)) if proving => Some((
            true,
            format!("a VM reached its init under KVM in {:.1} s", b.as_secs_f64()),
        )),
        _ => None,
    };
    if let (Some((kvm, why)), Some(s)) = (verdict, store) {
        if let Err(e) = s.save(kvm, &why) {
            say(format!(
                "the accelerator verdict was not kept ({e}): the next run proves it again"
            ));
        }
    }
}

/// The end of a run that was not abandoned: the command's files written and its
/// status, or what kept it from ending (an environment problem, not a check result).
fn conclude(
    ran: Ran,
    limits: &Limits,
    args: &VmArgs,
    command: &str,
    t0: Instant,
    boot: &Boot,
    console_log: &Path,
) -> Result<i32> {
    let env_problem = "an environment problem, not a check result";
    let (what, code) = match ran.outcome {
        Outcome::NoBoot => (
            format!(
                "the VM did not reach its init within {} s ({env_problem})",
                limits.boot.as_secs()
            ),
            EXIT_VM,
        ),
        Outcome::Stalled => (
            format!(
                "the VM stopped answering: nothing from it for {} s ({env_problem})",
                limits.stall.as_secs()
            ),
            EXIT_VM,
        ),
        Outcome::TimedOut => (
            format!("time limit of {} s reached: qemu killed", args.timeout),
            EXIT_TIMEOUT,
        ),
        Outcome::Died(why) => (format!("the VM could not run: {why} ({env_problem})"), EXIT_VM),
        Outcome::Finished { rc, files, complete } => {
            std::fs::create_dir_all(&args.out).map_err(io_err(args.out.display()))?;
            for (name, data) in files {
                if !safe_name(&name) {
                    say(format!("the VM sent a file named {name:?}: not written"));
                    continue;
                }
                let p = args.out.join(&name);
                std::fs::write(&p, data).map_err(io_err(p.display()))?;
                say(format!("wrote {}", p.display()));
            }
            if !complete {
                say("the VM stopped before all its files were sent");
            }
            say(format!(
                "{command} exited {rc}; VM {:.1} s, all {:.1} s",
                ran.took.as_secs_f64(),
                t0.elapsed().as_secs_f64()
            ));
            return Ok(rc);
        }
    };
    say(format!(
        "{what}; console ({}):\n{}",
        console_log.display(),
        console_tail(&boot.console, 30)
    ));
    Ok(code)
}

// Long: the run in order: initramfs, accelerator plan, each boot and its verdict.
pub(crate) fn run_in(args: &VmArgs, cache: &Path, work: &Path, kernel: &Kernel, t0: Instant) -> Result<i32> {
    let deadline = t0 + Duration::from_secs(args.timeout);
    let stage = work.join("stage");
    let (inputs, binaries, notes) = gather(args, cache, kernel, &stage)?;
    for n in &notes {
        say(n);
    }
    let (env, _) = command_env(args)?;
    let command = if args.command.is_empty() {
        vec!["labcheck".to_string()]
    } else {
        args.command.clone()
    };
    let run = RunConfig {
        nonce: nonce(),
        cgroup: args.cgroup,
        env,
        command,
    };
    let (initrd, size) = write_initramfs(&plan_initramfs(&inputs, &run, &binaries)?, work)?;
    let _ = std::fs::remove_dir_all(&stage);
    let mut store = None;
    let plan = accel::plan(args.accel, || {
        if let Err(why) = accel::device_opens(&args.kvm_device) {
            return Known::NoDevice(why);
        }
        let s = Store::new(cache, accel::key(&args.qemu, kernel.version.as_deref(), &kernel.image));
        let known = s.load().map(Known::Cached).unwrap_or(Known::Unproven);
        store = Some(s);
        known
    });
    let modules: Vec<&str> = inputs.modules.iter().map(|(n, _)| n.as_str()).collect();
    say(format!(
        "kernel {} ({}), cgroup {}, {} CPUs, {} MiB, initramfs {:.1} MiB, modules: {}",
        kernel.version.as_deref().unwrap_or("?"),
        kernel.origin,
        args.cgroup.name(),
        args.cpus,
        args.memory,
        size as f64 / (1 << 20) as f64,
        if modules.is_empty() {
            "none".to_string()
        } else {
            modules.join(" ")
        },
    ));
    if let Some(why) = &plan.why_not_kvm {
        say(format!("KVM unusable here ({why}), using TCG"));
    }
    let boot = Boot {
        args,
        kernel: &kernel.image,
        initrd: &initrd,
        console: work.join("console.log"),
        results: work.join("results.log"),
        nonce: &run.nonce,
    };
    let console_log = cache.join("console.log");
    for (i, accel) in plan.tries.iter().enumerate() {
        let fallback = i + 1 < plan.tries.len();
        let limits = limits_for(*accel, args, plan.proving);
        let ran = boot.run(*accel, &limits, deadline)?;
        if *accel == AccelKind::Kvm {
            let failure = kvm_failure(&ran, &limits);
            keep_verdict(store.as_ref(), failure.as_ref(), &ran, plan.proving);
            if let Some(why) = failure {
                let kvm_console = cache.join("console-kvm.log");
                let _ = std::fs::copy(&boot.console, &kvm_console);
                if fallback {
                    say(format!("KVM unusable here ({why}), using TCG"));
                    if ran.output_began {
                        say("the output above came from the abandoned KVM run: the command starts over under TCG");
                    }
                    continue;
                }
                say(format!(
                    "KVM unusable here ({why}); console ({}):\n{}",
                    kvm_console.display(),
                    console_tail(&boot.console, 30)
                ));
                return Ok(EXIT_VM);
            }
        }
        return conclude(ran, &limits, args, &run.command[0], t0, &boot, &console_log);
    }
    Ok(EXIT_VM)
}
