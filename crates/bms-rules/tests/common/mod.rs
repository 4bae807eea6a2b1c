//! A test rig: one set of readings fed to every configured source, then a tick.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

use voltwire_bms_rules::{
    BmsReading, Config, Event, EventKind, Millis, Output, Relay, Rules, ShuntReading,
};
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille, Watts};

/// What every source reports.
#[derive(Debug, Clone, Copy)]
pub struct World {
    pub soc: i16,
    pub voltage: i32,
    pub current: i32,
    pub cell_min: i32,
    pub cell_max: i32,
    pub bms_temp: Option<i16>,
    pub pv: [i32; 2],
    pub sensors: [i16; 4],
    /// Sources that are silent (bms, shunt, charger0, charger1, sensors).
    pub silent_bms: bool,
    pub silent_shunt: bool,
    pub silent_charger: [bool; 2],
    pub silent_sensors: bool,
}

impl Default for World {
    fn default() -> Self {
        Self {
            soc: 500,
            voltage: 26_400,
            current: 0,
            cell_min: 3300,
            cell_max: 3305,
            bms_temp: Some(200),
            pv: [0, 0],
            sensors: [200; 4],
            silent_bms: false,
            silent_shunt: false,
            silent_charger: [false; 2],
            silent_sensors: false,
        }
    }
}

pub struct Rig {
    pub rules: Rules,
    pub now: Millis,
    pub world: World,
    pub events: Vec<Event>,
}

impl Rig {
    pub fn new(config: Config) -> Self {
        config.validate().unwrap();
        Self {
            rules: Rules::new(config, Millis(0)),
            now: Millis(0),
            world: World::default(),
            events: Vec::new(),
        }
    }

    /// Feed every non-silent source and tick at the current time.
    pub fn step(&mut self) -> Output {
        let w = self.world;
        let now = self.now;
        if !w.silent_bms {
            self.rules.update_bms(
                now,
                BmsReading {
                    pack: Millivolts(w.voltage),
                    current: Milliamps(w.current),
                    soc: Permille(w.soc),
                    cell_min: Millivolts(w.cell_min),
                    cell_max: Millivolts(w.cell_max),
                    temp_max: w.bms_temp.map(DeciCelsius),
                },
            );
        }
        if !w.silent_shunt && self.rules.config().shunt {
            self.rules.update_shunt(
                now,
                ShuntReading {
                    voltage: Millivolts(w.voltage),
                    current: Milliamps(w.current),
                    soc: Some(Permille(w.soc)),
                },
            );
        }
        for i in 0..2 {
            if !w.silent_charger[i] {
                self.rules
                    .update_charger(now, u8::try_from(i).unwrap(), Watts(w.pv[i]));
            }
        }
        if !w.silent_sensors {
            for (i, t) in (0u8..).zip(w.sensors) {
                self.rules.update_sensor(now, i, DeciCelsius(t));
            }
        }
        let out = self.rules.tick(now);
        while let Some(e) = self.rules.pop_event() {
            self.events.push(e);
        }
        out
    }

    /// Step every second for `ms` (stepping at the end time too).
    pub fn run(&mut self, ms: u64) -> Output {
        let end = self.now.0 + ms;
        let mut out = self.step();
        while self.now.0 < end {
            self.now = Millis((self.now.0 + 1000).min(end));
            out = self.step();
        }
        out
    }

    /// Past the start-up hold.
    pub fn started(config: Config) -> Self {
        let mut rig = Self::new(config);
        rig.run(15_000);
        rig
    }

    pub fn relay(&self, relay: Relay) -> bool {
        self.rules.output().relay(relay)
    }

    pub fn relay_events(&self, relay: Relay) -> Vec<bool> {
        self.events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Relay { relay: r, on, .. } if r == relay => Some(on),
                _ => None,
            })
            .collect()
    }

    pub fn take_events(&mut self) -> Vec<EventKind> {
        self.events.drain(..).map(|e| e.kind).collect()
    }
}
