//! The app core of the bms-bridge firmware (ESP32-C3), host-testable: a Daly BMS polled
//! over an `embedded-io-async` UART ([`DalyLink`]), a VE.Direct SmartShunt read from one
//! ([`ShuntLink`]), the `voltwire-bms-rules` on an injected clock, three relays on
//! `embedded-hal` output pins and MQTT publications ([`Node`], [`Publication`]) in the one
//! topic scheme of the bms-bridge ([`voltwire_bms_rules::topics`]).
//!
//! The firmware is HAL set-up plus three loops around this crate: poll the Daly, read the
//! shunt, tick the [`Node`] and hand its publications to an MQTT client when one is
//! connected. The rules never wait for the network: a broker away only fills the bounded
//! publication queue (oldest dropped, counted).
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `defmt`: `defmt::Format` on the public error types, for logging on embedded targets.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod daly;
pub mod discovery;
mod json;
pub mod node;
pub mod shunt;

pub use daly::{DalyError, DalyLink};
pub use json::fixed;
pub use node::{Node, NodeConfig, NodeError, Publication, parse_mode};
pub use shunt::{ShuntError, ShuntLink};
