//! Sans-IO poll plans for the BMS protocols the apps read directly: Daly, JK ("4E 57"),
//! JK-PB, Pace and Pylontech RS485.
//!
//! A [`Plan`] says which requests one poll sends, in which order, which decoded reply
//! answers each, and what the replies assemble into (its [`Plan::Output`]: the protocol's
//! own typed replies, e.g. [`daly::DalyPoll`]). Every output turns into one
//! [`PackReading`] ([`Reading::reading`]): exact integers in canonical units, current
//! positive while charging, cell extremes with their numbers, cell and other probe
//! temperatures, SOC and capacities, the MOSFET states and whether an active protection
//! stops a direction. An app maps that reading (or, for a protocol's own detail, the
//! output) into its domain.
//!
//! The plan never touches I/O, time or retries: a driver (the runtime's `bms` module)
//! writes [`Plan::request`], feeds the link's bytes to a fresh [`Plan::Decoder`], hands
//! the first item [`Plan::matches`] accepts (or `None` after its timeout) to
//! [`Plan::reply`], and asks [`Plan::finish`] once no request is left. A required reply
//! that is missing or not understood ends the poll at once (no further request is sent,
//! `finish` gives `None`); an optional one is left out of the output.
//!
//! | plan | requests | required |
//! |---|---|---|
//! | [`daly::DalyPlan`] | 0x90 pack, 0x91 cell range, 0x92 temperatures, 0x93 MOSFETs (+ 0x98 failures) | [`daly::DalyReads`] |
//! | [`jk::JkPlan`] | read all (0x06) | the record with cells |
//! | [`jk_pb::JkPbPlan`] | status trigger (0x1620), or four FC 0x03 reads of the status table | the status block |
//! | [`pace::PacePlan`] | 0x42 analog, 0x44 status | analog; status as configured |
//! | [`pace::PaceExchange`] | any one Pace request | its answer with RTN 0 |
//! | [`pylontech::PylontechPlan`] | 0x42 analog (+ 0x92 charge management) | both |
//!
//! # Features
//!
//! - `std`: links `std` (and the protocol crates' `std`) for std-using dependents; no API.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille, StreamDecoder};

pub mod daly;
pub mod jk;
pub mod jk_pb;
pub mod pace;
pub mod pylontech;

/// The longest request a plan sends (Daly 13, JK read all 21, JK-PB 11, ASCII-hex ≤ 40
/// bytes).
pub const MAX_REQUEST: usize = 64;

/// The bytes of one request.
pub type RequestBytes = heapless::Vec<u8, MAX_REQUEST>;

/// The item a plan's decoder yields.
pub type Item<P> = <<P as Plan>::Decoder as StreamDecoder>::Item;

/// One poll of one BMS as a sequence of request / reply steps (see the crate docs).
pub trait Plan {
    /// The stream decoder of the replies (a fresh one per link).
    type Decoder: StreamDecoder + Default;
    /// What a complete poll assembles.
    type Output;

    /// Begin a poll: the first step, nothing assembled yet.
    fn start(&mut self);

    /// The request of the current step, or `None` when the poll is over (complete or
    /// ended by a missing required reply).
    fn request(&self) -> Option<RequestBytes>;

    /// Whether `item` answers the current step (others are late or foreign: skip them).
    fn matches(&self, item: &Item<Self>) -> bool;

    /// The answer to the current step (`None`: no answer in time); moves to the next step.
    fn reply(&mut self, item: Option<Item<Self>>);

    /// The assembled output once [`Plan::request`] gives `None`; `None` when a required
    /// reply was missing (or the poll is not over).
    fn finish(&mut self) -> Option<Self::Output>;
}

/// An output that reads as one [`PackReading`].
pub trait Reading {
    /// The common reading; `None` when the replies lack what every reading has (cells, pack
    /// voltage, current).
    fn reading(&self) -> Option<PackReading>;
}

/// A value and the 1-based number of its cell (or sensor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extreme<T> {
    /// The value.
    pub value: T,
    /// Its 1-based number.
    pub number: u8,
}

/// Limits the BMS sends itself (Pylontech 0x92).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Charge voltage limit.
    pub charge_voltage: Millivolts,
    /// Charge current limit (≥ 0).
    pub charge_current: Milliamps,
    /// Discharge current limit as a magnitude (≥ 0).
    pub discharge_current: Milliamps,
}

/// What one poll of a pack says, in the same shape for every protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackReading {
    /// Pack voltage.
    pub voltage: Millivolts,
    /// Pack current, positive while charging.
    pub current: Milliamps,
    /// State of charge: the BMS's own (Daly as sent; JK, JK-PB whole percent, above 100 %
    /// taken as 100 %), or remaining / total capacity (Pace, Pylontech; `None` for a total
    /// of 0).
    pub soc: Option<Permille>,
    /// Remaining capacity, when reported (Pylontech: the wide field when present).
    pub remaining: Option<MilliampHours>,
    /// Full-charge capacity, when reported (Pylontech: the wide field when present).
    pub full: Option<MilliampHours>,
    /// Design capacity, when reported (Pace's analog extension).
    pub design: Option<MilliampHours>,
    /// Charge cycles, when reported.
    pub cycles: Option<u32>,
    /// The lowest cell (the first of equals).
    pub cell_min: Extreme<Millivolts>,
    /// The highest cell (the last of equals).
    pub cell_max: Extreme<Millivolts>,
    /// Lowest and highest of the cell probes, when any reads.
    pub cell_temperatures: Option<(DeciCelsius, DeciCelsius)>,
    /// Lowest and highest of the other probes (MOSFET, board, environment), when any.
    pub other_temperatures: Option<(DeciCelsius, DeciCelsius)>,
    /// The charge MOSFET, when reported.
    pub charge_mosfet: Option<bool>,
    /// The discharge MOSFET, when reported.
    pub discharge_mosfet: Option<bool>,
    /// An active protection (or alarm) of the BMS stops charging.
    pub charge_stop: bool,
    /// An active protection (or alarm) of the BMS stops discharging.
    pub discharge_stop: bool,
    /// The BMS's own limits, when it sends them.
    pub limits: Option<Limits>,
}

