//! The whole bridge (`app::run_observed`) against the simulated Daly, SmartShunt and MPPT
//! served on real ptys (`voltwire_sim::serve`) and the embedded test broker, observed by an
//! independent rumqttc client: readings over the real protocols, malformed commands rejected
//! with nothing switched, a config set applied and echoed retained, and a restart that
//! picks the retained config up.
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::too_many_lines,
    reason = "std test"
)]

use std::path::Path;
use std::time::Duration;

use bms_bridge::config::Settings;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use support::serve_on_pty;
use tokio::sync::{mpsc, oneshot};
use voltwire_sim::device::{DalyBms, VeDirect, VeDirectKind};
use voltwire_testkit::Broker;

mod support;

/// A failure guard only: every wait ends as soon as its message arrives.
const WAIT: Duration = Duration::from_secs(60);

struct Observer {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<(String, Value)>,
    task: tokio::task::JoinHandle<()>,
}

impl Observer {
    async fn new(port: u16) -> Self {
        let (client, mut el) =
            AsyncClient::new(MqttOptions::new("observer", "127.0.0.1", port), 100);
        let (tx, rx) = mpsc::unbounded_channel();
        let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
        let filters = ["bb/#", "cmnd/#", "shelly1/#", "homeassistant/#"];
        for f in filters {
            client.subscribe(f, QoS::AtLeastOnce).await.unwrap();
        }
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let v = serde_json::from_slice(&p.payload).unwrap_or_else(|_| {
                            Value::String(String::from_utf8_lossy(&p.payload).into())
                        });
                        let _ = tx.send((p.topic.clone(), v));
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        for _ in filters {
            tokio::time::timeout(WAIT, ack_rx.recv())
                .await
                .expect("no SUBACK");
        }
        Self { client, rx, task }
    }

