//! The module blocks of the 0x42 (analog values) and 0x44 (alarm/status) replies, the reply
//! that carries them, and the rule that pairs such a reply with its request.
//!
//! Pace v25 and Pylontech v20 lay these replies out alike: a flag byte, the command value
//! (the module asked for, or the module count after an all-modules `0xFF` request), then one
//! block per module. An analog block is the cell voltages and temperatures (each a count byte,
//! then `u16` values), current, voltage, remaining capacity, a count of user-defined items,
//! full capacity, cycles, and — from a protocol-specific number of user-defined items on — an
//! extension. A status block is the per-cell and per-temperature state bytes (each a count
//! byte, then the bytes), the charge-current, voltage and discharge-current states, then a
//! protocol-specific run of state bytes. A protocol names what differs in a [`Dialect`].
//!
//! # Pairing
//!
//! A reply answers a request for one module when its command value is that module and it
//! carries at most one block. It answers an all-modules (`0xFF`) request when its command
//! value is the number of blocks it carries, **or** when it carries exactly one block
//! whatever its command value says. One rule serves both protocols (before this layer Pace
//! accepted the lone block and Pylontech did not; we keep Pace's): a device that answers
//! `0xFF` alone (a Pace pack on its own port, as pace2pylon wires them; a stack of one; a
//! slave that is not the master) has only itself to report, and some put their own number
//! rather than a count of one in that byte. Dropping such a reply would lose the only data
//! the bus offers, while the address and command already tie it to the request; a reply of
//! several blocks whose count disagrees stays rejected, as it signals a misread frame.

use core::fmt::Debug;
use core::hash::Hash;

use heapless::Vec;
use voltwire_core::{DeciCelsius, DeciKelvin, EncodeError, MilliampHours, Milliamps, Millivolts};

use crate::{InfoWriter, Reader};

/// Most modules a reply is decoded into.
pub const MAX_MODULES: usize = 16;
/// Most cells per module.
pub const MAX_CELLS: usize = 32;
/// Most temperatures per module.
pub const MAX_TEMPERATURES: usize = 16;
/// Most extra bytes kept after the last block of a reply whose blocks allow them.
pub const MAX_TRAILING: usize = 4;

/// The values of the 0x44 per-cell, per-temperature, current and voltage state bytes (Pace
/// "warnings", Pylontech "alarm states"); protocols may add their own (Pace: 0x80–0xEF user
/// defined).
pub mod state {
    /// 0x00: normal.
    pub const NORMAL: u8 = 0x00;
    /// 0x01: below the lower limit.
    pub const BELOW: u8 = 0x01;
    /// 0x02: above the upper limit.
    pub const ABOVE: u8 = 0x02;
    /// 0xF0: other fault.
    pub const OTHER: u8 = 0xF0;

    /// A short name of a state value, `None` for the others.
    pub const fn name(v: u8) -> Option<&'static str> {
        Some(match v {
            NORMAL => "normal",
            BELOW => "below_limit",
            ABOVE => "above_limit",
            OTHER => "other",
            _ => return None,
        })
    }
}

/// What one protocol's blocks differ in: the wire steps, the 0 °C offset, the analog
/// extension and the status state bytes.
pub trait Dialect: Copy + Debug + Default + PartialEq + Eq + Hash {
    /// Current step of the analog block, in mA.
    const CURRENT_STEP_MA: i16;
    /// Capacity step of the analog block, in mAh.
    const CAPACITY_STEP_MAH: u16;
    /// 0 °C in 0.1 K as the protocol counts.
    const ZERO_CELSIUS: i32;
    /// The number of user-defined items from which the analog extension is present.
    const EXTENDED_FROM: u8;
    /// What the analog block carries after the cycles.
    type Extension: Copy + Debug + Default + PartialEq + Eq + Hash;
    /// The state bytes of a status block after the discharge-current state.
    type State: Copy + Debug + Default + PartialEq + Eq + Hash;

