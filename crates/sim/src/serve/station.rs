//! The serving loop of every [`Station`]: ticks and bytes in, bytes out.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::net::TcpListener;

use super::{Log, Port, Pty, write_out};
use crate::world::{self, SharedWorld, World};
use crate::{Plant, PlantCommand, SerialResponder};

/// A device served on a byte stream, in (scaled) real time.
pub trait Station {
    /// How often [`Station::tick`] runs, in real time.
    fn tick_period(&self) -> Duration;

    /// A new client: forget what belonged to the previous one.
    fn connected(&mut self) {}

    /// Time passed: what the device sends by itself goes to `out`.
    fn tick(&mut self, out: &mut Vec<u8>);

    /// Bytes from the client: what goes back at once to `at_once`, the device's reply
    /// (held back by [`Station::reply_delay`]) to `reply`.
    ///
    /// # Errors
    ///
    /// One that ends the serving of this client.
    fn on_bytes(
        &mut self,
        input: &[u8],
        at_once: &mut Vec<u8>,
        reply: &mut Vec<u8>,
    ) -> io::Result<()>;

    /// How long a reply is held back (the `late` fault).
    fn reply_delay(&self) -> Duration;

    /// The line's bit rate when its timing is simulated (`line_timing`): a request is
    /// answered no earlier than it would have taken to arrive, and every byte out takes
    /// ten bit times. `None` (the default): bytes go as fast as the link takes them.
    fn baud(&self) -> Option<u32> {
        None
    }
}

impl<S: Station> Port for S {
    async fn serve_tcp(&mut self, listener: TcpListener, log: Log) -> io::Result<()> {
        loop {
            let (stream, peer) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            log(format_args!("voltwire sim: client {peer} connected"));
            let (reader, writer) = stream.into_split();
            if let Err(e) = serve_stream(self, reader, writer, &|| {}).await {
                log(format_args!("voltwire sim: client {peer}: {e}"));
            }
            log(format_args!("voltwire sim: client {peer} gone"));
        }
    }

    async fn serve_pty(&mut self, pty: Pty, _log: Log) -> io::Result<()> {
        let (reader, writer, slave) = pty.split();
        serve_stream(self, reader, writer, &|| slave.discard()).await
    }
}

/// Serve `station` to one client on `reader` / `writer` (e.g. an in-process pipe of an app's
/// demo) until the reader ends, as on a pty: ticks, replies, faults and line timing alike.
///
/// # Errors
///
/// A read or write that fails.
pub async fn serve_io<S, R, W>(station: &mut S, reader: R, writer: W) -> io::Result<()>
where
    S: Station,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    serve_stream(station, reader, writer, &|| {}).await
}

/// Serve one client until its reader ends.
async fn serve_stream<S, R, W, D>(
    station: &mut S,
    mut reader: R,
    mut writer: W,
    discard: &D,
) -> io::Result<()>
where
    S: Station,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
    D: Fn() + ?Sized,
{
    station.connected();
    let mut ticker = tokio::time::interval(station.tick_period());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut buf = [0u8; 1024];
    let mut out = Vec::new();
    let mut reply = Vec::new();
    let mut line = Line::new(station.baud());
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                out.clear();
                station.tick(&mut out);
                line.send(&mut writer, &out, discard).await?;
            }
            n = reader.read(&mut buf) => {
                let n = n?;
                if n == 0 {
                    return Ok(());
                }
                line.received(n);
                out.clear();
                reply.clear();
                station.on_bytes(buf.get(..n).unwrap_or_default(), &mut out, &mut reply)?;
                write_out(&mut writer, &out, discard).await?;
                let delay = station.reply_delay();
                if !delay.is_zero() && !reply.is_empty() {
                    tokio::time::sleep(delay).await;
                }
                line.send(&mut writer, &reply, discard).await?;
            }
        }
    }
}

/// The timing of a serial line at a bit rate (8N1: ten bits a byte), or none.
struct Line {
    /// One byte's time on the wire; `None`: no line timing.
    byte: Option<Duration>,
    /// When the line is free again: the last byte received or sent would have finished there.
    busy_until: tokio::time::Instant,
}

/// Bytes written at once when pacing (a UART FIFO's worth): the pace is kept per chunk.
const PACE_CHUNK: usize = 8;

