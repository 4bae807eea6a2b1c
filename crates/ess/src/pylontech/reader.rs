//! From a stream of decoded BMS frames to battery states, one per complete burst.
//!
//! A BMS sends its state as a **burst**: a handful of frames back to back (Pylontech:
//! 0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E), once a second or when polled. A telegram is
//! made from the frames of **one** burst only, never completed from the next one: after a
//! lost frame, a telegram that mixed two bursts would announce the limits of one burst with
//! the enable bits of the other (a BMS that had just disabled discharging would be reported
//! as allowing it for one more second).
//!
//! The rules of [`TelegramReader`]:
//!
//! - A burst starts with the first BMS frame after the previous burst completed or was
//!   dropped, and lasts at most `window_ms` from that frame (inclusive). A frame arriving
//!   later starts a new burst.
//! - A frame of a part already in the burst: identical to the stored one → a duplicate,
//!   ignored; different → the burst is over (dropped if incomplete) and the frame starts a
//!   new one. Identical frames received just before such a frame (since the last frame that
//!   was taken) start the new burst with it: they are the unchanged beginning of the next
//!   burst, which a BMS sending faster than `window_ms` can produce. For the same reason,
//!   once a burst is complete, a frame identical to its *first* frame starts the next burst
//!   (a BMS repeating an unchanged state faster than the window).
//! - The burst completes, and gives its state at once, when every `required` part is in it,
//!   plus the optional parts the state uses that this BMS was seen to send after the
//!   required ones (SMA/Victron dialect: 0x35C and 0x372; learned from the bursts, and
//!   forgotten when a burst has every required part but not them). Frames after completion,
//!   within the window, belong to the completed burst and change nothing.
//! - A burst that ends incomplete is dropped and counted ([`TelegramReader::incomplete_bursts`]).
//!
//! `window_ms` must be shorter than the BMS's sending interval (and its polling interval):
//! 300 ms fits the usual 1 s. The reader never allocates and never panics.

use voltwire_pylontech::can::{Message, Part, PartSet, Telegram};

use super::convert::ConvertError;
use crate::state::BatteryState;
use crate::time::Millis;

fn union(a: PartSet, b: PartSet) -> PartSet {
    b.iter().fold(a, PartSet::with)
}

fn intersect(a: PartSet, b: PartSet) -> PartSet {
    a.iter()
        .filter(|p| b.contains(*p))
        .fold(PartSet::EMPTY, PartSet::with)
}

fn subset(a: PartSet, b: PartSet) -> bool {
    a.iter().all(|p| b.contains(p))
}

/// Collects one BMS's frames into bursts and converts each complete burst into a
/// [`BatteryState`] (rules in the [module documentation](self)).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelegramReader {
    required: PartSet,
    learnable: PartSet,
    learned: PartSet,
    window_ms: u64,
    burst: Telegram,
    start: Option<Millis>,
    first: Option<Part>,
    completed: bool,
    pending: Telegram,
    pending_since: Option<(Millis, Part)>,
    incomplete: u64,
    duplicates: u64,
}

impl TelegramReader {
    /// A reader for telegrams of `required` parts (e.g. [`crate::PYLONTECH_TELEGRAM`] or
    /// [`crate::SMA_TELEGRAM`]), a burst lasting at most `window_ms` from its first frame.
    pub fn new(required: PartSet, window_ms: u64) -> Self {
        // Without 0x359 (SMA/Victron dialect) the state also uses 0x35C (enables) and 0x372
        // (module count) when the BMS sends them.
        let learnable = if required.contains(Part::Alarms) {
            PartSet::EMPTY
        } else {
            PartSet::EMPTY
                .with(Part::Request)
                .with(Part::ModuleCounts)
                .iter()
                .filter(|p| !required.contains(*p))
                .fold(PartSet::EMPTY, PartSet::with)
        };
        Self {
            required,
            learnable,
            learned: PartSet::EMPTY,
            window_ms,
            burst: Telegram::new(),
            start: None,
            first: None,
            completed: false,
            pending: Telegram::new(),
            pending_since: None,
            incomplete: 0,
            duplicates: 0,
        }
    }

    /// The burst window, ms.
    pub const fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// Bursts dropped because they ended incomplete (a lost frame, a frame that changed
    /// within the burst).
    pub const fn incomplete_bursts(&self) -> u64 {
        self.incomplete
    }

    /// Duplicate frames ignored (identical to the frame of the same part in the burst).
    pub const fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// The parts the next burst needs: the required ones and the learned optional ones.
    pub fn expected(&self) -> PartSet {
        union(self.required, self.learned)
    }

    /// Take one message received at `now`: the state, when it completes a burst (or the
    /// reason the complete burst does not make a state). Inverter frames (0x305/0x307) and
    /// unknown frames are ignored and give `None`.
    pub fn push(&mut self, m: Message, now: Millis) -> Option<Result<BatteryState, ConvertError>> {
        let p = Part::of(&m)?;
        if self.start.is_some_and(|s| now.since(s) > self.window_ms) {
            self.close();
        }
        if self.completed && self.first == Some(p) {
            // The next burst, repeating the first frame of this one.
            self.close();
        }
        if self.start.is_some() {
            match self.burst.get(p) {
                Some(stored) if *stored == m => {
                    self.duplicates = self.duplicates.saturating_add(1);
                    self.pending_since.get_or_insert((now, p));
                    self.pending.insert(m);
                    return None;
                }
                Some(_) => {
                    let seed = self.pending;
                    let since = self.pending_since;
                    self.close();
                    let (start, first) = since.unwrap_or((now, p));
                    self.start = Some(start);
                    self.first = Some(first);
                    self.burst = seed;
                }
                None => {}
            }
        }
        if self.start.is_none() {
            self.start = Some(now);
            self.first = Some(p);
        }
        self.pending = Telegram::new();
        self.pending_since = None;
        self.burst.insert(m);
        let present = self.burst.present();
        if self.completed {
            // A state part this BMS sends after the required ones: wait for it next time.
            if self.learnable.contains(p) {
                self.learned = self.learned.with(p);
            }
            return None;
        }
        if !subset(self.expected(), present) {
            return None;
        }
        self.completed = true;
        self.learned = union(self.learned, intersect(present, self.learnable));
        Some(BatteryState::try_from(&self.burst))
    }

    /// End the open burst: counted when incomplete.
    fn close(&mut self) {
        if self.start.is_some() && !self.completed {
            self.incomplete = self.incomplete.saturating_add(1);
            let present = self.burst.present();
            if subset(self.required, present) {
                // Every required part came but a learned one did not: the BMS stopped
                // sending it (or it was lost); do not wait for it any more.
                self.learned = intersect(self.learned, present);
            }
        }
        self.start = None;
        self.first = None;
        self.completed = false;
        self.burst = Telegram::new();
        self.pending = Telegram::new();
        self.pending_since = None;
    }

    /// Forget the frames collected so far (the open burst is dropped without counting).
    pub fn clear(&mut self) {
        self.start = None;
        self.first = None;
        self.completed = false;
        self.burst = Telegram::new();
        self.pending = Telegram::new();
        self.pending_since = None;
    }
}
