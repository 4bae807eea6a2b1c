#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std` (and the same feature of the voltwire crates below). It adds no API: the error types implement `core::error::Error` (the same trait as `std::error::Error`) in every configuration.
//! - `tokio-codec`: `AsciiHexCodec`, `voltwire_core::codec::StreamCodec` aliases (a `tokio_util::codec` `Decoder`/`Encoder` for `FramedRead`/`FramedWrite`); implies `std`.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//! - `serde`: `serde::Serialize` in the JSON contract's shapes (`docs/json.md`, `voltwire_core::json`) for what Pace and Pylontech share: `Request::json` / `Response::json` (`{"adr", "rtn", "command", ...}` around a body that implements `json::JsonBody`), `Frame::reply_json` for a reply whose command is unknown, `Rtn` as `{"code", "name"}`, and the 0x42/0x44 replies and blocks in a protocol's `json::JsonDialect` (its keys and names). Serialize only; `no_std`, no alloc.
//!
//! # Memory (`size_of` on a 32-bit MCU target, from `bench/size.sh`)
//!
//! | type | bytes |
//! |---|---|
//! | `Decoder` (`ScanDecoder<AsciiHex, MAX_FRAME_LEN>`, any frame) | 4152 |
//! | `voltwire_core::ScanDecoder<AsciiHex, 512>` (one module's replies; a 16-cell analog reply is 140 bytes) | 552 |
//! | `voltwire_core::ScanDecoder<AsciiHex<128>, 512>` (yields `Frame<128>`) | 552 |
//! | `Frame` (INFO of up to `MAX_INFO_LEN` bytes, any frame) | 2056 |
//! | `Frame<128>` (caller-sized: one module's replies) | 136 |
//!
//! Messages are caller-sized by a `const` capacity with a default that takes any frame:
//! `Frame<N>` holds `N` INFO bytes inline (`Frame::<N>::parse_sized`, `AsciiHex<N>` in a
//! decoder), and a valid frame with more is [`Error::Capacity`], never cut. Request bodies
//! take the same capacity ([`message::RequestBody<N>`]): `Request::from_frame_sized` /
//! `Request::to_frame_sized` over a `Frame<N>`, and `message::Requests<B, N>` in a device-side
//! decoder (Pace's and Pylontech's `SizedRequest<16>` hold every known request in 28 bytes
//! instead of 2060). Owned values
//! rather than views over the wire bytes: INFO is hex on the wire, so a reader needs the
//! decoded bytes somewhere, and an owned frame outlives the decoder's buffer.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod block;
mod common;
mod frame;
mod info;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub mod json;
pub mod layout;
mod macros;
pub mod message;
mod rtn;
mod scan;

pub use common::ManufacturerInfo;
pub use frame::{Error, Frame, Info, frame_checksum, length_checksum, length_field};
pub use info::{InfoBuf, InfoWriter, Reader, ShortInfo, Writer};
pub use rtn::Rtn;
pub use scan::{AsciiHex, Decoder, Found, scan_frame};

/// The start-of-information marker `~`, sent raw.
pub const SOI: u8 = b'~';
/// The end-of-information marker CR, sent raw.
pub const EOI: u8 = b'\r';
/// Characters before INFO: `~`, VER, ADR, CID1, CID2 (2 each) and LENGTH (4).
pub const HEADER_LEN: usize = 13;
/// Characters around INFO: the header, CHKSUM (4) and CR.
pub const OVERHEAD: usize = HEADER_LEN + 5;
/// The largest LENID (INFO characters) the 12-bit field can carry with a whole number of bytes.
pub const MAX_LENID: usize = 4094;
/// The largest INFO in decoded bytes.
pub const MAX_INFO_LEN: usize = MAX_LENID / 2;
/// The longest frame on the wire; a candidate that runs longer is noise.
pub const MAX_FRAME_LEN: usize = OVERHEAD + MAX_LENID;

/// `tokio_util` codec yielding `Result<Frame, Error>` items.
#[cfg(feature = "tokio-codec")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-codec")))]
pub type AsciiHexCodec = voltwire_core::codec::StreamCodec<Decoder>;

#[doc(hidden)]
pub use voltwire_core::EncodeError as __EncodeError;

pub(crate) use voltwire_core::hex::{digit as hex_digit, value as hex_value};
