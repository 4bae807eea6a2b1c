//! Live sources for `voltwire decode` (and `voltwire poll`): serial ports and TCP links
//! (`voltwire_runtime::link`), CAN buses (`voltwire_runtime::can`), reopened with backoff
//! when they are lost; every loss and reconnection is said on stderr.

use std::process::ExitCode;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::sync::mpsc;
use voltwire_runtime::can::port::{self, PortEvent, Timeouts, Wires};
use voltwire_runtime::can::{BusUrl, CanFrame, VirtualBuses};
use voltwire_runtime::link::{Backoff, Link, LinkUrl};

use crate::output::Output;
use crate::protocols::{Decode, Protocol};

/// Where live bytes or frames come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A serial port or a TCP link carrying the protocol's bytes.
    Bytes(LinkUrl),
    /// A CAN bus (SLCAN adapter on a port or over TCP, `SocketCAN`).
    Bus(BusUrl),
}

/// Whether `s` names a live source rather than a file.
pub(crate) fn is_url(s: &str) -> bool {
    s.contains("://")
}

/// The source `s` for `protocol`; an error names what is wrong and the fix.
pub(crate) fn parse(protocol: &Protocol, s: &str) -> Result<Source, String> {
    let name = protocol.name;
    if s.starts_with("serial://") || s.starts_with("tcp://") {
        if protocol.can {
            return Err(format!(
                "SOURCE `{s}`: `{name}` is a CAN protocol; give a bus ({}), or a candump log file",
                BusUrl::HELP
            ));
        }
        // The protocol's own baud rate unless the URL gives one.
        let with_baud = if s.starts_with("serial://") && !s.contains("baud=") {
            let sep = if s.contains('?') { '&' } else { '?' };
            format!("{s}{sep}baud={}", protocol.baud)
        } else {
            s.to_owned()
        };
        return with_baud
            .parse::<LinkUrl>()
            .map(Source::Bytes)
            .map_err(|e| format!("SOURCE: {e}"));
    }
    if ["slcan://", "slcan+tcp://", "socketcan://", "virtual://"]
        .iter()
        .any(|p| s.starts_with(p))
    {
        if !protocol.can {
            let hint = if name == "slcan" {
                "`decode slcan` reads an adapter's raw SLCAN text: give serial:///dev/ttyACM0?baud=115200 or tcp://HOST:PORT"
            } else {
                "give serial:///dev/ttyUSB0 (the baud rate defaults to the protocol's) or tcp://HOST:PORT"
            };
            return Err(format!(
                "SOURCE `{s}`: `{name}` is not a CAN protocol; {hint}"
            ));
        }
        if s.starts_with("virtual://") {
            return Err(format!(
                "SOURCE `{s}`: a virtual bus exists only inside one process; {}",
                BusUrl::HELP
            ));
        }
        return s
            .parse::<BusUrl>()
            .map(Source::Bus)
            .map_err(|e| format!("SOURCE: {e}"));
    }
    let fix = if protocol.can {
        BusUrl::HELP.to_owned()
    } else {
        "give serial:///dev/ttyUSB0?baud=9600 or tcp://HOST:PORT".to_owned()
    };
    Err(format!("SOURCE `{s}`: unknown scheme; {fix}"))
}

/// How long to wait before opening a lost source again: 200 ms doubling to 5 s.
pub(crate) fn backoff() -> Backoff {
    Backoff::new(Duration::from_millis(200), Duration::from_secs(5), 200, 13)
}

