//! The sources: a Daly or Pace BMS (polled, charge-MOSFET write) or a Pylontech module
//! (RS485, polled, read only), VE.Direct TEXT devices (receive
//! only) and Linux 1-Wire sensors. Each runs in its own task, survives the loss of its link
//! (reconnect with backoff) and reports through [`Input`]s; silence is judged by the rules
//! (each source's own age and timeout).

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::sync::{mpsc, watch};
use voltwire_bms_rules::{BmsReading, ShuntReading};
use voltwire_core::{DeciCelsius, StreamDecoder as _};
use voltwire_daly::{Command, Decoder, FRAME_LEN, Request, Response, Variant};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_runtime::poll::{PollConfig, PollError, Poller};
use voltwire_victron::text::{Message, RecordDecoder};

use crate::engine::Input;

/// Opens a source's byte stream (again after a loss). An error of kind
/// [`io::ErrorKind::NotConnected`] means "never again": the source task ends (and with it
/// the bridge, non-zero); any other error is retried with backoff.
pub trait Connect: Send + 'static {
    /// The stream.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Open it, waiting as long as it takes (with backoff).
    fn connect(&mut self) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

/// A runtime link (`serial://…`, `tcp://…`) reopened with backoff.
#[derive(Debug)]
pub struct LinkConnect(Reconnect);

impl LinkConnect {
    /// Reconnect to `url` with a 0.5 s → 30 s backoff.
    pub fn new(url: LinkUrl, seed: u64) -> Self {
        Self(Reconnect::new(url, backoff(seed)))
    }
}

fn backoff(seed: u64) -> Backoff {
    Backoff::new(
        Duration::from_millis(500),
        Duration::from_secs(30),
        200,
        seed,
    )
}

impl Connect for LinkConnect {
    type Io = voltwire_runtime::link::Link;
    async fn connect(&mut self) -> io::Result<Self::Io> {
        self.0.connect(None).await
    }
}

/// Streams handed over a channel (the demo's in-process pipes, tests): each `connect` takes
/// the next one; a closed channel is an error.
#[derive(Debug)]
pub struct ChannelConnect<T>(pub mpsc::Receiver<T>);

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Connect for ChannelConnect<T> {
    type Io = T;
    async fn connect(&mut self) -> io::Result<T> {
        self.0
            .recv()
            .await
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no more streams"))
    }
}

async fn link_event(tx: &mpsc::Sender<Input>, source: &str, up: bool, detail: String) {
    if up {
        tracing::info!(source, "link up");
    } else {
        tracing::warn!(source, %detail, "link down");
    }
    let _ = tx
        .send(Input::Link {
            source: source.to_owned(),
            up,
            detail,
        })
        .await;
}

/// Daly settings.
#[derive(Debug, Clone, Copy)]
pub struct DalyOptions {
    /// Board variant.
    pub variant: Variant,
    /// Poll period.
    pub poll: Duration,
    /// Poller timing.
    pub poller: PollConfig,
}

