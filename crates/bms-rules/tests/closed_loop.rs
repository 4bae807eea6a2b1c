//! Closed-loop simulations: a small plant (8 LFP cells, SOC, temperatures, PV, loads, a
//! balancer) driven by the rules' relay and charge-MOSFET outputs, one tick per simulated
//! second. Each rule trips and recovers at its thresholds with hysteresis, and nothing
//! chatters.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_wrap,
    clippy::trivially_copy_pass_by_ref,
    clippy::format_push_string,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    reason = "floats inside the test plant; readings are rounded to exact units"
)]

use voltwire_bms_rules::{
    BmsReading, Config, EventKind, Latch, Millis, Mode, Output, Relay, Rules, SensorRole,
    ShuntReading,
};
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille, Watts};

const HOUR: u64 = 3_600_000;

/// LFP open-circuit voltage over SOC (0..=1), volts.
fn ocv(soc: f64) -> f64 {
    const CURVE: [(f64, f64); 10] = [
        (0.00, 2.80),
        (0.05, 3.00),
        (0.10, 3.20),
        (0.20, 3.25),
        (0.50, 3.30),
        (0.80, 3.33),
        (0.90, 3.345),
        (0.95, 3.36),
        (0.99, 3.40),
        (1.00, 3.60),
    ];
    let s = soc.clamp(0.0, 1.0);
    let mut prev = CURVE[0];
    for &(x, v) in &CURVE[1..] {
        if s <= x {
            return prev.1 + (v - prev.1) * (s - prev.0) / (x - prev.0);
        }
        prev = (x, v);
    }
    prev.1
}

/// A deterministic noise source (LCG), uniform in `-amp..=amp`.
struct Noise(u64);

impl Noise {
    fn next(&mut self, amp: i32) -> i32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let r = (self.0 >> 33) as i64;
        (r % (2 * i64::from(amp) + 1)) as i32 - amp
    }
}

struct Plant {
    cell_soc: [f64; 8],
    cell_cap_ah: [f64; 8],
    cell_mohm: f64,
    current_a: f64,
    cell_temp: f64,
    charger_temp: f64,
    /// PV available at time of day (h) → W.
    pv: fn(f64) -> f64,
    /// Ambient at time of day (h) → °C.
    ambient: fn(f64) -> f64,
    load_w: [f64; 2],
    standby_w: f64,
    /// Offset of the SmartShunt's SOC from the truth (a drifted coulomb counter), 0.1 %.
    shunt_soc_offset: i32,
    /// Charge heats the charger: °C per W of PV.
    charger_heat: f64,
    pv_w: f64,
}

impl Plant {
    fn new(soc: f64) -> Self {
        let mut cap = [100.0; 8];
        cap[3] = 90.0; // the weak cell: it runs ahead at the top of the charge
        Self {
            cell_soc: [soc; 8],
            cell_cap_ah: cap,
            cell_mohm: 1.0,
            current_a: 0.0,
            cell_temp: 20.0,
            charger_temp: 20.0,
            pv: |_| 0.0,
            ambient: |_| 20.0,
            load_w: [300.0, 300.0],
            standby_w: 10.0,
            shunt_soc_offset: 0,
            charger_heat: 0.0,
            pv_w: 0.0,
        }
    }

    fn cell_v(&self, i: usize) -> f64 {
        ocv(self.cell_soc[i]) + self.current_a * self.cell_mohm / 1000.0
    }

    fn pack_v(&self) -> f64 {
        (0..8).map(|i| self.cell_v(i)).sum()
    }

    fn soc(&self) -> f64 {
        self.cell_soc.iter().copied().fold(1.0, f64::min)
    }

