//! `serde` (feature `serde`): the JSON shapes of `docs/json.md` for what Pace and Pylontech
//! share — the header of requests and responses, the 0x42/0x44 replies and their blocks.
//! Serialize only; `no_std`, no alloc.
//!
//! The two protocols lay the blocks out alike but name them differently (the total capacity
//! key, which temperature is which, the state words and their names, the reply's keys): a
//! protocol states that once in a [`JsonDialect`], and its bodies say what they carry in a
//! [`JsonBody`]. Then [`Request::json`] is `{"adr", "command": {code, name}, ...}` and
//! [`Response::json`] `{"adr", "rtn": {code, name}, "command": {code, name}, ...}`, with the
//! body's fields after the header; the caller adds `type` ([`Request::json_type`],
//! [`Response::json_type`]) and whatever framing it knows.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use voltwire_core::json::{Hex, Lossy, serialize_code};
use voltwire_core::{DeciCelsius, DeciKelvin};

use crate::block::{Analog, Block, Dialect, Reply, Status};
use crate::message::{Request, Response};
use crate::{Frame, Rtn};

/// Where each temperature of an analog block goes in its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemperatureLayout {
    /// The BMS board first (`bms_temperature_c`, `null` when none), then the cell groups
    /// (`cell_temperatures_c`). Pylontech.
    BoardFirst,
    /// The cell sensors (`cell_temperatures_c`), then `mosfet_temperature_c` and
    /// `environment_temperature_c` when there are at least three values; with fewer, all
    /// are cell sensors. Pace.
    MosfetAndEnvironmentLast,
}

/// How one protocol names the blocks of its 0x42/0x44 replies in JSON.
pub trait JsonDialect: Dialect {
    /// The key of the analog block's total (full) capacity (`full_capacity_ah`,
    /// `total_capacity_ah`).
    const TOTAL_CAPACITY_KEY: &'static str;
    /// Which temperature is which.
    const TEMPERATURES: TemperatureLayout;
    /// The keys of a status block's states: per cell, per temperature, charge current,
    /// voltage, discharge current (e.g. `cell_warnings` … `discharge_current_warning`).
    const STATE_KEYS: [&'static str; 5];
    /// The flag and block keys of a 0x42 reply (e.g. `info_flag`, `packs`).
    const ANALOG_REPLY_KEYS: [&'static str; 2];
    /// The flag and block keys of a 0x44 reply.
    const STATUS_REPLY_KEYS: [&'static str; 2];

    /// The name of a state value (`None`: no name; the code is still shown).
    fn state_name(value: u8) -> Option<&'static str>;

    /// The analog block's fields after `cycles` (from the extension or the count of
    /// user-defined items).
    ///
    /// # Errors
    /// Those of the serializer.
    fn analog_fields<M: SerializeMap>(analog: &Analog<Self>, m: &mut M) -> Result<(), M::Error>;

    /// The status block's fields after the discharge-current state (its further state bytes).
    ///
    /// # Errors
    /// Those of the serializer.
    fn state_fields<M: SerializeMap>(state: &Self::State, m: &mut M) -> Result<(), M::Error>;
}

/// A block whose reply has keys of its own: the flag key and the key of the block list.
pub trait JsonBlock: Block + Serialize {
    /// The flag and block keys of the reply carrying this block.
    const REPLY_KEYS: [&'static str; 2];
}

impl<D: JsonDialect> JsonBlock for Analog<D> {
    const REPLY_KEYS: [&'static str; 2] = D::ANALOG_REPLY_KEYS;
}

impl<D: JsonDialect> JsonBlock for Status<D> {
    const REPLY_KEYS: [&'static str; 2] = D::STATUS_REPLY_KEYS;
}

/// What a request or response body adds to the header in JSON.
pub trait JsonBody {
    /// The command code (CID2 of a request; the command a response answers).
    fn json_command(&self) -> u8;

    /// The name of a command code, `None` for a code the protocol does not name.
    fn command_name(code: u8) -> Option<&'static str>;

    /// The JSON `type` of a message with this body (`request` for requests; a response's by
    /// what it carries, `response` when undecoded).
    fn json_type(&self) -> &'static str;

    /// The body's fields after the header; `ver` is the frame's VER (a 0x4F reply's answer).
    ///
    /// # Errors
    /// Those of the serializer.
    fn json_fields<M: SerializeMap>(&self, ver: u8, m: &mut M) -> Result<(), M::Error>;
}

impl Serialize for Rtn {
    /// `{"code", "name"}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_code(self.code(), self.name(), s)
    }
}

/// A code as `{"code", "name"}`.
struct Code(u8, Option<&'static str>);

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_code(self.0, self.1, s)
    }
}

/// A request or response with its header.
struct Message<'a, T>(&'a T);

impl<B: JsonBody> Request<B> {
    /// This request as JSON: `{"adr", "command": {"code", "name"}, ...the body's fields}`.
    pub fn json(&self) -> impl Serialize + '_ {
        Message(self)
    }

    /// The JSON `type` of this request (`request`).
    pub fn json_type(&self) -> &'static str {
        self.body.json_type()
    }
}

impl<B: JsonBody> Serialize for Message<'_, Request<B>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let code = r.body.json_command();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("adr", &r.adr)?;
        m.serialize_entry("command", &Code(code, B::command_name(code)))?;
        r.body.json_fields(r.ver, &mut m)?;
        m.end()
    }
}

