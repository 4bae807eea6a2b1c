//! The bridge on `voltwire_runtime::web`: the page shows the MQTT state JSON (relays with
//! their modes, active latches, sources with their data ages) plus the latest events; the
//! health has one line per source (and the broker); the metrics are the readings, the
//! relays, the latches and the data ages. Commands go through [`crate::app::validator`],
//! the validator of the MQTT command path: `POST /api/command/<relay>` (`on`, `off`,
//! `auto`, or `{"mode": "on"}`) and `POST /api/command/config` (the `[rules]` keys as JSON).
//!
//! Metric names carry their unit (`_volts`, `_amperes`, `_watts`, `_celsius`, `_percent`,
//! `_seconds`); everything is `voltwire_bms_*`.

use std::collections::VecDeque;

use serde_json::{Map, Value as J, json};
use voltwire_bms_rules::{Latch, Mode, Relay};
use voltwire_runtime::mqtt::LinkStatus as MqttStatus;
use voltwire_runtime::web::{Field, Form, LinkHealth, LinkStatus, Metrics, PageHints, Snapshot};

/// How many events the page shows (newest first).
pub const RECENT_EVENTS: usize = 12;

/// The key of the latest events in the page's state (the other keys are the MQTT state's).
pub const RECENT_KEY: &str = "recent_events";

/// The page's title, headline and command forms: a button per relay and mode, and a form
/// for the load thresholds (the validator checks every value again).
pub fn hints() -> PageHints {
    let mut forms = Vec::new();
    for r in Relay::ALL {
        for m in [Mode::On, Mode::Off, Mode::Auto] {
            let mut fixed = Map::new();
            fixed.insert("mode".into(), json!(m.name()));
            forms.push(Form {
                command: r.name().into(),
                label: format!("{} {}", r.name(), m.name()),
                fields: Vec::new(),
                fixed,
            });
        }
    }
    let pct = |key: &str, label: &str| Field {
        key: key.into(),
        label: label.into(),
        unit: "%".into(),
        min: 0.0,
        max: 100.0,
        step: 0.1,
        optional: true,
    };
    forms.push(Form {
        command: "config".into(),
        label: "Set load thresholds".into(),
        fields: vec![
            pct("load1_on_soc_pv_low_pct", "load1 on (PV low)"),
            pct("load1_on_soc_pv_high_pct", "load1 on (PV high)"),
            pct("load1_off_soc_pct", "load1 off"),
            pct("load2_on_soc_pv_low_pct", "load2 on (PV low)"),
            pct("load2_on_soc_pv_high_pct", "load2 on (PV high)"),
            pct("load2_off_soc_pct", "load2 off"),
        ],
        fixed: Map::new(),
    });
    PageHints {
        title: "bms-bridge".into(),
        forms,
        headline: Some(vec!["alarm".into()]),
        stale_words: ["stale", "down"].map(String::from).to_vec(),
    }
}

/// The latest events as short lines, newest first (at most [`RECENT_EVENTS`]).
#[derive(Debug, Clone, Default)]
pub struct Recent(VecDeque<String>);

impl Recent {
    /// Remember `event` (the event JSON as published).
    pub fn push(&mut self, event: &J) {
        let at = event.get("at_s").and_then(J::as_f64).unwrap_or(0.0);
        self.0
            .push_front(format!("{at:.1} s: {}", crate::app::event_line(event)));
        self.0.truncate(RECENT_EVENTS);
    }

    /// The lines, newest first.
    pub fn lines(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }
}

fn num(state: &J, path: &[&str]) -> Option<f64> {
    path.iter()
        .try_fold(state, |v, k| v.get(k))
        .and_then(J::as_f64)
}

