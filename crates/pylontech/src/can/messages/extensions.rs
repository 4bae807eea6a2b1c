//! SMA/Victron extensions: 0x35F battery info, 0x372 module counts, 0x373 cell extremes,
//! 0x378 energy, 0x379 installed capacity.

use voltwire_core::field::{Le, tail, write_tail};
use voltwire_core::{DeciKelvin, EncodeError, MilliampHours, Millivolts, WattHours};

use super::{
    AMP_HOUR, DECI_KWH, IDENTITY, KELVIN, LeScaled, check_len, length, optional, quantity, raw,
};
use crate::can::{CanMessage, ParseError, Payload};

/// 0x35F (SMA/Victron dialect): battery info. Only the capacity means the same in every
/// source; bytes 0-3 are model/chemistry and firmware/hardware version depending on the
/// source, so they are kept raw. 6 or 8 bytes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BatteryInfo {
    /// Battery model (`diyBMS`) or cell chemistry (`ArminJo`). Wire: [`Self::BYTES_0_1`].
    pub bytes_0_1: u16,
    /// Firmware version (`diyBMS`, `OpenDTU`: two u8) or hardware version (`ArminJo`).
    /// Wire: [`Self::BYTES_2_3`].
    pub bytes_2_3: u16,
    /// Available capacity. Wire: [`Self::CAPACITY`].
    #[cfg_attr(feature = "serde", serde(rename = "capacity_ah"))]
    pub capacity: MilliampHours,
    /// Software version in `ArminJo`; `None` in a 6-byte frame. Wire: [`Self::BYTES_6_7`].
    pub bytes_6_7: Option<u16>,
}

impl BatteryInfo {
    /// JSON / log name.
    pub const NAME: &'static str = "battery_info";
    /// Bytes 0-1: u16 LE.
    pub const BYTES_0_1: Le<u16> = Le::at(0);
    /// Bytes 2-3: u16 LE.
    pub const BYTES_2_3: Le<u16> = Le::at(Self::BYTES_0_1.end());
    /// Capacity: u16 LE at byte 4, 1 Ah.
    pub const CAPACITY: LeScaled<u16> =
        LeScaled::new(Le::at(Self::BYTES_2_3.end()), AMP_HOUR, "capacity");
    /// Bytes 6-7: u16 LE (absent in a 6-byte frame).
    pub const BYTES_6_7: Le<u16> = Le::at(Self::CAPACITY.field.end());
}

impl CanMessage for BatteryInfo {
    const ID: u16 = 0x35F;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(
            Self::ID,
            data,
            &[Self::CAPACITY.field.end(), Self::BYTES_6_7.end()],
        )?;
        Ok(Self {
            bytes_0_1: raw(Self::ID, data, Self::BYTES_0_1)?,
            bytes_2_3: raw(Self::ID, data, Self::BYTES_2_3)?,
            capacity: quantity(Self::ID, data, Self::CAPACITY)?,
            bytes_6_7: Self::BYTES_6_7.read(data),
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        Self::BYTES_0_1.write(&mut out, self.bytes_0_1)?;
        Self::BYTES_2_3.write(&mut out, self.bytes_2_3)?;
        Self::CAPACITY.write(&mut out, self.capacity)?;
        let (short, long) = (Self::CAPACITY.field.end(), Self::BYTES_6_7.end());
        let len = optional(self.bytes_6_7, short, long, |x| {
            Self::BYTES_6_7.write(&mut out, x)
        })?;
        Ok((out, len))
    }
}

/// 0x372: module counts. 8 bytes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ModuleCounts {
    /// Modules online. Wire: [`Self::ONLINE`].
    #[cfg_attr(feature = "serde", serde(rename = "modules_online"))]
    pub online: u16,
    /// Modules blocking charge. Wire: [`Self::BLOCKING_CHARGE`].
    #[cfg_attr(feature = "serde", serde(rename = "modules_blocking_charge"))]
    pub blocking_charge: u16,
    /// Modules blocking discharge. Wire: [`Self::BLOCKING_DISCHARGE`].
    #[cfg_attr(feature = "serde", serde(rename = "modules_blocking_discharge"))]
    pub blocking_discharge: u16,
    /// Modules offline. Wire: [`Self::OFFLINE`].
    #[cfg_attr(feature = "serde", serde(rename = "modules_offline"))]
    pub offline: u16,
}

