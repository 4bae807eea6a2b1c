//! Combining several batteries into one virtual battery.
//!
//! | Quantity | Rule |
//! |---|---|
//! | Charge voltage limit | minimum |
//! | Charge / discharge current limit | [`CurrentRule`] (capacity-weighted by default; N × smallest; sum only as an opt-in), then clamped to the configured stack limits |
//! | SOC, SOH, voltage, temperature | average weighted by configured capacity, rounded to nearest (halves away from zero) |
//! | Current | sum (saturating) |
//! | Error and warning flags | bitwise OR |
//! | Charge / discharge enable | AND; a disabled direction gets a zero current limit |
//! | Requests (force charge I/II, full charge) | OR |
//! | Module count | sum (saturating) |
//!
//! A negative configured capacity counts as 0. When every capacity is 0 the batteries are
//! weighted equally. Negative current limits in an input count as 0. All arithmetic is in
//! `i128` with saturation; results that do not fit their unit saturate at its bounds.

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};

use crate::state::{BatteryState, Flags, Requests};

/// How the stack's charge and discharge current limits follow from the batteries' limits.
///
/// Batteries in parallel on one DC bus share the current by capacity and internal
/// resistance, not by the limits their BMSes announce. The default,
/// [`CurrentRule::CapacityWeighted`], therefore protects the weakest battery: two equal
/// batteries whose BMSes allow 95 A and 5 A give 10 A (each takes about half), where
/// [`CurrentRule::Sum`] would give 100 A and push about 50 A through the battery that
/// allows 5 A.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CurrentRule {
    /// The sum of the limits (what `bms_gateway` does). Opt-in only: it assumes the
    /// current splits so that no battery exceeds its own limit, which paralleled batteries
    /// do not guarantee.
    Sum,
    /// The number of batteries times the smallest limit: safe when the batteries are equal
    /// and share the current equally.
    SmallestTimesCount,
    /// The default. The current splits in proportion to capacity, so the stack limit is
    /// the largest total at which no battery's share exceeds its own limit:
    /// `min_i(limit_i × ΣC / C_i)`, rounded down (for equal batteries: N × the smallest
    /// limit). Batteries with capacity 0 take no share and do not constrain; when every
    /// capacity is 0 it is N × the smallest limit.
    #[default]
    CapacityWeighted,
}

/// Configuration of [`combine`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CombineConfig {
    /// How the current limits add up.
    pub current_rule: CurrentRule,
    /// Upper bound of the combined charge current limit (the stack's own limit: cabling,
    /// fuses, busbars).
    pub max_charge_current: Milliamps,
    /// Upper bound of the combined discharge current limit.
    pub max_discharge_current: Milliamps,
}

impl Default for CombineConfig {
    /// [`CurrentRule::CapacityWeighted`], no stack limit.
    fn default() -> Self {
        Self {
            current_rule: CurrentRule::CapacityWeighted,
            max_charge_current: Milliamps(i32::MAX),
            max_discharge_current: Milliamps(i32::MAX),
        }
    }
}

/// Divide, rounding to nearest with halves away from zero; `d` must be positive.
fn div_round(n: i128, d: i128) -> i128 {
    if d <= 0 {
        return 0;
    }
    let q = n / d;
    let r = n % d;
    // |r| * 2 >= d rounds away from zero.
    if r.unsigned_abs().saturating_mul(2) >= d.unsigned_abs() {
        if n < 0 { q - 1 } else { q + 1 }
    } else {
        q
    }
}

fn sat_i32(v: i128) -> i32 {
    i32::try_from(v.clamp(i128::from(i32::MIN), i128::from(i32::MAX))).unwrap_or(0)
}

fn sat_i16(v: i128) -> i16 {
    i16::try_from(v.clamp(i128::from(i16::MIN), i128::from(i16::MAX))).unwrap_or(0)
}

/// Running sums of one weighted quantity: capacity-weighted and unweighted.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default)]
struct Avg {
    weighted: i128,
    plain: i128,
}

impl Avg {
    fn add(&mut self, v: i128, w: i128) {
        self.weighted = self.weighted.saturating_add(v.saturating_mul(w));
        self.plain = self.plain.saturating_add(v);
    }

    fn get(self, total_weight: i128, count: i128) -> i128 {
        if total_weight > 0 {
            div_round(self.weighted, total_weight)
        } else {
            div_round(self.plain, count)
        }
    }
}

/// The smallest `limit / weight` seen, as a fraction (weight > 0).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy)]
struct MinRatio {
    limit: i128,
    weight: i128,
}

