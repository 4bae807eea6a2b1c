//! One Pace pack on its own port (or several on a bus): the poll loop, which runs the shared
//! Pace plans of `voltwire-bms-poll` through the runtime's `bms::poll`, and the mapping of
//! their replies into the rules' [`PackReading`] / [`PackSettings`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use voltwire_asciihex::Decoder;
use voltwire_bms_poll::pace::{PaceExchange, PacePlan, PacePoll};
use voltwire_bms_poll::{Need, Reading as _, soc_of};
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_ess::pace2pylon::{PackAlarms, PackReading, PackSettings};
use voltwire_pace::flags::{Protect1, Protect2};
use voltwire_pace::{
    ConfigRead, MosfetSwitch, PackAnalog, PackStatus, RequestBody, ResponseBody, Target,
    VoltageKind,
};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_runtime::poll::{PollConfig, PollError, Poller};

use crate::engine::{Clock, Shared};

/// The reading of one pack from its 0x42 and 0x44 blocks (the shared Pace reading, cell
/// numbers from 0, every probe for the temperature range, SOH = full / design capacity when
/// the block carries the design); `None` when a block has no cell.
pub fn reading(a: &PackAnalog, s: &PackStatus) -> Option<PackReading> {
    let poll = PacePoll {
        analog: a.clone(),
        status: Some(s.clone()),
    };
    let r = poll.reading()?;
    let soh = r
        .design
        .and_then(|design| soc_of(a.full_capacity, design))
        .unwrap_or(Permille(1000));
    let index = |n: u8| n.saturating_sub(1);
    let (temp_min, temp_max) = r
        .temperatures()
        .unwrap_or((DeciCelsius(250), DeciCelsius(250)));
    Some(PackReading {
        voltage: r.voltage,
        current: r.current,
        soc: r.soc.unwrap_or(Permille(0)),
        soh,
        remaining: a.remaining_capacity,
        full: a.full_capacity,
        cycles: a.cycles,
        cell_min: (r.cell_min.value, index(r.cell_min.number)),
        cell_max: (r.cell_max.value, index(r.cell_max.number)),
        temp_min,
        temp_max,
        alarms: alarms(s),
    })
}

/// The Pace state bytes as the rules' alarm word (protect 1/2 bit for bit, any fault bit,
/// any balancing bit). Temperature states of unknown sensors are not used: the BMS's own
/// protect bits decide.
pub fn alarms(s: &PackStatus) -> PackAlarms {
    let st = &s.state;
    let p1 = st.protect_1;
    let p2 = st.protect_2;
    let map: [(bool, u32); 17] = [
        (
            p1.contains(Protect1::CELL_OVER_VOLTAGE),
            PackAlarms::CELL_OVER_VOLTAGE,
        ),
        (
            p1.contains(Protect1::CELL_UNDER_VOLTAGE),
            PackAlarms::CELL_UNDER_VOLTAGE,
        ),
        (
            p1.contains(Protect1::PACK_OVER_VOLTAGE),
            PackAlarms::PACK_OVER_VOLTAGE,
        ),
        (
            p1.contains(Protect1::PACK_UNDER_VOLTAGE),
            PackAlarms::PACK_UNDER_VOLTAGE,
        ),
        (
            p1.contains(Protect1::CHARGE_OVER_CURRENT),
            PackAlarms::CHARGE_OVER_CURRENT,
        ),
        (
            p1.contains(Protect1::DISCHARGE_OVER_CURRENT),
            PackAlarms::DISCHARGE_OVER_CURRENT,
        ),
        (
            p1.contains(Protect1::SHORT_CIRCUIT),
            PackAlarms::SHORT_CIRCUIT,
        ),
        (
            p2.contains(Protect2::CHARGE_OVER_TEMPERATURE),
            PackAlarms::CHARGE_OVER_TEMPERATURE,
        ),
        (
            p2.contains(Protect2::DISCHARGE_OVER_TEMPERATURE),
            PackAlarms::DISCHARGE_OVER_TEMPERATURE,
        ),
        (
            p2.contains(Protect2::CHARGE_UNDER_TEMPERATURE),
            PackAlarms::CHARGE_UNDER_TEMPERATURE,
        ),
        (
            p2.contains(Protect2::DISCHARGE_UNDER_TEMPERATURE),
            PackAlarms::DISCHARGE_UNDER_TEMPERATURE,
        ),
        (
            p2.contains(Protect2::MOSFET_OVER_TEMPERATURE),
            PackAlarms::MOSFET_OVER_TEMPERATURE,
        ),
        (
            p2.contains(Protect2::ENVIRONMENT_OVER_TEMPERATURE),
            PackAlarms::ENVIRONMENT_OVER_TEMPERATURE,
        ),
        (
            p2.contains(Protect2::ENVIRONMENT_UNDER_TEMPERATURE),
            PackAlarms::ENVIRONMENT_UNDER_TEMPERATURE,
        ),
        (
            p2.contains(Protect2::FULLY_CHARGED),
            PackAlarms::FULLY_CHARGED,
        ),
        (
            // Every fault bit, named or not.
            st.fault.0 != 0,
            PackAlarms::FAULT,
        ),
        (
            st.balance_1 != 0 || st.balance_2 != 0,
            PackAlarms::BALANCING,
        ),
    ];
    PackAlarms(
        map.iter()
            .filter(|(on, _)| *on)
            .fold(0, |acc, (_, bit)| acc | bit),
    )
}

