//! Eco-Worthy 200 A battery monitor ("coulomb meter"), Modbus RTU over RS485, address 1.
//!
//! Facts from `docs/protocols/modbus.md` (after the seed notes, serial-bms.md §5.2, which
//! follow kitor's `coil.py`). The live values are input registers 0..=11 (function 0x04),
//! the settings holding registers 0..=9 (0x03 read, 0x10 write). 32-bit values are two
//! registers, **high word first** (kitor's enum names register 8 "LO", but its code uses it
//! as the high word; we follow the code). The current register is a magnitude; its direction
//! is in the state register 11. Function 0x6F sets the charge level ([`SetChargeLevel`]).

use voltwire_core::{
    DeciCelsius, EncodeError, MilliampHours, Milliamps, Millivolts, Permille, Scale, Watts,
};

use crate::rtu::append_crc;
use crate::{Error, check_len, hi_lo, reg, u32_hi_lo};

/// The default slave address.
pub const DEFAULT_ADDRESS: u8 = 1;
/// First input register of the live values (function 0x04).
pub const STATUS_START: u16 = 0;
/// Input registers in the live values (0..=11).
pub const STATUS_LEN: usize = 12;
/// First holding register of the settings (function 0x03 / 0x10).
pub const SETTINGS_START: u16 = 0;
/// Holding registers in the settings (0..=9).
pub const SETTINGS_LEN: usize = 10;
/// The custom function code "set charge level".
pub const SET_CHARGE_LEVEL: u8 = 0x6F;

/// Input register: state of charge, %.
pub const REG_SOC: u16 = 0;
/// Input register: temperature, °C.
pub const REG_TEMPERATURE: u16 = 1;
/// Input register: pack voltage, 0.01 V.
pub const REG_VOLTAGE: u16 = 2;
/// Input register: pack current magnitude, 0.01 A.
pub const REG_CURRENT: u16 = 3;
/// Input registers 4 (high) and 5 (low): power, 0.1 W.
pub const REG_POWER: u16 = 4;
/// Input registers 6 (high) and 7 (low): energy, 0.01 Wh.
pub const REG_ENERGY: u16 = 6;
/// Input registers 8 (high) and 9 (low): remaining capacity, mAh.
pub const REG_REMAINING: u16 = 8;
/// Input register: flags.
pub const REG_FLAGS: u16 = 10;
/// Input register: state (0 idle, 1 discharging, 2 charging).
pub const REG_STATE: u16 = 11;

/// Holding register: the Modbus address.
pub const REG_ADDRESS: u16 = 0;
/// Holding registers 1 (high) and 2 (low): battery capacity, mAh.
pub const REG_CAPACITY: u16 = 1;
/// Holding register: "charge full" voltage (auto-reset to 100 %), 0.01 V.
pub const REG_FULL_VOLTAGE: u16 = 3;
/// Holding register: "charge empty" voltage, 0.01 V.
pub const REG_EMPTY_VOLTAGE: u16 = 4;
/// Holding register: over-voltage alarm, 0.01 V.
pub const REG_OVER_VOLTAGE: u16 = 5;
/// Holding register: over-current alarm, 0.01 A.
pub const REG_OVER_CURRENT: u16 = 6;
/// Holding register: over-temperature alarm, °C.
pub const REG_OVER_TEMPERATURE: u16 = 7;
/// Holding register: under-voltage alarm, 0.01 V.
pub const REG_UNDER_VOLTAGE: u16 = 8;
/// Holding register: low-SOC alarm, %.
pub const REG_LOW_SOC: u16 = 9;

const CENTIVOLT: Scale = Scale::new(10, 0);
const CENTIAMP: Scale = Scale::new(10, 0);
const PERCENT: Scale = Scale::new(10, 0);
const DEGREE: Scale = Scale::new(10, 0);

/// The direction of the current (input register 11).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// 0: no current.
    Idle,
    /// 1: current out of the battery.
    Discharging,
    /// 2: current into the battery.
    Charging,
    /// Any other value, kept as sent.
    Unknown(u16),
}