    fn step(&mut self, hour: f64, dt: f64, out: &Output) {
        let full = self.cell_soc.iter().any(|&s| s >= 1.0);
        let empty = self.cell_soc.iter().any(|&s| s <= 0.0);
        // The MPPT regulates at an absorption voltage of 3.45 V per cell: the charge
        // current tapers as the highest cell climbs its knee.
        let max_ocv = (0..8).map(|i| ocv(self.cell_soc[i])).fold(0.0, f64::max);
        let taper_a = ((3.45 - max_ocv) / (self.cell_mohm / 1000.0)).max(0.0);
        let v = self.pack_v().max(16.0);
        self.pv_w = if out.charge_mosfet && !full {
            (self.pv)(hour).min(taper_a * v + self.standby_w)
        } else {
            0.0
        };
        let mut load = self.standby_w;
        for (on, w) in out.relays.iter().zip(self.load_w) {
            if *on && !empty {
                load += w;
            }
        }
        self.current_a = (self.pv_w - load) / v;
        for (s, c) in self.cell_soc.iter_mut().zip(self.cell_cap_ah) {
            *s = (*s + self.current_a * dt / 3600.0 / c).clamp(0.0, 1.0);
        }
        if out.relays[2] {
            // A 2 A active balancer moves charge from the highest cell to the lowest.
            let (hi, lo) = (self.highest(), self.lowest());
            let dq = 2.0 * dt / 3600.0;
            self.cell_soc[hi] -= dq / self.cell_cap_ah[hi];
            self.cell_soc[lo] += dq / self.cell_cap_ah[lo];
        }
        let ambient = (self.ambient)(hour);
        let target = ambient + 0.15 * self.current_a.abs();
        self.cell_temp += (target - self.cell_temp) * dt / 1800.0;
        let target = ambient + self.charger_heat * self.pv_w;
        self.charger_temp += (target - self.charger_temp) * dt / 600.0;
    }

    fn highest(&self) -> usize {
        (0..8)
            .max_by(|&a, &b| self.cell_v(a).total_cmp(&self.cell_v(b)))
            .unwrap()
    }

    fn lowest(&self) -> usize {
        (0..8)
            .min_by(|&a, &b| self.cell_v(a).total_cmp(&self.cell_v(b)))
            .unwrap()
    }
}

/// What happened at one event, with the readings the rules saw then.
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: u64,
    kind: EventKind,
    soc: i16,
    volts: i32,
    diff: i32,
    cell_temp: i16,
    charger_temp: i16,
}

struct Sim {
    rules: Rules,
    plant: Plant,
    now: u64,
    start_hour: f64,
    noise: Noise,
    soc_noise: i32,
    cell_noise: i32,
    seen: Vec<Seen>,
    out: Output,
}

impl Sim {
    fn new(config: Config, plant: Plant, start_hour: f64) -> Self {
        config.validate().unwrap();
        Self {
            rules: Rules::new(config, Millis(0)),
            plant,
            now: 0,
            start_hour,
            noise: Noise(7),
            soc_noise: 0,
            cell_noise: 0,
            seen: Vec::new(),
            out: Output::default(),
        }
    }

    fn hour(&self) -> f64 {
        (self.start_hour + self.now as f64 / HOUR as f64) % 24.0
    }

    fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 1000;
            let hour = self.hour();
            let out = self.out;
            self.plant.step(hour, 1.0, &out);
            self.feed();
        }
    }

    fn feed(&mut self) {
        let now = Millis(self.now);
        let p = &self.plant;
        let soc = (p.soc() * 1000.0).round() as i32;
        let cells: Vec<i32> = (0..8)
            .map(|i| (p.cell_v(i) * 1000.0).round() as i32 + self.noise.next(self.cell_noise))
            .collect();
        let (min, max) = (*cells.iter().min().unwrap(), *cells.iter().max().unwrap());
        let pack = cells.iter().sum::<i32>();
        let current = Milliamps((p.current_a * 1000.0).round() as i32);
        let cell_temp = DeciCelsius((p.cell_temp * 10.0).round() as i16);
        let charger_temp = DeciCelsius((p.charger_temp * 10.0).round() as i16);
        let shunt_soc = (soc + p.shunt_soc_offset + self.noise.next(self.soc_noise)).clamp(0, 1000);
        self.rules.update_bms(
            now,
            BmsReading {
                pack: Millivolts(pack),
                current,
                soc: Permille(soc as i16),
                cell_min: Millivolts(min),
                cell_max: Millivolts(max),
                temp_max: Some(cell_temp),
            },
        );
        self.rules.update_shunt(
            now,
            ShuntReading {
                voltage: Millivolts(pack),
                current,
                soc: Some(Permille(shunt_soc as i16)),
            },
        );
        self.rules
            .update_charger(now, 0, Watts(p.pv_w.round() as i32));
        self.rules.update_sensor(now, 0, charger_temp);
        self.out = self.rules.tick(now);
        while let Some(e) = self.rules.pop_event() {
            self.seen.push(Seen {
                at: e.at.0,
                kind: e.kind,
                soc: shunt_soc as i16,
                volts: pack,
                diff: max - min,
                cell_temp: cell_temp.0,
                charger_temp: charger_temp.0,
            });
        }
    }

    fn find(&self, kind: EventKind) -> Vec<Seen> {
        self.seen
            .iter()
            .filter(|s| s.kind == kind)
            .copied()
            .collect()
    }

    /// The events, one line each with the hour of day, for failure messages.
    fn dump(&self) -> String {
        let mut text = String::from("\n");
        for s in &self.seen {
            let hour = self.start_hour + s.at as f64 / HOUR as f64;
            text += &format!(
                "{hour:6.2} h {:?} soc {} v {} diff {} cell {} charger {}\n",
                s.kind, s.soc, s.volts, s.diff, s.cell_temp, s.charger_temp
            );
        }
        text
    }

    /// Each trip of `latch` with the recovery that followed it (a trip still active at the end
    /// is left out). With `loads_off`, asserts that no load switched on in between.
    fn latch_pairs(&self, latch: Latch, loads_off: bool) -> Vec<(Seen, Seen)> {
        let trips = self.find(EventKind::Tripped(latch));
        let recs = self.find(EventKind::Recovered(latch));
        let pairs: Vec<(Seen, Seen)> = trips.iter().copied().zip(recs.iter().copied()).collect();
        for (trip, rec) in &pairs {
            assert!(trip.at < rec.at);
            if loads_off {
                let on = self.seen.iter().any(|s| {
                    s.at > trip.at
                        && s.at < rec.at
                        && matches!(
                            s.kind,
                            EventKind::Relay {
                                relay: Relay::Load1 | Relay::Load2,
                                on: true,
                                ..
                            }
                        )
                });
                assert!(
                    !on,
                    "a load switched on while {latch:?} was latched: {}",
                    self.dump()
                );
            }
        }
        pairs
    }

    /// Relay switches and charge-MOSFET changes per simulated hour, at most.
    fn max_switches_per_hour(&self) -> usize {
        let last = self.now / HOUR + 1;
        let mut worst = 0;
        for target in 0..4 {
            for h in 0..last {
                let n = self
                    .seen
                    .iter()
                    .filter(|s| s.at / HOUR == h)
                    .filter(|s| match s.kind {
                        EventKind::Relay { relay, .. } => relay.index() == target,
                        EventKind::ChargeMosfet { .. } => target == 3,
                        _ => false,
                    })
                    .count();
                worst = worst.max(n);
            }
        }
        worst
    }
}

fn config() -> Config {
    let mut c = Config::default();
    c.sensors[0] = Some(SensorRole::Charger);
    c
}

fn sun(hour: f64) -> f64 {
    if (7.0..19.0).contains(&hour) {
        1400.0 * (core::f64::consts::PI * (hour - 7.0) / 12.0).sin()
    } else {
        0.0
    }
}

fn hot_afternoon(hour: f64) -> f64 {
    // 18 °C at night, 36 °C at 15:00.
    18.0 + 18.0 * (-((hour - 15.0) / 3.0).powi(2)).exp()
}

