//! The TOML configuration, its template (`--init`) and its validation (`--check-config`).
//!
//! Parsing goes through `voltwire_runtime::config` (unknown fields and types are errors with
//! file, line and column); [`Config::validate`] checks meaning and converts every float at
//! this edge into the exact integer units of `voltwire_ess::pace2pylon`. Every error names
//! the field and the fix.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use voltwire_core::{MilliampHours, Milliamps, Millivolts};
use voltwire_ess::pace2pylon::{
    MAX_PACKS, MergeConfig, PackSettings, RebalanceConfig, SocSource, SupervisorConfig,
    TariffWindow,
};
use voltwire_runtime::link::LinkUrl;

/// The commented template `--init` writes.
pub const TEMPLATE: &str = include_str!("../pace2pylon.toml");

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[inverter]`: the Pylontech RS485 side.
    pub inverter: InverterSection,
    /// `[packs]`: the Pace packs.
    pub packs: PacksSection,
    /// `[limits]`: what is offered to the inverter.
    #[serde(default)]
    pub limits: LimitsSection,
    /// `[supervisor]`: the safety rules.
    #[serde(default)]
    pub supervisor: SupervisorSection,
    /// `[rebalance]`: the forced balancing cycle.
    #[serde(default)]
    pub rebalance: RebalanceSection,
    /// `[mqtt]`: telemetry and commands (optional).
    pub mqtt: Option<MqttSection>,
    /// `[meter]`: the Eco-Worthy coulomb meter (optional).
    pub meter: Option<MeterSection>,
    /// `[web]`: the shared status page, JSON API and metrics (optional; the runtime's
    /// section, off unless present with `enabled = true`, its default).
    pub web: Option<voltwire_runtime::web::WebSection>,
    /// `[priority]`: the inverter's priorities switched by Modbus writes (optional).
    pub priority: Option<PrioritySection>,
}

/// `[priority]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrioritySection {
    /// Link to the inverter's Modbus port.
    pub link: String,
    /// `rtu` (default) or `tcp`.
    #[serde(default = "default_transport")]
    pub transport: String,
    /// Slave address / unit id.
    #[serde(default = "one_u8")]
    pub address: u8,
    /// Reply timeout, s.
    #[serde(default = "one")]
    pub timeout_s: f64,
    /// First retry after a failed write, s (doubling).
    #[serde(default = "two")]
    pub retry_s: f64,
    /// Longest retry delay, s.
    #[serde(default = "sixty")]
    pub retry_max_s: f64,
    /// The registers and their values per priority.
    pub register: Vec<RegisterSection>,
}

/// `[[priority.register]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSection {
    /// Holding register address.
    pub register: u16,
    /// Value in normal operation.
    pub normal: u16,
    /// Value while grid charging is granted.
    pub grid_charge: u16,
}

fn default_transport() -> String {
    "rtu".to_owned()
}
const fn two() -> f64 {
    2.0
}
const fn sixty() -> f64 {
    60.0
}

/// `[meter]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterSection {
    /// Link (Modbus RTU; a TCP console server carries RTU frames as they are).
    pub link: String,
    /// Modbus address.
    #[serde(default = "one_u8")]
    pub address: u8,
    /// Poll period, s.
    #[serde(default = "one")]
    pub poll_interval_s: f64,
    /// Reply timeout, s.
    #[serde(default = "one")]
    pub timeout_s: f64,
}

const fn one_u8() -> u8 {
    1
}

/// `[mqtt]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    /// `mqtt://[user:pass@]host[:port]` or `mqtts://…`.
    pub url: String,
    /// Topic base.
    #[serde(default = "default_base")]
    pub base_topic: String,
    /// Publish Home Assistant discovery.
    #[serde(default = "yes")]
    pub discovery: bool,
    /// Discovery prefix.
    #[serde(default = "default_prefix")]
    pub discovery_prefix: String,
    /// State every … s.
    #[serde(default = "five")]
    pub interval_s: f64,
}

fn default_base() -> String {
    "pace2pylon".into()
}
fn default_prefix() -> String {
    "homeassistant".into()
}
const fn yes() -> bool {
    true
}
const fn five() -> f64 {
    5.0
}

/// The validated `[mqtt]`.
#[derive(Debug, Clone)]
pub struct Mqtt {
    /// Broker.
    pub url: voltwire_runtime::mqtt::BrokerUrl,
    /// Topics.
    pub topics: voltwire_runtime::mqtt::Topics,
    /// Discovery on.
    pub discovery: bool,
    /// Discovery prefix.
    pub discovery_prefix: String,
    /// State period.
    pub interval: Duration,
}

