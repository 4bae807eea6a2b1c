//! Batteries read directly with our protocol crates (not over D-Bus), next to the D-Bus
//! ones: a Pylontech-protocol BMS on CAN (`virtual://`, SLCAN, `SocketCAN`, through the
//! runtime's bus task) and Daly, JK, JK-PB, Pace and Pylontech RS485 BMSes on a serial or
//! TCP link (the shared poll plans of `voltwire-bms-poll` run by the runtime's `bms` driver,
//! reconnected with backoff; this module keeps only the mapping into a [`Reading`]). Each runs as a task for the process's life and
//! puts its latest [`Reading`] into a shared map; the aggregator treats it as one more
//! battery (a silent one goes stale through the same data-age policy).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use voltwire_bms_poll::daly::{DalyPlan, DalyPoll, DalyReads};
use voltwire_bms_poll::jk::JkPlan;
use voltwire_bms_poll::jk_pb::{Fetch, JkPbPlan};
use voltwire_bms_poll::pace::{PacePlan, PacePoll};
use voltwire_bms_poll::pylontech::{PylontechPlan, PylontechPoll};
use voltwire_bms_poll::{Need, PackReading, Plan, Reading as _};
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_ess::aggregate::{AlarmLevels, Modules, Reading};
use voltwire_ess::{BatteryState, Millis, PYLONTECH_TELEGRAM, TelegramReader};
use voltwire_pace::{PackAnalog, PackStatus, Target};
use voltwire_pylontech::can::Message;
use voltwire_runtime::bms::{Event, Schedule};
use voltwire_runtime::can::port::{PortEvent, Timeouts, Wires};
use voltwire_runtime::can::{BusUrl, VirtualBuses};
use voltwire_runtime::link::{Backoff, LinkUrl};
use voltwire_runtime::poll::PollConfig;

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
            let plan = PacePlan::new(address, Target::All, Need::Required);
            let map = move |p: &PacePoll, cap| battery(&p.reading()?, Rules::Pace, limits, cap);
            serial(spec, shared, (link, interval, timeout), plan, map);
        }
        Kind::Daly(d) => {
            let variant = if d.address == 0x80 {
                voltwire_daly::Variant::UART
            } else {
                voltwire_daly::Variant::RS485
            };
            let plan = DalyPlan::new(variant, DalyReads::Full);
            let map = move |p: &DalyPoll, cap| daly_reading(p, d.limits, cap);
            serial(spec, shared, (d.link, d.interval, d.timeout), plan, map);
        }
        Kind::Jk(d) => {
            let map = move |r: &voltwire_jk::Record, cap| jk_reading(r, d.limits, cap);
            serial(
                spec,
                shared,
                (d.link, d.interval, d.timeout),
                JkPlan::new(),
                map,
            );
        }
        Kind::JkPb(d) => {
            let plan = JkPbPlan::new(d.address, Fetch::Trigger);
            let map = move |s: &voltwire_jk::pb::Status, cap| jk_pb_reading(s, d.limits, cap);
            serial(spec, shared, (d.link, d.interval, d.timeout), plan, map);
        }
        Kind::PylontechRs485 {
            link,
            address,
            interval,
            timeout,
        } => {
            let plan = PylontechPlan::new(address, true);
            let map =
                |p: &PylontechPoll, cap| battery(&p.reading()?, Rules::Pylontech, NO_LIMITS, cap);
            serial(spec, shared, (link, interval, timeout), plan, map);
        }
    }
}

/// Limits for a BMS that sends its own (unused).
const NO_LIMITS: (Millivolts, Milliamps, Milliamps) = (Millivolts(0), Milliamps(0), Milliamps(0));

