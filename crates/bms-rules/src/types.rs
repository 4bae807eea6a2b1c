//! The vocabulary: time, relays, modes, sources, latches, readings and events.

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille, Watts};

/// A point in time (or a span) in milliseconds of the caller's monotonic clock. The rules
/// never read a clock; any origin works (boot, process start, a test's zero).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// Milliseconds from `earlier` to `self`; 0 when `earlier` is later.
    pub const fn since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + ms`, saturating.
    #[must_use]
    pub const fn plus(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }
}

/// One of the three switched outputs.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relay {
    /// Load relay 1.
    Load1,
    /// Load relay 2.
    Load2,
    /// The active balancer.
    Balancer,
}

impl Relay {
    /// All relays, in output order.
    pub const ALL: [Relay; 3] = [Relay::Load1, Relay::Load2, Relay::Balancer];

    /// The `snake_case` name (MQTT topics, JSON).
    pub const fn name(self) -> &'static str {
        match self {
            Relay::Load1 => "load1",
            Relay::Load2 => "load2",
            Relay::Balancer => "balancer",
        }
    }

    /// The relay with that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Position in [`Relay::ALL`] and in [`crate::Output::relays`].
    pub const fn index(self) -> usize {
        match self {
            Relay::Load1 => 0,
            Relay::Load2 => 1,
            Relay::Balancer => 2,
        }
    }
}

/// What the user asked of a relay.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Switched by the rules (the default).
    #[default]
    Auto,
    /// On by hand (a latch still wins; loads still go off at low SOC).
    On,
    /// Off by hand.
    Off,
}

impl Mode {
    /// The `snake_case` name (`auto`, `on`, `off`).
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::On => "on",
            Mode::Off => "off",
        }
    }

    /// Parse `auto` / `on` / `off` (exactly, lower case).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Mode::Auto),
            "on" => Some(Mode::On),
            "off" => Some(Mode::Off),
            _ => None,
        }
    }
}

/// A data source, each with its own age and timeout.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The BMS.
    Bms,
    /// The SmartShunt.
    Shunt,
    /// Solar charger 0 or 1.
    Charger(u8),
    /// Temperature sensor slot 0..4.
    Sensor(u8),
}

/// A latched safety rule.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Latch {
    /// No data from the BMS within its timeout.
    CommBms,
    /// No data from the SmartShunt within its timeout.
    CommShunt,
    /// No data from solar charger 0 or 1 within its timeout.
    CommCharger(u8),
    /// No reading from temperature sensor slot 0..4 within its timeout.
    CommSensor(u8),
    /// Pack voltage below the low-voltage threshold.
    LowVoltage,
    /// Cell difference above its threshold.
    CellDiff,
    /// Cell temperature above its threshold.
    CellTemp,
    /// Charger temperature above its threshold.
    ChargerTemp,
}

impl Latch {
    /// Every latch, in bit order of [`Latches`].
    pub const ALL: [Latch; 12] = [
        Latch::CommBms,
        Latch::CommShunt,
        Latch::CommCharger(0),
        Latch::CommCharger(1),
        Latch::CommSensor(0),
        Latch::CommSensor(1),
        Latch::CommSensor(2),
        Latch::CommSensor(3),
        Latch::LowVoltage,
        Latch::CellDiff,
        Latch::CellTemp,
        Latch::ChargerTemp,
    ];

    /// The bit of this latch in [`Latches`]; `None` for a charger or sensor slot out of range.
    pub const fn bit(self) -> Option<u8> {
        match self {
            Latch::CommBms => Some(0),
            Latch::CommShunt => Some(1),
            Latch::CommCharger(i) if i < 2 => Some(2 + i),
            Latch::CommSensor(i) if i < 4 => Some(4 + i),
            Latch::CommCharger(_) | Latch::CommSensor(_) => None,
            Latch::LowVoltage => Some(8),
            Latch::CellDiff => Some(9),
            Latch::CellTemp => Some(10),
            Latch::ChargerTemp => Some(11),
        }
    }

    /// The `snake_case` name (JSON, events), e.g. `comm_charger2` for `CommCharger(1)`.
    pub const fn name(self) -> &'static str {
        match self {
            Latch::CommBms => "comm_bms",
            Latch::CommShunt => "comm_shunt",
            Latch::CommCharger(0) => "comm_charger1",
            Latch::CommCharger(_) => "comm_charger2",
            Latch::CommSensor(0) => "comm_sensor1",
            Latch::CommSensor(1) => "comm_sensor2",
            Latch::CommSensor(2) => "comm_sensor3",
            Latch::CommSensor(_) => "comm_sensor4",
            Latch::LowVoltage => "low_voltage",
            Latch::CellDiff => "cell_diff",
            Latch::CellTemp => "cell_temp",
            Latch::ChargerTemp => "charger_temp",
        }
    }

    /// A communication timeout (these also raise the alarm).
    pub const fn is_comm(self) -> bool {
        matches!(
            self,
            Latch::CommBms | Latch::CommShunt | Latch::CommCharger(_) | Latch::CommSensor(_)
        )
    }
}

/// The set of active latches, one bit per [`Latch::ALL`] entry.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Latches(pub u16);

impl Latches {
    /// Whether `latch` is active.
    pub const fn contains(self, latch: Latch) -> bool {
        match latch.bit() {
            Some(b) => self.0 & (1 << b) != 0,
            None => false,
        }
    }

    pub(crate) fn set(&mut self, latch: Latch, on: bool) {
        if let Some(b) = latch.bit() {
            if on {
                self.0 |= 1 << b;
            } else {
                self.0 &= !(1 << b);
            }
        }
    }

    /// No latch is active.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Any communication latch is active (the alarm).
    pub const fn any_comm(self) -> bool {
        self.0 & 0x00ff != 0
    }

    /// The active latches, in [`Latch::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Latch> {
        Latch::ALL.into_iter().filter(move |l| self.contains(*l))
    }
}

