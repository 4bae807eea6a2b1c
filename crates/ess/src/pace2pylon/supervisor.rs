//! Which directions the merged battery may run, and why not.
//!
//! Every rule yields a reason ([`Reasons`]); a reason blocks charge, discharge or both:
//!
//! | reason | blocks | trips | clears |
//! |---|---|---|---|
//! | `manual_disable` | both | commanded | commanded |
//! | `pack_no_comm` | both | a pack's reading older than `no_comm_ms` | a fresh reading |
//! | `meter_no_comm` | both | the meter's reading older than `no_comm_ms` | a fresh reading |
//! | `missing_data` | both | a pack without reading or settings, the meter (if required) without reading, nothing merged | all present |
//! | `bms_protection` | both | any pack protection but OV/full, UV and over-temperature | bit clear |
//! | `bms_fault` | both | any pack fault bit | bit clear |
//! | `over_current` | both | \|I\| ≥ `over_current_trip_permille` (960) of Σ pack settings of that direction | \|I\| < `over_current_release_permille` of both |
//! | `over_temperature` | both | a pack's cell, MOSFET or BMS over-temperature protection | bit clear |
//! | `cell_under_voltage` | discharge | lowest cell ≤ `cell_under_voltage`, or a pack's cell/pack UV protection | lowest cell ≥ `cell_under_voltage_release` and no UV bit |
//! | `cell_over_voltage` | charge | highest cell ≥ `cell_over_voltage` (software) | highest cell ≤ `cell_over_voltage_release` |
//! | `pack_full` | charge | a pack's OV or fully-charged protection | bit clear |
//!
//! A direction runs again only after all its reasons have been clear for
//! `recovery_hold_ms` (at start too: nothing runs before the first hold has passed).
//! `cell_under_voltage` also requests a rebalance ([`Decision::rebalance_requested`]).
//!
//! Decision (documented in the app's note): a BMS under-voltage protection only blocks
//! discharge, like the software rule, so the inverter may charge the bank out of it; the
//! issue's "any protection other than OV/full disables both" is kept for every other bit.

use super::{Merged, MeterInput, PackAlarms, PackInput};
use crate::Millis;
use voltwire_core::Millivolts;

voltwire_core::flag_word! {
    /// Why the supervisor blocks a direction (bit positions are stable: MQTT reports them).
    pub struct Reasons(u16) {
        /// Manually disabled (MQTT / web command).
        0 => "manual_disable" as MANUAL_DISABLE,
        /// A pack has not answered for `no_comm_ms`.
        1 => "pack_no_comm" as PACK_NO_COMM,
        /// The coulomb meter has not answered for `no_comm_ms`.
        2 => "meter_no_comm" as METER_NO_COMM,
        /// A BMS protection other than over-voltage/full, under-voltage, over-temperature.
        3 => "bms_protection" as BMS_PROTECTION,
        /// A BMS fault.
        4 => "bms_fault" as BMS_FAULT,
        /// Current at or above the over-current share of the summed pack settings.
        5 => "over_current" as OVER_CURRENT,
        /// Cell, MOSFET or BMS over-temperature.
        6 => "over_temperature" as OVER_TEMPERATURE,
        /// Something needed was never read.
        7 => "missing_data" as MISSING_DATA,
        /// Cell under-voltage (blocks discharge, requests a rebalance).
        8 => "cell_under_voltage" as CELL_UNDER_VOLTAGE,
        /// Software cell over-voltage (blocks charge).
        9 => "cell_over_voltage" as CELL_OVER_VOLTAGE,
        /// A pack in over-voltage or fully-charged protection (blocks charge).
        10 => "pack_full" as PACK_FULL,
    }
}

impl Reasons {
    /// The reasons that block both directions.
    pub const BOTH: u16 = 0x00FF;
    /// The reasons that block charging (both-reasons included).
    pub const CHARGE: u16 = Self::BOTH | Self::CELL_OVER_VOLTAGE | Self::PACK_FULL;
    /// The reasons that block discharging (both-reasons included).
    pub const DISCHARGE: u16 = Self::BOTH | Self::CELL_UNDER_VOLTAGE;
}

/// Supervisor thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// A reading older than this is "no comm" (10 s).
    pub no_comm_ms: u64,
    /// Whether a coulomb meter is configured (then its absence is missing data).
    pub meter_required: bool,
    /// Over-current trips at this share of the summed pack setting, in ‰ (960).
    pub over_current_trip_permille: u16,
    /// Over-current clears below this share, in ‰ (e.g. 900).
    pub over_current_release_permille: u16,
    /// Software cell under-voltage trip (lowest cell at or below).
    pub cell_under_voltage: Millivolts,
    /// Software cell under-voltage release (lowest cell at or above).
    pub cell_under_voltage_release: Millivolts,
    /// Software cell over-voltage trip (highest cell at or above).
    pub cell_over_voltage: Millivolts,
    /// Software cell over-voltage release (highest cell at or below).
    pub cell_over_voltage_release: Millivolts,
    /// How long a direction's reasons must stay clear before it runs again.
    pub recovery_hold_ms: u64,
}

/// What the supervisor looks at, at one instant.
#[derive(Debug, Clone, Copy)]
pub struct SupervisorInput<'a> {
    /// Every configured pack.
    pub packs: &'a [PackInput],
    /// The meter's last reading, if any.
    pub meter: Option<&'a MeterInput>,
    /// The merge of `packs` (`None` when it failed).
    pub merged: Option<&'a Merged>,
    /// Manually disabled.
    pub manual_disable: bool,
}

