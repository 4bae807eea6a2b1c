//! The normalised state of one battery (one BMS), whatever protocol it speaks.

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};

voltwire_core::flag_word! {
    /// A set of alarm bits.
    ///
    /// The bit positions are those of the Pylontech CAN frame 0x359 (bytes 0/1 for
    /// protection errors, bytes 2/3 for warnings, `raw = low | high << 8`), the de-facto
    /// common layout of LV battery CAN: bit 1 over/high voltage, 2 under/low voltage,
    /// 3 over/high temperature, 4 under/low temperature, 7 discharge over-current, 8 charge
    /// over-current, 11 system error / internal failure. Other protocols map their alarms
    /// onto these positions. The names (`flags()`) are direction-neutral: the same bit is an
    /// error in `errors` and a warning in `warnings`.
    pub struct Flags(u16) {
        /// Over-voltage (error) / high voltage (warning).
        1 => "high_voltage" as HIGH_VOLTAGE,
        /// Under-voltage (error) / low voltage (warning).
        2 => "low_voltage" as LOW_VOLTAGE,
        /// Over-temperature (error) / high temperature (warning).
        3 => "high_temperature" as HIGH_TEMPERATURE,
        /// Under-temperature (error) / low temperature (warning).
        4 => "low_temperature" as LOW_TEMPERATURE,
        /// Discharge over-current (error) / high discharge current (warning).
        7 => "discharge_over_current" as DISCHARGE_OVER_CURRENT,
        /// Charge over-current (error) / high charge current (warning).
        8 => "charge_over_current" as CHARGE_OVER_CURRENT,
        /// System error (error) / internal or communication failure (warning).
        11 => "system" as SYSTEM,
    }
}

impl Flags {
    /// No bit set.
    pub const NONE: Self = Self(0);
    /// The protection (error) bits that forbid charging only: over-voltage and charge
    /// over-current. Every other protection bit (temperature, system, and bits without a
    /// name) forbids both directions; see [`BatteryState::forbids_charge`].
    pub const CHARGE_ONLY: u16 = Self::HIGH_VOLTAGE | Self::CHARGE_OVER_CURRENT;
    /// The protection (error) bits that forbid discharging only: under-voltage and
    /// discharge over-current.
    pub const DISCHARGE_ONLY: u16 = Self::LOW_VOLTAGE | Self::DISCHARGE_OVER_CURRENT;

    /// Bitwise OR.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Requests a BMS makes to the inverter, at the bit positions of Pylontech 0x35C byte 0
/// (the enable bits 0x80/0x40 are kept apart, in [`BatteryState`]).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Requests(pub u8);

impl Requests {
    /// No request.
    pub const NONE: Self = Self(0);
    /// Force charge request I: wake a battery that shut down and charge it.
    pub const FORCE_CHARGE_1: u8 = 0x20;
    /// Force charge request II: charge before the battery shuts down (low energy).
    pub const FORCE_CHARGE_2: u8 = 0x10;
    /// Full-charge (balancing) request, against SOC drift.
    pub const FULL_CHARGE: u8 = 0x08;
    /// Every request bit.
    pub const ALL: u8 = Self::FORCE_CHARGE_1 | Self::FORCE_CHARGE_2 | Self::FULL_CHARGE;

    /// Bitwise OR.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every bit of `bits` is set.
    pub const fn contains(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

/// The normalised state of one battery or of a combined (virtual) battery, in exact integer
/// units. Current limits are never negative in a state this crate produces (a negative
/// limit on the wire counts as 0).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BatteryState {
    /// Charge voltage limit (CVL).
    pub charge_voltage_limit: Millivolts,
    /// Charge current limit (CCL), never negative.
    pub charge_current_limit: Milliamps,
    /// Discharge current limit (DCL), never negative.
    pub discharge_current_limit: Milliamps,
    /// State of charge.
    pub soc: Permille,
    /// State of health.
    pub soh: Permille,
    /// Battery voltage.
    pub voltage: Millivolts,
    /// Battery current; positive = charging.
    pub current: Milliamps,
    /// Battery temperature.
    pub temperature: DeciCelsius,
    /// Protection (error) flags.
    pub errors: Flags,
    /// Warning flags, same bit positions as `errors`.
    pub warnings: Flags,
    /// Charging allowed.
    pub charge_enable: bool,
    /// Discharging allowed.
    pub discharge_enable: bool,
    /// Force-charge and full-charge requests.
    pub requests: Requests,
    /// Number of modules behind this BMS.
    pub module_count: u16,
}

impl BatteryState {
    /// Whether this battery forbids charging: its charge enable is off, or it raises a
    /// protection (error) flag other than those of [`Flags::DISCHARGE_ONLY`] (a BMS in
    /// over-voltage or over-temperature protection forbids charging even if it still
    /// announces a limit).
    pub const fn forbids_charge(&self) -> bool {
        !self.charge_enable || self.errors.0 & !Flags::DISCHARGE_ONLY != 0
    }

    /// Whether this battery forbids discharging: its discharge enable is off, or it raises a
    /// protection (error) flag other than those of [`Flags::CHARGE_ONLY`].
    pub const fn forbids_discharge(&self) -> bool {
        !self.discharge_enable || self.errors.0 & !Flags::CHARGE_ONLY != 0
    }

    /// Whether this battery forbids charging or discharging ([`Self::forbids_charge`] or
    /// [`Self::forbids_discharge`]).
    pub const fn blocks(&self) -> bool {
        self.forbids_charge() || self.forbids_discharge()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_core::FlagWord as _;
    use voltwire_pylontech::can::{Protection, Warning};

    #[test]
    fn flags_name_their_bits_at_the_pylontech_positions() {
        let f = Flags(Flags::HIGH_VOLTAGE | Flags::SYSTEM | 1 << 15);
        assert!(f.flags().eq(["high_voltage", "system"]));
        assert_eq!(f.unknown_bits(), 1 << 15);
        assert!(f.contains(Flags::SYSTEM) && !f.contains(Flags::LOW_VOLTAGE));
        assert!(f.is_set(11) && !f.is_set(2));
        // The same positions as the 0x359 protection and warning words.
        assert_eq!(
            voltwire_core::table::mask(Flags::BITS),
            voltwire_core::table::mask(Protection::BITS)
        );
        assert_eq!(
            voltwire_core::table::mask(Flags::BITS),
            voltwire_core::table::mask(Warning::BITS)
        );
    }
}
