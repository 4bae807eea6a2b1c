//! `voltwire sim scene` with devices on MQTT, run as a user runs it against a broker:
//! the grid meter publishes what the scene's plant does (and follows its script), and a
//! relay answering Tasmota's topics switches its load on the bank, seen by the bank's own
//! coulomb meter; a bad command changes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::float_cmp,
    reason = "test code (whole watts: exact)"
)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use voltwire_testkit::Broker;

mod sim_common;

/// A running scene, killed on drop.
struct SceneRun {
    child: Child,
    links: HashMap<String, String>,
}

impl Drop for SceneRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scene(tag: &str, text: &str, devices: usize) -> SceneRun {
    let dir = voltwire_testkit::scratch_dir(tag);
    let path = dir.join("scene.toml");
    std::fs::write(&path, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltwire"))
        .args(["sim", "scene"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut links = HashMap::new();
    for _ in 0..devices {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        links.insert(
            v["name"].as_str().unwrap().to_owned(),
            v["listening"].as_str().unwrap().to_owned(),
        );
    }
    SceneRun { child, links }
}

/// Every message on the filters, from an independent client, kept in order.
struct Watcher {
    client: rumqttc::Client,
    rx: std::sync::mpsc::Receiver<(String, Vec<u8>)>,
    seen: Vec<(String, Vec<u8>)>,
}

impl Watcher {
    fn start(port: u16, filters: &[&str]) -> Self {
        let mut o = rumqttc::MqttOptions::new(
            format!("watch-scene-{}", std::process::id()),
            "127.0.0.1",
            port,
        );
        o.set_keep_alive(Duration::from_secs(5));
        let (client, mut conn) = rumqttc::Client::new(o, 64);
        for f in filters {
            client.subscribe(*f, rumqttc::QoS::AtLeastOnce).unwrap();
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let (subscribed, acks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for ev in conn.iter() {
                match ev {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                            break;
                        }
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                        let _ = subscribed.send(());
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        // The relay announces its state once, not retained, when it connects: the watcher
        // must be subscribed before the scene starts or that announcement can be missed on a
        // loaded machine. The bound only catches a broker that never answers.
        for f in filters {
            acks.recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no SUBACK for {f}"));
        }
        Self {
            client,
            rx,
            seen: Vec::new(),
        }
    }

    fn mark(&self) -> usize {
        self.seen.len()
    }

    /// The index of the first message at or after `from` on `topic` for which `pred` holds.
    fn wait_for(&mut self, from: usize, topic: &str, pred: impl Fn(&[u8]) -> bool) -> usize {
        let end = Instant::now() + Duration::from_secs(20);
        let mut i = from;
        loop {
            while let Some((t, p)) = self.seen.get(i) {
                if t == topic && pred(p) {
                    return i;
                }
                i += 1;
            }
            let left = end.saturating_duration_since(Instant::now());
            let m = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("nothing matching on {topic}: {:?}", self.texts()));
            self.seen.push(m);
        }
    }

    fn texts(&self) -> Vec<(String, String)> {
        self.seen
            .iter()
            .map(|(t, p)| (t.clone(), String::from_utf8_lossy(p).into_owned()))
            .collect()
    }
}

fn power_w(p: &[u8]) -> Option<f64> {
    serde_json::from_slice::<Value>(p).ok()?["power_w"].as_f64()
}

/// The bank's power as its coulomb meter reads it (W, charging > 0).
fn bank_w(addr: &str) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(async {
        use tokio_modbus::prelude::*;
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut ctx = tokio_modbus::client::rtu::attach_slave(stream, Slave(1));
        let regs = tokio::time::timeout(Duration::from_secs(10), ctx.read_input_registers(0, 12))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        voltwire_modbus::coulomb_meter::Status::from_registers(&regs).unwrap()
    });
    f64::from(s.voltage.0) * f64::from(s.current.0) / 1e6
}

#[test]
fn the_meter_publishes_the_plant_and_a_relay_switches_its_load() {
    let b = Broker::start("scene-mqtt");
    let url = b.url();
    let port = b.port();
    let mut w = Watcher::start(port, &["grid1/state", "stat/load1/#"]);
    let text = format!(
        r#"
[flows]
load_w = 1000
pv_w = 300

[[pack]]

[[device]]
name = "grid"
kind = "meter"
listen = "http://127.0.0.1:0"
mqtt = "{url}"
topic = "grid1"
interval_ms = 100

[[device]]
name = "load1"
kind = "relay"
listen = "mqtt://127.0.0.1:{port}/load1"
load_w = 960

[[device]]
name = "bank"
kind = "coulombmeter"
listen = "tcp://127.0.0.1:0"

[[event]]
at = 3
action = "load"
watts = 2500
"#
    );
    let s = scene("scene-mqtt", &text, 3);
    assert_eq!(s.links["load1"], format!("mqtt://127.0.0.1:{port}/load1"));

    // The meter's MQTT content follows the plant: load − PV, then the scripted step.
    let before = w.wait_for(0, "grid1/state", |p| power_w(p) == Some(700.0));
    let after = w.wait_for(before, "grid1/state", |p| power_w(p) == Some(2200.0));
    assert!(before < after);
    let between: Vec<f64> = w.seen[before..=after]
        .iter()
        .filter(|(t, _)| t == "grid1/state")
        .filter_map(|(_, p)| power_w(p))
        .collect();
    assert!(
        between.iter().all(|p| *p == 700.0 || *p == 2200.0),
        "nothing else in between: {between:?}"
    );

    // The relay announces itself off; the bank carries nothing.
    w.wait_for(0, "stat/load1/POWER", |p| p == b"OFF");
    assert!(bank_w(&s.links["bank"]).abs() < 5.0);
    let from = w.mark();
    w.client
        .publish("cmnd/load1/POWER", rumqttc::QoS::AtLeastOnce, false, "ON")
        .unwrap();
    let on = w.wait_for(from, "stat/load1/POWER", |p| p == b"ON");
    w.wait_for(on, "stat/load1/RESULT", |p| p == br#"{"POWER":"ON"}"#);
    let bank = bank_w(&s.links["bank"]);
    assert!(
        (bank + 960.0).abs() < 15.0,
        "the bank feeds the load: {bank} W"
    );

    // A word Tasmota does not know: answered, nothing switched.
    let from = w.mark();
    w.client
        .publish(
            "cmnd/load1/POWER",
            rumqttc::QoS::AtLeastOnce,
            false,
            "maybe",
        )
        .unwrap();
    w.wait_for(from, "stat/load1/RESULT", |p| {
        p == br#"{"Command":"Unknown"}"#
    });
    assert!((bank_w(&s.links["bank"]) + 960.0).abs() < 15.0);

    let from = w.mark();
    w.client
        .publish("cmnd/load1/POWER", rumqttc::QoS::AtLeastOnce, false, "off")
        .unwrap();
    w.wait_for(from, "stat/load1/POWER", |p| p == b"OFF");
    assert!(bank_w(&s.links["bank"]).abs() < 5.0);
}

/// The bms-bridge example as a user serves it: one line per device in file order (ptys for
/// the serial devices, the relays on the broker, the 1-Wire directory), the 1-Wire files
/// there, and a relay that answers.
#[test]
fn the_bms_bridge_example_serves_its_installation() {
    let b = Broker::start("scene-bms-bridge");
    let port = b.port();
    let mut w = Watcher::start(port, &["stat/load2/#"]);
    let w1 = voltwire_testkit::scratch_dir("scene-bms-bridge-w1");
    let file = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/scenes/bms-bridge.toml");
    let text = std::fs::read_to_string(file)
        .unwrap()
        .replace(
            "mqtt://127.0.0.1:1883/",
            &format!("mqtt://127.0.0.1:{port}/"),
        )
        .replace(
            "dir:/tmp/voltwire-bms-bridge-w1",
            &format!("dir:{}", w1.display()),
        );
    let s = scene("scene-bms-bridge", &text, 8);
    for name in ["daly", "mppt1", "mppt2", "shunt"] {
        assert!(
            s.links[name].starts_with("/dev/"),
            "{name}: {}",
            s.links[name]
        );
    }
    assert_eq!(s.links["load2"], format!("mqtt://127.0.0.1:{port}/load2"));
    assert_eq!(s.links["w1"], w1.display().to_string());
    for id in ["28-00000000cell", "28-0000charger"] {
        let t = std::fs::read_to_string(w1.join(id).join("temperature")).unwrap();
        let milli: i64 = t.trim().parse().unwrap();
        assert!((10_000..=30_000).contains(&milli), "{id}: {t:?}");
    }
    w.wait_for(0, "stat/load2/POWER", |p| p == b"OFF");
    let from = w.mark();
    w.client
        .publish("cmnd/load2/POWER", rumqttc::QoS::AtLeastOnce, false, "")
        .unwrap();
    w.wait_for(from, "stat/load2/RESULT", |p| p == br#"{"POWER":"OFF"}"#);
}
