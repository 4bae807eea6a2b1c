//! `voltwire sim meter`: the simulated grid power meter ([`PowerMeter`]) behind a
//! Shelly-compatible HTTP server (axum) and, with `--mqtt`, an MQTT publisher.
//!
//! HTTP (`--listen http://HOST:PORT`, port 0 picks a free one):
//!
//! | path | answers like |
//! |---|---|
//! | `GET /rpc/EM.GetStatus?id=0` | Pro 3EM (Gen2 RPC), triphase |
//! | `GET /rpc/EMData.GetStatus?id=0` | Pro 3EM energy counters |
//! | `GET /rpc/Shelly.GetStatus` | Gen2, every component |
//! | `GET /rpc/Shelly.GetDeviceInfo`, `GET /shelly` | Gen2 device info |
//! | `GET /status` | Shelly 3EM (Gen1): `emeters[]`, `total_power` |
//! | `GET /emeter/0..2` | Shelly 3EM (Gen1), one phase |
//! | `GET /sim` | sim only: the flows and the profile |
//! | `POST /sim/load?w=N` (also `pv`, `charge`, `discharge`) | sim only: set a flow, W |
//! | `POST /sim/profile?name=P` | sim only: change the load profile |
//! | `POST /sim/fault?set=none\|silent\|late\|garbage` | sim only: change the fault |
//!
//! Unknown paths and RPC methods get 404 with a JSON error `{"code", "message"}` (Gen2's
//! shape); a bad or unknown query parameter gets 400 naming it. The faults act on the
//! Shelly paths only, never on `/sim`: `silent` accepts and never answers, `late` answers
//! after `--delay-ms`, `garbage` answers 200 with a cut-off, invalid JSON body, `drop`
//! closes the listening socket after printing its address (connection refused).
//!
//! MQTT (`--mqtt mqtt://[user:pass@]host:port`, prefix `--topic`, default the device id),
//! every `--interval-ms`:
//! - `<prefix>/status/em:0`, retained: the `EM.GetStatus` body (Gen2 "generic status
//!   update");
//! - `<prefix>/events/rpc`: a Gen2 `NotifyStatus` frame carrying `em:0`;
//! - `<prefix>/state`, retained: `{"power_w", "phase_power_w", "load_w"}` (voltwire's
//!   simple form);
//! - `<prefix>/online` `true` (retained) after connecting, `false` on a clean stop (Gen2's
//!   availability topic) and the runtime's `<prefix>/availability` `online`/`offline`
//!   (retained, `offline` is also the last will);
//! - commands: `<prefix>/command/load` (and `pv`, `charge`, `discharge`) with a number of W
//!   set that flow (sim only), results on `<prefix>/command/result`.
//!
//! `silent` publishes nothing, `garbage` publishes invalid JSON; `late` and `drop` concern
//! HTTP only.

use std::io;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Args;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use voltwire_core::Watts;
use voltwire_runtime::mqtt::{
    self, BrokerUrl, LinkStatus, MqttClient, MqttConfig, MqttHandle, Rejection, Topics,
};
use voltwire_runtime::task::{Policy, Supervisor};
use voltwire_sim::device::meter::DEVICE_ID;
use voltwire_sim::device::{LoadProfile, MeterReading, PowerMeter};
use voltwire_sim::scene::External;
use voltwire_sim::serve::Listen;
use voltwire_sim::{Faults, Plant, SharedWorld};

use super::{Fault, Flows, Timing, announce, serve_blocking, stop_signal, to_faults, usage, watts};

/// The options of `voltwire sim meter`.
#[derive(Debug, Args)]
pub(super) struct MeterArgs {
    /// Where to serve HTTP: `http://HOST:PORT` (port 0 picks a free one).
    #[arg(long, value_name = "http://HOST:PORT", value_parser = http_listen)]
    listen: String,

