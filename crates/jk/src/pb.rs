//! JK-PB (the "inverter BMS", PB series) on its RS485 bus.
//!
//! The PB speaks Modbus RTU framing (CRC-16/MODBUS, low byte first) with one twist that every
//! working client uses: the host (or the BMS at DIP address 0, the bus master) *writes 0x0000
//! to a trigger register* with function 0x10, and the addressed BMS answers with a 300-byte
//! little-endian data block that starts `55 AA EB 90` and ends with a sum8, followed by one
//! padding byte, the ordinary 8-byte FC 0x10 acknowledgement and one trailing byte.
//!
//! | trigger register | block type | content | register area |
//! |---|---|---|---|
//! | 0x161E | 0x01 | settings ([`Settings`]) | 0x1000 |
//! | 0x1620 | 0x02 | live status ([`Status`]) | 0x1200 |
//! | 0x161C | 0x03 | device info ([`About`]) | 0x1400 |
//!
//! A block's byte `6 + n` is the byte at offset `n` of its register area, so the register map
//! of the vendor document (`BMS RS485 Modbus V1.1`) and the block offsets used by the
//! drivers agree: the alarm register 0x12A0 is block offset 166.
//!
//! [`PbDecoder`] follows such a bus: it yields [`Message::Block`]s, the Modbus requests
//! ([`Message::WriteRequest`], [`Message::ReadRequest`]), the acknowledgements and read
//! responses, and drops the padding bytes as noise. Plain FC 0x03 reads work on some
//! firmware (mr-manuel found about half of them fail), so their frames are decoded too.

use heapless::Vec;
use voltwire_core::checksum::{crc16_modbus, sum8};
use voltwire_core::table::{BitTable, FlagWord, Unnamed, indexed};
use voltwire_core::{
    DeciCelsius, Emit, EncodeError, ErrorKind, Framing, MilliampHours, Milliamps, Millivolts,
    Protocol, Scan,
};

/// Length of a data block.
pub const BLOCK_LEN: usize = 300;
/// The first four bytes of a data block.
pub const BLOCK_START: [u8; 4] = [0x55, 0xAA, 0xEB, 0x90];
/// The longest frame on the bus (a data block; a Modbus frame is at most 260 bytes).
pub const MAX_FRAME_LEN: usize = BLOCK_LEN;
/// Modbus function: read holding registers.
pub const FC_READ: u8 = 0x03;
/// Modbus function: write multiple registers.
pub const FC_WRITE: u8 = 0x10;

/// A streaming decoder for the JK-PB RS485 bus (512-byte buffer).
pub type PbDecoder = voltwire_core::ScanDecoder<PbFraming, 512>;

/// A `tokio_util::codec::Decoder` over [`PbDecoder`].
#[cfg(feature = "tokio-codec")]
pub type PbCodec = voltwire_core::codec::StreamCodec<PbDecoder>;

/// Why bytes are not a JK-PB frame (returned by [`check`]; the stream decoder counts such
/// bytes as noise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// More bytes could complete the candidate.
    #[error("frame cut off: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes the candidate needs.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// A `55 AA EB 90` block whose sum8 does not match byte 299.
    #[error("block checksum 0x{found:02X}, computed 0x{computed:02X}")]
    Checksum {
        /// sum8 of bytes 0..299.
        computed: u8,
        /// Byte 299.
        found: u8,
    },
    /// Not a block and no Modbus frame whose CRC verifies.
    #[error("not a JK-PB frame")]
    NotAFrame,
}

impl Error {
    /// Coarse classification.
    pub const fn kind(self) -> ErrorKind {
        match self {
            Self::Checksum { .. } => ErrorKind::Checksum,
            _ => ErrorKind::Framing,
        }
    }

    /// A short, stable `snake_case` code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::Checksum { .. } => "checksum",
            Self::NotAFrame => "not_a_frame",
        }
    }
}

/// The trigger registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// 0x161E: answer with the settings block (type 0x01).
    Settings,
    /// 0x1620: answer with the status block (type 0x02).
    Status,
    /// 0x161C: answer with the device-info block (type 0x03).
    About,
}

impl Trigger {
    /// The register address.
    pub const fn register(self) -> u16 {
        match self {
            Self::Settings => 0x161E,
            Self::Status => 0x1620,
            Self::About => 0x161C,
        }
    }

    /// The trigger a register address stands for.
    pub const fn from_register(register: u16) -> Option<Self> {
        match register {
            0x161E => Some(Self::Settings),
            0x1620 => Some(Self::Status),
            0x161C => Some(Self::About),
            _ => None,
        }
    }
}

voltwire_core::code_enum! {
    /// Block type (byte 4).
    pub enum BlockKind(u8) {
        /// 0x01: settings.
        Settings = 1 => "settings",
        /// 0x02: live status.
        Status = 2 => "status",
        /// 0x03: device information.
        About = 3 => "about",
    }
}

/// A 300-byte data block, kept byte for byte (so every field, known or not, survives a round
/// trip). Read it with [`Block::status`], [`Block::settings`], [`Block::about`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Block(pub [u8; BLOCK_LEN]);

fn get<const N: usize>(b: &[u8; BLOCK_LEN], at: usize) -> [u8; N] {
    b.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; N])
}

