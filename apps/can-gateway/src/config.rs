//! The TOML configuration, its template (`--init`) and its validation (`--check-config`).
//!
//! Parsing (unknown fields, types) goes through `voltwire_runtime::config`, whose errors name
//! the file, line, column and field. [`Config::validate`] then checks meaning (ranges,
//! unique names, bus URLs) and converts every float at this edge into the exact integer
//! units of `voltwire-ess`; its errors name the field and the fix as well.

use std::path::Path;

use serde::Deserialize;
use voltwire_core::DeciCelsius;
use voltwire_core::{MilliampHours, Milliamps, Millivolts};
use voltwire_ess::{
    BlockPolicy, Chemistry, CombineConfig, CurrentRule, EncodeOptions, Extensions, FaultPolicy,
    GatewayConfig, InputConfig, NoInputPolicy, OutputConfig, Plausibility, Ratio, SetpointBounds,
};

use crate::bus::BusUrl;

/// Most inputs a gateway takes (the capacity of the no-alloc domain gateway).
pub const MAX_INPUTS: usize = 64;
/// Most outputs a gateway drives.
pub const MAX_OUTPUTS: usize = 32;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How inputs are combined and what stale inputs do.
    #[serde(default)]
    pub gateway: GatewaySection,
    /// The BMSes (`[[input]]`), at least one.
    #[serde(default, rename = "input")]
    pub inputs: Vec<InputSection>,
    /// The inverters (`[[output]]`), at least one.
    #[serde(default, rename = "output")]
    pub outputs: Vec<OutputSection>,
    /// MQTT telemetry and control (optional).
    pub mqtt: Option<MqttSection>,
    /// The status page, JSON API and metrics (optional, off without the section).
    pub web: Option<WebSection>,
}

/// `[gateway]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySection {
    /// `exclude` or `block`.
    pub fault_policy: PolicyName,
    /// `safe` or `silence`.
    pub no_input: NoInputName,
    /// Seconds an input must be fresh before it is used (again).
    pub recovery_hold_s: f64,
    /// `capacity_weighted` (default), `smallest_times_count` or `sum` (opt-in, warned).
    pub current_rule: RuleName,
    /// The stack's own charge current limit (cabling, fuses), A.
    pub max_charge_current_a: f64,
    /// The stack's own discharge current limit, A.
    pub max_discharge_current_a: f64,
    /// How often the gateway re-evaluates data age without new frames, ms.
    pub tick_ms: u64,
    /// What the outputs hear when the gateway stops (SIGTERM / SIGINT).
    pub on_exit: OnExit,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            fault_policy: PolicyName::Exclude,
            no_input: NoInputName::Safe,
            recovery_hold_s: 10.0,
            current_rule: RuleName::CapacityWeighted,
            max_charge_current_a: 200.0,
            max_discharge_current_a: 200.0,
            tick_ms: 100,
            on_exit: OnExit::Safe,
        }
    }
}

/// `on_exit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExit {
    /// One last burst to every output: charge and discharge disabled, zero current limits.
    Safe,
    /// Stop sending (the inverters' own timeouts take over).
    Silence,
}

/// `fault_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyName {
    /// Combine the rest.
    Exclude,
    /// Disable charging and discharging for all.
    Block,
}

/// `no_input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoInputName {
    /// Charge and discharge disabled, zero limits.
    Safe,
    /// Send nothing.
    Silence,
}

/// `current_rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleName {
    /// Sum of the limits (opt-in: `--check-config` warns what it assumes).
    Sum,
    /// Count × smallest.
    SmallestTimesCount,
    /// Capacity-weighted (the default: protects the weakest battery).
    CapacityWeighted,
}

/// `chemistry` of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChemistryName {
    /// Lithium iron phosphate: 2.0 ..= 3.8 V per cell is plausible.
    Lfp,
    /// NMC: 2.5 ..= 4.35 V per cell.
    Nmc,
    /// LTO: 1.5 ..= 2.9 V per cell.
    Lto,
}

/// `on_block` of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnBlockName {
    /// The direction this BMS forbids is disabled for the whole stack (default).
    Stack,
    /// Opt-in: leave this battery out of the direction it forbids (only for a battery
    /// that disconnects itself from the DC bus).
    Exclude,
}

/// `[[input]]`: one BMS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSection {
    /// Name in telemetry and logs (letters, digits, `_`, `-`).
    pub name: String,
    /// The bus (see the README: `slcan://`, `slcan+tcp://`, `socketcan://`, `virtual://`).
    pub bus: String,
    /// Capacity of this battery, Ah (weights averages and the capacity-weighted rule).
    pub capacity_ah: f64,
    /// A telegram older than this is stale, s.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Send the inverter keep-alive 0x305 on this bus every N s (0 = never).
    #[serde(default)]
    pub poll_interval_s: f64,
    /// `pylontech` (default: 0x351, 0x355, 0x356, 0x359, 0x35C) or `sma` (the SMA/Victron
    /// dialect: 0x351, 0x355, 0x356, 0x35A; 0x35C used when sent).
    #[serde(default = "default_dialect")]
    pub dialect: DialectName,
    /// Cells in series (default 16): with `chemistry`, the plausible pack voltage and CVL.
    #[serde(default = "default_cells")]
    pub cells: u16,
    /// `lfp` (default), `nmc` or `lto`.
    #[serde(default = "default_chemistry")]
    pub chemistry: ChemistryName,
    /// The battery's rated charge current, A (default: 1 C, i.e. `capacity_ah` A): a
    /// higher charge current limit from the BMS is implausible.
    pub max_charge_current_a: Option<f64>,
    /// The battery's rated discharge current, A (default: 1 C).
    pub max_discharge_current_a: Option<f64>,
    /// Lowest plausible temperature, °C (default -40).
    #[serde(default = "default_min_temperature")]
    pub min_temperature_c: f64,
    /// Highest plausible temperature, °C (default 80).
    #[serde(default = "default_max_temperature")]
    pub max_temperature_c: f64,
    /// A burst lasts at most this long from its first frame, ms (default 300).
    #[serde(default = "default_burst_window")]
    pub burst_window_ms: u64,
    /// What a BMS that forbids charging or discharging does: `stack` (default) or
    /// `exclude` (opt-in).
    #[serde(default = "default_on_block")]
    pub on_block: OnBlockName,
}

