//! Configuration reads/writes, capacity, date/time and the v20-style info replies: each
//! layout stated once ([`voltwire_asciihex::layout`]).

use voltwire_asciihex::info_layout;
use voltwire_asciihex::layout::{Each, Signed, U8, U16, Unsigned};
use voltwire_core::{MilliampHours, Milliamps, Millivolts};

use crate::CAPACITY_STEP_MAH;

/// The 0x51 reply (the v20 layout Pylontech shares).
pub use voltwire_asciihex::ManufacturerInfo;

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

info_layout! {
    /// A voltage protection setting (NK25; kitor `api/pace.py`): read reply and write request.
    #[derive(Copy)]
    pub struct VoltageProtection {
        /// Lead byte, 0x01 in every capture. Wire: u8.
        pub lead: u8 = U8,
        /// Alarm threshold. Wire: u16 BE, 1 mV.
        pub alarm: Millivolts = Unsigned::ONE,
        /// Protection threshold. Wire: u16 BE, 1 mV.
        pub protect: Millivolts = Unsigned::ONE,
        /// Release threshold. Wire: u16 BE, 1 mV.
        pub release: Millivolts = Unsigned::ONE,
        /// Delay. Wire: u8, 100 ms.
        pub delay_100ms: u8 = U8,
    }
}

info_layout! {
    /// A charge (0xD9/0xD8) or discharge (0xDB/0xDA) over-current setting.
    ///
    /// Discharge values read back **negative** (two's complement) but are written positive
    /// (NK25; capture `…01FF97FF920A…` = −105 A / −110 A); the sign is kept as sent.
    #[derive(Copy)]
    pub struct CurrentProtection {
        /// Lead byte, 0x01 in every capture. Wire: u8.
        pub lead: u8 = U8,
        /// Alarm current. Wire: i16 BE, 1 A.
        pub alarm: Milliamps = Signed::step(1000),
        /// Protection current. Wire: i16 BE, 1 A.
        pub protect: Milliamps = Signed::step(1000),
        /// Delay. Wire: u8, 100 ms.
        pub delay_100ms: u8 = U8,
    }
}

info_layout! {
    /// Balancing setting (read 0xB6, write 0xB5).
    #[derive(Copy)]
    pub struct BalanceConfig {
        /// Cell voltage above which balancing may start. Wire: u16 BE, 1 mV.
        pub threshold: Millivolts = Unsigned::ONE,
        /// Cell difference that triggers balancing. Wire: u16 BE, 1 mV.
        pub delta: Millivolts = Unsigned::ONE,
    }
}

info_layout! {
    /// Full-charge / low-SOC setting (read 0xAF, write 0xAE).
    #[derive(Copy)]
    pub struct FullChargeConfig {
        /// Pack voltage counted as full. Wire: u16 BE, 1 mV.
        pub voltage: Millivolts = Unsigned::ONE,
        /// Current below which the pack counts as full. Wire: u16 BE, 1 mA.
        pub current: Milliamps = Unsigned::ONE,
        /// Low-SOC alarm. Wire: u8, 1 %.
        pub low_soc_percent: u8 = U8,
    }
}

info_layout! {
    /// A 0xA6 reply.
    #[derive(Copy)]
    pub struct Capacity {
        /// Remaining capacity. Wire: u16 BE, 10 mAh.
        pub remaining: MilliampHours = Unsigned::step(CAPACITY_STEP_MAH),
        /// Full capacity. Wire: u16 BE, 10 mAh.
        pub full: MilliampHours = Unsigned::step(CAPACITY_STEP_MAH),
        /// Design capacity. Wire: u16 BE, 10 mAh.
        pub design: MilliampHours = Unsigned::step(CAPACITY_STEP_MAH),
    }
}

info_layout! {
    /// Date and time of the BMS clock (0xB1 reply, 0xB2 request).
    #[derive(Copy)]
    pub struct DateTime {
        /// Year since 2000. Wire: u8.
        pub year_since_2000: u8 = U8,
        /// Month 1–12 (not checked). Wire: u8.
        pub month: u8 = U8,
        /// Day 1–31 (not checked). Wire: u8.
        pub day: u8 = U8,
        /// Hour. Wire: u8.
        pub hour: u8 = U8,
        /// Minute. Wire: u8.
        pub minute: u8 = U8,
        /// Second. Wire: u8.
        pub second: u8 = U8,
    }
}

info_layout! {
    /// A 0x47 reply in the v20 layout: INFOFLAG and twelve raw 16-bit limits in the PYL33
    /// order (cell high/low/under mV, charge high/low temperature 0.1 K, charge current,
    /// module high/low/under mV, discharge high/low temperature 0.1 K, discharge current).
    /// Kept raw because no Pace v25 capture fixes the current unit.
    #[derive(Copy)]
    pub struct SystemParameters {
        /// INFOFLAG. Wire: u8.
        pub info_flag: u8 = U8,
        /// The twelve values. Wire: u16 BE each.
        pub values: [u16; 12] = Each(U16),
    }
}
