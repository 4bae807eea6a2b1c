//! The running gateway: one task per bus, one engine task, MQTT.
//!
//! Frames from every bus reach the engine task through one channel; a frame that completes
//! an input telegram (or an inverter's 0x305) is answered at once with the bursts that are
//! due, so the added latency is one channel hop each way. A tick re-evaluates data age even
//! when nothing arrives, so a silent input is excluded within its timeout plus one tick.
//!
//! Each bus task reports every burst as written or not, so the output counters and
//! `bus_up` in telemetry tell what reached the wire, not what was scheduled.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use voltwire_ess::Millis;
use voltwire_pylontech::can::{CanMessage as _, InverterRequest};
use voltwire_runtime::can::CanFrame;
use voltwire_runtime::mqtt::{MqttClient, MqttConfig, MqttHandle};

use crate::bus::{self, BusEvent, Endpoint, Received, Timeouts, VirtualBuses, Wires};
use crate::config::{OnExit, Settings};
use crate::engine::{Burst, Command, Engine};
use crate::telemetry;

/// What else the caller wants from a run.
#[derive(Debug, Default)]
pub struct Hooks {
    /// In-process buses for `virtual://` URLs (shared with simulators and tests).
    pub virtuals: VirtualBuses,
    /// If set, receives the full JSON snapshot after every tick.
    pub snapshot: Option<watch::Sender<Value>>,
    /// If set, receives the address the web server listens on (when `[web]` is enabled).
    pub web_bound: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
}

/// How often the web server gets a new snapshot (and after every command).
pub const WEB_INTERVAL: Duration = Duration::from_millis(500);

/// The web server of a run: its task, its publisher, the commands it validated.
struct Web {
    /// The server, on a thread of its own: requests never delay the CAN path.
    serving: voltwire_runtime::web::Serving,
    publisher: voltwire_runtime::web::Publisher,
    commands: Option<mpsc::Receiver<voltwire_runtime::web::CommandRequest<Command>>>,
}

/// Bind and start the web server (before anything else, so that a port in use stops the
/// start with a clear error).
async fn start_web(settings: &Settings, hooks: &mut Hooks) -> Result<Option<Web>, String> {
    let Some(cfg) = settings.web.clone() else {
        return Ok(None);
    };
    let bounds = settings.setpoint_bounds;
    let ttl = settings.setpoint_default_ttl_ms;
    // The validator of the MQTT command path, the same function with the same bounds.
    let validate =
        move |name: &str, payload: &[u8]| telemetry::validate(name, payload, &bounds, ttl);
    let (server, publisher, commands) =
        voltwire_runtime::web::server(cfg, &crate::web::hints(&bounds), Some(validate));
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

/// Apply a set-point command (from MQTT or HTTP, validated by `telemetry::validate`).
fn apply(
    engine: &mut Engine,
    outputs: &mut Outputs,
    bursts: &mut Vec<Burst>,
    cmd: Command,
    now: Millis,
) -> Result<(), voltwire_runtime::mqtt::Rejection> {
    match engine.command(cmd, now) {
        Ok(()) => {
            tracing::info!(?cmd, "set point command applied");
            engine.step(now);
            outputs.dispatch(engine, now, bursts);
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "set point command refused");
            Err(voltwire_runtime::mqtt::Rejection::new(
                "refused",
                e.to_string(),
            ))
        }
    }
}

fn millis_since(start: Instant, t: Instant) -> Millis {
    Millis(u64::try_from(t.saturating_duration_since(start).as_millis()).unwrap_or(u64::MAX))
}

/// How long the gateway waits on exit for the bus tasks to write the last bursts.
pub const EXIT_WAIT: Duration = Duration::from_millis(500);

/// The output side: one burst channel per output, and the bursts handed to each bus task
/// whose fate (written or not) it has not reported yet.
struct Outputs {
    tx: Vec<mpsc::Sender<Vec<CanFrame>>>,
    in_flight: Vec<u32>,
}

impl Outputs {
    /// Hand the bursts due at `now` to the bus tasks; a burst whose channel is full (the
    /// bus is slow or reconnecting) is dropped and counted at once.
    fn dispatch(&mut self, engine: &mut Engine, now: Millis, bursts: &mut Vec<Burst>) {
        bursts.clear();
        engine.due(now, bursts);
        for b in bursts.drain(..) {
            let o = b.output;
            if self
                .tx
                .get(o)
                .is_some_and(|tx| tx.try_send(b.frames).is_ok())
            {
                if let Some(n) = self.in_flight.get_mut(o) {
                    *n = n.saturating_add(1);
                }
            } else {
                tracing::debug!(output = o, "output bus busy; burst dropped");
                engine.burst_done(o, false, now);
            }
        }
    }

