//! Trucki's RS485 board on a SUN-GTIL2 grid-tie inverter (Modbus RTU on a serial port, or
//! RTU over TCP) as a zero-feed-in discharger.
//!
//! Once a second (app time) the task reads registers 0..=7: the displayed power is what the
//! unit delivers (its "seen"). It writes the set point (register 0, 0.1 W, function 0x10)
//! whenever it differs from what the board holds — register 0 and its mirror, register 6 —
//! so a board that restarted or dropped a write is told again. After every (re)connection
//! and after a read that failed, the first write is 0 W (the state of the unit is unknown).
//! On stop it writes 0 W.

use std::time::Duration;

use tokio::sync::watch;
use tokio_modbus::prelude::*;
use voltwire_core::Watts;
use voltwire_modbus::trucki::{self, SetPower};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_zero_feed_in_rules::{DeviceCommand, DeviceStatus};

use crate::engine::Clock;

/// One Trucki board on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trucki {
    /// The port (`serial://…?baud=9600` or `tcp://` RTU over TCP).
    pub port: LinkUrl,
    /// Its Modbus address.
    pub address: u8,
    /// The largest set point (the inverter's rating, from `max_discharge_w`).
    pub max: Watts,
}

/// One Modbus exchange, with a 1 s timeout; `None` on any failure.
async fn exchange<T>(f: impl std::future::Future<Output = tokio_modbus::Result<T>>) -> Option<T> {
    match tokio::time::timeout(Duration::from_secs(1), f).await {
        Ok(Ok(Ok(v))) => Some(v),
        _ => None,
    }
}

/// Runs the device until its command sender is dropped; then writes 0 W.
pub async fn run(
    unit: Trucki,
    clock: Clock,
    mut commands: watch::Receiver<DeviceCommand>,
    status: watch::Sender<DeviceStatus>,
) {
    let mut link = Reconnect::new(unit.port.clone(), Backoff::default());
    let mut every = tokio::time::interval(clock.real(1000));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let registers = u16::try_from(trucki::REGISTERS).unwrap_or(8);
    loop {
        let port = tokio::select! {
            p = link.connect(None) => p,
            r = commands.changed() => {
                if r.is_err() { return; }
                continue;
            }
        };
        let Ok(port) = port else { continue };
        let mut ctx = tokio_modbus::client::rtu::attach_slave(port, Slave(unit.address));
        // Unknown state: 0 W first.
        let mut zeroed = false;
        let mut failures = 0u32;
        loop {
            // Discharge is negative in the battery convention; the board takes magnitudes.
            let want = (-commands.borrow_and_update().power.0).clamp(0, unit.max.0);
            let read = exchange(ctx.read_holding_registers(trucki::SET_POWER, registers)).await;
            if let Some(Ok(s)) = read.as_deref().map(trucki::Status::from_registers) {
                failures = 0;
                crate::device::report(&status, &clock, Watts(-s.output_power().0));
                let target = if zeroed { want } else { 0 };
                if let Ok(set) = SetPower::new(Watts(target)) {
                    if !s.set_point_accepted(set) || !zeroed {
                        let ok = exchange(
                            ctx.write_multiple_registers(SetPower::REGISTER, &[set.to_register()]),
                        )
                        .await;
                        if ok.is_some() && !zeroed {
                            tracing::info!(address = unit.address, "trucki: set to 0 W");
                            zeroed = true;
                        }
                        // Read the output again after a write (as the Lumentree task does):
                        // the reading above predates it, and a delivered value from before
                        // the write next to a meter that already shows the new output makes
                        // the demand swing between 0 and the set point.
                        if ok.is_some() {
                            let again =
                                exchange(ctx.read_holding_registers(trucki::SET_POWER, registers))
                                    .await;
                            if let Some(Ok(s)) =
                                again.as_deref().map(trucki::Status::from_registers)
                            {
                                crate::device::report(&status, &clock, Watts(-s.output_power().0));
                            }
                        }
                    }
                }
            } else {
                // Not answering (or an answer of the wrong size): 0 W first when it is back;
                // reopen the port after a few failures (a TCP bridge may be gone).
                zeroed = false;
                failures += 1;
                if failures >= 5 {
                    tracing::warn!(link = %link.label(), "trucki: not answering; reopening the port");
                    break;
                }
            }
            tokio::select! {
                _ = every.tick() => {}
                r = commands.changed() => {
                    if r.is_err() {
                        let _ = exchange(ctx.write_multiple_registers(SetPower::REGISTER, &[0])).await;
                        return;
                    }
                }
            }
        }
    }
}
