//! Wiring: one task per pack, the engine, the inverter-side slave.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use voltwire_core::{ScanDecoder, StreamDecoder as _};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};

use crate::config::Settings;
use crate::engine::{self, Clock, Command, Engine, Shared, Snapshot};
use crate::pack::{self, PackLink};
use crate::slave::{self, SlaveConfig};

/// How the running app is reached (commands in, snapshots out).
#[derive(Debug, Clone)]
pub struct Handles {
    /// Commands (manual disable, rebalance start/cancel).
    pub commands: mpsc::Sender<Command>,
    /// The latest evaluation.
    pub snapshots: watch::Receiver<Snapshot>,
    /// The status page's address once it listens (`None` without `[web]`, or before).
    pub web_addr: watch::Receiver<Option<std::net::SocketAddr>>,
    /// The priority known to be in the inverter (`[priority]`; `None`: not known yet, or
    /// unknown after a failed write).
    pub priority: watch::Receiver<Option<crate::priority::Priority>>,
}

/// Serve the inverter on `url` forever (reconnecting), answering from `snapshots`.
pub async fn serve_inverter(url: LinkUrl, cfg: SlaveConfig, snapshots: watch::Receiver<Snapshot>) {
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 99);
    let mut reconnect = Reconnect::new(url.clone(), backoff);
    loop {
        let Ok(mut link) = reconnect.connect(None).await else {
            continue;
        };
        tracing::info!(%url, "inverter link open");
        let mut decoder: ScanDecoder<
            voltwire_pylontech::rs485::Requests,
            { voltwire_asciihex::MAX_FRAME_LEN },
        > = ScanDecoder::new();
        let mut buf = [0u8; 512];
        let err: io::Error = loop {
            let n = match link.read(&mut buf).await {
                Ok(0) => break io::Error::new(io::ErrorKind::UnexpectedEof, "closed"),
                Ok(n) => n,
                Err(e) => break e,
            };
            let mut input = buf.get(..n).unwrap_or_default();
            let mut failed = None;
            loop {
                let p = decoder.feed(input);
                input = input.get(p.consumed..).unwrap_or_default();
                if let Some(item) = p.item {
                    if let Ok(req) = item.value {
                        let snap = snapshots.borrow().clone();
                        if let Some(frame) = slave::answer(&req, &snap, &cfg) {
                            if let Err(e) = link.write_all(&frame.to_bytes()).await {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                } else if input.is_empty() || p.consumed == 0 {
                    break;
                }
            }
            if let Some(e) = failed {
                break e;
            }
        };
        tracing::warn!(%url, error = %err, "inverter link lost, reconnecting");
    }
}

/// MQTT: discovery once, the state every interval, commands forwarded to the engine.
/// Returns only when the engine is gone.
///
/// # Errors
/// The client cannot be built (TLS configuration).
pub async fn run_mqtt(
    m: crate::config::Mqtt,
    commands: mpsc::Sender<Command>,
    snapshots: watch::Receiver<Snapshot>,
    clock: Clock,
    priority: Option<watch::Receiver<Option<crate::priority::Priority>>>,
) -> io::Result<()> {
    use voltwire_runtime::mqtt::{MqttClient, MqttConfig, default_client_id};
    let id = default_client_id("pace2pylon", &m.topics);
    let cfg = MqttConfig::new(m.url.clone(), &id, m.topics.clone());
    let (client, mut cmds) = MqttClient::start(cfg, crate::telemetry::validate)
        .map_err(|e| io::Error::other(format!("mqtt: {e}")))?;
    let handle = client.handle();
    if m.discovery {
        match crate::telemetry::discovery(&m.topics, &m.discovery_prefix) {
            Ok(configs) => {
                for c in &configs {
                    if let Err(e) = handle.publish_discovery(c) {
                        tracing::warn!(error = %e, "discovery not published");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "discovery not built"),
        }
    }
    let mut tick = tokio::time::interval(m.interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let snap = snapshots.borrow().clone();
                let mut state = crate::telemetry::state_json(&snap, clock.now());
                if let Some(p) = &priority {
                    crate::telemetry::with_priority(&mut state, *p.borrow());
                }
                if let Err(e) = handle.publish_state(&state) {
                    tracing::debug!(error = %e, "state not published");
                }
            }
            Some(cmd) = cmds.recv() => {
                if commands.send(cmd).await.is_err() {
                    return Err(io::Error::other("engine gone"));
                }
            }
        }
    }
}

/// Bind the status page (an error names `web.port`/`web.bind` and the fix) and add its
/// tasks to `set`: the server (on a thread of its own; its end is an error), the snapshot
/// publisher (on every evaluation, at least every second so the ages move) and the command
/// path (validated by the MQTT path's [`crate::telemetry::validate`], forwarded to the
/// engine). Returns the address it listens on.
async fn start_web(
    config: voltwire_runtime::web::WebConfig,
    set: &mut JoinSet<io::Result<()>>,
    mut snapshots: watch::Receiver<Snapshot>,
    commands: mpsc::Sender<Command>,
    clock: Clock,
    meter: bool,
    priority: Option<watch::Receiver<Option<crate::priority::Priority>>>,
) -> io::Result<std::net::SocketAddr> {
    let (server, publisher, requests) = voltwire_runtime::web::server(
        config,
        &crate::web::hints(),
        Some(crate::telemetry::validate),
    );
    let bound = server.bind().await.map_err(io::Error::other)?;
    let addr = bound.local_addr()?;
    let serving = bound.spawn()?;
    tracing::info!(%addr, "web: status page at http://{addr}/");
    set.spawn(async move {
        Err(match serving.await {
            Ok(()) => io::Error::other("the web server ended"),
            Err(e) => io::Error::other(format!("the web server failed: {e}")),
        })
    });
    set.spawn(async move {
        loop {
            let mut state =
                crate::telemetry::state_json(&snapshots.borrow_and_update(), clock.now());
            if let Some(p) = &priority {
                crate::telemetry::with_priority(&mut state, *p.borrow());
            }
            publisher.publish_with(move || crate::web::snapshot(state, meter));
            tokio::select! {
                r = snapshots.changed() => if r.is_err() {
                    return Err(io::Error::other("web: the engine is gone"));
                },
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
    if let Some(mut requests) = requests {
        set.spawn(async move {
            while let Some(req) = requests.recv().await {
                let cmd = req.command;
                if commands.send(cmd).await.is_err() {
                    return Err(io::Error::other("web: the engine is gone"));
                }
                req.respond(Ok(crate::web::reply(&cmd)));
            }
            Err(io::Error::other("the web server stopped taking commands"))
        });
    }
    Ok(addr)
}

/// Start: load the rebalance step (an unreadable state file is an error), then return the
/// handles and the future that runs everything. The future ends only with an error (the
/// state file cannot be written); pack and inverter links reconnect by themselves.
///
/// # Errors
/// The state file cannot be read or names no step.
#[allow(clippy::too_many_lines, reason = "one task after the other")]
pub fn start(settings: Settings) -> io::Result<(Handles, impl Future<Output = io::Result<()>>)> {
    let step = engine::load_step(&settings.state_file)?;
    if step != voltwire_ess::pace2pylon::RebalanceStep::Idle {
        tracing::warn!(step = step.name(), "resuming a rebalance");
    }
    let clock = Clock::start();
    let shared = Arc::new(Mutex::new(Shared::new(settings.pack_links.len())));
    let (tx, rx) = watch::channel(Snapshot::initial());
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let cmd_tx_mqtt = cmd_tx.clone();
    let (web_tx, web_rx) = watch::channel(None);
    let (priority_tx, priority_rx) = watch::channel(None);
    // The known priority in the MQTT and web state, when `[priority]` is configured.
    let priority_state = settings.priority.is_some().then(|| priority_rx.clone());
    let cmd_tx_web = cmd_tx.clone();
    let handles = Handles {
        commands: cmd_tx,
        snapshots: rx.clone(),
        web_addr: web_rx,
        priority: priority_rx,
    };
    let run = async move {
        let mut set = JoinSet::new();
        if let Some(w) = settings.web.clone() {
            let meter = settings.meter.is_some();
            let addr = start_web(
                w,
                &mut set,
                rx.clone(),
                cmd_tx_web,
                clock,
                meter,
                priority_state.clone(),
            )
            .await?;
            web_tx.send_replace(Some(addr));
        }
        // Packs sharing a link (an RS485 bus) are polled in turn by one task.
        let mut links: Vec<PackLink> = Vec::new();
        for (index, (url, address)) in settings
            .pack_links
            .iter()
            .zip(&settings.pack_addresses)
            .enumerate()
        {
            let member = pack::Member {
                index,
                address: *address,
            };
            match links.iter_mut().find(|l| l.url == *url) {
                Some(l) => l.members.push(member),
                None => links.push(PackLink {
                    url: url.clone(),
                    members: vec![member],
                    poll_interval: settings.poll_interval,
                    config_interval: settings.config_interval,
                    timeout: settings.timeout,
                    fallback: settings.fallback,
                }),
            }
        }
        for p in links {
            let shared = Arc::clone(&shared);
            set.spawn(async move {
                Box::pin(pack::run(p, shared, clock)).await;
                Ok(())
            });
        }
        let cfg = SlaveConfig {
            address: settings.address,
            present_as: settings.present_as,
            silence: settings.silence,
        };
        let inverter_link = settings.inverter_link.clone();
        let rx_mqtt = rx.clone();
        let rx_priority = rx.clone();
        set.spawn(async move {
            Box::pin(serve_inverter(inverter_link, cfg, rx)).await;
            Ok(())
        });
        if let Some(m) = settings.mqtt.clone() {
            let commands = cmd_tx_mqtt;
            let snapshots = rx_mqtt;
            let priority = priority_state.clone();
            set.spawn(async move { run_mqtt(m, commands, snapshots, clock, priority).await });
        }
        if let Some(p) = settings.priority.clone() {
            let snapshots = rx_priority;
            set.spawn(crate::priority::run(p, snapshots, clock, priority_tx));
        }
        if let Some(m) = settings.meter.clone() {
            let shared = Arc::clone(&shared);
            set.spawn(async move {
                Box::pin(crate::meter::run(m, shared, clock)).await;
                Ok(())
            });
        }
        let tick = settings.tick;
        let eng = Engine::new(settings, step);
        set.spawn(engine::run(eng, shared, clock, tick, tx, cmd_rx));
        // No task ends by design; the first that does ends the app with its error.
        match set.join_next().await {
            Some(Ok(Err(e))) => Err(e),
            Some(Err(e)) => Err(io::Error::other(format!("task failed: {e}"))),
            Some(Ok(Ok(()))) | None => Err(io::Error::other("a task ended unexpectedly")),
        }
    };
    Ok((handles, run))
}
