//! Bit fields of 0x359, 0x35C and 0x35A, decoded to names.

/// Names of 16-bit flag words: (bit, name).
type Names = &'static [(u8, &'static str)];

fn names_of(raw: u16, names: Names) -> impl Iterator<Item = &'static str> {
    names
        .iter()
        .filter(move |(bit, _)| raw & (1u16 << *bit) != 0)
        .map(|&(_, name)| name)
}

fn unknown_of(raw: u16, names: Names) -> u16 {
    names
        .iter()
        .fold(raw, |acc, (bit, _)| acc & !(1u16 << *bit))
}

/// Protection bits of 0x359 (bytes 0 and 1: `raw = byte0 | byte1 << 8`).
///
/// Bit 11 (byte 1 bit 3) is the system / BMS-internal error, as `OpenDTU` and `bms_gateway`
/// decode it; see `docs/protocols/pylontech-can.md` for the bit-7 alternative. Unnamed bits are kept in
/// `raw` and reported by [`Protection::unknown_bits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Protection(pub u16);

/// Warning (alarm) bits of 0x359 (bytes 2 and 3), same positions as [`Protection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Warning(pub u16);

impl Protection {
    /// Cell or module over-voltage.
    pub const OVER_VOLTAGE: u16 = 1 << 1;
    /// Under-voltage.
    pub const UNDER_VOLTAGE: u16 = 1 << 2;
    /// Over-temperature.
    pub const OVER_TEMPERATURE: u16 = 1 << 3;
    /// Under-temperature.
    pub const UNDER_TEMPERATURE: u16 = 1 << 4;
    /// Discharge over-current.
    pub const DISCHARGE_OVER_CURRENT: u16 = 1 << 7;
    /// Charge over-current.
    pub const CHARGE_OVER_CURRENT: u16 = 1 << 8;
    /// System / BMS internal error (byte 1 bit 3).
    pub const SYSTEM_ERROR: u16 = 1 << 11;

    const NAMES: Names = &[
        (1, "over_voltage"),
        (2, "under_voltage"),
        (3, "over_temperature"),
        (4, "under_temperature"),
        (7, "discharge_over_current"),
        (8, "charge_over_current"),
        (11, "system_error"),
    ];

    /// Names of the set bits that have one.
    pub fn flags(self) -> impl Iterator<Item = &'static str> {
        names_of(self.0, Self::NAMES)
    }

    /// Set bits without a name.
    pub fn unknown_bits(self) -> u16 {
        unknown_of(self.0, Self::NAMES)
    }

    /// Whether a bit (one of the associated constants) is set.
    pub const fn contains(self, bit: u16) -> bool {
        self.0 & bit == bit
    }
}

impl Warning {
    /// High voltage.
    pub const HIGH_VOLTAGE: u16 = 1 << 1;
    /// Low voltage.
    pub const LOW_VOLTAGE: u16 = 1 << 2;
    /// High temperature.
    pub const HIGH_TEMPERATURE: u16 = 1 << 3;
    /// Low temperature.
    pub const LOW_TEMPERATURE: u16 = 1 << 4;
    /// High discharge current.
    pub const HIGH_DISCHARGE_CURRENT: u16 = 1 << 7;
    /// High charge current.
    pub const HIGH_CHARGE_CURRENT: u16 = 1 << 8;
    /// Internal communication failure / BMS internal (byte 3 bit 3).
    pub const INTERNAL_FAILURE: u16 = 1 << 11;

    const NAMES: Names = &[
        (1, "high_voltage"),
        (2, "low_voltage"),
        (3, "high_temperature"),
        (4, "low_temperature"),
        (7, "high_discharge_current"),
        (8, "high_charge_current"),
        (11, "internal_failure"),
    ];

    /// Names of the set bits that have one.
    pub fn flags(self) -> impl Iterator<Item = &'static str> {
        names_of(self.0, Self::NAMES)
    }

    /// Set bits without a name.
    pub fn unknown_bits(self) -> u16 {
        unknown_of(self.0, Self::NAMES)
    }

    /// Whether a bit (one of the associated constants) is set.
    pub const fn contains(self, bit: u16) -> bool {
        self.0 & bit == bit
    }
}

/// Request flags of 0x35C byte 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RequestFlags(pub u8);

impl RequestFlags {
    /// Charge enable.
    pub const CHARGE_ENABLE: u8 = 0x80;
    /// Discharge enable.
    pub const DISCHARGE_ENABLE: u8 = 0x40;
    /// Force charge request I (wake a battery that shut down and charge it).
    pub const FORCE_CHARGE_1: u8 = 0x20;
    /// Force charge request II (charge before the battery shuts down).
    pub const FORCE_CHARGE_2: u8 = 0x10;
    /// Request full charge (periodic, against SOC drift; "balancing charge").
    pub const FULL_CHARGE: u8 = 0x08;

