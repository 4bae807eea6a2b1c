//! Arbitrary bytes as a "4E 57" frame (with its envelope fixed up so that the checksum
//! passes, to reach the record parser) and as a bare info field: whatever parses re-encodes,
//! and the re-encoding parses to the same message (`parse(emit(m)) == m`). Bytes re-encode
//! identically unless an ID repeats or IDs are out of ascending order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::Emit;
use voltwire_core::checksum::sum16;
use voltwire_jk::frame::MAX_FRAME_LEN;
use voltwire_jk::{Message, Record};

fuzz_target!(|data: &[u8]| {
    // As an info field.
    let r = Record::parse_info(data);
    let mut out = vec![0; r.info_len()];
    let n = r.emit_info(&mut out).unwrap();
    // Shorter than `data` when an ID repeats (the last value is kept).
    assert_eq!(n, out.len());
    assert!(n <= data.len());
    assert_eq!(Record::parse_info(&out), r);

    // As the body of a frame: header bytes from the input, valid envelope around them.
    if data.len() < 11 || data.len() + 9 > MAX_FRAME_LEN {
        return;
    }
    let mut frame = vec![0x4E, 0x57, 0, 0];
    frame.extend_from_slice(&data[4..]);
    frame.extend_from_slice(&[0, 0, 0, 0, 0x68, 0, 0]);
    let len = u16::try_from(frame.len()).unwrap(); // + 2 checksum − 2 start
    frame[2..4].copy_from_slice(&len.to_be_bytes());
    let sum = sum16(&frame);
    frame.extend_from_slice(&sum.to_be_bytes());
    let m = Message::parse(&frame).unwrap();
    let mut out = vec![0; m.buffer_len()];
    let n = m.emit(&mut out).unwrap();
    assert!(n <= frame.len());
    assert_eq!(Message::parse(&out).unwrap(), m);
});
