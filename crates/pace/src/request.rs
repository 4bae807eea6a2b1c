//! Requests (host → BMS).

use voltwire_asciihex::layout::Layout;
use voltwire_asciihex::message::{self, Body};
use voltwire_asciihex::{Info, MAX_INFO_LEN, Writer};
use voltwire_core::EncodeError;

use crate::{
    BalanceConfig, CID1_LIFEPO4, CurrentProtection, DateTime, FullChargeConfig, VER, VoltageKind,
    VoltageProtection, command,
};

voltwire_asciihex::request_target! {
    /// Which pack a 0x42/0x44 request asks about.
    pub enum Target {
        /// One pack by number (never 0xFF).
        Pack(u8) as pack,
        /// Every pack (INFO 0xFF; kitor sends it to a lone pack too).
        All,
    }
}

/// The INFO byte of 0x9A/0x9B. A capture settles the ambiguous PDF wording ("00H open"):
/// payload 0x00 switches the MOSFET **on** (reply shows the FET bit set), 0x01 **off**.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MosfetSwitch {
    /// 0x00: switch on (close the MOSFET, conduct).
    On,
    /// 0x01: switch off.
    Off,
    /// Any other byte, kept.
    Other(u8),
}

impl MosfetSwitch {
    /// The INFO byte.
    pub const fn byte(self) -> u8 {
        match self {
            Self::On => 0x00,
            Self::Off => 0x01,
            Self::Other(b) => b,
        }
    }

    /// The switch of an INFO byte.
    pub const fn from_byte(b: u8) -> Self {
        match b {
            0x00 => Self::On,
            0x01 => Self::Off,
            b => Self::Other(b),
        }
    }
}

impl From<u8> for MosfetSwitch {
    /// The switch of an INFO byte ([`MosfetSwitch::from_byte`]).
    fn from(b: u8) -> Self {
        Self::from_byte(b)
    }
}

impl From<MosfetSwitch> for u8 {
    /// The INFO byte ([`MosfetSwitch::byte`]).
    fn from(v: MosfetSwitch) -> Self {
        v.byte()
    }
}

/// A configuration read without INFO.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigRead {
    /// 0xD1/0xD3/0xD5/0xD7.
    Voltage(VoltageKind),
    /// 0xD9.
    ChargeOverCurrent,
    /// 0xDB.
    DischargeOverCurrent,
    /// 0xB6.
    Balancing,
    /// 0xAF.
    FullCharge,
}

impl ConfigRead {
    /// The command code.
    pub const fn command(self) -> u8 {
        match self {
            Self::Voltage(k) => k.read_command(),
            Self::ChargeOverCurrent => command::READ_CHARGE_OVER_CURRENT,
            Self::DischargeOverCurrent => command::READ_DISCHARGE_OVER_CURRENT,
            Self::Balancing => command::READ_BALANCING,
            Self::FullCharge => command::READ_FULL_CHARGE,
        }
    }

    /// The read for a command code.
    pub const fn from_command(cid2: u8) -> Option<Self> {
        Some(match cid2 {
            command::READ_CHARGE_OVER_CURRENT => Self::ChargeOverCurrent,
            command::READ_DISCHARGE_OVER_CURRENT => Self::DischargeOverCurrent,
            command::READ_BALANCING => Self::Balancing,
            command::READ_FULL_CHARGE => Self::FullCharge,
            0xD1 | 0xD3 | 0xD5 | 0xD7 => match VoltageKind::from_command(cid2) {
                Some(k) => Self::Voltage(k),
                None => return None,
            },
            _ => return None,
        })
    }
}

