//! MQTT for voltwire apps, on [rumqttc](https://docs.rs/rumqttc) (TLS via rustls with the
//! `ring` provider, feature `tls`, on by default; without it `mqtts://` URLs are refused with
//! an error naming the scheme, so a build without a C compiler for `ring` still speaks plain
//! MQTT).
//!
//! - [`BrokerUrl`]: `mqtt://user:pass@host:1883` and `mqtts://…?ca=/path/ca.pem`, with errors
//!   that name the field and the fix.
//! - [`MqttClient`]: a background task with the last will `offline` on
//!   `<base>/availability` (retained), `online` after every connect, retained JSON state
//!   ([`MqttHandle::publish_state`]), reconnect with [`crate::link::Backoff`] (re-subscribing and
//!   republishing availability, discovery and the last state), and validated commands: each
//!   message on `<base>/command[/<name>]` goes through the caller's validator; a
//!   [`Rejection`] is logged, published to `<base>/command/result` and delivers nothing.
//!   Payloads above [`MAX_COMMAND_SIZE`] (code `too_large`) and retained commands (code
//!   `retained`) are refused before the validator, on `<base>/command` and on every
//!   `<base>/command/<name>`; incoming packets up to [`MAX_PACKET_SIZE`] never cost the
//!   connection. [`default_client_id`] derives a per-host, per-base-topic client id.
//! - [`Discovery`]: Home Assistant MQTT discovery configs for sensors, binary sensors,
//!   switches, numbers and selects.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use voltwire_runtime::mqtt::{self, BrokerUrl, MqttClient, MqttConfig, Rejection, Topics};
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct SetCurrent { max_charge_a: f64 }
//!
//! let url = BrokerUrl::parse("mqtt://user:secret@broker.lan:1883")?;
//! let config = MqttConfig::new(url, "bms1", Topics::new("voltwire/bms1")?);
//! let (client, mut commands) = MqttClient::start(config, |name: &str, payload: &[u8]| {
//!     match name {
//!         "" => {
//!             let cmd: SetCurrent = mqtt::parse_json(payload)?;
//!             mqtt::check_range("max_charge_a", cmd.max_charge_a, 0.0, 100.0)
//!         }
//!         "max_charge_current" => mqtt::parse_number(name, payload, 0.0, 100.0),
//!         other => Err(Rejection::unknown_command(other)),
//!     }
//! })?;
//! client.handle().publish_state(&serde_json::json!({"soc_pct": 80}))?;
//! while let Some(limit) = commands.recv().await {
//!     println!("new limit {limit} A");
//! }
//! # Ok(()) }
//! ```

#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std crate"
)]

mod client;
mod command;
mod discovery;
mod topics;
mod url;

pub use client::{
    LinkStatus, MAX_COMMAND_SIZE, MAX_PACKET_SIZE, MqttClient, MqttConfig, MqttError, MqttHandle,
    client_id_for, default_client_id, set_transport,
};
pub use command::{
    CommandResult, Rejection, check_range, parse_json, parse_number, parse_switch, parse_trigger,
};
pub use discovery::{
    Component, Device, Discovery, DiscoveryConfig, DiscoveryError, Entity, StateClass,
};
pub use topics::{OFFLINE, ONLINE, TopicError, Topics};
pub use url::{BrokerUrl, UrlError, UrlField};
