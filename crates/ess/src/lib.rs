#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod combine;
pub mod output;
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
