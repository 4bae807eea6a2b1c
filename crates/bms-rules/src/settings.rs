//! The rule settings table: the keys a user sets (the Linux app's `[rules]` TOML table,
//! the MQTT `<base>/command/config` JSON, the retained `<base>/config` echo), in app units
//! (`_pct`, `_v`, `_c`, `_s`, `_w`), with their ranges, the fix each refusal names, and how
//! each lands in a [`Config`]. One table for the Linux app and the ESP32 firmware.
//!
//! Values are exact decimals ([`Decimal`]), never floats: `3.05` V is 3050 mV. A
//! [`Patch`] holds what was given; [`Patch::apply`] range-checks every key in table order,
//! applies them to a base [`Config`] and validates the result as a whole, so a refused
//! patch changes nothing. [`Patch::from_json`] reads the flat JSON object and
//! [`write_json`] writes every key of a configuration (the retained echo).

use core::cmp::Ordering;
use core::fmt;

use voltwire_core::{DeciCelsius, Millivolts, Permille, Watts};

use crate::config::Config;

/// How many keys the table has.
pub const COUNT: usize = 28;

/// One key of the rule settings table.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    missing_docs,
    reason = "each key is described by its spec and the app's template"
)]
pub enum Setting {
    CellCount,
    Load1OnSocPvLowPct,
    Load1OnSocPvHighPct,
    Load1OffSocPct,
    Load2OnSocPvLowPct,
    Load2OnSocPvHighPct,
    Load2OffSocPct,
    PvHighW,
    BalancerOnDiffV,
    BalancerOnCellV,
    BalancerOffCellV,
    TimeoutBmsS,
    TimeoutVedirectS,
    TimeoutSensorS,
    LowVoltageTripCellV,
    LowVoltageRecoverCellV,
    CellDiffTripV,
    CellDiffRecoverV,
    CellTempTripC,
    CellTempRecoverC,
    ChargerTempTripC,
    ChargerTempRecoverC,
    StartupHoldS,
    FilterCellDiffJumpV,
    FilterSocJumpPct,
    FilterVoltageJumpV,
    FilterTempJumpC,
    FilterMaxDiscards,
}

/// What a key is: its name, its exact unit (`decimals` digits after the point of the app
/// unit, e.g. 3 for volts held as mV), whether it takes whole numbers only, and its range
/// in that exact unit with the fix a refusal names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The key, e.g. `cell_diff_recover_v`.
    pub name: &'static str,
    /// Digits after the decimal point the key keeps exactly (0 for whole numbers).
    pub decimals: u32,
    /// Whole numbers only (a count, seconds, watts).
    pub integer: bool,
    /// Smallest value, in units of `10^-decimals` of the app unit.
    pub min: i64,
    /// Largest value, in units of `10^-decimals` of the app unit.
    pub max: i64,
    /// What a refusal says to do.
    pub fix: &'static str,
}

const PCT: &str = "must be a number from 0 to 100";
const V1: &str = "must be a number from 0 to 1";
const V5: &str = "must be a number from 0 to 5";
const TEMP: &str = "must be a number from -40 to 120";
const TIMEOUT: &str = "must be 1..=86400 s";

const fn spec(name: &'static str, decimals: u32, min: i64, max: i64, fix: &'static str) -> Spec {
    Spec {
        name,
        decimals,
        integer: false,
        min,
        max,
        fix,
    }
}

const fn whole(name: &'static str, min: i64, max: i64, fix: &'static str) -> Spec {
    Spec {
        name,
        decimals: 0,
        integer: true,
        min,
        max,
        fix,
    }
}

const FALLBACK: Spec = whole("rules", 0, 0, "not a rule setting");

