//! Closed loop on the plant model: a BIC-2200-48 on a 16-cell LFP battery, the meter read
//! once a second, the controller stepped once a second (simulated time, 100 ms plant steps).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::print_stdout,
    clippy::too_many_lines
)]

use voltwire_core::{Milliamps, Permille, Watts};
use voltwire_zero_feed_in_rules::sim::Plant;
use voltwire_zero_feed_in_rules::{
    BatteryConfig, BatteryReading, Config, Controller, CurrentRange, Decision, DeviceConfig,
    DeviceStatus, Inputs, MeterReading, Millis, Role,
};

const DT: u64 = 100;

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

struct Loop {
    plant: Plant,
    controller: Controller,
    input: Inputs,
    now: u64,
    last: Option<Decision>,
    /// Set point changes sent to the device (EEPROM writes without the RAM bit).
    writes: u32,
}

impl Loop {
    fn new(soc: i16, capacity_wh: i64) -> Self {
        let mut config = Config::new(BatteryConfig::lfp(16));
        // ZFI_WINDOW=N measures another averaging window (the figures of the notes).
        if let Ok(w) = std::env::var("ZFI_WINDOW") {
            config.window = w.parse().unwrap();
        }
        Self {
            plant: Plant::new(16, capacity_wh, Permille(soc)),
            controller: Controller::new(config, &[bic()]).unwrap(),
            input: Inputs::default(),
            now: 0,
            last: None,
            writes: 0,
        }
    }

    /// Advances 100 ms; on every whole second the meter, BMS and device are read and the
    /// controller steps. Calls `each` with the grid power after every plant step.
    fn step(&mut self) {
        if self.now % 1000 == 0 {
            let at = Millis(self.now);
            self.input.meter = Some(MeterReading {
                at,
                grid: self.plant.grid(),
            });
            let mut b = BatteryReading::voltage_only(at, self.plant.voltage());
            b.current = Some(self.plant.current());
            b.soc = Some(self.plant.soc());
            self.input.battery = Some(b);
            self.input.devices[0] = DeviceStatus {
                last_seen: Some(at),
                delivered: Some(self.plant.delivered[0]),
            };
            let d = self.controller.step(at, &self.input);
            if d.commands[0].power != self.plant.setpoint[0] {
                self.writes += 1;
            }
            self.plant.setpoint[0] = d.commands[0].power;
            self.last = Some(d);
        }
        self.plant.advance(DT);
        self.now += DT;
    }

    fn run_for(&mut self, ms: u64) {
        for _ in 0..ms / DT {
            self.step();
        }
    }
}

/// After a ±500 W load step: (settling time in ms to stay within deadband + 20 W, the
/// largest excursion past zero in W).
fn load_step(from: i32, to: i32) -> (u64, i32) {
    let mut l = Loop::new(500, 10_000);
    l.plant.load = Watts(from);
    l.plant.pv = Watts(1500);
    l.run_for(60_000);
    assert!(
        l.plant.grid().0.abs() <= 15,
        "settled before the step: {}",
        l.plant.grid()
    );
    let t0 = l.now;
    l.plant.load = Watts(to);
    let band = 15 + 20;
    let up = to > from;
    let mut last_out = t0;
    let mut overshoot = 0;
    while l.now < t0 + 60_000 {
        l.step();
        let g = l.plant.grid().0;
        if g.abs() > band {
            last_out = l.now;
        }
        // Past zero: export after a step up, import after a step down.
        let past = if up { -g } else { g };
        overshoot = overshoot.max(past);
    }
    (last_out - t0, overshoot)
}

#[test]
fn a_500_w_load_step_settles_within_10_s_without_overshoot() {
    // Discharging 200 → 700 W (load 1700 W against 1500 W PV).
    let (settle, overshoot) = load_step(1700, 2200);
    println!("step up: settled in {settle} ms, overshoot {overshoot} W");
    assert!(settle <= 10_000, "settled after {settle} ms");
    assert!(overshoot <= 150, "overshoot {overshoot} W > 30 % of 500 W");
    // Down: 700 → 200 W.
    let (settle, overshoot) = load_step(2200, 1700);
    println!("step down: settled in {settle} ms, overshoot {overshoot} W");
    assert!(settle <= 10_000, "settled after {settle} ms");
    assert!(overshoot <= 150);
    // Across zero: charging 300 W → discharging 200 W.
    let (settle, overshoot) = load_step(1200, 1700);
    println!("step across zero: settled in {settle} ms, overshoot {overshoot} W");
    assert!(settle <= 10_000, "settled after {settle} ms");
    assert!(overshoot <= 150);
}

