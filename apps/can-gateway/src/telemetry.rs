//! JSON telemetry, the MQTT command validator and Home Assistant discovery.
//!
//! Topics under the configured base `B`:
//! - `B/state` (retained): the combined battery, mode, alarms, set points;
//! - `B/input/<name>` and `B/output/<name>` (retained): per-input and per-output state;
//! - `B/availability`: `online` / `offline` (last will);
//! - `B/command` (JSON `{"charge_current_limit_a": 50, "discharge_current_limit_a": 80,
//!   "ttl_s": 300}` or `{"clear": true}`), `B/command/charge_current_limit_a` and
//!   `B/command/discharge_current_limit_a` (a number), `B/command/clear`;
//!   results on `B/command/result`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_ess::{Alarms, BatteryState, Direction, InputStatus, Millis, Mode, SetpointBounds};
use voltwire_pylontech::can::{Protection, RequestFlags, Warning};
use voltwire_runtime::mqtt::{self, Device, Discovery, Entity, Rejection, StateClass, Topics};

use crate::config::OutputMode;
use crate::engine::{Command, Engine};

/// An exact count of `div`-ths of an SI unit as the JSON number of `docs/json.md`
/// (`voltwire_core::json`: integral values as integers, else the shortest exact decimal).
fn si(value: i64, div: i64) -> Value {
    voltwire_core::json::serialize_si(value, div, serde_json::value::Serializer)
        .unwrap_or(Value::Null)
}

fn secs(ms: u64) -> Value {
    i64::try_from(ms).map_or(Value::Null, |ms| si(ms, 1000))
}

/// A battery state in the JSON contract's shape: the exact canonical values, serialized by
/// the crates' `serde` impls (`voltwire_core` units as SI numbers, the Pylontech CAN flag
/// words as `{"raw", "flags"}`).
#[derive(Serialize)]
struct StateJson {
    soc_pct: Permille,
    soh_pct: Permille,
    voltage_v: Millivolts,
    current_a: Milliamps,
    /// Milliwatts (V × I, exact), as watts.
    #[serde(serialize_with = "milliwatts")]
    power_w: i64,
    temperature_c: DeciCelsius,
    charge_voltage_limit_v: Millivolts,
    charge_current_limit_a: Milliamps,
    discharge_current_limit_a: Milliamps,
    charge_enable: bool,
    discharge_enable: bool,
    errors: Protection,
    warnings: Warning,
    requests: RequestFlags,
    module_count: u16,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with takes &T"
)]
fn milliwatts<S: serde::Serializer>(mw: &i64, s: S) -> Result<S::Ok, S::Error> {
    voltwire_core::json::serialize_si(*mw, 1000, s)
}

impl From<&BatteryState> for StateJson {
    fn from(s: &BatteryState) -> Self {
        Self {
            soc_pct: s.soc,
            soh_pct: s.soh,
            voltage_v: s.voltage,
            current_a: s.current,
            power_w: i64::from(s.voltage.0) * i64::from(s.current.0) / 1000,
            temperature_c: s.temperature,
            charge_voltage_limit_v: s.charge_voltage_limit,
            charge_current_limit_a: s.charge_current_limit,
            discharge_current_limit_a: s.discharge_current_limit,
            charge_enable: s.charge_enable,
            discharge_enable: s.discharge_enable,
            errors: Protection(s.errors.0),
            warnings: Warning(s.warnings.0),
            requests: RequestFlags(s.requests.0),
            module_count: s.module_count,
        }
    }
}

/// The state of a battery as JSON (SI units, current > 0 = charging), from the crates'
/// `serde` impls (`docs/json.md`): `errors`/`warnings` carry the Pylontech CAN flag names.
pub fn state_json(s: &BatteryState) -> Map<String, Value> {
    match serde_json::to_value(StateJson::from(s)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// `normal`, `degraded`, `blocked`, `safe`, `silent` (`unknown` for a mode this build does not know).
pub const fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Normal => "normal",
        Mode::Degraded => "degraded",
        Mode::Blocked => "blocked",
        Mode::Safe => "safe",
        Mode::Silent => "silent",
        // A mode added to voltwire-ess later: reported, not guessed.
        _ => "unknown",
    }
}

