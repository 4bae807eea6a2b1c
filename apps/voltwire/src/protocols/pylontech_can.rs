//! `voltwire decode pylontech-can`: Pylontech LV and SMA/Victron BMS CAN frames from a
//! candump log (any of the three candump shapes); `offset` is the line number. The fields
//! are `voltwire-pylontech`'s `serde` impls; the app adds `id`.

use serde_json::Map;
use voltwire_pylontech::can::Message;

use super::{Decode, Options};
use crate::candump::{CanLog, OnFrame};
use crate::output::Output;
use voltwire_core::can::CanFrame;

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    CanLog::boxed(Frames)
}

struct Frames;

/// The `id` key: `0x` and three uppercase hex digits.
#[derive(serde::Serialize)]
struct Id {
    id: String,
}

impl OnFrame for Frames {
    fn frame(&mut self, line: u64, frame: &CanFrame, out: &mut Output) {
        let id = format!("0x{:03X}", frame.id());
        let mut extra = Map::new();
        extra.insert("id".into(), id.clone().into());
        if frame.is_extended() {
            out.error(
                line,
                "extended_id",
                "29-bit id; the BMS protocol uses 11-bit ids",
                extra,
            );
            return;
        }
        if frame.is_remote() {
            out.error(line, "remote_frame", "remote frame", extra);
            return;
        }
        let Ok(raw) = u16::try_from(frame.id()) else {
            out.error(line, "bad_id", "id out of range", extra);
            return;
        };
        match Message::parse(raw, frame.data()) {
            Ok(m) => out.message_ser(m.name(), line, Id { id }, &m),
            Err(e) => out.error(line, e.code(), &e.to_string(), extra),
        }
    }
}