/// The four configuration reads, in order: pack OV, pack UV, charge OC, discharge OC.
pub const CONFIG_READS: [ConfigRead; 4] = [
    ConfigRead::Voltage(VoltageKind::PackOver),
    ConfigRead::Voltage(VoltageKind::PackUnder),
    ConfigRead::ChargeOverCurrent,
    ConfigRead::DischargeOverCurrent,
];

/// Settings from the four replies (in [`CONFIG_READS`] order); `None` when one is missing
/// or refused.
pub fn settings(replies: &[Option<ResponseBody>; 4]) -> Option<PackSettings> {
    let [Some(ov), Some(uv), Some(chg), Some(dis)] = replies else {
        return None;
    };
    let (
        ResponseBody::Voltage(VoltageKind::PackOver, ov),
        ResponseBody::Voltage(VoltageKind::PackUnder, uv),
    ) = (ov, uv)
    else {
        return None;
    };
    let (ResponseBody::ChargeOverCurrent(c), ResponseBody::DischargeOverCurrent(d)) = (chg, dis)
    else {
        return None;
    };
    let abs = |m: Milliamps| Milliamps(m.0.saturating_abs());
    Some(PackSettings {
        over_voltage: Millivolts(ov.protect.0),
        under_voltage: Millivolts(uv.protect.0),
        charge_over_current: abs(c.protect),
        discharge_over_current: abs(d.protect),
    })
}

/// One pack on a link: its index in the shared state and its Pace address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Index in the shared state.
    pub index: usize,
    /// Pace address.
    pub address: u8,
}

/// What a link task needs: the link and the packs on it (one on its own port, several on
/// an RS485 bus, polled in turn).
#[derive(Debug, Clone)]
pub struct PackLink {
    /// Where.
    pub url: LinkUrl,
    /// The packs on it.
    pub members: Vec<Member>,
    /// Analog/status period.
    pub poll_interval: Duration,
    /// Configuration read period.
    pub config_interval: Duration,
    /// Reply timeout.
    pub timeout: Duration,
    /// Settings for a pack that refuses a configuration read.
    pub fallback: Option<PackSettings>,
}

impl PackLink {
    /// The 0x42/0x44 target: every pack (0xFF) for a pack alone on its port (as the
    /// reference asks), the pack's own number on a shared bus (there 0xFF at the first
    /// address would bring every pack's block).
    fn target(&self, m: Member) -> Target {
        if self.members.len() > 1 {
            Target::Pack(m.address)
        } else {
            Target::All
        }
    }
}

/// One request and its answer (RTN 0): `Ok(None)` when unanswered or refused, `Err` only
/// for a lost link.
async fn exchange<L>(
    poller: &mut Poller<L, Decoder>,
    address: u8,
    body: RequestBody,
) -> Result<Option<ResponseBody>, PollError>
where
    L: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    voltwire_runtime::bms::poll(poller, &mut PaceExchange::new(address, body)).await
}

