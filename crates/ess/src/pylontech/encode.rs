//! A [`BatteryState`] back onto the wire: the Pylontech CAN burst an inverter expects.
//!
//! The reverse of [`BatteryState`]'s `TryFrom<&Telegram>`. Each value is first put on the
//! frame's grid, rounding in the safe direction:
//!
//! | Frame | Field | Grid | Rounding |
//! |---|---|---|---|
//! | 0x351 | charge voltage limit | 0.1 V | down |
//! | 0x351 | charge / discharge current limit | 0.1 A | down (towards zero), at most 3276.7 A |
//! | 0x355 | SOC, SOH | 1 % | nearest |
//! | 0x356 | voltage | 0.01 V | nearest, within ±327.67 V |
//! | 0x356 | current | 0.1 A | towards zero, within ±3276.7 A |
//! | 0x356 | temperature | 0.1 °C | exact |
//!
//! so that an output never announces more than the combined state allows. The burst is
//! 0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E in the order a Pylontech BMS sends it; with
//! [`Extensions`] the SMA/Victron frames 0x35A (alarms and warnings as 2-bit pairs), 0x35F
//! (capacity) and 0x372 (module counts) follow.

use voltwire_core::{MilliampHours, Milliamps, Millivolts, Permille, Rounding, Scale};
use voltwire_pylontech::can::{
    AlarmCondition, Alarms, BatteryInfo, ChargeLimits, Manufacturer, Measurements, Message,
    ModuleCounts, Payload, Protection, Request, RequestFlags, SmaAlarms, SocSoh, Warning,
};

use crate::state::{BatteryState, Flags};

/// Largest number of frames [`frames`] returns.
pub const MAX_FRAMES: usize = 9;

/// The SMA/Victron extension frames and what they need beyond the state.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Extensions {
    /// Installed capacity announced in 0x35F (whole Ah on the wire, rounded down).
    pub capacity: MilliampHours,
    /// Modules offline (0x372 bytes 6-7), e.g. the excluded inputs of a gateway.
    pub modules_offline: u16,
    /// Modules blocking charge (0x372 bytes 2-3).
    pub blocking_charge: u16,
    /// Modules blocking discharge (0x372 bytes 4-5).
    pub blocking_discharge: u16,
}

/// How to encode the burst.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodeOptions {
    /// The manufacturer text of 0x35E (up to 8 ASCII bytes; inverters match on `PYLON`).
    pub manufacturer: [u8; 8],
    /// Also send the SMA/Victron extension frames.
    pub extensions: Option<Extensions>,
}

impl Default for EncodeOptions {
    /// `PYLON` and the plain Pylontech burst.
    fn default() -> Self {
        Self {
            manufacturer: *b"PYLON\0\0\0",
            extensions: None,
        }
    }
}

const DECIVOLT: Scale = Scale::new(100, 0);
const CENTIVOLT: Scale = Scale::new(10, 0);
const DECIAMP: Scale = Scale::new(100, 0);
const PERCENT: Scale = Scale::new(10, 0);
const AMP_HOUR: Scale = Scale::new(1000, 0);

/// The largest |current| an i16 of 0.1 A holds.
const MAX_DECIAMPS: i32 = i16::MAX as i32 * 100;
/// The largest |voltage| an i16 of 0.01 V holds.
const MAX_CENTIVOLTS: i32 = i16::MAX as i32 * 10;

/// A current limit on the 0.1 A grid, rounded down, within 0 ..= 3276.7 A.
fn limit(a: Milliamps) -> Milliamps {
    Milliamps(a.0.clamp(0, MAX_DECIAMPS)).round_to(DECIAMP, Rounding::Down)
}

/// A percentage on the 1 % grid, within 0 ..= 100 %.
fn percent(p: Permille) -> Permille {
    Permille(p.0.clamp(0, 1000)).round_to(PERCENT, Rounding::Nearest)
}

/// A measured current on the 0.1 A grid, towards zero.
fn current(a: Milliamps) -> Milliamps {
    let a = Milliamps(a.0.clamp(-MAX_DECIAMPS, MAX_DECIAMPS));
    if a.0 >= 0 {
        a.round_to(DECIAMP, Rounding::Down)
    } else {
        a.round_to(DECIAMP, Rounding::Up)
    }
}

