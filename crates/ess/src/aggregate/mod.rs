//! Many batteries as one: the rules of the aggregator (Venus OS battery service).
//!
//! Every battery's reading is classified by the [`Gateway`] policy of this crate (one
//! single-input gateway per battery, so batteries can be added at run time without resetting
//! the others): data age, plausibility and the recovery hold. The admitted batteries are then
//! combined:
//!
//! | Quantity | Rule |
//! |---|---|
//! | Voltage, SOC, SOH, temperature | [`combine`]: capacity-weighted average |
//! | Current | [`combine`]: sum |
//! | Charge / discharge current limit | [`combine`]'s [`crate::CurrentRule`] (N × smallest, sum, or capacity-weighted) |
//! | Charge voltage limit | minimum; [`CvlRule::MaxUntilFloat`]: the maximum until every battery asks for its float voltage or less |
//! | Time to go | capacity-weighted average of the batteries that report one |
//! | Installed capacity, remaining capacity, consumed Ah | sum |
//! | Cell voltage and temperature extremes | min / max, with the index of the battery they come from |
//! | Venus alarms (`/Alarms/*`, 0 ok, 1 warning, 2 alarm) | maximum per alarm |
//! | Allow to charge / discharge / balance | minimum (AND) |
//! | Modules online, offline, blocking charge / discharge | sum |
//!
//! Degrading, never failing: a battery that has no, stale or implausible data is handled by
//! the [`FaultPolicy`]: [`FaultPolicy::Exclude`] combines the rest (limits recomputed from
//! them), raises [`VenusAlarm::BmsCable`] to 2 and counts the battery's modules as offline
//! (its last known module count, at least 1); [`FaultPolicy::Block`] disables both
//! directions for all. A fresh battery that forbids a direction (allow off or a protection
//! flag) disables that direction for the whole stack. With no admitted battery the output
//! is the safe state: both directions off with zero current limits. When the number of
//! batteries seen differs from the number configured, [`VenusAlarm::InternalFailure`] is a
//! warning (1) and every missing battery counts one module offline; the aggregate still runs.

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts};

use crate::combine::{CombineConfig, combine};
use crate::plausibility::Plausibility;
use crate::policy::{
    Alarms, FaultPolicy, Gateway, GatewayConfig, InputConfig, InputStatus, Mode, NoInputPolicy,
    disabled,
};
use crate::state::{BatteryState, Flags};
use crate::time::Millis;

pub mod charge;
pub mod current;
pub mod feed_in;
pub mod schedule;
pub mod soc;

voltwire_core::code_enum! {
    /// The Venus OS battery alarms (`/Alarms/<name>`), each 0 (ok), 1 (warning) or 2 (alarm).
    pub enum VenusAlarm(u8) {
        /// `/Alarms/LowVoltage`.
        LowVoltage = 0 => "LowVoltage",
        /// `/Alarms/HighVoltage`.
        HighVoltage = 1 => "HighVoltage",
        /// `/Alarms/LowSoc`.
        LowSoc = 2 => "LowSoc",
        /// `/Alarms/HighChargeCurrent`.
        HighChargeCurrent = 3 => "HighChargeCurrent",
        /// `/Alarms/HighDischargeCurrent`.
        HighDischargeCurrent = 4 => "HighDischargeCurrent",
        /// `/Alarms/HighCurrent`.
        HighCurrent = 5 => "HighCurrent",
        /// `/Alarms/CellImbalance`.
        CellImbalance = 6 => "CellImbalance",
        /// `/Alarms/HighChargeTemperature`.
        HighChargeTemperature = 7 => "HighChargeTemperature",
        /// `/Alarms/LowChargeTemperature`.
        LowChargeTemperature = 8 => "LowChargeTemperature",
        /// `/Alarms/HighTemperature`.
        HighTemperature = 9 => "HighTemperature",
        /// `/Alarms/LowTemperature`.
        LowTemperature = 10 => "LowTemperature",
        /// `/Alarms/LowCellVoltage`.
        LowCellVoltage = 11 => "LowCellVoltage",
        /// `/Alarms/HighCellVoltage`.
        HighCellVoltage = 12 => "HighCellVoltage",
        /// `/Alarms/InternalFailure`.
        InternalFailure = 13 => "InternalFailure",
        /// `/Alarms/BmsCable` (here: a battery's data is lost).
        BmsCable = 14 => "BmsCable",
        /// `/Alarms/FuseBlown`.
        FuseBlown = 15 => "FuseBlown",
    }
}

