//! Compile-time configuration: every value has a default and can be set at build time
//! through the environment (`VW_WIFI_SSID=… cargo build --release`). The rule settings
//! start as `voltwire-bms-rules`' defaults (8s LFP) with no solar charger (the C3 has two
//! UARTs, one for the Daly and one for the SmartShunt); the retained `<base>/config` of
//! the last run and `<base>/command/config` change them at run time through the shared
//! settings table, as on Linux.

#![cfg_attr(
    not(feature = "wifi"),
    allow(
        dead_code,
        reason = "the network settings are used by the `wifi` feature"
    )
)]

use voltwire_bms_rules::Config;

/// The value of a build-time environment variable, or `default`.
macro_rules! env_or {
    ($name:literal, $default:expr) => {
        match option_env!($name) {
            Some(v) => v,
            None => $default,
        }
    };
}

/// Wi-Fi network name (`VW_WIFI_SSID`).
pub const WIFI_SSID: &str = env_or!("VW_WIFI_SSID", "voltwire");
/// Wi-Fi password (`VW_WIFI_PASSWORD`; empty for an open network).
pub const WIFI_PASSWORD: &str = env_or!("VW_WIFI_PASSWORD", "");
/// MQTT broker IPv4 address (`VW_MQTT_HOST`, dotted quad: no DNS on the node).
pub const MQTT_HOST: &str = env_or!("VW_MQTT_HOST", "192.168.1.10");
/// MQTT broker port (`VW_MQTT_PORT`).
pub const MQTT_PORT: &str = env_or!("VW_MQTT_PORT", "1883");
/// MQTT base topic (`VW_MQTT_BASE`), as `[mqtt] topic` of the Linux bridge.
pub const MQTT_BASE: &str = env_or!("VW_MQTT_BASE", "voltwire/bms-bridge");
/// MQTT client id (`VW_MQTT_CLIENT_ID`).
pub const MQTT_CLIENT_ID: &str = env_or!("VW_MQTT_CLIENT_ID", "voltwire-bms-bridge-c3");

/// Home Assistant discovery after each connection (`VW_HA_DISCOVERY`, `0` turns it off),
/// as the Linux bridge's `[mqtt] discovery`.
pub const HA_DISCOVERY: bool = !matches!(env_or!("VW_HA_DISCOVERY", "1").as_bytes(), b"0");

/// Daly poll period, ms (as the Linux bridge's default).
pub const DALY_POLL_MS: u64 = 5_000;
/// One Daly poll (four request/answer pairs at 9600 Bd ≈ 60 ms) gives up after this, ms.
pub const DALY_TIMEOUT_MS: u64 = 1_500;
/// Rules tick period, ms.
pub const TICK_MS: u64 = 1_000;
/// The task watchdog (TIMG0 MWDT) resets the chip when the tick loop stalls this long, ms.
pub const WATCHDOG_MS: u64 = 10_000;

/// The rule configuration.
pub fn rules() -> Config {
    Config {
        chargers: 0,
        shunt: true,
        ..Config::default()
    }
}
