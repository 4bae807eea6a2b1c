//! Pylontech RS485 0x42 replies: voltwire (stream scan, both checksums, typed modules) on the
//! three valid real 0x42 captures of testdata/pylontech/rs485, repeated; and the slave role
//! encoding the same replies. `interop/pylontech/bench_peer.py` times python-pylontech 0.3.3
//! on the same bytes (see bench-pylontech.md).
//!
//! Before the criterion runs it prints frames/s over a timed pass.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voltwire_core::{Emit as _, StreamDecoder as _};
use voltwire_pylontech::rs485::{Frame, Response, ResponseBody};

const CAPTURES: [&str; 3] = [
    "us2000-resp-0x42-all-3-modules.bin",
    "us5000-resp-0x42.bin",
    "up5000-resp-0x42.bin",
];

fn corpus() -> (Vec<u8>, usize) {
    let dir = format!("{}/../testdata/pylontech/rs485", env!("CARGO_MANIFEST_DIR"));
    let mut one = Vec::new();
    for c in CAPTURES {
        one.extend(std::fs::read(format!("{dir}/{c}")).expect("capture"));
    }
    let reps = 1000;
    (one.repeat(reps), CAPTURES.len() * reps)
}

fn decode_all(bytes: &[u8]) -> usize {
    let mut d = voltwire_asciihex::Decoder::new();
    let mut cells = 0;
    d.feed_all(bytes, |item| {
        let frame = item.value.expect("valid");
        if let ResponseBody::Analog(a) = Response::from_frame(&frame, 0x42).body {
            cells += a.modules.iter().map(|m| m.cells.len()).sum::<usize>();
        }
    });
    cells
}

fn responses(bytes: &[u8]) -> Vec<Response> {
    let mut out = Vec::new();
    let mut d = voltwire_asciihex::Decoder::new();
    d.feed_all(bytes, |item| {
        out.push(Response::from_frame(&item.value.expect("valid"), 0x42));
    });
    out
}

fn bench(c: &mut Criterion) {
    let (bytes, frames) = corpus();
    let t = Instant::now();
    let cells = decode_all(&bytes);
    let dt = t.elapsed().as_secs_f64();
    println!(
        "voltwire decode: {frames} frames ({cells} cells) in {dt:.4} s = {:.0} frames/s, {:.1} MB/s",
        frames as f64 / dt,
        bytes.len() as f64 / dt / 1e6
    );
    let rs = responses(&bytes[..bytes.len() / 1000]);
    let mut buf = vec![0u8; voltwire_asciihex::MAX_FRAME_LEN];
    let t = Instant::now();
    let n = 10_000;
    for i in 0..n {
        let f: Frame = rs[i % rs.len()].to_frame().expect("fits");
        black_box(f.emit(&mut buf).expect("fits"));
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "voltwire encode (slave role): {:.0} frames/s",
        n as f64 / dt
    );

    let mut g = c.benchmark_group("pylontech_rs485_0x42");
    g.throughput(Throughput::Elements(frames as u64));
    g.bench_function("voltwire_decode", |b| {
        b.iter(|| decode_all(black_box(&bytes)))
    });
    g.finish();
    let mut g = c.benchmark_group("pylontech_rs485_0x42_encode");
    g.throughput(Throughput::Elements(rs.len() as u64));
    g.bench_function("voltwire_encode", |b| {
        b.iter(|| {
            for r in &rs {
                let f = r.to_frame().expect("fits");
                black_box(f.emit(&mut buf).expect("fits"));
            }
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