fn set(b: &mut [u8; BLOCK_LEN], at: usize, bytes: &[u8]) {
    if let Some(d) = b.get_mut(at..at + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

fn u16le(b: &[u8; BLOCK_LEN], at: usize) -> u16 {
    u16::from_le_bytes(get(b, at))
}
fn i16le(b: &[u8; BLOCK_LEN], at: usize) -> i16 {
    i16::from_le_bytes(get(b, at))
}
fn u32le(b: &[u8; BLOCK_LEN], at: usize) -> u32 {
    u32::from_le_bytes(get(b, at))
}
fn i32le(b: &[u8; BLOCK_LEN], at: usize) -> i32 {
    i32::from_le_bytes(get(b, at))
}
fn sat_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
fn sat_i16(v: i32) -> i16 {
    i16::try_from(v).unwrap_or(if v < 0 { i16::MIN } else { i16::MAX })
}
fn to_u32(v: i32, field: &'static str) -> Result<[u8; 4], EncodeError> {
    u32::try_from(v)
        .map(u32::to_le_bytes)
        .map_err(|_| EncodeError::OutOfRange { field })
}
fn to_u16(v: i32, field: &'static str) -> Result<[u8; 2], EncodeError> {
    u16::try_from(v)
        .map(u16::to_le_bytes)
        .map_err(|_| EncodeError::OutOfRange { field })
}
fn to_i16(v: i32, field: &'static str) -> Result<[u8; 2], EncodeError> {
    i16::try_from(v)
        .map(i16::to_le_bytes)
        .map_err(|_| EncodeError::OutOfRange { field })
}
fn to_i32(v: i64, field: &'static str) -> Result<[u8; 4], EncodeError> {
    i32::try_from(v)
        .map(i32::to_le_bytes)
        .map_err(|_| EncodeError::OutOfRange { field })
}

impl Block {
    /// A zeroed block of `kind` (start marker set, checksum not yet computed).
    pub fn new(kind: BlockKind) -> Self {
        let mut b = [0; BLOCK_LEN];
        set(&mut b, 0, &BLOCK_START);
        set(&mut b, 4, &[kind.into()]);
        Self(b)
    }

    /// The block from exactly [`BLOCK_LEN`] bytes; the checksum is not checked (see
    /// [`check`]).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// Block type. Wire: u8 @ 4.
    pub fn kind(&self) -> BlockKind {
        BlockKind::from(get::<1>(&self.0, 4)[0])
    }

    /// Byte 5: 0x00 or 0x05 on RS485 depending on firmware, a frame counter over Bluetooth.
    pub fn counter(&self) -> u8 {
        get::<1>(&self.0, 5)[0]
    }

    /// Whether byte 299 is the sum8 of bytes 0..299.
    pub fn checksum_ok(&self) -> bool {
        self.0
            .split_last()
            .is_some_and(|(s, body)| sum8(body) == *s)
    }

    /// Set byte 299 to the sum8 of bytes 0..299.
    pub fn fix_checksum(&mut self) {
        if let Some((s, body)) = self.0.split_last_mut() {
            *s = sum8(body);
        }
    }

    /// The status fields, when this is a status block.
    pub fn status(&self) -> Option<Status> {
        (self.kind() == BlockKind::Status).then(|| Status::read(&self.0))
    }

    /// The settings fields, when this is a settings block.
    pub fn settings(&self) -> Option<Settings> {
        (self.kind() == BlockKind::Settings).then(|| Settings::read(&self.0))
    }

    /// The device information, when this is an about block.
    pub fn about(&self) -> Option<About> {
        (self.kind() == BlockKind::About).then(|| About::read(&self.0))
    }
}

/// Names of the [`Status::alarms`] bits, bit 0 first (mr-manuel, from the vendor register
/// map).
pub const ALARM_NAMES: [&str; 22] = [
    "wire_resistance",
    "mosfet_over_temperature",
    "cell_quantity",
    "current_sensor_error",
    "cell_over_voltage",
    "battery_over_voltage",
    "charge_over_current",
    "charge_short_circuit",
    "charge_over_temperature",
    "charge_under_temperature",
    "cpu_aux_communication",
    "cell_under_voltage",
    "battery_under_voltage",
    "discharge_over_current",
    "discharge_short_circuit",
    "discharge_over_temperature",
    "charge_mos",
    "discharge_mos",
    "gps_disconnected",
    "modify_password_in_time",
    "discharge_on_failed",
    "battery_over_temperature",
];

/// Alarm bits of the status block (register 0x12A0). Wire: u32 LE @ 166.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Alarms(pub u32);

impl Alarms {
    /// Names of the set bits (`bit_N` above bit 21).
    pub fn flags(self) -> impl Iterator<Item = &'static str> {
        FlagWord::flags(self)
    }
}

impl FlagWord for Alarms {
    type Raw = u32;
    const BITS: BitTable = &indexed(ALARM_NAMES);
    const UNNAMED: Unnamed = Unnamed::BitN;
    fn raw(self) -> u32 {
        self.0
    }
}

/// The live status block (type 0x02, trigger 0x1620, register area 0x1200).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Status {
    /// Cell voltages, 32 slots (0 = no cell). Wire: u16 LE @ 6 + 2·i, 1 mV.
    pub cell_voltages: [Millivolts; 32],
    /// Cells fitted, bit i = cell i + 1. Wire: u32 LE @ 70.
    pub cell_mask: u32,
    /// Average cell voltage. Wire: u16 LE @ 74, 1 mV.
    pub average_cell_voltage: Millivolts,
    /// Highest minus lowest cell voltage. Wire: u16 LE @ 76, 1 mV.
    pub cell_voltage_delta: Millivolts,
    /// Index of the highest cell (0-based). Wire: u8 @ 78.
    pub max_cell_index: u8,
    /// Index of the lowest cell (0-based). Wire: u8 @ 79.
    pub min_cell_index: u8,
    /// Cell wire resistances in mΩ, 32 slots. Wire: u16 LE @ 80 + 2·i, 1 mΩ.
    pub cell_resistances_milliohm: [u16; 32],
    /// MOSFET temperature. Wire: i16 LE @ 144, 0.1 °C.
    pub mosfet_temperature: DeciCelsius,
    /// Pack voltage. Wire: u32 LE @ 150, 1 mV (saturates above `i32::MAX`).
    pub pack_voltage: Millivolts,
    /// Pack current, positive = charging. Wire: i32 LE @ 158, 1 mA.
    pub current: Milliamps,
    /// Battery temperature sensor 1. Wire: i16 LE @ 162, 0.1 °C.
    pub temperature_1: DeciCelsius,
    /// Battery temperature sensor 2. Wire: i16 LE @ 164, 0.1 °C.
    pub temperature_2: DeciCelsius,
    /// Alarm bits. Wire: u32 LE @ 166.
    pub alarms: Alarms,
    /// Balancer current. Wire: i16 LE @ 170, 1 mA.
    pub balance_current: Milliamps,
    /// Balancer action: 0 off, 1 charging, 2 discharging. Wire: u8 @ 172.
    pub balancing: u8,
    /// State of charge, %. Wire: u8 @ 173.
    pub soc_percent: u8,
    /// Remaining capacity. Wire: i32 LE @ 174, 1 mAh.
    pub remaining_capacity: MilliampHours,
    /// Full-charge capacity. Wire: i32 LE @ 178, 1 mAh.
    pub full_charge_capacity: MilliampHours,
    /// Cycle count. Wire: u32 LE @ 182.
    pub cycle_count: u32,
    /// State of health, %. Wire: u8 @ 190.
    pub soh_percent: u8,
    /// Precharge state. Wire: u8 @ 191.
    pub precharge: u8,
    /// Runtime, s. Wire: u32 LE @ 194, 1 s.
    pub runtime_s: u32,
    /// Charge MOSFET on (non-zero). Wire: u8 @ 198.
    pub charge_mos: u8,
    /// Discharge MOSFET on (non-zero). Wire: u8 @ 199.
    pub discharge_mos: u8,
    /// Temperature sensors present: 0x02 T1, 0x04 T2, 0x10 T3, 0x20 T4. Wire: u8 @ 214.
    pub sensors_present: u8,
    /// Heater on (non-zero). Wire: u8 @ 215.
    pub heating: u8,
    /// Heater current. Wire: u16 LE @ 236, 1 mA.
    pub heater_current: Milliamps,
    /// Battery temperature sensor 3. Wire: i16 LE @ 256, 0.1 °C.
    pub temperature_3: DeciCelsius,
    /// Battery temperature sensor 4. Wire: i16 LE @ 258, 0.1 °C.
    pub temperature_4: DeciCelsius,
}

