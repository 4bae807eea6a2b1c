//! Home Assistant MQTT discovery: config payloads published retained under
//! `<prefix>/<component>/<node_id>/<object_id>/config` (prefix `homeassistant` by default).
//!
//! Every entity points at the node's availability topic (`online`/`offline`) and, by default,
//! at `<base>/state` with a `value_template` that picks its value out of the JSON state.
//! Switches, numbers and selects get the command topic `<base>/command/<object_id>` (or
//! `<base>/command/<name>` with [`Entity::command`], e.g. a select for a switch's mode).

use serde_json::{Map, Value, json};

use super::topics::{OFFLINE, ONLINE, Topics};

/// Home Assistant entity platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Component {
    /// `sensor`: a read-only value.
    Sensor,
    /// `binary_sensor`: a read-only on/off value (`ON`/`OFF`).
    BinarySensor,
    /// `switch`: an on/off value that can be commanded (`ON`/`OFF`).
    Switch,
    /// `number`: a numeric set point with `min`/`max`/`step`.
    Number,
    /// `select`: one of a fixed list of options (e.g. a relay's mode `on`/`off`/`auto`),
    /// commanded with the option's text.
    Select,
}

impl Component {
    /// The name used in the discovery topic.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sensor => "sensor",
            Self::BinarySensor => "binary_sensor",
            Self::Switch => "switch",
            Self::Number => "number",
            Self::Select => "select",
        }
    }
}

/// Home Assistant `state_class` of a sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateClass {
    /// `measurement`: an instantaneous value (voltage, current, temperature, SOC).
    Measurement,
    /// `total`: a total that may go up and down (net energy).
    Total,
    /// `total_increasing`: a monotonic counter that may reset (energy charged).
    TotalIncreasing,
}

impl StateClass {
    /// The JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Measurement => "measurement",
            Self::Total => "total",
            Self::TotalIncreasing => "total_increasing",
        }
    }
}

/// The `device` block shared by all entities of a node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
    /// Stable identifiers (at least one), e.g. `["voltwire_bms1"]`.
    pub identifiers: Vec<String>,
    /// Display name.
    pub name: String,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Firmware/software version.
    pub sw_version: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
}

impl Device {
    /// A device with one identifier and a name.
    pub fn new(identifier: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            identifiers: vec![identifier.into()],
            name: name.into(),
            ..Self::default()
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("identifiers".into(), json!(self.identifiers));
        m.insert("name".into(), json!(self.name));
        for (key, value) in [
            ("manufacturer", &self.manufacturer),
            ("model", &self.model),
            ("sw_version", &self.sw_version),
            ("serial_number", &self.serial_number),
        ] {
            if let Some(v) = value {
                m.insert(key.into(), json!(v));
            }
        }
        Value::Object(m)
    }
}

/// One entity to announce. Build with [`Entity::sensor`], [`Entity::binary_sensor`],
/// [`Entity::switch`], [`Entity::number`] or [`Entity::select`] and the builder methods.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    component: Component,
    object_id: String,
    name: String,
    device_class: Option<String>,
    unit: Option<String>,
    state_class: Option<StateClass>,
    value_template: Option<String>,
    state_topic: Option<String>,
    icon: Option<String>,
    category: Option<String>,
    range: Option<(f64, f64, f64)>,
    options: Vec<String>,
    command: Option<String>,
}

impl Entity {
    fn new(component: Component, object_id: &str, name: &str) -> Self {
        Self {
            component,
            object_id: object_id.to_owned(),
            name: name.to_owned(),
            device_class: None,
            unit: None,
            state_class: None,
            value_template: None,
            state_topic: None,
            icon: None,
            category: None,
            range: None,
            options: Vec::new(),
            command: None,
        }
    }

    /// A sensor; give it a `value_template` such as `{{ value_json.pack_voltage_v }}`.
    pub fn sensor(object_id: &str, name: &str) -> Self {
        Self::new(Component::Sensor, object_id, name)
    }

