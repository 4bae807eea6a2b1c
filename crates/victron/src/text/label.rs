//! The label dictionary: every documented TEXT label, its unit and its wire encoding.

/// How a label's value is written on the wire and what it means.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// Signed decimal integer; canonical = raw × `factor`, in `unit`.
    Quantity {
        /// Canonical units per raw step (e.g. 10 for 0.01 V into millivolts).
        factor: i64,
        /// The canonical unit.
        unit: Unit,
    },
    /// Unsigned decimal count.
    Count,
    /// Time to go in minutes; `-1` means infinite.
    TimeToGo,
    /// `ON` / `OFF`.
    OnOff,
    /// Product ID, hexadecimal with `0x` prefix.
    ProductId,
    /// Off reason, 32-bit hexadecimal with `0x` prefix.
    OffReason,
    /// Alarm/warning reason, decimal bit field.
    AlarmReason,
    /// Device state, decimal code.
    DeviceState,
    /// Charger error, decimal code.
    ChargerError,
    /// Device mode, decimal code.
    DeviceMode,
    /// MPP tracker mode, decimal code.
    TrackerMode,
    /// DC monitor mode, signed decimal code.
    MonitorMode,
    /// Free text (serial number, model description, firmware version).
    Text,
}

/// Canonical units of [`Kind::Quantity`] values.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unit {
    /// [`voltwire_core::Millivolts`].
    Millivolts,
    /// [`voltwire_core::Milliamps`].
    Milliamps,
    /// [`voltwire_core::Watts`].
    Watts,
    /// [`voltwire_core::WattHours`].
    WattHours,
    /// [`voltwire_core::MilliampHours`].
    MilliampHours,
    /// [`voltwire_core::VoltAmperes`].
    VoltAmperes,
    /// [`voltwire_core::DeciCelsius`].
    DeciCelsius,
    /// [`voltwire_core::Permille`].
    Permille,
    /// Whole seconds.
    Seconds,
}

impl Unit {
    /// Canonical units per SI unit (1000 for millivolts per volt).
    pub const fn per_si(self) -> i64 {
        match self {
            Self::Millivolts | Self::Milliamps | Self::MilliampHours => 1000,
            Self::DeciCelsius | Self::Permille => 10,
            Self::Watts | Self::WattHours | Self::VoltAmperes | Self::Seconds => 1,
        }
    }

    /// The SI unit as a key suffix (`v`, `a`, `w`, `wh`, `ah`, `va`, `c`, `pct`, `s`).
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::Millivolts => "v",
            Self::Milliamps => "a",
            Self::Watts => "w",
            Self::WattHours => "wh",
            Self::MilliampHours => "ah",
            Self::VoltAmperes => "va",
            Self::DeciCelsius => "c",
            Self::Permille => "pct",
            Self::Seconds => "s",
        }
    }

    /// The range canonical values must fit (the range of the core newtype).
    pub(crate) const fn range(self) -> (i64, i64) {
        match self {
            Self::Millivolts | Self::Milliamps | Self::Watts | Self::VoltAmperes => {
                (i32::MIN as i64, i32::MAX as i64)
            }
            Self::DeciCelsius | Self::Permille => (i16::MIN as i64, i16::MAX as i64),
            Self::WattHours | Self::MilliampHours => (i64::MIN, i64::MAX),
            Self::Seconds => (0, u32::MAX as i64),
        }
    }
}

