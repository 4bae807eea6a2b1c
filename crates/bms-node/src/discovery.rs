//! Home Assistant MQTT discovery of the node: the same entities, topics and payloads as
//! the Linux bms-bridge (state sensors, alarm and charge-MOSFET binary sensors, a switch
//! and a mode select per relay), written one message at a time into fixed buffers (no
//! allocation; a test in the Linux app compares both sets for the same base).
//!
//! Topic: `homeassistant/<component>/<node_id>/<object_id>/config`, where `node_id` is the
//! base topic with `/` replaced by `_`. Publish each [`message`] retained after connecting.

use core::fmt::Write as _;

use heapless::String;
use voltwire_bms_rules::topics;
use voltwire_bms_rules::{Mode, Relay};

use crate::json::Json;
use crate::node::{Publication, TOPIC_LEN};

/// How many discovery messages there are.
pub const COUNT: usize = SENSORS.len() + 2 + 2 * Relay::ALL.len();

/// The discovery prefix Home Assistant listens on.
pub const PREFIX: &str = "homeassistant";

/// A state sensor: object id (= its key in the state JSON), name, device class, unit.
const SENSORS: [(&str, &str, &str, &str); 7] = [
    ("soc_pct", "State of charge", "battery", "%"),
    ("voltage_v", "Voltage", "voltage", "V"),
    ("current_a", "Current", "current", "A"),
    ("cell_diff_v", "Cell difference", "voltage", "V"),
    ("cell_temp_c", "Cell temperature", "temperature", "°C"),
    ("charger_temp_c", "Charger temperature", "temperature", "°C"),
    ("pv_power_w", "PV power", "power", "W"),
];

/// What one entity is.
enum Entity {
    Sensor(&'static str, &'static str, &'static str, &'static str),
    Binary {
        id: &'static str,
        name: &'static str,
        class: Option<&'static str>,
    },
    Switch(Relay),
    Select(Relay),
}

fn entity(i: usize) -> Option<Entity> {
    let n = SENSORS.len();
    let relays = Relay::ALL.len();
    if let Some(&(id, name, class, unit)) = SENSORS.get(i) {
        return Some(Entity::Sensor(id, name, class, unit));
    }
    match i - n {
        0 => Some(Entity::Binary {
            id: "alarm",
            name: "Alarm",
            class: Some("problem"),
        }),
        1 => Some(Entity::Binary {
            id: "charge_mosfet",
            name: "Charge MOSFET",
            class: None,
        }),
        k if k - 2 < relays => Relay::ALL.get(k - 2).copied().map(Entity::Switch),
        k => Relay::ALL.get(k - 2 - relays).copied().map(Entity::Select),
    }
}

/// Whether `base` makes a usable node id (letters, digits, `_`, `-` once `/` became `_`),
/// as the Linux bridge requires.
fn node_id_ok(base: &str) -> bool {
    !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/'))
}

/// The base topic as a node id (`voltwire/bms1` → `voltwire_bms1`).
fn write_node_id<W: core::fmt::Write>(out: &mut W, base: &str) -> core::fmt::Result {
    for c in base.chars() {
        out.write_char(if c == '/' { '_' } else { c })?;
    }
    Ok(())
}

