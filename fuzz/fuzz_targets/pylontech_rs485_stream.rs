//! The slave role reading requests from arbitrary bytes (any chunking): never panics, every
//! request re-emits to a frame that decodes back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::{ScanDecoder, StreamDecoder as _};
use voltwire_pylontech::rs485::{Frame, Request, Requests};

fuzz_target!(|data: &[u8]| {
    let chunk = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut d = ScanDecoder::<Requests, { voltwire_asciihex::MAX_FRAME_LEN }>::new();
    for c in data.chunks(chunk) {
        d.feed_all(c, |item| {
            let Ok(r) = item.value else { return };
            let f = r.to_frame().unwrap();
            assert_eq!(
                Request::from_frame(&Frame::parse(&f.to_bytes()).unwrap()),
                r
            );
        });
    }
});
