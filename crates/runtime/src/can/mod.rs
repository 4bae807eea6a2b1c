//! One CAN bus abstraction, three backends.
//!
//! - [`VirtualBus`]: in-process; every frame a node sends reaches every other node (tests,
//!   demos, simulators wired to apps in one process).
//! - [`SlcanBus`]: a `CANable`-style USB-CAN adapter (or a simulator) speaking SLCAN over any
//!   byte link, e.g. a [`crate::link::Link`] to `serial:///dev/ttyACM0`, through
//!   `voltwire-slcan`.
//! - `SocketCanBus` (feature `socketcan`, Linux): a kernel `SocketCAN` interface such as `can0`.
//!
//! All implement [`CanBus`]: `send` and `recv` of owned classic [`CanFrame`]s.
//!
//! On top of them: [`BusUrl`], the bus URL grammar every app shares (`slcan:///dev/ttyACM0`,
//! `slcan+tcp://HOST:PORT`, `socketcan://can0`, `virtual://NAME`, with [`BusUrl::key`] to
//! tell two URLs of one bus), [`VirtualBuses`] (in-process buses by name), and
//! [`port::run`], the task that keeps one bus open for an app: reconnect with backoff,
//! receive and write timeouts, bursts reported as written or not.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use voltwire_runtime::can::{CanBus as _, CanFrame, VirtualBus};
//!
//! let bus = VirtualBus::new(64);
//! let (mut a, mut b) = (bus.node(), bus.node());
//! a.send(&CanFrame::standard(0x351, &[1, 2]).unwrap()).await.unwrap();
//! assert_eq!(b.recv().await.unwrap().data(), [1, 2]);
//! # });
//! ```

pub mod port;
mod url;

pub use url::{BusUrl, BusUrlError, SOCKETCAN, VirtualBuses};

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::broadcast;
use voltwire_core::{Emit, StreamDecoder};
use voltwire_slcan::{Command, Dialect, FrameLine, HostDecoder, Response};

/// A classic CAN frame, owned: the shared [`voltwire_core::can::CanFrame`] (also
/// `voltwire_slcan::CanFrame` and `voltwire_sim::CanFrame`), so frames pass between the
/// backends, the simulators and the protocol crates without conversion.
///
/// Its constructors ([`CanFrame::standard`], [`CanFrame::extended`],
/// [`CanFrame::data_frame`], [`CanFrame::remote_frame`]) refuse an id out of range or more
/// than 8 bytes, so every value is sendable. A remote frame has a DLC but no data.
pub use voltwire_core::can::CanFrame;

/// Why a bus operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanError {
    /// A frame the backend cannot carry (e.g. a `SocketCAN` frame with more than 8 bytes), or
    /// a command that could not be encoded.
    #[error("invalid CAN frame (id out of range or more than 8 data bytes)")]
    BadFrame,
    /// Every other node is gone (virtual bus) or the link ended.
    #[error("CAN bus closed")]
    Closed,
    /// The adapter rejected a command of the open sequence (BEL reply).
    #[error("SLCAN adapter rejected `{0}`")]
    Rejected(&'static str),
    /// The adapter did not answer a command of the open sequence in time.
    #[error("SLCAN adapter did not answer `{0}`")]
    NoAnswer(&'static str),
    /// No SLCAN bitrate code for this bitrate.
    #[error(
        "no SLCAN bitrate code for {0} bit/s; fix: use 10000, 20000, 50000, 100000, 125000, 250000, 500000, 800000 or 1000000"
    )]
    Bitrate(u32),
    /// I/O error of the underlying link or socket.
    #[error("CAN I/O error: {0}")]
    Io(#[from] io::Error),
}

/// A CAN bus: send and receive classic frames.
pub trait CanBus {
    /// Send one frame.
    ///
    /// # Errors
    /// [`CanError::BadFrame`], [`CanError::Closed`] or an I/O error.
    fn send(&mut self, frame: &CanFrame) -> impl Future<Output = Result<(), CanError>> + Send;

