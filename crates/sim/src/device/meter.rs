//! A grid power meter at the house connection, answering like a Shelly Pro 3EM (Gen2 RPC,
//! triphase profile) and a Shelly 3EM (Gen1 HTTP): the plant's
//! [`Plant::grid`](crate::Plant::grid) split over three phases, with voltages, currents,
//! power factors and energy counters. Sans-IO: the bodies are built as `serde_json` values,
//! time (sim time and wall-clock Unix time) is passed in.
//!
//! Sign convention (Shelly's and the plant's): power > 0 is import from the grid, < 0 is
//! export (feed-in).
//!
//! How the flows land on the phases (documented, deterministic):
//! - the house load is spread 45 % / 35 % / 20 % over phases a / b / c;
//! - AC PV is a three-phase inverter: a third on each phase;
//! - the battery inverter (discharge) and the AC charger (charge) are single-phase, on a.
//!
//! The remainder of each split lands on the last phase, so that a + b + c equals the total
//! exactly and the total equals [`Plant::grid`](crate::Plant::grid).

use core::time::Duration;

use serde_json::{Value, json};
use voltwire_core::{Milliamps, Millivolts, VoltAmperes, Watts};

use crate::faults::Garbage;
use crate::{Faults, Plant};

/// How the house load varies around its base level over sim time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoadProfile {
    /// Always the base load.
    Constant,
    /// A staircase of base × 100 %, 150 %, 50 %, 125 %, each held for
    /// [`LoadProfile::STEP_HOLD`], then again from the start.
    #[default]
    Step,
    /// base × (1 + 0.3 · sin(2π t / [`LoadProfile::PERIOD`])).
    Sine,
    /// A triangle from base × 50 % up to base × 150 % and back, one round per
    /// [`LoadProfile::PERIOD`].
    Ramp,
}

impl LoadProfile {
    /// How long each level of [`LoadProfile::Step`] holds.
    pub const STEP_HOLD: Duration = Duration::from_secs(10);
    /// The period of [`LoadProfile::Sine`] and [`LoadProfile::Ramp`].
    pub const PERIOD: Duration = Duration::from_secs(60);
    /// The names [`LoadProfile::parse`] takes, in the order of the variants.
    pub const NAMES: [&'static str; 4] = ["constant", "step", "sine", "ramp"];

    /// The profile called `name` (one of [`LoadProfile::NAMES`]).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "constant" => Some(Self::Constant),
            "step" => Some(Self::Step),
            "sine" => Some(Self::Sine),
            "ramp" => Some(Self::Ramp),
            _ => None,
        }
    }

    /// The profile's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Step => "step",
            Self::Sine => "sine",
            Self::Ramp => "ramp",
        }
    }

    /// The load at sim time `t` for a base load `base` (never below 0 W).
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the factor is within 0.5..=1.5 and the result clamped to i32"
    )]
    pub fn load(self, base: Watts, t: Duration) -> Watts {
        let factor = match self {
            Self::Constant => 1.0,
            Self::Step => {
                let n = t.as_millis() / Self::STEP_HOLD.as_millis();
                [1.0, 1.5, 0.5, 1.25]
                    .get(usize::try_from(n % 4).unwrap_or_default())
                    .copied()
                    .unwrap_or(1.0)
            }
            Self::Sine => {
                let x = t.as_secs_f64() / Self::PERIOD.as_secs_f64();
                1.0 + 0.3 * (core::f64::consts::TAU * x).sin()
            }
            Self::Ramp => {
                let x = (t.as_secs_f64() / Self::PERIOD.as_secs_f64()).fract();
                let tri = if x < 0.5 { 2.0 * x } else { 2.0 - 2.0 * x };
                0.5 + tri
            }
        };
        let w = (f64::from(base.0) * factor).round();
        Watts(w.clamp(0.0, f64::from(i32::MAX)) as i32)
    }
}

/// One phase as the meter measures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseReading {
    /// Active power, > 0 import. Shelly: `a_act_power` (W, 0.1 resolution).
    pub power: Watts,
    /// RMS voltage. Shelly: `a_voltage` (V, 0.1 resolution).
    pub voltage: Millivolts,
    /// RMS current, always ≥ 0. Shelly: `a_current` (A, 0.001 resolution).
    pub current: Milliamps,
    /// Apparent power, ≥ 0. Shelly: `a_aprt_power` (VA).
    pub apparent: VoltAmperes,
    /// Power factor in 0.01, signed like the power (0 without power). Shelly: `a_pf`.
    pub power_factor_centi: i16,
}

