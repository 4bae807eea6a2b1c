//! A typed record: every documented label decoded into exact units.

use heapless::{String, Vec};
use voltwire_core::{
    DeciCelsius, EncodeError, MilliampHours, Milliamps, Millivolts, Permille, VoltAmperes,
    WattHours, Watts,
};

use super::decoder::{MAX_LABEL_LEN, MAX_VALUE_LEN};
use super::encode::{BLOCK_FIELDS, Writer};
use super::label::{Kind, Label, Unit};
use super::tables::{
    AlarmReason, ChargerError, DeviceMode, DeviceState, MonitorMode, OffReason, TrackerMode,
};

/// Most unknown or invalid fields a record keeps; further ones are counted only.
pub const MAX_EXTRA: usize = 8;

/// Longest text value a record keeps (the protocol's limit; longer values are counted in
/// [`Record::extra_dropped`]).
pub const MAX_TEXT_LEN: usize = 32;

const TEXT_SLOTS: usize = 5;

const fn text_slot(label: Label) -> Option<usize> {
    match label {
        Label::Fw => Some(0),
        Label::Fwe => Some(1),
        Label::SerialNumber => Some(2),
        Label::HardwareRevision => Some(3),
        Label::ModelDescription => Some(4),
        _ => None,
    }
}

/// Time to go (`TTG`).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeToGo {
    /// Not discharging: infinite (`-1` on the wire).
    Infinite,
    /// Minutes until the discharge floor is reached.
    Minutes(u32),
}

/// A firmware version decoded from `FW` or `FWE`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Firmware {
    /// Major version (`3` in v3.42).
    pub major: u8,
    /// Minor version (`42` in v3.42).
    pub minor: u8,
    /// Release-candidate letter (`FW` with a leading non-digit, e.g. `C208`).
    pub release_candidate: Option<char>,
    /// Beta number (`FWE` whose last two characters are not `FF`).
    pub beta: Option<u8>,
}

impl Firmware {
    /// Decode an `FW` value (`123` = v1.23, `0308` = v3.08, `C208` = v2.08 release candidate C).
    pub fn parse_fw(text: &str) -> Option<Self> {
        let (rc, digits) = match text.chars().next() {
            Some(c) if !c.is_ascii_digit() => (Some(c), text.get(c.len_utf8()..)?),
            _ => (None, text),
        };
        let n: u16 = digits.parse().ok()?;
        Some(Self {
            major: u8::try_from(n / 100).ok()?,
            minor: u8::try_from(n % 100).ok()?,
            release_candidate: rc,
            beta: None,
        })
    }

    /// Decode an `FWE` value (`0342FF` = v3.42 release, `034213` = v3.42 beta 0x13).
    pub fn parse_fwe(text: &str) -> Option<Self> {
        let split = text.len().checked_sub(2)?;
        let (digits, tail) = (text.get(..split)?, text.get(split..)?);
        let n: u16 = digits.parse().ok()?;
        let beta = if tail.eq_ignore_ascii_case("FF") {
            None
        } else {
            Some(u8::from_str_radix(tail, 16).ok()?)
        };
        Some(Self {
            major: u8::try_from(n / 100).ok()?,
            minor: u8::try_from(n % 100).ok()?,
            release_candidate: None,
            beta,
        })
    }
}

impl core::fmt::Display for Firmware {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:02}", self.major, self.minor)?;
        if let Some(c) = self.release_candidate {
            write!(f, "-rc-{c}")?;
        }
        if let Some(b) = self.beta {
            write!(f, "-beta-{b:02X}")?;
        }
        Ok(())
    }
}

/// One decoded value.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Value<'a> {
    /// A physical quantity in canonical units (see [`Unit`]).
    Quantity {
        /// The value in canonical units.
        canonical: i64,
        /// The canonical unit.
        unit: Unit,
    },
    /// A count.
    Count(u32),
    /// Time to go.
    TimeToGo(TimeToGo),
    /// `ON` (true) / `OFF` (false).
    OnOff(bool),
    /// Product ID.
    ProductId(u16),
    /// Off reason bits.
    OffReason(OffReason),
    /// Alarm or warning reason bits.
    AlarmReason(AlarmReason),
    /// Device state.
    DeviceState(DeviceState),
    /// Charger error.
    ChargerError(ChargerError),
    /// Device mode.
    DeviceMode(DeviceMode),
    /// Tracker mode.
    TrackerMode(TrackerMode),
    /// Monitor mode.
    MonitorMode(MonitorMode),
    /// Text, as sent.
    Text(&'a str),
    /// The device sent `---`: not available (e.g. an unsynchronised battery monitor).
    NotAvailable,
}