impl State {
    /// The state from the register.
    pub const fn from_raw(raw: u16) -> Self {
        match raw {
            0 => Self::Idle,
            1 => Self::Discharging,
            2 => Self::Charging,
            r => Self::Unknown(r),
        }
    }

    /// The register value.
    pub const fn raw(self) -> u16 {
        match self {
            Self::Idle => 0,
            Self::Discharging => 1,
            Self::Charging => 2,
            Self::Unknown(r) => r,
        }
    }

    /// The state a current of this sign means.
    pub const fn of_current(current: Milliamps) -> Self {
        if current.0 > 0 {
            Self::Charging
        } else if current.0 < 0 {
            Self::Discharging
        } else {
            Self::Idle
        }
    }
}

/// The live values (input registers 0..=11).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    /// State of charge. Wire: u16 @ 0, 1 %.
    pub soc: Permille,
    /// Temperature. Wire: i16 @ 1, 1 °C.
    pub temperature: DeciCelsius,
    /// Pack voltage. Wire: u16 @ 2, 0.01 V.
    pub voltage: Millivolts,
    /// Pack current, positive = charging. Wire: u16 magnitude @ 3, 0.01 A; negative when
    /// register 11 says discharging.
    pub current: Milliamps,
    /// Power magnitude in 0.1 W (raw: whole watts would lose the tenths). Wire: u32 @ 4–5
    /// (high word first), 0.1 W.
    pub power_deciwatts: u32,
    /// Energy counter in 0.01 Wh (raw). Wire: u32 @ 6–7 (high word first), 0.01 Wh.
    pub energy_centiwatt_hours: u32,
    /// Remaining capacity. Wire: u32 @ 8–9 (high word first), 1 mAh.
    pub remaining: MilliampHours,
    /// Alarm flags (meaning not documented; raw). Wire: u16 @ 10.
    pub flags: u16,
    /// Direction of the current. Wire: u16 @ 11.
    pub state: State,
}

impl Status {
    /// Decode input registers 0..=11.
    ///
    /// # Errors
    /// [`Error::WrongLength`] unless `regs` has exactly [`STATUS_LEN`] registers;
    /// [`Error::OutOfRange`] when the SOC or the temperature does not fit its unit
    /// (above 3276 % or beyond ±3276 °C).
    pub fn from_registers(regs: &[u16]) -> Result<Self, Error> {
        check_len(regs, STATUS_LEN)?;
        let r = |i: u16| reg(regs, usize::from(i));
        let state = State::from_raw(r(REG_STATE));
        let magnitude = i32::from(r(REG_CURRENT)) * 10;
        let current = if state == State::Discharging {
            -magnitude
        } else {
            magnitude
        };
        Ok(Self {
            soc: Permille::from_wire(i64::from(r(REG_SOC)), PERCENT)
                .ok_or(Error::OutOfRange { field: "soc" })?,
            temperature: DeciCelsius::from_wire(
                i64::from(i16::from_be_bytes(r(REG_TEMPERATURE).to_be_bytes())),
                DEGREE,
            )
            .ok_or(Error::OutOfRange {
                field: "temperature",
            })?,
            voltage: Millivolts(i32::from(r(REG_VOLTAGE)) * 10),
            current: Milliamps(current),
            power_deciwatts: u32_hi_lo(r(REG_POWER), r(REG_POWER + 1)),
            energy_centiwatt_hours: u32_hi_lo(r(REG_ENERGY), r(REG_ENERGY + 1)),
            remaining: MilliampHours(i64::from(u32_hi_lo(r(REG_REMAINING), r(REG_REMAINING + 1)))),
            flags: r(REG_FLAGS),
            state,
        })
    }

