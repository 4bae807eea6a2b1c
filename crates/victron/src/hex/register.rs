//! Registers: the table of known register ids with their wire type, unit and scale, and the
//! typed decoding and encoding of their values.
//!
//! Values are little-endian; the width comes from the register's [`ValueType`], never from
//! the frame. Numbers keep their raw wire integer ([`Reading::raw`]) together with the
//! [`Unit`] that gives its resolution, so nothing is rounded: exact accessors into
//! `voltwire_core` units exist where the core unit holds every wire value exactly
//! (0.01 V → [`Millivolts`], 0.1 A → [`Milliamps`], 0.01 kWh → [`WattHours`], …), and
//! [`Reading::si_value`] gives an `f64` for the application edge.
//!
//! "Not available" sentinels (un8 0xFF, un16 0xFFFF, un24 0xFFFFFF, un32 0xFFFFFFFF,
//! sn8 0x7F, sn16 0x7FFF, sn32 0x7FFFFFFF) decode to [`RegisterValue::NotAvailable`], except
//! for bit-field registers ([`Unit::Bits`]) where all ones is a valid value.

use voltwire_core::{
    EncodeError, MilliampHours, Milliamps, Millivolts, Scale, VoltAmperes, WattHours, Watts,
};

use super::HexError;
use super::history::{DayRecord, TotalRecord};
use super::message::{MAX_VALUE_LEN, ValueBytes};

/// The wire type of a register value (the names of the Victron register documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueType {
    /// Unsigned 8-bit.
    Un8,
    /// Unsigned 16-bit, little-endian.
    Un16,
    /// Unsigned 24-bit, little-endian.
    Un24,
    /// Unsigned 32-bit, little-endian.
    Un32,
    /// Signed 8-bit.
    Sn8,
    /// Signed 16-bit, little-endian.
    Sn16,
    /// Signed 32-bit, little-endian.
    Sn32,
    /// Text (ASCII, possibly NUL-padded); any length up to [`MAX_VALUE_LEN`].
    String,
    /// Opaque or structured bytes (history records, product id); any length up to
    /// [`MAX_VALUE_LEN`].
    Bytes,
}

impl ValueType {
    /// Number of value bytes for fixed-width types, `None` for text and bytes.
    pub const fn width(self) -> Option<usize> {
        match self {
            Self::Un8 | Self::Sn8 => Some(1),
            Self::Un16 | Self::Sn16 => Some(2),
            Self::Un24 => Some(3),
            Self::Un32 | Self::Sn32 => Some(4),
            Self::String | Self::Bytes => None,
        }
    }

    /// Whether this is a signed number type.
    pub const fn is_signed(self) -> bool {
        matches!(self, Self::Sn8 | Self::Sn16 | Self::Sn32)
    }

    /// The raw value that means "not available" for this type, `None` for text and bytes.
    pub const fn sentinel(self) -> Option<i64> {
        match self {
            Self::Un8 => Some(0xFF),
            Self::Un16 => Some(0xFFFF),
            Self::Un24 => Some(0xFF_FFFF),
            Self::Un32 => Some(0xFFFF_FFFF),
            Self::Sn8 => Some(0x7F),
            Self::Sn16 => Some(0x7FFF),
            Self::Sn32 => Some(0x7FFF_FFFF),
            Self::String | Self::Bytes => None,
        }
    }

    /// Smallest and largest raw value, `None` for text and bytes.
    pub const fn range(self) -> Option<(i64, i64)> {
        match self {
            Self::Un8 => Some((0, 0xFF)),
            Self::Un16 => Some((0, 0xFFFF)),
            Self::Un24 => Some((0, 0xFF_FFFF)),
            Self::Un32 => Some((0, 0xFFFF_FFFF)),
            Self::Sn8 => Some((-0x80, 0x7F)),
            Self::Sn16 => Some((-0x8000, 0x7FFF)),
            Self::Sn32 => Some((-0x8000_0000, 0x7FFF_FFFF)),
            Self::String | Self::Bytes => None,
        }
    }

    /// The documentation's name: `"un8"`, `"sn16"`, `"string"`, …
    pub const fn name(self) -> &'static str {
        match self {
            Self::Un8 => "un8",
            Self::Un16 => "un16",
            Self::Un24 => "un24",
            Self::Un32 => "un32",
            Self::Sn8 => "sn8",
            Self::Sn16 => "sn16",
            Self::Sn32 => "sn32",
            Self::String => "string",
            Self::Bytes => "bytes",
        }
    }

    /// Decode a raw integer from exactly `width()` little-endian bytes.
    fn read(self, bytes: &[u8]) -> Option<i64> {
        Some(match (self, bytes) {
            (Self::Un8, &[a]) => i64::from(a),
            (Self::Un16, &[a, b]) => i64::from(u16::from_le_bytes([a, b])),
            (Self::Un24, &[a, b, c]) => i64::from(u32::from_le_bytes([a, b, c, 0])),
            (Self::Un32, &[a, b, c, d]) => i64::from(u32::from_le_bytes([a, b, c, d])),
            (Self::Sn8, &[a]) => i64::from(i8::from_le_bytes([a])),
            (Self::Sn16, &[a, b]) => i64::from(i16::from_le_bytes([a, b])),
            (Self::Sn32, &[a, b, c, d]) => i64::from(i32::from_le_bytes([a, b, c, d])),
            _ => return None,
        })
    }

    /// Encode a raw integer; `None` when it is outside [`ValueType::range`].
    fn write(self, raw: i64) -> Option<ValueBytes> {
        let (lo, hi) = self.range()?;
        if raw < lo || raw > hi {
            return None;
        }
        let width = self.width()?;
        // Two's complement little-endian: the low `width` bytes of the i64.
        let le = raw.to_le_bytes();
        ValueBytes::from_slice(le.get(..width)?).ok()
    }
}

