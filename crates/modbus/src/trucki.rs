//! Trucki's RS485 interface board for the SUN-GTIL2 grid-tie inverter, Modbus RTU.
//!
//! Facts from `docs/protocols/modbus.md` (after the seed notes, serial-bms.md §5.1, "the same
//! LT file"): eight holding registers, 0 = power set point (W × 10), 1 = displayed (actual)
//! power (W × 10), 2 = grid voltage (V × 10), 3 = battery voltage (V × 10), 4 = DAC value,
//! 5 = calibration start, 6 = a mirror of register 0, 7 = temperature (scale not given: kept
//! raw). LT writes with minimalmodbus's `write_register`, whose default is function 0x10;
//! readings are holding registers (0x03).
//!
//! Choices: the set point is kept in 0.1 W as on the wire; [`Status::set_point_accepted`]
//! compares the mirror (register 6) with what was written, so a controller can tell that
//! the board took a set point; register 5 (calibration) is never written by us.

use voltwire_core::{EncodeError, Millivolts, Scale, Watts};

use crate::{Error, check_len, reg};

/// The default slave address.
pub const DEFAULT_ADDRESS: u8 = 1;
/// Power set point, u16, 0.1 W (read/write).
pub const SET_POWER: u16 = 0;
/// Displayed (actual) output power, u16, 0.1 W.
pub const DISPLAY_POWER: u16 = 1;
/// Grid (AC) voltage, u16, 0.1 V.
pub const GRID_VOLTAGE: u16 = 2;
/// Battery (DC) voltage, u16, 0.1 V.
pub const BATTERY_VOLTAGE: u16 = 3;
/// The DAC value driving the inverter's power input (raw).
pub const DAC: u16 = 4;
/// Calibration start (never written by a controller).
pub const CALIBRATION: u16 = 5;
/// A mirror of [`SET_POWER`].
pub const SET_POWER_MIRROR: u16 = 6;
/// Temperature (raw; the notes give no scale).
pub const TEMPERATURE: u16 = 7;
/// Registers in the map (0..=7), read in one go.
pub const REGISTERS: usize = 8;
/// The largest set point the register can carry (6553.5 W, rounded down to whole W).
pub const MAX_POWER: Watts = Watts(6553);

const VOLT: Scale = Scale::new(100, 0);

/// What the board reports (registers 0..=7 read in one go).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    /// The set point in force, 0.1 W. Wire: u16 @ 0.
    pub set_point_deciwatts: u16,
    /// The displayed (actual) output power, 0.1 W. Wire: u16 @ 1.
    pub output_power_deciwatts: u16,
    /// Grid voltage. Wire: u16 @ 2, 0.1 V.
    pub grid_voltage: Millivolts,
    /// Battery voltage. Wire: u16 @ 3, 0.1 V.
    pub battery_voltage: Millivolts,
    /// DAC value, raw. Wire: u16 @ 4.
    pub dac: u16,
    /// Calibration register, raw. Wire: u16 @ 5.
    pub calibration: u16,
    /// Mirror of the set point, 0.1 W. Wire: u16 @ 6.
    pub mirror_deciwatts: u16,
    /// Temperature, raw (scale unknown). Wire: u16 @ 7.
    pub temperature_raw: u16,
}

impl Status {
    /// Decode registers 0..=7.
    ///
    /// # Errors
    /// [`Error::WrongLength`] unless `regs` has exactly [`REGISTERS`] registers.
    pub fn from_registers(regs: &[u16]) -> Result<Self, Error> {
        check_len(regs, REGISTERS)?;
        Ok(Self {
            set_point_deciwatts: reg(regs, 0),
            output_power_deciwatts: reg(regs, 1),
            grid_voltage: Millivolts(i32::from(reg(regs, 2)) * 100),
            battery_voltage: Millivolts(i32::from(reg(regs, 3)) * 100),
            dac: reg(regs, 4),
            calibration: reg(regs, 5),
            mirror_deciwatts: reg(regs, 6),
            temperature_raw: reg(regs, 7),
        })
    }

