//! Any 29-bit id and up to 8 data bytes: parsing never panics, whatever parses emits back
//! to the same bytes, and the limits check never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_meanwell::{Body, Message, Model};

fuzz_target!(|input: &[u8]| {
    let Some((&[a, b], data)) = input.split_first_chunk::<2>() else {
        return;
    };
    // Mostly Mean Well ids: 0x000C0000-0x000C03FF, else any 29-bit value.
    let id = if a & 0x80 == 0 {
        0x000C_0000 | (u32::from(a & 0x03) << 8) | u32::from(b)
    } else {
        u32::from_be_bytes([a & 0x1F, b, a, b])
    };
    let data = &data[..data.len().min(8)];
    if let Ok(m) = Message::parse(id, data) {
        let (out, len) = m.emit().expect("a parsed message emits");
        assert_eq!(&out[..len], data);
        assert_eq!(m.id(), id);
        if let Body::Write(v) | Body::Reply(v) = m.body {
            for model in Model::ALL {
                let _ = model.check(&v);
            }
        }
    }
});
