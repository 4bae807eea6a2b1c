//! The MQTT client against a broker, one broker per test on a free loopback port, observed
//! by an independent rumqttc client: retained state, last will, clean shutdown, reconnect
//! after the broker is killed and restarted, validated commands, Home Assistant discovery,
//! and TLS (`mqtts://` with a CA generated in Rust).
//!
//! Every test body runs once per broker of `BrokerKind::available()` (voltwire-testkit): the
//! embedded pure-Rust broker always, a real Mosquitto too when it is installed;
//! `VOLTWIRE_TEST_BROKER=embedded|mosquitto` runs one only (CI forces `mosquitto` once).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::missing_panics_doc,
    reason = "test code"
)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use voltwire_runtime::link::Backoff;
use voltwire_runtime::mqtt::{
    self, BrokerUrl, Device, Discovery, Entity, LinkStatus, MqttClient, MqttConfig, Rejection,
    StateClass, Topics,
};
use voltwire_testkit::{Broker, BrokerKind};
#[cfg(feature = "tls")]
use voltwire_testkit::{TestCa, scratch_dir};

const WAIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------- broker

/// The broker's URL as a [`BrokerUrl`].
fn url(b: &Broker) -> BrokerUrl {
    BrokerUrl::parse(&b.url()).unwrap()
}

// ---------------------------------------------------------------- observer

#[derive(Debug, Clone)]
struct Msg {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
}

impl Msg {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.payload).unwrap()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap()
    }
}

/// An independent client (plain rumqttc) that subscribes to `filters` and records messages.
struct Observer {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Msg>,
    backlog: Vec<Msg>,
    task: tokio::task::JoinHandle<()>,
}

impl Observer {
    async fn new(port: u16, filters: &[&str]) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let id = format!("observer-{}", N.fetch_add(1, Ordering::SeqCst));
        let (client, mut eventloop) =
            AsyncClient::new(MqttOptions::new(id, "127.0.0.1", port), 100);
        let (tx, rx) = mpsc::unbounded_channel();
        let (suback_tx, mut suback_rx) = mpsc::unbounded_channel();
        for f in filters {
            client.subscribe(*f, QoS::AtLeastOnce).await.unwrap();
        }
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send(Msg {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                        });
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = suback_tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        for _ in filters {
            tokio::time::timeout(WAIT, suback_rx.recv())
                .await
                .expect("no SUBACK")
                .unwrap();
        }
        Self {
            client,
            rx,
            backlog: Vec::new(),
            task,
        }
    }

    /// Waits for the first message on `topic` that satisfies `pred` (earlier messages that
    /// did not match stay queued for later calls).
    async fn wait_for(&mut self, topic: &str, pred: impl Fn(&Msg) -> bool) -> Msg {
        if let Some(i) = self
            .backlog
            .iter()
            .position(|m| m.topic == topic && pred(m))
        {
            return self.backlog.remove(i);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out waiting for a message on {topic}; got {:?}",
                        self.backlog
                    )
                })
                .unwrap();
            if msg.topic == topic && pred(&msg) {
                return msg;
            }
            self.backlog.push(msg);
        }
    }

    async fn publish(&self, topic: &str, payload: &str, retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.as_bytes().to_vec())
            .await
            .unwrap();
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------- client under test

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init();
}

#[derive(Debug, Clone, PartialEq)]
enum Cmd {
    MaxCharge(f64),
    Charge(bool),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCmd {
    max_charge_a: f64,
}

fn validator(name: &str, payload: &[u8]) -> Result<Cmd, Rejection> {
    match name {
        "" => {
            let c: JsonCmd = mqtt::parse_json(payload)?;
            Ok(Cmd::MaxCharge(mqtt::check_range(
                "max_charge_a",
                c.max_charge_a,
                0.0,
                100.0,
            )?))
        }
        "max_charge_current" => Ok(Cmd::MaxCharge(mqtt::parse_number(
            name, payload, 0.0, 100.0,
        )?)),
        "charge" => Ok(Cmd::Charge(mqtt::parse_switch(name, payload)?)),
        other => Err(Rejection::unknown_command(other)),
    }
}

fn config(url: BrokerUrl, base: &str) -> MqttConfig {
    let mut c = MqttConfig::new(
        url,
        &format!("vw-{}", base.replace('/', "-")),
        Topics::new(base).unwrap(),
    );
    c.backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(400), 0, 1);
    c
}

