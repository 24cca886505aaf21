//! Cgroup steps: the container's cgroup itself (create, join, remove: exercise
//! ns-cgroup-time, since a cgroup namespace needs a cgroup of its own), then the
//! limits of exercises cg-memory, cg-cpu, cg-guarantee, cg-pids, cg-cpuset, cg-io, cg-devices, cg-net-cls,
//! cg-freezer and cg-monitoring. All run on the host side.
//! Read: cgroups(7) and the kernel's Documentation/admin-guide/cgroup-v2.rst
//! and cgroup-v1/*.rst (on kernel.org). Cgroup files are plain files: read and
//! write them with `std::fs` (each value in one write).

// The parameters are there for you: unused until you write the bodies.
#![allow(unused_variables, unused_imports, dead_code)]

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

pub use crate::cgpath::{CgroupParent, Version};
use crate::spec::{CpuMax, DeviceRule, IoLimit, Limits};

/// A cgroup this runtime created: NAME under the parent of every hierarchy.
#[derive(Debug, Clone)]
pub struct Cgroup {
    pub name: String,
    pub parent: CgroupParent,
}

impl Cgroup {
    /// NAME's directory in `controller`'s hierarchy (v1 names: memory, cpu,
    /// cpuacct, cpuset, pids, blkio, devices, freezer, net_cls; on v2 every
    /// controller gives the same directory). None if it is not mounted.
    pub fn dir(&self, controller: &str) -> Option<PathBuf> {
        self.parent.dir_of(controller).map(|d| d.join(&self.name))
    }

    /// NAME's directory in every hierarchy, each once.
    pub fn all_dirs(&self) -> Vec<PathBuf> {
        self.parent.all_dirs().into_iter().map(|d| d.join(&self.name)).collect()
    }
}

/// Calls the limit steps of the limits that were asked for (given).
pub fn set_limits(cg: &Cgroup, l: &Limits) -> Result<()> {
    if let Some(b) = l.memory {
        limit_memory(cg, b)?;
    }
    if let Some(c) = l.cpu {
        limit_cpu(cg, c)?;
    }
    if l.cpu_weight.is_some() || l.memory_low.is_some() || l.io_weight.is_some() {
        guarantee(cg, l.cpu_weight, l.memory_low, l.io_weight)?;
    }
    if let Some(n) = l.pids {
        limit_pids(cg, n)?;
    }
    if let Some(cpus) = &l.cpuset {
        limit_cpuset(cg, cpus)?;
    }
    if !l.io_wbps.is_empty() || !l.io_rbps.is_empty() {
        limit_io(cg, &l.io_wbps, &l.io_rbps)?;
    }
    if !l.deny_devices.is_empty() {
        limit_devices(cg, &l.deny_devices)?;
    }
    if let Some(id) = l.net_classid {
        limit_net_classid(cg, id)?;
    }
    Ok(())
}

// ------------------------------------------------------------------ ns-cgroup-time: the cgroup itself

/// TODO(ns-cgroup-time). Before the start, with --cgroup NAME. A cgroup namespace needs a
/// cgroup of its own, so the container's cgroup comes with this exercise (no
/// limits yet: the cg-* exercises write them). `CgroupParent::find()?`, then
/// create NAME in every parent directory (`std::fs::create_dir`, not
/// create_dir_all). A NAME that already exists is an error: never reuse, or
/// write to, a cgroup you did not create; if a later mkdir fails, remove the
/// ones you made. v1: a new cpuset cgroup has empty cpuset.cpus and
/// cpuset.mems: copy them from the parent before anyone joins, or the join
/// fails with ENOSPC ("No space left on device"). v2: nothing to enable yet;
/// each limit of the cg-* exercises enables its own controller (`+memory`,
/// `+cpu`, `+pids`, `+cpuset`, `+io`) in the parent's cgroup.subtree_control.
/// Read: cgroups(7), cgroup-v2.rst ("Basic Operations"), cgroup-v1/cpusets.rst.
///
/// 시작 전, --cgroup NAME이 있을 때. cgroup 네임스페이스에는 자기 cgroup이 있어야
/// 하므로 컨테이너의 cgroup은 이 실습에서 만듭니다(제한은 아직 없습니다. cg-*
/// 실습에서 씁니다). `CgroupParent::find()?`로 부모를 찾고 모든 부모 디렉터리에
/// NAME을 만드세요(`std::fs::create_dir`, create_dir_all이 아님). NAME이 이미 있으면
/// 오류입니다. 여러분이 만들지 않은 cgroup은 절대 다시 쓰거나 거기에 쓰지 마세요.
/// 뒤의 mkdir이 실패하면 앞서 만든 것을 지우세요. v1: 새 cpuset cgroup은
/// cpuset.cpus와 cpuset.mems가 비어 있으니 누가 들어가기 전에 부모에서 복사하세요.
/// 그러지 않으면 들어갈 때 ENOSPC("No space left on device")로 실패합니다. v2: 아직
/// 켤 것은 없습니다. cg-* 실습의 제한이 저마다 자기 컨트롤러(`+memory`, `+cpu`,
/// `+pids`, `+cpuset`, `+io`)를 부모의 cgroup.subtree_control에서 켭니다.
/// 읽을거리: cgroups(7), cgroup-v2.rst ("Basic Operations"), cgroup-v1/cpusets.rst.
pub fn create(name: &str) -> Result<Cgroup> {
    todo!("ns-cgroup-time: find the parent, create NAME in every hierarchy (v1 cpuset: fill cpus/mems)")
}

