//! `voltwire decode jk`: the JK BMS "4E 57" protocol (requests, replies, writes).

use serde_json::{Map, Value as J, json};
use voltwire_jk::frame::{self, START};
use voltwire_jk::{
    CurrentEncoding, Error, FieldValue, Info, Message, Record, Transport, check_frame,
};

use super::{Decode, Options, Walk, Window};
use crate::output::{Output, num};
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
                Ok(m) => {
                    let (kind, fields) = message_json(&m);
                    out.message(&kind, at, fields);
                }
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

fn code_name(code: u8, name: Option<&str>) -> J {
    json!({ "code": code, "name": name })
}

pub(crate) fn message_json(m: &Message) -> (String, Map<String, J>) {
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
    let mut f = Map::new();
    f.insert(
        "command".into(),
        code_name(h.command.into(), h.command.name()),
    );
    f.insert("source".into(), code_name(h.source.into(), h.source.name()));
    f.insert(
        "transport".into(),
        code_name(h.transport.into(), h.transport.name()),
    );
    f.insert("terminal".into(), h.terminal.into());
    f.insert("record_number".into(), h.record_number.into());
    match &m.info {
        Info::Id(id) => {
            f.insert("data_id".into(), format!("0x{id:02X}").into());
        }
        Info::Records(r) => record_json(r, &mut f),
    }
    (format!("{command}_{direction}"), f)
}

fn flags<'a>(raw: u16, names: impl Iterator<Item = &'a str>) -> J {
    json!({ "raw": raw, "flags": names.collect::<Vec<_>>() })
}

/// Every present record in SI units: `_v`, `_a`, `_ah`, `_c`, `_s`, `_pct`.
pub(crate) fn record_json(r: &Record, f: &mut Map<String, J>) {
    if let Some(cells) = &r.cells {
        f.insert(
            "cell_voltages_v".into(),
            cells
                .iter()
                .map(|c| num(f64::from(c.voltage.0) / 1000.0))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    let mut temperatures = Vec::new();
    for field in r.fields() {
        let name = field.name;
        let (key, value) = match field.value {
            FieldValue::Voltage(v) => (format!("{name}_v"), num(f64::from(v.0) / 1000.0)),
            FieldValue::Current(c) => (format!("{name}_a"), num(f64::from(c.0) / 1000.0)),
            #[allow(
                clippy::cast_precision_loss,
                reason = "capacities are far below 2^52 mAh"
            )]
            FieldValue::Capacity(c) => (format!("{name}_ah"), num(c.0 as f64 / 1000.0)),
            FieldValue::Temperature(t) => {
                if name != "mosfet_temperature" {
                    temperatures.push(J::from(t.celsius()));
                }
                (format!("{name}_c"), t.celsius().into())
            }
            FieldValue::RawCurrent(c) => {
                let encoding = r.current_encoding();
                f.insert(
                    "current_a".into(),
                    num(f64::from(c.decode(encoding).0) / 1000.0),
                );
                f.insert(
                    "current_encoding".into(),
                    match encoding {
                        CurrentEncoding::SignBit => "sign_bit",
                        CurrentEncoding::Offset10000 => "offset_10000",
                    }
                    .into(),
                );
                ("current_raw".into(), c.0.into())
            }
            FieldValue::U8(v) => (plain_key(name), v.into()),
            FieldValue::U16(v) => (plain_key(name), v.into()),
            FieldValue::U32(v) if name == "runtime_minutes" => {
                ("runtime_s".into(), (u64::from(v) * 60).into())
            }
            FieldValue::U32(v) => (plain_key(name), v.into()),
            FieldValue::I16(v) => (plain_key(name), v.into()),
            FieldValue::Text(t) => (name.into(), String::from_utf8_lossy(t).into_owned().into()),
            FieldValue::Warnings(w) => (name.into(), flags(w.0, w.flags())),
            FieldValue::Status(s) => (name.into(), flags(s.0, s.flags())),
            FieldValue::BatteryType(b) => (name.into(), code_name(b.into(), b.name())),
            _ => (name.into(), J::Null),
        };
        f.insert(key, value);
    }
    if !temperatures.is_empty() {
        f.insert("temperatures_c".into(), temperatures.into());
    }
    if !r.rest.is_empty() {
        let hex = hex(&r.rest);
        f.insert("unparsed_hex".into(), hex.into());
    }
}

/// `_celsius` → `_c`, `_percent` → `_pct`; other names as they are.
fn plain_key(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("_celsius") {
        format!("{stem}_c")
    } else if let Some(stem) = name.strip_suffix("_percent") {
        format!("{stem}_pct")
    } else {
        name.to_owned()
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
