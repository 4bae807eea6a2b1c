//! 0x47 system parameters, 0x51 manufacturer, 0x60–0x63 system group, 0x92 and 0x93: each
//! layout stated once ([`voltwire_asciihex::layout`]).

use heapless::Vec;
use voltwire_asciihex::info_layout;
use voltwire_asciihex::layout::{Bytes, FlagByte, Rest, Signed, U8, U16, Unsigned, text};
use voltwire_core::{DeciKelvin, Milliamps, Millivolts};

use super::status_flags::ManagementStatus;
use super::{CURRENT_STEP_MA, MAX_MODULES, SYSTEM_CURRENT_STEP_MA};

/// The 0x51 reply (the v20 layout Pace shares).
pub use voltwire_asciihex::ManufacturerInfo;

info_layout! {
    /// A 0x47 reply: INFOFLAG and twelve limits (PYL33 §3.4).
    #[derive(Copy)]
    pub struct SystemParameters {
        /// INFOFLAG. Wire: u8.
        pub info_flag: u8 = U8,
        /// Cell high voltage limit. Wire: u16 BE, 1 mV.
        pub cell_high_voltage: Millivolts = Unsigned::ONE,
        /// Cell low voltage (alarm). Wire: u16 BE, 1 mV.
        pub cell_low_voltage: Millivolts = Unsigned::ONE,
        /// Cell under voltage (protection). Wire: u16 BE, 1 mV.
        pub cell_under_voltage: Millivolts = Unsigned::ONE,
        /// Charge high temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
        pub charge_high_temperature: DeciKelvin = Unsigned::ONE,
        /// Charge low temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
        pub charge_low_temperature: DeciKelvin = Unsigned::ONE,
        /// Charge current limit. Wire: i16 BE, 100 mA.
        pub charge_current_limit: Milliamps = Signed::step(CURRENT_STEP_MA),
        /// Module high voltage. Wire: u16 BE, 1 mV.
        pub module_high_voltage: Millivolts = Unsigned::ONE,
        /// Module low voltage. Wire: u16 BE, 1 mV.
        pub module_low_voltage: Millivolts = Unsigned::ONE,
        /// Module under voltage. Wire: u16 BE, 1 mV.
        pub module_under_voltage: Millivolts = Unsigned::ONE,
        /// Discharge high temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
        pub discharge_high_temperature: DeciKelvin = Unsigned::ONE,
        /// Discharge low temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
        pub discharge_low_temperature: DeciKelvin = Unsigned::ONE,
        /// Discharge current limit, negative as sent by real units. Wire: i16 BE, 100 mA.
        pub discharge_current_limit: Milliamps = Signed::step(CURRENT_STEP_MA),
    }
}

info_layout! {
    /// A 0x60 reply (system basic information; CNFW capture, AIR). No DATAFLAG.
    ///
    /// Ambiguity: the real capture carries only the master's serial although the module
    /// count is 2, while ai-republic writes one serial per module. Both decode; `serials`
    /// holds what was sent.
    pub struct SystemInfo {
        /// Device name. Wire: 10 ASCII bytes, NUL padded.
        pub device_name: [u8; 10] = Bytes,
        /// Manufacturer. Wire: 20 ASCII bytes, NUL padded.
        pub manufacturer: [u8; 20] = Bytes,
        /// Software version. Wire: 2 bytes.
        pub software_version: [u8; 2] = Bytes,
        /// Number of modules. Wire: u8.
        pub module_count: u8 = U8,
        /// Serial numbers. Wire: 16 ASCII bytes each, to the end of INFO.
        pub serials: Vec<[u8; 16], MAX_MODULES> = Rest(Bytes),
    }
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
}