/// What the meter measures at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterReading {
    /// Phases a, b, c.
    pub phases: [PhaseReading; 3],
    /// Total active power: exactly the sum of the phases and [`Plant::grid`].
    pub total: Watts,
    /// The house load behind it.
    pub load: Watts,
}

impl MeterReading {
    /// The sum of the phase currents.
    pub fn total_current(&self) -> Milliamps {
        Milliamps(self.phases.iter().map(|p| p.current.0).sum())
    }

    /// The sum of the phase apparent powers.
    pub fn total_apparent(&self) -> VoltAmperes {
        VoltAmperes(self.phases.iter().map(|p| p.apparent.0).sum())
    }
}

/// Split `w` by the weights `parts` (per mille, summing to 1000); the rounding remainder
/// goes to the last phase, so the three always sum to `w`.
fn split(w: Watts, parts: [i64; 3]) -> [i64; 3] {
    let total = i64::from(w.0);
    let [pa, pb, _] = parts;
    let a = total * pa / 1000;
    let b = total * pb / 1000;
    [a, b, total - a - b]
}

/// The Shelly identity the simulator answers with.
pub const DEVICE_MAC: &str = "02564F4C5457";
/// The Gen2 device id (also the default MQTT topic prefix).
pub const DEVICE_ID: &str = "shellypro3em-02564f4c5457";
/// The Pro 3EM model code.
pub const DEVICE_MODEL: &str = "SPEM-003CEBEU";
/// The firmware version reported.
pub const FIRMWARE_VERSION: &str = "1.4.4";

/// Nominal phase voltages (mV) without load; each sags 1 V per kW imported on its phase.
const NOMINAL_MV: [i64; 3] = [230_200, 229_600, 231_100];
/// |power factor| of the house under load, in 0.01.
const POWER_FACTOR_CENTI: i64 = 97;
/// Load spread over a / b / c, per mille.
const LOAD_SHARE: [i64; 3] = [450, 350, 200];
/// AC PV spread, per mille.
const PV_SHARE: [i64; 3] = [333, 333, 334];
/// Battery inverter / charger: all on a.
const BATTERY_SHARE: [i64; 3] = [1000, 0, 0];

/// The simulated meter: the load profile, the energy counters and the faults.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerMeter {
    base_load: Watts,
    profile: LoadProfile,
    faults: Faults,
    imported_wh: [f64; 3],
    exported_wh: [f64; 3],
    last: Option<(Duration, [i64; 3])>,
    garbage: Garbage,
}

#[allow(
    clippy::unused_self,
    reason = "every body is a method of the device, whether or not it reads its state today"
)]
impl PowerMeter {
    /// A meter whose house load follows `profile` around `base_load`.
    pub fn new(base_load: Watts, profile: LoadProfile) -> Self {
        Self {
            base_load,
            profile,
            faults: Faults::default(),
            imported_wh: [0.0; 3],
            exported_wh: [0.0; 3],
            last: None,
            garbage: Garbage::default(),
        }
    }

    /// The base load.
    pub fn base_load(&self) -> Watts {
        self.base_load
    }

    /// Set the base load (takes effect at the next [`PowerMeter::update`]).
    pub fn set_base_load(&mut self, w: Watts) {
        self.base_load = w;
    }

    /// The load profile.
    pub fn profile(&self) -> LoadProfile {
        self.profile
    }

    /// Change the load profile.
    pub fn set_profile(&mut self, profile: LoadProfile) {
        self.profile = profile;
    }

