//! Responses (battery → master).

use voltwire_asciihex::message::{self, Body};
use voltwire_asciihex::{Info, Reader, Writer};
use voltwire_core::EncodeError;

use super::{
    AlarmReply, AnalogReply, ChargeManagement, ManufacturerInfo, RequestBody, SerialNumber,
    SystemAlarm, SystemAnalog, SystemInfo, SystemParameters, command,
};

/// What a response carries, by the command it answers.
#[allow(
    clippy::large_enum_variant,
    reason = "no_std without alloc: fixed-capacity variants cannot be boxed"
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseBody {
    /// 0x4F: no INFO; the version is the frame's VER.
    ProtocolVersion,
    /// 0x51.
    Manufacturer(ManufacturerInfo),
    /// 0x42, one module or all.
    Analog(AnalogReply),
    /// 0x44, one module or all.
    Alarm(AlarmReply),
    /// 0x47.
    SystemParameters(SystemParameters),
    /// 0x60.
    SystemInfo(SystemInfo),
    /// 0x61.
    SystemAnalog(SystemAnalog),
    /// 0x62.
    SystemAlarm(SystemAlarm),
    /// 0x63 (no command byte).
    SystemManagement(ChargeManagement),
    /// 0x92: the command value (module address), then the limits.
    Management {
        /// The module address. Wire: u8.
        command: u8,
        /// The limits.
        management: ChargeManagement,
    },
    /// 0x93.
    Serial(SerialNumber),
    /// A reply with RTN ≠ 0, to an unknown command, or whose INFO does not fit the
    /// command's layout: INFO kept as sent.
    Undecoded {
        /// The command it answers.
        command: u8,
        /// INFO as sent.
        info: Info,
    },
}

impl Body for ResponseBody {
    /// The command this body answers.
    fn command(&self) -> u8 {
        match self {
            Self::ProtocolVersion => command::PROTOCOL_VERSION,
            Self::Manufacturer(_) => command::MANUFACTURER,
            Self::Analog(_) => command::ANALOG,
            Self::Alarm(_) => command::ALARM,
            Self::SystemParameters(_) => command::SYSTEM_PARAMETERS,
            Self::SystemInfo(_) => command::SYSTEM_INFO,
            Self::SystemAnalog(_) => command::SYSTEM_ANALOG,
            Self::SystemAlarm(_) => command::SYSTEM_ALARM,
            Self::SystemManagement(_) => command::SYSTEM_MANAGEMENT,
            Self::Management { .. } => command::MANAGEMENT,
            Self::Serial(_) => command::SERIAL,
            Self::Undecoded { command, .. } => *command,
        }
    }

    /// A reply with RTN ≠ 0, to an unknown command, or whose INFO does not fit.
    fn undecoded(command: u8, info: Info) -> Self {
        Self::Undecoded { command, info }
    }

    fn decode(cid2: u8, info: &[u8]) -> Option<Self> {
        Some(match cid2 {
            command::PROTOCOL_VERSION => info.is_empty().then_some(Self::ProtocolVersion)?,
            command::MANUFACTURER => Self::Manufacturer(ManufacturerInfo::read(info)?),
            command::ANALOG => Self::Analog(AnalogReply::read(info)?),
            command::ALARM => Self::Alarm(AlarmReply::read(info)?),
            command::SYSTEM_PARAMETERS => Self::SystemParameters(SystemParameters::read(info)?),
            command::SYSTEM_INFO => Self::SystemInfo(SystemInfo::read(info)?),
            command::SYSTEM_ANALOG => Self::SystemAnalog(SystemAnalog::read(info)?),
            command::SYSTEM_ALARM => Self::SystemAlarm(SystemAlarm::read(info)?),
            command::SYSTEM_MANAGEMENT => {
                let mut r = Reader::new(info);
                let m = ChargeManagement::read(&mut r)?;
                r.is_empty().then_some(Self::SystemManagement(m))?
            }
            command::MANAGEMENT => {
                let mut r = Reader::new(info);
                let command = r.u8().ok()?;
                let management = ChargeManagement::read(&mut r)?;
                r.is_empty().then_some(Self::Management {
                    command,
                    management,
                })?
            }
            command::SERIAL => {
                let mut r = Reader::new(info);
                let s = SerialNumber {
                    command: r.u8().ok()?,
                    serial: r.take().ok()?,
                };
                r.is_empty().then_some(Self::Serial(s))?
            }
            _ => return None,
        })
    }

    /// The INFO bytes.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field.
    fn info(&self) -> Result<Info, EncodeError> {
        let mut w = Writer::new();
        match self {
            Self::ProtocolVersion => {}
            Self::Manufacturer(m) => m.write(&mut w)?,
            Self::Analog(a) => a.write(&mut w)?,
            Self::Alarm(a) => a.write(&mut w)?,
            Self::SystemParameters(p) => p.write(&mut w)?,
            Self::SystemInfo(s) => s.write(&mut w)?,
            Self::SystemAnalog(s) => s.write(&mut w)?,
            Self::SystemAlarm(s) => s.write(&mut w)?,
            Self::SystemManagement(m) => m.write(&mut w)?,
            Self::Management {
                command,
                management,
            } => {
                w.u8(*command)?;
                management.write(&mut w)?;
            }
            Self::Serial(s) => {
                w.u8(s.command)?.bytes(&s.serial)?;
            }
            Self::Undecoded { info, .. } => return Ok(info.clone()),
        }
        Ok(w.finish())
    }
}

/// A response frame (RTN 0 for data replies).
pub type Response = message::Response<ResponseBody>;

impl message::ResponseBody for ResponseBody {
    type Request = RequestBody;

    fn answers_body(&self, request: &RequestBody) -> bool {
        match (request, self) {
            (RequestBody::Analog(t), ResponseBody::Analog(a)) => a.answers(t.module()),
            (RequestBody::Alarm(t), ResponseBody::Alarm(a)) => a.answers(t.module()),
            (RequestBody::Management(m), ResponseBody::Management { command, .. }) => m == command,
            (RequestBody::Serial(Some(m)), ResponseBody::Serial(s)) => *m == s.command,
            _ => true,
        }
    }
}
