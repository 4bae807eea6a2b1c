//! Byte-range field constants with checked little/big-endian readers and writers.
//!
//! A message's layout is written once, as constants, and both `parse` and `emit` use them:
//!
//! ```
//! use voltwire_core::field::{Be, Bytes, Le};
//!
//! // 0x351-style layout: a u16 LE at 0, an i16 LE at 2, a u16 BE at 4, two raw bytes at 6.
//! const VOLTAGE: Le<u16> = Le::at(0);
//! const CURRENT: Le<i16> = Le::at(VOLTAGE.end());
//! const WORD: Be<u16> = Be::at(CURRENT.end());
//! const TAG: Bytes<2> = Bytes::at(WORD.end());
//!
//! let frame = [0x33, 0x02, 0x9C, 0xFF, 0x12, 0x34, b'P', b'N'];
//! assert_eq!(VOLTAGE.read(&frame), Some(563));
//! assert_eq!(CURRENT.read(&frame), Some(-100));
//! assert_eq!(WORD.read(&frame), Some(0x1234));
//! assert_eq!(TAG.read(&frame), Some(*b"PN"));
//! assert_eq!(VOLTAGE.read(&frame[..1]), None); // short input: None, never a panic
//!
//! let mut out = [0u8; 8];
//! VOLTAGE.write(&mut out, 563)?;
//! CURRENT.write(&mut out, -100)?;
//! WORD.write(&mut out, 0x1234)?;
//! TAG.write(&mut out, *b"PN")?;
//! assert_eq!(out, frame);
//! assert!(TAG.write(&mut out[..4], *b"PN").is_err());
//! # Ok::<(), voltwire_core::EncodeError>(())
//! ```
//!
//! Readers return `None` and writers [`EncodeError::BufferTooSmall`] when the buffer does not
//! hold the whole field; nothing here indexes or panics.

use core::marker::PhantomData;
use core::ops::Range;

use crate::{EncodeError, Quantity, Scale};

mod sealed {
    pub trait Sealed {}
}

/// A fixed-width integer that can sit in a wire field (`u8` … `i64`).
///
/// Sealed: implemented for the primitive integers only.
pub trait Int: Copy + sealed::Sealed {
    /// Width in bytes.
    const SIZE: usize;
    /// From exactly [`Self::SIZE`] little-endian bytes; `None` for any other length.
    fn from_le_slice(bytes: &[u8]) -> Option<Self>;
    /// From exactly [`Self::SIZE`] big-endian bytes; `None` for any other length.
    fn from_be_slice(bytes: &[u8]) -> Option<Self>;
    /// Little-endian bytes into `out`, which must be exactly [`Self::SIZE`] long; `false` if not.
    fn put_le(self, out: &mut [u8]) -> bool;
    /// Big-endian bytes into `out`, which must be exactly [`Self::SIZE`] long; `false` if not.
    fn put_be(self, out: &mut [u8]) -> bool;
}

macro_rules! int {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Int for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            fn from_le_slice(bytes: &[u8]) -> Option<Self> {
                bytes.try_into().ok().map(<$t>::from_le_bytes)
            }
            fn from_be_slice(bytes: &[u8]) -> Option<Self> {
                bytes.try_into().ok().map(<$t>::from_be_bytes)
            }
            fn put_le(self, out: &mut [u8]) -> bool {
                put(out, &self.to_le_bytes())
            }
            fn put_be(self, out: &mut [u8]) -> bool {
                put(out, &self.to_be_bytes())
            }
        }
    )*};
}

int!(u8, i8, u16, i16, u32, i32, u64, i64);

fn put(out: &mut [u8], bytes: &[u8]) -> bool {
    if out.len() == bytes.len() {
        out.copy_from_slice(bytes);
        true
    } else {
        false
    }
}

fn too_small(end: usize, have: usize) -> EncodeError {
    EncodeError::BufferTooSmall { needed: end, have }
}