    /// The faults in effect (`silent`, `delay`, `garbage`, `drop_port` are honoured by the
    /// I/O layer; the plant faults do not apply to a meter).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The faults, to change them.
    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }

    /// Advance to sim time `now`: add the energy of the phase powers measured at the last
    /// update over the time since, then set the plant's house load from the profile at
    /// `now`. Call it before [`PowerMeter::reading`]; a `now` earlier than the last one
    /// adds no energy.
    #[allow(
        clippy::cast_precision_loss,
        reason = "phase powers are far below 2^52 W; energy is a float inside the physics"
    )]
    pub fn update(&mut self, now: Duration, plant: &mut Plant) {
        if let Some((then, powers)) = self.last {
            let hours = now.saturating_sub(then).as_secs_f64() / 3600.0;
            for (i, p) in powers.iter().enumerate() {
                let wh = *p as f64 * hours;
                let counter = if wh >= 0.0 {
                    self.imported_wh.get_mut(i)
                } else {
                    self.exported_wh.get_mut(i)
                };
                if let Some(c) = counter {
                    *c += wh.abs();
                }
            }
        }
        plant.flows.load = self.profile.load(self.base_load, now);
        let powers = self.phase_powers(plant);
        self.last = Some((now.max(self.last.map_or(now, |(t, _)| t)), powers));
    }

    fn phase_powers(&self, plant: &Plant) -> [i64; 3] {
        let f = plant.flows;
        let load = split(f.load, LOAD_SHARE);
        let pv = split(f.pv, PV_SHARE);
        let dis = split(f.discharge, BATTERY_SHARE);
        let chg = split(f.charge, BATTERY_SHARE);
        let mut out = [0i64; 3];
        for (i, o) in out.iter_mut().enumerate() {
            let at = |v: &[i64; 3]| v.get(i).copied().unwrap_or_default();
            *o = at(&load) - at(&pv) - at(&dis) + at(&chg);
        }
        out
    }

    /// What the meter measures now (the plant's flows as they are).
    pub fn reading(&self, plant: &Plant) -> MeterReading {
        let powers = self.phase_powers(plant);
        let phases = core::array::from_fn(|i| {
            let p = powers.get(i).copied().unwrap_or_default();
            let nominal = NOMINAL_MV.get(i).copied().unwrap_or(230_000);
            // 1 V sag per kW import (a rise when exporting), on a 0.1 V grid.
            let mv = (nominal - p + 50).div_euclid(100) * 100;
            // I = |P| / (V · pf): mA = |P| · 10^8 / (mV · pf in 0.01), rounded.
            let den = mv * POWER_FACTOR_CENTI;
            let ma = if den > 0 {
                (p.abs() * 100_000_000 + den / 2) / den
            } else {
                0
            };
            let va = (p.abs() * 100 + POWER_FACTOR_CENTI / 2) / POWER_FACTOR_CENTI;
            let pf = match p.signum() {
                1 => POWER_FACTOR_CENTI,
                -1 => -POWER_FACTOR_CENTI,
                _ => 0,
            };
            PhaseReading {
                power: Watts(i32::try_from(p).unwrap_or(i32::MAX)),
                voltage: Millivolts(i32::try_from(mv).unwrap_or(i32::MAX)),
                current: Milliamps(i32::try_from(ma).unwrap_or(i32::MAX)),
                apparent: VoltAmperes(i32::try_from(va).unwrap_or(i32::MAX)),
                power_factor_centi: i16::try_from(pf).unwrap_or_default(),
            }
        });
        MeterReading {
            phases,
            total: plant.grid(),
            load: plant.flows.load,
        }
    }

    /// Imported energy per phase, Wh.
    pub fn imported_wh(&self) -> [f64; 3] {
        self.imported_wh
    }

    /// Exported energy per phase, Wh.
    pub fn exported_wh(&self) -> [f64; 3] {
        self.exported_wh
    }

    /// The body of Gen2 `EM.GetStatus?id=0` (Pro 3EM, triphase profile).
    pub fn em_status(&self, r: &MeterReading) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(0));
        for (name, p) in ["a", "b", "c"].iter().zip(&r.phases) {
            m.insert(format!("{name}_current"), json!(amps(p.current)));
            m.insert(format!("{name}_voltage"), json!(volts(p.voltage)));
            m.insert(format!("{name}_act_power"), json!(f64::from(p.power.0)));
            m.insert(format!("{name}_aprt_power"), json!(f64::from(p.apparent.0)));
            m.insert(
                format!("{name}_pf"),
                json!(f64::from(p.power_factor_centi) / 100.0),
            );
            m.insert(format!("{name}_freq"), json!(50.0));
        }
        m.insert("n_current".into(), Value::Null);
        m.insert("total_current".into(), json!(amps(r.total_current())));
        m.insert("total_act_power".into(), json!(f64::from(r.total.0)));
        m.insert(
            "total_aprt_power".into(),
            json!(f64::from(r.total_apparent().0)),
        );
        m.insert("user_calibrated_phase".into(), json!([]));
        Value::Object(m)
    }

    /// The body of Gen2 `EMData.GetStatus?id=0`: energy counters in Wh.
    pub fn emdata_status(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(0));
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let imp = self.imported_wh.get(i).copied().unwrap_or_default();
            let exp = self.exported_wh.get(i).copied().unwrap_or_default();
            m.insert(format!("{name}_total_act_energy"), json!(round2(imp)));
            m.insert(format!("{name}_total_act_ret_energy"), json!(round2(exp)));
        }
        m.insert(
            "total_act".into(),
            json!(round2(self.imported_wh.iter().sum())),
        );
        m.insert(
            "total_act_ret".into(),
            json!(round2(self.exported_wh.iter().sum())),
        );
        Value::Object(m)
    }

    /// The body of Gen2 `Shelly.GetDeviceInfo` (also served on `/shelly`).
    pub fn device_info(&self) -> Value {
        json!({
            "name": null,
            "id": DEVICE_ID,
            "mac": DEVICE_MAC,
            "slot": 0,
            "model": DEVICE_MODEL,
            "gen": 2,
            "fw_id": format!("20250101-000000/{FIRMWARE_VERSION}-voltwire-sim"),
            "ver": FIRMWARE_VERSION,
            "app": "Pro3EM",
            "auth_en": false,
            "auth_domain": null,
            "profile": "triphase",
        })
    }

    /// The body of Gen2 `Shelly.GetStatus`: every component's status, keyed `em:0`, …
    /// `uptime` is the time since the simulator started, `unixtime` the wall clock.
    pub fn shelly_status(
        &self,
        r: &MeterReading,
        uptime: Duration,
        unixtime: u64,
        mqtt_connected: bool,
    ) -> Value {
        json!({
            "ble": {},
            "cloud": {"connected": false},
            "em:0": self.em_status(r),
            "emdata:0": self.emdata_status(),
            "eth": {"ip": null},
            "modbus": {},
            "mqtt": {"connected": mqtt_connected},
            "sys": {
                "mac": DEVICE_MAC,
                "restart_required": false,
                "time": null,
                "unixtime": unixtime,
                "uptime": uptime.as_secs(),
                "ram_size": 240_000,
                "ram_free": 120_000,
                "fs_size": 524_288,
                "fs_free": 200_000,
                "cfg_rev": 1,
                "available_updates": {},
            },
            "temperature:0": {"id": 0, "tC": 40.0, "tF": 104.0},
            "wifi": {"sta_ip": null, "status": "disconnected", "ssid": null, "rssi": 0},
            "ws": {"connected": false},
        })
    }

    /// One Gen1 `emeters[]` entry (also the body of Gen1 `/emeter/<i>`), phase `i` 0..=2.
    pub fn gen1_emeter(&self, r: &MeterReading, i: usize) -> Option<Value> {
        let p = r.phases.get(i)?;
        Some(json!({
            "power": f64::from(p.power.0),
            "pf": f64::from(p.power_factor_centi) / 100.0,
            "current": amps(p.current),
            "voltage": volts(p.voltage),
            "is_valid": true,
            "total": round2(self.imported_wh.get(i).copied().unwrap_or_default()),
            "total_returned": round2(self.exported_wh.get(i).copied().unwrap_or_default()),
        }))
    }

    /// The body of Gen1 `/status` of a Shelly 3EM.
    pub fn gen1_status(&self, r: &MeterReading, uptime: Duration, unixtime: u64) -> Value {
        let emeters: Vec<Value> = (0..3).filter_map(|i| self.gen1_emeter(r, i)).collect();
        json!({
            "wifi_sta": {"connected": false, "ssid": null, "ip": null, "rssi": 0},
            "cloud": {"enabled": false, "connected": false},
            "mqtt": {"connected": false},
            "time": "",
            "unixtime": unixtime,
            "serial": 1,
            "has_update": false,
            "mac": DEVICE_MAC,
            "relays": [{"ison": false, "has_timer": false, "timer_started": 0,
                        "timer_duration": 0, "timer_remaining": 0, "overpower": false,
                        "is_valid": true, "source": "input"}],
            "emeters": emeters,
            "total_power": f64::from(r.total.0),
            "emeter_n": {"current": 0.0, "ixsum": amps(r.total_current()),
                          "mismatch": false, "is_valid": false},
            "fs_mounted": true,
            "update": {"status": "idle", "has_update": false,
                       "new_version": "", "old_version": ""},
            "ram_total": 49_280,
            "ram_free": 30_000,
            "fs_size": 233_681,
            "fs_free": 156_875,
            "uptime": uptime.as_secs(),
        })
    }

    /// The simple MQTT state `{"power_w", "phase_power_w", "load_w"}` (voltwire's own
    /// convention: SI unit suffixes, > 0 import).
    pub fn simple_state(&self, r: &MeterReading) -> Value {
        let phases: Vec<i32> = r.phases.iter().map(|p| p.power.0).collect();
        json!({
            "power_w": r.total.0,
            "phase_power_w": phases,
            "load_w": r.load.0,
        })
    }

    /// A Gen2 `NotifyStatus` frame for `em:0` as published on `<prefix>/events/rpc`, at
    /// wall-clock time `ts` (Unix seconds).
    pub fn notify_status(&self, r: &MeterReading, prefix: &str, ts: f64) -> Value {
        json!({
            "src": DEVICE_ID,
            "dst": format!("{prefix}/events"),
            "method": "NotifyStatus",
            "params": {"ts": (ts * 100.0).round() / 100.0, "em:0": self.em_status(r)},
        })
    }

    /// What a broken device sends instead of `body` under the `garbage` fault: the first
    /// half of it (a cut-off reply, never valid JSON) followed by bytes of noise.
    pub fn garbage_body(&mut self, body: &[u8]) -> Vec<u8> {
        let half = body.len() / 2;
        let mut out = body.get(..half).unwrap_or_default().to_vec();
        out.push(b'\x01');
        self.garbage.fill(half.max(8), &mut out);
        out
    }
}

