//! The JK "4E 57" and JK-PB sources against the voltwire-sim BMSes (`JkBms`, `JkPb`).
//!
//! On in-process pipes under tokio's paused clock: readings match the plant; the BMS's own
//! alarms arrive by name; the charge MOSFET follows the rules' request (the JK switch 0xAB,
//! the JK-PB charge enable 0x1070), is applied by the simulator (the plant stops charging)
//! and read back by the next poll, and comes back on only because this bridge switched it
//! off; a BMS that goes silent trips the rules' `comm_bms` latch after its 60 s (loads off)
//! and recovers when it answers again. Then the whole app (`app::run_observed`, config →
//! `serial://` link) against each simulator on a real pty.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_precision_loss,
    reason = "test code"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bms_bridge::app::{self, Clock as _, Core, MqttSink, Observed, SimRelays, TokioClock};
use bms_bridge::bms;
use bms_bridge::engine::{Engine, Input};
use bms_bridge::sources::{self, ChannelConnect, PollTiming};
use serde_json::Value as J;
use support::{Device, Shared};
use tokio::io::DuplexStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use voltwire_bms_rules::Config;
use voltwire_core::MilliampHours;
use voltwire_runtime::poll::PollConfig;
use voltwire_sim::device::{JkBms, JkPb};
use voltwire_sim::{PackConfig, Plant, SerialResponder};

mod support;

/// A failure guard only: every wait ends on its message long before this (paused clock).
const GUARD: Duration = Duration::from_secs(1200);

/// Which simulated BMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jk,
    JkPb,
}

fn device(kind: Kind) -> Device {
    match kind {
        Kind::Jk => support::device(JkBms::new(0)),
        Kind::JkPb => support::device(JkPb::new(1, 0)),
    }
}

fn plant(cells: usize, soc: f64) -> Shared<Plant> {
    Arc::new(Mutex::new(Plant::new(vec![PackConfig {
        cells,
        capacity: MilliampHours(100_000),
        initial_soc: soc,
        ..PackConfig::default()
    }])))
}

/// The charge-MOSFET writes in the bytes a BMS heard, in order (`true` = on).
fn mosfet_writes(kind: Kind, heard: &[u8]) -> Vec<bool> {
    use voltwire_core::StreamDecoder as _;
    let mut writes = Vec::new();
    match kind {
        Kind::Jk => {
            let mut d = voltwire_jk::JkDecoder::new();
            d.feed_all(heard, |item| {
                if let Ok(m) = item.value {
                    if m.header.command == voltwire_jk::Command::Write {
                        writes.push(m.record().unwrap().charge_mos_switch.unwrap() != 0);
                    }
                }
            });
        }
        Kind::JkPb => {
            let mut d = voltwire_jk::pb::PbDecoder::new();
            d.feed_all(heard, |item| {
                if let Ok(voltwire_jk::pb::Message::WriteRequest {
                    register, values, ..
                }) = item.value
                {
                    if register != 0x1620 {
                        assert_eq!(register, 0x1070);
                        assert_eq!(values.len(), 2);
                        assert_eq!(values[0], 0);
                        writes.push(values[1] != 0);
                    }
                }
            });
        }
    }
    writes
}

/// The source of `kind` on a pipe to `dev`, its inputs on `tx`; what the device hears is
/// appended to `heard`.
fn spawn_source(
    kind: Kind,
    tasks: &mut JoinSet<()>,
    (plant, dev, heard): (&Shared<Plant>, &Device, &Shared<Vec<u8>>),
    tx: mpsc::Sender<Input>,
    want: watch::Receiver<bool>,
) -> mpsc::Sender<DuplexStream> {
    let (app_end, dev_end) = tokio::io::duplex(16 * 1024);
    let (ptx, prx) = mpsc::channel(1);
    ptx.try_send(app_end).unwrap();
    tokio::spawn(support::serve_pipe(
        Arc::clone(plant),
        Arc::clone(dev),
        Arc::clone(heard),
        dev_end,
    ));
    let poll = Duration::from_secs(5);
    let poller = PollConfig::default();
    let timing = PollTiming { poll, poller };
    let conn = ChannelConnect(prx);
    match kind {
        Kind::Jk => tasks.spawn(sources::bms(conn, bms::Jk, timing, tx, Some(want))),
        Kind::JkPb => {
            let proto = bms::JkPb { address: 1 };
            tasks.spawn(sources::bms(conn, proto, timing, tx, Some(want)))
        }
    };
    ptx
}

