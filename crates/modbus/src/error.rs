//! The crate's error type.

use voltwire_core::ErrorKind;

/// Why a register block or a frame could not be decoded.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The register block does not have the number of registers the map needs.
    #[error("register block has {got} registers, the map needs {expected}")]
    WrongLength {
        /// Registers the map needs.
        expected: usize,
        /// Registers given.
        got: usize,
    },
    /// A register holds a value that does not fit the typed field (or a set point is out of
    /// the device's range).
    #[error("value of `{field}` is out of range")]
    OutOfRange {
        /// The field's name.
        field: &'static str,
    },
    /// An RTU frame is shorter or longer than its function needs.
    #[error("RTU frame of {got} bytes, expected {expected}")]
    FrameLength {
        /// Bytes the frame needs.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The CRC-16/MODBUS of an RTU frame does not verify.
    #[error("RTU frame CRC does not verify")]
    Checksum,
    /// The frame carries another function code than the one asked for.
    #[error("unexpected function code 0x{0:02X}")]
    Function(u8),
}

impl Error {
    /// The coarse class of the error.
    pub const fn kind(self) -> ErrorKind {
        match self {
            Self::WrongLength { .. } | Self::FrameLength { .. } => ErrorKind::Framing,
            Self::OutOfRange { .. } => ErrorKind::Invalid,
            Self::Checksum => ErrorKind::Checksum,
            Self::Function(_) => ErrorKind::Unsupported,
        }
    }

    /// A short `snake_case` code, stable for logs and JSON output.
    pub const fn code(self) -> &'static str {
        match self {
            Self::WrongLength { .. } => "wrong_length",
            Self::OutOfRange { .. } => "out_of_range",
            Self::FrameLength { .. } => "frame_length",
            Self::Checksum => "checksum",
            Self::Function(_) => "function",
        }
    }
}