impl Value<'_> {
    /// A quantity in its SI unit (volts, amps, watts, …), for the application edge.
    #[allow(clippy::cast_precision_loss, reason = "app-edge float, documented")]
    pub fn to_si(&self) -> Option<f64> {
        match *self {
            Value::Quantity { canonical, unit } => Some(canonical as f64 / unit.per_si() as f64),
            _ => None,
        }
    }
}

/// A field the record could not type: an unknown label, or a documented label whose value
/// did not parse. Kept as sent.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawField {
    /// The label as sent.
    pub label: String<MAX_LABEL_LEN>,
    /// The value as sent.
    pub value: String<MAX_TEXT_LEN>,
    /// `true` when the label is documented but its value did not parse.
    pub invalid: bool,
}

/// A decoded record: the fields of one or more blocks of one device cycle, in exact units.
///
/// Missing labels read as `None`. A label sent as `---` reads as `None` from the typed
/// accessors and as [`Value::NotAvailable`] from [`Record::get`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Bit [`Label::index`] set: the label was sent.
    present: u64,
    /// Bit [`Label::index`] set: the label was sent as `---`.
    unavailable: u64,
    ints: [i64; Label::COUNT],
    texts: [String<MAX_TEXT_LEN>; TEXT_SLOTS],
    extra: Vec<RawField, MAX_EXTRA>,
    extra_dropped: u16,
}

impl Default for Record {
    fn default() -> Self {
        Self {
            present: 0,
            unavailable: 0,
            ints: [0; Label::COUNT],
            texts: Default::default(),
            extra: Vec::new(),
            extra_dropped: 0,
        }
    }
}

fn is_printable(c: u8) -> bool {
    (0x20..=0x7E).contains(&c)
}

/// Append ASCII bytes as chars (the caller checked they are ASCII and fit).
fn push_ascii<const N: usize>(s: &mut String<N>, bytes: &[u8]) {
    for &c in bytes {
        // The test keeps `push` on its one-byte path; it never fails: the caller checked
        // that the bytes are ASCII and fit.
        if c.is_ascii() {
            let _ = s.push(char::from(c));
        }
    }
}

/// `bytes` as a string when they are all ASCII and fit.
fn ascii_string<const N: usize>(bytes: &[u8]) -> Option<String<N>> {
    if bytes.len() > N || !bytes.is_ascii() {
        return None;
    }
    let mut s = String::new();
    push_ascii(&mut s, bytes);
    Some(s)
}

/// `k` when `factor` is 10^k (every label's factor is: 1, 10 or 100).
fn decimal_shift(factor: i64) -> Option<u32> {
    let mut p = 1i64;
    for k in 0..19 {
        if p == factor {
            return Some(k);
        }
        p = p.checked_mul(10)?;
    }
    None
}

/// Powers of ten of `u64`, largest first.
const POW10: [u64; 20] = {
    let mut out = [1u64; 20];
    let mut i = 19;
    while i > 0 {
        i -= 1;
        #[allow(
            clippy::indexing_slicing,
            reason = "const evaluation: an out-of-range index is a build error"
        )]
        {
            out[i] = out[i + 1] * 10;
        }
    }
    out
};

/// Append `v / 10^drop` in decimal, truncated towards zero exactly as `/` (the stored values
/// are exact multiples, so the dropped digits are zeros). Digits by repeated subtraction of
/// powers of ten: no 64-bit division, no `core::fmt` (both are kilobytes of firmware).
fn push_dec<const N: usize>(out: &mut Vec<u8, N>, v: i64, drop: u32) -> Result<(), ()> {
    let mut m = v.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut n = 0;
    for p in POW10 {
        let mut d = b'0';
        while m >= p {
            m -= p;
            d += 1;
        }
        if n > 0 || d != b'0' || p == 1 {
            if let Some(slot) = digits.get_mut(n) {
                *slot = d;
            }
            n += 1;
        }
    }
    let keep = n.saturating_sub(drop as usize);
    match digits.get(..keep) {
        Some(kept) if !kept.is_empty() => {
            if v < 0 {
                out.push(b'-').map_err(|_| ())?;
            }
            out.extend_from_slice(kept)
        }
        _ => out.push(b'0').map_err(|_| ()),
    }
}

/// Append `0x` and `v` in upper-case hex, at least `width` digits (as `{v:0width$X}`; a
/// negative value as its two's complement, as `fmt` prints it).
fn push_hex<const N: usize>(out: &mut Vec<u8, N>, v: i64, width: u32) -> Result<(), ()> {
    let v = u64::from_le_bytes(v.to_le_bytes());
    let significant = (64 - v.leading_zeros()).div_ceil(4);
    out.extend_from_slice(b"0x")?;
    for i in (0..significant.max(width)).rev() {
        let nibble = (v >> (4 * i)) & 0xF;
        out.push(
            b"0123456789ABCDEF"
                .get(nibble as usize)
                .copied()
                .unwrap_or(b'0'),
        )
        .map_err(|_| ())?;
    }
    Ok(())
}

