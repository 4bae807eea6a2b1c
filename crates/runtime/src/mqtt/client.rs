//! The client task: connection, last will, retained state, reconnect with backoff, commands.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::command::{CommandResult, Rejection};
use super::discovery::DiscoveryConfig;
use super::topics::{OFFLINE, ONLINE, TopicError, Topics};
use super::url::BrokerUrl;
use crate::link::Backoff;

/// Largest MQTT packet the client accepts from the broker (and sends). A larger incoming
/// packet is a protocol error that ends the connection, so the limit sits far above any
/// command or state the apps use: a stray large message on a command topic is refused by
/// [`MAX_COMMAND_SIZE`] with a result instead of cycling the connection.
pub const MAX_PACKET_SIZE: usize = 1024 * 1024;

/// Largest command payload handed to the validator; a larger one is rejected with code
/// `too_large` (connection kept).
pub const MAX_COMMAND_SIZE: usize = 4096;

/// The default MQTT client id of app `app` on this host for base topic `topics`:
/// `voltwire-<app>-<host>-<hash>` (see [`client_id_for`]), the host name read from
/// `/proc/sys/kernel/hostname` (`localhost` when unreadable). Two instances on one broker
/// differ in host or base topic, so they do not knock each other off; a restart reuses the
/// id. A URL's `client_id=` still wins.
pub fn default_client_id(app: &str, topics: &Topics) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    client_id_for(app, host.trim(), topics.base())
}

/// `voltwire-<app>-<host>-<8 hex digits of the FNV-1a hash of base>`, at most 64
/// characters: `app` and `host` keep only ASCII letters, digits and `-` (others become `-`),
/// an empty host becomes `localhost`, and the host is shortened to fit.
pub fn client_id_for(app: &str, host: &str, base: &str) -> String {
    const MAX: usize = 64;
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let mut hash: u32 = 0x811c_9dc5;
    for b in base.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let app: String = clean(app).chars().take(24).collect();
    let host = if host.is_empty() { "localhost" } else { host };
    let head = format!("voltwire-{app}-");
    let tail = format!("-{hash:08x}");
    let room = MAX.saturating_sub(head.len() + tail.len());
    let host: String = clean(host).chars().take(room).collect();
    format!("{head}{host}{tail}")
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    /// Broker.
    pub broker: BrokerUrl,
    /// MQTT client id (the URL's `client_id=` wins if given).
    pub client_id: String,
    /// Topic layout.
    pub topics: Topics,
    /// Keep-alive interval (the URL's `keep_alive=` wins if given); whole seconds, at least
    /// 1 s, at most 65535 s (`Duration::ZERO` turns pings off).
    pub keep_alive: Duration,
    /// Reconnect backoff.
    pub backoff: Backoff,
    /// Capacity of the command channel to the app; commands arriving while it is full are
    /// rejected with code `busy`.
    pub command_capacity: usize,
}

impl MqttConfig {
    /// Settings with defaults: keep-alive 30 s, backoff 0.5 s doubling to 30 s (20 %
    /// jitter), 16 queued commands.
    pub fn new(broker: BrokerUrl, client_id: &str, topics: Topics) -> Self {
        Self {
            broker,
            client_id: client_id.to_owned(),
            topics,
            keep_alive: Duration::from_secs(30),
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30), 200, 5),
            command_capacity: 16,
        }
    }
}

/// Errors of the MQTT client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MqttError {
    /// A topic could not be used.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// The TLS setup failed (CA file unreadable or invalid).
    #[error("MQTT TLS: {0}")]
    Tls(String),
    /// A value could not be serialised to JSON.
    #[error("MQTT state is not serialisable: {0}")]
    Serialize(String),
    /// The outgoing queue is full (the broker is slow or gone); the value is kept and
    /// republished on reconnect if it was retained state.
    #[error("MQTT outgoing queue is full")]
    QueueFull,
    /// The client task has stopped.
    #[error("MQTT client has stopped")]
    Stopped,
}

impl MqttError {
    /// Stable short code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Topic(_) => "bad_topic",
            Self::Tls(_) => "tls",
            Self::Serialize(_) => "serialize",
            Self::QueueFull => "queue_full",
            Self::Stopped => "stopped",
        }
    }
}

/// Connection status as seen by the client task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkStatus {
    /// Connected (CONNACK received, not yet lost).
    pub connected: bool,
    /// Number of successful connections so far (2 after the first reconnect).
    pub connects: u64,
    /// Consecutive failed attempts since the last success.
    pub failures: u32,
}

