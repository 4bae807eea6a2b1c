//! The BMSes read directly (`battery.source = daly | jk | jk_pb | pace | pylontech`), each
//! against its `voltwire-sim` device served on a TCP port: the reading carries the plant's
//! voltage, current, SOC, cell extremes and temperatures (to each protocol's wire grid).
//! The coulomb meter likewise, over Modbus RTU.
//! Then the whole app with a Daly that goes silent while its port stays open: the battery
//! goes stale, every device goes to 0 W, and it comes back when the BMS answers again.
//! Assertions are on order and content; the timeouts only guard failures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::panic,
    clippy::std_instead_of_alloc,
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap
)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::watch;
use voltwire_sim::device::{DalyBms, JkBms, JkPb, PaceStack, PylontechStack};
use voltwire_sim::modbus::CoulombMeter;
use voltwire_sim::serve::SerialStation;
use voltwire_sim::serve::rtu::RtuPort;
use voltwire_sim::{BmsView, Faults, Plant, PlantCommand, SerialResponder};
use voltwire_zero_feed_in_rules::BatteryReading;
use zero_feed_in::bms::{self, Bms, Protocol};
use zero_feed_in::config::File;
use zero_feed_in::engine::Clock;

mod common;
use common::{Seen, seen_until, serve_gtn, serve_tcp};

/// A simulated device that can be made silent from the test (its port stays open and it
/// still reads what it is sent: a BMS that hangs).
struct Switchable {
    inner: Box<dyn SerialResponder + Send>,
    silent: Arc<AtomicBool>,
}

impl SerialResponder for Switchable {
    fn on_bytes(&mut self, input: &[u8], now: Duration, plant: &Plant, out: &mut Vec<u8>) {
        let mut answer = Vec::new();
        self.inner.on_bytes(input, now, plant, &mut answer);
        if !self.silent.load(Ordering::SeqCst) {
            out.extend(answer);
        }
    }
    fn tick(&mut self, now: Duration, plant: &Plant, out: &mut Vec<u8>) {
        self.inner.tick(now, plant, out);
    }
    fn faults(&self) -> &Faults {
        self.inner.faults()
    }
    fn faults_mut(&mut self) -> &mut Faults {
        self.inner.faults_mut()
    }
    fn drain_commands(&mut self, out: &mut Vec<PlantCommand>) {
        self.inner.drain_commands(out);
    }
}

/// Serves `responder` over `plant` on a free TCP port from a thread of its own; the
/// `tcp://` URL and the switch that silences it.
fn serve_bms(
    plant: Plant,
    responder: Box<dyn SerialResponder + Send>,
) -> (String, Arc<AtomicBool>) {
    let silent = Arc::new(AtomicBool::new(false));
    let station = SerialStation::new(
        plant,
        Box::new(Switchable {
            inner: responder,
            silent: Arc::clone(&silent),
        }),
        1.0,
    );
    let addr = serve_tcp(station);
    (format!("tcp://{addr}"), silent)
}

async fn first_reading(
    rx: &mut watch::Receiver<Option<BatteryReading>>,
    what: &str,
) -> BatteryReading {
    let r = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            rx.changed().await.unwrap();
            if let Some(b) = *rx.borrow_and_update() {
                return b;
            }
        }
    })
    .await;
    r.unwrap_or_else(|_| panic!("{what}: no reading"))
}

fn near(what: &str, got: i64, want: i64, grid: i64) {
    assert!(
        (got - want).abs() <= grid,
        "{what}: read {got}, the plant has {want} (grid {grid})"
    );
}

/// A protocol, its simulator, its address and its wire grids (voltage mV, SOC ‰,
/// temperature 0.1 °C).
type Case = (Protocol, Box<dyn SerialResponder + Send>, u8, i64, i64, i64);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_reads_the_plant() {
    // (protocol, simulator, address, wire grids: voltage mV, SOC ‰, temperature 0.1 °C)
    let cases: Vec<Case> = vec![
        (Protocol::Daly, Box::new(DalyBms::new(0)), 1, 100, 1, 10),
        (Protocol::Jk, Box::new(JkBms::new(0)), 1, 10, 10, 10),
        (Protocol::JkPb, Box::new(JkPb::new(1, 0)), 1, 1, 10, 1),
        (Protocol::Pace, Box::new(PaceStack::new()), 1, 1, 10, 1),
        (
            Protocol::Pylontech,
            Box::new(PylontechStack::new()),
            2,
            1,
            10,
            1,
        ),
    ];
    let plant = Plant::single(16, 0.6);
    let view = BmsView::of(&plant, 0, &Faults::default()).unwrap();
    let (t_lo, t_hi) = (view.min_temperature().1.0, view.max_temperature().1.0);
    for (protocol, sim, address, v_grid, soc_grid, t_grid) in cases {
        let what = protocol.name();
        let (url, _silent) = serve_bms(Plant::single(16, 0.6), sim);
        let (tx, mut rx) = watch::channel(None);
        let task = tokio::spawn(bms::run(
            Bms {
                protocol,
                port: url.parse().unwrap(),
                address,
                poll_ms: 200,
            },
            Clock::start(1),
            tx,
        ));
        let b = first_reading(&mut rx, what).await;
        task.abort();
        near(what, b.voltage.0.into(), view.voltage.0.into(), v_grid);
        assert_eq!(b.current.unwrap().0, 0, "{what}: no flows, no current");
        near(what, b.soc.unwrap().0.into(), view.soc.0.into(), soc_grid);
        assert_eq!(b.cell_min, Some(view.min_cell().1), "{what}");
        assert_eq!(b.cell_max, Some(view.max_cell().1), "{what}");
        assert!(
            view.min_cell().1 < view.max_cell().1,
            "the plant's cells differ, so min and max are told apart"
        );
        let (lo, hi) = (b.temperature_min.unwrap().0, b.temperature_max.unwrap().0);
        assert!(lo <= hi, "{what}");
        assert!(
            i64::from(lo) >= i64::from(t_lo) - t_grid && i64::from(hi) <= i64::from(t_hi) + t_grid,
            "{what}: temperatures {lo}..{hi} outside the plant's {t_lo}..{t_hi}"
        );
        assert!(b.charge_allowed && b.discharge_allowed, "{what}");
    }
}

