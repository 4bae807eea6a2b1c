//! Every real capture in `testdata/jk/` decodes to exactly what `expected.json` (computed
//! independently, in Python, by `testdata/jk/tools/make_expected.py`) says it holds: the same
//! frames at the same offsets with the same fields, no frame where the checksum fails — fed
//! whole and in small chunks — and every decoded frame re-encodes to its bytes.

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

use std::path::PathBuf;

use serde_json::{Map, Value, json};
use voltwire_core::{Emit, StreamDecoder};
use voltwire_jk::pb::{self, PbDecoder};
use voltwire_jk::{Error, FieldValue, Info, JkDecoder, Message, Record, check_frame};

fn testdata() -> PathBuf {
    std::env::var_os("VOLTWIRE_TESTDATA")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata"),
            PathBuf::from,
        )
        .join("jk")
}

fn expected() -> Map<String, Value> {
    let text = std::fs::read_to_string(testdata().join("expected.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

/// The record in the units of `expected.json`: mV, mA, mAh, whole °C, text, raw integers.
fn record_json(r: &Record) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(cells) = &r.cells {
        m.insert(
            "cells_mv".into(),
            cells.iter().map(|c| c.voltage.0).collect::<Vec<_>>().into(),
        );
    }
    for f in r.fields() {
        let v = match f.value {
            FieldValue::Voltage(v) => json!(v.0),
            FieldValue::Current(c) => json!(c.0),
            FieldValue::Capacity(c) => json!(c.0),
            FieldValue::Temperature(t) => json!(t.celsius()),
            FieldValue::RawCurrent(c) => json!(c.0),
            FieldValue::U8(v) => json!(v),
            FieldValue::U16(v) => json!(v),
            FieldValue::U32(v) => json!(v),
            FieldValue::I16(v) => json!(v),
            FieldValue::Text(t) => json!(std::str::from_utf8(t).unwrap()),
            FieldValue::Warnings(w) => json!(w.0),
            FieldValue::Status(s) => json!(s.0),
            FieldValue::BatteryType(b) => json!(u8::from(b)),
            _ => panic!("new value kind"),
        };
        m.insert(f.name.into(), v);
    }
    if let Some(c) = r.current() {
        m.insert("current_ma".into(), json!(c.0));
    }
    assert!(r.rest.is_empty(), "every ID typed");
    m
}

fn decode_4e57(data: &[u8], chunk: usize) -> (Vec<(u64, Message)>, u64) {
    let mut d = JkDecoder::new();
    let mut out = Vec::new();
    for c in data.chunks(chunk) {
        d.feed_all(c, |l| out.push((l.offset, l.value.unwrap())));
    }
    while let Some(l) = d.finish() {
        out.push((l.offset, l.value.unwrap()));
    }
    (out, d.dropped_bytes())
}

#[test]
fn jk_4e57_captures() {
    let mut files = 0;
    for (name, frames) in expected() {
        if name.starts_with("pb-") {
            continue;
        }
        files += 1;
        let data = std::fs::read(testdata().join(&name)).unwrap();
        let frames = frames.as_array().unwrap();
        let (whole, dropped) = decode_4e57(&data, data.len());
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(
                decode_4e57(&data, chunk),
                (whole.clone(), dropped),
                "{name} chunk {chunk}"
            );
        }
        let good: Vec<_> = frames.iter().filter(|f| f.get("error").is_none()).collect();
        assert_eq!(whole.len(), good.len(), "{name}");
        for (want, (offset, msg)) in good.iter().zip(&whole) {
            assert_eq!(want["offset"], json!(offset), "{name}");
            let len = usize::try_from(want["len"].as_u64().unwrap()).unwrap();
            let off = usize::try_from(*offset).unwrap();
            let bytes = &data[off..off + len];
            // Lossless: the message re-encodes to the captured bytes.
            let mut out = vec![0; msg.buffer_len()];
            assert_eq!(msg.emit(&mut out), Ok(len), "{name}");
            assert_eq!(out, bytes, "{name}");
            assert_eq!(want["command"], json!(u8::from(msg.header.command)));
            assert_eq!(want["source"], json!(u8::from(msg.header.source)));
            assert_eq!(want["transport"], json!(u8::from(msg.header.transport)));
            match &msg.info {
                Info::Id(id) => assert_eq!(want["id"], json!(id), "{name}"),
                Info::Records(r) => {
                    assert_eq!(Value::Object(record_json(r)), want["records"], "{name}");
                }
            }
        }
        for bad in frames.iter().filter(|f| f.get("error").is_some()) {
            let off = usize::try_from(bad["offset"].as_u64().unwrap()).unwrap();
            assert!(
                matches!(check_frame(&data[off..]), Err(Error::Checksum { .. })),
                "{name}"
            );
            assert!(whole.iter().all(|(o, _)| *o != off as u64));
        }
    }
    assert_eq!(files, 7);
}

#[test]
fn fourteen_cell_reply_values() {
    let data = std::fs::read(testdata().join("reply-14s-v1-syssi-protocol-design.bin")).unwrap();
    let m = Message::parse(&data).unwrap();
    let r = m.record().unwrap();
    assert_eq!(r.cell_voltages().count(), 14);
    assert_eq!(r.pack_voltage, Some(voltwire_core::Millivolts(53_590)));
    assert_eq!(r.current(), Some(voltwire_core::Milliamps(2_080)));
    assert_eq!(r.charge_low_temperature_celsius, Some(-20));
    let status = r.status.unwrap();
    assert!(status.charge_mos_on() && status.discharge_mos_on() && status.balancer_on());
    assert_eq!(r.battery_type, Some(voltwire_jk::BatteryType::Ternary));
    assert_eq!(r.password.unwrap().as_str(), Some("123456"));
    assert_eq!(
        r.manufacturer_id.unwrap().as_str(),
        Some("BT3072020120000200521001")
    );
}

#[test]
fn vendor_example_is_rejected_but_its_records_parse() {
    // The vendor example's printed checksum is wrong; the frame is rejected. Its records
    // (protocol version 0: no 0xC0, offset current) still parse when handed over directly.
    let data = std::fs::read(testdata().join("reply-20s-vendor-example-bad-checksum.bin")).unwrap();
    assert_eq!(
        check_frame(&data),
        Err(Error::Checksum {
            computed: 0x485C,
            found: 0x4923
        })
    );
    let r = Record::parse_info(&data[11..data.len() - 9]);
    assert!(r.rest.is_empty());
    assert_eq!(r.protocol_version, None);
    assert_eq!(r.current(), Some(voltwire_core::Milliamps(0)));
    assert_eq!(r.cell_voltages().count(), 20);
    assert_eq!(
        r.software_version.unwrap().as_str(),
        Some("NW_1_0_0_200428")
    );
}

#[test]
fn pb_status_blocks() {
    let mut files = 0;
    for (name, blocks) in expected() {
        if !name.starts_with("pb-") {
            continue;
        }
        files += 1;
        let data = std::fs::read(testdata().join(&name)).unwrap();
        let want = &blocks.as_array().unwrap()[0];
        for chunk in [1, 5, 300] {
            let mut d = PbDecoder::new();
            let mut got = Vec::new();
            for c in data.chunks(chunk) {
                d.feed_all(c, |l| got.push(l));
            }
            assert_eq!(got.len(), 1);
            let Ok(pb::Message::Block(block)) = &got[0].value else {
                panic!("{name}")
            };
            assert_eq!(block.0.as_slice(), data.as_slice());
            let s = block.status().unwrap();
            let cells: Vec<i32> = s.cells().map(|v| v.0).collect();
            assert_eq!(json!(cells), want["cells_mv"]);
            assert_eq!(json!(s.cell_mask), want["cell_mask"]);
            assert_eq!(json!(s.mosfet_temperature.0), want["mosfet_temperature_dc"]);
            assert_eq!(json!(s.pack_voltage.0), want["pack_voltage_mv"]);
            assert_eq!(json!(s.current.0), want["current_ma"]);
            assert_eq!(json!(s.temperature_1.0), want["temperature_1_dc"]);
            assert_eq!(json!(s.temperature_2.0), want["temperature_2_dc"]);
            assert_eq!(json!(s.alarms.0), want["alarms"]);
            assert_eq!(json!(s.soc_percent), want["soc_percent"]);
            assert_eq!(
                json!(s.remaining_capacity.0),
                want["remaining_capacity_mah"]
            );
            assert_eq!(
                json!(s.full_charge_capacity.0),
                want["full_charge_capacity_mah"]
            );
            assert_eq!(json!(s.cycle_count), want["cycle_count"]);
            assert_eq!(json!(s.soh_percent), want["soh_percent"]);
            assert_eq!(json!(s.charge_mos), want["charge_mos"]);
            assert_eq!(json!(s.discharge_mos), want["discharge_mos"]);
            // Writing the typed fields back into the captured block changes nothing.
            let mut copy = block.clone();
            s.write_to(&mut copy).unwrap();
            assert_eq!(&copy, block);
        }
    }
    assert_eq!(files, 2);
}

#[test]
fn pb_bus_exchange() {
    // A bus as the master sees it: trigger, the captured block, padding, the ACK of the
    // slave at address 2, a trailing byte — then the next trigger.
    let block =
        std::fs::read(testdata().join("pb-block-status-b2a8s20p-fw1117-ble-2.bin")).unwrap();
    let mut bus = Vec::new();
    let mut buf = [0; 16];
    let n = pb::Message::trigger(2, pb::Trigger::Status)
        .emit(&mut buf)
        .unwrap();
    bus.extend_from_slice(&buf[..n]);
    bus.extend_from_slice(&block);
    bus.push(0x00);
    bus.extend_from_slice(&[0x02, 0x10, 0x16, 0x20, 0x00, 0x01, 0x04, 0x78]);
    bus.push(0x00);
    bus.extend_from_slice(&buf[..n]);
    let mut d = PbDecoder::new();
    let mut got = Vec::new();
    d.feed_all(&bus, |l| got.push((l.offset, l.value.unwrap())));
    let kinds: Vec<(u64, &str)> = got
        .iter()
        .map(|(o, m)| {
            (
                *o,
                match m {
                    pb::Message::Block(_) => "block",
                    pb::Message::WriteRequest { .. } => "write",
                    pb::Message::WriteAck { .. } => "ack",
                    _ => "other",
                },
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![(0, "write"), (11, "block"), (312, "ack"), (321, "write")]
    );
    assert_eq!(d.dropped_bytes(), 2);
}
