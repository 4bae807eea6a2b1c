#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std` (and the same feature of the voltwire crates below). It adds no API: the error types implement `core::error::Error` (the same trait as `std::error::Error`) in every configuration.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod aggregate;
pub mod combine;
pub mod output;
pub mod pace2pylon;
pub mod plausibility;
pub mod policy;
pub mod pylontech;
pub mod setpoint;
pub mod state;
mod time;

pub use combine::{CombineConfig, CurrentRule, combine};
pub use output::{OutputConfig, Ratio, limit_output};
pub use plausibility::{Chemistry, Field, Implausible, Plausibility};
pub use policy::{
    Alarms, BlockPolicy, FaultPolicy, Gateway, GatewayConfig, GatewayOutput, InputConfig,
    InputStatus, Mode, NoInputPolicy, disabled,
};
pub use pylontech::{
    ConvertError, EncodeOptions, Extensions, PYLONTECH_TELEGRAM, SMA_TELEGRAM, TelegramReader,
    frames,
};
pub use setpoint::{Direction, Setpoint, SetpointBounds, SetpointError, Setpoints};
pub use state::{BatteryState, Flags, Requests};
pub use time::Millis;
