//! `voltwire decode pace` and `voltwire decode pylontech-rs485` (the ASCII-hex protocols)
//! on the real captures in testdata/pace and testdata/pylontech/rs485.

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

mod common;
use common::{close, lines};

fn voltwire(args: &[&str], stdin: &[u8]) -> Output {
    common::run(args, Some(stdin))
}

fn testdata(dir: &str, file: &str) -> Vec<u8> {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read(format!("{root}/../../testdata/{dir}/{file}")).unwrap()
}

fn pace_file(file: &str) -> Vec<u8> {
    testdata("pace", file)
}

fn pylontech_file(file: &str) -> Vec<u8> {
    testdata("pylontech/rs485", file)
}

// Pace v25.

#[test]
fn request_then_response_pair() {
    let mut input = pace_file("nk-req-0x42-pack1.bin");
    input.extend(pace_file("nk-resp-0x42-16s.bin"));
    let out = voltwire(&["decode", "pace"], &input);
    assert!(out.status.success());
    let l = lines(&out);
    assert_eq!(l.len(), 2);
    assert_eq!(l[0]["type"], "request");
    assert_eq!(l[0]["pack"], 1);
    assert_eq!(l[1]["type"], "analog");
    assert_eq!(l[1]["offset"], 20);
    let p = &l[1]["packs"][0];
    assert_eq!(p["cell_voltages_v"].as_array().unwrap().len(), 16);
    assert!(close(&p["cell_voltages_v"][0], 3.271));
    // 4 cell sensors, then MOSFET, then environment.
    assert_eq!(p["cell_temperatures_c"].as_array().unwrap().len(), 4);
    assert!(close(&p["cell_temperatures_c"][0], 24.1));
    assert!(close(&p["environment_temperature_c"], 27.4));
    assert!(p["mosfet_temperature_c"].is_number());
    assert!(p.get("temperatures_c").is_none());
    assert!(close(&p["current_a"], -2.25));
    assert!(close(&p["voltage_v"], 52.429));
    assert!(close(&p["remaining_capacity_ah"], 48.19));
    assert!(close(&p["full_capacity_ah"], 103.46));
    assert!(close(&p["design_capacity_ah"], 100.0));
    assert_eq!(p["cycles"], 140);
}

#[test]
fn command_option_and_status_flags() {
    let out = voltwire(
        &["decode", "pace", "--command", "44"],
        &pace_file("nk-resp-0x44-16s-length-004c.bin"),
    );
    let l = lines(&out);
    assert_eq!(l[0]["type"], "status");
    let p = &l[0]["packs"][0];
    assert_eq!(p["system"]["raw"], 14);
    assert_eq!(
        p["system"]["flags"],
        serde_json::json!(["charge_fet_on", "discharge_fet_on", "pack_indicate"])
    );
    let out = voltwire(
        &["decode", "pace", "--command", "DB"],
        &pace_file("nk-resp-0xdb-discharge-oc.bin"),
    );
    let l = lines(&out);
    assert!(close(&l[0]["alarm_a"], -105.0));
    assert!(close(&l[0]["protect_a"], -110.0));
}

#[test]
fn unpaired_response_is_raw_and_refusal_is_reported() {
    let out = voltwire(&["decode", "pace"], &pace_file("nk-resp-0xa6-capacity.bin"));
    let l = lines(&out);
    assert_eq!(l[0]["type"], "response");
    assert_eq!(l[0]["info_hex"], "183C286A2710");
    let mut input = pace_file("nk-req-0x9b-discharge-mosfet-off.bin");
    input.extend(pace_file("nk-resp-0x9b-rtn09-refused.bin"));
    let l = lines(&voltwire(&["decode", "pace"], &input));
    assert_eq!(l[0]["switch"]["name"], "off");
    assert_eq!(l[1]["rtn"]["code"], 9);
    assert_eq!(l[1]["rtn"]["name"], "operation_error");
}

