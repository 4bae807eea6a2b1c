//! The JSON shape of protocol values (feature `serde`), shared by every protocol crate so
//! that all of them render the same way (`docs/json.md` is the contract):
//!
//! - a quantity (the unit newtypes, [`crate::Millivolts`], …) is a number in its SI unit:
//!   the exact canonical integer divided by its scale, written as an integer when it is
//!   integral (`48`) and as the shortest decimal that reads back to the same `f64` otherwise
//!   (`52.86`, never `52.860000000000006`). The key carries the unit (`voltage_v`); the
//!   crates rename their fields so. Reading one back is exact: a number that is not a whole
//!   multiple of the canonical unit (`0.0005` as volts) is refused, not rounded;
//! - a code (a `code_enum!` type) is `{"code": N, "name": "snake_case" | null}`; read back
//!   from `code` alone (`name` is ignored);
//! - a named bit set (a `flag_word!` type) is `{"raw": N, "flags": ["name", …]}`; read back
//!   from `raw` alone;
//! - bytes without a meaning of their own are an uppercase hex string ([`Hex`]).
//!
//! Everything here is `no_std` and allocation-free.

use core::fmt;

use serde::de::{self, Visitor};
use serde::ser::SerializeStruct as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FlagNames;

/// Serialize the canonical integer `value` of a unit `div` times smaller than its SI unit
/// (`div` = 1000 for millivolts) as an SI number: an integer when integral, else an `f64`.
///
/// # Errors
/// Those of the serializer.
#[allow(
    clippy::cast_precision_loss,
    reason = "app-edge float: canonical values are far below 2^53"
)]
pub fn serialize_si<S: Serializer>(value: i64, div: i64, s: S) -> Result<S::Ok, S::Error> {
    match (value.checked_rem(div), value.checked_div(div)) {
        (Some(0), Some(whole)) => s.serialize_i64(whole),
        _ => s.serialize_f64(value as f64 / div as f64),
    }
}

/// The canonical integer of the SI number `v` in a unit `div` times smaller, or `None` when
/// it is not finite, out of range, or not a whole multiple of the canonical unit.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    reason = "range-checked before the cast; the float is the app edge's"
)]
pub fn si_to_canonical(v: f64, div: i64) -> Option<i64> {
    let x = v * div as f64;
    if !x.is_finite() || !(-9.0e15..=9.0e15).contains(&x) {
        return None;
    }
    let t = x as i64;
    let frac = x - t as f64;
    let r = if frac >= 0.5 {
        t.checked_add(1)?
    } else if frac <= -0.5 {
        t.checked_sub(1)?
    } else {
        t
    };
    let off = x - r as f64;
    // What is left is binary noise of the decimal (12.53 × 1000 = 12530.000000000002),
    // never a fraction of the unit.
    (-1e-6..=1e-6).contains(&off).then_some(r)
}

/// Deserialize an SI number (integer or float) into the canonical integer of a unit `div`
/// times smaller.
///
/// # Errors
/// A value that is not a number, not finite, out of range or finer than the canonical unit.
pub fn deserialize_si<'de, D: Deserializer<'de>>(d: D, div: i64) -> Result<i64, D::Error> {
    d.deserialize_any(SiVisitor(div))
}

struct SiVisitor(i64);

impl Visitor<'_> for SiVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a number in the SI unit, a whole multiple of 1/{}",
            self.0
        )
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        v.checked_mul(self.0)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v)
            .ok()
            .and_then(|v| v.checked_mul(self.0))
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        si_to_canonical(v, self.0).ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
    }
}

/// Serialize a code as `{"code": code, "name": name}` (`name` is `null` for a code without
/// one). For hand-written code types; `code_enum!` types do it themselves.
///
/// # Errors
/// Those of the serializer.
pub fn serialize_code<S: Serializer, T: Serialize>(
    code: T,
    name: Option<&str>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut st = s.serialize_struct("Code", 2)?;
    st.serialize_field("code", &code)?;
    st.serialize_field("name", &name)?;
    st.end()
}

/// The readable half of `{"code": N, "name": …}`: the code (the name is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Code<T> {
    /// The wire code.
    pub code: T,
}