impl PackReading {
    /// Charging is allowed: the charge MOSFET is on (or not reported) and nothing stops it.
    pub fn charge_allowed(&self) -> bool {
        self.charge_mosfet.unwrap_or(true) && !self.charge_stop
    }

    /// Discharging is allowed: the discharge MOSFET is on (or not reported) and nothing
    /// stops it.
    pub fn discharge_allowed(&self) -> bool {
        self.discharge_mosfet.unwrap_or(true) && !self.discharge_stop
    }

    /// Lowest and highest of every probe (cells and others).
    pub fn temperatures(&self) -> Option<(DeciCelsius, DeciCelsius)> {
        match (self.cell_temperatures, self.other_temperatures) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (one, other) => one.or(other),
        }
    }
}

/// The lowest (first of equals) and highest (last of equals) of `values`, numbered from 1.
pub fn extremes<T: Ord + Copy>(
    values: impl IntoIterator<Item = T>,
) -> Option<(Extreme<T>, Extreme<T>)> {
    let mut out: Option<(Extreme<T>, Extreme<T>)> = None;
    for (i, value) in values.into_iter().enumerate() {
        let number = u8::try_from(i.saturating_add(1)).unwrap_or(u8::MAX);
        let e = Extreme { value, number };
        out = Some(match out {
            None => (e, e),
            Some((lo, hi)) => (
                if value < lo.value { e } else { lo },
                if value >= hi.value { e } else { hi },
            ),
        });
    }
    out
}

/// Lowest and highest of `values`.
pub fn range<T: Ord + Copy>(values: impl IntoIterator<Item = T>) -> Option<(T, T)> {
    values.into_iter().fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Remaining / total as a state of charge, clamped to 0–100.0 %; `None` for a total ≤ 0.
pub fn soc_of(remaining: MilliampHours, total: MilliampHours) -> Option<Permille> {
    if total.0 <= 0 {
        return None;
    }
    let pm = remaining.0.clamp(0, total.0).saturating_mul(1000) / total.0;
    Some(Permille(i16::try_from(pm).unwrap_or(1000)))
}

/// A whole percentage as a state of charge, above 100 % taken as 100 %.
pub fn soc_percent(pct: u8) -> Permille {
    Permille(i16::from(pct.min(100)) * 10)
}

/// The bytes of an emitted message (`None` when it cannot be encoded or is too long).
fn emitted(m: &impl voltwire_core::Emit) -> Option<RequestBytes> {
    let mut buf = [0u8; MAX_REQUEST];
    let n = m.emit(&mut buf).ok()?;
    RequestBytes::from_slice(buf.get(..n)?).ok()
}

/// Whether a step's reply is needed for the poll to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Missing or not understood: the poll ends without an output.
    Required,
    /// Missing or not understood: left out of the output.
    Optional,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_take_the_first_lowest_and_the_last_highest() {
        let (lo, hi) = extremes([3, 1, 5, 1, 5, 2]).unwrap();
        assert_eq!((lo.value, lo.number), (1, 2));
        assert_eq!((hi.value, hi.number), (5, 5));
        assert_eq!(extremes::<u8>([]), None);
        assert_eq!(range([4, -2, 9]), Some((-2, 9)));
    }

    #[test]
    fn soc_edges() {
        assert_eq!(
            soc_of(MilliampHours(615), MilliampHours(1000)),
            Some(Permille(615))
        );
        assert_eq!(
            soc_of(MilliampHours(1200), MilliampHours(1000)),
            Some(Permille(1000))
        );
        assert_eq!(
            soc_of(MilliampHours(-5), MilliampHours(1000)),
            Some(Permille(0))
        );
        assert_eq!(soc_of(MilliampHours(5), MilliampHours(0)), None);
        assert_eq!(soc_percent(61), Permille(610));
        assert_eq!(soc_percent(101), Permille(1000));
    }

    #[test]
    fn directions_follow_mosfets_and_stops() {
        let r = PackReading {
            voltage: Millivolts(0),
            current: Milliamps(0),
            soc: None,
            remaining: None,
            full: None,
            design: None,
            cycles: None,
            cell_min: Extreme {
                value: Millivolts(0),
                number: 1,
            },
            cell_max: Extreme {
                value: Millivolts(0),
                number: 1,
            },
            cell_temperatures: Some((DeciCelsius(210), DeciCelsius(240))),
            other_temperatures: Some((DeciCelsius(190), DeciCelsius(230))),
            charge_mosfet: None,
            discharge_mosfet: Some(false),
            charge_stop: false,
            discharge_stop: false,
            limits: None,
        };
        assert!(r.charge_allowed() && !r.discharge_allowed());
        assert_eq!(r.temperatures(), Some((DeciCelsius(190), DeciCelsius(240))));
        let stopped = PackReading {
            charge_stop: true,
            ..r
        };
        assert!(!stopped.charge_allowed());
    }
}