    /// Encode input registers 0..=11.
    ///
    /// # Errors
    /// [`EncodeError::Precision`] when a value is not on its wire grid (1 %, 1 °C, 10 mV,
    /// 10 mA), [`EncodeError::OutOfRange`] when it does not fit its register, or when the
    /// sign of `current` contradicts `state` (a negative current needs
    /// [`State::Discharging`], a positive one any other state).
    pub fn to_registers(&self) -> Result<[u16; STATUS_LEN], EncodeError> {
        let discharging = self.state == State::Discharging;
        if (self.current.0 < 0 && !discharging) || (self.current.0 > 0 && discharging) {
            return Err(EncodeError::OutOfRange { field: "current" });
        }
        let magnitude = Milliamps(
            self.current
                .0
                .checked_abs()
                .ok_or(EncodeError::OutOfRange { field: "current" })?,
        );
        let temperature = self.temperature.to_wire_as::<i16>(DEGREE, "temperature")?;
        let remaining = u32::try_from(self.remaining.0)
            .map_err(|_| EncodeError::OutOfRange { field: "remaining" })?;
        let [p0, p1] = hi_lo(self.power_deciwatts);
        let [e0, e1] = hi_lo(self.energy_centiwatt_hours);
        let [r0, r1] = hi_lo(remaining);
        Ok([
            self.soc.to_wire_as::<u16>(PERCENT, "soc")?,
            u16::from_be_bytes(temperature.to_be_bytes()),
            self.voltage.to_wire_as::<u16>(CENTIVOLT, "voltage")?,
            magnitude.to_wire_as::<u16>(CENTIAMP, "current")?,
            p0,
            p1,
            e0,
            e1,
            r0,
            r1,
            self.flags,
            self.state.raw(),
        ])
    }

    /// The power magnitude in whole watts, rounded down (saturating).
    pub fn power(&self) -> Watts {
        Watts(i32::try_from(self.power_deciwatts / 10).unwrap_or(i32::MAX))
    }
}

/// The settings (holding registers 0..=9).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settings {
    /// The Modbus address. Wire: u16 @ 0.
    pub address: u16,
    /// Battery capacity. Wire: u32 @ 1–2 (high word first), 1 mAh (240000 = 240 Ah).
    pub capacity: MilliampHours,
    /// At this voltage the meter resets itself to 100 %. Wire: u16 @ 3, 0.01 V.
    pub full_voltage: Millivolts,
    /// "Charge empty" voltage. Wire: u16 @ 4, 0.01 V.
    pub empty_voltage: Millivolts,
    /// Over-voltage alarm. Wire: u16 @ 5, 0.01 V.
    pub over_voltage: Millivolts,
    /// Over-current alarm. Wire: u16 @ 6, 0.01 A ("2 decimals").
    pub over_current: Milliamps,
    /// Over-temperature alarm. Wire: i16 @ 7, 1 °C.
    pub over_temperature: DeciCelsius,
    /// Under-voltage alarm. Wire: u16 @ 8, 0.01 V.
    pub under_voltage: Millivolts,
    /// Low-SOC alarm. Wire: u16 @ 9, 1 %.
    pub low_soc: Permille,
}

impl Settings {
    /// Decode holding registers 0..=9.
    ///
    /// # Errors
    /// [`Error::WrongLength`] unless `regs` has exactly [`SETTINGS_LEN`] registers;
    /// [`Error::OutOfRange`] when the low-SOC or the temperature does not fit its unit.
    pub fn from_registers(regs: &[u16]) -> Result<Self, Error> {
        check_len(regs, SETTINGS_LEN)?;
        let r = |i: u16| reg(regs, usize::from(i));
        let cv = |i: u16| Millivolts(i32::from(r(i)) * 10);
        Ok(Self {
            address: r(REG_ADDRESS),
            capacity: MilliampHours(i64::from(u32_hi_lo(r(REG_CAPACITY), r(REG_CAPACITY + 1)))),
            full_voltage: cv(REG_FULL_VOLTAGE),
            empty_voltage: cv(REG_EMPTY_VOLTAGE),
            over_voltage: cv(REG_OVER_VOLTAGE),
            over_current: Milliamps(i32::from(r(REG_OVER_CURRENT)) * 10),
            over_temperature: DeciCelsius::from_wire(
                i64::from(i16::from_be_bytes(r(REG_OVER_TEMPERATURE).to_be_bytes())),
                DEGREE,
            )
            .ok_or(Error::OutOfRange {
                field: "over_temperature",
            })?,
            under_voltage: cv(REG_UNDER_VOLTAGE),
            low_soc: Permille::from_wire(i64::from(r(REG_LOW_SOC)), PERCENT)
                .ok_or(Error::OutOfRange { field: "low_soc" })?,
        })
    }

