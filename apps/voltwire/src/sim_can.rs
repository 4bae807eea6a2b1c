//! `voltwire sim` for the CAN devices: our process plays the USB-CAN adapter (a `CANable`
//! speaking SLCAN) on a new pseudo-terminal or a TCP port, with the simulated device on the
//! CAN bus behind it.
//!
//! A host using SLCAN (python-can `interface="slcan"`, `slcand`, `voltwire-runtime`'s
//! `SlcanBus`) opens the printed path, runs the usual open sequence (`C`, `Sn`, `O`) and
//! then sees the device's frames as `t`/`T` lines; the frames it transmits reach the device.
//! Replies follow the `CANable` 2 firmware: CR for a command done, BEL for one refused,
//! `z`/`Z` for a transmitted frame. Every line we send is a well-formed SLCAN line.

use std::io::{self, Write as _};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use nix::sys::termios::{self, FlushArg};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::net::TcpListener;
use voltwire_core::{Emit as _, StreamDecoder as _};
use voltwire_meanwell::Model;
use voltwire_pylontech::can::{Message, ParseError};
use voltwire_sim::device::{MeanwellPsu, PylontechCanBms, PylontechInverter};
use voltwire_sim::{CanFrame, CanResponder, PackConfig, Plant, PlantCommand, SimClock};
use voltwire_slcan::{AdapterDecoder, Command, Dialect, FrameLine, Response};

use super::{
    Pty, SimArgs, announce, check_cells, check_modules, check_soc, check_speed, given,
    is_host_port, parse_faults, serve_blocking, stop_signal, usage, watts, write_out,
};

/// The options only the CAN devices take.
#[derive(Debug, Args)]
pub(crate) struct CanArgs {
    /// CAN devices: the bus bit rate in bit/s (default 500000 for Pylontech, 250000 for
    /// Mean Well). A host that opens the adapter at another rate sees no frames.
    #[arg(long, value_name = "N")]
    bitrate: Option<u32>,
}

/// The CAN devices: name, default bit rate.
const CAN_DEVICES: &[(&str, u32)] = &[
    ("pylontech-can", 500_000),
    ("pylontech-inverter", 500_000),
    ("meanwell-bic2200", 250_000),
    ("meanwell-npb", 250_000),
];

/// Mean Well jumper id of the simulated unit.
const MEANWELL_ID: u8 = 0;

/// How often the simulated inverter sends its 0x305 keep-alive (sim time).
const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// Whether `voltwire sim` hands these arguments to this module.
pub(crate) fn handles(args: &SimArgs) -> bool {
    let name = args.device.as_deref().unwrap_or_default();
    args.can.bitrate.is_some() || CAN_DEVICES.iter().any(|(n, _)| *n == name)
}

/// Where to serve.
#[derive(Debug)]
enum Listen {
    SlcanPty,
    Tcp(String),
}

/// The simulated device.
#[derive(Debug)]
enum Device {
    Bms(PylontechCanBms),
    Psu(MeanwellPsu),
    Inverter(PylontechInverter),
}

impl Device {
    fn responder(&mut self) -> &mut dyn CanResponder {
        match self {
            Self::Bms(d) => d,
            Self::Psu(d) => d,
            Self::Inverter(d) => d,
        }
    }
}

/// Everything needed to run, validated.
#[derive(Debug)]
struct Setup {
    listen: Listen,
    plant: Plant,
    device: Device,
    speed: f64,
    bitrate: u32,
}

