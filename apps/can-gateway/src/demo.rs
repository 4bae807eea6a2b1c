//! `can-gateway --demo`: the installation of `examples/scenes/can-gateway.toml` (three
//! simulated Pylontech-CAN BMSes of 100, 100 and 200 Ah and two simulated inverters, each
//! on its in-process bus, on one plant), run by the scene engine, the real gateway between
//! them, a status line every second. The scene's script makes `bms2` go silent at 20 s and
//! speak again at 35 s, to show exclusion and recovery.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use voltwire_runtime::can::{CanBus as _, CanFrame, VirtualNode};
use voltwire_sim::SharedWorld;
use voltwire_sim::scene::{Kind, Scene, no_external};
use voltwire_sim::serve::Listen;
use voltwire_sim::serve::can::CanNode;
use voltwire_sim::world::{Action, lock};

use crate::app::{self, Hooks};
use crate::bus::VirtualBuses;
use crate::config::Config;
use crate::simulated::spawn_inverter;

/// The demo's installation: `examples/scenes/can-gateway.toml`, embedded. Its
/// `virtual://NAME` buses are the ones [`DEMO_CONFIG`] names.
pub const DEMO_SCENE: &str = include_str!("../../../examples/scenes/can-gateway.toml");

/// The demo configuration (also a worked example of the file format).
pub const DEMO_CONFIG: &str = r#"
[gateway]
fault_policy = "exclude"
no_input = "safe"
recovery_hold_s = 5
max_charge_current_a = 150
max_discharge_current_a = 200

[[input]]
name = "bms1"
bus = "virtual://bms1"
capacity_ah = 100
timeout_s = 3

[[input]]
name = "bms2"
bus = "virtual://bms2"
capacity_ah = 100
timeout_s = 3

[[input]]
name = "bms3"
bus = "virtual://bms3"
capacity_ah = 200
timeout_s = 3

[[output]]
name = "inv1"
bus = "virtual://inv1"
mode = "push"
current_scale = 0.5

[[output]]
name = "inv2"
bus = "virtual://inv2"
mode = "sync"
current_scale = 0.5
max_charge_current_a = 60
"#;

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

fn f(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
}

/// One status line from a gateway snapshot and what the inverters decoded.
pub fn status_line(
    t: Duration,
    snap: &Value,
    inverters: &[(String, Option<voltwire_ess::BatteryState>)],
) -> String {
    let c = get(snap, &["combined"]);
    let mut line = format!(
        "t={:>3}s mode={:<8} inputs {}/{} ",
        t.as_secs(),
        get(c, &["mode"]).as_str().unwrap_or("-"),
        get(c, &["inputs_active"]).as_u64().unwrap_or(0),
        get(c, &["inputs_total"]).as_u64().unwrap_or(0),
    );
    if let Some(inputs) = get(snap, &["inputs"]).as_array() {
        let parts: Vec<String> = inputs
            .iter()
            .map(|i| {
                format!(
                    "{}:{}",
                    get(i, &["name"]).as_str().unwrap_or("?"),
                    get(i, &["status"]).as_str().unwrap_or("?")
                )
            })
            .collect();
        let _ = write!(line, "[{}] ", parts.join(" "));
    }
    let _ = write!(
        line,
        "| combined {} V {} A SOC {} % CCL {} A DCL {} A",
        f(get(c, &["voltage_v"]), 2),
        f(get(c, &["current_a"]), 1),
        f(get(c, &["soc_pct"]), 0),
        f(get(c, &["charge_current_limit_a"]), 1),
        f(get(c, &["discharge_current_limit_a"]), 1),
    );
    for (name, s) in inverters {
        match s {
            Some(s) => {
                let _ = write!(
                    line,
                    " | {name} sees CCL {:.1} A DCL {:.1} A SOC {} %{}",
                    f64::from(s.charge_current_limit.0) / 1000.0,
                    f64::from(s.discharge_current_limit.0) / 1000.0,
                    s.soc.0 / 10,
                    if s.charge_enable && s.discharge_enable {
                        ""
                    } else {
                        " (disabled)"
                    },
                );
            }
            None => {
                let _ = write!(line, " | {name} sees nothing yet");
            }
        }
    }
    line
}

/// Why the demo ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoError {
    /// A bad argument (e.g. the `--mqtt` URL): a usage error.
    Usage(String),
    /// The demo could not go on (stdout not writable, the gateway failed).
    Failed(String),
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Usage(m) | Self::Failed(m) => f.write_str(m),
        }
    }
}

