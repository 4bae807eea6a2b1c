//! The Eco-Worthy coulomb meter over Modbus RTU (`voltwire_modbus::coulomb_meter`): the live
//! values every poll, the settings every 10 polls, and the capacity the engine wants written
//! when the meter holds another (the rebalance raises and restores it).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_modbus::client::{Context, Reader as _, Writer as _};
use tokio_modbus::slave::Slave;
use voltwire_core::MilliampHours;
use voltwire_ess::pace2pylon::MeterInput;
use voltwire_modbus::coulomb_meter::{
    REG_CAPACITY, SETTINGS_LEN, SETTINGS_START, STATUS_LEN, STATUS_START, Settings, Status,
};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};

use crate::engine::{Clock, Shared};

/// Where and how often.
#[derive(Debug, Clone)]
pub struct MeterLink {
    /// Link.
    pub url: LinkUrl,
    /// Modbus address.
    pub address: u8,
    /// Poll period.
    pub interval: Duration,
    /// Reply timeout.
    pub timeout: Duration,
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "STATUS_LEN and SETTINGS_LEN are 12 and 10"
)]
const STATUS_COUNT: u16 = STATUS_LEN as u16;
#[allow(
    clippy::cast_possible_truncation,
    reason = "STATUS_LEN and SETTINGS_LEN are 12 and 10"
)]
const SETTINGS_COUNT: u16 = SETTINGS_LEN as u16;

/// Why an exchange failed: the link (reconnect) or the device (try again next poll).
enum Failure {
    Link(String),
    Device(String),
}

async fn read(
    ctx: &mut Context,
    timeout: Duration,
    input: bool,
    start: u16,
    count: u16,
) -> Result<Vec<u16>, Failure> {
    let fut = async {
        if input {
            ctx.read_input_registers(start, count).await
        } else {
            ctx.read_holding_registers(start, count).await
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(Failure::Device("timeout".into())),
        Ok(Err(e)) => Err(Failure::Link(e.to_string())),
        Ok(Ok(Err(code))) => Err(Failure::Device(format!("exception {code:?}"))),
        Ok(Ok(Ok(regs))) => Ok(regs),
    }
}

/// Poll the meter forever (reconnecting with backoff when the link fails).
pub async fn run(m: MeterLink, shared: Arc<Mutex<Shared>>, clock: Clock) {
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 77);
    let mut reconnect = Reconnect::new(m.url.clone(), backoff);
    loop {
        let Ok(link) = reconnect.connect(None).await else {
            continue;
        };
        tracing::info!(url = %m.url, "meter link open");
        let mut ctx = tokio_modbus::client::rtu::attach_slave(link, Slave(m.address));
        let mut tick = tokio::time::interval(m.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut capacity: Option<MilliampHours> = None;
        let mut n: u32 = 0;
        let err = loop {
            tick.tick().await;
            match Box::pin(poll(&m, &mut ctx, &shared, &clock, &mut capacity, n)).await {
                Ok(()) => {}
                Err(Failure::Device(e)) => tracing::debug!(error = %e, "meter did not answer"),
                Err(Failure::Link(e)) => break e,
            }
            n = n.wrapping_add(1);
        };
        tracing::warn!(url = %m.url, error = %err, "meter link lost, reconnecting");
    }
}

async fn poll(
    m: &MeterLink,
    ctx: &mut Context,
    shared: &Arc<Mutex<Shared>>,
    clock: &Clock,
    capacity: &mut Option<MilliampHours>,
    n: u32,
) -> Result<(), Failure> {
    if capacity.is_none() || n % 10 == 0 {
        let regs = read(ctx, m.timeout, false, SETTINGS_START, SETTINGS_COUNT).await?;
        let s = Settings::from_registers(&regs).map_err(|e| Failure::Device(e.to_string()))?;
        *capacity = Some(s.capacity);
    }
    let wanted = shared.lock().ok().and_then(|s| s.meter_capacity_wanted);
    if let (Some(want), Some(have)) = (wanted, *capacity) {
        if want != have {
            let words =
                Settings::capacity_registers(want).map_err(|e| Failure::Device(e.to_string()))?;
            match tokio::time::timeout(
                m.timeout,
                ctx.write_multiple_registers(REG_CAPACITY, &words),
            )
            .await
            {
                Err(_) => return Err(Failure::Device("timeout writing the capacity".into())),
                Ok(Err(e)) => return Err(Failure::Link(e.to_string())),
                Ok(Ok(Err(code))) => {
                    return Err(Failure::Device(format!("capacity write refused: {code:?}")));
                }
                Ok(Ok(Ok(()))) => {
                    tracing::info!(capacity_mah = want.0, "meter capacity written");
                    *capacity = None;
                }
            }
        }
    }
    let regs = read(ctx, m.timeout, true, STATUS_START, STATUS_COUNT).await?;
    let s = Status::from_registers(&regs).map_err(|e| Failure::Device(e.to_string()))?;
    if let (Some(cap), Ok(mut sh)) = (*capacity, shared.lock()) {
        sh.meter = Some(MeterInput {
            soc: s.soc,
            remaining: s.remaining,
            capacity: cap,
            at: clock.now(),
        });
    }
    Ok(())
}