#[derive(Debug, Default)]
struct Shared {
    /// Retained topics to (re)publish on every connect: state and discovery.
    retained: BTreeMap<String, Vec<u8>>,
}

/// Cheap, cloneable handle for publishing.
#[derive(Debug, Clone)]
pub struct MqttHandle {
    client: AsyncClient,
    topics: Topics,
    shared: Arc<Mutex<Shared>>,
    status: watch::Receiver<LinkStatus>,
}

impl MqttHandle {
    /// The topic layout.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// A receiver of connection status changes.
    pub fn status(&self) -> watch::Receiver<LinkStatus> {
        self.status.clone()
    }

    /// Publishes `value` as JSON, retained, to `<base>/state`.
    ///
    /// # Errors
    /// [`MqttError::Serialize`], [`MqttError::QueueFull`], [`MqttError::Stopped`].
    pub fn publish_state<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), MqttError> {
        self.publish_retained_json(&self.topics.state(), value)
    }

    /// Publishes `value` as JSON, retained, to `topic`, and remembers it for reconnects.
    ///
    /// # Errors
    /// [`MqttError::Serialize`], [`MqttError::QueueFull`], [`MqttError::Stopped`].
    pub fn publish_retained_json<T: Serialize + ?Sized>(
        &self,
        topic: &str,
        value: &T,
    ) -> Result<(), MqttError> {
        let payload = serde_json::to_vec(value).map_err(|e| MqttError::Serialize(e.to_string()))?;
        self.publish_retained(topic, payload)
    }

    /// Publishes a discovery config (retained) and remembers it for reconnects.
    ///
    /// # Errors
    /// [`MqttError::QueueFull`], [`MqttError::Stopped`].
    pub fn publish_discovery(&self, config: &DiscoveryConfig) -> Result<(), MqttError> {
        self.publish_retained(&config.topic, config.payload.clone().into_bytes())
    }

    /// Publishes raw bytes retained to `topic` and remembers them for reconnects. While
    /// disconnected the value is only remembered (it goes out on reconnect).
    ///
    /// # Errors
    /// [`MqttError::QueueFull`], [`MqttError::Stopped`].
    pub fn publish_retained(&self, topic: &str, payload: Vec<u8>) -> Result<(), MqttError> {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retained
            .insert(topic.to_owned(), payload.clone());
        if !self.status.borrow().connected {
            return Ok(());
        }
        try_send(&self.client, topic, true, payload)
    }

    /// Publishes raw bytes, not retained and not remembered, at `QoS` 1 (at least once).
    ///
    /// # Errors
    /// [`MqttError::QueueFull`], [`MqttError::Stopped`].
    pub fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), MqttError> {
        try_send(&self.client, topic, false, payload)
    }
}

fn try_send(
    client: &AsyncClient,
    topic: &str,
    retain: bool,
    payload: Vec<u8>,
) -> Result<(), MqttError> {
    client
        .try_publish(topic, QoS::AtLeastOnce, retain, payload)
        .map_err(|e| match e {
            rumqttc::ClientError::TryRequest(_) | rumqttc::ClientError::Request(_) => {
                MqttError::QueueFull
            }
        })
}

/// A running client: owns the background task. Dropping it aborts the task without a clean
/// disconnect (the broker then publishes the last will).
#[derive(Debug)]
pub struct MqttClient {
    handle: MqttHandle,
    stopping: Arc<AtomicBool>,
    task: Option<JoinHandle<()>>,
}

struct TaskCtx<V, C> {
    client: AsyncClient,
    topics: Topics,
    shared: Arc<Mutex<Shared>>,
    status: watch::Sender<LinkStatus>,
    validator: V,
    commands: mpsc::Sender<C>,
    backoff: Backoff,
    stopping: Arc<AtomicBool>,
}

