//! `serde` (feature `serde`): Daly frames and assembled replies in the JSON contract's shape
//! (`docs/json.md`). A request or response is `{"direction", "address", "command", ...its
//! fields}` ([`Request::json`], [`Response::json`]: the frame supplies the header and what the
//! meaning drops, such as the raw current word); a multi-frame reply is the body of
//! [`Assembler::json`]. Serialize only; no alloc.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use voltwire_core::json::{Hex, Lossy, Once, Seq, serialize_code, serialize_flags};

use crate::{
    Assembler, BalanceBitOrder, ChargeState, Dio, Failures, MAX_FRAMES, Padding, RawFrame, Request,
    Response, Series, Switch, Variant,
};

/// A frame's message with the frame it came in.
struct Framed<'a, T> {
    frame: &'a RawFrame,
    message: &'a T,
    balance_bit_order: BalanceBitOrder,
}

impl Request {
    /// This request as JSON: `{"direction": "request", "address", "command": "0xNN", ...}`
    /// with `padding` (`"aa"`/`"zero"`) for a read, `on` for a MOSFET switch, `soc_pct` and
    /// `clock` (unless all zero) for a SOC write, else `data_hex`. `frame` is the frame it
    /// was parsed from.
    pub fn json<'a>(&'a self, frame: &'a RawFrame) -> impl Serialize + 'a {
        Framed {
            frame,
            message: self,
            balance_bit_order: BalanceBitOrder::default(),
        }
    }
}

impl Response {
    /// This response as JSON: `{"direction": "response", "address", "command": "0xNN",
    /// ...its fields in SI units}`; `frame` is the frame it was parsed from (the raw current
    /// word and write acknowledgements' data come from it) and `variant` the one it was
    /// parsed with (the balance bit order).
    pub fn json<'a>(&'a self, frame: &'a RawFrame, variant: &Variant) -> impl Serialize + 'a {
        Framed {
            frame,
            message: self,
            balance_bit_order: variant.balance_bit_order,
        }
    }
}

fn header<M: SerializeMap>(m: &mut M, frame: &RawFrame) -> Result<(), M::Error> {
    let direction = if frame.is_request() {
        "request"
    } else {
        "response"
    };
    m.serialize_entry("direction", direction)?;
    m.serialize_entry("address", &frame.address)?;
    m.serialize_entry("command", &format_args!("0x{:02X}", frame.command))
}

impl Serialize for Framed<'_, Request> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        header(&mut m, self.frame)?;
        match self.message {
            Request::Read { padding, .. } => {
                let p = match padding {
                    Padding::Aa => "aa",
                    Padding::Zero => "zero",
                };
                m.serialize_entry("padding", p)?;
            }
            Request::DischargeMosfet { on } | Request::ChargeMosfet { on } => {
                m.serialize_entry("on", on)?;
            }
            Request::SetSoc { clock, soc } => {
                m.serialize_entry("soc_pct", soc)?;
                if !clock.is_unset() {
                    m.serialize_entry(
                        "clock",
                        &format_args!(
                            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                            2000 + u16::from(clock.years_since_2000),
                            clock.month,
                            clock.day,
                            clock.hour,
                            clock.minute,
                            clock.second
                        ),
                    )?;
                }
            }
            _ => m.serialize_entry("data_hex", &Hex(&self.frame.data))?,
        }
        m.end()
    }
}

impl Serialize for Switch {
    /// `true` when on.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(self.is_on())
    }
}

impl Serialize for ChargeState {
    /// `{"code", "name"}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_code(self.0, self.name(), s)
    }
}

/// The names of [`Dio`]'s bits, bit 0 first.
const DIO_NAMES: [&str; 8] = ["di1", "di2", "di3", "di4", "do1", "do2", "do3", "do4"];

impl Serialize for Dio {
    /// `{"raw", "flags": ["di1".."di4", "do1".."do4"]}` (set bits, inputs first).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = self.0;
        let set = DIO_NAMES
            .iter()
            .zip(0u8..)
            .filter(move |&(_, bit)| raw & (1 << bit) != 0)
            .map(|(name, _)| *name);
        serialize_flags(raw, set, s)
    }
}