    /// A bus task reported on one burst of output `o`.
    fn settle(&mut self, o: usize) {
        if let Some(n) = self.in_flight.get_mut(o) {
            *n = n.saturating_sub(1);
        }
    }

    fn idle(&self) -> bool {
        self.in_flight.iter().all(|n| *n == 0)
    }
}

/// Apply a bus task's notice to the engine (and the output bookkeeping).
fn on_notice(engine: &mut Engine, outputs: &mut Outputs, n: BusEvent, now: Millis) {
    match n {
        BusEvent::Up(ep) => engine.bus_state(ep, true),
        BusEvent::Down(ep) => engine.bus_state(ep, false),
        BusEvent::Sent(ep) => {
            if let Endpoint::Output(o) = ep {
                outputs.settle(o);
                engine.burst_done(o, true, now);
                engine.bus_state(ep, true);
            }
        }
        BusEvent::SendFailed(ep) => {
            if let Endpoint::Output(o) = ep {
                outputs.settle(o);
                engine.burst_done(o, false, now);
                engine.bus_state(ep, false);
            }
        }
        BusEvent::Malformed(ep, k) => match ep {
            Endpoint::Input(i) => {
                if let Some(slot) = engine.inputs.get_mut(i) {
                    slot.bad_frames = slot.bad_frames.saturating_add(k);
                }
            }
            Endpoint::Output(o) => {
                tracing::debug!(output = o, lines = k, "malformed lines on an output bus");
            }
        },
    }
}

/// The last burst of every output on exit: what it was last told (else the combined
/// state), with charge and discharge disabled and zero current limits
/// (`voltwire_ess::disabled`).
fn exit_bursts(engine: &Engine, now: Millis) -> Vec<Burst> {
    engine
        .outputs
        .iter()
        .enumerate()
        .map(|(o, slot)| {
            let last = slot
                .last_state
                .or_else(|| engine.combined(now))
                .unwrap_or_default();
            Burst {
                output: o,
                frames: crate::engine::encode(&voltwire_ess::disabled(last), &slot.cfg.encode),
            }
        })
        .collect()
}