/// Unit and resolution of a numeric register: `SI value = raw × num / den` with
/// `(num, den) = unit.si_factor()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unit {
    /// Dimensionless: a count, an enumeration code or a version number.
    None,
    /// A bit field: every raw value, all ones included, is valid.
    Bits,
    /// 0.01 V.
    CentiVolt,
    /// 0.1 A.
    DeciAmp,
    /// 0.001 A.
    MilliAmp,
    /// 1 W.
    Watt,
    /// 0.01 W.
    CentiWatt,
    /// 0.01 kWh.
    CentiKiloWattHour,
    /// 1 VA.
    VoltAmpere,
    /// 1 Ah.
    AmpHour,
    /// 0.01 °C.
    CentiCelsius,
    /// 0.01 K.
    CentiKelvin,
    /// 0.01 %.
    CentiPercent,
    /// 1 s.
    Second,
    /// 1 min.
    Minute,
    /// 0.001 s.
    MilliSecond,
}

impl Unit {
    /// The SI (or customary) unit symbol of [`Reading::si_value`]: `"V"`, `"A"`, `"W"`,
    /// `"Wh"`, `"VA"`, `"Ah"`, `"°C"`, `"K"`, `"%"`, `"s"`, or `""` for dimensionless values.
    pub const fn si_unit(self) -> &'static str {
        match self {
            Self::None | Self::Bits => "",
            Self::CentiVolt => "V",
            Self::DeciAmp | Self::MilliAmp => "A",
            Self::Watt | Self::CentiWatt => "W",
            Self::CentiKiloWattHour => "Wh",
            Self::VoltAmpere => "VA",
            Self::AmpHour => "Ah",
            Self::CentiCelsius => "°C",
            Self::CentiKelvin => "K",
            Self::CentiPercent => "%",
            Self::Second | Self::Minute | Self::MilliSecond => "s",
        }
    }

    /// `(num, den)` such that the value in [`Unit::si_unit`] is `raw × num / den` (exact as a
    /// rational number).
    pub const fn si_factor(self) -> (i64, i64) {
        match self {
            Self::None
            | Self::Bits
            | Self::Watt
            | Self::VoltAmpere
            | Self::AmpHour
            | Self::Second => (1, 1),
            Self::CentiVolt
            | Self::CentiWatt
            | Self::CentiCelsius
            | Self::CentiKelvin
            | Self::CentiPercent => (1, 100),
            Self::DeciAmp => (1, 10),
            Self::MilliAmp | Self::MilliSecond => (1, 1000),
            Self::CentiKiloWattHour => (10, 1),
            Self::Minute => (60, 1),
        }
    }

    /// The `voltwire_core` scale into this unit's canonical core type, where that type holds
    /// every wire value exactly: [`Millivolts`] for 0.01 V, [`Milliamps`] for 0.1 A and
    /// 0.001 A, [`Watts`] for 1 W, [`WattHours`] for 0.01 kWh, [`VoltAmperes`] for 1 VA,
    /// [`MilliampHours`] for 1 Ah. `None` for every other unit (0.01 W, 0.01 °C, 0.01 K,
    /// 0.01 %, …), whose raw value must be kept as is.
    pub const fn core_scale(self) -> Option<Scale> {
        match self {
            Self::CentiVolt | Self::CentiKiloWattHour => Some(Scale::new(10, 0)),
            Self::DeciAmp => Some(Scale::new(100, 0)),
            Self::MilliAmp | Self::Watt | Self::VoltAmpere => Some(Scale::IDENTITY),
            Self::AmpHour => Some(Scale::new(1000, 0)),
            _ => None,
        }
    }
}

/// One entry of the register table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegisterInfo {
    /// Register id.
    pub id: u16,
    /// `snake_case` name, stable for logs and JSON keys.
    pub name: &'static str,
    /// Wire type of the value.
    pub value_type: ValueType,
    /// Unit and resolution of numeric values.
    pub unit: Unit,
    /// Writes go to non-volatile memory: do not Set this register periodically.
    pub nvm: bool,
}

/// Lowest id of the MPPT settings block that lives in non-volatile memory.
const NVM_BLOCK: core::ops::RangeInclusive<u16> = 0xEDE0..=0xEDFF;