/// `[inverter]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InverterSection {
    /// `serial:///dev/ttyUSB0?baud=9600` or `tcp://host:port`.
    pub link: String,
    /// Battery address the inverter polls (2 = master).
    #[serde(default = "default_address")]
    pub address: u8,
    /// `one_module` or `module_per_pack`.
    #[serde(default)]
    pub present_as: PresentAs,
    /// Answer nothing while not ready / disabled (the inverter's no-BMS mode takes over).
    #[serde(default)]
    pub silence: bool,
}

const fn default_address() -> u8 {
    2
}

/// How the merged battery is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresentAs {
    /// One module carrying the merged values.
    #[default]
    OneModule,
    /// One module per pack (addresses `address`, `address + 1`, …) for 0x42/0x44.
    ModulePerPack,
}

/// `[packs]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacksSection {
    /// One link per pack.
    pub links: Vec<String>,
    /// The Pace address the packs answer at (0 on a pack alone on its port).
    #[serde(default)]
    pub address: u8,
    /// Per pack, its Pace address (overrides `address`): packs on one RS485 bus share a
    /// link and differ here.
    pub addresses: Option<Vec<u8>>,
    /// Analog + status every … s.
    #[serde(default = "one")]
    pub poll_interval_s: f64,
    /// Configuration reads (0xD5/0xD7/0xD9/0xDB) every … s.
    #[serde(default = "ten")]
    pub config_interval_s: f64,
    /// Reply timeout, s.
    #[serde(default = "one")]
    pub timeout_s: f64,
    /// A pack without an update for this long is "no comm", s.
    #[serde(default = "ten")]
    pub no_comm_s: f64,
    /// Settings used for a pack that refuses a configuration read (optional; without it
    /// such a pack is missing data and both directions stay off).
    pub fallback: Option<FallbackSection>,
}

const fn one() -> f64 {
    1.0
}
const fn ten() -> f64 {
    10.0
}

/// `[packs.fallback]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackSection {
    /// Pack over-voltage protection, V.
    pub over_voltage_v: f64,
    /// Pack under-voltage protection, V.
    pub under_voltage_v: f64,
    /// Charge over-current protection, A.
    pub charge_over_current_a: f64,
    /// Discharge over-current protection (magnitude), A.
    pub discharge_over_current_a: f64,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// `bms` (capacity-weighted pack SOC) or `meter`.
    pub soc_source: SocName,
    /// Charge voltage offered normally, V.
    pub charge_voltage_v: f64,
    /// Charge voltage offered during a rebalance, V.
    pub rebalance_charge_voltage_v: f64,
    /// Share of the summed pack over-current settings offered as CCL/DCL, %.
    pub current_share_pct: f64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            soc_source: SocName::Bms,
            charge_voltage_v: 27.35,
            rebalance_charge_voltage_v: 27.95,
            current_share_pct: 80.0,
        }
    }
}

/// `soc_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocName {
    /// The packs.
    Bms,
    /// The coulomb meter.
    Meter,
}

/// `[supervisor]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisorSection {
    /// Over-current trip, % of the summed pack setting.
    pub over_current_trip_pct: f64,
    /// Over-current release, %.
    pub over_current_release_pct: f64,
    /// Software cell under-voltage trip, V.
    pub cell_under_voltage_v: f64,
    /// … release, V.
    pub cell_under_voltage_release_v: f64,
    /// Software cell over-voltage trip, V.
    pub cell_over_voltage_v: f64,
    /// … release, V.
    pub cell_over_voltage_release_v: f64,
    /// A direction runs again this long after its reasons cleared, s.
    pub recovery_hold_s: f64,
}

impl Default for SupervisorSection {
    fn default() -> Self {
        Self {
            over_current_trip_pct: 96.0,
            over_current_release_pct: 90.0,
            cell_under_voltage_v: 2.8,
            cell_under_voltage_release_v: 3.0,
            cell_over_voltage_v: 3.6,
            cell_over_voltage_release_v: 3.45,
            recovery_hold_s: 30.0,
        }
    }
}

/// `[rebalance]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RebalanceSection {
    /// Step 2 ends above this merged voltage, V.
    pub full_voltage_v: f64,
    /// … with |I| below this, A.
    pub settle_current_a: f64,
    /// … for this long, s.
    pub settle_s: f64,
    /// The meter's normal capacity, Ah.
    pub meter_capacity_ah: f64,
    /// The raised capacity, % of the normal.
    pub raised_capacity_pct: f64,
    /// Where the step is kept across restarts (written atomically).
    pub state_file: PathBuf,
    /// Start a rebalance when the supervisor sees a cell under-voltage.
    pub auto_on_cell_under_voltage: bool,
    /// Grid charging during step 2 only inside these daily windows (`"22:00-06:00"`);
    /// none: no restriction.
    pub grid_windows: Vec<String>,
    /// Local time = UTC + this, minutes (for the windows).
    pub utc_offset_min: i16,
}

