//! Buses by URL, and the task that runs one: frames received go to the engine as events,
//! bursts to send come from the engine over a channel and are reported back once written
//! (or not). A lost SLCAN adapter or console server is reopened with backoff; while it is
//! gone, bursts are dropped and reported (the next burst follows within one interval
//! anyway). A connection is lost when the link fails, when an input delivers no frame for
//! its receive timeout, or when a burst is not written (and, on Lawicel adapters,
//! acknowledged) within [`WRITE_TIMEOUT`].

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use voltwire_runtime::can::{CanBus, CanError, CanFrame, SlcanBus, VirtualBus};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_slcan::Dialect;

/// Where a bus is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusUrl {
    /// `virtual://NAME`: an in-process bus shared by every user of the same name.
    Virtual(String),
    /// `slcan:///dev/…` or `slcan+tcp://host:port`, with `bitrate=` (default 500000),
    /// `baud=` (serial only, default 115200), `dialect=lawicel|canable` and `handshake=none`.
    Slcan {
        /// The byte link.
        link: LinkUrl,
        /// CAN bit rate.
        bitrate: u32,
        /// Run the adapter open sequence (`C`, `S<n>`, `O`).
        handshake: bool,
        /// Bit-rate codes and replies: Lawicel (default, acknowledges) or `CANable` (silent).
        dialect: Dialect,
    },
    /// `socketcan://IFNAME`.
    SocketCan(String),
}

impl BusUrl {
    /// What a bus URL looks like (the fix in error messages).
    pub const HELP: &'static str = "give slcan:///dev/ttyACM0?bitrate=500000, slcan+tcp://HOST:PORT?bitrate=500000, socketcan://can0 or virtual://NAME";
}

impl fmt::Display for BusUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Virtual(n) => write!(f, "virtual://{n}"),
            Self::SocketCan(n) => write!(f, "socketcan://{n}"),
            Self::Slcan {
                link,
                bitrate,
                handshake,
                dialect,
            } => {
                let mut hs = if *handshake { "" } else { "&handshake=none" }.to_owned();
                if matches!(dialect, Dialect::Canable) {
                    hs.push_str("&dialect=canable");
                }
                if let LinkUrl::Serial { path, baud } = link {
                    write!(f, "slcan://{path}?bitrate={bitrate}&baud={baud}{hs}")
                } else {
                    let l = link.to_string();
                    let rest = l.strip_prefix("tcp://").unwrap_or(&l);
                    write!(f, "slcan+tcp://{rest}?bitrate={bitrate}{hs}")
                }
            }
        }
    }
}

/// Why a bus URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusUrlError(String);

impl fmt::Display for BusUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BusUrlError {}

const BITRATES: [u32; 9] = [
    10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000,
];

impl FromStr for BusUrl {
    type Err = BusUrlError;

    fn from_str(s: &str) -> Result<Self, BusUrlError> {
        let err = |m: String| BusUrlError(format!("bus `{s}`: {m}"));
        if let Some(name) = s.strip_prefix("virtual://") {
            if name.is_empty() {
                return Err(err("a virtual bus needs a name".into()));
            }
            return Ok(Self::Virtual(name.to_owned()));
        }
        if let Some(ifname) = s.strip_prefix("socketcan://") {
            if ifname.is_empty() || ifname.len() > 15 || ifname.contains('/') {
                return Err(err("not an interface name such as can0".into()));
            }
            return Ok(Self::SocketCan(ifname.to_owned()));
        }
        let (tcp, rest) = if let Some(r) = s.strip_prefix("slcan+tcp://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("slcan://") {
            (false, r)
        } else {
            return Err(err("unknown scheme".into()));
        };
        let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut bitrate = 500_000;
        let mut baud = 115_200;
        let mut handshake = true;
        let mut dialect = Dialect::Lawicel;
        for kv in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "bitrate" => {
                    bitrate = v
                        .parse()
                        .ok()
                        .filter(|b| BITRATES.contains(b))
                        .ok_or_else(|| {
                            err(format!(
                                "bitrate `{v}` is not one of {BITRATES:?} (Pylontech CAN runs at 500000)"
                            ))
                        })?;
                }
                "baud" if !tcp => {
                    baud = v
                        .parse()
                        .ok()
                        .filter(|b| *b > 0)
                        .ok_or_else(|| err(format!("baud `{v}` is not a baud rate")))?;
                }
                "dialect" => {
                    dialect = match v {
                        "lawicel" => Dialect::Lawicel,
                        "canable" => Dialect::Canable,
                        _ => {
                            return Err(err(format!(
                                "dialect `{v}`: give lawicel (adapters that acknowledge) or canable (CANable firmware)"
                            )));
                        }
                    };
                }
                "handshake" => {
                    handshake = match v {
                        "none" => false,
                        "adapter" => true,
                        _ => {
                            return Err(err(format!("handshake `{v}`: give none or adapter")));
                        }
                    };
                }
                other => return Err(err(format!("unknown parameter `{other}`"))),
            }
        }
        let link = if tcp {
            format!("tcp://{target}")
        } else {
            format!("serial://{target}?baud={baud}")
        };
        let link = link.parse::<LinkUrl>().map_err(|e| err(e.to_string()))?;
        if bitrate == 800_000 && matches!(dialect, Dialect::Canable) {
            return Err(err("the CANable firmware has no 800 kbit/s".into()));
        }
        Ok(Self::Slcan {
            link,
            bitrate,
            handshake,
            dialect,
        })
    }
}

