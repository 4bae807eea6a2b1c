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
use voltwire_core::Millivolts;
use voltwire_meanwell::{Body, Command, Family, Message, Model, SystemConfig, Target, Value};
use voltwire_runtime::can::{BusUrl, VirtualBuses};
use voltwire_zero_feed_in_rules::WriteBudgetConfig;

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

/// What the simulated unit was told.
#[derive(Debug, Default)]
struct UnitRegs {
    operation: bool,
    discharge: bool,
    iout: Milliamps,
    reverse_iout: Milliamps,
    system_config: u16,
}

fn lock_regs(u: &Mutex<UnitRegs>) -> std::sync::MutexGuard<'_, UnitRegs> {
    u.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The unit's output power at the pack voltage `v` (battery convention).
fn unit_power(u: &UnitRegs, v: Millivolts) -> Watts {
    if !u.operation {
        return Watts(0);
    }
    let (sign, i) = if u.discharge {
        (-1, u.reverse_iout)
    } else {
        (1, u.iout)
    };
    let w = i64::from(i.0) * i64::from(v.0) / 1_000_000;
    Watts(sign * i32::try_from(w).unwrap_or(0))
}

/// A simulated BIC-2200-48 (id 0): stores what is written, answers reads from the plant.
async fn simulated_bic(
    mut node: voltwire_runtime::can::VirtualNode,
    plant: Arc<Mutex<Plant>>,
    unit: Arc<Mutex<UnitRegs>>,
) {
    use voltwire_runtime::can::CanBus as _;
    while let Ok(f) = node.recv().await {
        let Ok(m) = Message::from_frame(&f) else {
            continue;
        };
        let reply = match m.body {
            Body::Write(v) => {
                let mut u = lock_regs(&unit);
                match v {
                    Value::Operation(o) => u.operation = o == 1,
                    Value::Direction(d) => u.discharge = d == 1,
                    Value::IoutSet(i) => u.iout = i,
                    Value::ReverseIoutSet(i) => u.reverse_iout = i,
                    Value::SystemConfig(c) => u.system_config = c.0,
                    _ => {}
                }
                None
            }
            Body::Read(c) => {
                let p = lock(&plant);
                let v = p.voltage();
                match c {
                    Command::READ_VOUT => Some(Value::Vout(Millivolts(v.0 / 10 * 10))),
                    Command::READ_IOUT => {
                        let ma = if v.0 > 0 {
                            i64::from(p.delivered[0].0) * 1_000_000 / i64::from(v.0)
                        } else {
                            0
                        };
                        Some(Value::Iout(Milliamps(
                            i32::try_from(ma / 10 * 10).unwrap_or(0),
                        )))
                    }
                    Command::SYSTEM_CONFIG => Some(Value::SystemConfig(SystemConfig(
                        lock_regs(&unit).system_config,
                    ))),
                    _ => None,
                }
            }
            Body::Reply(_) => None,
        };
        if let Some(v) = reply {
            let r = Message {
                family: Family::Bic2200,
                target: Target::Device(0),
                body: Body::Reply(v),
            };
            if let Ok(frame) = r.to_frame::<voltwire_runtime::can::CanFrame>() {
                let _ = node.send(&frame).await;
            }
        }
    }
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
    let (cmd_tx, cmd_rx) = watch::channel(DeviceCommand::OFF);

    // The BIC-2200 is driven through the app's real CAN device task, on an in-process bus,
    // answered by a simulated unit whose output is the plant's device 0.
    let virtuals = VirtualBuses::default();
    let unit = Arc::new(Mutex::new(UnitRegs::default()));
    let unit_view = Arc::clone(&unit);
    let responder = simulated_bic(
        virtuals.get("demo-bic").node(),
        Arc::clone(&plant),
        Arc::clone(&unit),
    );
    let device = crate::meanwell::run(
        crate::meanwell::Bic {
            model: Model::Bic2200_48,
            id: 0,
            bus: BusUrl::Virtual("demo-bic".into()),
            backstop_vout: Millivolts(16 * 3550),
            backstop_reverse_vout: Millivolts(16 * 2900),
            budget: WriteBudgetConfig::default(),
            state_file: None,
        },
        virtuals,
        clock,
        cmd_rx,
        crate::meanwell::Reports {
            status: status_tx,
            voltage: None,
        },
    );

    // The plant, the meter (1 s) and the BMS (1 s).
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
                let power = unit_power(
                    &unit
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                    p.voltage(),
                );
                p.setpoint[0] = power;
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
    let device = tokio::spawn(device);
    let responder = tokio::spawn(responder);
    tokio::select! {
        () = engine::run(controller, clock, 1000, sources, &outputs, stop, observe) => {}
        () = sim => {}
    }
    for out in &outputs {
        out.send_replace(DeviceCommand::OFF);
    }
    drop(outputs);
    // The device task writes OPERATION off to the unit before it ends.
    let _ = tokio::time::timeout(Duration::from_secs(3), device).await;
    let unit_on = lock_regs(&unit_view).operation;
    responder.abort();
    println!(
        "stopped: BIC-2200 output {}",
        if unit_on {
            "ON (not switched off!)"
        } else {
            "off"
        }
    );
}
