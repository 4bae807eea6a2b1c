//! One plant shared by every device of an installation, run in sim time with a script of
//! events ([`World`]); the serving layer's stations hold it as a [`SharedWorld`].

use core::time::Duration;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use voltwire_core::{Milliamps, Watts};

use crate::device::LoadProfile;
use crate::{Faults, Flows, Plant, SimClock};

/// What a scripted event does.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Device `device` stops answering (its port stays open: open but silent).
    Silent {
        /// Device index.
        device: usize,
    },
    /// Device `device` is healthy again: every fault a script raised on it is cleared.
    Back {
        /// Device index.
        device: usize,
    },
    /// A fault is raised on device `device` (its [`Faults`] OR-ed with `faults`).
    Fault {
        /// Device index.
        device: usize,
        /// The faults to raise.
        faults: Faults,
    },
    /// Cell `cell` (0-based) of plant pack `pack` drifts by `soc` (a fraction of its
    /// capacity, −1..=1).
    CellDrift {
        /// Pack index.
        pack: usize,
        /// Cell index, 0-based.
        cell: usize,
        /// The change of the cell's state of charge.
        soc: f64,
    },
    /// The house load steps to this power.
    Load(Watts),
    /// The AC-coupled PV steps to this power.
    Pv(Watts),
    /// The charger steps to this power.
    Charge(Watts),
    /// The inverter/discharger steps to this power.
    Discharge(Watts),
}

/// A scripted event: `action` at sim time `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Sim time.
    pub at: Duration,
    /// What happens.
    pub action: Action,
}

/// Which PV flow the sun drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PvFeed {
    /// DC PV through the MPPTs ([`Flows::mppt_pv`]).
    Mppt,
    /// AC-coupled PV seen by the grid meter ([`Flows::pv`]).
    Ac,
}

/// A day in sim time: the sun's PV power and the afternoon's warmth.
///
/// Sim time 0 is `start_hour` o'clock; the PV is `peak × sin(π (h − sunrise) / (sunset −
/// sunrise))` between sunrise and sunset (its peak half-way, at solar noon) and 0 at night;
/// the ambient of every pack is its configured one plus `heat_c × exp(−((h − heat_peak_hour)
/// / heat_width_h)²)`. A scene's `--speed` runs this day faster, as everything else.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sun {
    /// Hour of the day at sim time 0.
    pub start_hour: f64,
    /// Hour the PV starts.
    pub sunrise: f64,
    /// Hour the PV ends.
    pub sunset: f64,
    /// PV power at solar noon.
    pub peak: Watts,
    /// The flow it drives.
    pub feeds: PvFeed,
    /// The afternoon's warmth above the packs' ambient at its peak, °C (0: none).
    pub heat_c: f64,
    /// Hour of the warmest time.
    pub heat_peak_hour: f64,
    /// How long the warmth lasts around its peak, h.
    pub heat_width_h: f64,
}

impl Sun {
    /// Hour of the day (0..24) at sim time `t`.
    pub fn hour(&self, t: Duration) -> f64 {
        (self.start_hour + t.as_secs_f64() / 3600.0).rem_euclid(24.0)
    }

    /// The PV power at `hour`.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a fraction of a bounded power"
    )]
    pub fn power(&self, hour: f64) -> Watts {
        let day = self.sunset - self.sunrise;
        if !(day > 0.0 && hour > self.sunrise && hour < self.sunset) {
            return Watts(0);
        }
        let x = core::f64::consts::PI * (hour - self.sunrise) / day;
        Watts((f64::from(self.peak.0) * x.sin()).round().max(0.0) as i32)
    }

    /// The warmth above ambient at `hour`, °C.
    pub fn heat(&self, hour: f64) -> f64 {
        if self.heat_width_h <= 0.0 {
            return 0.0;
        }
        let z = (hour - self.heat_peak_hour) / self.heat_width_h;
        self.heat_c * (-(z * z)).exp()
    }
}