/// In-process buses by name (for `virtual://`), shared by the gateway, simulators and tests.
#[derive(Debug, Clone, Default)]
pub struct VirtualBuses(Arc<Mutex<HashMap<String, VirtualBus>>>);

impl VirtualBuses {
    /// The bus called `name`, created on first use.
    pub fn get(&self, name: &str) -> VirtualBus {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_owned())
            .or_insert_with(|| VirtualBus::new(4096))
            .clone()
    }
}

/// Which end of the gateway a bus belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Input (BMS) `i`.
    Input(usize),
    /// Output (inverter) `i`.
    Output(usize),
}

/// A frame received on a bus.
#[derive(Debug, Clone)]
pub struct Received {
    /// Which bus.
    pub from: Endpoint,
    /// The frame.
    pub frame: CanFrame,
    /// When it was read.
    pub at: Instant,
}

/// What a bus task reports to the engine task (telemetry; scheduling never waits for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusEvent {
    /// The bus is open.
    Up(Endpoint),
    /// The bus is lost (reopening).
    Down(Endpoint),
    /// A burst taken from the channel was written completely (and, where the adapter
    /// acknowledges transmits, acknowledged).
    Sent(Endpoint),
    /// A burst taken from the channel was not written: the bus was down, or the write
    /// failed or timed out (the bus is then reopened).
    SendFailed(Endpoint),
    /// This many more received lines or frames did not decode (malformed adapter lines).
    Malformed(Endpoint, u64),
}

/// A burst must be written (and acknowledged) within this, or the bus counts as lost.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The shortest receive timeout of an input bus (see [`Timeouts::receive`]).
pub const MIN_RECEIVE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a bus task waits for traffic before it gives a connection up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// An input that delivers no frame for this long is treated as lost: the connection is
    /// dropped, [`BusEvent::Down`] reported and the bus reopened with backoff. `None` for
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
pub struct Wires {
    /// Bursts to send (each written whole, in order, then reported).
    pub to_send: mpsc::Receiver<Vec<CanFrame>>,
    /// Frames received, to the engine.
    pub received: mpsc::Sender<Received>,
    /// Notices, to the engine.
    pub notices: mpsc::UnboundedSender<BusEvent>,
}

/// Run the bus until its `to_send` channel closes or the engine goes away. Every burst
/// taken from the channel is reported as [`BusEvent::Sent`] or [`BusEvent::SendFailed`].
pub async fn run(
    url: BusUrl,
    ep: Endpoint,
    timeouts: Timeouts,
    virtuals: VirtualBuses,
    mut wires: Wires,
) {
    let w = &mut wires;
    match url {
        BusUrl::Virtual(name) => {
            let mut node = virtuals.get(&name).node();
            let _ = w.notices.send(BusEvent::Up(ep));
            let t = Timeouts {
                receive: None,
                ..timeouts
            };
            let mut progress = false;
            if let Err(e) = serve(&mut node, ep, t, w, &mut progress).await {
                tracing::error!(bus = %name, error = %e, "virtual bus ended");
                let _ = w.notices.send(BusEvent::Down(ep));
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
            );
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
                            bus = %link,
                            error = %e,
                            "SLCAN adapter did not open (a CANable acknowledges nothing: add dialect=canable)"
                        );
                        if pause(w, ep, Duration::from_secs(1)).await {
                            return;
                        }
                        continue;
                    }
                };
                tracing::info!(bus = %link, acknowledged = bus.waits_for_acks(), "SLCAN bus open");
                let _ = w.notices.send(BusEvent::Up(ep));
                let mut progress = false;
                match serve(&mut bus, ep, timeouts, w, &mut progress).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(bus = %link, error = %e, "SLCAN bus lost; reopening");
                        let _ = w.notices.send(BusEvent::Down(ep));
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
            run_socketcan(&ifname, ep, timeouts, w).await;
        }
    }
}

