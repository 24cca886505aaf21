//! `harness vm` chooses its accelerator by proof, without a broken host: a fake
//! `qemu-system-x86_64` earlier on PATH (a bash script) plays a broken KVM and hands
//! every other start to the real qemu, so each fallback ends in a real TCG boot.
//!
//! The fakes: `abort` dies like qemu on a host whose KVM cannot set an MSR; `hang`
//! never boots under KVM; `works` and `stall` run the real qemu under TCG when asked
//! for KVM (a KVM that works), `stall` stopping it once the init has said it booted;
//! `fail` fails under KVM and TCG alike. A file `calls` beside each fake lists the
//! accelerator of every start. The KVM device is a plain file (`--kvm-device`), so the
//! auto mode tries KVM on any host, /dev/kvm or not.
//!
//! They boot VMs: qemu-system-x86 and busybox-static must be installed, and the
//! distribution's cloud kernel is fetched once into target/vm (root may refresh the
//! package lists for it). `make test` runs them as root:
//! `cargo test -p harness-vm --test vm_accel -- --ignored`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const MSR_ERROR: &str = "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69";
const MSR_REASON: &str = "qemu: failed to set MSR 0x10a to 0x69";

fn harness_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("harness")
}

fn real_qemu() -> PathBuf {
    harness_vm::which("qemu-system-x86_64")
        .expect("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
}

/// target/vm/kernel, with the cloud kernel in it: fetched once for the whole binary by a
/// run whose qemu is /bin/false. That run is itself the case "qemu fails under TCG":
/// exit 2, said to be an environment problem, no output.
fn kernel_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let bin = harness_bin();
        let target = bin
            .ancestors()
            .find(|a| a.ends_with("target"))
            .expect("harness is built under target/")
            .to_path_buf();
        let cache = target.join("vm");
        let out = Command::new(&bin)
            .args(["vm", "--accel", "tcg", "--qemu", "/bin/false", "--cache"])
            .arg(&cache)
            .args(["--", "harness", "--version"])
            .stdin(Stdio::null())
            .output()
            .expect("running harness vm");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "a qemu that exits 1 at once: exit 2 expected\n{err}"
        );
        assert!(
            err.contains(
                "the VM could not run: qemu exited with status 1 (an environment problem, not a check result)"
            ),
            "{err}"
        );
        assert!(
            out.stdout.is_empty(),
            "no output may come from a VM that never ran: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        let kernel = cache.join("kernel");
        assert!(
            kernel.join("linux-image-cloud-amd64.current").is_file(),
            "the kernel was not fetched into {}\n{err}",
            kernel.display()
        );
        kernel
    })
}

/// A fake qemu of one mode in a directory of its own, with a KVM device that opens and a
/// cache that shares the fetched kernel but keeps its verdicts to itself.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new(mode: &str) -> Fake {
        let dir = tempfile::Builder::new().prefix("lab-fake-qemu-").tempdir().unwrap();
        let script = format!(
            r#"#!/bin/bash
# A fake qemu ({mode}); see harness/vm/tests/vm_accel.rs.
real={real}
here=$(dirname "$0")
mode={mode}
[ "$1" = --version ] && exec "$real" "$@"
args=("$@") accel=tcg results=
for i in "${{!args[@]}}"; do
  case "${{args[$i]}}" in
    kvm) accel=kvm ;;
    file,id=results,path=*) results=${{args[$i]#file,id=results,path=}} ;;
  esac
done
echo "$accel" >>"$here/calls"
if [ "$accel" = kvm ]; then
  case "$mode" in
    abort|fail) ulimit -c 0
          echo '{msr}' >&2
          echo "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion \`ret == cpu->kvm_msr_buf->nmsrs' failed." >&2
          kill -ABRT $$ ;;
    hang) exec sleep 600 ;;
  esac
  # A KVM that works: the same VM under TCG.
  for i in "${{!args[@]}}"; do
    case "${{args[$i]}}" in kvm) args[$i]=tcg,thread=multi ;; host) args[$i]=max ;; esac
  done
  if [ "$mode" = stall ]; then
    # Stops qemu (this process, once it has exec'd) after the init said it booted.
    ( while kill -0 $$ 2>/dev/null && ! grep -q '@@LAB-BOOT' "$results" 2>/dev/null; do sleep 0.2; done; kill -STOP $$ ) </dev/null >/dev/null 2>&1 &
  fi
elif [ "$mode" = fail ]; then
  echo "qemu-system-x86_64: cannot set up guest memory 'pc.ram': Cannot allocate memory" >&2
  exit 1
