//! Exact integer units.
//!
//! Every physical quantity a protocol crate decodes is held as an integer in a canonical unit
//! (millivolts, milliamps, …). Conversion from a wire encoding, described by a [`Scale`], is
//! exact; conversion back is checked and fails with [`EncodeError::Precision`] when the value
//! is not a multiple of the wire resolution, or [`EncodeError::OutOfRange`] when it does not
//! fit. Floating point appears only in `to_si()`, for the application edge (JSON, MQTT).

use crate::EncodeError;

/// One wire encoding of a quantity: `canonical = (raw − offset) × lsb`.
///
/// `lsb` is the size of one raw step in canonical units, `offset` the raw value that means
/// zero. Examples: a current in 0.1 A steps where raw 30000 means 0 A is
/// `Scale::new(100, 30_000)` into [`Milliamps`]; a temperature in whole °C with +40 offset is
/// `Scale::new(10, 40)` into [`DeciCelsius`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scale {
    /// Canonical units per raw step; never 0 for a scale made by [`Scale::new`] or [`Scale::IDENTITY`].
    pub lsb: i64,
    /// The raw value that stands for canonical zero.
    pub offset: i64,
}

impl Scale {
    /// The identity encoding: the wire already carries canonical units.
    pub const IDENTITY: Self = Self { lsb: 1, offset: 0 };

    /// A scale of `lsb` canonical units per raw step, with raw `offset` meaning zero.
    ///
    /// An `lsb` of 0 would lose every value; it is replaced by 1.
    pub const fn new(lsb: i64, offset: i64) -> Self {
        Self {
            lsb: if lsb == 0 { 1 } else { lsb },
            offset,
        }
    }

    /// Canonical value of `raw`, or `None` when the arithmetic overflows `i64`.
    pub const fn to_canonical(self, raw: i64) -> Option<i64> {
        match raw.checked_sub(self.offset) {
            Some(d) => d.checked_mul(self.lsb),
            None => None,
        }
    }

    /// Raw wire value of `canonical`.
    ///
    /// # Errors
    /// [`EncodeError::Precision`] when `canonical` is not a multiple of `lsb`, and
    /// [`EncodeError::OutOfRange`] on overflow.
    pub const fn to_raw(self, canonical: i64, field: &'static str) -> Result<i64, EncodeError> {
        let Some((q, r)) = div_rem_i64(canonical, self.lsb) else {
            return Err(EncodeError::OutOfRange { field });
        };
        if r != 0 {
            return Err(EncodeError::Precision { field });
        }
        match q.checked_add(self.offset) {
            Some(raw) => Ok(raw),
            None => Err(EncodeError::OutOfRange { field }),
        }
    }
}

/// `n / d` and `n % d`, truncated towards zero exactly as the `/` and `%` operators, or
/// `None` when `d` is 0 or the quotient overflows (`i64::MIN / -1`).
///
/// Made for microcontrollers: when both operands fit in `i32` (every voltage, current,
/// power and temperature the protocols carry) it uses 32-bit division, which Cortex-M3 and
/// later and RISC-V `M` do in hardware; otherwise a shift-and-subtract loop. Neither pulls
/// the ~1.4 KiB 64-bit division routines of `compiler_builtins` into a firmware image.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "each cast is range-checked just before it (const fn: no TryFrom)"
)]
pub const fn div_rem_i64(n: i64, d: i64) -> Option<(i64, i64)> {
    if d == 0 || (n == i64::MIN && d == -1) {
        return None;
    }
    if fits_i32(n) && fits_i32(d) && !(n == i32::MIN as i64 && d == -1) {
        let (n, d) = (n as i32, d as i32);
        return Some(((n / d) as i64, (n % d) as i64));
    }
    let (q, r) = div_rem_u64(n.unsigned_abs(), d.unsigned_abs());
    // |q| <= |n| <= 2^63 and |r| < |d| <= 2^63: the casts wrap only for q = 2^63, which is
    // i64::MIN / 1 = i64::MIN, exactly what the wrapping negation gives back.
    let q = if (n < 0) == (d < 0) {
        q as i64
    } else {
        (q as i64).wrapping_neg()
    };
    let r = if n < 0 {
        (r as i64).wrapping_neg()
    } else {
        r as i64
    };
    Some((q, r))
}

const fn fits_i32(v: i64) -> bool {
    v >= i32::MIN as i64 && v <= i32::MAX as i64
}

