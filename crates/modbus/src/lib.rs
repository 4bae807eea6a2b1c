#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std` (and the same feature of the voltwire crates below). It adds no API: the error types implement `core::error::Error` (the same trait as `std::error::Error`) in every configuration.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//! - `serde`: `serde::Serialize` on the readings, settings and set points
//!   ([`coulomb_meter::Status`], [`coulomb_meter::Settings`], [`coulomb_meter::State`],
//!   [`coulomb_meter::SetChargeLevel`], [`lumentree::Status`], [`lumentree::SetOutputPower`],
//!   [`trucki::Status`], [`trucki::SetPower`]) in the JSON contract's shape (`docs/json.md`,
//!   `voltwire_core::json`): quantities as SI numbers with the unit in the key
//!   (`voltage_v`, the 0.1 W registers as exact `_w` numbers), codes as `{"code", "name"}`.
//!   The caller frames a value (address, `type`). Serialize only. `no_std`, no alloc.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod coulomb_meter;
mod error;
pub mod lumentree;
pub mod rtu;
#[cfg(feature = "serde")]
mod serde_impl;
pub mod trucki;

pub use error::Error;

/// `regs[i]`; callers check the block length first, so the `0` fallback never shows and only
/// keeps the code free of indexing.
fn reg(regs: &[u16], i: usize) -> u16 {
    regs.get(i).copied().unwrap_or(0)
}

/// Check that a register block has exactly `expected` registers.
fn check_len(regs: &[u16], expected: usize) -> Result<(), Error> {
    if regs.len() == expected {
        Ok(())
    } else {
        Err(Error::WrongLength {
            expected,
            got: regs.len(),
        })
    }
}

/// A 32-bit value from two registers, high word first.
fn u32_hi_lo(hi: u16, lo: u16) -> u32 {
    (u32::from(hi) << 16) | u32::from(lo)
}

/// A 32-bit value as two registers, high word first.
#[allow(
    clippy::cast_possible_truncation,
    reason = "each half is masked to 16 bits"
)]
fn hi_lo(value: u32) -> [u16; 2] {
    [(value >> 16) as u16, (value & 0xFFFF) as u16]
}
