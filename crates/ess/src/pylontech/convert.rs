//! A Pylontech-CAN telegram (either dialect) as a [`BatteryState`].

use voltwire_core::Milliamps;
use voltwire_pylontech::can::{
    AlarmCondition, Message, PairState, Part, PartSet, SmaAlarms, Telegram,
};

use crate::state::{BatteryState, Flags, Requests};

/// Why a telegram cannot be turned into a [`BatteryState`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// A frame the state needs is not in the telegram.
    #[error("the telegram has no 0x{id:03X} frame")]
    Missing {
        /// The CAN id of the missing frame.
        id: u16,
    },
}

impl ConvertError {
    /// A short, stable `snake_case` code for logs and JSON.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "missing_frame",
        }
    }
}

/// A current limit from the wire: a negative value counts as 0 A, never as its magnitude
/// (0x8000 is -3276.8 A, which must not become +3276.8 A).
fn limit(m: Milliamps) -> Milliamps {
    Milliamps(m.0.max(0))
}

/// The frames of a Pylontech-dialect telegram: 0x351, 0x355, 0x356, 0x359, 0x35C.
pub const PYLONTECH_TELEGRAM: PartSet = PartSet::EMPTY
    .with(Part::Limits)
    .with(Part::SocSoh)
    .with(Part::Measurements)
    .with(Part::Alarms)
    .with(Part::Request);

/// The frames of an SMA/Victron-dialect telegram: 0x351, 0x355, 0x356, 0x35A (0x35C and
/// 0x372 are used when the telegram has them).
pub const SMA_TELEGRAM: PartSet = PartSet::EMPTY
    .with(Part::Limits)
    .with(Part::SocSoh)
    .with(Part::Measurements)
    .with(Part::SmaAlarms);

/// 0x35A conditions → [`Flags`] bits (cell imbalance has no bit and is left out).
const SMA_MAP: [(AlarmCondition, u16); 10] = [
    (AlarmCondition::General, Flags::SYSTEM),
    (AlarmCondition::HighVoltage, Flags::HIGH_VOLTAGE),
    (AlarmCondition::LowVoltage, Flags::LOW_VOLTAGE),
    (AlarmCondition::HighTemperature, Flags::HIGH_TEMPERATURE),
    (AlarmCondition::LowTemperature, Flags::LOW_TEMPERATURE),
    (
        AlarmCondition::HighChargeTemperature,
        Flags::HIGH_TEMPERATURE,
    ),
    (AlarmCondition::LowChargeTemperature, Flags::LOW_TEMPERATURE),
    (
        AlarmCondition::HighDischargeCurrent,
        Flags::DISCHARGE_OVER_CURRENT,
    ),
    (
        AlarmCondition::HighChargeCurrent,
        Flags::CHARGE_OVER_CURRENT,
    ),
    (AlarmCondition::InternalFailure, Flags::SYSTEM),
];

fn sma_flags(a: SmaAlarms) -> (Flags, Flags) {
    let mut errors = 0u16;
    let mut warnings = 0u16;
    for (c, bit) in SMA_MAP {
        if a.alarm(c) == PairState::Active {
            errors |= bit;
        }
        if a.warning(c) == PairState::Active {
            warnings |= bit;
        }
    }
    (Flags(errors), Flags(warnings))
}

/// From a Pylontech-CAN telegram (as [`voltwire_pylontech::can::Assembler::complete`] hands
/// it out), in either dialect.
///
/// Needs 0x351, 0x355 and 0x356, plus the alarms: 0x359 (Pylontech: protection bytes →
/// `errors`, warning bytes → `warnings`, its module count; then 0x35C is needed too) or else
/// 0x35A (SMA/Victron: each condition whose pair reads "active" sets its [`Flags`] bit, see
/// the table in the source; the module count is 0x372's "online" when present, else 1).
/// 0x35C, when present: bit 7 / bit 6 → charge / discharge enable, bits 5/4/3 →
/// [`Requests`]; without it (SMA dialect) a direction is enabled when its current limit is
/// above zero. A negative CCL or DCL counts as 0 A (the direction gets no current; the raw
/// value 0x8000 = -3276.8 A never becomes +3276.8 A). Other frames are ignored.
impl TryFrom<&Telegram> for BatteryState {
    type Error = ConvertError;

