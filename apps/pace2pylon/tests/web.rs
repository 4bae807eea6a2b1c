//! The shared status page mounted in pace2pylon (`[web]`): two simulated packs, the real
//! app with the page on a free port. Reads show the merged battery, a card per pack and the
//! metrics; commands without or with a wrong token, unknown, malformed or with an extra key
//! are refused with their code and change nothing; a good `disable` blocks both directions
//! (`manual_disable`) and `{"disable": false}` lifts it. Timeouts are failure guards only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::too_many_lines,
    missing_docs,
    reason = "test code"
)]

use std::path::Path;
use std::time::Duration;

use pace2pylon::app::{self, Handles};
use pace2pylon::config::Config;
use pace2pylon::demo;
use pace2pylon::engine::Snapshot;
use serde_json::Value;
use voltwire_ess::pace2pylon::Reasons;
use voltwire_sim::serve::PortDrop;

const GUARD: Duration = Duration::from_secs(60);
const TOKEN: &str = "0123456789abcdef-pace2pylon-web";

use voltwire_testkit::http::request as http;

async fn until(h: &mut Handles, what: &str, f: impl Fn(&Snapshot) -> bool) -> Snapshot {
    tokio::time::timeout(GUARD, async {
        loop {
            {
                let s = h.snapshots.borrow_and_update();
                if f(&s) {
                    return s.clone();
                }
            }
            h.snapshots.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for: {what}"))
}

fn both_on(s: &Snapshot) -> bool {
    s.merged.is_some() && s.decision.charge && s.decision.discharge && s.decision.reasons.0 == 0
}

/// The error code of a refusal.
fn code_of(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    v["error"].as_str().unwrap_or("-").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_reads_the_packs_and_takes_only_valid_commands_with_the_token() {
    let packs = vec![
        demo::serve_pack(0.6, PortDrop::Never).await.unwrap(),
        demo::serve_pack(0.6, PortDrop::Never).await.unwrap(),
    ];
    let state = voltwire_testkit::scratch_dir("pace2pylon-web").join("r.state");
    let text = demo::config_text(&packs, "127.0.0.1:9", &state.to_string_lossy())
        .replace("[supervisor]", "poll_interval_s = 0.2\n\n[supervisor]")
        .replace("recovery_hold_s = 5", "recovery_hold_s = 0.5")
        + &format!("\n[web]\nport = 0\ntoken = \"{TOKEN}\"\n");
    let mut settings = Config::parse(&text, Path::new("web.toml")).unwrap();
    settings.tick = Duration::from_millis(100);
    let (mut h, run) = app::start(settings).unwrap();
    tokio::spawn(async move {
        let r = run.await;
        panic!("app ended: {r:?}");
    });
    let mut web = h.web_addr.clone();
    let addr = tokio::time::timeout(GUARD, web.wait_for(Option::is_some))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    until(&mut h, "both packs merged and enabled", both_on).await;

    // Reads: the page, the state (a card per pack), health, metrics.
    let (code, page) = http(addr, "GET", "/", None, "").await;
    assert_eq!(code, 200);
    assert!(page.contains("pace2pylon"));
    let st = tokio::time::timeout(GUARD, async {
        loop {
            let (code, body) = http(addr, "GET", "/api/state", None, "").await;
            assert_eq!(code, 200, "{body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            let st = v.get("state").cloned().unwrap_or(v);
            if st["supervisor"]["charge_enabled"] == true {
                return st;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap();
    let names: Vec<&str> = st["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pack1", "pack2"]);
    assert!(
        st["packs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "up")
    );
    assert_eq!(st["merged"]["packs"], 2);
    let (code, health) = http(addr, "GET", "/api/health", None, "").await;
    assert_eq!(code, 200, "{health}");
    assert!(
        health.contains("\"pack1\"") && health.contains("\"pack2\""),
        "{health}"
    );
    let (code, metrics) = http(addr, "GET", "/metrics", None, "").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("voltwire_pace2pylon_pack_voltage_volts{pack=\"pack2\"}")
            && metrics.contains("voltwire_pace2pylon_charge_enabled 1"),
        "{metrics}"
    );

    // Refusals: each with its code, nothing changed.
    let refused = [
        (
            "/api/command",
            None,
            r#"{"disable": true}"#,
            401,
            "missing_token",
        ),
        (
            "/api/command",
            Some("wrong-token-0123456789"),
            r#"{"disable": true}"#,
            401,
            "wrong_token",
        ),
        ("/api/command/disable", Some(TOKEN), "MAYBE", 0, ""),
        (
            "/api/command",
            Some(TOKEN),
            r#"{"disable": true, "extra": 1}"#,
            0,
            "",
        ),
        (
            "/api/command",
            Some(TOKEN),
            r#"{"disable": true, "rebalance": "start"}"#,
            0,
            "",
        ),
        ("/api/command/rebalance", Some(TOKEN), "now", 0, ""),
        (
            "/api/command/reboot",
            Some(TOKEN),
            "1",
            404,
            "unknown_command",
        ),
        ("/api/command", Some(TOKEN), "{not json", 0, ""),
    ];
    for (path, token, body, want, want_code) in refused {
        let (code, reply) = http(addr, "POST", path, token, body).await;
        assert!((400..500).contains(&code), "{path} {body}: {code} {reply}");
        if want != 0 {
            assert_eq!(
                (code, code_of(&reply).as_str()),
                (want, want_code),
                "{path} {body}: {reply}"
            );
        } else {
            assert_ne!(code_of(&reply), "-", "{path} {body}: {reply}");
        }
    }
    // Nothing changed: a few evaluations later both directions are still on.
    let seen = h.snapshots.borrow().clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let now = h.snapshots.borrow().clone();
    assert!(both_on(&seen) && both_on(&now), "{:?}", now.decision);

    // A good command with the token: disabled for manual_disable, then lifted.
    let (code, reply) = http(
        addr,
        "POST",
        "/api/command",
        Some(TOKEN),
        r#"{"disable": true}"#,
    )
    .await;
    assert_eq!(code, 200, "{reply}");
    assert!(reply.contains("\"accepted\""), "{reply}");
    let s = until(&mut h, "manual disable", |s| {
        s.decision.reasons.0 & Reasons::MANUAL_DISABLE != 0
    })
    .await;
    assert!(!s.decision.charge && !s.decision.discharge);
    let (code, reply) = http(addr, "POST", "/api/command/disable", Some(TOKEN), "OFF").await;
    assert_eq!(code, 200, "{reply}");
    until(&mut h, "enabled again", both_on).await;
}
