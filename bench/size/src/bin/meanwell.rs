//! voltwire-meanwell: CAN messages both directions.
#![no_std]
#![no_main]

use voltwire_meanwell::{Message, RawFrame};
use voltwire_size_probe::{input, probe_main, sink};

fn probe() {
    let id = u32::from_le_bytes(
        input()
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default(),
    );
    if let Ok(m) = Message::parse(id, input()) {
        sink(m.emit());
        sink(m.to_frame::<RawFrame>());
    }
}

probe_main! { probe;
    info "meanwell::Message" => Message,
}
