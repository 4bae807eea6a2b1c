//! `bms-bridge --demo`: a simulated Daly BMS, two MPPTs and a SmartShunt on one plant
//! (`voltwire-sim`), speaking their real protocols through in-process pipes to the real
//! bridge, through a simulated day at ×120 from 06:00: sun, loads, a hot afternoon (1-Wire
//! files in a scratch directory) that trips the cell-temperature latch, and cells that drift
//! apart at the top of the charge and start the balancer. One status line per simulated
//! 10 minutes, every event as it happens.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value as J;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use voltwire_bms_rules::{Config, Millis, Relay, SensorRole};
use voltwire_core::{MilliampHours, Watts};
use voltwire_daly::Variant;
use voltwire_runtime::poll::PollConfig;
use voltwire_sim::device::{DalyBms, VeDirect, VeDirectKind};
use voltwire_sim::{PackConfig, Plant, PlantCommand, SerialResponder};

use crate::app::{self, Clock, Core, MqttSink, Observed, SimRelays, TokioClock};
use crate::engine::{Engine, Input};
use crate::sources::{self, ChannelConnect, DalyOptions, VeDirectRole};

/// Simulated seconds per real second.
pub const SPEED: u32 = 120;
/// The simulated day starts at this hour.
pub const START_HOUR: f64 = 6.0;
/// Load relay powers (W) and the standby draw.
const LOADS_W: [i32; 2] = [500, 300];
const STANDBY_W: i32 = 20;

/// Hour of day at simulated time `t`.
#[allow(clippy::cast_precision_loss, reason = "hours for the demo's curves")]
pub fn hour(t: Millis) -> f64 {
    (START_HOUR + t.0 as f64 / 3_600_000.0) % 24.0
}

/// PV available (W) at `hour`: 0 at night, 1600 W at 13:00.
pub fn sun(hour: f64) -> f64 {
    if (7.0..19.0).contains(&hour) {
        1600.0 * (std::f64::consts::PI * (hour - 7.0) / 12.0).sin()
    } else {
        0.0
    }
}

/// The afternoon heat (°C above 20 °C): 17 °C at 15:00.
pub fn heat(hour: f64) -> f64 {
    17.0 * (-((hour - 15.0) / 2.5).powi(2)).exp()
}

/// The plant all simulated devices share.
pub type Shared = Arc<Mutex<Plant>>;

fn sim_time(clock: &TokioClock) -> Duration {
    Duration::from_millis(clock.now().0)
}

