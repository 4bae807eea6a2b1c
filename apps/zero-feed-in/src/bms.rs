//! Our BMS protocols read directly as the battery source: Daly, JK ("4E 57"), JK-PB
//! (register reads of its status table), Pace and Pylontech (RS485, ASCII-hex 0x42), each
//! on a `serial://` or `tcp://` link (`voltwire_runtime::link`) polled by the runtime's
//! `bms` driver; and the Eco-Worthy coulomb meter (`voltwire_modbus::coulomb_meter`, Modbus
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
//! The poll sequences are the shared plans of `voltwire-bms-poll` (Daly 0x90–0x93, JK read
//! all, JK-PB's status table in four register reads, Pace 0x42 + 0x44, Pylontech 0x42) run
//! by the runtime's `bms` driver; this module keeps the mapping into its [`Read`].

use std::time::Duration;

use tokio::sync::watch;
use voltwire_bms_poll::daly::{DalyPlan, DalyPoll, DalyReads};
use voltwire_bms_poll::jk::JkPlan;
use voltwire_bms_poll::jk_pb::{Fetch, JkPbPlan};
use voltwire_bms_poll::pace::{PacePlan, PacePoll};
use voltwire_bms_poll::pylontech::{PylontechPlan, PylontechPoll};
use voltwire_bms_poll::{Need, PackReading, Plan, Reading as _, range};
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_pace::Target;
use voltwire_runtime::bms::{Event, Schedule};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_runtime::poll::{PollConfig, PollError};
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

/// "No answer" (the device is there but did not give a usable reply).
const NO_ANSWER: PollError = PollError::Timeout { attempts: 0 };

/// The rules' view of a shared pack reading: SOC required, the cell probes' range, the
/// MOSFETs as the switches (`true` when not reported).
fn read_of(r: &PackReading) -> Option<Read> {
    Some(Read {
        voltage: r.voltage,
        current: r.current,
        soc: r.soc?,
        cells: Some((r.cell_min.value, r.cell_max.value)),
        temperatures: r.cell_temperatures,
        switches: (
            r.charge_mosfet.unwrap_or(true),
            r.discharge_mosfet.unwrap_or(true),
        ),
    })
}

/// JK: the record's reading; a SOC above 100 % is no answer.
fn jk_read(rec: &voltwire_jk::Record) -> Option<Read> {
    if rec.soc_percent? > 100 {
        return None;
    }
    read_of(&rec.reading()?)
}

/// JK-PB: the status block's reading with T1 and T2 as the temperatures; a SOC above 100 %
/// is no answer.
fn jk_pb_read(s: &voltwire_jk::pb::Status) -> Option<Read> {
    if s.soc_percent > 100 {
        return None;
    }
    Some(Read {
        temperatures: range([s.temperature_1, s.temperature_2]),
        ..read_of(&s.reading()?)?
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

/// A lost link is reopened after this pause (and the backoff).
const PAUSE_AFTER_LOSS: Duration = Duration::from_millis(200);

/// What the poll loops tell the log and the rules, shared by the plan and coulomb loops.
struct Report {
    bms: Bms,
    clock: Clock,
    tx: watch::Sender<Option<BatteryReading>>,
    unanswered: u32,
}

impl Report {
    fn connected(&self) {
        tracing::info!(link = %self.bms.port, protocol = self.bms.protocol.name(), "bms: connected");
    }

    /// A usable read goes to the rules; anything else counts as no answer.
    fn polled(&mut self, read: Result<Read, PollError>) {
        match read {
            Ok(read) => {
                if self.unanswered >= WARN_AFTER {
                    tracing::info!(link = %self.bms.port, "bms: answering again");
                }
                self.unanswered = 0;
                self.tx.send_replace(Some(read.reading(self.clock.now())));
            }
            Err(e) => {
                self.unanswered = self.unanswered.saturating_add(1);
                if self.unanswered == WARN_AFTER {
                    tracing::warn!(
                        link = %self.bms.port,
                        protocol = self.bms.protocol.name(),
                        address = self.bms.address,
                        error = %e,
                        "bms: no usable answer to {WARN_AFTER} polls in a row (check protocol, address, baud)"
                    );
                } else {
                    tracing::debug!(error = %e, "bms: no answer");
                }
            }
        }
    }

    fn lost(&self, why: &PollError) {
        tracing::warn!(link = %self.bms.port, error = %why, "bms: link lost; reopening");
    }
}

/// Polls `bms` for ever: every complete poll is sent as a reading; no answer sends nothing
/// (the reading ages: the watchdog acts); a lost link is reopened with backoff.
pub async fn run(bms: Bms, clock: Clock, tx: watch::Sender<Option<BatteryReading>>) {
    let address = bms.address;
    let protocol = bms.protocol;
    let report = Report {
        bms,
        clock,
        tx,
        unanswered: 0,
    };
    match protocol {
        Protocol::Daly => {
            let plan = DalyPlan::new(voltwire_daly::Variant::RS485, DalyReads::Status);
            planned(report, plan, |d: &DalyPoll| read_of(&d.reading()?)).await;
        }
        Protocol::Jk => planned(report, JkPlan::new(), jk_read).await,
        Protocol::JkPb => {
            planned(report, JkPbPlan::new(address, Fetch::Registers), jk_pb_read).await;
        }
        Protocol::Pace => {
            let plan = PacePlan::new(address, Target::Pack(address), Need::Optional);
            planned(report, plan, |p: &PacePoll| read_of(&p.reading()?)).await;
        }
        Protocol::Pylontech => {
            let plan = PylontechPlan::new(address, false);
            planned(report, plan, |p: &PylontechPoll| read_of(&p.reading()?)).await;
        }
        Protocol::Coulomb => coulomb_loop(report).await,
    }
}

/// A BMS read by its shared poll plan on the runtime's driver.
async fn planned<P: Plan>(mut report: Report, plan: P, map: impl Fn(&P::Output) -> Option<Read>) {
    let schedule = Schedule {
        interval: report.clock.real(report.bms.poll_ms),
        poll: PollConfig::default(),
        backoff: Backoff::default(),
        pause_after_loss: PAUSE_AFTER_LOSS,
    };
    let url = report.bms.port.clone();
    voltwire_runtime::bms::run(url, plan, schedule, |e| match e {
        Event::Connected => report.connected(),
        Event::Polled(out) => report.polled(map(&out).ok_or(NO_ANSWER)),
        Event::NoAnswer { .. } => report.polled(Err(NO_ANSWER)),
        Event::LinkLost(why) => report.lost(&why),
    })
    .await;
}

/// The coulomb meter through `tokio-modbus` (RTU framing), on the same schedule.
async fn coulomb_loop(mut report: Report) {
    let mut link = Reconnect::new(report.bms.port.clone(), Backoff::default());
    let config = PollConfig::default();
    loop {
        let Ok(port) = link.connect(None).await else {
            continue;
        };
        report.connected();
        let slave = tokio_modbus::Slave(report.bms.address);
        let mut ctx = tokio_modbus::client::rtu::attach_slave(port, slave);
        let mut every = tokio::time::interval(report.clock.real(report.bms.poll_ms));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let why = loop {
            every.tick().await;
            match coulomb(&mut ctx, config).await {
                Err(e) if e.is_link_error() => break e,
                read => report.polled(read),
            }
        };
        report.lost(&why);
        tokio::time::sleep(PAUSE_AFTER_LOSS).await;
    }
}
