//! Data age, plausibility, protection and exclusion: the gateway state machine.
//!
//! Each step, every input is classified:
//!
//! - **no data** / **stale**: no telegram yet, or its telegram is older than its
//!   `timeout_ms` (a timestamp later than `now` counts as age 0);
//! - **implausible**: its telegram fails its [`Plausibility`] check (a CCL of 3276.7 A, a
//!   pack voltage of 6553.5 V, a SOC of 250 %): the input is faulty;
//! - **fresh**: none of these. A fresh input is **admitted** once it has been fresh without
//!   interruption for at least `recovery_hold_ms` (measured from the first step that saw it
//!   fresh; this also applies at start-up, so a new input is admitted only after the hold
//!   time, and an input that was implausible must pass the hold again); until then it is
//!   **recovering**. [`Gateway::step`] must run at least once per timeout for "without
//!   interruption" to hold;
//! - **blocking**: fresh, and its BMS forbids charging or discharging (its enable bit is
//!   off, or it raises a protection flag: see [`BatteryState::forbids_charge`]).
//!
//! Two kinds of trouble are handled differently, because on a shared DC bus only a
//! battery's own FETs protect it once the inverter is told to go on:
//!
//! - **A fresh input that forbids a direction disables that direction for the whole
//!   stack** (zero current limit, enable off), whatever the [`FaultPolicy`], whether it is
//!   admitted or still recovering. Only an explicit per-input opt-in,
//!   [`BlockPolicy::Exclude`], leaves such an input out of the direction it forbids
//!   instead (for a battery that can disconnect itself from the bus).
//! - **The protection (error) and warning flags of every fresh input are OR-ed into the
//!   output**, admitted or recovering, blocking or not, whatever the policies: the inverter
//!   always learns that a battery is in protection.
//! - **An input with no, stale or implausible data** is handled by the [`FaultPolicy`]:
//!   [`FaultPolicy::Exclude`] leaves it out and the rest are combined (the warning bit
//!   [`Flags::SYSTEM`], internal / communication failure, is set while any input is not
//!   admitted); [`FaultPolicy::Block`] disables charging and discharging for all, with zero
//!   current limits, while any input is not admitted (also while one is recovering).
//!
//! Limits, voltage limit, measurements, requests and module counts come only from admitted
//! inputs. The charge voltage limit is the minimum over the admitted inputs that take part
//! in charging (all admitted inputs, less those excluded by [`BlockPolicy::Exclude`] from
//! charging).
//!
//! With no admitted input at all, the output is the *safe state* (charge and discharge
//! disabled, zero current limits, the last combined voltage limit and measurements, the
//! flags of the fresh inputs, warning [`Flags::SYSTEM`]) or, with
//! [`NoInputPolicy::Silence`], nothing, so that the inverter's own no-BMS behaviour takes
//! over.

use voltwire_core::{MilliampHours, Milliamps};

use crate::combine::{CombineConfig, combine};
use crate::output::{OutputConfig, limit_output};
use crate::plausibility::{Chemistry, Implausible, Plausibility};
use crate::state::{BatteryState, Flags, Requests};
use crate::time::Millis;

/// What to do with an input that has no, stale or implausible data.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FaultPolicy {
    /// Combine the remaining inputs, limits recomputed from them; raise an alarm.
    #[default]
    Exclude,
    /// Disable charging and discharging for all.
    Block,
}

/// What a fresh input that forbids charging or discharging does (per input).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BlockPolicy {
    /// The default: the direction it forbids is disabled for the whole stack. On a shared
    /// DC bus the inverter cannot charge the others without charging this battery too.
    #[default]
    Stack,
    /// Opt-in: the input is left out of the direction it forbids and the others go on
    /// (its flags are still OR-ed into the output). Only for a battery that disconnects
    /// itself from the DC bus when its BMS forbids a direction.
    Exclude,
}

/// What to send when no input is admitted.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum NoInputPolicy {
    /// Charge and discharge disabled with zero current limits.
    #[default]
    SafeOutput,
    /// Send nothing (the inverter's own no-BMS mode takes over).
    Silence,
}

