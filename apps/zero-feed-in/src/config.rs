//! The TOML configuration: sections as written, validated into exact units. Every error
//! names the field and the fix.

use std::path::Path;

use serde::Deserialize;
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille, Watts};
use voltwire_runtime::link::LinkUrl;
use voltwire_zero_feed_in_rules::{
    BatteryConfig, Config as Control, CurrentRange, DeviceConfig, MAX_DEVICES, Role,
};

use crate::meter::Reading;

/// The commented template `--init` writes.
pub const TEMPLATE: &str = r#"# zero-feed-in configuration. Grid power: positive = import. Battery power: positive = charging.

[control]
target_grid_w = 0          # the grid power to hold
window = 1                 # moving average over N meter readings (1..16)
charge_deadband_w = 10
discharge_deadband_w = 15
tick_ms = 1000             # the control loop's own clock
meter_timeout_s = 10       # meter older than this -> chargers off, dischargers to base_load_w
battery_timeout_s = 10     # battery reading older than this -> everything off
device_timeout_s = 10      # a device silent this long is excluded (alarm), the others go on
hold_s = 3                 # fresh data for this long before a stale source is trusted again
base_load_w = 0            # discharge held while the meter is stale (0 = off)

[meter]
kind = "mqtt"              # mqtt | shelly_em | shelly_em1 | shelly_gen1 | http_json
broker = "mqtt://localhost:1883"   # kind = mqtt; TLS: mqtts://host:8883?ca=/etc/ssl/broker-ca.pem (no ca=: system roots)
topic = "tele/meter/SENSOR"        # kind = mqtt (Tasmota SML: tele/<t>/SENSOR)
pointer = "/SML/Power_curr"        # JSON pointer to the power; "" = the payload is a number
# url = "http://192.168.1.50"      # shelly_* (the /rpc or /status path is added) and http_json (full URL)
invert = false             # true when the meter reports export as positive
interval_s = 1             # HTTP polling interval

[battery]
source = "mqtt"            # mqtt (a JSON state: voltage_v, current_a, soc_pct, ...) | none
                           # | daly | jk | jk_pb | pace | pylontech (read directly, see port)
                           # | coulomb (Eco-Worthy coulomb meter, Modbus RTU: SOC, V, I; no cells)
broker = "mqtt://localhost:1883"   # source = mqtt
topic = "voltwire/bms/state"       # source = mqtt
# port = "serial:///dev/ttyUSB2?baud=9600"   # a BMS read directly (or tcp://host:port)
# address = 1              # pace / jk_pb / coulomb: 1 (or 0 for a lone Pace pack); pylontech: 2
# poll_s = 1               # how often the BMS is read
cells = 16
charge_voltage_v = 55.2
restart_voltage_v = 53.6
min_soc_pct = 10
restart_soc_pct = 15
max_cell_v = 3.55
min_cell_v = 2.90
charge_max_c = 45
charge_min_c = 0           # LFP: no charging below 0 °C
discharge_max_c = 55
discharge_min_c = -20

[mqtt]                     # optional: state, Home Assistant discovery, commands
broker = "mqtt://localhost:1883"
base = "zero-feed-in"      # <base>/state, <base>/command/<name>, <base>/command/result
discovery = true
discovery_prefix = "homeassistant"
command_ttl_s = 300        # how long a command without its own ttl_s acts

[[device]]
kind = "soyosource"        # soyosource (RS485 demand frames) | lumentree | trucki | bic2200 | npb
port = "serial:///dev/ttyUSB0?baud=4800"
min_discharge_w = 0
max_discharge_w = 900

# [[device]]
# kind = "lumentree"       # SUN-600/1000/2000, Modbus RTU; re-zeroed whenever it (re)appears
# port = "serial:///dev/ttyUSB1?baud=9600"   # or tcp://host:port (RTU over TCP)
# model = "LT1000"
# address = 1
# max_discharge_w = 1000

# [[device]]
# kind = "trucki"          # Trucki's RS485 board on a SUN-GTIL2: register 0 = set point (0.1 W)
# port = "serial:///dev/ttyUSB3?baud=9600"   # or tcp://host:port (RTU over TCP)
# address = 1
# max_discharge_w = 2000   # the inverter's rating

# [[device]]
# kind = "bic2200"         # or "npb" (a charger: CURVE_CC / CURVE_CV); set points to RAM when the EEPROM-write-disable bit reads back set,
#                          # else at most eeprom_writes_per_min (2.3) and eeprom_rated_writes
# bus = "slcan:///dev/ttyACM0?bitrate=250000"   # or socketcan://can0 (feature socketcan)
# model = "BIC-2200-48"
# id = 0
# max_charge_w = 2000
# max_discharge_w = 2000
# eeprom_state_file = "/var/lib/zero-feed-in/bic0.writes"   # lifetime write count (atomic)
# voltage_trim = false     # npb only: below its minimum current, charge at that current as a cap with
#                          # CURVE_CV trimmed just above the battery (never above cells × max_cell_v nor
#                          # the charge voltage, never below the battery at rest); off when a limit acts
# trim_step_v = 0.01       # one CV step (a multiple of 0.01 V)
# trim_interval_s = 10     # at most one step (one write; EEPROM mode: within eeprom_writes_per_min) per interval
# trim_deadband_w = 20     # step only when the NPB delivers this far from the surplus

[web]
enabled = false            # true: the status page, JSON API and metrics at http://127.0.0.1:8080/
bind = "127.0.0.1"         # this machine only; 0.0.0.0 opens it to the network (keep a token, firewall it)
port = 8080
token = "REPLACE-WITH-A-RANDOM-TOKEN-run-init"  # commands over HTTP need `Authorization: Bearer <token>`
# token_file = "/etc/zero-feed-in/web-token"    # or read the token from a file (first line)
# token_env = "ZERO_FEED_IN_WEB_TOKEN"           # or from an environment variable (use one of the three)
protect_reads = false      # true: /api/* and /metrics need the token too (the page itself stays open)
rate_limit_per_s = 20      # requests per second per client (bursts of twice that), else 429
"#;

