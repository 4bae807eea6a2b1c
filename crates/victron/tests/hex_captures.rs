//! Replays the VE.Direct HEX frames of `testdata/victron/`:
//!
//! - `hex-frames.txt`: one frame per line exactly as on the wire; every line must parse with
//!   a valid checksum, emit back to the same bytes, and decode to the values known from the
//!   Victron FAQ, the Victron community and real captures (see
//!   `docs/protocols/vedirect-and-can.md` §2);
//! - the `.bin` captures listed in `manifest.json`: every HEX frame found between text blocks
//!   parses, is an Async notification whose value decodes, and every day record agrees with
//!   the text block next to it (`HSDS`, `H20`, `H21`).
// Marks the helpers below as test code for clippy's `allow-*-in-tests` settings.
#![cfg(test)]

use voltwire_core::{Milliamps, Millivolts, WattHours, Watts};
use voltwire_victron::hex::{
    DayRecord, Flags, Frame, Message, RegisterValue, Request, Response, TotalRecord, register,
};

const HEX_FRAMES: &str = include_str!("../../../testdata/victron/hex-frames.txt");

fn testdata(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/victron")
        .join(name)
}

/// The Async notification in `frame`, decoded with the register table.
fn async_value(frame: &Frame) -> (u16, RegisterValue) {
    let response = Response::from_frame(frame).unwrap();
    let Response::Async(data) = &response else {
        panic!("{frame} is not an Async notification: {response:?}")
    };
    assert_eq!(data.flags, Flags::OK, "{frame}");
    (data.register, data.decode().unwrap())
}

fn reading(frame: &Frame, register: u16) -> voltwire_victron::hex::Reading {
    let (r, v) = async_value(frame);
    assert_eq!(r, register, "{frame}");
    *v.reading().unwrap_or_else(|| panic!("{frame}: {v:?}"))
}

