//! A moving average over the last N readings, in whole watts.

/// The largest averaging window.
pub const MAX_WINDOW: usize = 16;

/// The mean of the last `window` values pushed (fewer right after a [`Self::clear`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MovingAverage {
    values: [i32; MAX_WINDOW],
    window: usize,
    len: usize,
    next: usize,
}

impl MovingAverage {
    /// An empty average over `window` readings, clamped to `1..=MAX_WINDOW`.
    pub const fn new(window: usize) -> Self {
        let window = if window == 0 {
            1
        } else if window > MAX_WINDOW {
            MAX_WINDOW
        } else {
            window
        };
        Self {
            values: [0; MAX_WINDOW],
            window,
            len: 0,
            next: 0,
        }
    }

    /// Adds a reading, dropping the oldest once the window is full.
    pub fn push(&mut self, value: i32) {
        if let Some(slot) = self.values.get_mut(self.next) {
            *slot = value;
        }
        self.next = (self.next + 1) % self.window;
        self.len = (self.len + 1).min(self.window);
    }

    /// Forgets every reading.
    pub fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }

    /// Number of readings held.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no reading is held.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mean of the readings held, rounded half away from zero; `None` when empty.
    pub fn mean(&self) -> Option<i32> {
        if self.len == 0 {
            return None;
        }
        let sum: i64 = self
            .values
            .iter()
            .take(self.len)
            .map(|&v| i64::from(v))
            .sum();
        let n = i64::try_from(self.len).ok()?;
        let half = if sum < 0 { -(n / 2) } else { n / 2 };
        i32::try_from((sum + half) / n).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_the_last_n_readings() {
        let mut a = MovingAverage::new(3);
        assert_eq!(a.mean(), None);
        a.push(100);
        assert_eq!(a.mean(), Some(100));
        a.push(200);
        assert_eq!(a.mean(), Some(150));
        a.push(600);
        assert_eq!(a.mean(), Some(300));
        a.push(0); // drops the 100
        assert_eq!(a.mean(), Some(267)); // 800 / 3 = 266.67
        a.push(-900);
        assert_eq!(a.mean(), Some(-100));
        a.clear();
        assert!(a.is_empty());
        assert_eq!(MovingAverage::new(0).window, 1);
        assert_eq!(MovingAverage::new(99).window, MAX_WINDOW);
    }

    #[test]
    fn extremes_do_not_overflow() {
        let mut a = MovingAverage::new(MAX_WINDOW);
        for _ in 0..MAX_WINDOW {
            a.push(i32::MAX);
        }
        assert_eq!(a.mean(), Some(i32::MAX));
        for _ in 0..MAX_WINDOW {
            a.push(i32::MIN);
        }
        assert_eq!(a.mean(), Some(i32::MIN));
    }
}
