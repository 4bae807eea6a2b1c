//! `serde` (feature `serde`): TEXT records and HEX frames in the JSON contract's shape
//! (`docs/json.md`).
//!
//! A [`text::Record`] is an object with one key per label sent: quantities as SI numbers
//! with the unit in the key (`battery_voltage_v`), time to go in seconds (`_s`, `null` and
//! `…_infinite: true` for −1), codes `{"code", "name"}`, reason bits `{"raw", "flags"}`,
//! the product id `{"code", "hex", "name"}`, ERR as `charger_error`; then
//! `firmware_version`, and the fields it could not type under `unknown_fields` /
//! `invalid_fields`. A [`hex::Frame`] is an object of its decoded fields; its JSON `type` is
//! [`hex::Frame::json_type`]. The caller adds `type` and the framing keys.

use core::fmt;

use serde::ser::{SerializeMap, SerializeStruct as _};
use serde::{Serialize, Serializer};
use voltwire_core::json::{Hex, serialize_code, serialize_flags, serialize_si};

use crate::hex::{self, RegisterValue};
use crate::text::{
    AlarmReason, ChargerError, DeviceMode, DeviceState, Kind, MonitorMode, OffReason, Record,
    TimeToGo, TrackerMode, Value,
};

/// A key made of up to three pieces (`battery_voltage`, `_`, `v`), the last lowercased.
struct Key<'a>(&'a str, &'a str, &'a str);

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)?;
        f.write_str(self.1)?;
        if self.2.bytes().any(|b| b.is_ascii_uppercase()) {
            self.2
                .chars()
                .try_for_each(|c| fmt::Write::write_char(f, c.to_ascii_lowercase()))
        } else {
            f.write_str(self.2)
        }
    }
}

impl Serialize for Key<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `{"code": pid, "hex": "0xA053", "name": …}`.
struct ProductId(u16);

impl Serialize for ProductId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ProductId", 3)?;
        st.serialize_field("code", &self.0)?;
        st.serialize_field("hex", &format_args!("0x{:04X}", self.0))?;
        st.serialize_field("name", &crate::product_name(self.0))?;
        st.end()
    }
}

/// A value of the record, SI where it is a quantity.
struct Si<'a>(Value<'a>);

impl Serialize for Si<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Quantity { canonical, unit } => serialize_si(canonical, unit.per_si(), s),
            Value::Count(c) => s.serialize_u32(c),
            Value::TimeToGo(TimeToGo::Minutes(m)) => s.serialize_u64(u64::from(m) * 60),
            Value::OnOff(on) => s.serialize_bool(on),
            Value::ProductId(pid) => ProductId(pid).serialize(s),
            Value::OffReason(o) => o.serialize(s),
            Value::AlarmReason(a) => a.serialize(s),
            Value::DeviceState(v) => v.serialize(s),
            Value::ChargerError(v) => v.serialize(s),
            Value::DeviceMode(v) => v.serialize(s),
            Value::TrackerMode(v) => v.serialize(s),
            Value::MonitorMode(v) => v.serialize(s),
            Value::Text(t) => s.serialize_str(t),
            Value::TimeToGo(TimeToGo::Infinite) | Value::NotAvailable => s.serialize_none(),
        }
    }
}

/// The unknown or invalid fields of a record, label → value as sent.
struct Extra<'a>(&'a Record, bool);

impl Serialize for Extra<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = self.0.extra().iter().filter(|x| x.invalid == self.1);
        s.collect_map(fields.map(|x| (x.label.as_str(), x.value.as_str())))
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (label, value) in self.iter() {
            let name = label.name();
            let key = match label.kind() {
                Kind::Quantity { unit, .. } => Key(name, "_", unit.suffix()),
                Kind::TimeToGo => Key(name, "_s", ""),
                // The charger's ERR field: not `error`, which marks decode errors.
                _ if name == "error" => Key("charger_error", "", ""),
                _ => Key(name, "", ""),
            };
            m.serialize_entry(&key, &Si(value))?;
            if value == Value::TimeToGo(TimeToGo::Infinite) {
                m.serialize_entry(&Key(name, "_infinite", ""), &true)?;
            }
        }
        if let Some(fw) = self.firmware() {
            m.serialize_entry("firmware_version", &format_args!("{fw}"))?;
        }
        for (invalid, key) in [(false, "unknown_fields"), (true, "invalid_fields")] {
            if self.extra().iter().any(|x| x.invalid == invalid) {
                m.serialize_entry(key, &Extra(self, invalid))?;
            }
        }
        m.end()
    }
}