impl<B: JsonBody> Response<B> {
    /// This response as JSON: `{"adr", "rtn": {"code", "name"}, "command": {"code", "name"},
    /// ...the body's fields}`.
    pub fn json(&self) -> impl Serialize + '_ {
        Message(self)
    }

    /// The JSON `type` of this response, by what it carries (`analog`, …; `response` when
    /// undecoded).
    pub fn json_type(&self) -> &'static str {
        self.body.json_type()
    }
}

impl<B: JsonBody> Serialize for Message<'_, Response<B>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let code = r.body.json_command();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("adr", &r.adr)?;
        m.serialize_entry("rtn", &r.rtn)?;
        m.serialize_entry("command", &Code(code, B::command_name(code)))?;
        r.body.json_fields(r.ver, &mut m)?;
        m.end()
    }
}

impl<const N: usize> Frame<N> {
    /// A reply frame whose command is not known (no request seen, none given) as JSON:
    /// `{"adr", "rtn": {"code", "name"}, "info_hex"}`.
    pub fn reply_json(&self) -> impl Serialize + '_ {
        Message(self)
    }
}

impl<const N: usize> Serialize for Message<'_, Frame<N>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("adr", &f.adr)?;
        m.serialize_entry("rtn", &f.rtn())?;
        m.serialize_entry("info_hex", &Hex(&f.info))?;
        m.end()
    }
}

impl<B: JsonBlock, const M: usize> Reply<B, M> {
    /// The reply's fields into `m`: the flag, `command_value`, the blocks, and
    /// `trailing_hex` when bytes follow the last block (keys: [`JsonBlock::REPLY_KEYS`]).
    ///
    /// # Errors
    /// Those of the serializer.
    pub fn json_fields<S: SerializeMap>(&self, m: &mut S) -> Result<(), S::Error> {
        let [flag, blocks] = B::REPLY_KEYS;
        m.serialize_entry(flag, &self.info_flag)?;
        m.serialize_entry("command_value", &self.command)?;
        m.serialize_entry(blocks, self.modules.as_slice())?;
        if !self.trailing.is_empty() {
            m.serialize_entry("trailing_hex", &Hex(&self.trailing))?;
        }
        Ok(())
    }
}

impl<B: JsonBlock, const M: usize> Serialize for Reply<B, M> {
    /// An object of [`Reply::json_fields`].
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.json_fields(&mut m)?;
        m.end()
    }
}

impl<D: JsonDialect> Serialize for Analog<D> {
    /// An object: `cell_voltages_v`, the temperatures (laid out by
    /// [`JsonDialect::TEMPERATURES`]), `current_a`, `voltage_v`, `remaining_capacity_ah`, the
    /// total capacity ([`JsonDialect::TOTAL_CAPACITY_KEY`]), `cycles`, then the dialect's
    /// fields ([`JsonDialect::analog_fields`]).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("cell_voltages_v", self.cells.as_slice())?;
        let t = self.temperatures.as_slice();
        match D::TEMPERATURES {
            TemperatureLayout::BoardFirst => {
                let (board, cells) = t.split_first().map_or((None, t), |(b, c)| (Some(b), c));
                m.serialize_entry("bms_temperature_c", &board.and_then(|b| celsius::<D>(*b)))?;
                m.serialize_entry("cell_temperatures_c", &Celsius(cells, D::ZERO_CELSIUS))?;
            }
            TemperatureLayout::MosfetAndEnvironmentLast => {
                match t
                    .len()
                    .checked_sub(2)
                    .filter(|n| *n > 0)
                    .map(|n| t.split_at(n))
                {
                    Some((cells, [mosfet, environment, ..])) => {
                        m.serialize_entry("cell_temperatures_c", &Celsius(cells, D::ZERO_CELSIUS))?;
                        m.serialize_entry("mosfet_temperature_c", &celsius::<D>(*mosfet))?;
                        m.serialize_entry(
                            "environment_temperature_c",
                            &celsius::<D>(*environment),
                        )?;
                    }
                    _ => m.serialize_entry("cell_temperatures_c", &Celsius(t, D::ZERO_CELSIUS))?,
                }
            }
        }
        m.serialize_entry("current_a", &self.current)?;
        m.serialize_entry("voltage_v", &self.voltage)?;
        m.serialize_entry("remaining_capacity_ah", &self.remaining())?;
        m.serialize_entry(D::TOTAL_CAPACITY_KEY, &self.total())?;
        m.serialize_entry("cycles", &self.cycles)?;
        D::analog_fields(self, &mut m)?;
        m.end()
    }
}

