//! The three defects of the reference firmware, each shown not to happen here.

mod common;

use common::Rig;
use voltwire_bms_rules::{Config, EventKind, Latch, Mode, Relay, SensorRole, Source};
use voltwire_core::Watts;

fn no_shunt() -> Config {
    Config {
        shunt: false,
        ..Config::default()
    }
}

/// Reference defect 1: a recovery condition re-enabled the loads on every loop. Here a
/// recovery is an edge: the loads follow their mode afterwards, and whatever switches them off
/// later (the user, the SOC rule) is not undone by the recovered latch.
#[test]
fn a_recovery_does_not_re_enable_loads_every_loop() {
    let mut rig = Rig::started(no_shunt());
    rig.world.soc = 700;
    rig.run(1000);
    assert!(rig.relay(Relay::Load1));
    rig.rules.set_mode(rig.now, Relay::Load2, Mode::On);
    rig.world.soc = 500; // auto load 1 stays on (hysteresis), load 2 on by hand
    rig.run(1000);
    // Low voltage trips and recovers.
    rig.world.voltage = 24_000;
    assert_eq!(rig.run(1000).relays, [false, false, false]);
    rig.world.voltage = 26_000;
    let out = rig.run(1000);
    assert!(!out.latches.contains(Latch::LowVoltage));
    assert!(!out.relay(Relay::Load1), "auto at 50 %: needs > 60 % again");
    assert!(
        out.relay(Relay::Load2),
        "manual on: back on at the recovery, once"
    );
    // The user switches load 2 off; an hour of ticks later nothing re-enabled either.
    rig.rules.set_mode(rig.now, Relay::Load2, Mode::Off);
    let out = rig.run(3_600_000);
    assert_eq!(out.relays, [false, false, false]);
    assert_eq!(rig.relay_events(Relay::Load1), [true, false]);
    assert_eq!(rig.relay_events(Relay::Load2), [true, false, true, false]);
}

/// Reference defect 2: the second charger's timeout marked the first one as dead. Here each
/// charger has its own age and latch.
#[test]
fn a_second_chargers_timeout_does_not_mark_the_first_dead() {
    let mut rig = Rig::started(Config {
        chargers: 2,
        ..no_shunt()
    });
    rig.world.pv = [300, 200];
    rig.run(1000);
    assert_eq!(rig.rules.pv_power(rig.now), Watts(500));
    rig.world.silent_charger = [false, true];
    let out = rig.run(181_000);
    assert_eq!(
        out.latches.iter().collect::<Vec<_>>(),
        [Latch::CommCharger(1)]
    );
    assert!(rig.rules.is_fresh(Source::Charger(0), rig.now));
    assert!(!rig.rules.is_fresh(Source::Charger(1), rig.now));
    assert_eq!(rig.rules.age(Source::Charger(0), rig.now), Some(0));
    assert_eq!(rig.rules.charger_power(0, rig.now), Some(Watts(300)));
    assert_eq!(rig.rules.pv_power(rig.now), Watts(300));
    // And the other way round.
    rig.world.silent_charger = [true, false];
    let out = rig.run(181_000);
    assert_eq!(
        out.latches.iter().collect::<Vec<_>>(),
        [Latch::CommCharger(0)]
    );
    assert_eq!(rig.rules.pv_power(rig.now), Watts(200));
}

/// Reference defect 3: the cell-temperature recovery re-enabled the charge MOSFET while the
/// charger-temperature alarm was still active. Here the MOSFET comes back only when no latch
/// wants it off.
#[test]
fn cell_temp_recovery_keeps_the_mosfet_off_while_the_charger_is_hot() {
    let mut config = no_shunt();
    config.sensors[0] = Some(SensorRole::Charger);
    let mut rig = Rig::started(config);
    rig.world.current = 10_000; // charging
    rig.world.bms_temp = Some(360);
    rig.world.sensors = [410, 0, 0, 0];
    let out = rig.run(1000);
    assert_eq!(
        out.latches.iter().collect::<Vec<_>>(),
        [Latch::CellTemp, Latch::ChargerTemp]
    );
    assert!(!out.charge_mosfet);
    rig.world.bms_temp = Some(250);
    let out = rig.run(60_000);
    assert_eq!(out.latches.iter().collect::<Vec<_>>(), [Latch::ChargerTemp]);
    assert!(!out.charge_mosfet, "the charger is still hot");
    rig.world.sensors = [310, 0, 0, 0];
    let out = rig.run(1000);
    assert!(out.latches.is_empty());
    assert!(out.charge_mosfet);
    let mosfet: Vec<_> = rig
        .take_events()
        .into_iter()
        .filter(|k| matches!(k, EventKind::ChargeMosfet { .. } | EventKind::Recovered(_)))
        .collect();
    assert_eq!(
        mosfet,
        [
            EventKind::ChargeMosfet {
                on: false,
                latch: Some(Latch::CellTemp)
            },
            EventKind::Recovered(Latch::CellTemp),
            EventKind::Recovered(Latch::ChargerTemp),
            EventKind::ChargeMosfet {
                on: true,
                latch: None
            },
        ]
    );
}
