//! Master-side helpers shared by the tests: requests built with the protocol crates'
//! encoders, replies decoded with their decoders.

#![allow(dead_code, reason = "each test file uses a subset")]

use std::time::Duration;

use voltwire_core::{Emit as _, StreamDecoder as _};
use voltwire_sim::{Plant, SerialResponder};

pub(crate) const NOW: Duration = Duration::from_secs(10);

/// Daly: send `req` from host 0x40, decode every reply frame.
pub(crate) fn daly(
    bms: &mut impl SerialResponder,
    plant: &Plant,
    req: voltwire_daly::Request,
) -> Vec<Result<voltwire_daly::Response, voltwire_daly::Error>> {
    let variant = voltwire_daly::Variant::RS485;
    let mut tx = [0u8; 13];
    req.emit(variant.host_address, &mut tx).unwrap();
    let mut out = Vec::new();
    bms.on_bytes(&tx, NOW, plant, &mut out);
    let mut d = voltwire_daly::Decoder::new();
    let mut replies = Vec::new();
    d.feed_all(&out, |i| {
        replies.push(i.value.and_then(|f| {
            assert_eq!(f.address, 0x01);
            voltwire_daly::Response::parse(&f, &variant)
        }));
    });
    replies
}

/// Pylontech RS485: send `req`, decode the replies (frames) and read them as answers to it.
pub(crate) fn pylon(
    stack: &mut impl SerialResponder,
    plant: &Plant,
    req: &voltwire_pylontech::rs485::Request,
) -> Vec<Result<voltwire_pylontech::rs485::Response, voltwire_asciihex::Error>> {
    let frame = req.to_frame().unwrap();
    let mut tx = vec![0u8; frame.buffer_len()];
    let n = frame.emit(&mut tx).unwrap();
    let mut out = Vec::new();
    stack.on_bytes(&tx[..n], NOW, plant, &mut out);
    pylon_decode(&out, req.command())
}

pub(crate) fn pylon_decode(
    bytes: &[u8],
    command: u8,
) -> Vec<Result<voltwire_pylontech::rs485::Response, voltwire_asciihex::Error>> {
    let mut d = voltwire_asciihex::Decoder::new();
    let mut replies = Vec::new();
    d.feed_all(bytes, |i| {
        replies.push(
            i.value
                .map(|f| voltwire_pylontech::rs485::Response::from_frame(&f, command)),
        );
    });
    replies
}

/// VE.Direct: decode a stream into records, HEX frames and errors.
pub(crate) fn vedirect(
    bytes: &[u8],
) -> Vec<Result<voltwire_victron::text::Message, voltwire_victron::text::Error>> {
    let mut d = voltwire_victron::text::RecordDecoder::new();
    let mut items = Vec::new();
    d.feed_all(bytes, |i| items.push(i.value));
    while let Some(i) = d.finish() {
        items.push(i.value);
    }
    items
}

/// Send a VE.Direct HEX request and decode the HEX response.
pub(crate) fn vedirect_hex(
    dev: &mut impl SerialResponder,
    plant: &Plant,
    req: &voltwire_victron::hex::Request,
) -> Vec<Result<voltwire_victron::text::Message, voltwire_victron::text::Error>> {
    let line = req.to_frame().unwrap().to_line();
    let mut out = Vec::new();
    dev.on_bytes(&line, NOW, plant, &mut out);
    vedirect(&out)
}
