//! 0x47 system parameters, 0x51 manufacturer, 0x60–0x63 system group, 0x92 and 0x93.

use heapless::Vec;
use voltwire_asciihex::{Reader, Writer};
use voltwire_core::{DeciKelvin, EncodeError, Milliamps, Millivolts};

use super::{CURRENT_STEP_MA, MAX_MODULES, SYSTEM_CURRENT_STEP_MA};

/// A 0x47 reply: INFOFLAG and twelve limits (PYL33 §3.4).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SystemParameters {
    /// INFOFLAG. Wire: u8.
    pub info_flag: u8,
    /// Cell high voltage limit. Wire: u16 BE, 1 mV.
    pub cell_high_voltage: Millivolts,
    /// Cell low voltage (alarm). Wire: u16 BE, 1 mV.
    pub cell_low_voltage: Millivolts,
    /// Cell under voltage (protection). Wire: u16 BE, 1 mV.
    pub cell_under_voltage: Millivolts,
    /// Charge high temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
    pub charge_high_temperature: DeciKelvin,
    /// Charge low temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
    pub charge_low_temperature: DeciKelvin,
    /// Charge current limit. Wire: i16 BE, 100 mA.
    pub charge_current_limit: Milliamps,
    /// Module high voltage. Wire: u16 BE, 1 mV.
    pub module_high_voltage: Millivolts,
    /// Module low voltage. Wire: u16 BE, 1 mV.
    pub module_low_voltage: Millivolts,
    /// Module under voltage. Wire: u16 BE, 1 mV.
    pub module_under_voltage: Millivolts,
    /// Discharge high temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
    pub discharge_high_temperature: DeciKelvin,
    /// Discharge low temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
    pub discharge_low_temperature: DeciKelvin,
    /// Discharge current limit, negative as sent by real units. Wire: i16 BE, 100 mA.
    pub discharge_current_limit: Milliamps,
}

impl SystemParameters {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let p = Self {
            info_flag: r.u8().ok()?,
            cell_high_voltage: r.millivolts().ok()?,
            cell_low_voltage: r.millivolts().ok()?,
            cell_under_voltage: r.millivolts().ok()?,
            charge_high_temperature: r.deci_kelvin().ok()?,
            charge_low_temperature: r.deci_kelvin().ok()?,
            charge_current_limit: r.milliamps(CURRENT_STEP_MA).ok()?,
            module_high_voltage: r.millivolts().ok()?,
            module_low_voltage: r.millivolts().ok()?,
            module_under_voltage: r.millivolts().ok()?,
            discharge_high_temperature: r.deci_kelvin().ok()?,
            discharge_low_temperature: r.deci_kelvin().ok()?,
            discharge_current_limit: r.milliamps(CURRENT_STEP_MA).ok()?,
        };
        r.is_empty().then_some(p)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(self.info_flag)?
            .millivolts(self.cell_high_voltage, "cell_high_voltage")?
            .millivolts(self.cell_low_voltage, "cell_low_voltage")?
            .millivolts(self.cell_under_voltage, "cell_under_voltage")?
            .deci_kelvin(self.charge_high_temperature, "charge_high_temperature")?
            .deci_kelvin(self.charge_low_temperature, "charge_low_temperature")?
            .milliamps(
                self.charge_current_limit,
                CURRENT_STEP_MA,
                "charge_current_limit",
            )?
            .millivolts(self.module_high_voltage, "module_high_voltage")?
            .millivolts(self.module_low_voltage, "module_low_voltage")?
            .millivolts(self.module_under_voltage, "module_under_voltage")?
            .deci_kelvin(
                self.discharge_high_temperature,
                "discharge_high_temperature",
            )?
            .deci_kelvin(self.discharge_low_temperature, "discharge_low_temperature")?
            .milliamps(
                self.discharge_current_limit,
                CURRENT_STEP_MA,
                "discharge_current_limit",
            )?;
        Ok(())
    }
}

