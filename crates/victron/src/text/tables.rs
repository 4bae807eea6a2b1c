//! Enumerations and bit fields of the TEXT protocol (and the matching HEX registers).
//!
//! Each type keeps the raw wire value, so unknown codes survive a round trip; `name()` gives
//! the documented meaning where there is one. Sources: section 1.9 of
//! `docs/protocols/victron.md` (Victron's register list as carried by velib, cross-checked
//! against three independent implementations).

/// Looks a code up in a sorted `(code, name)` table.
fn lookup<T: Ord + Copy>(table: &'static [(T, &'static str)], code: T) -> Option<&'static str> {
    table
        .binary_search_by(|(c, _)| c.cmp(&code))
        .ok()
        .and_then(|i| table.get(i))
        .map(|(_, n)| *n)
}

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident($inner:ty), $table:ident) => {
        $(#[$doc])*
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $inner);

        impl $name {
            /// The documented meaning of the code, in `snake_case`, if known.
            pub fn name(self) -> Option<&'static str> {
                lookup($table, self.0)
            }
        }
    };
}

macro_rules! bit_set {
    ($(#[$doc:meta])* $name:ident($inner:ty), $table:ident) => {
        $(#[$doc])*
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $inner);

        voltwire_core::flag_word!(
            /// Names of the set bits that are documented, lowest bit first.
            impl $name($inner) = $table
        );

        impl $name {

            /// Set bits that have no documented meaning.
            pub fn unknown_bits(self) -> $inner {
                voltwire_core::FlagWord::unknown_bits(self)
            }

            /// Whether bit `bit` is set.
            pub fn contains(self, bit: u32) -> bool {
                bit < <$inner>::BITS && (self.0 >> bit) & 1 == 1
            }
        }
    };
}

const DEVICE_STATES: &[(u8, &str)] = &[
    (0, "off"),
    (1, "low_power"),
    (2, "fault"),
    (3, "bulk"),
    (4, "absorption"),
    (5, "float"),
    (6, "storage"),
    (7, "equalize_manual"),
    (8, "passthru"),
    (9, "inverting"),
    (10, "assisting"),
    (11, "power_supply"),
    (244, "sustain"),
    (245, "starting_up"),
    (246, "repeated_absorption"),
    (247, "auto_equalize"),
    (248, "battery_safe"),
    (252, "external_control"),
    (255, "not_available"),
];

code_enum!(
    /// State of operation (`CS`; HEX register 0x0201).
    DeviceState(u8),
    DEVICE_STATES
);

const CHARGER_ERRORS: &[(u8, &str)] = &[
    (0, "no_error"),
    (1, "battery_temperature_too_high"),
    (2, "battery_voltage_too_high"),
    (3, "remote_temperature_sensor_failure"),
    (4, "remote_temperature_sensor_failure"),
    (5, "remote_temperature_sensor_failure"),
    (6, "remote_battery_voltage_sense_failure"),
    (7, "remote_battery_voltage_sense_failure"),
    (8, "remote_battery_voltage_sense_failure"),
    (11, "high_ripple_voltage"),
    (14, "battery_temperature_too_low"),
    (17, "charger_temperature_too_high"),
    (18, "charger_over_current"),
    (19, "charger_current_reversed"),
    (20, "bulk_time_limit_exceeded"),
    (21, "current_sensor_issue"),
    (22, "internal_temperature_sensor_failure"),
    (23, "internal_temperature_sensor_failure"),
    (24, "fan_failure"),
    (26, "terminals_overheated"),
    (27, "short_circuit"),
    (28, "converter_issue"),
    (29, "over_charge_protection"),
    (33, "input_voltage_too_high"),
    (34, "input_current_too_high"),
    (35, "input_power_too_high"),
    (38, "input_shutdown_battery_overvoltage"),
    (39, "input_shutdown_current_during_off_mode"),
    (40, "input_shutdown_failure"),
    (41, "inverter_shutdown_pv_isolation"),
    (42, "inverter_shutdown_pv_isolation"),
    (43, "inverter_shutdown_ground_fault"),
    (50, "inverter_overload"),
    (51, "inverter_temperature_too_high"),
    (52, "inverter_peak_current"),
    (53, "inverter_output_voltage"),
    (54, "inverter_output_voltage"),
    (55, "inverter_self_test_failed"),
    (56, "inverter_self_test_failed"),
    (57, "inverter_ac_voltage_on_output"),
    (58, "inverter_self_test_failed"),
    (65, "communication_lost"),
    (66, "synchronised_charging_configuration_issue"),
    (67, "bms_connection_lost"),
    (68, "network_misconfigured"),
    (69, "network_misconfigured"),
    (70, "network_misconfigured"),
    (71, "network_misconfigured"),
    (80, "pv_input_shutdown"),
    (81, "pv_input_shutdown"),
    (82, "pv_input_shutdown"),
    (83, "pv_input_shutdown"),
    (84, "pv_input_shutdown"),
    (85, "pv_input_shutdown"),
    (86, "pv_input_shutdown"),
    (87, "pv_input_shutdown"),
    (114, "cpu_temperature_too_high"),
    (116, "factory_calibration_data_lost"),
    (117, "invalid_firmware"),
    (119, "user_settings_invalid"),
    (121, "tester_fail"),
    (200, "internal_dc_voltage_error"),
    (201, "internal_dc_voltage_error"),
    (202, "internal_gfci_sensor_error"),
    (203, "internal_supply_voltage_error"),
    (205, "internal_supply_voltage_error"),
    (212, "internal_supply_voltage_error"),
    (215, "internal_supply_voltage_error"),
];

code_enum!(
    /// Charger error code (`ERR`; HEX register 0xEDDA). Numbering follows the majority of
    /// sources (66/67/119); one implementation is off by one, see the protocol notes.
    ChargerError(u8),
    CHARGER_ERRORS
);

const DEVICE_MODES: &[(u8, &str)] = &[
    (1, "charger_on"),
    (2, "inverter_on"),
    (3, "on"),
    (4, "off"),
    (5, "eco"),
    (0xFD, "hibernate"),
];

code_enum!(
    /// Device mode (`MODE`; HEX register 0x0200).
    DeviceMode(u8),
    DEVICE_MODES
);

const TRACKER_MODES: &[(u8, &str)] = &[
    (0, "off"),
    (1, "voltage_or_current_limited"),
    (2, "mpp_tracker_active"),
];

code_enum!(
    /// MPP tracker operation mode (`MPPT`; HEX register 0xEDB3).
    TrackerMode(u8),
    TRACKER_MODES
);

const MONITOR_MODES: &[(i8, &str)] = &[
    (-9, "solar_charger"),
    (-8, "wind_turbine"),
    (-7, "shaft_generator"),
    (-6, "alternator"),
    (-5, "fuel_cell"),
    (-4, "water_generator"),
    (-3, "dc_dc_charger"),
    (-2, "ac_charger"),
    (-1, "generic_source"),
    (0, "battery_monitor"),
    (1, "generic_load"),
    (2, "electric_drive"),
    (3, "fridge"),
    (4, "water_pump"),
    (5, "bilge_pump"),
    (6, "dc_system"),
    (7, "inverter"),
    (8, "water_heater"),
];

code_enum!(
    /// DC monitor mode (`MON`; HEX register 0xEEB8), signed.
    MonitorMode(i8),
    MONITOR_MODES
);

const ALARM_BITS: voltwire_core::BitTable = &[
    (0, "low_voltage"),
    (1, "high_voltage"),
    (2, "low_soc"),
    (3, "low_aux_voltage"),
    (4, "high_aux_voltage"),
    (5, "low_temperature"),
    (6, "high_temperature"),
    (7, "mid_voltage"),
    (8, "overload"),
    (9, "dc_ripple"),
    (10, "low_ac_out_voltage"),
    (11, "high_ac_out_voltage"),
    (12, "short_circuit"),
    (13, "bms_lockout"),
    (14, "bms_cable_failure"),
];

bit_set!(
    /// Alarm or warning reason (`AR`, `WARN`; HEX registers 0x031E, 0x031C), a bit field.
    AlarmReason(u16),
    ALARM_BITS
);

const OFF_BITS: voltwire_core::BitTable = &[
    (0, "no_input_power"),
    (1, "hard_power_switch"),
    (2, "soft_power_switch"),
    (3, "remote_input"),
    (4, "internal_reason"),
    (5, "paygo"),
    (6, "bms"),
    (7, "engine_shutdown"),
    (8, "analysing_input_voltage"),
    (9, "low_battery_temperature"),
    (10, "no_pv_power"),
    (11, "low_battery"),
    (12, "low_mains"),
    (13, "no_can_sync"),
    (14, "not_enough_inverters_to_sync"),
    (15, "active_alarm"),
];

bit_set!(
    /// Off reason (`OR`; HEX registers 0x0205/0x0207), a 32-bit bit field.
    OffReason(u32),
    OFF_BITS
);

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc, reason = "test code")]
mod tests {
    use super::*;

