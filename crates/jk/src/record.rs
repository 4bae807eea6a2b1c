//! The data records of a "4E 57" reply: a sequence of `ID value` pairs, typed.
//!
//! Every data ID of the vendor document (V2.5) and of the firmware seen in captures has a
//! field in [`Record`]; the size of each value is fixed by its ID, except for the cell block
//! 0x79 (a byte count, then `index, mV` triples).
//!
//! ## Parsing rules
//!
//! - IDs are walked with the size table, never by fixed offsets; order does not matter, and
//!   an ID sent twice keeps its last value.
//! - Every ID whose size we know is typed. An ID we do not know (no size, so the next ID
//!   cannot be found), a cell block whose byte count is not a multiple of 3, or a value cut
//!   off by the end of the info field **ends the typed parse**: that byte and everything
//!   after it are kept unchanged in [`Record::rest`], and [`Record::emit_info`] writes them
//!   back after the typed fields. Nothing is dropped.
//! - [`Record::emit_info`] writes the fields in ascending ID order (the order of the vendor
//!   example and of every capture), so `emit(parse(b)) == b` for such input.

use heapless::Vec;
use voltwire_core::table::indexed;
use voltwire_core::{DeciCelsius, EncodeError, MilliampHours, Milliamps, Millivolts, Scale};

use crate::frame::MAX_INFO_LEN;

/// Most cells a 0x79 block can carry (its byte count is one byte, 3 bytes per cell).
pub const MAX_CELLS: usize = 85;

/// Data ID of the cell-voltage block.
pub const ID_CELLS: u8 = 0x79;

/// One wire encoding of a record value.
trait Codec {
    type Value;
    const LEN: usize;
    fn read(b: &[u8]) -> Option<Self::Value>;
    fn write(v: &Self::Value, out: &mut [u8], field: &'static str) -> Result<(), EncodeError>;
    fn value(v: &Self::Value) -> FieldValue<'_>;
}

/// The value of one field, for generic consumers (see [`Record::fields`]).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldValue<'a> {
    /// A voltage.
    Voltage(Millivolts),
    /// A current or current limit.
    Current(Milliamps),
    /// A capacity.
    Capacity(MilliampHours),
    /// A measured temperature (0x80–0x82).
    Temperature(SensorTemperature),
    /// The raw pack current (0x84); decode with [`Record::current`].
    RawCurrent(Current),
    /// A plain byte (count, switch, percent, code).
    U8(u8),
    /// A plain 16-bit value (count, seconds).
    U16(u16),
    /// A plain 32-bit value (minutes).
    U32(u32),
    /// A signed 16-bit value (whole °C settings).
    I16(i16),
    /// Text without its NUL padding.
    Text(&'a [u8]),
    /// Warning bits.
    Warnings(Warnings),
    /// Status bits.
    Status(Status),
    /// Battery type.
    BatteryType(BatteryType),
}

/// One present field of a [`Record`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field<'a> {
    /// Data ID.
    pub id: u8,
    /// The [`Record`] field name.
    pub name: &'static str,
    /// The value.
    pub value: FieldValue<'a>,
}

fn put(out: &mut [u8], bytes: &[u8]) -> Result<(), EncodeError> {
    let have = out.len();
    out.get_mut(..bytes.len())
        .ok_or(EncodeError::BufferTooSmall {
            needed: bytes.len(),
            have,
        })?
        .copy_from_slice(bytes);
    Ok(())
}

fn arr<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.get(..N).and_then(|s| s.try_into().ok())
}

impl Codec for u8 {
    type Value = u8;
    const LEN: usize = 1;
    fn read(b: &[u8]) -> Option<u8> {
        b.first().copied()
    }
    fn write(v: &u8, out: &mut [u8], _: &'static str) -> Result<(), EncodeError> {
        put(out, &[*v])
    }
    fn value(v: &u8) -> FieldValue<'_> {
        FieldValue::U8(*v)
    }
}

impl Codec for u16 {
    type Value = u16;
    const LEN: usize = 2;
    fn read(b: &[u8]) -> Option<u16> {
        arr(b).map(u16::from_be_bytes)
    }
    fn write(v: &u16, out: &mut [u8], _: &'static str) -> Result<(), EncodeError> {
        put(out, &v.to_be_bytes())
    }
    fn value(v: &u16) -> FieldValue<'_> {
        FieldValue::U16(*v)
    }
}

impl Codec for u32 {
    type Value = u32;
    const LEN: usize = 4;
    fn read(b: &[u8]) -> Option<u32> {
        arr(b).map(u32::from_be_bytes)
    }
    fn write(v: &u32, out: &mut [u8], _: &'static str) -> Result<(), EncodeError> {
        put(out, &v.to_be_bytes())
    }
    fn value(v: &u32) -> FieldValue<'_> {
        FieldValue::U32(*v)
    }
}