struct SourceRig {
    kind: Kind,
    plant: Shared<Plant>,
    dev: Device,
    heard: Shared<Vec<u8>>,
    rx: mpsc::Receiver<Input>,
    want: watch::Sender<bool>,
    _tasks: JoinSet<()>,
    _keep: mpsc::Sender<DuplexStream>,
}

impl SourceRig {
    fn start(kind: Kind) -> Self {
        let plant = plant(16, 0.62);
        let dev = device(kind);
        let (tx, rx) = mpsc::channel(64);
        let (want, want_rx) = watch::channel(true);
        let mut tasks = JoinSet::new();
        let heard = Shared::default();
        let keep = spawn_source(kind, &mut tasks, (&plant, &dev, &heard), tx, want_rx);
        Self {
            kind,
            plant,
            dev,
            heard,
            rx,
            want,
            _tasks: tasks,
            _keep: keep,
        }
    }

    fn writes(&self) -> Vec<bool> {
        mosfet_writes(self.kind, &self.heard.lock().unwrap())
    }

    /// The next reading with its alarms (those sent just before it).
    async fn reading(&mut self) -> (voltwire_bms_rules::BmsReading, Option<bool>, Vec<String>) {
        tokio::time::timeout(GUARD, async {
            let mut alarms = Vec::new();
            loop {
                match self.rx.recv().await.expect("the source runs") {
                    Input::Bms(r, m) => return (r, m, alarms),
                    Input::BmsAlarms(a) => alarms = a.iter().map(|s| (*s).to_owned()).collect(),
                    Input::Link {
                        up: false, detail, ..
                    } => panic!("link down: {detail}"),
                    _ => {}
                }
            }
        })
        .await
        .expect("a reading comes")
    }
}