/// Configuration of one input (one BMS).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputConfig {
    /// Configured capacity: the weight of this battery in averages and in
    /// [`crate::CurrentRule::CapacityWeighted`].
    pub capacity: MilliampHours,
    /// A telegram older than this (ms) is stale.
    pub timeout_ms: u64,
    /// The ranges a telegram of this input must lie in.
    pub plausibility: Plausibility,
    /// What this input does when it forbids charging or discharging.
    pub on_block: BlockPolicy,
}

impl InputConfig {
    /// An input of `capacity` with `timeout_ms`, the plausible ranges of a 16-cell LFP pack
    /// rated 1 C for charging and discharging (a current limit of `capacity` mAh as mA),
    /// temperatures -40.0 ..= 80.0 °C, and [`BlockPolicy::Stack`].
    pub fn new(capacity: MilliampHours, timeout_ms: u64) -> Self {
        let one_c = Milliamps(i32::try_from(capacity.0.max(0)).unwrap_or(i32::MAX));
        Self {
            capacity,
            timeout_ms,
            plausibility: Plausibility::for_pack(16, Chemistry::Lfp, one_c, one_c),
            on_block: BlockPolicy::Stack,
        }
    }
}

/// Configuration of a [`Gateway`] with up to `N` inputs (the count is set at run time by the
/// length of `inputs`; `N` is only the capacity, so that no allocation is needed).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GatewayConfig<const N: usize> {
    /// One entry per input, in the order of [`Gateway::step`]'s `inputs`.
    pub inputs: heapless::Vec<InputConfig, N>,
    /// How the admitted inputs are combined.
    pub combine: CombineConfig,
    /// What an input with no, stale or implausible data does.
    pub fault_policy: FaultPolicy,
    /// What to send when no input is admitted.
    pub no_input: NoInputPolicy,
    /// How long (ms) an input must be fresh before it is admitted (again).
    pub recovery_hold_ms: u64,
}

/// Classification of one input in one step.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum InputStatus {
    /// No telegram was given.
    #[default]
    NoData,
    /// The telegram is older than the input's timeout.
    Stale,
    /// The telegram is outside the input's plausible ranges: the input is faulty.
    Implausible(Implausible),
    /// Fresh, but not yet for the hold time.
    Recovering {
        /// Time (ms) left until the input is admitted.
        remaining_ms: u64,
    },
    /// Admitted and allowing both charging and discharging.
    Active,
    /// Admitted, but its BMS forbids charging and/or discharging.
    Blocking,
}

impl InputStatus {
    /// Whether the input is admitted (its data is used).
    pub const fn is_admitted(self) -> bool {
        matches!(self, Self::Active | Self::Blocking)
    }

    /// Whether the input's latest telegram is fresh and plausible (admitted or
    /// recovering): its flags are OR-ed into the output and the directions it forbids are
    /// disabled.
    pub const fn is_fresh(self) -> bool {
        matches!(
            self,
            Self::Active | Self::Blocking | Self::Recovering { .. }
        )
    }
}

/// Gateway alarms: a set of bits.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Alarms(pub u8);

impl Alarms {
    /// No alarm.
    pub const NONE: Self = Self(0);
    /// An input has no data or stale data.
    pub const INPUT_STALE: u8 = 1 << 0;
    /// An input is fresh again but still within its hold time.
    pub const INPUT_RECOVERING: u8 = 1 << 1;
    /// A fresh input (admitted or recovering) forbids charging or discharging.
    pub const INPUT_BLOCKING: u8 = 1 << 2;
    /// No input is admitted.
    pub const NO_INPUT: u8 = 1 << 3;
    /// [`FaultPolicy::Block`] disabled charging and discharging.
    pub const BLOCKED: u8 = 1 << 4;
    /// An input's telegram is outside its plausible ranges.
    pub const INPUT_IMPLAUSIBLE: u8 = 1 << 5;

    /// Whether every bit of `bits` is set.
    pub const fn contains(self, bits: u8) -> bool {
        self.0 & bits == bits
    }

