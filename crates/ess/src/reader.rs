//! From a stream of decoded BMS frames to battery states, one per complete telegram.

use voltwire_pylontech::can::{Assembler, Message, PartSet};

use crate::state::{BatteryState, ConvertError};
use crate::time::Millis;

/// Collects one BMS's frames into telegrams and converts each complete telegram into a
/// [`BatteryState`].
///
/// A telegram is complete when every part of `required` (e.g.
/// [`crate::PYLONTECH_TELEGRAM`] or [`crate::SMA_TELEGRAM`]) has arrived since the previous
/// telegram, none older than `max_age_ms`; the frame that completes it is the telegram's
/// time. Every telegram needs a fresh set of frames, so a BMS that stops sending one part
/// stops producing states (and goes stale) instead of repeating old values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelegramReader {
    assembler: Assembler,
    max_age_ms: u64,
}

impl TelegramReader {
    /// A reader for telegrams of `required` parts, each at most `max_age_ms` old.
    pub const fn new(required: PartSet, max_age_ms: u64) -> Self {
        Self {
            assembler: Assembler::new(required),
            max_age_ms,
        }
    }

    /// Take one message received at `now`: the state, when it completes a telegram (or the
    /// reason the complete telegram does not make a state). Inverter frames (0x305/0x307)
    /// and frames outside the telegram are taken and give `None`.
    pub fn push(&mut self, m: Message, now: Millis) -> Option<Result<BatteryState, ConvertError>> {
        if !self.assembler.push(m, now.0) || !self.assembler.missing().is_empty() {
            return None;
        }
        let telegram = self.assembler.complete(now.0, self.max_age_ms).ok()?;
        self.assembler.clear();
        Some(BatteryState::try_from(&telegram))
    }

    /// Forget the frames collected so far.
    pub fn clear(&mut self) {
        self.assembler.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PYLONTECH_TELEGRAM;

    #[test]
    fn one_state_per_fresh_set_of_frames() {
        // The real burst of bms_gateway's capture (as in state.rs), twice.
        let burst: [(u16, &[u8]); 6] = [
            (0x359, &[0, 0, 0, 0, 5, 0x50, 0x4E, 0]),
            (0x351, &[0x33, 0x02, 0x09, 0x24, 0x09, 0x24, 0xD5, 0x01]),
            (0x355, &[0x50, 0, 0x64, 0, 0, 0, 0, 0]),
            (0x356, &[0xAB, 0x14, 0xDF, 0xFC, 0xCC, 0, 0, 0]),
            (0x35C, &[0xC0, 0, 0, 0, 0, 0, 0, 0]),
            (0x35E, b"PYLON\0\0\0"),
        ];
        let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, 1000);
        let mut states = 0;
        for t in [0u64, 1000] {
            for (i, (id, d)) in burst.iter().enumerate() {
                let out = r.push(Message::parse(*id, d).unwrap(), Millis(t + i as u64));
                // Only 0x35C, the last required part, completes the telegram.
                assert_eq!(out.is_some(), *id == 0x35C, "{id:03X}");
                if let Some(s) = out {
                    assert_eq!(s.unwrap().soc.0, 800);
                    states += 1;
                }
            }
        }
        assert_eq!(states, 2);
        // A lone 0x35C after that completes nothing: the other parts are needed again.
        assert!(
            r.push(Message::parse(0x35C, &[0xC0, 0]).unwrap(), Millis(2000))
                .is_none()
        );
        // Parts older than the allowed age do not make a telegram.
        let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, 100);
        for (i, (id, d)) in burst.iter().enumerate() {
            let out = r.push(Message::parse(*id, d).unwrap(), Millis(i as u64 * 60));
            assert!(out.is_none(), "{id:03X}");
        }
    }
}