fn day(frame: &Frame) -> DayRecord {
    match async_value(frame) {
        (register::id::HISTORY_DAY_0, RegisterValue::Day(d)) => d,
        other => panic!("{frame}: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// What each line of `hex-frames.txt` must decode to.
fn check_known_line(line: &str, frame: &Frame) {
    let message = Message::classify(frame);
    match line {
        // Victron FAQ: Get battery capacity / SOC; computed: Get load current.
        ":70010003E" => assert_eq!(message.request(), Some(&Request::get(0x1000))),
        ":7FF0F0040" => assert_eq!(message.request(), Some(&Request::get(0x0FFF))),
        ":7ADED00B4" => assert_eq!(message.request(), Some(&Request::get(0xEDAD))),
        // Victron community: Product id command, and the error reply to a malformed frame.
        ":451" => assert_eq!(message.request(), Some(&Request::ProductId)),
        ":4AAAAFD" => {
            let Message::Response(Response::Error(p)) = &message else {
                panic!("{line}: {message:?}")
            };
            assert_eq!(p.as_slice(), &[0xAA, 0xAA]);
        }
        // KinDR007 SmartSolar 150/70: uptime 225316 s.
        ":A2001002470030093" => {
            let r = reading(frame, register::id::UPTIME);
            assert_eq!(r.raw, 225_316);
            assert_eq!(r.seconds(), Some(225_316));
        }
        // Panel power 412.85 W (0.01 W kept exact; text PPV 412).
        ":ABCED0045A10000BC" => {
            let r = reading(frame, register::id::PANEL_POWER);
            assert_eq!(r.raw, 41_285);
            assert!(close(r.si_value(), 412.85));
            assert_eq!(r.si_unit(), "W");
            assert_eq!(r.watts(), None);
        }
        // Charger voltage 52.71 V.
        ":AD5ED009714DE" => {
            let r = reading(frame, register::id::CHARGER_VOLTAGE);
            assert_eq!(r.millivolts(), Some(Millivolts(52_710)));
            assert!(close(r.si_value(), 52.71));
        }
        // Blue Smart IP65: battery current 1.3 A (sn16, 0.1 A).
        ":A8FED000D00C2" => {
            let r = reading(frame, register::id::DC_CHANNEL1_CURRENT);
            assert_eq!(r.milliamps(), Some(Milliamps(1_300)));
            assert_eq!(r.si_unit(), "A");
        }
        // vedirect-rs MPPT stream: history day 0.
        ":A5010000002000000040000002405C60400000000002E01000000000E0000000A00BA071300D7" => {
            let d = day(frame);
            assert_eq!(d.version, 0);
            assert_eq!(d.yield_energy, Some(WattHours(20)));
            assert_eq!(d.consumed, Some(WattHours(40)));
            assert_eq!(d.battery_voltage_max, Some(Millivolts(13_160)));
            assert_eq!(d.battery_voltage_min, Some(Millivolts(12_220)));
            assert_eq!((d.error_database, d.errors), (0, [0; 4]));
            assert_eq!(d.time_bulk_min, Some(302));
            assert_eq!(d.time_absorption_min, Some(0));
            assert_eq!(d.time_float_min, Some(0));
            assert_eq!(d.max_power, Some(Watts(14)));
            assert_eq!(d.max_battery_current, Some(Milliamps(1_000)));
            assert_eq!(d.max_panel_voltage, Some(Millivolts(19_780)));
            assert_eq!(d.day_sequence, 19);
        }
        // karioja BlueSolar: history day 0; the text block says HSDS 274, H21 11.
        ":A501000000000000000000000ED04C6040000000000C200000000000B0000000900C80D120172" => {
            let d = day(frame);
            assert_eq!(d.day_sequence, 274);
            assert_eq!(d.max_power, Some(Watts(11)));
            assert_eq!(d.yield_energy, Some(WattHours(0)));
            assert_eq!(d.battery_voltage_max, Some(Millivolts(12_610)));
            assert_eq!(d.battery_voltage_min, Some(Millivolts(12_220)));
            assert_eq!(d.time_bulk_min, Some(194));
            assert_eq!(d.max_battery_current, Some(Milliamps(900)));
            assert_eq!(d.max_panel_voltage, Some(Millivolts(35_280)));
        }
        other => panic!("no expectation for line {other}"),
    }
}

#[test]
fn hex_frames_txt() {
    let mut seen = 0;
    for (n, line) in HEX_FRAMES.lines().enumerate() {
        assert!(line.starts_with(':'), "line {}: {line:?}", n + 1);
        let frame = Frame::parse(line.as_bytes())
            .unwrap_or_else(|e| panic!("line {}: {line}: {e} ({})", n + 1, e.code()));
        // The checksum byte on the line is the one the frame computes.
        let sum = u8::from_str_radix(&line[line.len() - 2..], 16).unwrap();
        assert_eq!(frame.checksum(), sum, "{line}");
        // Emit gives back exactly the line.
        assert_eq!(frame.to_line().as_slice(), format!("{line}\n").as_bytes());
        assert_eq!(frame.to_string(), line);
        check_known_line(line, &frame);
        seen += 1;
    }
    assert_eq!(seen, 11, "hex-frames.txt should hold the 11 HEX vectors");
}

#[test]
fn hex_frames_in_captures() {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(testdata("manifest.json")).unwrap()).unwrap();
    let mut frames = 0;
    let mut days = 0;
    let mut totals = 0;
    for entry in manifest.as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        if std::path::Path::new(file)
            .extension()
            .is_none_or(|e| e != "bin")
        {
            continue;
        }
        let bytes = std::fs::read(testdata(file)).unwrap();
        let blocks = entry["blocks"].as_array().unwrap();
        for hf in entry["hex_frames"].as_array().unwrap() {
            let offset = usize::try_from(hf["offset"].as_u64().unwrap()).unwrap();
            let text = hf["text"].as_str().unwrap();
            let end = offset + text.len() + 1;
            let on_wire = &bytes[offset..end];
            assert_eq!(on_wire, format!("{text}\n").as_bytes(), "{file}@{offset}");
            let frame = Frame::parse(on_wire);
            assert_eq!(
                frame.is_ok(),
                hf["checksum_ok"].as_bool().unwrap(),
                "{file}@{offset}"
            );
            let frame = frame.unwrap();
            assert_eq!(frame.to_line().as_slice(), on_wire);
            frames += 1;

            // Frames inside a device's text stream are responses: Async notifications.
            let (reg, value) = async_value(&frame);
            // The text block just before the frame.
            let text_fields = |label: &str| -> Option<i64> {
                let block = blocks
                    .iter()
                    .rev()
                    .find(|b| b["offset"].as_u64().unwrap() < offset as u64)?;
                block["fields"]
                    .as_array()?
                    .iter()
                    .find(|f| f[0] == label)
                    .and_then(|f| f[1].as_str()?.parse().ok())
            };
            match value {
                RegisterValue::Day(d) => {
                    assert_eq!(reg, register::id::HISTORY_DAY_0);
                    if let Some(hsds) = text_fields("HSDS") {
                        assert_eq!(i64::from(d.day_sequence), hsds, "{file}@{offset}");
                    }
                    if let Some(h21) = text_fields("H21") {
                        assert_eq!(d.max_power, Some(Watts(i32::try_from(h21).unwrap())));
                    }
                    if let Some(h20) = text_fields("H20") {
                        // H20 is in 0.01 kWh.
                        assert_eq!(d.yield_energy, Some(WattHours(h20 * 10)));
                    }
                    assert_eq!(d.to_bytes().unwrap().as_slice(), &frame.payload()[3..]);
                    days += 1;
                }
                RegisterValue::Total(t) => {
                    assert_eq!(reg, register::id::HISTORY_TOTAL);
                    // The undocumented bytes 19-20 equal the live battery voltage here.
                    if let Some(v) = text_fields("V") {
                        let mv = i32::try_from(v).unwrap();
                        assert_eq!(t.tail_battery_voltage_min(), Some(Millivolts(mv)));
                    }
                    assert_eq!(t.to_bytes().unwrap().as_slice(), &frame.payload()[3..]);
                    assert_eq!(TotalRecord::parse(&frame.payload()[3..]).unwrap(), t);
                    totals += 1;
                }
                RegisterValue::Number(r) => {
                    // Every numeric async register seen is in the table with a unit.
                    assert!(register::lookup(reg).is_some(), "{file}@{offset}");
                    assert!(r.si_value().is_finite());
                }
                // 0xEDB4/0xEDB5 (not in the table) come out as bytes.
                RegisterValue::Bytes(b) => {
                    assert!(register::lookup(reg).is_none(), "0x{reg:04X}");
                    assert!(!b.is_empty());
                }
                other => panic!("{file}@{offset}: unexpected {other:?}"),
            }
        }
    }
    assert_eq!((frames, days, totals), (26, 9, 1));
}

#[test]
fn ip65_async_values() {
    // Blue Smart IP65 charger (KinDR007 replay): battery current in mA, voltage, uptime.
    let f = Frame::parse(b":A8CED001E050000AF\n").unwrap();
    let r = reading(&f, register::id::DC_CHANNEL1_CURRENT_MA);
    assert_eq!(r.milliamps(), Some(Milliamps(1_310)));
    let f = Frame::parse(b":AD5ED008C05F8\n").unwrap();
    let r = reading(&f, register::id::CHARGER_VOLTAGE);
    assert_eq!(r.millivolts(), Some(Millivolts(14_200)));
}
