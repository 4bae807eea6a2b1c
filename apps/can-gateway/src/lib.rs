//! `can-gateway`: n Pylontech-CAN batteries × m inverters.
//!
//! Every rule (combining, data age, exclusion, safe state, per-output limits, set points,
//! encoding) lives in the `no_std` crate `voltwire-ess`; this crate wires buses, config and
//! MQTT to it. See the README for the rules and the configuration.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

pub mod app;
pub mod bus;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
#[cfg(feature = "demo")]
pub mod simulated;
pub mod telemetry;
pub mod web;