fn amps(a: Milliamps) -> f64 {
    f64::from(a.0) / 1000.0
}

fn volts(v: Millivolts) -> f64 {
    f64::from(v.0) / 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::many_single_char_names,
    reason = "test code"
)]
mod tests {
    use super::*;
    use crate::Flows;

    fn plant(load: i32, pv: i32, dis: i32, chg: i32) -> Plant {
        let mut p = Plant::new(vec![]);
        p.flows = Flows {
            charge: Watts(chg),
            discharge: Watts(dis),
            pv: Watts(pv),
            mppt_pv: Watts(0),
            load: Watts(load),
        };
        p
    }

    #[test]
    fn phases_sum_to_the_plant_grid() {
        for (load, pv, dis, chg) in [
            (800, 0, 0, 0),
            (801, 1_001, 0, 0),
            (333, 5_000, 200, 0),
            (1_234, 567, 89, 1_500),
            (0, 0, 0, 0),
        ] {
            let mut p = plant(load, pv, dis, chg);
            let mut m = PowerMeter::new(Watts(load), LoadProfile::Constant);
            m.update(Duration::ZERO, &mut p);
            let r = m.reading(&p);
            let sum: i32 = r.phases.iter().map(|ph| ph.power.0).sum();
            assert_eq!(sum, r.total.0);
            assert_eq!(r.total, p.grid());
            assert_eq!(r.total.0, load - pv - dis + chg);
        }
    }

