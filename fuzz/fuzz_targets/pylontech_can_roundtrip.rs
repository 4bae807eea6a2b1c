//! Any 11-bit id and up to 8 data bytes: parsing never panics, and whatever parses emits
//! back to the same bytes and parses to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_pylontech::can::Message;

fuzz_target!(|input: &[u8]| {
    let Some((&[hi, lo], data)) = input.split_first_chunk::<2>() else {
        return;
    };
    let id = u16::from_be_bytes([hi, lo]) & 0x7FF;
    let data = &data[..data.len().min(8)];
    if let Ok(m) = Message::parse(id, data) {
        let (out, len) = m.emit().expect("a parsed message emits");
        assert_eq!(&out[..len], data);
        assert_eq!(Message::parse(id, &out[..len]), Ok(m));
    }
});
