//! Return codes carried in the CID2 position of replies.

/// The return code of a reply (PACEPDF, PYL33, NKB). Unknown codes are kept.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rtn {
    /// 0x00: normal.
    Normal,
    /// 0x01: VER error.
    VersionError,
    /// 0x02: CHKSUM error.
    ChecksumError,
    /// 0x03: LCHKSUM error.
    LengthChecksumError,
    /// 0x04: CID2 invalid.
    InvalidCid2,
    /// 0x05: command format error.
    CommandFormatError,
    /// 0x06: invalid data.
    InvalidData,
    /// 0x07: no data (history).
    NoData,
    /// 0x09: operation or write error (Pace refuses a MOSFET change).
    OperationError,
    /// 0x90: ADR error (Pylontech).
    AddressError,
    /// 0x91: internal communication error (Pylontech).
    InternalCommError,
    /// 0xE1: CID1 error.
    Cid1Error,
    /// 0xE2: command execution failed.
    ExecutionFailed,
    /// 0xE3: equipment failure.
    EquipmentFailure,
    /// 0xE4: invalid permission.
    InvalidPermission,
    /// Any other code, kept as sent.
    Unknown(u8),
}

impl Rtn {
    /// The code as sent.
    pub const fn code(self) -> u8 {
        match self {
            Self::Normal => 0x00,
            Self::VersionError => 0x01,
            Self::ChecksumError => 0x02,
            Self::LengthChecksumError => 0x03,
            Self::InvalidCid2 => 0x04,
            Self::CommandFormatError => 0x05,
            Self::InvalidData => 0x06,
            Self::NoData => 0x07,
            Self::OperationError => 0x09,
            Self::AddressError => 0x90,
            Self::InternalCommError => 0x91,
            Self::Cid1Error => 0xE1,
            Self::ExecutionFailed => 0xE2,
            Self::EquipmentFailure => 0xE3,
            Self::InvalidPermission => 0xE4,
            Self::Unknown(c) => c,
        }
    }

    /// The return code for `code`; codes not listed become [`Rtn::Unknown`].
    pub const fn from_code(code: u8) -> Self {
        match code {
            0x00 => Self::Normal,
            0x01 => Self::VersionError,
            0x02 => Self::ChecksumError,
            0x03 => Self::LengthChecksumError,
            0x04 => Self::InvalidCid2,
            0x05 => Self::CommandFormatError,
            0x06 => Self::InvalidData,
            0x07 => Self::NoData,
            0x09 => Self::OperationError,
            0x90 => Self::AddressError,
            0x91 => Self::InternalCommError,
            0xE1 => Self::Cid1Error,
            0xE2 => Self::ExecutionFailed,
            0xE3 => Self::EquipmentFailure,
            0xE4 => Self::InvalidPermission,
            c => Self::Unknown(c),
        }
    }

    /// A short `snake_case` name, `None` for unknown codes.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::Normal => "normal",
            Self::VersionError => "version_error",
            Self::ChecksumError => "checksum_error",
            Self::LengthChecksumError => "length_checksum_error",
            Self::InvalidCid2 => "invalid_cid2",
            Self::CommandFormatError => "command_format_error",
            Self::InvalidData => "invalid_data",
            Self::NoData => "no_data",
            Self::OperationError => "operation_error",
            Self::AddressError => "address_error",
            Self::InternalCommError => "internal_comm_error",
            Self::Cid1Error => "cid1_error",
            Self::ExecutionFailed => "execution_failed",
            Self::EquipmentFailure => "equipment_failure",
            Self::InvalidPermission => "invalid_permission",
            Self::Unknown(_) => return None,
        })
    }

    /// Whether the reply reports success.
    pub const fn is_ok(self) -> bool {
        matches!(self, Self::Normal)
    }
}

impl From<u8> for Rtn {
    fn from(code: u8) -> Self {
        Self::from_code(code)
    }
}

impl From<Rtn> for u8 {
    fn from(rtn: Rtn) -> Self {
        rtn.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for c in 0..=255u8 {
            assert_eq!(Rtn::from_code(c).code(), c);
        }
        assert_eq!(Rtn::from_code(0x09), Rtn::OperationError);
        assert_eq!(Rtn::from_code(0x42), Rtn::Unknown(0x42));
    }
}
