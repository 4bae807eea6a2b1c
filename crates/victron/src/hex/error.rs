//! The one error type of the HEX protocol: framing, checksum and content errors.

use voltwire_core::ErrorKind;

/// Why a HEX line, frame, message, register value or history record could not be decoded.
///
/// Every variant is cheap to copy and carries the data needed to debug a field problem.
/// [`HexError::kind`] classifies it for counters, [`HexError::code`] gives a stable short
/// string for logs and JSON.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// The line is empty, or holds nothing but `:` and a terminator.
    #[error("empty HEX line")]
    Empty,
    /// The line does not start with `:`.
    #[error("HEX line starts with byte 0x{found:02X}, not ':'")]
    MissingColon {
        /// The first byte of the line.
        found: u8,
    },
    /// Fewer than three hex digits after `:` (a command nibble and a checksum byte are needed).
    #[error("HEX line has only {digits} hex digits; at least 3 are needed")]
    TooShort {
        /// Number of characters between `:` and the terminator.
        digits: usize,
    },
    /// The payload and checksum do not form whole bytes (an even number of characters after
    /// `:` means a half byte is missing somewhere).
    #[error("HEX line has {digits} characters after ':'; an odd count is required")]
    OddDigits {
        /// Number of characters between `:` and the terminator.
        digits: usize,
    },
    /// A character that is not a hex digit.
    #[error("byte 0x{byte:02X} at offset {offset} is not a hex digit")]
    BadDigit {
        /// Offset of the byte in the line (the `:` is offset 0).
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// The payload is longer than [`super::MAX_PAYLOAD_LEN`] bytes.
    #[error("HEX payload of {len} bytes exceeds the maximum")]
    TooLong {
        /// Payload length the line declares, in bytes.
        len: usize,
    },
    /// The checksum byte does not make the sum of command, payload and checksum 0x55.
    #[error("HEX checksum mismatch: expected 0x{expected:02X}, got 0x{actual:02X}")]
    Checksum {
        /// The checksum byte that would have made the frame valid.
        expected: u8,
        /// The checksum byte the line carries.
        actual: u8,
    },
    /// The command nibble is not defined in the direction asked for.
    #[error("HEX command 0x{command:X} is not defined in this direction")]
    UnknownCommand {
        /// The command nibble.
        command: u8,
    },
    /// The payload length does not fit the command (e.g. a Get without a register id, or a
    /// Ping request with a payload).
    #[error("HEX command 0x{command:X} cannot carry a payload of {len} bytes")]
    PayloadLength {
        /// The command nibble.
        command: u8,
        /// The payload length in bytes.
        len: usize,
    },
    /// A register value has the wrong number of bytes for the register's type.
    #[error("register 0x{register:04X} needs {expected} value bytes, got {actual}")]
    ValueLength {
        /// The register id.
        register: u16,
        /// Bytes the register's type needs.
        expected: usize,
        /// Bytes received.
        actual: usize,
    },
    /// A field holds a value that the decoded type cannot carry exactly (e.g. a un32 power
    /// above `i32::MAX` watts).
    #[error("field `{field}` is out of range")]
    FieldOutOfRange {
        /// The field's name.
        field: &'static str,
    },
}

impl HexError {
    /// Coarse classification, shared with every other protocol crate.
    pub const fn kind(self) -> ErrorKind {
        match self {
            Self::Empty
            | Self::MissingColon { .. }
            | Self::TooShort { .. }
            | Self::OddDigits { .. }
            | Self::BadDigit { .. }
            | Self::TooLong { .. } => ErrorKind::Framing,
            Self::Checksum { .. } => ErrorKind::Checksum,
            Self::UnknownCommand { .. } => ErrorKind::Unsupported,
            Self::PayloadLength { .. }
            | Self::ValueLength { .. }
            | Self::FieldOutOfRange { .. } => ErrorKind::Invalid,
        }
    }

    /// A short `snake_case` code, stable for logs and JSON output.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Empty => "hex_empty",
            Self::MissingColon { .. } => "hex_start",
            Self::TooShort { .. } => "hex_short",
            Self::OddDigits { .. } => "hex_odd_digits",
            Self::BadDigit { .. } => "hex_digit",
            Self::TooLong { .. } => "hex_length",
            Self::Checksum { .. } => "hex_checksum",
            Self::UnknownCommand { .. } => "hex_command",
            Self::PayloadLength { .. } => "hex_payload_length",
            Self::ValueLength { .. } => "hex_value_length",
            Self::FieldOutOfRange { .. } => "hex_field_range",
        }
    }
}

impl From<HexError> for ErrorKind {
    fn from(e: HexError) -> Self {
        e.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_prefixed() {
        let all = [
            HexError::Empty,
            HexError::MissingColon { found: 0 },
            HexError::TooShort { digits: 0 },
            HexError::OddDigits { digits: 0 },
            HexError::BadDigit { offset: 0, byte: 0 },
            HexError::TooLong { len: 0 },
            HexError::Checksum {
                expected: 0,
                actual: 0,
            },
            HexError::UnknownCommand { command: 0 },
            HexError::PayloadLength { command: 0, len: 0 },
            HexError::ValueLength {
                register: 0,
                expected: 0,
                actual: 0,
            },
            HexError::FieldOutOfRange { field: "f" },
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(a.code().starts_with("hex_"));
            for b in all.iter().skip(i + 1) {
                assert_ne!(a.code(), b.code());
            }
        }
        assert_eq!(
            HexError::Checksum {
                expected: 1,
                actual: 2
            }
            .kind(),
            ErrorKind::Checksum
        );
        assert_eq!(ErrorKind::from(HexError::Empty), ErrorKind::Framing);
        assert_eq!(
            std::format!(
                "{}",
                HexError::Checksum {
                    expected: 0x3E,
                    actual: 0x3F
                }
            ),
            "HEX checksum mismatch: expected 0x3E, got 0x3F"
        );
    }
}