impl Serialize for Failures {
    /// `{"failures": {"raw": hex, "flags": [names]}, "fault_code"}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("failures", &FailureFlagsJson(self))?;
        m.serialize_entry("fault_code", &self.fault_code)?;
        m.end()
    }
}

struct FailureFlagsJson<'a>(&'a Failures);

impl Serialize for FailureFlagsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.0.flags;
        serialize_flags(Hex(&f.0), f.iter().map(crate::Failure::name), s)
    }
}

impl Serialize for Framed<'_, Response> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        header(&mut m, self.frame)?;
        let data = &self.frame.data;
        match self.message {
            Response::PackStatus(p) => {
                m.serialize_entry("voltage_v", &p.voltage)?;
                m.serialize_entry("acquired_voltage_v", &p.acquired_voltage)?;
                m.serialize_entry("current_a", &p.current)?;
                let [.., c0, c1, _, _] = *data;
                m.serialize_entry("current_raw", &u16::from_be_bytes([c0, c1]))?;
                m.serialize_entry("soc_pct", &p.soc)?;
            }
            Response::CellVoltageRange(c) => {
                m.serialize_entry("max_cell_voltage_v", &c.max)?;
                m.serialize_entry("max_cell", &c.max_cell)?;
                m.serialize_entry("min_cell_voltage_v", &c.min)?;
                m.serialize_entry("min_cell", &c.min_cell)?;
            }
            Response::TemperatureRange(t) => {
                m.serialize_entry("max_temperature_c", &t.max)?;
                m.serialize_entry("max_sensor", &t.max_sensor)?;
                m.serialize_entry("min_temperature_c", &t.min)?;
                m.serialize_entry("min_sensor", &t.min_sensor)?;
            }
            Response::MosfetStatus(st) => {
                m.serialize_entry("state", &st.state)?;
                m.serialize_entry("charge_mosfet", &st.charge_mosfet)?;
                m.serialize_entry("discharge_mosfet", &st.discharge_mosfet)?;
                m.serialize_entry("bms_life", &st.bms_life)?;
                m.serialize_entry("remaining_capacity_ah", &st.remaining_capacity)?;
            }
            Response::StatusInfo(st) => {
                m.serialize_entry("cell_count", &st.cell_count)?;
                m.serialize_entry("temperature_sensor_count", &st.temperature_sensor_count)?;
                m.serialize_entry("charger", &st.charger)?;
                m.serialize_entry("load", &st.load)?;
                m.serialize_entry("dio", &st.dio)?;
                m.serialize_entry("cycles", &st.cycles)?;
            }
            Response::CellVoltages(c) => {
                m.serialize_entry("frame", &c.frame)?;
                m.serialize_entry("cell_voltages_v", &c.voltages)?;
            }
            Response::Temperatures(t) => {
                m.serialize_entry("frame", &t.frame)?;
                m.serialize_entry("temperatures_c", &t.temperatures)?;
            }
            Response::BalanceState(b) => {
                let order = self.balance_bit_order;
                m.serialize_entry("raw_hex", &Hex(&b.0))?;
                m.serialize_entry(
                    "balancing_cells",
                    &Seq((1..=48u8).filter(move |&c| b.is_balancing(c, order))),
                )?;
            }
            Response::Failures(f) => {
                m.serialize_entry("failures", &FailureFlagsJson(f))?;
                m.serialize_entry("fault_code", &f.fault_code)?;
            }
            Response::RatedParameters(p) => {
                m.serialize_entry("rated_capacity_ah", &p.rated_capacity)?;
                m.serialize_entry("nominal_cell_voltage_v", &p.nominal_cell_voltage)?;
            }
            Response::BatteryInfo(b) => {
                m.serialize_entry(
                    "production_date",
                    &format_args!(
                        "{:04}-{:02}-{:02}",
                        2000 + u16::from(b.production_years_since_2000),
                        b.production_month,
                        b.production_day
                    ),
                )?;
                m.serialize_entry("battery_type_hex", &Hex(&b.head))?;
            }
            Response::BatteryCode(t)
            | Response::SoftwareVersion(t)
            | Response::HardwareVersion(t) => {
                m.serialize_entry("frame", &t.frame)?;
                m.serialize_entry("text", &Lossy(&t.text))?;
            }
            Response::DischargeMosfet(a)
            | Response::ChargeMosfet(a)
            | Response::SetSoc(a)
            | Response::Reset(a) => {
                m.serialize_entry("status", &a.status)?;
                m.serialize_entry("data_hex", &Hex(data))?;
            }
            _ => m.serialize_entry("data_hex", &Hex(data))?,
        }
        m.end()
    }
}

