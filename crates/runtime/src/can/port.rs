//! The task that runs one bus for an app: frames received go to the app as
//! [`Received`], bursts to send come from the app over a channel and are reported back
//! once written (or not) as [`PortEvent`]s. A lost SLCAN adapter, console server or
//! `SocketCAN` interface is reopened with backoff; while it is gone, bursts are dropped and
//! reported. A connection counts as lost when the link fails, when a bus that should
//! talk delivers no frame for its receive timeout ([`Timeouts::input`]), or when a burst is
//! not written (and, on Lawicel adapters, acknowledged) within [`WRITE_TIMEOUT`].
//!
//! Every event carries the caller's tag `T` (e.g. "input 2"), and logs name the bus by the
//! label the caller gives (the URL as the user wrote it).

use std::fmt;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::url::{BusUrl, VirtualBuses};
use super::{CanBus, CanError, CanFrame, SlcanBus};
use crate::link::{Backoff, Reconnect};

/// A frame received on a bus.
#[derive(Debug, Clone)]
pub struct Received<T> {
    /// Which bus (the caller's tag).
    pub from: T,
    /// The frame.
    pub frame: CanFrame,
    /// When it was read.
    pub at: Instant,
}

/// What a bus task reports to the app (e.g. for telemetry; nothing should wait for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortEvent<T> {
    /// The bus is open.
    Up(T),
    /// The bus is lost (reopening).
    Down(T),
    /// A burst taken from the channel was written completely (and, where the adapter
    /// acknowledges transmits, acknowledged).
    Sent(T),
    /// A burst taken from the channel was not written: the bus was down, or the write
    /// failed or timed out (the bus is then reopened).
    SendFailed(T),
    /// This many more received lines or frames did not decode (malformed adapter lines).
    Malformed(T, u64),
}

/// A burst must be written (and acknowledged) within this, or the bus counts as lost.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The shortest receive timeout of an input bus (see [`Timeouts::receive`]).
pub const MIN_RECEIVE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a bus task waits for traffic before it gives a connection up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// An input that delivers no frame for this long is treated as lost: the connection is
    /// dropped, [`PortEvent::Down`] reported and the bus reopened with backoff. `None` for
    /// outputs (a push inverter never talks). Not applied to `virtual://` buses, which
    /// have no connection to lose.
    pub receive: Option<Duration>,
    /// A burst not written within this is a lost bus ([`WRITE_TIMEOUT`]).
    pub write: Duration,
}

impl Timeouts {
    /// For an input whose telegrams go stale after `stale_ms`: twice that, at least
    /// [`MIN_RECEIVE_TIMEOUT`].
    pub fn input(stale_ms: u64) -> Self {
        Self {
            receive: Some(
                Duration::from_millis(stale_ms.saturating_mul(2)).max(MIN_RECEIVE_TIMEOUT),
            ),
            write: WRITE_TIMEOUT,
        }
    }

    /// For an output: no receive timeout.
    pub const fn output() -> Self {
        Self {
            receive: None,
            write: WRITE_TIMEOUT,
        }
    }
}

/// Why a connection was given up.
#[derive(Debug)]
enum Lost {
    Bus(CanError),
    Silent(Duration),
    WriteTimeout(Duration),
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bus(e) => e.fmt(f),
            Self::Silent(d) => write!(f, "no frame received for {d:?}"),
            Self::WriteTimeout(d) => write!(f, "a burst was not written within {d:?}"),
        }
    }
}

/// The channels of one bus task.
#[derive(Debug)]
pub struct Wires<T> {
    /// Bursts to send (each written whole, in order, then reported).
    pub to_send: mpsc::Receiver<Vec<CanFrame>>,
    /// Frames received, to the app.
    pub received: mpsc::Sender<Received<T>>,
    /// Notices, to the app.
    pub notices: mpsc::UnboundedSender<PortEvent<T>>,
}

/// Run the bus until its `to_send` channel closes or the app goes away. Every burst
/// taken from the channel is reported as [`PortEvent::Sent`] or [`PortEvent::SendFailed`].
pub async fn run<T: Copy + Send + 'static>(
    url: BusUrl,
    label: String,
    ep: T,
    timeouts: Timeouts,
    virtuals: VirtualBuses,
    mut wires: Wires<T>,
) {
    let w = &mut wires;
    match url {
        BusUrl::Virtual(name) => {
            let mut node = virtuals.get(&name).node();
            let _ = w.notices.send(PortEvent::Up(ep));
            let t = Timeouts {
                receive: None,
                ..timeouts
            };
            let mut progress = false;
            if let Err(e) = serve(&mut node, ep, t, w, &mut progress).await {
                tracing::error!(bus = %label, error = %e, "virtual bus ended");
                let _ = w.notices.send(PortEvent::Down(ep));
                drain_while(w, ep).await;
            }
        }
        BusUrl::Slcan {
            link,
            bitrate,
            handshake,
            dialect,
        } => {
            let mut reconnect = Reconnect::new(
                link.clone(),
                Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 7),
            )
            .with_label(label.clone());
            // Between connections that carried nothing (e.g. a console server that accepts
            // and stays silent), so that such a peer is not hammered.
            let mut idle =
                Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 11);
            loop {
                let l = tokio::select! {
                    l = reconnect.connect(None) => l,
                    () = drain_while(w, ep) => return,
                };
                let Ok(l) = l else { return };
                let bus = if handshake {
                    SlcanBus::open(l, bitrate, dialect).await
                } else {
                    Ok(SlcanBus::attach(l))
                };
                let mut bus = match bus {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(
                            bus = %label,
                            error = %e,
                            "SLCAN adapter did not open (a CANable acknowledges nothing: add dialect=canable)"
                        );
                        if pause(w, ep, Duration::from_secs(1)).await {
                            return;
                        }
                        continue;
                    }
                };
                tracing::info!(bus = %label, acknowledged = bus.waits_for_acks(), "SLCAN bus open");
                let _ = w.notices.send(PortEvent::Up(ep));
                let mut progress = false;
                match serve(&mut bus, ep, timeouts, w, &mut progress).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(bus = %label, error = %e, "SLCAN bus lost; reopening");
                        let _ = w.notices.send(PortEvent::Down(ep));
                    }
                }
                drop(bus);
                if progress {
                    idle.reset();
                } else if pause(w, ep, idle.next_delay()).await {
                    return;
                }
            }
        }
        BusUrl::SocketCan(ifname) => {
            run_socketcan(&ifname, &label, ep, timeouts, w).await;
        }
    }
}

