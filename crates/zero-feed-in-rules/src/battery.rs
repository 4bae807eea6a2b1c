//! Battery limits: the FULL and EMPTY latches, per-cell limits and temperature limits, each
//! with its own release condition (hysteresis), so a limit that trips also recovers.

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_ess::Millis;

/// The battery's limits (LFP defaults for 16 cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatteryConfig {
    /// Cells in series.
    pub cells: u8,
    /// The charge voltage the chargers regulate to (FULL is detected near it).
    pub charge_voltage: Millivolts,
    /// FULL releases when the voltage falls to this or below.
    pub restart_voltage: Millivolts,
    /// FULL trips while charging when the current is at or below this ...
    pub full_current: Milliamps,
    /// ... and the voltage within this of the charge voltage (inclusive).
    pub full_window: Millivolts,
    /// EMPTY trips at or below cells × this.
    pub empty_cell_voltage: Millivolts,
    /// EMPTY releases at or above cells × this (and SOC ≥ `restart_soc` when known).
    pub release_cell_voltage: Millivolts,
    /// EMPTY trips at or below this SOC (when the BMS reports one).
    pub min_soc: Permille,
    /// EMPTY needs this SOC or more to release (when the BMS reports one).
    pub restart_soc: Permille,
    /// Charging stops when the highest cell reaches this.
    pub max_cell_voltage: Millivolts,
    /// Discharging stops when the lowest cell falls to this.
    pub min_cell_voltage: Millivolts,
    /// A cell limit releases this far back inside its limit.
    pub cell_hysteresis: Millivolts,
    /// Charging stops above this temperature.
    pub charge_max_temperature: DeciCelsius,
    /// Charging stops below this temperature (0 °C for LFP).
    pub charge_min_temperature: DeciCelsius,
    /// Discharging stops above this temperature.
    pub discharge_max_temperature: DeciCelsius,
    /// Discharging stops below this temperature.
    pub discharge_min_temperature: DeciCelsius,
    /// A temperature limit releases this far back inside its limit.
    pub temperature_hysteresis: DeciCelsius,
}

impl BatteryConfig {
    /// LFP defaults for `cells` cells: charge 3.45 V/cell, restart 3.35 V/cell, FULL at
    /// ≤ 1.0 A within 0.10 V, EMPTY at 3.05 V/cell or 10 % until 3.20 V/cell and 15 %,
    /// cells 2.90–3.55 V (0.10 V hysteresis), charge 0–45 °C, discharge −20–55 °C (2 °C
    /// hysteresis).
    pub const fn lfp(cells: u8) -> Self {
        let n = cells as i32;
        Self {
            cells,
            charge_voltage: Millivolts(3450 * n),
            restart_voltage: Millivolts(3350 * n),
            full_current: Milliamps(1000),
            full_window: Millivolts(100),
            empty_cell_voltage: Millivolts(3050),
            release_cell_voltage: Millivolts(3200),
            min_soc: Permille(100),
            restart_soc: Permille(150),
            max_cell_voltage: Millivolts(3550),
            min_cell_voltage: Millivolts(2900),
            cell_hysteresis: Millivolts(100),
            charge_max_temperature: DeciCelsius(450),
            charge_min_temperature: DeciCelsius(0),
            discharge_max_temperature: DeciCelsius(550),
            discharge_min_temperature: DeciCelsius(-200),
            temperature_hysteresis: DeciCelsius(20),
        }
    }

    /// `cells` × a per-cell voltage, saturating.
    pub fn pack(&self, cell: Millivolts) -> Millivolts {
        Millivolts(cell.0.saturating_mul(i32::from(self.cells)))
    }
}

