//! voltwire-asciihex: the `~…\r` envelope decoder and encoder.
#![no_std]
#![no_main]

use voltwire_asciihex::{AsciiHex, Decoder, Frame};
use voltwire_core::{Emit, ScanDecoder, StreamDecoder};
use voltwire_size_probe::{input, probe_main, sink};

/// INFO of one module's replies (a 16-cell analog reply carries 61 bytes).
const INFO: usize = 128;
type SmallFrame = Frame<INFO>;

fn frame(f: &SmallFrame) {
    let mut out = [0u8; 512];
    sink(f.emit(&mut out));
}

/// Sized for one module's replies (a 16-cell analog reply is 140 bytes on the wire).
type SmallDecoder = ScanDecoder<AsciiHex<INFO>, 512>;

fn probe() {
    let mut decoder = SmallDecoder::new();
    decoder.feed_all(input(), |item| {
        if let Ok(f) = item.value {
            frame(&f);
        }
    });
    sink(decoder.finish());
    if let Ok(f) = SmallFrame::parse_sized(input()) {
        frame(&f);
    }
}

probe_main! { probe;
    info "asciihex::Decoder (default, MAX_FRAME_LEN)" => Decoder,
    decoder "asciihex ScanDecoder<AsciiHex<128>, 512>" => SmallDecoder,
    info "asciihex::Frame (default, any INFO)" => Frame,
    message "asciihex::Frame<128>" => SmallFrame,
}
