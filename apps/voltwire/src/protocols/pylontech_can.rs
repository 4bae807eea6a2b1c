//! `voltwire decode pylontech-can`: Pylontech LV and SMA/Victron BMS CAN frames from a
//! candump log (any of the three candump shapes); `offset` is the line number.

use serde_json::{Map, Value as J, json};
use voltwire_pylontech::can::{AlarmCondition, Message, PairState, Payload, SmaAlarms};

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
        extra.insert("id".into(), format!("0x{:03X}", frame.id()).into());
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
        let Ok(id) = u16::try_from(frame.id()) else {
            out.error(line, "bad_id", "id out of range", extra);
            return;
        };
        match Message::parse(id, frame.data()) {
            Ok(m) => out.message(m.name(), line, fields(&m)),
            Err(e) => out.error(line, e.code(), &e.to_string(), extra),
        }
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02X}");
        s
    })
}

fn text(p: &Payload) -> J {
    json!({ "text": p.as_text(), "hex": hex(p.as_bytes()) })
}

fn pairs(s: SmaAlarms, warning: bool) -> J {
    let raw = if warning { s.warnings } else { s.alarms };
    let mut states = Map::new();
    let mut active = Vec::new();
    for c in AlarmCondition::ALL {
        let st = if warning { s.warning(c) } else { s.alarm(c) };
        if st == PairState::Active {
            active.push(c.name());
        }
        states.insert(c.name().into(), st.name().into());
    }
    json!({ "raw": hex(&raw), "flags": active, "states": states })
}

/// 0.1 K wire values to °C, exactly 273.15 apart.
fn kelvin_to_c(deci_k: i32) -> J {
    num(f64::from(deci_k) / 10.0 - 273.15)
}

pub(crate) fn fields(m: &Message) -> Map<String, J> {
    let mut f = Map::new();
    f.insert("id".into(), format!("0x{:03X}", m.id()).into());
    let v = match m {
        Message::Limits(l) => json!({
            "charge_voltage_limit_v": num(l.charge_voltage.to_si()),
            "charge_current_limit_a": num(l.charge_current.to_si()),
            "discharge_current_limit_a": num(l.discharge_current.to_si()),
            "discharge_voltage_limit_v": l.discharge_voltage.map(|v| num(v.to_si())),
        }),
        Message::SocSoh(s) => json!({
            "soc_pct": num(s.soc.to_si()),
            "soh_pct": num(s.soh.to_si()),
            "soc_high_res_pct": s.soc_high_res.map(|h| num(f64::from(h) / 100.0)),
        }),
        Message::Measurements(x) => json!({
            "voltage_v": num(x.voltage.to_si()),
            "current_a": num(x.current.to_si()),
            "temperature_c": num(x.temperature.to_si()),
            "bytes_6_7": x.extra,
        }),
        Message::Alarms(a) => json!({
            "protection": { "raw": a.protection.0, "flags": a.protection.flags().collect::<Vec<_>>() },
            "warning": { "raw": a.warning.0, "flags": a.warning.flags().collect::<Vec<_>>() },
            "module_count": a.module_count,
            "tag": String::from_utf8_lossy(&a.tag),
        }),
        Message::SmaAlarms(s) => json!({ "alarms": pairs(*s, false), "warnings": pairs(*s, true) }),
        Message::Request(r) => json!({
            "flags": { "raw": r.flags.0, "flags": r.flags.flags().collect::<Vec<_>>() },
            "charge_enable": r.flags.charge_enable(),
            "discharge_enable": r.flags.discharge_enable(),
            "force_charge_1": r.flags.force_charge_1(),
            "force_charge_2": r.flags.force_charge_2(),
            "full_charge_request": r.flags.full_charge_request(),
        }),
        Message::Manufacturer(t) => text(&t.0),
        Message::BmsName(t) => text(&t.0),
        Message::BatteryName(t) => text(&t.0),
        Message::MinCellVoltageId(t) => text(&t.0),
        Message::MaxCellVoltageId(t) => text(&t.0),
        Message::MinCellTemperatureId(t) => text(&t.0),
        Message::MaxCellTemperatureId(t) => text(&t.0),
        Message::SerialPart1(t) => text(&t.0),
        Message::SerialPart2(t) => text(&t.0),
        Message::InverterRequest(p) => json!({ "hex": hex(p.0.as_bytes()) }),
        Message::InverterHandshake(h) => {
            json!({ "hex": hex(h.0.as_bytes()), "victron": h.is_victron() })
        }
        Message::BatteryInfo(b) => json!({
            "capacity_ah": num(b.capacity.to_si()),
            "bytes_0_1": b.bytes_0_1,
            "bytes_2_3": b.bytes_2_3,
            "bytes_6_7": b.bytes_6_7,
        }),
        Message::ModuleCounts(c) => json!({
            "modules_online": c.online,
            "modules_blocking_charge": c.blocking_charge,
            "modules_blocking_discharge": c.blocking_discharge,
            "modules_offline": c.offline,
        }),
        Message::CellExtremes(c) => json!({
            "min_cell_voltage_v": num(c.min_cell_voltage.to_si()),
            "max_cell_voltage_v": num(c.max_cell_voltage.to_si()),
            "min_cell_temperature_c": kelvin_to_c(c.min_cell_temperature.0),
            "max_cell_temperature_c": kelvin_to_c(c.max_cell_temperature.0),
        }),
        Message::Energy(e) => json!({
            "charged_wh": num(e.charged.to_si()),
            "discharged_wh": num(e.discharged.to_si()),
        }),
        Message::InstalledCapacity(c) => json!({ "capacity_ah": num(c.capacity.to_si()) }),
        Message::Unknown { data, .. } => json!({ "hex": hex(data.as_bytes()) }),
        _ => J::Null,
    };
    if let J::Object(o) = v {
        f.extend(o);
    }
    f
}
