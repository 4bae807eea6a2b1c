//! JSON Lines output and the counts that decide the exit status.

use std::io::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

/// Whether a message (protocol, type, fields, and whether it came from the device when the
/// decoder knows: Daly's request and response types share names) answers a request.
pub(crate) type ReplyFilter = fn(&str, &str, &Map<String, Value>, Option<bool>) -> bool;

/// Where decoded messages and errors go.
pub(crate) struct Output {
    out: std::io::BufWriter<Box<dyn std::io::Write>>,
    protocol: &'static str,
    /// Messages decoded.
    pub(crate) messages: u64,
    /// Errors reported.
    pub(crate) errors: u64,
    /// The first error writing stdout; nothing more is written after it.
    pub(crate) write_error: Option<std::io::Error>,
    /// `voltwire poll`: which messages answer a request (protocol, type, fields).
    pub(crate) reply_filter: Option<ReplyFilter>,
    /// Messages that are only "a line of some text" (`decode slcan`'s `unknown`): counted in
    /// `messages` too; when they are the majority the input is not the protocol.
    pub(crate) unrecognized: u64,
    /// The line [`Output::message_ser`] builds (kept to reuse its allocation).
    line: Vec<u8>,
    /// Messages the filter took for replies, and errors (a garbled reply is an answer too).
    pub(crate) replies: u64,
}

impl Output {
    /// JSON Lines to stdout.
    pub(crate) fn new(protocol: &'static str) -> Self {
        Self::to(protocol, Box::new(std::io::stdout().lock()))
    }

    /// JSON Lines to `w`.
    pub(crate) fn to(protocol: &'static str, w: Box<dyn std::io::Write>) -> Self {
        Self {
            out: std::io::BufWriter::with_capacity(64 * 1024, w),
            protocol,
            messages: 0,
            errors: 0,
            write_error: None,
            reply_filter: None,
            unrecognized: 0,
            line: Vec::new(),
            replies: 0,
        }
    }

    fn write(&mut self, obj: &Map<String, Value>) {
        if self.write_error.is_some() {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, obj)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = written {
            self.write_error = Some(e);
        }
    }

    /// A decoded message serialized straight to the line (no intermediate map): `protocol`,
    /// `type`, `offset`, then the fields of `head` (what the app adds, e.g. a CAN `id`; `()`
    /// for none), then those of `body` (a protocol crate's `serde` impl).
    pub(crate) fn message_ser<H: Serialize, B: Serialize + ?Sized>(
        &mut self,
        kind: &str,
        offset: u64,
        head: H,
        body: &B,
    ) {
        self.serialize_line(None, kind, offset, head, body);
    }

    /// [`Output::message_ser`] for a message the decoder knows came from the device
    /// (`from_device`) or from the host.
    pub(crate) fn message_from<H: Serialize, B: Serialize + ?Sized>(
        &mut self,
        from_device: bool,
        kind: &str,
        offset: u64,
        head: H,
        body: &B,
    ) {
        self.serialize_line(Some(from_device), kind, offset, head, body);
    }

    fn serialize_line<H: Serialize, B: Serialize + ?Sized>(
        &mut self,
        from_device: Option<bool>,
        kind: &str,
        offset: u64,
        head: H,
        body: &B,
    ) {
        if self
            .reply_filter
            .is_some_and(|f| f(self.protocol, kind, &Map::new(), from_device))
        {
            self.replies += 1;
        }
        self.messages += 1;
        if self.write_error.is_some() {
            return;
        }
        let line = Line {
            protocol: self.protocol,
            kind,
            offset,
            head,
            body,
        };
        // Into a reused buffer first: one write per line instead of one per token.
        let mut buf = core::mem::take(&mut self.line);
        buf.clear();
        let written = serde_json::to_writer(&mut buf, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| {
                buf.push(b'\n');
                self.out.write_all(&buf)
            });
        self.line = buf;
        if let Err(e) = written {
            self.write_error = Some(e);
        }
    }

    /// An item that is not a decoded message (`voltwire poll`'s timeouts): `protocol`,
    /// `type`, then `fields`; not counted.
    pub(crate) fn notice(&mut self, kind: &str, fields: Map<String, Value>) {
        let mut obj = Map::new();
        obj.insert("protocol".into(), self.protocol.into());
        obj.insert("type".into(), kind.into());
        obj.extend(fields);
        self.write(&obj);
    }

    /// A rejected frame: `{"protocol", "type": "error", "offset", "error": code, ...detail}`
    /// on stdout and a readable line on stderr.
    pub(crate) fn error(
        &mut self,
        offset: u64,
        code: &str,
        detail: &str,
        extra: Map<String, Value>,
    ) {
        let mut obj = Map::new();
        obj.insert("protocol".into(), self.protocol.into());
        obj.insert("type".into(), "error".into());
        obj.insert("offset".into(), offset.into());
        obj.insert("error".into(), code.into());
        obj.extend(extra);
        self.write(&obj);
        self.errors += 1;
        self.replies += 1;
        say!(
            "voltwire: {} at offset {offset}: {}",
            self.protocol,
            escape_controls(detail)
        );
    }

    pub(crate) fn flush(&mut self) {
        if self.write_error.is_none() {
            if let Err(e) = self.out.flush() {
                self.write_error = Some(e);
            }
        }
    }
}

/// One JSON line of [`Output::message_ser`].
#[derive(Serialize)]
struct Line<'a, H, B: ?Sized> {
    protocol: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    offset: u64,
    #[serde(flatten)]
    head: H,
    #[serde(flatten)]
    body: &'a B,
}

/// `text` with its control characters escaped (`\u{1b}`, `\r`, …): bytes of a capture
/// echoed to a terminal must not drive it.
pub(crate) fn escape_controls(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut s, c| {
            if c.is_control() {
                s.extend(c.escape_default());
            } else {
                s.push(c);
            }
            s
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            super::escape_controls("a\u{1b}[2Jb\r\u{7}é"),
            "a\\u{1b}[2Jb\\r\\u{7}é"
        );
    }
}