    fn try_from(t: &Telegram) -> Result<Self, ConvertError> {
        let missing = |p: Part| ConvertError::Missing { id: p.id() };
        let Some(Message::Limits(limits)) = t.get(Part::Limits) else {
            return Err(missing(Part::Limits));
        };
        let Some(Message::SocSoh(soc)) = t.get(Part::SocSoh) else {
            return Err(missing(Part::SocSoh));
        };
        let Some(Message::Measurements(meas)) = t.get(Part::Measurements) else {
            return Err(missing(Part::Measurements));
        };
        let (errors, warnings, module_count, pylontech) =
            match (t.get(Part::Alarms), t.get(Part::SmaAlarms)) {
                (Some(Message::Alarms(a)), _) => (
                    Flags(a.protection.0),
                    Flags(a.warning.0),
                    u16::from(a.module_count),
                    true,
                ),
                (_, Some(Message::SmaAlarms(pairs))) => {
                    let (errors, warnings) = sma_flags(*pairs);
                    let modules = match t.get(Part::ModuleCounts) {
                        Some(Message::ModuleCounts(counts)) => counts.online,
                        _ => 1,
                    };
                    (errors, warnings, modules, false)
                }
                _ => return Err(missing(Part::Alarms)),
            };
        let ccl = limit(limits.charge_current);
        let dcl = limit(limits.discharge_current);
        let (charge_enable, discharge_enable, requests) = match t.get(Part::Request) {
            Some(Message::Request(req)) => (
                req.flags.charge_enable(),
                req.flags.discharge_enable(),
                Requests(req.flags.0 & Requests::ALL),
            ),
            _ if pylontech => return Err(missing(Part::Request)),
            _ => (ccl.0 > 0, dcl.0 > 0, Requests::NONE),
        };
        Ok(Self {
            charge_voltage_limit: limits.charge_voltage,
            charge_current_limit: ccl,
            discharge_current_limit: dcl,
            soc: soc.soc,
            soh: soc.soh,
            voltage: meas.voltage,
            current: meas.current,
            temperature: meas.temperature,
            errors,
            warnings,
            charge_enable,
            discharge_enable,
            requests,
            module_count,
        })
    }
}

impl TryFrom<Telegram> for BatteryState {
    type Error = ConvertError;

