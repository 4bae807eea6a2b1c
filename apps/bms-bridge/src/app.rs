//! Composition: settings → sources, relays, MQTT → the engine loop.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as J, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use voltwire_bms_rules::{Config, Millis, Mode, Relay, topics};
use voltwire_runtime::mqtt::{
    self, Device, Discovery, Entity, MqttClient, MqttConfig, MqttHandle, Rejection, StateClass,
};
use voltwire_runtime::web;

use crate::bms;
use crate::config::{BmsKind, MqttSettings, RelayBackend, RulesSettings, Settings};
use crate::engine::{Engine, Input, RelayDriver, Sink};
use crate::gpio::{GpioRelay, OpenLine};
use crate::sources::{self, LinkConnect, VeDirectRole};

/// The engine's clock.
pub trait Clock: Send + Sync + 'static {
    /// Now, in ms of this clock.
    fn now(&self) -> Millis;
}

/// tokio's clock (paused in tests), optionally scaled (the demo's ×120).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: tokio::time::Instant,
    speed: u32,
}

impl TokioClock {
    /// A clock at 0 now, running `speed` times faster than tokio's.
    pub fn new(speed: u32) -> Self {
        Self {
            start: tokio::time::Instant::now(),
            speed: speed.max(1),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Millis {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        Millis(ms.saturating_mul(u64::from(self.speed)))
    }
}

/// Relays that only log (and remember their state, for tests and the demo).
#[derive(Debug, Clone, Default)]
pub struct SimRelays(pub Arc<Mutex<[bool; 3]>>);

impl SimRelays {
    /// The current states.
    pub fn states(&self) -> [bool; 3] {
        self.0.lock().map_or([false; 3], |g| *g)
    }
}

impl RelayDriver for SimRelays {
    fn set(&mut self, relay: Relay, on: bool) -> Result<(), String> {
        tracing::info!(relay = relay.name(), on, "relay (sim)");
        let mut g = self
            .0
            .lock()
            .map_err(|_| "relay state poisoned".to_owned())?;
        if let Some(s) = g.get_mut(relay.index()) {
            *s = on;
        }
        Ok(())
    }
}

/// Relays by backend: sim, a GPIO line, Tasmota or Shelly Gen2 RPC over MQTT.
#[derive(Debug)]
pub struct Relays {
    backends: [RelayBackend; 3],
    sim: SimRelays,
    mqtt: Option<MqttHandle>,
    gpio: [Option<GpioRelay>; 3],
}

/// Open the GPIO line of every `gpio` relay with `open`, each driven to OFF from the first
/// moment (in [`Relay::ALL`] order; `None` for the other backends).
///
/// # Errors
/// A line that cannot be opened (or no opener in this build): the relay's field and the fix.
pub fn open_gpio(
    backends: &[RelayBackend; 3],
    open: Option<OpenLine>,
) -> Result<[Option<GpioRelay>; 3], String> {
    let mut lines = [None, None, None];
    for ((slot, backend), relay) in lines.iter_mut().zip(backends).zip(Relay::ALL) {
        if let RelayBackend::Gpio(url) = backend {
            let open = open.ok_or_else(|| {
                format!("relays.{}: this build has no GPIO support", relay.name())
            })?;
            let line = GpioRelay::open(url, open).map_err(|e| {
                format!(
                    "relays.{}: {e}; check the chip (ls /dev/gpiochip*), the line (gpioinfo) and that this user may open the chip",
                    relay.name()
                )
            })?;
            tracing::info!(relay = relay.name(), %url, "relay line opened, off");
            *slot = Some(line);
        }
    }
    Ok(lines)
}

impl Relays {
    /// Relays on `backends`: the MQTT ones through `mqtt`, the GPIO ones on `gpio` (from
    /// [`open_gpio`]; released when this is dropped); every state also kept in `sim`.
    pub fn new(
        backends: [RelayBackend; 3],
        mqtt: Option<MqttHandle>,
        gpio: [Option<GpioRelay>; 3],
        sim: SimRelays,
    ) -> Self {
        Self {
            backends,
            sim,
            mqtt,
            gpio,
        }
    }
}

impl RelayDriver for Relays {
    fn set(&mut self, relay: Relay, on: bool) -> Result<(), String> {
        match self.backends.get(relay.index()) {
            Some(RelayBackend::Gpio(_)) => {
                self.gpio
                    .get_mut(relay.index())
                    .and_then(Option::as_mut)
                    .ok_or("the relay's GPIO line is not open")?
                    .set(on)?;
                self.sim.set(relay, on)
            }
            Some(RelayBackend::Tasmota { topic }) => {
                let h = self
                    .mqtt
                    .as_ref()
                    .ok_or("no MQTT broker for the tasmota relay")?;
                let payload = if on { "ON" } else { "OFF" };
                h.publish(&format!("cmnd/{topic}/POWER"), payload.as_bytes().to_vec())
                    .map_err(|e| e.to_string())?;
                self.sim.set(relay, on)
            }
            Some(RelayBackend::Shelly { topic, channel }) => {
                let h = self
                    .mqtt
                    .as_ref()
                    .ok_or("no MQTT broker for the shelly relay")?;
                let rpc = json!({
                    "id": 1,
                    "src": format!("{}/rpc", h.topics().base()),
                    "method": "Switch.Set",
                    "params": {"id": channel, "on": on},
                });
                h.publish(&format!("{topic}/rpc"), rpc.to_string().into_bytes())
                    .map_err(|e| e.to_string())?;
                self.sim.set(relay, on)
            }
            _ => self.sim.set(relay, on),
        }
    }
}

/// What an observer (tests, the demo) sees of the engine's outputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// A state JSON as published.
    State(J),
    /// An event JSON as published.
    Event(J),
}

/// Outputs to MQTT (if any), the log and an optional observer.
#[derive(Debug)]
pub struct MqttSink {
    handle: Option<MqttHandle>,
    observe: Option<mpsc::UnboundedSender<Observed>>,
}

impl MqttSink {
    /// Publish through `handle` (None: log only); everything is also sent to `observe`.
    pub fn new(
        handle: Option<MqttHandle>,
        observe: Option<mpsc::UnboundedSender<Observed>>,
    ) -> Self {
        Self { handle, observe }
    }
}

impl Sink for MqttSink {
    fn state(&mut self, state: &J) {
        if let Some(tx) = &self.observe {
            let _ = tx.send(Observed::State(state.clone()));
        }
        if let Some(h) = &self.handle {
            if let Err(e) = h.publish_state(state) {
                tracing::warn!(error = %e, "state not published");
            }
        }
    }

