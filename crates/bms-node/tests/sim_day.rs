//! The node against the simulated Daly BMS and SmartShunt (`voltwire-sim`'s sans-IO
//! responders) on one plant, with injected time: the bytes the node writes go to the
//! simulators, their replies and TEXT records come back through `embedded-io-async`
//! readers. The scenarios of the Linux bms-bridge's tests: relays off at boot until the
//! 15 s hold, the temperature latch (loads off, or the charge MOSFET off while charging),
//! BMS comm loss → loads off, broker away → the rules keep switching, and a whole day.
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    reason = "std test"
)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use serde_json::Value as J;
use voltwire_bms_node::{DalyError, DalyLink, Node, NodeConfig, Publication, ShuntLink};
use voltwire_bms_rules::{Config, Millis};
use voltwire_core::{MilliampHours, Watts};
use voltwire_daly::Variant;
use voltwire_sim::device::{DalyBms, VeDirect, VeDirectKind};
use voltwire_sim::{PackConfig, Plant, SerialResponder};

const BASE: &str = "vw/bridge";

/// Run a future that never waits (the simulated UARTs answer at once or fail at once).
fn now_or_never<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a simulated UART never waits"),
    }
}

/// Nothing to read now (a real UART would wait; the firmware's timeout ends the wait).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Silent;

impl std::fmt::Display for Silent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nothing to read")
    }
}

impl std::error::Error for Silent {}

impl embedded_io::Error for Silent {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::TimedOut
    }
}

struct Bench {
    plant: Plant,
    daly: DalyBms,
    shunt: VeDirect,
    now: Duration,
    daly_rx: VecDeque<u8>,
    shunt_rx: VecDeque<u8>,
    /// Every byte the node wrote to the Daly, in order.
    daly_written: Vec<u8>,
}

type Shared = Rc<RefCell<Bench>>;

struct Rx(Shared, bool);
struct Tx(Shared);

impl embedded_io_async::ErrorType for Rx {
    type Error = Silent;
}
impl embedded_io_async::ErrorType for Tx {
    type Error = Silent;
}

impl embedded_io_async::Read for Rx {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Silent> {
        let mut b = self.0.borrow_mut();
        let q = if self.1 {
            &mut b.daly_rx
        } else {
            &mut b.shunt_rx
        };
        if q.is_empty() || buf.is_empty() {
            return Err(Silent);
        }
        let n = buf.len().min(q.len());
        for (d, s) in buf.iter_mut().zip(q.drain(..n)) {
            *d = s;
        }
        Ok(n)
    }
}

impl embedded_io_async::Write for Tx {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Silent> {
        let mut guard = self.0.borrow_mut();
        let b = &mut *guard;
        b.daly_written.extend_from_slice(buf);
        let mut out = Vec::new();
        b.daly.on_bytes(buf, b.now, &b.plant, &mut out);
        let mut cmds = Vec::new();
        b.daly.drain_commands(&mut cmds);
        b.plant.apply(cmds);
        b.daly_rx.extend(out);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Silent> {
        Ok(())
    }
}

/// A relay pin: its writes are recorded (relay index, level).
#[derive(Debug, Clone)]
struct Pin(usize, Rc<RefCell<Vec<(usize, bool)>>>);

impl embedded_hal::digital::ErrorType for Pin {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for Pin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.1.borrow_mut().push((self.0, false));
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.1.borrow_mut().push((self.0, true));
        Ok(())
    }
}

struct Rig {
    bench: Shared,
    node: Node<Pin>,
    daly: DalyLink<'static, Rx, Tx>,
    shunt: ShuntLink<'static, Rx>,
    pins: Rc<RefCell<Vec<(usize, bool)>>>,
    /// What the broker received (while it is up).
    published: Vec<Publication>,
    broker_up: bool,
    t_ms: u64,
    polls_failed: u32,
    mosfet_writes: u32,
}

fn firmware_config() -> Config {
    Config {
        chargers: 0,
        ..Config::default()
    }
}

