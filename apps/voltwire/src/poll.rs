//! `voltwire poll`: the master role for the request/response protocols. Sends each of the
//! protocol's status requests in turn, prints the decoded replies as JSON Lines and a
//! `{"type":"timeout"}` item for a request that got none. Reads only: no request here
//! changes the device's state.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::{Map, Value as J};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::time::Instant;
use voltwire_core::Emit as _;
use voltwire_core::can::CanFrame;
use voltwire_runtime::link::Link;

use crate::live::{self, Source};
use crate::output::Output;
use crate::protocols::{self, Options, Protocol};

#[derive(Debug, Args)]
pub(crate) struct PollArgs {
    /// Protocol: daly, jk, jk-pb, pace, pylontech-rs485, meanwell-can or vedirect.
    protocol: String,

    /// Where the device is: serial:///dev/ttyUSB0[?baud=N] (default: the protocol's baud
    /// rate) or tcp://HOST:PORT; for meanwell-can slcan:///dev/ttyACM0?bitrate=250000,
    /// slcan+tcp://HOST:PORT?bitrate=250000 or socketcan://can0.
    #[allow(clippy::doc_markdown, reason = "URLs shown as typed in --help")]
    source: String,

    /// Device address: Daly host address (default 0x40, RS485; 0x80 on the UART), JK-PB
    /// station (default 1), Pace pack (default 1), Pylontech module (default 2), Mean Well
    /// unit id (default 0). Decimal or 0x-hex.
    #[arg(long, value_parser = parse_u8)]
    address: Option<u8>,

    /// Seconds between the starts of two polling cycles.
    #[arg(long, default_value = "5", value_parser = parse_seconds)]
    interval: Duration,

    /// Seconds to wait for each reply before reporting a timeout.
    #[arg(long, default_value = "1", value_parser = parse_seconds)]
    timeout: Duration,

    /// Stop after this many cycles (default: until Ctrl-C).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,

    /// Mean Well family: bic2200 (default) or npb.
    #[arg(long, default_value = "bic2200", value_parser = ["bic2200", "npb"])]
    family: String,
}

fn parse_u8(s: &str) -> Result<u8, String> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u8::from_str_radix(h, 16),
        None => s.parse(),
    };
    v.map_err(|_| format!("`{s}` is not an address 0-255 (decimal or 0x-hex)"))
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("`{s}` is not a number of seconds between 0 and 86400 (e.g. 0.5)"))
}

/// One request of a cycle.
struct Req {
    /// What it asks for (the `request` of a timeout item).
    name: String,
    /// Bytes or a CAN frame.
    wire: Wire,
    /// `--command` for the decoder of its reply (ASCII-hex protocols).
    command: Option<u8>,
}

enum Wire {
    Bytes(Vec<u8>),
    Can(CanFrame),
}

/// Whether a decoded message answers a request (a VE.Direct device also streams TEXT
/// records; a CAN bus carries other traffic; an RS485 adapter may echo our request).
fn is_reply(
    protocol: &str,
    kind: &str,
    _fields: &Map<String, J>,
    from_device: Option<bool>,
) -> bool {
    match protocol {
        "vedirect" => {
            kind.starts_with("hex_")
                && (kind.ends_with("_response")
                    || kind == "hex_error"
                    || kind == "hex_unknown_command")
        }
        "meanwell-can" => kind == "reply",
        "daly" => from_device == Some(true),
        "jk" => kind.ends_with("_reply"),
        _ => !kind.contains("request"),
    }
}

/// A byte request, or why it could not be encoded.
fn bytes_req(
    name: &str,
    b: Result<Vec<u8>, voltwire_core::EncodeError>,
    command: Option<u8>,
) -> Result<Req, String> {
    b.map(|b| Req {
        name: name.to_owned(),
        wire: Wire::Bytes(b),
        command,
    })
    .map_err(|e| format!("cannot encode the {name} request: {e}"))
}

