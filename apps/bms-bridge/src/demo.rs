//! `bms-bridge --demo`: the installation of `examples/scenes/bms-bridge.toml` (embedded) on
//! one scene world (`voltwire_sim::scene`): a simulated Daly BMS, two MPPTs sharing the
//! sun's PV and a SmartShunt speaking their real protocols through in-process pipes to the
//! real bridge, through a simulated day at ×120 from 06:00. The bridge's relays switch the
//! scene's relay loads and balancer (`World::set_relay`), the scene keeps the 1-Wire files
//! in a scratch directory, and a hot afternoon trips the cell-temperature latch while
//! cells drifting apart at the top of the charge start the balancer. One status line per
//! simulated 10 minutes, every event as it happens. `voltwire sim scene` serves the same
//! file on ptys, MQTT relays and a 1-Wire directory for a real bridge.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value as J;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use voltwire_bms_rules::{Config, Millis, Relay, SensorRole};
use voltwire_core::Watts;
use voltwire_daly::Variant;
use voltwire_runtime::poll::PollConfig;
use voltwire_sim::device::{DalyBms, VeDirect, VeDirectKind};
use voltwire_sim::scene::{Kind, Scene};
use voltwire_sim::serve::{Listen, SerialStation};
use voltwire_sim::{Plant, PlantCommand, SerialResponder, SharedWorld};

use crate::app::{self, Clock, Core, MqttSink, Observed, SimRelays, TokioClock};
use crate::engine::{Engine, Input};
use crate::sources::{self, ChannelConnect, DalyOptions, VeDirectRole};

/// Simulated seconds per real second.
pub const SPEED: u32 = 120;
/// The simulated day starts at this hour.
pub const START_HOUR: f64 = 6.0;
/// The installation: `examples/scenes/bms-bridge.toml`.
pub const SCENE: &str = include_str!("../../../examples/scenes/bms-bridge.toml");

/// Hour of day at simulated time `t`.
#[allow(clippy::cast_precision_loss, reason = "hours for the demo's curves")]
pub fn hour(t: Millis) -> f64 {
    (START_HOUR + t.0 as f64 / 3_600_000.0) % 24.0
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

/// The bridge's relays switch the scene's relay devices of the same names (`load1`,
/// `load2`, `balancer`): their loads and balancer act on the shared plant.
async fn follow_relays(world: SharedWorld, scene: Scene, relays: SimRelays) {
    let devices: Vec<Option<usize>> = [Relay::Load1, Relay::Load2, Relay::Balancer]
        .iter()
        .map(|r| scene.device_index(r.name()))
        .collect();
    let mut last = [false; 3];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tick.tick().await;
        let now = relays.states();
        for ((on, was), device) in now.iter().zip(&mut last).zip(&devices) {
            if on != was {
                if let Some(d) = device {
                    voltwire_sim::world::lock(&world).set_relay(*d, *on);
                }
                *was = *on;
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
    let mut scene = Scene::parse(SCENE).map_err(|e| format!("the demo's scene: {e}"))?;
    // The 1-Wire files go to the demo's scratch directory.
    for d in &mut scene.devices {
        if d.kind == Kind::OneWire {
            d.listen = Listen::Dir(w1.display().to_string());
        }
    }
    let world = scene.world(f64::from(SPEED));
    let relays = SimRelays::default();
    let print = Arc::new(print);
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
    let (mosfet_tx, mosfet_rx) = watch::channel(true);
    let mut mosfet_rx = Some(mosfet_rx);
    let mut chargers = 0u8;
    let mut ids = Vec::new();
    for (i, d) in scene.devices.iter().enumerate() {
        if let Some(responder) = d.serial_responder() {
            let (conn, dev) = pipe(&mut tasks);
            let mut station = SerialStation::in_world(world.clone(), i, responder);
            let name = d.name.clone();
            let p = Arc::clone(&print);
            tasks.spawn(async move {
                let (r, w) = tokio::io::split(dev);
                if let Err(e) = voltwire_sim::serve::serve_io(&mut station, r, w).await {
                    p(&format!("demo: simulated {name}: {e}"));
                }
            });
            match d.kind {
                Kind::Daly => {
                    let Some(mosfet) = mosfet_rx.take() else {
                        return Err("the demo's scene has one Daly".to_owned());
                    };
                    tasks.spawn(sources::daly(
                        conn,
                        DalyOptions {
                            variant: Variant::RS485,
                            poll: Duration::from_millis(250),
                            poller: PollConfig {
                                timeout: Duration::from_millis(500),
                                retries: 1,
                                gap: Duration::ZERO,
                                echo: false,
                            },
                        },
                        tx.clone(),
                        mosfet,
                    ));
                }
                Kind::VedirectSmartshunt => {
                    tasks.spawn(sources::vedirect(conn, VeDirectRole::Shunt, tx.clone()));
                }
                Kind::VedirectMppt => {
                    tasks.spawn(sources::vedirect(
                        conn,
                        VeDirectRole::Charger(chargers),
                        tx.clone(),
                    ));
                    chargers += 1;
                }
                _ => return Err(format!("the demo has no source for {}", d.name)),
            }
        } else if let (Kind::OneWire, Listen::Dir(dir)) = (d.kind, &d.listen) {
            // The files exist before the sensor task first reads them.
            let (ready_tx, ready) = tokio::sync::oneshot::channel();
            let serving = voltwire_sim::scene::serve_onewire(
                dir.into(),
                d.sensors.clone(),
                i,
                world.clone(),
                ready_tx,
            );
            let p = Arc::clone(&print);
            tasks.spawn(async move {
                if let Err(e) = serving.await {
                    p(&format!("demo: 1-Wire files: {e}"));
                }
            });
            ready
                .await
                .map_err(|_| "demo: the 1-Wire files could not be written".to_owned())?;
            ids.extend(d.sensors.iter().map(|s| s.id.clone()));
        }
    }
    tasks.spawn(follow_relays(world.clone(), scene.clone(), relays.clone()));
    tasks.spawn(sources::onewire(
        w1.to_owned(),
        ids.clone(),
        Duration::from_millis(100),
        tx.clone(),
    ));
    drop(tx);

    let engine = Engine::new(demo_config(), clock.now(), ids);
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
