//! The inverter side of the Pylontech CAN protocol: a keep-alive 0x305 out, the BMS
//! frames in.

use core::time::Duration;

use voltwire_pylontech::can::{CanMessage as _, InverterRequest, Message, ParseError};

use crate::faults::Garbage;
use crate::{CanFrame, CanResponder, Every, Faults, Plant};

/// An inverter (SMA Sunny Island, Victron GX, hybrid inverters) on a Pylontech-protocol
/// battery's CAN bus: sends the all-zero 0x305 keep-alive every `period` of sim time
/// (the first one at once) and decodes every frame the BMS sends, for the caller to drain
/// with [`PylontechInverter::drain_seen`].
///
/// Faults: `silent` sends no 0x305 (frames are still read); `garbage` sends 0x305 with 8
/// bytes of deterministic noise instead of zeros (0x305 is kept verbatim by the protocol,
/// so a BMS cannot tell); CAN has no checksum at this layer, so `bad_checksum` changes
/// nothing.
#[derive(Debug)]
pub struct PylontechInverter {
    faults: Faults,
    garbage: Garbage,
    every: Every,
    seen: Vec<(u32, Result<Message, ParseError>)>,
    sent: u64,
    /// Whether it sends 0x305 at all.
    keep_alive: bool,
}

impl PylontechInverter {
    /// An inverter sending 0x305 every `period` (zero: only once, at the start).
    pub fn new(period: Duration) -> Self {
        Self {
            faults: Faults::default(),
            garbage: Garbage::default(),
            every: Every::new(period),
            seen: Vec::new(),
            sent: 0,
            keep_alive: true,
        }
    }

    /// Move the frames read since the last call into `out`: the raw id and the decoded
    /// message (or why it did not decode), oldest first. Frames with a 29-bit id are
    /// foreign traffic and not kept.
    pub fn drain_seen(&mut self, out: &mut Vec<(u32, Result<Message, ParseError>)>) {
        out.append(&mut self.seen);
    }

    /// An inverter that sends no 0x305 at all and only reads (one the BMS side pushes to).
    pub fn listening() -> Self {
        let mut i = Self::new(Duration::ZERO);
        i.keep_alive = false;
        i
    }

    /// How many 0x305 frames it has sent.
    pub fn keep_alives_sent(&self) -> u64 {
        self.sent
    }
}

impl CanResponder for PylontechInverter {
    fn on_frame(
        &mut self,
        frame: &CanFrame,
        _now: Duration,
        _plant: &Plant,
        _out: &mut Vec<CanFrame>,
    ) {
        if frame.is_extended() {
            return;
        }
        // Bound the backlog if nobody drains it.
        if self.seen.len() >= 4096 {
            self.seen.drain(..1024);
        }
        self.seen.push((frame.id(), Message::from_frame(frame)));
    }

    fn tick(&mut self, now: Duration, _plant: &Plant, out: &mut Vec<CanFrame>) {
        if !self.keep_alive || !self.every.due(now) || self.faults.silent {
            return;
        }
        let frame = if self.faults.garbage {
            let mut noise = Vec::new();
            self.garbage.fill(8, &mut noise);
            CanFrame::data_frame(u32::from(InverterRequest::ID), false, &noise)
        } else {
            InverterRequest::zeros().to_frame::<CanFrame>().ok()
        };
        if let Some(f) = frame {
            out.push(f);
            self.sent = self.sent.saturating_add(1);
        }
    }

    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }
}
