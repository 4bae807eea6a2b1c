//! The rules' configuration, in exact units, with the reference defaults and a validation
//! that names the field and the fix.

use voltwire_core::{DeciCelsius, Millivolts, Permille, Watts};

/// How many VE.Direct solar chargers the rules follow at most.
pub const MAX_CHARGERS: usize = 2;
/// How many temperature sensors the rules follow at most.
pub const MAX_SENSORS: usize = 4;

/// Thresholds of one load relay (state of charge, 0.1 %).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadConfig {
    /// In auto, switch on when SOC > this while PV is low (default 60.0 %).
    pub on_soc_pv_low: Permille,
    /// In auto, switch on when SOC > this while PV is high (default 30.0 %).
    pub on_soc_pv_high: Permille,
    /// Switch off when SOC ≤ this, in auto and when switched on by hand (default 10.0 %).
    pub off_soc: Permille,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            on_soc_pv_low: Permille(600),
            on_soc_pv_high: Permille(300),
            off_soc: Permille(100),
        }
    }
}

/// Balancer relay thresholds.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalancerConfig {
    /// On when the cell difference is above this (default 15 mV) …
    pub on_diff: Millivolts,
    /// … and any cell is above this (default 3.400 V).
    pub on_cell: Millivolts,
    /// Off only when every cell is below this (default 3.350 V).
    pub off_cell: Millivolts,
}

impl Default for BalancerConfig {
    fn default() -> Self {
        Self {
            on_diff: Millivolts(15),
            on_cell: Millivolts(3400),
            off_cell: Millivolts(3350),
        }
    }
}

/// A latch that trips above `trip` and recovers below `recover` (temperatures), or the
/// reverse for the low-voltage latch.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band<T> {
    /// The trip threshold (exclusive: the value must be beyond it).
    pub trip: T,
    /// The recovery threshold (exclusive: the value must be beyond it, on the safe side).
    pub recover: T,
}

/// Source timeouts in milliseconds.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// The BMS (default 60 s).
    pub bms_ms: u64,
    /// Each VE.Direct device: SmartShunt and each charger (default 180 s).
    pub vedirect_ms: u64,
    /// Each temperature sensor (default 60 s).
    pub sensor_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            bms_ms: 60_000,
            vedirect_ms: 180_000,
            sensor_ms: 60_000,
        }
    }
}

/// Plausibility filters: a reading that jumps further than this from the last accepted one is
/// discarded, at most `max_discards` times in a row (the next one is believed).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterConfig {
    /// Cell difference (max − min) jump (default 50 mV).
    pub cell_diff_jump: Millivolts,
    /// SmartShunt SOC jump (default 5.0 %).
    pub soc_jump: Permille,
    /// SmartShunt voltage jump (default 0.5 V).
    pub voltage_jump: Millivolts,
    /// Temperature sensor jump (default 30 °C).
    pub temp_jump: DeciCelsius,
    /// Consecutive discards after which a jumped value is accepted (default 4).
    pub max_discards: u8,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            cell_diff_jump: Millivolts(50),
            soc_jump: Permille(50),
            voltage_jump: Millivolts(500),
            temp_jump: DeciCelsius(300),
            max_discards: 4,
        }
    }
}

/// What a temperature sensor measures.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensorRole {
    /// The battery cells (the cell-temperature latch, with the BMS's own sensors).
    Cell,
    /// A solar charger (the charger-temperature latch).
    Charger,
}

/// The whole configuration. `Config::default()` is the reference: 8s LFP, one charger, a
/// SmartShunt, no extra sensors.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Cells in series (1..=32); scales the per-cell voltage thresholds.
    pub cell_count: u8,
    /// The two load relays.
    pub loads: [LoadConfig; 2],
    /// PV is "high" when the 1-hour moving average of PV power is ≥ this (default 170 W).
    pub pv_high: Watts,
    /// The balancer relay.
    pub balancer: BalancerConfig,
    /// Source timeouts.
    pub timeouts: Timeouts,
    /// Pack low voltage, per cell: trip below `trip × cells` (default 3.050 V → 24.4 V on
    /// 8s), recover above `recover × cells` (default 3.175 V → 25.4 V).
    pub low_voltage_per_cell: Band<Millivolts>,
    /// Cell difference latch: trip above, recover below (default 100 / 20 mV).
    pub cell_diff: Band<Millivolts>,
    /// Cell temperature latch: trip above, recover below (default 35 / 27 °C).
    pub cell_temp: Band<DeciCelsius>,
    /// Charger temperature latch: trip above, recover below (default 40 / 32 °C).
    pub charger_temp: Band<DeciCelsius>,
    /// No automatic switching before this long after start (default 15 s).
    pub startup_hold_ms: u64,
    /// Plausibility filters.
    pub filters: FilterConfig,
    /// A SmartShunt is connected (its SOC, voltage and current are preferred to the BMS's).
    pub shunt: bool,
    /// Solar chargers connected (0..=2).
    pub chargers: u8,
    /// Temperature sensors by slot; `None` = no sensor in that slot.
    pub sensors: [Option<SensorRole>; MAX_SENSORS],
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cell_count: 8,
            loads: [LoadConfig::default(); 2],
            pv_high: Watts(170),
            balancer: BalancerConfig::default(),
            timeouts: Timeouts::default(),
            low_voltage_per_cell: Band {
                trip: Millivolts(3050),
                recover: Millivolts(3175),
            },
            cell_diff: Band {
                trip: Millivolts(100),
                recover: Millivolts(20),
            },
            cell_temp: Band {
                trip: DeciCelsius(350),
                recover: DeciCelsius(270),
            },
            charger_temp: Band {
                trip: DeciCelsius(400),
                recover: DeciCelsius(320),
            },
            startup_hold_ms: 15_000,
            filters: FilterConfig::default(),
            shunt: true,
            chargers: 1,
            sensors: [None; MAX_SENSORS],
        }
    }
}

