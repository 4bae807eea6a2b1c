//! The TOML configuration: parsed with serde (unknown keys refused), then validated section
//! by section into exact units; every error names its field.

use std::path::Path;

use serde::Deserialize;
use voltwire_core::{MilliampHours, Milliamps, Millivolts};
use voltwire_ess::aggregate::schedule::BalancingConfig;
use voltwire_ess::aggregate::soc::CoulombConfig;
use voltwire_ess::aggregate::{AggregateConfig, CvlRule};
use voltwire_ess::plausibility::{Chemistry, Plausibility};
use voltwire_ess::{CombineConfig, CurrentRule, FaultPolicy};
use voltwire_runtime::config::{ConfigError, invalid, parse};

use crate::battery::{milliamps, millivolts};
use crate::busitem::SignalMode;
use crate::direct::{DirectSpec, Kind};
use crate::own::OwnConfig;

/// The commented template of `--init`.
pub const TEMPLATE: &str = include_str!("template.toml");

/// `[service]`: the aggregate battery service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    /// Published as `com.victronenergy.battery.<name>`.
    pub name: String,
    /// `/DeviceInstance`.
    #[serde(default = "default_instance")]
    pub device_instance: u32,
    /// `/ProductName`.
    #[serde(default = "default_product")]
    pub product_name: String,
    /// `/CustomName` at start (writeable on D-Bus).
    #[serde(default)]
    pub custom_name: String,
    /// Where a `/CustomName` written on D-Bus is kept across restarts (none: not kept).
    #[serde(default)]
    pub custom_name_file: Option<std::path::PathBuf>,
    /// `properties_changed` or `items_changed`.
    #[serde(default)]
    pub signals: SignalMode,
    /// `system`, `session` or a D-Bus address (`unix:path=…`).
    #[serde(default = "default_bus")]
    pub bus: String,
}

fn default_instance() -> u32 {
    100
}
fn default_product() -> String {
    "voltwire aggregate".to_owned()
}
fn default_bus() -> String {
    "system".to_owned()
}

/// `[inputs]`: which battery services are aggregated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsSection {
    /// Matched against each battery's `/ProductName` and `/CustomName` (case-insensitive;
    /// empty = every battery but the aggregate).
    pub keyword: String,
    /// The number of batteries expected (0 = any); a different number runs with an alarm.
    #[serde(default)]
    pub expected: u16,
    /// A battery quiet for this long (s) is re-read with `GetItems`.
    #[serde(default = "default_refresh")]
    pub refresh_s: f64,
}

fn default_refresh() -> f64 {
    4.0
}

/// `[policy]`: data age, exclusion and combination.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// `exclude` or `block`.
    #[serde(default = "default_fault")]
    pub on_fault: String,
    /// A battery without news for longer (s) is stale.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Fresh for this long (s) before it is admitted (again).
    #[serde(default = "default_hold")]
    pub recovery_hold_s: f64,
    /// `smallest_times_count`, `sum` or `capacity_weighted`.
    #[serde(default = "default_rule")]
    pub current_rule: String,
    /// `minimum` or `max_until_float`.
    #[serde(default = "default_cvl")]
    pub cvl: String,
    /// With `max_until_float`: a battery asking for this voltage (V) or less is in float.
    #[serde(default)]
    pub float_voltage: Option<f64>,
    /// The stack's own charge current limit (A); none by default.
    #[serde(default)]
    pub max_charge_current: Option<f64>,
    /// The stack's own discharge current limit (A); none by default.
    #[serde(default)]
    pub max_discharge_current: Option<f64>,
    /// Cells in series of one battery (LFP): the plausible voltage range.
    #[serde(default = "default_cells")]
    pub cells: u16,
    /// The largest plausible current limit of one battery (A).
    #[serde(default = "default_plausible_current")]
    pub max_battery_current: f64,
}

fn default_fault() -> String {
    "exclude".to_owned()
}
fn default_timeout() -> f64 {
    10.0
}
fn default_hold() -> f64 {
    30.0
}
fn default_rule() -> String {
    "smallest_times_count".to_owned()
}
fn default_cvl() -> String {
    "minimum".to_owned()
}
fn default_cells() -> u16 {
    16
}
fn default_plausible_current() -> f64 {
    1000.0
}

/// `[charge]`: the aggregator's own charge rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeSection {
    /// The "fully discharged" latch.
    #[serde(default = "yes")]
    pub discharge_latch: bool,
    /// Lowest cell at or below this (V) trips the latch.
    #[serde(default = "default_trip")]
    pub latch_trip_voltage: f64,
    /// Lowest cell above this (V) releases it.
    #[serde(default = "default_release")]
    pub latch_release_voltage: f64,
    /// `[[highest cell V, A], …]`, ascending voltage.
    #[serde(default)]
    pub charge_current_table: Vec<[f64; 2]>,
    /// `[[lowest cell V, A], …]`, ascending voltage.
    #[serde(default)]
    pub discharge_current_table: Vec<[f64; 2]>,
    /// Dynamic CVL: limit as soon as any cell reaches this (V); none = off.
    #[serde(default)]
    pub max_cell_voltage: Option<f64>,
    /// Dynamic CVL: released when the highest cell is this much (V) below the maximum.
    #[serde(default = "default_margin")]
    pub cvl_release_margin: f64,
    /// Dynamic CVL: never below this pack voltage (V); default `cells` × 3.35 V.
    #[serde(default)]
    pub cvl_floor: Option<f64>,
    /// Own coulomb counter instead of the batteries' SOC.
    #[serde(default)]
    pub own_soc: bool,
    /// Own SOC: 100 % when the highest cell reaches this (V).
    #[serde(default = "default_soc_full")]
    pub soc_full_cell_voltage: f64,
    /// Own SOC: 0 % when the lowest cell falls to this (V); 0 = no empty reset.
    #[serde(default = "default_trip")]
    pub soc_empty_cell_voltage: f64,
    /// Own SOC: the share of the charge current that is stored (0.5 ..= 1).
    #[serde(default = "default_efficiency")]
    pub charge_efficiency: f64,
    /// Own SOC: the bank's capacity (Ah); default the batteries' installed capacity.
    #[serde(default)]
    pub capacity_ah: Option<f64>,
    /// Own CVL: the cell voltage (V) for each month, January first (12 values).
    #[serde(default)]
    pub charge_voltage_per_month: Option<Vec<f64>>,
    /// Balancing: the cell voltage (V) held on a balancing day; none = no balancing.
    #[serde(default)]
    pub balancing_voltage: Option<f64>,
    /// Balancing: every this many days after the last completed one.
    #[serde(default = "default_every")]
    pub balancing_every_days: u16,
    /// Balancing: done when the cell spread is below this (V).
    #[serde(default = "default_spread")]
    pub balancing_spread: f64,
    /// Turn DC-coupled PV feed-in off while the dynamic CVL limits (restored after).
    #[serde(default)]
    pub feed_in_control: bool,
    /// Where the counter, the last balancing day and the feed-in setting to restore are kept.
    #[serde(default)]
    pub state_file: Option<std::path::PathBuf>,
    /// The installation's UTC offset (minutes), for the day and the month.
    #[serde(default)]
    pub utc_offset_min: i32,
}

