//! The controller: meter, devices, battery, commands and `now` in; one set point per device
//! out. Call [`Controller::step`] on a clock of its own (every second, say), not only when
//! a meter reading arrives: the watchdog is judged at every step.

use voltwire_core::{Milliamps, Millivolts, Watts};
use voltwire_ess::Millis;

use crate::average::{MAX_WINDOW, MovingAverage};
use crate::battery::{BatteryConfig, BatteryReading, Latches};
use crate::trim::{Trim, TrimConfig, TrimInput};
use crate::watchdog::Freshness;

/// The most devices one controller drives.
pub const MAX_DEVICES: usize = 4;

/// What a device can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Charges only (Mean Well NPB).
    Charger,
    /// Discharges only (Lumentree, Soyosource).
    Discharger,
    /// Both (Mean Well BIC-2200).
    Bidirectional,
}

impl Role {
    /// Whether the device can charge.
    pub const fn charges(self) -> bool {
        matches!(self, Self::Charger | Self::Bidirectional)
    }

    /// Whether the device can discharge.
    pub const fn discharges(self) -> bool {
        matches!(self, Self::Discharger | Self::Bidirectional)
    }
}

/// The current range of a device set by current (a Mean Well): a current below `min` means
/// off, above `max` is clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentRange {
    /// The smallest current the device regulates.
    pub min: Milliamps,
    /// The largest current the device (or its configuration) allows.
    pub max: Milliamps,
}

/// One device's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceConfig {
    /// What it can do.
    pub role: Role,
    /// Smallest charge power; below it the device is off.
    pub min_charge: Watts,
    /// Largest charge power.
    pub max_charge: Watts,
    /// Smallest discharge power (a magnitude); below it the device is off.
    pub min_discharge: Watts,
    /// Largest discharge power (a magnitude).
    pub max_discharge: Watts,
    /// Set by current (power / battery voltage), clamped to this range; `None` for devices
    /// set by power.
    pub current: Option<CurrentRange>,
    /// Voltage trim below the minimum current ([`crate::trim`]); only for a
    /// [`Role::Charger`] set by current. `None`: below its minimum the device is off.
    pub trim: Option<TrimConfig>,
}

/// The controller's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The grid power to hold (0 W; a few watts of import are a common choice).
    pub target_grid: Watts,
    /// Readings in the moving average of the demand (1..=16).
    pub window: usize,
    /// A charge set point changes only when it moves by at least this.
    pub charge_deadband: Watts,
    /// A discharge set point changes only when it moves by at least this.
    pub discharge_deadband: Watts,
    /// The meter is stale when its latest reading is older than this (T).
    pub meter_timeout_ms: u64,
    /// The battery (BMS) is lost when its latest reading is older than this.
    pub battery_timeout_ms: u64,
    /// A device is lost when its latest answer is older than this.
    pub device_timeout_ms: u64,
    /// A stale source is trusted again after fresh data for this long.
    pub hold_ms: u64,
    /// Discharge power held while the meter is stale (0 W = off).
    pub base_load: Watts,
    /// The battery's limits.
    pub battery: BatteryConfig,
}

impl Config {
    /// Defaults: target 0 W, a window of 1 reading (each reading acts; wider windows
    /// smooth a noisy meter at the price of lag: see the closed-loop figures in the
    /// app's notes), deadbands 10 W / 15 W, T = 10 s for meter,
    /// battery and devices, hold 3 s, base load 0 W.
    pub const fn new(battery: BatteryConfig) -> Self {
        Self {
            target_grid: Watts(0),
            window: 1,
            charge_deadband: Watts(10),
            discharge_deadband: Watts(15),
            meter_timeout_ms: 10_000,
            battery_timeout_ms: 10_000,
            device_timeout_ms: 10_000,
            hold_ms: 3_000,
            base_load: Watts(0),
            battery,
        }
    }
}

/// A configuration the controller refuses, naming the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// `window` is outside 1..=16.
    Window,
    /// No device, or more than [`MAX_DEVICES`].
    DeviceCount,
    /// Device `n`: a minimum above its maximum, a negative power, or an empty current range.
    DeviceLimits(usize),
    /// Device `n`: voltage trim on a device that is not a charger set by current, or trim
    /// settings that are not [`TrimConfig::valid`].
    Trim(usize),
    /// A negative deadband or base load.
    Negative(&'static str),
}

