//! voltwire-pylontech CAN: the BMS ↔ inverter messages both directions and the telegram
//! assembler.
#![no_std]
#![no_main]

use voltwire_pylontech::can::{Assembler, Message, PartSet, RawFrame};
use voltwire_size_probe::{input, opaque, probe_main, sink};

fn probe() {
    let mut assembler = Assembler::new(opaque(PartSet::default()));
    let bytes = input();
    if let Some(f) = RawFrame::standard(
        u16::from(voltwire_size_probe::byte()),
        bytes.get(..8).unwrap_or_default(),
    ) {
        if let Ok(m) = Message::from_frame(&f) {
            sink(m.to_frame::<RawFrame>());
            sink(assembler.push(m, opaque(0)));
        }
    }
    sink(assembler.complete(opaque(0), opaque(0)));
}

probe_main! { probe;
    info "pylontech::can::Message" => Message,
    info "pylontech::can::Assembler" => Assembler,
}