/// The template with a fresh random web token in place of the placeholder (what `--init`
/// writes).
///
/// # Errors
/// When no random token can be made (`/dev/urandom` unreadable).
pub fn template_with_token() -> Result<String, String> {
    voltwire_runtime::web::template_with_token(TEMPLATE)
}

/// `[control]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs, reason = "documented in the template")]
pub struct ControlSection {
    pub target_grid_w: i32,
    pub window: usize,
    pub charge_deadband_w: i32,
    pub discharge_deadband_w: i32,
    pub tick_ms: u64,
    pub meter_timeout_s: f64,
    pub battery_timeout_s: f64,
    pub device_timeout_s: f64,
    pub hold_s: f64,
    pub base_load_w: i32,
}

impl Default for ControlSection {
    fn default() -> Self {
        Self {
            target_grid_w: 0,
            window: 1,
            charge_deadband_w: 10,
            discharge_deadband_w: 15,
            tick_ms: 1000,
            meter_timeout_s: 10.0,
            battery_timeout_s: 10.0,
            device_timeout_s: 10.0,
            hold_s: 3.0,
            base_load_w: 0,
        }
    }
}

/// `[meter]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "documented in the template")]
pub struct MeterSection {
    pub kind: String,
    pub broker: Option<String>,
    pub topic: Option<String>,
    #[serde(default)]
    pub pointer: String,
    pub url: Option<String>,
    #[serde(default)]
    pub invert: bool,
    #[serde(default = "one")]
    pub interval_s: f64,
}

const fn one() -> f64 {
    1.0
}

/// `[battery]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "documented in the template")]
pub struct BatterySection {
    pub source: String,
    pub broker: Option<String>,
    pub topic: Option<String>,
    pub port: Option<String>,
    pub address: Option<u8>,
    #[serde(default = "one")]
    pub poll_s: f64,
    pub cells: u8,
    pub charge_voltage_v: f64,
    pub restart_voltage_v: f64,
    #[serde(default = "ten")]
    pub min_soc_pct: f64,
    #[serde(default = "fifteen")]
    pub restart_soc_pct: f64,
    #[serde(default = "max_cell")]
    pub max_cell_v: f64,
    #[serde(default = "min_cell")]
    pub min_cell_v: f64,
    #[serde(default = "c45")]
    pub charge_max_c: f64,
    #[serde(default)]
    pub charge_min_c: f64,
    #[serde(default = "c55")]
    pub discharge_max_c: f64,
    #[serde(default = "cm20")]
    pub discharge_min_c: f64,
}

const fn ten() -> f64 {
    10.0
}
const fn fifteen() -> f64 {
    15.0
}
const fn max_cell() -> f64 {
    3.55
}
const fn min_cell() -> f64 {
    2.90
}
const fn c45() -> f64 {
    45.0
}
const fn c55() -> f64 {
    55.0
}
const fn cm20() -> f64 {
    -20.0
}

/// `[[device]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "documented in the template")]
pub struct DeviceSection {
    pub kind: String,
    pub port: Option<String>,
    pub bus: Option<String>,
    pub model: Option<String>,
    #[serde(default)]
    pub id: u8,
    #[serde(default = "default_address")]
    pub address: u8,
    #[serde(default)]
    pub min_charge_w: i32,
    #[serde(default)]
    pub max_charge_w: i32,
    #[serde(default)]
    pub min_discharge_w: i32,
    #[serde(default)]
    pub max_discharge_w: i32,
    #[serde(default = "default_writes_per_min")]
    pub eeprom_writes_per_min: f64,
    #[serde(default = "default_rated_writes")]
    pub eeprom_rated_writes: u64,
    pub eeprom_state_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pub voltage_trim: bool,
    #[serde(default = "default_trim_step_v")]
    pub trim_step_v: f64,
    #[serde(default = "default_trim_interval_s")]
    pub trim_interval_s: f64,
    #[serde(default = "default_trim_deadband_w")]
    pub trim_deadband_w: i32,
}

const fn default_trim_step_v() -> f64 {
    0.01
}
const fn default_trim_interval_s() -> f64 {
    10.0
}
const fn default_trim_deadband_w() -> i32 {
    20
}

const fn default_address() -> u8 {
    1
}
const fn default_writes_per_min() -> f64 {
    2.3
}
const fn default_rated_writes() -> u64 {
    1_000_000
}

/// `[mqtt]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "documented in the template")]
pub struct MqttSection {
    pub broker: String,
    #[serde(default = "default_base")]
    pub base: String,
    #[serde(default = "yes")]
    pub discovery: bool,
    #[serde(default = "default_prefix")]
    pub discovery_prefix: String,
    #[serde(default = "default_ttl")]
    pub command_ttl_s: f64,
}

fn default_base() -> String {
    "zero-feed-in".into()
}
const fn yes() -> bool {
    true
}
fn default_prefix() -> String {
    "homeassistant".into()
}
const fn default_ttl() -> f64 {
    300.0
}

/// The validated `[mqtt]` section.
#[derive(Debug, Clone)]
pub struct Mqtt {
    /// Broker.
    pub broker: voltwire_runtime::mqtt::BrokerUrl,
    /// Topic layout.
    pub topics: voltwire_runtime::mqtt::Topics,
    /// Publish Home Assistant discovery.
    pub discovery: bool,
    /// Discovery prefix.
    pub discovery_prefix: String,
    /// Default command TTL.
    pub command_ttl_ms: u64,
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// `[control]`.
    #[serde(default)]
    pub control: ControlSection,
    /// `[meter]`.
    pub meter: MeterSection,
    /// `[battery]`.
    pub battery: BatterySection,
    /// `[[device]]`.
    #[serde(default, rename = "device")]
    pub devices: Vec<DeviceSection>,
    /// `[mqtt]`.
    pub mqtt: Option<MqttSection>,
    /// `[web]`: the shared status page (off unless the section is present and enabled).
    pub web: Option<voltwire_runtime::web::WebSection>,
}