impl Status {
    fn read(b: &[u8; BLOCK_LEN]) -> Self {
        let mut cells = [Millivolts(0); 32];
        let mut res = [0; 32];
        for (i, (c, r)) in cells.iter_mut().zip(res.iter_mut()).enumerate() {
            *c = Millivolts(i32::from(u16le(b, 6 + 2 * i)));
            *r = u16le(b, 80 + 2 * i);
        }
        let byte = |at| get::<1>(b, at)[0];
        Self {
            cell_voltages: cells,
            cell_mask: u32le(b, 70),
            average_cell_voltage: Millivolts(i32::from(u16le(b, 74))),
            cell_voltage_delta: Millivolts(i32::from(u16le(b, 76))),
            max_cell_index: byte(78),
            min_cell_index: byte(79),
            cell_resistances_milliohm: res,
            mosfet_temperature: DeciCelsius(i16le(b, 144)),
            pack_voltage: Millivolts(sat_i32(u32le(b, 150))),
            current: Milliamps(i32le(b, 158)),
            temperature_1: DeciCelsius(i16le(b, 162)),
            temperature_2: DeciCelsius(i16le(b, 164)),
            alarms: Alarms(u32le(b, 166)),
            balance_current: Milliamps(i32::from(i16le(b, 170))),
            balancing: byte(172),
            soc_percent: byte(173),
            remaining_capacity: MilliampHours(i64::from(i32le(b, 174))),
            full_charge_capacity: MilliampHours(i64::from(i32le(b, 178))),
            cycle_count: u32le(b, 182),
            soh_percent: byte(190),
            precharge: byte(191),
            runtime_s: u32le(b, 194),
            charge_mos: byte(198),
            discharge_mos: byte(199),
            sensors_present: byte(214),
            heating: byte(215),
            heater_current: Milliamps(i32::from(u16le(b, 236))),
            temperature_3: DeciCelsius(i16le(b, 256)),
            temperature_4: DeciCelsius(i16le(b, 258)),
        }
    }

    /// The voltages of the fitted cells (bits of [`Status::cell_mask`]), in order.
    pub fn cells(&self) -> impl Iterator<Item = Millivolts> + '_ {
        self.cell_voltages
            .iter()
            .enumerate()
            .filter(|(i, _)| self.cell_mask & (1 << i) != 0)
            .map(|(_, v)| *v)
    }

    /// Write these fields into `block` (other bytes untouched; the checksum is not updated).
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] for a value the wire field cannot hold.
    pub fn write_to(&self, block: &mut Block) -> Result<(), EncodeError> {
        let b = &mut block.0;
        for (i, (c, r)) in self
            .cell_voltages
            .iter()
            .zip(self.cell_resistances_milliohm.iter())
            .enumerate()
        {
            set(b, 6 + 2 * i, &to_u16(c.0, "cell_voltages")?);
            set(b, 80 + 2 * i, &r.to_le_bytes());
        }
        set(b, 70, &self.cell_mask.to_le_bytes());
        set(
            b,
            74,
            &to_u16(self.average_cell_voltage.0, "average_cell_voltage")?,
        );
        set(
            b,
            76,
            &to_u16(self.cell_voltage_delta.0, "cell_voltage_delta")?,
        );
        set(b, 78, &[self.max_cell_index, self.min_cell_index]);
        set(b, 144, &self.mosfet_temperature.0.to_le_bytes());
        set(b, 150, &to_u32(self.pack_voltage.0, "pack_voltage")?);
        set(b, 158, &self.current.0.to_le_bytes());
        set(b, 162, &self.temperature_1.0.to_le_bytes());
        set(b, 164, &self.temperature_2.0.to_le_bytes());
        set(b, 166, &self.alarms.0.to_le_bytes());
        set(b, 170, &to_i16(self.balance_current.0, "balance_current")?);
        set(b, 172, &[self.balancing, self.soc_percent]);
        set(
            b,
            174,
            &to_i32(self.remaining_capacity.0, "remaining_capacity")?,
        );
        set(
            b,
            178,
            &to_i32(self.full_charge_capacity.0, "full_charge_capacity")?,
        );
        set(b, 182, &self.cycle_count.to_le_bytes());
        set(b, 190, &[self.soh_percent, self.precharge]);
        set(b, 194, &self.runtime_s.to_le_bytes());
        set(b, 198, &[self.charge_mos, self.discharge_mos]);
        set(b, 214, &[self.sensors_present, self.heating]);
        set(b, 236, &to_u16(self.heater_current.0, "heater_current")?);
        set(b, 256, &self.temperature_3.0.to_le_bytes());
        set(b, 258, &self.temperature_4.0.to_le_bytes());
        Ok(())
    }

    /// A complete status block (zeros elsewhere, checksum set), as a simulator sends it.
    ///
    /// # Errors
    /// As [`Status::write_to`].
    pub fn to_block(&self) -> Result<Block, EncodeError> {
        let mut block = Block::new(BlockKind::Status);
        self.write_to(&mut block)?;
        block.fix_checksum();
        Ok(block)
    }
}