/// The status requests of `protocol`, or why it cannot be polled.
fn requests(protocol: &Protocol, args: &PollArgs) -> Result<Vec<Req>, String> {
    let no_address = |what: &str| {
        if args.address.is_some() {
            Err(format!("--address does not apply to {what}"))
        } else {
            Ok(())
        }
    };
    match protocol.name {
        "daly" => daly(args.address),
        "jk" => {
            no_address("jk (its read-all request has no address)")?;
            let m = voltwire_jk::Message::read_all();
            let mut out = vec![0u8; m.buffer_len()];
            let b = m
                .emit(&mut out)
                .map(|n| out.get(..n).unwrap_or_default().to_vec());
            Ok(vec![bytes_req("read_all", b, None)?])
        }
        "jk-pb" => jk_pb(args.address.unwrap_or(1)),
        "pace" => pace(args.address.unwrap_or(1)),
        "pylontech-rs485" => pylontech(args.address.unwrap_or(2)),
        "meanwell-can" => meanwell(args.address.unwrap_or(0), &args.family),
        "vedirect" => {
            no_address("vedirect (VE.Direct is point to point)")?;
            vedirect()
        }
        other => Err(format!(
            "`{other}` has no master role to poll (it is {}); use `voltwire decode {other} SOURCE` to read it",
            if protocol.can {
                "a broadcast CAN protocol"
            } else {
                "not request/response"
            }
        )),
    }
}

fn daly(address: Option<u8>) -> Result<Vec<Req>, String> {
    use voltwire_daly::{Command, Request, Variant};
    let host = address.unwrap_or(Variant::RS485.host_address);
    [
        ("pack_status", Command::PACK_STATUS),
        ("cell_voltage_range", Command::CELL_VOLTAGE_RANGE),
        ("temperature_range", Command::TEMPERATURE_RANGE),
        ("mosfet_status", Command::MOSFET_STATUS),
        ("status_info", Command::STATUS_INFO),
        ("cell_voltages", Command::CELL_VOLTAGES),
        ("temperatures", Command::TEMPERATURES),
        ("failures", Command::FAILURES),
    ]
    .into_iter()
    .map(|(name, c)| {
        let mut out = [0u8; 13];
        let b = Request::read(c)
            .emit(host, &mut out)
            .map(|n| out.get(..n).unwrap_or_default().to_vec());
        bytes_req(name, b, None)
    })
    .collect()
}

fn jk_pb(adr: u8) -> Result<Vec<Req>, String> {
    use voltwire_jk::pb::{Message, Trigger};
    [("status", Trigger::Status), ("about", Trigger::About)]
        .into_iter()
        .map(|(name, t)| {
            let m = Message::trigger(adr, t);
            let mut out = vec![0u8; m.buffer_len()];
            let b = m
                .emit(&mut out)
                .map(|n| out.get(..n).unwrap_or_default().to_vec());
            bytes_req(name, b, None)
        })
        .collect()
}

fn pace(adr: u8) -> Result<Vec<Req>, String> {
    use voltwire_pace::{Request, RequestBody, Target};
    [
        ("analog", RequestBody::Analog(Target::Pack(adr))),
        ("status", RequestBody::Status(Target::Pack(adr))),
    ]
    .into_iter()
    .map(|(name, body)| {
        let r = Request::new(adr, body);
        let b = r.to_frame().map(|f| f.to_bytes().to_vec());
        bytes_req(name, b, Some(r.command()))
    })
    .collect()
}

fn pylontech(adr: u8) -> Result<Vec<Req>, String> {
    use voltwire_pylontech::rs485::{Request, RequestBody, Target};
    [
        ("analog", RequestBody::Analog(Target::Module(adr))),
        ("alarm", RequestBody::Alarm(Target::Module(adr))),
    ]
    .into_iter()
    .map(|(name, body)| {
        let r = Request::new(adr, body);
        let b = r.to_frame().map(|f| f.to_bytes().to_vec());
        bytes_req(name, b, Some(r.command()))
    })
    .collect()
}