macro_rules! labels {
    ($( $(#[$doc:meta])* $var:ident = $text:literal, $name:literal, $kind:expr; )*) => {
        /// A documented VE.Direct TEXT label.
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        #[repr(u8)]
        pub enum Label {
            $( $(#[$doc])* $var, )*
        }

        impl Label {
            /// Every label, in the order a record is written out by the encoder.
            pub const ALL: &'static [Label] = &[ $( Label::$var, )* ];

            /// The label exactly as on the wire (e.g. `SER#`).
            pub const fn text(self) -> &'static str {
                match self { $( Label::$var => $text, )* }
            }

            /// A `snake_case` name for the quantity, without unit suffix
            /// (e.g. `battery_voltage`).
            pub const fn name(self) -> &'static str {
                match self { $( Label::$var => $name, )* }
            }

            /// How the value is encoded.
            pub const fn kind(self) -> Kind {
                match self { $( Label::$var => $kind, )* }
            }

        }
    };
}

const fn q(factor: i64, unit: Unit) -> Kind {
    Kind::Quantity { factor, unit }
}
const MV: Kind = q(1, Unit::Millivolts);
const MA: Kind = q(1, Unit::Milliamps);
const W: Kind = q(1, Unit::Watts);
const MAH: Kind = q(1, Unit::MilliampHours);
/// 0.01 kWh = 10 Wh.
const CKWH: Kind = q(10, Unit::WattHours);

labels! {
    /// Product ID (`0xA042`).
    Pid = "PID", "product_id", Kind::ProductId;
    /// Firmware version, 16 bit (`123` = v1.23; BMV `0308` = v3.08).
    Fw = "FW", "firmware", Kind::Text;
    /// Firmware version, 24 bit (`0342FF` = v3.42 release).
    Fwe = "FWE", "firmware_24bit", Kind::Text;
    /// Serial number.
    SerialNumber = "SER#", "serial_number", Kind::Text;
    /// Hardware revision.
    HardwareRevision = "HC#", "hardware_revision", Kind::Text;
    /// Model description (BMV; deprecated in favour of PID).
    ModelDescription = "BMV", "model_description", Kind::Text;
    /// Main (channel 1) battery voltage. Wire: mV.
    V = "V", "battery_voltage", MV;
    /// Channel 2 battery voltage. Wire: mV.
    V2 = "V2", "battery2_voltage", MV;
    /// Channel 3 battery voltage. Wire: mV.
    V3 = "V3", "battery3_voltage", MV;
    /// Auxiliary (starter) battery voltage. Wire: mV.
    Vs = "VS", "aux_voltage", MV;
    /// Mid-point voltage of the bank. Wire: mV.
    Vm = "VM", "mid_voltage", MV;
    /// Mid-point deviation. Wire: 0.1 %.
    Dm = "DM", "mid_deviation", q(1, Unit::Permille);
    /// Panel voltage. Wire: mV.
    Vpv = "VPV", "panel_voltage", MV;
    /// Panel power. Wire: W.
    Ppv = "PPV", "panel_power", W;
    /// Main (channel 1) battery current, positive = charging. Wire: mA.
    I = "I", "battery_current", MA;
    /// Channel 2 battery current. Wire: mA.
    I2 = "I2", "battery2_current", MA;
    /// Channel 3 battery current. Wire: mA.
    I3 = "I3", "battery3_current", MA;
    /// Load output current. Wire: mA.
    Il = "IL", "load_current", MA;
    /// Instantaneous power, positive = charging. Wire: W.
    P = "P", "power", W;
    /// Consumed amp-hours (negative = consumed). Wire: mAh.
    Ce = "CE", "consumed", MAH;
    /// State of charge. Wire: 0.1 %.
    Soc = "SOC", "soc", q(1, Unit::Permille);
    /// Time to go. Wire: minutes, -1 = infinite.
    Ttg = "TTG", "time_to_go", Kind::TimeToGo;
    /// Battery temperature. Wire: whole °C.
    T = "T", "battery_temperature", q(10, Unit::DeciCelsius);
    /// Load output state.
    Load = "LOAD", "load_output", Kind::OnOff;
    /// Alarm condition active.
    Alarm = "Alarm", "alarm", Kind::OnOff;
    /// Relay state.
    Relay = "Relay", "relay", Kind::OnOff;
    /// Alarm reason (bit field).
    Ar = "AR", "alarm_reason", Kind::AlarmReason;
    /// Warning reason (bit field, same bits as AR).
    Warn = "WARN", "warning_reason", Kind::AlarmReason;
    /// Off reason (bit field).
    Or = "OR", "off_reason", Kind::OffReason;
    /// State of operation.
    Cs = "CS", "state", Kind::DeviceState;
    /// Charger error.
    Err = "ERR", "error", Kind::ChargerError;
    /// MPP tracker mode.
    Mppt = "MPPT", "tracker_mode", Kind::TrackerMode;
    /// Device mode.
    Mode = "MODE", "device_mode", Kind::DeviceMode;
    /// DC monitor mode.
    Mon = "MON", "monitor_mode", Kind::MonitorMode;
    /// AC output voltage. Wire: 0.01 V.
    AcOutV = "AC_OUT_V", "ac_out_voltage", q(10, Unit::Millivolts);
    /// AC output current. Wire: 0.1 A.
    AcOutI = "AC_OUT_I", "ac_out_current", q(100, Unit::Milliamps);
    /// AC output apparent power. Wire: VA.
    AcOutS = "AC_OUT_S", "ac_out_apparent_power", q(1, Unit::VoltAmperes);
    /// DC input voltage. Wire: 0.01 V.
    DcInV = "DC_IN_V", "dc_in_voltage", q(10, Unit::Millivolts);
    /// DC input current. Wire: 0.1 A.
    DcInI = "DC_IN_I", "dc_in_current", q(100, Unit::Milliamps);
    /// DC input power. Wire: W.
    DcInP = "DC_IN_P", "dc_in_power", W;
    /// Depth of the deepest discharge. Wire: mAh.
    H1 = "H1", "deepest_discharge", MAH;
    /// Depth of the last discharge. Wire: mAh.
    H2 = "H2", "last_discharge", MAH;
    /// Depth of the average discharge. Wire: mAh.
    H3 = "H3", "average_discharge", MAH;
    /// Number of charge cycles.
    H4 = "H4", "charge_cycles", Kind::Count;
    /// Number of full discharges.
    H5 = "H5", "full_discharges", Kind::Count;
    /// Cumulative amp-hours drawn. Wire: mAh.
    H6 = "H6", "cumulative_drawn", MAH;
    /// Minimum main battery voltage. Wire: mV.
    H7 = "H7", "min_battery_voltage", MV;
    /// Maximum main battery voltage. Wire: mV.
    H8 = "H8", "max_battery_voltage", MV;
    /// Time since the last full charge. Wire: s.
    H9 = "H9", "time_since_full_charge", q(1, Unit::Seconds);
    /// Number of automatic synchronisations.
    H10 = "H10", "automatic_syncs", Kind::Count;
    /// Number of low main-voltage alarms.
    H11 = "H11", "low_voltage_alarms", Kind::Count;
    /// Number of high main-voltage alarms.
    H12 = "H12", "high_voltage_alarms", Kind::Count;
    /// Number of low auxiliary-voltage alarms.
    H13 = "H13", "low_aux_voltage_alarms", Kind::Count;
    /// Number of high auxiliary-voltage alarms.
    H14 = "H14", "high_aux_voltage_alarms", Kind::Count;
    /// Minimum auxiliary voltage. Wire: mV.
    H15 = "H15", "min_aux_voltage", MV;
    /// Maximum auxiliary voltage. Wire: mV.
    H16 = "H16", "max_aux_voltage", MV;
    /// Energy discharged. Wire: 0.01 kWh.
    H17 = "H17", "discharged_energy", CKWH;
    /// Energy charged. Wire: 0.01 kWh.
    H18 = "H18", "charged_energy", CKWH;
    /// Yield total (user resettable). Wire: 0.01 kWh.
    H19 = "H19", "yield_total", CKWH;
    /// Yield today. Wire: 0.01 kWh.
    H20 = "H20", "yield_today", CKWH;
    /// Maximum power today. Wire: W.
    H21 = "H21", "max_power_today", W;
    /// Yield yesterday. Wire: 0.01 kWh.
    H22 = "H22", "yield_yesterday", CKWH;
    /// Maximum power yesterday. Wire: W.
    H23 = "H23", "max_power_yesterday", W;
    /// Day sequence number (0..364).
    Hsds = "HSDS", "day_sequence", Kind::Count;
}

impl Label {
    /// The label for wire text `text` (exact, case-sensitive), if documented.
    pub fn from_text(text: &[u8]) -> Option<Label> {
        // A hash of the label's packed key into a 256-entry index (one multiply, two loads,
        // one compare), built at compile time: a fraction of the code a literal `match` on
        // the 64 byte strings compiles to (thumbv7em probe: -0.9 KiB of .text).
        // Keys ignore leading NUL bytes (`"\0V"` packs as `"V"`); no label starts with one.
        if let [0, ..] = text {
            return None;
        }
        let k = key(text)?;
        let n = usize::from(*LOOKUP.slots.get(usize::from(slot(k)))?).checked_sub(1)?;
        match LOOKUP.keys.get(n) {
            Some(&found) if found == k => Label::ALL.get(n).copied(),
            _ => None,
        }
    }

    /// Number of documented labels.
    pub const COUNT: usize = Self::ALL.len();

    /// Index of this label in [`Label::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether the label belongs to the BMV/SmartShunt history block (`H1`…`H18`).
    pub const fn is_monitor_history(self) -> bool {
        (self as u8) >= (Label::H1 as u8) && (self as u8) <= (Label::H18 as u8)
    }
}

/// A text of up to 8 bytes (the longest labels: `AC_OUT_V`) packed big-endian into an
/// integer; `None` for longer texts. Texts that do not start with a NUL byte (every label)
/// have distinct keys: the key's highest non-zero byte gives the length.
const fn key(text: &[u8]) -> Option<u64> {
    if text.len() > 8 {
        return None;
    }
    let mut k = 0u64;
    let mut rest = text;
    while let [b, tail @ ..] = rest {
        k = (k << 8) | *b as u64;
        rest = tail;
    }
    Some(k)
}

/// The multiplier of the label hash: with it the 64 label keys land in 64 different slots
/// (found offline by trying random odd multipliers; the build fails if a label added later
/// collides, and then another one must be found).
const HASH_MUL: u64 = 0xa19b_6c5d_9ca7_fd83;

/// The index slot of a key: the top byte of a multiplicative hash.
const fn slot(k: u64) -> u8 {
    let [top, ..] = k.wrapping_mul(HASH_MUL).to_be_bytes();
    top
}

/// Every label's key (by [`Label::index`]) and the hash index: slot -> label index + 1
/// (0: no label).
struct Lookup {
    keys: [u64; Label::COUNT],
    slots: [u8; 256],
}

#[allow(
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "compile-time table: an index out of range is a build error, never a runtime panic; \
              there are fewer than 255 labels"
)]
const LOOKUP: Lookup = {
    let mut keys = [0u64; Label::COUNT];
    let mut slots = [0u8; 256];
    let mut n = 0;
    while n < Label::COUNT {
        let Some(k) = key(Label::ALL[n].text().as_bytes()) else {
            panic!("a label text longer than 8 bytes");
        };
        let s = slot(k) as usize;
        assert!(
            slots[s] == 0,
            "two labels in one hash slot: pick another HASH_MUL"
        );
        slots[s] = n as u8 + 1;
        keys[n] = k;
        n += 1;
    }
    Lookup { keys, slots }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_consistent() {
        for (i, l) in Label::ALL.iter().enumerate() {
            assert_eq!(l.index(), i);
            assert_eq!(Label::from_text(l.text().as_bytes()), Some(*l));
            assert!(l.text().len() <= 8, "{l:?}");
        }
        assert_eq!(Label::COUNT, 64);
        assert_eq!(Label::from_text(b"v"), None);
        assert!(Label::H18.is_monitor_history());
        assert!(!Label::H19.is_monitor_history());
    }

    /// The keyed lookup finds exactly the label texts: not a text with a NUL in front (same
    /// key), a prefix, an extension, another case or anything longer than 8 bytes.
    #[test]
    fn from_text_is_exact() {
        extern crate alloc;
        let mut near = 0;
        for l in Label::ALL {
            let t = l.text().as_bytes();
            let mut nul = alloc::vec![0u8];
            nul.extend_from_slice(t);
            let mut longer = t.to_vec();
            longer.push(b'X');
            let lower = t.to_ascii_lowercase();
            for other in [&nul[..], &longer, &t[..t.len() - 1], &lower] {
                let found = Label::from_text(other);
                if other != t && Label::ALL.iter().all(|x| x.text().as_bytes() != other) {
                    assert_eq!(
                        found,
                        None,
                        "{:?}",
                        alloc::string::String::from_utf8_lossy(other)
                    );
                    near += 1;
                }
            }
        }
        assert!(near > 150);
        assert_eq!(Label::from_text(b""), None);
        assert_eq!(Label::from_text(b"AC_OUT_VX"), None);
        assert_eq!(Label::from_text(b"\0\0AC_OUT_V"), None);
        assert_eq!(Label::from_text(b"AC_OUT_V"), Some(Label::AcOutV));
    }

    proptest::proptest! {
        /// Any bytes: a label exactly when they are its text.
        #[test]
        fn from_text_any_bytes(t in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..10)) {
            let expected = Label::ALL.iter().copied().find(|l| l.text().as_bytes() == t.as_slice());
            proptest::prop_assert_eq!(Label::from_text(&t), expected);
        }
    }
}
