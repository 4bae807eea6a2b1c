//! The plant: battery packs, the power flows around them and the power meter.
//!
//! State is kept in floats inside the physics; everything read from outside is in exact
//! integer units of `voltwire-core` (mV, mA, mAh, W, 0.1 °C, 0.1 %). Time is injected:
//! [`Plant::step`] advances the model by `dt`, which may be much longer than real time.

use core::time::Duration;

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille, Watts};

/// Open-circuit voltage of an LFP cell over its state of charge: `(soc 0..=1, volts)`.
///
/// A typical `LiFePO4` curve: steep below 10 % and above 95 %, a flat plateau around
/// 3.30 V in between.
pub const LFP_OCV: [(f64, f64); 14] = [
    (0.00, 2.500),
    (0.05, 3.000),
    (0.10, 3.200),
    (0.20, 3.250),
    (0.30, 3.280),
    (0.40, 3.295),
    (0.50, 3.300),
    (0.60, 3.310),
    (0.70, 3.325),
    (0.80, 3.335),
    (0.90, 3.345),
    (0.95, 3.360),
    (0.99, 3.400),
    (1.00, 3.550),
];

/// The OCV of an LFP cell at `soc` (0..=1, clamped), in volts, interpolated on [`LFP_OCV`].
pub fn lfp_ocv(soc: f64) -> f64 {
    let s = soc.clamp(0.0, 1.0);
    let mut prev = (0.0, 2.5);
    for &(x, v) in &LFP_OCV {
        if s <= x {
            let (px, pv) = prev;
            if x <= px {
                return v;
            }
            return pv + (v - pv) * (s - px) / (x - px);
        }
        prev = (x, v);
    }
    prev.1
}

/// Static description of one pack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackConfig {
    /// Number of cells in series.
    pub cells: usize,
    /// Rated capacity.
    pub capacity: MilliampHours,
    /// Internal resistance of one cell, in milliohm.
    pub cell_resistance_milliohm: f64,
    /// Relative cell-to-cell capacity spread (0.01 = ±1 %), applied deterministically.
    pub spread: f64,
    /// Number of temperature sensors.
    pub temperature_sensors: usize,
    /// State of charge at start (0..=1).
    pub initial_soc: f64,
    /// Ambient temperature, °C.
    pub ambient_celsius: f64,
}

impl Default for PackConfig {
    /// A 16-cell 100 Ah LFP pack at 50 %, 25 °C.
    fn default() -> Self {
        Self {
            cells: 16,
            capacity: MilliampHours(100_000),
            cell_resistance_milliohm: 0.5,
            spread: 0.01,
            temperature_sensors: 4,
            initial_soc: 0.5,
            ambient_celsius: 25.0,
        }
    }
}

/// The deterministic spread factor (−1..=1) of cell `i`.
#[allow(
    clippy::cast_precision_loss,
    reason = "small cell indices; the spread is a float inside the physics"
)]
fn spread_factor(i: usize) -> f64 {
    let k = (i * 7 + 3) % 11;
    (k as f64 - 5.0) / 5.0
}

/// One battery pack of cells in series.
#[derive(Debug, Clone, PartialEq)]
pub struct Pack {
    config: PackConfig,
    /// Per-cell charge in Ah.
    charge_ah: Vec<f64>,
    /// Per-cell capacity in Ah.
    capacity_ah: Vec<f64>,
    /// Pack current in A, positive = charging.
    current_a: f64,
    /// Pack temperature, °C.
    temperature_c: f64,
    /// Charge throughput in Ah (for cycles).
    throughput_ah: f64,
    /// Whether the BMS lets current in.
    pub charge_enabled: bool,
    /// Whether the BMS lets current out.
    pub discharge_enabled: bool,
}

