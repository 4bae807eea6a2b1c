//! 0x42 analog values and 0x44 alarm information, one module or all (0xFF).

use heapless::Vec;
use voltwire_asciihex::{Reader, Writer};
use voltwire_core::{DeciKelvin, EncodeError, MilliampHours, Milliamps, Millivolts};

use super::{CURRENT_STEP_MA, MAX_CELLS, MAX_MODULES, MAX_TEMPERATURES, ZERO_CELSIUS};

/// Analog values of one module (PYL33 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ModuleAnalog {
    /// Cell voltages. Wire: count u8, then u16 BE each, 1 mV.
    pub cells: Vec<Millivolts, MAX_CELLS>,
    /// Temperatures: #1 BMS board, then cell groups (cells 1–4, 5–8, …); the US5000 adds a
    /// MOSFET value. Wire: count u8, then u16 BE each, 0.1 K (0 °C = 2731).
    pub temperatures: Vec<DeciKelvin, MAX_TEMPERATURES>,
    /// Module current, positive = charging. Wire: i16 BE, 100 mA.
    pub current: Milliamps,
    /// Module voltage. Wire: u16 BE, 1 mV.
    pub voltage: Millivolts,
    /// Remaining capacity 1; 65 535 mAh (0xFFFF) when above 65 Ah. Wire: u16 BE, 1 mAh.
    pub remaining_capacity_1: MilliampHours,
    /// Number of user-defined items: 2 = old layout, 4 = with capacity 2. Wire: u8.
    pub user_defined: u8,
    /// Total capacity 1; 65 535 mAh (0xFFFF) when above 65 Ah. Wire: u16 BE, 1 mAh.
    pub total_capacity_1: MilliampHours,
    /// Charge cycles. Wire: u16 BE.
    pub cycles: u16,
    /// Remaining and total capacity 2, present exactly when `user_defined >= 4`.
    /// Wire: u24 BE each, 1 mAh.
    pub capacity_2: Option<(MilliampHours, MilliampHours)>,
}

impl ModuleAnalog {
    /// The remaining capacity: capacity 2 when present, else capacity 1.
    pub fn remaining_capacity(&self) -> MilliampHours {
        self.capacity_2
            .map_or(self.remaining_capacity_1, |(r, _)| r)
    }

    /// The total capacity: capacity 2 when present, else capacity 1.
    pub fn total_capacity(&self) -> MilliampHours {
        self.capacity_2.map_or(self.total_capacity_1, |(_, t)| t)
    }

    /// Temperature `i` in 0.1 °C (0 °C = 2731 in 0.1 K).
    pub fn temperature_celsius(&self, i: usize) -> Option<voltwire_core::DeciCelsius> {
        self.temperatures.get(i)?.to_celsius(ZERO_CELSIUS)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Option<Self> {
        let mut m = Self::default();
        for _ in 0..r.u8().ok()? {
            m.cells.push(r.millivolts().ok()?).ok()?;
        }
        for _ in 0..r.u8().ok()? {
            m.temperatures.push(r.deci_kelvin().ok()?).ok()?;
        }
        m.current = r.milliamps(CURRENT_STEP_MA).ok()?;
        m.voltage = r.millivolts().ok()?;
        m.remaining_capacity_1 = r.milliamp_hours(1).ok()?;
        m.user_defined = r.u8().ok()?;
        m.total_capacity_1 = r.milliamp_hours(1).ok()?;
        m.cycles = r.u16().ok()?;
        if m.user_defined >= 4 {
            let rem = MilliampHours(i64::from(r.u24().ok()?));
            let tot = MilliampHours(i64::from(r.u24().ok()?));
            m.capacity_2 = Some((rem, tot));
        }
        Some(m)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
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
            .milliamp_hours(self.remaining_capacity_1, 1, "remaining_capacity_1")?
            .u8(self.user_defined)?
            .milliamp_hours(self.total_capacity_1, 1, "total_capacity_1")?
            .u16(self.cycles)?;
        match (self.user_defined >= 4, self.capacity_2) {
            (true, Some((rem, tot))) => {
                w.u24(cap24(rem)?, "capacity_2")?
                    .u24(cap24(tot)?, "capacity_2")?;
            }
            (false, None) => {}
            _ => {
                return Err(EncodeError::OutOfRange {
                    field: "capacity_2",
                });
            }
        }
        Ok(())
    }
}

fn cap24(v: MilliampHours) -> Result<u32, EncodeError> {
    u32::try_from(v.0).map_err(|_| EncodeError::OutOfRange {
        field: "capacity_2",
    })
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "heapless capacities are below 256"
)]
pub(crate) const fn count(n: usize) -> u8 {
    n as u8
}

