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
#[cfg(feature = "serde")]
mod serde_impl;
mod system;

pub use analog::{AlarmReply, AnalogReply, ModuleAlarm, ModuleAnalog, Pylontech};
pub use request::{
    MAX_REQUEST_INFO, Request, RequestBody, Requests, SizedRequest, SizedRequests, Target,
};
pub use response::{Response, ResponseBody, SizedResponse};
pub use status_flags::ManagementStatus;
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
/// Most modules an all-modules (0xFF) reply is decoded into, cells per module and
/// temperatures per module: the shared block limits.
pub use voltwire_asciihex::block::{MAX_CELLS, MAX_MODULES, MAX_TEMPERATURES};
/// Current step of 0x42, 0x47, 0x92 and 0x63, in mA.
pub const CURRENT_STEP_MA: i16 = 100;
/// Current step of the 0x61 total current, in mA.
pub const SYSTEM_CURRENT_STEP_MA: i16 = 10;

/// Command codes (CID2 of requests).
pub mod command {
    voltwire_asciihex::command_table! {
        /// Analog values of one module or of all (0xFF).
        ANALOG = 0x42 => "analog",
        /// Alarm information.
        ALARM = 0x44 => "alarm",
        /// System parameters (limits).
        SYSTEM_PARAMETERS = 0x47 => "system_parameters",
        /// Protocol version.
        PROTOCOL_VERSION = 0x4F => "protocol_version",
        /// Manufacturer information.
        MANUFACTURER = 0x51 => "manufacturer",
        /// System basic information.
        SYSTEM_INFO = 0x60 => "system_info",
        /// System analog data.
        SYSTEM_ANALOG = 0x61 => "system_analog",
        /// System alarm and protection.
        SYSTEM_ALARM = 0x62 => "system_alarm",
        /// System charge/discharge management.
        SYSTEM_MANAGEMENT = 0x63 => "system_management",
        /// Charge/discharge management of one module.
        MANAGEMENT = 0x92 => "management",
        /// Serial number of one module.
        SERIAL = 0x93 => "serial",
    }
}

/// Alarm state byte values of 0x44 (per cell, temperature, current and voltage): the shared
/// [`voltwire_asciihex::block::state`].
pub use voltwire_asciihex::block::state as alarm_state;

/// The 0x44 status bytes and the 0x92/0x63 management status as named flag words (PYL33
/// §3.5; [`voltwire_core::FlagWord`]): each bit stated once with its name and mask; unnamed
/// bits are reserved.
pub mod status_flags {
    voltwire_core::flag_word! {
        /// Status 1 of a 0x44 module. Wire: u8.
        pub struct Status1(u8) {
            /// Bit 0.
            0 => "module_over_voltage" as MODULE_OVER_VOLTAGE,
            /// Bit 1.
            1 => "cell_under_voltage" as CELL_UNDER_VOLTAGE,
            /// Bit 2.
            2 => "charge_over_current" as CHARGE_OVER_CURRENT,
            /// Bit 4.
            4 => "discharge_over_current" as DISCHARGE_OVER_CURRENT,
            /// Bit 5.
            5 => "discharge_over_temperature" as DISCHARGE_OVER_TEMPERATURE,
            /// Bit 6.
            6 => "charge_over_temperature" as CHARGE_OVER_TEMPERATURE,
            /// Bit 7.
            7 => "module_under_voltage" as MODULE_UNDER_VOLTAGE,
        }
    }

    voltwire_core::flag_word! {
        /// Status 2 of a 0x44 module. Wire: u8.
        pub struct Status2(u8) {
            /// Bit 0.
            0 => "pre_charge_fet" as PRE_CHARGE_FET,
            /// Bit 1.
            1 => "charge_fet_on" as CHARGE_FET_ON,
            /// Bit 2.
            2 => "discharge_fet_on" as DISCHARGE_FET_ON,
            /// Bit 3.
            3 => "using_battery_power" as USING_BATTERY_POWER,
        }
    }

    voltwire_core::flag_word! {
        /// Status 3 of a 0x44 module. Wire: u8.
        pub struct Status3(u8) {
            /// Bit 0.
            0 => "buzzer" as BUZZER,
            /// Bit 3.
            3 => "fully_charged" as FULLY_CHARGED,
            /// Bit 5.
            5 => "heater" as HEATER,
            /// Bit 6.
            6 => "effective_discharge_current" as EFFECTIVE_DISCHARGE_CURRENT,
            /// Bit 7.
            7 => "effective_charge_current" as EFFECTIVE_CHARGE_CURRENT,
        }
    }

    voltwire_core::flag_word! {
        /// Charge/discharge management status (0x92/0x63). Wire: u8.
        pub struct ManagementStatus(u8) {
            /// Bit 3.
            3 => "full_charge_request" as FULL_CHARGE_REQUEST,
            /// Bit 4.
            4 => "charge_immediately_2" as CHARGE_IMMEDIATELY_2,
            /// Bit 5.
            5 => "charge_immediately_1" as CHARGE_IMMEDIATELY_1,
            /// Bit 6.
            6 => "discharge_enable" as DISCHARGE_ENABLE,
            /// Bit 7.
            7 => "charge_enable" as CHARGE_ENABLE,
        }
    }

    voltwire_core::raw_from!(Status1(u8), Status2(u8), Status3(u8), ManagementStatus(u8));
}