    /// A binary sensor; its `value_template` must render `ON` or `OFF`.
    pub fn binary_sensor(object_id: &str, name: &str) -> Self {
        Self::new(Component::BinarySensor, object_id, name)
    }

    /// A switch commanded with `ON`/`OFF` on `<base>/command/<object_id>`; its
    /// `value_template` must render `ON` or `OFF`.
    pub fn switch(object_id: &str, name: &str) -> Self {
        Self::new(Component::Switch, object_id, name)
    }

    /// A number set point in `min..=max` (steps of `step`) commanded with a plain number on
    /// `<base>/command/<object_id>`.
    pub fn number(object_id: &str, name: &str, min: f64, max: f64, step: f64) -> Self {
        let mut e = Self::new(Component::Number, object_id, name);
        e.range = Some((min, max, step));
        e
    }

    /// A select of `options` (sent as they are written) commanded on
    /// `<base>/command/<object_id>`; its `value_template` must render one of them.
    pub fn select(object_id: &str, name: &str, options: &[&str]) -> Self {
        let mut e = Self::new(Component::Select, object_id, name);
        e.options = options.iter().map(|o| (*o).to_owned()).collect();
        e
    }

    /// Send this entity's commands to `<base>/command/<name>` instead of
    /// `<base>/command/<object_id>` (switches, numbers and selects), e.g. a mode select
    /// `load1_mode` that commands `load1` like the switch `load1` does.
    #[must_use]
    pub fn command(mut self, name: &str) -> Self {
        self.command = Some(name.to_owned());
        self
    }

    /// Home Assistant `device_class` (e.g. `voltage`, `current`, `battery`, `temperature`).
    #[must_use]
    pub fn device_class(mut self, class: &str) -> Self {
        self.device_class = Some(class.to_owned());
        self
    }

    /// `unit_of_measurement` (e.g. `V`, `A`, `W`, `%`, `°C`).
    #[must_use]
    pub fn unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.to_owned());
        self
    }

    /// `state_class` (sensors only).
    #[must_use]
    pub fn state_class(mut self, class: StateClass) -> Self {
        self.state_class = Some(class);
        self
    }

    /// `value_template` applied to the state topic's payload.
    #[must_use]
    pub fn value_template(mut self, template: &str) -> Self {
        self.value_template = Some(template.to_owned());
        self
    }

    /// Read the value from this topic instead of `<base>/state`.
    #[must_use]
    pub fn state_topic(mut self, topic: &str) -> Self {
        self.state_topic = Some(topic.to_owned());
        self
    }

    /// `icon` (e.g. `mdi:battery`).
    #[must_use]
    pub fn icon(mut self, icon: &str) -> Self {
        self.icon = Some(icon.to_owned());
        self
    }

    /// `entity_category` (`config` or `diagnostic`).
    #[must_use]
    pub fn entity_category(mut self, category: &str) -> Self {
        self.category = Some(category.to_owned());
        self
    }

    /// The platform.
    pub fn component(&self) -> Component {
        self.component
    }

    /// The object id.
    pub fn object_id(&self) -> &str {
        &self.object_id
    }
}

/// An entity that cannot be announced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// A node or object id with characters Home Assistant does not accept in topics.
    #[error("discovery {what} `{id}` must be non-empty and use only A-Z a-z 0-9 _ -")]
    BadId {
        /// `node_id`, `object_id` or `command`.
        what: &'static str,
        /// The offending id.
        id: String,
    },
    /// A select without options, or with an empty or repeated option.
    #[error("select `{object_id}`: need at least one option, each non-empty and different")]
    BadOptions {
        /// The entity.
        object_id: String,
    },
    /// A number entity whose range is empty or whose step is not positive.
    #[error("number `{object_id}`: need finite min < max and step > 0")]
    BadRange {
        /// The entity.
        object_id: String,
    },
    /// The device has no identifier.
    #[error("device `{name}` needs at least one identifier")]
    NoIdentifier {
        /// The device name.
        name: String,
    },
    /// `state_class` on something other than a sensor.
    #[error("`{object_id}`: state_class is only valid for sensors")]
    StateClassNotSensor {
        /// The entity.
        object_id: String,
    },
}