/// The settings block (type 0x01, trigger 0x161E, register area 0x1000). All values are
/// 32-bit little-endian; the temperatures are signed (the capture holds −20.0 °C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Settings {
    /// Smart-sleep voltage. Wire: i32 LE @ 6, 1 mV.
    pub smart_sleep_voltage: Millivolts,
    /// Cell under-voltage protection. Wire: i32 LE @ 10, 1 mV.
    pub cell_under_voltage: Millivolts,
    /// Cell under-voltage recovery. Wire: i32 LE @ 14, 1 mV.
    pub cell_under_voltage_recovery: Millivolts,
    /// Cell over-voltage protection. Wire: i32 LE @ 18, 1 mV.
    pub cell_over_voltage: Millivolts,
    /// Cell over-voltage recovery. Wire: i32 LE @ 22, 1 mV.
    pub cell_over_voltage_recovery: Millivolts,
    /// Balance trigger difference. Wire: i32 LE @ 26, 1 mV.
    pub balance_trigger_delta: Millivolts,
    /// Cell voltage at 100 % SOC. Wire: i32 LE @ 30, 1 mV.
    pub soc_100_voltage: Millivolts,
    /// Cell voltage at 0 % SOC. Wire: i32 LE @ 34, 1 mV.
    pub soc_0_voltage: Millivolts,
    /// Requested charge voltage per cell. Wire: i32 LE @ 38, 1 mV.
    pub request_charge_voltage: Millivolts,
    /// Requested float voltage per cell. Wire: i32 LE @ 42, 1 mV.
    pub request_float_voltage: Millivolts,
    /// System power-off voltage. Wire: i32 LE @ 46, 1 mV.
    pub power_off_voltage: Millivolts,
    /// Continuous charge current limit. Wire: i32 LE @ 50, 1 mA.
    pub charge_over_current: Milliamps,
    /// Charge over-current delay, s. Wire: i32 LE @ 54, 1 s.
    pub charge_over_current_delay_s: i32,
    /// Charge over-current recovery delay, s. Wire: i32 LE @ 58, 1 s.
    pub charge_over_current_recovery_s: i32,
    /// Continuous discharge current limit. Wire: i32 LE @ 62, 1 mA.
    pub discharge_over_current: Milliamps,
    /// Discharge over-current delay, s. Wire: i32 LE @ 66, 1 s.
    pub discharge_over_current_delay_s: i32,
    /// Discharge over-current recovery delay, s. Wire: i32 LE @ 70, 1 s.
    pub discharge_over_current_recovery_s: i32,
    /// Short-circuit recovery delay, s. Wire: i32 LE @ 74, 1 s.
    pub short_circuit_recovery_s: i32,
    /// Maximum balance current. Wire: i32 LE @ 78, 1 mA.
    pub max_balance_current: Milliamps,
    /// Charge over-temperature. Wire: i32 LE @ 82, 0.1 °C.
    pub charge_over_temperature: DeciCelsius,
    /// Charge over-temperature recovery. Wire: i32 LE @ 86, 0.1 °C.
    pub charge_over_temperature_recovery: DeciCelsius,
    /// Discharge over-temperature. Wire: i32 LE @ 90, 0.1 °C.
    pub discharge_over_temperature: DeciCelsius,
    /// Discharge over-temperature recovery. Wire: i32 LE @ 94, 0.1 °C.
    pub discharge_over_temperature_recovery: DeciCelsius,
    /// Charge under-temperature. Wire: i32 LE @ 98, 0.1 °C.
    pub charge_under_temperature: DeciCelsius,
    /// Charge under-temperature recovery. Wire: i32 LE @ 102, 0.1 °C.
    pub charge_under_temperature_recovery: DeciCelsius,
    /// MOSFET over-temperature. Wire: i32 LE @ 106, 0.1 °C.
    pub mosfet_over_temperature: DeciCelsius,
    /// MOSFET over-temperature recovery. Wire: i32 LE @ 110, 0.1 °C.
    pub mosfet_over_temperature_recovery: DeciCelsius,
    /// Cell count. Wire: i32 LE @ 114 (register 0x106C).
    pub cell_count: i32,
    /// Charging enabled (non-zero). Wire: i32 LE @ 118.
    pub charge_enabled: i32,
    /// Discharging enabled (non-zero). Wire: i32 LE @ 122.
    pub discharge_enabled: i32,
    /// Balancer enabled (non-zero). Wire: i32 LE @ 126.
    pub balance_enabled: i32,
    /// Nominal capacity. Wire: i32 LE @ 130, 1 mAh.
    pub capacity: MilliampHours,
    /// Short-circuit protection delay, µs. Wire: i32 LE @ 134, 1 µs.
    pub short_circuit_delay_us: i32,
    /// Balance start voltage. Wire: i32 LE @ 138, 1 mV.
    pub balance_start_voltage: Millivolts,
    /// Device address (DIP switches). Wire: i32 LE @ 270.
    pub device_address: i32,
    /// Precharge time. Wire: i32 LE @ 274.
    pub precharge_time: i32,
    /// Control bits: 0 heating, 1 temperature sensor disabled, 2 GPS heartbeat, 3 port
    /// RS485 (else CAN), 4 LCD always on, 5 special charger, 6 smart sleep. Wire: u16 LE @ 282.
    pub control_bits: u16,
    /// Heating start temperature, °C. Wire: i8 @ 284, 1 °C.
    pub heating_start_celsius: i8,
    /// Heating stop temperature, °C. Wire: i8 @ 285, 1 °C.
    pub heating_stop_celsius: i8,
    /// Smart-sleep time. Wire: u8 @ 286.
    pub smart_sleep_time: u8,
}