/// The Daly on its pipe: requests in, replies out, MOSFET writes applied to the plant.
pub async fn serve_daly(plant: Shared, clock: TokioClock, mut dev: DuplexStream) {
    let mut bms = DalyBms::new(0).with_variant(Variant::UART);
    let mut buf = [0u8; 256];
    loop {
        let n = match dev.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut out = Vec::new();
        if let Ok(mut p) = plant.lock() {
            let now = p.advance_to(sim_time(&clock));
            bms.on_bytes(buf.get(..n).unwrap_or_default(), now, &p, &mut out);
            let mut cmds: Vec<PlantCommand> = Vec::new();
            bms.drain_commands(&mut cmds);
            p.apply(cmds);
        }
        if dev.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// A VE.Direct device on its pipe: a TEXT record every simulated second. Each MPPT sees
/// half the plant's MPPT power.
pub async fn serve_vedirect(
    plant: Shared,
    clock: TokioClock,
    kind: VeDirectKind,
    mut dev: DuplexStream,
) {
    let mut d = VeDirect::new(kind);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        let mut out = Vec::new();
        if let Ok(mut p) = plant.lock() {
            let now = p.advance_to(sim_time(&clock));
            if kind == VeDirectKind::Mppt {
                let mut view = p.clone();
                view.flows.mppt_pv = Watts(p.flows.mppt_pv.0 / 2);
                d.tick(now, &view, &mut out);
            } else {
                d.tick(now, &p, &mut out);
            }
        }
        if dev.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The world around the plant: sun, loads from the relays, the charge path from the BMS,
/// the 1-Wire files.
async fn drive(plant: Shared, clock: TokioClock, relays: SimRelays, w1: PathBuf) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let now = clock.now();
        let h = hour(now);
        let on = relays.states();
        let (cell, charger) = {
            let Ok(mut p) = plant.lock() else { return };
            p.advance_to(Duration::from_millis(now.0));
            let charging = p.packs().first().is_some_and(|pk| pk.charge_enabled);
            #[allow(clippy::cast_possible_truncation, reason = "bounded demo curve")]
            let pv = if charging { sun(h).round() as i32 } else { 0 };
            p.flows.mppt_pv = Watts(pv);
            let load: i32 = LOADS_W
                .iter()
                .zip(on)
                .filter(|(_, on)| *on)
                .map(|(w, _)| *w)
                .sum();
            p.flows.discharge = Watts(load + STANDBY_W);
            let amps = p
                .packs()
                .first()
                .map_or(0.0, |pk| f64::from(pk.current().0).abs() / 1000.0);
            (
                20.0 + heat(h) + 0.05 * amps,
                20.0 + 0.7 * heat(h) + f64::from(pv) / 250.0,
            )
        };
        for (id, t) in [("28-00000000cell", cell), ("28-0000charger", charger)] {
            let dir = w1.join(id);
            #[allow(clippy::cast_possible_truncation, reason = "bounded demo curve")]
            let milli = (t * 1000.0).round() as i64;
            // Written aside and renamed, so a reader never sees a half-written file.
            let _ = tokio::fs::create_dir_all(&dir).await;
            let tmp = dir.join("temperature.new");
            if tokio::fs::write(&tmp, format!("{milli}\n")).await.is_ok() {
                let _ = tokio::fs::rename(&tmp, dir.join("temperature")).await;
            }
        }
    }
}

fn get<'a>(v: &'a J, path: &[&str]) -> &'a J {
    path.iter().fold(v, |v, k| v.get(k).unwrap_or(&J::Null))
}

fn f(v: &J, digits: usize) -> String {
    v.as_f64()
        .map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
}

/// `HH:MM` of simulated time `t`.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a clock face"
)]
pub fn clock_face(t: Millis) -> String {
    let minutes = (hour(t) * 60.0).round() as u64 % (24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// One status line from the state JSON.
pub fn status_line(t: Millis, s: &J) -> String {
    let relay = |r: Relay| {
        let on = get(s, &["relays", r.name(), "on"]).as_bool() == Some(true);
        format!("{} {}", r.name(), if on { "ON " } else { "off" })
    };
    let latches: Vec<&str> = get(s, &["latches"])
        .as_array()
        .map(|a| a.iter().filter_map(J::as_str).collect())
        .unwrap_or_default();
    format!(
        "{} soc {:>5}% {:>6} V {:>6} A pv {:>5} W (1h {:>4} W{}) | {} {} {} | charge {} | cell {:>4} °C charger {:>4} °C diff {:>5} V | latches {}",
        clock_face(t),
        f(get(s, &["soc_pct"]), 1),
        f(get(s, &["voltage_v"]), 2),
        f(get(s, &["current_a"]), 1),
        f(get(s, &["pv_power_w"]), 0),
        f(get(s, &["pv_avg_w"]), 0),
        if get(s, &["pv_high"]).as_bool() == Some(true) {
            " high"
        } else {
            ""
        },
        relay(Relay::Load1),
        relay(Relay::Load2),
        relay(Relay::Balancer),
        if get(s, &["charge_mosfet"]).as_bool() == Some(true) {
            "on "
        } else {
            "OFF"
        },
        f(get(s, &["cell_temp_c"]), 1),
        f(get(s, &["charger_temp_c"]), 1),
        f(get(s, &["cell_diff_v"]), 3),
        if latches.is_empty() {
            "-".to_owned()
        } else {
            latches.join(",")
        },
    )
}

/// The demo's scratch directory for the 1-Wire files.
fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("bms-bridge-demo-{}", std::process::id()))
}