#[test]
fn a_day_with_sun_and_a_hot_afternoon() {
    let mut plant = Plant::new(0.45);
    plant.cell_cap_ah[3] = 97.0;
    plant.pv = sun;
    plant.ambient = hot_afternoon;
    plant.charger_heat = 0.002;
    let mut sim = Sim::new(config(), plant, 6.0);
    sim.run(30 * HOUR);

    // The loads follow SOC: on above 30 % once the PV average is high (morning), both go off
    // only by a latch or at low SOC.
    let on = sim.find(EventKind::Relay {
        relay: Relay::Load1,
        on: true,
        reason: voltwire_bms_rules::Reason::SocHigh,
    });
    assert!(!on.is_empty());
    assert!(on.iter().all(|s| s.soc > 300));

    // The hot afternoon trips the cell-temperature latch while charging: the charge MOSFET
    // goes off; it recovers below 27 °C in the evening and the MOSFET comes back.
    let trips = sim.find(EventKind::Tripped(Latch::CellTemp));
    let recoveries = sim.find(EventKind::Recovered(Latch::CellTemp));
    assert_eq!(trips.len(), 1, "{:?}", sim.dump());
    assert_eq!(recoveries.len(), 1);
    assert!(trips[0].cell_temp > 350 && trips[0].cell_temp <= 352);
    assert!(recoveries[0].cell_temp < 270 && recoveries[0].cell_temp >= 268);
    let hour = |s: &Seen| (6.0 + s.at as f64 / HOUR as f64) % 24.0;
    assert!(
        (12.0..18.0).contains(&hour(&trips[0])),
        "{}",
        hour(&trips[0])
    );
    let off = sim.find(EventKind::ChargeMosfet {
        on: false,
        latch: Some(Latch::CellTemp),
    });
    let back = sim.find(EventKind::ChargeMosfet {
        on: true,
        latch: None,
    });
    assert_eq!(off.len(), 1);
    assert_eq!(off[0].at, trips[0].at);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].at, recoveries[0].at);

    // The weak cell runs ahead at the top of the charge and starts the balancer (a cell above
    // 3.400 V, difference above 15 mV); it stops only when every cell is below 3.350 V.
    let bal_on: Vec<_> = sim
        .seen
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                EventKind::Relay {
                    relay: Relay::Balancer,
                    on: true,
                    ..
                }
            )
        })
        .collect();
    assert!(!bal_on.is_empty(), "{:?}", sim.dump());
    assert!(bal_on.iter().all(|s| s.diff > 15));

    assert!(sim.max_switches_per_hour() <= 2, "{:?}", sim.dump());
}

#[test]
fn soc_noise_of_1_pct_around_each_load_threshold_switches_at_most_twice_an_hour() {
    for (soc, pv) in [(0.60, 0.0), (0.30, 600.0), (0.10, 0.0)] {
        let mut plant = Plant::new(soc);
        // PV roughly balances one load, so SOC hovers around the threshold.
        plant.pv = if pv > 0.0 { |_| 600.0 } else { |_| 310.0 };
        let mut sim = Sim::new(config(), plant, 12.0);
        sim.soc_noise = 10;
        sim.run(20_000);
        if soc < 0.2 {
            // Loads on by hand at 10 %: the first reading at or below 10.0 % ends it.
            sim.rules.set_mode(Millis(sim.now), Relay::Load1, Mode::On);
            sim.rules.set_mode(Millis(sim.now), Relay::Load2, Mode::On);
        }
        sim.run(3 * HOUR);
        let switches = sim.max_switches_per_hour();
        assert!(
            switches <= 2,
            "SOC {soc}: {switches} in an hour: {:?}",
            sim.dump()
        );
        let n = sim
            .seen
            .iter()
            .filter(|s| {
                matches!(
                    s.kind,
                    EventKind::Relay {
                        relay: Relay::Load1,
                        ..
                    }
                )
            })
            .count();
        assert!(
            n >= 1,
            "SOC {soc}: the load switched at least once: {:?}",
            sim.dump()
        );
    }
}

