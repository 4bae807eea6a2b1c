//! The state machine: readings in (each stamped with `now`), [`Rules::tick`] → outputs and
//! events.

use heapless::Deque;
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille, Watts};

use crate::config::{Config, MAX_CHARGERS, MAX_SENSORS, SensorRole};
use crate::filter::JumpFilter;
use crate::pv::PvAverage;
use crate::types::{
    BmsReading, Event, EventKind, Field, Latch, Latches, Millis, Mode, Output, Reason, Relay,
    ShuntReading, Source,
};

/// How many events the queue holds; when full, the oldest is dropped and counted.
pub const EVENT_CAPACITY: usize = 32;

#[derive(Debug, Clone, Copy, Default)]
struct Bms {
    seen: Option<Millis>,
    pack: Millivolts,
    current: Milliamps,
    soc: Permille,
    cell_min: Millivolts,
    cell_max: Millivolts,
    cells_known: bool,
    temp_max: Option<DeciCelsius>,
    diff_filter: JumpFilter,
}

#[derive(Debug, Clone, Copy, Default)]
struct Shunt {
    seen: Option<Millis>,
    voltage: Option<Millivolts>,
    current: Milliamps,
    soc: Option<Permille>,
    soc_filter: JumpFilter,
    voltage_filter: JumpFilter,
}

#[derive(Debug, Clone, Copy, Default)]
struct Charger {
    seen: Option<Millis>,
    power: Watts,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sensor {
    seen: Option<Millis>,
    temp: Option<DeciCelsius>,
    filter: JumpFilter,
}

/// The bridge's rules: feed readings as they arrive, call [`Rules::tick`] regularly (e.g.
/// every second), apply [`Output`] and publish [`Rules::pop_event`]s.
#[derive(Debug, Clone)]
pub struct Rules {
    config: Config,
    start: Millis,
    started: bool,
    bms: Bms,
    shunt: Shunt,
    chargers: [Charger; MAX_CHARGERS],
    sensors: [Sensor; MAX_SENSORS],
    pv: PvAverage,
    latches: Latches,
    cell_temp_charge_off: bool,
    cell_temp_loads_off: bool,
    modes: [Mode; 3],
    auto_on: [bool; 3],
    output: Output,
    events: Deque<Event, EVENT_CAPACITY>,
    events_dropped: u32,
}

impl Rules {
    /// Start the rules at `now` with everything off. Sources count their age from `now` until
    /// they first report.
    pub fn new(config: Config, now: Millis) -> Self {
        Self {
            config,
            start: now,
            started: false,
            bms: Bms::default(),
            shunt: Shunt::default(),
            chargers: [Charger::default(); MAX_CHARGERS],
            sensors: [Sensor::default(); MAX_SENSORS],
            pv: PvAverage::new(now),
            latches: Latches::default(),
            cell_temp_charge_off: false,
            cell_temp_loads_off: false,
            modes: [Mode::Auto; 3],
            auto_on: [false; 3],
            output: Output {
                relays: [false; 3],
                charge_mosfet: true,
                latches: Latches::default(),
                pv_high: false,
                auto_active: false,
            },
            events: Deque::new(),
            events_dropped: 0,
        }
    }

    /// The configuration in use.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// Replace the configuration (e.g. a validated retained MQTT setting). Latches, modes and
    /// relay states are kept; the new thresholds apply from the next tick. Before the
    /// start-up hold has ended nothing was switched automatically yet, so the automatic
    /// on/off states are dropped and derived again from the new thresholds: settings that
    /// arrive during the hold (the firmware's retained config) act as if they had been there
    /// from the start.
    pub fn set_config(&mut self, config: Config) {
        self.config = config;
        if !self.started {
            self.auto_on = [false; 3];
        }
    }

    fn push(&mut self, at: Millis, kind: EventKind) {
        if self.events.is_full() {
            self.events.pop_front();
            self.events_dropped = self.events_dropped.saturating_add(1);
        }
        // Cannot fail: a slot was just freed if needed.
        let _ = self.events.push_back(Event { at, kind });
    }

    /// The oldest unread event.
    pub fn pop_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Events dropped because the queue was full (the caller read too rarely).
    pub const fn events_dropped(&self) -> u32 {
        self.events_dropped
    }

