//! A real installation: meter and battery tasks, device tasks, the control loop.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::watch;
use voltwire_core::{Milliamps, Millivolts, Permille};
use voltwire_runtime::can::VirtualBuses;
use voltwire_runtime::link::Backoff;
use voltwire_runtime::mqtt::BrokerUrl;
use voltwire_zero_feed_in_rules::{
    BatteryReading, Commands, Controller, DeviceCommand, DeviceStatus, MeterReading, Millis,
};

use crate::config::{BatterySource, DeviceKind, MeterSource, Settings};
use crate::engine::{self, Clock, Sources};
use crate::meter::{self, Reading};
use crate::telemetry;

/// The options of a subscription client for `broker`: keep-alive 10 s, the URL's
/// credentials and, for `mqtts://`, the runtime's TLS set-up (the URL's `ca=` file or the
/// system roots).
///
/// # Errors
/// The TLS set-up's message (an unreadable or empty CA file, no system roots).
pub fn subscriber_options(
    broker: &BrokerUrl,
    client_id: String,
) -> Result<rumqttc::MqttOptions, String> {
    let mut options = rumqttc::MqttOptions::new(client_id, broker.host.clone(), broker.port);
    options.set_keep_alive(Duration::from_secs(10));
    if let (Some(u), Some(p)) = (&broker.username, &broker.password) {
        options.set_credentials(u.clone(), p.clone());
    }
    voltwire_runtime::mqtt::set_transport(&mut options, broker).map_err(|e| e.to_string())?;
    Ok(options)
}

/// Subscribes to `topic` with `options` ([`subscriber_options`]) and hands every
/// non-retained payload to `on` (a retained message is old data of unknown age: never a
/// fresh reading). Reconnects with backoff; never ends.
pub async fn subscribe(options: rumqttc::MqttOptions, topic: String, mut on: impl FnMut(&[u8])) {
    let (client, mut events) = rumqttc::AsyncClient::new(options, 16);
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30), 200, 7);
    loop {
        match events.poll().await {
            Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                backoff.reset();
                tracing::info!(%topic, "meter/battery subscription connected");
                if let Err(e) = client.try_subscribe(topic.clone(), rumqttc::QoS::AtMostOnce) {
                    tracing::warn!(error = %e, "subscribe failed");
                }
            }
            Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)))
                if p.topic == topic && !p.retain =>
            {
                on(&p.payload);
            }
            Ok(_) => {}
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, ?delay, %topic, "MQTT connection lost; reconnecting");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// One HTTP/1.1 GET of `url` (`http://host[:port]/path`), the body as bytes; 5 s timeout.
///
/// # Errors
/// A message for a bad URL, a connection failure, a timeout or a non-200 status.
pub async fn http_get(url: &str) -> Result<Vec<u8>, String> {
    let rest = url.strip_prefix("http://").ok_or("not an http:// URL")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let addr = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| e.to_string())?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
        );
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.take(1 << 20)
            .read_to_end(&mut buf)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(buf)
    };
    let buf = tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .map_err(|_| "timed out after 5 s".to_owned())??;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header end")?;
    let head = String::from_utf8_lossy(buf.get(..split).unwrap_or_default());
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("HTTP status {status}"));
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err("chunked responses are not supported".into());
    }
    Ok(buf.get(split + 4..).unwrap_or_default().to_vec())
}

