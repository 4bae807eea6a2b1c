//! The plausibility filter: a value that jumps too far from the last accepted one is
//! discarded, at most `max_discards` times in a row.

/// The state of one filtered value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct JumpFilter {
    last: Option<i32>,
    discards: u8,
}

impl JumpFilter {
    /// Offer `value`; `true` when it is accepted (and becomes the reference).
    pub(crate) fn offer(&mut self, value: i32, max_jump: i32, max_discards: u8) -> bool {
        let jumped = self
            .last
            .is_some_and(|last| value.abs_diff(last) > max_jump.unsigned_abs());
        if jumped && self.discards < max_discards {
            self.discards = self.discards.saturating_add(1);
            return false;
        }
        self.last = Some(value);
        self.discards = 0;
        true
    }
}
