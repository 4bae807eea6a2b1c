//! `serde` (feature `serde`): Pace requests and responses in the JSON contract's shapes
//! (`docs/json.md`). The header and the 0x42/0x44 layouts are `voltwire_asciihex::json`'s;
//! this module names Pace's keys ([`Pace`]'s [`JsonDialect`]) and each body's fields
//! ([`JsonBody`]): `Request::json`, `Response::json` (and `json_type`). Serialize only; no
//! alloc.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use voltwire_asciihex::block::Analog;
use voltwire_asciihex::json::{
    CellBits, JsonBody, JsonDialect, TemperatureLayout, Text, protocol_version_fields,
};
use voltwire_core::json::{Hex, serialize_code, serialize_si};

use crate::flags::{System, warning};
use crate::{
    CurrentProtection, DateTime, FullChargeConfig, MosfetSwitch, Pace, PackState, RequestBody,
    ResponseBody, Target, VoltageProtection, command,
};

impl JsonDialect for Pace {
    const TOTAL_CAPACITY_KEY: &'static str = "full_capacity_ah";
    const TEMPERATURES: TemperatureLayout = TemperatureLayout::MosfetAndEnvironmentLast;
    const STATE_KEYS: [&'static str; 5] = [
        "cell_warnings",
        "temperature_warnings",
        "charge_current_warning",
        "voltage_warning",
        "discharge_current_warning",
    ];
    const ANALOG_REPLY_KEYS: [&'static str; 2] = ["info_flag", "packs"];
    const STATUS_REPLY_KEYS: [&'static str; 2] = ["info_flag", "packs"];

    fn state_name(value: u8) -> Option<&'static str> {
        warning::name(value)
    }

    /// `design_capacity_ah` (the extension; `null` without it).
    fn analog_fields<M: SerializeMap>(analog: &Analog<Self>, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("design_capacity_ah", &analog.extension)
    }

    /// The nine state bytes: flag words as `{"raw", "flags"}`, the balance bytes as
    /// `balancing_cells` (cell numbers).
    fn state_fields<M: SerializeMap>(s: &PackState, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("protect_1", &s.protect_1)?;
        m.serialize_entry("protect_2", &s.protect_2)?;
        m.serialize_entry("system", &s.system)?;
        m.serialize_entry("control", &s.control)?;
        m.serialize_entry("fault", &s.fault)?;
        m.serialize_entry("balancing_cells", &CellBits(s.balance_1, s.balance_2))?;
        m.serialize_entry("warn_1", &s.warn_1)?;
        m.serialize_entry("warn_2", &s.warn_2)
    }
}

/// A count of 100 ms as seconds.
struct Tenths(u8);

impl Serialize for Tenths {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_si(i64::from(self.0), 10, s)
    }
}

impl Serialize for MosfetSwitch {
    /// `{"code": the INFO byte, "name": "on" | "off" | null}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match self {
            Self::On => Some("on"),
            Self::Off => Some("off"),
            Self::Other(_) => None,
        };
        serialize_code(self.byte(), name, s)
    }
}

impl Serialize for Target {
    /// The pack number, or `"all"`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Pack(p) => s.serialize_u8(*p),
            Self::All => s.serialize_str("all"),
        }
    }
}

impl Serialize for DateTime {
    /// `"YYYY-MM-DDThh:mm:ss"` (year 2000 + the wire's), values as sent.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            2000 + u16::from(self.year_since_2000),
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second
        ))
    }
}

impl VoltageProtection {
    fn json_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("alarm_v", &self.alarm)?;
        m.serialize_entry("protect_v", &self.protect)?;
        m.serialize_entry("release_v", &self.release)?;
        m.serialize_entry("delay_s", &Tenths(self.delay_100ms))
    }
}

impl CurrentProtection {
    fn json_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("alarm_a", &self.alarm)?;
        m.serialize_entry("protect_a", &self.protect)?;
        m.serialize_entry("delay_s", &Tenths(self.delay_100ms))
    }
}

impl FullChargeConfig {
    fn json_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("full_charge_v", &self.voltage)?;
        m.serialize_entry("full_charge_a", &self.current)?;
        m.serialize_entry("low_soc_alarm_pct", &self.low_soc_percent)
    }
}

fn balancing<M: SerializeMap>(b: crate::BalanceConfig, m: &mut M) -> Result<(), M::Error> {
    m.serialize_entry("threshold_v", &b.threshold)?;
    m.serialize_entry("delta_v", &b.delta)
}

impl<const N: usize> JsonBody for RequestBody<N> {
    fn json_command(&self) -> u8 {
        self.command()
    }

