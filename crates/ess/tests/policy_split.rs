//! Issue 22 items 1–3 at the domain level: the default current rule protects the weakest
//! battery; a fresh input that forbids a direction disables it for the stack and its flags
//! always reach the inverter; implausible telegrams make an input faulty.

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
    clippy::too_many_lines,
    missing_docs,
    reason = "test code"
)]

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_ess::{
    Alarms, BatteryState, BlockPolicy, Chemistry, CombineConfig, CurrentRule, FaultPolicy, Field,
    Flags, Gateway, GatewayConfig, Implausible, InputConfig, InputStatus, Millis, Mode,
    NoInputPolicy, Plausibility, combine,
};

const TIMEOUT: u64 = 3_000;

fn bat(cvl: i32, ccl: i32, dcl: i32, soc: i16) -> BatteryState {
    BatteryState {
        charge_voltage_limit: Millivolts(cvl),
        charge_current_limit: Milliamps(ccl),
        discharge_current_limit: Milliamps(dcl),
        soc: Permille(soc),
        soh: Permille(1000),
        voltage: Millivolts(52_000),
        current: Milliamps(0),
        temperature: DeciCelsius(250),
        charge_enable: true,
        discharge_enable: true,
        module_count: 1,
        ..BatteryState::default()
    }
}

/// Equal 100 Ah inputs (plausible: 16-cell LFP, rated 100 A), the default combine rule.
fn gw(n: usize, policy: FaultPolicy, hold: u64) -> Gateway<4> {
    gw_with(
        &vec![InputConfig::new(MilliampHours(100_000), TIMEOUT); n],
        policy,
        hold,
    )
}

fn gw_with(inputs: &[InputConfig], policy: FaultPolicy, hold: u64) -> Gateway<4> {
    Gateway::new(GatewayConfig {
        inputs: heapless::Vec::from_slice(inputs).unwrap(),
        combine: CombineConfig::default(),
        fault_policy: policy,
        no_input: NoInputPolicy::SafeOutput,
        recovery_hold_ms: hold,
    })
}

#[allow(clippy::unnecessary_wraps, reason = "an input slot")]
fn at(s: BatteryState, t: u64) -> Option<(BatteryState, Millis)> {
    Some((s, Millis(t)))
}

// ---- item 1: the default current rule -------------------------------------------------

#[test]
fn default_rule_is_capacity_weighted() {
    assert_eq!(CurrentRule::default(), CurrentRule::CapacityWeighted);
    assert_eq!(
        CombineConfig::default().current_rule,
        CurrentRule::CapacityWeighted
    );
}

#[test]
fn equal_packs_95_and_5_amps_give_10_amps_not_100() {
    let a = bat(55_200, 95_000, 95_000, 500);
    let b = bat(55_200, 5_000, 5_000, 500);
    let cap = MilliampHours(100_000);
    let c = combine([(&a, cap), (&b, cap)], &CombineConfig::default()).unwrap();
    assert_eq!(c.charge_current_limit, Milliamps(10_000));
    assert_eq!(c.discharge_current_limit, Milliamps(10_000));
    // Sum is an explicit opt-in, and gives what the issue saw.
    let sum = CombineConfig {
        current_rule: CurrentRule::Sum,
        ..CombineConfig::default()
    };
    let c = combine([(&a, cap), (&b, cap)], &sum).unwrap();
    assert_eq!(c.charge_current_limit, Milliamps(100_000));
    // Through the gateway (default config) the same 10 A.
    let mut g = gw(2, FaultPolicy::Exclude, 0);
    let o = g.step(&[at(a, 0), at(b, 0)], Millis(0));
    assert_eq!(o.mode, Mode::Normal);
    assert_eq!(o.state.unwrap().charge_current_limit, Milliamps(10_000));
    // Unequal packs: 200 Ah allowing 100 A and 100 Ah allowing 20 A. Shares 2/3 and 1/3:
    // 100 A × 3/2 = 150 A, 20 A × 3 = 60 A -> 60 A (the 100 Ah pack then carries 20 A).
    let big = bat(55_200, 100_000, 100_000, 500);
    let small = bat(55_200, 20_000, 20_000, 500);
    let c = combine(
        [
            (&big, MilliampHours(200_000)),
            (&small, MilliampHours(100_000)),
        ],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c.charge_current_limit, Milliamps(60_000));
}

