//! `serde` (feature `serde`): a [`Message`] in the JSON contract's shape (`docs/json.md`).
//!
//! `{"family", "direction", "target", "command": {code, name}, …value}`: the value of a
//! write or reply adds its own keys (`vout_v`, `fault_status`, …), quantities as SI numbers
//! with the unit in the key, bit words as `{raw, flags}` (family-dependent names for
//! `SYSTEM_STATUS`), minutes as seconds (`curve_cc_timeout_s`). No `type` and no `id`: the
//! caller frames the message (`voltwire decode` adds `type`, `offset`, `id`).

use serde::ser::{SerializeMap, SerializeStruct as _};
use serde::{Serialize, Serializer};
use voltwire_core::json::{Seq, serialize_code, serialize_flags, serialize_si};

use crate::bits::{Factor, ScalingFactor, SystemConfig, SystemStatus};
use crate::{Body, Command, Direction, Family, Message, TEXT_PADDING, Target, Value};

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("family", self.family.name())?;
        m.serialize_entry("direction", &self.body.direction())?;
        m.serialize_entry("target", &self.target)?;
        m.serialize_entry("command", &self.body.command())?;
        if let Body::Write(v) | Body::Reply(v) = self.body {
            value_entries(&v, self.family, &mut m)?;
        }
        m.end()
    }
}

/// `"request"` / `"response"`.
impl Serialize for Direction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Self::Request => "request",
            Self::Response => "response",
        })
    }
}

/// The jumper id, or `"broadcast"`.
impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Device(n) => s.serialize_u8(*n),
            Self::Broadcast => s.serialize_str("broadcast"),
        }
    }
}

/// `{"code", "name"}`.
impl Serialize for Command {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_code(self.0, self.name(), s)
    }
}

/// `null` (not supported), the factor as a number (`0.01`), or `{"code"}` for an unknown
/// nibble.
impl Serialize for Factor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::NotSupported => s.serialize_none(),
            Self::Power10(e) if e < 0 => {
                serialize_si(1, 10_i64.pow(u32::from(e.unsigned_abs())), s)
            }
            Self::Power10(e) => serialize_si(10_i64.pow(u32::from(e.unsigned_abs())), 1, s),
            Self::Unknown(c) => {
                let mut st = s.serialize_struct("Factor", 1)?;
                st.serialize_field("code", &c)?;
                st.end()
            }
        }
    }
}

/// `{"raw", "vout", "iout", "vin", "temperature", "iin"}`.
impl Serialize for ScalingFactor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ScalingFactor", 6)?;
        st.serialize_field("raw", &self.raw)?;
        st.serialize_field("vout", &self.vout())?;
        st.serialize_field("iout", &self.iout())?;
        st.serialize_field("vin", &self.vin())?;
        st.serialize_field("temperature", &self.temperature())?;
        st.serialize_field("iin", &self.iin())?;
        st.end()
    }
}

/// A `{raw, flags}` word whose names depend on the family.
struct Status(SystemStatus, Family);

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_flags(self.0.0, self.0.flags(self.1), s)
    }
}

/// A `{code, name}` pair.
struct Code(u16, Option<&'static str>);

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_code(self.0, self.1, s)
    }
}

/// `BIDIRECTIONAL_CONFIG`: bit 0 is battery mode.
struct Bidirectional(u16);

impl Serialize for Bidirectional {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let names: &[&'static str] = if self.0 & 1 == 1 {
            &["battery_mode"]
        } else {
            &[]
        };
        let mut st = s.serialize_struct("Flags", 2)?;
        st.serialize_field("raw", &self.0)?;
        st.serialize_field("flags", &Seq(names.iter().copied()))?;
        st.end()
    }
}