/// `dialect` of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialectName {
    /// Pylontech: alarms in 0x359, enables and requests in 0x35C.
    Pylontech,
    /// SMA / Victron: alarms as 2-bit pairs in 0x35A.
    Sma,
}

const fn default_dialect() -> DialectName {
    DialectName::Pylontech
}

const fn default_timeout() -> f64 {
    5.0
}
const fn default_cells() -> u16 {
    16
}
const fn default_chemistry() -> ChemistryName {
    ChemistryName::Lfp
}
const fn default_min_temperature() -> f64 {
    -40.0
}
const fn default_max_temperature() -> f64 {
    80.0
}
const fn default_burst_window() -> u64 {
    300
}
const fn default_on_block() -> OnBlockName {
    OnBlockName::Stack
}

/// `mode` of an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputMode {
    /// Send on every change (at most every `min_delay_ms`) and every `interval_ms`.
    Push,
    /// Answer the inverter's 0x305; also send every `interval_ms` on our own.
    Sync,
}

/// `[[output]]`: one inverter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Name in telemetry and logs.
    pub name: String,
    /// The bus.
    pub bus: String,
    /// `push` (default) or `sync`.
    #[serde(default = "default_mode")]
    pub mode: OutputMode,
    /// Regular sending interval, ms.
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Minimum time between two bursts, ms.
    #[serde(default = "default_min_delay")]
    pub min_delay_ms: u64,
    /// Factor on the combined current limits (e.g. 0.5 for one of two inverters).
    #[serde(default = "one")]
    pub current_scale: f64,
    /// Added to the scaled current limits, A (may be negative).
    #[serde(default)]
    pub current_offset_a: f64,
    /// This inverter's own charge current limit, A (default: none).
    pub max_charge_current_a: Option<f64>,
    /// This inverter's own discharge current limit, A (default: none).
    pub max_discharge_current_a: Option<f64>,
    /// This inverter's own charge voltage limit, V (default: none).
    pub max_charge_voltage_v: Option<f64>,
    /// Also send the SMA/Victron frames 0x35A, 0x35F, 0x372.
    #[serde(default)]
    pub extensions: bool,
    /// 0x35E manufacturer text (up to 8 ASCII characters).
    #[serde(default = "default_manufacturer")]
    pub manufacturer: String,
    /// `sync` only: report the link stale when the inverter sent no 0x305 / 0x307 for this
    /// long, s (default 10; 0 = never).
    pub request_timeout_s: Option<f64>,
}

const fn default_mode() -> OutputMode {
    OutputMode::Push
}
const fn default_interval() -> u64 {
    1000
}
const fn default_min_delay() -> u64 {
    100
}
const fn one() -> f64 {
    1.0
}
fn default_manufacturer() -> String {
    "PYLON".to_owned()
}

/// `[mqtt]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    /// `mqtt://user:pass@host:1883` or `mqtts://…`.
    pub url: String,
    /// Topic base.
    #[serde(default = "default_base")]
    pub base_topic: String,
    /// Telemetry interval, s.
    #[serde(default = "default_telemetry")]
    pub interval_s: f64,
    /// Publish Home Assistant discovery.
    #[serde(default = "yes")]
    pub discovery: bool,
    /// Home Assistant discovery prefix.
    #[serde(default = "default_prefix")]
    pub discovery_prefix: String,
    /// Lifetime of a set point given without `ttl_s`, s.
    #[serde(default = "default_ttl")]
    pub setpoint_ttl_s: f64,
    /// Longest lifetime a set point may ask for, s.
    #[serde(default = "default_max_ttl")]
    pub setpoint_max_ttl_s: f64,
}

/// `[web]` and the template's token placeholder: the runtime's, shared by every app with a
/// status page.
pub use voltwire_runtime::web::{TOKEN_PLACEHOLDER, WebSection};

fn default_base() -> String {
    "voltwire/can-gateway".to_owned()
}
const fn default_telemetry() -> f64 {
    5.0
}
const fn yes() -> bool {
    true
}
fn default_prefix() -> String {
    "homeassistant".to_owned()
}
const fn default_ttl() -> f64 {
    300.0
}
const fn default_max_ttl() -> f64 {
    3600.0
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

/// One validated input.
#[derive(Debug, Clone)]
pub struct Input {
    /// Name.
    pub name: String,
    /// Bus.
    pub bus: BusUrl,
    /// The bus URL as written in the configuration (what logs call the bus).
    pub bus_label: String,
    /// Domain settings.
    pub domain: InputConfig,
    /// 0x305 polling interval, ms (0 = none).
    pub poll_ms: u64,
    /// The frames a telegram of this input needs.
    pub required: voltwire_pylontech::can::PartSet,
    /// Burst window, ms.
    pub burst_window_ms: u64,
}

/// One validated output.
#[derive(Debug, Clone)]
pub struct Output {
    /// Name.
    pub name: String,
    /// Bus.
    pub bus: BusUrl,
    /// The bus URL as written in the configuration (what logs call the bus).
    pub bus_label: String,
    /// Push or sync.
    pub mode: OutputMode,
    /// Regular interval, ms.
    pub interval_ms: u64,
    /// Minimum gap between bursts, ms.
    pub min_delay_ms: u64,
    /// Scaling and own limits.
    pub limits: OutputConfig,
    /// Frame encoding.
    pub encode: EncodeOptions,
    /// `sync`: the link is stale after this long without a request, ms (0 = never).
    pub request_timeout_ms: u64,
}

/// Validated MQTT settings.
#[derive(Debug, Clone)]
pub struct Mqtt {
    /// Broker URL (checked).
    pub url: voltwire_runtime::mqtt::BrokerUrl,
    /// Topic layout.
    pub topics: voltwire_runtime::mqtt::Topics,
    /// Telemetry interval, ms.
    pub interval_ms: u64,
    /// Publish discovery.
    pub discovery: bool,
    /// Discovery prefix.
    pub discovery_prefix: String,
    /// Default set point lifetime, ms.
    pub default_ttl_ms: u64,
}

/// The validated configuration, in exact units.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The domain gateway configuration.
    pub gateway: GatewayConfig<MAX_INPUTS>,
    /// Inputs.
    pub inputs: Vec<Input>,
    /// Outputs.
    pub outputs: Vec<Output>,
    /// Set point bounds (the stack limits, the longest lifetime).
    pub setpoint_bounds: SetpointBounds,
    /// Re-evaluation tick, ms.
    pub tick_ms: u64,
    /// MQTT, if configured.
    pub mqtt: Option<Mqtt>,
    /// What a valid configuration assumes that the user should know (`--check-config`
    /// prints them, the gateway logs them at start).
    pub warnings: Vec<String>,
    /// What the outputs hear when the gateway stops.
    pub on_exit: OnExit,
    /// Lifetime of a set point given without `ttl_s`, ms (MQTT and HTTP alike).
    pub setpoint_default_ttl_ms: u64,
    /// The web server, if enabled.
    pub web: Option<voltwire_runtime::web::WebConfig>,
}

