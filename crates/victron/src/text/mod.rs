//! The VE.Direct TEXT protocol: what a Victron device sends unprompted, about once a second.
//!
//! ```text
//! block  = 1*field checksum
//! field  = CR LF label TAB value          ; the CR LF comes before each field
//! checksum = CR LF "Checksum" TAB <byte>  ; any byte 0x00–0xFF, chosen so that every
//!                                         ; byte of the block sums to 0 mod 256
//! hex    = ":" 1*HEXDIG LF                ; may sit between (or, on old firmware, inside)
//!                                         ; blocks; not part of the text checksum
//! ```
//!
//! Layers, lowest first:
//! - [`Decoder`]: the streaming, resynchronising block decoder (zero-copy [`BlockRef`]s,
//!   HEX frames, errors), fixed memory;
//! - [`Record`]: every documented label decoded into exact units ([`Label`], [`Value`]);
//! - [`Assembler`]: joins the blocks of one record (BMV/SmartShunt main + history block,
//!   newer MPPT firmware's two blocks) into one [`Record`];
//! - [`RecordDecoder`]: all of the above as a [`voltwire_core::StreamDecoder`] yielding
//!   [`Message`]s, also usable as a `tokio_util` codec (feature `tokio-codec`);
//!   [`RecordDecoder::feed_ref`] lends each record ([`MessageRef`]) instead of moving it out;
//! - [`emit_block`] and [`Record::emit`]: the encoder, with correct checksums.
//!
//! No function here panics on any input or allocates.

mod assemble;
mod decoder;
mod encode;
mod label;
mod record;
mod tables;

pub use assemble::{Assembler, Error, Message, MessageRef, RecordDecoder};
pub use decoder::{
    BlockRef, Decoder, Event, MAX_BLOCK_DATA, MAX_FIELDS, MAX_HEX_LINE, MAX_LABEL_LEN,
    MAX_VALUE_LEN,
};
pub use encode::{BLOCK_FIELDS, emit_block};
pub use label::{Kind, Label, Unit};
pub use record::{Firmware, MAX_EXTRA, MAX_TEXT_LEN, RawField, Record, TimeToGo, Value};
pub use tables::{
    AlarmReason, ChargerError, DeviceMode, DeviceState, MonitorMode, OffReason, TrackerMode,
};

/// Why a block (or a stray HEX candidate) was rejected.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// The block's bytes do not sum to 0 mod 256.
    #[error("block checksum does not verify (bytes sum to {sum:#04x}, not 0)")]
    Checksum {
        /// The sum of the block's bytes mod 256.
        sum: u8,
    },
    /// A label or value is longer than the protocol allows.
    #[error("label or value too long")]
    FieldTooLong,
    /// More fields than [`MAX_FIELDS`] before `Checksum`.
    #[error("too many fields in one block")]
    TooManyFields,
    /// More than [`MAX_BLOCK_DATA`] bytes of labels and values.
    #[error("block too long")]
    BlockTooLong,
    /// A byte that may not appear in a label or value (control or non-ASCII).
    #[error("invalid byte {0:#04x} in a label or value")]
    InvalidByte(u8),
    /// An empty label (`\r\n\t`).
    #[error("empty label")]
    EmptyLabel,
    /// A `\r` ending a value not followed by `\n`.
    #[error("CR not followed by LF")]
    MissingLineFeed,
    /// A `:` HEX candidate longer than any HEX frame.
    #[error("HEX frame too long")]
    HexTooLong,
    /// A `:` HEX candidate holding a byte that is not a hex digit.
    #[error("invalid byte {0:#04x} in a HEX frame")]
    HexInvalidByte(u8),
    /// The input ended inside a block or HEX frame.
    #[error("input ended inside a block or HEX frame")]
    Truncated,
}

impl TextError {
    /// A short, stable `snake_case` code (for logs and JSON output).
    pub const fn code(self) -> &'static str {
        match self {
            Self::Checksum { .. } => "checksum",
            Self::FieldTooLong => "field_too_long",
            Self::TooManyFields => "too_many_fields",
            Self::BlockTooLong => "block_too_long",
            Self::InvalidByte(_) => "invalid_byte",
            Self::EmptyLabel => "empty_label",
            Self::MissingLineFeed => "missing_lf",
            Self::HexTooLong => "hex_too_long",
            Self::HexInvalidByte(_) => "hex_invalid_byte",
            Self::Truncated => "truncated",
        }
    }

    /// The coarse class of the error.
    pub const fn kind(self) -> voltwire_core::ErrorKind {
        match self {
            Self::Checksum { .. } => voltwire_core::ErrorKind::Checksum,
            _ => voltwire_core::ErrorKind::Framing,
        }
    }
}

/// The `tokio_util` codec for a VE.Direct port: yields [`Message`]s (records and HEX frames)
/// and encodes HEX frames.
#[cfg(feature = "tokio-codec")]
pub type VeDirectCodec = voltwire_core::codec::StreamCodec<RecordDecoder>;
