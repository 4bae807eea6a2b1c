//! The aggregator's own charge rules: pure functions of cell voltages (and of the previous
//! state where there is hysteresis).
//!
//! - [`DischargeLatch`]: "fully discharged" — the lowest cell at or below the trip voltage
//!   (2.90 V by default) sets the discharge current limit to 0 until the lowest cell is
//!   above the release voltage (3.00 V).
//! - [`interpolate`]: a current limit as a piecewise-linear function of a cell voltage (the
//!   charge current over the highest cell, the discharge current over the lowest cell), from
//!   a configured table.
//! - [`DynamicCvl`]: as soon as the highest cell reaches the maximum cell voltage, the
//!   charge voltage limit follows the pack voltage less the highest cell's excess, so the
//!   charger pulls the pack down until that cell is below the maximum; released when the
//!   highest cell is `release_margin` below the maximum.
//! - [`apply`]: the tables and the latch on top of the aggregate's limits (never raising
//!   them).

use voltwire_core::{Milliamps, Millivolts};

use crate::state::BatteryState;

/// The "fully discharged" latch with hysteresis.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DischargeLatch {
    /// Trip when the lowest cell is at or below this.
    pub trip: Millivolts,
    /// Release when the lowest cell is above this.
    pub release: Millivolts,
    /// Whether the latch is set.
    pub latched: bool,
}

impl Default for DischargeLatch {
    /// Trip at 2.900 V, release above 3.000 V, not latched.
    fn default() -> Self {
        Self {
            trip: Millivolts(2900),
            release: Millivolts(3000),
            latched: false,
        }
    }
}

impl DischargeLatch {
    /// Update with the lowest cell voltage (`None`: no cell data, the latch keeps its
    /// state) and return whether discharging is forbidden.
    pub fn update(&mut self, min_cell: Option<Millivolts>) -> bool {
        if let Some(v) = min_cell {
            if v <= self.trip {
                self.latched = true;
            } else if v > self.release {
                self.latched = false;
            }
        }
        self.latched
    }
}

/// The dynamic charge voltage limit with hysteresis.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DynamicCvl {
    /// Start limiting when the highest cell reaches this.
    pub max_cell: Millivolts,
    /// Stop limiting when the highest cell is below `max_cell - release_margin`.
    pub release_margin: Millivolts,
    /// Never set the limit below this (the pack's float or resting voltage).
    pub floor: Millivolts,
    /// Whether it is limiting.
    pub limiting: bool,
}

impl DynamicCvl {
    /// Update with the pack voltage and the highest cell, and return the charge voltage
    /// limit: `cvl` when not limiting (or without cell data, which keeps the state), else
    /// `min(cvl, max(floor, voltage - max(0, highest - max_cell)))`.
    pub fn update(
        &mut self,
        cvl: Millivolts,
        voltage: Millivolts,
        highest: Option<Millivolts>,
    ) -> Millivolts {
        let Some(h) = highest else {
            return if self.limiting {
                cvl.min(voltage.max(self.floor))
            } else {
                cvl
            };
        };
        if h >= self.max_cell {
            self.limiting = true;
        } else if h.0 < self.max_cell.0.saturating_sub(self.release_margin.0) {
            self.limiting = false;
        }
        if !self.limiting {
            return cvl;
        }
        let excess = h.0.saturating_sub(self.max_cell.0).max(0);
        cvl.min(Millivolts(voltage.0.saturating_sub(excess)).max(self.floor))
    }
}

/// The current of `table` at `v`, linearly interpolated between the points around it
/// (rounded down, so never above either neighbour's straight line), the first point's
/// current below the table and the last point's above it. The table is
/// `(cell voltage, current)` in ascending voltage; a point whose voltage is not above the
/// previous one is skipped. `None` for an empty table.
pub fn interpolate(table: &[(Millivolts, Milliamps)], v: Millivolts) -> Option<Milliamps> {
    let mut prev: Option<(Millivolts, Milliamps)> = None;
    for &(pv, pc) in table {
        match prev {
            None => {
                if v <= pv {
                    return Some(pc);
                }
                prev = Some((pv, pc));
            }
            Some((lv, lc)) => {
                if pv <= lv {
                    continue;
                }
                if v <= pv {
                    let (dv, span) = (
                        i64::from(v.0) - i64::from(lv.0),
                        i64::from(pv.0) - i64::from(lv.0),
                    );
                    let dc = i64::from(pc.0) - i64::from(lc.0);
                    let c = i64::from(lc.0) + (dc * dv).div_euclid(span);
                    return Some(Milliamps(i32::try_from(c).unwrap_or(lc.0.min(pc.0))));
                }
                prev = Some((pv, pc));
            }
        }
    }
    prev.map(|(_, c)| c)
}

