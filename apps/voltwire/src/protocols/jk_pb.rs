//! `voltwire decode jk-pb`: the JK-PB inverter BMS RS485 bus (trigger requests, 55AA blocks,
//! acknowledgements, Modbus reads).

use serde_json::Map;
use voltwire_jk::pb::{self, BLOCK_START, Message};

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
                pb::scan_final(rest)
            } else {
                match <voltwire_jk::pb::PbFraming as Framing>::scan(rest) {
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
                Ok(m) => emit(&m, at, out),
                Err(e) => out.error(at, e.code(), &e.to_string(), Map::new()),
            }
            pos = start + len;
        }
        pos
    }
}

/// Blocks in dropped bytes: a failed sum8 or a block cut off. (Dropped Modbus-looking bytes
/// cannot be told from noise, so they are not reported.)
fn report_dropped(bytes: &[u8], base: u64, from: usize, to: usize, out: &mut Output) {
    let mut p = from;
    while p < to {
        let at = bytes.get(p..).unwrap_or_default();
        if at.starts_with(&BLOCK_START) {
            if let Err(e @ (pb::Error::Checksum { .. } | pb::Error::Truncated { .. })) =
                pb::check(at)
            {
                out.error(base + p as u64, e.code(), &e.to_string(), Map::new());
                p += 4;
                continue;
            }
        }
        p += 1;
    }
}

/// What the app adds before a block's fields.
#[derive(serde::Serialize)]
struct Counter {
    counter: u8,
}

/// One message: `voltwire-jk`'s `serde` impl, after a block's `counter`.
fn emit(m: &Message, at: u64, out: &mut Output) {
    match m {
        Message::Block(b) => out.message_ser(
            m.json_type(),
            at,
            Counter {
                counter: b.counter(),
            },
            m,
        ),
        _ => out.message_ser(m.json_type(), at, (), m),
    }
}
