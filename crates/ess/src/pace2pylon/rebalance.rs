//! The forced balancing cycle, for BMSes (Pace) that only balance in over-voltage protection.
//!
//! Four steps, as the reference runs them (see `docs/protocols` §3.7):
//!
//! 1. [`RebalanceStep::Raise`]: raise the charge voltage offered to the inverter and the
//!    meter's capacity (so its SOC does not hit 100 % and stop the inverter early); next
//!    once the meter reports the raised capacity (at once without a meter);
//! 2. [`RebalanceStep::Charge`]: charge (grid allowed only inside the configured tariff
//!    windows) until the merged voltage is above the threshold, |I| is below the settle
//!    current and no pack balances, all for `settle_ms` on end;
//! 3. [`RebalanceStep::Unlock`]: the normal charge voltage again, and the charge MOSFET of
//!    every pack locked by over-voltage/full switched back on; next when none is locked;
//! 4. [`RebalanceStep::RestoreMeter`]: keep the raised meter capacity until the meter's
//!    remaining capacity has fallen back to the normal capacity, then restore it and end.
//!
//! The machine is declarative: each step has an output ([`RebalanceOutput`]) the app makes
//! true (writes the meter capacity when it differs, sends the MOSFET commands), so repeating
//! a step after a restart is harmless. Only the step is persisted ([`RebalanceStep::name`] /
//! [`RebalanceStep::from_name`]); the settle timer restarts after a restart (a safe delay).
//! [`Rebalance::cancel`] ends it from any step: the output of `Idle` restores everything.

use super::share;
use crate::Millis;
use voltwire_core::{MilliampHours, Milliamps, Millivolts};

/// The persisted part of the cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RebalanceStep {
    /// Not rebalancing.
    #[default]
    Idle,
    /// Step 1: raise the charge voltage and the meter capacity.
    Raise,
    /// Step 2: charge until full and balanced.
    Charge,
    /// Step 3: normal charge voltage, unlock packs locked by over-voltage.
    Unlock,
    /// Step 4: wait for the meter's remaining capacity to fall back, then restore it.
    RestoreMeter,
}

impl RebalanceStep {
    /// Every step, in order.
    pub const ALL: [Self; 5] = [
        Self::Idle,
        Self::Raise,
        Self::Charge,
        Self::Unlock,
        Self::RestoreMeter,
    ];

    /// The `snake_case` name (persisted, published).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Raise => "raise",
            Self::Charge => "charge",
            Self::Unlock => "unlock",
            Self::RestoreMeter => "restore_meter",
        }
    }

    /// The step of a name, `None` for an unknown one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The step number 1–4 (0 for idle).
    pub const fn number(self) -> u8 {
        self as u8
    }
}

/// The meter capacity a step wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterCapacity {
    /// The normal capacity.
    Normal,
    /// The raised capacity.
    Raised,
}

/// Rebalance configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebalanceConfig {
    /// Step 2 ends above this merged voltage (27.8 V on the reference's 8S packs).
    pub full_voltage: Millivolts,
    /// … and with |I| below this (5 A).
    pub settle_current: Milliamps,
    /// … for this long.
    pub settle_ms: u64,
    /// The meter's normal capacity.
    pub meter_capacity: MilliampHours,
    /// The raised capacity, in ‰ of the normal (e.g. 1200).
    pub raised_capacity_permille: u16,
}

impl RebalanceConfig {
    /// The raised meter capacity.
    pub const fn raised_capacity(&self) -> MilliampHours {
        MilliampHours(share(self.meter_capacity.0, self.raised_capacity_permille))
    }
}

/// What the cycle looks at, at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebalanceInput {
    /// Merged voltage.
    pub voltage: Millivolts,
    /// Merged current.
    pub current: Milliamps,
    /// Any pack balancing.
    pub balancing: bool,
    /// Any pack locked by over-voltage/full.
    pub locked: bool,
    /// The meter: (capacity it counts as full, remaining); `None` without a meter.
    pub meter: Option<(MilliampHours, MilliampHours)>,
}