voltwire_asciihex::body_enum! {
    /// What a request asks for. `N` is the capacity of [`RequestBody::Other`]'s INFO: the
    /// default, [`MAX_INFO_LEN`], takes any frame (≈ 2 KiB); every shape this crate decodes
    /// has at most [`MAX_REQUEST_INFO`] INFO bytes, so `RequestBody<MAX_REQUEST_INFO>` (see
    /// [`SizedRequest`]) holds every known request in a few dozen bytes.
    pub enum RequestBody<const N: usize = MAX_INFO_LEN> {
        /// 0x42, one INFO byte.
        Analog(Target) => command::ANALOG,
        /// 0x44, one INFO byte.
        Status(Target) => command::STATUS,
        /// 0x47, no INFO (v20 command).
        SystemParameters => command::SYSTEM_PARAMETERS,
        /// 0x4F, no INFO.
        ProtocolVersion => command::PROTOCOL_VERSION,
        /// 0x51, no INFO (v20 command).
        Manufacturer => command::MANUFACTURER,
        /// 0x90, no INFO.
        PackCount => command::PACK_COUNT,
        /// 0xC1, no INFO.
        SoftwareVersion => command::SOFTWARE_VERSION,
        /// 0xC2, no INFO.
        ProductInfo => command::PRODUCT_INFO,
        /// 0xA6, no INFO.
        Capacity => command::CAPACITY,
        /// 0xB1, no INFO.
        ReadDateTime => command::READ_DATE_TIME,
        /// 0xB2, six bytes.
        WriteDateTime(DateTime) => command::WRITE_DATE_TIME,
        /// 0x9A, one byte (kitor's 2-byte form is [`RequestBody::Other`]).
        ChargeMosfet(MosfetSwitch) => command::CHARGE_MOSFET,
        /// 0x9B, one byte.
        DischargeMosfet(MosfetSwitch) => command::DISCHARGE_MOSFET,
        /// 0x9C, one byte (0x01 in captures).
        Shutdown(u8) => command::SHUTDOWN,
        /// 0x99, one byte: a [`crate::flags::switch`] code.
        Switch(u8) => command::SWITCH,
        /// A configuration read, no INFO.
        ReadConfig(ConfigRead) for (c) => c.command(),
        /// 0xD0/0xD2/0xD4/0xD6.
        WriteVoltage(VoltageKind, VoltageProtection) for (k, _) => k.write_command(),
        /// 0xD8.
        WriteChargeOverCurrent(CurrentProtection) => command::WRITE_CHARGE_OVER_CURRENT,
        /// 0xDA (values positive).
        WriteDischargeOverCurrent(CurrentProtection) => command::WRITE_DISCHARGE_OVER_CURRENT,
        /// 0xB5.
        WriteBalancing(BalanceConfig) => command::WRITE_BALANCING,
        /// 0xAE.
        WriteFullCharge(FullChargeConfig) => command::WRITE_FULL_CHARGE,
        /// Any other command or INFO shape.
        Other {
            /// CID2.
            cid2: u8,
            /// INFO as sent.
            info: Info<N>,
        } for { cid2, .. } => *cid2,
    }
}

impl<const N: usize> Body<N> for RequestBody<N> {
    /// The command code (CID2).
    fn command(&self) -> u8 {
        // The inherent one `body_enum!` states with the variants.
        RequestBody::command(self)
    }

    fn decode(cid2: u8, info: &[u8]) -> Option<Self> {
        if let (true, Some(c)) = (info.is_empty(), ConfigRead::from_command(cid2)) {
            return Some(Self::ReadConfig(c));
        }
        Some(match (cid2, info) {
            (command::ANALOG, [b]) => Self::Analog(Target::from_byte(*b)),
            (command::STATUS, [b]) => Self::Status(Target::from_byte(*b)),
            (command::SYSTEM_PARAMETERS, []) => Self::SystemParameters,
            (command::PROTOCOL_VERSION, []) => Self::ProtocolVersion,
            (command::MANUFACTURER, []) => Self::Manufacturer,
            (command::PACK_COUNT, []) => Self::PackCount,
            (command::SOFTWARE_VERSION, []) => Self::SoftwareVersion,
            (command::PRODUCT_INFO, []) => Self::ProductInfo,
            (command::CAPACITY, []) => Self::Capacity,
            (command::READ_DATE_TIME, []) => Self::ReadDateTime,
            (command::WRITE_DATE_TIME, _) => Self::WriteDateTime(DateTime::from_info(info)?),
            (command::CHARGE_MOSFET, [b]) => Self::ChargeMosfet(MosfetSwitch::from_byte(*b)),
            (command::DISCHARGE_MOSFET, [b]) => Self::DischargeMosfet(MosfetSwitch::from_byte(*b)),
            (command::SHUTDOWN, [b]) => Self::Shutdown(*b),
            (command::SWITCH, [b]) => Self::Switch(*b),
            (0xD0 | 0xD2 | 0xD4 | 0xD6, _) => Self::WriteVoltage(
                VoltageKind::from_command(cid2)?,
                VoltageProtection::from_info(info)?,
            ),
            (command::WRITE_CHARGE_OVER_CURRENT, _) => {
                Self::WriteChargeOverCurrent(CurrentProtection::from_info(info)?)
            }
            (command::WRITE_DISCHARGE_OVER_CURRENT, _) => {
                Self::WriteDischargeOverCurrent(CurrentProtection::from_info(info)?)
            }
            (command::WRITE_BALANCING, _) => Self::WriteBalancing(BalanceConfig::from_info(info)?),
            (command::WRITE_FULL_CHARGE, _) => {
                Self::WriteFullCharge(FullChargeConfig::from_info(info)?)
            }
            _ => return None,
        })
    }

