#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on the `std` feature of `voltwire-core` and `voltwire-asciihex`. It adds no API: the error types implement `core::error::Error` in every configuration.
//! - `tokio-codec`: `PaceRequestCodec`, `voltwire_core::codec::StreamCodec` aliases (a `tokio_util::codec` `Decoder`/`Encoder` for `FramedRead`/`FramedWrite`); implies `std`.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//!
//! # Memory (`size_of` on a 32-bit MCU target, from `bench/size.sh`)
//!
//! | type | bytes |
//! |---|---|
//! | `ScanDecoder<Requests, MAX_FRAME_LEN>` (device side, any frame) | 4152 |
//! | `voltwire_core::ScanDecoder<Requests, 256>` (requests are under 100 bytes) | 296 |
//! | `Request` | 2060 |
//! | `Response` (up to `MAX_PACKS` packs) | 4008 |
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

mod analog;
mod config;
pub mod flags;
mod request;
mod response;

pub use analog::{AnalogReply, Pace, PackAnalog, PackState, PackStatus, StatusReply};
pub use config::{
    BalanceConfig, Capacity, CurrentProtection, DateTime, FullChargeConfig, ManufacturerInfo,
    SystemParameters, VoltageKind, VoltageProtection,
};
pub use request::{ConfigRead, MosfetSwitch, Request, RequestBody, Requests, Target};
pub use response::{Response, ResponseBody};
pub use voltwire_asciihex::message::Body;
pub use voltwire_asciihex::{Error, Frame, Info, Rtn};

/// Protocol version 0x25 (VER).
pub const VER: u8 = 0x25;
/// Device type of a `LiFePO4` pack (CID1).
pub const CID1_LIFEPO4: u8 = 0x46;
/// 0 °C in 0.1 K as Pace counts (PACEPDF: 25.5 °C = 2985; NK; see `docs/protocols/pace.md`).
pub const ZERO_CELSIUS: i32 = 2730;
/// Current step of the 0x42 pack current, in mA.
pub const CURRENT_STEP_MA: i16 = 10;
/// Capacity step of 0x42 and 0xA6, in mAh.
pub const CAPACITY_STEP_MAH: u16 = 10;
/// Most packs an all-packs (0xFF) reply is decoded into.
pub const MAX_PACKS: usize = voltwire_asciihex::block::MAX_MODULES;
/// Most cells per pack.
pub const MAX_CELLS: usize = voltwire_asciihex::block::MAX_CELLS;
/// Most temperatures per pack.
pub const MAX_TEMPERATURES: usize = voltwire_asciihex::block::MAX_TEMPERATURES;

/// `tokio_util` codec yielding `Result<Request, Error>` (the BMS side of a link).
#[cfg(feature = "tokio-codec")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-codec")))]
pub type PaceRequestCodec = voltwire_core::codec::StreamCodec<
    voltwire_core::ScanDecoder<Requests, { voltwire_asciihex::MAX_FRAME_LEN }>,
>;

