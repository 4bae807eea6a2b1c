//! A closed-loop rig: the real gateway (`app::run`) on in-process buses, BMS feeders that
//! send chosen states as real Pylontech frames, and simulated inverters decoding what the
//! gateway presents.

#![allow(dead_code, unreachable_pub, reason = "each test file uses a part")]

use std::path::Path;
use std::time::Duration;

use can_gateway::app::{self, Hooks};
use can_gateway::bus::VirtualBuses;
use can_gateway::config::Config;
use can_gateway::simulated::{InverterView, SimInverter, spawn_inverter};
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_ess::{BatteryState, EncodeOptions, frames};
use voltwire_runtime::can::{CanBus as _, CanFrame, VirtualNode};

/// A BMS state with the values that matter.
pub fn bms(cvl_mv: i32, ccl_ma: i32, dcl_ma: i32, soc_permille: i16) -> BatteryState {
    BatteryState {
        charge_voltage_limit: Millivolts(cvl_mv),
        charge_current_limit: Milliamps(ccl_ma),
        discharge_current_limit: Milliamps(dcl_ma),
        soc: Permille(soc_permille),
        soh: Permille(1000),
        voltage: Millivolts(52_000),
        current: Milliamps(-10_000),
        temperature: DeciCelsius(250),
        charge_enable: true,
        discharge_enable: true,
        module_count: 1,
        ..BatteryState::default()
    }
}

/// Send `s` as the Pylontech burst on `node`.
pub async fn send_state(node: &mut VirtualNode, s: &BatteryState) {
    for m in frames(s, &EncodeOptions::default()) {
        let (d, n) = m.emit().unwrap();
        let f = CanFrame::standard(m.id(), &d[..n]).unwrap();
        node.send(&f).await.unwrap();
    }
}

/// The rig.
pub struct Rig {
    /// Set an input's state; `None` makes it silent.
    pub inputs: Vec<watch::Sender<Option<BatteryState>>>,
    /// The inverters, in output order.
    pub inverters: Vec<SimInverter>,
    /// The gateway's snapshot after every tick.
    pub snapshot: watch::Receiver<Value>,
    /// The buses.
    pub virtuals: VirtualBuses,
    stop: Option<oneshot::Sender<()>>,
    gateway: JoinHandle<Result<(), String>>,
    feeders: Vec<JoinHandle<()>>,
}

impl Rig {
    /// Start the gateway with `toml` (inputs on `virtual://in<i>`, outputs on
    /// `virtual://out<o>`), one feeder per input sending every `period`, one inverter per
    /// entry of `keep_alive` (its 0x305 period, if any).
    #[allow(
        clippy::unused_async,
        reason = "async so that it is only called inside the runtime it spawns on"
    )]
    pub async fn start(
        toml: &str,
        initial: &[Option<BatteryState>],
        keep_alive: &[Option<Duration>],
        period: Duration,
    ) -> Self {
        let settings = Config::parse(toml, Path::new("test.toml")).unwrap();
        let virtuals = VirtualBuses::default();
        let mut inputs = Vec::new();
        let mut feeders = Vec::new();
        for (i, s) in initial.iter().enumerate() {
            let (tx, rx) = watch::channel(*s);
            let mut node = virtuals.get(&format!("in{i}")).node();
            feeders.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                loop {
                    tick.tick().await;
                    let s = *rx.borrow();
                    if let Some(s) = s {
                        send_state(&mut node, &s).await;
                    }
                }
            }));
            inputs.push(tx);
        }
        let inverters = keep_alive
            .iter()
            .enumerate()
            .map(|(o, k)| spawn_inverter(virtuals.get(&format!("out{o}")).node(), *k))
            .collect();
        let (snap_tx, snapshot) = watch::channel(Value::Null);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let hooks = Hooks {
            virtuals: virtuals.clone(),
            snapshot: Some(snap_tx),
            web_bound: None,
        };
        let gateway = tokio::spawn(app::run(settings, hooks, async move {
            let _ = stop_rx.await;
        }));
        Self {
            inputs,
            inverters,
            snapshot,
            virtuals,
            stop: Some(stop_tx),
            gateway,
            feeders,
        }
    }

    /// What inverter `o` has seen.
    pub fn seen(&self, o: usize) -> InverterView {
        *self.inverters[o].view.borrow()
    }

    /// Wait until inverter `o`'s latest state satisfies `pred`; the time it took.
    pub async fn wait_for(
        &self,
        o: usize,
        within: Duration,
        what: &str,
        pred: impl Fn(&BatteryState) -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            if self.seen(o).state.as_ref().is_some_and(&pred) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "inverter {o}: {what} not seen within {within:?}; last seen {:?}; gateway {}",
                self.seen(o).state,
                *self.snapshot.borrow()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Wait until the gateway snapshot satisfies `pred`.
    pub async fn wait_snapshot(&self, within: Duration, what: &str, pred: impl Fn(&Value) -> bool) {
        let start = Instant::now();
        loop {
            if pred(&self.snapshot.borrow()) {
                return;
            }
            assert!(
                start.elapsed() < within,
                "{what} not reached within {within:?}; gateway {}",
                *self.snapshot.borrow()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stop the gateway; it must end cleanly.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let r = tokio::time::timeout(Duration::from_secs(5), &mut self.gateway)
            .await
            .expect("gateway stops");
        r.unwrap().unwrap();
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.gateway.abort();
        for f in &self.feeders {
            f.abort();
        }
    }
}
