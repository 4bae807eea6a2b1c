//! The control loop on tokio's paused clock: its watchdog runs on its own ticks, so a meter
//! that stays connected but silent, a lost BMS and a stop are all acted on.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::panic,
    clippy::used_underscore_binding
)]

use std::time::Duration;

use tokio::sync::{oneshot, watch};
use voltwire_core::{Millivolts, Watts};
use voltwire_zero_feed_in_rules::{
    BatteryConfig, BatteryReading, Commands, Config, Controller, Decision, DeviceCommand,
    DeviceConfig, DeviceStatus, MeterReading, Millis, Mode, Role,
};
use zero_feed_in::engine::{self, Clock, Sources};

fn discharger() -> DeviceConfig {
    DeviceConfig {
        role: Role::Discharger,
        min_charge: Watts(0),
        max_charge: Watts(0),
        min_discharge: Watts(0),
        max_discharge: Watts(900),
        current: None,
        trim: None,
    }
}

struct Rig {
    meter: watch::Sender<Option<MeterReading>>,
    battery: watch::Sender<Option<BatteryReading>>,
    status: watch::Sender<DeviceStatus>,
    stop: Option<oneshot::Sender<()>>,
    /// Every decision with its time.
    log: tokio::sync::mpsc::UnboundedReceiver<(Millis, Decision)>,
    out: watch::Receiver<DeviceCommand>,
    clock: Clock,
    task: tokio::task::JoinHandle<()>,
}

fn start() -> Rig {
    let clock = Clock::start(1);
    let (meter, meter_rx) = watch::channel(None);
    let (battery, battery_rx) = watch::channel(None);
    let (status, status_rx) = watch::channel(DeviceStatus::default());
    let (_commands, commands) = watch::channel(Commands::default());
    let (out_tx, out) = watch::channel(DeviceCommand {
        power: Watts(-123),
        current: None,
        voltage: None,
    });
    let (stop, stop_rx) = oneshot::channel();
    let (log_tx, log) = tokio::sync::mpsc::unbounded_channel();
    let controller = Controller::new(Config::new(BatteryConfig::lfp(16)), &[discharger()]).unwrap();
    let sources = Sources {
        meter: meter_rx,
        battery: battery_rx,
        devices: vec![status_rx],
        commands,
    };
    let task = tokio::spawn(async move {
        let _commands = _commands;
        let outputs = [out_tx];
        engine::run(
            controller,
            clock,
            1000,
            sources,
            &outputs,
            async { stop_rx.await.unwrap_or(()) },
            |t, d| {
                log_tx.send((t, *d)).unwrap();
            },
        )
        .await;
    });
    Rig {
        meter,
        battery,
        status,
        stop: Some(stop),
        log,
        out,
        clock,
        task,
    }
}

impl Rig {
    /// Fresh battery and device data, and (with `grid`) a fresh meter reading.
    fn feed(&self, grid: Option<i32>) {
        let now = self.clock.now();
        self.battery
            .send_replace(Some(BatteryReading::voltage_only(now, Millivolts(52_000))));
        let delivered = self.out.borrow().power;
        self.status.send_replace(DeviceStatus {
            last_seen: Some(now),
            delivered: Some(delivered),
        });
        if let Some(g) = grid {
            self.meter.send_replace(Some(MeterReading {
                at: now,
                grid: Watts(g),
            }));
        }
    }

    async fn next(&mut self) -> (Millis, Decision) {
        tokio::time::timeout(Duration::from_secs(60), self.log.recv())
            .await
            .unwrap()
            .unwrap()
    }

    /// Feeds every 1 s (just before each tick) until a decision satisfies `done`.
    async fn until(
        &mut self,
        grid: Option<i32>,
        done: impl Fn(&Decision) -> bool,
    ) -> (Millis, Decision) {
        for _ in 0..100 {
            self.feed(grid);
            let (t, d) = self.next().await;
            if done(&d) {
                return (t, d);
            }
        }
        panic!("not reached in 100 ticks");
    }
}

#[tokio::test(start_paused = true)]
async fn every_device_is_off_before_the_first_decision() {
    let mut r = start();
    // The output held -123 W before the loop started; the loop's first act is off.
    r.out.changed().await.unwrap();
    assert_eq!(*r.out.borrow_and_update(), DeviceCommand::OFF);
    let (_, d) = r.next().await;
    assert_eq!(d.total(), Watts(0));
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_meter_silent_but_connected_is_safe_within_t_plus_1_s() {
    let mut r = start();
    let (_, d) = r
        .until(Some(400), |d| {
            d.mode == Mode::Normal && d.total() == Watts(-400)
        })
        .await;
    assert_eq!(d.commands[0].power, Watts(-400));
    assert_eq!(*r.out.borrow(), d.commands[0]);
    let last = r.meter.borrow().unwrap().at;
    // The meter stays "connected" (its watch keeps the old value); battery and device go on.
    let (t, d) = r.until(None, |d| d.mode != Mode::Normal).await;
    assert_eq!(d.mode, Mode::MeterStale);
    let age = t.since(last);
    assert!(
        age > 10_000 && age <= 11_000,
        "safe {age} ms after the last reading"
    );
    assert_eq!(d.total(), Watts(0));
    assert_eq!(*r.out.borrow(), DeviceCommand::OFF);
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn bms_lost_switches_everything_off() {
    let mut r = start();
    r.until(Some(300), |d| d.total() == Watts(-300)).await;
    let last = r.battery.borrow().unwrap().at;
    // Only the meter and the device keep talking (each new meter reading is also decided on
    // at once, so there are up to two decisions per second).
    let mut safe = None;
    for _ in 0..40 {
        let now = r.clock.now();
        r.meter.send_replace(Some(MeterReading {
            at: now,
            grid: Watts(0),
        }));
        r.status.send_replace(DeviceStatus {
            last_seen: Some(now),
            delivered: Some(r.out.borrow().power),
        });
        let (t, d) = r.next().await;
        if d.mode == Mode::BatteryLost {
            safe = Some((t, d));
            break;
        }
    }
    let (t, d) = safe.unwrap();
    assert!(t.since(last) <= 11_000);
    assert!(d.alarms.battery_lost);
    assert_eq!(*r.out.borrow(), DeviceCommand::OFF);
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_stop_sets_every_device_off() {
    let mut r = start();
    r.until(Some(500), |d| d.total() == Watts(-500)).await;
    assert_eq!(r.out.borrow().power, Watts(-500));
    r.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(60), &mut r.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(*r.out.borrow(), DeviceCommand::OFF);
}