/// Serialize a bit set as `{"raw": raw, "flags": [names of the set bits]}`. For
/// hand-written bit sets; `flag_word!` types do it themselves.
///
/// # Errors
/// Those of the serializer.
pub fn serialize_flags<S, T, I>(raw: T, flags: I, s: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Serialize,
    I: IntoIterator<Item = &'static str>,
{
    let mut st = s.serialize_struct("Flags", 2)?;
    st.serialize_field("raw", &raw)?;
    st.serialize_field("flags", &Once::new(flags))?;
    st.end()
}

/// The readable half of `{"raw": N, "flags": […]}`: the raw word (the names are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Raw<T> {
    /// The raw word, every bit kept.
    pub raw: T,
}

/// An iterator serialized as a sequence (cloned, so `&self` suffices).
#[derive(Debug, Clone)]
pub struct Seq<I>(pub I);

impl<I> Serialize for Seq<I>
where
    I: IntoIterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

/// An iterator serialized as a sequence once (for iterators that cannot be cloned; a second
/// serialization gives an empty sequence).
pub struct Once<I>(core::cell::Cell<Option<I>>);

impl<I> fmt::Debug for Once<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Once(..)")
    }
}

impl<I> Once<I> {
    /// The sequence of what `iter` yields.
    pub const fn new(iter: I) -> Self {
        Self(core::cell::Cell::new(Some(iter)))
    }
}

impl<I> Serialize for Once<I>
where
    I: IntoIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.take() {
            Some(it) => s.collect_seq(it),
            None => s.collect_seq(core::iter::empty::<I::Item>()),
        }
    }
}

impl Serialize for FlagNames {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.clone())
    }
}

/// Bytes as an uppercase hex string (`"0A1B"`), written without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<const N: usize> Serialize for crate::ShortBytes<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Hex(self.as_bytes()).serialize(s)
    }
}

/// Bytes as text, invalid UTF-8 replaced by U+FFFD (as `String::from_utf8_lossy`), written
/// without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lossy<'a>(pub &'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{FFFD}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Lossy<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `serialize_with` for a byte field read as text: [`Lossy`].
///
/// # Errors
/// Those of the serializer.
pub fn lossy<S: Serializer, B: AsRef<[u8]>>(bytes: &B, s: S) -> Result<S::Ok, S::Error> {
    Lossy(bytes.as_ref()).serialize(s)
}

/// `serialize_with` for an optional count of `div`-ths of an SI unit (`Some(8150)` with
/// `div` 100 → `81.5`, `None` → `null`).
///
/// # Errors
/// Those of the serializer.
pub fn opt_si<S: Serializer, T: Copy + Into<i64>>(
    v: Option<T>,
    div: i64,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => serialize_si(v.into(), div, s),
        None => s.serialize_none(),
    }
}

/// `serialize_with` for a byte field: [`Hex`].
///
/// # Errors
/// Those of the serializer.
pub fn hex<S: Serializer, B: AsRef<[u8]>>(bytes: &B, s: S) -> Result<S::Ok, S::Error> {
    Hex(bytes.as_ref()).serialize(s)
}

/// `serde` for a `code_enum!` type: `{"code", "name"}`. Decided by this crate's `serde`
/// feature, so the calling crate needs no `serde` of its own.
#[doc(hidden)]
#[macro_export]
macro_rules! __serde_code_impl {
    ($name:ident($raw:ty)) => {
        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(
                &self,
                s: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::json::serialize_code(self.raw(), self.name(), s)
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                d: D,
            ) -> ::core::result::Result<Self, D::Error> {
                <$crate::json::Code<$raw> as $crate::__serde::Deserialize<'de>>::deserialize(d)
                    .map(|c| Self::from_raw(c.code))
            }
        }
    };
}

/// `serde` for a `flag_word!` type: `{"raw", "flags"}`.
#[doc(hidden)]
#[macro_export]
macro_rules! __serde_word_impl {
    ($name:ident($raw:ty)) => {
        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(
                &self,
                s: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::json::serialize_flags(self.0, <Self as $crate::FlagWord>::flags(*self), s)
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                d: D,
            ) -> ::core::result::Result<Self, D::Error> {
                <$crate::json::Raw<$raw> as $crate::__serde::Deserialize<'de>>::deserialize(d)
                    .map(|r| Self(r.raw))
            }
        }
    };
}

