//! Lumentree SUN 600/1000/2000 grid-tie inverter ("LT"), Modbus RTU, 9600 8N1, address 1.
//!
//! Facts from `docs/protocols/modbus.md` (after the seed notes, serial-bms.md §5.1). The
//! register numbers are the ones the device answers to, which **differ from the vendor
//! documentation**. The readings are holding registers (function 0x03); the power set point
//! is written with function 0x10 and is write-only (read the result back through
//! [`OUTPUT_POWER`]). A real installation reads the four status registers one at a time
//! ([`STATUS_REGISTERS`]); [`Status`] also decodes the block [`BLOCK_START`]..+[`BLOCK_LEN`]
//! that covers them, which our simulator serves.

use voltwire_core::{DeciCelsius, EncodeError, Millivolts, Scale, Watts};

use crate::{Error, check_len, reg};

/// The default slave address.
pub const DEFAULT_ADDRESS: u8 = 1;
/// Write-only: the AC output power set point, whole W (function 0x10).
pub const SET_OUTPUT_POWER: u16 = 40;
/// AC (grid) voltage, u16, 0.1 V.
pub const GRID_VOLTAGE: u16 = 70;
/// Inverter temperature, 0.1 °C (read as a signed i16).
pub const TEMPERATURE: u16 = 94;
/// Actual AC output power, u16, 0.1 W (below 1.0 W the inverter counts as off).
pub const OUTPUT_POWER: u16 = 107;
/// DC (battery) voltage, u16, 0.1 V.
pub const BATTERY_VOLTAGE: u16 = 109;
/// The four status registers, in the order of [`Status`]'s fields.
pub const STATUS_REGISTERS: [u16; 4] = [GRID_VOLTAGE, TEMPERATURE, OUTPUT_POWER, BATTERY_VOLTAGE];
/// First register of the status block.
pub const BLOCK_START: u16 = GRID_VOLTAGE;
/// Registers in the status block (70..=109).
pub const BLOCK_LEN: usize = 40;
/// The largest set point the protocol accepts: the rated power of the largest model
/// (LT2000). Smaller models clamp to their own rating ([`Model::rated_power`]).
pub const MAX_OUTPUT_POWER: Watts = Watts(2000);
/// Below this output power (0.1 W units) the inverter counts as off (LT's threshold, 1.0 W).
pub const OFF_BELOW_DECIWATTS: u16 = 10;

const VOLT: Scale = Scale::new(100, 0);

/// The Lumentree models and what the notes say about their power range.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Model {
    /// SUN-600: up to 600 W (about 570 W on a 24 V battery), usable from about 27 W.
    Lt600,
    /// SUN-1000: up to 1000 W, usable from 20–30 W.
    Lt1000,
    /// SUN-2000: up to 2000 W, usable from 70–80 W.
    Lt2000,
}

impl Model {
    /// Rated AC output power.
    pub const fn rated_power(self) -> Watts {
        match self {
            Self::Lt600 => Watts(600),
            Self::Lt1000 => Watts(1000),
            Self::Lt2000 => Watts(2000),
        }
    }

    /// The lowest power the model runs at usefully (the notes' lower bound).
    pub const fn minimum_power(self) -> Watts {
        match self {
            Self::Lt600 => Watts(27),
            Self::Lt1000 => Watts(20),
            Self::Lt2000 => Watts(70),
        }
    }
}

/// What the inverter reports.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    /// AC (grid) voltage. Wire: u16 @ register 70, 0.1 V.
    pub grid_voltage: Millivolts,
    /// Inverter temperature. Wire: i16 @ register 94, 0.1 °C.
    pub temperature: DeciCelsius,
    /// Actual AC output power in 0.1 W (raw: whole watts would lose the tenths). Wire: u16 @
    /// register 107, 0.1 W.
    pub output_power_deciwatts: u16,
    /// DC (battery) voltage. Wire: u16 @ register 109, 0.1 V.
    pub battery_voltage: Millivolts,
}

impl Status {
    /// Decode the four status registers, as read one by one in [`STATUS_REGISTERS`] order.
    ///
    /// # Errors
    /// [`Error::WrongLength`] unless `regs` has exactly 4 registers.
    pub fn from_registers(regs: &[u16]) -> Result<Self, Error> {
        check_len(regs, STATUS_REGISTERS.len())?;
        Ok(Self::from_raw(
            reg(regs, 0),
            reg(regs, 1),
            reg(regs, 2),
            reg(regs, 3),
        ))
    }

    /// Decode the status block read in one go from [`BLOCK_START`] ([`BLOCK_LEN`] registers).
    ///
    /// # Errors
    /// [`Error::WrongLength`] unless `regs` has exactly [`BLOCK_LEN`] registers.
    pub fn from_block(regs: &[u16]) -> Result<Self, Error> {
        check_len(regs, BLOCK_LEN)?;
        let at = |r: u16| reg(regs, usize::from(r - BLOCK_START));
        Ok(Self::from_raw(
            at(GRID_VOLTAGE),
            at(TEMPERATURE),
            at(OUTPUT_POWER),
            at(BATTERY_VOLTAGE),
        ))
    }