/// The table, in [`Setting::ALL`] order.
const SPECS: [Spec; COUNT] = [
    whole(
        "cell_count",
        1,
        32,
        "must be 1..=32 (8 for a 24 V LFP pack, 16 for 48 V)",
    ),
    spec("load1_on_soc_pv_low_pct", 1, 0, 1000, PCT),
    spec("load1_on_soc_pv_high_pct", 1, 0, 1000, PCT),
    spec("load1_off_soc_pct", 1, 0, 1000, PCT),
    spec("load2_on_soc_pv_low_pct", 1, 0, 1000, PCT),
    spec("load2_on_soc_pv_high_pct", 1, 0, 1000, PCT),
    spec("load2_off_soc_pct", 1, 0, 1000, PCT),
    whole(
        "pv_high_w",
        i32::MIN as i64,
        i32::MAX as i64,
        "must be a whole number of watts above 0",
    ),
    spec("balancer_on_diff_v", 3, 0, 1000, V1),
    spec("balancer_on_cell_v", 3, 0, 5000, V5),
    spec("balancer_off_cell_v", 3, 0, 5000, V5),
    whole("timeout_bms_s", 1, 86_400, TIMEOUT),
    whole("timeout_vedirect_s", 1, 86_400, TIMEOUT),
    whole("timeout_sensor_s", 1, 86_400, TIMEOUT),
    spec("low_voltage_trip_cell_v", 3, 0, 5000, V5),
    spec("low_voltage_recover_cell_v", 3, 0, 5000, V5),
    spec("cell_diff_trip_v", 3, 0, 1000, V1),
    spec("cell_diff_recover_v", 3, 0, 1000, V1),
    spec("cell_temp_trip_c", 1, -400, 1200, TEMP),
    spec("cell_temp_recover_c", 1, -400, 1200, TEMP),
    spec("charger_temp_trip_c", 1, -400, 1200, TEMP),
    spec("charger_temp_recover_c", 1, -400, 1200, TEMP),
    whole("startup_hold_s", 0, 3600, "must be 0..=3600 s"),
    spec("filter_cell_diff_jump_v", 3, 0, 1000, V1),
    spec("filter_soc_jump_pct", 1, 0, 1000, PCT),
    spec(
        "filter_voltage_jump_v",
        3,
        0,
        100_000,
        "must be a number from 0 to 100",
    ),
    spec("filter_temp_jump_c", 1, -400, 1200, TEMP),
    whole(
        "filter_max_discards",
        0,
        255,
        "must be a whole number from 0 to 255",
    ),
];

/// Every key name, in table order (e.g. for an "expected one of" message).
#[allow(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: an index out of bounds fails the build, never a run"
)]
pub const NAMES: [&str; COUNT] = {
    let mut names = [""; COUNT];
    let mut i = 0;
    while i < COUNT {
        names[i] = SPECS[i].name;
        i += 1;
    }
    names
};

fn sat_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

fn sat_i16(v: i64) -> i16 {
    i16::try_from(v).unwrap_or(if v < 0 { i16::MIN } else { i16::MAX })
}

fn sat_u8(v: i64) -> u8 {
    u8::try_from(v).unwrap_or(if v < 0 { 0 } else { u8::MAX })
}

fn ms(s: i64) -> u64 {
    u64::try_from(s).unwrap_or(0).saturating_mul(1000)
}

fn secs(ms: u64) -> i64 {
    i64::try_from(ms / 1000).unwrap_or(i64::MAX)
}

impl Setting {
    /// Every key, in table order.
    pub const ALL: [Self; COUNT] = [
        Self::CellCount,
        Self::Load1OnSocPvLowPct,
        Self::Load1OnSocPvHighPct,
        Self::Load1OffSocPct,
        Self::Load2OnSocPvLowPct,
        Self::Load2OnSocPvHighPct,
        Self::Load2OffSocPct,
        Self::PvHighW,
        Self::BalancerOnDiffV,
        Self::BalancerOnCellV,
        Self::BalancerOffCellV,
        Self::TimeoutBmsS,
        Self::TimeoutVedirectS,
        Self::TimeoutSensorS,
        Self::LowVoltageTripCellV,
        Self::LowVoltageRecoverCellV,
        Self::CellDiffTripV,
        Self::CellDiffRecoverV,
        Self::CellTempTripC,
        Self::CellTempRecoverC,
        Self::ChargerTempTripC,
        Self::ChargerTempRecoverC,
        Self::StartupHoldS,
        Self::FilterCellDiffJumpV,
        Self::FilterSocJumpPct,
        Self::FilterVoltageJumpV,
        Self::FilterTempJumpC,
        Self::FilterMaxDiscards,
    ];

    /// Its position in [`Setting::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// What the key is.
    pub fn spec(self) -> Spec {
        // `SPECS` has one entry per variant, so the fallback is never used.
        SPECS.get(self.index()).copied().unwrap_or(FALLBACK)
    }

