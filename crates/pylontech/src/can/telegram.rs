//! The telegram assembler: one complete set of BMS frames, with the age of each part.
//!
//! Pure and bounded: a fixed array of slots, no clock (the caller passes `now` in
//! milliseconds of any monotonic clock), no allocation.

use super::Message;

/// One kind of BMS frame that can be part of a telegram, in burst order (the order a
/// Pylontech BMS sends them, extensions after).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Part {
    /// 0x359.
    Alarms,
    /// 0x351.
    Limits,
    /// 0x355.
    SocSoh,
    /// 0x356.
    Measurements,
    /// 0x35A.
    SmaAlarms,
    /// 0x35C.
    Request,
    /// 0x35E.
    Manufacturer,
    /// 0x35F.
    BatteryInfo,
    /// 0x370.
    BmsName,
    /// 0x371.
    BatteryName,
    /// 0x372.
    ModuleCounts,
    /// 0x373.
    CellExtremes,
    /// 0x374.
    MinCellVoltageId,
    /// 0x375.
    MaxCellVoltageId,
    /// 0x376.
    MinCellTemperatureId,
    /// 0x377.
    MaxCellTemperatureId,
    /// 0x378.
    Energy,
    /// 0x379.
    InstalledCapacity,
    /// 0x380.
    SerialPart1,
    /// 0x381.
    SerialPart2,
}

/// Number of [`Part`]s.
const PARTS: usize = 20;

impl Part {
    /// Every part, in burst order.
    pub const ALL: [Self; PARTS] = [
        Self::Alarms,
        Self::Limits,
        Self::SocSoh,
        Self::Measurements,
        Self::SmaAlarms,
        Self::Request,
        Self::Manufacturer,
        Self::BatteryInfo,
        Self::BmsName,
        Self::BatteryName,
        Self::ModuleCounts,
        Self::CellExtremes,
        Self::MinCellVoltageId,
        Self::MaxCellVoltageId,
        Self::MinCellTemperatureId,
        Self::MaxCellTemperatureId,
        Self::Energy,
        Self::InstalledCapacity,
        Self::SerialPart1,
        Self::SerialPart2,
    ];

    /// The part a message fills, or `None` for inverter frames and unknown ids.
    pub const fn of(m: &Message) -> Option<Self> {
        Some(match m {
            Message::Alarms(_) => Self::Alarms,
            Message::Limits(_) => Self::Limits,
            Message::SocSoh(_) => Self::SocSoh,
            Message::Measurements(_) => Self::Measurements,
            Message::SmaAlarms(_) => Self::SmaAlarms,
            Message::Request(_) => Self::Request,
            Message::Manufacturer(_) => Self::Manufacturer,
            Message::BatteryInfo(_) => Self::BatteryInfo,
            Message::BmsName(_) => Self::BmsName,
            Message::BatteryName(_) => Self::BatteryName,
            Message::ModuleCounts(_) => Self::ModuleCounts,
            Message::CellExtremes(_) => Self::CellExtremes,
            Message::MinCellVoltageId(_) => Self::MinCellVoltageId,
            Message::MaxCellVoltageId(_) => Self::MaxCellVoltageId,
            Message::MinCellTemperatureId(_) => Self::MinCellTemperatureId,
            Message::MaxCellTemperatureId(_) => Self::MaxCellTemperatureId,
            Message::Energy(_) => Self::Energy,
            Message::InstalledCapacity(_) => Self::InstalledCapacity,
            Message::SerialPart1(_) => Self::SerialPart1,
            Message::SerialPart2(_) => Self::SerialPart2,
            Message::InverterRequest(_)
            | Message::InverterHandshake(_)
            | Message::Unknown { .. } => {
                return None;
            }
        })
    }

