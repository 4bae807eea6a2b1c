//! The TOML configuration: parsed with `voltwire_runtime::config` (unknown keys name the
//! field and the fix), then validated section by section into [`Settings`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use voltwire_bms_rules as rules;
use voltwire_runtime::config as rtconfig;
use voltwire_runtime::link::LinkUrl;
use voltwire_runtime::mqtt::{BrokerUrl, Topics};
use voltwire_runtime::web::WebConfig;

/// The commented template `--init` writes.
pub const TEMPLATE: &str = include_str!("template.toml");

/// The file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// `[bridge]`.
    #[serde(default)]
    pub bridge: BridgeFile,
    /// `[bms]`.
    pub bms: BmsFile,
    /// `[shunt]` (optional).
    pub shunt: Option<PortFile>,
    /// `[[charger]]` (0–2).
    #[serde(default)]
    pub charger: Vec<PortFile>,
    /// `[onewire]` (optional).
    pub onewire: Option<OneWireFile>,
    /// `[relays]`.
    #[serde(default)]
    pub relays: RelaysFile,
    /// `[rules]`: every key optional, defaults from the reference.
    #[serde(default)]
    pub rules: RulesSettings,
    /// `[mqtt]` (optional).
    pub mqtt: Option<MqttFile>,
    /// `[web]` (optional; off unless `enabled = true`).
    pub web: Option<WebFile>,
}

/// `[web]` (the runtime's, shared by every app with a status page) and the template's token
/// placeholder.
pub use voltwire_runtime::web::{TOKEN_PLACEHOLDER, WebSection as WebFile};

/// The template with a fresh random web token in place of [`TOKEN_PLACEHOLDER`].
///
/// # Errors
/// When no random token can be made (`/dev/urandom` unreadable).
pub fn template_with_token() -> Result<String, String> {
    voltwire_runtime::web::template_with_token(TEMPLATE)
}

/// `[bridge]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BridgeFile {
    /// How often the rules run (ms).
    pub tick_ms: u64,
    /// How often the state is published (s).
    pub state_every_s: u64,
}

impl Default for BridgeFile {
    fn default() -> Self {
        Self {
            tick_ms: 1000,
            state_every_s: 5,
        }
    }
}

/// `[bms]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BmsFile {
    /// `daly` (default), `jk` (JK "4E 57"), `jk-pb`, `pace` or `pylontech-rs485`.
    #[serde(default = "daly")]
    pub kind: String,
    /// Pace, Pylontech, JK-PB: the pack's address (ADR, 0–15; default 1 for Pace and JK-PB,
    /// 2 for Pylontech; JK-PB 1–15).
    pub address: Option<u8>,
    /// `serial:///dev/ttyUSB0?baud=9600` or `tcp://host:port`.
    pub url: String,
    /// `uart` (default) or `rs485`.
    #[serde(default = "uart")]
    pub variant: String,
    /// Poll period (s).
    #[serde(default = "five")]
    pub poll_s: u64,
}

fn daly() -> String {
    "daly".into()
}
fn uart() -> String {
    "uart".into()
}
const fn five() -> u64 {
    5
}

/// A VE.Direct port.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortFile {
    /// `serial:///dev/ttyUSB1?baud=19200` or `tcp://host:port`.
    pub url: String,
    /// Read the device over VE.Direct HEX every this many seconds instead of its TEXT
    /// stream (absent: TEXT, receive only).
    pub hex_poll_s: Option<u64>,
}

/// `[onewire]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneWireFile {
    /// The 1-Wire devices directory.
    #[serde(default = "w1_dir")]
    pub dir: PathBuf,
    /// Read period (s).
    #[serde(default = "ten")]
    pub poll_s: u64,
    /// Up to 4 sensors.
    pub sensors: Vec<SensorFile>,
}

fn w1_dir() -> PathBuf {
    PathBuf::from("/sys/bus/w1/devices")
}
const fn ten() -> u64 {
    10
}

