//! `voltwire decode meanwell-can`: Mean Well BIC-2200 / NPB frames from a candump log;
//! `offset` is the line number. The fields are `voltwire-meanwell`'s `serde` impl; the app
//! adds `id`.

use serde_json::Map;
use voltwire_meanwell::{Body, Message};

use super::{Decode, Options};
use crate::candump::{CanLog, OnFrame};
use crate::output::Output;
use voltwire_core::can::CanFrame;

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    CanLog::boxed(Frames)
}

struct Frames;

/// The `id` key: `0x` and eight uppercase hex digits.
#[derive(serde::Serialize)]
struct Id {
    id: String,
}

impl OnFrame for Frames {
    fn frame(&mut self, line: u64, frame: &CanFrame, out: &mut Output) {
        let id = format!("0x{:08X}", frame.id());
        let mut extra = Map::new();
        extra.insert("id".into(), id.clone().into());
        if !frame.is_extended() {
            out.error(
                line,
                "standard_id",
                "11-bit id; Mean Well uses 29-bit ids",
                extra,
            );
            return;
        }
        if frame.is_remote() {
            out.error(line, "remote_frame", "remote frame", extra);
            return;
        }
        match Message::parse(frame.id(), frame.data()) {
            Ok(m) => {
                let kind = match m.body {
                    Body::Read(_) => "read",
                    Body::Write(_) => "write",
                    Body::Reply(_) => "reply",
                };
                out.message_ser(kind, line, Id { id }, &m);
            }
            Err(e) => out.error(line, e.code(), &e.to_string(), extra),
        }
    }
}
