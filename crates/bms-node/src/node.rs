//! The node: readings and commands in, [`Rules`] ticked on an injected clock, three relay
//! pins driven, MQTT publications out (topic, payload, retain) in the bms-bridge scheme of
//! [`voltwire_bms_rules::topics`].

use embedded_hal::digital::OutputPin;
use heapless::{Deque, String};
use voltwire_bms_rules::topics::{self, Command};
use voltwire_bms_rules::{
    BmsReading, Config, Event, EventKind, Latch, Millis, Mode, Output, Patch, Relay, Rules,
    SensorRole, ShuntReading, Source, settings,
};

use crate::json::Json;

/// Longest base topic.
pub const BASE_LEN: usize = 48;
/// Longest topic of a publication (the longest is a Home Assistant discovery topic:
/// `homeassistant/binary_sensor/<node id>/charge_mosfet/config`, 49 + the base).
pub const TOPIC_LEN: usize = 112;
/// Longest payload of a publication (the state JSON is the longest, ≈ 600 bytes).
pub const PAYLOAD_LEN: usize = 768;
/// Publications waiting for the broker; when full, the oldest is dropped (and counted).
pub const QUEUE_LEN: usize = 16;

/// One MQTT message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The full topic.
    pub topic: String<TOPIC_LEN>,
    /// The payload (JSON or a plain word).
    pub payload: String<PAYLOAD_LEN>,
    /// Whether the broker keeps it for new subscribers.
    pub retain: bool,
}

/// Why a node cannot be made.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeError {
    /// The base topic is empty, longer than [`BASE_LEN`], has an empty level or a wildcard.
    BadBase,
    /// The rule configuration does not validate (field name).
    BadConfig(&'static str),
}

/// Settings of the node beyond the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeConfig {
    /// The state JSON is published at most this often (and at once when outputs change).
    pub state_every_ms: u64,
    /// After the first connection to the broker ([`Node::connected`]), how long to wait
    /// for the retained `<base>/config` before publishing the effective settings there (as
    /// the Linux bridge's `retained_config_wait_s`, default 3 s).
    pub retained_wait_ms: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            state_every_ms: 10_000,
            retained_wait_ms: 3_000,
        }
    }
}

/// Where the node is with the retained `<base>/config` of the last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retained {
    /// Never connected yet: nothing to wait for.
    NotConnected,
    /// Connected at this time: a retained config is taken until the wait ends.
    Waiting(Millis),
    /// Taken, refused, not there, or overtaken by a config command: `<base>/config` is
    /// ours (the echo) from now on, and what comes back on it is ignored.
    Done,
}

/// A command result: the code of a refusal and its reason (the Linux bridge's).
struct Refusal<'a> {
    code: &'static str,
    field: &'a str,
    reason: &'a dyn core::fmt::Display,
}

/// The bms-bridge app core: rules, relays and publications. `P` is one relay pin type for
/// all three relays (`[load1, load2, balancer]`).
#[derive(Debug)]
pub struct Node<P> {
    rules: Rules,
    pins: [P; 3],
    applied: [Option<bool>; 3],
    start: Millis,
    base: String<BASE_LEN>,
    settings: NodeConfig,
    queue: Deque<Publication, QUEUE_LEN>,
    dropped: u32,
    mosfet_reported: Option<bool>,
    last_state: Option<Millis>,
    last_output: Output,
    relay_errors: u32,
    retained: Retained,
}

impl<P: OutputPin> Node<P> {
    /// A node starting at `now`: every relay pin is driven low (off) here, before anything
    /// else, and stays off until the rules' start-up hold has passed.
    ///
    /// # Errors
    /// [`NodeError`] for a base topic or rule configuration that cannot be used.
    pub fn new(
        config: Config,
        settings: NodeConfig,
        base: &str,
        mut pins: [P; 3],
        now: Millis,
    ) -> Result<Self, NodeError> {
        let mut applied = [None; 3];
        for (pin, a) in pins.iter_mut().zip(applied.iter_mut()) {
            if pin.set_low().is_ok() {
                *a = Some(false);
            }
        }
        if base.is_empty() || base.contains(['+', '#', '\0']) || base.split('/').any(str::is_empty)
        {
            return Err(NodeError::BadBase);
        }
        let base = String::try_from(base).map_err(|()| NodeError::BadBase)?;
        config
            .validate()
            .map_err(|e| NodeError::BadConfig(e.field))?;
        let rules = Rules::new(config, now);
        // The rules' own start state (relays off, charge MOSFET left on), so that nothing
        // reads a wrong request before the first tick.
        let last_output = *rules.output();
        Ok(Self {
            rules,
            pins,
            applied,
            start: now,
            base,
            settings,
            queue: Deque::new(),
            dropped: 0,
            mosfet_reported: None,
            last_state: None,
            last_output,
            relay_errors: 0,
            retained: Retained::NotConnected,
        })
    }