    /// A BMS reading received at `now`. A cell difference that jumped more than the filter
    /// allows is discarded (the cell extremes keep their last values); the rest is taken.
    pub fn update_bms(&mut self, now: Millis, r: BmsReading) {
        let f = self.config.filters;
        self.bms.seen = Some(now);
        self.bms.pack = r.pack;
        self.bms.current = r.current;
        self.bms.soc = r.soc;
        self.bms.temp_max = r.temp_max;
        let diff = r.cell_max.0.saturating_sub(r.cell_min.0);
        if self
            .bms
            .diff_filter
            .offer(diff, f.cell_diff_jump.0, f.max_discards)
        {
            self.bms.cell_min = r.cell_min;
            self.bms.cell_max = r.cell_max;
            self.bms.cells_known = true;
        } else {
            self.push(
                now,
                EventKind::Discarded {
                    source: Source::Bms,
                    field: Field::CellDiff,
                },
            );
        }
    }

    /// A SmartShunt reading received at `now`; SOC and voltage jumps are filtered.
    pub fn update_shunt(&mut self, now: Millis, r: ShuntReading) {
        let f = self.config.filters;
        self.shunt.seen = Some(now);
        self.shunt.current = r.current;
        if self
            .shunt
            .voltage_filter
            .offer(r.voltage.0, f.voltage_jump.0, f.max_discards)
        {
            self.shunt.voltage = Some(r.voltage);
        } else {
            self.push(
                now,
                EventKind::Discarded {
                    source: Source::Shunt,
                    field: Field::Voltage,
                },
            );
        }
        if let Some(soc) = r.soc {
            if self.shunt.soc_filter.offer(
                i32::from(soc.0),
                i32::from(f.soc_jump.0),
                f.max_discards,
            ) {
                self.shunt.soc = Some(soc);
            } else {
                self.push(
                    now,
                    EventKind::Discarded {
                        source: Source::Shunt,
                        field: Field::Soc,
                    },
                );
            }
        }
    }

    /// A solar charger's PV power received at `now` (`index` 0 or 1; others are ignored).
    pub fn update_charger(&mut self, now: Millis, index: u8, pv_power: Watts) {
        if let Some(c) = self.chargers.get_mut(usize::from(index)) {
            c.seen = Some(now);
            c.power = pv_power;
        }
    }

    /// A temperature sensor's reading received at `now` (`index` 0..4; others are ignored).
    /// A jump beyond the filter is discarded and does not refresh the sensor's age.
    pub fn update_sensor(&mut self, now: Millis, index: u8, temp: DeciCelsius) {
        let f = self.config.filters;
        let Some(s) = self.sensors.get_mut(usize::from(index)) else {
            return;
        };
        if s.filter
            .offer(i32::from(temp.0), i32::from(f.temp_jump.0), f.max_discards)
        {
            s.seen = Some(now);
            s.temp = Some(temp);
        } else {
            self.push(
                now,
                EventKind::Discarded {
                    source: Source::Sensor(index),
                    field: Field::Temperature,
                },
            );
        }
    }

    /// The user sets a relay's mode (validated by the caller's parser: [`Mode::from_name`]).
    /// Applied at the next tick; a latch still wins over `on`.
    pub fn set_mode(&mut self, now: Millis, relay: Relay, mode: Mode) {
        let i = relay.index();
        if self.modes.get(i) == Some(&mode) {
            return;
        }
        if let Some(m) = self.modes.get_mut(i) {
            *m = mode;
        }
        self.push(
            now,
            EventKind::Mode {
                relay,
                mode,
                by_user: true,
            },
        );
    }

    /// The user's mode of a relay.
    pub fn mode(&self, relay: Relay) -> Mode {
        self.modes.get(relay.index()).copied().unwrap_or_default()
    }

    /// The outputs of the last tick.
    pub const fn output(&self) -> &Output {
        &self.output
    }

    fn timeout(&self, source: Source) -> u64 {
        match source {
            Source::Bms => self.config.timeouts.bms_ms,
            Source::Shunt | Source::Charger(_) => self.config.timeouts.vedirect_ms,
            Source::Sensor(_) => self.config.timeouts.sensor_ms,
        }
    }

    fn seen(&self, source: Source) -> Option<Millis> {
        match source {
            Source::Bms => self.bms.seen,
            Source::Shunt => self.shunt.seen,
            Source::Charger(i) => self.chargers.get(usize::from(i)).and_then(|c| c.seen),
            Source::Sensor(i) => self.sensors.get(usize::from(i)).and_then(|s| s.seen),
        }
    }

