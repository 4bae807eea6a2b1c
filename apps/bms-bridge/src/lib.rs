//! `bms-bridge`: a BMS, a SmartShunt and one or two VE.Direct solar chargers to MQTT,
//! switching two load relays and an active balancer under the latched safety rules of
//! `voltwire-bms-rules`. A thin composition: [`config`] (TOML, validated), [`sources`] (one
//! BMS loop over the kinds of [`bms`]: Daly, Pace, JK, JK-PB poll + charge-MOSFET write,
//! Pylontech read only; VE.Direct TEXT, 1-Wire), [`engine`] (the rules on an injected
//! clock), [`app`] (relays, MQTT, the loop), [`gpio`] (relays on GPIO lines), [`web`] (the status page's state, health
//! and metrics) and [`demo`] (feature `demo`).
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

pub mod app;
pub mod bms;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
pub mod gpio;
pub mod sources;
pub mod web;