    /// The MQTT session is up (subscribed to the commands and `<base>/config`) at `now`.
    /// On the first connection the node takes a retained `<base>/config` for
    /// [`NodeConfig::retained_wait_ms`], then publishes its effective settings there
    /// (retained), as the Linux bridge does at start.
    pub fn connected(&mut self, now: Millis) {
        if self.retained == Retained::NotConnected {
            self.retained = Retained::Waiting(now);
        }
    }

    /// The rules (read-only).
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The base topic.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// What each relay pin was last set to (`None`: never set successfully).
    pub fn relays(&self) -> [Option<bool>; 3] {
        self.applied
    }

    /// The relay pins (to inspect them in tests).
    pub fn pins(&self) -> &[P; 3] {
        &self.pins
    }

    /// Whether the rules want the charge MOSFET on (feed to
    /// [`crate::DalyLink::follow_charge_mosfet`]).
    pub fn charge_mosfet_wanted(&self) -> bool {
        self.last_output.charge_mosfet
    }

    /// Publications dropped because the queue was full (the broker was away).
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Pin writes that failed (each retried at the next tick).
    pub fn relay_errors(&self) -> u32 {
        self.relay_errors
    }

    /// A BMS reading at `now` and the charge-MOSFET state it reported.
    pub fn bms(&mut self, now: Millis, reading: BmsReading, mosfet: Option<bool>) {
        self.rules.update_bms(now, reading);
        if mosfet.is_some() {
            self.mosfet_reported = mosfet;
        }
    }

    /// A SmartShunt reading at `now`.
    pub fn shunt(&mut self, now: Millis, reading: ShuntReading) {
        self.rules.update_shunt(now, reading);
    }

    /// A non-retained MQTT message (see [`Node::message`]).
    pub fn command(&mut self, now: Millis, topic: &str, payload: &[u8]) -> bool {
        self.message(now, topic, payload, false)
    }

    /// An MQTT message on `topic` at `now`, as the Linux bridge takes it:
    ///
    /// - `<base>/command/<relay>`: a mode (`on`, `off`, `auto`, any ASCII case, whitespace
    ///   trimmed);
    /// - `<base>/command/config`: rule settings JSON through the settings table
    ///   ([`voltwire_bms_rules::settings`]); applied as a whole or not at all, then echoed
    ///   retained on `<base>/config`;
    /// - `<base>/config` while waiting for the retained config after the first connection
    ///   (see [`Node::connected`]): the settings of the last run, applied the same way.
    ///
    /// Every command gets a result on `<base>/command/result`
    /// (`{"topic","accepted","code","reason"}`); a refused one (retained, empty, unknown,
    /// malformed, out of range) is also a `rejected` event and changes nothing. Other topics
    /// are ignored. Returns whether something was applied.
    pub fn message(&mut self, now: Millis, topic: &str, payload: &[u8], retained: bool) -> bool {
        let level = topic
            .strip_prefix(self.base.as_str())
            .and_then(|t| t.strip_prefix('/'));
        if level == Some(topics::CONFIG) {
            return self.retained_config(now, payload);
        }
        let Some(name) = topics::command_name(&self.base, topic) else {
            return false;
        };
        let refusal = if retained {
            Refusal {
                code: "retained",
                field: "",
                reason: &"retained command replayed by the broker; send commands without the retain flag (delete it with an empty retained message)",
            }
        } else if payload.is_empty() {
            Refusal {
                code: "empty",
                field: "",
                reason: &"empty payload (clearing a retained command?); nothing to do",
            }
        } else {
            match Command::from_name(name) {
                Some(Command::Relay(relay)) => match parse_mode(payload) {
                    Some(mode) => {
                        self.rules.set_mode(now, relay, mode);
                        self.result(topic, None);
                        return true;
                    }
                    None => Refusal {
                        code: "invalid_value",
                        field: name,
                        reason: &"not a mode; send on, off or auto",
                    },
                },
                Some(Command::Config) => match self.apply_settings(payload) {
                    Ok(()) => {
                        self.result(topic, None);
                        self.retained = Retained::Done;
                        self.config_applied(now);
                        return true;
                    }
                    Err(e) => {
                        self.refuse(now, topic, name, &e);
                        return false;
                    }
                },
                None => Refusal {
                    code: "unknown_command",
                    field: "",
                    reason: &"no such command; send load1, load2, balancer or config",
                },
            }
        };
        self.refuse(now, topic, name, &refusal);
        false
    }

