//! Load benchmark of the zero-feed-in binary (release) on simulated devices: a grid meter
//! on MQTT at 1 Hz (a broker in this process), a BIC-2200-48 behind a simulated SLCAN
//! adapter on TCP (`voltwire-sim`'s Mean Well unit), a Daly BMS on TCP polled every second,
//! for S seconds (default 60). Prints the app's CPU (% of one core, from /proc), its peak RSS
//! (`VmHWM`) and the decision latency: from the meter message published to the first set-point
//! frame (a Mean Well write) the simulated unit receives after it, p50/p99/max.
//!
//! `cargo bench -p zero-feed-in --bench load -- --seconds 60 [--verbose]` (`--verbose`: one
//! line per reading)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_precision_loss,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    missing_docs
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use voltwire_meanwell::{Body, Message, Model};
use voltwire_sim::device::{DalyBms, MeanwellPsu};
use voltwire_sim::serve::SerialStation;
use voltwire_sim::serve::can::CanStation;
use voltwire_sim::{CanFrame, CanResponder, Faults, Plant, PlantCommand};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{quiet, serve_tcp};

use voltwire_testkit::bench::{arg, proc_stats};

/// When the simulated unit received each write frame.
type Writes = Arc<Mutex<Vec<Instant>>>;

/// The simulated BIC, noting the arrival time of every write. Its plant changes are dropped:
/// the plant does not follow the set point, so the unit reports 0 W delivered and each meter
/// reading alone decides the set point (nothing else moves it between two readings, so the
/// first write after a reading is that reading's).
struct Recorder {
    psu: MeanwellPsu,
    writes: Writes,
}

impl CanResponder for Recorder {
    fn on_frame(
        &mut self,
        frame: &CanFrame,
        now: Duration,
        plant: &Plant,
        out: &mut Vec<CanFrame>,
    ) {
        if matches!(
            Message::from_frame(frame),
            Ok(Message {
                body: Body::Write(_),
                ..
            })
        ) {
            self.writes.lock().unwrap().push(Instant::now());
        }
        self.psu.on_frame(frame, now, plant, out);
    }
    fn tick(&mut self, now: Duration, plant: &Plant, out: &mut Vec<CanFrame>) {
        self.psu.tick(now, plant, out);
    }
    fn faults(&self) -> &Faults {
        self.psu.faults()
    }
    fn faults_mut(&mut self) -> &mut Faults {
        self.psu.faults_mut()
    }
    fn drain_commands(&mut self, _out: &mut Vec<PlantCommand>) {
        let mut dropped = Vec::new();
        self.psu.drain_commands(&mut dropped);
    }
}

/// The app's process, killed when dropped (also on a panic).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let seconds = arg("--seconds", 60);
    let verbose = std::env::args().any(|a| a == "--verbose");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(seconds, verbose));
}

async fn run(seconds: u64, verbose: bool) {
    let dir = voltwire_testkit::scratch_dir("zfi-bench");
    let broker = voltwire_testkit::Broker::start("zfi-bench");
    let url = broker.url();
    let writes: Writes = Arc::default();
    let bic = serve_tcp(CanStation::new(
        Plant::single(16, 0.6),
        Recorder {
            psu: MeanwellPsu::new(Model::from_name("BIC-2200-48").unwrap(), 0),
            writes: Arc::clone(&writes),
        },
        1.0,
        250_000,
        quiet,
    ));
    let daly = serve_tcp(SerialStation::new(
        Plant::single(16, 0.6),
        Box::new(DalyBms::new(0)),
        1.0,
    ));
    let config = dir.join("zfi.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[meter]
kind = "mqtt"
broker = "{url}"
topic = "bench/grid"
pointer = ""
[battery]
source = "daly"
port = "tcp://{daly}"
poll_s = 1
cells = 16
charge_voltage_v = 55.2
restart_voltage_v = 53.6
[[device]]
kind = "bic2200"
bus = "slcan+tcp://{bic}?bitrate=250000"
model = "BIC-2200-48"
id = 0
max_charge_w = 2000
max_discharge_w = 2000
"#
        ),
    )
    .unwrap();
    let child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_zero-feed-in"))
            .arg("--config")
            .arg(&config)
            .env_remove("RUST_LOG")
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();

    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let mut o = rumqttc::MqttOptions::new("zfi-bench-meter", "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(10));
    let (meter, mut events) = rumqttc::AsyncClient::new(o, 64);
    tokio::spawn(async move {
        loop {
            if events.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });

    // The grid alternates between 400 W import and 400 W export (and the unit delivers
    // nothing): the set point alternates between discharging and charging 400 W, so every
    // reading produces set-point frames.
    let publish = |meter: &rumqttc::AsyncClient, k: u64| {
        let grid = if k % 2 == 0 { 400 } else { -400 };
        let sent = Instant::now();
        meter
            .try_publish(
                "bench/grid",
                rumqttc::QoS::AtMostOnce,
                false,
                grid.to_string(),
            )
            .unwrap();
        sent
    };
    // Warm-up: until three readings in a row each produced a set-point frame (the BIC set
    // up — its set-up writes are not set points —, the BMS fresh, the hold over).
    let warm = Instant::now();
    let mut k = 0u64;
    let mut in_a_row = 0;
    while in_a_row < 3 {
        k += 1;
        let sent = publish(&meter, k);
        tokio::time::sleep(Duration::from_secs(1)).await;
        if writes.lock().unwrap().iter().any(|t| *t > sent) {
            in_a_row += 1;
        } else {
            in_a_row = 0;
        }
        assert!(
            warm.elapsed() < Duration::from_secs(60),
            "the app never drove the BIC"
        );
    }

    let ticks0 = proc_stats(pid).ticks;
    let t0 = Instant::now();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut missed = 0usize;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    while t0.elapsed() < Duration::from_secs(seconds) {
        k += 1;
        let sent = publish(&meter, k);
        tick.tick().await;
        // The first write after this reading (before the next one is published).
        let first = writes.lock().unwrap().iter().copied().find(|t| *t > sent);
        if verbose {
            println!("reading {k}: {:?}", first.map(|t| t - sent));
        }
        match first {
            Some(t) => latencies.push(t - sent),
            None => missed += 1,
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
        "meter 1 Hz (MQTT) + BIC-2200 over SLCAN/TCP + Daly poll 1 Hz for {:.0} s: zero-feed-in CPU {cpu:.2} % of one core, peak RSS {hwm} kB, meter message -> set-point frame: n={} (no frame: {missed}) p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        elapsed.as_secs_f64(),
        latencies.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    drop(child);
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}
