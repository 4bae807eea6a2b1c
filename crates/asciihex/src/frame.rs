//! One envelope: parse, verify, emit.

use voltwire_core::{Emit, EncodeError, ErrorKind};

use crate::{EOI, HEADER_LEN, MAX_INFO_LEN, OVERHEAD, Rtn, SOI, hex_digit, hex_value};

/// The decoded INFO bytes of a frame (each byte was two hex characters on the wire), at most
/// `N` of them (default [`MAX_INFO_LEN`]: any INFO the LENGTH field can announce).
pub type Info<const N: usize = MAX_INFO_LEN> = heapless::Vec<u8, N>;

/// Why bytes are not a valid frame.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than the smallest frame, or than LENGTH announces.
    #[error("frame truncated")]
    Truncated,
    /// The first byte is not `~`.
    #[error("frame does not start with `~`")]
    NoSoi,
    /// The last byte is not CR.
    #[error("frame does not end with CR")]
    NoEoi,
    /// A character between `~` and CR is not a hex digit.
    #[error("non-hex character at {at}")]
    NotHex {
        /// Offset of the character in the frame.
        at: usize,
    },
    /// The LCHKSUM nibble of LENGTH does not match LENID.
    #[error("LENGTH checksum nibble {found:#X}, expected {expected:#X}")]
    LengthChecksum {
        /// The nibble LENID requires.
        expected: u8,
        /// The nibble received.
        found: u8,
    },
    /// LENID disagrees with the number of INFO characters present.
    #[error("LENID {lenid} but {present} INFO characters")]
    LengthMismatch {
        /// LENID as received.
        lenid: u16,
        /// INFO characters present between LENGTH and CHKSUM.
        present: usize,
    },
    /// LENID is odd, so INFO is not a whole number of bytes.
    #[error("odd LENID {lenid}")]
    OddLength {
        /// LENID as received.
        lenid: u16,
    },
    /// The frame checksum does not verify.
    #[error("CHKSUM {found:#06X}, expected {expected:#06X}")]
    Checksum {
        /// The checksum of the characters received.
        expected: u16,
        /// The checksum field received.
        found: u16,
    },
    /// A valid frame whose INFO is longer than the caller-sized [`Frame`] holds.
    #[error("INFO of {len} bytes, the frame holds {capacity}")]
    Capacity {
        /// INFO bytes the frame carries.
        len: usize,
        /// INFO bytes the [`Frame`] type holds (its `N`).
        capacity: usize,
    },
}

impl Error {
    /// Coarse classification.
    pub const fn kind(self) -> ErrorKind {
        match self {
            Self::LengthChecksum { .. } | Self::Checksum { .. } => ErrorKind::Checksum,
            _ => ErrorKind::Framing,
        }
    }

    /// A stable short `snake_case` code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::NoSoi => "no_soi",
            Self::NoEoi => "no_eoi",
            Self::NotHex { .. } => "not_hex",
            Self::LengthChecksum { .. } => "length_checksum",
            Self::LengthMismatch { .. } => "length_mismatch",
            Self::OddLength { .. } => "odd_length",
            Self::Checksum { .. } => "checksum",
            Self::Capacity { .. } => "capacity",
        }
    }
}

/// The LCHKSUM nibble for `lenid`: `-(n2 + n1 + n0) mod 16`, masked to 4 bits (so a digit sum
/// of 16 gives 0, as in the real Pace reply `…004C…`).
pub const fn length_checksum(lenid: u16) -> u8 {
    let sum = (lenid & 0xF) + ((lenid >> 4) & 0xF) + ((lenid >> 8) & 0xF);
    #[allow(clippy::cast_possible_truncation, reason = "masked to 4 bits")]
    let nibble = (sum.wrapping_neg() & 0xF) as u8;
    nibble
}

/// The 16-bit LENGTH field for `lenid` (its low 12 bits).
pub const fn length_field(lenid: u16) -> u16 {
    let lenid = lenid & 0x0FFF;
    ((length_checksum(lenid) as u16) << 12) | lenid
}

