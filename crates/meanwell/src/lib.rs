#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std` (and the same feature of the voltwire crates below). It adds no API: the error types implement `core::error::Error` (the same trait as `std::error::Error`) in every configuration.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//! - `serde`: `serde::Serialize` on [`Message`] (and the command, target, direction, factor and bit-word types) in the JSON contract's shape (`docs/json.md`, `voltwire_core::json`): `{"family", "direction", "target", "command": {"code", "name"}, …}` plus the value's keys, quantities as SI numbers with the unit in the key (`vout_v`), bit words as `{"raw", "flags"}`, minutes as `_s`. The caller adds `type` and `id`. Serialize only. `no_std`, no alloc.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(all(test, feature = "serde"))]
extern crate alloc;

pub mod bits;
mod limits;
#[cfg(feature = "serde")]
mod serde_impl;
mod value;

pub use bits::{
    ChargeStatus, CurveConfig, EepromConfig, Factor, FaultStatus, OperationInit, ScalingFactor,
    SystemConfig, SystemStatus,
};
pub use limits::{LimitError, Limits, Model};
pub use value::{Bytes6, Command, TEXT_PADDING, Value};

use embedded_can::{ExtendedId, Frame, Id};
use voltwire_core::{EncodeError, ErrorKind};

/// A model family: it decides the CAN ids and the command set.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// BIC-2200 bidirectional converter: requests to 0x000C0300 + id, replies from
    /// 0x000C0200 + id, ids 0-7.
    Bic2200,
    /// NPB charger: requests to 0x000C0100 + id, replies from 0x000C0000 + id, ids 0-3.
    Npb,
}

impl Family {
    /// Base of the controller -> device ids.
    pub const fn request_base(self) -> u32 {
        match self {
            Self::Bic2200 => 0x000C_0300,
            Self::Npb => 0x000C_0100,
        }
    }

    /// Base of the device -> controller ids.
    pub const fn response_base(self) -> u32 {
        match self {
            Self::Bic2200 => 0x000C_0200,
            Self::Npb => 0x000C_0000,
        }
    }

    /// Highest device id the jumpers can set.
    pub const fn max_device(self) -> u8 {
        match self {
            Self::Bic2200 => 7,
            Self::Npb => 3,
        }
    }

    /// A short name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Bic2200 => "BIC-2200",
            Self::Npb => "NPB",
        }
    }
}

/// Which unit a frame addresses (requests) or comes from (replies).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// One unit, by its jumper id (the low byte of the CAN id).
    Device(u8),
    /// Every unit of the family (low byte 0xFF). Reads on broadcast are reported not to work
    /// on the NPB-1700.
    Broadcast,
}

impl Target {
    /// A device id checked against the family's jumper range.
    pub const fn device(family: Family, id: u8) -> Option<Self> {
        if id <= family.max_device() {
            Some(Self::Device(id))
        } else {
            None
        }
    }

    const fn low_byte(self) -> u8 {
        match self {
            Self::Device(n) => n,
            Self::Broadcast => 0xFF,
        }
    }
}

/// Which way a frame goes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Controller -> unit.
    Request,
    /// Unit -> controller.
    Response,
}

/// Split a 29-bit id into family, direction and target, or `None` if it is not a Mean Well id.
pub const fn decode_id(id: u32) -> Option<(Family, Direction, Target)> {
    let (family, dir) = match id & 0x1FFF_FF00 {
        0x000C_0300 => (Family::Bic2200, Direction::Request),
        0x000C_0200 => (Family::Bic2200, Direction::Response),
        0x000C_0100 => (Family::Npb, Direction::Request),
        0x000C_0000 => (Family::Npb, Direction::Response),
        _ => return None,
    };
    let low = (id & 0xFF) as u8;
    let target = if low == 0xFF {
        Target::Broadcast
    } else {
        Target::Device(low)
    };
    Some((family, dir, target))
}