#[test]
fn corrupt_frame_is_an_error_and_decoding_goes_on() {
    let mut input = pace_file("nk-req-0x42-pack1.bin");
    let n = input.len();
    input[n - 2] ^= 1;
    input.extend(pace_file("nk-req-0x44-pack1.bin"));
    let out = voltwire(&["decode", "pace"], &input);
    let l = lines(&out);
    assert_eq!(l[0]["error"], "checksum");
    assert_eq!(l[1]["command"]["code"], 0x44);
    assert_eq!(l[1]["offset"], 20);
}

// Pylontech RS485.

#[test]
fn request_pairs_with_the_following_response() {
    let mut input = pylontech_file("pyl33-doc-req-0x42-adr2.bin");
    input.extend(pylontech_file("up5000-resp-0x42.bin"));
    let out = voltwire(&["decode", "pylontech-rs485"], &input);
    assert!(out.status.success());
    let l = lines(&out);
    assert_eq!(l[0]["type"], "request");
    assert_eq!(l[1]["type"], "analog");
    let m = &l[1]["modules"][0];
    assert!(close(&m["current_a"], -34.8));
    assert!(close(&m["voltage_v"], 47.594));
    // The BMS board first, then the cell groups.
    assert!(close(&m["bms_temperature_c"], 34.9));
    assert!(close(&m["cell_temperatures_c"][3], 40.4));
    assert!(close(&m["remaining_capacity_ah"], 11.0));
    assert!(close(&m["total_capacity_ah"], 100.0));
    assert_eq!(m["cycles"], 1);
}

#[test]
fn all_modules_reply_with_command() {
    let out = voltwire(
        &["decode", "pylontech-rs485", "--command", "42"],
        &pylontech_file("us2000-resp-0x42-all-3-modules.bin"),
    );
    let l = lines(&out);
    let ms = l[0]["modules"].as_array().unwrap();
    assert_eq!(ms.len(), 3);
    assert!(close(&ms[0]["current_a"], -2.6));
    assert!(close(&ms[1]["voltage_v"], 49.52));
    assert!(close(&ms[2]["cell_temperatures_c"][0], 21.0));
    assert!(close(&ms[0]["remaining_capacity_ah"], 33.5));
}

#[test]
fn stack_commands_and_units() {
    let mut input = pylontech_file("vevor-req-0x61-adr2.bin");
    input.extend(pylontech_file("cnfw-resp-0x61.bin"));
    let l = lines(&voltwire(&["decode", "pylontech-rs485"], &input));
    assert_eq!(l[1]["type"], "system_analog");
    assert!(close(&l[1]["voltage_v"], 49.855));
    assert_eq!(l[1]["soc_pct"], 85);
    assert!(close(&l[1]["average_bms_temperature_c"], 26.1));
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485", "--command", "63"],
        &pylontech_file("synthetic-kitor-resp-0x63.bin"),
    ));
    assert!(close(&l[0]["charge_current_limit_a"], 120.0));
    assert!(close(&l[0]["discharge_current_limit_a"], -120.0));
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485", "--command", "92"],
        &pylontech_file("up2500-resp-0x92.bin"),
    ));
    assert!(close(&l[0]["discharge_current_limit_a"], -55.5));
    assert_eq!(
        l[0]["status"]["flags"],
        serde_json::json!(["discharge_enable", "charge_enable"])
    );
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485", "--command", "47"],
        &pylontech_file("us5000-resp-0x47.bin"),
    ));
    assert!(close(&l[0]["charge_low_temperature_c"], -10.0));
    assert!(close(&l[0]["discharge_current_limit_a"], -100.0));
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485", "--command", "93"],
        &pylontech_file("cnfw-resp-0x93.bin"),
    ));
    assert_eq!(l[0]["serial"], "PPTAH02401446005");
}

#[test]
fn bad_checksum_document_example_is_rejected() {
    let out = voltwire(
        &["decode", "pylontech-rs485"],
        &pylontech_file("pyl33-doc-resp-0x42-bad-checksum.bin"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out)[0]["error"], "checksum");
}

#[test]
fn unpaired_response_keeps_raw_info() {
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485"],
        &pylontech_file("us3000-resp-0x44.bin"),
    ));
    assert_eq!(l[0]["type"], "response");
    assert!(l[0]["info_hex"].as_str().unwrap().starts_with("00020F"));
}