    fn event(&mut self, event: &J) {
        if let Some(tx) = &self.observe {
            let _ = tx.send(Observed::Event(event.clone()));
        }
        if let Some(h) = &self.handle {
            let topic = h.topics().sub(topics::EVENT);
            if let Err(e) = h.publish(&topic, event.to_string().into_bytes()) {
                tracing::warn!(error = %e, "event not published");
            }
        }
    }

    fn config(&mut self, settings: &J) {
        if let Some(h) = &self.handle {
            let topic = h.topics().sub(topics::CONFIG);
            if let Err(e) = h.publish_retained_json(&topic, settings) {
                tracing::warn!(error = %e, "config echo not published");
            }
        }
    }
}

/// Parse a relay mode command: `on`, `off`, `auto` (any ASCII case, surrounding whitespace
/// ignored; Home Assistant switches send `ON` / `OFF`), or the JSON object `{"mode": "on"}`
/// (the web page's buttons).
///
/// # Errors
/// A [`Rejection`] naming the command and the accepted values.
pub fn parse_mode(name: &str, payload: &[u8]) -> Result<Mode, Rejection> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| Rejection::invalid(name, "payload is not UTF-8; send on, off or auto"))?;
    let mut t = text.trim().to_ascii_lowercase();
    if t.starts_with('{') {
        let v: J = serde_json::from_str(text).map_err(|e| {
            Rejection::invalid(
                name,
                format!("not JSON ({e}); send on, off, auto or {{\"mode\": \"on\"}}"),
            )
        })?;
        let obj = v.as_object().filter(|o| o.len() == 1);
        let Some(m) = obj.and_then(|o| o.get("mode")).and_then(J::as_str) else {
            return Err(Rejection::invalid(
                name,
                "the JSON object must hold only \"mode\" with a string; send {\"mode\": \"on\"}, \"off\" or \"auto\"",
            ));
        };
        t = m.trim().to_ascii_lowercase();
    }
    Mode::from_name(&t).ok_or_else(|| {
        Rejection::invalid(
            name,
            format!("{text:?} is not a mode; send on, off or auto"),
        )
    })
}

