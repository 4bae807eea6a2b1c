//! Buses by URL, and the task that runs one: frames received go to the engine as events,
//! frames to send come from the engine over a channel. A lost SLCAN adapter or console
//! server is reopened with backoff; while it is gone, frames to send are dropped (the next
//! burst follows within one interval anyway).

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

/// Bus up / down notices for telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusEvent {
    /// The bus is open.
    Up(Endpoint),
    /// The bus is lost (reopening).
    Down(Endpoint),
}

/// Run the bus until `to_send` closes or the engine goes away.
pub async fn run(
    url: BusUrl,
    ep: Endpoint,
    virtuals: VirtualBuses,
    mut to_send: mpsc::Receiver<CanFrame>,
    received: mpsc::Sender<Received>,
    notices: mpsc::UnboundedSender<BusEvent>,
) {
    match url {
        BusUrl::Virtual(name) => {
            let mut node = virtuals.get(&name).node();
            let _ = notices.send(BusEvent::Up(ep));
            let r = serve(&mut node, ep, &mut to_send, &received).await;
            if let Err(e) = r {
                tracing::warn!(bus = %name, error = %e, "virtual bus ended");
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
            loop {
                let l = tokio::select! {
                    l = reconnect.connect(None) => l,
                    () = drain_while(&mut to_send) => return,
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
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                tracing::info!(bus = %link, "SLCAN bus open");
                let _ = notices.send(BusEvent::Up(ep));
                match serve(&mut bus, ep, &mut to_send, &received).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(bus = %link, error = %e, "SLCAN bus lost; reopening");
                        let _ = notices.send(BusEvent::Down(ep));
                    }
                }
            }
        }
        BusUrl::SocketCan(ifname) => {
            run_socketcan(&ifname, ep, &mut to_send, &received, &notices).await;
        }
    }
}

/// Drop frames to send while the bus is down; returns when the sender is gone.
async fn drain_while(to_send: &mut mpsc::Receiver<CanFrame>) {
    while to_send.recv().await.is_some() {}
}

#[cfg(all(feature = "socketcan", target_os = "linux"))]
async fn run_socketcan(
    ifname: &str,
    ep: Endpoint,
    to_send: &mut mpsc::Receiver<CanFrame>,
    received: &mpsc::Sender<Received>,
    notices: &mpsc::UnboundedSender<BusEvent>,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        match voltwire_runtime::can::SocketCanBus::open(ifname) {
            Ok(mut bus) => {
                delay = Duration::from_millis(200);
                let _ = notices.send(BusEvent::Up(ep));
                match serve(&mut bus, ep, to_send, received).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(bus = %ifname, error = %e, "SocketCAN bus lost"),
                }
                let _ = notices.send(BusEvent::Down(ep));
            }
            Err(e) => tracing::warn!(bus = %ifname, error = %e, "SocketCAN open failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = drain_while(to_send) => return,
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

#[cfg(not(all(feature = "socketcan", target_os = "linux")))]
async fn run_socketcan(
    ifname: &str,
    _ep: Endpoint,
    to_send: &mut mpsc::Receiver<CanFrame>,
    _received: &mpsc::Sender<Received>,
    _notices: &mpsc::UnboundedSender<BusEvent>,
) {
    tracing::error!(
        bus = %ifname,
        "this build has no SocketCAN support; rebuild with `--features socketcan` (Linux)"
    );
    drain_while(to_send).await;
}

/// Move frames both ways until the engine goes away (`Ok`) or the bus fails (`Err`).
async fn serve<B: CanBus>(
    bus: &mut B,
    ep: Endpoint,
    to_send: &mut mpsc::Receiver<CanFrame>,
    received: &mpsc::Sender<Received>,
) -> Result<(), CanError> {
    loop {
        tokio::select! {
            f = bus.recv() => {
                let frame = f?;
                let r = Received { from: ep, frame, at: Instant::now() };
                if received.send(r).await.is_err() {
                    return Ok(());
                }
            }
            out = to_send.recv() => match out {
                Some(f) => bus.send(&f).await?,
                None => return Ok(()),
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