macro_rules! registers {
    ($( $(#[$doc:meta])* $konst:ident = $id:literal, $name:literal, $vt:ident, $unit:ident, $nvm:literal; )*) => {
        /// Register ids of [`REGISTERS`], as constants.
        pub mod id {
            $( $(#[$doc])* pub const $konst: u16 = $id; )*
        }

        /// Every known register, sorted by id (checked at compile time); see [`lookup`].
        ///
        /// Sources: the Victron register list `ve_regs.h` (velib), OpenDTU-OnBattery and
        /// esphome-victron-vedirect; extra registers beyond `docs/protocols/vedirect-and-can.md`
        /// §2.3 were added only where two of them agree.
        pub const REGISTERS: &[RegisterInfo] = &[
            $( RegisterInfo { id: $id, name: $name, value_type: ValueType::$vt, unit: Unit::$unit, nvm: $nvm }, )*
        ];
    };
}

registers! {
    /// Bluetooth mode (0 = off, 1 = on).
    BLE_MODE = 0x0090, "ble_mode", Un8, None, false;
    /// Product id. velib: un8 + un16; VE.Direct MPPTs send a un16 big-endian. Kept as bytes.
    PRODUCT_ID = 0x0100, "product_id", Bytes, None, false;
    /// Application firmware version, 0xHHMMLL (see the velib note: HH = 0 → vMM.LL).
    APP_VERSION = 0x0102, "app_version", Un24, None, false;
    /// Serial number (text).
    SERIAL_NUMBER = 0x010A, "serial_number", String, None, false;
    /// Model name (text).
    MODEL_NAME = 0x010B, "model_name", String, None, false;
    /// Uptime, 1 s.
    UPTIME = 0x0120, "uptime", Un32, Second, false;
    /// Capabilities bit field (bit 0 load output, 1 rotary encoder, 2 history, …).
    CAPABILITIES = 0x0140, "capabilities", Un32, Bits, false;
    /// Bluetooth capabilities bit field.
    CAPABILITIES_BLE = 0x0150, "capabilities_ble", Un32, Bits, false;
    /// Device mode (1 = charger on, 4 = off, …; as text `MODE`).
    DEVICE_MODE = 0x0200, "device_mode", Un8, None, false;
    /// Device state (as text `CS`).
    DEVICE_STATE = 0x0201, "device_state", Un8, None, false;
    /// Remote control used, bit field.
    REMOTE_CONTROL_USED = 0x0202, "remote_control_used", Un32, Bits, false;
    /// Device off reason, bit field (first byte of `OR`).
    DEVICE_OFF_REASON = 0x0205, "device_off_reason", Un8, Bits, false;
    /// Device off reason 2, bit field (as text `OR`).
    DEVICE_OFF_REASON_2 = 0x0207, "device_off_reason_2", Un32, Bits, false;
    /// Inverter state of a combined inverter/charger (as `CS`).
    INVERTER_STATE = 0x0209, "inverter_state", Un8, None, false;
    /// Charger state of a combined inverter/charger (as `CS`).
    CHARGER_STATE = 0x020A, "charger_state", Un8, None, false;
    /// AC output voltage set-point, 0.01 V.
    AC_OUT_VOLTAGE_SETPOINT = 0x0230, "ac_out_voltage_setpoint", Un16, CentiVolt, false;
    /// Number of DC inputs (MPPT trackers).
    NUMBER_OF_DC_INPUTS = 0x0244, "number_of_dc_inputs", Un8, None, false;
    /// Warning reason, bit field (as text `AR`).
    WARNING_REASON = 0x031C, "warning_reason", Un16, Bits, false;
    /// Alarm reason, bit field (as text `AR`).
    ALARM_REASON = 0x031E, "alarm_reason", Un16, Bits, false;
    /// Relay control.
    RELAY_CONTROL = 0x034E, "relay_control", Un8, None, false;
    /// Time to go, 1 min.
    TTG = 0x0FFE, "ttg", Un16, Minute, false;
    /// State of charge, 0.01 %.
    SOC = 0x0FFF, "soc", Un16, CentiPercent, false;
    /// Battery capacity, 1 Ah.
    BATTERY_CAPACITY = 0x1000, "battery_capacity", Un16, AmpHour, false;
    /// History totals (34-byte [`TotalRecord`](crate::hex::TotalRecord)).
    HISTORY_TOTAL = 0x104F, "history_total", Bytes, None, false;
    /// History of today (34-byte [`DayRecord`](crate::hex::DayRecord)).
    HISTORY_DAY_0 = 0x1050, "history_day_0", Bytes, None, false;
    /// History of 1 day ago.
    HISTORY_DAY_1 = 0x1051, "history_day_1", Bytes, None, false;
    /// History of 2 days ago.
    HISTORY_DAY_2 = 0x1052, "history_day_2", Bytes, None, false;
    /// History of 3 days ago.
    HISTORY_DAY_3 = 0x1053, "history_day_3", Bytes, None, false;
    /// History of 4 days ago.
    HISTORY_DAY_4 = 0x1054, "history_day_4", Bytes, None, false;
    /// History of 5 days ago.
    HISTORY_DAY_5 = 0x1055, "history_day_5", Bytes, None, false;
    /// History of 6 days ago.
    HISTORY_DAY_6 = 0x1056, "history_day_6", Bytes, None, false;
    /// History of 7 days ago.
    HISTORY_DAY_7 = 0x1057, "history_day_7", Bytes, None, false;
    /// History of 8 days ago.
    HISTORY_DAY_8 = 0x1058, "history_day_8", Bytes, None, false;
    /// History of 9 days ago.
    HISTORY_DAY_9 = 0x1059, "history_day_9", Bytes, None, false;
    /// History of 10 days ago.
    HISTORY_DAY_10 = 0x105A, "history_day_10", Bytes, None, false;
    /// History of 11 days ago.
    HISTORY_DAY_11 = 0x105B, "history_day_11", Bytes, None, false;
    /// History of 12 days ago.
    HISTORY_DAY_12 = 0x105C, "history_day_12", Bytes, None, false;
    /// History of 13 days ago.
    HISTORY_DAY_13 = 0x105D, "history_day_13", Bytes, None, false;
    /// History of 14 days ago.
    HISTORY_DAY_14 = 0x105E, "history_day_14", Bytes, None, false;
    /// History of 15 days ago.
    HISTORY_DAY_15 = 0x105F, "history_day_15", Bytes, None, false;
    /// History of 16 days ago.
    HISTORY_DAY_16 = 0x1060, "history_day_16", Bytes, None, false;
    /// History of 17 days ago.
    HISTORY_DAY_17 = 0x1061, "history_day_17", Bytes, None, false;
    /// History of 18 days ago.
    HISTORY_DAY_18 = 0x1062, "history_day_18", Bytes, None, false;
    /// History of 19 days ago.
    HISTORY_DAY_19 = 0x1063, "history_day_19", Bytes, None, false;
    /// History of 20 days ago.
    HISTORY_DAY_20 = 0x1064, "history_day_20", Bytes, None, false;
    /// History of 21 days ago.
    HISTORY_DAY_21 = 0x1065, "history_day_21", Bytes, None, false;
    /// History of 22 days ago.
    HISTORY_DAY_22 = 0x1066, "history_day_22", Bytes, None, false;
    /// History of 23 days ago.
    HISTORY_DAY_23 = 0x1067, "history_day_23", Bytes, None, false;
    /// History of 24 days ago.
    HISTORY_DAY_24 = 0x1068, "history_day_24", Bytes, None, false;
    /// History of 25 days ago.
    HISTORY_DAY_25 = 0x1069, "history_day_25", Bytes, None, false;
    /// History of 26 days ago.
    HISTORY_DAY_26 = 0x106A, "history_day_26", Bytes, None, false;
    /// History of 27 days ago.
    HISTORY_DAY_27 = 0x106B, "history_day_27", Bytes, None, false;
    /// History of 28 days ago.
    HISTORY_DAY_28 = 0x106C, "history_day_28", Bytes, None, false;
    /// History of 29 days ago.
    HISTORY_DAY_29 = 0x106D, "history_day_29", Bytes, None, false;
    /// History of 30 days ago.
    HISTORY_DAY_30 = 0x106E, "history_day_30", Bytes, None, false;
    /// VE.Smart networking: battery voltage sense, 0.01 V.
    LINK_VSENSE = 0x2002, "link_vsense", Un16, CentiVolt, false;
    /// VE.Smart networking: charge-state elapsed time, 0.001 s.
    LINK_ELAPSED_TIME = 0x2007, "link_elapsed_time", Un32, MilliSecond, false;
    /// VE.Smart networking: network info, bit field.
    LINK_NETWORK_INFO = 0x200D, "link_network_info", Un8, Bits, false;
    /// VE.Smart networking: network mode, bit field.
    LINK_NETWORK_MODE = 0x200E, "link_network_mode", Un8, Bits, false;
    /// VE.Smart networking: network status, bit field.
    LINK_NETWORK_STATUS = 0x200F, "link_network_status", Un8, Bits, false;
    /// VE.Smart networking: total charge current, 0.001 A.
    LINK_TOTAL_CHARGE_CURRENT = 0x2013, "link_total_charge_current", Sn32, MilliAmp, false;
    /// VE.Smart networking: charge current limit, 0.1 A.
    LINK_CHARGE_CURRENT_LIMIT = 0x2015, "link_charge_current_limit", Un16, DeciAmp, false;
    /// VE.Smart networking: total DC input power, 0.01 W (n/a when not networked).
    LINK_TOTAL_DC_INPUT_POWER = 0x2027, "link_total_dc_input_power", Un32, CentiWatt, false;
    /// AC output voltage, 0.01 V.
    AC_OUT_VOLTAGE = 0x2200, "ac_out_voltage", Sn16, CentiVolt, false;
    /// AC output current, 0.1 A.
    AC_OUT_CURRENT = 0x2201, "ac_out_current", Sn16, DeciAmp, false;
    /// AC output apparent power, 1 VA.
    AC_OUT_APPARENT_POWER = 0x2205, "ac_out_apparent_power", Sn32, VoltAmpere, false;
    /// MPPT RS tracker 1 panel voltage, 0.01 V.
    PANEL_VOLTAGE_1 = 0xECCB, "panel_voltage_1", Un16, CentiVolt, false;
    /// MPPT RS tracker 2 panel voltage, 0.01 V.
    PANEL_VOLTAGE_2 = 0xECDB, "panel_voltage_2", Un16, CentiVolt, false;
    /// MPPT RS tracker 3 panel voltage, 0.01 V.
    PANEL_VOLTAGE_3 = 0xECEB, "panel_voltage_3", Un16, CentiVolt, false;
    /// MPPT RS tracker 4 panel voltage, 0.01 V.
    PANEL_VOLTAGE_4 = 0xECFB, "panel_voltage_4", Un16, CentiVolt, false;
    /// DC channel 1 current, 0.001 A.
    DC_CHANNEL1_CURRENT_MA = 0xED8C, "dc_channel1_current_ma", Sn32, MilliAmp, false;
    /// DC channel 1 (battery) voltage, 0.01 V.
    DC_CHANNEL1_VOLTAGE = 0xED8D, "dc_channel1_voltage", Sn16, CentiVolt, false;
    /// DC channel 1 power, 1 W.
    DC_CHANNEL1_POWER = 0xED8E, "dc_channel1_power", Sn16, Watt, false;
    /// DC channel 1 (battery) current, 0.1 A.
    DC_CHANNEL1_CURRENT = 0xED8F, "dc_channel1_current", Sn16, DeciAmp, false;
    /// Load output state (0 off, 1 on, 2 scheduled, 3 activating).
    LOAD_OUTPUT_STATE = 0xEDA8, "load_output_state", Un8, None, false;
    /// Load output voltage, 0.01 V.
    LOAD_OUTPUT_VOLTAGE = 0xEDA9, "load_output_voltage", Un16, CentiVolt, false;
    /// Load output current, 0.1 A.
    LOAD_CURRENT = 0xEDAD, "load_current", Un16, DeciAmp, false;
    /// MPP tracker mode (0 off, 1 V/I limited, 2 tracking).
    MPP_MODE = 0xEDB3, "mpp_mode", Un8, None, false;
    /// Panel voltage, 0.01 V.
    PANEL_VOLTAGE = 0xEDBB, "panel_voltage", Un16, CentiVolt, false;
    /// Panel power, 0.01 W.
    PANEL_POWER = 0xEDBC, "panel_power", Un32, CentiWatt, false;
    /// Panel current, 0.1 A (not on 10/15/20 A models).
    PANEL_CURRENT = 0xEDBD, "panel_current", Un16, DeciAmp, false;
    /// Maximum power yesterday, 1 W.
    MAX_POWER_YESTERDAY = 0xEDD0, "max_power_yesterday", Un16, Watt, false;
    /// Yield yesterday, 0.01 kWh.
    YIELD_YESTERDAY = 0xEDD1, "yield_yesterday", Un16, CentiKiloWattHour, false;
    /// Maximum power today, 1 W.
    MAX_POWER_TODAY = 0xEDD2, "max_power_today", Un16, Watt, false;
    /// Yield today, 0.01 kWh.
    YIELD_TODAY = 0xEDD3, "yield_today", Un16, CentiKiloWattHour, false;
    /// Charger (battery) voltage, 0.01 V.
    CHARGER_VOLTAGE = 0xEDD5, "charger_voltage", Un16, CentiVolt, false;
    /// Charger (battery) current, 0.1 A (sn16 per velib; un16 in one implementation).
    CHARGER_CURRENT = 0xEDD7, "charger_current", Sn16, DeciAmp, false;
    /// Charger error code (as text `ERR`).
    CHARGER_ERROR_CODE = 0xEDDA, "charger_error_code", Un8, None, false;
    /// Charger internal temperature, 0.01 °C.
    CHARGER_INTERNAL_TEMPERATURE = 0xEDDB, "charger_internal_temperature", Sn16, CentiCelsius, false;
    /// User (resettable) yield, 0.01 kWh.
    USER_YIELD = 0xEDDC, "user_yield", Un32, CentiKiloWattHour, false;
    /// System (lifetime) yield, 0.01 kWh.
    SYSTEM_YIELD = 0xEDDD, "system_yield", Un32, CentiKiloWattHour, false;
    /// Battery temperature, 0.01 K (0xFFFF = n/a).
    BATTERY_TEMPERATURE = 0xEDEC, "battery_temperature", Un16, CentiKelvin, false;
    /// Battery maximum charge current, 0.1 A (writes go to non-volatile memory).
    BATTERY_MAX_CURRENT = 0xEDF0, "battery_max_current", Un16, DeciAmp, true;
    /// Battery float voltage, 0.01 V (writes go to non-volatile memory).
    BATTERY_FLOAT_VOLTAGE = 0xEDF6, "battery_float_voltage", Un16, CentiVolt, true;
    /// Battery absorption voltage, 0.01 V (writes go to non-volatile memory).
    BATTERY_ABSORPTION_VOLTAGE = 0xEDF7, "battery_absorption_voltage", Un16, CentiVolt, true;
    /// BMV DC monitor mode (as text `MON`).
    DC_MONITOR_MODE = 0xEEB8, "dc_monitor_mode", Sn16, None, false;
}

const fn strictly_sorted(mut rest: &[RegisterInfo]) -> bool {
    while let [a, b, ..] = rest {
        if a.id >= b.id {
            return false;
        }
        rest = match rest {
            [_, tail @ ..] => tail,
            [] => rest,
        };
    }
    true
}

const _: () = assert!(strictly_sorted(REGISTERS), "REGISTERS must be sorted by id");

/// The table entry for register `id` (binary search in [`REGISTERS`]).
pub fn lookup(id: u16) -> Option<&'static RegisterInfo> {
    REGISTERS
        .binary_search_by_key(&id, |r| r.id)
        .ok()
        .and_then(|i| REGISTERS.get(i))
}

/// The table entry named `name` (linear search).
pub fn lookup_name(name: &str) -> Option<&'static RegisterInfo> {
    REGISTERS.iter().find(|r| r.name == name)
}

/// Whether register `id` is a history day record (0x1050–0x106E).
pub const fn is_history_day(id: u16) -> bool {
    id >= id::HISTORY_DAY_0 && id <= id::HISTORY_DAY_30
}

/// Whether writing register `id` may wear non-volatile memory: the table's `nvm` flag, or
/// (conservatively) any id in the MPPT settings block 0xEDE0–0xEDFF.
pub fn may_write_nvm(id: u16) -> bool {
    NVM_BLOCK.contains(&id) || lookup(id).is_some_and(|r| r.nvm)
}

/// A numeric register value: the raw wire integer and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reading {
    /// The wire integer (sign-extended for signed types).
    pub raw: i64,
    /// Unit and resolution of `raw`.
    pub unit: Unit,
}

impl Reading {
    /// The value in [`Reading::si_unit`] as a float, for the application edge only (JSON,
    /// MQTT). Computed as `raw × num / den` with one rounding.
    #[expect(
        clippy::cast_precision_loss,
        reason = "app-edge float; raw fits 32 bits, exact in f64"
    )]
    pub fn si_value(&self) -> f64 {
        let (num, den) = self.unit.si_factor();
        let scaled = self.raw.saturating_mul(num);
        scaled as f64 / den as f64
    }

    /// The unit symbol of [`Reading::si_value`].
    pub const fn si_unit(&self) -> &'static str {
        self.unit.si_unit()
    }

    fn exact<T>(&self, accepts: bool, f: fn(i64, Scale) -> Option<T>) -> Option<T> {
        if accepts {
            self.unit.core_scale().and_then(|s| f(self.raw, s))
        } else {
            None
        }
    }

    /// The value as [`Millivolts`] when the unit is 0.01 V.
    pub fn millivolts(&self) -> Option<Millivolts> {
        self.exact(self.unit == Unit::CentiVolt, Millivolts::from_wire)
    }

    /// The value as [`Milliamps`] when the unit is 0.1 A or 0.001 A.
    pub fn milliamps(&self) -> Option<Milliamps> {
        self.exact(
            matches!(self.unit, Unit::DeciAmp | Unit::MilliAmp),
            Milliamps::from_wire,
        )
    }

    /// The value as [`Watts`] when the unit is 1 W (0.01 W readings are not converted: that
    /// would round).
    pub fn watts(&self) -> Option<Watts> {
        self.exact(self.unit == Unit::Watt, Watts::from_wire)
    }

    /// The value as [`WattHours`] when the unit is 0.01 kWh.
    pub fn watt_hours(&self) -> Option<WattHours> {
        self.exact(self.unit == Unit::CentiKiloWattHour, WattHours::from_wire)
    }

    /// The value as [`VoltAmperes`] when the unit is 1 VA.
    pub fn volt_amperes(&self) -> Option<VoltAmperes> {
        self.exact(self.unit == Unit::VoltAmpere, VoltAmperes::from_wire)
    }

    /// The value as [`MilliampHours`] when the unit is 1 Ah.
    pub fn milliamp_hours(&self) -> Option<MilliampHours> {
        self.exact(self.unit == Unit::AmpHour, MilliampHours::from_wire)
    }

    /// The value in whole seconds when the unit is 1 s or 1 min.
    pub fn seconds(&self) -> Option<i64> {
        match self.unit {
            Unit::Second => Some(self.raw),
            Unit::Minute => self.raw.checked_mul(60),
            _ => None,
        }
    }

    fn from_core(
        unit: Unit,
        accepts: bool,
        value: i64,
        field: &'static str,
    ) -> Result<Self, EncodeError> {
        let scale = match unit.core_scale() {
            Some(s) if accepts => s,
            _ => return Err(EncodeError::OutOfRange { field: "unit" }),
        };
        Ok(Self {
            raw: scale.to_raw(value, field)?,
            unit,
        })
    }

    /// A 0.01 V reading of `v`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 0.01 V;
    /// [`EncodeError::Precision`] when `v` is not a multiple of 10 mV.
    pub fn from_millivolts(unit: Unit, v: Millivolts) -> Result<Self, EncodeError> {
        Self::from_core(unit, unit == Unit::CentiVolt, i64::from(v.0), "voltage")
    }

    /// A 0.1 A or 0.001 A reading of `a`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not a current unit;
    /// [`EncodeError::Precision`] when `a` is not a multiple of the resolution.
    pub fn from_milliamps(unit: Unit, a: Milliamps) -> Result<Self, EncodeError> {
        let ok = matches!(unit, Unit::DeciAmp | Unit::MilliAmp);
        Self::from_core(unit, ok, i64::from(a.0), "current")
    }

    /// A 1 W reading of `w`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 1 W.
    pub fn from_watts(unit: Unit, w: Watts) -> Result<Self, EncodeError> {
        Self::from_core(unit, unit == Unit::Watt, i64::from(w.0), "power")
    }

    /// A 0.01 kWh reading of `e`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 0.01 kWh;
    /// [`EncodeError::Precision`] when `e` is not a multiple of 10 Wh.
    pub fn from_watt_hours(unit: Unit, e: WattHours) -> Result<Self, EncodeError> {
        Self::from_core(unit, unit == Unit::CentiKiloWattHour, e.0, "energy")
    }

    /// A 1 VA reading of `s`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 1 VA.
    pub fn from_volt_amperes(unit: Unit, s: VoltAmperes) -> Result<Self, EncodeError> {
        Self::from_core(
            unit,
            unit == Unit::VoltAmpere,
            i64::from(s.0),
            "apparent_power",
        )
    }

    /// A 1 Ah reading of `c`.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"unit"`) when `unit` is not 1 Ah;
    /// [`EncodeError::Precision`] when `c` is not a multiple of 1000 mAh.
    pub fn from_milliamp_hours(unit: Unit, c: MilliampHours) -> Result<Self, EncodeError> {
        Self::from_core(unit, unit == Unit::AmpHour, c.0, "capacity")
    }
}