    /// Milliseconds since `source` last reported; `None` if it never did.
    pub fn age(&self, source: Source, now: Millis) -> Option<u64> {
        self.seen(source).map(|t| now.since(t))
    }

    /// Whether `source` reported within its own timeout.
    pub fn is_fresh(&self, source: Source, now: Millis) -> bool {
        self.age(source, now)
            .is_some_and(|age| age <= self.timeout(source))
    }

    /// Whether `source` has been silent longer than its timeout; a source that never
    /// reported counts from the start of the rules.
    pub fn is_timed_out(&self, source: Source, now: Millis) -> bool {
        let seen = self.seen(source).unwrap_or(self.start);
        now.since(seen) > self.timeout(source)
    }

    /// State of charge used by the rules: the SmartShunt's when configured and fresh, else
    /// the BMS's when fresh.
    pub fn soc(&self, now: Millis) -> Option<Permille> {
        if self.config.shunt && self.is_fresh(Source::Shunt, now) {
            if let Some(soc) = self.shunt.soc {
                return Some(soc);
            }
        }
        self.is_fresh(Source::Bms, now).then_some(self.bms.soc)
    }

    /// Pack voltage used by the rules: the SmartShunt's when configured and fresh, else the
    /// BMS's when fresh.
    pub fn voltage(&self, now: Millis) -> Option<Millivolts> {
        if self.config.shunt && self.is_fresh(Source::Shunt, now) {
            if let Some(v) = self.shunt.voltage {
                return Some(v);
            }
        }
        self.is_fresh(Source::Bms, now).then_some(self.bms.pack)
    }

    /// Battery current (> 0 charging): the SmartShunt's when configured and fresh, else the
    /// BMS's when fresh.
    pub fn current(&self, now: Millis) -> Option<Milliamps> {
        if self.config.shunt && self.is_fresh(Source::Shunt, now) {
            return Some(self.shunt.current);
        }
        self.is_fresh(Source::Bms, now).then_some(self.bms.current)
    }

    /// Lowest and highest cell voltage, when the BMS is fresh.
    pub fn cells(&self, now: Millis) -> Option<(Millivolts, Millivolts)> {
        (self.bms.cells_known && self.is_fresh(Source::Bms, now))
            .then_some((self.bms.cell_min, self.bms.cell_max))
    }

    /// Highest fresh temperature of a role: cell temperatures include the BMS's own.
    pub fn temperature(&self, role: SensorRole, now: Millis) -> Option<DeciCelsius> {
        let mut max: Option<DeciCelsius> = None;
        if role == SensorRole::Cell && self.is_fresh(Source::Bms, now) {
            max = self.bms.temp_max;
        }
        for (i, (slot, s)) in self.config.sensors.iter().zip(&self.sensors).enumerate() {
            let index = u8::try_from(i).unwrap_or(u8::MAX);
            if *slot == Some(role) && self.is_fresh(Source::Sensor(index), now) {
                if let Some(t) = s.temp {
                    max = Some(max.map_or(t, |m| m.max(t)));
                }
            }
        }
        max
    }

    /// The temperature of one sensor slot, fresh or not (for publishing with its age).
    pub fn sensor(&self, index: u8) -> Option<DeciCelsius> {
        self.sensors.get(usize::from(index)).and_then(|s| s.temp)
    }

    /// PV power of one charger, when fresh.
    pub fn charger_power(&self, index: u8, now: Millis) -> Option<Watts> {
        let c = self.chargers.get(usize::from(index))?;
        self.is_fresh(Source::Charger(index), now)
            .then_some(c.power)
    }

    /// Total PV power of the fresh chargers (a charger without fresh data counts 0 W).
    pub fn pv_power(&self, now: Millis) -> Watts {
        let mut sum = 0i32;
        for i in 0..self.config.chargers.min(2) {
            if let Some(p) = self.charger_power(i, now) {
                sum = sum.saturating_add(p.0.max(0));
            }
        }
        Watts(sum)
    }

    /// The 1-hour moving average of PV power (of the completed minutes so far).
    pub fn pv_average(&self) -> Option<Watts> {
        self.pv.average().map(Watts)
    }

    fn latch(&mut self, now: Millis, latch: Latch, trip: bool, recover: bool) {
        let active = self.latches.contains(latch);
        if !active && trip {
            self.latches.set(latch, true);
            self.push(now, EventKind::Tripped(latch));
        } else if active && recover {
            self.latches.set(latch, false);
            self.push(now, EventKind::Recovered(latch));
        }
    }

