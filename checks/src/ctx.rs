//! What a check works with: the runtime under test, the probe, and a scratch
//! directory it owns (removed afterwards, with anything a runtime left mounted in it).

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use labkit::probe::Attempt;
use serde::de::DeserializeOwned;

use crate::cgview::ScratchParent;
use crate::outcome::{broken, fail, Outcome};
use crate::runtime::{bin_dir, Run, Runtime, Spawned};
use crate::text::Text;
use labkit::state::Item;

pub struct Ctx {
    pub rt: Runtime,
    probe: PathBuf,
    scratch: PathBuf,
    rootfs: OnceCell<PathBuf>,
    /// The check's guarded parent cgroup: every runtime call runs in it, containers'
    /// cgroups are made in it. Why it could not be made, on a host without cgroups.
    cgroup_parent: Result<ScratchParent, String>,
    notes: std::cell::RefCell<Vec<String>>,
}

/// The cgroups the checks in flight made (the state file's list, kept in memory too).
fn live_cgroups() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = crate::state::journal()
        .live()
        .into_iter()
        .filter_map(|i| {
            if let Item::Cgroup { path } = i {
                Some(path)
            } else {
                None
            }
        })
        .collect();
    labkit::state::freezer_first(&mut v);
    v
}

/// Kills the containers of the checks in flight (every process in their parent
/// cgroups, runtimes included), so that those checks end quickly and clean up.
pub fn kill_live_containers() {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    for cg in live_cgroups() {
        labkit::state::kill_cgroup_tree(&cg, deadline);
    }
}

/// Removes what the checks in flight made, as the state file lists it (what
/// `harness cleanup` would do after a SIGKILL). For a process about to exit
/// without running the checks' own cleanup.
pub fn cleanup_live() {
    let items = crate::state::journal().live();
    let mut c = labkit::state::Cleanup::default();
    labkit::state::cleanup_items(&items, &mut c);
    for l in &c.failed {
        eprintln!("warning: {l}");
    }
    if c.failed.is_empty() {
        for i in &items {
            crate::state::done(i);
        }
    }
}

/// The environment variable naming the parent of containers' cgroups (the contract).
pub const CGROUP_PARENT_ENV: &str = "LAB_CGROUP_PARENT";

/// Overlay directories for `--layer/--upper/--work`.
pub struct OverlayDirs {
    pub lower: PathBuf,
    pub upper: PathBuf,
    pub work: PathBuf,
}

impl OverlayDirs {
    pub fn options(&self) -> Vec<String> {
        vec![
            "--layer".into(),
            self.lower.display().to_string(),
            "--upper".into(),
            self.upper.display().to_string(),
            "--work".into(),
            self.work.display().to_string(),
        ]
    }
}

/// The probe built next to the checks (a static binary: it runs in any root).
pub fn probe_path() -> Result<PathBuf, String> {
    let p = bin_dir().join("probe");
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "the probe is not built at {}: run `cargo build --bins`",
            p.display()
        ))
    }
}

/// The lowest pid a [`HostWitness`] may have (see [`Ctx::host_witness`]).
pub const WITNESS_MIN_PID: u32 = 64;

/// A host process the check started (`probe sleep`), ended when dropped.
pub struct HostWitness {
    child: std::process::Child,
}

impl HostWitness {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for HostWitness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Ctx {
    pub fn new(rt: Runtime) -> Result<Ctx, Outcome> {
        let probe = probe_path().map_err(broken)?;
        let scratch = new_scratch_dir().map_err(|e| {
            broken(crate::t!(
                "creating a scratch directory: {e}",
                "작업용 임시 디렉터리를 만들지 못했습니다: {e}"
            ))
        })?;
        let mut ctx = Ctx {
            rt,
            probe,
            scratch,
            rootfs: OnceCell::new(),
            cgroup_parent: Err(String::new()),
            notes: Default::default(),
        };
        // The runtime's own calls are guarded too (a fork bomb, a memory hog), not
        // only the containers it makes: the parent exists before the first call.
        let rel = ctx.unique("lab-check-", 40);
        ctx.cgroup_parent = ScratchParent::create(&rel).map_err(|e| format!("making the checker's parent cgroup: {e}"));
        Ok(ctx)
    }

