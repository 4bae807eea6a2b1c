//! Closed loop over TCP: simulated Pace packs (voltwire-sim's Pace device over its serving
//! layer), the app, and a simulated inverter polling the app's Pylontech side. Timeouts are
//! failure guards only; every assertion is about order and content.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use pace2pylon::app::{self, Handles};
use pace2pylon::config::Config;
use pace2pylon::demo::{self, InverterView};
use pace2pylon::engine::{Command, Snapshot};
use tokio::net::TcpListener;
use tokio::sync::watch;
use voltwire_core::Millivolts;
use voltwire_ess::pace2pylon::{Reasons, RebalanceStep};
use voltwire_sim::serve::PortDrop;

const GUARD: Duration = Duration::from_secs(60);

struct Rig {
    handles: Handles,
    view: watch::Receiver<InverterView>,
    state: PathBuf,
}

/// `packs` simulated packs (their drop plans), the app with `extra` TOML appended to a fast
/// configuration, and the inverter; the state file is pre-written with `step` if given.
async fn rig(drops: &[PortDrop], extra: &str, step: Option<&str>) -> Result<Rig, String> {
    rig_with(drops, extra, step, None).await
}

async fn rig_with(
    drops: &[PortDrop],
    extra: &str,
    step: Option<&str>,
    meter: Option<PortDrop>,
) -> Result<Rig, String> {
    let mut packs = Vec::new();
    for d in drops {
        packs.push(demo::serve_pack(0.6, *d).await.unwrap());
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inverter = listener.local_addr().unwrap().to_string();
    let state = voltwire_testkit::scratch_dir("pace2pylon").join("rebalance.state");
    if let Some(s) = step {
        std::fs::write(&state, s).unwrap();
    }
    let mut text = demo::config_text(&packs, &inverter, &state.to_string_lossy());
    text = text.replace(
        "[supervisor]",
        "poll_interval_s = 0.2\ntimeout_s = 0.5\nno_comm_s = 3\n\n[supervisor]",
    );
    text = text.replace("recovery_hold_s = 5", "recovery_hold_s = 0.5");
    text.push_str(extra);
    if let Some(d) = meter {
        let addr = demo::serve_meter_dropping(drops.len(), d).await.unwrap();
        text = demo::with_meter(&text, &addr);
    }
    let mut settings = Config::parse(&text, Path::new("test.toml"))?;
    settings.tick = Duration::from_millis(100);
    let (handles, run) = app::start(settings).map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let r = run.await;
        panic!("app ended: {r:?}");
    });
    let (tx, view) = watch::channel(InverterView::default());
    tokio::spawn(async move {
        loop {
            if Box::pin(demo::inverter(&listener, tx.clone()))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    Ok(Rig {
        handles,
        view,
        state,
    })
}

/// Wait (guarded) until a snapshot satisfies `f`; return it.
async fn until(h: &mut Handles, what: &str, f: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let r = tokio::time::timeout(GUARD, async {
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
    .await;
    r.unwrap_or_else(|_| {
        panic!(
            "timed out waiting for: {what}; last {:?}",
            h.snapshots.borrow().decision
        )
    })
}

/// Wait (guarded) until the inverter has read limits satisfying `f`.
async fn inverter_reads(
    v: &mut watch::Receiver<InverterView>,
    what: &str,
    f: impl Fn(&(f64, f64, f64, bool, bool)) -> bool,
) {
    let r = tokio::time::timeout(GUARD, async {
        loop {
            if v.borrow_and_update().limits.as_ref().is_some_and(&f) {
                return;
            }
            v.changed().await.unwrap();
        }
    })
    .await;
    r.unwrap_or_else(|_| panic!("inverter never read: {what}; last {:?}", v.borrow().limits));
}

fn both_on(s: &Snapshot) -> bool {
    s.merged.is_some() && s.decision.charge && s.decision.discharge
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_dropping_out_disables_both_directions_then_recovers() {
    let drop = PortDrop::After {
        after: Duration::from_secs(6),
        down: Some(Duration::from_secs(8)),
    };
    let mut r = rig(&[PortDrop::Never, drop, PortDrop::Never], "", None)
        .await
        .unwrap();
    let s = until(&mut r.handles, "enabled with the packs' settings", |s| {
        both_on(s) && s.packs.iter().all(|p| p.settings.is_some())
    })
    .await;
    assert_eq!(s.merged.as_ref().unwrap().packs, 3);
    // 80 % of the packs' summed charge over-current settings (3 × 105 A read over 0xD9):
    // what the inverter reads over the wire.
    let ccl_a = f64::from(
        s.packs
            .iter()
            .map(|p| p.settings.as_ref().unwrap().charge_over_current.0)
            .sum::<i32>(),
    ) * 0.8
        / 1000.0;
    assert!((ccl_a - 252.0).abs() < 0.01, "{ccl_a}");
    inverter_reads(&mut r.view, "enabled", |l| {
        l.3 && l.4 && (l.1 - ccl_a).abs() < 0.01
    })
    .await;
    let s = until(&mut r.handles, "pack 1 without comm", |s| {
        s.decision.reasons.contains(Reasons::PACK_NO_COMM)
    })
    .await;
    assert_eq!(s.decision.no_comm_packs, 0b010);
    assert!(!s.decision.charge && !s.decision.discharge);
    inverter_reads(&mut r.view, "disabled", |l| {
        !l.3 && !l.4 && l.1 == 0.0 && l.2 == 0.0
    })
    .await;
    let s = until(&mut r.handles, "recovered", |s| {
        both_on(s) && s.decision.reasons.0 == 0
    })
    .await;
    assert_eq!(s.decision.no_comm_packs, 0);
    inverter_reads(&mut r.view, "enabled again", |l| l.3 && l.4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_disable_trips_and_recovers() {
    let mut r = rig(&[PortDrop::Never, PortDrop::Never], "", None)
        .await
        .unwrap();
    until(&mut r.handles, "enabled", both_on).await;
    r.handles
        .commands
        .send(Command::Disable(true))
        .await
        .unwrap();
    let s = until(&mut r.handles, "disabled", |s| {
        s.decision.reasons.contains(Reasons::MANUAL_DISABLE)
    })
    .await;
    assert!(!s.decision.charge && !s.decision.discharge);
    inverter_reads(&mut r.view, "disabled", |l| !l.3 && !l.4 && l.1 == 0.0).await;
    r.handles
        .commands
        .send(Command::Disable(false))
        .await
        .unwrap();
    until(&mut r.handles, "enabled again", |s| {
        both_on(s) && s.decision.reasons.0 == 0
    })
    .await;
}

/// Step 2 ends above 20 V (the simulated 8S packs sit near 26.5 V) once settled for 0.5 s.
const FAST_REBALANCE: &str = "full_voltage_v = 20\nsettle_s = 0.5\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalance_runs_through_all_four_steps_and_persists_each() {
    let mut r = rig(&[PortDrop::Never, PortDrop::Never], FAST_REBALANCE, None)
        .await
        .unwrap();
    let s = until(&mut r.handles, "enabled", both_on).await;
    assert_eq!(s.merged.unwrap().charge_voltage, Millivolts(27_350));
    r.handles
        .commands
        .send(Command::RebalanceStart)
        .await
        .unwrap();
    let s = until(&mut r.handles, "charging", |s| {
        s.step == RebalanceStep::Charge
    })
    .await;
    // Step 1/2: the raised charge voltage (27.95 V, under the packs' 28.8 V OV).
    assert_eq!(s.merged.unwrap().charge_voltage, Millivolts(27_950));
    assert_eq!(std::fs::read_to_string(&r.state).unwrap().trim(), "charge");
    let s = until(&mut r.handles, "back to idle", |s| {
        s.step == RebalanceStep::Idle && s.step_log.len() > 1
    })
    .await;
    assert_eq!(
        s.step_log,
        [
            RebalanceStep::Idle,
            RebalanceStep::Raise,
            RebalanceStep::Charge,
            RebalanceStep::Unlock,
            RebalanceStep::RestoreMeter,
            RebalanceStep::Idle,
        ]
    );
    assert_eq!(s.merged.unwrap().charge_voltage, Millivolts(27_350));
    assert_eq!(std::fs::read_to_string(&r.state).unwrap().trim(), "idle");
}

/// Step 2 never ends (79 V).
const STUCK_REBALANCE: &str = "full_voltage_v = 79\nsettle_s = 0.5\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalance_cancel_restores_the_charge_voltage() {
    let mut r = rig(&[PortDrop::Never], STUCK_REBALANCE, None)
        .await
        .unwrap();
    until(&mut r.handles, "enabled", both_on).await;
    r.handles
        .commands
        .send(Command::RebalanceStart)
        .await
        .unwrap();
    until(&mut r.handles, "charging", |s| {
        s.step == RebalanceStep::Charge
    })
    .await;
    inverter_reads(&mut r.view, "raised CVL", |l| (l.0 - 27.95).abs() < 0.001).await;
    r.handles
        .commands
        .send(Command::RebalanceCancel)
        .await
        .unwrap();
    let s = until(&mut r.handles, "cancelled", |s| {
        s.step == RebalanceStep::Idle && s.step_log.len() > 1
    })
    .await;
    assert_eq!(
        s.step_log,
        [
            RebalanceStep::Idle,
            RebalanceStep::Raise,
            RebalanceStep::Charge,
            RebalanceStep::Idle
        ]
    );
    assert_eq!(std::fs::read_to_string(&r.state).unwrap().trim(), "idle");
    inverter_reads(&mut r.view, "normal CVL", |l| (l.0 - 27.35).abs() < 0.001).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_rebalance_resumes_at_the_persisted_step() {
    let mut r = rig(&[PortDrop::Never], STUCK_REBALANCE, Some("charge\n"))
        .await
        .unwrap();
    let s = until(&mut r.handles, "merged", |s| s.merged.is_some()).await;
    assert_eq!(s.step, RebalanceStep::Charge);
    assert_eq!(s.step_log.first(), Some(&RebalanceStep::Charge));
    assert_eq!(s.merged.unwrap().charge_voltage, Millivolts(27_950));
    // Resumed at step 3 (unlock): no pack is locked, so on to step 4 and (no meter) idle —
    // never back through steps 1 and 2.
    let mut r = rig(&[PortDrop::Never], STUCK_REBALANCE, Some("unlock"))
        .await
        .unwrap();
    let s = until(&mut r.handles, "idle", |s| {
        s.step == RebalanceStep::Idle && s.step_log.len() > 1
    })
    .await;
    assert_eq!(
        s.step_log,
        [
            RebalanceStep::Unlock,
            RebalanceStep::RestoreMeter,
            RebalanceStep::Idle
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_naming_no_step_refuses_to_start() {
    let e = rig(&[PortDrop::Never], "", Some("charging"))
        .await
        .err()
        .expect("refused");
    assert!(
        e.contains("not a rebalance step") && e.contains("fix or delete"),
        "{e}"
    );
}

/// An independent MQTT client: every message under `p2p/` as (topic, payload).
async fn observer(
    port: u16,
) -> (
    rumqttc::AsyncClient,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    let o = rumqttc::MqttOptions::new("observer", "127.0.0.1", port);
    let (client, mut ev) = rumqttc::AsyncClient::new(o, 100);
    client
        .subscribe("p2p/#", rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match ev.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    (client, rx)
}

/// The next message on `topic` (guarded).
async fn next_on(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    topic: &str,
) -> serde_json::Value {
    tokio::time::timeout(GUARD, async {
        loop {
            let (t, p) = rx.recv().await.unwrap();
            if t == topic {
                return serde_json::from_slice(&p).unwrap_or(serde_json::Value::Null);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("nothing on {topic}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_mqtt_commands_are_rejected_and_change_nothing() {
    let broker = voltwire_testkit::Broker::start("pace2pylon");
    let url = broker.url();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let extra = format!("\n[mqtt]\nurl = \"{url}\"\nbase_topic = \"p2p\"\ninterval_s = 0.2\n");
    let mut r = rig(&[PortDrop::Never], &extra, None).await.unwrap();
    let (client, mut rx) = observer(port).await;
    until(&mut r.handles, "enabled", both_on).await;
    // The state is published every 0.2 s (the first may predate the enable).
    let mut state = next_on(&mut rx, "p2p/state").await;
    while state["supervisor"]["charge_enabled"] != true {
        state = next_on(&mut rx, "p2p/state").await;
    }
    assert_eq!(state["merged"]["packs"], 1);
    for (topic, payload) in [
        ("p2p/command/disable", &b"maybe"[..]),
        ("p2p/command/rebalance", b"restart"),
        ("p2p/command", br#"{"disable": true, "rebalance": "start"}"#),
        ("p2p/command", br#"{"disabled": true}"#),
        ("p2p/command/shutdown", b"now"),
    ] {
        client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload.to_vec())
            .await
            .unwrap();
        let result = next_on(&mut rx, "p2p/command/result").await;
        assert_eq!(result["topic"], topic, "{result}");
        assert_eq!(result["accepted"], false, "{result}");
    }
    // Nothing changed: no manual disable, no rebalance.
    let s = r.handles.snapshots.borrow().clone();
    assert!(
        !s.decision.reasons.contains(Reasons::MANUAL_DISABLE) && s.step == RebalanceStep::Idle,
        "{s:?}"
    );
    assert_eq!(s.step_log, [RebalanceStep::Idle]);
    // A valid command is applied.
    client
        .publish(
            "p2p/command/disable",
            rumqttc::QoS::AtLeastOnce,
            false,
            b"ON".to_vec(),
        )
        .await
        .unwrap();
    let result = next_on(&mut rx, "p2p/command/result").await;
    assert_eq!(result["accepted"], true, "{result}");
    until(&mut r.handles, "disabled", |s| {
        s.decision.reasons.contains(Reasons::MANUAL_DISABLE)
    })
    .await;
    drop(broker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalance_with_the_meter_raises_and_restores_its_capacity() {
    // Two 100 Ah packs: the meter counts 200 Ah; the rebalance raises it to 120 % = 240 Ah.
    let extra = format!("{FAST_REBALANCE}meter_capacity_ah = 200\n");
    let mut r = rig_with(
        &[PortDrop::Never, PortDrop::Never],
        &extra,
        None,
        Some(PortDrop::Never),
    )
    .await
    .unwrap();
    let s = until(&mut r.handles, "enabled", both_on).await;
    let m = s.meter.expect("meter read");
    assert_eq!(m.capacity, voltwire_core::MilliampHours(200_000));
    // SOC from the meter (60 %).
    assert_eq!(s.merged.unwrap().soc, voltwire_core::Permille(600));
    r.handles
        .commands
        .send(Command::RebalanceStart)
        .await
        .unwrap();
    let s = until(&mut r.handles, "charging", |s| {
        s.step == RebalanceStep::Charge
    })
    .await;
    // Step 1 ended only once the meter held the raised capacity.
    assert_eq!(
        s.meter.unwrap().capacity,
        voltwire_core::MilliampHours(240_000)
    );
    let s = until(&mut r.handles, "idle", |s| {
        s.step == RebalanceStep::Idle && s.step_log.len() > 1
    })
    .await;
    assert_eq!(
        s.step_log,
        [
            RebalanceStep::Idle,
            RebalanceStep::Raise,
            RebalanceStep::Charge,
            RebalanceStep::Unlock,
            RebalanceStep::RestoreMeter,
            RebalanceStep::Idle,
        ]
    );
    // The normal capacity is written back.
    until(&mut r.handles, "meter restored", |s| {
        s.meter
            .is_some_and(|m| m.capacity == voltwire_core::MilliampHours(200_000))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_meter_disables_both_directions_then_recovers() {
    let drop = PortDrop::After {
        after: Duration::from_secs(6),
        down: Some(Duration::from_secs(8)),
    };
    let mut r = rig_with(&[PortDrop::Never], "", None, Some(drop))
        .await
        .unwrap();
    until(&mut r.handles, "enabled", both_on).await;
    let s = until(&mut r.handles, "meter without comm", |s| {
        s.decision.reasons.contains(Reasons::METER_NO_COMM)
    })
    .await;
    assert!(!s.decision.charge && !s.decision.discharge);
    inverter_reads(&mut r.view, "disabled", |l| !l.3 && !l.4 && l.1 == 0.0).await;
    until(&mut r.handles, "recovered", |s| {
        both_on(s) && s.decision.reasons.0 == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_packs_on_one_rs485_bus_are_polled_by_address() {
    let bus = demo::serve_bus(3, 1).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inverter = listener.local_addr().unwrap().to_string();
    let state = voltwire_testkit::scratch_dir("pace2pylon").join("rebalance.state");
    let packs = vec![bus.clone(), bus.clone(), bus];
    let text = demo::config_text(&packs, &inverter, &state.to_string_lossy())
        .replace(
            "address = 0\n",
            "addresses = [1, 2, 3]\npoll_interval_s = 0.2\n",
        )
        .replace("recovery_hold_s = 5", "recovery_hold_s = 0.5");
    let settings = Config::parse(&text, Path::new("bus.toml")).unwrap();
    let (mut handles, run) = app::start(settings).unwrap();
    tokio::spawn(async move {
        let r = run.await;
        panic!("app ended: {r:?}");
    });
    let s = until(
        &mut handles,
        "three packs merged with their settings",
        |s| {
            both_on(s)
                && s.packs
                    .iter()
                    .all(|p| p.reading.is_some() && p.settings.is_some())
        },
    )
    .await;
    let m = s.merged.unwrap();
    assert_eq!(m.packs, 3);
    // 80 % of the sum of the packs' own charge over-current settings, each pack counted once.
    // The simulator answers 0xD9 (1.05 C = 105 A), and the configuration has no
    // `[packs.fallback]`: these are the packs' own values.
    let own: Vec<i32> = s
        .packs
        .iter()
        .map(|p| p.settings.as_ref().unwrap().charge_over_current.0)
        .collect();
    assert_eq!(own, vec![105_000; 3]);
    assert_eq!(
        m.charge_current_limit,
        voltwire_core::Milliamps(own.iter().sum::<i32>() * 8 / 10)
    );
    // Each pack read at its own address (the sim's packs sit at 50, 60, 70 %).
    let socs: Vec<i16> = s
        .packs
        .iter()
        .map(|p| p.reading.as_ref().unwrap().0.soc.0)
        .collect();
    assert!(socs[0] < socs[1] && socs[1] < socs[2], "{socs:?}");
    assert!(
        (495..=505).contains(&socs[0]) && (695..=705).contains(&socs[2]),
        "{socs:?}"
    );
}