impl Codec for i16 {
    type Value = i16;
    const LEN: usize = 2;
    fn read(b: &[u8]) -> Option<i16> {
        arr(b).map(i16::from_be_bytes)
    }
    fn write(v: &i16, out: &mut [u8], _: &'static str) -> Result<(), EncodeError> {
        put(out, &v.to_be_bytes())
    }
    fn value(v: &i16) -> FieldValue<'_> {
        FieldValue::I16(*v)
    }
}

/// `v` in steps of `lsb` as a wire value `T`: the result of `to_wire_as` with
/// `Scale::new(lsb, 0)` for the positive 32-bit steps used here, in 32-bit arithmetic (the
/// generic path keeps a 64-bit fallback alive in firmware).
fn to_steps<T: TryFrom<i32>>(v: i32, lsb: i64, field: &'static str) -> Result<T, EncodeError> {
    let out_of_range = EncodeError::OutOfRange { field };
    let lsb = i32::try_from(lsb).map_err(|_| out_of_range)?;
    match (v.checked_rem(lsb), v.checked_div(lsb)) {
        (Some(0), Some(q)) => T::try_from(q).map_err(|_| out_of_range),
        (Some(_), _) => Err(EncodeError::Precision { field }),
        _ => Err(out_of_range),
    }
}

/// u16 BE in steps of `LSB` mV.
struct Mv<const LSB: i64>;
impl<const LSB: i64> Codec for Mv<LSB> {
    type Value = Millivolts;
    const LEN: usize = 2;
    fn read(b: &[u8]) -> Option<Millivolts> {
        Millivolts::from_wire(i64::from(u16::read(b)?), Scale::new(LSB, 0))
    }
    fn write(v: &Millivolts, out: &mut [u8], field: &'static str) -> Result<(), EncodeError> {
        u16::write(&to_steps(v.0, LSB, field)?, out, field)
    }
    fn value(v: &Millivolts) -> FieldValue<'_> {
        FieldValue::Voltage(*v)
    }
}

/// u16 BE in steps of `LSB` mA.
struct Ma<const LSB: i64>;
impl<const LSB: i64> Codec for Ma<LSB> {
    type Value = Milliamps;
    const LEN: usize = 2;
    fn read(b: &[u8]) -> Option<Milliamps> {
        Milliamps::from_wire(i64::from(u16::read(b)?), Scale::new(LSB, 0))
    }
    fn write(v: &Milliamps, out: &mut [u8], field: &'static str) -> Result<(), EncodeError> {
        u16::write(&to_steps(v.0, LSB, field)?, out, field)
    }
    fn value(v: &Milliamps) -> FieldValue<'_> {
        FieldValue::Current(*v)
    }
}

/// u32 BE in whole Ah.
struct Ah;
impl Codec for Ah {
    type Value = MilliampHours;
    const LEN: usize = 4;
    fn read(b: &[u8]) -> Option<MilliampHours> {
        MilliampHours::from_wire(i64::from(u32::read(b)?), Scale::new(1000, 0))
    }
    fn write(v: &MilliampHours, out: &mut [u8], field: &'static str) -> Result<(), EncodeError> {
        u32::write(
            &v.to_wire_as::<u32>(Scale::new(1000, 0), field)?,
            out,
            field,
        )
    }
    fn value(v: &MilliampHours) -> FieldValue<'_> {
        FieldValue::Capacity(*v)
    }
}

impl<const N: usize> Codec for Text<N> {
    type Value = Text<N>;
    const LEN: usize = N;
    fn read(b: &[u8]) -> Option<Self> {
        arr(b).map(Text)
    }
    fn write(v: &Self, out: &mut [u8], _: &'static str) -> Result<(), EncodeError> {
        put(out, &v.0)
    }
    fn value(v: &Self) -> FieldValue<'_> {
        FieldValue::Text(v.trimmed())
    }
}

macro_rules! newtype_codec {
    ($t:ident, $inner:ty, $variant:ident) => {
        impl Codec for $t {
            type Value = $t;
            const LEN: usize = <$inner as Codec>::LEN;
            fn read(b: &[u8]) -> Option<Self> {
                <$inner as Codec>::read(b).map(Into::into)
            }
            fn write(v: &Self, out: &mut [u8], f: &'static str) -> Result<(), EncodeError> {
                <$inner as Codec>::write(&(*v).into(), out, f)
            }
            fn value(v: &Self) -> FieldValue<'_> {
                FieldValue::$variant(*v)
            }
        }
    };
}

/// Fixed-size ASCII text as sent (NUL-padded); kept byte for byte.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Text<const N: usize>(pub [u8; N]);

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self([0; N])
    }
}

impl<const N: usize> Text<N> {
    /// Text from a string: at most `N` bytes, NUL-padded.
    ///
    /// # Errors
    /// [`EncodeError::InvalidText`] when `s` is longer than `N` bytes.
    pub fn new(s: &str) -> Result<Self, EncodeError> {
        let mut b = [0; N];
        b.get_mut(..s.len())
            .ok_or(EncodeError::InvalidText { field: "text" })?
            .copy_from_slice(s.as_bytes());
        Ok(Self(b))
    }

