//! `voltwire decode meanwell-can`: Mean Well BIC-2200 / NPB frames from a candump log;
//! `offset` is the line number.

use serde_json::{Map, Value as J, json};
use voltwire_meanwell::{Body, Direction, Factor, Family, Message, Target, Value};

use super::{Decode, Options};
use crate::candump::{CanLog, OnFrame};
use crate::output::{Output, num};
use voltwire_core::can::CanFrame;

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    CanLog::boxed(Frames)
}

struct Frames;

impl OnFrame for Frames {
    fn frame(&mut self, line: u64, frame: &CanFrame, out: &mut Output) {
        let mut extra = Map::new();
        extra.insert("id".into(), format!("0x{:08X}", frame.id()).into());
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
                out.message(kind, line, fields(&m));
            }
            Err(e) => out.error(line, e.code(), &e.to_string(), extra),
        }
    }
}

fn flags<'a>(raw: u16, names: impl Iterator<Item = &'a str>) -> J {
    json!({ "raw": raw, "flags": names.collect::<Vec<_>>() })
}

fn factor(f: Factor) -> J {
    match f {
        Factor::NotSupported => J::Null,
        Factor::Power10(e) => num(10f64.powi(i32::from(e))),
        Factor::Unknown(c) => json!({ "code": c }),
    }
}

fn value(v: &Value, family: Family) -> Map<String, J> {
    let o = match *v {
        Value::Operation(x) => {
            json!({ "operation": { "code": x, "name": match x { 0 => Some("off"), 1 => Some("on"), _ => None } } })
        }
        Value::VoutSet(mv) => json!({ "vout_set_v": num(mv.to_si()) }),
        Value::IoutSet(ma) => json!({ "iout_set_a": num(ma.to_si()) }),
        Value::FaultStatus(s) => json!({ "fault_status": flags(s.0, s.flags()) }),
        Value::Vin(mv) => json!({ "vin_v": num(mv.to_si()) }),
        Value::Vout(mv) => json!({ "vout_v": num(mv.to_si()) }),
        Value::Iout(ma) => json!({ "iout_a": num(ma.to_si()) }),
        Value::Temperature(t) => json!({ "temperature_c": num(t.to_si()) }),
        Value::FanSpeed1(r) => json!({ "fan_speed_1_rpm": r }),
        Value::FanSpeed2(r) => json!({ "fan_speed_2_rpm": r }),
        Value::Text(_, b) => {
            json!({ "text": b.as_text_trimming(voltwire_meanwell::TEXT_PADDING), "bytes": b.as_bytes() })
        }
        Value::CurveCc(ma) => json!({ "curve_cc_a": num(ma.to_si()) }),
        Value::CurveCv(mv) => json!({ "curve_cv_v": num(mv.to_si()) }),
        Value::CurveFv(mv) => json!({ "curve_fv_v": num(mv.to_si()) }),
        Value::CurveTc(ma) => json!({ "curve_tc_a": num(ma.to_si()) }),
        Value::CurveConfig(c) => json!({
            "curve_config": flags(c.0, c.flags()),
            "curve": c.curve(),
            "temperature_compensation": c.temperature_compensation(),
        }),
        Value::CurveCcTimeout(m) => json!({ "curve_cc_timeout_s": u32::from(m) * 60 }),
        Value::CurveCvTimeout(m) => json!({ "curve_cv_timeout_s": u32::from(m) * 60 }),
        Value::CurveFvTimeout(m) => json!({ "curve_fv_timeout_s": u32::from(m) * 60 }),
        Value::ChargeStatus(s) => json!({ "charge_status": flags(s.0, s.flags()) }),
        Value::ChgRstVbat(mv) => json!({ "chg_rst_vbat_v": num(mv.to_si()) }),
        Value::ScalingFactor(s) => json!({ "scaling_factor": {
            "raw": s.raw, "vout": factor(s.vout()), "iout": factor(s.iout()), "vin": factor(s.vin()),
            "temperature": factor(s.temperature()), "iin": factor(s.iin()),
        } }),
        Value::SystemStatus(s) => json!({
            "system_status": flags(s.0, s.flags(family)),
            "dc_ok": s.dc_ok(family),
            "initializing": s.initializing(family),
        }),
        Value::SystemConfig(c) => json!({
            "system_config": flags(c.0, c.flags()),
            "can_control": c.can_control(),
            "operation_init": { "code": (c.0 >> 1) & 3, "name": c.operation_init().name() },
            "eeprom_config": { "code": (c.0 >> 8) & 3, "name": c.eeprom_config().name() },
            "eeprom_write_disabled": c.eeprom_write_disabled(),
        }),
        Value::Direction(d) => {
            json!({ "direction": { "code": d, "name": match d { 0 => Some("charge"), 1 => Some("discharge"), _ => None } } })
        }
        Value::ReverseVoutSet(mv) => json!({ "reverse_vout_set_v": num(mv.to_si()) }),
        Value::ReverseIoutSet(ma) => json!({ "reverse_iout_set_a": num(ma.to_si()) }),
        Value::BidirectionalConfig(x) => {
            json!({ "bidirectional_config": { "raw": x, "flags": if x & 1 == 1 { vec!["battery_mode"] } else { vec![] } } })
        }
        Value::Unknown(_, b) => json!({ "bytes": b.as_bytes() }),
        _ => json!({}),
    };
    match o {
        J::Object(m) => m,
        _ => Map::new(),
    }
}

fn fields(m: &Message) -> Map<String, J> {
    let mut f = Map::new();
    f.insert("id".into(), format!("0x{:08X}", m.id()).into());
    f.insert("family".into(), m.family.name().into());
    f.insert(
        "direction".into(),
        match m.body.direction() {
            Direction::Request => "request",
            Direction::Response => "response",
        }
        .into(),
    );
    f.insert(
        "target".into(),
        match m.target {
            Target::Device(n) => n.into(),
            Target::Broadcast => "broadcast".into(),
        },
    );
    let cmd = m.body.command();
    f.insert(
        "command".into(),
        json!({ "code": cmd.0, "name": cmd.name() }),
    );
    if let Body::Write(v) | Body::Reply(v) = m.body {
        f.extend(value(&v, m.family));
    }
    f
}