impl Rig {
    fn start(soc: f64) -> Self {
        let plant = Plant::new(vec![PackConfig {
            cells: 8,
            capacity: MilliampHours(100_000),
            initial_soc: soc,
            ..PackConfig::default()
        }]);
        let bench: Shared = Rc::new(RefCell::new(Bench {
            plant,
            daly: DalyBms::new(0).with_variant(Variant::UART),
            shunt: VeDirect::new(VeDirectKind::SmartShunt),
            now: Duration::ZERO,
            daly_rx: VecDeque::new(),
            shunt_rx: VecDeque::new(),
            daly_written: Vec::new(),
        }));
        let pins = Rc::new(RefCell::new(Vec::new()));
        let p = |i| Pin(i, pins.clone());
        let node = Node::new(
            firmware_config(),
            NodeConfig::default(),
            BASE,
            [p(0), p(1), p(2)],
            Millis(0),
        )
        .unwrap();
        let daly_buf: &'static mut [u8] = Box::leak(Box::new([0u8; 64]));
        let shunt_buf: &'static mut [u8] = Box::leak(Box::new([0u8; 64]));
        Self {
            daly: DalyLink::new(
                Rx(bench.clone(), true),
                Tx(bench.clone()),
                Variant::UART,
                daly_buf,
            ),
            shunt: ShuntLink::new(Rx(bench.clone(), false), shunt_buf),
            bench,
            node,
            pins,
            published: Vec::new(),
            broker_up: true,
            t_ms: 0,
            polls_failed: 0,
            mosfet_writes: 0,
        }
    }

    /// One simulated second: the plant, the shunt's record, a Daly poll every 5 s, a
    /// node tick, and the publications to the broker while it is up.
    fn second(&mut self) {
        self.t_ms += 1000;
        let now = Millis(self.t_ms);
        {
            let mut guard = self.bench.borrow_mut();
            let b = &mut *guard;
            b.now = Duration::from_millis(self.t_ms);
            b.plant.advance_to(b.now);
            let mut out = Vec::new();
            b.shunt.tick(b.now, &b.plant, &mut out);
            b.shunt_rx.extend(out);
        }
        while let Ok(r) = now_or_never(self.shunt.next()) {
            self.node.shunt(now, r);
        }
        if self.t_ms % 5000 == 0 {
            match now_or_never(self.daly.poll()) {
                Ok((reading, mosfet)) => {
                    self.node.bms(now, reading, mosfet);
                    let want = self.node.charge_mosfet_wanted();
                    if now_or_never(self.daly.follow_charge_mosfet(want, mosfet)) == Ok(true) {
                        self.mosfet_writes += 1;
                    }
                }
                Err(DalyError::Read(Silent)) => self.polls_failed += 1,
                Err(e) => panic!("unexpected Daly error {e:?}"),
            }
        }
        self.node.tick(now);
        if self.broker_up {
            while let Some(p) = self.node.pop() {
                self.published.push(p);
            }
        }
    }

    fn run_to(&mut self, secs: u64) {
        while self.t_ms < secs * 1000 {
            self.second();
        }
    }

    fn relays(&self) -> [Option<bool>; 3] {
        self.node.relays()
    }

    fn events(&self) -> Vec<J> {
        self.published
            .iter()
            .filter(|p| p.topic.as_str() == "vw/bridge/event")
            .map(|p| serde_json::from_str(&p.payload).unwrap())
            .collect()
    }

    fn last_state(&self) -> J {
        let p = self
            .published
            .iter()
            .rev()
            .find(|p| p.topic.as_str() == "vw/bridge/state")
            .expect("a state was published");
        assert!(p.retain, "state is retained");
        serde_json::from_str(&p.payload).unwrap()
    }

    fn faults(&self, f: impl FnOnce(&mut voltwire_sim::Faults)) {
        f(self.bench.borrow_mut().daly.faults_mut());
    }
}

