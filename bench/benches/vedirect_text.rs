//! VE.Direct TEXT decoding: voltwire vs the crates.io peers `vedirect` 0.2.0 and
//! `vedirect_rs` 0.2.3, on the same real captures (testdata/victron), repeated to ≥ 1 MB.
//!
//! Before the criterion runs it prints, per corpus and decoder: blocks delivered out of the
//! valid blocks in the corpus, blocks/s and MB/s over a timed pass, and heap allocations per
//! block (counted by a global allocator wrapper).
//!
//! Fairness: every decoder gets the same bytes. voltwire and `vedirect` (both streaming)
//! get the same random chunk sizes (1..=256 bytes, fixed seed); `vedirect_rs` cannot resume
//! a stream, so it gets the whole corpus in one call, its best case. voltwire verifies every
//! checksum and types every field; `vedirect` decodes into its own `MPPT`/`Bmv700` types
//! (its data trait is sealed) and checks no checksum; `vedirect_rs` verifies checksums and
//! types its fields. The MPPT corpus is a real SmartSolar 75/15 capture whose 19-field blocks
//! `vedirect`'s `MPPT` type accepts; the BMV corpus is a real BMV-700 recording (main +
//! history block per cycle; 7 of 906 blocks have the checksum byte `:`).
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voltwire_core::{Located, StreamDecoder};
use voltwire_victron::text::{Decoder, Event, Message, MessageRef, RecordDecoder};

#[global_allocator]
static GLOBAL: voltwire_bench::CountingAlloc = voltwire_bench::CountingAlloc;

const TARGET_BYTES: usize = 1 << 20;

struct Corpus {
    name: &'static str,
    bytes: Vec<u8>,
    /// Valid blocks in the corpus.
    valid_blocks: u64,
    /// Valid blocks that start a record (hold `PID`): what a per-record decoder can deliver.
    valid_records: u64,
    chunks: Vec<usize>,
}

fn corpus(name: &'static str, file: &str) -> Corpus {
    let path = format!("{}/../testdata/victron/{file}", env!("CARGO_MANIFEST_DIR"));
    let one = std::fs::read(&path).unwrap();
    // Valid blocks in one copy, counted by checksum alone (independent of any decoder):
    // the test suite checks these counts against testdata/victron/manifest.json.
    let mut d = Decoder::new();
    let (mut valid, mut records) = (0u64, 0u64);
    let mut rest = &one[..];
    while !rest.is_empty() {
        let p = d.feed(rest);
        rest = &rest[p.consumed..];
        if let Some(Located {
            value: Event::Block(b),
            ..
        }) = p.item
        {
            valid += 1;
            records += u64::from(b.get(b"PID").is_some());
        }
    }
    let copies = TARGET_BYTES.div_ceil(one.len());
    let bytes = one.repeat(copies);
    // Random chunk sizes 1..=256 from a fixed-seed xorshift.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunks = Vec::new();
    let mut total = 0;
    while total < bytes.len() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (x % 256 + 1) as usize;
        chunks.push(n);
        total += n;
    }
    Corpus {
        name,
        bytes,
        valid_blocks: valid * copies as u64,
        valid_records: records * copies as u64,
        chunks,
    }
}

fn chunked<'a>(c: &'a Corpus) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut at = 0;
    c.chunks.iter().map_while(move |&n| {
        let end = (at + n).min(c.bytes.len());
        let s = c.bytes.get(at..end)?;
        at = end;
        (!s.is_empty()).then_some(s)
    })
}

/// voltwire: typed, assembled records, lent by the decoder (`feed_all_ref`).
fn ours(c: &Corpus) -> u64 {
    let mut d = RecordDecoder::new();
    let mut records = 0u64;
    for chunk in chunked(c) {
        d.feed_all_ref(chunk, |l| {
            if let Ok(MessageRef::Record(r)) = l.value {
                black_box(r.battery_voltage());
                records += 1;
            }
        });
    }
    while let Some(l) = d.finish() {
        if let Ok(Message::Record(_)) = l.value {
            records += 1;
        }
    }
    records
}

/// voltwire: typed, assembled records, moved out to the caller (`StreamDecoder::feed_all`).
fn ours_owned(c: &Corpus) -> u64 {
    let mut d = RecordDecoder::new();
    let mut records = 0u64;
    for chunk in chunked(c) {
        d.feed_all(chunk, |l| {
            if let Ok(Message::Record(r)) = l.value {
                black_box(r.battery_voltage());
                records += 1;
            }
        });
    }
    while let Some(l) = d.finish() {
        if let Ok(Message::Record(_)) = l.value {
            records += 1;
        }
    }
    records
}

/// voltwire's block layer alone (checksum-verified, zero-copy blocks).
fn ours_blocks(c: &Corpus) -> u64 {
    let mut d = Decoder::new();
    let mut blocks = 0u64;
    for mut chunk in chunked(c) {
        while !chunk.is_empty() {
            let p = d.feed(chunk);
            chunk = &chunk[p.consumed..];
            if let Some(Located {
                value: Event::Block(b),
                ..
            }) = p.item
            {
                black_box(b.len());
                blocks += 1;
            }
        }
    }
    blocks
}

