//! Serving the simulated devices in (scaled) real time (feature `serve`, tokio): one layer
//! for every byte-speaking device, whichever its protocol.
//!
//! - [`Port`]: what is served — a client on a TCP connection or the far side of a
//!   pseudo-terminal. [`Station`] is the shape of most devices (ticks and bytes in, bytes
//!   out); every `Station` is a `Port` through one serving loop. [`SerialStation`] puts a
//!   [`SerialResponder`](crate::SerialResponder) there, [`can::CanStation`] a
//!   [`CanResponder`](crate::CanResponder) behind a simulated SLCAN adapter, and
//!   [`rtu::RtuPort`] a [`ModbusResponder`](crate::modbus::ModbusResponder) as Modbus RTU.
//! - [`serve`]: where ([`Listen`]), how the port fails ([`PortDrop`]), the announcement of
//!   the address and the stop. It returns `Ok` only when `stop` resolves: a pty whose serving
//!   ends by itself is an error.
//!
//! Nothing here prints: what an operator may want to read goes to the [`Log`] given.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;

mod pty;
mod station;

pub mod can;
pub mod rtu;

pub use pty::Pty;
pub use station::{SerialStation, Station, serve_io};

/// Where operator messages go (a client connected, the port dropped, …): one line each.
pub type Log = fn(core::fmt::Arguments<'_>);

/// Where to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A new pseudo-terminal; its path is announced.
    Pty,
    /// A TCP listener on `HOST:PORT` (port 0 picks a free one); its address is announced.
    Tcp(String),
    /// An in-process CAN bus called `NAME` (`virtual://NAME` in a scene): the app running
    /// the scene attaches the device to its bus ([`can::CanNode`],
    /// `Scene::serve_in`); without one, the scene serves the device behind a simulated
    /// SLCAN adapter on a new pty instead. [`serve`] itself refuses it.
    Virtual(String),
    /// A directory the device keeps files in (1-Wire sensors, `dir:PATH` in a scene); it is
    /// not a port, so [`serve`] refuses it.
    Dir(String),
    /// An MQTT broker and a topic (`mqtt://HOST:PORT/TOPIC` in a scene): the app running the
    /// scene serves the device there; [`serve`] refuses it.
    Mqtt {
        /// `mqtt://HOST:PORT`.
        broker: String,
        /// The device's topic.
        topic: String,
    },
}

impl Listen {
    /// Parse `pty` (or `pty_word`, e.g. `slcan-pty`) or `tcp://HOST:PORT`.
    pub fn parse(s: &str, pty_word: &str) -> Option<Self> {
        if s == pty_word {
            return Some(Self::Pty);
        }
        s.strip_prefix("tcp://")
            .filter(|a| is_host_port(a))
            .map(|a| Self::Tcp(a.to_owned()))
    }
}

/// Whether `addr` is `HOST:PORT` (a non-empty host, a port number).
pub fn is_host_port(addr: &str) -> bool {
    addr.rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
}

/// How the port fails (`--fault drop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PortDrop {
    /// It does not.
    #[default]
    Never,
    /// Dead from the start: a pty is announced and closed; TCP connections are accepted and
    /// closed at once.
    AtOnce,
    /// Served for `after`, then gone (a pty announced as a stable symlink that disappears;
    /// TCP refusing connections); back after `down` (the link pointing to a new pty, TCP on
    /// the same address), or never.
    After {
        /// Time served before the port goes.
        after: Duration,
        /// Time gone; `None`: for good.
        down: Option<Duration>,
    },
}

/// Something served on a TCP listener or a pseudo-terminal.
pub trait Port {
    /// Serve clients of `listener` until accepting fails.
    fn serve_tcp(
        &mut self,
        listener: TcpListener,
        log: Log,
    ) -> impl Future<Output = io::Result<()>>;

    /// Serve the far side of `pty` until its reader ends.
    fn serve_pty(&mut self, pty: Pty, log: Log) -> impl Future<Output = io::Result<()>>;
}

