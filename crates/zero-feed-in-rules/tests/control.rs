//! The controller's rules, each pinned at its edges with exact numbers and injected time.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Watts};
use voltwire_zero_feed_in_rules::{
    BatteryConfig, BatteryReading, Command, Config, ConfigError, Controller, CurrentRange,
    Decision, DeviceCommand, DeviceConfig, DeviceStatus, Inputs, MAX_DEVICES, MeterReading, Millis,
    Mode, Role,
};

/// A BIC-2200-48: 0.45–49.5 A, up to 2200 W both ways.
fn bic() -> DeviceConfig {
    DeviceConfig {
        role: Role::Bidirectional,
        min_charge: Watts(0),
        max_charge: Watts(2200),
        min_discharge: Watts(0),
        max_discharge: Watts(2200),
        current: Some(CurrentRange {
            min: Milliamps(450),
            max: Milliamps(49_500),
        }),
        trim: None,
    }
}

/// A grid-tie discharger set by power (Lumentree): 50–1000 W.
fn gti() -> DeviceConfig {
    DeviceConfig {
        role: Role::Discharger,
        min_charge: Watts(0),
        max_charge: Watts(0),
        min_discharge: Watts(50),
        max_discharge: Watts(1000),
        current: None,
        trim: None,
    }
}

/// Drives a controller second by second with a fixed battery at 50.000 V.
struct Rig {
    c: Controller,
    input: Inputs,
    now: u64,
    /// Devices that do not answer (their status is left as it was).
    silent: [bool; MAX_DEVICES],
}

impl Rig {
    fn new(devices: &[DeviceConfig]) -> Self {
        Self::with(Config::new(BatteryConfig::lfp(16)), devices)
    }

    fn with(config: Config, devices: &[DeviceConfig]) -> Self {
        let input = Inputs {
            battery: Some(BatteryReading::voltage_only(Millis(0), Millivolts(50_000))),
            ..Inputs::default()
        };
        Self {
            c: Controller::new(config, devices).unwrap(),
            input,
            now: 0,
            silent: [false; MAX_DEVICES],
        }
    }

    /// One second: a fresh battery reading, the devices answer with what they were told,
    /// and (when `grid` is given) a fresh meter reading.
    fn tick(&mut self, grid: Option<i32>) -> Decision {
        let now = Millis(self.now);
        if let Some(b) = &mut self.input.battery {
            b.at = now;
        }
        let answering = self
            .input
            .devices
            .iter_mut()
            .zip(self.c.last())
            .zip(&self.silent);
        for ((s, cmd), _) in answering.filter(|(_, silent)| !**silent) {
            *s = DeviceStatus {
                last_seen: Some(now),
                delivered: Some(cmd.power),
            };
        }
        if let Some(g) = grid {
            self.input.meter = Some(MeterReading {
                at: now,
                grid: Watts(g),
            });
        }
        let d = self.c.step(now, &self.input);
        self.now += 1000;
        d
    }

    /// Ticks until the meter is trusted, at a constant 0 W grid.
    fn started(mut self) -> Self {
        for _ in 0..4 {
            self.tick(Some(0));
        }
        self
    }

    /// Feeds the same grid reading until the average holds only it (the devices deliver
    /// their commands, so the demand moves as the set point does: `settle` asks for a
    /// demand, i.e. grid = demand + set point).
    fn demand(&mut self, demand: i32) -> Decision {
        let mut d = self.tick(None);
        for _ in 0..8 {
            let total: i32 = self
                .c
                .last()
                .iter()
                .zip(&self.input.devices)
                .zip(&self.silent)
                .map(|((c, s), silent)| {
                    if *silent {
                        s.delivered.unwrap_or_default().0
                    } else {
                        c.power.0
                    }
                })
                .sum();
            d = self.tick(Some(demand + total));
        }
        d
    }
}

#[test]
fn every_device_is_off_before_the_first_decision_and_the_meter_needs_the_hold() {
    let mut r = Rig::new(&[bic()]);
    let d = r.tick(None);
    assert_eq!(
        d.mode,
        Mode::BatteryLost,
        "the battery reading needs the 3 s hold too"
    );
    assert_eq!(
        d.commands,
        [
            DeviceCommand {
                power: Watts(0),
                current: Some(Milliamps(0)),
                voltage: None,
            },
            DeviceCommand::OFF,
            DeviceCommand::OFF,
            DeviceCommand::OFF
        ]
    );
    // Meter readings at 1, 2, 3 s: still within the meter's 3 s hold.
    assert_eq!(r.tick(Some(500)).mode, Mode::BatteryLost);
    assert_eq!(r.tick(Some(500)).mode, Mode::BatteryLost);
    let d = r.tick(Some(500));
    assert_eq!(
        d.mode,
        Mode::MeterStale,
        "battery trusted at 3 s, the meter not yet"
    );
    assert_eq!(d.total(), Watts(0));
    let d = r.tick(Some(500));
    assert_eq!(
        d.mode,
        Mode::Normal,
        "readings from 1 s to 4 s: the 3 s hold is met"
    );
    assert_eq!(d.demand, Some(Watts(500)));
    assert_eq!(d.total(), Watts(-500));
}