/// The 29-bit id for a frame.
pub const fn encode_id(family: Family, dir: Direction, target: Target) -> u32 {
    let base = match dir {
        Direction::Request => family.request_base(),
        Direction::Response => family.response_base(),
    };
    base | target.low_byte() as u32
}

/// Why a frame is not a valid Mean Well message.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// An 11-bit id: Mean Well uses 29-bit ids.
    #[error("standard (11-bit) id 0x{0:03X}; Mean Well uses 29-bit ids")]
    StandardId(u16),
    /// A 29-bit id outside the Mean Well ranges.
    #[error("id 0x{0:08X} is not a Mean Well BIC/NPB id")]
    NotMeanwell(u32),
    /// A remote frame.
    #[error("remote frame with id 0x{0:08X}")]
    Remote(u32),
    /// Too few bytes for a command code (requests), or for a command and a value (replies).
    #[error("{len} data bytes is too short for a {dir:?}")]
    Length {
        /// Which way the frame went.
        dir: Direction,
        /// Data bytes received.
        len: usize,
    },
    /// The value has the wrong number of bytes for its command.
    #[error("command 0x{command:04X}: {len} value bytes do not fit the command")]
    ValueLength {
        /// The command code.
        command: u16,
        /// Value bytes received.
        len: usize,
    },
}

impl ParseError {
    /// Coarse classification shared by every voltwire protocol.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Self::StandardId(_) | Self::NotMeanwell(_) | Self::Remote(_) => ErrorKind::Unsupported,
            Self::Length { .. } => ErrorKind::Framing,
            Self::ValueLength { .. } => ErrorKind::Invalid,
        }
    }

    /// A short, stable `snake_case` code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::StandardId(_) => "standard_id",
            Self::NotMeanwell(_) => "not_meanwell",
            Self::Remote(_) => "remote_frame",
            Self::Length { .. } => "bad_length",
            Self::ValueLength { .. } => "bad_value_length",
        }
    }
}

/// What a frame carries.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// Controller -> unit: read a command's value (DLC 2).
    Read(Command),
    /// Controller -> unit: write a value (DLC 2 + value length). Writes are not acknowledged;
    /// read the value back to check.
    Write(Value),
    /// Unit -> controller: a command's value.
    Reply(Value),
}

impl Body {
    /// Which way the frame goes.
    pub const fn direction(&self) -> Direction {
        match self {
            Self::Read(_) | Self::Write(_) => Direction::Request,
            Self::Reply(_) => Direction::Response,
        }
    }

    /// The command.
    pub const fn command(&self) -> Command {
        match self {
            Self::Read(c) => *c,
            Self::Write(v) | Self::Reply(v) => v.command(),
        }
    }
}

/// One Mean Well CAN frame, in either direction.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Message {
    /// The model family (from the id).
    pub family: Family,
    /// The addressed / replying unit.
    pub target: Target,
    /// The content.
    pub body: Body,
}

impl Message {
    /// A read request.
    pub const fn read(family: Family, target: Target, command: Command) -> Self {
        Self {
            family,
            target,
            body: Body::Read(command),
        }
    }

    /// A write request checked against a model's limits before it can reach the wire.
    ///
    /// # Errors
    /// [`LimitError`] when the model lacks the command or the set point is out of range.
    pub fn write_checked(model: Model, target: Target, value: Value) -> Result<Self, LimitError> {
        model.check(&value)?;
        Ok(Self {
            family: model.family(),
            target,
            body: Body::Write(value),
        })
    }

    /// The 29-bit CAN id.
    pub const fn id(&self) -> u32 {
        encode_id(self.family, self.body.direction(), self.target)
    }

