//! Voltage trim of a charger set by current (a Mean Well NPB) for a charge demand below its
//! minimum current.
//!
//! A charger cannot regulate a current below its minimum, so without trim a small surplus
//! (60 W against an NPB-1200-48's 3.6 A ≈ 190 W) is exported. With trim the charger runs at
//! its minimum current as a cap and its constant-voltage (CV) set point just above the
//! battery's voltage, so the battery's own voltage limits the current; the CV set point is
//! then stepped up or down after the surplus.
//!
//! The rule ([`Trim::update`]) is a pure function of its inputs and `now`:
//!
//! - It enters when the charge power wanted of the device is at least
//!   [`TrimConfig::deadband`] (and below the device's minimum: the caller's condition) and
//!   the device delivers no more than the deadband (it is off, so the battery is at rest),
//!   at the *floor* + one step, where the floor is the battery voltage at entry rounded up
//!   to the 10 mV wire grid. It does not enter when that would be above the *ceiling*. (From
//!   its normal current the device is first switched off for a step or two: a voltage read
//!   while it charges is its own output, not the battery's.)
//! - The ceiling is the lower of the hardware backstop (cells × max cell voltage) and the
//!   charge voltage, rounded down to the 10 mV grid. The trimmed voltage is never above the
//!   ceiling nor below the floor. While charging, the measured voltage is the charger's own
//!   output, so the floor is kept from entry rather than re-read.
//! - Then at most one step of [`TrimConfig::step`] per [`TrimConfig::interval_ms`]: up when
//!   the power wanted exceeds what the device delivers by more than the deadband, down when
//!   it delivers more than wanted by more than the deadband, otherwise held (hysteresis).
//! - It leaves at a step time when at the floor it still delivers more than wanted by more
//!   than the deadband (the floor was read too high: off, and entered again at rest).
//! - It leaves at once (no rate limit) when the power wanted is 0 or less, the device's
//!   delivery is unknown, or the caller stops asking (the demand rose to the device's
//!   minimum, a latch or limit blocks charging, a stale meter or battery, a lost device).

use voltwire_core::{Millivolts, Watts};
use voltwire_ess::Millis;

/// The wire grid of a Mean Well voltage set point: 0.01 V.
pub const GRID: Millivolts = Millivolts(10);

/// The trim's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimConfig {
    /// One step of the CV set point: a positive multiple of [`GRID`].
    pub step: Millivolts,
    /// At most one step per this many milliseconds (each step is one set point write).
    pub interval_ms: u64,
    /// Hysteresis: a step needs the delivered power this far from the wanted power, and
    /// entering needs at least this much wanted.
    pub deadband: Watts,
}

impl Default for TrimConfig {
    /// 10 mV steps, at most one per 10 s, a 20 W deadband.
    fn default() -> Self {
        Self {
            step: Millivolts(10),
            interval_ms: 10_000,
            deadband: Watts(20),
        }
    }
}

impl TrimConfig {
    /// Whether the settings are usable: a step that is a positive multiple of 10 mV and at
    /// most 1 V, a positive interval, a non-negative deadband.
    pub const fn valid(&self) -> bool {
        self.step.0 > 0
            && self.step.0 % GRID.0 == 0
            && self.step.0 <= 1000
            && self.interval_ms > 0
            && self.deadband.0 >= 0
    }
}

/// The trim ceiling for a battery: the lower of `backstop` (cells × max cell voltage) and
/// `charge` (the charge voltage), rounded down to the 10 mV grid.
pub const fn ceiling(backstop: Millivolts, charge: Millivolts) -> Millivolts {
    let v = if backstop.0 < charge.0 {
        backstop.0
    } else {
        charge.0
    };
    Millivolts(v.div_euclid(GRID.0) * GRID.0)
}

const fn round_up(v: Millivolts) -> Millivolts {
    Millivolts((v.0.saturating_add(GRID.0 - 1)).div_euclid(GRID.0) * GRID.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Active {
    voltage: Millivolts,
    floor: Millivolts,
    last_step: Millis,
}

/// One device's trim state: off, or trimming at a voltage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Trim {
    active: Option<Active>,
}

/// What the trim reads at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimInput {
    /// The charge power wanted of the device (below its minimum), in watts.
    pub wanted: Watts,
    /// What the device delivers now (positive = charging), when it reports it.
    pub delivered: Option<Watts>,
    /// The battery voltage now.
    pub battery: Millivolts,
    /// The highest voltage allowed ([`ceiling`]).
    pub ceiling: Millivolts,
}

