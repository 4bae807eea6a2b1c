//! Every CAN capture in `testdata/pylontech/can/` decodes to what `expected.json` (computed
//! independently in Python) says, and every frame emits back to its exact bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::too_many_lines,
    clippy::many_single_char_names,
    clippy::format_collect,
    reason = "test code"
)]

use std::path::PathBuf;

use serde_json::Value;
use voltwire_pylontech::can::{Assembler, Message, PartSet, RawFrame};

fn testdata() -> PathBuf {
    std::env::var_os("VOLTWIRE_TESTDATA")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata"),
            PathBuf::from,
        )
        .join("pylontech/can")
}

/// Minimal candump reader for the three shapes used in the fixtures.
fn frames(text: &str) -> Vec<(u64, u16, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let s = line.trim();
        if s.is_empty() {
            continue;
        }
        let words: Vec<&str> = s.split_whitespace().collect();
        if let Some(w) = words.iter().find(|w| w.contains('#')) {
            let (id, data) = w.split_once('#').unwrap();
            let bytes = (0..data.len())
                .step_by(2)
                .map(|k| u8::from_str_radix(&data[k..k + 2], 16).unwrap())
                .collect();
            out.push((i as u64 + 1, u16::from_str_radix(id, 16).unwrap(), bytes));
        } else {
            let k = words.iter().position(|w| w.starts_with('[')).unwrap();
            let bytes = words[k + 1..]
                .iter()
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect();
            out.push((
                i as u64 + 1,
                u16::from_str_radix(words[k - 1], 16).unwrap(),
                bytes,
            ));
        }
    }
    out
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap()
}

fn check(m: &Message, want: &Value) {
    let f = &want["fields"];
    assert_eq!(m.name(), want["type"].as_str().unwrap(), "{want}");
    match m {
        Message::Limits(l) => {
            assert_eq!(i64::from(l.charge_voltage.0), int(&f["charge_voltage_mv"]));
            assert_eq!(i64::from(l.charge_current.0), int(&f["charge_current_ma"]));
            assert_eq!(
                i64::from(l.discharge_current.0),
                int(&f["discharge_current_ma"])
            );
            assert_eq!(
                l.discharge_voltage.map(|v| i64::from(v.0)),
                f["discharge_voltage_mv"].as_i64()
            );
        }
        Message::SocSoh(s) => {
            assert_eq!(i64::from(s.soc.0), int(&f["soc_permille"]));
            assert_eq!(i64::from(s.soh.0), int(&f["soh_permille"]));
            assert_eq!(s.soc_high_res.map(i64::from), f["soc_high_res"].as_i64());
        }
        Message::Measurements(x) => {
            assert_eq!(i64::from(x.voltage.0), int(&f["voltage_mv"]));
            assert_eq!(i64::from(x.current.0), int(&f["current_ma"]));
            assert_eq!(i64::from(x.temperature.0), int(&f["temperature_decic"]));
        }
        Message::Alarms(a) => {
            assert_eq!(i64::from(a.protection.0), int(&f["protection"]));
            assert_eq!(i64::from(a.warning.0), int(&f["warning"]));
            assert_eq!(i64::from(a.module_count), int(&f["module_count"]));
            assert_eq!(&a.tag, f["tag"].as_str().unwrap().as_bytes());
        }
        Message::Request(r) => {
            assert_eq!(i64::from(r.flags.0), int(&f["flags"]));
            assert_eq!(
                r.flags.charge_enable(),
                f["charge_enable"].as_bool().unwrap()
            );
            assert_eq!(
                r.flags.discharge_enable(),
                f["discharge_enable"].as_bool().unwrap()
            );
        }
        Message::SmaAlarms(s) => {
            let a: Vec<i64> = s.alarms.iter().map(|&b| i64::from(b)).collect();
            let w: Vec<i64> = s.warnings.iter().map(|&b| i64::from(b)).collect();
            assert_eq!(Value::from(a), f["alarms"]);
            assert_eq!(Value::from(w), f["warnings"]);
        }
        Message::BatteryInfo(b) => assert_eq!(b.capacity.0, int(&f["capacity_mah"])),
        Message::ModuleCounts(c) => {
            assert_eq!(i64::from(c.online), int(&f["online"]));
            assert_eq!(i64::from(c.offline), int(&f["offline"]));
        }
        Message::CellExtremes(c) => {
            assert_eq!(i64::from(c.min_cell_voltage.0), int(&f["min_cell_mv"]));
            assert_eq!(i64::from(c.max_cell_voltage.0), int(&f["max_cell_mv"]));
            assert_eq!(
                i64::from(c.min_cell_temperature.0),
                int(&f["min_cell_deci_k"])
            );
            assert_eq!(
                i64::from(c.max_cell_temperature.0),
                int(&f["max_cell_deci_k"])
            );
        }
        Message::Manufacturer(t) => assert_eq!(t.text(), f["text"].as_str()),
        Message::BmsName(t) => assert_eq!(t.text(), f["text"].as_str()),
        Message::BatteryName(t) => assert_eq!(t.text(), f["text"].as_str()),
        Message::MinCellVoltageId(t) => assert_eq!(t.text(), f["text"].as_str()),
        Message::MaxCellVoltageId(t) => assert_eq!(t.text(), f["text"].as_str()),
        Message::MinCellTemperatureId(t) => assert_eq!(t.text(), f["text"].as_str()),
        Message::InverterRequest(p) => {
            let hex: String = p.0.as_bytes().iter().map(|b| format!("{b:02X}")).collect();
            assert_eq!(hex, f["hex"].as_str().unwrap());
        }
        Message::InverterHandshake(h) => {
            assert_eq!(h.is_victron(), f["victron"].as_bool().unwrap());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn every_capture_decodes_to_expected() {
    let expected: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(testdata().join("expected.json")).unwrap())
            .unwrap();
    let mut files: Vec<String> = expected
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_owned())
        .collect();
    files.sort();
    files.dedup();
    // Every capture on disk is listed (none is skipped silently).
    let mut on_disk: Vec<String> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("log"))
        })
        .collect();
    on_disk.sort();
    assert_eq!(files, on_disk);
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(testdata().join(file)).unwrap();
        for (line, id, data) in frames(&text) {
            let want = expected
                .iter()
                .find(|e| e["file"] == file.as_str() && int(&e["line"]) == line as i64)
                .unwrap_or_else(|| panic!("{file}:{line} missing from expected.json"));
            assert_eq!(int(&want["id"]), i64::from(id));
            let frame = RawFrame::standard(id, &data).unwrap();
            let m = Message::from_frame(&frame).unwrap_or_else(|e| panic!("{file}:{line}: {e}"));
            check(&m, want);
            // lossless: the frame emits back to its bytes
            let (out, len) = m.emit().unwrap();
            assert_eq!(&out[..len], &data[..], "{file}:{line}");
            let back: RawFrame = m.to_frame().unwrap();
            assert_eq!(back, frame);
            checked += 1;
        }
    }
    assert_eq!(checked, expected.len());
    // Absolute: the 44 frames of the six captures (an emptied file or expected.json fails).
    assert_eq!((files.len(), checked), (6, 44));
}

