//! pace2pylon on `voltwire_runtime::web` (feature `web` of the runtime): the page shows the
//! MQTT state JSON (the merged battery, the meter, the supervisor with its reasons, the
//! rebalance step, one card per pack with its `status`); the health has a line per pack and
//! the meter; the metrics are `voltwire_pace2pylon_*`. Commands go through
//! [`crate::telemetry::validate`], the validator of the MQTT command path:
//! `POST /api/command` with `{"disable": true}` / `{"rebalance": "start"}`, or
//! `POST /api/command/disable` (`ON`/`OFF`) and `POST /api/command/rebalance`
//! (`start`/`cancel`), each with `Authorization: Bearer <token>`.

use serde_json::{Map, Value as J, json};
use voltwire_runtime::web::{Form, LinkHealth, LinkStatus, Metrics, PageHints, Snapshot};

use crate::engine::Command;

/// The page's title, headline and command forms (the validator checks every one again).
pub fn hints() -> PageHints {
    let form = |label: &str, key: &str, value: J| {
        let mut fixed = Map::new();
        fixed.insert(key.into(), value);
        Form {
            command: String::new(),
            label: label.into(),
            fields: Vec::new(),
            fixed,
        }
    };
    PageHints {
        title: "pace2pylon".into(),
        forms: vec![
            form("Disable both directions", "disable", json!(true)),
            form("Enable (end the manual disable)", "disable", json!(false)),
            form("Start a rebalance", "rebalance", json!("start")),
            form("Cancel the rebalance", "rebalance", json!("cancel")),
        ],
        headline: Some(vec!["rebalance".into(), "step".into()]),
        stale_words: ["stale", "down"].map(String::from).to_vec(),
    }
}

/// What a validated command did, as the web client's answer.
pub fn reply(c: &Command) -> J {
    match c {
        Command::Disable(d) => json!({ "accepted": "disable", "disable": d }),
        Command::RebalanceStart => json!({ "accepted": "rebalance", "rebalance": "start" }),
        Command::RebalanceCancel => json!({ "accepted": "rebalance", "rebalance": "cancel" }),
    }
}

fn num(v: &J, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(J::as_f64)
}

fn flag(v: &J, path: &[&str]) -> Option<f64> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(J::as_bool)
        .map(|b| f64::from(u8::from(b)))
}

/// One health line per pack (`up` in comm, `stale` read but silent for the no-comm time,
/// `down` never read) and the meter when configured.
pub fn links(state: &J, meter_configured: bool) -> Vec<LinkHealth> {
    let mut out = Vec::new();
    for p in state
        .get("packs")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let status = match p.get("status").and_then(J::as_str) {
            Some("up") => LinkStatus::Up,
            Some("stale") => LinkStatus::Stale,
            _ => LinkStatus::Down,
        };
        out.push(LinkHealth {
            name: p
                .get("name")
                .and_then(J::as_str)
                .unwrap_or("pack")
                .to_owned(),
            kind: "pack".into(),
            status,
            age_s: p.get("age_s").and_then(J::as_f64),
        });
    }
    if meter_configured {
        let no_comm = state
            .pointer("/supervisor/reasons")
            .and_then(J::as_array)
            .is_some_and(|r| r.iter().any(|x| x == "meter_no_comm"));
        let age_s = num(state, &["meter", "age_s"]);
        out.push(LinkHealth {
            name: "meter".into(),
            kind: "meter".into(),
            status: match (age_s, no_comm) {
                (None, _) => LinkStatus::Down,
                (Some(_), true) => LinkStatus::Stale,
                (Some(_), false) => LinkStatus::Up,
            },
            age_s,
        });
    }
    out
}