/// A 0x51 reply (PYL33 §3.2): ASCII fields, NUL or space padded, kept as sent.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ManufacturerInfo {
    /// Device name. Wire: 10 ASCII bytes.
    pub device_name: [u8; 10],
    /// Software version. Wire: 2 bytes.
    pub software_version: [u8; 2],
    /// Manufacturer name. Wire: 20 ASCII bytes.
    pub manufacturer: [u8; 20],
}

/// A fixed ASCII field without its NUL/space padding (`None` if not UTF-8).
pub(crate) fn text(b: &[u8]) -> Option<&str> {
    let end = b
        .iter()
        .rposition(|&c| c != 0 && c != b' ')
        .map_or(0, |i| i + 1);
    core::str::from_utf8(b.get(..end)?).ok()
}

/// A fixed field filled from `s`, NUL padded.
///
/// # Errors
/// [`EncodeError::OutOfRange`] when `s` is longer than the field.
pub(crate) fn padded<const N: usize>(s: &str, field: &'static str) -> Result<[u8; N], EncodeError> {
    let mut out = [0u8; N];
    out.get_mut(..s.len())
        .ok_or(EncodeError::OutOfRange { field })?
        .copy_from_slice(s.as_bytes());
    Ok(out)
}

impl ManufacturerInfo {
    /// Fields from text (NUL padded).
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] when a text is longer than its field.
    pub fn new(
        device_name: &str,
        software_version: [u8; 2],
        manufacturer: &str,
    ) -> Result<Self, EncodeError> {
        Ok(Self {
            device_name: padded(device_name, "device_name")?,
            software_version,
            manufacturer: padded(manufacturer, "manufacturer")?,
        })
    }

    /// The device name without padding.
    pub fn device_name(&self) -> Option<&str> {
        text(&self.device_name)
    }

    /// The manufacturer name without padding.
    pub fn manufacturer(&self) -> Option<&str> {
        text(&self.manufacturer)
    }

    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let m = Self {
            device_name: r.take().ok()?,
            software_version: r.take().ok()?,
            manufacturer: r.take().ok()?,
        };
        r.is_empty().then_some(m)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.bytes(&self.device_name)?
            .bytes(&self.software_version)?
            .bytes(&self.manufacturer)?;
        Ok(())
    }
}

/// A 0x60 reply (system basic information; CNFW capture, AIR). No DATAFLAG.
///
/// Ambiguity: the real capture carries only the master's serial although the module count
/// is 2, while ai-republic writes one serial per module. Both decode; `serials` holds what
/// was sent.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SystemInfo {
    /// Device name. Wire: 10 ASCII bytes, NUL padded.
    pub device_name: [u8; 10],
    /// Manufacturer. Wire: 20 ASCII bytes, NUL padded.
    pub manufacturer: [u8; 20],
    /// Software version. Wire: 2 bytes.
    pub software_version: [u8; 2],
    /// Number of modules. Wire: u8.
    pub module_count: u8,
    /// Serial numbers. Wire: 16 ASCII bytes each.
    pub serials: Vec<[u8; 16], MAX_MODULES>,
}

impl SystemInfo {
    /// The device name without padding.
    pub fn device_name(&self) -> Option<&str> {
        text(&self.device_name)
    }

    /// The manufacturer without padding.
    pub fn manufacturer(&self) -> Option<&str> {
        text(&self.manufacturer)
    }

    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let mut s = Self {
            device_name: r.take().ok()?,
            manufacturer: r.take().ok()?,
            software_version: r.take().ok()?,
            module_count: r.u8().ok()?,
            serials: Vec::new(),
        };
        while !r.is_empty() {
            s.serials.push(r.take().ok()?).ok()?;
        }
        Some(s)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.bytes(&self.device_name)?
            .bytes(&self.manufacturer)?
            .bytes(&self.software_version)?
            .u8(self.module_count)?;
        for s in &self.serials {
            w.bytes(s)?;
        }
        Ok(())
    }
}

