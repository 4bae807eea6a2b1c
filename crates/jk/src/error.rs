//! Why a "4E 57" frame candidate was rejected.

use voltwire_core::ErrorKind;

/// Why bytes starting with `4E 57` are not a valid "4E 57" frame.
///
/// The stream decoder ([`crate::JkDecoder`]) never yields these: it only hands out frames that
/// pass every check and counts everything else as dropped noise. [`crate::check_frame`]
/// returns them, for tools that want to say *why* a candidate was dropped.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not start with `4E 57`.
    #[error("no 4E 57 start marker")]
    NoStart,
    /// The input ends before the frame does.
    #[error("frame cut off: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes the frame declares (length field + 2).
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// The length field is below the minimum (18) or above the maximum.
    #[error("length field {declared} out of range")]
    BadLength {
        /// The declared length field.
        declared: u16,
    },
    /// The byte before the checksum block is not the end marker 0x68.
    #[error("end marker 0x{found:02X} instead of 0x68")]
    BadEndMarker {
        /// The byte found.
        found: u8,
    },
    /// The 16-bit sum does not match the checksum field.
    #[error("checksum 0x{found:04X}, computed 0x{computed:04X}")]
    Checksum {
        /// Sum of the frame bytes.
        computed: u16,
        /// Checksum field on the wire.
        found: u16,
    },
}

impl Error {
    /// Coarse classification.
    pub const fn kind(self) -> ErrorKind {
        match self {
            Self::Checksum { .. } => ErrorKind::Checksum,
            _ => ErrorKind::Framing,
        }
    }

    /// A short, stable `snake_case` code for logs and JSON.
    pub const fn code(self) -> &'static str {
        match self {
            Self::NoStart => "no_start",
            Self::Truncated { .. } => "truncated",
            Self::BadLength { .. } => "bad_length",
            Self::BadEndMarker { .. } => "bad_end_marker",
            Self::Checksum { .. } => "checksum",
        }
    }
}
