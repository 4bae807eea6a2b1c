//! CAN devices behind a simulated USB-CAN adapter (a `CANable` speaking SLCAN): a host
//! using SLCAN (python-can `interface="slcan"`, `slcand`, `voltwire-runtime`'s `SlcanBus`)
//! opens the pty or the TCP port, runs the usual open sequence (`C`, `Sn`, `O`) and then
//! sees the device's frames as `t`/`T` lines; the frames it transmits reach the device.
//! Replies follow the `CANable` 2 firmware: CR for a command done, BEL for one refused,
//! `z`/`Z` for a transmitted frame. Every line sent is a well-formed SLCAN line.

use std::io;
use std::time::{Duration, Instant};

use voltwire_core::{Emit as _, StreamDecoder as _};
use voltwire_slcan::{AdapterDecoder, Command, Dialect, FrameLine, Response};

use super::{Log, Station};
use crate::world::{self, SharedWorld, World};
use crate::{CanFrame, CanResponder, Plant, PlantCommand};

/// A [`CanResponder`] on a plant, on a CAN bus at `bitrate` behind an [`Adapter`].
#[derive(Debug)]
pub struct CanStation<D> {
    world: SharedWorld,
    index: Option<usize>,
    device: D,
    adapter: Adapter,
    after_frames: fn(&mut D) -> io::Result<()>,
    frames: Vec<CanFrame>,
    replies: Vec<CanFrame>,
}

impl<D: CanResponder> CanStation<D> {
    /// `device` on `plant` (running `speed` times faster than real time), on a bus at
    /// `bitrate`; `log` hears of a host that opens the adapter at another rate.
    pub fn new(plant: Plant, device: D, speed: f64, bitrate: u32, log: Log) -> Self {
        Self::in_world(
            World::new(plant, speed, 0).shared(),
            None,
            device,
            bitrate,
            log,
        )
    }

    /// `device` as device `index` of a shared `world` (a scene; `None`: its faults are its
    /// own), on a bus at `bitrate`.
    pub fn in_world(
        world: SharedWorld,
        index: Option<usize>,
        device: D,
        bitrate: u32,
        log: Log,
    ) -> Self {
        Self {
            world,
            index,
            device,
            adapter: Adapter::new(bitrate, log),
            after_frames: |_| Ok(()),
            frames: Vec::new(),
            replies: Vec::new(),
        }
    }

    /// Call `f` with the device after each batch of frames from the host has been handled
    /// (e.g. to print what it saw); its error ends the client's serving.
    #[must_use]
    pub fn after_frames(mut self, f: fn(&mut D) -> io::Result<()>) -> Self {
        self.after_frames = f;
        self
    }

    /// Advance the world, take this device's faults from it; then `f` with the device,
    /// the plant and the sim time, and the plant changes the device asked for applied.
    fn with_plant<R>(&mut self, f: impl FnOnce(&mut D, Duration, &Plant) -> R) -> R {
        let mut w = world::lock(&self.world);
        let now = w.advance();
        if let Some(d) = self.index {
            *self.device.faults_mut() = w.faults(d);
        }
        let r = f(&mut self.device, now, w.plant());
        let mut cmds: Vec<PlantCommand> = Vec::new();
        self.device.drain_commands(&mut cmds);
        w.plant_mut().apply(cmds);
        r
    }
}

impl<D: CanResponder> Station for CanStation<D> {
    fn tick_period(&self) -> Duration {
        Duration::from_millis(20)
    }

    fn connected(&mut self) {
        self.adapter = Adapter::new(self.adapter.bus_bitrate, self.adapter.log);
    }

    fn tick(&mut self, out: &mut Vec<u8>) {
        let mut frames = core::mem::take(&mut self.frames);
        frames.clear();
        self.with_plant(|d, now, plant| d.tick(now, plant, &mut frames));
        self.frames = frames;
        for f in &self.frames {
            self.adapter.deliver(f, out);
        }
    }

    fn on_bytes(
        &mut self,
        input: &[u8],
        at_once: &mut Vec<u8>,
        reply: &mut Vec<u8>,
    ) -> io::Result<()> {
        self.frames.clear();
        // The adapter's own replies go out at once.
        self.adapter.on_bytes(input, at_once, &mut self.frames);
        let frames = core::mem::take(&mut self.frames);
        let mut replies = core::mem::take(&mut self.replies);
        replies.clear();
        self.with_plant(|d, now, plant| {
            for f in &frames {
                d.on_frame(f, now, plant, &mut replies);
            }
        });
        self.frames = frames;
        self.replies = replies;
        (self.after_frames)(&mut self.device)?;
        for f in &self.replies {
            self.adapter.deliver(f, reply);
        }
        Ok(())
    }

    fn reply_delay(&self) -> Duration {
        self.device.faults().delay
    }
}

