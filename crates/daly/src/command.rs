//! Command codes (data IDs).

/// A command code (frame byte 2). Any value is kept; the known ones have names.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Command(pub u8);

impl Command {
    /// 0x90: pack voltage, current, SOC.
    pub const PACK_STATUS: Self = Self(0x90);
    /// 0x91: highest and lowest cell voltage.
    pub const CELL_VOLTAGE_RANGE: Self = Self(0x91);
    /// 0x92: highest and lowest temperature.
    pub const TEMPERATURE_RANGE: Self = Self(0x92);
    /// 0x93: charge/discharge state, MOSFETs, remaining capacity.
    pub const MOSFET_STATUS: Self = Self(0x93);
    /// 0x94: status information 1 (cell and sensor counts, cycles, DIO).
    pub const STATUS_INFO: Self = Self(0x94);
    /// 0x95: cell voltages, 3 per frame.
    pub const CELL_VOLTAGES: Self = Self(0x95);
    /// 0x96: temperatures, 7 per frame.
    pub const TEMPERATURES: Self = Self(0x96);
    /// 0x97: cell balance state.
    pub const BALANCE_STATE: Self = Self(0x97);
    /// 0x98: failure codes.
    pub const FAILURES: Self = Self(0x98);
    /// 0x50: rated capacity and nominal cell voltage.
    pub const RATED_PARAMETERS: Self = Self(0x50);
    /// 0x53: battery type and production date.
    pub const BATTERY_INFO: Self = Self(0x53);
    /// 0x57: the user's "battery code" string (5 frames).
    pub const BATTERY_CODE: Self = Self(0x57);
    /// 0x62: software version string.
    pub const SOFTWARE_VERSION: Self = Self(0x62);
    /// 0x63: hardware version string.
    pub const HARDWARE_VERSION: Self = Self(0x63);
    /// 0x21: set SOC (and the BMS clock).
    pub const SET_SOC: Self = Self(0x21);
    /// 0xD9: switch the discharge MOSFET.
    pub const DISCHARGE_MOSFET: Self = Self(0xD9);
    /// 0xDA: switch the charge MOSFET.
    pub const CHARGE_MOSFET: Self = Self(0xDA);
    /// 0x00: reset the BMS.
    pub const RESET: Self = Self(0x00);

    /// Every command this crate gives a meaning.
    pub const KNOWN: [Self; 18] = [
        Self::PACK_STATUS,
        Self::CELL_VOLTAGE_RANGE,
        Self::TEMPERATURE_RANGE,
        Self::MOSFET_STATUS,
        Self::STATUS_INFO,
        Self::CELL_VOLTAGES,
        Self::TEMPERATURES,
        Self::BALANCE_STATE,
        Self::FAILURES,
        Self::RATED_PARAMETERS,
        Self::BATTERY_INFO,
        Self::BATTERY_CODE,
        Self::SOFTWARE_VERSION,
        Self::HARDWARE_VERSION,
        Self::SET_SOC,
        Self::DISCHARGE_MOSFET,
        Self::CHARGE_MOSFET,
        Self::RESET,
    ];

    /// The `snake_case` name of a known command.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x90 => "pack_status",
            0x91 => "cell_voltage_range",
            0x92 => "temperature_range",
            0x93 => "mosfet_status",
            0x94 => "status_info",
            0x95 => "cell_voltages",
            0x96 => "temperatures",
            0x97 => "balance_state",
            0x98 => "failures",
            0x50 => "rated_parameters",
            0x53 => "battery_info",
            0x57 => "battery_code",
            0x62 => "software_version",
            0x63 => "hardware_version",
            0x21 => "set_soc",
            0xD9 => "discharge_mosfet",
            0xDA => "charge_mosfet",
            0x00 => "reset",
            _ => return None,
        })
    }

    /// Whether the command only reads (its request carries no payload).
    pub const fn is_read(self) -> bool {
        matches!(self.0, 0x90..=0x98 | 0x50 | 0x53 | 0x57 | 0x62 | 0x63)
    }
}

voltwire_core::raw_from!(Command(u8));
