//! The choices where Daly firmware, documents and implementations disagree, made explicit.
//!
//! Defaults follow the real captures (see `docs/protocols/daly.md`): host address 0x40,
//! current above raw 30000 means discharging, balance bits LSB-first in byte order.

use voltwire_core::Scale;

/// Host address 0x40: the "upper computer" in protocol V1.2, the RS485 port's host in
/// python-daly-bms; the address in every real request capture we have.
pub const HOST_RS485: u8 = 0x40;
/// Host address 0x80: the "upper computer" in protocol V1.0, the UART/Bluetooth host in
/// python-daly-bms, mpp-solar's default.
pub const HOST_UART: u8 = 0x80;
/// The address the first BMS answers with.
pub const BMS_FIRST: u8 = 0x01;

/// Which sign the 0x90 current has.
///
/// The wire value is `u16` in 0.1 A with 30000 meaning 0 A; firmware differs in which side
/// of 30000 is charging. Our [`voltwire_core::Milliamps`] are always positive when charging.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CurrentSign {
    /// raw < 30000 while charging: `mA = (30000 − raw) × 100`. python-daly-bms's comment,
    /// dbus-serialbattery's formula, the `dalybms` crate; and the mpp-solar capture session,
    /// in which raw 30021 comes with MOSFET state "discharging". The default.
    #[default]
    ChargeBelowOffset,
    /// raw > 30000 while charging: `mA = (raw − 30000) × 100` (maland16/daly-bms-uart;
    /// firmware reported inverted in dbus-serialbattery issues #65/#70).
    ChargeAboveOffset,
}

impl CurrentSign {
    /// The wire scale into milliamps, positive = charging.
    pub const fn scale(self) -> Scale {
        match self {
            Self::ChargeBelowOffset => Scale::new(-100, 30_000),
            Self::ChargeAboveOffset => Scale::new(100, 30_000),
        }
    }
}

/// Which bit of the 0x97 data is which cell. No capture with balancing active is known, so
/// the choice is the user's; the default is the documented "bit 0 = cell 1" read in byte
/// order.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BalanceBitOrder {
    /// Cell 1 = data byte 0 bit 0, cell 8 = byte 0 bit 7, cell 9 = byte 1 bit 0 …
    /// (maland16/daly-bms-uart, the `dalybms` crate).
    #[default]
    BytesInOrderLsbFirst,
    /// The 8 bytes as one big-endian integer, cell 1 = its bit 0 (byte 7 bit 0), cell 9 =
    /// byte 6 bit 0 … (python-daly-bms).
    BigEndianWord,
}

impl BalanceBitOrder {
    /// (data byte, bit) of 1-based `cell`, or `None` outside 1..=64.
    pub const fn position(self, cell: u8) -> Option<(usize, u8)> {
        if cell == 0 || cell > 64 {
            return None;
        }
        let i = cell - 1;
        let (byte, bit) = ((i / 8) as usize, i % 8);
        match self {
            Self::BytesInOrderLsbFirst => Some((byte, bit)),
            Self::BigEndianWord => Some((7 - byte, bit)),
        }
    }
}

/// Everything that differs between Daly boards, firmware and ports, in one value.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variant {
    /// The host address requests carry ([`HOST_RS485`] or [`HOST_UART`]; 0x40 + board − 1
    /// for several boards on one bus).
    pub host_address: u8,
    /// The sign of the 0x90 current.
    pub current_sign: CurrentSign,
    /// The 0x97 bit order.
    pub balance_bit_order: BalanceBitOrder,
}

impl Default for Variant {
    fn default() -> Self {
        Self::RS485
    }
}

impl Variant {
    /// Host 0x40 (RS485 port, protocol V1.2), defaults otherwise.
    pub const RS485: Self = Self {
        host_address: HOST_RS485,
        current_sign: CurrentSign::ChargeBelowOffset,
        balance_bit_order: BalanceBitOrder::BytesInOrderLsbFirst,
    };
    /// Host 0x80 (UART/Bluetooth port, protocol V1.0), defaults otherwise.
    pub const UART: Self = Self {
        host_address: HOST_UART,
        ..Self::RS485
    };

    /// The same variant with another current sign.
    #[must_use]
    pub const fn with_current_sign(mut self, sign: CurrentSign) -> Self {
        self.current_sign = sign;
        self
    }

    /// The same variant with another balance bit order.
    #[must_use]
    pub const fn with_balance_bit_order(mut self, order: BalanceBitOrder) -> Self {
        self.balance_bit_order = order;
        self
    }

    /// The BMS number that answers this variant's host address when several boards share
    /// a bus and hosts address them as 0x40 + board − 1 (dbus-serialbattery): 0x40 → 0x01.
    /// For other host addresses the first BMS, 0x01.
    pub const fn bms_address(&self) -> u8 {
        match self.host_address {
            a @ 0x40..=0x7F => a - 0x3F,
            _ => BMS_FIRST,
        }
    }
}
