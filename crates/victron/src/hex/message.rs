//! The message layer: what a frame means, in both directions.
//!
//! The same command nibble means different things host→device ([`Request`]) and
//! device→host ([`Response`]):
//!
//! | Nibble | Request (host → device) | Response (device → host) |
//! |---|---|---|
//! | 0 | Enter boot | — |
//! | 1 | Ping | Done (payload) |
//! | 3 | App version | Unknown command |
//! | 4 | Product id | Error (payload) |
//! | 5 | — | Ping reply (firmware version) |
//! | 6 | Restart | — |
//! | 7 | Get (register, flags) | Get reply (register, flags, value) |
//! | 8 | Set (register, flags, value) | Set reply (register, flags, value) |
//! | A | Async (register, flags, value) | Async notification (register, flags, value) |
//!
//! **Which reading to pick.** A decoder that knows the direction uses
//! [`Request::from_frame`] or [`Response::from_frame`]. In particular, HEX frames found in a
//! device's TEXT stream come from the device: decode them as responses (they are almost
//! always Async notifications). A decoder that does not know the direction (a sniffer on
//! both wires, a capture file) uses [`Message::classify`], which reports every reading that
//! decodes.

use voltwire_core::EncodeError;

use super::HexError;
use super::frame::{Frame, Payload};
use super::register::{RegisterInfo, RegisterValue, lookup};

/// Request command: enter the boot loader.
pub const CMD_ENTER_BOOT: u8 = 0x0;
/// Request command: ping (answered by a [`RSP_PING`] reply). Same nibble as [`RSP_DONE`].
pub const CMD_PING: u8 = 0x1;
/// Request command: application version (answered by Done). Same nibble as
/// [`RSP_UNKNOWN`].
pub const CMD_APP_VERSION: u8 = 0x3;
/// Request command: product id (answered by Done). Same nibble as [`RSP_ERROR`].
pub const CMD_PRODUCT_ID: u8 = 0x4;
/// Request command: restart.
pub const CMD_RESTART: u8 = 0x6;
/// Request command: get a register.
pub const CMD_GET: u8 = 0x7;
/// Request command: set a register.
pub const CMD_SET: u8 = 0x8;
/// Request command: async (read an async register).
pub const CMD_ASYNC: u8 = 0xA;

/// Response code: done.
pub const RSP_DONE: u8 = 0x1;
/// Response code: unknown command.
pub const RSP_UNKNOWN: u8 = 0x3;
/// Response code: error (e.g. a frame with a bad checksum was received).
pub const RSP_ERROR: u8 = 0x4;
/// Response code: ping reply.
pub const RSP_PING: u8 = 0x5;
/// Response code: get reply.
pub const RSP_GET: u8 = 0x7;
/// Response code: set reply.
pub const RSP_SET: u8 = 0x8;
/// Response code: asynchronous notification.
pub const RSP_ASYNC: u8 = 0xA;

pub use super::register::{MAX_VALUE_LEN, ValueBytes};

/// The flags byte of Get/Set/Async frames. Unknown bits are kept.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// No flag: success (the host always sends this).
    pub const OK: Self = Self(0x00);
    /// The register id is unknown to the device.
    pub const UNKNOWN_ID: Self = Self(0x01);
    /// The register is not supported (e.g. a history day that does not exist yet).
    pub const NOT_SUPPORTED: Self = Self(0x02);
    /// A parameter is wrong (e.g. a value out of range in a Set).
    pub const PARAMETER_ERROR: Self = Self(0x04);

    /// Whether no flag is set.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Bits without a documented meaning.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the table names bits 0-2 of a u8"
    )]
    pub const fn unknown_bits(self) -> u8 {
        self.0 & !(voltwire_core::table::mask(<Self as voltwire_core::FlagWord>::BITS) as u8)
    }

    /// Names of the set bits, `"ok"` when none is set; bits without a name are skipped
    /// (see [`Flags::unknown_bits`]).
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        let ok = self.is_ok().then_some("ok");
        ok.into_iter().chain(voltwire_core::FlagWord::flags(self))
    }
}

impl voltwire_core::FlagWord for Flags {
    type Raw = u8;
    const BITS: voltwire_core::BitTable = &[
        (0, "unknown_id"),
        (1, "not_supported"),
        (2, "parameter_error"),
    ];
    fn raw(self) -> u8 {
        self.0
    }
}

