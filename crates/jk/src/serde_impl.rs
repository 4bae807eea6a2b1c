//! `serde` (feature `serde`): the "4E 57" messages in the JSON contract's shape
//! (`docs/json.md`). A [`Message`] is an object: the header's `command`, `source`,
//! `transport` (`{code, name}`), `terminal`, `record_number`, then the info: `data_id` of a
//! request, or every present record with its unit in the key (`_v _a _ah _c _s _pct`),
//! `temperatures_c` (the battery sensors), `current_a` decoded with the record's own
//! encoding next to `current_raw` and `current_encoding`, and `unparsed_hex` for what could
//! not be typed. The caller adds `type` (`{command}_{direction}`).

use core::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use voltwire_core::json::{Hex, Lossy, Once};

use crate::{CurrentEncoding, FieldValue, Info, Message, Record};

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.header;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("command", &h.command)?;
        m.serialize_entry("source", &h.source)?;
        m.serialize_entry("transport", &h.transport)?;
        m.serialize_entry("terminal", &h.terminal)?;
        m.serialize_entry("record_number", &h.record_number)?;
        match &self.info {
            Info::Id(id) => m.serialize_entry("data_id", &format_args!("0x{id:02X}"))?,
            Info::Records(r) => record_entries(r, &mut m)?,
        }
        m.end()
    }
}

/// A key made of a field name and a unit suffix.
struct Key<'a>(&'a str, &'a str);

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)?;
        f.write_str(self.1)
    }
}

impl Serialize for Key<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `_celsius` → `_c`, `_percent` → `_pct`, `runtime_minutes` → `runtime_s` (the value in
/// seconds); other names as they are.
fn plain_key(name: &str) -> Key<'_> {
    if let Some(stem) = name.strip_suffix("_celsius") {
        Key(stem, "_c")
    } else if let Some(stem) = name.strip_suffix("_percent") {
        Key(stem, "_pct")
    } else {
        Key(name, "")
    }
}

fn record_entries<M: SerializeMap>(r: &Record, m: &mut M) -> Result<(), M::Error> {
    if let Some(cells) = &r.cells {
        m.serialize_entry(
            "cell_voltages_v",
            &Once::new(cells.iter().map(|c| c.voltage)),
        )?;
    }
    for field in r.fields() {
        let name = field.name;
        match field.value {
            FieldValue::Voltage(v) => m.serialize_entry(&Key(name, "_v"), &v)?,
            FieldValue::Current(c) => m.serialize_entry(&Key(name, "_a"), &c)?,
            FieldValue::Capacity(c) => m.serialize_entry(&Key(name, "_ah"), &c)?,
            FieldValue::Temperature(t) => m.serialize_entry(&Key(name, "_c"), &t.celsius())?,
            FieldValue::RawCurrent(c) => {
                let encoding = r.current_encoding();
                m.serialize_entry("current_a", &c.decode(encoding))?;
                let encoding = match encoding {
                    CurrentEncoding::SignBit => "sign_bit",
                    CurrentEncoding::Offset10000 => "offset_10000",
                };
                m.serialize_entry("current_encoding", encoding)?;
                m.serialize_entry("current_raw", &c.0)?;
            }
            FieldValue::U8(v) => m.serialize_entry(&plain_key(name), &v)?,
            FieldValue::U16(v) => m.serialize_entry(&plain_key(name), &v)?,
            FieldValue::U32(v) if name == "runtime_minutes" => {
                m.serialize_entry("runtime_s", &(u64::from(v) * 60))?;
            }
            FieldValue::U32(v) => m.serialize_entry(&plain_key(name), &v)?,
            FieldValue::I16(v) => m.serialize_entry(&plain_key(name), &v)?,
            FieldValue::Text(t) => m.serialize_entry(name, &Lossy(t))?,
            FieldValue::Warnings(w) => m.serialize_entry(name, &w)?,
            FieldValue::Status(st) => m.serialize_entry(name, &st)?,
            FieldValue::BatteryType(b) => m.serialize_entry(name, &b)?,
        }
    }
    // The battery sensors (not the MOSFET) as one list.
    let mut temperatures = r
        .fields()
        .filter(|f| f.name != "mosfet_temperature")
        .filter_map(|f| match f.value {
            FieldValue::Temperature(t) => Some(t.celsius()),
            _ => None,
        })
        .peekable();
    if temperatures.peek().is_some() {
        m.serialize_entry("temperatures_c", &Once::new(temperatures))?;
    }
    if !r.rest.is_empty() {
        m.serialize_entry("unparsed_hex", &Hex(&r.rest))?;
    }
    Ok(())
}
