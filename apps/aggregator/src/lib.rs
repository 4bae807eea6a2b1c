//! The aggregator app: many batteries as one Victron Venus OS battery on D-Bus.
//!
//! [`app`] follows the `com.victronenergy.battery.*` services on one connection, combines
//! them with `voltwire_ess::aggregate` and serves the aggregate through [`busitem`]
//! (answered from the message stream, so calls without an interface header work);
//! [`config`] is the TOML file, [`battery`] and [`publish`] the conversions at the edge,
//! [`bus`] a private `dbus-daemon` and [`sim`] simulated battery services (for `--demo`
//! and the tests).
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

pub mod app;
pub mod battery;
pub mod bus;
pub mod busitem;
pub mod client;
pub mod config;
pub mod demo;
pub mod direct;
pub mod item;
pub mod own;
pub mod publish;
pub mod sim;
pub mod web;