/// Poll the packs of one link forever: reconnect with backoff when the link fails.
pub async fn run(p: PackLink, shared: Arc<Mutex<Shared>>, clock: Clock) {
    let seed = p.members.first().map_or(0, |m| m.index as u64);
    let backoff = Backoff::new(
        Duration::from_millis(200),
        Duration::from_secs(10),
        200,
        seed,
    );
    let mut reconnect = Reconnect::new(p.url.clone(), backoff);
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
        tracing::info!(url = %p.url, packs = p.members.len(), "pack link open");
        let mut poller = Poller::new(link, Decoder::new(), config);
        let mut next_config = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(p.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let err = 'link: loop {
            tick.tick().await;
            let config_due = tokio::time::Instant::now() >= next_config;
            if config_due {
                next_config = tokio::time::Instant::now() + p.config_interval;
            }
            for m in &p.members {
                if let Err(e) =
                    Box::pin(cycle(&p, *m, &mut poller, &shared, &clock, config_due)).await
                {
                    break 'link e;
                }
            }
        };
        tracing::warn!(url = %p.url, error = %err, "pack link lost, reconnecting");
    }
}

fn update(shared: &Mutex<Shared>, index: usize, f: impl FnOnce(&mut Shared, usize)) {
    if let Ok(mut sh) = shared.lock() {
        f(&mut sh, index);
    }
}

