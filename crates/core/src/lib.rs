#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` and turns on `thiserror/std`. It adds no API of its own: [`EncodeError`] implements `core::error::Error` (the same trait as `std::error::Error`) in every configuration; it is the base of `tokio-codec`.
//! - `tokio-codec`: the `codec` module, `codec::StreamCodec`: any [`StreamDecoder`] as a `tokio_util::codec` `Decoder`, any [`Emit`] message through its `Encoder`; implies `std`.
//! - `serde`: transparent `serde::Serialize`/`Deserialize` on the unit newtypes ([`Millivolts`], …).
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod can;
pub mod checksum;
#[cfg(feature = "tokio-codec")]
pub mod codec;
mod error;
pub mod field;
pub mod scan;
pub mod table;
pub mod units;

pub use error::{EncodeError, ErrorKind};
pub use scan::{
    Accumulator, Emit, Framing, Located, Progress, Protocol, Scan, ScanDecoder, StreamDecoder,
};
pub use table::{BitTable, FlagNames, FlagWord, RawWord, Unnamed};
pub use units::{
    DeciCelsius, DeciKelvin, MilliampHours, Milliamps, Millivolts, Permille, Quantity, Rounding,
    Scale, VoltAmperes, WattHours, Watts,
};
