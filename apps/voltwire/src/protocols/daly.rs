//! `voltwire decode daly`: Daly UART/RS485 frames, requests and responses. Multi-frame
//! replies (0x95 cell voltages, 0x96 temperatures, 0x57/0x62/0x63 text) are assembled into
//! one object; every frame's checksum is still verified by the stream decoder.
//!
//! Frames whose address is ≥ 0x20 are host requests, the others BMS responses. The current
//! sign and balance bit order are the crate's defaults (`voltwire_daly::Variant::default`).

use serde_json::Map;
use voltwire_core::{Located, StreamDecoder as _};
use voltwire_daly::{
    Assembler, Decoder, Error, RawFrame, Request, Response, Series, StatusInfo, Variant,
};

use super::{Decode, Options};
use crate::output::Output;

/// A multi-frame reply being assembled.
struct Pending {
    offset: u64,
    address: u8,
    frames: u8,
    assembler: Assembler,
}

struct State {
    variant: Variant,
    /// The last 0x94 status per BMS address: cell and sensor counts.
    status: Option<(u8, StatusInfo)>,
    pending: Option<Pending>,
}

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    Box::new(Stream {
        decoder: Decoder::new(),
        state: State {
            variant: Variant::default(),
            status: None,
            pending: None,
        },
    })
}

struct Stream {
    decoder: Decoder,
    state: State,
}

impl Decode for Stream {
    fn feed(&mut self, chunk: &[u8], out: &mut Output) {
        let st = &mut self.state;
        self.decoder.feed_all(chunk, |item| on_item(item, st, out));
    }

    fn finish(&mut self, out: &mut Output) {
        while let Some(item) = self.decoder.finish() {
            on_item(item, &mut self.state, out);
        }
        flush(&mut self.state, out);
    }
}

fn on_item(item: Located<Result<RawFrame, Error>>, st: &mut State, out: &mut Output) {
    let frame = match item.value {
        Ok(f) => f,
        Err(e) => {
            flush(st, out);
            out.error(item.offset, e.code(), &e.to_string(), Map::new());
            return;
        }
    };
    if frame.is_request() {
        flush(st, out);
        let r = Request::parse(&frame);
        out.message_from(false, r.name(), item.offset, (), &r.json(&frame));
        return;
    }
    let series = Series::of(voltwire_daly::Command(frame.command));
    if let Some(series) = series {
        let [n, ..] = frame.data;
        // A new reply starts with frame 1, another series or another BMS.
        let continues = st.pending.as_ref().is_some_and(|p| {
            p.assembler.series() == series && p.address == frame.address && n != 1
        });
        if !continues {
            flush(st, out);
            let assembler = match &st.status {
                Some((addr, s)) if *addr == frame.address => Assembler::from_status(series, s),
                _ => Assembler::new(series),
            };
            st.pending = Some(Pending {
                offset: item.offset,
                address: frame.address,
                frames: 0,
                assembler,
            });
        }
        if let Some(p) = st.pending.as_mut() {
            p.assembler.push(&frame);
            p.frames = p.frames.saturating_add(1);
        }
        return;
    }
    flush(st, out);
    match Response::parse(&frame, &st.variant) {
        Ok(r) => {
            if let Response::StatusInfo(s) = r {
                st.status = Some((frame.address, s));
            }
            out.message_from(
                true,
                r.name(),
                item.offset,
                (),
                &r.json(&frame, &st.variant),
            );
        }
        Err(e) => out.error(item.offset, e.code(), &e.to_string(), Map::new()),
    }
}

/// Emit the multi-frame reply being assembled, if any.
fn flush(st: &mut State, out: &mut Output) {
    let Some(p) = st.pending.take() else {
        return;
    };
    let head = Head {
        direction: "response",
        address: p.address,
        command: Command(p.assembler.series().command().0),
        frames: p.frames,
    };
    out.message_from(
        true,
        p.assembler.json_type(),
        p.offset,
        head,
        &p.assembler.json(),
    );
}

/// What only the app knows of a multi-frame reply: its first frame's header and the frames
/// it took.
#[derive(serde::Serialize)]
struct Head {
    direction: &'static str,
    address: u8,
    command: Command,
    frames: u8,
}

/// A command byte as `"0xNN"`.
struct Command(u8);

impl serde::Serialize for Command {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0x{:02X}", self.0))
    }
}