/// A relay-switched consumer on the bank: a load, a balancer, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayLoad {
    /// The scene device that is the relay.
    pub device: usize,
    /// The DC load it switches on the bank.
    pub load: Watts,
    /// The balancing current it switches (moved from each pack's fullest cell to its
    /// emptiest).
    pub balance: Milliamps,
}

/// The plant, its clock, the devices' faults and the script still to come.
#[derive(Debug)]
pub struct World {
    plant: Plant,
    clock: SimClock,
    /// The faults of each scene device (index = device).
    faults: Vec<Faults>,
    /// The configured faults, restored by [`Action::Back`].
    configured: Vec<Faults>,
    /// Events still to come, latest first (popped from the end).
    script: Vec<Event>,
    /// Events applied so far, in order.
    applied: Vec<Event>,
    /// How the house load and the AC PV vary around their base levels.
    profiles: (LoadProfile, LoadProfile),
    /// The base levels of the house load and the AC PV (what the flows and the events set).
    base: (Watts, Watts),
    /// The day's sun and warmth, if any.
    sun: Option<Sun>,
    /// Each pack's configured ambient, °C (the sun's warmth goes on top).
    ambient: Vec<f64>,
    /// The relay-switched consumers and whether each is on.
    relays: Vec<(RelayLoad, bool)>,
}

impl World {
    /// `plant` running `speed` times faster than real time, with `devices` devices healthy
    /// at first.
    pub fn new(plant: Plant, speed: f64, devices: usize) -> Self {
        Self::with_clock(plant, SimClock::new(speed), devices)
    }

    /// The same with a given clock.
    pub fn with_clock(plant: Plant, clock: SimClock, devices: usize) -> Self {
        Self {
            clock,
            faults: vec![Faults::default(); devices],
            configured: vec![Faults::default(); devices],
            script: Vec::new(),
            applied: Vec::new(),
            profiles: (LoadProfile::Constant, LoadProfile::Constant),
            base: (plant.flows.load, plant.flows.pv),
            sun: None,
            ambient: plant
                .packs()
                .iter()
                .map(|p| p.config().ambient_celsius)
                .collect(),
            relays: Vec::new(),
            plant,
        }
    }

    /// Let the house load and the AC PV follow `load` and `pv` around their levels now
    /// (and as [`Action::Load`] / [`Action::Pv`] or [`World::set_flows`] set them).
    #[must_use]
    pub fn with_profiles(mut self, load: LoadProfile, pv: LoadProfile) -> Self {
        self.profiles = (load, pv);
        self.follow_profiles();
        self
    }

    /// Set the flows (the load and PV as base levels of their profiles).
    pub fn set_flows(&mut self, flows: Flows) {
        self.base = (flows.load, flows.pv);
        self.plant.flows = flows;
        self.follow_profiles();
    }

    fn follow_profiles(&mut self) {
        let t = self.plant.time();
        self.plant.flows.load = self.profiles.0.load(self.base.0, t);
        self.plant.flows.pv = self.profiles.1.load(self.base.1, t);
        if let Some(sun) = self.sun {
            let h = sun.hour(t);
            match sun.feeds {
                PvFeed::Mppt => self.plant.flows.mppt_pv = sun.power(h),
                PvFeed::Ac => self.plant.flows.pv = sun.power(h),
            }
            let heat = sun.heat(h);
            for (p, base) in self.plant.packs_mut().iter_mut().zip(&self.ambient) {
                p.set_ambient_celsius(base + heat);
            }
        }
    }

    /// Let `sun` drive its PV flow and the packs' ambient (each scripted or set level of
    /// that flow is then overridden by the sun).
    #[must_use]
    pub fn with_sun(mut self, sun: Sun) -> Self {
        self.sun = Some(sun);
        self.follow_profiles();
        self
    }

    /// The day's sun, if any.
    pub fn sun(&self) -> Option<&Sun> {
        self.sun.as_ref()
    }

    /// Add relay-switched consumers, all off at first.
    #[must_use]
    pub fn with_relays(mut self, relays: impl IntoIterator<Item = RelayLoad>) -> Self {
        self.relays.extend(relays.into_iter().map(|r| (r, false)));
        self
    }

