//! The field vocabulary of fixed INFO layouts (configuration, system-parameter and
//! information replies): a layout is declared once, as a struct whose fields name their wire
//! codec, and [`info_layout!`](crate::info_layout) derives both directions from it.
//!
//! ```
//! use voltwire_asciihex::layout::{Bytes, Layout, Signed, Unsigned, U8};
//! use voltwire_core::{Milliamps, Millivolts};
//!
//! voltwire_asciihex::info_layout! {
//!     /// A made-up reply.
//!     pub struct Limits {
//!         /// Wire: u8.
//!         pub flag: u8 = U8,
//!         /// Wire: u16 BE, 1 mV.
//!         pub voltage: Millivolts = Unsigned::ONE,
//!         /// Wire: i16 BE, 100 mA.
//!         pub current: Milliamps = Signed::step(100),
//!         /// Wire: 2 bytes.
//!         pub tag: [u8; 2] = Bytes,
//!     }
//! }
//!
//! let info = [0x01, 0xD2, 0xF0, 0xFF, 0x38, b'P', b'N'];
//! let l = Limits::from_info(&info).unwrap();
//! assert_eq!((l.voltage, l.current), (Millivolts(54_000), Milliamps(-20_000)));
//! assert_eq!(l.to_info()?.as_slice(), &info);
//! assert_eq!(Limits::from_info(&info[..6]), None); // short: None
//! assert_eq!(Limits::from_info(&[0; 8]), None); // a byte too many: None
//! # Ok::<(), voltwire_core::EncodeError>(())
//! ```
//!
//! Readers return `None` when INFO ends first or a value does not fit its type; writers
//! return [`EncodeError`] naming the field when a value does not fit its wire field.

use heapless::Vec;
use voltwire_core::{EncodeError, FlagWord, Quantity, Scale};

use crate::{Info, InfoWriter, Reader, Writer};

/// How a value of type `T` sits in INFO.
pub trait Field<T> {
    /// Read the value; `None` when INFO ends first or the value does not fit `T`.
    fn read(&self, r: &mut Reader<'_>) -> Option<T>;

    /// Append the value.
    ///
    /// # Errors
    /// [`EncodeError`] naming `field` when the value does not fit the wire field, or when
    /// INFO is full.
    fn write(&self, w: &mut InfoWriter, v: &T, field: &'static str) -> Result<(), EncodeError>;
}

/// A fixed INFO layout, read and written front to back (see [`info_layout!`](crate::info_layout)).
pub trait Layout: Sized {
    /// Read the layout from the reader's position; `None` when it does not fit.
    fn read_from(r: &mut Reader<'_>) -> Option<Self>;

    /// Append the layout.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field.
    fn write_to(&self, w: &mut InfoWriter) -> Result<(), EncodeError>;

    /// Decode INFO that holds exactly this layout; `None` when it is shorter or longer.
    fn from_info(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let v = Self::read_from(&mut r)?;
        r.is_empty().then_some(v)
    }

    /// The layout as INFO.
    ///
    /// # Errors
    /// As [`Layout::write_to`].
    fn to_info(&self) -> Result<Info, EncodeError> {
        let mut w = Writer::new();
        self.write_to(&mut w)?;
        Ok(w.finish())
    }
}

/// A byte. Wire: u8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct U8;

impl Field<u8> for U8 {
    fn read(&self, r: &mut Reader<'_>) -> Option<u8> {
        r.u8().ok()
    }

    fn write(&self, w: &mut InfoWriter, v: &u8, _: &'static str) -> Result<(), EncodeError> {
        w.u8(*v).map(drop)
    }
}

/// A plain number. Wire: u16 BE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct U16;

impl Field<u16> for U16 {
    fn read(&self, r: &mut Reader<'_>) -> Option<u16> {
        r.u16().ok()
    }

    fn write(&self, w: &mut InfoWriter, v: &u16, _: &'static str) -> Result<(), EncodeError> {
        w.u16(*v).map(drop)
    }
}

/// Raw bytes kept as sent (ASCII text, versions, serials). Wire: `N` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bytes;

impl<const N: usize> Field<[u8; N]> for Bytes {
    fn read(&self, r: &mut Reader<'_>) -> Option<[u8; N]> {
        r.take().ok()
    }

    fn write(&self, w: &mut InfoWriter, v: &[u8; N], _: &'static str) -> Result<(), EncodeError> {
        w.bytes(v).map(drop)
    }
}

/// A quantity (any [`Quantity`]: mV, mA, mAh, 0.1 K, …) as an unsigned step count.
/// Wire: u16 BE, `lsb` canonical units per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unsigned {
    lsb: u16,
}

impl Unsigned {
    /// One canonical unit per step (1 mV, 1 mA, 0.1 K).
    pub const ONE: Self = Self::step(1);

    /// `lsb` canonical units per step.
    pub const fn step(lsb: u16) -> Self {
        Self { lsb }
    }

    fn scale(self) -> Scale {
        Scale::new(i64::from(self.lsb), 0)
    }
}

impl<Q: Quantity> Field<Q> for Unsigned {
    fn read(&self, r: &mut Reader<'_>) -> Option<Q> {
        Q::from_wire(i64::from(r.u16().ok()?), self.scale())
    }

    fn write(&self, w: &mut InfoWriter, v: &Q, field: &'static str) -> Result<(), EncodeError> {
        let raw = v.to_wire(self.scale(), field)?;
        w.u16(u16::try_from(raw).map_err(|_| EncodeError::OutOfRange { field })?)
            .map(drop)
    }
}

/// A quantity as a signed (two's complement) step count. Wire: i16 BE, `lsb` canonical
/// units per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signed {
    lsb: i16,
}

impl Signed {
    /// `lsb` canonical units per step.
    pub const fn step(lsb: i16) -> Self {
        Self { lsb }
    }

