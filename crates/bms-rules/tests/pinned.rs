//! Every rule pinned at its edges with exact numbers: one step below, at and above.

mod common;

use common::Rig;
use voltwire_bms_rules::{
    Config, EventKind, Field, Latch, Millis, Mode, Reason, Relay, SensorRole, Source,
};
use voltwire_core::Permille;

/// The reference config without a SmartShunt: SOC and voltage come from the BMS, unfiltered,
/// so a test can step them (the shunt's filters have their own tests).
fn no_shunt() -> Config {
    Config {
        shunt: false,
        ..Config::default()
    }
}

fn started() -> Rig {
    Rig::started(no_shunt())
}

#[test]
fn start_up_all_off_then_auto_after_15_s() {
    let mut rig = Rig::new(no_shunt());
    rig.world.soc = 900;
    rig.world.cell_min = 3390;
    rig.world.cell_max = 3420;
    let out = rig.run(14_999);
    assert_eq!(out.relays, [false; 3]);
    assert!(!out.auto_active);
    rig.now = Millis(15_000);
    let out = rig.step();
    assert!(out.auto_active);
    assert_eq!(out.relays, [true, true, true]);
    let kinds = rig.take_events();
    assert_eq!(kinds[0], EventKind::AutoStarted);
    assert_eq!(
        kinds[1],
        EventKind::Relay {
            relay: Relay::Load1,
            on: true,
            reason: Reason::SocHigh
        }
    );
}

#[test]
fn load_on_above_60_pct_with_pv_low_and_off_at_10_pct() {
    let mut rig = started();
    rig.world.soc = 600;
    assert!(!rig.run(1000).relay(Relay::Load1));
    rig.world.soc = 601;
    assert!(rig.run(1000).relay(Relay::Load1));
    // Hysteresis: stays on all the way down to 10.1 %.
    rig.world.soc = 101;
    assert!(rig.run(1000).relay(Relay::Load1));
    rig.world.soc = 100;
    let out = rig.run(1000);
    assert!(!out.relay(Relay::Load1));
    assert!(!out.relay(Relay::Load2));
    rig.world.soc = 599;
    assert!(!rig.run(1000).relay(Relay::Load1));
    assert_eq!(rig.relay_events(Relay::Load1), [true, false]);
}

#[test]
fn per_relay_thresholds() {
    let mut config = no_shunt();
    config.loads[1].on_soc_pv_low = Permille(800);
    let mut rig = Rig::started(config);
    rig.world.soc = 700;
    let out = rig.run(1000);
    assert!(out.relay(Relay::Load1));
    assert!(!out.relay(Relay::Load2));
    rig.world.soc = 801;
    assert!(rig.run(1000).relay(Relay::Load2));
}

fn pv_hour(watts: i32) -> Rig {
    let mut rig = started();
    rig.world.soc = 300;
    rig.world.pv = [watts, 0];
    // The first minute began in the start-up hold at 0 W; run past the hour that follows it.
    rig.run(3_660_000);
    rig
}

#[test]
fn pv_high_at_170_w_average_lowers_the_on_threshold_to_30_pct() {
    let mut rig = pv_hour(170);
    assert!(rig.rules.output().pv_high);
    assert_eq!(rig.rules.pv_average().map(|w| w.0), Some(170));
    assert!(!rig.relay(Relay::Load1), "30.0 % is not above 30.0 %");
    rig.world.soc = 301;
    assert!(rig.run(1000).relay(Relay::Load1));

    let mut rig = pv_hour(169);
    assert!(!rig.rules.output().pv_high);
    rig.world.soc = 301;
    assert!(!rig.run(1000).relay(Relay::Load1));
    rig.world.soc = 601;
    assert!(rig.run(1000).relay(Relay::Load1));
}

#[test]
fn pv_average_is_built_from_minute_averages_and_counts_both_chargers() {
    let mut rig = Rig::started(Config {
        chargers: 2,
        ..no_shunt()
    });
    rig.world.pv = [100, 80];
    rig.run(45_000);
    // The first minute: 15 s at 0 W, 45 s at 180 W.
    assert_eq!(rig.rules.pv_average().unwrap().0, 135);
    rig.run(3_600_000);
    assert_eq!(rig.rules.pv_average().unwrap().0, 180);
    assert!(rig.rules.output().pv_high);
}

