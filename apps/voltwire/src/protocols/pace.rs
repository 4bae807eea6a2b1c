//! `voltwire decode pace`: Pace BMS protocol v25 requests and responses (the frame walk and
//! its pairing rules: [`super::asciihex`]).

use serde_json::{Map, Value as J};
use voltwire_pace::{
    MosfetSwitch, PackAnalog, PackStatus, Request, RequestBody, Response, ResponseBody, Target,
    command, flags,
};

use super::Options;
use super::asciihex::{
    self, Temperatures, amp_hours, amps, analog_json, bits, cells_set, code_name, common_reply,
    header, hex, reply_json as reply, text, volts,
};
use crate::output::num;

/// Frames whose CID2 is a Pace return code (0x90 is the pack-count command here).
fn is_rtn(cid2: u8) -> bool {
    matches!(cid2, 0x00..=0x09 | 0xE1..=0xE4)
}

pub(crate) fn new(opts: &Options) -> Box<dyn super::Decode> {
    asciihex::decoder(opts, is_rtn, request_json, response_json)
}

fn target(t: Target) -> J {
    match t {
        Target::Pack(p) => p.into(),
        Target::All => "all".into(),
    }
}

fn request_json(r: &Request) -> Map<String, J> {
    let mut m = header(r.adr, None, r.command(), command::name(r.command()));
    match &r.body {
        RequestBody::Analog(t) | RequestBody::Status(t) => {
            m.insert("pack".into(), target(*t));
        }
        RequestBody::ChargeMosfet(s) | RequestBody::DischargeMosfet(s) => {
            let name = match s {
                MosfetSwitch::On => Some("on"),
                MosfetSwitch::Off => Some("off"),
                MosfetSwitch::Other(_) => None,
            };
            m.insert("switch".into(), code_name(s.byte(), name));
        }
        RequestBody::Shutdown(b) | RequestBody::Switch(b) => {
            m.insert("value".into(), (*b).into());
        }
        RequestBody::WriteDateTime(d) => {
            m.insert("date_time".into(), date_time(*d));
        }
        RequestBody::WriteVoltage(_, v) => voltage_fields(v, &mut m),
        RequestBody::WriteChargeOverCurrent(c) | RequestBody::WriteDischargeOverCurrent(c) => {
            current_fields(c, &mut m);
        }
        RequestBody::WriteBalancing(b) => {
            m.insert("threshold_v".into(), volts(b.threshold));
            m.insert("delta_v".into(), volts(b.delta));
        }
        RequestBody::WriteFullCharge(f) => full_fields(f, &mut m),
        RequestBody::Other { info, .. } => {
            m.insert("info_hex".into(), hex(info).into());
        }
        _ => {}
    }
    m
}

fn date_time(d: voltwire_pace::DateTime) -> J {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        2000 + u16::from(d.year_since_2000),
        d.month,
        d.day,
        d.hour,
        d.minute,
        d.second
    )
    .into()
}

fn voltage_fields(v: &voltwire_pace::VoltageProtection, m: &mut Map<String, J>) {
    m.insert("alarm_v".into(), volts(v.alarm));
    m.insert("protect_v".into(), volts(v.protect));
    m.insert("release_v".into(), volts(v.release));
    m.insert("delay_s".into(), num(f64::from(v.delay_100ms) / 10.0));
}

fn current_fields(c: &voltwire_pace::CurrentProtection, m: &mut Map<String, J>) {
    m.insert("alarm_a".into(), amps(c.alarm));
    m.insert("protect_a".into(), amps(c.protect));
    m.insert("delay_s".into(), num(f64::from(c.delay_100ms) / 10.0));
}

fn full_fields(f: &voltwire_pace::FullChargeConfig, m: &mut Map<String, J>) {
    m.insert("full_charge_v".into(), volts(f.voltage));
    m.insert("full_charge_a".into(), amps(f.current));
    m.insert("low_soc_alarm_pct".into(), f.low_soc_percent.into());
}

