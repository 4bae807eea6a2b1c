//! The engine: readings and commands in, [`Rules`] ticked on an injected clock, relay
//! switches, the charge-MOSFET request, state and events out. Synchronous: the async loop in
//! [`crate::app`] only moves messages.

use serde_json::{Map, Value as J, json};
use voltwire_bms_rules::{
    BmsReading, Config, Event, EventKind, Latch, Millis, Mode, Output, Relay, Rules, SensorRole,
    ShuntReading, Source,
};
use voltwire_core::{DeciCelsius, Watts};

/// Something for the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A BMS reading and the charge-MOSFET state it reported.
    Bms(BmsReading, Option<bool>),
    /// The names of the BMS's active alarm / warning bits (kinds that read them: JK, JK-PB).
    BmsAlarms(Vec<&'static str>),
    /// A SmartShunt reading.
    Shunt(ShuntReading),
    /// A charger's PV power.
    Charger(u8, Watts),
    /// A temperature sensor.
    Sensor(u8, DeciCelsius),
    /// A user's relay mode (validated).
    Mode(Relay, Mode),
    /// New rule settings (validated); echoed retained.
    Config(Box<Config>),
    /// A command that was rejected (published as an error event).
    Rejected {
        /// The command name.
        command: String,
        /// Why.
        reason: String,
    },
    /// A source's link went down or came back (logged as an event).
    Link {
        /// The source name.
        source: String,
        /// Up or down.
        up: bool,
        /// Detail.
        detail: String,
    },
}

/// Where relay switches go.
pub trait RelayDriver: Send {
    /// Switch `relay`; an error is logged and retried at the next tick.
    ///
    /// # Errors
    /// What the backend reports.
    fn set(&mut self, relay: Relay, on: bool) -> Result<(), String>;
}

/// Where the engine's outputs go.
pub trait Sink: Send {
    /// The state JSON (retained).
    fn state(&mut self, state: &J);
    /// One event (not retained).
    fn event(&mut self, event: &J);
    /// The effective rule settings (retained echo).
    fn config(&mut self, settings: &J);
}

/// The engine.
#[derive(Debug)]
pub struct Engine {
    rules: Rules,
    start: Millis,
    applied: [Option<bool>; 3],
    mosfet_reported: Option<bool>,
    bms_alarms: Option<Vec<&'static str>>,
    last_output: Output,
    sensor_names: Vec<String>,
}

/// The JSON name of a source.
pub fn source_name(s: Source) -> String {
    match s {
        Source::Bms => "bms".into(),
        Source::Shunt => "shunt".into(),
        Source::Charger(i) => format!("charger{}", u16::from(i) + 1),
        Source::Sensor(i) => format!("sensor{}", u16::from(i) + 1),
    }
}

fn f1(v: f64) -> J {
    // Three decimals are exact for every canonical unit here (mV, mA, 0.1 °C, 0.1 %).
    json!((v * 1000.0).round() / 1000.0)
}

impl Engine {
    /// An engine starting at `now` with `config`; `sensor_names` label the 1-Wire slots.
    pub fn new(config: Config, now: Millis, sensor_names: Vec<String>) -> Self {
        Self {
            rules: Rules::new(config, now),
            start: now,
            applied: [None; 3],
            mosfet_reported: None,
            bms_alarms: None,
            last_output: Output::default(),
            sensor_names,
        }
    }

    /// The rules (read-only).
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The charge-MOSFET state the BMS last reported.
    pub fn mosfet_reported(&self) -> Option<bool> {
        self.mosfet_reported
    }

