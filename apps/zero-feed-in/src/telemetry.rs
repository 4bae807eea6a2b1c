//! MQTT state, the command validator and Home Assistant discovery.
//!
//! Topics under the configured base `B`: `B/state` (JSON, see [`state_json`]),
//! `B/command/<name>` with `<name>` one of `charge_enabled`, `discharge_enabled` (`ON`/`OFF`)
//! and `max_charge_w`, `max_discharge_w` (a number of watts); each payload may also be a JSON
//! object `{"value": …, "ttl_s": …}`. A command expires after its TTL (default from the
//! config); a rejected command changes nothing and is answered on `B/command/result`.

use serde_json::{Value, json};
use voltwire_core::Watts;
use voltwire_runtime::mqtt::{self, Device, Discovery, Entity, Rejection, StateClass, Topics};
use voltwire_zero_feed_in_rules::{
    BatteryReading, Command as Timed, Commands, Decision, DeviceStatus, MeterReading, Millis,
};

/// The largest power a command may set.
pub const MAX_COMMAND_W: f64 = 65_535.0;
/// The longest TTL a command may ask for.
pub const MAX_TTL_S: f64 = 86_400.0;

/// A validated command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Enable or disable charging.
    ChargeEnabled(bool, u64),
    /// Enable or disable discharging.
    DischargeEnabled(bool, u64),
    /// Cap charging at this power.
    MaxCharge(Watts, u64),
    /// Cap discharging at this power.
    MaxDischarge(Watts, u64),
}

/// Splits `{"value": …, "ttl_s": …}` into (value payload, TTL in ms); anything else is the
/// value itself with the default TTL.
fn with_ttl(name: &str, payload: &[u8], default_ttl_ms: u64) -> Result<(Vec<u8>, u64), Rejection> {
    let trimmed = payload.trim_ascii();
    if !trimmed.starts_with(b"{") {
        return Ok((trimmed.to_vec(), default_ttl_ms));
    }
    let doc: serde_json::Map<String, Value> = mqtt::parse_json(trimmed)?;
    if let Some(k) = doc.keys().find(|k| *k != "value" && *k != "ttl_s") {
        return Err(Rejection::invalid(
            k,
            "unknown field; send {\"value\": …, \"ttl_s\": …}",
        ));
    }
    let value = doc
        .get("value")
        .ok_or_else(|| Rejection::invalid(name, "missing `value`"))?;
    let ttl_ms = match doc.get("ttl_s") {
        None => default_ttl_ms,
        Some(t) => {
            let s = t
                .as_f64()
                .ok_or_else(|| Rejection::invalid("ttl_s", "is not a number"))?;
            let s = mqtt::check_range("ttl_s", s, 1.0, MAX_TTL_S)?;
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "range checked"
            )]
            let ms = (s * 1000.0).round() as u64;
            ms
        }
    };
    let text = match value {
        Value::Bool(true) => "ON".to_owned(),
        Value::Bool(false) => "OFF".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok((text.into_bytes(), ttl_ms))
}

/// Validates one command; `Err` changes nothing.
///
/// # Errors
/// A [`Rejection`] naming the field: unknown command, bad value, out of range, bad TTL.
pub fn validate(name: &str, payload: &[u8], default_ttl_ms: u64) -> Result<Command, Rejection> {
    let known = [
        "charge_enabled",
        "discharge_enabled",
        "max_charge_w",
        "max_discharge_w",
    ];
    if !known.contains(&name) {
        return Err(Rejection::unknown_command(name));
    }
    let (value, ttl) = with_ttl(name, payload, default_ttl_ms)?;
    let watts = |v: &[u8]| -> Result<Watts, Rejection> {
        let w = mqtt::parse_number(name, v, 0.0, MAX_COMMAND_W)?;
        #[allow(clippy::cast_possible_truncation, reason = "range checked")]
        Ok(Watts(w.round() as i32))
    };
    Ok(match name {
        "charge_enabled" => Command::ChargeEnabled(mqtt::parse_switch(name, &value)?, ttl),
        "discharge_enabled" => Command::DischargeEnabled(mqtt::parse_switch(name, &value)?, ttl),
        "max_charge_w" => Command::MaxCharge(watts(&value)?, ttl),
        _ => Command::MaxDischarge(watts(&value)?, ttl),
    })
}