/// What the current step wants the app to make true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebalanceOutput {
    /// Offer the rebalance charge voltage instead of the normal one.
    pub raise_charge_voltage: bool,
    /// The meter capacity to hold.
    pub meter_capacity: MeterCapacity,
    /// Charging from the grid is wanted (the app grants it inside its tariff windows).
    pub grid_charge: bool,
    /// Switch the charge MOSFET of locked packs back on.
    pub unlock_packs: bool,
}

/// The cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebalance {
    step: RebalanceStep,
    settled_since: Option<Millis>,
}

impl Rebalance {
    /// Resume at a persisted step.
    pub fn resume(step: RebalanceStep) -> Self {
        Self {
            step,
            settled_since: None,
        }
    }

    /// The current step (persist it when it changes).
    pub fn step(&self) -> RebalanceStep {
        self.step
    }

    /// Start a cycle; `false` (nothing changes) when one runs.
    pub fn start(&mut self) -> bool {
        if self.step != RebalanceStep::Idle {
            return false;
        }
        *self = Self::resume(RebalanceStep::Raise);
        true
    }

    /// Cancel from any step; `false` when idle already.
    pub fn cancel(&mut self) -> bool {
        let was = self.step != RebalanceStep::Idle;
        *self = Self::default();
        was
    }

    /// Advance with the input at `now`; returns the output of the (new) step.
    pub fn update(
        &mut self,
        input: &RebalanceInput,
        cfg: &RebalanceConfig,
        now: Millis,
    ) -> RebalanceOutput {
        let next = match self.step {
            RebalanceStep::Idle => None,
            RebalanceStep::Raise => match input.meter {
                Some((capacity, _)) if capacity != cfg.raised_capacity() => None,
                _ => Some(RebalanceStep::Charge),
            },
            RebalanceStep::Charge => {
                let settled = input.voltage > cfg.full_voltage
                    && input.current.0.unsigned_abs() < cfg.settle_current.0.unsigned_abs()
                    && !input.balancing;
                if settled {
                    let since = *self.settled_since.get_or_insert(now);
                    (now.since(since) >= cfg.settle_ms).then_some(RebalanceStep::Unlock)
                } else {
                    self.settled_since = None;
                    None
                }
            }
            RebalanceStep::Unlock => (!input.locked).then_some(RebalanceStep::RestoreMeter),
            RebalanceStep::RestoreMeter => match input.meter {
                Some((_, remaining)) if remaining > cfg.meter_capacity => None,
                _ => Some(RebalanceStep::Idle),
            },
        };
        if let Some(step) = next {
            *self = Self::resume(step);
        }
        Self::output(self.step)
    }

    /// The output of a step.
    pub const fn output(step: RebalanceStep) -> RebalanceOutput {
        let raised = matches!(
            step,
            RebalanceStep::Raise
                | RebalanceStep::Charge
                | RebalanceStep::Unlock
                | RebalanceStep::RestoreMeter
        );
        RebalanceOutput {
            raise_charge_voltage: matches!(step, RebalanceStep::Raise | RebalanceStep::Charge),
            meter_capacity: if raised {
                MeterCapacity::Raised
            } else {
                MeterCapacity::Normal
            },
            grid_charge: matches!(step, RebalanceStep::Charge),
            unlock_packs: matches!(step, RebalanceStep::Unlock),
        }
    }
}

/// A daily tariff window in minutes of the (local) day, `start` inclusive, `end` exclusive;
/// `start > end` wraps past midnight (22:00–06:00), `start == end` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TariffWindow {
    /// First minute (0–1439).
    pub start: u16,
    /// Minute after the last (0–1439).
    pub end: u16,
}

