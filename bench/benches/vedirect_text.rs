//! VE.Direct TEXT decoding: voltwire vs the crates.io peers `vedirect` 0.2.0 and
//! `vedirect_rs` 0.2.3, on the same real captures (testdata/victron), repeated to ≥ 1 MB.
//!
//! Before the criterion runs it prints, per corpus and decoder: blocks delivered out of the
//! valid blocks in the corpus, blocks/s and MB/s over a timed pass, and heap allocations per
//! block (counted by a global allocator wrapper).
//!
//! Fairness: voltwire is fed random chunk sizes (1..=256 bytes, fixed seed), verifies every
//! checksum and types every field. `vedirect` (streaming) gets the same chunks and a
//! `VEDirectData` impl that parses every numeric field (its own MPPT/BMV types reject these
//! captures for a missing `OR`/`H` field). `vedirect_rs` cannot resume a stream, so it gets
//! the whole corpus in one call, its best case.
#![allow(missing_docs, clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voltwire_core::StreamDecoder;
use voltwire_victron::text::{Decoder, Event, Message, RecordDecoder};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY-free: delegates to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TARGET_BYTES: usize = 1 << 20;

struct Corpus {
    name: &'static str,
    bytes: Vec<u8>,
    valid_blocks: u64,
    chunks: Vec<usize>,
}

fn corpus(name: &'static str, file: &str) -> Corpus {
    let path = format!("{}/../testdata/victron/{file}", env!("CARGO_MANIFEST_DIR"));
    let one = std::fs::read(&path).unwrap();
    // Valid blocks in one copy, counted by checksum alone (independent of any decoder):
    // the test suite checks these counts against testdata/victron/manifest.json.
    let mut d = Decoder::new();
    let mut valid = 0u64;
    let mut rest = &one[..];
    while !rest.is_empty() {
        let p = d.feed(rest);
        rest = &rest[p.consumed..];
        if let Some(l) = p.item {
            if matches!(l.value, Event::Block(_)) {
                valid += 1;
            }
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

/// voltwire: records (typed, assembled) — counts the blocks in them.
fn ours(c: &Corpus) -> u64 {
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
            if let Some(l) = p.item {
                if let Event::Block(b) = l.value {
                    black_box(b.len());
                    blocks += 1;
                }
            }
        }
    }
    blocks
}

/// A `vedirect` data type that accepts any block and parses every numeric value.
struct AnyBlock(i64);

impl vedirect::VEDirectData for AnyBlock {
    fn fill(fields: &HashMap<String, Vec<u8>>) -> Result<Self, vedirect::VEError> {
        let mut sum = 0i64;
        for v in fields.values() {
            if let Some(n) = std::str::from_utf8(v).ok().and_then(|s| s.parse::<i64>().ok()) {
                sum = sum.wrapping_add(n);
            }
        }
        Ok(AnyBlock(sum))
    }
}

#[derive(Default)]
struct Collect(u64);

impl vedirect::Events<AnyBlock> for Collect {
    fn on_complete_block(&mut self, block: AnyBlock) {
        black_box(block.0);
        self.0 += 1;
    }
}

fn peer_vedirect(c: &Corpus) -> u64 {
    let mut sink = Collect::default();
    {
        let mut p = vedirect::Parser::new(&mut sink);
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

fn summary(c: &Corpus, name: &str, per_record_blocks: u64, f: fn(&Corpus) -> u64) {
    let _ = f(c); // warm up
    let a0 = ALLOCS.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let mut passes = 0u32;
    let mut n = 0;
    while t0.elapsed().as_secs_f64() < 1.0 || passes < 3 {
        n = f(c);
        passes += 1;
    }
    let secs = t0.elapsed().as_secs_f64() / f64::from(passes);
    let allocs = (ALLOCS.load(Ordering::Relaxed) - a0) as f64 / f64::from(passes);
    let blocks = n * per_record_blocks;
    println!(
        "{:<10} {:<22} blocks {:>7}/{:<7} ({:>5.1} %)  {:>8.3} M blocks/s  {:>7.1} MB/s  {:>6.2} allocs/block",
        c.name,
        name,
        blocks,
        c.valid_blocks,
        100.0 * blocks as f64 / c.valid_blocks as f64,
        blocks as f64 / secs / 1e6,
        c.bytes.len() as f64 / secs / 1e6,
        allocs / (blocks.max(1)) as f64,
    );
}

fn bench(cr: &mut Criterion) {
    let corpora = [
        (corpus("mppt", "smartsolar-100-20-fw139-karioja-dump.bin"), 1),
        (corpus("bmv", "bmv700-fw308-karioja-dump.bin"), 2),
    ];
    println!("\n== VE.Direct TEXT, {} MB corpora of real blocks ==", TARGET_BYTES >> 20);
    for (c, per_record) in &corpora {
        summary(c, "voltwire (records)", *per_record, ours);
        summary(c, "voltwire (blocks)", 1, ours_blocks);
        summary(c, "vedirect 0.2.0", 1, peer_vedirect);
        summary(c, "vedirect_rs 0.2.3", 1, peer_vedirect_rs);
    }
    for (c, _) in &corpora {
        let mut g = cr.benchmark_group(format!("vedirect_text/{}", c.name));
        g.throughput(Throughput::Bytes(c.bytes.len() as u64));
        g.sample_size(10);
        g.bench_function("voltwire_records", |b| b.iter(|| ours(c)));
        g.bench_function("voltwire_blocks", |b| b.iter(|| ours_blocks(c)));
        g.bench_function("vedirect_0_2_0", |b| b.iter(|| peer_vedirect(c)));
        g.bench_function("vedirect_rs_0_2_3", |b| b.iter(|| peer_vedirect_rs(c)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
