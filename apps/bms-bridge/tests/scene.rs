//! `examples/scenes/bms-bridge.toml` (the demo's installation) served as `voltwire sim
//! scene` serves it — the Daly, both MPPTs and the SmartShunt on ptys, the relays as
//! Tasmota devices on the test broker, the 1-Wire files in a directory — and the whole
//! bridge (`app::run`) configured on those links: it reads the scene's plant, and its relay
//! command switches the scene's load, which the bank's current shows.
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

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use bms_bridge::config::Settings;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use voltwire_sim::scene::{Kind, Scene};
use voltwire_sim::serve::Listen;
use voltwire_testkit::Broker;

/// A failure guard only: every wait ends as soon as its message arrives.
const WAIT: Duration = Duration::from_secs(60);

fn quiet(_: core::fmt::Arguments<'_>) {}

/// Everything on `bb/state` and `stat/#`, in order.
async fn observe(port: u16) -> (AsyncClient, mpsc::UnboundedReceiver<(String, Value)>) {
    let (client, mut el) =
        AsyncClient::new(MqttOptions::new("scene-observer", "127.0.0.1", port), 100);
    client
        .subscribe("bb/state", QoS::AtLeastOnce)
        .await
        .unwrap();
    client.subscribe("stat/#", QoS::AtLeastOnce).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let v = serde_json::from_slice(&p.payload).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(&p.payload).into())
                    });
                    if tx.send((p.topic.clone(), v)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    (client, rx)
}

async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<(String, Value)>,
    topic: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let Ok(Some((t, v))) = tokio::time::timeout_at(deadline, rx.recv()).await else {
            panic!("no message on {topic} with {what} within {WAIT:?}");
        };
        if t == topic && pred(&v) {
            return v;
        }
    }
}

fn config(broker: &str, links: &HashMap<String, String>, w1: &str) -> String {
    format!(
        r#"
[bridge]
tick_ms = 200
state_every_s = 1

[bms]
url = "serial://{daly}?baud=9600"
variant = "rs485"
poll_s = 1

[shunt]
url = "serial://{shunt}?baud=19200"

[[charger]]
url = "serial://{mppt1}?baud=19200"

[[charger]]
url = "serial://{mppt2}?baud=19200"

[onewire]
dir = "{w1}"
poll_s = 1
sensors = [{{ id = "28-00000000cell", role = "cell" }}, {{ id = "28-0000charger", role = "charger" }}]

[relays]
load1 = {{ backend = "tasmota", topic = "load1" }}
load2 = {{ backend = "tasmota", topic = "load2" }}
balancer = {{ backend = "tasmota", topic = "balancer" }}

[rules]
startup_hold_s = 0

[mqtt]
url = "{broker}"
base = "bb"
retained_config_wait_s = 1
"#,
        daly = links["daly"],
        shunt = links["shunt"],
        mppt1 = links["mppt1"],
        mppt2 = links["mppt2"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_bridge_runs_on_the_demo_scene() {
    let broker = Broker::start("bms-bridge-scene");
    let w1 = voltwire_testkit::scratch_dir("bms-bridge-scene-w1");
    let mut scene = Scene::parse(bms_bridge::demo::SCENE).unwrap();
    // The scene's links, on this test's broker and scratch directory.
    for d in &mut scene.devices {
        match &mut d.listen {
            Listen::Mqtt { broker: b, .. } => *b = broker.url(),
            Listen::Dir(dir) => *dir = w1.display().to_string(),
            _ => {}
        }
    }
    let load1 = scene.device_index("load1").unwrap();
    assert_eq!(scene.devices[load1].kind, Kind::Relay);
    let world = scene.world(1.0);
    let links = Rc::new(RefCell::new(HashMap::<String, String>::new()));
    let said = Rc::clone(&links);
    let serving = scene.serve_in(
        world.clone(),
        quiet,
        move |name, link| {
            said.borrow_mut().insert(name.to_owned(), link.to_owned());
            Ok(())
        },
        voltwire_sim::scene::no_external(),
        |_: &str| None::<voltwire_sim::serve::can::NoBus>,
        std::future::pending(),
    );
    let (obs, mut rx) = observe(broker.port()).await;
    let bridge = async {
        while links.borrow().len() < scene.devices.len() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let dir = voltwire_testkit::scratch_dir("bms-bridge-scene");
        let path = dir.join("bms-bridge.toml");
        let text = config(&broker.url(), &links.borrow(), &w1.display().to_string());
        std::fs::write(&path, text).unwrap();
        let settings = Settings::load(&path).unwrap();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let run = tokio::spawn(bms_bridge::app::run(settings, async move {
            let _ = stop_rx.await;
        }));

        // The bridge reads the scene's plant through every link.
        let state = wait_for(&mut rx, "bb/state", "every source fresh", |s| {
            ["bms", "shunt", "charger1", "charger2"]
                .iter()
                .all(|k| s["sources"][k]["fresh"] == true)
                && !s["cell_temp_c"].is_null()
                && !s["charger_temp_c"].is_null()
        })
        .await;
        let (plant_v, plant_soc) = {
            let w = voltwire_sim::world::lock(&world);
            let p = w.plant();
            (
                f64::from(p.bus_voltage().0) / 1000.0,
                f64::from(p.pack(0).unwrap().soc().0) / 10.0,
            )
        };
        let soc = state["soc_pct"].as_f64().unwrap();
        assert!(
            (soc - plant_soc).abs() <= 0.5,
            "{soc} vs {plant_soc}: {state}"
        );
        let v = state["voltage_v"].as_f64().unwrap();
        assert!((v - plant_v).abs() < 0.05, "{v} vs {plant_v}: {state}");
        // 06:00: no sun yet, the standby draw only; the cells' sensor is the pack at 20 °C,
        // the chargers' 5 °C below.
        assert_eq!(state["pv_power_w"].as_f64(), Some(0.0), "{state}");
        let cell_t = state["cell_temp_c"].as_f64().unwrap();
        assert!((cell_t - 20.0).abs() < 1.0, "{state}");
        assert_eq!(state["charger_temp_c"].as_f64(), Some(15.0), "{state}");
        let idle_a = state["current_a"].as_f64().unwrap();
        assert!((-2.0..=0.0).contains(&idle_a), "{state}");
        assert_eq!(state["relays"]["load1"]["on"], false, "SOC 40 %: {state}");

        // Switched by the bridge over MQTT, the scene's relay puts its 500 W on the bank.
        obs.publish("bb/command/load1", QoS::AtLeastOnce, false, "on")
            .await
            .unwrap();
        wait_for(&mut rx, "stat/load1/POWER", "ON", |v| v == "ON").await;
        assert_eq!(voltwire_sim::world::lock(&world).relay(load1), Some(true));
        let loaded = wait_for(&mut rx, "bb/state", "the load on the bank", |s| {
            s["relays"]["load1"]["on"] == true && s["current_a"].as_f64().is_some_and(|a| a < -15.0)
        })
        .await;
        let amps = loaded["current_a"].as_f64().unwrap();
        let expect = -(500.0 + 20.0) / plant_v;
        assert!(
            (amps - expect).abs() < 1.5,
            "{amps} A vs {expect} A: {loaded}"
        );
        let _ = stop_tx.send(());
        run.await.unwrap().unwrap();
    };
    tokio::select! {
        r = serving => panic!("the scene ended: {r:?}"),
        () = bridge => {}
    }
}
