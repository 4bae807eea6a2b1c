//! Typed register values: [`Reading`] (raw integer + unit) and [`RegisterValue`], decoded
//! from and encoded to the little-endian value bytes.

use voltwire_core::{
    EncodeError, MilliampHours, Milliamps, Millivolts, Scale, VoltAmperes, WattHours, Watts,
};

use super::table::{RegisterInfo, id, is_history_day, lookup};
use super::units::{MAX_VALUE_LEN, Unit, ValueBytes, ValueType};
use crate::hex::HexError;
use crate::hex::history::{DayRecord, TotalRecord};

/// A numeric register value: the raw wire integer and its unit.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reading {
    /// The wire integer (sign-extended for signed types).
    pub raw: i64,
    /// Unit and resolution of `raw`.
    pub unit: Unit,
}

impl Reading {
    /// The value in [`Reading::si_unit`] as a float, for the application edge only (JSON,
    /// MQTT). Computed as `raw × num / den` with one rounding.
    #[expect(
        clippy::cast_precision_loss,
        reason = "app-edge float; raw fits 32 bits, exact in f64"
    )]
    pub fn si_value(&self) -> f64 {
        let (num, den) = self.unit.si_factor();
        let scaled = self.raw.saturating_mul(num);
        scaled as f64 / den as f64
    }

    /// The unit symbol of [`Reading::si_value`].
    pub const fn si_unit(&self) -> &'static str {
        self.unit.si_unit()
    }

    fn exact<T>(&self, accepts: bool, f: fn(i64, Scale) -> Option<T>) -> Option<T> {
        if accepts {
            self.unit.core_scale().and_then(|s| f(self.raw, s))
        } else {
            None
        }
    }

    /// The value as [`Millivolts`] when the unit is 0.01 V.
    pub fn millivolts(&self) -> Option<Millivolts> {
        self.exact(self.unit == Unit::CentiVolt, Millivolts::from_wire)
    }

    /// The value as [`Milliamps`] when the unit is 0.1 A or 0.001 A.
    pub fn milliamps(&self) -> Option<Milliamps> {
        self.exact(
            matches!(self.unit, Unit::DeciAmp | Unit::MilliAmp),
            Milliamps::from_wire,
        )
    }

    /// The value as [`Watts`] when the unit is 1 W (0.01 W readings are not converted: that
    /// would round).
    pub fn watts(&self) -> Option<Watts> {
        self.exact(self.unit == Unit::Watt, Watts::from_wire)
    }

    /// The value as [`WattHours`] when the unit is 0.01 kWh.
    pub fn watt_hours(&self) -> Option<WattHours> {
        self.exact(self.unit == Unit::CentiKiloWattHour, WattHours::from_wire)
    }

    /// The value as [`VoltAmperes`] when the unit is 1 VA.
    pub fn volt_amperes(&self) -> Option<VoltAmperes> {
        self.exact(self.unit == Unit::VoltAmpere, VoltAmperes::from_wire)
    }

    /// The value as [`MilliampHours`] when the unit is 1 Ah.
    pub fn milliamp_hours(&self) -> Option<MilliampHours> {
        self.exact(self.unit == Unit::AmpHour, MilliampHours::from_wire)
    }

    /// The value in whole seconds when the unit is 1 s or 1 min.
    pub fn seconds(&self) -> Option<i64> {
        match self.unit {
            Unit::Second => Some(self.raw),
            Unit::Minute => self.raw.checked_mul(60),
            _ => None,
        }
    }

    fn from_core(
        unit: Unit,
        accepts: bool,
        value: i64,
        field: &'static str,
    ) -> Result<Self, EncodeError> {
        let scale = match unit.core_scale() {
            Some(s) if accepts => s,
            _ => return Err(EncodeError::OutOfRange { field: "unit" }),
        };
        Ok(Self {
            raw: scale.to_raw(value, field)?,
            unit,
        })
    }

    /// A 0.01 V reading of `v`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 0.01 V;
    /// [`EncodeError::Precision`] when `v` is not a multiple of 10 mV.
    pub fn from_millivolts(unit: Unit, v: Millivolts) -> Result<Self, EncodeError> {
        Self::from_core(unit, unit == Unit::CentiVolt, i64::from(v.0), "voltage")
    }

    /// A 0.1 A or 0.001 A reading of `a`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not a current unit;
    /// [`EncodeError::Precision`] when `a` is not a multiple of the resolution.
    pub fn from_milliamps(unit: Unit, a: Milliamps) -> Result<Self, EncodeError> {
        let ok = matches!(unit, Unit::DeciAmp | Unit::MilliAmp);
        Self::from_core(unit, ok, i64::from(a.0), "current")
    }

    /// A 1 W reading of `w`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 1 W.
    pub fn from_watts(unit: Unit, w: Watts) -> Result<Self, EncodeError> {
        Self::from_core(unit, unit == Unit::Watt, i64::from(w.0), "power")
    }

    /// A 0.01 kWh reading of `e`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 0.01 kWh;
    /// [`EncodeError::Precision`] when `e` is not a multiple of 10 Wh.
    pub fn from_watt_hours(unit: Unit, e: WattHours) -> Result<Self, EncodeError> {
        Self::from_core(unit, unit == Unit::CentiKiloWattHour, e.0, "energy")
    }

    /// A 1 VA reading of `s`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 1 VA.
    pub fn from_volt_amperes(unit: Unit, s: VoltAmperes) -> Result<Self, EncodeError> {
        Self::from_core(
            unit,
            unit == Unit::VoltAmpere,
            i64::from(s.0),
            "apparent_power",
        )
    }

    /// A 1 Ah reading of `c`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 1 Ah;
    /// [`EncodeError::Precision`] when `c` is not a multiple of 1000 mAh.
    pub fn from_milliamp_hours(unit: Unit, c: MilliampHours) -> Result<Self, EncodeError> {
        Self::from_core(unit, unit == Unit::AmpHour, c.0, "capacity")
    }
}