/// `vedirect` only decodes into its own `MPPT` and `Bmv700` types (its `VEDirectData` trait
/// is sealed): it delivers a block when every field its type needs is present.
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

fn peer_vedirect_mppt(c: &Corpus) -> u64 {
    let mut sink = Collect::default();
    {
        let mut p = vedirect::Parser::<vedirect::MPPT, Collect>::new(&mut sink);
        for chunk in chunked(c) {
            let _ = p.feed(chunk);
        }
    }
    sink.0
}

fn peer_vedirect_bmv(c: &Corpus) -> u64 {
    let mut sink = Collect::default();
    {
        let mut p = vedirect::Parser::<vedirect::Bmv700, Collect>::new(&mut sink);
        for chunk in chunked(c) {
            let _ = p.feed(chunk);
        }
    }
    sink.0
}

fn peer_vedirect_rs(c: &Corpus) -> u64 {
    vedirect_rs::get_vedirect_data(&c.bytes)
        .map(|v| v.len() as u64)
        .unwrap_or(0)
}

/// What a decoder delivers: blocks, or records (one per `PID` block).
#[derive(Clone, Copy)]
enum Counts {
    Blocks,
    Records,
}

fn summary(c: &Corpus, name: &str, counts: Counts, f: fn(&Corpus) -> u64) {
    let _ = f(c); // warm up
    let a0 = voltwire_bench::allocations();
    let t0 = Instant::now();
    let mut passes = 0u32;
    let mut n = 0;
    while t0.elapsed().as_secs_f64() < 1.0 || passes < 3 {
        n = f(c);
        passes += 1;
    }
    let secs = t0.elapsed().as_secs_f64() / f64::from(passes);
    let allocs = (voltwire_bench::allocations() - a0) as f64 / f64::from(passes);
    let (expected, what) = match counts {
        Counts::Blocks => (c.valid_blocks, "blocks "),
        Counts::Records => (c.valid_records, "records"),
    };
    // Throughput in blocks: every valid block of the corpus is read once per pass.
    println!(
        "{:<5} {:<22} {what} {:>7}/{:<7} ({:>5.1} %)  {:>7.3} M blocks/s  {:>7.1} MB/s  {:>6.2} allocs/block",
        c.name,
        name,
        n,
        expected,
        100.0 * n as f64 / expected as f64,
        c.valid_blocks as f64 / secs / 1e6,
        c.bytes.len() as f64 / secs / 1e6,
        allocs / c.valid_blocks as f64,
    );
}

fn bench(cr: &mut Criterion) {
    let mppt = corpus(
        "mppt",
        "smartsolar-75-15-fw156-kindr007-uart-debug-7-blocks.bin",
    );
    let bmv = corpus("bmv", "bmv700-fw308-karioja-dump.bin");
    println!(
        "\n== VE.Direct TEXT: real blocks repeated to >= {} MiB, random chunks 1..=256 ==",
        TARGET_BYTES >> 20
    );
    summary(&mppt, "voltwire (records)", Counts::Records, ours);
    summary(
        &mppt,
        "voltwire (owned records)",
        Counts::Records,
        ours_owned,
    );
    summary(&mppt, "voltwire (blocks)", Counts::Blocks, ours_blocks);
    summary(
        &mppt,
        "vedirect 0.2.0 (MPPT)",
        Counts::Records,
        peer_vedirect_mppt,
    );
    summary(&mppt, "vedirect_rs 0.2.3", Counts::Blocks, peer_vedirect_rs);
    summary(&bmv, "voltwire (records)", Counts::Records, ours);
    summary(
        &bmv,
        "voltwire (owned records)",
        Counts::Records,
        ours_owned,
    );
    summary(&bmv, "voltwire (blocks)", Counts::Blocks, ours_blocks);
    summary(
        &bmv,
        "vedirect 0.2.0 (BMV)",
        Counts::Records,
        peer_vedirect_bmv,
    );
    summary(&bmv, "vedirect_rs 0.2.3", Counts::Blocks, peer_vedirect_rs);

    // Ratios from the fastest of 60 interleaved passes each (steady on a loaded machine).
    for (c, peer) in [
        (&mppt, peer_vedirect_mppt as fn(&Corpus) -> u64),
        (&bmv, peer_vedirect_bmv),
    ] {
        let t = voltwire_bench::interleaved_min(&[&|| ours(c), &|| peer(c)], 60);
        println!(
            "{}: typed records {:.2}x vedirect 0.2.0 (min of 60 interleaved passes; > 1 = faster)",
            c.name,
            t[1] / t[0]
        );
    }

    for (c, peer) in [
        (&mppt, peer_vedirect_mppt as fn(&Corpus) -> u64),
        (&bmv, peer_vedirect_bmv),
    ] {
        let mut g = cr.benchmark_group(format!("vedirect_text/{}", c.name));
        g.throughput(Throughput::Bytes(c.bytes.len() as u64));
        g.sample_size(10);
        g.bench_function("voltwire_records", |b| b.iter(|| ours(c)));
        g.bench_function("voltwire_blocks", |b| b.iter(|| ours_blocks(c)));
        g.bench_function("vedirect_0_2_0", |b| b.iter(|| peer(c)));
        g.bench_function("vedirect_rs_0_2_3", |b| b.iter(|| peer_vedirect_rs(c)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