/// Names joined by `|`, unknown bits as hex: `ok`, `unknown_id`, `not_supported|0x80`.
impl core::fmt::Display for Flags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut sep = "";
        for n in self.names() {
            write!(f, "{sep}{n}")?;
            sep = "|";
        }
        if self.unknown_bits() != 0 {
            write!(f, "{sep}0x{:02X}", self.unknown_bits())?;
        }
        Ok(())
    }
}

/// A firmware version as carried by a Ping reply (and the Done reply to App version):
/// a un16, e.g. `:51641F9` carries 0x4116.
///
/// The top two bits give the firmware type (0b01 in every capture seen, the application);
/// the lower 14 bits are the version written in hex digits, 0x0116 → "1.16".
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FirmwareVersion(pub u16);

impl FirmwareVersion {
    /// The raw un16.
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// The firmware type: bits 15–14.
    pub const fn type_bits(self) -> u8 {
        (self.0 >> 14) as u8
    }

    /// The version without the type bits, e.g. 0x0116.
    pub const fn version(self) -> u16 {
        self.0 & 0x3FFF
    }

    /// Major part, e.g. 1 for 0x0116 (printed in hex).
    pub const fn major(self) -> u8 {
        (self.version() >> 8) as u8
    }

    /// Minor part, e.g. 0x16 for 0x0116 (printed in hex: "16").
    pub const fn minor(self) -> u8 {
        (self.0 & 0xFF) as u8
    }
}

/// `major.minor` in hex digits, e.g. `1.16`.
impl core::fmt::Display for FirmwareVersion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:X}.{:02X}", self.major(), self.minor())
    }
}

/// Register id, flags and value bytes: the payload of Set and Async requests and of Get, Set
/// and Async replies.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegisterData {
    /// Register id. Wire: un16 LE @ payload 0.
    pub register: u16,
    /// Flags. Wire: un8 @ payload 2.
    pub flags: Flags,
    /// Value bytes (little-endian; the width comes from the register). Wire: payload 3…
    pub value: ValueBytes,
}

impl RegisterData {
    /// Register data from parts.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"value"`) when `value` exceeds [`MAX_VALUE_LEN`].
    pub fn new(register: u16, flags: Flags, value: &[u8]) -> Result<Self, EncodeError> {
        Ok(Self {
            register,
            flags,
            value: ValueBytes::from_slice(value)
                .map_err(|()| EncodeError::OutOfRange { field: "value" })?,
        })
    }

    fn parse(command: u8, payload: &[u8]) -> Result<Self, HexError> {
        let bad_len = HexError::PayloadLength {
            command,
            len: payload.len(),
        };
        let [lo, hi, flags, value @ ..] = payload else {
            return Err(bad_len);
        };
        Ok(Self {
            register: u16::from_le_bytes([*lo, *hi]),
            flags: Flags(*flags),
            value: ValueBytes::from_slice(value).map_err(|()| bad_len)?,
        })
    }

    fn to_frame(&self, command: u8) -> Result<Frame, EncodeError> {
        let mut payload = Payload::new();
        let [lo, hi] = self.register.to_le_bytes();
        payload
            .extend_from_slice(&[lo, hi, self.flags.0])
            .and_then(|()| payload.extend_from_slice(&self.value))
            .map_err(|()| EncodeError::OutOfRange { field: "value" })?;
        Frame::new(command, &payload)
    }

    /// The register's table entry, if known.
    pub fn info(&self) -> Option<&'static RegisterInfo> {
        lookup(self.register)
    }

    /// Decode the value with the register table; unknown registers give
    /// [`RegisterValue::Bytes`]. Check [`RegisterData::flags`] first: a reply with flags
    /// set usually carries no meaningful value.
    ///
    /// # Errors
    /// As [`RegisterValue::decode`].
    pub fn decode(&self) -> Result<RegisterValue, HexError> {
        RegisterValue::decode_register(self.register, &self.value)
    }
}

