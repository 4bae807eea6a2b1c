//! Bit fields of 0x359, 0x35C and 0x35A, decoded to names.

voltwire_core::flag_word! {
    /// Protection bits of 0x359 (bytes 0 and 1: `raw = byte0 | byte1 << 8`).
    ///
    /// Bit 11 (byte 1 bit 3) is the system / BMS-internal error, as `OpenDTU` and `bms_gateway`
    /// decode it; see `docs/protocols/pylontech-can.md` for the bit-7 alternative. Unnamed bits are kept in
    /// `raw` and reported by [`Protection::unknown_bits`].
    pub struct Protection(u16) {
        /// Cell or module over-voltage.
        1 => "over_voltage" as OVER_VOLTAGE,
        /// Under-voltage.
        2 => "under_voltage" as UNDER_VOLTAGE,
        /// Over-temperature.
        3 => "over_temperature" as OVER_TEMPERATURE,
        /// Under-temperature.
        4 => "under_temperature" as UNDER_TEMPERATURE,
        /// Discharge over-current.
        7 => "discharge_over_current" as DISCHARGE_OVER_CURRENT,
        /// Charge over-current.
        8 => "charge_over_current" as CHARGE_OVER_CURRENT,
        /// System / BMS internal error (byte 1 bit 3).
        11 => "system_error" as SYSTEM_ERROR,
    }
}

voltwire_core::flag_word! {
    /// Warning (alarm) bits of 0x359 (bytes 2 and 3), same positions as [`Protection`].
    pub struct Warning(u16) {
        /// High voltage.
        1 => "high_voltage" as HIGH_VOLTAGE,
        /// Low voltage.
        2 => "low_voltage" as LOW_VOLTAGE,
        /// High temperature.
        3 => "high_temperature" as HIGH_TEMPERATURE,
        /// Low temperature.
        4 => "low_temperature" as LOW_TEMPERATURE,
        /// High discharge current.
        7 => "high_discharge_current" as HIGH_DISCHARGE_CURRENT,
        /// High charge current.
        8 => "high_charge_current" as HIGH_CHARGE_CURRENT,
        /// Internal communication failure / BMS internal (byte 3 bit 3).
        11 => "internal_failure" as INTERNAL_FAILURE,
    }
}

voltwire_core::flag_word! {
    /// Request flags of 0x35C byte 0 (named from the top bit down).
    pub struct RequestFlags(u8) {
        /// Charge enable.
        7 => "charge_enable" as CHARGE_ENABLE,
        /// Discharge enable.
        6 => "discharge_enable" as DISCHARGE_ENABLE,
        /// Force charge request I (wake a battery that shut down and charge it).
        5 => "force_charge_1" as FORCE_CHARGE_1,
        /// Force charge request II (charge before the battery shuts down).
        4 => "force_charge_2" as FORCE_CHARGE_2,
        /// Request full charge (periodic, against SOC drift; "balancing charge").
        3 => "full_charge_request" as FULL_CHARGE,
    }
}

impl RequestFlags {
    /// Charging allowed.
    pub const fn charge_enable(self) -> bool {
        self.contains(Self::CHARGE_ENABLE)
    }

    /// Discharging allowed.
    pub const fn discharge_enable(self) -> bool {
        self.contains(Self::DISCHARGE_ENABLE)
    }

    /// Force charge request I.
    pub const fn force_charge_1(self) -> bool {
        self.contains(Self::FORCE_CHARGE_1)
    }

    /// Force charge request II.
    pub const fn force_charge_2(self) -> bool {
        self.contains(Self::FORCE_CHARGE_2)
    }

    /// Full-charge request.
    pub const fn full_charge_request(self) -> bool {
        self.contains(Self::FULL_CHARGE)
    }
}

/// State of one 2-bit pair of 0x35A.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
        assert!(RequestFlags(0xC9).flags().eq([
            "charge_enable",
            "discharge_enable",
            "full_charge_request"
        ]));
        assert_eq!(RequestFlags(0xCF).unknown_bits(), 0x07);
        let r = RequestFlags(0xC0);
        assert!(r.charge_enable() && r.discharge_enable() && !r.full_charge_request());
        assert_eq!(AlarmCondition::CellImbalance.position(), (3, 0));
        assert_eq!(AlarmCondition::InternalFailure.position(), (2, 6));
        assert_eq!(PairState::from_bits(0b10), PairState::Ok);
    }
}