/// One current limit's accumulator for every [`CurrentRule`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default)]
struct LimitAcc {
    sum: i128,
    min: Option<i128>,
    ratio: Option<MinRatio>,
}

impl LimitAcc {
    fn add(&mut self, limit: Milliamps, w: i128) {
        let l = i128::from(limit.0.max(0));
        self.sum = self.sum.saturating_add(l);
        self.min = Some(self.min.map_or(l, |m| m.min(l)));
        if w > 0 {
            let smaller = self.ratio.is_none_or(|r| {
                // l / w < r.limit / r.weight, cross-multiplied (both weights positive).
                l.saturating_mul(r.weight) < r.limit.saturating_mul(w)
            });
            if smaller {
                self.ratio = Some(MinRatio {
                    limit: l,
                    weight: w,
                });
            }
        }
    }

    fn get(self, rule: CurrentRule, count: i128, total_weight: i128, max: Milliamps) -> Milliamps {
        let smallest_times_count = self.min.unwrap_or(0).saturating_mul(count);
        let v = match rule {
            CurrentRule::Sum => self.sum,
            CurrentRule::SmallestTimesCount => smallest_times_count,
            CurrentRule::CapacityWeighted => match self.ratio {
                // Rounded down: never above what the weakest battery can carry.
                Some(r) if total_weight > 0 => {
                    r.limit.saturating_mul(total_weight) / r.weight.max(1)
                }
                _ => smallest_times_count,
            },
        };
        Milliamps(sat_i32(v.min(i128::from(max.0.max(0)))))
    }
}

/// Combine batteries, each with its configured capacity, into one virtual battery (rules in
/// the [module documentation](self)). `None` when `inputs` is empty.
///
/// Takes an iterator so that callers can filter without allocating.
pub fn combine<'a, I>(inputs: I, cfg: &CombineConfig) -> Option<BatteryState>
where
    I: IntoIterator<Item = (&'a BatteryState, MilliampHours)>,
{
    let mut count: i128 = 0;
    let mut total_weight: i128 = 0;
    let mut cvl: Option<Millivolts> = None;
    let (mut ccl, mut dcl) = (LimitAcc::default(), LimitAcc::default());
    let (mut soc, mut soh, mut volt, mut temp) = (
        Avg::default(),
        Avg::default(),
        Avg::default(),
        Avg::default(),
    );
    let mut current: i128 = 0;
    let (mut errors, mut warnings, mut requests) = (Flags::NONE, Flags::NONE, Requests::NONE);
    let (mut charge_enable, mut discharge_enable) = (true, true);
    let mut modules: u16 = 0;

    for (s, capacity) in inputs {
        let w = i128::from(capacity.0.max(0));
        count += 1;
        total_weight = total_weight.saturating_add(w);
        cvl = Some(cvl.map_or(s.charge_voltage_limit, |v| v.min(s.charge_voltage_limit)));
        ccl.add(s.charge_current_limit, w);
        dcl.add(s.discharge_current_limit, w);
        soc.add(i128::from(s.soc.0), w);
        soh.add(i128::from(s.soh.0), w);
        volt.add(i128::from(s.voltage.0), w);
        temp.add(i128::from(s.temperature.0), w);
        current = current.saturating_add(i128::from(s.current.0));
        errors = errors.union(s.errors);
        warnings = warnings.union(s.warnings);
        requests = requests.union(s.requests);
        charge_enable &= s.charge_enable;
        discharge_enable &= s.discharge_enable;
        modules = modules.saturating_add(s.module_count);
    }

    let charge_voltage_limit = cvl?;
    let zero = Milliamps(0);
    let charge_max = if charge_enable {
        cfg.max_charge_current
    } else {
        zero
    };
    let discharge_max = if discharge_enable {
        cfg.max_discharge_current
    } else {
        zero
    };
    Some(BatteryState {
        charge_voltage_limit,
        charge_current_limit: ccl.get(cfg.current_rule, count, total_weight, charge_max),
        discharge_current_limit: dcl.get(cfg.current_rule, count, total_weight, discharge_max),
        soc: Permille(sat_i16(soc.get(total_weight, count))),
        soh: Permille(sat_i16(soh.get(total_weight, count))),
        voltage: Millivolts(sat_i32(volt.get(total_weight, count))),
        current: Milliamps(sat_i32(current)),
        temperature: DeciCelsius(sat_i16(temp.get(total_weight, count))),
        errors,
        warnings,
        charge_enable,
        discharge_enable,
        requests,
        module_count: modules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(-4, 3), -1);
        assert_eq!(div_round(7, 0), 0);
    }
}