/// The latest meter reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterReading {
    /// When it was measured (or received).
    pub at: Millis,
    /// Grid power, positive = import.
    pub grid: Watts,
}

/// What a device last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceStatus {
    /// When it last answered.
    pub last_seen: Option<Millis>,
    /// The power it delivers now (positive = charging), when it reports it; otherwise the
    /// controller assumes its last command.
    pub delivered: Option<Watts>,
}

/// A user command with its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<T> {
    /// The commanded value.
    pub value: T,
    /// It applies while `now < until`.
    pub until: Millis,
}

impl<T: Copy> Command<T> {
    fn active(cmd: Option<Self>, now: Millis) -> Option<T> {
        cmd.filter(|c| now < c.until).map(|c| c.value)
    }
}

/// The validated user commands (MQTT), each with a TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Commands {
    /// Charging enabled (default: yes).
    pub charge_enabled: Option<Command<bool>>,
    /// Discharging enabled (default: yes).
    pub discharge_enabled: Option<Command<bool>>,
    /// Charge power cap.
    pub max_charge: Option<Command<Watts>>,
    /// Discharge power cap (a magnitude).
    pub max_discharge: Option<Command<Watts>>,
}

/// Everything the controller reads at one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inputs {
    /// The latest meter reading, if any.
    pub meter: Option<MeterReading>,
    /// The latest battery reading, if any.
    pub battery: Option<BatteryReading>,
    /// Each device's status, in configuration order.
    pub devices: [DeviceStatus; MAX_DEVICES],
    /// The user commands.
    pub commands: Commands,
}

/// One device's set point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceCommand {
    /// Power, positive = charging, 0 = off.
    pub power: Watts,
    /// For devices set by current: the current magnitude (0 = off).
    pub current: Option<Milliamps>,
    /// While the device trims its voltage ([`crate::trim`]): its constant-voltage set point
    /// (then `power` is the power wanted and `current` the device's minimum, a cap); `None`:
    /// its normal CV (the hardware backstop).
    pub voltage: Option<Millivolts>,
}

impl DeviceCommand {
    /// Off.
    pub const OFF: Self = Self {
        power: Watts(0),
        current: None,
        voltage: None,
    };
}

/// The controller's mode at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No trusted meter yet (start-up) or stale: chargers off, dischargers at the base load.
    MeterStale,
    /// No trusted battery reading: everything off.
    BatteryLost,
    /// Regulating.
    Normal,
}

impl Mode {
    /// `snake_case` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MeterStale => "meter_stale",
            Self::BatteryLost => "battery_lost",
            Self::Normal => "normal",
        }
    }
}

/// Alarms raised at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Alarms {
    /// The meter is stale.
    pub meter_stale: bool,
    /// The battery reading is stale.
    pub battery_lost: bool,
    /// Device n does not answer (it is excluded; the others continue).
    pub device_lost: [bool; MAX_DEVICES],
}

/// The result of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// One set point per configured device (unused slots off).
    pub commands: [DeviceCommand; MAX_DEVICES],
    /// The mode.
    pub mode: Mode,
    /// The averaged demand (house power without the devices, positive = consumption).
    pub demand: Option<Watts>,
    /// The battery latches.
    pub latches: Latches,
    /// The alarms.
    pub alarms: Alarms,
    /// Whether charging is allowed (battery, latches, commands).
    pub charge_allowed: bool,
    /// Whether discharging is allowed.
    pub discharge_allowed: bool,
}

impl Decision {
    /// The sum of the set points, positive = charging.
    pub fn total(&self) -> Watts {
        Watts(self.commands.iter().map(|c| c.power.0).sum())
    }
}

/// The zero-feed-in controller: its configuration and its memory (average, latches,
/// watchdog, last set points).
#[derive(Debug, Clone)]
pub struct Controller {
    config: Config,
    devices: [Option<DeviceConfig>; MAX_DEVICES],
    average: MovingAverage,
    last_meter: Option<Millis>,
    meter: Freshness,
    battery: Freshness,
    device_ok: [Freshness; MAX_DEVICES],
    latches: Latches,
    last: [DeviceCommand; MAX_DEVICES],
    trims: [Trim; MAX_DEVICES],
}