impl Assembler {
    /// The JSON `type` of the assembled reply: `cell_voltages`, `temperatures`,
    /// `battery_code`, `software_version` or `hardware_version`.
    pub const fn json_type(&self) -> &'static str {
        match self.series() {
            Series::CellVoltages => "cell_voltages",
            Series::Temperatures => "temperatures",
            Series::BatteryCode => "battery_code",
            Series::SoftwareVersion => "software_version",
            Series::HardwareVersion => "hardware_version",
        }
    }

    /// The reply assembled so far as JSON: `{"count", "missing_frames", "duplicate_frames"}`
    /// then `cell_voltages_v`, `temperatures_c` (`null` for a value not received) or `text`.
    /// With the count unknown, missing frames are those below the highest one received and
    /// trailing unused slots (0 mV, raw 0 = −40 °C) are left out.
    pub fn json(&self) -> impl Serialize + '_ {
        AssembledJson(self)
    }

    /// The highest frame number received (0 for none).
    fn highest_frame(&self) -> u8 {
        (1..=16u8).rev().find(|&n| self.has_frame(n)).unwrap_or(0)
    }
}

struct AssembledJson<'a>(&'a Assembler);

impl Serialize for AssembledJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let known = a.count().is_some();
        let highest = a.highest_frame();
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("count", &a.count())?;
        m.serialize_entry(
            "missing_frames",
            &Once::new(a.missing().filter(move |&n| known || n <= highest)),
        )?;
        m.serialize_entry("duplicate_frames", &a.duplicates())?;
        match a.series() {
            Series::CellVoltages => {
                // Unknown cell count: the slots past the last cell are 0x0000.
                let len = used(a.cell_voltages(), known, |c| c.0 != 0);
                m.serialize_entry("cell_voltages_v", &Once::new(a.cell_voltages().take(len)))?;
            }
            Series::Temperatures => {
                // Unknown sensor count: unused slots are raw 0x00 (−40 °C).
                let len = used(a.temperatures(), known, |t| t.0 != -400);
                m.serialize_entry("temperatures_c", &Once::new(a.temperatures().take(len)))?;
            }
            _ => {
                let mut buf = [0u8; MAX_FRAMES * 8];
                let n = a.text(&mut buf);
                m.serialize_entry("text", &Lossy(buf.get(..n).unwrap_or_default()))?;
            }
        }
        m.end()
    }
}

