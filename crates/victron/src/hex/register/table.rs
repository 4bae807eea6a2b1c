//! The register table: every known id with its name, wire type, unit and NVM flag.

use super::units::{Unit, ValueType};

/// One entry of the register table.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
