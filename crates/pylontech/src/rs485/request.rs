//! Requests (master → battery).

use voltwire_asciihex::message::{self, Body};
use voltwire_asciihex::{Info, MAX_INFO_LEN};
use voltwire_core::EncodeError;

use super::{CID1_BATTERY, VER, command};

voltwire_asciihex::request_target! {
    /// Which module a 0x42/0x44 request asks about.
    pub enum Target {
        /// One module by its address (the "command value"; must equal ADR). Never 0xFF.
        Module(u8) as module,
        /// Every module of the group (INFO 0xFF, sent to the master's ADR).
        All,
    }
}

voltwire_asciihex::body_enum! {
    /// What a request asks for. `N` is the capacity of [`RequestBody::Other`]'s INFO: the
    /// default, [`MAX_INFO_LEN`], takes any frame (≈ 2 KiB); every shape this module
    /// decodes has at most one INFO byte, so `RequestBody<MAX_REQUEST_INFO>` (see
    /// [`SizedRequest`]) holds every known request in a few dozen bytes.
    pub enum RequestBody<const N: usize = MAX_INFO_LEN> {
        /// 0x4F, no INFO.
        ProtocolVersion => command::PROTOCOL_VERSION,
        /// 0x51, no INFO.
        Manufacturer => command::MANUFACTURER,
        /// 0x42, one INFO byte.
        Analog(Target) => command::ANALOG,
        /// 0x44, one INFO byte.
        Alarm(Target) => command::ALARM,
        /// 0x47, no INFO or the module address.
        SystemParameters(Option<u8>) => command::SYSTEM_PARAMETERS,
        /// 0x60, no INFO.
        SystemInfo => command::SYSTEM_INFO,
        /// 0x61, no INFO.
        SystemAnalog => command::SYSTEM_ANALOG,
        /// 0x62, no INFO.
        SystemAlarm => command::SYSTEM_ALARM,
        /// 0x63, no INFO.
        SystemManagement => command::SYSTEM_MANAGEMENT,
        /// 0x92, the module address.
        Management(u8) => command::MANAGEMENT,
        /// 0x93, no INFO or the module address.
        Serial(Option<u8>) => command::SERIAL,
        /// Any other command, or a known one with an INFO of another shape.
        Other {
            /// CID2.
            cid2: u8,
            /// INFO as sent.
            info: Info<N>,
        } for { cid2, .. } => *cid2,
    }
}

/// A request frame: VER [`VER`] (0x20), the battery address, CID1 [`CID1_BATTERY`], the
/// command and its INFO.
pub type Request = message::Request<RequestBody>;

/// Room for the INFO of every request shape this module decodes (one byte at most), with
/// margin: `SizedRequest<MAX_REQUEST_INFO>` holds all of them.
pub const MAX_REQUEST_INFO: usize = 16;

/// A caller-sized request: [`RequestBody::Other`] holds up to `N` INFO bytes, read from and
/// written to a `Frame<N>` (`Request::from_frame_sized`, `Request::to_frame_sized`).
/// `SizedRequest<MAX_REQUEST_INFO>` holds every request shape this module knows. A request
/// with more INFO than `N` is never cut: `Frame::<N>::parse_sized` refuses it with
/// [`Error::Capacity`](voltwire_asciihex::Error::Capacity), and [`SizedRequests`] yields
/// that error.
pub type SizedRequest<const N: usize> = message::Request<RequestBody<N>>;

/// Requests as a [`voltwire_core::Protocol`] (slave role): a stream decoder of [`Request`]s
/// is `ScanDecoder<Requests, { voltwire_asciihex::MAX_FRAME_LEN }>`.
pub type Requests = message::Requests<RequestBody>;

/// [`Requests`] into [`SizedRequest<N>`]: `ScanDecoder<SizedRequests<16>, 256>` on a battery
/// short of RAM.
pub type SizedRequests<const N: usize> = message::Requests<RequestBody<N>, N>;

impl<const N: usize> message::RequestBody<N> for RequestBody<N> {
    const VER: u8 = VER;
    const CID1: u8 = CID1_BATTERY;
}