#[test]
fn deadbands_are_10_w_for_charging_and_15_w_for_discharging() {
    let mut r = Rig::new(&[gti()]).started();
    assert_eq!(
        r.demand(49).total(),
        Watts(0),
        "below the device minimum of 50 W: off"
    );
    let mut r = Rig::new(&[bic()]).started();
    assert_eq!(
        r.demand(14).total(),
        Watts(0),
        "14 W < 15 W discharge deadband"
    );
    assert_eq!(r.demand(-9).total(), Watts(0), "9 W < 10 W charge deadband");
    // 10 W at 50 V = 200 mA, below the BIC's 450 mA: off even outside the deadband.
    assert_eq!(r.demand(-10).total(), Watts(0));
    let d = r.demand(-100);
    assert_eq!(d.commands[0].current, Some(Milliamps(2000)));
    assert_eq!(d.total(), Watts(100));
    // Within the band of the set point: held.
    assert_eq!(r.demand(-109).total(), Watts(100));
    assert_eq!(r.demand(-91).total(), Watts(100));
    assert_eq!(r.demand(-110).total(), Watts(110));
    let d = r.demand(300);
    assert_eq!(d.total(), Watts(-300));
    assert_eq!(d.commands[0].current, Some(Milliamps(6000)));
    assert_eq!(r.demand(314).total(), Watts(-300));
    assert_eq!(r.demand(286).total(), Watts(-300));
    assert_eq!(r.demand(315).total(), Watts(-315));
}

#[test]
fn device_limits_and_charger_current_clamp() {
    let mut r = Rig::new(&[gti(), bic()]).started();
    // The first device takes up to its 1000 W, the next the rest.
    let d = r.demand(1500);
    assert_eq!(d.commands[0].power, Watts(-1000));
    assert_eq!(d.commands[1].power, Watts(-500));
    assert_eq!(d.commands[1].current, Some(Milliamps(10_000)));
    // Charging: only the BIC, clamped at 49.5 A × 50 V = 2475 W > 2200 W max → 2200 W (44 A).
    let d = r.demand(-3000);
    assert_eq!(d.commands[0].power, Watts(0));
    assert_eq!(d.commands[1].power, Watts(2200));
    assert_eq!(d.commands[1].current, Some(Milliamps(44_000)));
    // A 40 A current limit in the device config clamps the current and the power with it.
    let mut capped = bic();
    capped.current = Some(CurrentRange {
        min: Milliamps(450),
        max: Milliamps(40_000),
    });
    let mut r = Rig::new(&[capped]).started();
    let d = r.demand(-3000);
    assert_eq!(d.commands[0].current, Some(Milliamps(40_000)));
    assert_eq!(d.total(), Watts(2000));
    // Below the minimum current: 22 W at 50 V = 440 mA < 450 mA → off; 23 W = 460 mA → on.
    let mut r = Rig::new(&[bic()]).started();
    assert_eq!(r.demand(-22).total(), Watts(0));
    assert_eq!(r.demand(-23).commands[0].current, Some(Milliamps(460)));
}

#[test]
fn a_meter_silent_but_connected_is_stale_after_t_and_recovers_after_the_hold() {
    let mut config = Config::new(BatteryConfig::lfp(16));
    config.base_load = Watts(100);
    let mut r = Rig::with(config, &[bic()]).started();
    let d = r.demand(800);
    assert_eq!(d.total(), Watts(-800));
    let last = r.input.meter.unwrap().at;
    // No new reading; the controller still ticks. Fresh up to T = 10 s of age inclusive.
    loop {
        let now = r.now;
        let d = r.tick(None);
        if now - last.0 <= 10_000 {
            assert_eq!(d.mode, Mode::Normal, "at age {} ms", now - last.0);
            assert_eq!(d.total(), Watts(-800));
        } else {
            assert_eq!(
                now - last.0,
                11_000,
                "safe at the first tick after T (T + 1 s)"
            );
            assert_eq!(d.mode, Mode::MeterStale);
            assert!(d.alarms.meter_stale);
            assert_eq!(d.total(), Watts(-100), "the configured base load");
            break;
        }
    }
    // Charging is never kept on a stale meter.
    // Fresh readings again: safe for the 3 s hold, then regulating.
    let mut modes = Vec::new();
    for _ in 0..5 {
        modes.push(r.tick(Some(300)).mode);
    }
    assert_eq!(
        modes,
        [
            Mode::MeterStale,
            Mode::MeterStale,
            Mode::MeterStale,
            Mode::Normal,
            Mode::Normal
        ]
    );
}