/// How many [`VenusAlarm`]s there are.
pub const ALARM_COUNT: usize = 16;

/// The level of every [`VenusAlarm`], indexed by its raw value; each 0, 1 or 2 (higher values
/// count as 2).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AlarmLevels(pub [u8; ALARM_COUNT]);

impl AlarmLevels {
    /// The level of `alarm` (0 for an unknown one).
    pub fn get(&self, alarm: VenusAlarm) -> u8 {
        self.0.get(usize::from(alarm.raw())).copied().unwrap_or(0)
    }

    /// Raise `alarm` to at least `level` (capped at 2).
    pub fn raise(&mut self, alarm: VenusAlarm, level: u8) {
        if let Some(l) = self.0.get_mut(usize::from(alarm.raw())) {
            *l = (*l).max(level.min(2));
        }
    }

    /// The per-alarm maximum of `self` and `other`.
    #[must_use]
    pub fn max(mut self, other: &Self) -> Self {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = (*a).max((*b).min(2));
        }
        self
    }
}

/// Module counts a battery reports (`/System/NrOfModules…`).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Modules {
    /// Modules online.
    pub online: u16,
    /// Modules offline.
    pub offline: u16,
    /// Modules blocking charge.
    pub blocking_charge: u16,
    /// Modules blocking discharge.
    pub blocking_discharge: u16,
}

/// One battery's reading, in exact units. `state` carries the limits, measurements,
/// allows (`charge_enable`, `discharge_enable`) and flags; the rest is what a Venus battery
/// service adds.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Reading {
    /// Limits, measurements and allows.
    pub state: BatteryState,
    /// Installed capacity: the weight of this battery (0 = unknown: equal weights).
    pub installed_capacity: MilliampHours,
    /// Remaining capacity, when reported.
    pub capacity: Option<MilliampHours>,
    /// Consumed charge (positive), when reported.
    pub consumed: Option<MilliampHours>,
    /// Time to go in seconds, when reported.
    pub time_to_go_s: Option<u32>,
    /// Lowest cell voltage, when reported.
    pub min_cell: Option<Millivolts>,
    /// Highest cell voltage, when reported.
    pub max_cell: Option<Millivolts>,
    /// Lowest cell temperature, when reported (else `state.temperature` is used).
    pub min_temperature: Option<DeciCelsius>,
    /// Highest cell temperature, when reported (else `state.temperature` is used).
    pub max_temperature: Option<DeciCelsius>,
    /// Venus alarm levels.
    pub alarms: AlarmLevels,
    /// Balancing allowed.
    pub allow_balance: bool,
    /// Module counts; `online == 0` means "not reported" (1 module online, 0 offline).
    pub modules: Modules,
}

/// How the charge voltage limit of the aggregate follows from the batteries'.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CvlRule {
    /// The lowest limit (the default).
    #[default]
    Minimum,
    /// The highest limit until every admitted battery asks for `float` or less, then the
    /// lowest (the reference's option, so that one battery entering float does not stop
    /// the others from absorbing).
    MaxUntilFloat {
        /// A battery whose limit is at or below this is in float.
        float: Millivolts,
    },
}

/// Configuration of an [`Aggregator`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AggregateConfig {
    /// How the admitted batteries' current limits add up, and the stack's own limits.
    pub combine: CombineConfig,
    /// How the charge voltage limit follows.
    pub cvl: CvlRule,
    /// What a battery with no, stale or implausible data does.
    pub fault_policy: FaultPolicy,
    /// A reading older than this (ms) is stale.
    pub timeout_ms: u64,
    /// How long (ms) a battery must be fresh before it is admitted (again).
    pub recovery_hold_ms: u64,
    /// The ranges a reading must lie in.
    pub plausibility: Plausibility,
    /// The number of batteries expected (0 = any).
    pub expected: u16,
}

/// A cell extreme and the index of the battery it comes from.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Extreme<T> {
    /// The value.
    pub value: T,
    /// Index of the battery (in [`Aggregator::step`]'s `readings`).
    pub battery: usize,
}