/// The charge rules' tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChargeTables<'a> {
    /// Charge current limit over the highest cell voltage (empty: no limit).
    pub charge: &'a [(Millivolts, Milliamps)],
    /// Discharge current limit over the lowest cell voltage (empty: no limit).
    pub discharge: &'a [(Millivolts, Milliamps)],
}

/// Apply the tables and the latch to `s` given the cell extremes: each limit becomes the
/// smaller of its own and the table's; a latched [`DischargeLatch`] sets the discharge limit
/// to 0 (discharge enable stays as it was: the inverter may still charge). Without cell
/// data the tables do not apply.
#[must_use]
pub fn apply(
    mut s: BatteryState,
    tables: &ChargeTables<'_>,
    latch: &mut DischargeLatch,
    min_cell: Option<Millivolts>,
    max_cell: Option<Millivolts>,
) -> BatteryState {
    if let Some(c) = max_cell.and_then(|v| interpolate(tables.charge, v)) {
        s.charge_current_limit = s.charge_current_limit.min(Milliamps(c.0.max(0)));
    }
    if let Some(c) = min_cell.and_then(|v| interpolate(tables.discharge, v)) {
        s.discharge_current_limit = s.discharge_current_limit.min(Milliamps(c.0.max(0)));
    }
    if latch.update(min_cell) {
        s.discharge_current_limit = Milliamps(0);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const MV: fn(i32) -> Millivolts = Millivolts;
    const MA: fn(i32) -> Milliamps = Milliamps;

    #[test]
    fn latch_trips_at_2900_and_releases_above_3000() {
        let mut l = DischargeLatch::default();
        assert!(!l.update(Some(MV(2901))));
        assert!(l.update(Some(MV(2900))));
        assert!(l.update(Some(MV(2950))));
        assert!(l.update(Some(MV(3000))));
        assert!(l.update(None));
        assert!(!l.update(Some(MV(3001))));
        assert!(!l.update(Some(MV(2950))));
    }

    #[test]
    fn interpolation_at_and_between_points() {
        let t = [
            (MV(3400), MA(100_000)),
            (MV(3500), MA(20_000)),
            (MV(3600), MA(0)),
        ];
        assert_eq!(interpolate(&t, MV(3000)), Some(MA(100_000)));
        assert_eq!(interpolate(&t, MV(3400)), Some(MA(100_000)));
        assert_eq!(interpolate(&t, MV(3450)), Some(MA(60_000)));
        assert_eq!(interpolate(&t, MV(3401)), Some(MA(99_200)));
        assert_eq!(interpolate(&t, MV(3500)), Some(MA(20_000)));
        // 20 A - 3 × 200 mA per mV = 19.4 A; down-rounding of 1/3 steps.
        assert_eq!(interpolate(&t, MV(3503)), Some(MA(19_400)));
        assert_eq!(interpolate(&t, MV(3600)), Some(MA(0)));
        assert_eq!(interpolate(&t, MV(4000)), Some(MA(0)));
        assert_eq!(interpolate(&[], MV(3400)), None);
        // Rounded down between points: 10 A over 3 mV.
        let u = [(MV(0), MA(0)), (MV(3), MA(10))];
        assert_eq!(interpolate(&u, MV(1)), Some(MA(3)));
        // A point that does not rise is skipped.
        let w = [(MV(3000), MA(50)), (MV(3000), MA(0)), (MV(3100), MA(150))];
        assert_eq!(interpolate(&w, MV(3050)), Some(MA(100)));
    }

    #[test]
    fn dynamic_cvl_trips_at_the_max_cell_and_releases_below_the_margin() {
        let mut d = DynamicCvl {
            max_cell: MV(3450),
            release_margin: MV(20),
            floor: MV(53_600),
            limiting: false,
        };
        let cvl = MV(55_200);
        assert_eq!(d.update(cvl, MV(55_000), Some(MV(3449))), cvl);
        assert!(!d.limiting);
        // At the maximum: hold the pack voltage; 20 mV over: 20 mV below it.
        assert_eq!(d.update(cvl, MV(55_000), Some(MV(3450))), MV(55_000));
        assert_eq!(d.update(cvl, MV(55_000), Some(MV(3470))), MV(54_980));
        // Never below the floor, never above the normal limit.
        assert_eq!(d.update(cvl, MV(53_610), Some(MV(3500))), MV(53_600));
        assert_eq!(d.update(MV(54_000), MV(55_000), Some(MV(3450))), MV(54_000));
        // Within the margin: still limiting (holding the voltage); below it: released.
        assert_eq!(d.update(cvl, MV(54_500), Some(MV(3430))), MV(54_500));
        assert_eq!(d.update(cvl, MV(54_500), None), MV(54_500));
        assert_eq!(d.update(cvl, MV(54_500), Some(MV(3429))), cvl);
        assert!(!d.limiting);
        assert_eq!(d.update(cvl, MV(54_500), None), cvl);
    }

    /// Closed loop: 16 cells, the highest 60 mV above the average; the charger moves the
    /// pack at most 10 mV per step toward the limit; while limiting (high voltage) the
    /// balancer takes 1 mV of imbalance per step.
    #[test]
    fn dynamic_cvl_closed_loop() {
        let mut d = DynamicCvl {
            max_cell: MV(3450),
            release_margin: MV(20),
            floor: MV(52_000),
            limiting: false,
        };
        let cvl = MV(55_200);
        let (mut v, mut imbalance) = (53_600i32, 60i32);
        let mut events = heapless::Vec::<(u32, i32, bool), 16>::new();
        let mut highest_seen = 0;
        for t in 0..400u32 {
            let highest = v / 16 + imbalance;
            highest_seen = highest_seen.max(highest);
            let was = d.limiting;
            let limit = d.update(cvl, MV(v), Some(MV(highest)));
            if d.limiting != was {
                let _ = events.push((t, highest, d.limiting));
            }
            v += (limit.0 - v).clamp(-10, 10);
            if d.limiting && imbalance > 0 {
                imbalance -= 1;
            }
        }
        // Trips at 3.450 V (first at pack 54.240 V), holds the pack while the balancer
        // works, releases at 3.429 V (20 mV margin), charges on, trips again; once the
        // imbalance is gone it holds at the maximum.
        assert_eq!(
            events.as_slice(),
            &[
                (64, 3450, true),
                (85, 3429, false),
                (119, 3450, true),
                (140, 3429, false),
                (174, 3450, true)
            ]
        );
        // The highest cell never runs more than 1 mV past the maximum, and the pack ends
        // balanced at the normal limit.
        assert!(highest_seen <= 3451, "{highest_seen}");
        assert_eq!(imbalance, 0);
        assert!(v <= 55_200);
    }

    #[test]
    fn apply_never_raises_and_latch_zeroes_dcl() {
        let s = BatteryState {
            charge_current_limit: MA(50_000),
            discharge_current_limit: MA(80_000),
            charge_enable: true,
            discharge_enable: true,
            ..BatteryState::default()
        };
        let charge = [(MV(3400), MA(100_000)), (MV(3550), MA(0))];
        let discharge = [(MV(2900), MA(0)), (MV(3100), MA(100_000))];
        let tables = ChargeTables {
            charge: &charge,
            discharge: &discharge,
        };
        let mut latch = DischargeLatch::default();
        let o = apply(s, &tables, &mut latch, Some(MV(3000)), Some(MV(3475)));
        assert_eq!(o.charge_current_limit, MA(50_000));
        assert_eq!(o.discharge_current_limit, MA(50_000));
        let o = apply(s, &tables, &mut latch, Some(MV(3200)), Some(MV(3520)));
        assert_eq!(o.charge_current_limit, MA(20_000));
        assert_eq!(o.discharge_current_limit, MA(80_000));
        let o = apply(s, &tables, &mut latch, Some(MV(2900)), None);
        assert_eq!(o.discharge_current_limit, MA(0));
        assert!(o.discharge_enable);
        let o = apply(s, &tables, &mut latch, Some(MV(3000)), None);
        assert_eq!(o.discharge_current_limit, MA(0));
        let o = apply(s, &tables, &mut latch, Some(MV(3010)), None);
        assert_eq!(o.discharge_current_limit, MA(55_000));
    }
}