/// Where the meter is read.
#[derive(Debug, Clone, PartialEq)]
pub enum MeterSource {
    /// An MQTT topic.
    Mqtt {
        /// Broker URL.
        broker: String,
        /// Topic.
        topic: String,
    },
    /// HTTP polling.
    Http {
        /// Full URL.
        url: String,
        /// Polling interval in ms.
        interval_ms: u64,
    },
}

/// Where the battery is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatterySource {
    /// A JSON state on an MQTT topic.
    Mqtt {
        /// Broker URL.
        broker: String,
        /// Topic.
        topic: String,
    },
    /// A BMS read directly over a serial or TCP link.
    Bms(crate::bms::Bms),
    /// No BMS: voltage-only limits (warned at start-up).
    None,
}

/// A device to drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceKind {
    /// A Soyosource GTN on a serial port or TCP bridge.
    Soyosource(LinkUrl),
    /// A Mean Well BIC-2200 on a CAN bus.
    Bic(crate::meanwell::Bic),
    /// A Lumentree SUN over Modbus RTU.
    Lumentree(crate::lumentree::Lumentree),
    /// Trucki's board on a SUN-GTIL2 over Modbus RTU.
    Trucki(crate::trucki::Trucki),
}

/// The validated configuration, in exact units.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The controller's settings.
    pub control: Control,
    /// The loop period in ms.
    pub tick_ms: u64,
    /// The meter.
    pub meter: MeterSource,
    /// How a meter payload is read.
    pub reading: Reading,
    /// The meter reports export as positive.
    pub invert: bool,
    /// The battery.
    pub battery: BatterySource,
    /// The devices, in priority order.
    pub devices: Vec<(DeviceKind, DeviceConfig)>,
    /// MQTT state and commands.
    pub mqtt: Option<Mqtt>,
    /// The status page, JSON API and metrics, when enabled.
    pub web: Option<voltwire_runtime::web::WebConfig>,
}

/// A configuration value that is wrong: the field, what is wrong, the fix (the runtime's).
pub use voltwire_runtime::config::Invalid;

fn invalid(
    field: impl Into<String>,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Invalid {
    Invalid::new(field, message, fix)
}

/// Seconds in `lo..=hi` to whole milliseconds.
fn seconds(field: &str, v: f64, lo: f64, hi: f64) -> Result<u64, Invalid> {
    if !(v.is_finite() && (lo..=hi).contains(&v)) {
        return Err(invalid(
            field,
            format!("{v} s is out of range"),
            format!("use {lo}..={hi} seconds"),
        ));
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "range checked"
    )]
    Ok((v * 1000.0).round() as u64)
}

/// A value in `lo..=hi` scaled by `scale` and rounded (volts → mV, % → ‰, °C → 0.1 °C).
fn scaled(field: &str, v: f64, lo: f64, hi: f64, scale: f64, unit: &str) -> Result<i32, Invalid> {
    if !(v.is_finite() && (lo..=hi).contains(&v)) {
        return Err(invalid(
            field,
            format!("{v} {unit} is out of range"),
            format!("use {lo}..={hi} {unit}"),
        ));
    }
    #[allow(clippy::cast_possible_truncation, reason = "range checked")]
    Ok((v * scale).round() as i32)
}

fn required<'a>(field: &str, v: Option<&'a String>, fix: &str) -> Result<&'a str, Invalid> {
    v.map(String::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid(field, "is required here", fix))
}

/// A broker URL for the meter or battery subscription: `mqtt://` or `mqtts://` (TLS with
/// the URL's `?ca=` file or the system roots, checked here so `--check-config` finds a bad
/// CA file).
fn broker_url(field: &str, url: &str) -> Result<String, Invalid> {
    let parsed = url
        .parse::<voltwire_runtime::mqtt::BrokerUrl>()
        .map_err(|e| {
            invalid(
                field,
                e.to_string(),
                "write mqtt://[user:password@]host[:port] or mqtts://host[:port][?ca=/path/ca.pem]",
            )
        })?;
    let mut probe = rumqttc::MqttOptions::new("check", parsed.host.clone(), parsed.port);
    voltwire_runtime::mqtt::set_transport(&mut probe, &parsed).map_err(|e| {
        invalid(
            field,
            e.to_string(),
            "give ?ca= a readable PEM file with the broker's CA certificate (or install ca-certificates)",
        )
    })?;
    Ok(url.to_owned())
}

/// An NPB's voltage trim settings, validated.
fn trim(
    f: &dyn Fn(&str) -> String,
    d: &DeviceSection,
) -> Result<voltwire_zero_feed_in_rules::TrimConfig, Invalid> {
    let step = scaled(&f("trim_step_v"), d.trim_step_v, 0.01, 1.0, 1000.0, "V")?;
    if step % 10 != 0 {
        return Err(invalid(
            f("trim_step_v"),
            format!("{} V is not on the NPB's 0.01 V grid", d.trim_step_v),
            "use a multiple of 0.01 V (0.01 by default)",
        ));
    }
    let interval_ms = seconds(&f("trim_interval_s"), d.trim_interval_s, 1.0, 3600.0)?;
    if !(0..=1000).contains(&d.trim_deadband_w) {
        return Err(invalid(
            f("trim_deadband_w"),
            format!("{} W", d.trim_deadband_w),
            "use 0..=1000 W (20 by default; more than half the power one step moves)",
        ));
    }
    Ok(voltwire_zero_feed_in_rules::TrimConfig {
        step: Millivolts(step),
        interval_ms,
        deadband: Watts(d.trim_deadband_w),
    })
}

