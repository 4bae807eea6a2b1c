use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};

use super::charge::{ChargeTables, DischargeLatch, apply};
use super::*;
use crate::combine::CurrentRule;
use crate::plausibility::Chemistry;

fn cfg() -> AggregateConfig {
    AggregateConfig {
        combine: CombineConfig {
            current_rule: CurrentRule::SmallestTimesCount,
            ..CombineConfig::default()
        },
        cvl: CvlRule::Minimum,
        fault_policy: FaultPolicy::Exclude,
        timeout_ms: 10_000,
        recovery_hold_ms: 30_000,
        plausibility: Plausibility::for_pack(
            16,
            Chemistry::Lfp,
            Milliamps(500_000),
            Milliamps(500_000),
        ),
        expected: 3,
    }
}

/// A battery: `v` pack mV, `i` mA, CCL/DCL in A, SOC ‰, capacity Ah, cells in mV.
fn bat(v: i32, i: i32, ccl: i32, dcl: i32, soc: i16, ah: i64, cells: (i32, i32)) -> Reading {
    Reading {
        state: BatteryState {
            charge_voltage_limit: Millivolts(55_200),
            charge_current_limit: Milliamps(ccl * 1000),
            discharge_current_limit: Milliamps(dcl * 1000),
            soc: Permille(soc),
            soh: Permille(1000),
            voltage: Millivolts(v),
            current: Milliamps(i),
            temperature: DeciCelsius(200),
            charge_enable: true,
            discharge_enable: true,
            ..BatteryState::default()
        },
        installed_capacity: MilliampHours(ah * 1000),
        capacity: Some(MilliampHours(ah * i64::from(soc))),
        consumed: Some(MilliampHours(ah * i64::from(1000 - soc))),
        time_to_go_s: Some(3600),
        min_cell: Some(Millivolts(cells.0)),
        max_cell: Some(Millivolts(cells.1)),
        min_temperature: Some(DeciCelsius(150)),
        max_temperature: Some(DeciCelsius(250)),
        alarms: AlarmLevels::default(),
        allow_balance: true,
        modules: Modules::default(),
    }
}

fn three() -> [Reading; 3] {
    let mut a = bat(53_000, 10_000, 100, 150, 800, 100, (3310, 3320));
    let mut b = bat(53_100, -4_000, 80, 120, 600, 200, (3305, 3330));
    let c = bat(53_200, 6_000, 90, 100, 500, 100, (3300, 3325));
    a.time_to_go_s = Some(1000);
    b.time_to_go_s = Some(4000);
    a.alarms.raise(VenusAlarm::LowSoc, 1);
    b.alarms.raise(VenusAlarm::LowSoc, 2);
    b.alarms.raise(VenusAlarm::HighTemperature, 1);
    a.state.charge_voltage_limit = Millivolts(55_000);
    b.modules = Modules {
        online: 2,
        offline: 0,
        blocking_charge: 0,
        blocking_discharge: 0,
    };
    [a, b, c]
}

fn at(rs: &[Reading], t: u64) -> heapless::Vec<Option<(Reading, Millis)>, 8> {
    rs.iter().map(|r| Some((*r, Millis(t)))).collect()
}

#[test]
fn three_batteries_combine_with_exact_numbers() {
    let mut agg: Aggregator<8> = Aggregator::new(cfg());
    let rs = three();
    // Admitted only after the hold: before it, the safe state.
    let o = agg.step(&at(&rs, 0), Millis(0));
    assert_eq!(o.mode, Mode::Safe);
    assert_eq!(o.state.charge_current_limit, Milliamps(0));
    assert_eq!(o.state.discharge_current_limit, Milliamps(0));
    assert!(
        o.alarms
            .contains(Alarms::INPUT_RECOVERING | Alarms::NO_INPUT)
    );
    let o = agg.step(&at(&rs, 29_999), Millis(29_999));
    assert_eq!(o.mode, Mode::Safe);
    let o = agg.step(&at(&rs, 30_000), Millis(30_000));
    assert_eq!(o.mode, Mode::Normal);
    assert_eq!(o.alarms, Alarms::NONE);
    let s = o.state;
    // Voltage capacity-weighted: (53000×100 + 53100×200 + 53200×100) / 400 = 53100.
    assert_eq!(s.voltage, Millivolts(53_100));
    assert_eq!(s.current, Milliamps(12_000));
    // SOC: (800×100 + 600×200 + 500×100) / 400 = 625.
    assert_eq!(s.soc, Permille(625));
    assert_eq!(s.charge_voltage_limit, Millivolts(55_000));
    // N × smallest: 3 × 80 A, 3 × 100 A.
    assert_eq!(s.charge_current_limit, Milliamps(240_000));
    assert_eq!(s.discharge_current_limit, Milliamps(300_000));
    assert_eq!(o.installed_capacity, MilliampHours(400_000));
    assert_eq!(o.capacity, Some(MilliampHours(250_000)));
    assert_eq!(o.consumed, Some(MilliampHours(150_000)));
    // (1000×100 + 4000×200 + 3600×100) / 400 = 3150.
    assert_eq!(o.time_to_go_s, Some(3150));
    assert_eq!(
        o.min_cell,
        Some(Extreme {
            value: Millivolts(3300),
            battery: 2
        })
    );
    assert_eq!(
        o.max_cell,
        Some(Extreme {
            value: Millivolts(3330),
            battery: 1
        })
    );
    assert_eq!(o.min_temperature.map(|e| e.value), Some(DeciCelsius(150)));
    assert_eq!(o.venus_alarms.get(VenusAlarm::LowSoc), 2);
    assert_eq!(o.venus_alarms.get(VenusAlarm::HighTemperature), 1);
    assert_eq!(o.venus_alarms.get(VenusAlarm::BmsCable), 0);
    assert_eq!(o.modules.online, 4);
    assert_eq!(o.modules.offline, 0);
    assert!(o.allow_balance && !o.count_mismatch);
}

