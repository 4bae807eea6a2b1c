//! The status page's command path: the engine loop with simulated relays and the web server
//! on a free port, its commands through the MQTT path's validator. Bad commands (no or a
//! wrong token, an unknown relay, a bad mode, a bad setting) are refused with their code and
//! switch nothing; a good one switches the relay at the next tick. The page's state, health
//! and metrics show the relays, the latches and the events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::too_many_lines,
    reason = "test code"
)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bms_bridge::app::{self, Clock as _, Core, MqttSink, Observed, SimRelays, TokioClock};
use bms_bridge::engine::{Engine, Input};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use voltwire_bms_rules::{BmsReading, Config, Relay};
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_runtime::web::{Token, WebConfig};

/// A failure guard only: every wait below ends on an event long before this.
const GUARD: Duration = Duration::from_secs(60);
const TOKEN: &str = "0123456789abcdef-web-test-token";

use voltwire_testkit::http::request as http;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

struct Rig {
    addr: SocketAddr,
    relays: SimRelays,
    observed: mpsc::UnboundedReceiver<Observed>,
    stop: Option<oneshot::Sender<()>>,
    run: tokio::task::JoinHandle<Result<(), String>>,
}

impl Rig {
    async fn start() -> Self {
        let clock = TokioClock::new(1);
        let config = Config {
            shunt: false,
            chargers: 0,
            startup_hold_ms: 0,
            ..Config::default()
        };
        let (tx, rx) = mpsc::channel::<Input>(64);
        // A fresh BMS at 50 % SOC, cells balanced and cool: nothing latches.
        tx.send(Input::Bms(
            BmsReading {
                pack: Millivolts(26_400),
                current: Milliamps(0),
                soc: Permille(500),
                cell_min: Millivolts(3_300),
                cell_max: Millivolts(3_305),
                temp_max: Some(DeciCelsius(200)),
            },
            Some(true),
        ))
        .await
        .unwrap();
        let current = Arc::new(Mutex::new(config));
        let web = WebConfig {
            port: 0,
            token: Some(Token::new(TOKEN).unwrap()),
            ..WebConfig::default()
        };
        let (mount, addr) = app::start_web(web, app::validator(current, tx.clone()), None)
            .await
            .unwrap();
        let mut tasks = JoinSet::new();
        // Sources never end; this one holds the input channel open like a source would.
        tasks.spawn(async move {
            let _keep = tx;
            std::future::pending::<()>().await;
        });
        let relays = SimRelays::default();
        let (obs_tx, observed) = mpsc::unbounded_channel();
        let core = Core {
            clock,
            tick: Duration::from_millis(20),
            state_every: Duration::from_millis(50),
            relays: Box::new(relays.clone()),
            sink: Box::new(MqttSink::new(None, Some(obs_tx))),
            mosfet: watch::channel(true).0,
            on_tick: None,
            web: Some(mount),
        };
        let engine = Engine::new(config, clock.now(), Vec::new());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let run = tokio::spawn(app::run_core(engine, core, rx, tasks, async move {
            let _ = stop_rx.await;
        }));
        Self {
            addr,
            relays,
            observed,
            stop: Some(stop_tx),
            run,
        }
    }

    /// The next observed item that `f` picks.
    async fn until<T>(&mut self, mut f: impl FnMut(&Observed) -> Option<T>) -> T {
        tokio::time::timeout(GUARD, async {
            loop {
                let o = self.observed.recv().await.expect("the loop runs");
                if let Some(t) = f(&o) {
                    return t;
                }
            }
        })
        .await
        .expect("the awaited output comes")
    }

    /// The next published state (after everything sent so far was applied).
    async fn next_state(&mut self) -> Value {
        self.until(|o| match o {
            Observed::State(s) => Some(s.clone()),
            Observed::Event(_) => None,
        })
        .await
    }
}

