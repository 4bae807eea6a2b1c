#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std` (and the same feature of the voltwire crates below). It adds no API: the error types implement `core::error::Error` (the same trait as `std::error::Error`) in every configuration.
//! - `tokio-codec`: `DalyCodec`, `voltwire_core::codec::StreamCodec` aliases (a `tokio_util::codec` `Decoder`/`Encoder` for `FramedRead`/`FramedWrite`); implies `std`.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//! - `serde`: `serde::Serialize` in the JSON contract's shape (`docs/json.md`, `voltwire_core::json`): `Request::json` / `Response::json` give `{"direction", "address", "command", ...fields}` (SI numbers exact, codes `{code,name}`, bit sets `{raw,flags}`), `Assembler::json` the body of a multi-frame reply and `Assembler::json_type` its JSON `type`. Serialize only. `no_std`, no alloc.
//!
//! # Memory (`size_of` on a 32-bit MCU target, from `bench/size.sh`)
//!
//! | type | bytes |
//! |---|---|
//! | `Decoder` (in place, a 26-byte buffer; yields what `ScanDecoder<Daly, 32>` yields) | 48 |
//! | `Assembler` | 120 |
//! | `RawFrame` / `Request` / `Response` | 10 / 10 / 24 |
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(all(test, feature = "serde"))]
extern crate alloc;

mod assemble;
mod command;
mod error;
pub mod failure;
pub mod frame;
mod request;
mod response;
#[cfg(feature = "serde")]
mod serde_impl;
mod variant;

pub use assemble::{Assembler, MAX_FRAMES, Pushed, Series};
pub use command::Command;
pub use error::Error;
pub use failure::{Failure, FailureFlags};
#[cfg(feature = "tokio-codec")]
pub use frame::DalyCodec;
pub use frame::{Daly, Decoder, FRAME_LEN, Frame, RawFrame};
pub use request::{Clock, Padding, Request};
pub use response::{
    BalanceState, BatteryInfo, CellVoltageFrame, CellVoltageRange, ChargeState, Dio, Failures,
    MosfetStatus, PackStatus, RatedParameters, Response, StatusInfo, Switch, TemperatureFrame,
    TemperatureRange, TextFrame, WriteAck,
};
pub use variant::{BMS_FIRST, BalanceBitOrder, CurrentSign, HOST_RS485, HOST_UART, Variant};