/// A current-thread runtime for the live commands.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Decode `source` until SIGINT/SIGTERM; the status is that of a file decode (1 when
/// nothing was decoded).
pub(crate) fn decode(
    protocol: &'static Protocol,
    label: &str,
    source: Source,
    decoder: &mut dyn Decode,
) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            say!("voltwire decode: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = Output::new(protocol.name);
    rt.block_on(async {
        let stop = match voltwire_runtime::signal::Signals::register() {
            Ok(s) => s.stop(),
            Err(e) => {
                say!("voltwire decode: cannot take over SIGINT/SIGTERM: {e}");
                return;
            }
        };
        tokio::pin!(stop);
        match source {
            Source::Bytes(url) => {
                tokio::select! {
                    () = read_bytes(&url, label, decoder, &mut out) => {}
                    () = &mut stop => {}
                }
            }
            Source::Bus(url) => {
                let mut bus = open_bus(url, label);
                tokio::select! {
                    () = read_frames(&mut bus, decoder, &mut out) => {}
                    () = &mut stop => {}
                }
            }
        }
    });
    decoder.finish(&mut out);
    out.flush();
    if let Some(e) = out.write_error.take() {
        return crate::stdout::failed("voltwire decode", &e);
    }
    if out.messages == 0 {
        say!(
            "voltwire: nothing could be decoded as {} from {label} ({} errors)",
            protocol.name,
            out.errors
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Open `url`, retrying with [`backoff`] and saying so; returns once it is open.
pub(crate) async fn connect(url: &LinkUrl, label: &str) -> Link {
    let mut backoff = backoff();
    loop {
        match Link::open(url).await {
            Ok(link) => {
                if backoff.attempt() > 0 {
                    say!("voltwire: {label}: connected");
                }
                return link;
            }
            Err(e) => {
                let delay = backoff.next_delay();
                if backoff.attempt() == 1 {
                    say!("voltwire: {label}: cannot open ({e}); retrying with backoff");
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Read `url` forever: decode what arrives, reopen it when it is lost. Returns only when
/// stdout cannot be written.
async fn read_bytes(url: &LinkUrl, label: &str, decoder: &mut dyn Decode, out: &mut Output) {
    let mut buf = vec![0u8; crate::input::CHUNK];
    loop {
        let mut link = connect(url, label).await;
        loop {
            let read = match decoder.quiet_after() {
                None => link.read(&mut buf).await,
                Some(quiet) => {
                    let Ok(r) = tokio::time::timeout(quiet, link.read(&mut buf)).await else {
                        // The line fell silent: what is being assembled is complete.
                        decoder.quiet(out);
                        out.flush();
                        if out.write_error.is_some() {
                            return;
                        }
                        continue;
                    };
                    r
                }
            };
            match read {
                Ok(0) => {
                    say!("voltwire: {label}: closed by the other end; reconnecting");
                    break;
                }
                Ok(n) => {
                    decoder.feed(buf.get(..n).unwrap_or_default(), out);
                    out.flush();
                    if out.write_error.is_some() {
                        return;
                    }
                }
                Err(e) => {
                    say!("voltwire: {label}: lost ({e}); reconnecting");
                    break;
                }
            }
        }
    }
}

/// A CAN bus run by the runtime's bus task (reopened with backoff when lost).
pub(crate) struct Bus {
    /// Bursts to send (kept open: the bus task ends when it closes).
    pub(crate) send: mpsc::Sender<Vec<CanFrame>>,
    /// Frames received.
    pub(crate) received: mpsc::Receiver<port::Received<()>>,
    notices: mpsc::UnboundedReceiver<PortEvent<()>>,
    label: String,
    /// The bus task said it is open (and not lost since).
    up: bool,
}

/// Start the bus task for `url`.
pub(crate) fn open_bus(url: BusUrl, label: &str) -> Bus {
    let (send, to_send) = mpsc::channel(8);
    let (received_tx, received) = mpsc::channel(256);
    let (notices_tx, notices) = mpsc::unbounded_channel();
    let timeouts = Timeouts {
        receive: None,
        write: port::WRITE_TIMEOUT,
    };
    tokio::spawn(port::run(
        url,
        label.to_owned(),
        (),
        timeouts,
        VirtualBuses::default(),
        Wires {
            to_send,
            received: received_tx,
            notices: notices_tx,
        },
    ));
    Bus {
        send,
        received,
        notices,
        label: label.to_owned(),
        up: false,
    }
}

impl Bus {
    /// Wait until the bus is open, at most `wait` (frames received meanwhile are dropped);
    /// whether it is.
    pub(crate) async fn until_up(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        while !self.up {
            let event = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    biased;
                    n = self.notices.recv() => n,
                    r = self.received.recv() => r.map(|_| PortEvent::Sent(())),
                }
            })
            .await;
            match event {
                Ok(Some(n)) => self.notice(n),
                Ok(None) | Err(_) => return false,
            }
        }
        true
    }

    fn notice(&mut self, n: PortEvent<()>) {
        match n {
            PortEvent::Up(()) => {
                self.up = true;
                say!("voltwire: {}: bus open", self.label);
            }
            PortEvent::Down(()) => {
                self.up = false;
                say!("voltwire: {}: bus lost; reopening with backoff", self.label);
            }
            PortEvent::Malformed((), n) => {
                say!(
                    "voltwire: {}: {n} malformed adapter line(s) skipped",
                    self.label
                );
            }
            PortEvent::SendFailed(()) => {
                say!("voltwire: {}: a request could not be sent", self.label);
            }
            PortEvent::Sent(()) => {}
        }
    }

    /// The next frame; bus notices on the way are said on stderr. `None` when the bus task
    /// ended.
    pub(crate) async fn next(&mut self) -> Option<CanFrame> {
        loop {
            tokio::select! {
                biased;
                n = self.notices.recv() => match n {
                    Some(n) => self.notice(n),
                    None => return None,
                },
                r = self.received.recv() => return r.map(|r| r.frame),
            }
        }
    }
}

async fn read_frames(bus: &mut Bus, decoder: &mut dyn Decode, out: &mut Output) {
    let mut index = 0u64;
    while let Some(frame) = bus.next().await {
        index += 1;
        decoder.frame(index, &frame, out);
        out.flush();
        if out.write_error.is_some() {
            return;
        }
    }
    say!("voltwire: {}: the bus task ended", bus.label);
}
