//! `serde` (feature `serde`): RS485 requests and responses in the JSON contract's shapes
//! (`docs/json.md`). The header and the 0x42/0x44 layouts are `voltwire_asciihex::json`'s;
//! this module names Pylontech's keys ([`Pylontech`]'s [`JsonDialect`]) and each body's
//! fields ([`JsonBody`]): `Request::json`, `Response::json` (and `json_type`). Serialize
//! only; no alloc.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use voltwire_asciihex::block::Analog;
use voltwire_asciihex::json::{
    CellBits, JsonBody, JsonDialect, TemperatureLayout, Text, protocol_version_fields,
};
use voltwire_core::DeciKelvin;
use voltwire_core::json::Hex;

use super::status_flags::{Status1, Status2, Status3};
use super::{
    ChargeManagement, Pylontech, RequestBody, ResponseBody, SystemAnalog, SystemInfo,
    SystemParameters, Target, ZERO_CELSIUS, alarm_state, command,
};

impl JsonDialect for Pylontech {
    const TOTAL_CAPACITY_KEY: &'static str = "total_capacity_ah";
    const TEMPERATURES: TemperatureLayout = TemperatureLayout::BoardFirst;
    const STATE_KEYS: [&'static str; 5] = [
        "cell_states",
        "temperature_states",
        "charge_current_state",
        "module_voltage_state",
        "discharge_current_state",
    ];
    const ANALOG_REPLY_KEYS: [&'static str; 2] = ["info_flag", "modules"];
    const STATUS_REPLY_KEYS: [&'static str; 2] = ["data_flag", "modules"];

    fn state_name(value: u8) -> Option<&'static str> {
        alarm_state::name(value)
    }

    /// `user_defined` (the count of user-defined items).
    fn analog_fields<M: SerializeMap>(analog: &Analog<Self>, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("user_defined", &analog.user_defined)
    }

    /// Status 1–3 as `{"raw", "flags"}`, status 4/5 as `cell_errors` (cell numbers).
    fn state_fields<M: SerializeMap>(s: &[u8; 5], m: &mut M) -> Result<(), M::Error> {
        let [s1, s2, s3, s4, s5] = *s;
        m.serialize_entry("status_1", &Status1(s1))?;
        m.serialize_entry("status_2", &Status2(s2))?;
        m.serialize_entry("status_3", &Status3(s3))?;
        m.serialize_entry("cell_errors", &CellBits(s4, s5))
    }
}

impl Serialize for Target {
    /// The module address, or `"all"`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Module(a) => s.serialize_u8(*a),
            Self::All => s.serialize_str("all"),
        }
    }
}

/// A temperature in 0.1 K as °C (0 °C = [`ZERO_CELSIUS`]), `None` when out of range.
fn c(t: DeciKelvin) -> Option<voltwire_core::DeciCelsius> {
    t.to_celsius(ZERO_CELSIUS)
}

impl ChargeManagement {
    fn json_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("charge_voltage_limit_v", &self.charge_voltage_limit)?;
        m.serialize_entry("discharge_voltage_limit_v", &self.discharge_voltage_limit)?;
        m.serialize_entry("charge_current_limit_a", &self.charge_current_limit)?;
        m.serialize_entry("discharge_current_limit_a", &self.discharge_current_limit)?;
        m.serialize_entry("status", &self.status)
    }
}

impl SystemParameters {
    fn json_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("info_flag", &self.info_flag)?;
        m.serialize_entry("cell_high_voltage_v", &self.cell_high_voltage)?;
        m.serialize_entry("cell_low_voltage_v", &self.cell_low_voltage)?;
        m.serialize_entry("cell_under_voltage_v", &self.cell_under_voltage)?;
        m.serialize_entry(
            "charge_high_temperature_c",
            &c(self.charge_high_temperature),
        )?;
        m.serialize_entry("charge_low_temperature_c", &c(self.charge_low_temperature))?;
        m.serialize_entry("charge_current_limit_a", &self.charge_current_limit)?;
        m.serialize_entry("module_high_voltage_v", &self.module_high_voltage)?;
        m.serialize_entry("module_low_voltage_v", &self.module_low_voltage)?;
        m.serialize_entry("module_under_voltage_v", &self.module_under_voltage)?;
        m.serialize_entry(
            "discharge_high_temperature_c",
            &c(self.discharge_high_temperature),
        )?;
        m.serialize_entry(
            "discharge_low_temperature_c",
            &c(self.discharge_low_temperature),
        )?;
        m.serialize_entry("discharge_current_limit_a", &self.discharge_current_limit)
    }
}

/// Serial numbers as a list of [`Text`].
struct Serials<'a>(&'a [[u8; 16]]);

impl Serialize for Serials<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|x| Text(x)))
    }
}

impl SystemInfo {
    fn json_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("device_name", &Text(&self.device_name))?;
        m.serialize_entry("manufacturer", &Text(&self.manufacturer))?;
        m.serialize_entry("software_version", &self.software_version)?;
        m.serialize_entry("module_count", &self.module_count)?;
        m.serialize_entry("serials", &Serials(&self.serials))
    }
}