/// `active`, `blocking`, `recovering`, `implausible`, `stale`, `no_data` (`unknown` for a
/// status this build does not know).
pub const fn status_name(s: InputStatus) -> &'static str {
    match s {
        InputStatus::Active => "active",
        InputStatus::Blocking => "blocking",
        InputStatus::Recovering { .. } => "recovering",
        InputStatus::Implausible(_) => "implausible",
        InputStatus::Stale => "stale",
        InputStatus::NoData => "no_data",
        // A status added to voltwire-ess later: reported, not guessed.
        _ => "unknown",
    }
}

fn alarm_names(a: Alarms) -> Vec<&'static str> {
    [
        (Alarms::INPUT_STALE, "input_stale"),
        (Alarms::INPUT_RECOVERING, "input_recovering"),
        (Alarms::INPUT_BLOCKING, "input_blocking"),
        (Alarms::NO_INPUT, "no_input"),
        (Alarms::BLOCKED, "blocked"),
        (Alarms::INPUT_IMPLAUSIBLE, "input_implausible"),
    ]
    .into_iter()
    .filter(|(b, _)| a.contains(*b))
    .map(|(_, n)| n)
    .collect()
}

/// The combined state, mode, alarms and set points.
pub fn combined_json(e: &Engine, now: Millis) -> Value {
    let mut m = e.combined(now).map(|s| state_json(&s)).unwrap_or_default();
    if let Some(last) = &e.last {
        m.insert("mode".into(), json!(mode_name(last.mode)));
        m.insert("alarms".into(), json!(alarm_names(last.alarms)));
        let active = last.inputs.iter().filter(|s| s.is_admitted()).count();
        m.insert("inputs_active".into(), json!(active));
    }
    m.insert("inputs_total".into(), json!(e.inputs.len()));
    let mut sp = Map::new();
    for d in [Direction::Charge, Direction::Discharge] {
        let key = format!("{}_current_limit_a", d.name());
        match e.setpoints.active(d, now) {
            Some(s) => {
                sp.insert(key, si(s.limit.0.into(), 1000));
                sp.insert(
                    format!("{}_expires_in_s", d.name()),
                    secs(s.until.since(now)),
                );
            }
            None => {
                sp.insert(key, Value::Null);
            }
        }
    }
    m.insert("setpoints".into(), Value::Object(sp));
    Value::Object(m)
}

/// Input `i` as JSON.
pub fn input_json(e: &Engine, i: usize, now: Millis) -> Value {
    let Some(slot) = e.inputs.get(i) else {
        return Value::Null;
    };
    let st = e.input_status(i);
    let mut m = Map::new();
    m.insert("name".into(), json!(slot.name));
    m.insert("status".into(), json!(status_name(st)));
    match st {
        InputStatus::Recovering { remaining_ms } => {
            m.insert("recovering_remaining_s".into(), secs(remaining_ms));
        }
        InputStatus::Implausible(e) => {
            m.insert(
                "implausible_field".into(),
                json!({ "field": e.field.name(), "unit": e.field.unit(), "value": e.value, "min": e.min, "max": e.max }),
            );
        }
        _ => {}
    }
    m.insert(
        "age_s".into(),
        slot.latest
            .map_or(Value::Null, |(_, at)| secs(now.since(at))),
    );
    m.insert("telegrams".into(), json!(slot.telegrams));
    m.insert("bad_frames".into(), json!(slot.bad_frames));
    m.insert("implausible".into(), json!(slot.implausible));
    m.insert("incomplete_bursts".into(), json!(slot.incomplete_bursts()));
    m.insert("own_frames".into(), json!(slot.own_frames));
    m.insert("bus_up".into(), json!(slot.bus_up));
    m.insert("bus_drops".into(), json!(slot.bus_drops));
    m.insert(
        "state".into(),
        slot.latest
            .map_or(Value::Null, |(s, _)| Value::Object(state_json(&s))),
    );
    Value::Object(m)
}

/// Output `o` as JSON.
pub fn output_json(e: &Engine, o: usize, now: Millis) -> Value {
    let Some(slot) = e.outputs.get(o) else {
        return Value::Null;
    };
    json!({
        "name": slot.cfg.name,
        "mode": match slot.cfg.mode { OutputMode::Push => "push", OutputMode::Sync => "sync" },
        "bursts": slot.bursts,
        "bursts_dropped": slot.bursts_dropped,
        "last_sent_age_s": slot.last_written.map_or(Value::Null, |t| secs(now.since(t))),
        "last_request_age_s": slot.last_request.map_or(Value::Null, |t| secs(now.since(t))),
        "bus_up": slot.bus_up,
        "bus_drops": slot.bus_drops,
        "link": if !slot.bus_up { "down" } else if e.request_stale(o, now) { "stale" } else { "up" },
        "state": slot.last_state.map_or(Value::Null, |s| Value::Object(state_json(&s))),
    })
}