/// The MQTT command validator: relay modes on `<base>/command/<relay>`, rule settings
/// (JSON, the `[rules]` keys) on `<base>/command/config`. `current` is the effective
/// config (updated on success). Rejections are also sent to `rejected` as error events.
pub fn validator(
    current: Arc<Mutex<Config>>,
    rejected: mpsc::Sender<Input>,
) -> impl Fn(&str, &[u8]) -> Result<Input, Rejection> + Send + Sync + 'static {
    move |name: &str, payload: &[u8]| {
        let r = validate(&current, name, payload);
        if let Err(e) = &r {
            let _ = rejected.try_send(Input::Rejected {
                command: name.to_owned(),
                reason: e.to_string(),
            });
        }
        r
    }
}

fn validate(current: &Mutex<Config>, name: &str, payload: &[u8]) -> Result<Input, Rejection> {
    match topics::Command::from_name(name) {
        Some(topics::Command::Relay(relay)) => {
            parse_mode(name, payload).map(|m| Input::Mode(relay, m))
        }
        Some(topics::Command::Config) => {
            let s: RulesSettings = mqtt::parse_json(payload)?;
            let mut cur = current
                .lock()
                .map_err(|_| Rejection::new("internal", "config lock poisoned"))?;
            let next = s
                .apply(*cur)
                .map_err(|e| Rejection::invalid(e.field, e.fix))?;
            *cur = next;
            Ok(Input::Config(Box::new(next)))
        }
        None => Err(Rejection::unknown_command(name)),
    }
}

/// Read the retained `<base>/config` for up to `wait`: `Some(settings JSON)` if one came.
/// Plain TCP only (over TLS the file's values are used and a warning is logged).
pub async fn fetch_retained(m: &MqttSettings) -> Option<Vec<u8>> {
    if m.retained_wait.is_zero() {
        return None;
    }
    if m.url.tls {
        tracing::warn!("retained config is not read over TLS in this version; using the file");
        return None;
    }
    let id = format!("{}-init", mqtt::default_client_id("bms-bridge", &m.topics));
    let mut o = rumqttc::MqttOptions::new(id, m.url.host.clone(), m.url.port);
    if let Some(u) = &m.url.username {
        o.set_credentials(u.clone(), m.url.password.clone().unwrap_or_default());
    }
    let (client, mut el) = rumqttc::AsyncClient::new(o, 8);
    let topic = m.topics.sub(topics::CONFIG);
    let got = tokio::time::timeout(m.retained_wait, async {
        loop {
            match el.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    let _ = client
                        .subscribe(topic.clone(), rumqttc::QoS::AtLeastOnce)
                        .await;
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) if p.topic == topic => {
                    return Some(p.payload.to_vec());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "retained config: broker unavailable");
                    return None;
                }
            }
        }
    })
    .await
    .ok()
    .flatten();
    let _ = client.try_disconnect();
    got
}

fn discovery(h: &MqttHandle) {
    for c in discovery_configs(h.topics()) {
        if let Err(e) = h.publish_discovery(&c) {
            tracing::warn!(error = %e, "discovery not published");
        }
    }
}