/// A deterministic pseudo-random sequence (a 64-bit LCG), for load noise and clouds.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

/// House load in W at second `s` of the day (without noise).
fn load_at(s: u64) -> i32 {
    let h = s as f64 / 3600.0;
    let mut w = 180.0;
    // A fridge: 120 W for 10 of every 30 minutes.
    if (s / 60) % 30 < 10 {
        w += 120.0;
    }
    let within = |a: f64, b: f64| h >= a && h < b;
    if within(6.5, 8.0) {
        w += 400.0;
    }
    if within(7.0, 7.05) {
        w += 2000.0; // kettle
    }
    if within(11.75, 12.5) {
        w += 1500.0; // cooking
    }
    if within(14.0, 15.5) {
        w += 500.0; // washing machine ...
    }
    if within(14.17, 14.5) {
        w += 2000.0; // ... heating
    }
    if within(17.5, 22.5) {
        w += 600.0;
    }
    w as i32
}

/// PV in W at second `s`: a sine from 6:00 to 20:00, 2400 W peak, before clouds.
fn pv_at(s: u64) -> f64 {
    let h = s as f64 / 3600.0;
    if !(6.0..20.0).contains(&h) {
        return 0.0;
    }
    let x = (h - 6.0) / 14.0 * core::f64::consts::PI;
    2400.0 * x.sin().powi(2)
}

#[test]
fn a_simulated_day_exports_and_imports_under_2_percent() {
    // 15 kWh, 40 % at midnight: the night takes it to about 20 %, the day's surplus fits.
    let mut l = Loop::new(400, 15_000);
    let mut rng = Lcg(18);
    let (mut noise, mut cloud) = (0.0, 1.0);
    let (mut export, mut import, mut surplus, mut coverable) = (0.0, 0.0, 0.0, 0.0);
    let (mut absorbable, mut surplus_blocked) = (0.0, 0.0);
    let h = DT as f64 / 3_600_000.0;
    for s in 0..86_400u64 {
        if s % 7 == 0 {
            noise = f64::from(rng.next() % 61) - 30.0;
        }
        if s % 60 == 0 {
            // A cloud passes in one minute out of five.
            cloud = if rng.next() % 5 == 0 { 0.4 } else { 1.0 };
        }
        let load = f64::from(load_at(s)) + noise;
        let pv = pv_at(s) * cloud;
        l.plant.load = Watts(load as i32);
        l.plant.pv = Watts(pv as i32);
        for _ in 0..1000 / DT {
            l.step();
            let g = f64::from(l.plant.grid().0);
            let d = l.last.unwrap();
            let net = load - pv;
            export += (-g).max(0.0) * h;
            import += g.max(0.0) * h;
            surplus += (-net).max(0.0) * h;
            if d.charge_allowed {
                absorbable += (-net).clamp(0.0, 2200.0) * h;
            } else {
                surplus_blocked += (-net).max(0.0) * h;
            }
            if d.discharge_allowed {
                coverable += net.clamp(0.0, 2200.0) * h;
            }
        }
    }
    let exported = 100.0 * export / surplus;
    let imported = 100.0 * import / coverable;
    println!(
        "day: PV surplus {surplus:.0} Wh (absorbable {absorbable:.0} Wh, blocked {surplus_blocked:.0} Wh), \
         exported {export:.0} Wh = {exported:.2} %; coverable load {coverable:.0} Wh, imported {import:.0} Wh = {imported:.2} %; \
         SOC at the end {} ‰, set point changes {}",
        l.plant.soc().0,
        l.writes
    );
    assert!(
        surplus > 5000.0 && coverable > 5000.0,
        "a day worth testing"
    );
    assert!(
        surplus_blocked < 1.0,
        "the battery never filled: the figures compare like with like"
    );
    assert!(
        exported <= 2.0,
        "exported {exported:.2} % of the PV surplus"
    );
    assert!(
        imported <= 2.0,
        "imported {imported:.2} % of the coverable load"
    );
}