macro_rules! endian_field {
    ($(#[$doc:meta])* $name:ident, $from:ident, $put:ident) => {
        $(#[$doc])*
        pub struct $name<T> {
            at: usize,
            _int: PhantomData<fn() -> T>,
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T> Copy for $name<T> {}
        impl<T> core::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}@{}", stringify!($name), self.at)
            }
        }

        impl<T: Int> $name<T> {
            /// The field starting at byte `at`.
            pub const fn at(at: usize) -> Self {
                Self { at, _int: PhantomData }
            }

            /// First byte.
            pub const fn start(self) -> usize {
                self.at
            }

            /// One past the last byte (the next field's start).
            pub const fn end(self) -> usize {
                self.at.saturating_add(T::SIZE)
            }

            /// The byte range.
            pub const fn range(self) -> Range<usize> {
                self.at..self.end()
            }

            /// The value, or `None` when `buf` ends before the field does.
            pub fn read(self, buf: &[u8]) -> Option<T> {
                buf.get(self.range()).and_then(T::$from)
            }

            /// Write `value` into its bytes of `buf`.
            ///
            /// # Errors
            /// [`EncodeError::BufferTooSmall`] when `buf` ends before the field does.
            pub fn write(self, buf: &mut [u8], value: T) -> Result<(), EncodeError> {
                let have = buf.len();
                if buf.get_mut(self.range()).is_some_and(|dst| value.$put(dst)) {
                    Ok(())
                } else {
                    Err(too_small(self.end(), have))
                }
            }
        }
    };
}

endian_field!(
    /// A little-endian integer field of type `T` at a fixed byte offset.
    Le,
    from_le_slice,
    put_le
);
endian_field!(
    /// A big-endian integer field of type `T` at a fixed byte offset.
    Be,
    from_be_slice,
    put_be
);

/// An integer field of either byte order: [`Le`] or [`Be`].
pub trait IntField: Copy {
    /// The integer type.
    type Int: Int;
    /// The byte range.
    fn range(self) -> Range<usize>;
    /// The value, or `None` when `buf` ends before the field does.
    fn read(self, buf: &[u8]) -> Option<Self::Int>;
    /// Write `value` into its bytes of `buf`.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `buf` ends before the field does.
    fn write(self, buf: &mut [u8], value: Self::Int) -> Result<(), EncodeError>;
}

macro_rules! int_field {
    ($($name:ident),*) => {$(
        impl<T: Int> IntField for $name<T> {
            type Int = T;
            fn range(self) -> Range<usize> {
                $name::range(self)
            }
            fn read(self, buf: &[u8]) -> Option<T> {
                $name::read(self, buf)
            }
            fn write(self, buf: &mut [u8], value: T) -> Result<(), EncodeError> {
                $name::write(self, buf, value)
            }
        }
    )*};
}

int_field!(Le, Be);

/// Why a [`Scaled`] field could not be read.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadError {
    /// The buffer ends before the field does.
    Short,
    /// The value does not fit the canonical unit.
    OutOfRange {
        /// The field's name.
        field: &'static str,
    },
}

/// A quantity's whole wire layout in one constant: where it is ([`Le`]/[`Be`], which gives
/// width, signedness and byte order), its [`Scale`] and the name errors carry.
///
/// ```
/// use voltwire_core::field::{Le, ReadError, Scaled};
/// use voltwire_core::{EncodeError, Millivolts, Scale};
///
/// const CVL: Scaled<Le<u16>> = Scaled::new(Le::at(0), Scale::new(100, 0), "cvl");
///
/// let v: Millivolts = CVL.read(&[0x33, 0x02])?;
/// assert_eq!(v, Millivolts(56_300));
/// let mut out = [0u8; 2];
/// CVL.write(&mut out, v).unwrap();
/// assert_eq!(out, [0x33, 0x02]);
/// assert_eq!(CVL.write(&mut out, Millivolts(1)), Err(EncodeError::Precision { field: "cvl" }));
/// assert_eq!(CVL.read::<Millivolts>(&[0x33]), Err(ReadError::Short));
/// # Ok::<(), ReadError>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy)]
pub struct Scaled<F> {
    /// Where the raw integer sits.
    pub field: F,
    /// Its wire encoding.
    pub scale: Scale,
    /// Its name in errors.
    pub name: &'static str,
}

