//! The wire types of register values and the units (with resolution) of numeric ones.

use voltwire_core::Scale;

use crate::hex::frame::MAX_PAYLOAD_LEN;

/// The longest register value: [`MAX_PAYLOAD_LEN`] minus register id and flags (a history
/// record).
pub const MAX_VALUE_LEN: usize = MAX_PAYLOAD_LEN - 3;

/// Storage of a register value's bytes.
pub type ValueBytes = heapless::Vec<u8, MAX_VALUE_LEN>;

/// The wire type of a register value (the names of the Victron register documentation).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueType {
    /// Unsigned 8-bit.
    Un8,
    /// Unsigned 16-bit, little-endian.
    Un16,
    /// Unsigned 24-bit, little-endian.
    Un24,
    /// Unsigned 32-bit, little-endian.
    Un32,
    /// Signed 8-bit.
    Sn8,
    /// Signed 16-bit, little-endian.
    Sn16,
    /// Signed 32-bit, little-endian.
    Sn32,
    /// Text (ASCII, possibly NUL-padded); any length up to [`MAX_VALUE_LEN`].
    String,
    /// Opaque or structured bytes (history records, product id); any length up to
    /// [`MAX_VALUE_LEN`].
    Bytes,
}

impl ValueType {
    /// Number of value bytes for fixed-width types, `None` for text and bytes.
    pub const fn width(self) -> Option<usize> {
        match self {
            Self::Un8 | Self::Sn8 => Some(1),
            Self::Un16 | Self::Sn16 => Some(2),
            Self::Un24 => Some(3),
            Self::Un32 | Self::Sn32 => Some(4),
            Self::String | Self::Bytes => None,
        }
    }

    /// Whether this is a signed number type.
    pub const fn is_signed(self) -> bool {
        matches!(self, Self::Sn8 | Self::Sn16 | Self::Sn32)
    }

    /// The raw value that means "not available" for this type, `None` for text and bytes.
    pub const fn sentinel(self) -> Option<i64> {
        match self {
            Self::Un8 => Some(0xFF),
            Self::Un16 => Some(0xFFFF),
            Self::Un24 => Some(0xFF_FFFF),
            Self::Un32 => Some(0xFFFF_FFFF),
            Self::Sn8 => Some(0x7F),
            Self::Sn16 => Some(0x7FFF),
            Self::Sn32 => Some(0x7FFF_FFFF),
            Self::String | Self::Bytes => None,
        }
    }

    /// Smallest and largest raw value, `None` for text and bytes.
    pub const fn range(self) -> Option<(i64, i64)> {
        match self {
            Self::Un8 => Some((0, 0xFF)),
            Self::Un16 => Some((0, 0xFFFF)),
            Self::Un24 => Some((0, 0xFF_FFFF)),
            Self::Un32 => Some((0, 0xFFFF_FFFF)),
            Self::Sn8 => Some((-0x80, 0x7F)),
            Self::Sn16 => Some((-0x8000, 0x7FFF)),
            Self::Sn32 => Some((-0x8000_0000, 0x7FFF_FFFF)),
            Self::String | Self::Bytes => None,
        }
    }

    /// The documentation's name: `"un8"`, `"sn16"`, `"string"`, …
    pub const fn name(self) -> &'static str {
        match self {
            Self::Un8 => "un8",
            Self::Un16 => "un16",
            Self::Un24 => "un24",
            Self::Un32 => "un32",
            Self::Sn8 => "sn8",
            Self::Sn16 => "sn16",
            Self::Sn32 => "sn32",
            Self::String => "string",
            Self::Bytes => "bytes",
        }
    }

    /// Decode a raw integer from exactly `width()` little-endian bytes.
    pub(super) fn read(self, bytes: &[u8]) -> Option<i64> {
        Some(match (self, bytes) {
            (Self::Un8, &[a]) => i64::from(a),
            (Self::Un16, &[a, b]) => i64::from(u16::from_le_bytes([a, b])),
            (Self::Un24, &[a, b, c]) => i64::from(u32::from_le_bytes([a, b, c, 0])),
            (Self::Un32, &[a, b, c, d]) => i64::from(u32::from_le_bytes([a, b, c, d])),
            (Self::Sn8, &[a]) => i64::from(i8::from_le_bytes([a])),
            (Self::Sn16, &[a, b]) => i64::from(i16::from_le_bytes([a, b])),
            (Self::Sn32, &[a, b, c, d]) => i64::from(i32::from_le_bytes([a, b, c, d])),
            _ => return None,
        })
    }

    /// Encode a raw integer; `None` when it is outside [`ValueType::range`].
    pub(super) fn write(self, raw: i64) -> Option<ValueBytes> {
        let (lo, hi) = self.range()?;
        if raw < lo || raw > hi {
            return None;
        }
        let width = self.width()?;
        // Two's complement little-endian: the low `width` bytes of the i64.
        let le = raw.to_le_bytes();
        ValueBytes::from_slice(le.get(..width)?).ok()
    }
}

