//! Buses named by URL: `virtual://NAME`, `slcan:///dev/ttyACM0?bitrate=500000`,
//! `slcan+tcp://HOST:PORT`, `socketcan://can0`; the in-process buses behind `virtual://`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use voltwire_slcan::Dialect;

use super::VirtualBus;
use crate::link::LinkUrl;

/// Whether this build can open `socketcan://` buses (feature `socketcan`, Linux).
pub const SOCKETCAN: bool = cfg!(all(feature = "socketcan", target_os = "linux"));

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
            if !SOCKETCAN {
                return Err(err(
                    "this build has no SocketCAN support; rebuild with `--features socketcan` \
                     (Linux), or use an SLCAN adapter (slcan:///dev/ttyACM0)"
                        .into(),
                ));
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

/// In-process buses by name (for `virtual://`), shared by an app, its simulators and tests.
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

impl BusUrl {
    /// What identifies the bus itself, whatever the URL's parameters: the virtual bus
    /// name, the serial device (symbolic links resolved), `host:port` (host lower-cased)
    /// or the interface. Two URLs with the same key are the same bus.
    pub fn key(&self) -> String {
        match self {
            Self::Virtual(name) => format!("virtual://{name}"),
            Self::SocketCan(ifname) => format!("socketcan://{ifname}"),
            Self::Slcan { link, .. } => match link {
                LinkUrl::Serial { path, .. } => {
                    let path = std::fs::canonicalize(path)
                        .map_or_else(|_| path.clone(), |p| p.display().to_string());
                    format!("serial://{path}")
                }
                LinkUrl::Tcp { host, port } => {
                    format!("tcp://{}:{port}", host.to_ascii_lowercase())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn socketcan_only_where_built_in() {
        assert_eq!("socketcan://can0".parse::<BusUrl>().is_ok(), SOCKETCAN);
        if !SOCKETCAN {
            let e = "socketcan://can0"
                .parse::<BusUrl>()
                .unwrap_err()
                .to_string();
            assert!(e.contains("--features socketcan"), "{e}");
        }
    }

    #[test]
    fn keys_name_the_bus_not_the_parameters() {
        let a: BusUrl = "slcan+tcp://Host:1?bitrate=250000".parse().unwrap();
        let b: BusUrl = "slcan+tcp://host:1?handshake=none".parse().unwrap();
        assert_eq!(a.key(), b.key());
        let c: BusUrl = "slcan:///dev/ttyX?baud=9600".parse().unwrap();
        let d: BusUrl = "slcan:///dev/ttyX".parse().unwrap();
        assert_eq!(c.key(), d.key());
        assert_ne!(a.key(), c.key());
    }

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
