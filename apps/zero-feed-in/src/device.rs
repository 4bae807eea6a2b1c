//! Device tasks: each applies the set points of its `watch` and reports its status.
//! When the loop drops the sender (stop), the task sets its device off before it ends.

use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::sync::watch;
use voltwire_core::Watts;
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_soyosource::Demand;
use voltwire_zero_feed_in_rules::{DeviceCommand, DeviceStatus};

use crate::engine::Clock;

/// Drives a Soyosource GTN on `url` (RS485 at 4800 Bd, or a TCP bridge): the demand frame of
/// the current set point is resent every second (the unit stops without it); a lost port
/// is reopened with backoff and the device reported lost meanwhile. On stop a 0 W frame is
/// sent. The unit does not answer, so "delivered" is the last demand written.
pub async fn soyosource(
    url: LinkUrl,
    clock: Clock,
    mut commands: watch::Receiver<DeviceCommand>,
    status: watch::Sender<DeviceStatus>,
) {
    let mut link = Reconnect::new(url, Backoff::default());
    let mut resend = tokio::time::interval(Duration::from_secs(1));
    'connect: loop {
        let Ok(mut port) = link.connect(None).await else {
            continue;
        };
        loop {
            let cmd = *commands.borrow_and_update();
            // Discharge power is negative in the battery convention; the unit takes magnitudes.
            let power = Watts((-cmd.power.0).clamp(0, i32::from(u16::MAX)));
            let frame = Demand { power }.to_bytes().unwrap_or([0; 8]);
            if port.write_all(&frame).await.is_err() {
                tracing::warn!(link = %link.label(), "soyosource: write failed; reopening");
                continue 'connect;
            }
            report(&status, &clock, Watts(-power.0));
            tokio::select! {
                _ = resend.tick() => {}
                r = commands.changed() => {
                    if r.is_err() {
                        let off = Demand { power: Watts(0) }.to_bytes().unwrap_or([0; 8]);
                        let _ = port.write_all(&off).await;
                        let _ = port.flush().await;
                        return;
                    }
                }
            }
        }
    }
}

/// Publishes what a device delivers now (`delivered` in the battery convention: discharge
/// < 0), stamped with the app's clock: the one shape of every device task's status report.
pub(crate) fn report(status: &watch::Sender<DeviceStatus>, clock: &Clock, delivered: Watts) {
    status.send_replace(DeviceStatus {
        last_seen: Some(clock.now()),
        delivered: Some(delivered),
    });
}