    fn sorted<T: Ord>(t: &[(T, &str)]) -> bool {
        t.windows(2).all(|w| w[0].0 < w[1].0)
    }

    #[test]
    fn tables_sorted() {
        assert!(sorted(DEVICE_STATES));
        assert!(sorted(CHARGER_ERRORS));
        assert!(sorted(DEVICE_MODES));
        assert!(sorted(TRACKER_MODES));
        assert!(sorted(MONITOR_MODES));
        assert!(sorted(ALARM_BITS));
        assert!(sorted(OFF_BITS));
    }

    #[test]
    fn names() {
        assert_eq!(DeviceState(3).name(), Some("bulk"));
        assert_eq!(DeviceState(100).name(), None);
        assert_eq!(ChargerError(119).name(), Some("user_settings_invalid"));
        assert_eq!(ChargerError(67).name(), Some("bms_connection_lost"));
        assert_eq!(MonitorMode(-9).name(), Some("solar_charger"));
        let f: std::vec::Vec<_> = OffReason(0x9).flags().collect();
        assert_eq!(f, ["no_input_power", "remote_input"]);
        assert_eq!(OffReason(0x8001_0000).unknown_bits(), 0x8001_0000);
        assert_eq!(AlarmReason(0).flags().count(), 0);
        assert!(AlarmReason(4).contains(2));
        assert!(!AlarmReason(4).contains(99));
    }
}