info_layout! {
    /// A 0x61 reply (system analog data), 49 bytes, no DATAFLAG, no command byte.
    ///
    /// IDs are kept as sent (u16): implementations use either a plain index or
    /// module byte + cell byte (`0x0101`).
    #[derive(Copy)]
    pub struct SystemAnalog {
        /// Average system voltage. Wire: u16 BE, 1 mV.
        pub voltage: Millivolts = Unsigned::ONE,
        /// Total current, positive = charging. Wire: i16 BE, **10 mA** (kitor,
        /// Battery-Emulator, CNFW parser, ai-republic agree).
        pub current: Milliamps = Signed::step(SYSTEM_CURRENT_STEP_MA),
        /// State of charge. Wire: u8, 1 %.
        pub soc_percent: u8 = U8,
        /// Average cycle count. Wire: u16 BE.
        pub average_cycles: u16 = U16,
        /// Maximum cycle count. Wire: u16 BE.
        pub max_cycles: u16 = U16,
        /// Average state of health. Wire: u8, 1 %.
        pub average_soh_percent: u8 = U8,
        /// Minimum state of health. Wire: u8, 1 %.
        pub min_soh_percent: u8 = U8,
        /// Highest cell voltage. Wire: u16 BE, 1 mV.
        pub max_cell_voltage: Millivolts = Unsigned::ONE,
        /// Where the highest cell is. Wire: u16 BE.
        pub max_cell_voltage_id: u16 = U16,
        /// Lowest cell voltage. Wire: u16 BE, 1 mV.
        pub min_cell_voltage: Millivolts = Unsigned::ONE,
        /// Where the lowest cell is. Wire: u16 BE.
        pub min_cell_voltage_id: u16 = U16,
        /// Average cell temperature. Wire: u16 BE, 0.1 K (0 °C = 2731).
        pub average_cell_temperature: DeciKelvin = Unsigned::ONE,
        /// Highest cell temperature. Wire: u16 BE, 0.1 K.
        pub max_cell_temperature: DeciKelvin = Unsigned::ONE,
        /// Where it is. Wire: u16 BE.
        pub max_cell_temperature_id: u16 = U16,
        /// Lowest cell temperature. Wire: u16 BE, 0.1 K.
        pub min_cell_temperature: DeciKelvin = Unsigned::ONE,
        /// Where it is. Wire: u16 BE.
        pub min_cell_temperature_id: u16 = U16,
        /// Average MOSFET temperature. Wire: u16 BE, 0.1 K.
        pub average_mosfet_temperature: DeciKelvin = Unsigned::ONE,
        /// Highest MOSFET temperature. Wire: u16 BE, 0.1 K.
        pub max_mosfet_temperature: DeciKelvin = Unsigned::ONE,
        /// Where it is. Wire: u16 BE.
        pub max_mosfet_temperature_id: u16 = U16,
        /// Lowest MOSFET temperature. Wire: u16 BE, 0.1 K.
        pub min_mosfet_temperature: DeciKelvin = Unsigned::ONE,
        /// Where it is. Wire: u16 BE.
        pub min_mosfet_temperature_id: u16 = U16,
        /// Average BMS temperature. Wire: u16 BE, 0.1 K.
        pub average_bms_temperature: DeciKelvin = Unsigned::ONE,
        /// Highest BMS temperature. Wire: u16 BE, 0.1 K.
        pub max_bms_temperature: DeciKelvin = Unsigned::ONE,
        /// Where it is. Wire: u16 BE.
        pub max_bms_temperature_id: u16 = U16,
        /// Lowest BMS temperature. Wire: u16 BE, 0.1 K.
        pub min_bms_temperature: DeciKelvin = Unsigned::ONE,
        /// Where it is. Wire: u16 BE.
        pub min_bms_temperature_id: u16 = U16,
    }
}

info_layout! {
    /// A 0x62 reply: four raw bytes (bit meanings per ai-republic are tentative).
    #[derive(Copy)]
    pub struct SystemAlarm {
        /// Warning 1 (b7 pack V high, b6 pack V low, b5 cell V high, b4 cell V low, b3 cell T
        /// high, b2 cell T low, b0 cell V difference). Wire: u8.
        pub warning_1: u8 = U8,
        /// Warning 2 (b7 T difference, b6 charge I high, b5 discharge I high, b4 internal
        /// comm). Wire: u8.
        pub warning_2: u8 = U8,
        /// Protection 1 (as warning 1). Wire: u8.
        pub protection_1: u8 = U8,
        /// Protection 2 (b6 charge OC, b5 discharge OC, b3 other). Wire: u8.
        pub protection_2: u8 = U8,
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

info_layout! {
    /// Charge/discharge management (0x92 after the command byte, and 0x63 whole).
    #[derive(Copy)]
    pub struct ChargeManagement {
        /// Charge voltage limit. Wire: u16 BE, 1 mV.
        pub charge_voltage_limit: Millivolts = Unsigned::ONE,
        /// Discharge voltage limit. Wire: u16 BE, 1 mV.
        pub discharge_voltage_limit: Millivolts = Unsigned::ONE,
        /// Maximum charge current. Wire: i16 BE, **100 mA**.
        pub charge_current_limit: Milliamps = Signed::step(CURRENT_STEP_MA),
        /// Maximum discharge current **as sent** (negative on real units; see
        /// [`DischargeSign`]). Wire: i16 BE, **100 mA**.
        pub discharge_current_limit: Milliamps = Signed::step(CURRENT_STEP_MA),
        /// Status: charge enable, discharge enable, charge immediately 1 and 2, full-charge
        /// request. Wire: u8.
        pub status: ManagementStatus = FlagByte,
    }
}

impl ChargeManagement {
    /// Limits with the discharge limit given as a magnitude and written with `sign`.
    pub fn new(
        charge_voltage_limit: Millivolts,
        discharge_voltage_limit: Millivolts,
        charge_current_limit: Milliamps,
        discharge_current_magnitude: Milliamps,
        sign: DischargeSign,
        status: ManagementStatus,
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
}

info_layout! {
    /// A 0x93 reply: command value and a 16-byte ASCII serial.
    #[derive(Copy)]
    pub struct SerialNumber {
        /// The module address. Wire: u8.
        pub command: u8 = U8,
        /// The serial number. Wire: 16 ASCII bytes.
        pub serial: [u8; 16] = Bytes,
    }
}

impl SerialNumber {
    /// The serial without padding.
    pub fn text(&self) -> Option<&str> {
        text(&self.serial)
    }
}