    /// Read the extension; `None` when INFO ends first.
    fn read_extension(r: &mut Reader<'_>) -> Option<Self::Extension>;
    /// Write the extension.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field.
    fn write_extension(e: &Self::Extension, w: &mut InfoWriter) -> Result<(), EncodeError>;
    /// Remaining and total capacity the extension carries in place of the block's own
    /// fields (wider ones), if any.
    fn capacities(e: &Self::Extension) -> Option<(MilliampHours, MilliampHours)>;
    /// Read the state bytes; `None` when INFO ends first.
    fn read_state(r: &mut Reader<'_>) -> Option<Self::State>;
    /// Write the state bytes.
    ///
    /// # Errors
    /// [`EncodeError`] when INFO is full.
    fn write_state(s: &Self::State, w: &mut InfoWriter) -> Result<(), EncodeError>;
}

/// One block of a reply, read and written in place.
pub trait Block: Sized {
    /// How many bytes after the last block a reply keeps as trailing (0: none allowed).
    const TRAILING: usize;
    /// Read one block; `None` when it does not fit.
    fn read(r: &mut Reader<'_>) -> Option<Self>;
    /// Write the block.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field.
    fn write(&self, w: &mut InfoWriter) -> Result<(), EncodeError>;
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "heapless capacities are below 256"
)]
const fn count(n: usize) -> u8 {
    n as u8
}

/// A count byte, then that many items.
fn read_list<T, const N: usize>(
    r: &mut Reader<'_>,
    mut item: impl FnMut(&mut Reader<'_>) -> Option<T>,
) -> Option<Vec<T, N>> {
    let mut v = Vec::new();
    for _ in 0..r.u8().ok()? {
        v.push(item(r)?).ok()?;
    }
    Some(v)
}

fn write_list<T: Copy>(
    w: &mut InfoWriter,
    items: &[T],
    mut item: impl FnMut(&mut InfoWriter, T) -> Result<&mut InfoWriter, EncodeError>,
) -> Result<(), EncodeError> {
    w.u8(count(items.len()))?;
    for &i in items {
        item(w, i)?;
    }
    Ok(())
}

/// Analog values of one module (0x42).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Analog<D: Dialect> {
    /// Cell voltages. Wire: count u8, then u16 BE each, 1 mV.
    pub cells: Vec<Millivolts, MAX_CELLS>,
    /// Temperatures. Wire: count u8, then u16 BE each, 0.1 K (0 °C = `D::ZERO_CELSIUS`).
    pub temperatures: Vec<DeciKelvin, MAX_TEMPERATURES>,
    /// Module current, positive = charging. Wire: i16 BE, `D::CURRENT_STEP_MA`.
    pub current: Milliamps,
    /// Module voltage. Wire: u16 BE, 1 mV.
    pub voltage: Millivolts,
    /// Remaining capacity. Wire: u16 BE, `D::CAPACITY_STEP_MAH`.
    pub remaining_capacity: MilliampHours,
    /// Number of user-defined items. Wire: u8.
    pub user_defined: u8,
    /// Full (total) capacity. Wire: u16 BE, `D::CAPACITY_STEP_MAH`.
    pub full_capacity: MilliampHours,
    /// Charge cycles. Wire: u16 BE.
    pub cycles: u16,
    /// The extension, present exactly when `user_defined >= D::EXTENDED_FROM`.
    pub extension: Option<D::Extension>,
}

impl<D: Dialect> Analog<D> {
    /// Temperature `i` in 0.1 °C.
    pub fn temperature_celsius(&self, i: usize) -> Option<DeciCelsius> {
        self.temperatures.get(i)?.to_celsius(D::ZERO_CELSIUS)
    }

    /// The remaining capacity: the extension's when it carries one, else the field.
    pub fn remaining(&self) -> MilliampHours {
        self.wide().map_or(self.remaining_capacity, |(r, _)| r)
    }

    /// The total capacity: the extension's when it carries one, else the full capacity.
    pub fn total(&self) -> MilliampHours {
        self.wide().map_or(self.full_capacity, |(_, t)| t)
    }

    fn wide(&self) -> Option<(MilliampHours, MilliampHours)> {
        self.extension.as_ref().and_then(D::capacities)
    }
}

impl<D: Dialect> Block for Analog<D> {
    const TRAILING: usize = 0;

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let cells = read_list(r, |r| r.millivolts().ok())?;
        let temperatures = read_list(r, |r| r.deci_kelvin().ok())?;
        let mut a = Self {
            cells,
            temperatures,
            current: r.milliamps(D::CURRENT_STEP_MA).ok()?,
            voltage: r.millivolts().ok()?,
            remaining_capacity: r.milliamp_hours(D::CAPACITY_STEP_MAH).ok()?,
            user_defined: r.u8().ok()?,
            full_capacity: r.milliamp_hours(D::CAPACITY_STEP_MAH).ok()?,
            cycles: r.u16().ok()?,
            extension: None,
        };
        if a.user_defined >= D::EXTENDED_FROM {
            a.extension = Some(D::read_extension(r)?);
        }
        Some(a)
    }

    fn write(&self, w: &mut InfoWriter) -> Result<(), EncodeError> {
        let step = D::CAPACITY_STEP_MAH;
        write_list(w, &self.cells, |w, c| w.millivolts(c, "cells"))?;
        write_list(w, &self.temperatures, |w, t| {
            w.deci_kelvin(t, "temperatures")
        })?;
        w.milliamps(self.current, D::CURRENT_STEP_MA, "current")?
            .millivolts(self.voltage, "voltage")?
            .milliamp_hours(self.remaining_capacity, step, "remaining_capacity")?
            .u8(self.user_defined)?
            .milliamp_hours(self.full_capacity, step, "full_capacity")?
            .u16(self.cycles)?;
        match (self.user_defined >= D::EXTENDED_FROM, &self.extension) {
            (true, Some(e)) => D::write_extension(e, w),
            (false, None) => Ok(()),
            _ => Err(EncodeError::OutOfRange { field: "extension" }),
        }
    }
}

/// Alarm/status of one module (0x44). State byte values and bits are the protocol's.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Status<D: Dialect> {
    /// One state per cell. Wire: count u8, then u8 each.
    pub cells: Vec<u8, MAX_CELLS>,
    /// One state per temperature. Wire: count u8, then u8 each.
    pub temperatures: Vec<u8, MAX_TEMPERATURES>,
    /// Charge current state. Wire: u8.
    pub charge_current: u8,
    /// Module (total) voltage state. Wire: u8.
    pub voltage: u8,
    /// Discharge current state. Wire: u8.
    pub discharge_current: u8,
    /// The protocol's further state bytes.
    pub state: D::State,
}

