//! Pylontech LV CAN, the one wire protocol this crate speaks: a BMS telegram (either
//! dialect) in as a [`BatteryState`](crate::BatteryState) ([`convert`], one telegram per
//! burst through [`reader::TelegramReader`]), and a state out as the burst an inverter
//! expects ([`encode::frames`]).
//!
//! Everything else in the crate — the state, combine, plausibility, the gateway policy,
//! per-output limits and set points — knows nothing of any wire protocol: a source that
//! speaks another protocol (RS485 BMSes, a Victron D-Bus service) makes `BatteryState`s
//! and uses the same rules.

pub mod convert;
pub mod encode;
pub mod reader;

pub use convert::{ConvertError, PYLONTECH_TELEGRAM, SMA_TELEGRAM};
pub use encode::{EncodeOptions, Extensions, MAX_FRAMES, frames};
pub use reader::TelegramReader;