fn default_soc_full() -> f64 {
    3.45
}
fn default_efficiency() -> f64 {
    0.98
}
fn default_every() -> u16 {
    10
}
fn default_spread() -> f64 {
    0.025
}

fn default_margin() -> f64 {
    0.02
}

impl Default for ChargeSection {
    fn default() -> Self {
        Self {
            discharge_latch: true,
            latch_trip_voltage: default_trip(),
            latch_release_voltage: default_release(),
            charge_current_table: Vec::new(),
            discharge_current_table: Vec::new(),
            max_cell_voltage: None,
            cvl_release_margin: default_margin(),
            cvl_floor: None,
            own_soc: false,
            soc_full_cell_voltage: default_soc_full(),
            soc_empty_cell_voltage: default_trip(),
            charge_efficiency: default_efficiency(),
            capacity_ah: None,
            charge_voltage_per_month: None,
            balancing_voltage: None,
            balancing_every_days: default_every(),
            balancing_spread: default_spread(),
            feed_in_control: false,
            state_file: None,
            utc_offset_min: 0,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_trip() -> f64 {
    2.90
}
fn default_release() -> f64 {
    3.00
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// `[service]`.
    pub service: ServiceSection,
    /// `[inputs]`.
    pub inputs: InputsSection,
    /// `[policy]`.
    pub policy: PolicySection,
    /// `[charge]`.
    #[serde(default)]
    pub charge: ChargeSection,
    /// `[[direct]]`: batteries read directly.
    #[serde(default)]
    pub direct: Vec<DirectSection>,
    /// `[web]`: the status page (off without the section).
    #[serde(default)]
    pub web: Option<voltwire_runtime::web::WebSection>,
    /// `[[current]]`: Victron devices whose `/Dc/0/Current` replaces the batteries' sum.
    #[serde(default)]
    pub current: Vec<CurrentSection>,
}

/// `[[current]]`: one D-Bus current source (a Multi/Quattro, a solar charger, a shunt).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentSection {
    /// `vebus`, `solarcharger` or `battery` (a SmartShunt).
    pub service: String,
    /// Its `/DeviceInstance`.
    pub instance: u32,
    /// Negate its current (a device that counts the other way round).
    #[serde(default)]
    pub invert: bool,
}

/// A validated current source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentSource {
    /// The service-name prefix, `com.victronenergy.<service>.`.
    pub prefix: String,
    /// Its `/DeviceInstance`.
    pub instance: u32,
    /// Negate its current.
    pub invert: bool,
}

impl CurrentSource {
    /// Whether the service `name` with `/DeviceInstance` `instance` is this source.
    pub fn is(&self, name: &str, instance: Option<f64>) -> bool {
        name.starts_with(&self.prefix) && instance == Some(f64::from(self.instance))
    }

    /// A SmartShunt (or any battery service) listed as a source: it is never aggregated
    /// as a battery, whatever its name.
    pub fn is_battery_service(&self) -> bool {
        self.prefix == "com.victronenergy.battery."
    }
}

/// The kinds of current sources.
pub const CURRENT_SERVICES: [&str; 3] = ["vebus", "solarcharger", "battery"];

/// `[[direct]]`: one battery read directly with our protocol crates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectSection {
    /// Its name (letters, digits, `_`, `-`).
    pub name: String,
    /// `pylontech_can`, `pylontech_rs485`, `pace`, `daly`, `jk` or `jk_pb`.
    pub kind: String,
    /// A bus URL (`pylontech_can`) or a link URL (the others).
    pub url: String,
    /// Installed capacity (Ah).
    pub capacity_ah: f64,
    /// Pace: the pack's address; Daly: 0 (RS485 port, host 0x40) or 128 (UART, host 0x80);
    /// Pylontech RS485: the module's ADR (2 for the first).
    #[serde(default)]
    pub address: u8,
    /// Pace, Daly: the charge voltage limit it gets (V).
    #[serde(default)]
    pub charge_voltage: Option<f64>,
    /// Pace, Daly: the charge current limit it gets (A).
    #[serde(default)]
    pub charge_current: Option<f64>,
    /// Pace, Daly: the discharge current limit it gets (A).
    #[serde(default)]
    pub discharge_current: Option<f64>,
    /// Pace, Daly: seconds between polls.
    #[serde(default = "default_poll")]
    pub poll_s: f64,
    /// Pace, Daly: seconds a reply may take.
    #[serde(default = "default_reply")]
    pub timeout_s: f64,
}

fn default_poll() -> f64 {
    1.0
}
fn default_reply() -> f64 {
    0.5
}

