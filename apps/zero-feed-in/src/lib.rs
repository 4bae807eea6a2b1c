//! `zero-feed-in`: meter-driven charge and discharge for zero grid export.
//!
//! Every rule (demand, averaging, deadbands, device limits, battery latches, cell and
//! temperature limits, watchdog, EEPROM budget) lives in the `no_std` crate
//! `voltwire-zero-feed-in-rules`; this crate wires meters, devices, config and the clock to
//! it. See the README for the configuration.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

pub mod app;
pub mod bms;
pub mod config;
pub mod demo;
pub mod device;
pub mod engine;
pub mod lumentree;
pub mod meanwell;
pub mod meter;
pub mod state;
pub mod telemetry;
pub mod trucki;
pub mod web;