/// A host → device command.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Request {
    /// Enter the boot loader (`:0…`, no payload).
    EnterBoot,
    /// Ping (`:154`); the device answers with [`Response::Ping`].
    Ping,
    /// Ask for the application version (`:352`); answered by [`Response::Done`].
    AppVersion,
    /// Ask for the product id (`:451`); answered by [`Response::Done`].
    ProductId,
    /// Restart the device (`:6…`, no payload).
    Restart,
    /// Read a register, e.g. `:70010003E` = battery capacity.
    Get {
        /// Register id. Wire: un16 LE.
        register: u16,
        /// Flags; the host always sends 0. Wire: un8.
        flags: Flags,
    },
    /// Write a register, e.g. `:80002000447` = device mode ← 4 (off).
    Set(RegisterData),
    /// Read an async register (register, flags and any value bytes are kept).
    Async(RegisterData),
}

impl Request {
    /// A Get of `register` with flags 0.
    pub const fn get(register: u16) -> Self {
        Self::Get {
            register,
            flags: Flags::OK,
        }
    }

    /// A Set of `register` to raw value bytes, flags 0.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (field `"value"`) when `value` exceeds [`MAX_VALUE_LEN`].
    pub fn set(register: u16, value: &[u8]) -> Result<Self, EncodeError> {
        RegisterData::new(register, Flags::OK, value).map(Self::Set)
    }

    /// A Set of register `info` to a typed value, flags 0. Check
    /// [`RegisterInfo::nvm`](super::register::RegisterInfo::nvm) before writing periodically.
    ///
    /// # Errors
    /// As [`RegisterValue::encode`].
    pub fn set_value(info: &RegisterInfo, value: &RegisterValue) -> Result<Self, EncodeError> {
        Ok(Self::Set(RegisterData {
            register: info.id,
            flags: Flags::OK,
            value: value.encode(info)?,
        }))
    }

    /// The command nibble.
    pub const fn command(&self) -> u8 {
        match self {
            Self::EnterBoot => CMD_ENTER_BOOT,
            Self::Ping => CMD_PING,
            Self::AppVersion => CMD_APP_VERSION,
            Self::ProductId => CMD_PRODUCT_ID,
            Self::Restart => CMD_RESTART,
            Self::Get { .. } => CMD_GET,
            Self::Set(_) => CMD_SET,
            Self::Async(_) => CMD_ASYNC,
        }
    }

    /// Read a frame as a request.
    ///
    /// # Errors
    /// [`HexError::UnknownCommand`] for nibbles 2, 5, 9, B–F; [`HexError::PayloadLength`]
    /// when a payload-less command carries bytes, a Get is not exactly 3 bytes, or a
    /// Set/Async is shorter than 3 bytes.
    pub fn from_frame(frame: &Frame) -> Result<Self, HexError> {
        let command = frame.command();
        let payload = frame.payload();
        let bad_len = HexError::PayloadLength {
            command,
            len: payload.len(),
        };
        let empty = |r: Self| {
            if payload.is_empty() {
                Ok(r)
            } else {
                Err(bad_len)
            }
        };
        match command {
            CMD_ENTER_BOOT => empty(Self::EnterBoot),
            CMD_PING => empty(Self::Ping),
            CMD_APP_VERSION => empty(Self::AppVersion),
            CMD_PRODUCT_ID => empty(Self::ProductId),
            CMD_RESTART => empty(Self::Restart),
            CMD_GET => match *payload {
                [lo, hi, flags] => Ok(Self::Get {
                    register: u16::from_le_bytes([lo, hi]),
                    flags: Flags(flags),
                }),
                _ => Err(bad_len),
            },
            CMD_SET => RegisterData::parse(command, payload).map(Self::Set),
            CMD_ASYNC => RegisterData::parse(command, payload).map(Self::Async),
            _ => Err(HexError::UnknownCommand { command }),
        }
    }

    /// The frame of this request.
    ///
    /// # Errors
    /// None in practice: every request fits a frame (the `Result` mirrors
    /// [`Response::to_frame`]).
    pub fn to_frame(&self) -> Result<Frame, EncodeError> {
        match self {
            Self::EnterBoot | Self::Ping | Self::AppVersion | Self::ProductId | Self::Restart => {
                Frame::new(self.command(), &[])
            }
            Self::Get { register, flags } => {
                let [lo, hi] = register.to_le_bytes();
                Frame::new(CMD_GET, &[lo, hi, flags.0])
            }
            Self::Set(d) | Self::Async(d) => d.to_frame(self.command()),
        }
    }