/// A temperature in 0.1 K as °C in the dialect's zero, `None` when out of range.
fn celsius<D: Dialect>(t: DeciKelvin) -> Option<DeciCelsius> {
    t.to_celsius(D::ZERO_CELSIUS)
}

/// Temperatures in 0.1 K as a list of °C with 0 °C at `.1` (`null` where out of range).
struct Celsius<'a>(&'a [DeciKelvin], i32);

impl Serialize for Celsius<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|t| t.to_celsius(self.1)))
    }
}

impl<D: JsonDialect> Serialize for Status<D> {
    /// The per-cell and per-temperature states, the charge-current, voltage and
    /// discharge-current states (keys [`JsonDialect::STATE_KEYS`], each `{"code", "name"}`),
    /// then the dialect's state fields.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let [cells, temperatures, charge, voltage, discharge] = D::STATE_KEYS;
        let state = |v: u8| Code(v, D::state_name(v));
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(cells, &States(&self.cells, D::state_name))?;
        m.serialize_entry(temperatures, &States(&self.temperatures, D::state_name))?;
        m.serialize_entry(charge, &state(self.charge_current))?;
        m.serialize_entry(voltage, &state(self.voltage))?;
        m.serialize_entry(discharge, &state(self.discharge_current))?;
        D::state_fields(&self.state, &mut m)?;
        m.end()
    }
}

/// State bytes as a list of `{"code", "name"}`.
struct States<'a>(&'a [u8], fn(u8) -> Option<&'static str>);

impl Serialize for States<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|v| Code(*v, (self.1)(*v))))
    }
}

/// An ASCII field as text: trailing NUL and space padding dropped, invalid UTF-8 replaced by
/// U+FFFD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<'a>(pub &'a [u8]);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Padding is ASCII, so dropping it before the UTF-8 check gives the same text as
        // dropping it after.
        let end = self
            .0
            .iter()
            .rposition(|b| !matches!(b, 0 | b' '))
            .map_or(0, |i| i + 1);
        Lossy(self.0.get(..end).unwrap_or_default()).serialize(s)
    }
}

/// Two bytes of per-cell bits (`.0`: cells 1–8, `.1`: cells 9–16, bit 0 first) as the list of
/// the cells whose bit is set (`[2, 9]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellBits(pub u8, pub u8);

impl Serialize for CellBits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bits = u16::from_le_bytes([self.0, self.1]);
        s.collect_seq((0..16u8).filter(|i| bits & (1 << i) != 0).map(|i| i + 1))
    }
}

impl crate::ManufacturerInfo {
    /// A 0x51 reply's fields into `m`: `device_name` and `manufacturer` as [`Text`],
    /// `software_version` as its two bytes (`[1, 2]`).
    ///
    /// # Errors
    /// Those of the serializer.
    pub fn json_fields<S: SerializeMap>(&self, m: &mut S) -> Result<(), S::Error> {
        m.serialize_entry("device_name", &Text(&self.device_name))?;
        m.serialize_entry("software_version", &self.software_version)?;
        m.serialize_entry("manufacturer", &Text(&self.manufacturer))
    }
}

/// A 0x4F reply's field into `m`: `version`, the frame's VER as `"0xNN"`.
///
/// # Errors
/// Those of the serializer.
pub fn protocol_version_fields<S: SerializeMap>(ver: u8, m: &mut S) -> Result<(), S::Error> {
    m.serialize_entry("version", &format_args!("0x{ver:02X}"))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]
mod tests {
    use std::string::String;

    use super::*;
    use crate::block::{Reply, state};

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    /// A dialect with invented keys: only what this module does with them is tested here.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    struct Test;