fn modes(state: &Value) -> Vec<(String, String, bool)> {
    Relay::ALL
        .iter()
        .map(|r| {
            let v = &state["relays"][r.name()];
            (
                r.name().to_owned(),
                v["mode"].as_str().unwrap().to_owned(),
                v["on"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_commands_refuse_bad_input_and_switch_on_a_good_one() {
    let mut rig = Rig::start().await;
    let all_auto_off: Vec<_> = Relay::ALL
        .iter()
        .map(|r| (r.name().to_owned(), "auto".to_owned(), false))
        .collect();
    // Automatic switching is allowed at once (hold 0), but at 50 % SOC with PV low (60 %)
    // no load comes on and the balanced pack needs no balancer.
    let s = rig.next_state().await;
    assert_eq!(modes(&s), all_auto_off);

    // Refused before the validator: no token, a wrong token.
    let (code, body) = http(rig.addr, "POST", "/api/command/load1", None, "on").await;
    assert_eq!(
        (code, json(&body)["error"].as_str()),
        (401, Some("missing_token"))
    );
    let (code, body) = http(
        rig.addr,
        "POST",
        "/api/command/load1",
        Some("0123456789abcdef-WRONG-token"),
        "on",
    )
    .await;
    assert_eq!(
        (code, json(&body)["error"].as_str()),
        (401, Some("wrong_token"))
    );
    // Refused by the validator (the MQTT path's): each with its code, each a `rejected` event.
    let bad = [
        ("/api/command/load9", "on", 404, "unknown_command"),
        ("/api/command/load1", "dim", 422, "invalid_value"),
        (
            "/api/command/load1",
            "{\"mode\": \"sideways\"}",
            422,
            "invalid_value",
        ),
        (
            "/api/command/load1",
            "{\"mode\": \"on\", \"for\": 5}",
            422,
            "invalid_value",
        ),
        ("/api/command/balancer", "\u{ff}", 422, "invalid_value"),
        (
            "/api/command/config",
            "{\"load1_off_soc_pct\": 150}",
            422,
            "invalid_value",
        ),
        (
            "/api/command/config",
            "{\"load1_off\": 5}",
            400,
            "unknown_field",
        ),
    ];
    for (path, body, want, error) in bad {
        let (code, reply) = http(rig.addr, "POST", path, Some(TOKEN), body).await;
        let reply = json(&reply);
        assert_eq!(
            (code, reply["error"].as_str()),
            (want, Some(error)),
            "{path} {body}: {reply}"
        );
        let command = path.rsplit('/').next().unwrap().to_owned();
        let ev = rig
            .until(|o| match o {
                Observed::Event(e) if e["event"] == "rejected" => Some(e.clone()),
                _ => None,
            })
            .await;
        assert_eq!(ev["command"], json!(command), "{ev}");
    }
    // Nothing switched, no mode changed, the settings are the file's.
    let s = rig.next_state().await;
    assert_eq!(modes(&s), all_auto_off);
    assert_eq!(rig.relays.states(), [false; 3]);
    let (code, state) = http(rig.addr, "GET", "/api/state", None, "").await;
    assert_eq!(code, 200);
    let state = json(&state);
    assert_eq!(modes(&state), all_auto_off);
    let recent = state["recent_events"].as_array().unwrap();
    assert!(
        recent
            .iter()
            .any(|l| l.as_str().unwrap().contains("rejected command=\"load9\"")),
        "{state}"
    );

    // A good command (the page's JSON form): load1 on, switched at the next tick.
    let (code, reply) = http(
        rig.addr,
        "POST",
        "/api/command/load1",
        Some(TOKEN),
        "{\"mode\": \"on\"}",
    )
    .await;
    let reply = json(&reply);
    assert_eq!(code, 200, "{reply}");
    assert_eq!(reply["result"]["relay"], "load1");
    assert_eq!(reply["result"]["state"]["mode"], "on");
    let ev = rig
        .until(|o| match o {
            Observed::Event(e) if e["event"] == "relay" => Some(e.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        (ev["relay"].as_str(), ev["on"].as_bool()),
        (Some("load1"), Some(true)),
        "{ev}"
    );
    assert_eq!(rig.relays.states(), [true, false, false]);
    // And back to auto: off again at 50 % SOC (below the 60 % on-threshold).
    let (code, _) = http(rig.addr, "POST", "/api/command/load1", Some(TOKEN), "AUTO").await;
    assert_eq!(code, 200);
    let ev = rig
        .until(|o| match o {
            Observed::Event(e) if e["event"] == "relay" => Some(e.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        (ev["relay"].as_str(), ev["on"].as_bool()),
        (Some("load1"), Some(false)),
        "{ev}"
    );
    assert_eq!(rig.relays.states(), [false; 3]);

    // A good config set over HTTP: applied and answered with the effective settings.
    let (code, reply) = http(
        rig.addr,
        "POST",
        "/api/command/config",
        Some(TOKEN),
        "{\"load1_on_soc_pv_low_pct\": 45.0}",
    )
    .await;
    let reply = json(&reply);
    assert_eq!(code, 200, "{reply}");
    assert_eq!(
        reply["result"]["config"]["load1_on_soc_pv_low_pct"],
        json!(45.0)
    );
    // At 50 % SOC with the threshold now 45 %, load1 (auto) switches on.
    let ev = rig
        .until(|o| match o {
            Observed::Event(e) if e["event"] == "relay" => Some(e.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        (ev["relay"].as_str(), ev["on"].as_bool()),
        (Some("load1"), Some(true)),
        "{ev}"
    );

    // Health: the BMS source is up; metrics: SOC, the relay, the latches.
    let (code, health) = http(rig.addr, "GET", "/api/health", None, "").await;
    assert_eq!(code, 200, "{health}");
    let health = json(&health);
    assert_eq!(health["links"][0]["name"], "bms");
    assert_eq!(health["links"][0]["status"], "up");
    // The metrics are published after the tick that switched.
    let _ = rig.next_state().await;
    let (code, metrics) = http(rig.addr, "GET", "/metrics", None, "").await;
    assert_eq!(code, 200);
    for line in [
        "voltwire_bms_state_of_charge_percent 50",
        "voltwire_bms_relay_on{relay=\"load1\"} 1",
        "voltwire_bms_relay_on{relay=\"balancer\"} 0",
        "voltwire_bms_latch_active{latch=\"comm_bms\"} 0",
        "voltwire_bms_alarm 0",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    // The page itself carries the bridge's forms.
    let (code, page) = http(rig.addr, "GET", "/", None, "").await;
    assert_eq!(code, 200);
    assert!(page.contains("\"title\":\"bms-bridge\""));
    assert!(page.contains("balancer auto"));

    // Stopping: every relay off.
    rig.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(GUARD, &mut rig.run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(rig.relays.states(), [false; 3]);
}
