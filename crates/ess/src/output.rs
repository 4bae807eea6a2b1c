//! Per-output (per-inverter) limiting.
//!
//! Each output presents the combined battery with its own current scaling, offset and
//! limits: `limit = clamp(⌊combined × num / den⌋ + offset, 0, min(combined, own maximum))`
//! for the charge and the discharge current limit, and `min(combined, own maximum)` for the
//! charge voltage limit. An output therefore never announces more than the combined battery
//! allows, whatever its configuration. Everything else (SOC, measurements, flags, enables)
//! is passed through unchanged; the measured current is not scaled.

use voltwire_core::{Milliamps, Millivolts};

use crate::state::BatteryState;

/// A non-negative rational factor `num / den`; a zero denominator means 0 (the safe
/// reading of a broken configuration).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ratio {
    /// Numerator.
    pub num: u32,
    /// Denominator.
    pub den: u32,
}

impl Ratio {
    /// 1 / 1.
    pub const ONE: Self = Self { num: 1, den: 1 };

    /// `num / den`.
    pub const fn new(num: u32, den: u32) -> Self {
        Self { num, den }
    }

    /// A factor in permille (1000 = 1.0).
    pub const fn permille(p: u32) -> Self {
        Self { num: p, den: 1000 }
    }

    /// `⌊v × num / den⌋` (towards negative infinity), 0 for a zero denominator.
    fn apply(self, v: i128) -> i128 {
        if self.den == 0 {
            return 0;
        }
        v.saturating_mul(i128::from(self.num))
            .div_euclid(i128::from(self.den))
    }
}

impl Default for Ratio {
    fn default() -> Self {
        Self::ONE
    }
}

/// One output's (one inverter's) scaling and limits.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutputConfig {
    /// Factor applied to the combined current limits (e.g. 1/2 for one of two inverters
    /// sharing the stack).
    pub current_scale: Ratio,
    /// Added to the scaled current limits (may be negative).
    pub current_offset: Milliamps,
    /// This output's own maximum charge current limit.
    pub max_charge_current: Milliamps,
    /// This output's own maximum discharge current limit.
    pub max_discharge_current: Milliamps,
    /// This output's own maximum charge voltage limit.
    pub max_charge_voltage: Millivolts,
}

impl Default for OutputConfig {
    /// Factor 1, no offset, no own limits: the combined state unchanged.
    fn default() -> Self {
        Self {
            current_scale: Ratio::ONE,
            current_offset: Milliamps(0),
            max_charge_current: Milliamps(i32::MAX),
            max_discharge_current: Milliamps(i32::MAX),
            max_charge_voltage: Millivolts(i32::MAX),
        }
    }
}

fn limit_current(combined: Milliamps, cfg: &OutputConfig, own_max: Milliamps) -> Milliamps {
    let c = i128::from(combined.0.max(0));
    let v = cfg
        .current_scale
        .apply(c)
        .saturating_add(i128::from(cfg.current_offset.0));
    let upper = c.min(i128::from(own_max.0.max(0)));
    let clamped = v.clamp(0, upper);
    Milliamps(i32::try_from(clamped).unwrap_or(0))
}

/// The state one output presents: `combined` with this output's scaling and limits (see
/// the [module documentation](self)).
pub fn limit_output(combined: &BatteryState, cfg: &OutputConfig) -> BatteryState {
    let mut s = *combined;
    s.charge_current_limit =
        limit_current(combined.charge_current_limit, cfg, cfg.max_charge_current);
    s.discharge_current_limit = limit_current(
        combined.discharge_current_limit,
        cfg,
        cfg.max_discharge_current,
    );
    s.charge_voltage_limit = combined.charge_voltage_limit.min(cfg.max_charge_voltage);
    s
}