/// 2-bit pairs of 0x35A: `01` where `flags` has the condition, `10` (OK) elsewhere.
fn pairs(flags: Flags) -> [u8; 4] {
    let map = [
        (AlarmCondition::HighVoltage, Flags::HIGH_VOLTAGE),
        (AlarmCondition::LowVoltage, Flags::LOW_VOLTAGE),
        (AlarmCondition::HighTemperature, Flags::HIGH_TEMPERATURE),
        (AlarmCondition::LowTemperature, Flags::LOW_TEMPERATURE),
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
    let mut out = [0u8; 4];
    let mut set = |c: AlarmCondition, active: bool| {
        let (byte, shift) = c.position();
        if let Some(b) = out.get_mut(byte) {
            *b |= (if active { 0b01 } else { 0b10 }) << shift;
        }
    };
    set(AlarmCondition::General, !flags.is_empty());
    for (c, bit) in map {
        set(c, flags.contains(bit));
    }
    out
}

/// The frames presenting `s`, in sending order (see the module docs).
///
/// Total: every value is brought onto its frame's grid and range first, so no frame fails to
/// encode.
pub fn frames(s: &BatteryState, opts: &EncodeOptions) -> heapless::Vec<Message, MAX_FRAMES> {
    let mut out = heapless::Vec::new();
    let mut flags = 0u8;
    if s.charge_enable {
        flags |= RequestFlags::CHARGE_ENABLE;
    }
    if s.discharge_enable {
        flags |= RequestFlags::DISCHARGE_ENABLE;
    }
    flags |= s.requests.0 & crate::state::Requests::ALL;
    let voltage = Millivolts(s.voltage.0.clamp(-MAX_CENTIVOLTS, MAX_CENTIVOLTS))
        .round_to(CENTIVOLT, Rounding::Nearest);
    let cvl = Millivolts(s.charge_voltage_limit.0.clamp(0, i32::from(u16::MAX) * 100))
        .round_to(DECIVOLT, Rounding::Down);
    let messages = [
        Message::Alarms(Alarms {
            protection: Protection(s.errors.0),
            warning: Warning(s.warnings.0),
            module_count: u8::try_from(s.module_count).unwrap_or(u8::MAX),
            tag: *b"PN",
            reserved: Some(0),
        }),
        Message::Limits(ChargeLimits {
            charge_voltage: cvl,
            charge_current: if s.charge_enable {
                limit(s.charge_current_limit)
            } else {
                Milliamps(0)
            },
            discharge_current: if s.discharge_enable {
                limit(s.discharge_current_limit)
            } else {
                Milliamps(0)
            },
            discharge_voltage: None,
        }),
        Message::SocSoh(SocSoh {
            soc: percent(s.soc),
            soh: percent(s.soh),
            soc_high_res: None,
            reserved: None,
        }),
        Message::Measurements(Measurements {
            voltage,
            current: current(s.current),
            temperature: s.temperature,
            extra: None,
        }),
        Message::Request(Request::new(RequestFlags(flags))),
        Message::Manufacturer(Manufacturer(
            Payload::new(&opts.manufacturer).unwrap_or_default(),
        )),
    ];
    for m in messages {
        let _ = out.push(m);
    }
    if let Some(ext) = opts.extensions {
        let _ = out.push(Message::SmaAlarms(SmaAlarms {
            alarms: pairs(s.errors),
            warnings: pairs(s.warnings),
        }));
        let cap = MilliampHours(ext.capacity.0.clamp(0, i64::from(u16::MAX) * 1000))
            .round_to(AMP_HOUR, Rounding::Down);
        let _ = out.push(Message::BatteryInfo(BatteryInfo {
            bytes_0_1: 0,
            bytes_2_3: 0,
            capacity: cap,
            bytes_6_7: None,
        }));
        let _ = out.push(Message::ModuleCounts(ModuleCounts {
            online: s.module_count,
            blocking_charge: ext.blocking_charge,
            blocking_discharge: ext.blocking_discharge,
            offline: ext.modules_offline,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_core::{DeciCelsius, MilliampHours};
    use voltwire_pylontech::can::{Assembler, PartSet};

    fn state() -> BatteryState {
        BatteryState {
            charge_voltage_limit: Millivolts(53_249),
            charge_current_limit: Milliamps(123_456),
            discharge_current_limit: Milliamps(99_999),
            soc: Permille(666),
            soh: Permille(995),
            voltage: Millivolts(52_914),
            current: Milliamps(-12_345),
            temperature: DeciCelsius(231),
            errors: Flags(Flags::HIGH_TEMPERATURE),
            warnings: Flags(Flags::SYSTEM),
            charge_enable: true,
            discharge_enable: true,
            requests: crate::state::Requests(crate::state::Requests::FULL_CHARGE),
            module_count: 3,
        }
    }

    #[test]
    fn round_trip_through_the_wire_rounds_safely() {
        let opts = EncodeOptions::default();
        let mut a = Assembler::new(PartSet::PYLONTECH);
        for m in frames(&state(), &opts) {
            let (data, len) = m.emit().unwrap();
            let id = match m {
                Message::Alarms(_) => 0x359,
                Message::Limits(_) => 0x351,
                Message::SocSoh(_) => 0x355,
                Message::Measurements(_) => 0x356,
                Message::Request(_) => 0x35C,
                _ => 0x35E,
            };
            let back = Message::parse(id, &data[..len]).unwrap();
            assert_eq!(back, m);
            assert!(a.push(back, 0));
        }
        let s = BatteryState::try_from(a.complete(0, 10).unwrap()).unwrap();
        assert_eq!(s.charge_voltage_limit, Millivolts(53_200));
        assert_eq!(s.charge_current_limit, Milliamps(123_400));
        assert_eq!(s.discharge_current_limit, Milliamps(99_900));
        assert_eq!(s.soc, Permille(670));
        assert_eq!(s.soh, Permille(1000));
        assert_eq!(s.voltage, Millivolts(52_910));
        assert_eq!(s.current, Milliamps(-12_300));
        assert_eq!(s.temperature, DeciCelsius(231));
        assert_eq!(s.errors, Flags(Flags::HIGH_TEMPERATURE));
        assert_eq!(s.warnings, Flags(Flags::SYSTEM));
        assert!(s.charge_enable && s.discharge_enable);
        assert_eq!(s.requests.0, crate::state::Requests::FULL_CHARGE);
        assert_eq!(s.module_count, 3);
    }

    #[test]
    #[allow(clippy::many_single_char_names, reason = "short-lived test bindings")]
    fn disabled_direction_sends_zero_limit_and_extensions_follow() {
        let mut s = state();
        s.charge_enable = false;
        s.charge_voltage_limit = Millivolts(i32::MAX);
        s.discharge_current_limit = Milliamps(i32::MAX);
        let opts = EncodeOptions {
            extensions: Some(Extensions {
                capacity: MilliampHours(300_500),
                modules_offline: 1,
                blocking_charge: 2,
                blocking_discharge: 0,
            }),
            ..EncodeOptions::default()
        };
        let f = frames(&s, &opts);
        assert_eq!(f.len(), 9);
        let Message::Limits(l) = f[1] else { panic!() };
        assert_eq!(l.charge_current, Milliamps(0));
        assert_eq!(l.discharge_current, Milliamps(3_276_700));
        assert_eq!(l.charge_voltage, Millivolts(6_553_500));
        let Message::Request(r) = f[4] else { panic!() };
        assert!(!r.flags.charge_enable() && r.flags.discharge_enable());
        let Message::SmaAlarms(a) = f[6] else {
            panic!()
        };
        assert_eq!(
            a.alarm(AlarmCondition::HighTemperature),
            voltwire_pylontech::can::PairState::Active
        );
        assert_eq!(
            a.alarm(AlarmCondition::HighVoltage),
            voltwire_pylontech::can::PairState::Ok
        );
        assert_eq!(
            a.warning(AlarmCondition::InternalFailure),
            voltwire_pylontech::can::PairState::Active
        );
        let Message::BatteryInfo(b) = f[7] else {
            panic!()
        };
        assert_eq!(b.capacity, MilliampHours(300_000));
        let Message::ModuleCounts(c) = f[8] else {
            panic!()
        };
        assert_eq!((c.online, c.blocking_charge, c.offline), (3, 2, 1));
        for m in &f {
            assert!(m.emit().is_ok());
        }
    }
}