#[test]
fn balancer_on_needs_diff_above_15_mv_and_a_cell_above_3400_mv() {
    let mut rig = started();
    // diff 15, max 3401: no.
    rig.world.cell_min = 3386;
    rig.world.cell_max = 3401;
    assert!(!rig.run(1000).relay(Relay::Balancer));
    // diff 16, max 3400: no.
    rig.world.cell_min = 3384;
    rig.world.cell_max = 3400;
    assert!(!rig.run(1000).relay(Relay::Balancer));
    // diff 16, max 3401: on.
    rig.world.cell_min = 3385;
    rig.world.cell_max = 3401;
    assert!(rig.run(1000).relay(Relay::Balancer));
    // Stays on with a small diff while any cell is at 3.350 V.
    rig.world.cell_min = 3345;
    rig.world.cell_max = 3350;
    assert!(rig.run(1000).relay(Relay::Balancer));
    rig.world.cell_min = 3340;
    rig.world.cell_max = 3349;
    assert!(!rig.run(1000).relay(Relay::Balancer));
    assert_eq!(rig.relay_events(Relay::Balancer), [true, false]);
}

#[test]
fn comm_timeout_bms_at_60_s() {
    let mut rig = started();
    rig.world.soc = 700;
    rig.run(1000);
    assert!(rig.relay(Relay::Load1));
    let last = rig.now;
    rig.world.silent_bms = true;
    rig.now = last.plus(60_000);
    let out = rig.step();
    assert!(!out.latches.contains(Latch::CommBms));
    assert!(out.relay(Relay::Load1));
    rig.now = last.plus(60_001);
    let out = rig.step();
    assert!(out.latches.contains(Latch::CommBms));
    assert!(out.alarm());
    assert_eq!(out.relays, [false; 3]);
    // The user's mode is kept; loads come back only by the auto rule after recovery.
    assert_eq!(rig.rules.mode(Relay::Load1), Mode::Auto);
    rig.world.silent_bms = false;
    let out = rig.run(1000);
    assert!(!out.latches.contains(Latch::CommBms));
    assert!(
        out.relay(Relay::Load1),
        "SOC 70 % > 60 %: auto switches on again"
    );
}

#[test]
fn comm_timeout_vedirect_at_180_s_and_sensors_at_60_s() {
    let mut config = Config {
        chargers: 1,
        ..Config::default()
    };
    config.sensors[2] = Some(SensorRole::Cell);
    let mut rig = Rig::started(config);
    let last = rig.now;
    rig.world.silent_shunt = true;
    rig.world.silent_charger = [true, true];
    rig.world.silent_sensors = true;
    rig.now = last.plus(60_000);
    assert!(rig.step().latches.is_empty());
    rig.now = last.plus(60_001);
    let out = rig.step();
    assert_eq!(
        out.latches.iter().collect::<Vec<_>>(),
        [Latch::CommSensor(2)]
    );
    rig.now = last.plus(180_000);
    assert!(!rig.step().latches.contains(Latch::CommShunt));
    rig.now = last.plus(180_001);
    let out = rig.step();
    assert_eq!(
        out.latches.iter().collect::<Vec<_>>(),
        [
            Latch::CommShunt,
            Latch::CommCharger(0),
            Latch::CommSensor(2)
        ],
        "charger 2 is not configured, so it never times out"
    );
}

#[test]
fn a_source_that_never_reports_times_out_from_start() {
    let mut rig = Rig::new(Config::default());
    rig.world.silent_bms = true;
    rig.now = Millis(60_000);
    assert!(!rig.step().latches.contains(Latch::CommBms));
    rig.now = Millis(60_001);
    assert!(rig.step().latches.contains(Latch::CommBms));
    assert_eq!(rig.rules.age(Source::Bms, rig.now), None);
}

#[test]
fn low_voltage_below_24_4_v_recovers_above_25_4_v_on_8s() {
    let mut rig = started();
    rig.world.soc = 700;
    rig.world.voltage = 24_400;
    let out = rig.run(1000);
    assert!(!out.latches.contains(Latch::LowVoltage));
    assert!(out.relay(Relay::Load1));
    rig.world.voltage = 24_399;
    let out = rig.run(1000);
    assert!(out.latches.contains(Latch::LowVoltage));
    assert!(!out.relay(Relay::Load1));
    assert!(out.charge_mosfet, "low voltage does not stop charging");
    rig.world.voltage = 25_400;
    assert!(rig.run(1000).latches.contains(Latch::LowVoltage));
    rig.world.voltage = 25_401;
    let out = rig.run(1000);
    assert!(!out.latches.contains(Latch::LowVoltage));
    assert!(out.relay(Relay::Load1));
}

