//! Property tests: frame lines, commands and responses round-trip through emit and the
//! decoders (both roles); the decoders are total on arbitrary bytes; decoding does not depend
//! on chunking when the noise between lines holds no printable ASCII and no CR/BEL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::format_collect,
    reason = "test code"
)]

use embedded_can::{ExtendedId, Frame as _, StandardId};
use proptest::prelude::*;
use voltwire_core::{Emit, StreamDecoder};
use voltwire_slcan::{AdapterDecoder, CanFrame, Command, FrameLine, HostDecoder, Response};

fn frame() -> impl Strategy<Value = CanFrame> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 0..=8),
        0usize..=8,
    )
        .prop_map(|(ext, remote, id, data, dlc)| {
            let id: embedded_can::Id = if ext {
                ExtendedId::new(id & 0x1FFF_FFFF).unwrap().into()
            } else {
                StandardId::new((id & 0x7FF) as u16).unwrap().into()
            };
            if remote {
                CanFrame::new_remote(id, dlc).unwrap()
            } else {
                CanFrame::new(id, &data).unwrap()
            }
        })
}

fn line() -> impl Strategy<Value = FrameLine> {
    (frame(), proptest::option::of(0u16..=0xEA5F))
        .prop_map(|(frame, timestamp)| FrameLine { frame, timestamp })
}

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        Just(Response::Ok),
        Just(Response::Error),
        line().prop_map(Response::Frame),
        any::<bool>().prop_map(|extended| Response::TransmitAck { extended }),
        any::<u8>().prop_map(Response::Status),
        Just(Response::Version(*b"1013")),
        Just(Response::Serial(*b"A1B2")),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Empty),
        (0u8..=9).prop_map(Command::Bitrate),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Command::Btr(a, b)),
        Just(Command::Open),
        Just(Command::ListenOnly),
        Just(Command::Close),
        any::<u32>().prop_map(Command::AcceptanceCode),
        any::<u32>().prop_map(Command::AcceptanceMask),
        (0u8..=1).prop_map(Command::Mode),
        any::<bool>().prop_map(Command::AutoRetransmit),
        Just(Command::Version),
        Just(Command::DetailedVersion),
        Just(Command::SerialNumber),
        Just(Command::Status),
        (0u8..=2).prop_map(Command::Timestamps),
        line().prop_map(|l| Command::Transmit(FrameLine {
            timestamp: None,
            ..l
        })),
    ]
}

fn encode<E: Emit>(e: &E) -> Vec<u8> {
    let mut b = vec![0u8; e.buffer_len()];
    let n = e.emit(&mut b).unwrap();
    assert_eq!(n, b.len());
    b
}

/// Noise that cannot form or end a line: bytes 0x80-0xFF and NUL.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(0u8), 0x80u8..=0xFF], 0..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn responses_roundtrip(items in proptest::collection::vec((noise(), response()), 0..12), chunk in 1usize..40) {
        let mut stream = Vec::new();
        for (n, r) in &items {
            stream.extend(n);
            stream.extend(encode(r));
        }
        let mut d = HostDecoder::new();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.feed_all(c, |l| got.push(l.value.unwrap()));
        }
        let want: Vec<Response> = items.iter().map(|(_, r)| *r).collect();
        prop_assert_eq!(got, want);
        let noise: usize = items.iter().map(|(n, _)| n.len()).sum();
        prop_assert_eq!(d.dropped_bytes(), noise as u64);
    }

    #[test]
    fn commands_roundtrip(items in proptest::collection::vec((noise(), command()), 0..12), chunk in 1usize..40) {
        let mut stream = Vec::new();
        for (n, c) in &items {
            stream.extend(n);
            stream.extend(encode(c));
        }
        let mut d = AdapterDecoder::new();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.feed_all(c, |l| got.push(l.value.unwrap()));
        }
        let want: Vec<Command> = items.iter().map(|(_, c)| *c).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn decoders_total(data in proptest::collection::vec(any::<u8>(), 0..400), chunk in 1usize..50) {
        let mut h = HostDecoder::new();
        let mut a = AdapterDecoder::new();
        let (mut n_h, mut n_a) = (0u64, 0u64);
        for c in data.chunks(chunk) {
            h.feed_all(c, |_| n_h += 1);
            a.feed_all(c, |_| n_a += 1);
        }
        prop_assert!(h.finish().is_none());
        prop_assert!(a.finish().is_none());
        // Every item ends at a CR or a BEL, and no byte is both dropped and part of an item.
        let ends = data.iter().filter(|b| matches!(**b, b'\r' | 0x07)).count() as u64;
        prop_assert!(n_h <= ends && n_a <= ends, "{} / {} items, {} line ends", n_h, n_a, ends);
        prop_assert!(h.dropped_bytes() + n_h <= data.len() as u64);
        prop_assert!(a.dropped_bytes() + n_a <= data.len() as u64);
    }

    #[test]
    fn frame_line_parse_emit(l in line()) {
        let b = encode(&Response::Frame(l));
        // The line as the SLCAN format lays it out, built here by hand.
        let f = &l.frame;
        let raw_id = match embedded_can::Frame::id(f) {
            embedded_can::Id::Standard(id) => format!("{:03X}", id.as_raw()),
            embedded_can::Id::Extended(id) => format!("{:08X}", id.as_raw()),
        };
        let kind = match (f.is_extended(), f.is_remote_frame()) {
            (false, false) => 't',
            (true, false) => 'T',
            (false, true) => 'r',
            (true, true) => 'R',
        };
        let data: String = f.data().iter().map(|x| format!("{x:02X}")).collect();
        let ts = l.timestamp.map(|t| format!("{t:04X}")).unwrap_or_default();
        let want = format!("{kind}{raw_id}{}{data}{ts}\r", f.dlc());
        prop_assert_eq!(String::from_utf8(b.clone()).unwrap(), want);
        prop_assert_eq!(FrameLine::parse(&b[..b.len() - 1]), Ok(l));
    }
}
