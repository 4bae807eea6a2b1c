//! zero-feed-in on the shared status page (`voltwire_runtime::web`): the state is the MQTT
//! state ([`crate::telemetry::state_json`]: meter, set points, latches, alarms), one health
//! line per input and device, Prometheus metrics, and forms for the commands. Commands go
//! through [`crate::telemetry::validate`], the validator of the MQTT command path, and are
//! applied the same way ([`crate::telemetry::apply`]).
//!
//! Metric names carry their unit (`_watts`, `_volts`, `_percent`, `_seconds`).

use serde_json::{Map, Value, json};
use voltwire_runtime::web::{Field, Form, LinkHealth, LinkStatus, Metrics, PageHints, Snapshot};
use voltwire_zero_feed_in_rules::{
    BatteryReading, Commands, Decision, DeviceStatus, MeterReading, Millis,
};

use crate::telemetry::{self, MAX_COMMAND_W, MAX_TTL_S};

/// Everything one snapshot is built from (copies, so the server builds it on its thread).
#[derive(Debug, Clone)]
pub struct View {
    /// When the decision was taken.
    pub now: Millis,
    /// The decision.
    pub decision: Decision,
    /// The latest meter reading.
    pub meter: Option<MeterReading>,
    /// The latest battery reading.
    pub battery: Option<BatteryReading>,
    /// Each device's status, in configuration order.
    pub devices: Vec<DeviceStatus>,
    /// The user commands in force.
    pub commands: Commands,
}

#[allow(clippy::cast_precision_loss, reason = "ages in ms are far below 2^53")]
fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The page's title, headline and command forms (limits as the validator's).
pub fn hints() -> PageHints {
    let ttl = Field {
        key: "ttl_s".into(),
        label: "For".into(),
        unit: "s".into(),
        min: 1.0,
        max: MAX_TTL_S,
        step: 1.0,
        optional: true,
    };
    let watts = |command: &str, label: &str| Form {
        command: command.into(),
        label: label.into(),
        fields: vec![
            Field {
                key: "value".into(),
                label: "Power".into(),
                unit: "W".into(),
                min: 0.0,
                max: MAX_COMMAND_W,
                step: 10.0,
                optional: false,
            },
            ttl.clone(),
        ],
        fixed: Map::new(),
    };
    let switch = |command: &str, label: &str, on: bool| {
        let mut fixed = Map::new();
        fixed.insert("value".into(), Value::Bool(on));
        Form {
            command: command.into(),
            label: label.into(),
            fields: vec![ttl.clone()],
            fixed,
        }
    };
    PageHints {
        title: "zero-feed-in".into(),
        headline: Some(vec!["mode".into()]),
        stale_words: ["stale", "battery_lost", "meter_stale"]
            .map(String::from)
            .to_vec(),
        forms: vec![
            watts("max_charge_w", "Cap charging"),
            watts("max_discharge_w", "Cap discharging"),
            switch("charge_enabled", "Enable charging", true),
            switch("charge_enabled", "Disable charging", false),
            switch("discharge_enabled", "Enable discharging", true),
            switch("discharge_enabled", "Disable discharging", false),
        ],
    }
}

/// One health line per input (meter, battery) and device.
pub fn links(v: &View, timeouts: (u64, u64)) -> Vec<LinkHealth> {
    let (meter_timeout, battery_timeout) = timeouts;
    let age = |at: Option<Millis>| at.map(|t| v.now.since(t));
    let status = |age: Option<u64>, limit: u64| match age {
        None => LinkStatus::Down,
        Some(a) if a > limit => LinkStatus::Stale,
        Some(_) => LinkStatus::Up,
    };
    let meter_age = age(v.meter.map(|m| m.at));
    let battery_age = age(v.battery.map(|b| b.at));
    let mut out = vec![
        LinkHealth {
            name: "meter".into(),
            kind: "input".into(),
            status: status(meter_age, meter_timeout),
            age_s: meter_age.map(secs),
        },
        LinkHealth {
            name: "battery".into(),
            kind: "input".into(),
            status: status(battery_age, battery_timeout),
            age_s: battery_age.map(secs),
        },
    ];
    for (i, d) in v.devices.iter().enumerate() {
        let a = age(d.last_seen);
        let lost = v
            .decision
            .alarms
            .device_lost
            .get(i)
            .copied()
            .unwrap_or(false);
        out.push(LinkHealth {
            name: format!("device[{i}]"),
            kind: "output".into(),
            status: match a {
                None => LinkStatus::Down,
                Some(_) if lost => LinkStatus::Stale,
                Some(_) => LinkStatus::Up,
            },
            age_s: a.map(secs),
        });
    }
    out
}