#[test]
fn low_voltage_scales_with_cell_count() {
    let mut config = no_shunt();
    config.cell_count = 16;
    assert_eq!(config.low_voltage_trip().0, 48_800);
    assert_eq!(config.low_voltage_recover().0, 50_800);
    let mut rig = Rig::started(config);
    rig.world.voltage = 48_799;
    assert!(rig.run(1000).latches.contains(Latch::LowVoltage));
}

/// Walk the cell difference to `diff` in steps the jump filter accepts.
fn walk_diff(rig: &mut Rig, diff: i32) {
    loop {
        let cur = rig.world.cell_max - rig.world.cell_min;
        if cur == diff {
            break;
        }
        let next = if diff > cur {
            (cur + 40).min(diff)
        } else {
            (cur - 40).max(diff)
        };
        rig.world.cell_min = rig.world.cell_max - next;
        rig.run(1000);
    }
    rig.run(1000);
}

#[test]
fn cell_diff_above_100_mv_trips_loads_and_balancer_recovers_below_20_mv() {
    let mut rig = started();
    rig.world.soc = 700;
    rig.world.cell_max = 3420;
    rig.world.cell_min = 3400;
    rig.run(1000);
    assert!(rig.relay(Relay::Balancer));
    walk_diff(&mut rig, 100);
    assert!(!rig.rules.output().latches.contains(Latch::CellDiff));
    walk_diff(&mut rig, 101);
    let out = *rig.rules.output();
    assert!(out.latches.contains(Latch::CellDiff));
    assert_eq!(out.relays, [false; 3]);
    walk_diff(&mut rig, 20);
    assert!(rig.rules.output().latches.contains(Latch::CellDiff));
    walk_diff(&mut rig, 19);
    let out = *rig.rules.output();
    assert!(!out.latches.contains(Latch::CellDiff));
    assert!(out.relay(Relay::Load1));
    assert!(out.relay(Relay::Balancer), "diff 19 > 15 and max 3.420 V");
}

#[test]
fn cell_temp_above_35_c_while_charging_turns_the_charge_mosfet_off() {
    let mut rig = started();
    rig.world.soc = 700;
    rig.world.current = 1;
    rig.world.bms_temp = Some(350);
    let out = rig.run(1000);
    assert!(out.latches.is_empty());
    rig.world.bms_temp = Some(351);
    let out = rig.run(1000);
    assert!(out.latches.contains(Latch::CellTemp));
    assert!(!out.charge_mosfet);
    assert!(out.relay(Relay::Load1), "charging: loads stay on");
    rig.world.bms_temp = Some(270);
    assert!(!rig.run(1000).charge_mosfet);
    rig.world.bms_temp = Some(269);
    let out = rig.run(1000);
    assert!(out.charge_mosfet);
    assert!(out.latches.is_empty());
    let kinds: Vec<_> = rig
        .take_events()
        .into_iter()
        .filter(|k| !matches!(k, EventKind::Relay { .. } | EventKind::AutoStarted))
        .collect();
    assert_eq!(
        kinds,
        [
            EventKind::Tripped(Latch::CellTemp),
            EventKind::ChargeMosfet {
                on: false,
                latch: Some(Latch::CellTemp)
            },
            EventKind::Recovered(Latch::CellTemp),
            EventKind::ChargeMosfet {
                on: true,
                latch: None
            },
        ]
    );
}

#[test]
fn cell_temp_while_discharging_turns_the_loads_off() {
    let mut rig = started();
    rig.world.soc = 700;
    rig.world.current = 0;
    rig.run(1000);
    assert!(rig.relay(Relay::Load1));
    rig.world.bms_temp = Some(351);
    let out = rig.run(1000);
    assert!(out.charge_mosfet);
    assert_eq!(out.relays, [false, false, false]);
    rig.world.bms_temp = Some(269);
    let out = rig.run(1000);
    assert!(out.relay(Relay::Load1));
}