/// `device[i].port`, required: `serial://…?baud=BAUD` or `tcp://host:port` (`tcp_note` says
/// what goes over TCP).
fn port(
    f: &dyn Fn(&str) -> String,
    d: &DeviceSection,
    baud: u32,
    tcp_note: &str,
) -> Result<LinkUrl, Invalid> {
    let example = format!("serial:///dev/ttyUSB0?baud={baud}");
    let port = required(
        &f("port"),
        d.port.as_ref(),
        &format!("set port = \"{example}\""),
    )?;
    port.parse().map_err(|e| {
        invalid(
            f("port"),
            format!("{e}"),
            format!("write {example} or tcp://host:port{tcp_note}"),
        )
    })
}

/// `device[i].address`: a Modbus slave address 1..=247 (`what` answers at it).
fn modbus_address(
    f: &dyn Fn(&str) -> String,
    d: &DeviceSection,
    what: &str,
) -> Result<(), Invalid> {
    if (1..=247).contains(&d.address) {
        Ok(())
    } else {
        Err(invalid(
            f("address"),
            format!("{}", d.address),
            format!("use the {what}'s Modbus address, 1..=247"),
        ))
    }
}

/// A discharger set by power (Soyosource, Lumentree, Trucki).
const fn discharger(min_w: i32, max_w: i32) -> DeviceConfig {
    DeviceConfig {
        role: Role::Discharger,
        min_charge: Watts(0),
        max_charge: Watts(0),
        min_discharge: Watts(min_w),
        max_discharge: Watts(max_w),
        current: None,
        trim: None,
    }
}

/// One `[[device]]`, validated.
#[allow(clippy::too_many_lines, reason = "one check after the other")]
fn device(
    i: usize,
    d: &DeviceSection,
    battery: &BatteryConfig,
) -> Result<(DeviceKind, DeviceConfig), Invalid> {
    let f = |name: &str| format!("device[{i}].{name}");
    if d.voltage_trim && d.kind != "npb" {
        return Err(invalid(
            f("voltage_trim"),
            format!("kind = \"{}\" has no voltage trim", d.kind),
            "only a Mean Well NPB (kind = \"npb\") trims its voltage; remove voltage_trim",
        ));
    }
    // Each maximum before its minimum (the minimum's range is 0..=maximum).
    for (name, value, max, fix) in [
        (
            "max_discharge_w",
            d.max_discharge_w,
            65_535,
            "use 0..=65535 W",
        ),
        (
            "min_discharge_w",
            d.min_discharge_w,
            d.max_discharge_w,
            "use 0..=max_discharge_w",
        ),
        ("max_charge_w", d.max_charge_w, 65_535, "use 0..=65535 W"),
        (
            "min_charge_w",
            d.min_charge_w,
            d.max_charge_w,
            "use 0..=max_charge_w",
        ),
    ] {
        if !(0..=max).contains(&value) {
            return Err(invalid(f(name), format!("{value} W"), fix));
        }
    }
    match d.kind.as_str() {
        "soyosource" => {
            let url = port(&f, d, 4800, "")?;
            if d.max_discharge_w < 1 {
                return Err(invalid(
                    f("max_discharge_w"),
                    "0 W",
                    "a discharger needs max_discharge_w ≥ 1",
                ));
            }
            Ok((
                DeviceKind::Soyosource(url),
                discharger(d.min_discharge_w, d.max_discharge_w),
            ))
        }
        kind @ ("bic2200" | "npb") => {
            let family = if kind == "npb" {
                voltwire_meanwell::Family::Npb
            } else {
                voltwire_meanwell::Family::Bic2200
            };
            let bus = required(
                &f("bus"),
                d.bus.as_ref(),
                "set bus = \"slcan:///dev/ttyACM0?bitrate=250000\"",
            )?;
            let bus: voltwire_runtime::can::BusUrl = bus.parse().map_err(|e| {
                invalid(
                    f("bus"),
                    format!("{e}"),
                    voltwire_runtime::can::BusUrl::HELP,
                )
            })?;
            let name = required(&f("model"), d.model.as_ref(), "set model = \"BIC-2200-48\"")?;
            let model = voltwire_meanwell::Model::from_name(name)
                .filter(|m| m.family() == family)
                .ok_or_else(|| {
                    let (what, fix) = if family == voltwire_meanwell::Family::Npb {
                        ("an NPB", "use e.g. NPB-1200-48 or NPB-1700-48")
                    } else {
                        ("a BIC-2200", "use BIC-2200-12, -24, -48 or -96")
                    };
                    invalid(f("model"), format!("`{name}` is not {what} model"), fix)
                })?;
            if voltwire_meanwell::Target::device(model.family(), d.id).is_none() {
                return Err(invalid(
                    f("id"),
                    format!("{}", d.id),
                    "use the unit's jumper id 0..=7",
                ));
            }
            let limits = model.limits();
            let vout = battery.pack(battery.max_cell_voltage);
            let reverse = battery.pack(battery.min_cell_voltage);
            let npb = family == voltwire_meanwell::Family::Npb;
            for (v, name) in [(vout, "max_cell_v"), (reverse, "min_cell_v")]
                .into_iter()
                .take(if npb { 1 } else { 2 })
            {
                if v.0 < limits.vout_min.0 || v.0 > limits.vout_max.0 {
                    return Err(invalid(
                        format!("battery.{name}"),
                        format!(
                            "cells × {name} = {} V is outside the {} output range",
                            f64::from(v.0) / 1000.0,
                            model.name()
                        ),
                        "check battery.cells and the cell limits against the BIC model",
                    ));
                }
            }
            let max_i = limits
                .discharge_current
                .map_or(limits.charge_current_max, |(_, max)| {
                    Milliamps(max.0.min(limits.charge_current_max.0))
                });
            if !(d.eeprom_writes_per_min.is_finite()
                && (0.1..=60.0).contains(&d.eeprom_writes_per_min))
            {
                return Err(invalid(
                    f("eeprom_writes_per_min"),
                    format!("{}", d.eeprom_writes_per_min),
                    "use 0.1..=60 (2.3 by default)",
                ));
            }
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "range checked"
            )]
            let per_hour = (d.eeprom_writes_per_min * 60.0).round() as u32;
            let trim = if d.voltage_trim {
                Some(trim(&f, d)?)
            } else {
                None
            };
            Ok((
                DeviceKind::Bic(crate::meanwell::Bic {
                    model,
                    id: d.id,
                    bus,
                    backstop_vout: vout,
                    backstop_reverse_vout: reverse,
                    budget: voltwire_zero_feed_in_rules::WriteBudgetConfig {
                        per_hour,
                        burst: 3,
                        rated_writes: d.eeprom_rated_writes,
                    },
                    state_file: d.eeprom_state_file.clone(),
                }),
                DeviceConfig {
                    role: if npb {
                        Role::Charger
                    } else {
                        Role::Bidirectional
                    },
                    min_charge: Watts(d.min_charge_w),
                    max_charge: Watts(d.max_charge_w),
                    min_discharge: Watts(d.min_discharge_w),
                    max_discharge: Watts(d.max_discharge_w),
                    current: Some(CurrentRange {
                        min: limits.charge_current_min,
                        max: max_i,
                    }),
                    trim,
                },
            ))
        }
        "lumentree" => {
            let url = port(&f, d, 9600, " (RTU over TCP)")?;
            let name = required(
                &f("model"),
                d.model.as_ref(),
                "set model = \"LT600\", \"LT1000\" or \"LT2000\"",
            )?;
            let model = match name.to_ascii_uppercase().as_str() {
                "LT600" | "SUN-600" | "SUN600" => voltwire_modbus::lumentree::Model::Lt600,
                "LT1000" | "SUN-1000" | "SUN1000" => voltwire_modbus::lumentree::Model::Lt1000,
                "LT2000" | "SUN-2000" | "SUN2000" => voltwire_modbus::lumentree::Model::Lt2000,
                _ => {
                    return Err(invalid(
                        f("model"),
                        format!("unknown Lumentree model `{name}`"),
                        "use LT600, LT1000 or LT2000",
                    ));
                }
            };
            modbus_address(&f, d, "inverter")?;
            let rated = model.rated_power();
            if d.max_discharge_w < 1 || d.max_discharge_w > rated.0 {
                return Err(invalid(
                    f("max_discharge_w"),
                    format!("{} W", d.max_discharge_w),
                    format!("use 1..={} W for this model", rated.0),
                ));
            }
            let min = if d.min_discharge_w > 0 {
                d.min_discharge_w
            } else {
                model.minimum_power().0.min(d.max_discharge_w)
            };
            Ok((
                DeviceKind::Lumentree(crate::lumentree::Lumentree {
                    port: url,
                    address: d.address,
                    model,
                }),
                discharger(min, d.max_discharge_w),
            ))
        }
        "trucki" => {
            let url = port(&f, d, 9600, " (RTU over TCP)")?;
            let max = voltwire_modbus::trucki::MAX_POWER.0;
            if !(1..=max).contains(&d.max_discharge_w) {
                return Err(invalid(
                    f("max_discharge_w"),
                    format!("{} W", d.max_discharge_w),
                    format!("give the inverter's rating, 1..={max} W (e.g. 1000 or 2000)"),
                ));
            }
            modbus_address(&f, d, "board")?;
            Ok((
                DeviceKind::Trucki(crate::trucki::Trucki {
                    port: url,
                    address: d.address,
                    max: Watts(d.max_discharge_w),
                }),
                discharger(d.min_discharge_w, d.max_discharge_w),
            ))
        }
        other => Err(invalid(
            f("kind"),
            format!("unknown or not yet supported device kind `{other}`"),
            "use soyosource, lumentree, trucki, bic2200 or npb",
        )),
    }
}