const SETTINGS_MV: [usize; 11] = [6, 10, 14, 18, 22, 26, 30, 34, 38, 42, 46];
const SETTINGS_TEMP: [usize; 8] = [82, 86, 90, 94, 98, 102, 106, 110];

impl Settings {
    fn read(b: &[u8; BLOCK_LEN]) -> Self {
        let mv = |at| Millivolts(i32le(b, at));
        let ma = |at| Milliamps(i32le(b, at));
        let dc = |at| DeciCelsius(sat_i16(i32le(b, at)));
        let [start, stop, sleep] = get::<3>(b, 284);
        Self {
            smart_sleep_voltage: mv(6),
            cell_under_voltage: mv(10),
            cell_under_voltage_recovery: mv(14),
            cell_over_voltage: mv(18),
            cell_over_voltage_recovery: mv(22),
            balance_trigger_delta: mv(26),
            soc_100_voltage: mv(30),
            soc_0_voltage: mv(34),
            request_charge_voltage: mv(38),
            request_float_voltage: mv(42),
            power_off_voltage: mv(46),
            charge_over_current: ma(50),
            charge_over_current_delay_s: i32le(b, 54),
            charge_over_current_recovery_s: i32le(b, 58),
            discharge_over_current: ma(62),
            discharge_over_current_delay_s: i32le(b, 66),
            discharge_over_current_recovery_s: i32le(b, 70),
            short_circuit_recovery_s: i32le(b, 74),
            max_balance_current: ma(78),
            charge_over_temperature: dc(82),
            charge_over_temperature_recovery: dc(86),
            discharge_over_temperature: dc(90),
            discharge_over_temperature_recovery: dc(94),
            charge_under_temperature: dc(98),
            charge_under_temperature_recovery: dc(102),
            mosfet_over_temperature: dc(106),
            mosfet_over_temperature_recovery: dc(110),
            cell_count: i32le(b, 114),
            charge_enabled: i32le(b, 118),
            discharge_enabled: i32le(b, 122),
            balance_enabled: i32le(b, 126),
            capacity: MilliampHours(i64::from(i32le(b, 130))),
            short_circuit_delay_us: i32le(b, 134),
            balance_start_voltage: mv(138),
            device_address: i32le(b, 270),
            precharge_time: i32le(b, 274),
            control_bits: u16le(b, 282),
            heating_start_celsius: i8::from_le_bytes([start]),
            heating_stop_celsius: i8::from_le_bytes([stop]),
            smart_sleep_time: sleep,
        }
    }

    /// Write these fields into `block` (checksum not updated).
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] for a capacity beyond the i32 field.
    pub fn write_to(&self, block: &mut Block) -> Result<(), EncodeError> {
        let b = &mut block.0;
        let mvs = [
            self.smart_sleep_voltage,
            self.cell_under_voltage,
            self.cell_under_voltage_recovery,
            self.cell_over_voltage,
            self.cell_over_voltage_recovery,
            self.balance_trigger_delta,
            self.soc_100_voltage,
            self.soc_0_voltage,
            self.request_charge_voltage,
            self.request_float_voltage,
            self.power_off_voltage,
        ];
        for (at, v) in SETTINGS_MV.iter().zip(mvs) {
            set(b, *at, &v.0.to_le_bytes());
        }
        let temps = [
            self.charge_over_temperature,
            self.charge_over_temperature_recovery,
            self.discharge_over_temperature,
            self.discharge_over_temperature_recovery,
            self.charge_under_temperature,
            self.charge_under_temperature_recovery,
            self.mosfet_over_temperature,
            self.mosfet_over_temperature_recovery,
        ];
        for (at, t) in SETTINGS_TEMP.iter().zip(temps) {
            set(b, *at, &i32::from(t.0).to_le_bytes());
        }
        let ints = [
            (50, self.charge_over_current.0),
            (54, self.charge_over_current_delay_s),
            (58, self.charge_over_current_recovery_s),
            (62, self.discharge_over_current.0),
            (66, self.discharge_over_current_delay_s),
            (70, self.discharge_over_current_recovery_s),
            (74, self.short_circuit_recovery_s),
            (78, self.max_balance_current.0),
            (114, self.cell_count),
            (118, self.charge_enabled),
            (122, self.discharge_enabled),
            (126, self.balance_enabled),
            (134, self.short_circuit_delay_us),
            (138, self.balance_start_voltage.0),
            (270, self.device_address),
            (274, self.precharge_time),
        ];
        for (at, v) in ints {
            set(b, at, &v.to_le_bytes());
        }
        set(b, 130, &to_i32(self.capacity.0, "capacity")?);
        set(b, 282, &self.control_bits.to_le_bytes());
        set(
            b,
            284,
            &[
                self.heating_start_celsius.to_le_bytes()[0],
                self.heating_stop_celsius.to_le_bytes()[0],
                self.smart_sleep_time,
            ],
        );
        Ok(())
    }

    /// A complete settings block (zeros elsewhere, checksum set).
    ///
    /// # Errors
    /// As [`Settings::write_to`].
    pub fn to_block(&self) -> Result<Block, EncodeError> {
        let mut block = Block::new(BlockKind::Settings);
        self.write_to(&mut block)?;
        block.fix_checksum();
        Ok(block)
    }
}

/// The device-information block (type 0x03, trigger 0x161C, register area 0x1400). Text
/// fields are NUL-padded ASCII, kept byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct About {
    /// Model / vendor ID. Wire: 16 bytes @ 6.
    pub vendor_id: crate::Text<16>,
    /// Hardware version. Wire: 8 bytes @ 22.
    pub hardware_version: crate::Text<8>,
    /// Software version. Wire: 8 bytes @ 30.
    pub software_version: crate::Text<8>,
    /// Runtime, s. Wire: u32 LE @ 38, 1 s.
    pub runtime_s: u32,
    /// Power-on count. Wire: u32 LE @ 42.
    pub power_on_count: u32,
    /// Serial number. Wire: 16 bytes @ 46.
    pub serial_number: crate::Text<16>,
    /// User data. Wire: 16 bytes @ 102.
    pub user_data: crate::Text<16>,
    /// Setup PIN. Wire: 16 bytes @ 118.
    pub pin: crate::Text<16>,
    /// User data 2. Wire: 16 bytes @ 134.
    pub user_data_2: crate::Text<16>,
}