#[test]
fn cell_temp_from_a_sensor_and_charger_temp_above_40_c() {
    let mut config = no_shunt();
    config.sensors = [
        Some(SensorRole::Cell),
        Some(SensorRole::Charger),
        None,
        None,
    ];
    let mut rig = Rig::started(config);
    rig.world.bms_temp = None;
    rig.world.sensors = [200, 400, 0, 0];
    let out = rig.run(1000);
    assert!(out.latches.is_empty());
    assert!(out.charge_mosfet);
    rig.world.sensors = [200, 401, 0, 0];
    let out = rig.run(1000);
    assert_eq!(out.latches.iter().collect::<Vec<_>>(), [Latch::ChargerTemp]);
    assert!(!out.charge_mosfet);
    rig.world.sensors = [200, 320, 0, 0];
    assert!(!rig.run(1000).charge_mosfet);
    rig.world.sensors = [200, 319, 0, 0];
    assert!(rig.run(1000).charge_mosfet);
    // Sensor 0 is a cell sensor.
    rig.world.current = 5000;
    rig.world.sensors = [351, 200, 0, 0];
    let out = rig.run(1000);
    assert_eq!(out.latches.iter().collect::<Vec<_>>(), [Latch::CellTemp]);
}

#[test]
fn manual_modes_and_a_latch_wins_over_manual_on() {
    let mut rig = started();
    rig.world.soc = 400;
    rig.run(1000);
    assert!(!rig.relay(Relay::Load1));
    rig.rules.set_mode(rig.now, Relay::Load1, Mode::On);
    assert!(rig.run(1000).relay(Relay::Load1));
    rig.world.voltage = 24_000;
    assert!(
        !rig.run(1000).relay(Relay::Load1),
        "low voltage wins over manual on"
    );
    rig.world.voltage = 26_000;
    assert!(
        rig.run(1000).relay(Relay::Load1),
        "manual on again after recovery"
    );
    rig.rules.set_mode(rig.now, Relay::Balancer, Mode::On);
    assert!(rig.run(1000).relay(Relay::Balancer));
    rig.rules.set_mode(rig.now, Relay::Balancer, Mode::Off);
    assert!(!rig.run(1000).relay(Relay::Balancer));
    // Manual on ends at SOC <= 10 %: back to auto.
    rig.world.soc = 101;
    assert!(rig.run(1000).relay(Relay::Load1));
    rig.world.soc = 100;
    assert!(!rig.run(1000).relay(Relay::Load1));
    assert_eq!(rig.rules.mode(Relay::Load1), Mode::Auto);
    rig.world.soc = 200;
    assert!(!rig.run(1000).relay(Relay::Load1));
    assert!(rig.take_events().contains(&EventKind::Mode {
        relay: Relay::Load1,
        mode: Mode::Auto,
        by_user: false
    }));
}

#[test]
fn cell_diff_jump_of_51_mv_is_discarded_4_times_then_believed() {
    let mut rig = started();
    rig.world.cell_min = 3300;
    rig.world.cell_max = 3310; // diff 10
    rig.run(1000);
    rig.take_events();
    rig.world.cell_min = 3250; // diff 60: jump 50, accepted
    rig.run(0);
    assert_eq!(rig.rules.cells(rig.now).map(|c| c.0.0), Some(3250));
    rig.world.cell_min = 3199; // diff 111: jump 51
    for n in 1..=4 {
        rig.now = rig.now.plus(1000);
        rig.step();
        assert_eq!(
            rig.rules.cells(rig.now).map(|c| c.0.0),
            Some(3250),
            "discard {n}"
        );
    }
    rig.now = rig.now.plus(1000);
    let out = rig.step();
    assert_eq!(rig.rules.cells(rig.now).map(|c| c.0.0), Some(3199));
    assert!(out.latches.contains(Latch::CellDiff));
    let discards = rig
        .take_events()
        .into_iter()
        .filter(|k| {
            *k == EventKind::Discarded {
                source: Source::Bms,
                field: Field::CellDiff,
            }
        })
        .count();
    assert_eq!(discards, 4);
}

#[test]
fn shunt_soc_and_voltage_jumps_are_discarded() {
    let mut rig = Rig::started(Config::default());
    rig.world.soc = 500;
    rig.world.voltage = 26_000;
    rig.run(1000);
    rig.world.soc = 550; // +5.0 %: accepted
    rig.world.voltage = 26_500; // +0.5 V: accepted
    rig.run(1000);
    assert_eq!(rig.rules.soc(rig.now), Some(Permille(550)));
    assert_eq!(rig.rules.voltage(rig.now).map(|v| v.0), Some(26_500));
    rig.world.soc = 601; // +5.1 %
    rig.world.voltage = 27_001; // +0.501 V
    rig.now = rig.now.plus(1000);
    rig.step();
    assert_eq!(rig.rules.soc(rig.now), Some(Permille(550)));
    assert_eq!(rig.rules.voltage(rig.now).map(|v| v.0), Some(26_500));
    let kinds = rig.take_events();
    assert!(kinds.contains(&EventKind::Discarded {
        source: Source::Shunt,
        field: Field::Soc
    }));
    assert!(kinds.contains(&EventKind::Discarded {
        source: Source::Shunt,
        field: Field::Voltage
    }));
}