    /// Settings JSON applied onto the current rules, or why not (nothing changed then).
    fn apply_settings(&mut self, payload: &[u8]) -> Result<(), SettingsRefusal> {
        let patch = Patch::from_json(payload).map_err(SettingsRefusal::Read)?;
        let next = patch
            .apply(*self.rules.config())
            .map_err(SettingsRefusal::Apply)?;
        self.rules.set_config(next);
        Ok(())
    }

    /// The retained `<base>/config`: taken while waiting after the first connection,
    /// ignored after (it is our own echo then).
    fn retained_config(&mut self, now: Millis, payload: &[u8]) -> bool {
        if !matches!(self.retained, Retained::Waiting(_)) {
            return false;
        }
        self.retained = Retained::Done;
        if payload.is_empty() {
            self.publish_config();
            return false;
        }
        match self.apply_settings(payload) {
            Ok(()) => {
                self.config_applied(now);
                true
            }
            Err(e) => {
                // Refused as a whole: the compile-time settings stay, and their echo
                // replaces the unusable retained one.
                let mut j = self.event_json("rejected", now);
                j.str("command", topics::CONFIG);
                j.display("reason", &RefusalText(&e.refusal()));
                j.bool("retained", true);
                self.push_event(j);
                self.publish_config();
                false
            }
        }
    }

    /// New settings are in force: their echo (retained) and a `config` event.
    fn config_applied(&mut self, now: Millis) {
        self.publish_config();
        let mut j = self.event_json("config", now);
        j.bool("applied", true);
        self.push_event(j);
    }

    /// The effective rule settings, retained on `<base>/config`.
    fn publish_config(&mut self) {
        let mut payload = String::new();
        let mut topic = String::new();
        if settings::write_json(&mut payload, self.rules.config()).is_ok()
            && topics::write_topic(&mut topic, &self.base, topics::CONFIG).is_ok()
        {
            self.push(topic, payload, true);
        }
    }

    fn refuse(&mut self, now: Millis, topic: &str, name: &str, r: &dyn AsRefusal) {
        let r = r.refusal();
        self.result(topic, Some(&r));
        let mut j = self.event_json("rejected", now);
        j.str("command", name);
        j.display("reason", &RefusalText(&r));
        self.push_event(j);
    }

    fn result(&mut self, topic: &str, refusal: Option<&Refusal<'_>>) {
        let mut j = Json::object();
        j.str("topic", topic);
        j.bool("accepted", refusal.is_none());
        if let Some(r) = refusal {
            j.str("code", r.code);
            j.display("reason", &ReasonText(r));
        }
        let mut t = String::new();
        if topics::write_command_topic(&mut t, &self.base, topics::RESULT).is_ok() {
            self.push(t, j.finish(), false);
        }
    }

    /// Tick the rules at `now`: drive the relay pins (a failed write is retried next
    /// tick), queue the events and, when due or changed, the state.
    pub fn tick(&mut self, now: Millis) -> Output {
        let out = self.rules.tick(now);
        for relay in Relay::ALL {
            let want = out.relay(relay);
            let i = relay.index();
            if self.applied.get(i).copied().flatten() != Some(want) {
                let Some(pin) = self.pins.get_mut(i) else {
                    continue;
                };
                let r = if want { pin.set_high() } else { pin.set_low() };
                if r.is_ok() {
                    if let Some(a) = self.applied.get_mut(i) {
                        *a = Some(want);
                    }
                } else {
                    self.relay_errors = self.relay_errors.saturating_add(1);
                    let mut j = self.event_json("relay_error", now);
                    j.str("relay", relay.name());
                    j.bool("on", want);
                    self.push_event(j);
                }
            }
        }
        while let Some(e) = self.rules.pop_event() {
            let j = self.rule_event(&e);
            self.push_event(j);
        }
        let wait_over = match self.retained {
            Retained::Waiting(since) => now.since(since) >= self.settings.retained_wait_ms,
            _ => false,
        };
        if wait_over {
            // No retained config came: ours is the one from now on.
            self.retained = Retained::Done;
            self.publish_config();
        }
        let changed = out != self.last_output;
        self.last_output = out;
        let due = self
            .last_state
            .is_none_or(|t| now.since(t) >= self.settings.state_every_ms);
        if changed || due {
            self.last_state = Some(now);
            let state = self.state_json(now);
            let mut topic = String::new();
            if topics::write_topic(&mut topic, &self.base, topics::STATE).is_ok() {
                self.push(topic, state, true);
            }
        }
        out
    }

