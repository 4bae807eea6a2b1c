#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std` (and the same feature of the voltwire crates below). It adds no API: the error types implement `core::error::Error` (the same trait as `std::error::Error`) in every configuration.
//! - `tokio-codec`: `JkCodec` and `pb::PbCodec`, `voltwire_core::codec::StreamCodec` aliases (a `tokio_util::codec` `Decoder`/`Encoder` for `FramedRead`/`FramedWrite`); implies `std`.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//! - `serde`: `serde::Serialize` on `Message` and `pb::Message` (and the code enums and bit words in them) in the JSON contract's shapes (`docs/json.md`, `voltwire_core::json`): an object of the message's fields, quantities as SI numbers with the unit in the key (`cell_voltages_v`, `current_a`), codes as `{"code", "name"}`, bit words as `{"raw", "flags"}`, bytes as uppercase hex. The caller adds `type` (`pb::Message::json_type`) and a block's `counter`. Serialize only (derived keys such as `temperatures_c` do not read back). `no_std`, no alloc.
//!
//! # Memory (`size_of` on a 32-bit MCU target, from `bench/size.sh`)
//!
//! Stream decoders are `voltwire_core::ScanDecoder<P, N>`: `N` is the caller's buffer.
//!
//! | type | bytes |
//! |---|---|
//! | `JkDecoder` (`ScanDecoder<JkFraming, 1024>`, any frame) | 1064 |
//! | `ScanDecoder<JkFraming, 512>` (real replies are about 300 bytes) | 552 |
//! | `pb::PbDecoder` (`ScanDecoder<PbFraming, 512>`; a block frame is 300 bytes) | 552 |
//! | `Record` / `Message` (every data ID, up to `record::MAX_CELLS` cells, the untyped rest) | 2064 / 2080 |
//! | `pb::Message` | 304 |
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(all(test, feature = "serde"))]
extern crate alloc;

/// The `heapless` version whose `Vec` the messages use (e.g. [`Record::cells`]).
pub use heapless;

mod error;
pub mod frame;
pub mod pb;
pub mod pb_map;
pub mod record;
#[cfg(feature = "serde")]
mod serde_impl;

pub use error::Error;
pub use frame::{Command, FrameSource, Header, Info, JkFraming, Message, Transport, check_frame};
pub use record::{
    BatteryType, Cell, Current, CurrentEncoding, Field, FieldValue, Record, SensorTemperature,
    Status, Text, Warnings,
};

/// A streaming decoder for the "4E 57" protocol: feed it bytes as they arrive from the UART,
/// get [`Message`]s (or errors) with their stream offsets. Buffers at most
/// [`frame::MAX_FRAME_LEN`] bytes.
pub type JkDecoder = voltwire_core::ScanDecoder<JkFraming, { frame::MAX_FRAME_LEN }>;

/// A `tokio_util::codec::Decoder` over [`JkDecoder`].
#[cfg(feature = "tokio-codec")]
pub type JkCodec = voltwire_core::codec::StreamCodec<JkDecoder>;
