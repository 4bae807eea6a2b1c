//! Bit names of the 0x44 state bytes (PACEPDF §4.3, NK25), bit 0 first; `None` = reserved.
//! Where NK reinterprets a bit from observation the PDF meaning is kept and NK's noted.

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

/// Protect state 1.
pub const PROTECT_1: [Option<&str>; 8] = [
    Some("cell_over_voltage"),
    Some("cell_under_voltage"),
    Some("pack_over_voltage"),
    Some("pack_under_voltage"),
    Some("charge_over_current"),
    Some("discharge_over_current"),
    Some("short_circuit"),
    None,
];
/// Protect state 2.
pub const PROTECT_2: [Option<&str>; 8] = [
    Some("charge_over_temperature"),
    Some("discharge_over_temperature"),
    Some("charge_under_temperature"),
    Some("discharge_under_temperature"),
    Some("mosfet_over_temperature"),
    Some("environment_over_temperature"),
    Some("environment_under_temperature"),
    Some("fully_charged"),
];
/// Instruction/system state (NK: bit 0 = limiter *off*, bit 3 = discharging, bit 5 = charging).
pub const SYSTEM: [Option<&str>; 8] = [
    Some("current_limit_on"),
    Some("charge_fet_on"),
    Some("discharge_fet_on"),
    Some("pack_indicate"),
    Some("reverse"),
    Some("ac_in"),
    None,
    Some("heart"),
];
/// Control state (NK: bit 1 = charge FET turned off, bit 2 = discharge FET turned off).
pub const CONTROL: [Option<&str>; 8] = [
    Some("buzzer_enabled"),
    None,
    None,
    Some("limit_gear_low"),
    Some("current_limit_disabled"),
    Some("led_warn_disabled"),
    None,
    None,
];
/// Fault state.
pub const FAULT: [Option<&str>; 8] = [
    Some("charge_mosfet"),
    Some("discharge_mosfet"),
    Some("ntc"),
    None,
    Some("cell"),
    Some("sampling"),
    None,
    None,
];
/// Warn state 1.
pub const WARN_1: [Option<&str>; 8] = [
    Some("cell_high_voltage"),
    Some("cell_low_voltage"),
    Some("pack_high_voltage"),
    Some("pack_low_voltage"),
    Some("charge_current"),
    Some("discharge_current"),
    None,
    None,
];
/// Warn state 2.
pub const WARN_2: [Option<&str>; 8] = [
    Some("charge_high_temperature"),
    Some("discharge_high_temperature"),
    Some("charge_low_temperature"),
    Some("discharge_low_temperature"),
    Some("environment_high_temperature"),
    Some("environment_low_temperature"),
    Some("mosfet_high_temperature"),
    Some("low_power"),
];

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

/// Names of the set bits of `raw` per `table`.
pub fn set<'a>(raw: u8, table: &'a [Option<&'a str>; 8]) -> impl Iterator<Item = &'a str> + 'a {
    table
        .iter()
        .enumerate()
        .filter(move |(i, _)| raw & (1 << i) != 0)
        .filter_map(|(_, n)| *n)
}