    /// The CAN id.
    pub const fn id(self) -> u16 {
        match self {
            Self::Alarms => 0x359,
            Self::Limits => 0x351,
            Self::SocSoh => 0x355,
            Self::Measurements => 0x356,
            Self::SmaAlarms => 0x35A,
            Self::Request => 0x35C,
            Self::Manufacturer => 0x35E,
            Self::BatteryInfo => 0x35F,
            Self::BmsName => 0x370,
            Self::BatteryName => 0x371,
            Self::ModuleCounts => 0x372,
            Self::CellExtremes => 0x373,
            Self::MinCellVoltageId => 0x374,
            Self::MaxCellVoltageId => 0x375,
            Self::MinCellTemperatureId => 0x376,
            Self::MaxCellTemperatureId => 0x377,
            Self::Energy => 0x378,
            Self::InstalledCapacity => 0x379,
            Self::SerialPart1 => 0x380,
            Self::SerialPart2 => 0x381,
        }
    }

    const fn index(self) -> usize {
        self as usize
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of [`Part`]s.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PartSet(u32);

impl PartSet {
    /// No parts.
    pub const EMPTY: Self = Self(0);
    /// The Pylontech burst: 0x351, 0x355, 0x356, 0x359, 0x35C, 0x35E.
    pub const PYLONTECH: Self = Self(
        Part::Limits.bit()
            | Part::SocSoh.bit()
            | Part::Measurements.bit()
            | Part::Alarms.bit()
            | Part::Request.bit()
            | Part::Manufacturer.bit(),
    );
    /// The SMA/Victron core: 0x351, 0x355, 0x356, 0x35A, 0x35E.
    pub const SMA_VICTRON: Self = Self(
        Part::Limits.bit()
            | Part::SocSoh.bit()
            | Part::Measurements.bit()
            | Part::SmaAlarms.bit()
            | Part::Manufacturer.bit(),
    );

    /// This set plus `p`.
    #[must_use]
    pub const fn with(self, p: Part) -> Self {
        Self(self.0 | p.bit())
    }

    /// Whether `p` is in the set.
    pub const fn contains(self, p: Part) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of parts.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// The parts, in burst order.
    pub fn iter(self) -> impl Iterator<Item = Part> {
        Part::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    fn insert(&mut self, p: Part) {
        self.0 |= p.bit();
    }
}

/// A set of BMS frames, at most one per [`Part`], emitted in burst order.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Telegram {
    parts: [Option<Message>; PARTS],
}

impl Default for Telegram {
    fn default() -> Self {
        Self::new()
    }
}

impl Telegram {
    /// An empty telegram.
    pub const fn new() -> Self {
        Self {
            parts: [None; PARTS],
        }
    }

    /// Put a message in its slot (replacing the previous one); returns `false` (and stores
    /// nothing) for inverter frames and unknown ids.
    pub fn insert(&mut self, m: Message) -> bool {
        match Part::of(&m).and_then(|p| self.parts.get_mut(p.index())) {
            Some(slot) => {
                *slot = Some(m);
                true
            }
            None => false,
        }
    }

    /// The message of one part.
    pub fn get(&self, p: Part) -> Option<&Message> {
        self.parts.get(p.index()).and_then(Option::as_ref)
    }

    /// The parts present.
    pub fn present(&self) -> PartSet {
        let mut s = PartSet::EMPTY;
        for p in Part::ALL {
            if self.get(p).is_some() {
                s.insert(p);
            }
        }
        s
    }

    /// The messages, in burst order (0x359 first, as a Pylontech BMS sends them).
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.parts.iter().flatten()
    }
}

/// Why [`Assembler::complete`] has no telegram yet.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Incomplete {
    /// Required parts never received (or cleared).
    pub missing: PartSet,
    /// Required parts older than the allowed age.
    pub stale: PartSet,
}

/// Collects BMS frames into a [`Telegram`], remembering when each part arrived.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Assembler {
    required: PartSet,
    telegram: Telegram,
    received_at: [u64; PARTS],
    inverter_at: Option<u64>,
}

impl Assembler {
    /// An empty assembler that calls a telegram complete when every part of `required` is
    /// present (e.g. [`PartSet::PYLONTECH`]).
    pub const fn new(required: PartSet) -> Self {
        Self {
            required,
            telegram: Telegram::new(),
            received_at: [0; PARTS],
            inverter_at: None,
        }
    }

    /// The parts required for a complete telegram.
    pub const fn required(&self) -> PartSet {
        self.required
    }

