//! The whole app against a real broker and a simulated Soyosource GTN behind a TCP "RS485
//! bridge": a retained meter value is never taken as fresh, a meter that goes silent while
//! the broker stays up and a broker that goes down both end in 0 W, and the stop sends the
//! unit a 0 W frame. Assertions are on order and content; the timeouts only guard failures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::panic,
    clippy::std_instead_of_alloc,
    clippy::too_many_lines
)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use voltwire_testkit::{Broker, free_port};
use zero_feed_in::config::File;

mod common;
use common::{Seen, publisher, seen_until, serve_gtn};

/// Messages seen on the topics a [`subscriber`] subscribed to.
type Inbox = Arc<Mutex<Vec<(String, String)>>>;

fn subscriber(url: &str, id: &str, filter: &str) -> Inbox {
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let mut o = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    let (c, mut ev) = rumqttc::AsyncClient::new(o, 64);
    let inbox: Inbox = Arc::default();
    let seen = Arc::clone(&inbox);
    let filter = filter.to_owned();
    tokio::spawn(async move {
        loop {
            match ev.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    let _ = c.try_subscribe(filter.clone(), rumqttc::QoS::AtLeastOnce);
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let text = String::from_utf8_lossy(&p.payload).into_owned();
                    seen.lock().unwrap().push((p.topic.clone(), text));
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    inbox
}

async fn wait_inbox(inbox: &Inbox, what: &str, pred: impl Fn(&(String, String)) -> bool) -> String {
    let guard = async {
        loop {
            if let Some(m) = inbox.lock().unwrap().iter().find(|m| pred(m)) {
                return m.1.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), guard)
        .await
        .unwrap_or_else(|_| panic!("{what}: not seen"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_silent_and_broker_down_all_end_in_zero_and_stop_sends_zero() {
    let mut broker = Broker::start("zfi-mqtt");
    let url = broker.url();
    let gtn_port = free_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", gtn_port))
        .await
        .unwrap();
    let seen: Seen = Arc::default();
    tokio::spawn(serve_gtn(listener, Arc::clone(&seen)));

    let pubc = publisher(&url, "zfi-test-pub");
    let inbox = subscriber(&url, "zfi-test-listen", "zfi-test/#");
    // An old meter value, retained: it must never count as a reading.
    pubc.publish("house/grid", rumqttc::QoS::AtLeastOnce, true, "700")
        .await
        .unwrap();

    let toml = format!(
        r#"
[control]
meter_timeout_s = 2
battery_timeout_s = 2
device_timeout_s = 5
hold_s = 1
[meter]
kind = "mqtt"
broker = "{url}"
topic = "house/grid"
pointer = ""
[battery]
source = "mqtt"
broker = "{url}"
topic = "bms/state"
cells = 16
charge_voltage_v = 55.2
restart_voltage_v = 53.6
[mqtt]
broker = "{url}"
base = "zfi-test"
command_ttl_s = 300
[[device]]
kind = "soyosource"
port = "tcp://127.0.0.1:{gtn_port}"
max_discharge_w = 900
"#
    );
    let settings = File::parse(&toml, Path::new("test.toml")).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = tokio::spawn(zero_feed_in::app::run(settings, async {
        stop_rx.await.unwrap_or(());
    }));

    // The BMS publishes all along.
    let bms = publisher(&url, "zfi-test-bms");
    let feeding_bms = tokio::spawn(async move {
        loop {
            let _ = bms
                .publish(
                    "bms/state",
                    rumqttc::QoS::AtMostOnce,
                    false,
                    r#"{"voltage_v":52.1,"soc_pct":60,"current_a":0}"#,
                )
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });

    // Only the retained value so far: the unit is held at 0 W (it gets 0 W frames).
    seen_until(&seen, "0 W frames at start", |v| v == [0]).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [0],
        "a retained reading must not switch the unit on"
    );

    // Live readings of 300 W import: the unit delivers ~300 W.
    // The house draws 300 W; the meter shows 300 W minus what the unit delivers.
    let live = |c: rumqttc::AsyncClient| {
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let out = seen.lock().unwrap().last().copied().unwrap_or(0);
                let grid = 300 - out;
                let _ = c
                    .publish(
                        "house/grid",
                        rumqttc::QoS::AtMostOnce,
                        false,
                        grid.to_string(),
                    )
                    .await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    let feeding = live(pubc.clone());
    seen_until(&seen, "300 W demanded", |v| v.last() == Some(&300)).await;

    // The state: snake_case, SI suffixes, battery power negative while discharging.
    let state = wait_inbox(&inbox, "state while discharging 300 W", |(t, p)| {
        t == "zfi-test/state" && p.contains(r#""set_point_w":-300"#)
    })
    .await;
    let v: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(v["mode"], "normal");
    assert_eq!(v["battery_power_w"], 0, "the BMS reports 0 A");
    assert_eq!(v["soc_pct"], 60.0);
    assert_eq!(v["devices"][0]["set_point_w"], -300);
    assert!(v["devices"][0]["age_s"].as_f64().unwrap() < 5.0);

    // A malformed command is rejected, naming the field, and changes nothing.
    pubc.publish(
        "zfi-test/command/max_discharge_w",
        rumqttc::QoS::AtLeastOnce,
        false,
        "lots",
    )
    .await
    .unwrap();
    let result = wait_inbox(&inbox, "rejection", |(t, p)| {
        t == "zfi-test/command/result" && p.contains("max_discharge_w")
    })
    .await;
    assert!(
        result.contains("rejected") || result.contains("false"),
        "{result}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(seen.lock().unwrap().last(), Some(&300), "nothing changed");
    // A valid one acts for its TTL, then expires.
    pubc.publish(
        "zfi-test/command/max_discharge_w",
        rumqttc::QoS::AtLeastOnce,
        false,
        r#"{"value": 100, "ttl_s": 3}"#,
    )
    .await
    .unwrap();
    seen_until(&seen, "capped at 100 W", |v| v.ends_with(&[300, 100])).await;
    seen_until(&seen, "back to 300 W after the TTL", |v| {
        v.ends_with(&[300, 100, 300])
    })
    .await;

    // Silent but connected: the broker stays up, the meter stops publishing.
    feeding.abort();
    seen_until(&seen, "0 W after the meter went silent", |v| {
        v.ends_with(&[300, 0])
    })
    .await;

    // Back, then the broker goes down (meter and BMS lost together).
    let feeding = live(pubc.clone());
    seen_until(&seen, "300 W again", |v| v.ends_with(&[300, 0, 300])).await;
    broker.kill();
    seen_until(&seen, "0 W after the broker went down", |v| {
        v.ends_with(&[300, 0, 300, 0])
    })
    .await;
    broker.restart();
    seen_until(&seen, "300 W after the broker is back", |v| {
        v.ends_with(&[0, 300, 0, 300])
    })
    .await;

    // Stop (the signal path): the unit gets a 0 W frame and the app ends cleanly.
    stop_tx.send(()).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(30), app)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, Ok(()));
    seen_until(&seen, "0 W after stop", |v| v.last() == Some(&0)).await;
    feeding.abort();
    feeding_bms.abort();
}