/// A decoded register value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegisterValue {
    /// A number with its unit.
    Number(Reading),
    /// The type's "not available" sentinel.
    NotAvailable,
    /// Text, kept byte for byte (see [`RegisterValue::text`]).
    Text(ValueBytes),
    /// Bytes of an opaque register, or of a register not in [`REGISTERS`].
    Bytes(ValueBytes),
    /// A history day record (0x1050–0x106E).
    Day(DayRecord),
    /// The history totals record (0x104F).
    Total(TotalRecord),
}

impl RegisterValue {
    /// Decode the value bytes of register `info`.
    ///
    /// # Errors
    /// [`HexError::ValueLength`] when the byte count does not fit the register's type (or
    /// exceeds [`MAX_VALUE_LEN`]); [`HexError::FieldOutOfRange`] from [`DayRecord::parse`].
    pub fn decode(info: &RegisterInfo, bytes: &[u8]) -> Result<Self, HexError> {
        let length_error = |expected: usize| HexError::ValueLength {
            register: info.id,
            expected,
            actual: bytes.len(),
        };
        let with_register = |e: HexError| match e {
            HexError::ValueLength {
                expected, actual, ..
            } => HexError::ValueLength {
                register: info.id,
                expected,
                actual,
            },
            other => other,
        };
        if info.id == id::HISTORY_TOTAL {
            return TotalRecord::parse(bytes)
                .map(Self::Total)
                .map_err(with_register);
        }
        if is_history_day(info.id) {
            return DayRecord::parse(bytes)
                .map(Self::Day)
                .map_err(with_register);
        }
        let Some(width) = info.value_type.width() else {
            let v = ValueBytes::from_slice(bytes).map_err(|()| length_error(MAX_VALUE_LEN))?;
            return Ok(if info.value_type == ValueType::String {
                Self::Text(v)
            } else {
                Self::Bytes(v)
            });
        };
        let raw = info
            .value_type
            .read(bytes)
            .ok_or_else(|| length_error(width))?;
        if info.unit != Unit::Bits && info.value_type.sentinel() == Some(raw) {
            Ok(Self::NotAvailable)
        } else {
            Ok(Self::Number(Reading {
                raw,
                unit: info.unit,
            }))
        }
    }

