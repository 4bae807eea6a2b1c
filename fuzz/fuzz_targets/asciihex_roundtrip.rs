//! Envelope round trip: the input as header + INFO builds a frame whose bytes parse back to
//! it; the input as a frame, if it parses, re-emits byte-exact (upper-case input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_asciihex::{Frame, MAX_INFO_LEN};
use voltwire_core::Emit as _;

fuzz_target!(|data: &[u8]| {
    if let [ver, adr, cid1, cid2, info @ ..] = data {
        if info.len() <= MAX_INFO_LEN {
            let f = Frame::new(*ver, *adr, *cid1, *cid2, info).unwrap();
            let bytes = f.to_bytes();
            assert_eq!(bytes.len(), f.buffer_len());
            assert_eq!(Frame::parse(&bytes), Ok(f));
        }
    }
    if let Ok(f) = Frame::parse(data) {
        if !data.iter().any(u8::is_ascii_lowercase) {
            assert_eq!(f.to_bytes().as_slice(), data);
        }
    }
});