/// Poll a BMS on a byte link for ever with the runtime's driver: each complete poll that
/// maps to a reading is put into `shared`; an unanswered poll just leaves the reading to
/// age; a failed link is reopened with backoff.
fn serial<P, M>(
    spec: DirectSpec,
    shared: Shared,
    (link, interval, timeout): (LinkUrl, Duration, Duration),
    plan: P,
    map: M,
) where
    P: Plan + Send + Sync + 'static,
    P::Decoder: Send,
    <P::Decoder as voltwire_core::StreamDecoder>::Item: Send,
    P::Output: Send,
    M: Fn(&P::Output, MilliampHours) -> Option<(Reading, (u8, u8))> + Send + 'static,
{
    let schedule = Schedule {
        interval,
        poll: PollConfig {
            timeout,
            retries: 0,
            gap: Duration::from_millis(20),
            echo: false,
        },
        backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 1),
        pause_after_loss: Duration::ZERO,
    };
    let url = link.clone();
    tokio::spawn(voltwire_runtime::bms::run(
        url,
        plan,
        schedule,
        move |e| match e {
            Event::Connected => tracing::info!("{}: link {link} open", spec.name),
            Event::Polled(out) => {
                if let Some((reading, cells)) = map(&out, spec.capacity) {
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
            Event::NoAnswer { .. } => {}
            Event::LinkLost(err) => {
                tracing::warn!("{}: link lost ({err}), reconnecting", spec.name);
            }
        },
    ));
}

/// The aggregator's rules per protocol where they differ: which capacity and SOC, which
/// temperatures, whose limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    /// SOC as the BMS sends it; remaining capacity from 0x93 against the configured one.
    Daly,
    /// The status word is required.
    Jk,
    /// SOC as the block's percentage.
    JkPb,
    /// SOC and capacities from the pack's own (the configured one when it reports 0);
    /// every probe (cells, MOSFET, environment) counts.
    Pace,
    /// As Pace, but only the cell probes (the board's when none reads); its own limits.
    Pylontech,
}

/// A battery reading from a pack reading: charging is allowed while the BMS allows it
/// (MOSFET on, no protection stopping it), its limit then the configured one (Pylontech:
/// the module's own), else 0 A; discharging likewise. `None` when `rules` miss a field.
fn battery(
    p: &PackReading,
    rules: Rules,
    limits: (Millivolts, Milliamps, Milliamps),
    capacity: MilliampHours,
) -> Option<(Reading, (u8, u8))> {
    if rules == Rules::Jk && p.charge_mosfet.is_none() {
        return None;
    }
    let own = matches!(rules, Rules::Pace | Rules::Pylontech);
    let full = match p.full {
        Some(f) if own && f.0 > 0 => f,
        _ => capacity,
    };
    let remaining = match rules {
        Rules::Daly | Rules::Pace | Rules::Pylontech => p.remaining,
        Rules::Jk | Rules::JkPb => None,
    }
    .map(|r| MilliampHours(r.0.min(full.0).max(0)));
    let soc = if own {
        match remaining {
            Some(r) if full.0 > 0 => Permille(i16::try_from(r.0 * 1000 / full.0).unwrap_or(0)),
            _ => Permille(0),
        }
    } else {
        Permille(p.soc?.0.clamp(0, 1000))
    };
    let temps = if rules == Rules::Pace {
        p.temperatures()
    } else {
        p.cell_temperatures
    };
    let board = (rules == Rules::Pylontech)
        .then_some(p.other_temperatures)
        .flatten();
    let limits = if rules == Rules::Pylontech {
        let l = p.limits?;
        (l.charge_voltage, l.charge_current, l.discharge_current)
    } else {
        limits
    };
    let charge_enable = p.charge_allowed();
    let discharge_enable = p.discharge_allowed();
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
        soc,
        soh: Permille(1000),
        voltage: p.voltage,
        current: p.current,
        temperature: temps.or(board).map_or(DeciCelsius(250), |(_, max)| max),
        charge_enable,
        discharge_enable,
        ..BatteryState::default()
    };
    let mut r = reading_of(state, full);
    if let Some(rem) = remaining {
        r.capacity = Some(rem);
        r.consumed = Some(MilliampHours(full.0 - rem.0));
    }
    r.min_cell = Some(p.cell_min.value);
    r.max_cell = Some(p.cell_max.value);
    r.min_temperature = temps.map(|(min, _)| min);
    r.max_temperature = temps.map(|(_, max)| max);
    r.modules.blocking_charge = u16::from(!charge_enable);
    r.modules.blocking_discharge = u16::from(!discharge_enable);
    Some((r, (p.cell_min.number, p.cell_max.number)))
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
    let poll = PacePoll {
        analog: a.clone(),
        status: Some(s.clone()),
    };
    battery(&poll.reading()?, Rules::Pace, limits, capacity)
}

