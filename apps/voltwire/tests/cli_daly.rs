//! `voltwire decode daly` on the real captures in `testdata/daly/`: values, assembled
//! multi-frame replies, errors and exit status.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::process::Output;

use serde_json::Value;

mod common;
use common::{close, lines};

fn voltwire(args: &[&str], stdin: Option<&[u8]>) -> Output {
    common::run(args, stdin)
}

fn testdata(file: &str) -> String {
    format!("{}/../../testdata/daly/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn one(file: &str) -> Value {
    let out = voltwire(&["decode", "daly", &testdata(file)], None);
    assert!(out.status.success(), "{out:?}");
    let mut objs = lines(&out);
    assert_eq!(objs.len(), 1, "{objs:?}");
    let o = objs.remove(0);
    assert_eq!(o["protocol"], "daly");
    assert_eq!(o["offset"], 0);
    o
}

#[test]
fn pack_status_captures() {
    for (file, v, raw, a, soc) in [
        ("mal-readme-pack-status-57v0.bin", 57.0, 30000, 0.0, 49.3),
        ("esphome-12445-pack-status-13v0.bin", 13.0, 30000, 0.0, 49.9),
        ("mppsolar-pack-status-53v2.bin", 53.2, 30021, -2.1, 88.8),
        ("mppsolar-pack-status-26v5.bin", 26.5, 30159, -15.9, 77.8),
    ] {
        let o = one(file);
        assert_eq!(o["type"], "pack_status", "{file}");
        assert_eq!(o["direction"], "response");
        assert!(close(&o["voltage_v"], v), "{file}: {o}");
        assert!(close(&o["acquired_voltage_v"], 0.0), "{file}");
        assert_eq!(o["current_raw"], raw, "{file}");
        assert!(close(&o["current_a"], a), "{file}: {o}");
        assert!(close(&o["soc_pct"], soc), "{file}: {o}");
    }
}

#[test]
fn other_responses() {
    let t = one("mppsolar-temperature-range.bin");
    assert_eq!(t["type"], "temperature_range");
    assert!(close(&t["max_temperature_c"], 15.0));
    assert!(close(&t["min_temperature_c"], 15.0));
    assert_eq!(t["max_sensor"], 1);

    let m = one("mppsolar-mosfet-status.bin");
    assert_eq!(m["type"], "mosfet_status");
    assert_eq!(m["state"]["code"], 2);
    assert_eq!(m["state"]["name"], "discharging");
    assert_eq!(m["charge_mosfet"], true);
    assert_eq!(m["discharge_mosfet"], true);
    assert_eq!(m["bms_life"], 120);
    assert!(close(&m["remaining_capacity_ah"], 248.64));

    let s = one("mppsolar-status-info-16s.bin");
    assert_eq!(s["type"], "status_info");
    assert_eq!(s["cell_count"], 16);
    assert_eq!(s["temperature_sensor_count"], 1);
    assert_eq!(s["cycles"], 3);
    assert_eq!(s["dio"]["raw"], 0);
}

#[test]
fn requests() {
    let r = one("esphome-12445-request-0x91-host40.bin");
    assert_eq!(r["type"], "cell_voltage_range");
    assert_eq!(r["direction"], "request");
    assert_eq!(r["address"], 0x40);
    let r = one("mppsolar-113-request-0x63-host40.bin");
    assert_eq!(r["type"], "hardware_version");
    assert_eq!(r["direction"], "request");
}

#[test]
fn temperatures_assembled_into_one_object() {
    let t = one("mppsolar-temperatures-2-frames.bin");
    assert_eq!(t["type"], "temperatures");
    assert_eq!(t["frames"], 2);
    assert_eq!(t["temperatures_c"].as_array().unwrap().len(), 1);
    assert!(close(&t["temperatures_c"][0], 15.0));
}

#[test]
fn session_uses_status_counts_and_resyncs() {
    let out = voltwire(
        &[
            "decode",
            "daly",
            &testdata("mppsolar-session-status-noise-temperatures.bin"),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    assert_eq!(objs.len(), 2, "{objs:?}");
    assert_eq!(objs[0]["type"], "status_info");
    assert_eq!(objs[1]["type"], "temperatures");
    assert_eq!(objs[1]["offset"], 17);
    assert_eq!(objs[1]["count"], 1);
    assert_eq!(objs[1]["missing_frames"].as_array().unwrap().len(), 0);
    assert_eq!(objs[1]["temperatures_c"], serde_json::json!([15]));
}

#[test]
fn cell_voltages_assembled_from_hex() {
    // Three 0x95 frames of a 7-cell pack built from the notes' layout (no real capture).
    let mut frames = String::new();
    for (n, cells) in [
        (1u8, [3300u16, 3301, 3302]),
        (2, [3303, 3304, 3305]),
        (3, [3306, 0, 0]),
    ] {
        let mut f = vec![0xA5, 0x01, 0x95, 0x08, n];
        for c in cells {
            f.extend_from_slice(&c.to_be_bytes());
        }
        f.push(0);
        f.push(f.iter().fold(0u8, |a, b| a.wrapping_add(*b)));
        frames.extend(f.iter().map(|b| format!("{b:02X} ")));
    }
    let out = voltwire(&["decode", "daly", "--hex"], Some(frames.as_bytes()));
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    assert_eq!(objs.len(), 1, "{objs:?}");
    assert_eq!(objs[0]["type"], "cell_voltages");
    assert_eq!(objs[0]["frames"], 3);
    let v: Vec<f64> = objs[0]["cell_voltages_v"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(v, [3.3, 3.301, 3.302, 3.303, 3.304, 3.305, 3.306]);
}

#[test]
fn corrupted_frame_is_an_error_and_decoding_goes_on() {
    let mut bytes = std::fs::read(testdata("mal-readme-pack-status-57v0.bin")).unwrap();
    bytes[12] ^= 0xFF;
    bytes.extend(std::fs::read(testdata("mppsolar-pack-status-53v2.bin")).unwrap());
    let out = voltwire(&["decode", "daly"], Some(&bytes));
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    assert_eq!(objs.len(), 2, "{objs:?}");
    assert_eq!(objs[0]["error"], "checksum");
    assert_eq!(objs[0]["offset"], 0);
    assert_eq!(objs[1]["type"], "pack_status");
    assert_eq!(objs[1]["offset"], 13);
    assert!(!out.stderr.is_empty());
}
