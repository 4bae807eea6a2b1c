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
            || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")),
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

/// A vector's own `expected` values (written by the people who recorded it), each one taken
/// out of the map when checked: what is left at the end was never checked.
struct Vendor {
    file: String,
    left: serde_json::Map<String, Value>,
}

impl Vendor {
    fn take(&mut self, key: &str) -> Value {
        self.left
            .remove(key)
            .unwrap_or_else(|| panic!("{}: no vendor value {key}", self.file))
    }

    fn f64(&mut self, key: &str) -> f64 {
        self.take(key).as_f64().unwrap()
    }

    fn int(&mut self, key: &str) -> i64 {
        self.take(key).as_i64().unwrap()
    }

    fn hex(&mut self, key: &str) -> i64 {
        let v = self.take(key);
        let s = v.as_str().unwrap();
        i64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
    }
}

#[test]
fn vector_expected_values_in_si() {
    // The vectors' own `expected` fields, against our exact units; every one of them checked.
    let (mut files, mut values) = (0, 0);
    let mut pack_status_currents = 0;
    for entry in manifest() {
        let file = entry["file"].as_str().unwrap().to_owned();
        let left = entry["vector_expected"].as_object().unwrap().clone();
        if left.is_empty() {
            // Only the constructed session file has no vendor values of its own.
            assert!(file.contains("session"), "{file}: no vendor expectations");
            continue;
        }
        let count = left.len();
        let mut e = Vendor { file, left };
        let bytes = std::fs::read(testdata().join(&e.file)).unwrap();
        let (frames, dropped) = decode(&bytes, bytes.len());
        assert_eq!(dropped, 0, "{}", e.file);
        let v = Variant::default();
        let first = &frames[0].1;
        if first.is_request() {
            assert_eq!(frames.len(), 1);
            assert_eq!(i64::from(first.address), e.hex("host_address"));
            assert_eq!(i64::from(first.command), e.hex("command"));
        } else {
            match Response::parse(first, &v).unwrap() {
                Response::PackStatus(p) => {
                    assert!((p.voltage.to_si() - e.f64("total_voltage_V")).abs() < 1e-9);
                    assert!((f64::from(p.soc.0) / 10.0 - e.f64("soc_pct")).abs() < 1e-9);
                    let raw = i32::from(u16::from_be_bytes([first.data[4], first.data[5]]));
                    if e.left.contains_key("current_raw") {
                        assert_eq!(i64::from(raw), e.int("current_raw"));
                    }
                    if e.left.contains_key("acquisition_voltage_V") {
                        let a = e.f64("acquisition_voltage_V");
                        assert!((p.acquired_voltage.to_si() - a).abs() < 1e-9);
                    }
                    // Our default sign (see testdata/daly/README.md): raw above 30000 is a
                    // discharge, negative. The vendors' (raw - 30000) / 10 is its negation.
                    let current = if e.left.contains_key("current_A") {
                        e.f64("current_A")
                    } else {
                        -e.f64("current_A_raw_minus_30000_div10")
                    };
                    assert!((p.current.to_si() - current).abs() < 1e-9, "{}", e.file);
                    assert_eq!(p.current.0 < 0, raw > 30_000, "{}", e.file);
                    pack_status_currents += 1;
                }
                Response::TemperatureRange(t) => {
                    assert_eq!(i64::from(t.max.0), e.int("max_temp_C") * 10);
                    assert_eq!(i64::from(t.max_sensor), e.int("max_temp_sensor"));
                    assert_eq!(i64::from(t.min.0), e.int("min_temp_C") * 10);
                    assert_eq!(i64::from(t.min_sensor), e.int("min_temp_sensor"));
                    let stale: Vec<String> =
                        t.reserved.iter().map(|b| format!("{b:02X}")).collect();
                    assert_eq!(Value::from(stale.join(" ")), e.take("stale_bytes_4_7"));
                }
                Response::MosfetStatus(m) => {
                    let state = e.take("state");
                    let (code, name) = state.as_str().unwrap().split_once(' ').unwrap();
                    assert_eq!(i64::from(m.state.0), code.parse::<i64>().unwrap());
                    assert_eq!(m.state.name(), Some(name));
                    assert_eq!(i64::from(m.charge_mosfet.0), e.int("charge_mos"));
                    assert_eq!(i64::from(m.discharge_mosfet.0), e.int("discharge_mos"));
                    assert_eq!(i64::from(m.bms_life), e.int("bms_life"));
                    assert_eq!(m.remaining_capacity.0, e.int("remaining_capacity_mAh"));
                }
                Response::StatusInfo(st) => {
                    assert_eq!(i64::from(st.cell_count), e.int("cell_count"));
                    assert_eq!(
                        i64::from(st.temperature_sensor_count),
                        e.int("temp_sensor_count")
                    );
                    assert_eq!(i64::from(st.charger.0), e.int("charger"));
                    assert_eq!(i64::from(st.load.0), e.int("load"));
                    assert_eq!(i64::from(st.dio.0), e.hex("dio_bits"));
                    assert_eq!(i64::from(st.cycles), e.int("cycles_bytes5_6"));
                    assert_eq!(i64::from(st.reserved), e.hex("byte7"));
                }
                Response::Temperatures(_) => {
                    assert_eq!(frames.len() as i64, e.int("frames"));
                    let Response::Temperatures(t) = Response::parse(first, &v).unwrap() else {
                        panic!()
                    };
                    assert_eq!(i64::from(t.temperatures[0].0), e.int("sensor1_temp_C") * 10);
                    // "0x00 (unused sensors)": every other byte on the wire is 0x00.
                    let other = e.take("other_bytes");
                    assert!(other.as_str().unwrap().starts_with("0x00"), "{other}");
                    let rest: Vec<u8> = frames
                        .iter()
                        .flat_map(|(_, f)| f.data[1..].iter().copied())
                        .skip(1)
                        .collect();
                    assert!(rest.iter().all(|b| *b == 0), "{rest:02X?}");
                }
                other => panic!("{}: no vendor check for {other:?}", e.file),
            }
        }
        assert!(e.left.is_empty(), "{}: unchecked {:?}", e.file, e.left);
        files += 1;
        values += count;
    }
    // Ten captures carry vendor values; four of them are 0x90 replies with a current.
    assert_eq!((files, pack_status_currents), (10, 4));
    assert!(values >= 40, "{values} vendor values checked");
}

