//! Issue 21: every safety number pinned to its exact value, with injected time.
//!
//! Per-inverter limiting (`output.rs`), the safe state and the alarms (`policy.rs`), the
//! combine edge rules (`combine.rs`) and the set-point bounds (`setpoint.rs`). Each test
//! states the exact amps, volts, flags and milliseconds it expects, so that a changed
//! rounding direction, an off-by-one at a bound or a dropped field fails a test (the
//! property tests in `props.rs` only check inequalities).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::too_many_lines,
    clippy::many_single_char_names,
    missing_docs,
    reason = "test code"
)]

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_ess::{
    Alarms, BatteryState, BlockPolicy, CombineConfig, CurrentRule, Direction, FaultPolicy, Flags,
    Gateway, GatewayConfig, InputConfig, InputStatus, Millis, Mode, NoInputPolicy, OutputConfig,
    Ratio, Requests, Setpoint, SetpointBounds, SetpointError, Setpoints, combine, limit_output,
};

// ---- helpers ----------------------------------------------------------------------------

/// A plausible 16-cell LFP state with every field set to a distinct value.
fn bat(cvl: i32, ccl: i32, dcl: i32) -> BatteryState {
    BatteryState {
        charge_voltage_limit: Millivolts(cvl),
        charge_current_limit: Milliamps(ccl),
        discharge_current_limit: Milliamps(dcl),
        soc: Permille(500),
        soh: Permille(1000),
        voltage: Millivolts(52_000),
        current: Milliamps(-10_000),
        temperature: DeciCelsius(250),
        errors: Flags::NONE,
        warnings: Flags::NONE,
        charge_enable: true,
        discharge_enable: true,
        requests: Requests::NONE,
        module_count: 1,
    }
}

fn cfg(rule: CurrentRule) -> CombineConfig {
    CombineConfig {
        current_rule: rule,
        ..CombineConfig::default()
    }
}

fn out_cfg(scale: Ratio, offset: i32) -> OutputConfig {
    OutputConfig {
        current_scale: scale,
        current_offset: Milliamps(offset),
        ..OutputConfig::default()
    }
}

/// `s` limited by an output with `cfg`: (CCL, DCL, CVL).
fn limited(s: &BatteryState, cfg: &OutputConfig) -> (Milliamps, Milliamps, Millivolts) {
    let o = limit_output(s, cfg);
    (
        o.charge_current_limit,
        o.discharge_current_limit,
        o.charge_voltage_limit,
    )
}

#[allow(clippy::unnecessary_wraps, reason = "an input slot")]
const fn at(s: BatteryState, t: u64) -> Option<(BatteryState, Millis)> {
    Some((s, Millis(t)))
}

const TIMEOUT: u64 = 3_000;

fn gateway(n: usize, policy: FaultPolicy, no_input: NoInputPolicy, hold: u64) -> Gateway<4> {
    Gateway::new(GatewayConfig {
        inputs: (0..n)
            .map(|_| InputConfig::new(MilliampHours(100_000), TIMEOUT))
            .collect(),
        combine: CombineConfig::default(),
        fault_policy: policy,
        no_input,
        recovery_hold_ms: hold,
    })
}

/// The start-up safe state: every value 0, both directions off, warning SYSTEM only.
fn startup_safe() -> BatteryState {
    BatteryState {
        warnings: Flags(Flags::SYSTEM),
        ..BatteryState::default()
    }
}

// ---- per-inverter limiting (output.rs) ----------------------------------------------------

#[test]
fn output_identity_by_default() {
    let s = bat(55_200, 100_000, 120_000);
    assert_eq!(limit_output(&s, &OutputConfig::default()), s);
    assert_eq!(Ratio::default(), Ratio::ONE);
    assert_eq!(Ratio::ONE, Ratio { num: 1, den: 1 });
    assert_eq!(Ratio::new(2, 3), Ratio { num: 2, den: 3 });
    assert_eq!(
        Ratio::permille(500),
        Ratio {
            num: 500,
            den: 1000
        }
    );
}

#[test]
fn output_offset_exact() {
    let s = bat(55_200, 100_000, 80_000);
    // -5 A on both limits.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::ONE, -5_000)),
        (Milliamps(95_000), Milliamps(75_000), Millivolts(55_200))
    );
    // +5 A: never above the combined limits.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::ONE, 5_000)),
        (Milliamps(100_000), Milliamps(80_000), Millivolts(55_200))
    );
    // Scale then offset (not offset then scale): 100 × 1/2 + 10 = 60, 80 × 1/2 + 10 = 50.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(1, 2), 10_000)),
        (Milliamps(60_000), Milliamps(50_000), Millivolts(55_200))
    );
}

#[test]
fn output_scale_below_one_rounds_down() {
    // 100 000 × 2/3 = 66 666.67 → 66 666 (down, not to nearest 66 667);
    // 100 001 × 1/2 = 50 000.5 → 50 000 (down, not half away from zero).
    let s = bat(55_200, 100_000, 100_001);
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(2, 3), 0)),
        (Milliamps(66_666), Milliamps(66_667), Millivolts(55_200))
    );
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(1, 2), 0)),
        (Milliamps(50_000), Milliamps(50_000), Millivolts(55_200))
    );
    // 1 mA × 999/1000 = 0.999 → 0.
    let tiny = bat(55_200, 1, 999);
    assert_eq!(
        limited(&tiny, &out_cfg(Ratio::permille(999), 0)),
        (Milliamps(0), Milliamps(998), Millivolts(55_200))
    );
    // Permille: 250 ‰ of 80 A = 20 A.
    let s = bat(55_200, 80_000, 40_000);
    assert_eq!(
        limited(&s, &out_cfg(Ratio::permille(250), 0)),
        (Milliamps(20_000), Milliamps(10_000), Millivolts(55_200))
    );
}

#[test]
fn output_scale_above_one_is_capped_by_the_combined_limit() {
    let s = bat(55_200, 50_000, 40_000);
    // 50 × 3/2 = 75 → 50 (combined); 40 × 3/2 = 60 → 40.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(3, 2), 0)),
        (Milliamps(50_000), Milliamps(40_000), Millivolts(55_200))
    );
    // With an offset the factor shows: 50 × 3/2 − 30 = 45; 40 × 3/2 − 30 = 30.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(3, 2), -30_000)),
        (Milliamps(45_000), Milliamps(30_000), Millivolts(55_200))
    );
    // Exactly at the combined limit: 50 × 3/2 − 25 = 50.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(3, 2), -25_000)).0,
        Milliamps(50_000)
    );
    // 7 × 5/3 = 11.67 → 11 (down), then −5 → 6.
    let s = bat(55_200, 7, 7);
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(5, 3), -5)),
        (Milliamps(6), Milliamps(6), Millivolts(55_200))
    );
    // Large factors saturate in i128 and are capped: never above the combined limit.
    let s = bat(55_200, i32::MAX, 1);
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(u32::MAX, 1), 0)),
        (Milliamps(i32::MAX), Milliamps(1), Millivolts(55_200))
    );
}