#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "floats inside the physics; results are clamped before conversion"
)]
impl Pack {
    /// A pack as `config` describes.
    pub fn new(config: PackConfig) -> Self {
        let cap = config.capacity.0 as f64 / 1000.0;
        let capacity_ah: Vec<f64> = (0..config.cells)
            .map(|i| cap * (1.0 + config.spread * spread_factor(i)))
            .collect();
        let soc = config.initial_soc.clamp(0.0, 1.0);
        let charge_ah = capacity_ah
            .iter()
            .enumerate()
            .map(|(i, c)| (c * (soc + config.spread * 0.5 * spread_factor(i + 5))).clamp(0.0, *c))
            .collect();
        Self {
            config,
            charge_ah,
            capacity_ah,
            current_a: 0.0,
            temperature_c: config.ambient_celsius,
            throughput_ah: 0.0,
            charge_enabled: true,
            discharge_enabled: true,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PackConfig {
        &self.config
    }

    fn cell_soc(&self, i: usize) -> f64 {
        match (self.charge_ah.get(i), self.capacity_ah.get(i)) {
            (Some(q), Some(c)) if *c > 0.0 => q / c,
            _ => 0.0,
        }
    }

    fn cell_volts(&self, i: usize) -> f64 {
        lfp_ocv(self.cell_soc(i)) + self.current_a * self.config.cell_resistance_milliohm / 1000.0
    }

    /// Cell voltages, cell 1 first.
    pub fn cell_voltages(&self) -> Vec<Millivolts> {
        (0..self.config.cells)
            .map(|i| Millivolts((self.cell_volts(i) * 1000.0).round() as i32))
            .collect()
    }

    /// Pack voltage: the sum of the cell voltages.
    pub fn voltage(&self) -> Millivolts {
        Millivolts(self.cell_voltages().iter().map(|v| v.0).sum())
    }

    /// Pack current, positive = charging.
    pub fn current(&self) -> Milliamps {
        Milliamps((self.current_a * 1000.0).round() as i32)
    }

    /// State of charge: the charge of the pack (limited by its weakest cell) over its
    /// capacity, in 0.1 %.
    pub fn soc(&self) -> Permille {
        let s = (0..self.config.cells)
            .map(|i| self.cell_soc(i))
            .fold(f64::INFINITY, f64::min);
        let s = if s.is_finite() { s } else { 0.0 };
        Permille((s.clamp(0.0, 1.0) * 1000.0).round() as i16)
    }

    /// Remaining capacity (SOC × rated capacity).
    pub fn remaining(&self) -> MilliampHours {
        MilliampHours(self.config.capacity.0 * i64::from(self.soc().0) / 1000)
    }

    /// Temperatures of the sensors, each a fixed small offset from the pack temperature.
    pub fn temperatures(&self) -> Vec<DeciCelsius> {
        (0..self.config.temperature_sensors)
            .map(|i| {
                let t = self.temperature_c + 0.5 * spread_factor(i + 2);
                DeciCelsius((t * 10.0).round() as i16)
            })
            .collect()
    }

    /// Full charge cycles so far (throughput / 2 / capacity).
    pub fn cycles(&self) -> u16 {
        let cap = self.config.capacity.0 as f64 / 1000.0;
        if cap <= 0.0 {
            return 0;
        }
        (self.throughput_ah / (2.0 * cap)).clamp(0.0, 65_535.0) as u16
    }

    /// Set the state of charge of every cell (keeps the spread out: all cells equal).
    pub fn set_soc(&mut self, soc: Permille) {
        let s = (f64::from(soc.0) / 1000.0).clamp(0.0, 1.0);
        for (q, c) in self.charge_ah.iter_mut().zip(&self.capacity_ah) {
            *q = c * s;
        }
    }

    /// Let cell `cell` (0-based) drift: its charge changes by `soc` × its capacity (clamped
    /// to empty and full); nothing for a cell that does not exist.
    pub fn drift_cell(&mut self, cell: usize, soc: f64) {
        if let (Some(q), Some(c)) = (self.charge_ah.get_mut(cell), self.capacity_ah.get(cell)) {
            *q = (*q + soc * c).clamp(0.0, *c);
        }
    }

    /// The pack's open-circuit voltage in volts (no current).
    fn ocv(&self) -> f64 {
        (0..self.config.cells)
            .map(|i| lfp_ocv(self.cell_soc(i)))
            .sum()
    }

    /// Change the ambient temperature the pack cools towards, °C (a day's weather).
    pub fn set_ambient_celsius(&mut self, celsius: f64) {
        if celsius.is_finite() {
            self.config.ambient_celsius = celsius;
        }
    }

    /// A balancer moving `amps` for `secs` from the fullest cell to the emptiest (by state
    /// of charge); nothing once they are within 0.1 % of each other.
    fn balance(&mut self, amps: f64, secs: f64) {
        let n = self.config.cells;
        let by_soc = |a: &usize, b: &usize| self.cell_soc(*a).total_cmp(&self.cell_soc(*b));
        let (Some(lo), Some(hi)) = ((0..n).min_by(by_soc), (0..n).max_by(by_soc)) else {
            return;
        };
        if lo == hi || self.cell_soc(hi) - self.cell_soc(lo) < 0.001 {
            return;
        }
        let dq = amps.max(0.0) * secs / 3600.0;
        if let (Some(q), Some(c)) = (self.charge_ah.get_mut(hi), self.capacity_ah.get(hi)) {
            *q = (*q - dq).clamp(0.0, *c);
        }
        if let (Some(q), Some(c)) = (self.charge_ah.get_mut(lo), self.capacity_ah.get(lo)) {
            *q = (*q + dq).clamp(0.0, *c);
        }
    }

    /// Whether the pack takes current of sign `amps` now (BMS switches, full, empty).
    fn accepts(&self, amps: f64) -> bool {
        let full = (0..self.config.cells).any(|i| self.cell_soc(i) >= 1.0);
        let empty = (0..self.config.cells).any(|i| self.cell_soc(i) <= 0.0);
        if amps > 0.0 {
            self.charge_enabled && !full
        } else if amps < 0.0 {
            self.discharge_enabled && !empty
        } else {
            true
        }
    }

    fn step(&mut self, amps: f64, dt: f64) {
        self.current_a = if self.accepts(amps) { amps } else { 0.0 };
        let dq = self.current_a * dt / 3600.0;
        for (q, c) in self.charge_ah.iter_mut().zip(&self.capacity_ah) {
            *q = (*q + dq).clamp(0.0, *c);
        }
        self.throughput_ah += dq.abs();
        // I²R heating against a thermal mass, cooling towards ambient (τ = 1 h).
        let heat_w = self.current_a * self.current_a * self.config.cell_resistance_milliohm
            / 1000.0
            * self.config.cells as f64;
        let heat_capacity_j_per_k = 2000.0 * self.config.cells as f64;
        let cooling = (self.temperature_c - self.config.ambient_celsius) / 3600.0;
        self.temperature_c += (heat_w / heat_capacity_j_per_k - cooling) * dt;
    }
}

/// The power flows the plant sees, all magnitudes (≥ 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flows {
    /// AC charger into the batteries (drawn from the grid side).
    pub charge: Watts,
    /// Inverter/discharger out of the batteries (fed to the house side).
    pub discharge: Watts,
    /// AC-coupled PV (feeds the house side; seen by the meter).
    pub pv: Watts,
    /// DC PV through an MPPT straight into the batteries.
    pub mppt_pv: Watts,
    /// House load.
    pub load: Watts,
}

/// The whole installation: packs in parallel on one DC bus, the flows and the meter.
#[derive(Debug, Clone, PartialEq)]
pub struct Plant {
    packs: Vec<Pack>,
    /// What flows now; change it between steps.
    pub flows: Flows,
    time: Duration,
    /// DC loads on the bank switched by relays (W, a magnitude).
    dc_load: Watts,
    /// A balancer's current while it runs, in A (0: off).
    balance_a: f64,
    /// The MPPTs' absorption voltage of one pack; `None`: they never taper.
    absorption: Option<Millivolts>,
}

#[allow(
    clippy::cast_precision_loss,
    reason = "floats inside the physics; results are clamped before conversion"
)]
impl Plant {
    /// A plant with `packs` and no flows.
    pub fn new(packs: Vec<PackConfig>) -> Self {
        Self {
            packs: packs.into_iter().map(Pack::new).collect(),
            flows: Flows::default(),
            time: Duration::ZERO,
            dc_load: Watts(0),
            balance_a: 0.0,
            absorption: None,
        }
    }