    /// Switch the relay that is device `device` (at the sim time now: the plant is
    /// advanced first); `false` when no relay is that device.
    pub fn set_relay(&mut self, device: usize, on: bool) -> bool {
        if !self.relays.iter().any(|(r, _)| r.device == device) {
            return false;
        }
        self.advance();
        for (r, state) in &mut self.relays {
            if r.device == device {
                *state = on;
            }
        }
        self.follow_relays();
        true
    }

    /// Whether the relay that is device `device` is on (`None`: no such relay).
    pub fn relay(&self, device: usize) -> Option<bool> {
        self.relays
            .iter()
            .find(|(r, _)| r.device == device)
            .map(|(_, on)| *on)
    }

    fn follow_relays(&mut self) {
        let on = || self.relays.iter().filter(|(_, on)| *on).map(|(r, _)| r);
        let load = on().fold(0i32, |a, r| a.saturating_add(r.load.0));
        let balance = on().fold(0i32, |a, r| a.saturating_add(r.balance.0));
        self.plant.set_dc_load(Watts(load));
        self.plant.set_balancer(Milliamps(balance));
    }

    /// Start device `device` with `faults` (and return to them on [`Action::Back`]).
    #[must_use]
    pub fn with_faults(mut self, device: usize, faults: Faults) -> Self {
        if let Some(f) = self.faults.get_mut(device) {
            *f = faults;
        }
        if let Some(f) = self.configured.get_mut(device) {
            *f = faults;
        }
        self
    }

    /// Add the events of `script` (any order; events at the same time keep their order).
    #[must_use]
    pub fn with_script(mut self, script: impl IntoIterator<Item = Event>) -> Self {
        let mut all: Vec<Event> = self.script.drain(..).rev().collect();
        all.extend(script);
        all.sort_by_key(|e| e.at);
        all.reverse();
        self.script = all;
        self
    }

    /// Into a [`SharedWorld`].
    pub fn shared(self) -> SharedWorld {
        Arc::new(Mutex::new(self))
    }

    /// Its clock.
    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// The plant.
    pub fn plant(&self) -> &Plant {
        &self.plant
    }

    /// The plant, to change it (devices' [`crate::PlantCommand`]s).
    pub fn plant_mut(&mut self) -> &mut Plant {
        &mut self.plant
    }

    /// The faults of device `device` now (healthy for an unknown index).
    pub fn faults(&self, device: usize) -> Faults {
        self.faults.get(device).copied().unwrap_or_default()
    }

    /// The events applied so far, in order.
    pub fn applied(&self) -> &[Event] {
        &self.applied
    }

    /// Run to the clock's now; the sim time.
    pub fn advance(&mut self) -> Duration {
        let now = self.clock.now();
        self.advance_to(now)
    }

    /// Run the plant to `now`, applying every scripted event due by then at its own time;
    /// the plant's time afterwards.
    pub fn advance_to(&mut self, now: Duration) -> Duration {
        while let Some(e) = self.script.last().copied() {
            if e.at > now {
                break;
            }
            self.script.pop();
            self.run_to(e.at);
            self.apply(e.action);
            self.applied.push(e);
        }
        self.run_to(now);
        self.plant.time()
    }

    /// Run the plant to `now` in steps of at most 1 s, the profiles and the sun followed
    /// before each.
    fn run_to(&mut self, now: Duration) {
        while self.plant.time() < now {
            self.follow_profiles();
            let next = now.min(self.plant.time() + Duration::from_secs(1));
            self.plant.advance_to(next);
        }
        self.follow_profiles();
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Silent { device } => {
                if let Some(f) = self.faults.get_mut(device) {
                    f.silent = true;
                }
            }
            Action::Back { device } => {
                if let (Some(f), Some(c)) =
                    (self.faults.get_mut(device), self.configured.get(device))
                {
                    *f = *c;
                }
            }
            Action::Fault { device, faults } => {
                if let Some(f) = self.faults.get_mut(device) {
                    *f = merge(*f, faults);
                }
            }
            Action::CellDrift { pack, cell, soc } => {
                if let Some(p) = self.plant.packs_mut().get_mut(pack) {
                    p.drift_cell(cell, soc);
                }
            }
            Action::Load(w) => {
                self.base.0 = w;
                self.follow_profiles();
            }
            Action::Pv(w) => {
                self.base.1 = w;
                self.follow_profiles();
            }
            Action::Charge(w) => self.plant.flows.charge = w,
            Action::Discharge(w) => self.plant.flows.discharge = w,
        }
    }
}

