//! Status and configuration bit fields, decoded to names per model family.

use voltwire_core::FlagNames;

use crate::Family;

voltwire_core::flag_word! {
    /// `FAULT_STATUS` (0x0040), the same on BIC and NPB.
    pub struct FaultStatus(u16) {
        /// Fan failure.
        0 => "fan_fail",
        /// Over-temperature protection (OTP).
        1 => "over_temperature",
        /// DC over-voltage protection (OVP).
        2 => "dc_over_voltage",
        /// DC over-current / overload protection (OLP).
        3 => "dc_over_current",
        /// Short circuit.
        4 => "short_circuit",
        /// AC input failure.
        5 => "ac_fail",
        /// Output off (a state, not a fault).
        6 => "output_off",
        /// Internal high temperature.
        7 => "high_temperature",
        /// HV over-voltage.
        8 => "hv_over_voltage",
    }
}

impl FaultStatus {
    /// Whether any fault bit (0-5, 7, 8) is set; bit 6 (output off) is a state, not a fault.
    pub const fn any_fault(self) -> bool {
        self.0 & 0x01BF != 0
    }
}

/// `SYSTEM_STATUS` (0x00C1). Bits 1 and 5 have opposite polarity on BIC and NPB, so the
/// names depend on the [`Family`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SystemStatus(pub u16);

impl SystemStatus {
    const BIC: &'static [(u8, &'static str)] = &[
        (0, "master"),
        (1, "dc_ok"),
        (2, "pfc_ok"),
        (4, "active_dummy_load"),
        (5, "initialized"),
        (6, "eeprom_error"),
    ];
    const NPB: &'static [(u8, &'static str)] = &[
        (0, "master"),
        (1, "dc_output_low"),
        (2, "pfc_ok"),
        (4, "active_dummy_load"),
        (5, "initializing"),
        (6, "eeprom_error"),
    ];

    /// Names of the set bits, with the family's polarity (BIC bit 1 `dc_ok`, bit 5
    /// `initialized`; NPB bit 1 `dc_output_low`, bit 5 `initializing`).
    pub fn flags(self, family: Family) -> impl Iterator<Item = &'static str> {
        let table = match family {
            Family::Bic2200 => Self::BIC,
            Family::Npb => Self::NPB,
        };
        FlagNames::new(u64::from(self.0), table)
    }

    /// Whether the DC output is normal, whatever the family's polarity.
    pub const fn dc_ok(self, family: Family) -> bool {
        let bit = self.0 & 0x02 != 0;
        match family {
            Family::Bic2200 => bit,
            Family::Npb => !bit,
        }
    }

    /// Whether the unit is still initialising, whatever the family's polarity.
    pub const fn initializing(self, family: Family) -> bool {
        let bit = self.0 & 0x20 != 0;
        match family {
            Family::Bic2200 => !bit,
            Family::Npb => bit,
        }
    }

    /// EEPROM access error (bit 6).
    pub const fn eeprom_error(self) -> bool {
        self.0 & 0x40 != 0
    }
}

/// Power-up state in `SYSTEM_CONFIG` bits 1-2.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationInit {
    /// `00`: output off at power-up.
    Off,
    /// `01`: output on at power-up.
    On,
    /// `10`: the state before power-down.
    LastState,
    /// `11`: not documented.
    Reserved,
}

/// When set points go to EEPROM, `SYSTEM_CONFIG` bits 8-9.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EepromConfig {
    /// `00`: immediately.
    Immediate,
    /// `01`: after 1 minute unchanged.
    After1Minute,
    /// `10`: after 10 minutes unchanged.
    After10Minutes,
    /// `11`: not documented.
    Reserved,
}

voltwire_core::flag_word! {
    /// `SYSTEM_CONFIG` (0x00C2); `flags()` names the single-bit options.
    pub struct SystemConfig(u16) {
        /// Bit 0: output controlled over CAN (needed for CAN set points on the BIC).
        0 => "can_control" as CAN_CONTROL,
        /// Bit 10: do not write parameters to EEPROM (firmware from about 2024).
        10 => "eeprom_write_disabled" as EEPROM_WRITE_DISABLE,
    }
}

impl SystemConfig {
    /// CAN control (bit 0).
    pub const fn can_control(self) -> bool {
        self.0 & Self::CAN_CONTROL != 0
    }

    /// Power-up state (bits 1-2).
    pub const fn operation_init(self) -> OperationInit {
        match (self.0 >> 1) & 0b11 {
            0 => OperationInit::Off,
            1 => OperationInit::On,
            2 => OperationInit::LastState,
            _ => OperationInit::Reserved,
        }
    }

    /// EEPROM write timing (bits 8-9).
    pub const fn eeprom_config(self) -> EepromConfig {
        match (self.0 >> 8) & 0b11 {
            0 => EepromConfig::Immediate,
            1 => EepromConfig::After1Minute,
            2 => EepromConfig::After10Minutes,
            _ => EepromConfig::Reserved,
        }
    }

    /// EEPROM writes disabled (bit 10).
    pub const fn eeprom_write_disabled(self) -> bool {
        self.0 & Self::EEPROM_WRITE_DISABLE != 0
    }