impl MqttClient {
    /// Starts the client task (on the current tokio runtime).
    ///
    /// Every message on `<base>/command` or `<base>/command/<name>` goes through
    /// `validator(name, payload)` (`name` is `""` for `<base>/command`): `Ok(cmd)` is sent to
    /// the returned receiver, `Err(rejection)` is logged, published to
    /// `<base>/command/result` and nothing is delivered. Payloads above
    /// [`MAX_COMMAND_SIZE`] are rejected with code `too_large`, retained commands (replayed by
    /// the broker on subscribe) as stale (code `retained`), empty payloads with code `empty`,
    /// and commands arriving while the channel is full with code `busy`; none of these ends
    /// the connection.
    ///
    /// # Errors
    /// [`MqttError::Tls`] if the TLS configuration cannot be built.
    pub fn start<C, V>(
        config: MqttConfig,
        validator: V,
    ) -> Result<(Self, mpsc::Receiver<C>), MqttError>
    where
        C: Send + 'static,
        V: Fn(&str, &[u8]) -> Result<C, Rejection> + Send + 'static,
    {
        let options = mqtt_options(&config)?;
        let (client, eventloop) = AsyncClient::new(options, 64);
        let (status_tx, status_rx) = watch::channel(LinkStatus::default());
        let (cmd_tx, cmd_rx) = mpsc::channel(config.command_capacity.max(1));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        let ctx = TaskCtx {
            client: client.clone(),
            topics: config.topics.clone(),
            shared: Arc::clone(&shared),
            status: status_tx,
            validator,
            commands: cmd_tx,
            backoff: config.backoff,
            stopping: Arc::clone(&stopping),
        };
        let task = tokio::spawn(run(eventloop, ctx));
        let handle = MqttHandle {
            client,
            topics: config.topics,
            shared,
            status: status_rx,
        };
        Ok((
            Self {
                handle,
                stopping,
                task: Some(task),
            },
            cmd_rx,
        ))
    }

    /// A cloneable publishing handle.
    pub fn handle(&self) -> MqttHandle {
        self.handle.clone()
    }

    /// Clean shutdown: publishes `offline` (retained), disconnects and waits up to `timeout`
    /// for the task to end.
    pub async fn shutdown(mut self, timeout: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        let client = &self.handle.client;
        let _ = client.try_publish(
            self.handle.topics.availability(),
            QoS::AtLeastOnce,
            true,
            OFFLINE,
        );
        let _ = client.try_disconnect();
        let Some(mut task) = self.task.take() else {
            return;
        };
        if tokio::time::timeout(timeout, &mut task).await.is_err() {
            task.abort();
        }
    }