/// Drop bursts while the bus is down, reporting each; returns when the sender is gone.
async fn drain_while(w: &mut Wires, ep: Endpoint) {
    while w.to_send.recv().await.is_some() {
        let _ = w.notices.send(BusEvent::SendFailed(ep));
    }
}

/// Wait `d`, dropping (and reporting) bursts meanwhile; `true` when the sender is gone.
async fn pause(w: &mut Wires, ep: Endpoint, d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => false,
        () = drain_while(w, ep) => true,
    }
}

#[cfg(all(feature = "socketcan", target_os = "linux"))]
async fn run_socketcan(ifname: &str, ep: Endpoint, timeouts: Timeouts, w: &mut Wires) {
    let mut delay = Duration::from_millis(200);
    loop {
        match voltwire_runtime::can::SocketCanBus::open(ifname) {
            Ok(mut bus) => {
                let _ = w.notices.send(BusEvent::Up(ep));
                let mut progress = false;
                match serve(&mut bus, ep, timeouts, w, &mut progress).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(bus = %ifname, error = %e, "SocketCAN bus lost"),
                }
                let _ = w.notices.send(BusEvent::Down(ep));
                if progress {
                    delay = Duration::from_millis(200);
                }
            }
            Err(e) => tracing::warn!(bus = %ifname, error = %e, "SocketCAN open failed"),
        }
        if pause(w, ep, delay).await {
            return;
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

#[cfg(not(all(feature = "socketcan", target_os = "linux")))]
async fn run_socketcan(ifname: &str, ep: Endpoint, _timeouts: Timeouts, w: &mut Wires) {
    tracing::error!(
        bus = %ifname,
        "this build has no SocketCAN support; rebuild with `--features socketcan` (Linux)"
    );
    drain_while(w, ep).await;
}

/// Report growth of the bus's malformed-input count.
fn report_malformed<B: CanBus>(bus: &B, seen: &mut u64, ep: Endpoint, w: &Wires) {
    let now = bus.malformed();
    if now > *seen {
        let _ = w.notices.send(BusEvent::Malformed(ep, now - *seen));
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

/// Move frames both ways until the engine goes away (`Ok`) or the connection is lost
/// (`Err`: a bus error, no frame for the receive timeout, a write that timed out).
/// `progress` is set once a frame was received or a burst written.
async fn serve<B: CanBus>(
    bus: &mut B,
    ep: Endpoint,
    t: Timeouts,
    w: &mut Wires,
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
                        let _ = w.notices.send(BusEvent::Sent(ep));
                    }
                    Ok(Err(e)) => {
                        let _ = w.notices.send(BusEvent::SendFailed(ep));
                        return Err(Lost::Bus(e));
                    }
                    Err(_) => {
                        let _ = w.notices.send(BusEvent::SendFailed(ep));
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            "virtual://a".parse::<BusUrl>().unwrap(),
            BusUrl::Virtual("a".into())
        );
        let u: BusUrl = "slcan:///dev/ttyACM0?bitrate=250000".parse().unwrap();
        assert_eq!(
            u,
            BusUrl::Slcan {
                link: LinkUrl::Serial {
                    path: "/dev/ttyACM0".into(),
                    baud: 115_200
                },
                bitrate: 250_000,
                handshake: true,
                dialect: Dialect::Lawicel
            }
        );
        let u: BusUrl = "slcan+tcp://127.0.0.1:3333?handshake=none".parse().unwrap();
        assert!(matches!(
            u,
            BusUrl::Slcan {
                link: LinkUrl::Tcp { port: 3333, .. },
                bitrate: 500_000,
                handshake: false,
                ..
            }
        ));
        assert_eq!(
            u.to_string(),
            "slcan+tcp://127.0.0.1:3333?bitrate=500000&handshake=none"
        );
        for bad in [
            "can0",
            "virtual://",
            "slcan:///dev/x?bitrate=123",
            "slcan:///dev/x?speed=1",
            "slcan+tcp://host",
            "slcan+tcp://h:1?baud=9600",
            "socketcan://",
        ] {
            assert!(bad.parse::<BusUrl>().is_err(), "{bad}");
        }
    }
}