impl<const N: usize> Body<N> for RequestBody<N> {
    /// The command code (CID2).
    fn command(&self) -> u8 {
        // The inherent one `body_enum!` states with the variants.
        RequestBody::command(self)
    }

    /// Read a command and its INFO; shapes not listed are `None`.
    fn decode(cid2: u8, info: &[u8]) -> Option<Self> {
        Some(match (cid2, info) {
            (command::PROTOCOL_VERSION, []) => Self::ProtocolVersion,
            (command::MANUFACTURER, []) => Self::Manufacturer,
            (command::ANALOG, [b]) => Self::Analog(Target::from_byte(*b)),
            (command::ALARM, [b]) => Self::Alarm(Target::from_byte(*b)),
            (command::SYSTEM_PARAMETERS, []) => Self::SystemParameters(None),
            (command::SYSTEM_PARAMETERS, [b]) => Self::SystemParameters(Some(*b)),
            (command::SYSTEM_INFO, []) => Self::SystemInfo,
            (command::SYSTEM_ANALOG, []) => Self::SystemAnalog,
            (command::SYSTEM_ALARM, []) => Self::SystemAlarm,
            (command::SYSTEM_MANAGEMENT, []) => Self::SystemManagement,
            (command::MANAGEMENT, [b]) => Self::Management(*b),
            (command::SERIAL, []) => Self::Serial(None),
            (command::SERIAL, [b]) => Self::Serial(Some(*b)),
            _ => return None,
        })
    }

    /// Shapes not listed: [`RequestBody::Other`].
    fn undecoded(cid2: u8, info: Info<N>) -> Self {
        Self::Other { cid2, info }
    }

    /// The INFO bytes.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] (`info`) when `N` is 0 and the request has an INFO byte;
    /// never for the default capacity.
    fn info(&self) -> Result<Info<N>, EncodeError> {
        let mut info = Info::new();
        let byte = match self {
            Self::Analog(t) | Self::Alarm(t) => Some(t.byte()),
            Self::SystemParameters(a) | Self::Serial(a) => *a,
            Self::Management(a) => Some(*a),
            Self::Other { info, .. } => return Ok(info.clone()),
            _ => None,
        };
        if let Some(b) = byte {
            info.push(b)
                .map_err(|_| EncodeError::OutOfRange { field: "info" })?;
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_asciihex::Frame;
    use voltwire_core::Emit as _;

    #[test]
    fn target_converts_both_ways() {
        for b in 0..=u8::MAX {
            assert_eq!(u8::from(Target::from(b)), b);
        }
        assert_eq!(Target::from(0xFF), Target::All);
        assert_eq!(Target::from(2), Target::Module(2));
    }

    fn round(wire: &[u8]) -> Request {
        let f = Frame::parse(wire).unwrap();
        let r = Request::from_frame(&f);
        assert_eq!(r.to_frame().unwrap().to_bytes().as_slice(), wire);
        assert_eq!(r.to_frame().unwrap().buffer_len(), wire.len());
        r
    }

    #[test]
    fn real_requests() {
        // PYL33 §4 example.
        assert_eq!(
            round(b"~20024642E00202FD33\r").body,
            RequestBody::Analog(Target::Module(2))
        );
        // US5000 0x92 (python-pylontech PR #20).
        assert_eq!(
            round(b"~20024692E00202FD2E\r").body,
            RequestBody::Management(2)
        );
        // Vevor 0x61 and 0x63.
        assert_eq!(
            round(b"~200246610000FDAB\r").body,
            RequestBody::SystemAnalog
        );
        assert_eq!(
            round(b"~200246630000FDA9\r").body,
            RequestBody::SystemManagement
        );
    }

    #[test]
    fn all_modules_and_other() {
        let r = Request::new(2, RequestBody::Analog(Target::All));
        let f = r.to_frame().unwrap();
        assert_eq!(f.info.as_slice(), &[0xFF]);
        assert_eq!(Request::from_frame(&f), r);
        let odd = Request::from_frame(&Frame::new(0x20, 2, 0x46, 0x42, &[1, 2]).unwrap());
        assert!(matches!(odd.body, RequestBody::Other { cid2: 0x42, .. }));
    }
}