    /// Whether the device replies to this request at all (not to Enter boot and Restart).
    pub const fn expects_response(&self) -> bool {
        !matches!(self, Self::EnterBoot | Self::Restart)
    }
}

/// A device → host message.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Response {
    /// Done: the reply to App version and Product id, e.g. `:11641FD` (payload 16 41).
    Done(Payload),
    /// The device did not know the command.
    UnknownCommand(Payload),
    /// Error, e.g. `:4AAAAFD` (payload AA AA) after a frame with a bad checksum.
    Error(Payload),
    /// Ping reply, e.g. `:51641F9` = firmware 1.16. Wire: un16 LE.
    Ping(FirmwareVersion),
    /// Get reply, e.g. `:7001000C80076` = battery capacity 200 Ah.
    Get(RegisterData),
    /// Set reply (echoes register, flags and value).
    Set(RegisterData),
    /// Asynchronous notification, e.g. `:ABCED0045A10000BC` = panel power 412.85 W.
    Async(RegisterData),
}

impl Response {
    /// The response code nibble.
    pub const fn command(&self) -> u8 {
        match self {
            Self::Done(_) => RSP_DONE,
            Self::UnknownCommand(_) => RSP_UNKNOWN,
            Self::Error(_) => RSP_ERROR,
            Self::Ping(_) => RSP_PING,
            Self::Get(_) => RSP_GET,
            Self::Set(_) => RSP_SET,
            Self::Async(_) => RSP_ASYNC,
        }
    }

    /// Read a frame as a response.
    ///
    /// # Errors
    /// [`HexError::UnknownCommand`] for nibbles 0, 2, 6, 9, B–F; [`HexError::PayloadLength`]
    /// when a Ping reply is not 2 bytes or a Get/Set/Async is shorter than 3 bytes.
    pub fn from_frame(frame: &Frame) -> Result<Self, HexError> {
        let command = frame.command();
        let payload = frame.payload();
        let copy =
            || Payload::from_slice(payload).map_err(|()| HexError::TooLong { len: payload.len() });
        match command {
            RSP_DONE => copy().map(Self::Done),
            RSP_UNKNOWN => copy().map(Self::UnknownCommand),
            RSP_ERROR => copy().map(Self::Error),
            RSP_PING => match *payload {
                [lo, hi] => Ok(Self::Ping(FirmwareVersion(u16::from_le_bytes([lo, hi])))),
                _ => Err(HexError::PayloadLength {
                    command,
                    len: payload.len(),
                }),
            },
            RSP_GET => RegisterData::parse(command, payload).map(Self::Get),
            RSP_SET => RegisterData::parse(command, payload).map(Self::Set),
            RSP_ASYNC => RegisterData::parse(command, payload).map(Self::Async),
            _ => Err(HexError::UnknownCommand { command }),
        }
    }

    /// The frame of this response (for device simulators).
    ///
    /// # Errors
    /// None in practice: every response fits a frame.
    pub fn to_frame(&self) -> Result<Frame, EncodeError> {
        match self {
            Self::Done(p) | Self::UnknownCommand(p) | Self::Error(p) => {
                Frame::new(self.command(), p)
            }
            Self::Ping(v) => Frame::new(RSP_PING, &v.0.to_le_bytes()),
            Self::Get(d) | Self::Set(d) | Self::Async(d) => d.to_frame(self.command()),
        }
    }

    /// The register data of Get, Set and Async replies.
    pub fn register_data(&self) -> Option<&RegisterData> {
        match self {
            Self::Get(d) | Self::Set(d) | Self::Async(d) => Some(d),
            _ => None,
        }
    }