    /// Decode a frame given its 29-bit id and data.
    ///
    /// # Errors
    /// [`ParseError::NotMeanwell`] for a foreign id, [`ParseError::Length`] /
    /// [`ParseError::ValueLength`] for a wrong DLC.
    pub fn parse(id: u32, data: &[u8]) -> Result<Self, ParseError> {
        let (family, dir, target) = decode_id(id).ok_or(ParseError::NotMeanwell(id))?;
        let (command, value) = match data {
            [lo, hi, rest @ ..] if rest.len() <= 6 => {
                (Command(u16::from_le_bytes([*lo, *hi])), rest)
            }
            _ => {
                return Err(ParseError::Length {
                    dir,
                    len: data.len(),
                });
            }
        };
        let body = match dir {
            Direction::Request if value.is_empty() => Body::Read(command),
            Direction::Request => Body::Write(Value::parse(family, command, value)?),
            Direction::Response if value.is_empty() => {
                return Err(ParseError::Length {
                    dir,
                    len: data.len(),
                });
            }
            Direction::Response => Body::Reply(Value::parse(family, command, value)?),
        };
        Ok(Self {
            family,
            target,
            body,
        })
    }

    /// Encode the data bytes: the array and the count (the DLC).
    ///
    /// # Errors
    /// As [`Value::emit`].
    pub fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        let [lo, hi] = self.body.command().0.to_le_bytes();
        out[0] = lo;
        out[1] = hi;
        let n = match self.body {
            Body::Read(_) => 0,
            Body::Write(v) | Body::Reply(v) => {
                let (bytes, n) = v.emit(self.family)?;
                for (o, i) in out.iter_mut().skip(2).zip(bytes.iter().take(n)) {
                    *o = *i;
                }
                n
            }
        };
        Ok((out, 2 + n))
    }

    /// Decode any frame, checking `is_extended()`, the remote flag and the DLC.
    ///
    /// # Errors
    /// [`ParseError::StandardId`], [`ParseError::Remote`], else as [`Message::parse`].
    pub fn from_frame<F: Frame>(frame: &F) -> Result<Self, ParseError> {
        let id = match frame.id() {
            Id::Extended(e) => e.as_raw(),
            Id::Standard(s) => return Err(ParseError::StandardId(s.as_raw())),
        };
        if !frame.is_extended() {
            return Err(ParseError::NotMeanwell(id));
        }
        if frame.is_remote_frame() {
            return Err(ParseError::Remote(id));
        }
        if frame.dlc() != frame.data().len() {
            return Err(ParseError::Length {
                dir: decode_id(id).map_or(Direction::Request, |(_, d, _)| d),
                len: frame.dlc(),
            });
        }
        Self::parse(id, frame.data())
    }

    /// Encode into a frame of the caller's type.
    ///
    /// # Errors
    /// As [`Message::emit`]; [`EncodeError::OutOfRange`] (`frame`) if the frame type refuses.
    pub fn to_frame<F: Frame>(&self) -> Result<F, EncodeError> {
        let (data, len) = self.emit()?;
        let id = ExtendedId::new(self.id()).ok_or(EncodeError::OutOfRange { field: "id" })?;
        data.get(..len)
            .and_then(|d| F::new(id, d))
            .ok_or(EncodeError::OutOfRange { field: "frame" })
    }
}

/// A plain classic CAN frame implementing [`embedded_can::Frame`] (tests, simulators): the
/// shared [`voltwire_core::can::CanFrame`].
pub use voltwire_core::can::CanFrame as RawFrame;

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc, reason = "test code")]
mod tests {
    use super::*;
    use voltwire_core::{Milliamps, Millivolts};

    fn rt(id: u32, data: &[u8]) -> Message {
        let m = Message::parse(id, data).unwrap();
        let (out, n) = m.emit().unwrap();
        assert_eq!(&out[..n], data);
        assert_eq!(m.id(), id);
        m
    }