/// The metrics, from the state JSON.
pub fn metrics(state: &J) -> Metrics {
    let mut m = Metrics::new();
    for (name, help, key) in [
        (
            "voltwire_pace2pylon_voltage_volts",
            "Merged battery voltage, V",
            "voltage_v",
        ),
        (
            "voltwire_pace2pylon_current_amperes",
            "Merged battery current, A (> 0: charging)",
            "current_a",
        ),
        (
            "voltwire_pace2pylon_state_of_charge_percent",
            "State of charge given to the inverter, %",
            "soc_pct",
        ),
        (
            "voltwire_pace2pylon_charge_voltage_limit_volts",
            "Charge voltage limit given to the inverter, V",
            "charge_voltage_limit_v",
        ),
        (
            "voltwire_pace2pylon_charge_current_limit_amperes",
            "Charge current limit given to the inverter, A",
            "charge_current_limit_a",
        ),
        (
            "voltwire_pace2pylon_discharge_current_limit_amperes",
            "Discharge current limit given to the inverter, A",
            "discharge_current_limit_a",
        ),
        (
            "voltwire_pace2pylon_cell_min_volts",
            "Lowest cell voltage of all packs, V",
            "cell_min_v",
        ),
        (
            "voltwire_pace2pylon_cell_max_volts",
            "Highest cell voltage of all packs, V",
            "cell_max_v",
        ),
    ] {
        m.gauge(name, help, &[], num(state, &["merged", key]));
    }
    m.gauge(
        "voltwire_pace2pylon_charge_enabled",
        "Charging allowed (1) or not (0)",
        &[],
        flag(state, &["supervisor", "charge_enabled"]),
    );
    m.gauge(
        "voltwire_pace2pylon_discharge_enabled",
        "Discharging allowed (1) or not (0)",
        &[],
        flag(state, &["supervisor", "discharge_enabled"]),
    );
    for r in state
        .pointer("/supervisor/reasons")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
        .filter_map(J::as_str)
    {
        m.gauge(
            "voltwire_pace2pylon_blocked",
            "A supervisor reason that blocks a direction is active (1)",
            &[("reason", r)],
            Some(1.0),
        );
    }
    m.gauge(
        "voltwire_pace2pylon_rebalance_step",
        "Rebalance step (0 idle, 1 raise, 2 charge, 3 unlock, 4 restore_meter)",
        &[],
        num(state, &["rebalance", "step_number"]),
    );
    m.gauge(
        "voltwire_pace2pylon_meter_state_of_charge_percent",
        "Coulomb meter state of charge, %",
        &[],
        num(state, &["meter", "soc_pct"]),
    );
    pack_metrics(&mut m, state);
    m
}

/// The per-pack gauges, labelled `pack="packN"`.
fn pack_metrics(m: &mut Metrics, state: &J) {
    const GAUGES: [(&str, &str, &str); 5] = [
        (
            "voltwire_pace2pylon_pack_voltage_volts",
            "Pack voltage, V",
            "voltage_v",
        ),
        (
            "voltwire_pace2pylon_pack_current_amperes",
            "Pack current, A (> 0: charging)",
            "current_a",
        ),
        (
            "voltwire_pace2pylon_pack_state_of_charge_percent",
            "Pack state of charge (its BMS), %",
            "soc_pct",
        ),
        (
            "voltwire_pace2pylon_pack_comm",
            "Pack in comm (1) or not (0)",
            "comm",
        ),
        (
            "voltwire_pace2pylon_pack_data_age_seconds",
            "Age of the pack's last reading, s",
            "age_s",
        ),
    ];
    for p in state
        .get("packs")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let name = p.get("name").and_then(J::as_str).unwrap_or("pack");
        for (metric, help, key) in GAUGES {
            let v = num(p, &[key]).or_else(|| flag(p, &[key]));
            m.gauge(metric, help, &[("pack", name)], v);
        }
    }
}

/// The page's snapshot from the state JSON.
pub fn snapshot(state: J, meter_configured: bool) -> Snapshot {
    Snapshot {
        links: links(&state, meter_configured),
        metrics: metrics(&state),
        state,
    }
}