/// The aggregate of one step.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aggregate<const N: usize> {
    /// The combined state after the policy (always present: the safe state when no battery
    /// is admitted).
    pub state: BatteryState,
    /// Normal, degraded, blocked or safe.
    pub mode: Mode,
    /// The policy's alarms (stale, recovering, blocking, no input, blocked, implausible).
    pub alarms: Alarms,
    /// Venus alarm levels: the maximum over the fresh batteries, plus the aggregate's own.
    pub venus_alarms: AlarmLevels,
    /// Sum of the admitted batteries' installed capacities.
    pub installed_capacity: MilliampHours,
    /// Sum of the admitted batteries' remaining capacities (`None` when none reports one).
    pub capacity: Option<MilliampHours>,
    /// Sum of the admitted batteries' consumed charge (`None` when none reports one).
    pub consumed: Option<MilliampHours>,
    /// Capacity-weighted time to go (`None` when no admitted battery reports one).
    pub time_to_go_s: Option<u32>,
    /// Lowest cell voltage.
    pub min_cell: Option<Extreme<Millivolts>>,
    /// Highest cell voltage.
    pub max_cell: Option<Extreme<Millivolts>>,
    /// Lowest temperature.
    pub min_temperature: Option<Extreme<DeciCelsius>>,
    /// Highest temperature.
    pub max_temperature: Option<Extreme<DeciCelsius>>,
    /// Balancing allowed by every admitted battery.
    pub allow_balance: bool,
    /// Module counts over all batteries (the missing and excluded ones count offline).
    pub modules: Modules,
    /// The number of batteries differs from the configured one.
    pub count_mismatch: bool,
    /// Each battery's classification.
    pub inputs: heapless::Vec<InputStatus, N>,
}

/// The aggregator: up to `N` batteries, added as they appear, never removed (a battery that
/// vanishes keeps its place and goes stale).
#[derive(Debug, Clone)]
pub struct Aggregator<const N: usize> {
    cfg: AggregateConfig,
    gates: heapless::Vec<Gateway<1>, N>,
    last: Option<BatteryState>,
}

fn weight(r: &Reading) -> i128 {
    i128::from(r.installed_capacity.0.max(0))
}

fn pick_min<T: Ord + Copy>(cur: Option<Extreme<T>>, v: T, battery: usize) -> Extreme<T> {
    match cur {
        Some(c) if c.value <= v => c,
        _ => Extreme { value: v, battery },
    }
}

fn pick_max<T: Ord + Copy>(cur: Option<Extreme<T>>, v: T, battery: usize) -> Extreme<T> {
    match cur {
        Some(c) if c.value >= v => c,
        _ => Extreme { value: v, battery },
    }
}

fn add_opt(acc: Option<MilliampHours>, v: Option<MilliampHours>) -> Option<MilliampHours> {
    match (acc, v) {
        (None, None) => None,
        (a, b) => Some(MilliampHours(
            a.map_or(0, |x| x.0).saturating_add(b.map_or(0, |x| x.0)),
        )),
    }
}

/// The sums, extremes and time to go of the admitted batteries.
fn fill_totals<'a, const N: usize>(
    out: &mut Aggregate<N>,
    admitted: impl Iterator<Item = (usize, &'a Reading)>,
) {
    let (mut ttg_w, mut ttg_plain, mut ttg_wsum, mut ttg_n) = (0i128, 0i128, 0i128, 0i128);
    for (i, rd) in admitted {
        out.installed_capacity = MilliampHours(
            out.installed_capacity
                .0
                .saturating_add(rd.installed_capacity.0),
        );
        out.capacity = add_opt(out.capacity, rd.capacity);
        out.consumed = add_opt(out.consumed, rd.consumed);
        if let Some(t) = rd.time_to_go_s {
            ttg_w = ttg_w.saturating_add(i128::from(t).saturating_mul(weight(rd)));
            ttg_wsum = ttg_wsum.saturating_add(weight(rd));
            ttg_plain = ttg_plain.saturating_add(i128::from(t));
            ttg_n += 1;
        }
        if let Some(v) = rd.min_cell {
            out.min_cell = Some(pick_min(out.min_cell, v, i));
        }
        if let Some(v) = rd.max_cell {
            out.max_cell = Some(pick_max(out.max_cell, v, i));
        }
        let lo = rd.min_temperature.unwrap_or(rd.state.temperature);
        let hi = rd.max_temperature.unwrap_or(rd.state.temperature);
        out.min_temperature = Some(pick_min(out.min_temperature, lo, i));
        out.max_temperature = Some(pick_max(out.max_temperature, hi, i));
    }
    if ttg_n > 0 {
        let t = if ttg_wsum > 0 {
            ttg_w / ttg_wsum
        } else {
            ttg_plain / ttg_n
        };
        out.time_to_go_s = u32::try_from(t).ok();
    }
}