    fn try_from(t: Telegram) -> Result<Self, ConvertError> {
        Self::try_from(&t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_core::{DeciCelsius, Millivolts, Permille};
    use voltwire_pylontech::can::{Assembler, PartSet};

    #[test]
    fn bms_gateway_burst() {
        // The real burst of bms_gateway's capture, without its 0x373 (cell extremes).
        let burst = voltwire_pylontech::can::reference::BMS_GATEWAY_BURST;
        let mut a = Assembler::new(PartSet::PYLONTECH);
        for (id, d) in burst.into_iter().filter(|&(id, _)| id != 0x373) {
            assert!(a.push(Message::parse(id, d).unwrap(), 0));
        }
        let s = BatteryState::try_from(a.complete(0, 1000).unwrap()).unwrap();
        assert_eq!(s.charge_voltage_limit, Millivolts(56_300));
        assert_eq!(s.charge_current_limit, Milliamps(922_500));
        assert_eq!(s.discharge_current_limit, Milliamps(922_500));
        assert_eq!(s.soc, Permille(800));
        assert_eq!(s.soh, Permille(1000));
        assert_eq!(s.voltage, Millivolts(52_910));
        assert_eq!(s.current, Milliamps(-80_100));
        assert_eq!(s.temperature, DeciCelsius(204));
        assert!(s.charge_enable && s.discharge_enable && !s.blocks());
        assert_eq!(s.module_count, 5);
        a.clear();
        let e = BatteryState::try_from(a.telegram()).unwrap_err();
        assert_eq!(e, ConvertError::Missing { id: 0x351 });
    }

    #[test]
    fn negative_limits_are_zero_never_their_magnitude() {
        // 0x351: CVL 55.2 V, CCL 0x8000 (-3276.8 A), DCL 0xFFFF (-0.1 A), DVL 41.6 V.
        let burst: [(u16, &[u8]); 5] = [
            (0x359, &[0, 0, 0, 0, 1, 0x50, 0x4E, 0]),
            (0x351, &[0x28, 0x02, 0x00, 0x80, 0xFF, 0xFF, 0xA0, 0x01]),
            (0x355, &[0x50, 0, 0x64, 0, 0, 0, 0, 0]),
            (0x356, &[0xAB, 0x14, 0xDF, 0xFC, 0xCC, 0, 0, 0]),
            (0x35C, &[0xC0, 0, 0, 0, 0, 0, 0, 0]),
        ];
        let mut a = Assembler::new(PYLONTECH_TELEGRAM);
        for (id, d) in burst {
            assert!(a.push(Message::parse(id, d).unwrap(), 0));
        }
        let s = BatteryState::try_from(a.complete(0, 1000).unwrap()).unwrap();
        assert_eq!(s.charge_current_limit, Milliamps(0));
        assert_eq!(s.discharge_current_limit, Milliamps(0));
        // 0x7FFF is +3276.7 A: passed on as it is (plausibility is the policy's job).
        a.push(
            Message::parse(0x351, &[0x28, 0x02, 0xFF, 0x7F, 0x01, 0x00, 0xA0, 0x01]).unwrap(),
            0,
        );
        let s = BatteryState::try_from(a.complete(0, 1000).unwrap()).unwrap();
        assert_eq!(s.charge_current_limit, Milliamps(3_276_700));
        assert_eq!(s.discharge_current_limit, Milliamps(100));
    }

    #[test]
    fn protection_flags_forbid_their_direction() {
        let ok = BatteryState {
            charge_enable: true,
            discharge_enable: true,
            ..BatteryState::default()
        };
        assert!(!ok.blocks());
        let with = |bits: u16| BatteryState {
            errors: Flags(bits),
            ..ok
        };
        for bit in [Flags::HIGH_VOLTAGE, Flags::CHARGE_OVER_CURRENT] {
            assert!(with(bit).forbids_charge() && !with(bit).forbids_discharge());
        }
        for bit in [Flags::LOW_VOLTAGE, Flags::DISCHARGE_OVER_CURRENT] {
            assert!(!with(bit).forbids_charge() && with(bit).forbids_discharge());
        }
        for bit in [
            Flags::HIGH_TEMPERATURE,
            Flags::LOW_TEMPERATURE,
            Flags::SYSTEM,
            1 << 0,
            1 << 15,
        ] {
            assert!(with(bit).forbids_charge() && with(bit).forbids_discharge());
        }
        // Warnings forbid nothing.
        let warned = BatteryState {
            warnings: Flags(0xFFFF),
            ..ok
        };
        assert!(!warned.blocks());
        let off = BatteryState {
            charge_enable: false,
            ..ok
        };
        assert!(off.forbids_charge() && !off.forbids_discharge());
    }

    #[test]
    fn victron_dialect_burst() {
        // A constructed SMA/Victron-dialect burst (frame layouts as in the Victron capture
        // of voltwire-pylontech's testdata): limits, SOC/SOH, measurements, 0x35A with every
        // pair "OK" except high temperature (byte 0 = 0x6A), 0x372 with 4 modules online;
        // no 0x359 and no 0x35C.
        let burst: [(u16, &[u8]); 5] = [
            (0x351, &[0x28, 0x02, 0xE8, 0x03, 0xE8, 0x03, 0xA0, 0x01]),
            (0x355, &[0x55, 0, 0x64, 0, 0, 0, 0, 0]),
            (0x356, &[0x4E, 0x14, 0x9C, 0xFF, 0xD7, 0, 0x1A, 0]),
            (0x35A, &[0x6A, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA]),
            (0x372, &[4, 0, 0, 0, 0, 0, 0, 0]),
        ];
        let mut a = Assembler::new(SMA_TELEGRAM);
        for (id, d) in burst {
            assert!(a.push(Message::parse(id, d).unwrap(), 0));
        }
        let s = BatteryState::try_from(a.complete(0, 1000).unwrap()).unwrap();
        assert_eq!(s.charge_voltage_limit, Millivolts(55_200));
        assert_eq!(s.charge_current_limit, Milliamps(100_000));
        assert_eq!(s.soc, Permille(850));
        assert_eq!(s.voltage, Millivolts(51_980));
        assert_eq!(s.current, Milliamps(-10_000));
        assert_eq!(s.errors, Flags(Flags::HIGH_TEMPERATURE));
        assert_eq!(s.warnings, Flags::NONE);
        assert_eq!(s.module_count, 4);
        assert!(s.charge_enable && s.discharge_enable);
        // A Pylontech telegram without 0x35C is incomplete, not guessed.
        let mut p = Assembler::new(PYLONTECH_TELEGRAM);
        p.push(Message::parse(0x351, &[0x28, 0x02, 0, 0, 0, 0]).unwrap(), 0);
        p.push(Message::parse(0x355, &[0x55, 0, 0x64, 0]).unwrap(), 0);
        p.push(
            Message::parse(0x356, &[0x4E, 0x14, 0, 0, 0xD7, 0]).unwrap(),
            0,
        );
        p.push(
            Message::parse(0x359, &[0, 0, 0, 0, 1, b'P', b'N']).unwrap(),
            0,
        );
        assert_eq!(
            BatteryState::try_from(p.telegram()).unwrap_err(),
            ConvertError::Missing { id: 0x35C }
        );
    }
}
