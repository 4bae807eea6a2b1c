//! Daly 0xA5 frames: voltwire vs the crates.io peer `dalybms` 0.2.0 (`default-features =
//! false`, library `dalybms_lib`) on the same real reply frames (testdata/daly: 4 × 0x90,
//! 0x92, 0x93, 0x94 and the two 0x96 frames of one reply), repeated to ≥ 1 MB.
//!
//! Before the criterion runs it prints, per decoder: frames delivered out of the frames in
//! the corpus, M frames/s over a timed pass, and heap allocations per frame (counted by a
//! global allocator wrapper).
//!
//! Fairness: `voltwire (stream)` is fed random chunk sizes (1..=256 bytes, fixed seed), finds
//! the frames itself (resynchronising scanner, checksum), types every reply and assembles the
//! 0x96 pair. `voltwire (parse)` and `dalybms` get each 13-byte frame already cut out (the
//! peer cannot find frames in a stream); both verify the checksum and decode every field;
//! the peer decodes the 0x96 pair with `CellTemperatures::decode(pair, 8)`, which returns a
//! `Vec`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dalybms_lib::protocol as peer;
use voltwire_core::StreamDecoder;
use voltwire_daly::{Assembler, Decoder, RawFrame, Response, Series, Variant};

#[global_allocator]
static GLOBAL: voltwire_bench::CountingAlloc = voltwire_bench::CountingAlloc;

const TARGET_BYTES: usize = 1 << 20;

const FILES: [&str; 8] = [
    "mal-readme-pack-status-57v0.bin",
    "esphome-12445-pack-status-13v0.bin",
    "mppsolar-pack-status-53v2.bin",
    "mppsolar-pack-status-26v5.bin",
    "mppsolar-temperature-range.bin",
    "mppsolar-mosfet-status.bin",
    "mppsolar-status-info-16s.bin",
    "mppsolar-temperatures-2-frames.bin",
];

struct Corpus {
    bytes: Vec<u8>,
    frames: u64,
    chunks: Vec<usize>,
}

fn corpus() -> Corpus {
    let dir = std::env::var("VOLTWIRE_TESTDATA")
        .unwrap_or_else(|_| format!("{}/../testdata", env!("CARGO_MANIFEST_DIR")));
    let mut one = Vec::new();
    for f in FILES {
        one.extend(std::fs::read(format!("{dir}/daly/{f}")).unwrap());
    }
    assert_eq!(one.len() % 13, 0);
    let copies = TARGET_BYTES.div_ceil(one.len());
    let bytes = one.repeat(copies);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let (mut chunks, mut total) = (Vec::new(), 0);
    while total < bytes.len() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (x % 256 + 1) as usize;
        chunks.push(n);
        total += n;
    }
    Corpus {
        frames: (bytes.len() / 13) as u64,
        bytes,
        chunks,
    }
}

fn chunked(c: &Corpus) -> impl Iterator<Item = &[u8]> + '_ {
    let mut at = 0;
    c.chunks.iter().map_while(move |&n| {
        let end = (at + n).min(c.bytes.len());
        let s = c.bytes.get(at..end)?;
        at = end;
        (!s.is_empty()).then_some(s)
    })
}

/// Type one verified frame; 0x96 frames go to the assembler. Returns 1 per frame used.
fn typed(f: &RawFrame, v: &Variant, temps: &mut Assembler) -> u64 {
    if Series::of(voltwire_daly::Command(f.command)).is_some() {
        temps.push(f);
        if temps.is_complete() {
            black_box(temps.temperature(1));
            temps.reset();
        }
        return 1;
    }
    match Response::parse(f, v) {
        Ok(r) => {
            black_box(r);
            1
        }
        Err(_) => 0,
    }
}

fn ours_stream(c: &Corpus) -> u64 {
    let v = Variant::default();
    let mut temps = Assembler::with_count(Series::Temperatures, 8);
    let mut d = Decoder::new();
    let mut n = 0;
    for chunk in chunked(c) {
        d.feed_all(chunk, |l| {
            if let Ok(f) = l.value {
                n += typed(&f, &v, &mut temps);
            }
        });
    }
    n
}

fn ours_parse(c: &Corpus) -> u64 {
    let v = Variant::default();
    let mut temps = Assembler::with_count(Series::Temperatures, 8);
    let mut n = 0;
    for frame in c.bytes.chunks_exact(13) {
        if let Ok(f) = RawFrame::parse(frame) {
            n += typed(&f, &v, &mut temps);
        }
    }
    n
}

fn peer_dalybms(c: &Corpus) -> u64 {
    let mut n = 0;
    let mut frames = c.bytes.chunks_exact(13);
    while let Some(f) = frames.next() {
        n += match f[2] {
            0x90 => peer::Soc::decode(f).map(|s| black_box(s.current)).is_ok() as u64,
            0x92 => peer::TemperatureRange::decode(f)
                .map(|t| black_box(t.highest_temperature))
                .is_ok() as u64,
            0x93 => peer::MosfetStatus::decode(f)
                .map(|m| black_box(m.capacity_ah))
                .is_ok() as u64,
            0x94 => peer::Status::decode(f).map(|s| black_box(s.cycles)).is_ok() as u64,
            0x96 => {
                let Some(second) = frames.next() else { break };
                let pair = [f, second].concat();
                2 * peer::CellTemperatures::decode(&pair, 8)
                    .map(|t| black_box(t.len()))
                    .is_ok() as u64
            }
            _ => 0,
        };
    }
    n
}

fn summary(c: &Corpus, name: &str, f: fn(&Corpus) -> u64) {
    let _ = f(c);
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
    println!(
        "{:<20} frames {:>7}/{:<7} ({:>5.1} %)  {:>8.2} M frames/s  {:>7.1} MB/s  {:>6.3} allocs/frame",
        name,
        n,
        c.frames,
        100.0 * n as f64 / c.frames as f64,
        c.frames as f64 / secs / 1e6,
        c.bytes.len() as f64 / secs / 1e6,
        allocs / c.frames as f64,
    );
}

fn bench(cr: &mut Criterion) {
    let c = corpus();
    println!(
        "\n== Daly 0xA5: 9 real reply frames repeated to >= {} MiB ==",
        TARGET_BYTES >> 20
    );
    summary(&c, "voltwire (stream)", ours_stream);
    summary(&c, "voltwire (parse)", ours_parse);
    summary(&c, "dalybms 0.2.0", peer_dalybms);

    // Ratios from the fastest of 30 interleaved passes each (steady on a loaded machine).
    let t = voltwire_bench::interleaved_min(
        &[&|| ours_stream(&c), &|| ours_parse(&c), &|| {
            peer_dalybms(&c)
        }],
        30,
    );
    println!(
        "ratio vs dalybms (min of 30 interleaved passes; > 1 = faster): parse {:.2}x, stream {:.2}x",
        t[2] / t[1],
        t[2] / t[0]
    );

    let mut g = cr.benchmark_group("daly");
    g.throughput(Throughput::Elements(c.frames));
    g.sample_size(10);
    g.bench_function("voltwire_stream", |b| b.iter(|| ours_stream(&c)));
    g.bench_function("voltwire_parse", |b| b.iter(|| ours_parse(&c)));
    g.bench_function("dalybms_0_2_0", |b| b.iter(|| peer_dalybms(&c)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
