//! DC-coupled PV feed-in off while the dynamic charge voltage limit limits.
//!
//! Victron ESS ignores the battery's charge current limit while excess DC-coupled PV is fed
//! into the grid (`/Settings/CGwacs/OvervoltageFeedIn` = 1 in `com.victronenergy.settings`),
//! so a limiting CVL alone would not stop the MPPTs from pushing a full cell higher.
//! [`FeedIn`] turns the setting off when limiting starts and restores the user's value when
//! it ends:
//!
//! - limiting and the setting on (any value but 0): remember the value (once: a value seen
//!   after our own write is never taken for the user's), write 0;
//! - not limiting and a value remembered: write it back until the setting reads it, then
//!   forget it;
//! - the setting unknown (the settings service not there): nothing is written, nothing
//!   forgotten.
//!
//! The remembered value is what the caller persists, so a restart while limiting still
//! restores the user's setting afterwards. While limiting the setting is held at 0 (a
//! user's change back to 1 is undone on the next step).

/// The feed-in control.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FeedIn {
    saved: Option<i32>,
}

impl FeedIn {
    /// A control that remembers `saved` (the persisted user's value, if any).
    pub const fn new(saved: Option<i32>) -> Self {
        Self { saved }
    }

    /// The user's value to restore, if the setting is ours now.
    pub const fn saved(&self) -> Option<i32> {
        self.saved
    }

    /// One step: whether the dynamic CVL limits and the setting's current value; the value
    /// to write, if any.
    pub fn update(&mut self, limiting: bool, setting: Option<i32>) -> Option<i32> {
        let current = setting?;
        if limiting {
            if current == 0 {
                return None;
            }
            if self.saved.is_none() {
                self.saved = Some(current);
            }
            return Some(0);
        }
        let want = self.saved?;
        if current == want {
            self.saved = None;
            None
        } else {
            Some(want)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_while_limiting_restored_after() {
        let mut f = FeedIn::default();
        assert_eq!(f.update(false, Some(1)), None);
        assert_eq!(f.update(true, Some(1)), Some(0));
        assert_eq!(f.saved(), Some(1));
        // The write not seen yet: written again, the remembered value kept.
        assert_eq!(f.update(true, Some(1)), Some(0));
        assert_eq!(f.update(true, Some(0)), None);
        // The user turns it on while limiting: held off.
        assert_eq!(f.update(true, Some(1)), Some(0));
        // Released: restore until the setting reads 1, then let go.
        assert_eq!(f.update(false, Some(0)), Some(1));
        assert_eq!(f.update(false, Some(1)), None);
        assert_eq!(f.saved(), None);
        assert_eq!(f.update(false, Some(0)), None);
    }

    #[test]
    fn already_off_is_left_alone_and_unknown_changes_nothing() {
        let mut f = FeedIn::default();
        assert_eq!(f.update(true, Some(0)), None);
        assert_eq!(f.update(false, Some(0)), None);
        assert_eq!(f.saved(), None);
        let mut f = FeedIn::new(Some(1));
        assert_eq!(f.update(false, None), None);
        assert_eq!(f.saved(), Some(1));
        assert_eq!(f.update(true, None), None);
        // Restored after a restart.
        assert_eq!(f.update(false, Some(0)), Some(1));
    }

    /// Closed loop with a settings store that applies each write one step later.
    #[test]
    fn closed_loop_with_a_lagging_setting() {
        let mut f = FeedIn::default();
        let mut setting = 1;
        let mut pending: Option<i32> = None;
        let mut seen = heapless::Vec::<(u8, i32), 16>::new();
        for t in 0..12u8 {
            if let Some(v) = pending.take() {
                setting = v;
            }
            let limiting = (3..7).contains(&t);
            if let Some(w) = f.update(limiting, Some(setting)) {
                pending = Some(w);
                let _ = seen.push((t, w));
            }
        }
        assert_eq!(setting, 1);
        assert_eq!(f.saved(), None);
        assert_eq!(seen.as_slice(), &[(3, 0), (7, 1)]);
    }
}