/// One health line per source of the state (`fresh` → up; seen but too old → stale; never
/// seen → down), and the broker when MQTT is configured.
pub fn links(state: &J, mqtt: Option<MqttStatus>) -> Vec<LinkHealth> {
    let mut v = Vec::new();
    if let Some(sources) = state.get("sources").and_then(J::as_object) {
        for (name, s) in sources {
            let fresh = s.get("fresh").and_then(J::as_bool).unwrap_or(false);
            let age_s = s.get("age_s").and_then(J::as_f64);
            let status = match (fresh, age_s) {
                (true, _) => LinkStatus::Up,
                (false, Some(_)) => LinkStatus::Stale,
                (false, None) => LinkStatus::Down,
            };
            v.push(LinkHealth {
                name: name.clone(),
                kind: "source".into(),
                status,
                age_s,
            });
        }
    }
    if let Some(m) = mqtt {
        v.push(LinkHealth {
            name: "mqtt".into(),
            kind: "broker".into(),
            status: if m.connected {
                LinkStatus::Up
            } else {
                LinkStatus::Down
            },
            age_s: None,
        });
    }
    v
}

/// The bridge's metrics, from its state JSON.
#[allow(clippy::too_many_lines, reason = "one family after the other")]
pub fn metrics(state: &J, mqtt: Option<MqttStatus>) -> Metrics {
    let mut m = Metrics::new();
    for (name, help, key) in [
        (
            "voltwire_bms_state_of_charge_percent",
            "State of charge, %",
            "soc_pct",
        ),
        (
            "voltwire_bms_voltage_volts",
            "Battery voltage, V",
            "voltage_v",
        ),
        (
            "voltwire_bms_current_amperes",
            "Battery current, A (> 0: charging)",
            "current_a",
        ),
        (
            "voltwire_bms_cell_min_volts",
            "Lowest cell voltage, V",
            "cell_min_v",
        ),
        (
            "voltwire_bms_cell_max_volts",
            "Highest cell voltage, V",
            "cell_max_v",
        ),
        (
            "voltwire_bms_cell_diff_volts",
            "Highest minus lowest cell voltage, V",
            "cell_diff_v",
        ),
        (
            "voltwire_bms_cell_temperature_celsius",
            "Cell temperature, °C",
            "cell_temp_c",
        ),
        (
            "voltwire_bms_charger_temperature_celsius",
            "Charger temperature, °C",
            "charger_temp_c",
        ),
        ("voltwire_bms_pv_power_watts", "PV power, W", "pv_power_w"),
        (
            "voltwire_bms_pv_average_watts",
            "PV power, 1-hour average, W",
            "pv_avg_w",
        ),
    ] {
        m.gauge(name, help, &[], num(state, &[key]));
    }
    let flag = |key: &str| {
        state
            .get(key)
            .and_then(J::as_bool)
            .map(|b| f64::from(u8::from(b)))
    };
    m.gauge(
        "voltwire_bms_alarm",
        "A safety latch is active (1) or not (0)",
        &[],
        flag("alarm"),
    );
    m.gauge(
        "voltwire_bms_charge_mosfet_allowed",
        "The bridge allows the charge MOSFET (1) or asks it off (0)",
        &[],
        flag("charge_mosfet"),
    );
    for r in Relay::ALL {
        let relay = state.get("relays").and_then(|v| v.get(r.name()));
        let on = relay
            .and_then(|v| v.get("on"))
            .and_then(J::as_bool)
            .map(|b| f64::from(u8::from(b)));
        m.gauge(
            "voltwire_bms_relay_on",
            "The relay is on (1) or off (0)",
            &[("relay", r.name())],
            on,
        );
        let mode = relay.and_then(|v| v.get("mode")).and_then(J::as_str);
        for x in [Mode::On, Mode::Off, Mode::Auto] {
            m.gauge(
                "voltwire_bms_relay_mode",
                "The relay's mode (1 for the current one)",
                &[("relay", r.name()), ("mode", x.name())],
                mode.map(|v| f64::from(u8::from(v == x.name()))),
            );
        }
    }
    let active: Vec<&str> = state
        .get("latches")
        .and_then(J::as_array)
        .map(|a| a.iter().filter_map(J::as_str).collect())
        .unwrap_or_default();
    for l in Latch::ALL {
        m.gauge(
            "voltwire_bms_latch_active",
            "The safety latch is active (1) or not (0)",
            &[("latch", l.name())],
            Some(f64::from(u8::from(active.contains(&l.name())))),
        );
    }
    if let Some(sources) = state.get("sources").and_then(J::as_object) {
        for (name, s) in sources {
            let l = [("source", name.as_str())];
            m.gauge(
                "voltwire_bms_source_data_age_seconds",
                "Age of the source's latest reading, s",
                &l,
                s.get("age_s").and_then(J::as_f64),
            );
            m.gauge(
                "voltwire_bms_source_fresh",
                "The source's data is within its timeout (1) or not (0)",
                &l,
                s.get("fresh")
                    .and_then(J::as_bool)
                    .map(|b| f64::from(u8::from(b))),
            );
        }
    }
    if let Some(n) = state.get("events_dropped").and_then(J::as_u64) {
        m.counter(
            "voltwire_bms_events_dropped_total",
            "Rule events dropped because the queue was full",
            &[],
            n,
        );
    }
    if let Some(s) = mqtt {
        m.gauge(
            "voltwire_mqtt_connected",
            "Connected to the MQTT broker (1) or not (0)",
            &[],
            Some(f64::from(u8::from(s.connected))),
        );
        m.counter(
            "voltwire_mqtt_reconnects_total",
            "Connections to the broker after the first",
            &[],
            s.connects.saturating_sub(1),
        );
    }
    m
}