/// The `i`-th discovery message (`0..COUNT`) of the node under `base`; `None` past the end,
/// for a base that makes no valid node id, or when a topic or payload does not fit.
#[allow(
    clippy::too_many_lines,
    reason = "the fields in the Linux bridge's order, one after the other"
)]
pub fn message(base: &str, index: usize) -> Option<Publication> {
    if !node_id_ok(base) {
        return None;
    }
    let ent = entity(index)?;
    let (component, object_id): (&str, &str) = match &ent {
        Entity::Sensor(id, ..) => ("sensor", id),
        Entity::Binary { id, .. } => ("binary_sensor", id),
        Entity::Switch(r) => ("switch", r.name()),
        Entity::Select(_) => ("select", ""),
    };
    let mut object: String<24> = String::new();
    match &ent {
        Entity::Select(r) => write!(object, "{}_mode", r.name()).ok()?,
        _ => object.push_str(object_id).ok()?,
    }
    let mut topic: String<TOPIC_LEN> = String::new();
    write!(topic, "{PREFIX}/{component}/").ok()?;
    write_node_id(&mut topic, base).ok()?;
    write!(topic, "/{object}/config").ok()?;

    let mut text: String<TOPIC_LEN> = String::new();
    let mut json = Json::object();
    match &ent {
        Entity::Sensor(_, name, ..) | Entity::Binary { name, .. } => json.str("name", name),
        Entity::Switch(r) => json.str("name", r.name()),
        Entity::Select(r) => {
            let mut name: String<24> = String::new();
            write!(name, "{} mode", r.name()).ok()?;
            json.str("name", &name);
        }
    }
    write_node_id(&mut text, base).ok()?;
    write!(text, "_{object}").ok()?;
    json.str("unique_id", &text);
    text.clear();
    topics::write_topic(&mut text, base, topics::STATE).ok()?;
    json.str("state_topic", &text);
    text.clear();
    topics::write_topic(&mut text, base, topics::AVAILABILITY).ok()?;
    json.str("availability_topic", &text);
    json.str("payload_available", topics::ONLINE);
    json.str("payload_not_available", topics::OFFLINE);
    let mut template: String<64> = String::new();
    match &ent {
        Entity::Sensor(id, _, class, unit) => {
            json.str("device_class", class);
            json.str("unit_of_measurement", unit);
            write!(template, "{{{{ value_json.{id} }}}}").ok()?;
            json.str("value_template", &template);
            json.str("state_class", "measurement");
        }
        Entity::Binary { id, class, .. } => {
            if let Some(class) = class {
                json.str("device_class", class);
            }
            write!(template, "{{{{ 'ON' if value_json.{id} else 'OFF' }}}}").ok()?;
            json.str("value_template", &template);
            json.str("payload_on", "ON");
            json.str("payload_off", "OFF");
        }
        Entity::Switch(r) => {
            write!(
                template,
                "{{{{ 'ON' if value_json.relays.{}.on else 'OFF' }}}}",
                r.name()
            )
            .ok()?;
            json.str("value_template", &template);
            text.clear();
            topics::write_command_topic(&mut text, base, r.name()).ok()?;
            json.str("command_topic", &text);
            json.str("payload_on", "ON");
            json.str("payload_off", "OFF");
            json.str("state_on", "ON");
            json.str("state_off", "OFF");
        }
        Entity::Select(r) => {
            write!(template, "{{{{ value_json.relays.{}.mode }}}}", r.name()).ok()?;
            json.str("value_template", &template);
            json.str("icon", "mdi:tune-variant");
            text.clear();
            topics::write_command_topic(&mut text, base, r.name()).ok()?;
            json.str("command_topic", &text);
            json.open_array("options");
            for mode in [Mode::On, Mode::Off, Mode::Auto] {
                json.item_str(mode.name());
            }
            json.close_array();
        }
    }
    json.open("device");
    json.open_array("identifiers");
    text.clear();
    text.push_str("voltwire_").ok()?;
    write_node_id(&mut text, base).ok()?;
    json.item_str(&text);
    json.close_array();
    json.str("name", "bms-bridge");
    json.str("manufacturer", "voltwire");
    json.close();
    json.open("origin");
    json.str("name", "voltwire");
    json.str("sw_version", env!("CARGO_PKG_VERSION"));
    json.close();
    let payload = json.finish();
    if payload.as_str() == crate::json::TRUNCATED {
        return None;
    }
    Some(Publication {
        topic,
        payload,
        retain: true,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test")]
    use super::*;

    #[test]
    fn every_message_fits_and_the_set_ends() {
        // The longest base topic the node takes.
        let base = "voltwire/a-rather-long-base-topic/of-48-chars-xx";
        assert_eq!(base.len(), crate::node::BASE_LEN);
        for i in 0..COUNT {
            let m = message(base, i).unwrap();
            assert!(m.retain);
            assert!(m.topic.ends_with("/config"), "{}", m.topic);
        }
        assert!(message(base, COUNT).is_none());
        assert!(message("bad base", 0).is_none(), "not a node id");
        assert_eq!(COUNT, 15);
    }
}