/// The keys a value adds to its message.
fn value_entries<M: SerializeMap>(v: &Value, family: Family, m: &mut M) -> Result<(), M::Error> {
    let minutes = |min: u16| u32::from(min) * 60;
    match *v {
        Value::Operation(x) => {
            let name = match x {
                0 => Some("off"),
                1 => Some("on"),
                _ => None,
            };
            m.serialize_entry("operation", &Code(x.into(), name))
        }
        Value::VoutSet(mv) => m.serialize_entry("vout_set_v", &mv),
        Value::IoutSet(ma) => m.serialize_entry("iout_set_a", &ma),
        Value::FaultStatus(f) => m.serialize_entry("fault_status", &f),
        Value::Vin(mv) => m.serialize_entry("vin_v", &mv),
        Value::Vout(mv) => m.serialize_entry("vout_v", &mv),
        Value::Iout(ma) => m.serialize_entry("iout_a", &ma),
        Value::Temperature(t) => m.serialize_entry("temperature_c", &t),
        Value::FanSpeed1(r) => m.serialize_entry("fan_speed_1_rpm", &r),
        Value::FanSpeed2(r) => m.serialize_entry("fan_speed_2_rpm", &r),
        Value::Text(_, b) => {
            m.serialize_entry("text", &b.as_text_trimming(TEXT_PADDING))?;
            m.serialize_entry("bytes", b.as_bytes())
        }
        Value::CurveCc(ma) => m.serialize_entry("curve_cc_a", &ma),
        Value::CurveCv(mv) => m.serialize_entry("curve_cv_v", &mv),
        Value::CurveFv(mv) => m.serialize_entry("curve_fv_v", &mv),
        Value::CurveTc(ma) => m.serialize_entry("curve_tc_a", &ma),
        Value::CurveConfig(c) => {
            m.serialize_entry("curve_config", &c)?;
            m.serialize_entry("curve", &c.curve())?;
            m.serialize_entry("temperature_compensation", &c.temperature_compensation())
        }
        Value::CurveCcTimeout(t) => m.serialize_entry("curve_cc_timeout_s", &minutes(t)),
        Value::CurveCvTimeout(t) => m.serialize_entry("curve_cv_timeout_s", &minutes(t)),
        Value::CurveFvTimeout(t) => m.serialize_entry("curve_fv_timeout_s", &minutes(t)),
        Value::ChargeStatus(c) => m.serialize_entry("charge_status", &c),
        Value::ChgRstVbat(mv) => m.serialize_entry("chg_rst_vbat_v", &mv),
        Value::ScalingFactor(f) => m.serialize_entry("scaling_factor", &f),
        Value::SystemStatus(st) => {
            m.serialize_entry("system_status", &Status(st, family))?;
            m.serialize_entry("dc_ok", &st.dc_ok(family))?;
            m.serialize_entry("initializing", &st.initializing(family))
        }
        Value::SystemConfig(c) => system_config(c, m),
        Value::Direction(d) => {
            let name = match d {
                0 => Some("charge"),
                1 => Some("discharge"),
                _ => None,
            };
            m.serialize_entry("direction", &Code(d.into(), name))
        }
        Value::ReverseVoutSet(mv) => m.serialize_entry("reverse_vout_set_v", &mv),
        Value::ReverseIoutSet(ma) => m.serialize_entry("reverse_iout_set_a", &ma),
        Value::BidirectionalConfig(x) => {
            m.serialize_entry("bidirectional_config", &Bidirectional(x))
        }
        Value::Unknown(_, b) => m.serialize_entry("bytes", b.as_bytes()),
    }
}

fn system_config<M: SerializeMap>(c: SystemConfig, m: &mut M) -> Result<(), M::Error> {
    m.serialize_entry("system_config", &c)?;
    m.serialize_entry("can_control", &c.can_control())?;
    let init = Code((c.0 >> 1) & 3, Some(c.operation_init().name()));
    m.serialize_entry("operation_init", &init)?;
    let eeprom = Code((c.0 >> 8) & 3, Some(c.eeprom_config().name()));
    m.serialize_entry("eeprom_config", &eeprom)?;
    m.serialize_entry("eeprom_write_disabled", &c.eeprom_write_disabled())
}

#[cfg(test)]
mod tests {
    use alloc::string::{String, ToString as _};

    use voltwire_core::Millivolts;

    use crate::bits::{ScalingFactor, SystemStatus};
    use crate::{Body, Family, Message, Target, Value};

    /// `iin` is nibble 6 (bits 24-27).
    const IIN: u64 = 2 << 24;

    fn reply(family: Family, v: Value) -> String {
        let m = Message {
            family,
            target: Target::Device(1),
            body: Body::Reply(v),
        };
        serde_json::to_value(m).unwrap().to_string()
    }

    #[test]
    fn values_add_their_keys() {
        assert_eq!(
            reply(Family::Bic2200, Value::Vout(Millivolts(52_800))),
            r#"{"family":"BIC-2200","direction":"response","target":1,"command":{"code":96,"name":"read_vout"},"vout_v":52.8}"#
        );
        // Bit 1 means DC OK on a BIC and DC output low on an NPB.
        let st = reply(Family::Bic2200, Value::SystemStatus(SystemStatus(0b10)));
        assert!(
            st.ends_with(
                r#""system_status":{"raw":2,"flags":["dc_ok"]},"dc_ok":true,"initializing":true}"#
            ),
            "{st}"
        );
        let st = reply(Family::Npb, Value::SystemStatus(SystemStatus(0b10)));
        assert!(
            st.ends_with(r#""system_status":{"raw":2,"flags":["dc_output_low"]},"dc_ok":false,"initializing":false}"#),
            "{st}"
        );
        // Nibbles: vout 5 (0.01), iout 4 (0.001), vin 0 (not supported), temperature 9
        // (100), iin 2 (no such code).
        let f = reply(
            Family::Bic2200,
            Value::ScalingFactor(ScalingFactor {
                raw: IIN | 0x9_0045,
                len: 6,
            }),
        );
        assert!(
            f.ends_with(&alloc::format!(
                r#""scaling_factor":{{"raw":{},"vout":0.01,"iout":0.001,"vin":null,"temperature":100,"iin":{{"code":2}}}}}}"#,
                IIN | 0x9_0045
            )),
            "{f}"
        );
        assert_eq!(
            reply(Family::Npb, Value::CurveCcTimeout(5))
                .rsplit_once(',')
                .unwrap()
                .1,
            r#""curve_cc_timeout_s":300}"#
        );
    }
}
