#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

mod bytes;
pub mod can;
pub mod checksum;
#[cfg(feature = "tokio-codec")]
pub mod codec;
mod error;
pub mod field;
pub mod hex;
pub mod scan;
pub mod table;
pub mod units;

pub use bytes::ShortBytes;
pub use error::{EncodeError, ErrorKind};
pub use scan::{
    Accumulator, Emit, Framing, Located, Progress, Protocol, Scan, ScanDecoder, StreamDecoder,
};
pub use table::{BitTable, FlagNames, FlagWord, RawWord, Unnamed};
pub use units::{
    DeciCelsius, DeciKelvin, MilliampHours, Milliamps, Millivolts, Permille, Quantity, Rounding,
    Scale, VoltAmperes, WattHours, Watts,
};
