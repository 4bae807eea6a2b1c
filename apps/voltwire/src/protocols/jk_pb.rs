//! `voltwire decode jk-pb`: the JK-PB inverter BMS RS485 bus (trigger requests, 55AA blocks,
//! acknowledgements, Modbus reads).

use serde_json::{Map, Value as J, json};
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts};
use voltwire_jk::pb::{self, BLOCK_START, Block, BlockKind, Message};

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
                pb::scan_final(rest)
            } else {
                match <voltwire_jk::pb::PbFraming as Framing>::scan(rest) {
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
                    out.message(kind, at, fields);
                }
                Err(e) => out.error(at, e.code(), &e.to_string(), Map::new()),
            }
            pos = start + len;
        }
        pos
    }
}

/// Blocks in dropped bytes: a failed sum8 or a block cut off. (Dropped Modbus-looking bytes
/// cannot be told from noise, so they are not reported.)
fn report_dropped(bytes: &[u8], base: u64, from: usize, to: usize, out: &mut Output) {
    let mut p = from;
    while p < to {
        let at = bytes.get(p..).unwrap_or_default();
        if at.starts_with(&BLOCK_START) {
            if let Err(e @ (pb::Error::Checksum { .. } | pb::Error::Truncated { .. })) =
                pb::check(at)
            {
                out.error(base + p as u64, e.code(), &e.to_string(), Map::new());
                p += 4;
                continue;
            }
        }
        p += 1;
    }
}

fn v(x: Millivolts) -> J {
    num(f64::from(x.0) / 1000.0)
}
fn a(x: Milliamps) -> J {
    num(f64::from(x.0) / 1000.0)
}
#[allow(
    clippy::cast_precision_loss,
    reason = "capacities are far below 2^52 mAh"
)]
fn ah(x: MilliampHours) -> J {
    num(x.0 as f64 / 1000.0)
}
fn c(x: DeciCelsius) -> J {
    num(f64::from(x.0) / 10.0)
}
fn text(t: &[u8]) -> J {
    String::from_utf8_lossy(t).into_owned().into()
}

pub(crate) fn message_json(m: &Message) -> (&'static str, Map<String, J>) {
    let mut f = Map::new();
    let kind = match m {
        Message::Block(b) => block_json(b, &mut f),
        Message::WriteRequest {
            address,
            register,
            values,
        } => {
            f.insert("address".into(), (*address).into());
            f.insert("register".into(), format!("0x{register:04X}").into());
            if let Some(t) = m.as_trigger() {
                let name = match t {
                    pb::Trigger::Settings => "settings",
                    pb::Trigger::Status => "status",
                    pb::Trigger::About => "about",
                };
                f.insert("trigger".into(), name.into());
                "trigger_request"
            } else {
                f.insert(
                    "values".into(),
                    values.iter().copied().collect::<Vec<_>>().into(),
                );
                "write_request"
            }
        }
        Message::WriteAck {
            address,
            register,
            quantity,
        } => {
            f.insert("address".into(), (*address).into());
            f.insert("register".into(), format!("0x{register:04X}").into());
            f.insert("quantity".into(), (*quantity).into());
            "write_ack"
        }
        Message::ReadRequest {
            address,
            register,
            quantity,
        } => {
            f.insert("address".into(), (*address).into());
            f.insert("register".into(), format!("0x{register:04X}").into());
            f.insert("quantity".into(), (*quantity).into());
            "read_request"
        }
        Message::ReadResponse { address, data } => {
            f.insert("address".into(), (*address).into());
            let hex = hex(data);
            f.insert("data_hex".into(), hex.into());
            "read_response"
        }
        Message::Exception {
            address,
            function,
            code,
        } => {
            f.insert("address".into(), (*address).into());
            f.insert("function".into(), (*function).into());
            f.insert("exception_code".into(), (*code).into());
            "exception"
        }
        // A message kind added to voltwire-jk later: its kind is not guessed.
        _ => "unknown",
    };
    (kind, f)
}