    /// This configuration with bit 10 set or cleared.
    #[must_use]
    pub const fn with_eeprom_write_disabled(self, on: bool) -> Self {
        if on {
            Self(self.0 | Self::EEPROM_WRITE_DISABLE)
        } else {
            Self(self.0 & !Self::EEPROM_WRITE_DISABLE)
        }
    }

    /// This configuration with bit 0 set or cleared.
    #[must_use]
    pub const fn with_can_control(self, on: bool) -> Self {
        if on {
            Self(self.0 | Self::CAN_CONTROL)
        } else {
            Self(self.0 & !Self::CAN_CONTROL)
        }
    }
}

impl OperationInit {
    /// A short `snake_case` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::On => "on",
            Self::LastState => "last_state",
            Self::Reserved => "reserved",
        }
    }
}

impl EepromConfig {
    /// A short `snake_case` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::After1Minute => "after_1_min",
            Self::After10Minutes => "after_10_min",
            Self::Reserved => "reserved",
        }
    }
}

voltwire_core::flag_word! {
    /// `CURVE_CONFIG` (0x00B4, NPB); `flags()` names the single-bit options.
    pub struct CurveConfig(u16) {
        /// Bit 6: three-stage charging.
        6 => "three_stage",
        /// Bit 7: charger (curve) mode; 0 = power-supply mode.
        7 => "charger_mode" as CHARGER_MODE,
        /// Bit 8: constant-current timeout enabled.
        8 => "cc_timeout_enable",
        /// Bit 9: constant-voltage timeout enabled.
        9 => "cv_timeout_enable",
        /// Bit 10: float timeout enabled.
        10 => "fv_timeout_enable",
        /// Bit 11: restart enabled.
        11 => "restart_enable",
    }
}

impl CurveConfig {
    /// Curve selection (bits 0-1): 0 custom, 1-3 presets.
    pub const fn curve(self) -> u8 {
        (self.0 & 0b11) as u8
    }

    /// Temperature compensation (bits 2-3): 0 off, 1 -3, 2 -4, 3 -5 mV/°C/cell.
    pub const fn temperature_compensation(self) -> u8 {
        ((self.0 >> 2) & 0b11) as u8
    }

    /// Charger (curve) mode rather than power-supply mode (bit 7).
    pub const fn charger_mode(self) -> bool {
        self.0 & Self::CHARGER_MODE != 0
    }
}

voltwire_core::flag_word! {
    /// `CHG_STATUS` (0x00B8, NPB).
    pub struct ChargeStatus(u16) {
        /// Fully charged.
        0 => "fully_charged",
        /// Constant-current stage.
        1 => "constant_current",
        /// Constant-voltage stage.
        2 => "constant_voltage",
        /// Float stage.
        3 => "float",
        /// Wake-up not finished.
        6 => "wakeup_not_finished",
        /// Temperature compensation short-circuited.
        10 => "temperature_compensation_short",
        /// No battery detected.
        11 => "battery_not_detected",
        /// Constant-current stage timed out.
        13 => "cc_timeout",
        /// Constant-voltage stage timed out.
        14 => "cv_timeout",
        /// Float stage timed out.
        15 => "fv_timeout",
    }
}

/// One factor of `SCALING_FACTOR`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Factor {
    /// Code 0: the reading is not supported.
    NotSupported,
    /// Codes 4-9: the reading's unit is `10^exponent` (4 = 0.001 ... 9 = 100).
    Power10(i8),
    /// Any other code.
    Unknown(u8),
}

impl Factor {
    /// From a nibble.
    #[allow(clippy::cast_possible_wrap, reason = "code is 4..=9 here")]
    pub const fn from_code(code: u8) -> Self {
        match code {
            0 => Self::NotSupported,
            4..=9 => Self::Power10(code as i8 - 7),
            c => Self::Unknown(c),
        }
    }
}

/// `SCALING_FACTOR` (0x00C0): nibble-coded factors, read as a little-endian integer
/// (2 bytes in `OpenDTU`'s reading, 6 in the others).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScalingFactor {
    /// The value bytes as a little-endian integer.
    pub raw: u64,
    /// Number of value bytes on the wire: 2 or 6.
    pub len: u8,
}

impl ScalingFactor {
    fn nibble(self, shift: u32) -> Factor {
        Factor::from_code(((self.raw >> shift) & 0xF) as u8)
    }

    /// Factor of `READ_VOUT` (bits 0-3).
    pub fn vout(self) -> Factor {
        self.nibble(0)
    }

    /// Factor of `READ_IOUT` (bits 4-7).
    pub fn iout(self) -> Factor {
        self.nibble(4)
    }

    /// Factor of `READ_VIN` (bits 8-11).
    pub fn vin(self) -> Factor {
        self.nibble(8)
    }

    /// Factor of `READ_TEMPERATURE_1` (bits 16-19).
    pub fn temperature(self) -> Factor {
        self.nibble(16)
    }

    /// Factor of the input current (bits 24-27).
    pub fn iin(self) -> Factor {
        self.nibble(24)
    }
}
