//! `serde` (feature `serde`): the JK-PB messages in the JSON contract's shape
//! (`docs/json.md`). A [`Message`] is an object of its fields; the caller adds `type`
//! ([`Message::json_type`]) and, for a block, `counter` ([`Block::counter`]).
#![allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with takes &T"
)]

use core::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use voltwire_core::DeciCelsius;
use voltwire_core::json::{Hex, Lossy, Once, Seq, serialize_code, serialize_si};

use super::{About, Block, BlockKind, Message, Status, Trigger};

/// A register as `"0x1620"`.
struct Register(u16);

impl Serialize for Register {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0x{:04X}", self.0))
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Settings => "settings",
            Self::Status => "status",
            Self::About => "about",
        })
    }
}

impl Message {
    /// The JSON `type` of the message: `status`, `settings`, `about`, `block` (another
    /// block type), `trigger_request`, `write_request`, `write_ack`, `read_request`,
    /// `read_response`, `exception`.
    pub fn json_type(&self) -> &'static str {
        match self {
            Self::Block(b) => match b.kind() {
                BlockKind::Status => "status",
                BlockKind::Settings => "settings",
                BlockKind::About => "about",
                BlockKind::Unknown(_) => "block",
            },
            Self::WriteRequest { .. } if self.as_trigger().is_some() => "trigger_request",
            Self::WriteRequest { .. } => "write_request",
            Self::WriteAck { .. } => "write_ack",
            Self::ReadRequest { .. } => "read_request",
            Self::ReadResponse { .. } => "read_response",
            Self::Exception { .. } => "exception",
        }
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Self::Block(b) = self {
            return b.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        match self {
            Self::Block(_) => {}
            Self::WriteRequest {
                address,
                register,
                values,
            } => {
                m.serialize_entry("address", address)?;
                m.serialize_entry("register", &Register(*register))?;
                match self.as_trigger() {
                    Some(t) => m.serialize_entry("trigger", &format_args!("{t}"))?,
                    None => m.serialize_entry("values", values.as_slice())?,
                }
            }
            Self::WriteAck {
                address,
                register,
                quantity,
            }
            | Self::ReadRequest {
                address,
                register,
                quantity,
            } => {
                m.serialize_entry("address", address)?;
                m.serialize_entry("register", &Register(*register))?;
                m.serialize_entry("quantity", quantity)?;
            }
            Self::ReadResponse { address, data } => {
                m.serialize_entry("address", address)?;
                m.serialize_entry("data_hex", &Hex(data))?;
            }
            Self::Exception {
                address,
                function,
                code,
            } => {
                m.serialize_entry("address", address)?;
                m.serialize_entry("function", function)?;
                m.serialize_entry("exception_code", code)?;
            }
        }
        m.end()
    }
}

/// The decoded status, settings or device info, or `{"block_type"}` for another block.
impl Serialize for Block {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(st) = self.status() {
            return st.serialize(s);
        }
        if let Some(st) = self.settings() {
            return st.serialize(s);
        }
        if let Some(a) = self.about() {
            return a.serialize(s);
        }
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("block_type", &self.kind())?;
        m.end()
    }
}

/// The texts trimmed of their NUL padding; the PIN is not shown.
impl Serialize for About {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("vendor_id", &Lossy(self.vendor_id.trimmed()))?;
        m.serialize_entry("hardware_version", &Lossy(self.hardware_version.trimmed()))?;
        m.serialize_entry("software_version", &Lossy(self.software_version.trimmed()))?;
        m.serialize_entry("serial_number", &Lossy(self.serial_number.trimmed()))?;
        m.serialize_entry("user_data", &Lossy(self.user_data.trimmed()))?;
        m.serialize_entry("user_data_2", &Lossy(self.user_data_2.trimmed()))?;
        m.serialize_entry("runtime_s", &self.runtime_s)?;
        m.serialize_entry("power_on_count", &self.power_on_count)?;
        m.end()
    }
}

/// `balancing`: 0 off, 1 charging, 2 discharging.
struct Balancing(u8);

impl Serialize for Balancing {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match self.0 {
            0 => Some("off"),
            1 => Some("charging"),
            2 => Some("discharging"),
            _ => None,
        };
        serialize_code(self.0, name, s)
    }
}

/// Milliohms as ohms.
struct Ohms(u16);

impl Serialize for Ohms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_si(self.0.into(), 1000, s)
    }
}

/// Cells and resistances of the fitted cells only; the battery temperatures as a list of
/// the present sensors and each by number.
impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        status_entries(self, &mut m)?;
        m.end()
    }
}

