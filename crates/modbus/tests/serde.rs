//! The JSON shapes of the device maps (feature `serde`), pinned as exact strings from
//! register blocks: every quantity the exact decimal of its register, no float noise.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, reason = "test code")]

use voltwire_core::Watts;
use voltwire_modbus::{coulomb_meter, lumentree, trucki};

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

#[test]
fn coulomb_meter_status_settings_and_charge_level() {
    // 80 %, 23 °C, 26.54 V, 12.34 A discharging, 327.4 W, 1234.56 Wh, 192000 mAh, alarm
    // word 0x8005.
    let regs = [
        80, 23, 2654, 1234, 0, 3274, 0x0001, 0xE240, 0x0002, 0xEE00, 0x8005, 1,
    ];
    let s = coulomb_meter::Status::from_registers(&regs).unwrap();
    assert_eq!(
        json(&s),
        r#"{"soc_pct":80,"temperature_c":23,"voltage_v":26.54,"current_a":-12.34,"power_w":-327.4,"energy_wh":1234.56,"remaining_ah":192,"alarm_flags":{"raw":32773,"flags":["bit_0","bit_2","bit_15"]},"state":{"code":1,"name":"discharging"}}"#
    );
    // Charging: the same magnitudes with a positive sign; an unknown state keeps its code.
    let mut charging = regs;
    charging[10] = 0;
    charging[11] = 2;
    let c = coulomb_meter::Status::from_registers(&charging).unwrap();
    let text = json(&c);
    assert!(
        text.contains(r#""current_a":12.34,"power_w":327.4,"#),
        "{text}"
    );
    assert!(
        text.contains(r#""alarm_flags":{"raw":0,"flags":[]},"state":{"code":2,"name":"charging"}"#),
        "{text}"
    );
    charging[11] = 7;
    let u = coulomb_meter::Status::from_registers(&charging).unwrap();
    assert!(json(&u).ends_with(r#""state":{"code":7,"name":null}}"#));

    // Address 1, 240 Ah, 29.2 / 20 / 30 V, 150.5 A, 65 °C, 21.5 V, 10 %.
    let regs = [1, 0x0003, 0xA980, 2920, 2000, 3000, 15050, 65, 2150, 10];
    let st = coulomb_meter::Settings::from_registers(&regs).unwrap();
    assert_eq!(
        json(&st),
        r#"{"address":1,"capacity_ah":240,"full_voltage_v":29.2,"empty_voltage_v":20,"over_voltage_v":30,"over_current_a":150.5,"over_temperature_c":65,"under_voltage_v":21.5,"low_soc_pct":10}"#
    );

    assert_eq!(
        json(&coulomb_meter::SetChargeLevel::Full),
        r#"{"code":15,"name":"full"}"#
    );
    assert_eq!(
        json(&coulomb_meter::SetChargeLevel::Empty),
        r#"{"code":0,"name":"empty"}"#
    );
    assert_eq!(
        json(&coulomb_meter::SetChargeLevel::Other(3)),
        r#"{"code":3,"name":null}"#
    );
}

#[test]
fn lumentree_status_and_set_point() {
    // 230.4 V, 41.5 °C, 412.7 W, 51.2 V; a negative temperature register (-0.5 °C).
    let s = lumentree::Status::from_registers(&[2304, 415, 4127, 512]).unwrap();
    assert_eq!(
        json(&s),
        r#"{"grid_voltage_v":230.4,"temperature_c":41.5,"output_power_w":412.7,"battery_voltage_v":51.2}"#
    );
    let cold = lumentree::Status::from_registers(&[2300, 0xFFFB, 0, 480]).unwrap();
    assert_eq!(
        json(&cold),
        r#"{"grid_voltage_v":230,"temperature_c":-0.5,"output_power_w":0,"battery_voltage_v":48}"#
    );
    let set = lumentree::SetOutputPower::new(Watts(2000)).unwrap();
    assert_eq!(json(&set), r#"{"set_point_w":2000}"#);
}

#[test]
fn trucki_status_and_set_point() {
    // Set point 150.5 W (mirror equal), output 149.9 W, 230.1 V grid, 52.8 V battery,
    // DAC 1234, calibration 0, temperature register 310 (no scale known: raw).
    let regs = [1505, 1499, 2301, 528, 1234, 0, 1505, 310];
    let s = trucki::Status::from_registers(&regs).unwrap();
    assert_eq!(
        json(&s),
        r#"{"set_point_w":150.5,"output_power_w":149.9,"grid_voltage_v":230.1,"battery_voltage_v":52.8,"dac":1234,"calibration":0,"set_point_mirror_w":150.5,"temperature_raw":310}"#
    );
    // Register maximum: 6553.5 W.
    assert_eq!(
        json(&trucki::SetPower::from_register(u16::MAX)),
        r#"{"set_point_w":6553.5}"#
    );
    assert_eq!(
        json(&trucki::SetPower::new(Watts(0)).unwrap()),
        r#"{"set_point_w":0}"#
    );
}