    /// The next publication to send, oldest first.
    pub fn pop(&mut self) -> Option<Publication> {
        self.queue.pop_front()
    }

    /// Put a publication back at the front (its send failed; it goes first next time).
    pub fn unpop(&mut self, p: Publication) {
        if self.queue.is_full() {
            self.queue.pop_back();
            self.dropped = self.dropped.saturating_add(1);
        }
        let _ = self.queue.push_front(p);
    }

    fn push(&mut self, topic: String<TOPIC_LEN>, payload: String<PAYLOAD_LEN>, retain: bool) {
        if self.queue.is_full() {
            self.queue.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        let _ = self.queue.push_back(Publication {
            topic,
            payload,
            retain,
        });
    }

    fn push_event(&mut self, j: Json) {
        let mut topic = String::new();
        if topics::write_topic(&mut topic, &self.base, topics::EVENT).is_ok() {
            self.push(topic, j.finish(), false);
        }
    }

    fn event_json(&self, kind: &str, at: Millis) -> Json {
        let mut j = Json::object();
        j.str("event", kind);
        j.fixed(
            "at_s",
            i64::try_from(at.since(self.start)).unwrap_or(i64::MAX),
            3,
        );
        j
    }

    fn rule_event(&self, e: &Event) -> Json {
        let mut j;
        match e.kind {
            EventKind::AutoStarted => j = self.event_json("auto_started", e.at),
            EventKind::Relay { relay, on, reason } => {
                j = self.event_json("relay", e.at);
                j.str("relay", relay.name());
                j.bool("on", on);
                j.str("reason", reason.name());
            }
            EventKind::ChargeMosfet { on, latch } => {
                j = self.event_json("charge_mosfet", e.at);
                j.bool("on", on);
                j.str("reason", latch.map_or("no_latch", Latch::name));
            }
            EventKind::Tripped(l) => {
                j = self.event_json("tripped", e.at);
                j.str("latch", l.name());
            }
            EventKind::Recovered(l) => {
                j = self.event_json("recovered", e.at);
                j.str("latch", l.name());
            }
            EventKind::Mode {
                relay,
                mode,
                by_user,
            } => {
                j = self.event_json("mode", e.at);
                j.str("relay", relay.name());
                j.str("mode", mode.name());
                j.str("reason", if by_user { "user" } else { "soc_low" });
            }
            EventKind::Discarded { source, field } => {
                j = self.event_json("discarded", e.at);
                j.str("source", source_name(source));
                j.str("field", field.name());
            }
        }
        j
    }

    /// The state JSON at `now` (the Linux bridge's keys for what this node has).
    pub fn state_json(&self, now: Millis) -> String<PAYLOAD_LEN> {
        let r = &self.rules;
        let out = &self.last_output;
        let mut j = Json::object();
        j.opt_fixed("soc_pct", r.soc(now).map(|v| i64::from(v.0)), 1);
        j.opt_fixed("voltage_v", r.voltage(now).map(|v| i64::from(v.0)), 3);
        j.opt_fixed("current_a", r.current(now).map(|v| i64::from(v.0)), 3);
        let cells = r.cells(now);
        j.opt_fixed("cell_min_v", cells.map(|c| i64::from(c.0.0)), 3);
        j.opt_fixed("cell_max_v", cells.map(|c| i64::from(c.1.0)), 3);
        j.opt_fixed(
            "cell_diff_v",
            cells.map(|(a, b)| i64::from(b.0) - i64::from(a.0)),
            3,
        );
        j.opt_fixed(
            "cell_temp_c",
            r.temperature(SensorRole::Cell, now).map(|t| i64::from(t.0)),
            1,
        );
        j.bool("pv_high", out.pv_high);
        j.open("relays");
        for relay in Relay::ALL {
            j.open(relay.name());
            j.bool("on", out.relay(relay));
            j.str("mode", r.mode(relay).name());
            j.close();
        }
        j.close();
        j.bool("charge_mosfet", out.charge_mosfet);
        j.opt_bool("charge_mosfet_reported", self.mosfet_reported);
        j.bool("alarm", out.alarm());
        j.open_array("latches");
        for l in out.latches.iter() {
            j.item_str(l.name());
        }
        j.close_array();
        j.bool("auto_active", out.auto_active);
        j.open("sources");
        let mut list: heapless::Vec<Source, 2> = heapless::Vec::new();
        let _ = list.push(Source::Bms);
        if r.config().shunt {
            let _ = list.push(Source::Shunt);
        }
        for s in list {
            j.open(source_name(s));
            j.opt_fixed(
                "age_s",
                r.age(s, now).map(|a| i64::try_from(a).unwrap_or(i64::MAX)),
                3,
            );
            j.bool("fresh", r.is_fresh(s, now));
            j.close();
        }
        j.close();
        j.uint("events_dropped", u64::from(r.events_dropped()));
        j.uint("publications_dropped", u64::from(self.dropped));
        j.finish()
    }
}

/// Why settings JSON was refused.
enum SettingsRefusal {
    Read(settings::PatchError),
    Apply(voltwire_bms_rules::SettingError),
}

/// Anything that becomes a command result's code and reason.
trait AsRefusal {
    fn refusal(&self) -> Refusal<'_>;
}

impl AsRefusal for Refusal<'_> {
    fn refusal(&self) -> Refusal<'_> {
        Refusal {
            code: self.code,
            field: self.field,
            reason: self.reason,
        }
    }
}