    /// The key's name, e.g. `cell_diff_recover_v`.
    pub fn name(self) -> &'static str {
        NAMES.get(self.index()).copied().unwrap_or("rules")
    }

    /// The key of a name; `None` for any other.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Its value in `config`, in units of `10^-decimals` of the app unit (seconds are
    /// whole seconds: a timeout of 1500 ms reads 1).
    pub fn get(self, c: &Config) -> i64 {
        let [l1, l2] = c.loads;
        match self {
            Self::CellCount => i64::from(c.cell_count),
            Self::Load1OnSocPvLowPct => i64::from(l1.on_soc_pv_low.0),
            Self::Load1OnSocPvHighPct => i64::from(l1.on_soc_pv_high.0),
            Self::Load1OffSocPct => i64::from(l1.off_soc.0),
            Self::Load2OnSocPvLowPct => i64::from(l2.on_soc_pv_low.0),
            Self::Load2OnSocPvHighPct => i64::from(l2.on_soc_pv_high.0),
            Self::Load2OffSocPct => i64::from(l2.off_soc.0),
            Self::PvHighW => i64::from(c.pv_high.0),
            Self::BalancerOnDiffV => i64::from(c.balancer.on_diff.0),
            Self::BalancerOnCellV => i64::from(c.balancer.on_cell.0),
            Self::BalancerOffCellV => i64::from(c.balancer.off_cell.0),
            Self::TimeoutBmsS => secs(c.timeouts.bms_ms),
            Self::TimeoutVedirectS => secs(c.timeouts.vedirect_ms),
            Self::TimeoutSensorS => secs(c.timeouts.sensor_ms),
            Self::LowVoltageTripCellV => i64::from(c.low_voltage_per_cell.trip.0),
            Self::LowVoltageRecoverCellV => i64::from(c.low_voltage_per_cell.recover.0),
            Self::CellDiffTripV => i64::from(c.cell_diff.trip.0),
            Self::CellDiffRecoverV => i64::from(c.cell_diff.recover.0),
            Self::CellTempTripC => i64::from(c.cell_temp.trip.0),
            Self::CellTempRecoverC => i64::from(c.cell_temp.recover.0),
            Self::ChargerTempTripC => i64::from(c.charger_temp.trip.0),
            Self::ChargerTempRecoverC => i64::from(c.charger_temp.recover.0),
            Self::StartupHoldS => secs(c.startup_hold_ms),
            Self::FilterCellDiffJumpV => i64::from(c.filters.cell_diff_jump.0),
            Self::FilterSocJumpPct => i64::from(c.filters.soc_jump.0),
            Self::FilterVoltageJumpV => i64::from(c.filters.voltage_jump.0),
            Self::FilterTempJumpC => i64::from(c.filters.temp_jump.0),
            Self::FilterMaxDiscards => i64::from(c.filters.max_discards),
        }
    }

    /// Set it in `config` from a value in its exact unit (already range-checked).
    fn set(self, c: &mut Config, v: i64) {
        let [l1, l2] = &mut c.loads;
        match self {
            Self::CellCount => c.cell_count = sat_u8(v),
            Self::Load1OnSocPvLowPct => l1.on_soc_pv_low = Permille(sat_i16(v)),
            Self::Load1OnSocPvHighPct => l1.on_soc_pv_high = Permille(sat_i16(v)),
            Self::Load1OffSocPct => l1.off_soc = Permille(sat_i16(v)),
            Self::Load2OnSocPvLowPct => l2.on_soc_pv_low = Permille(sat_i16(v)),
            Self::Load2OnSocPvHighPct => l2.on_soc_pv_high = Permille(sat_i16(v)),
            Self::Load2OffSocPct => l2.off_soc = Permille(sat_i16(v)),
            Self::PvHighW => c.pv_high = Watts(sat_i32(v)),
            Self::BalancerOnDiffV => c.balancer.on_diff = Millivolts(sat_i32(v)),
            Self::BalancerOnCellV => c.balancer.on_cell = Millivolts(sat_i32(v)),
            Self::BalancerOffCellV => c.balancer.off_cell = Millivolts(sat_i32(v)),
            Self::TimeoutBmsS => c.timeouts.bms_ms = ms(v),
            Self::TimeoutVedirectS => c.timeouts.vedirect_ms = ms(v),
            Self::TimeoutSensorS => c.timeouts.sensor_ms = ms(v),
            Self::LowVoltageTripCellV => c.low_voltage_per_cell.trip = Millivolts(sat_i32(v)),
            Self::LowVoltageRecoverCellV => {
                c.low_voltage_per_cell.recover = Millivolts(sat_i32(v));
            }
            Self::CellDiffTripV => c.cell_diff.trip = Millivolts(sat_i32(v)),
            Self::CellDiffRecoverV => c.cell_diff.recover = Millivolts(sat_i32(v)),
            Self::CellTempTripC => c.cell_temp.trip = DeciCelsius(sat_i16(v)),
            Self::CellTempRecoverC => c.cell_temp.recover = DeciCelsius(sat_i16(v)),
            Self::ChargerTempTripC => c.charger_temp.trip = DeciCelsius(sat_i16(v)),
            Self::ChargerTempRecoverC => c.charger_temp.recover = DeciCelsius(sat_i16(v)),
            Self::StartupHoldS => c.startup_hold_ms = ms(v),
            Self::FilterCellDiffJumpV => c.filters.cell_diff_jump = Millivolts(sat_i32(v)),
            Self::FilterSocJumpPct => c.filters.soc_jump = Permille(sat_i16(v)),
            Self::FilterVoltageJumpV => c.filters.voltage_jump = Millivolts(sat_i32(v)),
            Self::FilterTempJumpC => c.filters.temp_jump = DeciCelsius(sat_i16(v)),
            Self::FilterMaxDiscards => c.filters.max_discards = sat_u8(v),
        }
    }

    /// `value` in this key's exact unit (rounded half away from zero beyond its decimals),
    /// when it is in range (and whole, for a whole-number key).
    ///
    /// # Errors
    /// [`SettingError`] naming the key and its range.
    pub fn check(self, value: Decimal) -> Result<i64, SettingError> {
        let s = self.spec();
        let bad = SettingError {
            field: s.name,
            fix: s.fix,
        };
        let (q, frac) = value.scaled(s.decimals).ok_or(bad)?;
        let above_max = q > s.max || (q == s.max && frac == Ordering::Greater);
        let below_min = q < s.min || (q == s.min && frac == Ordering::Less);
        if above_max || below_min || (s.integer && frac != Ordering::Equal) {
            return Err(bad);
        }
        // Round half away from zero from the truncated value and the fraction's sign.
        let rounded = match (value.half(s.decimals), frac) {
            (true, Ordering::Greater) => q.saturating_add(1),
            (true, Ordering::Less) => q.saturating_sub(1),
            _ => q,
        };
        Ok(rounded.clamp(s.min, s.max))
    }

    /// Write `value` (in this key's exact unit) as JSON in the app unit: a whole-number key
    /// as an integer, any other with at least one digit after the point and no trailing
    /// zeros beyond it (`60.0`, `0.015`, `3.4`: what a float in the app's JSON reads).
    ///
    /// # Errors
    /// What `out` reports.
    pub fn write_value<W: fmt::Write>(self, out: &mut W, value: i64) -> fmt::Result {
        let s = self.spec();
        if s.integer || s.decimals == 0 {
            return write!(out, "{value}");
        }
        let scale = 10u64.pow(s.decimals);
        let abs = value.unsigned_abs();
        let (int, mut frac) = (abs / scale, abs % scale);
        let mut digits = s.decimals;
        while digits > 1 && frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        let sign = if value < 0 { "-" } else { "" };
        let width = usize::try_from(digits).unwrap_or(1);
        write!(out, "{sign}{int}.{frac:0width$}")
    }
}