/// A 0x61 reply (system analog data), 49 bytes, no DATAFLAG, no command byte.
///
/// IDs are kept as sent (u16): implementations use either a plain index or
/// module byte + cell byte (`0x0101`).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SystemAnalog {
    /// Average system voltage. Wire: u16 BE, 1 mV.
    pub voltage: Millivolts,
    /// Total current, positive = charging. Wire: i16 BE, **10 mA** (kitor, Battery-Emulator,
    /// CNFW parser, ai-republic agree).
    pub current: Milliamps,
    /// State of charge. Wire: u8, 1 %.
    pub soc_percent: u8,
    /// Average cycle count. Wire: u16 BE.
    pub average_cycles: u16,
    /// Maximum cycle count. Wire: u16 BE.
    pub max_cycles: u16,
    /// Average state of health. Wire: u8, 1 %.
    pub average_soh_percent: u8,
    /// Minimum state of health. Wire: u8, 1 %.
    pub min_soh_percent: u8,
    /// Highest cell voltage. Wire: u16 BE, 1 mV.
    pub max_cell_voltage: Millivolts,
    /// Where the highest cell is. Wire: u16 BE.
    pub max_cell_voltage_id: u16,
    /// Lowest cell voltage. Wire: u16 BE, 1 mV.
    pub min_cell_voltage: Millivolts,
    /// Where the lowest cell is. Wire: u16 BE.
    pub min_cell_voltage_id: u16,
    /// Average cell temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
    pub average_cell_temperature: DeciKelvin,
    /// Highest cell temperature. Wire: u16 BE, 0.1 K.
    pub max_cell_temperature: DeciKelvin,
    /// Where it is. Wire: u16 BE.
    pub max_cell_temperature_id: u16,
    /// Lowest cell temperature. Wire: u16 BE, 0.1 K.
    pub min_cell_temperature: DeciKelvin,
    /// Where it is. Wire: u16 BE.
    pub min_cell_temperature_id: u16,
    /// Average MOSFET temperature. Wire: u16 BE, 0.1 K.
    pub average_mosfet_temperature: DeciKelvin,
    /// Highest MOSFET temperature. Wire: u16 BE, 0.1 K.
    pub max_mosfet_temperature: DeciKelvin,
    /// Where it is. Wire: u16 BE.
    pub max_mosfet_temperature_id: u16,
    /// Lowest MOSFET temperature. Wire: u16 BE, 0.1 K.
    pub min_mosfet_temperature: DeciKelvin,
    /// Where it is. Wire: u16 BE.
    pub min_mosfet_temperature_id: u16,
    /// Average BMS temperature. Wire: u16 BE, 0.1 K.
    pub average_bms_temperature: DeciKelvin,
    /// Highest BMS temperature. Wire: u16 BE, 0.1 K.
    pub max_bms_temperature: DeciKelvin,
    /// Where it is. Wire: u16 BE.
    pub max_bms_temperature_id: u16,
    /// Lowest BMS temperature. Wire: u16 BE, 0.1 K.
    pub min_bms_temperature: DeciKelvin,
    /// Where it is. Wire: u16 BE.
    pub min_bms_temperature_id: u16,
}