    /// Base house load, W; the profile varies it.
    #[arg(long, value_name = "W", default_value = "800", value_parser = watts)]
    load: Watts,

    /// How the load varies: constant, step, sine or ramp.
    #[arg(long, value_name = "PROFILE", default_value = "step", value_parser = load_profile)]
    load_profile: LoadProfile,

    /// AC PV power seen by the meter, W.
    #[arg(long, value_name = "W", value_parser = watts)]
    pv: Option<Watts>,

    #[command(flatten)]
    flows: Flows,

    /// Also publish to this MQTT broker: `mqtt://[user:pass@]host:port`.
    #[arg(long, value_name = "URL", value_parser = broker)]
    mqtt: Option<BrokerUrl>,

    /// MQTT topic prefix (default the device id, shellypro3em-02564f4c5457).
    #[arg(long, value_name = "TOPIC", requires = "mqtt")]
    topic: Option<String>,

    /// MQTT publish interval in milliseconds, 50–3600000 (default 1000).
    #[arg(long, value_name = "MS", requires = "mqtt", value_parser = interval_ms)]
    interval_ms: Option<u64>,

    /// Inject a fault (repeatable): silent, late, garbage, drop (the port closed before its
    /// address is printed: connection refused).
    #[arg(long = "fault", value_name = "FAULT", value_parser = meter_fault)]
    faults: Vec<Fault>,

    #[command(flatten)]
    timing: Timing,
}

fn http_listen(s: &str) -> Result<String, String> {
    s.strip_prefix("http://")
        .filter(|a| voltwire_sim::serve::is_host_port(a))
        .map(str::to_owned)
        .ok_or_else(|| {
            "the meter serves HTTP; give `http://HOST:PORT` (e.g. --listen http://127.0.0.1:0)"
                .to_owned()
        })
}

fn load_profile(s: &str) -> Result<LoadProfile, String> {
    LoadProfile::parse(s).ok_or_else(|| format!("choose one of: {}", LoadProfile::NAMES.join(", ")))
}

fn broker(s: &str) -> Result<BrokerUrl, String> {
    BrokerUrl::parse(s).map_err(|e| e.to_string())
}

fn interval_ms(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .ok()
        .filter(|ms| (50..=3_600_000).contains(ms))
        .ok_or_else(|| "give 50 to 3600000 milliseconds (e.g. --interval-ms 1000)".to_owned())
}

fn meter_fault(s: &str) -> Result<Fault, String> {
    match clap::ValueEnum::from_str(s, false) {
        Ok(f @ (Fault::Silent | Fault::Late | Fault::Garbage | Fault::Drop)) => Ok(f),
        _ => Err(format!(
            "`{s}` does not apply to `meter`; choose one of: silent, late, garbage, drop"
        )),
    }
}

/// Everything needed to run, validated.
struct Setup {
    addr: String,
    plant: Plant,
    meter: PowerMeter,
    speed: f64,
    mqtt: Option<MqttSetup>,
}

struct MqttSetup {
    url: BrokerUrl,
    topics: Topics,
    interval: Duration,
}

fn setup(args: MeterArgs) -> Result<Setup, String> {
    let mqtt = match args.mqtt {
        None => None,
        Some(url) => {
            let topic = args.topic.as_deref().unwrap_or(DEVICE_ID);
            let topics = Topics::new(topic).map_err(|e| format!("--topic: {e}"))?;
            Some(MqttSetup {
                url,
                topics,
                interval: Duration::from_millis(args.interval_ms.unwrap_or(1000)),
            })
        }
    };
    let mut plant = Plant::new(vec![]);
    plant.flows.pv = args.pv.unwrap_or(Watts(0));
    plant.flows.charge = args.flows.charge.unwrap_or(Watts(0));
    plant.flows.discharge = args.flows.discharge.unwrap_or(Watts(0));
    let mut meter = PowerMeter::new(args.load, args.load_profile);
    *meter.faults_mut() = to_faults(&args.faults, &args.timing);
    Ok(Setup {
        addr: args.listen,
        plant,
        meter,
        speed: args.timing.speed,
        mqtt,
    })
}

