//! `voltwire decode pace` on the real captures in testdata/pace.

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
        "{}/../../testdata/pace/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn request_then_response_pair() {
    let mut input = read("nk-req-0x42-pack1.bin");
    input.extend(read("nk-resp-0x42-16s.bin"));
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
    assert!(close(&p["temperatures_c"][0], 24.1));
    assert!(close(&p["temperatures_c"][5], 27.4));
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
        &read("nk-resp-0x44-16s-length-004c.bin"),
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
        &read("nk-resp-0xdb-discharge-oc.bin"),
    );
    let l = lines(&out);
    assert!(close(&l[0]["alarm_a"], -105.0));
    assert!(close(&l[0]["protect_a"], -110.0));
}

#[test]
fn unpaired_response_is_raw_and_refusal_is_reported() {
    let out = voltwire(&["decode", "pace"], &read("nk-resp-0xa6-capacity.bin"));
    let l = lines(&out);
    assert_eq!(l[0]["type"], "response");
    assert_eq!(l[0]["info_hex"], "183C286A2710");
    let mut input = read("nk-req-0x9b-discharge-mosfet-off.bin");
    input.extend(read("nk-resp-0x9b-rtn09-refused.bin"));
    let l = lines(&voltwire(&["decode", "pace"], &input));
    assert_eq!(l[0]["switch"]["name"], "off");
    assert_eq!(l[1]["rtn"]["code"], 9);
    assert_eq!(l[1]["rtn"]["name"], "operation_error");
}

#[test]
fn corrupt_frame_is_an_error_and_decoding_goes_on() {
    let mut input = read("nk-req-0x42-pack1.bin");
    let n = input.len();
    input[n - 2] ^= 1;
    input.extend(read("nk-req-0x44-pack1.bin"));
    let out = voltwire(&["decode", "pace"], &input);
    let l = lines(&out);
    assert_eq!(l[0]["error"], "checksum");
    assert_eq!(l[1]["command"]["code"], 0x44);
    assert_eq!(l[1]["offset"], 20);
}
