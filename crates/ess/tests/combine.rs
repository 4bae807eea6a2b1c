//! Combine rules: mixed capacities, current rules, flags and enables.

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

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_ess::{BatteryState, CombineConfig, CurrentRule, Flags, Requests, combine};

fn bat(cvl: i32, ccl: i32, dcl: i32, soc: i16, v: i32, t: i16) -> BatteryState {
    BatteryState {
        charge_voltage_limit: Millivolts(cvl),
        charge_current_limit: Milliamps(ccl),
        discharge_current_limit: Milliamps(dcl),
        soc: Permille(soc),
        soh: Permille(1000),
        voltage: Millivolts(v),
        current: Milliamps(-10_000),
        temperature: DeciCelsius(t),
        charge_enable: true,
        discharge_enable: true,
        module_count: 2,
        ..BatteryState::default()
    }
}

fn cfg(rule: CurrentRule) -> CombineConfig {
    CombineConfig {
        current_rule: rule,
        ..CombineConfig::default()
    }
}

#[test]
fn mixed_capacities() {
    // 100 Ah at 80 %, 50 Ah at 20 %: (100*800 + 50*200) / 150 = 600.0 -> 60.0 %.
    let a = bat(56_000, 50_000, 100_000, 800, 53_000, 250);
    let b = bat(55_200, 25_000, 40_000, 200, 52_000, 100);
    let c = combine(
        [(&a, MilliampHours(100_000)), (&b, MilliampHours(50_000))],
        &cfg(CurrentRule::Sum),
    )
    .unwrap();
    assert_eq!(c.soc, Permille(600));
    assert_eq!(c.soh, Permille(1000));
    // (100*53000 + 50*52000)/150 = 52666.67 -> 52667 (nearest).
    assert_eq!(c.voltage, Millivolts(52_667));
    // (100*250 + 50*100)/150 = 200.
    assert_eq!(c.temperature, DeciCelsius(200));
    assert_eq!(c.charge_voltage_limit, Millivolts(55_200));
    assert_eq!(c.charge_current_limit, Milliamps(75_000));
    assert_eq!(c.discharge_current_limit, Milliamps(140_000));
    assert_eq!(c.current, Milliamps(-20_000));
    assert_eq!(c.module_count, 4);

    let n = combine(
        [(&a, MilliampHours(100_000)), (&b, MilliampHours(50_000))],
        &cfg(CurrentRule::SmallestTimesCount),
    )
    .unwrap();
    assert_eq!(n.charge_current_limit, Milliamps(50_000));
    assert_eq!(n.discharge_current_limit, Milliamps(80_000));

    // Capacity-weighted: shares 2/3 and 1/3. Charge: a allows 50 A -> 75 A total, b allows
    // 25 A -> 75 A total: 75 A. Discharge: a 100 A -> 150 A, b 40 A -> 120 A: 120 A.
    let w = combine(
        [(&a, MilliampHours(100_000)), (&b, MilliampHours(50_000))],
        &cfg(CurrentRule::CapacityWeighted),
    )
    .unwrap();
    assert_eq!(w.charge_current_limit, Milliamps(75_000));
    assert_eq!(w.discharge_current_limit, Milliamps(120_000));
}

#[test]
fn rounding_halves_away_from_zero() {
    let a = bat(56_000, 0, 0, 1, 0, -1);
    let b = bat(56_000, 0, 0, 2, 0, -2);
    let c = combine(
        [(&a, MilliampHours(1)), (&b, MilliampHours(1))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c.soc, Permille(2)); // 1.5 -> 2
    assert_eq!(c.temperature, DeciCelsius(-2)); // -1.5 -> -2
}

#[test]
fn zero_capacities_weigh_equally() {
    let a = bat(56_000, 10, 10, 100, 0, 0);
    let b = bat(56_000, 30, 30, 300, 0, 0);
    let c = combine(
        [(&a, MilliampHours(0)), (&b, MilliampHours(-5))],
        &cfg(CurrentRule::CapacityWeighted),
    )
    .unwrap();
    assert_eq!(c.soc, Permille(200));
    assert_eq!(c.charge_current_limit, Milliamps(20)); // falls back to N x smallest
}

#[test]
fn stack_limits_clamp() {
    let a = bat(56_000, 100_000, 100_000, 500, 0, 0);
    let cfg = CombineConfig {
        max_charge_current: Milliamps(120_000),
        max_discharge_current: Milliamps(150_000),
        ..CombineConfig::default()
    };
    let c = combine([(&a, MilliampHours(1)), (&a, MilliampHours(1))], &cfg).unwrap();
    assert_eq!(c.charge_current_limit, Milliamps(120_000));
    assert_eq!(c.discharge_current_limit, Milliamps(150_000));
}

#[test]
fn flags_and_enables() {
    let mut a = bat(56_000, 1, 1, 500, 0, 0);
    let mut b = a;
    a.errors = Flags(Flags::HIGH_VOLTAGE);
    b.errors = Flags(Flags::SYSTEM);
    a.warnings = Flags(Flags::LOW_TEMPERATURE);
    a.requests = Requests(Requests::FULL_CHARGE);
    b.requests = Requests(Requests::FORCE_CHARGE_1);
    b.charge_enable = false;
    let c = combine(
        [(&a, MilliampHours(1)), (&b, MilliampHours(1))],
        &CombineConfig::default(),
    )
    .unwrap();
    assert_eq!(c.errors, Flags(Flags::HIGH_VOLTAGE | Flags::SYSTEM));
    assert_eq!(c.warnings, Flags(Flags::LOW_TEMPERATURE));
    assert_eq!(
        c.requests,
        Requests(Requests::FULL_CHARGE | Requests::FORCE_CHARGE_1)
    );
    assert!(!c.charge_enable && c.discharge_enable);
    assert_eq!(c.charge_current_limit, Milliamps(0));
    assert_eq!(c.discharge_current_limit, Milliamps(2));
}

#[test]
fn empty_is_none() {
    assert!(combine(std::iter::empty(), &CombineConfig::default()).is_none());
}
