//! Pylontech RS485 (protocol version 0x20) in both roles.
//!
//! The envelope is [`voltwire_asciihex`]. A *master* (an inverter) builds [`Request`]s and
//! reads [`Response`]s with [`Response::from_frame`] (which needs the command it asked for);
//! a *slave* (a battery, or a bridge such as pace2pylon pretending to be one) reads
//! [`Request`]s with [`Request::from_frame`] and answers with [`Response::ok`] and
//! [`Response::to_frame`]. Responses are byte-exact with real Pylontech captures.
//!
//! Units (see `docs/protocols/pylontech-rs485.md`): currents of 0x42/0x47/0x92/0x63 are 100 mA steps, the
//! 0x61 total current 10 mA steps; temperatures are 0.1 K with 0 °C = [`ZERO_CELSIUS`]
//! (2731). The sign of the 0x63/0x92 discharge limit is kept as sent; builders take a
//! [`DischargeSign`].
//!
//! Decoding INFO is total: a checksum-valid frame whose INFO does not fit the command's
//! layout becomes [`ResponseBody::Undecoded`] (kept whole, so it re-emits byte-exact).

mod analog;
mod request;
mod response;
mod system;

pub use analog::{AlarmReply, AnalogReply, ModuleAlarm, ModuleAnalog, Pylontech};
pub use request::{Request, RequestBody, Requests, Target};
pub use response::{Response, ResponseBody};
pub use system::{
    ChargeManagement, DischargeSign, ManufacturerInfo, SerialNumber, SystemAlarm, SystemAnalog,
    SystemInfo, SystemParameters,
};
pub use voltwire_asciihex::message::Body;
pub use voltwire_asciihex::{Error, Frame, Info, Rtn};

/// Protocol version 0x20 (VER).
pub const VER: u8 = 0x20;
/// Device type of a `LiFePO4` battery (CID1).
pub const CID1_BATTERY: u8 = 0x46;
/// The master battery's address; slaves follow (3, 4, …).
pub const MASTER_ADDRESS: u8 = 0x02;
/// 0 °C in 0.1 K, as Pylontech counts (PYL33: 25.5 °C = 2986).
pub const ZERO_CELSIUS: i32 = 2731;
/// Most modules an all-modules (0xFF) reply is decoded into.
pub const MAX_MODULES: usize = voltwire_asciihex::block::MAX_MODULES;
/// Most cells per module.
pub const MAX_CELLS: usize = voltwire_asciihex::block::MAX_CELLS;
/// Most temperatures per module.
pub const MAX_TEMPERATURES: usize = voltwire_asciihex::block::MAX_TEMPERATURES;
/// Current step of 0x42, 0x47, 0x92 and 0x63, in mA.
pub const CURRENT_STEP_MA: i16 = 100;
/// Current step of the 0x61 total current, in mA.
pub const SYSTEM_CURRENT_STEP_MA: i16 = 10;

/// Command codes (CID2 of requests).
pub mod command {
    /// Analog values of one module or of all (0xFF).
    pub const ANALOG: u8 = 0x42;
    /// Alarm information.
    pub const ALARM: u8 = 0x44;
    /// System parameters (limits).
    pub const SYSTEM_PARAMETERS: u8 = 0x47;
    /// Protocol version.
    pub const PROTOCOL_VERSION: u8 = 0x4F;
    /// Manufacturer information.
    pub const MANUFACTURER: u8 = 0x51;
    /// System basic information.
    pub const SYSTEM_INFO: u8 = 0x60;
    /// System analog data.
    pub const SYSTEM_ANALOG: u8 = 0x61;
    /// System alarm and protection.
    pub const SYSTEM_ALARM: u8 = 0x62;
    /// System charge/discharge management.
    pub const SYSTEM_MANAGEMENT: u8 = 0x63;
    /// Charge/discharge management of one module.
    pub const MANAGEMENT: u8 = 0x92;
    /// Serial number of one module.
    pub const SERIAL: u8 = 0x93;

    /// A short `snake_case` name of a command code.
    pub const fn name(code: u8) -> Option<&'static str> {
        Some(match code {
            ANALOG => "analog",
            ALARM => "alarm",
            SYSTEM_PARAMETERS => "system_parameters",
            PROTOCOL_VERSION => "protocol_version",
            MANUFACTURER => "manufacturer",
            SYSTEM_INFO => "system_info",
            SYSTEM_ANALOG => "system_analog",
            SYSTEM_ALARM => "system_alarm",
            SYSTEM_MANAGEMENT => "system_management",
            MANAGEMENT => "management",
            SERIAL => "serial",
            _ => return None,
        })
    }
}

/// Alarm state byte values of 0x44 (per cell, temperature, current and voltage): the shared
/// [`voltwire_asciihex::block::state`].
pub use voltwire_asciihex::block::state as alarm_state;

/// Flag names of the 0x44 status bytes, bit 0 first (`None` = reserved), PYL33 §3.5.
pub mod status_flags {
    /// Status 1.
    pub const STATUS1: [Option<&str>; 8] = [
        Some("module_over_voltage"),
        Some("cell_under_voltage"),
        Some("charge_over_current"),
        None,
        Some("discharge_over_current"),
        Some("discharge_over_temperature"),
        Some("charge_over_temperature"),
        Some("module_under_voltage"),
    ];
    /// Status 2.
    pub const STATUS2: [Option<&str>; 8] = [
        Some("pre_charge_fet"),
        Some("charge_fet_on"),
        Some("discharge_fet_on"),
        Some("using_battery_power"),
        None,
        None,
        None,
        None,
    ];
    /// Status 3.
    pub const STATUS3: [Option<&str>; 8] = [
        Some("buzzer"),
        None,
        None,
        Some("fully_charged"),
        None,
        Some("heater"),
        Some("effective_discharge_current"),
        Some("effective_charge_current"),
    ];
    /// Charge/discharge management status (0x92/0x63).
    pub const MANAGEMENT: [Option<&str>; 8] = [
        None,
        None,
        None,
        Some("full_charge_request"),
        Some("charge_immediately_2"),
        Some("charge_immediately_1"),
        Some("discharge_enable"),
        Some("charge_enable"),
    ];
}