pub(super) fn run(args: MeterArgs) -> ExitCode {
    match setup(args) {
        Ok(s) => serve_blocking(serve(s)),
        Err(e) => usage(&e),
    }
}

/// The plant and the meter, in (scaled) real time.
struct Inner {
    plant: Plant,
    meter: PowerMeter,
}

struct App {
    inner: Mutex<Inner>,
    start: Instant,
    speed: f64,
    link: Option<watch::Receiver<LinkStatus>>,
    /// In a scene: its world and this meter's device index. The meter then reads the
    /// scene's plant (its own `Inner::plant` a copy of it), its faults are the scene's, and
    /// the house load is the scene's flow (the profile constant).
    scene: Option<(SharedWorld, usize)>,
}

type Shared = Arc<App>;

impl App {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Advance the plant and the meter to now; what the meter measures.
    fn measure(&self, inner: &mut Inner) -> MeterReading {
        if let Some((world, device)) = &self.scene {
            let mut w = voltwire_sim::world::lock(world);
            let now = w.advance();
            *inner.meter.faults_mut() = w.faults(*device);
            inner.meter.set_base_load(w.plant().flows.load);
            inner.meter.update(now, w.plant_mut());
            inner.plant = w.plant().clone();
            return inner.meter.reading(w.plant());
        }
        let now = self.start.elapsed().mul_f64(self.speed);
        let dt = now.saturating_sub(inner.plant.time());
        if !dt.is_zero() {
            inner.plant.run(dt, Duration::from_secs(1));
        }
        let Inner { plant, meter } = inner;
        meter.update(plant.time(), plant);
        meter.reading(plant)
    }

    /// In a scene, hand the flows set through this meter's sim interface to the scene's
    /// plant (the load as the flow, the profile being constant there).
    fn commit_flows(&self, inner: &mut Inner) {
        if let Some((world, _)) = &self.scene {
            let mut f = inner.plant.flows;
            f.load = inner.meter.base_load();
            voltwire_sim::world::lock(world).set_flows(f);
        }
    }

    fn uptime(&self) -> Duration {
        self.start.elapsed()
    }

    fn mqtt_connected(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.borrow().connected)
    }
}

fn unixtime() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

async fn serve(setup: Setup) -> io::Result<()> {
    let stop = stop_signal()?;
    let Setup {
        addr,
        plant,
        meter,
        speed,
        mqtt,
    } = setup;
    let drop_port = meter.faults().drop_port;
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("--listen http://{addr}: {e}")))?;
    let local = listener.local_addr()?;
    // Under `drop` the port is closed before its address is printed: connection refused.
    let listener = if drop_port {
        drop(listener);
        None
    } else {
        Some(listener)
    };
    let mqtt_client = match &mqtt {
        Some(m) => Some(start_mqtt(m).map_err(|e| io::Error::other(format!("--mqtt: {e}")))?),
        None => None,
    };
    let app = Arc::new(App {
        inner: Mutex::new(Inner { plant, meter }),
        start: Instant::now(),
        speed,
        link: mqtt_client.as_ref().map(|(c, _)| c.handle().status()),
        scene: None,
    });
    announce(&format!("http://{local}"))?;
    // Every long-running task is supervised: one that ends or panics is restarted or ends
    // the program with its name and reason (exit 1), never lost.
    let mut tasks = Supervisor::new();
    let mut client = None;
    if let (Some(m), Some((c, commands))) = (&mqtt, mqtt_client) {
        let handle = c.handle();
        let online = handle.topics().sub("online");
        let _ = handle.publish_retained(&online, b"true".to_vec());
        let (a, interval) = (Arc::clone(&app), m.interval);
        tasks.spawn("mqtt publisher", Policy::restart_default(), move || {
            publish_loop(Arc::clone(&a), handle.clone(), interval)
        });
        // It owns the command receiver: it cannot be started again, and its end (the MQTT
        // client gone) is fatal.
        tasks.spawn_once("mqtt commands", command_loop(Arc::clone(&app), commands));
        client = Some((c, online));
    }
    if let Some(listener) = listener {
        let router = router(Arc::clone(&app));
        tasks.spawn_once(
            "http server",
            async move { axum::serve(listener, router).await },
        );
    }
    let result = tasks
        .run_until(stop)
        .await
        .map_err(|e| io::Error::other(e.to_string()));
    if let Some((c, online)) = client {
        let _ = c.handle().publish_retained(&online, b"false".to_vec());
        c.shutdown(Duration::from_secs(2)).await;
    }
    result
}

