//! BMS → host responses, one type per command, all big-endian.
//!
//! Every type keeps every data byte (the "reserved" ones too: the BMS leaves stale bytes of
//! earlier replies there), so `to_data(parse(d)) == d` for every reply a BMS sends.

use voltwire_core::{
    DeciCelsius, EncodeError, MilliampHours, Milliamps, Millivolts, Permille, Scale,
};

use crate::failure::FailureFlags;
use crate::variant::{BalanceBitOrder, CurrentSign, Variant};
use crate::{Command, Error, RawFrame};

/// Pack voltage: 0.1 V steps into millivolts.
const DECIVOLT: Scale = Scale::new(100, 0);
/// Temperatures: whole °C with +40 offset, into 0.1 °C.
pub(crate) const TEMP: Scale = Scale::new(10, 40);

/// `first` followed by `rest`.
fn prefixed(first: u8, rest: [u8; 7]) -> [u8; 8] {
    let mut out = [first; 8];
    for (o, r) in out.iter_mut().skip(1).zip(rest) {
        *o = r;
    }
    out
}

/// `rest` followed by `last`.
fn suffixed(rest: [u8; 7], last: u8) -> [u8; 8] {
    let mut out = [last; 8];
    for (o, r) in out.iter_mut().zip(rest) {
        *o = r;
    }
    out
}

fn u16_at(hi: u8, lo: u8) -> u16 {
    u16::from_be_bytes([hi, lo])
}

fn decivolts(raw: u16) -> Millivolts {
    Millivolts(i32::from(raw) * 100)
}

fn to_decivolts(v: Millivolts, field: &'static str) -> Result<[u8; 2], EncodeError> {
    Ok(v.to_wire_as::<u16>(DECIVOLT, field)?.to_be_bytes())
}

/// A temperature byte (°C + 40) in 0.1 °C: raw 0..=255 is −40.0..=215.0 °C.
pub(crate) fn temperature(raw: u8) -> DeciCelsius {
    DeciCelsius((i16::from(raw) - 40) * 10)
}

fn to_temperature(t: DeciCelsius, field: &'static str) -> Result<u8, EncodeError> {
    t.to_wire_as::<u8>(TEMP, field)
}

fn millivolts_u16(v: Millivolts, field: &'static str) -> Result<[u8; 2], EncodeError> {
    Ok(v.to_wire_as::<u16>(Scale::IDENTITY, field)?.to_be_bytes())
}

fn permille(raw: u16, field: &'static str) -> Result<Permille, Error> {
    i16::try_from(raw)
        .map(Permille)
        .map_err(|_| Error::OutOfRange { field })
}

fn to_permille(p: Permille, field: &'static str) -> Result<[u8; 2], EncodeError> {
    Ok(u16::try_from(p.0)
        .map_err(|_| EncodeError::OutOfRange { field })?
        .to_be_bytes())
}

/// A byte that is 0 (off) or 1 (on) on the wire; other values are kept.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Switch(pub u8);

impl Switch {
    /// Off (0).
    pub const OFF: Self = Self(0);
    /// On (1).
    pub const ON: Self = Self(1);

    /// Whether the byte is non-zero.
    pub const fn is_on(self) -> bool {
        self.0 != 0
    }
}

impl From<bool> for Switch {
    fn from(on: bool) -> Self {
        Self(u8::from(on))
    }
}

/// 0x90 reply: pack voltage, current and SOC.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackStatus {
    /// Cumulative total voltage. Wire: u16 BE @ 0, 0.1 V.
    pub voltage: Millivolts,
    /// "Acquisition" total voltage (usually 0). Wire: u16 BE @ 2, 0.1 V.
    pub acquired_voltage: Millivolts,
    /// Current, positive = charging. Wire: u16 BE @ 4, 0.1 A, 30000 = 0 A, sign per
    /// [`CurrentSign`].
    pub current: Milliamps,
    /// State of charge. Wire: u16 BE @ 6, 0.1 %.
    pub soc: Permille,
}