    /// Stops the task at once without a DISCONNECT, as a crash would (the broker publishes
    /// the last will `offline`).
    pub fn abort(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for MqttClient {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

// The `Result` is the TLS set-up's; without the `tls` feature nothing here can fail.
#[cfg_attr(not(feature = "tls"), allow(clippy::unnecessary_wraps))]
fn mqtt_options(config: &MqttConfig) -> Result<MqttOptions, MqttError> {
    let url = &config.broker;
    let id = url
        .client_id
        .clone()
        .unwrap_or_else(|| config.client_id.clone());
    let mut o = MqttOptions::new(id, url.host.clone(), url.port);
    // rumqttc asserts whole seconds ≥ 1 (or zero = off): round sub-second values up.
    let keep_alive = url.keep_alive.unwrap_or(config.keep_alive);
    let keep_alive = if keep_alive.is_zero() {
        keep_alive
    } else {
        Duration::from_secs(keep_alive.as_secs().clamp(1, u64::from(u16::MAX)))
    };
    o.set_keep_alive(keep_alive);
    o.set_clean_session(true);
    o.set_max_packet_size(MAX_PACKET_SIZE, MAX_PACKET_SIZE);
    o.set_last_will(LastWill::new(
        config.topics.availability(),
        OFFLINE,
        QoS::AtLeastOnce,
        true,
    ));
    if let Some(user) = &url.username {
        o.set_credentials(user.clone(), url.password.clone().unwrap_or_default());
    }
    set_transport(&mut o, url)?;
    Ok(o)
}

/// Puts `options` on TLS when `url` is `mqtts://` (feature `tls`), with the same rustls
/// set-up as [`MqttClient`]: the URL's `ca=` file, else the system roots. For an app's
/// own plain client (a subscription to another broker); `mqtt://` leaves it as it is.
///
/// # Errors
///
/// [`MqttError::Tls`] if the TLS configuration cannot be built (an unreadable or empty CA
/// file, no system roots).
// Without the `tls` feature nothing here can fail.
#[cfg_attr(not(feature = "tls"), allow(clippy::unnecessary_wraps))]
pub fn set_transport(options: &mut MqttOptions, url: &BrokerUrl) -> Result<(), MqttError> {
    #[cfg(feature = "tls")]
    if url.tls {
        options.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(Arc::new(tls_config(url)?)),
        ));
    }
    #[cfg(not(feature = "tls"))]
    let _ = (options, url);
    Ok(())
}

/// A rustls client config (feature `tls`) using the `ring` provider and either the URL's `ca=` file or the
/// system roots.
#[cfg(feature = "tls")]
fn tls_config(url: &BrokerUrl) -> Result<rustls::ClientConfig, MqttError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = &url.ca_file {
        let certs = CertificateDer::pem_file_iter(ca)
            .map_err(|e| MqttError::Tls(format!("CA file {}: {e}", ca.display())))?;
        for cert in certs {
            let cert =
                cert.map_err(|e| MqttError::Tls(format!("CA file {}: {e}", ca.display())))?;
            roots
                .add(cert)
                .map_err(|e| MqttError::Tls(format!("CA file {}: {e}", ca.display())))?;
        }
        if roots.is_empty() {
            return Err(MqttError::Tls(format!(
                "CA file {} holds no PEM certificate",
                ca.display()
            )));
        }
    } else {
        let native = rustls_native_certs::load_native_certs();
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            return Err(MqttError::Tls(
                "no system CA certificates found; install ca-certificates or give `?ca=<file>`"
                    .into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MqttError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

async fn run<C, V>(mut eventloop: EventLoop, ctx: TaskCtx<V, C>)
where
    V: Fn(&str, &[u8]) -> Result<C, Rejection>,
{
    let mut backoff = ctx.backoff.clone();
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(code = ?ack.code, "MQTT connected");
                backoff.reset();
                ctx.status.send_modify(|s| {
                    s.connected = true;
                    s.connects += 1;
                    s.failures = 0;
                });
                on_connect(&ctx);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                handle_command(&ctx, &p.topic, &p.payload, p.retain);
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                // Keep reading until the broker closes the connection: closing our socket
                // with its PUBACKs unread would reset the connection and the broker could
                // drop our DISCONNECT and publish the will.
                tracing::info!("MQTT disconnect sent");
            }
            Ok(_) => {}
            Err(e) => {
                if ctx.stopping.load(Ordering::SeqCst) {
                    ctx.status.send_modify(|s| s.connected = false);
                    tracing::info!("MQTT disconnected cleanly");
                    return;
                }
                let mut failures = 0;
                ctx.status.send_modify(|s| {
                    s.connected = false;
                    s.failures = s.failures.saturating_add(1);
                    failures = s.failures;
                });
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, failures, retry_in_ms = delay.as_millis(), "MQTT connection lost");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// (Re)subscribe, announce availability, republish discovery and retained state.
fn on_connect<V, C>(ctx: &TaskCtx<V, C>) {
    let filters = ctx.topics.command_filters();
    for filter in filters {
        if let Err(e) = ctx.client.try_subscribe(filter.clone(), QoS::AtLeastOnce) {
            tracing::warn!(%filter, error = %e, "MQTT subscribe could not be queued");
        }
    }
    if let Err(e) = try_send(&ctx.client, &ctx.topics.availability(), true, ONLINE.into()) {
        tracing::warn!(error = %e, "MQTT availability could not be queued");
    }
    let retained: Vec<(String, Vec<u8>)> = ctx
        .shared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retained
        .iter()
        .map(|(t, p)| (t.clone(), p.clone()))
        .collect();
    for (topic, payload) in retained {
        if let Err(e) = try_send(&ctx.client, &topic, true, payload) {
            tracing::warn!(%topic, error = %e, "MQTT retained republish could not be queued");
        }
    }
}

fn handle_command<V, C>(ctx: &TaskCtx<V, C>, topic: &str, payload: &[u8], retained: bool)
where
    V: Fn(&str, &[u8]) -> Result<C, Rejection>,
{
    let Some(name) = ctx.topics.command_name(topic) else {
        return;
    };
    let outcome = if payload.len() > MAX_COMMAND_SIZE {
        Err(Rejection::new(
            "too_large",
            format!(
                "{} bytes; a command is at most {MAX_COMMAND_SIZE} bytes",
                payload.len()
            ),
        ))
    } else if retained {
        Err(Rejection::new(
            "retained",
            "retained command replayed by the broker; send commands without the retain flag (delete it with an empty retained message)",
        ))
    } else if payload.is_empty() {
        Err(Rejection::new(
            "empty",
            "empty payload (clearing a retained command?); nothing to do",
        ))
    } else {
        (ctx.validator)(name, payload).and_then(|cmd| {
            ctx.commands.try_send(cmd).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    Rejection::new("busy", "too many commands queued; retry later")
                }
                mpsc::error::TrySendError::Closed(_) => {
                    Rejection::new("closed", "the application no longer takes commands")
                }
            })
        })
    };
    let result = match &outcome {
        Ok(()) => {
            tracing::info!(%topic, "MQTT command accepted");
            CommandResult::accepted(topic)
        }
        Err(r) => {
            tracing::warn!(%topic, code = r.code, reason = %r.reason, "MQTT command rejected");
            CommandResult::rejected(topic, r)
        }
    };
    match serde_json::to_vec(&result) {
        Ok(json) => {
            if let Err(e) = try_send(&ctx.client, &ctx.topics.command_result(), false, json) {
                tracing::warn!(error = %e, "MQTT command result could not be queued");
            }
        }
        Err(e) => tracing::warn!(error = %e, "MQTT command result not serialisable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_backoff_is_the_link_backoff() {
        let cfg = MqttConfig::new(
            BrokerUrl::parse("mqtt://h").unwrap(),
            "x",
            Topics::new("b").unwrap(),
        );
        let mut b = cfg.backoff;
        let got: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        // 0.5 s doubling to 30 s, each at most 20 % shorter.
        for (d, base) in got
            .iter()
            .zip([500u64, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
        {
            let base = Duration::from_millis(base);
            assert!(*d <= base && *d >= base * 4 / 5, "{d:?} vs {base:?}");
        }
    }

    #[test]
    fn options_from_url() {
        let url = BrokerUrl::parse("mqtt://u:p@h:1999?client_id=x&keep_alive=9").unwrap();
        let cfg = MqttConfig::new(url, "dflt", Topics::new("b").unwrap());
        let o = mqtt_options(&cfg).unwrap();
        assert_eq!(o.broker_address(), ("h".to_owned(), 1999));
        assert_eq!(o.client_id(), "x");
        assert_eq!(o.keep_alive(), Duration::from_secs(9));
        let mut cfg = MqttConfig::new(
            BrokerUrl::parse("mqtt://h").unwrap(),
            "c",
            Topics::new("b").unwrap(),
        );
        cfg.keep_alive = Duration::from_millis(300);
        assert_eq!(
            mqtt_options(&cfg).unwrap().keep_alive(),
            Duration::from_secs(1)
        );
        let will = o.last_will().unwrap();
        assert_eq!(
            (will.topic.as_str(), &will.message[..], will.retain),
            ("b/availability", &b"offline"[..], true)
        );
        let login = o.credentials().unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("u", "p")
        );
    }

    #[test]
    fn packet_limit_is_raised() {
        let cfg = MqttConfig::new(
            BrokerUrl::parse("mqtt://h").unwrap(),
            "c",
            Topics::new("b").unwrap(),
        );
        assert_eq!(
            mqtt_options(&cfg).unwrap().max_packet_size(),
            MAX_PACKET_SIZE
        );
    }

    #[test]
    fn default_client_ids() {
        let a = client_id_for("can-gateway", "pi4", "voltwire/can-gateway");
        assert!(a.starts_with("voltwire-can-gateway-pi4-"), "{a}");
        assert_eq!(a.len(), "voltwire-can-gateway-pi4-".len() + 8);
        // Stable, and different per base topic and host.
        assert_eq!(
            a,
            client_id_for("can-gateway", "pi4", "voltwire/can-gateway")
        );
        assert_ne!(
            a,
            client_id_for("can-gateway", "pi4", "voltwire/can-gateway2")
        );
        assert_ne!(
            a,
            client_id_for("can-gateway", "pi5", "voltwire/can-gateway")
        );
        // FNV-1a of the empty string.
        assert_eq!(client_id_for("x", "h", ""), "voltwire-x-h-811c9dc5");
        assert_eq!(
            client_id_for("x", "", "b"),
            client_id_for("x", "localhost", "b")
        );
        let long = client_id_for("can-gateway", &"h.local_".repeat(20), "b");
        assert_eq!(long.len(), 64, "{long}");
        assert!(
            long.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{long}"
        );
        let d = default_client_id("can-gateway", &Topics::new("b").unwrap());
        assert!(
            d.starts_with("voltwire-can-gateway-") && d.len() <= 64,
            "{d}"
        );
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_ca_errors_are_named() {
        let url = BrokerUrl::parse("mqtts://h?ca=/nonexistent/ca.pem").unwrap();
        let cfg = MqttConfig::new(url, "c", Topics::new("b").unwrap());
        let e = mqtt_options(&cfg).unwrap_err();
        assert_eq!(e.code(), "tls");
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
