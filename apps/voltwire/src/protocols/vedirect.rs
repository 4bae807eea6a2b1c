//! `voltwire decode vedirect`: TEXT records and HEX frames.

use serde_json::{Map, Value as J, json};
use voltwire_core::{Located, Milliamps, Millivolts, StreamDecoder as _, WattHours, Watts};
use voltwire_victron::hex;
use voltwire_victron::text::{Kind, Message, Record, RecordDecoder, TimeToGo, Value};

use super::{Decode, Options};
use crate::output::{Fields, Output, num};

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    Box::new(Stream(RecordDecoder::new()))
}

struct Stream(RecordDecoder);

impl Decode for Stream {
    fn feed(&mut self, chunk: &[u8], out: &mut Output) {
        self.0.feed_all(chunk, |item| emit(item, out));
    }

    fn finish(&mut self, out: &mut Output) {
        while let Some(item) = self.0.finish() {
            emit(item, out);
        }
    }
}

fn emit(item: Located<Result<Message, voltwire_victron::text::Error>>, out: &mut Output) {
    match item.value {
        Ok(Message::Record(r)) => out.message_with("record", item.offset, |f| write_record(&r, f)),
        Ok(Message::Hex(f)) => {
            let (kind, fields) = hex_json(&f);
            out.message(kind, item.offset, fields);
        }
        Ok(_) => {}
        Err(e) => out.error(item.offset, e.code(), &e.to_string(), Map::new()),
    }
}

fn code_name<T: Into<i64>>(code: T, name: Option<&str>) -> J {
    json!({ "code": code.into(), "name": name })
}

fn flags<I: Iterator<Item = &'static str>>(raw: u32, names: I) -> J {
    json!({ "raw": raw, "flags": names.collect::<Vec<_>>() })
}

/// The fields of a record written straight to the line: the same keys, values and order
/// as `record_json` (a test holds them equal), without building a map.
fn write_record(r: &Record, f: &mut Fields<'_>) {
    for (label, value) in r.iter() {
        let name = label.name();
        let key: [&str; 3] = match label.kind() {
            Kind::Quantity { unit, .. } => [name, "_", unit.suffix()],
            Kind::TimeToGo => [name, "_s", ""],
            _ if name == "error" => ["charger_error", "", ""],
            _ => [name, "", ""],
        };
        match value {
            Value::Quantity { .. } => f.value(&key, &value.to_si().map_or(J::Null, num)),
            Value::Count(c) => f.value(&key, &c.into()),
            Value::TimeToGo(TimeToGo::Minutes(min)) => {
                f.value(&key, &(u64::from(min) * 60).into());
            }
            Value::TimeToGo(TimeToGo::Infinite) => {
                f.value(&key, &J::Null);
                f.value(&[name, "_infinite"], &true.into());
            }
            Value::Text(t) => f.str(&key, t),
            Value::OffReason(o) => f.flags(&key, o.0, o.flags()),
            Value::AlarmReason(a) => f.flags(&key, u32::from(a.0), a.flags()),
            Value::DeviceState(s) => f.code_name(&key, s.0.into(), s.name()),
            Value::ChargerError(e) => f.code_name(&key, e.0.into(), e.name()),
            Value::DeviceMode(d) => f.code_name(&key, d.0.into(), d.name()),
            Value::TrackerMode(t) => f.code_name(&key, t.0.into(), t.name()),
            Value::MonitorMode(mm) => f.code_name(&key, mm.0.into(), mm.name()),
            other => f.value(&key, &value_json(other)),
        }
    }
    if let Some(fw) = r.firmware() {
        f.str(&["firmware_version"], &fw.to_string());
    }
    let extra = r.extra();
    for (wanted, key) in [(false, "unknown_fields"), (true, "invalid_fields")] {
        let mut m = Map::new();
        for x in extra.iter().filter(|x| x.invalid == wanted) {
            m.insert(x.label.to_string(), x.value.as_str().into());
        }
        if !m.is_empty() {
            f.value(&[key], &J::Object(m));
        }
    }
}

/// A coded value of a record (everything but quantities, counts, times and text).
fn value_json(value: Value<'_>) -> J {
    match value {
        Value::OnOff(on) => on.into(),
        Value::ProductId(pid) => json!({
            "code": pid,
            "hex": format!("0x{pid:04X}"),
            "name": voltwire_victron::product_name(pid),
        }),
        Value::OffReason(o) => flags(o.0, o.flags()),
        Value::AlarmReason(a) => flags(u32::from(a.0), a.flags()),
        Value::DeviceState(s) => code_name(s.0, s.name()),
        Value::ChargerError(e) => code_name(e.0, e.name()),
        Value::DeviceMode(d) => code_name(d.0, d.name()),
        Value::TrackerMode(t) => code_name(t.0, t.name()),
        Value::MonitorMode(mm) => code_name(mm.0, mm.name()),
        Value::Text(t) => t.into(),
        _ => J::Null,
    }
}

