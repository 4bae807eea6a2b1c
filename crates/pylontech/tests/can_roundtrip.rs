//! Property tests for the CAN module: every frame that parses emits back to its exact bytes
//! (so every wire value of every message round-trips, both directions), parsing is total,
//! and the telegram assembler stays consistent.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use proptest::prelude::*;
use voltwire_pylontech::can::{
    Assembler, CanMessage, ChargeLimits, Measurements, Message, Part, PartSet, RawFrame,
};

const KNOWN: &[u16] = &[
    0x305, 0x307, 0x351, 0x355, 0x356, 0x359, 0x35A, 0x35C, 0x35E, 0x35F, 0x370, 0x371, 0x372,
    0x373, 0x374, 0x375, 0x376, 0x377, 0x378, 0x379, 0x380, 0x381,
];

fn id() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => proptest::sample::select(KNOWN),
        1 => 0u16..=0x7FF,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn parse_emit_is_identity(id in id(), data in proptest::collection::vec(any::<u8>(), 0..=8)) {
        if let Ok(m) = Message::parse(id, &data) {
            prop_assert_eq!(m.id(), id);
            let (out, len) = m.emit().unwrap();
            prop_assert_eq!(&out[..len], &data[..]);
            prop_assert_eq!(Message::parse(id, &out[..len]), Ok(m));
            let f: RawFrame = m.to_frame().unwrap();
            prop_assert_eq!(Message::from_frame(&f), Ok(m));
        }
    }

    #[test]
    fn parse_is_total(id in any::<u16>(), data in proptest::collection::vec(any::<u8>(), 0..=16)) {
        let _ = Message::parse(id, &data);
    }

    #[test]
    fn limits_and_measurements_values_roundtrip(
        cvl in any::<u16>(), ccl in any::<i16>(), dcl in any::<i16>(), dvl in proptest::option::of(any::<u16>()),
        v in any::<i16>(), i in any::<i16>(), t in any::<i16>(),
    ) {
        let m = ChargeLimits {
            charge_voltage: voltwire_core::Millivolts(i32::from(cvl) * 100),
            charge_current: voltwire_core::Milliamps(i32::from(ccl) * 100),
            discharge_current: voltwire_core::Milliamps(i32::from(dcl) * 100),
            discharge_voltage: dvl.map(|d| voltwire_core::Millivolts(i32::from(d) * 100)),
        };
        let (out, len) = m.emit().unwrap();
        prop_assert_eq!(ChargeLimits::parse(&out[..len]), Ok(m));
        let x = Measurements {
            voltage: voltwire_core::Millivolts(i32::from(v) * 10),
            current: voltwire_core::Milliamps(i32::from(i) * 100),
            temperature: voltwire_core::DeciCelsius(t),
            extra: None,
        };
        let (out, len) = x.emit().unwrap();
        prop_assert_eq!(Measurements::from_frame(&RawFrame::standard(0x356, &out[..len]).unwrap()), Ok(x));
    }

    #[test]
    fn assembler_consistent(
        frames in proptest::collection::vec((proptest::sample::select(KNOWN), proptest::collection::vec(any::<u8>(), 8)), 0..60),
        max_age in 0u64..100,
    ) {
        let mut a = Assembler::new(PartSet::PYLONTECH);
        let mut now = 0u64;
        for (id, data) in &frames {
            now += 7;
            if let Ok(m) = Message::parse(*id, data) {
                a.push(m, now);
            }
        }
        match a.complete(now, max_age) {
            Ok(t) => {
                prop_assert!(PartSet::PYLONTECH.iter().all(|p| t.get(p).is_some()));
                prop_assert!(a.oldest_age(now).unwrap() <= max_age);
            }
            Err(e) => prop_assert!(!e.missing.is_empty() || !e.stale.is_empty()),
        }
        for p in Part::ALL {
            if let Some(age) = a.age(p, now) {
                prop_assert!(age <= now);
            }
        }
    }
}
