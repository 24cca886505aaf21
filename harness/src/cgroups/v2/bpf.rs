//! The cgroup v2 device filter: a `BPF_PROG_TYPE_CGROUP_DEVICE` program,
//! assembled by hand, loaded with bpf(2) and attached to the cgroup.
//!
//! The kernel runs the program on each device access (open, mknod) with a
//! `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
//! where the low 16 bits of `access_type` are the device type
//! (`BPF_DEVCG_DEV_BLOCK` 1, `BPF_DEVCG_DEV_CHAR` 2) and the high 16 bits the
//! access (mknod 1, read 2, write 4). Return 1 allows, 0 denies (EPERM).
//! The program allows everything except the denied devices, for every access:
//!
//! ```text
//!     r2 = *(u32 *)(r1 + 0)      access_type
//!     w2 &= 0xffff               device type
//!     r3 = *(u32 *)(r1 + 4)      major
//!     r4 = *(u32 *)(r1 + 8)      minor
//!   for each denied device:
//!     if r2 != TYPE goto next    (values above i32::MAX: w5 = VALUE; if rN != r5)
//!     if r3 != MAJOR goto next
//!     if r4 != MINOR goto next
//!     r0 = 0
//!     exit
//!   next:
//!     r0 = 1
//!     exit
//! ```

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::cgroups::{CgroupError, DeviceKind, DeviceRule};

// Instruction classes, sizes, modes, operations (linux/bpf_common.h, linux/bpf.h).
const BPF_LDX: u8 = 0x01;
const BPF_ALU: u8 = 0x04;
const BPF_JMP: u8 = 0x05;
const BPF_ALU64: u8 = 0x07;
const BPF_W: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00;
const BPF_X: u8 = 0x08;
const BPF_AND: u8 = 0x50;
const BPF_MOV: u8 = 0xb0;
const BPF_JNE: u8 = 0x50;
const BPF_EXIT: u8 = 0x90;

pub const BPF_DEVCG_DEV_BLOCK: u32 = 1;
pub const BPF_DEVCG_DEV_CHAR: u32 = 2;
pub const BPF_DEVCG_ACC_MKNOD: u32 = 1;
pub const BPF_DEVCG_ACC_READ: u32 = 2;
pub const BPF_DEVCG_ACC_WRITE: u32 = 4;

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// One eBPF instruction, `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// The 8 bytes of `struct bpf_insn` on a little-endian machine: code,
    /// dst_reg in the low nibble and src_reg in the high nibble, off, imm.
    pub fn encode(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.dst & 0x0f) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// `dst = *(u32 *)(src + off)`
    fn ldx_w(dst: u8, src: u8, off: i16) -> Insn {
        Insn {
            code: BPF_LDX | BPF_MEM | BPF_W,
            dst,
            src,
            off,
            imm: 0,
        }
    }
    /// `wdst &= imm` (32-bit; the upper half is zeroed)
    fn and32_k(dst: u8, imm: i32) -> Insn {
        Insn {
            code: BPF_ALU | BPF_AND | BPF_K,
            dst,
            src: 0,
            off: 0,
            imm,
        }
    }
    /// `wdst = imm` (32-bit: zero-extends, so any u32 fits)
    fn mov32_k(dst: u8, imm: i32) -> Insn {
        Insn {
            code: BPF_ALU | BPF_MOV | BPF_K,
            dst,
            src: 0,
            off: 0,
            imm,
        }
    }
    /// `dst = imm` (64-bit)
    fn mov64_k(dst: u8, imm: i32) -> Insn {
        Insn {
            code: BPF_ALU64 | BPF_MOV | BPF_K,
            dst,
            src: 0,
            off: 0,
            imm,
        }
    }
    /// `if dst != imm goto +off` (imm sign-extended to 64 bits)
    fn jne_k(dst: u8, imm: i32, off: i16) -> Insn {
        Insn {
            code: BPF_JMP | BPF_JNE | BPF_K,
            dst,
            src: 0,
            off,
            imm,
        }
    }
    /// `if dst != src goto +off`
    fn jne_x(dst: u8, src: u8, off: i16) -> Insn {
        Insn {
            code: BPF_JMP | BPF_JNE | BPF_X,
            dst,
            src,
            off,
            imm: 0,
        }
    }
    fn exit() -> Insn {
        Insn {
            code: BPF_JMP | BPF_EXIT,
            dst: 0,
            src: 0,
            off: 0,
            imm: 0,
        }
    }
}

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

fn dev_type(kind: DeviceKind) -> u32 {
    match kind {
        DeviceKind::Block => BPF_DEVCG_DEV_BLOCK,
        DeviceKind::Char => BPF_DEVCG_DEV_CHAR,
    }
}

/// The comparisons of one rule: "skip to the end of the block unless the
/// register equals the value". A loaded u32 is zero-extended, and an
/// immediate is sign-extended, so values above i32::MAX go through w5.
fn compare(reg: u8, value: u32, skip: i16) -> Vec<Insn> {
    if value <= i32::MAX as u32 {
        vec![Insn::jne_k(reg, value as i32, skip)]
    } else {
        vec![Insn::mov32_k(R5, value as i32), Insn::jne_x(reg, R5, skip)]
    }
}