impl TariffWindow {
    /// Whether `minute` (of the day, 0–1439) is inside.
    pub const fn contains(self, minute: u16) -> bool {
        if self.start == self.end {
            true
        } else if self.start < self.end {
            minute >= self.start && minute < self.end
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

/// Whether charging from the grid is granted at `minute` of the day: only while the cycle
/// wants it ([`RebalanceOutput::grid_charge`]) and, when windows are configured, inside one
/// of them (no window configured: no restriction).
pub fn grid_charge_granted(out: &RebalanceOutput, windows: &[TariffWindow], minute: u16) -> bool {
    out.grid_charge && (windows.is_empty() || windows.iter().any(|w| w.contains(minute)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tariff_windows_at_their_edges() {
        let night = TariffWindow {
            start: 22 * 60,
            end: 6 * 60,
        };
        assert!(!night.contains(22 * 60 - 1));
        assert!(night.contains(22 * 60));
        assert!(night.contains(0));
        assert!(night.contains(6 * 60 - 1));
        assert!(!night.contains(6 * 60));
        let noon = TariffWindow {
            start: 12 * 60,
            end: 14 * 60,
        };
        assert!(!noon.contains(12 * 60 - 1) && noon.contains(12 * 60) && !noon.contains(14 * 60));
        assert!(TariffWindow { start: 5, end: 5 }.contains(1439));
        let charge = Rebalance::output(RebalanceStep::Charge);
        assert!(grid_charge_granted(&charge, &[], 600));
        assert!(grid_charge_granted(&charge, &[noon, night], 23 * 60));
        assert!(!grid_charge_granted(&charge, &[noon, night], 8 * 60));
        // Outside step 2 never, whatever the window.
        assert!(!grid_charge_granted(
            &Rebalance::output(RebalanceStep::Raise),
            &[],
            600
        ));
        assert!(!grid_charge_granted(
            &Rebalance::output(RebalanceStep::Idle),
            &[night],
            0
        ));
    }

    const CFG: RebalanceConfig = RebalanceConfig {
        full_voltage: Millivolts(27_800),
        settle_current: Milliamps(5_000),
        settle_ms: 60_000,
        meter_capacity: MilliampHours(1_200_000),
        raised_capacity_permille: 1_200,
    };

    fn input(v: i32, i: i32) -> RebalanceInput {
        RebalanceInput {
            voltage: Millivolts(v),
            current: Milliamps(i),
            balancing: false,
            locked: false,
            meter: Some((MilliampHours(1_200_000), MilliampHours(1_000_000))),
        }
    }

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for s in RebalanceStep::ALL {
            assert_eq!(RebalanceStep::from_name(s.name()), Some(s));
        }
        assert_eq!(RebalanceStep::from_name("charging"), None);
        assert_eq!(RebalanceStep::RestoreMeter.number(), 4);
    }

    #[test]
    fn four_steps_at_their_edges() {
        let mut r = Rebalance::default();
        assert_eq!(
            r.update(&input(27_000, 0), &CFG, Millis(0)),
            Rebalance::output(RebalanceStep::Idle)
        );
        assert!(r.start());
        assert!(!r.start());
        // Step 1 waits for the meter to report 1440 Ah (1200 Ah × 1.2).
        assert_eq!(CFG.raised_capacity(), MilliampHours(1_440_000));
        let out = r.update(&input(27_000, 0), &CFG, Millis(1));
        assert_eq!(r.step(), RebalanceStep::Raise);
        assert!(out.raise_charge_voltage);
        assert_eq!(out.meter_capacity, MeterCapacity::Raised);
        let mut i = input(27_000, 50_000);
        i.meter = Some((MilliampHours(1_440_000), MilliampHours(1_000_000)));
        let out = r.update(&i, &CFG, Millis(2));
        assert_eq!(r.step(), RebalanceStep::Charge);
        assert!(out.grid_charge && out.raise_charge_voltage);
        // Step 2: 27.800 V is not above 27.8 V; 27.801 V with 5.000 A is not below 5 A.
        i.voltage = Millivolts(27_800);
        i.current = Milliamps(1_000);
        r.update(&i, &CFG, Millis(3));
        i.voltage = Millivolts(27_801);
        i.current = Milliamps(5_000);
        r.update(&i, &CFG, Millis(4));
        i.current = Milliamps(-4_999);
        i.balancing = true;
        r.update(&i, &CFG, Millis(5));
        assert_eq!(r.step(), RebalanceStep::Charge);
        // Settled from 10 ms: 59 999 ms later still charging, at 60 000 ms unlock.
        i.balancing = false;
        r.update(&i, &CFG, Millis(10));
        r.update(&i, &CFG, Millis(60_009));
        assert_eq!(r.step(), RebalanceStep::Charge);
        // A balancing pack restarts the settle timer.
        i.balancing = true;
        r.update(&i, &CFG, Millis(60_009));
        i.balancing = false;
        r.update(&i, &CFG, Millis(60_010));
        r.update(&i, &CFG, Millis(120_009));
        assert_eq!(r.step(), RebalanceStep::Charge);
        let out = r.update(&i, &CFG, Millis(120_010));
        assert_eq!(r.step(), RebalanceStep::Unlock);
        assert!(out.unlock_packs && !out.raise_charge_voltage && !out.grid_charge);
        // Step 3 until no pack is locked.
        i.locked = true;
        r.update(&i, &CFG, Millis(120_011));
        assert_eq!(r.step(), RebalanceStep::Unlock);
        i.locked = false;
        let out = r.update(&i, &CFG, Millis(120_012));
        assert_eq!(r.step(), RebalanceStep::RestoreMeter);
        assert_eq!(out.meter_capacity, MeterCapacity::Raised);
        assert!(!out.unlock_packs);
        // Step 4: remaining 1200.001 Ah is above the normal capacity; 1200 Ah is not.
        i.meter = Some((MilliampHours(1_440_000), MilliampHours(1_200_001)));
        r.update(&i, &CFG, Millis(120_013));
        assert_eq!(r.step(), RebalanceStep::RestoreMeter);
        i.meter = Some((MilliampHours(1_440_000), MilliampHours(1_200_000)));
        let out = r.update(&i, &CFG, Millis(120_014));
        assert_eq!(r.step(), RebalanceStep::Idle);
        assert_eq!(out.meter_capacity, MeterCapacity::Normal);
    }

    #[test]
    fn cancel_from_every_step_restores_everything() {
        for s in RebalanceStep::ALL {
            let mut r = Rebalance::resume(s);
            assert_eq!(r.cancel(), s != RebalanceStep::Idle);
            assert_eq!(r.step(), RebalanceStep::Idle);
            let out = r.update(&input(27_900, 0), &CFG, Millis(0));
            assert_eq!(
                out,
                RebalanceOutput {
                    raise_charge_voltage: false,
                    meter_capacity: MeterCapacity::Normal,
                    grid_charge: false,
                    unlock_packs: false,
                }
            );
        }
    }

    #[test]
    fn resume_restarts_the_settle_timer() {
        let mut r = Rebalance::resume(RebalanceStep::Charge);
        let i = input(27_900, 0);
        r.update(&i, &CFG, Millis(0));
        let persisted = r.step().name();
        let mut r = Rebalance::resume(RebalanceStep::from_name(persisted).unwrap_or_default());
        r.update(&i, &CFG, Millis(50_000));
        r.update(&i, &CFG, Millis(60_000));
        assert_eq!(r.step(), RebalanceStep::Charge);
        r.update(&i, &CFG, Millis(110_000));
        assert_eq!(r.step(), RebalanceStep::Unlock);
    }

    #[test]
    fn without_a_meter_steps_one_and_four_pass() {
        let mut r = Rebalance::default();
        r.start();
        let mut i = input(27_000, 0);
        i.meter = None;
        r.update(&i, &CFG, Millis(0));
        assert_eq!(r.step(), RebalanceStep::Charge);
        let mut r = Rebalance::resume(RebalanceStep::RestoreMeter);
        r.update(&i, &CFG, Millis(0));
        assert_eq!(r.step(), RebalanceStep::Idle);
    }
}
