//! Errors shared by every protocol crate.

/// Why an `emit` could not write a message.
///
/// `emit` never panics: a value that the wire cannot carry exactly, or a buffer that is too
/// small, is reported here instead.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is smaller than the encoded message.
    #[error("output buffer too small: need {needed} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes the buffer has.
        have: usize,
    },
    /// A value does not fit the field's wire range.
    #[error("value of `{field}` is out of the wire range")]
    OutOfRange {
        /// The field's name.
        field: &'static str,
    },
    /// A value is not an exact multiple of the field's wire resolution.
    #[error("value of `{field}` is not a multiple of the wire resolution")]
    Precision {
        /// The field's name.
        field: &'static str,
    },
    /// A text value contains a byte the protocol cannot carry (e.g. a control character).
    #[error("value of `{field}` contains a byte the protocol cannot carry")]
    InvalidText {
        /// The field's name.
        field: &'static str,
    },
}

/// Coarse classification of any protocol error, so that apps can count failures of every
/// protocol the same way (as `embedded_can::ErrorKind` does for CAN).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Framing broken: a marker, length or terminator is wrong, or a frame is too long.
    Framing,
    /// The frame is complete but its checksum does not verify.
    Checksum,
    /// A checksum-valid frame whose content we do not know how to interpret.
    Unsupported,
    /// A checksum-valid frame whose content is out of range or malformed.
    Invalid,
    /// A value could not be encoded.
    Encode,
}

impl ErrorKind {
    /// A short `snake_case` code, stable for logs and JSON output.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Framing => "framing",
            Self::Checksum => "checksum",
            Self::Unsupported => "unsupported",
            Self::Invalid => "invalid",
            Self::Encode => "encode",
        }
    }
}

impl From<EncodeError> for ErrorKind {
    fn from(_: EncodeError) -> Self {
        Self::Encode
    }
}