/// What [`Aggregator::classify`] found.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools, reason = "a private tally of one step")]
struct Tally<const N: usize> {
    status: heapless::Vec<InputStatus, N>,
    venus: AlarmLevels,
    alarms: u8,
    not_admitted: bool,
    any_blocking: bool,
    errors: Flags,
    warnings: Flags,
    charge_off: bool,
    discharge_off: bool,
    modules: Modules,
    allow_balance: bool,
    admitted_count: usize,
}

impl<const N: usize> Aggregator<N> {
    /// An aggregator with no battery yet.
    pub const fn new(cfg: AggregateConfig) -> Self {
        Self {
            cfg,
            gates: heapless::Vec::new(),
            last: None,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &AggregateConfig {
        &self.cfg
    }

    fn gate(&self) -> Gateway<1> {
        let mut inputs = heapless::Vec::new();
        // Capacity 1 (unused: the weights are the readings'), the configured ranges.
        let mut input = InputConfig::new(MilliampHours(1), self.cfg.timeout_ms);
        input.plausibility = self.cfg.plausibility;
        // A Vec of capacity 1 takes one element.
        let _ = inputs.push(input);
        Gateway::new(GatewayConfig {
            inputs,
            combine: self.cfg.combine,
            fault_policy: FaultPolicy::Exclude,
            no_input: NoInputPolicy::SafeOutput,
            recovery_hold_ms: self.cfg.recovery_hold_ms,
        })
    }

    /// Classify every battery and add up what the fresh and admitted ones say.
    fn classify(&mut self, readings: &[Option<(Reading, Millis)>], now: Millis) -> Tally<N> {
        let mut status: heapless::Vec<InputStatus, N> = heapless::Vec::new();
        let mut venus = AlarmLevels::default();
        let mut alarms = 0u8;
        let mut not_admitted = false;
        let mut any_blocking = false;
        let (mut errors, mut warnings) = (Flags::NONE, Flags::NONE);
        let (mut charge_off, mut discharge_off) = (false, false);
        let mut modules = Modules::default();
        let mut allow_balance = true;
        let mut admitted_count = 0usize;
        for (gate, r) in self.gates.iter_mut().zip(readings.iter()) {
            let input = r.map(|(rd, at)| (rd.state, at));
            let st = gate
                .step(&[input], now)
                .inputs
                .first()
                .copied()
                .unwrap_or_default();
            let _ = status.push(st);
            let lost_modules = r.map_or(1, |(rd, _)| rd.modules.online.max(1));
            match st {
                InputStatus::NoData | InputStatus::Stale => {
                    alarms |= Alarms::INPUT_STALE;
                    not_admitted = true;
                }
                InputStatus::Implausible(_) => {
                    alarms |= Alarms::INPUT_IMPLAUSIBLE;
                    not_admitted = true;
                }
                InputStatus::Recovering { .. } => {
                    alarms |= Alarms::INPUT_RECOVERING;
                    not_admitted = true;
                }
                InputStatus::Active | InputStatus::Blocking => {}
            }
            if !st.is_admitted() {
                modules.offline = modules.offline.saturating_add(lost_modules);
                venus.raise(VenusAlarm::BmsCable, 2);
            }
            let Some((rd, _)) = r else { continue };
            if !st.is_fresh() {
                continue;
            }
            let s = &rd.state;
            errors = errors.union(s.errors);
            warnings = warnings.union(s.warnings);
            venus = venus.max(&rd.alarms);
            charge_off |= s.forbids_charge();
            discharge_off |= s.forbids_discharge();
            if s.blocks() {
                alarms |= Alarms::INPUT_BLOCKING;
                any_blocking = true;
            }
            if st.is_admitted() {
                admitted_count += 1;
                allow_balance &= rd.allow_balance;
                let m = rd.modules;
                let online = if m.online == 0 { 1 } else { m.online };
                modules.online = modules.online.saturating_add(online);
                modules.offline = modules.offline.saturating_add(m.offline);
                let bc = m.blocking_charge.max(u16::from(s.forbids_charge()));
                let bd = m.blocking_discharge.max(u16::from(s.forbids_discharge()));
                modules.blocking_charge = modules.blocking_charge.saturating_add(bc);
                modules.blocking_discharge = modules.blocking_discharge.saturating_add(bd);
            }
        }
        Tally {
            status,
            venus,
            alarms,
            not_admitted,
            any_blocking,
            errors,
            warnings,
            charge_off,
            discharge_off,
            modules,
            allow_balance,
            admitted_count,
        }
    }

    /// One step at `now`: `readings[i]` is battery `i`'s latest reading and when it was
    /// received, or `None` when it has sent none. Batteries beyond `N` are ignored and raise
    /// [`VenusAlarm::InternalFailure`] as a count mismatch.
    pub fn step(&mut self, readings: &[Option<(Reading, Millis)>], now: Millis) -> Aggregate<N> {
        while self.gates.len() < readings.len().min(N) {
            let g = self.gate();
            if self.gates.push(g).is_err() {
                break;
            }
        }
        let mut t = self.classify(readings, now);
        let seen = readings.len();
        let expected = usize::from(self.cfg.expected);
        let count_mismatch = seen > N || (expected != 0 && seen != expected);
        if count_mismatch {
            t.venus.raise(VenusAlarm::InternalFailure, 1);
            let missing = expected.saturating_sub(seen);
            t.modules.offline = t
                .modules
                .offline
                .saturating_add(u16::try_from(missing).unwrap_or(u16::MAX));
        }

        let admitted = || {
            readings
                .iter()
                .zip(t.status.iter())
                .enumerate()
                .filter_map(|(i, (r, st))| {
                    let (rd, _) = r.as_ref()?;
                    st.is_admitted().then_some((i, rd))
                })
        };
        let combined = combine(
            admitted().map(|(_, rd)| (&rd.state, rd.installed_capacity)),
            &self.cfg.combine,
        );

        let mut out = Aggregate {
            state: BatteryState::default(),
            mode: Mode::Normal,
            alarms: Alarms::NONE,
            venus_alarms: t.venus,
            installed_capacity: MilliampHours(0),
            capacity: None,
            consumed: None,
            time_to_go_s: None,
            min_cell: None,
            max_cell: None,
            min_temperature: None,
            max_temperature: None,
            allow_balance: t.allow_balance && t.admitted_count > 0,
            modules: t.modules,
            count_mismatch,
            inputs: t.status.clone(),
        };
        fill_totals(&mut out, admitted());
        let (state, mode) = match combined {
            None => {
                t.alarms |= Alarms::NO_INPUT;
                let mut s = disabled(self.last.unwrap_or_default());
                s.errors = t.errors;
                s.warnings = t.warnings.union(Flags(Flags::SYSTEM));
                (s, Mode::Safe)
            }
            Some(mut s) => {
                if let CvlRule::MaxUntilFloat { float } = self.cfg.cvl {
                    let all_float =
                        admitted().all(|(_, rd)| rd.state.charge_voltage_limit <= float);
                    if !all_float {
                        if let Some(max) = admitted()
                            .map(|(_, rd)| rd.state.charge_voltage_limit)
                            .max()
                        {
                            s.charge_voltage_limit = max;
                        }
                    }
                }
                s.errors = t.errors;
                s.warnings = t.warnings;
                if t.not_admitted {
                    s.warnings = s.warnings.union(Flags(Flags::SYSTEM));
                }
                if t.charge_off {
                    s.charge_enable = false;
                    s.charge_current_limit = Milliamps(0);
                }
                if t.discharge_off {
                    s.discharge_enable = false;
                    s.discharge_current_limit = Milliamps(0);
                }
                self.last = Some(s);
                if self.cfg.fault_policy == FaultPolicy::Block && t.not_admitted {
                    t.alarms |= Alarms::BLOCKED;
                    (disabled(s), Mode::Blocked)
                } else if t.not_admitted || t.any_blocking || count_mismatch {
                    (s, Mode::Degraded)
                } else {
                    (s, Mode::Normal)
                }
            }
        };
        out.state = state;
        out.mode = mode;
        out.alarms = Alarms(t.alarms);
        out
    }
}

#[cfg(test)]
mod tests;
