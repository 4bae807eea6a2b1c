//! The sources: one BMS (Daly, Pace, JK 4E57 or JK-PB: polled, charge-MOSFET write; or a
//! Pylontech module over RS485, read only), all through one loop ([`bms`] over a
//! [`BmsProtocol`]), VE.Direct TEXT devices (receive only) and Linux 1-Wire sensors. Each runs in its own task, survives the loss of its link
//! (reconnect with backoff) and reports through [`Input`]s; silence is judged by the rules
//! (each source's own age and timeout).

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::sync::{mpsc, watch};
use voltwire_bms_rules::ShuntReading;
use voltwire_core::{DeciCelsius, StreamDecoder as _};
use voltwire_daly::Variant;
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_runtime::poll::{PollConfig, Poller};
use voltwire_victron::text::{Message, RecordDecoder};

use crate::bms::{BmsProtocol, Daly, Pace, Pylontech};
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

/// Settings of an addressed BMS (Pace, Pylontech RS485).
#[derive(Debug, Clone, Copy)]
pub struct PaceOptions {
    /// The pack's address (ADR; Pace 0–15, 1 on a lone pack; Pylontech 2 for the first).
    pub address: u8,
    /// Poll period.
    pub poll: Duration,
    /// Poller timing.
    pub poller: PollConfig,
}

/// How often and how patiently a BMS is polled.
#[derive(Debug, Clone, Copy)]
pub struct PollTiming {
    /// Poll period.
    pub poll: Duration,
    /// Poller timing.
    pub poller: PollConfig,
}

/// The charge-MOSFET rule of every writing BMS kind: the MOSFET is switched off whenever
/// the rules ask; it is switched back on only if this bridge switched it off, so the BMS's
/// own decisions are never overridden. A write counts as this bridge's when the BMS
/// acknowledged it or when the next poll reads the asked state back (a BMS that applies a
/// write without answering it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MosfetFollow {
    we_turned_off: bool,
    unconfirmed: Option<bool>,
}

impl MosfetFollow {
    /// A poll reported `reported`; the rules want `want_on`. Returns the state to write, if
    /// any.
    pub fn after_poll(&mut self, reported: Option<bool>, want_on: bool) -> Option<bool> {
        let reported = reported?;
        if self.unconfirmed.take() == Some(reported) {
            self.we_turned_off = !reported;
        }
        (reported != want_on && (!want_on || self.we_turned_off)).then_some(want_on)
    }

    /// The write of `on` was acknowledged (`true`) or went unanswered (`false`).
    pub fn written(&mut self, on: bool, acknowledged: bool) {
        if acknowledged {
            self.we_turned_off = !on;
            self.unconfirmed = None;
        } else {
            self.unconfirmed = Some(on);
        }
    }
}