    /// A 2-byte Done payload as a un16 LE: the version after App version (same encoding as
    /// [`FirmwareVersion`]) or the product id after Product id.
    pub fn done_u16(&self) -> Option<u16> {
        match self {
            Self::Done(p) => match **p {
                [lo, hi] => Some(u16::from_le_bytes([lo, hi])),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether this message can be the reply to `request`: Ping → Ping reply; App version and
    /// Product id → Done; Get/Set → a Get/Set reply for the same register. An Error or
    /// Unknown-command reply answers any request that expects a response. Async
    /// notifications answer nothing (they are unsolicited).
    pub fn answers(&self, request: &Request) -> bool {
        match (request, self) {
            (r, Self::Error(_) | Self::UnknownCommand(_)) => r.expects_response(),
            (Request::Ping, Self::Ping(_))
            | (Request::AppVersion | Request::ProductId, Self::Done(_)) => true,
            (Request::Get { register, .. }, Self::Get(d))
            | (Request::Set(RegisterData { register, .. }), Self::Set(d)) => {
                d.register == *register
            }
            _ => false,
        }
    }
}

/// A frame read without knowing its direction: see [`Message::classify`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Message {
    /// Only the host → device reading decodes (nibbles 0 and 6, or a payload that only fits a
    /// request).
    Request(Request),
    /// Only the device → host reading decodes (nibble 5, or a payload that only fits a
    /// response, e.g. a Get with a value).
    Response(Response),
    /// Both readings decode (nibbles 1, 3, 4, 7, 8, A with a payload that fits both). Pick by
    /// direction; frames in a device's TEXT stream are responses.
    Either {
        /// The host → device reading.
        request: Request,
        /// The device → host reading.
        response: Response,
    },
    /// Neither reading decodes (nibbles 2, 9, B–F, or a payload that fits neither). A
    /// checksum-valid frame is kept as a value, not an error.
    Unknown(Frame),
}

impl Message {
    /// Decode `frame` in both directions and report what it can be.
    pub fn classify(frame: &Frame) -> Self {
        match (Request::from_frame(frame), Response::from_frame(frame)) {
            (Ok(request), Ok(response)) => Self::Either { request, response },
            (Ok(request), Err(_)) => Self::Request(request),
            (Err(_), Ok(response)) => Self::Response(response),
            (Err(_), Err(_)) => Self::Unknown(frame.clone()),
        }
    }

    /// The request reading, if any.
    pub fn request(&self) -> Option<&Request> {
        match self {
            Self::Request(r) | Self::Either { request: r, .. } => Some(r),
            _ => None,
        }
    }

    /// The response reading, if any.
    pub fn response(&self) -> Option<&Response> {
        match self {
            Self::Response(r) | Self::Either { response: r, .. } => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::frame::MAX_PAYLOAD_LEN;
    use crate::hex::register::{Reading, Unit, id};
    use proptest::prelude::*;
    extern crate alloc;
    use alloc::string::ToString;
    use voltwire_core::{MilliampHours, Millivolts};

    fn frame(line: &str) -> Frame {
        Frame::parse(line.as_bytes()).unwrap()
    }

    #[test]
    fn requests_from_the_notes() {
        let cases = [
            (":70010003E", Request::get(0x1000)),
            (":7FF0F0040", Request::get(0x0FFF)),
            (":7ADED00B4", Request::get(0xEDAD)),
            (":80002000447", Request::set(0x0200, &[0x04]).unwrap()),
            (":154", Request::Ping),
            (":352", Request::AppVersion),
            (":451", Request::ProductId),
        ];
        for (line, req) in cases {
            let f = frame(line);
            assert_eq!(Request::from_frame(&f).unwrap(), req, "{line}");
            assert_eq!(req.to_frame().unwrap(), f, "{line}");
            assert_eq!(req.to_frame().unwrap().to_string(), line);
        }
    }

    #[test]
    fn responses_from_the_notes() {
        // Battery capacity 200 Ah (FAQ) and 120 Ah (a real device).
        for (line, ah) in [(":7001000C80076", 200_000), (":70010007800C6", 120_000)] {
            let r = Response::from_frame(&frame(line)).unwrap();
            let d = r.register_data().unwrap();
            assert_eq!(d.register, id::BATTERY_CAPACITY);
            assert!(d.flags.is_ok());
            let v = d.decode().unwrap();
            assert_eq!(
                v.reading().unwrap().milliamp_hours(),
                Some(MilliampHours(ah))
            );
            assert!(r.answers(&Request::get(0x1000)));
            assert!(!r.answers(&Request::get(0x1001)));
            assert_eq!(r.to_frame().unwrap(), frame(line));
        }
        // Error reply to a malformed frame.
        let e = Response::from_frame(&frame(":4AAAAFD")).unwrap();
        assert_eq!(
            e,
            Response::Error(Payload::from_slice(&[0xAA, 0xAA]).unwrap())
        );
        assert!(e.answers(&Request::get(0x1000)));
        assert!(!e.answers(&Request::Restart));
        // Ping reply and Done reply to App version.
        let p = Response::from_frame(&frame(":51641F9")).unwrap();
        let Response::Ping(v) = p else {
            panic!("{p:?}")
        };
        assert_eq!(v.raw(), 0x4116);
        assert_eq!(v.type_bits(), 1);
        assert_eq!(v.version(), 0x0116);
        assert_eq!((v.major(), v.minor()), (1, 0x16));
        assert_eq!(v.to_string(), "1.16");
        assert!(p.answers(&Request::Ping));
        let d = Response::from_frame(&frame(":11641FD")).unwrap();
        assert_eq!(d.done_u16(), Some(0x4116));
        assert!(d.answers(&Request::AppVersion));
        assert!(!d.answers(&Request::Ping));
    }

    #[test]
    fn async_notifications() {
        let r = Response::from_frame(&frame(":A0102000543")).unwrap();
        let Response::Async(d) = &r else {
            panic!("{r:?}")
        };
        assert_eq!(d.register, id::DEVICE_STATE);
        assert_eq!(d.decode().unwrap().reading().unwrap().raw, 5);
        assert!(!r.answers(&Request::get(0x0201)));
        let r = Response::from_frame(&frame(":AD5ED009714DE")).unwrap();
        assert_eq!(
            r.register_data()
                .unwrap()
                .decode()
                .unwrap()
                .reading()
                .unwrap()
                .millivolts(),
            Some(Millivolts(52_710))
        );
        // A Get reply for battery max current 15.0 A.
        let r = Response::from_frame(&frame(":7F0ED009600DB")).unwrap();
        let v = r.register_data().unwrap().decode().unwrap();
        assert!((v.reading().unwrap().si_value() - 15.0).abs() < 1e-12);
    }

    #[test]
    fn classify_both_readings() {
        // A Get request without value reads as both.
        let m = Message::classify(&frame(":70010003E"));
        assert!(matches!(m, Message::Either { .. }));
        assert_eq!(m.request(), Some(&Request::get(0x1000)));
        assert_eq!(
            m.response().unwrap().register_data().unwrap().value.len(),
            0
        );
        // A Get reply with a value is only a response.
        assert!(matches!(
            Message::classify(&frame(":7001000C80076")),
            Message::Response(Response::Get(_))
        ));
        // Ping reply only exists device → host.
        assert!(matches!(
            Message::classify(&frame(":51641F9")),
            Message::Response(Response::Ping(_))
        ));
        // `:4AAAAFD` cannot be a Product id request (which has no payload).
        assert!(matches!(
            Message::classify(&frame(":4AAAAFD")),
            Message::Response(Response::Error(_))
        ));
        // Restart only exists host → device.
        let restart = Request::Restart.to_frame().unwrap();
        assert_eq!(
            Message::classify(&restart),
            Message::Request(Request::Restart)
        );
        assert_eq!(Message::classify(&restart).response(), None);
        // Nibble 2 is neither.
        let two = Frame::new(2, &[1]).unwrap();
        assert_eq!(Message::classify(&two), Message::Unknown(two.clone()));
        assert_eq!(
            Request::from_frame(&two),
            Err(HexError::UnknownCommand { command: 2 })
        );
        assert_eq!(
            Response::from_frame(&two),
            Err(HexError::UnknownCommand { command: 2 })
        );
        // Async notifications read as both; the text stream's rule picks the response.
        assert!(matches!(
            Message::classify(&frame(":A2001002470030093")),
            Message::Either { .. }
        ));
    }

    #[test]
    fn payload_length_errors() {
        assert_eq!(
            Request::from_frame(&Frame::new(CMD_GET, &[0, 0x10]).unwrap()),
            Err(HexError::PayloadLength { command: 7, len: 2 })
        );
        assert_eq!(
            Request::from_frame(&Frame::new(CMD_PING, &[0]).unwrap()),
            Err(HexError::PayloadLength { command: 1, len: 1 })
        );
        assert_eq!(
            Response::from_frame(&Frame::new(RSP_PING, &[1, 2, 3]).unwrap()),
            Err(HexError::PayloadLength { command: 5, len: 3 })
        );
        assert_eq!(
            Response::from_frame(&Frame::new(RSP_ASYNC, &[1, 2]).unwrap()),
            Err(HexError::PayloadLength {
                command: 0xA,
                len: 2
            })
        );
        assert!(matches!(
            Message::classify(&Frame::new(CMD_SET, &[1]).unwrap()),
            Message::Unknown(_)
        ));
    }

    #[test]
    fn flags() {
        assert!(Flags::OK.is_ok());
        assert_eq!(Flags(0).to_string(), "ok");
        assert_eq!(Flags(1).to_string(), "unknown_id");
        assert_eq!(
            Flags(0x86).to_string(),
            "not_supported|parameter_error|0x80"
        );
        assert_eq!(Flags(0x86).unknown_bits(), 0x80);
        assert!(Flags(0x03).contains(Flags::NOT_SUPPORTED));
        // Unknown bits survive a round trip.
        let r = Response::Get(RegisterData::new(0x1050, Flags(0x82), &[]).unwrap());
        assert_eq!(Response::from_frame(&r.to_frame().unwrap()).unwrap(), r);
    }

    #[test]
    fn set_value_builds_the_frame() {
        let info = crate::hex::register::lookup(id::BATTERY_FLOAT_VOLTAGE).unwrap();
        let v = RegisterValue::Number(
            Reading::from_millivolts(Unit::CentiVolt, Millivolts(13_500)).unwrap(),
        );
        let req = Request::set_value(info, &v).unwrap();
        assert_eq!(req.to_frame().unwrap(), frame(":8F6ED0046051F"));
        assert!(info.nvm);
        let reply = Response::Set(RegisterData::new(0xEDF6, Flags::OK, &[0x46, 0x05]).unwrap());
        assert!(reply.answers(&req));
    }

    fn register_data() -> impl Strategy<Value = RegisterData> {
        (
            any::<u16>(),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..=MAX_VALUE_LEN),
        )
            .prop_map(|(r, f, v)| RegisterData::new(r, Flags(f), &v).unwrap())
    }

    fn payload() -> impl Strategy<Value = Payload> {
        proptest::collection::vec(any::<u8>(), 0..=MAX_PAYLOAD_LEN)
            .prop_map(|v| Payload::from_slice(&v).unwrap())
    }

    fn request() -> impl Strategy<Value = Request> {
        prop_oneof![
            Just(Request::EnterBoot),
            Just(Request::Ping),
            Just(Request::AppVersion),
            Just(Request::ProductId),
            Just(Request::Restart),
            (any::<u16>(), any::<u8>()).prop_map(|(register, f)| Request::Get {
                register,
                flags: Flags(f)
            }),
            register_data().prop_map(Request::Set),
            register_data().prop_map(Request::Async),
        ]
    }

    fn response() -> impl Strategy<Value = Response> {
        prop_oneof![
            payload().prop_map(Response::Done),
            payload().prop_map(Response::UnknownCommand),
            payload().prop_map(Response::Error),
            any::<u16>().prop_map(|v| Response::Ping(FirmwareVersion(v))),
            register_data().prop_map(Response::Get),
            register_data().prop_map(Response::Set),
            register_data().prop_map(Response::Async),
        ]
    }

    proptest! {
        #[test]
        fn request_round_trip(r in request()) {
            let f = r.to_frame().unwrap();
            prop_assert_eq!(Request::from_frame(&f).unwrap(), r.clone());
            prop_assert_eq!(Frame::parse(&f.to_line()).unwrap(), f.clone());
            let m = Message::classify(&f);
            prop_assert_eq!(m.request(), Some(&r));
        }

        #[test]
        fn response_round_trip(r in response()) {
            let f = r.to_frame().unwrap();
            prop_assert_eq!(Response::from_frame(&f).unwrap(), r.clone());
            let m = Message::classify(&f);
            prop_assert_eq!(m.response(), Some(&r));
        }

        #[test]
        fn any_frame_decodes_consistently(command in 0u8..16, p in payload()) {
            let f = Frame::new(command, &p).unwrap();
            if let Ok(r) = Request::from_frame(&f) {
                prop_assert_eq!(r.to_frame().unwrap(), f.clone());
            }
            if let Ok(r) = Response::from_frame(&f) {
                prop_assert_eq!(r.to_frame().unwrap(), f.clone());
                if let Some(d) = r.register_data() {
                    let _ = d.decode();
                }
            }
            let _ = Message::classify(&f);
        }
    }
}
