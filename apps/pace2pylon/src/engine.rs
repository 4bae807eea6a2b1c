//! The shared state, the 1 s evaluation (merge → supervisor → rebalance) and the rebalance
//! state file.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use voltwire_ess::Millis;
use voltwire_ess::pace2pylon::{
    Decision, Merged, MeterCapacity, PackInput, Rebalance, RebalanceInput, RebalanceStep,
    Supervisor, SupervisorInput, grid_charge_granted, merge,
};

use crate::config::Settings;

/// Monotonic milliseconds since the app started (tokio's clock: paused in tests).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }

    /// Milliseconds since the start.
    pub fn now(&self) -> Millis {
        Millis(u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}

/// What the pack tasks write and the engine reads.
#[derive(Debug, Default)]
pub struct Shared {
    /// Per pack.
    pub packs: Vec<PackInput>,
    /// Per pack: switch the charge MOSFET back on (set by the engine, cleared by the task).
    pub unlock: Vec<bool>,
    /// Manually disabled (MQTT command).
    pub manual_disable: bool,
    /// The coulomb meter's last reading.
    pub meter: Option<voltwire_ess::pace2pylon::MeterInput>,
    /// The capacity the meter should hold (set by the engine, written by the meter task).
    pub meter_capacity_wanted: Option<voltwire_core::MilliampHours>,
    /// Per pack: its last full poll (0x42 then 0x44).
    pub polls: Vec<Option<PollTiming>>,
}

/// One pack's last full poll: when its 0x42 request started and how long the two exchanges
/// (0x42, 0x44) took, on the app's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollTiming {
    /// When the 0x42 request started.
    pub started: Millis,
    /// Until the 0x44 reply was in, ms.
    pub took_ms: u64,
}

impl Shared {
    /// `n` packs, nothing read yet.
    pub fn new(n: usize) -> Self {
        Self {
            packs: vec![PackInput::default(); n],
            unlock: vec![false; n],
            manual_disable: false,
            meter: None,
            meter_capacity_wanted: None,
            polls: vec![None; n],
        }
    }
}

/// What the inverter side answers from, published after every evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The merged battery; `None` until every pack has been read.
    pub merged: Option<Merged>,
    /// The supervisor's verdict.
    pub decision: Decision,
    /// The rebalance step.
    pub step: RebalanceStep,
    /// Per pack: its last reading (for per-module answers).
    pub packs: Vec<PackInput>,
    /// The last rebalance steps entered, oldest first (at most [`STEP_LOG`]).
    pub step_log: Vec<RebalanceStep>,
    /// The coulomb meter's last reading (when one is configured).
    pub meter: Option<voltwire_ess::pace2pylon::MeterInput>,
    /// Charging from the grid is granted now (rebalance step 2 inside a tariff window).
    pub grid_charge: bool,
    /// Per pack: its last full poll.
    pub polls: Vec<Option<PollTiming>>,
}

/// How many step changes a snapshot remembers.
pub const STEP_LOG: usize = 16;

impl Snapshot {
    /// Nothing known: both directions off.
    pub fn initial() -> Self {
        Self {
            merged: None,
            decision: Decision {
                charge: false,
                discharge: false,
                reasons: voltwire_ess::pace2pylon::Reasons(
                    voltwire_ess::pace2pylon::Reasons::MISSING_DATA,
                ),
                no_comm_packs: 0,
                rebalance_requested: false,
            },
            step: RebalanceStep::Idle,
            packs: Vec::new(),
            step_log: Vec::new(),
            meter: None,
            grid_charge: false,
            polls: Vec::new(),
        }
    }

    /// Whether the battery may be offered at all (something merged, a direction allowed).
    pub fn ready(&self) -> bool {
        self.merged.is_some() && (self.decision.charge || self.decision.discharge)
    }
}

/// Commands from MQTT / tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Manually disable (true) or enable.
    Disable(bool),
    /// Start a rebalance.
    RebalanceStart,
    /// Cancel a rebalance.
    RebalanceCancel,
}