impl AsRefusal for SettingsRefusal {
    fn refusal(&self) -> Refusal<'_> {
        match self {
            Self::Read(e) => Refusal {
                code: e.code(),
                field: "",
                reason: e,
            },
            Self::Apply(e) => Refusal {
                code: "invalid_value",
                field: e.field,
                reason: &e.fix,
            },
        }
    }
}

/// A result's `reason`: "`field`: reason" when a field is named (as the Linux bridge's
/// `invalid_value`), else the reason.
struct ReasonText<'a>(&'a Refusal<'a>);

impl core::fmt::Display for ReasonText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0.field.is_empty() {
            write!(f, "{}", self.0.reason)
        } else {
            write!(f, "`{}`: {}", self.0.field, self.0.reason)
        }
    }
}

/// A `rejected` event's `reason`: "code: reason", as the Linux bridge's.
struct RefusalText<'a>(&'a Refusal<'a>);

impl core::fmt::Display for RefusalText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.0.code, ReasonText(self.0))
    }
}

/// A relay mode from a command payload: `on`, `off`, `auto` in any ASCII case, surrounding
/// whitespace ignored (Home Assistant switches send `ON` / `OFF`).
pub fn parse_mode(payload: &[u8]) -> Option<Mode> {
    let text = core::str::from_utf8(payload).ok()?.trim();
    let mut lower: String<4> = String::new();
    for c in text.chars() {
        lower.push(c.to_ascii_lowercase()).ok()?;
    }
    Mode::from_name(&lower)
}

