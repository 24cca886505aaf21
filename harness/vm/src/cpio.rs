//! The initramfs as a newc cpio archive, written without root: device nodes are
//! archive entries, files come from the host or from memory.

#[allow(unused_imports)]
use super::*;

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File {
        src: Source,
        mode: u32,
    },
    Symlink(String),
    /// A character device (major, minor): an archive entry, no mknod on the host.
    CharDev(u32, u32),
}

/// The initramfs as a map of archive paths (no leading `/`) to nodes; parents are
/// added as directories, and the writer emits them first (the kernel needs that).
#[derive(Debug, Default)]
pub struct Initramfs {
    pub entries: BTreeMap<String, Node>,
}

pub(crate) fn clean(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl Initramfs {
    pub fn add(&mut self, path: &str, node: Node) {
        let p = clean(path);
        let mut parent = String::new();
        for comp in p.split('/').collect::<Vec<_>>().iter().rev().skip(1).rev() {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(comp);
            self.entries.entry(parent.clone()).or_insert(Node::Dir);
        }
        if !p.is_empty() {
            self.entries.insert(p, node);
        }
    }

    pub fn dir(&mut self, path: &str) {
        self.add(path, Node::Dir);
    }

    pub fn file(&mut self, path: &str, src: Source, mode: u32) {
        self.add(path, Node::File { src, mode });
    }

    pub fn text(&mut self, path: &str, text: &str, mode: u32) {
        self.file(path, Source::Bytes(text.as_bytes().to_vec()), mode);
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        self.add(path, Node::Symlink(target.to_string()));
    }

    pub fn has(&self, path: &str) -> bool {
        self.entries.contains_key(&clean(path))
    }

    /// Writes the newc archive; returns the bytes written. Parents come before their
    /// children because the map is ordered and `a` sorts before `a/b`.
    pub fn write(&self, out: &mut impl Write) -> Result<u64> {
        let mut w = CpioWriter {
            out,
            written: 0,
            ino: 1,
        };
        let mut names: Vec<&String> = self.entries.keys().collect();
        // "a/b" must follow "a" even where "a-x" sorts between: order by components.
        names.sort_by(|a, b| a.split('/').cmp(b.split('/')));
        for name in names {
            match &self.entries[name] {
                Node::Dir => w.entry(name, 0o040755, 2, 0, &[])?,
                Node::File { src, mode } => {
                    let data = match src {
                        Source::Bytes(b) => std::borrow::Cow::Borrowed(b.as_slice()),
                        Source::Path(p) => std::borrow::Cow::Owned(std::fs::read(p).map_err(io_err(p.display()))?),
                    };
                    w.entry(name, 0o100000 | (mode & 0o7777), 1, 0, &data)?
                }
                Node::Symlink(t) => w.entry(name, 0o120777, 1, 0, t.as_bytes())?,
                Node::CharDev(maj, min) => {
                    w.entry(name, 0o020600, 1, (u64::from(*maj) << 32) | u64::from(*min), &[])?
                }
            }
        }
        w.entry("TRAILER!!!", 0, 1, 0, &[])?;
        Ok(w.written)
    }
}

pub(crate) struct CpioWriter<'a, W: Write> {
    out: &'a mut W,
    written: u64,
    ino: u32,
}

impl<W: Write> CpioWriter<'_, W> {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.out.write_all(b).map_err(io_err("writing the initramfs"))?;
        self.written += b.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> Result<()> {
        let n = (4 - (self.written % 4) as usize) % 4;
        self.put(&[0u8; 3][..n])
    }

    /// One newc entry; `rdev` is major << 32 | minor.
    fn entry(&mut self, name: &str, mode: u32, nlink: u32, rdev: u64, data: &[u8]) -> Result<()> {
        let trailer = name == "TRAILER!!!";
        let ino = if trailer { 0 } else { self.ino };
        self.ino += 1;
        let mut h = String::from("070701");
        let (rmaj, rmin) = ((rdev >> 32) as u32, rdev as u32);
        for v in [
            ino,
            mode,
            0,
            0,
            nlink,
            0,
            data.len() as u32,
            0,
            0,
            rmaj,
            rmin,
            name.len() as u32 + 1,
            0,
        ] {
            let _ = write!(h, "{v:08x}");
        }
        self.put(h.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad()?;
        self.put(data)?;
        self.pad()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a newc archive back: (name, mode, rdev major, rdev minor, data).
    fn read_cpio(mut b: &[u8]) -> Vec<(String, u32, u32, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut off = 0usize;
        loop {
            assert_eq!(&b[..6], b"070701", "magic at {off}");
            let f =
                |i: usize| u32::from_str_radix(std::str::from_utf8(&b[6 + i * 8..14 + i * 8]).unwrap(), 16).unwrap();
            let (mode, size, rmaj, rmin, namesize) = (f(1), f(6) as usize, f(9), f(10), f(11) as usize);
            let name = std::str::from_utf8(&b[110..110 + namesize - 1]).unwrap().to_string();
            assert_eq!(b[110 + namesize - 1], 0);
            let data_at = (110 + namesize + 3) & !3;
            let data = b[data_at..data_at + size].to_vec();
            let next = (data_at + size + 3) & !3;
            assert_eq!((off + data_at) % 4, 0);
            off += next;
            b = &b[next..];
            if name == "TRAILER!!!" {
                assert!(b.is_empty());
                return out;
            }
            out.push((name, mode, rmaj, rmin, data));
        }
    }

    #[test]
    fn cpio_entries_are_newc_aligned_with_parents_first() {
        let mut fs = Initramfs::default();
        fs.text("a/b/file", "hello", 0o644);
        fs.text("a-x", "dash", 0o755);
        fs.symlink("bin/sh", "busybox");
        fs.add("dev/console", Node::CharDev(5, 1));
        let mut buf = Vec::new();
        let n = fs.write(&mut buf).unwrap();
        assert_eq!(n as usize, buf.len());
        assert_eq!(buf.len() % 4, 0);
        let e = read_cpio(&buf);
        let names: Vec<&str> = e.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names,
            ["a", "a/b", "a/b/file", "a-x", "bin", "bin/sh", "dev", "dev/console"]
        );
        let get = |n: &str| e.iter().find(|x| x.0 == n).unwrap();
        assert_eq!(get("a/b/file").1, 0o100644);
        assert_eq!(get("a/b/file").4, b"hello");
        assert_eq!(get("a-x").1, 0o100755);
        assert_eq!(get("a").1, 0o040755);
        assert_eq!(
            (get("bin/sh").1, get("bin/sh").4.as_slice()),
            (0o120777, b"busybox".as_slice())
        );
        assert_eq!(
            (get("dev/console").1, get("dev/console").2, get("dev/console").3),
            (0o020600, 5, 1)
        );
    }

    #[test]
    fn cpio_is_read_by_the_cpio_tool_when_installed() {
        if which("cpio").is_none() {
            return;
        }
        let mut fs = Initramfs::default();
        fs.text("x/y", "1", 0o644);
        let mut buf = Vec::new();
        fs.write(&mut buf).unwrap();
        let mut child = Command::new("cpio")
            .arg("-it")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&buf).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "x\nx/y\n");
    }
}