fn status_entries<M: SerializeMap>(st: &Status, m: &mut M) -> Result<(), M::Error> {
    let fitted = |i: usize| {
        st.cell_mask
            .checked_shr(u32::try_from(i).unwrap_or(32))
            .unwrap_or(0)
            & 1
            == 1
    };
    m.serialize_entry("cell_voltages_v", &Once::new(st.cells()))?;
    m.serialize_entry("cell_count", &st.cell_mask.count_ones())?;
    let r = st.cell_resistances_milliohm.iter().enumerate();
    let r = r.filter(|&(i, _)| fitted(i)).map(|(_, &r)| Ohms(r));
    m.serialize_entry("cell_resistances_ohm", &Seq(r))?;
    m.serialize_entry("average_cell_voltage_v", &st.average_cell_voltage)?;
    m.serialize_entry("cell_voltage_delta_v", &st.cell_voltage_delta)?;
    m.serialize_entry("max_cell_index", &st.max_cell_index)?;
    m.serialize_entry("min_cell_index", &st.min_cell_index)?;
    m.serialize_entry("pack_voltage_v", &st.pack_voltage)?;
    m.serialize_entry("current_a", &st.current)?;
    m.serialize_entry("soc_pct", &st.soc_percent)?;
    m.serialize_entry("soh_pct", &st.soh_percent)?;
    m.serialize_entry("mosfet_temperature_c", &st.mosfet_temperature)?;
    // Battery sensors: the present ones when the BMS says which, else T1 and T2.
    let all: [(u8, DeciCelsius); 4] = [
        (0x02, st.temperature_1),
        (0x04, st.temperature_2),
        (0x10, st.temperature_3),
        (0x20, st.temperature_4),
    ];
    let present = all.iter().enumerate().filter(|&(i, &(bit, _))| {
        if st.sensors_present == 0 {
            i < 2
        } else {
            st.sensors_present & bit != 0
        }
    });
    m.serialize_entry("temperatures_c", &Seq(present.map(|(_, &(_, t))| t)))?;
    for (key, (_, t)) in [
        "temperature_1_c",
        "temperature_2_c",
        "temperature_3_c",
        "temperature_4_c",
    ]
    .into_iter()
    .zip(all)
    {
        m.serialize_entry(key, &t)?;
    }
    m.serialize_entry("sensors_present", &st.sensors_present)?;
    m.serialize_entry("alarms", &st.alarms)?;
    m.serialize_entry("balance_current_a", &st.balance_current)?;
    m.serialize_entry("balancing", &Balancing(st.balancing))?;
    m.serialize_entry("remaining_capacity_ah", &st.remaining_capacity)?;
    m.serialize_entry("full_charge_capacity_ah", &st.full_charge_capacity)?;
    m.serialize_entry("cycle_count", &st.cycle_count)?;
    m.serialize_entry("runtime_s", &st.runtime_s)?;
    m.serialize_entry("charge_mos", &(st.charge_mos != 0))?;
    m.serialize_entry("discharge_mos", &(st.discharge_mos != 0))?;
    m.serialize_entry("precharge", &st.precharge)?;
    m.serialize_entry("heating", &(st.heating != 0))?;
    m.serialize_entry("heater_current_a", &st.heater_current)
}

/// `serialize_with`: a nonzero flag as `true`.
pub(crate) fn nonzero<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(*v != 0)
}

/// `serialize_with`: microseconds as seconds.
pub(crate) fn micros<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
    serialize_si((*v).into(), 1_000_000, s)
}

#[cfg(test)]
mod tests {
    use alloc::string::{String, ToString as _};

    use voltwire_core::{DeciCelsius, MilliampHours, Millivolts};

    use crate::Text;
    use crate::pb::{About, Message, Settings};

    fn json(m: &Message) -> String {
        serde_json::to_value(m).unwrap().to_string()
    }

    #[test]
    fn settings_keys_carry_units() {
        let s = Settings {
            cell_over_voltage: Millivolts(3_650),
            capacity: MilliampHours(280_000),
            charge_over_temperature: DeciCelsius(-55),
            short_circuit_delay_us: 1_500,
            charge_enabled: 1,
            heating_start_celsius: -5,
            ..Settings::default()
        };
        let j = json(&Message::Block(s.to_block().unwrap()));
        for want in [
            r#""cell_over_voltage_v":3.65,"#,
            r#""capacity_ah":280,"#,
            r#""charge_over_temperature_c":-5.5,"#,
            r#""short_circuit_delay_s":0.0015,"#,
            r#""charge_enabled":true,"discharge_enabled":false,"#,
            r#""heating_start_c":-5,"#,
        ] {
            assert!(j.contains(want), "{want} in {j}");
        }
    }

    #[test]
    fn about_hides_the_pin() {
        let mut pin = [0u8; 16];
        pin[..4].copy_from_slice(b"1234");
        let a = About {
            pin: Text(pin),
            runtime_s: 7,
            ..About::default()
        };
        let j = json(&Message::Block(a.to_block()));
        assert!(!j.contains("1234") && !j.contains("pin"), "{j}");
        assert!(j.ends_with(r#""runtime_s":7,"power_on_count":0}"#), "{j}");
    }
}
