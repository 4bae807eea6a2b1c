//! EEPROM write discipline for devices that store every set point in EEPROM (a Mean Well
//! without the EEPROM-write-disable bit): a token bucket bounds the average write rate, and a
//! lifetime counter (persisted by the caller) refuses writes above the rated limit.

use voltwire_ess::Millis;

/// The budget's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteBudgetConfig {
    /// Average writes allowed per hour (2.3 / min = 138 / h by default).
    pub per_hour: u32,
    /// Writes allowed in a burst (the bucket's size).
    pub burst: u32,
    /// Rated lifetime writes: above this nothing is written (and an alarm raised).
    pub rated_writes: u64,
}

impl Default for WriteBudgetConfig {
    fn default() -> Self {
        Self {
            per_hour: 138,
            burst: 3,
            rated_writes: 1_000_000,
        }
    }
}

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The average rate is used up; retry later.
    RateLimited,
    /// The lifetime count reached the rated writes: the device's EEPROM is worn out by
    /// rating; never written again by this budget (an alarm).
    LifetimeExhausted,
}

impl Refused {
    /// `snake_case` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::LifetimeExhausted => "lifetime_exhausted",
        }
    }
}

/// One parts-per-write unit of the bucket: fills at `per_hour` writes per 3 600 000 ms,
/// counted exactly as `per_hour` units per ms against 3 600 000 units per write.
const UNITS_PER_WRITE: u64 = 3_600_000;

/// The write budget of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteBudget {
    config: WriteBudgetConfig,
    units: u64,
    last: Option<Millis>,
    lifetime: u64,
}

impl WriteBudget {
    /// A full bucket and the lifetime count read back from the state file.
    pub const fn new(config: WriteBudgetConfig, lifetime: u64) -> Self {
        Self {
            config,
            units: config.burst as u64 * UNITS_PER_WRITE,
            last: None,
            lifetime,
        }
    }

    /// Writes counted over the device's life (to persist after each write).
    pub const fn lifetime(&self) -> u64 {
        self.lifetime
    }

    /// Whether the lifetime count reached the rated writes.
    pub const fn exhausted(&self) -> bool {
        self.lifetime >= self.config.rated_writes
    }

    fn refill(&mut self, now: Millis) {
        let elapsed = self.last.map_or(0, |t| now.since(t));
        self.last = Some(now);
        let cap = u64::from(self.config.burst) * UNITS_PER_WRITE;
        self.units = self
            .units
            .saturating_add(elapsed.saturating_mul(u64::from(self.config.per_hour)))
            .min(cap);
    }

    /// Asks to write at `now`; on `Ok` the write is counted (persist [`Self::lifetime`]).
    ///
    /// # Errors
    ///
    /// [`Refused::LifetimeExhausted`] at or above the rated writes (always first),
    /// [`Refused::RateLimited`] while the average rate is used up.
    pub fn try_write(&mut self, now: Millis) -> Result<(), Refused> {
        self.refill(now);
        if self.exhausted() {
            return Err(Refused::LifetimeExhausted);
        }
        if self.units < UNITS_PER_WRITE {
            return Err(Refused::RateLimited);
        }
        self.units -= UNITS_PER_WRITE;
        self.lifetime += 1;
        Ok(())
    }

    /// Counts a write that safety required (switching a device off): never refused, but
    /// counted, and it spends the bucket (saturating at empty).
    pub fn force_write(&mut self, now: Millis) {
        self.refill(now);
        self.units = self.units.saturating_sub(UNITS_PER_WRITE);
        self.lifetime = self.lifetime.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_the_average_rate() {
        let mut b = WriteBudget::new(WriteBudgetConfig::default(), 0);
        for _ in 0..3 {
            assert_eq!(b.try_write(Millis(0)), Ok(()));
        }
        assert_eq!(b.try_write(Millis(0)), Err(Refused::RateLimited));
        // One write per 3 600 000 / 138 = 26 086.96 ms.
        assert_eq!(b.try_write(Millis(26_086)), Err(Refused::RateLimited));
        assert_eq!(b.try_write(Millis(26_087)), Ok(()));
        assert_eq!(b.lifetime(), 4);
    }

    #[test]
    fn an_hour_of_asking_every_second_writes_at_most_burst_plus_rate() {
        let mut b = WriteBudget::new(WriteBudgetConfig::default(), 0);
        let written = (0..=3600u64)
            .filter(|s| b.try_write(Millis(s * 1000)).is_ok())
            .count();
        assert_eq!(written, 3 + 138);
    }

    #[test]
    fn refuses_at_the_rated_limit_but_safety_writes_pass() {
        let config = WriteBudgetConfig {
            rated_writes: 10,
            ..WriteBudgetConfig::default()
        };
        let mut b = WriteBudget::new(config, 9);
        assert_eq!(b.try_write(Millis(0)), Ok(()));
        assert!(b.exhausted());
        assert_eq!(
            b.try_write(Millis(999_999)),
            Err(Refused::LifetimeExhausted)
        );
        b.force_write(Millis(1_000_000));
        assert_eq!(b.lifetime(), 11);
    }
}
