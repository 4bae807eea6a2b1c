//! Arbitrary bytes through the Soyosource demand-frame decoder, whole and in chunks: no
//! panic, bounded drops, chunking does not change the items, and every decoded demand
//! re-emits to the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::StreamDecoder;
use voltwire_soyosource::{Decoder, Demand, FRAME_LEN};

fn run(input: &[u8], chunk: usize) -> (Vec<(u64, Result<Demand, voltwire_soyosource::Error>)>, u64) {
    let mut d = Decoder::default();
    let mut got = Vec::new();
    for c in input.chunks(chunk.max(1)) {
        d.feed_all(c, |l| got.push((l.offset, l.value)));
    }
    while let Some(l) = d.finish() {
        got.push((l.offset, l.value));
    }
    (got, d.dropped_bytes())
}

fuzz_target!(|input: &[u8]| {
    let Some((&chunk, data)) = input.split_first() else {
        return;
    };
    let chunk = usize::from(chunk % 16) + 1;
    let whole = run(data, data.len());
    assert_eq!(whole, run(data, chunk));
    assert!(whole.1 <= data.len() as u64);
    for (offset, item) in &whole.0 {
        if let Ok(m) = item {
            let start = usize::try_from(*offset).unwrap();
            assert_eq!(&m.to_bytes().unwrap()[..], &data[start..start + FRAME_LEN]);
        }
    }
});