fn deci(v: i32) -> DeciCelsius {
    DeciCelsius(i16::try_from(v).unwrap_or(0))
}

fn permille(v: i32) -> Permille {
    Permille(i16::try_from(v).unwrap_or(0))
}

impl File {
    /// Reads, parses and validates `path`.
    ///
    /// # Errors
    /// A message naming the file, line, field and fix.
    pub fn load(path: &Path) -> Result<Settings, String> {
        voltwire_runtime::config::load_checked(path, Self::validate)
    }

    /// Parses and validates `text` (`file` names it in messages).
    ///
    /// # Errors
    /// As [`File::load`].
    pub fn parse(text: &str, file: &Path) -> Result<Settings, String> {
        voltwire_runtime::config::parse_checked(text, file, Self::validate)
    }

    /// Checks meaning and converts to exact units.
    ///
    /// # Errors
    /// [`Invalid`] naming the first bad field.
    #[allow(clippy::too_many_lines, reason = "one check after the other")]
    pub fn validate(&self) -> Result<Settings, Invalid> {
        let c = &self.control;
        if !(1..=16).contains(&c.window) {
            return Err(invalid(
                "control.window",
                format!("{} readings", c.window),
                "use 1..=16",
            ));
        }
        if !(100..=10_000).contains(&c.tick_ms) {
            return Err(invalid(
                "control.tick_ms",
                format!("{} ms", c.tick_ms),
                "use 100..=10000 ms",
            ));
        }
        for (field, w) in [
            ("control.charge_deadband_w", c.charge_deadband_w),
            ("control.discharge_deadband_w", c.discharge_deadband_w),
            ("control.base_load_w", c.base_load_w),
        ] {
            if !(0..=10_000).contains(&w) {
                return Err(invalid(field, format!("{w} W"), "use 0..=10000 W"));
            }
        }
        if !(-10_000..=10_000).contains(&c.target_grid_w) {
            return Err(invalid(
                "control.target_grid_w",
                format!("{} W", c.target_grid_w),
                "use -10000..=10000 W",
            ));
        }
        let meter_timeout = seconds("control.meter_timeout_s", c.meter_timeout_s, 1.0, 600.0)?;
        let battery_timeout =
            seconds("control.battery_timeout_s", c.battery_timeout_s, 1.0, 600.0)?;
        let device_timeout = seconds("control.device_timeout_s", c.device_timeout_s, 1.0, 600.0)?;
        let hold = seconds("control.hold_s", c.hold_s, 0.0, 600.0)?;
        if meter_timeout < c.tick_ms {
            return Err(invalid(
                "control.meter_timeout_s",
                "shorter than one tick",
                "make meter_timeout_s at least tick_ms / 1000",
            ));
        }

        let m = &self.meter;
        let (meter, reading) = match m.kind.as_str() {
            "mqtt" => {
                let broker = required(
                    "meter.broker",
                    m.broker.as_ref(),
                    "set broker = \"mqtt://host:1883\"",
                )?;
                broker_url("meter.broker", broker)?;
                let topic = required(
                    "meter.topic",
                    m.topic.as_ref(),
                    "set the topic the meter publishes on",
                )?;
                if topic.contains(['+', '#']) {
                    return Err(invalid(
                        "meter.topic",
                        "contains a wildcard",
                        "name one topic",
                    ));
                }
                (
                    MeterSource::Mqtt {
                        broker: broker.to_owned(),
                        topic: topic.to_owned(),
                    },
                    Reading::Pointer(m.pointer.clone()),
                )
            }
            kind @ ("shelly_em" | "shelly_em1" | "shelly_gen1" | "http_json") => {
                let base = required(
                    "meter.url",
                    m.url.as_ref(),
                    "set url = \"http://<meter address>\"",
                )?;
                if !base.starts_with("http://") {
                    return Err(invalid(
                        "meter.url",
                        "is not an http:// URL",
                        "write url = \"http://host[:port]\" (HTTPS is not supported)",
                    ));
                }
                let base = base.trim_end_matches('/');
                let (url, reading) = match kind {
                    "shelly_em" => (format!("{base}/rpc/EM.GetStatus?id=0"), Reading::ShellyEm),
                    "shelly_em1" => (format!("{base}/rpc/EM1.GetStatus?id=0"), Reading::ShellyEm1),
                    "shelly_gen1" => (format!("{base}/status"), Reading::ShellyGen1),
                    _ => (base.to_owned(), Reading::Pointer(m.pointer.clone())),
                };
                let interval_ms = seconds("meter.interval_s", m.interval_s, 0.2, 60.0)?;
                (MeterSource::Http { url, interval_ms }, reading)
            }
            other => {
                return Err(invalid(
                    "meter.kind",
                    format!("unknown meter kind `{other}`"),
                    "use mqtt, shelly_em, shelly_em1, shelly_gen1 or http_json",
                ));
            }
        };
        if !m.pointer.is_empty() && !m.pointer.starts_with('/') {
            return Err(invalid(
                "meter.pointer",
                "a JSON pointer starts with `/`",
                "write e.g. \"/SML/Power_curr\" or \"\"",
            ));
        }

        let b = &self.battery;
        let battery = match b.source.as_str() {
            "mqtt" => BatterySource::Mqtt {
                broker: broker_url(
                    "battery.broker",
                    required(
                        "battery.broker",
                        b.broker.as_ref(),
                        "set broker = \"mqtt://host:1883\"",
                    )?,
                )?,
                topic: required(
                    "battery.topic",
                    b.topic.as_ref(),
                    "set the topic of the BMS state",
                )?
                .to_owned(),
            },
            "none" => BatterySource::None,
            other => {
                let protocol = crate::bms::Protocol::from_name(other).ok_or_else(|| {
                    invalid(
                        "battery.source",
                        format!("unknown source `{other}`"),
                        "use mqtt, daly, jk, jk_pb, pace, pylontech, coulomb or none",
                    )
                })?;
                let port = required(
                    "battery.port",
                    b.port.as_ref(),
                    "set port = \"serial:///dev/ttyUSB2?baud=9600\" (or tcp://host:port)",
                )?;
                let port = port.parse().map_err(|e| {
                    invalid(
                        "battery.port",
                        format!("{e}"),
                        "write serial:///dev/ttyUSB2?baud=9600 or tcp://host:port",
                    )
                })?;
                let address = b.address.unwrap_or(protocol.default_address());
                if protocol == crate::bms::Protocol::Coulomb && !(1..=247).contains(&address) {
                    return Err(invalid(
                        "battery.address",
                        format!("{address}"),
                        "use the coulomb meter's Modbus address, 1..=247 (0 is broadcast: no reply)",
                    ));
                }
                if address > 247 {
                    return Err(invalid(
                        "battery.address",
                        format!("{address}"),
                        "use the BMS's bus address, 0..=247",
                    ));
                }
                BatterySource::Bms(crate::bms::Bms {
                    protocol,
                    port,
                    address,
                    poll_ms: seconds("battery.poll_s", b.poll_s, 0.2, 60.0)?,
                })
            }
        };
        if matches!(battery, BatterySource::Bms(_)) && (b.broker.is_some() || b.topic.is_some()) {
            return Err(invalid(
                "battery.broker",
                "broker/topic are for source = \"mqtt\"",
                "remove broker and topic, or set source = \"mqtt\"",
            ));
        }
        if !(1..=32).contains(&b.cells) {
            return Err(invalid(
                "battery.cells",
                format!("{} cells", b.cells),
                "use 1..=32 cells in series",
            ));
        }
        let mut battery_cfg = BatteryConfig::lfp(b.cells);
        let cells = f64::from(b.cells);
        battery_cfg.charge_voltage = Millivolts(scaled(
            "battery.charge_voltage_v",
            b.charge_voltage_v,
            2.5 * cells,
            3.65 * cells,
            1000.0,
            "V",
        )?);
        battery_cfg.restart_voltage = Millivolts(scaled(
            "battery.restart_voltage_v",
            b.restart_voltage_v,
            2.5 * cells,
            3.65 * cells,
            1000.0,
            "V",
        )?);
        if battery_cfg.restart_voltage.0 >= battery_cfg.charge_voltage.0 - battery_cfg.full_window.0
        {
            return Err(invalid(
                "battery.restart_voltage_v",
                "is not below the charge voltage − 0.10 V: FULL would never hold",
                "set restart_voltage_v well below charge_voltage_v (e.g. 0.1 V per cell)",
            ));
        }
        battery_cfg.min_soc = permille(scaled(
            "battery.min_soc_pct",
            b.min_soc_pct,
            0.0,
            100.0,
            10.0,
            "%",
        )?);
        battery_cfg.restart_soc = permille(scaled(
            "battery.restart_soc_pct",
            b.restart_soc_pct,
            0.0,
            100.0,
            10.0,
            "%",
        )?);
        if battery_cfg.restart_soc.0 < battery_cfg.min_soc.0 {
            return Err(invalid(
                "battery.restart_soc_pct",
                "is below min_soc_pct",
                "set restart_soc_pct ≥ min_soc_pct",
            ));
        }
        battery_cfg.max_cell_voltage = Millivolts(scaled(
            "battery.max_cell_v",
            b.max_cell_v,
            2.5,
            4.25,
            1000.0,
            "V",
        )?);
        battery_cfg.min_cell_voltage = Millivolts(scaled(
            "battery.min_cell_v",
            b.min_cell_v,
            2.0,
            3.5,
            1000.0,
            "V",
        )?);
        battery_cfg.charge_max_temperature = deci(scaled(
            "battery.charge_max_c",
            b.charge_max_c,
            0.0,
            70.0,
            10.0,
            "°C",
        )?);
        battery_cfg.charge_min_temperature = deci(scaled(
            "battery.charge_min_c",
            b.charge_min_c,
            -30.0,
            30.0,
            10.0,
            "°C",
        )?);
        battery_cfg.discharge_max_temperature = deci(scaled(
            "battery.discharge_max_c",
            b.discharge_max_c,
            0.0,
            80.0,
            10.0,
            "°C",
        )?);
        battery_cfg.discharge_min_temperature = deci(scaled(
            "battery.discharge_min_c",
            b.discharge_min_c,
            -40.0,
            30.0,
            10.0,
            "°C",
        )?);

        if self.devices.is_empty() || self.devices.len() > MAX_DEVICES {
            return Err(invalid(
                "device",
                format!("{} devices configured", self.devices.len()),
                format!("configure 1..={MAX_DEVICES} [[device]] sections"),
            ));
        }
        let mut devices = Vec::new();
        for (i, d) in self.devices.iter().enumerate() {
            devices.push(device(i, d, &battery_cfg)?);
        }

        let mqtt = match &self.mqtt {
            None => None,
            Some(m) => Some(Mqtt {
                broker: m
                    .broker
                    .parse()
                    .map_err(|e: voltwire_runtime::mqtt::UrlError| {
                        invalid(
                            "mqtt.broker",
                            e.to_string(),
                            "write mqtt://[user:password@]host[:port]",
                        )
                    })?,
                topics: voltwire_runtime::mqtt::Topics::new(&m.base).map_err(|e| {
                    invalid(
                        "mqtt.base",
                        e.to_string(),
                        "use a topic without wildcards, e.g. zero-feed-in",
                    )
                })?,
                discovery: m.discovery,
                discovery_prefix: m.discovery_prefix.clone(),
                command_ttl_ms: seconds("mqtt.command_ttl_s", m.command_ttl_s, 1.0, 86_400.0)?,
            }),
        };

        let web = match &self.web {
            Some(w) => w.validate("zero-feed-in")?,
            None => None,
        };

        let mut control = Control::new(battery_cfg);
        control.target_grid = Watts(c.target_grid_w);
        control.window = c.window;
        control.charge_deadband = Watts(c.charge_deadband_w);
        control.discharge_deadband = Watts(c.discharge_deadband_w);
        control.meter_timeout_ms = meter_timeout;
        control.battery_timeout_ms = battery_timeout;
        control.device_timeout_ms = device_timeout;
        control.hold_ms = hold;
        control.base_load = Watts(c.base_load_w);
        Ok(Settings {
            control,
            tick_ms: c.tick_ms,
            meter,
            reading,
            invert: m.invert,
            battery,
            devices,
            mqtt,
            web,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, String> {
        File::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn the_template_is_valid() {
        // The template's [web] is there but off; its placeholder token is refused.
        let e = parse(TEMPLATE).unwrap_err();
        assert!(e.contains("web.token") && e.contains("placeholder"), "{e}");
        let s = parse(&template_with_token().unwrap()).unwrap();
        assert!(s.web.is_none());
        assert_eq!(s.control.meter_timeout_ms, 10_000);
        assert_eq!(s.control.battery.charge_voltage, Millivolts(55_200));
        assert_eq!(s.control.battery.charge_min_temperature, DeciCelsius(0));
        assert_eq!(s.reading, Reading::Pointer("/SML/Power_curr".into()));
        assert_eq!(s.devices.len(), 1);
    }

    /// The template with its Soyosource replaced by an NPB-1200-48 with `extra` lines.
    fn npb(extra: &str) -> String {
        template_with_token().unwrap().replacen(
            "kind = \"soyosource\"        # soyosource (RS485 demand frames) | lumentree | trucki | bic2200 | npb\nport = \"serial:///dev/ttyUSB0?baud=4800\"\nmin_discharge_w = 0\nmax_discharge_w = 900",
            &format!(
                "kind = \"npb\"\nbus = \"virtual://npb\"\nmodel = \"NPB-1200-48\"\nmax_charge_w = 1000\n{extra}"
            ),
            1,
        )
    }

    #[test]
    fn an_npb_with_voltage_trim() {
        let s = parse(&npb("")).unwrap();
        assert_eq!(s.devices[0].1.role, Role::Charger);
        assert_eq!(s.devices[0].1.trim, None, "off by default");
        assert_eq!(s.devices[0].1.current.map(|c| c.min), Some(Milliamps(3600)));
        let s = parse(&npb("voltage_trim = true")).unwrap();
        assert_eq!(
            s.devices[0].1.trim,
            Some(voltwire_zero_feed_in_rules::TrimConfig::default())
        );
        let s = parse(&npb(
            "voltage_trim = true\ntrim_step_v = 0.02\ntrim_interval_s = 30\ntrim_deadband_w = 35",
        ))
        .unwrap();
        assert_eq!(
            s.devices[0].1.trim,
            Some(voltwire_zero_feed_in_rules::TrimConfig {
                step: Millivolts(20),
                interval_ms: 30_000,
                deadband: Watts(35),
            })
        );
        for (extra, field) in [
            ("voltage_trim = true\ntrim_step_v = 0.015", "trim_step_v"),
            ("voltage_trim = true\ntrim_step_v = 0", "trim_step_v"),
            (
                "voltage_trim = true\ntrim_interval_s = 0.5",
                "trim_interval_s",
            ),
            (
                "voltage_trim = true\ntrim_deadband_w = -1",
                "trim_deadband_w",
            ),
            ("voltage_trim = yes", "voltage_trim"),
        ] {
            let e = parse(&npb(extra)).unwrap_err();
            assert!(e.contains(field), "{extra}: {e}");
        }
        let e = parse(&npb("").replacen("NPB-1200-48", "BIC-2200-48", 1)).unwrap_err();
        assert!(e.contains("device[0].model") && e.contains("NPB"), "{e}");
        let e = parse(&TEMPLATE.replacen(
            "max_discharge_w = 900",
            "max_discharge_w = 900\nvoltage_trim = true",
            1,
        ))
        .unwrap_err();
        assert!(
            e.contains("device[0].voltage_trim") && e.contains("fix"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_field_and_the_fix() {
        let cases = [
            ("window = 1 ", "window = 0 ", "control.window"),
            (
                "charge_voltage_v = 55.2",
                "charge_voltage_v = 75.2",
                "battery.charge_voltage_v",
            ),
            (
                "restart_voltage_v = 53.6",
                "restart_voltage_v = 55.15",
                "battery.restart_voltage_v",
            ),
            ("kind = \"mqtt\" ", "kind = \"modbus\" ", "meter.kind"),
            (
                "kind = \"soyosource\"",
                "kind = \"growatt\"",
                "device[0].kind",
            ),
            (
                "kind = \"soyosource\"",
                "kind = \"bic2200\"",
                "device[0].bus",
            ),
            (
                "max_discharge_w = 900",
                "max_discharge_w = 0",
                "device[0].max_discharge_w",
            ),
            (
                "port = \"serial:///dev/ttyUSB0?baud=4800\"",
                "port = \"ttyUSB0\"",
                "device[0].port",
            ),
            (
                "meter_timeout_s = 10 ",
                "meter_timeout_s = 0.5 ",
                "control.meter_timeout_s",
            ),
            (
                "pointer = \"/SML/Power_curr\"",
                "pointer = \"SML\"",
                "meter.pointer",
            ),
            ("source = \"mqtt\"", "source = \"daly\"", "battery.port"),
            (
                "source = \"mqtt\"",
                "source = \"victron\"",
                "battery.source",
            ),
        ];
        for (from, to, field) in cases {
            assert!(TEMPLATE.contains(from), "{from}");
            let e = parse(&TEMPLATE.replacen(from, to, 1)).unwrap_err();
            assert!(e.contains(field) && e.contains("fix"), "{field}: {e}");
        }
        // A BMS read directly: port and address taken; broker/topic left over are refused.
        let direct = template_with_token()
            .unwrap()
            .replacen("source = \"mqtt\"", "source = \"pace\"", 1)
            .replacen(
                "# port = \"serial:///dev/ttyUSB2",
                "port = \"serial:///dev/ttyUSB2",
                1,
            );
        let e = parse(&direct).unwrap_err();
        assert!(e.contains("battery.broker") && e.contains("fix"), "{e}");
        let direct = direct
            .replacen(
                "broker = \"mqtt://localhost:1883\"   # source = mqtt",
                "",
                1,
            )
            .replacen(
                "topic = \"voltwire/bms/state\"       # source = mqtt",
                "",
                1,
            );
        match parse(&direct).unwrap().battery {
            BatterySource::Bms(b) => {
                assert_eq!(b.protocol, crate::bms::Protocol::Pace);
                assert_eq!((b.address, b.poll_ms), (1, 1000));
            }
            other => panic!("{other:?}"),
        }
        let coulomb = direct.replacen("source = \"pace\"", "source = \"coulomb\"", 1);
        match parse(&coulomb).unwrap().battery {
            BatterySource::Bms(b) => {
                assert_eq!(b.protocol, crate::bms::Protocol::Coulomb);
                assert_eq!(b.address, 1);
            }
            other => panic!("{other:?}"),
        }
        let e = parse(&coulomb.replacen("# address = 1 ", "address = 0 ", 1)).unwrap_err();
        assert!(e.contains("battery.address") && e.contains("fix"), "{e}");
        let e = parse(&direct.replacen("# poll_s = 1 ", "poll_s = 0 ", 1)).unwrap_err();
        assert!(e.contains("battery.poll_s") && e.contains("fix"), "{e}");
        let e = parse(&TEMPLATE.replacen("tick_ms = 1000", "tick_ms = 1000\nbogus = 1", 1))
            .unwrap_err();
        assert!(e.contains("bogus"), "{e}");
    }
}