    #[test]
    fn phase_values_are_consistent() {
        let mut p = plant(2_000, 0, 0, 0);
        let mut m = PowerMeter::new(Watts(2_000), LoadProfile::Constant);
        m.update(Duration::ZERO, &mut p);
        let r = m.reading(&p);
        let a = r.phases[0];
        assert_eq!(a.power, Watts(900));
        // 0.9 kW import: 0.9 V below nominal, on a 0.1 V grid.
        assert_eq!(a.voltage, Millivolts(229_300));
        assert_eq!(a.power_factor_centi, 97);
        // I = P / (V · pf) = 900 / (229.3 · 0.97) ≈ 4.046 A.
        assert!((a.current.0 - 4_046).abs() <= 1, "{a:?}");
        assert_eq!(a.apparent, VoltAmperes(928));
        // Export on a: PV 3 kW, no load.
        let mut p = plant(0, 3_000, 0, 0);
        m.set_base_load(Watts(0));
        m.update(Duration::ZERO, &mut p);
        let r = m.reading(&p);
        assert!(r.phases.iter().all(|ph| ph.power.0 < 0));
        assert!(r.phases.iter().all(|ph| ph.power_factor_centi == -97));
        assert!(r.phases.iter().all(|ph| ph.current.0 > 0));
        assert_eq!(r.phases[0].voltage, Millivolts(231_200));
    }