    /// Whether no alarm is raised.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// How the output state came about.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Every input admitted, none forbidding a direction.
    Normal,
    /// Some inputs not admitted (left out), or a direction disabled or narrowed because an
    /// input forbids it; the rest combined.
    Degraded,
    /// [`FaultPolicy::Block`]: charging and discharging disabled.
    Blocked,
    /// No admitted input: the safe state.
    Safe,
    /// No admitted input and [`NoInputPolicy::Silence`]: send nothing.
    Silent,
}

/// The result of one [`Gateway::step`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GatewayOutput<const N: usize> {
    /// The combined virtual battery to present, or `None` to send nothing.
    pub state: Option<BatteryState>,
    /// How `state` came about.
    pub mode: Mode,
    /// Alarms raised in this step.
    pub alarms: Alarms,
    /// Each configured input's classification, in configuration order.
    pub inputs: heapless::Vec<InputStatus, N>,
}

impl<const N: usize> GatewayOutput<N> {
    /// The state one output (one inverter) should present: [`limit_output`] of `state`.
    pub fn for_output(&self, cfg: &OutputConfig) -> Option<BatteryState> {
        self.state.map(|s| limit_output(&s, cfg))
    }
}

/// Combines `N` inputs into one virtual battery, applying data age, plausibility,
/// protection and the fault policy.
///
/// Holds only what the hold time needs (since when each input has been fresh) and the last
/// combined state (for the safe output); pure otherwise.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gateway<const N: usize> {
    cfg: GatewayConfig<N>,
    fresh_since: [Option<Millis>; N],
    last: Option<BatteryState>,
}

type Input = Option<(BatteryState, Millis)>;

/// What the fresh inputs impose on the output, whatever the policies.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default)]
struct FreshImpose {
    errors: Flags,
    warnings: Flags,
    charge_off: bool,
    discharge_off: bool,
}

