//! Arbitrary bytes into the JK-PB bus decoder: no panic, bounded drops, chunk independence,
//! and every frame it yields re-encodes to exactly its bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::{Emit, StreamDecoder};
use voltwire_jk::pb::{Error, Message, PbDecoder};

type Items = Vec<(u64, Result<Message, Error>)>;

fn run(data: &[u8], chunk: usize) -> (Items, u64) {
    let mut d = PbDecoder::new();
    let mut items = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        d.feed_all(c, |l| items.push((l.offset, l.value)));
    }
    while let Some(l) = d.finish() {
        items.push((l.offset, l.value));
    }
    (items, d.dropped_bytes())
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let whole = run(rest, rest.len().max(1));
    let chunked = run(rest, usize::from(chunk % 17) + 1);
    assert_eq!(whole, chunked);
    assert!(whole.1 <= rest.len() as u64);
    for (offset, m) in &whole.0 {
        let m = m.as_ref().unwrap();
        let mut out = vec![0; m.buffer_len()];
        let n = m.emit(&mut out).unwrap();
        let at = usize::try_from(*offset).unwrap();
        assert_eq!(&out[..n], &rest[at..at + n]);
    }
});
