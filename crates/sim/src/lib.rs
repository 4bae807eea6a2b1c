#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use core::time::Duration;

pub mod device;
mod faults;
pub mod modbus;
pub mod plant;
#[cfg(feature = "scene")]
pub mod scene;
#[cfg(feature = "serve")]
pub mod serve;
mod view;
pub mod world;

pub use faults::Faults;
pub use plant::{Flows, Pack, PackConfig, Plant, SimClock};
pub use view::BmsView;
pub use world::{SharedWorld, World};

/// A change a device asks of the plant (a BMS switching its MOSFETs, a charger taking a set
/// point). The responders only read the plant; the caller applies these with
/// [`PlantCommand::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlantCommand {
    /// Switch the charge path of pack `pack`.
    ChargeEnabled {
        /// Pack index.
        pack: usize,
        /// On.
        on: bool,
    },
    /// Switch the discharge path of pack `pack`.
    DischargeEnabled {
        /// Pack index.
        pack: usize,
        /// On.
        on: bool,
    },
    /// Set the SOC of pack `pack`.
    SetSoc {
        /// Pack index.
        pack: usize,
        /// The SOC.
        soc: voltwire_core::Permille,
    },
    /// Set the charger and discharger power flows ([`Flows::charge`], [`Flows::discharge`]):
    /// a charger or bidirectional converter following its set points.
    ConverterPower {
        /// Power into the batteries.
        charge: voltwire_core::Watts,
        /// Power out of the batteries.
        discharge: voltwire_core::Watts,
    },
}

impl PlantCommand {
    /// Apply the command to `plant` (commands for a pack that does not exist are ignored).
    pub fn apply(self, plant: &mut Plant) {
        match self {
            Self::ChargeEnabled { pack, on } => {
                if let Some(p) = plant.packs_mut().get_mut(pack) {
                    p.charge_enabled = on;
                }
            }
            Self::DischargeEnabled { pack, on } => {
                if let Some(p) = plant.packs_mut().get_mut(pack) {
                    p.discharge_enabled = on;
                }
            }
            Self::SetSoc { pack, soc } => {
                if let Some(p) = plant.packs_mut().get_mut(pack) {
                    p.set_soc(soc);
                }
            }
            Self::ConverterPower { charge, discharge } => {
                plant.flows.charge = charge;
                plant.flows.discharge = discharge;
            }
        }
    }
}

/// A device on a serial line (UART, RS485, a pty or a TCP console server): bytes in, bytes
/// out, time injected. The I/O layer feeds what it reads to [`SerialResponder::on_bytes`],
/// calls [`SerialResponder::tick`] regularly, writes what lands in `out` (after
/// [`Faults::delay`]) and closes the port while [`Faults::drop_port`] is set.
pub trait SerialResponder {
    /// Consume `input` read from the line at sim time `now`; append the replies to `out`.
    fn on_bytes(&mut self, input: &[u8], now: Duration, plant: &Plant, out: &mut Vec<u8>);

    /// Unsolicited output due by `now` (e.g. the VE.Direct TEXT record every second).
    fn tick(&mut self, now: Duration, plant: &Plant, out: &mut Vec<u8>);

    /// The faults in effect.
    fn faults(&self) -> &Faults;

    /// The faults, to change them.
    fn faults_mut(&mut self) -> &mut Faults;

    /// Move the plant changes asked for since the last call into `out`.
    fn drain_commands(&mut self, out: &mut Vec<PlantCommand>) {
        let _ = out;
    }
}

/// A classic CAN frame (11- or 29-bit id, up to 8 bytes): the shared
/// [`voltwire_core::can::CanFrame`], an [`embedded_can::Frame`] so that every protocol
/// crate's `to_frame`/`from_frame` works on it.
pub use voltwire_core::can::CanFrame;

/// A device on a CAN bus: frames in, frames out, time injected.
pub trait CanResponder {
    /// Handle one frame seen on the bus at sim time `now`; append replies to `out`.
    fn on_frame(&mut self, frame: &CanFrame, now: Duration, plant: &Plant, out: &mut Vec<CanFrame>);

    /// Unsolicited frames due by `now` (e.g. the BMS burst every second).
    fn tick(&mut self, now: Duration, plant: &Plant, out: &mut Vec<CanFrame>);

    /// The faults in effect.
    fn faults(&self) -> &Faults;

    /// The faults, to change them.
    fn faults_mut(&mut self) -> &mut Faults;

    /// Move the plant changes asked for since the last call into `out`.
    fn drain_commands(&mut self, out: &mut Vec<PlantCommand>) {
        let _ = out;
    }
}

/// A periodic schedule in sim time: due at `0`, then every `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Every {
    period: Duration,
    next: Duration,
}

impl Every {
    pub(crate) const fn new(period: Duration) -> Self {
        Self {
            period,
            next: Duration::ZERO,
        }
    }

    /// Whether it is due at `now`; if so, schedule the next one (skipping missed slots).
    pub(crate) fn due(&mut self, now: Duration) -> bool {
        if now < self.next {
            return false;
        }
        while self.next <= now && !self.period.is_zero() {
            self.next += self.period;
        }
        true
    }
}
