//! Arbitrary bytes as one JK-PB frame (a 55AA block gets its sum8 fixed up to reach the
//! field readers): whatever parses re-encodes to the same bytes, and the typed status,
//! settings and about views write back what they read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::Emit;
use voltwire_jk::pb::{BLOCK_LEN, BLOCK_START, Block, Message};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let mut out = vec![0; m.buffer_len()];
        let n = m.emit(&mut out).unwrap();
        assert_eq!(&out[..n], data);
    }
    // The same bytes as the body of a block.
    let mut raw = [0u8; BLOCK_LEN];
    let n = data.len().min(BLOCK_LEN);
    raw[..n].copy_from_slice(&data[..n]);
    raw[..4].copy_from_slice(&BLOCK_START);
    let mut block = Block(raw);
    block.fix_checksum();
    assert!(matches!(Message::parse(&block.0), Ok(Message::Block(_))));
    // The typed views write back what they read (the pack voltage saturates at i32::MAX mV
    // and settings temperatures at i16 tenths, so compare views, not bytes).
    if let Some(s) = block.status() {
        let mut copy = block.clone();
        s.write_to(&mut copy).unwrap();
        assert_eq!(copy.status(), Some(s));
    }
    if let Some(s) = block.settings() {
        let mut copy = block.clone();
        s.write_to(&mut copy).unwrap();
        assert_eq!(copy.settings(), Some(s));
    }
    if let Some(a) = block.about() {
        let mut copy = block.clone();
        a.write_to(&mut copy);
        assert_eq!(copy, block);
    }
});