    fn scale(self) -> Scale {
        Scale::new(i64::from(self.lsb), 0)
    }
}

impl<Q: Quantity> Field<Q> for Signed {
    fn read(&self, r: &mut Reader<'_>) -> Option<Q> {
        Q::from_wire(i64::from(r.i16().ok()?), self.scale())
    }

    fn write(&self, w: &mut InfoWriter, v: &Q, field: &'static str) -> Result<(), EncodeError> {
        let raw = v.to_wire(self.scale(), field)?;
        w.i16(i16::try_from(raw).map_err(|_| EncodeError::OutOfRange { field })?)
            .map(drop)
    }
}

/// A fixed number of values, each as the inner field. Wire: `N` × the inner field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Each<F>(pub F);

impl<T: Copy + Default, F: Field<T>, const N: usize> Field<[T; N]> for Each<F> {
    fn read(&self, r: &mut Reader<'_>) -> Option<[T; N]> {
        let mut out = [T::default(); N];
        for v in &mut out {
            *v = self.0.read(r)?;
        }
        Some(out)
    }

    fn write(
        &self,
        w: &mut InfoWriter,
        v: &[T; N],
        field: &'static str,
    ) -> Result<(), EncodeError> {
        v.iter().try_for_each(|x| self.0.write(w, x, field))
    }
}

/// A count byte, then that many values. Wire: u8, then the inner field each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Counted<F>(pub F);

impl<T, F: Field<T>, const N: usize> Field<Vec<T, N>> for Counted<F> {
    fn read(&self, r: &mut Reader<'_>) -> Option<Vec<T, N>> {
        let mut v = Vec::new();
        for _ in 0..r.u8().ok()? {
            v.push(self.0.read(r)?).ok()?;
        }
        Some(v)
    }

    fn write(
        &self,
        w: &mut InfoWriter,
        v: &Vec<T, N>,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        w.u8(u8::try_from(v.len()).map_err(|_| EncodeError::OutOfRange { field })?)?;
        v.iter().try_for_each(|x| self.0.write(w, x, field))
    }
}

/// Values up to the end of INFO, each as the inner field (a list whose count is elsewhere or
/// nowhere). Wire: the inner field, repeated; a partial last value does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rest<F>(pub F);

impl<T, F: Field<T>, const N: usize> Field<Vec<T, N>> for Rest<F> {
    fn read(&self, r: &mut Reader<'_>) -> Option<Vec<T, N>> {
        let mut v = Vec::new();
        while !r.is_empty() {
            v.push(self.0.read(r)?).ok()?;
        }
        Some(v)
    }

    fn write(
        &self,
        w: &mut InfoWriter,
        v: &Vec<T, N>,
        field: &'static str,
    ) -> Result<(), EncodeError> {
        v.iter().try_for_each(|x| self.0.write(w, x, field))
    }
}

/// A named flag byte ([`FlagWord`] over `u8`, e.g. one declared by
/// [`voltwire_core::flag_word!`] with [`voltwire_core::raw_from!`]). Wire: u8, every bit kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlagByte;

impl<W: FlagWord<Raw = u8> + From<u8>> Field<W> for FlagByte {
    fn read(&self, r: &mut Reader<'_>) -> Option<W> {
        r.u8().ok().map(W::from)
    }

    fn write(&self, w: &mut InfoWriter, v: &W, _: &'static str) -> Result<(), EncodeError> {
        w.u8(v.raw()).map(drop)
    }
}

/// Another layout in place. Wire: that layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nested;

impl<L: Layout> Field<L> for Nested {
    fn read(&self, r: &mut Reader<'_>) -> Option<L> {
        L::read_from(r)
    }