impl<D: Dialect> Block for Status<D> {
    const TRAILING: usize = MAX_TRAILING;

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let cells = read_list(r, |r| r.u8().ok())?;
        let temperatures = read_list(r, |r| r.u8().ok())?;
        let [charge_current, voltage, discharge_current] = r.take().ok()?;
        Some(Self {
            cells,
            temperatures,
            charge_current,
            voltage,
            discharge_current,
            state: D::read_state(r)?,
        })
    }

    fn write(&self, w: &mut InfoWriter) -> Result<(), EncodeError> {
        w.u8(count(self.cells.len()))?.bytes(&self.cells)?;
        w.u8(count(self.temperatures.len()))?
            .bytes(&self.temperatures)?;
        w.bytes(&[self.charge_current, self.voltage, self.discharge_current])?;
        D::write_state(&self.state, w)
    }
}

/// A 0x42 or 0x44 reply: the flag byte, the command value, up to `M` blocks, and — for
/// blocks that allow them ([`Block::TRAILING`]) — extra bytes some units append after the
/// last block, kept so the reply re-emits byte-exact.
///
/// `M` is caller-sized (default [`MAX_MODULES`]): a host that asks one module at a time can
/// use `Reply<B, 1>`, a fraction of the size; a reply with more blocks than `M` does not
/// decode ([`Reply::read`] gives `None`, so the response keeps it undecoded), never a cut one.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Reply<B, const M: usize = MAX_MODULES> {
    /// INFOFLAG / DATAFLAG. Wire: u8.
    pub info_flag: u8,
    /// The module asked for, or the number of modules after an `0xFF` request. Wire: u8.
    pub command: u8,
    /// The blocks, in order.
    pub modules: Vec<B, M>,
    /// Extra bytes after the last block (always empty where [`Block::TRAILING`] is 0).
    pub trailing: Vec<u8, MAX_TRAILING>,
}