fn checked_device(n: usize, d: &DeviceConfig) -> Result<(), ConfigError> {
    let bad = d.min_charge.0 < 0
        || d.min_discharge.0 < 0
        || d.min_charge.0 > d.max_charge.0
        || d.min_discharge.0 > d.max_discharge.0
        || d.current.is_some_and(|c| c.min.0 < 0 || c.min.0 > c.max.0);
    if bad {
        return Err(ConfigError::DeviceLimits(n));
    }
    let trim_ok = d
        .trim
        .is_none_or(|t| t.valid() && d.role == Role::Charger && d.current.is_some());
    if trim_ok {
        Ok(())
    } else {
        Err(ConfigError::Trim(n))
    }
}

impl Controller {
    /// A controller for `devices` (1..=[`MAX_DEVICES`], in priority order).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming what is wrong.
    pub fn new(config: Config, devices: &[DeviceConfig]) -> Result<Self, ConfigError> {
        if config.window == 0 || config.window > MAX_WINDOW {
            return Err(ConfigError::Window);
        }
        if devices.is_empty() || devices.len() > MAX_DEVICES {
            return Err(ConfigError::DeviceCount);
        }
        for (name, w) in [
            ("charge_deadband", config.charge_deadband),
            ("discharge_deadband", config.discharge_deadband),
            ("base_load", config.base_load),
        ] {
            if w.0 < 0 {
                return Err(ConfigError::Negative(name));
            }
        }
        let mut slots = [None; MAX_DEVICES];
        for (n, (slot, d)) in slots.iter_mut().zip(devices).enumerate() {
            checked_device(n, d)?;
            *slot = Some(*d);
        }
        Ok(Self {
            config,
            devices: slots,
            average: MovingAverage::new(config.window),
            last_meter: None,
            meter: Freshness::new(),
            battery: Freshness::new(),
            device_ok: [Freshness::new(); MAX_DEVICES],
            latches: Latches::default(),
            last: [DeviceCommand::OFF; MAX_DEVICES],
            trims: [Trim::default(); MAX_DEVICES],
        })
    }

    /// The configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The set points of the last step (all off before the first).
    pub const fn last(&self) -> &[DeviceCommand; MAX_DEVICES] {
        &self.last
    }