fn compare_len(value: u32) -> usize {
    if value <= i32::MAX as u32 {
        1
    } else {
        2
    }
}

/// The instructions of the device filter for `deny` (see the module docs).
pub fn program(deny: &[DeviceRule]) -> Vec<Insn> {
    let mut p = vec![
        Insn::ldx_w(R2, R1, 0),
        Insn::and32_k(R2, 0xffff),
        Insn::ldx_w(R3, R1, 4),
        Insn::ldx_w(R4, R1, 8),
    ];
    for rule in deny {
        let checks = [(R2, dev_type(rule.kind)), (R3, rule.major), (R4, rule.minor)];
        // The block: the comparisons, then `r0 = 0; exit`.
        let len: usize = checks.iter().map(|(_, v)| compare_len(*v)).sum::<usize>() + 2;
        let start = p.len();
        for (reg, value) in checks {
            // A jump at index i lands at i + 1 + off; the block ends at start + len.
            let at = p.len() + compare_len(value) - 1;
            let skip = (start + len - (at + 1)) as i16;
            p.extend(compare(reg, value, skip));
        }
        p.push(Insn::mov64_k(R0, 0));
        p.push(Insn::exit());
        debug_assert_eq!(p.len(), start + len);
    }
    p.push(Insn::mov64_k(R0, 1));
    p.push(Insn::exit());
    p
}

pub fn encode(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.encode()).collect()
}

/// `union bpf_attr` as BPF_PROG_LOAD reads it (the fields up to expected_attach_type).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` as BPF_PROG_ATTACH reads it.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: attr is a live, initialised repr(C) prefix of union bpf_attr;
    // the size passed is its size, and the kernel zero-fills the rest.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Loads the program; on failure loads it again with the verifier's log on,
/// and returns the error with that log.
fn load(insns: &[Insn]) -> Result<OwnedFd, (io::Error, String)> {
    let code = encode(insns);
    let license = b"GPL\0";
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"harness_dev");
    let attempt = |log: Option<&mut Vec<u8>>| {
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: insns.len() as u32,
            insns: code.as_ptr() as u64,
            license: license.as_ptr() as u64,
            prog_name: name,
            ..Default::default()
        };
        if let Some(buf) = log {
            attr.log_level = 1;
            attr.log_size = buf.len() as u32;
            attr.log_buf = buf.as_mut_ptr() as u64;
        }
        // SAFETY: on success the return value is a new file descriptor we own.
        bpf(BPF_PROG_LOAD, &mut attr).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
    };
    match attempt(None) {
        Ok(fd) => Ok(fd),
        Err(e) => {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = attempt(Some(&mut buf));
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let log = String::from_utf8_lossy(&buf[..end]).trim().to_string();
            Err((e, log))
        }
    }
}

