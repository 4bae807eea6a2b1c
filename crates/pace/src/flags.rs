//! The 0x44 state bytes as named flag words (PACEPDF §4.3, NK25; [`voltwire_core::FlagWord`]):
//! each bit stated once with its name and mask; unnamed bits are reserved. Where NK
//! reinterprets a bit from observation the PDF meaning is kept and NK's noted.

/// Warning byte values (per cell, temperature, current, voltage): the shared
/// [`voltwire_asciihex::block::state`] values, and 0x80–0xEF user defined.
pub mod warning {
    pub use voltwire_asciihex::block::state::{ABOVE, BELOW, NORMAL, OTHER};

    /// A short name of a warning value (0x80–0xEF are user defined).
    pub const fn name(v: u8) -> Option<&'static str> {
        match v {
            0x80..=0xEF => Some("user_defined"),
            _ => voltwire_asciihex::block::state::name(v),
        }
    }
}

voltwire_core::flag_word! {
    /// Protect state 1. Wire: u8.
    pub struct Protect1(u8) {
        /// Bit 0.
        0 => "cell_over_voltage" as CELL_OVER_VOLTAGE,
        /// Bit 1.
        1 => "cell_under_voltage" as CELL_UNDER_VOLTAGE,
        /// Bit 2.
        2 => "pack_over_voltage" as PACK_OVER_VOLTAGE,
        /// Bit 3.
        3 => "pack_under_voltage" as PACK_UNDER_VOLTAGE,
        /// Bit 4.
        4 => "charge_over_current" as CHARGE_OVER_CURRENT,
        /// Bit 5.
        5 => "discharge_over_current" as DISCHARGE_OVER_CURRENT,
        /// Bit 6.
        6 => "short_circuit" as SHORT_CIRCUIT,
    }
}

voltwire_core::flag_word! {
    /// Protect state 2. Wire: u8.
    pub struct Protect2(u8) {
        /// Bit 0.
        0 => "charge_over_temperature" as CHARGE_OVER_TEMPERATURE,
        /// Bit 1.
        1 => "discharge_over_temperature" as DISCHARGE_OVER_TEMPERATURE,
        /// Bit 2.
        2 => "charge_under_temperature" as CHARGE_UNDER_TEMPERATURE,
        /// Bit 3.
        3 => "discharge_under_temperature" as DISCHARGE_UNDER_TEMPERATURE,
        /// Bit 4.
        4 => "mosfet_over_temperature" as MOSFET_OVER_TEMPERATURE,
        /// Bit 5.
        5 => "environment_over_temperature" as ENVIRONMENT_OVER_TEMPERATURE,
        /// Bit 6.
        6 => "environment_under_temperature" as ENVIRONMENT_UNDER_TEMPERATURE,
        /// Bit 7.
        7 => "fully_charged" as FULLY_CHARGED,
    }
}

voltwire_core::flag_word! {
    /// Instruction/system state (NK: bit 0 = limiter *off*, bit 3 = discharging, bit 5 = charging). Wire: u8.
    pub struct System(u8) {
        /// Bit 0.
        0 => "current_limit_on" as CURRENT_LIMIT_ON,
        /// Bit 1.
        1 => "charge_fet_on" as CHARGE_FET_ON,
        /// Bit 2.
        2 => "discharge_fet_on" as DISCHARGE_FET_ON,
        /// Bit 3.
        3 => "pack_indicate" as PACK_INDICATE,
        /// Bit 4.
        4 => "reverse" as REVERSE,
        /// Bit 5.
        5 => "ac_in" as AC_IN,
        /// Bit 7.
        7 => "heart" as HEART,
    }
}

voltwire_core::flag_word! {
    /// Control state (NK: bit 1 = charge FET turned off, bit 2 = discharge FET turned off). Wire: u8.
    pub struct Control(u8) {
        /// Bit 0.
        0 => "buzzer_enabled" as BUZZER_ENABLED,
        /// Bit 3.
        3 => "limit_gear_low" as LIMIT_GEAR_LOW,
        /// Bit 4.
        4 => "current_limit_disabled" as CURRENT_LIMIT_DISABLED,
        /// Bit 5.
        5 => "led_warn_disabled" as LED_WARN_DISABLED,
    }
}

voltwire_core::flag_word! {
    /// Fault state. Wire: u8.
    pub struct Fault(u8) {
        /// Bit 0.
        0 => "charge_mosfet" as CHARGE_MOSFET,
        /// Bit 1.
        1 => "discharge_mosfet" as DISCHARGE_MOSFET,
        /// Bit 2.
        2 => "ntc" as NTC,
        /// Bit 4.
        4 => "cell" as CELL,
        /// Bit 5.
        5 => "sampling" as SAMPLING,
    }
}

voltwire_core::flag_word! {
    /// Warn state 1. Wire: u8.
    pub struct Warn1(u8) {
        /// Bit 0.
        0 => "cell_high_voltage" as CELL_HIGH_VOLTAGE,
        /// Bit 1.
        1 => "cell_low_voltage" as CELL_LOW_VOLTAGE,
        /// Bit 2.
        2 => "pack_high_voltage" as PACK_HIGH_VOLTAGE,
        /// Bit 3.
        3 => "pack_low_voltage" as PACK_LOW_VOLTAGE,
        /// Bit 4.
        4 => "charge_current" as CHARGE_CURRENT,
        /// Bit 5.
        5 => "discharge_current" as DISCHARGE_CURRENT,
    }
}

voltwire_core::flag_word! {
    /// Warn state 2. Wire: u8.
    pub struct Warn2(u8) {
        /// Bit 0.
        0 => "charge_high_temperature" as CHARGE_HIGH_TEMPERATURE,
        /// Bit 1.
        1 => "discharge_high_temperature" as DISCHARGE_HIGH_TEMPERATURE,
        /// Bit 2.
        2 => "charge_low_temperature" as CHARGE_LOW_TEMPERATURE,
        /// Bit 3.
        3 => "discharge_low_temperature" as DISCHARGE_LOW_TEMPERATURE,
        /// Bit 4.
        4 => "environment_high_temperature" as ENVIRONMENT_HIGH_TEMPERATURE,
        /// Bit 5.
        5 => "environment_low_temperature" as ENVIRONMENT_LOW_TEMPERATURE,
        /// Bit 6.
        6 => "mosfet_high_temperature" as MOSFET_HIGH_TEMPERATURE,
        /// Bit 7.
        7 => "low_power" as LOW_POWER,
    }
}

voltwire_core::raw_from!(
    Protect1(u8),
    Protect2(u8),
    System(u8),
    Control(u8),
    Fault(u8),
    Warn1(u8),
    Warn2(u8),
);

/// Codes of the 0x99 switch command (PACEPDF, NK25).
pub mod switch {
    /// LED warning off.
    pub const LED_WARN_OFF: u8 = 0x06;
    /// LED warning on.
    pub const LED_WARN_ON: u8 = 0x07;
    /// Current limiter gear high.
    pub const LIMITER_GEAR_HIGH: u8 = 0x08;
    /// Current limiter gear low.
    pub const LIMITER_GEAR_LOW: u8 = 0x09;
    /// Current limiter off.
    pub const LIMITER_OFF: u8 = 0x0A;
    /// Current limiter on.
    pub const LIMITER_ON: u8 = 0x0B;
    /// Buzzer off.
    pub const BUZZER_OFF: u8 = 0x0C;
    /// Buzzer on.
    pub const BUZZER_ON: u8 = 0x0D;
}