impl<const N: usize> Gateway<N> {
    /// A gateway with every input not yet seen.
    pub const fn new(cfg: GatewayConfig<N>) -> Self {
        Self {
            cfg,
            fresh_since: [None; N],
            last: None,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &GatewayConfig<N> {
        &self.cfg
    }

    /// Forget every input's history (all must pass the hold time again).
    pub fn reset(&mut self) {
        self.fresh_since = [None; N];
        self.last = None;
    }

    /// One step at `now`: `inputs[i]` is input `i`'s latest telegram as a state with its
    /// receive time, or `None` if none was received. Entries beyond the configured inputs
    /// are ignored; missing entries count as `None`.
    pub fn step(&mut self, inputs: &[Input], now: Millis) -> GatewayOutput<N> {
        let status = self.classify(inputs, now);
        let mut alarms = 0u8;
        let mut not_admitted = false;
        let mut any_blocking = false;
        let mut imposed = FreshImpose::default();
        for (i, (st, c)) in status.iter().zip(self.cfg.inputs.iter()).enumerate() {
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
            let Some(Some((s, _))) = inputs.get(i) else {
                continue;
            };
            if !st.is_fresh() {
                continue;
            }
            imposed.errors = imposed.errors.union(s.errors);
            imposed.warnings = imposed.warnings.union(s.warnings);
            if s.blocks() {
                alarms |= Alarms::INPUT_BLOCKING;
                any_blocking = true;
            }
            if c.on_block == BlockPolicy::Stack {
                imposed.charge_off |= s.forbids_charge();
                imposed.discharge_off |= s.forbids_discharge();
            }
        }

        let cfg = &self.cfg;
        // Admitted inputs, less those that opted out of a direction they forbid.
        let pick = |leave_out: fn(&BatteryState) -> bool| {
            inputs
                .iter()
                .zip(cfg.inputs.iter())
                .zip(status.iter())
                .filter_map(move |((inp, c), st)| {
                    let (s, _) = inp.as_ref()?;
                    let out = c.on_block == BlockPolicy::Exclude && leave_out(s);
                    (st.is_admitted() && !out).then_some((s, c.capacity))
                })
        };
        let all = combine(pick(|_| false), &cfg.combine);

        let (state, mode) = match all {
            None => {
                alarms |= Alarms::NO_INPUT;
                match cfg.no_input {
                    NoInputPolicy::SafeOutput => (Some(self.safe_state(imposed)), Mode::Safe),
                    NoInputPolicy::Silence => (None, Mode::Silent),
                }
            }
            Some(mut s) => {
                let charge = combine(pick(BatteryState::forbids_charge), &cfg.combine);
                let discharge = combine(pick(BatteryState::forbids_discharge), &cfg.combine);
                if let Some(c) = charge {
                    s.charge_voltage_limit = c.charge_voltage_limit;
                }
                s.charge_enable = !imposed.charge_off && charge.is_some_and(|c| c.charge_enable);
                s.charge_current_limit = match charge {
                    Some(c) if s.charge_enable => c.charge_current_limit,
                    _ => Milliamps(0),
                };
                s.discharge_enable =
                    !imposed.discharge_off && discharge.is_some_and(|d| d.discharge_enable);
                s.discharge_current_limit = match discharge {
                    Some(d) if s.discharge_enable => d.discharge_current_limit,
                    _ => Milliamps(0),
                };
                s.errors = imposed.errors;
                s.warnings = imposed.warnings;
                if not_admitted {
                    s.warnings = s.warnings.union(Flags(Flags::SYSTEM));
                }
                self.last = Some(s);
                if cfg.fault_policy == FaultPolicy::Block && not_admitted {
                    alarms |= Alarms::BLOCKED;
                    (Some(disabled(s)), Mode::Blocked)
                } else if not_admitted || any_blocking {
                    (Some(s), Mode::Degraded)
                } else {
                    (Some(s), Mode::Normal)
                }
            }
        };
        GatewayOutput {
            state,
            mode,
            alarms: Alarms(alarms),
            inputs: status,
        }
    }

    fn classify(&mut self, inputs: &[Input], now: Millis) -> heapless::Vec<InputStatus, N> {
        let mut status: heapless::Vec<InputStatus, N> = self
            .cfg
            .inputs
            .iter()
            .map(|_| InputStatus::NoData)
            .collect();
        let hold = self.cfg.recovery_hold_ms;
        for (i, ((c, since), st)) in self
            .cfg
            .inputs
            .iter()
            .zip(self.fresh_since.iter_mut())
            .zip(status.iter_mut())
            .enumerate()
        {
            let Some((s, at)) = inputs.get(i).copied().flatten() else {
                *since = None;
                *st = InputStatus::NoData;
                continue;
            };
            if now.since(at) > c.timeout_ms {
                *since = None;
                *st = InputStatus::Stale;
                continue;
            }
            if let Err(e) = c.plausibility.check(&s) {
                *since = None;
                *st = InputStatus::Implausible(e);
                continue;
            }
            let start = *since.get_or_insert(now);
            let fresh_for = now.since(start);
            *st = if fresh_for < hold {
                InputStatus::Recovering {
                    remaining_ms: hold - fresh_for,
                }
            } else if s.blocks() {
                InputStatus::Blocking
            } else {
                InputStatus::Active
            };
        }
        status
    }

    /// Charge and discharge disabled, zero limits, the last combined values otherwise, the
    /// flags of the fresh inputs.
    fn safe_state(&self, imposed: FreshImpose) -> BatteryState {
        let mut s = self.last.unwrap_or_default();
        s.current = Milliamps(0);
        s.errors = imposed.errors;
        s.warnings = imposed.warnings;
        s.module_count = 0;
        disabled(s)
    }
}

/// `s` with charging and discharging disabled, zero current limits, no requests, and the
/// warning [`Flags::SYSTEM`] (what [`FaultPolicy::Block`] sends; apps use it for a last
/// burst on shutdown).
pub fn disabled(mut s: BatteryState) -> BatteryState {
    s.charge_current_limit = Milliamps(0);
    s.discharge_current_limit = Milliamps(0);
    s.charge_enable = false;
    s.discharge_enable = false;
    s.requests = Requests::NONE;
    s.warnings = s.warnings.union(Flags(Flags::SYSTEM));
    s
}
