//! Properties: outputs never exceed the combined limits; no panic on any input.

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

use proptest::prelude::*;
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_ess::{
    BatteryState, CombineConfig, CurrentRule, FaultPolicy, Flags, Gateway, GatewayConfig,
    InputConfig, Millis, NoInputPolicy, OutputConfig, Ratio, Requests, combine, limit_output,
};

fn state() -> impl Strategy<Value = BatteryState> {
    (
        (
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i16>(),
            any::<i16>(),
        ),
        (
            any::<i32>(),
            any::<i32>(),
            any::<i16>(),
            any::<u16>(),
            any::<u16>(),
        ),
        (any::<bool>(), any::<bool>(), any::<u8>(), any::<u16>()),
    )
        .prop_map(
            |((cvl, ccl, dcl, soc, soh), (v, i, t, e, w), (ce, de, r, m))| BatteryState {
                charge_voltage_limit: Millivolts(cvl),
                charge_current_limit: Milliamps(ccl),
                discharge_current_limit: Milliamps(dcl),
                soc: Permille(soc),
                soh: Permille(soh),
                voltage: Millivolts(v),
                current: Milliamps(i),
                temperature: DeciCelsius(t),
                errors: Flags(e),
                warnings: Flags(w),
                charge_enable: ce,
                discharge_enable: de,
                requests: Requests(r),
                module_count: m,
            },
        )
}

/// Mostly small times (so that inputs are fresh and admitted), sometimes extreme ones.
fn time() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..20_000, 1 => any::<u64>()]
}

fn rule() -> impl Strategy<Value = CurrentRule> {
    prop_oneof![
        Just(CurrentRule::Sum),
        Just(CurrentRule::SmallestTimesCount),
        Just(CurrentRule::CapacityWeighted)
    ]
}

fn combine_cfg() -> impl Strategy<Value = CombineConfig> {
    (rule(), any::<i32>(), any::<i32>()).prop_map(|(r, c, d)| CombineConfig {
        current_rule: r,
        max_charge_current: Milliamps(c),
        max_discharge_current: Milliamps(d),
    })
}

fn output_cfg() -> impl Strategy<Value = OutputConfig> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<i32>(),
        any::<i32>(),
        any::<i32>(),
        any::<i32>(),
    )
        .prop_map(|(n, d, off, c, dc, v)| OutputConfig {
            current_scale: Ratio::new(n, d),
            current_offset: Milliamps(off),
            max_charge_current: Milliamps(c),
            max_discharge_current: Milliamps(dc),
            max_charge_voltage: Millivolts(v),
        })
}

proptest! {
    #[test]
    fn output_never_exceeds_combined(
        inputs in prop::collection::vec((state(), any::<i64>()), 1..6),
        ccfg in combine_cfg(),
        ocfg in output_cfg(),
    ) {
        let c = combine(inputs.iter().map(|(s, cap)| (s, MilliampHours(*cap))), &ccfg).unwrap();
        prop_assert!(c.charge_current_limit.0 >= 0);
        prop_assert!(c.discharge_current_limit.0 >= 0);
        prop_assert!(c.charge_current_limit.0 <= ccfg.max_charge_current.0.max(0));
        prop_assert!(c.discharge_current_limit.0 <= ccfg.max_discharge_current.0.max(0));
        let min_cvl = inputs.iter().map(|(s, _)| s.charge_voltage_limit).min().unwrap();
        prop_assert_eq!(c.charge_voltage_limit, min_cvl);
        prop_assert_eq!(c.charge_enable, inputs.iter().all(|(s, _)| s.charge_enable));
        prop_assert_eq!(c.discharge_enable, inputs.iter().all(|(s, _)| s.discharge_enable));

        let o = limit_output(&c, &ocfg);
        prop_assert!(o.charge_current_limit.0 >= 0);
        prop_assert!(o.discharge_current_limit.0 >= 0);
        prop_assert!(o.charge_current_limit <= c.charge_current_limit);
        prop_assert!(o.discharge_current_limit <= c.discharge_current_limit);
        prop_assert!(o.charge_current_limit.0 <= ocfg.max_charge_current.0.max(0));
        prop_assert!(o.discharge_current_limit.0 <= ocfg.max_discharge_current.0.max(0));
        prop_assert!(o.charge_voltage_limit <= c.charge_voltage_limit);
        prop_assert_eq!(o.charge_enable, c.charge_enable);
        prop_assert_eq!(o.discharge_enable, c.discharge_enable);
    }

    #[test]
    fn weighted_averages_stay_within_inputs(
        inputs in prop::collection::vec((state(), 0i64..=i64::MAX), 1..6),
    ) {
        let c = combine(
            inputs.iter().map(|(s, cap)| (s, MilliampHours(*cap))),
            &CombineConfig::default(),
        ).unwrap();
        let lo = inputs.iter().map(|(s, _)| s.soc).min().unwrap();
        let hi = inputs.iter().map(|(s, _)| s.soc).max().unwrap();
        prop_assert!(lo <= c.soc && c.soc <= hi);
        let lo = inputs.iter().map(|(s, _)| s.voltage).min().unwrap();
        let hi = inputs.iter().map(|(s, _)| s.voltage).max().unwrap();
        prop_assert!(lo <= c.voltage && c.voltage <= hi);
    }

    #[test]
    fn gateway_total_and_bounded(
        steps in prop::collection::vec(
            (prop::collection::vec(prop::option::of((state(), time())), 0..6), any::<u64>()),
            1..20,
        ).prop_map(|mut v| { v.sort_by_key(|(_, t)| *t); v }),
        caps in prop::array::uniform4((any::<i64>(), time())),
        ccfg in combine_cfg(),
        ocfg in output_cfg(),
        block in any::<bool>(),
        silence in any::<bool>(),
        hold in prop_oneof![Just(0u64), time()],
    ) {
        let mut g: Gateway<4> = Gateway::new(GatewayConfig {
            inputs: caps.iter().map(|&(c, t)| InputConfig::new(MilliampHours(c), t)).collect(),
            combine: ccfg,
            fault_policy: if block { FaultPolicy::Block } else { FaultPolicy::Exclude },
            no_input: if silence { NoInputPolicy::Silence } else { NoInputPolicy::SafeOutput },
            recovery_hold_ms: hold,
        });
        for (inputs, now) in steps {
            let inputs: Vec<_> = inputs.into_iter().map(|o| o.map(|(s, t)| (s, Millis(t)))).collect();
            let out = g.step(&inputs, Millis(now));
            if let Some(s) = out.state {
                prop_assert!(s.charge_current_limit.0 >= 0);
                prop_assert!(s.charge_current_limit.0 <= ccfg.max_charge_current.0.max(0));
                prop_assert!(s.discharge_current_limit.0 <= ccfg.max_discharge_current.0.max(0));
                if !s.charge_enable {
                    prop_assert_eq!(s.charge_current_limit, Milliamps(0));
                }
                if !s.discharge_enable {
                    prop_assert_eq!(s.discharge_current_limit, Milliamps(0));
                }
                let o = out.for_output(&ocfg).unwrap();
                prop_assert!(o.charge_current_limit <= s.charge_current_limit);
                prop_assert!(o.discharge_current_limit <= s.discharge_current_limit);
            } else {
                prop_assert!(silence);
            }
        }
    }
}

