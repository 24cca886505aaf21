//! The console protocol: the command's output between nonce markers on the second
//! serial port, then its result files in base64.

#[allow(unused_imports)]
use super::*;

/// What the results port said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The init is running.
    Boot,
    /// One line of the command's output (without its newline).
    Line(Vec<u8>),
    /// The command ended with this status.
    End(i32),
    File {
        name: String,
        data: Vec<u8>,
    },
    /// A file whose base64 did not decode.
    BadFile(String),
    /// Everything was sent.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    Before,
    Output,
    After,
    InFile(String, Vec<u8>),
}

/// Parses the results port incrementally; only markers with this run's nonce count.
pub struct ResultParser {
    nonce: String,
    pending: Vec<u8>,
    state: State,
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl ResultParser {
    pub fn new(nonce: &str) -> ResultParser {
        ResultParser {
            nonce: nonce.to_string(),
            pending: Vec::new(),
            state: State::Before,
        }
    }

    /// Whether the command's output has started and not ended (a partial line is then output).
    pub fn in_output(&self) -> bool {
        self.state == State::Output
    }

    /// Whether the command's output has begun (its BEGIN marker came).
    pub fn began(&self) -> bool {
        self.state != State::Before
    }

    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.pending.drain(..=nl).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.line(line, &mut events);
        }
        events
    }

    /// The end of the stream: a partial last line of output is output.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.line(line, &mut events);
        }
        events
    }

    fn marker(&self, kind: &str) -> Vec<u8> {
        format!("@@LAB-{kind} {}", self.nonce).into_bytes()
    }

    fn line(&mut self, line: Vec<u8>, events: &mut Vec<Event>) {
        let file_end = self.marker("FILE-END");
        match &mut self.state {
            State::Before => {
                if find(&line, &self.marker("BOOT")).is_some() {
                    events.push(Event::Boot);
                } else if find(&line, &self.marker("BEGIN")).is_some() {
                    self.state = State::Output;
                }
            }
            State::Output => {
                let m = self.marker("END");
                match find(&line, &m) {
                    Some(at) => {
                        // Output without a final newline ends right before the marker.
                        if at > 0 {
                            events.push(Event::Line(line[..at].to_vec()));
                        }
                        let rest = String::from_utf8_lossy(&line[at + m.len()..]).into_owned();
                        let rc = rest
                            .trim()
                            .strip_prefix("rc=")
                            .and_then(|r| r.trim_end_matches('@').parse::<i32>().ok());
                        events.push(Event::End(rc.unwrap_or(EXIT_VM)));
                        self.state = State::After;
                    }
                    None => events.push(Event::Line(line)),
                }
            }
            State::After => {
                let (fm, dm) = (self.marker("FILE"), self.marker("DONE"));
                if let Some(at) = find(&line, &fm) {
                    let name = String::from_utf8_lossy(&line[at + fm.len()..])
                        .trim()
                        .trim_end_matches("@@")
                        .to_string();
                    self.state = State::InFile(name, Vec::new());
                } else if find(&line, &dm).is_some() {
                    events.push(Event::Done);
                }
            }
            State::InFile(name, b64) => {
                if find(&line, &file_end).is_some() {
                    let name = std::mem::take(name);
                    events.push(match base64_decode(b64) {
                        Some(data) => Event::File { name, data },
                        None => Event::BadFile(name),
                    });
                    self.state = State::After;
                } else {
                    b64.extend_from_slice(&line);
                }
            }
        }
    }
}

/// Standard base64 (white space ignored); None when malformed.
pub fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let clean: Vec<u8> = text.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
    if clean.len() & 3 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for (i, chunk) in clean.chunks(4).enumerate() {
        let last = i + 1 == clean.len() / 4;
        let pads = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pads > 2 || (pads > 0 && !last) {
            return None;
        }
        let mut n: u32 = 0;
        for &c in &chunk[..4 - pads] {
            n = n << 6 | u32::from(val(c)?);
        }
        n <<= 6 * pads as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pads]);
    }
    Some(out)
}

/// A file name the VM sent is written only if it is a plain name.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_parsed_between_markers_of_this_run_only() {
        let mut p = ResultParser::new("abc");
        let mut ev = p.feed(b"junk\r\n@@LAB-BOOT abc@@\r\n@@LAB-BEGIN other@@\n@@LAB-BEGIN abc@@\nline 1\r\n@@LAB-END other rc=0@@\nlast");
        ev.extend(p.feed(b" part@@LAB-END abc rc=3@@\n@@LAB-FILE abc r.xml@@\naGVs\nbG8=\n@@LAB-FILE-END abc@@\n"));
        ev.extend(p.feed(b"@@LAB-FILE abc bad@@\n!!\n@@LAB-FILE-END abc@@\n@@LAB-DONE abc@@\n"));
        assert_eq!(
            ev,
            vec![
                Event::Boot,
                Event::Line(b"line 1".to_vec()),
                Event::Line(b"@@LAB-END other rc=0@@".to_vec()),
                Event::Line(b"last part".to_vec()),
                Event::End(3),
                Event::File {
                    name: "r.xml".into(),
                    data: b"hello".to_vec()
                },
                Event::BadFile("bad".into()),
                Event::Done,
            ]
        );
    }

    #[test]
    fn a_cut_stream_has_no_end() {
        let mut p = ResultParser::new("n");
        let mut ev = p.feed(b"@@LAB-BOOT n@@\n@@LAB-BEGIN n@@\npartial");
        assert!(p.in_output());
        ev.extend(p.finish());
        assert_eq!(ev, vec![Event::Boot, Event::Line(b"partial".to_vec())]);
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_decode(b"").unwrap(), b"");
        assert_eq!(base64_decode(b"Zg==").unwrap(), b"f");
        assert_eq!(base64_decode(b"Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode(b"Zm9v\nYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode(b"/+8=").unwrap(), [0xff, 0xef]);
        assert!(base64_decode(b"Zm9").is_none());
        assert!(base64_decode(b"Zg==Zg==").is_none());
        assert!(base64_decode(b"Z!==").is_none());
    }

    #[test]
    fn only_plain_file_names_are_written() {
        assert!(safe_name("junit.xml"));
        for bad in ["", ".", "..", "../x", "/etc/passwd", "a/b"] {
            assert!(!safe_name(bad), "{bad}");
        }
    }
}