fn meanwell(id: u8, family: &str) -> Result<Vec<Req>, String> {
    use voltwire_meanwell::{Command, Family, Message, Target};
    let family = if family == "npb" {
        Family::Npb
    } else {
        Family::Bic2200
    };
    if id > 7 {
        return Err(format!("--address {id}: a Mean Well unit id is 0-7"));
    }
    [
        ("read_vout", Command::READ_VOUT),
        ("read_iout", Command::READ_IOUT),
        ("read_temperature_1", Command::READ_TEMPERATURE_1),
        ("fault_status", Command::FAULT_STATUS),
    ]
    .into_iter()
    .map(|(name, c)| {
        Message::read(family, Target::Device(id), c)
            .to_frame::<CanFrame>()
            .map(|f| Req {
                name: name.to_owned(),
                wire: Wire::Can(f),
                command: None,
            })
            .map_err(|e| format!("cannot encode the {name} request: {e}"))
    })
    .collect()
}

fn vedirect() -> Result<Vec<Req>, String> {
    use voltwire_victron::hex::Request;
    [
        ("device_state", 0x0201_u16),
        ("battery_voltage", 0xED8D),
        ("battery_current", 0xED8F),
    ]
    .into_iter()
    .map(|(name, reg)| {
        let b = Request::get(reg)
            .to_frame()
            .map(|f| format!("{f}\n").into_bytes());
        bytes_req(name, b, None)
    })
    .collect()
}

