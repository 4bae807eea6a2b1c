//! The TOML configuration: parsed with `voltwire_runtime::config` (unknown keys name the
//! field and the fix), then validated section by section into [`Settings`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use voltwire_bms_rules as rules;
use voltwire_core::{DeciCelsius, Millivolts, Permille, Watts};
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
/// them): every key optional; what is not given keeps its current value.
#[allow(missing_docs, reason = "each key is documented in the template")]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_count: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load1_on_soc_pv_low_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load1_on_soc_pv_high_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load1_off_soc_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load2_on_soc_pv_low_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load2_on_soc_pv_high_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load2_off_soc_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pv_high_w: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balancer_on_diff_v: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balancer_on_cell_v: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balancer_off_cell_v: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_bms_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_vedirect_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_sensor_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_voltage_trip_cell_v: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_voltage_recover_cell_v: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_diff_trip_v: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_diff_recover_v: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_temp_trip_c: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_temp_recover_c: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charger_temp_trip_c: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charger_temp_recover_c: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_hold_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_cell_diff_jump_v: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_soc_jump_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_voltage_jump_v: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_temp_jump_c: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_max_discards: Option<u8>,
}

/// A rule setting that cannot be used: the key and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The key, e.g. `cell_diff_recover_v`.
    pub field: String,
    /// What to change.
    pub fix: String,
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.fix)
    }
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "range-checked before the cast"
)]
fn scaled(field: &str, v: f64, factor: f64, min: f64, max: f64) -> Result<i64, SettingError> {
    if !v.is_finite() || v < min || v > max {
        return Err(SettingError {
            field: field.to_owned(),
            fix: format!("must be a number from {min} to {max}"),
        });
    }
    Ok((v * factor).round() as i64)
}

fn mv(field: &str, v: f64, max_v: f64) -> Result<Millivolts, SettingError> {
    scaled(field, v, 1000.0, 0.0, max_v).map(|x| Millivolts(i32::try_from(x).unwrap_or(i32::MAX)))
}

fn pct(field: &str, v: f64) -> Result<Permille, SettingError> {
    scaled(field, v, 10.0, 0.0, 100.0).map(|x| Permille(i16::try_from(x).unwrap_or(i16::MAX)))
}

fn celsius(field: &str, v: f64) -> Result<DeciCelsius, SettingError> {
    scaled(field, v, 10.0, -40.0, 120.0).map(|x| DeciCelsius(i16::try_from(x).unwrap_or(i16::MAX)))
}

fn secs(field: &str, v: u64) -> Result<u64, SettingError> {
    if v == 0 || v > 86_400 {
        return Err(SettingError {
            field: field.to_owned(),
            fix: "must be 1..=86400 s".into(),
        });
    }
    Ok(v * 1000)
}

/// The app key of a rules-crate field (for validation errors).
fn app_field(rules_field: &str) -> &'static str {
    match rules_field {
        "cell_count" => "cell_count",
        "chargers" => "charger",
        "loads[0].off_soc" => "load1_off_soc_pct",
        "loads[0].on_soc_pv_low" => "load1_on_soc_pv_low_pct",
        "loads[0].on_soc_pv_high" => "load1_on_soc_pv_high_pct",
        "loads[1].off_soc" => "load2_off_soc_pct",
        "loads[1].on_soc_pv_low" => "load2_on_soc_pv_low_pct",
        "loads[1].on_soc_pv_high" => "load2_on_soc_pv_high_pct",
        "pv_high" => "pv_high_w",
        "balancer.on_diff" => "balancer_on_diff_v",
        "balancer.off_cell" => "balancer_off_cell_v",
        "timeouts.bms" => "timeout_bms_s",
        "timeouts.vedirect" => "timeout_vedirect_s",
        "timeouts.sensor" => "timeout_sensor_s",
        "low_voltage.recover_cell" => "low_voltage_recover_cell_v",
        "cell_diff.recover" => "cell_diff_recover_v",
        "cell_temp.recover" => "cell_temp_recover_c",
        "charger_temp.recover" => "charger_temp_recover_c",
        "filters.cell_diff_jump" => "filter_cell_diff_jump_v",
        "filters.soc_jump" => "filter_soc_jump_pct",
        "filters.voltage_jump" => "filter_voltage_jump_v",
        "filters.temp_jump" => "filter_temp_jump_c",
        _ => "rules",
    }
}