/// CHKSUM over the characters after `~` up to the end of INFO: the two's complement of their
/// sum, modulo 65536.
pub fn frame_checksum(chars: &[u8]) -> u16 {
    voltwire_core::checksum::sum16_twos_complement(chars)
}

/// One frame, request or reply: header bytes and the decoded INFO.
///
/// The INFO storage is caller-sized: `Frame<N>` holds up to `N` INFO bytes inline
/// (`size_of` ≈ `N + 8`). The default, `Frame` = `Frame<MAX_INFO_LEN>` (2 KiB), takes any
/// frame; a host that only reads one module's replies can use e.g. `Frame<128>`
/// ([`Frame::parse_sized`], [`Frame::new_sized`]) and gets [`Error::Capacity`] for a longer
/// one instead of silently losing bytes. Owned rather than a view over the wire bytes: INFO
/// is hex on the wire, so every reader needs the decoded bytes somewhere, and an owned frame
/// outlives the decoder's buffer.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame<const N: usize = MAX_INFO_LEN> {
    /// Protocol version (0x25 Pace v25, 0x20 Pylontech / v20).
    pub ver: u8,
    /// Device address.
    pub adr: u8,
    /// Device type (0x46 = `LiFePO4` battery).
    pub cid1: u8,
    /// Request: the command. Reply: the return code (see [`Frame::rtn`]).
    pub cid2: u8,
    /// INFO as decoded bytes.
    pub info: Info<N>,
}

fn hex_byte(chars: &[u8], at: usize) -> Result<u8, Error> {
    let hi = chars.get(at).copied().and_then(hex_value);
    let lo = chars.get(at + 1).copied().and_then(hex_value);
    match (hi, lo) {
        (Some(h), Some(l)) => Ok((h << 4) | l),
        (None, _) => Err(Error::NotHex { at }),
        (Some(_), None) => Err(Error::NotHex { at: at + 1 }),
    }
}

fn hex_u16(chars: &[u8], at: usize) -> Result<u16, Error> {
    Ok(u16::from_be_bytes([
        hex_byte(chars, at)?,
        hex_byte(chars, at + 2)?,
    ]))
}

/// Check one frame, `~` through CR, without decoding INFO (what the stream scanner needs):
/// markers, hex characters, LENGTH and both checksums. Returns where INFO ends.
pub(crate) fn check(bytes: &[u8]) -> Result<usize, Error> {
    let (&soi, rest) = bytes.split_first().ok_or(Error::Truncated)?;
    if soi != SOI {
        return Err(Error::NoSoi);
    }
    let (&eoi, body) = rest.split_last().ok_or(Error::Truncated)?;
    if eoi != EOI {
        return Err(Error::NoEoi);
    }
    if bytes.len() < OVERHEAD {
        return Err(Error::Truncated);
    }
    if let Some(i) = body.iter().position(|&c| hex_value(c).is_none()) {
        return Err(Error::NotHex { at: i + 1 });
    }
    let length = hex_u16(bytes, 9)?;
    let lenid = length & 0x0FFF;
    #[allow(clippy::cast_possible_truncation, reason = "shifted to 4 bits")]
    let found = (length >> 12) as u8;
    let expected = length_checksum(lenid);
    if found != expected {
        return Err(Error::LengthChecksum { expected, found });
    }
    let present = bytes.len() - OVERHEAD;
    if usize::from(lenid) != present {
        return Err(Error::LengthMismatch { lenid, present });
    }
    if lenid % 2 != 0 {
        return Err(Error::OddLength { lenid });
    }
    let end = HEADER_LEN + present;
    let expected = frame_checksum(bytes.get(1..end).unwrap_or_default());
    let found = hex_u16(bytes, end)?;
    if found != expected {
        return Err(Error::Checksum { expected, found });
    }
    Ok(end)
}