// ---- item 2: protection and blocking --------------------------------------------------

/// The `--fault cell-overvoltage` battery: charge disabled, CCL 0, over-voltage protection.
fn overvoltage() -> BatteryState {
    BatteryState {
        charge_enable: false,
        charge_current_limit: Milliamps(0),
        errors: Flags(Flags::HIGH_VOLTAGE),
        warnings: Flags(Flags::HIGH_VOLTAGE),
        ..bat(56_800, 0, 50_000, 1000)
    }
}

#[test]
fn overvoltage_input_disables_charge_for_the_stack_and_its_flag_reaches_the_inverter() {
    for policy in [FaultPolicy::Exclude, FaultPolicy::Block] {
        let mut g = gw(2, policy, 0);
        let ok = bat(56_800, 50_000, 50_000, 900);
        let o = g.step(&[at(overvoltage(), 0), at(ok, 0)], Millis(10));
        let s = o.state.unwrap();
        // Not `ce=1 ccl=50 prot=0`: charge off, CCL 0, the protection bit passed on.
        assert!(!s.charge_enable, "{policy:?}");
        assert_eq!(s.charge_current_limit, Milliamps(0));
        assert_eq!(s.errors, Flags(Flags::HIGH_VOLTAGE));
        assert!(s.warnings.contains(Flags::HIGH_VOLTAGE));
        // Discharge goes on: capacity-weighted over both, 2 × min(50, 50) = 100 A.
        assert!(s.discharge_enable);
        assert_eq!(s.discharge_current_limit, Milliamps(100_000));
        assert_eq!(o.mode, Mode::Degraded);
        assert_eq!(o.inputs[0], InputStatus::Blocking);
        assert!(o.alarms.contains(Alarms::INPUT_BLOCKING));
    }
}

#[test]
fn protection_flag_alone_disables_its_direction() {
    let mut g = gw(2, FaultPolicy::Exclude, 0);
    let ok = bat(56_800, 50_000, 50_000, 500);
    // Under-voltage protection, enables still on: discharge off for all.
    let empty = BatteryState {
        errors: Flags(Flags::LOW_VOLTAGE),
        ..ok
    };
    let s = g.step(&[at(empty, 0), at(ok, 0)], Millis(0)).state.unwrap();
    assert!(s.charge_enable && !s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(100_000));
    assert_eq!(s.discharge_current_limit, Milliamps(0));
    assert_eq!(s.errors, Flags(Flags::LOW_VOLTAGE));
    // Over-temperature protection: both off.
    let hot = BatteryState {
        errors: Flags(Flags::HIGH_TEMPERATURE),
        ..ok
    };
    let s = g.step(&[at(hot, 0), at(ok, 0)], Millis(0)).state.unwrap();
    assert!(!s.charge_enable && !s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(0));
    assert_eq!(s.discharge_current_limit, Milliamps(0));
    // A warning alone disables nothing, and is OR-ed into the output.
    let warm = BatteryState {
        warnings: Flags(Flags::HIGH_TEMPERATURE),
        ..ok
    };
    let o = g.step(&[at(warm, 0), at(ok, 0)], Millis(0));
    let s = o.state.unwrap();
    assert!(s.charge_enable && s.discharge_enable);
    assert_eq!(s.warnings, Flags(Flags::HIGH_TEMPERATURE));
    assert_eq!(o.mode, Mode::Normal);
}

