//! Configuration reads/writes, capacity, date/time and the v20-style info replies.

use voltwire_asciihex::{Reader, Writer};
use voltwire_core::{EncodeError, MilliampHours, Milliamps, Millivolts, Scale};

use crate::CAPACITY_STEP_MAH;

/// Which voltage protection a 0xD0–0xD7 command reads or writes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoltageKind {
    /// Cell over-voltage (read 0xD1, write 0xD0).
    CellOver,
    /// Cell under-voltage (read 0xD3, write 0xD2).
    CellUnder,
    /// Pack over-voltage (read 0xD5, write 0xD4).
    PackOver,
    /// Pack under-voltage (read 0xD7, write 0xD6).
    PackUnder,
}

impl VoltageKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::CellOver,
        Self::CellUnder,
        Self::PackOver,
        Self::PackUnder,
    ];

    /// The read command.
    pub const fn read_command(self) -> u8 {
        self.write_command() + 1
    }

    /// The write command.
    pub const fn write_command(self) -> u8 {
        match self {
            Self::CellOver => 0xD0,
            Self::CellUnder => 0xD2,
            Self::PackOver => 0xD4,
            Self::PackUnder => 0xD6,
        }
    }

    /// The kind a read or write command addresses.
    pub const fn from_command(cid2: u8) -> Option<Self> {
        Some(match cid2 {
            0xD0 | 0xD1 => Self::CellOver,
            0xD2 | 0xD3 => Self::CellUnder,
            0xD4 | 0xD5 => Self::PackOver,
            0xD6 | 0xD7 => Self::PackUnder,
            _ => return None,
        })
    }
}

/// A voltage protection setting (NK25; kitor `api/pace.py`): read reply and write request.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VoltageProtection {
    /// Lead byte, 0x01 in every capture. Wire: u8.
    pub lead: u8,
    /// Alarm threshold. Wire: u16 BE, 1 mV.
    pub alarm: Millivolts,
    /// Protection threshold. Wire: u16 BE, 1 mV.
    pub protect: Millivolts,
    /// Release threshold. Wire: u16 BE, 1 mV.
    pub release: Millivolts,
    /// Delay. Wire: u8, 100 ms.
    pub delay_100ms: u8,
}

impl VoltageProtection {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let v = Self {
            lead: r.u8().ok()?,
            alarm: r.millivolts().ok()?,
            protect: r.millivolts().ok()?,
            release: r.millivolts().ok()?,
            delay_100ms: r.u8().ok()?,
        };
        r.is_empty().then_some(v)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(self.lead)?
            .millivolts(self.alarm, "alarm")?
            .millivolts(self.protect, "protect")?
            .millivolts(self.release, "release")?
            .u8(self.delay_100ms)?;
        Ok(())
    }
}

/// A charge (0xD9/0xD8) or discharge (0xDB/0xDA) over-current setting.
///
/// Discharge values read back **negative** (two's complement) but are written positive
/// (NK25; capture `…01FF97FF920A…` = −105 A / −110 A); the sign is kept as sent.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CurrentProtection {
    /// Lead byte, 0x01 in every capture. Wire: u8.
    pub lead: u8,
    /// Alarm current. Wire: i16 BE, 1 A.
    pub alarm: Milliamps,
    /// Protection current. Wire: i16 BE, 1 A.
    pub protect: Milliamps,
    /// Delay. Wire: u8, 100 ms.
    pub delay_100ms: u8,
}

impl CurrentProtection {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let v = Self {
            lead: r.u8().ok()?,
            alarm: r.milliamps(1000).ok()?,
            protect: r.milliamps(1000).ok()?,
            delay_100ms: r.u8().ok()?,
        };
        r.is_empty().then_some(v)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(self.lead)?
            .milliamps(self.alarm, 1000, "alarm")?
            .milliamps(self.protect, 1000, "protect")?
            .u8(self.delay_100ms)?;
        Ok(())
    }
}

/// Balancing setting (read 0xB6, write 0xB5).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BalanceConfig {
    /// Cell voltage above which balancing may start. Wire: u16 BE, 1 mV.
    pub threshold: Millivolts,
    /// Cell difference that triggers balancing. Wire: u16 BE, 1 mV.
    pub delta: Millivolts,
}

impl BalanceConfig {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let v = Self {
            threshold: r.millivolts().ok()?,
            delta: r.millivolts().ok()?,
        };
        r.is_empty().then_some(v)
    }

    pub(crate) fn write(self, w: &mut Writer) -> Result<(), EncodeError> {
        w.millivolts(self.threshold, "threshold")?
            .millivolts(self.delta, "delta")?;
        Ok(())
    }
}

