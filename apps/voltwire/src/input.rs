//! Reading the input as it arrives: raw bytes, or hex text with `--hex`, in chunks that go
//! to the protocol's streaming decoder at once (output is flushed after every chunk).

use std::fs::File;
use std::io::{self, Read, Seek as _, SeekFrom};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::output::Output;
use crate::protocols::Decode;

/// Bytes read at a time.
pub(crate) const CHUNK: usize = 64 * 1024;

/// How often `--follow` looks for more bytes at the end of a file.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Open `path` (or stdin for `None` / `-`).
pub(crate) fn open(path: Option<&Path>) -> Result<Box<dyn Read>, String> {
    match path {
        None => Ok(Box::new(io::stdin())),
        Some(p) if p.as_os_str() == "-" => Ok(Box::new(io::stdin())),
        Some(p) => File::open(p)
            .map(|f| Box::new(f) as Box<dyn Read>)
            .map_err(|e| {
                format!(
                    "cannot read INPUT `{}`: {e} (give the path of a capture file, a source URL \
                 such as serial:///dev/ttyUSB0, or `-` for stdin)",
                    p.display()
                )
            }),
    }
}

/// A file read by `--follow`. At its end it looks at the path again: a file that got shorter
/// than what was read (truncated, e.g. `> capture.bin`) is read again from its start, and a
/// path that now names another file (rotated: moved away and created anew) is reopened and
/// read from its start; both are said on stderr. Stream offsets keep counting on.
pub(crate) struct Followed {
    path: PathBuf,
    file: File,
    /// Bytes read from the current file.
    pos: u64,
}

impl Followed {
    /// Open `path` to follow it.
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| {
            format!(
                "cannot read INPUT `{}`: {e} (give the path of a capture file to follow)",
                path.display()
            )
        })?;
        Ok(Self {
            path: path.to_owned(),
            file,
            pos: 0,
        })
    }

    /// At the end of the file: start again if it was truncated or replaced.
    fn check(&mut self) {
        // A path that is missing for a moment (between a move and a create) is looked at
        // again at the next poll.
        let (Ok(now), Ok(current)) = (std::fs::metadata(&self.path), self.file.metadata()) else {
            return;
        };
        if (now.dev(), now.ino()) != (current.dev(), current.ino()) {
            if let Ok(f) = File::open(&self.path) {
                say!(
                    "voltwire: {}: replaced by a new file (rotated); reading it from its start",
                    self.path.display()
                );
                self.file = f;
                self.pos = 0;
            }
        } else if current.len() < self.pos && self.file.seek(SeekFrom::Start(0)).is_ok() {
            say!(
                "voltwire: {}: truncated; reading it again from its start",
                self.path.display()
            );
            self.pos = 0;
        }
    }
}

impl Read for Followed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 {
            self.check();
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Read `input` to its end (with `follow`, forever), feeding every chunk to `decoder` and
/// flushing `out` after it. Returns the bytes read, or the error that ended the input
/// (unreadable input, bad `--hex` text) with the bytes read until then.
pub(crate) fn pump(
    input: &mut dyn Read,
    hex: Option<&mut Hex>,
    follow: bool,
    decoder: &mut dyn Decode,
    out: &mut Output,
) -> (u64, Result<(), String>) {
    let mut buf = vec![0u8; CHUNK];
    let mut bytes = Vec::new();
    let mut total = 0u64;
    let mut hex = hex;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) if follow => {
                std::thread::sleep(FOLLOW_POLL);
                continue;
            }
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (total, Err(format!("cannot read the input: {e}"))),
        };
        total += n as u64;
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some(h) = hex.as_deref_mut() {
            bytes.clear();
            if let Err(e) = h.push(chunk, &mut bytes) {
                return (total, Err(e));
            }
            decoder.feed(&bytes, out);
        } else {
            decoder.feed(chunk, out);
        }
        out.flush();
        if out.write_error.is_some() {
            return (total, Ok(()));
        }
    }
    if let Some(h) = hex {
        if let Err(e) = h.end() {
            return (total, Err(e));
        }
    }
    (total, Ok(()))
}

/// Hex text to bytes as it arrives (whitespace ignored; an optional `0x` before a byte pair
/// is allowed).
#[derive(Debug, Default)]
pub(crate) struct Hex {
    /// Offset in the text of the next character.
    at: u64,
    /// A first digit waiting for its pair (its offset, its value, and whether it was a `0`
    /// that an `x` would turn into a prefix).
    pending: Option<(u64, u8, bool)>,
}

impl Hex {
    /// Decode `text` into `out`.
    ///
    /// # Errors
    /// A character that is not a hex digit, naming its offset.
    pub(crate) fn push(&mut self, text: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        for &c in text {
            let i = self.at;
            self.at += 1;
            if c.is_ascii_whitespace() {
                continue;
            }
            match self.pending.take() {
                Some((_, _, true)) if matches!(c, b'x' | b'X') => {}
                Some((_, h, _)) => out.push(h << 4 | hex_val(c).ok_or_else(|| bad_digit(i, c))?),
                None => {
                    let h = hex_val(c).ok_or_else(|| bad_digit(i, c))?;
                    self.pending = Some((i, h, c == b'0'));
                }
            }
        }
        Ok(())
    }

    /// The text has ended.
    ///
    /// # Errors
    /// A digit without its pair.
    pub(crate) fn end(&mut self) -> Result<(), String> {
        match self.pending.take() {
            Some((i, _, _)) => Err(format!(
                "--hex input has an odd number of hex digits (the last one is at byte {i}); \
                 each byte needs two digits"
            )),
            None => Ok(()),
        }
    }
}

/// Decode a whole hex text (tests).
#[cfg(test)]
fn from_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut h = Hex::default();
    let mut out = Vec::new();
    h.push(text, &mut out)?;
    h.end()?;
    Ok(out)
}

fn bad_digit(at: u64, b: u8) -> String {
    format!(
        "--hex input has `{}` at byte {at}, which is not a hex digit; \
         give only hex digits and whitespace, or drop --hex to read raw bytes",
        char::from(b).escape_default()
    )
}

use voltwire_core::hex::value as hex_val;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_text() {
        assert_eq!(from_hex(b"0d 0A\n50 49 44").unwrap(), b"\r\nPID");
        assert_eq!(from_hex(b"0xA5 0x40").unwrap(), [0xA5, 0x40]);
        assert_eq!(from_hex(b"").unwrap(), b"");
        assert!(from_hex(b"0d0").unwrap_err().contains("odd number"));
        assert!(from_hex(b"zz").unwrap_err().contains("not a hex digit"));
        assert!(from_hex(b"0z").unwrap_err().contains("at byte 1"));
        // Split anywhere, even inside a `0x` prefix or a byte pair.
        let text = b"0xA5 0x40 0d0A";
        for cut in 0..text.len() {
            let mut h = Hex::default();
            let mut out = Vec::new();
            h.push(&text[..cut], &mut out).unwrap();
            h.push(&text[cut..], &mut out).unwrap();
            h.end().unwrap();
            assert_eq!(out, [0xA5, 0x40, 0x0D, 0x0A], "cut at {cut}");
        }
    }
}