#[test]
fn recovering_input_that_blocks_still_disables_and_its_flags_pass() {
    // Input 0 admitted since 0; input 1 appears at 5 000 already in protection and is
    // recovering (hold 10 s): its protection must not wait for the hold.
    let mut g = gw(2, FaultPolicy::Exclude, 10_000);
    let ok = bat(56_800, 50_000, 50_000, 500);
    for t in (0..=10_000).step_by(500) {
        g.step(&[at(ok, t), None], Millis(t));
    }
    let o = g.step(&[at(ok, 10_000), at(overvoltage(), 10_000)], Millis(10_000));
    assert_eq!(
        o.inputs[1],
        InputStatus::Recovering {
            remaining_ms: 10_000
        }
    );
    let s = o.state.unwrap();
    assert!(!s.charge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(0));
    assert_eq!(s.errors, Flags(Flags::HIGH_VOLTAGE));
    // Discharge from the admitted input only: 50 A; the recovering one is not used yet.
    assert!(s.discharge_enable);
    assert_eq!(s.discharge_current_limit, Milliamps(50_000));
    assert!(
        o.alarms
            .contains(Alarms::INPUT_RECOVERING | Alarms::INPUT_BLOCKING)
    );
    // A recovering input's flags also reach the safe state (nothing admitted yet).
    let mut g = gw(1, FaultPolicy::Exclude, 10_000);
    let o = g.step(&[at(overvoltage(), 0)], Millis(0));
    assert_eq!(o.mode, Mode::Safe);
    let s = o.state.unwrap();
    assert!(!s.charge_enable && !s.discharge_enable);
    assert_eq!(s.errors, Flags(Flags::HIGH_VOLTAGE));
}

#[test]
fn exclude_on_block_is_an_explicit_per_input_opt_in() {
    let opt_in = InputConfig {
        on_block: BlockPolicy::Exclude,
        ..InputConfig::new(MilliampHours(100_000), TIMEOUT)
    };
    assert_eq!(
        InputConfig::new(MilliampHours(1), 1).on_block,
        BlockPolicy::Stack
    );
    let mut g = gw_with(
        &[opt_in, InputConfig::new(MilliampHours(100_000), TIMEOUT)],
        FaultPolicy::Exclude,
        0,
    );
    let ok = bat(55_200, 50_000, 50_000, 500);
    let o = g.step(&[at(overvoltage(), 0), at(ok, 0)], Millis(0));
    let s = o.state.unwrap();
    // Charge from the other input only (50 A, its CVL); discharge from both.
    assert!(s.charge_enable && s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(50_000));
    assert_eq!(s.charge_voltage_limit, Millivolts(55_200));
    assert_eq!(s.discharge_current_limit, Milliamps(100_000));
    // Its protection flag is still passed on.
    assert_eq!(s.errors, Flags(Flags::HIGH_VOLTAGE));
    assert_eq!(o.mode, Mode::Degraded);
    // When the only other input forbids charging too, charging is off.
    let full = BatteryState {
        charge_enable: false,
        ..ok
    };
    let s = g
        .step(&[at(overvoltage(), 0), at(full, 0)], Millis(0))
        .state
        .unwrap();
    assert!(!s.charge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(0));
}

#[test]
fn stale_input_follows_the_fault_policy_and_its_flags_are_not_used() {
    let ok = bat(55_200, 50_000, 50_000, 500);
    let mut g = gw(2, FaultPolicy::Exclude, 0);
    // Input 0's last telegram (in protection) is stale at 4 000.
    let o = g.step(&[at(overvoltage(), 0), at(ok, 4_000)], Millis(4_000));
    assert_eq!(o.inputs[0], InputStatus::Stale);
    let s = o.state.unwrap();
    assert!(s.charge_enable && s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(50_000));
    assert!(s.errors.is_empty());
    assert_eq!(s.warnings, Flags(Flags::SYSTEM));
    let mut g = gw(2, FaultPolicy::Block, 0);
    let o = g.step(&[at(ok, 0), at(ok, 4_000)], Millis(4_000));
    assert_eq!(o.mode, Mode::Blocked);
    let s = o.state.unwrap();
    assert!(!s.charge_enable && !s.discharge_enable);
}

// ---- item 3: plausibility -------------------------------------------------------------