/// Unsigned 64-bit division by shift and subtract (`d` must not be 0, and at most 2^63).
const fn div_rem_u64(dividend: u64, divisor: u64) -> (u64, u64) {
    let (mut quotient, mut rem) = (0u64, 0u64);
    let mut bit = 64;
    while bit > 0 {
        bit -= 1;
        rem = (rem << 1) | ((dividend >> bit) & 1);
        if rem >= divisor {
            rem -= divisor;
            quotient |= 1 << bit;
        }
    }
    (quotient, rem)
}

impl Scale {
    /// [`Scale::to_raw`] of a 32-bit canonical value, in 32-bit arithmetic: the same result
    /// for every input (a step that does not fit 32 bits is larger than any such value, so
    /// the quotient is 0 and the remainder the value).
    fn to_raw_i32(self, canonical: i32, field: &'static str) -> Result<i64, EncodeError> {
        let (q, r) = match i32::try_from(self.lsb) {
            Ok(0) => return Err(EncodeError::OutOfRange { field }),
            // i32::MIN / -1 does not fit 32 bits; its 64-bit quotient does.
            Ok(-1) => (-i64::from(canonical), 0),
            Ok(lsb) => (i64::from(canonical / lsb), canonical % lsb),
            Err(_) => (0, canonical),
        };
        if r != 0 {
            return Err(EncodeError::Precision { field });
        }
        q.checked_add(self.offset)
            .ok_or(EncodeError::OutOfRange { field })
    }
}

/// How [`Millivolts::round_to`] (and the other units' `round_to`) rounds to a coarser scale.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Towards negative infinity (the safe choice for an upper limit).
    Down,
    /// Towards positive infinity.
    Up,
    /// To the nearest step, halves away from zero.
    Nearest,
}

/// A canonical-unit newtype that converts to and from a wire value with a [`Scale`]: the
/// generic face of the units' inherent `from_wire` / `to_wire`, so a scaled field
/// ([`crate::field::Scaled`]) can read and write any unit.
pub trait Quantity: Copy {
    /// Decode a raw wire value with `scale`; `None` only when the result does not fit.
    fn from_wire(raw: i64, scale: Scale) -> Option<Self>;

    /// Encode to a raw wire value with `scale`, exactly.
    ///
    /// # Errors
    /// [`EncodeError::Precision`] when the value is not a multiple of the wire resolution,
    /// [`EncodeError::OutOfRange`] on overflow (`field` names the field).
    fn to_wire(self, scale: Scale, field: &'static str) -> Result<i64, EncodeError>;
}

macro_rules! unit {
    ($(#[$doc:meta])* $name:ident($inner:ty), $si:literal, $div:literal) => {
        $(#[$doc])*
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[repr(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(0);

            /// The value in canonical units.
            pub const fn get(self) -> $inner {
                self.0
            }

            /// Decode a raw wire value with `scale`; `None` only when the result does not fit.
            pub fn from_wire(raw: i64, scale: Scale) -> Option<Self> {
                scale
                    .to_canonical(raw)
                    .and_then(|v| <$inner>::try_from(v).ok())
                    .map(Self)
            }

            /// Encode to a raw wire value with `scale`, exactly.
            ///
            /// # Errors
            /// [`EncodeError::Precision`] when the value is not a multiple of the wire
            /// resolution, [`EncodeError::OutOfRange`] on overflow (`field` names the field).
            pub fn to_wire(self, scale: Scale, field: &'static str) -> Result<i64, EncodeError> {
                // Units held in 32 bits or less take the 32-bit path (the other branch is
                // then dead code); 64-bit units fall back to the general division.
                match i32::try_from(self.0) {
                    Ok(v) => scale.to_raw_i32(v, field),
                    Err(_) => scale.to_raw(i64::from(self.0), field),
                }
            }

            /// Encode to a raw wire value that must fit `T` (e.g. `u16`).
            ///
            /// # Errors
            /// As [`Self::to_wire`], and [`EncodeError::OutOfRange`] when the raw value does
            /// not fit `T`.
            pub fn to_wire_as<T: TryFrom<i64>>(
                self,
                scale: Scale,
                field: &'static str,
            ) -> Result<T, EncodeError> {
                let raw = self.to_wire(scale, field)?;
                T::try_from(raw).map_err(|_| EncodeError::OutOfRange { field })
            }

            /// Round to a multiple of `scale.lsb`, explicitly: a bridge that quantizes must
            /// say how. Saturates at the type's bounds.
            #[must_use]
            pub fn round_to(self, scale: Scale, rounding: Rounding) -> Self {
                let v = i64::from(self.0);
                let step = scale.lsb.saturating_abs().max(1);
                // Euclidean division (step > 0) from the truncating one.
                let (q, rem) = match div_rem_i64(v, step) {
                    Some((q, r)) if r < 0 => (q - 1, r + step),
                    Some(qr) => qr,
                    None => (v, 0),
                };
                let floor = q.saturating_mul(step);
                let r = match rounding {
                    Rounding::Down => floor,
                    Rounding::Up if rem == 0 => floor,
                    Rounding::Up => floor.saturating_add(step),
                    Rounding::Nearest => {
                        // Halves away from zero.
                        let twice = rem.saturating_mul(2);
                        if twice > step || (twice == step && v >= 0) {
                            floor.saturating_add(step)
                        } else {
                            floor
                        }
                    }
                };
                let clamped = r.clamp(i64::from(<$inner>::MIN), i64::from(<$inner>::MAX));
                Self(<$inner>::try_from(clamped).unwrap_or(self.0))
            }

            /// Checked addition.
            pub fn checked_add(self, other: Self) -> Option<Self> {
                self.0.checked_add(other.0).map(Self)
            }

            /// Saturating addition.
            #[must_use]
            pub fn saturating_add(self, other: Self) -> Self {
                Self(self.0.saturating_add(other.0))
            }

            /// The value as a float in the SI unit (for the application edge only).
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_lossless,
                reason = "app-edge float, documented"
            )]
            pub fn to_si(self) -> f64 {
                self.0 as f64 / $div as f64
            }

            /// Canonical units per SI unit (1000 for millivolts).
            pub const PER_SI: i64 = $div;

            /// The SI unit symbol of [`Self::to_si`].
            pub const SI_UNIT: &'static str = $si;
        }

        /// An SI number (`docs/json.md`): integral values as integers; read back exactly.
        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                crate::json::serialize_si(i64::from(self.0), $div, s)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = crate::json::deserialize_si(d, $div)?;
                <$inner>::try_from(v).map(Self).map_err(|_| {
                    <D::Error as serde::de::Error>::custom(concat!(
                        "out of range for ",
                        stringify!($name)
                    ))
                })
            }
        }

        impl Quantity for $name {
            fn from_wire(raw: i64, scale: Scale) -> Option<Self> {
                Self::from_wire(raw, scale)
            }
            fn to_wire(self, scale: Scale, field: &'static str) -> Result<i64, EncodeError> {
                Self::to_wire(self, scale, field)
            }
        }

        impl From<$name> for $inner {
            fn from(v: $name) -> $inner {
                v.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{} {}", self.to_si(), $si)
            }
        }
    };
}

