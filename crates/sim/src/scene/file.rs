//! The scene file as written (TOML through serde), before validation.

use serde::Deserialize;

/// A whole scene file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SceneFile {
    /// A name for logs.
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// What flows at the start.
    #[serde(default)]
    pub(crate) flows: FlowsFile,
    /// The battery packs, in order (`count` repeats one).
    #[serde(default, rename = "pack")]
    pub(crate) packs: Vec<PackFile>,
    /// The devices, each on its own link.
    #[serde(default, rename = "device")]
    pub(crate) devices: Vec<DeviceFile>,
    /// The script.
    #[serde(default, rename = "event")]
    pub(crate) events: Vec<EventFile>,
    /// A day's sun and warmth.
    #[serde(default)]
    pub(crate) sun: Option<SunFile>,
}

/// `[sun]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SunFile {
    #[serde(default)]
    pub(crate) start_h: Option<f64>,
    #[serde(default)]
    pub(crate) sunrise_h: Option<f64>,
    #[serde(default)]
    pub(crate) sunset_h: Option<f64>,
    pub(crate) peak_w: i64,
    #[serde(default)]
    pub(crate) feeds: Option<String>,
    #[serde(default)]
    pub(crate) heat_c: Option<f64>,
    #[serde(default)]
    pub(crate) heat_peak_h: Option<f64>,
    #[serde(default)]
    pub(crate) heat_width_h: Option<f64>,
}

/// `[[device.sensor]]` of a `onewire` device.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SensorFile {
    pub(crate) id: String,
    pub(crate) reads: String,
    #[serde(default)]
    pub(crate) pack: Option<i64>,
    #[serde(default)]
    pub(crate) offset_c: Option<f64>,
    #[serde(default)]
    pub(crate) c_per_kw: Option<f64>,
}

/// `[flows]`, all in W, magnitudes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    clippy::struct_field_names,
    reason = "the keys of the file: W in every name"
)]
pub(crate) struct FlowsFile {
    #[serde(default)]
    pub(crate) charge_w: i64,
    #[serde(default)]
    pub(crate) discharge_w: i64,
    #[serde(default)]
    pub(crate) pv_w: i64,
    #[serde(default)]
    pub(crate) mppt_pv_w: i64,
    #[serde(default)]
    pub(crate) load_w: i64,
    #[serde(default)]
    pub(crate) absorption_mv: Option<i64>,
    #[serde(default)]
    pub(crate) load_profile: Option<String>,
    #[serde(default)]
    pub(crate) pv_profile: Option<String>,
}

/// `[[pack]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackFile {
    #[serde(default = "one")]
    pub(crate) count: i64,
    #[serde(default = "sixteen")]
    pub(crate) cells: i64,
    #[serde(default = "hundred")]
    pub(crate) capacity_ah: f64,
    #[serde(default = "fifty")]
    pub(crate) soc: f64,
    #[serde(default = "twenty_five")]
    pub(crate) ambient_c: f64,
    #[serde(default)]
    pub(crate) spread_pct: Option<f64>,
    #[serde(default)]
    pub(crate) temperature_sensors: Option<i64>,
}

fn one() -> i64 {
    1
}
fn sixteen() -> i64 {
    16
}
fn hundred() -> f64 {
    100.0
}
fn fifty() -> f64 {
    50.0
}
fn twenty_five() -> f64 {
    25.0
}

/// `[[device]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeviceFile {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) listen: String,
    /// Plant packs (1-based) the device reports.
    #[serde(default)]
    pub(crate) packs: Option<Vec<i64>>,
    #[serde(default)]
    pub(crate) address: Option<i64>,
    #[serde(default)]
    pub(crate) line_timing: bool,
    #[serde(default)]
    pub(crate) baud: Option<i64>,
    #[serde(default)]
    pub(crate) bitrate: Option<i64>,
    #[serde(default)]
    pub(crate) faults: Vec<String>,
    #[serde(default)]
    pub(crate) delay_ms: Option<i64>,
    #[serde(default)]
    pub(crate) settings: Option<SettingsFile>,
    /// A Pylontech inverter's 0x305 period in s (0: none).
    #[serde(default)]
    pub(crate) keep_alive_s: Option<f64>,
    /// A relay's DC load on the bank, W.
    #[serde(default)]
    pub(crate) load_w: Option<i64>,
    /// A relay's balancing current, mA.
    #[serde(default)]
    pub(crate) balance_ma: Option<i64>,
    /// A onewire device's sensors.
    #[serde(default, rename = "sensor")]
    pub(crate) sensors: Vec<SensorFile>,
    /// The meter's MQTT broker (`mqtt://HOST:PORT`).
    #[serde(default)]
    pub(crate) mqtt: Option<String>,
    /// The meter's MQTT topic prefix.
    #[serde(default)]
    pub(crate) topic: Option<String>,
    /// The meter's MQTT publishing period, real ms.
    #[serde(default)]
    pub(crate) interval_ms: Option<i64>,
}

/// `[device.settings]` of a Pace pack: the protection values its configuration reads
/// report.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsFile {
    #[serde(default)]
    pub(crate) pack_over_voltage_mv: Option<i64>,
    #[serde(default)]
    pub(crate) pack_under_voltage_mv: Option<i64>,
    #[serde(default)]
    pub(crate) charge_over_current_a: Option<i64>,
    #[serde(default)]
    pub(crate) discharge_over_current_a: Option<i64>,
}

/// `[[event]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventFile {
    pub(crate) at: f64,
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) device: Option<String>,
    #[serde(default)]
    pub(crate) pack: Option<i64>,
    #[serde(default)]
    pub(crate) cell: Option<i64>,
    #[serde(default)]
    pub(crate) percent: Option<f64>,
    #[serde(default)]
    pub(crate) watts: Option<i64>,
    #[serde(default)]
    pub(crate) fault: Option<String>,
    #[serde(default, rename = "for")]
    pub(crate) down: Option<f64>,
}
