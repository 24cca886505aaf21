//! /proc/self/mountinfo, parsed once for everyone: the probe reports it, the
//! cgroup hierarchy reader finds cgroup mounts in it, the checker's audit and
//! cleanup find mount points in it.

pub use crate::probe::MountLine;

/// A mount namespace of the calling thread's own whose mounts receive the host's
/// but never propagate back (`/` made a recursive slave): what the checker's
/// threads and the OCI adapter mount there stays off the host's table.
/// `Err` names the step that failed.
pub fn enter_private_namespace() -> Result<(), String> {
    use nix::mount::{mount, MsFlags};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| format!("making / a slave mount: {e}"))
}

/// Undo the octal escapes (`\040` for space, `\011`, `\012`, `\134`) that the
/// kernel uses in mountinfo fields.
pub fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') as u32 * 64 + (b[i + 2] - b'0') as u32 * 8 + (b[i + 3] - b'0') as u32;
            if v <= 0xff {
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn split_opts(s: &str) -> Vec<String> {
    s.split(',').filter(|o| !o.is_empty()).map(unescape_octal).collect()
}

/// One line of /proc/self/mountinfo:
/// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS`.
pub fn parse_mountinfo_line(line: &str) -> Option<MountLine> {
    let fields: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
    let sep = fields.iter().position(|f| *f == "-")?;
    if sep < 6 || fields.len() < sep + 3 {
        return None;
    }
    Some(MountLine {
        mount_id: fields[0].parse().ok()?,
        parent_id: fields[1].parse().ok()?,
        dev: fields[2].to_string(),
        root: unescape_octal(fields[3]),
        mount_point: unescape_octal(fields[4]),
        options: split_opts(fields[5]),
        propagation: fields[6..sep].iter().map(|f| f.to_string()).collect(),
        fstype: unescape_octal(fields[sep + 1]),
        source: unescape_octal(fields[sep + 2]),
        super_options: fields.get(sep + 3).map(|s| split_opts(s)).unwrap_or_default(),
    })
}

/// All parseable lines of a mountinfo file.
pub fn parse_mountinfo(text: &str) -> Vec<MountLine> {
    text.lines().filter_map(parse_mountinfo_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_line() {
        let line = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue";
        let m = parse_mountinfo_line(line).unwrap();
        assert_eq!(m.mount_id, 36);
        assert_eq!(m.parent_id, 35);
        assert_eq!(m.dev, "98:0");
        assert_eq!(m.root, "/mnt1");
        assert_eq!(m.mount_point, "/mnt2");
        assert_eq!(m.options, vec!["rw", "noatime"]);
        assert_eq!(m.propagation, vec!["master:1"]);
        assert_eq!(m.fstype, "ext3");
        assert_eq!(m.source, "/dev/root");
        assert_eq!(m.super_options, vec!["rw", "errors=continue"]);

        // no optional fields, escaped space in the mount point
        let line = "25 1 0:22 / /with\\040space rw,relatime - tmpfs tmpfs rw,size=1024k";
        let m = parse_mountinfo_line(line).unwrap();
        assert_eq!(m.mount_point, "/with space");
        assert!(m.propagation.is_empty());
        assert_eq!(m.fstype, "tmpfs");
        assert_eq!(m.source, "tmpfs");

        // overlay with several optional fields
        let line =
            "100 90 0:50 / / rw,relatime shared:5 master:2 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w";
        let m = parse_mountinfo_line(line).unwrap();
        assert_eq!(m.mount_point, "/");
        assert_eq!(m.propagation, vec!["shared:5", "master:2"]);
        assert_eq!(m.super_options[1], "lowerdir=/l");

        assert!(parse_mountinfo_line("").is_none());
        assert!(parse_mountinfo_line("1 2 3 / / rw").is_none());
        assert!(parse_mountinfo_line("x 2 0:1 / / rw - tmpfs t rw").is_none());
        let text = format!("{line}\nbroken\n{line}\n");
        assert_eq!(parse_mountinfo(&text).len(), 2);
    }

    #[test]
    fn octal_unescape() {
        assert_eq!(unescape_octal("a\\040b"), "a b");
        assert_eq!(unescape_octal("tab\\011nl\\012bs\\134"), "tab\tnl\nbs\\");
        assert_eq!(unescape_octal("trail\\04"), "trail\\04");
        assert_eq!(unescape_octal("\\9xx"), "\\9xx");
        assert_eq!(unescape_octal("plain"), "plain");
    }
}