impl Frame {
    /// A frame with the given header and INFO bytes, holding any INFO.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] when `info` is longer than [`MAX_INFO_LEN`].
    pub fn new(ver: u8, adr: u8, cid1: u8, cid2: u8, info: &[u8]) -> Result<Self, EncodeError> {
        Self::new_sized(ver, adr, cid1, cid2, info)
    }

    /// Parse exactly one frame, `~` through CR, of any length. Both checksums must verify.
    ///
    /// # Errors
    /// [`Error`] naming the first structural or checksum fault found.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        Self::parse_sized(bytes)
    }
}

impl<const N: usize> Frame<N> {
    /// A frame of capacity `N` with the given header and INFO bytes:
    /// `Frame::<64>::new_sized(…)`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] when `info` is longer than `N` or [`MAX_INFO_LEN`].
    pub fn new_sized(
        ver: u8,
        adr: u8,
        cid1: u8,
        cid2: u8,
        info: &[u8],
    ) -> Result<Self, EncodeError> {
        if info.len() > MAX_INFO_LEN {
            return Err(EncodeError::OutOfRange { field: "info" });
        }
        let info =
            Info::from_slice(info).map_err(|()| EncodeError::OutOfRange { field: "info" })?;
        Ok(Self {
            ver,
            adr,
            cid1,
            cid2,
            info,
        })
    }

    /// The CID2 position read as a reply's return code.
    pub const fn rtn(&self) -> Rtn {
        Rtn::from_code(self.cid2)
    }

    /// LENID: the number of INFO characters on the wire.
    pub fn lenid(&self) -> u16 {
        #[allow(clippy::cast_possible_truncation, reason = "info.len() <= 2047")]
        let n = (self.info.len() * 2) as u16;
        n
    }

    /// Parse exactly one frame, `~` through CR, into a frame of capacity `N`:
    /// `Frame::<128>::parse_sized(bytes)`. Both checksums must verify.
    ///
    /// # Errors
    /// [`Error`] naming the first structural or checksum fault found;
    /// [`Error::Capacity`] for a valid frame whose INFO is longer than `N`.
    pub fn parse_sized(bytes: &[u8]) -> Result<Self, Error> {
        let end = check(bytes)?;
        let len = (end - HEADER_LEN) / 2;
        if len > N {
            return Err(Error::Capacity { len, capacity: N });
        }
        let mut info = Info::new();
        let mut at = HEADER_LEN;
        while at < end {
            // Capacity holds: checked above.
            info.push(hex_byte(bytes, at)?)
                .map_err(|_| Error::Capacity { len, capacity: N })?;
            at += 2;
        }
        Ok(Self {
            ver: hex_byte(bytes, 1)?,
            adr: hex_byte(bytes, 3)?,
            cid1: hex_byte(bytes, 5)?,
            cid2: hex_byte(bytes, 7)?,
            info,
        })
    }

    /// The frame as bytes, in a fixed buffer.
    pub fn to_bytes(&self) -> heapless::Vec<u8, { crate::MAX_FRAME_LEN }> {
        let mut v = heapless::Vec::new();
        let _ = v.resize(self.buffer_len(), 0);
        let _ = self.emit(&mut v);
        v
    }
}

struct Out<'a> {
    buf: &'a mut [u8],
    at: usize,
    sum: u16,
}

impl Out<'_> {
    fn raw(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.at) {
            *slot = b;
        }
        self.at += 1;
    }
    fn byte(&mut self, b: u8) {
        for c in [hex_digit(b >> 4), hex_digit(b)] {
            self.sum = self.sum.wrapping_add(u16::from(c));
            self.raw(c);
        }
    }
}

