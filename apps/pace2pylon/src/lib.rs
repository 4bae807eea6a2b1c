//! pace2pylon: many Pace packs, each on its own port, presented to an inverter as one
//! Pylontech RS485 battery, with a supervisor and a rebalancing cycle
//! (`voltwire_ess::pace2pylon` holds the rules; this crate wires them to links).
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

pub mod app;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
pub mod meter;
pub mod pack;
pub mod priority;
pub mod slave;
pub mod telemetry;
pub mod web;
