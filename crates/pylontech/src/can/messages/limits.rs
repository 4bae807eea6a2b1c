//! 0x351: charge and discharge limits.

use voltwire_core::field::Le;
use voltwire_core::{EncodeError, Milliamps, Millivolts};

use super::{DECIAMP, DECIVOLT, LeScaled, check_len, optional, quantity};
use crate::can::{CanMessage, ParseError};

/// 0x351, BMS -> inverter: charge and discharge limits. Sent with 8 bytes, or 6 (no DVL).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ChargeLimits {
    /// Charge voltage limit (CVL). Wire: [`Self::CVL`].
    #[cfg_attr(feature = "serde", serde(rename = "charge_voltage_limit_v"))]
    pub charge_voltage: Millivolts,
    /// Charge current limit (CCL), a magnitude. Wire: [`Self::CCL`] (signed, see
    /// `docs/protocols/pylontech-can.md`).
    #[cfg_attr(feature = "serde", serde(rename = "charge_current_limit_a"))]
    pub charge_current: Milliamps,
    /// Discharge current limit (DCL), a magnitude (positive in every real capture). Wire:
    /// [`Self::DCL`].
    #[cfg_attr(feature = "serde", serde(rename = "discharge_current_limit_a"))]
    pub discharge_current: Milliamps,
    /// Discharge voltage limit (DVL); `None` in a 6-byte frame. Wire: [`Self::DVL`].
    #[cfg_attr(feature = "serde", serde(rename = "discharge_voltage_limit_v"))]
    pub discharge_voltage: Option<Millivolts>,
}

impl ChargeLimits {
    /// JSON / log name.
    pub const NAME: &'static str = "charge_limits";
    /// CVL: u16 LE at byte 0, 0.1 V.
    pub const CVL: LeScaled<u16> = LeScaled::new(Le::at(0), DECIVOLT, "cvl");
    /// CCL: i16 LE after CVL, 0.1 A.
    pub const CCL: LeScaled<i16> = LeScaled::new(Le::at(Self::CVL.field.end()), DECIAMP, "ccl");
    /// DCL: i16 LE after CCL, 0.1 A.
    pub const DCL: LeScaled<i16> = LeScaled::new(Le::at(Self::CCL.field.end()), DECIAMP, "dcl");
    /// DVL: u16 LE after DCL (absent in a 6-byte frame), 0.1 V.
    pub const DVL: LeScaled<u16> = LeScaled::new(Le::at(Self::DCL.field.end()), DECIVOLT, "dvl");
}

impl CanMessage for ChargeLimits {
    const ID: u16 = 0x351;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(
            Self::ID,
            data,
            &[Self::DCL.field.end(), Self::DVL.field.end()],
        )?;
        Ok(Self {
            charge_voltage: quantity(Self::ID, data, Self::CVL)?,
            charge_current: quantity(Self::ID, data, Self::CCL)?,
            discharge_current: quantity(Self::ID, data, Self::DCL)?,
            discharge_voltage: if data.len() == Self::DVL.field.end() {
                Some(quantity(Self::ID, data, Self::DVL)?)
            } else {
                None
            },
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        Self::CVL.write(&mut out, self.charge_voltage)?;
        Self::CCL.write(&mut out, self.charge_current)?;
        Self::DCL.write(&mut out, self.discharge_current)?;
        let (short, long) = (Self::DCL.field.end(), Self::DVL.field.end());
        let len = optional(self.discharge_voltage, short, long, |v| {
            Self::DVL.write(&mut out, v)
        })?;
        Ok((out, len))
    }
}