fn frame(req: Request, host: u8) -> Vec<u8> {
    let mut buf = [0u8; FRAME_LEN];
    match req.emit(host, &mut buf) {
        Ok(n) => buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

type DalyPoller<L> = Poller<L, Decoder>;

async fn daly_read<L: AsyncRead + AsyncWrite + Unpin>(
    p: &mut DalyPoller<L>,
    variant: &Variant,
    command: Command,
) -> Result<Response, PollError> {
    let req = frame(Request::read(command), variant.host_address);
    let item = p
        .request(&req, |i| i.as_ref().is_ok_and(|f| f.command == command.0))
        .await?;
    // A reply we cannot give a meaning (a value out of range) is no answer, not a lost link:
    // it comes back as `Other` and the poll skips it.
    Ok(match item {
        Ok(f) => Response::parse(&f, variant).unwrap_or_else(|e| {
            tracing::debug!(error = %e, "daly: reply not understood");
            Response::Other {
                command: Command(f.command),
                data: f.data,
            }
        }),
        Err(_) => Response::Other {
            command,
            data: [0; 8],
        },
    })
}

/// One poll: pack status, cell range, temperatures, MOSFETs. A missing or not understood pack
/// status or cell range makes the whole poll "no answer" (`Timeout`); temperatures and MOSFETs
/// are optional.
async fn daly_poll<L: AsyncRead + AsyncWrite + Unpin>(
    p: &mut DalyPoller<L>,
    variant: &Variant,
) -> Result<(BmsReading, Option<bool>), PollError> {
    let Response::PackStatus(pack) = daly_read(p, variant, Command::PACK_STATUS).await? else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let Response::CellVoltageRange(cells) =
        daly_read(p, variant, Command::CELL_VOLTAGE_RANGE).await?
    else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let temp = match daly_read(p, variant, Command::TEMPERATURE_RANGE).await {
        Ok(Response::TemperatureRange(t)) => Some(t.max),
        Err(e) if e.is_link_error() => return Err(e),
        _ => None,
    };
    let mosfet = match daly_read(p, variant, Command::MOSFET_STATUS).await {
        Ok(Response::MosfetStatus(m)) => Some(m.charge_mosfet.0 != 0),
        Err(e) if e.is_link_error() => return Err(e),
        _ => None,
    };
    Ok((
        BmsReading {
            pack: pack.voltage,
            current: pack.current,
            soc: pack.soc,
            cell_min: cells.min,
            cell_max: cells.max,
            temp_max: temp,
        },
        mosfet,
    ))
}

/// Poll a Daly BMS for ever: readings to `tx`; the charge MOSFET follows `want` (switched off
/// whenever the rules ask; switched back on only if this bridge switched it off, so the
/// BMS's own decisions are never overridden). Returns only when `tx` is closed or `conn`
/// says no stream will ever come.
pub async fn daly<C: Connect>(
    mut conn: C,
    opts: DalyOptions,
    tx: mpsc::Sender<Input>,
    want: watch::Receiver<bool>,
) {
    let mut retry = backoff(11);
    let mut we_turned_off = false;
    while !tx.is_closed() {
        let link = match conn.connect().await {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                tracing::error!(error = %e, "bms: no stream will ever come; source ends");
                return;
            }
            Err(e) => {
                link_event(&tx, "bms", false, e.to_string()).await;
                tokio::time::sleep(retry.next_delay()).await;
                continue;
            }
        };
        retry.reset();
        link_event(&tx, "bms", true, String::new()).await;
        let mut p = Poller::new(link, Decoder::new(), opts.poller);
        let mut ticker = tokio::time::interval(opts.poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let why = loop {
            ticker.tick().await;
            let reported = match daly_poll(&mut p, &opts.variant).await {
                Ok((reading, mosfet)) => {
                    if tx.send(Input::Bms(reading, mosfet)).await.is_err() {
                        return;
                    }
                    mosfet
                }
                Err(e) if e.is_link_error() => break e.to_string(),
                Err(e) => {
                    tracing::debug!(error = %e, "daly: no answer");
                    continue;
                }
            };
            let want_on = *want.borrow();
            if reported.is_some_and(|r| r != want_on) && (!want_on || we_turned_off) {
                let req = frame(
                    Request::ChargeMosfet { on: want_on },
                    opts.variant.host_address,
                );
                let cmd = Command::CHARGE_MOSFET.0;
                match p
                    .request(&req, |i| i.as_ref().is_ok_and(|f| f.command == cmd))
                    .await
                {
                    Ok(_) => {
                        tracing::info!(on = want_on, "daly: charge MOSFET written");
                        we_turned_off = !want_on;
                    }
                    Err(e) if e.is_link_error() => break e.to_string(),
                    Err(e) => tracing::warn!(error = %e, "daly: charge MOSFET write unanswered"),
                }
            }
        };
        link_event(&tx, "bms", false, why).await;
        tokio::time::sleep(retry.next_delay()).await;
    }
}

/// Which VE.Direct device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VeDirectRole {
    /// The SmartShunt.
    Shunt,
    /// Solar charger 0 or 1.
    Charger(u8),
}

impl VeDirectRole {
    fn name(self) -> String {
        match self {
            Self::Shunt => "shunt".into(),
            Self::Charger(i) => format!("charger{}", u16::from(i) + 1),
        }
    }
}

/// Read a VE.Direct TEXT stream for ever (receive only): each record becomes an [`Input`].
/// Returns only when `tx` is closed or `conn` says no stream will ever come.
pub async fn vedirect<C: Connect>(mut conn: C, role: VeDirectRole, tx: mpsc::Sender<Input>) {
    let name = role.name();
    let mut retry = backoff(23 + u64::from(matches!(role, VeDirectRole::Charger(1))));
    while !tx.is_closed() {
        let mut link = match conn.connect().await {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                tracing::error!(source = %name, error = %e, "no stream will ever come; source ends");
                return;
            }
            Err(e) => {
                link_event(&tx, &name, false, e.to_string()).await;
                tokio::time::sleep(retry.next_delay()).await;
                continue;
            }
        };
        retry.reset();
        link_event(&tx, &name, true, String::new()).await;
        let mut decoder = RecordDecoder::new();
        let mut buf = [0u8; 512];
        let why = loop {
            let n = match link.read(&mut buf).await {
                Ok(0) => break "end of file".to_owned(),
                Ok(n) => n,
                Err(e) => break e.to_string(),
            };
            let mut inputs = Vec::new();
            decoder.feed_all(buf.get(..n).unwrap_or_default(), |item| {
                if let Ok(Message::Record(r)) = item.value {
                    match role {
                        VeDirectRole::Shunt => {
                            if let (Some(v), Some(i)) = (r.battery_voltage(), r.battery_current()) {
                                inputs.push(Input::Shunt(ShuntReading {
                                    voltage: v,
                                    current: i,
                                    soc: r.soc(),
                                }));
                            }
                        }
                        VeDirectRole::Charger(c) => {
                            if let Some(p) = r.panel_power() {
                                inputs.push(Input::Charger(c, p));
                            }
                        }
                    }
                }
            });
            for i in inputs {
                if tx.send(i).await.is_err() {
                    return;
                }
            }
        };
        link_event(&tx, &name, false, why).await;
        tokio::time::sleep(retry.next_delay()).await;
    }
}