/// The Home Assistant discovery messages of a bridge under `topics` (published retained
/// after connecting; the ESP32 firmware's `voltwire_bms_node::discovery` is the same set).
pub fn discovery_configs(topics: &mqtt::Topics) -> Vec<mqtt::DiscoveryConfig> {
    let node = topics.base().replace('/', "_");
    let mut device = Device::new(format!("voltwire_{node}"), "bms-bridge");
    device.manufacturer = Some("voltwire".into());
    let Ok(d) = Discovery::new(&node, device, topics.clone()) else {
        return Vec::new();
    };
    let sensor = |id: &str, name: &str, class: &str, unit: &str| {
        Entity::sensor(id, name)
            .device_class(class)
            .unit(unit)
            .state_class(StateClass::Measurement)
            .value_template(&format!("{{{{ value_json.{id} }}}}"))
    };
    let mut entities = vec![
        sensor("soc_pct", "State of charge", "battery", "%"),
        sensor("voltage_v", "Voltage", "voltage", "V"),
        sensor("current_a", "Current", "current", "A"),
        sensor("cell_diff_v", "Cell difference", "voltage", "V"),
        sensor("cell_temp_c", "Cell temperature", "temperature", "°C"),
        sensor("charger_temp_c", "Charger temperature", "temperature", "°C"),
        sensor("pv_power_w", "PV power", "power", "W"),
        Entity::binary_sensor("alarm", "Alarm")
            .device_class("problem")
            .value_template("{{ 'ON' if value_json.alarm else 'OFF' }}"),
        Entity::binary_sensor("charge_mosfet", "Charge MOSFET")
            .value_template("{{ 'ON' if value_json.charge_mosfet else 'OFF' }}"),
    ];
    for r in Relay::ALL {
        entities.push(Entity::switch(r.name(), r.name()).value_template(&format!(
            "{{{{ 'ON' if value_json.relays.{}.on else 'OFF' }}}}",
            r.name()
        )));
    }
    // Each relay's mode as a select on the switch's command topic (the validator takes
    // `on`, `off`, `auto`).
    for r in Relay::ALL {
        let modes = [Mode::On, Mode::Off, Mode::Auto].map(Mode::name);
        entities.push(
            Entity::select(
                &format!("{}_mode", r.name()),
                &format!("{} mode", r.name()),
                &modes,
            )
            .command(r.name())
            .icon("mdi:tune-variant")
            .value_template(&format!("{{{{ value_json.relays.{}.mode }}}}", r.name())),
        );
    }
    let mut configs = Vec::new();
    for e in &entities {
        match d.config(e) {
            Ok(c) => configs.push(c),
            Err(e) => tracing::warn!(error = %e, "discovery entity"),
        }
    }
    configs
}

/// A hook called after every tick.
pub type OnTick = Box<dyn FnMut(&Engine, Millis) + Send>;

/// What the engine loop needs besides its inputs.
pub struct Core<C: Clock> {
    /// The clock.
    pub clock: C,
    /// The rules tick period (real time).
    pub tick: Duration,
    /// The state publish period (real time).
    pub state_every: Duration,
    /// Relay driver.
    pub relays: Box<dyn RelayDriver>,
    /// Outputs.
    pub sink: Box<dyn Sink>,
    /// The charge-MOSFET request for the BMS task.
    pub mosfet: watch::Sender<bool>,
    /// Called after every tick (the demo's status line).
    pub on_tick: Option<OnTick>,
    /// The status page, when served.
    pub web: Option<WebMount>,
}

/// The web server of a run: its task, its publisher, the commands it validated.
#[derive(Debug)]
pub struct WebMount {
    serving: web::Serving,
    publisher: web::Publisher,
    commands: Option<mpsc::Receiver<web::CommandRequest<Input>>>,
    mqtt: Option<watch::Receiver<mqtt::LinkStatus>>,
}

/// Bind and start the web server with `validate` (the MQTT command path's validator, see
/// [`validator`]); `mqtt` is the broker's status for the health and metrics. Returns the
/// address it listens on.
///
/// # Errors
/// The port cannot be opened (the message names `web.port` and the fix) or the server's
/// thread cannot start.
pub async fn start_web(
    config: web::WebConfig,
    validate: impl Fn(&str, &[u8]) -> Result<Input, Rejection> + Send + Sync + 'static,
    mqtt: Option<watch::Receiver<mqtt::LinkStatus>>,
) -> Result<(WebMount, std::net::SocketAddr), String> {
    let (server, publisher, commands) = web::server(config, &crate::web::hints(), Some(validate));
    let bound = server.bind().await?;
    let addr = bound.local_addr().map_err(|e| format!("web: {e}"))?;
    let serving = bound
        .spawn()
        .map_err(|e| format!("web: cannot start the server: {e}"))?;
    tracing::info!(%addr, "web: status page at http://{addr}/");
    Ok((
        WebMount {
            serving,
            publisher,
            commands,
            mqtt,
        },
        addr,
    ))
}

