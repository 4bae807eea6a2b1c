//! Reading CAN logs in the three shapes `candump` writes:
//!
//! - log format (`candump -L`): `(1700000000.123456) can0 351#1402E803`
//! - compact: `351#1402E803` (also `123#R` for a remote frame, `12345678#…` for 29-bit IDs)
//! - default format: `can0  351   [4]  14 02 E8 03` (and `can0  351   [0]  remote request`)
//!
//! An identifier written with 8 hex digits is extended (29-bit); with up to 3, standard.

use serde_json::Map;
use voltwire_core::can::CanFrame;

use crate::output::Output;
use crate::protocols::{Decode, Walk, Window};

/// One CAN frame read from a log line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CanLine {
    /// 1-based line number in the input.
    pub(crate) line: u64,
    /// The frame. A remote frame's DLC is not kept (0): no decoder needs it.
    pub(crate) frame: CanFrame,
    /// Timestamp in seconds, when the log has one.
    #[allow(dead_code, reason = "read by the tests; no decoder prints it yet")]
    pub(crate) timestamp: Option<f64>,
}

/// The longest line kept while waiting for its end; a longer one is reported and skipped.
pub(crate) const MAX_LINE: usize = 4096;

/// What to do with each frame of a CAN log (or of a live bus).
pub(crate) trait OnFrame {
    /// A frame read from line `line` (or the `line`-th frame of a bus).
    fn frame(&mut self, line: u64, frame: &CanFrame, out: &mut Output);
}

/// A candump log decoded line by line as it arrives.
pub(crate) struct Log<F> {
    on: F,
    /// Lines finished so far.
    line: u64,
    /// The current line is over [`MAX_LINE`] and reported: skip to its end.
    skipping: bool,
}

impl<F: OnFrame> Log<F> {
    pub(crate) const fn new(on: F) -> Self {
        Self {
            on,
            line: 0,
            skipping: false,
        }
    }

    fn line(&mut self, bytes: &[u8], out: &mut Output) {
        self.line += 1;
        let text = String::from_utf8_lossy(bytes);
        let l = text.trim_end_matches('\r');
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            return;
        }
        match parse_line(l, self.line) {
            Ok(c) => self.on.frame(c.line, &c.frame, out),
            Err(reason) => out.error(self.line, "bad_line", &reason, Map::new()),
        }
    }
}

impl<F: OnFrame> Walk for Log<F> {
    fn walk(&mut self, bytes: &[u8], _base: u64, last: bool, out: &mut Output) -> usize {
        let mut pos = 0;
        while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                if self.skipping {
                    if last {
                        self.skipping = false;
                    }
                    return bytes.len();
                }
                if last {
                    self.line(rest, out);
                    return bytes.len();
                }
                if rest.len() > MAX_LINE {
                    self.skipping = true;
                    out.error(
                        self.line + 1,
                        "bad_line",
                        &format!("line longer than {MAX_LINE} bytes; not a candump line"),
                        Map::new(),
                    );
                    return bytes.len();
                }
                return pos;
            };
            if self.skipping {
                self.skipping = false;
                self.line += 1;
            } else {
                self.line(rest.get(..end).unwrap_or_default(), out);
            }
            pos += end + 1;
        }
        pos
    }
}

/// A CAN protocol's decoder: a candump log as it arrives, or frames from a bus.
pub(crate) struct CanLog<F>(Window<Log<F>>);

impl<F: OnFrame + 'static> CanLog<F> {
    pub(crate) fn boxed(on: F) -> Box<dyn Decode> {
        Box::new(Self(Window::new(Log::new(on))))
    }
}

impl<F: OnFrame> Decode for CanLog<F> {
    fn feed(&mut self, chunk: &[u8], out: &mut Output) {
        self.0.feed(chunk, out);
    }

    fn finish(&mut self, out: &mut Output) {
        self.0.finish(out);
    }

    fn frame(&mut self, index: u64, frame: &CanFrame, out: &mut Output) {
        self.0.inner().on.frame(index, frame, out);
    }
}

fn parse_id(s: &str) -> Result<(u32, bool), String> {
    let id = u32::from_str_radix(s, 16).map_err(|_| format!("`{s}` is not a hex CAN id"))?;
    let extended = s.len() > 3;
    let max = if extended { 0x1FFF_FFFF } else { 0x7FF };
    if id > max {
        return Err(format!("CAN id `{s}` is out of range"));
    }
    Ok((id, extended))
}

fn parse_hex_bytes<'a>(parts: impl Iterator<Item = &'a str>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for p in parts {
        if p.len() % 2 != 0 {
            return Err(format!("`{p}`: data needs two hex digits per byte"));
        }
        for i in (0..p.len()).step_by(2) {
            let byte = p
                .get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("`{p}` is not hex data"))?;
            out.push(byte);
        }
    }
    if out.len() > 8 {
        return Err(format!(
            "{} data bytes; classic CAN carries at most 8",
            out.len()
        ));
    }
    Ok(out)
}

