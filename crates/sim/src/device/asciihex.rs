//! What the ASCII-hex RS485 stacks ([`super::PaceStack`], [`super::PylontechStack`]) share:
//! the request decoder and the reply path with its faults ([`Port`]), the
//! [`SerialResponder`] loop over any [`Stack`], and the 0x42/0x44 module blocks built from a
//! [`BmsView`] in either protocol's [`Dialect`].

use core::time::Duration;

use voltwire_asciihex::block::{self, Analog, Block, Dialect, Reply, Status, state};
use voltwire_asciihex::{Frame, MAX_FRAME_LEN, Rtn};
use voltwire_core::{
    DeciCelsius, DeciKelvin, Emit as _, Protocol, ScanDecoder, StreamDecoder as _,
};

use super::ma;
use crate::faults::{Garbage, flip_hex_digit, push_reply};
use crate::{BmsView, Faults, Plant, PlantCommand, SerialResponder};

/// The line side of a stack: requests in, replies out (through the faults).
#[derive(Debug)]
pub(crate) struct Port<P> {
    faults: Faults,
    decoder: ScanDecoder<P, MAX_FRAME_LEN>,
    garbage: Garbage,
    /// The plant packs this stack is made of: `first..first + count` (`None`: every pack).
    packs: Option<(usize, usize)>,
}

impl<P> Default for Port<P> {
    fn default() -> Self {
        Self {
            faults: Faults::default(),
            decoder: ScanDecoder::new(),
            garbage: Garbage::default(),
            packs: None,
        }
    }
}

impl<P> Port<P> {
    /// Make the stack of the plant packs `first..first + count` only (a scene's pack on its
    /// own port).
    pub(crate) fn select_packs(&mut self, first: usize, count: usize) {
        self.packs = Some((first, count));
    }

    /// The plant index of the stack's pack `i`.
    pub(crate) fn plant_index(&self, i: usize) -> usize {
        self.packs.map_or(i, |(first, _)| first.saturating_add(i))
    }
}

impl<P: Protocol> Port<P> {
    /// The plant packs as this stack's BMS sees them.
    pub(crate) fn views(&self, plant: &Plant) -> Vec<BmsView> {
        let (first, count) = self.packs.unwrap_or((0, plant.packs().len()));
        (first..first.saturating_add(count))
            .filter_map(|i| BmsView::of(plant, i, &self.faults))
            .collect()
    }

    fn send(&mut self, frame: &Frame, out: &mut Vec<u8>) {
        let mut buf = vec![0u8; frame.buffer_len()];
        let Ok(n) = frame.emit(&mut buf) else {
            return;
        };
        buf.truncate(n);
        // CHKSUM is the 4 hex digits before the CR: break its last digit.
        let at = n.saturating_sub(2);
        push_reply(
            &self.faults,
            &mut self.garbage,
            &mut buf,
            |b| flip_hex_digit(b, at),
            out,
        );
    }
}

/// An ASCII-hex stack: how it answers one request.
pub(crate) trait Stack {
    /// Its requests as a stream protocol.
    type Requests: Protocol;

    /// The line side.
    fn port(&self) -> &Port<Self::Requests>;

    /// The line side, to change it.
    fn port_mut(&mut self) -> &mut Port<Self::Requests>;

    /// The reply to `req`, or `None` to stay silent.
    fn answer(
        &mut self,
        req: &<Self::Requests as Protocol>::Message,
        views: &[BmsView],
    ) -> Option<Frame>;

    /// Move the plant changes asked for into `out`.
    fn drain(&mut self, out: &mut Vec<PlantCommand>) {
        let _ = out;
    }
}

/// [`Stack::port`] and [`Stack::port_mut`] for a stack whose line side is its `port` field.
macro_rules! port_field {
    () => {
        fn port(&self) -> &Port<Self::Requests> {
            &self.port
        }

        fn port_mut(&mut self) -> &mut Port<Self::Requests> {
            &mut self.port
        }
    };
}
pub(crate) use port_field;

impl<S: Stack> SerialResponder for S {
    fn on_bytes(&mut self, input: &[u8], _now: Duration, plant: &Plant, out: &mut Vec<u8>) {
        let mut requests = Vec::new();
        self.port_mut().decoder.feed_all(input, |item| {
            if let Ok(r) = item.value {
                requests.push(r);
            }
        });
        if requests.is_empty() {
            return;
        }
        let views = self.port().views(plant);
        for req in &requests {
            if let Some(frame) = self.answer(req, &views) {
                self.port_mut().send(&frame, out);
            }
        }
    }