impl PackStatus {
    /// Read the data bytes.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a SOC above 3276.7 %.
    pub fn parse(data: [u8; 8], sign: CurrentSign) -> Result<Self, Error> {
        let [v0, v1, a0, a1, c0, c1, s0, s1] = data;
        let current = Milliamps::from_wire(i64::from(u16_at(c0, c1)), sign.scale())
            .ok_or(Error::OutOfRange { field: "current" })?;
        Ok(Self {
            voltage: decivolts(u16_at(v0, v1)),
            acquired_voltage: decivolts(u16_at(a0, a1)),
            current,
            soc: permille(u16_at(s0, s1), "soc")?,
        })
    }

    /// The data bytes.
    ///
    /// # Errors
    /// [`EncodeError::Precision`] for values off the 0.1 V / 0.1 A grid,
    /// [`EncodeError::OutOfRange`] for values the wire cannot carry.
    pub fn to_data(&self, sign: CurrentSign) -> Result<[u8; 8], EncodeError> {
        let [v0, v1] = to_decivolts(self.voltage, "voltage")?;
        let [a0, a1] = to_decivolts(self.acquired_voltage, "acquired_voltage")?;
        let [c0, c1] = self
            .current
            .to_wire_as::<u16>(sign.scale(), "current")?
            .to_be_bytes();
        let [s0, s1] = to_permille(self.soc, "soc")?;
        Ok([v0, v1, a0, a1, c0, c1, s0, s1])
    }
}

/// 0x91 reply: highest and lowest cell voltage.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CellVoltageRange {
    /// Highest cell voltage. Wire: u16 BE @ 0, 1 mV.
    pub max: Millivolts,
    /// Number of the cell with the highest voltage. Wire: u8 @ 2.
    pub max_cell: u8,
    /// Lowest cell voltage. Wire: u16 BE @ 3, 1 mV.
    pub min: Millivolts,
    /// Number of the cell with the lowest voltage. Wire: u8 @ 5.
    pub min_cell: u8,
    /// Bytes 6–7, unused (stale bytes of earlier replies).
    pub reserved: [u8; 2],
}

impl CellVoltageRange {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [h0, h1, hc, l0, l1, lc, r0, r1] = data;
        Self {
            max: Millivolts(i32::from(u16_at(h0, h1))),
            max_cell: hc,
            min: Millivolts(i32::from(u16_at(l0, l1))),
            min_cell: lc,
            reserved: [r0, r1],
        }
    }

    /// The data bytes.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] for a voltage outside 0..=65535 mV.
    pub fn to_data(&self) -> Result<[u8; 8], EncodeError> {
        let [h0, h1] = millivolts_u16(self.max, "max")?;
        let [l0, l1] = millivolts_u16(self.min, "min")?;
        let [r0, r1] = self.reserved;
        Ok([h0, h1, self.max_cell, l0, l1, self.min_cell, r0, r1])
    }
}

/// 0x92 reply: highest and lowest temperature.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemperatureRange {
    /// Highest temperature. Wire: u8 @ 0, 1 °C, +40.
    pub max: DeciCelsius,
    /// Sensor with the highest temperature. Wire: u8 @ 1.
    pub max_sensor: u8,
    /// Lowest temperature. Wire: u8 @ 2, 1 °C, +40.
    pub min: DeciCelsius,
    /// Sensor with the lowest temperature. Wire: u8 @ 3.
    pub min_sensor: u8,
    /// Bytes 4–7, unused (stale).
    pub reserved: [u8; 4],
}

impl TemperatureRange {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [h, hs, l, ls, r0, r1, r2, r3] = data;
        Self {
            max: temperature(h),
            max_sensor: hs,
            min: temperature(l),
            min_sensor: ls,
            reserved: [r0, r1, r2, r3],
        }
    }

    /// The data bytes.
    ///
    /// # Errors
    /// [`EncodeError::Precision`] off the 1 °C grid, [`EncodeError::OutOfRange`] outside
    /// −40..=215 °C.
    pub fn to_data(&self) -> Result<[u8; 8], EncodeError> {
        let [r0, r1, r2, r3] = self.reserved;
        Ok([
            to_temperature(self.max, "max")?,
            self.max_sensor,
            to_temperature(self.min, "min")?,
            self.min_sensor,
            r0,
            r1,
            r2,
            r3,
        ])
    }
}