    /// Take one input at `now`.
    pub fn input(&mut self, now: Millis, input: Input, sink: &mut dyn Sink) {
        match input {
            Input::Bms(r, mosfet) => {
                self.rules.update_bms(now, r);
                if mosfet.is_some() {
                    self.mosfet_reported = mosfet;
                }
            }
            Input::BmsAlarms(a) => self.bms_alarms = Some(a),
            Input::Shunt(r) => self.rules.update_shunt(now, r),
            Input::Charger(i, p) => self.rules.update_charger(now, i, p),
            Input::Sensor(i, t) => self.rules.update_sensor(now, i, t),
            Input::Mode(relay, mode) => self.rules.set_mode(now, relay, mode),
            Input::Config(c) => {
                self.rules.set_config(*c);
                sink.config(&self.settings_json());
                self.emit(sink, now, json!({"event": "config", "applied": true}));
            }
            Input::Rejected { command, reason } => {
                tracing::warn!(%command, %reason, "command rejected");
                self.emit(
                    sink,
                    now,
                    json!({"event": "rejected", "command": command, "reason": reason}),
                );
            }
            Input::Link { source, up, detail } => {
                self.emit(
                    sink,
                    now,
                    json!({"event": "link", "source": source, "up": up, "detail": detail}),
                );
            }
        }
        self.drain(now, sink);
    }

    /// The effective rule settings as JSON: every key of the shared settings table, as
    /// the ESP32 firmware writes them ([`voltwire_bms_rules::settings::write_json`]).
    pub fn settings_json(&self) -> J {
        let mut text = String::new();
        if voltwire_bms_rules::settings::write_json(&mut text, self.rules.config()).is_err() {
            return J::Null;
        }
        serde_json::from_str(&text).unwrap_or(J::Null)
    }

    #[allow(clippy::cast_precision_loss, reason = "seconds for JSON")]
    fn emit(&self, sink: &mut dyn Sink, now: Millis, mut e: J) {
        if let Some(m) = e.as_object_mut() {
            m.insert("at_s".into(), f1(now.since(self.start) as f64 / 1000.0));
        }
        sink.event(&e);
    }

    fn drain(&mut self, now: Millis, sink: &mut dyn Sink) {
        while let Some(e) = self.rules.pop_event() {
            let j = self.event_json(&e);
            tracing::info!(event = %j, "bms-bridge");
            sink.event(&j);
        }
        let _ = now;
    }

    /// Tick the rules at `now`, drive the relays (each switch once; a failed one is retried
    /// next tick), and return the outputs.
    pub fn tick(
        &mut self,
        now: Millis,
        relays: &mut dyn RelayDriver,
        sink: &mut dyn Sink,
    ) -> Output {
        let out = self.rules.tick(now);
        for relay in Relay::ALL {
            let want = out.relay(relay);
            let i = relay.index();
            if self.applied.get(i).copied().flatten() != Some(want) {
                match relays.set(relay, want) {
                    Ok(()) => {
                        if let Some(a) = self.applied.get_mut(i) {
                            *a = Some(want);
                        }
                    }
                    Err(e) => {
                        tracing::error!(relay = relay.name(), error = %e, "relay switch failed");
                        self.emit(
                            sink,
                            now,
                            json!({"event": "relay_error", "relay": relay.name(), "on": want, "error": e}),
                        );
                    }
                }
            }
        }
        self.drain(now, sink);
        self.last_output = out;
        out
    }