impl Default for RebalanceSection {
    fn default() -> Self {
        Self {
            full_voltage_v: 27.8,
            settle_current_a: 5.0,
            settle_s: 60.0,
            meter_capacity_ah: 1200.0,
            raised_capacity_pct: 120.0,
            state_file: PathBuf::from("pace2pylon-rebalance.state"),
            auto_on_cell_under_voltage: true,
            grid_windows: Vec::new(),
            utc_offset_min: 0,
        }
    }
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

/// The validated configuration in exact units.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Inverter link.
    pub inverter_link: LinkUrl,
    /// Inverter-side address.
    pub address: u8,
    /// Presentation.
    pub present_as: PresentAs,
    /// Silence while not ready.
    pub silence: bool,
    /// Pack links, in pack order.
    pub pack_links: Vec<LinkUrl>,
    /// Pace address of each pack (same order as `pack_links`).
    pub pack_addresses: Vec<u8>,
    /// Analog/status period.
    pub poll_interval: Duration,
    /// Configuration-read period.
    pub config_interval: Duration,
    /// Reply timeout.
    pub timeout: Duration,
    /// Fallback settings.
    pub fallback: Option<PackSettings>,
    /// Merge rules.
    pub merge: MergeConfig,
    /// Supervisor rules.
    pub supervisor: SupervisorConfig,
    /// Rebalance rules.
    pub rebalance: RebalanceConfig,
    /// Rebalance state file.
    pub state_file: PathBuf,
    /// Auto rebalance on cell UV.
    pub auto_rebalance: bool,
    /// Tariff windows for grid charging during a rebalance.
    pub grid_windows: Vec<TariffWindow>,
    /// Local time offset from UTC, minutes.
    pub utc_offset_min: i16,
    /// How often the engine evaluates (1 s; tests shorten it).
    pub tick: Duration,
    /// MQTT, if configured.
    pub mqtt: Option<Mqtt>,
    /// The coulomb meter, if configured.
    pub meter: Option<crate::meter::MeterLink>,
    /// The status page, if configured and enabled.
    pub web: Option<voltwire_runtime::web::WebConfig>,
    /// Inverter priority switching, if configured.
    pub priority: Option<crate::priority::PriorityLink>,
}

/// `x` (a finite number in `lo..=hi`) scaled by `scale` and rounded to an integer.
fn num(field: &str, x: f64, lo: f64, hi: f64, scale: f64, unit: &str) -> Result<i64, Invalid> {
    if !x.is_finite() || x < lo || x > hi {
        return Err(invalid(
            field,
            format!("{x} is out of range"),
            format!("use {lo}..={hi} {unit}"),
        ));
    }
    #[allow(clippy::cast_possible_truncation, reason = "range checked above")]
    Ok((x * scale).round() as i64)
}

fn i32_of(field: &str, v: i64) -> Result<i32, Invalid> {
    i32::try_from(v).map_err(|_| invalid(field, "too large", "use a smaller value"))
}

fn mv(field: &str, x: f64, lo: f64, hi: f64) -> Result<Millivolts, Invalid> {
    Ok(Millivolts(i32_of(
        field,
        num(field, x, lo, hi, 1000.0, "V")?,
    )?))
}

fn ma(field: &str, x: f64, lo: f64, hi: f64) -> Result<Milliamps, Invalid> {
    Ok(Milliamps(i32_of(
        field,
        num(field, x, lo, hi, 1000.0, "A")?,
    )?))
}

fn ms(field: &str, x: f64, lo: f64, hi: f64) -> Result<u64, Invalid> {
    Ok(num(field, x, lo, hi, 1000.0, "s")?.unsigned_abs())
}

fn permille(field: &str, x: f64, lo: f64, hi: f64) -> Result<u16, Invalid> {
    u16::try_from(num(field, x, lo, hi, 10.0, "%")?)
        .map_err(|_| invalid(field, "too large", "use a smaller value"))
}

fn link(field: &str, s: &str) -> Result<LinkUrl, Invalid> {
    s.parse::<LinkUrl>().map_err(|e| {
        invalid(
            field,
            e.to_string(),
            "use serial:///dev/ttyUSB0?baud=9600 or tcp://host:port",
        )
    })
}

