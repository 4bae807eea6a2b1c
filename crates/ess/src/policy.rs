//! Data age and exclusion: the gateway state machine.
//!
//! Each step, every input is classified:
//!
//! - **fresh**: its telegram is at most its `timeout_ms` old (a timestamp later than `now`
//!   counts as age 0);
//! - **admitted**: fresh without interruption for at least `recovery_hold_ms` (measured from
//!   the first step that saw it fresh; this also applies at start-up, so a new input is
//!   admitted only after the hold time). [`Gateway::step`] must run at least once per
//!   timeout for "without interruption" to hold;
//! - **blocking**: admitted, but its BMS forbids charging or discharging.
//!
//! An input that is not admitted (no data, stale, recovering) or that blocks is handled by
//! the [`FaultPolicy`]:
//!
//! - [`FaultPolicy::Exclude`]: the rest are combined; the charge side (charge voltage limit,
//!   charge current limit, charge enable) is combined from the admitted inputs that allow
//!   charging, the discharge side from those that allow discharging, so one full battery
//!   does not stop discharging and one empty battery does not stop charging. Measurements,
//!   warnings, requests and module counts come from every admitted input; protection
//!   (error) flags only from admitted inputs that block nothing (a battery that switched
//!   itself off does not stop the others; its state is reported in [`Output::inputs`] and
//!   [`Alarms::INPUT_BLOCKING`]). While an input is excluded for data age the warning bit
//!   [`Flags::SYSTEM`] (internal / communication failure) is set.
//! - [`FaultPolicy::Block`]: while any input is not admitted, charging and discharging are
//!   disabled for all, with zero current limits. A blocking input simply takes part in the
//!   AND of the enables.
//!
//! With no admitted input at all, the output is the *safe state* (charge and discharge
//! disabled, zero current limits, the last combined voltage limit and measurements, warning
//! [`Flags::SYSTEM`]) or, with [`NoInputPolicy::Silence`], nothing, so that the inverter's
//! own no-BMS behaviour takes over.

use voltwire_core::{MilliampHours, Milliamps};

use crate::combine::{CombineConfig, combine};
use crate::output::{OutputConfig, limit_output};
use crate::state::{BatteryState, Flags, Requests};
use crate::time::Millis;

/// What to do with an input that is stale or blocks charging or discharging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FaultPolicy {
    /// Combine the remaining inputs, limits recomputed from them; raise an alarm.
    #[default]
    Exclude,
    /// Disable charging and discharging for all.
    Block,
}

/// What to send when no input is admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NoInputPolicy {
    /// Charge and discharge disabled with zero current limits.
    #[default]
    SafeOutput,
    /// Send nothing (the inverter's own no-BMS mode takes over).
    Silence,
}

/// Configuration of one input (one BMS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputConfig {
    /// Configured capacity: the weight of this battery in averages and in
    /// [`crate::CurrentRule::CapacityWeighted`].
    pub capacity: MilliampHours,
    /// A telegram older than this (ms) is stale.
    pub timeout_ms: u64,
}

/// Configuration of a [`Gateway`] with up to `N` inputs (the count is set at run time by the
/// length of `inputs`; `N` is only the capacity, so that no allocation is needed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GatewayConfig<const N: usize> {
    /// One entry per input, in the order of [`Gateway::step`]'s `inputs`.
    pub inputs: heapless::Vec<InputConfig, N>,
    /// How the admitted inputs are combined.
    pub combine: CombineConfig,
    /// What a stale or blocking input does.
    pub fault_policy: FaultPolicy,
    /// What to send when no input is admitted.
    pub no_input: NoInputPolicy,
    /// How long (ms) an input must be fresh before it is admitted (again).
    pub recovery_hold_ms: u64,
}

/// Classification of one input in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InputStatus {
    /// No telegram was given.
    #[default]
    NoData,
    /// The telegram is older than the input's timeout.
    Stale,
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
}

/// Gateway alarms: a set of bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Alarms(pub u8);

impl Alarms {
    /// No alarm.
    pub const NONE: Self = Self(0);
    /// An input has no data or stale data.
    pub const INPUT_STALE: u8 = 1 << 0;
    /// An input is fresh again but still within its hold time.
    pub const INPUT_RECOVERING: u8 = 1 << 1;
    /// An admitted input blocks charging or discharging.
    pub const INPUT_BLOCKING: u8 = 1 << 2;
    /// No input is admitted.
    pub const NO_INPUT: u8 = 1 << 3;
    /// [`FaultPolicy::Block`] disabled charging and discharging.
    pub const BLOCKED: u8 = 1 << 4;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Every input admitted and combined.
    Normal,
    /// Some inputs excluded (for data age, or from the direction they block); the rest
    /// combined.
    Degraded,
    /// [`FaultPolicy::Block`]: charging and discharging disabled.
    Blocked,
    /// No admitted input: the safe state.
    Safe,
    /// No admitted input and [`NoInputPolicy::Silence`]: send nothing.
    Silent,
}