impl Line {
    fn new(baud: Option<u32>) -> Self {
        Self {
            byte: baud.filter(|b| *b > 0).map(|b| Duration::from_secs(10) / b),
            busy_until: tokio::time::Instant::now(),
        }
    }

    /// `n` bytes came in: on the real line they would have taken their time after
    /// whatever was still arriving.
    fn received(&mut self, n: usize) {
        if let Some(byte) = self.byte {
            let start = self.busy_until.max(tokio::time::Instant::now());
            self.busy_until = start + byte * u32::try_from(n).unwrap_or(u32::MAX);
        }
    }

    /// Write `out`, paced: it starts once the request has arrived and each chunk is handed
    /// over when its last byte would have been on the wire.
    async fn send<W: AsyncWrite + Unpin, D: Fn() + ?Sized>(
        &mut self,
        writer: &mut W,
        out: &[u8],
        discard: &D,
    ) -> io::Result<()> {
        let Some(byte) = self.byte else {
            return write_out(writer, out, discard).await;
        };
        if out.is_empty() {
            return Ok(());
        }
        let start = self.busy_until.max(tokio::time::Instant::now());
        let mut sent = 0u32;
        for chunk in out.chunks(PACE_CHUNK) {
            sent = sent.saturating_add(u32::try_from(chunk.len()).unwrap_or(u32::MAX));
            tokio::time::sleep_until(start + byte * sent).await;
            write_out(writer, chunk, discard).await?;
        }
        self.busy_until = start + byte * sent;
        Ok(())
    }
}

/// A [`SerialResponder`] over a plant: the device on a serial line (a pty) or its console
/// server (TCP).
pub struct SerialStation {
    world: SharedWorld,
    device: Option<usize>,
    responder: Box<dyn SerialResponder + Send>,
    baud: Option<u32>,
}

impl core::fmt::Debug for SerialStation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SerialStation")
            .field("device", &self.device)
            .field("baud", &self.baud)
            .finish_non_exhaustive()
    }
}

impl SerialStation {
    /// `responder` on `plant`, the plant running `speed` times faster than real time.
    pub fn new(plant: Plant, responder: Box<dyn SerialResponder + Send>, speed: f64) -> Self {
        Self {
            world: World::new(plant, speed, 0).shared(),
            device: None,
            responder,
            baud: None,
        }
    }

    /// `responder` as device `device` of a shared `world` (a scene): its faults are the
    /// world's for that device, its plant changes go to the shared plant.
    pub fn in_world(
        world: SharedWorld,
        device: usize,
        responder: Box<dyn SerialResponder + Send>,
    ) -> Self {
        Self {
            world,
            device: Some(device),
            responder,
            baud: None,
        }
    }

    /// Pace what goes out (and the time a request takes to come in) at `baud` (8N1, ten
    /// bits a byte), as the real line would.
    #[must_use]
    pub fn with_line_timing(mut self, baud: u32) -> Self {
        self.baud = Some(baud);
        self
    }

    /// Advance the world, take this device's faults from it; then `f` with the plant and
    /// the sim time, and the plant changes the responder asked for applied.
    fn with_plant(&mut self, f: impl FnOnce(&mut dyn SerialResponder, Duration, &Plant)) {
        let mut w = world::lock(&self.world);
        let now = w.advance();
        if let Some(d) = self.device {
            *self.responder.faults_mut() = w.faults(d);
        }
        f(self.responder.as_mut(), now, w.plant());
        let mut cmds: Vec<PlantCommand> = Vec::new();
        self.responder.drain_commands(&mut cmds);
        w.plant_mut().apply(cmds);
    }
}

impl Station for SerialStation {
    fn tick_period(&self) -> Duration {
        Duration::from_millis(50)
    }

    fn tick(&mut self, out: &mut Vec<u8>) {
        self.with_plant(|r, now, plant| r.tick(now, plant, out));
    }

    fn on_bytes(
        &mut self,
        input: &[u8],
        _at_once: &mut Vec<u8>,
        reply: &mut Vec<u8>,
    ) -> io::Result<()> {
        self.with_plant(|r, now, plant| r.on_bytes(input, now, plant, reply));
        Ok(())
    }

    fn reply_delay(&self) -> Duration {
        self.responder.faults().delay
    }

    fn baud(&self) -> Option<u32> {
        self.baud
    }
}