/// Print one line to stdout: `Ok(true)` when written, `Ok(false)` when the reader closed the
/// pipe (a quiet end, as `| head -1` wants), an error for any other write failure (e.g. a
/// full disk or `/dev/full`).
fn print_line(line: &str) -> Result<bool, DemoError> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(DemoError::Failed(format!("cannot write to stdout: {e}"))),
    }
}

/// The demo's web port unless `--web-port` gives another.
pub const WEB_PORT: u16 = 8080;

/// The demo's scene ([`DEMO_SCENE`]), validated.
///
/// # Errors
///
/// [`DemoError::Failed`] naming the field, should the embedded file not hold.
pub fn scene() -> Result<Scene, DemoError> {
    Scene::parse(DEMO_SCENE).map_err(|e| {
        DemoError::Failed(format!(
            "the demo scene (examples/scenes/can-gateway.toml): {e}"
        ))
    })
}

/// A node of the gateway's in-process buses, as the scene engine attaches a device.
struct Node(VirtualNode);

impl CanNode for Node {
    async fn send(&mut self, frame: &CanFrame) -> std::io::Result<()> {
        self.0.send(frame).await.map_err(std::io::Error::other)
    }

    async fn recv(&mut self) -> std::io::Result<CanFrame> {
        self.0.recv().await.map_err(std::io::Error::other)
    }
}

/// What the serving layer has to say (a client, a port): to the log.
fn log(args: std::fmt::Arguments<'_>) {
    tracing::info!("{args}");
}

/// Serve every device of `scene` on `world`, each `virtual://NAME` device on the bus `NAME`
/// of `virtuals` (the gateway's), until `stop` resolves.
///
/// # Errors
///
/// A device whose serving failed, named (it ends the scene).
pub async fn serve_scene(
    scene: &Scene,
    world: SharedWorld,
    virtuals: &VirtualBuses,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    scene
        .serve_in(
            world,
            log,
            |name, link| {
                tracing::debug!(device = name, link, "demo: simulated device on its bus");
                Ok(())
            },
            no_external(),
            |bus| Some(Node(virtuals.get(bus).node())),
            stop,
        )
        .await
}

/// The scene's script in words, e.g. `bms2 goes silent at 20 s for 15 s`.
pub fn script_summary(scene: &Scene) -> String {
    let name = |i: usize| scene.devices.get(i).map_or("?", |d| d.name.as_str());
    let mut parts = Vec::new();
    for (k, e) in scene.events.iter().enumerate() {
        let Action::Silent { device } = e.action else {
            continue;
        };
        let back = scene
            .events
            .iter()
            .skip(k + 1)
            .find_map(|b| match b.action {
                Action::Back { device: d } if d == device => Some(b.at),
                _ => None,
            });
        parts.push(match back {
            Some(b) => format!(
                "{} goes silent at {} s for {} s",
                name(device),
                e.at.as_secs(),
                b.saturating_sub(e.at).as_secs()
            ),
            None => format!("{} goes silent at {} s", name(device), e.at.as_secs()),
        });
    }
    parts.join("; ")
}

/// What the gateway does about an input falling silent and speaking again: its timeout and
/// the recovery hold, in ms, by input name.
struct Rules {
    timeouts: Vec<(String, u64)>,
    hold_ms: u64,
}

impl Rules {
    fn of(settings: &crate::config::Settings) -> Self {
        Self {
            timeouts: settings
                .inputs
                .iter()
                .map(|i| (i.name.clone(), i.domain.timeout_ms))
                .collect(),
            hold_ms: settings.gateway.recovery_hold_ms,
        }
    }
}