/// A configuration value that the rules cannot work with: `field` names it (the app's key
/// names follow these), `fix` says what to change.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {fix}")]
pub struct ConfigError {
    /// The field, e.g. `loads[0].off_soc`.
    pub field: &'static str,
    /// What to change, e.g. `must be below on_soc_pv_high`.
    pub fix: &'static str,
}

const LOAD_FIELDS: [(&str, &str, &str); 2] = [
    (
        "loads[0].off_soc",
        "loads[0].on_soc_pv_low",
        "loads[0].on_soc_pv_high",
    ),
    (
        "loads[1].off_soc",
        "loads[1].on_soc_pv_low",
        "loads[1].on_soc_pv_high",
    ),
];

const fn err(field: &'static str, fix: &'static str) -> Result<(), ConfigError> {
    Err(ConfigError { field, fix })
}

impl Config {
    /// Check the configuration: every recovery threshold on the safe side of its trip, load
    /// on-thresholds above the off-threshold, values in range.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.cell_count == 0 || self.cell_count > 32 {
            return err(
                "cell_count",
                "must be 1..=32 (8 for a 24 V LFP pack, 16 for 48 V)",
            );
        }
        if usize::from(self.chargers) > MAX_CHARGERS {
            return err("chargers", "at most 2 solar chargers are supported");
        }
        for (load, (off, low, high)) in self.loads.iter().zip(LOAD_FIELDS) {
            if load.off_soc.0 < 0 || load.off_soc.0 >= 1000 {
                return err(off, "must be 0.0..100.0 %");
            }
            if load.on_soc_pv_low.0 > 1000 || load.on_soc_pv_low <= load.off_soc {
                return err(low, "must be above off_soc and at most 100.0 %");
            }
            if load.on_soc_pv_high.0 > 1000 || load.on_soc_pv_high <= load.off_soc {
                return err(high, "must be above off_soc and at most 100.0 %");
            }
        }
        if self.pv_high.0 <= 0 {
            return err("pv_high", "must be above 0 W");
        }
        if self.balancer.on_diff.0 <= 0 {
            return err("balancer.on_diff", "must be above 0 mV");
        }
        if self.balancer.off_cell >= self.balancer.on_cell {
            return err("balancer.off_cell", "must be below balancer.on_cell");
        }
        if self.timeouts.bms_ms == 0 {
            return err("timeouts.bms", "must be above 0 s");
        }
        if self.timeouts.vedirect_ms == 0 {
            return err("timeouts.vedirect", "must be above 0 s");
        }
        if self.timeouts.sensor_ms == 0 {
            return err("timeouts.sensor", "must be above 0 s");
        }
        let lv = self.low_voltage_per_cell;
        if lv.trip.0 <= 0 || lv.trip >= lv.recover {
            return err(
                "low_voltage.recover_cell",
                "must be above low_voltage.trip_cell (and trip above 0 V)",
            );
        }
        if self.cell_diff.recover >= self.cell_diff.trip || self.cell_diff.recover.0 <= 0 {
            return err(
                "cell_diff.recover",
                "must be above 0 mV and below cell_diff.trip",
            );
        }
        if self.cell_temp.recover >= self.cell_temp.trip {
            return err("cell_temp.recover", "must be below cell_temp.trip");
        }
        if self.charger_temp.recover >= self.charger_temp.trip {
            return err("charger_temp.recover", "must be below charger_temp.trip");
        }
        let f = self.filters;
        if f.cell_diff_jump.0 <= 0 {
            return err("filters.cell_diff_jump", "must be above 0 mV");
        }
        if f.soc_jump.0 <= 0 {
            return err("filters.soc_jump", "must be above 0 %");
        }
        if f.voltage_jump.0 <= 0 {
            return err("filters.voltage_jump", "must be above 0 V");
        }
        if f.temp_jump.0 <= 0 {
            return err("filters.temp_jump", "must be above 0 °C");
        }
        Ok(())
    }

    /// The pack voltage below which the low-voltage latch trips (per cell × cells).
    pub fn low_voltage_trip(&self) -> Millivolts {
        Millivolts(
            self.low_voltage_per_cell
                .trip
                .0
                .saturating_mul(i32::from(self.cell_count)),
        )
    }

    /// The pack voltage above which the low-voltage latch recovers (per cell × cells).
    pub fn low_voltage_recover(&self) -> Millivolts {
        Millivolts(
            self.low_voltage_per_cell
                .recover
                .0
                .saturating_mul(i32::from(self.cell_count)),
        )
    }
}