/// Everything the demo wires up, for `--demo` and the tests.
#[derive(Debug)]
pub struct Demo {
    /// The relays (their states drive the plant's loads).
    pub relays: SimRelays,
    /// Status lines and events, as printed.
    pub lines: mpsc::UnboundedReceiver<String>,
}

/// Run the demo for `duration` of real time (`None`: a whole simulated day, 12 minutes) or
/// until `stop`; `print` gets every line. With `web_port`, the status page is served on
/// 127.0.0.1 at that port (0: any free port) with a fresh random token for its commands;
/// the line `demo: status page at http://ADDR/ (commands in the page need the token T)`
/// announces both.
///
/// # Errors
/// A task that ended, or the web port cannot be opened.
pub async fn run(
    duration: Option<Duration>,
    web_port: Option<u16>,
    stop: impl std::future::Future<Output = ()>,
    print: impl Fn(&str) + Send + Sync + 'static,
) -> Result<(), String> {
    let w1 = scratch();
    let r = run_in(duration, web_port, stop, print, &w1).await;
    let _ = std::fs::remove_dir_all(&w1);
    r
}

/// The demo's rules: a SmartShunt, two chargers, a cell and a charger sensor.
fn demo_config() -> Config {
    Config {
        shunt: true,
        chargers: 2,
        sensors: [
            Some(SensorRole::Cell),
            Some(SensorRole::Charger),
            None,
            None,
        ],
        ..Config::default()
    }
}