impl<const N: usize> Emit for Frame<N> {
    fn buffer_len(&self) -> usize {
        OVERHEAD + self.info.len() * 2
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        if self.info.len() > MAX_INFO_LEN {
            // Only a `Frame<N>` with `N` above the protocol's limit can get here.
            return Err(EncodeError::OutOfRange { field: "info" });
        }
        let needed = self.buffer_len();
        if out.len() < needed {
            return Err(EncodeError::BufferTooSmall {
                needed,
                have: out.len(),
            });
        }
        let mut w = Out {
            buf: out,
            at: 0,
            sum: 0,
        };
        w.raw(SOI);
        for b in [self.ver, self.adr, self.cid1, self.cid2] {
            w.byte(b);
        }
        for b in length_field(self.lenid()).to_be_bytes() {
            w.byte(b);
        }
        for &b in &self.info {
            w.byte(b);
        }
        let sum = w.sum.wrapping_neg();
        for b in sum.to_be_bytes() {
            w.byte(b);
        }
        w.raw(EOI);
        Ok(needed)
    }
}

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc, reason = "test code")]
mod tests {
    use super::*;

    fn emit(f: &Frame) -> std::vec::Vec<u8> {
        let mut buf = std::vec![0u8; f.buffer_len()];
        assert_eq!(f.emit(&mut buf), Ok(buf.len()));
        buf
    }

    #[test]
    fn length_checksum_examples() {
        // PACEPDF §2.3.4: LENID 18 -> D012.
        assert_eq!(length_field(0x012), 0xD012);
        // Real Pace reply: digit sum 16 masks to 0.
        assert_eq!(length_field(0x04C), 0x004C);
        assert_eq!(length_field(0), 0x0000);
        assert_eq!(length_field(2), 0xE002);
        assert_eq!(length_field(0x07A), 0xF07A);
    }

    #[test]
    fn checksum_example_from_the_pace_pdf() {
        assert_eq!(frame_checksum(b"1203400356ABCEFE"), 0xFC72);
        assert_eq!(frame_checksum(b"25014642E00201"), 0xFD30);
    }

    #[test]
    fn parse_and_emit_a_real_request() {
        let wire = b"~25014642E00201FD30\r";
        let f = Frame::parse(wire).unwrap();
        assert_eq!((f.ver, f.adr, f.cid1, f.cid2), (0x25, 1, 0x46, 0x42));
        assert_eq!(f.info.as_slice(), &[1]);
        assert_eq!(emit(&f), wire);
    }

    #[test]
    fn masked_length_nibble() {
        let wire = b"~25014600004C000110000000000000000000000000000000000600000000000000000000000E000000000000EF3A\r";
        let f = Frame::parse(wire).unwrap();
        assert_eq!(f.info.len(), 38);
        assert_eq!(emit(&f), wire);
    }

    #[test]
    fn rejects_bad_checksums() {
        assert_eq!(
            Frame::parse(b"~25014642E00201FD31\r"),
            Err(Error::Checksum {
                expected: 0xFD30,
                found: 0xFD31
            })
        );
        assert!(matches!(
            Frame::parse(b"~25014642F00201FD30\r"),
            Err(Error::LengthChecksum { .. })
        ));
        assert!(matches!(
            Frame::parse(b"~25014642E00201FD3\r"),
            Err(Error::LengthMismatch { .. })
        ));
        assert_eq!(Frame::parse(b"~"), Err(Error::Truncated));
        assert_eq!(Frame::parse(b"x"), Err(Error::NoSoi));
        assert_eq!(Frame::parse(b"~25014642E00201FD30\n"), Err(Error::NoEoi));
    }

    #[test]
    fn lower_case_is_accepted() {
        let f = Frame::parse(b"~2501464ae00201fce1\r");
        // The checksum covers the characters as sent.
        let sum = frame_checksum(b"2501464ae00201");
        assert_eq!(sum, 0xFCE1);
        assert_eq!(f.unwrap().cid2, 0x4A);
    }

    #[test]
    fn emit_reports_short_buffers() {
        let f = Frame::new(0x20, 2, 0x46, 0x61, &[]).unwrap();
        assert_eq!(emit(&f), b"~200246610000FDAB\r");
        let mut small = [0u8; 10];
        assert_eq!(
            f.emit(&mut small),
            Err(EncodeError::BufferTooSmall {
                needed: 18,
                have: 10
            })
        );
    }
}
