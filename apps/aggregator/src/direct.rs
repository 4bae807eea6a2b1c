//! Batteries read directly with our protocol crates (not over D-Bus), next to the D-Bus
//! ones: a Pylontech-protocol BMS on CAN (`virtual://`, SLCAN, `SocketCAN`, through the
//! runtime's bus task) and a Pace BMS on a serial or TCP link (polled with the runtime's
//! `Poller`, reconnected with backoff). Each runs as a task for the process's life and
//! puts its latest [`Reading`] into a shared map; the aggregator treats it as one more
//! battery (a silent one goes stale through the same data-age policy).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use voltwire_asciihex::Decoder;
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_ess::aggregate::{AlarmLevels, Modules, Reading};
use voltwire_ess::{BatteryState, Millis, PYLONTECH_TELEGRAM, TelegramReader};
use voltwire_pace::flags::{Protect1, Protect2, System};
use voltwire_pace::{PackAnalog, PackStatus, Request, RequestBody, Response, ResponseBody, Target};
use voltwire_pylontech::can::Message;
use voltwire_runtime::can::port::{PortEvent, Timeouts, Wires};
use voltwire_runtime::can::{BusUrl, VirtualBuses};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_runtime::poll::{PollConfig, PollError, Poller};

/// The prefix of a direct battery's slot (`direct:<name>`).
pub const PREFIX: &str = "direct:";

/// What is read and how.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A Pylontech-protocol BMS on a CAN bus.
    PylontechCan {
        /// The bus.
        bus: BusUrl,
    },
    /// A Pace BMS (RS485, ASCII-hex v25) on a byte link.
    Pace {
        /// The link.
        link: LinkUrl,
        /// The pack's address.
        address: u8,
        /// Time between polls.
        interval: Duration,
        /// Time a reply may take.
        timeout: Duration,
        /// The limits the pack gets (Pace sends none): CVL, CCL, DCL.
        limits: (Millivolts, Milliamps, Milliamps),
    },
    /// A Daly BMS (0xA5 frames) on a byte link.
    Daly(SerialBms),
    /// A JK BMS ("4E 57" frames, read all) on a byte link.
    Jk(SerialBms),
    /// A JK-PB inverter BMS (Modbus-framed blocks, status trigger 0x1620) at its DIP
    /// address (1–15) on an RS485 link.
    JkPb(SerialBms),
    /// A Pylontech module on RS485 (ASCII-hex, protocol 0x20): its own limits (0x92).
    PylontechRs485 {
        /// The link.
        link: LinkUrl,
        /// The module's ADR (2 for the first).
        address: u8,
        /// Time between polls.
        interval: Duration,
        /// Time a reply may take.
        timeout: Duration,
    },
}

/// A BMS polled on a byte link (serial or TCP) that sends no limits of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct SerialBms {
    /// The link.
    pub link: LinkUrl,
    /// The pack's address (Pace) or the port's host address selector (Daly: 0 or 0x80).
    pub address: u8,
    /// Time between polls.
    pub interval: Duration,
    /// Time a reply may take.
    pub timeout: Duration,
    /// The limits the pack gets: CVL, CCL, DCL.
    pub limits: (Millivolts, Milliamps, Milliamps),
}

/// One configured direct battery.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectSpec {
    /// Its name (`/System/MinVoltageCellId` says `name:cell`).
    pub name: String,
    /// How it is read.
    pub kind: Kind,
    /// Its installed capacity (CAN telegrams carry none; a Pace pack's own full capacity
    /// wins when it reports one).
    pub capacity: MilliampHours,
}

/// The latest reading of a direct battery, its time, and its lowest / highest cell number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    /// The reading.
    pub reading: Reading,
    /// When it was received (the app's clock).
    pub at: Instant,
    /// 1-based number of the lowest / highest cell, if known.
    pub cells: Option<(u8, u8)>,
}

/// The direct batteries' latest readings, by name, and a wake-up for the aggregator.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    map: Arc<Mutex<BTreeMap<String, Latest>>>,
    /// Notified on every new reading.
    pub changed: Arc<Notify>,
}

impl Shared {
    fn put(&self, name: &str, latest: Latest) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), latest);
        self.changed.notify_one();
    }

    /// The latest reading of `name`.
    pub fn get(&self, name: &str) -> Option<Latest> {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }
}

/// A reading from a converted state: one module, capacity from the SOC.
fn reading_of(state: BatteryState, capacity: MilliampHours) -> Reading {
    let remaining = MilliampHours(capacity.0.saturating_mul(i64::from(state.soc.0)) / 1000);
    Reading {
        state,
        installed_capacity: capacity,
        capacity: Some(remaining),
        consumed: Some(MilliampHours(capacity.0.saturating_sub(remaining.0))),
        time_to_go_s: None,
        min_cell: None,
        max_cell: None,
        min_temperature: None,
        max_temperature: None,
        alarms: AlarmLevels::default(),
        allow_balance: true,
        modules: Modules {
            online: 1,
            ..Modules::default()
        },
    }
}

/// Start the task of `spec` (runs until the process ends).
pub fn spawn(spec: DirectSpec, shared: Shared, virtuals: VirtualBuses) {
    match spec.kind.clone() {
        Kind::PylontechCan { bus } => {
            tokio::spawn(pylontech_can(spec, bus, shared, virtuals));
        }
        Kind::Pace {
            link,
            address,
            interval,
            timeout,
            limits,
        } => {
            let p = PaceLink {
                link,
                address,
                interval,
                timeout,
                limits,
            };
            tokio::spawn(pace(spec, p, shared));
        }
        Kind::Daly(d) => {
            tokio::spawn(daly(spec, d, shared));
        }
        Kind::Jk(d) => {
            tokio::spawn(jk(spec, d, shared));
        }
        Kind::JkPb(d) => {
            tokio::spawn(jk_pb(spec, d, shared));
        }
        Kind::PylontechRs485 {
            link,
            address,
            interval,
            timeout,
        } => {
            let p = SerialBms {
                link,
                address,
                interval,
                timeout,
                limits: (Millivolts(0), Milliamps(0), Milliamps(0)),
            };
            tokio::spawn(pylontech_rs485(spec, p, shared));
        }
    }
}

