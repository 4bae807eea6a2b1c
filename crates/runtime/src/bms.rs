//! The one driver of the BMS poll plans (`voltwire_bms_poll::Plan`) on a runtime link.
//!
//! [`poll`] runs one poll of a plan on a [`Poller`]: each request written, the first decoded
//! item the plan accepts handed back (a timeout hands back "no answer"), until the plan has
//! no request left; only a lost link is an error. [`run`] is the loop every app shares: it
//! opens the link (reconnecting with [`Backoff`]), polls at an interval and reports each
//! step as an [`Event`], so the app only maps what a poll read into its own domain. A poll
//! without a usable answer reports [`Event::NoAnswer`] with the count in a row: the app's
//! reading ages and its own data-age rule acts (the driver never invents a value).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use voltwire_bms_poll::Plan;

use crate::link::{Backoff, LinkUrl, Reconnect};
use crate::poll::{PollConfig, PollError, Poller};

/// One poll of `plan` on `poller`: `Ok(Some(output))` when complete, `Ok(None)` when a
/// required reply was missing or not understood.
///
/// # Errors
/// [`PollError::Closed`] or [`PollError::Io`] when the link failed (reconnect).
pub async fn poll<L, P>(
    poller: &mut Poller<L, P::Decoder>,
    plan: &mut P,
) -> Result<Option<P::Output>, PollError>
where
    L: AsyncRead + AsyncWrite + Unpin,
    P: Plan,
{
    plan.start();
    while let Some(request) = plan.request() {
        let plan_ref = &*plan;
        match poller
            .request(&request, |item| plan_ref.matches(item))
            .await
        {
            Ok(item) => plan.reply(Some(item)),
            Err(PollError::Timeout { .. }) => plan.reply(None),
            Err(e) => return Err(e),
        }
    }
    Ok(plan.finish())
}

/// When and how [`run`] polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Time from the start of one poll to the start of the next (a late poll delays the
    /// next rather than bunching up).
    pub interval: Duration,
    /// Timeout, retries and gap of each request.
    pub poll: PollConfig,
    /// Waits between failed attempts to open the link.
    pub backoff: Backoff,
    /// A pause after a lost link before opening it again.
    pub pause_after_loss: Duration,
}

/// What [`run`] reports.
#[derive(Debug)]
pub enum Event<O> {
    /// The link is open (again).
    Connected,
    /// A complete poll.
    Polled(O),
    /// A poll without a usable answer (nothing, or a required reply missing): the
    /// reading ages. `in_a_row` counts such polls since the last complete one.
    NoAnswer {
        /// Polls without a usable answer in a row, this one included.
        in_a_row: u32,
    },
    /// The link failed; it is reopened with the backoff.
    LinkLost(PollError),
}