    fn from_raw(grid: u16, temp: u16, power: u16, battery: u16) -> Self {
        Self {
            grid_voltage: Millivolts(i32::from(grid) * 100),
            temperature: DeciCelsius(i16::from_be_bytes(temp.to_be_bytes())),
            output_power_deciwatts: power,
            battery_voltage: Millivolts(i32::from(battery) * 100),
        }
    }

    /// The four status registers in [`STATUS_REGISTERS`] order.
    ///
    /// # Errors
    /// [`EncodeError::Precision`] / [`EncodeError::OutOfRange`] when a voltage is not a
    /// multiple of 0.1 V or does not fit 0..=6553.5 V.
    pub fn to_registers(&self) -> Result<[u16; 4], EncodeError> {
        Ok([
            self.grid_voltage.to_wire_as::<u16>(VOLT, "grid_voltage")?,
            u16::from_be_bytes(self.temperature.0.to_be_bytes()),
            self.output_power_deciwatts,
            self.battery_voltage
                .to_wire_as::<u16>(VOLT, "battery_voltage")?,
        ])
    }

    /// The status block from [`BLOCK_START`]; the registers between are 0.
    ///
    /// # Errors
    /// As [`Status::to_registers`].
    pub fn to_block(&self) -> Result<[u16; BLOCK_LEN], EncodeError> {
        let mut block = [0u16; BLOCK_LEN];
        for (r, v) in STATUS_REGISTERS.into_iter().zip(self.to_registers()?) {
            if let Some(slot) = block.get_mut(usize::from(r - BLOCK_START)) {
                *slot = v;
            }
        }
        Ok(block)
    }

    /// The output power in whole watts, rounded down.
    pub fn output_power(&self) -> Watts {
        Watts(i32::from(self.output_power_deciwatts / 10))
    }

    /// Whether the inverter counts as off (output below 1.0 W).
    pub fn is_off(&self) -> bool {
        self.output_power_deciwatts < OFF_BELOW_DECIWATTS
    }
}

/// The AC output power set point: register [`SET_OUTPUT_POWER`], whole W, function 0x10.
///
/// At power-up the inverter runs at full power until told otherwise.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetOutputPower(Watts);

impl SetOutputPower {
    /// The register the set point is written to.
    pub const REGISTER: u16 = SET_OUTPUT_POWER;

    /// A set point of `power` (0 switches the output off).
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a negative power or one above [`MAX_OUTPUT_POWER`].
    pub fn new(power: Watts) -> Result<Self, Error> {
        if (0..=MAX_OUTPUT_POWER.0).contains(&power.0) {
            Ok(Self(power))
        } else {
            Err(Error::OutOfRange {
                field: "output_power",
            })
        }
    }

    /// The power.
    pub const fn power(self) -> Watts {
        self.0
    }

    /// The register value (whole W).
    pub fn to_register(self) -> u16 {
        u16::try_from(self.0.0).unwrap_or(0)
    }

    /// The set point a write carried.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] above [`MAX_OUTPUT_POWER`].
    pub fn from_register(raw: u16) -> Result<Self, Error> {
        Self::new(Watts(i32::from(raw)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn status_decodes_the_scales() {
        // Scales from serial-bms.md §5.1 (LT reads 70/94/107/109 with minimalmodbus,
        // `read_register(reg, 0, 3)`, and divides by 10): 230.4 V, 41.5 °C, 412.7 W, 51.2 V.
        let s = Status::from_registers(&[2304, 415, 4127, 512]).unwrap();
        assert_eq!(s.grid_voltage, Millivolts(230_400));
        assert_eq!(s.temperature, DeciCelsius(415));
        assert_eq!(s.output_power(), Watts(412));
        assert_eq!(s.battery_voltage, Millivolts(51_200));
        assert!(!s.is_off());
        assert_eq!(s.to_registers().unwrap(), [2304, 415, 4127, 512]);
        // LT: below 1.0 W counts as off.
        assert!(
            Status::from_registers(&[2304, 415, 9, 512])
                .unwrap()
                .is_off()
        );
        // Negative temperatures are two's complement.
        let cold = Status::from_registers(&[0, 0xFFF6, 0, 0]).unwrap();
        assert_eq!(cold.temperature, DeciCelsius(-10));
    }

    #[test]
    fn block_places_the_registers() {
        let s = Status::from_registers(&[2304, 415, 4127, 512]).unwrap();
        let b = s.to_block().unwrap();
        assert_eq!(b[0], 2304);
        assert_eq!(b[24], 415);
        assert_eq!(b[37], 4127);
        assert_eq!(b[39], 512);
        assert_eq!(Status::from_block(&b).unwrap(), s);
        assert_eq!(
            Status::from_block(&b[..39]),
            Err(Error::WrongLength {
                expected: 40,
                got: 39
            })
        );
    }

    #[test]
    fn set_point_range() {
        assert_eq!(SetOutputPower::new(Watts(300)).unwrap().to_register(), 300);
        assert!(SetOutputPower::new(Watts(-1)).is_err());
        assert!(SetOutputPower::new(Watts(2001)).is_err());
        assert!(SetOutputPower::from_register(2000).is_ok());
        assert!(SetOutputPower::from_register(2001).is_err());
        assert!(
            Status::to_registers(&Status {
                grid_voltage: Millivolts(230_450),
                temperature: DeciCelsius(0),
                output_power_deciwatts: 0,
                battery_voltage: Millivolts(0),
            })
            .is_err()
        );
    }
}