/// A 0x42 reply: INFOFLAG, the command value (module address) or, for an all-modules
/// request, the module count, then each module.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AnalogReply {
    /// INFOFLAG (0x10/0x11 on most units, 0x00 on some). Wire: u8.
    pub info_flag: u8,
    /// The module address asked for, or the number of modules after an 0xFF request.
    /// Wire: u8.
    pub command: u8,
    /// The modules, in order.
    pub modules: Vec<ModuleAnalog, MAX_MODULES>,
}

impl AnalogReply {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let mut a = Self {
            info_flag: r.u8().ok()?,
            command: r.u8().ok()?,
            modules: Vec::new(),
        };
        while !r.is_empty() {
            a.modules.push(ModuleAnalog::read(&mut r)?).ok()?;
        }
        Some(a)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(self.info_flag)?.u8(self.command)?;
        for m in &self.modules {
            m.write(w)?;
        }
        Ok(())
    }
}

/// Alarm information of one module (PYL33 §3.5). State bytes: see
/// [`super::alarm_state`]; status bits: see [`super::status_flags`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ModuleAlarm {
    /// One state per cell. Wire: count u8, then u8 each.
    pub cells: Vec<u8, MAX_CELLS>,
    /// One state per temperature. Wire: count u8, then u8 each.
    pub temperatures: Vec<u8, MAX_TEMPERATURES>,
    /// Charge current state. Wire: u8.
    pub charge_current: u8,
    /// Module voltage state. Wire: u8.
    pub module_voltage: u8,
    /// Discharge current state. Wire: u8.
    pub discharge_current: u8,
    /// Status 1–5 (status 4/5: cell 1–16 errors). Wire: 5 × u8.
    pub status: [u8; 5],
}

impl ModuleAlarm {
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        let mut m = Self::default();
        for _ in 0..r.u8().ok()? {
            m.cells.push(r.u8().ok()?).ok()?;
        }
        for _ in 0..r.u8().ok()? {
            m.temperatures.push(r.u8().ok()?).ok()?;
        }
        m.charge_current = r.u8().ok()?;
        m.module_voltage = r.u8().ok()?;
        m.discharge_current = r.u8().ok()?;
        m.status = r.take().ok()?;
        Some(m)
    }

    fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(count(self.cells.len()))?.bytes(&self.cells)?;
        w.u8(count(self.temperatures.len()))?
            .bytes(&self.temperatures)?;
        w.u8(self.charge_current)?
            .u8(self.module_voltage)?
            .u8(self.discharge_current)?
            .bytes(&self.status)?;
        Ok(())
    }
}

/// A 0x44 reply: DATAFLAG, command value (or module count), each module, and the extra
/// trailing bytes some units append (kept so the reply re-emits byte-exact).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AlarmReply {
    /// DATAFLAG. Wire: u8.
    pub data_flag: u8,
    /// The module address asked for, or the module count after an 0xFF request. Wire: u8.
    pub command: u8,
    /// The modules, in order.
    pub modules: Vec<ModuleAlarm, MAX_MODULES>,
    /// Up to 4 bytes after the last module (real US3000/UP5000 frames carry one).
    pub trailing: Vec<u8, 4>,
}

impl AlarmReply {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let mut a = Self {
            data_flag: r.u8().ok()?,
            command: r.u8().ok()?,
            ..Self::default()
        };
        while !r.is_empty() {
            let mut probe = r.clone();
            if let Some(m) = ModuleAlarm::read(&mut probe) {
                a.modules.push(m).ok()?;
                r = probe;
            } else {
                a.trailing = Vec::from_slice(r.rest()).ok()?;
                break;
            }
        }
        Some(a)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(self.data_flag)?.u8(self.command)?;
        for m in &self.modules {
            m.write(w)?;
        }
        w.bytes(&self.trailing)?;
        Ok(())
    }
}