/// How many of `values` to show: all with the count `known`, else up to the last one that is
/// missing or `in_use`.
fn used<T>(
    values: impl Iterator<Item = Option<T>>,
    known: bool,
    in_use: impl Fn(&T) -> bool,
) -> usize {
    let mut len = 0;
    for (i, v) in values.enumerate() {
        if known || v.as_ref().is_none_or(&in_use) {
            len = i + 1;
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use alloc::string::String;

    use super::*;
    use crate::{CurrentSign, StatusInfo};

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn pack_status_keeps_the_raw_current_and_exact_si_numbers() {
        // 52.8 V, 0 V acquired, 30000 − 125 = −12.5 A (charge above offset: discharging),
        // 87.5 %.
        let frame = RawFrame {
            address: 1,
            command: 0x90,
            data: [0x02, 0x10, 0, 0, 0x74, 0xB3, 0x03, 0x6B],
        };
        let variant = Variant {
            current_sign: CurrentSign::ChargeAboveOffset,
            ..Variant::default()
        };
        let r = Response::parse(&frame, &variant).unwrap();
        assert_eq!(
            json(&r.json(&frame, &variant)),
            r#"{"direction":"response","address":1,"command":"0x90","voltage_v":52.8,"acquired_voltage_v":0,"current_a":-12.5,"current_raw":29875,"soc_pct":87.5}"#
        );
    }

    #[test]
    fn requests_status_and_failures() {
        let read = RawFrame {
            address: 0x40,
            command: 0x90,
            data: [0; 8],
        };
        assert_eq!(
            json(&Request::parse(&read).json(&read)),
            r#"{"direction":"request","address":64,"command":"0x90","padding":"zero"}"#
        );
        let soc = RawFrame {
            address: 0x40,
            command: 0x21,
            data: [24, 5, 17, 13, 4, 55, 0x03, 0x20],
        };
        assert_eq!(
            json(&Request::parse(&soc).json(&soc)),
            r#"{"direction":"request","address":64,"command":"0x21","soc_pct":80,"clock":"2024-05-17T13:04:55"}"#
        );
        // 0x94: DI2 and DO1 set.
        let status = RawFrame {
            address: 1,
            command: 0x94,
            data: [16, 1, 1, 0, 0b0001_0010, 0, 3, 0],
        };
        let r = Response::parse(&status, &Variant::default()).unwrap();
        assert_eq!(
            json(&r.json(&status, &Variant::default())),
            r#"{"direction":"response","address":1,"command":"0x94","cell_count":16,"temperature_sensor_count":1,"charger":true,"load":false,"dio":{"raw":18,"flags":["di2","do1"]},"cycles":3}"#
        );
        let failures = RawFrame {
            address: 1,
            command: 0x98,
            data: [0x01, 0, 0, 0, 0, 0, 0, 7],
        };
        let r = Response::parse(&failures, &Variant::default()).unwrap();
        assert_eq!(
            json(&r.json(&failures, &Variant::default())),
            r#"{"direction":"response","address":1,"command":"0x98","failures":{"raw":"01000000000000","flags":["cell_voltage_high_l1"]},"fault_code":7}"#
        );
    }

    #[test]
    fn assembled_replies() {
        // Known count (1 sensor from 0x94): frame 2 is padding, nothing missing.
        let status = StatusInfo::parse([16, 1, 0, 0, 0, 0, 3, 0]);
        let mut a = Assembler::from_status(Series::Temperatures, &status);
        for n in 1..=2 {
            a.push(&RawFrame {
                address: 1,
                command: 0x96,
                data: [n, 0x37, 0, 0, 0, 0, 0, 0],
            });
        }
        assert_eq!(a.json_type(), "temperatures");
        assert_eq!(
            json(&a.json()),
            r#"{"count":1,"missing_frames":[],"duplicate_frames":0,"temperatures_c":[15]}"#
        );
        // Unknown count, frame 2 of cell voltages only: frame 1 missing (nulls kept), the
        // unused 0 mV slots after the last cell dropped.
        let mut a = Assembler::new(Series::CellVoltages);
        a.push(&RawFrame {
            address: 1,
            command: 0x95,
            data: [2, 0x0C, 0xE4, 0x0C, 0xE5, 0, 0, 0],
        });
        assert_eq!(
            json(&a.json()),
            r#"{"count":null,"missing_frames":[1],"duplicate_frames":0,"cell_voltages_v":[null,null,null,3.3,3.301]}"#
        );
        let mut a = Assembler::new(Series::SoftwareVersion);
        a.push(&RawFrame {
            address: 1,
            command: 0x62,
            data: [1, b'V', b'1', 0xFF, b'2', 0, 0, 0],
        });
        assert_eq!(a.json_type(), "software_version");
        assert_eq!(
            json(&a.json()),
            "{\"count\":null,\"missing_frames\":[],\"duplicate_frames\":0,\"text\":\"V1\u{FFFD}2\"}"
        );
    }
}