/// A sink that also keeps the latest events for the page.
struct Recording {
    inner: Box<dyn Sink>,
    recent: crate::web::Recent,
}

impl Sink for Recording {
    fn state(&mut self, state: &J) {
        self.inner.state(state);
    }
    fn event(&mut self, event: &J) {
        self.recent.push(event);
        self.inner.event(event);
    }
    fn config(&mut self, settings: &J) {
        self.inner.config(settings);
    }
}

/// The next item of an optional channel (pending for ever without one).
async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The end of the web server's task (never, without one).
async fn web_ended(web: &mut Option<WebMount>) -> std::io::Result<()> {
    match web {
        Some(w) => (&mut w.serving).await,
        None => std::future::pending().await,
    }
}

/// Hand the web server the state at `now` and the latest events.
fn publish_web(web: Option<&WebMount>, engine: &Engine, now: Millis, recent: &crate::web::Recent) {
    if let Some(w) = web {
        let state = engine.state_json(now);
        let lines = recent.lines();
        let status = w.mqtt.as_ref().map(|s| *s.borrow());
        w.publisher
            .publish_with(move || crate::web::snapshot(state, lines, status));
    }
}

/// What a command applied over HTTP answers: the relay's state and mode, or the effective
/// settings.
fn command_result(engine: &Engine, now: Millis, command: &Input) -> J {
    let state = engine.state_json(now);
    match command {
        Input::Mode(relay, _) => json!({
            "relay": relay.name(),
            "state": state.get("relays").and_then(|r| r.get(relay.name())).cloned().unwrap_or(J::Null),
            "note": "the relay follows at the next tick (a safety latch still wins)",
        }),
        Input::Config(_) => json!({ "config": engine.settings_json() }),
        _ => J::Null,
    }
}

impl<C: Clock> std::fmt::Debug for Core<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("tick", &self.tick)
            .finish_non_exhaustive()
    }
}

