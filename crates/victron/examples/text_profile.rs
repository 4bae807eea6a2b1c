//! A deterministic driver for instruction-count profiling of the TEXT decoders
//! (`valgrind --tool=callgrind`): decodes the two corpora of `bench/benches/vedirect_text.rs`
//! (SmartSolar MPPT, BMV-700), repeated `copies` times, in the bench's fixed-seed random
//! chunks of 1..=256 bytes.
//!
//! ```text
//! cargo build --release -p voltwire-victron --example text_profile
//! valgrind --tool=callgrind target/release/examples/text_profile records|blocks|none mppt|bmv [copies]
//! ```
//!
//! Prints the records (or blocks) delivered; instructions per record is callgrind's total
//! for `records` minus that for mode `none` (setup only) at the same `copies`, divided by
//! the count.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    reason = "profiling driver"
)]

use std::hint::black_box;
use std::path::PathBuf;

use voltwire_core::StreamDecoder;
use voltwire_victron::text::{Decoder, Event, Message, RecordDecoder};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("records", String::as_str);
    let file = match args.get(2).map_or("mppt", String::as_str) {
        "bmv" => "bmv700-fw308-karioja-dump.bin",
        _ => "smartsolar-75-15-fw156-kindr007-uart-debug-7-blocks.bin",
    };
    let copies: usize = args.get(3).map_or(Ok(1), |s| s.parse()).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/victron")
        .join(file);
    let bytes = std::fs::read(path).unwrap().repeat(copies);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let end = (at + (x % 256 + 1) as usize).min(bytes.len());
        chunks.push(&bytes[at..end]);
        at = end;
    }
    let mut n = 0u64;
    if mode == "none" {
        // Setup only: subtract this run's count from the others'.
        black_box(&chunks);
    } else if mode == "blocks" {
        let mut d = Decoder::new();
        for mut chunk in chunks {
            while !chunk.is_empty() {
                let p = d.feed(chunk);
                chunk = &chunk[p.consumed..];
                if let Some(l) = p.item {
                    if let Event::Block(b) = l.value {
                        black_box(b.len());
                        n += 1;
                    }
                }
            }
        }
    } else {
        let mut d = RecordDecoder::new();
        for chunk in chunks {
            d.feed_all(chunk, |l| {
                if let Ok(Message::Record(r)) = l.value {
                    black_box(r.battery_voltage());
                    n += 1;
                }
            });
        }
        while let Some(l) = d.finish() {
            if let Ok(Message::Record(_)) = l.value {
                n += 1;
            }
        }
    }
    println!("{mode} {n}");
}