/// A setting that cannot be used: the key and what to change.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {fix}")]
pub struct SettingError {
    /// The key, e.g. `cell_diff_recover_v` (`rules` when no key is to blame).
    pub field: &'static str,
    /// What to change.
    pub fix: &'static str,
}

/// An exact decimal number as written: `mantissa × 10^exponent`. Up to 18 significant
/// digits are kept; more only lose precision far below any key's unit.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    mantissa: i64,
    exponent: i32,
}

const MAX_DIGITS: u32 = 18;

impl Decimal {
    /// A whole number.
    pub const fn from_int(v: i64) -> Self {
        Self {
            mantissa: v,
            exponent: 0,
        }
        .normal()
    }

    /// The one form of a value (no trailing zeros in the mantissa), so that `==` compares
    /// values.
    const fn normal(mut self) -> Self {
        if self.mantissa == 0 {
            self.exponent = 0;
            return self;
        }
        while self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.exponent = self.exponent.saturating_add(1);
        }
        self
    }

    /// A whole number beyond `i64` (precision lost in the last digit; no key takes it).
    pub fn from_u64(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(m) => Self::from_int(m),
            Err(_) => Self {
                mantissa: i64::try_from(v / 10).unwrap_or(i64::MAX),
                exponent: 1,
            }
            .normal(),
        }
    }

    /// `value / 10^decimals`, exactly.
    pub fn fixed(value: i64, decimals: u32) -> Self {
        Self {
            mantissa: value,
            exponent: -i32::try_from(decimals).unwrap_or(0),
        }
        .normal()
    }

    /// Read a number as JSON writes it (`-12`, `3.05`, `1e3`, `2.5E-1`); any length of
    /// digits, no panic. `None` for anything else (including `inf`, `NaN`, `+1`, `.5`).
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let mut i = 0;
        let negative = b.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let mut mantissa: i64 = 0;
        let mut exponent: i32 = 0;
        let mut significant = 0u32;
        let mut int_digits = 0;
        let mut push = |d: u8, fraction: bool, significant: &mut u32| {
            if mantissa == 0 && d == 0 {
                if fraction {
                    exponent = exponent.saturating_sub(1);
                }
                return;
            }
            if *significant < MAX_DIGITS {
                mantissa = mantissa * 10 + i64::from(d);
                *significant += 1;
                if fraction {
                    exponent = exponent.saturating_sub(1);
                }
            } else if !fraction {
                exponent = exponent.saturating_add(1);
            }
        };
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            push(c - b'0', false, &mut significant);
            int_digits += 1;
            i += 1;
        }
        if int_digits == 0 {
            return None;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            let mut frac_digits = 0;
            while let Some(&c) = b.get(i) {
                if !c.is_ascii_digit() {
                    break;
                }
                push(c - b'0', true, &mut significant);
                frac_digits += 1;
                i += 1;
            }
            if frac_digits == 0 {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exp_negative = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let mut e: i32 = 0;
            let mut exp_digits = 0;
            while let Some(&c) = b.get(i) {
                if !c.is_ascii_digit() {
                    break;
                }
                e = e.saturating_mul(10).saturating_add(i32::from(c - b'0'));
                exp_digits += 1;
                i += 1;
            }
            if exp_digits == 0 {
                return None;
            }
            exponent = exponent.saturating_add(if exp_negative { -e } else { e });
        }
        if i != b.len() {
            return None;
        }
        Some(
            Self {
                mantissa: if negative { -mantissa } else { mantissa },
                exponent,
            }
            .normal(),
        )
    }

    /// `self × 10^decimals` truncated toward zero, and the sign of what was cut off;
    /// `None` when it does not fit an `i64`.
    fn scaled(self, decimals: u32) -> Option<(i64, Ordering)> {
        let e = self
            .exponent
            .saturating_add(i32::try_from(decimals).unwrap_or(i32::MAX));
        if e >= 0 {
            let factor = 10i64.checked_pow(u32::try_from(e).ok()?)?;
            return Some((self.mantissa.checked_mul(factor)?, Ordering::Equal));
        }
        let div = e.unsigned_abs();
        if div > MAX_DIGITS {
            // |mantissa| < 10^18: nothing of it is left above the point.
            return Some((0, self.mantissa.cmp(&0)));
        }
        let d = 10i64.pow(div);
        let (q, r) = (self.mantissa / d, self.mantissa % d);
        Some((q, r.cmp(&0)))
    }

    /// Whether the part cut off by [`Decimal::scaled`] is at least one half.
    fn half(self, decimals: u32) -> bool {
        let e = self
            .exponent
            .saturating_add(i32::try_from(decimals).unwrap_or(i32::MAX));
        if e >= 0 {
            return false;
        }
        let div = e.unsigned_abs();
        if div > MAX_DIGITS {
            return false;
        }
        let d = 10i64.pow(div);
        let r = (self.mantissa % d).unsigned_abs();
        r.saturating_mul(2) >= d.unsigned_abs()
    }
}