fn pack_json(p: &PackAnalog) -> J {
    let mut m = analog_json(
        p,
        "full_capacity_ah",
        Temperatures::MosfetAndEnvironmentLast,
    );
    m.insert(
        "design_capacity_ah".into(),
        p.extension.map_or(J::Null, amp_hours),
    );
    m.into()
}

fn status_json(p: &PackStatus) -> J {
    let mut m = asciihex::status_json(p, "warning", "voltage", flags::warning::name);
    let s = &p.state;
    m.insert("protect_1".into(), bits(s.protect_1));
    m.insert("protect_2".into(), bits(s.protect_2));
    m.insert("system".into(), bits(s.system));
    m.insert("control".into(), bits(s.control));
    m.insert("fault".into(), bits(s.fault));
    m.insert(
        "balancing_cells".into(),
        cells_set(s.balance_1, s.balance_2),
    );
    m.insert("warn_1".into(), bits(s.warn_1));
    m.insert("warn_2".into(), bits(s.warn_2));
    m.into()
}

/// The flag and block keys of 0x42/0x44 replies.
const INFO_PACKS: [&str; 2] = ["info_flag", "packs"];

#[allow(clippy::too_many_lines, reason = "one arm per message")]
fn response_json(r: &Response) -> (&'static str, Map<String, J>) {
    let mut m = header(r.adr, Some(r.rtn), r.command(), command::name(r.command()));
    let kind = match &r.body {
        ResponseBody::Analog(a) => reply("analog", a, INFO_PACKS, pack_json, &mut m),
        ResponseBody::Status(s) => reply("status", s, INFO_PACKS, status_json, &mut m),
        ResponseBody::SystemParameters(p) => {
            m.insert("info_flag".into(), p.info_flag.into());
            m.insert("values_raw".into(), p.values.to_vec().into());
            "system_parameters"
        }
        ResponseBody::ProtocolVersion => common_reply(r.ver, None, &mut m),
        ResponseBody::Manufacturer(i) => common_reply(
            r.ver,
            Some((&i.device_name, &i.software_version, &i.manufacturer)),
            &mut m,
        ),
        ResponseBody::PackCount(n) => {
            m.insert("pack_count".into(), (*n).into());
            "pack_count"
        }
        ResponseBody::SoftwareVersion(v) => {
            m.insert("version".into(), text(v));
            "software_version"
        }
        ResponseBody::ProductInfo(v) => {
            m.insert("product_info".into(), text(v));
            "product_info"
        }
        ResponseBody::Capacity(c) => {
            m.insert("remaining_capacity_ah".into(), amp_hours(c.remaining));
            m.insert("full_capacity_ah".into(), amp_hours(c.full));
            m.insert("design_capacity_ah".into(), amp_hours(c.design));
            "capacity"
        }
        ResponseBody::DateTime(d) => {
            m.insert("date_time".into(), date_time(*d));
            "date_time"
        }
        ResponseBody::Voltage(_, v) => {
            voltage_fields(v, &mut m);
            "voltage_protection"
        }
        ResponseBody::ChargeOverCurrent(c) | ResponseBody::DischargeOverCurrent(c) => {
            current_fields(c, &mut m);
            "current_protection"
        }
        ResponseBody::Balancing(b) => {
            m.insert("threshold_v".into(), volts(b.threshold));
            m.insert("delta_v".into(), volts(b.delta));
            "balancing"
        }
        ResponseBody::FullCharge(f) => {
            full_fields(f, &mut m);
            "full_charge"
        }
        ResponseBody::Accepted { .. } => "accepted",
        ResponseBody::ControlState { state, .. } => {
            m.insert("system".into(), bits(flags::System(*state)));
            "control_state"
        }
        ResponseBody::Undecoded { info, .. } => {
            m.insert("info_hex".into(), hex(info).into());
            "response"
        }
        // A reply added to voltwire-pace later: the header only, like an undecoded one.
        _ => "response",
    };
    (kind, m)
}