    /// Encode holding registers 0..=9 (for a write with function 0x10).
    ///
    /// # Errors
    /// [`EncodeError::Precision`] / [`EncodeError::OutOfRange`] when a value is off its wire
    /// grid or does not fit its register.
    pub fn to_registers(&self) -> Result<[u16; SETTINGS_LEN], EncodeError> {
        let capacity = u32::try_from(self.capacity.0)
            .map_err(|_| EncodeError::OutOfRange { field: "capacity" })?;
        let [c0, c1] = hi_lo(capacity);
        let t = self
            .over_temperature
            .to_wire_as::<i16>(DEGREE, "over_temperature")?;
        Ok([
            self.address,
            c0,
            c1,
            self.full_voltage
                .to_wire_as::<u16>(CENTIVOLT, "full_voltage")?,
            self.empty_voltage
                .to_wire_as::<u16>(CENTIVOLT, "empty_voltage")?,
            self.over_voltage
                .to_wire_as::<u16>(CENTIVOLT, "over_voltage")?,
            self.over_current
                .to_wire_as::<u16>(CENTIAMP, "over_current")?,
            u16::from_be_bytes(t.to_be_bytes()),
            self.under_voltage
                .to_wire_as::<u16>(CENTIVOLT, "under_voltage")?,
            self.low_soc.to_wire_as::<u16>(PERCENT, "low_soc")?,
        ])
    }

    /// The capacity as the two registers 1–2 (high word first), for writing it alone.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] for a negative capacity or one above `u32::MAX` mAh.
    pub fn capacity_registers(capacity: MilliampHours) -> Result<[u16; 2], EncodeError> {
        u32::try_from(capacity.0)
            .map(hi_lo)
            .map_err(|_| EncodeError::OutOfRange { field: "capacity" })
    }
}

/// The custom function 0x6F: set the charge level to full or empty.
///
/// Request: `address 6F 00 00 VALUE(BE) CRC`, 8 bytes; value `0x000F` sets 100 %, `0x0000`
/// sets 0 %. The reply is not confirmed (kitor ignores it). kitor writes capacity − 1 first
/// after a capacity change, because a full-set "sometimes has no effect" otherwise.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetChargeLevel {
    /// `0x000F`: 100 %.
    Full,
    /// `0x0000`: 0 %.
    Empty,
    /// Any other value, kept as sent.
    Other(u16),
}

impl SetChargeLevel {
    /// Length of the request frame.
    pub const FRAME_LEN: usize = 8;

    /// The value word.
    pub const fn value(self) -> u16 {
        match self {
            Self::Full => 0x000F,
            Self::Empty => 0x0000,
            Self::Other(v) => v,
        }
    }

    /// The command for a value word.
    pub const fn from_value(value: u16) -> Self {
        match value {
            0x000F => Self::Full,
            0x0000 => Self::Empty,
            v => Self::Other(v),
        }
    }

    /// Write the request frame for slave `address` to `buf`; its length (8).
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `buf` is shorter than 8 bytes.
    pub fn emit(self, address: u8, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let have = buf.len();
        let [v0, v1] = self.value().to_be_bytes();
        buf.get_mut(..6)
            .ok_or(EncodeError::BufferTooSmall {
                needed: Self::FRAME_LEN,
                have,
            })?
            .copy_from_slice(&[address, SET_CHARGE_LEVEL, 0, 0, v0, v1]);
        append_crc(buf, 6)
    }