impl SystemAnalog {
    /// The values; the temperature IDs are left out.
    fn json_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("voltage_v", &self.voltage)?;
        m.serialize_entry("current_a", &self.current)?;
        m.serialize_entry("soc_pct", &self.soc_percent)?;
        m.serialize_entry("average_cycles", &self.average_cycles)?;
        m.serialize_entry("max_cycles", &self.max_cycles)?;
        m.serialize_entry("average_soh_pct", &self.average_soh_percent)?;
        m.serialize_entry("min_soh_pct", &self.min_soh_percent)?;
        m.serialize_entry("max_cell_voltage_v", &self.max_cell_voltage)?;
        m.serialize_entry("max_cell_voltage_id", &self.max_cell_voltage_id)?;
        m.serialize_entry("min_cell_voltage_v", &self.min_cell_voltage)?;
        m.serialize_entry("min_cell_voltage_id", &self.min_cell_voltage_id)?;
        for (k, t) in [
            ("average_cell_temperature_c", self.average_cell_temperature),
            ("max_cell_temperature_c", self.max_cell_temperature),
            ("min_cell_temperature_c", self.min_cell_temperature),
            (
                "average_mosfet_temperature_c",
                self.average_mosfet_temperature,
            ),
            ("max_mosfet_temperature_c", self.max_mosfet_temperature),
            ("min_mosfet_temperature_c", self.min_mosfet_temperature),
            ("average_bms_temperature_c", self.average_bms_temperature),
            ("max_bms_temperature_c", self.max_bms_temperature),
            ("min_bms_temperature_c", self.min_bms_temperature),
        ] {
            m.serialize_entry(k, &c(t))?;
        }
        Ok(())
    }
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

    /// `module` (0x42/0x44: the address or `"all"`; 0x47/0x93 when given, 0x92), or
    /// `info_hex` for a request of another shape.
    fn json_fields<M: SerializeMap>(&self, _ver: u8, m: &mut M) -> Result<(), M::Error> {
        match self {
            Self::Analog(t) | Self::Alarm(t) => m.serialize_entry("module", t),
            Self::SystemParameters(Some(a)) | Self::Serial(Some(a)) | Self::Management(a) => {
                m.serialize_entry("module", a)
            }
            Self::Other { info, .. } => m.serialize_entry("info_hex", &Hex(info)),
            Self::ProtocolVersion
            | Self::Manufacturer
            | Self::SystemParameters(None)
            | Self::SystemInfo
            | Self::SystemAnalog
            | Self::SystemAlarm
            | Self::SystemManagement
            | Self::Serial(None) => Ok(()),
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

    /// `protocol_version`, `manufacturer`, `analog`, `alarm`, `system_parameters`,
    /// `system_info`, `system_analog`, `system_alarm`, `system_management`, `management`,
    /// `serial`, or `response` when undecoded.
    fn json_type(&self) -> &'static str {
        match self {
            Self::ProtocolVersion => "protocol_version",
            Self::Manufacturer(_) => "manufacturer",
            Self::Analog(_) => "analog",
            Self::Alarm(_) => "alarm",
            Self::SystemParameters(_) => "system_parameters",
            Self::SystemInfo(_) => "system_info",
            Self::SystemAnalog(_) => "system_analog",
            Self::SystemAlarm(_) => "system_alarm",
            Self::SystemManagement(_) => "system_management",
            Self::Management { .. } => "management",
            Self::Serial(_) => "serial",
            Self::Undecoded { .. } => "response",
        }
    }

    fn json_fields<S: SerializeMap>(&self, ver: u8, m: &mut S) -> Result<(), S::Error> {
        match self {
            Self::ProtocolVersion => protocol_version_fields(ver, m),
            Self::Manufacturer(i) => i.json_fields(m),
            Self::Analog(a) => a.json_fields(m),
            Self::Alarm(a) => a.json_fields(m),
            Self::SystemParameters(p) => p.json_fields(m),
            Self::SystemInfo(s) => s.json_fields(m),
            Self::SystemAnalog(s) => s.json_fields(m),
            Self::SystemAlarm(a) => {
                m.serialize_entry("warning_1", &a.warning_1)?;
                m.serialize_entry("warning_2", &a.warning_2)?;
                m.serialize_entry("protection_1", &a.protection_1)?;
                m.serialize_entry("protection_2", &a.protection_2)
            }
            Self::SystemManagement(x) => x.json_fields(m),
            Self::Management {
                command,
                management,
            } => {
                m.serialize_entry("command_value", command)?;
                management.json_fields(m)
            }
            Self::Serial(s) => {
                m.serialize_entry("command_value", &s.command)?;
                m.serialize_entry("serial", &Text(&s.serial))
            }
            Self::Undecoded { info, .. } => m.serialize_entry("info_hex", &Hex(info)),
        }
    }
}
