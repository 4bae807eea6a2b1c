//! `serde` (feature `serde`): what a host reads from an adapter, in the JSON contract's
//! shape (`docs/json.md`). A [`Response`] is an object of its fields; its JSON `type` is
//! [`Response::json_type`] (a host command found in the stream is a `command`).

use embedded_can::Frame as _;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use voltwire_core::json::{Hex, Lossy, serialize_si};

use crate::{Command, Dialect, FrameLine, Response, bitrate_bps};

/// `{"id", "id_hex", "extended", "remote", "dlc", "data_hex", "timestamp_s"}`.
impl Serialize for FrameLine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.frame;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("id", &f.id())?;
        if f.is_extended() {
            m.serialize_entry("id_hex", &format_args!("0x{:08X}", f.id()))?;
        } else {
            m.serialize_entry("id_hex", &format_args!("0x{:03X}", f.id()))?;
        }
        m.serialize_entry("extended", &f.is_extended())?;
        m.serialize_entry("remote", &f.is_remote_frame())?;
        m.serialize_entry("dlc", &f.dlc())?;
        m.serialize_entry("data_hex", &Hex(f.data()))?;
        m.serialize_entry("timestamp_s", &self.timestamp.map(Millis))?;
        m.end()
    }
}

/// Milliseconds as seconds.
struct Millis(u16);

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_si(self.0.into(), 1000, s)
    }
}

/// `S`n: the code and the bit rate it means in both dialects.
struct Bitrate(u8);

impl Serialize for Bitrate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("code", &self.0)?;
        m.serialize_entry("bitrate_bps", &bitrate_bps(self.0, Dialect::Canable))?;
        m.serialize_entry(
            "bitrate_bps_lawicel",
            &bitrate_bps(self.0, Dialect::Lawicel),
        )?;
        m.end()
    }
}

/// `s`: the two bus timing registers.
struct Btr(u8, u8);

impl Serialize for Btr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("btr0", &self.0)?;
        m.serialize_entry("btr1", &self.1)?;
        m.end()
    }
}

/// A host command seen in the stream: its name and argument (`None` for no argument, or
/// for a line that is no command this crate reports).
fn command(line: &[u8]) -> Option<(&'static str, Option<Argument>)> {
    let c = Command::parse(line).ok()?;
    Some(match c {
        Command::Bitrate(n) => ("bitrate", Some(Argument::Bitrate(n))),
        Command::Btr(a, b) => ("btr", Some(Argument::Btr(a, b))),
        Command::Open => ("open", None),
        Command::ListenOnly => ("listen_only", None),
        Command::Close => ("close", None),
        Command::AcceptanceCode(v) => ("acceptance_code", Some(Argument::U32(v))),
        Command::AcceptanceMask(v) => ("acceptance_mask", Some(Argument::U32(v))),
        Command::Mode(m) => ("mode", Some(Argument::U8(m))),
        Command::AutoRetransmit(on) => ("auto_retransmit", Some(Argument::Bool(on))),
        Command::Version => ("version", None),
        Command::DetailedVersion => ("detailed_version", None),
        Command::SerialNumber => ("serial_number", None),
        Command::Status => ("status", None),
        Command::Timestamps(n) => ("timestamps", Some(Argument::U8(n))),
        Command::FdDataRate(n) => ("fd_data_rate", Some(Argument::U8(n))),
        Command::Empty | Command::Transmit(_) | Command::Unknown(_) => return None,
    })
}

/// A command's argument.
enum Argument {
    Bitrate(u8),
    Btr(u8, u8),
    U32(u32),
    U8(u8),
    Bool(bool),
}

impl Serialize for Argument {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::Bitrate(n) => Bitrate(n).serialize(s),
            Self::Btr(a, b) => Btr(a, b).serialize(s),
            Self::U32(v) => s.serialize_u32(v),
            Self::U8(v) => s.serialize_u8(v),
            Self::Bool(v) => s.serialize_bool(v),
        }
    }
}

impl Response {
    /// The JSON `type`: `frame`, `ok`, `nak`, `transmit_ack`, `version`, `serial`, `status`,
    /// `detailed_version`, `command` (a host command in the stream) or `unknown` (a line of
    /// some other text).
    pub fn json_type(&self) -> &'static str {
        match self {
            Self::Frame(_) => "frame",
            Self::Ok => "ok",
            Self::Error => "nak",
            Self::TransmitAck { .. } => "transmit_ack",
            Self::Version(_) => "version",
            Self::Serial(_) => "serial",
            Self::Status(_) => "status",
            Self::DetailedVersion(_) => "detailed_version",
            Self::Unknown(l) if command(l.as_bytes()).is_some() => "command",
            Self::Unknown(_) => "unknown",
        }
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Self::Frame(l) = self {
            return l.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        match self {
            Self::Frame(_) | Self::Ok | Self::Error => {}
            Self::TransmitAck { extended } => m.serialize_entry("extended", extended)?,
            Self::Version(v) => m.serialize_entry("version", &Lossy(v))?,
            Self::Serial(v) => m.serialize_entry("serial", &Lossy(v))?,
            Self::Status(st) => {
                m.serialize_entry("status", &Status(*st))?;
            }
            Self::DetailedVersion(l) => m.serialize_entry("text", &Lossy(l.as_bytes()))?,
            Self::Unknown(l) => match command(l.as_bytes()) {
                Some((name, arg)) => {
                    m.serialize_entry("command", name)?;
                    if let Some(arg) = arg {
                        m.serialize_entry("argument", &arg)?;
                    }
                }
                None => m.serialize_entry("text", &Lossy(l.as_bytes()))?,
            },
        }
        m.end()
    }
}

/// The status byte: `{"raw", "flags": []}` (its bits are adapter-specific, so unnamed).
struct Status(u8);

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        voltwire_core::json::serialize_flags(self.0, core::iter::empty(), s)
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::{String, ToString as _};
    use alloc::vec::Vec;

    use voltwire_core::StreamDecoder as _;

    use crate::HostDecoder;

    /// Each item of `bytes` as `type` + JSON.
    fn decode(bytes: &[u8]) -> Vec<String> {
        let mut d = HostDecoder::new();
        let mut out = Vec::new();
        d.feed_all(bytes, |item| {
            let r = item.value.unwrap();
            out.push(
                r.json_type().to_string() + " " + &serde_json::to_value(r).unwrap().to_string(),
            );
        });
        out
    }

    #[test]
    fn frames_commands_and_text() {
        assert_eq!(
            decode(b"t35121122EA60\rS6\rO\rhello\r"),
            [
                r#"frame {"id":849,"id_hex":"0x351","extended":false,"remote":false,"dlc":2,"data_hex":"1122","timestamp_s":60}"#,
                r#"command {"command":"bitrate","argument":{"code":6,"bitrate_bps":500000,"bitrate_bps_lawicel":500000}}"#,
                r#"command {"command":"open"}"#,
                r#"unknown {"text":"hello"}"#,
            ]
        );
    }
}