/// States inside the plausible ranges of `InputConfig::new(100 Ah)` (16-cell LFP, 100 A).
fn plausible_state() -> impl Strategy<Value = BatteryState> {
    (
        (
            32_000i32..=60_800,
            0i32..=100_000,
            0i32..=100_000,
            0i16..=1000,
            32_000i32..=60_800,
        ),
        (-400i16..=800, any::<u16>(), any::<u16>()),
        (any::<bool>(), any::<bool>(), any::<u8>()),
    )
        .prop_map(
            |((cvl, ccl, dcl, soc, v), (t, e, w), (ce, de, r))| BatteryState {
                charge_voltage_limit: Millivolts(cvl),
                charge_current_limit: Milliamps(ccl),
                discharge_current_limit: Milliamps(dcl),
                soc: Permille(soc),
                soh: Permille(1000),
                voltage: Millivolts(v),
                current: Milliamps(0),
                temperature: DeciCelsius(t),
                // Mostly no flags, sometimes any.
                errors: Flags(if e % 4 == 0 { e } else { 0 }),
                warnings: Flags(if w % 4 == 0 { w } else { 0 }),
                charge_enable: ce,
                discharge_enable: de,
                requests: Requests(r),
                module_count: 1,
            },
        )
}

proptest! {
    #[test]
    fn a_fresh_input_forbidding_a_direction_disables_it_and_its_flags_pass(
        inputs in prop::collection::vec(prop::option::of(plausible_state()), 1..5),
        block in any::<bool>(),
        hold in prop_oneof![Just(0u64), Just(1_000u64)],
    ) {
        let mut g: Gateway<4> = Gateway::new(GatewayConfig {
            inputs: inputs.iter().map(|_| InputConfig::new(MilliampHours(100_000), 3_000)).collect(),
            combine: CombineConfig::default(),
            fault_policy: if block { FaultPolicy::Block } else { FaultPolicy::Exclude },
            no_input: NoInputPolicy::SafeOutput,
            recovery_hold_ms: hold,
        });
        let slots: Vec<_> = inputs.iter().map(|o| o.map(|s| (s, Millis(0)))).collect();
        // Every given input is fresh (age 0) and plausible, admitted or recovering.
        let out = g.step(&slots, Millis(0));
        let s = out.state.unwrap();
        let given: Vec<&BatteryState> = inputs.iter().flatten().collect();
        for b in &given {
            prop_assert!(s.errors.contains(b.errors.0));
            prop_assert!(s.warnings.contains(b.warnings.0));
        }
        if given.iter().any(|b| b.forbids_charge()) {
            prop_assert!(!s.charge_enable);
            prop_assert_eq!(s.charge_current_limit, Milliamps(0));
        }
        if given.iter().any(|b| b.forbids_discharge()) {
            prop_assert!(!s.discharge_enable);
            prop_assert_eq!(s.discharge_current_limit, Milliamps(0));
        }
        // Capacity-weighted over equal packs: never above N × the smallest admitted limit.
        if hold == 0 && !given.is_empty() && given.len() == inputs.len() {
            let n = i32::try_from(given.len()).unwrap();
            let min = given.iter().map(|b| b.charge_current_limit.0).min().unwrap();
            prop_assert!(s.charge_current_limit.0 <= min * n);
        }
    }
}
