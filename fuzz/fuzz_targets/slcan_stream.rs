//! Arbitrary bytes through both SLCAN decoders, whole and in chunks: no panic, bounded
//! drops, and chunking does not change the items.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::StreamDecoder;
use voltwire_slcan::{AdapterDecoder, HostDecoder};

fn run<D: StreamDecoder + Default>(input: &[u8], chunk: usize) -> (Vec<(u64, String)>, u64)
where
    D::Item: core::fmt::Debug,
{
    let mut d = D::default();
    let mut got = Vec::new();
    for c in input.chunks(chunk.max(1)) {
        d.feed_all(c, |l| got.push((l.offset, format!("{:?}", l.value))));
    }
    while let Some(l) = d.finish() {
        got.push((l.offset, format!("{:?}", l.value)));
    }
    (got, d.dropped_bytes())
}

fuzz_target!(|input: &[u8]| {
    let Some((&chunk, data)) = input.split_first() else {
        return;
    };
    let chunk = usize::from(chunk % 32) + 1;
    let whole = run::<HostDecoder>(data, data.len());
    assert_eq!(whole, run::<HostDecoder>(data, chunk));
    assert!(whole.1 <= data.len() as u64);
    let whole = run::<AdapterDecoder>(data, data.len());
    assert_eq!(whole, run::<AdapterDecoder>(data, chunk));
});
