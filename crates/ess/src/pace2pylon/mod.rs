//! pace2pylon: many Pace packs (each on its own port) and a coulomb meter presented to an
//! inverter as one battery.
//!
//! Three pure parts, each taking injected time ([`Millis`]) and plain integer inputs in
//! canonical units; the app maps the protocol messages (Pace 0x42/0x44/0xD5–0xDB, the meter's
//! Modbus registers) into [`PackInput`] and [`MeterInput`]:
//!
//! - [`merge`]: one battery from the packs (sums, averages, extremes with pack ids, limits
//!   from the pack settings);
//! - [`Supervisor`]: which directions may run, with a reason for every block and a recovery
//!   hold (hysteresis in time; the cell-voltage and current rules also in value);
//! - [`Rebalance`]: the four-step forced balancing cycle as an explicit state machine whose
//!   persisted part ([`RebalanceStep`]) is one name.

mod merge;
mod rebalance;
mod supervisor;

pub use merge::{CellExtreme, MAX_PACKS, MergeConfig, Merged, SocSource, TempExtreme, merge};
pub use rebalance::{
    MeterCapacity, Rebalance, RebalanceConfig, RebalanceInput, RebalanceOutput, RebalanceStep,
    TariffWindow, grid_charge_granted,
};
pub use supervisor::{Decision, Reasons, Supervisor, SupervisorConfig, SupervisorInput};

use crate::Millis;
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};

voltwire_core::flag_word! {
    /// What a pack's BMS reports as protections, faults and balancing, mapped by the app
    /// from the protocol's state bytes (Pace 0x44 protect 1/2, fault, balance bytes).
    pub struct PackAlarms(u32) {
        /// Cell over-voltage protection.
        0 => "cell_over_voltage" as CELL_OVER_VOLTAGE,
        /// Cell under-voltage protection.
        1 => "cell_under_voltage" as CELL_UNDER_VOLTAGE,
        /// Pack over-voltage protection.
        2 => "pack_over_voltage" as PACK_OVER_VOLTAGE,
        /// Pack under-voltage protection.
        3 => "pack_under_voltage" as PACK_UNDER_VOLTAGE,
        /// Charge over-current protection.
        4 => "charge_over_current" as CHARGE_OVER_CURRENT,
        /// Discharge over-current protection.
        5 => "discharge_over_current" as DISCHARGE_OVER_CURRENT,
        /// Short circuit protection.
        6 => "short_circuit" as SHORT_CIRCUIT,
        /// Charge over-temperature protection (cells).
        7 => "charge_over_temperature" as CHARGE_OVER_TEMPERATURE,
        /// Discharge over-temperature protection (cells).
        8 => "discharge_over_temperature" as DISCHARGE_OVER_TEMPERATURE,
        /// Charge under-temperature protection.
        9 => "charge_under_temperature" as CHARGE_UNDER_TEMPERATURE,
        /// Discharge under-temperature protection.
        10 => "discharge_under_temperature" as DISCHARGE_UNDER_TEMPERATURE,
        /// MOSFET over-temperature protection.
        11 => "mosfet_over_temperature" as MOSFET_OVER_TEMPERATURE,
        /// Environment (BMS board) over-temperature protection.
        12 => "environment_over_temperature" as ENVIRONMENT_OVER_TEMPERATURE,
        /// Environment under-temperature protection.
        13 => "environment_under_temperature" as ENVIRONMENT_UNDER_TEMPERATURE,
        /// Fully charged (a protection state on Pace).
        14 => "fully_charged" as FULLY_CHARGED,
        /// Any BMS fault (MOSFET, NTC, cell, sampling).
        15 => "fault" as FAULT,
        /// At least one cell is balancing.
        16 => "balancing" as BALANCING,
    }
}

impl PackAlarms {
    /// Over-voltage and full: the protections that only stop charging (and lock a pack after
    /// balancing); every other protection bit stops both directions.
    pub const OVER_VOLTAGE_OR_FULL: u32 =
        Self::CELL_OVER_VOLTAGE | Self::PACK_OVER_VOLTAGE | Self::FULLY_CHARGED;
    /// The over-temperature protections (cells, MOSFET, BMS board).
    pub const OVER_TEMPERATURE: u32 = Self::CHARGE_OVER_TEMPERATURE
        | Self::DISCHARGE_OVER_TEMPERATURE
        | Self::MOSFET_OVER_TEMPERATURE
        | Self::ENVIRONMENT_OVER_TEMPERATURE;
    /// Every protection bit (all but fault and balancing).
    pub const PROTECTIONS: u32 = 0x7FFF;

