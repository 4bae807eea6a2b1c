//! The calendar side of the own charge algorithm: the per-month charge voltage and
//! balancing every N days, on injected dates.
//!
//! A date is a [`Day`]: whole days since 1970-01-01 in the installation's time zone (the
//! caller adds its UTC offset before dividing by 86 400 s), so the rules never read a
//! clock.
//!
//! - [`monthly_cvl`]: the charge voltage limit is the cell voltage of the month's table
//!   entry times the cells in series (lower in summer, higher in winter).
//! - [`Balancing`]: every `every_days` days (counted from the last completed balancing) the
//!   cell voltage becomes the balancing voltage until the balancing goal is reached — the
//!   highest cell within `goal_spread` of the balancing voltage *and* the cell spread below
//!   `goal_spread` (25 mV) — and stays there for the rest of that day. The day it completed
//!   is what the caller persists ([`Balancing::last_balanced`]); after a restart on that
//!   day the balancing voltage is still held.

use voltwire_core::Millivolts;

/// Whole days since 1970-01-01.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// The day of `unix_s` seconds since 1970-01-01 00:00 UTC, shifted by `offset_s`
    /// (the installation's UTC offset).
    pub const fn from_unix(unix_s: i64, offset_s: i32) -> Self {
        Self(unix_s.saturating_add(offset_s as i64).div_euclid(86_400))
    }

    /// The day of a civil date (proleptic Gregorian); `None` for a month or day out of
    /// range.
    pub fn from_civil(year: i64, month: u8, day: u8) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Count from 0000-03-01 so that the leap day ends a year.
        let (y, m) = if month <= 2 {
            (year - 1, i64::from(month) + 9)
        } else {
            (year, i64::from(month) - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * m + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        // 719 468 days from 0000-03-01 to 1970-01-01.
        Some(Self(era * 146_097 + doe - 719_468))
    }

    /// The civil date `(year, month 1..=12, day 1..=31)`.
    pub const fn civil(self) -> (i64, u8, u8) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "mp is 0..=11 and the day 1..=31 by construction"
        )]
        let (m, d) = (
            if mp < 10 { mp + 3 } else { mp - 9 } as u8,
            (doy - (153 * mp + 2) / 5 + 1) as u8,
        );
        let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
        (y, m, d)
    }

    /// The month, 1 (January) ..= 12.
    pub const fn month(self) -> u8 {
        self.civil().1
    }
}

const fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

const fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The charge voltage limit of `day`'s month: `table[month - 1] × cells`.
pub fn monthly_cvl(table: &[Millivolts; 12], cells: u16, day: Day) -> Millivolts {
    let per_cell = table
        .get(usize::from(day.month().saturating_sub(1)))
        .copied()
        .unwrap_or(Millivolts(0));
    Millivolts(per_cell.0.saturating_mul(i32::from(cells)))
}

/// The own charge voltage limit of `day`: the balancing voltage times `cells` while
/// [`Balancing::update`] holds it (`balancing`), else [`monthly_cvl`] of `table`, else (no
/// table) the batteries' own limit `batteries`.
pub fn own_cvl(
    table: Option<&[Millivolts; 12]>,
    cells: u16,
    day: Day,
    balancing: Option<Millivolts>,
    batteries: Millivolts,
) -> Millivolts {
    match (balancing, table) {
        (Some(v), _) => Millivolts(v.0.saturating_mul(i32::from(cells))),
        (None, Some(t)) => monthly_cvl(t, cells, day),
        (None, None) => batteries,
    }
}

/// Configuration of [`Balancing`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BalancingConfig {
    /// Balance when this many days passed since the last completed balancing (≥ 1).
    pub every_days: u16,
    /// The cell voltage while balancing.
    pub voltage: Millivolts,
    /// The goal: the cell spread below this, with the highest cell within this of
    /// `voltage` (25 mV by default).
    pub goal_spread: Millivolts,
}

/// Balancing every N days.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Balancing {
    cfg: BalancingConfig,
    last: Option<Day>,
    active: bool,
}