/// TODO(ns-cgroup-time). After the start, before "go": move the container's first process
/// into NAME in every hierarchy (write its PID to cgroup.procs). Its children
/// inherit the cgroup, and the cgroup namespace it makes after "go"
/// (`unshare_cgroup`) has NAME as its root.
///
/// 시작 뒤, "go" 전: 컨테이너의 첫 프로세스를 모든 계층의 NAME으로 옮기세요
/// (cgroup.procs에 PID를 씀). 그 자식들은 cgroup을 물려받고, 그 프로세스가 "go"
/// 뒤에 만드는 cgroup 네임스페이스(`unshare_cgroup`)의 루트는 NAME이 됩니다.
pub fn join(cg: &Cgroup, pid: Pid) -> Result<()> {
    todo!("ns-cgroup-time: write the PID to cgroup.procs of NAME in every hierarchy")
}

/// TODO(ns-cgroup-time). At the end: kill the processes left in NAME (v2: write 1 to
/// cgroup.kill where it exists; otherwise SIGKILL each PID of cgroup.procs),
/// wait until cgroup.procs is empty, then remove NAME (`std::fs::remove_dir`)
/// in every hierarchy. A cgroup left behind is a leftover, and costs points.
///
/// 끝에서: NAME에 남은 프로세스를 죽이고(v2: cgroup.kill이 있으면 1을 씀, 없으면
/// cgroup.procs의 PID마다 SIGKILL), cgroup.procs가 빌 때까지 기다린 뒤 모든
/// 계층에서 NAME을 지우세요(`std::fs::remove_dir`). 남겨 둔 cgroup은 잔여물이고,
/// 감점됩니다.
pub fn remove(cg: &Cgroup) -> Result<()> {
    todo!("ns-cgroup-time: kill what is left in NAME, wait until it is empty, rmdir it in every hierarchy")
}

// ------------------------------------------------------------------ cg-memory

/// TODO(cg-memory). --memory BYTES, the first limit on the cgroup of ns-cgroup-time.
/// v2: enable `+memory` in the parent's cgroup.subtree_control if it is not
/// listed there, then memory.max = BYTES and memory.swap.max = 0.
/// v1: memory.limit_in_bytes = BYTES, then memory.memsw.limit_in_bytes =
/// BYTES where that file exists (swap off).
/// Read: cgroup-v2.rst ("Memory"), cgroup-v1/memory.rst.
///
/// --memory BYTES, ns-cgroup-time의 cgroup에 거는 첫 제한입니다. v2: 부모의
/// cgroup.subtree_control에 memory가 없으면 `+memory`를 켜고, memory.max = BYTES,
/// memory.swap.max = 0. v1: memory.limit_in_bytes = BYTES, 그다음 그 파일이 있으면
/// memory.memsw.limit_in_bytes = BYTES(스왑 끔).
/// 읽을거리: cgroup-v2.rst ("Memory"), cgroup-v1/memory.rst.
pub fn limit_memory(cg: &Cgroup, bytes: u64) -> Result<()> {
    todo!("cg-memory: +memory (v2), memory.max + memory.swap.max = 0 (v2), memory.limit_in_bytes + memsw (v1)")
}

// ------------------------------------------------------------------ the other limits

/// TODO(cg-cpu). --cpus QUOTA/PERIOD. v2: cpu.max = "QUOTA PERIOD". v1: cpu.cfs_period_us
/// and cpu.cfs_quota_us, in an order that never passes through an invalid pair.
/// Read: Documentation/scheduler/sched-bwc.rst.
///
/// --cpus QUOTA/PERIOD. v2: cpu.max = "QUOTA PERIOD". v1: cpu.cfs_period_us와
/// cpu.cfs_quota_us를, 잘못된 쌍을 한 번도 거치지 않는 순서로 쓰세요.
/// 읽을거리: Documentation/scheduler/sched-bwc.rst.
pub fn limit_cpu(cg: &Cgroup, cpu: CpuMax) -> Result<()> {
    todo!("cg-cpu: cpu.max (v2) or cpu.cfs_period_us + cpu.cfs_quota_us (v1)")
}