/// Read the persisted rebalance step: `Idle` when there is no file; an error for a file
/// that cannot be read or does not name a step (the operator must look at it).
///
/// # Errors
/// I/O errors other than "not found"; `InvalidData` for unknown content.
pub fn load_step(path: &Path) -> io::Result<RebalanceStep> {
    match std::fs::read_to_string(path) {
        Ok(s) => RebalanceStep::from_name(s.trim()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {:?} is not a rebalance step (idle, raise, charge, unlock, restore_meter); fix or delete the file", path.display(), s.trim()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(RebalanceStep::Idle),
        Err(e) => Err(e),
    }
}

/// Write the step atomically: a temporary file in the same directory, synced, renamed.
///
/// # Errors
/// The I/O error.
pub fn store_step(path: &Path, step: RebalanceStep) -> io::Result<()> {
    use std::io::Write as _;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(step.name().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// The evaluation state.
#[derive(Debug)]
pub struct Engine {
    settings: Settings,
    supervisor: Supervisor,
    rebalance: Rebalance,
    step_log: Vec<RebalanceStep>,
}

impl Engine {
    /// An engine resuming the rebalance at `step`.
    pub fn new(settings: Settings, step: RebalanceStep) -> Self {
        Self {
            settings,
            supervisor: Supervisor::new(),
            rebalance: Rebalance::resume(step),
            step_log: Vec::new(),
        }
    }

    /// Apply a command; whether it changed anything.
    pub fn command(&mut self, shared: &Mutex<Shared>, cmd: Command) -> bool {
        match cmd {
            Command::Disable(on) => shared.lock().is_ok_and(|mut s| {
                let changed = s.manual_disable != on;
                s.manual_disable = on;
                changed
            }),
            Command::RebalanceStart => self.rebalance.start() && self.log_step(),
            Command::RebalanceCancel => self.rebalance.cancel() && self.log_step(),
        }
    }

    /// Remember the current step if it differs from the last remembered; always `true`.
    fn log_step(&mut self) -> bool {
        let step = self.rebalance.step();
        if self.step_log.last() != Some(&step) {
            if self.step_log.len() >= STEP_LOG {
                self.step_log.remove(0);
            }
            self.step_log.push(step);
        }
        true
    }

    /// One evaluation at `now`, `minute` being the local minute of the day (tariff windows).
    pub fn evaluate(&mut self, shared: &Mutex<Shared>, now: Millis, minute: u16) -> Snapshot {
        let Ok(mut sh) = shared.lock() else {
            return Snapshot::initial();
        };
        let raised = Rebalance::output(self.rebalance.step()).raise_charge_voltage;
        let has_meter = self.settings.meter.is_some();
        let meter = if has_meter { sh.meter } else { None };
        let merged = merge(&sh.packs, meter.as_ref(), &self.settings.merge, raised);
        let input = SupervisorInput {
            packs: &sh.packs,
            meter: meter.as_ref(),
            merged: merged.as_ref(),
            manual_disable: sh.manual_disable,
        };
        let decision = self.supervisor.step(&input, &self.settings.supervisor, now);
        if decision.rebalance_requested && self.settings.auto_rebalance && self.rebalance.start() {
            self.log_step();
            tracing::warn!("cell under-voltage: rebalance started");
        }
        if let Some(m) = &merged {
            let out = self.rebalance.update(
                &RebalanceInput {
                    voltage: m.voltage,
                    current: m.current,
                    balancing: m.balancing != 0,
                    locked: m.locked != 0,
                    meter: meter.map(|m| (m.capacity, m.remaining)),
                },
                &self.settings.rebalance,
                now,
            );
            if has_meter {
                let cfg = &self.settings.rebalance;
                sh.meter_capacity_wanted = Some(match out.meter_capacity {
                    MeterCapacity::Raised => cfg.raised_capacity(),
                    MeterCapacity::Normal => cfg.meter_capacity,
                });
            }
            if out.unlock_packs {
                for (i, u) in sh.unlock.iter_mut().enumerate() {
                    *u = i < 32 && m.locked & (1 << i) != 0;
                }
            }
        }
        let packs = sh.packs.clone();
        let polls = sh.polls.clone();
        drop(sh);
        self.log_step();
        Snapshot {
            merged,
            decision,
            step: self.rebalance.step(),
            packs,
            step_log: self.step_log.clone(),
            meter,
            grid_charge: grid_charge_granted(
                &Rebalance::output(self.rebalance.step()),
                &self.settings.grid_windows,
                minute,
            ),
            polls,
        }
    }
}

/// The local minute of the day from the wall clock (UTC + `offset_min`); the app edge is
/// the only place that reads it.
pub fn local_minute(offset_min: i16) -> u16 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let minutes = i64::try_from(secs / 60).unwrap_or(0) + i64::from(offset_min);
    u16::try_from(minutes.rem_euclid(1440)).unwrap_or(0)
}

/// Evaluate every `period`, publish the snapshot, persist step changes, apply commands.
/// Returns only on an error writing the state file (the process must not go on with a
/// step it cannot keep).
///
/// # Errors
/// The state file's I/O error.
pub async fn run(
    mut engine: Engine,
    shared: Arc<Mutex<Shared>>,
    clock: Clock,
    period: Duration,
    tx: watch::Sender<Snapshot>,
    mut commands: tokio::sync::mpsc::Receiver<Command>,
) -> io::Result<()> {
    let path = engine.settings.state_file.clone();
    let mut stored = engine.rebalance.step();
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some(cmd) = commands.recv() => {
                let changed = engine.command(&shared, cmd);
                tracing::info!(?cmd, changed, "command");
            }
        }
        let minute = local_minute(engine.settings.utc_offset_min);
        let snap = engine.evaluate(&shared, clock.now(), minute);
        if snap.step != stored {
            store_step(&path, snap.step)?;
            tracing::info!(
                from = stored.name(),
                to = snap.step.name(),
                "rebalance step"
            );
            stored = snap.step;
        }
        tx.send_replace(snap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};
    use voltwire_ess::pace2pylon::{PackAlarms, PackReading, PackSettings};

    fn settings() -> Settings {
        let text = "[inverter]\nlink = \"tcp://127.0.0.1:1\"\n[packs]\nlinks = [\"tcp://127.0.0.1:2\", \"tcp://127.0.0.1:3\"]\n\
                    [supervisor]\nrecovery_hold_s = 0\n[rebalance]\nstate_file = \"x\"\n";
        crate::config::Config::parse(text, Path::new("t.toml")).unwrap()
    }

    fn pack(alarms: u32) -> PackInput {
        PackInput {
            reading: Some((
                PackReading {
                    voltage: Millivolts(27_000),
                    current: Milliamps(0),
                    soc: Permille(990),
                    soh: Permille(1000),
                    remaining: MilliampHours(99_000),
                    full: MilliampHours(100_000),
                    cycles: 1,
                    cell_min: (Millivolts(3_300), 0),
                    cell_max: (Millivolts(3_400), 1),
                    temp_min: DeciCelsius(200),
                    temp_max: DeciCelsius(220),
                    alarms: PackAlarms(alarms),
                },
                Millis(0),
            )),
            settings: Some(PackSettings {
                over_voltage: Millivolts(28_800),
                under_voltage: Millivolts(22_400),
                charge_over_current: Milliamps(100_000),
                discharge_over_current: Milliamps(100_000),
            }),
        }
    }

    #[test]
    fn unlock_asks_only_the_locked_packs_to_switch_their_charge_mosfet_on() {
        let shared = Mutex::new(Shared::new(2));
        if let Ok(mut s) = shared.lock() {
            s.packs = vec![pack(0), pack(PackAlarms::CELL_OVER_VOLTAGE)];
        }
        let mut e = Engine::new(settings(), RebalanceStep::Unlock);
        let snap = e.evaluate(&shared, Millis(0), 0);
        assert_eq!(snap.step, RebalanceStep::Unlock, "pack 1 is still locked");
        assert_eq!(
            shared.lock().map(|s| s.unlock.clone()).ok(),
            Some(vec![false, true])
        );
        // The pack task switched it on and cleared its flag; the pack reports no lock.
        if let Ok(mut s) = shared.lock() {
            s.packs = vec![pack(0), pack(0)];
            s.unlock = vec![false, false];
        }
        let snap = e.evaluate(&shared, Millis(1), 0);
        assert_eq!(snap.step, RebalanceStep::RestoreMeter);
        assert_eq!(
            shared.lock().map(|s| s.unlock.clone()).ok(),
            Some(vec![false, false])
        );
    }

    #[test]
    fn grid_charge_only_in_step_two_and_inside_a_window() {
        let shared = Mutex::new(Shared::new(2));
        if let Ok(mut s) = shared.lock() {
            s.packs = vec![pack(0), pack(0)];
        }
        let mut cfg = settings();
        cfg.grid_windows = vec![voltwire_ess::pace2pylon::TariffWindow {
            start: 22 * 60,
            end: 6 * 60,
        }];
        // Step 2 never ends here (27.0 V is below the 27.8 V threshold).
        let mut e = Engine::new(cfg.clone(), RebalanceStep::Charge);
        assert!(e.evaluate(&shared, Millis(0), 23 * 60).grid_charge);
        assert!(!e.evaluate(&shared, Millis(1), 6 * 60).grid_charge);
        assert!(e.evaluate(&shared, Millis(2), 6 * 60 - 1).grid_charge);
        let mut idle = Engine::new(cfg, RebalanceStep::Idle);
        assert!(!idle.evaluate(&shared, Millis(0), 23 * 60).grid_charge);
    }

    #[test]
    fn the_state_file_round_trips_and_refuses_garbage() {
        let dir = std::env::temp_dir().join(format!("p2p-engine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state");
        assert_eq!(load_step(&path).unwrap(), RebalanceStep::Idle);
        for s in RebalanceStep::ALL {
            store_step(&path, s).unwrap();
            assert_eq!(load_step(&path).unwrap(), s);
        }
        assert!(!dir.join("state.tmp").exists());
        std::fs::write(&path, "charging").unwrap();
        let e = load_step(&path).unwrap_err();
        assert!(e.to_string().contains("fix or delete"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