fn parse_dec(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, v),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(d - b'0');
    }
    Some(if neg { -n } else { n })
}

fn parse_hex(v: &[u8]) -> Option<i64> {
    let digits = v.strip_prefix(b"0x").or_else(|| v.strip_prefix(b"0X"))?;
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        let x = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        n = (n << 4) | i64::from(x);
    }
    Some(n)
}

fn in_range(v: i64, lo: i64, hi: i64) -> Option<i64> {
    (lo..=hi).contains(&v).then_some(v)
}

/// The range of integers a label of `kind` stores (`None` for text).
const fn kind_range(kind: Kind) -> Option<(i64, i64)> {
    Some(match kind {
        Kind::Quantity { unit, .. } => unit.range(),
        Kind::Count | Kind::OffReason => (0, u32::MAX as i64),
        Kind::TimeToGo => (-1, u32::MAX as i64),
        Kind::OnOff => (0, 1),
        Kind::ProductId | Kind::AlarmReason => (0, u16::MAX as i64),
        Kind::DeviceState | Kind::ChargerError | Kind::DeviceMode | Kind::TrackerMode => {
            (0, u8::MAX as i64)
        }
        Kind::MonitorMode => (i8::MIN as i64, i8::MAX as i64),
        Kind::Text => return None,
    })
}

/// How [`Record::apply`] reads a label's value: everything it needs about the label,
/// looked up once by index instead of re-derived from [`Kind`] on every field.
#[derive(Clone, Copy)]
enum Parse {
    /// Signed decimal, multiplied by the factor.
    Dec,
    /// `0x`-prefixed hexadecimal.
    Hex,
    /// `ON` / `OFF`.
    OnOff,
    /// Text, kept in the given slot.
    Text(usize),
}

#[derive(Clone, Copy)]
struct Spec {
    parse: Parse,
    factor: i64,
    lo: i64,
    hi: i64,
}

const fn spec(label: Label) -> Spec {
    let kind = label.kind();
    let (lo, hi) = match kind_range(kind) {
        Some(r) => r,
        None => (0, 0),
    };
    let (parse, factor) = match kind {
        Kind::Quantity { factor, .. } => (Parse::Dec, factor),
        Kind::OnOff => (Parse::OnOff, 1),
        Kind::ProductId | Kind::OffReason => (Parse::Hex, 1),
        Kind::Text => match text_slot(label) {
            Some(slot) => (Parse::Text(slot), 1),
            // Unreachable: every text label has a slot (checked by a test).
            None => (Parse::OnOff, 1),
        },
        _ => (Parse::Dec, 1),
    };
    Spec {
        parse,
        factor,
        lo,
        hi,
    }
}

// One bit per label in `Record::present` / `Record::unavailable`.
const _: () = assert!(Label::COUNT <= 64, "Record's label bit sets are u64");

/// [`spec`] of every label, by [`Label::index`].
#[allow(
    clippy::indexing_slicing,
    reason = "const evaluation: an out-of-range index is a build error, never a panic"
)]
const SPECS: [Spec; Label::COUNT] = {
    let mut out = [Spec {
        parse: Parse::Dec,
        factor: 1,
        lo: 0,
        hi: 0,
    }; Label::COUNT];
    let mut i = 0;
    while i < Label::COUNT {
        out[i] = spec(Label::ALL[i]);
        i += 1;
    }
    out
};

/// Parse a value of `kind` into the integer the record stores.
#[cfg(test)]
fn parse_int(kind: Kind, v: &[u8]) -> Option<i64> {
    let raw = match kind {
        Kind::Quantity { factor, .. } => parse_dec(v)?.checked_mul(factor)?,
        Kind::OnOff if v.eq_ignore_ascii_case(b"ON") => 1,
        Kind::OnOff if v.eq_ignore_ascii_case(b"OFF") => 0,
        Kind::ProductId | Kind::OffReason => parse_hex(v)?,
        Kind::OnOff | Kind::Text => return None,
        _ => parse_dec(v)?,
    };
    let (lo, hi) = kind_range(kind)?;
    in_range(raw, lo, hi)
}

/// Parse an integer value as `spec` says (same result as `parse_int` with the label's kind).
#[inline]
fn parse_spec(spec: Spec, v: &[u8]) -> Option<i64> {
    let raw = match spec.parse {
        Parse::Dec => parse_dec(v)?.checked_mul(spec.factor)?,
        Parse::Hex => parse_hex(v)?,
        Parse::OnOff if v.eq_ignore_ascii_case(b"ON") => 1,
        Parse::OnOff if v.eq_ignore_ascii_case(b"OFF") => 0,
        Parse::OnOff | Parse::Text(_) => return None,
    };
    in_range(raw, spec.lo, spec.hi)
}