    /// Wait for the next frame from another node. Every backend here is cancel-safe:
    /// dropping the future (e.g. in `tokio::select!`) loses no frame.
    ///
    /// # Errors
    /// [`CanError::Closed`] or an I/O error.
    fn recv(&mut self) -> impl Future<Output = Result<CanFrame, CanError>> + Send;

    /// Input this bus received but could not decode and skipped so far (malformed SLCAN
    /// lines, frames the backend cannot represent); `0` for backends that cannot receive
    /// malformed input. A running total: callers report the growth.
    fn malformed(&self) -> u64 {
        0
    }
}

/// An in-process CAN bus. Cheap to clone; [`VirtualBus::node`] attaches a node.
#[derive(Debug, Clone)]
pub struct VirtualBus {
    tx: broadcast::Sender<(u64, CanFrame)>,
    next_id: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl VirtualBus {
    /// A bus whose slowest node may fall `capacity` frames behind before it loses frames.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self {
            tx,
            next_id: std::sync::Arc::default(),
        }
    }

    /// Attach a node: it receives every frame sent by other nodes after this call.
    pub fn node(&self) -> VirtualNode {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        VirtualNode {
            id,
            tx: self.tx.clone(),
            rx: self.tx.subscribe(),
            lost: 0,
        }
    }
}

/// One node on a [`VirtualBus`].
#[derive(Debug)]
pub struct VirtualNode {
    id: u64,
    tx: broadcast::Sender<(u64, CanFrame)>,
    rx: broadcast::Receiver<(u64, CanFrame)>,
    lost: u64,
}

impl VirtualNode {
    /// Frames this node lost by falling behind.
    pub const fn lost(&self) -> u64 {
        self.lost
    }
}

impl CanBus for VirtualNode {
    async fn send(&mut self, frame: &CanFrame) -> Result<(), CanError> {
        // Sending with nobody else listening is not an error on a real bus either.
        let _ = self.tx.send((self.id, *frame));
        Ok(())
    }

    async fn recv(&mut self) -> Result<CanFrame, CanError> {
        loop {
            match self.rx.recv().await {
                Ok((from, f)) if from != self.id => return Ok(f),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.lost = self.lost.saturating_add(n);
                    tracing::warn!(lost = n, "virtual CAN node fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return Err(CanError::Closed),
            }
        }
    }
}

/// How long [`SlcanBus::open`] waits for each reply of the open sequence, and a Lawicel
/// [`SlcanBus::send`] for the adapter's acknowledgement.
pub const SLCAN_REPLY_TIMEOUT: Duration = Duration::from_millis(500);

/// Frames a [`SlcanBus`] keeps that arrived while `send` waited for an acknowledgement;
/// more are dropped (counted in [`SlcanBus::lost`]).
pub const SLCAN_QUEUE: usize = 1024;

/// A CAN bus through an SLCAN adapter on byte link `L`.
///
/// After [`SlcanBus::open`] with [`Dialect::Lawicel`], every [`CanBus::send`] waits for the
/// adapter's acknowledgement (`z`/`Z`, or a bare CR, which some firmwares send) for up to
/// [`SLCAN_REPLY_TIMEOUT`]: a frame counts as sent only when the adapter took it, and a hung
/// adapter or console server is noticed on the next frame ([`CanError::NoAnswer`]). Frames
/// arriving meanwhile are kept for [`CanBus::recv`]. The `CANable` dialect and
/// [`SlcanBus::attach`] acknowledge nothing, so their `send` completes once written.
#[derive(Debug)]
pub struct SlcanBus<L> {
    link: L,
    decoder: HostDecoder,
    buf: Vec<u8>,
    pos: usize,
    acks: bool,
    queue: VecDeque<CanFrame>,
    bad_lines: u64,
    lost: u64,
}

impl<L: AsyncRead + AsyncWrite + Unpin + Send> SlcanBus<L> {
    /// Run the open sequence on `link`: `C` (close, reply ignored), `S<n>` for `bitrate`
    /// (codes per `dialect`), `O` (open); each must be acknowledged, except with
    /// [`Dialect::Canable`], whose firmware sends no replies.
    ///
    /// # Errors
    /// [`CanError::Bitrate`], [`CanError::Rejected`], [`CanError::NoAnswer`], or an I/O
    /// error.
    pub async fn open(link: L, bitrate: u32, dialect: Dialect) -> Result<Self, CanError> {
        let code =
            voltwire_slcan::bitrate_code(bitrate, dialect).ok_or(CanError::Bitrate(bitrate))?;
        let mut bus = Self::attach(link);
        bus.write(&Command::Close).await?;
        if matches!(dialect, Dialect::Canable) {
            // The CANable firmware acknowledges nothing: send the sequence and go.
            bus.write(&Command::Bitrate(code)).await?;
            bus.write(&Command::Open).await?;
            return Ok(bus);
        }
        // A closed adapter answers `C` with BEL, an open one with CR: either is fine.
        let _ = tokio::time::timeout(SLCAN_REPLY_TIMEOUT, bus.reply()).await;
        bus.command(&Command::Bitrate(code), "S").await?;
        bus.command(&Command::Open, "O").await?;
        bus.acks = true;
        Ok(bus)
    }