impl<B: Block, const M: usize> Reply<B, M> {
    /// A reply with no blocks yet.
    pub const fn new(info_flag: u8, command: u8) -> Self {
        Self {
            info_flag,
            command,
            modules: Vec::new(),
            trailing: Vec::new(),
        }
    }

    /// Decode INFO; `None` when it does not fit the layout.
    // Out of line: a reply is kilobytes, and its block reader inlined into a body decoder
    // costs long stack offsets at every field (pylontech RS485 probe -0.7 KiB of .text).
    #[inline(never)]
    pub fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let mut reply = Self::new(r.u8().ok()?, r.u8().ok()?);
        while !r.is_empty() {
            let mut probe = r.clone();
            if let Some(b) = B::read(&mut probe) {
                reply.modules.push(b).ok()?;
                r = probe;
            } else if r.remaining() <= B::TRAILING {
                reply.trailing = Vec::from_slice(r.rest()).ok()?;
                break;
            } else {
                return None;
            }
        }
        Some(reply)
    }

    /// Append the INFO bytes.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field.
    pub fn write(&self, w: &mut InfoWriter) -> Result<(), EncodeError> {
        w.u8(self.info_flag)?.u8(self.command)?;
        for b in &self.modules {
            b.write(w)?;
        }
        w.bytes(&self.trailing)?;
        Ok(())
    }

    /// Whether this reply answers a request for module `target` (`None`: all modules), by
    /// the rule in the [module docs](self).
    pub fn answers(&self, target: Option<u8>) -> bool {
        answers(target, self.command, self.modules.len())
    }
}

/// The pairing rule of the [module docs](self): a reply with command value `command` and
/// `blocks` blocks answers a request for module `target` (`None`: all modules).
pub const fn answers(target: Option<u8>, command: u8, blocks: usize) -> bool {
    match target {
        Some(m) => m == command && blocks <= 1,
        None => command as usize == blocks || blocks == 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_rule() {
        assert!(answers(Some(2), 2, 1) && answers(Some(2), 2, 0));
        assert!(!answers(Some(2), 3, 1) && !answers(Some(2), 2, 2));
        assert!(answers(None, 3, 3) && answers(None, 7, 1));
        assert!(!answers(None, 3, 2));
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    struct Two;

    impl Block for Two {
        const TRAILING: usize = 1;

        fn read(r: &mut Reader<'_>) -> Option<Self> {
            r.u16().ok().map(|_| Self)
        }

        fn write(&self, w: &mut InfoWriter) -> Result<(), EncodeError> {
            w.u16(0)?;
            Ok(())
        }
    }

    #[test]
    fn reply_keeps_only_short_trailing() {
        let r = Reply::<Two>::read(&[0x11, 2, 0, 0, 0, 0, 9]).unwrap();
        assert_eq!((r.modules.len(), r.trailing.as_slice()), (2, &[9][..]));
        assert!(Reply::<Two>::read(&[0x11, 2, 0, 0, 9]).is_some());
        assert!(Reply::<Two>::read(&[0x11]).is_none());
        let mut w = crate::Writer::new();
        r.write(&mut w).unwrap();
        assert_eq!(w.finish().as_slice(), &[0x11, 2, 0, 0, 0, 0, 9]);
    }
}
