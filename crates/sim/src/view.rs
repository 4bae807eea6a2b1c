//! What a BMS reports about one pack: the plant's values in exact units, with the plant
//! faults applied and the protection state derived.

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};

use crate::{Faults, Plant};

/// A BMS's view of one pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmsView {
    /// Cell voltages, cell 1 first.
    pub cells: Vec<Millivolts>,
    /// Temperature sensors.
    pub temperatures: Vec<DeciCelsius>,
    /// Pack voltage (sum of the cells).
    pub voltage: Millivolts,
    /// Pack current, positive = charging.
    pub current: Milliamps,
    /// State of charge.
    pub soc: Permille,
    /// Remaining capacity.
    pub remaining: MilliampHours,
    /// Rated capacity.
    pub capacity: MilliampHours,
    /// Cycles.
    pub cycles: u16,
    /// Charge MOSFET on.
    pub charge_enabled: bool,
    /// Discharge MOSFET on.
    pub discharge_enabled: bool,
}

impl BmsView {
    /// Cell over-voltage protection threshold, mV.
    pub const CELL_OVER_VOLTAGE: i32 = 3_650;
    /// Cell under-voltage protection threshold, mV.
    pub const CELL_UNDER_VOLTAGE: i32 = 2_800;
    /// Over-temperature protection threshold, 0.1 °C.
    pub const OVER_TEMPERATURE: i16 = 600;

    /// The view of pack `pack` with `faults` applied, or `None` without that pack.
    pub fn of(plant: &Plant, pack: usize, faults: &Faults) -> Option<Self> {
        let p = plant.pack(pack)?;
        let mut cells = p.cell_voltages();
        let mut temperatures = p.temperatures();
        if faults.cell_over_voltage {
            if let Some(c) = cells.first_mut() {
                *c = Millivolts(Faults::OVER_VOLTAGE);
            }
        }
        if faults.over_temperature {
            temperatures.fill(DeciCelsius(Faults::OVER_TEMPERATURE));
        }
        Some(Self {
            voltage: Millivolts(cells.iter().map(|c| c.0).sum()),
            cells,
            temperatures,
            current: p.current(),
            soc: p.soc(),
            remaining: p.remaining(),
            capacity: p.config().capacity,
            cycles: p.cycles(),
            charge_enabled: p.charge_enabled,
            discharge_enabled: p.discharge_enabled,
        })
    }

    /// Highest cell: (1-based index, voltage).
    pub fn max_cell(&self) -> (usize, Millivolts) {
        self.cells
            .iter()
            .enumerate()
            .max_by_key(|(i, v)| (v.0, core::cmp::Reverse(*i)))
            .map_or((1, Millivolts(0)), |(i, v)| (i + 1, *v))
    }

    /// Lowest cell: (1-based index, voltage).
    pub fn min_cell(&self) -> (usize, Millivolts) {
        self.cells
            .iter()
            .enumerate()
            .min_by_key(|(i, v)| (v.0, *i))
            .map_or((1, Millivolts(0)), |(i, v)| (i + 1, *v))
    }

    /// Hottest sensor: (1-based index, temperature).
    pub fn max_temperature(&self) -> (usize, DeciCelsius) {
        self.temperatures
            .iter()
            .enumerate()
            .max_by_key(|(i, v)| (v.0, core::cmp::Reverse(*i)))
            .map_or((1, DeciCelsius(250)), |(i, v)| (i + 1, *v))
    }

    /// Coldest sensor: (1-based index, temperature).
    pub fn min_temperature(&self) -> (usize, DeciCelsius) {
        self.temperatures
            .iter()
            .enumerate()
            .min_by_key(|(i, v)| (v.0, *i))
            .map_or((1, DeciCelsius(250)), |(i, v)| (i + 1, *v))
    }

    /// Whether a cell is above [`BmsView::CELL_OVER_VOLTAGE`].
    pub fn cell_over_voltage(&self) -> bool {
        self.max_cell().1.0 > Self::CELL_OVER_VOLTAGE
    }

    /// Whether a cell is below [`BmsView::CELL_UNDER_VOLTAGE`].
    pub fn cell_under_voltage(&self) -> bool {
        self.min_cell().1.0 < Self::CELL_UNDER_VOLTAGE
    }

    /// Whether a sensor is above [`BmsView::OVER_TEMPERATURE`].
    pub fn over_temperature(&self) -> bool {
        self.max_temperature().1.0 > Self::OVER_TEMPERATURE
    }

    /// Whether the BMS lets charge in (switch on, no over-voltage or over-temperature).
    pub fn may_charge(&self) -> bool {
        self.charge_enabled && !self.cell_over_voltage() && !self.over_temperature()
    }

    /// Whether the BMS lets current out (switch on, no under-voltage or over-temperature).
    pub fn may_discharge(&self) -> bool {
        self.discharge_enabled && !self.cell_under_voltage() && !self.over_temperature()
    }

    /// Mean temperature.
    pub fn mean_temperature(&self) -> DeciCelsius {
        let n = i32::try_from(self.temperatures.len()).unwrap_or(1).max(1);
        let s: i32 = self.temperatures.iter().map(|t| i32::from(t.0)).sum();
        DeciCelsius(i16::try_from(s / n).unwrap_or(250))
    }
}
