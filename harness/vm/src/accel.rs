//! Which accelerator the VM runs under: proven by a boot, never assumed.
//!
//! A `/dev/kvm` that opens and answers its ioctls says little about whether a VM will
//! run under it. On machines of one kind it has let the guest hang at boot; on others
//! qemu starts and then aborts at once (`failed to set MSR 0x10a`), and nested
//! virtualisation changes under a host without notice. So under `--accel auto` KVM
//! counts only once a VM has reached its init under it; any other end of a KVM start
//! (qemu exits or is killed by a signal, the boot shows no banner in time, the VM
//! stops answering) falls back to TCG with one line saying why, and the run goes on.
//!
//! The verdict, either way, is kept in `<cache>/accel/<key>.json` for one host boot,
//! host kernel, qemu binary and guest kernel: a later run on the same host starts with
//! the right accelerator and does not pay the failed start again, and a verdict is
//! never trusted after any of those changed (the key is compared whole, not only its
//! hash). `--accel kvm` fails with the same reason instead of falling back; `--accel
//! tcg` reads no verdict and never opens `/dev/kvm`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Accel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccelKind {
    Kvm,
    Tcg,
}

/// Bumped when the way KVM is started changes (`-cpu host`, the machine type): a
/// verdict found with another recipe says nothing about this one.
pub const KVM_RECIPE: &str = "kvm -cpu host -machine pc; banner on the results port; v2";

/// What is known of this host before any VM starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// `/dev/kvm` cannot be opened (the reason).
    NoDevice(String),
    /// A verdict from an earlier run with the same key.
    Cached(Verdict),
    /// The device opens and nothing is known yet: a boot will tell.
    Unproven,
}

/// The accelerators to try, in order, and the line to say before the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub tries: Vec<AccelKind>,
    /// Why TCG without trying KVM (said as `KVM unusable here (…), using TCG`).
    pub why_not_kvm: Option<String>,
    /// A KVM start must prove itself (no verdict says it works).
    pub proving: bool,
}

/// Pure: the plan for what was asked and what is known. `known` is only looked at
/// under `--accel auto`.
pub fn plan(req: Accel, known: impl FnOnce() -> Known) -> Plan {
    match req {
        Accel::Tcg => Plan {
            tries: vec![AccelKind::Tcg],
            why_not_kvm: None,
            proving: false,
        },
        Accel::Kvm => Plan {
            tries: vec![AccelKind::Kvm],
            why_not_kvm: None,
            proving: true,
        },
        Accel::Auto => match known() {
            Known::NoDevice(why) => Plan {
                tries: vec![AccelKind::Tcg],
                why_not_kvm: Some(why),
                proving: false,
            },
            Known::Cached(v) if !v.kvm => Plan {
                tries: vec![AccelKind::Tcg],
                why_not_kvm: Some(format!(
                    "{}; found by an earlier run on this host, kernel and qemu",
                    v.reason
                )),
                proving: false,
            },
            // Proven before, but a host can still change under the same key: keep TCG
            // to fall back on.
            Known::Cached(_) => Plan {
                tries: vec![AccelKind::Kvm, AccelKind::Tcg],
                why_not_kvm: None,
                proving: false,
            },
            Known::Unproven => Plan {
                tries: vec![AccelKind::Kvm, AccelKind::Tcg],
                why_not_kvm: None,
                proving: true,
            },
        },
    }
}

/// `path` opens read-write (what qemu needs first); the error names the path.
pub fn device_opens(path: &Path) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map(drop)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// What identifies a verdict: a change of any field makes earlier verdicts stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// /etc/machine-id (the hostname where there is none).
    pub host: String,
    /// This boot of the host: nested virtualisation and module options can change with
    /// a reboot while everything else stays.
    pub boot: String,
    /// uname's release and version.
    pub host_kernel: String,
    /// The qemu binary: resolved path, size, modification time and `--version`.
    pub qemu: String,
    /// The guest kernel: its version and image size.
    pub guest_kernel: String,
    pub recipe: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub kvm: bool,
    /// For KVM: how it was proven; otherwise why it is unusable.
    pub reason: String,
    /// Seconds since the epoch.
    pub at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    key: Key,
    verdict: Verdict,
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// `cmd`'s standard output, or None when it fails or takes longer than `limit`.
fn output_within(cmd: &mut Command, limit: Duration) -> Option<String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let end = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => break,
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut s = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut s).ok()?;
    Some(s)
}