/// Which bus to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bus {
    /// The system bus (Venus OS).
    System,
    /// The session bus.
    Session,
    /// A bus address.
    Address(String),
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The service name suffix.
    pub name: String,
    /// `/DeviceInstance`.
    pub device_instance: u32,
    /// `/ProductName`.
    pub product_name: String,
    /// `/CustomName` at start.
    pub custom_name: String,
    /// Where a written `/CustomName` is kept.
    pub custom_name_file: Option<std::path::PathBuf>,
    /// Signal style.
    pub signals: SignalMode,
    /// The bus.
    pub bus: Bus,
    /// The keyword of the batteries to aggregate.
    pub keyword: String,
    /// Re-read a quiet battery after this many ms.
    pub refresh_ms: u64,
    /// The ess rules' configuration.
    pub aggregate: AggregateConfig,
    /// The fully-discharged latch (trip, release), if on.
    pub latch: Option<(Millivolts, Millivolts)>,
    /// CCL over the highest cell.
    pub charge_table: Vec<(Millivolts, Milliamps)>,
    /// DCL over the lowest cell.
    pub discharge_table: Vec<(Millivolts, Milliamps)>,
    /// Dynamic CVL: (max cell voltage, release margin, floor), if on.
    pub dynamic_cvl: Option<(Millivolts, Millivolts, Millivolts)>,
    /// The own algorithm: coulomb counter, month table, balancing, feed-in, state file.
    pub own: OwnConfig,
    /// Batteries read directly.
    pub direct: Vec<DirectSpec>,
    /// The status page, if on.
    pub web: Option<voltwire_runtime::web::WebConfig>,
    /// Current sources (empty: the batteries' summed current). Used only while every one
    /// is fresh (the `[policy]` timeout); otherwise the batteries' sum, flagged.
    pub current: Vec<CurrentSource>,
}

fn seconds_ms(v: f64) -> Option<u64> {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked finite, positive and below a day"
    )]
    (v.is_finite() && v > 0.0 && v <= 86_400.0).then(|| (v * 1000.0).round() as u64)
}

fn table(
    rows: &[[f64; 2]],
    field: &str,
    bad: &dyn Fn(&str, &str, &str) -> ConfigError,
) -> Result<Vec<(Millivolts, Milliamps)>, ConfigError> {
    let mut out: Vec<(Millivolts, Milliamps)> = Vec::new();
    for (i, [v, a]) in rows.iter().enumerate() {
        if !(v.is_finite()
            && (1.0..=5.0).contains(v)
            && a.is_finite()
            && (0.0..=5000.0).contains(a))
        {
            return Err(bad(
                field,
                &format!(
                    "row {i} is out of range (cell voltage 1.0 ..= 5.0 V, current 0 ..= 5000 A)"
                ),
                "write [cell volts, amperes] pairs",
            ));
        }
        let row = (millivolts(*v), milliamps(*a));
        if out.last().is_some_and(|l| l.0 >= row.0) {
            return Err(bad(
                field,
                &format!("row {i} does not rise in voltage"),
                "sort the rows by ascending cell voltage",
            ));
        }
        out.push(row);
    }
    Ok(out)
}