/// TODO(cg-guarantee). --cpu-weight W, --memory-low B and --io-weight I: guarantees, not limits. v2:
/// cpu.weight = W, memory.low = B, io.bfq.weight = I. v1: cpu.shares = W * 1024 /
/// 100 (systemd's conversion, which keeps ratios), memory.soft_limit_in_bytes = B
/// (another mechanism: see the lab), blkio.bfq.weight = I. Without the bfq weight
/// file (BFQ not loaded), fail naming --io-weight.
/// Read: cgroup-v2.rst ("Weights", "Protections", "IO"), block/bfq-iosched.rst.
///
/// --cpu-weight W, --memory-low B, --io-weight I: 제한이 아니라 보장입니다. v2:
/// cpu.weight = W, memory.low = B, io.bfq.weight = I. v1: cpu.shares = W * 1024 / 100
/// (systemd의 변환, 비율을 지킵니다), memory.soft_limit_in_bytes = B(다른
/// 방식입니다: 실습 문서 참고), blkio.bfq.weight = I. bfq 가중치 파일이 없으면(BFQ가
/// 로드되지 않음) --io-weight를 밝히며 실패하세요.
/// 읽을거리: cgroup-v2.rst ("Weights", "Protections", "IO"), block/bfq-iosched.rst.
pub fn guarantee(cg: &Cgroup, cpu_weight: Option<u64>, memory_low: Option<u64>, io_weight: Option<u64>) -> Result<()> {
    todo!("cg-guarantee: cpu.weight / cpu.shares, memory.low and io.bfq.weight")
}

/// TODO(cg-pids). --pids N: pids.max = N (v1 and v2). Read: cgroup-v1/pids.rst.
///
/// --pids N: pids.max = N(v1과 v2). 읽을거리: cgroup-v1/pids.rst.
pub fn limit_pids(cg: &Cgroup, max: u64) -> Result<()> {
    todo!("cg-pids: pids.max = N")
}

/// TODO(cg-cpuset). --cpuset CPUS: cpuset.cpus = CPUS (v1: cpuset.mems copied from the parent).
/// Read: cgroup-v1/cpusets.rst, cgroup-v2.rst ("Cpuset").
///
/// --cpuset CPUS: cpuset.cpus = CPUS(v1: cpuset.mems는 부모에서 복사).
/// 읽을거리: cgroup-v1/cpusets.rst, cgroup-v2.rst ("Cpuset").
pub fn limit_cpuset(cg: &Cgroup, cpus: &str) -> Result<()> {
    todo!("cg-cpuset: cpuset.cpus = CPUS")
}

/// TODO(cg-io). --io-wbps / --io-rbps. v2: io.max lines "MAJ:MIN wbps=BPS" / "MAJ:MIN rbps=BPS".
/// v1: blkio.throttle.write_bps_device / read_bps_device "MAJ:MIN BPS", one write per line.
/// Read: cgroup-v2.rst ("IO"), cgroup-v1/blkio-controller.rst.
///
/// --io-wbps / --io-rbps. v2: io.max 줄 "MAJ:MIN wbps=BPS" / "MAJ:MIN rbps=BPS".
/// v1: blkio.throttle.write_bps_device / read_bps_device "MAJ:MIN BPS", 한 줄에 write
/// 한 번. 읽을거리: cgroup-v2.rst ("IO"), cgroup-v1/blkio-controller.rst.
pub fn limit_io(cg: &Cgroup, wbps: &[IoLimit], rbps: &[IoLimit]) -> Result<()> {
    todo!("cg-io: io.max (v2) or blkio.throttle.*_bps_device (v1)")
}

/// TODO(cg-devices). --deny-device. v1: devices.deny "c MAJ:MIN rwm" per rule; every other device
/// stays allowed. v2 has no device files: attach a BPF_PROG_TYPE_CGROUP_DEVICE
/// program to the cgroup (bpf(2) with BPF_PROG_LOAD then BPF_PROG_ATTACH,
/// through `libc::syscall(libc::SYS_bpf, ...)`). A worked example, instruction by
/// instruction: the reference runtime's harness/src/cgroups/v2/bpf.rs.
/// Read: cgroup-v1/devices.rst, cgroup-v2.rst ("Device controller"), bpf(2).
///
/// --deny-device. v1: 규칙마다 devices.deny "c MAJ:MIN rwm". 다른 장치는 모두 허용된
/// 채로 둡니다. v2에는 장치 파일이 없으니 BPF_PROG_TYPE_CGROUP_DEVICE 프로그램을
/// cgroup에 붙이세요(bpf(2)의 BPF_PROG_LOAD와 BPF_PROG_ATTACH,
/// `libc::syscall(libc::SYS_bpf, ...)`로). 명령어 하나하나까지 풀어 쓴 예는 참조
/// 런타임의 harness/src/cgroups/v2/bpf.rs에 있습니다.
/// 읽을거리: cgroup-v1/devices.rst, cgroup-v2.rst ("Device controller"), bpf(2).
pub fn limit_devices(cg: &Cgroup, rules: &[DeviceRule]) -> Result<()> {
    todo!("cg-devices: devices.deny (v1) or a cgroup device BPF program (v2)")
}