/// The metrics of one view.
pub fn metrics(v: &View) -> Metrics {
    let mut m = Metrics::new();
    let d = &v.decision;
    m.gauge(
        "voltwire_zfi_grid_watts",
        "Grid power, W (> 0: import)",
        &[],
        v.meter.map(|r| f64::from(r.grid.0)),
    );
    m.gauge(
        "voltwire_zfi_set_point_watts",
        "Total set point, W (> 0: charging)",
        &[],
        Some(f64::from(d.total().0)),
    );
    m.gauge(
        "voltwire_zfi_battery_volts",
        "Battery voltage, V",
        &[],
        v.battery.map(|b| f64::from(b.voltage.0) / 1000.0),
    );
    m.gauge(
        "voltwire_zfi_state_of_charge_percent",
        "State of charge, %",
        &[],
        v.battery.and_then(|b| b.soc).map(|s| f64::from(s.0) / 10.0),
    );
    m.gauge(
        "voltwire_zfi_meter_age_seconds",
        "Age of the latest meter reading, s",
        &[],
        v.meter.map(|r| secs(v.now.since(r.at))),
    );
    for (name, help, on) in [
        (
            "voltwire_zfi_charge_allowed",
            "Charging allowed (1) or not (0)",
            d.charge_allowed,
        ),
        (
            "voltwire_zfi_discharge_allowed",
            "Discharging allowed (1) or not (0)",
            d.discharge_allowed,
        ),
        (
            "voltwire_zfi_meter_stale",
            "The meter is stale (1) or not (0)",
            d.alarms.meter_stale,
        ),
        (
            "voltwire_zfi_battery_lost",
            "The battery reading is lost (1) or not (0)",
            d.alarms.battery_lost,
        ),
    ] {
        m.gauge(name, help, &[], Some(f64::from(u8::from(on))));
    }
    for latch in d.latches.names() {
        m.gauge(
            "voltwire_zfi_latch",
            "A battery latch in force (1)",
            &[("latch", latch)],
            Some(1.0),
        );
    }
    for (i, (s, c)) in v.devices.iter().zip(&d.commands).enumerate() {
        let index = i.to_string();
        let l = [("device", index.as_str())];
        m.gauge(
            "voltwire_zfi_device_set_point_watts",
            "The device's set point, W (> 0: charging)",
            &l,
            Some(f64::from(c.power.0)),
        );
        m.gauge(
            "voltwire_zfi_device_delivered_watts",
            "What the device reports delivering, W (> 0: charging)",
            &l,
            s.delivered.map(|w| f64::from(w.0)),
        );
    }
    m
}

/// The commands in force, as JSON (what a command over HTTP answers).
pub fn commands_json(now: Millis, c: &Commands) -> Value {
    let left = |until: Millis| secs(until.since(now));
    let active = |until: Millis| until > now;
    let switch = |x: Option<voltwire_zero_feed_in_rules::Command<bool>>| {
        x.filter(|t| active(t.until)).map_or(
            Value::Null,
            |t| json!({"value": t.value, "ttl_s": left(t.until)}),
        )
    };
    let watts = |x: Option<voltwire_zero_feed_in_rules::Command<voltwire_core::Watts>>| {
        x.filter(|t| active(t.until)).map_or(
            Value::Null,
            |t| json!({"value": t.value.0, "ttl_s": left(t.until)}),
        )
    };
    json!({
        "charge_enabled": switch(c.charge_enabled),
        "discharge_enabled": switch(c.discharge_enabled),
        "max_charge_w": watts(c.max_charge),
        "max_discharge_w": watts(c.max_discharge),
    })
}

/// Everything the server needs for one view; `timeouts` = (meter, battery) in ms.
pub fn snapshot(v: &View, timeouts: (u64, u64)) -> Snapshot {
    let mut state = telemetry::state_json(v.now, &v.decision, v.meter, v.battery, &v.devices);
    if let Some(o) = state.as_object_mut() {
        o.insert("commands".into(), commands_json(v.now, &v.commands));
    }
    Snapshot {
        state,
        links: links(v, timeouts),
        metrics: metrics(v),
    }
}
