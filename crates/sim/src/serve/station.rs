//! The serving loop of every [`Station`]: ticks and bytes in, bytes out.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::net::TcpListener;

use super::{Log, Port, Pty, write_out};
use crate::{Plant, PlantCommand, SerialResponder, SimClock};

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

/// Serve one client until its reader ends.
async fn serve_stream<S, R, W>(
    station: &mut S,
    mut reader: R,
    mut writer: W,
    discard: &dyn Fn(),
) -> io::Result<()>
where
    S: Station,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    station.connected();
    let mut ticker = tokio::time::interval(station.tick_period());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut buf = [0u8; 1024];
    let mut out = Vec::new();
    let mut reply = Vec::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                out.clear();
                station.tick(&mut out);
                write_out(&mut writer, &out, discard).await?;
            }
            n = reader.read(&mut buf) => {
                let n = n?;
                if n == 0 {
                    return Ok(());
                }
                out.clear();
                reply.clear();
                station.on_bytes(buf.get(..n).unwrap_or_default(), &mut out, &mut reply)?;
                write_out(&mut writer, &out, discard).await?;
                let delay = station.reply_delay();
                if !delay.is_zero() && !reply.is_empty() {
                    tokio::time::sleep(delay).await;
                }
                write_out(&mut writer, &reply, discard).await?;
            }
        }
    }
}

/// A [`SerialResponder`] over a plant: the device on a serial line (a pty) or its console
/// server (TCP).
pub struct SerialStation {
    plant: Plant,
    responder: Box<dyn SerialResponder + Send>,
    clock: SimClock,
}

impl core::fmt::Debug for SerialStation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SerialStation")
            .field("plant", &self.plant)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl SerialStation {
    /// `responder` on `plant`, the plant running `speed` times faster than real time.
    pub fn new(plant: Plant, responder: Box<dyn SerialResponder + Send>, speed: f64) -> Self {
        Self {
            plant,
            responder,
            clock: SimClock::new(speed),
        }
    }
}

impl Station for SerialStation {
    fn tick_period(&self) -> Duration {
        Duration::from_millis(50)
    }

    fn tick(&mut self, out: &mut Vec<u8>) {
        let now = self.plant.advance_to(self.clock.now());
        self.responder.tick(now, &self.plant, out);
    }

    fn on_bytes(
        &mut self,
        input: &[u8],
        _at_once: &mut Vec<u8>,
        reply: &mut Vec<u8>,
    ) -> io::Result<()> {
        let now = self.plant.advance_to(self.clock.now());
        self.responder.on_bytes(input, now, &self.plant, reply);
        let mut cmds: Vec<PlantCommand> = Vec::new();
        self.responder.drain_commands(&mut cmds);
        self.plant.apply(cmds);
        Ok(())
    }

    fn reply_delay(&self) -> Duration {
        self.responder.faults().delay
    }
}