#[test]
fn a_stale_meter_switches_charging_off() {
    let mut r = Rig::new(&[bic()]).started();
    assert_eq!(r.demand(-500).total(), Watts(500));
    for _ in 0..10 {
        assert_eq!(r.tick(None).total(), Watts(500));
    }
    let d = r.tick(None);
    assert_eq!(d.mode, Mode::MeterStale);
    assert_eq!(d.total(), Watts(0), "base load 0: everything off");
}

#[test]
fn bms_lost_switches_both_directions_off() {
    let mut r = Rig::new(&[bic(), gti()]).started();
    assert_eq!(r.demand(700).total(), Watts(-700));
    let at = r.now;
    r.input.battery = Some(BatteryReading::voltage_only(Millis(at), Millivolts(50_000)));
    // Freeze the battery reading: tick without refreshing it.
    let frozen = r.input.battery.take();
    let mut d = r.tick(Some(0));
    assert_eq!(d.mode, Mode::BatteryLost, "no reading at all");
    assert!(d.alarms.battery_lost);
    assert_eq!(d.commands[0].power, Watts(0));
    assert_eq!(d.commands[1].power, Watts(0));
    r.input.battery = frozen;
    // A reading again: lost until the hold passes (tick refreshes it every second).
    for _ in 0..3 {
        d = r.tick(Some(0));
        assert_eq!(d.mode, Mode::BatteryLost);
    }
    d = r.tick(Some(0));
    assert_eq!(d.mode, Mode::Normal);
}

#[test]
fn a_device_not_answering_is_excluded_and_the_others_continue() {
    let mut r = Rig::new(&[gti(), bic()]).started();
    assert_eq!(r.demand(600).commands[0].power, Watts(-600));
    // The Lumentree stops answering: its status stays at its last report (-600 W).
    r.silent[0] = true;
    for _ in 0..10 {
        let d = r.tick(Some(0));
        assert!(!d.alarms.device_lost[0], "within T");
    }
    let d = r.tick(Some(0));
    assert!(d.alarms.device_lost[0] && !d.alarms.device_lost[1]);
    assert_eq!(d.mode, Mode::Normal);
    assert_eq!(d.commands[0].power, Watts(0));
    assert_eq!(
        d.commands[1].power,
        Watts(0),
        "the lost one is assumed to keep its 600 W"
    );
    // The house needs 300 W more: the BIC continues alone.
    let d = r.demand(900);
    assert_eq!(d.commands[0].power, Watts(0));
    assert_eq!(d.commands[1].power, Watts(-300), "the BIC covers the rest");
    // It answers again (delivering 0 W, as told): trusted after the 3 s hold; the BIC,
    // which took the whole 900 W meanwhile, keeps it while the demand stays in the band.
    r.silent[0] = false;
    let d = r.demand(900);
    assert!(!d.alarms.device_lost[0]);
    assert_eq!(d.commands[0].power, Watts(0));
    assert_eq!(d.commands[1].power, Watts(-900));
    // The next change is allocated in order again: the Lumentree first.
    let d = r.demand(1200);
    assert_eq!(d.commands[0].power, Watts(-1000));
    assert_eq!(d.commands[1].power, Watts(-200));
}

#[test]
fn full_latch_stops_charging_and_releases_at_the_restart_voltage() {
    let mut r = Rig::new(&[bic()]).started();
    assert_eq!(r.demand(-1000).total(), Watts(1000));
    let b = r.input.battery.as_mut().unwrap();
    b.voltage = Millivolts(55_100);
    b.current = Some(Milliamps(1000));
    let d = r.demand(-1000);
    assert!(d.latches.full && !d.charge_allowed);
    assert_eq!(d.total(), Watts(0));
    // Discharging is still allowed while FULL.
    assert!(
        (-400..=-386).contains(&r.demand(400).total().0),
        "within the 15 W deadband"
    );
    r.input.battery.as_mut().unwrap().voltage = Millivolts(53_601);
    assert_eq!(r.demand(-1000).total(), Watts(0));
    r.input.battery.as_mut().unwrap().voltage = Millivolts(53_600);
    let d = r.demand(-1000);
    assert!(!d.latches.full);
    assert!(
        (991..=1000).contains(&d.total().0),
        "within the 10 W deadband"
    );
}