macro_rules! accessors {
    ($( $get:ident, $set:ident, $label:ident, $ty:ident($inner:ty); )*) => {
        impl Record {
            $(
                #[doc = concat!("`", stringify!($label), "` in exact units, if sent and available.")]
                pub fn $get(&self) -> Option<$ty> {
                    self.int(Label::$label).and_then(|v| <$inner>::try_from(v).ok()).map($ty)
                }

                #[doc = concat!("Set `", stringify!($label), "`.")]
                ///
                /// # Errors
                /// [`EncodeError::OutOfRange`] / [`EncodeError::Precision`] when the value
                /// cannot be sent exactly.
                pub fn $set(&mut self, v: $ty) -> Result<(), EncodeError> {
                    self.set_int(Label::$label, i64::from(v.0))
                }
            )*
        }
    };
}

accessors! {
    battery_voltage, set_battery_voltage, V, Millivolts(i32);
    battery2_voltage, set_battery2_voltage, V2, Millivolts(i32);
    battery3_voltage, set_battery3_voltage, V3, Millivolts(i32);
    aux_voltage, set_aux_voltage, Vs, Millivolts(i32);
    mid_voltage, set_mid_voltage, Vm, Millivolts(i32);
    mid_deviation, set_mid_deviation, Dm, Permille(i16);
    panel_voltage, set_panel_voltage, Vpv, Millivolts(i32);
    panel_power, set_panel_power, Ppv, Watts(i32);
    battery_current, set_battery_current, I, Milliamps(i32);
    battery2_current, set_battery2_current, I2, Milliamps(i32);
    battery3_current, set_battery3_current, I3, Milliamps(i32);
    load_current, set_load_current, Il, Milliamps(i32);
    power, set_power, P, Watts(i32);
    consumed, set_consumed, Ce, MilliampHours(i64);
    soc, set_soc, Soc, Permille(i16);
    battery_temperature, set_battery_temperature, T, DeciCelsius(i16);
    ac_out_voltage, set_ac_out_voltage, AcOutV, Millivolts(i32);
    ac_out_current, set_ac_out_current, AcOutI, Milliamps(i32);
    ac_out_apparent_power, set_ac_out_apparent_power, AcOutS, VoltAmperes(i32);
    dc_in_voltage, set_dc_in_voltage, DcInV, Millivolts(i32);
    dc_in_current, set_dc_in_current, DcInI, Milliamps(i32);
    dc_in_power, set_dc_in_power, DcInP, Watts(i32);
    deepest_discharge, set_deepest_discharge, H1, MilliampHours(i64);
    last_discharge, set_last_discharge, H2, MilliampHours(i64);
    average_discharge, set_average_discharge, H3, MilliampHours(i64);
    cumulative_drawn, set_cumulative_drawn, H6, MilliampHours(i64);
    min_battery_voltage, set_min_battery_voltage, H7, Millivolts(i32);
    max_battery_voltage, set_max_battery_voltage, H8, Millivolts(i32);
    min_aux_voltage, set_min_aux_voltage, H15, Millivolts(i32);
    max_aux_voltage, set_max_aux_voltage, H16, Millivolts(i32);
    discharged_energy, set_discharged_energy, H17, WattHours(i64);
    charged_energy, set_charged_energy, H18, WattHours(i64);
    yield_total, set_yield_total, H19, WattHours(i64);
    yield_today, set_yield_today, H20, WattHours(i64);
    max_power_today, set_max_power_today, H21, Watts(i32);
    yield_yesterday, set_yield_yesterday, H22, WattHours(i64);
    max_power_yesterday, set_max_power_yesterday, H23, Watts(i32);
    state, set_state, Cs, DeviceState(u8);
    error, set_error, Err, ChargerError(u8);
    tracker_mode, set_tracker_mode, Mppt, TrackerMode(u8);
    device_mode, set_device_mode, Mode, DeviceMode(u8);
    monitor_mode, set_monitor_mode, Mon, MonitorMode(i8);
    alarm_reason, set_alarm_reason, Ar, AlarmReason(u16);
    warning_reason, set_warning_reason, Warn, AlarmReason(u16);
    off_reason, set_off_reason, Or, OffReason(u32);
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    const fn bit(label: Label) -> u64 {
        // Every label has a bit: checked at compile time below.
        1u64 << (label.index() % 64)
    }

    /// Empty the record in place: afterwards it equals [`Record::new`]. Cheaper than
    /// assigning a new record: only the slots of the labels that were sent are touched.
    pub fn clear(&mut self) {
        // Every write to an integer slot also sets its `present` bit (and `remove` zeroes
        // the slot), so the slots of absent labels are already 0.
        let mut bits = self.present;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if let Some(slot) = self.ints.get_mut(i) {
                *slot = 0;
            }
        }
        for s in &mut self.texts {
            s.clear();
        }
        self.extra.clear();
        self.present = 0;
        self.unavailable = 0;
        self.extra_dropped = 0;
    }

    /// Whether `label` was sent (with a value or `---`).
    pub fn contains(&self, label: Label) -> bool {
        self.present & Self::bit(label) != 0
    }

    /// Whether no field at all was recorded.
    pub fn is_empty(&self) -> bool {
        self.present == 0 && self.extra.is_empty()
    }

    fn int(&self, label: Label) -> Option<i64> {
        let b = Self::bit(label);
        if self.present & b == 0 || self.unavailable & b != 0 {
            return None;
        }
        self.ints.get(label.index()).copied()
    }

    fn text(&self, label: Label) -> Option<&str> {
        let b = Self::bit(label);
        if self.present & b == 0 || self.unavailable & b != 0 {
            return None;
        }
        self.texts.get(text_slot(label)?).map(String::as_str)
    }

    /// Product ID (`PID`).
    pub fn product_id(&self) -> Option<u16> {
        self.int(Label::Pid).and_then(|v| u16::try_from(v).ok())
    }

    /// Product name for the product ID, if known.
    pub fn product_name(&self) -> Option<&'static str> {
        self.product_id().and_then(crate::product_name)
    }

    /// Serial number (`SER#`).
    pub fn serial_number(&self) -> Option<&str> {
        self.text(Label::SerialNumber)
    }

    /// Model description (`BMV`).
    pub fn model_description(&self) -> Option<&str> {
        self.text(Label::ModelDescription)
    }

    /// Firmware version, from `FWE` when sent, else `FW`.
    pub fn firmware(&self) -> Option<Firmware> {
        self.text(Label::Fwe)
            .and_then(Firmware::parse_fwe)
            .or_else(|| self.text(Label::Fw).and_then(Firmware::parse_fw))
    }

    /// Time to go (`TTG`).
    pub fn time_to_go(&self) -> Option<TimeToGo> {
        self.int(Label::Ttg).map(|m| match u32::try_from(m) {
            Ok(m) => TimeToGo::Minutes(m),
            Err(_) => TimeToGo::Infinite,
        })
    }

    /// `LOAD` output state.
    pub fn load_output(&self) -> Option<bool> {
        self.int(Label::Load).map(|v| v != 0)
    }

    /// `Relay` state.
    pub fn relay(&self) -> Option<bool> {
        self.int(Label::Relay).map(|v| v != 0)
    }

    /// `Alarm` state.
    pub fn alarm(&self) -> Option<bool> {
        self.int(Label::Alarm).map(|v| v != 0)
    }

    /// A count label (`H4`, `H5`, `H10`–`H14`, `HSDS`), or seconds (`H9`).
    pub fn count(&self, label: Label) -> Option<u32> {
        match label.kind() {
            Kind::Count
            | Kind::Quantity {
                unit: Unit::Seconds,
                ..
            } => self.int(label).and_then(|v| u32::try_from(v).ok()),
            _ => None,
        }
    }

    /// The value of `label`, if it was sent.
    #[inline(never)]
    pub fn get(&self, label: Label) -> Option<Value<'_>> {
        let b = Self::bit(label);
        if self.present & b == 0 {
            return None;
        }
        if self.unavailable & b != 0 {
            return Some(Value::NotAvailable);
        }
        let v = self.ints.get(label.index()).copied().unwrap_or(0);
        // Stored values were range-checked on the way in; the fallbacks are unreachable.
        let u8v = u8::try_from(v).unwrap_or(u8::MAX);
        Some(match label.kind() {
            Kind::Quantity { unit, .. } => Value::Quantity { canonical: v, unit },
            Kind::Count => Value::Count(u32::try_from(v).unwrap_or(u32::MAX)),
            Kind::TimeToGo => Value::TimeToGo(match u32::try_from(v) {
                Ok(m) => TimeToGo::Minutes(m),
                Err(_) => TimeToGo::Infinite,
            }),
            Kind::OnOff => Value::OnOff(v != 0),
            Kind::ProductId => Value::ProductId(u16::try_from(v).unwrap_or(u16::MAX)),
            Kind::OffReason => Value::OffReason(OffReason(u32::try_from(v).unwrap_or(u32::MAX))),
            Kind::AlarmReason => {
                Value::AlarmReason(AlarmReason(u16::try_from(v).unwrap_or(u16::MAX)))
            }
            Kind::DeviceState => Value::DeviceState(DeviceState(u8v)),
            Kind::ChargerError => Value::ChargerError(ChargerError(u8v)),
            Kind::DeviceMode => Value::DeviceMode(DeviceMode(u8v)),
            Kind::TrackerMode => Value::TrackerMode(TrackerMode(u8v)),
            Kind::MonitorMode => Value::MonitorMode(MonitorMode(i8::try_from(v).unwrap_or(0))),
            Kind::Text => Value::Text(self.text(label).unwrap_or_default()),
        })
    }

    /// Every documented label that was sent, with its value, in [`Label::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Label, Value<'_>)> + '_ {
        Label::ALL
            .iter()
            .filter_map(move |&l| self.get(l).map(|v| (l, v)))
    }

    /// Fields that could not be typed (unknown labels; documented labels with bad values).
    pub fn extra(&self) -> &[RawField] {
        &self.extra
    }

    /// Untyped fields that did not fit [`MAX_EXTRA`] and were dropped.
    pub fn extra_dropped(&self) -> u16 {
        self.extra_dropped
    }

    fn push_extra(&mut self, label: &[u8], value: &[u8], invalid: bool) {
        self.push_extra_checked(label, value, invalid, false);
    }

    /// [`Self::push_extra`]; `printable` says the caller (the block decoder) has checked
    /// that every byte is printable ASCII, so no UTF-8 validation is needed.
    fn push_extra_checked(&mut self, label: &[u8], value: &[u8], invalid: bool, printable: bool) {
        let strings = if printable {
            ascii_string(label).zip(ascii_string(value))
        } else {
            match (core::str::from_utf8(label), core::str::from_utf8(value)) {
                (Ok(l), Ok(v)) => String::try_from(l).ok().zip(String::try_from(v).ok()),
                _ => None,
            }
        };
        let Some((label, value)) = strings else {
            self.extra_dropped = self.extra_dropped.saturating_add(1);
            return;
        };
        if self
            .extra
            .push(RawField {
                label,
                value,
                invalid,
            })
            .is_err()
        {
            self.extra_dropped = self.extra_dropped.saturating_add(1);
        }
    }

    /// Record one field as sent on the wire. Unknown labels and unparsable values are kept
    /// in [`Record::extra`]; nothing here fails or panics.
    pub fn apply(&mut self, label: &[u8], value: &[u8]) {
        match Label::from_text(label) {
            Some(l) => self.apply_label(l, label, value, false),
            None => self.push_extra(label, value, false),
        }
    }

    /// [`Self::apply`] of an unknown label from the block decoder (printable ASCII).
    pub(crate) fn apply_unknown_printable(&mut self, label: &[u8], value: &[u8]) {
        self.push_extra_checked(label, value, false, true);
    }

    /// [`Record::apply`] for a label already looked up (`label` is `l`'s wire text);
    /// `printable`: `value` is known to be printable ASCII (as every value of a block the
    /// decoder delivers is).
    #[inline]
    pub(crate) fn apply_label(&mut self, l: Label, label: &[u8], value: &[u8], printable: bool) {
        let b = Self::bit(l);
        if value == b"---" {
            self.present |= b;
            self.unavailable |= b;
            return;
        }
        let Some(&spec) = SPECS.get(l.index()) else {
            return;
        };
        if let Parse::Text(slot) = spec.parse {
            // Text values are printable ASCII (checked here unless the caller already did),
            // so they are copied as chars: no UTF-8 validation to link.
            let ok = printable || value.iter().all(|&c| is_printable(c));
            match self.texts.get_mut(slot) {
                Some(s) if ok && value.len() <= s.capacity() => {
                    s.clear();
                    push_ascii(s, value);
                    self.present |= b;
                    self.unavailable &= !b;
                }
                _ => self.push_extra_checked(label, value, true, printable),
            }
            return;
        }
        match (parse_spec(spec, value), self.ints.get_mut(l.index())) {
            (Some(v), Some(slot)) => {
                *slot = v;
                self.present |= b;
                self.unavailable &= !b;
            }
            _ => self.push_extra_checked(label, value, true, printable),
        }
    }

    /// Set an integer-valued label from its canonical value (see [`Label::kind`]).
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] when the value is outside what the label can carry (or
    /// the label holds text), [`EncodeError::Precision`] when it is not a multiple of the
    /// wire resolution.
    pub fn set_int(&mut self, label: Label, canonical: i64) -> Result<(), EncodeError> {
        let field = label.name();
        let kind = label.kind();
        if let Kind::Quantity { factor, .. } = kind {
            // No `%`: a 64-bit remainder would link the 64-bit division routines.
            if voltwire_core::div_rem_i64(canonical, factor).is_none_or(|(_, r)| r != 0) {
                return Err(EncodeError::Precision { field });
            }
        }
        let (lo, hi) = kind_range(kind).ok_or(EncodeError::OutOfRange { field })?;
        if !(lo..=hi).contains(&canonical) {
            return Err(EncodeError::OutOfRange { field });
        }
        let slot = self
            .ints
            .get_mut(label.index())
            .ok_or(EncodeError::OutOfRange { field })?;
        *slot = canonical;
        self.present |= Self::bit(label);
        self.unavailable &= !Self::bit(label);
        Ok(())
    }

    /// Set a text label (`FW`, `FWE`, `SER#`, `HC#`, `BMV`).
    ///
    /// # Errors
    /// [`EncodeError::InvalidText`] when the text holds a byte the protocol cannot carry
    /// (control characters, `:`, non-ASCII), is too long, or is `---` (which means "not
    /// available": use [`Record::set_not_available`]); [`EncodeError::OutOfRange`] when
    /// `label` is not a text label.
    pub fn set_text(&mut self, label: Label, text: &str) -> Result<(), EncodeError> {
        let field = label.name();
        let slot = text_slot(label).ok_or(EncodeError::OutOfRange { field })?;
        if text.is_empty()
            || text == "---"
            || !text
                .bytes()
                .all(|c| (0x20..=0x7E).contains(&c) && c != b':')
        {
            return Err(EncodeError::InvalidText { field });
        }
        let s = String::try_from(text).map_err(|()| EncodeError::InvalidText { field })?;
        let dst = self
            .texts
            .get_mut(slot)
            .ok_or(EncodeError::OutOfRange { field })?;
        *dst = s;
        self.present |= Self::bit(label);
        self.unavailable &= !Self::bit(label);
        Ok(())
    }

    /// Set `ON`/`OFF` labels (`LOAD`, `Alarm`, `Relay`).
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] when `label` is not an on/off label.
    pub fn set_on_off(&mut self, label: Label, on: bool) -> Result<(), EncodeError> {
        if label.kind() != Kind::OnOff {
            return Err(EncodeError::OutOfRange {
                field: label.name(),
            });
        }
        self.set_int(label, i64::from(on))
    }

    /// Mark `label` as sent with `---` (not available).
    pub fn set_not_available(&mut self, label: Label) {
        self.present |= Self::bit(label);
        self.unavailable |= Self::bit(label);
    }

    /// Remove `label`.
    pub fn remove(&mut self, label: Label) {
        self.present &= !Self::bit(label);
        self.unavailable &= !Self::bit(label);
        if let Some(slot) = self.ints.get_mut(label.index()) {
            *slot = 0;
        }
        if let Some(s) = text_slot(label).and_then(|i| self.texts.get_mut(i)) {
            s.clear();
        }
    }

    /// Write `label`'s value as on the wire (no `core::fmt`: digits by hand, see
    /// [`push_dec`]).
    fn format_value(&self, label: Label, out: &mut Vec<u8, MAX_VALUE_LEN>) -> Result<(), ()> {
        let b = Self::bit(label);
        if self.unavailable & b != 0 {
            return out.extend_from_slice(b"---");
        }
        if let Some(t) = self.text(label) {
            return out.extend_from_slice(t.as_bytes());
        }
        let v = self.ints.get(label.index()).copied().unwrap_or(0);
        match label.kind() {
            Kind::Quantity { factor, .. } => push_dec(out, v, decimal_shift(factor).ok_or(())?),
            Kind::OnOff => out.extend_from_slice(if v != 0 { b"ON" } else { b"OFF" }),
            Kind::ProductId => push_hex(out, v, 4),
            Kind::OffReason => push_hex(out, v, 8),
            _ => push_dec(out, v, 0),
        }
    }

    /// Bytes [`Record::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.write(&mut Writer::new(&mut [])).unwrap_or(0)
    }

    /// Write the record as TEXT blocks with correct checksums: the non-history fields (and
    /// any [`Record::extra`] fields) first, split every [`BLOCK_FIELDS`] fields, then the
    /// BMV/SmartShunt history fields `H1`…`H18` in a block of their own, as those devices do.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `out` is too short (`needed` says how long it
    /// must be).
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let have = out.len();
        let mut w = Writer::new(out);
        let needed = self.write(&mut w)?;
        if needed > have {
            return Err(EncodeError::BufferTooSmall { needed, have });
        }
        Ok(needed)
    }

    #[inline(never)]
    fn write(&self, w: &mut Writer<'_>) -> Result<usize, EncodeError> {
        let mut in_block = 0usize;
        let mut value = Vec::<u8, MAX_VALUE_LEN>::new();
        for pass_history in [false, true] {
            for &label in Label::ALL {
                if !self.contains(label) || label.is_monitor_history() != pass_history {
                    continue;
                }
                if in_block == BLOCK_FIELDS {
                    w.checksum();
                    in_block = 0;
                }
                value.clear();
                self.format_value(label, &mut value)
                    .map_err(|()| EncodeError::OutOfRange {
                        field: label.name(),
                    })?;
                w.field(label.text().as_bytes(), &value)?;
                in_block += 1;
            }
            if !pass_history {
                for f in &self.extra {
                    if in_block == BLOCK_FIELDS {
                        w.checksum();
                        in_block = 0;
                    }
                    w.field(f.label.as_bytes(), f.value.as_bytes())?;
                    in_block += 1;
                }
            }
            if in_block > 0 {
                w.checksum();
                in_block = 0;
            }
        }
        Ok(w.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::std_instead_of_alloc,
        reason = "test code"
    )]
    use super::*;

    fn dec(v: i64, drop: u32) -> std::string::String {
        let mut out = Vec::<u8, 32>::new();
        push_dec(&mut out, v, drop).unwrap();
        std::string::String::from_utf8(out.to_vec()).unwrap()
    }

    fn hex(v: i64, width: u32) -> std::string::String {
        let mut out = Vec::<u8, 32>::new();
        push_hex(&mut out, v, width).unwrap();
        std::string::String::from_utf8(out.to_vec()).unwrap()
    }

    proptest::proptest! {
        /// The hand-written digits are what `core::fmt` wrote before (and `/` by 10^k).
        #[test]
        fn digits_are_fmt(v in proptest::prelude::any::<i64>(), drop in 0u32..4, small in -100_000i64..100_000) {
            for v in [v, small] {
                let p = 10i64.pow(drop);
                proptest::prop_assert_eq!(dec(v, drop), std::format!("{}", v / p));
                proptest::prop_assert_eq!(hex(v, 4), std::format!("0x{v:04X}"));
                proptest::prop_assert_eq!(hex(v, 8), std::format!("0x{v:08X}"));
            }
        }
    }

    #[test]
    fn digits_edges() {
        assert_eq!(dec(0, 2), "0");
        assert_eq!(dec(-5, 1), "0");
        assert_eq!(dec(i64::MIN, 0), std::format!("{}", i64::MIN));
        assert_eq!(dec(-1230, 1), "-123");
        assert_eq!(hex(0, 4), "0x0000");
        assert_eq!(hex(0xA042, 4), "0xA042");
        let mut full = Vec::<u8, 3>::new();
        assert_eq!(push_dec(&mut full, 1234, 0), Err(()));
    }

    /// Text values and untyped fields: printable ASCII is stored, anything else from the
    /// public `apply` is kept as an invalid (or untyped) extra exactly as sent, or dropped
    /// when it is not UTF-8.
    #[test]
    fn text_and_extras() {
        let mut r = Record::new();
        r.apply(b"SER#", b"HQ2117ABCDE");
        assert_eq!(r.serial_number(), Some("HQ2117ABCDE"));
        r.apply(b"SER#", "é".as_bytes());
        assert_eq!(r.serial_number(), Some("HQ2117ABCDE"));
        r.apply(b"SER#", b"\x01");
        r.apply(b"ZZZ", "ü".as_bytes());
        r.apply(b"ZZZ", b"\xFF");
        r.apply_unknown_printable(b"YYY", b"12 ab");
        let extra: std::vec::Vec<_> = r
            .extra()
            .iter()
            .map(|f| (f.label.as_str(), f.value.as_str(), f.invalid))
            .collect();
        assert_eq!(
            extra,
            [
                ("SER#", "é", true),
                ("SER#", "\u{1}", true),
                ("ZZZ", "ü", false),
                ("YYY", "12 ab", false)
            ]
        );
        assert_eq!(r.extra_dropped(), 1);
        r.apply(b"SER#", b"0123456789012345678901234567890123");
        assert_eq!(r.extra_dropped(), 2, "longer than MAX_TEXT_LEN");
    }

    #[test]
    fn every_factor_is_a_power_of_ten() {
        for &label in Label::ALL {
            if let Kind::Quantity { factor, .. } = label.kind() {
                let k = decimal_shift(factor).unwrap();
                assert_eq!(10i64.pow(k), factor, "{label:?}");
            }
        }
        assert_eq!(decimal_shift(20), None);
    }

    /// The per-label table reads every value exactly as the label's [`Kind`] says.
    #[test]
    fn specs_match_kinds() {
        let values: &[&[u8]] = &[
            b"0",
            b"1",
            b"-1",
            b"+7",
            b"12164",
            b"-2147483649",
            b"2147483647",
            b"65535",
            b"65536",
            b"256",
            b"-129",
            b"127",
            b"0x0",
            b"0xA042",
            b"0xFFFFFFFF",
            b"0x100000000",
            b"ON",
            b"off",
            b"On",
            b"OF",
            b"",
            b"-",
            b"1a",
            b"999999999999999999",
            b"9999999999999999999",
            b"---",
            b"C208",
        ];
        for &l in Label::ALL {
            let spec = SPECS[l.index()];
            if l.kind() == Kind::Text {
                assert!(matches!(spec.parse, Parse::Text(s) if Some(s) == text_slot(l)));
                continue;
            }
            for v in values {
                assert_eq!(parse_spec(spec, v), parse_int(l.kind(), v), "{l:?} {v:?}");
            }
        }
    }
}