    /// The bytes without trailing NUL padding.
    pub fn trimmed(&self) -> &[u8] {
        let end = self.0.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        self.0.get(..end).unwrap_or_default()
    }

    /// The text without trailing NUL padding, when it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.trimmed()).ok()
    }
}

/// A measured temperature (IDs 0x80–0x82) as sent. Wire: u16 BE, whole °C, values above 100
/// are negative: `101` = −1 °C, `140` = −40 °C (vendor document; see `docs/protocols/jk.md` for the
/// implementations that are off by one).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SensorTemperature(pub u16);

voltwire_core::raw_from!(SensorTemperature(u16));
newtype_codec!(SensorTemperature, u16, Temperature);

impl SensorTemperature {
    /// Whole degrees Celsius: `raw` when `raw <= 100`, else `100 - raw`.
    pub fn celsius(self) -> i32 {
        let raw = i32::from(self.0);
        if raw <= 100 { raw } else { 100 - raw }
    }

    /// The temperature in 0.1 °C, `None` below −3276 °C.
    pub fn deci_celsius(self) -> Option<DeciCelsius> {
        i16::try_from(self.celsius() * 10).ok().map(DeciCelsius)
    }

    /// Encode whole degrees Celsius (−65435..=100); `None` outside that range.
    pub fn from_celsius(c: i32) -> Option<Self> {
        let raw = if c >= 0 { c } else { 100 - c };
        if c > 100 {
            return None;
        }
        u16::try_from(raw).ok().map(Self)
    }
}

/// How the current (ID 0x84) is encoded; chosen by the protocol version (ID 0xC0).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CurrentEncoding {
    /// Protocol version 1: bit 15 set = charging, low 15 bits = magnitude in 10 mA.
    /// `0x87D0` = +20 A, `0x07D0` = −20 A.
    SignBit,
    /// Protocol version 0 (or no 0xC0 record, old firmware): `(10000 − raw) × 10 mA`.
    /// `11000` = −10 A (discharging), `9500` = +5 A.
    Offset10000,
}

/// The pack current (ID 0x84) as sent; decode it with [`Current::decode`] and the
/// [`CurrentEncoding`] (or let [`Record::current`] pick the encoding). Wire: u16 BE.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Current(pub u16);

voltwire_core::raw_from!(Current(u16));
newtype_codec!(Current, u16, RawCurrent);

impl Current {
    /// The current (positive = charging) under `encoding`.
    pub fn decode(self, encoding: CurrentEncoding) -> Milliamps {
        let raw = i32::from(self.0);
        match encoding {
            CurrentEncoding::SignBit => {
                let magnitude = (raw & 0x7FFF) * 10;
                Milliamps(if raw & 0x8000 != 0 {
                    magnitude
                } else {
                    -magnitude
                })
            }
            CurrentEncoding::Offset10000 => Milliamps((10_000 - raw) * 10),
        }
    }

    /// Encode a current (positive = charging) under `encoding`. Zero encodes as `0x0000`
    /// with [`CurrentEncoding::SignBit`].
    ///
    /// # Errors
    /// [`EncodeError::Precision`] when not a multiple of 10 mA, [`EncodeError::OutOfRange`]
    /// beyond ±327.67 A (sign bit) or outside −555.35..=+100 A (offset).
    pub fn encode(current: Milliamps, encoding: CurrentEncoding) -> Result<Self, EncodeError> {
        const F: &str = "current";
        let ma = current.0;
        if ma % 10 != 0 {
            return Err(EncodeError::Precision { field: F });
        }
        let steps = ma / 10;
        let raw = match encoding {
            CurrentEncoding::SignBit => {
                let magnitude = steps.unsigned_abs();
                if magnitude > 0x7FFF {
                    return Err(EncodeError::OutOfRange { field: F });
                }
                if steps > 0 {
                    magnitude | 0x8000
                } else {
                    magnitude
                }
            }
            CurrentEncoding::Offset10000 => u32::try_from(10_000 - i64::from(steps))
                .map_err(|_| EncodeError::OutOfRange { field: F })?,
        };
        u16::try_from(raw)
            .map(Self)
            .map_err(|_| EncodeError::OutOfRange { field: F })
    }
}

/// Warning bits (ID 0x8B). Wire: u16 BE.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Warnings(pub u16);

voltwire_core::raw_from!(Warnings(u16));
newtype_codec!(Warnings, u16, Warnings);

/// Names of the [`Warnings`] bits, bit 0 first.
pub const WARNING_NAMES: [&str; 14] = [
    "low_capacity",
    "mosfet_over_temperature",
    "charge_over_voltage",
    "discharge_under_voltage",
    "battery_over_temperature",
    "charge_over_current",
    "discharge_over_current",
    "cell_voltage_difference",
    "box_over_temperature",
    "battery_low_temperature",
    "cell_over_voltage",
    "cell_under_voltage",
    "protection_309_a",
    "protection_309_b",
];