impl DiscoveryError {
    /// Stable short code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadId { .. } => "bad_id",
            Self::BadRange { .. } => "bad_range",
            Self::BadOptions { .. } => "bad_options",
            Self::NoIdentifier { .. } => "no_identifier",
            Self::StateClassNotSensor { .. } => "state_class_not_sensor",
        }
    }
}

/// A discovery message: publish `payload` retained to `topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// `<prefix>/<component>/<node_id>/<object_id>/config`.
    pub topic: String,
    /// The JSON config.
    pub payload: String,
}

/// Builds discovery messages for the entities of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    prefix: String,
    node_id: String,
    device: Device,
    topics: Topics,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The checks of [`Discovery::config`] that need no topics: ids, state class, options.
fn check(entity: &Entity) -> Result<(), DiscoveryError> {
    if !valid_id(&entity.object_id) {
        return Err(DiscoveryError::BadId {
            what: "object_id",
            id: entity.object_id.clone(),
        });
    }
    if entity.command.as_deref().is_some_and(|c| !valid_id(c)) {
        return Err(DiscoveryError::BadId {
            what: "command",
            id: entity.command.clone().unwrap_or_default(),
        });
    }
    if entity.state_class.is_some() && entity.component != Component::Sensor {
        return Err(DiscoveryError::StateClassNotSensor {
            object_id: entity.object_id.clone(),
        });
    }
    if entity.component == Component::Select {
        let o = &entity.options;
        let distinct = o
            .iter()
            .enumerate()
            .all(|(i, x)| !x.is_empty() && !o.iter().skip(i + 1).any(|y| y == x));
        if o.is_empty() || !distinct {
            return Err(DiscoveryError::BadOptions {
                object_id: entity.object_id.clone(),
            });
        }
    }
    Ok(())
}

impl Discovery {
    /// Discovery for `node_id` (e.g. `voltwire_bms1`) whose topics live under `topics`.
    ///
    /// # Errors
    /// [`DiscoveryError::BadId`] for a bad `node_id`, [`DiscoveryError::NoIdentifier`] for a
    /// device without identifiers.
    pub fn new(node_id: &str, device: Device, topics: Topics) -> Result<Self, DiscoveryError> {
        if !valid_id(node_id) {
            return Err(DiscoveryError::BadId {
                what: "node_id",
                id: node_id.to_owned(),
            });
        }
        if device.identifiers.is_empty() {
            return Err(DiscoveryError::NoIdentifier { name: device.name });
        }
        Ok(Self {
            prefix: "homeassistant".to_owned(),
            node_id: node_id.to_owned(),
            device,
            topics,
        })
    }

    /// Use another discovery prefix than `homeassistant`.
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    /// The discovery topic of an entity.
    pub fn topic(&self, entity: &Entity) -> String {
        format!(
            "{}/{}/{}/{}/config",
            self.prefix,
            entity.component.as_str(),
            self.node_id,
            entity.object_id
        )
    }