#[allow(
    clippy::too_many_lines,
    reason = "one validation after the other, each with its message"
)]
fn setup(args: &SimArgs) -> Result<Setup, String> {
    let name = args.device.as_deref().unwrap_or_default();
    let Some(&(name, default_bitrate)) = CAN_DEVICES.iter().find(|(n, _)| *n == name) else {
        let names: Vec<_> = CAN_DEVICES.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "--bitrate does not apply to `{name}` (a serial device); the CAN devices are: {}",
            names.join(", ")
        ));
    };
    let Some(device) = super::DEVICES.iter().find(|d| d.name == name) else {
        return Err(format!("unknown DEVICE `{name}`"));
    };
    for o in given(args) {
        if !device.options.contains(&o) {
            let opts: Vec<_> = device.options.iter().map(|o| o.flag()).collect();
            return Err(format!(
                "{} does not apply to `{}`; its options are: {}",
                o.flag(),
                device.name,
                if opts.is_empty() {
                    "none".to_owned()
                } else {
                    opts.join(" ")
                }
            ));
        }
    }
    let listen = match args.listen.as_deref().unwrap_or_default() {
        "slcan-pty" => Listen::SlcanPty,
        "pty" => {
            return Err(format!(
                "--listen pty: `{name}` is a CAN device served through a simulated SLCAN adapter; use --listen slcan-pty (or tcp://HOST:PORT for SLCAN over TCP)"
            ));
        }
        l => match l.strip_prefix("tcp://") {
            Some(addr) if is_host_port(addr) => Listen::Tcp(addr.to_owned()),
            _ => {
                return Err(format!(
                    "--listen `{l}`: expected `slcan-pty` or `tcp://HOST:PORT` (e.g. --listen slcan-pty)"
                ));
            }
        },
    };
    let bitrate = args.can.bitrate.unwrap_or(default_bitrate);
    if voltwire_slcan::bitrate_code(bitrate, Dialect::Canable).is_none() {
        return Err(format!(
            "--bitrate {bitrate}: an SLCAN adapter offers 10000, 20000, 50000, 83300, 100000, 125000, 250000, 500000, 750000 or 1000000 (e.g. --bitrate {default_bitrate})"
        ));
    }
    let cells = check_cells(args, device.cells)?;
    let modules = check_modules(args)?;
    let soc = check_soc(args)?;
    check_speed(args)?;
    if args.drop_after != 0.0 || args.drop_for.is_some() {
        return Err(format!(
            "--drop-after/--drop-for do not apply to `{name}` (its `--fault drop` closes the port for good)"
        ));
    }
    let faults = parse_faults(args, |f| {
        (f == "bad-checksum").then(|| format!(
            "--fault bad-checksum: `{name}` speaks a CAN protocol without a checksum of its own (the CRC lives in the CAN controller); use --fault garbage for malformed payloads"
        ))
    })?;
    let pack = PackConfig {
        cells,
        initial_soc: soc / 100.0,
        ..PackConfig::default()
    };
    let mut plant = Plant::new(vec![pack; modules]);
    let mut device = match name {
        "pylontech-can" => {
            plant.flows.charge = watts("--charge", args.charge, 0)?;
            plant.flows.discharge = watts("--discharge", args.discharge, 500)?;
            Device::Bms(PylontechCanBms::new())
        }
        "pylontech-inverter" => Device::Inverter(PylontechInverter::new(KEEP_ALIVE)),
        "meanwell-bic2200" => Device::Psu(MeanwellPsu::new(Model::Bic2200_48, MEANWELL_ID)),
        _ => Device::Psu(MeanwellPsu::new(Model::Npb1700_48, MEANWELL_ID)),
    };
    *device.responder().faults_mut() = faults;
    Ok(Setup {
        listen,
        plant,
        device,
        speed: args.speed,
        bitrate,
    })
}

/// `voltwire sim` for a CAN device (or with `--bitrate`).
pub(crate) fn run(args: &SimArgs) -> ExitCode {
    match setup(args) {
        Ok(s) => serve_blocking(serve(s)),
        Err(e) => usage(&e),
    }
}

async fn serve(setup: Setup) -> io::Result<()> {
    let stop = stop_signal()?;
    let mut stop = std::pin::pin!(stop);
    let Setup {
        listen,
        plant,
        device,
        speed,
        bitrate,
    } = setup;
    let mut sim = CanSim {
        plant,
        device,
        clock: SimClock::new(speed),
        bitrate,
    };
    match listen {
        Listen::SlcanPty => {
            let pty = Pty::open()?;
            announce(&pty.path)?;
            if sim.device.responder().faults().drop_port {
                drop(pty);
                return stop.await;
            }
            let Pty {
                reader,
                writer,
                slave,
                path: _,
            } = pty;
            let discard = || {
                let _ = termios::tcflush(&slave, FlushArg::TCIFLUSH);
            };
            tokio::select! {
                r = &mut stop => r,
                r = serve_port(&mut sim, reader, writer, &discard) => super::pty_ended(r),
            }
        }
        Listen::Tcp(addr) => {
            let listener = TcpListener::bind(&addr)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("--listen tcp://{addr}: {e}")))?;
            announce(&listener.local_addr()?.to_string())?;
            tokio::select! {
                r = &mut stop => r,
                r = accept_loop(&mut sim, &listener) => r,
            }
        }
    }
}

async fn accept_loop(sim: &mut CanSim, listener: &TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        if sim.device.responder().faults().drop_port {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        say!("voltwire sim: client {peer} connected");
        let (reader, writer) = stream.into_split();
        if let Err(e) = serve_port(sim, reader, writer, &|| {}).await {
            say!("voltwire sim: client {peer}: {e}");
        }
        say!("voltwire sim: client {peer} gone");
    }
}

/// The plant and the device on the bus, in (scaled) real time.
struct CanSim {
    plant: Plant,
    device: Device,
    clock: SimClock,
    bitrate: u32,
}

impl CanSim {
    /// Advance the plant to now; the sim time.
    fn advance(&mut self) -> Duration {
        self.plant.advance_to(self.clock.now())
    }

