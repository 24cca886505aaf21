//! qemu itself: the command line, and one boot followed until the command ends,
//! the VM stalls or the time limit passes.

#[allow(unused_imports)]
use super::*;

/// The kernel command line.
pub fn kernel_cmdline() -> String {
    // mitigations=off: page-table isolation costs a lot under TCG, and this VM runs
    // nothing but the checks. tsc=reliable: under TCG the TSC sync test fails (the
    // vCPUs are emulated slowly), the kernel then takes HPET for wall time while CPU
    // time still comes from the TSC, and a miscalibrated TSC would skew every
    // CPU-time/wall-time ratio the checks measure; with it both come from the TSC.
    "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init mitigations=off tsc=reliable".into()
}

/// qemu's file chardev path, with commas doubled as its option syntax wants.
pub(crate) fn chardev_path(p: &Path) -> String {
    p.to_string_lossy().replace(',', ",,")
}

pub fn qemu_args(
    args: &VmArgs,
    accel: AccelKind,
    kernel: &Path,
    initrd: &Path,
    console: &Path,
    results: &Path,
) -> Vec<OsString> {
    let mut v: Vec<OsString> = Vec::new();
    let mut push = |s: &str| v.push(OsString::from(s));
    match accel {
        AccelKind::Kvm => {
            push("-accel");
            push("kvm");
            push("-cpu");
            push("host");
        }
        AccelKind::Tcg => {
            push("-accel");
            push("tcg,thread=multi");
            push("-cpu");
            push("max");
        }
    }
    for s in [
        "-machine",
        "pc",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-monitor",
        "none",
    ] {
        push(s);
    }
    push("-m");
    push(&args.memory.to_string());
    push("-smp");
    push(&args.cpus.to_string());
    push("-chardev");
    push(&format!("file,id=console,path={}", chardev_path(console)));
    push("-serial");
    push("chardev:console");
    push("-chardev");
    push(&format!("file,id=results,path={}", chardev_path(results)));
    push("-serial");
    push("chardev:results");
    push("-append");
    push(&kernel_cmdline());
    v.push("-kernel".into());
    v.push(kernel.into());
    v.push("-initrd".into());
    v.push(initrd.into());
    v
}

/// How one boot ended.
pub(crate) enum Outcome {
    /// The command ended (status), with the files it sent.
    Finished {
        rc: i32,
        files: Vec<(String, Vec<u8>)>,
        complete: bool,
    },
    /// The boot did not reach the init in time.
    NoBoot,
    /// The booted VM wrote nothing for the stall limit (no heartbeat, no output).
    Stalled,
    TimedOut,
    /// qemu ended without a result: the reason ([`qemu_failure`]).
    Died(String),
}

/// One boot: how it ended, how long it took, when the init was reached, and whether
/// the command's output had begun (a start over would then repeat it).
pub(crate) struct Ran {
    pub(crate) outcome: Outcome,
    pub(crate) took: Duration,
    pub(crate) booted: Option<Duration>,
    pub(crate) output_began: bool,
}

/// Time limits of one boot.
pub(crate) struct Limits {
    /// To reach the init.
    pub(crate) boot: Duration,
    /// Without a byte from a booted VM.
    pub(crate) stall: Duration,
}

pub(crate) fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads what was appended to `f` since the last call.
pub(crate) fn read_new(f: &mut std::fs::File, pos: &mut u64) -> Vec<u8> {
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(*pos)).is_ok() && f.read_to_end(&mut buf).is_ok() {
        *pos += buf.len() as u64;
    }
    buf
}

pub(crate) struct Boot<'a> {
    pub(crate) args: &'a VmArgs,
    pub(crate) kernel: &'a Path,
    pub(crate) initrd: &'a Path,
    pub(crate) console: PathBuf,
    pub(crate) results: PathBuf,
    pub(crate) nonce: &'a str,
}