/// A node on an in-process CAN bus that an app owns (e.g. its `voltwire_runtime::can`
/// virtual bus, behind a newtype of the app's): where a scene serves a `virtual://NAME`
/// device inside that app ([`CanStation::serve_node`]). The sim crate names no bus type of
/// its own, so it stays free of the runtime.
pub trait CanNode {
    /// Send `frame` to the other nodes of the bus.
    ///
    /// # Errors
    ///
    /// The bus is gone.
    fn send(&mut self, frame: &CanFrame) -> impl Future<Output = io::Result<()>>;

    /// The next frame another node sent. Cancel-safe: it is raced against the device's
    /// ticks, and dropping it loses no frame.
    ///
    /// # Errors
    ///
    /// The bus is gone.
    fn recv(&mut self) -> impl Future<Output = io::Result<CanFrame>>;
}

/// No in-process bus (it has no values): the node type of a scene served without an app's
/// buses, where every `virtual://` device goes behind a simulated SLCAN adapter instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoBus {}

impl CanNode for NoBus {
    async fn send(&mut self, _frame: &CanFrame) -> io::Result<()> {
        match *self {}
    }

    async fn recv(&mut self) -> io::Result<CanFrame> {
        match *self {}
    }
}

impl<D: CanResponder> CanStation<D> {
    /// Serve the device straight on `node` (no adapter between: it is on the bus itself):
    /// its unsolicited frames every tick, its replies to each frame heard (after its `late`
    /// delay), all in the world's time. It ends only when the bus fails, with that error
    /// (or the error of [`CanStation::after_frames`]).
    pub async fn serve_node<N: CanNode>(&mut self, mut node: N) -> io::Error {
        let mut tick = tokio::time::interval(self.tick_period());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut out = Vec::new();
        loop {
            let heard = tokio::select! {
                _ = tick.tick() => None,
                f = node.recv() => match f {
                    Ok(f) => Some(f),
                    Err(e) => return e,
                },
            };
            out.clear();
            match heard {
                None => self.with_plant(|d, now, plant| d.tick(now, plant, &mut out)),
                Some(f) => {
                    self.with_plant(|d, now, plant| d.on_frame(&f, now, plant, &mut out));
                    if let Err(e) = (self.after_frames)(&mut self.device) {
                        return e;
                    }
                    let delay = self.device.faults().delay;
                    if !out.is_empty() && !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                }
            }
            for f in &out {
                if let Err(e) = node.send(f).await {
                    return e;
                }
            }
        }
    }
}

/// The adapter's CAN channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Closed,
    Open,
    ListenOnly,
}

/// The simulated SLCAN adapter (a `CANable` 2): host commands in, replies and received
/// frames out.
#[derive(Debug)]
pub struct Adapter {
    decoder: AdapterDecoder,
    channel: Channel,
    timestamps: bool,
    /// The bit rate the host chose (`None`: not set, or set by BTR registers).
    host_bitrate: Option<u32>,
    bus_bitrate: u32,
    warned: bool,
    opened_at: Instant,
    log: Log,
}

impl Adapter {
    /// A closed adapter on a bus at `bus_bitrate`; `log` hears of a host at another rate.
    pub fn new(bus_bitrate: u32, log: Log) -> Self {
        Self {
            decoder: AdapterDecoder::new(),
            channel: Channel::Closed,
            timestamps: false,
            host_bitrate: None,
            bus_bitrate,
            warned: false,
            opened_at: Instant::now(),
            log,
        }
    }

    /// Whether the channel is open.
    fn open(&self) -> bool {
        self.channel != Channel::Closed
    }

    /// Whether frames pass between the host and the bus.
    fn passing(&mut self) -> bool {
        if !self.open() {
            return false;
        }
        match self.host_bitrate {
            Some(b) if b != self.bus_bitrate => {
                if !self.warned {
                    self.warned = true;
                    (self.log)(format_args!(
                        "voltwire sim: the host opened the adapter at {b} bit/s but the bus runs at {} bit/s: no frames pass (fix: open it at {} or start the sim with --bitrate {b})",
                        self.bus_bitrate, self.bus_bitrate
                    ));
                }
                false
            }
            _ => true,
        }
    }

    /// Handle host bytes: replies go to `out`, frames to transmit to `frames`.
    pub fn on_bytes(&mut self, mut input: &[u8], out: &mut Vec<u8>, frames: &mut Vec<CanFrame>) {
        while !input.is_empty() {
            let p = self.decoder.feed(input);
            let n = if p.item.is_none() {
                input.len()
            } else {
                p.consumed
            };
            input = input.get(n..).unwrap_or_default();
            if let Some(item) = p.item {
                let reply = match item.value {
                    Ok(c) => self.command(c, frames),
                    Err(_) => Response::Error,
                };
                emit(&reply, out);
            }
        }
    }