    /// A figure the check measured (a throughput, a ratio), shown in the report
    /// whatever the outcome.
    pub fn note(&self, text: impl Into<String>) {
        self.notes.borrow_mut().push(text.into());
    }

    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut self.notes.borrow_mut())
    }

    /// The probe's path on the host, for containers without a root file system.
    pub fn probe(&self) -> &str {
        self.probe.to_str().expect("probe path is UTF-8")
    }

    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    /// A new empty directory in the scratch area.
    pub fn dir(&self, name: &str) -> Result<PathBuf, Outcome> {
        let p = self.scratch().join(name);
        std::fs::create_dir_all(&p)
            .map_err(|e| broken(crate::t!("creating {}: {e}", "{} 만들기 실패: {e}", p.display())))?;
        Ok(p)
    }

    /// A file owned by host root (0644, "host root's") in directories everyone may
    /// enter, so that a refusal to write it is about the file itself.
    pub fn host_root_file(&self) -> Result<String, Outcome> {
        use std::os::unix::fs::PermissionsExt;
        let d = self.dir("open")?;
        for dir in [self.scratch(), d.as_path()] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(broken)?;
        }
        let f = d.join("root-owned");
        std::fs::write(&f, "host root's").map_err(broken)?;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).map_err(broken)?;
        Ok(f.to_string_lossy().into_owned())
    }

    /// A root file system holding only the probe (as `harness rootfs` makes it),
    /// built once per check.
    pub fn rootfs(&self) -> Result<&Path, Outcome> {
        if self.rootfs.get().is_none() {
            let dir = self.dir("rootfs")?;
            labkit::rootfs::write_rootfs(&dir, &self.probe, None).map_err(|e| {
                broken(crate::t!(
                    "building a root file system: {e}",
                    "루트 파일 시스템을 만들지 못했습니다: {e}"
                ))
            })?;
            let _ = self.rootfs.set(dir);
        }
        Ok(self.rootfs.get().expect("set above"))
    }

    /// The rootfs as the single lower layer, with fresh upper and work directories.
    pub fn overlay(&self, name: &str) -> Result<OverlayDirs, Outcome> {
        let lower = self.rootfs()?.to_path_buf();
        Ok(OverlayDirs {
            lower,
            upper: self.dir(&format!("{name}-upper"))?,
            work: self.dir(&format!("{name}-work"))?,
        })
    }

    /// A process of the check's own on the host, for the checks that look for "a host
    /// process" from inside a container or signal it. Not the checker itself: it may be
    /// PID 1 of its PID namespace (a container's entrypoint), and `kill(1, 0)` inside a
    /// container finds the container's own init. The witness's pid is above
    /// [`WITNESS_MIN_PID`], which no process of the container under test can have in a
    /// PID namespace of its own (it starts a handful, numbered from 1).
    pub fn host_witness(&self) -> Result<HostWitness, Outcome> {
        // The kernel hands pids out in increasing order (wrapping to 300 past
        // pid_max): each witness started and ended moves the next one up.
        use std::os::unix::process::CommandExt;
        let checker = std::process::id();
        for _ in 0..WITNESS_MIN_PID {
            let mut cmd = std::process::Command::new(&self.probe);
            // It dies with the checker: a SIGKILLed checker has no Drop to end it, and
            // it is in no cgroup or state file that `harness cleanup` reads. (Checked
            // after the prctl: a checker gone before it leaves the witness reparented.)
            // SAFETY: prctl and getppid are async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
                    if libc::getppid() as u32 != checker {
                        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                    }
                    Ok(())
                })
            };
            let child = cmd
                .args(["sleep", "120"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| {
                    broken(crate::t!(
                        "starting a host process ({} sleep): {e}",
                        "호스트 프로세스를 시작하지 못했습니다({} sleep): {e}",
                        self.probe.display()
                    ))
                })?;
            let w = HostWitness { child };
            if w.pid() > WITNESS_MIN_PID {
                return Ok(w);
            }
        }
        Err(broken(crate::t!(
            "no host process got a pid above {WITNESS_MIN_PID} in {WITNESS_MIN_PID} tries",
            "{WITNESS_MIN_PID}번 시도해도 PID가 {WITNESS_MIN_PID}보다 큰 호스트 프로세스를 얻지 못했습니다"
        )))
    }

    /// A name no other check or run uses, at most `max` bytes long (interface names
    /// are limited to 15).
    pub fn unique(&self, prefix: &str, max: usize) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let tail = format!("{}x{n}", std::process::id());
        let room = max.saturating_sub(prefix.len()).max(1);
        format!("{prefix}{}", &tail[tail.len().saturating_sub(room)..])
    }

    /// The check's parent cgroup (guarded: cgview::PIDS_GUARD, MEMORY_GUARD), made
    /// with the context and removed with it, with anything left inside.
    pub fn cgroup_parent(&self) -> Result<&ScratchParent, Outcome> {
        self.cgroup_parent
            .as_ref()
            .map_err(|e| broken(crate::t!("{e}", "검사기의 부모 cgroup을 만들지 못했습니다: {e}")))
    }

    /// The runtime under test: every call runs in the check's parent cgroup, told
    /// where to make containers' cgroups by `LAB_CGROUP_PARENT` where needed.
    pub fn runtime(&self) -> Runtime {
        let mut rt = self.rt.clone();
        if let Ok(p) = &self.cgroup_parent {
            rt.join = p.join_files();
            if let Some(v) = p.env_value() {
                rt.env.push((CGROUP_PARENT_ENV.into(), v));
            }
        }
        rt
    }

    /// `run` waited for; a runtime that cannot even be started is a host problem.
    pub fn run(&self, options: &[&str], command: &[&str]) -> Result<Run, Outcome> {
        self.run_timeout(options, command, crate::runtime::process_timeout())
    }

    pub fn run_timeout(
        &self,
        options: &[&str],
        command: &[&str],
        timeout: std::time::Duration,
    ) -> Result<Run, Outcome> {
        let rt = self.runtime();
        let r = rt.run_timeout(options, command, timeout);
        if let Some(e) = &r.spawn_error {
            return Err(broken(crate::t!(
                "cannot start the runtime {}: {e}",
                "런타임 {} 시작 실패: {e}",
                rt.path.display()
            )));
        }
        Ok(r)
    }

    pub fn spawn(&self, options: &[&str], command: &[&str]) -> Result<Spawned, Outcome> {
        self.runtime().spawn(options, command).map_err(broken)
    }

    /// `RUNTIME pause|resume|stats NAME`.
    pub fn contract(&self, verb: &str, name: &str) -> Run {
        self.runtime().contract(verb, name)
    }

    /// Runs the probe (host path) and returns its last JSON object; anything but
    /// exit 0 with probe output is the runtime's failure.
    pub fn probe_json<T: DeserializeOwned>(&self, options: &[&str], probe_args: &[&str]) -> Result<(Run, T), Outcome> {
        let mut cmd = vec![self.probe()];
        cmd.extend_from_slice(probe_args);
        self.json_of(options, &cmd)
    }

    /// [`Ctx::probe_json`] for a control run: the same contract holds there, so a
    /// failure is the runtime's, named as the control run (`without` says what the
    /// control leaves out: "without --hostname").
    pub fn control_probe_json<T: DeserializeOwned>(
        &self,
        without: &str,
        options: &[&str],
        probe_args: &[&str],
    ) -> Result<(Run, T), Outcome> {
        crate::outcome::as_control(without, self.probe_json(options, probe_args))
    }

    /// [`Ctx::json_of`] for a control run.
    pub fn control_json_of<T: DeserializeOwned>(
        &self,
        without: &str,
        options: &[&str],
        command: &[&str],
    ) -> Result<(Run, T), Outcome> {
        crate::outcome::as_control(without, self.json_of(options, command))
    }

    /// The runtime with every call started in `ns`, a namespace of the check's own:
    /// a runtime that changes "the host" (renames it, writes a network sysctl)
    /// changes only that, which the check reads through `ns`. So a runtime graded
    /// on a real machine cannot change the machine there.
    pub fn runtime_in(&self, ns: &crate::host::PrivateNs) -> Runtime {
        let mut rt = self.runtime();
        rt.enter_ns.push((ns.raw(), ns.kind.flag()));
        rt
    }

    /// A runtime stricter than the contract (no capabilities, a read-only /proc):
    /// the report says so, and the check does not hold it against the runtime.
    pub fn stricter(&self, what: impl std::fmt::Display) {
        self.note(format!("stricter than the contract: {what}"));
    }

    /// Runs `command` and returns the last JSON object it printed, as the probe's
    /// line type `T` (labkit::probe). See [`json_of`].
    pub fn json_of<T: DeserializeOwned>(&self, options: &[&str], command: &[&str]) -> Result<(Run, T), Outcome> {
        json_of(&self.runtime(), options, command)
    }

    /// Starts `probe sleep 20` (the probe at `probe`: the host's, or `/bin/probe` in
    /// a root file system) with a `--pid-file`, and waits until the probe says it
    /// sleeps and the pid file holds a line; returns the running call and the pid.
    pub fn sleeper(&self, options: &[&str], probe: &str, name: &str) -> Result<(Spawned, i32), Outcome> {
        self.sleeper_on(&self.runtime(), options, probe, name)
    }

    /// [`Ctx::sleeper`] through `rt` (a runtime this check set up its own way).
    pub fn sleeper_on(
        &self,
        rt: &Runtime,
        options: &[&str],
        probe: &str,
        name: &str,
    ) -> Result<(Spawned, i32), Outcome> {
        const WAIT: std::time::Duration = std::time::Duration::from_secs(10);
        let pf = self.scratch().join(format!("{name}.pid"));
        let pf_s = pf.to_string_lossy().into_owned();
        let mut opts: Vec<&str> = options.to_vec();
        opts.extend(["--pid-file", &pf_s]);
        let sp = rt.spawn(&opts, &[probe, "sleep", "20"]).map_err(broken)?;
        // The pid file comes before the command runs, but the contract orders nothing
        // else against it: wait until the probe itself says it runs (then the cgroup is
        // joined and every namespace is in place). A runtime that ended closes the
        // probe's output, which ends this wait at once.
        if sp.next_as::<labkit::probe::Sleeping>(WAIT).is_none() {
            let run = sp.stop();
            let ending = run.ending();
            let got = if run.status.is_some() && !run.timed_out && !pf.exists() {
                if run.code() == Some(0) {
                    // A success with no container: not a runtime error, a runtime that lies.
                    rt.watch.incident(crate::incident::Incident::NoPidFile);
                }
                crate::t!(
                    "the runtime ended ({ending}) before writing its --pid-file",
                    "런타임이 --pid-file을 쓰기 전에 끝났습니다({ending})"
                )
            } else {
                let out = run.stdout_text();
                let out = out.trim();
                crate::t!("{ending}; {out}", "{ending}; {out}")
            };
            return Err(fail(
                crate::t!(
                    "the probe to start and print that it sleeps",
                    "probe가 시작해서 잠든다고 출력"
                ),
                got,
                &run,
            ));
        }
        match crate::host::wait_pid_file(&pf, WAIT) {
            Ok(pid) => Ok((sp, pid)),
            Err(o) => {
                let run = sp.stop();
                Err(match o {
                    Outcome::Fail(mut f) => {
                        f.seen_on(&run);
                        Outcome::Fail(f)
                    }
                    other => other,
                })
            }
        }
    }

    /// Unmounts anything left mounted under the scratch area (by a runtime that
    /// let a container's mount reach the host), so the scratch can be removed.
    fn unmount_leftovers(&self) {
        labkit::state::unmount_below(self.scratch());
    }
}

