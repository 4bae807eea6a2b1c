//! 0x42 analog values and 0x44 warning/status, one pack or all (0xFF).

use heapless::Vec;
use voltwire_asciihex::{Reader, Writer};
use voltwire_core::{DeciCelsius, DeciKelvin, EncodeError, MilliampHours, Milliamps, Millivolts};

use crate::{
    CAPACITY_STEP_MAH, CURRENT_STEP_MA, MAX_CELLS, MAX_PACKS, MAX_TEMPERATURES, ZERO_CELSIUS,
};

#[allow(
    clippy::cast_possible_truncation,
    reason = "heapless capacities are below 256"
)]
const fn count(n: usize) -> u8 {
    n as u8
}

/// Analog values of one pack (PACEPDF §4.2, NK25).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PackAnalog {
    /// Cell voltages. Wire: count u8, then u16 BE each, 1 mV.
    pub cells: Vec<Millivolts, MAX_CELLS>,
    /// Temperatures; on 16S packs 4 cell sensors, then MOSFET, then environment (derive
    /// roles from the count). Wire: count u8, then u16 BE each, 0.1 K (0 °C = 2730).
    pub temperatures: Vec<DeciKelvin, MAX_TEMPERATURES>,
    /// Pack current, positive = charging. Wire: i16 BE, 10 mA.
    pub current: Milliamps,
    /// Pack voltage. Wire: u16 BE, 1 mV.
    pub voltage: Millivolts,
    /// Remaining capacity. Wire: u16 BE, 10 mAh.
    pub remaining_capacity: MilliampHours,
    /// Number of user-defined items (3 on Pace: full, cycles, design). Wire: u8.
    pub user_defined: u8,
    /// Full capacity. Wire: u16 BE, 10 mAh.
    pub full_capacity: MilliampHours,
    /// Charge cycles. Wire: u16 BE.
    pub cycles: u16,
    /// Design capacity, present exactly when `user_defined >= 3`. Wire: u16 BE, 10 mAh.
    pub design_capacity: Option<MilliampHours>,
}

impl PackAnalog {
    /// Temperature `i` in 0.1 °C (0 °C = 2730 in 0.1 K).
    pub fn temperature_celsius(&self, i: usize) -> Option<DeciCelsius> {
        self.temperatures.get(i)?.to_celsius(ZERO_CELSIUS)
    }

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let mut p = Self::default();
        for _ in 0..r.u8().ok()? {
            p.cells.push(r.millivolts().ok()?).ok()?;
        }
        for _ in 0..r.u8().ok()? {
            p.temperatures.push(r.deci_kelvin().ok()?).ok()?;
        }
        p.current = r.milliamps(CURRENT_STEP_MA).ok()?;
        p.voltage = r.millivolts().ok()?;
        p.remaining_capacity = r.milliamp_hours(CAPACITY_STEP_MAH).ok()?;
        p.user_defined = r.u8().ok()?;
        p.full_capacity = r.milliamp_hours(CAPACITY_STEP_MAH).ok()?;
        p.cycles = r.u16().ok()?;
        if p.user_defined >= 3 {
            p.design_capacity = Some(r.milliamp_hours(CAPACITY_STEP_MAH).ok()?);
        }
        Some(p)
    }

    fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(count(self.cells.len()))?;
        for &c in &self.cells {
            w.millivolts(c, "cells")?;
        }
        w.u8(count(self.temperatures.len()))?;
        for &t in &self.temperatures {
            w.deci_kelvin(t, "temperatures")?;
        }
        w.milliamps(self.current, CURRENT_STEP_MA, "current")?
            .millivolts(self.voltage, "voltage")?
            .milliamp_hours(
                self.remaining_capacity,
                CAPACITY_STEP_MAH,
                "remaining_capacity",
            )?
            .u8(self.user_defined)?
            .milliamp_hours(self.full_capacity, CAPACITY_STEP_MAH, "full_capacity")?
            .u16(self.cycles)?;
        match (self.user_defined >= 3, self.design_capacity) {
            (true, Some(d)) => {
                w.milliamp_hours(d, CAPACITY_STEP_MAH, "design_capacity")?;
            }
            (false, None) => {}
            _ => {
                return Err(EncodeError::OutOfRange {
                    field: "design_capacity",
                });
            }
        }
        Ok(())
    }
}

/// A 0x42 reply: INFOFLAG, the pack number (or the pack count after an 0xFF request), then
/// each pack.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AnalogReply {
    /// INFOFLAG (0x00 or 0x01). Wire: u8.
    pub info_flag: u8,
    /// The pack asked for, or the number of packs after an 0xFF request. Wire: u8.
    pub command: u8,
    /// The packs, in order.
    pub packs: Vec<PackAnalog, MAX_PACKS>,
}