impl<F: IntField> Scaled<F>
where
    F::Int: Into<i64> + TryFrom<i64>,
{
    /// A scaled field.
    pub const fn new(field: F, scale: Scale, name: &'static str) -> Self {
        Self { field, scale, name }
    }

    /// The value in canonical units.
    ///
    /// # Errors
    /// [`ReadError::Short`] when `buf` ends before the field, [`ReadError::OutOfRange`] when
    /// the value does not fit `U`.
    pub fn read<U: Quantity>(self, buf: &[u8]) -> Result<U, ReadError> {
        let raw = self.field.read(buf).ok_or(ReadError::Short)?;
        U::from_wire(raw.into(), self.scale).ok_or(ReadError::OutOfRange { field: self.name })
    }

    /// Write `value` exactly.
    ///
    /// # Errors
    /// [`EncodeError::Precision`] / [`EncodeError::OutOfRange`] when the wire cannot carry the
    /// value exactly, [`EncodeError::BufferTooSmall`] when `buf` ends before the field.
    pub fn write<U: Quantity>(self, buf: &mut [u8], value: U) -> Result<(), EncodeError> {
        let raw = value.to_wire(self.scale, self.name)?;
        let raw =
            F::Int::try_from(raw).map_err(|_| EncodeError::OutOfRange { field: self.name })?;
        self.field.write(buf, raw)
    }
}

/// A field of `N` raw bytes at a fixed offset (tags, reserved bytes, ASCII).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bytes<const N: usize> {
    at: usize,
}

impl<const N: usize> Bytes<N> {
    /// The field starting at byte `at`.
    pub const fn at(at: usize) -> Self {
        Self { at }
    }

    /// First byte.
    pub const fn start(self) -> usize {
        self.at
    }

    /// One past the last byte.
    pub const fn end(self) -> usize {
        self.at.saturating_add(N)
    }

    /// The byte range.
    pub const fn range(self) -> Range<usize> {
        self.at..self.end()
    }

    /// The bytes, or `None` when `buf` ends before the field does.
    pub fn read(self, buf: &[u8]) -> Option<[u8; N]> {
        buf.get(self.range()).and_then(|b| b.try_into().ok())
    }

    /// Copy `value` into the field's bytes of `buf`.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `buf` ends before the field does.
    pub fn write(self, buf: &mut [u8], value: [u8; N]) -> Result<(), EncodeError> {
        let have = buf.len();
        if buf
            .get_mut(self.range())
            .is_some_and(|dst| put(dst, &value))
        {
            Ok(())
        } else {
            Err(too_small(self.end(), have))
        }
    }
}

/// The bytes from `at` to the end of `buf` (a variable tail), empty when `buf` is shorter.
pub fn tail(buf: &[u8], at: usize) -> &[u8] {
    buf.get(at..).unwrap_or_default()
}

/// Copy `bytes` into `buf` starting at `at` (a variable tail).
///
/// # Errors
/// [`EncodeError::BufferTooSmall`] when `buf` cannot hold them.
pub fn write_tail(buf: &mut [u8], at: usize, bytes: &[u8]) -> Result<(), EncodeError> {
    let have = buf.len();
    let end = at.saturating_add(bytes.len());
    if buf.get_mut(at..end).is_some_and(|dst| put(dst, bytes)) {
        Ok(())
    } else {
        Err(too_small(end, have))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_width() {
        let mut b = [0u8; 8];
        Le::<u32>::at(0).write(&mut b, 0x0403_0201).unwrap();
        Be::<i16>::at(4).write(&mut b, -2).unwrap();
        Le::<u8>::at(6).write(&mut b, 7).unwrap();
        assert_eq!(b, [1, 2, 3, 4, 0xFF, 0xFE, 7, 0]);
        assert_eq!(Be::<u32>::at(0).read(&b), Some(0x0102_0304));
        assert_eq!(Le::<i64>::at(0).read(&b), Some(0x0007_FEFF_0403_0201));
        assert_eq!(Le::<u16>::at(7).read(&b), None);
        assert_eq!(Le::<u16>::at(usize::MAX - 1).read(&b), None);
        assert_eq!(
            Le::<u16>::at(7).write(&mut b, 1),
            Err(EncodeError::BufferTooSmall { needed: 9, have: 8 })
        );
        assert_eq!(tail(&b, 6), &[7, 0]);
        assert_eq!(tail(&b, 9), &[] as &[u8]);
        assert!(write_tail(&mut b, 7, &[1, 2]).is_err());
        write_tail(&mut b, 6, &[1, 2]).unwrap();
        assert_eq!(Bytes::<2>::at(6).read(&b), Some([1, 2]));
    }
}
