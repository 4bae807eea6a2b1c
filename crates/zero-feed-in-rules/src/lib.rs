#![doc = include_str!("../README.md")]
//!
//! # Sign conventions
//!
//! - Grid (meter) power: positive = import from the grid, negative = export.
//! - Device and battery power: positive = into the battery (charging), negative = out of it
//!   (discharging, i.e. delivered to the house), as everywhere in voltwire.
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents; it adds no API.
//! - `sim`: [`sim::Plant`], a plant model (house, devices with a response lag, battery) for
//!   closed-loop tests and the app's demo.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(test)]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod average;
pub mod battery;
pub mod control;
pub mod eeprom;
#[cfg(feature = "sim")]
pub mod sim;
pub mod trim;
pub mod watchdog;

pub use average::MovingAverage;
pub use battery::{BatteryConfig, BatteryReading, Latches};
pub use control::{
    Alarms, Command, Commands, Config, ConfigError, Controller, CurrentRange, Decision,
    DeviceCommand, DeviceConfig, DeviceStatus, Inputs, MAX_DEVICES, MeterReading, Mode, Role,
};
pub use eeprom::{Refused, WriteBudget, WriteBudgetConfig};
pub use trim::{Trim, TrimConfig, TrimInput};
pub use voltwire_ess::Millis;
pub use watchdog::Freshness;
