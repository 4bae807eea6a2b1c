//! Every capture in `testdata/daly/` decodes to what `manifest.json` (computed independently
//! by `testdata/daly/tools/make_testdata.py`) says, fed whole and byte by byte.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "test code"
)]

use std::path::PathBuf;

use serde_json::Value;
use voltwire_core::{
    DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille, StreamDecoder as _,
};
use voltwire_daly::{
    Assembler, CurrentSign, Decoder, RawFrame, Request, Response, Series, Variant,
};

fn testdata() -> PathBuf {
    std::env::var_os("VOLTWIRE_TESTDATA")
        .map_or_else(
            || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata")),
            PathBuf::from,
        )
        .join("daly")
}

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(testdata().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn decode(bytes: &[u8], chunk: usize) -> (Vec<(u64, RawFrame)>, u64) {
    let mut d = Decoder::new();
    let mut got = Vec::new();
    for c in bytes.chunks(chunk) {
        d.feed_all(c, |l| got.push((l.offset, l.value.unwrap())));
    }
    assert!(d.finish().is_none());
    (got, d.dropped_bytes())
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap()
}

fn check(frame: &RawFrame, want: &Value) {
    assert_eq!(i64::from(frame.address), int(&want["address"]));
    assert_eq!(i64::from(frame.command), int(&want["command"]));
    assert_eq!(frame.is_request(), want["direction"] == "request");
    if frame.is_request() {
        let r = Request::parse(frame);
        assert_eq!(r.name(), want["type"]);
        assert_eq!(r.to_frame(frame.address).unwrap(), *frame);
        return;
    }
    let v = Variant::default();
    let r = Response::parse(frame, &v).unwrap();
    assert_eq!(r.name(), want["type"]);
    assert_eq!(r.to_frame(frame.address, &v).unwrap(), *frame, "lossless");
    match r {
        Response::PackStatus(p) => {
            assert_eq!(p.voltage, Millivolts(int(&want["voltage_mv"]) as i32));
            assert_eq!(
                p.acquired_voltage,
                Millivolts(int(&want["acquired_voltage_mv"]) as i32)
            );
            assert_eq!(
                p.current,
                Milliamps(int(&want["current_ma_charge_below"]) as i32)
            );
            assert_eq!(p.soc, Permille(int(&want["soc_permille"]) as i16));
            let v2 = v.with_current_sign(CurrentSign::ChargeAboveOffset);
            let Response::PackStatus(p2) = Response::parse(frame, &v2).unwrap() else {
                panic!()
            };
            assert_eq!(
                p2.current,
                Milliamps(int(&want["current_ma_charge_above"]) as i32)
            );
        }
        Response::TemperatureRange(t) => {
            assert_eq!(t.max, DeciCelsius(int(&want["max_dc"]) as i16));
            assert_eq!(t.min, DeciCelsius(int(&want["min_dc"]) as i16));
            assert_eq!(i64::from(t.max_sensor), int(&want["max_sensor"]));
            assert_eq!(i64::from(t.min_sensor), int(&want["min_sensor"]));
        }
        Response::MosfetStatus(m) => {
            assert_eq!(i64::from(m.state.0), int(&want["state"]));
            assert_eq!(i64::from(m.charge_mosfet.0), int(&want["charge_mosfet"]));
            assert_eq!(
                i64::from(m.discharge_mosfet.0),
                int(&want["discharge_mosfet"])
            );
            assert_eq!(i64::from(m.bms_life), int(&want["bms_life"]));
            assert_eq!(
                m.remaining_capacity,
                MilliampHours(int(&want["remaining_mah"]))
            );
        }
        Response::StatusInfo(s) => {
            assert_eq!(i64::from(s.cell_count), int(&want["cell_count"]));
            assert_eq!(
                i64::from(s.temperature_sensor_count),
                int(&want["temperature_sensor_count"])
            );
            assert_eq!(i64::from(s.charger.0), int(&want["charger"]));
            assert_eq!(i64::from(s.load.0), int(&want["load"]));
            assert_eq!(i64::from(s.dio.0), int(&want["dio"]));
            assert_eq!(i64::from(s.cycles), int(&want["cycles"]));
        }
        Response::Temperatures(t) => {
            assert_eq!(i64::from(t.frame), int(&want["frame"]));
            let dc: Vec<i64> = t.temperatures.iter().map(|d| i64::from(d.0)).collect();
            let want: Vec<i64> = want["temperatures_dc"]
                .as_array()
                .unwrap()
                .iter()
                .map(int)
                .collect();
            assert_eq!(dc, want);
        }
        other => panic!("no expectation for {other:?}"),
    }
}

#[test]
fn every_capture_decodes_to_the_manifest() {
    let m = manifest();
    assert!(m.len() >= 11);
    for entry in m {
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(testdata().join(file)).unwrap();
        let frames = entry["frames"].as_array().unwrap();
        let whole = decode(&bytes, bytes.len());
        assert_eq!(
            whole,
            decode(&bytes, 1),
            "{file}: chunking changed the result"
        );
        assert_eq!(whole.0.len(), frames.len(), "{file}");
        for (i, ((offset, frame), want)) in whole.0.iter().zip(frames).enumerate() {
            let want_offset = want.get("offset").map_or(i as i64 * 13, int);
            assert_eq!(*offset as i64, want_offset, "{file}");
            check(frame, want);
        }
        let dropped = entry.get("dropped_bytes").map_or(0, int);
        assert_eq!(whole.1 as i64, dropped, "{file}");
    }
}

#[test]
fn vector_expected_values_in_si() {
    // The vectors' own `expected` fields, against our exact units.
    for entry in manifest() {
        let e = &entry["vector_expected"];
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(testdata().join(file)).unwrap();
        let Ok(frame) = RawFrame::parse(&bytes) else {
            continue;
        };
        if let Ok(Response::PackStatus(p)) = Response::parse(&frame, &Variant::default()) {
            let v = e["total_voltage_V"].as_f64().unwrap();
            assert!((p.voltage.to_si() - v).abs() < 1e-9, "{file}");
            let soc = e["soc_pct"].as_f64().unwrap();
            assert!((f64::from(p.soc.0) / 10.0 - soc).abs() < 1e-9, "{file}");
            if let Some(a) = e.get("current_A_raw_minus_30000_div10") {
                // That formula is the ChargeAboveOffset sign; ours by default is its negation.
                assert!(
                    (p.current.to_si() + a.as_f64().unwrap()).abs() < 1e-9,
                    "{file}"
                );
            }
        }
    }
}

#[test]
fn session_temperatures_assemble_with_count_from_status() {
    let bytes =
        std::fs::read(testdata().join("mppsolar-session-status-noise-temperatures.bin")).unwrap();
    let (frames, dropped) = decode(&bytes, 3);
    assert_eq!(dropped, 9);
    let v = Variant::default();
    let Response::StatusInfo(status) = Response::parse(&frames[0].1, &v).unwrap() else {
        panic!()
    };
    let mut a = Assembler::from_status(Series::Temperatures, &status);
    for (_, f) in &frames[1..] {
        a.push(f);
    }
    assert!(a.is_complete());
    assert_eq!(a.duplicates(), 0);
    assert_eq!(
        a.temperatures().collect::<Vec<_>>(),
        [Some(DeciCelsius(150))]
    );
}

#[test]
fn corrupted_captures_are_rejected() {
    for entry in manifest() {
        let file = entry["file"].as_str().unwrap();
        let mut bytes = std::fs::read(testdata().join(file)).unwrap();
        if bytes.len() != 13 {
            continue;
        }
        bytes[12] = bytes[12].wrapping_add(1);
        assert_eq!(RawFrame::parse(&bytes).unwrap_err().code(), "checksum");
        let (mut d, mut errors) = (Decoder::new(), 0);
        d.feed_all(&bytes, |l| errors += usize::from(l.value.is_err()));
        assert_eq!(errors, 1, "{file}");
    }
}