/// The JSON name of a source (`bms`, `shunt`, `charger1`, …), as on Linux.
pub fn source_name(s: Source) -> &'static str {
    match s {
        Source::Bms => "bms",
        Source::Shunt => "shunt",
        Source::Charger(0) => "charger1",
        Source::Charger(_) => "charger2",
        Source::Sensor(0) => "sensor1",
        Source::Sensor(1) => "sensor2",
        Source::Sensor(2) => "sensor3",
        Source::Sensor(_) => "sensor4",
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::std_instead_of_alloc,
        reason = "test"
    )]
    use core::cell::Cell;
    use std::rc::Rc;
    use std::vec::Vec;

    use voltwire_bms_rules::{BmsReading, Config, Millis};
    use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};

    use super::*;

    /// A pin whose writes fail while `fail` is set; `level` is what it drives.
    #[derive(Debug)]
    struct FlakyPin {
        fail: Rc<Cell<bool>>,
        level: Rc<Cell<Option<bool>>>,
    }

    #[derive(Debug)]
    struct PinError;

    impl embedded_hal::digital::Error for PinError {
        fn kind(&self) -> embedded_hal::digital::ErrorKind {
            embedded_hal::digital::ErrorKind::Other
        }
    }

    impl embedded_hal::digital::ErrorType for FlakyPin {
        type Error = PinError;
    }

    impl OutputPin for FlakyPin {
        fn set_low(&mut self) -> Result<(), PinError> {
            if self.fail.get() {
                return Err(PinError);
            }
            self.level.set(Some(false));
            Ok(())
        }
        fn set_high(&mut self) -> Result<(), PinError> {
            if self.fail.get() {
                return Err(PinError);
            }
            self.level.set(Some(true));
            Ok(())
        }
    }

    fn reading(soc: i16) -> BmsReading {
        BmsReading {
            pack: Millivolts(26_400),
            current: Milliamps(0),
            soc: Permille(soc),
            cell_min: Millivolts(3_300),
            cell_max: Millivolts(3_302),
            temp_max: Some(DeciCelsius(250)),
        }
    }

    #[test]
    fn a_failed_pin_write_is_an_event_and_retried() {
        let fail = Rc::new(Cell::new(false));
        let levels: Vec<_> = (0..3).map(|_| Rc::new(Cell::new(None))).collect();
        let pin = |i: usize| FlakyPin {
            fail: fail.clone(),
            level: levels[i].clone(),
        };
        let config = Config {
            shunt: false,
            chargers: 0,
            ..Config::default()
        };
        let mut node = Node::new(
            config,
            NodeConfig::default(),
            "b",
            [pin(0), pin(1), pin(2)],
            Millis(0),
        )
        .unwrap();
        assert_eq!(levels[0].get(), Some(false), "driven low at construction");
        assert!(
            node.charge_mosfet_wanted(),
            "before the first tick the charge MOSFET is left alone"
        );
        fail.set(true);
        for s in 1..=16 {
            node.bms(Millis(s * 1000), reading(700), Some(true));
            node.tick(Millis(s * 1000));
        }
        assert_eq!(levels[0].get(), Some(false), "the write failed");
        assert_eq!(node.relays()[0], Some(false));
        // The hold ends at 15 s: load1 and load2 fail at the ticks of 15 s and 16 s (retried
        // at every tick, each failure counted).
        assert_eq!(node.relay_errors(), 4);
        let mut events = Vec::new();
        while let Some(p) = node.pop() {
            if p.topic.as_str() == "b/event" {
                events.push(p.payload);
            }
        }
        assert!(
            events
                .iter()
                .any(|e| e.starts_with("{\"event\":\"relay_error\"") && e.contains("\"load1\"")),
            "{events:?}"
        );
        fail.set(false);
        node.bms(Millis(17_000), reading(700), Some(true));
        node.tick(Millis(17_000));
        assert_eq!(levels[0].get(), Some(true), "retried at the next tick");
        assert_eq!(node.relays()[0], Some(true));
    }

    #[test]
    fn bad_base_topics_are_refused_with_the_relays_already_off() {
        for base in ["", "a/", "/a", "a//b", "a/+/b", "a/#"] {
            let level = Rc::new(Cell::new(None));
            let pins = [0, 1, 2].map(|_| FlakyPin {
                fail: Rc::new(Cell::new(false)),
                level: level.clone(),
            });
            let r = Node::new(
                Config::default(),
                NodeConfig::default(),
                base,
                pins,
                Millis(0),
            );
            assert_eq!(r.err(), Some(NodeError::BadBase), "{base:?}");
            assert_eq!(level.get(), Some(false), "pins low even so");
        }
    }

    #[test]
    fn modes_parse_like_the_linux_bridge() {
        assert_eq!(parse_mode(b" ON\n"), Some(Mode::On));
        assert_eq!(parse_mode(b"Auto"), Some(Mode::Auto));
        assert_eq!(parse_mode(b"off"), Some(Mode::Off));
        assert_eq!(parse_mode(b"onn"), None);
        assert_eq!(parse_mode(b"\xff"), None);
        assert_eq!(parse_mode(b""), None);
    }
}