    /// Decode the value bytes of register `id`; a register missing from [`REGISTERS`]
    /// decodes to [`RegisterValue::Bytes`].
    ///
    /// # Errors
    /// As [`RegisterValue::decode`].
    pub fn decode_register(id: u16, bytes: &[u8]) -> Result<Self, HexError> {
        match lookup(id) {
            Some(info) => Self::decode(info, bytes),
            None => ValueBytes::from_slice(bytes)
                .map(Self::Bytes)
                .map_err(|()| HexError::ValueLength {
                    register: id,
                    expected: MAX_VALUE_LEN,
                    actual: bytes.len(),
                }),
        }
    }

    /// Encode for register `info` (e.g. for a Set request). [`RegisterValue::Bytes`] is
    /// written verbatim for any register (an escape hatch); every other variant must match
    /// the register's type.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] with the register's name when a number does not fit the
    /// type or equals its n/a sentinel, when `NotAvailable` is given for a register without
    /// sentinel, or when the variant does not fit the register; field `"unit"` when a
    /// reading's unit differs from the register's; errors of the history records' `to_bytes`.
    pub fn encode(&self, info: &RegisterInfo) -> Result<ValueBytes, EncodeError> {
        let out_of_range = EncodeError::OutOfRange { field: info.name };
        let sentinel = if info.unit == Unit::Bits {
            None
        } else {
            info.value_type.sentinel()
        };
        match self {
            Self::Number(r) => {
                if r.unit != info.unit {
                    return Err(EncodeError::OutOfRange { field: "unit" });
                }
                if sentinel == Some(r.raw) {
                    return Err(out_of_range);
                }
                info.value_type.write(r.raw).ok_or(out_of_range)
            }
            Self::NotAvailable => sentinel
                .and_then(|s| info.value_type.write(s))
                .ok_or(out_of_range),
            Self::Text(t) if info.value_type == ValueType::String => Ok(t.clone()),
            Self::Bytes(b) => Ok(b.clone()),
            Self::Day(d) if is_history_day(info.id) => {
                ValueBytes::from_slice(&d.to_bytes()?).map_err(|()| out_of_range)
            }
            Self::Total(t) if info.id == id::HISTORY_TOTAL => {
                ValueBytes::from_slice(&t.to_bytes()?).map_err(|()| out_of_range)
            }
            Self::Text(_) | Self::Day(_) | Self::Total(_) => Err(out_of_range),
        }
    }

