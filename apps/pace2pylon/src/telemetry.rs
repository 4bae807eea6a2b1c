//! MQTT: the state JSON (merged battery, per pack, supervisor flags, rebalance step), Home
//! Assistant discovery and the validated commands.
//!
//! Commands, on `<base>/command/<name>`:
//! - `disable`: `ON` / `OFF` (also `true`/`false`, `1`/`0`): manual disable;
//! - `rebalance`: `start` or `cancel`;
//!
//! or on `<base>/command` as JSON with exactly one of `{"disable": bool}` or
//! `{"rebalance": "start" | "cancel"}`. Anything else is rejected (published on
//! `<base>/command/result`) and changes nothing.

use serde::Deserialize;
use serde_json::{Value, json};
use voltwire_ess::Millis;
use voltwire_ess::pace2pylon::{PackInput, Rebalance};
use voltwire_runtime::mqtt::{
    self, Device, Discovery, DiscoveryConfig, Entity, Rejection, StateClass, Topics,
};

use crate::engine::{Command, Snapshot};

/// The JSON form of a command on `<base>/command`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCommand {
    disable: Option<bool>,
    rebalance: Option<String>,
}

fn rebalance(field: &str, word: &str) -> Result<Command, Rejection> {
    match word.trim() {
        "start" => Ok(Command::RebalanceStart),
        "cancel" => Ok(Command::RebalanceCancel),
        other => Err(Rejection::invalid(
            field,
            format!("{other:?} is neither \"start\" nor \"cancel\""),
        )),
    }
}

/// Validate a command (`name` is `""` for `<base>/command`).
///
/// # Errors
/// A [`Rejection`] naming the field and what is allowed.
pub fn validate(name: &str, payload: &[u8]) -> Result<Command, Rejection> {
    match name {
        "disable" => mqtt::parse_switch("disable", payload).map(Command::Disable),
        "rebalance" => {
            let word = std::str::from_utf8(payload)
                .map_err(|_| Rejection::invalid("rebalance", "not UTF-8"))?;
            rebalance("rebalance", word)
        }
        "" => {
            let c: JsonCommand = mqtt::parse_json(payload)?;
            match (c.disable, c.rebalance) {
                (Some(d), None) => Ok(Command::Disable(d)),
                (None, Some(r)) => rebalance("rebalance", &r),
                _ => Err(Rejection::invalid(
                    "command",
                    "give exactly one of \"disable\" or \"rebalance\"",
                )),
            }
        }
        other => Err(Rejection::unknown_command(other)),
    }
}

fn v(mv: i32) -> f64 {
    f64::from(mv) / 1000.0
}

fn pack_json(i: usize, p: &PackInput, now: Millis, no_comm: u32) -> Value {
    let comm = !(i < 32 && no_comm & (1 << i) != 0) && p.reading.is_some();
    let name = format!("pack{}", i.saturating_add(1));
    let Some((r, at)) = &p.reading else {
        return json!({ "pack": i, "name": name, "status": "down", "comm": false, "settings_read": p.settings.is_some() });
    };
    #[allow(clippy::cast_precision_loss, reason = "ages are far below 2^53 ms")]
    let age = now.since(*at) as f64 / 1000.0;
    json!({
        "pack": i,
        "name": name,
        "status": if comm { "up" } else { "stale" },
        "comm": comm,
        "age_s": age,
        "voltage_v": v(r.voltage.0),
        "current_a": v(r.current.0),
        "soc_pct": f64::from(r.soc.0) / 10.0,
        "soh_pct": f64::from(r.soh.0) / 10.0,
        "cycles": r.cycles,
        "cell_min_v": v(r.cell_min.0.0),
        "cell_max_v": v(r.cell_max.0.0),
        "temperature_min_c": f64::from(r.temp_min.0) / 10.0,
        "temperature_max_c": f64::from(r.temp_max.0) / 10.0,
        "alarms": { "raw": r.alarms.0, "flags": r.alarms.flags().collect::<Vec<_>>() },
        "settings_read": p.settings.is_some(),
    })
}

/// Add `inverter_priority` (`[priority]` configured): the priority known to be in the
/// inverter (`"normal"`, `"grid_charge"`), `null` while unknown (before the read-back, after
/// a failed write).
pub fn with_priority(state: &mut Value, known: Option<crate::priority::Priority>) {
    if let Some(o) = state.as_object_mut() {
        o.insert(
            "inverter_priority".into(),
            known.map_or(Value::Null, |p| Value::from(p.name())),
        );
    }
}

