//! `voltwire decode jk` and `voltwire decode jk-pb` on the real captures in `testdata/jk/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::format_collect,
    clippy::type_complexity,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::case_sensitive_file_extension_comparisons,
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
    format!("{}/../../testdata/jk/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn volts(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn fourteen_cell_reply() {
    let out = voltwire(
        &[
            "decode",
            "jk",
            &testdata("reply-14s-v1-syssi-protocol-design.bin"),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    assert_eq!(objs.len(), 1);
    let r = &objs[0];
    assert_eq!(r["protocol"], "jk");
    assert_eq!(r["type"], "read_all_reply");
    assert_eq!(r["offset"], 0);
    assert_eq!(
        volts(&r["cell_voltages_v"]),
        [
            3.821, 3.834, 3.831, 3.82, 3.832, 3.834, 3.825, 3.832, 3.811, 3.834, 3.825, 3.835,
            3.835, 3.826
        ]
    );
    assert_eq!(r["mosfet_temperature_c"], 29);
    assert_eq!(r["temperatures_c"], serde_json::json!([30, 28]));
    assert!(close(&r["pack_voltage_v"], 53.59));
    assert!(close(&r["current_a"], 2.08)); // charging: positive
    assert_eq!(r["current_encoding"], "sign_bit");
    assert_eq!(r["soc_pct"], 15);
    assert_eq!(r["cycle_count"], 4);
    assert_eq!(
        r["status"]["flags"],
        serde_json::json!(["charge_mos_on", "discharge_mos_on", "balancer_on"])
    );
    assert!(close(&r["pack_over_voltage_protection_v"], 56.7));
    assert!(close(&r["cell_over_voltage_protection_v"], 4.05));
    assert!(close(&r["cell_under_voltage_protection_v"], 3.05));
    assert!(close(&r["discharge_over_current_protection_a"], 7.0));
    assert_eq!(r["charge_low_temperature_c"], -20);
    assert!(close(&r["capacity_setting_ah"], 14.0));
    assert!(close(&r["current_calibration_a"], 1.041));
    assert_eq!(r["battery_type"]["name"], "ternary");
    assert_eq!(r["password"], "123456");
    assert_eq!(r["device_id"], "Input Us");
    assert_eq!(r["runtime_s"], 57_856 * 60);
    assert_eq!(r["software_version"], "H6.X__S6.1.3S__");
    assert_eq!(r["manufacturer_id"], "BT3072020120000200521001");
    assert_eq!(r["protocol_version"], 1);
}

#[test]
fn sixteen_cell_reply_discharging() {
    let out = voltwire(
        &[
            "decode",
            "jk",
            &testdata("reply-16s-lfp-bd6a17s6p-fw710h.bin"),
        ],
        None,
    );
    let r = &lines(&out)[0];
    assert_eq!(r["cell_voltages_v"].as_array().unwrap().len(), 16);
    assert!(close(&r["current_a"], -0.69));
    assert!(close(&r["pack_voltage_v"], 51.21));
    assert!(close(&r["total_cycle_capacity_ah"], 1280.0));
    assert_eq!(r["software_version"], "H7.X__S7.1.0H__");
}

#[test]
fn request_and_reply_exchange() {
    let objs = lines(&voltwire(
        &[
            "decode",
            "jk",
            &testdata("exchange-13s-b2a24s20p-fw1007.bin"),
        ],
        None,
    ));
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["type"], "read_all_request");
    assert_eq!(objs[0]["data_id"], "0x00");
    assert_eq!(objs[1]["type"], "read_all_reply");
    assert_eq!(objs[1]["offset"], 21);
    assert_eq!(objs[1]["cell_voltages_v"].as_array().unwrap().len(), 13);
    assert_eq!(objs[1]["soc_pct"], 94);
    assert_eq!(objs[1]["software_version"], "10.XW_S10.07___");
}

#[test]
fn bad_checksums_are_errors_and_exit_1() {
    for (file, found) in [
        ("reply-20s-vendor-example-bad-checksum.bin", "0x4923"),
        ("write-charge-mos-off-pr343-bad-checksum.bin", "0x0168"),
    ] {
        let out = voltwire(&["decode", "jk", &testdata(file)], None);
        assert_eq!(out.status.code(), Some(1), "{file}");
        let objs = lines(&out);
        assert_eq!(objs.len(), 1, "{file}");
        assert_eq!(objs[0]["error"], "checksum");
        assert_eq!(objs[0]["checksum"], found);
    }
}

#[test]
fn hex_stdin_with_garbage_between_frames() {
    let a = std::fs::read(testdata("read-all-request-syssi.bin")).unwrap();
    let b = std::fs::read(testdata("reply-7s-b1a8s20p-fw1151-kenura.bin")).unwrap();
    let mut stream = b"\x4e\x00garbage".to_vec();
    stream.extend_from_slice(&a);
    stream.extend_from_slice(b"\xff\x4e\x57\x00");
    stream.extend_from_slice(&b);
    let hex: String = stream.iter().map(|x| format!("{x:02X} ")).collect();
    let out = voltwire(&["decode", "jk", "--hex", "-"], Some(hex.as_bytes()));
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    let offsets: Vec<_> = objs.iter().map(|o| o["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, [9, 34]);
    assert_eq!(objs[1]["cell_voltages_v"].as_array().unwrap().len(), 7);
    assert!(close(&objs[1]["pack_voltage_v"], 26.58));
}

#[test]
fn jk_pb_status_blocks() {
    let out = voltwire(
        &[
            "decode",
            "jk-pb",
            &testdata("pb-block-status-b2a8s20p-fw1117-ble-2.bin"),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    assert_eq!(objs.len(), 1);
    let r = &objs[0];
    assert_eq!(r["protocol"], "jk-pb");
    assert_eq!(r["type"], "status");
    assert_eq!(
        volts(&r["cell_voltages_v"]),
        [3.215, 3.285, 3.231, 3.295, 3.296, 3.213, 3.215, 3.296]
    );
    assert!(close(&r["pack_voltage_v"], 26.045));
    assert!(close(&r["current_a"], 0.0));
    assert_eq!(r["soc_pct"], 100);
    assert!(close(&r["mosfet_temperature_c"], 30.9));
    assert_eq!(volts(&r["temperatures_c"]), [28.3, 29.5]);
    assert_eq!(
        r["alarms"]["flags"],
        serde_json::json!(["cell_over_voltage"])
    );
    assert_eq!(r["charge_mos"], false);
    assert_eq!(r["discharge_mos"], true);
    assert!(close(&r["full_charge_capacity_ah"], 60.0));
}

#[test]
fn jk_pb_bus_with_trigger_and_ack() {
    let block = std::fs::read(testdata("pb-block-status-b2a8s20p-fw1117-ble-1.bin")).unwrap();
    let mut bus = vec![
        0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x02, 0x00, 0x00, 0xD6, 0xF1,
    ];
    bus.extend_from_slice(&block);
    bus.push(0x00);
    bus.extend_from_slice(&[0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x04, 0x4B]);
    let out = voltwire(&["decode", "jk-pb"], Some(&bus));
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    let types: Vec<_> = objs.iter().map(|o| o["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["trigger_request", "status", "write_ack"]);
    assert_eq!(objs[0]["trigger"], "status");
    assert_eq!(objs[0]["address"], 1);
    assert_eq!(objs[2]["offset"], 312);
    assert!(close(&objs[1]["pack_voltage_v"], 26.381));
}

#[test]
fn jk_pb_bad_block_checksum() {
    let mut block = std::fs::read(testdata("pb-block-status-b2a8s20p-fw1117-ble-1.bin")).unwrap();
    block[299] ^= 0xFF;
    let out = voltwire(&["decode", "jk-pb"], Some(&block));
    assert_eq!(out.status.code(), Some(1));
    let objs = lines(&out);
    assert_eq!(objs[0]["error"], "checksum");
    assert_eq!(objs[0]["offset"], 0);
}