fi
exec "$real" "${{args[@]}}"
"#,
            real = real_qemu().display(),
            msr = MSR_ERROR,
        );
        let path = dir.path().join("qemu-system-x86_64");
        // Not std::fs::write: tests on other threads fork meanwhile (ETXTBSY at exec).
        labkit::exec_file::write_executable(&path, script.as_bytes(), 0o755).unwrap();
        std::fs::write(dir.path().join("kvm"), "").unwrap();
        std::fs::create_dir(dir.path().join("cache")).unwrap();
        std::os::unix::fs::symlink(kernel_dir(), dir.path().join("cache/kernel")).unwrap();
        Fake { dir }
    }

    /// `harness vm` with this fake first on PATH, `--cpus 1` (tests may run side by side on
    /// two cores), the command `harness --version`.
    fn vm(&self, extra: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new(harness_bin())
            .arg("vm")
            .arg("--kvm-device")
            .arg(self.dir.path().join("kvm"))
            .arg("--cache")
            .arg(self.dir.path().join("cache"))
            .args(["--cpus", "1", "--memory", "1024", "--timeout", "300"])
            .args(extra)
            .args(["--", "harness", "--version"])
            .env("PATH", path)
            .stdin(Stdio::null())
            .output()
            .expect("running harness vm");
        eprintln!(
            "--- harness vm {extra:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The accelerators of every start so far, and forgets them.
    fn calls(&self) -> Vec<String> {
        let p = self.dir.path().join("calls");
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let _ = std::fs::remove_file(&p);
        text.lines().map(String::from).collect()
    }

    fn verdicts(&self) -> Vec<String> {
        let dir = self.dir.path().join("cache/accel");
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The command ran in the VM: its output came back and its status is the run's.
fn assert_ran(o: &Output) {
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("harness {}", env!("CARGO_PKG_VERSION"))),
        "no output from the VM's command: {out:?}\n{}",
        stderr(o)
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
#[ignore = "boots VMs (qemu-system-x86, busybox-static): make test runs it as root"]
fn an_aborting_kvm_falls_back_to_tcg_and_is_remembered_until_qemu_changes() {
    let fake = Fake::new("abort");
    let first = fake.vm(&[]);
    assert_ran(&first);
    let line = format!("vm: KVM unusable here ({MSR_REASON}), using TCG");
    assert!(
        stderr(&first).contains(&line),
        "expected the line {line:?}:\n{}",
        stderr(&first)
    );
    assert_eq!(fake.calls(), strs(&["kvm", "tcg"]));
    assert!(
        fake.verdicts()
            .iter()
            .any(|v| v.contains("\"kvm\": false") && v.contains(MSR_REASON)),
        "{:?}",
        fake.verdicts()
    );

    // The same host, kernel and qemu: TCG at once, saying why, KVM not started again.
    let second = fake.vm(&[]);
    assert_ran(&second);
    assert!(
        stderr(&second).contains(&format!("KVM unusable here ({MSR_REASON}; found by an earlier run")),
        "{}",
        stderr(&second)
    );
    assert_eq!(fake.calls(), strs(&["tcg"]));

    // Another qemu binary (here: the same path, changed): the verdict is stale, KVM is
    // proven again.
    let script = fake.dir.path().join("qemu-system-x86_64");
    let mut text = std::fs::read_to_string(&script).unwrap();
    text.push_str("# updated\n");
    std::fs::write(&script, text).unwrap();
    let third = fake.vm(&[]);
    assert_ran(&third);
    assert!(stderr(&third).contains(&line), "{}", stderr(&third));
    assert_eq!(fake.calls(), strs(&["kvm", "tcg"]));
}

#[test]
#[ignore = "boots VMs (qemu-system-x86, busybox-static): make test runs it as root"]
fn a_kvm_boot_that_hangs_falls_back_after_the_boot_limit() {
    let fake = Fake::new("hang");
    let o = fake.vm(&[]);
    assert_ran(&o);
    let line = format!(
        "vm: KVM unusable here (the VM did not reach its init within {} s under KVM), using TCG",
        harness_vm::KVM_BOOT_SECS
    );
    assert!(stderr(&o).contains(&line), "expected {line:?}:\n{}", stderr(&o));
    assert_eq!(fake.calls(), strs(&["kvm", "tcg"]));
}

#[test]
#[ignore = "boots VMs (qemu-system-x86, busybox-static): make test runs it as root"]
fn a_working_kvm_is_proven_once_then_trusted() {
    let fake = Fake::new("works");
    let first = fake.vm(&[]);
    assert_ran(&first);
    assert!(
        stderr(&first).contains("vm: accelerator: KVM, to be proven"),
        "{}",
        stderr(&first)
    );
    assert!(!stderr(&first).contains("TCG"), "{}", stderr(&first));
    assert_eq!(fake.calls(), strs(&["kvm"]));
    assert!(
        fake.verdicts().iter().any(|v| v.contains("\"kvm\": true")),
        "{:?}",
        fake.verdicts()
    );
    let second = fake.vm(&[]);
    assert_ran(&second);
    assert!(
        stderr(&second).contains("vm: accelerator: KVM (proven on this host)"),
        "{}",
        stderr(&second)
    );
    assert_eq!(fake.calls(), strs(&["kvm"]));
}

#[test]
#[ignore = "boots VMs (qemu-system-x86, busybox-static): make test runs it as root"]
fn a_kvm_vm_that_stops_answering_after_boot_falls_back() {
    let fake = Fake::new("stall");
    let o = fake.vm(&["--kvm-stall-secs", "6"]);
    assert_ran(&o);
    let line = "vm: KVM unusable here (the VM stopped answering for 6 s under KVM), using TCG";
    assert!(stderr(&o).contains(line), "expected {line:?}:\n{}", stderr(&o));
    assert_eq!(fake.calls(), strs(&["kvm", "tcg"]));
}

#[test]
#[ignore = "boots VMs (qemu-system-x86, busybox-static): make test runs it as root"]
fn a_vm_that_runs_under_neither_is_an_environment_problem() {
    let fake = Fake::new("fail");
    let o = fake.vm(&[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        o.stdout.is_empty(),
        "a VM that never ran printed {:?}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        err.contains(&format!("vm: KVM unusable here ({MSR_REASON}), using TCG")),
        "{err}"
    );
    assert!(
        err.contains("the VM could not run: qemu: cannot set up guest memory 'pc.ram': Cannot allocate memory (an environment problem, not a check result)"),
        "{err}"
    );
    assert_eq!(fake.calls(), strs(&["kvm", "tcg"]));
    // No qemu at all, no kernel: the same kind of answer, before any VM starts.
    for (flags, said) in [
        (
            ["--qemu", "/nonexistent/qemu-system-x86_64"],
            "starting /nonexistent/qemu-system-x86_64 (apt-get install qemu-system-x86)",
        ),
        (
            ["--kernel", "/nonexistent/bzImage"],
            "--kernel /nonexistent/bzImage: No such file or directory",
        ),
    ] {
        let o = fake.vm(&flags);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(
            o.stdout.is_empty(),
            "{flags:?}: {:?}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert!(
            err.contains("vm: cannot run the VM: ")
                && err.contains(said)
                && err.contains("(an environment problem, not a check result)"),
            "{flags:?}: {err}"
        );
    }
}

#[test]
#[ignore = "boots VMs (qemu-system-x86, busybox-static): make test runs it as root"]
fn an_explicit_kvm_fails_with_the_reason() {
    let fake = Fake::new("abort");
    let o = fake.vm(&["--accel", "kvm"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("vm: KVM unusable here ({MSR_REASON}); console")),
        "{err}"
    );
    assert!(!err.contains("TCG"), "--accel kvm fell back: {err}");
    assert_eq!(fake.calls(), strs(&["kvm"]));
    let hang = Fake::new("hang");
    let o = hang.vm(&["--accel", "kvm"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("KVM unusable here (the VM did not reach its init within"),
        "{}",
        stderr(&o)
    );
}

/// `--accel tcg` opens no KVM device, neither the harness nor qemu: inotify watches the
/// device the harness would look at and, where there is one, /dev/kvm.
#[test]
#[ignore = "boots VMs (qemu-system-x86, busybox-static): make test runs it as root"]
fn an_explicit_tcg_never_touches_kvm() {
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    let fake = Fake::new("abort");
    let watch = Inotify::init(InitFlags::IN_NONBLOCK).unwrap();
    watch
        .add_watch(&fake.dir.path().join("kvm"), AddWatchFlags::IN_OPEN)
        .unwrap();
    let dev_kvm = Path::new("/dev/kvm").exists() && watch.add_watch("/dev/kvm", AddWatchFlags::IN_OPEN).is_ok();
    // The control: the auto mode opens the device it is given.
    let auto = fake.vm(&[]);
    assert_ran(&auto);
    assert!(
        watch.read_events().map(|e| !e.is_empty()).unwrap_or(false),
        "the watch saw auto mode open nothing"
    );
    fake.calls();
    let o = fake.vm(&["--accel", "tcg"]);
    assert_ran(&o);
    assert!(
        stderr(&o).contains("vm: accelerator: TCG (--accel tcg)"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("KVM"), "{}", stderr(&o));
    assert_eq!(fake.calls(), strs(&["tcg"]));
    match watch.read_events() {
        Err(nix::errno::Errno::EAGAIN) => {}
        other => panic!("a KVM device was opened under --accel tcg (watching /dev/kvm too: {dev_kvm}): {other:?}"),
    }
}