/// The state JSON at `now`.
pub fn state_json(s: &Snapshot, now: Millis) -> Value {
    let d = &s.decision;
    let merged = s.merged.as_ref().map(|m| {
        #[allow(clippy::cast_precision_loss, reason = "capacities are far below 2^53 mAh")]
        let ah = |x: i64| x as f64 / 1000.0;
        json!({
            "packs": m.packs,
            "voltage_v": v(m.voltage.0),
            "current_a": v(m.current.0),
            "power_w": (i64::from(m.voltage.0) * i64::from(m.current.0)) / 1_000_000,
            "soc_pct": f64::from(m.soc.0) / 10.0,
            "soh_pct": f64::from(m.soh.0) / 10.0,
            "remaining_ah": ah(m.remaining.0),
            "full_ah": ah(m.full.0),
            "cycles_max": m.cycles_max,
            "cycles_avg": m.cycles_avg,
            "cell_min_v": v(m.cell_min.voltage.0), "cell_min_pack": m.cell_min.pack, "cell_min_cell": m.cell_min.cell,
            "cell_max_v": v(m.cell_max.voltage.0), "cell_max_pack": m.cell_max.pack, "cell_max_cell": m.cell_max.cell,
            "temperature_min_c": f64::from(m.temp_min.temperature.0) / 10.0, "temperature_min_pack": m.temp_min.pack,
            "temperature_max_c": f64::from(m.temp_max.temperature.0) / 10.0, "temperature_max_pack": m.temp_max.pack,
            "charge_voltage_limit_v": v(m.charge_voltage.0),
            "discharge_voltage_limit_v": v(m.discharge_voltage.0),
            "charge_current_limit_a": if d.charge { v(m.charge_current_limit.0) } else { 0.0 },
            "discharge_current_limit_a": if d.discharge { v(m.discharge_current_limit.0) } else { 0.0 },
        })
    });
    let out = Rebalance::output(s.step);
    #[allow(
        clippy::cast_precision_loss,
        reason = "capacities and ages are far below 2^53"
    )]
    let meter = s.meter.map(|m| {
        json!({
            "soc_pct": f64::from(m.soc.0) / 10.0,
            "remaining_ah": m.remaining.0 as f64 / 1000.0,
            "capacity_ah": m.capacity.0 as f64 / 1000.0,
            "age_s": now.since(m.at) as f64 / 1000.0,
        })
    });
    json!({
        "merged": merged,
        "meter": meter,
        "supervisor": {
            "charge_enabled": s.merged.is_some() && d.charge,
            "discharge_enabled": s.merged.is_some() && d.discharge,
            "reasons": d.reasons.flags().collect::<Vec<_>>(),
            "no_comm_packs": (0..32).filter(|i| d.no_comm_packs & (1 << i) != 0).collect::<Vec<u32>>(),
            "rebalance_requested": d.rebalance_requested,
        },
        "rebalance": {
            "step": s.step.name(),
            "step_number": s.step.number(),
            "raised_charge_voltage": out.raise_charge_voltage,
            "unlock_packs": out.unlock_packs,
            "grid_charge": s.grid_charge,
        },
        "packs": s.packs.iter().enumerate().map(|(i, p)| {
            let mut j = pack_json(i, p, now, d.no_comm_packs);
            if let (Some(Some(t)), Some(o)) = (s.polls.get(i), j.as_object_mut()) {
                // The last 0x42 + 0x44 exchange: when it started (app clock) and how long.
                #[allow(clippy::cast_precision_loss, reason = "ms far below 2^53")]
                let secs = |ms: u64| ms as f64 / 1000.0;
                o.insert("poll_started_s".into(), json!(secs(t.started.0)));
                o.insert("poll_s".into(), json!(secs(t.took_ms)));
            }
            j
        }).collect::<Vec<_>>(),
    })
}

