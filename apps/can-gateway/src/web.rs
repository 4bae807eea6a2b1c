//! The gateway on `voltwire_runtime::web`: what the page shows (the same JSON as MQTT:
//! `combined`, `inputs`, `outputs`), the health of every bus and the broker, the Prometheus
//! metrics, and the set-point forms. Commands go through [`crate::telemetry::validate`], the
//! validator of the MQTT command path.
//!
//! Metric names carry their unit (`_volts`, `_amperes`, `_watts`, `_celsius`, `_percent`,
//! `_seconds`); the combined battery is `voltwire_battery_*`, each BMS `voltwire_input_*`
//! with the label `input`, each inverter `voltwire_output_*` with the label `output`.

use serde_json::{Map, Value, json};
use voltwire_ess::{BatteryState, InputStatus, Millis, Mode, SetpointBounds};
use voltwire_runtime::mqtt::LinkStatus as MqttStatus;
use voltwire_runtime::web::{Field, Form, LinkHealth, LinkStatus, Metrics, PageHints, Snapshot};

use crate::engine::Engine;
use crate::telemetry;

#[allow(clippy::cast_precision_loss, reason = "ms ages are far below 2^53")]
fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The page's title, headline and command forms; the limits of the forms are the
/// set-point bounds (the validator checks them again).
pub fn hints(bounds: &SetpointBounds) -> PageHints {
    let amps = |key: &str, label: &str, max: voltwire_core::Milliamps| Field {
        key: key.into(),
        label: label.into(),
        unit: "A".into(),
        min: 0.0,
        max: f64::from(max.0) / 1000.0,
        step: 0.1,
        optional: true,
    };
    let mut clear = Map::new();
    clear.insert("clear".into(), Value::Bool(true));
    PageHints {
        title: "can-gateway".into(),
        headline: Some(vec!["combined".into(), "mode".into()]),
        stale_words: ["stale", "no_data", "down"].map(String::from).to_vec(),
        forms: vec![
            Form {
                command: String::new(),
                label: "Set current limits".into(),
                fields: vec![
                    amps("charge_current_limit_a", "Charge limit", bounds.max_charge),
                    amps(
                        "discharge_current_limit_a",
                        "Discharge limit",
                        bounds.max_discharge,
                    ),
                    Field {
                        key: "ttl_s".into(),
                        label: "For".into(),
                        unit: "s".into(),
                        min: 1.0,
                        max: secs(bounds.max_ttl_ms),
                        step: 1.0,
                        optional: true,
                    },
                ],
                fixed: Map::new(),
            },
            Form {
                command: String::new(),
                label: "Clear set points".into(),
                fields: Vec::new(),
                fixed: clear,
            },
        ],
    }
}