/// Serve `port` at `listen` until `stop` resolves (then `Ok`). `announce` gets the pty path
/// or the bound address before anything is served; its error ends the serving.
///
/// # Errors
///
/// A pty or listener that cannot be opened, a failed announcement, an accept or pty read
/// that fails, a serving that ended without `stop`.
pub async fn serve<P: Port>(
    port: &mut P,
    listen: Listen,
    drop_plan: PortDrop,
    log: Log,
    announce: impl FnOnce(&str) -> io::Result<()>,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut stop = core::pin::pin!(stop);
    let link = match (&listen, drop_plan) {
        (Listen::Pty, PortDrop::After { .. }) => Some(StableLink::new()?),
        _ => None,
    };
    let (open, name) = Open::new(&listen, link.as_ref()).await?;
    announce(&name)?;
    let down = match (drop_plan, open) {
        (PortDrop::Never, open) => {
            return tokio::select! {
                () = &mut stop => Ok(()),
                r = open.serve(port, log) => r,
            };
        }
        (PortDrop::AtOnce, Open::Tcp(listener)) => {
            return tokio::select! {
                () = &mut stop => Ok(()),
                r = refuse(&listener) => r,
            };
        }
        (PortDrop::AtOnce, Open::Pty(pty)) => {
            drop(pty);
            stop.await;
            return Ok(());
        }
        (PortDrop::After { after, down }, open) => {
            tokio::select! {
                () = &mut stop => return Ok(()),
                r = open.serve(port, log) => r?,
                () = tokio::time::sleep(after) => {}
            }
            down
        }
    };
    // Hung up: the pty (master and slave) or the listener and its client closed with the
    // serving; a pty's path is gone too.
    if let Some(link) = &link {
        link.remove();
    }
    log(format_args!("voltwire sim: port dropped"));
    let Some(down) = down else {
        stop.await;
        return Ok(());
    };
    tokio::select! {
        () = &mut stop => return Ok(()),
        () = tokio::time::sleep(down) => {}
    }
    let (open, name) = match listen {
        Listen::Tcp(_) => Open::new(&Listen::Tcp(name.clone()), None).await?,
        Listen::Pty => Open::new(&Listen::Pty, link.as_ref()).await?,
        Listen::Virtual(_) | Listen::Dir(_) | Listen::Mqtt { .. } => {
            Open::new(&listen, None).await?
        }
    };
    match &open {
        Open::Pty(pty) => log(format_args!(
            "voltwire sim: port back ({name} -> {})",
            pty.path
        )),
        Open::Tcp(_) => log(format_args!("voltwire sim: port back ({name})")),
    }
    tokio::select! {
        () = &mut stop => Ok(()),
        r = open.serve(port, log) => r,
    }
}

/// An open port.
enum Open {
    Pty(Pty),
    Tcp(TcpListener),
}

impl Open {
    /// Open `listen` (a pty pointed to by `link`, if any); the open port and its name.
    async fn new(listen: &Listen, link: Option<&StableLink>) -> io::Result<(Self, String)> {
        match listen {
            Listen::Pty => {
                let pty = Pty::open()?;
                let name = match link {
                    Some(link) => {
                        link.point(&pty.path)?;
                        link.path.to_string_lossy().into_owned()
                    }
                    None => pty.path.clone(),
                };
                Ok((Self::Pty(pty), name))
            }
            Listen::Tcp(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|e| io::Error::new(e.kind(), format!("--listen tcp://{addr}: {e}")))?;
                let name = listener.local_addr()?.to_string();
                Ok((Self::Tcp(listener), name))
            }
            Listen::Virtual(bus) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "virtual://{bus} is an app's in-process bus: serve it through the app's scene (Scene::serve_in), or on \"slcan-pty\""
                ),
            )),
            Listen::Dir(dir) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("dir:{dir} is a directory of files, not a port: serve it in a scene"),
            )),
            Listen::Mqtt { broker, topic } => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{broker}/{topic} is an MQTT topic, not a port: serve it in a scene"),
            )),
        }
    }

    /// Serve `port` here. It never ends well: a pty we hold both sides of has no end of
    /// file, and a listener serves until accepting fails.
    async fn serve<P: Port>(self, port: &mut P, log: Log) -> io::Result<()> {
        let (r, what) = match self {
            Self::Pty(pty) => (
                port.serve_pty(pty, log).await,
                "the pty's reader ended (end of file)",
            ),
            Self::Tcp(listener) => (port.serve_tcp(listener, log).await, "the listener stopped"),
        };
        r.and_then(|()| Err(io::Error::other(what)))
    }
}

/// Accept connections and close them at once.
async fn refuse(listener: &TcpListener) -> io::Result<()> {
    loop {
        drop(listener.accept().await?);
    }
}

/// How long a write may wait for the reader before its bytes are dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_millis(200);

/// Write `out`; if the far end does not take it within [`WRITE_TIMEOUT`], drop it and call
/// `discard` (which drops what the far end has not read, so that the next output starts on
/// a clean boundary).
///
/// # Errors
///
/// The write's.
pub async fn write_out<W: AsyncWrite + Unpin, D: Fn() + ?Sized>(
    writer: &mut W,
    out: &[u8],
    discard: &D,
) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    if let Ok(r) = tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(out)).await {
        r
    } else {
        discard();
        Ok(())
    }
}

/// A stable path for a pty that comes and goes: a symlink in a private temporary
/// directory, removed with the directory when the simulator ends.
struct StableLink {
    dir: PathBuf,
    path: PathBuf,
}

impl StableLink {
    fn new() -> io::Result<Self> {
        // One per dropping port of the process (a scene may have several).
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = match n {
            0 => format!("voltwire-sim-{}", std::process::id()),
            n => format!("voltwire-sim-{}-{n}", std::process::id()),
        };
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("tty");
        Ok(Self { dir, path })
    }

    /// Point the link at `target` (replacing it atomically).
    fn point(&self, target: &str) -> io::Result<()> {
        let tmp = self.dir.join("tty.new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(target, &tmp)?;
        std::fs::rename(&tmp, &self.path)
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for StableLink {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
