//! voltwire-asciihex: the `~…\r` envelope decoder and encoder.
#![no_std]
#![no_main]

use voltwire_asciihex::{AsciiHex, Decoder, Frame};
use voltwire_core::{Emit, ScanDecoder, StreamDecoder};
use voltwire_size_probe::{input, probe_main, sink};

fn frame(f: &Frame) {
    let mut out = [0u8; 256];
    sink(f.emit(&mut out));
}

/// Sized for one module's replies (a 16-cell analog reply is 140 bytes).
type SmallDecoder = ScanDecoder<AsciiHex, 512>;

fn probe() {
    let mut decoder = SmallDecoder::new();
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
    info "asciihex::Decoder (default, MAX_FRAME_LEN)" => Decoder,
    decoder "asciihex ScanDecoder<AsciiHex, 512>" => SmallDecoder,
    info "asciihex::Frame" => Frame,
}
