//! The control loop: on its own clock (not on meter messages), read the latest inputs, step
//! the controller, hand each device its set point. Every device is told "off" before the
//! first decision and again on stop.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use voltwire_zero_feed_in_rules::{
    BatteryReading, Commands, Controller, Decision, DeviceCommand, DeviceStatus, MAX_DEVICES,
    MeterReading, Millis,
};

/// The app's monotonic clock in [`Millis`], optionally faster than real time (the demo).
/// Built on `tokio::time::Instant`, so tests with a paused clock run it.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    speed: u32,
}

impl Clock {
    /// A clock starting now at 0 ms, running `speed` times faster than real time (≥ 1).
    pub fn start(speed: u32) -> Self {
        Self {
            origin: Instant::now(),
            speed: speed.max(1),
        }
    }

    /// Milliseconds of app time since the start.
    pub fn now(&self) -> Millis {
        let real = self.origin.elapsed().as_millis();
        Millis(u64::try_from(real.saturating_mul(u128::from(self.speed))).unwrap_or(u64::MAX))
    }

    /// The real duration of `ms` of app time.
    pub fn real(&self, ms: u64) -> Duration {
        Duration::from_millis(ms / u64::from(self.speed)).max(Duration::from_millis(1))
    }
}

/// Where the loop reads its inputs: each source task keeps its `watch` up to date.
#[derive(Debug)]
pub struct Sources {
    /// The latest meter reading.
    pub meter: watch::Receiver<Option<MeterReading>>,
    /// The latest battery reading.
    pub battery: watch::Receiver<Option<BatteryReading>>,
    /// Each device's status, in configuration order.
    pub devices: Vec<watch::Receiver<DeviceStatus>>,
    /// The validated user commands.
    pub commands: watch::Receiver<Commands>,
}

/// Runs the loop every `tick_ms` of app time, and at once on every new meter reading (so a
/// set point follows the meter without waiting for the tick; the watchdog still runs on the
/// tick), until `stop` resolves; `observe` sees each decision (status line, MQTT state, web
/// page). Before the first decision and on stop every device is set to off.
pub async fn run(
    mut controller: Controller,
    clock: Clock,
    tick_ms: u64,
    mut sources: Sources,
    outputs: &[watch::Sender<DeviceCommand>],
    stop: impl Future<Output = ()>,
    mut observe: impl FnMut(Millis, &Decision),
) {
    for out in outputs {
        out.send_replace(DeviceCommand::OFF);
    }
    let mut tick = tokio::time::interval(clock.real(tick_ms));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(stop);
    let mut meter_open = true;
    // The meter reading of the last step.
    let mut stepped_at = None;
    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            _ = tick.tick() => {}
            r = sources.meter.changed(), if meter_open => {
                // A closed meter channel: only the tick (the watchdog then sees it stale).
                meter_open = r.is_ok();
                // The same reading again is no news: wait for the tick.
                let at = sources.meter.borrow().map(|m| m.at);
                if at == stepped_at {
                    continue;
                }
            }
        }
        let now = clock.now();
        let mut input = voltwire_zero_feed_in_rules::Inputs {
            meter: *sources.meter.borrow_and_update(),
            battery: *sources.battery.borrow(),
            commands: *sources.commands.borrow(),
            ..Default::default()
        };
        for (slot, rx) in input
            .devices
            .iter_mut()
            .zip(&sources.devices)
            .take(MAX_DEVICES)
        {
            *slot = *rx.borrow();
        }
        stepped_at = input.meter.map(|m| m.at);
        let decision = controller.step(now, &input);
        for (out, cmd) in outputs.iter().zip(&decision.commands) {
            out.send_if_modified(|old| {
                let changed = old != cmd;
                *old = *cmd;
                changed
            });
        }
        observe(now, &decision);
    }
    for out in outputs {
        out.send_replace(DeviceCommand::OFF);
    }
}
