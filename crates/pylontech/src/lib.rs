#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std` (and the same feature of the voltwire crates below). It adds no API: the error types implement `core::error::Error` (the same trait as `std::error::Error`) in every configuration.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//! - `serde`: `serde::Serialize` on `can::Message` and every CAN message type, in the JSON contract's shapes (`docs/json.md`, `voltwire_core::json`): a message is an object of its fields, quantities as SI numbers with the unit in the key (`charge_voltage_limit_v`, `min_cell_temperature_c`), flag words `{"raw", "flags"}`, ASCII payloads `{"text", "hex"}`; the caller adds `type` (`Message::name`) and `id`. RS485 (`voltwire_asciihex::json`): `rs485::Request::json` and `rs485::Response::json` (any `SizedResponse`) are `{"adr", ["rtn",] "command": {"code", "name"}, ...the body's fields}`, `json_type` names the message (`analog`, `alarm`, …, `request`); module temperatures as `bms_temperature_c` and `cell_temperatures_c`. Serialize only: the shapes drop padding and reserved bytes, so they do not read back to the same message. `no_std`, no alloc.
//!
//! # Memory (`size_of` on a 32-bit MCU target, from `bench/size.sh`)
//!
//! | type | bytes |
//! |---|---|
//! | `ScanDecoder<rs485::Requests, MAX_FRAME_LEN>` (device side, any frame) | 4152 |
//! | `voltwire_core::ScanDecoder<rs485::Requests, 256>` (requests are under 100 bytes) | 296 |
//! | `voltwire_core::ScanDecoder<rs485::SizedRequests<16>, 256>` (yields `SizedRequest<16>`) | 296 |
//! | `rs485::Request` / `rs485::Response` (up to `MAX_MODULES` modules) | 2060 / 4136 |
//! | `rs485::SizedRequest<16>` (`MAX_REQUEST_INFO`: every known request; was 2060 as `Request`) | 28 |
//! | `rs485::SizedResponse<1, 128>` (one module, INFO up to 128 bytes; with `Frame<128>`, 136) | 312 |
//! | `can::Message` / `can::Assembler` | 32 / 824 |
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(all(test, feature = "serde"))]
extern crate alloc;

pub mod can;
pub mod rs485;
