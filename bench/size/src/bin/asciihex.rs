//! voltwire-asciihex: the `~…\r` envelope decoder and encoder.
#![no_std]
#![no_main]

use voltwire_asciihex::{Decoder, Frame};
use voltwire_core::{Emit, StreamDecoder};
use voltwire_size_probe::{input, probe_main, sink};

fn frame(f: &Frame) {
    let mut out = [0u8; 256];
    sink(f.emit(&mut out));
}

fn probe() {
    let mut decoder = Decoder::new();
    decoder.feed_all(input(), |item| {
        if let Ok(f) = item.value {
            frame(&f);
        }
    });
    sink(decoder.finish());
    if let Ok(f) = Frame::parse(input()) {
        frame(&f);
    }
}

probe_main! { probe;
    decoder "asciihex::Decoder" => Decoder,
    info "asciihex::Frame" => Frame,
}
