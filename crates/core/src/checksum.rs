//! Checksums shared by several protocols.
//!
//! All functions are total and allocation-free.

/// CRC-16/MODBUS (poly 0x8005 reflected, init 0xFFFF), as used by Modbus RTU and the JK-PB BMS.
pub const CRC16_MODBUS: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);

/// The 8-bit wrapping sum of `bytes`.
///
/// ```
/// assert_eq!(voltwire_core::checksum::sum8(&[0xFF, 0x02]), 0x01);
/// ```
pub fn sum8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, &b| acc.wrapping_add(b))
}

/// The 16-bit wrapping sum of `bytes` (each byte added as a `u16`).
pub fn sum16(bytes: &[u8]) -> u16 {
    bytes
        .iter()
        .fold(0u16, |acc, &b| acc.wrapping_add(u16::from(b)))
}

/// The two's complement of the 16-bit sum of `bytes`: adding it to the sum gives 0 (mod 2^16).
pub fn sum16_twos_complement(bytes: &[u8]) -> u16 {
    sum16(bytes).wrapping_neg()
}

/// CRC-16/MODBUS of `bytes`. On the wire it is sent low byte first.
///
/// ```
/// // The Modbus RTU request 01 03 00 00 00 01 carries CRC bytes 84 0A.
/// let crc = voltwire_core::checksum::crc16_modbus(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x01]);
/// assert_eq!(crc.to_le_bytes(), [0x84, 0x0A]);
/// ```
pub fn crc16_modbus(bytes: &[u8]) -> u16 {
    CRC16_MODBUS.checksum(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_wrap() {
        assert_eq!(sum8(&[]), 0);
        assert_eq!(sum8(&[0x80, 0x80, 0x01]), 0x01);
        assert_eq!(sum16(&[0xFF; 300]), 10_964 /* 76500 mod 2^16 */);
        assert_eq!(
            sum16(&[0xFF; 300]).wrapping_add(sum16_twos_complement(&[0xFF; 300])),
            0
        );
    }

    #[test]
    fn crc16_modbus_check_value() {
        // The catalogue check value of CRC-16/MODBUS over "123456789".
        assert_eq!(crc16_modbus(b"123456789"), 0x4B37);
    }
}