impl AnalogReply {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let mut a = Self {
            info_flag: r.u8().ok()?,
            command: r.u8().ok()?,
            packs: Vec::new(),
        };
        while !r.is_empty() {
            a.packs.push(PackAnalog::read(&mut r)?).ok()?;
        }
        Some(a)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(self.info_flag)?.u8(self.command)?;
        for p in &self.packs {
            p.write(w)?;
        }
        Ok(())
    }
}

/// Warning/status of one pack (PACEPDF §4.3). Warning values: [`crate::flags::warning`];
/// bits: the tables in [`crate::flags`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PackStatus {
    /// One warning per cell. Wire: count u8, then u8 each.
    pub cells: Vec<u8, MAX_CELLS>,
    /// One warning per temperature. Wire: count u8, then u8 each.
    pub temperatures: Vec<u8, MAX_TEMPERATURES>,
    /// Charge current warning. Wire: u8.
    pub charge_current: u8,
    /// Total voltage warning. Wire: u8.
    pub voltage: u8,
    /// Discharge current warning. Wire: u8.
    pub discharge_current: u8,
    /// Protect state 1 ([`crate::flags::PROTECT_1`]). Wire: u8.
    pub protect_1: u8,
    /// Protect state 2 ([`crate::flags::PROTECT_2`]). Wire: u8.
    pub protect_2: u8,
    /// Instruction/system state ([`crate::flags::SYSTEM`]). Wire: u8.
    pub system: u8,
    /// Control state ([`crate::flags::CONTROL`]). Wire: u8.
    pub control: u8,
    /// Fault state ([`crate::flags::FAULT`]). Wire: u8.
    pub fault: u8,
    /// Balancing cells 1–8 (bit 0 = cell 1). Wire: u8.
    pub balance_1: u8,
    /// Balancing cells 9–16 (bit 0 = cell 9). Wire: u8.
    pub balance_2: u8,
    /// Warn state 1 ([`crate::flags::WARN_1`]). Wire: u8.
    pub warn_1: u8,
    /// Warn state 2 ([`crate::flags::WARN_2`]). Wire: u8.
    pub warn_2: u8,
}

impl PackStatus {
    /// Whether the pack has "locked" after over-voltage (protect 1 cell or pack OV, or
    /// protect 2 fully charged): pace2pylon then switches the charge MOSFET back on.
    pub const fn locked_after_balancing(&self) -> bool {
        self.protect_1 & 0x05 != 0 || self.protect_2 & 0x80 != 0
    }

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let mut s = Self::default();
        for _ in 0..r.u8().ok()? {
            s.cells.push(r.u8().ok()?).ok()?;
        }
        for _ in 0..r.u8().ok()? {
            s.temperatures.push(r.u8().ok()?).ok()?;
        }
        let [
            charge_current,
            voltage,
            discharge_current,
            protect_1,
            protect_2,
            system,
            control,
            fault,
            balance_1,
            balance_2,
            warn_1,
            warn_2,
        ] = r.take().ok()?;
        s.charge_current = charge_current;
        s.voltage = voltage;
        s.discharge_current = discharge_current;
        s.protect_1 = protect_1;
        s.protect_2 = protect_2;
        s.system = system;
        s.control = control;
        s.fault = fault;
        s.balance_1 = balance_1;
        s.balance_2 = balance_2;
        s.warn_1 = warn_1;
        s.warn_2 = warn_2;
        Some(s)
    }

    fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(count(self.cells.len()))?.bytes(&self.cells)?;
        w.u8(count(self.temperatures.len()))?
            .bytes(&self.temperatures)?;
        w.bytes(&[
            self.charge_current,
            self.voltage,
            self.discharge_current,
            self.protect_1,
            self.protect_2,
            self.system,
            self.control,
            self.fault,
            self.balance_1,
            self.balance_2,
            self.warn_1,
            self.warn_2,
        ])?;
        Ok(())
    }
}

/// A 0x44 reply: INFOFLAG, pack number (or count), each pack, and up to 4 extra trailing
/// bytes some packs append ("easun powerwall" in NK25), kept so it re-emits byte-exact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct StatusReply {
    /// INFOFLAG. Wire: u8.
    pub info_flag: u8,
    /// The pack asked for, or the pack count after an 0xFF request. Wire: u8.
    pub command: u8,
    /// The packs, in order.
    pub packs: Vec<PackStatus, MAX_PACKS>,
    /// Extra bytes after the last pack.
    pub trailing: Vec<u8, 4>,
}

impl StatusReply {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let mut s = Self {
            info_flag: r.u8().ok()?,
            command: r.u8().ok()?,
            ..Self::default()
        };
        while !r.is_empty() {
            let mut probe = r.clone();
            if let Some(p) = PackStatus::read(&mut probe) {
                s.packs.push(p).ok()?;
                r = probe;
            } else {
                s.trailing = Vec::from_slice(r.rest()).ok()?;
                break;
            }
        }
        Some(s)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(self.info_flag)?.u8(self.command)?;
        for p in &self.packs {
            p.write(w)?;
        }
        w.bytes(&self.trailing)?;
        Ok(())
    }
}