/// Parse and validate `text` (`file` names it in errors).
///
/// # Errors
/// A [`ConfigError`] naming the field, its line and a fix.
#[allow(clippy::too_many_lines, reason = "one check per field, in file order")]
pub fn from_text(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let doc: File = parse(text, file)?;
    let bad = |field: &str, msg: &str, fix: &str| invalid(text, file, field, msg, fix);
    let svc = &doc.service;
    if svc.name.is_empty()
        || !svc
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        || svc.name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(bad(
            "service.name",
            "must be letters, digits and _ (not starting with a digit)",
            "e.g. name = \"aggregate\"",
        ));
    }
    if svc.device_instance > 1000 {
        return Err(bad("service.device_instance", "above 1000", "e.g. 100"));
    }
    let bus = match svc.bus.as_str() {
        "system" => Bus::System,
        "session" => Bus::Session,
        a if a.contains(':') => Bus::Address(a.to_owned()),
        _ => {
            return Err(bad(
                "service.bus",
                "not system, session or a D-Bus address",
                "bus = \"system\" on Venus OS",
            ));
        }
    };
    let refresh_ms = seconds_ms(doc.inputs.refresh_s)
        .ok_or_else(|| bad("inputs.refresh_s", "must be > 0 and ≤ 86400", "e.g. 4"))?;
    let p = &doc.policy;
    let timeout_ms = seconds_ms(p.timeout_s)
        .ok_or_else(|| bad("policy.timeout_s", "must be > 0 and ≤ 86400", "e.g. 10"))?;
    if refresh_ms >= timeout_ms {
        return Err(bad(
            "inputs.refresh_s",
            "must be below policy.timeout_s (a quiet battery is re-read before it goes stale)",
            "e.g. refresh_s = 4 with timeout_s = 10",
        ));
    }
    let recovery_hold_ms = if p.recovery_hold_s == 0.0 {
        0
    } else {
        seconds_ms(p.recovery_hold_s)
            .ok_or_else(|| bad("policy.recovery_hold_s", "must be 0 ..= 86400", "e.g. 30"))?
    };
    let fault_policy = match p.on_fault.as_str() {
        "exclude" => FaultPolicy::Exclude,
        "block" => FaultPolicy::Block,
        _ => {
            return Err(bad(
                "policy.on_fault",
                "not exclude or block",
                "on_fault = \"exclude\"",
            ));
        }
    };
    let current_rule = match p.current_rule.as_str() {
        "smallest_times_count" => CurrentRule::SmallestTimesCount,
        "sum" => CurrentRule::Sum,
        "capacity_weighted" => CurrentRule::CapacityWeighted,
        _ => {
            return Err(bad(
                "policy.current_rule",
                "not smallest_times_count, sum or capacity_weighted",
                "current_rule = \"smallest_times_count\"",
            ));
        }
    };
    let volts_ok = |v: f64| v.is_finite() && (1.0..=1000.0).contains(&v);
    let cvl = match (p.cvl.as_str(), p.float_voltage) {
        ("minimum", _) => CvlRule::Minimum,
        ("max_until_float", Some(v)) if volts_ok(v) => CvlRule::MaxUntilFloat {
            float: millivolts(v),
        },
        ("max_until_float", _) => {
            return Err(bad(
                "policy.float_voltage",
                "cvl = max_until_float needs a float_voltage (1 ..= 1000 V)",
                "e.g. float_voltage = 53.6",
            ));
        }
        _ => {
            return Err(bad(
                "policy.cvl",
                "not minimum or max_until_float",
                "cvl = \"minimum\"",
            ));
        }
    };
    let amps = |v: Option<f64>, field: &str| -> Result<Milliamps, ConfigError> {
        match v {
            None => Ok(Milliamps(i32::MAX)),
            Some(a) if a.is_finite() && (0.0..=100_000.0).contains(&a) => Ok(milliamps(a)),
            Some(_) => Err(bad(field, "must be 0 ..= 100000 A", "e.g. 200")),
        }
    };
    let max_charge_current = amps(p.max_charge_current, "policy.max_charge_current")?;
    let max_discharge_current = amps(p.max_discharge_current, "policy.max_discharge_current")?;
    if p.cells == 0 || p.cells > 64 {
        return Err(bad(
            "policy.cells",
            "must be 1 ..= 64",
            "16 for a 48 V LFP pack",
        ));
    }
    if !(p.max_battery_current.is_finite()
        && p.max_battery_current > 0.0
        && p.max_battery_current <= 100_000.0)
    {
        return Err(bad(
            "policy.max_battery_current",
            "must be > 0 and ≤ 100000 A",
            "e.g. 1000",
        ));
    }
    let one = milliamps(p.max_battery_current);
    let c = &doc.charge;
    let latch = if c.discharge_latch {
        let ok = |v: f64| v.is_finite() && (1.0..=5.0).contains(&v);
        if !ok(c.latch_trip_voltage) {
            return Err(bad(
                "charge.latch_trip_voltage",
                "must be 1.0 ..= 5.0 V",
                "2.90 for LFP",
            ));
        }
        if !ok(c.latch_release_voltage) || c.latch_release_voltage <= c.latch_trip_voltage {
            return Err(bad(
                "charge.latch_release_voltage",
                "must be above latch_trip_voltage and ≤ 5.0 V",
                "3.00 for LFP",
            ));
        }
        Some((
            millivolts(c.latch_trip_voltage),
            millivolts(c.latch_release_voltage),
        ))
    } else {
        None
    };
    let charge_table = table(&c.charge_current_table, "charge.charge_current_table", &bad)?;
    let dynamic_cvl = match c.max_cell_voltage {
        None => None,
        Some(v) if v.is_finite() && (2.0..=4.5).contains(&v) => {
            if !(c.cvl_release_margin.is_finite() && (0.001..=0.5).contains(&c.cvl_release_margin))
            {
                return Err(bad(
                    "charge.cvl_release_margin",
                    "must be 0.001 ..= 0.5 V",
                    "e.g. 0.02",
                ));
            }
            let floor = match c.cvl_floor {
                None => Millivolts(3350i32.saturating_mul(i32::from(p.cells))),
                Some(f) if volts_ok(f) => millivolts(f),
                Some(_) => {
                    return Err(bad("charge.cvl_floor", "must be 1 ..= 1000 V", "e.g. 53.6"));
                }
            };
            Some((millivolts(v), millivolts(c.cvl_release_margin), floor))
        }
        Some(_) => {
            return Err(bad(
                "charge.max_cell_voltage",
                "must be 2.0 ..= 4.5 V",
                "3.45 for LFP",
            ));
        }
    };
    let discharge_table = table(
        &c.discharge_current_table,
        "charge.discharge_current_table",
        &bad,
    )?;
    let own = own_section(c, p.cells, dynamic_cvl.is_some(), &bad)?;
    let direct = doc
        .direct
        .iter()
        .enumerate()
        .map(|(i, d)| direct_section(i, d, &bad))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(d) = direct
        .iter()
        .enumerate()
        .find(|(i, d)| direct.iter().take(*i).any(|e| e.name == d.name))
    {
        return Err(bad(
            "direct.name",
            &format!("\"{}\" is used twice", d.1.name),
            "give each [[direct]] battery its own name",
        ));
    }
    let web = match &doc.web {
        Some(w) => w
            .validate("aggregator")
            .map_err(|e| bad(&e.field, &e.message, &e.fix))?,
        None => None,
    };
    let current = current_sources(&doc.current, svc.device_instance, &bad)?;
    Ok(Config {
        name: svc.name.clone(),
        device_instance: svc.device_instance,
        product_name: svc.product_name.clone(),
        custom_name: svc.custom_name.clone(),
        custom_name_file: svc.custom_name_file.clone(),
        signals: svc.signals,
        bus,
        keyword: doc.inputs.keyword.clone(),
        refresh_ms,
        aggregate: AggregateConfig {
            combine: CombineConfig {
                current_rule,
                max_charge_current,
                max_discharge_current,
            },
            cvl,
            fault_policy,
            timeout_ms,
            recovery_hold_ms,
            plausibility: Plausibility::for_pack(p.cells, Chemistry::Lfp, one, one),
            expected: doc.inputs.expected,
        },
        latch,
        charge_table,
        discharge_table,
        dynamic_cvl,
        own,
        direct,
        web,
        current,
    })
}

fn current_sources(
    rows: &[CurrentSection],
    own_instance: u32,
    bad: &dyn Fn(&str, &str, &str) -> ConfigError,
) -> Result<Vec<CurrentSource>, ConfigError> {
    let mut out: Vec<CurrentSource> = Vec::new();
    for (i, c) in rows.iter().enumerate() {
        if !CURRENT_SERVICES.contains(&c.service.as_str()) {
            return Err(bad(
                &format!("current[{i}].service"),
                &format!("\"{}\" is not a current source", c.service),
                "use \"vebus\", \"solarcharger\" or \"battery\" (a SmartShunt)",
            ));
        }
        let s = CurrentSource {
            prefix: format!("com.victronenergy.{}.", c.service),
            instance: c.instance,
            invert: c.invert,
        };
        if s.is_battery_service() && s.instance == own_instance {
            return Err(bad(
                &format!("current[{i}].instance"),
                &format!("battery {own_instance} is this aggregate's own device_instance"),
                "give the SmartShunt's /DeviceInstance (the aggregate's current would feed itself)",
            ));
        }
        if out
            .iter()
            .any(|o| o.prefix == s.prefix && o.instance == s.instance)
        {
            return Err(bad(
                &format!("current[{i}].instance"),
                &format!("{} {} is listed twice", c.service, c.instance),
                "list each device once (it would be counted twice)",
            ));
        }
        out.push(s);
    }
    Ok(out)
}