#[allow(clippy::too_many_lines, reason = "the demo's wiring in one place")]
async fn run_in(
    duration: Option<Duration>,
    web_port: Option<u16>,
    stop: impl std::future::Future<Output = ()>,
    print: impl Fn(&str) + Send + Sync + 'static,
    w1: &Path,
) -> Result<(), String> {
    let clock = TokioClock::new(SPEED);
    let plant: Shared = Arc::new(Mutex::new(Plant::new(vec![PackConfig {
        cells: 8,
        capacity: MilliampHours(100_000),
        spread: 0.012,
        temperature_sensors: 2,
        initial_soc: 0.40,
        ambient_celsius: 20.0,
        ..PackConfig::default()
    }])));
    let relays = SimRelays::default();
    // The 1-Wire files exist before the sensor task first reads them.
    for id in ["28-00000000cell", "28-0000charger"] {
        let dir = w1.join(id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::write(dir.join("temperature"), "20000\n")
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let (tx, rx) = mpsc::channel::<Input>(256);
    let web = match web_port {
        None => None,
        Some(port) => {
            let token = voltwire_runtime::web::Token::generate()
                .map_err(|e| format!("cannot make a random web token: {e}"))?;
            let cfg = voltwire_runtime::web::WebConfig {
                port,
                token: Some(token.clone()),
                ..voltwire_runtime::web::WebConfig::default()
            };
            let current = Arc::new(Mutex::new(demo_config()));
            let (mount, addr) =
                app::start_web(cfg, app::validator(current, tx.clone()), None).await?;
            print(&format!(
                "demo: status page at http://{addr}/ (commands in the page need the token {})",
                token.as_str()
            ));
            Some(mount)
        }
    };
    let mut tasks = JoinSet::new();
    let pipe = |tasks: &mut JoinSet<()>| {
        let (app_end, dev_end) = tokio::io::duplex(16 * 1024);
        let (ptx, prx) = mpsc::channel(1);
        let _ = ptx.try_send(app_end);
        // The sender lives as long as the task set: a closed channel would end the source.
        tasks.spawn(async move {
            let _keep = ptx;
            std::future::pending::<()>().await;
        });
        (ChannelConnect(prx), dev_end)
    };
    let (daly_conn, daly_dev) = pipe(&mut tasks);
    let (shunt_conn, shunt_dev) = pipe(&mut tasks);
    let (m1_conn, m1_dev) = pipe(&mut tasks);
    let (m2_conn, m2_dev) = pipe(&mut tasks);
    tasks.spawn(serve_daly(Arc::clone(&plant), clock, daly_dev));
    tasks.spawn(serve_vedirect(
        Arc::clone(&plant),
        clock,
        VeDirectKind::SmartShunt,
        shunt_dev,
    ));
    tasks.spawn(serve_vedirect(
        Arc::clone(&plant),
        clock,
        VeDirectKind::Mppt,
        m1_dev,
    ));
    tasks.spawn(serve_vedirect(
        Arc::clone(&plant),
        clock,
        VeDirectKind::Mppt,
        m2_dev,
    ));
    tasks.spawn(drive(
        Arc::clone(&plant),
        clock,
        relays.clone(),
        w1.to_owned(),
    ));
    let (mosfet_tx, mosfet_rx) = watch::channel(true);
    tasks.spawn(sources::daly(
        daly_conn,
        DalyOptions {
            variant: Variant::UART,
            poll: Duration::from_millis(250),
            poller: PollConfig {
                timeout: Duration::from_millis(500),
                retries: 1,
                gap: Duration::ZERO,
                echo: false,
            },
        },
        tx.clone(),
        mosfet_rx,
    ));
    tasks.spawn(sources::vedirect(
        shunt_conn,
        VeDirectRole::Shunt,
        tx.clone(),
    ));
    tasks.spawn(sources::vedirect(
        m1_conn,
        VeDirectRole::Charger(0),
        tx.clone(),
    ));
    tasks.spawn(sources::vedirect(
        m2_conn,
        VeDirectRole::Charger(1),
        tx.clone(),
    ));
    let ids = vec!["28-00000000cell".to_owned(), "28-0000charger".to_owned()];
    tasks.spawn(sources::onewire(
        w1.to_owned(),
        ids.clone(),
        Duration::from_millis(100),
        tx.clone(),
    ));
    drop(tx);

    let engine = Engine::new(demo_config(), clock.now(), ids);
    let print = Arc::new(print);
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Observed>();
    let p2 = Arc::clone(&print);
    tasks.spawn(async move {
        while let Some(o) = ev_rx.recv().await {
            let Observed::Event(e) = o else { continue };
            if matches!(
                e.get("event").and_then(J::as_str),
                Some("link" | "discarded")
            ) {
                continue;
            }
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "event time in ms"
            )]
            let at = Millis((e.get("at_s").and_then(J::as_f64).unwrap_or(0.0) * 1000.0) as u64);
            p2(&format!(
                "{}   event: {}",
                clock_face(at),
                app::event_line(&e)
            ));
        }
        std::future::pending::<()>().await;
    });
    let mut last_slot = None;
    let on_tick = move |engine: &Engine, now: Millis| {
        let slot = now.0 / 600_000;
        if last_slot != Some(slot) {
            last_slot = Some(slot);
            print(&status_line(now, &engine.state_json(now)));
        }
    };
    let core = Core {
        clock,
        tick: Duration::from_millis(50),
        state_every: Duration::from_secs(1),
        relays: Box::new(relays),
        sink: Box::new(MqttSink::new(None, Some(ev_tx))),
        mosfet: mosfet_tx,
        on_tick: Some(Box::new(on_tick)),
        web,
    };
    let limit = duration.unwrap_or(Duration::from_secs(24 * 3600 / u64::from(SPEED)));
    let stop = async move {
        tokio::select! {
            () = stop => {}
            () = tokio::time::sleep(limit) => {}
        }
    };
    app::run_core(engine, core, rx, tasks, stop).await
}
