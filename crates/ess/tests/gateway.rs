//! The gateway state machine: exclusion, safe output, silence, recovery hold, Block policy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::many_single_char_names,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    missing_docs,
    reason = "test code"
)]

use voltwire_core::{MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_ess::{
    Alarms, BatteryState, CombineConfig, CurrentRule, FaultPolicy, Flags, Gateway, GatewayConfig,
    InputConfig, InputStatus, Millis, Mode, NoInputPolicy,
};

const TIMEOUT: u64 = 3_000;
const HOLD: u64 = 10_000;

fn bat(ccl: i32, soc: i16) -> BatteryState {
    BatteryState {
        charge_voltage_limit: Millivolts(55_000),
        charge_current_limit: Milliamps(ccl),
        discharge_current_limit: Milliamps(ccl),
        soc: Permille(soc),
        soh: Permille(1000),
        voltage: Millivolts(52_000),
        charge_enable: true,
        discharge_enable: true,
        module_count: 1,
        ..BatteryState::default()
    }
}

fn gw(policy: FaultPolicy, no_input: NoInputPolicy, hold: u64) -> Gateway<3> {
    Gateway::new(GatewayConfig {
        inputs: heapless::Vec::from_slice(&[
            InputConfig::new(MilliampHours(100_000), TIMEOUT),
            InputConfig::new(MilliampHours(100_000), TIMEOUT),
            InputConfig::new(MilliampHours(200_000), TIMEOUT),
        ])
        .unwrap(),
        // These tests are about data age: the plain sum keeps their numbers simple (the
        // default rule is tested in policy_split.rs and combine.rs).
        combine: CombineConfig {
            current_rule: CurrentRule::Sum,
            ..CombineConfig::default()
        },
        fault_policy: policy,
        no_input,
        recovery_hold_ms: hold,
    })
}

/// Drive the gateway in 500 ms steps; `alive(i, t)` says whether input i sent a telegram at t.
/// Returns the output at every step.
fn run(
    g: &mut Gateway<3>,
    from: u64,
    to: u64,
    last: &mut [Option<(BatteryState, Millis)>; 3],
    alive: impl Fn(usize, u64) -> bool,
) -> Vec<(u64, voltwire_ess::GatewayOutput<3>)> {
    let mut outs = Vec::new();
    let mut t = from;
    while t <= to {
        for (i, l) in last.iter_mut().enumerate() {
            if alive(i, t) {
                *l = Some((
                    bat(50_000 * (i as i32 + 1), 500 + 100 * i as i16),
                    Millis(t),
                ));
            }
        }
        outs.push((t, g.step(last, Millis(t))));
        t += 500;
    }
    outs
}

#[test]
fn one_input_stops_is_excluded_within_timeout() {
    let mut g = gw(FaultPolicy::Exclude, NoInputPolicy::SafeOutput, HOLD);
    let mut last = [None; 3];
    let outs = run(&mut g, 0, 12_000, &mut last, |_, _| true);
    let (_, o) = outs.last().unwrap();
    assert_eq!(o.mode, Mode::Normal);
    assert!(o.alarms.is_empty());
    let s = o.state.unwrap();
    assert_eq!(s.charge_current_limit, Milliamps(300_000));
    // weights 1:1:2 -> (500 + 600 + 1400) / 4 = 625
    assert_eq!(s.soc, Permille(625));

    // Input 1 stops after t = 12 000.
    let outs = run(&mut g, 12_500, 30_000, &mut last, |i, _| i != 1);
    for (t, o) in &outs {
        let s = o.state.unwrap();
        assert!(
            s.charge_enable && s.discharge_enable,
            "outputs continue at {t}"
        );
        if *t > 12_000 + TIMEOUT {
            assert_eq!(o.inputs[1], InputStatus::Stale, "at {t}");
            assert_eq!(o.mode, Mode::Degraded);
            assert!(o.alarms.contains(Alarms::INPUT_STALE));
            assert_eq!(s.charge_current_limit, Milliamps(200_000));
            // (500 + 2*700) / 3 = 633.3 -> 633
            assert_eq!(s.soc, Permille(633));
            assert!(s.warnings.contains(Flags::SYSTEM));
        } else {
            assert_eq!(o.mode, Mode::Normal, "at {t}");
        }
    }
}

#[test]
fn all_stop_gives_safe_output_then_recovery_after_hold() {
    let mut g = gw(FaultPolicy::Exclude, NoInputPolicy::SafeOutput, HOLD);
    let mut last = [None; 3];
    // Start-up: nothing admitted before the hold time.
    let outs = run(&mut g, 0, 20_000, &mut last, |_, _| true);
    for (t, o) in &outs {
        if *t < HOLD {
            assert_eq!(o.mode, Mode::Safe, "at {t}");
            assert!(matches!(o.inputs[0], InputStatus::Recovering { .. }));
        } else {
            assert_eq!(o.mode, Mode::Normal, "at {t}");
        }
    }
    // All stop at 20 000.
    let outs = run(&mut g, 20_500, 30_000, &mut last, |_, _| false);
    for (t, o) in &outs {
        if *t > 20_000 + TIMEOUT {
            assert_eq!(o.mode, Mode::Safe, "at {t}");
            assert!(o.alarms.contains(Alarms::NO_INPUT));
            let s = o.state.unwrap();
            assert!(!s.charge_enable && !s.discharge_enable);
            assert_eq!(s.charge_current_limit, Milliamps(0));
            assert_eq!(s.discharge_current_limit, Milliamps(0));
            // last combined voltage limit and SOC are kept
            assert_eq!(s.charge_voltage_limit, Millivolts(55_000));
            assert_eq!(s.soc, Permille(625));
        }
    }
    // Input 2 comes back at 30 500: admitted only after the hold.
    let outs = run(&mut g, 30_500, 45_000, &mut last, |i, _| i == 2);
    for (t, o) in &outs {
        if *t < 30_500 + HOLD {
            assert_eq!(o.mode, Mode::Safe, "at {t}");
            assert_eq!(
                o.inputs[2],
                InputStatus::Recovering {
                    remaining_ms: 30_500 + HOLD - t
                }
            );
        } else {
            assert_eq!(o.mode, Mode::Degraded, "at {t}");
            let s = o.state.unwrap();
            assert_eq!(s.charge_current_limit, Milliamps(150_000));
            assert!(s.charge_enable);
        }
    }
}

#[test]
fn interrupted_recovery_restarts_the_hold() {
    let mut g = gw(FaultPolicy::Exclude, NoInputPolicy::SafeOutput, HOLD);
    let mut last = [None; 3];
    // Input 0 flaps: fresh for 6 s, silent for 4 s (stale), fresh again.
    let alive = |i: usize, t: u64| i == 0 && !(6_000..10_000).contains(&t);
    let outs = run(&mut g, 0, 25_000, &mut last, alive);
    for (t, o) in &outs {
        // Stale from 9 000 (> 5 500 + 3 000) to 9 500, fresh again from 10 000: admitted at 20 000.
        let admitted = *t >= 20_000;
        assert_eq!(o.inputs[0].is_admitted(), admitted, "at {t}");
    }
}

#[test]
fn silence_when_configured() {
    let mut g = gw(FaultPolicy::Exclude, NoInputPolicy::Silence, 0);
    let o = g.step(&[], Millis(0));
    assert_eq!(o.mode, Mode::Silent);
    assert!(o.state.is_none());
    assert_eq!(o.inputs[..], [InputStatus::NoData; 3]);
}

#[test]
fn block_policy_disables_everything() {
    let mut g = gw(FaultPolicy::Block, NoInputPolicy::SafeOutput, 0);
    let mut last = [None; 3];
    let outs = run(&mut g, 0, 5_000, &mut last, |_, _| true);
    assert_eq!(outs.last().unwrap().1.mode, Mode::Normal);
    let outs = run(&mut g, 5_500, 12_000, &mut last, |i, _| i != 0);
    for (t, o) in &outs {
        let s = o.state.unwrap();
        if *t > 5_000 + TIMEOUT {
            assert_eq!(o.mode, Mode::Blocked, "at {t}");
            assert!(o.alarms.contains(Alarms::BLOCKED));
            assert!(!s.charge_enable && !s.discharge_enable);
            assert_eq!(s.charge_current_limit, Milliamps(0));
            assert_eq!(s.discharge_current_limit, Milliamps(0));
        } else {
            assert!(s.charge_enable, "at {t}");
        }
    }
    // Recovery: input 0 back, all normal again.
    let outs = run(&mut g, 12_500, 13_000, &mut last, |_, _| true);
    assert_eq!(outs.last().unwrap().1.mode, Mode::Normal);
}

#[test]
fn blocking_input_disables_its_direction_for_the_stack() {
    let mut g = gw(FaultPolicy::Exclude, NoInputPolicy::SafeOutput, 0);
    let full = BatteryState {
        charge_enable: false,
        errors: Flags(Flags::HIGH_VOLTAGE),
        charge_voltage_limit: Millivolts(50_000),
        ..bat(10_000, 1000)
    };
    let ok = bat(20_000, 500);
    let o = g.step(
        &[
            Some((full, Millis(0))),
            Some((ok, Millis(0))),
            Some((ok, Millis(0))),
        ],
        Millis(0),
    );
    assert_eq!(o.mode, Mode::Degraded);
    assert_eq!(o.inputs[0], InputStatus::Blocking);
    assert!(o.alarms.contains(Alarms::INPUT_BLOCKING));
    let s = o.state.unwrap();
    // Charging is off for the whole stack, discharging goes on from all three (sum rule).
    assert!(!s.charge_enable && s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(0));
    assert_eq!(s.discharge_current_limit, Milliamps(50_000));
    // The protection flag reaches the inverter.
    assert_eq!(s.errors, Flags(Flags::HIGH_VOLTAGE));

    // Under Block the same.
    let mut g = gw(FaultPolicy::Block, NoInputPolicy::SafeOutput, 0);
    let o = g.step(
        &[
            Some((full, Millis(0))),
            Some((ok, Millis(0))),
            Some((ok, Millis(0))),
        ],
        Millis(0),
    );
    let s = o.state.unwrap();
    assert!(!s.charge_enable && s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(0));
    assert_eq!(s.errors, Flags(Flags::HIGH_VOLTAGE));
}