    /// Whether any bit of `mask` is set.
    pub const fn any(self, mask: u32) -> bool {
        self.0 & mask != 0
    }

    /// Whether the pack has locked after over-voltage (cell/pack OV or full): the rebalance
    /// cycle switches its charge MOSFET back on.
    pub const fn locked(self) -> bool {
        self.any(Self::OVER_VOLTAGE_OR_FULL)
    }
}

/// One pack's measured values (from its analog and status replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackReading {
    /// Pack voltage.
    pub voltage: Millivolts,
    /// Pack current, positive = charging.
    pub current: Milliamps,
    /// State of charge as the BMS counts it.
    pub soc: Permille,
    /// State of health.
    pub soh: Permille,
    /// Remaining capacity.
    pub remaining: MilliampHours,
    /// Full capacity.
    pub full: MilliampHours,
    /// Charge cycles.
    pub cycles: u16,
    /// Lowest cell voltage and its cell index (0-based).
    pub cell_min: (Millivolts, u8),
    /// Highest cell voltage and its cell index (0-based).
    pub cell_max: (Millivolts, u8),
    /// Lowest temperature reading.
    pub temp_min: DeciCelsius,
    /// Highest temperature reading.
    pub temp_max: DeciCelsius,
    /// Protections, faults, balancing.
    pub alarms: PackAlarms,
}

/// One pack's configuration reads (Pace 0xD5, 0xD7, 0xD9, 0xDB): the protection
/// thresholds, as magnitudes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackSettings {
    /// Pack over-voltage protection threshold (0xD5).
    pub over_voltage: Millivolts,
    /// Pack under-voltage protection threshold (0xD7).
    pub under_voltage: Millivolts,
    /// Charge over-current protection, a magnitude (0xD9).
    pub charge_over_current: Milliamps,
    /// Discharge over-current protection, a magnitude (0xDB reads it negative).
    pub discharge_over_current: Milliamps,
}

/// What the app knows about one pack at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackInput {
    /// The last complete reading (analog + status) and when it arrived; `None` before the
    /// first.
    pub reading: Option<(PackReading, Millis)>,
    /// The last configuration reads; `None` until all four were read.
    pub settings: Option<PackSettings>,
}

/// The coulomb meter's last reading and when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterInput {
    /// State of charge.
    pub soc: Permille,
    /// Remaining capacity.
    pub remaining: MilliampHours,
    /// The capacity the meter counts as full (raised during a rebalance).
    pub capacity: MilliampHours,
    /// When it arrived.
    pub at: Millis,
}

/// `value * permille / 1000`, rounded toward zero, in `i64` (no overflow for any `i32`).
pub(crate) const fn share(value: i64, permille: u16) -> i64 {
    value * permille as i64 / 1000
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A healthy 24 V 8S pack at 26.4 V, idle, 80 %.
    pub(crate) fn reading() -> PackReading {
        PackReading {
            voltage: Millivolts(26_400),
            current: Milliamps(0),
            soc: Permille(800),
            soh: Permille(1000),
            remaining: MilliampHours(80_000),
            full: MilliampHours(100_000),
            cycles: 10,
            cell_min: (Millivolts(3_290), 0),
            cell_max: (Millivolts(3_310), 7),
            temp_min: DeciCelsius(200),
            temp_max: DeciCelsius(250),
            alarms: PackAlarms(0),
        }
    }

    /// The settings of the reference's packs: OV 28.0 V, UV 22.4 V, charge 100 A,
    /// discharge 105 A.
    pub(crate) fn settings() -> PackSettings {
        PackSettings {
            over_voltage: Millivolts(28_000),
            under_voltage: Millivolts(22_400),
            charge_over_current: Milliamps(100_000),
            discharge_over_current: Milliamps(105_000),
        }
    }

    /// A pack read at `at`.
    pub(crate) fn pack(at: u64) -> PackInput {
        PackInput {
            reading: Some((reading(), Millis(at))),
            settings: Some(settings()),
        }
    }
}