/// The meter of a scene (`kind = "meter"`, `listen = "http://HOST:PORT"`): HTTP on the
/// scene's plant, and with `mqtt` the publishing of `voltwire sim meter --mqtt` (reconnecting
/// to a lost broker); the link goes to `ext.link` once listening, then it serves until the
/// server fails (the scene drops it on its stop).
pub(super) async fn serve_in_scene(ext: External) -> io::Result<()> {
    let External {
        spec,
        index,
        world,
        link,
    } = ext;
    let Listen::Tcp(addr) = spec.listen else {
        return Err(io::Error::other("the meter listens on http://HOST:PORT"));
    };
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("listen = http://{addr}: {e}")))?;
    let local = listener.local_addr()?;
    let (plant, load) = {
        let w = voltwire_sim::world::lock(&world);
        (w.plant().clone(), w.plant().flows.load)
    };
    let mut meter = PowerMeter::new(load, LoadProfile::Constant);
    *meter.faults_mut() = spec.faults;
    // With `mqtt`: the same publishing as `voltwire sim meter --mqtt` (the state, the EM
    // status and the Gen2 notifications every interval; flow commands), on the scene's plant.
    let mqtt = match &spec.mqtt {
        None => None,
        Some(m) => {
            let url = BrokerUrl::parse(&m.broker).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("mqtt = {}: {e}", m.broker),
                )
            })?;
            let topics = Topics::new(&m.topic).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("topic = {}: {e}", m.topic),
                )
            })?;
            let setup = MqttSetup {
                url,
                topics,
                interval: m.interval,
            };
            let client = start_mqtt(&setup).map_err(|e| io::Error::other(format!("mqtt: {e}")))?;
            Some((setup.interval, client))
        }
    };
    let app = Arc::new(App {
        inner: Mutex::new(Inner { plant, meter }),
        start: Instant::now(),
        speed: 1.0,
        link: mqtt.as_ref().map(|(_, (c, _))| c.handle().status()),
        scene: Some((world, index)),
    });
    let _ = link.send(format!("http://{local}"));
    let http = axum::serve(listener, router(Arc::clone(&app)));
    let Some((interval, (client, commands))) = mqtt else {
        http.await?;
        return Err(io::Error::other("the HTTP server stopped"));
    };
    let handle = client.handle();
    let _ = handle.publish_retained(&handle.topics().sub("online"), b"true".to_vec());
    tokio::select! {
        r = http => {
            r?;
            Err(io::Error::other("the HTTP server stopped"))
        }
        () = publish_loop(Arc::clone(&app), handle.clone(), interval) => {
            Err(io::Error::other("the MQTT publisher stopped"))
        }
        () = command_loop(Arc::clone(&app), commands) => {
            Err(io::Error::other("the MQTT client stopped"))
        }
    }
}

// ---------------------------------------------------------------- HTTP