/// What the pack is doing (0x93 byte 0).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChargeState(pub u8);

impl ChargeState {
    /// 0: idle / stationary.
    pub const IDLE: Self = Self(0);
    /// 1: charging.
    pub const CHARGING: Self = Self(1);
    /// 2: discharging.
    pub const DISCHARGING: Self = Self(2);

    /// The `snake_case` name of a known state.
    pub const fn name(self) -> Option<&'static str> {
        match self.0 {
            0 => Some("idle"),
            1 => Some("charging"),
            2 => Some("discharging"),
            _ => None,
        }
    }
}

/// 0x93 reply: charge state, MOSFETs, remaining capacity.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MosfetStatus {
    /// Idle, charging or discharging. Wire: u8 @ 0.
    pub state: ChargeState,
    /// Charge MOSFET. Wire: u8 @ 1 (0 off, 1 on).
    pub charge_mosfet: Switch,
    /// Discharge MOSFET. Wire: u8 @ 2 (0 off, 1 on).
    pub discharge_mosfet: Switch,
    /// "BMS life": a rolling 0–255 heartbeat, not cycles. Wire: u8 @ 3.
    pub bms_life: u8,
    /// Remaining capacity. Wire: u32 BE @ 4, 1 mAh.
    pub remaining_capacity: MilliampHours,
}

impl MosfetStatus {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [s, c, d, life, r0, r1, r2, r3] = data;
        Self {
            state: ChargeState(s),
            charge_mosfet: Switch(c),
            discharge_mosfet: Switch(d),
            bms_life: life,
            remaining_capacity: MilliampHours(i64::from(u32::from_be_bytes([r0, r1, r2, r3]))),
        }
    }

    /// The data bytes.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] for a capacity outside the u32 range.
    pub fn to_data(&self) -> Result<[u8; 8], EncodeError> {
        let [r0, r1, r2, r3] = self
            .remaining_capacity
            .to_wire_as::<u32>(Scale::IDENTITY, "remaining_capacity")?
            .to_be_bytes();
        Ok([
            self.state.0,
            self.charge_mosfet.0,
            self.discharge_mosfet.0,
            self.bms_life,
            r0,
            r1,
            r2,
            r3,
        ])
    }
}

/// Digital inputs and outputs (0x94 byte 4): bits 0–3 DI1–DI4, bits 4–7 DO1–DO4.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dio(pub u8);

impl Dio {
    /// Digital input `n` (1..=4); `false` outside.
    pub const fn input(self, n: u8) -> bool {
        n >= 1 && n <= 4 && self.0 & (1 << (n - 1)) != 0
    }

    /// Digital output `n` (1..=4); `false` outside.
    pub const fn output(self, n: u8) -> bool {
        n >= 1 && n <= 4 && self.0 & (1 << (n + 3)) != 0
    }
}

/// 0x94 reply: status information 1.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusInfo {
    /// Number of cells. Wire: u8 @ 0.
    pub cell_count: u8,
    /// Number of temperature sensors. Wire: u8 @ 1.
    pub temperature_sensor_count: u8,
    /// Charger connected. Wire: u8 @ 2.
    pub charger: Switch,
    /// Load connected. Wire: u8 @ 3.
    pub load: Switch,
    /// Digital I/O. Wire: u8 @ 4.
    pub dio: Dio,
    /// Charge/discharge cycles. Wire: u16 BE @ 5 (V1.0; every implementation reads it).
    pub cycles: u16,
    /// Byte 7, reserved.
    pub reserved: u8,
}

impl StatusInfo {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [cells, sensors, charger, load, dio, c0, c1, reserved] = data;
        Self {
            cell_count: cells,
            temperature_sensor_count: sensors,
            charger: Switch(charger),
            load: Switch(load),
            dio: Dio(dio),
            cycles: u16_at(c0, c1),
            reserved,
        }
    }

    /// The data bytes.
    pub fn to_data(&self) -> [u8; 8] {
        let [c0, c1] = self.cycles.to_be_bytes();
        [
            self.cell_count,
            self.temperature_sensor_count,
            self.charger.0,
            self.load.0,
            self.dio.0,
            c0,
            c1,
            self.reserved,
        ]
    }
}