/// TODO(cg-net-cls). --net-classid ID. v1: net_cls.classid = ID. v2 has no net_cls: a runtime error.
/// Read: cgroup-v1/net_cls.rst, tc(8).
///
/// --net-classid ID. v1: net_cls.classid = ID. v2에는 net_cls가 없으니 런타임
/// 오류입니다. 읽을거리: cgroup-v1/net_cls.rst, tc(8).
pub fn limit_net_classid(cg: &Cgroup, id: u32) -> Result<()> {
    todo!("cg-net-cls: net_cls.classid = ID (v1); an error on v2")
}

// ------------------------------------------------------------------ cg-freezer

/// TODO(cg-freezer). `pause NAME` (NAME under the same LAB_CGROUP_PARENT, found with
/// `CgroupParent::find()`). A missing NAME: `bail!("pause {name}: no such cgroup")`.
/// v2: write 1 to cgroup.freeze, then poll cgroup.events until it shows
/// `frozen 1`. v1: write FROZEN to freezer.state and poll until it reads
/// FROZEN (it passes through FREEZING). Return only once frozen.
/// Read: cgroup-v2.rst (cgroup.freeze), cgroup-v1/freezer-subsystem.rst.
///
/// `pause NAME`(같은 LAB_CGROUP_PARENT 아래의 NAME, `CgroupParent::find()`로 찾음).
/// NAME이 없으면 `bail!("pause {name}: no such cgroup")`. v2: cgroup.freeze에 1을 쓰고
/// cgroup.events가 `frozen 1`을 보일 때까지 확인합니다. v1: freezer.state에 FROZEN을
/// 쓰고 FROZEN으로 읽힐 때까지 확인합니다(FREEZING을 거칩니다). 얼어붙은 뒤에만
/// 돌아오세요. 읽을거리: cgroup-v2.rst (cgroup.freeze), cgroup-v1/freezer-subsystem.rst.
pub fn pause(name: &str) -> Result<()> {
    todo!("cg-freezer: freeze NAME and wait until the kernel reports it frozen")
}

/// TODO(cg-freezer). `resume NAME`: v2 cgroup.freeze = 0, v1 freezer.state = THAWED.
///
/// `resume NAME`: v2는 cgroup.freeze = 0, v1은 freezer.state = THAWED.
pub fn resume(name: &str) -> Result<()> {
    todo!("cg-freezer: thaw NAME")
}

// ------------------------------------------------------------------ cg-monitoring

/// TODO(cg-monitoring). `stats NAME`: return ONE line of JSON with the fourteen keys of CONTRACT.md
/// section 3: name, cgroup_version, memory_current_bytes, memory_peak_bytes,
/// cpu_usage_usec, cpu_nr_periods, cpu_nr_throttled, cpu_throttled_usec,
/// pids_current, oom_kills, memory_max_bytes, pids_max, io_read_bytes,
/// io_write_bytes. Each an integer, or null when the file (or the field) is
/// missing, or the limit is "max". No serde here: `format!` is enough.
/// Read: cgroup-v2.rst (memory.current, memory.peak, memory.max, cpu.stat,
/// pids.current, pids.max, memory.events, io.stat), cgroup-v1/memory.rst
/// (memory.oom_control), cgroup-v1/blkio-controller.rst.
///
/// `stats NAME`: CONTRACT.ko.md 3절의 열네 키(name, cgroup_version,
/// memory_current_bytes, memory_peak_bytes, cpu_usage_usec, cpu_nr_periods,
/// cpu_nr_throttled, cpu_throttled_usec, pids_current, oom_kills, memory_max_bytes,
/// pids_max, io_read_bytes, io_write_bytes)를 가진 JSON 한 줄을 돌려주세요. 각 값은
/// 정수이고, 파일(이나 필드)이 없거나 제한이 "max"이면 null입니다. serde는 필요
/// 없습니다. `format!`이면 됩니다. 읽을거리: cgroup-v2.rst, cgroup-v1/memory.rst
/// (memory.oom_control), cgroup-v1/blkio-controller.rst.
pub fn stats(name: &str) -> Result<String> {
    todo!("cg-monitoring: read NAME's counters and format one JSON object")
}