/// One `[[direct]]` entry (`i`: its position, in errors).
fn direct_section(
    i: usize,
    d: &DirectSection,
    bad: &dyn Fn(&str, &str, &str) -> ConfigError,
) -> Result<DirectSpec, ConfigError> {
    let at = |f: &str| format!("direct[{i}].{f}");
    if d.name.is_empty()
        || !d
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad(
            &at("name"),
            "must be letters, digits, _ and -",
            "e.g. name = \"rack1\"",
        ));
    }
    if !(d.capacity_ah.is_finite() && d.capacity_ah > 0.0 && d.capacity_ah <= 100_000.0) {
        return Err(bad(
            &at("capacity_ah"),
            "must be > 0 and ≤ 100000 Ah",
            "the battery's capacity, e.g. 100",
        ));
    }
    let capacity = crate::battery::milliamp_hours(d.capacity_ah);
    let kind = match d.kind.as_str() {
        "pylontech_can" => {
            let bus = d
                .url
                .parse()
                .map_err(|e: voltwire_runtime::can::BusUrlError| {
                    bad(
                        &at("url"),
                        &e.to_string(),
                        voltwire_runtime::can::BusUrl::HELP,
                    )
                })?;
            Kind::PylontechCan { bus }
        }
        "pace" | "daly" | "jk" | "jk_pb" => {
            let link = serial_bms(d, &at, bad)?;
            let kind = d.kind.as_str();
            if kind == "daly" {
                if !matches!(d.address, 0 | 0x80) {
                    return Err(bad(
                        &at("address"),
                        "a Daly board is addressed through its port: 0 (RS485) or 128 (UART)",
                        "address = 0 for the RS485 port",
                    ));
                }
                Kind::Daly(link)
            } else if kind == "jk" {
                if d.address != 0 {
                    return Err(bad(
                        &at("address"),
                        "a JK BMS (4E 57) has no bus address",
                        "remove the key (one BMS per link)",
                    ));
                }
                Kind::Jk(link)
            } else if kind == "jk_pb" {
                if !(1..=15).contains(&d.address) {
                    return Err(bad(
                        &at("address"),
                        "a JK-PB is polled at its DIP address 1..=15 (0 makes it the bus master)",
                        "address = 1 for the first pack",
                    ));
                }
                Kind::JkPb(link)
            } else {
                Kind::Pace {
                    link: link.link,
                    address: link.address,
                    interval: link.interval,
                    timeout: link.timeout,
                    limits: link.limits,
                }
            }
        }
        "pylontech_rs485" => pylontech_rs485(d, &at, bad)?,
        _ => {
            return Err(bad(
                &at("kind"),
                "not pylontech_can, pylontech_rs485, pace, daly, jk or jk_pb",
                "kind = \"pylontech_can\"",
            ));
        }
    };
    Ok(DirectSpec {
        name: d.name.clone(),
        kind,
        capacity,
    })
}

/// The link, poll timing and limits of a BMS polled on a byte link (`pace`, `daly`).
fn serial_bms(
    d: &DirectSection,
    at: &dyn Fn(&str) -> String,
    bad: &dyn Fn(&str, &str, &str) -> ConfigError,
) -> Result<crate::direct::SerialBms, ConfigError> {
    let kind = d.kind.as_str();
    let link = d
        .url
        .parse()
        .map_err(|e: voltwire_runtime::link::UrlError| {
            bad(
                &at("url"),
                &e.to_string(),
                "give serial:///dev/ttyUSB0?baud=9600 or tcp://HOST:PORT",
            )
        })?;
    let volts = |v: Option<f64>, f: &str| match v {
        Some(v) if v.is_finite() && (1.0..=1000.0).contains(&v) => Ok(millivolts(v)),
        _ => Err(bad(
            &at(f),
            &format!("a {kind} BMS sends no limits: give one (1 ..= 1000 V)"),
            "e.g. 55.2 for 16 LFP cells",
        )),
    };
    let amps = |v: Option<f64>, f: &str| match v {
        Some(v) if v.is_finite() && (0.0..=5000.0).contains(&v) => Ok(milliamps(v)),
        _ => Err(bad(
            &at(f),
            &format!("a {kind} BMS sends no limits: give one (0 ..= 5000 A)"),
            "e.g. 50",
        )),
    };
    let interval = seconds_ms(d.poll_s)
        .ok_or_else(|| bad(&at("poll_s"), "must be > 0 and ≤ 86400", "e.g. 1"))?;
    let timeout = seconds_ms(d.timeout_s)
        .ok_or_else(|| bad(&at("timeout_s"), "must be > 0 and ≤ 86400", "e.g. 0.5"))?;
    Ok(crate::direct::SerialBms {
        link,
        address: d.address,
        interval: std::time::Duration::from_millis(interval),
        timeout: std::time::Duration::from_millis(timeout),
        limits: (
            volts(d.charge_voltage, "charge_voltage")?,
            amps(d.charge_current, "charge_current")?,
            amps(d.discharge_current, "discharge_current")?,
        ),
    })
}