#[test]
fn a_vanished_battery_is_excluded_then_recovers_after_the_hold() {
    let mut agg: Aggregator<8> = Aggregator::new(cfg());
    let rs = three();
    let _ = agg.step(&at(&rs, 30_000), Millis(0));
    let o = agg.step(&at(&rs, 30_000), Millis(30_000));
    assert_eq!(o.mode, Mode::Normal);
    // Battery 1 (the 80 A one) last spoke at 30 s; battery 0 and 2 go on.
    let step = |agg: &mut Aggregator<8>, now: u64, b1: u64| {
        let mut r = at(&rs, now);
        if let Some(x) = r.get_mut(1) {
            *x = Some((rs[1], Millis(b1)));
        }
        agg.step(&r, Millis(now))
    };
    // 10 s old: still fresh.
    let o = step(&mut agg, 40_000, 30_000);
    assert_eq!(o.mode, Mode::Normal);
    assert_eq!(o.modules.offline, 0);
    // 10.001 s: stale, excluded: 2 × min(100, 90) A = 180 A; 2 × 100 A.
    let o = step(&mut agg, 40_001, 30_000);
    assert_eq!(o.mode, Mode::Degraded);
    assert!(o.alarms.contains(Alarms::INPUT_STALE));
    assert_eq!(o.state.charge_current_limit, Milliamps(180_000));
    assert_eq!(o.state.discharge_current_limit, Milliamps(200_000));
    assert!(o.state.warnings.contains(Flags::SYSTEM));
    assert_eq!(o.venus_alarms.get(VenusAlarm::BmsCable), 2);
    // Its two modules are offline, the other two online.
    assert_eq!(o.modules.offline, 2);
    assert_eq!(o.modules.online, 2);
    // Voltage and current from the others: (53000 + 53200) / 2, 10 A + 6 A.
    assert_eq!(o.state.voltage, Millivolts(53_100));
    assert_eq!(o.state.current, Milliamps(16_000));
    assert_eq!(o.inputs.get(1), Some(&InputStatus::Stale));
    // Back at 100 s: recovering for 30 s, still excluded.
    let o = step(&mut agg, 100_000, 100_000);
    assert!(o.alarms.contains(Alarms::INPUT_RECOVERING));
    assert_eq!(o.state.charge_current_limit, Milliamps(180_000));
    let o = step(&mut agg, 129_999, 129_999);
    assert_eq!(o.mode, Mode::Degraded);
    assert_eq!(o.venus_alarms.get(VenusAlarm::BmsCable), 2);
    let o = step(&mut agg, 130_000, 130_000);
    assert_eq!(o.mode, Mode::Normal);
    assert_eq!(o.state.charge_current_limit, Milliamps(240_000));
    assert_eq!(o.venus_alarms.get(VenusAlarm::BmsCable), 0);
    assert_eq!(o.modules.offline, 0);
    assert!(!o.state.warnings.contains(Flags::SYSTEM));
}

#[test]
fn block_policy_disables_both_directions_while_one_is_lost() {
    let mut c = cfg();
    c.fault_policy = FaultPolicy::Block;
    let mut agg: Aggregator<8> = Aggregator::new(c);
    let rs = three();
    let _ = agg.step(&at(&rs, 0), Millis(0));
    let mut r = at(&rs, 30_000);
    if let Some(x) = r.get_mut(0) {
        *x = None;
    }
    let o = agg.step(&r, Millis(30_000));
    assert_eq!(o.mode, Mode::Blocked);
    assert!(!o.state.charge_enable && !o.state.discharge_enable);
    assert_eq!(o.state.discharge_current_limit, Milliamps(0));
}

