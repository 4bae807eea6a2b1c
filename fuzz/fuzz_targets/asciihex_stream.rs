//! The ASCII-hex scanner and stream decoder on arbitrary bytes, fed in input-chosen chunks:
//! never panics, every frame it yields re-emits to the bytes it came from, `scan_frame`
//! keeps its invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_asciihex::{Decoder, Found, Frame, MAX_FRAME_LEN, scan_frame};
use voltwire_core::StreamDecoder as _;

fuzz_target!(|data: &[u8]| {
    match scan_frame(data) {
        Found::Frame { skip, len } => {
            let f = Frame::parse(&data[skip..skip + len]).expect("scanned frame parses");
            assert_eq!(f.to_bytes().len(), len);
        }
        Found::Corrupt { skip, len, .. } => {
            assert!(skip + len <= data.len());
            assert!(Frame::parse(&data[skip..skip + len]).is_err());
        }
        Found::Incomplete { skip } => assert!(data.len() - skip < MAX_FRAME_LEN),
    }
    let chunk = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut d = Decoder::new();
    for c in data.chunks(chunk) {
        d.feed_all(c, |item| {
            // Corrupt frames come out as error items; valid ones must round-trip.
            let Ok(f) = item.value else { return };
            let bytes = f.to_bytes();
            assert_eq!(Frame::parse(&bytes), Ok(f));
        });
    }
    while d.finish().is_some() {}
});
