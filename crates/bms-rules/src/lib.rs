#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` and turns on `thiserror/std`; no API of its own.
//! - `defmt`: `defmt::Format` on the public types, for logging on embedded targets.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod config;
mod filter;
mod pv;
pub mod rules;
pub mod settings;
pub mod topics;
pub mod types;

pub use config::{
    BalancerConfig, Band, Config, ConfigError, FilterConfig, LoadConfig, MAX_CHARGERS, MAX_SENSORS,
    SensorRole, Timeouts,
};
pub use rules::{EVENT_CAPACITY, Rules};
pub use settings::{Decimal, Patch, PatchError, Setting, SettingError};
pub use types::{
    BmsReading, Event, EventKind, Field, Latch, Latches, Millis, Mode, Output, PvPower, Reason,
    Relay, ShuntReading, Source,
};