fn kinds(events: &[J]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let k = e["event"].as_str().unwrap();
            match k {
                "relay" => format!("relay {} {}", e["relay"].as_str().unwrap(), e["on"]),
                "tripped" | "recovered" => format!("{k} {}", e["latch"].as_str().unwrap()),
                "charge_mosfet" => format!("charge_mosfet {}", e["on"]),
                _ => k.to_owned(),
            }
        })
        .collect()
}

#[test]
fn relays_off_at_boot_until_the_hold() {
    let mut rig = Rig::start(0.7);
    // Driven low in `Node::new`, before any reading or tick.
    assert_eq!(*rig.pins.borrow(), vec![(0, false), (1, false), (2, false)]);
    assert_eq!(rig.relays(), [Some(false); 3]);
    rig.run_to(14);
    assert_eq!(
        rig.relays(),
        [Some(false); 3],
        "no switching inside the 15 s hold"
    );
    assert_eq!(rig.pins.borrow().len(), 3, "no pin write inside the hold");
    let first = serde_json::from_str::<J>(&rig.published[0].payload).unwrap();
    assert_eq!(rig.published[0].topic.as_str(), "vw/bridge/state");
    assert_eq!(first["relays"]["load1"]["on"], false);
    assert_eq!(first["auto_active"], false);
    rig.run_to(16);
    // SOC 70 % > 60 % (PV low): both loads on after the hold; the balancer stays off.
    assert_eq!(rig.relays(), [Some(true), Some(true), Some(false)]);
    assert_eq!(
        kinds(&rig.events()),
        ["auto_started", "relay load1 true", "relay load2 true"]
    );
    let at = rig.events()[0]["at_s"].as_f64().unwrap();
    assert!((15.0..16.0).contains(&at), "auto started at {at}");
    let s = rig.last_state();
    assert_eq!(s["relays"]["load1"]["on"], true);
    assert_eq!(s["auto_active"], true);
    assert_eq!(s["alarm"], false);
    assert_eq!(s["sources"]["bms"]["fresh"], true);
    assert_eq!(s["sources"]["shunt"]["fresh"], true);
    assert_eq!(
        s["voltage_v"].as_f64().map(|v| v > 24.0 && v < 29.2),
        Some(true)
    );
    assert_eq!(rig.node.dropped(), 0);
}

#[test]
fn temperature_latch_turns_loads_off_and_recovers() {
    let mut rig = Rig::start(0.7);
    rig.run_to(30);
    assert_eq!(rig.relays(), [Some(true), Some(true), Some(false)]);
    rig.published.clear();
    rig.faults(|f| f.over_temperature = true);
    rig.run_to(40);
    // Not charging (no current, PV low): the loads go off.
    assert_eq!(rig.relays(), [Some(false), Some(false), Some(false)]);
    let s = rig.last_state();
    assert_eq!(s["latches"], serde_json::json!(["cell_temp"]));
    assert_eq!(s["cell_temp_c"].as_f64(), Some(70.0));
    rig.faults(|f| f.over_temperature = false);
    rig.run_to(60);
    assert_eq!(
        kinds(&rig.events()),
        [
            "tripped cell_temp",
            "relay load1 false",
            "relay load2 false",
            "recovered cell_temp",
            "relay load1 true",
            "relay load2 true",
        ]
    );
    assert_eq!(rig.relays(), [Some(true), Some(true), Some(false)]);
    assert_eq!(
        rig.mosfet_writes, 0,
        "the charge MOSFET was never asked off"
    );
}