    fn command(&mut self, c: Command, frames: &mut Vec<CanFrame>) -> Response {
        match c {
            Command::Empty
            | Command::AcceptanceCode(_)
            | Command::AcceptanceMask(_)
            | Command::Mode(_)
            | Command::AutoRetransmit(_) => Response::Ok,
            Command::Bitrate(code) if !self.open() => {
                match voltwire_slcan::bitrate_bps(code, Dialect::Canable) {
                    Some(b) => {
                        self.host_bitrate = Some(b);
                        self.warned = false;
                        Response::Ok
                    }
                    None => Response::Error,
                }
            }
            Command::Btr(..) if !self.open() => {
                self.host_bitrate = None;
                Response::Ok
            }
            Command::Timestamps(n) if !self.open() && n <= 1 => {
                self.timestamps = n == 1;
                Response::Ok
            }
            Command::Open | Command::ListenOnly => {
                if !self.open() {
                    self.opened_at = Instant::now();
                }
                self.channel = if c == Command::Open {
                    Channel::Open
                } else {
                    Channel::ListenOnly
                };
                Response::Ok
            }
            Command::Close => {
                self.channel = Channel::Closed;
                Response::Ok
            }
            Command::Version => Response::Version(*b"1013"),
            Command::SerialNumber => Response::Serial(*b"VW01"),
            Command::Status if self.open() => Response::Status(0),
            Command::Transmit(line) if self.channel == Channel::Open => {
                let f = line.frame;
                if self.passing() {
                    frames.push(f);
                }
                Response::TransmitAck {
                    extended: f.is_extended(),
                }
            }
            _ => Response::Error,
        }
    }

    /// Encode a bus frame for the host, if frames pass.
    pub fn deliver(&mut self, f: &CanFrame, out: &mut Vec<u8>) {
        if !self.passing() {
            return;
        }
        let mut line = FrameLine::from(*f);
        if self.timestamps {
            let ms = self.opened_at.elapsed().as_millis() % 60_000;
            line.timestamp = u16::try_from(ms).ok();
        }
        emit(&Response::Frame(line), out);
    }
}

fn emit(r: &Response, out: &mut Vec<u8>) {
    let mut buf = [0u8; 64];
    if let Ok(n) = r.emit(&mut buf) {
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
mod tests {
    use super::*;

    fn quiet(_: core::fmt::Arguments<'_>) {}

    fn feed(a: &mut Adapter, input: &[u8]) -> (Vec<u8>, Vec<CanFrame>) {
        let (mut out, mut frames) = (Vec::new(), Vec::new());
        a.on_bytes(input, &mut out, &mut frames);
        (out, frames)
    }

    #[test]
    fn python_can_open_sequence_is_acknowledged() {
        let mut a = Adapter::new(500_000, quiet);
        let (out, frames) = feed(&mut a, b"C\rS6\r\rO\rO\r");
        assert_eq!(out, b"\r\r\r\r\r");
        assert!(frames.is_empty());
        assert_eq!(a.channel, Channel::Open);
        let (out, frames) = feed(&mut a, b"t30580000000000000000\r");
        assert_eq!(out, b"z\r");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].id(), 0x305);
        let mut out = Vec::new();
        a.deliver(&CanFrame::standard(0x351, &[1, 2]).unwrap(), &mut out);
        assert_eq!(out, b"t35120102\r");
    }

    #[test]
    fn refusals_and_wrong_bitrate() {
        let mut a = Adapter::new(500_000, quiet);
        // A frame while closed, a bad line, FD data rate: BEL each.
        let (out, frames) = feed(&mut a, b"t1230\rSx\rY2\r");
        assert_eq!(out, [7, 7, 7]);
        assert!(frames.is_empty());
        // Opened at 250k on a 500k bus: acknowledged, but nothing passes.
        let (out, _) = feed(&mut a, b"S5\rO\r");
        assert_eq!(out, b"\r\r");
        let (out, frames) = feed(&mut a, b"T0C03000020600\r");
        assert_eq!(out, b"Z\r");
        assert!(frames.is_empty());
        let mut out = Vec::new();
        a.deliver(&CanFrame::standard(0x351, &[1]).unwrap(), &mut out);
        assert!(out.is_empty());
        // The bit rate cannot change while open.
        let (out, _) = feed(&mut a, b"S6\r");
        assert_eq!(out, [7]);
    }

    #[test]
    fn timestamps_are_four_hex_digits() {
        let mut a = Adapter::new(250_000, quiet);
        let (out, _) = feed(&mut a, b"Z1\rS5\rO\r");
        assert_eq!(out, b"\r\r\r");
        let mut out = Vec::new();
        a.deliver(
            &CanFrame::extended(0x0C_0000, &[0x60, 0]).unwrap(),
            &mut out,
        );
        assert_eq!(out.len(), "T000C000026000".len() + 4 + 1, "{out:?}");
        let line = voltwire_slcan::Response::parse(&out[..out.len() - 1]).unwrap();
        assert!(matches!(line, Response::Frame(l) if l.timestamp.is_some()));
    }
}