/// `rt run OPTIONS -- COMMAND` and the last JSON object it printed, as the probe's
/// line type `T` (labkit::probe); usable from a thread that cannot hold a [`Ctx`].
/// Anything but exit 0 with such a line is the runtime's failure: a line that is not
/// a `T` means the runtime changed what reached stdout, since the probe printed one.
pub fn json_of<T: DeserializeOwned>(
    rt: &crate::runtime::Runtime,
    options: &[&str],
    command: &[&str],
) -> Result<(Run, T), Outcome> {
    let r = rt.run(options, command);
    if let Some(e) = &r.spawn_error {
        return Err(broken(crate::t!(
            "cannot start the runtime {}: {e}",
            "런타임 {} 시작 실패: {e}",
            rt.path.display()
        )));
    }
    let last = r.json_lines().pop();
    let cmd = command.join(" ");
    match (r.code(), last) {
        (Some(0), Some(v)) => match serde_json::from_value::<T>(v.clone()) {
            Ok(t) => Ok((r, t)),
            Err(e) => {
                let what = std::any::type_name::<T>().rsplit("::").next().unwrap_or("line");
                Err(fail(
                    crate::t!(
                        "`{cmd}` to print the probe's {what} line",
                        "`{cmd}`의 출력에 probe의 {what} 줄"
                    ),
                    crate::t!("{v} ({e})", "{v} ({e})"),
                    &r,
                ))
            }
        },
        (_, last) => {
            let ending = r.ending();
            let got = match last {
                Some(v) => crate::t!("{ending}; last output {v}", "{ending}; 마지막 출력 {v}"),
                None => crate::t!("{ending}; no probe output", "{ending}; probe 출력 없음"),
            };
            Err(fail(
                crate::t!(
                    "the command `{cmd}` to run and exit 0",
                    "명령 `{cmd}` 실행, 종료 상태 0"
                ),
                got,
                &r,
            ))
        }
    }
}