/// Run the gateway until `stop` resolves; then, with `on_exit = "safe"`, send every output
/// one last burst with charge and discharge disabled and zero current limits and wait (at
/// most [`EXIT_WAIT`]) until the bus tasks have written it.
///
/// # Errors
/// Start-up errors (MQTT TLS set-up), and a task that must never end that ended or
/// panicked (a bus task, the MQTT client task): then the gateway stops as on a signal
/// (the exit burst included) and returns the reason, so that the process exits non-zero.
/// A lost bus or a lost broker is survived (reconnect with backoff).
#[allow(clippy::too_many_lines, reason = "the event loop in one place")]
pub async fn run(
    settings: Settings,
    mut hooks: Hooks,
    stop: impl Future<Output = ()>,
) -> Result<(), String> {
    let mut web = start_web(&settings, &mut hooks).await?;
    let mut web_cmds = web.as_mut().and_then(|w| w.commands.take());
    let start = Instant::now();
    let mut engine = Engine::new(&settings);
    let (rx_tx, mut rx) = mpsc::channel::<Received>(4096);
    let (note_tx, mut notes) = mpsc::unbounded_channel::<BusEvent>();
    let mut tasks: JoinSet<Endpoint> = JoinSet::new();
    let mut task_ep: HashMap<tokio::task::Id, Endpoint> = HashMap::new();
    let mut spawn = |url: &bus::BusUrl, label: &str, ep: Endpoint, t: Timeouts, cap: usize| {
        let (tx, to_send) = mpsc::channel::<Vec<CanFrame>>(cap);
        let wires = Wires {
            to_send,
            received: rx_tx.clone(),
            notices: note_tx.clone(),
        };
        let run = bus::run(
            url.clone(),
            label.to_owned(),
            ep,
            t,
            hooks.virtuals.clone(),
            wires,
        );
        let h = tasks.spawn(async move {
            run.await;
            ep
        });
        task_ep.insert(h.id(), ep);
        tx
    };
    let input_tx: Vec<_> = settings
        .inputs
        .iter()
        .enumerate()
        .map(|(i, inp)| {
            spawn(
                &inp.bus,
                &inp.bus_label,
                Endpoint::Input(i),
                Timeouts::input(inp.domain.timeout_ms),
                4,
            )
        })
        .collect();
    let mut outputs = Outputs {
        tx: settings
            .outputs
            .iter()
            .enumerate()
            .map(|(o, out)| {
                spawn(
                    &out.bus,
                    &out.bus_label,
                    Endpoint::Output(o),
                    Timeouts::output(),
                    8,
                )
            })
            .collect(),
        in_flight: vec![0; settings.outputs.len()],
    };
    drop(rx_tx);
    drop(note_tx);

    let (mqtt, mut commands, mqtt_interval) = match &settings.mqtt {
        Some(m) => {
            let bounds = settings.setpoint_bounds;
            let ttl = m.default_ttl_ms;
            let id = voltwire_runtime::mqtt::default_client_id("can-gateway", &m.topics);
            let cfg = MqttConfig::new(m.url.clone(), &id, m.topics.clone());
            let (client, cmds) = MqttClient::start(cfg, move |name: &str, payload: &[u8]| {
                telemetry::validate(name, payload, &bounds, ttl)
            })
            .map_err(|e| format!("mqtt: {e}"))?;
            if m.discovery {
                match telemetry::discovery(&m.topics, &m.discovery_prefix, &bounds) {
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
            (Some(client), Some(cmds), m.interval_ms)
        }
        None => (None, None, 1000),
    };
    let handle: Option<MqttHandle> = mqtt.as_ref().map(MqttClient::handle);
    let mqtt_status = handle.as_ref().map(MqttHandle::status);
    let mut web_tick = tokio::time::interval(WEB_INTERVAL);
    web_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let mut tick = tokio::time::interval(Duration::from_millis(settings.tick_ms));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut telem = tokio::time::interval(Duration::from_millis(mqtt_interval));
    telem.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut bursts: Vec<Burst> = Vec::new();
    let mut polls: Vec<usize> = Vec::new();
    let mut stale = vec![false; settings.outputs.len()];
    let mut stop = std::pin::pin!(stop);
    let now = || millis_since(start, Instant::now());
    let mut failure: Option<String> = None;

    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            r = rx.recv() => {
                let Some(r) = r else { break };
                let at = millis_since(start, r.at);
                if engine.on_frame(r.from, &r.frame, at) {
                    let now = now();
                    engine.step(now);
                    outputs.dispatch(&mut engine, now, &mut bursts);
                }
            }
            Some(n) = notes.recv() => on_notice(&mut engine, &mut outputs, n, now()),
            Some(done) = tasks.join_next_with_id() => {
                // Bus tasks run until their channels close, i.e. until we stop: an end
                // here is a bug (or a panic), never silent.
                let ep = match &done {
                    Ok((id, _)) => task_ep.get(id).copied(),
                    Err(e) => task_ep.get(&e.id()).copied(),
                };
                let what = match ep {
                    Some(Endpoint::Input(i)) => settings.inputs.get(i).map(|x| format!("input `{}` ({})", x.name, x.bus_label)),
                    Some(Endpoint::Output(o)) => settings.outputs.get(o).map(|x| format!("output `{}` ({})", x.name, x.bus_label)),
                    None => None,
                }
                .unwrap_or_else(|| "a bus".to_owned());
                let why = match done {
                    Ok(_) => "ended".to_owned(),
                    Err(e) if e.is_panic() => format!("panicked: {}", panic_text(&*e.into_panic())),
                    Err(e) => format!("failed: {e}"),
                };
                if let Some(ep) = ep {
                    engine.bus_state(ep, false);
                }
                // The gateway cannot go on with a bus nobody serves: stop (with the exit
                // burst) and exit non-zero, so a service manager restarts it.
                failure = Some(format!("the bus task of {what} {why}"));
                break;
            }
            _ = tick.tick() => {
                let now = now();
                engine.step(now);
                outputs.dispatch(&mut engine, now, &mut bursts);
                polls.clear();
                engine.polls(now, &mut polls);
                for &i in &polls {
                    if let (Some(tx), Some(f)) = (input_tx.get(i), keep_alive()) {
                        let _ = tx.try_send(vec![f]);
                    }
                }
                for (o, was) in stale.iter_mut().enumerate() {
                    let is = engine.request_stale(o, now);
                    if is != *was {
                        let name = engine.outputs.get(o).map(|s| s.cfg.name.as_str()).unwrap_or_default();
                        if is {
                            tracing::warn!(output = name, "the inverter sends no requests (0x305 / 0x307); link stale");
                        } else {
                            tracing::info!(output = name, "the inverter sends requests again");
                        }
                        *was = is;
                    }
                }
                if let Some(s) = &hooks.snapshot {
                    s.send_replace(telemetry::snapshot(&engine, now));
                }
            }
            c = recv_opt(&mut commands) => {
                let now = now();
                let Some(cmd) = c else {
                    failure = Some("the MQTT client task ended".to_owned());
                    break;
                };
                let _ = apply(&mut engine, &mut outputs, &mut bursts, cmd, now);
            }
            c = recv_opt(&mut web_cmds) => {
                let now = now();
                let Some(req) = c else {
                    failure = Some("the web server stopped taking commands".to_owned());
                    break;
                };
                let cmd = req.command;
                let r = apply(&mut engine, &mut outputs, &mut bursts, cmd, now)
                    .map(|()| crate::web::command_result(&engine, now));
                req.respond(r);
                if let Some(w) = &web {
                    let status = mqtt_status.as_ref().map(|s| *s.borrow());
                    publish_web(&w.publisher, &engine, now, status);
                }
            }
            r = web_task(&mut web) => {
                failure = Some(match r {
                    Ok(()) => "the web server ended".to_owned(),
                    Err(e) => format!("the web server failed: {e}"),
                });
                break;
            }
            _ = web_tick.tick(), if web.is_some() => {
                if let Some(w) = &web {
                    let now = now();
                    let status = mqtt_status.as_ref().map(|s| *s.borrow());
                    publish_web(&w.publisher, &engine, now, status);
                }
            }
            _ = telem.tick(), if handle.is_some() => {
                if let Some(h) = &handle {
                    publish(h, &engine, now());
                }
            }
        }
    }

    if settings.on_exit == OnExit::Safe {
        let deadline = Instant::now() + EXIT_WAIT;
        for b in exit_bursts(&engine, now()) {
            let Some(tx) = outputs.tx.get(b.output) else {
                continue;
            };
            if let Ok(Ok(())) = tokio::time::timeout_at(deadline, tx.send(b.frames)).await {
                if let Some(n) = outputs.in_flight.get_mut(b.output) {
                    *n = n.saturating_add(1);
                }
            }
        }
        while !outputs.idle() {
            tokio::select! {
                n = notes.recv() => match n {
                    Some(n) => on_notice(&mut engine, &mut outputs, n, now()),
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        if outputs.idle() {
            tracing::info!("safe exit burst written to every output");
        } else {
            tracing::warn!(pending = ?outputs.in_flight, "safe exit burst not confirmed on every output");
        }
    }
    // Closing the channels ends the bus tasks (after what they hold is written).
    outputs.tx.clear();
    drop(input_tx);
    let _ = tokio::time::timeout(EXIT_WAIT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    while let Ok(n) = notes.try_recv() {
        on_notice(&mut engine, &mut outputs, n, now());
    }
    if let Some(s) = &hooks.snapshot {
        s.send_replace(telemetry::snapshot(&engine, now()));
    }
    if let Some(w) = &web {
        publish_web(
            &w.publisher,
            &engine,
            now(),
            mqtt_status.as_ref().map(|s| *s.borrow()),
        );
    }
    // Dropping the server stops its thread.
    drop(web);
    if let Some(client) = mqtt {
        client.shutdown(Duration::from_secs(2)).await;
    }
    match failure {
        Some(reason) => {
            tracing::error!(%reason, "gateway stopped");
            Err(reason)
        }
        None => Ok(()),
    }
}

/// The message of a panic payload.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Hand the web server a copy of the engine: it builds the JSON and the metrics on its own
/// thread when a client asks (a clone here is far cheaper than the build).
fn publish_web(
    p: &voltwire_runtime::web::Publisher,
    engine: &Engine,
    now: Millis,
    mqtt: Option<voltwire_runtime::mqtt::LinkStatus>,
) {
    let e = engine.clone();
    p.publish_with(move || crate::web::snapshot(&e, now, mqtt));
}

/// The end of the web server's task (never, without one).
async fn web_task(web: &mut Option<Web>) -> std::io::Result<()> {
    match web {
        Some(w) => (&mut w.serving).await,
        None => std::future::pending().await,
    }
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

fn publish(h: &MqttHandle, e: &Engine, now: Millis) {
    let topics = h.topics().clone();
    let mut result = h.publish_state(&telemetry::combined_json(e, now));
    for i in 0..e.inputs.len() {
        if let Some(slot) = e.inputs.get(i) {
            let t = topics.sub(&format!("input/{}", slot.name));
            result = result.and(h.publish_retained_json(&t, &telemetry::input_json(e, i, now)));
        }
    }
    for o in 0..e.outputs.len() {
        if let Some(slot) = e.outputs.get(o) {
            let t = topics.sub(&format!("output/{}", slot.cfg.name));
            result = result.and(h.publish_retained_json(&t, &telemetry::output_json(e, o, now)));
        }
    }
    if let Err(err) = result {
        tracing::debug!(error = %err, "telemetry not published");
    }
}

/// The inverter keep-alive 0x305 (eight zero bytes, as inverters send it).
fn keep_alive() -> Option<CanFrame> {
    InverterRequest::zeros().to_frame().ok()
}