/// Applies a validated command at `now` (it acts until `now + ttl`).
pub fn apply(c: Command, now: Millis, to: &mut Commands) {
    let until = |ttl: u64| now.saturating_add(ttl);
    match c {
        Command::ChargeEnabled(v, t) => {
            to.charge_enabled = Some(Timed {
                value: v,
                until: until(t),
            });
        }
        Command::DischargeEnabled(v, t) => {
            to.discharge_enabled = Some(Timed {
                value: v,
                until: until(t),
            });
        }
        Command::MaxCharge(v, t) => {
            to.max_charge = Some(Timed {
                value: v,
                until: until(t),
            });
        }
        Command::MaxDischarge(v, t) => {
            to.max_discharge = Some(Timed {
                value: v,
                until: until(t),
            });
        }
    }
}

fn age_s(now: Millis, at: Option<Millis>) -> Value {
    #[allow(clippy::cast_precision_loss, reason = "ages are small")]
    at.map_or(Value::Null, |t| json!(now.since(t) as f64 / 1000.0))
}

/// The state published on `B/state`: `snake_case` keys with SI suffixes, battery power
/// positive = charging; per device `trim_active` and `trim_v` (an NPB's trimmed constant
/// voltage while it trims, else `null`).
pub fn state_json(
    now: Millis,
    d: &Decision,
    meter: Option<MeterReading>,
    battery: Option<BatteryReading>,
    devices: &[DeviceStatus],
) -> Value {
    let delivered: i32 = devices
        .iter()
        .filter_map(|s| s.delivered)
        .map(|w| w.0)
        .sum();
    let battery_power_w = battery
        .and_then(|b| {
            b.current
                .map(|i| i64::from(i.0) * i64::from(b.voltage.0) / 1_000_000)
        })
        .unwrap_or_else(|| i64::from(delivered));
    let devices: Vec<Value> = devices
        .iter()
        .zip(&d.commands)
        .enumerate()
        .map(|(i, (s, c))| {
            json!({
                "index": i,
                "set_point_w": c.power.0,
                "delivered_w": s.delivered.map(|w| w.0),
                "age_s": age_s(now, s.last_seen),
                "lost": d.alarms.device_lost.get(i).copied().unwrap_or(false),
                "trim_active": c.voltage.is_some(),
                "trim_v": c.voltage.map(|v| f64::from(v.0) / 1000.0),
            })
        })
        .collect();
    json!({
        "mode": d.mode.name(),
        "grid_w": meter.map(|m| m.grid.0),
        "meter_age_s": age_s(now, meter.map(|m| m.at)),
        "demand_w": d.demand.map(|w| w.0),
        "set_point_w": d.total().0,
        "battery_power_w": battery_power_w,
        "battery_voltage_v": battery.map(|b| f64::from(b.voltage.0) / 1000.0),
        "soc_pct": battery.and_then(|b| b.soc).map(|s| f64::from(s.0) / 10.0),
        "battery_age_s": age_s(now, battery.map(|b| b.at)),
        "charge_allowed": d.charge_allowed,
        "discharge_allowed": d.discharge_allowed,
        "latches": d.latches.names().collect::<Vec<_>>(),
        "alarms": {
            "meter_stale": d.alarms.meter_stale,
            "battery_lost": d.alarms.battery_lost,
            "device_lost": d.alarms.device_lost.iter().take(devices.len()).collect::<Vec<_>>(),
        },
        "devices": devices,
    })
}