/// Some of the keys, each as given: what a `[rules]` table, a config command or a retained
/// config carries. Nothing is checked until [`Patch::apply`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Patch {
    values: [Option<Decimal>; COUNT],
}

impl Patch {
    /// No key given.
    pub const fn new() -> Self {
        Self {
            values: [None; COUNT],
        }
    }

    /// Every key, from a configuration (what the retained echo carries).
    pub fn from_config(c: &Config) -> Self {
        let mut p = Self::new();
        for s in Setting::ALL {
            p.set(s, Decimal::fixed(s.get(c), s.spec().decimals));
        }
        p
    }

    /// Give `setting` this value (replacing one given before).
    pub fn set(&mut self, setting: Setting, value: Decimal) {
        if let Some(v) = self.values.get_mut(setting.index()) {
            *v = Some(value);
        }
    }

    /// The value given for `setting`.
    pub fn get(&self, setting: Setting) -> Option<Decimal> {
        self.values.get(setting.index()).copied().flatten()
    }

    /// Whether no key is given.
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    /// `base` with every given key applied, checked key by key in table order and then as
    /// a whole ([`Config::validate`]).
    ///
    /// # Errors
    /// The first key out of range, or the key the whole-configuration check blames (e.g. a
    /// recovery threshold on the wrong side of its trip).
    pub fn apply(&self, base: Config) -> Result<Config, SettingError> {
        let mut c = base;
        for s in Setting::ALL {
            if let Some(v) = self.get(s) {
                let v = s.check(v)?;
                s.set(&mut c, v);
            }
        }
        c.validate().map_err(|e| SettingError {
            field: key_of_rules_field(e.field),
            fix: e.fix,
        })?;
        Ok(c)
    }