/// The coulomb meter (`battery.source = "coulomb"`) against `voltwire-sim`'s Eco-Worthy
/// meter at address 7, served as Modbus RTU over TCP: SOC, voltage, current and the probe's
/// temperature as the meter reports them; no cell voltages (none are invented).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coulomb_meter_reads_soc_voltage_and_current() {
    let plant = Plant::single(16, 0.6);
    let meter = CoulombMeter::new(&plant).with_address(7);
    let want = meter.status(&plant);
    let url = format!(
        "tcp://{}",
        serve_tcp(RtuPort::new(plant, Box::new(meter), 1.0))
    );
    let (tx, mut rx) = watch::channel(None);
    let task = tokio::spawn(bms::run(
        Bms {
            protocol: Protocol::Coulomb,
            port: url.parse().unwrap(),
            address: 7,
            poll_ms: 200,
        },
        Clock::start(1),
        tx,
    ));
    let b = first_reading(&mut rx, "coulomb").await;
    task.abort();
    assert!(want.soc.0 > 0 && want.voltage.0 > 40_000, "{want:?}");
    assert_eq!(b.soc, Some(want.soc));
    assert_eq!(b.voltage, want.voltage);
    assert_eq!(b.current, Some(want.current));
    assert_eq!(
        (b.temperature_min, b.temperature_max),
        (Some(want.temperature), Some(want.temperature))
    );
    assert_eq!((b.cell_min, b.cell_max), (None, None));
    assert!(b.charge_allowed && b.discharge_allowed);
}

/// A generic HTTP JSON meter: the house draws 300 W, the meter shows that minus what the
/// unit delivers.
async fn serve_meter(listener: tokio::net::TcpListener, seen: Seen) {
    loop {
        let (mut s, _) = listener.accept().await.unwrap();
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let _ = s.read(&mut buf).await;
            let out = seen.lock().unwrap().last().copied().unwrap_or(0);
            let body = format!("{{\"power\": {}}}", 300 - out);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_bms_turns_everything_off_and_back() {
    let seen: Seen = Arc::default();
    let gtn = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gtn_port = gtn.local_addr().unwrap().port();
    tokio::spawn(serve_gtn(gtn, Arc::clone(&seen)));
    let meter = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let meter_port = meter.local_addr().unwrap().port();
    tokio::spawn(serve_meter(meter, Arc::clone(&seen)));
    let (bms_url, silent) = serve_bms(Plant::single(16, 0.6), Box::new(DalyBms::new(0)));

    let toml = format!(
        r#"
[control]
meter_timeout_s = 5
battery_timeout_s = 3
hold_s = 1
[meter]
kind = "http_json"
url = "http://127.0.0.1:{meter_port}/meter"
pointer = "/power"
interval_s = 0.5
[battery]
source = "daly"
port = "{bms_url}"
poll_s = 0.5
cells = 16
charge_voltage_v = 55.2
restart_voltage_v = 53.6
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

    seen_until(&seen, "300 W with the Daly answering", |v| {
        v.last() == Some(&300)
    })
    .await;
    silent.store(true, Ordering::SeqCst);
    seen_until(&seen, "0 W after the Daly went silent", |v| {
        v.ends_with(&[300, 0])
    })
    .await;
    silent.store(false, Ordering::SeqCst);
    seen_until(&seen, "300 W once the Daly answers again", |v| {
        v.ends_with(&[300, 0, 300])
    })
    .await;

    stop_tx.send(()).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(30), app)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, Ok(()));
    seen_until(&seen, "0 W after stop", |v| v.last() == Some(&0)).await;
}