#[test]
fn output_negative_result_is_zero() {
    let s = bat(55_200, 10_000, 20_000);
    // 10 − 20 = −10 → 0; 20 − 20 = 0.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::ONE, -20_000)),
        (Milliamps(0), Milliamps(0), Millivolts(55_200))
    );
    // 20 − 19.999 = 0.001: 1 mA, not clamped.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::ONE, -19_999)),
        (Milliamps(0), Milliamps(1), Millivolts(55_200))
    );
    assert_eq!(
        limited(&s, &out_cfg(Ratio::ONE, i32::MIN)),
        (Milliamps(0), Milliamps(0), Millivolts(55_200))
    );
    // A negative combined limit counts as 0: an offset cannot lift it.
    let neg = bat(55_200, -5_000, -1);
    assert_eq!(
        limited(&neg, &out_cfg(Ratio::ONE, 3_000)),
        (Milliamps(0), Milliamps(0), Millivolts(55_200))
    );
}

#[test]
fn output_zero_denominator_is_a_zero_factor() {
    let s = bat(55_200, 100_000, 80_000);
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(5, 0), 0)),
        (Milliamps(0), Milliamps(0), Millivolts(55_200))
    );
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(0, 0), 0)),
        (Milliamps(0), Milliamps(0), Millivolts(55_200))
    );
    // The factor is 0, the offset still applies: 0 + 7 A.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(u32::MAX, 0), 7_000)),
        (Milliamps(7_000), Milliamps(7_000), Millivolts(55_200))
    );
    // A zero numerator with a real denominator: 0 too.
    assert_eq!(
        limited(&s, &out_cfg(Ratio::new(0, 7), 0)),
        (Milliamps(0), Milliamps(0), Millivolts(55_200))
    );
}

#[test]
fn output_own_maxima_exact() {
    let s = bat(56_000, 100_000, 80_000);
    let c = OutputConfig {
        max_charge_current: Milliamps(60_000),
        max_discharge_current: Milliamps(70_000),
        max_charge_voltage: Millivolts(55_200),
        ..OutputConfig::default()
    };
    assert_eq!(
        limited(&s, &c),
        (Milliamps(60_000), Milliamps(70_000), Millivolts(55_200))
    );
    // Own maxima above the combined values: the combined values stay.
    let c = OutputConfig {
        max_charge_current: Milliamps(100_001),
        max_discharge_current: Milliamps(90_000),
        max_charge_voltage: Millivolts(56_001),
        ..OutputConfig::default()
    };
    assert_eq!(
        limited(&s, &c),
        (Milliamps(100_000), Milliamps(80_000), Millivolts(56_000))
    );
    // Exactly equal.
    let c = OutputConfig {
        max_charge_current: Milliamps(100_000),
        max_discharge_current: Milliamps(80_000),
        max_charge_voltage: Millivolts(56_000),
        ..OutputConfig::default()
    };
    assert_eq!(
        limited(&s, &c),
        (Milliamps(100_000), Milliamps(80_000), Millivolts(56_000))
    );
    // A negative own maximum is 0 A (a positive offset cannot lift it).
    let c = OutputConfig {
        max_charge_current: Milliamps(-1),
        max_discharge_current: Milliamps(0),
        current_offset: Milliamps(5_000),
        ..OutputConfig::default()
    };
    assert_eq!(
        limited(&s, &c),
        (Milliamps(0), Milliamps(0), Millivolts(56_000))
    );
    // Charge and discharge maxima are not swapped: a charge-only maximum.
    let c = OutputConfig {
        max_charge_current: Milliamps(1_000),
        ..OutputConfig::default()
    };
    assert_eq!(
        limited(&s, &c),
        (Milliamps(1_000), Milliamps(80_000), Millivolts(56_000))
    );
    let c = OutputConfig {
        max_discharge_current: Milliamps(2_000),
        ..OutputConfig::default()
    };
    assert_eq!(
        limited(&s, &c),
        (Milliamps(100_000), Milliamps(2_000), Millivolts(56_000))
    );
}

#[test]
fn output_passes_everything_else_unchanged() {
    let s = BatteryState {
        soc: Permille(321),
        soh: Permille(987),
        voltage: Millivolts(53_210),
        current: Milliamps(-45_678),
        temperature: DeciCelsius(-12),
        errors: Flags(Flags::HIGH_VOLTAGE),
        warnings: Flags(Flags::LOW_TEMPERATURE),
        charge_enable: false,
        discharge_enable: true,
        requests: Requests(Requests::FORCE_CHARGE_2),
        module_count: 7,
        ..bat(55_200, 0, 90_000)
    };
    let o = limit_output(&s, &out_cfg(Ratio::new(1, 3), 0));
    // Only the limits change (the measured current is not scaled): 90 000 / 3 = 30 000.
    assert_eq!(
        o,
        BatteryState {
            discharge_current_limit: Milliamps(30_000),
            ..s
        }
    );
}

// ---- safe state, reset, alarms (policy.rs) -------------------------------------------------

#[test]
fn startup_safe_state_exact() {
    let mut g = gateway(2, FaultPolicy::Exclude, NoInputPolicy::SafeOutput, 1_000);
    let o = g.step(&[], Millis(0));
    assert_eq!(o.mode, Mode::Safe);
    assert_eq!(o.alarms, Alarms(Alarms::INPUT_STALE | Alarms::NO_INPUT));
    assert_eq!(o.inputs[..], [InputStatus::NoData; 2]);
    assert_eq!(o.state, Some(startup_safe()));
    // Every output presents the same (limits 0 stay 0 whatever the scaling).
    let wide = OutputConfig {
        current_offset: Milliamps(50_000),
        ..OutputConfig::default()
    };
    assert_eq!(o.for_output(&wide), Some(startup_safe()));
    // Silence: nothing.
    let mut g = gateway(2, FaultPolicy::Exclude, NoInputPolicy::Silence, 1_000);
    let o = g.step(&[], Millis(0));
    assert_eq!(o.mode, Mode::Silent);
    assert_eq!(o.state, None);
    assert_eq!(o.for_output(&OutputConfig::default()), None);
    assert_eq!(o.alarms, Alarms(Alarms::INPUT_STALE | Alarms::NO_INPUT));
}

