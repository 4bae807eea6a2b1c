//! Voltage trim of a Mean Well NPB-1200-48 (3.6–18 A) below its minimum current: the
//! controller's edges with exact numbers, and a closed loop on the plant model (a charger at a
//! low CV set point delivers what the voltage difference drives through the pack's 20 mΩ).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::too_many_lines
)]

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille, Watts};
use voltwire_zero_feed_in_rules::sim::Plant;
use voltwire_zero_feed_in_rules::{
    BatteryConfig, BatteryReading, Config, ConfigError, Controller, CurrentRange, Decision,
    DeviceCommand, DeviceConfig, DeviceStatus, Inputs, MeterReading, Millis, Role, TrimConfig,
};

const CC_MIN: Milliamps = Milliamps(3600);

/// An NPB-1200-48 charging up to 1000 W, with trim (defaults: 10 mV, 10 s, 20 W) or without.
fn npb(trim: bool) -> DeviceConfig {
    DeviceConfig {
        role: Role::Charger,
        min_charge: Watts(0),
        max_charge: Watts(1000),
        min_discharge: Watts(0),
        max_discharge: Watts(0),
        current: Some(CurrentRange {
            min: CC_MIN,
            max: Milliamps(18_000),
        }),
        trim: trim.then(TrimConfig::default),
    }
}

#[test]
fn trim_only_on_a_charger_set_by_current_with_valid_settings() {
    let config = Config::new(BatteryConfig::lfp(16));
    assert!(Controller::new(config, &[npb(true)]).is_ok());
    let mut bic = npb(true);
    bic.role = Role::Bidirectional;
    assert_eq!(
        Controller::new(config, &[npb(false), bic]).err(),
        Some(ConfigError::Trim(1))
    );
    let mut by_power = npb(true);
    by_power.current = None;
    assert_eq!(
        Controller::new(config, &[by_power]).err(),
        Some(ConfigError::Trim(0))
    );
    let mut odd = npb(true);
    odd.trim = Some(TrimConfig {
        step: Millivolts(5),
        ..TrimConfig::default()
    });
    assert_eq!(
        Controller::new(config, &[odd]).err(),
        Some(ConfigError::Trim(0))
    );
}

/// A controller fed by hand: battery at `mv`, the device reporting `delivered`.
struct Rig {
    c: Controller,
    input: Inputs,
    now: u64,
}

impl Rig {
    fn new(trim: bool, mv: i32) -> Self {
        let mut input = Inputs {
            battery: Some(BatteryReading::voltage_only(Millis(0), Millivolts(mv))),
            ..Inputs::default()
        };
        input.devices[0].delivered = Some(Watts(0));
        let mut r = Self {
            c: Controller::new(Config::new(BatteryConfig::lfp(16)), &[npb(trim)]).unwrap(),
            input,
            now: 0,
        };
        // The meter and the battery need their 3 s hold.
        for _ in 0..4 {
            r.tick(0, 0);
        }
        r
    }

    /// One second: grid `grid`, the device delivering `delivered`.
    fn tick(&mut self, grid: i32, delivered: i32) -> Decision {
        self.input.meter = Some(MeterReading {
            at: Millis(self.now),
            grid: Watts(grid),
        });
        self.second(delivered)
    }

    /// One second without a new meter reading.
    fn quiet(&mut self, delivered: i32) -> Decision {
        self.second(delivered)
    }

    fn second(&mut self, delivered: i32) -> Decision {
        let at = Millis(self.now);
        if let Some(b) = &mut self.input.battery {
            b.at = at;
        }
        self.input.devices[0] = DeviceStatus {
            last_seen: Some(at),
            delivered: Some(Watts(delivered)),
        };
        self.now += 1000;
        self.c.step(at, &self.input)
    }
}

#[test]
fn below_the_minimum_current_it_trims_at_the_minimum_current_as_a_cap() {
    // 52.400 V: 3.6 A is 188.64 W.
    let mut r = Rig::new(true, 52_400);
    let d = r.tick(-60, 0);
    assert_eq!(
        d.commands[0],
        DeviceCommand {
            power: Watts(60),
            current: Some(CC_MIN),
            voltage: Some(Millivolts(52_410)),
        }
    );
    // Without trim the very same surplus leaves it off.
    let mut off = Rig::new(false, 52_400);
    assert_eq!(off.tick(-60, 0).commands[0].power, Watts(0));
    assert_eq!(off.tick(-60, 0).commands[0].voltage, None);
}