    /// Take one decoded message received at `now` (milliseconds of the caller's monotonic
    /// clock). BMS frames are stored; an inverter frame (0x305/0x307) records the time of the
    /// last inverter request. Returns whether the message was used.
    pub fn push(&mut self, m: Message, now: u64) -> bool {
        if matches!(
            m,
            Message::InverterRequest(_) | Message::InverterHandshake(_)
        ) {
            self.inverter_at = Some(now);
            return true;
        }
        let Some(p) = Part::of(&m) else {
            return false;
        };
        if let Some(at) = self.received_at.get_mut(p.index()) {
            *at = now;
        }
        self.telegram.insert(m)
    }

    /// Required parts not received yet.
    pub fn missing(&self) -> PartSet {
        PartSet(self.required.0 & !self.telegram.present().0)
    }

    /// Age of a part at `now` in milliseconds, or `None` if it was never received. A time
    /// earlier than the arrival counts as age 0.
    pub fn age(&self, p: Part, now: u64) -> Option<u64> {
        self.telegram.get(p)?;
        self.received_at
            .get(p.index())
            .map(|&at| now.saturating_sub(at))
    }

    /// Age of the oldest required part, or `None` if a required part is missing.
    pub fn oldest_age(&self, now: u64) -> Option<u64> {
        self.required
            .iter()
            .map(|p| self.age(p, now))
            .try_fold(0u64, |acc, a| a.map(|a| acc.max(a)))
    }

    /// Milliseconds since the last inverter frame (0x305/0x307), if any arrived.
    pub fn inverter_request_age(&self, now: u64) -> Option<u64> {
        self.inverter_at.map(|at| now.saturating_sub(at))
    }

    /// The collected telegram (every part received, required or not) when every required
    /// part is present and none is older than `max_age` ms.
    ///
    /// # Errors
    /// [`Incomplete`] naming the missing and the stale parts.
    pub fn complete(&self, now: u64, max_age: u64) -> Result<Telegram, Incomplete> {
        let missing = self.missing();
        let mut stale = PartSet::EMPTY;
        for p in self.required.iter() {
            if self.age(p, now).is_some_and(|a| a > max_age) {
                stale.insert(p);
            }
        }
        if missing.is_empty() && stale.is_empty() {
            Ok(self.telegram)
        } else {
            Err(Incomplete { missing, stale })
        }
    }

    /// Everything received so far, complete or not.
    pub const fn telegram(&self) -> &Telegram {
        &self.telegram
    }

    /// Forget every part (e.g. after forwarding a telegram, to require a fresh set).
    pub fn clear(&mut self) {
        self.telegram = Telegram::new();
        self.received_at = [0; PARTS];
    }
}

#[cfg(test)]
#[allow(
    clippy::many_single_char_names,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    reason = "test code"
)]
mod tests {
    use super::super::{CanMessage as _, Message};
    use super::*;

    fn m(id: u16, hex: &[u8]) -> Message {
        Message::parse(id, hex).unwrap()
    }

    #[test]
    fn bms_gateway_burst() {
        let burst = super::super::reference::BMS_GATEWAY_BURST;
        let mut a = Assembler::new(PartSet::PYLONTECH);
        assert_eq!(a.missing(), PartSet::PYLONTECH);
        for (i, (id, d)) in burst.iter().enumerate() {
            assert!(a.push(m(*id, d), 1000 + 90 * i as u64));
        }
        assert!(a.missing().is_empty());
        assert_eq!(a.age(Part::Alarms, 2000), Some(1000));
        assert_eq!(a.oldest_age(2000), Some(1000));
        let t = a.complete(2000, 5000).unwrap();
        let ids: std::vec::Vec<u16> = t.messages().map(Message::id).collect();
        assert_eq!(ids, [0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E, 0x373]);
        let e = a.complete(7000, 5000).unwrap_err();
        assert!(e.missing.is_empty() && e.stale.contains(Part::Alarms));
        assert!(a.push(m(0x305, &[0; 8]), 3000));
        assert_eq!(a.inverter_request_age(3500), Some(500));
        a.clear();
        assert_eq!(a.complete(3000, 5000).unwrap_err().missing.len(), 6);
        // a telegram for an output: every frame emits
        for msg in t.messages() {
            let (_, len) = msg.emit().unwrap();
            assert!(len <= 8);
        }
        let _ = super::super::Request::ID;
    }
}