/// The JSON object of a record: one key per documented label sent, SI units.
#[cfg(test)]
pub(crate) fn record_json(r: &Record) -> Map<String, J> {
    let mut m = Map::new();
    for (label, value) in r.iter() {
        let key = match label.kind() {
            Kind::Quantity { unit, .. } => format!("{}_{}", label.name(), unit.suffix()),
            Kind::TimeToGo => format!("{}_s", label.name()),
            // The charger's ERR field: not `error`, which marks decode errors.
            _ if label.name() == "error" => "charger_error".to_owned(),
            _ => label.name().to_owned(),
        };
        let v = match value {
            Value::Quantity { .. } => value.to_si().map_or(J::Null, num),
            Value::Count(c) => c.into(),
            Value::TimeToGo(TimeToGo::Minutes(min)) => (u64::from(min) * 60).into(),
            Value::TimeToGo(TimeToGo::Infinite) => {
                m.insert(key.clone(), J::Null);
                m.insert(format!("{}_infinite", label.name()), true.into());
                continue;
            }
            other => value_json(other),
        };
        m.insert(key, v);
    }
    if let Some(fw) = r.firmware() {
        m.insert("firmware_version".into(), fw.to_string().into());
    }
    let mut unknown = Map::new();
    let mut invalid = Map::new();
    for f in r.extra() {
        let target = if f.invalid {
            &mut invalid
        } else {
            &mut unknown
        };
        target.insert(f.label.to_string(), f.value.as_str().into());
    }
    if !unknown.is_empty() {
        m.insert("unknown_fields".into(), unknown.into());
    }
    if !invalid.is_empty() {
        m.insert("invalid_fields".into(), invalid.into());
    }
    m
}

/// A HEX frame: its message name and fields. Frames in a device's stream are read as
/// responses where both readings fit (see `hex::Message::classify`).
pub(crate) fn hex_json(f: &hex::Frame) -> (&'static str, Map<String, J>) {
    let mut m = Map::new();
    m.insert("command".into(), f.command().into());
    let kind = match hex::Message::classify(f) {
        // A Get "response" without a value and without error flags is a host's Get request
        // (e.g. a capture of both directions).
        hex::Message::Either { request, response }
            if response
                .register_data()
                .is_some_and(|d| d.value.is_empty() && d.flags.0 == 0) =>
        {
            request_json(&request, &mut m)
        }
        hex::Message::Response(r) | hex::Message::Either { response: r, .. } => {
            response_json(&r, &mut m)
        }
        hex::Message::Request(r) => request_json(&r, &mut m),
        _ => "hex_frame",
    };
    m.insert("payload_hex".into(), hex_string(f.payload()).into());
    (kind, m)
}

fn response_json(r: &hex::Response, m: &mut Map<String, J>) -> &'static str {
    match r {
        hex::Response::Done(p) => {
            if let Some(v) = r.done_u16() {
                m.insert("value".into(), v.into());
            }
            let _ = p;
            "hex_done"
        }
        hex::Response::UnknownCommand(_) => "hex_unknown_command",
        hex::Response::Error(_) => "hex_error",
        hex::Response::Ping(v) => {
            m.insert("firmware_version".into(), v.to_string().into());
            "hex_ping_response"
        }
        hex::Response::Get(d) => {
            register_json(d, m);
            "hex_get_response"
        }
        hex::Response::Set(d) => {
            register_json(d, m);
            "hex_set_response"
        }
        hex::Response::Async(d) => {
            register_json(d, m);
            "hex_async"
        }
        _ => "hex_response",
    }
}

fn request_json(r: &hex::Request, m: &mut Map<String, J>) -> &'static str {
    match r {
        hex::Request::EnterBoot => "hex_enter_boot",
        hex::Request::Ping => "hex_ping",
        hex::Request::AppVersion => "hex_app_version",
        hex::Request::ProductId => "hex_product_id",
        hex::Request::Restart => "hex_restart",
        hex::Request::Get { register, .. } => {
            register_id_json(*register, m);
            "hex_get"
        }
        hex::Request::Set(d) => {
            register_json(d, m);
            "hex_set"
        }
        _ => "hex_request",
    }
}

fn register_id_json(register: u16, m: &mut Map<String, J>) {
    m.insert("register".into(), format!("0x{register:04X}").into());
    m.insert(
        "register_name".into(),
        hex::lookup(register).map(|i| i.name).into(),
    );
}

/// Enumerations and bit fields shared with the TEXT labels get their names.
fn coded(register: u16, raw: i64) -> J {
    use voltwire_victron::text::{
        AlarmReason, ChargerError, DeviceMode, DeviceState, MonitorMode, OffReason, TrackerMode,
    };
    let (Ok(byte), Ok(word), Ok(long)) =
        (u8::try_from(raw), u16::try_from(raw), u32::try_from(raw))
    else {
        return match i8::try_from(raw) {
            Ok(v) if register == 0xEEB8 => code_name(v, MonitorMode(v).name()),
            _ => J::from(raw),
        };
    };
    match register {
        0x0200 => code_name(byte, DeviceMode(byte).name()),
        0x0201 => code_name(byte, DeviceState(byte).name()),
        0xEDDA => code_name(byte, ChargerError(byte).name()),
        0xEDB3 => code_name(byte, TrackerMode(byte).name()),
        0x0205 | 0x0207 => flags(long, OffReason(long).flags()),
        0x031C | 0x031E => flags(u32::from(word), AlarmReason(word).flags()),
        _ => J::from(raw),
    }
}

