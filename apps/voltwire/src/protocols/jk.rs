//! `voltwire decode jk`: the JK BMS "4E 57" protocol (requests, replies, writes).

use serde_json::Map;
use voltwire_jk::frame::{self, START};
use voltwire_jk::{Error, Message, Transport, check_frame};

use super::{Decode, Options, Walk, Window};
use crate::output::Output;
use voltwire_core::{Framing, Scan};

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    Box::new(Window::new(Frames))
}

/// The frame walk over a window of the stream.
struct Frames;

impl Walk for Frames {
    fn walk(&mut self, bytes: &[u8], base: u64, last: bool, out: &mut Output) -> usize {
        let mut pos = 0;
        while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
            let found = if last {
                // The whole capture is here: a candidate cut off by its end is skipped,
                // not waited for.
                frame::scan_final(rest)
            } else {
                match <voltwire_jk::frame::JkFraming as Framing>::scan(rest) {
                    Scan::Frame { skip, len } => Some((skip, len)),
                    Scan::Incomplete { skip } => {
                        report_dropped(bytes, base, pos, pos + skip, out);
                        return pos + skip;
                    }
                }
            };
            let Some((skip, len)) = found else {
                report_dropped(bytes, base, pos, bytes.len(), out);
                return bytes.len();
            };
            report_dropped(bytes, base, pos, pos + skip, out);
            let start = pos + skip;
            let at = base + start as u64;
            match Message::parse(bytes.get(start..start + len).unwrap_or_default()) {
                Ok(m) => out.message_ser(&message_type(&m), at, (), &m),
                Err(e) => out.error(at, e.code(), &e.to_string(), Map::new()),
            }
            pos = start + len;
        }
        pos
    }
}

/// Say why a `4E 57` in dropped bytes was not a frame: bad checksum, or cut off.
fn report_dropped(bytes: &[u8], base: u64, from: usize, to: usize, out: &mut Output) {
    let mut p = from;
    while p + 1 < to {
        let at = bytes.get(p..).unwrap_or_default();
        if !at.starts_with(&START) {
            p += 1;
            continue;
        }
        // A frame whose envelope is right but whose sum is not (strong evidence of a
        // damaged frame), or one cut off by the end of the input. Other `4E 57`s are noise.
        match check_frame(at) {
            Err(e @ Error::Checksum { computed, found }) => {
                let declared = at
                    .get(2..4)
                    .and_then(|l| l.try_into().ok())
                    .map_or(0, |l| usize::from(u16::from_be_bytes(l)));
                let mut extra = Map::new();
                extra.insert("checksum".into(), format!("0x{found:04X}").into());
                extra.insert("computed".into(), format!("0x{computed:04X}").into());
                out.error(base + p as u64, e.code(), &e.to_string(), extra);
                p += (declared + 2).max(2);
            }
            Err(e @ Error::Truncated { .. }) => {
                out.error(base + p as u64, e.code(), &e.to_string(), Map::new());
                p += 2;
            }
            _ => p += 2,
        }
    }
}

/// The JSON `type`: `{command}_{direction}` (`read_all_reply`, `command_9a_request`, …).
pub(crate) fn message_type(m: &Message) -> String {
    let h = &m.header;
    let command = h.command.name().map_or_else(
        || format!("command_{:02x}", u8::from(h.command)),
        str::to_owned,
    );
    let direction = match h.transport {
        Transport::Request => "request",
        Transport::Reply => "reply",
        Transport::Upload => "upload",
        Transport::Unknown(_) => "frame",
    };
    format!("{command}_{direction}")
}
