//! `serde` (feature `serde`): the device maps' readings, settings and set points in the JSON
//! contract's shape (`docs/json.md`, through `voltwire_core::json`).
//!
//! Quantities are SI numbers with the unit in the key (`voltage_v`; the raw 0.1 W / 0.01 Wh
//! registers as `_w` / `_wh` numbers, exact), codes `{"code", "name"}`, the coulomb meter's
//! undocumented alarm word `{"raw", "flags": ["bit_N", …]}`. Serialize only; `no_std`, no
//! alloc. The caller frames a value (address, `type`, time).

use serde::ser::SerializeStruct as _;
use serde::{Serialize, Serializer};
use voltwire_core::json::{serialize_code, serialize_flags, serialize_si};

use crate::{coulomb_meter, lumentree, trucki};

/// `value` counted in `1/div` of an SI unit, as the SI number.
struct Si(i64, i64);

impl Serialize for Si {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_si(self.0, self.1, s)
    }
}

/// Names for the bits of a word whose meaning no source documents.
const BIT_NAMES: [&str; 16] = [
    "bit_0", "bit_1", "bit_2", "bit_3", "bit_4", "bit_5", "bit_6", "bit_7", "bit_8", "bit_9",
    "bit_10", "bit_11", "bit_12", "bit_13", "bit_14", "bit_15",
];

/// The set bits of `raw` as `bit_N`, lowest first.
fn set_bits(raw: u16) -> impl Iterator<Item = &'static str> {
    BIT_NAMES
        .iter()
        .enumerate()
        .filter(move |&(i, _)| {
            raw.checked_shr(u32::try_from(i).unwrap_or(16)).unwrap_or(0) & 1 == 1
        })
        .map(|(_, &n)| n)
}

/// `{"raw", "flags"}` of an undocumented alarm word.
struct Bits(u16);

impl Serialize for Bits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_flags(self.0, set_bits(self.0), s)
    }
}

/// `{"code", "name"}`: `idle`, `discharging`, `charging` (`null` for another value).
impl Serialize for coulomb_meter::State {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match self {
            Self::Idle => Some("idle"),
            Self::Discharging => Some("discharging"),
            Self::Charging => Some("charging"),
            Self::Unknown(_) => None,
        };
        serialize_code(self.raw(), name, s)
    }
}

/// `soc_pct`, `temperature_c`, `voltage_v`, `current_a`, `power_w`, `energy_wh`,
/// `remaining_ah`, `alarm_flags`, `state`. The meter sends the power as a magnitude;
/// `power_w` carries the current's sign (positive = charging), like `current_a`.
impl Serialize for coulomb_meter::Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let power = i64::from(self.power_deciwatts);
        let power = if self.state == coulomb_meter::State::Discharging {
            -power
        } else {
            power
        };
        let mut st = s.serialize_struct("Status", 9)?;
        st.serialize_field("soc_pct", &self.soc)?;
        st.serialize_field("temperature_c", &self.temperature)?;
        st.serialize_field("voltage_v", &self.voltage)?;
        st.serialize_field("current_a", &self.current)?;
        st.serialize_field("power_w", &Si(power, 10))?;
        st.serialize_field("energy_wh", &Si(self.energy_centiwatt_hours.into(), 100))?;
        st.serialize_field("remaining_ah", &self.remaining)?;
        st.serialize_field("alarm_flags", &Bits(self.flags))?;
        st.serialize_field("state", &self.state)?;
        st.end()
    }
}

/// The holding registers under their meaning: `address`, `capacity_ah`, `full_voltage_v`,
/// `empty_voltage_v`, `over_voltage_v`, `over_current_a`, `over_temperature_c`,
/// `under_voltage_v`, `low_soc_pct`.
impl Serialize for coulomb_meter::Settings {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Settings", 9)?;
        st.serialize_field("address", &self.address)?;
        st.serialize_field("capacity_ah", &self.capacity)?;
        st.serialize_field("full_voltage_v", &self.full_voltage)?;
        st.serialize_field("empty_voltage_v", &self.empty_voltage)?;
        st.serialize_field("over_voltage_v", &self.over_voltage)?;
        st.serialize_field("over_current_a", &self.over_current)?;
        st.serialize_field("over_temperature_c", &self.over_temperature)?;
        st.serialize_field("under_voltage_v", &self.under_voltage)?;
        st.serialize_field("low_soc_pct", &self.low_soc)?;
        st.end()
    }
}

/// `{"code": value word, "name": "full" | "empty" | null}`.
impl Serialize for coulomb_meter::SetChargeLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match self {
            Self::Full => Some("full"),
            Self::Empty => Some("empty"),
            Self::Other(_) => None,
        };
        serialize_code(self.value(), name, s)
    }
}

/// `grid_voltage_v`, `temperature_c`, `output_power_w` (to 0.1 W), `battery_voltage_v`.
impl Serialize for lumentree::Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Status", 4)?;
        st.serialize_field("grid_voltage_v", &self.grid_voltage)?;
        st.serialize_field("temperature_c", &self.temperature)?;
        st.serialize_field(
            "output_power_w",
            &Si(self.output_power_deciwatts.into(), 10),
        )?;
        st.serialize_field("battery_voltage_v", &self.battery_voltage)?;
        st.end()
    }
}

/// `{"set_point_w": N}`.
impl Serialize for lumentree::SetOutputPower {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SetOutputPower", 1)?;
        st.serialize_field("set_point_w", &self.power())?;
        st.end()
    }
}

/// `set_point_w`, `output_power_w`, `grid_voltage_v`, `battery_voltage_v`, `dac`,
/// `calibration`, `set_point_mirror_w`, `temperature_raw` (no scale is known).
impl Serialize for trucki::Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Status", 8)?;
        st.serialize_field("set_point_w", &Si(self.set_point_deciwatts.into(), 10))?;
        st.serialize_field(
            "output_power_w",
            &Si(self.output_power_deciwatts.into(), 10),
        )?;
        st.serialize_field("grid_voltage_v", &self.grid_voltage)?;
        st.serialize_field("battery_voltage_v", &self.battery_voltage)?;
        st.serialize_field("dac", &self.dac)?;
        st.serialize_field("calibration", &self.calibration)?;
        st.serialize_field("set_point_mirror_w", &Si(self.mirror_deciwatts.into(), 10))?;
        st.serialize_field("temperature_raw", &self.temperature_raw)?;
        st.end()
    }
}

/// `{"set_point_w": N}` (to 0.1 W).
impl Serialize for trucki::SetPower {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SetPower", 1)?;
        st.serialize_field("set_point_w", &Si(self.to_register().into(), 10))?;
        st.end()
    }
}