#[test]
fn count_mismatch_runs_with_a_warning() {
    let mut agg: Aggregator<8> = Aggregator::new(cfg());
    let rs = three();
    let two = rs.get(..2).unwrap_or_default();
    let _ = agg.step(&at(two, 0), Millis(0));
    let o = agg.step(&at(two, 30_000), Millis(30_000));
    assert!(o.count_mismatch);
    assert_eq!(o.mode, Mode::Degraded);
    assert_eq!(o.venus_alarms.get(VenusAlarm::InternalFailure), 1);
    assert_eq!(o.modules.offline, 1);
    // Limits from the two that are there: 2 × 80 A.
    assert_eq!(o.state.charge_current_limit, Milliamps(160_000));
}

#[test]
fn a_blocking_battery_stops_its_direction_for_all() {
    let mut agg: Aggregator<8> = Aggregator::new(cfg());
    let mut rs = three();
    rs[2].state.charge_enable = false;
    let _ = agg.step(&at(&rs, 0), Millis(0));
    let o = agg.step(&at(&rs, 30_000), Millis(30_000));
    assert!(!o.state.charge_enable);
    assert_eq!(o.state.charge_current_limit, Milliamps(0));
    assert_eq!(o.state.discharge_current_limit, Milliamps(300_000));
    assert_eq!(o.modules.blocking_charge, 1);
    assert_eq!(o.modules.blocking_discharge, 0);
    assert!(o.alarms.contains(Alarms::INPUT_BLOCKING));
}

#[test]
fn cvl_max_until_all_in_float() {
    let mut c = cfg();
    c.cvl = CvlRule::MaxUntilFloat {
        float: Millivolts(54_000),
    };
    let mut agg: Aggregator<8> = Aggregator::new(c);
    let mut rs = three();
    let _ = agg.step(&at(&rs, 0), Millis(0));
    let o = agg.step(&at(&rs, 30_000), Millis(30_000));
    assert_eq!(o.state.charge_voltage_limit, Millivolts(55_200));
    for r in &mut rs {
        r.state.charge_voltage_limit = Millivolts(54_000);
    }
    rs[0].state.charge_voltage_limit = Millivolts(53_600);
    let o = agg.step(&at(&rs, 31_000), Millis(31_000));
    assert_eq!(o.state.charge_voltage_limit, Millivolts(53_600));
}

#[test]
fn implausible_and_alarm_levels() {
    let mut l = AlarmLevels::default();
    l.raise(VenusAlarm::FuseBlown, 7);
    assert_eq!(l.get(VenusAlarm::FuseBlown), 2);
    let m = AlarmLevels([5; ALARM_COUNT]).max(&AlarmLevels::default());
    assert_eq!(m.get(VenusAlarm::LowVoltage), 5);
    assert_eq!(VenusAlarm::KNOWN.len(), ALARM_COUNT);
    let mut agg: Aggregator<8> = Aggregator::new(cfg());
    let mut rs = three();
    rs[0].state.voltage = Millivolts(655_350);
    let _ = agg.step(&at(&rs, 0), Millis(0));
    let o = agg.step(&at(&rs, 30_000), Millis(30_000));
    assert!(o.alarms.contains(Alarms::INPUT_IMPLAUSIBLE));
    assert_eq!(o.modules.offline, 1);
}

/// Closed loop: a stack discharging at its DCL; the lowest cell falls 1 mV per second of
/// full discharge and rises 1 mV per second of charge. The latch trips at 2.900 V, holds
/// the DCL at 0 while the charger lifts the cell, and releases only above 3.000 V.
#[test]
fn discharge_latch_trips_and_recovers_in_a_closed_loop() {
    let mut agg: Aggregator<8> = Aggregator::new(AggregateConfig {
        expected: 1,
        ..cfg()
    });
    let mut r = bat(48_000, 0, 100, 100, 100, 100, (2905, 3000));
    let tables = ChargeTables {
        charge: &[],
        discharge: &[],
    };
    let mut latch = DischargeLatch::default();
    let mut cell = 2905i32;
    let mut events = heapless::Vec::<(u64, i32, bool), 8>::new();
    let mut was = false;
    r.min_cell = Some(Millivolts(cell));
    let _ = agg.step(&[Some((r, Millis(0)))], Millis(0));
    for t in 0..200u64 {
        r.min_cell = Some(Millivolts(cell));
        let now = Millis(30_000 + t * 1000);
        let o = agg.step(&[Some((r, now))], now);
        assert_eq!(o.mode, Mode::Normal);
        let s = apply(
            o.state,
            &tables,
            &mut latch,
            o.min_cell.map(|e| e.value),
            None,
        );
        if latch.latched != was {
            was = latch.latched;
            let _ = events.push((t, cell, was));
        }
        // Plant: discharging at the DCL lowers the cell; otherwise a charger raises it.
        if s.discharge_current_limit.0 > 0 {
            cell -= 1;
        } else {
            cell += 1;
        }
    }
    // Trips at 2.900 V (t = 5), released at 3.001 V (101 s later).
    assert_eq!(events.as_slice(), &[(5, 2900, true), (106, 3001, false)]);
}
