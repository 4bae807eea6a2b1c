//! 0x359 protection/warning words, 0x35A SMA alarm pairs, 0x35C request flags.

use voltwire_core::EncodeError;
use voltwire_core::field::{Bytes, Le, tail, write_tail};

use super::{check_len, length, raw};
use crate::can::flags::{AlarmCondition, PairState, Protection, RequestFlags, Warning};
use crate::can::{CanMessage, ParseError, Payload};

/// 0x359, BMS -> inverter (Pylontech dialect): protection and warning flags, module count
/// and the `PN` tag. 7 or 8 bytes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Alarms {
    /// Protection bits. Wire: [`Self::PROTECTION`].
    pub protection: Protection,
    /// Warning bits. Wire: [`Self::WARNING`].
    pub warning: Warning,
    /// Number of modules. Wire: [`Self::MODULE_COUNT`].
    pub module_count: u8,
    /// ASCII `PN` in every real frame (Pytes sends `PY`), kept verbatim. Wire: [`Self::TAG`].
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "voltwire_core::json::lossy")
    )]
    pub tag: [u8; 2],
    /// `None` in a 7-byte frame. Wire: [`Self::RESERVED`].
    #[cfg_attr(feature = "serde", serde(skip))]
    pub reserved: Option<u8>,
}

impl Alarms {
    /// JSON / log name.
    pub const NAME: &'static str = "alarms";
    /// Protection word: u16 LE at byte 0 (byte 0 low, byte 1 high).
    pub const PROTECTION: Le<u16> = Le::at(0);
    /// Warning word: u16 LE after the protection word.
    pub const WARNING: Le<u16> = Le::at(Self::PROTECTION.end());
    /// Module count: u8 after the warning word.
    pub const MODULE_COUNT: Le<u8> = Le::at(Self::WARNING.end());
    /// Tag: two bytes after the module count.
    pub const TAG: Bytes<2> = Bytes::at(Self::MODULE_COUNT.end());
    /// Reserved: u8 after the tag (absent in a 7-byte frame).
    pub const RESERVED: Le<u8> = Le::at(Self::TAG.end());
}

impl CanMessage for Alarms {
    const ID: u16 = 0x359;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[Self::TAG.end(), Self::RESERVED.end()])?;
        Ok(Self {
            protection: Protection(raw(Self::ID, data, Self::PROTECTION)?),
            warning: Warning(raw(Self::ID, data, Self::WARNING)?),
            module_count: raw(Self::ID, data, Self::MODULE_COUNT)?,
            tag: Self::TAG.read(data).ok_or_else(|| length(Self::ID, data))?,
            reserved: Self::RESERVED.read(data),
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        Self::PROTECTION.write(&mut out, self.protection.0)?;
        Self::WARNING.write(&mut out, self.warning.0)?;
        Self::MODULE_COUNT.write(&mut out, self.module_count)?;
        Self::TAG.write(&mut out, self.tag)?;
        Self::RESERVED.write(&mut out, self.reserved.unwrap_or(0))?;
        let len = if self.reserved.is_some() {
            Self::RESERVED.end()
        } else {
            Self::TAG.end()
        };
        Ok((out, len))
    }
}

/// 0x35A, BMS -> inverter (SMA/Victron dialect): alarms and warnings as 2-bit pairs (`01`
/// active, `10` OK, `11` not supported, `00` unused).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SmaAlarms {
    /// Alarm pairs. Wire: [`Self::ALARMS`].
    pub alarms: [u8; 4],
    /// Warning pairs. Wire: [`Self::WARNINGS`].
    pub warnings: [u8; 4],
}

impl SmaAlarms {
    /// JSON / log name.
    pub const NAME: &'static str = "sma_alarms";
    /// Alarm pairs: bytes 0-3.
    pub const ALARMS: Bytes<4> = Bytes::at(0);
    /// Warning pairs: bytes 4-7, at the same positions as the alarms.
    pub const WARNINGS: Bytes<4> = Bytes::at(Self::ALARMS.end());

    fn pair(bytes: [u8; 4], c: AlarmCondition) -> PairState {
        let (byte, shift) = c.position();
        PairState::from_bits(bytes.get(byte).copied().unwrap_or(0) >> shift)
    }

    /// State of an alarm.
    pub fn alarm(&self, c: AlarmCondition) -> PairState {
        Self::pair(self.alarms, c)
    }

    /// State of a warning.
    pub fn warning(&self, c: AlarmCondition) -> PairState {
        Self::pair(self.warnings, c)
    }

    /// Names of the active alarms.
    pub fn active_alarms(&self) -> impl Iterator<Item = &'static str> + '_ {
        AlarmCondition::ALL
            .into_iter()
            .filter(|c| self.alarm(*c) == PairState::Active)
            .map(AlarmCondition::name)
    }

    /// Names of the active warnings.
    pub fn active_warnings(&self) -> impl Iterator<Item = &'static str> + '_ {
        AlarmCondition::ALL
            .into_iter()
            .filter(|c| self.warning(*c) == PairState::Active)
            .map(AlarmCondition::name)
    }
}

impl CanMessage for SmaAlarms {
    const ID: u16 = 0x35A;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[Self::WARNINGS.end()])?;
        let field = |f: Bytes<4>| f.read(data).ok_or_else(|| length(Self::ID, data));
        Ok(Self {
            alarms: field(Self::ALARMS)?,
            warnings: field(Self::WARNINGS)?,
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        Self::ALARMS.write(&mut out, self.alarms)?;
        Self::WARNINGS.write(&mut out, self.warnings)?;
        Ok((out, Self::WARNINGS.end()))
    }
}

/// 0x35C, BMS -> inverter: request flags in byte 0; 1, 2 or 8 bytes on the wire.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Request {
    /// The flags. Wire: [`Self::FLAGS`].
    pub flags: RequestFlags,
    /// The bytes after the flags as sent (zero padding in every real frame), kept for a
    /// lossless round trip. Wire: from [`Self::PADDING`] to the end.
    pub padding: Payload,
}

impl Request {
    /// JSON / log name.
    pub const NAME: &'static str = "request";
    /// Flags: u8 at byte 0.
    pub const FLAGS: Le<u8> = Le::at(0);
    /// First byte of the padding.
    pub const PADDING: usize = Self::FLAGS.end();

    /// The flags in the 2-byte form most BMSes send.
    pub fn new(flags: RequestFlags) -> Self {
        Self {
            flags,
            padding: Payload::new(&[0]).unwrap_or_default(),
        }
    }
}

impl CanMessage for Request {
    const ID: u16 = 0x35C;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        match Self::FLAGS.read(data) {
            Some(f) if data.len() <= 8 => Ok(Self {
                flags: RequestFlags(f),
                padding: Payload::new(tail(data, Self::PADDING)).unwrap_or_default(),
            }),
            _ => Err(length(Self::ID, data)),
        }
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        if self.padding.len() > 8 - Self::PADDING {
            return Err(EncodeError::OutOfRange { field: "padding" });
        }
        let mut out = [0u8; 8];
        Self::FLAGS.write(&mut out, self.flags.0)?;
        write_tail(&mut out, Self::PADDING, self.padding.as_bytes())?;
        Ok((out, Self::PADDING + self.padding.len()))
    }
}
