//! ASCII hex digits, the one pair of helpers every text protocol (ASCII-hex envelopes,
//! VE.Direct HEX, SLCAN) and the apps' hex input share.

/// Value of one ASCII hex digit, either case; `None` for any other byte.
///
/// ```
/// use voltwire_core::hex;
/// assert_eq!(hex::value(b'7'), Some(7));
/// assert_eq!(hex::value(b'b'), Some(0xB));
/// assert_eq!(hex::value(b'F'), Some(0xF));
/// assert_eq!(hex::value(b'g'), None);
/// ```
pub const fn value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Upper-case ASCII hex digit of the low nibble of `n` (the high nibble is ignored).
///
/// ```
/// use voltwire_core::hex;
/// assert_eq!(hex::digit(0x0A), b'A');
/// assert_eq!(hex::digit(0x37), b'7');
/// ```
pub const fn digit(n: u8) -> u8 {
    let n = n & 0x0F;
    if n < 10 { b'0' + n } else { b'A' + n - 10 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte() {
        for n in 0..=0x0Fu8 {
            assert_eq!(value(digit(n)), Some(n));
            assert_eq!(value(digit(n).to_ascii_lowercase()), Some(n));
        }
        let digits = (0..=u8::MAX).filter(|&c| value(c).is_some()).count();
        assert_eq!(digits, 22);
    }
}