pub(crate) fn run(args: &PollArgs) -> ExitCode {
    let Some(protocol) = protocols::find(&args.protocol) else {
        return usage(&format!(
            "unknown PROTOCOL `{}`; choose one of: daly, jk, jk-pb, pace, pylontech-rs485, meanwell-can, vedirect",
            args.protocol
        ));
    };
    let reqs = match requests(protocol, args) {
        Ok(r) => r,
        Err(e) => return usage(&e),
    };
    if !live::is_url(&args.source) {
        return usage(&format!(
            "SOURCE `{}` is not a port URL; give serial:///dev/ttyUSB0 or tcp://HOST:PORT{}",
            args.source,
            if protocol.can {
                " (CAN: slcan:///dev/ttyACM0?bitrate=250000)"
            } else {
                ""
            }
        ));
    }
    let source = match live::parse(protocol, &args.source) {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    let rt = match live::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            say!("voltwire poll: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = Output::new(protocol.name);
    out.reply_filter = Some(is_reply);
    let replies = rt.block_on(async {
        let stop = match voltwire_runtime::signal::Signals::register() {
            Ok(s) => s.stop(),
            Err(e) => {
                say!("voltwire poll: cannot take over SIGINT/SIGTERM: {e}");
                return 0;
            }
        };
        tokio::pin!(stop);
        let mut poller = Poller {
            protocol,
            label: args.source.clone(),
            timeout: args.timeout,
            replies: 0,
            link: None,
            bus: None,
            down: false,
            context: None,
        };
        match source {
            Source::Bytes(url) => {
                tokio::select! {
                    () = poller.cycles(&reqs, args, &mut out, Some(&url)) => {}
                    () = &mut stop => {}
                }
            }
            Source::Bus(url) => {
                poller.bus = Some(live::open_bus(url, &args.source));
                tokio::select! {
                    () = poller.cycles(&reqs, args, &mut out, None) => {}
                    () = &mut stop => {}
                }
            }
        }
        poller.replies
    });
    out.flush();
    if let Some(e) = out.write_error.take() {
        return crate::stdout::failed("voltwire poll", &e);
    }
    if replies == 0 {
        say!("voltwire poll: no reply from {}", args.source);
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn usage(msg: &str) -> ExitCode {
    say!("voltwire poll: {msg}");
    ExitCode::from(2)
}

struct Poller {
    protocol: &'static Protocol,
    label: String,
    timeout: Duration,
    replies: u64,
    link: Option<Link>,
    bus: Option<live::Bus>,
    /// The port could not be opened (said once until it opens).
    down: bool,
    /// What the last exchange's decoder learned of the device (Daly: the 0x94 counts that
    /// size the 0x95/0x96 replies).
    context: Option<protocols::Context>,
}

impl Poller {
    async fn cycles(
        &mut self,
        reqs: &[Req],
        args: &PollArgs,
        out: &mut Output,
        url: Option<&voltwire_runtime::link::LinkUrl>,
    ) {
        let mut cycle = 0u64;
        let mut next = Instant::now();
        loop {
            cycle += 1;
            if let (Some(url), None) = (url, &self.link) {
                match Link::open(url).await {
                    Ok(l) => {
                        if self.down {
                            say!("voltwire: {}: connected", self.label);
                        }
                        self.down = false;
                        self.link = Some(l);
                    }
                    Err(e) => {
                        if !self.down {
                            say!(
                                "voltwire: {}: cannot open ({e}); trying again each cycle",
                                self.label
                            );
                        }
                        self.down = true;
                    }
                }
            }
            let bus_up = match self.bus.as_mut() {
                Some(bus) => bus.until_up(self.timeout).await,
                None => true,
            };
            for req in reqs {
                let answered = if (url.is_some() && self.link.is_none()) || !bus_up {
                    None
                } else {
                    Some(self.exchange(req, out).await)
                };
                if answered != Some(true) {
                    let mut f = Map::new();
                    f.insert("cycle".into(), cycle.into());
                    f.insert("request".into(), req.name.clone().into());
                    let reason = if answered.is_some() {
                        "no_reply"
                    } else {
                        "port_unavailable"
                    };
                    f.insert("reason".into(), reason.into());
                    f.insert("timeout_s".into(), self.timeout.as_secs_f64().into());
                    out.notice("timeout", f);
                }
                out.flush();
                if out.write_error.is_some() {
                    return;
                }
            }
            if args.count.is_some_and(|c| cycle >= c) {
                return;
            }
            next += args.interval;
            let now = Instant::now();
            if next < now {
                next = now;
            }
            tokio::time::sleep_until(next).await;
        }
    }

    /// Send `req`, decode until its reply (true) or the timeout (false).
    async fn exchange(&mut self, req: &Req, out: &mut Output) -> bool {
        let mut decoder = (self.protocol.new)(&Options {
            command: req.command,
        });
        if let Some(c) = self.context {
            decoder.set_context(c);
        }
        let deadline = Instant::now() + self.timeout;
        let before = out.replies;
        match (&req.wire, self.link.as_mut(), self.bus.as_mut()) {
            (Wire::Bytes(b), Some(link), _) => {
                if let Err(e) = write(link, b).await {
                    say!("voltwire: {}: lost ({e}); reconnecting", self.label);
                    self.link = None;
                    return false;
                }
                let mut buf = vec![0u8; 4096];
                while out.replies == before {
                    // A reply being assembled is complete once the line falls silent.
                    let quiet = decoder.quiet_after().map(|q| Instant::now() + q);
                    let until = quiet.map_or(deadline, |q| q.min(deadline));
                    let read = tokio::time::timeout_at(until, link.read(&mut buf)).await;
                    match read {
                        Err(_) if until < deadline => decoder.quiet(out),
                        Err(_) => break,
                        Ok(Ok(0)) => {
                            say!(
                                "voltwire: {}: closed by the other end; reconnecting",
                                self.label
                            );
                            self.link = None;
                            break;
                        }
                        Ok(Ok(n)) => decoder.feed(buf.get(..n).unwrap_or_default(), out),
                        Ok(Err(e)) => {
                            say!("voltwire: {}: lost ({e}); reconnecting", self.label);
                            self.link = None;
                            break;
                        }
                    }
                }
            }
            (Wire::Can(f), _, Some(bus)) => {
                if bus.send.send(vec![*f]).await.is_err() {
                    return false;
                }
                let mut index = 0;
                while out.replies == before {
                    match tokio::time::timeout_at(deadline, bus.next()).await {
                        Ok(Some(frame)) => {
                            index += 1;
                            decoder.frame(index, &frame, out);
                        }
                        Ok(None) | Err(_) => break,
                    }
                }
            }
            _ => return false,
        }
        decoder.finish(out);
        self.context = decoder.context().or(self.context);
        let got = out.replies > before;
        if got {
            self.replies += 1;
        }
        got
    }
}

async fn write(link: &mut Link, bytes: &[u8]) -> std::io::Result<()> {
    link.write_all(bytes).await?;
    link.flush().await
}