/// Two 100 Ah inputs with every field distinct; their exact combination.
fn pair() -> (BatteryState, BatteryState, BatteryState) {
    let a = BatteryState {
        soc: Permille(600),
        soh: Permille(990),
        voltage: Millivolts(53_000),
        current: Milliamps(-10_000),
        temperature: DeciCelsius(250),
        warnings: Flags(Flags::HIGH_TEMPERATURE),
        requests: Requests(Requests::FULL_CHARGE),
        module_count: 2,
        ..bat(55_200, 50_000, 60_000)
    };
    let b = BatteryState {
        soc: Permille(400),
        soh: Permille(1000),
        voltage: Millivolts(52_000),
        current: Milliamps(-20_000),
        temperature: DeciCelsius(150),
        warnings: Flags::NONE,
        requests: Requests(Requests::FORCE_CHARGE_1),
        module_count: 3,
        ..bat(56_000, 40_000, 70_000)
    };
    // Capacity-weighted, equal capacities: 2 × the smaller limit.
    let combined = BatteryState {
        charge_voltage_limit: Millivolts(55_200),
        charge_current_limit: Milliamps(80_000),
        discharge_current_limit: Milliamps(120_000),
        soc: Permille(500),
        soh: Permille(995),
        voltage: Millivolts(52_500),
        current: Milliamps(-30_000),
        temperature: DeciCelsius(200),
        errors: Flags::NONE,
        warnings: Flags(Flags::HIGH_TEMPERATURE),
        charge_enable: true,
        discharge_enable: true,
        requests: Requests(Requests::FULL_CHARGE | Requests::FORCE_CHARGE_1),
        module_count: 5,
    };
    (a, b, combined)
}

#[test]
fn safe_state_after_data_loss_exact() {
    let (a, b, combined) = pair();
    let mut g = gateway(2, FaultPolicy::Exclude, NoInputPolicy::SafeOutput, 0);
    let o = g.step(&[at(a, 0), at(b, 0)], Millis(0));
    assert_eq!(o.mode, Mode::Normal);
    assert_eq!(o.alarms, Alarms::NONE);
    assert_eq!(o.inputs[..], [InputStatus::Active; 2]);
    assert_eq!(o.state, Some(combined));
    // Age exactly the timeout: still fresh.
    let o = g.step(&[at(a, 0), at(b, 0)], Millis(TIMEOUT));
    assert_eq!(o.mode, Mode::Normal);
    assert_eq!(o.state, Some(combined));
    // One millisecond older: both stale, the safe state.
    let o = g.step(&[at(a, 0), at(b, 0)], Millis(TIMEOUT + 1));
    assert_eq!(o.inputs[..], [InputStatus::Stale; 2]);
    assert_eq!(o.mode, Mode::Safe);
    assert_eq!(o.alarms, Alarms(Alarms::INPUT_STALE | Alarms::NO_INPUT));
    // The last combined voltage limit and measurements; current 0, module count 0,
    // requests cleared, both directions off with zero limits; no error flags (no fresh
    // input) and the stale inputs' warnings replaced by SYSTEM.
    let safe = BatteryState {
        charge_current_limit: Milliamps(0),
        discharge_current_limit: Milliamps(0),
        current: Milliamps(0),
        errors: Flags::NONE,
        warnings: Flags(Flags::SYSTEM),
        charge_enable: false,
        discharge_enable: false,
        requests: Requests::NONE,
        module_count: 0,
        ..combined
    };
    assert_eq!(o.state, Some(safe));
    // A telegram from the future counts as age 0 (fresh), not as stale.
    let o = g.step(&[at(a, 10_000), at(b, 10_000)], Millis(5_000));
    assert_eq!(o.inputs[..], [InputStatus::Active; 2]);
    assert_eq!(o.state, Some(combined));
}

#[test]
fn safe_state_carries_the_flags_of_a_fresh_recovering_input() {
    let (a, b, combined) = pair();
    let hold = 1_000;
    let mut g = gateway(2, FaultPolicy::Exclude, NoInputPolicy::SafeOutput, hold);
    // Start-up: recovering for exactly the hold.
    let o = g.step(&[at(a, 0), at(b, 0)], Millis(0));
    assert_eq!(
        o.inputs[..],
        [InputStatus::Recovering {
            remaining_ms: 1_000
        }; 2]
    );
    assert_eq!(o.mode, Mode::Safe);
    assert_eq!(
        o.alarms,
        Alarms(Alarms::INPUT_RECOVERING | Alarms::NO_INPUT)
    );
    // Fresh (recovering) inputs pass their warnings; nothing is combined yet.
    assert_eq!(
        o.state,
        Some(BatteryState {
            warnings: Flags(Flags::HIGH_TEMPERATURE | Flags::SYSTEM),
            ..startup_safe()
        })
    );
    let o = g.step(&[at(a, 999), at(b, 999)], Millis(999));
    assert_eq!(
        o.inputs[..],
        [InputStatus::Recovering { remaining_ms: 1 }; 2]
    );
    assert_eq!(o.mode, Mode::Safe);
    // Admitted at exactly the hold.
    let o = g.step(&[at(a, 1_000), at(b, 1_000)], Millis(1_000));
    assert_eq!(o.inputs[..], [InputStatus::Active; 2]);
    assert_eq!(o.alarms, Alarms::NONE);
    assert_eq!(o.state, Some(combined));
    // Both stale at 4 001; input 0 back at 5 000 in over-voltage protection.
    let o = g.step(&[at(a, 1_000), at(b, 1_000)], Millis(4_001));
    assert_eq!(o.mode, Mode::Safe);
    let hv = BatteryState {
        errors: Flags(Flags::HIGH_VOLTAGE),
        warnings: Flags(Flags::LOW_TEMPERATURE),
        charge_enable: false,
        ..a
    };
    let o = g.step(&[at(hv, 5_000), at(b, 1_000)], Millis(5_000));
    assert_eq!(
        o.inputs[..],
        [
            InputStatus::Recovering {
                remaining_ms: 1_000
            },
            InputStatus::Stale
        ]
    );
    assert_eq!(o.mode, Mode::Safe);
    assert_eq!(
        o.alarms,
        Alarms(
            Alarms::INPUT_STALE
                | Alarms::INPUT_RECOVERING
                | Alarms::INPUT_BLOCKING
                | Alarms::NO_INPUT
        )
    );
    assert_eq!(
        o.state,
        Some(BatteryState {
            charge_current_limit: Milliamps(0),
            discharge_current_limit: Milliamps(0),
            current: Milliamps(0),
            errors: Flags(Flags::HIGH_VOLTAGE),
            warnings: Flags(Flags::LOW_TEMPERATURE | Flags::SYSTEM),
            charge_enable: false,
            discharge_enable: false,
            requests: Requests::NONE,
            module_count: 0,
            ..combined
        })
    );
    // The stale input's flags never count: input 1 stale in protection, input 0 gone.
    let hot = BatteryState {
        errors: Flags(Flags::HIGH_TEMPERATURE),
        ..b
    };
    let o = g.step(&[None, at(hot, 0)], Millis(10_000));
    assert_eq!(o.inputs[..], [InputStatus::NoData, InputStatus::Stale]);
    assert_eq!(o.state.unwrap().errors, Flags::NONE);
    assert_eq!(o.state.unwrap().warnings, Flags(Flags::SYSTEM));
}