#[test]
fn temperature_latch_while_charging_asks_the_charge_mosfet_off() {
    let mut rig = Rig::start(0.5);
    rig.bench.borrow_mut().plant.flows.mppt_pv = Watts(1000);
    rig.run_to(30);
    assert!(rig.bench.borrow().daly.charge_mosfet());
    assert_eq!(
        rig.relays(),
        [Some(false), Some(false), Some(false)],
        "SOC 50 % < 60 %"
    );
    rig.published.clear();
    rig.faults(|f| f.over_temperature = true);
    rig.run_to(45);
    // Charging (current > 0): the rules want the charge MOSFET off; the simulated BMS has
    // already cut charging by its own over-temperature protection and reports it off, so
    // the bridge writes nothing (it never fights the BMS's own decision).
    let s = rig.last_state();
    assert_eq!(s["charge_mosfet"], false);
    assert_eq!(s["charge_mosfet_reported"], false);
    assert_eq!(s["latches"], serde_json::json!(["cell_temp"]));
    assert_eq!(rig.mosfet_writes, 0);
    rig.faults(|f| f.over_temperature = false);
    rig.run_to(70);
    assert_eq!(rig.last_state()["charge_mosfet"], true);
    assert_eq!(rig.last_state()["charge_mosfet_reported"], true);
    assert_eq!(
        kinds(&rig.events()),
        [
            "tripped cell_temp",
            "charge_mosfet false",
            "recovered cell_temp",
            "charge_mosfet true"
        ]
    );
    assert_eq!(
        rig.relays(),
        [Some(false), Some(false), Some(false)],
        "loads untouched"
    );
}

#[test]
fn charge_mosfet_writes_off_and_back_on_only_after_its_own_off() {
    let mut rig = Rig::start(0.5);
    rig.run_to(10);
    let w = |rig: &mut Rig, want, reported| {
        now_or_never(rig.daly.follow_charge_mosfet(want, reported)).unwrap()
    };
    assert!(!w(&mut rig, true, Some(true)), "nothing to change");
    assert!(!w(&mut rig, false, None), "no report, no write");
    assert!(
        !w(&mut rig, true, Some(false)),
        "the BMS's own off is not overridden"
    );
    assert!(w(&mut rig, false, Some(true)));
    assert!(
        !rig.bench.borrow().daly.charge_mosfet(),
        "the BMS switched it off"
    );
    assert!(w(&mut rig, true, Some(false)), "ours to switch back on");
    assert!(rig.bench.borrow().daly.charge_mosfet());
    assert!(
        !w(&mut rig, true, Some(false)),
        "once only: now it is the BMS's again"
    );
    // The writes on the wire: command 0xDA with data 0 (off), then 1 (on).
    let written = rig.bench.borrow().daly_written.clone();
    let writes: Vec<u8> = written
        .chunks(13)
        .filter(|f| f.len() == 13 && f[2] == 0xDA)
        .map(|f| f[4])
        .collect();
    assert_eq!(writes, [0, 1]);
}

#[test]
fn bms_silence_trips_comm_and_turns_loads_off() {
    let mut rig = Rig::start(0.7);
    rig.run_to(30);
    assert_eq!(rig.relays(), [Some(true), Some(true), Some(false)]);
    rig.faults(|f| f.silent = true);
    rig.run_to(85);
    assert_eq!(
        rig.relays(),
        [Some(true), Some(true), Some(false)],
        "within 60 s"
    );
    rig.run_to(95);
    assert_eq!(rig.relays(), [Some(false), Some(false), Some(false)]);
    assert!(rig.polls_failed >= 12);
    let s = rig.last_state();
    assert_eq!(s["alarm"], true);
    assert_eq!(s["latches"], serde_json::json!(["comm_bms"]));
    assert_eq!(s["sources"]["bms"]["fresh"], false);
    assert_eq!(
        s["sources"]["shunt"]["fresh"], true,
        "the shunt is its own source"
    );
    rig.faults(|f| f.silent = false);
    rig.run_to(110);
    let k = kinds(&rig.events());
    let tripped = k.iter().position(|e| e == "tripped comm_bms").unwrap();
    let recovered = k.iter().position(|e| e == "recovered comm_bms").unwrap();
    assert!(tripped < recovered);
    assert_eq!(rig.last_state()["alarm"], false);
}