/// Builds, loads and attaches the device filter denying `deny` to the cgroup
/// directory `dir` (BPF_F_ALLOW_MULTI, so programs of ancestors still run).
/// The attachment keeps the program alive; it goes away with the cgroup.
pub fn attach_device_filter(dir: &Path, deny: &[DeviceRule]) -> Result<(), CgroupError> {
    let insns = program(deny);
    let prog = load(&insns).map_err(|(source, log)| CgroupError::Bpf {
        op: "BPF_PROG_LOAD (device filter)",
        path: dir.to_path_buf(),
        source,
        log: if log.is_empty() {
            String::new()
        } else {
            format!("\nverifier log:\n{log}")
        },
    })?;
    let cpath = CString::new(dir.as_os_str().as_bytes()).map_err(|_| CgroupError::Bpf {
        op: "open",
        path: dir.to_path_buf(),
        source: io::Error::from(io::ErrorKind::InvalidInput),
        log: String::new(),
    })?;
    // SAFETY: a plain open(2) of a NUL-terminated path.
    let raw = unsafe { libc::open(cpath.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(CgroupError::Bpf {
            op: "open",
            path: dir.to_path_buf(),
            source: io::Error::last_os_error(),
            log: String::new(),
        });
    }
    // SAFETY: raw is a new descriptor we own.
    let dirfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut attr = ProgAttachAttr {
        target_fd: dirfd.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|source| CgroupError::Bpf {
        op: "BPF_PROG_ATTACH (BPF_CGROUP_DEVICE)",
        path: dir.to_path_buf(),
        source,
        log: String::new(),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: DeviceKind, major: u32, minor: u32) -> DeviceRule {
        DeviceRule { kind, major, minor }
    }

    #[test]
    fn instruction_bytes() {
        // Checked against the kernel's macros: BPF_LDX_MEM(BPF_W, R2, R1, 0)
        // is code 0x61, regs 0x12; BPF_JMP_IMM(BPF_JNE, R3, 1, 2) is 0x55.
        assert_eq!(Insn::ldx_w(R2, R1, 0).encode(), [0x61, 0x12, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Insn::ldx_w(R4, R1, 8).encode(), [0x61, 0x14, 8, 0, 0, 0, 0, 0]);
        assert_eq!(Insn::and32_k(R2, 0xffff).encode(), [0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]);
        assert_eq!(Insn::jne_k(R3, 1, 2).encode(), [0x55, 0x03, 2, 0, 1, 0, 0, 0]);
        assert_eq!(Insn::jne_x(R3, R5, 3).encode(), [0x5d, 0x53, 3, 0, 0, 0, 0, 0]);
        assert_eq!(
            Insn::mov32_k(R5, -1).encode(),
            [0xb4, 0x05, 0, 0, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(Insn::mov64_k(R0, 1).encode(), [0xb7, 0x00, 0, 0, 1, 0, 0, 0]);
        assert_eq!(Insn::exit().encode(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn program_shape() {
        assert_eq!(program(&[]).len(), 6);
        let p = program(&[rule(DeviceKind::Char, 1, 3)]);
        assert_eq!(
            p[4..],
            [
                Insn::jne_k(R2, 2, 4),
                Insn::jne_k(R3, 1, 3),
                Insn::jne_k(R4, 3, 2),
                Insn::mov64_k(R0, 0),
                Insn::exit(),
                Insn::mov64_k(R0, 1),
                Insn::exit(),
            ]
        );
        let p = program(&[rule(DeviceKind::Block, 0x8000_0000, 7)]);
        assert_eq!(
            p[4..9],
            [
                Insn::jne_k(R2, 1, 5),
                Insn::mov32_k(R5, i32::MIN),
                Insn::jne_x(R3, R5, 3),
                Insn::jne_k(R4, 7, 2),
                Insn::mov64_k(R0, 0),
            ]
        );
    }

    /// The disassembly by an independent implementation (rbpf) reads as intended.
    #[test]
    fn rbpf_disassembles_it() {
        let code = encode(&program(&[rule(DeviceKind::Char, 1, 3)]));
        let text: Vec<String> = rbpf::disassembler::to_insn_vec(&code)
            .into_iter()
            .map(|i| i.desc)
            .collect();
        assert_eq!(
            text,
            [
                "ldxw r2, [r1+0x0]",
                "and32 r2, 0xffff",
                "ldxw r3, [r1+0x4]",
                "ldxw r4, [r1+0x8]",
                "jne r2, 0x2, +0x4",
                "jne r3, 0x1, +0x3",
                "jne r4, 0x3, +0x2",
                "mov64 r0, 0x0",
                "exit",
                "mov64 r0, 0x1",
                "exit",
            ]
        );
    }

    fn ctx(kind: u32, access: u32, major: u32, minor: u32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(((access << 16) | kind).to_le_bytes());
        m.extend(major.to_le_bytes());
        m.extend(minor.to_le_bytes());
        m
    }

    /// Runs the program in rbpf (which also verifies it: every jump in
    /// bounds, ends in exit) against a `bpf_cgroup_dev_ctx`.
    fn run(code: &[u8], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let vm = rbpf::EbpfVmRaw::new(Some(code)).unwrap();
        let mut mem = ctx(kind, access, major, minor);
        vm.execute_program(&mut mem).unwrap()
    }

    #[test]
    fn semantics_in_an_interpreter() {
        let deny = [
            rule(DeviceKind::Char, 1, 3),
            rule(DeviceKind::Block, 7, 0),
            rule(DeviceKind::Char, 0xffff_fff0, 0x8000_0001),
        ];
        let code = encode(&program(&deny));
        const C: u32 = BPF_DEVCG_DEV_CHAR;
        const B: u32 = BPF_DEVCG_DEV_BLOCK;
        let all = [
            BPF_DEVCG_ACC_READ,
            BPF_DEVCG_ACC_WRITE,
            BPF_DEVCG_ACC_MKNOD,
            BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD,
        ];
        for acc in all {
            // Denied, whatever the access.
            assert_eq!(run(&code, C, acc, 1, 3), 0, "c 1:3 access {acc}");
            assert_eq!(run(&code, B, acc, 7, 0), 0, "b 7:0 access {acc}");
            assert_eq!(run(&code, C, acc, 0xffff_fff0, 0x8000_0001), 0, "large numbers");
            // Allowed: another device, or the same numbers of the other type.
            assert_eq!(run(&code, C, acc, 1, 5), 1, "c 1:5");
            assert_eq!(run(&code, B, acc, 1, 3), 1, "b 1:3");
            assert_eq!(run(&code, C, acc, 7, 0), 1, "c 7:0");
            assert_eq!(run(&code, C, acc, 3, 1), 1, "c 3:1");
            assert_eq!(run(&code, C, acc, 0xffff_fff0, 1), 1);
            assert_eq!(run(&code, C, acc, 0x7fff_fff0, 0x8000_0001), 1);
        }
        // No rule: everything allowed.
        let open = encode(&program(&[]));
        assert_eq!(run(&open, C, BPF_DEVCG_ACC_READ, 1, 3), 1);
    }
}