fn parse_line(l: &str, line: u64) -> Result<CanLine, String> {
    let mut words: Vec<&str> = l.split_whitespace().collect();
    let mut timestamp = None;
    if let Some(first) = words.first() {
        if first.starts_with('(') && first.ends_with(')') {
            timestamp = first
                .trim_matches(|c| c == '(' || c == ')')
                .parse::<f64>()
                .ok();
            words.remove(0);
        }
    }
    // Compact or log format: the frame is the word with '#'.
    if let Some(word) = words.iter().find(|w| w.contains('#')) {
        let (id, rest) = word.split_once('#').unwrap_or((word, ""));
        let (id, extended) = parse_id(id)?;
        let remote = rest.starts_with('R') || rest.starts_with('r');
        let data = if remote {
            Vec::new()
        } else {
            parse_hex_bytes(std::iter::once(rest))?
        };
        return Ok(CanLine {
            line,
            frame: frame(id, extended, remote, &data)?,
            timestamp,
        });
    }
    // Default format: `can0  351   [4]  14 02 E8 03`.
    let Some(dlc_at) = words
        .iter()
        .position(|w| w.starts_with('[') && w.ends_with(']'))
    else {
        return Err("not a candump line (expected `ID#DATA` or `IFACE ID [DLC] BYTES`)".into());
    };
    let id_word = dlc_at
        .checked_sub(1)
        .and_then(|i| words.get(i))
        .ok_or("missing CAN id before [DLC]")?;
    let (id, extended) = parse_id(id_word)?;
    let dlc: usize = words
        .get(dlc_at)
        .map(|w| w.trim_matches(|c| c == '[' || c == ']'))
        .and_then(|w| w.parse().ok())
        .ok_or("bad [DLC]")?;
    let rest: Vec<&str> = words.get(dlc_at + 1..).unwrap_or_default().to_vec();
    let remote = rest
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("remote"));
    let data = if remote {
        Vec::new()
    } else {
        parse_hex_bytes(rest.into_iter())?
    };
    if !remote && data.len() != dlc {
        return Err(format!(
            "[{dlc}] announces {dlc} bytes but the line has {}",
            data.len()
        ));
    }
    Ok(CanLine {
        line,
        frame: frame(id, extended, remote, &data)?,
        timestamp,
    })
}

fn frame(id: u32, extended: bool, remote: bool, data: &[u8]) -> Result<CanFrame, String> {
    if remote {
        CanFrame::remote_frame(id, extended, 0)
    } else {
        CanFrame::data_frame(id, extended, data)
    }
    .ok_or_else(|| "invalid CAN frame".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Vec<Result<CanLine, (u64, String)>> {
        let text = String::from_utf8_lossy(input);
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|(i, l)| {
                let line = i as u64 + 1;
                parse_line(l, line).map_err(|e| (line, e))
            })
            .collect()
    }

    #[test]
    fn three_formats() {
        let log = b"(1700000000.123456) can0 351#1402E803\n\
                    359#0000\n\
                    can0  356   [4]  14 02 E8 03\n\
                    \n\
                    18FF50E5#0102\n\
                    (1.5) vcan0 305#R\n\
                    can0  305   [0]  remote request\n\
                    garbage here\n";
        let got = parse(log);
        assert_eq!(got.len(), 7);
        let a = got[0].as_ref().unwrap();
        assert_eq!(
            (a.line, a.frame.id(), a.frame.is_extended(), a.frame.data()),
            (1, 0x351, false, &[0x14, 0x02, 0xE8, 0x03][..])
        );
        assert_eq!(a.timestamp, Some(1_700_000_000.123_456));
        assert_eq!(got[1].as_ref().unwrap().frame.data(), [0, 0]);
        assert_eq!(got[2].as_ref().unwrap().frame.id(), 0x356);
        let e = got[3].as_ref().unwrap();
        assert_eq!(
            (e.line, e.frame.id(), e.frame.is_extended()),
            (5, 0x18FF_50E5, true)
        );
        assert!(got[4].as_ref().unwrap().frame.is_remote());
        assert!(got[5].as_ref().unwrap().frame.is_remote());
        assert_eq!(got[6].as_ref().unwrap_err().0, 8);
    }

    #[test]
    fn errors() {
        assert!(parse_line("800#00", 1).is_err()); // > 11 bits
        assert!(parse_line("351#123", 1).is_err()); // odd digits
        assert!(parse_line("351#112233445566778899", 1).is_err()); // > 8 bytes
        assert!(parse_line("can0 351 [3] 01 02", 1).is_err()); // DLC mismatch
    }
}
