//! `serde` (feature `serde`): the shapes of `docs/json.md` for what a derive cannot say.
//! A [`super::Message`] serializes as its fields only (no `type`, no `id`: the caller
//! frames it, e.g. `voltwire decode` adds `protocol`, `type`, `offset`, `id`).
#![allow(
    clippy::ref_option,
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with takes &T"
)]

use serde::ser::{SerializeMap as _, SerializeStruct as _};
use serde::{Serialize, Serializer};
use voltwire_core::DeciKelvin;
use voltwire_core::json::{Hex, Seq, serialize_si};

use super::{
    AlarmCondition, BatteryName, BmsName, InverterHandshake, InverterRequest, Manufacturer,
    MaxCellTemperatureId, MaxCellVoltageId, MinCellTemperatureId, MinCellVoltageId, PairState,
    Request, SerialPart1, SerialPart2, SmaAlarms,
};

/// 0.01 % steps as a percentage (`soc_high_res_pct`), `null` when absent.
pub(crate) fn centi<S: Serializer>(v: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
    voltwire_core::json::opt_si(*v, 100, s)
}

/// 0.1 K as °C, exactly 273.15 apart (in 0.01 °C: 10 × deci-kelvin − 27315).
pub(crate) fn kelvin_c<S: Serializer>(v: &DeciKelvin, s: S) -> Result<S::Ok, S::Error> {
    serialize_si(i64::from(v.0) * 10 - 27_315, 100, s)
}

/// The alarm or warning half of 0x35A.
struct Pairs<'a>(&'a SmaAlarms, bool);

impl Pairs<'_> {
    fn state(&self, c: AlarmCondition) -> PairState {
        if self.1 {
            self.0.warning(c)
        } else {
            self.0.alarm(c)
        }
    }
}

/// The condition → state map of one half.
struct States<'a>(&'a Pairs<'a>);

impl Serialize for States<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(AlarmCondition::ALL.len()))?;
        for c in AlarmCondition::ALL {
            m.serialize_entry(c.name(), self.0.state(c).name())?;
        }
        m.end()
    }
}

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = if self.1 {
            &self.0.warnings
        } else {
            &self.0.alarms
        };
        let active = AlarmCondition::ALL
            .iter()
            .filter(|&&c| self.state(c) == PairState::Active)
            .map(|c| c.name());
        let mut st = s.serialize_struct("Pairs", 3)?;
        st.serialize_field("raw", &Hex(raw))?;
        st.serialize_field("flags", &Seq(active))?;
        st.serialize_field("states", &States(self))?;
        st.end()
    }
}

/// `{"alarms": {raw, flags, states}, "warnings": …}`: `raw` as hex, `flags` the active
/// conditions, `states` every condition's pair state.
impl Serialize for SmaAlarms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SmaAlarms", 2)?;
        st.serialize_field("alarms", &Pairs(self, false))?;
        st.serialize_field("warnings", &Pairs(self, true))?;
        st.end()
    }
}

/// `{"flags": {raw, flags}, "charge_enable": bool, …}` (the padding is not shown).
impl Serialize for Request {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.flags;
        let mut st = s.serialize_struct("Request", 6)?;
        st.serialize_field("flags", &f)?;
        st.serialize_field("charge_enable", &f.charge_enable())?;
        st.serialize_field("discharge_enable", &f.discharge_enable())?;
        st.serialize_field("force_charge_1", &f.force_charge_1())?;
        st.serialize_field("force_charge_2", &f.force_charge_2())?;
        st.serialize_field("full_charge_request", &f.full_charge_request())?;
        st.end()
    }
}

/// `{"text": "…" | null, "hex": "…"}` for the ASCII payloads.
macro_rules! text_serde {
    ($($name:ident),*) => {$(
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut st = s.serialize_struct(stringify!($name), 2)?;
                st.serialize_field("text", &self.text())?;
                st.serialize_field("hex", &self.0)?;
                st.end()
            }
        }
    )*};
}

text_serde!(
    Manufacturer,
    BmsName,
    BatteryName,
    MinCellVoltageId,
    MaxCellVoltageId,
    MinCellTemperatureId,
    MaxCellTemperatureId,
    SerialPart1,
    SerialPart2
);

/// `{"hex": "…"}`.
impl Serialize for InverterRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("InverterRequest", 1)?;
        st.serialize_field("hex", &self.0)?;
        st.end()
    }
}

/// `{"hex": "…", "victron": bool}`.
impl Serialize for InverterHandshake {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("InverterHandshake", 2)?;
        st.serialize_field("hex", &self.0)?;
        st.serialize_field("victron", &self.is_victron())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use crate::can::Message;
    use alloc::string::ToString as _;

    fn json(id: u16, data: &[u8]) -> serde_json::Value {
        serde_json::to_value(Message::parse(id, data).unwrap()).unwrap()
    }

    #[test]
    fn shapes() {
        // 0x351: 563 × 0.1 V, 9226 × 0.1 A twice, 469 × 0.1 V.
        assert_eq!(
            json(0x351, &[0x33, 0x02, 0x0A, 0x24, 0x0A, 0x24, 0xD5, 0x01]).to_string(),
            r#"{"charge_voltage_limit_v":56.3,"charge_current_limit_a":922.6,"discharge_current_limit_a":922.6,"discharge_voltage_limit_v":46.9}"#
        );
        // 0x373: 3300 mV, 3304 mV, 301 K and 303 K (exactly 273.15 below).
        assert_eq!(
            json(0x373, &[0xE4, 0x0C, 0xE8, 0x0C, 0x2D, 0x01, 0x2F, 0x01]).to_string(),
            r#"{"min_cell_voltage_v":3.3,"max_cell_voltage_v":3.304,"min_cell_temperature_c":27.85,"max_cell_temperature_c":29.85}"#
        );
        // 0x355: 81 %, 100 %, 8150 × 0.01 %.
        assert_eq!(
            json(0x355, &[0x51, 0x00, 0x64, 0x00, 0xD6, 0x1F]).to_string(),
            r#"{"soc_pct":81,"soh_pct":100,"soc_high_res_pct":81.5}"#
        );
        assert_eq!(
            json(0x35E, b"PYLON\0\0\0").to_string(),
            r#"{"text":"PYLON","hex":"50594C4F4E000000"}"#
        );
        assert_eq!(json(0x123, &[1, 0xAB]).to_string(), r#"{"hex":"01AB"}"#);
    }
}