/// A decoded register value.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegisterValue {
    /// A number with its unit.
    Number(Reading),
    /// The type's "not available" sentinel.
    NotAvailable,
    /// Text, kept byte for byte (see [`RegisterValue::text`]).
    Text(ValueBytes),
    /// Bytes of an opaque register, or of a register not in [`REGISTERS`](super::REGISTERS).
    Bytes(ValueBytes),
    /// A history day record (0x1050–0x106E).
    Day(DayRecord),
    /// The history totals record (0x104F).
    Total(TotalRecord),
}

impl RegisterValue {
    /// Decode the value bytes of register `info`.
    ///
    /// # Errors
    /// [`HexError::ValueLength`] when the byte count does not fit the register's type (or
    /// exceeds [`MAX_VALUE_LEN`]); [`HexError::FieldOutOfRange`] from [`DayRecord::parse`].
    pub fn decode(info: &RegisterInfo, bytes: &[u8]) -> Result<Self, HexError> {
        let length_error = |expected: usize| HexError::ValueLength {
            register: info.id,
            expected,
            actual: bytes.len(),
        };
        let with_register = |e: HexError| match e {
            HexError::ValueLength {
                expected, actual, ..
            } => HexError::ValueLength {
                register: info.id,
                expected,
                actual,
            },
            other => other,
        };
        if info.id == id::HISTORY_TOTAL {
            return TotalRecord::parse(bytes)
                .map(Self::Total)
                .map_err(with_register);
        }
        if is_history_day(info.id) {
            return DayRecord::parse(bytes)
                .map(Self::Day)
                .map_err(with_register);
        }
        let Some(width) = info.value_type.width() else {
            let v = ValueBytes::from_slice(bytes).map_err(|()| length_error(MAX_VALUE_LEN))?;
            return Ok(if info.value_type == ValueType::String {
                Self::Text(v)
            } else {
                Self::Bytes(v)
            });
        };
        let raw = info
            .value_type
            .read(bytes)
            .ok_or_else(|| length_error(width))?;
        if info.unit != Unit::Bits && info.value_type.sentinel() == Some(raw) {
            Ok(Self::NotAvailable)
        } else {
            Ok(Self::Number(Reading {
                raw,
                unit: info.unit,
            }))
        }
    }

    /// Decode the value bytes of register `id`; a register missing from [`REGISTERS`](super::REGISTERS)
    /// decodes to [`RegisterValue::Bytes`].
    ///
    /// # Errors
    /// As [`RegisterValue::decode`].
    pub fn decode_register(id: u16, bytes: &[u8]) -> Result<Self, HexError> {
        match lookup(id) {
            Some(info) => Self::decode(info, bytes),
            None => ValueBytes::from_slice(bytes)
                .map(Self::Bytes)
                .map_err(|()| HexError::ValueLength {
                    register: id,
                    expected: MAX_VALUE_LEN,
                    actual: bytes.len(),
                }),
        }
    }

    /// Encode for register `info` (e.g. for a Set request). [`RegisterValue::Bytes`] is
    /// written verbatim for any register (an escape hatch); every other variant must match
    /// the register's type.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] with the register's name when a number does not fit the
    /// type or equals its n/a sentinel, when `NotAvailable` is given for a register without
    /// sentinel, or when the variant does not fit the register; field `"unit"` when a
    /// reading's unit differs from the register's; errors of the history records' `to_bytes`.
    #[inline(never)]
    pub fn encode(&self, info: &RegisterInfo) -> Result<ValueBytes, EncodeError> {
        let out_of_range = EncodeError::OutOfRange { field: info.name };
        let sentinel = if info.unit == Unit::Bits {
            None
        } else {
            info.value_type.sentinel()
        };
        match self {
            Self::Number(r) => {
                if r.unit != info.unit {
                    return Err(EncodeError::OutOfRange { field: "unit" });
                }
                if sentinel == Some(r.raw) {
                    return Err(out_of_range);
                }
                info.value_type.write(r.raw).ok_or(out_of_range)
            }
            Self::NotAvailable => sentinel
                .and_then(|s| info.value_type.write(s))
                .ok_or(out_of_range),
            Self::Text(t) if info.value_type == ValueType::String => Ok(t.clone()),
            Self::Bytes(b) => Ok(b.clone()),
            Self::Day(d) if is_history_day(info.id) => {
                ValueBytes::from_slice(&d.to_bytes()?).map_err(|()| out_of_range)
            }
            Self::Total(t) if info.id == id::HISTORY_TOTAL => {
                ValueBytes::from_slice(&t.to_bytes()?).map_err(|()| out_of_range)
            }
            Self::Text(_) | Self::Day(_) | Self::Total(_) => Err(out_of_range),
        }
    }

    /// The reading, for numeric values.
    pub fn reading(&self) -> Option<&Reading> {
        match self {
            Self::Number(r) => Some(r),
            _ => None,
        }
    }

    /// Text up to the first NUL, when it is valid UTF-8 (text registers only).
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => {
                let end = t.iter().position(|&b| b == 0).unwrap_or(t.len());
                core::str::from_utf8(t.get(..end).unwrap_or_default()).ok()
            }
            _ => None,
        }
    }
}