#[test]
fn recovering_alarm_only_while_recovering() {
    let (a, b, _) = pair();
    let mut g = gateway(2, FaultPolicy::Exclude, NoInputPolicy::SafeOutput, 1_000);
    for t in [0, 500, 1_000] {
        g.step(&[at(a, t), at(b, t)], Millis(t));
    }
    // Input 1 drops out for one step (no telegram given) and comes back.
    let o = g.step(&[at(a, 1_500), None], Millis(1_500));
    assert_eq!(o.alarms, Alarms(Alarms::INPUT_STALE));
    assert_eq!(o.mode, Mode::Degraded);
    let o = g.step(&[at(a, 2_000), at(b, 2_000)], Millis(2_000));
    assert_eq!(
        o.inputs[..],
        [
            InputStatus::Active,
            InputStatus::Recovering {
                remaining_ms: 1_000
            }
        ]
    );
    assert_eq!(o.alarms, Alarms(Alarms::INPUT_RECOVERING));
    assert!(o.alarms.contains(Alarms::INPUT_RECOVERING));
    assert!(!o.alarms.contains(Alarms::INPUT_STALE));
    assert!(!o.alarms.is_empty());
    assert_eq!(o.mode, Mode::Degraded);
    // Input 0 alone meanwhile, and the SYSTEM warning.
    let s = o.state.unwrap();
    assert_eq!(s.charge_current_limit, Milliamps(50_000));
    assert_eq!(s.discharge_current_limit, Milliamps(60_000));
    assert_eq!(s.module_count, 2);
    assert_eq!(s.warnings, Flags(Flags::HIGH_TEMPERATURE | Flags::SYSTEM));
    let o = g.step(&[at(a, 2_999), at(b, 2_999)], Millis(2_999));
    assert_eq!(o.inputs[1], InputStatus::Recovering { remaining_ms: 1 });
    assert_eq!(o.alarms, Alarms(Alarms::INPUT_RECOVERING));
    let o = g.step(&[at(a, 3_000), at(b, 3_000)], Millis(3_000));
    assert_eq!(o.inputs[1], InputStatus::Active);
    assert_eq!(o.alarms, Alarms::NONE);
    assert!(o.alarms.is_empty());
    assert_eq!(o.mode, Mode::Normal);
    // The alarm bit values are part of the telemetry contract.
    assert_eq!(
        [
            Alarms::INPUT_STALE,
            Alarms::INPUT_RECOVERING,
            Alarms::INPUT_BLOCKING,
            Alarms::NO_INPUT,
            Alarms::BLOCKED,
            Alarms::INPUT_IMPLAUSIBLE
        ],
        [1, 2, 4, 8, 16, 32]
    );
    assert!(Alarms(3).contains(1) && Alarms(3).contains(3) && !Alarms(3).contains(4));
    assert!(Alarms::NONE.is_empty() && !Alarms(32).is_empty());
}

#[test]
fn reset_forgets_the_hold_and_the_last_state() {
    let (a, b, combined) = pair();
    let mut g = gateway(2, FaultPolicy::Exclude, NoInputPolicy::SafeOutput, 1_000);
    g.step(&[at(a, 0), at(b, 0)], Millis(0));
    let o = g.step(&[at(a, 1_000), at(b, 1_000)], Millis(1_000));
    assert_eq!(o.state, Some(combined));
    let cfg = g.config().clone();
    g.reset();
    assert_eq!(g.config(), &cfg);
    assert_eq!(g, Gateway::new(cfg));
    // Both must pass the hold again; the safe state is the start-up one (no last values),
    // with the fresh inputs' warnings.
    let o = g.step(&[at(a, 1_500), at(b, 1_500)], Millis(1_500));
    assert_eq!(
        o.inputs[..],
        [InputStatus::Recovering {
            remaining_ms: 1_000
        }; 2]
    );
    assert_eq!(
        o.state,
        Some(BatteryState {
            warnings: Flags(Flags::HIGH_TEMPERATURE | Flags::SYSTEM),
            ..startup_safe()
        })
    );
    let o = g.step(&[at(a, 2_500), at(b, 2_500)], Millis(2_500));
    assert_eq!(o.state, Some(combined));
}

#[test]
fn block_policy_state_exact() {
    let (a, b, combined) = pair();
    let mut g = gateway(2, FaultPolicy::Block, NoInputPolicy::SafeOutput, 0);
    let o = g.step(&[at(a, 0), at(b, 0)], Millis(0));
    assert_eq!(o.mode, Mode::Normal);
    assert_eq!(o.state, Some(combined));
    // Input 1 has no data: limits 0, both off, requests cleared, SYSTEM; the measurements
    // are input 0's alone.
    let o = g.step(&[at(a, 0), None], Millis(0));
    assert_eq!(o.mode, Mode::Blocked);
    assert_eq!(o.alarms, Alarms(Alarms::INPUT_STALE | Alarms::BLOCKED));
    assert_eq!(
        o.state,
        Some(BatteryState {
            charge_current_limit: Milliamps(0),
            discharge_current_limit: Milliamps(0),
            charge_enable: false,
            discharge_enable: false,
            requests: Requests::NONE,
            warnings: Flags(Flags::HIGH_TEMPERATURE | Flags::SYSTEM),
            ..a
        })
    );
    // The same under Exclude: input 0 alone, enabled.
    let mut g = gateway(2, FaultPolicy::Exclude, NoInputPolicy::SafeOutput, 0);
    let o = g.step(&[at(a, 0), None], Millis(0));
    assert_eq!(o.mode, Mode::Degraded);
    assert_eq!(o.alarms, Alarms(Alarms::INPUT_STALE));
    assert_eq!(
        o.state,
        Some(BatteryState {
            warnings: Flags(Flags::HIGH_TEMPERATURE | Flags::SYSTEM),
            ..a
        })
    );
}

