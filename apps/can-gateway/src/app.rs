//! The running gateway: one task per bus, one engine task, MQTT.
//!
//! Frames from every bus reach the engine task through one channel; a frame that completes
//! an input telegram (or an inverter's 0x305) is answered at once with the bursts that are
//! due, so the added latency is one channel hop each way. A tick re-evaluates data age even
//! when nothing arrives, so a silent input is excluded within its timeout plus one tick.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use voltwire_ess::Millis;
use voltwire_pylontech::can::{CanMessage as _, InverterRequest};
use voltwire_runtime::can::CanFrame;
use voltwire_runtime::mqtt::{MqttClient, MqttConfig, MqttHandle};

use crate::bus::{self, BusEvent, Endpoint, Received, VirtualBuses};
use crate::config::Settings;
use crate::engine::{Burst, Engine};
use crate::telemetry;

/// What else the caller wants from a run.
#[derive(Debug, Default)]
pub struct Hooks {
    /// In-process buses for `virtual://` URLs (shared with simulators and tests).
    pub virtuals: VirtualBuses,
    /// If set, receives the full JSON snapshot after every tick.
    pub snapshot: Option<watch::Sender<Value>>,
}

fn millis_since(start: Instant, t: Instant) -> Millis {
    Millis(u64::try_from(t.saturating_duration_since(start).as_millis()).unwrap_or(u64::MAX))
}

/// Run the gateway until `stop` resolves.
///
/// # Errors
/// Only start-up errors (MQTT TLS set-up); every later failure (a lost bus, a lost broker)
/// is survived.
#[allow(clippy::too_many_lines, reason = "the event loop in one place")]
pub async fn run(
    settings: Settings,
    hooks: Hooks,
    stop: impl Future<Output = ()>,
) -> Result<(), String> {
    let start = Instant::now();
    let mut engine = Engine::new(&settings);
    let (rx_tx, mut rx) = mpsc::channel::<Received>(4096);
    let (note_tx, mut notes) = mpsc::unbounded_channel::<BusEvent>();
    let mut input_tx = Vec::new();
    for (i, inp) in settings.inputs.iter().enumerate() {
        let (tx, r) = mpsc::channel::<CanFrame>(64);
        tokio::spawn(bus::run(
            inp.bus.clone(),
            Endpoint::Input(i),
            hooks.virtuals.clone(),
            r,
            rx_tx.clone(),
            note_tx.clone(),
        ));
        input_tx.push(tx);
    }
    let mut output_tx = Vec::new();
    for (o, out) in settings.outputs.iter().enumerate() {
        let (tx, r) = mpsc::channel::<CanFrame>(256);
        tokio::spawn(bus::run(
            out.bus.clone(),
            Endpoint::Output(o),
            hooks.virtuals.clone(),
            r,
            rx_tx.clone(),
            note_tx.clone(),
        ));
        output_tx.push(tx);
    }
    drop(rx_tx);
    drop(note_tx);

    let (mqtt, mut commands, mqtt_interval) = match &settings.mqtt {
        Some(m) => {
            let bounds = settings.setpoint_bounds;
            let ttl = m.default_ttl_ms;
            let cfg = MqttConfig::new(m.url.clone(), "voltwire-can-gateway", m.topics.clone());
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

    let mut tick = tokio::time::interval(Duration::from_millis(settings.tick_ms));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut telem = tokio::time::interval(Duration::from_millis(mqtt_interval));
    telem.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut bursts: Vec<Burst> = Vec::new();
    let mut polls: Vec<usize> = Vec::new();
    let mut stop = std::pin::pin!(stop);

    let send = |engine: &mut Engine, now: Millis, bursts: &mut Vec<Burst>| {
        bursts.clear();
        engine.due(now, bursts);
        for b in bursts.drain(..) {
            if let Some(tx) = output_tx.get(b.output) {
                for f in b.frames {
                    if tx.try_send(f).is_err() {
                        tracing::debug!(output = b.output, "output bus busy; frame dropped");
                    }
                }
            }
        }
    };

    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            r = rx.recv() => {
                let Some(r) = r else { break };
                let at = millis_since(start, r.at);
                if engine.on_frame(r.from, &r.frame, at) {
                    let now = millis_since(start, Instant::now());
                    engine.step(now);
                    send(&mut engine, now, &mut bursts);
                }
            }
            n = notes.recv() => {
                match n {
                    Some(BusEvent::Up(ep)) => engine.bus_state(ep, true),
                    Some(BusEvent::Down(ep)) => engine.bus_state(ep, false),
                    None => {}
                }
            }
            _ = tick.tick() => {
                let now = millis_since(start, Instant::now());
                engine.step(now);
                send(&mut engine, now, &mut bursts);
                polls.clear();
                engine.polls(now, &mut polls);
                for &i in &polls {
                    if let (Some(tx), Some(f)) = (input_tx.get(i), keep_alive()) {
                        let _ = tx.try_send(f);
                    }
                }
                if let Some(s) = &hooks.snapshot {
                    s.send_replace(telemetry::snapshot(&engine, now));
                }
            }
            c = recv_opt(&mut commands) => {
                let now = millis_since(start, Instant::now());
                match c {
                    Some(cmd) => match engine.command(cmd, now) {
                        Ok(()) => {
                            tracing::info!(?cmd, "set point command applied");
                            engine.step(now);
                            send(&mut engine, now, &mut bursts);
                        }
                        Err(e) => tracing::warn!(error = %e, "set point command refused"),
                    },
                    None => commands = None,
                }
            }
            _ = telem.tick(), if handle.is_some() => {
                let now = millis_since(start, Instant::now());
                if let Some(h) = &handle {
                    publish(h, &engine, now);
                }
            }
        }
    }
    if let Some(client) = mqtt {
        client.shutdown(Duration::from_secs(2)).await;
    }
    Ok(())
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
    let (data, len) = InverterRequest::zeros().emit().ok()?;
    CanFrame::standard(InverterRequest::ID, data.get(..len)?)
}