/// `x` A as mA, checked to lie in `lo ..= hi` A.
fn amps(field: &str, x: f64, lo: f64, hi: f64) -> Result<Milliamps, Invalid> {
    if !(x.is_finite() && (lo..=hi).contains(&x)) {
        return Err(invalid(
            field,
            format!("{x} A is outside {lo} ..= {hi} A"),
            format!("give a current in amperes between {lo} and {hi}"),
        ));
    }
    // In range, so the cast cannot overflow.
    #[allow(clippy::cast_possible_truncation, reason = "range checked above")]
    Ok(Milliamps((x * 1000.0).round() as i32))
}

/// `x` s as ms, checked to lie in `lo ..= hi` s.
fn millis(field: &str, x: f64, lo: f64, hi: f64) -> Result<u64, Invalid> {
    if !(x.is_finite() && (lo..=hi).contains(&x)) {
        return Err(invalid(
            field,
            format!("{x} s is outside {lo} ..= {hi} s"),
            format!("give a time in seconds between {lo} and {hi}"),
        ));
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "range checked above"
    )]
    Ok((x * 1000.0).round() as u64)
}

fn check_name(field: &str, name: &str, seen: &mut Vec<String>) -> Result<(), Invalid> {
    if name.is_empty()
        || name.len() > 32
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(invalid(
            field,
            format!("`{name}` is not a usable name"),
            "use 1 to 32 letters, digits, `_` or `-` (it becomes part of MQTT topics)",
        ));
    }
    if seen.iter().any(|s| s == name) {
        return Err(invalid(
            field,
            format!("`{name}` is used twice"),
            "give every input and output its own name",
        ));
    }
    seen.push(name.to_owned());
    Ok(())
}

fn bus(field: &str, url: &str) -> Result<BusUrl, Invalid> {
    url.parse::<BusUrl>()
        .map_err(|e| invalid(field, e.to_string(), BusUrl::HELP))
}

/// Refuse a bus used twice (two inputs, two outputs, or an input and an output), naming
/// both fields.
fn check_buses<'a>(buses: impl IntoIterator<Item = (String, &'a BusUrl)>) -> Result<(), Invalid> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (field, b) in buses {
        let key = b.key();
        if let Some((first, _)) = seen.iter().find(|(_, k)| *k == key) {
            return Err(invalid(
                &field,
                format!("`{b}` is the same bus as `{first}` ({key})"),
                "give every input and every output its own bus: on a shared bus the gateway \
                 would read its own output as a BMS, or count one BMS twice",
            ));
        }
        seen.push((field, key));
    }
    Ok(())
}

/// `x` °C as d°C, checked to lie in -100 ..= 150 °C.
fn celsius(field: &str, x: f64) -> Result<DeciCelsius, Invalid> {
    if !(x.is_finite() && (-100.0..=150.0).contains(&x)) {
        return Err(invalid(
            field,
            format!("{x} °C is outside -100 ..= 150 °C"),
            "give a temperature in °C between -100 and 150",
        ));
    }
    #[allow(clippy::cast_possible_truncation, reason = "range checked above")]
    Ok(DeciCelsius((x * 10.0).round() as i16))
}

/// Largest current anywhere in the configuration, A.
const MAX_A: f64 = 3000.0;

impl Config {
    /// Load and validate `path`.
    ///
    /// # Errors
    /// The parse error (file, line, column, field) or the validation error, as text.
    pub fn load(path: &Path) -> Result<Settings, String> {
        voltwire_runtime::config::load_checked(path, Self::validate)
    }