unit!(
    /// Electric potential in millivolts (1 mV).
    Millivolts(i32), "V", 1000
);
unit!(
    /// Electric current in milliamps (1 mA); positive = into the battery (charging).
    Milliamps(i32), "A", 1000
);
unit!(
    /// Charge in milliamp-hours (1 mAh).
    MilliampHours(i64), "Ah", 1000
);
unit!(
    /// Power in watts (1 W); positive = into the battery (charging) where a direction applies.
    Watts(i32), "W", 1
);
unit!(
    /// Energy in watt-hours (1 Wh).
    WattHours(i64), "Wh", 1
);
unit!(
    /// Apparent power in volt-amperes (1 VA).
    VoltAmperes(i32), "VA", 1
);
unit!(
    /// Temperature in tenths of a degree Celsius (0.1 °C).
    DeciCelsius(i16), "°C", 10
);
unit!(
    /// Absolute temperature in tenths of a kelvin (0.1 K).
    DeciKelvin(i32), "K", 10
);
unit!(
    /// A ratio in tenths of a percent (0.1 %), e.g. state of charge; signed for deviations.
    Permille(i16), "%", 10
);

impl DeciKelvin {
    /// Convert to Celsius with the given zero point in deci-kelvin (protocols disagree:
    /// 2731 and 2730 both occur), or `None` if the result does not fit.
    pub fn to_celsius(self, zero_point: i32) -> Option<DeciCelsius> {
        self.0
            .checked_sub(zero_point)
            .and_then(|v| i16::try_from(v).ok())
            .map(DeciCelsius)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn daly_current_offset() {
        let a = Scale::new(100, 30_000);
        assert_eq!(Milliamps::from_wire(30_000, a), Some(Milliamps(0)));
        assert_eq!(Milliamps::from_wire(29_950, a), Some(Milliamps(-5_000)));
        assert_eq!(Milliamps(-5_000).to_wire_as::<u16>(a, "i"), Ok(29_950));
        assert_eq!(
            Milliamps(-5_001).to_wire_as::<u16>(a, "i"),
            Err(EncodeError::Precision { field: "i" })
        );
        assert_eq!(
            Milliamps(-3_100_000).to_wire_as::<u16>(a, "i"),
            Err(EncodeError::OutOfRange { field: "i" })
        );
    }

    #[test]
    fn from_wire_overflow_is_none() {
        assert_eq!(DeciCelsius::from_wire(40_000, Scale::IDENTITY), None);
        assert_eq!(Millivolts::from_wire(i64::MAX, Scale::new(10, 0)), None);
        assert_eq!(Millivolts::from_wire(i64::MIN, Scale::new(1, 1)), None);
    }

    #[test]
    fn rounding() {
        let s = Scale::new(100, 0);
        assert_eq!(
            Millivolts(1234).round_to(s, Rounding::Down),
            Millivolts(1200)
        );
        assert_eq!(Millivolts(1234).round_to(s, Rounding::Up), Millivolts(1300));
        assert_eq!(
            Millivolts(1250).round_to(s, Rounding::Nearest),
            Millivolts(1300)
        );
        assert_eq!(
            Millivolts(-1250).round_to(s, Rounding::Nearest),
            Millivolts(-1300)
        );
        assert_eq!(
            Millivolts(-1234).round_to(s, Rounding::Down),
            Millivolts(-1300)
        );
        assert_eq!(Millivolts(1200).round_to(s, Rounding::Up), Millivolts(1200));
    }

    #[test]
    fn si_and_kelvin() {
        assert!((Millivolts(12_530).to_si() - 12.53).abs() < 1e-12);
        assert_eq!(DeciKelvin(2981).to_celsius(2731), Some(DeciCelsius(250)));
        assert_eq!(DeciKelvin(2981).to_celsius(2730), Some(DeciCelsius(251)));
    }

    #[test]
    fn div_rem_edges() {
        assert_eq!(div_rem_i64(7, 0), None);
        assert_eq!(div_rem_i64(i64::MIN, -1), None);
        assert_eq!(div_rem_i64(i64::MIN, 1), Some((i64::MIN, 0)));
        assert_eq!(div_rem_i64(i64::MIN, i64::MIN), Some((1, 0)));
        assert_eq!(div_rem_i64(i64::MAX, i64::MIN), Some((0, i64::MAX)));
        assert_eq!(div_rem_i64(i64::from(i32::MIN), -1), Some((1 << 31, 0)));
        assert_eq!(div_rem_i64(-7, 2), Some((-3, -1)));
        assert_eq!(div_rem_i64(7, -2), Some((-3, 1)));
        assert_eq!(
            div_rem_i64(-(1 << 40) - 3, 10),
            Some((-109_951_162_777, -9))
        );
        // i64::MIN % -1 panics as an operator; a scale of -1 reports it instead.
        assert_eq!(
            Scale::new(-1, 0).to_raw(i64::MIN, "x"),
            Err(EncodeError::OutOfRange { field: "x" })
        );
    }

    fn operand() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            any::<i32>().prop_map(i64::from),
            -1000i64..1000,
            Just(i64::MIN),
            Just(i64::MAX),
        ]
    }

    proptest! {
        #[test]
        fn div_rem_is_the_operators(n in operand(), d in operand()) {
            let expected = n.checked_div(d).zip(n.checked_rem(d));
            prop_assert_eq!(div_rem_i64(n, d), expected);
        }

        #[test]
        fn to_raw_i32_is_to_raw(v in any::<i32>(), lsb in operand(), offset in operand()) {
            let s = Scale { lsb, offset };
            prop_assert_eq!(s.to_raw_i32(v, "f"), s.to_raw(i64::from(v), "f"));
            let small = Scale { lsb: lsb % 2000, offset: offset % 70_000 };
            prop_assert_eq!(small.to_raw_i32(v % 100_000, "f"), small.to_raw(i64::from(v % 100_000), "f"));
        }

        #[test]
        fn round_to_is_euclidean(v in any::<i32>(), lsb in -5000i64..5000) {
            let step = lsb.saturating_abs().max(1);
            let r = Millivolts(v).round_to(Scale::new(lsb, 0), Rounding::Down).0;
            let floor = i64::from(v).div_euclid(step) * step;
            let expected = floor.clamp(i64::from(i32::MIN), i64::from(i32::MAX));
            prop_assert_eq!(i64::from(r), expected);
        }

        #[test]
        fn wire_round_trip(raw in 0i64..=i64::from(u16::MAX), lsb in 1i64..1000, offset in 0i64..40_000) {
            let s = Scale::new(lsb, offset);
            let v = Millivolts::from_wire(raw, s).unwrap();
            prop_assert_eq!(v.to_wire(s, "v"), Ok(raw));
        }
    }
}