#[test]
fn broker_away_the_rules_keep_switching() {
    let mut rig = Rig::start(0.7);
    rig.run_to(20);
    rig.broker_up = false;
    rig.published.clear();
    rig.faults(|f| f.over_temperature = true);
    rig.run_to(3600);
    // Locally: the latch tripped and the loads are off, with no broker to tell.
    assert_eq!(rig.relays(), [Some(false), Some(false), Some(false)]);
    assert!(rig.published.is_empty());
    assert!(
        rig.node.dropped() > 300,
        "old publications dropped, memory bounded"
    );
    rig.broker_up = true;
    rig.second();
    assert!(rig.published.len() <= voltwire_bms_node::node::QUEUE_LEN + 2);
    let s = rig.last_state();
    assert_eq!(s["latches"], serde_json::json!(["cell_temp"]));
    assert_eq!(s["relays"]["load1"]["on"], false);
    assert!(s["publications_dropped"].as_u64().unwrap() > 300);
}

#[test]
fn commands_switch_modes_and_bad_ones_switch_nothing() {
    let mut rig = Rig::start(0.7);
    rig.run_to(20);
    rig.published.clear();
    let now = Millis(rig.t_ms);
    assert!(rig.node.command(now, "vw/bridge/command/load1", b" OFF\n"));
    assert!(!rig.node.command(now, "vw/bridge/command/load2", b"maybe"));
    assert!(!rig.node.command(now, "vw/bridge/command/config", b"{}}"));
    assert!(
        !rig.node
            .message(now, "vw/bridge/command/load2", b"on", true)
    );
    assert!(!rig.node.command(now, "vw/bridge/command/load9", b"on"));
    assert!(!rig.node.command(now, "vw/other/command/load2", b"off"));
    rig.second();
    assert_eq!(rig.relays(), [Some(false), Some(true), Some(false)]);
    let results: Vec<J> = rig
        .published
        .iter()
        .filter(|p| p.topic.as_str() == "vw/bridge/command/result")
        .map(|p| serde_json::from_str(&p.payload).unwrap())
        .collect();
    let summary: Vec<(&str, bool, &str)> = results
        .iter()
        .map(|r| {
            (
                r["topic"].as_str().unwrap(),
                r["accepted"].as_bool().unwrap(),
                r["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // The Linux bridge's result objects and codes.
    assert_eq!(
        summary,
        [
            ("vw/bridge/command/load1", true, ""),
            ("vw/bridge/command/load2", false, "invalid_value"),
            ("vw/bridge/command/config", false, "bad_json"),
            ("vw/bridge/command/load2", false, "retained"),
            ("vw/bridge/command/load9", false, "unknown_command"),
        ]
    );
    let k = kinds(&rig.events());
    assert_eq!(
        k.iter().filter(|e| *e == "rejected").count(),
        4,
        "each bad command is an event: {k:?}"
    );
    assert!(k.contains(&"relay load1 false".to_owned()));
    assert_eq!(rig.last_state()["relays"]["load1"]["mode"], "off");
    assert_eq!(rig.last_state()["relays"]["load2"]["mode"], "auto");
}

/// A whole day: sun from 07:00 to 19:00 into the bank, a 300 W load, a hot hour at 14:00
/// (the BMS reports 70 °C), and one minute of BMS silence at 21:00.
#[test]
fn a_simulated_day() {
    let mut rig = Rig::start(0.35);
    let hour = 3600;
    while rig.t_ms < 24 * hour * 1000 {
        let s = rig.t_ms / 1000;
        let h = s / hour;
        {
            let mut b = rig.bench.borrow_mut();
            b.plant.flows.load = Watts(300);
            // A triangle of sun peaking at 13:00 with 1200 W.
            let sun = if (7..19).contains(&h) {
                let x = i64::try_from(s).unwrap() - 13 * 3600;
                1200 - (1200 * x.abs() / (6 * 3600))
            } else {
                0
            };
            b.plant.flows.mppt_pv = Watts(i32::try_from(sun).unwrap());
            let hot = (14 * hour..15 * hour).contains(&s);
            b.daly.faults_mut().over_temperature = hot;
            b.daly.faults_mut().silent = (21 * hour..21 * hour + 90).contains(&s);
        }
        rig.second();
    }
    let events = rig.events();
    let k = kinds(&events);
    let at = |x: &str| {
        events
            .iter()
            .zip(&k)
            .filter(|(_, n)| *n == x)
            .map(|(e, _)| e["at_s"].as_f64().unwrap())
            .collect::<Vec<_>>()
    };
    let hot = at("tripped cell_temp");
    assert_eq!(hot.len(), 1, "{k:?}");
    assert!((14.0 * 3600.0..14.0 * 3600.0 + 10.0).contains(&hot[0]));
    let cool = at("recovered cell_temp");
    assert_eq!(cool.len(), 1);
    assert!((15.0 * 3600.0..15.0 * 3600.0 + 10.0).contains(&cool[0]));
    let comm = at("tripped comm_bms");
    assert_eq!(comm.len(), 1, "{k:?}");
    assert!((21.0 * 3600.0 + 55.0..21.0 * 3600.0 + 70.0).contains(&comm[0]));
    assert_eq!(at("recovered comm_bms").len(), 1);
    // The loads came on during the day (SOC rose past the threshold) and never chattered.
    let load1 = at("relay load1 true").len() + at("relay load1 false").len();
    assert!(!at("relay load1 true").is_empty(), "{k:?}");
    assert!(load1 <= 12, "load1 switched {load1} times: {k:?}");
    // Every relay event matches a pin write, in order.
    let pin_writes: Vec<(usize, bool)> = rig.pins.borrow()[3..].to_vec();
    let relay_events: Vec<(usize, bool)> = events
        .iter()
        .filter(|e| e["event"] == "relay")
        .map(|e| {
            let i = match e["relay"].as_str().unwrap() {
                "load1" => 0,
                "load2" => 1,
                _ => 2,
            };
            (i, e["on"].as_bool().unwrap())
        })
        .collect();
    assert_eq!(pin_writes, relay_events);
    // Every publication is JSON on a topic of the scheme; the state every 10 s or on change.
    for p in &rig.published {
        assert!(
            ["vw/bridge/state", "vw/bridge/event"].contains(&p.topic.as_str()),
            "{}",
            p.topic
        );
        serde_json::from_str::<J>(&p.payload).unwrap();
    }
    let states = rig
        .published
        .iter()
        .filter(|p| p.topic.as_str() == "vw/bridge/state")
        .count();
    assert!((8640..8640 + 400).contains(&states), "{states} states");
    assert_eq!(rig.node.dropped(), 0);
}

/// Every `vw/bridge/config` publication (the retained echo), parsed.
fn config_echoes(rig: &Rig) -> Vec<J> {
    rig.published
        .iter()
        .filter(|p| p.topic.as_str() == "vw/bridge/config")
        .map(|p| {
            assert!(p.retain, "the echo is retained");
            serde_json::from_str(&p.payload).unwrap()
        })
        .collect()
}

#[test]
fn retained_config_at_boot_is_applied_before_the_hold_ends() {
    let mut rig = Rig::start(0.7);
    rig.run_to(2);
    let now = Millis(rig.t_ms);
    rig.node.connected(now);
    // The last run's echo, as the broker replays it after the subscription.
    assert!(rig.node.message(
        now,
        "vw/bridge/config",
        br#"{"load1_on_soc_pv_low_pct": 75, "cell_count": 8}"#,
        true
    ));
    assert_eq!(
        rig.node.rules().config().loads[0].on_soc_pv_low,
        voltwire_core::Permille(750)
    );
    rig.run_to(16);
    // SOC 70 %: load 2 (60 %) on after the hold, load 1 (now 75 %) stays off.
    assert_eq!(rig.relays(), [Some(false), Some(true), Some(false)]);
    let echoes = config_echoes(&rig);
    assert_eq!(
        echoes.len(),
        1,
        "one echo, the applied settings: {echoes:?}"
    );
    assert_eq!(echoes[0]["load1_on_soc_pv_low_pct"], 75.0);
    assert_eq!(echoes[0]["cell_diff_recover_v"], 0.02);
    assert_eq!(echoes[0].as_object().unwrap().len(), 28, "every key");
    // Our own echo coming back (or anything later on that topic) is not taken again.
    let before = *rig.node.rules().config();
    assert!(!rig.node.message(
        Millis(rig.t_ms),
        "vw/bridge/config",
        br#"{"load1_on_soc_pv_low_pct": 20}"#,
        true
    ));
    assert_eq!(*rig.node.rules().config(), before);
    rig.node.connected(Millis(rig.t_ms));
    rig.run_to(30);
    assert_eq!(
        config_echoes(&rig).len(),
        1,
        "a reconnection waits for nothing"
    );
}

#[test]
fn without_a_retained_config_the_compile_time_settings_are_echoed_after_the_wait() {
    let mut rig = Rig::start(0.7);
    rig.run_to(1);
    rig.node.connected(Millis(rig.t_ms));
    rig.run_to(3);
    assert!(config_echoes(&rig).is_empty(), "still waiting (3 s)");
    rig.run_to(4);
    let echoes = config_echoes(&rig);
    assert_eq!(echoes.len(), 1);
    let mut want = String::new();
    voltwire_bms_rules::settings::write_json(&mut want, &firmware_config()).unwrap();
    assert_eq!(echoes[0], serde_json::from_str::<J>(&want).unwrap());
    assert!(
        !rig.node
            .message(Millis(rig.t_ms), "vw/bridge/config", want.as_bytes(), true)
    );
}

#[test]
fn an_unusable_retained_config_changes_nothing_and_is_replaced() {
    for bad in [
        &br#"{"cell_diff_recover_v": 0.2}"#[..],
        br#"{"no_such_key": 1}"#,
        b"{not json",
    ] {
        let mut rig = Rig::start(0.7);
        rig.run_to(1);
        rig.node.connected(Millis(rig.t_ms));
        assert!(
            !rig.node
                .message(Millis(rig.t_ms), "vw/bridge/config", bad, true)
        );
        assert_eq!(*rig.node.rules().config(), firmware_config());
        rig.run_to(16);
        assert_eq!(rig.relays(), [Some(true), Some(true), Some(false)]);
        let rejected: Vec<J> = rig
            .events()
            .into_iter()
            .filter(|e| e["event"] == "rejected")
            .collect();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0]["retained"], true);
        let echoes = config_echoes(&rig);
        assert_eq!(echoes.len(), 1, "the effective settings replace it");
        assert_eq!(echoes[0]["cell_diff_recover_v"], 0.02);
    }
}

/// Config commands: a bad one is refused naming its key and changes nothing; a good one
/// moves the low-voltage threshold, and the discharging plant trips the latch exactly
/// when the pack voltage crosses the new threshold (and recovers above the new recovery
/// threshold once charged), where the default threshold would not have tripped.
#[test]
#[allow(clippy::too_many_lines, reason = "one scenario")]
fn config_commands_move_the_thresholds_and_the_latch_trips_there() {
    let mut rig = Rig::start(0.4);
    rig.bench.borrow_mut().plant.flows.discharge = Watts(1500);
    rig.run_to(30);
    rig.published.clear();
    let before = *rig.node.rules().config();
    let now = Millis(rig.t_ms);
    let cmd = "vw/bridge/command/config";
    for (payload, code, field) in [
        (
            &br#"{"low_voltage_trip_cell_v": 3.2, "no_such_key": 1}"#[..],
            "unknown_field",
            "no_such_key",
        ),
        (
            br#"{"low_voltage_trip_cell_v": 3.5}"#,
            "invalid_value",
            "low_voltage_recover_cell_v",
        ),
        (
            br#"{"low_voltage_trip_cell_v": 5.5}"#,
            "invalid_value",
            "low_voltage_trip_cell_v",
        ),
        (br#"{"cell_count": "16"}"#, "invalid_value", "cell_count"),
    ] {
        assert!(!rig.node.command(now, cmd, payload));
        assert_eq!(*rig.node.rules().config(), before, "nothing changed");
        let r: J = serde_json::from_str(&rig.node.pop().unwrap().payload).unwrap();
        assert_eq!(r["topic"], cmd);
        assert_eq!(r["accepted"], false);
        assert_eq!(r["code"], code, "{r}");
        assert!(r["reason"].as_str().unwrap().contains(field), "{r}");
        let e: J = serde_json::from_str(&rig.node.pop().unwrap().payload).unwrap();
        assert_eq!(e["event"], "rejected");
        assert!(rig.node.pop().is_none(), "no echo, nothing else");
    }
    // The threshold 10 mV per cell below where the pack is now.
    let pack_mv = rig.node.rules().voltage(now).unwrap().0;
    let trip_mv = pack_mv / 8 - 10;
    let payload = format!(
        r#"{{"low_voltage_trip_cell_v": {}.{:03}, "low_voltage_recover_cell_v": {}.{:03}}}"#,
        trip_mv / 1000,
        trip_mv % 1000,
        (trip_mv + 60) / 1000,
        (trip_mv + 60) % 1000
    );
    assert!(rig.node.command(now, cmd, payload.as_bytes()));
    let lv = rig.node.rules().config().low_voltage_per_cell;
    assert_eq!(lv.trip.0, trip_mv);
    assert_eq!(lv.recover.0, trip_mv + 60);
    rig.second();
    let echoes = config_echoes(&rig);
    assert_eq!(echoes.len(), 1);
    assert_eq!(
        echoes[0]["low_voltage_trip_cell_v"].to_string(),
        format!("{}.{:03}", trip_mv / 1000, trip_mv % 1000)
            .trim_end_matches('0')
            .to_owned()
    );
    // Discharge until the latch trips: exactly at the first second the pack is below
    // 8 × the new threshold.
    let threshold = trip_mv * 8;
    let mut below_at = None;
    let mut tripped_at = None;
    while rig.t_ms < 4 * 3600 * 1000 && tripped_at.is_none() {
        rig.second();
        let now = Millis(rig.t_ms);
        let v = rig.node.rules().voltage(now).unwrap().0;
        if below_at.is_none() && v < threshold {
            below_at = Some(rig.t_ms);
        }
        if rig
            .node
            .rules()
            .output()
            .latches
            .iter()
            .any(|l| l.name() == "low_voltage")
        {
            tripped_at = Some(rig.t_ms);
        }
    }
    assert!(below_at.is_some(), "the pack reached the new threshold");
    assert_eq!(tripped_at, below_at, "tripped at the crossing, not before");
    assert!(
        rig.node.rules().voltage(Millis(rig.t_ms)).unwrap() > before.low_voltage_trip(),
        "the default threshold (3.050 V/cell) would not have tripped yet"
    );
    assert_eq!(rig.relays(), [Some(false), Some(false), Some(false)]);
    // Charge: it recovers only above 8 × the new recovery threshold.
    {
        let mut b = rig.bench.borrow_mut();
        b.plant.flows.discharge = Watts(0);
        b.plant.flows.mppt_pv = Watts(800);
    }
    let recover = (trip_mv + 60) * 8;
    let mut recovered = false;
    while rig.t_ms < 10 * 3600 * 1000 && !recovered {
        rig.second();
        let now = Millis(rig.t_ms);
        recovered = !rig
            .node
            .rules()
            .output()
            .latches
            .iter()
            .any(|l| l.name() == "low_voltage");
        let v = rig.node.rules().voltage(now).unwrap().0;
        if recovered {
            assert!(v > recover, "{v} mV");
        } else {
            assert!(v <= recover || v > threshold, "latched at {v} mV");
        }
    }
    assert!(recovered);
    let k = kinds(&rig.events());
    let t = k.iter().position(|e| e == "tripped low_voltage").unwrap();
    let r = k.iter().position(|e| e == "recovered low_voltage").unwrap();
    assert!(t < r, "{k:?}");
    assert_eq!(
        k.iter().filter(|e| *e == "tripped low_voltage").count(),
        1,
        "no chatter: {k:?}"
    );
}