    fn write(&self, w: &mut InfoWriter, v: &L, _: &'static str) -> Result<(), EncodeError> {
        v.write_to(w)
    }
}

/// A fixed ASCII field without its NUL/space padding (`None` if not UTF-8).
pub fn text(b: &[u8]) -> Option<&str> {
    let end = b
        .iter()
        .rposition(|&c| c != 0 && c != b' ')
        .map_or(0, |i| i + 1);
    core::str::from_utf8(b.get(..end)?).ok()
}

/// A fixed ASCII field filled from `s`, NUL padded.
///
/// # Errors
/// [`EncodeError::OutOfRange`] naming `field` when `s` is longer than the field.
pub fn padded<const N: usize>(s: &str, field: &'static str) -> Result<[u8; N], EncodeError> {
    let mut out = [0u8; N];
    out.get_mut(..s.len())
        .ok_or(EncodeError::OutOfRange { field })?
        .copy_from_slice(s.as_bytes());
    Ok(out)
}

/// Declares a fixed INFO layout: a struct whose every field names its wire codec (a
/// [`Field`](crate::layout::Field): [`U8`], [`U16`], [`Bytes`], [`Unsigned`], [`Signed`],
/// [`FlagByte`], [`Each`], [`Counted`], [`Rest`], [`Nested`]), in wire order, and its
/// [`Layout`](crate::layout::Layout) impl (`read_from`/`write_to`, hence
/// `from_info`/`to_info`). Derived: `Debug, Clone, PartialEq, Eq, Hash, Default`, and
/// `defmt::Format` under the calling crate's `defmt` feature; add `#[derive(Copy)]` where
/// every field is `Copy`. Other attributes (docs) are passed through; errors name the field.
/// See the [module docs](crate::layout) for an example.
#[macro_export]
macro_rules! info_layout {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty = $codec:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
        }

        impl $crate::layout::Layout for $name {
            fn read_from(r: &mut $crate::Reader<'_>) -> ::core::option::Option<Self> {
                ::core::option::Option::Some(Self {
                    $( $field: $crate::layout::Field::<$ty>::read(&$codec, r)?, )*
                })
            }

            fn write_to(
                &self,
                w: &mut $crate::InfoWriter,
            ) -> ::core::result::Result<(), $crate::__EncodeError> {
                $( $crate::layout::Field::<$ty>::write(&$codec, w, &self.$field, stringify!($field))?; )*
                ::core::result::Result::Ok(())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_core::{DeciKelvin, MilliampHours, Milliamps};

    crate::info_layout! {
        struct All {
            a: u8 = U8,
            b: u16 = U16,
            c: [u8; 3] = Bytes,
            d: DeciKelvin = Unsigned::ONE,
            e: MilliampHours = Unsigned::step(10),
            f: Milliamps = Signed::step(100),
            g: [u16; 2] = Each(U16),
            h: Vec<u8, 2> = Counted(U8),
            i: Vec<[u8; 2], 2> = Rest(Bytes),
        }
    }

    const WIRE: [u8; 23] = [
        1, 0x12, 0x34, b'a', b'b', b'c', 0x0B, 0xAB, 0x00, 0x64, 0xFF, 0x9C, 0, 1, 0, 2, 2, 7, 8,
        b'x', b'y', b'z', b'w',
    ];

    #[test]
    fn reads_and_writes_every_codec() {
        let v = All::from_info(&WIRE).unwrap();
        assert_eq!((v.a, v.b, v.c), (1, 0x1234, *b"abc"));
        assert_eq!(
            (v.d, v.e, v.f),
            (DeciKelvin(2987), MilliampHours(1000), Milliamps(-10_000))
        );
        assert_eq!((v.g, v.h.as_slice()), ([1, 2], &[7, 8][..]));
        assert_eq!(v.i.as_slice(), &[*b"xy", *b"zw"]);
        assert_eq!(v.to_info().unwrap().as_slice(), &WIRE);
    }

    #[test]
    fn short_long_and_overfull_inputs_do_not_fit() {
        for n in 0..12 {
            assert_eq!(All::from_info(&WIRE[..n]), None, "{n}");
        }
        // A partial last item of the rest, and a third one past its capacity.
        assert_eq!(All::from_info(&WIRE[..WIRE.len() - 1]), None);
        let mut long = WIRE.to_vec();
        long.extend_from_slice(b"uv");
        assert_eq!(All::from_info(&long), None);
        // A count past the list's capacity.
        let mut counted = WIRE;
        counted[16] = 3;
        assert_eq!(All::from_info(&counted), None);
    }

    #[test]
    fn writes_name_the_field_that_does_not_fit() {
        let mut v = All::from_info(&WIRE).unwrap();
        v.f = Milliamps(-10_050);
        assert_eq!(v.to_info(), Err(EncodeError::Precision { field: "f" }));
        v.f = Milliamps(3_276_800);
        assert_eq!(v.to_info(), Err(EncodeError::OutOfRange { field: "f" }));
        v.f = Milliamps(0);
        v.e = MilliampHours(-10);
        assert_eq!(v.to_info(), Err(EncodeError::OutOfRange { field: "e" }));
    }

    #[test]
    fn text_fields() {
        assert_eq!(text(b"US2000\0\0 \0"), Some("US2000"));
        assert_eq!(text(b"\0\0"), Some(""));
        assert_eq!(text(&[0xFF, b'a']), None);
        assert_eq!(padded::<4>("ab", "x"), Ok(*b"ab\0\0"));
        assert_eq!(
            padded::<2>("abc", "x"),
            Err(EncodeError::OutOfRange { field: "x" })
        );
    }
}
