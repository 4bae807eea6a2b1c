//! Data age: every value carries when it was measured, and every app decides "fresh within
//! T" the same way.
//!
//! Everything here is pure: the current time is always a parameter, never read inside.
//! A value stamped later than `now` (clocks from different tasks, or a test) has age zero.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use voltwire_runtime::age::{Latest, Freshness};
//!
//! let t0 = Instant::now();
//! let mut soc = Latest::new(Duration::from_secs(10));
//! assert_eq!(soc.get(t0), Freshness::Missing);
//! soc.update(87_u8, t0);
//! assert_eq!(soc.value_or(t0 + Duration::from_secs(5), 0), 87);
//! // Stale: every app falls back to its safe state the same way.
//! assert_eq!(soc.value_or(t0 + Duration::from_secs(11), 0), 0);
//! ```

use std::time::{Duration, Instant};

/// A value and the instant it was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamped<T> {
    /// The measured value.
    pub value: T,
    /// When it was measured (received from the device).
    pub at: Instant,
}

impl<T> Stamped<T> {
    /// Stamp `value` with `at`.
    pub const fn new(value: T, at: Instant) -> Self {
        Self { value, at }
    }

    /// How old the value is at `now` (zero if `at` is after `now`).
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.at)
    }

    /// Whether the value is at most `max_age` old at `now` (an age of exactly `max_age` is
    /// still fresh).
    pub fn is_fresh(&self, now: Instant, max_age: Duration) -> bool {
        self.age(now) <= max_age
    }

    /// The value if it is fresh at `now`, else `None`.
    pub fn fresh(&self, now: Instant, max_age: Duration) -> Option<&T> {
        self.is_fresh(now, max_age).then_some(&self.value)
    }

    /// The same stamp on a transformed value (e.g. one field of a message).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Stamped<U> {
        Stamped {
            value: f(self.value),
            at: self.at,
        }
    }

    /// A borrowed view with the same stamp.
    pub const fn as_ref(&self) -> Stamped<&T> {
        Stamped {
            value: &self.value,
            at: self.at,
        }
    }
}

/// What a reader gets from [`Latest::get`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freshness<T> {
    /// Never received.
    Missing,
    /// Received, but older than the allowed age.
    Stale {
        /// The last value, for display only: do not act on it.
        last: T,
        /// Its age at `now`.
        age: Duration,
    },
    /// Received within the allowed age.
    Fresh(T),
}

impl<T> Freshness<T> {
    /// The value if fresh.
    pub fn fresh(self) -> Option<T> {
        match self {
            Self::Fresh(v) => Some(v),
            Self::Missing | Self::Stale { .. } => None,
        }
    }

    /// Whether the value is fresh.
    pub const fn is_fresh(&self) -> bool {
        matches!(self, Self::Fresh(_))
    }
}

/// The latest value of one quantity with its allowed age: the one place where an app says
/// "this is only valid for T".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest<T> {
    slot: Option<Stamped<T>>,
    max_age: Duration,
}

impl<T> Latest<T> {
    /// Nothing received yet; values older than `max_age` count as stale.
    pub const fn new(max_age: Duration) -> Self {
        Self {
            slot: None,
            max_age,
        }
    }

    /// The allowed age.
    pub const fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Record a new measurement taken at `at`. An older measurement than the one held (a
    /// late reply) is ignored; returns whether the value was taken.
    pub fn update(&mut self, value: T, at: Instant) -> bool {
        if self.slot.as_ref().is_some_and(|s| s.at > at) {
            return false;
        }
        self.slot = Some(Stamped::new(value, at));
        true
    }

    /// Forget the value (e.g. the device was replaced).
    pub fn clear(&mut self) {
        self.slot = None;
    }

    /// The last measurement with its stamp, fresh or not.
    pub const fn last(&self) -> Option<&Stamped<T>> {
        self.slot.as_ref()
    }

    /// The value's state at `now`.
    pub fn get(&self, now: Instant) -> Freshness<&T> {
        match &self.slot {
            None => Freshness::Missing,
            Some(s) if s.is_fresh(now, self.max_age) => Freshness::Fresh(&s.value),
            Some(s) => Freshness::Stale {
                last: &s.value,
                age: s.age(now),
            },
        }
    }

    /// The value if fresh at `now`.
    pub fn fresh(&self, now: Instant) -> Option<&T> {
        self.get(now).fresh()
    }

    /// The value if fresh at `now`, otherwise the caller's safe state.
    pub fn value_or(&self, now: Instant, safe: T) -> T
    where
        T: Clone,
    {
        self.fresh(now).cloned().unwrap_or(safe)
    }
}

/// Whether all of `stamps` are fresh at `now` (true for none): for decisions that need
/// several inputs at once.
pub fn all_fresh<'a, T: 'a>(
    stamps: impl IntoIterator<Item = &'a Stamped<T>>,
    now: Instant,
    max_age: Duration,
) -> bool {
    stamps.into_iter().all(|s| s.is_fresh(now, max_age))
}