    #[test]
    fn constructed_vectors() {
        // BIC id 0, READ_VOUT read request: 60 00
        let m = rt(0x000C_0300, &[0x60, 0x00]);
        assert_eq!(m.body, Body::Read(Command::READ_VOUT));
        assert_eq!(m.target, Target::Device(0));
        // VOUT_SET 27.00 V: 20 00 | 8C 0A = 2700
        let m = rt(0x000C_0300, &[0x20, 0x00, 0x8C, 0x0A]);
        assert_eq!(m.body, Body::Write(Value::VoutSet(Millivolts(27_000))));
        // OPERATION on (1 byte)
        let m = rt(0x000C_0300, &[0x00, 0x00, 0x01]);
        assert_eq!(m.body, Body::Write(Value::Operation(1)));
        // SYSTEM_CONFIG 0x0401: CAN control + EEPROM writes off
        let m = rt(0x000C_0300, &[0xC2, 0x00, 0x01, 0x04]);
        let Body::Write(Value::SystemConfig(c)) = m.body else {
            panic!()
        };
        assert!(c.can_control() && c.eeprom_write_disabled());
        assert_eq!(c.operation_init(), OperationInit::Off);
        // NPB id 3
        let m = rt(0x000C_0103, &[0xB4, 0x00]);
        assert_eq!((m.family, m.target), (Family::Npb, Target::Device(3)));
        // BIC signed IOUT reply: -12.34 A = 0xFB2E
        let m = rt(0x000C_0201, &[0x61, 0x00, 0x2E, 0xFB]);
        assert_eq!(m.body, Body::Reply(Value::Iout(Milliamps(-12_340))));
        // the same bytes from an NPB are unsigned
        let m = rt(0x000C_0001, &[0x61, 0x00, 0x2E, 0xFB]);
        assert_eq!(m.body, Body::Reply(Value::Iout(Milliamps(643_020))));
        assert!(Message::parse(0x000C_0300, &[0x20, 0x00, 0x8C]).is_err());
        assert!(Message::parse(0x000C_0200, &[0x20, 0x00]).is_err());
        assert_eq!(
            Message::parse(0x18FF_50E5, &[0]),
            Err(ParseError::NotMeanwell(0x18FF_50E5))
        );
        assert_eq!(
            decode_id(0x000C_03FF),
            Some((Family::Bic2200, Direction::Request, Target::Broadcast))
        );
    }

    #[test]
    fn limits_refuse() {
        let t = Target::Device(0);
        assert!(
            Message::write_checked(Model::Bic2200_48, t, Value::VoutSet(Millivolts(54_000)))
                .is_ok()
        );
        let e = Message::write_checked(Model::Bic2200_48, t, Value::VoutSet(Millivolts(66_000)))
            .unwrap_err();
        assert_eq!(
            e,
            LimitError::AboveMaximum {
                model: "BIC-2200-48",
                field: "vout",
                value: 66_000,
                limit: 65_000
            }
        );
        let e = Message::write_checked(Model::Npb1200_48, t, Value::IoutSet(Milliamps(1_000)))
            .unwrap_err();
        assert_eq!(e.code(), "below_minimum");
        let e = Message::write_checked(Model::Npb1200_48, t, Value::Direction(1)).unwrap_err();
        assert_eq!(e.code(), "unsupported_command");
        assert!(
            Message::write_checked(
                Model::Bic2200_24,
                t,
                Value::ReverseIoutSet(Milliamps(-80_000))
            )
            .is_err()
        );
        assert_eq!(Model::from_name("npb-1700-24"), Some(Model::Npb1700_24));
    }

    #[test]
    fn frames() {
        let m = Message::read(Family::Npb, Target::Broadcast, Command::CHG_STATUS);
        let f: RawFrame = m.to_frame().unwrap();
        assert!(f.is_extended());
        assert_eq!(Message::from_frame(&f), Ok(m));
        let s = RawFrame::new(embedded_can::StandardId::new(0x351).unwrap(), &[0x60, 0]).unwrap();
        assert_eq!(Message::from_frame(&s), Err(ParseError::StandardId(0x351)));
    }
}
