//! Every line that decodes re-encodes to bytes that decode to the same item (both roles).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::{Emit, StreamDecoder};
use voltwire_slcan::{AdapterDecoder, HostDecoder};

fuzz_target!(|input: &[u8]| {
    let mut items = Vec::new();
    HostDecoder::new().feed_all(input, |l| items.push(l.value));
    for r in items.into_iter().flatten() {
        let mut buf = [0u8; 64];
        let n = r.emit(&mut buf).expect("a decoded response emits");
        let mut again = Vec::new();
        HostDecoder::new().feed_all(&buf[..n], |l| again.push(l.value));
        assert_eq!(again, vec![Ok(r)]);
    }
    let mut items = Vec::new();
    AdapterDecoder::new().feed_all(input, |l| items.push(l.value));
    for c in items.into_iter().flatten() {
        let mut buf = [0u8; 64];
        let n = c.emit(&mut buf).expect("a decoded command emits");
        let mut again = Vec::new();
        AdapterDecoder::new().feed_all(&buf[..n], |l| again.push(l.value));
        assert_eq!(again, vec![Ok(c)]);
    }
});