fn router(app: Shared) -> Router {
    let shelly = Router::new()
        .route("/rpc/{method}", get(rpc))
        .route("/status", get(gen1_status))
        .route("/emeter/{index}", get(gen1_emeter))
        .route("/shelly", get(shelly_info))
        .layer(middleware::from_fn_with_state(Arc::clone(&app), faults));
    let sim = Router::new()
        .route("/sim", get(sim_state))
        .route("/sim/profile", post(sim_profile))
        .route("/sim/fault", post(sim_fault))
        .route("/sim/{flow}", post(sim_flow));
    shelly.merge(sim).fallback(not_found).with_state(app)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// A Gen2-shaped error body `{"code", "message"}`.
fn error(status: StatusCode, code: i64, message: &str) -> Response {
    json_response(status, &json!({"code": code, "message": message}))
}

async fn not_found(req: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        404,
        &format!("No handler for {}", req.uri().path()),
    )
}

/// A 400 answer: Gen2 error code and message.
#[derive(Debug)]
struct BadQuery(i64, String);

impl IntoResponse for BadQuery {
    fn into_response(self) -> Response {
        error(StatusCode::BAD_REQUEST, self.0, &self.1)
    }
}

/// The query's `key=value` pairs, each key one of `allowed`.
fn params(raw: Option<&str>, allowed: &[&str]) -> Result<Vec<(String, String)>, BadQuery> {
    let mut out = Vec::new();
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !allowed.contains(&k) {
            let known = if allowed.is_empty() {
                "this path takes no parameters".to_owned()
            } else {
                format!("known: {}", allowed.join(", "))
            };
            return Err(BadQuery(
                -103,
                format!("Invalid argument '{k}': unknown parameter ({known})"),
            ));
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

fn param<'p>(params: &'p [(String, String)], key: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Checks `id` of a component of which only instance 0 exists.
fn check_id(raw: Option<&str>) -> Result<(), BadQuery> {
    let p = params(raw, &["id"])?;
    match param(&p, "id") {
        None => Err(BadQuery(-103, "Missing required argument 'id'!".into())),
        Some(v) => match v.parse::<u32>() {
            Ok(0) => Ok(()),
            Ok(n) => Err(BadQuery(
                -105,
                format!("Argument 'id', value {n} not found!"),
            )),
            Err(_) => Err(BadQuery(
                -103,
                format!("Invalid argument 'id': `{v}` is not a number"),
            )),
        },
    }
}

async fn rpc(
    State(app): State<Shared>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = query.as_deref();
    let is = |m: &str| method.eq_ignore_ascii_case(m);
    let checked = if is("EM.GetStatus") || is("EMData.GetStatus") {
        check_id(q)
    } else if is("Shelly.GetDeviceInfo") {
        params(q, &["ident"]).map(drop)
    } else if is("Shelly.GetStatus") {
        params(q, &[]).map(drop)
    } else {
        return error(
            StatusCode::NOT_FOUND,
            404,
            &format!("No handler for {method}"),
        );
    };
    if let Err(e) = checked {
        return e.into_response();
    }
    let mut inner = app.lock();
    let r = app.measure(&mut inner);
    let m = &inner.meter;
    let body = if is("EM.GetStatus") {
        m.em_status(&r)
    } else if is("EMData.GetStatus") {
        m.emdata_status()
    } else if is("Shelly.GetStatus") {
        m.shelly_status(&r, app.uptime(), unixtime().as_secs(), app.mqtt_connected())
    } else {
        m.device_info()
    };
    ok(&body)
}

async fn gen1_status(State(app): State<Shared>, RawQuery(query): RawQuery) -> Response {
    if let Err(e) = params(query.as_deref(), &[]) {
        return e.into_response();
    }
    let mut inner = app.lock();
    let r = app.measure(&mut inner);
    ok(&inner
        .meter
        .gen1_status(&r, app.uptime(), unixtime().as_secs()))
}

async fn gen1_emeter(State(app): State<Shared>, Path(index): Path<String>) -> Response {
    let mut inner = app.lock();
    let r = app.measure(&mut inner);
    match index
        .parse::<usize>()
        .ok()
        .and_then(|i| inner.meter.gen1_emeter(&r, i))
    {
        Some(v) => ok(&v),
        None => error(
            StatusCode::NOT_FOUND,
            404,
            &format!("No handler for /emeter/{index}: the 3EM has emeters 0, 1 and 2"),
        ),
    }
}

async fn shelly_info(State(app): State<Shared>) -> Response {
    ok(&app.lock().meter.device_info())
}

/// Apply the meter's faults to a Shelly path.
async fn faults(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let faults = *app.lock().meter.faults();
    if faults.silent {
        // Accept, read, never answer: the client's timeout is all it gets.
        return std::future::pending().await;
    }
    if !faults.delay.is_zero() {
        tokio::time::sleep(faults.delay).await;
    }
    let res = next.run(req).await;
    if !faults.garbage {
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let garbage = app.lock().meter.garbage_body(&bytes);
    Response::from_parts(parts, Body::from(garbage))
}

fn sim_body(app: &App) -> Value {
    let mut inner = app.lock();
    let r = app.measure(&mut inner);
    let f = inner.plant.flows;
    let faults = inner.meter.faults();
    let fault = if faults.silent {
        "silent"
    } else if faults.garbage {
        "garbage"
    } else if !faults.delay.is_zero() {
        "late"
    } else {
        "none"
    };
    json!({
        "grid_w": r.total.0,
        "phase_power_w": r.phases.iter().map(|p| p.power.0).collect::<Vec<_>>(),
        "load_w": f.load.0,
        "base_load_w": inner.meter.base_load().0,
        "pv_w": f.pv.0,
        "charge_w": f.charge.0,
        "discharge_w": f.discharge.0,
        "profile": inner.meter.profile().name(),
        "fault": fault,
        "sim_time_s": inner.plant.time().as_secs_f64(),
    })
}

async fn sim_state(State(app): State<Shared>) -> Response {
    ok(&sim_body(&app))
}

/// A flow the sim interface and the MQTT commands can set.
#[derive(Debug, Clone, Copy)]
enum Flow {
    Load,
    Pv,
    Charge,
    Discharge,
}

impl Flow {
    const NAMES: &'static [&'static str] = &["load", "pv", "charge", "discharge"];

    fn parse(name: &str) -> Option<Self> {
        match name {
            "load" => Some(Self::Load),
            "pv" => Some(Self::Pv),
            "charge" => Some(Self::Charge),
            "discharge" => Some(Self::Discharge),
            _ => None,
        }
    }

    fn set(self, inner: &mut Inner, w: Watts) {
        match self {
            Self::Load => inner.meter.set_base_load(w),
            Self::Pv => inner.plant.flows.pv = w,
            Self::Charge => inner.plant.flows.charge = w,
            Self::Discharge => inner.plant.flows.discharge = w,
        }
    }
}

/// The largest power the sim interface takes, W.
const MAX_W: i32 = 1_000_000;

async fn sim_flow(
    State(app): State<Shared>,
    Path(flow): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(f) = Flow::parse(&flow) else {
        return error(
            StatusCode::NOT_FOUND,
            404,
            &format!(
                "No handler for /sim/{flow}; sim paths: /sim/{{{}}}?w=W, /sim/profile?name=P, /sim/fault?set=F",
                Flow::NAMES.join("|")
            ),
        );
    };
    let p = match params(query.as_deref(), &["w"]) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let w = match param(&p, "w").map(str::parse::<i32>) {
        Some(Ok(w)) if (0..=MAX_W).contains(&w) => w,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                -103,
                &format!("Invalid argument 'w': give whole watts 0..={MAX_W}"),
            );
        }
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                -103,
                "Missing required argument 'w'!",
            );
        }
    };
    {
        let mut inner = app.lock();
        // Close the energy interval at the old flows before changing them.
        let _ = app.measure(&mut inner);
        f.set(&mut inner, Watts(w));
        app.commit_flows(&mut inner);
    }
    ok(&sim_body(&app))
}

