//! The gateway against a real Mosquitto broker (Debian package `mosquitto`, one per test on a
//! free loopback port), observed by an independent rumqttc client: telemetry (combined,
//! per input, per output), Home Assistant discovery, set points applied / bounded /
//! expired, malformed commands rejected with nothing changed, and telemetry resuming after
//! the broker is killed and restarted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::missing_panics_doc,
    clippy::float_cmp,
    clippy::too_many_lines,
    clippy::duration_suboptimal_units,
    reason = "test code"
)]

mod common;

use std::time::Duration;

use common::{Rig, bms};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use tokio::sync::mpsc;
use voltwire_core::Milliamps;
use voltwire_testkit::Broker;

const WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
struct Msg {
    topic: String,
    payload: Vec<u8>,
}

impl Msg {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

struct Observer {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Msg>,
    task: tokio::task::JoinHandle<()>,
}

impl Observer {
    async fn new(port: u16, id: &str) -> Self {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        // Large enough for the oversize commands the tests leave on the broker.
        o.set_max_packet_size(2 << 20, 2 << 20);
        let (client, mut eventloop) = AsyncClient::new(o, 100);
        let (tx, rx) = mpsc::unbounded_channel();
        let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
        client.subscribe("gw/#", QoS::AtLeastOnce).await.unwrap();
        client
            .subscribe("homeassistant/#", QoS::AtLeastOnce)
            .await
            .unwrap();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send(Msg {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                        });
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        for _ in 0..2 {
            tokio::time::timeout(WAIT, ack_rx.recv())
                .await
                .expect("no SUBACK")
                .unwrap();
        }
        Self { client, rx, task }
    }

    async fn wait_for(&mut self, topic: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let Ok(Some(m)) = tokio::time::timeout_at(deadline, self.rx.recv()).await else {
                panic!("no message on {topic} with {what} within {WAIT:?}");
            };
            if m.topic == topic {
                let v = m.json();
                if pred(&v) {
                    return v;
                }
            }
        }
    }

    async fn publish(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
            .await
            .unwrap();
    }