    /// Read a flat JSON object of keys and numbers (`null` = not given), e.g.
    /// `{"cell_count": 16, "cell_temp_trip_c": 40.5}`. Values are only read here; their
    /// ranges are checked by [`Patch::apply`].
    ///
    /// # Errors
    /// [`PatchError`]: not such an object, an unknown or repeated key, a value that is not
    /// a number.
    pub fn from_json(json: &[u8]) -> Result<Self, PatchError> {
        let text = core::str::from_utf8(json).map_err(|_| PatchError::BadJson("not UTF-8"))?;
        let mut r = Reader { text, at: 0 };
        let mut p = Self::new();
        r.ws();
        r.expect(b'{', "expected a JSON object of rule settings")?;
        r.ws();
        if r.eat(b'}') {
            return r.end(&p);
        }
        loop {
            r.ws();
            let key = r.string()?;
            let setting = Setting::from_name(key).ok_or_else(|| {
                let mut k = heapless::String::new();
                for c in key.chars() {
                    if k.push(c).is_err() {
                        break;
                    }
                }
                PatchError::UnknownField(k)
            })?;
            r.ws();
            r.expect(b':', "expected `:` after a key")?;
            r.ws();
            let not_number = SettingError {
                field: setting.name(),
                fix: "must be a number",
            };
            if r.rest().starts_with("null") {
                r.at += 4;
            } else {
                let token = r.number_token();
                if token.is_empty() {
                    return Err(PatchError::Invalid(not_number));
                }
                let value = Decimal::parse(token).ok_or(PatchError::Invalid(not_number))?;
                if p.get(setting).is_some() {
                    return Err(PatchError::Duplicate(setting));
                }
                p.set(setting, value);
            }
            r.ws();
            if r.eat(b',') {
                continue;
            }
            r.expect(b'}', "expected `,` or `}`")?;
            return r.end(&p);
        }
    }
}

/// Why a settings JSON cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// Not a flat JSON object of keys and numbers (what is wrong).
    BadJson(&'static str),
    /// A key the table does not have (its first 32 characters).
    UnknownField(heapless::String<32>),
    /// A key given twice.
    Duplicate(Setting),
    /// A value that is not a number.
    Invalid(SettingError),
}

impl PatchError {
    /// The stable code of the apps' command results: `bad_json`, `unknown_field` or
    /// `invalid_value`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::BadJson(_) => "bad_json",
            Self::UnknownField(_) => "unknown_field",
            Self::Duplicate(_) | Self::Invalid(_) => "invalid_value",
        }
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadJson(why) => write!(f, "{why}"),
            Self::UnknownField(k) => write!(
                f,
                "unknown field `{k}`; the keys are those of the retained config"
            ),
            Self::Duplicate(s) => write!(f, "duplicate field `{}`", s.name()),
            Self::Invalid(e) => write!(f, "`{}`: {}", e.field, e.fix),
        }
    }
}

impl core::error::Error for PatchError {}

#[cfg(feature = "defmt")]
impl defmt::Format for PatchError {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Self::BadJson(why) => defmt::write!(f, "{}", why),
            Self::UnknownField(k) => defmt::write!(f, "unknown field `{}`", k.as_str()),
            Self::Duplicate(s) => defmt::write!(f, "duplicate field `{}`", s.name()),
            Self::Invalid(e) => defmt::write!(f, "{}", e),
        }
    }
}

/// A cursor over JSON text (no allocation, never panics).
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or("")
    }

    fn ws(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.rest().as_bytes().first() == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, why: &'static str) -> Result<(), PatchError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(PatchError::BadJson(why))
        }
    }

    /// A key: a string without escapes (no key of the table needs one; an escaped key is
    /// returned as written and so is unknown).
    fn string(&mut self) -> Result<&'a str, PatchError> {
        self.expect(b'"', "expected a quoted key")?;
        let rest = self.rest();
        let end = rest
            .find('"')
            .ok_or(PatchError::BadJson("unterminated string"))?;
        let s = rest.get(..end).unwrap_or("");
        self.at += end + 1;
        Ok(s)
    }

    fn number_token(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(rest.len());
        self.at += len;
        rest.get(..len).unwrap_or("")
    }

    fn end(mut self, p: &Patch) -> Result<Patch, PatchError> {
        self.ws();
        if self.rest().is_empty() {
            Ok(*p)
        } else {
            Err(PatchError::BadJson("trailing characters after the object"))
        }
    }
}

/// Write every key of `config` as one JSON object in table order, e.g.
/// `{"cell_count":8,"load1_on_soc_pv_low_pct":60.0,…}`: the retained `<base>/config` echo.
///
/// # Errors
/// What `out` reports (e.g. it is full).
pub fn write_json<W: fmt::Write>(out: &mut W, config: &Config) -> fmt::Result {
    out.write_char('{')?;
    for (i, s) in Setting::ALL.into_iter().enumerate() {
        if i > 0 {
            out.write_char(',')?;
        }
        write!(out, "\"{}\":", s.name())?;
        s.write_value(out, s.get(config))?;
    }
    out.write_char('}')
}