/// One BMS reading (the BMS's own pack values and cell extremes).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BmsReading {
    /// Pack voltage.
    pub pack: Millivolts,
    /// Pack current, > 0 = charging.
    pub current: Milliamps,
    /// State of charge.
    pub soc: Permille,
    /// Lowest cell voltage.
    pub cell_min: Millivolts,
    /// Highest cell voltage.
    pub cell_max: Millivolts,
    /// Highest cell temperature the BMS reports, if any.
    pub temp_max: Option<DeciCelsius>,
}

/// One SmartShunt reading (VE.Direct TEXT `V`, `I`, `SOC`).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShuntReading {
    /// Battery voltage.
    pub voltage: Millivolts,
    /// Battery current, > 0 = charging.
    pub current: Milliamps,
    /// State of charge (`None` while the shunt does not know it yet, `---`).
    pub soc: Option<Permille>,
}

/// Why a relay switched.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The user's mode (`on` / `off`).
    Manual,
    /// Auto: SOC above the on-threshold.
    SocHigh,
    /// SOC at or below the off-threshold.
    SocLow,
    /// Auto: balancing needed (difference and a high cell).
    Balance,
    /// Auto: all cells below the balancer's off-threshold.
    BalanceDone,
    /// Auto: no fresh data to decide on.
    NoData,
    /// A safety latch requires it off.
    Latch(Latch),
}

impl Reason {
    /// The `snake_case` name; a latch gives its own name.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::Manual => "manual",
            Reason::SocHigh => "soc_high",
            Reason::SocLow => "soc_low",
            Reason::Balance => "balance",
            Reason::BalanceDone => "balance_done",
            Reason::NoData => "no_data",
            Reason::Latch(l) => l.name(),
        }
    }
}

/// A reading field a plausibility filter discarded.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The BMS's cell difference (both cell extremes are kept from before).
    CellDiff,
    /// The SmartShunt's SOC.
    Soc,
    /// The SmartShunt's voltage.
    Voltage,
    /// A temperature sensor's value.
    Temperature,
}

impl Field {
    /// The `snake_case` name.
    pub const fn name(self) -> &'static str {
        match self {
            Field::CellDiff => "cell_diff",
            Field::Soc => "soc",
            Field::Voltage => "voltage",
            Field::Temperature => "temperature",
        }
    }
}

/// What happened.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Automatic switching started (the start-up hold is over).
    AutoStarted,
    /// A relay switched.
    Relay {
        /// Which.
        relay: Relay,
        /// New state.
        on: bool,
        /// Why.
        reason: Reason,
    },
    /// The charge-MOSFET request changed; `latch` is the latch that wants it off (`None` when
    /// it comes back on).
    ChargeMosfet {
        /// New requested state.
        on: bool,
        /// The latch requiring it off.
        latch: Option<Latch>,
    },
    /// A latch tripped.
    Tripped(Latch),
    /// A latch recovered.
    Recovered(Latch),
    /// A relay's mode changed: by the user, or from `on` back to `auto` at low SOC.
    Mode {
        /// Which.
        relay: Relay,
        /// New mode.
        mode: Mode,
        /// `true` when the user asked, `false` when the low-SOC rule reverted manual `on`.
        by_user: bool,
    },
    /// A plausibility filter discarded a reading.
    Discarded {
        /// From where.
        source: Source,
        /// Which value.
        field: Field,
    },
}

/// An event with the time it happened.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// When.
    pub at: Millis,
    /// What.
    pub kind: EventKind,
}

/// The outputs after a [`crate::Rules::tick`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Output {
    /// Relay states in [`Relay::ALL`] order.
    pub relays: [bool; 3],
    /// Whether the BMS's charge MOSFET should be on.
    pub charge_mosfet: bool,
    /// Active latches.
    pub latches: Latches,
    /// The 1-hour PV average is at or above the "PV high" threshold.
    pub pv_high: bool,
    /// The start-up hold is over.
    pub auto_active: bool,
}

impl Output {
    /// The state of one relay.
    pub const fn relay(&self, relay: Relay) -> bool {
        match relay {
            Relay::Load1 => self.relays[0],
            Relay::Load2 => self.relays[1],
            Relay::Balancer => self.relays[2],
        }
    }

    /// The alarm: a communication latch is active.
    pub const fn alarm(&self) -> bool {
        self.latches.any_comm()
    }
}

/// PV power of one solar charger (VE.Direct TEXT `PPV`).
pub type PvPower = Watts;