impl Boot<'_> {
    /// qemu started with its stderr drained as it comes (a qemu stuck on a full pipe
    /// would look hung) and kept up to 64 KiB: the reason a failed start gives is in
    /// its first lines.
    fn spawn(&self, accel: AccelKind) -> Result<(Child, Option<std::thread::JoinHandle<()>>, Said)> {
        let mut cmd = Command::new(&self.args.qemu);
        cmd.args(qemu_args(
            self.args,
            accel,
            self.kernel,
            self.initrd,
            &self.console,
            &self.results,
        ));
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe. qemu dies with us, so nothing is left running.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(io_err(format!(
            "starting {} (apt-get install qemu-system-x86)",
            self.args.qemu.display()
        )))?;
        let said = Said::default();
        let drain = child.stderr.take().map(|mut e| {
            let said = said.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = e.read(&mut buf) {
                    let mut s = said.lock().unwrap_or_else(|p| p.into_inner());
                    let room = (64usize << 10).saturating_sub(s.len());
                    s.extend_from_slice(&buf[..n.min(room)]);
                }
            })
        });
        Ok((child, drain, said))
    }

    pub(crate) fn run(&self, accel: AccelKind, limits: &Limits, deadline: Instant) -> Result<Ran> {
        for p in [&self.console, &self.results] {
            std::fs::write(p, b"").map_err(io_err(p.display()))?;
        }
        let started = Instant::now();
        let (mut child, drain, said) = self.spawn(accel)?;
        let mut results = std::fs::File::open(&self.results).map_err(io_err(self.results.display()))?;
        let mut console = std::fs::File::open(&self.console).map_err(io_err(self.console.display()))?;
        let (mut rpos, mut cpos) = (0u64, 0u64);
        let mut got = Received::default_at(started, self.nonce);
        let mut last_sign = Instant::now();
        let mut console_len = 0u64;
        let mut ended_early = None;
        let status = loop {
            let new = read_new(&mut results, &mut rpos);
            if !new.is_empty() {
                last_sign = Instant::now();
                got.feed(&new);
            }
            if self.args.console {
                let _ = std::io::stderr().write_all(&read_new(&mut console, &mut cpos));
            }
            let len = std::fs::metadata(&self.console).map(|m| m.len()).unwrap_or(0);
            if len != console_len {
                console_len = len;
                last_sign = Instant::now();
            }
            if let Ok(Some(st)) = child.try_wait() {
                break Some(st);
            }
            let stop = if got.done {
                // Everything arrived: qemu is powering off; give it a moment.
                let end = Instant::now() + Duration::from_secs(5);
                while Instant::now() < end && !matches!(child.try_wait(), Ok(Some(_))) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Some(None)
            } else if got.booted.is_none() && started.elapsed() > limits.boot {
                Some(Some(Outcome::NoBoot))
            } else if got.booted.is_some() && last_sign.elapsed() > limits.stall {
                Some(Some(Outcome::Stalled))
            } else if Instant::now() > deadline {
                Some(Some(Outcome::TimedOut))
            } else {
                None
            };
            if let Some(early) = stop {
                kill(&mut child);
                ended_early = early;
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        got.feed(&read_new(&mut results, &mut rpos));
        if ended_early.is_none() {
            let rest = got.parser.finish();
            got.take(rest);
        }
        if self.args.console {
            let _ = std::io::stderr().write_all(&read_new(&mut console, &mut cpos));
        }
        // Whatever qemu left running may hold its stderr open: the reader is not waited
        // for past a moment.
        if let Some(t) = drain {
            let end = Instant::now() + Duration::from_secs(1);
            while !t.is_finished() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let said = String::from_utf8_lossy(&said.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
        if let Some(b) = got.booted {
            say(format!("booted in {:.1} s", b.as_secs_f64()));
        }
        Ok(got.into_ran(ended_early, status, &said))
    }
}

/// What qemu said on stderr, shared with the thread that drains it.
type Said = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;

/// What has come over the result port so far.
struct Received {
    started: Instant,
    parser: ResultParser,
    booted: Option<Duration>,
    rc: Option<i32>,
    files: Vec<(String, Vec<u8>)>,
    done: bool,
}

impl Received {
    fn default_at(started: Instant, nonce: &str) -> Received {
        Received {
            started,
            parser: ResultParser::new(nonce),
            booted: None,
            rc: None,
            files: Vec::new(),
            done: false,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        let events = self.parser.feed(bytes);
        self.take(events);
    }

    /// The command's lines go to stdout as they come; the rest is kept.
    fn take(&mut self, events: Vec<Event>) {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for e in events {
            match e {
                Event::Boot => self.booted = Some(self.started.elapsed()),
                Event::Line(l) => {
                    let _ = out.write_all(&l);
                    let _ = out.write_all(b"\n");
                }
                Event::End(c) => self.rc = Some(c),
                Event::File { name, data } => self.files.push((name, data)),
                Event::BadFile(name) => say(format!("the VM sent {name} garbled; not written")),
                Event::Done => self.done = true,
            }
        }
        let _ = out.flush();
    }

    fn into_ran(self, ended_early: Option<Outcome>, status: Option<std::process::ExitStatus>, said: &str) -> Ran {
        let outcome = match (ended_early, self.rc) {
            (Some(o), _) => o,
            (None, Some(rc)) => Outcome::Finished {
                rc,
                files: self.files,
                complete: self.done,
            },
            (None, None) => Outcome::Died(match status {
                Some(st) => qemu_failure(said, Some(st)),
                None if said.trim().is_empty() => "the VM sent no result".to_string(),
                None => format!("the VM sent no result; {}", qemu_failure(said, None)),
            }),
        };
        Ran {
            outcome,
            took: self.started.elapsed(),
            booted: self.booted,
            output_began: self.parser.began(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_gets_two_serial_files_and_the_accelerator() {
        let args = VmArgs {
            cgroup: CgroupMode::V2,
            kernel: None,
            modules: None,
            kernel_package: "p".into(),
            accel: Accel::Auto,
            kvm_device: "/dev/kvm".into(),
            kvm_stall_secs: KVM_STALL_SECS,
            timeout: 1,
            memory: 1024,
            cpus: 2,
            cache: None,
            out: ".".into(),
            env: vec![],
            busybox: None,
            qemu: "q".into(),
            docker_image: None,
            console: false,
            command: vec![],
        };
        let v: Vec<String> = qemu_args(
            &args,
            AccelKind::Tcg,
            Path::new("/k"),
            Path::new("/i"),
            Path::new("/c,1"),
            Path::new("/r"),
        )
        .into_iter()
        .map(|s| s.into_string().unwrap())
        .collect();
        let s = v.join(" ");
        assert!(s.contains("-accel tcg,thread=multi -cpu max"), "{s}");
        assert!(
            s.contains("file,id=console,path=/c,,1") && s.contains("file,id=results,path=/r"),
            "{s}"
        );
        assert!(
            s.contains("-m 1024 -smp 2") && s.contains("-kernel /k -initrd /i"),
            "{s}"
        );
        assert!(v.iter().position(|a| a == "chardev:console") < v.iter().position(|a| a == "chardev:results"));
        let k = qemu_args(
            &args,
            AccelKind::Kvm,
            Path::new("/k"),
            Path::new("/i"),
            Path::new("/c"),
            Path::new("/r"),
        );
        assert!(k.iter().any(|a| a == "kvm"));
    }
}