/// A battery reading from a voltwire JSON state (`voltage_v`, `current_a`, `soc_pct`,
/// `cell_min_v`, `cell_max_v`, `temperature_min_c`, `temperature_max_c`, `charge_allowed`,
/// `discharge_allowed`); only `voltage_v` is required.
///
/// # Errors
/// A message when the payload is not such a JSON object.
pub fn battery_reading(at: Millis, payload: &[u8]) -> Result<BatteryReading, String> {
    let doc: serde_json::Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let num = |k: &str, scale: f64, lo: f64, hi: f64| -> Option<i64> {
        let v = doc.get(k)?.as_f64()?;
        #[allow(clippy::cast_possible_truncation, reason = "range checked")]
        (v.is_finite() && (lo..=hi).contains(&v)).then(|| (v * scale).round() as i64)
    };
    let mv = |k| {
        num(k, 1000.0, 0.0, 1000.0)
            .and_then(|v| i32::try_from(v).ok())
            .map(Millivolts)
    };
    let deci = |k| {
        num(k, 10.0, -100.0, 200.0)
            .and_then(|v| i16::try_from(v).ok())
            .map(voltwire_core::DeciCelsius)
    };
    let voltage = mv("voltage_v").ok_or("no plausible `voltage_v`")?;
    let mut b = BatteryReading::voltage_only(at, voltage);
    b.current = num("current_a", 1000.0, -2000.0, 2000.0)
        .and_then(|v| i32::try_from(v).ok())
        .map(Milliamps);
    b.soc = num("soc_pct", 10.0, 0.0, 100.0)
        .and_then(|v| i16::try_from(v).ok())
        .map(Permille);
    b.cell_min = mv("cell_min_v");
    b.cell_max = mv("cell_max_v");
    b.temperature_min = deci("temperature_min_c");
    b.temperature_max = deci("temperature_max_c");
    b.charge_allowed = doc
        .get("charge_allowed")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true);
    b.discharge_allowed = doc
        .get("discharge_allowed")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true);
    Ok(b)
}

/// As [`run_with`], with no in-process (`virtual://`) buses shared with anyone.
///
/// # Errors
/// As [`run_with`].
pub async fn run(
    settings: Settings,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    run_with(settings, VirtualBuses::default(), stop).await
}

/// As [`run_hooked`] with only in-process buses.
///
/// # Errors
/// As [`run_hooked`].
pub async fn run_with(
    settings: Settings,
    virtuals: VirtualBuses,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let hooks = Hooks {
        virtuals,
        ..Hooks::default()
    };
    run_hooked(settings, hooks, stop).await
}

/// What tests and benchmarks hand a run.
#[derive(Debug, Default)]
pub struct Hooks {
    /// In-process buses for `virtual://` URLs (shared with simulators and tests).
    pub virtuals: VirtualBuses,
    /// Receives the address the web server listens on (when `[web]` is enabled).
    pub web_bound: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
}

/// The web server of a run: its task, its publisher, the commands it validated.
struct Web {
    serving: voltwire_runtime::web::Serving,
    publisher: voltwire_runtime::web::Publisher,
    commands: Option<
        tokio::sync::mpsc::Receiver<voltwire_runtime::web::CommandRequest<telemetry::Command>>,
    >,
}

/// Binds and starts the web server (before anything else, so that a port in use stops the
/// start with a clear error).
async fn start_web(settings: &Settings, hooks: &mut Hooks) -> Result<Option<Web>, String> {
    let Some(cfg) = settings.web.clone() else {
        return Ok(None);
    };
    let ttl = settings.mqtt.as_ref().map_or(300_000, |m| m.command_ttl_ms);
    // The validator of the MQTT command path, with the same default TTL.
    let validate = move |name: &str, payload: &[u8]| telemetry::validate(name, payload, ttl);
    let (server, publisher, commands) =
        voltwire_runtime::web::server(cfg, &crate::web::hints(), Some(validate));
    let bound = server.bind().await?;
    let addr = bound.local_addr().map_err(|e| format!("web: {e}"))?;
    tracing::info!(%addr, "web: status page at http://{addr}/");
    if let Some(tx) = hooks.web_bound.take() {
        let _ = tx.send(addr);
    }
    Ok(Some(Web {
        serving: bound
            .spawn()
            .map_err(|e| format!("web: cannot start the server: {e}"))?,
        publisher,
        commands,
    }))
}