async fn sim_profile(State(app): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let p = match params(query.as_deref(), &["name"]) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let Some(profile) = param(&p, "name").and_then(LoadProfile::parse) else {
        return error(
            StatusCode::BAD_REQUEST,
            -103,
            &format!(
                "Invalid argument 'name': choose one of {}",
                LoadProfile::NAMES.join(", ")
            ),
        );
    };
    app.lock().meter.set_profile(profile);
    ok(&sim_body(&app))
}

async fn sim_fault(State(app): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let p = match params(query.as_deref(), &["set", "delay_ms"]) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let delay = match param(&p, "delay_ms").map(str::parse::<u64>) {
        None => Duration::from_secs(1),
        Some(Ok(ms)) if ms <= 600_000 => Duration::from_millis(ms),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                -103,
                "Invalid argument 'delay_ms': give 0..=600000 milliseconds",
            );
        }
    };
    let faults = match param(&p, "set") {
        Some("none") => Faults::default(),
        Some("silent") => Faults {
            silent: true,
            ..Faults::default()
        },
        Some("late") => Faults {
            delay,
            ..Faults::default()
        },
        Some("garbage") => Faults {
            garbage: true,
            ..Faults::default()
        },
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                -103,
                "Invalid argument 'set': choose one of none, silent, late, garbage",
            );
        }
    };
    *app.lock().meter.faults_mut() = faults;
    ok(&sim_body(&app))
}

