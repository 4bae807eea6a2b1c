#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on the `std` feature of `voltwire-core` and `voltwire-asciihex`. It adds no API: the error types implement `core::error::Error` in every configuration.
//! - `tokio-codec`: `PaceRequestCodec`, `voltwire_core::codec::StreamCodec` aliases (a `tokio_util::codec` `Decoder`/`Encoder` for `FramedRead`/`FramedWrite`); implies `std`.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//! - `serde`: `serde::Serialize` in the JSON contract's shapes (`docs/json.md`, `voltwire_asciihex::json`): `Request::json` and `Response::json` (any `SizedResponse`) are `{"adr", ["rtn",] "command": {"code", "name"}, ...the body's fields}` with quantities as SI numbers (`voltage_v`, `full_capacity_ah`), state bytes as `{"raw", "flags"}`; `json_type` names the message (`analog`, `status`, …, `request`). Also `Target`, `MosfetSwitch`, `DateTime`. Serialize only; `no_std`, no alloc.
//!
//! # Memory (`size_of` on a 32-bit MCU target, from `bench/size.sh`)
//!
//! | type | bytes |
//! |---|---|
//! | `ScanDecoder<Requests, MAX_FRAME_LEN>` (device side, any frame) | 4152 |
//! | `voltwire_core::ScanDecoder<Requests, 256>` (requests are under 100 bytes) | 296 |
//! | `voltwire_core::ScanDecoder<SizedRequests<16>, 256>` (yields `SizedRequest<16>`) | 296 |
//! | `Request` (any INFO) | 2060 |
//! | `SizedRequest<16>` (`MAX_REQUEST_INFO`: every known request; INFO up to 16 bytes) | 28 |
//! | `Response` (up to `MAX_PACKS` packs, any INFO) | 4008 |
//! | `SizedResponse<1, 128>` (one pack, INFO up to 128 bytes; with `Frame<128>`, 136) | 288 |
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
#[cfg(feature = "serde")]
mod serde_impl;

pub use analog::{AnalogReply, Pace, PackAnalog, PackState, PackStatus, StatusReply};
pub use config::{
    BalanceConfig, Capacity, CurrentProtection, DateTime, FullChargeConfig, ManufacturerInfo,
    SystemParameters, VoltageKind, VoltageProtection,
};
pub use request::{
    ConfigRead, MAX_REQUEST_INFO, MosfetSwitch, Request, RequestBody, Requests, SizedRequest,
    SizedRequests, Target,
};
pub use response::{Response, ResponseBody, SizedResponse};
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
pub use voltwire_asciihex::block::MAX_MODULES as MAX_PACKS;
/// Most cells per pack, and temperatures per pack: the shared block limits.
pub use voltwire_asciihex::block::{MAX_CELLS, MAX_TEMPERATURES};

/// `tokio_util` codec yielding `Result<Request, Error>` (the BMS side of a link).
#[cfg(feature = "tokio-codec")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-codec")))]
pub type PaceRequestCodec = voltwire_core::codec::StreamCodec<
    voltwire_core::ScanDecoder<Requests, { voltwire_asciihex::MAX_FRAME_LEN }>,
>;

/// Command codes (CID2 of requests).
pub mod command {
    voltwire_asciihex::command_table! {
        /// Analog values of one pack or all (0xFF).
        ANALOG = 0x42 => "analog",
        /// Warning/status of one pack or all.
        STATUS = 0x44 => "status",
        /// System parameters (v20 command; kept for packs that answer it).
        SYSTEM_PARAMETERS = 0x47 => "system_parameters",
        /// Protocol version.
        PROTOCOL_VERSION = 0x4F => "protocol_version",
        /// Manufacturer information (v20 command).
        MANUFACTURER = 0x51 => "manufacturer",
        /// Number of packs.
        PACK_COUNT = 0x90 => "pack_count",
        /// Switch command (LED, limiter, buzzer; see [`crate::flags::switch`]).
        SWITCH = 0x99 => "switch",
        /// Charge MOSFET on/off.
        CHARGE_MOSFET = 0x9A => "charge_mosfet",
        /// Discharge MOSFET on/off.
        DISCHARGE_MOSFET = 0x9B => "discharge_mosfet",
        /// Shutdown/reboot.
        SHUTDOWN = 0x9C => "shutdown",
        /// Capacity (remaining, full, design).
        CAPACITY = 0xA6 => "capacity",
        /// Read the full-charge / low-SOC configuration.
        READ_FULL_CHARGE = 0xAF => "read_full_charge",
        /// Write the full-charge / low-SOC configuration.
        WRITE_FULL_CHARGE = 0xAE => "write_full_charge",
        /// Read date and time.
        READ_DATE_TIME = 0xB1 => "read_date_time",
        /// Write date and time.
        WRITE_DATE_TIME = 0xB2 => "write_date_time",
        /// Write the balancing configuration.
        WRITE_BALANCING = 0xB5 => "write_balancing",
        /// Read the balancing configuration.
        READ_BALANCING = 0xB6 => "read_balancing",
        /// Software/hardware version.
        SOFTWARE_VERSION = 0xC1 => "software_version",
        /// Product/serial information.
        PRODUCT_INFO = 0xC2 => "product_info",
        /// Write cell over-voltage configuration.
        WRITE_CELL_OVER_VOLTAGE = 0xD0 => "write_cell_over_voltage",
        /// Read cell over-voltage configuration.
        READ_CELL_OVER_VOLTAGE = 0xD1 => "read_cell_over_voltage",
        /// Write cell under-voltage configuration.
        WRITE_CELL_UNDER_VOLTAGE = 0xD2 => "write_cell_under_voltage",
        /// Read cell under-voltage configuration.
        READ_CELL_UNDER_VOLTAGE = 0xD3 => "read_cell_under_voltage",
        /// Write pack over-voltage configuration.
        WRITE_PACK_OVER_VOLTAGE = 0xD4 => "write_pack_over_voltage",
        /// Read pack over-voltage configuration.
        READ_PACK_OVER_VOLTAGE = 0xD5 => "read_pack_over_voltage",
        /// Write pack under-voltage configuration.
        WRITE_PACK_UNDER_VOLTAGE = 0xD6 => "write_pack_under_voltage",
        /// Read pack under-voltage configuration.
        READ_PACK_UNDER_VOLTAGE = 0xD7 => "read_pack_under_voltage",
        /// Write charge over-current configuration.
        WRITE_CHARGE_OVER_CURRENT = 0xD8 => "write_charge_over_current",
        /// Read charge over-current configuration.
        READ_CHARGE_OVER_CURRENT = 0xD9 => "read_charge_over_current",
        /// Write discharge over-current (level 1) configuration.
        WRITE_DISCHARGE_OVER_CURRENT = 0xDA => "write_discharge_over_current",
        /// Read discharge over-current (level 1) configuration.
        READ_DISCHARGE_OVER_CURRENT = 0xDB => "read_discharge_over_current",
    }
}