/// One 0x95 reply frame: three cell voltages.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CellVoltageFrame {
    /// Frame number, 1-based on the wire: cells (frame − 1) × 3 + 1 … + 3. Wire: u8 @ 0.
    pub frame: u8,
    /// Three cell voltages. Wire: u16 BE @ 1, 3, 5, 1 mV.
    pub voltages: [Millivolts; 3],
    /// Byte 7, reserved.
    pub reserved: u8,
}

impl CellVoltageFrame {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [frame, a0, a1, b0, b1, c0, c1, reserved] = data;
        Self {
            frame,
            voltages: [(a0, a1), (b0, b1), (c0, c1)]
                .map(|(h, l)| Millivolts(i32::from(u16_at(h, l)))),
            reserved,
        }
    }

    /// The data bytes.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] for a voltage outside 0..=65535 mV.
    pub fn to_data(&self) -> Result<[u8; 8], EncodeError> {
        let [a, b, c] = self.voltages;
        let [a0, a1] = millivolts_u16(a, "voltages")?;
        let [b0, b1] = millivolts_u16(b, "voltages")?;
        let [c0, c1] = millivolts_u16(c, "voltages")?;
        Ok([self.frame, a0, a1, b0, b1, c0, c1, self.reserved])
    }
}

/// One 0x96 reply frame: seven temperatures.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemperatureFrame {
    /// Frame number, 1-based: sensors (frame − 1) × 7 + 1 … + 7. Wire: u8 @ 0.
    pub frame: u8,
    /// Seven temperatures. Wire: u8 @ 1..=7, 1 °C, +40.
    pub temperatures: [DeciCelsius; 7],
}

impl TemperatureFrame {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [frame, t @ ..] = data;
        Self {
            frame,
            temperatures: t.map(temperature),
        }
    }

    /// The data bytes.
    ///
    /// # Errors
    /// As [`TemperatureRange::to_data`].
    pub fn to_data(&self) -> Result<[u8; 8], EncodeError> {
        let mut out = [self.frame, 0, 0, 0, 0, 0, 0, 0];
        for (o, t) in out.iter_mut().skip(1).zip(self.temperatures) {
            *o = to_temperature(t, "temperatures")?;
        }
        Ok(out)
    }
}

/// 0x97 reply: one bit per cell, 1 = balancing. The bit order is not settled (see
/// [`BalanceBitOrder`]); the raw bytes are kept.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BalanceState(pub [u8; 8]);

impl BalanceState {
    /// Whether 1-based `cell` (1..=48) is balancing under `order`.
    pub fn is_balancing(&self, cell: u8, order: BalanceBitOrder) -> bool {
        cell <= 48
            && order
                .position(cell)
                .and_then(|(byte, bit)| self.0.get(byte).map(|b| b & (1 << bit) != 0))
                .unwrap_or(false)
    }

    /// Mark 1-based `cell` balancing or not under `order`.
    pub fn set(&mut self, cell: u8, on: bool, order: BalanceBitOrder) {
        if let Some((byte, bit)) = order.position(cell) {
            if let Some(b) = self.0.get_mut(byte) {
                if on {
                    *b |= 1 << bit;
                } else {
                    *b &= !(1 << bit);
                }
            }
        }
    }
}

/// 0x98 reply: failure flags and a fault code.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Failures {
    /// Failure bits. Wire: bytes 0–6.
    pub flags: FailureFlags,
    /// Fault code, 0 = none. Wire: u8 @ 7.
    pub fault_code: u8,
}

impl Failures {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [f @ .., code] = data;
        Self {
            flags: FailureFlags(f),
            fault_code: code,
        }
    }

    /// The data bytes.
    pub fn to_data(&self) -> [u8; 8] {
        suffixed(self.flags.0, self.fault_code)
    }
}

/// 0x50 reply: rated parameters.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RatedParameters {
    /// Rated capacity. Wire: u32 BE @ 0, 1 mAh.
    pub rated_capacity: MilliampHours,
    /// Nominal cell voltage. Wire: u32 BE @ 4, 1 mV.
    pub nominal_cell_voltage: Millivolts,
}