    /// DC loads straight on the bank (relay-switched), W; they draw from the batteries and
    /// the grid meter does not see them.
    pub fn dc_load(&self) -> Watts {
        self.dc_load
    }

    /// Set the DC loads on the bank (a magnitude; negative counts as 0).
    pub fn set_dc_load(&mut self, load: Watts) {
        self.dc_load = Watts(load.0.max(0));
    }

    /// Run a balancer on every pack moving `current` from its fullest cell to its emptiest
    /// (0: none).
    pub fn set_balancer(&mut self, current: Milliamps) {
        self.balance_a = f64::from(current.0.max(0)) / 1000.0;
    }

    /// The pack voltage at which the MPPTs hold (absorption): their power tapers over the
    /// last 20 mV per cell below it and is 0 at and above it, judged on the highest pack's
    /// open-circuit voltage. `None` (the default): no taper.
    pub fn set_absorption(&mut self, pack_voltage: Option<Millivolts>) {
        self.absorption = pack_voltage;
    }

    /// What the MPPTs put into the bank now: [`Flows::mppt_pv`] tapered at absorption, 0
    /// while no pack takes charge (charge switches off, or full).
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a fraction of a bounded power"
    )]
    pub fn mppt_power(&self) -> Watts {
        let pv = self.flows.mppt_pv.0.max(0);
        if pv == 0 || !self.packs.iter().any(|p| p.accepts(1.0)) {
            return Watts(0);
        }
        let Some(abs) = self.absorption else {
            return Watts(pv);
        };
        let ocv = self.packs.iter().map(Pack::ocv).fold(0.0, f64::max);
        let cells = self.packs.first().map_or(16, |p| p.config.cells) as f64;
        let band = 0.020 * cells;
        let left = f64::from(abs.0) / 1000.0 - ocv;
        let k = (left / band).clamp(0.0, 1.0);
        Watts((f64::from(pv) * k).round() as i32)
    }

    /// One default pack of `cells` cells at `soc` (0..=1).
    pub fn single(cells: usize, soc: f64) -> Self {
        Self::new(vec![PackConfig {
            cells,
            initial_soc: soc,
            ..PackConfig::default()
        }])
    }

    /// The packs.
    pub fn packs(&self) -> &[Pack] {
        &self.packs
    }

    /// The packs, to change BMS switches or SOC.
    pub fn packs_mut(&mut self) -> &mut [Pack] {
        &mut self.packs
    }

    /// Pack `i`.
    pub fn pack(&self, i: usize) -> Option<&Pack> {
        self.packs.get(i)
    }

    /// Sim time since the start.
    pub fn time(&self) -> Duration {
        self.time
    }

    /// Net battery power into the packs: charge + what the MPPTs deliver
    /// ([`Plant::mppt_power`]) − discharge − the DC loads.
    pub fn battery_power(&self) -> Watts {
        Watts(
            self.flows
                .charge
                .0
                .saturating_add(self.mppt_power().0)
                .saturating_sub(self.flows.discharge.0)
                .saturating_sub(self.dc_load.0),
        )
    }

    /// What the power meter at the grid connection sees: load − PV − discharge + charge
    /// (positive = import).
    pub fn grid(&self) -> Watts {
        Watts(
            self.flows
                .load
                .0
                .saturating_sub(self.flows.pv.0)
                .saturating_sub(self.flows.discharge.0)
                .saturating_add(self.flows.charge.0),
        )
    }

    /// Mean pack voltage of the DC bus (0 mV without packs).
    pub fn bus_voltage(&self) -> Millivolts {
        let n = i32::try_from(self.packs.len()).unwrap_or(i32::MAX);
        if n == 0 {
            return Millivolts(0);
        }
        Millivolts(self.packs.iter().map(|p| p.voltage().0).sum::<i32>() / n)
    }

    /// Sum of the pack currents, positive = charging.
    pub fn total_current(&self) -> Milliamps {
        Milliamps(self.packs.iter().map(|p| p.current().0).sum())
    }

    /// Advance the model by `dt`. The battery power is split over the packs by capacity;
    /// the current follows from the pack voltage.
    pub fn step(&mut self, dt: Duration) {
        let secs = dt.as_secs_f64();
        let total_cap: f64 = self.packs.iter().map(|p| p.config.capacity.0 as f64).sum();
        let power = f64::from(self.battery_power().0);
        for p in &mut self.packs {
            let share = if total_cap > 0.0 {
                p.config.capacity.0 as f64 / total_cap
            } else {
                0.0
            };
            let volts = f64::from(p.voltage().0) / 1000.0;
            let amps = if volts > 1.0 {
                power * share / volts
            } else {
                0.0
            };
            p.step(amps, secs);
            if self.balance_a > 0.0 {
                p.balance(self.balance_a, secs);
            }
        }
        self.time += dt;
    }

    /// Advance by `total` in steps of at most `step`.
    pub fn run(&mut self, total: Duration, step: Duration) {
        let step = step.max(Duration::from_millis(1));
        let mut left = total;
        while !left.is_zero() {
            let dt = left.min(step);
            self.step(dt);
            left -= dt;
        }
    }

    /// Run forward to sim time `now` in steps of at most 1 s (nothing when `now` is not
    /// later than the plant's time); the plant's time afterwards.
    pub fn advance_to(&mut self, now: Duration) -> Duration {
        let dt = now.saturating_sub(self.time);
        if !dt.is_zero() {
            self.run(dt, Duration::from_secs(1));
        }
        self.time
    }

    /// Apply the changes devices asked for ([`crate::PlantCommand::apply`] each).
    pub fn apply(&mut self, commands: impl IntoIterator<Item = crate::PlantCommand>) {
        for c in commands {
            c.apply(self);
        }
    }
}