/// `"HH:MM-HH:MM"` as a window.
fn parse_window(s: &str) -> Option<TariffWindow> {
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (a, b) = s.split_once('-')?;
    Some(TariffWindow {
        start: minute(a)?,
        end: minute(b)?,
    })
}

fn validate_priority(
    pc: &PrioritySection,
    used: &[&LinkUrl],
) -> Result<crate::priority::PriorityLink, Invalid> {
    use crate::priority::{PriorityLink, Register, Transport};
    let url = link("priority.link", &pc.link)?;
    if used.contains(&&url) {
        return Err(invalid(
            "priority.link",
            format!(
                "{} is already the inverter's, a pack's or the meter's link",
                pc.link
            ),
            "give the inverter's Modbus port its own link",
        ));
    }
    let transport = match pc.transport.as_str() {
        "rtu" => Transport::Rtu,
        "tcp" => Transport::Tcp,
        other => {
            return Err(invalid(
                "priority.transport",
                format!("{other:?} is not a Modbus transport"),
                "use \"rtu\" (RTU frames over serial:// or a console server's tcp://) or \"tcp\" (Modbus TCP)",
            ));
        }
    };
    if transport == Transport::Tcp && !matches!(url, LinkUrl::Tcp { .. }) {
        return Err(invalid(
            "priority.link",
            format!("Modbus TCP over {}", pc.link),
            "give tcp://host:502 for Modbus TCP, or transport = \"rtu\" for a serial port",
        ));
    }
    if !(1..=247).contains(&pc.address) {
        return Err(invalid(
            "priority.address",
            format!("{} is not a Modbus address", pc.address),
            "use 1..=247 (1 by default)",
        ));
    }
    if pc.register.is_empty() || pc.register.len() > 16 {
        return Err(invalid(
            "priority.register",
            format!("{} registers", pc.register.len()),
            "give 1..=16 [[priority.register]] tables with register, normal and grid_charge",
        ));
    }
    for (i, r) in pc.register.iter().enumerate() {
        if pc.register.iter().take(i).any(|o| o.register == r.register) {
            return Err(invalid(
                format!("priority.register[{i}].register"),
                format!("register {} is listed twice", r.register),
                "list each register once",
            ));
        }
    }
    if pc.register.iter().all(|r| r.normal == r.grid_charge) {
        return Err(invalid(
            "priority.register",
            "normal and grid_charge are equal in every register: nothing would switch",
            "give each register the inverter's value for normal operation and for charging from the grid",
        ));
    }
    let retry_ms = ms("priority.retry_s", pc.retry_s, 0.1, 3600.0)?;
    let retry_max_ms = ms("priority.retry_max_s", pc.retry_max_s, 0.1, 86_400.0)?;
    if retry_max_ms < retry_ms {
        return Err(invalid(
            "priority.retry_max_s",
            format!("{} s is below retry_s ({} s)", pc.retry_max_s, pc.retry_s),
            "give the longest retry delay, at least retry_s",
        ));
    }
    Ok(PriorityLink {
        url,
        transport,
        address: pc.address,
        registers: pc
            .register
            .iter()
            .map(|r| Register {
                register: r.register,
                normal: r.normal,
                grid_charge: r.grid_charge,
            })
            .collect(),
        timeout: Duration::from_millis(ms("priority.timeout_s", pc.timeout_s, 0.05, 10.0)?),
        retry_ms,
        retry_max_ms,
    })
}

fn validate_meter(
    mc: &MeterSection,
    inverter: &LinkUrl,
    packs: &[LinkUrl],
) -> Result<crate::meter::MeterLink, Invalid> {
    let url = link("meter.link", &mc.link)?;
    if url == *inverter || packs.contains(&url) {
        return Err(invalid(
            "meter.link",
            format!("{} is used twice", mc.link),
            "give the meter its own port",
        ));
    }
    if !(1..=247).contains(&mc.address) {
        return Err(invalid(
            "meter.address",
            format!("{} is not a Modbus address", mc.address),
            "use 1..=247 (1 by default)",
        ));
    }
    Ok(crate::meter::MeterLink {
        url,
        address: mc.address,
        interval: Duration::from_millis(ms(
            "meter.poll_interval_s",
            mc.poll_interval_s,
            0.1,
            60.0,
        )?),
        timeout: Duration::from_millis(ms("meter.timeout_s", mc.timeout_s, 0.05, 10.0)?),
    })
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
            "give a topic base without wildcards, e.g. pace2pylon",
        )
    })?;
    if m.discovery_prefix.is_empty() || m.discovery_prefix.contains(['#', '+']) {
        return Err(invalid(
            "mqtt.discovery_prefix",
            "empty or with a wildcard",
            "use homeassistant",
        ));
    }
    Ok(Mqtt {
        url,
        topics,
        discovery: m.discovery,
        discovery_prefix: m.discovery_prefix.clone(),
        interval: Duration::from_millis(ms("mqtt.interval_s", m.interval_s, 0.1, 3600.0)?),
    })
}