/// Command codes (CID2 of requests).
pub mod command {
    /// Analog values of one pack or all (0xFF).
    pub const ANALOG: u8 = 0x42;
    /// Warning/status of one pack or all.
    pub const STATUS: u8 = 0x44;
    /// System parameters (v20 command; kept for packs that answer it).
    pub const SYSTEM_PARAMETERS: u8 = 0x47;
    /// Protocol version.
    pub const PROTOCOL_VERSION: u8 = 0x4F;
    /// Manufacturer information (v20 command).
    pub const MANUFACTURER: u8 = 0x51;
    /// Number of packs.
    pub const PACK_COUNT: u8 = 0x90;
    /// Switch command (LED, limiter, buzzer; see [`crate::flags::switch`]).
    pub const SWITCH: u8 = 0x99;
    /// Charge MOSFET on/off.
    pub const CHARGE_MOSFET: u8 = 0x9A;
    /// Discharge MOSFET on/off.
    pub const DISCHARGE_MOSFET: u8 = 0x9B;
    /// Shutdown/reboot.
    pub const SHUTDOWN: u8 = 0x9C;
    /// Capacity (remaining, full, design).
    pub const CAPACITY: u8 = 0xA6;
    /// Read the full-charge / low-SOC configuration.
    pub const READ_FULL_CHARGE: u8 = 0xAF;
    /// Write the full-charge / low-SOC configuration.
    pub const WRITE_FULL_CHARGE: u8 = 0xAE;
    /// Read date and time.
    pub const READ_DATE_TIME: u8 = 0xB1;
    /// Write date and time.
    pub const WRITE_DATE_TIME: u8 = 0xB2;
    /// Write the balancing configuration.
    pub const WRITE_BALANCING: u8 = 0xB5;
    /// Read the balancing configuration.
    pub const READ_BALANCING: u8 = 0xB6;
    /// Software/hardware version.
    pub const SOFTWARE_VERSION: u8 = 0xC1;
    /// Product/serial information.
    pub const PRODUCT_INFO: u8 = 0xC2;
    /// Write cell over-voltage configuration.
    pub const WRITE_CELL_OVER_VOLTAGE: u8 = 0xD0;
    /// Read cell over-voltage configuration.
    pub const READ_CELL_OVER_VOLTAGE: u8 = 0xD1;
    /// Write cell under-voltage configuration.
    pub const WRITE_CELL_UNDER_VOLTAGE: u8 = 0xD2;
    /// Read cell under-voltage configuration.
    pub const READ_CELL_UNDER_VOLTAGE: u8 = 0xD3;
    /// Write pack over-voltage configuration.
    pub const WRITE_PACK_OVER_VOLTAGE: u8 = 0xD4;
    /// Read pack over-voltage configuration.
    pub const READ_PACK_OVER_VOLTAGE: u8 = 0xD5;
    /// Write pack under-voltage configuration.
    pub const WRITE_PACK_UNDER_VOLTAGE: u8 = 0xD6;
    /// Read pack under-voltage configuration.
    pub const READ_PACK_UNDER_VOLTAGE: u8 = 0xD7;
    /// Write charge over-current configuration.
    pub const WRITE_CHARGE_OVER_CURRENT: u8 = 0xD8;
    /// Read charge over-current configuration.
    pub const READ_CHARGE_OVER_CURRENT: u8 = 0xD9;
    /// Write discharge over-current (level 1) configuration.
    pub const WRITE_DISCHARGE_OVER_CURRENT: u8 = 0xDA;
    /// Read discharge over-current (level 1) configuration.
    pub const READ_DISCHARGE_OVER_CURRENT: u8 = 0xDB;

    /// A short `snake_case` name of a command code.
    pub const fn name(code: u8) -> Option<&'static str> {
        Some(match code {
            ANALOG => "analog",
            STATUS => "status",
            SYSTEM_PARAMETERS => "system_parameters",
            PROTOCOL_VERSION => "protocol_version",
            MANUFACTURER => "manufacturer",
            PACK_COUNT => "pack_count",
            SWITCH => "switch",
            CHARGE_MOSFET => "charge_mosfet",
            DISCHARGE_MOSFET => "discharge_mosfet",
            SHUTDOWN => "shutdown",
            CAPACITY => "capacity",
            READ_FULL_CHARGE => "read_full_charge",
            WRITE_FULL_CHARGE => "write_full_charge",
            READ_DATE_TIME => "read_date_time",
            WRITE_DATE_TIME => "write_date_time",
            WRITE_BALANCING => "write_balancing",
            READ_BALANCING => "read_balancing",
            SOFTWARE_VERSION => "software_version",
            PRODUCT_INFO => "product_info",
            WRITE_CELL_OVER_VOLTAGE => "write_cell_over_voltage",
            READ_CELL_OVER_VOLTAGE => "read_cell_over_voltage",
            WRITE_CELL_UNDER_VOLTAGE => "write_cell_under_voltage",
            READ_CELL_UNDER_VOLTAGE => "read_cell_under_voltage",
            WRITE_PACK_OVER_VOLTAGE => "write_pack_over_voltage",
            READ_PACK_OVER_VOLTAGE => "read_pack_over_voltage",
            WRITE_PACK_UNDER_VOLTAGE => "write_pack_under_voltage",
            READ_PACK_UNDER_VOLTAGE => "read_pack_under_voltage",
            WRITE_CHARGE_OVER_CURRENT => "write_charge_over_current",
            READ_CHARGE_OVER_CURRENT => "read_charge_over_current",
            WRITE_DISCHARGE_OVER_CURRENT => "write_discharge_over_current",
            READ_DISCHARGE_OVER_CURRENT => "read_discharge_over_current",
            _ => return None,
        })
    }
}