impl RatedParameters {
    /// Read the data bytes.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a nominal cell voltage above `i32::MAX` mV.
    pub fn parse(data: [u8; 8]) -> Result<Self, Error> {
        let [c0, c1, c2, c3, v0, v1, v2, v3] = data;
        Ok(Self {
            rated_capacity: MilliampHours(i64::from(u32::from_be_bytes([c0, c1, c2, c3]))),
            nominal_cell_voltage: Millivolts(
                i32::try_from(u32::from_be_bytes([v0, v1, v2, v3])).map_err(|_| {
                    Error::OutOfRange {
                        field: "nominal_cell_voltage",
                    }
                })?,
            ),
        })
    }

    /// The data bytes.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] for negative values or a capacity above the u32 range.
    pub fn to_data(&self) -> Result<[u8; 8], EncodeError> {
        let [c0, c1, c2, c3] = self
            .rated_capacity
            .to_wire_as::<u32>(Scale::IDENTITY, "rated_capacity")?
            .to_be_bytes();
        let [v0, v1, v2, v3] = self
            .nominal_cell_voltage
            .to_wire_as::<u32>(Scale::IDENTITY, "nominal_cell_voltage")?
            .to_be_bytes();
        Ok([c0, c1, c2, c3, v0, v1, v2, v3])
    }
}

/// 0x53 reply: battery type bytes and production date.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatteryInfo {
    /// Bytes 0–1, not documented (battery type, by the command's name).
    pub head: [u8; 2],
    /// Production year − 2000. Wire: u8 @ 2.
    pub production_years_since_2000: u8,
    /// Production month. Wire: u8 @ 3.
    pub production_month: u8,
    /// Production day. Wire: u8 @ 4.
    pub production_day: u8,
    /// Bytes 5–7, not documented.
    pub tail: [u8; 3],
}

impl BatteryInfo {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [h0, h1, y, m, d, t0, t1, t2] = data;
        Self {
            head: [h0, h1],
            production_years_since_2000: y,
            production_month: m,
            production_day: d,
            tail: [t0, t1, t2],
        }
    }

    /// The data bytes.
    pub fn to_data(&self) -> [u8; 8] {
        let ([h0, h1], [t0, t1, t2]) = (self.head, self.tail);
        [
            h0,
            h1,
            self.production_years_since_2000,
            self.production_month,
            self.production_day,
            t0,
            t1,
            t2,
        ]
    }
}

/// One frame of a multi-frame text reply (0x57 battery code, 0x62/0x63 versions).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TextFrame {
    /// Frame number, 1-based. Wire: u8 @ 0.
    pub frame: u8,
    /// Seven characters (ASCII on real devices). Wire: bytes 1–7.
    pub text: [u8; 7],
}

impl TextFrame {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [frame, text @ ..] = data;
        Self { frame, text }
    }

    /// The data bytes.
    pub fn to_data(&self) -> [u8; 8] {
        prefixed(self.frame, self.text)
    }
}

/// The reply to a write (0xD9, 0xDA, 0x21, 0x00).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WriteAck {
    /// Byte 0: the MOSFET state echoed (0xD9/0xDA), 1 = success (0x21).
    pub status: u8,
    /// Bytes 1–7 (stale or undocumented).
    pub rest: [u8; 7],
}

impl WriteAck {
    /// Read the data bytes.
    pub fn parse(data: [u8; 8]) -> Self {
        let [status, rest @ ..] = data;
        Self { status, rest }
    }

    /// The data bytes.
    pub fn to_data(&self) -> [u8; 8] {
        prefixed(self.status, self.rest)
    }

    /// Whether byte 0 is 1 (MOSFET on / SOC set).
    pub const fn is_set(&self) -> bool {
        self.status == 1
    }
}