    /// One decision at `now`.
    pub fn step(&mut self, now: Millis, input: &Inputs) -> Decision {
        let c = self.config;
        let mut alarms = Alarms::default();
        let available = self.devices_available(now, input, &mut alarms);
        let battery_ok = self.battery.update(
            input.battery.map(|b| b.at),
            now,
            c.battery_timeout_ms,
            c.hold_ms,
        );
        alarms.battery_lost = !battery_ok;
        let meter_ok = self.meter.update(
            input.meter.map(|m| m.at),
            now,
            c.meter_timeout_ms,
            c.hold_ms,
        );
        alarms.meter_stale = !meter_ok;

        let charging = self.last.iter().any(|d| d.power.0 > 0);
        let battery = input.battery.filter(|_| battery_ok);
        if let Some(b) = &battery {
            self.latches.update(&c.battery, b, charging);
        }

        // The demand: the house without our devices, from each new meter reading.
        let delivered: i64 = self
            .last
            .iter()
            .zip(&input.devices)
            .map(|(cmd, s)| i64::from(s.delivered.unwrap_or(cmd.power).0))
            .sum();
        if let Some(m) = input.meter.filter(|m| Some(m.at) != self.last_meter) {
            self.last_meter = Some(m.at);
            let demand =
                (i64::from(m.grid.0) - delivered).clamp(i64::from(i32::MIN), i64::from(i32::MAX));
            // In range after the clamp.
            self.average.push(i32::try_from(demand).unwrap_or(0));
        }
        if !meter_ok {
            self.average.clear();
        }

        let (charge_allowed, discharge_allowed, charge_cap, discharge_cap) =
            self.permissions(battery.as_ref(), input.commands, now);
        let demand = self.average.mean();
        let current: i64 = self.last.iter().map(|x| i64::from(x.power.0)).sum();
        let (mode, want) = match (battery, demand) {
            (None, _) => (Mode::BatteryLost, 0),
            (Some(_), Some(d)) if meter_ok => {
                // A device that does not answer is assumed to keep delivering what it last
                // reported (the safe assumption: the others never add to a stuck output).
                let lost: i64 = input
                    .devices
                    .iter()
                    .zip(&available)
                    .zip(&self.devices)
                    .filter(|((_, ok), d)| d.is_some() && !**ok)
                    .map(|((s, _), _)| i64::from(s.delivered.map_or(0, |w| w.0)))
                    .sum();
                let want = i64::from(c.target_grid.0) - i64::from(d) - lost;
                let band = if want > 0 {
                    c.charge_deadband.0
                } else {
                    c.discharge_deadband.0
                };
                let hold = (want - current).abs() < i64::from(band);
                (Mode::Normal, if hold { current } else { want })
            }
            (Some(_), _) => (Mode::MeterStale, -i64::from(c.base_load.0)),
        };
        let want = if want > 0 {
            if charge_allowed {
                want.min(charge_cap)
            } else {
                0
            }
        } else if discharge_allowed {
            -(-want).min(discharge_cap)
        } else {
            0
        };

        // Held within the deadband and still allowed: the very same set points (a current
        // recomputed from a drifting voltage would rewrite the device every step).
        let unchanged = mode == Mode::Normal
            && want == current
            && self
                .last
                .iter()
                .zip(&available)
                .all(|(cmd, ok)| *ok || cmd.power.0 == 0);
        let voltage = battery.map_or(Millivolts(0), |b| b.voltage);
        let commands = if unchanged {
            self.hold_trims(now, voltage, input)
        } else {
            self.allocate(want, voltage, available, now, input)
        };
        self.last = commands;
        Decision {
            commands,
            mode,
            demand: demand.map(Watts),
            latches: self.latches,
            alarms,
            charge_allowed,
            discharge_allowed,
        }
    }

    /// Whether each direction is allowed (battery, latches, commands) and its power cap
    /// (commands, BMS current limits), in watts.
    fn permissions(
        &self,
        battery: Option<&BatteryReading>,
        cmds: Commands,
        now: Millis,
    ) -> (bool, bool, i64, i64) {
        let mut charge_cap =
            Command::active(cmds.max_charge, now).map_or(i64::MAX, |w| i64::from(w.0.max(0)));
        let mut discharge_cap =
            Command::active(cmds.max_discharge, now).map_or(i64::MAX, |w| i64::from(w.0.max(0)));
        let mut charge_allowed = false;
        let mut discharge_allowed = false;
        if let Some(b) = battery {
            charge_allowed = b.charge_allowed
                && !self.latches.blocks_charge()
                && Command::active(cmds.charge_enabled, now).unwrap_or(true);
            discharge_allowed = b.discharge_allowed
                && !self.latches.blocks_discharge()
                && Command::active(cmds.discharge_enabled, now).unwrap_or(true);
            let watts =
                |i: Milliamps| i64::from(i.0.max(0)) * i64::from(b.voltage.0.max(0)) / 1_000_000;
            if let Some(i) = b.charge_current_limit {
                charge_cap = charge_cap.min(watts(i));
            }
            if let Some(i) = b.discharge_current_limit {
                discharge_cap = discharge_cap.min(watts(i));
            }
        }

        (charge_allowed, discharge_allowed, charge_cap, discharge_cap)
    }

    /// Judges each device's freshness; a configured device not answering raises its alarm.
    fn devices_available(
        &mut self,
        now: Millis,
        input: &Inputs,
        alarms: &mut Alarms,
    ) -> [bool; MAX_DEVICES] {
        let c = self.config;
        let mut available = [false; MAX_DEVICES];
        for (n, ok) in available.iter_mut().enumerate() {
            let configured = self.devices.get(n).copied().flatten().is_some();
            let seen = input.devices.get(n).and_then(|s| s.last_seen);
            if let Some(f) = self.device_ok.get_mut(n) {
                *ok = configured && f.update(seen, now, c.device_timeout_ms, c.hold_ms);
            }
            if let Some(a) = alarms.device_lost.get_mut(n) {
                *a = configured && !*ok;
            }
        }

        available
    }