/// Everything the web server needs: the state (with the latest events under
/// [`RECENT_KEY`]), the health and the metrics.
pub fn snapshot(mut state: J, recent: Vec<String>, mqtt: Option<MqttStatus>) -> Snapshot {
    let links = links(&state, mqtt);
    let metrics = metrics(&state, mqtt);
    if let Some(o) = state.as_object_mut() {
        o.insert(
            RECENT_KEY.into(),
            J::Array(recent.into_iter().map(J::String).collect()),
        );
    }
    Snapshot {
        state,
        links,
        metrics,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test")]
    use super::*;

    #[test]
    fn links_and_metrics_follow_the_state() {
        let state = json!({
            "soc_pct": 55.5, "voltage_v": 26.4, "alarm": true,
            "relays": {"load1": {"on": true, "mode": "auto"}},
            "latches": ["comm_shunt"],
            "sources": {
                "bms": {"age_s": 1.0, "fresh": true},
                "shunt": {"age_s": 200.0, "fresh": false},
                "charger1": {"age_s": null, "fresh": false},
            },
        });
        let l = links(&state, None);
        let st: Vec<_> = l.iter().map(|x| (x.name.as_str(), x.status)).collect();
        assert_eq!(
            st,
            [
                ("bms", LinkStatus::Up),
                ("shunt", LinkStatus::Stale),
                ("charger1", LinkStatus::Down)
            ]
        );
        let text = metrics(&state, None).render();
        assert!(
            text.contains("voltwire_bms_state_of_charge_percent 55.5"),
            "{text}"
        );
        assert!(
            text.contains("voltwire_bms_relay_on{relay=\"load1\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("voltwire_bms_relay_mode{relay=\"load1\",mode=\"auto\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("voltwire_bms_latch_active{latch=\"comm_shunt\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("voltwire_bms_latch_active{latch=\"cell_temp\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("voltwire_bms_source_data_age_seconds{source=\"shunt\"} 200"),
            "{text}"
        );
        let mut r = Recent::default();
        for i in 0..20 {
            r.push(&json!({"event": "tripped", "latch": "cell_temp", "at_s": f64::from(i)}));
        }
        let lines = r.lines();
        assert_eq!(lines.len(), RECENT_EVENTS);
        assert_eq!(lines[0], "19.0 s: tripped latch=\"cell_temp\"");
    }
}
