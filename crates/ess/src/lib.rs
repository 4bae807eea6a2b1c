#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod combine;
pub mod encode;
pub mod output;
pub mod plausibility;
pub mod policy;
pub mod reader;
pub mod setpoint;
pub mod state;
mod time;

pub use combine::{CombineConfig, CurrentRule, combine};
pub use encode::{EncodeOptions, Extensions, frames};
pub use output::{OutputConfig, Ratio, limit_output};
pub use plausibility::{Chemistry, Field, Implausible, Plausibility};
pub use policy::{
    Alarms, BlockPolicy, FaultPolicy, Gateway, GatewayConfig, InputConfig, InputStatus, Mode,
    NoInputPolicy, Output, disabled,
};
pub use reader::TelegramReader;
pub use setpoint::{Direction, Setpoint, SetpointBounds, SetpointError, Setpoints};
pub use state::{BatteryState, ConvertError, Flags, PYLONTECH_TELEGRAM, Requests, SMA_TELEGRAM};
pub use time::Millis;
