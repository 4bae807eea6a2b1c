//! The device simulators, each answering in its real protocol through our crates.
//!
//! | device | trait | protocol crate |
//! |---|---|---|
//! | [`DalyBms`] | [`crate::SerialResponder`] | `voltwire-daly` |
//! | [`PylontechStack`] | [`crate::SerialResponder`] | `voltwire-pylontech::rs485` |
//! | [`VeDirect`] (MPPT, SmartShunt) | [`crate::SerialResponder`] | `voltwire-victron` |
//! | [`PylontechCanBms`] | [`crate::CanResponder`] | `voltwire-pylontech::can` |
//! | [`PylontechInverter`] (the inverter side) | [`crate::CanResponder`] | `voltwire-pylontech::can` |
//! | [`JkBms`] | [`crate::SerialResponder`] | `voltwire-jk` |
//! | [`JkPb`] (JK-PB inverter BMS) | [`crate::SerialResponder`] | `voltwire-jk::pb` |
//! | [`PaceStack`] | [`crate::SerialResponder`] | `voltwire-pace` |
//! | [`MeanwellPsu`] (BIC-2200, NPB) | [`crate::CanResponder`] | `voltwire-meanwell` |
//! | [`PowerMeter`] (Shelly Pro 3EM / 3EM) | JSON bodies for HTTP and MQTT | `serde_json` |

mod asciihex;
mod daly;
mod jk;
mod jk_pb;
mod meanwell;
pub mod meter;
mod pace;
mod pylontech_can;
mod pylontech_inverter;
mod pylontech_rs485;
mod vedirect;

pub use daly::DalyBms;
pub use jk::JkBms;
pub use jk_pb::JkPb;
pub use meanwell::MeanwellPsu;
pub use meter::{LoadProfile, MeterReading, PhaseReading, PowerMeter};
pub use pace::{PaceSettings, PaceStack};
pub use pylontech_can::PylontechCanBms;
pub use pylontech_inverter::PylontechInverter;
pub use pylontech_rs485::PylontechStack;
pub use vedirect::{VeDirect, VeDirectKind};

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Rounding, Scale};

/// `v` on a grid of `step` mV, nearest.
pub(crate) fn mv(v: Millivolts, step: i64) -> Millivolts {
    v.round_to(Scale::new(step, 0), Rounding::Nearest)
}

/// `a` on a grid of `step` mA, nearest.
pub(crate) fn ma(a: Milliamps, step: i64) -> Milliamps {
    a.round_to(Scale::new(step, 0), Rounding::Nearest)
}

/// `t` on a grid of `step` × 0.1 °C, nearest.
pub(crate) fn dc(t: DeciCelsius, step: i64) -> DeciCelsius {
    t.round_to(Scale::new(step, 0), Rounding::Nearest)
}