    /// Use `link` as an already open SLCAN channel, without the open sequence: for a peer
    /// that is not an adapter (another SLCAN host on a pty pair, a bridge that is always
    /// open).
    pub fn attach(link: L) -> Self {
        Self {
            link,
            decoder: HostDecoder::new(),
            buf: Vec::new(),
            pos: 0,
            acks: false,
            queue: VecDeque::new(),
            bad_lines: 0,
            lost: 0,
        }
    }

    /// Whether `send` waits for the adapter's acknowledgement (after a Lawicel open).
    pub const fn waits_for_acks(&self) -> bool {
        self.acks
    }

    /// Make `send` wait (or not) for an acknowledgement of every frame.
    #[must_use]
    pub const fn with_acks(mut self, acks: bool) -> Self {
        self.acks = acks;
        self
    }

    /// Lines from the adapter that did not decode (malformed frame lines, over-long lines)
    /// and were skipped, so far.
    pub const fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    /// Frames dropped because more than [`SLCAN_QUEUE`] arrived while `send` waited for
    /// acknowledgements.
    pub const fn lost(&self) -> u64 {
        self.lost
    }

    /// Send `C` (close the CAN channel) and return the link.
    ///
    /// # Errors
    /// An I/O error writing the command.
    pub async fn close(mut self) -> Result<L, CanError> {
        self.write(&Command::Close).await?;
        Ok(self.link)
    }

