//! Where the aggregate's DC current comes from: the batteries' sum, or configured current
//! sources (a Multi/Quattro, solar chargers, a shunt) when every one of them is fresh.
//!
//! Fail-safe choice: the sources are used only when *all* configured ones have a value no
//! older than `max_age`; one missing or stale source makes the whole set unusable (a partial
//! sum would under- or over-state the current), and the batteries' own sum is used instead,
//! flagged as [`CurrentFrom::Fallback`] so the app can warn and publish it.

use crate::time::Millis;
use voltwire_core::Milliamps;

/// Which current was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentFrom {
    /// No sources configured: the batteries' summed current.
    Batteries,
    /// Every configured source is fresh: their (sign-corrected) sum.
    Sources,
    /// Sources are configured but at least one is missing or stale: the batteries' sum.
    Fallback,
}

/// One configured source's last value: the current (already inverted where configured)
/// and when it was read; `None` when it never reported or has left the bus.
pub type SourceReading = Option<(Milliamps, Millis)>;

/// The DC current to publish: the sum of `sources` when there are any and each was read at
/// most `max_age` before `now` (age == `max_age` is still fresh), else `batteries`.
#[must_use]
pub fn choose_current(
    batteries: Milliamps,
    sources: &[SourceReading],
    now: Millis,
    max_age: Millis,
) -> (Milliamps, CurrentFrom) {
    if sources.is_empty() {
        return (batteries, CurrentFrom::Batteries);
    }
    let mut sum: i64 = 0;
    for s in sources {
        match s {
            Some((c, at)) if now.since(*at) <= max_age.0 => sum += i64::from(c.0),
            _ => return (batteries, CurrentFrom::Fallback),
        }
    }
    match i32::try_from(sum) {
        Ok(v) => (Milliamps(v), CurrentFrom::Sources),
        Err(_) => (batteries, CurrentFrom::Fallback),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGE: Millis = Millis(10_000);

    #[test]
    fn no_sources_is_the_batteries_sum() {
        assert_eq!(
            choose_current(Milliamps(-12_500), &[], Millis(50_000), AGE),
            (Milliamps(-12_500), CurrentFrom::Batteries)
        );
    }

    #[test]
    fn fresh_sources_are_summed_instead_of_the_batteries() {
        let s = [
            Some((Milliamps(20_000), Millis(40_000))),
            Some((Milliamps(-35_500), Millis(45_000))),
        ];
        assert_eq!(
            choose_current(Milliamps(-10_000), &s, Millis(50_000), AGE),
            (Milliamps(-15_500), CurrentFrom::Sources)
        );
    }

    #[test]
    fn age_edge_is_pinned() {
        // Read at 40 000 ms, max age 10 000 ms: fresh at 50 000, stale at 50 001.
        let s = [
            Some((Milliamps(7_000), Millis(40_000))),
            Some((Milliamps(1_000), Millis(49_000))),
        ];
        assert_eq!(
            choose_current(Milliamps(3), &s, Millis(50_000), AGE),
            (Milliamps(8_000), CurrentFrom::Sources)
        );
        assert_eq!(
            choose_current(Milliamps(3), &s, Millis(50_001), AGE),
            (Milliamps(3), CurrentFrom::Fallback)
        );
    }

    #[test]
    fn one_missing_source_falls_back_to_the_batteries() {
        let s = [Some((Milliamps(7_000), Millis(49_000))), None];
        assert_eq!(
            choose_current(Milliamps(-4_200), &s, Millis(50_000), AGE),
            (Milliamps(-4_200), CurrentFrom::Fallback)
        );
    }

    #[test]
    fn an_overflowing_sum_falls_back() {
        let s = [
            Some((Milliamps(i32::MAX), Millis(50_000))),
            Some((Milliamps(1), Millis(50_000))),
        ];
        assert_eq!(
            choose_current(Milliamps(5), &s, Millis(50_000), AGE),
            (Milliamps(5), CurrentFrom::Fallback)
        );
    }
}
