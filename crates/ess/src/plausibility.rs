//! Plausible ranges of one input: a telegram outside them is invalid.
//!
//! A BMS that sends a charge current limit of 0x7FFF (3276.7 A), a pack voltage of
//! 6553.5 V or a SOC of 250 % is broken, misconfigured or misread; its telegram must not
//! reach the combine rules (one such value would drive the stack to the cable limit or
//! into the charge voltage limit). [`Plausibility::check`] tells which field is out of its
//! range; [`crate::Gateway`] then treats the input as faulty
//! ([`crate::InputStatus::Implausible`]) and, once it is plausible again, admits it only
//! after the recovery hold.
//!
//! | Field | Plausible |
//! |---|---|
//! | Pack voltage, charge voltage limit | `min_voltage ..= max_voltage` (from cell count × the chemistry's cell range, see [`Chemistry`]) |
//! | Charge current limit | `0 ..= max_charge_current` (the input's own rated limit) |
//! | Discharge current limit | `0 ..= max_discharge_current` |
//! | SOC, SOH | `0 ..= 1000` ‰ |
//! | Temperature | `min_temperature ..= max_temperature` |
//!
//! Every bound is inclusive: a value exactly at a bound is plausible.

use voltwire_core::{DeciCelsius, Milliamps, Millivolts};

use crate::state::BatteryState;

/// Cell chemistry: the range of a single cell's voltage that can be real (wider than the
/// operating range, so that a deeply discharged or over-charged pack still reports, and
/// its BMS's protection flags still count).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Chemistry {
    /// Lithium iron phosphate: 2000 ..= 3800 mV per cell.
    #[default]
    Lfp,
    /// Lithium nickel manganese cobalt oxide: 2500 ..= 4350 mV per cell.
    Nmc,
    /// Lithium titanate: 1500 ..= 2900 mV per cell.
    Lto,
}

impl Chemistry {
    /// The plausible cell voltage range, mV, inclusive.
    pub const fn cell_range(self) -> (Millivolts, Millivolts) {
        match self {
            Self::Lfp => (Millivolts(2_000), Millivolts(3_800)),
            Self::Nmc => (Millivolts(2_500), Millivolts(4_350)),
            Self::Lto => (Millivolts(1_500), Millivolts(2_900)),
        }
    }
}

/// The field of a [`BatteryState`] that is out of its plausible range.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The pack voltage.
    Voltage,
    /// The charge voltage limit (CVL).
    ChargeVoltageLimit,
    /// The charge current limit (CCL).
    ChargeCurrentLimit,
    /// The discharge current limit (DCL).
    DischargeCurrentLimit,
    /// The state of charge.
    Soc,
    /// The state of health.
    Soh,
    /// The temperature.
    Temperature,
}

impl Field {
    /// A short, stable `snake_case` name for logs and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Voltage => "voltage",
            Self::ChargeVoltageLimit => "charge_voltage_limit",
            Self::ChargeCurrentLimit => "charge_current_limit",
            Self::DischargeCurrentLimit => "discharge_current_limit",
            Self::Soc => "soc",
            Self::Soh => "soh",
            Self::Temperature => "temperature",
        }
    }

    /// The unit of the value and bounds in [`Implausible`]: `mV`, `mA`, `permille` or
    /// `decidegC`.
    pub const fn unit(self) -> &'static str {
        match self {
            Self::Voltage | Self::ChargeVoltageLimit => "mV",
            Self::ChargeCurrentLimit | Self::DischargeCurrentLimit => "mA",
            Self::Soc | Self::Soh => "permille",
            Self::Temperature => "decidegC",
        }
    }
}

/// A telegram value outside its plausible range: which field, its value and the range, in
/// the field's [`Field::unit`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error(
    "{} = {value} {} is outside the plausible {min} ..= {max} {}",
    field.name(),
    field.unit(),
    field.unit()
)]
pub struct Implausible {
    /// The field.
    pub field: Field,
    /// Its value.
    pub value: i32,
    /// The smallest plausible value.
    pub min: i32,
    /// The largest plausible value.
    pub max: i32,
}

/// The plausible ranges of one input (see the [module documentation](self)). SOC and SOH
/// are always checked against 0 ..= 1000 ‰.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Plausibility {
    /// Lowest plausible pack voltage and charge voltage limit.
    pub min_voltage: Millivolts,
    /// Highest plausible pack voltage and charge voltage limit.
    pub max_voltage: Millivolts,
    /// Highest plausible charge current limit: the battery's rated charge current.
    pub max_charge_current: Milliamps,
    /// Highest plausible discharge current limit: the battery's rated discharge current.
    pub max_discharge_current: Milliamps,
    /// Lowest plausible temperature.
    pub min_temperature: DeciCelsius,
    /// Highest plausible temperature.
    pub max_temperature: DeciCelsius,
}

/// SOC and SOH range, ‰.
const PERMILLE_MAX: i32 = 1000;

fn within(field: Field, value: i32, min: i32, max: i32) -> Result<(), Implausible> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Implausible {
            field,
            value,
            min,
            max,
        })
    }
}

impl Plausibility {
    /// Ranges for a pack of `cells` cells in series of `chemistry`, with the given rated
    /// current limits, and temperatures -40.0 ..= 80.0 °C. The voltage range is `cells ×`
    /// [`Chemistry::cell_range`] (saturating).
    pub fn for_pack(
        cells: u16,
        chemistry: Chemistry,
        max_charge_current: Milliamps,
        max_discharge_current: Milliamps,
    ) -> Self {
        let (lo, hi) = chemistry.cell_range();
        let n = i32::from(cells);
        Self {
            min_voltage: Millivolts(lo.0.saturating_mul(n)),
            max_voltage: Millivolts(hi.0.saturating_mul(n)),
            max_charge_current,
            max_discharge_current,
            min_temperature: DeciCelsius(-400),
            max_temperature: DeciCelsius(800),
        }
    }

    /// The first field of `s` outside its range, in the order of the
    /// [module documentation](self)'s table.
    ///
    /// # Errors
    /// [`Implausible`] naming the field, its value and the range.
    pub fn check(&self, s: &BatteryState) -> Result<(), Implausible> {
        let (vmin, vmax) = (self.min_voltage.0, self.max_voltage.0);
        within(Field::Voltage, s.voltage.0, vmin, vmax)?;
        within(
            Field::ChargeVoltageLimit,
            s.charge_voltage_limit.0,
            vmin,
            vmax,
        )?;
        within(
            Field::ChargeCurrentLimit,
            s.charge_current_limit.0,
            0,
            self.max_charge_current.0,
        )?;
        within(
            Field::DischargeCurrentLimit,
            s.discharge_current_limit.0,
            0,
            self.max_discharge_current.0,
        )?;
        within(Field::Soc, i32::from(s.soc.0), 0, PERMILLE_MAX)?;
        within(Field::Soh, i32::from(s.soh.0), 0, PERMILLE_MAX)?;
        within(
            Field::Temperature,
            i32::from(s.temperature.0),
            i32::from(self.min_temperature.0),
            i32::from(self.max_temperature.0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_value_and_range() {
        let e = Implausible {
            field: Field::ChargeCurrentLimit,
            value: 3_276_700,
            min: 0,
            max: 100_000,
        };
        let text = std::format!("{e}");
        assert_eq!(
            text,
            "charge_current_limit = 3276700 mA is outside the plausible 0 ..= 100000 mA"
        );
    }
}