    /// The discovery message for an entity.
    ///
    /// # Errors
    /// [`DiscoveryError`] for a bad object id, a bad number range or a misplaced state class.
    pub fn config(&self, entity: &Entity) -> Result<DiscoveryConfig, DiscoveryError> {
        check(entity)?;
        let mut m = Map::new();
        m.insert("name".into(), json!(entity.name));
        m.insert(
            "unique_id".into(),
            json!(format!("{}_{}", self.node_id, entity.object_id)),
        );
        m.insert(
            "state_topic".into(),
            json!(
                entity
                    .state_topic
                    .clone()
                    .unwrap_or_else(|| self.topics.state())
            ),
        );
        m.insert(
            "availability_topic".into(),
            json!(self.topics.availability()),
        );
        m.insert("payload_available".into(), json!(ONLINE));
        m.insert("payload_not_available".into(), json!(OFFLINE));
        for (key, value) in [
            ("device_class", &entity.device_class),
            ("unit_of_measurement", &entity.unit),
            ("value_template", &entity.value_template),
            ("icon", &entity.icon),
            ("entity_category", &entity.category),
        ] {
            if let Some(v) = value {
                m.insert(key.into(), json!(v));
            }
        }
        if let Some(class) = entity.state_class {
            m.insert("state_class".into(), json!(class.as_str()));
        }
        let command = entity.command.as_deref().unwrap_or(&entity.object_id);
        match entity.component {
            Component::Sensor => {}
            Component::BinarySensor => {
                m.insert("payload_on".into(), json!("ON"));
                m.insert("payload_off".into(), json!("OFF"));
            }
            Component::Switch => {
                m.insert(
                    "command_topic".into(),
                    json!(self.topics.named_command(command)),
                );
                m.insert("payload_on".into(), json!("ON"));
                m.insert("payload_off".into(), json!("OFF"));
                m.insert("state_on".into(), json!("ON"));
                m.insert("state_off".into(), json!("OFF"));
            }
            Component::Number => {
                let (min, max, step) = entity.range.unwrap_or((0.0, 0.0, 0.0));
                let ok = min.is_finite()
                    && max.is_finite()
                    && step.is_finite()
                    && min < max
                    && step > 0.0;
                if !ok {
                    return Err(DiscoveryError::BadRange {
                        object_id: entity.object_id.clone(),
                    });
                }
                m.insert(
                    "command_topic".into(),
                    json!(self.topics.named_command(command)),
                );
                m.insert("min".into(), json!(min));
                m.insert("max".into(), json!(max));
                m.insert("step".into(), json!(step));
                m.insert("mode".into(), json!("box"));
            }
            Component::Select => {
                m.insert(
                    "command_topic".into(),
                    json!(self.topics.named_command(command)),
                );
                m.insert("options".into(), json!(entity.options));
            }
        }
        m.insert("device".into(), self.device.to_json());
        m.insert(
            "origin".into(),
            json!({"name": "voltwire", "sw_version": env!("CARGO_PKG_VERSION")}),
        );
        Ok(DiscoveryConfig {
            topic: self.topic(entity),
            payload: Value::Object(m).to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc() -> Discovery {
        let mut dev = Device::new("vw_bms1", "BMS 1");
        dev.manufacturer = Some("Daly".into());
        Discovery::new("vw_bms1", dev, Topics::new("vw/bms1").unwrap()).unwrap()
    }

    #[test]
    fn sensor_config() {
        let e = Entity::sensor("pack_voltage", "Pack voltage")
            .device_class("voltage")
            .unit("V")
            .state_class(StateClass::Measurement)
            .value_template("{{ value_json.pack_voltage_v }}");
        let c = disc().config(&e).unwrap();
        assert_eq!(c.topic, "homeassistant/sensor/vw_bms1/pack_voltage/config");
        let v: Value = serde_json::from_str(&c.payload).unwrap();
        assert_eq!(v["unique_id"], "vw_bms1_pack_voltage");
        assert_eq!(v["state_topic"], "vw/bms1/state");
        assert_eq!(v["availability_topic"], "vw/bms1/availability");
        assert_eq!(v["device_class"], "voltage");
        assert_eq!(v["unit_of_measurement"], "V");
        assert_eq!(v["state_class"], "measurement");
        assert_eq!(v["device"]["identifiers"][0], "vw_bms1");
        assert_eq!(v["device"]["manufacturer"], "Daly");
        assert!(v.get("command_topic").is_none());
    }

    #[test]
    fn number_and_switch() {
        let d = disc();
        let num = d
            .config(&Entity::number("max_charge_current", "Max charge", 0.0, 100.0, 0.5).unit("A"))
            .unwrap();
        assert_eq!(
            num.topic,
            "homeassistant/number/vw_bms1/max_charge_current/config"
        );
        let v: Value = serde_json::from_str(&num.payload).unwrap();
        assert_eq!(v["command_topic"], "vw/bms1/command/max_charge_current");
        assert_eq!(
            (v["min"].as_f64(), v["max"].as_f64(), v["step"].as_f64()),
            (Some(0.0), Some(100.0), Some(0.5))
        );
        let sw = d.config(&Entity::switch("charge", "Charge")).unwrap();
        let v: Value = serde_json::from_str(&sw.payload).unwrap();
        assert_eq!(v["command_topic"], "vw/bms1/command/charge");
        assert_eq!(v["payload_on"], "ON");
        let bin = d.config(&Entity::binary_sensor("alarm", "Alarm")).unwrap();
        assert_eq!(
            bin.topic,
            "homeassistant/binary_sensor/vw_bms1/alarm/config"
        );
        assert!(
            d.clone()
                .with_prefix("ha")
                .topic(&Entity::sensor("x", "X"))
                .starts_with("ha/sensor/")
        );
    }

    #[test]
    fn select_config() {
        let d = disc();
        let e = Entity::select("load1_mode", "load1 mode", &["on", "off", "auto"])
            .command("load1")
            .value_template("{{ value_json.relays.load1.mode }}");
        let c = d.config(&e).unwrap();
        assert_eq!(c.topic, "homeassistant/select/vw_bms1/load1_mode/config");
        let v: Value = serde_json::from_str(&c.payload).unwrap();
        assert_eq!(v["command_topic"], "vw/bms1/command/load1");
        assert_eq!(v["options"], json!(["on", "off", "auto"]));
        assert_eq!(v["state_topic"], "vw/bms1/state");
        assert_eq!(v["value_template"], "{{ value_json.relays.load1.mode }}");
        assert_eq!(v["unique_id"], "vw_bms1_load1_mode");
        assert!(v.get("payload_on").is_none());
        // Without `command`, the object id names the command; `command` works for switches too.
        let plain = d
            .config(&Entity::select("mode", "Mode", &["a", "b"]))
            .unwrap();
        let v: Value = serde_json::from_str(&plain.payload).unwrap();
        assert_eq!(v["command_topic"], "vw/bms1/command/mode");
        let sw = d
            .config(&Entity::switch("load1_switch", "load1").command("load1"))
            .unwrap();
        let v: Value = serde_json::from_str(&sw.payload).unwrap();
        assert_eq!(v["command_topic"], "vw/bms1/command/load1");
        for bad in [&[][..], &["on", "on"][..], &["on", ""][..]] {
            assert_eq!(
                d.config(&Entity::select("m", "m", bad)).unwrap_err().code(),
                "bad_options",
                "{bad:?}"
            );
        }
        assert_eq!(
            d.config(&Entity::select("m", "m", &["a"]).command("a/b"))
                .unwrap_err()
                .code(),
            "bad_id"
        );
    }

    #[test]
    fn errors() {
        let d = disc();
        assert_eq!(
            d.config(&Entity::sensor("a/b", "x")).unwrap_err().code(),
            "bad_id"
        );
        assert_eq!(
            d.config(&Entity::number("n", "n", 5.0, 5.0, 1.0))
                .unwrap_err()
                .code(),
            "bad_range"
        );
        assert_eq!(
            d.config(&Entity::number("n", "n", 0.0, 5.0, 0.0))
                .unwrap_err()
                .code(),
            "bad_range"
        );
        assert_eq!(
            d.config(&Entity::switch("s", "s").state_class(StateClass::Total))
                .unwrap_err()
                .code(),
            "state_class_not_sensor"
        );
        let t = Topics::new("a").unwrap();
        assert_eq!(
            Discovery::new("bad id", Device::new("i", "n"), t.clone())
                .unwrap_err()
                .code(),
            "bad_id"
        );
        let dev = Device {
            name: "n".into(),
            ..Device::default()
        };
        assert_eq!(
            Discovery::new("ok", dev, t).unwrap_err().code(),
            "no_identifier"
        );
    }
}
