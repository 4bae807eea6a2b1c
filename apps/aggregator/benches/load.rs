//! Load benchmark of the aggregator binary on a private dbus-daemon: B simulated batteries
//! with P changing paths each at 1 Hz for S seconds (default 8 × 40 × 60). Prints the
//! aggregator process's CPU (% of one core, from /proc), its peak RSS (VmHWM) and the
//! latency from a battery's `PropertiesChanged` to the aggregate's, both seen by one reader.
//!
//! `cargo bench -p aggregator --bench load -- --seconds 60 --batteries 8 --paths 40`
//! (`--binary PATH` measures another build, e.g. the previous version, in the same session).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_precision_loss,
    clippy::indexing_slicing,
    clippy::doc_markdown,
    clippy::too_many_lines,
    clippy::redundant_closure_for_method_calls,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    missing_docs
)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aggregator::bus::PrivateBus;
use aggregator::client;
use aggregator::item::{Item, value_of};
use aggregator::sim::{SimBattery, SimSpec};
use futures_util::StreamExt as _;
use zbus::message::Type;
use zbus::zvariant::OwnedValue;
use zbus::{MatchRule, MessageStream};

const SERVICE: &str = "com.victronenergy.battery.aggregate";

use voltwire_testkit::bench::{arg, proc_stats};

fn main() {
    let seconds = arg("--seconds", 60);
    let batteries = usize::try_from(arg("--batteries", 8)).unwrap();
    let paths = usize::try_from(arg("--paths", 40)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(seconds, batteries, paths));
}

async fn run(seconds: u64, batteries: usize, paths: usize) {
    let dir = voltwire_testkit::scratch_dir("agg-bench");
    let bus = PrivateBus::start(&dir).unwrap();
    let address = bus.address().to_owned();
    let mut sims = Vec::new();
    for i in 0..batteries {
        let mut spec = SimSpec::lfp(&format!("b{i}"), 100.0, 100.0, 100.0);
        spec.churn = paths.saturating_sub(1);
        sims.push(SimBattery::start(&address, spec).await.unwrap());
    }
    let config = dir.join("aggregator.toml");
    let template = aggregator::config::TEMPLATE
        .replace("bus = \"system\"", &format!("bus = \"{address}\""))
        .replace("expected = 3", &format!("expected = {batteries}"))
        .replace("recovery_hold_s = 30", "recovery_hold_s = 2");
    std::fs::write(&config, template).unwrap();
    let args: Vec<String> = std::env::args().collect();
    let binary = args
        .iter()
        .position(|a| a == "--binary")
        .and_then(|i| args.get(i + 1))
        .map_or(env!("CARGO_BIN_EXE_aggregator"), String::as_str);
    println!("measuring {binary}");
    let mut child = tokio::process::Command::new(binary)
        .arg("--config")
        .arg(&config)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();

    let reader = zbus::connection::Builder::address(address.as_str())
        .unwrap()
        .max_queued(1 << 16)
        .build()
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(i) = client::get_items(&reader, SERVICE).await {
                if i.get("/Aggregate/Mode") == Some(&Item::Text("normal".into())) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the aggregate did not reach normal");
    let dbus = zbus::fdo::DBusProxy::new(&reader).await.unwrap();
    let owner = |name: String| {
        let dbus = dbus.clone();
        async move {
            dbus.get_name_owner(name.as_str().try_into().unwrap())
                .await
                .unwrap()
                .to_string()
        }
    };
    let agg_owner = owner(SERVICE.to_owned()).await;
    let probe_owner = owner("com.victronenergy.battery.b0".to_owned()).await;
    dbus.add_match_rule(
        MatchRule::builder()
            .msg_type(Type::Signal)
            .interface("com.victronenergy.BusItem")
            .unwrap()
            .path("/Dc/0/Current")
            .unwrap()
            .build(),
    )
    .await
    .unwrap();
    let mut stream = MessageStream::from(&reader);

    let ticks0 = proc_stats(pid).ticks;
    let t0 = Instant::now();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut sent: Option<Instant> = None;
    let mut k = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while t0.elapsed() < Duration::from_secs(seconds) {
        tokio::select! {
            _ = tick.tick() => {
                k += 1;
                let amps = if k % 2 == 0 { 5.0 } else { 5.5 };
                sims[0].set("/Dc/0/Current", Item::Float(amps)).await;
            }
            Some(Ok(m)) = stream.next() => {
                let h = m.header();
                let Some(sender) = h.sender().map(|s| s.to_string()) else { continue };
                let Ok(body) = m.body().deserialize::<HashMap<String, OwnedValue>>() else { continue };
                if value_of(&body).is_none() { continue; }
                if sender == probe_owner {
                    sent = Some(Instant::now());
                } else if sender == agg_owner {
                    if let Some(s) = sent.take() {
                        latencies.push(s.elapsed());
                    }
                }
            }
        }
    }
    let elapsed = t0.elapsed();
    let voltwire_testkit::bench::ProcStats {
        ticks: ticks1,
        peak_rss_kb: hwm,
    } = proc_stats(pid);
    let clk = 100.0; // USER_HZ on Linux
    let cpu = (ticks1 - ticks0) as f64 / clk / elapsed.as_secs_f64() * 100.0;
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{batteries} batteries x {paths} paths at 1 Hz for {:.0} s: aggregator CPU {cpu:.2} % of one core, peak RSS {hwm} kB, signal in -> aggregate signal: n={} p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        elapsed.as_secs_f64(),
        latencies.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let _ = child.kill().await;
    drop(sims);
    drop(bus);
    let _ = std::fs::remove_dir_all(&dir);
}
