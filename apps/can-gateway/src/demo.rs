//! `can-gateway --demo`: three simulated BMSes (100, 100 and 200 Ah) and two simulated
//! inverters on in-process buses, the real gateway between them, a status line every
//! second. At 20 s `bms2` goes silent for 15 s, to show exclusion and recovery.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use voltwire_core::{MilliampHours, Watts};
use voltwire_sim::{PackConfig, Plant};

use crate::app::{self, Hooks};
use crate::bus::VirtualBuses;
use crate::config::Config;
use crate::simulated::{spawn_bms, spawn_inverter};

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

/// When `bms2` goes silent and for how long.
const SILENT_AT: Duration = Duration::from_secs(20);
const SILENT_FOR: Duration = Duration::from_secs(15);

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

/// Run the demo for `duration` (or until stopped), printing a status line every second,
/// with the status page on 127.0.0.1:`web_port` (default [`WEB_PORT`]; 0: any free port)
/// and a fresh random token for its set points, both printed.
///
/// # Errors
/// [`DemoError::Usage`] when the `--mqtt` URL does not validate; [`DemoError::Failed`] when
/// stdout cannot be written (other than a closed pipe, which ends the demo quietly), the
/// web port cannot be opened, or the gateway fails.
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
    let virtuals = VirtualBuses::default();
    let packs = [
        (100_000, 0.55, 900),
        (100_000, 0.60, 900),
        (200_000, 0.70, 1800),
    ];
    let mut bmses = Vec::new();
    for (i, (cap, soc, w)) in packs.into_iter().enumerate() {
        let mut plant = Plant::new(vec![PackConfig {
            capacity: MilliampHours(cap),
            initial_soc: soc,
            ..PackConfig::default()
        }]);
        plant.flows.discharge = Watts(w);
        let bus = virtuals.get(&format!("bms{}", i + 1));
        bmses.push(spawn_bms(bus.node(), plant, 1.0));
    }
    let inv1 = spawn_inverter(virtuals.get("inv1").node(), None);
    let inv2 = spawn_inverter(virtuals.get("inv2").node(), Some(Duration::from_secs(1)));
    let (snap_tx, snap_rx) = watch::channel(Value::Null);
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let hooks = Hooks {
        virtuals: virtuals.clone(),
        snapshot: Some(snap_tx),
        web_bound: Some(bound_tx),
    };
    if !print_line(&format!(
        "can-gateway demo: 3 simulated BMSes (100/100/200 Ah) -> gateway -> 2 simulated inverters \
         (inv1 push, inv2 sync on 0x305, each half of the stack); bms2 goes silent at {} s for {} s. Ctrl-C ends it.",
        SILENT_AT.as_secs(),
        SILENT_FOR.as_secs()
    ))? {
        return Ok(());
    }
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
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let t = start.elapsed();
            if let Some(b) = bmses.get(1) {
                let silent = t >= SILENT_AT && t < SILENT_AT + SILENT_FOR;
                if silent != b.silent.load(Ordering::Relaxed) {
                    let said = print_line(&format!(
                        "demo: bms2 {}",
                        if silent {
                            "goes silent now (excluded after its 3 s timeout)"
                        } else {
                            "speaks again (admitted after the 5 s recovery hold)"
                        }
                    ));
                    if !matches!(said, Ok(true)) {
                        return said.map(|_| ());
                    }
                    b.silent.store(silent, Ordering::Relaxed);
                }
            }
            let seen = [
                ("inv1".to_owned(), inv1.view.borrow().state),
                ("inv2".to_owned(), inv2.view.borrow().state),
            ];
            let line = status_line(t, &snap_rx.borrow(), &seen);
            if !print_line(&line)? {
                return Ok(());
            }
            if duration.is_some_and(|d| t >= d) {
                return Ok(());
            }
        }
    };
    tokio::select! {
        r = app::run(settings, hooks, stop) => r.map_err(DemoError::Failed),
        r = status => r,
    }
}