    const NAMES: &'static [(u8, &'static str)] = &[
        (Self::CHARGE_ENABLE, "charge_enable"),
        (Self::DISCHARGE_ENABLE, "discharge_enable"),
        (Self::FORCE_CHARGE_1, "force_charge_1"),
        (Self::FORCE_CHARGE_2, "force_charge_2"),
        (Self::FULL_CHARGE, "full_charge_request"),
    ];

    /// Names of the set bits that have one.
    pub fn flags(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .iter()
            .filter(move |(m, _)| self.0 & m != 0)
            .map(|&(_, n)| n)
    }

    /// Set bits without a name.
    pub fn unknown_bits(self) -> u8 {
        self.0 & 0x07
    }

    /// Charging allowed.
    pub const fn charge_enable(self) -> bool {
        self.0 & Self::CHARGE_ENABLE != 0
    }

    /// Discharging allowed.
    pub const fn discharge_enable(self) -> bool {
        self.0 & Self::DISCHARGE_ENABLE != 0
    }

    /// Force charge request I.
    pub const fn force_charge_1(self) -> bool {
        self.0 & Self::FORCE_CHARGE_1 != 0
    }

    /// Force charge request II.
    pub const fn force_charge_2(self) -> bool {
        self.0 & Self::FORCE_CHARGE_2 != 0
    }

    /// Full-charge request.
    pub const fn full_charge_request(self) -> bool {
        self.0 & Self::FULL_CHARGE != 0
    }
}

/// State of one 2-bit pair of 0x35A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairState {
    /// `00`: not used by the sender.
    Unused,
    /// `01`: condition active (alarm / warning).
    Active,
    /// `10`: OK.
    Ok,
    /// `11`: not supported.
    NotSupported,
}

impl PairState {
    /// From the two bits (only the low two bits of `bits` are used).
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0b00 => Self::Unused,
            0b01 => Self::Active,
            0b10 => Self::Ok,
            _ => Self::NotSupported,
        }
    }

    /// A short `snake_case` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unused => "unused",
            Self::Active => "active",
            Self::Ok => "ok",
            Self::NotSupported => "not_supported",
        }
    }
}

/// A condition of 0x35A; its pair sits at `byte`, bits `shift..shift + 2` (alarms in bytes
/// 0-3, warnings at the same place in bytes 4-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AlarmCondition {
    /// General alarm (byte 0, bits 0-1).
    General,
    /// Battery high voltage (byte 0, bits 2-3).
    HighVoltage,
    /// Battery low voltage (byte 0, bits 4-5).
    LowVoltage,
    /// High temperature (byte 0, bits 6-7).
    HighTemperature,
    /// Low temperature (byte 1, bits 0-1).
    LowTemperature,
    /// High charge temperature (byte 1, bits 2-3).
    HighChargeTemperature,
    /// Low charge temperature (byte 1, bits 4-5).
    LowChargeTemperature,
    /// High discharge current (byte 1, bits 6-7).
    HighDischargeCurrent,
    /// High charge current (byte 2, bits 0-1).
    HighChargeCurrent,
    /// Byte 2, bits 2-3: not described by the sources in the notes; decoded, unnamed.
    Byte2Bits2And3,
    /// Byte 2, bits 4-5: not described by the sources in the notes; decoded, unnamed.
    Byte2Bits4And5,
    /// BMS internal failure (byte 2, bits 6-7).
    InternalFailure,
    /// Cell imbalance (byte 3, bits 0-1).
    CellImbalance,
}

impl AlarmCondition {
    /// Every condition, in wire order.
    pub const ALL: [Self; 13] = [
        Self::General,
        Self::HighVoltage,
        Self::LowVoltage,
        Self::HighTemperature,
        Self::LowTemperature,
        Self::HighChargeTemperature,
        Self::LowChargeTemperature,
        Self::HighDischargeCurrent,
        Self::HighChargeCurrent,
        Self::Byte2Bits2And3,
        Self::Byte2Bits4And5,
        Self::InternalFailure,
        Self::CellImbalance,
    ];

    /// Byte (0-3 within the alarm or warning half) and bit shift of the pair.
    pub const fn position(self) -> (usize, u8) {
        let i = self as u8;
        ((i / 4) as usize, (i % 4) * 2)
    }

    /// A short `snake_case` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::HighVoltage => "high_voltage",
            Self::LowVoltage => "low_voltage",
            Self::HighTemperature => "high_temperature",
            Self::LowTemperature => "low_temperature",
            Self::HighChargeTemperature => "high_charge_temperature",
            Self::LowChargeTemperature => "low_charge_temperature",
            Self::HighDischargeCurrent => "high_discharge_current",
            Self::HighChargeCurrent => "high_charge_current",
            Self::Byte2Bits2And3 => "byte2_bits2_3",
            Self::Byte2Bits4And5 => "byte2_bits4_5",
            Self::InternalFailure => "internal_failure",
            Self::CellImbalance => "cell_imbalance",
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::many_single_char_names,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    reason = "test code"
)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let p = Protection(Protection::OVER_VOLTAGE | Protection::SYSTEM_ERROR | 0x8000);
        let v: std::vec::Vec<_> = p.flags().collect();
        assert_eq!(v, ["over_voltage", "system_error"]);
        assert_eq!(p.unknown_bits(), 0x8000);
        let r = RequestFlags(0xC0);
        assert!(r.charge_enable() && r.discharge_enable() && !r.full_charge_request());
        assert_eq!(AlarmCondition::CellImbalance.position(), (3, 0));
        assert_eq!(AlarmCondition::InternalFailure.position(), (2, 6));
        assert_eq!(PairState::from_bits(0b10), PairState::Ok);
    }
}
