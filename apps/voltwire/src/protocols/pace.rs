//! `voltwire decode pace`: Pace BMS protocol v25 requests and responses.
//!
//! Also holds the ASCII-hex frame walk shared with `pylontech_rs485`: frames whose CID2 is a
//! return code are responses; a response is decoded as the answer to `--command`, else to
//! the request to the same address seen just before it, else reported undecoded with its
//! raw INFO.

use serde_json::{Map, Value as J, json};
use voltwire_asciihex::{Found, Frame, Rtn, scan_frame};
use voltwire_core::{DeciKelvin, MilliampHours, Milliamps, Millivolts};
use voltwire_pace::{
    MosfetSwitch, PackAnalog, PackStatus, Request, RequestBody, Response, ResponseBody, Target,
    ZERO_CELSIUS, command, flags,
};

use super::Options;
use crate::output::{Output, num};

/// One frame of the walk.
pub(super) enum Item<'a> {
    /// A frame whose CID2 is a command.
    Request(&'a Frame),
    /// A frame whose CID2 is a return code, with the command it answers if known.
    Response(&'a Frame, Option<u8>),
}

/// Walk all frames of `bytes`: report corrupt ones, classify and pair the others.
pub(super) fn walk(
    bytes: &[u8],
    opts: &Options,
    out: &mut Output,
    is_rtn: fn(u8) -> bool,
    mut emit: impl FnMut(u64, Item<'_>, &mut Output),
) {
    let mut pos = 0usize;
    let mut last: Option<(u8, u8)> = None;
    while pos < bytes.len() {
        let rest = bytes.get(pos..).unwrap_or_default();
        match scan_frame(rest) {
            Found::Incomplete { skip } => {
                if skip < rest.len() {
                    let mut extra = Map::new();
                    extra.insert(
                        "raw".into(),
                        String::from_utf8_lossy(rest.get(skip..).unwrap_or_default()).into(),
                    );
                    out.error(
                        (pos + skip) as u64,
                        "truncated",
                        "frame cut off at the end of the input",
                        extra,
                    );
                }
                break;
            }
            Found::Corrupt { skip, len, error } => {
                let at = pos + skip;
                let mut extra = Map::new();
                extra.insert(
                    "raw".into(),
                    String::from_utf8_lossy(bytes.get(at..at + len).unwrap_or_default())
                        .trim_end()
                        .into(),
                );
                out.error(at as u64, error.code(), &error.to_string(), extra);
                pos = at + len;
            }
            Found::Frame { skip, len } => {
                let at = pos + skip;
                pos = at + len;
                let Ok(frame) = Frame::parse(bytes.get(at..pos).unwrap_or_default()) else {
                    continue;
                };
                if is_rtn(frame.cid2) {
                    let paired = last
                        .take()
                        .filter(|(adr, _)| *adr == frame.adr)
                        .map(|(_, c)| c);
                    emit(
                        at as u64,
                        Item::Response(&frame, opts.command.or(paired)),
                        out,
                    );
                } else {
                    last = Some((frame.adr, frame.cid2));
                    emit(at as u64, Item::Request(&frame), out);
                }
            }
        }
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

pub(super) fn code_name(code: u8, name: Option<&str>) -> J {
    json!({ "code": code, "name": name })
}

pub(super) fn bits(raw: u8, table: &[Option<&'static str>; 8]) -> J {
    let names: Vec<&str> = (0..8)
        .filter(|i| raw & (1 << i) != 0)
        .filter_map(|i| table.get(i).copied().flatten())
        .collect();
    json!({ "raw": raw, "flags": names })
}

pub(super) fn volts(v: Millivolts) -> J {
    num(v.to_si())
}

pub(super) fn amps(a: Milliamps) -> J {
    num(a.to_si())
}

pub(super) fn amp_hours(c: MilliampHours) -> J {
    num(c.to_si())
}

pub(super) fn celsius(t: DeciKelvin, zero: i32) -> J {
    t.to_celsius(zero).map_or(J::Null, |c| num(c.to_si()))
}

pub(super) fn text(b: &[u8]) -> J {
    String::from_utf8_lossy(b)
        .trim_end_matches(['\0', ' '])
        .to_owned()
        .into()
}

pub(super) fn rtn_json(rtn: Rtn) -> J {
    code_name(rtn.code(), rtn.name())
}

/// Frames whose CID2 is a Pace return code (0x90 is the pack-count command here).
fn is_rtn(cid2: u8) -> bool {
    matches!(cid2, 0x00..=0x09 | 0xE1..=0xE4)
}

pub(crate) fn decode(bytes: &[u8], opts: &Options, out: &mut Output) {
    walk(bytes, opts, out, is_rtn, |offset, item, out| match item {
        Item::Request(f) => {
            let r = Request::from_frame(f);
            out.message("request", offset, request_json(&r));
        }
        Item::Response(f, Some(cmd)) => {
            let r = Response::from_frame(f, cmd);
            let (kind, m) = response_json(&r);
            out.message(kind, offset, m);
        }
        Item::Response(f, None) => {
            let mut m = Map::new();
            m.insert("adr".into(), f.adr.into());
            m.insert("rtn".into(), rtn_json(f.rtn()));
            m.insert("info_hex".into(), hex(&f.info).into());
            out.message("response", offset, m);
        }
    });
}

fn target(t: Target) -> J {
    match t {
        Target::Pack(p) => p.into(),
        Target::All => "all".into(),
    }
}

fn request_json(r: &Request) -> Map<String, J> {
    let mut m = Map::new();
    m.insert("adr".into(), r.adr.into());
    m.insert(
        "command".into(),
        code_name(r.command(), command::name(r.command())),
    );
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
    let mut m = Map::new();
    m.insert(
        "cell_voltages_v".into(),
        p.cells.iter().map(|c| volts(*c)).collect::<Vec<_>>().into(),
    );
    m.insert(
        "temperatures_c".into(),
        p.temperatures
            .iter()
            .map(|t| celsius(*t, ZERO_CELSIUS))
            .collect::<Vec<_>>()
            .into(),
    );
    m.insert("current_a".into(), amps(p.current));
    m.insert("voltage_v".into(), volts(p.voltage));
    m.insert(
        "remaining_capacity_ah".into(),
        amp_hours(p.remaining_capacity),
    );
    m.insert("full_capacity_ah".into(), amp_hours(p.full_capacity));
    m.insert("cycles".into(), p.cycles.into());
    m.insert(
        "design_capacity_ah".into(),
        p.design_capacity.map_or(J::Null, amp_hours),
    );
    m.into()
}

fn warnings(v: &[u8]) -> J {
    v.iter()
        .map(|w| code_name(*w, flags::warning::name(*w)))
        .collect::<Vec<_>>()
        .into()
}

fn status_json(p: &PackStatus) -> J {
    let mut m = Map::new();
    m.insert("cell_warnings".into(), warnings(&p.cells));
    m.insert("temperature_warnings".into(), warnings(&p.temperatures));
    m.insert(
        "charge_current_warning".into(),
        code_name(p.charge_current, flags::warning::name(p.charge_current)),
    );
    m.insert(
        "voltage_warning".into(),
        code_name(p.voltage, flags::warning::name(p.voltage)),
    );
    m.insert(
        "discharge_current_warning".into(),
        code_name(
            p.discharge_current,
            flags::warning::name(p.discharge_current),
        ),
    );
    m.insert("protect_1".into(), bits(p.protect_1, &flags::PROTECT_1));
    m.insert("protect_2".into(), bits(p.protect_2, &flags::PROTECT_2));
    m.insert("system".into(), bits(p.system, &flags::SYSTEM));
    m.insert("control".into(), bits(p.control, &flags::CONTROL));
    m.insert("fault".into(), bits(p.fault, &flags::FAULT));
    let balancing: Vec<u32> = (0..16u32)
        .filter(|i| (u16::from(p.balance_2) << 8 | u16::from(p.balance_1)) & (1 << i) != 0)
        .map(|i| i + 1)
        .collect();
    m.insert("balancing_cells".into(), balancing.into());
    m.insert("warn_1".into(), bits(p.warn_1, &flags::WARN_1));
    m.insert("warn_2".into(), bits(p.warn_2, &flags::WARN_2));
    m.into()
}

#[allow(clippy::too_many_lines, reason = "one arm per message")]
fn response_json(r: &Response) -> (&'static str, Map<String, J>) {
    let mut m = Map::new();
    m.insert("adr".into(), r.adr.into());
    m.insert("rtn".into(), rtn_json(r.rtn));
    m.insert(
        "command".into(),
        code_name(r.command(), command::name(r.command())),
    );
    let kind = match &r.body {
        ResponseBody::Analog(a) => {
            m.insert("info_flag".into(), a.info_flag.into());
            m.insert("command_value".into(), a.command.into());
            m.insert(
                "packs".into(),
                a.packs.iter().map(pack_json).collect::<Vec<_>>().into(),
            );
            "analog"
        }
        ResponseBody::Status(s) => {
            m.insert("info_flag".into(), s.info_flag.into());
            m.insert("command_value".into(), s.command.into());
            m.insert(
                "packs".into(),
                s.packs.iter().map(status_json).collect::<Vec<_>>().into(),
            );
            if !s.trailing.is_empty() {
                m.insert("trailing_hex".into(), hex(&s.trailing).into());
            }
            "status"
        }
        ResponseBody::SystemParameters(p) => {
            m.insert("info_flag".into(), p.info_flag.into());
            m.insert("values_raw".into(), p.values.to_vec().into());
            "system_parameters"
        }
        ResponseBody::ProtocolVersion => {
            m.insert("version".into(), format!("0x{:02X}", r.ver).into());
            "protocol_version"
        }
        ResponseBody::Manufacturer(i) => {
            m.insert("device_name".into(), text(&i.device_name));
            m.insert(
                "software_version".into(),
                i.software_version.to_vec().into(),
            );
            m.insert("manufacturer".into(), text(&i.manufacturer));
            "manufacturer"
        }
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
            m.insert("system".into(), bits(*state, &flags::SYSTEM));
            "control_state"
        }
        ResponseBody::Undecoded { info, .. } => {
            m.insert("info_hex".into(), hex(info).into());
            "response"
        }
    };
    (kind, m)
}
