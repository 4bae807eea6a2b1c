//! `aggregator --demo`: a private bus, three simulated batteries, the aggregator, and a
//! client that prints the aggregate once per second as Venus reads it. Battery 3 leaves the
//! bus after 8 s and comes back after 16 s, so the aggregate degrades and recovers.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use voltwire_core::{Milliamps, Millivolts};
use voltwire_ess::aggregate::{AggregateConfig, CvlRule};
use voltwire_ess::plausibility::{Chemistry, Plausibility};
use voltwire_ess::{CombineConfig, CurrentRule, FaultPolicy};

use crate::app::{App, run};
use crate::bus::PrivateBus;
use crate::busitem::SignalMode;
use crate::client;
use crate::config::{Bus, Config};
use crate::item::Item;
use crate::sim::{SimBattery, SimSpec};

/// The demo's configuration on the bus at `address`: 3 batteries expected, stale after
/// 3 s, admitted after 3 s fresh, re-read after 1 s of quiet.
pub fn config(address: &str) -> Config {
    Config {
        name: "aggregate".into(),
        device_instance: 100,
        product_name: "voltwire aggregate".into(),
        custom_name: String::new(),
        custom_name_file: None,
        signals: SignalMode::PropertiesChanged,
        bus: Bus::Address(address.to_owned()),
        keyword: "SerialBattery".into(),
        refresh_ms: 1000,
        aggregate: AggregateConfig {
            combine: CombineConfig {
                current_rule: CurrentRule::SmallestTimesCount,
                ..CombineConfig::default()
            },
            cvl: CvlRule::Minimum,
            fault_policy: FaultPolicy::Exclude,
            timeout_ms: 3000,
            recovery_hold_ms: 3000,
            plausibility: Plausibility::for_pack(
                16,
                Chemistry::Lfp,
                Milliamps(1_000_000),
                Milliamps(1_000_000),
            ),
            expected: 3,
        },
        latch: Some((Millivolts(2900), Millivolts(3000))),
        charge_table: Vec::new(),
        discharge_table: Vec::new(),
        dynamic_cvl: Some((Millivolts(3450), Millivolts(20), Millivolts(53_600))),
        own: crate::own::OwnConfig {
            cells: 16,
            ..crate::own::OwnConfig::default()
        },
        direct: Vec::new(),
        web: None,
        current: Vec::new(),
    }
}

/// The demo's batteries: 100 Ah / 200 Ah / 100 Ah with different limits.
pub fn specs() -> [SimSpec; 3] {
    let mut b = SimSpec::lfp("sim2", 200.0, 80.0, 120.0);
    b.soc = 60.0;
    b.current = -4.0;
    b.cells = (3.305, 3.330);
    let mut c = SimSpec::lfp("sim3", 100.0, 90.0, 100.0);
    c.cells = (3.302, 3.325);
    [SimSpec::lfp("sim1", 100.0, 100.0, 150.0), b, c]
}

fn f(items: &crate::battery::Items, p: &str) -> String {
    match items.get(p) {
        Some(Item::Float(x)) => format!("{x:.2}"),
        Some(i) => i.text(""),
        None => "?".into(),
    }
}

/// One status line from the aggregate's paths.
pub fn line(t: u64, items: &crate::battery::Items) -> String {
    let mut s = format!("t={t:>3}s");
    for (label, p) in [
        ("mode", "/Aggregate/Mode"),
        ("V", "/Dc/0/Voltage"),
        ("I", "/Dc/0/Current"),
        ("SOC", "/Soc"),
        ("CVL", "/Info/MaxChargeVoltage"),
        ("CCL", "/Info/MaxChargeCurrent"),
        ("DCL", "/Info/MaxDischargeCurrent"),
        ("online", "/System/NrOfModulesOnline"),
        ("offline", "/System/NrOfModulesOffline"),
        ("BmsCable", "/Alarms/BmsCable"),
        ("min", "/System/MinVoltageCellId"),
    ] {
        let _ = write!(s, " {label}={}", f(items, p));
    }
    s
}

/// Run the demo in `dir` (bus socket and config), for `duration` seconds or until `stop`.
///
/// # Errors
/// A message when the private bus or a simulated battery cannot start.
pub async fn demo(
    dir: &Path,
    duration: Option<u64>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let bus = PrivateBus::start(dir).map_err(|e| e.to_string())?;
    let address = bus.address().to_owned();
    let [a, b, c] = specs();
    let sims = [
        SimBattery::start(&address, a).await,
        SimBattery::start(&address, b).await,
    ];
    let mut third = Some(
        SimBattery::start(&address, c.clone())
            .await
            .map_err(|e| e.to_string())?,
    );
    let _sims = sims
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let app = App::new(config(&address));
    let service = app.service_name();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(app, async {
        let _ = stop_rx.await;
    }));
    let reader = zbus::connection::Builder::address(address.as_str())
        .map_err(|e| e.to_string())?
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let printer = async {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        for t in 0.. {
            tick.tick().await;
            if duration.is_some_and(|d| t > d) {
                break;
            }
            if t == 8 {
                if let Some(s) = third.take() {
                    println!("--- sim3 leaves the bus");
                    s.vanish().await;
                }
            }
            if t == 16 {
                println!("--- sim3 is back");
                third = SimBattery::start(&address, c.clone()).await.ok();
            }
            match client::get_items(&reader, &service).await {
                Ok(items) => println!("{}", line(t, &items)),
                Err(e) => println!("t={t:>3}s aggregate not readable: {e}"),
            }
        }
    };
    tokio::select! {
        () = printer => {}
        () = stop => {}
    }
    let _ = stop_tx.send(());
    let _ = server.await;
    drop(bus);
    Ok(())
}
