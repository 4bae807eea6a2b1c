//! The RS485 JSON shapes (feature `serde`) pinned with exact strings from real captures in
//! `testdata/pylontech/rs485/` (the numbers are the batteries' readings): capacity 2 preferred
//! over capacity 1, the BMS board temperature apart from the cell groups, the alarm reply's
//! `data_flag`, the stack and management commands.

#![cfg(feature = "serde")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use voltwire_core::DeciKelvin;
use voltwire_pylontech::rs485::{
    Frame, ModuleAnalog, Request, RequestBody, Response, ResponseBody, SizedResponse, command,
};

#[path = "support/captures.rs"]
mod captures;

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{name}", captures::dir("pylontech/rs485"))).unwrap()
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

const NORMAL: &str = r#"{"adr":2,"rtn":{"code":0,"name":"normal"},"#;

#[test]
fn us5000_analog_takes_capacity_2_and_the_board_first() {
    let wire = bytes("us5000-resp-0x42.bin");
    let r = Response::from_frame(&Frame::parse(&wire).unwrap(), command::ANALOG);
    assert_eq!(r.json_type(), "analog");
    let expected = [
        NORMAL,
        r#""command":{"code":66,"name":"analog"},"info_flag":17,"command_value":2,"#,
        r#""modules":[{"cell_voltages_v":[3.434,3.458,3.462,3.46,3.458,3.462,3.461,3.458,"#,
        r#"3.463,3.458,3.461,3.461,3.455,3.437,3.461],"bms_temperature_c":34,"#,
        r#""cell_temperatures_c":[28.9,29.7,30,30.3,29.2],"current_a":0,"voltage_v":51.849,"#,
        r#""remaining_capacity_ah":100,"total_capacity_ah":100,"cycles":0,"user_defined":4}]}"#,
    ]
    .concat();
    assert_eq!(json(&r.json()), expected);
    // The caller-sized response of one module gives the same JSON.
    let small = SizedResponse::<1, 128>::from_frame(
        &Frame::<128>::parse_sized(&wire).unwrap(),
        command::ANALOG,
    );
    assert_eq!(json(&small.json()), expected);
}

#[test]
fn us3000_alarm_has_data_flag_and_status_words() {
    let r = Response::from_frame(
        &Frame::parse(&bytes("us3000-resp-0x44.bin")).unwrap(),
        command::ALARM,
    );
    assert_eq!(r.json_type(), "alarm");
    let n = r#"{"code":0,"name":"normal"}"#;
    let expected = [
        NORMAL,
        r#""command":{"code":68,"name":"alarm"},"data_flag":0,"command_value":2,"#,
        r#""modules":[{"cell_states":["#,
        &[n; 15].join(","),
        r#"],"temperature_states":["#,
        &[n; 5].join(","),
        r#"],"charge_current_state":"#,
        n,
        r#","module_voltage_state":"#,
        n,
        r#","discharge_current_state":"#,
        n,
        r#","status_1":{"raw":0,"flags":[]},"#,
        r#""status_2":{"raw":14,"flags":["charge_fet_on","discharge_fet_on","using_battery_power"]},"#,
        r#""status_3":{"raw":0,"flags":[]},"cell_errors":[]}]}"#,
    ]
    .concat();
    assert_eq!(json(&r.json()), expected);
}

#[test]
fn management_request_and_reply_keep_the_sign_as_sent() {
    let q = Request::from_frame(&Frame::parse(&bytes("us5000-req-0x92-adr2.bin")).unwrap());
    assert_eq!(q.json_type(), "request");
    assert_eq!(
        json(&q.json()),
        r#"{"adr":2,"command":{"code":146,"name":"management"},"module":2}"#
    );
    let r = Response::from_frame(
        &Frame::parse(&bytes("up2500-resp-0x92.bin")).unwrap(),
        command::MANAGEMENT,
    );
    assert_eq!(r.json_type(), "management");
    assert_eq!(
        json(&r.json()),
        [
            NORMAL,
            r#""command":{"code":146,"name":"management"},"command_value":2,"#,
            r#""charge_voltage_limit_v":28.4,"discharge_voltage_limit_v":23.2,"#,
            r#""charge_current_limit_a":55.5,"discharge_current_limit_a":-55.5,"#,
            r#""status":{"raw":192,"flags":["discharge_enable","charge_enable"]}}"#,
        ]
        .concat()
    );
}

#[test]
fn system_analog_and_serial() {
    let r = Response::from_frame(
        &Frame::parse(&bytes("cnfw-resp-0x61.bin")).unwrap(),
        command::SYSTEM_ANALOG,
    );
    assert_eq!(r.json_type(), "system_analog");
    assert_eq!(
        json(&r.json()),
        [
            NORMAL,
            r#""command":{"code":97,"name":"system_analog"},"voltage_v":49.855,"current_a":0,"#,
            r#""soc_pct":85,"average_cycles":8,"max_cycles":8,"average_soh_pct":100,"#,
            r#""min_soh_pct":100,"max_cell_voltage_v":3.324,"max_cell_voltage_id":2,"#,
            r#""min_cell_voltage_v":3.323,"min_cell_voltage_id":2,"#,
            r#""average_cell_temperature_c":25.6,"max_cell_temperature_c":25.7,"#,
            r#""min_cell_temperature_c":25.4,"average_mosfet_temperature_c":25.3,"#,
            r#""max_mosfet_temperature_c":25.3,"min_mosfet_temperature_c":25.3,"#,
            r#""average_bms_temperature_c":26.1,"max_bms_temperature_c":26.1,"#,
            r#""min_bms_temperature_c":26.1}"#,
        ]
        .concat()
    );
    let r = Response::from_frame(
        &Frame::parse(&bytes("cnfw-resp-0x93.bin")).unwrap(),
        command::SERIAL,
    );
    assert_eq!(
        json(&r.json()),
        [
            NORMAL,
            r#""command":{"code":147,"name":"serial"},"command_value":2,"serial":"PPTAH02401446005"}"#,
        ]
        .concat()
    );
}

#[test]
fn protocol_version_is_the_frames_ver_and_odd_requests_keep_info() {
    let r = Response::ok(2, ResponseBody::ProtocolVersion);
    assert_eq!(r.json_type(), "protocol_version");
    assert_eq!(
        json(&r.json()),
        [
            NORMAL,
            r#""command":{"code":79,"name":"protocol_version"},"version":"0x20"}"#
        ]
        .concat()
    );
    let q = Request::from_frame(&Frame::new(0x20, 2, 0x46, 0x42, &[1, 2]).unwrap());
    assert!(matches!(q.body, RequestBody::Other { .. }));
    assert_eq!(
        json(&q.json()),
        r#"{"adr":2,"command":{"code":66,"name":"analog"},"info_hex":"0102"}"#
    );
}

#[test]
fn board_temperature_is_null_without_temperatures() {
    let mut a = ModuleAnalog::default();
    assert!(json(&a).contains(r#""bms_temperature_c":null,"cell_temperatures_c":[],"#));
    // 0 °C = 2731; the board alone: no cell groups.
    a.temperatures.push(DeciKelvin(2731)).unwrap();
    assert!(json(&a).contains(r#""bms_temperature_c":0,"cell_temperatures_c":[],"#));
    a.temperatures.push(DeciKelvin(2730)).unwrap();
    assert!(json(&a).contains(r#""bms_temperature_c":0,"cell_temperatures_c":[-0.1],"#));
}