async fn wait_status(client: &MqttClient, pred: impl Fn(&LinkStatus) -> bool) -> LinkStatus {
    let mut rx = client.handle().status();
    let s = tokio::time::timeout(WAIT, rx.wait_for(|s| pred(s)))
        .await
        .expect("status timeout")
        .unwrap();
    *s
}

// ---------------------------------------------------------------- tests

async fn retained_state_and_availability_seen_by_second_client_on(kind: BrokerKind) {
    init_logs();
    let broker = Broker::start_on(kind, "state");
    let (client, _cmds) = MqttClient::start(config(url(&broker), "vw/state"), validator).unwrap();
    wait_status(&client, |s| s.connected).await;
    let h = client.handle();
    h.publish_state(&json!({"soc_pct": 81, "pack_voltage_v": 53.2}))
        .unwrap();

    // A live subscriber sees the update; a client that subscribes afterwards gets it retained.
    let mut live = Observer::new(broker.port(), &["vw/state/state"]).await;
    h.publish_state(&json!({"soc_pct": 82})).unwrap();
    let m = live
        .wait_for("vw/state/state", |m| m.json()["soc_pct"] == 82)
        .await;
    assert!(!m.retain, "a live delivery has no retain flag");

    let mut late = Observer::new(broker.port(), &["vw/state/#"]).await;
    let m = late.wait_for("vw/state/state", |_| true).await;
    assert!(m.retain);
    assert_eq!(m.json(), json!({"soc_pct": 82}));
    let a = late.wait_for("vw/state/availability", |_| true).await;
    assert!(a.retain);
    assert_eq!(a.text(), "online");
    client.shutdown(Duration::from_secs(2)).await;
}

async fn last_will_published_when_client_dies_on(kind: BrokerKind) {
    init_logs();
    let broker = Broker::start_on(kind, "will");
    let mut obs = Observer::new(broker.port(), &["vw/will/availability"]).await;
    let (client, _cmds) = MqttClient::start(config(url(&broker), "vw/will"), validator).unwrap();
    obs.wait_for("vw/will/availability", |m| m.text() == "online")
        .await;
    client.abort(); // the socket closes without DISCONNECT, as in a crash
    obs.wait_for("vw/will/availability", |m| m.text() == "offline")
        .await;
    // and it is retained for clients that come later
    let mut late = Observer::new(broker.port(), &["vw/will/availability"]).await;
    let m = late.wait_for("vw/will/availability", |_| true).await;
    assert!(m.retain);
    assert_eq!(m.text(), "offline");
    // the broker saw the socket close without a DISCONNECT
    let log = broker.log();
    assert!(
        log.contains("Client vw-vw-will closed its connection"),
        "{log}"
    );
    assert!(
        !log.contains("Received DISCONNECT from vw-vw-will"),
        "{log}"
    );
}