/// One reading of the battery: from a BMS, or voltage only (from a device) when there is
/// none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatteryReading {
    /// When it was read.
    pub at: Millis,
    /// Pack voltage.
    pub voltage: Millivolts,
    /// Pack current (positive = charging), when measured.
    pub current: Option<Milliamps>,
    /// State of charge, when known.
    pub soc: Option<Permille>,
    /// Lowest cell voltage, when known.
    pub cell_min: Option<Millivolts>,
    /// Highest cell voltage, when known.
    pub cell_max: Option<Millivolts>,
    /// Lowest temperature, when known.
    pub temperature_min: Option<DeciCelsius>,
    /// Highest temperature, when known.
    pub temperature_max: Option<DeciCelsius>,
    /// The BMS allows charging (true without a BMS).
    pub charge_allowed: bool,
    /// The BMS allows discharging (true without a BMS).
    pub discharge_allowed: bool,
    /// The BMS's charge current limit, when it sends one.
    pub charge_current_limit: Option<Milliamps>,
    /// The BMS's discharge current limit, when it sends one.
    pub discharge_current_limit: Option<Milliamps>,
}

impl BatteryReading {
    /// A voltage-only reading (no BMS): everything else unknown, both directions allowed.
    pub const fn voltage_only(at: Millis, voltage: Millivolts) -> Self {
        Self {
            at,
            voltage,
            current: None,
            soc: None,
            cell_min: None,
            cell_max: None,
            temperature_min: None,
            temperature_max: None,
            charge_allowed: true,
            discharge_allowed: true,
            charge_current_limit: None,
            discharge_current_limit: None,
        }
    }
}

/// The battery latches. Each is set by its trip condition and cleared only by its release
/// condition, so the battery does not chatter at a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(clippy::struct_excessive_bools)]
pub struct Latches {
    /// Full: no charging until the voltage falls to the restart voltage.
    pub full: bool,
    /// Empty: no discharging until voltage and SOC have recovered.
    pub empty: bool,
    /// A cell reached the maximum cell voltage: no charging.
    pub cell_high: bool,
    /// A cell fell to the minimum cell voltage: no discharging.
    pub cell_low: bool,
    /// Too hot to charge.
    pub charge_hot: bool,
    /// Too cold to charge.
    pub charge_cold: bool,
    /// Too hot to discharge.
    pub discharge_hot: bool,
    /// Too cold to discharge.
    pub discharge_cold: bool,
}

/// Sets `latch` when `trip`, clears it when `release`; otherwise keeps it.
fn hysteresis(latch: &mut bool, trip: bool, release: bool) {
    if trip {
        *latch = true;
    } else if release {
        *latch = false;
    }
}

impl Latches {
    /// Whether any latch forbids charging.
    pub const fn blocks_charge(&self) -> bool {
        self.full || self.cell_high || self.charge_hot || self.charge_cold
    }

    /// Whether any latch forbids discharging.
    pub const fn blocks_discharge(&self) -> bool {
        self.empty || self.cell_low || self.discharge_hot || self.discharge_cold
    }

    /// The names of the latches that are set, in a fixed order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        [
            (self.full, "full"),
            (self.empty, "empty"),
            (self.cell_high, "cell_high"),
            (self.cell_low, "cell_low"),
            (self.charge_hot, "charge_hot"),
            (self.charge_cold, "charge_cold"),
            (self.discharge_hot, "discharge_hot"),
            (self.discharge_cold, "discharge_cold"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
    }