/// Full-charge / low-SOC setting (read 0xAF, write 0xAE).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FullChargeConfig {
    /// Pack voltage counted as full. Wire: u16 BE, 1 mV.
    pub voltage: Millivolts,
    /// Current below which the pack counts as full. Wire: u16 BE, 1 mA.
    pub current: Milliamps,
    /// Low-SOC alarm. Wire: u8, 1 %.
    pub low_soc_percent: u8,
}

impl FullChargeConfig {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let v = Self {
            voltage: r.millivolts().ok()?,
            current: Milliamps(i32::from(r.u16().ok()?)),
            low_soc_percent: r.u8().ok()?,
        };
        r.is_empty().then_some(v)
    }

    pub(crate) fn write(self, w: &mut Writer) -> Result<(), EncodeError> {
        w.millivolts(self.voltage, "voltage")?
            .u16(self.current.to_wire_as(Scale::IDENTITY, "current")?)?
            .u8(self.low_soc_percent)?;
        Ok(())
    }
}

/// A 0xA6 reply.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capacity {
    /// Remaining capacity. Wire: u16 BE, 10 mAh.
    pub remaining: MilliampHours,
    /// Full capacity. Wire: u16 BE, 10 mAh.
    pub full: MilliampHours,
    /// Design capacity. Wire: u16 BE, 10 mAh.
    pub design: MilliampHours,
}

impl Capacity {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let v = Self {
            remaining: r.milliamp_hours(CAPACITY_STEP_MAH).ok()?,
            full: r.milliamp_hours(CAPACITY_STEP_MAH).ok()?,
            design: r.milliamp_hours(CAPACITY_STEP_MAH).ok()?,
        };
        r.is_empty().then_some(v)
    }

    pub(crate) fn write(self, w: &mut Writer) -> Result<(), EncodeError> {
        w.milliamp_hours(self.remaining, CAPACITY_STEP_MAH, "remaining")?
            .milliamp_hours(self.full, CAPACITY_STEP_MAH, "full")?
            .milliamp_hours(self.design, CAPACITY_STEP_MAH, "design")?;
        Ok(())
    }
}

/// Date and time of the BMS clock (0xB1 reply, 0xB2 request).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DateTime {
    /// Year since 2000. Wire: u8.
    pub year_since_2000: u8,
    /// Month 1–12 (not checked). Wire: u8.
    pub month: u8,
    /// Day 1–31 (not checked). Wire: u8.
    pub day: u8,
    /// Hour. Wire: u8.
    pub hour: u8,
    /// Minute. Wire: u8.
    pub minute: u8,
    /// Second. Wire: u8.
    pub second: u8,
}

impl DateTime {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        match info {
            [y, mo, d, h, mi, s] => Some(Self {
                year_since_2000: *y,
                month: *mo,
                day: *d,
                hour: *h,
                minute: *mi,
                second: *s,
            }),
            _ => None,
        }
    }

    pub(crate) const fn bytes(self) -> [u8; 6] {
        [
            self.year_since_2000,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
        ]
    }
}

/// A 0x51 reply in the v20 layout (PYL33 §3.2); v25 packs use 0xC1/0xC2 instead.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ManufacturerInfo {
    /// Device name. Wire: 10 ASCII bytes.
    pub device_name: [u8; 10],
    /// Software version. Wire: 2 bytes.
    pub software_version: [u8; 2],
    /// Manufacturer name. Wire: 20 ASCII bytes.
    pub manufacturer: [u8; 20],
}

impl ManufacturerInfo {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let v = Self {
            device_name: r.take().ok()?,
            software_version: r.take().ok()?,
            manufacturer: r.take().ok()?,
        };
        r.is_empty().then_some(v)
    }
}

/// A 0x47 reply in the v20 layout: INFOFLAG and twelve raw 16-bit limits in the PYL33 order
/// (cell high/low/under mV, charge high/low temperature 0.1 K, charge current, module
/// high/low/under mV, discharge high/low temperature 0.1 K, discharge current). Kept raw
/// because no Pace v25 capture fixes the current unit.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SystemParameters {
    /// INFOFLAG. Wire: u8.
    pub info_flag: u8,
    /// The twelve values. Wire: u16 BE each.
    pub values: [u16; 12],
}

impl SystemParameters {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let mut v = Self {
            info_flag: r.u8().ok()?,
            values: [0; 12],
        };
        for x in &mut v.values {
            *x = r.u16().ok()?;
        }
        r.is_empty().then_some(v)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(self.info_flag)?;
        for &x in &self.values {
            w.u16(x)?;
        }
        Ok(())
    }
}
