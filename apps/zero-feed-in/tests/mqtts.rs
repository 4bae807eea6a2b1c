//! The meter subscription over TLS: `meter.broker = "mqtts://…?ca=…"` against a broker with
//! a certificate from a CA made in the test (the embedded broker, then Mosquitto when it is
//! installed), the readings published in plain MQTT on the same broker; the app regulates a
//! simulated Soyosource on them. A CA file that is missing or holds no certificate is
//! refused by the configuration, naming `meter.broker`. Assertions are on order and content;
//! the timeouts only guard failures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::panic
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use voltwire_testkit::{Broker, BrokerKind, TestCa, free_port, scratch_dir};
use zero_feed_in::config::File;

mod common;
use common::{Seen, publisher, seen_until, serve_gtn};

fn config(meter_broker: &str, plain: &str, gtn_port: u16) -> String {
    format!(
        r#"
[control]
meter_timeout_s = 2
battery_timeout_s = 2
hold_s = 1
[meter]
kind = "mqtt"
broker = "{meter_broker}"
topic = "house/grid"
pointer = ""
[battery]
source = "mqtt"
broker = "{plain}"
topic = "bms/state"
cells = 16
charge_voltage_v = 55.2
restart_voltage_v = 53.6
[[device]]
kind = "soyosource"
port = "tcp://127.0.0.1:{gtn_port}"
max_discharge_w = 900
"#
    )
}

async fn meter_over_tls_on(kind: BrokerKind) {
    let ca = TestCa::new("zero-feed-in test CA");
    let certs = scratch_dir("zfi-mqtts");
    let ca_file = certs.join("ca.pem");
    ca.write_pem(&ca_file);
    let broker = Broker::start_tls_on(
        kind,
        "zfi-tls",
        &ca.server_cert(&["localhost", "127.0.0.1"]),
    );
    let tls = format!(
        "mqtts://localhost:{}?ca={}",
        broker.tls_port().unwrap(),
        ca_file.display()
    );
    let plain = broker.url();
    let gtn_port = free_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", gtn_port))
        .await
        .unwrap();
    let seen: Seen = Arc::default();
    let gtn = tokio::spawn(serve_gtn(listener, Arc::clone(&seen)));

    let settings = File::parse(&config(&tls, &plain, gtn_port), Path::new("t.toml")).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = tokio::spawn(zero_feed_in::app::run(settings, async {
        stop_rx.await.unwrap_or(());
    }));

    // BMS and meter publish in plain MQTT; the app reads the meter over TLS only.
    let pubc = publisher(&plain, "zfi-tls-pub");
    let feeding = {
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let out = seen.lock().unwrap().last().copied().unwrap_or(0);
                let _ = pubc
                    .publish(
                        "bms/state",
                        rumqttc::QoS::AtMostOnce,
                        false,
                        r#"{"voltage_v":52.1,"soc_pct":60,"current_a":0}"#,
                    )
                    .await;
                let _ = pubc
                    .publish(
                        "house/grid",
                        rumqttc::QoS::AtMostOnce,
                        false,
                        (300 - out).to_string(),
                    )
                    .await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    seen_until(&seen, "0 W first, then 300 W on TLS meter readings", |v| {
        v.first() == Some(&0) && v.last() == Some(&300)
    })
    .await;
    feeding.abort();
    stop_tx.send(()).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(30), app)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, Ok(()));
    seen_until(&seen, "0 W after stop", |v| v.last() == Some(&0)).await;
    gtn.abort();
    let _ = std::fs::remove_dir_all(&certs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_meter_subscription_reads_over_tls() {
    for kind in BrokerKind::available() {
        eprintln!("--- against the {kind} broker");
        meter_over_tls_on(kind).await;
    }
}

#[test]
fn a_ca_file_that_cannot_be_used_is_refused_naming_the_field() {
    let dir = scratch_dir("zfi-mqtts-bad");
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    for ca in [dir.join("missing.pem"), empty] {
        let url = format!("mqtts://localhost:8883?ca={}", ca.display());
        let e = File::parse(
            &config(&url, "mqtt://127.0.0.1:1883", 1),
            Path::new("t.toml"),
        )
        .unwrap_err();
        assert!(e.contains("meter.broker") && e.contains("fix"), "{e}");
        assert!(e.contains(&ca.display().to_string()), "{e}");
    }
    let ok = dir.join("ca.pem");
    TestCa::new("ok").write_pem(&ok);
    let url = format!("mqtts://localhost:8883?ca={}", ok.display());
    assert!(
        File::parse(
            &config(&url, "mqtt://127.0.0.1:1883", 1),
            Path::new("t.toml")
        )
        .is_ok()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