async fn clean_shutdown_publishes_offline_on(kind: BrokerKind) {
    init_logs();
    let broker = Broker::start_on(kind, "shutdown");
    let mut obs = Observer::new(broker.port(), &["vw/sd/availability"]).await;
    let (client, _cmds) = MqttClient::start(config(url(&broker), "vw/sd"), validator).unwrap();
    obs.wait_for("vw/sd/availability", |m| m.text() == "online")
        .await;
    client.shutdown(Duration::from_secs(2)).await;
    obs.wait_for("vw/sd/availability", |m| m.text() == "offline")
        .await;
    // a clean DISCONNECT discards the will: the log shows a disconnect, not a socket error
    let deadline = Instant::now() + WAIT;
    while !broker.log().contains("Client vw-vw-sd disconnected.\n") {
        assert!(Instant::now() < deadline, "{}", broker.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = broker.log();
    assert!(log.contains("Received DISCONNECT from vw-vw-sd"), "{log}");
    assert!(!log.contains("vw-vw-sd disconnected due to"), "{log}");
}

async fn reconnects_after_broker_restart_and_resumes_on(kind: BrokerKind) {
    init_logs();
    let mut broker = Broker::start_on(kind, "restart");
    let (client, mut cmds) = MqttClient::start(config(url(&broker), "vw/rc"), validator).unwrap();
    let h = client.handle();
    wait_status(&client, |s| s.connected).await;
    let disc = Discovery::new("vw_rc", Device::new("vw_rc", "RC"), h.topics().clone()).unwrap();
    h.publish_discovery(
        &disc
            .config(&Entity::sensor("soc", "SOC").unit("%"))
            .unwrap(),
    )
    .unwrap();
    h.publish_state(&json!({"n": 1})).unwrap();

    broker.kill();
    let s = wait_status(&client, |s| !s.connected && s.failures >= 2).await;
    assert_eq!(s.connects, 1);
    // published while the broker is away: kept and sent on reconnect
    h.publish_state(&json!({"n": 2})).unwrap();

    broker.restart(); // same port, empty broker (no persistence)
    let s = wait_status(&client, |s| s.connected && s.connects >= 2).await;
    assert_eq!(s.failures, 0);

    let mut obs = Observer::new(
        broker.port(),
        &["vw/rc/#", "homeassistant/sensor/vw_rc/soc/config"],
    )
    .await;
    // availability, the last state and discovery were re-announced to the new broker
    assert_eq!(
        obs.wait_for("vw/rc/availability", |_| true).await.text(),
        "online"
    );
    assert_eq!(
        obs.wait_for("vw/rc/state", |_| true).await.json(),
        json!({"n": 2})
    );
    let d = obs
        .wait_for("homeassistant/sensor/vw_rc/soc/config", |_| true)
        .await;
    // (retained, or live if it was republished after this subscription)
    assert_eq!(d.json()["unique_id"], "vw_rc_soc");
    // state publishing resumes
    h.publish_state(&json!({"n": 3})).unwrap();
    obs.wait_for("vw/rc/state", |m| m.json()["n"] == 3).await;
    // and the command subscription was renewed
    obs.publish("vw/rc/command/charge", "ON", false).await;
    let c = tokio::time::timeout(WAIT, cmds.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c, Cmd::Charge(true));
    client.shutdown(Duration::from_secs(2)).await;
}

async fn bad_commands_rejected_good_ones_delivered_on(kind: BrokerKind) {
    init_logs();
    let broker = Broker::start_on(kind, "cmd");
    let mut obs = Observer::new(broker.port(), &["vw/cmd/command/result", "vw/cmd/command"]).await;
    // a retained command left on the broker must not act when we (re)subscribe
    obs.publish("vw/cmd/command", r#"{"max_charge_a": 1}"#, true)
        .await;
    obs.wait_for("vw/cmd/command", |_| true).await; // the broker has stored it
    let (client, mut cmds) = MqttClient::start(config(url(&broker), "vw/cmd"), validator).unwrap();
    let r = obs.wait_for("vw/cmd/command/result", |_| true).await.json();
    assert_eq!(
        (r["accepted"].clone(), r["code"].clone()),
        (json!(false), json!("retained"))
    );
    obs.publish("vw/cmd/command", "", true).await; // clear it: arrives as an empty command
    let r = obs.wait_for("vw/cmd/command/result", |_| true).await.json();
    assert_eq!(r["code"], "empty");

    let bad = [
        ("vw/cmd/command", "{not json", "bad_json"),
        (
            "vw/cmd/command",
            r#"{"max_charge_a": 5, "volts": 1}"#,
            "unknown_field",
        ),
        ("vw/cmd/command", r#"{"max_charge_a": 500}"#, "out_of_range"),
        (
            "vw/cmd/command",
            r#"{"max_charge_a": "5"}"#,
            "invalid_value",
        ),
        ("vw/cmd/command/charge", "MAYBE", "invalid_value"),
        ("vw/cmd/command/max_charge_current", "-1", "out_of_range"),
        ("vw/cmd/command/reboot", "1", "unknown_command"),
    ];
    for (topic, payload, code) in bad {
        obs.publish(topic, payload, false).await;
        let r = obs.wait_for("vw/cmd/command/result", |_| true).await.json();
        assert_eq!(r["topic"], topic);
        assert_eq!(r["accepted"], false, "{payload}");
        assert_eq!(r["code"], code, "{payload}: {r}");
        assert!(!r["reason"].as_str().unwrap().is_empty());
    }
    assert!(cmds.try_recv().is_err(), "a rejected command was delivered");

    obs.publish("vw/cmd/command", r#"{"max_charge_a": 42.5}"#, false)
        .await;
    let r = obs.wait_for("vw/cmd/command/result", |_| true).await.json();
    assert_eq!(r, json!({"topic": "vw/cmd/command", "accepted": true}));
    obs.publish("vw/cmd/command/charge", "OFF", false).await;
    let got = [
        tokio::time::timeout(WAIT, cmds.recv())
            .await
            .unwrap()
            .unwrap(),
        tokio::time::timeout(WAIT, cmds.recv())
            .await
            .unwrap()
            .unwrap(),
    ];
    assert_eq!(got, [Cmd::MaxCharge(42.5), Cmd::Charge(false)]);
    assert!(cmds.try_recv().is_err());
    client.shutdown(Duration::from_secs(2)).await;
}

async fn discovery_configs_are_well_formed_and_retained_on(kind: BrokerKind) {
    init_logs();
    let broker = Broker::start_on(kind, "disc");
    let (client, _cmds) = MqttClient::start(config(url(&broker), "vw/bms1"), validator).unwrap();
    wait_status(&client, |s| s.connected).await;
    let h = client.handle();
    let mut dev = Device::new("voltwire_bms1", "Battery 1");
    dev.manufacturer = Some("Daly".into());
    dev.model = Some("Smart BMS".into());
    let disc = Discovery::new("voltwire_bms1", dev, h.topics().clone()).unwrap();
    let entities = [
        Entity::sensor("pack_voltage", "Pack voltage")
            .device_class("voltage")
            .unit("V")
            .state_class(StateClass::Measurement)
            .value_template("{{ value_json.pack_voltage_v }}"),
        Entity::binary_sensor("charging", "Charging")
            .value_template("{{ 'ON' if value_json.current_a > 0 else 'OFF' }}"),
        Entity::switch("charge", "Charge enable")
            .value_template("{{ 'ON' if value_json.charge else 'OFF' }}"),
        Entity::number("max_charge_current", "Max charge current", 0.0, 100.0, 0.5).unit("A"),
    ];
    let mut live = Observer::new(broker.port(), &["homeassistant/#"]).await;
    for e in &entities {
        h.publish_discovery(&disc.config(e).unwrap()).unwrap();
        live.wait_for(&disc.topic(e), |_| true).await; // the broker has it
    }
    // a client that subscribes later (Home Assistant after a restart) gets them retained
    let mut obs = Observer::new(broker.port(), &["homeassistant/#"]).await;
    let expect = [
        (
            "homeassistant/sensor/voltwire_bms1/pack_voltage/config",
            None,
        ),
        (
            "homeassistant/binary_sensor/voltwire_bms1/charging/config",
            None,
        ),
        (
            "homeassistant/switch/voltwire_bms1/charge/config",
            Some("vw/bms1/command/charge"),
        ),
        (
            "homeassistant/number/voltwire_bms1/max_charge_current/config",
            Some("vw/bms1/command/max_charge_current"),
        ),
    ];
    for (topic, command_topic) in expect {
        let m = obs.wait_for(topic, |_| true).await;
        assert!(m.retain, "{topic}");
        let v = m.json();
        assert_eq!(v["state_topic"], "vw/bms1/state");
        assert_eq!(v["availability_topic"], "vw/bms1/availability");
        assert_eq!(v["device"]["identifiers"], json!(["voltwire_bms1"]));
        assert!(
            v["unique_id"]
                .as_str()
                .unwrap()
                .starts_with("voltwire_bms1_")
        );
        assert_eq!(
            v.get("command_topic").and_then(Value::as_str),
            command_topic
        );
        if topic.contains("/sensor/") {
            assert_eq!(
                (
                    &v["device_class"],
                    &v["unit_of_measurement"],
                    &v["state_class"]
                ),
                (&json!("voltage"), &json!("V"), &json!("measurement"))
            );
        }
        if topic.contains("/number/") {
            assert_eq!(
                (&v["min"], &v["max"], &v["step"]),
                (&json!(0.0), &json!(100.0), &json!(0.5))
            );
        }
    }
    client.shutdown(Duration::from_secs(2)).await;
}

// ---------------------------------------------------------------- TLS

#[cfg(feature = "tls")]
async fn mqtts_with_own_ca_on(kind: BrokerKind) {
    init_logs();
    // A CA and a server certificate for `localhost` / 127.0.0.1, made in Rust (rcgen).
    let ca = TestCa::new("voltwire test CA");
    let certs = scratch_dir("certs");
    ca.write_pem(&certs.join("ca.pem"));
    let broker = Broker::start_tls_on(kind, "tls", &ca.server_cert(&["localhost", "127.0.0.1"]));
    let tls_port = broker.tls_port().unwrap();
    let mut obs = Observer::new(broker.port(), &["vw/tls/state"]).await;

    let url = BrokerUrl::parse(&format!(
        "mqtts://localhost:{tls_port}?ca={}/ca.pem",
        certs.display()
    ))
    .unwrap();
    let (client, _cmds) = MqttClient::start(config(url, "vw/tls"), validator).unwrap();
    wait_status(&client, |s| s.connected).await;
    client
        .handle()
        .publish_state(&json!({"tls": true}))
        .unwrap();
    assert_eq!(
        obs.wait_for("vw/tls/state", |_| true).await.json(),
        json!({"tls": true})
    );
    client.shutdown(Duration::from_secs(2)).await;

    // a client that trusts another CA never connects
    let other = scratch_dir("othercerts");
    TestCa::new("other CA").write_pem(&other.join("ca.pem"));
    let url = BrokerUrl::parse(&format!(
        "mqtts://localhost:{tls_port}?ca={}/ca.pem",
        other.display()
    ))
    .unwrap();
    let (client, _cmds) = MqttClient::start(config(url, "vw/tls2"), validator).unwrap();
    let s = wait_status(&client, |s| s.failures >= 2).await;
    assert_eq!(s.connects, 0);
    client.abort();
    let _ = std::fs::remove_dir_all(&certs);
    let _ = std::fs::remove_dir_all(&other);
}

/// Publish `payload` (of any size up to 1 MiB) from a throw-away client and wait for the
/// broker's PUBACK.
async fn publish_big(port: u16, topic: &str, payload: Vec<u8>, retain: bool) {
    static N: AtomicU32 = AtomicU32::new(0);
    let mut o = MqttOptions::new(
        format!("big-{}", N.fetch_add(1, Ordering::SeqCst)),
        "127.0.0.1",
        port,
    );
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
    .expect("no PUBACK for the big message");
    let _ = client.disconnect().await;
}

async fn oversize_and_retained_commands_are_refused_and_the_connection_kept_on(kind: BrokerKind) {
    init_logs();
    let broker = Broker::start_on(kind, "big");
    let mut obs = Observer::new(broker.port(), &["vw/big/command/result"]).await;
    // A retained 20 KB message on the command topic before the client starts: with the old
    // 10 KiB packet limit this dropped the connection on every (re)subscribe.
    publish_big(broker.port(), "vw/big/command", vec![b'x'; 20_000], true).await;
    // A retained, valid command on a named sub-topic.
    publish_big(broker.port(), "vw/big/command/charge", b"ON".to_vec(), true).await;
    let (client, mut cmds) = MqttClient::start(config(url(&broker), "vw/big"), validator).unwrap();
    let mut codes = Vec::new();
    for _ in 0..2 {
        let r = obs.wait_for("vw/big/command/result", |_| true).await.json();
        assert_eq!(r["accepted"], false, "{r}");
        codes.push((
            r["topic"].as_str().unwrap().to_owned(),
            r["code"].as_str().unwrap().to_owned(),
        ));
    }
    codes.sort();
    assert_eq!(
        codes,
        [
            ("vw/big/command".to_owned(), "too_large".to_owned()),
            ("vw/big/command/charge".to_owned(), "retained".to_owned()),
        ]
    );
    // A live oversize command: refused with a result, connection kept.
    publish_big(broker.port(), "vw/big/command", vec![b' '; 5000], false).await;
    let r = obs.wait_for("vw/big/command/result", |_| true).await.json();
    assert_eq!(r["code"], "too_large", "{r}");
    // At the limit is not too large (it reaches the validator).
    publish_big(
        broker.port(),
        "vw/big/command/max_charge_current",
        vec![b' '; mqtt::MAX_COMMAND_SIZE],
        false,
    )
    .await;
    let r = obs.wait_for("vw/big/command/result", |_| true).await.json();
    assert_eq!(r["code"], "invalid_value", "{r}");
    // A later valid command is delivered on the first connection.
    obs.publish("vw/big/command/max_charge_current", "12", false)
        .await;
    let got = tokio::time::timeout(WAIT, cmds.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, Cmd::MaxCharge(12.0));
    let st = *client.handle().status().borrow();
    assert!(
        st.connected && st.connects == 1 && st.failures == 0,
        "{st:?}"
    );
    assert!(cmds.try_recv().is_err(), "a refused command was delivered");
    client.shutdown(Duration::from_secs(2)).await;
}

async fn default_client_ids_let_two_instances_share_a_broker_on(kind: BrokerKind) {
    init_logs();
    let broker = Broker::start_on(kind, "ids");
    let start = |base: &str| {
        let topics = Topics::new(base).unwrap();
        let mut c = MqttConfig::new(
            url(&broker),
            &mqtt::default_client_id("test-app", &topics),
            topics,
        );
        c.backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(400), 0, 1);
        MqttClient::start(c, validator).unwrap()
    };
    let (a, mut a_cmds) = start("vw/site/a");
    let (b, mut b_cmds) = start("vw/site/b");
    wait_status(&a, |s| s.connected).await;
    wait_status(&b, |s| s.connected).await;
    let obs = Observer::new(broker.port(), &["vw/site/+/command/result"]).await;
    // Long enough for a takeover fight (each reconnecting within 50..400 ms) to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    obs.publish("vw/site/a/command/max_charge_current", "1", false)
        .await;
    obs.publish("vw/site/b/command/max_charge_current", "2", false)
        .await;
    let got_a = tokio::time::timeout(WAIT, a_cmds.recv()).await.unwrap();
    let got_b = tokio::time::timeout(WAIT, b_cmds.recv()).await.unwrap();
    assert_eq!(
        (got_a, got_b),
        (Some(Cmd::MaxCharge(1.0)), Some(Cmd::MaxCharge(2.0)))
    );
    for c in [&a, &b] {
        let st = *c.handle().status().borrow();
        assert!(st.connected && st.connects == 1, "{st:?}");
    }
    assert!(
        !broker.log().contains("already connected"),
        "a client was taken over:\n{}",
        broker.log()
    );
    a.shutdown(Duration::from_secs(2)).await;
    b.shutdown(Duration::from_secs(2)).await;
}

// ---------------------------------------------------------------- tests, once per broker

/// One `#[tokio::test]` per body, running it against every available broker in turn.
macro_rules! per_broker {
    ($($name:ident => $body:ident,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for kind in BrokerKind::available() {
                eprintln!("--- {} against the {kind} broker", stringify!($name));
                $body(kind).await;
            }
        }
    )*};
}

per_broker! {
    retained_state_and_availability_seen_by_second_client => retained_state_and_availability_seen_by_second_client_on,
    last_will_published_when_client_dies => last_will_published_when_client_dies_on,
    clean_shutdown_publishes_offline => clean_shutdown_publishes_offline_on,
    reconnects_after_broker_restart_and_resumes => reconnects_after_broker_restart_and_resumes_on,
    bad_commands_rejected_good_ones_delivered => bad_commands_rejected_good_ones_delivered_on,
    discovery_configs_are_well_formed_and_retained => discovery_configs_are_well_formed_and_retained_on,
    oversize_and_retained_commands_are_refused_and_the_connection_kept => oversize_and_retained_commands_are_refused_and_the_connection_kept_on,
    default_client_ids_let_two_instances_share_a_broker => default_client_ids_let_two_instances_share_a_broker_on,
}

#[cfg(feature = "tls")]
per_broker! {
    mqtts_with_own_ca => mqtts_with_own_ca_on,
}
