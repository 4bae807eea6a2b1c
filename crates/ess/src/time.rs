//! Injected time.

/// A point in time (or a span) in milliseconds of the caller's monotonic clock.
///
/// The domain logic never reads a clock: every function that depends on time takes `now`.
/// Only differences matter, so any origin works (boot, process start, a test's zero).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// Milliseconds from `earlier` to `self`; 0 when `earlier` is later (a timestamp from
    /// the future counts as age 0).
    pub const fn since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + ms`, saturating at `u64::MAX`.
    #[must_use]
    pub const fn saturating_add(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }
}