/// Poll `plan` on `url` for ever, reporting every step to `report`.
pub async fn run<P>(
    url: LinkUrl,
    mut plan: P,
    schedule: Schedule,
    mut report: impl FnMut(Event<P::Output>),
) -> !
where
    P: Plan,
{
    let mut reconnect = Reconnect::new(url, schedule.backoff.clone());
    loop {
        let Ok(link) = reconnect.connect(None).await else {
            continue;
        };
        report(Event::Connected);
        let mut poller = Poller::new(link, P::Decoder::default(), schedule.poll);
        let mut tick = tokio::time::interval(schedule.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut in_a_row = 0_u32;
        let lost = loop {
            tick.tick().await;
            match poll(&mut poller, &mut plan).await {
                Ok(Some(output)) => {
                    in_a_row = 0;
                    report(Event::Polled(output));
                }
                Ok(None) => {
                    in_a_row = in_a_row.saturating_add(1);
                    report(Event::NoAnswer { in_a_row });
                }
                Err(e) => break e,
            }
        };
        report(Event::LinkLost(lost));
        tokio::time::sleep(schedule.pause_after_loss).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test")]
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use voltwire_bms_poll::daly::{DalyPlan, DalyReads};
    use voltwire_core::{MilliampHours, Milliamps, Millivolts, Permille};
    use voltwire_daly::{Response, Variant};

    fn reply(command: u8) -> Vec<u8> {
        let r = match command {
            0x90 => Response::PackStatus(voltwire_daly::PackStatus {
                voltage: Millivolts(53_100),
                acquired_voltage: Millivolts(0),
                current: Milliamps(4_000),
                soc: Permille(615),
            }),
            0x91 => Response::CellVoltageRange(voltwire_daly::CellVoltageRange {
                max: Millivolts(3_330),
                max_cell: 7,
                min: Millivolts(3_310),
                min_cell: 12,
                reserved: [0; 2],
            }),
            _ => Response::MosfetStatus(voltwire_daly::MosfetStatus {
                state: voltwire_daly::ChargeState(1),
                charge_mosfet: voltwire_daly::Switch(0),
                discharge_mosfet: voltwire_daly::Switch(1),
                bms_life: 0,
                remaining_capacity: MilliampHours(61_500),
            }),
        };
        let mut buf = [0u8; 13];
        let n = r.emit(1, &Variant::RS485, &mut buf).unwrap();
        buf[..n].to_vec()
    }

    /// A device that answers 0x90, 0x91 and 0x93 and ignores 0x92; records the commands.
    async fn device(mut io: tokio::io::DuplexStream, heard: tokio::sync::mpsc::Sender<u8>) {
        let mut req = [0u8; 13];
        while io.read_exact(&mut req).await.is_ok() {
            let _ = heard.send(req[2]).await;
            if req[2] != 0x92 {
                io.write_all(&reply(req[2])).await.unwrap();
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_sends_each_request_once_in_order_and_skips_a_silent_optional_one() {
        let (ours, theirs) = tokio::io::duplex(256);
        let (tx, mut heard) = tokio::sync::mpsc::channel(16);
        tokio::spawn(device(theirs, tx));
        let config = PollConfig {
            retries: 0,
            ..PollConfig::default()
        };
        let mut poller = Poller::new(ours, voltwire_daly::Decoder::new(), config);
        let mut plan = DalyPlan::new(Variant::RS485, DalyReads::Status);
        let out = poll(&mut poller, &mut plan).await.unwrap().unwrap();
        let mut order = Vec::new();
        while let Ok(c) = heard.try_recv() {
            order.push(c);
        }
        assert_eq!(order, [0x90, 0x91, 0x92, 0x93]);
        assert_eq!(out.pack.current, Milliamps(4_000));
        assert_eq!(out.temperatures, None);
        assert_eq!(out.mosfets.map(|m| m.charge_mosfet.0), Some(0));
        // Full needs 0x92: no output, and 0x93 / 0x98 are never sent.
        let mut full = DalyPlan::new(Variant::RS485, DalyReads::Full);
        assert!(poll(&mut poller, &mut full).await.unwrap().is_none());
        let mut order = Vec::new();
        while let Ok(c) = heard.try_recv() {
            order.push(c);
        }
        assert_eq!(order, [0x90, 0x91, 0x92]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_link_is_an_error() {
        let (ours, theirs) = tokio::io::duplex(256);
        drop(theirs);
        let mut poller = Poller::new(ours, voltwire_daly::Decoder::new(), PollConfig::default());
        let mut plan = DalyPlan::new(Variant::RS485, DalyReads::Status);
        let e = poll(&mut poller, &mut plan).await.unwrap_err();
        assert!(e.is_link_error(), "{e}");
    }

    /// Over TCP: connected, polled, the device goes away (link lost), comes back on the same
    /// port (connected again), polled; a silent device counts polls without an answer.
    #[tokio::test]
    async fn run_reports_connection_polls_loss_and_silence_in_order() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url: LinkUrl = format!("tcp://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let schedule = Schedule {
            interval: Duration::from_millis(10),
            poll: PollConfig {
                timeout: Duration::from_millis(200),
                retries: 0,
                gap: Duration::from_millis(1),
                echo: false,
            },
            backoff: Backoff::new(Duration::from_millis(10), Duration::from_millis(50), 0, 1),
            pause_after_loss: Duration::from_millis(1),
        };
        let plan = DalyPlan::new(Variant::RS485, DalyReads::Status);
        let task = tokio::spawn(run(url, plan, schedule, move |e| {
            let _ = events_tx.send(match e {
                Event::Connected => "connected".to_owned(),
                Event::Polled(p) => format!("polled {}", p.pack.voltage.0),
                Event::NoAnswer { in_a_row } => format!("no answer {in_a_row}"),
                Event::LinkLost(_) => "lost".to_owned(),
            });
        }));
        // First connection: answer one poll (four requests), then hang up.
        let (mut s, _) = listener.accept().await.unwrap();
        for _ in 0..4 {
            let mut req = [0u8; 13];
            s.read_exact(&mut req).await.unwrap();
            if req[2] != 0x92 {
                s.write_all(&reply(req[2])).await.unwrap();
            }
        }
        assert_eq!(events.recv().await.unwrap(), "connected");
        assert_eq!(events.recv().await.unwrap(), "polled 53100");
        drop(s);
        assert_eq!(events.recv().await.unwrap(), "lost");
        // Second connection: stay silent for two polls.
        let (s, _) = listener.accept().await.unwrap();
        assert_eq!(events.recv().await.unwrap(), "connected");
        assert_eq!(events.recv().await.unwrap(), "no answer 1");
        assert_eq!(events.recv().await.unwrap(), "no answer 2");
        task.abort();
        drop(s);
    }
}
