//! A Lumentree SUN grid-tie inverter over Modbus RTU (a serial port at 9600 Bd, or RTU over
//! TCP) as a zero-feed-in discharger.
//!
//! The unit starts at full power after a mains outage and its set point register is
//! write-only, so the task re-zeroes it whenever it (re)appears: after every (re)connection
//! and after any read that failed, the first write is 0 W. While answering, a unit that
//! delivers clearly more than it was told (it restarted on its own) is told again.

use std::time::Duration;

use tokio::sync::watch;
use tokio_modbus::prelude::*;
use voltwire_core::Watts;
use voltwire_modbus::lumentree::{self, SetOutputPower};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_zero_feed_in_rules::{DeviceCommand, DeviceStatus};

use crate::engine::Clock;

/// One Lumentree on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lumentree {
    /// The port (`serial://…?baud=9600` or `tcp://` RTU over TCP).
    pub port: LinkUrl,
    /// Its Modbus address.
    pub address: u8,
    /// The model (rated power).
    pub model: lumentree::Model,
}

/// More than this above the set point: the unit forgot it (restart) and is told again.
const FORGOT_W: i32 = 50;

/// One Modbus exchange, with a 1 s timeout; `None` on any failure.
async fn exchange<T>(f: impl std::future::Future<Output = tokio_modbus::Result<T>>) -> Option<T> {
    match tokio::time::timeout(Duration::from_secs(1), f).await {
        Ok(Ok(Ok(v))) => Some(v),
        _ => None,
    }
}

/// Runs the device until its command sender is dropped; then writes 0 W.
pub async fn run(
    lt: Lumentree,
    clock: Clock,
    mut commands: watch::Receiver<DeviceCommand>,
    status: watch::Sender<DeviceStatus>,
) {
    let mut link = Reconnect::new(lt.port.clone(), Backoff::default());
    let rated = lt.model.rated_power().0;
    let mut every = tokio::time::interval(clock.real(1000));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let port = tokio::select! {
            p = link.connect(None) => p,
            r = commands.changed() => {
                if r.is_err() { return; }
                continue;
            }
        };
        let Ok(port) = port else { continue };
        let mut ctx = tokio_modbus::client::rtu::attach_slave(port, Slave(lt.address));
        // Unknown state: re-zero first.
        let mut written: Option<i32> = None;
        let mut failures = 0u32;
        loop {
            let want = (-commands.borrow_and_update().power.0).clamp(0, rated);
            if let Some(regs) =
                exchange(ctx.read_holding_registers(lumentree::OUTPUT_POWER, 1)).await
            {
                failures = 0;
                let out = regs.first().map_or(0, |r| i32::from(*r / 10));
                crate::device::report(&status, &clock, Watts(-out));
                let target = if written.is_none() { 0 } else { want };
                let forgot = written.is_some_and(|w| out > w + FORGOT_W);
                if written != Some(target) || forgot {
                    if let Ok(sp) = SetOutputPower::new(Watts(target)) {
                        let ok = exchange(ctx.write_multiple_registers(
                            SetOutputPower::REGISTER,
                            &[sp.to_register()],
                        ))
                        .await;
                        written = ok.map(|()| target);
                        if target == 0 && ok.is_some() {
                            tracing::info!(address = lt.address, "lumentree: set to 0 W");
                        }
                        // Read the output again after a write: the reading above predates
                        // it, and a meter that already shows the new output next to a
                        // delivered value from before the write makes the demand swing
                        // between 0 and the set point at every meter reading.
                        if ok.is_some() {
                            if let Some(regs) =
                                exchange(ctx.read_holding_registers(lumentree::OUTPUT_POWER, 1))
                                    .await
                            {
                                let out = regs.first().map_or(0, |r| i32::from(*r / 10));
                                crate::device::report(&status, &clock, Watts(-out));
                            }
                        }
                    }
                }
            } else {
                // Not answering: re-zero when it answers again; reopen the port after a
                // few failures (a TCP bridge may be gone).
                written = None;
                failures += 1;
                if failures >= 5 {
                    tracing::warn!(link = %link.label(), "lumentree: not answering; reopening the port");
                    break;
                }
            }
            tokio::select! {
                _ = every.tick() => {}
                r = commands.changed() => {
                    if r.is_err() {
                        let _ = exchange(ctx.write_multiple_registers(SetOutputPower::REGISTER, &[0])).await;
                        return;
                    }
                }
            }
        }
    }
}
