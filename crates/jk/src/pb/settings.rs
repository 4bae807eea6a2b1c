//! The settings block (type 0x01).

use voltwire_core::{DeciCelsius, EncodeError, MilliampHours, Milliamps, Millivolts};

use super::block::{get, i32le, sat_i16, set, to_i32, u16le};
use super::{BLOCK_LEN, Block, BlockKind};

/// The settings block (type 0x01, trigger 0x161E, register area 0x1000). All values are
/// 32-bit little-endian; the temperatures are signed (the capture holds −20.0 °C).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Settings {
    /// Smart-sleep voltage. Wire: i32 LE @ 6, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "smart_sleep_voltage_v"))]
    pub smart_sleep_voltage: Millivolts,
    /// Cell under-voltage protection. Wire: i32 LE @ 10, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "cell_under_voltage_v"))]
    pub cell_under_voltage: Millivolts,
    /// Cell under-voltage recovery. Wire: i32 LE @ 14, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "cell_under_voltage_recovery_v"))]
    pub cell_under_voltage_recovery: Millivolts,
    /// Cell over-voltage protection. Wire: i32 LE @ 18, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "cell_over_voltage_v"))]
    pub cell_over_voltage: Millivolts,
    /// Cell over-voltage recovery. Wire: i32 LE @ 22, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "cell_over_voltage_recovery_v"))]
    pub cell_over_voltage_recovery: Millivolts,
    /// Balance trigger difference. Wire: i32 LE @ 26, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "balance_trigger_delta_v"))]
    pub balance_trigger_delta: Millivolts,
    /// Cell voltage at 100 % SOC. Wire: i32 LE @ 30, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "soc_100_voltage_v"))]
    pub soc_100_voltage: Millivolts,
    /// Cell voltage at 0 % SOC. Wire: i32 LE @ 34, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "soc_0_voltage_v"))]
    pub soc_0_voltage: Millivolts,
    /// Requested charge voltage per cell. Wire: i32 LE @ 38, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "request_charge_voltage_v"))]
    pub request_charge_voltage: Millivolts,
    /// Requested float voltage per cell. Wire: i32 LE @ 42, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "request_float_voltage_v"))]
    pub request_float_voltage: Millivolts,
    /// System power-off voltage. Wire: i32 LE @ 46, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "power_off_voltage_v"))]
    pub power_off_voltage: Millivolts,
    /// Continuous charge current limit. Wire: i32 LE @ 50, 1 mA.
    #[cfg_attr(feature = "serde", serde(rename = "charge_over_current_a"))]
    pub charge_over_current: Milliamps,
    /// Charge over-current delay, s. Wire: i32 LE @ 54, 1 s.
    pub charge_over_current_delay_s: i32,
    /// Charge over-current recovery delay, s. Wire: i32 LE @ 58, 1 s.
    pub charge_over_current_recovery_s: i32,
    /// Continuous discharge current limit. Wire: i32 LE @ 62, 1 mA.
    #[cfg_attr(feature = "serde", serde(rename = "discharge_over_current_a"))]
    pub discharge_over_current: Milliamps,
    /// Discharge over-current delay, s. Wire: i32 LE @ 66, 1 s.
    pub discharge_over_current_delay_s: i32,
    /// Discharge over-current recovery delay, s. Wire: i32 LE @ 70, 1 s.
    pub discharge_over_current_recovery_s: i32,
    /// Short-circuit recovery delay, s. Wire: i32 LE @ 74, 1 s.
    pub short_circuit_recovery_s: i32,
    /// Maximum balance current. Wire: i32 LE @ 78, 1 mA.
    #[cfg_attr(feature = "serde", serde(rename = "max_balance_current_a"))]
    pub max_balance_current: Milliamps,
    /// Charge over-temperature. Wire: i32 LE @ 82, 0.1 °C.
    #[cfg_attr(feature = "serde", serde(rename = "charge_over_temperature_c"))]
    pub charge_over_temperature: DeciCelsius,
    /// Charge over-temperature recovery. Wire: i32 LE @ 86, 0.1 °C.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "charge_over_temperature_recovery_c")
    )]
    pub charge_over_temperature_recovery: DeciCelsius,
    /// Discharge over-temperature. Wire: i32 LE @ 90, 0.1 °C.
    #[cfg_attr(feature = "serde", serde(rename = "discharge_over_temperature_c"))]
    pub discharge_over_temperature: DeciCelsius,
    /// Discharge over-temperature recovery. Wire: i32 LE @ 94, 0.1 °C.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "discharge_over_temperature_recovery_c")
    )]
    pub discharge_over_temperature_recovery: DeciCelsius,
    /// Charge under-temperature. Wire: i32 LE @ 98, 0.1 °C.
    #[cfg_attr(feature = "serde", serde(rename = "charge_under_temperature_c"))]
    pub charge_under_temperature: DeciCelsius,
    /// Charge under-temperature recovery. Wire: i32 LE @ 102, 0.1 °C.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "charge_under_temperature_recovery_c")
    )]
    pub charge_under_temperature_recovery: DeciCelsius,
    /// MOSFET over-temperature. Wire: i32 LE @ 106, 0.1 °C.
    #[cfg_attr(feature = "serde", serde(rename = "mosfet_over_temperature_c"))]
    pub mosfet_over_temperature: DeciCelsius,
    /// MOSFET over-temperature recovery. Wire: i32 LE @ 110, 0.1 °C.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "mosfet_over_temperature_recovery_c")
    )]
    pub mosfet_over_temperature_recovery: DeciCelsius,
    /// Cell count. Wire: i32 LE @ 114 (register 0x106C).
    pub cell_count: i32,
    /// Charging enabled (non-zero). Wire: i32 LE @ 118.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "super::serde_impl::nonzero")
    )]
    pub charge_enabled: i32,
    /// Discharging enabled (non-zero). Wire: i32 LE @ 122.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "super::serde_impl::nonzero")
    )]
    pub discharge_enabled: i32,
    /// Balancer enabled (non-zero). Wire: i32 LE @ 126.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "super::serde_impl::nonzero")
    )]
    pub balance_enabled: i32,
    /// Nominal capacity. Wire: i32 LE @ 130, 1 mAh.
    #[cfg_attr(feature = "serde", serde(rename = "capacity_ah"))]
    pub capacity: MilliampHours,
    /// Short-circuit protection delay, µs. Wire: i32 LE @ 134, 1 µs.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "short_circuit_delay_s",
            serialize_with = "super::serde_impl::micros"
        )
    )]
    pub short_circuit_delay_us: i32,
    /// Balance start voltage. Wire: i32 LE @ 138, 1 mV.
    #[cfg_attr(feature = "serde", serde(rename = "balance_start_voltage_v"))]
    pub balance_start_voltage: Millivolts,
    /// Device address (DIP switches). Wire: i32 LE @ 270.
    pub device_address: i32,
    /// Precharge time. Wire: i32 LE @ 274.
    pub precharge_time: i32,
    /// Control bits: 0 heating, 1 temperature sensor disabled, 2 GPS heartbeat, 3 port
    /// RS485 (else CAN), 4 LCD always on, 5 special charger, 6 smart sleep. Wire: u16 LE @ 282.
    pub control_bits: u16,
    /// Heating start temperature, °C. Wire: i8 @ 284, 1 °C.
    #[cfg_attr(feature = "serde", serde(rename = "heating_start_c"))]
    pub heating_start_celsius: i8,
    /// Heating stop temperature, °C. Wire: i8 @ 285, 1 °C.
    #[cfg_attr(feature = "serde", serde(rename = "heating_stop_c"))]
    pub heating_stop_celsius: i8,
    /// Smart-sleep time. Wire: u8 @ 286.
    pub smart_sleep_time: u8,
}

const SETTINGS_MV: [usize; 11] = [6, 10, 14, 18, 22, 26, 30, 34, 38, 42, 46];
const SETTINGS_TEMP: [usize; 8] = [82, 86, 90, 94, 98, 102, 106, 110];

impl Settings {
    pub(super) fn read(b: &[u8; BLOCK_LEN]) -> Self {
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