    /// Registers 0..=7.
    ///
    /// # Errors
    /// [`EncodeError::Precision`] / [`EncodeError::OutOfRange`] when a voltage is not a
    /// multiple of 0.1 V or does not fit 0..=6553.5 V.
    pub fn to_registers(&self) -> Result<[u16; REGISTERS], EncodeError> {
        Ok([
            self.set_point_deciwatts,
            self.output_power_deciwatts,
            self.grid_voltage.to_wire_as::<u16>(VOLT, "grid_voltage")?,
            self.battery_voltage
                .to_wire_as::<u16>(VOLT, "battery_voltage")?,
            self.dac,
            self.calibration,
            self.mirror_deciwatts,
            self.temperature_raw,
        ])
    }

    /// The output power in whole watts, rounded down.
    pub fn output_power(&self) -> Watts {
        Watts(i32::from(self.output_power_deciwatts / 10))
    }

    /// Whether the board holds `set` (register 0 and its mirror, register 6, both carry it).
    pub fn set_point_accepted(&self, set: SetPower) -> bool {
        self.set_point_deciwatts == set.0 && self.mirror_deciwatts == set.0
    }
}

/// The power set point: register [`SET_POWER`], 0.1 W, function 0x10.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetPower(u16);

impl SetPower {
    /// The register the set point is written to.
    pub const REGISTER: u16 = SET_POWER;
    /// Off.
    pub const OFF: Self = Self(0);

    /// A set point of `power` (0 switches the output off).
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a negative power or one above [`MAX_POWER`].
    pub fn new(power: Watts) -> Result<Self, Error> {
        if (0..=MAX_POWER.0).contains(&power.0) {
            u16::try_from(power.0 * 10)
                .map(Self)
                .map_err(|_| Error::OutOfRange { field: "set_power" })
        } else {
            Err(Error::OutOfRange { field: "set_power" })
        }
    }

    /// The power in whole watts (rounded down).
    pub const fn power(self) -> Watts {
        Watts(self.0 as i32 / 10)
    }

    /// The register value (0.1 W).
    pub const fn to_register(self) -> u16 {
        self.0
    }

    /// The set point a write carried (any register value is a valid 0.1 W value).
    pub const fn from_register(raw: u16) -> Self {
        Self(raw)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn status_decodes_the_map() {
        // 412.7 W set, 398.0 W shown, 230.4 V grid, 51.2 V battery.
        let regs = [4127, 3980, 2304, 512, 1800, 0, 4127, 35];
        let s = Status::from_registers(&regs).unwrap();
        assert_eq!(s.set_point_deciwatts, 4127);
        assert_eq!(s.output_power(), Watts(398));
        assert_eq!(s.grid_voltage, Millivolts(230_400));
        assert_eq!(s.battery_voltage, Millivolts(51_200));
        assert_eq!(s.dac, 1800);
        assert_eq!(s.temperature_raw, 35);
        assert_eq!(s.to_registers().unwrap(), regs);
        assert_eq!(
            Status::from_registers(&regs[..7]),
            Err(Error::WrongLength {
                expected: 8,
                got: 7
            })
        );
    }

    #[test]
    fn set_point_scale_range_and_mirror() {
        assert_eq!(SetPower::new(Watts(300)).unwrap().to_register(), 3000);
        assert_eq!(SetPower::new(Watts(0)).unwrap(), SetPower::OFF);
        assert_eq!(SetPower::new(Watts(6553)).unwrap().to_register(), 65_530);
        assert!(SetPower::new(Watts(6554)).is_err());
        assert!(SetPower::new(Watts(-1)).is_err());
        assert_eq!(SetPower::from_register(3005).power(), Watts(300));
        let set = SetPower::new(Watts(300)).unwrap();
        let mut s = Status::from_registers(&[3000, 0, 0, 0, 0, 0, 3000, 0]).unwrap();
        assert!(s.set_point_accepted(set));
        s.mirror_deciwatts = 0;
        assert!(!s.set_point_accepted(set), "the mirror must agree");
        assert!(!s.set_point_accepted(SetPower::OFF));
    }
}