    /// Parse and validate TOML text (`file` only names it in messages). A validation
    /// error points at the line and column of the field in `text`.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn parse(text: &str, file: &Path) -> Result<Settings, String> {
        voltwire_runtime::config::parse_checked(text, file, Self::validate)
    }

    /// Check meaning and convert to exact units.
    ///
    /// # Errors
    /// [`Invalid`] naming the first bad field.
    #[allow(clippy::too_many_lines, reason = "one check after the other")]
    pub fn validate(&self) -> Result<Settings, Invalid> {
        let g = &self.gateway;
        if self.inputs.is_empty() {
            return Err(invalid(
                "input",
                "no [[input]] is configured",
                "add at least one [[input]] section with name, bus and capacity_ah",
            ));
        }
        if self.inputs.len() > MAX_INPUTS {
            return Err(invalid(
                "input",
                format!("{} inputs configured", self.inputs.len()),
                format!("configure at most {MAX_INPUTS} inputs"),
            ));
        }
        if self.outputs.is_empty() {
            return Err(invalid(
                "output",
                "no [[output]] is configured",
                "add at least one [[output]] section with name and bus",
            ));
        }
        if self.outputs.len() > MAX_OUTPUTS {
            return Err(invalid(
                "output",
                format!("{} outputs configured", self.outputs.len()),
                format!("configure at most {MAX_OUTPUTS} outputs"),
            ));
        }
        let max_charge = amps(
            "gateway.max_charge_current_a",
            g.max_charge_current_a,
            0.0,
            MAX_A,
        )?;
        let max_discharge = amps(
            "gateway.max_discharge_current_a",
            g.max_discharge_current_a,
            0.0,
            MAX_A,
        )?;
        let hold = millis("gateway.recovery_hold_s", g.recovery_hold_s, 0.0, 3600.0)?;
        if !(10..=10_000).contains(&g.tick_ms) {
            return Err(invalid(
                "gateway.tick_ms",
                format!("{} ms is outside 10 ..= 10000 ms", g.tick_ms),
                "give a tick of 10 to 10000 ms (100 is a good value)",
            ));
        }
        let mut names = Vec::new();
        let mut warnings = Vec::new();
        if g.current_rule == RuleName::Sum {
            warnings.push(
                "gateway.current_rule = \"sum\" assumes the current splits so that no battery exceeds its own limit; \
                 paralleled batteries share current by capacity and impedance, not by their limits, so this is not guaranteed \
                 (capacity_weighted, the default, protects the weakest battery)"
                    .to_owned(),
            );
        }
        let inputs = self
            .inputs
            .iter()
            .enumerate()
            .map(|(i, inp)| inp.validate(i, &mut names, &mut warnings))
            .collect::<Result<Vec<Input>, Invalid>>()?;
        let stack = Stack {
            max_charge,
            max_discharge,
            capacity: MilliampHours(inputs.iter().map(|i| i.domain.capacity.0).sum()),
        };
        let outputs = self
            .outputs
            .iter()
            .enumerate()
            .map(|(i, out)| out.validate(i, &stack, &mut names, &mut warnings))
            .collect::<Result<Vec<Output>, Invalid>>()?;
        check_buses(
            inputs
                .iter()
                .enumerate()
                .map(|(i, inp)| (format!("input[{i}].bus"), &inp.bus))
                .chain(
                    outputs
                        .iter()
                        .enumerate()
                        .map(|(o, out)| (format!("output[{o}].bus"), &out.bus)),
                ),
        )?;
        let mqtt = self.mqtt.as_ref().map(validate_mqtt).transpose()?;
        let max_ttl_ms = self.mqtt.as_ref().map_or(Ok(3_600_000), |m| {
            millis(
                "mqtt.setpoint_max_ttl_s",
                m.setpoint_max_ttl_s,
                1.0,
                86_400.0,
            )
        })?;
        if let Some(m) = &mqtt {
            if m.default_ttl_ms > max_ttl_ms {
                return Err(invalid(
                    "mqtt.setpoint_ttl_s",
                    "the default lifetime is longer than setpoint_max_ttl_s",
                    "give a setpoint_ttl_s of at most setpoint_max_ttl_s",
                ));
            }
        }
        let web = match &self.web {
            Some(w) => w.validate("can-gateway")?,
            None => None,
        };
        let domain_inputs: heapless::Vec<InputConfig, MAX_INPUTS> =
            inputs.iter().map(|i| i.domain).collect();
        Ok(Settings {
            gateway: GatewayConfig {
                inputs: domain_inputs,
                combine: CombineConfig {
                    current_rule: match g.current_rule {
                        RuleName::Sum => CurrentRule::Sum,
                        RuleName::SmallestTimesCount => CurrentRule::SmallestTimesCount,
                        RuleName::CapacityWeighted => CurrentRule::CapacityWeighted,
                    },
                    max_charge_current: max_charge,
                    max_discharge_current: max_discharge,
                },
                fault_policy: match g.fault_policy {
                    PolicyName::Exclude => FaultPolicy::Exclude,
                    PolicyName::Block => FaultPolicy::Block,
                },
                no_input: match g.no_input {
                    NoInputName::Safe => NoInputPolicy::SafeOutput,
                    NoInputName::Silence => NoInputPolicy::Silence,
                },
                recovery_hold_ms: hold,
            },
            inputs,
            outputs,
            setpoint_bounds: SetpointBounds {
                max_charge,
                max_discharge,
                max_ttl_ms,
            },
            tick_ms: g.tick_ms,
            setpoint_default_ttl_ms: mqtt.as_ref().map_or(300_000, |m| m.default_ttl_ms),
            mqtt,
            warnings,
            on_exit: g.on_exit,
            web,
        })
    }
}

/// The stack-wide figures an output is checked against.
struct Stack {
    max_charge: Milliamps,
    max_discharge: Milliamps,
    capacity: MilliampHours,
}