/// Health of every bus (and the broker, when MQTT is configured).
pub fn links(e: &Engine, now: Millis, mqtt: Option<MqttStatus>) -> Vec<LinkHealth> {
    let mut v = Vec::with_capacity(e.inputs.len() + e.outputs.len() + 1);
    for (i, slot) in e.inputs.iter().enumerate() {
        let status = if !slot.bus_up {
            LinkStatus::Down
        } else if matches!(e.input_status(i), InputStatus::Stale | InputStatus::NoData) {
            LinkStatus::Stale
        } else {
            LinkStatus::Up
        };
        v.push(LinkHealth {
            name: slot.name.clone(),
            kind: "input".into(),
            status,
            age_s: slot.latest.map(|(_, at)| secs(now.since(at))),
        });
    }
    for (o, slot) in e.outputs.iter().enumerate() {
        let status = if !slot.bus_up {
            LinkStatus::Down
        } else if e.request_stale(o, now) {
            LinkStatus::Stale
        } else {
            LinkStatus::Up
        };
        v.push(LinkHealth {
            name: slot.cfg.name.clone(),
            kind: "output".into(),
            status,
            age_s: slot.last_written.map(|t| secs(now.since(t))),
        });
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

/// The battery gauges of one state under `prefix` (`voltwire_battery`, `voltwire_input`,
/// `voltwire_output`).
fn battery(m: &mut Metrics, prefix: &str, labels: &[(&str, &str)], s: &BatteryState) {
    let power_w = f64::from(s.voltage.0) * f64::from(s.current.0) / 1e6;
    for (name, help, v) in [
        (
            "voltage_volts",
            "Voltage, V",
            f64::from(s.voltage.0) / 1000.0,
        ),
        (
            "current_amperes",
            "Current, A (> 0: charging)",
            f64::from(s.current.0) / 1000.0,
        ),
        ("power_watts", "Power, W (> 0: charging)", power_w),
        (
            "state_of_charge_percent",
            "State of charge, %",
            f64::from(s.soc.0) / 10.0,
        ),
        (
            "state_of_health_percent",
            "State of health, %",
            f64::from(s.soh.0) / 10.0,
        ),
        (
            "temperature_celsius",
            "Temperature, °C",
            f64::from(s.temperature.0) / 10.0,
        ),
        (
            "charge_voltage_limit_volts",
            "Charge voltage limit, V",
            f64::from(s.charge_voltage_limit.0) / 1000.0,
        ),
        (
            "charge_current_limit_amperes",
            "Charge current limit, A",
            f64::from(s.charge_current_limit.0) / 1000.0,
        ),
        (
            "discharge_current_limit_amperes",
            "Discharge current limit, A",
            f64::from(s.discharge_current_limit.0) / 1000.0,
        ),
        (
            "charge_enabled",
            "Charging allowed (1) or not (0)",
            f64::from(u8::from(s.charge_enable)),
        ),
        (
            "discharge_enabled",
            "Discharging allowed (1) or not (0)",
            f64::from(u8::from(s.discharge_enable)),
        ),
    ] {
        m.gauge(&format!("{prefix}_{name}"), help, labels, Some(v));
    }
}

const MODES: [Mode; 5] = [
    Mode::Normal,
    Mode::Degraded,
    Mode::Blocked,
    Mode::Safe,
    Mode::Silent,
];

/// The gateway's metrics.
#[allow(clippy::too_many_lines, reason = "one family after the other")]
pub fn metrics(e: &Engine, now: Millis, mqtt: Option<MqttStatus>) -> Metrics {
    let mut m = Metrics::new();
    if let Some(s) = e.combined(now) {
        battery(&mut m, "voltwire_battery", &[], &s);
    }
    if let Some(mode) = e.mode() {
        for x in MODES {
            m.gauge(
                "voltwire_gateway_mode",
                "The gateway's mode (1 for the current one)",
                &[("mode", telemetry::mode_name(x))],
                Some(f64::from(u8::from(x == mode))),
            );
        }
    }
    let active = (0..e.inputs.len())
        .filter(|i| e.input_status(*i).is_admitted())
        .count();
    #[allow(clippy::cast_precision_loss, reason = "at most 64 inputs")]
    {
        m.gauge(
            "voltwire_gateway_inputs_active",
            "Inputs used in the combined battery",
            &[],
            Some(active as f64),
        );
        m.gauge(
            "voltwire_gateway_inputs",
            "Inputs configured",
            &[],
            Some(e.inputs.len() as f64),
        );
    }
    for d in [
        voltwire_ess::Direction::Charge,
        voltwire_ess::Direction::Discharge,
    ] {
        if let Some(sp) = e.setpoints.active(d, now) {
            let dir = d.name();
            m.gauge(
                "voltwire_setpoint_current_limit_amperes",
                "Active current-limit set point, A",
                &[("direction", dir)],
                Some(f64::from(sp.limit.0) / 1000.0),
            );
            m.gauge(
                "voltwire_setpoint_expires_seconds",
                "Time until the set point expires, s",
                &[("direction", dir)],
                Some(secs(sp.until.since(now))),
            );
        }
    }
    for (i, slot) in e.inputs.iter().enumerate() {
        let l = [("input", slot.name.as_str())];
        let st = e.input_status(i);
        if let Some((s, at)) = &slot.latest {
            battery(&mut m, "voltwire_input", &l, s);
            m.gauge(
                "voltwire_input_data_age_seconds",
                "Age of the input's latest telegram, s",
                &l,
                Some(secs(now.since(*at))),
            );
        }
        m.gauge(
            "voltwire_input_admitted",
            "The input is used in the combined battery (1) or not (0)",
            &l,
            Some(f64::from(u8::from(st.is_admitted()))),
        );
        m.gauge(
            "voltwire_input_status",
            "The input's status (1 for the current one)",
            &[
                ("input", slot.name.as_str()),
                ("status", telemetry::status_name(st)),
            ],
            Some(1.0),
        );
        m.gauge(
            "voltwire_input_bus_up",
            "The input's bus is open (1) or not (0)",
            &l,
            Some(f64::from(u8::from(slot.bus_up))),
        );
        for (name, help, v) in [
            (
                "voltwire_input_telegrams_total",
                "Complete telegrams received",
                slot.telegrams,
            ),
            (
                "voltwire_input_bad_frames_total",
                "Frames that did not decode",
                slot.bad_frames,
            ),
            (
                "voltwire_input_implausible_telegrams_total",
                "Telegrams outside the plausible ranges",
                slot.implausible,
            ),
            (
                "voltwire_input_incomplete_bursts_total",
                "Bursts dropped as incomplete",
                slot.incomplete_bursts(),
            ),
            (
                "voltwire_input_own_frames_total",
                "Frames recognised as the gateway's own output read back",
                slot.own_frames,
            ),
            (
                "voltwire_input_bus_reconnects_total",
                "Times the input's bus was lost (and reconnected)",
                slot.bus_drops,
            ),
        ] {
            m.counter(name, help, &l, v);
        }
    }
    for (o, slot) in e.outputs.iter().enumerate() {
        let l = [("output", slot.cfg.name.as_str())];
        if let Some(s) = &slot.last_state {
            battery(&mut m, "voltwire_output", &l, s);
        }
        m.gauge(
            "voltwire_output_bus_up",
            "The output's bus is open (1) or not (0)",
            &l,
            Some(f64::from(u8::from(slot.bus_up))),
        );
        m.gauge(
            "voltwire_output_link_up",
            "The output's bus is open and the inverter is heard when it should be (1) or not (0)",
            &l,
            Some(f64::from(u8::from(slot.bus_up && !e.request_stale(o, now)))),
        );
        m.gauge(
            "voltwire_output_last_sent_age_seconds",
            "Time since the last burst was written, s",
            &l,
            slot.last_written.map(|t| secs(now.since(t))),
        );
        m.counter(
            "voltwire_output_bursts_total",
            "Bursts written to the bus",
            &l,
            slot.bursts,
        );
        m.counter(
            "voltwire_output_bursts_dropped_total",
            "Bursts not written (bus down, busy or failed)",
            &l,
            slot.bursts_dropped,
        );
        m.counter(
            "voltwire_output_bus_reconnects_total",
            "Times the output's bus was lost (and reconnected)",
            &l,
            slot.bus_drops,
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

/// Everything the web server needs at `now`.
pub fn snapshot(e: &Engine, now: Millis, mqtt: Option<MqttStatus>) -> Snapshot {
    Snapshot {
        state: telemetry::snapshot(e, now),
        links: links(e, now, mqtt),
        metrics: metrics(e, now, mqtt),
    }
}

/// What a command applied over HTTP answers: the set points now in force.
pub fn command_result(e: &Engine, now: Millis) -> Value {
    telemetry::combined_json(e, now)
        .get("setpoints")
        .cloned()
        .unwrap_or_else(|| json!({}))
}