/// A Pylontech module on RS485: its own limits (no limit keys), the module's ADR.
fn pylontech_rs485(
    d: &DirectSection,
    at: &dyn Fn(&str) -> String,
    bad: &dyn Fn(&str, &str, &str) -> ConfigError,
) -> Result<Kind, ConfigError> {
    for (key, given) in [
        ("charge_voltage", d.charge_voltage.is_some()),
        ("charge_current", d.charge_current.is_some()),
        ("discharge_current", d.discharge_current.is_some()),
    ] {
        if given {
            return Err(bad(
                &at(key),
                "a Pylontech module sends its own limits (0x92)",
                "remove the key",
            ));
        }
    }
    if !(2..=0xFE).contains(&d.address) {
        return Err(bad(
            &at("address"),
            "must be the module's ADR (2 ..= 254)",
            "address = 2 for the first module",
        ));
    }
    let mut d = d.clone();
    d.charge_voltage = Some(1.0);
    d.charge_current = Some(0.0);
    d.discharge_current = Some(0.0);
    let l = serial_bms(&d, &at, bad)?;
    Ok(Kind::PylontechRs485 {
        link: l.link,
        address: l.address,
        interval: l.interval,
        timeout: l.timeout,
    })
}

fn cell_ok(v: f64) -> bool {
    v.is_finite() && (2.0..=4.5).contains(&v)
}

/// The own coulomb counter's keys of `[charge]`.
fn coulomb_section(
    c: &ChargeSection,
    bad: &dyn Fn(&str, &str, &str) -> ConfigError,
) -> Result<Option<(CoulombConfig, Option<MilliampHours>)>, ConfigError> {
    if !c.own_soc {
        return Ok(None);
    }
    if !cell_ok(c.soc_full_cell_voltage) {
        return Err(bad(
            "charge.soc_full_cell_voltage",
            "must be 2.0 ..= 4.5 V",
            "3.45 for LFP",
        ));
    }
    let v = c.soc_empty_cell_voltage;
    let empty = if v == 0.0 {
        None
    } else if cell_ok(v) && v < c.soc_full_cell_voltage {
        Some(millivolts(v))
    } else {
        return Err(bad(
            "charge.soc_empty_cell_voltage",
            "must be 2.0 ..= 4.5 V and below soc_full_cell_voltage, or 0 (no reset)",
            "2.90 for LFP",
        ));
    };
    if !(c.charge_efficiency.is_finite() && (0.5..=1.0).contains(&c.charge_efficiency)) {
        return Err(bad(
            "charge.charge_efficiency",
            "must be 0.5 ..= 1.0",
            "0.98 for LFP",
        ));
    }
    let capacity = match c.capacity_ah {
        None => None,
        Some(a) if a.is_finite() && a > 0.0 && a <= 100_000.0 => {
            Some(crate::battery::milliamp_hours(a))
        }
        Some(_) => {
            return Err(bad(
                "charge.capacity_ah",
                "must be > 0 and ≤ 100000 Ah",
                "the sum of your batteries' capacities, e.g. 300",
            ));
        }
    };
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked 0.5 ..= 1.0"
    )]
    let efficiency_permille = (c.charge_efficiency * 1000.0).round() as u16;
    Ok(Some((
        CoulombConfig {
            efficiency_permille,
            full_cell: millivolts(c.soc_full_cell_voltage),
            empty_cell: empty,
            max_gap_ms: 10_000,
            save_step: MilliampHours(0),
        },
        capacity,
    )))
}

/// The own algorithm's keys of `[charge]`.
fn own_section(
    c: &ChargeSection,
    cells: u16,
    dynamic_cvl: bool,
    bad: &dyn Fn(&str, &str, &str) -> ConfigError,
) -> Result<OwnConfig, ConfigError> {
    let coulomb = coulomb_section(c, bad)?;
    let month_table = match &c.charge_voltage_per_month {
        None => None,
        Some(v) if v.len() == 12 && v.iter().all(|x| cell_ok(*x)) => {
            let mut t = [Millivolts(0); 12];
            for (slot, x) in t.iter_mut().zip(v) {
                *slot = millivolts(*x);
            }
            Some(t)
        }
        Some(_) => {
            return Err(bad(
                "charge.charge_voltage_per_month",
                "must be 12 cell voltages (January first), each 2.0 ..= 4.5 V",
                "e.g. [3.55, 3.50, 3.50, 3.45, 3.40, 3.40, 3.40, 3.40, 3.45, 3.50, 3.50, 3.55]",
            ));
        }
    };
    let balancing = match c.balancing_voltage {
        None => None,
        Some(v) if cell_ok(v) => {
            if !(1..=365).contains(&c.balancing_every_days) {
                return Err(bad(
                    "charge.balancing_every_days",
                    "must be 1 ..= 365",
                    "e.g. 10",
                ));
            }
            if !(c.balancing_spread.is_finite() && (0.001..=0.5).contains(&c.balancing_spread)) {
                return Err(bad(
                    "charge.balancing_spread",
                    "must be 0.001 ..= 0.5 V",
                    "0.025",
                ));
            }
            Some(BalancingConfig {
                every_days: c.balancing_every_days,
                voltage: millivolts(v),
                goal_spread: millivolts(c.balancing_spread),
            })
        }
        Some(_) => {
            return Err(bad(
                "charge.balancing_voltage",
                "must be 2.0 ..= 4.5 V",
                "e.g. 3.50 for LFP",
            ));
        }
    };
    if c.feed_in_control && !dynamic_cvl {
        return Err(bad(
            "charge.feed_in_control",
            "turns feed-in off while the dynamic CVL limits, which is off",
            "set max_cell_voltage (e.g. 3.45) or feed_in_control = false",
        ));
    }
    if c.state_file.is_none() && (coulomb.is_some() || balancing.is_some()) {
        return Err(bad(
            "charge.state_file",
            "own_soc and balancing_voltage keep their state across restarts in a file",
            "e.g. state_file = \"/data/aggregator/state.toml\"",
        ));
    }
    if !(-900..=900).contains(&c.utc_offset_min) {
        return Err(bad(
            "charge.utc_offset_min",
            "must be -900 ..= 900 minutes",
            "60 for UTC+1",
        ));
    }
    // The save step: 0.25 % of the capacity, or 1 Ah until the capacity is known.
    let coulomb = coulomb.map(|(mut cc, cap)| {
        cc.save_step = MilliampHours(cap.map_or(1000, |c| (c.0 / 400).max(1)));
        (cc, cap)
    });
    Ok(OwnConfig {
        coulomb,
        month_table,
        balancing,
        feed_in: c.feed_in_control,
        state_file: c.state_file.clone(),
        utc_offset_s: c.utc_offset_min.saturating_mul(60),
        cells,
    })
}