/// `ms` as seconds for a sentence (`3`, `0.5`).
#[allow(clippy::cast_precision_loss, reason = "a few seconds, for words")]
fn secs(ms: u64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

/// Say which gateway input of `scene` fell silent or speaks again since the last call
/// (`silent`: each device's state then), as the script on `world` has it now: `Ok(false)`
/// when stdout was closed.
fn say_silences(
    scene: &Scene,
    world: &SharedWorld,
    rules: &Rules,
    silent: &mut Vec<bool>,
) -> Result<bool, DemoError> {
    let now: Vec<bool> = {
        let mut w = lock(world);
        w.advance();
        (0..scene.devices.len())
            .map(|i| w.faults(i).silent)
            .collect()
    };
    for (d, (was, is)) in scene.devices.iter().zip(silent.iter().zip(&now)) {
        let Some((_, timeout_ms)) = rules.timeouts.iter().find(|(n, _)| *n == d.name) else {
            continue;
        };
        if was == is {
            continue;
        }
        let words = if *is {
            format!(
                "goes silent now (excluded after its {} s timeout)",
                secs(*timeout_ms)
            )
        } else {
            format!(
                "speaks again (admitted after the {} s recovery hold)",
                secs(rules.hold_ms)
            )
        };
        if !print_line(&format!("demo: {} {words}", d.name))? {
            return Ok(false);
        }
    }
    *silent = now;
    Ok(true)
}

/// Run the demo for `duration` (or until stopped), printing a status line every second,
/// with the status page on 127.0.0.1:`web_port` (default [`WEB_PORT`]; 0: any free port)
/// and a fresh random token for its set points, both printed.
///
/// # Errors
/// [`DemoError::Usage`] when the `--mqtt` URL does not validate; [`DemoError::Failed`] when
/// stdout cannot be written (other than a closed pipe, which ends the demo quietly), the
/// web port cannot be opened, the gateway fails or a simulated device fails.
pub async fn run(
    duration: Option<Duration>,
    mqtt: Option<String>,
    web_port: Option<u16>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), DemoError> {
    let mut text = DEMO_CONFIG.to_owned();
    if let Some(url) = mqtt {
        let _ = write!(text, "\n[mqtt]\nurl = \"{url}\"\ninterval_s = 1\n");
    }
    let token = voltwire_runtime::web::Token::generate()
        .map_err(|e| DemoError::Failed(format!("cannot make a random web token: {e}")))?;
    let _ = write!(
        text,
        "\n[web]\nport = {}\ntoken = \"{}\"\n",
        web_port.unwrap_or(WEB_PORT),
        token.as_str()
    );
    let settings = Config::parse(&text, Path::new("<demo>")).map_err(DemoError::Usage)?;
    let rules = Rules::of(&settings);
    let scene = scene()?;
    let virtuals = VirtualBuses::default();
    // What each inverter decodes: a listening node on its bus sees every frame it sees.
    // Attached before anything is served, so that no frame goes unseen.
    let inverters: Vec<_> = scene
        .devices
        .iter()
        .filter(|d| d.kind == Kind::PylontechInverter)
        .filter_map(|d| match &d.listen {
            Listen::Virtual(bus) => Some((
                d.name.clone(),
                spawn_inverter(virtuals.get(bus).node(), None),
            )),
            _ => None,
        })
        .collect();
    let (snap_tx, snap_rx) = watch::channel(Value::Null);
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let hooks = Hooks {
        virtuals: virtuals.clone(),
        snapshot: Some(snap_tx),
        web_bound: Some(bound_tx),
    };
    if !print_line(&format!(
        "can-gateway demo: 3 simulated BMSes (100/100/200 Ah) -> gateway -> 2 simulated inverters \
         (inv1 push, inv2 sync on 0x305, each half of the stack); {}. Ctrl-C ends it.",
        script_summary(&scene)
    ))? {
        return Ok(());
    }
    let world = scene.world(1.0);
    let start = tokio::time::Instant::now();
    let status = async {
        // The gateway binds its web port first: announce it (or end if it could not).
        let Ok(addr) = bound_rx.await else {
            return std::future::pending().await;
        };
        if !print_line(&format!(
            "demo: status page at http://{addr}/ (set points in the page need the token {})",
            token.as_str()
        ))? {
            return Ok(());
        }
        let mut silent = vec![false; scene.devices.len()];
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let t = start.elapsed();
            if !say_silences(&scene, &world, &rules, &mut silent)? {
                return Ok(());
            }
            let seen: Vec<_> = inverters
                .iter()
                .map(|(name, inv)| (name.clone(), inv.view.borrow().state))
                .collect();
            let line = status_line(t, &snap_rx.borrow(), &seen);
            if !print_line(&line)? {
                return Ok(());
            }
            if duration.is_some_and(|d| t >= d) {
                return Ok(());
            }
        }
    };
    // Boxed: the gateway's and the scene's futures are large, and the caller's stays small.
    let devices = Box::pin(serve_scene(
        &scene,
        world.clone(),
        &virtuals,
        std::future::pending(),
    ));
    let gateway = Box::pin(app::run(settings, hooks, stop));
    tokio::select! {
        r = gateway => r.map_err(DemoError::Failed),
        r = status => r,
        r = devices => Err(DemoError::Failed(match r {
            Ok(()) => "the simulated installation stopped".to_owned(),
            Err(e) => format!("the simulated installation failed: {e}"),
        })),
    }
}