    #[test]
    fn em_status_has_the_pro3em_fields() {
        let mut p = plant(1_000, 400, 0, 0);
        let mut m = PowerMeter::new(Watts(1_000), LoadProfile::Constant);
        m.update(Duration::ZERO, &mut p);
        let r = m.reading(&p);
        let v = m.em_status(&r);
        assert_eq!(v["id"], 0);
        assert_eq!(v["total_act_power"], 600.0);
        let sum = v["a_act_power"].as_f64().unwrap()
            + v["b_act_power"].as_f64().unwrap()
            + v["c_act_power"].as_f64().unwrap();
        assert!((sum - 600.0).abs() < 1e-9);
        for k in [
            "a_current",
            "b_voltage",
            "c_aprt_power",
            "a_pf",
            "b_freq",
            "total_current",
            "total_aprt_power",
            "n_current",
            "user_calibrated_phase",
        ] {
            assert!(v.get(k).is_some(), "{k} missing in {v}");
        }
        let g1 = m.gen1_status(&r, Duration::from_secs(5), 1_700_000_000);
        assert_eq!(g1["total_power"], 600.0);
        assert_eq!(g1["emeters"].as_array().unwrap().len(), 3);
        assert_eq!(g1["emeters"][1]["power"], v["b_act_power"]);
        assert_eq!(g1["uptime"], 5);
        let s = m.shelly_status(&r, Duration::from_secs(5), 1_700_000_000, true);
        assert_eq!(s["em:0"], v);
        assert_eq!(s["mqtt"]["connected"], true);
        assert_eq!(m.device_info()["gen"], 2);
        assert_eq!(m.simple_state(&r)["power_w"], 600);
    }

    #[test]
    fn energy_counts_import_and_export() {
        let mut p = plant(1_000, 0, 0, 0);
        let mut m = PowerMeter::new(Watts(1_000), LoadProfile::Constant);
        m.update(Duration::ZERO, &mut p);
        m.update(Duration::from_secs(3_600), &mut p);
        let imp: f64 = m.imported_wh().iter().sum();
        assert!((imp - 1_000.0).abs() < 1e-6, "{imp}");
        p.flows.pv = Watts(3_000);
        m.update(Duration::from_secs(3_600), &mut p);
        m.update(Duration::from_secs(5_400), &mut p);
        let exp: f64 = m.exported_wh().iter().sum();
        assert!((exp - 1_000.0).abs() < 1e-6, "{exp}");
        assert_eq!(m.emdata_status()["total_act_ret"], 1_000.0);
    }

    #[test]
    fn profiles_vary_the_load() {
        let base = Watts(1_000);
        let at = |p: LoadProfile, s: u64| p.load(base, Duration::from_secs(s)).0;
        assert_eq!(at(LoadProfile::Constant, 123), 1_000);
        assert_eq!(
            [0, 10, 20, 30, 40].map(|s| at(LoadProfile::Step, s)),
            [1_000, 1_500, 500, 1_250, 1_000]
        );
        assert_eq!(at(LoadProfile::Sine, 15), 1_300);
        assert_eq!(at(LoadProfile::Sine, 45), 700);
        assert_eq!(
            [0, 15, 30, 45, 60].map(|s| at(LoadProfile::Ramp, s)),
            [500, 1_000, 1_500, 1_000, 500]
        );
        for name in LoadProfile::NAMES {
            assert_eq!(LoadProfile::parse(name).unwrap().name(), name);
        }
        assert_eq!(LoadProfile::parse("square"), None);
        let mut p = plant(0, 0, 0, 0);
        let mut m = PowerMeter::new(base, LoadProfile::Step);
        m.update(Duration::from_secs(12), &mut p);
        assert_eq!(p.flows.load, Watts(1_500));
    }

    #[test]
    fn garbage_is_not_json() {
        let mut m = PowerMeter::new(Watts(0), LoadProfile::Constant);
        let body = br#"{"total_act_power":12.0}"#;
        let g = m.garbage_body(body);
        assert!(serde_json::from_slice::<Value>(&g).is_err());
        assert!(g.starts_with(b"{\"total_act_"));
    }
}