#[test]
fn the_edge_between_trim_and_current_is_the_minimum_current() {
    // 188 W / 52.4 V = 3.587 A < 3.6 A: trim. 189 W: 3.606 A, normal charge current.
    let mut r = Rig::new(true, 52_400);
    let d = r.tick(-188, 0);
    assert_eq!(d.commands[0].voltage, Some(Millivolts(52_410)));
    assert_eq!(d.commands[0].power, Watts(188));
    let mut r = Rig::new(true, 52_400);
    let d = r.tick(-189, 0);
    assert_eq!(
        d.commands[0],
        DeviceCommand {
            power: Watts(188),
            current: Some(Milliamps(3606)),
            voltage: None,
        }
    );
    // Trimming, the demand rises to the minimum: back to its current (and its normal CV).
    let mut r = Rig::new(true, 52_400);
    assert!(r.tick(-60, 0).commands[0].voltage.is_some());
    let d = r.tick(-189 + 60, 60);
    assert_eq!(d.commands[0].voltage, None);
    assert_eq!(d.commands[0].current, Some(Milliamps(3606)));
}

#[test]
fn any_latch_leaves_the_trim_at_once_and_it_comes_back_after_the_release() {
    let mut r = Rig::new(true, 52_400);
    assert_eq!(r.tick(-60, 0).commands[0].voltage, Some(Millivolts(52_410)));
    // Too hot to charge (> 45.0 °C): off at once, not after the trim's interval.
    r.input.battery.as_mut().unwrap().temperature_max = Some(DeciCelsius(451));
    let d = r.tick(-34, 26);
    assert!(d.latches.charge_hot);
    assert_eq!(d.commands[0].power, Watts(0));
    assert_eq!(d.commands[0].voltage, None);
    // 43.1 °C: still latched (2 °C hysteresis); 43.0 °C: released, trimmed again from rest.
    r.input.battery.as_mut().unwrap().temperature_max = Some(DeciCelsius(431));
    assert_eq!(r.tick(-60, 0).commands[0].voltage, None);
    r.input.battery.as_mut().unwrap().temperature_max = Some(DeciCelsius(430));
    assert_eq!(r.tick(-60, 0).commands[0].voltage, Some(Millivolts(52_410)));
    // A meter that goes quiet (no new reading): out once it is stale, after T = 10 s.
    let mut seconds = 0;
    while r.quiet(26).commands[0].voltage.is_some() {
        seconds += 1;
    }
    assert_eq!(seconds, 10);
    assert_eq!(
        r.c.last()[0],
        DeviceCommand {
            current: Some(Milliamps(0)),
            ..DeviceCommand::OFF
        }
    );
}

#[test]
fn never_above_the_charge_voltage() {
    // 55.195 V: the floor rounds up to 55.20 V, + 10 mV is above the charge voltage.
    let mut r = Rig::new(true, 55_195);
    assert_eq!(r.tick(-60, 0).commands[0].power, Watts(0));
    let mut r = Rig::new(true, 55_185);
    assert_eq!(r.tick(-60, 0).commands[0].voltage, Some(Millivolts(55_200)));
}

/// The closed loop: the plant's house and PV, the NPB at slot 0 (its CV trimmed or at the
/// backstop), the meter, BMS and device read once a second.
struct Loop {
    plant: Plant,
    c: Controller,
    input: Inputs,
    now: u64,
    temperature: DeciCelsius,
    /// Every command that changed, with its second.
    changes: Vec<(u64, DeviceCommand)>,
}

impl Loop {
    fn new(trim: bool) -> Self {
        Self {
            plant: Plant::new(16, 10_000, Permille(500)),
            c: Controller::new(Config::new(BatteryConfig::lfp(16)), &[npb(trim)]).unwrap(),
            input: Inputs::default(),
            now: 0,
            temperature: DeciCelsius(250),
            changes: Vec::new(),
        }
    }

    /// `seconds` of 100 ms plant steps; the controller steps on every whole second.
    fn run(&mut self, seconds: u64) {
        for _ in 0..seconds * 10 {
            if self.now % 1000 == 0 {
                let at = Millis(self.now);
                self.input.meter = Some(MeterReading {
                    at,
                    grid: self.plant.grid(),
                });
                let mut b = BatteryReading::voltage_only(at, self.plant.voltage());
                b.current = Some(self.plant.current());
                b.soc = Some(self.plant.soc());
                b.temperature_min = Some(self.temperature);
                b.temperature_max = Some(self.temperature);
                self.input.battery = Some(b);
                self.input.devices[0] = DeviceStatus {
                    last_seen: Some(at),
                    delivered: Some(self.plant.delivered[0]),
                };
                let cmd = self.c.step(at, &self.input).commands[0];
                if self.changes.last().is_none_or(|(_, c)| *c != cmd) {
                    self.changes.push((self.now / 1000, cmd));
                }
                // The unit: its charge current at the pack voltage, capped by its CV.
                let i = i64::from(cmd.current.unwrap_or(Milliamps(0)).0);
                let v = i64::from(self.plant.voltage().0);
                self.plant.setpoint[0] = Watts(i32::try_from(i * v / 1_000_000).unwrap());
                self.plant.cv[0] = cmd.voltage;
            }
            self.plant.advance(100);
            self.now += 100;
        }
    }

    /// The trimmed voltages set from second `from` on, in order (each change once).
    fn voltages(&self, from: u64) -> Vec<Option<i32>> {
        let mut out: Vec<Option<i32>> = Vec::new();
        for (_, c) in self.changes.iter().filter(|(s, _)| *s >= from) {
            let v = c.voltage.map(|v| v.0);
            if out.last() != Some(&v) {
                out.push(v);
            }
        }
        out
    }