/// Runs the installation until `stop`; `hooks` give in-process CAN buses and let tests see
/// the web address and the decisions. Every device is off before the first decision and
/// after the stop.
///
/// # Errors
/// A message when a URL of the (validated) settings cannot be used, or the web port cannot
/// be bound.
#[allow(clippy::too_many_lines, reason = "the wiring in one place")]
pub async fn run_hooked(
    settings: Settings,
    mut hooks: Hooks,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let mut web = start_web(&settings, &mut hooks).await?;
    let virtuals = hooks.virtuals.clone();
    let clock = Clock::start(1);
    let controller = Controller::new(
        settings.control,
        &settings.devices.iter().map(|d| d.1).collect::<Vec<_>>(),
    )
    .map_err(|e| format!("controller refused the configuration: {e:?}"))?;
    let (meter_tx, meter) = watch::channel::<Option<MeterReading>>(None);
    let (battery_tx, battery) = watch::channel::<Option<BatteryReading>>(None);
    let (commands_tx, commands) = watch::channel(Commands::default());
    let commands_tx = std::sync::Arc::new(commands_tx);
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(w) = web.as_mut() {
        if let Some(mut requests) = w.commands.take() {
            let commands_tx = std::sync::Arc::clone(&commands_tx);
            // Validated by the MQTT path's validator; applied the same way. Ends only when
            // the server is gone (then the run ends: a task that ends is seen).
            tasks.spawn(async move {
                while let Some(req) = requests.recv().await {
                    let now = clock.now();
                    commands_tx.send_modify(|all| telemetry::apply(req.command, now, all));
                    let in_force = *commands_tx.borrow();
                    req.respond(Ok(crate::web::commands_json(now, &in_force)));
                }
                tracing::error!("web: the server stopped taking commands");
            });
        }
    }

    let (reading, invert) = (settings.reading.clone(), settings.invert);
    let on_meter =
        move |payload: &[u8], reading: &Reading| match meter::parse(reading, payload, invert) {
            Ok(grid) => {
                meter_tx.send_replace(Some(MeterReading {
                    at: clock.now(),
                    grid,
                }));
            }
            Err(e) => tracing::warn!(error = %e, "meter payload ignored"),
        };
    match settings.meter.clone() {
        MeterSource::Mqtt { broker, topic } => {
            let url: BrokerUrl = broker.parse().map_err(|e| format!("meter.broker: {e}"))?;
            let id = format!("zero-feed-in-meter-{}", std::process::id());
            let options = subscriber_options(&url, id).map_err(|e| format!("meter.broker: {e}"))?;
            tasks.spawn(subscribe(options, topic, move |p| on_meter(p, &reading)));
        }
        MeterSource::Http { url, interval_ms } => {
            tasks.spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(interval_ms));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    match http_get(&url).await {
                        Ok(body) => on_meter(&body, &reading),
                        Err(e) => tracing::warn!(%url, error = %e, "meter poll failed"),
                    }
                }
            });
        }
    }
    let mut voltage_tx = None;
    match settings.battery.clone() {
        BatterySource::Mqtt { broker, topic } => {
            let url: BrokerUrl = broker.parse().map_err(|e| format!("battery.broker: {e}"))?;
            let id = format!("zero-feed-in-bms-{}", std::process::id());
            let options =
                subscriber_options(&url, id).map_err(|e| format!("battery.broker: {e}"))?;
            tasks.spawn(subscribe(options, topic, move |p| {
                match battery_reading(clock.now(), p) {
                    Ok(b) => {
                        battery_tx.send_replace(Some(b));
                    }
                    Err(e) => tracing::warn!(error = %e, "battery payload ignored"),
                }
            }));
        }
        BatterySource::Bms(bms) => {
            tasks.spawn(crate::bms::run(bms, clock, battery_tx));
        }
        BatterySource::None => {
            let measured = settings
                .devices
                .iter()
                .any(|d| matches!(d.0, DeviceKind::Bic(_)));
            if measured {
                tracing::warn!(
                    "no BMS configured: voltage-only limits from the BIC-2200's own voltage \
                     measurement (no SOC, cell or temperature limits); configure a BMS"
                );
            } else {
                tracing::warn!(
                    "no BMS configured and no device measures the battery voltage \
                     (soyosource does not): nothing will be switched on"
                );
            }
            voltage_tx = Some(battery_tx);
        }
    }

    let mut outputs = Vec::new();
    let mut statuses = Vec::new();
    let mut devices = tokio::task::JoinSet::new();
    for (kind, _) in &settings.devices {
        let (cmd_tx, cmd_rx) = watch::channel(DeviceCommand::OFF);
        let (status_tx, status_rx) = watch::channel(DeviceStatus::default());
        match kind.clone() {
            DeviceKind::Soyosource(url) => {
                devices.spawn(crate::device::soyosource(url, clock, cmd_rx, status_tx));
            }
            DeviceKind::Lumentree(lt) => {
                devices.spawn(crate::lumentree::run(lt, clock, cmd_rx, status_tx));
            }
            DeviceKind::Trucki(unit) => {
                devices.spawn(crate::trucki::run(unit, clock, cmd_rx, status_tx));
            }
            DeviceKind::Bic(bic) => {
                // The first BIC reports the battery voltage when there is no BMS.
                let reports = crate::meanwell::Reports {
                    status: status_tx,
                    voltage: voltage_tx.take(),
                };
                devices.spawn(crate::meanwell::run(
                    bic,
                    virtuals.clone(),
                    clock,
                    cmd_rx,
                    reports,
                ));
            }
        }
        outputs.push(cmd_tx);
        statuses.push(status_rx);
    }
    let mqtt = match &settings.mqtt {
        None => None,
        Some(m) => {
            let ttl = m.command_ttl_ms;
            let id = voltwire_runtime::mqtt::default_client_id("zero-feed-in", &m.topics);
            let cfg =
                voltwire_runtime::mqtt::MqttConfig::new(m.broker.clone(), &id, m.topics.clone());
            let (client, mut cmds) = voltwire_runtime::mqtt::MqttClient::start(
                cfg,
                move |name: &str, payload: &[u8]| telemetry::validate(name, payload, ttl),
            )
            .map_err(|e| format!("mqtt: {e}"))?;
            if m.discovery {
                match telemetry::discovery(&m.topics, &m.discovery_prefix) {
                    Ok(configs) => {
                        for c in &configs {
                            if let Err(e) = client.handle().publish_discovery(c) {
                                tracing::warn!(error = %e, "discovery not published");
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "discovery not built"),
                }
            }
            // Validated commands only reach here; each acts until its TTL.
            let commands_tx = std::sync::Arc::clone(&commands_tx);
            tasks.spawn(async move {
                while let Some(c) = cmds.recv().await {
                    commands_tx.send_modify(|all| telemetry::apply(c, clock.now(), all));
                }
            });
            Some(client)
        }
    };
    let handle = mqtt
        .as_ref()
        .map(voltwire_runtime::mqtt::MqttClient::handle);
    let views = (meter.clone(), battery.clone(), statuses.clone());
    let in_force = commands.clone();
    let timeouts = (
        settings.control.meter_timeout_ms,
        settings.control.battery_timeout_ms,
    );
    let (publisher, serving) = match web {
        Some(w) => (Some(w.publisher), Some(w.serving)),
        None => (None, None),
    };
    if let Some(serving) = serving {
        tasks.spawn(async move {
            match serving.await {
                Ok(()) => tracing::error!("web: the server ended"),
                Err(e) => tracing::error!(error = %e, "web: the server failed"),
            }
        });
    }
    let sources = Sources {
        meter,
        battery,
        devices: statuses,
        commands,
    };
    let observe = |now: Millis, d: &voltwire_zero_feed_in_rules::Decision| {
        tracing::debug!(mode = d.mode.name(), total_w = d.total().0, "decision");
        let meter_now = *views.0.borrow();
        if handle.is_none() && publisher.is_none() {
            return;
        }
        let devices: Vec<DeviceStatus> = views.2.iter().map(|s| *s.borrow()).collect();
        if let Some(h) = &handle {
            let state = telemetry::state_json(now, d, meter_now, *views.1.borrow(), &devices);
            if let Err(e) = h.publish_state(&state) {
                tracing::debug!(error = %e, "state not published");
            }
        }
        if let Some(p) = &publisher {
            let view = crate::web::View {
                now,
                decision: *d,
                meter: meter_now,
                battery: *views.1.borrow(),
                devices,
                commands: *in_force.borrow(),
            };
            p.publish_with(move || crate::web::snapshot(&view, timeouts));
        }
    };
    let supervised = async {
        // A source task that ends is a bug (they loop forever): stop, fail-safe.
        if let Some(r) = tasks.join_next().await {
            tracing::error!(?r, "an input task ended");
        }
    };
    let mut failed = false;
    tokio::select! {
        () = engine::run(controller, clock, settings.tick_ms, sources, &outputs, stop, observe) => {}
        () = supervised => failed = true,
    }
    for out in &outputs {
        out.send_replace(DeviceCommand::OFF);
    }
    drop(outputs);
    // Each device task writes its off frame when its sender is gone; give them 3 s.
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while devices.join_next().await.is_some() {}
    })
    .await;
    if let Some(client) = mqtt {
        client.shutdown(Duration::from_secs(2)).await;
    }
    if failed {
        Err("an input task ended; all devices set off".into())
    } else {
        Ok(())
    }
}
