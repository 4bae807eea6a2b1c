//! A cursor over INFO bytes (each byte was two hex characters on the wire; multi-byte fields
//! are big-endian, so a `u16` is four characters).

use voltwire_core::{DeciKelvin, EncodeError, MilliampHours, Milliamps, Millivolts, Scale};

use crate::{Info, MAX_INFO_LEN};

/// INFO ended before a field.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("INFO too short: field at byte {at} needs {needed} bytes")]
pub struct ShortInfo {
    /// Offset of the field in INFO.
    pub at: usize,
    /// Bytes the field needs.
    pub needed: usize,
}

/// Reads big-endian fields from INFO, front to back.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub const fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }

    /// Offset of the next field.
    pub const fn position(&self) -> usize {
        self.at
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.at..).unwrap_or_default()
    }

    /// Number of bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest().len()
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    /// [`ShortInfo`] when fewer than `n` bytes are left.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], ShortInfo> {
        let err = ShortInfo {
            at: self.at,
            needed: n,
        };
        let end = self.at.checked_add(n).ok_or(err)?;
        let s = self.data.get(self.at..end).ok_or(err)?;
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ShortInfo> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A byte (2 characters).
    ///
    /// # Errors
    /// [`ShortInfo`] at the end of INFO.
    pub fn u8(&mut self) -> Result<u8, ShortInfo> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    /// An unsigned big-endian 16-bit value (4 characters).
    ///
    /// # Errors
    /// [`ShortInfo`] at the end of INFO.
    pub fn u16(&mut self) -> Result<u16, ShortInfo> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A signed (two's complement) big-endian 16-bit value (4 characters).
    ///
    /// # Errors
    /// [`ShortInfo`] at the end of INFO.
    pub fn i16(&mut self) -> Result<i16, ShortInfo> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    /// An unsigned big-endian 24-bit value (6 characters).
    ///
    /// # Errors
    /// [`ShortInfo`] at the end of INFO.
    pub fn u24(&mut self) -> Result<u32, ShortInfo> {
        let [a, b, c] = self.array()?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// A fixed-size array of bytes.
    ///
    /// # Errors
    /// [`ShortInfo`] when fewer than `N` bytes are left.
    pub fn take<const N: usize>(&mut self) -> Result<[u8; N], ShortInfo> {
        self.array()
    }

    /// A voltage as unsigned 16-bit millivolts.
    ///
    /// # Errors
    /// [`ShortInfo`] at the end of INFO.
    pub fn millivolts(&mut self) -> Result<Millivolts, ShortInfo> {
        Ok(Millivolts(i32::from(self.u16()?)))
    }

    /// A signed 16-bit current in steps of `lsb_ma` milliamps.
    ///
    /// # Errors
    /// [`ShortInfo`] at the end of INFO.
    pub fn milliamps(&mut self, lsb_ma: i16) -> Result<Milliamps, ShortInfo> {
        Ok(Milliamps(i32::from(self.i16()?) * i32::from(lsb_ma)))
    }

    /// An unsigned 16-bit charge in steps of `lsb_mah` milliamp-hours.
    ///
    /// # Errors
    /// [`ShortInfo`] at the end of INFO.
    pub fn milliamp_hours(&mut self, lsb_mah: u16) -> Result<MilliampHours, ShortInfo> {
        Ok(MilliampHours(i64::from(self.u16()?) * i64::from(lsb_mah)))
    }

    /// An unsigned 16-bit absolute temperature in 0.1 K.
    ///
    /// # Errors
    /// [`ShortInfo`] at the end of INFO.
    pub fn deci_kelvin(&mut self) -> Result<DeciKelvin, ShortInfo> {
        Ok(DeciKelvin(i32::from(self.u16()?)))
    }
}

/// INFO being built, front to back, big-endian, in the buffer `B`. Two shapes of it:
///
/// - [`Writer<N>`](Writer) owns `N` bytes (default [`MAX_INFO_LEN`], any INFO; a smaller `N`
///   bounds the stack an encoder uses): `Writer::new()`, `Writer::<64>::new_sized()`,
///   then [`Writer::finish`];
/// - [`InfoWriter`] is the same over a buffer of any length: what the field writers take
///   (`&mut InfoWriter`; a `&mut Writer<N>` coerces to it), so they are compiled once
///   whatever sizes a program uses.
pub struct InfoBuf<B: ?Sized> {
    len: usize,
    buf: B,
}

/// INFO of at most `N` bytes being built (see [`InfoBuf`]).
pub type Writer<const N: usize = MAX_INFO_LEN> = InfoBuf<[u8; N]>;

/// INFO being built in a buffer of any length: what field writers take (see [`InfoBuf`]).
pub type InfoWriter = InfoBuf<[u8]>;

const FULL: EncodeError = EncodeError::OutOfRange { field: "info" };

impl Writer {
    /// An empty INFO of any length up to [`MAX_INFO_LEN`] (see [`Writer::new_sized`] for a
    /// smaller one).
    pub const fn new() -> Self {
        Self::new_sized()
    }
}

impl<const N: usize> Writer<N> {
    /// An empty INFO of at most `N` bytes: `Writer::<64>::new_sized()`.
    pub const fn new_sized() -> Self {
        Self {
            len: 0,
            buf: [0; N],
        }
    }

    /// The finished INFO.
    pub fn finish(self) -> Info<N> {
        // `len <= N` always holds, so the copy always fits.
        Info::from_slice(self.written()).unwrap_or_default()
    }
}

impl<const N: usize> Default for Writer<N> {
    fn default() -> Self {
        Self::new_sized()
    }
}

impl<const N: usize> Clone for Writer<N> {
    fn clone(&self) -> Self {
        Self {
            len: self.len,
            buf: self.buf,
        }
    }
}

impl<B: ?Sized + AsRef<[u8]>> core::fmt::Debug for InfoBuf<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let written = self.buf.as_ref().get(..self.len).unwrap_or_default();
        f.debug_tuple("InfoBuf").field(&written).finish()
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Writer<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Writer({=[u8]})", self.written());
    }
}

