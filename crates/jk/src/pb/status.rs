//! The live status block (type 0x02) and its alarm word.

use voltwire_core::table::indexed;
use voltwire_core::{DeciCelsius, EncodeError, MilliampHours, Milliamps, Millivolts};

use super::block::{get, i16le, i32le, sat_i32, set, to_i16, to_i32, to_u16, to_u32, u16le, u32le};
use super::{BLOCK_LEN, Block, BlockKind};

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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Alarms(pub u32);

voltwire_core::flag_word!(
    /// Names of the set bits (`bit_N` above bit 21).
    impl Alarms(u32) = &indexed(ALARM_NAMES), report_unnamed
);

/// The live status block (type 0x02, trigger 0x1620, register area 0x1200).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
    pub(super) fn read(b: &[u8; BLOCK_LEN]) -> Self {
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
