//! Annotated real frames: parse, then emit gives the same bytes back.
#![allow(
    clippy::many_single_char_names,
    reason = "one letter per message in a test"
)]

use super::*;
use crate::can::{AlarmCondition, CanMessage, PairState};
use voltwire_core::{
    DeciCelsius, DeciKelvin, EncodeError, MilliampHours, Milliamps, Millivolts, Permille, WattHours,
};

fn rt<M: CanMessage + core::fmt::Debug + PartialEq>(data: &[u8]) -> M {
    let m = M::parse(data).unwrap();
    let (out, len) = m.emit().unwrap();
    assert_eq!(&out[..len], data);
    m
}

#[test]
fn limits_bms_gateway() {
    // 33 02 = 563 -> 56.3 V | 09 24 = 9225 -> 922.5 A | 09 24 | D5 01 = 469 -> 46.9 V
    let m: ChargeLimits = rt(&[0x33, 0x02, 0x09, 0x24, 0x09, 0x24, 0xD5, 0x01]);
    assert_eq!(m.charge_voltage, Millivolts(56_300));
    assert_eq!(m.charge_current, Milliamps(922_500));
    assert_eq!(m.discharge_voltage, Some(Millivolts(46_900)));
    // 6-byte form (bms_gateway's output)
    let m: ChargeLimits = rt(&[0x33, 0x02, 0x09, 0x24, 0x09, 0x24]);
    assert_eq!(m.discharge_voltage, None);
    // negative DCL (0xFF9C = -100 -> -10.0 A) as diyBMS emitted it
    let m: ChargeLimits = rt(&[0x44, 0x02, 0x64, 0x00, 0x9C, 0xFF, 0x3F, 0x02]);
    assert_eq!(m.discharge_current, Milliamps(-10_000));
    assert!(ChargeLimits::parse(&[0; 7]).is_err());
}

#[test]
fn measurements_inverter_dump() {
    // A6 14 = 5286 -> 52.86 V | 4E FC = -946 -> -94.6 A | D2 00 = 210 -> 21.0 °C | 00 00
    let m: Measurements = rt(&[0xA6, 0x14, 0x4E, 0xFC, 0xD2, 0x00, 0x00, 0x00]);
    assert_eq!(m.voltage, Millivolts(52_860));
    assert_eq!(m.current, Milliamps(-94_600));
    assert_eq!(m.temperature, DeciCelsius(210));
    assert_eq!(m.extra, Some(0));
}

#[test]
fn soc_alarms_request() {
    let m: SocSoh = rt(&[0x50, 0, 0x64, 0, 0, 0, 0, 0]);
    assert_eq!((m.soc, m.soh), (Permille(800), Permille(1000)));
    let m: SocSoh = rt(&[0x1A, 0, 0x64, 0]);
    assert_eq!(m.soc_high_res, None);
    let a: Alarms = rt(&[0, 0, 0, 0, 5, b'P', b'N', 0]);
    assert_eq!((a.module_count, &a.tag), (5, b"PN"));
    let a: Alarms = rt(&[0, 0, 0, 0, 0x0A, b'P', b'N']);
    assert_eq!(a.reserved, None);
    let r: Request = rt(&[0xC0, 0]);
    assert!(r.flags.charge_enable() && r.flags.discharge_enable());
    let _: Request = rt(&[0xC0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(Request::parse(&[]).is_err());
}

#[test]
fn victron_extensions() {
    let c: CellExtremes = rt(&[0xD8, 0x0C, 0xF1, 0x0C, 0x22, 0x01, 0x2A, 0x01]);
    assert_eq!(c.min_cell_voltage, Millivolts(3288));
    assert_eq!(c.min_cell_temperature, DeciKelvin(2900));
    let s: SmaAlarms = rt(&[0xAA, 0xAA, 0xAA, 0x02, 0xAA, 0xAA, 0xAA, 0x02]);
    assert_eq!(s.alarm(AlarmCondition::General), PairState::Ok);
    assert_eq!(s.alarm(AlarmCondition::CellImbalance), PairState::Ok);
    assert_eq!(s.active_alarms().count(), 0);
    let b: BatteryInfo = rt(&[0, 0, 0x10, 0x04, 0x30, 0x01, 0, 0]);
    assert_eq!(b.capacity, MilliampHours(304_000));
    let n: BmsName = rt(b"CAN-SMAR");
    assert_eq!(n.text(), Some("CAN-SMAR"));
    let m: Manufacturer = rt(b"PYLON\0\0\0");
    assert_eq!(m.text(), Some("PYLON"));
    let h: InverterHandshake = rt(&[0x12, 0x34, 0x56, 0x78, 0x56, 0x49, 0x43, 0]);
    assert!(h.is_victron());
    let e: Energy = rt(&[10, 0, 0, 0, 20, 0, 0, 0]);
    assert_eq!(e.charged, WattHours(1000));
    let i: InstalledCapacity = rt(&[0x30, 0x01]);
    assert_eq!(i.capacity, MilliampHours(304_000));
}

#[test]
fn emit_checks_precision() {
    let m = ChargeLimits {
        charge_voltage: Millivolts(56_301),
        charge_current: Milliamps(0),
        discharge_current: Milliamps(0),
        discharge_voltage: None,
    };
    assert_eq!(m.emit(), Err(EncodeError::Precision { field: "cvl" }));
}