#[test]
fn the_current_sign_agrees_with_the_state_in_the_same_session() {
    // mpp-solar's test responses come from one 280 Ah, 16S pack: its 0x93 reply holds
    // 248 640 mAh = 88.8 % of 280 Ah, the SOC of the 0x90 reply with raw current 30021
    // (and the stale `03 78` = 88.8 % of its 0x91/0x92 replies). That 0x93 says
    // *discharging*: raw above 30000 is a discharge, negative in our default sign.
    let read =
        |name: &str| RawFrame::parse(&std::fs::read(testdata().join(name)).unwrap()).unwrap();
    let v = Variant::default();
    let Response::MosfetStatus(m) =
        Response::parse(&read("mppsolar-mosfet-status.bin"), &v).unwrap()
    else {
        panic!()
    };
    let pack = read("mppsolar-pack-status-53v2.bin");
    let Response::PackStatus(p) = Response::parse(&pack, &v).unwrap() else {
        panic!()
    };
    // The session link: remaining capacity is the reply's SOC of a 280 Ah pack.
    assert_eq!(m.remaining_capacity.0, 280_000 * i64::from(p.soc.0) / 1000);
    assert_eq!(u16::from_be_bytes([pack.data[4], pack.data[5]]), 30_021);
    assert_eq!(m.state, voltwire_daly::ChargeState::DISCHARGING);
    assert_eq!(p.current, Milliamps(-2_100));
    assert!(p.current.0 < 0, "a discharge is negative");
    // The other polarity, still selectable, would call this discharge a charge.
    let Response::PackStatus(q) =
        Response::parse(&pack, &v.with_current_sign(CurrentSign::ChargeAboveOffset)).unwrap()
    else {
        panic!()
    };
    assert_eq!(q.current, Milliamps(2_100));
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
