#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std` (and the same feature of the voltwire crates below). It adds no API: the error types implement `core::error::Error` (the same trait as `std::error::Error`) in every configuration.
//! - `tokio-codec`: `HostCodec` and `AdapterCodec`, `voltwire_core::codec::StreamCodec` aliases (a `tokio_util::codec` `Decoder`/`Encoder` for `FramedRead`/`FramedWrite`); implies `std`.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//! - `serde`: `serde::Serialize` on [`Response`] and [`FrameLine`] in the JSON contract's shape (`docs/json.md`, `voltwire_core::json`): a frame as `{"id", "id_hex", "extended", "remote", "dlc", "data_hex", "timestamp_s"}`, a host command seen in the stream as `{"command", "argument"}`; its JSON `type` from `Response::json_type`. Serialize only. `no_std`, no alloc.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(all(test, feature = "serde"))]
extern crate alloc;

mod decoder;
mod frame;
mod line;
#[cfg(feature = "serde")]
mod serde_impl;

pub use decoder::{AdapterDecoder, Decoder, HostDecoder, Role};
pub use frame::{CanFrame, FrameLine};
pub use line::{Command, Dialect, Line, Response, bitrate_bps, bitrate_code};

use voltwire_core::ErrorKind;

/// The longest line (without CR) the decoders keep: `T` + 8 id + 1 DLC + 16 data + 4
/// timestamp = 30, with room for short version texts. Longer lines are noise.
pub const MAX_LINE: usize = 40;

/// Why a line could not be decoded.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `t`/`T`/`r`/`R` line with a wrong length, a non-hex digit, a DLC above 8 or an id
    /// out of range.
    #[error("malformed frame line")]
    BadFrame,
    /// A known command letter with malformed arguments.
    #[error("malformed `{}` command", char::from(*.0))]
    BadCommand(u8),
    /// A line longer than [`MAX_LINE`] (dropped).
    #[error("line longer than {MAX_LINE} characters")]
    TooLong,
}

impl Error {
    /// Coarse classification shared by every voltwire protocol.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Self::BadFrame | Self::TooLong => ErrorKind::Framing,
            Self::BadCommand(_) => ErrorKind::Invalid,
        }
    }

    /// A short, stable `snake_case` code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::BadFrame => "bad_frame",
            Self::BadCommand(_) => "bad_command",
            Self::TooLong => "too_long",
        }
    }
}

/// `tokio_util` codec for the host side (decodes adapter responses, encodes commands).
#[cfg(feature = "tokio-codec")]
pub type HostCodec = voltwire_core::codec::StreamCodec<HostDecoder>;

/// `tokio_util` codec for the adapter side (decodes host commands, encodes responses).
#[cfg(feature = "tokio-codec")]
pub type AdapterCodec = voltwire_core::codec::StreamCodec<AdapterDecoder>;

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc, reason = "test code")]
mod tests {
    use super::*;
    use voltwire_core::Emit;

    fn emit<E: Emit>(e: &E) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 64];
        let n = e.emit(&mut buf).unwrap();
        assert_eq!(n, e.buffer_len());
        buf[..n].to_vec()
    }

    #[test]
    fn python_can_lines() {
        let f = FrameLine::parse(b"T12ABCDEF2AA55").unwrap();
        assert_eq!(f.frame.id(), 0x12AB_CDEF);
        assert!(f.frame.is_extended());
        assert_eq!(f.frame.data(), [0xAA, 0x55]);
        assert_eq!(emit(&Response::Frame(f)), b"T12ABCDEF2AA55\r");
        let f = FrameLine::parse(b"r1238").unwrap();
        assert!(f.frame.is_remote());
        assert_eq!(f.frame.dlc(), 8);
        let f = FrameLine::parse(b"t4563112233").unwrap();
        assert_eq!(f.frame.data(), [0x11, 0x22, 0x33]);
        let f = FrameLine::parse(b"t35180000000000000000EA5F").unwrap();
        assert_eq!(f.timestamp, Some(59_999));
        assert_eq!(FrameLine::parse(b"t4569"), Err(Error::BadFrame));
        assert_eq!(FrameLine::parse(b"t8001"), Err(Error::BadFrame));
        assert_eq!(FrameLine::parse(b"t4562112"), Err(Error::BadFrame));
        // lower-case hex is accepted
        assert_eq!(
            FrameLine::parse(b"t1ab1ff").unwrap().frame,
            CanFrame::standard(0x1AB, &[0xFF]).unwrap()
        );
    }

    #[test]
    fn commands() {
        assert_eq!(Command::parse(b"S5"), Ok(Command::Bitrate(5)));
        assert_eq!(bitrate_bps(7, Dialect::Canable), Some(750_000));
        assert_eq!(bitrate_bps(7, Dialect::Lawicel), Some(800_000));
        assert_eq!(bitrate_code(250_000, Dialect::Canable), Some(5));
        assert_eq!(Command::parse(b"s031C"), Ok(Command::Btr(0x03, 0x1C)));
        assert_eq!(Command::parse(b""), Ok(Command::Empty));
        assert_eq!(Command::parse(b"M1"), Ok(Command::Mode(1)));
        assert_eq!(Command::parse(b"M00000000"), Ok(Command::AcceptanceCode(0)));
        assert_eq!(Command::parse(b"Sx"), Err(Error::BadCommand(b'S')));
        for c in [
            Command::Open,
            Command::Close,
            Command::Bitrate(8),
            Command::AcceptanceMask(0xFFFF_FFFF),
            Command::AutoRetransmit(true),
            Command::Timestamps(1),
        ] {
            let b = emit(&c);
            assert_eq!(Command::parse(&b[..b.len() - 1]), Ok(c));
        }
        assert_eq!(emit(&Command::Bitrate(5)), b"S5\r");
    }

    #[test]
    fn responses() {
        assert_eq!(Response::parse(b""), Ok(Response::Ok));
        assert_eq!(Response::parse(b"V1013"), Ok(Response::Version(*b"1013")));
        assert_eq!(Response::parse(b"NA123"), Ok(Response::Serial(*b"A123")));
        assert_eq!(Response::parse(b"F00"), Ok(Response::Status(0)));
        assert_eq!(
            Response::parse(b"z"),
            Ok(Response::TransmitAck { extended: false })
        );
        assert_eq!(emit(&Response::Error), [0x07]);
        assert_eq!(emit(&Response::Ok), b"\r");
    }
}