impl Balancing {
    /// Balancing last completed on `last` (the persisted day; `None`: never, so it is due).
    pub const fn new(cfg: BalancingConfig, last: Option<Day>) -> Self {
        Self {
            cfg,
            last,
            active: false,
        }
    }

    /// The day balancing last completed (persist it when it changes).
    pub const fn last_balanced(&self) -> Option<Day> {
        self.last
    }

    /// Whether a balancing is under way (the goal not reached yet).
    pub const fn active(&self) -> bool {
        self.active
    }

    /// One step on `today` with the cell extremes; whether the balancing voltage applies.
    pub fn update(
        &mut self,
        today: Day,
        min_cell: Option<Millivolts>,
        max_cell: Option<Millivolts>,
    ) -> bool {
        let every = i64::from(self.cfg.every_days.max(1));
        if !self.active
            && self
                .last
                .is_none_or(|l| today.0.saturating_sub(l.0) >= every)
        {
            self.active = true;
        }
        if self.active {
            if let (Some(lo), Some(hi)) = (min_cell, max_cell) {
                let goal = self.cfg.goal_spread.0;
                let near_top = hi.0 >= self.cfg.voltage.0.saturating_sub(goal);
                if near_top && hi.0.saturating_sub(lo.0) < goal {
                    self.active = false;
                    self.last = Some(today);
                }
            }
        }
        self.active || self.last == Some(today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MV: fn(i32) -> Millivolts = Millivolts;

    #[test]
    fn civil_dates_both_ways() {
        assert_eq!(Day::from_civil(1970, 1, 1), Some(Day(0)));
        assert_eq!(Day(0).civil(), (1970, 1, 1));
        assert_eq!(Day(-1).civil(), (1969, 12, 31));
        assert_eq!(
            Day::from_civil(2000, 2, 29).map(Day::civil),
            Some((2000, 2, 29))
        );
        assert_eq!(Day::from_civil(2100, 2, 29), None);
        assert_eq!(Day::from_civil(2024, 13, 1), None);
        // 2026-12-07 is day 20 794.
        assert_eq!(Day::from_civil(2026, 12, 7), Some(Day(20_794)));
        for d in -800_000..800_000i64 {
            let (y, m, dd) = Day(d).civil();
            assert_eq!(Day::from_civil(y, m, dd), Some(Day(d)));
        }
        // 23:59:59 UTC on 2026-03-31 is April 1st at UTC+1.
        let t = 20_543 * 86_400 + 86_399;
        assert_eq!(Day::from_unix(t, 0).civil(), (2026, 3, 31));
        assert_eq!(Day::from_unix(t, 3600).civil(), (2026, 4, 1));
        assert_eq!(Day::from_unix(-1, 0), Day(-1));
    }

    #[test]
    fn monthly_table_times_cells() {
        let mut table = [MV(3450); 12];
        table[0] = MV(3550);
        table[6] = MV(3400);
        let day = |m| Day::from_civil(2026, m, 15).unwrap_or(Day(0));
        assert_eq!(monthly_cvl(&table, 16, day(1)), MV(56_800));
        assert_eq!(monthly_cvl(&table, 16, day(7)), MV(54_400));
        assert_eq!(monthly_cvl(&table, 16, day(12)), MV(55_200));
        // The month changes at midnight.
        let jan31 = Day::from_civil(2026, 1, 31).unwrap_or(Day(0));
        assert_eq!(monthly_cvl(&table, 16, jan31), MV(56_800));
        assert_eq!(monthly_cvl(&table, 16, Day(jan31.0 + 1)), MV(55_200));
        let b = MV(55_000);
        assert_eq!(own_cvl(Some(&table), 16, jan31, None, b), MV(56_800));
        assert_eq!(
            own_cvl(Some(&table), 16, jan31, Some(MV(3500)), b),
            MV(56_000)
        );
        assert_eq!(own_cvl(None, 16, jan31, Some(MV(3500)), b), MV(56_000));
        assert_eq!(own_cvl(None, 16, jan31, None, b), b);
    }

    fn cfg() -> BalancingConfig {
        BalancingConfig {
            every_days: 10,
            voltage: MV(3500),
            goal_spread: MV(25),
        }
    }

    #[test]
    fn due_after_n_days_done_at_the_goal_held_for_the_day() {
        let mut b = Balancing::new(cfg(), Some(Day(100)));
        let cells = (Some(MV(3300)), Some(MV(3320)));
        // 9 days after: not due.
        assert!(!b.update(Day(109), cells.0, cells.1));
        // 10 days after: due; a small spread low in the curve is not the goal.
        assert!(b.update(Day(110), cells.0, cells.1));
        assert!(b.active());
        // Near the top (3.475 V = 3.500 - 25 mV) but a 25 mV spread: not yet.
        assert!(b.update(Day(110), Some(MV(3450)), Some(MV(3475))));
        assert!(b.active());
        // 3.474 V with a 1 mV spread: not near the top yet.
        assert!(b.update(Day(110), Some(MV(3473)), Some(MV(3474))));
        // Spread 24 mV at 3.475 V: done, held for the rest of the day.
        assert!(b.update(Day(110), Some(MV(3451)), Some(MV(3475))));
        assert!(!b.active());
        assert_eq!(b.last_balanced(), Some(Day(110)));
        assert!(b.update(Day(110), Some(MV(3300)), Some(MV(3400))));
        // Next day: back to normal; due again ten days later.
        assert!(!b.update(Day(111), cells.0, cells.1));
        assert!(!b.update(Day(119), cells.0, cells.1));
        assert!(b.update(Day(120), cells.0, cells.1));
    }

    #[test]
    fn never_balanced_is_due_and_a_restart_on_the_day_still_holds() {
        let mut b = Balancing::new(cfg(), None);
        assert!(b.update(Day(5), None, None));
        // Not reached for days: it stays on (a heavy imbalance takes several days).
        assert!(b.update(Day(7), Some(MV(3400)), Some(MV(3500))));
        assert!(b.update(Day(7), Some(MV(3490)), Some(MV(3500))));
        assert_eq!(b.last_balanced(), Some(Day(7)));
        // Restarted the same day with the persisted date: still held today, not tomorrow.
        let mut again = Balancing::new(cfg(), b.last_balanced());
        assert!(again.update(Day(7), Some(MV(3300)), Some(MV(3310))));
        assert!(!again.update(Day(8), Some(MV(3300)), Some(MV(3310))));
        // A clock set back before the last balancing: not due.
        assert!(!again.update(Day(3), Some(MV(3300)), Some(MV(3310))));
    }

    /// Closed loop over days: each day the charger takes the highest cell to the cell
    /// voltage the rules ask for, a cell 40 mV high drifts 2 mV per day, and only a day at
    /// the balancing voltage takes 15 mV of spread away. Balancing starts every 10 days,
    /// lasts until the spread is below 25 mV, and the voltage goes back to normal the next
    /// day.
    #[test]
    fn closed_loop_over_days() {
        let mut b = Balancing::new(cfg(), Some(Day(0)));
        let normal = MV(3450);
        let mut spread = 40i32;
        let mut log = heapless::Vec::<(i64, bool), 64>::new();
        for day in 1..=40i64 {
            // Morning: the rules decide on the night's cells.
            let morning = b.update(Day(day), Some(MV(3300 - spread)), Some(MV(3300)));
            let target = if morning { cfg().voltage } else { normal };
            // Afternoon: charged to the target; the highest cell reaches it.
            let top = target.0;
            let held = b.update(Day(day), Some(MV(top - spread)), Some(MV(top)));
            let _ = log.push((day, held));
            if held && b.active() {
                spread = (spread - 15).max(0);
            } else {
                spread += 2;
            }
        }
        let on: heapless::Vec<i64, 64> = log.iter().filter(|d| d.1).map(|d| d.0).collect();
        // Day 10: 40 + 2×9 = 58 mV → 43 → 28 → 13 over days 10–12; the goal is seen on
        // day 13 (held through it); then ten days after each completed one.
        assert_eq!(on.as_slice(), &[10, 11, 12, 13, 23, 24, 34, 35]);
        assert_eq!(b.last_balanced(), Some(Day(35)));
    }
}
