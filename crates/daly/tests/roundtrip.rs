//! Property tests: encode → decode identity in both directions, scanner totality, and chunk
//! independence of the stream decoder with noise between frames.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    reason = "test code"
)]

use proptest::prelude::*;
use voltwire_core::{Framing, Milliamps, Millivolts, Permille, Scan, StreamDecoder as _};
use voltwire_daly::{
    BalanceBitOrder, Clock, Command, CurrentSign, Daly, Decoder, FRAME_LEN, PackStatus, Padding,
    RawFrame, Request, Response, Variant,
};

fn command() -> impl Strategy<Value = u8> {
    prop_oneof![
        proptest::sample::select(Command::KNOWN.map(|c| c.0).to_vec()),
        any::<u8>()
    ]
}

fn raw_frame() -> impl Strategy<Value = RawFrame> {
    (any::<u8>(), command(), any::<[u8; 8]>()).prop_map(|(address, command, data)| RawFrame {
        address,
        command,
        data,
    })
}

fn variant() -> impl Strategy<Value = Variant> {
    (
        prop_oneof![Just(0x40u8), Just(0x80u8)],
        prop_oneof![
            Just(CurrentSign::ChargeBelowOffset),
            Just(CurrentSign::ChargeAboveOffset)
        ],
        prop_oneof![
            Just(BalanceBitOrder::BytesInOrderLsbFirst),
            Just(BalanceBitOrder::BigEndianWord)
        ],
    )
        .prop_map(|(host_address, current_sign, balance_bit_order)| Variant {
            host_address,
            current_sign,
            balance_bit_order,
        })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (
            proptest::sample::select(
                Command::KNOWN
                    .iter()
                    .filter(|c| c.is_read())
                    .copied()
                    .collect::<Vec<_>>()
            ),
            prop_oneof![Just(Padding::Zero), Just(Padding::Aa)]
        )
            .prop_map(|(command, padding)| Request::Read { command, padding }),
        any::<bool>().prop_map(|on| Request::ChargeMosfet { on }),
        any::<bool>().prop_map(|on| Request::DischargeMosfet { on }),
        (any::<[u8; 6]>(), 0i16..=i16::MAX).prop_map(|(c, soc)| Request::SetSoc {
            clock: Clock {
                years_since_2000: c[0],
                month: c[1],
                day: c[2],
                hour: c[3],
                minute: c[4],
                second: c[5],
            },
            soc: Permille(soc),
        }),
        Just(Request::Reset),
    ]
}

fn pack_status() -> impl Strategy<Value = PackStatus> {
    (
        any::<u16>(),
        any::<u16>(),
        -30_000i32..=30_000,
        0i16..=i16::MAX,
    )
        .prop_map(|(v, a, c, soc)| PackStatus {
            voltage: Millivolts(i32::from(v) * 100),
            acquired_voltage: Millivolts(i32::from(a) * 100),
            current: Milliamps(c * 100),
            soc: Permille(soc),
        })
}

proptest! {
    #[test]
    fn any_frame_is_lossless_as_response(f in raw_frame(), v in variant()) {
        // Every checksum-valid frame either parses (and re-emits to the same bytes) or is a
        // value out of our units' range.
        match Response::parse(&f, &v) {
            Ok(r) => {
                prop_assert_eq!(r.to_frame(f.address, &v).unwrap(), f);
                prop_assert_eq!(Response::parse(&r.to_frame(f.address, &v).unwrap(), &v).unwrap(), r);
            }
            Err(e) => prop_assert_eq!(e.code(), "out_of_range"),
        }
        let bytes = f.to_bytes();
        prop_assert_eq!(RawFrame::parse(&bytes).unwrap(), f);
    }

    #[test]
    fn any_frame_is_lossless_as_request(f in raw_frame()) {
        let r = Request::parse(&f);
        prop_assert_eq!(r.to_frame(f.address).unwrap(), f);
    }

    #[test]
    fn typed_requests_roundtrip(r in request(), v in variant()) {
        let mut out = [0u8; FRAME_LEN];
        prop_assert_eq!(r.emit(v.host_address, &mut out).unwrap(), FRAME_LEN);
        let f = RawFrame::parse(&out).unwrap();
        prop_assert!(f.is_request());
        prop_assert_eq!(Request::parse(&f), r);
    }

    #[test]
    fn typed_pack_status_roundtrips(p in pack_status(), v in variant()) {
        let r = Response::PackStatus(p);
        let mut out = [0u8; FRAME_LEN];
        r.emit(v.bms_address(), &v, &mut out).unwrap();
        let f = RawFrame::parse(&out).unwrap();
        prop_assert!(!f.is_request());
        prop_assert_eq!(Response::parse(&f, &v).unwrap(), r);
    }

    #[test]
    fn scanner_is_total(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        match Daly::scan(&data) {
            Scan::Frame { skip, len } => {
                prop_assert_eq!(len, FRAME_LEN);
                prop_assert!(skip + len <= data.len());
            }
            Scan::Incomplete { skip } => {
                prop_assert!(skip <= data.len());
                prop_assert!(data.len() - skip < FRAME_LEN);
            }
        }
        let mut d = Decoder::new();
        d.feed_all(&data, |_| {});
        d.finish();
        prop_assert!(d.dropped_bytes() <= data.len() as u64);
    }

    #[test]
    fn arbitrary_bytes_decode_the_same_in_any_chunking(
        data in proptest::collection::vec(prop_oneof![Just(0xA5u8), Just(0x08u8), any::<u8>()], 0..200),
        chunk in 1usize..20,
    ) {
        let run = |chunk: usize| {
            let mut d = Decoder::new();
            let mut got = Vec::new();
            for c in data.chunks(chunk) {
                d.feed_all(c, |l| got.push(l));
            }
            d.finish();
            (got, d.dropped_bytes())
        };
        prop_assert_eq!(run(chunk), run(data.len().max(1)));
    }

    #[test]
    fn frames_survive_marker_free_noise_in_any_chunking(
        frames in proptest::collection::vec((raw_frame(), proptest::collection::vec(any::<u8>().prop_filter("no marker", |b| *b != 0xA5), 0..20)), 0..10),
        chunk in 1usize..40,
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        let mut noise_len = 0u64;
        for (f, noise) in &frames {
            stream.extend_from_slice(noise);
            noise_len += noise.len() as u64;
            want.push((stream.len() as u64, *f));
            stream.extend_from_slice(&f.to_bytes());
        }
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.feed_all(c, |l| got.push((l.offset, l.value.unwrap())));
        }
        prop_assert!(d.finish().is_none());
        prop_assert_eq!(got, want);
        prop_assert_eq!(d.dropped_bytes(), noise_len);
    }
}