/// A probe result refused the way a missing capability, a permission or a
/// read-only mount refuses (what a runtime stricter than the contract gives).
pub fn refused(a: &Attempt) -> bool {
    ["EPERM", "EACCES", "EROFS"].iter().any(|e| a.refused_with(e))
}

/// A probe line (or a part of one) as a person writes it, for "got" texts: fields as
/// `name=value` (a field with no value left out), a missing value "none" / "없음", a
/// text with spaces in quotes (the kernel's words, the same in every language).
pub fn js<T: serde::Serialize + ?Sized>(v: &T) -> Text {
    match serde_json::to_value(v) {
        Ok(v) => Text {
            en: human_value(&v, &EN_WORDS),
            ko: human_value(&v, &KO_WORDS),
        },
        Err(e) => Text::from(format!("<{e}>")),
    }
}

/// How a value with no value, and a yes or no, read in one language.
struct ValueWords {
    none: &'static str,
    yes: &'static str,
    no: &'static str,
}

const EN_WORDS: ValueWords = ValueWords {
    none: "none",
    yes: "true",
    no: "false",
};
const KO_WORDS: ValueWords = ValueWords {
    none: "없음",
    yes: "예",
    no: "아니요",
};

fn human_value(v: &serde_json::Value, words: &ValueWords) -> String {
    use serde_json::Value;
    match v {
        Value::Null => words.none.to_string(),
        Value::String(s) if s.is_empty() || s.contains(char::is_whitespace) => format!("{s:?}"),
        Value::String(s) => s.clone(),
        Value::Bool(b) => (if *b { words.yes } else { words.no }).to_string(),
        Value::Number(_) => v.to_string(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(|x| human_value(x, words)).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => {
            let fields: Vec<String> = o
                .iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| match x {
                    Value::Object(_) => format!("{k}=({})", human_value(x, words)),
                    _ => format!("{k}={}", human_value(x, words)),
                })
                .collect();
            if fields.is_empty() {
                words.none.to_string()
            } else {
                fields.join(", ")
            }
        }
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        self.unmount_leftovers();
        if let Ok(p) = &self.cgroup_parent {
            if let Err(e) = p.remove() {
                eprintln!("warning: {e}");
            }
        }
        match std::fs::remove_dir_all(&self.scratch) {
            Ok(()) => crate::state::done(&Item::Dir {
                path: self.scratch.clone(),
            }),
            Err(e) => eprintln!("warning: removing {}: {e}", self.scratch.display()),
        }
    }
}

/// A new directory `lab-check-PID-N` in the scratch base ([`crate::scratch::base`]), written to the
/// state file before it is made.
fn new_scratch_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    static N: AtomicUsize = AtomicUsize::new(0);
    loop {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = crate::scratch::base().join(format!("lab-check-{}-{n}", std::process::id()));
        let item = Item::Dir { path: p.clone() };
        crate::state::add(&item);
        match std::fs::DirBuilder::new().mode(0o755).create(&p) {
            Ok(()) => return Ok(p),
            // Someone else's (a run before with this pid): not ours to touch.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => crate::state::done(&item),
            Err(e) => {
                crate::state::done(&item);
                return Err(e);
            }
        }
    }
}
