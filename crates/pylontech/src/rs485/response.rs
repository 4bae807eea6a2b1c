//! Responses (battery → master).

use voltwire_asciihex::block;
use voltwire_asciihex::layout::Layout;
use voltwire_asciihex::message::{self, Body};
use voltwire_asciihex::{Info, MAX_INFO_LEN, Reader, Writer};
use voltwire_core::EncodeError;

use super::{
    ChargeManagement, MAX_MODULES, ManufacturerInfo, ModuleAlarm, ModuleAnalog, RequestBody,
    SerialNumber, SystemAlarm, SystemAnalog, SystemInfo, SystemParameters, command,
};

voltwire_asciihex::body_enum! {
    /// What a response carries, by the command it answers: up to `M` modules in a 0x42/0x44
    /// reply and `N` bytes of undecoded INFO (defaults [`MAX_MODULES`], [`MAX_INFO_LEN`]: any
    /// reply; see [`SizedResponse`]).
    pub enum ResponseBody<const M: usize = MAX_MODULES, const N: usize = MAX_INFO_LEN> {
        /// 0x4F: no INFO; the version is the frame's VER.
        ProtocolVersion => command::PROTOCOL_VERSION,
        /// 0x51.
        Manufacturer(ManufacturerInfo) => command::MANUFACTURER,
        /// 0x42, one module or all.
        Analog(block::Reply<ModuleAnalog, M>) => command::ANALOG,
        /// 0x44, one module or all.
        Alarm(block::Reply<ModuleAlarm, M>) => command::ALARM,
        /// 0x47.
        SystemParameters(SystemParameters) => command::SYSTEM_PARAMETERS,
        /// 0x60.
        SystemInfo(SystemInfo) => command::SYSTEM_INFO,
        /// 0x61.
        SystemAnalog(SystemAnalog) => command::SYSTEM_ANALOG,
        /// 0x62.
        SystemAlarm(SystemAlarm) => command::SYSTEM_ALARM,
        /// 0x63 (no command byte).
        SystemManagement(ChargeManagement) => command::SYSTEM_MANAGEMENT,
        /// 0x92: the command value (module address), then the limits.
        Management {
            /// The module address. Wire: u8.
            command: u8,
            /// The limits.
            management: ChargeManagement,
        } => command::MANAGEMENT,
        /// 0x93.
        Serial(SerialNumber) => command::SERIAL,
        /// A reply with RTN ≠ 0, to an unknown command, or whose INFO does not fit the
        /// command's layout: INFO kept as sent.
        Undecoded {
            /// The command it answers.
            command: u8,
            /// INFO as sent.
            info: Info<N>,
        } for { command, .. } => *command,
    }
}

impl<const M: usize, const N: usize> Body<N> for ResponseBody<M, N> {
    /// The command this body answers.
    fn command(&self) -> u8 {
        // The inherent one `body_enum!` states with the variants.
        Self::command(self)
    }

    /// A reply with RTN ≠ 0, to an unknown command, or whose INFO does not fit.
    fn undecoded(command: u8, info: Info<N>) -> Self {
        Self::Undecoded { command, info }
    }

    // Out of line (here and `info`): the bodies are kilobytes, and inlined into a caller with
    // other large values on its stack every field access needs a long stack offset; in a
    // frame of their own the field code is short (thumbv7em probe: pylontech RS485 -2.5 KiB,
    // pace -0.8 KiB of .text, `bench/size.sh`).
    #[inline(never)]
    fn decode(cid2: u8, info: &[u8]) -> Option<Self> {
        Some(match cid2 {
            command::PROTOCOL_VERSION => info.is_empty().then_some(Self::ProtocolVersion)?,
            command::MANUFACTURER => Self::Manufacturer(ManufacturerInfo::from_info(info)?),
            command::ANALOG => Self::Analog(block::Reply::read(info)?),
            command::ALARM => Self::Alarm(block::Reply::read(info)?),
            command::SYSTEM_PARAMETERS => {
                Self::SystemParameters(SystemParameters::from_info(info)?)
            }
            command::SYSTEM_INFO => Self::SystemInfo(SystemInfo::from_info(info)?),
            command::SYSTEM_ANALOG => Self::SystemAnalog(SystemAnalog::from_info(info)?),
            command::SYSTEM_ALARM => Self::SystemAlarm(SystemAlarm::from_info(info)?),
            command::SYSTEM_MANAGEMENT => {
                Self::SystemManagement(ChargeManagement::from_info(info)?)
            }
            command::MANAGEMENT => {
                let mut r = Reader::new(info);
                let command = r.u8().ok()?;
                let management = ChargeManagement::read_from(&mut r)?;
                r.is_empty().then_some(Self::Management {
                    command,
                    management,
                })?
            }
            command::SERIAL => Self::Serial(SerialNumber::from_info(info)?),
            _ => return None,
        })
    }

    /// The INFO bytes.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field.
    #[inline(never)]
    fn info(&self) -> Result<Info<N>, EncodeError> {
        let mut w = Writer::<N>::new_sized();
        match self {
            Self::ProtocolVersion => {}
            Self::Manufacturer(m) => m.write_to(&mut w)?,
            Self::Analog(a) => a.write(&mut w)?,
            Self::Alarm(a) => a.write(&mut w)?,
            Self::SystemParameters(p) => p.write_to(&mut w)?,
            Self::SystemInfo(s) => s.write_to(&mut w)?,
            Self::SystemAnalog(s) => s.write_to(&mut w)?,
            Self::SystemAlarm(s) => s.write_to(&mut w)?,
            Self::SystemManagement(m) => m.write_to(&mut w)?,
            Self::Management {
                command,
                management,
            } => {
                w.u8(*command)?;
                management.write_to(&mut w)?;
            }
            Self::Serial(s) => s.write_to(&mut w)?,
            Self::Undecoded { info, .. } => return Ok(info.clone()),
        }
        Ok(w.finish())
    }
}

/// A response frame (RTN 0 for data replies) that holds any reply: up to [`MAX_MODULES`]
/// modules and [`MAX_INFO_LEN`] INFO bytes (≈ 4 KiB; read from and written to a
/// [`Frame`](crate::rs485::Frame)). For less RAM see [`SizedResponse`].
pub type Response = message::Response<ResponseBody>;

/// A caller-sized response: up to `M` modules per 0x42/0x44 reply and `N` INFO bytes, read
/// from and written to a `Frame<N>`. A master polling one module at a time can use
/// `SizedResponse<1, 128>` with `Frame::<128>::parse_sized`. A reply that does not fit is
/// never truncated: more modules than `M` give [`ResponseBody::Undecoded`], more INFO than `N`
/// an [`Error::Capacity`](crate::rs485::Error::Capacity) frame.
pub type SizedResponse<const M: usize, const N: usize> = message::Response<ResponseBody<M, N>>;

impl<const M: usize, const N: usize> message::ResponseBody<N> for ResponseBody<M, N> {
    type Request<const K: usize> = RequestBody<K>;

    fn answers_body<const K: usize>(&self, request: &RequestBody<K>) -> bool {
        match (request, self) {
            (RequestBody::Analog(t), ResponseBody::Analog(a)) => a.answers(t.module()),
            (RequestBody::Alarm(t), ResponseBody::Alarm(a)) => a.answers(t.module()),
            (RequestBody::Management(m), ResponseBody::Management { command, .. }) => m == command,
            (RequestBody::Serial(Some(m)), ResponseBody::Serial(s)) => *m == s.command,
            _ => true,
        }
    }
}
