//! A stream of arbitrary frames (id, length, data, time step) through the telegram
//! assembler: no panic, and a complete telegram always holds every required part.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_pylontech::can::{Assembler, Message, PartSet};

fuzz_target!(|input: &[u8]| {
    let mut a = Assembler::new(PartSet::PYLONTECH);
    let mut now = 0u64;
    for rec in input.chunks(11) {
        let [id_lo, len, step, data @ ..] = rec else {
            break;
        };
        let id = 0x300 | u16::from(*id_lo);
        let data = &data[..usize::from(*len % 9).min(data.len())];
        now = now.wrapping_add(u64::from(*step));
        if let Ok(m) = Message::parse(id, data) {
            a.push(m, now);
        }
        let _ = a.missing();
        let _ = a.oldest_age(now);
        if let Ok(t) = a.complete(now, 200) {
            assert!(PartSet::PYLONTECH.iter().all(|p| t.get(p).is_some()));
        }
    }
});
