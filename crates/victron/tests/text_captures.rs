//! Every real capture in `testdata/victron/` decodes to exactly what `manifest.json` (computed
//! independently, in Python, by `testdata/victron/tools/make_manifest.py`) says it holds:
//! the same checksum-valid blocks at the same offsets with the same fields, the same HEX
//! frames, and an error for every block whose checksum fails — fed whole and in small chunks.

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

use serde_json::Value;
use voltwire_core::{Located, StreamDecoder};
use voltwire_victron::text::{Decoder, Event, MAX_BLOCK_DATA, Message, RecordDecoder};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/victron")
}

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(testdata().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Seen {
    blocks: Vec<(u64, Vec<(String, String)>, u8)>,
    hex: Vec<(u64, String)>,
    errors: Vec<(u64, &'static str)>,
}

fn decode(bytes: &[u8], chunk: usize) -> (Seen, u64) {
    decode_sized::<MAX_BLOCK_DATA>(bytes, chunk)
}

fn decode_sized<const N: usize>(bytes: &[u8], chunk: usize) -> (Seen, u64) {
    let mut d = Decoder::<N>::sized();
    let mut seen = Seen::default();
    let record = |item: Located<Event<'_>>, seen: &mut Seen| match item.value {
        Event::Block(b) => seen.blocks.push((
            item.offset,
            b.fields()
                .map(|(l, v)| {
                    (
                        String::from_utf8(l.to_vec()).unwrap(),
                        String::from_utf8(v.to_vec()).unwrap(),
                    )
                })
                .collect(),
            b.checksum_byte(),
        )),
        Event::Hex(Ok(f)) => {
            let line = f.to_line();
            let text = std::str::from_utf8(&line).unwrap().trim_end().to_owned();
            seen.hex.push((item.offset, text));
        }
        Event::Hex(Err(e)) => seen.errors.push((item.offset, e.code())),
        Event::Error(e) => seen.errors.push((item.offset, e.code())),
    };
    for mut c in bytes.chunks(chunk) {
        while !c.is_empty() {
            let p = d.feed(c);
            c = &c[p.consumed..];
            if let Some(item) = p.item {
                record(item, &mut seen);
            }
        }
    }
    if let Some(item) = d.finish() {
        record(item, &mut seen);
    }
    (seen, d.dropped_bytes())
}

#[test]
fn every_capture_matches_the_manifest() {
    let mut checked = 0;
    for entry in manifest() {
        let file = entry["file"].as_str().unwrap();
        if !file.ends_with(".bin") {
            continue;
        }
        let bytes = std::fs::read(testdata().join(file)).unwrap();
        let mut expected = Seen::default();
        let mut bad_offsets = Vec::new();
        for b in entry["blocks"].as_array().unwrap() {
            let offset = b["offset"].as_u64().unwrap();
            if b["checksum_ok"].as_bool().unwrap() {
                let fields = b["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        (
                            f[0].as_str().unwrap().to_owned(),
                            f[1].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                let sum = u8::try_from(b["checksum_byte"].as_u64().unwrap()).unwrap();
                expected.blocks.push((offset, fields, sum));
            } else {
                bad_offsets.push(offset);
            }
        }
        for h in entry["hex_frames"].as_array().unwrap() {
            assert!(h["checksum_ok"].as_bool().unwrap());
            let text = h["text"].as_str().unwrap().to_uppercase();
            expected.hex.push((h["offset"].as_u64().unwrap(), text));
        }
        let lead = entry["leading_garbage_bytes"].as_u64().unwrap();
        let trail = entry["trailing_garbage_bytes"].as_u64().unwrap();
        let end = bytes.len() as u64;

        let (whole, dropped) = decode(&bytes, bytes.len().max(1));
        assert_eq!(whole.blocks, expected.blocks, "{file}: blocks");
        assert_eq!(whole.hex, expected.hex, "{file}: hex frames");
        // Every failing block is reported as a checksum error at its offset ...
        for off in &bad_offsets {
            assert!(
                whole.errors.contains(&(*off, "checksum")),
                "{file}: no checksum error at {off}: {:?}",
                whole.errors
            );
        }
        // ... and any other error lies in the cut-off lead or tail of the recording.
        for (off, code) in &whole.errors {
            let ok = bad_offsets.contains(off) || *off < lead.max(1) || *off >= end - trail;
            assert!(ok, "{file}: unexpected error {code} at {off}");
        }
        // Dropped bytes: at least the failing blocks, at most everything that was not a
        // valid block or HEX frame.
        let valid: u64 = entry["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["checksum_ok"].as_bool().unwrap())
            .map(|b| b["length"].as_u64().unwrap())
            .sum::<u64>()
            + entry["hex_frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["text"].as_str().unwrap().len() as u64 + 1)
                .sum::<u64>();
        assert_eq!(dropped, end - valid, "{file}: dropped bytes");

        // Feeding in small chunks changes nothing.
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(
                decode(&bytes, chunk),
                (whole.clone(), dropped),
                "{file}: chunk {chunk}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 17, "every .bin capture was checked");
}

/// A decoder sized for real devices (256 bytes of block data instead of 1024) decodes every
/// capture exactly as the full-size one, and a smaller one rejects the longer blocks as
/// `block_too_long` and resynchronises on the next.
#[test]
fn caller_sized_decoders() {
    let mut too_long = 0;
    for entry in manifest() {
        let file = entry["file"].as_str().unwrap();
        if !file.ends_with(".bin") {
            continue;
        }
        let bytes = std::fs::read(testdata().join(file)).unwrap();
        for chunk in [1, 7, bytes.len().max(1)] {
            assert_eq!(
                decode_sized::<256>(&bytes, chunk),
                decode(&bytes, chunk),
                "{file}: chunk {chunk}"
            );
        }
        let (full, _) = decode(&bytes, bytes.len().max(1));
        let (small, _) = decode_sized::<64>(&bytes, bytes.len().max(1));
        too_long += small
            .errors
            .iter()
            .filter(|e| e.1 == "block_too_long")
            .count();
        // The blocks a 64-byte decoder keeps are exactly the full decoder's blocks that fit.
        let fits = |b: &(u64, Vec<(String, String)>, u8)| {
            b.1.iter().map(|(l, v)| l.len() + v.len()).sum::<usize>() + "Checksum".len() <= 64
        };
        let expected: Vec<_> = full.blocks.iter().filter(|b| fits(b)).cloned().collect();
        assert_eq!(small.blocks, expected, "{file}: 64-byte decoder");
        let mut records = RecordDecoder::<256>::sized();
        let mut n = 0;
        records.feed_all(&bytes, |_| n += 1);
        let mut reference = RecordDecoder::new();
        let mut m = 0;
        reference.feed_all(&bytes, |_| m += 1);
        assert_eq!(n, m, "{file}: records");
    }
    assert!(
        too_long > 0,
        "some capture has a block longer than 64 bytes"
    );
}

/// Records: each BMV cycle (main block + history block) and each split MPPT record
/// (two blocks) becomes one record; every record starts at a block holding `PID`.
#[test]
fn records_are_assembled_per_cycle() {
    for entry in manifest() {
        let file = entry["file"].as_str().unwrap();
        if !file.ends_with(".bin") {
            continue;
        }
        let bytes = std::fs::read(testdata().join(file)).unwrap();
        let blocks: Vec<&Value> = entry["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["checksum_ok"].as_bool().unwrap())
            .collect();
        // Expected record starts: a block with PID, or the first valid block, or a block
        // after one that ended a cycle (HSDS / H18).
        let mut starts = Vec::new();
        let mut prev_ended = true;
        for b in &blocks {
            let labels: Vec<&str> = b["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f[0].as_str().unwrap())
                .collect();
            if prev_ended || labels.contains(&"PID") {
                starts.push(b["offset"].as_u64().unwrap());
            }
            prev_ended = labels.contains(&"HSDS") || labels.contains(&"H18");
        }
        let mut d = RecordDecoder::new();
        let mut records = Vec::new();
        d.feed_all(&bytes, |l| {
            if let Ok(Message::Record(_)) = l.value {
                records.push(l.offset);
            }
        });
        while let Some(l) = d.finish() {
            if let Ok(Message::Record(_)) = l.value {
                records.push(l.offset);
            }
        }
        assert_eq!(records, starts, "{file}");
    }
}

/// Inputs the fuzzer found (testdata/victron/regressions/): HEX frames and `:` runs inside
/// blocks once made the dropped-byte count exceed the input. Whole and chunked decoding must
/// agree and never count more dropped bytes than were fed.
#[test]
fn fuzz_regressions() {
    let dir = testdata().join("regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let (whole, dropped) = decode(&bytes, bytes.len().max(1));
        assert!(dropped <= bytes.len() as u64, "{}", path.display());
        for chunk in [1, 5, 16] {
            assert_eq!(
                decode(&bytes, chunk),
                (whole.clone(), dropped),
                "{}",
                path.display()
            );
        }
        n += 1;
    }
    assert!(n >= 2);
}