/// The supervisor's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Charging allowed.
    pub charge: bool,
    /// Discharging allowed.
    pub discharge: bool,
    /// The reasons active now (a direction may still be held after they clear).
    pub reasons: Reasons,
    /// Bit `i`: pack `i` has no comm.
    pub no_comm_packs: u32,
    /// A cell under-voltage asks for a rebalance.
    pub rebalance_requested: bool,
}

/// The supervisor: latches for the value rules and the recovery holds.
#[derive(Debug, Clone, Default)]
pub struct Supervisor {
    over_current: bool,
    cell_uv: bool,
    cell_ov: bool,
    charge_clear_since: Option<Millis>,
    discharge_clear_since: Option<Millis>,
}

/// `a ≥ b * permille / 1000` without rounding, in i64.
fn at_least(a: i64, b: i64, permille: u16) -> bool {
    a * 1000 >= b * i64::from(permille)
}

impl Supervisor {
    /// A supervisor that blocks both directions until the first recovery hold has passed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Evaluate at `now`.
    pub fn step(
        &mut self,
        input: &SupervisorInput<'_>,
        cfg: &SupervisorConfig,
        now: Millis,
    ) -> Decision {
        let mut r: u16 = 0;
        if input.manual_disable {
            r |= Reasons::MANUAL_DISABLE;
        }
        let (pack_reasons, no_comm, uv_bit) = Self::pack_reasons(input.packs, cfg, now);
        r |= pack_reasons;
        match input.meter {
            Some(m) if now.since(m.at) > cfg.no_comm_ms => r |= Reasons::METER_NO_COMM,
            None if cfg.meter_required => r |= Reasons::MISSING_DATA,
            Some(_) | None => {}
        }
        match input.merged {
            None => r |= Reasons::MISSING_DATA,
            Some(m) => {
                let i = i64::from(m.current.0);
                let chg = i64::from(m.charge_over_current_sum.0);
                let dis = i64::from(m.discharge_over_current_sum.0);
                let trip = cfg.over_current_trip_permille;
                let release = cfg.over_current_release_permille;
                if at_least(i, chg, trip) || at_least(-i, dis, trip) {
                    self.over_current = true;
                } else if !at_least(i, chg, release) && !at_least(-i, dis, release) {
                    self.over_current = false;
                }
                let low = m.cell_min.voltage;
                if low <= cfg.cell_under_voltage {
                    self.cell_uv = true;
                } else if low >= cfg.cell_under_voltage_release {
                    self.cell_uv = false;
                }
                let high = m.cell_max.voltage;
                if high >= cfg.cell_over_voltage {
                    self.cell_ov = true;
                } else if high <= cfg.cell_over_voltage_release {
                    self.cell_ov = false;
                }
            }
        }
        if self.over_current {
            r |= Reasons::OVER_CURRENT;
        }
        if self.cell_uv || uv_bit {
            r |= Reasons::CELL_UNDER_VOLTAGE;
        }
        if self.cell_ov {
            r |= Reasons::CELL_OVER_VOLTAGE;
        }
        let charge = Self::hold(
            &mut self.charge_clear_since,
            r & Reasons::CHARGE != 0,
            cfg,
            now,
        );
        let discharge = Self::hold(
            &mut self.discharge_clear_since,
            r & Reasons::DISCHARGE != 0,
            cfg,
            now,
        );
        Decision {
            charge,
            discharge,
            reasons: Reasons(r),
            no_comm_packs: no_comm,
            rebalance_requested: r & Reasons::CELL_UNDER_VOLTAGE != 0,
        }
    }

    /// The reasons of the packs themselves, the no-comm mask and whether a UV bit is set.
    fn pack_reasons(packs: &[PackInput], cfg: &SupervisorConfig, now: Millis) -> (u16, u32, bool) {
        let mut r: u16 = 0;
        let mut no_comm: u32 = 0;
        let mut uv_bit = false;
        for (i, p) in packs.iter().enumerate() {
            match &p.reading {
                None => r |= Reasons::MISSING_DATA,
                Some((reading, at)) => {
                    if now.since(*at) > cfg.no_comm_ms {
                        r |= Reasons::PACK_NO_COMM;
                        if i < 32 {
                            no_comm |= 1 << i;
                        }
                    }
                    let a = reading.alarms;
                    let uv = PackAlarms::CELL_UNDER_VOLTAGE | PackAlarms::PACK_UNDER_VOLTAGE;
                    let other = PackAlarms::PROTECTIONS
                        & !PackAlarms::OVER_VOLTAGE_OR_FULL
                        & !PackAlarms::OVER_TEMPERATURE
                        & !uv;
                    if a.any(other) {
                        r |= Reasons::BMS_PROTECTION;
                    }
                    if a.any(PackAlarms::FAULT) {
                        r |= Reasons::BMS_FAULT;
                    }
                    if a.any(PackAlarms::OVER_TEMPERATURE) {
                        r |= Reasons::OVER_TEMPERATURE;
                    }
                    if a.any(PackAlarms::OVER_VOLTAGE_OR_FULL) {
                        r |= Reasons::PACK_FULL;
                    }
                    uv_bit |= a.any(uv);
                }
            }
            if p.settings.is_none() {
                r |= Reasons::MISSING_DATA;
            }
        }
        (r, no_comm, uv_bit)
    }

    fn hold(
        since: &mut Option<Millis>,
        blocked: bool,
        cfg: &SupervisorConfig,
        now: Millis,
    ) -> bool {
        if blocked {
            *since = None;
            return false;
        }
        let start = *since.get_or_insert(now);
        now.since(start) >= cfg.recovery_hold_ms
    }
}

#[cfg(test)]
mod tests;