/// The table's key for a field [`Config::validate`] names (`rules` for one the table
/// does not set, e.g. the number of chargers, which comes from the app's inputs).
pub fn key_of_rules_field(field: &str) -> &'static str {
    match field {
        "cell_count" => "cell_count",
        "chargers" => "charger",
        "loads[0].off_soc" => "load1_off_soc_pct",
        "loads[0].on_soc_pv_low" => "load1_on_soc_pv_low_pct",
        "loads[0].on_soc_pv_high" => "load1_on_soc_pv_high_pct",
        "loads[1].off_soc" => "load2_off_soc_pct",
        "loads[1].on_soc_pv_low" => "load2_on_soc_pv_low_pct",
        "loads[1].on_soc_pv_high" => "load2_on_soc_pv_high_pct",
        "pv_high" => "pv_high_w",
        "balancer.on_diff" => "balancer_on_diff_v",
        "balancer.off_cell" => "balancer_off_cell_v",
        "timeouts.bms" => "timeout_bms_s",
        "timeouts.vedirect" => "timeout_vedirect_s",
        "timeouts.sensor" => "timeout_sensor_s",
        "low_voltage.recover_cell" => "low_voltage_recover_cell_v",
        "cell_diff.recover" => "cell_diff_recover_v",
        "cell_temp.recover" => "cell_temp_recover_c",
        "charger_temp.recover" => "charger_temp_recover_c",
        "filters.cell_diff_jump" => "filter_cell_diff_jump_v",
        "filters.soc_jump" => "filter_soc_jump_pct",
        "filters.voltage_jump" => "filter_voltage_jump_v",
        "filters.temp_jump" => "filter_temp_jump_c",
        _ => "rules",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn decimals_parse_exactly_or_not_at_all() {
        assert_eq!(d("3.05"), Decimal::fixed(305, 2));
        assert_eq!(d("-0.5"), Decimal::fixed(-5, 1));
        assert_eq!(d("1e3"), Decimal::from_int(1000));
        assert_eq!(d("25E-2"), Decimal::fixed(25, 2));
        assert_eq!(d("0.000"), Decimal::from_int(0));
        for bad in [
            "", "-", "+1", ".5", "1.", "1e", "1e+", "inf", "NaN", "1..2", "1 ", "0x10",
        ] {
            assert_eq!(Decimal::parse(bad), None, "{bad:?}");
        }
        // Any length: 400 digits neither panic nor wrap.
        let long = "9".repeat(400);
        assert_eq!(
            Setting::CellCount.check(d(&long)).unwrap_err().field,
            "cell_count"
        );
        let tiny = std::format!("0.{}1", "0".repeat(400));
        assert_eq!(Setting::CellTempTripC.check(d(&tiny)), Ok(0));
        assert!(Setting::CellCount.check(d("1e2147483647")).is_err());
        assert!(
            Setting::CellCount.check(d("1e-2147483648")).is_err(),
            "not whole"
        );
    }

    #[test]
    fn ranges_are_exact_at_both_edges() {
        let v = Setting::BalancerOnCellV;
        assert_eq!(v.check(d("5")), Ok(5000));
        assert_eq!(v.check(d("5.000")), Ok(5000));
        assert!(v.check(d("5.0001")).is_err(), "beyond 5 V before rounding");
        assert_eq!(v.check(d("0")), Ok(0));
        assert!(v.check(d("-0.0001")).is_err());
        // Rounded half away from zero beyond the unit.
        assert_eq!(v.check(d("3.0505")), Ok(3051));
        assert_eq!(v.check(d("3.0504999")), Ok(3050));
        let t = Setting::CellTempTripC;
        assert_eq!(t.check(d("-40")), Ok(-400));
        assert!(t.check(d("-40.01")).is_err());
        assert_eq!(t.check(d("-12.25")), Ok(-123));
        assert_eq!(t.check(d("120")), Ok(1200));
        assert!(t.check(d("120.04")).is_err());
        let c = Setting::CellCount;
        assert!(c.check(d("0")).is_err());
        assert_eq!(c.check(d("1")), Ok(1));
        assert_eq!(c.check(d("32")), Ok(32));
        assert_eq!(c.check(d("16.0")), Ok(16));
        assert!(c.check(d("33")).is_err());
        assert!(c.check(d("8.5")).is_err(), "whole numbers only");
        let e = Setting::TimeoutBmsS.check(d("0")).unwrap_err();
        assert_eq!((e.field, e.fix), ("timeout_bms_s", "must be 1..=86400 s"));
        assert_eq!(Setting::TimeoutBmsS.check(d("86400")), Ok(86_400));
        assert!(Setting::TimeoutBmsS.check(d("86401")).is_err());
        assert_eq!(Setting::StartupHoldS.check(d("0")), Ok(0));
        assert!(Setting::StartupHoldS.check(d("3601")).is_err());
    }

    #[test]
    fn names_round_trip_and_defaults_echo() {
        for s in Setting::ALL {
            assert_eq!(Setting::from_name(s.name()), Some(s));
            assert_eq!(NAMES[s.index()], s.name());
        }
        assert_eq!(Setting::from_name("cel_count"), None);
        let c = Config::default();
        assert_eq!(Patch::from_config(&c).apply(Config::default()), Ok(c));
        let mut s = heapless::String::<1024>::new();
        write_json(&mut s, &c).unwrap();
        assert!(s.starts_with(
            "{\"cell_count\":8,\"load1_on_soc_pv_low_pct\":60.0,\"load1_on_soc_pv_high_pct\":30.0,"
        ));
        for part in [
            "\"pv_high_w\":170,",
            "\"balancer_on_diff_v\":0.015,",
            "\"balancer_on_cell_v\":3.4,",
            "\"timeout_vedirect_s\":180,",
            "\"low_voltage_trip_cell_v\":3.05,",
            "\"cell_temp_trip_c\":35.0,",
            "\"filter_max_discards\":4}",
        ] {
            assert!(s.contains(part), "{part} in {s}");
        }
        let back = Patch::from_json(s.as_bytes()).unwrap();
        assert_eq!(back.apply(Config::default()), Ok(c));
    }

    #[test]
    fn negative_values_are_written_exactly() {
        let mut s = heapless::String::<16>::new();
        Setting::CellTempRecoverC.write_value(&mut s, -5).unwrap();
        assert_eq!(s.as_str(), "-0.5");
        s.clear();
        Setting::CellTempRecoverC.write_value(&mut s, -400).unwrap();
        assert_eq!(s.as_str(), "-40.0");
    }

    #[test]
    fn a_refused_patch_names_the_key_and_changes_nothing() {
        let base = Config::default();
        let p = Patch::from_json(br#"{"cell_diff_recover_v": 0.2}"#).unwrap();
        let e = p.apply(base).unwrap_err();
        assert_eq!(e.field, "cell_diff_recover_v");
        assert_eq!(e.fix, "must be above 0 mV and below cell_diff.trip");
        let p = Patch::from_json(br#"{"load1_off_soc_pct": 70}"#).unwrap();
        assert_eq!(p.apply(base).unwrap_err().field, "load1_on_soc_pv_low_pct");
        // The first key out of range in table order wins, whatever the JSON order.
        let p =
            Patch::from_json(br#"{"filter_temp_jump_c": 500, "cell_temp_trip_c": 200}"#).unwrap();
        assert_eq!(p.apply(base).unwrap_err().field, "cell_temp_trip_c");
        let p = Patch::from_json(br#"{"cell_temp_trip_c": 40.5, "cell_temp_recover_c": null}"#)
            .unwrap();
        let c = p.apply(base).unwrap();
        assert_eq!(c.cell_temp.trip, DeciCelsius(405));
        assert_eq!(c.cell_temp.recover, base.cell_temp.recover);
        assert_eq!(Patch::from_json(b" { } ").unwrap().apply(base), Ok(base));
    }

    #[test]
    fn malformed_json_is_refused_with_its_code() {
        for (json, code) in [
            (&b"{not json"[..], "bad_json"),
            (b"", "bad_json"),
            (b"[1]", "bad_json"),
            (b"{\"cell_count\": 8", "bad_json"),
            (b"{\"cell_count\": 8}}", "bad_json"),
            (b"{\"cell_count\" 8}", "bad_json"),
            (b"{\"cell_count\": 8,}", "bad_json"),
            (b"\xff", "bad_json"),
            (b"{\"no_such_key\": 1}", "unknown_field"),
            (b"{\"cell_count\": \"8\"}", "invalid_value"),
            (b"{\"cell_count\": true}", "invalid_value"),
            (b"{\"cell_count\": {}}", "invalid_value"),
            (b"{\"cell_count\": 8, \"cell_count\": 16}", "invalid_value"),
            (b"{\"cell_count\": 1-2}", "invalid_value"),
        ] {
            let e = Patch::from_json(json).unwrap_err();
            assert_eq!(e.code(), code, "{:?}: {e}", core::str::from_utf8(json));
        }
        let e = Patch::from_json(b"{\"cell_count\": \"8\"}").unwrap_err();
        assert_eq!(std::format!("{e}"), "`cell_count`: must be a number");
    }
}