/// Read, parse and validate the file at `path`.
///
/// # Errors
/// As [`from_text`], and an unreadable file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = voltwire_runtime::config::read(path)?;
    from_text(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Config, String> {
        from_text(text, Path::new("t.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_template_is_valid() {
        let c = check(TEMPLATE).unwrap();
        assert_eq!(c.name, "aggregate");
        assert_eq!(c.aggregate.timeout_ms, 10_000);
        assert_eq!(c.latch, Some((Millivolts(2900), Millivolts(3000))));
    }

    #[test]
    fn errors_name_the_field() {
        let t = TEMPLATE.replace("timeout_s = 10", "timeout_s = -1");
        assert!(check(&t).unwrap_err().contains("policy.timeout_s"));
        let t = TEMPLATE.replace("name = \"aggregate\"", "name = \"a.b\"");
        assert!(check(&t).unwrap_err().contains("service.name"));
        let t = TEMPLATE.replace("on_fault = \"exclude\"", "on_fault = \"ignore\"");
        assert!(check(&t).unwrap_err().contains("policy.on_fault"));
        let t = TEMPLATE.replace(
            "charge_current_table = []",
            "charge_current_table = [[3.5, 10.0], [3.4, 0.0]]",
        );
        assert!(
            check(&t)
                .unwrap_err()
                .contains("charge.charge_current_table")
        );
        let t = TEMPLATE.replace(
            "latch_release_voltage = 3.00",
            "latch_release_voltage = 2.8",
        );
        assert!(
            check(&t)
                .unwrap_err()
                .contains("charge.latch_release_voltage")
        );
        let t = format!("{TEMPLATE}\n[extra]\n");
        assert!(check(&t).is_err());
    }

    #[test]
    fn web_section() {
        assert!(check(TEMPLATE).unwrap().web.is_none());
        let t = format!("{TEMPLATE}\n[web]\nport = 0\n");
        assert_eq!(check(&t).unwrap().web.map(|w| w.port), Some(0));
        let t = format!("{TEMPLATE}\n[web]\nenabled = false\n");
        assert!(check(&t).unwrap().web.is_none());
        let t = format!("{TEMPLATE}\n[web]\nbind = \"nowhere\"\n");
        assert!(check(&t).unwrap_err().contains("web.bind"));
    }

    /// The template with its commented `[[direct]]` examples uncommented.
    fn direct_examples() -> String {
        // The template's two commented examples, uncommented.
        let start = TEMPLATE.find("# [[direct]]").unwrap();
        let end = TEMPLATE.find("# --- Status page").unwrap();
        let examples: Vec<&str> = TEMPLATE[start..end]
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(k)
                    if k.starts_with("[[")
                        || k.contains(" = ") && k.starts_with(char::is_lowercase) =>
                {
                    k
                }
                _ => l,
            })
            .collect();
        format!(
            "{}{}\n{}",
            &TEMPLATE[..start],
            examples.join("\n"),
            &TEMPLATE[end..]
        )
    }

    #[test]
    fn direct_batteries() {
        assert!(check(TEMPLATE).unwrap().direct.is_empty());
        let on = direct_examples();
        let c = check(&on).unwrap();
        assert_eq!(c.direct.len(), 5);
        assert_eq!(c.direct[0].name, "rack1");
        assert!(matches!(c.direct[0].kind, Kind::PylontechCan { .. }));
        assert_eq!(c.direct[1].capacity, MilliampHours(100_000));
        let Kind::Pace {
            limits, address, ..
        } = &c.direct[1].kind
        else {
            panic!("{:?}", c.direct[1].kind);
        };
        assert_eq!(*address, 0);
        assert_eq!(
            *limits,
            (Millivolts(55_200), Milliamps(50_000), Milliamps(100_000))
        );
        let Kind::Daly(daly) = &c.direct[2].kind else {
            panic!("{:?}", c.direct[2].kind);
        };
        assert_eq!(
            (daly.address, daly.limits),
            (
                0,
                (Millivolts(55_200), Milliamps(50_000), Milliamps(100_000))
            )
        );
        assert_eq!(daly.link.to_string(), "serial:///dev/ttyUSB1?baud=9600");
        assert!(
            matches!(
                &c.direct[3].kind,
                Kind::PylontechRs485 { address: 2, interval, .. }
                    if *interval == std::time::Duration::from_secs(1)
            ),
            "{:?}",
            c.direct[3].kind
        );
        let Kind::Jk(jk) = &c.direct[4].kind else {
            panic!("{:?}", c.direct[4].kind);
        };
        assert_eq!(
            (jk.limits, c.direct[4].capacity),
            (
                (Millivolts(55_200), Milliamps(100_000), Milliamps(150_000)),
                MilliampHours(280_000)
            )
        );
    }

    #[test]
    fn direct_battery_errors_name_the_field() {
        let on = direct_examples();
        for (from, to, field) in [
            ("kind = \"pace\"", "kind = \"jbd\"", "direct[1].kind"),
            (
                "kind = \"daly\"\n",
                "kind = \"daly\"\naddress = 5\n",
                "direct[2].address",
            ),
            (
                "discharge_current = 100\n#\n# A Pylontech",
                "#\n# A Pylontech",
                "direct[2].discharge_current",
            ),
            ("address = 2\n", "address = 1\n", "direct[3].address"),
            (
                "kind = \"jk\"\n",
                "kind = \"jk\"\naddress = 1\n",
                "direct[4].address",
            ),
            (
                "discharge_current = 150\n",
                "",
                "direct[4].discharge_current",
            ),
            (
                "address = 2\n",
                "address = 2\ncharge_voltage = 55.2\n",
                "direct[3].charge_voltage",
            ),
            ("charge_voltage = 55.2\n", "", "direct[1].charge_voltage"),
            (
                "url = \"slcan:///dev/ttyACM0?bitrate=500000\"",
                "url = \"can0\"",
                "direct[0].url",
            ),
            ("name = \"pace1\"", "name = \"rack1\"", "direct.name"),
            (
                "capacity_ah = 100\n",
                "capacity_ah = 0\n",
                "direct[0].capacity_ah",
            ),
        ] {
            let t = on.replacen(from, to, 1);
            assert_ne!(t, on, "{from}");
            let e = check(&t).unwrap_err();
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn jk_pb_needs_its_dip_address() {
        let on = direct_examples();
        let pb = on.replacen("kind = \"jk\"\n", "kind = \"jk_pb\"\naddress = 3\n", 1);
        assert_ne!(pb, on);
        let c = check(&pb).unwrap();
        let Kind::JkPb(b) = &c.direct[4].kind else {
            panic!("{:?}", c.direct[4].kind);
        };
        assert_eq!(b.address, 3);
        for a in ["0", "16"] {
            let e = check(&pb.replace("address = 3\n", &format!("address = {a}\n"))).unwrap_err();
            assert!(e.contains("direct[4].address"), "{e}");
        }
    }

    #[test]
    fn current_sources_are_validated() {
        assert!(check(TEMPLATE).unwrap().current.is_empty());
        let on = format!(
            "{TEMPLATE}\n[[current]]\nservice = \"solarcharger\"\ninstance = 279\n\n\
             [[current]]\nservice = \"vebus\"\ninstance = 276\ninvert = true\n"
        );
        let c = check(&on).unwrap();
        assert_eq!(
            c.current,
            vec![
                CurrentSource {
                    prefix: "com.victronenergy.solarcharger.".into(),
                    instance: 279,
                    invert: false
                },
                CurrentSource {
                    prefix: "com.victronenergy.vebus.".into(),
                    instance: 276,
                    invert: true
                },
            ]
        );
        let e = check(&on.replace("\"vebus\"", "\"inverter\"")).unwrap_err();
        assert!(e.contains("current[1].service"), "{e}");
        let e = check(
            &on.replace("276", "279")
                .replace("\"vebus\"", "\"solarcharger\""),
        )
        .unwrap_err();
        assert!(e.contains("current[1].instance"), "{e}");
        // A shunt is a battery service: its instance must not be the aggregate's own.
        let own = check(TEMPLATE).unwrap().device_instance;
        let shunt =
            |n: u32| format!("{TEMPLATE}\n[[current]]\nservice = \"battery\"\ninstance = {n}\n");
        let e = check(&shunt(own)).unwrap_err();
        assert!(e.contains("current[0].instance"), "{e}");
        assert!(e.contains("own device_instance"), "{e}");
        let c = check(&shunt(own + 1)).unwrap();
        assert!(c.current[0].is_battery_service());
        assert!(c.current[0].is("com.victronenergy.battery.ttyS5", Some(f64::from(own + 1))));
        assert!(!c.current[0].is("com.victronenergy.battery.ttyS5", Some(f64::from(own))));
        assert!(!c.current[0].is("com.victronenergy.battery.ttyS5", None));
        assert!(!c.current[0].is("com.victronenergy.vebus.ttyS4", Some(f64::from(own + 1))));
    }

    #[test]
    fn the_own_algorithm_keys() {
        assert_eq!(check(TEMPLATE).unwrap().own.coulomb, None);
        let t = TEMPLATE.replace("own_soc = false", "own_soc = true");
        assert!(check(&t).unwrap_err().contains("charge.state_file"));
        let on = TEMPLATE
            .replace("own_soc = false", "own_soc = true")
            .replace("# capacity_ah = 300", "capacity_ah = 300")
            .replace("# charge_voltage_per_month", "charge_voltage_per_month")
            .replace("# balancing_voltage", "balancing_voltage")
            .replace("# state_file", "state_file")
            .replace("# max_cell_voltage", "max_cell_voltage")
            .replace("feed_in_control = false", "feed_in_control = true")
            .replace("utc_offset_min = 0", "utc_offset_min = 60");
        let c = check(&on).unwrap();
        let (cc, cap) = c.own.coulomb.unwrap();
        assert_eq!(cap, Some(MilliampHours(300_000)));
        assert_eq!(cc.efficiency_permille, 980);
        assert_eq!(cc.full_cell, Millivolts(3450));
        assert_eq!(cc.empty_cell, Some(Millivolts(2900)));
        // 0.25 % of 300 Ah.
        assert_eq!(cc.save_step, MilliampHours(750));
        let t = c.own.month_table.unwrap();
        assert_eq!((t[0], t[5]), (Millivolts(3550), Millivolts(3400)));
        let b = c.own.balancing.unwrap();
        assert_eq!(
            (b.every_days, b.voltage, b.goal_spread),
            (10, Millivolts(3500), Millivolts(25))
        );
        assert!(c.own.feed_in);
        assert_eq!(c.own.utc_offset_s, 3600);
        for (from, to, field) in [
            (
                "charge_efficiency = 0.98",
                "charge_efficiency = 1.5",
                "charge.charge_efficiency",
            ),
            (
                "3.55, 3.50, 3.50,",
                "3.55, 3.50,",
                "charge.charge_voltage_per_month",
            ),
            (
                "balancing_voltage = 3.50",
                "balancing_voltage = 9",
                "charge.balancing_voltage",
            ),
            (
                "balancing_every_days = 10",
                "balancing_every_days = 0",
                "charge.balancing_every_days",
            ),
            (
                "soc_empty_cell_voltage = 2.90",
                "soc_empty_cell_voltage = 3.5",
                "charge.soc_empty_cell_voltage",
            ),
            (
                "max_cell_voltage = 3.45",
                "# no dynamic CVL",
                "charge.feed_in_control",
            ),
            (
                "utc_offset_min = 60",
                "utc_offset_min = 6000",
                "charge.utc_offset_min",
            ),
        ] {
            let t = on.replace(from, to);
            let e = check(&t).unwrap_err();
            assert!(e.contains(field), "{field}: {e}");
        }
    }
}