// ------------------------------------------------------------------------------ HEX

/// How a frame reads: frames in a device's stream are read as responses where both readings
/// fit (see [`hex::Message::classify`]), except a Get "response" without a value and without
/// error flags, which is a host's Get request (a capture of both directions).
enum Read {
    Request(hex::Request),
    Response(hex::Response),
    Other,
}

fn reading(f: &hex::Frame) -> Read {
    match hex::Message::classify(f) {
        hex::Message::Either { request, response }
            if response
                .register_data()
                .is_some_and(|d| d.value.is_empty() && d.flags.0 == 0) =>
        {
            Read::Request(request)
        }
        hex::Message::Response(r) | hex::Message::Either { response: r, .. } => Read::Response(r),
        hex::Message::Request(r) => Read::Request(r),
        _ => Read::Other,
    }
}

impl hex::Frame {
    /// The JSON `type` of the frame: `hex_get_response`, `hex_get`, `hex_async`, … or
    /// `hex_frame` when it reads as neither a request nor a response.
    pub fn json_type(&self) -> &'static str {
        match reading(self) {
            Read::Response(r) => match r {
                hex::Response::Done(_) => "hex_done",
                hex::Response::UnknownCommand(_) => "hex_unknown_command",
                hex::Response::Error(_) => "hex_error",
                hex::Response::Ping(_) => "hex_ping_response",
                hex::Response::Get(_) => "hex_get_response",
                hex::Response::Set(_) => "hex_set_response",
                hex::Response::Async(_) => "hex_async",
            },
            Read::Request(r) => match r {
                hex::Request::EnterBoot => "hex_enter_boot",
                hex::Request::Ping => "hex_ping",
                hex::Request::AppVersion => "hex_app_version",
                hex::Request::ProductId => "hex_product_id",
                hex::Request::Restart => "hex_restart",
                hex::Request::Get { .. } => "hex_get",
                hex::Request::Set(_) => "hex_set",
                _ => "hex_request",
            },
            Read::Other => "hex_frame",
        }
    }
}

/// `{"command": N, …decoded fields, "payload_hex": "…"}`.
impl Serialize for hex::Frame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("command", &self.command())?;
        match reading(self) {
            Read::Response(r) => match &r {
                hex::Response::Done(_) => {
                    if let Some(v) = r.done_u16() {
                        m.serialize_entry("value", &v)?;
                    }
                }
                hex::Response::Ping(v) => {
                    m.serialize_entry("firmware_version", &format_args!("{v}"))?;
                }
                hex::Response::Get(d) | hex::Response::Set(d) | hex::Response::Async(d) => {
                    register_entries(d, &mut m)?;
                }
                _ => {}
            },
            Read::Request(hex::Request::Get { register, .. }) => {
                register_id(register, &mut m)?;
            }
            Read::Request(hex::Request::Set(d)) => register_entries(&d, &mut m)?,
            Read::Request(_) | Read::Other => {}
        }
        m.serialize_entry("payload_hex", &Hex(self.payload()))?;
        m.end()
    }
}

fn register_id<M: SerializeMap>(register: u16, m: &mut M) -> Result<(), M::Error> {
    m.serialize_entry("register", &format_args!("0x{register:04X}"))?;
    m.serialize_entry("register_name", &hex::lookup(register).map(|i| i.name))
}

/// The response flags, `ok` named when none is set.
struct Flags(hex::Flags);

impl Serialize for Flags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_flags(self.0.0, self.0.names(), s)
    }
}

/// A number without a unit: the registers that share a TEXT table get its names.
struct Coded(u16, i64);

impl Serialize for Coded {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Self(register, raw) = *self;
        let (Ok(byte), Ok(word), Ok(long)) =
            (u8::try_from(raw), u16::try_from(raw), u32::try_from(raw))
        else {
            return match i8::try_from(raw) {
                Ok(v) if register == 0xEEB8 => MonitorMode(v).serialize(s),
                _ => s.serialize_i64(raw),
            };
        };
        match register {
            0x0200 => DeviceMode(byte).serialize(s),
            0x0201 => DeviceState(byte).serialize(s),
            0xEDDA => ChargerError(byte).serialize(s),
            0xEDB3 => TrackerMode(byte).serialize(s),
            0x0205 | 0x0207 => OffReason(long).serialize(s),
            0x031C | 0x031E => AlarmReason(word).serialize(s),
            _ => s.serialize_i64(raw),
        }
    }
}