    /// Evaluate every rule at `now` and return the outputs. Call it regularly; readings
    /// between two ticks are seen at the next one.
    pub fn tick(&mut self, now: Millis) -> Output {
        let cfg = self.config;
        let pv_now = self.pv_power(now);
        self.pv.advance(now, pv_now.0);
        let pv_high = self.pv.average().is_some_and(|a| a >= cfg.pv_high.0);
        self.comm_latches(now);
        self.value_latches(now, pv_high);
        self.outputs(now, pv_high)
    }

    /// Communication latches: one per source, each on its own age.
    fn comm_latches(&mut self, now: Millis) {
        let cfg = self.config;
        let dead = self.is_timed_out(Source::Bms, now);
        let fresh = self.is_fresh(Source::Bms, now);
        self.latch(now, Latch::CommBms, dead, fresh);
        if cfg.shunt {
            let dead = self.is_timed_out(Source::Shunt, now);
            let fresh = self.is_fresh(Source::Shunt, now);
            self.latch(now, Latch::CommShunt, dead, fresh);
        } else {
            self.latch(now, Latch::CommShunt, false, true);
        }
        for i in 0..2u8 {
            let used = i < cfg.chargers;
            let dead = self.is_timed_out(Source::Charger(i), now);
            let fresh = self.is_fresh(Source::Charger(i), now);
            self.latch(now, Latch::CommCharger(i), used && dead, !used || fresh);
        }
        for (i, slot) in cfg.sensors.iter().enumerate() {
            let i = u8::try_from(i).unwrap_or(u8::MAX);
            let used = slot.is_some();
            let dead = self.is_timed_out(Source::Sensor(i), now);
            let fresh = self.is_fresh(Source::Sensor(i), now);
            self.latch(now, Latch::CommSensor(i), used && dead, !used || fresh);
        }
    }

    /// Value latches: evaluated only on fresh data (stale data neither trips nor recovers;
    /// the comm latch covers it).
    fn value_latches(&mut self, now: Millis, pv_high: bool) {
        let cfg = self.config;
        if let Some(v) = self.voltage(now) {
            self.latch(
                now,
                Latch::LowVoltage,
                v < cfg.low_voltage_trip(),
                v > cfg.low_voltage_recover(),
            );
        }
        if let Some((min, max)) = self.cells(now) {
            let diff = max.0.saturating_sub(min.0);
            self.latch(
                now,
                Latch::CellDiff,
                diff > cfg.cell_diff.trip.0,
                diff < cfg.cell_diff.recover.0,
            );
        }
        let charging = pv_high || self.current(now).is_some_and(|c| c.0 > 0);
        if let Some(t) = self.temperature(SensorRole::Cell, now) {
            self.latch(
                now,
                Latch::CellTemp,
                t > cfg.cell_temp.trip,
                t < cfg.cell_temp.recover,
            );
        }
        if self.latches.contains(Latch::CellTemp) {
            // Actions accumulate while latched: charging → charge off, else loads off.
            if charging {
                self.cell_temp_charge_off = true;
            } else {
                self.cell_temp_loads_off = true;
            }
        } else {
            self.cell_temp_charge_off = false;
            self.cell_temp_loads_off = false;
        }
        if let Some(t) = self.temperature(SensorRole::Charger, now) {
            self.latch(
                now,
                Latch::ChargerTemp,
                t > cfg.charger_temp.trip,
                t < cfg.charger_temp.recover,
            );
        }
    }

    /// Relays and the charge MOSFET from the active latches, modes and readings.
    fn outputs(&mut self, now: Millis, pv_high: bool) -> Output {
        let cfg = self.config;
        // What the active latches require (the first one that requires it is the reason).
        let latches = self.latches;
        let loads_off = latches.iter().find(|l| match l {
            Latch::CellTemp => self.cell_temp_loads_off,
            Latch::ChargerTemp => false,
            _ => true,
        });
        let balancer_off = latches
            .iter()
            .find(|l| matches!(l, Latch::CellDiff | Latch::CommBms));
        let charge_off = latches.iter().find(|l| match l {
            Latch::CellTemp => self.cell_temp_charge_off,
            Latch::ChargerTemp => true,
            _ => false,
        });

        let auto_active = now.since(self.start) >= cfg.startup_hold_ms;
        if auto_active && !self.started {
            self.started = true;
            self.push(now, EventKind::AutoStarted);
        }

        let mut relays = self.output.relays;
        self.loads(now, pv_high, loads_off, auto_active, &mut relays);
        self.balancer(now, balancer_off, auto_active, &mut relays);
        // Charge MOSFET: on exactly when no active latch wants it off.
        let mosfet = charge_off.is_none();
        if mosfet != self.output.charge_mosfet {
            self.push(
                now,
                EventKind::ChargeMosfet {
                    on: mosfet,
                    latch: charge_off,
                },
            );
        }

        self.output = Output {
            relays,
            charge_mosfet: mosfet,
            latches,
            pv_high,
            auto_active,
        };
        self.output
    }

