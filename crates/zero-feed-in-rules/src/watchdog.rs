//! Data age with recovery after a hold time.

use voltwire_ess::Millis;

/// Whether a source's data can be trusted, judged at every tick from the time of its latest
/// reading, so a source that goes quiet while its connection stays up is noticed.
///
/// Data is stale when the latest reading is older than the timeout (or there is none).
/// Once stale, the source is trusted again only after readings have kept arriving, each
/// within the timeout of the previous, for the hold time (the latest reading at least
/// `hold_ms` after the first fresh one). A new source starts stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    ok: bool,
    first_fresh: Option<Millis>,
}

impl Default for Freshness {
    fn default() -> Self {
        Self::new()
    }
}

impl Freshness {
    /// A source not yet trusted.
    pub const fn new() -> Self {
        Self {
            ok: false,
            first_fresh: None,
        }
    }

    /// Whether the source was trusted at the last [`Self::update`].
    pub const fn ok(&self) -> bool {
        self.ok
    }

    /// Judges the source at `now` from the time of its latest reading; returns whether it
    /// is trusted. A reading is fresh while `now - last ≤ timeout_ms`.
    pub fn update(
        &mut self,
        last: Option<Millis>,
        now: Millis,
        timeout_ms: u64,
        hold_ms: u64,
    ) -> bool {
        let fresh = last.filter(|&t| now.since(t) <= timeout_ms);
        match fresh {
            None => {
                self.ok = false;
                self.first_fresh = None;
            }
            Some(t) if !self.ok => {
                let first = *self.first_fresh.get_or_insert(t);
                if t.since(first) >= hold_ms {
                    self.ok = true;
                    self.first_fresh = None;
                }
            }
            Some(_) => {}
        }
        self.ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_exactly_after_the_timeout_and_back_after_the_hold() {
        let mut f = Freshness::new();
        assert!(!f.update(None, Millis(0), 10_000, 3_000));
        // First reading at 0: held, not yet trusted.
        assert!(!f.update(Some(Millis(0)), Millis(0), 10_000, 3_000));
        assert!(!f.update(Some(Millis(2_999)), Millis(2_999), 10_000, 3_000));
        assert!(f.update(Some(Millis(3_000)), Millis(3_000), 10_000, 3_000));
        // Silent but "connected": fresh up to and including 10 s of age.
        assert!(f.update(Some(Millis(3_000)), Millis(13_000), 10_000, 3_000));
        assert!(!f.update(Some(Millis(3_000)), Millis(13_001), 10_000, 3_000));
        // One reading is not enough to recover ...
        assert!(!f.update(Some(Millis(20_000)), Millis(20_000), 10_000, 3_000));
        assert!(!f.update(Some(Millis(20_000)), Millis(25_000), 10_000, 3_000));
        // ... readings over the hold time are.
        assert!(f.update(Some(Millis(23_000)), Millis(25_000), 10_000, 3_000));
    }

    #[test]
    fn a_gap_during_recovery_restarts_the_hold() {
        let mut f = Freshness::new();
        f.update(Some(Millis(0)), Millis(0), 1_000, 3_000);
        f.update(Some(Millis(0)), Millis(1_001), 1_000, 3_000); // stale again
        assert!(!f.update(Some(Millis(2_000)), Millis(2_000), 1_000, 3_000));
        // The next reading is late: the hold starts again from the one after the gap.
        assert!(!f.update(Some(Millis(2_000)), Millis(3_001), 1_000, 3_000));
        assert!(!f.update(Some(Millis(4_000)), Millis(4_000), 1_000, 3_000));
        assert!(!f.update(Some(Millis(5_000)), Millis(5_000), 1_000, 3_000));
        assert!(!f.update(Some(Millis(6_000)), Millis(6_000), 1_000, 3_000));
        assert!(f.update(Some(Millis(7_000)), Millis(7_000), 1_000, 3_000));
    }
}
