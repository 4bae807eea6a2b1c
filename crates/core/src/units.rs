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
        if self.lsb == 0 {
            return Err(EncodeError::OutOfRange { field });
        }
        if canonical % self.lsb != 0 {
            return Err(EncodeError::Precision { field });
        }
        match (canonical / self.lsb).checked_add(self.offset) {
            Some(raw) => Ok(raw),
            None => Err(EncodeError::OutOfRange { field }),
        }
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
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
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
                scale.to_raw(i64::from(self.0), field)
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
                let floor = v.div_euclid(step).saturating_mul(step);
                let rem = v.rem_euclid(step);
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
                self.0 as f64 / $div
            }

            /// The SI unit symbol of [`Self::to_si`].
            pub const SI_UNIT: &'static str = $si;
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
    Millivolts(i32), "V", 1000.0
);
unit!(
    /// Electric current in milliamps (1 mA); positive = into the battery (charging).
    Milliamps(i32), "A", 1000.0
);
unit!(
    /// Charge in milliamp-hours (1 mAh).
    MilliampHours(i64), "Ah", 1000.0
);
unit!(
    /// Power in watts (1 W); positive = into the battery (charging) where a direction applies.
    Watts(i32), "W", 1.0
);
unit!(
    /// Energy in watt-hours (1 Wh).
    WattHours(i64), "Wh", 1.0
);
unit!(
    /// Apparent power in volt-amperes (1 VA).
    VoltAmperes(i32), "VA", 1.0
);
unit!(
    /// Temperature in tenths of a degree Celsius (0.1 °C).
    DeciCelsius(i16), "°C", 10.0
);
unit!(
    /// Absolute temperature in tenths of a kelvin (0.1 K).
    DeciKelvin(i32), "K", 10.0
);
unit!(
    /// A ratio in tenths of a percent (0.1 %), e.g. state of charge; signed for deviations.
    Permille(i16), "%", 10.0
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

    proptest! {
        #[test]
        fn wire_round_trip(raw in 0i64..=i64::from(u16::MAX), lsb in 1i64..1000, offset in 0i64..40_000) {
            let s = Scale::new(lsb, offset);
            let v = Millivolts::from_wire(raw, s).unwrap();
            prop_assert_eq!(v.to_wire(s, "v"), Ok(raw));
        }
    }
}
