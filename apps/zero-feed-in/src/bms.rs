//! Our BMS protocols read directly as the battery source: Daly, JK ("4E 57"), JK-PB
//! (register reads of its status table), Pace and Pylontech (RS485, ASCII-hex 0x42), each
//! on a `serial://` or `tcp://` link (`voltwire_runtime::link`) polled with the runtime's
//! [`Poller`]; and the Eco-Worthy coulomb meter (`voltwire_modbus::coulomb_meter`, Modbus
//! RTU through `tokio-modbus`), which gives SOC, voltage, current and its probe's
//! temperature but no cells (the cell limits then rest on the pack voltage).
//!
//! Every complete poll becomes one [`BatteryReading`] (pack voltage, current, SOC, lowest and
//! highest cell, lowest and highest cell temperature, and, where the BMS reports them, its
//! charge/discharge switches as `charge_allowed` / `discharge_allowed`). A poll that gets no
//! answer produces nothing: the reading ages and the watchdog of the rules turns everything
//! off once it is older than `battery_timeout_s` (a silent BMS). A lost link is reopened
//! with backoff. Only the readings are taken from the BMS; nothing is written to it.
//!
//! The poll sequences are the app's own for now (bms-bridge has its own for Daly, Pace and
//! Pylontech, feeding its rules' reading type); a shared poll helper in a crate is the next
//! step once a third app needs them.

use std::time::Duration;

use tokio::sync::watch;
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_runtime::link::{Backoff, Link, LinkUrl, Reconnect};
use voltwire_runtime::poll::{PollConfig, PollError, Poller};
use voltwire_zero_feed_in_rules::{BatteryReading, Millis};

use crate::engine::Clock;

/// Which protocol the BMS speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Daly (RS485 or UART port, `0xA5` frames).
    Daly,
    /// JK BMS, "4E 57" read-all.
    Jk,
    /// JK-PB inverter BMS: FC 0x03 reads of the status table.
    JkPb,
    /// Pace (RS485, protocol v25).
    Pace,
    /// Pylontech RS485 (protocol 3.5).
    Pylontech,
    /// The Eco-Worthy coulomb meter (Modbus RTU, input registers 0..=11): SOC, voltage,
    /// current and its probe's temperature; no cell voltages, no switches.
    Coulomb,
}

impl Protocol {
    /// Every protocol with its configuration name.
    pub const ALL: [(&'static str, Self); 6] = [
        ("daly", Self::Daly),
        ("jk", Self::Jk),
        ("jk_pb", Self::JkPb),
        ("pace", Self::Pace),
        ("pylontech", Self::Pylontech),
        ("coulomb", Self::Coulomb),
    ];

    /// The configuration name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("?", |(n, _)| n)
    }

    /// The protocol of a configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }

    /// The address used when the configuration gives none (Pace: 0 for a lone pack is also
    /// common; 1 is the first of a DIP-addressed stack; Pylontech: 2 for the first module).
    pub const fn default_address(self) -> u8 {
        match self {
            Self::Pylontech => 2,
            Self::Daly | Self::Jk | Self::JkPb | Self::Pace => 1,
            Self::Coulomb => voltwire_modbus::coulomb_meter::DEFAULT_ADDRESS,
        }
    }
}

/// One directly read BMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bms {
    /// Its protocol.
    pub protocol: Protocol,
    /// The link.
    pub port: LinkUrl,
    /// Its bus address (Pace, Pylontech, JK-PB; Daly and JK ignore it).
    pub address: u8,
    /// The poll period, ms.
    pub poll_ms: u64,
}

/// What one poll read; the time is added by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// Pack voltage.
    pub voltage: Millivolts,
    /// Pack current, positive = charging.
    pub current: Milliamps,
    /// State of charge.
    pub soc: Permille,
    /// Lowest and highest cell (`None`: the source has no cell voltages).
    pub cells: Option<(Millivolts, Millivolts)>,
    /// Lowest and highest cell temperature, when reported.
    pub temperatures: Option<(DeciCelsius, DeciCelsius)>,
    /// The BMS's charge and discharge switches (`true` when not reported).
    pub switches: (bool, bool),
}