/// One 1-Wire sensor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorFile {
    /// Its directory name, e.g. `28-0316a2795aff`.
    pub id: String,
    /// `cell` or `charger`.
    pub role: String,
}

/// `[relays]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaysFile {
    /// Load relay 1.
    #[serde(default)]
    pub load1: RelayFile,
    /// Load relay 2.
    #[serde(default)]
    pub load2: RelayFile,
    /// The balancer relay.
    #[serde(default)]
    pub balancer: RelayFile,
}

/// One relay's backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayFile {
    /// `sim` (logs only), `gpio` (a Linux GPIO line), `tasmota` or `shelly` (Gen2 RPC over
    /// MQTT).
    pub backend: String,
    /// GPIO: `gpio:///dev/gpiochip0?line=17[&active=low]`.
    pub url: Option<String>,
    /// Tasmota: the device topic (`cmnd/<topic>/POWER`); Shelly: the device's MQTT prefix
    /// (`<topic>/rpc`).
    pub topic: Option<String>,
    /// Shelly: the switch id (default 0).
    pub channel: Option<u8>,
}

impl Default for RelayFile {
    fn default() -> Self {
        Self {
            backend: "sim".into(),
            url: None,
            topic: None,
            channel: None,
        }
    }
}

/// `[mqtt]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttFile {
    /// `mqtt://user:pass@host:1883` or `mqtts://…`.
    pub url: String,
    /// Base topic.
    #[serde(default = "base")]
    pub base: String,
    /// Home Assistant discovery.
    #[serde(default = "yes")]
    pub discovery: bool,
    /// How long to wait for the retained config at start (s).
    #[serde(default = "three")]
    pub retained_config_wait_s: u64,
}

fn base() -> String {
    "voltwire/bms-bridge".into()
}
const fn yes() -> bool {
    true
}
const fn three() -> u64 {
    3
}

/// The rule settings in app units (the `[rules]` table and the MQTT `config` command share
/// them): every key optional; what is not given keeps its current value. The keys, units,
/// ranges and fixes are `voltwire_bms_rules::settings`' table (shared with the ESP32
/// firmware); this is its serde face for TOML and JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RulesSettings(pub Patch);

/// A rule setting that cannot be used: the key and the fix.
pub use voltwire_bms_rules::SettingError;
use voltwire_bms_rules::{Decimal, Patch, Setting, settings};

impl RulesSettings {
    /// `base` with every given key applied, validated as a whole.
    ///
    /// # Errors
    /// The first key out of range, or the key the rules' validation names (e.g. a recovery
    /// threshold on the wrong side of its trip).
    pub fn apply(&self, base: rules::Config) -> Result<rules::Config, SettingError> {
        self.0.apply(base)
    }

    /// Every key, from a configuration (the retained echo on `<base>/config`).
    pub fn from_config(c: &rules::Config) -> Self {
        Self(Patch::from_config(c))
    }
}

impl<'de> Deserialize<'de> for RulesSettings {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_map(PatchVisitor)
    }
}

struct PatchVisitor;

impl<'de> serde::de::Visitor<'de> for PatchVisitor {
    type Value = RulesSettings;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a table of rule settings")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut p = Patch::new();
        while let Some(key) = map.next_key::<String>()? {
            let Some(s) = Setting::from_name(&key) else {
                return Err(A::Error::unknown_field(&key, &settings::NAMES));
            };
            if p.get(s).is_some() {
                return Err(A::Error::duplicate_field(s.name()));
            }
            if let Some(Number(v)) = map.next_value::<Option<Number>>()? {
                p.set(s, v);
            }
        }
        Ok(RulesSettings(p))
    }
}