/// Sim time from the wall clock: `speed` times faster than real time since creation.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    start: std::time::Instant,
    speed: f64,
    /// Where "now" comes from (the wall clock, or tokio's clock, which tests may pause).
    source: fn() -> std::time::Instant,
}

impl SimClock {
    /// A clock starting now at sim time 0. A `speed` that is not finite and positive counts
    /// as 1.
    pub fn new(speed: f64) -> Self {
        Self::from_source(speed, std::time::Instant::now)
    }

    /// The same on tokio's clock (feature `serve`): in a runtime whose time is paused
    /// (`#[tokio::test(start_paused = true)]`) sim time follows the paused clock, so a
    /// scene's script and its devices' schedules run in injected time; elsewhere it is the
    /// wall clock.
    #[cfg(feature = "serve")]
    pub fn tokio(speed: f64) -> Self {
        Self::from_source(speed, || tokio::time::Instant::now().into_std())
    }

    fn from_source(speed: f64, source: fn() -> std::time::Instant) -> Self {
        Self {
            start: source(),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
            source,
        }
    }

    /// How many times faster than real time it runs.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The sim time now.
    pub fn now(&self) -> Duration {
        (self.source)()
            .saturating_duration_since(self.start)
            .mul_f64(self.speed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn ocv_is_monotonic_and_interpolates() {
        assert!((lfp_ocv(0.5) - 3.300).abs() < 1e-9);
        assert!((lfp_ocv(0.45) - 3.2975).abs() < 1e-9);
        let mut prev = 0.0;
        for i in 0..=100 {
            let v = lfp_ocv(f64::from(i) / 100.0);
            assert!(v >= prev);
            prev = v;
        }
    }

    #[test]
    fn grid_follows_the_formula() {
        let mut p = Plant::single(16, 0.5);
        p.flows = Flows {
            charge: Watts(500),
            discharge: Watts(200),
            pv: Watts(1000),
            mppt_pv: Watts(0),
            load: Watts(800),
        };
        assert_eq!(p.grid(), Watts(800 - 1000 - 200 + 500));
        assert_eq!(p.battery_power(), Watts(300));
    }

    #[test]
    fn cells_spread_but_stay_close() {
        let p = Plant::single(16, 0.5);
        let v = p.pack(0).unwrap().cell_voltages();
        let min = v.iter().min().unwrap().0;
        let max = v.iter().max().unwrap().0;
        assert!(max > min, "spread expected");
        assert!(max - min < 20, "{v:?}");
    }
}