/// Unit and resolution of a numeric register: `SI value = raw × num / den` with
/// `(num, den) = unit.si_factor()`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unit {
    /// Dimensionless: a count, an enumeration code or a version number.
    None,
    /// A bit field: every raw value, all ones included, is valid.
    Bits,
    /// 0.01 V.
    CentiVolt,
    /// 0.1 A.
    DeciAmp,
    /// 0.001 A.
    MilliAmp,
    /// 1 W.
    Watt,
    /// 0.01 W.
    CentiWatt,
    /// 0.01 kWh.
    CentiKiloWattHour,
    /// 1 VA.
    VoltAmpere,
    /// 1 Ah.
    AmpHour,
    /// 0.01 °C.
    CentiCelsius,
    /// 0.01 K.
    CentiKelvin,
    /// 0.01 %.
    CentiPercent,
    /// 1 s.
    Second,
    /// 1 min.
    Minute,
    /// 0.001 s.
    MilliSecond,
}

impl Unit {
    /// The SI (or customary) unit symbol of [`Reading::si_value`](super::Reading::si_value): `"V"`, `"A"`, `"W"`,
    /// `"Wh"`, `"VA"`, `"Ah"`, `"°C"`, `"K"`, `"%"`, `"s"`, or `""` for dimensionless values.
    pub const fn si_unit(self) -> &'static str {
        match self {
            Self::None | Self::Bits => "",
            Self::CentiVolt => "V",
            Self::DeciAmp | Self::MilliAmp => "A",
            Self::Watt | Self::CentiWatt => "W",
            Self::CentiKiloWattHour => "Wh",
            Self::VoltAmpere => "VA",
            Self::AmpHour => "Ah",
            Self::CentiCelsius => "°C",
            Self::CentiKelvin => "K",
            Self::CentiPercent => "%",
            Self::Second | Self::Minute | Self::MilliSecond => "s",
        }
    }

    /// `(num, den)` such that the value in [`Unit::si_unit`] is `raw × num / den` (exact as a
    /// rational number).
    pub const fn si_factor(self) -> (i64, i64) {
        match self {
            Self::None
            | Self::Bits
            | Self::Watt
            | Self::VoltAmpere
            | Self::AmpHour
            | Self::Second => (1, 1),
            Self::CentiVolt
            | Self::CentiWatt
            | Self::CentiCelsius
            | Self::CentiKelvin
            | Self::CentiPercent => (1, 100),
            Self::DeciAmp => (1, 10),
            Self::MilliAmp | Self::MilliSecond => (1, 1000),
            Self::CentiKiloWattHour => (10, 1),
            Self::Minute => (60, 1),
        }
    }

    /// The `voltwire_core` scale into this unit's canonical core type, where that type holds
    /// every wire value exactly: [`Millivolts`](voltwire_core::Millivolts) for 0.01 V, [`Milliamps`](voltwire_core::Milliamps) for 0.1 A and
    /// 0.001 A, [`Watts`](voltwire_core::Watts) for 1 W, [`WattHours`](voltwire_core::WattHours) for 0.01 kWh, [`VoltAmperes`](voltwire_core::VoltAmperes) for 1 VA,
    /// [`MilliampHours`](voltwire_core::MilliampHours) for 1 Ah. `None` for every other unit (0.01 W, 0.01 °C, 0.01 K,
    /// 0.01 %, …), whose raw value must be kept as is.
    pub const fn core_scale(self) -> Option<Scale> {
        match self {
            Self::CentiVolt | Self::CentiKiloWattHour => Some(Scale::new(10, 0)),
            Self::DeciAmp => Some(Scale::new(100, 0)),
            Self::MilliAmp | Self::Watt | Self::VoltAmpere => Some(Scale::IDENTITY),
            Self::AmpHour => Some(Scale::new(1000, 0)),
            _ => None,
        }
    }
}