    /// The trims' ceiling: the lower of the backstop and the charge voltage.
    fn trim_ceiling(&self) -> Millivolts {
        let b = &self.config.battery;
        crate::trim::ceiling(b.pack(b.max_cell_voltage), b.charge_voltage)
    }

    /// The set points held within the deadband: the last ones, with each trimming device's
    /// trim stepped toward the same wanted power (or left, then off).
    fn hold_trims(
        &mut self,
        now: Millis,
        voltage: Millivolts,
        input: &Inputs,
    ) -> [DeviceCommand; MAX_DEVICES] {
        let mut out = self.last;
        let ceiling = self.trim_ceiling();
        for (((slot, trim), d), status) in out
            .iter_mut()
            .zip(&mut self.trims)
            .zip(&self.devices)
            .zip(&input.devices)
        {
            let Some(cfg) = d.and_then(|d| d.trim) else {
                continue;
            };
            if slot.voltage.is_none() {
                trim.leave();
                continue;
            }
            let t = TrimInput {
                wanted: slot.power,
                delivered: status.delivered,
                battery: voltage,
                ceiling,
            };
            match trim.update(&cfg, now, &t) {
                Some(v) => slot.voltage = Some(v),
                None => {
                    *slot = DeviceCommand {
                        current: Some(Milliamps(0)),
                        ..DeviceCommand::OFF
                    }
                }
            }
        }
        out
    }

    /// Splits `total` (positive = charge) over the available devices in order: each takes
    /// up to its maximum; a share below its minimum (power or current) leaves it off, or
    /// trims its voltage when it is a charger with trim (and takes that share).
    fn allocate(
        &mut self,
        total: i64,
        voltage: Millivolts,
        available: [bool; MAX_DEVICES],
        now: Millis,
        input: &Inputs,
    ) -> [DeviceCommand; MAX_DEVICES] {
        let mut out = [DeviceCommand::OFF; MAX_DEVICES];
        let charge = total > 0;
        let mut remaining = total.abs();
        let ceiling = self.trim_ceiling();
        // A trim that is not stepped below is left.
        let old = core::mem::take(&mut self.trims);
        for ((((slot, device), ok), status), (trim, was)) in out
            .iter_mut()
            .zip(&self.devices)
            .zip(available)
            .zip(&input.devices)
            .zip(self.trims.iter_mut().zip(old))
        {
            let Some(d) = device else { continue };
            if d.current.is_some() {
                slot.current = Some(Milliamps(0));
            }
            let (capable, min, max) = if charge {
                (d.role.charges(), d.min_charge.0, d.max_charge.0)
            } else {
                (d.role.discharges(), d.min_discharge.0, d.max_discharge.0)
            };
            if !ok || !capable || remaining == 0 {
                continue;
            }
            let mut p = remaining.min(i64::from(max));
            let mut current = None;
            let mut below_min = false;
            if let Some(range) = d.current {
                if voltage.0 <= 0 {
                    continue;
                }
                let v = i64::from(voltage.0);
                let i = (p * 1_000_000 / v).min(i64::from(range.max.0));
                below_min = i < i64::from(range.min.0);
                if !below_min {
                    p = i * v / 1_000_000;
                    current = Some(Milliamps(i32::try_from(i).unwrap_or(0)));
                }
            }
            below_min |= p < i64::from(min);
            if let (true, true, Some(cfg), Some(range)) = (charge, below_min, d.trim, d.current) {
                *trim = was;
                let wanted = Watts(i32::try_from(p).unwrap_or(0));
                let t = TrimInput {
                    wanted,
                    delivered: status.delivered,
                    battery: voltage,
                    ceiling,
                };
                if let Some(v) = trim.update(&cfg, now, &t) {
                    remaining -= p;
                    *slot = DeviceCommand {
                        power: wanted,
                        current: Some(range.min),
                        voltage: Some(v),
                    };
                }
                continue;
            }
            if below_min || p == 0 {
                continue;
            }
            remaining -= p;
            let p = i32::try_from(p).unwrap_or(0);
            *slot = DeviceCommand {
                power: Watts(if charge { p } else { -p }),
                current: current.or(slot.current),
                voltage: None,
            };
        }
        out
    }
}