/// The engine loop: inputs as they come, a tick every `core.tick`, the state every
/// `core.state_every`; ends when `stop` resolves or `tasks` has a task that ended (an error:
/// a source task never ends by itself). Every relay is switched off at the start and at the
/// end.
///
/// # Errors
/// A task that ended or panicked.
pub async fn run_core<C: Clock>(
    mut engine: Engine,
    mut core: Core<C>,
    mut inputs: mpsc::Receiver<Input>,
    mut tasks: JoinSet<()>,
    stop: impl Future<Output = ()>,
) -> Result<(), String> {
    let mut stop = std::pin::pin!(stop);
    let mut web = core.web.take();
    let mut web_cmds = web.as_mut().and_then(|w| w.commands.take());
    let mut sink = Recording {
        inner: core.sink,
        recent: crate::web::Recent::default(),
    };
    let mut tick = tokio::time::interval(core.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut state = tokio::time::interval(core.state_every);
    state.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Start-up: every relay off and published before anything else.
    let now = core.clock.now();
    for r in Relay::ALL {
        if let Err(e) = core.relays.set(r, false) {
            tracing::error!(relay = r.name(), error = %e, "relay off at start failed");
        }
    }
    sink.config(&engine.settings_json());
    sink.state(&engine.state_json(now));
    publish_web(web.as_ref(), &engine, now, &sink.recent);
    let result = loop {
        tokio::select! {
            () = &mut stop => break Ok(()),
            Some(ended) = tasks.join_next() => {
                let why = match ended {
                    Ok(()) => "ended".to_owned(),
                    Err(e) => e.to_string(),
                };
                break Err(format!("a source task {why}; stopping with every relay off"));
            }
            Some(input) = inputs.recv() => {
                engine.input(core.clock.now(), input, &mut sink);
            }
            c = recv_opt(&mut web_cmds) => {
                let Some(req) = c else {
                    break Err("the web server stopped taking commands; stopping with every relay off".to_owned());
                };
                let now = core.clock.now();
                let command = req.command.clone();
                engine.input(now, command.clone(), &mut sink);
                req.respond(Ok(command_result(&engine, now, &command)));
                publish_web(web.as_ref(), &engine, now, &sink.recent);
            }
            r = web_ended(&mut web) => {
                let why = match r {
                    Ok(()) => "the web server ended".to_owned(),
                    Err(e) => format!("the web server failed: {e}"),
                };
                break Err(format!("{why}; stopping with every relay off"));
            }
            _ = tick.tick() => {
                let now = core.clock.now();
                let out = engine.tick(now, core.relays.as_mut(), &mut sink);
                core.mosfet.send_replace(out.charge_mosfet);
                if let Some(f) = core.on_tick.as_mut() {
                    f(&engine, now);
                }
                publish_web(web.as_ref(), &engine, now, &sink.recent);
            }
            _ = state.tick() => {
                sink.state(&engine.state_json(core.clock.now()));
            }
        }
    };
    // Stopping (a signal or a failure): the loads and the balancer go to their safe state,
    // off, as at start-up.
    for r in Relay::ALL {
        if let Err(e) = core.relays.set(r, false) {
            tracing::error!(relay = r.name(), error = %e, "relay off at stop failed");
        }
    }
    let now = core.clock.now();
    publish_web(web.as_ref(), &engine, now, &sink.recent);
    result
}

/// Run the bridge with `settings` until `stop`.
///
/// # Errors
/// MQTT set-up, or a task that ended.
pub async fn run(settings: Settings, stop: impl Future<Output = ()>) -> Result<(), String> {
    run_observed(settings, stop, None).await
}

/// [`run`], with every state and event also sent to `observe` (tests).
///
/// # Errors
/// As [`run`].
#[allow(clippy::too_many_lines, reason = "the composition in one place")]
pub async fn run_observed(
    settings: Settings,
    stop: impl Future<Output = ()>,
    observe: Option<mpsc::UnboundedSender<Observed>>,
) -> Result<(), String> {
    // The relays' GPIO lines first: driven OFF from the first moment.
    let gpio = open_gpio(&settings.relays, crate::gpio::chardev())?;
    let mut config = settings.rules;
    let (tx, rx) = mpsc::channel::<Input>(256);
    let mut client = None;
    let mut handle: Option<MqttHandle> = None;
    let mut current = Arc::new(Mutex::new(config));
    if let Some(m) = &settings.mqtt {
        if let Some(payload) = fetch_retained(m).await {
            match serde_json::from_slice::<RulesSettings>(&payload)
                .map_err(|e| e.to_string())
                .and_then(|s| s.apply(config).map_err(|e| e.to_string()))
            {
                Ok(c) => {
                    tracing::info!("retained config applied");
                    config = c;
                }
                Err(e) => tracing::warn!(error = %e, "retained config ignored; using the file"),
            }
        }
        current = Arc::new(Mutex::new(config));
        let cfg = MqttConfig::new(
            m.url.clone(),
            &mqtt::default_client_id("bms-bridge", &m.topics),
            m.topics.clone(),
        );
        let (c, mut commands) = MqttClient::start(cfg, validator(current.clone(), tx.clone()))
            .map_err(|e| format!("MQTT: {e}"))?;
        let h = c.handle();
        if m.discovery {
            discovery(&h);
        }
        let fwd = tx.clone();
        tokio::spawn(async move {
            while let Some(cmd) = commands.recv().await {
                if fwd.send(cmd).await.is_err() {
                    return;
                }
            }
        });
        handle = Some(h);
        client = Some(c);
    }
    // The web page shares the MQTT path's validator and its effective configuration.
    let web = match settings.web.clone() {
        Some(w) => {
            let status = handle.as_ref().map(MqttHandle::status);
            Some(
                start_web(w, validator(current, tx.clone()), status)
                    .await?
                    .0,
            )
        }
        None => None,
    };
    let clock = TokioClock::new(1);
    let names = settings
        .onewire
        .as_ref()
        .map(|w| w.ids.clone())
        .unwrap_or_default();
    let engine = Engine::new(config, clock.now(), names);
    let (mosfet_tx, mosfet_rx) = watch::channel(true);
    let mut tasks = JoinSet::new();
    let conn = LinkConnect::new(settings.bms.url.clone(), 1);
    let timing = sources::PollTiming {
        poll: settings.bms.poll,
        poller: voltwire_runtime::poll::PollConfig::default(),
    };
    let (btx, want) = (tx.clone(), Some(mosfet_rx));
    match settings.bms.kind {
        BmsKind::Daly => {
            let variant = if settings.bms.rs485 {
                voltwire_daly::Variant::RS485
            } else {
                voltwire_daly::Variant::UART
            };
            tasks.spawn(sources::bms(conn, bms::Daly { variant }, timing, btx, want))
        }
        BmsKind::Pace { address } => {
            tasks.spawn(sources::bms(conn, bms::Pace { address }, timing, btx, want))
        }
        BmsKind::Jk => tasks.spawn(sources::bms(conn, bms::Jk, timing, btx, want)),
        BmsKind::JkPb { address } => {
            tasks.spawn(sources::bms(conn, bms::JkPb { address }, timing, btx, want))
        }
        BmsKind::Pylontech { address } => {
            tracing::warn!(
                "pylontech-rs485 has no charge-MOSFET command: the rules' charge-MOSFET request is published but not written"
            );
            let proto = bms::Pylontech { address };
            tasks.spawn(sources::bms(conn, proto, timing, btx, None))
        }
    };
    if let Some(p) = &settings.shunt {
        tasks.spawn(sources::vedirect_port(
            LinkConnect::new(p.url.clone(), 2),
            VeDirectRole::Shunt,
            p.hex_poll,
            tx.clone(),
        ));
    }
    for (i, p) in (0u8..).zip(&settings.chargers) {
        tasks.spawn(sources::vedirect_port(
            LinkConnect::new(p.url.clone(), 3 + u64::from(i)),
            VeDirectRole::Charger(i),
            p.hex_poll,
            tx.clone(),
        ));
    }
    if let Some(w) = &settings.onewire {
        tasks.spawn(sources::onewire(
            w.dir.clone(),
            w.ids.clone(),
            w.poll,
            tx.clone(),
        ));
    }
    drop(tx);
    let core = Core {
        clock,
        tick: settings.tick,
        state_every: settings.state_every,
        relays: Box::new(Relays::new(
            settings.relays.clone(),
            handle.clone(),
            gpio,
            SimRelays::default(),
        )),
        sink: Box::new(MqttSink::new(handle, observe)),
        mosfet: mosfet_tx,
        on_tick: None,
        web,
    };
    let r = run_core(engine, core, rx, tasks, stop).await;
    if let Some(c) = client {
        c.shutdown(Duration::from_secs(2)).await;
    }
    r
}

/// The demo's and tests' event line (`at_s event key=value …`).
pub fn event_line(e: &J) -> String {
    let mut s = String::new();
    if let Some(m) = e.as_object() {
        for (k, v) in m {
            if k == "at_s" {
                continue;
            }
            if !s.is_empty() {
                s.push(' ');
            }
            if k == "event" {
                s.push_str(v.as_str().unwrap_or("?"));
            } else {
                let _ = write!(s, "{k}={v}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test")]
    use voltwire_bms_rules::topics;
    use voltwire_runtime::mqtt::Topics;

    /// The runtime's layout (availability, state, commands) is the shared bms-bridge scheme
    /// the firmware also follows.
    #[test]
    fn runtime_topics_follow_the_shared_scheme() {
        let t = Topics::new("vw/bridge").unwrap();
        let mut s = String::new();
        topics::write_topic(&mut s, t.base(), topics::STATE).unwrap();
        assert_eq!(t.state(), s);
        s.clear();
        topics::write_topic(&mut s, t.base(), topics::AVAILABILITY).unwrap();
        assert_eq!(t.availability(), s);
        s.clear();
        topics::write_command_topic(&mut s, t.base(), "load1").unwrap();
        assert_eq!(t.named_command("load1"), s);
        assert_eq!(t.command_name(&s), topics::command_name(t.base(), &s));
        s.clear();
        topics::write_command_topic(&mut s, t.base(), topics::RESULT).unwrap();
        assert_eq!(t.command_result(), s);
        assert_eq!(voltwire_runtime::mqtt::ONLINE, topics::ONLINE);
        assert_eq!(voltwire_runtime::mqtt::OFFLINE, topics::OFFLINE);
    }
}