    fn tick(&mut self, _now: Duration, _plant: &Plant, _out: &mut Vec<u8>) {}

    fn faults(&self) -> &Faults {
        &self.port().faults
    }

    fn faults_mut(&mut self) -> &mut Faults {
        &mut self.port_mut().faults
    }

    fn drain_commands(&mut self, out: &mut Vec<PlantCommand>) {
        self.drain(out);
    }
}

/// RTN 0x04 (invalid CID2) with no INFO: the answer to a command the stack does not know.
pub(crate) fn refusal(ver: u8, adr: u8, cid1: u8) -> Option<Frame> {
    Frame::new(ver, adr, cid1, Rtn::InvalidCid2.code(), &[]).ok()
}

/// Saturating `u8` of a count.
pub(crate) fn count_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// The command value and the plant packs of a 0x42/0x44 reply for `target` (`None`: 0xFF)
/// asked of plant pack `own`: one pack by its number (`index` finds it), or after 0xFF every
/// pack (the count) at the master (`own` 0) and the own pack alone (command 1) elsewhere.
pub(crate) fn select(
    target: Option<u8>,
    own: usize,
    packs: usize,
    index: impl Fn(u8) -> Option<usize>,
) -> Option<(u8, Vec<usize>)> {
    Some(match target {
        Some(p) => (p, vec![index(p)?]),
        None if own == 0 => {
            let all: Vec<usize> = (0..packs.min(block::MAX_MODULES)).collect();
            (count_u8(all.len()), all)
        }
        None => (1, vec![own]),
    })
}

/// A 0x42/0x44 reply carrying `make(i)` for every plant pack `i` of `which`.
pub(crate) fn reply<B: Block>(
    info_flag: u8,
    command: u8,
    which: &[usize],
    mut make: impl FnMut(usize) -> Option<B>,
) -> Reply<B> {
    let mut r = Reply::new(info_flag, command);
    for &i in which {
        if let Some(b) = make(i) {
            let _ = r.modules.push(b);
        }
    }
    r
}

/// `t` in the dialect's 0.1 K.
pub(crate) fn kelvin<D: Dialect>(t: DeciCelsius) -> DeciKelvin {
    DeciKelvin(i32::from(t.0) + D::ZERO_CELSIUS)
}

/// An analog block of `v` with the temperatures `temps`: cells, temperatures, current (on
/// the dialect's grid), voltage and cycles; the capacities are left to the caller.
pub(crate) fn analog<D: Dialect>(v: &BmsView, temps: &[DeciCelsius]) -> Analog<D> {
    let mut a = Analog::<D>::default();
    for c in v.cells.iter().take(block::MAX_CELLS) {
        let _ = a.cells.push(*c);
    }
    for t in temps.iter().take(block::MAX_TEMPERATURES) {
        let _ = a.temperatures.push(kelvin::<D>(*t));
    }
    a.current = ma(v.current, i64::from(D::CURRENT_STEP_MA));
    a.voltage = v.voltage;
    a.cycles = v.cycles;
    a
}

/// A status block of `v` with the temperatures `temps`: a state per cell (above / below
/// the limits) and per temperature (above the limit); the rest is left to the caller.
pub(crate) fn status<D: Dialect>(v: &BmsView, temps: &[DeciCelsius]) -> Status<D> {
    let mut s = Status::<D>::default();
    for c in v.cells.iter().take(block::MAX_CELLS) {
        let w = if c.0 > BmsView::CELL_OVER_VOLTAGE {
            state::ABOVE
        } else if c.0 < BmsView::CELL_UNDER_VOLTAGE {
            state::BELOW
        } else {
            state::NORMAL
        };
        let _ = s.cells.push(w);
    }
    for t in temps.iter().take(block::MAX_TEMPERATURES) {
        let hot = t.0 > BmsView::OVER_TEMPERATURE;
        let _ = s
            .temperatures
            .push(if hot { state::ABOVE } else { state::NORMAL });
    }
    s
}

/// The bits of `[over, under, hot]` that apply to `v`: a cell over or under its voltage limit,
/// a temperature over its limit.
pub(crate) fn fault_bits(v: &BmsView, [over, under, hot]: [u8; 3]) -> u8 {
    let pick = |on: bool, bits: u8| if on { bits } else { 0 };
    pick(v.cell_over_voltage(), over)
        | pick(v.cell_under_voltage(), under)
        | pick(v.over_temperature(), hot)
}