/// A response from the BMS.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Response {
    /// 0x90.
    PackStatus(PackStatus),
    /// 0x91.
    CellVoltageRange(CellVoltageRange),
    /// 0x92.
    TemperatureRange(TemperatureRange),
    /// 0x93.
    MosfetStatus(MosfetStatus),
    /// 0x94.
    StatusInfo(StatusInfo),
    /// 0x95, one frame (see [`crate::Assembler`]).
    CellVoltages(CellVoltageFrame),
    /// 0x96, one frame.
    Temperatures(TemperatureFrame),
    /// 0x97.
    BalanceState(BalanceState),
    /// 0x98.
    Failures(Failures),
    /// 0x50.
    RatedParameters(RatedParameters),
    /// 0x53.
    BatteryInfo(BatteryInfo),
    /// 0x57, one frame.
    BatteryCode(TextFrame),
    /// 0x62, one frame.
    SoftwareVersion(TextFrame),
    /// 0x63, one frame.
    HardwareVersion(TextFrame),
    /// 0xD9 acknowledged.
    DischargeMosfet(WriteAck),
    /// 0xDA acknowledged.
    ChargeMosfet(WriteAck),
    /// 0x21 acknowledged.
    SetSoc(WriteAck),
    /// 0x00 acknowledged.
    Reset(WriteAck),
    /// A command we do not know, kept as it came.
    Other {
        /// Command byte.
        command: Command,
        /// Data bytes.
        data: [u8; 8],
    },
}

impl Response {
    /// Give a checksum-verified frame its meaning as a response.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] when a value does not fit our exact units (a SOC above
    /// 3276.7 %, a nominal cell voltage above 2³¹ mV).
    pub fn parse(frame: &RawFrame, variant: &Variant) -> Result<Self, Error> {
        let d = frame.data;
        Ok(match Command(frame.command) {
            Command::PACK_STATUS => Self::PackStatus(PackStatus::parse(d, variant.current_sign)?),
            Command::CELL_VOLTAGE_RANGE => Self::CellVoltageRange(CellVoltageRange::parse(d)),
            Command::TEMPERATURE_RANGE => Self::TemperatureRange(TemperatureRange::parse(d)),
            Command::MOSFET_STATUS => Self::MosfetStatus(MosfetStatus::parse(d)),
            Command::STATUS_INFO => Self::StatusInfo(StatusInfo::parse(d)),
            Command::CELL_VOLTAGES => Self::CellVoltages(CellVoltageFrame::parse(d)),
            Command::TEMPERATURES => Self::Temperatures(TemperatureFrame::parse(d)),
            Command::BALANCE_STATE => Self::BalanceState(BalanceState(d)),
            Command::FAILURES => Self::Failures(Failures::parse(d)),
            Command::RATED_PARAMETERS => Self::RatedParameters(RatedParameters::parse(d)?),
            Command::BATTERY_INFO => Self::BatteryInfo(BatteryInfo::parse(d)),
            Command::BATTERY_CODE => Self::BatteryCode(TextFrame::parse(d)),
            Command::SOFTWARE_VERSION => Self::SoftwareVersion(TextFrame::parse(d)),
            Command::HARDWARE_VERSION => Self::HardwareVersion(TextFrame::parse(d)),
            Command::DISCHARGE_MOSFET => Self::DischargeMosfet(WriteAck::parse(d)),
            Command::CHARGE_MOSFET => Self::ChargeMosfet(WriteAck::parse(d)),
            Command::SET_SOC => Self::SetSoc(WriteAck::parse(d)),
            Command::RESET => Self::Reset(WriteAck::parse(d)),
            command => Self::Other { command, data: d },
        })
    }

    /// The command byte.
    pub const fn command(&self) -> Command {
        match self {
            Self::PackStatus(_) => Command::PACK_STATUS,
            Self::CellVoltageRange(_) => Command::CELL_VOLTAGE_RANGE,
            Self::TemperatureRange(_) => Command::TEMPERATURE_RANGE,
            Self::MosfetStatus(_) => Command::MOSFET_STATUS,
            Self::StatusInfo(_) => Command::STATUS_INFO,
            Self::CellVoltages(_) => Command::CELL_VOLTAGES,
            Self::Temperatures(_) => Command::TEMPERATURES,
            Self::BalanceState(_) => Command::BALANCE_STATE,
            Self::Failures(_) => Command::FAILURES,
            Self::RatedParameters(_) => Command::RATED_PARAMETERS,
            Self::BatteryInfo(_) => Command::BATTERY_INFO,
            Self::BatteryCode(_) => Command::BATTERY_CODE,
            Self::SoftwareVersion(_) => Command::SOFTWARE_VERSION,
            Self::HardwareVersion(_) => Command::HARDWARE_VERSION,
            Self::DischargeMosfet(_) => Command::DISCHARGE_MOSFET,
            Self::ChargeMosfet(_) => Command::CHARGE_MOSFET,
            Self::SetSoc(_) => Command::SET_SOC,
            Self::Reset(_) => Command::RESET,
            Self::Other { command, .. } => *command,
        }
    }