/// A reading in its SI unit: `raw × num / den`, exactly.
struct SiReading(hex::Reading);

impl Serialize for SiReading {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (num, den) = self.0.unit.si_factor();
        serialize_si(self.0.raw.saturating_mul(num), den, s)
    }
}

/// `"V"` → `"v"`, `"°C"` → `"c"`, `"%"` → `"pct"`: the key suffix of an SI unit symbol.
fn suffix(si_unit: &str) -> &str {
    match si_unit {
        "°C" => "c",
        "%" => "pct",
        other => other,
    }
}

fn register_entries<M: SerializeMap>(d: &hex::RegisterData, m: &mut M) -> Result<(), M::Error> {
    register_id(d.register, m)?;
    m.serialize_entry("flags", &Flags(d.flags))?;
    let name = d.info().map_or("value", |i| i.name);
    match d.decode() {
        Ok(RegisterValue::Number(r)) => {
            let unit = r.unit.si_unit();
            if unit.is_empty() {
                m.serialize_entry(name, &Coded(d.register, r.raw))?;
            } else {
                m.serialize_entry(&Key(name, "_", suffix(unit)), &SiReading(r))?;
            }
        }
        Ok(RegisterValue::NotAvailable) => m.serialize_entry(name, &())?,
        Ok(v @ RegisterValue::Text(_)) => m.serialize_entry(name, &v.text())?,
        Ok(RegisterValue::Bytes(b)) => m.serialize_entry(&Key(name, "_hex", ""), &Hex(&b))?,
        Ok(RegisterValue::Day(day)) => m.serialize_entry(name, &Day(day))?,
        Ok(RegisterValue::Total(t)) => m.serialize_entry(name, &Total(t))?,
        Err(e) => {
            m.serialize_entry("value_error", e.code())?;
            m.serialize_entry("value_hex", &Hex(&d.value))?;
        }
    }
    Ok(())
}

/// Minutes as seconds, `null` when absent.
fn minutes(m: Option<u16>) -> Option<u32> {
    m.map(|t| u32::from(t) * 60)
}

/// A history day record.
struct Day(hex::DayRecord);

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.0;
        let mut st = s.serialize_struct("Day", 14)?;
        st.serialize_field("version", &d.version)?;
        st.serialize_field("day_sequence", &d.day_sequence)?;
        st.serialize_field("yield_wh", &d.yield_energy)?;
        st.serialize_field("consumed_wh", &d.consumed)?;
        st.serialize_field("battery_voltage_max_v", &d.battery_voltage_max)?;
        st.serialize_field("battery_voltage_min_v", &d.battery_voltage_min)?;
        st.serialize_field("max_power_w", &d.max_power)?;
        st.serialize_field("max_battery_current_a", &d.max_battery_current)?;
        st.serialize_field("max_panel_voltage_v", &d.max_panel_voltage)?;
        st.serialize_field("time_bulk_s", &minutes(d.time_bulk_min))?;
        st.serialize_field("time_absorption_s", &minutes(d.time_absorption_min))?;
        st.serialize_field("time_float_s", &minutes(d.time_float_min))?;
        st.serialize_field("error_database", &d.error_database)?;
        st.serialize_field("errors", &d.errors)?;
        st.end()
    }
}

/// The history totals record.
struct Total(hex::TotalRecord);

impl Serialize for Total {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = &self.0;
        let mut st = s.serialize_struct("Total", 8)?;
        st.serialize_field("version", &t.version)?;
        st.serialize_field("user_yield_wh", &t.user_yield)?;
        st.serialize_field("system_yield_wh", &t.system_yield)?;
        st.serialize_field("panel_voltage_max_v", &t.panel_voltage_max)?;
        st.serialize_field("battery_voltage_max_v", &t.battery_voltage_max)?;
        st.serialize_field("days_available", &t.days_available)?;
        st.serialize_field("error_database", &t.error_database)?;
        st.serialize_field("errors", &t.errors)?;
        st.end()
    }
}

/// `serde` for the TEXT code tables (`{"code", "name"}`).
macro_rules! code_serde {
    ($($name:ident),*) => {$(
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_code(self.0, self.name(), s)
            }
        }
    )*};
}

code_serde!(
    DeviceState,
    ChargerError,
    DeviceMode,
    TrackerMode,
    MonitorMode
);