#[test]
fn plausible_ranges_from_cells_and_chemistry_exact_edges() {
    let p = Plausibility::for_pack(16, Chemistry::Lfp, Milliamps(100_000), Milliamps(150_000));
    assert_eq!(p.min_voltage, Millivolts(32_000));
    assert_eq!(p.max_voltage, Millivolts(60_800));
    assert_eq!(p.min_temperature, DeciCelsius(-400));
    assert_eq!(p.max_temperature, DeciCelsius(800));
    let n = Plausibility::for_pack(14, Chemistry::Nmc, Milliamps(1), Milliamps(1));
    assert_eq!(
        (n.min_voltage, n.max_voltage),
        (Millivolts(35_000), Millivolts(60_900))
    );
    let l = Plausibility::for_pack(20, Chemistry::Lto, Milliamps(1), Milliamps(1));
    assert_eq!(
        (l.min_voltage, l.max_voltage),
        (Millivolts(30_000), Millivolts(58_000))
    );

    let ok = BatteryState {
        voltage: Millivolts(60_800),
        charge_voltage_limit: Millivolts(32_000),
        charge_current_limit: Milliamps(100_000),
        discharge_current_limit: Milliamps(150_000),
        soc: Permille(1000),
        soh: Permille(0),
        temperature: DeciCelsius(800),
        ..BatteryState::default()
    };
    assert_eq!(p.check(&ok), Ok(()));
    assert_eq!(
        p.check(&BatteryState {
            temperature: DeciCelsius(-400),
            ..ok
        }),
        Ok(())
    );
    let err = |field, value, min, max| {
        Err(Implausible {
            field,
            value,
            min,
            max,
        })
    };
    for (s, want) in [
        (
            BatteryState {
                voltage: Millivolts(60_801),
                ..ok
            },
            err(Field::Voltage, 60_801, 32_000, 60_800),
        ),
        (
            BatteryState {
                voltage: Millivolts(31_999),
                ..ok
            },
            err(Field::Voltage, 31_999, 32_000, 60_800),
        ),
        (
            // A lone BMS sending 6553.5 V.
            BatteryState {
                charge_voltage_limit: Millivolts(6_553_500),
                ..ok
            },
            err(Field::ChargeVoltageLimit, 6_553_500, 32_000, 60_800),
        ),
        (
            BatteryState {
                charge_current_limit: Milliamps(100_001),
                ..ok
            },
            err(Field::ChargeCurrentLimit, 100_001, 0, 100_000),
        ),
        (
            // 0x7FFF = 3276.7 A.
            BatteryState {
                charge_current_limit: Milliamps(3_276_700),
                ..ok
            },
            err(Field::ChargeCurrentLimit, 3_276_700, 0, 100_000),
        ),
        (
            BatteryState {
                discharge_current_limit: Milliamps(150_001),
                ..ok
            },
            err(Field::DischargeCurrentLimit, 150_001, 0, 150_000),
        ),
        (
            BatteryState {
                discharge_current_limit: Milliamps(-1),
                ..ok
            },
            err(Field::DischargeCurrentLimit, -1, 0, 150_000),
        ),
        (
            // SOC 250 %.
            BatteryState {
                soc: Permille(2500),
                ..ok
            },
            err(Field::Soc, 2500, 0, 1000),
        ),
        (
            BatteryState {
                soc: Permille(1001),
                ..ok
            },
            err(Field::Soc, 1001, 0, 1000),
        ),
        (
            BatteryState {
                soc: Permille(-1),
                ..ok
            },
            err(Field::Soc, -1, 0, 1000),
        ),
        (
            BatteryState {
                soh: Permille(1001),
                ..ok
            },
            err(Field::Soh, 1001, 0, 1000),
        ),
        (
            BatteryState {
                temperature: DeciCelsius(801),
                ..ok
            },
            err(Field::Temperature, 801, -400, 800),
        ),
        (
            BatteryState {
                temperature: DeciCelsius(-401),
                ..ok
            },
            err(Field::Temperature, -401, -400, 800),
        ),
    ] {
        assert_eq!(p.check(&s), want);
    }
}