    /// The `snake_case` name (`pack_status`, `cell_voltages`, …; `response` for an unknown
    /// command). Acks are named after their write with `_ack` (`charge_mosfet_ack`).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::DischargeMosfet(_) => "discharge_mosfet_ack",
            Self::ChargeMosfet(_) => "charge_mosfet_ack",
            Self::SetSoc(_) => "set_soc_ack",
            Self::Reset(_) => "reset_ack",
            _ => match self.command().name() {
                Some(n) => n,
                None => "response",
            },
        }
    }

    /// The 8 data bytes.
    ///
    /// # Errors
    /// When a value cannot be carried exactly (see each type's `to_data`).
    pub fn data(&self, variant: &Variant) -> Result<[u8; 8], EncodeError> {
        Ok(match self {
            Self::PackStatus(m) => m.to_data(variant.current_sign)?,
            Self::CellVoltageRange(m) => m.to_data()?,
            Self::TemperatureRange(m) => m.to_data()?,
            Self::MosfetStatus(m) => m.to_data()?,
            Self::StatusInfo(m) => m.to_data(),
            Self::CellVoltages(m) => m.to_data()?,
            Self::Temperatures(m) => m.to_data()?,
            Self::BalanceState(m) => m.0,
            Self::Failures(m) => m.to_data(),
            Self::RatedParameters(m) => m.to_data()?,
            Self::BatteryInfo(m) => m.to_data(),
            Self::BatteryCode(m) | Self::SoftwareVersion(m) | Self::HardwareVersion(m) => {
                m.to_data()
            }
            Self::DischargeMosfet(m) | Self::ChargeMosfet(m) | Self::SetSoc(m) | Self::Reset(m) => {
                m.to_data()
            }
            Self::Other { data, .. } => *data,
        })
    }

    /// The frame this response is, from BMS `address` (0x01 for the first BMS).
    ///
    /// # Errors
    /// As [`Response::data`].
    pub fn to_frame(&self, address: u8, variant: &Variant) -> Result<RawFrame, EncodeError> {
        Ok(RawFrame {
            address,
            command: self.command().0,
            data: self.data(variant)?,
        })
    }

    /// Write the 13 wire bytes from BMS `address` into `out`; returns 13.
    ///
    /// # Errors
    /// As [`Response::data`], and [`EncodeError::BufferTooSmall`].
    pub fn emit(
        &self,
        address: u8,
        variant: &Variant,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        self.to_frame(address, variant)?.emit(out)
    }
}

#[cfg(test)]
#[allow(
    clippy::std_instead_of_alloc,
    clippy::many_single_char_names,
    clippy::trivially_copy_pass_by_ref,
    reason = "test code"
)]
mod tests {
    use super::*;
    use crate::failure::Failure;

    fn frame(hex: &str) -> RawFrame {
        let bytes: std::vec::Vec<u8> = hex
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        RawFrame::parse(&bytes).unwrap()
    }

    fn roundtrip(f: &RawFrame, v: &Variant) -> Response {
        let r = Response::parse(f, v).unwrap();
        assert_eq!(r.to_frame(f.address, v).unwrap(), *f);
        r
    }

    #[test]
    fn pack_status_both_signs() {
        // mpp-solar test_responses: 53.2 V, raw 30021, 88.8 %.
        let f = frame("A5 01 90 08 02 14 00 00 75 45 03 78 89");
        let Response::PackStatus(p) = roundtrip(&f, &Variant::default()) else {
            panic!()
        };
        assert_eq!(p.voltage, Millivolts(53_200));
        assert_eq!(p.acquired_voltage, Millivolts(0));
        assert_eq!(p.current, Milliamps(-2_100));
        assert_eq!(p.soc, Permille(888));
        let v = Variant::default().with_current_sign(CurrentSign::ChargeAboveOffset);
        let Response::PackStatus(p) = roundtrip(&f, &v) else {
            panic!()
        };
        assert_eq!(p.current, Milliamps(2_100));
    }