#[test]
fn sensor_jump_above_30_c_is_discarded() {
    let mut config = no_shunt();
    config.sensors[0] = Some(SensorRole::Cell);
    let mut rig = Rig::started(config);
    rig.world.bms_temp = None;
    rig.world.sensors = [50, 0, 0, 0];
    rig.run(1000);
    rig.world.sensors = [350, 0, 0, 0]; // +30.0 °C: accepted
    rig.run(0);
    assert_eq!(rig.rules.sensor(0).map(|t| t.0), Some(350));
    rig.world.sensors = [651, 0, 0, 0]; // +30.1 °C: discarded
    rig.now = rig.now.plus(1000);
    let out = rig.step();
    assert_eq!(rig.rules.sensor(0).map(|t| t.0), Some(350));
    assert!(out.latches.is_empty());
}

#[test]
fn event_queue_is_bounded_and_counts_what_it_drops() {
    let mut rules = voltwire_bms_rules::Rules::new(Config::default(), Millis(0));
    for i in 0..40u64 {
        let mode = if i % 2 == 0 { Mode::On } else { Mode::Off };
        rules.set_mode(Millis(i), Relay::Load1, mode);
    }
    assert_eq!(rules.events_dropped(), 8);
    let mut n = 0;
    let mut first = None;
    while let Some(e) = rules.pop_event() {
        first.get_or_insert(e.at);
        n += 1;
    }
    assert_eq!(n, voltwire_bms_rules::EVENT_CAPACITY);
    assert_eq!(first, Some(Millis(8)));
}

#[test]
fn config_validation_names_the_field_and_the_fix() {
    let mut c = Config::default();
    c.cell_diff.recover = c.cell_diff.trip;
    let e = c.validate().unwrap_err();
    assert_eq!(e.field, "cell_diff.recover");
    assert!(e.to_string().contains("below cell_diff.trip"));
    let mut c = Config::default();
    c.loads[1].on_soc_pv_high = Permille(100);
    assert_eq!(c.validate().unwrap_err().field, "loads[1].on_soc_pv_high");
    let c = Config {
        chargers: 3,
        ..Config::default()
    };
    assert_eq!(c.validate().unwrap_err().field, "chargers");
    let mut c = Config::default();
    c.charger_temp.recover = c.charger_temp.trip;
    assert_eq!(c.validate().unwrap_err().field, "charger_temp.recover");
    assert_eq!(Config::default().validate(), Ok(()));
}

/// Settings taken during the start-up hold (the firmware's retained config) act as if they
/// had been there from boot: a raised on-threshold is not undercut by an auto state derived
/// from the old one. After the hold, a new threshold keeps the hysteresis (a load that is on
/// stays on down to its off-threshold).
#[test]
fn settings_during_the_hold_act_from_boot_and_after_it_keep_hysteresis() {
    let raised = |c: Config| {
        let mut c = c;
        c.loads[0].on_soc_pv_low = Permille(750);
        c
    };
    let mut rig = Rig::new(no_shunt());
    rig.world.soc = 700;
    rig.run(2000);
    rig.rules.set_config(raised(no_shunt()));
    rig.now = Millis(15_000);
    let out = rig.run(1000);
    assert!(out.auto_active);
    assert!(!out.relay(Relay::Load1), "70.0 % is not above 75.0 %");
    assert!(out.relay(Relay::Load2), "load 2 keeps 60.0 %");
    rig.world.soc = 750;
    assert!(!rig.run(1000).relay(Relay::Load1), "at 75.0 %: not above");
    rig.world.soc = 751;
    assert!(rig.run(1000).relay(Relay::Load1), "above 75.0 %: on");
    // After the hold: raising it further does not switch the load off (hysteresis).
    let mut higher = raised(no_shunt());
    higher.loads[0].on_soc_pv_low = Permille(900);
    rig.rules.set_config(higher);
    assert!(rig.run(1000).relay(Relay::Load1));
}