impl About {
    fn read(b: &[u8; BLOCK_LEN]) -> Self {
        Self {
            vendor_id: crate::Text(get(b, 6)),
            hardware_version: crate::Text(get(b, 22)),
            software_version: crate::Text(get(b, 30)),
            runtime_s: u32le(b, 38),
            power_on_count: u32le(b, 42),
            serial_number: crate::Text(get(b, 46)),
            user_data: crate::Text(get(b, 102)),
            pin: crate::Text(get(b, 118)),
            user_data_2: crate::Text(get(b, 134)),
        }
    }

    /// Write these fields into `block` (checksum not updated).
    pub fn write_to(&self, block: &mut Block) {
        let b = &mut block.0;
        set(b, 6, &self.vendor_id.0);
        set(b, 22, &self.hardware_version.0);
        set(b, 30, &self.software_version.0);
        set(b, 38, &self.runtime_s.to_le_bytes());
        set(b, 42, &self.power_on_count.to_le_bytes());
        set(b, 46, &self.serial_number.0);
        set(b, 102, &self.user_data.0);
        set(b, 118, &self.pin.0);
        set(b, 134, &self.user_data_2.0);
    }

    /// A complete about block (zeros elsewhere, checksum set).
    pub fn to_block(&self) -> Block {
        let mut block = Block::new(BlockKind::About);
        self.write_to(&mut block);
        block.fix_checksum();
        block
    }
}

/// Most registers one FC 0x10 request carries (byte count is one byte).
pub const MAX_WRITE_REGISTERS: usize = 127;
/// Most data bytes of an FC 0x03 response.
pub const MAX_READ_BYTES: usize = 255;

/// One frame on the JK-PB bus, in either direction.
#[allow(
    clippy::large_enum_variant,
    reason = "no_std without alloc: no Box; one message per frame"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A `55 AA EB 90` data block (checksum verified).
    Block(Block),
    /// FC 0x10 write request; writing 0x0000 to a [`Trigger`] register asks for a block.
    WriteRequest {
        /// Slave address (DIP switches). Wire: u8 @ 0.
        address: u8,
        /// First register. Wire: u16 BE @ 2.
        register: u16,
        /// Register values. Wire: u16 BE each, after quantity and byte count.
        values: Vec<u16, MAX_WRITE_REGISTERS>,
    },
    /// FC 0x10 acknowledgement (8 bytes; follows a block).
    WriteAck {
        /// Slave address. Wire: u8 @ 0.
        address: u8,
        /// First register. Wire: u16 BE @ 2.
        register: u16,
        /// Registers written. Wire: u16 BE @ 4.
        quantity: u16,
    },
    /// FC 0x03 read request.
    ReadRequest {
        /// Slave address. Wire: u8 @ 0.
        address: u8,
        /// First register. Wire: u16 BE @ 2.
        register: u16,
        /// Registers to read. Wire: u16 BE @ 4.
        quantity: u16,
    },
    /// FC 0x03 read response.
    ReadResponse {
        /// Slave address. Wire: u8 @ 0.
        address: u8,
        /// The data bytes (big-endian registers, so an even count). Wire: byte count @ 2,
        /// data from 3.
        data: Vec<u8, MAX_READ_BYTES>,
    },
    /// Modbus exception response (function code with bit 7 set).
    Exception {
        /// Slave address. Wire: u8 @ 0.
        address: u8,
        /// Function code, with bit 7. Wire: u8 @ 1.
        function: u8,
        /// Exception code. Wire: u8 @ 2.
        code: u8,
    },
}

impl Message {
    /// The trigger request `addr 10 RR RR 00 01 02 00 00 CRC` that makes BMS `address`
    /// answer with a block.
    pub fn trigger(address: u8, trigger: Trigger) -> Self {
        let mut values = Vec::new();
        let _ = values.push(0);
        Self::WriteRequest {
            address,
            register: trigger.register(),
            values,
        }
    }

    /// The trigger this message is, if it is a trigger request.
    pub fn as_trigger(&self) -> Option<Trigger> {
        match self {
            Self::WriteRequest {
                register, values, ..
            } if values.as_slice() == [0] => Trigger::from_register(*register),
            _ => None,
        }
    }

    /// Decode exactly one frame.
    ///
    /// # Errors
    /// Any [`Error`] of [`check`], or [`Error::NotAFrame`] when `frame` holds more than one
    /// frame.
    pub fn parse(frame: &[u8]) -> Result<Self, Error> {
        let (len, kind) = classify(frame)?;
        if len != frame.len() {
            return Err(Error::NotAFrame);
        }
        let be = |at: usize| {
            frame
                .get(at..at + 2)
                .and_then(|s| s.try_into().ok())
                .map_or(0, u16::from_be_bytes)
        };
        let byte = |at: usize| frame.get(at).copied().unwrap_or(0);
        Ok(match kind {
            Kind::Block => Self::Block(Block::from_bytes(frame).ok_or(Error::NotAFrame)?),
            Kind::WriteRequest => Self::WriteRequest {
                address: byte(0),
                register: be(2),
                values: frame
                    .get(7..len - 2)
                    .unwrap_or_default()
                    .chunks_exact(2)
                    .filter_map(|c| c.try_into().ok().map(u16::from_be_bytes))
                    .collect(),
            },
            Kind::WriteAck => Self::WriteAck {
                address: byte(0),
                register: be(2),
                quantity: be(4),
            },
            Kind::ReadRequest => Self::ReadRequest {
                address: byte(0),
                register: be(2),
                quantity: be(4),
            },
            Kind::ReadResponse => Self::ReadResponse {
                address: byte(0),
                data: Vec::from_slice(frame.get(3..len - 2).unwrap_or_default())
                    .map_err(|()| Error::NotAFrame)?,
            },
            Kind::Exception => Self::Exception {
                address: byte(0),
                function: byte(1),
                code: byte(2),
            },
        })
    }
}