#[cfg(test)]
#[allow(dead_code, reason = "test types expanded from the macros")]
mod tests {
    use super::*;
    use crate::{DeciCelsius, Milliamps, Millivolts, Permille, Watts};
    use alloc::string::{String, ToString as _};

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn quantities_are_si_numbers() {
        assert_eq!(json(&Millivolts(52_860)), "52.86");
        assert_eq!(json(&Millivolts(48_000)), "48");
        assert_eq!(json(&Millivolts(-1)), "-0.001");
        assert_eq!(json(&Milliamps(-94_600)), "-94.6");
        assert_eq!(json(&DeciCelsius(-5)), "-0.5");
        assert_eq!(json(&Permille(875)), "87.5");
        assert_eq!(json(&Watts(-1200)), "-1200");
        assert_eq!(json(&Millivolts(i32::MIN)), "-2147483.648");
    }

    #[test]
    fn quantities_read_back_exactly() {
        let mv: Millivolts = serde_json::from_str("52.86").unwrap();
        assert_eq!(mv, Millivolts(52_860));
        let mv: Millivolts = serde_json::from_str("48").unwrap();
        assert_eq!(mv, Millivolts(48_000));
        let c: DeciCelsius = serde_json::from_str("-0.5").unwrap();
        assert_eq!(c, DeciCelsius(-5));
        // Finer than a millivolt, out of the type's range, not a number: refused.
        assert!(serde_json::from_str::<Millivolts>("0.0005").is_err());
        assert!(serde_json::from_str::<Millivolts>("2147484").is_err());
        assert!(serde_json::from_str::<DeciCelsius>("3276.8").is_err());
        assert!(serde_json::from_str::<Millivolts>("\"12\"").is_err());
        assert!(serde_json::from_str::<Millivolts>("1e300").is_err());
        for mv in [i32::MIN, -1, 0, 1, 12_530, i32::MAX] {
            let back: Millivolts = serde_json::from_str(&json(&Millivolts(mv))).unwrap();
            assert_eq!(back, Millivolts(mv));
        }
    }

    #[test]
    fn rounding_edges() {
        assert_eq!(si_to_canonical(0.0015, 1000), None);
        assert_eq!(si_to_canonical(-0.0015, 1000), None);
        assert_eq!(si_to_canonical(-12.53, 1000), Some(-12_530));
        assert_eq!(si_to_canonical(f64::NAN, 1000), None);
        assert_eq!(si_to_canonical(9.1e12, 1000), None);
    }

    #[test]
    fn codes_flags_and_hex() {
        crate::code_enum! {
            /// Test codes.
            #[allow(dead_code)]
            enum State(u8) {
                /// Idle.
                Idle = 0 => "idle",
            }
        }
        crate::flag_word! {
            /// Test flags.
            pub(crate) struct Alarm(u16) report_unnamed {
                /// One.
                1 => "over_voltage",
            }
        }
        assert_eq!(json(&State::Idle), r#"{"code":0,"name":"idle"}"#);
        assert_eq!(json(&State::Unknown(9)), r#"{"code":9,"name":null}"#);
        let s: State = serde_json::from_str(r#"{"code":9,"name":"x"}"#).unwrap();
        assert_eq!(s, State::Unknown(9));
        let s: State = serde_json::from_str(r#"{"code":0}"#).unwrap();
        assert_eq!(s, State::Idle);
        assert_eq!(
            json(&Alarm(0b1010)),
            r#"{"raw":10,"flags":["over_voltage","bit_3"]}"#
        );
        let a: Alarm = serde_json::from_str(r#"{"raw":10,"flags":[]}"#).unwrap();
        assert_eq!(a, Alarm(10));
        assert_eq!(json(&Hex(&[0x0a, 0xff])), r#""0AFF""#);
        assert_eq!(Hex(&[]).to_string(), "");
        assert_eq!(
            json(&crate::ShortBytes::<8>::new(b"PY").unwrap()),
            r#""5059""#
        );
        assert_eq!(json(&Lossy(b"P\xffN")), "\"P\u{FFFD}N\"");
    }
}
