//! The 1-hour moving average of PV power, built from 1-minute averages (time-weighted).

use crate::Millis;

const MINUTE_MS: u64 = 60_000;
const MINUTES: usize = 60;

/// Minute averages of the last hour in a ring, and the running integral of the current minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PvAverage {
    minutes: [i32; MINUTES],
    filled: usize,
    next: usize,
    /// W·ms integrated since `minute_start`.
    acc: i64,
    minute_start: Millis,
    last: Millis,
}

impl PvAverage {
    pub(crate) fn new(now: Millis) -> Self {
        Self {
            minutes: [0; MINUTES],
            filled: 0,
            next: 0,
            acc: 0,
            minute_start: now,
            last: now,
        }
    }

    /// Integrate `power_w` (held since the last call) up to `now`, closing whole minutes.
    pub(crate) fn advance(&mut self, now: Millis, power_w: i32) {
        let p = i64::from(power_w);
        // Bounded: a long gap closes at most an hour of minutes, the rest is the same value.
        let mut closed = 0;
        while now.0 >= self.minute_start.0.saturating_add(MINUTE_MS) {
            let end = self.minute_start.plus(MINUTE_MS);
            let dt = i64::try_from(end.since(self.last)).unwrap_or(i64::MAX);
            self.acc = self.acc.saturating_add(p.saturating_mul(dt));
            let avg = self.acc / i64::try_from(MINUTE_MS).unwrap_or(1);
            self.push(i32::try_from(avg).unwrap_or(i32::MAX));
            self.acc = 0;
            self.minute_start = end;
            self.last = end;
            closed += 1;
            if closed > MINUTES {
                // Skip the rest of a long gap: every minute in it has the same average.
                let whole = now.since(self.minute_start) / MINUTE_MS;
                self.minute_start = self.minute_start.plus(whole * MINUTE_MS);
                self.last = self.minute_start;
            }
        }
        let dt = i64::try_from(now.since(self.last)).unwrap_or(i64::MAX);
        self.acc = self.acc.saturating_add(p.saturating_mul(dt));
        if now > self.last {
            self.last = now;
        }
    }

    fn push(&mut self, avg: i32) {
        if let Some(slot) = self.minutes.get_mut(self.next) {
            *slot = avg;
        }
        self.next = (self.next + 1) % MINUTES;
        self.filled = (self.filled + 1).min(MINUTES);
    }

    /// The average of the completed minutes of the last hour (all of them once an hour has
    /// passed); `None` before the first minute completes.
    pub(crate) fn average(&self) -> Option<i32> {
        if self.filled == 0 {
            return None;
        }
        let sum: i64 = self
            .minutes
            .iter()
            .take(if self.filled == MINUTES {
                MINUTES
            } else {
                self.next
            })
            .map(|&m| i64::from(m))
            .sum();
        let n = i64::try_from(self.filled).unwrap_or(1);
        i32::try_from(sum / n).ok()
    }
}