    /// Updates every latch from one reading. `charging` says whether the chargers were
    /// commanded to charge (FULL is only detected while charging).
    ///
    /// FULL trips while charging when the current is ≤ `full_current` and the voltage is
    /// ≥ `charge_voltage − full_window`; without a current measurement (no BMS) it trips at
    /// ≥ `charge_voltage`. It releases at ≤ `restart_voltage`.
    /// EMPTY trips at V ≤ cells × `empty_cell_voltage` or SOC ≤ `min_soc`, and releases at
    /// V ≥ cells × `release_cell_voltage` and (when a SOC is known) SOC ≥ `restart_soc`.
    pub fn update(&mut self, cfg: &BatteryConfig, reading: &BatteryReading, charging: bool) {
        let v = reading.voltage.0;
        let full_trip = charging
            && match reading.current {
                Some(i) => {
                    i.0 <= cfg.full_current.0 && v >= cfg.charge_voltage.0 - cfg.full_window.0
                }
                None => v >= cfg.charge_voltage.0,
            };
        hysteresis(&mut self.full, full_trip, v <= cfg.restart_voltage.0);

        let soc_low = reading.soc.is_some_and(|s| s.0 <= cfg.min_soc.0);
        let soc_back = reading.soc.is_none_or(|s| s.0 >= cfg.restart_soc.0);
        hysteresis(
            &mut self.empty,
            v <= cfg.pack(cfg.empty_cell_voltage).0 || soc_low,
            v >= cfg.pack(cfg.release_cell_voltage).0 && soc_back,
        );

        match reading.cell_max {
            Some(m) => hysteresis(
                &mut self.cell_high,
                m.0 >= cfg.max_cell_voltage.0,
                m.0 <= cfg.max_cell_voltage.0 - cfg.cell_hysteresis.0,
            ),
            None => self.cell_high = false,
        }
        match reading.cell_min {
            Some(m) => hysteresis(
                &mut self.cell_low,
                m.0 <= cfg.min_cell_voltage.0,
                m.0 >= cfg.min_cell_voltage.0 + cfg.cell_hysteresis.0,
            ),
            None => self.cell_low = false,
        }

        let h = i32::from(cfg.temperature_hysteresis.0);
        let hot = |latch: &mut bool, limit: DeciCelsius| match reading.temperature_max {
            Some(t) => hysteresis(
                latch,
                t.0 > limit.0,
                i32::from(t.0) <= i32::from(limit.0) - h,
            ),
            None => *latch = false,
        };
        hot(&mut self.charge_hot, cfg.charge_max_temperature);
        hot(&mut self.discharge_hot, cfg.discharge_max_temperature);
        let cold = |latch: &mut bool, limit: DeciCelsius| match reading.temperature_min {
            Some(t) => hysteresis(
                latch,
                t.0 < limit.0,
                i32::from(t.0) >= i32::from(limit.0) + h,
            ),
            None => *latch = false,
        };
        cold(&mut self.charge_cold, cfg.charge_min_temperature);
        cold(&mut self.discharge_cold, cfg.discharge_min_temperature);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(mv: i32) -> BatteryReading {
        BatteryReading::voltage_only(Millis(0), Millivolts(mv))
    }

    #[test]
    fn full_trips_at_1_0_a_within_0_10_v_and_releases_at_the_restart_voltage() {
        let c = BatteryConfig::lfp(16); // charge 55.20 V, restart 53.60 V
        let mut l = Latches::default();
        let mut r = reading(55_100);
        r.current = Some(Milliamps(1001));
        l.update(&c, &r, true);
        assert!(!l.full, "1.001 A is still charging");
        r.current = Some(Milliamps(1000));
        r.voltage = Millivolts(55_099);
        l.update(&c, &r, true);
        assert!(!l.full, "0.101 V below the charge voltage");
        r.voltage = Millivolts(55_100);
        l.update(&c, &r, false);
        assert!(!l.full, "only detected while charging");
        l.update(&c, &r, true);
        assert!(l.full && l.blocks_charge() && !l.blocks_discharge());
        r.voltage = Millivolts(53_601);
        l.update(&c, &r, false);
        assert!(l.full, "held above the restart voltage");
        r.voltage = Millivolts(53_600);
        l.update(&c, &r, false);
        assert!(!l.full);
    }

    #[test]
    fn full_without_a_current_measurement_needs_the_charge_voltage() {
        let c = BatteryConfig::lfp(16);
        let mut l = Latches::default();
        l.update(&c, &reading(55_199), true);
        assert!(!l.full);
        l.update(&c, &reading(55_200), true);
        assert!(l.full);
    }

    #[test]
    fn empty_trips_at_3_05_v_per_cell_or_min_soc_and_needs_both_to_release() {
        let c = BatteryConfig::lfp(16); // 48.80 V trip, 51.20 V release
        let mut l = Latches::default();
        l.update(&c, &reading(48_801), false);
        assert!(!l.empty);
        l.update(&c, &reading(48_800), false);
        assert!(l.empty && l.blocks_discharge() && !l.blocks_charge());
        l.update(&c, &reading(51_199), false);
        assert!(l.empty);
        let mut r = reading(51_200);
        r.soc = Some(Permille(149));
        l.update(&c, &r, false);
        assert!(l.empty, "SOC below the restart SOC");
        r.soc = Some(Permille(150));
        l.update(&c, &r, false);
        assert!(!l.empty);
        // SOC alone trips it, at a healthy voltage.
        r.soc = Some(Permille(100));
        l.update(&c, &r, false);
        assert!(l.empty);
        r.soc = Some(Permille(101));
        l.update(&c, &r, false);
        assert!(l.empty, "101 > 100 but below the restart SOC of 150");
    }

    #[test]
    fn cell_limits_trip_and_release_with_hysteresis() {
        let c = BatteryConfig::lfp(16);
        let mut l = Latches::default();
        let mut r = reading(52_000);
        r.cell_max = Some(Millivolts(3549));
        r.cell_min = Some(Millivolts(2901));
        l.update(&c, &r, true);
        assert!(!l.cell_high && !l.cell_low);
        r.cell_max = Some(Millivolts(3550));
        r.cell_min = Some(Millivolts(2900));
        l.update(&c, &r, true);
        assert!(l.cell_high && l.cell_low);
        r.cell_max = Some(Millivolts(3451));
        r.cell_min = Some(Millivolts(2999));
        l.update(&c, &r, true);
        assert!(l.cell_high && l.cell_low);
        r.cell_max = Some(Millivolts(3450));
        r.cell_min = Some(Millivolts(3000));
        l.update(&c, &r, true);
        assert!(!l.cell_high && !l.cell_low);
    }

    #[test]
    fn each_temperature_limit_acts_and_recovers() {
        let c = BatteryConfig::lfp(16);
        let mut l = Latches::default();
        let mut at = |min: i16, max: i16| {
            let mut r = reading(52_000);
            r.temperature_min = Some(DeciCelsius(min));
            r.temperature_max = Some(DeciCelsius(max));
            l.update(&c, &r, true);
            l
        };
        let ok = at(0, 450);
        assert!(
            !ok.blocks_charge() && !ok.blocks_discharge(),
            "the limits are inclusive"
        );
        let hot = at(200, 451);
        assert!(hot.charge_hot && hot.blocks_charge() && !hot.blocks_discharge());
        assert!(at(200, 431).charge_hot, "held within the 2 °C hysteresis");
        assert!(!at(200, 430).charge_hot);
        let very_hot = at(200, 551);
        assert!(very_hot.discharge_hot && very_hot.blocks_discharge());
        assert!(!at(200, 530).discharge_hot);
        let cold = at(-1, 100);
        assert!(cold.charge_cold && cold.blocks_charge() && !cold.blocks_discharge());
        assert!(at(19, 100).charge_cold);
        assert!(!at(20, 100).charge_cold);
        let frozen = at(-201, 100);
        assert!(frozen.discharge_cold && frozen.charge_cold && frozen.blocks_discharge());
        assert!(!at(-180, 100).discharge_cold);
        assert!(at(-180, 100).charge_cold);
        let names: alloc::vec::Vec<_> = at(-300, 600).names().collect();
        assert_eq!(
            names,
            [
                "charge_hot",
                "charge_cold",
                "discharge_hot",
                "discharge_cold"
            ]
        );
    }
}
