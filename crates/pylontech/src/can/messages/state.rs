//! 0x355 state of charge and health, 0x356 voltage, current and temperature.

use voltwire_core::field::Le;
use voltwire_core::{DeciCelsius, EncodeError, Milliamps, Millivolts, Permille};

use super::{CENTIVOLT, DECIAMP, IDENTITY, LeScaled, PERCENT, check_len, optional, quantity};
use crate::can::{CanMessage, ParseError};

/// 0x355, BMS -> inverter: state of charge and health. Sent with 4, 6 or 8 bytes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SocSoh {
    /// State of charge. Wire: [`Self::SOC`].
    #[cfg_attr(feature = "serde", serde(rename = "soc_pct"))]
    pub soc: Permille,
    /// State of health. Wire: [`Self::SOH`].
    #[cfg_attr(feature = "serde", serde(rename = "soh_pct"))]
    pub soh: Permille,
    /// High-resolution SOC (SMA extension), in 0.01 % steps (no canonical unit is that fine);
    /// `None` in a 4-byte frame. Wire: [`Self::SOC_HIGH_RES`].
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "soc_high_res_pct",
            serialize_with = "crate::can::serde_impl::centi"
        )
    )]
    pub soc_high_res: Option<u16>,
    /// Bytes 6-7 (unused); `None` unless the frame has 8 bytes. Wire: [`Self::RESERVED`].
    #[cfg_attr(feature = "serde", serde(skip))]
    pub reserved: Option<u16>,
}

impl SocSoh {
    /// JSON / log name.
    pub const NAME: &'static str = "soc_soh";
    /// SOC: u16 LE at byte 0, 1 %.
    pub const SOC: LeScaled<u16> = LeScaled::new(Le::at(0), PERCENT, "soc");
    /// SOH: u16 LE after SOC, 1 %.
    pub const SOH: LeScaled<u16> = LeScaled::new(Le::at(Self::SOC.field.end()), PERCENT, "soh");
    /// High-resolution SOC: u16 LE after SOH, 0.01 %.
    pub const SOC_HIGH_RES: Le<u16> = Le::at(Self::SOH.field.end());
    /// Reserved: u16 LE after the high-resolution SOC.
    pub const RESERVED: Le<u16> = Le::at(Self::SOC_HIGH_RES.end());
}

impl CanMessage for SocSoh {
    const ID: u16 = 0x355;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        let lengths = [
            Self::SOH.field.end(),
            Self::SOC_HIGH_RES.end(),
            Self::RESERVED.end(),
        ];
        check_len(Self::ID, data, &lengths)?;
        Ok(Self {
            soc: quantity(Self::ID, data, Self::SOC)?,
            soh: quantity(Self::ID, data, Self::SOH)?,
            soc_high_res: Self::SOC_HIGH_RES.read(data),
            reserved: Self::RESERVED.read(data),
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        Self::SOC.write(&mut out, self.soc)?;
        Self::SOH.write(&mut out, self.soh)?;
        let len = match (self.soc_high_res, self.reserved) {
            (None, None) => Self::SOH.field.end(),
            (Some(h), None) => {
                Self::SOC_HIGH_RES.write(&mut out, h)?;
                Self::SOC_HIGH_RES.end()
            }
            (h, Some(r)) => {
                Self::SOC_HIGH_RES.write(&mut out, h.unwrap_or(0))?;
                Self::RESERVED.write(&mut out, r)?;
                Self::RESERVED.end()
            }
        };
        Ok((out, len))
    }
}

/// 0x356, BMS -> inverter: battery voltage, current and temperature. 6 or 8 bytes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Measurements {
    /// Battery voltage. Wire: [`Self::VOLTAGE`].
    #[cfg_attr(feature = "serde", serde(rename = "voltage_v"))]
    pub voltage: Millivolts,
    /// Battery current, positive = charging. Wire: [`Self::CURRENT`].
    #[cfg_attr(feature = "serde", serde(rename = "current_a"))]
    pub current: Milliamps,
    /// Battery temperature. Wire: [`Self::TEMPERATURE`].
    #[cfg_attr(feature = "serde", serde(rename = "temperature_c"))]
    pub temperature: DeciCelsius,
    /// Bytes 6-7, meaning unverified (0x001A in the Victron capture; a Lua emitter puts the
    /// cycle count there); `None` in a 6-byte frame. Wire: [`Self::EXTRA`].
    #[cfg_attr(feature = "serde", serde(rename = "bytes_6_7"))]
    pub extra: Option<u16>,
}

impl Measurements {
    /// JSON / log name.
    pub const NAME: &'static str = "measurements";
    /// Voltage: i16 LE at byte 0, 0.01 V.
    pub const VOLTAGE: LeScaled<i16> = LeScaled::new(Le::at(0), CENTIVOLT, "voltage");
    /// Current: i16 LE after the voltage, 0.1 A.
    pub const CURRENT: LeScaled<i16> =
        LeScaled::new(Le::at(Self::VOLTAGE.field.end()), DECIAMP, "current");
    /// Temperature: i16 LE after the current, 0.1 °C.
    pub const TEMPERATURE: LeScaled<i16> =
        LeScaled::new(Le::at(Self::CURRENT.field.end()), IDENTITY, "temperature");
    /// Extra: u16 LE after the temperature.
    pub const EXTRA: Le<u16> = Le::at(Self::TEMPERATURE.field.end());
}

impl CanMessage for Measurements {
    const ID: u16 = 0x356;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(
            Self::ID,
            data,
            &[Self::TEMPERATURE.field.end(), Self::EXTRA.end()],
        )?;
        Ok(Self {
            voltage: quantity(Self::ID, data, Self::VOLTAGE)?,
            current: quantity(Self::ID, data, Self::CURRENT)?,
            temperature: quantity(Self::ID, data, Self::TEMPERATURE)?,
            extra: Self::EXTRA.read(data),
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        Self::VOLTAGE.write(&mut out, self.voltage)?;
        Self::CURRENT.write(&mut out, self.current)?;
        Self::TEMPERATURE.write(&mut out, self.temperature)?;
        let (short, long) = (Self::TEMPERATURE.field.end(), Self::EXTRA.end());
        let len = optional(self.extra, short, long, |x| Self::EXTRA.write(&mut out, x))?;
        Ok((out, len))
    }
}