impl InputSection {
    /// Check `[[input]]` number `i` and convert it; names must be unique across inputs and
    /// outputs; what the user should know goes to `warnings`.
    #[allow(clippy::too_many_lines, reason = "one check after the other")]
    fn validate(
        &self,
        i: usize,
        names: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Result<Input, Invalid> {
        let inp = self;
        let f = |name: &str| format!("input[{i}].{name}");
        check_name(&f("name"), &inp.name, names)?;
        let bus = bus(&f("bus"), &inp.bus)?;
        if !(inp.capacity_ah.is_finite() && inp.capacity_ah > 0.0 && inp.capacity_ah <= 100_000.0) {
            return Err(invalid(
                f("capacity_ah"),
                format!("{} Ah is not a capacity", inp.capacity_ah),
                "give the battery's capacity in Ah, above 0 (e.g. 100)",
            ));
        }
        #[allow(clippy::cast_possible_truncation, reason = "range checked above")]
        let capacity = MilliampHours((inp.capacity_ah * 1000.0).round() as i64);
        let timeout_ms = millis(&f("timeout_s"), inp.timeout_s, 0.1, 3600.0)?;
        let poll_ms = millis(&f("poll_interval_s"), inp.poll_interval_s, 0.0, 3600.0)?;
        if poll_ms != 0 && poll_ms < 100 {
            return Err(invalid(
                f("poll_interval_s"),
                "polling faster than every 0.1 s floods the bus",
                "give 0 (no polling) or at least 0.1 s (1 is what inverters do)",
            ));
        }
        let window = inp.burst_window_ms;
        if !(10..=5000).contains(&window) || window >= timeout_ms {
            return Err(invalid(
                f("burst_window_ms"),
                format!(
                    "{window} ms is outside 10 ..= 5000 ms or not shorter than timeout_s ({timeout_ms} ms)"
                ),
                "give 10 to 5000 ms, shorter than timeout_s and than the BMS's sending interval (300 fits a BMS sending every second)",
            ));
        }
        if poll_ms != 0 && window >= poll_ms {
            return Err(invalid(
                f("burst_window_ms"),
                format!("{window} ms is not shorter than poll_interval_s ({poll_ms} ms)"),
                "give a burst window shorter than the polling interval (each poll brings a burst)",
            ));
        }
        if !(1..=400).contains(&inp.cells) {
            return Err(invalid(
                f("cells"),
                format!("{} cells is outside 1 ..= 400", inp.cells),
                "give the number of cells in series (16 for a 48 V LFP pack)",
            ));
        }
        // 1 C by default (capacity in Ah as A), at most the largest current anywhere.
        let one_c = inp.capacity_ah.min(MAX_A);
        let rated = |name: &str, v: Option<f64>| -> Result<Milliamps, Invalid> {
            let v = v.unwrap_or(one_c);
            if !(v.is_finite() && v > 0.0 && v <= MAX_A) {
                return Err(invalid(
                    f(name),
                    format!("{v} A is outside 0 (exclusive) ..= {MAX_A} A"),
                    "give the battery's rated current in A from its datasheet (a BMS limit above it is implausible)",
                ));
            }
            amps(&f(name), v, 0.0, MAX_A)
        };
        let max_charge_current = rated("max_charge_current_a", inp.max_charge_current_a)?;
        let max_discharge_current = rated("max_discharge_current_a", inp.max_discharge_current_a)?;
        let min_temperature = celsius(&f("min_temperature_c"), inp.min_temperature_c)?;
        let max_temperature = celsius(&f("max_temperature_c"), inp.max_temperature_c)?;
        if min_temperature >= max_temperature {
            return Err(invalid(
                f("max_temperature_c"),
                format!(
                    "{} °C is not above min_temperature_c {} °C",
                    inp.max_temperature_c, inp.min_temperature_c
                ),
                "give max_temperature_c above min_temperature_c (defaults -40 and 80)",
            ));
        }
        let chemistry = match inp.chemistry {
            ChemistryName::Lfp => Chemistry::Lfp,
            ChemistryName::Nmc => Chemistry::Nmc,
            ChemistryName::Lto => Chemistry::Lto,
        };
        let plausibility = Plausibility {
            min_temperature,
            max_temperature,
            ..Plausibility::for_pack(
                inp.cells,
                chemistry,
                max_charge_current,
                max_discharge_current,
            )
        };
        let on_block = match inp.on_block {
            OnBlockName::Stack => BlockPolicy::Stack,
            OnBlockName::Exclude => {
                warnings.push(format!(
                    "input[{i}].on_block = \"exclude\": when `{}` forbids charging or discharging, the others go on in that direction; \
                     this is safe only if that battery disconnects itself from the DC bus (its protection flags are still passed on)",
                    inp.name
                ));
                BlockPolicy::Exclude
            }
        };
        Ok(Input {
            name: inp.name.clone(),
            bus,
            bus_label: inp.bus.clone(),
            domain: InputConfig {
                capacity,
                timeout_ms,
                plausibility,
                on_block,
            },
            poll_ms,
            required: match inp.dialect {
                DialectName::Pylontech => voltwire_ess::PYLONTECH_TELEGRAM,
                DialectName::Sma => voltwire_ess::SMA_TELEGRAM,
            },
            burst_window_ms: window,
        })
    }
}

impl OutputSection {
    /// Check `[[output]]` number `i` against the stack and convert it.
    #[allow(clippy::too_many_lines, reason = "one check after the other")]
    fn validate(
        &self,
        i: usize,
        stack: &Stack,
        names: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Result<Output, Invalid> {
        let out = self;
        let (max_charge, max_discharge, capacity) =
            (stack.max_charge, stack.max_discharge, stack.capacity);
        let f = |name: &str| format!("output[{i}].{name}");
        check_name(&f("name"), &out.name, names)?;
        let bus = bus(&f("bus"), &out.bus)?;
        if !(100..=60_000).contains(&out.interval_ms) {
            return Err(invalid(
                f("interval_ms"),
                format!("{} ms is outside 100 ..= 60000 ms", out.interval_ms),
                "give 100 to 60000 ms (1000 is what BMSes do)",
            ));
        }
        if out.min_delay_ms > out.interval_ms {
            return Err(invalid(
                f("min_delay_ms"),
                format!(
                    "{} ms is longer than interval_ms {}",
                    out.min_delay_ms, out.interval_ms
                ),
                "give a min_delay_ms of at most interval_ms",
            ));
        }
        if !(out.current_scale.is_finite() && (0.0..=10.0).contains(&out.current_scale)) {
            return Err(invalid(
                f("current_scale"),
                format!("{} is outside 0 ..= 10", out.current_scale),
                "give a factor such as 0.5 (half of the stack for this inverter)",
            ));
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "range checked above"
        )]
        let scale = Ratio::permille((out.current_scale * 1000.0).round() as u32);
        let offset = amps(&f("current_offset_a"), out.current_offset_a, -MAX_A, MAX_A)?;
        let own = |name: &str, v: Option<f64>| -> Result<Milliamps, Invalid> {
            v.map_or(Ok(Milliamps(i32::MAX)), |v| amps(&f(name), v, 0.0, MAX_A))
        };
        let max_charge_current = own("max_charge_current_a", out.max_charge_current_a)?;
        let max_discharge_current = own("max_discharge_current_a", out.max_discharge_current_a)?;
        let max_charge_voltage = match out.max_charge_voltage_v {
            None => Millivolts(i32::MAX),
            Some(v) if v.is_finite() && (0.0..=1000.0).contains(&v) =>
            {
                #[allow(clippy::cast_possible_truncation, reason = "range checked")]
                Millivolts((v * 1000.0).round() as i32)
            }
            Some(v) => {
                return Err(invalid(
                    f("max_charge_voltage_v"),
                    format!("{v} V is outside 0 ..= 1000 V"),
                    "give the inverter's charge voltage limit in volts (e.g. 56.0)",
                ));
            }
        };
        let text = out.manufacturer.as_bytes();
        if text.len() > 8 || !out.manufacturer.is_ascii() {
            return Err(invalid(
                f("manufacturer"),
                format!("`{}` is not up to 8 ASCII characters", out.manufacturer),
                "give up to 8 ASCII characters; inverters look for PYLON",
            ));
        }
        let mut manufacturer = [0u8; 8];
        if let Some(dst) = manufacturer.get_mut(..text.len()) {
            dst.copy_from_slice(text);
        }
        let request_timeout_ms = match (out.mode, out.request_timeout_s) {
            (OutputMode::Sync, t) => {
                millis(&f("request_timeout_s"), t.unwrap_or(10.0), 0.0, 3600.0)?
            }
            (OutputMode::Push, None) => 0,
            (OutputMode::Push, Some(_)) => {
                return Err(invalid(
                    f("request_timeout_s"),
                    "a push output does not wait for requests",
                    "remove request_timeout_s, or set mode = \"sync\"",
                ));
            }
        };
        // What this output would announce at the stack's own limits: an offset that
        // pins it at 0 A in both directions is a configuration that cannot work.
        let probe = voltwire_ess::limit_output(
            &voltwire_ess::BatteryState {
                charge_current_limit: max_charge,
                discharge_current_limit: max_discharge,
                ..voltwire_ess::BatteryState::default()
            },
            &OutputConfig {
                current_scale: scale,
                current_offset: offset,
                max_charge_current,
                max_discharge_current,
                max_charge_voltage: Millivolts(i32::MAX),
            },
        );
        let pinned = |dir: &str, stack: Milliamps, got: Milliamps| {
            (stack.0 > 0 && got.0 == 0)
                .then(|| format!("{dir} {:.1} A", f64::from(stack.0) / 1000.0))
        };
        match (
            pinned("charge", max_charge, probe.charge_current_limit),
            pinned("discharge", max_discharge, probe.discharge_current_limit),
        ) {
            (Some(c), Some(d)) => {
                return Err(invalid(
                    f("current_offset_a"),
                    format!(
                        "{} A with current_scale {} pins this output at 0 A even at the stack limits ({c}, {d})",
                        out.current_offset_a, out.current_scale
                    ),
                    "give an offset above -(current_scale x stack limit), usually 0 or a few amperes below 0",
                ));
            }
            (Some(one), None) | (None, Some(one)) => warnings.push(format!(
                "output[{i}]: current_offset_a {} A with current_scale {} pins one direction at 0 A even at the stack limit ({one})",
                out.current_offset_a, out.current_scale
            )),
            (None, None) => {}
        }
        Ok(Output {
            name: out.name.clone(),
            bus,
            bus_label: out.bus.clone(),
            mode: out.mode,
            interval_ms: out.interval_ms,
            min_delay_ms: out.min_delay_ms,
            limits: OutputConfig {
                current_scale: scale,
                current_offset: offset,
                max_charge_current,
                max_discharge_current,
                max_charge_voltage,
            },
            encode: EncodeOptions {
                manufacturer,
                extensions: out.extensions.then_some(Extensions {
                    capacity,
                    ..Extensions::default()
                }),
            },
            request_timeout_ms,
        })
    }
}

fn validate_mqtt(m: &MqttSection) -> Result<Mqtt, Invalid> {
    let url = voltwire_runtime::mqtt::BrokerUrl::parse(&m.url).map_err(|e| {
        invalid(
            "mqtt.url",
            e.to_string(),
            "give mqtt://[user:pass@]host[:port] or mqtts://…",
        )
    })?;
    let topics = voltwire_runtime::mqtt::Topics::new(&m.base_topic).map_err(|e| {
        invalid(
            "mqtt.base_topic",
            e.to_string(),
            "give a topic base without wildcards, e.g. voltwire/can-gateway",
        )
    })?;
    let interval_ms = millis("mqtt.interval_s", m.interval_s, 0.1, 3600.0)?;
    let default_ttl_ms = millis("mqtt.setpoint_ttl_s", m.setpoint_ttl_s, 1.0, 86_400.0)?;
    if m.discovery_prefix.is_empty() || m.discovery_prefix.contains(['#', '+']) {
        return Err(invalid(
            "mqtt.discovery_prefix",
            format!("`{}` is not a topic prefix", m.discovery_prefix),
            "give a prefix without wildcards (Home Assistant uses homeassistant)",
        ));
    }
    Ok(Mqtt {
        url,
        topics,
        interval_ms,
        discovery: m.discovery,
        discovery_prefix: m.discovery_prefix.clone(),
        default_ttl_ms,
    })
}

/// The template with a fresh random web token in place of [`TOKEN_PLACEHOLDER`].
///
/// # Errors
/// When no random token can be made (`/dev/urandom` unreadable).
pub fn template_with_token() -> Result<String, String> {
    voltwire_runtime::web::template_with_token(TEMPLATE)
}

/// The commented template `--init` writes.
pub const TEMPLATE: &str = r#"# can-gateway configuration (TOML). Check it with: can-gateway --check-config FILE
#
# Buses:
#   slcan:///dev/ttyACM0?bitrate=500000        SLCAN USB-CAN adapter (CANable, …) or a pty
#   slcan+tcp://192.168.1.20:3333?bitrate=500000  SLCAN over a TCP console server
#   socketcan://can0                            kernel SocketCAN (build with --features socketcan)
#   virtual://NAME                              in-process bus (tests and --demo)
# Add &handshake=none to an slcan URL when the other end is not an adapter (e.g. a second
# host on a pty pair): the open sequence is then skipped.

[gateway]
fault_policy = "exclude"        # exclude: combine the rest; block: stop charge and discharge
no_input = "safe"               # safe: send disabled + zero limits; silence: send nothing
recovery_hold_s = 10            # an input must be fresh this long before it is used again
current_rule = "capacity_weighted"  # capacity_weighted (protects the weakest battery) | smallest_times_count | sum
max_charge_current_a = 200      # the stack's own limits (cables, fuses)
max_discharge_current_a = 200
tick_ms = 100
on_exit = "safe"                # on SIGTERM/SIGINT: safe = one last burst with charge and
                                # discharge disabled and 0 A; silence = just stop sending

[[input]]
name = "bms1"
bus = "slcan:///dev/ttyACM0?bitrate=500000"
capacity_ah = 100
timeout_s = 5                   # older telegrams are stale
poll_interval_s = 0             # > 0: send the inverter keep-alive 0x305 every N s
dialect = "pylontech"           # pylontech (0x359 + 0x35C) or sma (SMA/Victron: 0x35A)
burst_window_ms = 300           # a telegram is the frames of one burst, at most this long
cells = 16                      # cells in series and chemistry (lfp | nmc | lto): the
chemistry = "lfp"               #   plausible pack voltage and charge voltage limit
max_charge_current_a = 100      # the battery's rated currents (default 1 C = capacity_ah):
max_discharge_current_a = 100   #   a BMS limit above them is implausible
min_temperature_c = -40         # plausible temperatures
max_temperature_c = 80
on_block = "stack"              # stack: a BMS forbidding a direction stops it for all;
                                # exclude (opt-in): leave it out of that direction only

[[input]]
name = "bms2"
bus = "slcan:///dev/ttyACM1?bitrate=500000"
capacity_ah = 100
timeout_s = 5

[[output]]
name = "inverter1"
bus = "slcan:///dev/ttyACM2?bitrate=500000"
mode = "push"                   # push: send on change and every interval; sync: answer 0x305
# request_timeout_s = 10        # sync only: link reported stale after this long without 0x305
interval_ms = 1000
min_delay_ms = 100
current_scale = 1.0             # factor on the combined current limits
current_offset_a = 0
# max_charge_current_a = 100    # this inverter's own limits (never above the combined ones)
# max_discharge_current_a = 100
# max_charge_voltage_v = 56.0
extensions = false              # also send SMA/Victron 0x35A, 0x35F, 0x372
manufacturer = "PYLON"

# [mqtt]
# url = "mqtt://user:password@localhost:1883"
# base_topic = "voltwire/can-gateway"
# interval_s = 5
# discovery = true
# discovery_prefix = "homeassistant"
# setpoint_ttl_s = 300          # a set point without ttl_s expires after this
# setpoint_max_ttl_s = 3600

[web]
enabled = false                 # true: the status page, JSON API and metrics at http://127.0.0.1:8080/
bind = "127.0.0.1"              # this machine only; 0.0.0.0 opens it to the network (keep a token, firewall it)
port = 8080
token = "REPLACE-WITH-A-RANDOM-TOKEN-run-init"  # set points over HTTP need `Authorization: Bearer <token>`
# token_file = "/etc/can-gateway/web-token"     # or read the token from a file (first line)
# token_env = "CAN_GATEWAY_WEB_TOKEN"            # or from an environment variable (use one of the three)
protect_reads = false           # true: /api/* and /metrics need the token too (the page itself stays open)
rate_limit_per_s = 20           # requests per second per client (bursts of twice that), else 429
"#;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
    use super::*;