/// Drop bursts while the bus is down, reporting each; returns when the sender is gone.
async fn drain_while<T: Copy + Send + 'static>(w: &mut Wires<T>, ep: T) {
    while w.to_send.recv().await.is_some() {
        let _ = w.notices.send(PortEvent::SendFailed(ep));
    }
}

/// Wait `d`, dropping (and reporting) bursts meanwhile; `true` when the sender is gone.
async fn pause<T: Copy + Send + 'static>(w: &mut Wires<T>, ep: T, d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => false,
        () = drain_while(w, ep) => true,
    }
}

#[cfg(all(feature = "socketcan", target_os = "linux"))]
async fn run_socketcan<T: Copy + Send + 'static>(
    ifname: &str,
    label: &str,
    ep: T,
    timeouts: Timeouts,
    w: &mut Wires<T>,
) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 13);
    loop {
        match super::SocketCanBus::open(ifname) {
            Ok(mut bus) => {
                let _ = w.notices.send(PortEvent::Up(ep));
                let mut progress = false;
                match serve(&mut bus, ep, timeouts, w, &mut progress).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(bus = %label, error = %e, "SocketCAN bus lost"),
                }
                let _ = w.notices.send(PortEvent::Down(ep));
                if progress {
                    backoff.reset();
                }
            }
            Err(e) => tracing::warn!(bus = %label, error = %e, "SocketCAN open failed"),
        }
        if pause(w, ep, backoff.next_delay()).await {
            return;
        }
    }
}

#[cfg(not(all(feature = "socketcan", target_os = "linux")))]
async fn run_socketcan<T: Copy + Send + 'static>(
    _ifname: &str,
    label: &str,
    ep: T,
    _timeouts: Timeouts,
    w: &mut Wires<T>,
) {
    tracing::error!(
        bus = %label,
        "this build has no SocketCAN support; rebuild with `--features socketcan` (Linux)"
    );
    drain_while(w, ep).await;
}

/// Report growth of the bus's malformed-input count.
fn report_malformed<B: CanBus, T: Copy + Send + 'static>(
    bus: &B,
    seen: &mut u64,
    ep: T,
    w: &Wires<T>,
) {
    let now = bus.malformed();
    if now > *seen {
        let _ = w.notices.send(PortEvent::Malformed(ep, now - *seen));
        *seen = now;
    }
}

/// Write `burst` frame by frame.
async fn write_burst<B: CanBus>(bus: &mut B, burst: &[CanFrame]) -> Result<(), CanError> {
    for f in burst {
        bus.send(f).await?;
    }
    Ok(())
}

/// Move frames both ways until the app goes away (`Ok`) or the connection is lost
/// (`Err`: a bus error, no frame for the receive timeout, a write that timed out).
/// `progress` is set once a frame was received or a burst written.
async fn serve<B: CanBus, T: Copy + Send + 'static>(
    bus: &mut B,
    ep: T,
    t: Timeouts,
    w: &mut Wires<T>,
    progress: &mut bool,
) -> Result<(), Lost> {
    let mut seen = bus.malformed();
    let mut last_rx = Instant::now();
    loop {
        let deadline = t.receive.map(|d| (last_rx + d, d));
        let silence = async move {
            match deadline {
                Some((at, d)) => {
                    tokio::time::sleep_until(at).await;
                    d
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            f = bus.recv() => {
                report_malformed(bus, &mut seen, ep, w);
                let frame = f.map_err(Lost::Bus)?;
                last_rx = Instant::now();
                *progress = true;
                let r = Received { from: ep, frame, at: last_rx };
                if w.received.send(r).await.is_err() {
                    return Ok(());
                }
            }
            out = w.to_send.recv() => {
                let Some(burst) = out else { return Ok(()) };
                match tokio::time::timeout(t.write, write_burst(bus, &burst)).await {
                    Ok(Ok(())) => {
                        *progress = true;
                        let _ = w.notices.send(PortEvent::Sent(ep));
                    }
                    Ok(Err(e)) => {
                        let _ = w.notices.send(PortEvent::SendFailed(ep));
                        return Err(Lost::Bus(e));
                    }
                    Err(_) => {
                        let _ = w.notices.send(PortEvent::SendFailed(ep));
                        return Err(Lost::WriteTimeout(t.write));
                    }
                }
            }
            d = silence => {
                report_malformed(bus, &mut seen, ep, w);
                return Err(Lost::Silent(d));
            }
        }
    }
}
