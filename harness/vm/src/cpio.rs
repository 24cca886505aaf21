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