fn modbus_emit(out: &mut [u8], body: &[u8]) -> Result<usize, EncodeError> {
    let needed = body.len() + 2;
    let have = out.len();
    let out = out
        .get_mut(..needed)
        .ok_or(EncodeError::BufferTooSmall { needed, have })?;
    let (b, crc) = out.split_at_mut(body.len());
    b.copy_from_slice(body);
    crc.copy_from_slice(&crc16_modbus(body).to_le_bytes());
    Ok(needed)
}

impl Emit for Message {
    fn buffer_len(&self) -> usize {
        match self {
            Self::Block(_) => BLOCK_LEN,
            Self::WriteRequest { values, .. } => 9 + 2 * values.len(),
            Self::WriteAck { .. } | Self::ReadRequest { .. } => 8,
            Self::ReadResponse { data, .. } => 5 + data.len(),
            Self::Exception { .. } => 5,
        }
    }

    /// Write the frame: a block as stored (call [`Block::fix_checksum`] first when building
    /// one by hand), Modbus frames with their CRC.
    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let needed = self.buffer_len();
        let have = out.len();
        if have < needed {
            return Err(EncodeError::BufferTooSmall { needed, have });
        }
        let mut body = [0u8; 7 + 2 * MAX_WRITE_REGISTERS];
        let len = match self {
            Self::Block(b) => {
                out.get_mut(..BLOCK_LEN)
                    .ok_or(EncodeError::BufferTooSmall { needed, have })?
                    .copy_from_slice(&b.0);
                return Ok(BLOCK_LEN);
            }
            Self::WriteRequest {
                address,
                register,
                values,
            } => {
                let n = u8::try_from(values.len())
                    .map_err(|_| EncodeError::OutOfRange { field: "values" })?;
                let [r0, r1] = register.to_be_bytes();
                let head = [*address, FC_WRITE, r0, r1, 0, n, n.wrapping_mul(2)];
                set_slice(&mut body, 0, &head);
                for (i, v) in values.iter().enumerate() {
                    set_slice(&mut body, 7 + 2 * i, &v.to_be_bytes());
                }
                7 + 2 * values.len()
            }
            Self::WriteAck {
                address,
                register,
                quantity,
            } => {
                let [r0, r1] = register.to_be_bytes();
                let [q0, q1] = quantity.to_be_bytes();
                set_slice(&mut body, 0, &[*address, FC_WRITE, r0, r1, q0, q1]);
                6
            }
            Self::ReadRequest {
                address,
                register,
                quantity,
            } => {
                let [r0, r1] = register.to_be_bytes();
                let [q0, q1] = quantity.to_be_bytes();
                set_slice(&mut body, 0, &[*address, FC_READ, r0, r1, q0, q1]);
                6
            }
            Self::ReadResponse { address, data } => {
                let n = u8::try_from(data.len())
                    .ok()
                    .filter(|n| n % 2 == 0)
                    .ok_or(EncodeError::OutOfRange { field: "data" })?;
                set_slice(&mut body, 0, &[*address, FC_READ, n]);
                set_slice(&mut body, 3, data);
                3 + data.len()
            }
            Self::Exception {
                address,
                function,
                code,
            } => {
                if function & 0x80 == 0 {
                    return Err(EncodeError::OutOfRange { field: "function" });
                }
                set_slice(&mut body, 0, &[*address, *function, *code]);
                3
            }
        };
        let body = body
            .get(..len)
            .ok_or(EncodeError::OutOfRange { field: "values" })?;
        modbus_emit(out, body)
    }
}