impl Warnings {
    /// Bit 0: low capacity.
    pub const LOW_CAPACITY: u16 = 1 << 0;
    /// Bit 1: MOSFET over-temperature.
    pub const MOSFET_OVER_TEMPERATURE: u16 = 1 << 1;
    /// Bit 2: charge over-voltage.
    pub const CHARGE_OVER_VOLTAGE: u16 = 1 << 2;
    /// Bit 3: discharge under-voltage.
    pub const DISCHARGE_UNDER_VOLTAGE: u16 = 1 << 3;
    /// Bit 4: battery over-temperature.
    pub const BATTERY_OVER_TEMPERATURE: u16 = 1 << 4;
    /// Bit 5: charge over-current.
    pub const CHARGE_OVER_CURRENT: u16 = 1 << 5;
    /// Bit 6: discharge over-current.
    pub const DISCHARGE_OVER_CURRENT: u16 = 1 << 6;
    /// Bit 7: cell voltage difference.
    pub const CELL_VOLTAGE_DIFFERENCE: u16 = 1 << 7;
    /// Bit 8: battery box over-temperature.
    pub const BOX_OVER_TEMPERATURE: u16 = 1 << 8;
    /// Bit 9: battery low temperature.
    pub const BATTERY_LOW_TEMPERATURE: u16 = 1 << 9;
    /// Bit 10: cell over-voltage.
    pub const CELL_OVER_VOLTAGE: u16 = 1 << 10;
    /// Bit 11: cell under-voltage.
    pub const CELL_UNDER_VOLTAGE: u16 = 1 << 11;
    /// Bit 12: `309_A` protection.
    pub const PROTECTION_309_A: u16 = 1 << 12;
    /// Bit 13: `309_B` protection.
    pub const PROTECTION_309_B: u16 = 1 << 13;

    /// Whether every bit of `mask` is set.
    pub const fn contains(self, mask: u16) -> bool {
        self.0 & mask == mask
    }
}

voltwire_core::flag_word!(
    /// Names of the set bits (`bit_14`, `bit_15` for the undocumented ones).
    impl Warnings(u16) = &indexed(WARNING_NAMES), report_unnamed
);

/// Status bits (ID 0x8C). Wire: u16 BE.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Status(pub u16);

voltwire_core::raw_from!(Status(u16));
newtype_codec!(Status, u16, Status);

/// Names of the [`Status`] bits, bit 0 first.
pub const STATUS_NAMES: [&str; 4] = [
    "charge_mos_on",
    "discharge_mos_on",
    "balancer_on",
    "battery_dropped",
];

impl Status {
    /// Bit 0: charge MOSFET on.
    pub const fn charge_mos_on(self) -> bool {
        self.0 & 1 != 0
    }
    /// Bit 1: discharge MOSFET on.
    pub const fn discharge_mos_on(self) -> bool {
        self.0 & 2 != 0
    }
    /// Bit 2: balancer running.
    pub const fn balancer_on(self) -> bool {
        self.0 & 4 != 0
    }
    /// Bit 3: battery dropped (offline).
    pub const fn battery_dropped(self) -> bool {
        self.0 & 8 != 0
    }
}

voltwire_core::flag_word!(
    /// Names of the set bits (`bit_N` for undocumented ones).
    impl Status(u16) = &indexed(STATUS_NAMES), report_unnamed
);

voltwire_core::code_enum! {
    /// Battery chemistry setting (ID 0xAF). Wire: u8. Unknown codes are kept.
    pub enum BatteryType(u8) {
        /// 0: lithium iron phosphate.
        Lfp = 0 => "lfp",
        /// 1: ternary lithium (NMC).
        Ternary = 1 => "ternary",
        /// 2: lithium titanate.
        Lto = 2 => "lto",
    }
}
newtype_codec!(BatteryType, u8, BatteryType);

/// One entry of the cell block (ID 0x79).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Cell {
    /// Cell number as sent (1-based in every capture). Wire: u8.
    pub index: u8,
    /// Cell voltage. Wire: u16 BE, 1 mV.
    pub voltage: Millivolts,
}