    /// The INFO bytes.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field or INFO is longer than `N`.
    fn info(&self) -> Result<Info<N>, EncodeError> {
        let mut w = Writer::<N>::new_sized();
        match self {
            Self::Analog(t) | Self::Status(t) => {
                w.u8(t.byte())?;
            }
            Self::WriteDateTime(d) => d.write_to(&mut w)?,
            Self::ChargeMosfet(s) | Self::DischargeMosfet(s) => {
                w.u8(s.byte())?;
            }
            Self::Shutdown(b) | Self::Switch(b) => {
                w.u8(*b)?;
            }
            Self::WriteVoltage(_, v) => v.write_to(&mut w)?,
            Self::WriteChargeOverCurrent(c) | Self::WriteDischargeOverCurrent(c) => {
                c.write_to(&mut w)?;
            }
            Self::WriteBalancing(b) => b.write_to(&mut w)?,
            Self::WriteFullCharge(f) => f.write_to(&mut w)?,
            Self::Other { info, .. } => return Ok(info.clone()),
            Self::SystemParameters
            | Self::ProtocolVersion
            | Self::Manufacturer
            | Self::PackCount
            | Self::SoftwareVersion
            | Self::ProductInfo
            | Self::Capacity
            | Self::ReadDateTime
            | Self::ReadConfig(_) => {}
        }
        Ok(w.finish())
    }

    /// Shapes not listed: [`RequestBody::Other`].
    fn undecoded(cid2: u8, info: Info<N>) -> Self {
        Self::Other { cid2, info }
    }
}

impl<const N: usize> RequestBody<N> {
    /// Whether the BMS answers this request with an empty OK frame (writes and controls).
    pub fn expects_empty_reply(&self) -> bool {
        is_write_or_control(self.command())
    }
}

/// A request frame: VER [`VER`] (0x25), the pack address (DIP switch 0–15), CID1
/// [`CID1_LIFEPO4`] (0x4F on some Li-ion packs), the command and its INFO.
pub type Request = message::Request<RequestBody>;

/// Room for the INFO of every request shape this crate decodes (the longest, 0xD0–0xD6's
/// voltage protection, has 8 bytes), with margin: `SizedRequest<MAX_REQUEST_INFO>` holds
/// all of them.
pub const MAX_REQUEST_INFO: usize = 16;

/// A caller-sized request: [`RequestBody::Other`] holds up to `N` INFO bytes, read from and
/// written to a `Frame<N>` (`Request::from_frame_sized`, `Request::to_frame_sized`).
/// `SizedRequest<MAX_REQUEST_INFO>` holds every request shape this crate knows. A request
/// with more INFO than `N` is never cut: `Frame::<N>::parse_sized` refuses it with
/// [`Error::Capacity`](crate::Error::Capacity), and [`SizedRequests`] yields that error.
pub type SizedRequest<const N: usize> = message::Request<RequestBody<N>>;

/// Requests as a [`voltwire_core::Protocol`], for a stream decoder on the BMS side.
pub type Requests = message::Requests<RequestBody>;

/// [`Requests`] into [`SizedRequest<N>`]: `ScanDecoder<SizedRequests<16>, 256>` on a BMS
/// short of RAM.
pub type SizedRequests<const N: usize> = message::Requests<RequestBody<N>, N>;

impl<const N: usize> message::RequestBody<N> for RequestBody<N> {
    const VER: u8 = VER;
    const CID1: u8 = CID1_LIFEPO4;
}