impl RulesSettings {
    /// `base` with every given key applied, validated as a whole.
    ///
    /// # Errors
    /// The first key out of range, or the key the rules' validation names (e.g. a recovery
    /// threshold on the wrong side of its trip).
    #[allow(clippy::too_many_lines, reason = "one key after the other")]
    pub fn apply(&self, base: rules::Config) -> Result<rules::Config, SettingError> {
        let mut c = base;
        if let Some(v) = self.cell_count {
            c.cell_count = v;
        }
        for (i, (low, high, off)) in [
            (
                self.load1_on_soc_pv_low_pct,
                self.load1_on_soc_pv_high_pct,
                self.load1_off_soc_pct,
            ),
            (
                self.load2_on_soc_pv_low_pct,
                self.load2_on_soc_pv_high_pct,
                self.load2_off_soc_pct,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let names = if i == 0 {
                [
                    "load1_on_soc_pv_low_pct",
                    "load1_on_soc_pv_high_pct",
                    "load1_off_soc_pct",
                ]
            } else {
                [
                    "load2_on_soc_pv_low_pct",
                    "load2_on_soc_pv_high_pct",
                    "load2_off_soc_pct",
                ]
            };
            let Some(load) = c.loads.get_mut(i) else {
                continue;
            };
            if let Some(v) = low {
                load.on_soc_pv_low = pct(names[0], v)?;
            }
            if let Some(v) = high {
                load.on_soc_pv_high = pct(names[1], v)?;
            }
            if let Some(v) = off {
                load.off_soc = pct(names[2], v)?;
            }
        }
        if let Some(v) = self.pv_high_w {
            c.pv_high = Watts(v);
        }
        if let Some(v) = self.balancer_on_diff_v {
            c.balancer.on_diff = mv("balancer_on_diff_v", v, 1.0)?;
        }
        if let Some(v) = self.balancer_on_cell_v {
            c.balancer.on_cell = mv("balancer_on_cell_v", v, 5.0)?;
        }
        if let Some(v) = self.balancer_off_cell_v {
            c.balancer.off_cell = mv("balancer_off_cell_v", v, 5.0)?;
        }
        if let Some(v) = self.timeout_bms_s {
            c.timeouts.bms_ms = secs("timeout_bms_s", v)?;
        }
        if let Some(v) = self.timeout_vedirect_s {
            c.timeouts.vedirect_ms = secs("timeout_vedirect_s", v)?;
        }
        if let Some(v) = self.timeout_sensor_s {
            c.timeouts.sensor_ms = secs("timeout_sensor_s", v)?;
        }
        if let Some(v) = self.low_voltage_trip_cell_v {
            c.low_voltage_per_cell.trip = mv("low_voltage_trip_cell_v", v, 5.0)?;
        }
        if let Some(v) = self.low_voltage_recover_cell_v {
            c.low_voltage_per_cell.recover = mv("low_voltage_recover_cell_v", v, 5.0)?;
        }
        if let Some(v) = self.cell_diff_trip_v {
            c.cell_diff.trip = mv("cell_diff_trip_v", v, 1.0)?;
        }
        if let Some(v) = self.cell_diff_recover_v {
            c.cell_diff.recover = mv("cell_diff_recover_v", v, 1.0)?;
        }
        if let Some(v) = self.cell_temp_trip_c {
            c.cell_temp.trip = celsius("cell_temp_trip_c", v)?;
        }
        if let Some(v) = self.cell_temp_recover_c {
            c.cell_temp.recover = celsius("cell_temp_recover_c", v)?;
        }
        if let Some(v) = self.charger_temp_trip_c {
            c.charger_temp.trip = celsius("charger_temp_trip_c", v)?;
        }
        if let Some(v) = self.charger_temp_recover_c {
            c.charger_temp.recover = celsius("charger_temp_recover_c", v)?;
        }
        if let Some(v) = self.startup_hold_s {
            if v > 3600 {
                return Err(SettingError {
                    field: "startup_hold_s".into(),
                    fix: "must be 0..=3600 s".into(),
                });
            }
            c.startup_hold_ms = v * 1000;
        }
        if let Some(v) = self.filter_cell_diff_jump_v {
            c.filters.cell_diff_jump = mv("filter_cell_diff_jump_v", v, 1.0)?;
        }
        if let Some(v) = self.filter_soc_jump_pct {
            c.filters.soc_jump = pct("filter_soc_jump_pct", v)?;
        }
        if let Some(v) = self.filter_voltage_jump_v {
            c.filters.voltage_jump = mv("filter_voltage_jump_v", v, 100.0)?;
        }
        if let Some(v) = self.filter_temp_jump_c {
            c.filters.temp_jump = celsius("filter_temp_jump_c", v)?;
        }
        if let Some(v) = self.filter_max_discards {
            c.filters.max_discards = v;
        }
        c.validate().map_err(|e| SettingError {
            field: app_field(e.field).to_owned(),
            fix: e.fix.to_owned(),
        })?;
        Ok(c)
    }

    /// Every key, from a configuration (the retained echo on `<base>/config`).
    pub fn from_config(c: &rules::Config) -> Self {
        let p = |v: Permille| f64::from(v.0) / 10.0;
        let v = |v: Millivolts| f64::from(v.0) / 1000.0;
        let t = |v: DeciCelsius| f64::from(v.0) / 10.0;
        let [l1, l2] = c.loads;
        Self {
            cell_count: Some(c.cell_count),
            load1_on_soc_pv_low_pct: Some(p(l1.on_soc_pv_low)),
            load1_on_soc_pv_high_pct: Some(p(l1.on_soc_pv_high)),
            load1_off_soc_pct: Some(p(l1.off_soc)),
            load2_on_soc_pv_low_pct: Some(p(l2.on_soc_pv_low)),
            load2_on_soc_pv_high_pct: Some(p(l2.on_soc_pv_high)),
            load2_off_soc_pct: Some(p(l2.off_soc)),
            pv_high_w: Some(c.pv_high.0),
            balancer_on_diff_v: Some(v(c.balancer.on_diff)),
            balancer_on_cell_v: Some(v(c.balancer.on_cell)),
            balancer_off_cell_v: Some(v(c.balancer.off_cell)),
            timeout_bms_s: Some(c.timeouts.bms_ms / 1000),
            timeout_vedirect_s: Some(c.timeouts.vedirect_ms / 1000),
            timeout_sensor_s: Some(c.timeouts.sensor_ms / 1000),
            low_voltage_trip_cell_v: Some(v(c.low_voltage_per_cell.trip)),
            low_voltage_recover_cell_v: Some(v(c.low_voltage_per_cell.recover)),
            cell_diff_trip_v: Some(v(c.cell_diff.trip)),
            cell_diff_recover_v: Some(v(c.cell_diff.recover)),
            cell_temp_trip_c: Some(t(c.cell_temp.trip)),
            cell_temp_recover_c: Some(t(c.cell_temp.recover)),
            charger_temp_trip_c: Some(t(c.charger_temp.trip)),
            charger_temp_recover_c: Some(t(c.charger_temp.recover)),
            startup_hold_s: Some(c.startup_hold_ms / 1000),
            filter_cell_diff_jump_v: Some(v(c.filters.cell_diff_jump)),
            filter_soc_jump_pct: Some(p(c.filters.soc_jump)),
            filter_voltage_jump_v: Some(v(c.filters.voltage_jump)),
            filter_temp_jump_c: Some(t(c.filters.temp_jump)),
            filter_max_discards: Some(c.filters.max_discards),
        }
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
            .map_err(|e| bad(&format!("rules.{}", e.field), "not usable", &e.fix))?;
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