    /// The state JSON at `now`.
    #[allow(clippy::cast_precision_loss, reason = "ages in seconds for JSON")]
    pub fn state_json(&self, now: Millis) -> J {
        let r = &self.rules;
        let out = &self.last_output;
        let mut m = Map::new();
        let opt = |v: Option<f64>| v.map_or(J::Null, f1);
        m.insert(
            "soc_pct".into(),
            opt(r.soc(now).map(voltwire_core::Permille::to_si)),
        );
        m.insert(
            "voltage_v".into(),
            opt(r.voltage(now).map(voltwire_core::Millivolts::to_si)),
        );
        m.insert(
            "current_a".into(),
            opt(r.current(now).map(voltwire_core::Milliamps::to_si)),
        );
        let cells = r.cells(now);
        m.insert("cell_min_v".into(), opt(cells.map(|c| c.0.to_si())));
        m.insert("cell_max_v".into(), opt(cells.map(|c| c.1.to_si())));
        m.insert(
            "cell_diff_v".into(),
            opt(cells.map(|(a, b)| f64::from(b.0 - a.0) / 1000.0)),
        );
        m.insert(
            "cell_temp_c".into(),
            opt(r.temperature(SensorRole::Cell, now).map(DeciCelsius::to_si)),
        );
        m.insert(
            "charger_temp_c".into(),
            opt(r
                .temperature(SensorRole::Charger, now)
                .map(DeciCelsius::to_si)),
        );
        m.insert("pv_power_w".into(), json!(r.pv_power(now).0));
        m.insert(
            "pv_avg_w".into(),
            r.pv_average().map_or(J::Null, |w| json!(w.0)),
        );
        m.insert("pv_high".into(), json!(out.pv_high));
        let mut relays = Map::new();
        for relay in Relay::ALL {
            relays.insert(
                relay.name().into(),
                json!({"on": out.relay(relay), "mode": r.mode(relay).name()}),
            );
        }
        m.insert("relays".into(), J::Object(relays));
        m.insert("charge_mosfet".into(), json!(out.charge_mosfet));
        m.insert(
            "charge_mosfet_reported".into(),
            self.mosfet_reported.map_or(J::Null, |b| json!(b)),
        );
        m.insert("bms_alarms".into(), json!(self.bms_alarms));
        m.insert("alarm".into(), json!(out.alarm()));
        m.insert(
            "latches".into(),
            json!(out.latches.iter().map(Latch::name).collect::<Vec<_>>()),
        );
        m.insert("auto_active".into(), json!(out.auto_active));
        let mut sources = Map::new();
        let cfg = r.config();
        let mut list = vec![Source::Bms];
        if cfg.shunt {
            list.push(Source::Shunt);
        }
        for i in 0..cfg.chargers {
            list.push(Source::Charger(i));
        }
        for (i, s) in (0u8..).zip(cfg.sensors) {
            if s.is_some() {
                list.push(Source::Sensor(i));
            }
        }
        for s in list {
            let mut o = Map::new();
            o.insert(
                "age_s".into(),
                r.age(s, now).map_or(J::Null, |a| f1(a as f64 / 1000.0)),
            );
            o.insert("fresh".into(), json!(r.is_fresh(s, now)));
            if let Source::Sensor(i) = s {
                o.insert(
                    "temp_c".into(),
                    r.sensor(i).map_or(J::Null, |t| f1(t.to_si())),
                );
                if let Some(name) = self.sensor_names.get(usize::from(i)) {
                    o.insert("id".into(), json!(name));
                }
            }
            if let Source::Charger(i) = s {
                o.insert(
                    "pv_power_w".into(),
                    r.charger_power(i, now).map_or(J::Null, |w| json!(w.0)),
                );
            }
            sources.insert(source_name(s), J::Object(o));
        }
        m.insert("sources".into(), J::Object(sources));
        m.insert("events_dropped".into(), json!(r.events_dropped()));
        J::Object(m)
    }

    /// One event as JSON (`event` names the kind).
    #[allow(clippy::cast_precision_loss, reason = "seconds for JSON")]
    pub fn event_json(&self, e: &Event) -> J {
        let mut j = match e.kind {
            EventKind::AutoStarted => json!({"event": "auto_started"}),
            EventKind::Relay { relay, on, reason } => json!({
                "event": "relay", "relay": relay.name(), "on": on, "reason": reason.name()
            }),
            EventKind::ChargeMosfet { on, latch } => json!({
                "event": "charge_mosfet", "on": on, "reason": latch.map_or("no_latch", Latch::name)
            }),
            EventKind::Tripped(l) => json!({"event": "tripped", "latch": l.name()}),
            EventKind::Recovered(l) => json!({"event": "recovered", "latch": l.name()}),
            EventKind::Mode {
                relay,
                mode,
                by_user,
            } => json!({
                "event": "mode", "relay": relay.name(), "mode": mode.name(),
                "reason": if by_user { "user" } else { "soc_low" }
            }),
            EventKind::Discarded { source, field } => json!({
                "event": "discarded", "source": source_name(source), "field": field.name()
            }),
        };
        if let Some(m) = j.as_object_mut() {
            m.insert("at_s".into(), f1(e.at.since(self.start) as f64 / 1000.0));
        }
        j
    }
}
