//! Every capture in `testdata/pylontech/rs485/` decodes to what `expected.json` (computed
//! independently by `testdata/pylontech/rs485/tools/make_testdata.py`) says, re-emits
//! byte-exact (the slave role must answer exactly as real batteries do), and frames whose
//! checksum fails are rejected.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::format_collect,
    clippy::type_complexity,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::too_many_lines,
    clippy::cast_sign_loss,
    reason = "test code"
)]

use serde_json::Value;
use voltwire_pylontech::rs485::{
    Frame, Info, MAX_REQUEST_INFO, Request, RequestBody, Response, ResponseBody, Target,
    ZERO_CELSIUS,
};

#[path = "support/captures.rs"]
mod captures;

use captures::i;

const SUB: &str = "pylontech/rs485";

fn dir() -> String {
    captures::dir(SUB)
}

fn check_response(r: &Response, d: &Value) {
    match &r.body {
        ResponseBody::Analog(a) => {
            assert_eq!(i64::from(a.info_flag), i(&d["info_flag"]));
            assert_eq!(i64::from(a.command), i(&d["command"]));
            let ms = d["modules"].as_array().unwrap();
            assert_eq!(a.modules.len(), ms.len());
            for (m, e) in a.modules.iter().zip(ms) {
                let cells: Vec<i64> = m.cells.iter().map(|c| i64::from(c.0)).collect();
                let want: Vec<i64> = e["cells_mv"].as_array().unwrap().iter().map(i).collect();
                assert_eq!(cells, want);
                let temps: Vec<i64> = m.temperatures.iter().map(|t| i64::from(t.0)).collect();
                let want: Vec<i64> = e["temperatures_dk"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(i)
                    .collect();
                assert_eq!(temps, want);
                assert_eq!(i64::from(m.current.0), i(&e["current_ma"]));
                assert_eq!(i64::from(m.voltage.0), i(&e["voltage_mv"]));
                assert_eq!(i64::from(m.cycles), i(&e["cycles"]));
                assert_eq!(m.remaining().0, i(&e["remaining_mah"]));
                assert_eq!(m.total().0, i(&e["total_mah"]));
            }
        }
        ResponseBody::Alarm(a) => {
            assert_eq!(a.modules.len(), 1);
            let m = &a.modules[0];
            assert_eq!(m.cells.len(), d["cells"].as_array().unwrap().len());
            assert_eq!(
                m.temperatures.len(),
                d["temperatures"].as_array().unwrap().len()
            );
            let status: Vec<i64> = m.state.iter().map(|&s| i64::from(s)).collect();
            assert_eq!(
                status,
                d["status"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(i)
                    .collect::<Vec<_>>()
            );
            assert_eq!(a.trailing.len(), d["trailing"].as_array().unwrap().len());
        }
        ResponseBody::SystemParameters(p) => {
            assert_eq!(i64::from(p.cell_high_voltage.0), i(&d["cell_high_mv"]));
            assert_eq!(i64::from(p.cell_low_voltage.0), i(&d["cell_low_mv"]));
            assert_eq!(i64::from(p.cell_under_voltage.0), i(&d["cell_under_mv"]));
            assert_eq!(
                i64::from(p.charge_high_temperature.0),
                i(&d["charge_high_dk"])
            );
            assert_eq!(
                i64::from(p.charge_low_temperature.0),
                i(&d["charge_low_dk"])
            );
            assert_eq!(
                i64::from(p.charge_current_limit.0),
                i(&d["charge_current_limit_ma"])
            );
            assert_eq!(i64::from(p.module_high_voltage.0), i(&d["module_high_mv"]));
            assert_eq!(
                i64::from(p.module_under_voltage.0),
                i(&d["module_under_mv"])
            );
            assert_eq!(
                i64::from(p.discharge_current_limit.0),
                i(&d["discharge_current_limit_ma"])
            );
        }
        ResponseBody::Management {
            command,
            management: m,
        } => {
            assert_eq!(i64::from(*command), i(&d["command"]));
            check_management(m, d);
        }
        ResponseBody::SystemManagement(m) => check_management(m, d),
        ResponseBody::Serial(s) => {
            assert_eq!(s.text(), d["serial"].as_str());
            assert_eq!(i64::from(s.command), i(&d["command"]));
        }
        ResponseBody::SystemAnalog(s) => {
            assert_eq!(i64::from(s.voltage.0), i(&d["voltage_mv"]));
            assert_eq!(i64::from(s.current.0), i(&d["current_ma"]));
            assert_eq!(i64::from(s.soc_percent), i(&d["soc"]));
            assert_eq!(i64::from(s.max_cell_voltage.0), i(&d["max_cell_mv"]));
            assert_eq!(
                i64::from(s.average_cell_temperature.0),
                i(&d["cell_avg_dk"])
            );
            assert_eq!(i64::from(s.min_cell_temperature.0), i(&d["cell_min_dk"]));
            assert_eq!(
                i64::from(s.average_mosfet_temperature.0),
                i(&d["mos_avg_dk"])
            );
            assert_eq!(i64::from(s.average_bms_temperature.0), i(&d["bms_avg_dk"]));
            assert_eq!(i64::from(s.min_bms_temperature_id), i(&d["bms_min_id"]));
        }
        other => panic!("unexpected body {other:?}"),
    }
}

fn check_management(m: &voltwire_pylontech::rs485::ChargeManagement, d: &Value) {
    assert_eq!(
        i64::from(m.charge_voltage_limit.0),
        i(&d["charge_voltage_mv"])
    );
    assert_eq!(
        i64::from(m.discharge_voltage_limit.0),
        i(&d["discharge_voltage_mv"])
    );
    assert_eq!(
        i64::from(m.charge_current_limit.0),
        i(&d["charge_current_ma"])
    );
    assert_eq!(
        i64::from(m.discharge_current_limit.0),
        i(&d["discharge_current_ma"])
    );
    assert_eq!(i64::from(m.status.0), i(&d["status"]));
}

#[test]
fn every_capture_decodes_and_re_emits_byte_exact() {
    let known = |b: &RequestBody| !matches!(b, RequestBody::Other { .. });
    assert_eq!(captures::every_capture(SUB, known, check_response), 13);
}

/// One module per reply and 128 INFO bytes (`SizedResponse<1, 128>`, a tenth of the default's
/// RAM): every capture that fits decodes exactly as with the default-sized `Response`, an
/// all-modules reply of several modules stays undecoded (never cut), a longer INFO is a
/// capacity error.
#[test]
fn caller_sized_responses_read_what_fits_and_refuse_the_rest() {
    let one = |r: &Response| match &r.body {
        ResponseBody::Analog(a) => a.modules.len() <= 1,
        ResponseBody::Alarm(a) => a.modules.len() <= 1,
        _ => true,
    };
    let (same, undecoded, refused) =
        captures::caller_sized::<ResponseBody, ResponseBody<1, 128>, 128>(SUB, one);
    println!("same {same}, undecoded {undecoded}, refused {refused}");
    assert!(same > 0);
}

/// Requests at `SizedRequest<MAX_REQUEST_INFO>` (tens of bytes instead of 2 KiB): every
/// request capture decodes exactly as with the default-sized `Request`, re-emits byte-exact
/// and is answered alike; at `SizedRequest<0>` those with an INFO byte are refused with a
/// capacity error, never cut.
#[test]
fn caller_sized_requests_read_every_request() {
    let reply = Response::ok(
        2,
        ResponseBody::Undecoded {
            command: 0x42,
            info: Info::new(),
        },
    );
    let (same, refused) = captures::caller_sized_requests::<
        RequestBody,
        RequestBody<MAX_REQUEST_INFO>,
        ResponseBody,
        MAX_REQUEST_INFO,
    >(SUB, &reply);
    assert!(same > 0);
    assert_eq!(refused, 0);
    let (small, refused) =
        captures::caller_sized_requests::<RequestBody, RequestBody<0>, ResponseBody, 0>(
            SUB, &reply,
        );
    assert_eq!(small + refused, same);
    assert!(refused > 0, "{small} {refused}");
}

#[test]
fn stream_of_all_captures_in_small_chunks() {
    captures::stream_in_small_chunks(SUB);
}

#[test]
fn temperatures_use_2731() {
    let bytes = std::fs::read(format!("{}/up5000-resp-0x42.bin", dir())).unwrap();
    let r = Response::from_frame(&Frame::parse(&bytes).unwrap(), 0x42);
    let ResponseBody::Analog(a) = r.body else {
        panic!()
    };
    let t: Vec<i16> = (0..5)
        .map(|k| a.modules[0].temperature_celsius(k).unwrap().0)
        .collect();
    // Vector expectations (offset 2731): 34.9, 32.2, 32.6, 32.4, 40.4 °C.
    assert_eq!(t, [349, 322, 326, 324, 404]);
    // The offset the decoder applied, read off the capture: raw 0.1 K minus 0.1 °C is 2731
    // for every sensor, and the public constant says the same.
    let offsets: Vec<i32> = a.modules[0]
        .temperatures
        .iter()
        .zip(&t)
        .map(|(raw, celsius)| raw.0 - i32::from(*celsius))
        .collect();
    assert_eq!(offsets, [2731; 5]);
    assert_eq!(ZERO_CELSIUS, offsets[0]);
}

/// The pairing rule Pylontech shares with Pace (`voltwire_asciihex::block`), on real
/// replies: after an all-modules (0xFF) request a reply answers when its count byte equals its
/// modules (US2000, three modules) or when it carries exactly one module whatever that byte
/// says (the US5000 reply: one module, command value 2; Pylontech alone rejected this before
/// the shared layer); a one-module request wants that module.
#[test]
fn all_modules_request_pairs_by_the_shared_rule() {
    let read = |file: &str| {
        let bytes = std::fs::read(format!("{}/{file}", dir())).unwrap();
        Response::from_frame(&Frame::parse(&bytes).unwrap(), 0x42)
    };
    let all = Request::new(2, RequestBody::Analog(Target::All));
    let module = |a| Request::new(2, RequestBody::Analog(Target::Module(a)));
    let lone = read("us5000-resp-0x42.bin");
    assert!(lone.answers(&all), "one module, command value 2");
    assert!(lone.answers(&module(2)) && !lone.answers(&module(3)));
    let stack = read("us2000-resp-0x42-all-3-modules.bin");
    assert!(stack.answers(&all), "three modules, count byte 3");
    assert!(!stack.answers(&module(3)), "three modules never answer one");
    let mut short = stack.clone();
    let ResponseBody::Analog(a) = &mut short.body else {
        panic!("{short:?}")
    };
    a.modules.pop();
    assert!(!short.answers(&all), "two modules, count byte 3");
}