impl<const N: usize> core::ops::Deref for Writer<N> {
    type Target = InfoWriter;

    fn deref(&self) -> &InfoWriter {
        self
    }
}

impl<const N: usize> core::ops::DerefMut for Writer<N> {
    fn deref_mut(&mut self) -> &mut InfoWriter {
        self
    }
}

impl InfoWriter {
    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Append bytes.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] when INFO would exceed the buffer.
    pub fn bytes(&mut self, b: &[u8]) -> Result<&mut Self, EncodeError> {
        let end = self.len.checked_add(b.len()).ok_or(FULL)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(FULL)?;
        dst.copy_from_slice(b);
        self.len = end;
        Ok(self)
    }

    /// Append a byte.
    ///
    /// # Errors
    /// As [`Writer::bytes`].
    pub fn u8(&mut self, v: u8) -> Result<&mut Self, EncodeError> {
        self.bytes(&[v])
    }

    /// Append a big-endian `u16`.
    ///
    /// # Errors
    /// As [`Writer::bytes`].
    pub fn u16(&mut self, v: u16) -> Result<&mut Self, EncodeError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Append a big-endian `i16`.
    ///
    /// # Errors
    /// As [`Writer::bytes`].
    pub fn i16(&mut self, v: i16) -> Result<&mut Self, EncodeError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Append a big-endian 24-bit value.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `field`) when `v` exceeds 24 bits, or as
    /// [`Writer::bytes`].
    pub fn u24(&mut self, v: u32, field: &'static str) -> Result<&mut Self, EncodeError> {
        let [hi, a, b, c] = v.to_be_bytes();
        if hi != 0 {
            return Err(EncodeError::OutOfRange { field });
        }
        self.bytes(&[a, b, c])
    }

    /// Append a voltage as unsigned 16-bit millivolts.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (naming `field`) when it does not fit, or as [`Writer::bytes`].
    pub fn millivolts(
        &mut self,
        v: Millivolts,
        field: &'static str,
    ) -> Result<&mut Self, EncodeError> {
        self.u16(v.to_wire_as(Scale::IDENTITY, field)?)
    }

    /// Append a current as a signed 16-bit value in steps of `lsb_ma` milliamps.
    ///
    /// # Errors
    /// [`EncodeError::Precision`] when not a multiple of the step, [`EncodeError::OutOfRange`]
    /// when it does not fit, or as [`Writer::bytes`].
    pub fn milliamps(
        &mut self,
        v: Milliamps,
        lsb_ma: i16,
        field: &'static str,
    ) -> Result<&mut Self, EncodeError> {
        self.i16(v.to_wire_as(Scale::new(i64::from(lsb_ma), 0), field)?)
    }

    /// Append a charge as an unsigned 16-bit value in steps of `lsb_mah` milliamp-hours.
    ///
    /// # Errors
    /// As [`Writer::milliamps`].
    pub fn milliamp_hours(
        &mut self,
        v: MilliampHours,
        lsb_mah: u16,
        field: &'static str,
    ) -> Result<&mut Self, EncodeError> {
        self.u16(v.to_wire_as(Scale::new(i64::from(lsb_mah), 0), field)?)
    }

    /// Append an absolute temperature as unsigned 16-bit 0.1 K.
    ///
    /// # Errors
    /// As [`Writer::millivolts`].
    pub fn deci_kelvin(
        &mut self,
        v: DeciKelvin,
        field: &'static str,
    ) -> Result<&mut Self, EncodeError> {
        self.u16(v.to_wire_as(Scale::IDENTITY, field)?)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_fields() {
        let mut r = Reader::new(&[0x10, 0x0C, 0xC7, 0xFF, 0x1F, 0x01, 0x86, 0xA0]);
        assert_eq!(r.u8(), Ok(0x10));
        assert_eq!(r.u16(), Ok(3271));
        assert_eq!(r.i16(), Ok(-225));
        assert_eq!(r.u24(), Ok(100_000));
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(ShortInfo { at: 8, needed: 1 }));
    }

    #[test]
    fn writes_what_it_reads() {
        let mut w = Writer::new();
        w.u8(1).unwrap().i16(-2).unwrap().u24(70_000, "x").unwrap();
        assert!(w.clone().u24(1 << 24, "x").is_err());
        let info = w.finish();
        let mut r = Reader::new(&info);
        assert_eq!((r.u8(), r.i16(), r.u24()), (Ok(1), Ok(-2), Ok(70_000)));
    }
}