impl Trim {
    /// The trimmed CV set point, while trimming.
    pub const fn voltage(&self) -> Option<Millivolts> {
        match self.active {
            Some(a) => Some(a.voltage),
            None => None,
        }
    }

    /// Back to normal CV (not trimming).
    pub fn leave(&mut self) {
        self.active = None;
    }

    /// One step at `now`; returns the CV set point while trimming, `None` when not (the
    /// device is then off or at its normal CV, as the caller decides).
    pub fn update(
        &mut self,
        cfg: &TrimConfig,
        now: Millis,
        input: &TrimInput,
    ) -> Option<Millivolts> {
        let ceiling = ceiling(input.ceiling, input.ceiling);
        let wanted = i64::from(input.wanted.0);
        let band = i64::from(cfg.deadband.0);
        let Some(delivered) = input.delivered else {
            self.leave();
            return None;
        };
        let next = match self.active {
            None => {
                let floor = round_up(input.battery);
                let v = floor.0.saturating_add(cfg.step.0);
                let at_rest = i64::from(delivered.0) <= band;
                (wanted >= band && at_rest && input.battery.0 > 0 && v <= ceiling.0).then_some(
                    Active {
                        voltage: Millivolts(v),
                        floor,
                        last_step: now,
                    },
                )
            }
            Some(_) if wanted <= 0 => None,
            // Never above the ceiling, whatever happened before.
            Some(a) if a.voltage.0 > ceiling.0 => None,
            Some(mut a) => {
                let error = wanted - i64::from(delivered.0);
                let due = now.since(a.last_step) >= cfg.interval_ms;
                if due && error < -band && a.voltage == a.floor {
                    self.leave();
                    return None;
                }
                if due {
                    let v = if error > band {
                        a.voltage.0.saturating_add(cfg.step.0).min(ceiling.0)
                    } else if error < -band {
                        a.voltage.0.saturating_sub(cfg.step.0).max(a.floor.0)
                    } else {
                        a.voltage.0
                    };
                    if v != a.voltage.0 {
                        a.voltage = Millivolts(v);
                        a.last_step = now;
                    }
                }
                Some(a)
            }
        };
        self.active = next;
        self.voltage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 16 LFP cells: backstop 16 × 3.55 = 56.80 V, charge 55.20 V.
    const CEILING: Millivolts = Millivolts(55_200);

    fn input(wanted: i32, delivered: i32, battery: i32) -> TrimInput {
        TrimInput {
            wanted: Watts(wanted),
            delivered: Some(Watts(delivered)),
            battery: Millivolts(battery),
            ceiling: CEILING,
        }
    }

    #[test]
    fn the_ceiling_is_the_lower_of_backstop_and_charge_voltage_on_the_grid() {
        assert_eq!(
            ceiling(Millivolts(56_800), Millivolts(55_200)),
            Millivolts(55_200)
        );
        assert_eq!(
            ceiling(Millivolts(55_109), Millivolts(55_200)),
            Millivolts(55_100)
        );
        assert_eq!(
            ceiling(Millivolts(56_800), Millivolts(55_209)),
            Millivolts(55_200)
        );
    }

    #[test]
    fn config_edges() {
        let ok = TrimConfig::default();
        assert!(ok.valid());
        for bad in [
            TrimConfig {
                step: Millivolts(0),
                ..ok
            },
            TrimConfig {
                step: Millivolts(15),
                ..ok
            },
            TrimConfig {
                step: Millivolts(1010),
                ..ok
            },
            TrimConfig {
                interval_ms: 0,
                ..ok
            },
            TrimConfig {
                deadband: Watts(-1),
                ..ok
            },
        ] {
            assert!(!bad.valid(), "{bad:?}");
        }
        assert!(
            TrimConfig {
                step: Millivolts(1000),
                deadband: Watts(0),
                ..ok
            }
            .valid()
        );
    }

    #[test]
    fn enters_at_the_deadband_one_step_above_the_battery_rounded_up() {
        let c = TrimConfig::default();
        let mut t = Trim::default();
        assert_eq!(
            t.update(&c, Millis(0), &input(19, 0, 52_401)),
            None,
            "19 W < 20 W"
        );
        assert_eq!(
            t.update(&c, Millis(0), &input(20, 0, 52_401)),
            Some(Millivolts(52_420)),
            "floor 52.41 V (52.401 rounded up) + 10 mV"
        );
        let mut t = Trim::default();
        assert_eq!(
            t.update(&c, Millis(0), &input(60, 21, 52_400)),
            None,
            "still delivering 21 W"
        );
        assert_eq!(
            t.update(&c, Millis(0), &input(60, 20, 52_400)),
            Some(Millivolts(52_410))
        );
    }

    #[test]
    fn never_enters_above_the_ceiling() {
        let c = TrimConfig::default();
        let mut t = Trim::default();
        assert_eq!(
            t.update(&c, Millis(0), &input(60, 0, 55_191)),
            None,
            "55.20 + 0.01 > 55.20"
        );
        assert_eq!(
            t.update(&c, Millis(0), &input(60, 0, 55_190)),
            Some(CEILING)
        );
        let mut t = Trim::default();
        assert_eq!(
            t.update(&c, Millis(0), &input(60, 0, 0)),
            None,
            "no voltage"
        );
    }

    #[test]
    fn steps_once_per_interval_outside_the_deadband_and_holds_inside() {
        let c = TrimConfig::default();
        let mut t = Trim::default();
        assert_eq!(
            t.update(&c, Millis(0), &input(60, 0, 52_400)),
            Some(Millivolts(52_410))
        );
        // 60 − 39 = 21 W > 20 W, but within the interval.
        assert_eq!(
            t.update(&c, Millis(9_999), &input(60, 39, 52_410)),
            Some(Millivolts(52_410))
        );
        assert_eq!(
            t.update(&c, Millis(10_000), &input(60, 39, 52_410)),
            Some(Millivolts(52_420))
        );
        // Exactly 20 W either way: held, and the interval restarts only on a step.
        assert_eq!(
            t.update(&c, Millis(20_000), &input(60, 40, 52_420)),
            Some(Millivolts(52_420))
        );
        assert_eq!(
            t.update(&c, Millis(20_000), &input(60, 80, 52_420)),
            Some(Millivolts(52_420))
        );
        // 81 W delivered: 21 W too much → down at once (the interval since the last step is over).
        assert_eq!(
            t.update(&c, Millis(20_001), &input(60, 81, 52_420)),
            Some(Millivolts(52_410))
        );
        assert_eq!(
            t.update(&c, Millis(30_000), &input(60, 81, 52_420)),
            Some(Millivolts(52_410))
        );
        assert_eq!(
            t.update(&c, Millis(30_001), &input(60, 81, 52_420)),
            Some(Millivolts(52_400)),
            "the floor"
        );
        // At the floor, exactly 20 W too much: held; 21 W too much: out (the floor was
        // read high; entered again once the device is at rest).
        assert_eq!(
            t.update(&c, Millis(40_001), &input(21, 41, 52_400)),
            Some(Millivolts(52_400)),
            "never below the floor"
        );
        assert_eq!(t.update(&c, Millis(40_001), &input(20, 41, 52_400)), None);
    }

    #[test]
    fn never_above_the_ceiling_while_stepping_up() {
        let c = TrimConfig {
            step: Millivolts(30),
            ..TrimConfig::default()
        };
        let mut t = Trim::default();
        assert_eq!(
            t.update(&c, Millis(0), &input(100, 0, 55_150)),
            Some(Millivolts(55_180))
        );
        assert_eq!(
            t.update(&c, Millis(10_000), &input(100, 0, 55_150)),
            Some(CEILING)
        );
        assert_eq!(
            t.update(&c, Millis(20_000), &input(100, 0, 55_150)),
            Some(CEILING)
        );
        // A lower ceiling than the trim (a caller's battery config changed): out.
        let mut low = input(100, 0, 55_150);
        low.ceiling = Millivolts(55_000);
        assert_eq!(t.update(&c, Millis(20_001), &low), None);
    }

    #[test]
    fn leaves_at_zero_wanted_or_unknown_delivery_and_enters_again_at_the_deadband() {
        let c = TrimConfig::default();
        let mut t = Trim::default();
        assert!(t.update(&c, Millis(0), &input(60, 0, 52_400)).is_some());
        assert_eq!(
            t.update(&c, Millis(1_000), &input(1, 30, 52_410)),
            Some(Millivolts(52_410)),
            "still wanted"
        );
        assert_eq!(t.update(&c, Millis(2_000), &input(0, 30, 52_410)), None);
        assert_eq!(t.voltage(), None);
        assert_eq!(
            t.update(&c, Millis(3_000), &input(19, 0, 52_400)),
            None,
            "hysteresis: 0 < 19 < 20"
        );
        assert_eq!(
            t.update(&c, Millis(4_000), &input(20, 0, 52_400)),
            Some(Millivolts(52_410))
        );
        let mut unknown = input(60, 0, 52_400);
        unknown.delivered = None;
        assert_eq!(t.update(&c, Millis(5_000), &unknown), None);
    }
}