    /// The largest export (−grid) seen over the next `seconds`.
    fn worst_export(&mut self, seconds: u64) -> i32 {
        let mut worst = i32::MIN;
        for _ in 0..seconds {
            self.run(1);
            worst = worst.max(-self.plant.grid().0);
        }
        worst
    }
}

#[test]
fn closed_loop_trims_in_tracks_a_60_w_surplus_and_leaves() {
    // Without trim: 60 W of surplus against a 188 W minimum is exported all along.
    let mut plain = Loop::new(false);
    plain.plant.load = Watts(200);
    plain.plant.pv = Watts(260);
    plain.run(60);
    assert_eq!(plain.plant.grid(), Watts(-60));
    assert_eq!(plain.plant.delivered[0], Watts(0));

    // With trim: in at the battery's 52.400 V + 10 mV (0.5 A ≈ 26 W), one step up after the
    // 10 s interval (52.42 V: 1 A ≈ 52 W), then held: 60 − 52 = 8 W is inside the 20 W band.
    let mut l = Loop::new(true);
    l.plant.load = Watts(200);
    l.plant.pv = Watts(260);
    l.run(60);
    assert_eq!(l.voltages(0), [None, Some(52_410), Some(52_420)]);
    let entered = l.changes.iter().find(|(_, c)| c.voltage.is_some()).unwrap();
    let stepped = l
        .changes
        .iter()
        .find(|(_, c)| c.voltage == Some(Millivolts(52_420)))
        .unwrap();
    assert_eq!(stepped.0 - entered.0, 10, "one step per 10 s interval");
    assert_eq!(
        entered.1.current,
        Some(CC_MIN),
        "capped at the minimum current"
    );
    assert_eq!(l.plant.delivered[0], Watts(52));
    assert_eq!(l.plant.grid(), Watts(-8));
    // Held for a minute more: no limit cycle, no further write.
    let export = l.worst_export(60);
    assert_eq!(export, 8);
    assert_eq!(l.voltages(60), [], "no change after second 60");
    assert!(
        l.plant.voltage().0 <= 52_420,
        "the pack sits at the trimmed voltage"
    );

    // The surplus grows to 400 W: above the minimum, back to its current at the normal CV.
    l.plant.pv = Watts(600);
    l.run(20);
    let (_, cmd) = *l.changes.last().unwrap();
    assert_eq!(cmd.voltage, None);
    assert!(
        cmd.current.unwrap().0 > 7_000,
        "charging at {:?}",
        cmd.current
    );
    assert!(l.plant.grid().0.abs() <= 20, "grid {}", l.plant.grid());

    // Back to 60 W: off first (a voltage read while charging is the unit's own output),
    // then trimmed again from rest, tracking as before.
    l.plant.pv = Watts(260);
    let t = l.now / 1000;
    l.run(60);
    let again = l.voltages(t);
    assert_eq!(again.first(), Some(&None), "off before the trim: {again:?}");
    assert_eq!(again.last(), Some(&Some(52_420)), "{again:?}");
    assert!(l.plant.grid().0.abs() <= 20, "grid {}", l.plant.grid());

    // Too hot to charge: off at once; after cooling below the hysteresis: trimmed again.
    l.temperature = DeciCelsius(460);
    let t = l.now / 1000;
    l.run(1);
    assert_eq!(l.voltages(t), [None]);
    assert_eq!(l.changes.last().unwrap().1.power, Watts(0));
    l.run(20);
    assert_eq!(l.plant.grid(), Watts(-60), "exported while latched");
    l.temperature = DeciCelsius(430);
    let t = l.now / 1000;
    l.run(30);
    assert_eq!(l.voltages(t), [Some(52_410), Some(52_420)]);

    // The surplus goes (the load rises by 100 W): out of trim and off.
    l.plant.load = Watts(300);
    let t = l.now / 1000;
    l.run(10);
    assert_eq!(l.voltages(t), [None]);
    assert_eq!(l.changes.last().unwrap().1.power, Watts(0));
    assert_eq!(l.plant.delivered[0], Watts(0));
    assert_eq!(l.plant.grid(), Watts(40));

    // Writes: each trim step is one CV write, at most one per 10 s within a trim.
    let steps: Vec<u64> = l
        .changes
        .windows(2)
        .filter(|w| w[0].1.voltage.is_some() && w[1].1.voltage.is_some())
        .filter(|w| w[0].1.voltage != w[1].1.voltage)
        .map(|w| w[1].0)
        .collect();
    println!("steps at {steps:?} s; changes {:?}", l.changes);
    // 13 s: the first trim's step; the second trim entered at 52.42 V straight away (the
    // pack still 3 mV above rest: 52.403 V rounds up to 52.41 V, + 10 mV); 231 s: the third's.
    assert_eq!(steps, [13, 231]);
}
