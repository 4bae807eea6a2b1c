//! JK BMS decoding: the "4E 57" stream decoder and the JK-PB bus decoder on the real captures
//! of testdata/jk, repeated to >= 1 MiB and fed in random chunks (1..=256 bytes, fixed seed).
//!
//! Before the criterion runs it prints, per corpus: frames delivered out of the valid frames
//! in the corpus (counted independently of the stream decoder, by `scan_final`), frames/s,
//! MB/s over a timed pass, and heap allocations per frame (global allocator wrapper).
//!
//! Every delivered 4E 57 reply is typed completely (all data IDs) and its current decoded;
//! every JK-PB status block gets its typed `Status` view built.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voltwire_core::{Emit, StreamDecoder};
use voltwire_jk::pb::{self, PbDecoder};
use voltwire_jk::{JkDecoder, frame};

#[global_allocator]
static GLOBAL: voltwire_bench::CountingAlloc = voltwire_bench::CountingAlloc;

const TARGET_BYTES: usize = 1 << 20;

struct Corpus {
    name: &'static str,
    bytes: Vec<u8>,
    valid_frames: u64,
    chunks: Vec<usize>,
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../testdata/jk/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn count(one: &[u8], scan: fn(&[u8]) -> Option<(usize, usize)>) -> u64 {
    let mut n = 0;
    let mut at = 0;
    while let Some((skip, len)) = scan(&one[at..]) {
        n += 1;
        at += skip + len;
    }
    n
}

fn corpus(name: &'static str, one: Vec<u8>, scan: fn(&[u8]) -> Option<(usize, usize)>) -> Corpus {
    let valid = count(&one, scan);
    let copies = TARGET_BYTES.div_ceil(one.len());
    let bytes = one.repeat(copies);
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
        valid_frames: valid * copies as u64,
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

/// Every 4E 57 capture (including the two with a wrong checksum, which are dropped as noise).
fn jk_corpus() -> Corpus {
    let mut one = Vec::new();
    for f in [
        "read-all-request-syssi.bin",
        "reply-14s-v1-syssi-protocol-design.bin",
        "reply-16s-lfp-bd6a17s6p-fw710h.bin",
        "exchange-13s-b2a24s20p-fw1007.bin",
        "reply-7s-b1a8s20p-fw1151-kenura.bin",
        "reply-20s-vendor-example-bad-checksum.bin",
        "write-charge-mos-off-pr343-bad-checksum.bin",
    ] {
        one.extend(read(f));
    }
    corpus("jk", one, frame::scan_final)
}

/// A JK-PB bus: per captured status block the trigger request, the block, a padding byte, the
/// acknowledgement and a trailing byte (the envelope from the notes; the blocks are real).
fn pb_corpus() -> Corpus {
    let mut one = Vec::new();
    let mut buf = [0u8; 16];
    for (addr, f) in [
        (1u8, "pb-block-status-b2a8s20p-fw1117-ble-1.bin"),
        (2, "pb-block-status-b2a8s20p-fw1117-ble-2.bin"),
    ] {
        let n = pb::Message::trigger(addr, pb::Trigger::Status)
            .emit(&mut buf)
            .unwrap();
        one.extend_from_slice(&buf[..n]);
        one.extend(read(f));
        one.push(0);
        let ack = pb::Message::WriteAck {
            address: addr,
            register: 0x1620,
            quantity: 1,
        };
        let n = ack.emit(&mut buf).unwrap();
        one.extend_from_slice(&buf[..n]);
        one.push(0);
    }
    corpus("jk-pb", one, pb::scan_final)
}

fn ours_jk(c: &Corpus) -> u64 {
    let mut d = JkDecoder::new();
    let mut frames = 0u64;
    for chunk in chunked(c) {
        d.feed_all(chunk, |l| {
            if let Ok(m) = l.value {
                if let Some(r) = m.record() {
                    black_box(r.current());
                }
                frames += 1;
            }
        });
    }
    frames
}

fn ours_pb(c: &Corpus) -> u64 {
    let mut d = PbDecoder::new();
    let mut frames = 0u64;
    for chunk in chunked(c) {
        d.feed_all(chunk, |l| {
            if let Ok(m) = l.value {
                if let pb::Message::Block(b) = &m {
                    black_box(b.status().map(|s| s.current));
                }
                frames += 1;
            }
        });
    }
    frames
}

fn summary(c: &Corpus, name: &str, f: fn(&Corpus) -> u64) {
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
    println!(
        "{:<6} {:<24} frames {:>7}/{:<7} ({:>5.1} %)  {:>7.3} M frames/s  {:>7.1} MB/s  {:>6.2} allocs/frame",
        c.name,
        name,
        n,
        c.valid_frames,
        100.0 * n as f64 / c.valid_frames as f64,
        c.valid_frames as f64 / secs / 1e6,
        c.bytes.len() as f64 / secs / 1e6,
        allocs / c.valid_frames as f64,
    );
}

fn bench(cr: &mut Criterion) {
    let jk = jk_corpus();
    let pbc = pb_corpus();
    println!(
        "\n== JK: real captures repeated to >= {} MiB, random chunks 1..=256 ==",
        TARGET_BYTES >> 20
    );
    summary(&jk, "voltwire JkDecoder", ours_jk);
    summary(&pbc, "voltwire PbDecoder", ours_pb);

    for (c, f) in [(&jk, ours_jk as fn(&Corpus) -> u64), (&pbc, ours_pb)] {
        let mut g = cr.benchmark_group(format!("jk/{}", c.name));
        g.throughput(Throughput::Bytes(c.bytes.len() as u64));
        g.sample_size(10);
        g.bench_function("voltwire_stream", |b| b.iter(|| f(c)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