impl ModuleCounts {
    /// JSON / log name.
    pub const NAME: &'static str = "module_counts";
    /// Online: u16 LE at byte 0.
    pub const ONLINE: Le<u16> = Le::at(0);
    /// Blocking charge: u16 LE at byte 2.
    pub const BLOCKING_CHARGE: Le<u16> = Le::at(Self::ONLINE.end());
    /// Blocking discharge: u16 LE at byte 4.
    pub const BLOCKING_DISCHARGE: Le<u16> = Le::at(Self::BLOCKING_CHARGE.end());
    /// Offline: u16 LE at byte 6.
    pub const OFFLINE: Le<u16> = Le::at(Self::BLOCKING_DISCHARGE.end());
}

impl CanMessage for ModuleCounts {
    const ID: u16 = 0x372;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[Self::OFFLINE.end()])?;
        Ok(Self {
            online: raw(Self::ID, data, Self::ONLINE)?,
            blocking_charge: raw(Self::ID, data, Self::BLOCKING_CHARGE)?,
            blocking_discharge: raw(Self::ID, data, Self::BLOCKING_DISCHARGE)?,
            offline: raw(Self::ID, data, Self::OFFLINE)?,
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        Self::ONLINE.write(&mut out, self.online)?;
        Self::BLOCKING_CHARGE.write(&mut out, self.blocking_charge)?;
        Self::BLOCKING_DISCHARGE.write(&mut out, self.blocking_discharge)?;
        Self::OFFLINE.write(&mut out, self.offline)?;
        Ok((out, Self::OFFLINE.end()))
    }
}

/// 0x373: lowest/highest cell voltage and temperature. 8 bytes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CellExtremes {
    /// Lowest cell voltage. Wire: [`Self::MIN_CELL_VOLTAGE`].
    #[cfg_attr(feature = "serde", serde(rename = "min_cell_voltage_v"))]
    pub min_cell_voltage: Millivolts,
    /// Highest cell voltage. Wire: [`Self::MAX_CELL_VOLTAGE`].
    #[cfg_attr(feature = "serde", serde(rename = "max_cell_voltage_v"))]
    pub max_cell_voltage: Millivolts,
    /// Lowest cell temperature. Wire: [`Self::MIN_CELL_TEMPERATURE`].
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "min_cell_temperature_c",
            serialize_with = "crate::can::serde_impl::kelvin_c"
        )
    )]
    pub min_cell_temperature: DeciKelvin,
    /// Highest cell temperature. Wire: [`Self::MAX_CELL_TEMPERATURE`].
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "max_cell_temperature_c",
            serialize_with = "crate::can::serde_impl::kelvin_c"
        )
    )]
    pub max_cell_temperature: DeciKelvin,
}

impl CellExtremes {
    /// JSON / log name.
    pub const NAME: &'static str = "cell_extremes";
    /// Lowest cell voltage: u16 LE at byte 0, 1 mV.
    pub const MIN_CELL_VOLTAGE: LeScaled<u16> =
        LeScaled::new(Le::at(0), IDENTITY, "min_cell_voltage");
    /// Highest cell voltage: u16 LE at byte 2, 1 mV.
    pub const MAX_CELL_VOLTAGE: LeScaled<u16> = LeScaled::new(
        Le::at(Self::MIN_CELL_VOLTAGE.field.end()),
        IDENTITY,
        "max_cell_voltage",
    );
    /// Lowest cell temperature: u16 LE at byte 4, 1 K.
    pub const MIN_CELL_TEMPERATURE: LeScaled<u16> = LeScaled::new(
        Le::at(Self::MAX_CELL_VOLTAGE.field.end()),
        KELVIN,
        "min_cell_temperature",
    );
    /// Highest cell temperature: u16 LE at byte 6, 1 K.
    pub const MAX_CELL_TEMPERATURE: LeScaled<u16> = LeScaled::new(
        Le::at(Self::MIN_CELL_TEMPERATURE.field.end()),
        KELVIN,
        "max_cell_temperature",
    );
}