/// The Home Assistant discovery configs.
///
/// # Errors
/// A discovery error (a bad node id).
pub fn discovery(topics: &Topics, prefix: &str) -> Result<Vec<DiscoveryConfig>, String> {
    let node: String = topics
        .base()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut device = Device::new(format!("voltwire_{node}"), "voltwire pace2pylon");
    device.manufacturer = Some("voltwire".into());
    device.model = Some("pace2pylon".into());
    let d = Discovery::new(&node, device, topics.clone())
        .map_err(|e| e.to_string())?
        .with_prefix(prefix);
    let sensor = |id: &str, name: &str, class: &str, unit: &str| {
        Entity::sensor(id, name)
            .device_class(class)
            .unit(unit)
            .state_class(StateClass::Measurement)
            .value_template(&format!("{{{{ value_json.merged.{id} }}}}"))
    };
    let entities = [
        sensor("soc_pct", "State of charge", "battery", "%"),
        sensor("voltage_v", "Voltage", "voltage", "V"),
        sensor("current_a", "Current", "current", "A"),
        sensor("power_w", "Power", "power", "W"),
        sensor("cell_min_v", "Lowest cell", "voltage", "V"),
        sensor("cell_max_v", "Highest cell", "voltage", "V"),
        sensor(
            "temperature_max_c",
            "Highest temperature",
            "temperature",
            "°C",
        ),
        sensor(
            "charge_current_limit_a",
            "Charge current limit",
            "current",
            "A",
        ),
        sensor(
            "discharge_current_limit_a",
            "Discharge current limit",
            "current",
            "A",
        ),
        Entity::binary_sensor("charge_enabled", "Charge enabled")
            .value_template("{{ 'ON' if value_json.supervisor.charge_enabled else 'OFF' }}"),
        Entity::binary_sensor("discharge_enabled", "Discharge enabled")
            .value_template("{{ 'ON' if value_json.supervisor.discharge_enabled else 'OFF' }}"),
        Entity::sensor("reasons", "Supervisor reasons")
            .value_template("{{ value_json.supervisor.reasons | join(', ') }}"),
        Entity::sensor("rebalance_step", "Rebalance step")
            .value_template("{{ value_json.rebalance.step }}"),
        Entity::switch("disable", "Manual disable").value_template(
            "{{ 'ON' if 'manual_disable' in value_json.supervisor.reasons else 'OFF' }}",
        ),
    ];
    entities
        .iter()
        .map(|e| d.config(e).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_validated() {
        assert_eq!(
            validate("disable", b"ON").ok(),
            Some(Command::Disable(true))
        );
        assert_eq!(
            validate("disable", b"OFF").ok(),
            Some(Command::Disable(false))
        );
        assert_eq!(
            validate("rebalance", b"start").ok(),
            Some(Command::RebalanceStart)
        );
        assert_eq!(
            validate("rebalance", b"cancel").ok(),
            Some(Command::RebalanceCancel)
        );
        assert_eq!(
            validate("", br#"{"disable": true}"#).ok(),
            Some(Command::Disable(true))
        );
        assert_eq!(
            validate("", br#"{"rebalance": "cancel"}"#).ok(),
            Some(Command::RebalanceCancel)
        );
        for (name, payload) in [
            ("disable", &b"maybe"[..]),
            ("rebalance", b"restart"),
            ("rebalance", b"\xff"),
            ("", br#"{"disable": true, "rebalance": "start"}"#),
            ("", br"{}"),
            ("", br#"{"disabled": true}"#),
            ("", br#"{"disable": "yes"}"#),
            ("", b"not json"),
            ("shutdown", b"now"),
        ] {
            assert!(
                validate(name, payload).is_err(),
                "{name} {payload:?} accepted"
            );
        }
        let e = validate("rebalance", b"restart").unwrap_err();
        assert!(format!("{e:?}").contains("restart"), "{e:?}");
    }

    #[test]
    fn the_state_names_every_part() {
        let s = Snapshot::initial();
        let j = state_json(&s, Millis(0));
        assert_eq!(j["merged"], Value::Null);
        assert_eq!(j["supervisor"]["charge_enabled"], false);
        assert_eq!(j["supervisor"]["reasons"], json!(["missing_data"]));
        assert_eq!(j["rebalance"]["step"], "idle");
    }

    #[test]
    fn discovery_builds() {
        let t = Topics::new("pace2pylon").unwrap();
        let d = discovery(&t, "homeassistant").unwrap();
        assert_eq!(d.len(), 14);
    }

    #[test]
    fn the_inverter_priority_is_named_or_null() {
        let mut v = serde_json::json!({"merged": null});
        with_priority(&mut v, Some(crate::priority::Priority::GridCharge));
        assert_eq!(v["inverter_priority"], "grid_charge");
        with_priority(&mut v, None);
        assert!(v["inverter_priority"].is_null());
        assert!(v.get("merged").is_some());
    }
}