    async fn command(&mut self, c: &Command, name: &'static str) -> Result<(), CanError> {
        self.write(c).await?;
        match tokio::time::timeout(SLCAN_REPLY_TIMEOUT, self.reply()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(CanError::Rejected(name)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(CanError::NoAnswer(name)),
        }
    }

    /// The next OK (`true`) or BEL (`false`), skipping anything else.
    async fn reply(&mut self) -> Result<bool, CanError> {
        loop {
            match self.next_response().await? {
                Response::Ok => return Ok(true),
                Response::Error => return Ok(false),
                _ => {}
            }
        }
    }

    async fn write(&mut self, c: &Command) -> Result<(), CanError> {
        let mut out = [0_u8; 64];
        let n = c.emit(&mut out).map_err(|_| CanError::BadFrame)?;
        self.link
            .write_all(out.get(..n).unwrap_or_default())
            .await?;
        self.link.flush().await?;
        Ok(())
    }

    async fn next_response(&mut self) -> Result<Response, CanError> {
        loop {
            let rest = self.buf.get(self.pos..).unwrap_or_default();
            if !rest.is_empty() {
                let p = self.decoder.feed(rest);
                self.pos += p.consumed.max(usize::from(p.item.is_none()) * rest.len());
                match p.item.map(|l| l.value) {
                    Some(Ok(r)) => return Ok(r),
                    Some(Err(e)) => {
                        self.bad_lines = self.bad_lines.saturating_add(1);
                        tracing::debug!(error = %e, "bad SLCAN line");
                    }
                    None => {}
                }
                continue;
            }
            // Read into a local buffer so that a cancelled read (e.g. in `select!`) leaves
            // no trace: `recv` is cancel-safe.
            let mut chunk = [0_u8; 256];
            let n = self.link.read(&mut chunk).await?;
            if n == 0 {
                return Err(CanError::Closed);
            }
            self.buf.clear();
            self.pos = 0;
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    /// Wait for the acknowledgement of a transmit, keeping the frames that arrive meanwhile.
    async fn transmit_ack(&mut self) -> Result<(), CanError> {
        loop {
            match self.next_response().await? {
                Response::TransmitAck { .. } | Response::Ok => return Ok(()),
                Response::Error => return Err(CanError::Rejected("t")),
                Response::Frame(line) => {
                    if self.queue.len() < SLCAN_QUEUE {
                        self.queue.push_back(line.frame);
                    } else {
                        self.lost = self.lost.saturating_add(1);
                        tracing::warn!(
                            "SLCAN receive queue full while waiting for an acknowledgement; frame dropped"
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

impl<L: AsyncRead + AsyncWrite + Unpin + Send> CanBus for SlcanBus<L> {
    /// Writes the transmit line; after a Lawicel open also waits for the acknowledgement
    /// ([`CanError::NoAnswer`] after [`SLCAN_REPLY_TIMEOUT`], [`CanError::Rejected`] on BEL).
    async fn send(&mut self, frame: &CanFrame) -> Result<(), CanError> {
        self.write(&Command::Transmit(FrameLine::from(*frame)))
            .await?;
        if !self.acks {
            return Ok(());
        }
        match tokio::time::timeout(SLCAN_REPLY_TIMEOUT, self.transmit_ack()).await {
            Ok(r) => r,
            Err(_) => Err(CanError::NoAnswer("t")),
        }
    }

    /// Cancel-safe: a cancelled call loses no frame.
    async fn recv(&mut self) -> Result<CanFrame, CanError> {
        if let Some(f) = self.queue.pop_front() {
            return Ok(f);
        }
        loop {
            if let Response::Frame(line) = self.next_response().await? {
                return Ok(line.frame);
            }
        }
    }

    fn malformed(&self) -> u64 {
        self.bad_lines
    }
}

/// A kernel `SocketCAN` interface (feature `socketcan`, Linux).
#[cfg(all(feature = "socketcan", target_os = "linux"))]
#[cfg_attr(docsrs, doc(cfg(feature = "socketcan")))]
#[derive(Debug)]
pub struct SocketCanBus {
    socket: socketcan::tokio::CanSocket,
    skipped: u64,
}

#[cfg(all(feature = "socketcan", target_os = "linux"))]
impl SocketCanBus {
    /// Open interface `ifname` (e.g. `can0`, `vcan0`).
    ///
    /// # Errors
    /// The I/O error from opening the socket.
    pub fn open(ifname: &str) -> Result<Self, CanError> {
        Ok(Self {
            socket: socketcan::tokio::CanSocket::open(ifname)?,
            skipped: 0,
        })
    }
}

#[cfg(all(feature = "socketcan", target_os = "linux"))]
impl CanBus for SocketCanBus {
    async fn send(&mut self, frame: &CanFrame) -> Result<(), CanError> {
        use embedded_can::Frame;
        let id = Frame::id(frame);
        let out = if frame.is_remote() {
            socketcan::CanFrame::new_remote(id, frame.dlc())
        } else {
            socketcan::CanFrame::new(id, frame.data())
        }
        .ok_or(CanError::BadFrame)?;
        self.socket.write_frame(out).await?;
        Ok(())
    }

    async fn recv(&mut self) -> Result<CanFrame, CanError> {
        loop {
            let f = self.socket.read_frame().await?;
            // Error frames are bus status, not data.
            if matches!(f, socketcan::CanFrame::Error(_)) {
                continue;
            }
            if let Some(f) = CanFrame::from_frame(&f) {
                return Ok(f);
            }
            // A remote frame with a DLC code above 8 (Linux `len8_dlc`).
            self.skipped = self.skipped.saturating_add(1);
            tracing::debug!("SocketCAN frame with a DLC above 8 skipped");
        }
    }

    fn malformed(&self) -> u64 {
        self.skipped
    }
}