fn block_json(b: &Block, f: &mut Map<String, J>) -> &'static str {
    f.insert("counter".into(), b.counter().into());
    if let Some(s) = b.status() {
        status_json(&s, f);
        return "status";
    }
    if let Some(s) = b.settings() {
        settings_json(&s, f);
        return "settings";
    }
    if let Some(i) = b.about() {
        f.insert("vendor_id".into(), text(i.vendor_id.trimmed()));
        f.insert(
            "hardware_version".into(),
            text(i.hardware_version.trimmed()),
        );
        f.insert(
            "software_version".into(),
            text(i.software_version.trimmed()),
        );
        f.insert("serial_number".into(), text(i.serial_number.trimmed()));
        f.insert("user_data".into(), text(i.user_data.trimmed()));
        f.insert("user_data_2".into(), text(i.user_data_2.trimmed()));
        f.insert("runtime_s".into(), i.runtime_s.into());
        f.insert("power_on_count".into(), i.power_on_count.into());
        return "about";
    }
    let kind: u8 = b.kind().into();
    f.insert(
        "block_type".into(),
        json!({ "code": kind, "name": BlockKind::from(kind).name() }),
    );
    "block"
}

fn status_json(s: &pb::Status, f: &mut Map<String, J>) {
    {
        f.insert(
            "cell_voltages_v".into(),
            s.cells().map(v).collect::<Vec<_>>().into(),
        );
        f.insert("cell_count".into(), s.cell_mask.count_ones().into());
        f.insert(
            "cell_resistances_ohm".into(),
            s.cell_resistances_milliohm
                .iter()
                .enumerate()
                .filter(|(i, _)| s.cell_mask & (1 << i) != 0)
                .map(|(_, r)| num(f64::from(*r) / 1000.0))
                .collect::<Vec<_>>()
                .into(),
        );
        f.insert("average_cell_voltage_v".into(), v(s.average_cell_voltage));
        f.insert("cell_voltage_delta_v".into(), v(s.cell_voltage_delta));
        f.insert("max_cell_index".into(), s.max_cell_index.into());
        f.insert("min_cell_index".into(), s.min_cell_index.into());
        f.insert("pack_voltage_v".into(), v(s.pack_voltage));
        f.insert("current_a".into(), a(s.current));
        f.insert("soc_pct".into(), s.soc_percent.into());
        f.insert("soh_pct".into(), s.soh_percent.into());
        f.insert("mosfet_temperature_c".into(), c(s.mosfet_temperature));
        // Battery sensors: the present ones when the BMS says which, else T1 and T2.
        let all = [
            (0x02, s.temperature_1),
            (0x04, s.temperature_2),
            (0x10, s.temperature_3),
            (0x20, s.temperature_4),
        ];
        let temps: Vec<J> = all
            .iter()
            .enumerate()
            .filter(|(i, (bit, _))| {
                if s.sensors_present == 0 {
                    *i < 2
                } else {
                    s.sensors_present & bit != 0
                }
            })
            .map(|(_, (_, t))| c(*t))
            .collect();
        f.insert("temperatures_c".into(), temps.into());
        for (i, (_, t)) in all.iter().enumerate() {
            f.insert(format!("temperature_{}_c", i + 1), c(*t));
        }
        f.insert("sensors_present".into(), s.sensors_present.into());
        f.insert(
            "alarms".into(),
            json!({ "raw": s.alarms.0, "flags": s.alarms.flags().collect::<Vec<_>>() }),
        );
        f.insert("balance_current_a".into(), a(s.balance_current));
        let balancing = match s.balancing {
            0 => Some("off"),
            1 => Some("charging"),
            2 => Some("discharging"),
            _ => None,
        };
        f.insert(
            "balancing".into(),
            json!({ "code": s.balancing, "name": balancing }),
        );
        f.insert("remaining_capacity_ah".into(), ah(s.remaining_capacity));
        f.insert("full_charge_capacity_ah".into(), ah(s.full_charge_capacity));
        f.insert("cycle_count".into(), s.cycle_count.into());
        f.insert("runtime_s".into(), s.runtime_s.into());
        f.insert("charge_mos".into(), (s.charge_mos != 0).into());
        f.insert("discharge_mos".into(), (s.discharge_mos != 0).into());
        f.insert("precharge".into(), s.precharge.into());
        f.insert("heating".into(), (s.heating != 0).into());
        f.insert("heater_current_a".into(), a(s.heater_current));
    }
}