/// The reading of a Daly BMS: charging is allowed while the charge MOSFET is on and no
/// level-2 fault that stops charging is set (cell / pack over voltage, charge over current,
/// charge over / under temperature, charge MOSFET over temperature, short circuit, charging
/// forbidden at low voltage); discharging likewise. The SOC is the BMS's.
pub fn daly_reading(
    d: &DalyPoll,
    limits: (Millivolts, Milliamps, Milliamps),
    capacity: MilliampHours,
) -> Option<(Reading, (u8, u8))> {
    battery(&d.reading()?, Rules::Daly, limits, capacity)
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
    battery(&rec.reading()?, Rules::Jk, limits, capacity)
}

/// The reading of a JK-PB status block: limits from the config; charging is allowed while
/// the charge MOSFET is on and no alarm that stops charging is set
/// (`voltwire_bms_poll::jk_pb::CHARGE_STOP`, `BOTH_STOP`), discharging likewise. T1/T2
/// always, T3/T4 when fitted (the MOSFET probe is not a cell's). `None` without fitted
/// cells.
pub fn jk_pb_reading(
    s: &voltwire_jk::pb::Status,
    limits: (Millivolts, Milliamps, Milliamps),
    capacity: MilliampHours,
) -> Option<(Reading, (u8, u8))> {
    battery(&s.reading()?, Rules::JkPb, limits, capacity)
}

/// The reading of a Pylontech module from its 0x42 analog block and its 0x92 limits: CVL,
/// CCL and DCL are the module's own; a direction whose enable flag is cleared gets 0 A. The
/// first temperature is the BMS board's, the others the cells'. `None` without cells.
pub fn pylontech_rs485_reading(
    a: &voltwire_pylontech::rs485::ModuleAnalog,
    m: &voltwire_pylontech::rs485::ChargeManagement,
    capacity: MilliampHours,
) -> Option<(Reading, (u8, u8))> {
    let poll = PylontechPoll {
        analog: a.clone(),
        management: Some(*m),
    };
    battery(&poll.reading()?, Rules::Pylontech, NO_LIMITS, capacity)
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

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_pace::flags::{Protect1, System};

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
            temperatures: Some(TemperatureRange {
                max: DeciCelsius(240),
                max_sensor: 1,
                min: DeciCelsius(210),
                min_sensor: 2,
                reserved: [0; 4],
            }),
            mosfets: Some(MosfetStatus {
                state: ChargeState(0),
                charge_mosfet: Switch(1),
                discharge_mosfet: Switch(1),
                bms_life: 0,
                remaining_capacity: MilliampHours(61_500),
            }),
            failures: Some(FailureFlags::default()),
        }
    }

    #[test]
    fn daly_reading_maps_pack_cells_temperatures_and_limits() {
        let (r, cells) = daly_reading(&daly(), LIMITS, MilliampHours(100_000)).unwrap();
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
            let (r, _) = daly_reading(d, LIMITS, MilliampHours(1)).unwrap();
            (
                r.state.charge_current_limit.0,
                r.state.discharge_current_limit.0,
                r.modules.blocking_charge,
                r.modules.blocking_discharge,
            )
        };
        let mut d = daly();
        d.mosfets.as_mut().unwrap().charge_mosfet = Switch(0);
        assert_eq!(dirs(&d), (0, 70_000, 1, 0));
        let mut d = daly();
        d.mosfets.as_mut().unwrap().discharge_mosfet = Switch(0);
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
            d.failures.as_mut().unwrap().set(f, true);
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