/// A number of the file or command, exact where it was written exactly.
struct Number(Decimal);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(Decimal::from_int(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(Decimal::from_u64(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                // The shortest text that reads back as `v` (`3.05`, not 3.04999…): the
                // number as written, exactly.
                Decimal::parse(&v.to_string())
                    .map(Number)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }
        de.deserialize_any(V)
    }
}

/// A relay backend, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayBackend {
    /// Logged only (tests, `--demo`, a dry run).
    Sim,
    /// A line of a Linux GPIO character device.
    Gpio(crate::gpio::GpioUrl),
    /// A Tasmota device: `cmnd/<topic>/POWER` `ON`/`OFF` on the bridge's broker.
    Tasmota {
        /// The device topic.
        topic: String,
    },
    /// A Shelly Gen2+ device: `Switch.Set` RPC on `<topic>/rpc`.
    Shelly {
        /// The device's MQTT prefix.
        topic: String,
        /// The switch id.
        channel: u8,
    },
}

/// Which BMS protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BmsKind {
    /// Daly (UART or RS485 board).
    Daly,
    /// Pace (RS485, protocol v25), one pack at this address.
    Pace {
        /// ADR, 0–15.
        address: u8,
    },
    /// Pylontech over RS485 (read only: no charge-MOSFET command), one module at this
    /// address.
    Pylontech {
        /// ADR, 0–15 (2 for the first module).
        address: u8,
    },
    /// JK BMS, "4E 57" protocol (RS485 adapter or GPS-port UART).
    Jk,
    /// JK-PB (inverter BMS) on RS485, at this DIP address.
    JkPb {
        /// DIP address, 1–15.
        address: u8,
    },
}

impl BmsKind {
    /// The configuration's name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            Self::Daly => "daly",
            Self::Pace { .. } => "pace",
            Self::Pylontech { .. } => "pylontech-rs485",
            Self::Jk => "jk",
            Self::JkPb { .. } => "jk-pb",
        }
    }
}

/// The BMS source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmsSettings {
    /// The protocol.
    pub kind: BmsKind,
    /// Where.
    pub url: LinkUrl,
    /// Daly board variant (current sign, host address).
    pub rs485: bool,
    /// Poll period.
    pub poll: Duration,
}

/// A VE.Direct device's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeDirectPort {
    /// Where.
    pub url: LinkUrl,
    /// `None`: its TEXT stream (receive only); `Some(period)`: HEX Gets every period.
    pub hex_poll: Option<Duration>,
}

/// 1-Wire sensors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneWireSettings {
    /// The devices directory.
    pub dir: PathBuf,
    /// Read period.
    pub poll: Duration,
    /// Sensor ids by slot.
    pub ids: Vec<String>,
}

/// MQTT, validated.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    /// Broker.
    pub url: BrokerUrl,
    /// Topics.
    pub topics: Topics,
    /// Home Assistant discovery.
    pub discovery: bool,
    /// Wait for the retained config at start.
    pub retained_wait: Duration,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rules tick period.
    pub tick: Duration,
    /// State publish period.
    pub state_every: Duration,
    /// The BMS.
    pub bms: BmsSettings,
    /// The SmartShunt.
    pub shunt: Option<VeDirectPort>,
    /// The chargers.
    pub chargers: Vec<VeDirectPort>,
    /// The 1-Wire sensors.
    pub onewire: Option<OneWireSettings>,
    /// Relay backends in [`rules::Relay::ALL`] order.
    pub relays: [RelayBackend; 3],
    /// The rules.
    pub rules: rules::Config,
    /// MQTT.
    pub mqtt: Option<MqttSettings>,
    /// The status page, JSON API and metrics (`None`: off).
    pub web: Option<WebConfig>,
}