/// Home Assistant discovery for the state and the commands.
///
/// # Errors
/// A message when the topics cannot make discovery topics.
pub fn discovery(topics: &Topics, prefix: &str) -> Result<Vec<mqtt::DiscoveryConfig>, String> {
    let node: String = topics
        .base()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut device = Device::new(format!("voltwire_{node}"), "voltwire zero-feed-in");
    device.manufacturer = Some("voltwire".into());
    device.model = Some("zero-feed-in".into());
    let d = Discovery::new(&node, device, topics.clone())
        .map_err(|e| e.to_string())?
        .with_prefix(prefix);
    let sensor = |id: &str, name: &str, class: &str, unit: &str| {
        Entity::sensor(id, name)
            .unit(unit)
            .device_class(class)
            .state_class(StateClass::Measurement)
            .value_template(&format!("{{{{ value_json.{id} }}}}"))
    };
    let entities = [
        sensor("grid_w", "Grid power", "power", "W"),
        sensor("battery_power_w", "Battery power", "power", "W"),
        sensor("set_point_w", "Set point", "power", "W"),
        sensor("soc_pct", "State of charge", "battery", "%"),
        Entity::sensor("mode", "Mode").value_template("{{ value_json.mode }}"),
        Entity::switch("charge_enabled", "Charging enabled"),
        Entity::switch("discharge_enabled", "Discharging enabled"),
        Entity::number("max_charge_w", "Max charge power", 0.0, MAX_COMMAND_W, 10.0).unit("W"),
        Entity::number(
            "max_discharge_w",
            "Max discharge power",
            0.0,
            MAX_COMMAND_W,
            10.0,
        )
        .unit("W"),
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
    fn the_state_shows_each_device_trim() {
        use voltwire_core::{Milliamps, Millivolts};
        use voltwire_zero_feed_in_rules::{Alarms, DeviceCommand, Latches, Mode};
        let mut commands = [DeviceCommand::OFF; 4];
        commands[0] = DeviceCommand {
            power: Watts(60),
            current: Some(Milliamps(3600)),
            voltage: Some(Millivolts(52_420)),
        };
        commands[1] = DeviceCommand {
            power: Watts(-300),
            current: None,
            voltage: None,
        };
        let d = Decision {
            commands,
            mode: Mode::Normal,
            demand: Some(Watts(-60)),
            latches: Latches::default(),
            alarms: Alarms::default(),
            charge_allowed: true,
            discharge_allowed: true,
        };
        let v = state_json(Millis(0), &d, None, None, &[DeviceStatus::default(); 2]);
        assert_eq!(v["devices"][0]["trim_active"], json!(true));
        assert_eq!(v["devices"][0]["trim_v"], json!(52.42));
        assert_eq!(v["devices"][0]["set_point_w"], json!(60));
        assert_eq!(v["devices"][1]["trim_active"], json!(false));
        assert_eq!(v["devices"][1]["trim_v"], Value::Null);
    }

    #[test]
    fn commands_are_validated_with_their_ttl() {
        assert_eq!(
            validate("charge_enabled", b"OFF", 300_000),
            Ok(Command::ChargeEnabled(false, 300_000))
        );
        assert_eq!(
            validate(
                "discharge_enabled",
                br#"{"value": true, "ttl_s": 60}"#,
                300_000
            ),
            Ok(Command::DischargeEnabled(true, 60_000))
        );
        assert_eq!(
            validate("max_charge_w", b" 1500.4 ", 300_000),
            Ok(Command::MaxCharge(Watts(1500), 300_000))
        );
        assert_eq!(
            validate(
                "max_discharge_w",
                br#"{"value": 800, "ttl_s": 1.5}"#,
                300_000
            ),
            Ok(Command::MaxDischarge(Watts(800), 1_500))
        );
    }

    #[test]
    fn malformed_commands_are_rejected_naming_the_field_and_change_nothing() {
        let cases: [(&str, &[u8], &str); 9] = [
            ("max_power", b"100", "max_power"),
            ("charge_enabled", b"maybe", "charge_enabled"),
            ("max_charge_w", b"-1", "max_charge_w"),
            ("max_charge_w", b"NaN", "max_charge_w"),
            ("max_discharge_w", b"70000", "max_discharge_w"),
            ("max_discharge_w", br#"{"value": 100, "ttl_s": 0}"#, "ttl_s"),
            ("max_discharge_w", br#"{"value": 100, "ttl": 5}"#, "ttl"),
            ("discharge_enabled", br#"{"ttl_s": 5}"#, "discharge_enabled"),
            ("discharge_enabled", br#"{"value": "#, "json"),
        ];
        let mut commands = Commands::default();
        for (name, payload, field) in cases {
            match validate(name, payload, 300_000) {
                Ok(c) => {
                    apply(c, Millis(0), &mut commands);
                    panic!("{name} {:?} accepted", String::from_utf8_lossy(payload));
                }
                Err(r) => {
                    let text = format!("{r:?}");
                    assert!(text.contains(field), "{name}: {text}");
                }
            }
        }
        assert_eq!(commands, Commands::default(), "nothing changed");
    }

    #[test]
    fn applied_commands_expire() {
        let mut c = Commands::default();
        apply(
            Command::MaxCharge(Watts(500), 10_000),
            Millis(5_000),
            &mut c,
        );
        assert_eq!(
            c.max_charge,
            Some(Timed {
                value: Watts(500),
                until: Millis(15_000)
            })
        );
    }
}