    #[test]
    fn template_is_valid() {
        let s = Config::parse(&template_with_token().unwrap(), Path::new("t.toml")).unwrap();
        assert_eq!(s.inputs.len(), 2);
        // The template's [web] is there but off; its placeholder token is refused.
        assert!(s.web.is_none());
        let e = Config::parse(TEMPLATE, Path::new("t.toml")).unwrap_err();
        assert!(e.contains("web.token") && e.contains("placeholder"), "{e}");
        assert_eq!(s.outputs.len(), 1);
        assert_eq!(s.gateway.recovery_hold_ms, 10_000);
        assert_eq!(s.gateway.combine.max_charge_current, Milliamps(200_000));
        assert_eq!(s.inputs[0].domain.capacity, MilliampHours(100_000));
    }

    #[test]
    fn errors_name_the_field_and_the_fix() {
        let bad = TEMPLATE.replace("current_scale = 1.0", "current_scale = -2");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err();
        assert!(e.contains("output[0].current_scale"), "{e}");
        assert!(e.contains("fix:"), "{e}");
        let bad = TEMPLATE.replace("name = \"bms2\"", "name = \"bms1\"");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err();
        assert!(e.contains("input[1].name") && e.contains("twice"), "{e}");
        let bad = TEMPLATE.replace("slcan:///dev/ttyACM1", "can:///dev/ttyACM1");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err();
        assert!(e.contains("input[1].bus"), "{e}");
        let bad = TEMPLATE.replace("tick_ms = 100", "tick_ms = 100\ncolour = 1");
        let e = Config::parse(&bad, Path::new("t.toml")).unwrap_err();
        assert!(e.contains("colour"), "{e}");
    }