/// `"V"` → `"v"`, `"°C"` → `"c"`, `"%"` → `"pct"`: the key suffix of an SI unit symbol.
fn suffix(si_unit: &str) -> String {
    match si_unit {
        "°C" => "c".to_owned(),
        "%" => "pct".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

fn opt_num<T>(v: Option<T>, si: impl Fn(T) -> f64) -> J {
    v.map_or(J::Null, |x| num(si(x)))
}

fn register_json(d: &hex::RegisterData, m: &mut Map<String, J>) {
    register_id_json(d.register, m);
    m.insert(
        "flags".into(),
        json!({ "raw": d.flags.0, "flags": d.flags.names().collect::<Vec<_>>() }),
    );
    let name = d.info().map_or("value", |i| i.name);
    match d.decode() {
        Ok(hex::RegisterValue::Number(r)) => {
            let unit = r.unit.si_unit();
            let key = if unit.is_empty() {
                name.to_owned()
            } else {
                format!("{name}_{}", suffix(unit))
            };
            let v = if unit.is_empty() {
                coded(d.register, r.raw)
            } else {
                num(r.si_value())
            };
            m.insert(key, v);
        }
        Ok(hex::RegisterValue::NotAvailable) => {
            m.insert(name.to_owned(), J::Null);
        }
        Ok(hex::RegisterValue::Text(_)) => {
            let text = d.decode().ok();
            let t = text.as_ref().and_then(hex::RegisterValue::text);
            m.insert(name.to_owned(), t.into());
        }
        Ok(hex::RegisterValue::Bytes(b)) => {
            m.insert(format!("{name}_hex"), hex_string(&b).into());
        }
        Ok(hex::RegisterValue::Day(day)) => {
            m.insert(
                name.to_owned(),
                json!({
                    "version": day.version,
                    "day_sequence": day.day_sequence,
                    "yield_wh": opt_num(day.yield_energy, WattHours::to_si),
                    "consumed_wh": opt_num(day.consumed, WattHours::to_si),
                    "battery_voltage_max_v": opt_num(day.battery_voltage_max, Millivolts::to_si),
                    "battery_voltage_min_v": opt_num(day.battery_voltage_min, Millivolts::to_si),
                    "max_power_w": opt_num(day.max_power, Watts::to_si),
                    "max_battery_current_a": opt_num(day.max_battery_current, Milliamps::to_si),
                    "max_panel_voltage_v": opt_num(day.max_panel_voltage, Millivolts::to_si),
                    "time_bulk_s": day.time_bulk_min.map(|t| u32::from(t) * 60),
                    "time_absorption_s": day.time_absorption_min.map(|t| u32::from(t) * 60),
                    "time_float_s": day.time_float_min.map(|t| u32::from(t) * 60),
                    "error_database": day.error_database,
                    "errors": day.errors,
                }),
            );
        }
        Ok(hex::RegisterValue::Total(t)) => {
            m.insert(
                name.to_owned(),
                json!({
                    "version": t.version,
                    "user_yield_wh": opt_num(t.user_yield, WattHours::to_si),
                    "system_yield_wh": opt_num(t.system_yield, WattHours::to_si),
                    "panel_voltage_max_v": opt_num(t.panel_voltage_max, Millivolts::to_si),
                    "battery_voltage_max_v": opt_num(t.battery_voltage_max, Millivolts::to_si),
                    "days_available": t.days_available,
                    "error_database": t.error_database,
                    "errors": t.errors,
                }),
            );
        }
        Ok(_) => {}
        Err(e) => {
            m.insert("value_error".into(), e.code().into());
            m.insert("value_hex".into(), hex_string(&d.value).into());
        }
    }
}

/// Uppercase hex of `bytes`.
pub(crate) fn hex_string(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of every VE.Direct capture: the direct writer gives the same text as the
    /// map.
    #[test]
    fn written_records_equal_the_map() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/victron");
        let mut records = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().and_then(|x| x.to_str()) != Some("bin") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let mut d = RecordDecoder::new();
            let mut check = |item: Located<Result<Message, voltwire_victron::text::Error>>| {
                if let Ok(Message::Record(r)) = item.value {
                    let mut line = Vec::new();
                    let mut f = Fields::new(&mut line);
                    write_record(&r, &mut f);
                    let mut want = J::Object(record_json(&r)).to_string();
                    // The map's text without its braces, after a leading comma.
                    want.pop();
                    want.replace_range(..1, ",");
                    assert_eq!(String::from_utf8(line).unwrap(), want, "{}", path.display());
                    records += 1;
                }
            };
            d.feed_all(&bytes, &mut check);
            while let Some(item) = d.finish() {
                check(item);
            }
        }
        assert!(records > 20, "{records}");
    }
}
