//! Deterministic driver for instruction-count comparisons (`valgrind --tool=callgrind`) of
//! the `vedirect_text` bench's decoders on its corpora and chunking:
//! `vedirect_profile lent|records|blocks|peer|none mppt|bmv copies`; instructions per record are a
//! mode's total minus that of `none` (setup only) at the same `copies`, divided by the count.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use voltwire_core::{Located, StreamDecoder};
use voltwire_victron::text::{Decoder, Event, Message, MessageRef, RecordDecoder};

#[derive(Default)]
struct Collect(u64);

impl vedirect::Events<vedirect::MPPT> for Collect {
    fn on_complete_block(&mut self, block: vedirect::MPPT) {
        black_box(block.channel1_voltage);
        self.0 += 1;
    }
}

impl vedirect::Events<vedirect::Bmv700> for Collect {
    fn on_complete_block(&mut self, block: vedirect::Bmv700) {
        black_box(block.voltage);
        self.0 += 1;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args[1].as_str();
    let bmv = args[2] == "bmv";
    let file = if bmv {
        "bmv700-fw308-karioja-dump.bin"
    } else {
        "smartsolar-75-15-fw156-kindr007-uart-debug-7-blocks.bin"
    };
    let copies: usize = args[3].parse().unwrap();
    let path = format!("{}/../testdata/victron/{file}", env!("CARGO_MANIFEST_DIR"));
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
    match mode {
        // Setup only: subtract this run's count from the others'.
        "none" => {
            black_box(&chunks);
        }
        "blocks" => {
            let mut d = Decoder::new();
            for mut chunk in chunks {
                while !chunk.is_empty() {
                    let p = d.feed(chunk);
                    chunk = &chunk[p.consumed..];
                    if let Some(Located {
                        value: Event::Block(b),
                        ..
                    }) = p.item
                    {
                        black_box(b.len());
                        n += 1;
                    }
                }
            }
        }
        // What the bench's `ours` runs: records lent by the decoder.
        "lent" => {
            let mut d = RecordDecoder::new();
            for chunk in chunks {
                d.feed_all_ref(chunk, |l| {
                    if let Ok(MessageRef::Record(r)) = l.value {
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
        "records" => {
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
        _ => {
            let mut sink = Collect::default();
            if bmv {
                let mut p = vedirect::Parser::<vedirect::Bmv700, Collect>::new(&mut sink);
                for chunk in chunks {
                    let _ = p.feed(chunk);
                }
            } else {
                let mut p = vedirect::Parser::<vedirect::MPPT, Collect>::new(&mut sink);
                for chunk in chunks {
                    let _ = p.feed(chunk);
                }
            }
            n = sink.0;
        }
    }
    println!("{mode} {n}");
}
