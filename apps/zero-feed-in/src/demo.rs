//! `zero-feed-in --demo`: an in-process house (load steps, a PV curve with clouds), a
//! simulated meter, a simulated BIC-2200-48 and a simulated BMS on one plant model, at ×10
//! real time, through the same control loop as a real installation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use voltwire_core::{DeciCelsius, Milliamps, Permille, Watts};
use voltwire_zero_feed_in_rules::sim::Plant;
use voltwire_zero_feed_in_rules::{
    BatteryConfig, BatteryReading, Commands, Config, Controller, CurrentRange, Decision,
    DeviceCommand, DeviceConfig, DeviceStatus, MeterReading, Millis, Role,
};

use crate::engine::{self, Clock, Sources};

/// Demo time runs this many times faster than real time.
pub const SPEED: u32 = 10;
/// The demo day starts at this hour (PV is up).
const START_HOUR: u64 = 9;

/// House load in W at `s` seconds after midnight: base, fridge cycle, steps.
pub fn load_at(s: u64) -> i32 {
    let m = s / 60;
    let mut w = 220;
    if m % 30 < 10 {
        w += 120;
    }
    // Every 7 minutes a 2-minute 1.5 kW step (kettle, oven, ...), every 11 a 500 W one.
    if m % 7 < 2 {
        w += 1500;
    }
    if m % 11 < 3 {
        w += 500;
    }
    w
}

/// PV in W at `s` seconds after midnight: 3 kW peak at 13:00, from 6:00 to 20:00, a cloud
/// (40 %) for one minute in five.
pub fn pv_at(s: u64) -> i32 {
    #[allow(clippy::cast_precision_loss, reason = "seconds of a day")]
    let h = s as f64 / 3600.0;
    if !(6.0..20.0).contains(&h) {
        return 0;
    }
    let x = (h - 6.0) / 14.0 * std::f64::consts::PI;
    let cloud = if (s / 60) % 5 == 2 { 0.4 } else { 1.0 };
    #[allow(clippy::cast_possible_truncation, reason = "0..=3000")]
    let w = (3000.0 * x.sin().powi(2) * cloud) as i32;
    w
}

/// The simulated BIC-2200-48.
pub fn bic() -> DeviceConfig {
    DeviceConfig {
        role: Role::Bidirectional,
        min_charge: Watts(0),
        max_charge: Watts(2200),
        min_discharge: Watts(0),
        max_discharge: Watts(2200),
        current: Some(CurrentRange {
            min: Milliamps(450),
            max: Milliamps(38_300),
        }),
    }
}

/// The plant, even if a holder panicked (its numbers are still the simulation's).
fn lock(p: &Mutex<Plant>) -> std::sync::MutexGuard<'_, Plant> {
    p.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One status line: time of day, grid, set point, SOC, mode, latches.
pub fn status_line(clock_s: u64, grid: Watts, d: &Decision, soc: Permille) -> String {
    let latches: Vec<_> = d.latches.names().collect();
    format!(
        "{:02}:{:02}:{:02} grid {:+6} W  set point {:+6} W  soc {:5.1} %  mode {:<12} latches {}",
        clock_s / 3600 % 24,
        clock_s / 60 % 60,
        clock_s % 60,
        grid.0,
        d.total().0,
        f64::from(soc.0) / 10.0,
        d.mode.name(),
        if latches.is_empty() {
            "-".to_owned()
        } else {
            latches.join(",")
        }
    )
}

/// Runs the demo until `stop` or `duration` (real time); prints one line per real second.
#[allow(clippy::too_many_lines, reason = "the demo's wiring in one place")]
pub async fn run(duration: Option<Duration>, stop: impl std::future::Future<Output = ()>) {
    let clock = Clock::start(SPEED);
    let plant = Arc::new(Mutex::new(Plant::new(16, 10_000, Permille(500))));
    let day_s = move |now: Millis| START_HOUR * 3600 + now.0 / 1000;

    let (meter_tx, meter) = watch::channel(None);
    let (battery_tx, battery) = watch::channel(None);
    let (status_tx, status) = watch::channel(DeviceStatus::default());
    let (_commands_tx, commands) = watch::channel(Commands::default());
    let (cmd_tx, mut cmd_rx) = watch::channel(DeviceCommand::OFF);

    // The plant, the meter (1 s), the BMS (1 s) and the BIC (applies set points, reports).
    let sim = {
        let plant = Arc::clone(&plant);
        async move {
            let mut every = tokio::time::interval(clock.real(100));
            let mut n = 0u64;
            loop {
                every.tick().await;
                let now = clock.now();
                let mut p = lock(&plant);
                let s = day_s(now);
                p.load = Watts(load_at(s));
                p.pv = Watts(pv_at(s));
                if cmd_rx.has_changed().unwrap_or(false) {
                    p.setpoint[0] = cmd_rx.borrow_and_update().power;
                }
                p.advance(100);
                if n % 10 == 0 {
                    meter_tx.send_replace(Some(MeterReading {
                        at: now,
                        grid: p.grid(),
                    }));
                    let mut b = BatteryReading::voltage_only(now, p.voltage());
                    b.current = Some(p.current());
                    b.soc = Some(p.soc());
                    b.temperature_min = Some(DeciCelsius(210));
                    b.temperature_max = Some(DeciCelsius(240));
                    battery_tx.send_replace(Some(b));
                    status_tx.send_replace(DeviceStatus {
                        last_seen: Some(now),
                        delivered: Some(p.delivered[0]),
                    });
                }
                n += 1;
            }
        }
    };

    let controller = match Controller::new(Config::new(BatteryConfig::lfp(16)), &[bic()]) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(?e, "demo configuration refused");
            return;
        }
    };
    let sources = Sources {
        meter,
        battery,
        devices: vec![status],
        commands,
    };
    let outputs = [cmd_tx];
    let stop = async {
        match duration {
            Some(d) => {
                tokio::select! {
                    () = stop => {}
                    () = tokio::time::sleep(d) => {}
                }
            }
            None => stop.await,
        }
    };
    let mut last_line = None;
    let observe = |now: Millis, d: &Decision| {
        let second = now.0 / (1000 * u64::from(SPEED));
        if last_line != Some(second) {
            last_line = Some(second);
            let p = lock(&plant);
            println!("{}", status_line(day_s(now), p.grid(), d, p.soc()));
        }
    };
    tokio::select! {
        () = engine::run(controller, clock, 1000, sources, &outputs, stop, observe) => {}
        () = sim => {}
    }
    let off = outputs.iter().all(|o| *o.borrow() == DeviceCommand::OFF);
    println!("stopped: every device set to off: {off}");
}
