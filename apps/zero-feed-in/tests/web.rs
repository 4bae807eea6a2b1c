//! The shared status page over HTTP: the app with `[web]` on a free port, a real broker
//! for the meter and the BMS, and a simulated Soyosource GTN behind a TCP "RS485 bridge".
//! `/api/state` shows the meter, the set points and the latches; a command goes through the
//! MQTT path's validator (a bad one is refused naming the field and changes nothing, one
//! without the token is refused, a good one acts); `/metrics` and `/api/health` answer.
//! Assertions are on order and content; the timeouts only guard failures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::panic,
    clippy::std_instead_of_alloc,
    clippy::too_many_lines
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use voltwire_testkit::{Broker, free_port};
use zero_feed_in::app::Hooks;

mod common;
use common::{Seen, publisher, seen_until, serve_gtn};
use zero_feed_in::config::File;

const TOKEN: &str = "zfi-web-test-token-0123456789";

use voltwire_testkit::http::request as http;

async fn state(addr: SocketAddr) -> Value {
    let (status, body) = http(addr, "GET", "/api/state", None, "").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// Polls `/api/state` until `pred` holds; the last state.
async fn state_until(addr: SocketAddr, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let guard = async {
        loop {
            let s = state(addr).await;
            if pred(&s) {
                return s;
            }
            last = s;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    match tokio::time::timeout(Duration::from_secs(60), guard).await {
        Ok(s) => s,
        Err(elapsed) => panic!("{what}: not reached ({elapsed}); last state {last}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_meter_set_points_and_latches_and_validates_commands() {
    let broker = Broker::start("zfi-web");
    let url = broker.url();
    let gtn_port = free_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", gtn_port))
        .await
        .unwrap();
    let seen: Seen = Arc::default();
    tokio::spawn(serve_gtn(listener, Arc::clone(&seen)));

    let toml = format!(
        r#"
[control]
meter_timeout_s = 5
battery_timeout_s = 5
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
[[device]]
kind = "soyosource"
port = "tcp://127.0.0.1:{gtn_port}"
max_discharge_w = 900
[web]
port = 0
token = "{TOKEN}"
"#
    );
    let settings = File::parse(&toml, Path::new("test.toml")).unwrap();
    assert!(settings.web.is_some());
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let hooks = Hooks {
        web_bound: Some(bound_tx),
        ..Hooks::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = tokio::spawn(zero_feed_in::app::run_hooked(settings, hooks, async {
        stop_rx.await.unwrap_or(());
    }));
    let addr = tokio::time::timeout(Duration::from_secs(30), bound_rx)
        .await
        .unwrap()
        .unwrap();

    // The BMS: 52.1 V until told otherwise.
    let volts = Arc::new(Mutex::new(52.1_f64));
    let bms = publisher(&url, "zfi-web-bms");
    let v = Arc::clone(&volts);
    tokio::spawn(async move {
        loop {
            let payload = format!(
                r#"{{"voltage_v":{},"soc_pct":60,"current_a":0}}"#,
                v.lock().unwrap()
            );
            let _ = bms
                .publish("bms/state", rumqttc::QoS::AtMostOnce, false, payload)
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    // The house draws 300 W; the meter shows that minus what the unit delivers.
    let meter = publisher(&url, "zfi-web-meter");
    let s2 = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let out = s2.lock().unwrap().last().copied().unwrap_or(0);
            let _ = meter
                .publish(
                    "house/grid",
                    rumqttc::QoS::AtMostOnce,
                    false,
                    (300 - out).to_string(),
                )
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });

    // The state: meter, set points (total and per device), no latch.
    let s = state_until(addr, "discharging 300 W", |s| s["set_point_w"] == -300).await;
    assert_eq!(s["mode"], "normal");
    assert!(s["grid_w"].is_i64(), "{s}");
    assert!(s["meter_age_s"].as_f64().unwrap() < 5.0, "{s}");
    assert_eq!(s["devices"][0]["set_point_w"], -300);
    assert_eq!(s["latches"], serde_json::json!([]));
    assert_eq!(s["soc_pct"], 60.0);
    assert_eq!(s["commands"]["max_discharge_w"], Value::Null);
    seen_until(&seen, "the unit at 300 W", |v| v.last() == Some(&300)).await;

    // A bad command: refused naming the field, and nothing changes.
    let (status, body) = http(
        addr,
        "POST",
        "/api/command/max_discharge_w",
        Some(TOKEN),
        "lots",
    )
    .await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.contains("max_discharge_w"), "{body}");
    let (status, body) = http(
        addr,
        "POST",
        "/api/command/max_discharge_w",
        Some(TOKEN),
        r#"{"value": 100, "ttl_s": 0}"#,
    )
    .await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.contains("ttl_s"), "{body}");
    let (status, body) = http(addr, "POST", "/api/command/max_power", Some(TOKEN), "100").await;
    assert_eq!(status, 404, "{body}");
    // A good command without the token: refused.
    let (status, _) = http(addr, "POST", "/api/command/max_discharge_w", None, "100").await;
    assert_eq!(status, 401);
    let (status, _) = http(
        addr,
        "POST",
        "/api/command/max_discharge_w",
        Some("wrong-token-0123456789"),
        "100",
    )
    .await;
    assert_eq!(status, 401);
    // Nothing changed: a later state still has no command and the same set point.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let s = state(addr).await;
    assert_eq!(s["commands"]["max_discharge_w"], Value::Null, "{s}");
    assert_eq!(s["set_point_w"], -300, "{s}");
    assert_eq!(seen.lock().unwrap().last(), Some(&300));

    // A good one acts: answered with the commands in force, then the unit follows.
    let (status, body) = http(
        addr,
        "POST",
        "/api/command/max_discharge_w",
        Some(TOKEN),
        r#"{"value": 100, "ttl_s": 600}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["result"]["max_discharge_w"]["value"], 100, "{reply}");
    seen_until(&seen, "capped at 100 W", |v| v.ends_with(&[300, 100])).await;
    let s = state_until(addr, "state capped", |s| s["set_point_w"] == -100).await;
    assert_eq!(s["commands"]["max_discharge_w"]["value"], 100);

    // The battery falls to 48.0 V (≤ 16 × 3.05 V): the EMPTY latch shows and discharge stops.
    *volts.lock().unwrap() = 48.0;
    let s = state_until(addr, "EMPTY latch", |s| {
        s["latches"].as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    assert_eq!(s["latches"], serde_json::json!(["empty"]), "{s}");
    assert_eq!(s["discharge_allowed"], false);
    seen_until(&seen, "0 W while empty", |v| v.last() == Some(&0)).await;

    // Health and metrics.
    let (status, body) = http(addr, "GET", "/api/health", None, "").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"meter\"") && body.contains("device[0]"),
        "{body}"
    );
    let (status, body) = http(addr, "GET", "/metrics", None, "").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("voltwire_zfi_latch{latch=\"empty\"} 1"),
        "{body}"
    );
    assert!(body.contains("voltwire_zfi_grid_watts"), "{body}");

    stop_tx.send(()).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(30), app)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, Ok(()));
}
