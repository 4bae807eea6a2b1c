//! Block properties in a test dialect: every analog and status reply writes INFO that reads
//! back to it (the protocol crates run the same strategies in their own dialects).

#![allow(
    clippy::unwrap_used,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

#[path = "support/blocks.rs"]
mod blocks;

use proptest::prelude::*;
use voltwire_asciihex::block::{Dialect, Reply};
use voltwire_asciihex::{InfoWriter, Reader, Writer};
use voltwire_core::{EncodeError, MilliampHours};

/// 10 mA, 5 mAh, a `u16` extension from 2 user-defined items on, two state bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Test;

impl Dialect for Test {
    const CURRENT_STEP_MA: i16 = 10;
    const CAPACITY_STEP_MAH: u16 = 5;
    const ZERO_CELSIUS: i32 = 2730;
    const EXTENDED_FROM: u8 = 2;
    type Extension = u16;
    type State = [u8; 2];

    fn read_extension(r: &mut Reader<'_>) -> Option<u16> {
        r.u16().ok()
    }

    fn write_extension(e: &u16, w: &mut InfoWriter) -> Result<(), EncodeError> {
        w.u16(*e)?;
        Ok(())
    }

    fn capacities(_: &u16) -> Option<(MilliampHours, MilliampHours)> {
        None
    }

    fn read_state(r: &mut Reader<'_>) -> Option<[u8; 2]> {
        r.take().ok()
    }

    fn write_state(s: &[u8; 2], w: &mut InfoWriter) -> Result<(), EncodeError> {
        w.bytes(s)?;
        Ok(())
    }
}

fn round<B: voltwire_asciihex::block::Block>(r: &Reply<B>) -> Option<Reply<B>> {
    let mut w = Writer::new();
    r.write(&mut w).unwrap();
    Reply::read(&w.finish())
}

proptest! {
    #[test]
    fn analog_replies_round_trip(r in blocks::reply(blocks::analog::<Test>(any::<u16>()))) {
        prop_assert!(r.trailing.is_empty());
        prop_assert_eq!(round(&r), Some(r));
    }

    #[test]
    fn status_replies_round_trip(r in blocks::reply(blocks::status::<Test>(any::<[u8; 2]>()))) {
        prop_assert_eq!(round(&r), Some(r));
    }
}