    /// The reading, for numeric values.
    pub fn reading(&self) -> Option<&Reading> {
        match self {
            Self::Number(r) => Some(r),
            _ => None,
        }
    }

    /// Text up to the first NUL, when it is valid UTF-8 (text registers only).
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => {
                let end = t.iter().position(|&b| b == 0).unwrap_or(t.len());
                core::str::from_utf8(t.get(..end).unwrap_or_default()).ok()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn info(id: u16) -> &'static RegisterInfo {
        lookup(id).unwrap()
    }

    #[test]
    fn table_is_sorted_unique_and_complete() {
        assert!(REGISTERS.windows(2).all(|w| w[0].id < w[1].id));
        for (i, a) in REGISTERS.iter().enumerate() {
            assert!(
                REGISTERS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
            assert!(
                a.name
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
            );
            assert_eq!(lookup(a.id), Some(a));
            assert_eq!(lookup_name(a.name), Some(a));
        }
        // Every register of the notes' §2.3 table is present.
        for id in [
            0x0100, 0x0102, 0x010A, 0x010B, 0x0120, 0x0140, 0x0200, 0x0201, 0x0202, 0x0205, 0x0207,
            0x031C, 0x031E, 0x034E, 0x0FFE, 0x0FFF, 0x1000, 0x104F, 0x2002, 0x2007, 0x200D, 0x200E,
            0x200F, 0x2013, 0x2015, 0x2027, 0x2200, 0x2201, 0x2205, 0xED8C, 0xED8D, 0xED8E, 0xED8F,
            0xEDA8, 0xEDA9, 0xEDAD, 0xEDB3, 0xEDBB, 0xEDBC, 0xEDBD, 0xEDD0, 0xEDD1, 0xEDD2, 0xEDD3,
            0xEDD5, 0xEDD7, 0xEDDA, 0xEDDB, 0xEDDC, 0xEDDD, 0xEDEC, 0xEDF0, 0xEDF6, 0xEDF7, 0xEEB8,
            0xECCB, 0xECDB, 0xECEB, 0xECFB,
        ] {
            assert!(lookup(id).is_some(), "0x{id:04X}");
        }
        for d in 0x1050..=0x106E {
            assert!(is_history_day(d));
            assert_eq!(lookup(d).unwrap().value_type, ValueType::Bytes);
        }
        assert!(!is_history_day(0x104F));
        assert!(lookup(0x1234).is_none());
        assert!(lookup_name("nope").is_none());
    }

    #[test]
    fn nvm_flags() {
        assert!(may_write_nvm(id::BATTERY_MAX_CURRENT));
        assert!(may_write_nvm(id::BATTERY_FLOAT_VOLTAGE));
        assert!(may_write_nvm(id::BATTERY_ABSORPTION_VOLTAGE));
        assert!(may_write_nvm(0xEDE0));
        assert!(!may_write_nvm(id::DEVICE_MODE));
        assert!(info(0xEDF0).nvm && !info(0xEDBB).nvm);
    }

    #[test]
    fn faq_battery_capacity() {
        // :7001000C80076 → 200 Ah; :70010007800C6 → 120 Ah.
        let v = RegisterValue::decode(info(0x1000), &[0xC8, 0x00]).unwrap();
        let r = v.reading().unwrap();
        assert_eq!(r.raw, 200);
        assert_eq!(r.milliamp_hours(), Some(MilliampHours(200_000)));
        assert_eq!(r.si_unit(), "Ah");
        let v = RegisterValue::decode(info(0x1000), &[0x78, 0x00]).unwrap();
        assert_eq!(
            v.reading().unwrap().milliamp_hours(),
            Some(MilliampHours(120_000))
        );
    }

    #[test]
    fn real_async_values() {
        // (register, value bytes, raw, si value, si unit) from KinDR007 / vedirect-rs captures.
        let cases: &[(u16, &[u8], i64, f64, &str)] = &[
            (0x0120, &[0x24, 0x70, 0x03, 0x00], 225_316, 225_316.0, "s"),
            (0xEDDB, &[0xBF, 0x0A], 2751, 27.51, "°C"),
            (0xEDBC, &[0x45, 0xA1, 0x00, 0x00], 41_285, 412.85, "W"),
            (0xEDBB, &[0x8D, 0x28], 10_381, 103.81, "V"),
            (0xEDD5, &[0x97, 0x14], 5271, 52.71, "V"),
            (0xED8F, &[0x0D, 0x00], 13, 1.3, "A"),
            (0xED8D, &[0x9B, 0x13], 5019, 50.19, "V"),
            (0xEDEC, &[0xCE, 0x72], 29_390, 293.9, "K"),
            (0x0201, &[0x05], 5, 5.0, ""),
        ];
        for &(id, bytes, raw, si, unit) in cases {
            let v = RegisterValue::decode(info(id), bytes).unwrap();
            let r = v.reading().unwrap();
            assert_eq!(r.raw, raw, "0x{id:04X}");
            assert!(
                (r.si_value() - si).abs() < 1e-9,
                "0x{id:04X}: {}",
                r.si_value()
            );
            assert_eq!(r.si_unit(), unit);
            assert_eq!(v.encode(info(id)).unwrap().as_slice(), bytes);
        }
        let r = *RegisterValue::decode(info(0xEDD5), &[0x97, 0x14])
            .unwrap()
            .reading()
            .unwrap();
        assert_eq!(r.millivolts(), Some(Millivolts(52_710)));
        assert_eq!(r.milliamps(), None);
        let r = *RegisterValue::decode(info(0xED8F), &[0x0D, 0x00])
            .unwrap()
            .reading()
            .unwrap();
        assert_eq!(r.milliamps(), Some(Milliamps(1_300)));
        // 0.01 W is finer than Watts: no lossy accessor.
        let r = *RegisterValue::decode(info(0xEDBC), &[0x45, 0xA1, 0, 0])
            .unwrap()
            .reading()
            .unwrap();
        assert_eq!(r.watts(), None);
        assert_eq!(r.unit.core_scale(), None);
    }

    #[test]
    fn signed_and_sentinels() {
        let v = RegisterValue::decode(info(0xED8F), &[0xF6, 0xFF]).unwrap();
        assert_eq!(v.reading().unwrap().milliamps(), Some(Milliamps(-1_000)));
        for (id, bytes) in [
            (0x0200, &[0xFFu8][..]),
            (0xEDEC, &[0xFF, 0xFF]),
            (0x0102, &[0xFF, 0xFF, 0xFF]),
            (0x2027, &[0xFF, 0xFF, 0xFF, 0xFF]),
            (0xED8F, &[0xFF, 0x7F]),
            (0x2013, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let v = RegisterValue::decode(info(id), bytes).unwrap();
            assert_eq!(v, RegisterValue::NotAvailable, "0x{id:04X}");
            assert_eq!(v.encode(info(id)).unwrap().as_slice(), bytes);
        }
        // Bit fields have no sentinel.
        let v = RegisterValue::decode(info(0x0207), &[0xFF; 4]).unwrap();
        assert_eq!(v.reading().unwrap().raw, 0xFFFF_FFFF);
        assert_eq!(
            RegisterValue::NotAvailable.encode(info(0x0207)),
            Err(EncodeError::OutOfRange {
                field: "device_off_reason_2"
            })
        );
        // Sn8 sentinel per the notes.
        assert_eq!(ValueType::Sn8.sentinel(), Some(0x7F));
        assert_eq!(ValueType::Sn8.read(&[0x80]), Some(-128));
    }

    #[test]
    fn text_and_bytes() {
        let v = RegisterValue::decode(info(0x010A), b"HQ2247EP3FN\0\0").unwrap();
        assert_eq!(v.text(), Some("HQ2247EP3FN"));
        assert_eq!(
            v.encode(info(0x010A)).unwrap().as_slice(),
            b"HQ2247EP3FN\0\0"
        );
        let v = RegisterValue::decode(info(0x0100), &[0xFF, 0xA0, 0x53]).unwrap();
        assert_eq!(
            v,
            RegisterValue::Bytes(ValueBytes::from_slice(&[0xFF, 0xA0, 0x53]).unwrap())
        );
        assert_eq!(v.text(), None);
        let v = RegisterValue::decode_register(0x1234, &[1, 2]).unwrap();
        assert!(matches!(v, RegisterValue::Bytes(_)));
        assert_eq!(
            RegisterValue::decode_register(0x1234, &[0; 35]),
            Err(HexError::ValueLength {
                register: 0x1234,
                expected: 34,
                actual: 35
            })
        );
    }

    #[test]
    fn length_errors() {
        assert_eq!(
            RegisterValue::decode(info(0xEDBB), &[1]),
            Err(HexError::ValueLength {
                register: 0xEDBB,
                expected: 2,
                actual: 1
            })
        );
        assert_eq!(
            RegisterValue::decode(info(0x1055), &[0; 3]),
            Err(HexError::ValueLength {
                register: 0x1055,
                expected: 34,
                actual: 3
            })
        );
    }

    #[test]
    fn history_through_registers() {
        let day = [
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xED, 0x04, 0xC6, 0x04, 0x00,
            0x00, 0x00, 0x00, 0x00, 0xC2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0B, 0x00, 0x00, 0x00,
            0x09, 0x00, 0xC8, 0x0D, 0x12, 0x01,
        ];
        let v = RegisterValue::decode(info(0x1050), &day).unwrap();
        let RegisterValue::Day(d) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(d.day_sequence, 274);
        assert_eq!(d.max_power, Some(Watts(11)));
        assert_eq!(v.encode(info(0x1050)).unwrap().as_slice(), day.as_slice());
        assert!(v.encode(info(0x104F)).is_err());
        let t = RegisterValue::decode(info(0x104F), &day).unwrap();
        assert!(matches!(t, RegisterValue::Total(_)));
        assert_eq!(t.encode(info(0x104F)).unwrap().as_slice(), day.as_slice());
    }

    #[test]
    fn encode_for_set() {
        // Set float voltage 13.50 V.
        let r = Reading::from_millivolts(Unit::CentiVolt, Millivolts(13_500)).unwrap();
        let v = RegisterValue::Number(r);
        assert_eq!(v.encode(info(0xEDF6)).unwrap().as_slice(), &[0x46, 0x05]);
        assert_eq!(
            Reading::from_millivolts(Unit::CentiVolt, Millivolts(13_505)),
            Err(EncodeError::Precision { field: "voltage" })
        );
        assert_eq!(
            Reading::from_millivolts(Unit::DeciAmp, Millivolts(13_500)),
            Err(EncodeError::OutOfRange { field: "unit" })
        );
        // Wrong unit for the register.
        assert_eq!(
            v.encode(info(0xEDF0)),
            Err(EncodeError::OutOfRange { field: "unit" })
        );
        // Out of the un16 range.
        let big = RegisterValue::Number(Reading {
            raw: 70_000,
            unit: Unit::CentiVolt,
        });
        assert_eq!(
            big.encode(info(0xEDF6)),
            Err(EncodeError::OutOfRange {
                field: "battery_float_voltage"
            })
        );
        // The sentinel value itself is refused as a number.
        let s = RegisterValue::Number(Reading {
            raw: 0xFFFF,
            unit: Unit::CentiVolt,
        });
        assert!(s.encode(info(0xEDF6)).is_err());
        // Other constructors.
        assert_eq!(
            Reading::from_milliamps(Unit::DeciAmp, Milliamps(15_000))
                .unwrap()
                .raw,
            150
        );
        assert_eq!(Reading::from_watts(Unit::Watt, Watts(5)).unwrap().raw, 5);
        assert_eq!(
            Reading::from_watt_hours(Unit::CentiKiloWattHour, WattHours(1_230))
                .unwrap()
                .raw,
            123
        );
        assert_eq!(
            Reading::from_volt_amperes(Unit::VoltAmpere, VoltAmperes(7))
                .unwrap()
                .raw,
            7
        );
        assert_eq!(
            Reading::from_milliamp_hours(Unit::AmpHour, MilliampHours(200_000))
                .unwrap()
                .raw,
            200
        );
        assert_eq!(
            Reading {
                raw: 3,
                unit: Unit::Minute
            }
            .seconds(),
            Some(180)
        );
    }

    proptest! {
        #[test]
        fn numeric_round_trip(i in 0..REGISTERS.len(), raw in any::<u32>()) {
            let info = &REGISTERS[i];
            if let Some(width) = info.value_type.width() {
                let bytes = &raw.to_le_bytes()[..width];
                let v = RegisterValue::decode(info, bytes).unwrap();
                prop_assert_eq!(v.encode(info).unwrap().to_vec(), bytes.to_vec());
            }
        }

        #[test]
        fn decode_never_panics(i in 0..REGISTERS.len(), bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(v) = RegisterValue::decode(&REGISTERS[i], &bytes) {
                prop_assert_eq!(v.encode(&REGISTERS[i]).unwrap().to_vec(), bytes);
            }
        }
    }
}
