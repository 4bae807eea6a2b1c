//! GPIO relays through the bridge core with fake lines (there is no GPIO chip here): each
//! line is opened already at its OFF level, driven OFF again at start, switched by the rules
//! with the active-low mapping, driven OFF at stop and then released — in that order. Also
//! a line that cannot be opened stops the start with the relay's field named.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use bms_bridge::app::{self, Clock as _, Core, MqttSink, Observed, Relays, SimRelays, TokioClock};
use bms_bridge::config::RelayBackend;
use bms_bridge::engine::{Engine, Input};
use bms_bridge::gpio::{GpioLine, GpioUrl};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use voltwire_bms_rules::{BmsReading, Config};
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};

/// Every fake line's events, in order: `(line, event)`.
static LOG: Mutex<Vec<(u32, &'static str)>> = Mutex::new(Vec::new());

struct Fake(u32);

impl GpioLine for Fake {
    fn set_level(&mut self, high: bool) -> io::Result<()> {
        if self.0 == 99 {
            return Err(io::Error::other("device gone"));
        }
        LOG.lock()
            .unwrap()
            .push((self.0, if high { "high" } else { "low" }));
        Ok(())
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        LOG.lock().unwrap().push((self.0, "released"));
    }
}

fn open_fake(url: &GpioUrl, high: bool) -> io::Result<Box<dyn GpioLine>> {
    if url.line == 66 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "permission denied",
        ));
    }
    LOG.lock()
        .unwrap()
        .push((url.line, if high { "opened high" } else { "opened low" }));
    Ok(Box::new(Fake(url.line)))
}

/// The events of `line` with repeated levels folded (the engine may re-assert a level).
fn events(line: u32) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for (l, e) in LOG.lock().unwrap().iter() {
        if *l == line && v.last() != Some(e) {
            v.push(e);
        }
    }
    v
}

fn gpio(url: &str) -> RelayBackend {
    RelayBackend::Gpio(GpioUrl::parse(url).unwrap())
}

#[tokio::test(start_paused = true)]
async fn gpio_relays_open_off_follow_the_rules_and_are_released_after_off_at_stop() {
    // load1 active-high on line 1, load2 active-low on line 2, the balancer simulated.
    let backends = [
        gpio("gpio:///dev/gpiochip0?line=1"),
        gpio("gpio:///dev/gpiochip0?line=2&active=low"),
        RelayBackend::Sim,
    ];
    let lines = app::open_gpio(&backends, Some(open_fake)).unwrap();
    assert_eq!(events(1), ["opened low"]);
    assert_eq!(events(2), ["opened high"]);
    let sim = SimRelays::default();
    let relays = Relays::new(backends, None, lines, sim.clone());
    // A BMS at 70 % SOC, every 5 s: the loads come on after the 15 s start-up hold.
    let (tx, rx) = mpsc::channel(16);
    let mut tasks = JoinSet::new();
    tasks.spawn(async move {
        loop {
            let r = BmsReading {
                pack: Millivolts(26_400),
                current: Milliamps(0),
                soc: Permille(700),
                cell_min: Millivolts(3_300),
                cell_max: Millivolts(3_305),
                temp_max: Some(DeciCelsius(250)),
            };
            if tx.send(Input::Bms(r, Some(true))).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    let clock = TokioClock::new(1);
    let config = Config {
        cell_count: 8,
        ..Config::default()
    };
    let engine = Engine::new(config, clock.now(), Vec::new());
    let (obs_tx, mut observed) = mpsc::unbounded_channel();
    let (mosfet, _mosfet_rx) = watch::channel(true);
    let core = Core {
        clock,
        tick: Duration::from_secs(1),
        state_every: Duration::from_secs(5),
        relays: Box::new(relays),
        sink: Box::new(MqttSink::new(None, Some(obs_tx))),
        mosfet,
        on_tick: None,
        web: None,
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let run = tokio::spawn(app::run_core(engine, core, rx, tasks, async move {
        let _ = stop_rx.await;
    }));
    let mut on = 0;
    tokio::time::timeout(Duration::from_secs(600), async {
        while on < 2 {
            if let Some(Observed::Event(e)) = observed.recv().await {
                if e["event"] == "relay" && e["on"] == true {
                    on += 1;
                }
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(sim.states(), [true, true, false]);
    stop_tx.send(()).unwrap();
    run.await.unwrap().unwrap();
    // Opened at OFF, OFF at start, ON (active-high: high; active-low: low), OFF at stop,
    // released after.
    assert_eq!(events(1), ["opened low", "low", "high", "low", "released"]);
    assert_eq!(
        events(2),
        ["opened high", "high", "low", "high", "released"]
    );
}

#[test]
fn a_line_that_cannot_be_opened_names_the_relay_and_the_fix() {
    let backends = [
        gpio("gpio:///dev/gpiochip0?line=5"),
        RelayBackend::Sim,
        gpio("gpio:///dev/gpiochip0?line=66"),
    ];
    let e = app::open_gpio(&backends, Some(open_fake)).unwrap_err();
    assert!(
        e.starts_with("relays.balancer: cannot open gpio:///dev/gpiochip0?line=66&active=high"),
        "{e}"
    );
    assert!(
        e.contains("permission denied") && e.contains("ls /dev/gpiochip*"),
        "{e}"
    );
    // The line opened before it is released again (the start failed as a whole).
    assert_eq!(events(5), ["opened low", "released"]);
    // A failed switch names the URL (the engine logs it and retries at the next tick).
    let backends = [
        gpio("gpio:///dev/gpiochip0?line=99"),
        RelayBackend::Sim,
        RelayBackend::Sim,
    ];
    let [Some(mut r), None, None] = app::open_gpio(&backends, Some(open_fake)).unwrap() else {
        panic!("one line");
    };
    let e = r.set(true).unwrap_err();
    assert!(e.contains("line=99") && e.contains("device gone"), "{e}");
    // A build without GPIO support refuses before opening anything.
    let e = app::open_gpio(&backends, None).unwrap_err();
    assert!(
        e.contains("relays.load1") && e.contains("no GPIO support"),
        "{e}"
    );
}