async fn cycle<L>(
    p: &PackLink,
    m: Member,
    poller: &mut Poller<L, Decoder>,
    shared: &Arc<Mutex<Shared>>,
    clock: &Clock,
    config_due: bool,
) -> Result<(), PollError>
where
    L: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let started = clock.now();
    let mut plan = PacePlan::new(m.address, p.target(m), Need::Required);
    let answer = voltwire_runtime::bms::poll(poller, &mut plan).await?;
    let took_ms = clock.now().since(started);
    if let Some(pack) = answer {
        update(shared, m.index, |sh, i| {
            if let Some(slot) = sh.polls.get_mut(i) {
                *slot = Some(crate::engine::PollTiming { started, took_ms });
            }
        });
        if let Some(r) = pack.status.as_ref().and_then(|s| reading(&pack.analog, s)) {
            let now = clock.now();
            update(shared, m.index, |sh, i| {
                if let Some(slot) = sh.packs.get_mut(i) {
                    slot.reading = Some((r, now));
                }
            });
        }
    }
    if config_due {
        let mut replies: [Option<ResponseBody>; 4] = Default::default();
        for (slot, read) in replies.iter_mut().zip(CONFIG_READS) {
            *slot = exchange(poller, m.address, RequestBody::ReadConfig(read)).await?;
        }
        let got = settings(&replies).or(p.fallback);
        update(shared, m.index, |sh, i| {
            if let Some(slot) = sh.packs.get_mut(i) {
                if got.is_some() || slot.settings.is_none() {
                    slot.settings = got;
                }
            }
        });
    }
    let unlock = shared
        .lock()
        .ok()
        .and_then(|sh| sh.unlock.get(m.index).copied())
        .unwrap_or(false);
    if unlock {
        let on = RequestBody::ChargeMosfet(MosfetSwitch::On);
        if exchange(poller, m.address, on).await?.is_some() {
            tracing::info!(pack = m.index, "charge MOSFET switched back on");
        }
        update(shared, m.index, |sh, i| {
            if let Some(u) = sh.unlock.get_mut(i) {
                *u = false;
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_asciihex::block::{Analog, Status};
    use voltwire_core::{DeciKelvin, MilliampHours};
    use voltwire_pace::PackState;
    use voltwire_pace::flags::{Control, Fault, System, Warn1, Warn2};
    use voltwire_pace::{CurrentProtection, VoltageProtection};

    fn status(p1: u8, p2: u8, fault: u8, bal: u8) -> PackStatus {
        Status {
            cells: heapless::Vec::new(),
            temperatures: heapless::Vec::new(),
            charge_current: 0,
            voltage: 0,
            discharge_current: 0,
            state: PackState {
                protect_1: Protect1(p1),
                protect_2: Protect2(p2),
                system: System(0),
                control: Control(0),
                fault: Fault(fault),
                balance_1: 0,
                balance_2: bal,
                warn_1: Warn1(0),
                warn_2: Warn2(0),
            },
        }
    }

    #[test]
    fn alarms_map_bit_for_bit() {
        assert_eq!(alarms(&status(0, 0, 0, 0)), PackAlarms(0));
        assert_eq!(
            alarms(&status(0x01, 0, 0, 0)),
            PackAlarms(PackAlarms::CELL_OVER_VOLTAGE)
        );
        assert_eq!(
            alarms(&status(0x40, 0, 0, 0)),
            PackAlarms(PackAlarms::SHORT_CIRCUIT)
        );
        assert_eq!(
            alarms(&status(0, 0x10, 0, 0)),
            PackAlarms(PackAlarms::MOSFET_OVER_TEMPERATURE)
        );
        assert_eq!(
            alarms(&status(0, 0x80, 0, 0)),
            PackAlarms(PackAlarms::FULLY_CHARGED)
        );
        assert_eq!(
            alarms(&status(0, 0, 0x04, 0)),
            PackAlarms(PackAlarms::FAULT)
        );
        // An unnamed fault bit is a fault too.
        assert_eq!(
            alarms(&status(0, 0, 0x80, 0)),
            PackAlarms(PackAlarms::FAULT)
        );
        assert_eq!(
            alarms(&status(0, 0, 0, 0x01)),
            PackAlarms(PackAlarms::BALANCING)
        );
    }

    #[test]
    fn reading_from_the_blocks() {
        let a: PackAnalog = Analog {
            cells: [3_301, 3_290, 3_333].map(Millivolts).into_iter().collect(),
            temperatures: [2_930, 2_980, 2_700].map(DeciKelvin).into_iter().collect(),
            current: Milliamps(-1_230),
            voltage: Millivolts(26_500),
            remaining_capacity: MilliampHours(45_000),
            user_defined: 3,
            full_capacity: MilliampHours(90_000),
            cycles: 12,
            extension: Some(MilliampHours(100_000)),
        };
        let r = reading(&a, &status(0, 0, 0, 0)).expect("reading");
        assert_eq!(
            (r.cell_min, r.cell_max),
            ((Millivolts(3_290), 1), (Millivolts(3_333), 2))
        );
        // 0 °C = 2730: 2700 → −3.0 °C, 2980 → 25.0 °C.
        assert_eq!(
            (r.temp_min, r.temp_max),
            (DeciCelsius(-30), DeciCelsius(250))
        );
        assert_eq!((r.soc, r.soh), (Permille(500), Permille(900)));
        let mut empty = a.clone();
        empty.cells.clear();
        assert!(reading(&empty, &status(0, 0, 0, 0)).is_none());
    }

    #[test]
    #[allow(
        clippy::large_stack_arrays,
        reason = "four replies, as cycle() holds them"
    )]
    fn settings_need_all_four_reads() {
        let v = |p: i32| VoltageProtection {
            lead: 1,
            alarm: Millivolts(p),
            protect: Millivolts(p),
            release: Millivolts(p),
            delay_100ms: 10,
        };
        let c = |p: i32| CurrentProtection {
            lead: 1,
            alarm: Milliamps(p),
            protect: Milliamps(p),
            delay_100ms: 10,
        };
        let all = [
            Some(ResponseBody::Voltage(VoltageKind::PackOver, v(28_800))),
            Some(ResponseBody::Voltage(VoltageKind::PackUnder, v(22_400))),
            Some(ResponseBody::ChargeOverCurrent(c(100_000))),
            Some(ResponseBody::DischargeOverCurrent(c(-105_000))),
        ];
        assert_eq!(
            settings(&all),
            Some(PackSettings {
                over_voltage: Millivolts(28_800),
                under_voltage: Millivolts(22_400),
                charge_over_current: Milliamps(100_000),
                discharge_over_current: Milliamps(105_000),
            })
        );
        let mut refused = all.clone();
        refused[2] = None;
        assert_eq!(settings(&refused), None);
    }
}