impl SystemAnalog {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        let mut r = Reader::new(info);
        let s = Self {
            voltage: r.millivolts().ok()?,
            current: r.milliamps(SYSTEM_CURRENT_STEP_MA).ok()?,
            soc_percent: r.u8().ok()?,
            average_cycles: r.u16().ok()?,
            max_cycles: r.u16().ok()?,
            average_soh_percent: r.u8().ok()?,
            min_soh_percent: r.u8().ok()?,
            max_cell_voltage: r.millivolts().ok()?,
            max_cell_voltage_id: r.u16().ok()?,
            min_cell_voltage: r.millivolts().ok()?,
            min_cell_voltage_id: r.u16().ok()?,
            average_cell_temperature: r.deci_kelvin().ok()?,
            max_cell_temperature: r.deci_kelvin().ok()?,
            max_cell_temperature_id: r.u16().ok()?,
            min_cell_temperature: r.deci_kelvin().ok()?,
            min_cell_temperature_id: r.u16().ok()?,
            average_mosfet_temperature: r.deci_kelvin().ok()?,
            max_mosfet_temperature: r.deci_kelvin().ok()?,
            max_mosfet_temperature_id: r.u16().ok()?,
            min_mosfet_temperature: r.deci_kelvin().ok()?,
            min_mosfet_temperature_id: r.u16().ok()?,
            average_bms_temperature: r.deci_kelvin().ok()?,
            max_bms_temperature: r.deci_kelvin().ok()?,
            max_bms_temperature_id: r.u16().ok()?,
            min_bms_temperature: r.deci_kelvin().ok()?,
            min_bms_temperature_id: r.u16().ok()?,
        };
        r.is_empty().then_some(s)
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.millivolts(self.voltage, "voltage")?
            .milliamps(self.current, SYSTEM_CURRENT_STEP_MA, "current")?
            .u8(self.soc_percent)?
            .u16(self.average_cycles)?
            .u16(self.max_cycles)?
            .u8(self.average_soh_percent)?
            .u8(self.min_soh_percent)?
            .millivolts(self.max_cell_voltage, "max_cell_voltage")?
            .u16(self.max_cell_voltage_id)?
            .millivolts(self.min_cell_voltage, "min_cell_voltage")?
            .u16(self.min_cell_voltage_id)?;
        for (t, id) in [
            (Some(self.average_cell_temperature), None),
            (
                Some(self.max_cell_temperature),
                Some(self.max_cell_temperature_id),
            ),
            (
                Some(self.min_cell_temperature),
                Some(self.min_cell_temperature_id),
            ),
            (Some(self.average_mosfet_temperature), None),
            (
                Some(self.max_mosfet_temperature),
                Some(self.max_mosfet_temperature_id),
            ),
            (
                Some(self.min_mosfet_temperature),
                Some(self.min_mosfet_temperature_id),
            ),
            (Some(self.average_bms_temperature), None),
            (
                Some(self.max_bms_temperature),
                Some(self.max_bms_temperature_id),
            ),
            (
                Some(self.min_bms_temperature),
                Some(self.min_bms_temperature_id),
            ),
        ] {
            if let Some(t) = t {
                w.deci_kelvin(t, "temperature")?;
            }
            if let Some(id) = id {
                w.u16(id)?;
            }
        }
        Ok(())
    }
}

/// A 0x62 reply: four raw bytes (bit meanings per ai-republic are tentative).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SystemAlarm {
    /// Warning 1 (b7 pack V high, b6 pack V low, b5 cell V high, b4 cell V low, b3 cell T
    /// high, b2 cell T low, b0 cell V difference). Wire: u8.
    pub warning_1: u8,
    /// Warning 2 (b7 T difference, b6 charge I high, b5 discharge I high, b4 internal
    /// comm). Wire: u8.
    pub warning_2: u8,
    /// Protection 1 (as warning 1). Wire: u8.
    pub protection_1: u8,
    /// Protection 2 (b6 charge OC, b5 discharge OC, b3 other). Wire: u8.
    pub protection_2: u8,
}

impl SystemAlarm {
    pub(crate) fn read(info: &[u8]) -> Option<Self> {
        match info {
            [a, b, c, d] => Some(Self {
                warning_1: *a,
                warning_2: *b,
                protection_1: *c,
                protection_2: *d,
            }),
            _ => None,
        }
    }

    pub(crate) fn write(self, w: &mut Writer) -> Result<(), EncodeError> {
        w.bytes(&[
            self.warning_1,
            self.warning_2,
            self.protection_1,
            self.protection_2,
        ])?;
        Ok(())
    }
}

/// How a builder writes the discharge current limit of 0x63 (and 0x92).
///
/// Every real 0x92 capture and kitor's Vevor-tested 0x63 send it **negative**;
/// Battery-Emulator and ai-republic send it positive. [`DischargeSign::Negative`] is the
/// default. Parsing keeps whatever sign was sent.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DischargeSign {
    /// Send `-limit` (real Pylontech units, kitor).
    #[default]
    Negative,
    /// Send `+limit` (Battery-Emulator, ai-republic).
    Positive,
}

