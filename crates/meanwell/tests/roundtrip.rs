//! Property tests: every frame that parses emits back to its bytes (every command's value,
//! both directions, both families), parsing is total, and the limits check is consistent.

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
use voltwire_core::{Milliamps, Millivolts};
use voltwire_meanwell::{Command, LimitError, Message, Model, RawFrame, Target, Value};

fn id() -> impl Strategy<Value = u32> {
    (
        proptest::sample::select(&[0x000C_0000u32, 0x000C_0100, 0x000C_0200, 0x000C_0300][..]),
        prop_oneof![0u32..8, Just(0xFF)],
    )
        .prop_map(|(b, n)| b | n)
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            3 => proptest::sample::select(Command::ALL).prop_map(|c| c.0),
            1 => any::<u16>(),
        ],
        proptest::collection::vec(any::<u8>(), 0..=6),
    )
        .prop_map(|(c, v)| {
            let mut d = c.to_le_bytes().to_vec();
            d.extend(v);
            d
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]

    #[test]
    fn parse_emit_identity(id in id(), data in data()) {
        if let Ok(m) = Message::parse(id, &data) {
            let (out, len) = m.emit().unwrap();
            prop_assert_eq!(&out[..len], &data[..]);
            prop_assert_eq!(m.id(), id);
            let f: RawFrame = m.to_frame().unwrap();
            prop_assert_eq!(Message::from_frame(&f), Ok(m));
        }
    }

    #[test]
    fn parse_total(id in any::<u32>(), data in proptest::collection::vec(any::<u8>(), 0..=12)) {
        let _ = Message::parse(id, &data);
    }

    #[test]
    fn limits(model in proptest::sample::select(Model::ALL), mv in 0i32..150_000, ma in -250_000i32..250_000) {
        let l = model.limits();
        let r = Message::write_checked(model, Target::Device(0), Value::VoutSet(Millivolts(mv)));
        prop_assert_eq!(r.is_ok(), (l.vout_min.0..=l.vout_max.0).contains(&mv));
        let r = model.check(&Value::IoutSet(Milliamps(ma)));
        prop_assert_eq!(r.is_ok(), (l.charge_current_min.0..=l.charge_current_max.0).contains(&ma));
        if let Err(LimitError::AboveMaximum { limit, .. }) = r {
            prop_assert_eq!(limit, l.charge_current_max.0);
        }
    }
}