#[test]
fn input_config_new_exact() {
    let c = InputConfig::new(MilliampHours(100_000), 1_234);
    assert_eq!(c.capacity, MilliampHours(100_000));
    assert_eq!(c.timeout_ms, 1_234);
    assert_eq!(c.on_block, BlockPolicy::Stack);
    assert_eq!(c.plausibility.max_charge_current, Milliamps(100_000));
    assert_eq!(c.plausibility.max_discharge_current, Milliamps(100_000));
    assert_eq!(c.plausibility.min_voltage, Millivolts(32_000));
    assert_eq!(c.plausibility.max_voltage, Millivolts(60_800));
    // A negative capacity rates 0 A; one beyond i32 rates i32::MAX mA.
    let c = InputConfig::new(MilliampHours(-1), 0);
    assert_eq!(c.plausibility.max_charge_current, Milliamps(0));
    let c = InputConfig::new(MilliampHours(i64::MAX), 0);
    assert_eq!(c.plausibility.max_charge_current, Milliamps(i32::MAX));
}

#[test]
fn input_status_predicates() {
    let all = [
        InputStatus::NoData,
        InputStatus::Stale,
        InputStatus::Recovering { remaining_ms: 1 },
        InputStatus::Active,
        InputStatus::Blocking,
    ];
    let admitted: Vec<bool> = all.iter().map(|s| s.is_admitted()).collect();
    let fresh: Vec<bool> = all.iter().map(|s| s.is_fresh()).collect();
    assert_eq!(admitted, [false, false, false, true, true]);
    assert_eq!(fresh, [false, false, true, true, true]);
    assert_eq!(InputStatus::default(), InputStatus::NoData);
}

// ---- combine edges (combine.rs) -----------------------------------------------------------

#[test]
fn negative_input_limits_count_as_zero() {
    let a = bat(55_200, -5_000, 30_000);
    let b = bat(55_200, 30_000, -1);
    let two = [(&a, MilliampHours(100)), (&b, MilliampHours(100))];
    let got = |rule| {
        let c = combine(two, &cfg(rule)).unwrap();
        (c.charge_current_limit, c.discharge_current_limit)
    };
    // Sum: −5 counts 0, not −5 (25 A) and not 5 (35 A).
    assert_eq!(
        got(CurrentRule::Sum),
        (Milliamps(30_000), Milliamps(30_000))
    );
    assert_eq!(
        got(CurrentRule::SmallestTimesCount),
        (Milliamps(0), Milliamps(0))
    );
    assert_eq!(
        got(CurrentRule::CapacityWeighted),
        (Milliamps(0), Milliamps(0))
    );
    // A negative stack limit counts as 0 too.
    let c = combine(
        [(&a, MilliampHours(100))],
        &CombineConfig {
            current_rule: CurrentRule::Sum,
            max_charge_current: Milliamps(-1),
            max_discharge_current: Milliamps(i32::MIN),
        },
    )
    .unwrap();
    assert_eq!(
        (c.charge_current_limit, c.discharge_current_limit),
        (Milliamps(0), Milliamps(0))
    );
}

