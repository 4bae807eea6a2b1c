//! proptest strategies for the module blocks of any [`Dialect`]: the wire-exact values of an
//! analog or status block and the reply carrying them. Shared by the block tests here and the
//! protocol crates' round-trip tests (`#[path]`), so every dialect is tested alike.

#![allow(
    dead_code,
    unused_macros,
    unused_imports,
    clippy::unwrap_used,
    reason = "each test uses what it needs; test code"
)]

use heapless::Vec as HVec;
use proptest::prelude::*;
use voltwire_asciihex::block::{Analog, Block, Dialect, MAX_TRAILING, Reply, Status};
use voltwire_core::{DeciKelvin, MilliampHours, Milliamps, Millivolts};

/// Any `u16` of millivolts.
pub(crate) fn mv() -> impl Strategy<Value = Millivolts> {
    any::<u16>().prop_map(|v| Millivolts(i32::from(v)))
}

/// Any 0x51 reply (the layout both protocols share): every byte kept as sent.
pub(crate) fn manufacturer() -> impl Strategy<Value = voltwire_asciihex::ManufacturerInfo> {
    (any::<[u8; 10]>(), any::<[u8; 2]>(), any::<[u8; 20]>()).prop_map(|(d, s, m)| {
        voltwire_asciihex::ManufacturerInfo {
            device_name: d,
            software_version: s,
            manufacturer: m,
        }
    })
}

/// Any `i16` in steps of `step` mA.
pub(crate) fn ma(step: i32) -> impl Strategy<Value = Milliamps> {
    any::<i16>().prop_map(move |v| Milliamps(i32::from(v) * step))
}

fn mah<D: Dialect>() -> impl Strategy<Value = MilliampHours> {
    any::<u16>().prop_map(|v| MilliampHours(i64::from(v) * i64::from(D::CAPACITY_STEP_MAH)))
}

/// An analog block on the dialect's grid, with `extension` exactly when the user-defined count
/// asks for it.
pub(crate) fn analog<D: Dialect + 'static>(
    extension: impl Strategy<Value = D::Extension> + 'static,
) -> impl Strategy<Value = Analog<D>> {
    let user_defined = prop_oneof![
        (0..D::EXTENDED_FROM).prop_map(|u| (u, None)).boxed(),
        (D::EXTENDED_FROM..=255, extension)
            .prop_map(|(u, e)| (u, Some(e)))
            .boxed(),
    ];
    (
        proptest::collection::vec(mv(), 0..17),
        proptest::collection::vec(any::<u16>().prop_map(|t| DeciKelvin(i32::from(t))), 0..7),
        ma(i32::from(D::CURRENT_STEP_MA)),
        mv(),
        (mah::<D>(), mah::<D>(), any::<u16>()),
        user_defined,
    )
        .prop_map(
            |(cells, temps, current, voltage, (r, f, cycles), (u, e))| Analog {
                cells: HVec::from_slice(&cells).unwrap(),
                temperatures: HVec::from_slice(&temps).unwrap(),
                current,
                voltage,
                remaining_capacity: r,
                user_defined: u,
                full_capacity: f,
                cycles,
                extension: e,
            },
        )
}

/// A status block with the dialect's state bytes from `state`.
pub(crate) fn status<D: Dialect>(
    state: impl Strategy<Value = D::State>,
) -> impl Strategy<Value = Status<D>> {
    (
        proptest::collection::vec(any::<u8>(), 0..17),
        proptest::collection::vec(any::<u8>(), 0..7),
        any::<[u8; 3]>(),
        state,
    )
        .prop_map(|(c, t, [charge, voltage, discharge], state)| Status {
            cells: HVec::from_slice(&c).unwrap(),
            temperatures: HVec::from_slice(&t).unwrap(),
            charge_current: charge,
            voltage,
            discharge_current: discharge,
            state,
        })
}

/// A reply of up to three blocks from `block`, with trailing bytes where the blocks allow them.
pub(crate) fn reply<B: Block + Clone + core::fmt::Debug>(
    block: impl Strategy<Value = B>,
) -> impl Strategy<Value = Reply<B>> {
    (
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(block, 0..4),
        proptest::collection::vec(any::<u8>(), 0..=B::TRAILING.min(MAX_TRAILING)),
    )
        .prop_map(|(flag, command, blocks, trailing)| {
            let mut r = Reply::new(flag, command);
            r.modules = HVec::from_slice(&blocks).unwrap();
            r.trailing = HVec::from_slice(&trailing).unwrap();
            r
        })
}

/// The round-trip properties every ASCII-hex protocol has, as two tests: a request from
/// `$requests` (a body strategy) and a response from `$responses` survive the wire
/// (`to_frame`, bytes, `Frame::parse`, `from_frame`).
macro_rules! round_trip_properties {
    ($requests:expr, $responses:expr) => {
        proptest! {
            #[test]
            fn requests_round_trip(adr in any::<u8>(), body in $requests) {
                let r = voltwire_asciihex::message::Request::new(adr, body);
                let frame = voltwire_asciihex::Frame::parse(&r.to_frame().unwrap().to_bytes());
                prop_assert_eq!(voltwire_asciihex::message::Request::from_frame(&frame.unwrap()), r);
            }

            #[test]
            fn responses_round_trip(adr in any::<u8>(), body in $responses) {
                let r = voltwire_asciihex::message::Response::ok(adr, body);
                let frame = voltwire_asciihex::Frame::parse(&r.to_frame().unwrap().to_bytes());
                let back = voltwire_asciihex::message::Response::from_frame(&frame.unwrap(), r.command());
                prop_assert_eq!(back, r);
            }
        }
    };
}
pub(crate) use round_trip_properties;