/// Whether `cid2` is a write or control command (answered by the empty OK frame or a state
/// byte).
pub(crate) const fn is_write_or_control(cid2: u8) -> bool {
    matches!(
        cid2,
        command::WRITE_DATE_TIME
            | command::CHARGE_MOSFET
            | command::DISCHARGE_MOSFET
            | command::SHUTDOWN
            | command::SWITCH
            | 0xD0
            | 0xD2
            | 0xD4
            | 0xD6
            | command::WRITE_CHARGE_OVER_CURRENT
            | command::WRITE_DISCHARGE_OVER_CURRENT
            | command::WRITE_BALANCING
            | command::WRITE_FULL_CHARGE
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_asciihex::Frame;

    #[test]
    fn info_bytes_convert_both_ways() {
        for b in 0..=u8::MAX {
            assert_eq!(u8::from(Target::from(b)), b);
            assert_eq!(u8::from(MosfetSwitch::from(b)), b);
        }
        assert_eq!(Target::from(0xFF), Target::All);
        assert_eq!(MosfetSwitch::from(0x00), MosfetSwitch::On);
    }

    fn round(wire: &[u8]) -> RequestBody {
        let r = Request::from_frame(&Frame::parse(wire).unwrap());
        assert_eq!(r.to_frame().unwrap().to_bytes().as_slice(), wire);
        r.body
    }

    #[test]
    fn annotated_real_requests() {
        // ~ 25 01 46 42 E002 01 FD30: VER 2.5, ADR 1, LiFePO4, analog, pack 1 (NK25).
        assert_eq!(
            round(b"~25014642E00201FD30\r"),
            RequestBody::Analog(Target::Pack(1))
        );
        // 0x9A with 0x00: charge MOSFET on (capture reply shows the CFET bit set).
        assert_eq!(
            round(b"~2500469AE00200FD1E\r"),
            RequestBody::ChargeMosfet(MosfetSwitch::On)
        );
        // 0xB5: balance threshold 0x0D48 = 3400 mV, delta 0x001E = 30 mV.
        assert!(matches!(
            round(b"~250046B580080D48001EFBD2\r"),
            RequestBody::WriteBalancing(BalanceConfig { threshold, delta })
                if threshold.0 == 3400 && delta.0 == 30
        ));
    }

    /// A caller-sized request: the same frame as the default-sized one, answered alike
    /// (capacities inferred), refused when its INFO does not fit (decoding) and an error
    /// when it does not fit (encoding).
    #[test]
    fn sized_requests_encode_decode_and_refuse() {
        extern crate alloc;
        use crate::{Response, ResponseBody, SizedRequest, SizedRequests};
        use voltwire_core::{ScanDecoder, StreamDecoder};

        let protection = VoltageProtection {
            lead: 1,
            alarm: voltwire_core::Millivolts(3600),
            protect: voltwire_core::Millivolts(3700),
            release: voltwire_core::Millivolts(3380),
            delay_100ms: 10,
        };
        let body = RequestBody::<MAX_REQUEST_INFO>::WriteVoltage(VoltageKind::CellOver, protection);
        let small = SizedRequest::new(1, body.clone());
        let frame = small.to_frame_sized().unwrap();
        assert_eq!(frame.info.len(), 8);
        let default = Request::from_frame(&Frame::parse(&frame.to_bytes()).unwrap());
        assert_eq!(default.to_frame().unwrap().to_bytes(), frame.to_bytes());
        let reply = Response::ok(1, ResponseBody::Accepted { command: 0xD0 });
        assert!(reply.answers(&small));
        assert!(reply.answers(&default));
        assert!(!reply.answers(&SizedRequest::new(1, RequestBody::<4>::PackCount)));

        // Encoding 8 INFO bytes into a 4-byte body is an error, not a cut frame.
        let tiny = SizedRequest::<4>::new(
            1,
            RequestBody::WriteVoltage(VoltageKind::CellOver, protection),
        );
        assert_eq!(
            tiny.to_frame_sized(),
            Err(EncodeError::OutOfRange { field: "info" })
        );

        // Decoding: a 4-byte request decoder refuses the write (capacity), then reads on.
        let mut stream = frame.to_bytes().to_vec();
        stream.extend_from_slice(b"~25014642E00201FD30\r");
        let mut d = ScanDecoder::<SizedRequests<4>, 64>::new();
        let mut items = alloc::vec::Vec::new();
        d.feed_all(&stream, |i| items.push(i.value));
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0],
            Err(crate::Error::Capacity {
                len: 8,
                capacity: 4
            })
        );
        assert_eq!(
            items[1].as_ref().map(|r| r.body.clone()),
            Ok(RequestBody::Analog(Target::Pack(1)))
        );
        assert!(core::mem::size_of::<SizedRequest<MAX_REQUEST_INFO>>() < 64);
    }

    #[test]
    fn kitor_two_byte_mosfet_info_is_kept() {
        let f = Frame::new(0x25, 0, 0x46, 0x9A, &[0, 0]).unwrap();
        let r = Request::from_frame(&f);
        assert!(matches!(r.body, RequestBody::Other { cid2: 0x9A, .. }));
        assert_eq!(r.to_frame().unwrap(), f);
    }
}