    fn loads(
        &mut self,
        now: Millis,
        pv_high: bool,
        loads_off: Option<Latch>,
        auto_active: bool,
        relays: &mut [bool; 3],
    ) {
        let cfg = self.config;
        let soc = self.soc(now);
        for (i, relay) in [Relay::Load1, Relay::Load2].into_iter().enumerate() {
            let Some(load) = cfg.loads.get(i) else {
                continue;
            };
            let soc_low = soc.is_none_or(|s| s <= load.off_soc);
            if self.mode(relay) == Mode::On && soc.is_some_and(|s| s <= load.off_soc) {
                // Manual on ends at low SOC: back to auto, so it does not chatter around the
                // threshold.
                if let Some(m) = self.modes.get_mut(i) {
                    *m = Mode::Auto;
                }
                self.push(
                    now,
                    EventKind::Mode {
                        relay,
                        mode: Mode::Auto,
                        by_user: false,
                    },
                );
            }
            let on_threshold = if pv_high {
                load.on_soc_pv_high
            } else {
                load.on_soc_pv_low
            };
            let auto = self.auto_on.get(i).copied().unwrap_or(false);
            let (auto, auto_reason) = if loads_off.is_some() || soc.is_none() {
                (false, Reason::NoData)
            } else if soc_low {
                (false, Reason::SocLow)
            } else if soc.is_some_and(|s| s > on_threshold) {
                (true, Reason::SocHigh)
            } else {
                (
                    auto,
                    if auto {
                        Reason::SocHigh
                    } else {
                        Reason::SocLow
                    },
                )
            };
            if let Some(a) = self.auto_on.get_mut(i) {
                *a = auto;
            }
            let (want, reason) = if let Some(l) = loads_off {
                (false, Reason::Latch(l))
            } else {
                match self.mode(relay) {
                    Mode::On => (true, Reason::Manual),
                    Mode::Off => (false, Reason::Manual),
                    Mode::Auto => (auto, auto_reason),
                }
            };
            let want = want && auto_active;
            self.switch(now, relays, relay, want, reason);
        }
    }

    fn balancer(
        &mut self,
        now: Millis,
        balancer_off: Option<Latch>,
        auto_active: bool,
        relays: &mut [bool; 3],
    ) {
        let cfg = self.config;
        let cells = self.cells(now);
        let auto = self.auto_on.get(2).copied().unwrap_or(false);
        let (auto, auto_reason) = match cells {
            _ if balancer_off.is_some() => (false, Reason::NoData),
            None => (false, Reason::NoData),
            Some((_, max)) if max < cfg.balancer.off_cell => (false, Reason::BalanceDone),
            Some((min, max))
                if max.0.saturating_sub(min.0) > cfg.balancer.on_diff.0
                    && max > cfg.balancer.on_cell =>
            {
                (true, Reason::Balance)
            }
            Some(_) => (
                auto,
                if auto {
                    Reason::Balance
                } else {
                    Reason::BalanceDone
                },
            ),
        };
        if let Some(a) = self.auto_on.get_mut(2) {
            *a = auto;
        }
        let (want, reason) = if let Some(l) = balancer_off {
            (false, Reason::Latch(l))
        } else {
            match self.mode(Relay::Balancer) {
                Mode::On => (true, Reason::Manual),
                Mode::Off => (false, Reason::Manual),
                Mode::Auto => (auto, auto_reason),
            }
        };
        self.switch(now, relays, Relay::Balancer, want && auto_active, reason);
    }

    fn switch(
        &mut self,
        now: Millis,
        relays: &mut [bool; 3],
        relay: Relay,
        on: bool,
        reason: Reason,
    ) {
        if let Some(state) = relays.get_mut(relay.index()) {
            if *state != on {
                *state = on;
                self.push(now, EventKind::Relay { relay, on, reason });
            }
        }
    }
}