macro_rules! record {
    ($( $(#[$doc:meta])* $id:literal $name:ident : $vt:ty = $codec:ty ),* $(,)?) => {
        /// The typed content of a reply (or of a write request): one optional field per
        /// data ID, the cell block, and the unparsed rest. See the [module docs](self).
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct Record {
            /// 0x79: cell voltages, in wire order. Wire: byte count (3 × cells), then per
            /// cell `index u8, mV u16 BE`.
            pub cells: Option<Vec<Cell, MAX_CELLS>>,
            $( $(#[$doc])* pub $name: Option<$vt>, )*
            /// Bytes from the first ID that could not be typed to the end of the info field,
            /// unchanged (empty when every ID was typed).
            pub rest: Vec<u8, MAX_INFO_LEN>,
        }

        impl Record {
            /// Size of the value of data ID `id` (without the ID byte); `None` for IDs we do
            /// not know and for the variable-size cell block 0x79.
            pub const fn value_len(id: u8) -> Option<usize> {
                match id {
                    $( $id => Some(<$codec as Codec>::LEN), )*
                    _ => None,
                }
            }

            fn set(&mut self, id: u8, bytes: &[u8]) -> bool {
                match id {
                    $( $id => match <$codec as Codec>::read(bytes) {
                        Some(v) => { self.$name = Some(v); true }
                        None => false,
                    }, )*
                    _ => false,
                }
            }

            /// The present typed fields in ascending ID order (the cell block and
            /// [`Record::rest`] are not included).
            pub fn fields(&self) -> impl Iterator<Item = Field<'_>> {
                [ $( self.$name.as_ref().map(|v| Field {
                    id: $id,
                    name: stringify!($name),
                    value: <$codec as Codec>::value(v),
                }), )* ].into_iter().flatten()
            }

            /// Bytes of the typed fields: [`Self::emit_fields`] into nothing.
            fn fields_len(&self) -> usize {
                self.emit_fields(&mut []).unwrap_or(0)
            }

            /// Write the typed fields from the start of `out`; returns their length. A field
            /// that does not fit is counted but neither written nor checked, so an empty
            /// `out` measures (one unrolled pass over some 80 fields instead of two).
            fn emit_fields(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
                let mut pos = 0;
                $(
                    if let Some(v) = &self.$name {
                        let end = pos + 1 + <$codec as Codec>::LEN;
                        if let Some((first, value)) =
                            out.get_mut(pos..end).and_then(<[u8]>::split_first_mut)
                        {
                            *first = $id;
                            <$codec as Codec>::write(v, value, stringify!($name))?;
                        }
                        pos = end;
                    }
                )*
                Ok(pos)
            }
        }
    };
}

record! {
    /// 0x80: power MOSFET temperature. Wire: u16 BE, see [`SensorTemperature`].
    0x80 mosfet_temperature: SensorTemperature = SensorTemperature,
    /// 0x81: battery box / balance board temperature. Wire: u16 BE, see [`SensorTemperature`].
    0x81 box_temperature: SensorTemperature = SensorTemperature,
    /// 0x82: battery temperature. Wire: u16 BE, see [`SensorTemperature`].
    0x82 battery_temperature: SensorTemperature = SensorTemperature,
    /// 0x83: pack voltage. Wire: u16 BE, 10 mV.
    0x83 pack_voltage: Millivolts = Mv<10>,
    /// 0x84: pack current, raw; see [`Record::current`]. Wire: u16 BE.
    0x84 current_raw: Current = Current,
    /// 0x85: state of charge, %. Wire: u8.
    0x85 soc_percent: u8 = u8,
    /// 0x86: number of temperature sensors. Wire: u8.
    0x86 temperature_sensor_count: u8 = u8,
    /// 0x87: cycle count. Wire: u16 BE.
    0x87 cycle_count: u16 = u16,
    /// 0x89: total cycle capacity. Wire: u32 BE, 1 Ah.
    0x89 total_cycle_capacity: MilliampHours = Ah,
    /// 0x8A: number of cells (strings). Wire: u16 BE.
    0x8A cell_count: u16 = u16,
    /// 0x8B: warnings. Wire: u16 BE bits.
    0x8B warnings: Warnings = Warnings,
    /// 0x8C: status. Wire: u16 BE bits.
    0x8C status: Status = Status,
    /// 0x8E: pack over-voltage protection. Wire: u16 BE, 10 mV.
    0x8E pack_over_voltage_protection: Millivolts = Mv<10>,
    /// 0x8F: pack under-voltage protection. Wire: u16 BE, 10 mV.
    0x8F pack_under_voltage_protection: Millivolts = Mv<10>,
    /// 0x90: cell over-voltage protection. Wire: u16 BE, 1 mV.
    0x90 cell_over_voltage_protection: Millivolts = Mv<1>,
    /// 0x91: cell over-voltage recovery. Wire: u16 BE, 1 mV.
    0x91 cell_over_voltage_recovery: Millivolts = Mv<1>,
    /// 0x92: cell over-voltage protection delay, s. Wire: u16 BE, 1 s.
    0x92 cell_over_voltage_delay_s: u16 = u16,
    /// 0x93: cell under-voltage protection. Wire: u16 BE, 1 mV.
    0x93 cell_under_voltage_protection: Millivolts = Mv<1>,
    /// 0x94: cell under-voltage recovery. Wire: u16 BE, 1 mV.
    0x94 cell_under_voltage_recovery: Millivolts = Mv<1>,
    /// 0x95: cell under-voltage protection delay, s. Wire: u16 BE, 1 s.
    0x95 cell_under_voltage_delay_s: u16 = u16,
    /// 0x96: cell voltage difference protection. Wire: u16 BE, 1 mV.
    0x96 cell_difference_protection: Millivolts = Mv<1>,
    /// 0x97: discharge over-current protection. Wire: u16 BE, 1 A.
    0x97 discharge_over_current_protection: Milliamps = Ma<1000>,
    /// 0x98: discharge over-current delay, s. Wire: u16 BE, 1 s.
    0x98 discharge_over_current_delay_s: u16 = u16,
    /// 0x99: charge over-current protection. Wire: u16 BE, 1 A.
    0x99 charge_over_current_protection: Milliamps = Ma<1000>,
    /// 0x9A: charge over-current delay, s. Wire: u16 BE, 1 s.
    0x9A charge_over_current_delay_s: u16 = u16,
    /// 0x9B: balance start voltage. Wire: u16 BE, 1 mV.
    0x9B balance_start_voltage: Millivolts = Mv<1>,
    /// 0x9C: balance trigger difference. Wire: u16 BE, 1 mV.
    0x9C balance_trigger_difference: Millivolts = Mv<1>,
    /// 0x9D: active balancer switch (0 off, 1 on). Wire: u8.
    0x9D balancer_switch: u8 = u8,
    /// 0x9E: MOSFET over-temperature protection, °C. Wire: i16 BE, 1 °C.
    0x9E mosfet_over_temperature_celsius: i16 = i16,
    /// 0x9F: MOSFET over-temperature recovery, °C. Wire: i16 BE, 1 °C.
    0x9F mosfet_over_temperature_recovery_celsius: i16 = i16,
    /// 0xA0: box over-temperature protection, °C. Wire: i16 BE, 1 °C.
    0xA0 box_over_temperature_celsius: i16 = i16,
    /// 0xA1: box over-temperature recovery, °C. Wire: i16 BE, 1 °C.
    0xA1 box_over_temperature_recovery_celsius: i16 = i16,
    /// 0xA2: battery temperature difference protection, °C. Wire: i16 BE, 1 °C.
    0xA2 temperature_difference_celsius: i16 = i16,
    /// 0xA3: charge high-temperature protection, °C. Wire: i16 BE, 1 °C.
    0xA3 charge_over_temperature_celsius: i16 = i16,
    /// 0xA4: discharge high-temperature protection, °C. Wire: i16 BE, 1 °C.
    0xA4 discharge_over_temperature_celsius: i16 = i16,
    /// 0xA5: charge low-temperature protection, °C. Wire: i16 BE, 1 °C, plain signed.
    0xA5 charge_low_temperature_celsius: i16 = i16,
    /// 0xA6: charge low-temperature recovery, °C. Wire: i16 BE, 1 °C, plain signed.
    0xA6 charge_low_temperature_recovery_celsius: i16 = i16,
    /// 0xA7: discharge low-temperature protection, °C. Wire: i16 BE, 1 °C, plain signed.
    0xA7 discharge_low_temperature_celsius: i16 = i16,
    /// 0xA8: discharge low-temperature recovery, °C. Wire: i16 BE, 1 °C, plain signed.
    0xA8 discharge_low_temperature_recovery_celsius: i16 = i16,
    /// 0xA9: cell count setting. Wire: u8.
    0xA9 cell_count_setting: u8 = u8,
    /// 0xAA: battery capacity setting. Wire: u32 BE, 1 Ah.
    0xAA capacity_setting: MilliampHours = Ah,
    /// 0xAB: charge MOSFET switch (0 off, 1 on; writable). Wire: u8.
    0xAB charge_mos_switch: u8 = u8,
    /// 0xAC: discharge MOSFET switch (0 off, 1 on; writable). Wire: u8.
    0xAC discharge_mos_switch: u8 = u8,
    /// 0xAD: current calibration. Wire: u16 BE, 1 mA.
    0xAD current_calibration: Milliamps = Ma<1>,
    /// 0xAE: board address. Wire: u8.
    0xAE board_address: u8 = u8,
    /// 0xAF: battery type. Wire: u8.
    0xAF battery_type: BatteryType = BatteryType,
    /// 0xB0: sleep wait time, s. Wire: u16 BE, 1 s.
    0xB0 sleep_wait_s: u16 = u16,
    /// 0xB1: low-capacity alarm, %. Wire: u8.
    0xB1 low_capacity_alarm_percent: u8 = u8,
    /// 0xB2: parameter password. Wire: 10 bytes ASCII.
    0xB2 password: Text<10> = Text<10>,
    /// 0xB3: dedicated charger switch. Wire: u8.
    0xB3 dedicated_charger_switch: u8 = u8,
    /// 0xB4: device ID code. Wire: 8 bytes ASCII.
    0xB4 device_id: Text<8> = Text<8>,
    /// 0xB5: production date "YYMM". Wire: 4 bytes ASCII.
    0xB5 production_date: Text<4> = Text<4>,
    /// 0xB6: runtime, minutes. Wire: u32 BE, 1 min.
    0xB6 runtime_minutes: u32 = u32,
    /// 0xB7: software version. Wire: 15 bytes ASCII.
    0xB7 software_version: Text<15> = Text<15>,
    /// 0xB8: start current calibration. Wire: u8.
    0xB8 start_current_calibration: u8 = u8,
    /// 0xB9: actual battery capacity (firmware 10.10+). Wire: u32 BE, 1 Ah.
    0xB9 actual_capacity: MilliampHours = Ah,
    /// 0xBA: manufacturer ID. Wire: 24 bytes ASCII.
    0xBA manufacturer_id: Text<24> = Text<24>,
    /// 0xBB: restart the system (write only). Wire: u8.
    0xBB restart: u8 = u8,
    /// 0xBC: factory reset (write only). Wire: u8.
    0xBC factory_reset: u8 = u8,
    /// 0xBD: remote upgrade flag (write only). Wire: u8.
    0xBD remote_upgrade: u8 = u8,
    /// 0xBE: GPS low-voltage power-off voltage. Wire: u16 BE, 1 mV.
    0xBE gps_shutdown_voltage: Millivolts = Mv<1>,
    /// 0xBF: GPS low-voltage recovery voltage. Wire: u16 BE, 1 mV.
    0xBF gps_recovery_voltage: Millivolts = Mv<1>,
    /// 0xC0: protocol version (0 or 1; selects the current encoding). Wire: u8.
    0xC0 protocol_version: u8 = u8,
}

impl Record {
    /// An empty record (no field present).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse the info field of a reply (a sequence of `ID value`). Total: whatever cannot be
    /// typed ends up in [`Record::rest`]; an info field longer than
    /// [`MAX_INFO_LEN`] (impossible inside a frame) has its rest
    /// cut there.
    pub fn parse_info(info: &[u8]) -> Self {
        let mut r = Self::default();
        let mut rest = info;
        while let Some((&id, after)) = rest.split_first() {
            if id == ID_CELLS {
                match parse_cells(after) {
                    Some((cells, remaining)) => {
                        r.cells = Some(cells);
                        rest = remaining;
                        continue;
                    }
                    None => break,
                }
            }
            let Some(len) = Self::value_len(id) else {
                break;
            };
            let Some((value, remaining)) = after.split_at_checked(len) else {
                break;
            };
            if !r.set(id, value) {
                break;
            }
            rest = remaining;
        }
        let keep = rest.get(..MAX_INFO_LEN).unwrap_or(rest);
        // In place: a `Vec::from_slice` temporary would be a second 2 KiB value to move.
        // `keep` fits (cut at the capacity above); were it not to, `rest` stays empty.
        if r.rest.extend_from_slice(keep).is_err() {
            r.rest.clear();
        }
        r
    }

    /// Bytes [`Record::emit_info`] writes.
    pub fn info_len(&self) -> usize {
        self.cells.as_ref().map_or(0, |c| 2 + 3 * c.len()) + self.fields_len() + self.rest.len()
    }

    /// Write the records: cells, the typed fields in ascending ID order, then
    /// [`Record::rest`]. Returns the bytes written.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `out` is shorter than [`Record::info_len`]; a value
    /// error when a field cannot be carried exactly (e.g. a pack voltage that is not a
    /// multiple of 10 mV).
    pub fn emit_info(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let needed = self.info_len();
        let have = out.len();
        let out = out
            .get_mut(..needed)
            .ok_or(EncodeError::BufferTooSmall { needed, have })?;
        let mut pos = 0;
        if let Some(cells) = &self.cells {
            let count = u8::try_from(3 * cells.len())
                .map_err(|_| EncodeError::OutOfRange { field: "cells" })?;
            put(out, &[ID_CELLS, count])?;
            pos = 2;
            for c in cells {
                // 1 mV steps: the wire value is the millivolts themselves.
                let mv = u16::try_from(c.voltage.0).map_err(|_| EncodeError::OutOfRange {
                    field: "cell_voltage",
                })?;
                let [hi, lo] = mv.to_be_bytes();
                put(out.get_mut(pos..).unwrap_or_default(), &[c.index, hi, lo])?;
                pos += 3;
            }
        }
        pos += self.emit_fields(out.get_mut(pos..).unwrap_or_default())?;
        put(out.get_mut(pos..).unwrap_or_default(), &self.rest)?;
        Ok(pos + self.rest.len())
    }

    /// The current encoding this record's protocol version selects: sign bit for a 0xC0
    /// value other than 0, the offset scheme for 0 or when 0xC0 is absent (old firmware).
    pub fn current_encoding(&self) -> CurrentEncoding {
        match self.protocol_version {
            None | Some(0) => CurrentEncoding::Offset10000,
            Some(_) => CurrentEncoding::SignBit,
        }
    }

    /// The pack current (positive = charging), decoded with [`Record::current_encoding`].
    pub fn current(&self) -> Option<Milliamps> {
        self.current_raw.map(|c| c.decode(self.current_encoding()))
    }

    /// The cell voltages in wire order.
    pub fn cell_voltages(&self) -> impl Iterator<Item = Millivolts> + '_ {
        self.cells.iter().flatten().map(|c| c.voltage)
    }
}

fn parse_cells(after: &[u8]) -> Option<(Vec<Cell, MAX_CELLS>, &[u8])> {
    let (&count, body) = after.split_first()?;
    let count = usize::from(count);
    if count % 3 != 0 {
        return None;
    }
    let (block, remaining) = body.split_at_checked(count)?;
    let mut cells = Vec::new();
    for chunk in block.chunks_exact(3) {
        if let [index, hi, lo] = *chunk {
            cells
                .push(Cell {
                    index,
                    voltage: Millivolts(i32::from(u16::from_be_bytes([hi, lo]))),
                })
                .ok()?;
        }
    }
    Some((cells, remaining))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The 32-bit step conversion is `to_wire_as` for every step size the record uses.
        #[test]
        fn steps_are_to_wire_as(v in proptest::prelude::any::<i32>(), small in -70_000i32..70_000) {
            for v in [v, small, small * 10, small * 1000] {
                for lsb in [1i64, 10, 1000] {
                    proptest::prop_assert_eq!(
                        to_steps::<u16>(v, lsb, "f"),
                        Millivolts(v).to_wire_as::<u16>(Scale::new(lsb, 0), "f")
                    );
                }
            }
        }
    }

    #[test]
    fn flag_names_with_bit_n() {
        assert!(Warnings(1 | 1 << 13 | 1 << 15).flags().eq([
            "low_capacity",
            "protection_309_b",
            "bit_15"
        ]));
        assert!(Status(0b1_0001).flags().eq(["charge_mos_on", "bit_4"]));
    }

    #[test]
    fn temperatures_follow_the_vendor_document() {
        assert_eq!(SensorTemperature(29).celsius(), 29);
        assert_eq!(SensorTemperature(100).celsius(), 100);
        assert_eq!(SensorTemperature(101).celsius(), -1);
        assert_eq!(SensorTemperature(140).celsius(), -40);
        assert_eq!(
            SensorTemperature::from_celsius(-40),
            Some(SensorTemperature(140))
        );
        assert_eq!(
            SensorTemperature::from_celsius(0),
            Some(SensorTemperature(0))
        );
        assert_eq!(SensorTemperature::from_celsius(101), None);
        assert_eq!(
            SensorTemperature(140).deci_celsius(),
            Some(DeciCelsius(-400))
        );
    }

    #[test]
    fn both_current_encodings() {
        use CurrentEncoding::{Offset10000, SignBit};
        assert_eq!(Current(0x87D0).decode(SignBit), Milliamps(20_000));
        assert_eq!(Current(0x07D0).decode(SignBit), Milliamps(-20_000));
        assert_eq!(Current(0x80D0).decode(SignBit), Milliamps(2_080));
        assert_eq!(Current(11_000).decode(Offset10000), Milliamps(-10_000));
        assert_eq!(Current(9_500).decode(Offset10000), Milliamps(5_000));
        assert_eq!(Current(10_000).decode(Offset10000), Milliamps(0));
        assert_eq!(
            Current::encode(Milliamps(20_000), SignBit),
            Ok(Current(0x87D0))
        );
        assert_eq!(
            Current::encode(Milliamps(-690), SignBit),
            Ok(Current(0x0045))
        );
        assert_eq!(
            Current::encode(Milliamps(-10_000), Offset10000),
            Ok(Current(11_000))
        );
        assert!(Current::encode(Milliamps(5), SignBit).is_err());
        assert!(Current::encode(Milliamps(400_000), SignBit).is_err());
        assert!(Current::encode(Milliamps(200_000), Offset10000).is_err());
    }

    #[test]
    fn unknown_id_keeps_the_rest() {
        // 0x85 SOC 15, then unknown 0x88 with unknown size, then 0x87 (kept raw).
        let info = [0x85, 15, 0x88, 1, 2, 0x87, 0, 4];
        let r = Record::parse_info(&info);
        assert_eq!(r.soc_percent, Some(15));
        assert_eq!(r.cycle_count, None);
        assert_eq!(&r.rest[..], &[0x88, 1, 2, 0x87, 0, 4]);
        let mut out = [0; 8];
        assert_eq!(r.emit_info(&mut out), Ok(8));
        assert_eq!(out, info);
    }

    #[test]
    fn bad_cell_block_is_kept_raw() {
        let info = [0x79, 4, 1, 0x0E, 0xED, 2, 0x85, 1];
        let r = Record::parse_info(&info);
        assert_eq!(r.cells, None);
        assert_eq!(&r.rest[..], &info[..]);
    }

    #[test]
    fn write_value_must_fit() {
        let r = Record {
            pack_voltage: Some(Millivolts(53_595)),
            ..Record::new()
        };
        let mut out = [0; 3];
        assert_eq!(
            r.emit_info(&mut out),
            Err(EncodeError::Precision {
                field: "pack_voltage"
            })
        );
    }
}