/// The key of this host, this qemu and this guest kernel.
pub fn key(qemu: &Path, guest_version: Option<&str>, guest_image: &Path) -> Key {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let host = Some(read("/etc/machine-id"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let uts = nix::sys::utsname::uname().ok();
    let host_kernel = uts
        .map(|u| format!("{} {}", u.release().to_string_lossy(), u.version().to_string_lossy()))
        .unwrap_or_default();
    let qemu_path = super::which(&qemu.to_string_lossy()).or_else(|| qemu.is_file().then(|| qemu.to_path_buf()));
    let qemu = match &qemu_path {
        Some(p) => {
            let real = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            let meta = std::fs::metadata(&real).ok();
            let (size, mtime) = meta
                .map(|m| (m.len(), std::os::unix::fs::MetadataExt::mtime(&m)))
                .unwrap_or((0, 0));
            let version = output_within(Command::new(p).arg("--version"), Duration::from_secs(10))
                .map(|v| first_line(&v))
                .unwrap_or_default();
            format!("{} {size} {mtime} {version}", real.display())
        }
        None => format!("{} (not found)", qemu.display()),
    };
    let image_size = std::fs::metadata(guest_image).map(|m| m.len()).unwrap_or(0);
    Key {
        host,
        boot: read("/proc/sys/kernel/random/boot_id"),
        host_kernel,
        qemu,
        guest_kernel: format!("{} {image_size}", guest_version.unwrap_or("?")),
        recipe: KVM_RECIPE.into(),
    }
}

/// 64-bit FNV-1a: names the verdict file of a key (the file holds the whole key).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Verdicts kept under a cache directory, one file a key.
pub struct Store {
    dir: PathBuf,
    key: Key,
}

impl Store {
    pub fn new(cache: &Path, key: Key) -> Store {
        Store {
            dir: cache.join("accel"),
            key,
        }
    }

    pub fn path(&self) -> PathBuf {
        let text = serde_json::to_string(&self.key).unwrap_or_default();
        self.dir.join(format!("{:016x}.json", fnv1a(text.as_bytes())))
    }

    /// The verdict for exactly this key, if one was stored.
    pub fn load(&self) -> Option<Verdict> {
        let text = std::fs::read_to_string(self.path()).ok()?;
        let stored: Stored = serde_json::from_str(&text).ok()?;
        (stored.key == self.key).then_some(stored.verdict)
    }

    /// Stores the verdict (written whole, then renamed) and removes the verdicts of
    /// earlier boots, which can never match again. Failing to store costs only a
    /// later proof, so it is said, not fatal.
    pub fn save(&self, kvm: bool, reason: &str) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                let stale = std::fs::read_to_string(e.path())
                    .ok()
                    .and_then(|t| serde_json::from_str::<Stored>(&t).ok())
                    .map(|s| s.key.boot != self.key.boot)
                    .unwrap_or(false);
                if stale {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let stored = Stored {
            key: self.key.clone(),
            verdict: Verdict {
                kvm,
                reason: reason.to_string(),
                at,
            },
        };
        let path = self.path();
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let text = serde_json::to_string_pretty(&stored).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// One short reason from what a qemu that ended said and how it ended:
/// `qemu: failed to set MSR 0x10a to 0x69`, `qemu: Could not access KVM kernel module:
/// No such file or directory`, `qemu was killed by signal 6 (SIGABRT)`.
pub fn qemu_failure(stderr: &str, status: Option<ExitStatus>) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    // qemu prefixes its messages with its program name; the assertion that follows an
    // MSR error names a source file and says less.
    let strip = |l: &str| -> String {
        let rest = match l.split_once(": ") {
            Some((prog, rest)) if prog.starts_with("qemu") && !prog.contains(' ') => rest,
            _ => l,
        };
        rest.strip_prefix("error: ").unwrap_or(rest).to_string()
    };
    let pick = lines
        .iter()
        .find(|l| l.contains("error:"))
        .or_else(|| {
            lines
                .iter()
                .find(|l| l.to_ascii_lowercase().contains("kvm") && !l.contains("Assertion"))
        })
        .or_else(|| lines.first());
    let mut why = match pick {
        Some(l) => format!("qemu: {}", strip(l)),
        None => String::new(),
    };
    if why.len() > 200 {
        let mut cut = 200;
        while !why.is_char_boundary(cut) {
            cut -= 1;
        }
        why.truncate(cut);
        why.push('…');
    }
    let how = status.map(|st| {
        use std::os::unix::process::ExitStatusExt;
        match (st.code(), st.signal()) {
            (Some(c), _) => format!("qemu exited with status {c}"),
            (_, Some(s)) => format!(
                "qemu was killed by signal {s}{}",
                nix::sys::signal::Signal::try_from(s)
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
            _ => "qemu ended".to_string(),
        }
    });
    match (why.is_empty(), how) {
        (true, Some(h)) => h,
        (true, None) => "qemu ended without saying why".into(),
        (false, _) => why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn tcg_never_looks_at_the_host_and_kvm_never_falls_back() {
        let p = plan(Accel::Tcg, || {
            panic!("--accel tcg must not look at /dev/kvm or a verdict")
        });
        assert_eq!(p.tries, vec![AccelKind::Tcg]);
        let p = plan(Accel::Kvm, || panic!("--accel kvm is tried as asked"));
        assert_eq!((p.tries, p.proving), (vec![AccelKind::Kvm], true));
    }

    #[test]
    fn auto_proves_kvm_unless_a_verdict_or_the_device_says_no() {
        use AccelKind::*;
        let p = plan(Accel::Auto, || Known::Unproven);
        assert_eq!((p.tries, p.proving, p.why_not_kvm), (vec![Kvm, Tcg], true, None));
        let p = plan(Accel::Auto, || Known::NoDevice("/dev/kvm: Permission denied".into()));
        assert_eq!(
            (p.tries, p.why_not_kvm.as_deref()),
            (vec![Tcg], Some("/dev/kvm: Permission denied"))
        );
        let no = Verdict {
            kvm: false,
            reason: "qemu: failed to set MSR 0x10a to 0x69".into(),
            at: 1,
        };
        let p = plan(Accel::Auto, || Known::Cached(no));
        assert_eq!(p.tries, vec![Tcg]);
        assert!(p
            .why_not_kvm
            .unwrap()
            .starts_with("qemu: failed to set MSR 0x10a to 0x69; found by an earlier run"));
        let yes = Verdict {
            kvm: true,
            reason: "reached the init in 1.0 s".into(),
            at: 1,
        };
        let p = plan(Accel::Auto, || Known::Cached(yes));
        assert_eq!((p.tries, p.proving), (vec![Kvm, Tcg], false));
    }

    #[test]
    fn the_reason_is_qemus_own_error_line() {
        let abort = ExitStatus::from_raw(6);
        let said = "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n";
        assert_eq!(qemu_failure(said, Some(abort)), "qemu: failed to set MSR 0x10a to 0x69");
        let said = "Could not access KVM kernel module: No such file or directory\nqemu-system-x86_64: failed to initialize kvm: No such file or directory\n";
        assert_eq!(
            qemu_failure(said, Some(ExitStatus::from_raw(1 << 8))),
            "qemu: Could not access KVM kernel module: No such file or directory"
        );
        assert_eq!(qemu_failure("", Some(abort)), "qemu was killed by signal 6 (SIGABRT)");
        assert_eq!(
            qemu_failure("  \n", Some(ExitStatus::from_raw(3 << 8))),
            "qemu exited with status 3"
        );
        assert!(qemu_failure(&"x".repeat(1000), None).chars().count() <= 206);
    }

    fn a_key(boot: &str) -> Key {
        Key {
            host: "h".into(),
            boot: boot.into(),
            host_kernel: "6.18".into(),
            qemu: "/usr/bin/qemu 1 2 QEMU emulator version 7.2".into(),
            guest_kernel: "6.1.0 3".into(),
            recipe: KVM_RECIPE.into(),
        }
    }

    #[test]
    fn a_verdict_is_trusted_only_for_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path(), a_key("b1"));
        assert_eq!(s.load(), None);
        s.save(false, "qemu: failed to set MSR 0x10a to 0x69").unwrap();
        let v = s.load().unwrap();
        assert_eq!(
            (v.kvm, v.reason.as_str()),
            (false, "qemu: failed to set MSR 0x10a to 0x69")
        );
        // Any field changed: another file, nothing known.
        let changes: [fn(&mut Key); 5] = [
            |k: &mut Key| k.qemu = "/usr/bin/qemu 1 2 QEMU emulator version 10.0".into(),
            |k: &mut Key| k.host_kernel = "6.19".into(),
            |k: &mut Key| k.guest_kernel = "6.12.0 4".into(),
            |k: &mut Key| k.host = "other".into(),
            |k: &mut Key| k.recipe = "other".into(),
        ];
        for change in changes {
            let mut k = a_key("b1");
            change(&mut k);
            assert_eq!(Store::new(dir.path(), k).load(), None);
        }
        // A file whose name matches but whose key differs (a collision, an edit) is not trusted.
        let mut other = a_key("b1");
        other.qemu = "changed".into();
        let text = std::fs::read_to_string(s.path())
            .unwrap()
            .replace("QEMU emulator version 7.2", "changed");
        std::fs::write(s.path(), text).unwrap();
        assert_eq!(s.load(), None);
        assert_eq!(
            Store::new(dir.path(), other).load(),
            None,
            "read from its own file name only"
        );
    }

    #[test]
    fn a_new_boot_drops_the_old_verdicts() {
        let dir = tempfile::tempdir().unwrap();
        let old = Store::new(dir.path(), a_key("b1"));
        old.save(true, "reached the init").unwrap();
        let new = Store::new(dir.path(), a_key("b2"));
        assert_eq!(new.load(), None);
        new.save(false, "hung").unwrap();
        assert!(!old.path().exists(), "the verdict of an earlier boot stays");
        assert!(new.load().is_some());
    }

    #[test]
    fn the_device_check_names_the_path() {
        let e = device_opens(Path::new("/nonexistent/kvm")).unwrap_err();
        assert!(e.starts_with("/nonexistent/kvm: ") && e.contains("No such file"), "{e}");
    }
}