    /// Parse a request frame; the slave address and the command.
    ///
    /// # Errors
    /// [`Error::FrameLength`] unless the frame is 8 bytes, [`Error::Checksum`] for a bad
    /// CRC, [`Error::Function`] for another function code, [`Error::OutOfRange`] when the
    /// word before the value is not 0.
    pub fn parse(frame: &[u8]) -> Result<(u8, Self), Error> {
        let [address, function, z0, z1, v0, v1, _, _] = *frame else {
            return Err(Error::FrameLength {
                expected: Self::FRAME_LEN,
                got: frame.len(),
            });
        };
        crate::rtu::verify(frame)?;
        if function != SET_CHARGE_LEVEL {
            return Err(Error::Function(function));
        }
        if [z0, z1] != [0, 0] {
            return Err(Error::OutOfRange { field: "register" });
        }
        Ok((address, Self::from_value(u16::from_be_bytes([v0, v1]))))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn set_full_matches_the_notes() {
        // serial-bms.md §5.2: `01 6F 00 00 00 0F 95 C7`.
        let mut b = [0u8; 8];
        assert_eq!(SetChargeLevel::Full.emit(1, &mut b), Ok(8));
        assert_eq!(b, [0x01, 0x6F, 0x00, 0x00, 0x00, 0x0F, 0x95, 0xC7]);
        assert_eq!(SetChargeLevel::parse(&b), Ok((1, SetChargeLevel::Full)));
        SetChargeLevel::Empty.emit(1, &mut b).unwrap();
        assert_eq!(SetChargeLevel::parse(&b), Ok((1, SetChargeLevel::Empty)));
        b[7] ^= 0xFF;
        assert_eq!(SetChargeLevel::parse(&b), Err(Error::Checksum));
        assert!(matches!(
            SetChargeLevel::parse(&b[..7]),
            Err(Error::FrameLength { .. })
        ));
    }

    #[test]
    fn settings_capacity_is_high_word_first() {
        // serial-bms.md §5.2: capacity 240000 mAh = 240 Ah; K writes 2795 for 27.95 V.
        let regs = [1, 0x0003, 0xA980, 2795, 2400, 2900, 20_000, 60, 2300, 10];
        let s = Settings::from_registers(&regs).unwrap();
        assert_eq!(s.capacity, MilliampHours(240_000));
        assert_eq!(s.full_voltage, Millivolts(27_950));
        assert_eq!(s.over_current, Milliamps(200_000));
        assert_eq!(s.over_temperature, DeciCelsius(600));
        assert_eq!(s.low_soc, Permille(100));
        assert_eq!(s.to_registers().unwrap(), regs);
        assert_eq!(
            Settings::capacity_registers(MilliampHours(239_999)).unwrap(),
            [0x0003, 0xA97F]
        );
    }

    #[test]
    fn status_takes_the_sign_from_the_state() {
        // 80 %, 23 °C, 26.54 V, 12.34 A discharging, 327.4 W, 1234.56 Wh, 192000 mAh.
        let regs = [
            80, 23, 2654, 1234, 0, 3274, 0x0001, 0xE240, 0x0002, 0xEE00, 0, 1,
        ];
        let s = Status::from_registers(&regs).unwrap();
        assert_eq!(s.soc, Permille(800));
        assert_eq!(s.temperature, DeciCelsius(230));
        assert_eq!(s.voltage, Millivolts(26_540));
        assert_eq!(s.current, Milliamps(-12_340));
        assert_eq!(s.power(), Watts(327));
        assert_eq!(s.energy_centiwatt_hours, 123_456);
        assert_eq!(s.remaining, MilliampHours(192_000));
        assert_eq!(s.state, State::Discharging);
        assert_eq!(s.to_registers().unwrap(), regs);
        let mut charging = regs;
        charging[11] = 2;
        let c = Status::from_registers(&charging).unwrap();
        assert_eq!(c.current, Milliamps(12_340));
        // A negative current with a charging state cannot be encoded.
        let bad = Status {
            state: State::Charging,
            ..s
        };
        assert_eq!(
            bad.to_registers(),
            Err(EncodeError::OutOfRange { field: "current" })
        );
        assert!(matches!(
            Status::from_registers(&regs[..11]),
            Err(Error::WrongLength { .. })
        ));
    }
}
