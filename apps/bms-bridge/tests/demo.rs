//! The demo through a whole simulated day on tokio's paused clock: the real bridge against
//! the simulated Daly, MPPTs and SmartShunt (real protocols through in-process pipes).
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
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
}