/// Charge/discharge management (0x92 after the command byte, and 0x63 whole).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChargeManagement {
    /// Charge voltage limit. Wire: u16 BE, 1 mV.
    pub charge_voltage_limit: Millivolts,
    /// Discharge voltage limit. Wire: u16 BE, 1 mV.
    pub discharge_voltage_limit: Millivolts,
    /// Maximum charge current. Wire: i16 BE, **100 mA**.
    pub charge_current_limit: Milliamps,
    /// Maximum discharge current **as sent** (negative on real units; see
    /// [`DischargeSign`]). Wire: i16 BE, **100 mA**.
    pub discharge_current_limit: Milliamps,
    /// Status (b7 charge enable, b6 discharge enable, b5 charge immediately 1, b4 charge
    /// immediately 2, b3 full-charge request). Wire: u8.
    pub status: u8,
}

impl ChargeManagement {
    /// Status bit: charging allowed.
    pub const CHARGE_ENABLE: u8 = 0x80;
    /// Status bit: discharging allowed.
    pub const DISCHARGE_ENABLE: u8 = 0x40;
    /// Status bit: charge immediately (1).
    pub const CHARGE_IMMEDIATELY_1: u8 = 0x20;
    /// Status bit: charge immediately (2).
    pub const CHARGE_IMMEDIATELY_2: u8 = 0x10;
    /// Status bit: full charge request.
    pub const FULL_CHARGE_REQUEST: u8 = 0x08;

    /// Limits with the discharge limit given as a magnitude and written with `sign`.
    pub fn new(
        charge_voltage_limit: Millivolts,
        discharge_voltage_limit: Millivolts,
        charge_current_limit: Milliamps,
        discharge_current_magnitude: Milliamps,
        sign: DischargeSign,
        status: u8,
    ) -> Self {
        let m = discharge_current_magnitude.0.saturating_abs();
        Self {
            charge_voltage_limit,
            discharge_voltage_limit,
            charge_current_limit,
            discharge_current_limit: Milliamps(match sign {
                DischargeSign::Negative => -m,
                DischargeSign::Positive => m,
            }),
            status,
        }
    }

    /// The discharge limit as a magnitude, whatever sign was sent.
    pub fn discharge_current_magnitude(&self) -> Milliamps {
        Milliamps(self.discharge_current_limit.0.saturating_abs())
    }

    /// The sign the discharge limit was sent with (zero counts as negative).
    pub fn discharge_sign(&self) -> DischargeSign {
        if self.discharge_current_limit.0 > 0 {
            DischargeSign::Positive
        } else {
            DischargeSign::Negative
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Option<Self> {
        Some(Self {
            charge_voltage_limit: r.millivolts().ok()?,
            discharge_voltage_limit: r.millivolts().ok()?,
            charge_current_limit: r.milliamps(CURRENT_STEP_MA).ok()?,
            discharge_current_limit: r.milliamps(CURRENT_STEP_MA).ok()?,
            status: r.u8().ok()?,
        })
    }

    pub(crate) fn write(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.millivolts(self.charge_voltage_limit, "charge_voltage_limit")?
            .millivolts(self.discharge_voltage_limit, "discharge_voltage_limit")?
            .milliamps(
                self.charge_current_limit,
                CURRENT_STEP_MA,
                "charge_current_limit",
            )?
            .milliamps(
                self.discharge_current_limit,
                CURRENT_STEP_MA,
                "discharge_current_limit",
            )?
            .u8(self.status)?;
        Ok(())
    }
}

/// A 0x93 reply: command value and a 16-byte ASCII serial.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SerialNumber {
    /// The module address. Wire: u8.
    pub command: u8,
    /// The serial number. Wire: 16 ASCII bytes.
    pub serial: [u8; 16],
}

impl SerialNumber {
    /// The serial without padding.
    pub fn text(&self) -> Option<&str> {
        text(&self.serial)
    }
}
