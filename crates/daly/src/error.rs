//! The crate's error type.

use voltwire_core::ErrorKind;

/// Why bytes could not be read as a Daly frame or message.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer than 13 bytes.
    #[error("frame truncated: {len} of 13 bytes")]
    Truncated {
        /// Bytes available.
        len: usize,
    },
    /// The first byte is not the start flag 0xA5.
    #[error("start flag is 0x{found:02X}, not 0xA5")]
    BadStart {
        /// The byte found.
        found: u8,
    },
    /// The length byte is not 8.
    #[error("data length is {found}, not 8")]
    BadLength {
        /// The length byte found.
        found: u8,
    },
    /// The sum8 checksum does not verify.
    #[error("checksum 0x{expected:02X} computed, 0x{actual:02X} received")]
    Checksum {
        /// The sum of bytes 0..12.
        expected: u8,
        /// Byte 12 of the frame.
        actual: u8,
    },
    /// A message parser was given a frame of another command.
    #[error("frame carries command 0x{found:02X}, expected 0x{expected:02X}")]
    UnexpectedCommand {
        /// The command the parser reads.
        expected: u8,
        /// The command of the frame.
        found: u8,
    },
    /// A checksum-valid frame holds a value our exact units cannot carry.
    #[error("value of `{field}` out of range")]
    OutOfRange {
        /// The field's name.
        field: &'static str,
    },
}

impl Error {
    /// The coarse classification shared by every voltwire protocol.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Self::Truncated { .. } | Self::BadStart { .. } | Self::BadLength { .. } => {
                ErrorKind::Framing
            }
            Self::Checksum { .. } => ErrorKind::Checksum,
            Self::UnexpectedCommand { .. } => ErrorKind::Unsupported,
            Self::OutOfRange { .. } => ErrorKind::Invalid,
        }
    }

    /// A short `snake_case` code, stable for logs and JSON output.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::BadStart { .. } => "bad_start",
            Self::BadLength { .. } => "bad_length",
            Self::Checksum { .. } => "checksum",
            Self::UnexpectedCommand { .. } => "unexpected_command",
            Self::OutOfRange { .. } => "out_of_range",
        }
    }
}