#[test]
fn empty_latch_stops_discharging_and_releases_on_voltage_and_soc() {
    let mut r = Rig::new(&[bic()]).started();
    r.input.battery.as_mut().unwrap().voltage = Millivolts(48_800);
    let d = r.demand(500);
    assert!(d.latches.empty && !d.discharge_allowed);
    assert_eq!(d.total(), Watts(0));
    // Charging is still allowed (held within the 10 W deadband of 500 W at 48.8 V).
    assert!((491..=500).contains(&r.demand(-500).total().0));
    r.input.battery.as_mut().unwrap().voltage = Millivolts(51_199);
    assert_eq!(r.demand(500).total(), Watts(0));
    r.input.battery.as_mut().unwrap().voltage = Millivolts(51_200);
    // Discharging again (within the 15 W deadband of 500 W).
    assert!((-500..=-486).contains(&r.demand(500).total().0));
}

#[test]
fn each_temperature_limit_acts_on_the_set_points() {
    let mut r = Rig::new(&[bic()]).started();
    let set = |r: &mut Rig, min: i16, max: i16| {
        let b = r.input.battery.as_mut().unwrap();
        b.temperature_min = Some(DeciCelsius(min));
        b.temperature_max = Some(DeciCelsius(max));
    };
    set(&mut r, 200, 451);
    assert_eq!(r.demand(-500).total(), Watts(0), "charge above 45 °C");
    assert_eq!(
        r.demand(500).total(),
        Watts(-500),
        "discharge still allowed"
    );
    set(&mut r, 200, 551);
    assert_eq!(r.demand(500).total(), Watts(0), "discharge above 55 °C");
    set(&mut r, -1, 100);
    assert_eq!(
        r.demand(-500).total(),
        Watts(0),
        "no charging below 0 °C (LFP)"
    );
    assert_eq!(r.demand(500).total(), Watts(-500));
    set(&mut r, -201, 100);
    assert_eq!(r.demand(500).total(), Watts(0), "discharge below -20 °C");
    set(&mut r, 200, 250);
    assert_eq!(r.demand(-500).total(), Watts(500), "recovered");
    assert_eq!(r.demand(500).total(), Watts(-500));
}

#[test]
fn bms_flags_and_current_limits_act() {
    let mut r = Rig::new(&[bic()]).started();
    let b = r.input.battery.as_mut().unwrap();
    b.charge_allowed = false;
    b.discharge_current_limit = Some(Milliamps(4_000));
    assert_eq!(r.demand(-500).total(), Watts(0));
    assert_eq!(r.demand(500).total(), Watts(-200), "4 A × 50 V");
}

#[test]
fn commands_act_until_their_ttl() {
    let mut r = Rig::new(&[bic()]).started();
    let until = Millis(r.now + 20_000);
    r.input.commands.discharge_enabled = Some(Command {
        value: false,
        until,
    });
    r.input.commands.max_charge = Some(Command {
        value: Watts(300),
        until,
    });
    assert_eq!(r.demand(500).total(), Watts(0));
    assert_eq!(r.demand(-500).total(), Watts(300));
    while r.now < until.0 {
        r.tick(None);
    }
    assert_eq!(r.demand(-500).total(), Watts(500), "expired");
    assert_eq!(r.demand(500).total(), Watts(-500));
}

#[test]
fn refuses_bad_configurations_naming_the_field() {
    let c = Config::new(BatteryConfig::lfp(16));
    assert_eq!(
        Controller::new(c, &[]).unwrap_err(),
        ConfigError::DeviceCount
    );
    assert_eq!(
        Controller::new(c, &[bic(); MAX_DEVICES + 1]).unwrap_err(),
        ConfigError::DeviceCount
    );
    let mut bad = gti();
    bad.min_discharge = Watts(2000);
    assert_eq!(
        Controller::new(c, &[bic(), bad]).unwrap_err(),
        ConfigError::DeviceLimits(1)
    );
    let mut w = c;
    w.window = 0;
    assert_eq!(
        Controller::new(w, &[bic()]).unwrap_err(),
        ConfigError::Window
    );
    let mut n = c;
    n.discharge_deadband = Watts(-1);
    assert_eq!(
        Controller::new(n, &[bic()]).unwrap_err(),
        ConfigError::Negative("discharge_deadband")
    );
}