/// Poll a BMS of kind `B` for ever: readings (and alarms, where the kind reads them) to
/// `tx`; with `want`, the charge MOSFET follows it under [`MosfetFollow`] (`None`: read
/// only). Reconnects with backoff when the link is lost; a BMS that stops answering is
/// silence (its age grows until the rules' comm latch). Returns only when `tx` is closed or
/// `conn` says no stream will ever come.
pub async fn bms<C: Connect, B: BmsProtocol>(
    mut conn: C,
    mut proto: B,
    timing: PollTiming,
    tx: mpsc::Sender<Input>,
    want: Option<watch::Receiver<bool>>,
) {
    let name = B::NAME;
    let mut retry = backoff(11);
    let mut follow = MosfetFollow::default();
    while !tx.is_closed() {
        let link = match conn.connect().await {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                tracing::error!(kind = name, error = %e, "bms: no stream will ever come; source ends");
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
        let mut p = Poller::new(link, B::Decoder::default(), timing.poller);
        let mut ticker = tokio::time::interval(timing.poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let why = loop {
            ticker.tick().await;
            let reported = match proto.poll(&mut p).await {
                Ok(polled) => {
                    if let Some(a) = polled.alarms {
                        if tx.send(Input::BmsAlarms(a)).await.is_err() {
                            return;
                        }
                    }
                    if tx
                        .send(Input::Bms(polled.reading, polled.charge_mosfet))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    polled.charge_mosfet
                }
                Err(e) if e.is_link_error() => break e.to_string(),
                Err(e) => {
                    tracing::debug!(kind = name, error = %e, "bms: no answer");
                    continue;
                }
            };
            let Some(want) = want.as_ref().filter(|_| B::WRITES_MOSFET) else {
                continue;
            };
            let want_on = *want.borrow();
            if let Some(on) = follow.after_poll(reported, want_on) {
                match proto.write_charge_mosfet(&mut p, on).await {
                    Ok(()) => {
                        tracing::info!(kind = name, on, "bms: charge MOSFET written");
                        follow.written(on, true);
                    }
                    Err(e) if e.is_link_error() => break e.to_string(),
                    Err(e) => {
                        tracing::warn!(kind = name, on, error = %e, "bms: charge MOSFET write unanswered; the next poll reads it back");
                        follow.written(on, false);
                    }
                }
            }
        };
        link_event(&tx, "bms", false, why).await;
        tokio::time::sleep(retry.next_delay()).await;
    }
}

/// Poll a Daly BMS for ever ([`bms`] with [`Daly`]).
pub async fn daly<C: Connect>(
    conn: C,
    opts: DalyOptions,
    tx: mpsc::Sender<Input>,
    want: watch::Receiver<bool>,
) {
    let timing = PollTiming {
        poll: opts.poll,
        poller: opts.poller,
    };
    bms(
        conn,
        Daly {
            variant: opts.variant,
        },
        timing,
        tx,
        Some(want),
    )
    .await;
}

/// Poll a Pace pack for ever (RS485, protocol v25; [`bms`] with [`Pace`]): the charge
/// MOSFET (0x9A) follows `want`.
pub async fn pace<C: Connect>(
    conn: C,
    opts: PaceOptions,
    tx: mpsc::Sender<Input>,
    want: watch::Receiver<bool>,
) {
    let proto = Pace {
        address: opts.address,
    };
    bms(conn, proto, timing(&opts), tx, Some(want)).await;
}

/// Poll a Pylontech module over RS485 for ever (read only: the protocol has no
/// charge-MOSFET command, so the rules' request is not written; the BMS's own protection and
/// the inverter's limits stay in charge of charging).
pub async fn pylontech<C: Connect>(conn: C, opts: PaceOptions, tx: mpsc::Sender<Input>) {
    let proto = Pylontech {
        address: opts.address,
    };
    bms(conn, proto, timing(&opts), tx, None).await;
}

const fn timing(opts: &PaceOptions) -> PollTiming {
    PollTiming {
        poll: opts.poll,
        poller: opts.poller,
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
pub async fn vedirect<C: Connect>(conn: C, role: VeDirectRole, tx: mpsc::Sender<Input>) {
    vedirect_port(conn, role, None, tx).await;
}

/// The TEXT record's reading for `role`.
fn text_input(role: VeDirectRole, r: &voltwire_victron::text::Record) -> Option<Input> {
    match role {
        VeDirectRole::Shunt => Some(Input::Shunt(ShuntReading {
            voltage: r.battery_voltage()?,
            current: r.battery_current()?,
            soc: r.soc(),
        })),
        VeDirectRole::Charger(c) => r.panel_power().map(|p| Input::Charger(c, p)),
    }
}

/// The HEX registers a poll reads: the SmartShunt's SOC (0x0FFF), battery voltage (0xED8D)
/// and current in mA (0xED8C); a charger's panel power (0xEDBC).
pub fn hex_registers(role: VeDirectRole) -> &'static [u16] {
    use voltwire_victron::hex::register::id;
    match role {
        VeDirectRole::Shunt => &[id::SOC, id::DC_CHANNEL1_VOLTAGE, id::DC_CHANNEL1_CURRENT_MA],
        VeDirectRole::Charger(_) => &[id::PANEL_POWER],
    }
}

/// The Get requests of one poll, as lines.
fn hex_requests(role: VeDirectRole) -> Vec<u8> {
    let mut out = Vec::new();
    for r in hex_registers(role) {
        if let Ok(f) = voltwire_victron::hex::Request::get(*r).to_frame() {
            out.extend_from_slice(&f.to_line());
        }
    }
    out
}

/// One HEX poll's answers so far: a reading once every register of the poll answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HexPoll {
    soc_answered: bool,
    soc: Option<voltwire_core::Permille>,
    voltage: Option<voltwire_core::Millivolts>,
    current: Option<voltwire_core::Milliamps>,
}

impl HexPoll {
    /// Take one Get answer; the [`Input`] when it completes the poll. An answer with an
    /// error flag, a value out of its unit or a register of no interest changes nothing; a
    /// SOC "not available" is a reading without SOC (as TEXT's `---`).
    pub fn answer(
        &mut self,
        role: VeDirectRole,
        d: &voltwire_victron::hex::RegisterData,
    ) -> Option<Input> {
        use voltwire_victron::hex::register::{Unit, id};
        use voltwire_victron::hex::{Flags, RegisterValue};
        if d.flags != Flags::OK {
            return None;
        }
        let value = d.decode().ok()?;
        let reading = value.reading();
        match (role, d.register) {
            (VeDirectRole::Charger(c), id::PANEL_POWER) => {
                // 0.01 W on the wire; whole watts (nearest) are plenty for the PV average.
                let r = reading.filter(|r| r.unit == Unit::CentiWatt)?;
                let w = i32::try_from(r.raw.saturating_add(50).div_euclid(100)).ok()?;
                return Some(Input::Charger(c, voltwire_core::Watts(w)));
            }
            (VeDirectRole::Shunt, id::SOC) => {
                self.soc = match (&value, reading) {
                    (RegisterValue::NotAvailable, _) => None,
                    (_, Some(r)) if r.unit == Unit::CentiPercent => Some(voltwire_core::Permille(
                        i16::try_from((r.raw / 10).clamp(0, 1000)).ok()?,
                    )),
                    _ => return None,
                };
                self.soc_answered = true;
            }
            (VeDirectRole::Shunt, id::DC_CHANNEL1_VOLTAGE) => {
                self.voltage = Some(reading?.millivolts()?);
            }
            (VeDirectRole::Shunt, id::DC_CHANNEL1_CURRENT_MA) => {
                self.current = Some(reading?.milliamps()?);
            }
            _ => return None,
        }
        let (true, soc, Some(voltage), Some(current)) =
            (self.soc_answered, self.soc, self.voltage, self.current)
        else {
            return None;
        };
        *self = Self::default();
        Some(Input::Shunt(ShuntReading {
            voltage,
            current,
            soc,
        }))
    }
}

/// The next tick of an optional ticker (pending for ever without one).
async fn next_tick(t: &mut Option<tokio::time::Interval>) {
    match t {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Read a VE.Direct device for ever: with `hex = None` its TEXT records (receive only);
/// with `hex = Some(period)` its HEX registers ([`hex_registers`]), asked every `period`
/// (TEXT records are then ignored: a device pauses its TEXT output while it is spoken to in
/// HEX, so the readings come from one protocol only). Returns only when `tx` is closed or
/// `conn` says no stream will ever come.
pub async fn vedirect_port<C: Connect>(
    mut conn: C,
    role: VeDirectRole,
    hex: Option<Duration>,
    tx: mpsc::Sender<Input>,
) {
    use tokio::io::AsyncWriteExt as _;
    use voltwire_victron::hex::Response;
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
        let mut ticker = hex.map(|p| {
            let mut t = tokio::time::interval(p);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        let mut poll = HexPoll::default();
        let why = loop {
            let n = tokio::select! {
                r = link.read(&mut buf) => match r {
                    Ok(0) => break "end of file".to_owned(),
                    Ok(n) => n,
                    Err(e) => break e.to_string(),
                },
                () = next_tick(&mut ticker) => {
                    // A new poll: what the last one did not complete is dropped.
                    poll = HexPoll::default();
                    if let Err(e) = link.write_all(&hex_requests(role)).await {
                        break e.to_string();
                    }
                    continue;
                }
            };
            let mut inputs = Vec::new();
            decoder.feed_all(buf.get(..n).unwrap_or_default(), |item| match item.value {
                Ok(Message::Record(r)) if hex.is_none() => inputs.extend(text_input(role, &r)),
                Ok(Message::Hex(f)) if hex.is_some() => {
                    if let Ok(Response::Get(d)) = Response::from_frame(&f) {
                        inputs.extend(poll.answer(role, &d));
                    }
                }
                _ => {}
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
    #![allow(clippy::unwrap_used, clippy::many_single_char_names, reason = "test")]
    use super::{HexPoll, MosfetFollow, VeDirectRole, parse_w1};
    use crate::engine::Input;
    use voltwire_bms_rules::ShuntReading;
    use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille, Watts};
    use voltwire_victron::hex::register::id;
    use voltwire_victron::hex::{Flags, RegisterData};

    fn data(register: u16, flags: Flags, value: &[u8]) -> RegisterData {
        RegisterData::new(register, flags, value).unwrap()
    }

    #[test]
    fn hex_poll_completes_on_all_three_and_ignores_errors() {
        let shunt = VeDirectRole::Shunt;
        let mut p = HexPoll::default();
        // 0x0FFF SOC 61.23 % (un16, 0.01 %), 0xED8D 26.45 V (sn16, 0.01 V), 0xED8C −1.234 A
        // (sn32, mA).
        assert_eq!(
            p.answer(shunt, &data(id::SOC, Flags::OK, &6123u16.to_le_bytes())),
            None
        );
        // An answer with an error flag changes nothing.
        let bad = data(id::DC_CHANNEL1_VOLTAGE, Flags::UNKNOWN_ID, &[]);
        assert_eq!(p.answer(shunt, &bad), None);
        let v = data(id::DC_CHANNEL1_VOLTAGE, Flags::OK, &2645i16.to_le_bytes());
        assert_eq!(p.answer(shunt, &v), None);
        let i = data(
            id::DC_CHANNEL1_CURRENT_MA,
            Flags::OK,
            &(-1234i32).to_le_bytes(),
        );
        assert_eq!(
            p.answer(shunt, &i),
            Some(Input::Shunt(ShuntReading {
                voltage: Millivolts(26_450),
                current: Milliamps(-1_234),
                soc: Some(Permille(612)),
            }))
        );
        // Started afresh: the voltage and current alone are not a reading; SOC "not
        // available" (0xFFFF) completes it without a SOC.
        assert_eq!(p.answer(shunt, &v), None);
        assert_eq!(p.answer(shunt, &i), None);
        let na = data(id::SOC, Flags::OK, &0xFFFFu16.to_le_bytes());
        let Some(Input::Shunt(r)) = p.answer(shunt, &na) else {
            panic!("a reading without SOC");
        };
        assert_eq!(r.soc, None);
        // A charger's panel power (un32, 0.01 W) to the nearest watt.
        let c = VeDirectRole::Charger(1);
        for (raw, w) in [(43_249u32, 432), (43_250, 433), (0, 0)] {
            let d = data(id::PANEL_POWER, Flags::OK, &raw.to_le_bytes());
            assert_eq!(p.answer(c, &d), Some(Input::Charger(1, Watts(w))));
        }
        // A register of no interest.
        let d = data(id::SOC, Flags::OK, &6123u16.to_le_bytes());
        assert_eq!(p.answer(c, &d), None);
    }

    #[test]
    fn mosfet_follow_never_overrides_the_bms_and_confirms_by_read_back() {
        let mut f = MosfetFollow::default();
        // Nothing reported: nothing written.
        assert_eq!(f.after_poll(None, false), None);
        // On as wanted: nothing.
        assert_eq!(f.after_poll(Some(true), true), None);
        // The BMS switched it off itself: not switched back on.
        assert_eq!(f.after_poll(Some(false), true), None);
        // The rules want it off while on: written off, acknowledged; back on when wanted.
        assert_eq!(f.after_poll(Some(true), false), Some(false));
        f.written(false, true);
        assert_eq!(f.after_poll(Some(false), false), None);
        assert_eq!(f.after_poll(Some(false), true), Some(true));
        f.written(true, true);
        assert_eq!(
            f.after_poll(Some(false), true),
            None,
            "the BMS keeps it off: its call"
        );

        // A write the BMS applies without answering: the read-back makes it ours.
        let mut f = MosfetFollow::default();
        assert_eq!(f.after_poll(Some(true), false), Some(false));
        f.written(false, false);
        assert_eq!(f.after_poll(Some(false), true), Some(true));
        // An unanswered write that was not applied stays the BMS's state: written again
        // while the rules still want it off, never switched on.
        let mut f = MosfetFollow::default();
        assert_eq!(f.after_poll(Some(true), false), Some(false));
        f.written(false, false);
        assert_eq!(f.after_poll(Some(true), false), Some(false));
        f.written(false, false);
        assert_eq!(f.after_poll(Some(true), true), None);
    }

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