    fn apply_commands(&mut self) {
        let mut cmds: Vec<PlantCommand> = Vec::new();
        self.device.responder().drain_commands(&mut cmds);
        self.plant.apply(cmds);
    }

    /// The simulated inverter prints what it read, one JSON object per frame.
    fn report_seen(&mut self) -> io::Result<()> {
        let Device::Inverter(inv) = &mut self.device else {
            return Ok(());
        };
        let mut seen = Vec::new();
        inv.drain_seen(&mut seen);
        if seen.is_empty() {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        for (id, m) in seen {
            writeln!(out, "{}", seen_json(id, m))?;
        }
        out.flush()
    }
}

/// One frame the inverter read as JSON: `{"seen": "0x351", "type": …, fields…}` or
/// `{"seen": "0x351", "error": "<code>"}`.
fn seen_json(id: u32, m: Result<Message, ParseError>) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    o.insert("seen".into(), format!("0x{id:03X}").into());
    match m {
        Ok(m) => {
            o.insert("type".into(), m.name().into());
            for (k, v) in crate::protocols::pylontech_can::fields(&m) {
                if k != "id" {
                    o.insert(k, v);
                }
            }
        }
        Err(e) => {
            o.insert("error".into(), e.code().into());
        }
    }
    serde_json::Value::Object(o)
}

/// The SLCAN adapter: host commands in, replies and received frames out (sans-IO).
/// The adapter's CAN channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Closed,
    Open,
    ListenOnly,
}

#[derive(Debug)]
struct Adapter {
    decoder: AdapterDecoder,
    channel: Channel,
    timestamps: bool,
    /// The bit rate the host chose (`None`: not set, or set by BTR registers).
    host_bitrate: Option<u32>,
    bus_bitrate: u32,
    warned: bool,
    opened_at: Instant,
}

impl Adapter {
    fn new(bus_bitrate: u32) -> Self {
        Self {
            decoder: AdapterDecoder::new(),
            channel: Channel::Closed,
            timestamps: false,
            host_bitrate: None,
            bus_bitrate,
            warned: false,
            opened_at: Instant::now(),
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
                    say!(
                        "voltwire sim: the host opened the adapter at {b} bit/s but the bus runs at {} bit/s: no frames pass (fix: open it at {} or start the sim with --bitrate {b})",
                        self.bus_bitrate,
                        self.bus_bitrate
                    );
                }
                false
            }
            _ => true,
        }
    }

    /// Handle host bytes: replies go to `out`, frames to transmit to `frames`.
    fn on_bytes(&mut self, mut input: &[u8], out: &mut Vec<u8>, frames: &mut Vec<CanFrame>) {
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
    fn deliver(&mut self, f: &CanFrame, out: &mut Vec<u8>) {
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

/// Serve one host connection until it ends.
async fn serve_port<R, W>(
    sim: &mut CanSim,
    mut reader: R,
    mut writer: W,
    discard: &dyn Fn(),
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut adapter = Adapter::new(sim.bitrate);
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut buf = [0u8; 1024];
    let mut out = Vec::new();
    let mut frames = Vec::new();
    let mut replies = Vec::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = sim.advance();
                frames.clear();
                sim.device.responder().tick(now, &sim.plant, &mut frames);
                sim.apply_commands();
                out.clear();
                for f in &frames {
                    adapter.deliver(f, &mut out);
                }
                write_out(&mut writer, &out, discard).await?;
            }
            n = reader.read(&mut buf) => {
                let n = n?;
                if n == 0 {
                    return Ok(());
                }
                let now = sim.advance();
                out.clear();
                frames.clear();
                adapter.on_bytes(buf.get(..n).unwrap_or_default(), &mut out, &mut frames);
                // The adapter's own replies go out at once.
                write_out(&mut writer, &out, discard).await?;
                replies.clear();
                for f in &frames {
                    sim.device.responder().on_frame(f, now, &sim.plant, &mut replies);
                }
                sim.apply_commands();
                sim.report_seen()?;
                out.clear();
                for f in &replies {
                    adapter.deliver(f, &mut out);
                }
                let delay = sim.device.responder().faults().delay;
                if !delay.is_zero() && !out.is_empty() {
                    tokio::time::sleep(delay).await;
                }
                write_out(&mut writer, &out, discard).await?;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
mod tests {
    use super::*;

    fn feed(a: &mut Adapter, input: &[u8]) -> (Vec<u8>, Vec<CanFrame>) {
        let (mut out, mut frames) = (Vec::new(), Vec::new());
        a.on_bytes(input, &mut out, &mut frames);
        (out, frames)
    }

    #[test]
    fn python_can_open_sequence_is_acknowledged() {
        let mut a = Adapter::new(500_000);
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
        let mut a = Adapter::new(500_000);
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
        let mut a = Adapter::new(250_000);
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
