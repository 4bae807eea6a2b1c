//! Arbitrary bytes into the JK "4E 57" stream decoder: no panic, bounded drops, and feeding
//! the same bytes in chunks (size from the first byte) gives exactly the same items.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::StreamDecoder;
use voltwire_jk::{Error, JkDecoder, Message};

type Items = Vec<(u64, Result<Message, Error>)>;

fn run(data: &[u8], chunk: usize) -> (Items, u64) {
    let mut d = JkDecoder::new();
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
    assert!(whole.0.iter().all(|(_, m)| m.is_ok()));
});