#[test]
fn cell_voltage_noise_around_the_balancer_thresholds_does_not_chatter() {
    let mut plant = Plant::new(0.985);
    plant.load_w = [0.0, 0.0];
    plant.pv = |_| 0.0;
    plant.standby_w = 0.0;
    let mut sim = Sim::new(config(), plant, 12.0);
    sim.cell_noise = 5;
    sim.run(3 * HOUR);
    assert!(sim.max_switches_per_hour() <= 2, "{:?}", sim.dump());
}

#[test]
fn low_voltage_trips_under_load_and_recovers_when_the_sun_charges() {
    // The SmartShunt's SOC has drifted 10 % high, so the SOC rule does not save the pack:
    // the low-voltage latch does.
    let mut plant = Plant::new(0.12);
    plant.shunt_soc_offset = 100;
    plant.load_w = [600.0, 600.0];
    plant.pv = sun;
    let mut sim = Sim::new(config(), plant, 0.0);
    sim.run(20 * HOUR);
    let pairs = sim.latch_pairs(Latch::LowVoltage, true);
    assert!(!pairs.is_empty(), "{}", sim.dump());
    for (trip, rec) in &pairs {
        assert!(trip.volts < 24_400 && trip.volts > 24_300, "{}", trip.volts);
        assert!(rec.volts > 25_400 && rec.volts < 25_500, "{}", rec.volts);
        assert!(
            rec.at - trip.at >= 60_000,
            "hysteresis: not recovered at once"
        );
    }
    assert!(sim.max_switches_per_hour() <= 2, "{:?}", sim.dump());
}

#[test]
fn charger_temperature_trips_in_the_heat_and_recovers_in_the_evening() {
    let mut plant = Plant::new(0.5);
    plant.pv = sun;
    plant.ambient = hot_afternoon;
    plant.charger_heat = 0.01; // 1000 W → +10 °C
    let mut c = config();
    c.cell_temp.trip = DeciCelsius(600); // this test is about the charger
    c.cell_temp.recover = DeciCelsius(500);
    let mut sim = Sim::new(c, plant, 6.0);
    sim.run(18 * HOUR);
    let trips = sim.find(EventKind::Tripped(Latch::ChargerTemp));
    let rec = sim.find(EventKind::Recovered(Latch::ChargerTemp));
    assert!(!trips.is_empty(), "{:?}", sim.dump());
    assert_eq!(trips.len(), rec.len(), "{:?}", sim.dump());
    for t in &trips {
        assert!(
            t.charger_temp > 400 && t.charger_temp <= 402,
            "{}",
            t.charger_temp
        );
    }
    for r in &rec {
        assert!(
            r.charger_temp < 320 && r.charger_temp >= 318,
            "{}",
            r.charger_temp
        );
    }
    assert!(sim.max_switches_per_hour() <= 2, "{:?}", sim.dump());
}

#[test]
fn cell_difference_latch_trips_at_the_top_and_recovers_on_the_plateau() {
    // A badly weak cell (70 %) under strong sun, no balancer: the difference runs past
    // 100 mV at the top of the charge.
    let mut plant = Plant::new(0.80);
    plant.cell_cap_ah[3] = 70.0;
    plant.pv = sun;
    let mut sim = Sim::new(config(), plant, 9.0);
    sim.rules.set_mode(Millis(0), Relay::Balancer, Mode::Off);
    sim.run(24 * HOUR);
    let pairs = sim.latch_pairs(Latch::CellDiff, true);
    assert!(!pairs.is_empty(), "{}", sim.dump());
    for (trip, rec) in &pairs {
        assert!(trip.diff > 100 && trip.diff < 110, "{}", trip.diff);
        assert!(rec.diff < 20, "{}", rec.diff);
    }
    assert!(sim.max_switches_per_hour() <= 2, "{:?}", sim.dump());
}
