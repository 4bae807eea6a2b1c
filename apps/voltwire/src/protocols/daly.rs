//! `voltwire decode daly`: Daly UART/RS485 frames, requests and responses. Multi-frame
//! replies (0x95 cell voltages, 0x96 temperatures, 0x57/0x62/0x63 text) are assembled into
//! one object; every frame's checksum is still verified by the stream decoder.
//!
//! Frames whose address is ≥ 0x20 are host requests, the others BMS responses. The current
//! sign and balance bit order are the crate's defaults (`voltwire_daly::Variant::default`).
//!
//! A multi-frame reply is emitted when something else arrives or the input ends; from a
//! live source (`serial://`, `tcp://`, `poll`) also after [`QUIET`] without a byte.

use std::time::Duration;

use serde_json::Map;
use voltwire_core::{Located, StreamDecoder as _};
use voltwire_daly::{
    Assembler, Decoder, Error, RawFrame, Request, Response, Series, StatusInfo, Variant,
};

use super::{Context, Decode, Options};
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

    fn quiet_after(&self) -> Option<Duration> {
        self.state.pending.as_ref().map(|_| QUIET)
    }

    fn quiet(&mut self, out: &mut Output) {
        flush(&mut self.state, out);
    }

    fn context(&self) -> Option<Context> {
        self.state
            .status
            .map(|(address, s)| Context::DalyStatus(address, s))
    }

    fn set_context(&mut self, context: Context) {
        let Context::DalyStatus(address, s) = context;
        self.state.status = Some((address, s));
    }
}

/// Silence on a live line after which a multi-frame reply being assembled is complete.
///
/// Neither the frame count of 0x94 (a BMS may send a padding frame beyond it: 2 frames of
/// 0x96 for 1 sensor in `testdata/daly/mppsolar-session-status-noise-temperatures.bin`) nor
/// the next frame (a sniffed bus may fall silent; `poll` waits for this reply before its next
/// request) tells where a reply ends, so a live source takes a pause. At 9600 Bd 8N1 a byte
/// takes 10/9600 s ≈ 1.04 ms and a 13-byte frame ≈ 13.5 ms; a BMS sends a reply's frames
/// back to back, so 100 ms is more than 7 frame times without a byte: well above a gap inside
/// a reply (under a frame time, plus a USB adapter's 16 ms latency timer) and still
/// unnoticeable to a reader. A master's next request ends a reply at once anyway.
const QUIET: Duration = Duration::from_millis(100);

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
