//! The demo through a whole simulated day on tokio's paused clock: the real bridge against
//! `examples/scenes/bms-bridge.toml` (a simulated Daly, MPPTs and SmartShunt speaking their
//! real protocols through in-process pipes, relay loads and 1-Wire files on one scene world).
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "std test"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn a_simulated_day_trips_and_recovers_the_temperature_latch_and_balances() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    bms_bridge::demo::run(
        Some(Duration::from_secs(720)),
        None,
        std::future::pending(),
        move |l| {
            sink.lock().unwrap().push(l.to_owned());
        },
    )
    .await
    .unwrap();
    let lines = lines.lock().unwrap().clone();
    let text = lines.join("\n");
    println!("{text}");
    let status = lines.iter().filter(|l| !l.contains("event:")).count();
    assert!(
        status >= 140,
        "one status line per 10 simulated minutes: {status}"
    );
    let find = |s: &str| lines.iter().position(|l| l.contains(s));
    let trip = find("event: tripped latch=\"cell_temp\"").expect("the hot afternoon trips");
    let off = find("event: charge_mosfet on=false").expect("charge MOSFET off");
    let rec = find("event: recovered latch=\"cell_temp\"").expect("and recovers");
    let on = find("event: charge_mosfet on=true").expect("charge MOSFET back");
    assert!(trip <= off && off < rec && rec <= on, "{text}");
    assert!(
        find("event: relay relay=\"balancer\" on=true").is_some(),
        "{text}"
    );
    assert!(
        find("event: relay relay=\"load1\" on=true").is_some(),
        "{text}"
    );
    // The scene's plant follows the bridge: with the charge MOSFET off the MPPTs deliver
    // nothing, and the relay loads draw from the bank (the shunt sees them) once on at night.
    let status: Vec<&String> = lines.iter().filter(|l| !l.contains("event:")).collect();
    let pv_w = |l: &str| -> i64 {
        let at = l.find(" pv ").unwrap() + 4;
        l[at..].split_whitespace().next().unwrap().parse().unwrap()
    };
    let amps = |l: &str| -> f64 {
        let at = l.find(" V ").unwrap() + 3;
        l[at..].split_whitespace().next().unwrap().parse().unwrap()
    };
    let cut: Vec<&&String> = status.iter().filter(|l| l.contains("charge OFF")).collect();
    assert!(!cut.is_empty(), "{text}");
    assert!(cut.iter().all(|l| pv_w(l) == 0), "{cut:?}");
    assert!(
        status
            .iter()
            .any(|l| l.contains("load1 ON  load2 ON") && pv_w(l) == 0 && amps(l) < -25.0),
        "800 W of loads from the bank at night: {text}"
    );
    assert!(
        status.iter().any(|l| pv_w(l) > 1400),
        "the sun's 1.6 kW around noon: {text}"
    );
}