impl CanMessage for CellExtremes {
    const ID: u16 = 0x373;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[Self::MAX_CELL_TEMPERATURE.field.end()])?;
        Ok(Self {
            min_cell_voltage: quantity(Self::ID, data, Self::MIN_CELL_VOLTAGE)?,
            max_cell_voltage: quantity(Self::ID, data, Self::MAX_CELL_VOLTAGE)?,
            min_cell_temperature: quantity(Self::ID, data, Self::MIN_CELL_TEMPERATURE)?,
            max_cell_temperature: quantity(Self::ID, data, Self::MAX_CELL_TEMPERATURE)?,
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        Self::MIN_CELL_VOLTAGE.write(&mut out, self.min_cell_voltage)?;
        Self::MAX_CELL_VOLTAGE.write(&mut out, self.max_cell_voltage)?;
        Self::MIN_CELL_TEMPERATURE.write(&mut out, self.min_cell_temperature)?;
        Self::MAX_CELL_TEMPERATURE.write(&mut out, self.max_cell_temperature)?;
        Ok((out, Self::MAX_CELL_TEMPERATURE.field.end()))
    }
}

/// 0x378: charged and discharged energy. 8 bytes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Energy {
    /// Energy charged. Wire: [`Self::CHARGED`].
    #[cfg_attr(feature = "serde", serde(rename = "charged_wh"))]
    pub charged: WattHours,
    /// Energy discharged. Wire: [`Self::DISCHARGED`].
    #[cfg_attr(feature = "serde", serde(rename = "discharged_wh"))]
    pub discharged: WattHours,
}

impl Energy {
    /// JSON / log name.
    pub const NAME: &'static str = "energy";
    /// Charged: u32 LE at byte 0, 0.1 kWh.
    pub const CHARGED: LeScaled<u32> = LeScaled::new(Le::at(0), DECI_KWH, "charged");
    /// Discharged: u32 LE at byte 4, 0.1 kWh.
    pub const DISCHARGED: LeScaled<u32> =
        LeScaled::new(Le::at(Self::CHARGED.field.end()), DECI_KWH, "discharged");
}

impl CanMessage for Energy {
    const ID: u16 = 0x378;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[Self::DISCHARGED.field.end()])?;
        Ok(Self {
            charged: quantity(Self::ID, data, Self::CHARGED)?,
            discharged: quantity(Self::ID, data, Self::DISCHARGED)?,
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        Self::CHARGED.write(&mut out, self.charged)?;
        Self::DISCHARGED.write(&mut out, self.discharged)?;
        Ok((out, Self::DISCHARGED.field.end()))
    }
}

/// 0x379: installed capacity, then up to 6 more bytes kept verbatim; 2 to 8 bytes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InstalledCapacity {
    /// Installed capacity. Wire: [`Self::CAPACITY`].
    #[cfg_attr(feature = "serde", serde(rename = "capacity_ah"))]
    pub capacity: MilliampHours,
    /// The bytes after the capacity, as sent. Wire: from [`Self::REST`] to the end.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub rest: Payload,
}

impl InstalledCapacity {
    /// JSON / log name.
    pub const NAME: &'static str = "installed_capacity";
    /// Capacity: u16 LE at byte 0, 1 Ah.
    pub const CAPACITY: LeScaled<u16> = LeScaled::new(Le::at(0), AMP_HOUR, "capacity");
    /// First byte of the verbatim rest.
    pub const REST: usize = Self::CAPACITY.field.end();
}

impl CanMessage for InstalledCapacity {
    const ID: u16 = 0x379;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        if !(Self::REST..=8).contains(&data.len()) {
            return Err(length(Self::ID, data));
        }
        Ok(Self {
            capacity: quantity(Self::ID, data, Self::CAPACITY)?,
            rest: Payload::new(tail(data, Self::REST)).unwrap_or_default(),
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        if self.rest.len() > 8 - Self::REST {
            return Err(EncodeError::OutOfRange { field: "rest" });
        }
        let mut out = [0u8; 8];
        Self::CAPACITY.write(&mut out, self.capacity)?;
        write_tail(&mut out, Self::REST, self.rest.as_bytes())?;
        Ok((out, Self::REST + self.rest.len()))
    }
}