impl Config {
    /// Read, parse and validate a file.
    ///
    /// # Errors
    /// A message naming the file, line, column, field and fix.
    pub fn load(path: &Path) -> Result<Settings, String> {
        voltwire_runtime::config::load_checked(path, Self::validate)
    }

    /// Parse and validate TOML text (`file` names it in messages).
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
    #[allow(
        clippy::too_many_lines,
        clippy::many_single_char_names,
        reason = "one check after the other, one short name per section"
    )]
    pub fn validate(&self) -> Result<Settings, Invalid> {
        let inv = &self.inverter;
        let inverter_link = link("inverter.link", &inv.link)?;
        if !(2..=0xEF).contains(&inv.address) {
            return Err(invalid(
                "inverter.address",
                format!("{} is not a battery address", inv.address),
                "use 2..=239 (2 = master)",
            ));
        }
        let p = &self.packs;
        if p.links.is_empty() || p.links.len() > MAX_PACKS {
            return Err(invalid(
                "packs.links",
                format!("{} packs", p.links.len()),
                format!("list 1..={MAX_PACKS} pack links"),
            ));
        }
        if let Some(a) = &p.addresses {
            if a.len() != p.links.len() {
                return Err(invalid(
                    "packs.addresses",
                    format!("{} addresses for {} links", a.len(), p.links.len()),
                    "give one address per link, in the same order",
                ));
            }
        }
        let addresses: Vec<u8> = p
            .addresses
            .clone()
            .unwrap_or_else(|| vec![p.address; p.links.len()]);
        let mut pack_links: Vec<LinkUrl> = Vec::with_capacity(p.links.len());
        for (i, (l, adr)) in p.links.iter().zip(&addresses).enumerate() {
            let url = link(&format!("packs.links[{i}]"), l)?;
            if url == inverter_link {
                return Err(invalid(
                    format!("packs.links[{i}]"),
                    format!("{l} is the inverter's link"),
                    "give the packs their own ports",
                ));
            }
            if *adr > 0x0F {
                return Err(invalid(
                    if p.addresses.is_some() {
                        format!("packs.addresses[{i}]")
                    } else {
                        "packs.address".to_owned()
                    },
                    format!("{adr} is not a Pace address"),
                    "use 0..=15 (0 for a pack alone on its port)",
                ));
            }
            let twice = pack_links
                .iter()
                .zip(&addresses)
                .any(|(u, a)| *u == url && a == adr);
            if twice {
                return Err(invalid(
                    format!("packs.links[{i}]"),
                    format!("{l} at address {adr} is used twice"),
                    "give every pack its own port, or its own address on a shared bus (packs.addresses)",
                ));
            }
            pack_links.push(url);
        }
        let poll = ms("packs.poll_interval_s", p.poll_interval_s, 0.1, 60.0)?;
        let config_interval = ms("packs.config_interval_s", p.config_interval_s, 1.0, 3600.0)?;
        let timeout = ms("packs.timeout_s", p.timeout_s, 0.05, 10.0)?;
        let no_comm = ms("packs.no_comm_s", p.no_comm_s, 1.0, 600.0)?;
        if no_comm <= poll {
            return Err(invalid(
                "packs.no_comm_s",
                "not longer than poll_interval_s",
                "make no_comm_s several poll intervals (10 s)",
            ));
        }
        let fallback = match &p.fallback {
            None => None,
            Some(f) => {
                let s = PackSettings {
                    over_voltage: mv("packs.fallback.over_voltage_v", f.over_voltage_v, 5.0, 80.0)?,
                    under_voltage: mv(
                        "packs.fallback.under_voltage_v",
                        f.under_voltage_v,
                        5.0,
                        80.0,
                    )?,
                    charge_over_current: ma(
                        "packs.fallback.charge_over_current_a",
                        f.charge_over_current_a,
                        1.0,
                        1000.0,
                    )?,
                    discharge_over_current: ma(
                        "packs.fallback.discharge_over_current_a",
                        f.discharge_over_current_a,
                        1.0,
                        1000.0,
                    )?,
                };
                if s.under_voltage >= s.over_voltage {
                    return Err(invalid(
                        "packs.fallback.under_voltage_v",
                        "not below over_voltage_v",
                        "set under_voltage_v below over_voltage_v",
                    ));
                }
                Some(s)
            }
        };
        let l = &self.limits;
        let merge = MergeConfig {
            soc_source: match l.soc_source {
                SocName::Bms => SocSource::Bms,
                SocName::Meter if self.meter.is_some() => SocSource::Meter,
                SocName::Meter => {
                    return Err(invalid(
                        "limits.soc_source",
                        "\"meter\" without a [meter] table",
                        "add [meter] with its link, or use soc_source = \"bms\"",
                    ));
                }
            },
            charge_voltage: mv("limits.charge_voltage_v", l.charge_voltage_v, 5.0, 80.0)?,
            rebalance_charge_voltage: mv(
                "limits.rebalance_charge_voltage_v",
                l.rebalance_charge_voltage_v,
                5.0,
                80.0,
            )?,
            current_share_permille: permille(
                "limits.current_share_pct",
                l.current_share_pct,
                1.0,
                100.0,
            )?,
        };
        if merge.rebalance_charge_voltage < merge.charge_voltage {
            return Err(invalid(
                "limits.rebalance_charge_voltage_v",
                "below charge_voltage_v",
                "set it at or above charge_voltage_v",
            ));
        }
        let s = &self.supervisor;
        let supervisor = SupervisorConfig {
            no_comm_ms: no_comm,
            meter_required: self.meter.is_some(),
            over_current_trip_permille: permille(
                "supervisor.over_current_trip_pct",
                s.over_current_trip_pct,
                10.0,
                100.0,
            )?,
            over_current_release_permille: permille(
                "supervisor.over_current_release_pct",
                s.over_current_release_pct,
                5.0,
                100.0,
            )?,
            cell_under_voltage: mv(
                "supervisor.cell_under_voltage_v",
                s.cell_under_voltage_v,
                1.0,
                5.0,
            )?,
            cell_under_voltage_release: mv(
                "supervisor.cell_under_voltage_release_v",
                s.cell_under_voltage_release_v,
                1.0,
                5.0,
            )?,
            cell_over_voltage: mv(
                "supervisor.cell_over_voltage_v",
                s.cell_over_voltage_v,
                1.0,
                5.0,
            )?,
            cell_over_voltage_release: mv(
                "supervisor.cell_over_voltage_release_v",
                s.cell_over_voltage_release_v,
                1.0,
                5.0,
            )?,
            recovery_hold_ms: ms("supervisor.recovery_hold_s", s.recovery_hold_s, 0.0, 3600.0)?,
        };
        if supervisor.over_current_release_permille >= supervisor.over_current_trip_permille {
            return Err(invalid(
                "supervisor.over_current_release_pct",
                "not below over_current_trip_pct",
                "set the release below the trip (e.g. 90 and 96)",
            ));
        }
        if supervisor.cell_under_voltage_release <= supervisor.cell_under_voltage {
            return Err(invalid(
                "supervisor.cell_under_voltage_release_v",
                "not above cell_under_voltage_v",
                "set the release above the trip (e.g. 3.0 and 2.8)",
            ));
        }
        if supervisor.cell_over_voltage_release >= supervisor.cell_over_voltage {
            return Err(invalid(
                "supervisor.cell_over_voltage_release_v",
                "not below cell_over_voltage_v",
                "set the release below the trip (e.g. 3.45 and 3.6)",
            ));
        }
        if supervisor.cell_under_voltage_release >= supervisor.cell_over_voltage_release {
            return Err(invalid(
                "supervisor.cell_over_voltage_release_v",
                "not above cell_under_voltage_release_v",
                "keep the over-voltage band above the under-voltage band",
            ));
        }
        let r = &self.rebalance;
        let rebalance = RebalanceConfig {
            full_voltage: mv("rebalance.full_voltage_v", r.full_voltage_v, 5.0, 80.0)?,
            settle_current: ma("rebalance.settle_current_a", r.settle_current_a, 0.1, 100.0)?,
            settle_ms: ms("rebalance.settle_s", r.settle_s, 0.0, 86_400.0)?,
            meter_capacity: MilliampHours(num(
                "rebalance.meter_capacity_ah",
                r.meter_capacity_ah,
                1.0,
                100_000.0,
                1000.0,
                "Ah",
            )?),
            raised_capacity_permille: permille(
                "rebalance.raised_capacity_pct",
                r.raised_capacity_pct,
                100.0,
                200.0,
            )?,
        };
        if r.state_file.as_os_str().is_empty() {
            return Err(invalid(
                "rebalance.state_file",
                "empty",
                "name a file in a writable directory",
            ));
        }
        let meter = self
            .meter
            .as_ref()
            .map(|mc| validate_meter(mc, &inverter_link, &pack_links))
            .transpose()?;
        let priority = match &self.priority {
            Some(pc) => {
                let mut used: Vec<&LinkUrl> = pack_links.iter().collect();
                used.push(&inverter_link);
                if let Some(m) = &meter {
                    used.push(&m.url);
                }
                Some(validate_priority(pc, &used)?)
            }
            None => None,
        };
        Ok(Settings {
            inverter_link,
            address: inv.address,
            present_as: inv.present_as,
            silence: inv.silence,
            pack_links,
            pack_addresses: addresses,
            poll_interval: Duration::from_millis(poll),
            config_interval: Duration::from_millis(config_interval),
            timeout: Duration::from_millis(timeout),
            fallback,
            merge,
            supervisor,
            rebalance,
            state_file: r.state_file.clone(),
            auto_rebalance: r.auto_on_cell_under_voltage,
            grid_windows: r
                .grid_windows
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    parse_window(w).ok_or_else(|| {
                        invalid(
                            format!("rebalance.grid_windows[{i}]"),
                            format!("{w:?} is not a window"),
                            "write \"HH:MM-HH:MM\", e.g. \"22:00-06:00\"",
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            utc_offset_min: if (-720..=840).contains(&r.utc_offset_min) {
                r.utc_offset_min
            } else {
                return Err(invalid(
                    "rebalance.utc_offset_min",
                    format!("{} is out of range", r.utc_offset_min),
                    "use -720..=840 (e.g. 60 for UTC+1)",
                ));
            },
            tick: Duration::from_secs(1),
            mqtt: self.mqtt.as_ref().map(validate_mqtt).transpose()?,
            meter,
            priority,
            web: match &self.web {
                Some(w) => w.validate("pace2pylon")?,
                None => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Settings, String> {
        Config::parse(text, Path::new("t.toml"))
    }

    #[test]
    fn the_template_is_valid() {
        let s = check(TEMPLATE).expect("template");
        assert_eq!(s.pack_links.len(), 2);
        assert_eq!(s.merge.current_share_permille, 800);
        assert_eq!(s.supervisor.over_current_trip_permille, 960);
        assert_eq!(s.merge.charge_voltage, Millivolts(27_350));
    }

    #[test]
    fn errors_name_the_field_and_the_fix() {
        let base =
            "[inverter]\nlink = \"tcp://127.0.0.1:1\"\n[packs]\nlinks = [\"tcp://127.0.0.1:2\"]\n";
        let e = check(&format!(
            "{base}[supervisor]\nover_current_trip_pct = 120\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("supervisor.over_current_trip_pct") && e.contains("10..=100"),
            "{e}"
        );
        let e = check(&format!(
            "{base}[supervisor]\ncell_over_voltage_release_v = 3.7\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("cell_over_voltage_release_v") && e.contains("release below"),
            "{e}"
        );
        let e = check("[inverter]\nlink = \"tcp://127.0.0.1:1\"\n[packs]\nlinks = [\"tcp://127.0.0.1:2\", \"tcp://127.0.0.1:2\"]\n").unwrap_err();
        assert!(
            e.contains("packs.links[1]") && e.contains("own port"),
            "{e}"
        );
        let e = check("[inverter]\nlink = \"ftp://x\"\n[packs]\nlinks = [\"tcp://127.0.0.1:2\"]\n")
            .unwrap_err();
        assert!(e.contains("inverter.link"), "{e}");
        let e = check(&format!("{base}[limits]\nsoc_source = \"meter\"\n")).unwrap_err();
        assert!(
            e.contains("limits.soc_source") && e.contains("[meter]"),
            "{e}"
        );
        let ok = check(&format!(
            "{base}[limits]\nsoc_source = \"meter\"\n[meter]\nlink = \"tcp://127.0.0.1:3\"\n"
        ))
        .unwrap();
        assert!(ok.supervisor.meter_required);
        let e = check(&format!("{base}[meter]\nlink = \"tcp://127.0.0.1:2\"\n")).unwrap_err();
        assert!(e.contains("meter.link") && e.contains("own port"), "{e}");
        let ok = check(&format!(
            "{base}[rebalance]\ngrid_windows = [\"22:00-06:00\", \"12:30-14:00\"]\n"
        ))
        .unwrap();
        assert_eq!(
            ok.grid_windows,
            [
                TariffWindow {
                    start: 1320,
                    end: 360
                },
                TariffWindow {
                    start: 750,
                    end: 840
                }
            ]
        );
        let e = check(&format!(
            "{base}[rebalance]\ngrid_windows = [\"22:00-24:00\"]\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("rebalance.grid_windows[0]") && e.contains("HH:MM-HH:MM"),
            "{e}"
        );
        let e = check(&format!("{base}[mqtt]\nurl = \"http://x\"\n")).unwrap_err();
        assert!(e.contains("mqtt.url"), "{e}");
        let e = check(&format!(
            "{base}[mqtt]\nurl = \"mqtt://127.0.0.1\"\nbase_topic = \"a/#\"\n"
        ))
        .unwrap_err();
        assert!(e.contains("mqtt.base_topic"), "{e}");
        let e = check(&format!("{base}[packs.fallback]\nover_voltage_v = 28\n")).unwrap_err();
        assert!(e.contains("under_voltage_v"), "{e}");
        assert!(check(base).is_ok());
    }

    #[test]
    fn web_is_off_by_default_and_checked_field_by_field() {
        let base =
            "[inverter]\nlink = \"tcp://127.0.0.1:1\"\n[packs]\nlinks = [\"tcp://127.0.0.1:2\"]\n";
        assert!(check(base).unwrap().web.is_none());
        assert!(check(TEMPLATE).unwrap().web.is_none());
        let on = check(&format!(
            "{base}[web]\nport = 0\ntoken = \"0123456789abcdef-token\"\n"
        ))
        .unwrap();
        assert!(on.web.is_some_and(|w| w.token.is_some() && w.port == 0));
        assert!(
            check(&format!("{base}[web]\nenabled = false\n"))
                .unwrap()
                .web
                .is_none()
        );
        let e = check(&format!("{base}[web]\nbind = \"localhost:80\"\n")).unwrap_err();
        assert!(e.contains("web.bind") && e.contains("fix"), "{e}");
        let e = check(&format!(
            "{base}[web]\ntoken = \"{}\"\n",
            voltwire_runtime::web::TOKEN_PLACEHOLDER
        ))
        .unwrap_err();
        assert!(e.contains("web.token"), "{e}");
    }

    #[test]
    fn priority_is_checked_field_by_field() {
        let base =
            "[inverter]\nlink = \"tcp://127.0.0.1:1\"\n[packs]\nlinks = [\"tcp://127.0.0.1:2\"]\n";
        let reg = "[[priority.register]]\nregister = 301\nnormal = 3\ngrid_charge = 2\n";
        let ok = check(&format!(
            "{base}[priority]\nlink = \"tcp://127.0.0.1:3\"\n{reg}"
        ))
        .unwrap();
        let p = ok.priority.unwrap();
        assert_eq!((p.address, p.retry_ms, p.retry_max_ms), (1, 2_000, 60_000));
        assert_eq!(
            p.registers[0].value(crate::priority::Priority::GridCharge),
            2
        );
        for (extra, field) in [
            ("link = \"tcp://127.0.0.1:2\"\n", "priority.link"),
            (
                "link = \"serial:///dev/ttyUSB1\"\ntransport = \"tcp\"\n",
                "priority.link",
            ),
            (
                "link = \"tcp://127.0.0.1:3\"\ntransport = \"ascii\"\n",
                "priority.transport",
            ),
            (
                "link = \"tcp://127.0.0.1:3\"\naddress = 0\n",
                "priority.address",
            ),
            (
                "link = \"tcp://127.0.0.1:3\"\nretry_s = 10\nretry_max_s = 5\n",
                "priority.retry_max_s",
            ),
            (
                "link = \"tcp://127.0.0.1:3\"\nretry_s = 0\n",
                "priority.retry_s",
            ),
        ] {
            let e = check(&format!("{base}[priority]\n{extra}{reg}")).unwrap_err();
            assert!(e.contains(field) && e.contains("fix"), "{extra}: {e}");
        }
        let e = check(&format!(
            "{base}[priority]\nlink = \"tcp://127.0.0.1:3\"\n{reg}{reg}"
        ))
        .unwrap_err();
        assert!(e.contains("priority.register[1].register"), "{e}");
        let e = check(&format!(
            "{base}[priority]\nlink = \"tcp://127.0.0.1:3\"\n[[priority.register]]\nregister = 1\nnormal = 2\ngrid_charge = 2\n"
        ))
        .unwrap_err();
        assert!(e.contains("nothing would switch"), "{e}");
        let e = check(&format!("{base}[priority]\nlink = \"tcp://127.0.0.1:3\"\n")).unwrap_err();
        assert!(e.contains("register"), "{e}");
    }
}