#[test]
fn implausible_input_is_faulty_and_must_pass_the_hold_again() {
    let ok = bat(55_200, 50_000, 50_000, 500);
    // One BMS sends CCL 3276.7 A: it does not drive the stack to the cable cap.
    let wild = BatteryState {
        charge_current_limit: Milliamps(3_276_700),
        ..ok
    };
    let mut g = gw(2, FaultPolicy::Exclude, 1_000);
    for t in (0..=1_000).step_by(500) {
        g.step(&[at(ok, t), at(ok, t)], Millis(t));
    }
    let o = g.step(&[at(ok, 1_500), at(wild, 1_500)], Millis(1_500));
    assert_eq!(
        o.inputs[1],
        InputStatus::Implausible(Implausible {
            field: Field::ChargeCurrentLimit,
            value: 3_276_700,
            min: 0,
            max: 100_000,
        })
    );
    assert!(o.alarms.contains(Alarms::INPUT_IMPLAUSIBLE));
    assert_eq!(o.mode, Mode::Degraded);
    let s = o.state.unwrap();
    assert_eq!(s.charge_current_limit, Milliamps(50_000));
    assert_eq!(s.discharge_current_limit, Milliamps(50_000));
    assert!(s.warnings.contains(Flags::SYSTEM));
    // SOC 250 % is not averaged in.
    let o = g.step(
        &[
            at(ok, 2_000),
            at(
                BatteryState {
                    soc: Permille(2500),
                    ..ok
                },
                2_000,
            ),
        ],
        Millis(2_000),
    );
    assert_eq!(o.state.unwrap().soc, Permille(500));
    // Plausible again at 2 500: recovering for the full hold, admitted at 3 500.
    let o = g.step(&[at(ok, 2_500), at(ok, 2_500)], Millis(2_500));
    assert_eq!(
        o.inputs[1],
        InputStatus::Recovering {
            remaining_ms: 1_000
        }
    );
    assert_eq!(o.state.unwrap().charge_current_limit, Milliamps(50_000));
    let o = g.step(&[at(ok, 3_500), at(ok, 3_500)], Millis(3_500));
    assert_eq!(o.inputs[1], InputStatus::Active);
    assert_eq!(o.state.unwrap().charge_current_limit, Milliamps(100_000));

    // Block policy: an implausible input blocks everything.
    let mut g = gw(2, FaultPolicy::Block, 0);
    let o = g.step(&[at(ok, 0), at(wild, 0)], Millis(0));
    assert_eq!(o.mode, Mode::Blocked);
    let s = o.state.unwrap();
    assert!(!s.charge_enable && !s.discharge_enable);
    // A lone BMS announcing CVL 6553.5 V never reaches the inverter.
    let mut g = gw(1, FaultPolicy::Exclude, 0);
    let o = g.step(
        &[at(
            BatteryState {
                charge_voltage_limit: Millivolts(6_553_500),
                ..ok
            },
            0,
        )],
        Millis(0),
    );
    assert_eq!(o.mode, Mode::Safe);
    let s = o.state.unwrap();
    assert!(!s.charge_enable && !s.discharge_enable);
    assert_eq!(s.charge_current_limit, Milliamps(0));
    assert_ne!(s.charge_voltage_limit, Millivolts(6_553_500));
}

#[test]
fn missing_entries_count_as_no_data() {
    // Two inputs configured, one entry given: input 1 has no data.
    let mut g = gw(2, FaultPolicy::Exclude, 0);
    let o = g.step(&[at(bat(55_200, 50_000, 50_000, 500), 0)], Millis(0));
    assert_eq!(o.inputs[1], InputStatus::NoData);
    assert!(o.alarms.contains(Alarms::INPUT_STALE));
    assert_eq!(o.mode, Mode::Degraded);
    let s = o.state.unwrap();
    assert_eq!(s.warnings, Flags(Flags::SYSTEM));
    let mut g = gw(2, FaultPolicy::Block, 0);
    let o = g.step(&[at(bat(55_200, 50_000, 50_000, 500), 0)], Millis(0));
    assert_eq!(o.mode, Mode::Blocked);
}
