//! Every capture in `testdata/pace/` decodes to what `expected.json` (computed independently
//! by `testdata/pace/tools/make_testdata.py`) says and re-emits byte-exact; requests decode
//! to the commands the captures' notes name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines,
    clippy::format_collect,
    reason = "test code"
)]

use serde_json::Value;
use voltwire_core::{DeciKelvin, MilliampHours, Milliamps, Millivolts};
use voltwire_pace::{
    BalanceConfig, Frame, FullChargeConfig, MAX_REQUEST_INFO, MosfetSwitch, Request, RequestBody,
    Response, ResponseBody, Rtn, Target, VoltageKind, VoltageProtection, ZERO_CELSIUS,
};

#[path = "support/captures.rs"]
mod captures;

use captures::i;

const SUB: &str = "pace";

fn dir() -> String {
    captures::dir(SUB)
}

fn frame(name: &str) -> Frame {
    Frame::parse(&std::fs::read(format!("{}/{name}.bin", dir())).unwrap()).unwrap()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(i).collect()
}

fn check(r: &Response, d: &Value) {
    match &r.body {
        ResponseBody::Analog(a) => {
            assert_eq!(i64::from(a.command), i(&d["command"]));
            let ps = d["packs"].as_array().unwrap();
            assert_eq!(a.modules.len(), ps.len());
            for (p, e) in a.modules.iter().zip(ps) {
                let cells: Vec<i64> = p.cells.iter().map(|c| i64::from(c.0)).collect();
                assert_eq!(cells, ints(&e["cells_mv"]));
                let t: Vec<i64> = p.temperatures.iter().map(|t| i64::from(t.0)).collect();
                assert_eq!(t, ints(&e["temperatures_dk"]));
                assert_eq!(i64::from(p.current.0), i(&e["current_ma"]));
                assert_eq!(i64::from(p.voltage.0), i(&e["voltage_mv"]));
                assert_eq!(p.remaining_capacity.0, i(&e["remaining_mah"]));
                assert_eq!(p.full_capacity.0, i(&e["full_mah"]));
                assert_eq!(i64::from(p.cycles), i(&e["cycles"]));
                assert_eq!(p.extension.map(|d| d.0), e["design_mah"].as_i64());
            }
        }
        ResponseBody::Status(s) => {
            let p = &s.modules[0];
            assert_eq!(s.modules.len(), 1);
            assert_eq!(p.cells.len(), d["cells"].as_array().unwrap().len());
            assert_eq!(
                p.temperatures.len(),
                d["temperatures"].as_array().unwrap().len()
            );
            assert_eq!(i64::from(p.state.system.0), i(&d["system"]));
            assert_eq!(i64::from(p.state.protect_1.0), i(&d["protect_1"]));
            assert_eq!(i64::from(p.state.warn_2.0), i(&d["warn_2"]));
            assert!(s.trailing.is_empty());
        }
        ResponseBody::SoftwareVersion(v) => {
            assert_eq!(v.as_slice(), d["text"].as_str().unwrap().as_bytes());
        }
        ResponseBody::ControlState { state, .. } => assert_eq!(i64::from(*state), i(&d["state"])),
        ResponseBody::Accepted { .. } => assert!(d["empty"].as_bool().unwrap()),
        ResponseBody::DischargeOverCurrent(c) => {
            assert_eq!(i64::from(c.alarm.0), i(&d["alarm_ma"]));
            assert_eq!(i64::from(c.protect.0), i(&d["protect_ma"]));
            assert_eq!(i64::from(c.delay_100ms), i(&d["delay_100ms"]));
        }
        ResponseBody::Capacity(c) => {
            assert_eq!(c.remaining.0, i(&d["remaining_mah"]));
            assert_eq!(c.full.0, i(&d["full_mah"]));
            assert_eq!(c.design.0, i(&d["design_mah"]));
        }
        ResponseBody::FullCharge(f) => {
            assert_eq!(i64::from(f.voltage.0), i(&d["voltage_mv"]));
            assert_eq!(i64::from(f.current.0), i(&d["current_ma"]));
        }
        ResponseBody::Undecoded { info, .. } => {
            assert_eq!(i64::from(r.rtn.code()), i(&d["rtn"]));
            let hex: String = info.iter().map(|b| format!("{b:02X}")).collect();
            assert_eq!(hex, d["info"].as_str().unwrap());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn every_capture_decodes_and_re_emits_byte_exact() {
    let known = |b: &RequestBody| !matches!(b, RequestBody::Other { .. });
    assert_eq!(captures::every_capture(SUB, known, check), 18);
}

/// One pack per reply and 128 INFO bytes (`SizedResponse<1, 128>`, a tenth of the default's
/// RAM): every capture that fits decodes exactly as with the default-sized `Response`, an
/// all-packs reply of several packs stays undecoded (never cut), a longer INFO is a
/// capacity error.
#[test]
fn caller_sized_responses_read_what_fits_and_refuse_the_rest() {
    let one = |r: &Response| match &r.body {
        ResponseBody::Analog(a) => a.modules.len() <= 1,
        ResponseBody::Status(a) => a.modules.len() <= 1,
        _ => true,
    };
    let (same, undecoded, refused) =
        captures::caller_sized::<ResponseBody, ResponseBody<1, 128>, 128>(SUB, one);
    println!("same {same}, undecoded {undecoded}, refused {refused}");
    assert!(same > 0);
}

/// Requests at `SizedRequest<MAX_REQUEST_INFO>` (tens of bytes instead of 2 KiB): every
/// request capture decodes exactly as with the default-sized `Request`, re-emits byte-exact
/// and is answered alike; at `SizedRequest<1>` the writes (INFO of 4–8 bytes) are refused
/// with a capacity error, never cut.
#[test]
fn caller_sized_requests_read_every_request() {
    let reply = Response::ok(1, ResponseBody::Accepted { command: 0x42 });
    let (same, refused) = captures::caller_sized_requests::<
        RequestBody,
        RequestBody<MAX_REQUEST_INFO>,
        ResponseBody,
        MAX_REQUEST_INFO,
    >(SUB, &reply);
    assert_eq!((same, refused), (9, 0));
    let (same, refused) =
        captures::caller_sized_requests::<RequestBody, RequestBody<1>, ResponseBody, 1>(
            SUB, &reply,
        );
    assert_eq!(same + refused, 9);
    assert!(same > 0 && refused > 0, "{same} {refused}");
}

#[test]
fn stream_of_all_captures_in_small_chunks() {
    captures::stream_in_small_chunks(SUB);
}

#[test]
fn requests_mean_what_the_notes_say() {
    let body = |n: &str| Request::from_frame(&frame(n)).body;
    assert_eq!(
        body("nk-req-0x42-pack1"),
        RequestBody::Analog(Target::Pack(1))
    );
    assert_eq!(
        body("nk-req-0x9a-charge-mosfet-on"),
        RequestBody::ChargeMosfet(MosfetSwitch::On)
    );
    assert_eq!(
        body("nk-req-0x9b-discharge-mosfet-off"),
        RequestBody::DischargeMosfet(MosfetSwitch::Off)
    );
    assert_eq!(
        body("nk-req-0xd0-write-cell-ov"),
        RequestBody::WriteVoltage(
            VoltageKind::CellOver,
            VoltageProtection {
                lead: 1,
                alarm: Millivolts(3600),
                protect: Millivolts(3700),
                release: Millivolts(3380),
                delay_100ms: 10
            }
        )
    );
    assert_eq!(
        body("nk-req-0xb5-write-balancing"),
        RequestBody::WriteBalancing(BalanceConfig {
            threshold: Millivolts(3400),
            delta: Millivolts(30)
        })
    );
    assert_eq!(
        body("nk-req-0xae-write-full-charge"),
        RequestBody::WriteFullCharge(FullChargeConfig {
            voltage: Millivolts(56_000),
            current: Milliamps(2000),
            low_soc_percent: 5
        })
    );
}

#[test]
fn analog_reply_values_and_the_2730_offset() {
    let r = Response::from_frame(&frame("nk-resp-0x42-16s"), 0x42);
    let ResponseBody::Analog(a) = &r.body else {
        panic!()
    };
    let p = &a.modules[0];
    assert_eq!(p.current, Milliamps(-2250));
    assert_eq!(p.voltage, Millivolts(52_429));
    assert_eq!(p.remaining_capacity, MilliampHours(48_190));
    assert_eq!(p.extension, Some(MilliampHours(100_000)));
    assert_eq!(p.temperatures[0], DeciKelvin(2971));
    let c: Vec<i16> = (0..6)
        .map(|k| p.temperature_celsius(k).unwrap().0)
        .collect();
    assert_eq!(c, [241, 239, 239, 239, 265, 274]);
    // The offset the decoder applied, read off the capture: raw 0.1 K minus 0.1 °C is 2730
    // for every sensor, and the public constant says the same.
    let offsets: Vec<i32> = p
        .temperatures
        .iter()
        .zip(&c)
        .map(|(raw, celsius)| raw.0 - i32::from(*celsius))
        .collect();
    assert_eq!(offsets, [2730; 6]);
    assert_eq!(ZERO_CELSIUS, offsets[0]);
    let req = Request::from_frame(&frame("nk-req-0x42-pack1"));
    assert!(r.answers(&req));
    let other = Request::from_frame(&frame("nk-req-0x44-pack1"));
    assert!(!r.answers(&other));
}

#[test]
fn refused_mosfet_switch_is_rtn_09() {
    let r = Response::from_frame(&frame("nk-resp-0x9b-rtn09-refused"), 0x9B);
    assert_eq!(r.rtn, Rtn::OperationError);
    assert!(matches!(
        r.body,
        ResponseBody::Undecoded { command: 0x9B, .. }
    ));
}