    fn command_name(code: u8) -> Option<&'static str> {
        command::name(code)
    }

    /// `request`.
    fn json_type(&self) -> &'static str {
        "request"
    }

    /// `pack` (0x42/0x44), `switch` (0x9A/0x9B), `value` (0x99/0x9C), the written values,
    /// or `info_hex` for a request of another shape.
    fn json_fields<M: SerializeMap>(&self, _ver: u8, m: &mut M) -> Result<(), M::Error> {
        match self {
            Self::Analog(t) | Self::Status(t) => m.serialize_entry("pack", t),
            Self::ChargeMosfet(s) | Self::DischargeMosfet(s) => m.serialize_entry("switch", s),
            Self::Shutdown(b) | Self::Switch(b) => m.serialize_entry("value", b),
            Self::WriteDateTime(d) => m.serialize_entry("date_time", d),
            Self::WriteVoltage(_, v) => v.json_fields(m),
            Self::WriteChargeOverCurrent(c) | Self::WriteDischargeOverCurrent(c) => {
                c.json_fields(m)
            }
            Self::WriteBalancing(b) => balancing(*b, m),
            Self::WriteFullCharge(f) => f.json_fields(m),
            Self::Other { info, .. } => m.serialize_entry("info_hex", &Hex(info)),
            Self::SystemParameters
            | Self::ProtocolVersion
            | Self::Manufacturer
            | Self::PackCount
            | Self::SoftwareVersion
            | Self::ProductInfo
            | Self::Capacity
            | Self::ReadDateTime
            | Self::ReadConfig(_) => Ok(()),
        }
    }
}

impl<const M: usize, const N: usize> JsonBody for ResponseBody<M, N> {
    fn json_command(&self) -> u8 {
        self.command()
    }

    fn command_name(code: u8) -> Option<&'static str> {
        command::name(code)
    }

    /// `analog`, `status`, `system_parameters`, `protocol_version`, `manufacturer`,
    /// `pack_count`, `software_version`, `product_info`, `capacity`, `date_time`,
    /// `voltage_protection`, `current_protection`, `balancing`, `full_charge`, `accepted`,
    /// `control_state`, or `response` when undecoded.
    fn json_type(&self) -> &'static str {
        match self {
            Self::Analog(_) => "analog",
            Self::Status(_) => "status",
            Self::SystemParameters(_) => "system_parameters",
            Self::ProtocolVersion => "protocol_version",
            Self::Manufacturer(_) => "manufacturer",
            Self::PackCount(_) => "pack_count",
            Self::SoftwareVersion(_) => "software_version",
            Self::ProductInfo(_) => "product_info",
            Self::Capacity(_) => "capacity",
            Self::DateTime(_) => "date_time",
            Self::Voltage(..) => "voltage_protection",
            Self::ChargeOverCurrent(_) | Self::DischargeOverCurrent(_) => "current_protection",
            Self::Balancing(_) => "balancing",
            Self::FullCharge(_) => "full_charge",
            Self::Accepted { .. } => "accepted",
            Self::ControlState { .. } => "control_state",
            Self::Undecoded { .. } => "response",
        }
    }

    fn json_fields<S: SerializeMap>(&self, ver: u8, m: &mut S) -> Result<(), S::Error> {
        match self {
            Self::Analog(a) => a.json_fields(m),
            Self::Status(s) => s.json_fields(m),
            Self::SystemParameters(p) => {
                m.serialize_entry("info_flag", &p.info_flag)?;
                m.serialize_entry("values_raw", &p.values)
            }
            Self::ProtocolVersion => protocol_version_fields(ver, m),
            Self::Manufacturer(i) => i.json_fields(m),
            Self::PackCount(n) => m.serialize_entry("pack_count", n),
            Self::SoftwareVersion(v) => m.serialize_entry("version", &Text(v)),
            Self::ProductInfo(v) => m.serialize_entry("product_info", &Text(v)),
            Self::Capacity(c) => {
                m.serialize_entry("remaining_capacity_ah", &c.remaining)?;
                m.serialize_entry("full_capacity_ah", &c.full)?;
                m.serialize_entry("design_capacity_ah", &c.design)
            }
            Self::DateTime(d) => m.serialize_entry("date_time", d),
            Self::Voltage(_, v) => v.json_fields(m),
            Self::ChargeOverCurrent(c) | Self::DischargeOverCurrent(c) => c.json_fields(m),
            Self::Balancing(b) => balancing(*b, m),
            Self::FullCharge(f) => f.json_fields(m),
            Self::Accepted { .. } => Ok(()),
            Self::ControlState { state, .. } => m.serialize_entry("system", &System(*state)),
            Self::Undecoded { info, .. } => m.serialize_entry("info_hex", &Hex(info)),
        }
    }
}