/// Follow a Pylontech CAN BMS: each complete telegram is a reading.
async fn pylontech_can(spec: DirectSpec, bus: BusUrl, shared: Shared, virtuals: VirtualBuses) {
    let (_keep, to_send) = mpsc::channel(1);
    let (received_tx, mut received) = mpsc::channel(64);
    let (notices_tx, mut notices) = mpsc::unbounded_channel();
    let label = format!("{} ({bus})", spec.name);
    tokio::spawn(voltwire_runtime::can::port::run(
        bus,
        label,
        (),
        Timeouts::input(3000),
        virtuals,
        Wires {
            to_send,
            received: received_tx,
            notices: notices_tx,
        },
    ));
    let mut reader = TelegramReader::new(PYLONTECH_TELEGRAM, 50);
    let start = Instant::now();
    loop {
        tokio::select! {
            r = received.recv() => {
                let Some(r) = r else { return };
                let Ok(m) = Message::from_frame(&r.frame) else { continue };
                let now = Millis(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
                match reader.push(m, now) {
                    Some(Ok(state)) => shared.put(&spec.name, Latest {
                        reading: reading_of(state, spec.capacity),
                        at: r.at,
                        cells: None,
                    }),
                    Some(Err(e)) => tracing::debug!("{}: telegram refused: {e}", spec.name),
                    None => {}
                }
            }
            n = notices.recv() => match n {
                Some(PortEvent::Up(())) => tracing::info!("{}: bus open", spec.name),
                Some(PortEvent::Down(())) => tracing::warn!("{}: bus lost, reopening", spec.name),
                Some(_) => {}
                None => return,
            },
        }
    }
}

#[derive(Debug, Clone)]
struct PaceLink {
    link: LinkUrl,
    address: u8,
    interval: Duration,
    timeout: Duration,
    limits: (Millivolts, Milliamps, Milliamps),
}

/// The reading of a Pace pack from its 0x42 and 0x44 blocks: charging is allowed while the
/// charge MOSFET is on and no protection that stops charging is set (cell / pack over
/// voltage, charge over current, charge over / under temperature, MOSFET or board over
/// temperature, short circuit, fully charged); discharging likewise. `None` without cells.
pub fn pace_reading(
    a: &PackAnalog,
    s: &PackStatus,
    limits: (Millivolts, Milliamps, Milliamps),
    capacity: MilliampHours,
) -> Option<(Reading, (u8, u8))> {
    let cells = a.cells.iter().copied().enumerate();
    let (lo_i, lo) = cells.clone().min_by_key(|(_, v)| *v)?;
    let (hi_i, hi) = cells.max_by_key(|(_, v)| *v)?;
    let temps: Vec<DeciCelsius> = a
        .temperatures
        .iter()
        .filter_map(|t| t.to_celsius(voltwire_pace::ZERO_CELSIUS))
        .collect();
    let full = if a.full_capacity.0 > 0 {
        a.full_capacity
    } else {
        capacity
    };
    let soc = if full.0 > 0 {
        a.remaining_capacity.0.clamp(0, full.0) * 1000 / full.0
    } else {
        0
    };
    let st = &s.state;
    let (p1, p2) = (st.protect_1, st.protect_2);
    let both = p1.contains(Protect1::SHORT_CIRCUIT)
        || p2.contains(Protect2::MOSFET_OVER_TEMPERATURE)
        || p2.contains(Protect2::ENVIRONMENT_OVER_TEMPERATURE)
        || p2.contains(Protect2::ENVIRONMENT_UNDER_TEMPERATURE);
    let charge_stop = both
        || p1.contains(Protect1::CELL_OVER_VOLTAGE)
        || p1.contains(Protect1::PACK_OVER_VOLTAGE)
        || p1.contains(Protect1::CHARGE_OVER_CURRENT)
        || p2.contains(Protect2::CHARGE_OVER_TEMPERATURE)
        || p2.contains(Protect2::CHARGE_UNDER_TEMPERATURE)
        || p2.contains(Protect2::FULLY_CHARGED);
    let discharge_stop = both
        || p1.contains(Protect1::CELL_UNDER_VOLTAGE)
        || p1.contains(Protect1::PACK_UNDER_VOLTAGE)
        || p1.contains(Protect1::DISCHARGE_OVER_CURRENT)
        || p2.contains(Protect2::DISCHARGE_OVER_TEMPERATURE)
        || p2.contains(Protect2::DISCHARGE_UNDER_TEMPERATURE);
    let charge_enable = st.system.contains(System::CHARGE_FET_ON) && !charge_stop;
    let discharge_enable = st.system.contains(System::DISCHARGE_FET_ON) && !discharge_stop;
    let t_min = temps.iter().copied().min();
    let t_max = temps.iter().copied().max();
    let state = BatteryState {
        charge_voltage_limit: limits.0,
        charge_current_limit: if charge_enable {
            limits.1
        } else {
            Milliamps(0)
        },
        discharge_current_limit: if discharge_enable {
            limits.2
        } else {
            Milliamps(0)
        },
        soc: Permille(i16::try_from(soc).unwrap_or(0)),
        soh: Permille(1000),
        voltage: a.voltage,
        current: a.current,
        temperature: t_max.unwrap_or(DeciCelsius(250)),
        charge_enable,
        discharge_enable,
        ..BatteryState::default()
    };
    let mut r = reading_of(state, full);
    r.capacity = Some(MilliampHours(a.remaining_capacity.0.clamp(0, full.0)));
    r.consumed = Some(MilliampHours(
        full.0 - a.remaining_capacity.0.clamp(0, full.0),
    ));
    r.min_cell = Some(lo);
    r.max_cell = Some(hi);
    r.min_temperature = t_min;
    r.max_temperature = t_max;
    r.modules.blocking_charge = u16::from(!charge_enable);
    r.modules.blocking_discharge = u16::from(!discharge_enable);
    let n = |i: usize| u8::try_from(i + 1).unwrap_or(u8::MAX);
    Some((r, (n(lo_i), n(hi_i))))
}

type Frames = Result<voltwire_asciihex::Frame, voltwire_asciihex::Error>;

async fn exchange<L>(
    poller: &mut Poller<L, Decoder>,
    req: &Request,
) -> Result<Option<ResponseBody>, PollError>
where
    L: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Ok(frame) = req.to_frame() else {
        return Ok(None);
    };
    let cmd = req.command();
    let item = poller
        .request(&frame.to_bytes(), |f: &Frames| {
            f.as_ref()
                .is_ok_and(|f| Response::from_frame(f, cmd).answers(req))
        })
        .await;
    match item {
        Ok(Ok(f)) => {
            let r = Response::from_frame(&f, cmd);
            Ok(r.rtn.is_ok().then_some(r.body))
        }
        Ok(Err(_)) | Err(PollError::Timeout { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Poll a Pace pack forever; a failed link is reopened with backoff (an unanswered poll
/// just leaves the reading to age).
async fn pace(spec: DirectSpec, p: PaceLink, shared: Shared) {
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 1);
    let mut reconnect = Reconnect::new(p.link.clone(), backoff);
    let config = PollConfig {
        timeout: p.timeout,
        retries: 0,
        gap: Duration::from_millis(20),
        echo: false,
    };
    loop {
        let Ok(link) = reconnect.connect(None).await else {
            continue;
        };
        tracing::info!("{}: link {} open", spec.name, p.link);
        let mut poller = Poller::new(link, Decoder::new(), config);
        let mut tick = tokio::time::interval(p.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let err = loop {
            tick.tick().await;
            let target = Target::All;
            let a = match exchange(
                &mut poller,
                &Request::new(p.address, RequestBody::Analog(target)),
            )
            .await
            {
                Ok(a) => a,
                Err(e) => break e,
            };
            let s = match exchange(
                &mut poller,
                &Request::new(p.address, RequestBody::Status(target)),
            )
            .await
            {
                Ok(s) => s,
                Err(e) => break e,
            };
            if let (Some(ResponseBody::Analog(a)), Some(ResponseBody::Status(s))) = (a, s) {
                if let (Some(a), Some(s)) = (a.modules.first(), s.modules.first()) {
                    if let Some((reading, cells)) = pace_reading(a, s, p.limits, spec.capacity) {
                        shared.put(
                            &spec.name,
                            Latest {
                                reading,
                                at: Instant::now(),
                                cells: Some(cells),
                            },
                        );
                    }
                }
            }
        };
        tracing::warn!("{}: link lost ({err}), reconnecting", spec.name);
    }
}

/// What one Daly poll read (0x90 pack, 0x91 cell range, 0x92 temperatures, 0x93 MOSFETs,
/// 0x98 failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DalyPoll {
    /// 0x90.
    pub pack: voltwire_daly::PackStatus,
    /// 0x91.
    pub cells: voltwire_daly::CellVoltageRange,
    /// 0x92.
    pub temperatures: voltwire_daly::TemperatureRange,
    /// 0x93.
    pub mosfets: voltwire_daly::MosfetStatus,
    /// 0x98.
    pub failures: voltwire_daly::FailureFlags,
}

/// The reading of a Daly BMS: charging is allowed while the charge MOSFET is on and no
/// level-2 fault that stops charging is set (cell / pack over voltage, charge over current,
/// charge over / under temperature, charge MOSFET over temperature, short circuit, charging
/// forbidden at low voltage); discharging likewise. The SOC is the BMS's.
pub fn daly_reading(
    d: &DalyPoll,
    limits: (Millivolts, Milliamps, Milliamps),
    capacity: MilliampHours,
) -> (Reading, (u8, u8)) {
    use voltwire_daly::Failure as F;
    let has = |f: F| d.failures.contains(f);
    let both = has(F::ShortCircuitProtectFault);
    let charge_stop = both
        || [
            F::CellVoltageHighL2,
            F::PackVoltageHighL2,
            F::ChargeOvercurrentL2,
            F::ChargeTemperatureHighL2,
            F::ChargeTemperatureLowL2,
            F::ChargeMosOverTemperature,
            F::LowVoltageChargeForbidden,
        ]
        .into_iter()
        .any(has);
    let discharge_stop = both
        || [
            F::CellVoltageLowL2,
            F::PackVoltageLowL2,
            F::DischargeOvercurrentL2,
            F::DischargeTemperatureHighL2,
            F::DischargeTemperatureLowL2,
            F::DischargeMosOverTemperature,
        ]
        .into_iter()
        .any(has);
    let charge_enable = d.mosfets.charge_mosfet.0 != 0 && !charge_stop;
    let discharge_enable = d.mosfets.discharge_mosfet.0 != 0 && !discharge_stop;
    let state = BatteryState {
        charge_voltage_limit: limits.0,
        charge_current_limit: if charge_enable {
            limits.1
        } else {
            Milliamps(0)
        },
        discharge_current_limit: if discharge_enable {
            limits.2
        } else {
            Milliamps(0)
        },
        soc: Permille(d.pack.soc.0.clamp(0, 1000)),
        soh: Permille(1000),
        voltage: d.pack.voltage,
        current: d.pack.current,
        temperature: d.temperatures.max,
        charge_enable,
        discharge_enable,
        ..BatteryState::default()
    };
    let mut r = reading_of(state, capacity);
    let remaining = d.mosfets.remaining_capacity.0.clamp(0, capacity.0);
    r.capacity = Some(MilliampHours(remaining));
    r.consumed = Some(MilliampHours(capacity.0 - remaining));
    r.min_cell = Some(d.cells.min);
    r.max_cell = Some(d.cells.max);
    r.min_temperature = Some(d.temperatures.min);
    r.max_temperature = Some(d.temperatures.max);
    r.modules.blocking_charge = u16::from(!charge_enable);
    r.modules.blocking_discharge = u16::from(!discharge_enable);
    (r, (d.cells.min_cell, d.cells.max_cell))
}

/// One Daly read: `Ok(None)` when unanswered or not understood (the reading ages), `Err`
/// only for a lost link.
async fn daly_read<L>(
    poller: &mut Poller<L, voltwire_daly::Decoder>,
    variant: &voltwire_daly::Variant,
    command: voltwire_daly::Command,
) -> Result<Option<voltwire_daly::Response>, PollError>
where
    L: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buf = [0u8; voltwire_daly::FRAME_LEN];
    let Ok(n) = voltwire_daly::Request::read(command).emit(variant.host_address, &mut buf) else {
        return Ok(None);
    };
    let item = poller
        .request(buf.get(..n).unwrap_or_default(), |i| {
            i.as_ref().is_ok_and(|f| f.command == command.0)
        })
        .await;
    match item {
        Ok(Ok(f)) => Ok(voltwire_daly::Response::parse(&f, variant).ok()),
        Ok(Err(_)) | Err(PollError::Timeout { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One full Daly poll; `Ok(None)` when any part is missing (nothing half-read is used).
async fn daly_poll<L>(
    poller: &mut Poller<L, voltwire_daly::Decoder>,
    variant: &voltwire_daly::Variant,
) -> Result<Option<DalyPoll>, PollError>
where
    L: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use voltwire_daly::{Command as C, Response as R};
    let Some(R::PackStatus(pack)) = daly_read(poller, variant, C::PACK_STATUS).await? else {
        return Ok(None);
    };
    let Some(R::CellVoltageRange(cells)) =
        daly_read(poller, variant, C::CELL_VOLTAGE_RANGE).await?
    else {
        return Ok(None);
    };
    let Some(R::TemperatureRange(temperatures)) =
        daly_read(poller, variant, C::TEMPERATURE_RANGE).await?
    else {
        return Ok(None);
    };
    let Some(R::MosfetStatus(mosfets)) = daly_read(poller, variant, C::MOSFET_STATUS).await? else {
        return Ok(None);
    };
    let Some(R::Failures(f)) = daly_read(poller, variant, C::FAILURES).await? else {
        return Ok(None);
    };
    Ok(Some(DalyPoll {
        pack,
        cells,
        temperatures,
        mosfets,
        failures: f.flags,
    }))
}

/// Poll a Daly BMS forever; a failed link is reopened with backoff (an unanswered poll
/// just leaves the reading to age).
async fn daly(spec: DirectSpec, d: SerialBms, shared: Shared) {
    let variant = if d.address == 0x80 {
        voltwire_daly::Variant::UART
    } else {
        voltwire_daly::Variant::RS485
    };
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 1);
    let mut reconnect = Reconnect::new(d.link.clone(), backoff);
    let config = PollConfig {
        timeout: d.timeout,
        retries: 0,
        gap: Duration::from_millis(20),
        echo: false,
    };
    loop {
        let Ok(link) = reconnect.connect(None).await else {
            continue;
        };
        tracing::info!("{}: link {} open", spec.name, d.link);
        let mut poller = Poller::new(link, voltwire_daly::Decoder::new(), config);
        let mut tick = tokio::time::interval(d.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let err = loop {
            tick.tick().await;
            match daly_poll(&mut poller, &variant).await {
                Ok(Some(p)) => {
                    let (reading, cells) = daly_reading(&p, d.limits, spec.capacity);
                    shared.put(
                        &spec.name,
                        Latest {
                            reading,
                            at: Instant::now(),
                            cells: Some(cells),
                        },
                    );
                }
                Ok(None) => {}
                Err(e) => break e,
            }
        };
        tracing::warn!("{}: link lost ({err}), reconnecting", spec.name);
    }
}

/// The reading of a JK BMS's read-all record: charging is allowed while the charge MOSFET
/// is on and no warning that stops charging is set (charge / cell over voltage, charge over
/// current, battery low temperature, MOSFET / battery / box over temperature); discharging
/// likewise (discharge / cell under voltage, discharge over current, the over
/// temperatures). `None` without cells, pack voltage, current, SOC or the status word.
pub fn jk_reading(
    rec: &voltwire_jk::Record,
    limits: (Millivolts, Milliamps, Milliamps),
    capacity: MilliampHours,
) -> Option<(Reading, (u8, u8))> {
    use voltwire_jk::Warnings as W;
    let (lo_i, lo) = rec.cell_voltages().enumerate().min_by_key(|(_, v)| *v)?;
    let (hi_i, hi) = rec.cell_voltages().enumerate().max_by_key(|(_, v)| *v)?;
    let status = rec.status?;
    let w = rec.warnings.unwrap_or(W(0));
    let has = |m: u16| w.contains(m);
    let both = has(W::MOSFET_OVER_TEMPERATURE)
        || has(W::BATTERY_OVER_TEMPERATURE)
        || has(W::BOX_OVER_TEMPERATURE);
    let charge_stop = both
        || has(W::CHARGE_OVER_VOLTAGE)
        || has(W::CELL_OVER_VOLTAGE)
        || has(W::CHARGE_OVER_CURRENT)
        || has(W::BATTERY_LOW_TEMPERATURE);
    let discharge_stop = both
        || has(W::DISCHARGE_UNDER_VOLTAGE)
        || has(W::CELL_UNDER_VOLTAGE)
        || has(W::DISCHARGE_OVER_CURRENT);
    let charge_enable = status.charge_mos_on() && !charge_stop;
    let discharge_enable = status.discharge_mos_on() && !discharge_stop;
    let temps: Vec<DeciCelsius> = [rec.box_temperature, rec.battery_temperature]
        .into_iter()
        .flatten()
        .filter_map(voltwire_jk::SensorTemperature::deci_celsius)
        .collect();
    let t_min = temps.iter().copied().min();
    let t_max = temps.iter().copied().max();
    let state = BatteryState {
        charge_voltage_limit: limits.0,
        charge_current_limit: if charge_enable {
            limits.1
        } else {
            Milliamps(0)
        },
        discharge_current_limit: if discharge_enable {
            limits.2
        } else {
            Milliamps(0)
        },
        soc: Permille(i16::from(rec.soc_percent?.min(100)) * 10),
        soh: Permille(1000),
        voltage: rec.pack_voltage?,
        current: rec.current()?,
        temperature: t_max.unwrap_or(DeciCelsius(250)),
        charge_enable,
        discharge_enable,
        ..BatteryState::default()
    };
    let mut r = reading_of(state, capacity);
    r.min_cell = Some(lo);
    r.max_cell = Some(hi);
    r.min_temperature = t_min;
    r.max_temperature = t_max;
    r.modules.blocking_charge = u16::from(!charge_enable);
    r.modules.blocking_discharge = u16::from(!discharge_enable);
    let n = |i: usize| u8::try_from(i + 1).unwrap_or(u8::MAX);
    Some((r, (n(lo_i), n(hi_i))))
}

/// Poll a JK BMS forever (read all, 0x06); a failed link is reopened with backoff (an
/// unanswered poll just leaves the reading to age).
async fn jk(spec: DirectSpec, d: SerialBms, shared: Shared) {
    use voltwire_core::Emit as _;
    use voltwire_jk::{Command, Message, Transport};
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 1);
    let mut reconnect = Reconnect::new(d.link.clone(), backoff);
    let config = PollConfig {
        timeout: d.timeout,
        retries: 0,
        gap: Duration::from_millis(20),
        echo: false,
    };
    let mut buf = vec![0u8; voltwire_jk::frame::MAX_FRAME_LEN];
    let req = match Message::read_all().emit(&mut buf) {
        Ok(n) => buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    loop {
        let Ok(link) = reconnect.connect(None).await else {
            continue;
        };
        tracing::info!("{}: link {} open", spec.name, d.link);
        let mut poller = Poller::new(link, voltwire_jk::JkDecoder::new(), config);
        let mut tick = tokio::time::interval(d.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let err = loop {
            tick.tick().await;
            let item = poller
                .request(&req, |i| {
                    i.as_ref().is_ok_and(|m| {
                        m.header.transport != Transport::Request
                            && matches!(m.header.command, Command::ReadAll | Command::Read)
                            && m.record().is_some_and(|r| r.cells.is_some())
                    })
                })
                .await;
            let m = match item {
                Ok(Ok(m)) => m,
                Ok(Err(_)) | Err(PollError::Timeout { .. }) => continue,
                Err(e) => break e,
            };
            if let Some((reading, cells)) = m
                .record()
                .and_then(|r| jk_reading(r, d.limits, spec.capacity))
            {
                shared.put(
                    &spec.name,
                    Latest {
                        reading,
                        at: Instant::now(),
                        cells: Some(cells),
                    },
                );
            }
        };
        tracing::warn!("{}: link lost ({err}), reconnecting", spec.name);
    }
}

/// The JK-PB alarm bits (`voltwire_jk::pb::ALARM_NAMES`) that stop charging: cell / battery
/// over voltage, charge over current, charge short circuit, charge over / under
/// temperature.
const PB_CHARGE_STOP: u32 = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9);
/// … that stop discharging: cell / battery under voltage, discharge over current, discharge
/// short circuit, discharge over temperature.
const PB_DISCHARGE_STOP: u32 = (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 15);
/// … that stop both: MOSFET over temperature, battery over temperature.
const PB_BOTH_STOP: u32 = (1 << 1) | (1 << 21);

/// The reading of a JK-PB status block: limits from the config; charging is allowed while
/// the charge MOSFET is on and no alarm that stops charging is set (`PB_CHARGE_STOP`,
/// `PB_BOTH_STOP`), discharging likewise. T1/T2 always, T3/T4 when fitted (the MOSFET
/// probe is not a cell's). `None` without fitted cells.
pub fn jk_pb_reading(
    s: &voltwire_jk::pb::Status,
    limits: (Millivolts, Milliamps, Milliamps),
    capacity: MilliampHours,
) -> Option<(Reading, (u8, u8))> {
    let (lo_i, lo) = s.cells().enumerate().min_by_key(|(_, v)| *v)?;
    let (hi_i, hi) = s.cells().enumerate().max_by_key(|(_, v)| *v)?;
    let a = s.alarms.0;
    let charge_enable = s.charge_mos != 0 && a & (PB_CHARGE_STOP | PB_BOTH_STOP) == 0;
    let discharge_enable = s.discharge_mos != 0 && a & (PB_DISCHARGE_STOP | PB_BOTH_STOP) == 0;
    let plausible = |t: &DeciCelsius| (-400..=1200).contains(&t.0);
    let temps: Vec<DeciCelsius> = [
        Some(s.temperature_1),
        Some(s.temperature_2),
        (s.sensors_present & 0x10 != 0).then_some(s.temperature_3),
        (s.sensors_present & 0x20 != 0).then_some(s.temperature_4),
    ]
    .into_iter()
    .flatten()
    .filter(plausible)
    .collect();
    let t_min = temps.iter().copied().min();
    let t_max = temps.iter().copied().max();
    let state = BatteryState {
        charge_voltage_limit: limits.0,
        charge_current_limit: if charge_enable {
            limits.1
        } else {
            Milliamps(0)
        },
        discharge_current_limit: if discharge_enable {
            limits.2
        } else {
            Milliamps(0)
        },
        soc: Permille(i16::from(s.soc_percent.min(100)) * 10),
        soh: Permille(1000),
        voltage: s.pack_voltage,
        current: s.current,
        temperature: t_max.unwrap_or(DeciCelsius(250)),
        charge_enable,
        discharge_enable,
        ..BatteryState::default()
    };
    let mut r = reading_of(state, capacity);
    r.min_cell = Some(lo);
    r.max_cell = Some(hi);
    r.min_temperature = t_min;
    r.max_temperature = t_max;
    r.modules.blocking_charge = u16::from(!charge_enable);
    r.modules.blocking_discharge = u16::from(!discharge_enable);
    let n = |i: usize| u8::try_from(i + 1).unwrap_or(u8::MAX);
    Some((r, (n(lo_i), n(hi_i))))
}

/// Poll a JK-PB forever (the status trigger, answered by the status block); a failed link
/// is reopened with backoff (an unanswered poll just leaves the reading to age).
async fn jk_pb(spec: DirectSpec, d: SerialBms, shared: Shared) {
    use voltwire_core::Emit as _;
    use voltwire_jk::pb::{BlockKind, Message, Trigger};
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 1);
    let mut reconnect = Reconnect::new(d.link.clone(), backoff);
    let config = PollConfig {
        timeout: d.timeout,
        retries: 0,
        gap: Duration::from_millis(20),
        echo: false,
    };
    let mut buf = vec![0u8; voltwire_jk::pb::BLOCK_LEN];
    let req = match Message::trigger(d.address, Trigger::Status).emit(&mut buf) {
        Ok(n) => buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    loop {
        let Ok(link) = reconnect.connect(None).await else {
            continue;
        };
        tracing::info!("{}: link {} open", spec.name, d.link);
        let mut poller = Poller::new(link, voltwire_jk::pb::PbDecoder::new(), config);
        let mut tick = tokio::time::interval(d.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let err = loop {
            tick.tick().await;
            let item = poller
                .request(
                    &req,
                    |i| matches!(i, Ok(Message::Block(b)) if b.kind() == BlockKind::Status),
                )
                .await;
            let b = match item {
                Ok(Ok(Message::Block(b))) => b,
                Ok(_) | Err(PollError::Timeout { .. }) => continue,
                Err(e) => break e,
            };
            if let Some((reading, cells)) = b
                .status()
                .as_ref()
                .and_then(|s| jk_pb_reading(s, d.limits, spec.capacity))
            {
                shared.put(
                    &spec.name,
                    Latest {
                        reading,
                        at: Instant::now(),
                        cells: Some(cells),
                    },
                );
            }
        };
        tracing::warn!("{}: link lost ({err}), reconnecting", spec.name);
    }
}

/// The reading of a Pylontech module from its 0x42 analog block and its 0x92 limits: CVL,
/// CCL and DCL are the module's own; a direction whose enable flag is cleared gets 0 A. The
/// first temperature is the BMS board's, the others the cells'. `None` without cells.
pub fn pylontech_rs485_reading(
    a: &voltwire_pylontech::rs485::ModuleAnalog,
    m: &voltwire_pylontech::rs485::ChargeManagement,
    capacity: MilliampHours,
) -> Option<(Reading, (u8, u8))> {
    use voltwire_pylontech::rs485::ManagementStatus as S;
    let cells = a.cells.iter().copied().enumerate();
    let (lo_i, lo) = cells.clone().min_by_key(|(_, v)| *v)?;
    let (hi_i, hi) = cells.max_by_key(|(_, v)| *v)?;
    let first_cell_temp = usize::from(a.temperatures.len() > 1);
    let temps: Vec<DeciCelsius> = (first_cell_temp..a.temperatures.len())
        .filter_map(|i| a.temperature_celsius(i))
        .collect();
    let board = a.temperature_celsius(0);
    let full = if a.total().0 > 0 { a.total() } else { capacity };
    let remaining = a.remaining().0.clamp(0, full.0);
    let soc = if full.0 > 0 {
        remaining * 1000 / full.0
    } else {
        0
    };
    let charge_enable = m.status.contains(S::CHARGE_ENABLE);
    let discharge_enable = m.status.contains(S::DISCHARGE_ENABLE);
    let t_min = temps.iter().copied().min();
    let t_max = temps.iter().copied().max();
    let state = BatteryState {
        charge_voltage_limit: m.charge_voltage_limit,
        charge_current_limit: if charge_enable {
            Milliamps(m.charge_current_limit.0.max(0))
        } else {
            Milliamps(0)
        },
        discharge_current_limit: if discharge_enable {
            m.discharge_current_magnitude()
        } else {
            Milliamps(0)
        },
        soc: Permille(i16::try_from(soc).unwrap_or(0)),
        soh: Permille(1000),
        voltage: a.voltage,
        current: a.current,
        temperature: t_max.or(board).unwrap_or(DeciCelsius(250)),
        charge_enable,
        discharge_enable,
        ..BatteryState::default()
    };
    let mut r = reading_of(state, full);
    r.capacity = Some(MilliampHours(remaining));
    r.consumed = Some(MilliampHours(full.0 - remaining));
    r.min_cell = Some(lo);
    r.max_cell = Some(hi);
    r.min_temperature = t_min;
    r.max_temperature = t_max;
    r.modules.blocking_charge = u16::from(!charge_enable);
    r.modules.blocking_discharge = u16::from(!discharge_enable);
    let n = |i: usize| u8::try_from(i + 1).unwrap_or(u8::MAX);
    Some((r, (n(lo_i), n(hi_i))))
}

/// One Pylontech RS485 exchange: the reply's body, `Ok(None)` when unanswered, refused or
/// not understood; `Err` only for a lost link.
async fn pylontech_exchange<L>(
    poller: &mut Poller<L, Decoder>,
    req: &voltwire_pylontech::rs485::Request,
) -> Result<Option<voltwire_pylontech::rs485::ResponseBody>, PollError>
where
    L: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use voltwire_pylontech::rs485::Response;
    let Ok(frame) = req.to_frame() else {
        return Ok(None);
    };
    let cmd = req.command();
    let item = poller
        .request(&frame.to_bytes(), |f: &Frames| {
            f.as_ref()
                .is_ok_and(|f| Response::from_frame(f, cmd).answers(req))
        })
        .await;
    match item {
        Ok(Ok(f)) => {
            let r = Response::from_frame(&f, cmd);
            Ok(r.rtn.is_ok().then_some(r.body))
        }
        Ok(Err(_)) | Err(PollError::Timeout { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Poll a Pylontech module forever (0x42 analog + 0x92 limits); a failed link is reopened
/// with backoff (an unanswered poll just leaves the reading to age).
async fn pylontech_rs485(spec: DirectSpec, p: SerialBms, shared: Shared) {
    use voltwire_pylontech::rs485::{Request, RequestBody, ResponseBody, Target};
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 1);
    let mut reconnect = Reconnect::new(p.link.clone(), backoff);
    let config = PollConfig {
        timeout: p.timeout,
        retries: 0,
        gap: Duration::from_millis(20),
        echo: false,
    };
    let adr = p.address;
    loop {
        let Ok(link) = reconnect.connect(None).await else {
            continue;
        };
        tracing::info!("{}: link {} open", spec.name, p.link);
        let mut poller = Poller::new(link, Decoder::new(), config);
        let mut tick = tokio::time::interval(p.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let err = loop {
            tick.tick().await;
            let analog = Request::new(adr, RequestBody::Analog(Target::Module(adr)));
            let a = match pylontech_exchange(&mut poller, &analog).await {
                Ok(a) => a,
                Err(e) => break e,
            };
            let limits = Request::new(adr, RequestBody::Management(adr));
            let m = match pylontech_exchange(&mut poller, &limits).await {
                Ok(m) => m,
                Err(e) => break e,
            };
            if let (
                Some(ResponseBody::Analog(a)),
                Some(ResponseBody::Management { management, .. }),
            ) = (a, m)
            {
                if let Some(a) = a.modules.first() {
                    if let Some((reading, cells)) =
                        pylontech_rs485_reading(a, &management, spec.capacity)
                    {
                        shared.put(
                            &spec.name,
                            Latest {
                                reading,
                                at: Instant::now(),
                                cells: Some(cells),
                            },
                        );
                    }
                }
            }
        };
        tracing::warn!("{}: link lost ({err}), reconnecting", spec.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack() -> (PackAnalog, PackStatus) {
        let mut a = PackAnalog::default();
        for mv in [3300, 3350, 3290, 3310] {
            a.cells.push(Millivolts(mv)).unwrap();
        }
        a.voltage = Millivolts(13_250);
        a.current = Milliamps(-5000);
        a.remaining_capacity = MilliampHours(25_000);
        a.full_capacity = MilliampHours(50_000);
        let mut s = PackStatus::default();
        s.state.system = System(System::CHARGE_FET_ON | System::DISCHARGE_FET_ON);
        (a, s)
    }

    const LIMITS: (Millivolts, Milliamps, Milliamps) =
        (Millivolts(14_200), Milliamps(50_000), Milliamps(70_000));

    #[test]
    fn pace_reading_maps_cells_capacity_and_limits() {
        let (a, s) = pack();
        let (r, cells) = pace_reading(&a, &s, LIMITS, MilliampHours(100_000)).unwrap();
        assert_eq!(cells, (3, 2));
        assert_eq!(
            (r.min_cell, r.max_cell),
            (Some(Millivolts(3290)), Some(Millivolts(3350)))
        );
        // The pack's own full capacity wins over the configured one.
        assert_eq!(r.installed_capacity, MilliampHours(50_000));
        assert_eq!(r.state.soc, Permille(500));
        assert_eq!(r.capacity, Some(MilliampHours(25_000)));
        assert_eq!(r.consumed, Some(MilliampHours(25_000)));
        assert_eq!(r.state.charge_current_limit, Milliamps(50_000));
        assert_eq!(r.state.discharge_current_limit, Milliamps(70_000));
        assert!(r.state.charge_enable && r.state.discharge_enable);
        assert_eq!(
            pace_reading(&PackAnalog::default(), &s, LIMITS, MilliampHours(1)),
            None
        );
    }

    #[test]
    fn pace_protections_stop_their_direction() {
        let (a, mut s) = pack();
        s.state.protect_1 = Protect1(Protect1::CELL_OVER_VOLTAGE);
        let (r, _) = pace_reading(&a, &s, LIMITS, MilliampHours(1)).unwrap();
        assert!(!r.state.charge_enable && r.state.discharge_enable);
        assert_eq!(r.state.charge_current_limit, Milliamps(0));
        assert_eq!(r.modules.blocking_charge, 1);
        s.state.protect_1 = Protect1(Protect1::CELL_UNDER_VOLTAGE);
        let (r, _) = pace_reading(&a, &s, LIMITS, MilliampHours(1)).unwrap();
        assert!(r.state.charge_enable && !r.state.discharge_enable);
        assert_eq!(r.state.discharge_current_limit, Milliamps(0));
        s.state.protect_1 = Protect1(Protect1::SHORT_CIRCUIT);
        let (r, _) = pace_reading(&a, &s, LIMITS, MilliampHours(1)).unwrap();
        assert!(!r.state.charge_enable && !r.state.discharge_enable);
        // A MOSFET that is off stops its direction too.
        s.state.protect_1 = Protect1(0);
        s.state.system = System(System::DISCHARGE_FET_ON);
        let (r, _) = pace_reading(&a, &s, LIMITS, MilliampHours(1)).unwrap();
        assert!(!r.state.charge_enable && r.state.discharge_enable);
    }

    fn daly() -> DalyPoll {
        use voltwire_daly::{
            CellVoltageRange, ChargeState, FailureFlags, MosfetStatus, PackStatus, Switch,
            TemperatureRange,
        };
        DalyPoll {
            pack: PackStatus {
                voltage: Millivolts(53_100),
                acquired_voltage: Millivolts(0),
                current: Milliamps(-4_000),
                soc: Permille(615),
            },
            cells: CellVoltageRange {
                max: Millivolts(3_330),
                max_cell: 7,
                min: Millivolts(3_310),
                min_cell: 12,
                reserved: [0; 2],
            },
            temperatures: TemperatureRange {
                max: DeciCelsius(240),
                max_sensor: 1,
                min: DeciCelsius(210),
                min_sensor: 2,
                reserved: [0; 4],
            },
            mosfets: MosfetStatus {
                state: ChargeState(0),
                charge_mosfet: Switch(1),
                discharge_mosfet: Switch(1),
                bms_life: 0,
                remaining_capacity: MilliampHours(61_500),
            },
            failures: FailureFlags::default(),
        }
    }

    #[test]
    fn daly_reading_maps_pack_cells_temperatures_and_limits() {
        let (r, cells) = daly_reading(&daly(), LIMITS, MilliampHours(100_000));
        assert_eq!(cells, (12, 7));
        assert_eq!(
            (r.min_cell, r.max_cell),
            (Some(Millivolts(3_310)), Some(Millivolts(3_330)))
        );
        assert_eq!(
            (r.min_temperature, r.max_temperature),
            (Some(DeciCelsius(210)), Some(DeciCelsius(240)))
        );
        assert_eq!(r.state.soc, Permille(615));
        assert_eq!(r.state.voltage, Millivolts(53_100));
        assert_eq!(r.state.current, Milliamps(-4_000));
        assert_eq!(r.capacity, Some(MilliampHours(61_500)));
        assert_eq!(r.installed_capacity, MilliampHours(100_000));
        assert_eq!(
            (
                r.state.charge_voltage_limit,
                r.state.charge_current_limit,
                r.state.discharge_current_limit
            ),
            LIMITS
        );
        assert!(r.state.charge_enable && r.state.discharge_enable);
    }

    #[test]
    fn daly_mosfets_and_level_2_faults_stop_their_direction() {
        use voltwire_daly::{Failure as F, Switch};
        let dirs = |d: &DalyPoll| {
            let (r, _) = daly_reading(d, LIMITS, MilliampHours(1));
            (
                r.state.charge_current_limit.0,
                r.state.discharge_current_limit.0,
                r.modules.blocking_charge,
                r.modules.blocking_discharge,
            )
        };
        let mut d = daly();
        d.mosfets.charge_mosfet = Switch(0);
        assert_eq!(dirs(&d), (0, 70_000, 1, 0));
        let mut d = daly();
        d.mosfets.discharge_mosfet = Switch(0);
        assert_eq!(dirs(&d), (50_000, 0, 0, 1));
        for (f, want) in [
            (F::CellVoltageHighL2, (0, 70_000, 1, 0)),
            (F::LowVoltageChargeForbidden, (0, 70_000, 1, 0)),
            (F::CellVoltageLowL2, (50_000, 0, 0, 1)),
            (F::DischargeTemperatureHighL2, (50_000, 0, 0, 1)),
            (F::ShortCircuitProtectFault, (0, 0, 1, 1)),
            // A level-1 warning stops nothing.
            (F::CellVoltageHighL1, (50_000, 70_000, 0, 0)),
        ] {
            let mut d = daly();
            d.failures.set(f, true);
            assert_eq!(dirs(&d), want, "{f:?}");
        }
    }

    #[test]
    fn pylontech_rs485_limits_are_the_modules_and_a_cleared_flag_stops_its_direction() {
        use voltwire_pylontech::rs485::{
            ChargeManagement, DischargeSign, ManagementStatus as S, ModuleAnalog,
        };
        let mut a = ModuleAnalog::default();
        for mv in [3300, 3350, 3290, 3310] {
            a.cells.push(Millivolts(mv)).unwrap();
        }
        a.voltage = Millivolts(13_250);
        a.current = Milliamps(2_000);
        a.remaining_capacity = MilliampHours(25_000);
        a.full_capacity = MilliampHours(50_000);
        let m = |status: u8| {
            ChargeManagement::new(
                Millivolts(14_200),
                Millivolts(11_000),
                Milliamps(25_000),
                Milliamps(30_000),
                DischargeSign::Negative,
                S(status),
            )
        };
        let both = S::CHARGE_ENABLE | S::DISCHARGE_ENABLE;
        let (r, cells) = pylontech_rs485_reading(&a, &m(both), MilliampHours(1)).unwrap();
        assert_eq!(cells, (3, 2));
        assert_eq!(r.installed_capacity, MilliampHours(50_000));
        assert_eq!(r.state.soc, Permille(500));
        let lim = |r: &Reading| {
            (
                r.state.charge_voltage_limit.0,
                r.state.charge_current_limit.0,
                r.state.discharge_current_limit.0,
            )
        };
        assert_eq!(lim(&r), (14_200, 25_000, 30_000));
        let (r, _) =
            pylontech_rs485_reading(&a, &m(S::DISCHARGE_ENABLE), MilliampHours(1)).unwrap();
        assert_eq!(lim(&r), (14_200, 0, 30_000));
        assert_eq!(r.modules.blocking_charge, 1);
        let (r, _) = pylontech_rs485_reading(&a, &m(S::CHARGE_ENABLE), MilliampHours(1)).unwrap();
        assert_eq!(lim(&r), (14_200, 25_000, 0));
        assert_eq!(r.modules.blocking_discharge, 1);
        assert!(
            pylontech_rs485_reading(&ModuleAnalog::default(), &m(both), MilliampHours(1)).is_none()
        );
    }

    #[test]
    fn jk_pb_mosfets_and_alarms_stop_their_direction() {
        let st = |mos: (u8, u8), alarms: u32| {
            let mut cell_voltages = [Millivolts(0); 32];
            cell_voltages[0] = Millivolts(3_320);
            cell_voltages[1] = Millivolts(3_305);
            cell_voltages[2] = Millivolts(3_331);
            cell_voltages[3] = Millivolts(3_000); // not fitted
            voltwire_jk::pb::Status {
                cell_voltages,
                cell_mask: 0b111,
                pack_voltage: Millivolts(9_956),
                current: Milliamps(-4_000),
                soc_percent: 55,
                temperature_1: DeciCelsius(215),
                temperature_2: DeciCelsius(230),
                temperature_3: DeciCelsius(900), // not fitted
                charge_mos: mos.0,
                discharge_mos: mos.1,
                alarms: voltwire_jk::pb::Alarms(alarms),
                ..Default::default()
            }
        };
        let (r, cells) = jk_pb_reading(&st((1, 1), 0), LIMITS, MilliampHours(100_000)).unwrap();
        assert_eq!(cells, (2, 3));
        assert_eq!(r.min_cell, Some(Millivolts(3_305)));
        assert_eq!(r.max_cell, Some(Millivolts(3_331)));
        assert_eq!(r.max_temperature, Some(DeciCelsius(230)));
        assert_eq!(r.min_temperature, Some(DeciCelsius(215)));
        assert_eq!(r.state.current, Milliamps(-4_000));
        assert_eq!(r.state.soc, Permille(550));
        let dirs = |mos, alarms| {
            let (r, _) = jk_pb_reading(&st(mos, alarms), LIMITS, MilliampHours(1)).unwrap();
            (
                r.state.charge_current_limit.0 > 0,
                r.state.discharge_current_limit.0 > 0,
            )
        };
        assert_eq!(dirs((1, 1), 0), (true, true));
        assert_eq!(dirs((0, 1), 0), (false, true));
        assert_eq!(dirs((1, 0), 0), (true, false));
        for bit in [4, 5, 6, 7, 8, 9] {
            assert_eq!(dirs((1, 1), 1 << bit), (false, true), "bit {bit}");
        }
        for bit in [11, 12, 13, 14, 15] {
            assert_eq!(dirs((1, 1), 1 << bit), (true, false), "bit {bit}");
        }
        for bit in [1, 21] {
            assert_eq!(dirs((1, 1), 1 << bit), (false, false), "bit {bit}");
        }
        // Wire resistance, GPS: nothing stops.
        assert_eq!(dirs((1, 1), 1 | (1 << 18)), (true, true));
        let mut none = st((1, 1), 0);
        none.cell_mask = 0;
        assert!(jk_pb_reading(&none, LIMITS, MilliampHours(1)).is_none());
    }

    #[test]
    fn jk_mosfets_and_warnings_stop_their_direction() {
        use voltwire_jk::{Cell, Current, Record, Status, Warnings as W};
        let rec = |status: u16, warnings: u16| {
            let mut r = Record::new();
            let mut cells = voltwire_jk::heapless::Vec::new();
            for (i, mv) in [3300, 3350, 3290, 3310].into_iter().enumerate() {
                let index = u8::try_from(i + 1).unwrap();
                cells
                    .push(Cell {
                        index,
                        voltage: Millivolts(mv),
                    })
                    .unwrap();
            }
            r.cells = Some(cells);
            r.pack_voltage = Some(Millivolts(13_250));
            // Offset encoding (no protocol version): 10000 + 2 A in 10 mA.
            r.current_raw = Some(Current(10_200));
            r.soc_percent = Some(61);
            r.status = Some(Status(status));
            r.warnings = Some(W(warnings));
            r
        };
        let dirs = |r: &Record| {
            let (r, _) = jk_reading(r, LIMITS, MilliampHours(100_000)).unwrap();
            (
                r.state.charge_current_limit.0,
                r.state.discharge_current_limit.0,
            )
        };
        let (r, cells) = jk_reading(&rec(3, 0), LIMITS, MilliampHours(100_000)).unwrap();
        assert_eq!(cells, (3, 2));
        assert_eq!(r.state.soc, Permille(610));
        assert_eq!(r.state.voltage, Millivolts(13_250));
        assert_eq!(dirs(&rec(3, 0)), (50_000, 70_000));
        assert_eq!(dirs(&rec(2, 0)), (0, 70_000), "charge MOSFET off");
        assert_eq!(dirs(&rec(1, 0)), (50_000, 0), "discharge MOSFET off");
        assert_eq!(dirs(&rec(3, W::CELL_OVER_VOLTAGE)), (0, 70_000));
        assert_eq!(dirs(&rec(3, W::CELL_UNDER_VOLTAGE)), (50_000, 0));
        assert_eq!(dirs(&rec(3, W::MOSFET_OVER_TEMPERATURE)), (0, 0));
        assert_eq!(dirs(&rec(3, W::LOW_CAPACITY)), (50_000, 70_000));
        let mut no_status = rec(3, 0);
        no_status.status = None;
        assert!(jk_reading(&no_status, LIMITS, MilliampHours(1)).is_none());
    }
}
