//! `voltwire decode pylontech-can` on real candump captures.

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

fn voltwire(args: &[&str]) -> Output {
    common::run(args, None)
}

fn testdata(file: &str) -> String {
    format!("{}/../../testdata/{file}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn bms_gateway_inverter_capture() {
    let out = voltwire(&[
        "decode",
        "pylontech-can",
        &testdata("pylontech/can/bms-gateway-5-module-stack-inverter-0x305.log"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = lines(&out);
    assert_eq!(v.len(), 7);
    assert!(v.iter().all(|m| m["protocol"] == "pylontech-can"));
    let m = v.iter().find(|m| m["type"] == "measurements").unwrap();
    assert_eq!(m["offset"], 4);
    assert!(close(&m["voltage_v"], 52.86));
    assert!(close(&m["current_a"], -94.6));
    assert!(close(&m["temperature_c"], 21.0));
    let a = v.iter().find(|m| m["type"] == "alarms").unwrap();
    assert_eq!(a["module_count"], 5);
    assert_eq!(a["protection"]["raw"], 0);
    let r = v.iter().find(|m| m["type"] == "request").unwrap();
    assert_eq!(r["charge_enable"], true);
    assert_eq!(
        r["flags"]["flags"],
        serde_json::json!(["charge_enable", "discharge_enable"])
    );
    assert_eq!(
        v.iter().find(|m| m["type"] == "manufacturer").unwrap()["text"],
        "PYLON"
    );
    assert!(v.iter().any(|m| m["type"] == "inverter_request"));
}

#[test]
fn victron_capture_and_short_dlcs() {
    let out = voltwire(&[
        "decode",
        "pylontech-can",
        &testdata("pylontech/can/victron-gx-seplos-sma-mode-syssi-issue3.log"),
    ]);
    let v = lines(&out);
    let l = v.iter().find(|m| m["type"] == "charge_limits").unwrap();
    assert!(close(&l["charge_voltage_limit_v"], 57.9));
    assert!(close(&l["discharge_current_limit_a"], 195.0));
    assert!(close(&l["discharge_voltage_limit_v"], 46.4));
    let s = v.iter().find(|m| m["type"] == "soc_soh").unwrap();
    assert!(close(&s["soc_high_res_pct"], 60.2));
    assert_eq!(
        v.iter().find(|m| m["type"] == "bms_name").unwrap()["text"],
        "CAN-SMAR"
    );
    assert!(close(
        &v.iter().find(|m| m["type"] == "battery_info").unwrap()["capacity_ah"],
        304.0
    ));
    let out = voltwire(&[
        "decode",
        "pylontech-can",
        &testdata("pylontech/can/setfirelabs-pylontech-samples-short-dlc.log"),
    ]);
    let v = lines(&out);
    assert_eq!(v.len(), 6);
    assert!(v.iter().all(|m| m.get("error").is_none()));
    assert_eq!(v[0]["discharge_voltage_limit_v"].as_f64(), Some(46.0));
}

#[test]
fn bad_lines_are_errors() {
    let dir = voltwire_testkit::scratch_dir("pylontech-can");
    let capture = dir.join("capture");
    std::fs::write(
        &capture,
        "356#0102\n12345678#00\nnot a frame\n351#330209240924D501\n",
    )
    .unwrap();
    let out = voltwire(&["decode", "pylontech-can", capture.to_str().unwrap()]);
    let v = lines(&out);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(v[0]["error"], "bad_length");
    assert_eq!(v[1]["error"], "extended_id");
    assert_eq!(v[2]["error"], "bad_line");
    assert_eq!(v[3]["type"], "charge_limits");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn control_characters_of_a_bad_line_are_escaped_on_stderr() {
    for protocol in ["pylontech-can", "meanwell-can"] {
        let out = common::run(&["decode", protocol], Some(b"\x1b[2J\x07#00\n"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.stderr.contains(&0x1b), "{protocol}: {err:?}");
        assert!(!out.stderr.contains(&0x07), "{protocol}: {err:?}");
        assert!(err.contains("\\u{1b}[2J"), "{protocol}: {err}");
        let v = lines(&out);
        assert_eq!(v[0]["type"], "error");
        assert_eq!(v[0]["error"], "bad_line");
    }
}