/// Everything, for `--demo` and tests.
pub fn snapshot(e: &Engine, now: Millis) -> Value {
    json!({
        "combined": combined_json(e, now),
        "inputs": (0..e.inputs.len()).map(|i| input_json(e, i, now)).collect::<Vec<_>>(),
        "outputs": (0..e.outputs.len()).map(|o| output_json(e, o, now)).collect::<Vec<_>>(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCommand {
    charge_current_limit_a: Option<f64>,
    discharge_current_limit_a: Option<f64>,
    ttl_s: Option<f64>,
    #[serde(default)]
    clear: bool,
}

fn amps(field: &str, v: f64, bound: Milliamps) -> Result<Milliamps, Rejection> {
    #[allow(clippy::cast_precision_loss, reason = "bounds are far below 2^53")]
    let max = f64::from(bound.0) / 1000.0;
    if !v.is_finite() {
        return Err(Rejection::invalid(field, "not a number"));
    }
    mqtt::check_range(field, v, 0.0, max)?;
    #[allow(clippy::cast_possible_truncation, reason = "range checked")]
    Ok(Milliamps((v * 1000.0).round() as i32))
}

/// Validate an MQTT command (`name` is `""` for `B/command`). Runs in the MQTT task; the
/// engine checks the bounds again when it applies the command.
///
/// # Errors
/// A [`Rejection`] naming the field and the allowed range.
pub fn validate(
    name: &str,
    payload: &[u8],
    bounds: &SetpointBounds,
    default_ttl_ms: u64,
) -> Result<Command, Rejection> {
    #[allow(clippy::cast_precision_loss, reason = "ttl bounds are small")]
    let max_ttl_s = bounds.max_ttl_ms as f64 / 1000.0;
    match name {
        "" => {
            let c: JsonCommand = mqtt::parse_json(payload)?;
            let any = c.charge_current_limit_a.is_some() || c.discharge_current_limit_a.is_some();
            if c.clear {
                if any || c.ttl_s.is_some() {
                    return Err(Rejection::invalid(
                        "clear",
                        "send clear alone, without limits or ttl_s",
                    ));
                }
                return Ok(Command::Clear);
            }
            if !any {
                return Err(Rejection::invalid(
                    "charge_current_limit_a",
                    "give charge_current_limit_a and/or discharge_current_limit_a (A), optionally ttl_s, or {\"clear\": true}",
                ));
            }
            let ttl_ms = match c.ttl_s {
                None => default_ttl_ms,
                Some(t) => {
                    if !t.is_finite() {
                        return Err(Rejection::invalid("ttl_s", "not a number"));
                    }
                    mqtt::check_range("ttl_s", t, 1.0, max_ttl_s)?;
                    #[allow(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "range checked"
                    )]
                    let ms = (t * 1000.0).round() as u64;
                    ms
                }
            };
            let charge = c
                .charge_current_limit_a
                .map(|v| amps("charge_current_limit_a", v, bounds.max_charge))
                .transpose()?;
            let discharge = c
                .discharge_current_limit_a
                .map(|v| amps("discharge_current_limit_a", v, bounds.max_discharge))
                .transpose()?;
            Ok(Command::Set {
                charge,
                discharge,
                ttl_ms,
            })
        }
        "charge_current_limit_a" | "discharge_current_limit_a" => {
            let (bound, charge) = if name.starts_with("charge") {
                (bounds.max_charge, true)
            } else {
                (bounds.max_discharge, false)
            };
            #[allow(clippy::cast_precision_loss, reason = "bounds are far below 2^53")]
            let v = mqtt::parse_number(name, payload, 0.0, f64::from(bound.0) / 1000.0)?;
            let a = amps(name, v, bound)?;
            Ok(Command::Set {
                charge: charge.then_some(a),
                discharge: (!charge).then_some(a),
                ttl_ms: default_ttl_ms,
            })
        }
        "clear" => mqtt::parse_trigger(name, payload).map(|()| Command::Clear),
        other => Err(Rejection::unknown_command(other)),
    }
}

/// The Home Assistant discovery entities.
///
/// # Errors
/// A discovery error (only for a bad node id).
pub fn discovery(
    topics: &Topics,
    prefix: &str,
    bounds: &SetpointBounds,
) -> Result<Vec<voltwire_runtime::mqtt::DiscoveryConfig>, String> {
    let node = topics
        .base()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>();
    let mut device = Device::new(format!("voltwire_{node}"), "voltwire CAN gateway");
    device.manufacturer = Some("voltwire".into());
    device.model = Some("can-gateway".into());
    let d = Discovery::new(&node, device, topics.clone())
        .map_err(|e| e.to_string())?
        .with_prefix(prefix);
    let sensor = |id: &str, name: &str, class: Option<&str>, unit: &str| {
        let mut e = Entity::sensor(id, name)
            .unit(unit)
            .state_class(StateClass::Measurement)
            .value_template(&format!("{{{{ value_json.{id} }}}}"));
        if let Some(c) = class {
            e = e.device_class(c);
        }
        e
    };
    #[allow(clippy::cast_precision_loss, reason = "bounds are far below 2^53")]
    let (mc, md) = (
        f64::from(bounds.max_charge.0) / 1000.0,
        f64::from(bounds.max_discharge.0) / 1000.0,
    );
    let entities = [
        sensor("soc_pct", "State of charge", Some("battery"), "%"),
        sensor("voltage_v", "Voltage", Some("voltage"), "V"),
        sensor("current_a", "Current", Some("current"), "A"),
        sensor("power_w", "Power", Some("power"), "W"),
        sensor("temperature_c", "Temperature", Some("temperature"), "°C"),
        sensor(
            "charge_current_limit_a",
            "Charge current limit",
            Some("current"),
            "A",
        ),
        sensor(
            "discharge_current_limit_a",
            "Discharge current limit",
            Some("current"),
            "A",
        ),
        sensor(
            "charge_voltage_limit_v",
            "Charge voltage limit",
            Some("voltage"),
            "V",
        ),
        Entity::sensor("mode", "Mode").value_template("{{ value_json.mode }}"),
        Entity::number(
            "charge_current_limit_a",
            "Charge current set point",
            0.0,
            mc,
            1.0,
        )
        .unit("A")
        .value_template("{{ value_json.setpoints.charge_current_limit_a }}"),
        Entity::number(
            "discharge_current_limit_a",
            "Discharge current set point",
            0.0,
            md,
            1.0,
        )
        .unit("A")
        .value_template("{{ value_json.setpoints.discharge_current_limit_a }}"),
    ];
    entities
        .iter()
        .map(|e| d.config(e).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    const B: SetpointBounds = SetpointBounds {
        max_charge: Milliamps(100_000),
        max_discharge: Milliamps(150_000),
        max_ttl_ms: 600_000,
    };

    #[test]
    fn commands() {
        assert_eq!(
            validate(
                "",
                br#"{"charge_current_limit_a": 40.5, "ttl_s": 60}"#,
                &B,
                300_000
            )
            .unwrap(),
            Command::Set {
                charge: Some(Milliamps(40_500)),
                discharge: None,
                ttl_ms: 60_000
            }
        );
        assert_eq!(
            validate("discharge_current_limit_a", b"150", &B, 300_000).unwrap(),
            Command::Set {
                charge: None,
                discharge: Some(Milliamps(150_000)),
                ttl_ms: 300_000
            }
        );
        assert_eq!(
            validate("", br#"{"clear": true}"#, &B, 1).unwrap(),
            Command::Clear
        );
        for (name, payload, code) in [
            (
                "",
                &br#"{"charge_current_limit_a": 100.1}"#[..],
                "out_of_range",
            ),
            ("", br#"{"charge_current_limit_a": -1}"#, "out_of_range"),
            (
                "",
                br#"{"charge_current_limit_a": 1, "ttl_s": 601}"#,
                "out_of_range",
            ),
            (
                "",
                br#"{"charge_current_limit_a": 1, "ttl_s": 0}"#,
                "out_of_range",
            ),
            ("", br#"{"charge": 1}"#, "unknown_field"),
            ("", b"{}", "invalid_value"),
            ("", b"{not json", "bad_json"),
            ("", br#"{"clear": true, "ttl_s": 5}"#, "invalid_value"),
            ("charge_current_limit_a", b"abc", "invalid_value"),
            ("charge_current_limit_a", b"NaN", "invalid_value"),
            ("max_power", b"1", "unknown_command"),
        ] {
            let e = validate(name, payload, &B, 300_000).unwrap_err();
            assert_eq!(e.code, code, "{name} {}", String::from_utf8_lossy(payload));
        }
    }
}
