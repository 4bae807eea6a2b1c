//! Simulated BMSes and inverters on in-process buses, for `--demo`, tests and the
//! benchmark: a `voltwire-sim` plant behind a Pylontech CAN BMS, and an inverter that sends
//! the keep-alive 0x305 and decodes what the gateway presents.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use voltwire_ess::{BatteryState, Millis, TelegramReader};
use voltwire_pylontech::can::{CanMessage as _, InverterRequest, Message};
use voltwire_runtime::can::{CanBus as _, CanFrame, VirtualNode};
use voltwire_sim::device::PylontechCanBms;
use voltwire_sim::{CanResponder as _, Faults, Plant, SimClock};

use crate::engine::REQUIRED;

/// A running simulated BMS.
#[derive(Debug)]
pub struct SimBms {
    /// Set to make the BMS go silent (and clear to bring it back).
    pub silent: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl SimBms {
    /// Stop the task.
    pub fn abort(&self) {
        self.task.abort();
    }
}

impl Drop for SimBms {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Run a Pylontech CAN BMS for `plant` on `node`, its plant advancing `speed` times faster
/// than real time; it sends its burst every second and answers 0x305 at once.
pub fn spawn_bms(node: VirtualNode, plant: Plant, speed: f64) -> SimBms {
    spawn_bms_with(node, plant, speed, Faults::default())
}

/// [`spawn_bms`] with `faults` (e.g. `cell_over_voltage`, as `voltwire sim pylontech-can
/// --fault cell-overvoltage`); `silent` stays under the control of [`SimBms::silent`].
pub fn spawn_bms_with(
    mut node: VirtualNode,
    mut plant: Plant,
    speed: f64,
    faults: Faults,
) -> SimBms {
    let silent = Arc::new(AtomicBool::new(faults.silent));
    let flag = Arc::clone(&silent);
    let task = tokio::spawn(async move {
        let mut bms = PylontechCanBms::new();
        *bms.faults_mut() = faults;
        let clock = SimClock::new(speed);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut out = Vec::new();
        loop {
            let heard = tokio::select! {
                _ = tick.tick() => None,
                f = node.recv() => match f {
                    Ok(f) => Some(f),
                    Err(_) => return,
                },
            };
            bms.faults_mut().silent = flag.load(Ordering::Relaxed);
            let now = plant.advance_to(clock.now());
            out.clear();
            match &heard {
                Some(f) => bms.on_frame(f, now, &plant, &mut out),
                None => bms.tick(now, &plant, &mut out),
            }
            for f in &out {
                if node.send(f).await.is_err() {
                    return;
                }
            }
        }
    });
    SimBms { silent, task }
}

/// What a simulated inverter has seen.
#[derive(Debug, Clone, Copy, Default)]
pub struct InverterView {
    /// The latest complete telegram, decoded.
    pub state: Option<BatteryState>,
    /// Complete telegrams received.
    pub telegrams: u64,
    /// When the latest telegram completed.
    pub at: Option<Instant>,
}

/// A running simulated inverter.
#[derive(Debug)]
pub struct SimInverter {
    /// What it has seen.
    pub view: watch::Receiver<InverterView>,
    task: JoinHandle<()>,
}

impl Drop for SimInverter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Run an inverter on `node`: it sends 0x305 every `keep_alive` (if given) and decodes the
/// BMS frames it receives.
pub fn spawn_inverter(mut node: VirtualNode, keep_alive: Option<Duration>) -> SimInverter {
    let (tx, view) = watch::channel(InverterView::default());
    let task = tokio::spawn(async move {
        // The gateway sends a burst's frames back to back; 20 ms keeps bursts sent in quick
        // succession (push mode) apart.
        let mut reader = TelegramReader::new(REQUIRED, 20);
        let start = Instant::now();
        let period = keep_alive.unwrap_or(Duration::from_secs(3600));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let req: Option<CanFrame> = InverterRequest::zeros().to_frame().ok();
        loop {
            tokio::select! {
                _ = tick.tick(), if keep_alive.is_some() => {
                    if let Some(r) = &req {
                        if node.send(r).await.is_err() {
                            return;
                        }
                    }
                }
                f = node.recv() => {
                    let Ok(f) = f else { return };
                    let Ok(m) = Message::from_frame(&f) else { continue };
                    let now = Millis(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
                    if let Some(Ok(s)) = reader.push(m, now) {
                        tx.send_modify(|v| {
                            v.state = Some(s);
                            v.telegrams += 1;
                            v.at = Some(Instant::now());
                        });
                    }
                }
            }
        }
    });
    SimInverter { view, task }
}
