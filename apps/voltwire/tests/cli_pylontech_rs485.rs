//! `voltwire decode pylontech-rs485` on the real captures in testdata/pylontech/rs485.

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

fn read(file: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../testdata/pylontech/rs485/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn request_pairs_with_the_following_response() {
    let mut input = read("pyl33-doc-req-0x42-adr2.bin");
    input.extend(read("up5000-resp-0x42.bin"));
    let out = voltwire(&["decode", "pylontech-rs485"], &input);
    assert!(out.status.success());
    let l = lines(&out);
    assert_eq!(l[0]["type"], "request");
    assert_eq!(l[1]["type"], "analog");
    let m = &l[1]["modules"][0];
    assert!(close(&m["current_a"], -34.8));
    assert!(close(&m["voltage_v"], 47.594));
    assert!(close(&m["temperatures_c"][0], 34.9));
    assert!(close(&m["temperatures_c"][4], 40.4));
    assert!(close(&m["remaining_capacity_ah"], 11.0));
    assert!(close(&m["total_capacity_ah"], 100.0));
    assert_eq!(m["cycles"], 1);
}

#[test]
fn all_modules_reply_with_command() {
    let out = voltwire(
        &["decode", "pylontech-rs485", "--command", "42"],
        &read("us2000-resp-0x42-all-3-modules.bin"),
    );
    let l = lines(&out);
    let ms = l[0]["modules"].as_array().unwrap();
    assert_eq!(ms.len(), 3);
    assert!(close(&ms[0]["current_a"], -2.6));
    assert!(close(&ms[1]["voltage_v"], 49.52));
    assert!(close(&ms[2]["temperatures_c"][1], 21.0));
    assert!(close(&ms[0]["remaining_capacity_ah"], 33.5));
}

#[test]
fn stack_commands_and_units() {
    let mut input = read("vevor-req-0x61-adr2.bin");
    input.extend(read("cnfw-resp-0x61.bin"));
    let l = lines(&voltwire(&["decode", "pylontech-rs485"], &input));
    assert_eq!(l[1]["type"], "system_analog");
    assert!(close(&l[1]["voltage_v"], 49.855));
    assert_eq!(l[1]["soc_pct"], 85);
    assert!(close(&l[1]["average_bms_temperature_c"], 26.1));
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485", "--command", "63"],
        &read("synthetic-kitor-resp-0x63.bin"),
    ));
    assert!(close(&l[0]["charge_current_limit_a"], 120.0));
    assert!(close(&l[0]["discharge_current_limit_a"], -120.0));
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485", "--command", "92"],
        &read("up2500-resp-0x92.bin"),
    ));
    assert!(close(&l[0]["discharge_current_limit_a"], -55.5));
    assert_eq!(
        l[0]["status"]["flags"],
        serde_json::json!(["discharge_enable", "charge_enable"])
    );
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485", "--command", "47"],
        &read("us5000-resp-0x47.bin"),
    ));
    assert!(close(&l[0]["charge_low_temperature_c"], -10.0));
    assert!(close(&l[0]["discharge_current_limit_a"], -100.0));
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485", "--command", "93"],
        &read("cnfw-resp-0x93.bin"),
    ));
    assert_eq!(l[0]["serial"], "PPTAH02401446005");
}

#[test]
fn bad_checksum_document_example_is_rejected() {
    let out = voltwire(
        &["decode", "pylontech-rs485"],
        &read("pyl33-doc-resp-0x42-bad-checksum.bin"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out)[0]["error"], "checksum");
}

#[test]
fn unpaired_response_keeps_raw_info() {
    let l = lines(&voltwire(
        &["decode", "pylontech-rs485"],
        &read("us3000-resp-0x44.bin"),
    ));
    assert_eq!(l[0]["type"], "response");
    assert!(l[0]["info_hex"].as_str().unwrap().starts_with("00020F"));
}