/// The result of one [`Gateway::step`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Output<const N: usize> {
    /// The combined virtual battery to present, or `None` to send nothing.
    pub state: Option<BatteryState>,
    /// How `state` came about.
    pub mode: Mode,
    /// Alarms raised in this step.
    pub alarms: Alarms,
    /// Each configured input's classification, in configuration order.
    pub inputs: heapless::Vec<InputStatus, N>,
}

impl<const N: usize> Output<N> {
    /// The state one output (one inverter) should present: [`limit_output`] of `state`.
    pub fn for_output(&self, cfg: &OutputConfig) -> Option<BatteryState> {
        self.state.map(|s| limit_output(&s, cfg))
    }
}

/// Combines `N` inputs into one virtual battery, applying data age and the fault policy.
///
/// Holds only what the hold time needs (since when each input has been fresh) and the last
/// combined state (for the safe output); pure otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gateway<const N: usize> {
    cfg: GatewayConfig<N>,
    fresh_since: [Option<Millis>; N],
    last: Option<BatteryState>,
}

type Input = Option<(BatteryState, Millis)>;

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
    pub fn step(&mut self, inputs: &[Input], now: Millis) -> Output<N> {
        let status = self.classify(inputs, now);
        let mut alarms = 0u8;
        let mut any_down = false;
        let mut any_blocking = false;
        for st in &status {
            match st {
                InputStatus::NoData | InputStatus::Stale => {
                    alarms |= Alarms::INPUT_STALE;
                    any_down = true;
                }
                InputStatus::Recovering { .. } => {
                    alarms |= Alarms::INPUT_RECOVERING;
                    any_down = true;
                }
                InputStatus::Blocking => {
                    alarms |= Alarms::INPUT_BLOCKING;
                    any_blocking = true;
                }
                InputStatus::Active => {}
            }
        }

        let cfg = &self.cfg;
        let pick = |keep: fn(&BatteryState) -> bool| {
            inputs
                .iter()
                .zip(cfg.inputs.iter())
                .zip(status.iter())
                .filter_map(move |((inp, c), st)| {
                    let (s, _) = inp.as_ref()?;
                    (st.is_admitted() && keep(s)).then_some((s, c.capacity))
                })
        };
        let all = combine(pick(|_| true), &cfg.combine);

        let (state, mode) = match (all, cfg.fault_policy) {
            (None, _) => {
                alarms |= Alarms::NO_INPUT;
                match cfg.no_input {
                    NoInputPolicy::SafeOutput => (Some(self.safe_state()), Mode::Safe),
                    NoInputPolicy::Silence => (None, Mode::Silent),
                }
            }
            (Some(s), FaultPolicy::Block) if any_down => {
                alarms |= Alarms::BLOCKED;
                self.last = Some(s);
                (Some(disabled(s)), Mode::Blocked)
            }
            (Some(s), FaultPolicy::Block) => {
                self.last = Some(s);
                (Some(s), Mode::Normal)
            }
            (Some(mut s), FaultPolicy::Exclude) => {
                let charge = combine(pick(|b| b.charge_enable), &cfg.combine);
                let discharge = combine(pick(|b| b.discharge_enable), &cfg.combine);
                let healthy = combine(pick(|b| !b.blocks()), &cfg.combine);
                if let Some(c) = charge {
                    s.charge_voltage_limit = c.charge_voltage_limit;
                }
                s.charge_current_limit = charge.map_or(Milliamps(0), |c| c.charge_current_limit);
                s.charge_enable = charge.is_some();
                s.discharge_current_limit =
                    discharge.map_or(Milliamps(0), |d| d.discharge_current_limit);
                s.discharge_enable = discharge.is_some();
                s.errors = healthy.map_or(Flags::NONE, |h| h.errors);
                if any_down {
                    s.warnings = s.warnings.union(Flags(Flags::SYSTEM));
                }
                self.last = Some(s);
                let mode = if any_down || any_blocking {
                    Mode::Degraded
                } else {
                    Mode::Normal
                };
                (Some(s), mode)
            }
        };
        Output {
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

    /// Charge and discharge disabled, zero limits, the last combined values otherwise.
    fn safe_state(&self) -> BatteryState {
        let mut s = disabled(self.last.unwrap_or_default());
        s.current = Milliamps(0);
        s.errors = Flags::NONE;
        s.module_count = 0;
        s
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
