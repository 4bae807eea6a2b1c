//! A minimal Modbus RTU frame layer: the CRC, the read request, and the exception codes.
//!
//! Standard framing (address, PDU, CRC-16/MODBUS low byte first) is what every Modbus
//! library speaks; this module exists for the quirks a library does not know (the coulomb
//! meter's function 0x6F, see [`crate::coulomb_meter::SetChargeLevel`]) and for `no_std`
//! controllers that build requests by hand.

use voltwire_core::EncodeError;
use voltwire_core::checksum::crc16_modbus;

use crate::Error;

/// Function 0x03, read holding registers.
pub const READ_HOLDING_REGISTERS: u8 = 0x03;
/// Function 0x04, read input registers.
pub const READ_INPUT_REGISTERS: u8 = 0x04;
/// Function 0x06, write single register.
pub const WRITE_SINGLE_REGISTER: u8 = 0x06;
/// Function 0x10, write multiple registers.
pub const WRITE_MULTIPLE_REGISTERS: u8 = 0x10;
/// The longest RTU frame (address + PDU + CRC), bytes.
pub const MAX_FRAME_LEN: usize = 256;
/// The most registers one read may ask for.
pub const MAX_READ_COUNT: u16 = 125;

/// A Modbus exception code, as a server answers a request it cannot serve.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExceptionCode {
    /// 0x01: the function is not supported.
    IllegalFunction,
    /// 0x02: a register in the range does not exist.
    IllegalDataAddress,
    /// 0x03: a value is not acceptable (e.g. a set point out of range).
    IllegalDataValue,
    /// 0x04: the server failed while serving.
    ServerDeviceFailure,
    /// Any other code, kept as sent.
    Other(u8),
}

impl ExceptionCode {
    /// The code on the wire.
    pub const fn code(self) -> u8 {
        match self {
            Self::IllegalFunction => 0x01,
            Self::IllegalDataAddress => 0x02,
            Self::IllegalDataValue => 0x03,
            Self::ServerDeviceFailure => 0x04,
            Self::Other(c) => c,
        }
    }

    /// The code from the wire.
    pub const fn from_code(code: u8) -> Self {
        match code {
            0x01 => Self::IllegalFunction,
            0x02 => Self::IllegalDataAddress,
            0x03 => Self::IllegalDataValue,
            0x04 => Self::ServerDeviceFailure,
            c => Self::Other(c),
        }
    }
}

impl From<u8> for ExceptionCode {
    /// The code from the wire ([`ExceptionCode::from_code`]); unknown codes are kept.
    fn from(code: u8) -> Self {
        Self::from_code(code)
    }
}

impl From<ExceptionCode> for u8 {
    /// The code on the wire ([`ExceptionCode::code`]).
    fn from(code: ExceptionCode) -> Self {
        code.code()
    }
}

/// Append the CRC of `buf[..len]` at `buf[len..len + 2]` (low byte first); the frame length.
///
/// # Errors
/// [`EncodeError::BufferTooSmall`] when `buf` has no room for `len + 2` bytes.
pub fn append_crc(buf: &mut [u8], len: usize) -> Result<usize, EncodeError> {
    let needed = len.saturating_add(2);
    let have = buf.len();
    let too_small = EncodeError::BufferTooSmall { needed, have };
    let crc = crc16_modbus(buf.get(..len).ok_or(too_small)?);
    buf.get_mut(len..needed)
        .ok_or(too_small)?
        .copy_from_slice(&crc.to_le_bytes());
    Ok(needed)
}

/// Verify the CRC of a whole RTU frame; the frame without its CRC (address + PDU).
///
/// # Errors
/// [`Error::FrameLength`] for a frame shorter than 4 bytes, [`Error::Checksum`] when the CRC
/// does not verify.
pub fn verify(frame: &[u8]) -> Result<&[u8], Error> {
    let short = Error::FrameLength {
        expected: 4,
        got: frame.len(),
    };
    if frame.len() < 4 {
        return Err(short);
    }
    let (body, crc) = frame.split_at_checked(frame.len() - 2).ok_or(short)?;
    let [lo, hi] = crc else { return Err(short) };
    if crc16_modbus(body) == u16::from_le_bytes([*lo, *hi]) {
        Ok(body)
    } else {
        Err(Error::Checksum)
    }
}

/// Write a read request (function 0x03 or 0x04) for `count` registers from `start` to `buf`:
/// 8 bytes, `address function start(BE) count(BE) crc`.
///
/// # Errors
/// [`EncodeError::OutOfRange`] when `count` is 0 or above [`MAX_READ_COUNT`],
/// [`EncodeError::BufferTooSmall`] when `buf` is shorter than 8 bytes.
pub fn read_request(
    address: u8,
    function: u8,
    start: u16,
    count: u16,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    if count == 0 || count > MAX_READ_COUNT {
        return Err(EncodeError::OutOfRange { field: "count" });
    }
    let [s0, s1] = start.to_be_bytes();
    let [c0, c1] = count.to_be_bytes();
    let have = buf.len();
    buf.get_mut(..6)
        .ok_or(EncodeError::BufferTooSmall { needed: 8, have })?
        .copy_from_slice(&[address, function, s0, s1, c0, c1]);
    append_crc(buf, 6)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn exception_codes_convert_both_ways() {
        for code in 0..=u8::MAX {
            assert_eq!(u8::from(ExceptionCode::from(code)), code);
        }
        assert_eq!(ExceptionCode::from(0x02), ExceptionCode::IllegalDataAddress);
        assert_eq!(ExceptionCode::from(0x0B), ExceptionCode::Other(0x0B));
    }

    #[test]
    fn read_request_matches_the_notes() {
        // serial-bms.md §6: `01 04 00 00 00 0C` → CRC `F0 0F` (the coulomb meter poll).
        let mut b = [0u8; 8];
        assert_eq!(read_request(1, READ_INPUT_REGISTERS, 0, 12, &mut b), Ok(8));
        assert_eq!(b, [0x01, 0x04, 0x00, 0x00, 0x00, 0x0C, 0xF0, 0x0F]);
        assert_eq!(verify(&b).unwrap(), &b[..6]);
        b[7] ^= 1;
        assert_eq!(verify(&b), Err(Error::Checksum));
        assert!(matches!(verify(&b[..3]), Err(Error::FrameLength { .. })));
    }

    #[test]
    fn read_request_checks_count_and_buffer() {
        let mut b = [0u8; 8];
        assert!(read_request(1, 3, 0, 0, &mut b).is_err());
        assert!(read_request(1, 3, 0, 126, &mut b).is_err());
        assert!(read_request(1, 3, 0, 1, &mut b[..7]).is_err());
    }

    #[test]
    fn exception_codes_round_trip() {
        for c in 0..=255u8 {
            assert_eq!(ExceptionCode::from_code(c).code(), c);
        }
    }
}