// ---------------------------------------------------------------- MQTT

type Commands = tokio::sync::mpsc::Receiver<(Flow, Watts)>;

fn start_mqtt(m: &MqttSetup) -> Result<(MqttClient, Commands), mqtt::MqttError> {
    let config = MqttConfig::new(
        m.url.clone(),
        &format!("voltwire-sim-meter-{}", std::process::id()),
        m.topics.clone(),
    );
    MqttClient::start(config, |name: &str, payload: &[u8]| {
        let flow = Flow::parse(name).ok_or_else(|| Rejection::unknown_command(name))?;
        let w = mqtt::parse_number(name, payload, 0.0, f64::from(MAX_W))?;
        #[allow(
            clippy::cast_possible_truncation,
            reason = "range-checked to 0..=MAX_W above"
        )]
        Ok((flow, Watts(w.round() as i32)))
    })
}

async fn publish_loop(app: Shared, handle: MqttHandle, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let topics = handle.topics().clone();
    let status_topic = topics.sub("status/em:0");
    let events_topic = topics.sub("events/rpc");
    loop {
        tick.tick().await;
        let (faults, status, notify, simple, garbage) = {
            let mut inner = app.lock();
            let r = app.measure(&mut inner);
            let m = &inner.meter;
            let status = m.em_status(&r).to_string().into_bytes();
            let notify = m.notify_status(&r, topics.base(), unixtime().as_secs_f64());
            let simple = m.simple_state(&r);
            let faults = *m.faults();
            let garbage = inner.meter.garbage_body(&status);
            (faults, status, notify, simple, garbage)
        };
        if faults.silent {
            continue;
        }
        if faults.garbage {
            let _ = handle.publish_retained(&status_topic, garbage.clone());
            if handle.status().borrow().connected {
                let _ = handle.publish(&events_topic, garbage);
            }
            continue;
        }
        let _ = handle.publish_retained(&status_topic, status);
        let _ = handle.publish_state(&simple);
        if handle.status().borrow().connected {
            let _ = handle.publish(&events_topic, notify.to_string().into_bytes());
        }
    }
}

async fn command_loop(app: Shared, mut commands: Commands) {
    while let Some((flow, w)) = commands.recv().await {
        let mut inner = app.lock();
        let _ = app.measure(&mut inner);
        flow.set(&mut inner, w);
        app.commit_flows(&mut inner);
    }
}