    /// One input on `virtual://in`, one output on `virtual://out`, with `extra` lines in
    /// the input section and `gateway` lines in `[gateway]`.
    fn small(gateway: &str, extra: &str) -> String {
        format!(
            "[gateway]\n{gateway}\n\n[[input]]\nname = \"bms\"\nbus = \"virtual://in\"\ncapacity_ah = 100\n{extra}\n\n\
             [[output]]\nname = \"inv\"\nbus = \"virtual://out\"\n"
        )
    }

    fn web(body: &str) -> Result<Settings, String> {
        Config::parse(
            &format!("{}\n[web]\n{body}\n", small("", "")),
            Path::new("t.toml"),
        )
    }

    #[test]
    fn web_section_is_validated_field_by_field() {
        // Absent: off. Present: on, 127.0.0.1:8080, commands off without a token.
        assert!(
            Config::parse(&small("", ""), Path::new("t.toml"))
                .unwrap()
                .web
                .is_none()
        );
        let w = web("").unwrap().web.unwrap();
        assert_eq!(w.bind.to_string(), "127.0.0.1");
        assert_eq!(w.port, 8080);
        assert!(w.token.is_none());
        assert_eq!(w.rate_limit.per_second, 20);
        let w = web("token = \"0123456789abcdef0123\"\nport = 9000\nprotect_reads = true")
            .unwrap()
            .web
            .unwrap();
        assert_eq!(w.token.unwrap().as_str(), "0123456789abcdef0123");
        assert_eq!(w.port, 9000);
        assert!(w.protect_reads);
        assert!(web("enabled = false").unwrap().web.is_none());
        let d = voltwire_testkit_free_dir();
        let file = d.join("token");
        std::fs::write(&file, "fedcba9876543210fedc\nsecond line ignored\n").unwrap();
        let w = web(&format!("token_file = \"{}\"", file.display()))
            .unwrap()
            .web
            .unwrap();
        assert_eq!(w.token.unwrap().as_str(), "fedcba9876543210fedc");
        for (body, field, words) in [
            ("bind = \"localhost:80\"", "web.bind", "not an IP address"),
            ("token = \"short\"", "web.token", "fewer than 16"),
            ("token = \"has spaces in the token\"", "web.token", "space"),
            (
                "token = \"0123456789abcdef\"\ntoken_env = \"X\"",
                "web.token",
                "more than one",
            ),
            (
                "token_file = \"/nonexistent/voltwire-token\"",
                "web.token_file",
                "cannot read",
            ),
            (
                "token_env = \"VOLTWIRE_TEST_UNSET_VARIABLE_X\"",
                "web.token_env",
                "not set",
            ),
            ("protect_reads = true", "web.protect_reads", "needs a token"),
            ("rate_limit_per_s = 0", "web.rate_limit_per_s", "outside"),
            ("port = 70000", "port", "invalid value"),
            ("colour = 1", "colour", "unknown field"),
        ] {
            let e = web(body).unwrap_err();
            assert!(e.contains(field) && e.contains(words), "{body}: {e}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    fn voltwire_testkit_free_dir() -> std::path::PathBuf {
        voltwire_testkit::scratch_dir("gw-config-web")
    }

    #[test]
    fn init_template_gets_a_fresh_token() {
        let a = template_with_token().unwrap();
        let b = template_with_token().unwrap();
        assert!(!a.contains(TOKEN_PLACEHOLDER));
        assert_ne!(a, b);
        let line = a.lines().find(|l| l.starts_with("token = ")).unwrap();
        assert_eq!(line.split('"').nth(1).unwrap().len(), 64, "{line}");
    }

    #[test]
    fn capacity_weighted_is_the_default_and_sum_is_warned() {
        let s = Config::parse(&small("", ""), Path::new("t.toml")).unwrap();
        assert_eq!(
            s.gateway.combine.current_rule,
            CurrentRule::CapacityWeighted
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let s = Config::parse(&template_with_token().unwrap(), Path::new("t.toml")).unwrap();
        assert_eq!(
            s.gateway.combine.current_rule,
            CurrentRule::CapacityWeighted
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let s = Config::parse(&small("current_rule = \"sum\"", ""), Path::new("t.toml")).unwrap();
        assert_eq!(s.gateway.combine.current_rule, CurrentRule::Sum);
        assert_eq!(s.warnings.len(), 1);
        let w = &s.warnings[0];
        assert!(
            w.contains("gateway.current_rule") && w.contains("no battery exceeds its own limit"),
            "{w}"
        );
        assert!(w.contains("not guaranteed"), "{w}");
    }

    #[test]
    fn plausibility_from_the_input_section() {
        let s = Config::parse(&small("", ""), Path::new("t.toml")).unwrap();
        let p = s.inputs[0].domain.plausibility;
        // Defaults: 16 LFP cells, 1 C = 100 A both ways, -40 ..= 80 °C.
        assert_eq!(
            p,
            Plausibility {
                min_voltage: Millivolts(32_000),
                max_voltage: Millivolts(60_800),
                max_charge_current: Milliamps(100_000),
                max_discharge_current: Milliamps(100_000),
                min_temperature: DeciCelsius(-400),
                max_temperature: DeciCelsius(800),
            }
        );
        assert_eq!(s.inputs[0].domain.on_block, BlockPolicy::Stack);
        assert_eq!(s.inputs[0].burst_window_ms, 300);
        let s = Config::parse(
            &small(
                "",
                "cells = 14\nchemistry = \"nmc\"\nmax_charge_current_a = 50\nmax_discharge_current_a = 150.5\n\
                 min_temperature_c = -20\nmax_temperature_c = 60.5\nburst_window_ms = 100\non_block = \"exclude\"",
            ),
            Path::new("t.toml"),
        )
        .unwrap();
        let p = s.inputs[0].domain.plausibility;
        assert_eq!(
            (p.min_voltage, p.max_voltage),
            (Millivolts(35_000), Millivolts(60_900))
        );
        assert_eq!(p.max_charge_current, Milliamps(50_000));
        assert_eq!(p.max_discharge_current, Milliamps(150_500));
        assert_eq!(
            (p.min_temperature, p.max_temperature),
            (DeciCelsius(-200), DeciCelsius(605))
        );
        assert_eq!(s.inputs[0].burst_window_ms, 100);
        assert_eq!(s.inputs[0].domain.on_block, BlockPolicy::Exclude);
        assert_eq!(s.warnings.len(), 1);
        assert!(
            s.warnings[0].contains("input[0].on_block"),
            "{:?}",
            s.warnings
        );
        for (extra, field) in [
            ("cells = 0", "input[0].cells"),
            ("chemistry = \"lead\"", "chemistry"),
            ("max_charge_current_a = 0", "input[0].max_charge_current_a"),
            (
                "max_discharge_current_a = -5",
                "input[0].max_discharge_current_a",
            ),
            ("min_temperature_c = -101", "input[0].min_temperature_c"),
            (
                "min_temperature_c = 10\nmax_temperature_c = 10",
                "input[0].max_temperature_c",
            ),
            ("burst_window_ms = 9", "input[0].burst_window_ms"),
            ("burst_window_ms = 5001", "input[0].burst_window_ms"),
            (
                "timeout_s = 0.3\nburst_window_ms = 300",
                "input[0].burst_window_ms",
            ),
            (
                "poll_interval_s = 0.2\nburst_window_ms = 200",
                "input[0].burst_window_ms",
            ),
            ("on_block = \"ignore\"", "on_block"),
        ] {
            let e = Config::parse(&small("", extra), Path::new("t.toml")).unwrap_err();
            assert!(e.contains(field), "{extra}: {e}");
        }
    }

    #[test]
    fn a_bus_used_twice_is_refused_naming_both_fields() {
        // An input and an output on one bus.
        let t = small("", "").replace("virtual://out", "virtual://in");
        let e = Config::parse(&t, Path::new("t.toml")).unwrap_err();
        assert!(
            e.contains("field `output[0].bus`") && e.contains("input[0].bus") && e.contains("fix:"),
            "{e}"
        );
        // The same BMS twice (other parameters do not make it another bus).
        let two = |a: &str, b: &str| {
            format!(
                "[[input]]\nname = \"a\"\nbus = \"{a}\"\ncapacity_ah = 100\n\n\
                 [[input]]\nname = \"b\"\nbus = \"{b}\"\ncapacity_ah = 100\n\n\
                 [[output]]\nname = \"inv\"\nbus = \"virtual://out\"\n"
            )
        };
        for (a, b) in [
            ("virtual://x", "virtual://x"),
            (
                "slcan:///dev/ttyACM0?bitrate=500000",
                "slcan:///dev/ttyACM0?bitrate=250000&baud=9600",
            ),
            (
                "slcan+tcp://GW.local:3333",
                "slcan+tcp://gw.local:3333?handshake=none",
            ),
            ("socketcan://can0", "socketcan://can0"),
        ] {
            // SocketCAN URLs are refused outright in a build without it.
            if a.starts_with("socketcan") && !voltwire_runtime::can::SOCKETCAN {
                continue;
            }
            let e = Config::parse(&two(a, b), Path::new("t.toml")).unwrap_err();
            assert!(
                e.contains("field `input[1].bus`") && e.contains("input[0].bus"),
                "{a} {b}: {e}"
            );
        }
        for (a, b) in [
            ("virtual://x", "virtual://y"),
            ("slcan:///dev/ttyACM0", "slcan:///dev/ttyACM1"),
            ("slcan+tcp://gw:3333", "slcan+tcp://gw:3334"),
            ("socketcan://can0", "socketcan://can1"),
            ("virtual://can0", "socketcan://can0"),
        ] {
            if b.starts_with("socketcan") && !voltwire_runtime::can::SOCKETCAN {
                continue;
            }
            assert!(
                Config::parse(&two(a, b), Path::new("t.toml")).is_ok(),
                "{a} {b}"
            );
        }
    }
}