    impl Dialect for Test {
        const CURRENT_STEP_MA: i16 = 1;
        const CAPACITY_STEP_MAH: u16 = 1;
        const ZERO_CELSIUS: i32 = 2731;
        const EXTENDED_FROM: u8 = 9;
        type Extension = ();
        type State = u8;

        fn read_extension(_: &mut crate::Reader<'_>) -> Option<()> {
            Some(())
        }
        fn write_extension(
            (): &(),
            _: &mut crate::InfoWriter,
        ) -> Result<(), voltwire_core::EncodeError> {
            Ok(())
        }
        fn capacities(
            (): &(),
        ) -> Option<(voltwire_core::MilliampHours, voltwire_core::MilliampHours)> {
            None
        }
        fn read_state(r: &mut crate::Reader<'_>) -> Option<u8> {
            r.u8().ok()
        }
        fn write_state(
            s: &u8,
            w: &mut crate::InfoWriter,
        ) -> Result<(), voltwire_core::EncodeError> {
            w.u8(*s)?;
            Ok(())
        }
    }

    impl JsonDialect for Test {
        const TOTAL_CAPACITY_KEY: &'static str = "total_ah";
        const TEMPERATURES: TemperatureLayout = TemperatureLayout::BoardFirst;
        const STATE_KEYS: [&'static str; 5] = ["c", "t", "cc", "v", "dc"];
        const ANALOG_REPLY_KEYS: [&'static str; 2] = ["flag", "blocks"];
        const STATUS_REPLY_KEYS: [&'static str; 2] = ["data", "units"];

        fn state_name(value: u8) -> Option<&'static str> {
            state::name(value)
        }
        fn analog_fields<M: SerializeMap>(_: &Analog<Self>, _: &mut M) -> Result<(), M::Error> {
            Ok(())
        }
        fn state_fields<M: SerializeMap>(s: &u8, m: &mut M) -> Result<(), M::Error> {
            m.serialize_entry("extra", s)
        }
    }

    #[test]
    fn reply_keys_trailing_bytes_and_state_names() {
        let mut s = Status::<Test>::default();
        s.cells.extend([state::NORMAL, state::ABOVE, 0x33]);
        s.charge_current = state::OTHER;
        s.state = 7;
        let mut r = Reply::<Status<Test>, 2>::new(0x11, 1);
        r.modules.push(s).unwrap();
        r.trailing.extend([0x0A, 0xFF]);
        assert_eq!(
            json(&r),
            concat!(
                r#"{"data":17,"command_value":1,"units":[{"c":[{"code":0,"name":"normal"},"#,
                r#"{"code":2,"name":"above_limit"},{"code":51,"name":null}],"t":[],"#,
                r#""cc":{"code":240,"name":"other"},"v":{"code":0,"name":"normal"},"#,
                r#""dc":{"code":0,"name":"normal"},"extra":7}],"trailing_hex":"0AFF"}"#
            )
        );
        let a = Reply::<Analog<Test>, 1>::new(0, 0);
        assert_eq!(json(&a), r#"{"flag":0,"command_value":0,"blocks":[]}"#);
    }

    #[test]
    fn text_drops_padding_only_at_the_end() {
        assert_eq!(json(&Text(b"US2000C\0\0 \0")), r#""US2000C""#);
        assert_eq!(json(&Text(b" A B  ")), r#"" A B""#);
        assert_eq!(json(&Text(b"\0\0")), r#""""#);
        // Invalid UTF-8 becomes U+FFFD, padding after it still goes.
        assert_eq!(json(&Text(b"P\xE2\x82\0 ")), "\"P\u{FFFD}\"");
        assert_eq!(json(&Text(b"\xFF\xFF")), "\"\u{FFFD}\u{FFFD}\"");
    }

    #[test]
    fn cell_bits_count_from_one() {
        assert_eq!(json(&CellBits(0, 0)), "[]");
        assert_eq!(json(&CellBits(0b1000_0001, 0b1000_0001)), "[1,8,9,16]");
    }

    #[test]
    fn header_of_a_reply_without_its_command() {
        let f = Frame::new(0x20, 2, 0x46, 0x91, &[0xAB]).unwrap();
        assert_eq!(
            json(&f.reply_json()),
            r#"{"adr":2,"rtn":{"code":145,"name":"internal_comm_error"},"info_hex":"AB"}"#
        );
        assert_eq!(json(&Rtn::Unknown(0x42)), r#"{"code":66,"name":null}"#);
    }
}