    #[test]
    fn ranges_and_status() {
        let v = Variant::default();
        let Response::TemperatureRange(t) =
            roundtrip(&frame("A5 01 92 08 37 01 37 01 FE 01 03 78 2A"), &v)
        else {
            panic!()
        };
        assert_eq!(
            (t.max, t.max_sensor, t.min, t.min_sensor),
            (DeciCelsius(150), 1, DeciCelsius(150), 1)
        );
        assert_eq!(t.reserved, [0xFE, 0x01, 0x03, 0x78]);
        let Response::MosfetStatus(m) =
            roundtrip(&frame("A5 01 93 08 02 01 01 78 00 03 CB 40 CB"), &v)
        else {
            panic!()
        };
        assert_eq!(m.state, ChargeState::DISCHARGING);
        assert!(m.charge_mosfet.is_on() && m.discharge_mosfet.is_on());
        assert_eq!(m.bms_life, 120);
        assert_eq!(m.remaining_capacity, MilliampHours(248_640));
        let Response::StatusInfo(s) =
            roundtrip(&frame("A5 01 94 08 10 01 00 00 00 00 03 40 96"), &v)
        else {
            panic!()
        };
        assert_eq!(
            (
                s.cell_count,
                s.temperature_sensor_count,
                s.cycles,
                s.reserved
            ),
            (16, 1, 3, 0x40)
        );
    }

    #[test]
    fn temperatures_extremes() {
        assert_eq!(temperature(0), DeciCelsius(-400));
        assert_eq!(temperature(255), DeciCelsius(2150));
        let t = TemperatureFrame {
            frame: 1,
            temperatures: [DeciCelsius(-155); 7],
        };
        assert_eq!(
            t.to_data(),
            Err(EncodeError::Precision {
                field: "temperatures"
            })
        );
    }

    #[test]
    fn failures_named() {
        let f = Failures::parse([0b0000_0101, 0, 0, 0x10, 0, 0x80, 0x08, 3]);
        let names: std::vec::Vec<_> = f.flags.iter().map(Failure::name).collect();
        assert_eq!(
            names,
            [
                "cell_voltage_high_l1",
                "cell_voltage_low_l1",
                "internal_comm_fault",
                "low_voltage_charge_forbidden"
            ]
        );
        assert_eq!(f.flags.unnamed(), [0, 0, 0, 0x10, 0, 0, 0]);
        assert_eq!(f.to_data(), [0b0000_0101, 0, 0, 0x10, 0, 0x80, 0x08, 3]);
    }

    #[test]
    fn balance_orders() {
        let mut b = BalanceState::default();
        b.set(1, true, BalanceBitOrder::BytesInOrderLsbFirst);
        b.set(10, true, BalanceBitOrder::BigEndianWord);
        assert_eq!(b.0, [1, 0, 0, 0, 0, 0, 0b10, 0]);
        assert!(b.is_balancing(1, BalanceBitOrder::BytesInOrderLsbFirst));
        assert!(!b.is_balancing(1, BalanceBitOrder::BigEndianWord));
        assert!(b.is_balancing(10, BalanceBitOrder::BigEndianWord));
        assert!(!b.is_balancing(0, BalanceBitOrder::BigEndianWord));
    }

    #[test]
    fn acks() {
        // python-daly-bms log: discharge MOSFET on.
        let f = RawFrame {
            address: 1,
            command: 0xD9,
            data: [0x01, 0x01, 0x00, 0x00, 0x02, 0x00, 0x6C, 0xBE],
        };
        let r = roundtrip(&f, &Variant::default());
        assert_eq!(r.name(), "discharge_mosfet_ack");
        let Response::DischargeMosfet(a) = r else {
            panic!()
        };
        assert!(a.is_set());
    }
}