#[test]
fn bms_gateway_burst_assembles() {
    let text =
        std::fs::read_to_string(testdata().join("bms-gateway-5-module-stack-inverter-0x305.log"))
            .unwrap();
    let mut a = Assembler::new(PartSet::PYLONTECH);
    for (line, id, data) in frames(&text) {
        let m = Message::parse(id, &data).unwrap();
        a.push(m, line * 100);
    }
    assert!(a.missing().is_empty());
    assert_eq!(a.inverter_request_age(700), Some(200));
    let t = a.complete(700, 1000).unwrap();
    assert_eq!(t.messages().count(), 6);
}

#[test]
fn victron_capture_is_a_complete_sma_set() {
    let text =
        std::fs::read_to_string(testdata().join("victron-gx-seplos-sma-mode-syssi-issue3.log"))
            .unwrap();
    let mut a = Assembler::new(PartSet::SMA_VICTRON);
    for (line, id, data) in frames(&text) {
        a.push(Message::parse(id, &data).unwrap(), line);
    }
    assert_eq!(a.required(), PartSet::SMA_VICTRON);
    assert!(a.missing().is_empty(), "{:?}", a.missing());
    let t = a.complete(20, 100).unwrap();
    assert_eq!(PartSet::SMA_VICTRON.len(), 5);
    for p in PartSet::SMA_VICTRON.iter() {
        assert!(t.present().contains(p), "{p:?}");
        assert!(t.get(p).is_some(), "{p:?}");
    }
    let names: Vec<&str> = t.messages().map(Message::name).collect();
    for want in [
        "charge_limits",
        "soc_soh",
        "measurements",
        "sma_alarms",
        "manufacturer",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
}

#[test]
fn wrong_kinds_of_frame_are_refused() {
    use embedded_can::{ExtendedId, Frame as _, StandardId};
    let ext = RawFrame::new(ExtendedId::new(0x351).unwrap(), &[0; 8]).unwrap();
    assert_eq!(Message::from_frame(&ext).unwrap_err().code(), "extended_id");
    let rtr = RawFrame::new_remote(StandardId::new(0x351).unwrap(), 8).unwrap();
    assert_eq!(
        Message::from_frame(&rtr).unwrap_err().code(),
        "remote_frame"
    );
    let short = RawFrame::standard(0x356, &[1, 2, 3]).unwrap();
    assert_eq!(
        Message::from_frame(&short).unwrap_err().code(),
        "bad_length"
    );
    let unknown = RawFrame::standard(0x35B, &[1, 2]).unwrap();
    assert!(matches!(
        Message::from_frame(&unknown),
        Ok(Message::Unknown { id: 0x35B, .. })
    ));
}
