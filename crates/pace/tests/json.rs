//! The JSON shapes (feature `serde`) pinned with exact strings: real captures from
//! `testdata/pace/` (the numbers are the device's readings), the temperature layout at its
//! edges, and the caller-sized response giving the same JSON as the default one.

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

use voltwire_core::{DeciKelvin, MilliampHours, Milliamps, Millivolts};
use voltwire_pace::{Frame, PackAnalog, Request, Response, ResponseBody, SizedResponse, command};

#[path = "support/captures.rs"]
mod captures;

fn capture(name: &str) -> Frame {
    let bytes = std::fs::read(format!("{}/{name}", captures::dir("pace"))).unwrap();
    Frame::parse(&bytes).unwrap()
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

#[test]
fn analog_reply_of_a_16s_pack() {
    let r = Response::from_frame(&capture("nk-resp-0x42-16s.bin"), command::ANALOG);
    assert_eq!(r.json_type(), "analog");
    assert_eq!(
        json(&r.json()),
        concat!(
            r#"{"adr":1,"rtn":{"code":0,"name":"normal"},"command":{"code":66,"name":"analog"},"#,
            r#""info_flag":0,"command_value":1,"packs":[{"cell_voltages_v":[3.271,3.272,3.271,"#,
            r#"3.271,3.271,3.269,3.27,3.271,3.271,3.27,3.271,3.27,3.27,3.271,3.27,3.271],"#,
            r#""cell_temperatures_c":[24.1,23.9,23.9,23.9],"mosfet_temperature_c":26.5,"#,
            r#""environment_temperature_c":27.4,"current_a":-2.25,"voltage_v":52.429,"#,
            r#""remaining_capacity_ah":48.19,"full_capacity_ah":103.46,"cycles":140,"#,
            r#""design_capacity_ah":100}]}"#
        )
    );
    // One pack and 128 INFO bytes: the same JSON.
    let bytes = std::fs::read(format!("{}/nk-resp-0x42-16s.bin", captures::dir("pace"))).unwrap();
    let small = SizedResponse::<1, 128>::from_frame(
        &Frame::<128>::parse_sized(&bytes).unwrap(),
        command::ANALOG,
    );
    assert_eq!(json(&small.json()), json(&r.json()));
}

#[test]
fn status_reply_names_warnings_and_state_bits() {
    let r = Response::from_frame(
        &capture("nk-resp-0x44-16s-length-004c.bin"),
        command::STATUS,
    );
    assert_eq!(r.json_type(), "status");
    let normal = r#"{"code":0,"name":"normal"}"#;
    let cells = [normal; 16].join(",");
    let temps = [normal; 6].join(",");
    let empty = r#"{"raw":0,"flags":[]}"#;
    assert_eq!(
        json(&r.json()),
        format!(
            concat!(
                r#"{{"adr":1,"rtn":{n},"command":{{"code":68,"name":"status"}},"info_flag":0,"#,
                r#""command_value":1,"packs":[{{"cell_warnings":[{c}],"#,
                r#""temperature_warnings":[{t}],"charge_current_warning":{n},"#,
                r#""voltage_warning":{n},"discharge_current_warning":{n},"protect_1":{e},"#,
                r#""protect_2":{e},"system":{{"raw":14,"flags":["charge_fet_on","#,
                r#""discharge_fet_on","pack_indicate"]}},"control":{e},"fault":{e},"#,
                r#""balancing_cells":[],"warn_1":{e},"warn_2":{e}}}]}}"#
            ),
            n = normal,
            c = cells,
            t = temps,
            e = empty
        )
    );
}

#[test]
fn requests_and_config_replies() {
    let q = Request::from_frame(&capture("nk-req-0xd0-write-cell-ov.bin"));
    assert_eq!(q.json_type(), "request");
    assert_eq!(
        json(&q.json()),
        concat!(
            r#"{"adr":0,"command":{"code":208,"name":"write_cell_over_voltage"},"#,
            r#""alarm_v":3.6,"protect_v":3.7,"release_v":3.38,"delay_s":1}"#
        )
    );
    let q = Request::from_frame(&capture("nk-req-0x9a-charge-mosfet-on.bin"));
    assert_eq!(
        json(&q.json()),
        r#"{"adr":0,"command":{"code":154,"name":"charge_mosfet"},"switch":{"code":0,"name":"on"}}"#
    );
    // Discharge limits read back negative, as sent.
    let r = Response::from_frame(
        &capture("nk-resp-0xdb-discharge-oc.bin"),
        command::READ_DISCHARGE_OVER_CURRENT,
    );
    assert_eq!(r.json_type(), "current_protection");
    assert_eq!(
        json(&r.json()),
        concat!(
            r#"{"adr":0,"rtn":{"code":0,"name":"normal"},"#,
            r#""command":{"code":219,"name":"read_discharge_over_current"},"#,
            r#""alarm_a":-105,"protect_a":-110,"delay_s":1}"#
        )
    );
    // Space padding dropped.
    let r = Response::from_frame(
        &capture("nk-resp-0xc1-version.bin"),
        command::SOFTWARE_VERSION,
    );
    assert_eq!(
        json(&r.json()),
        concat!(
            r#"{"adr":1,"rtn":{"code":0,"name":"normal"},"#,
            r#""command":{"code":193,"name":"software_version"},"version":"P16S100A-1812-1.00"}"#
        )
    );
}

#[test]
fn a_refusal_keeps_its_info() {
    let f = capture("nk-resp-0x9b-rtn09-refused.bin");
    let r = Response::from_frame(&f, command::DISCHARGE_MOSFET);
    assert_eq!(r.json_type(), "response");
    assert_eq!(
        json(&r.json()),
        concat!(
            r#"{"adr":0,"rtn":{"code":9,"name":"operation_error"},"#,
            r#""command":{"code":155,"name":"discharge_mosfet"},"info_hex":"04"}"#
        )
    );
    // Without the command it answers: the frame alone.
    assert_eq!(
        json(&f.reply_json()),
        r#"{"adr":0,"rtn":{"code":9,"name":"operation_error"},"info_hex":"04"}"#
    );
}

/// The temperatures of a pack with `t` values (0.1 K, 0 °C = 2730) as JSON.
fn temperatures(t: &[i32]) -> String {
    let mut a = PackAnalog::default();
    for &k in t {
        a.temperatures.push(DeciKelvin(k)).unwrap();
    }
    a.cells.push(Millivolts(3_300)).unwrap();
    a.current = Milliamps(0);
    a.remaining_capacity = MilliampHours(1);
    let s = json(&a);
    let from = s.find("\"cell_temperatures_c\"").unwrap();
    let to = s.find(",\"current_a\"").unwrap();
    s[from..to].to_owned()
}

#[test]
fn mosfet_and_environment_are_the_last_two_of_three_or_more() {
    assert_eq!(temperatures(&[]), r#""cell_temperatures_c":[]"#);
    // Two values: both cell sensors (no roles without a third).
    assert_eq!(
        temperatures(&[2730, 2981]),
        r#""cell_temperatures_c":[0,25.1]"#
    );
    assert_eq!(
        temperatures(&[2729, 2981, 3000]),
        concat!(
            r#""cell_temperatures_c":[-0.1],"mosfet_temperature_c":25.1,"#,
            r#""environment_temperature_c":27"#
        )
    );
    // Out of the °C range (0xFFFF − 2730 > i16::MAX): null, its place kept.
    assert_eq!(
        temperatures(&[65_535, 2730, 2731, 65_535]),
        concat!(
            r#""cell_temperatures_c":[null,0],"mosfet_temperature_c":0.1,"#,
            r#""environment_temperature_c":null"#
        )
    );
}

#[test]
fn undecoded_bodies_give_hex_and_the_header() {
    let r = Response::ok(
        3,
        ResponseBody::Undecoded {
            command: 0x77,
            info: voltwire_pace::Info::from_slice(&[0xAB, 0x01]).unwrap(),
        },
    );
    assert_eq!(
        json(&r.json()),
        r#"{"adr":3,"rtn":{"code":0,"name":"normal"},"command":{"code":119,"name":null},"info_hex":"AB01"}"#
    );
}