/// `a` with every fault of `b` raised too.
pub(crate) fn merge(a: Faults, b: Faults) -> Faults {
    Faults {
        silent: a.silent || b.silent,
        delay: a.delay.max(b.delay),
        garbage: a.garbage || b.garbage,
        bad_checksum: a.bad_checksum || b.bad_checksum,
        drop_port: a.drop_port || b.drop_port,
        cell_over_voltage: a.cell_over_voltage || b.cell_over_voltage,
        over_temperature: a.over_temperature || b.over_temperature,
    }
}

/// A [`World`] shared by the devices serving it.
pub type SharedWorld = Arc<Mutex<World>>;

/// Lock `world` (a panic elsewhere while it was held does not poison it for the others).
pub fn lock(world: &SharedWorld) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn events_apply_in_time_order_at_their_time() {
        let plant = Plant::single(16, 0.5);
        let s = Duration::from_secs;
        let mut w = World::new(plant, 1.0, 2)
            .with_faults(
                1,
                Faults {
                    garbage: true,
                    ..Faults::default()
                },
            )
            .with_script([
                Event {
                    at: s(20),
                    action: Action::Back { device: 1 },
                },
                Event {
                    at: s(10),
                    action: Action::Silent { device: 1 },
                },
                Event {
                    at: s(5),
                    action: Action::Load(Watts(900)),
                },
            ]);
        assert_eq!(w.advance_to(s(4)), s(4));
        assert_eq!(w.plant().flows.load, Watts(0));
        w.advance_to(s(12));
        assert_eq!(w.plant().flows.load, Watts(900));
        assert!(w.faults(1).silent && w.faults(1).garbage);
        assert!(!w.faults(0).silent);
        w.advance_to(s(30));
        assert_eq!(
            w.faults(1),
            Faults {
                garbage: true,
                ..Faults::default()
            }
        );
        let at: Vec<_> = w.applied().iter().map(|e| e.at).collect();
        assert_eq!(at, vec![s(5), s(10), s(20)]);
    }

    #[test]
    fn load_follows_its_profile_around_the_scripted_level() {
        let s = Duration::from_secs;
        let mut plant = Plant::single(16, 0.5);
        plant.flows.load = Watts(1000);
        let mut w = World::new(plant, 1.0, 0)
            .with_profiles(LoadProfile::Step, LoadProfile::Constant)
            .with_script([Event {
                at: s(25),
                action: Action::Load(Watts(2000)),
            }]);
        w.advance_to(s(5));
        assert_eq!(w.plant().flows.load, Watts(1000));
        w.advance_to(s(15));
        assert_eq!(w.plant().flows.load, Watts(1500));
        w.advance_to(s(26));
        assert_eq!(w.plant().flows.load, Watts(1000), "the new level, at 50 %");
    }

    #[test]
    fn a_drifting_cell_moves_alone() {
        let mut w = World::new(Plant::single(4, 0.5), 1.0, 0).with_script([Event {
            at: Duration::from_secs(1),
            action: Action::CellDrift {
                pack: 0,
                cell: 2,
                soc: -0.45,
            },
        }]);
        let before = w.plant().pack(0).unwrap().cell_voltages();
        w.advance_to(Duration::from_secs(2));
        let after = w.plant().pack(0).unwrap().cell_voltages();
        assert!(after[2].0 < before[2].0 - 100, "{before:?} {after:?}");
        assert_eq!(after[0], before[0]);
    }
}