impl Read {
    /// The rules' reading at `at`.
    pub const fn reading(&self, at: Millis) -> BatteryReading {
        let mut b = BatteryReading::voltage_only(at, self.voltage);
        b.current = Some(self.current);
        b.soc = Some(self.soc);
        if let Some((lo, hi)) = self.cells {
            b.cell_min = Some(lo);
            b.cell_max = Some(hi);
        }
        if let Some((lo, hi)) = self.temperatures {
            b.temperature_min = Some(lo);
            b.temperature_max = Some(hi);
        }
        b.charge_allowed = self.switches.0;
        b.discharge_allowed = self.switches.1;
        b
    }
}

/// The lowest and highest of some values.
fn extremes<T: Ord + Copy>(values: impl IntoIterator<Item = T>) -> Option<(T, T)> {
    values.into_iter().fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Remaining / total as a state of charge; `None` for a total of 0 or less.
fn soc_of(remaining: MilliampHours, total: MilliampHours) -> Option<Permille> {
    if total.0 <= 0 {
        return None;
    }
    let pm = remaining.0.saturating_mul(1000) / total.0;
    i16::try_from(pm.clamp(0, 1000)).ok().map(Permille)
}

/// A percentage byte as a state of charge (`None` above 100 %).
fn soc_pct(pct: u8) -> Option<Permille> {
    (pct <= 100).then(|| Permille(i16::from(pct) * 10))
}

/// "No answer" (the device is there but did not give a usable reply).
const NO_ANSWER: PollError = PollError::Timeout { attempts: 0 };

/// The emitted bytes of a message (empty when it cannot be encoded: no answer follows).
fn bytes(m: &impl voltwire_core::Emit) -> Vec<u8> {
    let mut out = vec![0u8; m.buffer_len()];
    match m.emit(&mut out) {
        Ok(n) => {
            out.truncate(n);
            out
        }
        Err(_) => Vec::new(),
    }
}

/// A poller per protocol family (each has its own decoder). One lives per connection, so
/// the size difference of the variants costs nothing worth a box.
#[allow(clippy::large_enum_variant, reason = "one per connection")]
enum Polling {
    Daly(Poller<Link, voltwire_daly::Decoder>),
    Jk(Poller<Link, voltwire_jk::JkDecoder>),
    JkPb(Poller<Link, voltwire_jk::pb::PbDecoder>),
    Ascii(Poller<Link, voltwire_asciihex::Decoder>),
    Coulomb(tokio_modbus::client::Context, PollConfig),
}

impl Polling {
    fn new(protocol: Protocol, link: Link, address: u8, config: PollConfig) -> Self {
        match protocol {
            Protocol::Coulomb => Self::Coulomb(
                tokio_modbus::client::rtu::attach_slave(link, tokio_modbus::Slave(address)),
                config,
            ),
            Protocol::Daly => Self::Daly(Poller::new(link, voltwire_daly::Decoder::new(), config)),
            Protocol::Jk => Self::Jk(Poller::new(link, voltwire_jk::JkDecoder::new(), config)),
            Protocol::JkPb => {
                Self::JkPb(Poller::new(link, voltwire_jk::pb::PbDecoder::new(), config))
            }
            Protocol::Pace | Protocol::Pylontech => {
                Self::Ascii(Poller::new(link, voltwire_asciihex::Decoder::new(), config))
            }
        }
    }

    async fn poll(&mut self, protocol: Protocol, address: u8) -> Result<Read, PollError> {
        match (self, protocol) {
            (Self::Daly(p), _) => daly(p).await,
            (Self::Jk(p), _) => jk(p).await,
            (Self::JkPb(p), _) => jk_pb(p, address).await,
            (Self::Ascii(p), Protocol::Pylontech) => pylontech(p, address).await,
            (Self::Ascii(p), _) => pace(p, address).await,
            (Self::Coulomb(ctx, config), _) => coulomb(ctx, *config).await,
        }
    }
}

/// One Daly read of `command`, parsed (a reply we cannot parse is no answer).
async fn daly_read(
    p: &mut Poller<Link, voltwire_daly::Decoder>,
    command: voltwire_daly::Command,
) -> Result<voltwire_daly::Response, PollError> {
    use voltwire_daly::{FRAME_LEN, Request, Response, Variant};
    let variant = Variant::RS485;
    let mut buf = [0u8; FRAME_LEN];
    let n = Request::read(command)
        .emit(variant.host_address, &mut buf)
        .map_err(|_| NO_ANSWER)?;
    let item = p
        .request(buf.get(..n).unwrap_or_default(), |i| {
            i.as_ref().is_ok_and(|f| f.command == command.0)
        })
        .await?;
    let frame = item.map_err(|_| NO_ANSWER)?;
    Response::parse(&frame, &variant).map_err(|_| NO_ANSWER)
}

/// Daly: pack status (0x90), cell range (0x91), temperature range (0x92), MOSFETs (0x93).
async fn daly(p: &mut Poller<Link, voltwire_daly::Decoder>) -> Result<Read, PollError> {
    use voltwire_daly::{Command, Response};
    let Response::PackStatus(pack) = daly_read(p, Command::PACK_STATUS).await? else {
        return Err(NO_ANSWER);
    };
    let Response::CellVoltageRange(cells) = daly_read(p, Command::CELL_VOLTAGE_RANGE).await? else {
        return Err(NO_ANSWER);
    };
    let temperatures = match daly_read(p, Command::TEMPERATURE_RANGE).await {
        Ok(Response::TemperatureRange(t)) => Some((t.min, t.max)),
        Err(e) if e.is_link_error() => return Err(e),
        _ => None,
    };
    let switches = match daly_read(p, Command::MOSFET_STATUS).await {
        Ok(Response::MosfetStatus(m)) => (m.charge_mosfet.0 != 0, m.discharge_mosfet.0 != 0),
        Err(e) if e.is_link_error() => return Err(e),
        _ => (true, true),
    };
    Ok(Read {
        voltage: pack.voltage,
        current: pack.current,
        soc: pack.soc,
        cells: Some((cells.min, cells.max)),
        temperatures,
        switches,
    })
}

/// JK: the read-all request and its record.
async fn jk(p: &mut Poller<Link, voltwire_jk::JkDecoder>) -> Result<Read, PollError> {
    use voltwire_jk::{Message, Transport};
    let req = bytes(&Message::read_all());
    let item = p
        .request(&req, |m| {
            m.as_ref()
                .is_ok_and(|m| m.header.transport == Transport::Reply && m.record().is_some())
        })
        .await?;
    let m = item.map_err(|_| NO_ANSWER)?;
    let r = m.record().ok_or(NO_ANSWER)?;
    let cells = extremes(r.cell_voltages()).ok_or(NO_ANSWER)?;
    let temperatures = extremes(
        [r.box_temperature, r.battery_temperature]
            .into_iter()
            .flatten()
            .filter_map(voltwire_jk::SensorTemperature::deci_celsius),
    );
    let switches = r
        .status
        .map_or((true, true), |s| (s.charge_mos_on(), s.discharge_mos_on()));
    Ok(Read {
        voltage: r.pack_voltage.ok_or(NO_ANSWER)?,
        current: r.current().ok_or(NO_ANSWER)?,
        soc: r.soc_percent.and_then(soc_pct).ok_or(NO_ANSWER)?,
        cells: Some(cells),
        temperatures,
        switches,
    })
}

/// JK-PB: the status table (payload bytes 0..256) in four reads of 32 registers, turned
/// back into a status block.
async fn jk_pb(
    p: &mut Poller<Link, voltwire_jk::pb::PbDecoder>,
    address: u8,
) -> Result<Read, PollError> {
    use voltwire_jk::pb::{Block, BlockKind, Message};
    use voltwire_jk::pb_map;
    let base = pb_map::table_register(BlockKind::Status).ok_or(NO_ANSWER)?;
    let mut block = Block::new(BlockKind::Status);
    for chunk in 0..4_u16 {
        let register = base + 64 * chunk;
        let req = bytes(&Message::ReadRequest {
            address,
            register,
            quantity: 32,
        });
        let item = p
            .request(
                &req,
                |m| matches!(m, Ok(Message::ReadResponse { address: a, .. }) if *a == address),
            )
            .await?;
        let Ok(Message::ReadResponse { data, .. }) = item else {
            return Err(NO_ANSWER);
        };
        let at = pb_map::PAYLOAD_OFFSET + 64 * usize::from(chunk);
        let slot = block.0.get_mut(at..at + data.len()).ok_or(NO_ANSWER)?;
        slot.copy_from_slice(&data);
    }
    pb_map::swap_fields(&mut block);
    let s = block.status().ok_or(NO_ANSWER)?;
    Ok(Read {
        voltage: s.pack_voltage,
        current: s.current,
        soc: soc_pct(s.soc_percent).ok_or(NO_ANSWER)?,
        cells: Some(extremes(s.cells()).ok_or(NO_ANSWER)?),
        temperatures: extremes([s.temperature_1, s.temperature_2]),
        switches: (s.charge_mos != 0, s.discharge_mos != 0),
    })
}

/// One Pace request and its decoded reply (a frame that does not answer it is no answer).
async fn pace_request(
    p: &mut Poller<Link, voltwire_asciihex::Decoder>,
    adr: u8,
    body: voltwire_pace::RequestBody,
) -> Result<voltwire_pace::ResponseBody, PollError> {
    let req = voltwire_pace::Request::new(adr, body);
    let frame = req.to_frame().map_err(|_| NO_ANSWER)?;
    let item = p
        .request(&frame.to_bytes(), |i| {
            i.as_ref().is_ok_and(|f| f.adr == adr)
        })
        .await?;
    let f = item.map_err(|_| NO_ANSWER)?;
    let r = voltwire_pace::Response::from_frame(&f, req.command());
    if r.answers(&req) {
        Ok(r.body)
    } else {
        Err(NO_ANSWER)
    }
}

/// Pace: analog values (0x42) and status (0x44, the charge/discharge FETs).
async fn pace(
    p: &mut Poller<Link, voltwire_asciihex::Decoder>,
    adr: u8,
) -> Result<Read, PollError> {
    use voltwire_pace::flags::System;
    use voltwire_pace::{RequestBody, ResponseBody, Target};
    let ResponseBody::Analog(a) =
        pace_request(p, adr, RequestBody::Analog(Target::Pack(adr))).await?
    else {
        return Err(NO_ANSWER);
    };
    let pack = a.modules.first().ok_or(NO_ANSWER)?;
    // The last two temperatures are the MOSFET's and the environment's; the others the cells'.
    let cell_temps = pack.temperatures.len().saturating_sub(2).max(1);
    let temperatures = extremes(
        pack.temperatures
            .iter()
            .take(cell_temps)
            .filter_map(|t| t.to_celsius(voltwire_pace::ZERO_CELSIUS)),
    );
    let switches = match pace_request(p, adr, RequestBody::Status(Target::Pack(adr))).await {
        Ok(ResponseBody::Status(s)) => s.modules.first().map_or((true, true), |m| {
            (
                m.state.system.contains(System::CHARGE_FET_ON),
                m.state.system.contains(System::DISCHARGE_FET_ON),
            )
        }),
        Err(e) if e.is_link_error() => return Err(e),
        _ => (true, true),
    };
    Ok(Read {
        voltage: pack.voltage,
        current: pack.current,
        soc: soc_of(pack.remaining(), pack.total()).ok_or(NO_ANSWER)?,
        cells: Some(extremes(pack.cells.iter().copied()).ok_or(NO_ANSWER)?),
        temperatures,
        switches,
    })
}

/// Pylontech RS485: analog values (0x42) of one module (the protocol has no switch state in
/// it; the BMS's own protection stays in charge).
async fn pylontech(
    p: &mut Poller<Link, voltwire_asciihex::Decoder>,
    adr: u8,
) -> Result<Read, PollError> {
    use voltwire_pylontech::rs485::{Request, RequestBody, Response, ResponseBody, Target};
    let req = Request::new(adr, RequestBody::Analog(Target::Module(adr)));
    let frame = req.to_frame().map_err(|_| NO_ANSWER)?;
    let item = p
        .request(&frame.to_bytes(), |i| {
            i.as_ref().is_ok_and(|f| f.adr == adr)
        })
        .await?;
    let reply = item.map_err(|_| NO_ANSWER)?;
    let r = Response::from_frame(&reply, req.command());
    let (true, ResponseBody::Analog(a)) = (r.answers(&req), r.body) else {
        return Err(NO_ANSWER);
    };
    let module = a.modules.first().ok_or(NO_ANSWER)?;
    // The first temperature is the BMS board's; the others the cells'.
    let skip = usize::from(module.temperatures.len() > 1);
    let temperatures = extremes(
        module
            .temperatures
            .iter()
            .skip(skip)
            .filter_map(|t| t.to_celsius(voltwire_pylontech::rs485::ZERO_CELSIUS)),
    );
    Ok(Read {
        voltage: module.voltage,
        current: module.current,
        soc: soc_of(module.remaining(), module.total()).ok_or(NO_ANSWER)?,
        cells: Some(extremes(module.cells.iter().copied()).ok_or(NO_ANSWER)?),
        temperatures,
        switches: (true, true),
    })
}

/// The coulomb meter: input registers 0..=11 (function 0x04) in one read, retried as the
/// poll configuration says. A timeout, an exception or registers that do not decode are no
/// answer; a transport error is a lost link. The meter's probe temperature stands for the
/// battery's (lowest = highest), so the temperature limits act on it.
async fn coulomb(
    ctx: &mut tokio_modbus::client::Context,
    config: PollConfig,
) -> Result<Read, PollError> {
    use tokio_modbus::client::Reader as _;
    use voltwire_modbus::coulomb_meter::{STATUS_LEN, STATUS_START, Status};
    let count = u16::try_from(STATUS_LEN).map_err(|_| NO_ANSWER)?;
    let mut attempts = 0u32;
    let regs = loop {
        attempts += 1;
        match tokio::time::timeout(
            config.timeout,
            ctx.read_input_registers(STATUS_START, count),
        )
        .await
        {
            Ok(Ok(Ok(regs))) => break regs,
            Ok(Err(tokio_modbus::Error::Transport(e))) => return Err(PollError::Io(e)),
            // An exception, a reply that does not match, or none in time.
            _ if attempts > config.retries => return Err(PollError::Timeout { attempts }),
            _ => {}
        }
        tokio::time::sleep(config.gap).await;
    };
    let s = Status::from_registers(&regs).map_err(|_| NO_ANSWER)?;
    Ok(Read {
        voltage: s.voltage,
        current: s.current,
        soc: s.soc,
        cells: None,
        temperatures: Some((s.temperature, s.temperature)),
        switches: (true, true),
    })
}

/// Polls without a usable answer before a warning (then the warning once per silence).
const WARN_AFTER: u32 = 5;

/// Polls `bms` for ever: every complete poll is sent as a reading; no answer sends nothing
/// (the reading ages: the watchdog acts); a lost link is reopened with backoff.
pub async fn run(bms: Bms, clock: Clock, tx: watch::Sender<Option<BatteryReading>>) {
    let mut link = Reconnect::new(bms.port.clone(), Backoff::default());
    let config = PollConfig::default();
    loop {
        let Ok(port) = link.connect(None).await else {
            continue;
        };
        tracing::info!(link = %link.label(), protocol = bms.protocol.name(), "bms: connected");
        let mut polling = Polling::new(bms.protocol, port, bms.address, config);
        let mut every = tokio::time::interval(clock.real(bms.poll_ms));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut unanswered = 0u32;
        let why = loop {
            every.tick().await;
            match polling.poll(bms.protocol, bms.address).await {
                Ok(read) => {
                    if unanswered >= WARN_AFTER {
                        tracing::info!(link = %link.label(), "bms: answering again");
                    }
                    unanswered = 0;
                    tx.send_replace(Some(read.reading(clock.now())));
                }
                Err(e) if e.is_link_error() => break e,
                Err(e) => {
                    unanswered = unanswered.saturating_add(1);
                    if unanswered == WARN_AFTER {
                        tracing::warn!(
                            link = %link.label(),
                            protocol = bms.protocol.name(),
                            address = bms.address,
                            error = %e,
                            "bms: no usable answer to {WARN_AFTER} polls in a row (check protocol, address, baud)"
                        );
                    } else {
                        tracing::debug!(error = %e, "bms: no answer");
                    }
                }
            }
        };
        tracing::warn!(link = %link.label(), error = %why, "bms: link lost; reopening");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