    /// Every message received for `d`.
    async fn collect(&mut self, d: Duration) -> Vec<Msg> {
        let end = tokio::time::Instant::now() + d;
        let mut out = Vec::new();
        while let Ok(Some(m)) = tokio::time::timeout_at(end, self.rx.recv()).await {
            out.push(m);
        }
        out
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn config(port: u16) -> String {
    config_with(port, "gw")
}

fn config_with(port: u16, base: &str) -> String {
    format!(
        r#"
[gateway]
recovery_hold_s = 0
max_charge_current_a = 150
max_discharge_current_a = 150
tick_ms = 20

[[input]]
name = "bms0"
bus = "virtual://in0"
capacity_ah = 100
timeout_s = 1

[[input]]
name = "bms1"
bus = "virtual://in1"
capacity_ah = 100
timeout_s = 1

[[output]]
name = "inv0"
bus = "virtual://out0"
interval_ms = 200
min_delay_ms = 0

[mqtt]
url = "mqtt://127.0.0.1:{port}"
base_topic = "{base}"
interval_s = 0.2
setpoint_ttl_s = 1
setpoint_max_ttl_s = 5
"#
    )
}

fn a(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

#[tokio::test]
async fn telemetry_discovery_set_points_and_broker_restart() {
    let mut broker = Broker::start("can-gateway");
    let mut obs = Observer::new(broker.port(), "obs-1").await;
    let s = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(
        &config(broker.port()),
        &[Some(s), Some(s)],
        &[None],
        Duration::from_millis(100),
    )
    .await;

    // Telemetry: combined, per input, per output.
    let st = obs
        .wait_for("gw/state", "combined limits", |v| {
            a(v, "charge_current_limit_a") == 100.0 && v["mode"] == "normal"
        })
        .await;
    assert_eq!(a(&st, "soc_pct"), 50.0);
    assert_eq!(a(&st, "discharge_current_limit_a"), 120.0);
    assert!(st["setpoints"]["charge_current_limit_a"].is_null());
    obs.wait_for("gw/input/bms1", "input state", |v| {
        v["status"] == "active" && a(&v["state"], "charge_current_limit_a") == 50.0
    })
    .await;
    obs.wait_for("gw/output/inv0", "output state", |v| {
        v["bursts"].as_u64().unwrap_or(0) > 0 && a(&v["state"], "charge_current_limit_a") == 100.0
    })
    .await;
    // Discovery (retained: a new subscriber gets it at once).
    let mut late = Observer::new(broker.port(), "obs-late").await;
    let d = late
        .wait_for(
            "homeassistant/number/gw/charge_current_limit_a/config",
            "discovery",
            |v| v["command_topic"] == "gw/command/charge_current_limit_a",
        )
        .await;
    assert_eq!(d["max"], 150.0);
    assert_eq!(d["availability_topic"], "gw/availability");
    drop(late);

    // A set point lowers the limit and expires after its ttl.
    obs.publish(
        "gw/command",
        r#"{"charge_current_limit_a": 30, "ttl_s": 1}"#,
    )
    .await;
    obs.wait_for("gw/command/result", "accepted", |v| v["accepted"] == true)
        .await;
    let t0 = tokio::time::Instant::now();
    rig.wait_for(0, Duration::from_secs(10), "set point", |s| {
        s.charge_current_limit == Milliamps(30_000)
    })
    .await;
    rig.wait_for(0, Duration::from_secs(10), "set point expired", |s| {
        s.charge_current_limit == Milliamps(100_000)
    })
    .await;
    // It expired (above), and not before its lifetime: a lower bound only, which a slow
    // machine cannot break (the exact expiry is pinned with injected time in ess).
    let lasted = t0.elapsed();
    assert!(
        lasted >= Duration::from_millis(800),
        "set point lasted {lasted:?} (ttl 1 s)"
    );

    // The named form, with the default ttl.
    obs.publish("gw/command/discharge_current_limit_a", "20")
        .await;
    rig.wait_for(0, Duration::from_secs(2), "named set point", |s| {
        s.discharge_current_limit == Milliamps(20_000)
    })
    .await;
    rig.wait_for(0, Duration::from_secs(3), "named set point expired", |s| {
        s.discharge_current_limit == Milliamps(120_000)
    })
    .await;

    // Bad commands are rejected with a reason and change nothing.
    for (topic, payload, code) in [
        (
            "gw/command",
            r#"{"charge_current_limit_a": 151}"#,
            "out_of_range",
        ),
        (
            "gw/command",
            r#"{"charge_current_limit_a": 10, "ttl_s": 60}"#,
            "out_of_range",
        ),
        ("gw/command", "{not json", "bad_json"),
        ("gw/command", r#"{"charge": 10}"#, "unknown_field"),
        ("gw/command/charge_current_limit_a", "-5", "out_of_range"),
        ("gw/command/charge_current_limit_a", "lots", "invalid_value"),
        ("gw/command/max_power_w", "10", "unknown_command"),
    ] {
        obs.publish(topic, payload).await;
        let r = obs
            .wait_for("gw/command/result", code, |v| v["accepted"] == false)
            .await;
        assert_eq!(r["code"], code, "{topic} {payload}: {r}");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let seen = rig.seen(0).state.unwrap();
    assert_eq!(seen.charge_current_limit, Milliamps(100_000));
    assert_eq!(seen.discharge_current_limit, Milliamps(120_000));
    // The next full state: the combined limits, no set point in force.
    let st = obs
        .wait_for("gw/state", "a state", |v| v.get("setpoints").is_some())
        .await;
    assert!(st["setpoints"]["charge_current_limit_a"].is_null(), "{st}");
    assert!(
        st["setpoints"]["discharge_current_limit_a"].is_null(),
        "{st}"
    );
    assert_eq!(a(&st, "charge_current_limit_a"), 100.0, "{st}");
    assert_eq!(a(&st, "discharge_current_limit_a"), 120.0, "{st}");

    // Broker killed and restarted: telemetry resumes (the gateway reconnects with backoff).
    broker.kill();
    drop(obs);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Outputs go on without the broker.
    let before = rig.seen(0).telegrams;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        rig.seen(0).telegrams > before,
        "outputs stopped with the broker"
    );
    broker.spawn();
    let mut obs = Observer::new(broker.port(), "obs-2").await;
    // Only `online` can arrive: the restarted broker has no retained messages. The
    // availability topic carries plain text (not JSON): compare the raw payload.
    let deadline = tokio::time::Instant::now() + WAIT;
    let availability = loop {
        let Ok(Some(m)) = tokio::time::timeout_at(deadline, obs.rx.recv()).await else {
            panic!("no message on gw/availability within {WAIT:?}");
        };
        if m.topic == "gw/availability" {
            break m.payload;
        }
    };
    assert_eq!(
        String::from_utf8_lossy(&availability),
        "online",
        "availability after the restart"
    );
    obs.wait_for("gw/state", "telemetry after restart", |v| {
        a(v, "charge_current_limit_a") == 100.0
    })
    .await;
    rig.stop().await;
}

/// Publish `payload` (up to 1 MiB) from a throw-away client; returns after the PUBACK.
async fn publish_big(port: u16, topic: &str, payload: Vec<u8>, retain: bool) {
    let mut o = MqttOptions::new(format!("big-{topic}"), "127.0.0.1", port);
    o.set_max_packet_size(2 << 20, 2 << 20);
    let (client, mut eventloop) = AsyncClient::new(o, 10);
    client
        .publish(topic, QoS::AtLeastOnce, retain, payload)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, async {
        loop {
            if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.unwrap() {
                return;
            }
        }
    })
    .await
    .expect("no PUBACK");
    let _ = client.disconnect().await;
}

#[tokio::test]
async fn oversize_and_retained_commands_refused_two_gateways_share_a_broker() {
    let broker = Broker::start("can-gateway-big");
    let port = broker.port();
    // Left on the broker before the gateways start: a retained 20 KB message on the command
    // topic (it used to cost the connection twice a second) and a retained, valid set point
    // on a named command topic (it must never be replayed into the gateway).
    publish_big(port, "gw/command", vec![b'{'; 20_000], true).await;
    publish_big(
        port,
        "gw/command/charge_current_limit_a",
        b"10".to_vec(),
        true,
    )
    .await;
    let mut obs = Observer::new(port, "obs-big").await;
    let s = bms(55_200, 50_000, 60_000, 500);
    let one = Rig::start(
        &config_with(port, "gw"),
        &[Some(s), Some(s)],
        &[None],
        Duration::from_millis(100),
    )
    .await;
    // A second gateway on the same broker, same host, another base topic.
    let two = Rig::start(
        &config_with(port, "gw/second"),
        &[Some(s), Some(s)],
        &[None],
        Duration::from_millis(100),
    )
    .await;

    // Both refusals are reported; nothing is applied.
    let mut codes = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while codes.len() < 2 {
        let Ok(Some(m)) = tokio::time::timeout_at(deadline, obs.rx.recv()).await else {
            panic!("results not seen; got {codes:?}");
        };
        if m.topic == "gw/command/result" {
            let v = m.json();
            assert_eq!(v["accepted"], false, "{v}");
            codes.push((
                v["topic"].as_str().unwrap().to_owned(),
                v["code"].as_str().unwrap().to_owned(),
            ));
        }
    }
    codes.sort();
    assert_eq!(
        codes,
        [
            ("gw/command".to_owned(), "too_large".to_owned()),
            (
                "gw/command/charge_current_limit_a".to_owned(),
                "retained".to_owned()
            ),
        ]
    );
    one.wait_for(0, WAIT, "no replayed set point", |s| {
        s.charge_current_limit == Milliamps(100_000)
    })
    .await;
    two.wait_for(0, WAIT, "second gateway", |s| {
        s.charge_current_limit == Milliamps(100_000)
    })
    .await;

    // Both stay connected: no `offline` on either availability topic (with one client id
    // they would take each other over, and the 20 KB message would cycle the first).
    let msgs = obs.collect(Duration::from_millis(1500)).await;
    for base in ["gw", "gw/second"] {
        let t = format!("{base}/availability");
        assert!(
            msgs.iter().all(|m| m.topic != t || m.payload == b"online"),
            "{t} went offline"
        );
    }
    assert!(
        !broker.log().contains("already connected"),
        "a gateway was taken over"
    );

    // Each applies its own later command.
    // (ttl 5 s: the configured default is 1 s, too short for the checks below.)
    obs.publish(
        "gw/command",
        r#"{"charge_current_limit_a": 30, "ttl_s": 5}"#,
    )
    .await;
    obs.publish("gw/second/command/charge_current_limit_a", "40")
        .await;
    one.wait_for(0, WAIT, "set point 30 A", |s| {
        s.charge_current_limit == Milliamps(30_000)
    })
    .await;
    two.wait_for(0, WAIT, "set point 40 A", |s| {
        s.charge_current_limit == Milliamps(40_000)
    })
    .await;

    // `command/clear` validates its payload: `false` clears nothing.
    obs.publish("gw/command/clear", "false").await;
    let r = obs
        .wait_for("gw/command/result", "clear refused", |v| {
            v["topic"] == "gw/command/clear"
        })
        .await;
    assert_eq!(
        (r["accepted"].clone(), r["code"].clone()),
        (false.into(), "invalid_value".into())
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        one.seen(0).state.unwrap().charge_current_limit,
        Milliamps(30_000)
    );
    obs.publish("gw/command/clear", "true").await;
    one.wait_for(0, WAIT, "cleared", |s| {
        s.charge_current_limit == Milliamps(100_000)
    })
    .await;
    // A live oversize command: refused, connection kept, the next one applied.
    publish_big(port, "gw/command", vec![b' '; 5000], false).await;
    let r = obs
        .wait_for("gw/command/result", "too_large", |v| v["accepted"] == false)
        .await;
    assert_eq!(r["code"], "too_large", "{r}");
    obs.publish(
        "gw/command",
        r#"{"discharge_current_limit_a": 25, "ttl_s": 5}"#,
    )
    .await;
    one.wait_for(0, WAIT, "set point after the oversize command", |s| {
        s.discharge_current_limit == Milliamps(25_000)
    })
    .await;
    one.stop().await;
    two.stop().await;
}
