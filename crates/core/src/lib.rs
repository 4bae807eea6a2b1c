#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` and turns on `thiserror/std`. It adds no API of its own: [`EncodeError`] implements `core::error::Error` (the same trait as `std::error::Error`) in every configuration; it is the base of `tokio-codec`.
//! - `tokio-codec`: the `codec` module, `codec::StreamCodec`: any [`StreamDecoder`] as a `tokio_util::codec` `Decoder`, any [`Emit`] message through its `Encoder`; implies `std`.
//! - `embedded-io`: the `io` module: drive any [`StreamDecoder`] from an `embedded_io::Read` (`io::DecodeReader`, caller-provided buffer) or `BufRead` (`io::DecodeBufReader`), write any [`Emit`] message to an `embedded_io::Write` (`io::write_frame`); `no_std`, no alloc.
//! - `embedded-io-async`: the `io_async` module, the same over `embedded_io_async`; implies `embedded-io`.
//! - `defmt`: `defmt::Format` on the public types (units, [`can::CanFrame`], scan results, errors) and on the types that `code_enum!` (its name, else the code) and `flag_word!` (the raw word) generate, wherever they are invoked.
//! - `serde`: `serde::Serialize`/`Deserialize` in the JSON contract's shapes (`docs/json.md`), through the `json` module: the unit newtypes ([`Millivolts`], …) as SI numbers (`52.86` for `Millivolts(52_860)`, integral values as integers, read back exactly), `code_enum!` types as `{"code", "name"}`, `flag_word!` types as `{"raw", "flags"}`, wherever they are invoked; `json::Hex` for bytes. `no_std`, no alloc.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(all(test, feature = "serde"))]
extern crate alloc;

mod bytes;
pub mod can;
pub mod checksum;
#[cfg(feature = "tokio-codec")]
pub mod codec;
mod error;
pub mod field;
pub mod hex;
#[cfg(feature = "embedded-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "embedded-io")))]
pub mod io;
#[cfg(feature = "embedded-io-async")]
#[cfg_attr(docsrs, doc(cfg(feature = "embedded-io-async")))]
pub mod io_async;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub mod json;
pub mod scan;
pub mod table;
pub mod units;

pub use bytes::ShortBytes;
/// `defmt`, for the `Format` impls that `code_enum!` and `flag_word!` generate.
#[cfg(feature = "defmt")]
#[doc(hidden)]
pub use defmt as __defmt;
pub use error::{EncodeError, ErrorKind};
pub use scan::{
    Accumulator, Emit, Framing, Located, Progress, Protocol, Scan, ScanDecoder, StreamDecoder,
};
/// `serde`, for the impls that `code_enum!` and `flag_word!` generate.
#[cfg(feature = "serde")]
#[doc(hidden)]
pub use serde as __serde;
pub use table::{BitTable, FlagNames, FlagWord, RawWord, Unnamed};
pub use units::{
    DeciCelsius, DeciKelvin, MilliampHours, Milliamps, Millivolts, Permille, Quantity, Rounding,
    Scale, VoltAmperes, WattHours, Watts, div_rem_i64,
};