fn settings_json(s: &pb::Settings, f: &mut Map<String, J>) {
    {
        for (k, x) in [
            ("smart_sleep_voltage_v", s.smart_sleep_voltage),
            ("cell_under_voltage_v", s.cell_under_voltage),
            (
                "cell_under_voltage_recovery_v",
                s.cell_under_voltage_recovery,
            ),
            ("cell_over_voltage_v", s.cell_over_voltage),
            ("cell_over_voltage_recovery_v", s.cell_over_voltage_recovery),
            ("balance_trigger_delta_v", s.balance_trigger_delta),
            ("soc_100_voltage_v", s.soc_100_voltage),
            ("soc_0_voltage_v", s.soc_0_voltage),
            ("request_charge_voltage_v", s.request_charge_voltage),
            ("request_float_voltage_v", s.request_float_voltage),
            ("power_off_voltage_v", s.power_off_voltage),
            ("balance_start_voltage_v", s.balance_start_voltage),
        ] {
            f.insert(k.into(), v(x));
        }
        for (k, x) in [
            ("charge_over_current_a", s.charge_over_current),
            ("discharge_over_current_a", s.discharge_over_current),
            ("max_balance_current_a", s.max_balance_current),
        ] {
            f.insert(k.into(), a(x));
        }
        for (k, x) in [
            ("charge_over_temperature_c", s.charge_over_temperature),
            (
                "charge_over_temperature_recovery_c",
                s.charge_over_temperature_recovery,
            ),
            ("discharge_over_temperature_c", s.discharge_over_temperature),
            (
                "discharge_over_temperature_recovery_c",
                s.discharge_over_temperature_recovery,
            ),
            ("charge_under_temperature_c", s.charge_under_temperature),
            (
                "charge_under_temperature_recovery_c",
                s.charge_under_temperature_recovery,
            ),
            ("mosfet_over_temperature_c", s.mosfet_over_temperature),
            (
                "mosfet_over_temperature_recovery_c",
                s.mosfet_over_temperature_recovery,
            ),
        ] {
            f.insert(k.into(), c(x));
        }
        for (k, x) in [
            ("charge_over_current_delay_s", s.charge_over_current_delay_s),
            (
                "charge_over_current_recovery_s",
                s.charge_over_current_recovery_s,
            ),
            (
                "discharge_over_current_delay_s",
                s.discharge_over_current_delay_s,
            ),
            (
                "discharge_over_current_recovery_s",
                s.discharge_over_current_recovery_s,
            ),
            ("short_circuit_recovery_s", s.short_circuit_recovery_s),
            ("cell_count", s.cell_count),
            ("device_address", s.device_address),
            ("precharge_time", s.precharge_time),
        ] {
            f.insert(k.into(), x.into());
        }
        f.insert(
            "short_circuit_delay_s".into(),
            num(f64::from(s.short_circuit_delay_us) / 1e6),
        );
        f.insert("charge_enabled".into(), (s.charge_enabled != 0).into());
        f.insert(
            "discharge_enabled".into(),
            (s.discharge_enabled != 0).into(),
        );
        f.insert("balance_enabled".into(), (s.balance_enabled != 0).into());
        f.insert("capacity_ah".into(), ah(s.capacity));
        f.insert("control_bits".into(), s.control_bits.into());
        f.insert("heating_start_c".into(), s.heating_start_celsius.into());
        f.insert("heating_stop_c".into(), s.heating_stop_celsius.into());
        f.insert("smart_sleep_time".into(), s.smart_sleep_time.into());
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