#[test]
fn capacity_weighted_rounds_down_exactly() {
    // Capacities 2 : 1 (ΣC = 3). Charge: a 20 001 × 3/2 = 30 001.5 → 30 001 (nearest would
    // give 30 002); b 50 000 × 3 = 150 000. Discharge: a 50 000 × 3/2 = 75 000; b 10 001 × 3
    // = 30 003.
    let a = bat(55_200, 20_001, 50_000);
    let b = bat(55_200, 50_000, 10_001);
    let c = combine(
        [(&a, MilliampHours(2)), (&b, MilliampHours(1))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c.charge_current_limit, Milliamps(30_001));
    assert_eq!(c.discharge_current_limit, Milliamps(30_003));
    // Capacities 3 : 4 (ΣC = 7). Charge: a 10 001 × 7/3 = 23 335.67 → 23 335 (nearest
    // 23 336); b 40 000 × 7/4 = 70 000. Discharge: a 10 000 × 7/3 = 23 333.33 → 23 333;
    // b 13 334 × 7/4 = 23 334.5 → 23 334: the smaller, a's, 23 333.
    let a = bat(55_200, 10_001, 10_000);
    let b = bat(55_200, 40_000, 13_334);
    let c = combine(
        [(&a, MilliampHours(3)), (&b, MilliampHours(4))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c.charge_current_limit, Milliamps(23_335));
    assert_eq!(c.discharge_current_limit, Milliamps(23_333));
    // The order of the inputs does not matter.
    let c2 = combine(
        [(&b, MilliampHours(4)), (&a, MilliampHours(3))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c2, c);
    // The weakest battery comes first, last, or in the middle: the same.
    let big = bat(55_200, 100_000, 100_000);
    let small = bat(55_200, 1_000, 1_000);
    for order in [
        [&small, &big, &big],
        [&big, &small, &big],
        [&big, &big, &small],
    ] {
        let c = combine(
            order.iter().map(|s| (*s, MilliampHours(100))),
            &CombineConfig::default(),
        )
        .unwrap();
        assert_eq!(c.charge_current_limit, Milliamps(3_000));
    }
}

#[test]
fn zero_capacity_battery_takes_no_share() {
    // b has capacity 0: it does not constrain the current, nor weigh in the averages.
    let a = BatteryState {
        soc: Permille(800),
        ..bat(55_200, 50_000, 60_000)
    };
    let b = BatteryState {
        soc: Permille(100),
        voltage: Millivolts(48_000),
        ..bat(54_000, 1_000, 2_000)
    };
    let c = combine(
        [(&a, MilliampHours(100_000)), (&b, MilliampHours(0))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c.charge_current_limit, Milliamps(50_000));
    assert_eq!(c.discharge_current_limit, Milliamps(60_000));
    assert_eq!(c.soc, Permille(800));
    assert_eq!(c.voltage, Millivolts(52_000));
    // Its voltage limit, flags, enables and module count still count.
    assert_eq!(c.charge_voltage_limit, Millivolts(54_000));
    assert_eq!(c.module_count, 2);
    assert_eq!(c.current, Milliamps(-20_000));
    // Also when it comes first and announces 0 A.
    let z = bat(55_200, 0, 0);
    let c = combine(
        [(&z, MilliampHours(0)), (&a, MilliampHours(100_000))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c.charge_current_limit, Milliamps(50_000));
    assert_eq!(c.discharge_current_limit, Milliamps(60_000));
    // Every capacity 0 (or negative): N × the smallest, plain averages rounded to nearest.
    let c = combine(
        [(&a, MilliampHours(0)), (&b, MilliampHours(-100))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c.charge_current_limit, Milliamps(2_000));
    assert_eq!(c.discharge_current_limit, Milliamps(4_000));
    assert_eq!(c.soc, Permille(450));
    assert_eq!(c.voltage, Millivolts(50_000));
}

#[test]
fn every_input_disabling_one_direction() {
    // Combine: every input's charge enable off → charge off, 0 A; discharge summed.
    let a = BatteryState {
        charge_enable: false,
        ..bat(55_200, 50_000, 60_000)
    };
    let b = BatteryState {
        charge_enable: false,
        ..bat(56_000, 40_000, 70_000)
    };
    let c = combine(
        [(&a, MilliampHours(100)), (&b, MilliampHours(100))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert!(!c.charge_enable && c.discharge_enable);
    assert_eq!(c.charge_current_limit, Milliamps(0));
    assert_eq!(c.discharge_current_limit, Milliamps(120_000));
    assert_eq!(c.charge_voltage_limit, Millivolts(55_200));
    // Discharge disabled by one of two: 0 A, charge stays.
    let d = BatteryState {
        discharge_enable: false,
        ..bat(56_000, 40_000, 70_000)
    };
    let c = combine(
        [
            (&bat(55_200, 50_000, 60_000), MilliampHours(100)),
            (&d, MilliampHours(100)),
        ],
        &CombineConfig::default(),
    )
    .unwrap();
    assert!(c.charge_enable && !c.discharge_enable);
    assert_eq!(c.charge_current_limit, Milliamps(80_000));
    assert_eq!(c.discharge_current_limit, Milliamps(0));
}

#[test]
fn every_admitted_input_blocking_one_direction_in_the_gateway() {
    // Both admitted inputs in over-voltage protection (charge forbidden): charge off for the
    // stack, discharge from both; mode degraded.
    let hv = |s: BatteryState| BatteryState {
        errors: Flags(Flags::HIGH_VOLTAGE),
        charge_enable: false,
        ..s
    };
    let a = hv(bat(55_200, 50_000, 60_000));
    let b = hv(bat(56_000, 40_000, 70_000));
    let mut g = gateway(2, FaultPolicy::Exclude, NoInputPolicy::SafeOutput, 0);
    let o = g.step(&[at(a, 0), at(b, 0)], Millis(0));
    assert_eq!(o.inputs[..], [InputStatus::Blocking; 2]);
    assert_eq!(o.mode, Mode::Degraded);
    assert_eq!(o.alarms, Alarms(Alarms::INPUT_BLOCKING));
    let s = o.state.unwrap();
    assert_eq!(
        s,
        BatteryState {
            charge_voltage_limit: Millivolts(55_200),
            charge_current_limit: Milliamps(0),
            discharge_current_limit: Milliamps(120_000),
            current: Milliamps(-20_000),
            errors: Flags(Flags::HIGH_VOLTAGE),
            charge_enable: false,
            module_count: 2,
            ..bat(55_200, 0, 0)
        }
    );
    // With the per-input opt-in (Exclude on block) every input leaves charging: no input
    // takes part, charge off, and the voltage limit is the minimum over all.
    let opt = InputConfig {
        on_block: BlockPolicy::Exclude,
        ..InputConfig::new(MilliampHours(100_000), TIMEOUT)
    };
    let mut g: Gateway<4> = Gateway::new(GatewayConfig {
        inputs: [opt, opt].into_iter().collect(),
        combine: CombineConfig::default(),
        fault_policy: FaultPolicy::Exclude,
        no_input: NoInputPolicy::SafeOutput,
        recovery_hold_ms: 0,
    });
    let o = g.step(&[at(a, 0), at(b, 0)], Millis(0));
    let s = o.state.unwrap();
    assert!(!s.charge_enable && s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(0));
    assert_eq!(s.discharge_current_limit, Milliamps(120_000));
    assert_eq!(s.charge_voltage_limit, Millivolts(55_200));
    assert_eq!(s.errors, Flags(Flags::HIGH_VOLTAGE));
    // Only one opted out: charging from the other one, its voltage limit.
    let ok = bat(56_000, 40_000, 70_000);
    let o = g.step(&[at(a, 0), at(ok, 0)], Millis(0));
    let s = o.state.unwrap();
    assert!(s.charge_enable && s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(40_000));
    assert_eq!(s.charge_voltage_limit, Millivolts(56_000));
    assert_eq!(s.discharge_current_limit, Milliamps(120_000));
    // Discharge-forbidding opt-in input (under-voltage): discharge from the other only.
    let lv = BatteryState {
        errors: Flags(Flags::LOW_VOLTAGE),
        discharge_enable: false,
        ..bat(55_200, 50_000, 60_000)
    };
    let o = g.step(&[at(lv, 0), at(ok, 0)], Millis(0));
    let s = o.state.unwrap();
    assert!(s.charge_enable && s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(80_000));
    assert_eq!(s.charge_voltage_limit, Millivolts(55_200));
    assert_eq!(s.discharge_current_limit, Milliamps(70_000));
    assert_eq!(s.errors, Flags(Flags::LOW_VOLTAGE));
}

#[test]
fn stack_limit_exactly_at_and_beyond_the_bound() {
    let a = bat(55_200, 60_000, 60_000);
    let limit = |max: i32| {
        let c = combine(
            [(&a, MilliampHours(1)), (&a, MilliampHours(1))],
            &CombineConfig {
                current_rule: CurrentRule::Sum,
                max_charge_current: Milliamps(max),
                max_discharge_current: Milliamps(max - 1),
            },
        )
        .unwrap();
        (c.charge_current_limit, c.discharge_current_limit)
    };
    assert_eq!(limit(120_000), (Milliamps(120_000), Milliamps(119_999)));
    assert_eq!(limit(120_001), (Milliamps(120_000), Milliamps(120_000)));
}

#[test]
fn sums_saturate() {
    let a = BatteryState {
        current: Milliamps(i32::MAX),
        module_count: u16::MAX,
        ..bat(55_200, i32::MAX, i32::MAX)
    };
    let c = combine(
        [(&a, MilliampHours(1)), (&a, MilliampHours(1))],
        &cfg(CurrentRule::Sum),
    )
    .unwrap();
    assert_eq!(c.current, Milliamps(i32::MAX));
    assert_eq!(c.module_count, u16::MAX);
    assert_eq!(c.charge_current_limit, Milliamps(i32::MAX));
    let b = BatteryState {
        current: Milliamps(i32::MIN),
        ..a
    };
    let c = combine(
        [(&b, MilliampHours(1)), (&b, MilliampHours(1))],
        &cfg(CurrentRule::Sum),
    )
    .unwrap();
    assert_eq!(c.current, Milliamps(i32::MIN));
}

#[test]
fn averages_round_to_nearest_exactly() {
    // Weights 1 : 2: (1 × 10 + 2 × 11) / 3 = 10.67 → 11; (1 × 10 + 2 × 10) / 3 = 10;
    // (1 × 11 + 2 × 10) / 3 = 10.33 → 10; negative: (−10 − 22) / 3 = −10.67 → −11.
    let s = |soc: i16, t: i16, v: i32| BatteryState {
        soc: Permille(soc),
        soh: Permille(soc),
        temperature: DeciCelsius(t),
        voltage: Millivolts(v),
        ..bat(55_200, 0, 0)
    };
    let a = s(10, -10, 11);
    let b = s(11, -11, 10);
    let c = combine(
        [(&a, MilliampHours(1)), (&b, MilliampHours(2))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c.soc, Permille(11));
    assert_eq!(c.soh, Permille(11));
    assert_eq!(c.temperature, DeciCelsius(-11));
    assert_eq!(c.voltage, Millivolts(10));
}

// ---- set points (setpoint.rs) ------------------------------------------------------------

const BOUNDS: SetpointBounds = SetpointBounds {
    max_charge: Milliamps(150_000),
    max_discharge: Milliamps(120_000),
    max_ttl_ms: 600_000,
};

#[test]
fn set_points_exactly_at_their_bounds() {
    let ok = |d, v, ttl| Setpoints::check(d, Milliamps(v), ttl, &BOUNDS);
    assert_eq!(ok(Direction::Charge, 150_000, 600_000), Ok(()));
    assert_eq!(ok(Direction::Discharge, 120_000, 600_000), Ok(()));
    assert_eq!(ok(Direction::Charge, 0, 1), Ok(()));
    assert_eq!(ok(Direction::Discharge, 0, 1), Ok(()));
    assert_eq!(
        ok(Direction::Charge, 150_001, 1),
        Err(SetpointError::OutOfRange {
            direction: Direction::Charge,
            value: 150_001,
            bound: 150_000
        })
    );
    // Each direction has its own bound: 120 001 is fine for charging only.
    assert_eq!(ok(Direction::Charge, 120_001, 1), Ok(()));
    assert_eq!(
        ok(Direction::Discharge, 120_001, 1),
        Err(SetpointError::OutOfRange {
            direction: Direction::Discharge,
            value: 120_001,
            bound: 120_000
        })
    );
    assert_eq!(
        ok(Direction::Charge, -1, 1),
        Err(SetpointError::OutOfRange {
            direction: Direction::Charge,
            value: -1,
            bound: 150_000
        })
    );
    assert_eq!(
        ok(Direction::Charge, 1, 600_001),
        Err(SetpointError::Ttl {
            ttl_ms: 600_001,
            max_ms: 600_000
        })
    );
    assert_eq!(
        ok(Direction::Discharge, 1, 0),
        Err(SetpointError::Ttl {
            ttl_ms: 0,
            max_ms: 600_000
        })
    );
    // The limit is checked before the lifetime.
    assert_eq!(
        ok(Direction::Charge, -1, 0).unwrap_err().code(),
        "out_of_range"
    );
    assert_eq!(
        std::format!("{}", ok(Direction::Discharge, 120_001, 1).unwrap_err()),
        "discharge current limit 120001 mA is outside 0 ..= 120000 mA"
    );
    assert_eq!(
        std::format!("{}", ok(Direction::Charge, 1, 0).unwrap_err()),
        "lifetime 0 ms is outside 1 ..= 600000 ms"
    );
    assert_eq!(Direction::Charge.name(), "charge");
    assert_eq!(Direction::Discharge.name(), "discharge");
}

#[test]
fn set_point_lifetime_exactly_at_its_maximum() {
    let mut sp = Setpoints::default();
    sp.set(
        Direction::Charge,
        Milliamps(150_000),
        600_000,
        Millis(1_000),
        &BOUNDS,
    )
    .unwrap();
    assert_eq!(
        sp.charge,
        Some(Setpoint {
            limit: Milliamps(150_000),
            until: Millis(601_000)
        })
    );
    assert_eq!(sp.discharge, None);
    // Applies through 600 999, not at 601 000.
    let s = bat(55_200, 200_000, 200_000);
    assert_eq!(
        sp.apply(&s, Millis(600_999)).charge_current_limit,
        Milliamps(150_000)
    );
    assert_eq!(sp.active(Direction::Charge, Millis(600_999)), sp.charge);
    assert_eq!(sp.apply(&s, Millis(601_000)), s);
    assert_eq!(sp.active(Direction::Charge, Millis(601_000)), None);
    // expire keeps it through 600 999 and drops it at 601 000.
    sp.expire(Millis(600_999));
    assert!(sp.charge.is_some());
    sp.expire(Millis(601_000));
    assert_eq!(sp, Setpoints::default());
    // One millisecond beyond the maximum: refused, nothing changed.
    let before = sp;
    assert!(
        sp.set(
            Direction::Discharge,
            Milliamps(1),
            600_001,
            Millis(0),
            &BOUNDS
        )
        .is_err()
    );
    assert_eq!(sp, before);
}

#[test]
fn set_points_apply_per_direction_and_only_lower() {
    let mut sp = Setpoints::default();
    sp.set(
        Direction::Discharge,
        Milliamps(30_000),
        10,
        Millis(0),
        &BOUNDS,
    )
    .unwrap();
    let s = bat(55_200, 80_000, 90_000);
    // Discharge only: 30 A; charge untouched.
    let o = sp.apply(&s, Millis(9));
    assert_eq!(o.charge_current_limit, Milliamps(80_000));
    assert_eq!(o.discharge_current_limit, Milliamps(30_000));
    assert_eq!(
        o,
        BatteryState {
            discharge_current_limit: Milliamps(30_000),
            ..s
        }
    );
    assert_eq!(sp.active(Direction::Charge, Millis(0)), None);
    // Discharge expiry at exactly 10; a charge set point keeps its own expiry.
    sp.set(Direction::Charge, Milliamps(20_000), 20, Millis(0), &BOUNDS)
        .unwrap();
    sp.expire(Millis(10));
    assert_eq!(sp.discharge, None);
    assert_eq!(
        sp.charge,
        Some(Setpoint {
            limit: Milliamps(20_000),
            until: Millis(20)
        })
    );
    // A set point above the limit: the limit stays; equal: equal.
    sp.set(Direction::Charge, Milliamps(80_001), 20, Millis(0), &BOUNDS)
        .unwrap();
    assert_eq!(
        sp.apply(&s, Millis(0)).charge_current_limit,
        Milliamps(80_000)
    );
    sp.set(Direction::Charge, Milliamps(0), 20, Millis(0), &BOUNDS)
        .unwrap();
    assert_eq!(sp.apply(&s, Millis(0)).charge_current_limit, Milliamps(0));
    sp.clear();
    assert_eq!(sp, Setpoints::default());
    assert_eq!(sp.apply(&s, Millis(0)), s);
}

#[test]
fn set_point_until_saturates() {
    let bounds = SetpointBounds {
        max_ttl_ms: u64::MAX,
        ..BOUNDS
    };
    let mut sp = Setpoints::default();
    sp.set(
        Direction::Charge,
        Milliamps(10_000),
        100,
        Millis(u64::MAX - 10),
        &bounds,
    )
    .unwrap();
    assert_eq!(sp.charge.unwrap().until, Millis(u64::MAX));
    sp.set(
        Direction::Discharge,
        Milliamps(10_000),
        u64::MAX,
        Millis(1),
        &bounds,
    )
    .unwrap();
    assert_eq!(sp.discharge.unwrap().until, Millis(u64::MAX));
    let s = bat(55_200, 50_000, 50_000);
    let o = sp.apply(&s, Millis(u64::MAX - 1));
    assert_eq!(o.charge_current_limit, Milliamps(10_000));
    assert_eq!(o.discharge_current_limit, Milliamps(10_000));
    // At u64::MAX itself nothing applies any more (`now < until` is false).
    assert_eq!(sp.apply(&s, Millis(u64::MAX)), s);
    // Not saturating: 1 000 + 5 000.
    sp.set(
        Direction::Charge,
        Milliamps(1),
        5_000,
        Millis(1_000),
        &BOUNDS,
    )
    .unwrap();
    assert_eq!(sp.charge.unwrap().until, Millis(6_000));
    // Millis arithmetic itself.
    assert_eq!(Millis(u64::MAX - 1).saturating_add(5), Millis(u64::MAX));
    assert_eq!(Millis(5).since(Millis(7)), 0);
    assert_eq!(Millis(7).since(Millis(5)), 2);
}

// ---- plausibility edges (plausibility.rs) ---------------------------------------------------

/// Sets one field of a state.
type Set = fn(&mut BatteryState, i32);

#[test]
fn plausibility_every_bound_inclusive_and_one_beyond() {
    use voltwire_ess::{Chemistry, Field, Implausible, Plausibility};
    let p = Plausibility::for_pack(16, Chemistry::Lfp, Milliamps(100_000), Milliamps(150_000));
    let mid = BatteryState {
        voltage: Millivolts(50_000),
        charge_voltage_limit: Millivolts(55_000),
        charge_current_limit: Milliamps(50_000),
        discharge_current_limit: Milliamps(50_000),
        soc: Permille(500),
        soh: Permille(500),
        temperature: DeciCelsius(250),
        ..BatteryState::default()
    };
    assert_eq!(p.check(&mid), Ok(()));
    let fields: [(Field, i32, i32, Set); 7] = [
        (Field::Voltage, 32_000, 60_800, |s, v| {
            s.voltage = Millivolts(v);
        }),
        (Field::ChargeVoltageLimit, 32_000, 60_800, |s, v| {
            s.charge_voltage_limit = Millivolts(v);
        }),
        (Field::ChargeCurrentLimit, 0, 100_000, |s, v| {
            s.charge_current_limit = Milliamps(v);
        }),
        (Field::DischargeCurrentLimit, 0, 150_000, |s, v| {
            s.discharge_current_limit = Milliamps(v);
        }),
        (Field::Soc, 0, 1000, |s, v| {
            s.soc = Permille(i16::try_from(v).unwrap());
        }),
        (Field::Soh, 0, 1000, |s, v| {
            s.soh = Permille(i16::try_from(v).unwrap());
        }),
        (Field::Temperature, -400, 800, |s, v| {
            s.temperature = DeciCelsius(i16::try_from(v).unwrap());
        }),
    ];
    for (field, min, max, set) in fields {
        for (v, ok) in [(min - 1, false), (min, true), (max, true), (max + 1, false)] {
            let mut s = mid;
            set(&mut s, v);
            let want = if ok {
                Ok(())
            } else {
                Err(Implausible {
                    field,
                    value: v,
                    min,
                    max,
                })
            };
            assert_eq!(p.check(&s), want, "{} = {v}", field.name());
        }
    }
    // Several fields out: the first in table order is named.
    let bad = BatteryState {
        temperature: DeciCelsius(900),
        soc: Permille(2000),
        discharge_current_limit: Milliamps(-1),
        ..mid
    };
    assert_eq!(
        p.check(&bad).unwrap_err().field,
        Field::DischargeCurrentLimit
    );
    let bad = BatteryState {
        voltage: Millivolts(0),
        charge_voltage_limit: Millivolts(0),
        ..bad
    };
    assert_eq!(p.check(&bad).unwrap_err().field, Field::Voltage);
    // Names and units, as logs and JSON show them.
    let names: Vec<(&str, &str)> = [
        Field::Voltage,
        Field::ChargeVoltageLimit,
        Field::ChargeCurrentLimit,
        Field::DischargeCurrentLimit,
        Field::Soc,
        Field::Soh,
        Field::Temperature,
    ]
    .iter()
    .map(|f| (f.name(), f.unit()))
    .collect();
    assert_eq!(
        names,
        [
            ("voltage", "mV"),
            ("charge_voltage_limit", "mV"),
            ("charge_current_limit", "mA"),
            ("discharge_current_limit", "mA"),
            ("soc", "permille"),
            ("soh", "permille"),
            ("temperature", "decidegC"),
        ]
    );
    // Cell ranges per chemistry, and the pack range from the cell count.
    assert_eq!(
        [Chemistry::Lfp, Chemistry::Nmc, Chemistry::Lto].map(Chemistry::cell_range),
        [
            (Millivolts(2_000), Millivolts(3_800)),
            (Millivolts(2_500), Millivolts(4_350)),
            (Millivolts(1_500), Millivolts(2_900)),
        ]
    );
    assert_eq!(Chemistry::default(), Chemistry::Lfp);
    let one = Plausibility::for_pack(1, Chemistry::Nmc, Milliamps(1), Milliamps(2));
    assert_eq!(
        one,
        Plausibility {
            min_voltage: Millivolts(2_500),
            max_voltage: Millivolts(4_350),
            max_charge_current: Milliamps(1),
            max_discharge_current: Milliamps(2),
            min_temperature: DeciCelsius(-400),
            max_temperature: DeciCelsius(800),
        }
    );
}