/// Parse a 1-Wire `temperature` file (m°C, e.g. `23125\n`) to 0.1 °C (rounded to nearest);
/// `None` for anything else, including the DS18B20's power-on value 85.000 °C.
pub fn parse_w1(text: &str) -> Option<DeciCelsius> {
    let milli: i32 = text.trim().parse().ok()?;
    if milli == 85_000 || !(-55_000..=125_000).contains(&milli) {
        return None;
    }
    let deci = (milli + if milli >= 0 { 50 } else { -50 }) / 100;
    i16::try_from(deci).ok().map(DeciCelsius)
}

/// Read 1-Wire sensors `<dir>/<id>/temperature` every `poll` for ever. An unreadable or
/// implausible file is skipped (its age grows until the rules' timeout). Returns only when
/// `tx` is closed.
pub async fn onewire(dir: PathBuf, ids: Vec<String>, poll: Duration, tx: mpsc::Sender<Input>) {
    let mut ticker = tokio::time::interval(poll);
    let mut failing = vec![false; ids.len()];
    loop {
        ticker.tick().await;
        for ((i, id), failed) in (0u8..).zip(&ids).zip(failing.iter_mut()) {
            let path = dir.join(id).join("temperature");
            let value = tokio::fs::read_to_string(&path).await;
            if let Some(t) = value.as_deref().ok().and_then(parse_w1) {
                *failed = false;
                if tx.send(Input::Sensor(i, t)).await.is_err() {
                    return;
                }
            } else {
                if !*failed {
                    tracing::warn!(path = %path.display(), "1-Wire sensor unreadable or implausible");
                }
                *failed = true;
            }
        }
        if tx.is_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_w1;
    use voltwire_core::DeciCelsius;

    #[test]
    fn w1_values() {
        assert_eq!(parse_w1("23125\n"), Some(DeciCelsius(231)));
        assert_eq!(parse_w1("23150"), Some(DeciCelsius(232)));
        assert_eq!(parse_w1("-1250"), Some(DeciCelsius(-13)));
        assert_eq!(parse_w1("85000"), None);
        assert_eq!(parse_w1("abc"), None);
        assert_eq!(parse_w1("200000"), None);
    }
}

/// Settings of an addressed RS485 BMS (Pace, Pylontech).
#[derive(Debug, Clone, Copy)]
pub struct PaceOptions {
    /// The pack's address (ADR; Pace 0–15, 1 on a lone pack; Pylontech 2 for the first).
    pub address: u8,
    /// Poll period.
    pub poll: Duration,
    /// Poller timing.
    pub poller: PollConfig,
}

type PacePoller<L> = Poller<L, voltwire_asciihex::Decoder>;

/// One request to the pack at `adr` and its decoded reply (a frame that does not answer it,
/// or a refusal, is no answer: `Timeout`).
async fn pace_request<L: AsyncRead + AsyncWrite + Unpin>(
    p: &mut PacePoller<L>,
    adr: u8,
    body: voltwire_pace::RequestBody,
) -> Result<voltwire_pace::ResponseBody, PollError> {
    let req = voltwire_pace::Request::new(adr, body);
    let Ok(frame) = req.to_frame() else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let command = req.command();
    let item = p
        .request(&frame.to_bytes(), |i| {
            i.as_ref().is_ok_and(|f| f.adr == adr)
        })
        .await?;
    let Ok(f) = item else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let r = voltwire_pace::Response::from_frame(&f, command);
    if r.answers(&req) {
        Ok(r.body)
    } else {
        tracing::debug!(rtn = ?r.rtn, "pace: reply does not answer the request");
        Err(PollError::Timeout { attempts: 0 })
    }
}

/// One poll: analog values (0x42) and status (0x44, for the charge MOSFET) of one pack.
async fn pace_poll<L: AsyncRead + AsyncWrite + Unpin>(
    p: &mut PacePoller<L>,
    adr: u8,
) -> Result<(BmsReading, Option<bool>), PollError> {
    use voltwire_pace::{RequestBody, ResponseBody, Target, flags::System};
    let ResponseBody::Analog(a) =
        pace_request(p, adr, RequestBody::Analog(Target::Pack(adr))).await?
    else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let Some(pack) = a.modules.first() else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let (Some(min), Some(max)) = (pack.cells.iter().min(), pack.cells.iter().max()) else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    // The last two temperatures are the MOSFET's and the environment's; the others the cells'.
    let cell_temps = pack.temperatures.len().saturating_sub(2).max(1);
    let temp_max = pack
        .temperatures
        .iter()
        .take(cell_temps)
        .filter_map(|t| t.to_celsius(voltwire_pace::ZERO_CELSIUS))
        .max();
    // Remaining / total capacity (the wide fields when the block carries them).
    let soc = if pack.total().0 <= 0 {
        return Err(PollError::Timeout { attempts: 0 });
    } else {
        let pm = pack.remaining().0.saturating_mul(1000) / pack.total().0;
        voltwire_core::Permille(i16::try_from(pm.clamp(0, 1000)).unwrap_or(1000))
    };
    let mosfet = match pace_request(p, adr, RequestBody::Status(Target::Pack(adr))).await {
        Ok(ResponseBody::Status(s)) => s
            .modules
            .first()
            .map(|m| m.state.system.contains(System::CHARGE_FET_ON)),
        Err(e) if e.is_link_error() => return Err(e),
        _ => None,
    };
    Ok((
        BmsReading {
            pack: pack.voltage,
            current: pack.current,
            soc,
            cell_min: *min,
            cell_max: *max,
            temp_max,
        },
        mosfet,
    ))
}

/// Poll a Pace pack for ever (RS485, protocol v25): readings to `tx`; the charge MOSFET
/// (0x9A) follows `want` as for the Daly (off whenever the rules ask; back on only if this
/// bridge switched it off). Returns only when `tx` is closed or `conn` says no stream will
/// ever come.
pub async fn pace<C: Connect>(
    mut conn: C,
    opts: PaceOptions,
    tx: mpsc::Sender<Input>,
    want: watch::Receiver<bool>,
) {
    use voltwire_pace::{MosfetSwitch, RequestBody};
    let mut retry = backoff(13);
    let mut we_turned_off = false;
    while !tx.is_closed() {
        let link = match conn.connect().await {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                tracing::error!(error = %e, "bms: no stream will ever come; source ends");
                return;
            }
            Err(e) => {
                link_event(&tx, "bms", false, e.to_string()).await;
                tokio::time::sleep(retry.next_delay()).await;
                continue;
            }
        };
        retry.reset();
        link_event(&tx, "bms", true, String::new()).await;
        let mut p = Poller::new(link, voltwire_asciihex::Decoder::new(), opts.poller);
        let mut ticker = tokio::time::interval(opts.poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let why = loop {
            ticker.tick().await;
            let reported = match pace_poll(&mut p, opts.address).await {
                Ok((reading, mosfet)) => {
                    if tx.send(Input::Bms(reading, mosfet)).await.is_err() {
                        return;
                    }
                    mosfet
                }
                Err(e) if e.is_link_error() => break e.to_string(),
                Err(e) => {
                    tracing::debug!(error = %e, "pace: no answer");
                    continue;
                }
            };
            let want_on = *want.borrow();
            if reported.is_some_and(|r| r != want_on) && (!want_on || we_turned_off) {
                let switch = if want_on {
                    MosfetSwitch::On
                } else {
                    MosfetSwitch::Off
                };
                match pace_request(&mut p, opts.address, RequestBody::ChargeMosfet(switch)).await {
                    Ok(_) => {
                        tracing::info!(on = want_on, "pace: charge MOSFET written");
                        we_turned_off = !want_on;
                    }
                    Err(e) if e.is_link_error() => break e.to_string(),
                    Err(e) => tracing::warn!(error = %e, "pace: charge MOSFET write unanswered"),
                }
            }
        };
        link_event(&tx, "bms", false, why).await;
        tokio::time::sleep(retry.next_delay()).await;
    }
}

/// One Pylontech 0x42 request to the module at `adr` and its analog block, as a reading
/// (no charge-MOSFET state: the RS485 protocol has no MOSFET command).
async fn pylontech_poll<L: AsyncRead + AsyncWrite + Unpin>(
    p: &mut Poller<L, voltwire_asciihex::Decoder>,
    adr: u8,
) -> Result<BmsReading, PollError> {
    use voltwire_pylontech::rs485::{Request, RequestBody, Response, ResponseBody, Target};
    let req = Request::new(adr, RequestBody::Analog(Target::Module(adr)));
    let Ok(frame) = req.to_frame() else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let item = p
        .request(&frame.to_bytes(), |i| {
            i.as_ref().is_ok_and(|f| f.adr == adr)
        })
        .await?;
    let Ok(reply) = item else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let r = Response::from_frame(&reply, req.command());
    let (true, ResponseBody::Analog(a)) = (r.answers(&req), r.body) else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let Some(module) = a.modules.first() else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    let (Some(min), Some(max)) = (module.cells.iter().min(), module.cells.iter().max()) else {
        return Err(PollError::Timeout { attempts: 0 });
    };
    // Remaining / total capacity: above 65 Ah they are in the block's wide extension.
    if module.total().0 <= 0 {
        return Err(PollError::Timeout { attempts: 0 });
    }
    // The first temperature is the BMS board's; the others the cells'.
    let skip = usize::from(module.temperatures.len() > 1);
    let temp_max = module
        .temperatures
        .iter()
        .skip(skip)
        .filter_map(|t| t.to_celsius(voltwire_pylontech::rs485::ZERO_CELSIUS))
        .max();
    let pm = module.remaining().0.saturating_mul(1000) / module.total().0;
    Ok(BmsReading {
        pack: module.voltage,
        current: module.current,
        soc: voltwire_core::Permille(i16::try_from(pm.clamp(0, 1000)).unwrap_or(1000)),
        cell_min: *min,
        cell_max: *max,
        temp_max,
    })
}

/// Poll a Pylontech module over RS485 for ever (read only: the protocol has no charge-MOSFET
/// command, so the rules' request is not written; the BMS's own protection and the
/// inverter's limits stay in charge of charging). Returns only when `tx` is closed or `conn`
/// says no stream will ever come.
pub async fn pylontech<C: Connect>(mut conn: C, opts: PaceOptions, tx: mpsc::Sender<Input>) {
    let mut retry = backoff(17);
    while !tx.is_closed() {
        let link = match conn.connect().await {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                tracing::error!(error = %e, "bms: no stream will ever come; source ends");
                return;
            }
            Err(e) => {
                link_event(&tx, "bms", false, e.to_string()).await;
                tokio::time::sleep(retry.next_delay()).await;
                continue;
            }
        };
        retry.reset();
        link_event(&tx, "bms", true, String::new()).await;
        let mut p = Poller::new(link, voltwire_asciihex::Decoder::new(), opts.poller);
        let mut ticker = tokio::time::interval(opts.poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let why = loop {
            ticker.tick().await;
            match pylontech_poll(&mut p, opts.address).await {
                Ok(reading) => {
                    if tx.send(Input::Bms(reading, None)).await.is_err() {
                        return;
                    }
                }
                Err(e) if e.is_link_error() => break e.to_string(),
                Err(e) => tracing::debug!(error = %e, "pylontech: no answer"),
            }
        };
        link_event(&tx, "bms", false, why).await;
        tokio::time::sleep(retry.next_delay()).await;
    }
}