async fn readings_and_mosfet(kind: Kind) {
    let mut rig = SourceRig::start(kind);
    let (r, mosfet, alarms) = rig.reading().await;
    let (soc, cells, volts, temps) = {
        let p = rig.plant.lock().unwrap();
        let pack = &p.packs()[0];
        (
            pack.soc(),
            pack.cell_voltages(),
            pack.voltage(),
            pack.temperatures(),
        )
    };
    // JK 4E57 carries whole percent, the PB remaining / full capacity in mAh.
    let soc_tolerance = if kind == Kind::Jk { 5 } else { 1 };
    assert!(
        (r.soc.0 - soc.0).abs() <= soc_tolerance,
        "{kind:?}: {r:?} vs plant {soc:?}"
    );
    let min = cells.iter().map(|c| c.0).min().unwrap();
    let max = cells.iter().map(|c| c.0).max().unwrap();
    assert!((r.cell_min.0 - min).abs() <= 1, "{kind:?}: {r:?} vs {min}");
    assert!((r.cell_max.0 - max).abs() <= 1, "{kind:?}: {r:?} vs {max}");
    // 4E57: 10 mV steps.
    assert!(
        (r.pack.0 - volts.0).abs() <= 10,
        "{kind:?}: {r:?} vs {volts:?}"
    );
    let t = r.temp_max.expect("cell temperatures");
    let plant_max = temps.iter().map(|t| t.0).max().unwrap();
    // 4E57: whole degrees.
    assert!(
        (t.0 - plant_max).abs() <= 10,
        "{kind:?}: {t:?} vs plant {temps:?}"
    );
    assert!(alarms.is_empty(), "{kind:?}: {alarms:?}");
    assert_eq!(mosfet, Some(true), "{kind:?}");

    // The rules ask for the charge MOSFET off: written, applied (the plant stops charging),
    // and read back off by the next poll.
    rig.want.send_replace(false);
    loop {
        let (_, m, _) = rig.reading().await;
        if m == Some(false) {
            break;
        }
    }
    assert!(
        !rig.plant.lock().unwrap().packs()[0].charge_enabled,
        "{kind:?}"
    );
    // Back on (this bridge switched it off, so it switches it back on).
    rig.want.send_replace(true);
    loop {
        let (_, m, _) = rig.reading().await;
        if m == Some(true) {
            break;
        }
    }
    assert!(
        rig.plant.lock().unwrap().packs()[0].charge_enabled,
        "{kind:?}"
    );
    // Exactly one write each way, in order.
    assert_eq!(rig.writes(), [false, true], "{kind:?}");

    // The BMS's own alarms arrive by name (a cell over voltage fault of the simulator).
    rig.dev.lock().unwrap().faults_mut().cell_over_voltage = true;
    let alarms = loop {
        let (r, _, alarms) = rig.reading().await;
        if r.cell_max.0 == 3_800 {
            break alarms;
        }
    };
    assert!(
        alarms.iter().any(|a| a == "cell_over_voltage"),
        "{kind:?}: {alarms:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn jk_readings_match_the_plant_and_the_charge_switch_is_written_and_read_back() {
    readings_and_mosfet(Kind::Jk).await;
}

#[tokio::test(start_paused = true)]
async fn jk_pb_readings_match_the_plant_and_the_charge_enable_is_written_and_read_back() {
    readings_and_mosfet(Kind::JkPb).await;
}

/// The BMS's own MOSFET decision is not overridden: with the simulator's over-temperature
/// fault the BMS stops charging by itself; the rules still want charging (no latch here), and
/// nothing is written: the reported state stays off until the fault clears.
#[tokio::test(start_paused = true)]
async fn jk_pb_own_protection_is_not_overridden() {
    let mut rig = SourceRig::start(Kind::JkPb);
    let (_, m, _) = rig.reading().await;
    assert_eq!(m, Some(true));
    rig.dev.lock().unwrap().faults_mut().over_temperature = true;
    let alarms = loop {
        let (_, m, alarms) = rig.reading().await;
        if m == Some(false) {
            break alarms;
        }
    };
    assert!(
        alarms.iter().any(|a| a.contains("over_temperature")),
        "{alarms:?}"
    );
    // Several polls later: still off, and the enable register was never written.
    for _ in 0..3 {
        let (_, m, _) = rig.reading().await;
        assert_eq!(m, Some(false));
    }
    assert_eq!(rig.writes(), Vec::<bool>::new(), "nothing written");
    rig.dev.lock().unwrap().faults_mut().over_temperature = false;
    loop {
        let (_, m, _) = rig.reading().await;
        if m == Some(true) {
            break;
        }
    }
    assert_eq!(rig.writes(), Vec::<bool>::new(), "nothing written");
}

/// The bridge core (engine + rules + sim relays) on the JK source: silence trips
/// `comm_bms` after the rules' 60 s and takes the loads off; answers again → recovered.
async fn silent_bms_trips_the_comm_latch(kind: Kind) {
    let plant = plant(8, 0.7);
    let dev = device(kind);
    let (tx, rx) = mpsc::channel(256);
    let (mosfet_tx, mosfet_rx) = watch::channel(true);
    let mut tasks = JoinSet::new();
    let heard = Shared::default();
    let _keep = spawn_source(kind, &mut tasks, (&plant, &dev, &heard), tx, mosfet_rx);
    let clock = TokioClock::new(1);
    let engine = Engine::new(Config::default(), clock.now(), Vec::new());
    let relays = SimRelays::default();
    let (obs_tx, mut observed) = mpsc::unbounded_channel();
    let core = Core {
        clock,
        tick: Duration::from_secs(1),
        state_every: Duration::from_secs(1),
        relays: Box::new(relays.clone()),
        sink: Box::new(MqttSink::new(None, Some(obs_tx))),
        mosfet: mosfet_tx,
        on_tick: None,
        web: None,
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let run = tokio::spawn(app::run_core(engine, core, rx, tasks, async move {
        let _ = stop_rx.await;
    }));
    let mut event = async |what: &str, pred: &dyn Fn(&J) -> bool| -> J {
        tokio::time::timeout(GUARD, async {
            loop {
                match observed.recv().await {
                    Some(Observed::Event(e)) if pred(&e) => return e,
                    Some(_) => {}
                    None => panic!("the bridge stopped"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{kind:?}: no {what}"))
    };
    // SOC 70 %: the loads come on after the start-up hold.
    event("load1 on", &|e| {
        e["event"] == "relay" && e["relay"] == "load1" && e["on"] == true
    })
    .await;
    let t0 = clock.now().0 as f64 / 1000.0;
    dev.lock().unwrap().faults_mut().silent = true;
    let tripped = event("comm_bms tripped", &|e| {
        e["event"] == "tripped" && e["latch"] == "comm_bms"
    })
    .await;
    let after = tripped["at_s"].as_f64().unwrap() - t0;
    // The rules' 60 s since the last answer (at most one 5 s poll before the silence).
    assert!(
        (55.0..=61.0 + 1.0).contains(&after),
        "{kind:?}: after {after} s"
    );
    let off = event("load1 off", &|e| {
        e["event"] == "relay" && e["relay"] == "load1" && e["on"] == false
    })
    .await;
    assert_eq!(off["reason"], "comm_bms", "{kind:?}: {off}");
    assert!(!relays.states()[0], "{kind:?}");
    dev.lock().unwrap().faults_mut().silent = false;
    event("comm_bms recovered", &|e| {
        e["event"] == "recovered" && e["latch"] == "comm_bms"
    })
    .await;
    event("load1 on again", &|e| {
        e["event"] == "relay" && e["relay"] == "load1" && e["on"] == true
    })
    .await;
    stop_tx.send(()).unwrap();
    run.await.unwrap().unwrap();
    assert_eq!(relays.states(), [false, false, false]);
}

#[tokio::test(start_paused = true)]
async fn silent_jk_trips_comm_bms_and_recovers() {
    silent_bms_trips_the_comm_latch(Kind::Jk).await;
}

#[tokio::test(start_paused = true)]
async fn silent_jk_pb_trips_comm_bms_and_recovers() {
    silent_bms_trips_the_comm_latch(Kind::JkPb).await;
}

/// The whole app from its configuration: `kind = "jk"` / `"jk-pb"` on a `serial://` pty.
async fn whole_app_on_a_pty(kind: Kind, kind_line: &str) {
    let dev: Box<dyn SerialResponder + Send> = match kind {
        Kind::Jk => Box::new(JkBms::new(0)),
        Kind::JkPb => Box::new(JkPb::new(1, 0)),
    };
    let pty = support::serve_on_pty(dev).await;
    let text = format!(
        "[bridge]\ntick_ms = 200\nstate_every_s = 1\n\n[bms]\n{kind_line}\nurl = \"serial://{pty}?baud=115200\"\npoll_s = 1\n"
    );
    let settings =
        bms_bridge::config::Settings::parse(&text, std::path::Path::new("t.toml")).unwrap();
    let (obs_tx, mut observed) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let run = tokio::spawn(app::run_observed(
        settings,
        async move {
            let _ = stop_rx.await;
        },
        Some(obs_tx),
    ));
    let state = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match observed.recv().await {
                Some(Observed::State(s)) if s["sources"]["bms"]["fresh"] == true => return s,
                Some(_) => {}
                None => panic!("the bridge stopped: {:?}", run.await),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{kind:?}: no fresh BMS state"));
    let soc = state["soc_pct"].as_f64().unwrap();
    assert!((49.0..=51.0).contains(&soc), "{kind:?}: {state}");
    let v = state["voltage_v"].as_f64().unwrap();
    assert!((25.0..=28.0).contains(&v), "{kind:?}: {state}");
    assert_eq!(state["charge_mosfet_reported"], true, "{kind:?}: {state}");
    assert_eq!(
        state["bms_alarms"],
        serde_json::json!([]),
        "{kind:?}: {state}"
    );
    stop_tx.send(()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_app_reads_a_jk_and_a_jk_pb_on_ptys() {
    whole_app_on_a_pty(Kind::Jk, "kind = \"jk\"").await;
    whole_app_on_a_pty(Kind::JkPb, "kind = \"jk-pb\"\naddress = 1").await;
}