fn set_slice(b: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(d) = b.get_mut(at..at + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Block,
    WriteRequest,
    WriteAck,
    ReadRequest,
    ReadResponse,
    Exception,
}

fn crc_ok(buf: &[u8], len: usize) -> Option<bool> {
    let frame = buf.get(..len)?;
    let (body, crc) = frame.split_at_checked(len.checked_sub(2)?)?;
    Some(crc == crc16_modbus(body).to_le_bytes())
}

fn truncated(needed: usize, buf: &[u8]) -> Error {
    Error::Truncated {
        needed,
        have: buf.len(),
    }
}

fn classify(buf: &[u8]) -> Result<(usize, Kind), Error> {
    // A block (or a prefix of one at the end of the buffer).
    let prefix = buf.len().min(BLOCK_START.len());
    if prefix > 0 && buf.get(..prefix) == BLOCK_START.get(..prefix) {
        let block = buf.get(..BLOCK_LEN).ok_or(truncated(BLOCK_LEN, buf))?;
        let (found, body) = block.split_last().ok_or(Error::NotAFrame)?;
        let computed = sum8(body);
        return if computed == *found {
            Ok((BLOCK_LEN, Kind::Block))
        } else {
            Err(Error::Checksum {
                computed,
                found: *found,
            })
        };
    }
    let Some(&function) = buf.get(1) else {
        return Err(truncated(2, buf));
    };
    // The Modbus readings of these bytes, shortest first: the first whose CRC verifies
    // wins, so a frame is found as soon as its last byte arrives.
    let candidates: [Option<(usize, Kind)>; 2] = match function {
        FC_WRITE => {
            // The 8-byte acknowledgement, or a request whose byte count is 2 × quantity.
            let quantity = buf
                .get(4..6)
                .and_then(|q| q.try_into().ok())
                .map(u16::from_be_bytes);
            let count = buf.get(6).copied();
            let request = match (quantity, count) {
                (Some(q), Some(c)) if c != 0 && u16::from(c) == q.wrapping_mul(2) => {
                    Some((9 + usize::from(c), Kind::WriteRequest))
                }
                (None, _) | (_, None) => Some((11, Kind::WriteRequest)),
                _ => None,
            };
            [Some((8, Kind::WriteAck)), request]
        }
        FC_READ => {
            // A response carries whole registers: an odd byte count is no response (this
            // also keeps the 8-byte request and a 3-byte response apart).
            let response = match buf.get(2) {
                None => Some((5, Kind::ReadResponse)),
                Some(&c) if c % 2 == 0 => Some((5 + usize::from(c), Kind::ReadResponse)),
                Some(_) => None,
            };
            match response {
                Some(r) if r.0 < 8 => [response, Some((8, Kind::ReadRequest))],
                _ => [Some((8, Kind::ReadRequest)), response],
            }
        }
        0x83 | 0x90 => [Some((5, Kind::Exception)), None],
        _ => return Err(Error::NotAFrame),
    };
    for (len, kind) in candidates.into_iter().flatten() {
        match crc_ok(buf, len) {
            None => return Err(truncated(len, buf)),
            Some(true) => return Ok((len, kind)),
            Some(false) => {}
        }
    }
    Err(Error::NotAFrame)
}

/// Check the candidate frame at the start of `buf`; returns its length.
///
/// # Errors
/// [`Error::Truncated`] when more bytes could complete it, [`Error::Checksum`] for a block
/// whose sum8 fails, [`Error::NotAFrame`] otherwise.
pub fn check(buf: &[u8]) -> Result<usize, Error> {
    classify(buf).map(|(len, _)| len)
}

/// Find the next frame in `buf` when no more bytes will follow (the end of a capture): a
/// candidate that would need more bytes is skipped instead of waited for. Returns
/// `(skip, len)`.
pub fn scan_final(buf: &[u8]) -> Option<(usize, usize)> {
    (0..buf.len()).find_map(|start| {
        let rest = buf.get(start..)?;
        classify(rest).ok().map(|(len, _)| (start, len))
    })
}

/// The JK-PB bus framing for [`voltwire_core::ScanDecoder`] (see [`PbDecoder`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct PbFraming;

impl Framing for PbFraming {
    const MAX_FRAME_LEN: usize = MAX_FRAME_LEN;

    fn scan(buf: &[u8]) -> Scan {
        let mut start = 0;
        while let Some(rest) = buf.get(start..) {
            if rest.is_empty() {
                break;
            }
            match classify(rest) {
                Ok((len, _)) => return Scan::Frame { skip: start, len },
                Err(Error::Truncated { .. }) => return Scan::Incomplete { skip: start },
                Err(_) => start += 1,
            }
        }
        Scan::Incomplete { skip: buf.len() }
    }
}

impl Protocol for PbFraming {
    type Message = Message;
    type Error = Error;

    fn parse(frame: &[u8]) -> Result<Message, Error> {
        Message::parse(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_names_with_bit_n() {
        assert!(Alarms(1 | 1 << 21 | 1 << 31).flags().eq([
            "wire_resistance",
            "battery_over_temperature",
            "bit_31"
        ]));
    }

    #[test]
    fn trigger_requests() {
        let mut out = [0; 16];
        let n = Message::trigger(1, Trigger::Status).emit(&mut out).unwrap();
        // addr, FC 0x10, register 0x1620, 1 register, 2 bytes, value 0, CRC low byte first.
        assert_eq!(
            &out[..n],
            &[
                0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x02, 0x00, 0x00, 0xD6, 0xF1
            ]
        );
        let m = Message::parse(&out[..n]).unwrap();
        assert_eq!(m.as_trigger(), Some(Trigger::Status));
        let n = Message::trigger(1, Trigger::About).emit(&mut out).unwrap();
        assert_eq!(&out[n - 2..n], &[0xD3, 0xCD]);
        let n = Message::trigger(1, Trigger::Settings)
            .emit(&mut out)
            .unwrap();
        assert_eq!(&out[n - 2..n], &[0xD2, 0x2F]);
    }

    #[test]
    fn acks_and_reads() {
        // The bus master's acknowledgement (address 0) and a slave's (address 2).
        let ack = [0x00, 0x10, 0x16, 0x20, 0x00, 0x01, 0x05, 0x9A];
        assert_eq!(
            Message::parse(&ack),
            Ok(Message::WriteAck {
                address: 0,
                register: 0x1620,
                quantity: 1
            })
        );
        let read = [0x01, 0x03, 0x12, 0xA0, 0x00, 0x02, 0xC1, 0x51];
        let m = Message::parse(&read).unwrap();
        assert_eq!(
            m,
            Message::ReadRequest {
                address: 1,
                register: 0x12A0,
                quantity: 2
            }
        );
        let mut out = [0; 8];
        assert_eq!(m.emit(&mut out), Ok(8));
        assert_eq!(out, read);
    }

    #[test]
    fn status_round_trip() {
        let mut s = Status {
            cell_mask: 0b11,
            pack_voltage: Millivolts(6_650),
            current: Milliamps(-12_345),
            mosfet_temperature: DeciCelsius(-55),
            soc_percent: 80,
            ..Status::default()
        };
        s.cell_voltages[0] = Millivolts(3_325);
        s.cell_voltages[1] = Millivolts(3_325);
        let block = s.to_block().unwrap();
        assert!(block.checksum_ok());
        assert_eq!(block.status(), Some(s.clone()));
        assert_eq!(s.cells().count(), 2);
        let mut out = [0; BLOCK_LEN];
        Message::Block(block.clone()).emit(&mut out).unwrap();
        assert_eq!(Message::parse(&out), Ok(Message::Block(block)));
    }

    #[test]
    fn scan_skips_padding() {
        let s = Status {
            soc_percent: 50,
            ..Status::default()
        };
        let block = s.to_block().unwrap();
        let mut stream = std::vec![0x00];
        stream.extend_from_slice(&block.0);
        // Padding, the ACK of the slave at address 2, a trailing byte.
        stream.extend_from_slice(&[0x00, 0x02, 0x10, 0x16, 0x20, 0x00, 0x01, 0x04, 0x78, 0x00]);
        assert_eq!(PbFraming::scan(&stream), Scan::Frame { skip: 1, len: 300 });
        let rest = &stream[301..];
        assert_eq!(PbFraming::scan(rest), Scan::Frame { skip: 1, len: 8 });
        assert_eq!(
            Message::parse(&rest[1..9]),
            Ok(Message::WriteAck {
                address: 2,
                register: 0x1620,
                quantity: 1
            })
        );
        assert_eq!(PbFraming::scan(&rest[9..]), Scan::Incomplete { skip: 0 });
    }
}