    async fn wait_for(&mut self, topic: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let Ok(Some((t, v))) = tokio::time::timeout_at(deadline, self.rx.recv()).await else {
                panic!("no message on {topic} with {what} within {WAIT:?}");
            };
            if t == topic && pred(&v) {
                return v;
            }
        }
    }

    /// Two messages, in either order (published by different tasks of the bridge).
    async fn wait_both(
        &mut self,
        a: (&str, &dyn Fn(&Value) -> bool),
        b: (&str, &dyn Fn(&Value) -> bool),
    ) -> (Value, Value) {
        let deadline = tokio::time::Instant::now() + WAIT;
        let (mut va, mut vb) = (None, None);
        while va.is_none() || vb.is_none() {
            let Ok(Some((t, v))) = tokio::time::timeout_at(deadline, self.rx.recv()).await else {
                panic!("no message on {} and {} within {WAIT:?}", a.0, b.0);
            };
            if va.is_none() && t == a.0 && (a.1)(&v) {
                va = Some(v);
            } else if vb.is_none() && t == b.0 && (b.1)(&v) {
                vb = Some(v);
            }
        }
        (va.unwrap(), vb.unwrap())
    }

    async fn publish(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
            .await
            .unwrap();
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn write_config(
    dir: &Path,
    broker: &str,
    daly: &str,
    shunt: &str,
    mppt: &str,
) -> std::path::PathBuf {
    let text = format!(
        r#"
[bridge]
tick_ms = 200
state_every_s = 1

[bms]
url = "serial://{daly}?baud=9600"
poll_s = 1

[shunt]
url = "serial://{shunt}?baud=19200"

[[charger]]
url = "serial://{mppt}?baud=19200"

[relays]
load1 = {{ backend = "tasmota", topic = "t1" }}
load2 = {{ backend = "shelly", topic = "shelly1", channel = 1 }}

[rules]
startup_hold_s = 0

[mqtt]
url = "{broker}"
base = "bb"
retained_config_wait_s = 2
"#
    );
    let path = dir.join("bms-bridge.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn start(
    path: &Path,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), String>>,
) {
    let settings = Settings::load(path).unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let run = tokio::spawn(bms_bridge::app::run(settings, async move {
        let _ = stop_rx.await;
    }));
    (stop_tx, run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_over_ptys_commands_validated_and_retained_config_across_a_restart() {
    let broker = Broker::start("bms-bridge");
    let dir = voltwire_testkit::scratch_dir("bms-bridge-mqtt");
    let daly = serve_on_pty(Box::new(
        DalyBms::new(0).with_variant(voltwire_daly::Variant::UART),
    ))
    .await;
    let shunt = serve_on_pty(Box::new(VeDirect::new(VeDirectKind::SmartShunt))).await;
    let mppt = serve_on_pty(Box::new(VeDirect::new(VeDirectKind::Mppt))).await;
    let path = write_config(&dir, &broker.url(), &daly, &shunt, &mppt);
    let mut obs = Observer::new(broker.port()).await;
    let (stop, run) = start(&path);

    // Home Assistant discovery: the relays as switches on their command topics, and each
    // relay's mode as a select on the same topic (retained, replayed in any order).
    let any = |_: &Value| true;
    let (d, sel) = obs
        .wait_both(
            ("homeassistant/switch/bb/load1/config", &any),
            ("homeassistant/select/bb/balancer_mode/config", &any),
        )
        .await;
    assert_eq!(d["command_topic"], "bb/command/load1", "{d}");
    assert_eq!(d["availability_topic"], "bb/availability", "{d}");
    assert_eq!(sel["command_topic"], "bb/command/balancer", "{sel}");
    assert_eq!(
        sel["options"],
        serde_json::json!(["on", "off", "auto"]),
        "{sel}"
    );
    assert_eq!(
        sel["value_template"], "{{ value_json.relays.balancer.mode }}",
        "{sel}"
    );

    // Readings from all three simulators over real ptys.
    let state = obs
        .wait_for("bb/state", "every source fresh", |s| {
            s["sources"]["bms"]["fresh"] == true
                && s["sources"]["shunt"]["fresh"] == true
                && s["sources"]["charger1"]["fresh"] == true
                && !s["cell_min_v"].is_null()
        })
        .await;
    let soc = state["soc_pct"].as_f64().unwrap();
    assert!((49.0..=51.0).contains(&soc), "{state}");
    let v = state["voltage_v"].as_f64().unwrap();
    assert!((25.0..=28.0).contains(&v), "{state}");
    assert_eq!(
        state["relays"]["load1"]["on"], false,
        "SOC 50 % is below 60 %: {state}"
    );

    // Malformed commands: each rejected with a reason, an error event, nothing switched.
    for (topic, payload, code) in [
        ("bb/command/load1", "maybe", "invalid_value"),
        ("bb/command/load1", "on please", "invalid_value"),
        ("bb/command/load9", "on", "unknown_command"),
        (
            "bb/command/config",
            r#"{"cell_diff_recover_v": 0.2}"#,
            "invalid_value",
        ),
        (
            "bb/command/config",
            r#"{"no_such_key": 1}"#,
            "unknown_field",
        ),
        ("bb/command/config", "{not json", "bad_json"),
    ] {
        obs.publish(topic, payload).await;
        let name = topic.rsplit('/').next().unwrap();
        let (r, e) = obs
            .wait_both(
                ("bb/command/result", &|r: &Value| r["topic"] == topic),
                ("bb/event", &|e: &Value| {
                    e["event"] == "rejected" && e["command"] == name
                }),
            )
            .await;
        assert_eq!(r["accepted"], false, "{topic} {payload}: {r}");
        assert_eq!(r["code"], code, "{topic} {payload}: {r}");
        assert!(e["reason"].as_str().is_some(), "{e}");
    }
    let state = obs.wait_for("bb/state", "a state", |_| true).await;
    for r in ["load1", "load2", "balancer"] {
        assert_eq!(state["relays"][r]["mode"], "auto", "{state}");
    }
    assert_eq!(state["relays"]["load1"]["on"], false, "{state}");
    // The config field the rejection names.
    obs.publish("bb/command/config", r#"{"cell_diff_recover_v": 0.2}"#)
        .await;
    let (r, _) = obs
        .wait_both(
            ("bb/command/result", &|r: &Value| {
                r["topic"] == "bb/command/config"
            }),
            ("bb/event", &|e: &Value| e["event"] == "rejected"),
        )
        .await;
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("cell_diff_recover_v"),
        "{r}"
    );

    // A valid config: applied (load 1 now switches on at 50 %) and echoed retained.
    obs.publish("bb/command/config", r#"{"load1_on_soc_pv_low_pct": 45}"#)
        .await;
    obs.wait_for("bb/config", "the echo", |c| {
        c["load1_on_soc_pv_low_pct"] == 45.0
    })
    .await;
    // The relay is switched before the event is published (one client: in order).
    obs.wait_for("cmnd/t1/POWER", "the Tasmota relay on", |v| v == "ON")
        .await;
    obs.wait_for("bb/event", "load1 on", |e| {
        e["event"] == "relay" && e["relay"] == "load1" && e["on"] == true
    })
    .await;

    // A valid mode: load 2 on by hand.
    obs.publish("bb/command/load2", "ON").await;
    let rpc = obs
        .wait_for("shelly1/rpc", "the Shelly relay on", |v| {
            v["params"]["on"] == true
        })
        .await;
    assert_eq!(rpc["method"], "Switch.Set", "{rpc}");
    obs.wait_for("bb/event", "load2 on", |e| {
        e["event"] == "relay" && e["relay"] == "load2" && e["on"] == true && e["reason"] == "manual"
    })
    .await;
    assert_eq!(rpc["params"]["id"], 1, "{rpc}");

    // Restart: the retained config is read back before the file's values.
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    obs.wait_for("bb/availability", "offline", |v| v == "offline")
        .await;
    let (stop, run) = start(&path);
    let c = obs
        .wait_for("bb/config", "the retained config applied", |c| {
            c["load1_on_soc_pv_low_pct"] == 45.0 && c["cell_count"] == 8
        })
        .await;
    assert_eq!(c["cell_diff_recover_v"], 0.02, "{c}");
    obs.wait_for("bb/event", "load1 on again", |e| {
        e["event"] == "relay" && e["relay"] == "load1" && e["on"] == true
    })
    .await;
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