impl Settings {
    /// Read, parse and validate the file at `path`.
    ///
    /// # Errors
    /// A message naming the file, line, field and fix.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = rtconfig::read(path).map_err(|e| e.to_string())?;
        Self::parse(&text, path)
    }

    /// Parse and validate `text` (`path` only for messages).
    ///
    /// # Errors
    /// As [`Settings::load`].
    #[allow(clippy::too_many_lines, reason = "one section after the other")]
    pub fn parse(text: &str, path: &Path) -> Result<Self, String> {
        let file: File = rtconfig::parse(text, path).map_err(|e| e.to_string())?;
        let bad = |field: &str, message: &str, fix: &str| {
            rtconfig::invalid(text, path, field, message, fix).to_string()
        };
        let b = &file.bridge;
        if !(100..=60_000).contains(&b.tick_ms) {
            return Err(bad(
                "bridge.tick_ms",
                "out of range",
                "use 100..=60000 ms (1000 is usual)",
            ));
        }
        if !(1..=3600).contains(&b.state_every_s) {
            return Err(bad(
                "bridge.state_every_s",
                "out of range",
                "use 1..=3600 s",
            ));
        }
        let kind = match (file.bms.kind.as_str(), file.bms.address) {
            ("daly", None) => BmsKind::Daly,
            ("jk", None) => BmsKind::Jk,
            (kind @ ("daly" | "jk"), Some(_)) => {
                return Err(bad(
                    "bms.address",
                    &format!("a {kind} BMS has no address setting here"),
                    "remove bms.address (it is for kind = \"pace\", \"pylontech-rs485\" or \"jk-pb\")",
                ));
            }
            ("jk-pb", a) => {
                let address = a.unwrap_or(1);
                if !(1..=15).contains(&address) {
                    return Err(bad(
                        "bms.address",
                        &format!("{address} is outside 1..=15"),
                        "set the PB's DIP switches to 1..=15 and give that address (0 makes the PB the bus master, which polls other packs itself)",
                    ));
                }
                BmsKind::JkPb { address }
            }
            (kind @ ("pace" | "pylontech-rs485"), a) => {
                let pace = kind == "pace";
                let address = a.unwrap_or(if pace { 1 } else { 2 });
                if address > 15 {
                    return Err(bad(
                        "bms.address",
                        &format!("{address} is outside 0..=15"),
                        "give the pack's address as set on its DIP switches (1 on a lone pack)",
                    ));
                }
                if pace {
                    BmsKind::Pace { address }
                } else {
                    BmsKind::Pylontech { address }
                }
            }
            (other, _) => {
                return Err(bad(
                    "bms.kind",
                    &format!("unknown BMS kind {other:?}"),
                    "use \"daly\", \"jk\", \"jk-pb\", \"pace\" or \"pylontech-rs485\"",
                ));
            }
        };
        if kind != BmsKind::Daly && file.bms.variant != "uart" {
            return Err(bad(
                "bms.variant",
                "variant is a Daly setting",
                "remove bms.variant for this kind (it is for \"daly\")",
            ));
        }
        let url = |field: &str, u: &str| -> Result<LinkUrl, String> {
            u.parse::<LinkUrl>().map_err(|e| {
                bad(
                    field,
                    &e.to_string(),
                    "e.g. serial:///dev/ttyUSB0?baud=9600",
                )
            })
        };
        let rs485 = match file.bms.variant.as_str() {
            "uart" => false,
            "rs485" => true,
            other => {
                return Err(bad(
                    "bms.variant",
                    &format!("unknown variant {other:?}"),
                    "use \"uart\" or \"rs485\"",
                ));
            }
        };
        if !(1..=600).contains(&file.bms.poll_s) {
            return Err(bad(
                "bms.poll_s",
                "out of range",
                "use 1..=600 s (5 is usual)",
            ));
        }
        let bms = BmsSettings {
            kind,
            url: url("bms.url", &file.bms.url)?,
            rs485,
            poll: Duration::from_secs(file.bms.poll_s),
        };
        let port = |field: &str, p: &PortFile| -> Result<VeDirectPort, String> {
            let hex_poll = match p.hex_poll_s {
                None => None,
                Some(s @ 1..=600) => Some(Duration::from_secs(s)),
                Some(_) => {
                    return Err(bad(
                        &format!("{field}.hex_poll_s"),
                        "out of range",
                        "use 1..=600 s (5 is usual), or remove it to read the TEXT stream",
                    ));
                }
            };
            Ok(VeDirectPort {
                url: url(&format!("{field}.url"), &p.url)?,
                hex_poll,
            })
        };
        let shunt = match &file.shunt {
            Some(p) => Some(port("shunt", p)?),
            None => None,
        };
        if file.charger.len() > rules::MAX_CHARGERS {
            return Err(bad(
                "charger[2]",
                "more than 2 chargers",
                "keep at most two [[charger]] tables",
            ));
        }
        let mut chargers = Vec::new();
        for (i, c) in file.charger.iter().enumerate() {
            chargers.push(port(&format!("charger[{i}]"), c)?);
        }
        let mut config = rules::Config {
            shunt: shunt.is_some(),
            chargers: u8::try_from(chargers.len()).unwrap_or(0),
            ..rules::Config::default()
        };
        let onewire = match &file.onewire {
            None => None,
            Some(w) => {
                if w.sensors.len() > rules::MAX_SENSORS {
                    return Err(bad(
                        "onewire.sensors",
                        "more than 4 sensors",
                        "list at most 4 sensors",
                    ));
                }
                if !(1..=600).contains(&w.poll_s) {
                    return Err(bad("onewire.poll_s", "out of range", "use 1..=600 s"));
                }
                let mut ids = Vec::new();
                for (i, s) in w.sensors.iter().enumerate() {
                    let role = match s.role.as_str() {
                        "cell" => rules::SensorRole::Cell,
                        "charger" => rules::SensorRole::Charger,
                        other => {
                            return Err(bad(
                                "onewire.sensors",
                                &format!("sensor {i}: unknown role {other:?}"),
                                "use role = \"cell\" or \"charger\"",
                            ));
                        }
                    };
                    if s.id.is_empty() || s.id.contains('/') || s.id.starts_with('.') {
                        return Err(bad(
                            "onewire.sensors",
                            &format!("sensor {i}: id {:?} is not a device name", s.id),
                            "use the directory name, e.g. id = \"28-0316a2795aff\"",
                        ));
                    }
                    if let Some(slot) = config.sensors.get_mut(i) {
                        *slot = Some(role);
                    }
                    ids.push(s.id.clone());
                }
                Some(OneWireSettings {
                    dir: w.dir.clone(),
                    poll: Duration::from_secs(w.poll_s),
                    ids,
                })
            }
        };
        let mqtt = match &file.mqtt {
            None => None,
            Some(m) => {
                let url = BrokerUrl::parse(&m.url).map_err(|e| {
                    bad(
                        "mqtt.url",
                        &e.to_string(),
                        "e.g. mqtt://user:pass@broker.lan:1883",
                    )
                })?;
                let topics =
                    Topics::new(&m.base).map_err(|e| bad("mqtt.base", &e.to_string(), e.fix))?;
                if m.retained_config_wait_s > 60 {
                    return Err(bad(
                        "mqtt.retained_config_wait_s",
                        "out of range",
                        "use 0..=60 s",
                    ));
                }
                Some(MqttSettings {
                    url,
                    topics,
                    discovery: m.discovery,
                    retained_wait: Duration::from_secs(m.retained_config_wait_s),
                })
            }
        };
        let relay = |name: &str, r: &RelayFile| -> Result<RelayBackend, String> {
            let field = format!("relays.{name}");
            let topic_ok = |t: &String| !t.is_empty() && !t.contains(['+', '#']);
            if r.backend != "gpio" && r.url.is_some() {
                return Err(bad(
                    &field,
                    &format!("a {} relay has no url", r.backend),
                    "remove url (it is for backend = \"gpio\")",
                ));
            }
            match (r.backend.as_str(), &r.topic) {
                ("sim", None) if r.channel.is_none() => Ok(RelayBackend::Sim),
                ("sim", _) => Err(bad(
                    &field,
                    "a sim relay has no topic or channel",
                    "remove them, or use backend = \"tasmota\" or \"shelly\"",
                )),
                ("gpio", topic) => {
                    if topic.is_some() || r.channel.is_some() {
                        return Err(bad(
                            &field,
                            "a gpio relay has no topic or channel",
                            "remove them; the line is in url = \"gpio:///dev/gpiochip0?line=17\"",
                        ));
                    }
                    let Some(u) = &r.url else {
                        return Err(bad(
                            &field,
                            "a gpio relay needs its line",
                            "add url = \"gpio:///dev/gpiochip0?line=17\" (&active=low for a relay that is on when the line is low)",
                        ));
                    };
                    let url = crate::gpio::GpioUrl::parse(u)
                        .map_err(|e| bad(&format!("{field}.url"), &e.message, e.fix))?;
                    Ok(RelayBackend::Gpio(url))
                }
                (kind @ ("tasmota" | "shelly"), Some(t)) if topic_ok(t) => {
                    if mqtt.is_none() {
                        return Err(bad(
                            &field,
                            &format!("a {kind} relay needs the [mqtt] broker"),
                            "add an [mqtt] section, or use backend = \"sim\"",
                        ));
                    }
                    if kind == "tasmota" {
                        if r.channel.is_some() || t.contains('/') {
                            return Err(bad(
                                &field,
                                "a tasmota relay has a plain device topic and no channel",
                                "e.g. topic = \"tasmota_4F2A1B\" (no `/`), no channel",
                            ));
                        }
                        Ok(RelayBackend::Tasmota { topic: t.clone() })
                    } else {
                        Ok(RelayBackend::Shelly {
                            topic: t.clone(),
                            channel: r.channel.unwrap_or(0),
                        })
                    }
                }
                ("tasmota" | "shelly", _) => Err(bad(
                    &field,
                    "this relay needs its device topic",
                    "add topic = \"tasmota_XXXXXX\" or \"shellyplus1-XXXXXXXXXXXX\" (no `+`, `#`)",
                )),
                (other, _) => Err(bad(
                    &field,
                    &format!("unknown backend {other:?}"),
                    "use backend = \"sim\", \"gpio\", \"tasmota\" or \"shelly\"",
                )),
            }
        };
        let relays = [
            relay("load1", &file.relays.load1)?,
            relay("load2", &file.relays.load2)?,
            relay("balancer", &file.relays.balancer)?,
        ];
        // One line drives one relay.
        for (i, a) in relays.iter().enumerate() {
            for (b, name) in relays
                .iter()
                .zip(["load1", "load2", "balancer"])
                .skip(i + 1)
            {
                if let (RelayBackend::Gpio(x), RelayBackend::Gpio(y)) = (a, b) {
                    if x.chip == y.chip && x.line == y.line {
                        return Err(bad(
                            &format!("relays.{name}.url"),
                            &format!(
                                "line {} of {} drives another relay too",
                                y.line,
                                y.chip.display()
                            ),
                            "give each relay its own line",
                        ));
                    }
                }
            }
        }
        // A GPIO relay needs a build that can open lines.
        for (r, name) in relays.iter().zip(["load1", "load2", "balancer"]) {
            if matches!(r, RelayBackend::Gpio(_)) && crate::gpio::chardev().is_none() {
                return Err(bad(
                    &format!("relays.{name}"),
                    "this build has no GPIO support",
                    "build bms-bridge on Linux with its default feature \"gpio\", or use another backend",
                ));
            }
        }
        let web = match &file.web {
            Some(w) => w
                .validate("bms-bridge")
                .map_err(|e| bad(&e.field, &e.message, &e.fix))?,
            None => None,
        };
        config = file
            .rules
            .apply(config)
            .map_err(|e| bad(&format!("rules.{}", e.field), "not usable", e.fix))?;
        Ok(Self {
            tick: Duration::from_millis(b.tick_ms),
            state_every: Duration::from_secs(b.state_every_s),
            bms,
            shunt,
            chargers,
            onewire,
            relays,
            rules: config,
            mqtt,
            web,
        })
    }
}
